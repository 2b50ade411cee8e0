//! AWS, the first cloud provider: its lookups ([`AwsIndex`]), the edge (which interface a
//! public address lands on) and one module per step of the path, each in three parts — the
//! decision (a typed finding: resources, rules, address sets; no prose), its explanation
//! (`impl Finding`: the check, hops, causes and evidence in words) and the remedy in the
//! owner's tool (`aws ec2 …`, as typed [`portdoctor_model::fix::ShellCommand`]s).
//!
//! Semantics (AWS VPC User Guide): security groups are stateful allow-lists, the union of all
//! groups on the interface, and a group reference admits only members of that group; network
//! ACLs are stateless, evaluated in rule-number order with an implicit final deny; the internet
//! gateway admits IPv4 only to a public address associated with an interface and translates it
//! to that interface's private address; an egress-only gateway admits nothing inbound.

mod acl;
mod edge;
mod gateway;
mod index;
mod instance;
mod route;
mod sg;

pub use index::AwsIndex;

use crate::cloud::CloudTarget;
use crate::cloud::path::{Arrival, Flow, Found, PathHop, Provider, StepKind};
use crate::platform::Subject;
use index::list;
use portdoctor_model::cloud::NetworkInterface;
use std::net::IpAddr;

/// Where the flow lands after the internet gateway: the interface and its private address.
pub struct Resolved<'a> {
    pub eni: &'a NetworkInterface,
    pub private: IpAddr,
    pub public: Option<IpAddr>,
}

impl Arrival for Resolved<'_> {
    fn private(&self) -> IpAddr {
        self.private
    }

    fn public(&self) -> Option<IpAddr> {
        self.public
    }

    fn instance(&self) -> Option<&str> {
        self.eni.instance_id.as_deref()
    }
}

impl<'a> Provider<'a> for AwsIndex<'a> {
    type Arrival = Resolved<'a>;

    fn edge(&self, flow: &Flow<'_>) -> (Found<'a>, Option<Resolved<'a>>) {
        let (finding, at) = edge::resolve(self, flow);
        (Box::new(finding), at)
    }

    /// The registration: each step of the path this provider has, and the module that judges it.
    fn step(&self, step: StepKind, flow: &Flow<'_>, at: &Resolved<'a>) -> Option<Found<'a>> {
        Some(match step {
            StepKind::Gateway => Box::new(gateway::internet_gateway(self, flow, at)),
            StepKind::EdgePolicy => Box::new(gateway::block_public_access(self, flow, at)),
            StepKind::Routing => Box::new(route::route_table(self, flow, at)),
            StepKind::StatelessIn => Box::new(acl::inbound(self, flow, at)),
            StepKind::Stateful => Box::new(sg::security_groups(self, flow, at)),
            StepKind::Instance => Box::new(instance::instance(self, flow, at)),
            StepKind::StatelessOut => Box::new(acl::outbound(self, flow, at)),
        })
    }
}

impl AwsIndex<'_> {
    /// What the platform layer is asked about: the instance, its interfaces and addresses, the
    /// Elastic IP allocation of the target, every resource the walk passed (the hops' typed
    /// components), and the VPC and subnet.
    pub(crate) fn subject(&self, target: &CloudTarget, at: Option<&Resolved<'_>>, passed: &[PathHop]) -> Subject {
        let mut s = Subject::default();
        let add = |list: &mut Vec<String>, v: String| {
            if !v.is_empty() && !list.contains(&v) {
                list.push(v);
            }
        };
        match target {
            CloudTarget::Instance(i) => s.instance = Some(i.clone()),
            CloudTarget::PublicIp(ip) => add(&mut s.addresses, ip.to_string()),
            CloudTarget::LoadBalancer(_) => {}
        }
        if let Some(r) = at {
            if s.instance.is_none() {
                s.instance = r.eni.instance_id.clone();
            }
            if let Some(p) = r.public {
                add(&mut s.addresses, p.to_string());
            }
            add(&mut s.addresses, r.private.to_string());
        }
        if let Some(i) = &s.instance {
            for e in self.enis_by_instance.get(i.as_str()).map(Vec::as_slice).unwrap_or_default() {
                add(&mut s.interfaces, e.id.clone());
                for p in &e.private_ips {
                    add(&mut s.addresses, p.addr.to_string());
                    if let Some(pub_ip) = p.public_ip {
                        add(&mut s.addresses, pub_ip.to_string());
                    }
                }
            }
        }
        for a in list(&self.ev.addresses) {
            if s.addresses.contains(&a.public_ip.to_string())
                && let Some(alloc) = &a.allocation_id
            {
                add(&mut s.resources, alloc.clone());
            }
        }
        for id in passed.iter().flat_map(|h| h.component.resources()) {
            if !s.interfaces.contains(id) && s.instance.as_ref() != Some(id) {
                add(&mut s.resources, id.clone());
            }
        }
        if let Some(r) = at {
            add(&mut s.resources, r.eni.vpc_id.clone());
            add(&mut s.resources, r.eni.subnet_id.clone());
        }
        s
    }
}
