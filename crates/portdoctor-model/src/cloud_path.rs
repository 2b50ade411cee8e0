//! The provider-neutral vocabulary of a cloud path: the hops a report names (CONTRACT.md §3)
//! and the ids of the cloud layer's checks. Engines make these typed values; the strings exist
//! only for the report, so a hop or a check is never looked up by a name typed twice.

/// A hop of the cloud part of the path, in the report's words (CONTRACT.md §3 `path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloudHop {
    /// Where the flow comes from (`--from`).
    Internet,
    /// The edge: the gateway that maps the public address onto the network (AWS: the internet
    /// gateway's 1:1 NAT).
    InternetGateway,
    /// The network the interface sits in (AWS: the subnet).
    Subnet,
    /// The routing decision for the replies.
    RouteTable,
    /// The stateless filter, inbound and for the replies (AWS: the network ACL).
    NetworkAclIn,
    NetworkAclOut,
    /// The stateful filter on the interface (AWS: its security groups).
    SecurityGroup,
    NetworkInterface,
    Instance,
    /// Through a load balancer (issue 15): the balancer, the listener on the port, each target
    /// group and each target.
    LoadBalancer,
    LbListener,
    TargetGroup,
    Target,
}

impl CloudHop {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudHop::Internet => "internet",
            CloudHop::InternetGateway => "internet-gateway",
            CloudHop::Subnet => "subnet",
            CloudHop::RouteTable => "route-table",
            CloudHop::NetworkAclIn => "network-acl-in",
            CloudHop::NetworkAclOut => "network-acl-out",
            CloudHop::SecurityGroup => "security-group",
            CloudHop::NetworkInterface => "network-interface",
            CloudHop::Instance => "instance",
            CloudHop::LoadBalancer => "load-balancer",
            CloudHop::LbListener => "lb-listener",
            CloudHop::TargetGroup => "target-group",
            CloudHop::Target => "target",
        }
    }
}

/// The checks of the cloud layer (CONTRACT.md §3 `checks`), one per step of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloudCheck {
    Target,
    InternetGateway,
    BlockPublicAccess,
    RouteTable,
    NaclInbound,
    SecurityGroup,
    Instance,
    NaclOutbound,
    /// Through a load balancer (issue 15).
    LoadBalancer,
    LbListener,
    /// Each enabled subnet routes to an internet gateway.
    LbSubnet,
    /// The balancer's own security groups, outbound toward its targets.
    LbSecurityGroupEgress,
    TargetGroup,
    TargetHealth,
    /// The leg balancer → target: network ACLs of both subnets, both ways.
    TargetNacl,
    TargetSecurityGroup,
    /// The same leg to the health-check port, when it differs from the traffic port.
    HealthCheck,
}

impl CloudCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudCheck::Target => "cloud.target",
            CloudCheck::InternetGateway => "cloud.internet-gateway",
            CloudCheck::BlockPublicAccess => "cloud.block-public-access",
            CloudCheck::RouteTable => "cloud.route-table",
            CloudCheck::NaclInbound => "cloud.nacl.inbound",
            CloudCheck::SecurityGroup => "cloud.security-group",
            CloudCheck::Instance => "cloud.instance",
            CloudCheck::NaclOutbound => "cloud.nacl.outbound",
            CloudCheck::LoadBalancer => "cloud.load-balancer",
            CloudCheck::LbListener => "cloud.lb-listener",
            CloudCheck::LbSubnet => "cloud.lb-subnet",
            CloudCheck::LbSecurityGroupEgress => "cloud.lb-security-group.egress",
            CloudCheck::TargetGroup => "cloud.target-group",
            CloudCheck::TargetHealth => "cloud.target.health",
            CloudCheck::TargetNacl => "cloud.target.nacl",
            CloudCheck::TargetSecurityGroup => "cloud.target.security-group",
            CloudCheck::HealthCheck => "cloud.target.health-check",
        }
    }
}

/// What a hop passed through: provider resource ids (`sg-1`, `rtb-1`; several for the union
/// of groups on an interface), nothing (`-`: no resource, e.g. an address nobody holds), or
/// unknown (`?`: the listing that would name it is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    Resources(Vec<String>),
    None,
    Unknown,
    /// Not a resource: the clients a flow comes from (`internet`, `198.51.100.0/24`).
    Source(String),
}

impl Component {
    pub fn one(id: impl Into<String>) -> Component {
        Component::Resources(vec![id.into()])
    }

    /// The resource ids, for the layers that ask about resources (the platform layer).
    pub fn resources(&self) -> &[String] {
        match self {
            Component::Resources(ids) => ids,
            _ => &[],
        }
    }

    /// The report's `component` text.
    pub fn text(&self) -> String {
        self.clone().into_text()
    }

    /// The report's `component` text, reusing the id's allocation for a single resource (the
    /// common case: one per hop of every query of an account-wide question).
    pub fn into_text(self) -> String {
        match self {
            Component::Resources(mut ids) if ids.len() == 1 => ids.pop().unwrap_or_default(),
            Component::Resources(ids) => ids.join(","),
            Component::None => "-".into(),
            Component::Unknown => "?".into(),
            Component::Source(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_read_as_the_contract_writes_them() {
        assert_eq!(Component::Resources(vec!["sg-1".into(), "sg-2".into()]).text(), "sg-1,sg-2");
        assert_eq!(Component::None.text(), "-");
        assert_eq!(Component::Unknown.text(), "?");
        assert!(Component::Unknown.resources().is_empty());
        assert_eq!(CloudHop::NetworkAclOut.as_str(), "network-acl-out");
        assert_eq!(CloudCheck::NaclOutbound.as_str(), "cloud.nacl.outbound");
    }
}
