//! The host part of the path's vocabulary (CONTRACT.md §3): the hops the host layers name and
//! the ids of their checks, and which checks tell about which hop (cloud hops included) — so the
//! engines make typed values and the renderers read the mapping, never typing the names again.

use crate::cloud_path::{CloudCheck, CloudHop};

/// A hop of the host part of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostHop {
    /// Where the traffic arrives: the interface and address.
    Nic,
    HostFirewall,
    /// The kernel's own path: routing, reverse-path filtering, conntrack.
    Kernel,
    Listener,
    /// A container a published port leads to.
    Container,
}

impl HostHop {
    pub const ALL: [HostHop; 5] =
        [HostHop::Nic, HostHop::HostFirewall, HostHop::Kernel, HostHop::Listener, HostHop::Container];

    pub const fn as_str(self) -> &'static str {
        match self {
            HostHop::Nic => "nic",
            HostHop::HostFirewall => "host-firewall",
            HostHop::Kernel => "kernel",
            HostHop::Listener => "listener",
            HostHop::Container => "container",
        }
    }

    /// The checks whose evidence belongs on this hop of a diagram.
    pub const fn checks(self) -> &'static [HostCheck] {
        match self {
            HostHop::Nic => &[HostCheck::Address],
            HostHop::HostFirewall => &[HostCheck::Firewall],
            HostHop::Kernel => &[HostCheck::Conntrack, HostCheck::RpFilter, HostCheck::KernelWitness],
            HostHop::Listener => &[HostCheck::Listener, HostCheck::ListenQueue, HostCheck::ListenerOwner],
            HostHop::Container => &[],
        }
    }

    pub fn parse(s: &str) -> Option<HostHop> {
        HostHop::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// The checks of the host layers (CONTRACT.md §3 `checks`). A check repeated for a second
/// arrival or another endpoint keeps the id with a suffix (`host.listener.arrival2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostCheck {
    Address,
    Xdp,
    TcIngress,
    Firewall,
    FirewallOutput,
    Forwarding,
    Routing,
    RpFilter,
    Xfrm,
    Conntrack,
    Listener,
    ListenQueue,
    ListenerOwner,
    PublishedPort,
    Selinux,
    Service,
    TcpWrappers,
    /// The kernel's own word on the flow (`--trace`): the drops it saw.
    KernelWitness,
}

impl HostCheck {
    pub const fn as_str(self) -> &'static str {
        match self {
            HostCheck::Address => "host.address",
            HostCheck::Xdp => "host.xdp",
            HostCheck::TcIngress => "host.tc-ingress",
            HostCheck::Firewall => "host.firewall",
            HostCheck::FirewallOutput => "host.firewall.output",
            HostCheck::Forwarding => "host.forwarding",
            HostCheck::Routing => "host.routing",
            HostCheck::RpFilter => "host.rp-filter",
            HostCheck::Xfrm => "host.xfrm",
            HostCheck::Conntrack => "host.conntrack",
            HostCheck::Listener => "host.listener",
            HostCheck::ListenQueue => "host.listen-queue",
            HostCheck::ListenerOwner => "host.listener.owner",
            HostCheck::PublishedPort => "host.published-port",
            HostCheck::Selinux => "host.selinux",
            HostCheck::Service => "host.service",
            HostCheck::TcpWrappers => "host.tcp-wrappers",
            HostCheck::KernelWitness => "host.kernel-witness",
        }
    }
}

impl CloudHop {
    const ALL: [CloudHop; 13] = [
        CloudHop::Internet,
        CloudHop::InternetGateway,
        CloudHop::Subnet,
        CloudHop::RouteTable,
        CloudHop::NetworkAclIn,
        CloudHop::NetworkAclOut,
        CloudHop::SecurityGroup,
        CloudHop::NetworkInterface,
        CloudHop::Instance,
        CloudHop::LoadBalancer,
        CloudHop::LbListener,
        CloudHop::TargetGroup,
        CloudHop::Target,
    ];

    /// The checks whose evidence belongs on this hop of a diagram.
    pub const fn checks(self) -> &'static [CloudCheck] {
        match self {
            CloudHop::InternetGateway => {
                &[CloudCheck::Target, CloudCheck::InternetGateway, CloudCheck::BlockPublicAccess]
            }
            CloudHop::RouteTable => &[CloudCheck::RouteTable],
            CloudHop::NetworkAclIn => &[CloudCheck::NaclInbound],
            CloudHop::SecurityGroup => &[CloudCheck::SecurityGroup],
            CloudHop::Instance | CloudHop::NetworkInterface => &[CloudCheck::Instance],
            CloudHop::NetworkAclOut => &[CloudCheck::NaclOutbound],
            CloudHop::LoadBalancer => &[CloudCheck::LoadBalancer, CloudCheck::LbSubnet],
            CloudHop::LbListener => &[CloudCheck::LbListener, CloudCheck::LbSecurityGroupEgress],
            CloudHop::TargetGroup => &[CloudCheck::TargetGroup],
            CloudHop::Target => &[
                CloudCheck::TargetHealth,
                CloudCheck::TargetNacl,
                CloudCheck::TargetSecurityGroup,
                CloudCheck::HealthCheck,
            ],
            CloudHop::Internet | CloudHop::Subnet => &[],
        }
    }

    pub fn parse(s: &str) -> Option<CloudHop> {
        CloudHop::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// The ids of the checks whose evidence belongs on the hop a report names `hop`.
pub fn hop_check_ids(hop: &str) -> Vec<&'static str> {
    match (HostHop::parse(hop), CloudHop::parse(hop)) {
        (Some(h), _) => h.checks().iter().map(|c| c.as_str()).collect(),
        (None, Some(c)) => c.checks().iter().map(|c| c.as_str()).collect(),
        (None, None) => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_name_their_checks() {
        assert_eq!(hop_check_ids("kernel"), ["host.conntrack", "host.rp-filter", "host.kernel-witness"]);
        assert_eq!(hop_check_ids("target-group"), ["cloud.target-group"]);
        assert_eq!(hop_check_ids("network-interface"), ["cloud.instance"]);
        assert!(hop_check_ids("carrier").is_empty());
        for h in HostHop::ALL {
            assert_eq!(HostHop::parse(h.as_str()), Some(h));
        }
        for h in CloudHop::ALL {
            assert_eq!(CloudHop::parse(h.as_str()), Some(h));
        }
    }
}
