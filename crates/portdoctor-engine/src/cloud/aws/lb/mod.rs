//! The path through an AWS load balancer (ALB, NLB, Classic), a second path shape beside the
//! internet → instance one: the balancer (state, scheme) → the listener on the asked port and
//! the target groups its actions pick → each enabled subnet (route to the internet gateway, its
//! network ACL both ways) → the balancer's own security groups → each target group and target
//! (health, zone, the balancer → target leg to the traffic and health-check ports, the machine).
//!
//! Semantics (Elastic Load Balancing User Guides; FACTS.md "Load balancers"): target groups fail
//! open (all unhealthy → traffic goes to all of them); an empty group blocks; an ALB or a Classic
//! HTTP listener completes the client's handshake itself, so a failure behind it reaches the
//! client as HTTP 502/503/504; the leg balancer → target comes from the nodes' private addresses
//! in their subnets, or with client IP preservation from the clients themselves; health checks
//! always come from the nodes.
//!
//! The decisions of the instance path are reused, not copied: each balancer node is an
//! interface in its subnet (`Node`), so `route`, `acl` and `sg` judge it with a [`Flow`] whose
//! sources are the clients, and the leg to a target is a flow whose sources are the nodes'
//! subnets (or the clients) to the target's interface.

mod front;
mod leg;
mod targets;
mod zones;

use super::index::{AwsIndex, list};
use crate::cloud::path::{Arrival, Flow, Found, LOAD_BALANCER_PATH, PathHop, Provider, StepKind};
use crate::cloud::{CloudQuery, CloudWalk, walk_per_family};
use crate::platform::Subject;
use portdoctor_model::Missing;
use portdoctor_model::cloud::NetworkInterface;
use portdoctor_model::cloud_path::CloudHop;
use portdoctor_model::elb::{
    BehindBalancer, ClassicLb, HealthCheck, HealthCheckPort, LbAction, LbActionType, LbIpAddressType, LbProtocol,
    LbScheme, LbState, LbType, ListenerRule, LoadBalancer, TargetGroup, TargetHealthRecord, TargetType,
};
use portdoctor_model::net::{Family, Proto};
use std::net::IpAddr;

/// A load balancer of either API.
#[derive(Debug, Clone, Copy)]
pub enum LbRef<'a> {
    V2(&'a LoadBalancer),
    Classic(&'a ClassicLb),
}

impl<'a> LbRef<'a> {
    pub fn name(&self) -> &'a str {
        match self {
            LbRef::V2(b) => &b.name,
            LbRef::Classic(c) => &c.name,
        }
    }

    /// The ARN (elbv2), or the name (Classic has no ARN in its API).
    pub fn id(&self) -> &'a str {
        match self {
            LbRef::V2(b) => &b.arn,
            LbRef::Classic(c) => &c.name,
        }
    }

    pub fn dns_name(&self) -> &'a str {
        match self {
            LbRef::V2(b) => &b.dns_name,
            LbRef::Classic(c) => &c.dns_name,
        }
    }

    /// The addresses the configuration gives the balancer (an NLB's Elastic IPs and node
    /// addresses); an ALB's or Classic's addresses change and are known only through DNS.
    pub fn addresses(&self) -> Vec<IpAddr> {
        match self {
            LbRef::V2(b) => b.zones.iter().flat_map(|z| z.public_ips.iter().chain(&z.private_ips)).copied().collect(),
            LbRef::Classic(_) => Vec::new(),
        }
    }
}

/// What AWS writes on a balancer's node interfaces: "ELB app/NAME/ID", "ELB net/NAME/ID" (the
/// ARN's tail) or "ELB NAME" (Classic).
fn node_description(lb: LbRef<'_>) -> Option<String> {
    match lb {
        LbRef::V2(b) => b.arn.split_once(":loadbalancer/").map(|(_, tail)| format!("ELB {tail}")),
        LbRef::Classic(c) => Some(format!("ELB {}", c.name)),
    }
}

/// A DNS name as compared: case-insensitive, without a trailing dot or ALB's `dualstack.` prefix.
fn dns_key(s: &str) -> String {
    let s = s.trim_end_matches('.').to_ascii_lowercase();
    s.strip_prefix("dualstack.").map(str::to_string).unwrap_or(s)
}

impl<'a> AwsIndex<'a> {
    /// The public addresses the configuration gives a balancer, sorted: an NLB's Elastic IPs,
    /// and the public addresses (IPv4 and IPv6) of its nodes' interfaces, which AWS describes
    /// "ELB app/NAME/ID", "ELB net/NAME/ID" (the ARN's tail) or "ELB NAME" (Classic).
    pub fn load_balancer_addresses(&self, lb: LbRef<'_>) -> Vec<IpAddr> {
        let described = node_description(lb);
        let nodes = list(&self.ev.interfaces).iter().filter(|e| described.is_some() && e.description == described);
        let node_addresses =
            nodes.flat_map(|e| e.private_ips.iter().filter_map(|p| p.public_ip).chain(e.ipv6.iter().copied()));
        let mut out: Vec<IpAddr> =
            lb.addresses().into_iter().chain(node_addresses).filter(|a| !is_private(a)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The balancer holding one of `addresses` (a name resolving to a balancer's node): the
    /// interfaces holding them say whose node they are, or an NLB names them. One pass over
    /// the balancers, whatever the account's size.
    pub fn load_balancer_holding(&self, addresses: &[IpAddr]) -> Option<LbRef<'a>> {
        let described: Vec<&str> =
            addresses.iter().filter_map(|a| self.eni_by_public.get(a)?.0.description.as_deref()).collect();
        let elb = &self.ev.elb;
        let mut all =
            list(&elb.load_balancers).iter().map(LbRef::V2).chain(list(&elb.classic).iter().map(LbRef::Classic));
        all.find(|lb| {
            node_description(*lb).is_some_and(|d| described.contains(&d.as_str()))
                || lb.addresses().iter().any(|a| addresses.contains(a))
        })
    }

    /// The load balancer a user names: its name, ARN or DNS name, or one of the addresses the
    /// configuration gives it (an NLB's Elastic IPs and node addresses). A string match:
    /// resolving a name that is a CNAME to it is the caller's job. `None` when none matches.
    pub fn find_load_balancer(&self, key: &str) -> Option<LbRef<'a>> {
        let dns = dns_key(key);
        let ip = key.parse::<IpAddr>().ok();
        let elb = &self.ev.elb;
        let v2 = list(&elb.load_balancers)
            .iter()
            .find(|b| {
                b.arn == key
                    || b.name == key
                    || (!b.dns_name.is_empty() && dns_key(&b.dns_name) == dns)
                    || ip.is_some_and(|ip| LbRef::V2(b).addresses().contains(&ip))
            })
            .map(LbRef::V2);
        v2.or_else(|| {
            list(&elb.classic)
                .iter()
                .find(|c| c.name == key || (!c.dns_name.is_empty() && dns_key(&c.dns_name) == dns))
                .map(LbRef::Classic)
        })
    }
}

/// An enabled Availability Zone: its subnet and the node's known addresses there.
pub(crate) struct Zone<'a> {
    pub zone: Option<&'a str>,
    pub subnet: &'a str,
}

/// The balancer as the path reads it, whichever API described it.
pub(crate) struct Balancer<'a> {
    pub r: LbRef<'a>,
    pub kind: LbType,
    pub scheme: &'a LbScheme,
    /// `None` for Classic (its API reports no state).
    pub state: Option<(&'a LbState, Option<&'a str>)>,
    pub vpc: Option<&'a str>,
    pub zones: Vec<Zone<'a>>,
    pub groups: &'a [String],
    /// `None` for Classic (IPv4 only in a VPC).
    pub ip_type: Option<&'a LbIpAddressType>,
}

impl Balancer<'_> {
    /// Whether the balancer speaks HTTP to the client on `protocol` (it then answers itself).
    pub fn answers_http(&self, protocol: &LbProtocol) -> bool {
        protocol.is_http()
    }
}

/// One registered target (or a Classic instance), with its health when the evidence has it.
pub(crate) struct TargetRec<'a> {
    pub id: &'a str,
    pub port: Option<u16>,
    pub zone: Option<&'a str>,
    pub health: Option<&'a TargetHealthRecord>,
}

/// What a listener's action does with the flow.
pub(crate) struct Route<'a> {
    /// `None`: the default action.
    pub rule: Option<&'a ListenerRule>,
    pub action: &'a LbAction,
}

/// How a target group is described: listed (elbv2), the Classic balancer's own instances, or
/// named by a listener but absent from the evidence.
pub(crate) enum GroupDef<'a> {
    Listed(&'a TargetGroup),
    Classic { port: u16, protocol: &'a LbProtocol, health: &'a HealthCheck },
    NotListed(Option<&'a Missing>),
}

/// A target group a listener forwards to.
pub(crate) struct Group<'a> {
    pub arn: &'a str,
    pub def: GroupDef<'a>,
    /// Picked by the default action (its failure fails every request), not only by a rule.
    pub by_default: bool,
    /// The registered targets, or why they are not known.
    pub targets: Result<Vec<TargetRec<'a>>, Option<&'a Missing>>,
    /// With client IP preservation the target sees the client's address, not the node's.
    pub preserve_client_ip: bool,
    /// Whether every node sends to every target (else only the target's zone's node does).
    pub cross_zone: CrossZone<'a>,
    /// What the balancer does when too few targets are healthy; `None` for Classic, which
    /// neither fails open nor takes a zone out of DNS (its node answers 503 there).
    pub failover: Option<Failover>,
}

/// Cross-zone load balancing of a group, as the evidence says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CrossZone<'a> {
    On,
    Off,
    /// Not in the evidence (a Classic balancer's attributes not collected).
    Unknown(Option<&'a Missing>),
}

impl CrossZone<'_> {
    /// Whether a leg is judged from every node: when it is not known to be off (the stricter
    /// reading for the targets' filters).
    pub fn legs_from_every_node(&self) -> bool {
        !matches!(self, CrossZone::Off)
    }
}

/// A healthy-targets threshold (target group attributes `…minimum_healthy_targets.count` and
/// `.percentage`): breached when either is (Elastic Load Balancing guides, "Target group health").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Threshold {
    pub count: Option<u32>,
    pub percent: Option<u32>,
}

impl Threshold {
    pub fn breached(&self, healthy: usize, of: usize) -> bool {
        let healthy64 = healthy as u64;
        self.count.is_some_and(|c| healthy64 < u64::from(c))
            || self.percent.is_some_and(|p| healthy64 * 100 < u64::from(p) * of as u64)
    }

    /// In words, for evidence (`at least 1 healthy`, `at least 50%`).
    pub fn text(&self) -> String {
        match (self.count, self.percent) {
            (Some(c), Some(p)) => format!("at least {c} healthy and {p}%"),
            (Some(c), None) => format!("at least {c} healthy"),
            (None, Some(p)) => format!("at least {p}% healthy"),
            (None, None) => "off".into(),
        }
    }
}

/// The target group health settings of an elbv2 group: below `dns` healthy targets a zone's
/// node leaves DNS (unless every zone is below: then all stay); below `routing` the node sends
/// to every target it has, unhealthy ones too (fail open). Per zone when cross-zone is off,
/// over all enabled zones when on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failover {
    pub dns: Threshold,
    pub routing: Threshold,
}

impl<'a> Group<'a> {
    /// The document its targets' health is read from, for evidence.
    pub fn health_source(&self) -> &'static str {
        match &self.def {
            GroupDef::Classic { .. } => "InstanceStates",
            _ => "LoadBalancerTargetHealth",
        }
    }

    pub fn name(&self) -> &'a str {
        match &self.def {
            GroupDef::Listed(tg) => &tg.name,
            _ => self.arn,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match &self.def {
            GroupDef::Listed(tg) => tg.port,
            GroupDef::Classic { port, .. } => Some(*port),
            GroupDef::NotListed(_) => None,
        }
    }

    pub fn health_check(&self) -> Option<&'a HealthCheck> {
        match &self.def {
            GroupDef::Listed(tg) => Some(&tg.health_check),
            GroupDef::Classic { health, .. } => Some(health),
            GroupDef::NotListed(_) => None,
        }
    }

    pub fn target_type(&self) -> TargetType {
        match &self.def {
            GroupDef::Listed(tg) => tg.target_type.clone(),
            _ => TargetType::Instance,
        }
    }

    /// The health-check port of a target receiving traffic on `port`.
    pub fn health_port(&self, port: u16) -> u16 {
        match self.health_check().map(|h| h.port) {
            Some(HealthCheckPort::Port(p)) => p,
            _ => port,
        }
    }
}

/// The listener on the asked port, and where it sends the flow.
pub(crate) struct Listen<'a> {
    /// The listener ARN, or `name:port` for Classic.
    pub id: String,
    pub protocol: LbProtocol,
    pub routes: Vec<Route<'a>>,
    /// Rules were not in the evidence (only the default action is known).
    pub rules_missing: Option<&'a Missing>,
    pub groups: Vec<Group<'a>>,
}

pub(crate) enum Listening<'a> {
    Unknown(Option<&'a Missing>),
    /// No listener for the flow; the listeners there are, in words (`HTTPS:443`).
    None {
        others: Vec<String>,
    },
    Found(Box<Listen<'a>>),
}

/// A balancer found, with one interface per enabled subnet standing for its node there (so the
/// instance path's decisions judge it), and its listener.
pub(crate) struct Lb<'a> {
    pub b: Balancer<'a>,
    pub nodes: Vec<NetworkInterface>,
    pub listener: Listening<'a>,
}

pub(crate) enum Lookup<'a> {
    /// Neither load-balancer listing is in the evidence.
    Unknown(Vec<&'a Missing>),
    NotFound {
        known: Vec<&'a str>,
    },
    Found(Box<Lb<'a>>),
}

/// Everything the walk reads, resolved once before it (the steps borrow it).
pub(crate) struct LbCtx<'a> {
    pub asked: String,
    pub lookup: Lookup<'a>,
}

impl<'a> LbCtx<'a> {
    fn new(idx: &AwsIndex<'a>, q: &CloudQuery, asked: &str) -> LbCtx<'a> {
        let elb = &idx.ev.elb;
        let lookup = match idx.find_load_balancer(asked) {
            Some(r) => Lookup::Found(Box::new(resolve(idx, q, r))),
            None => {
                let missing: Vec<&Missing> =
                    [elb.load_balancers.missing(), elb.classic.missing()].into_iter().flatten().collect();
                if missing.len() == 2 {
                    Lookup::Unknown(missing)
                } else {
                    let mut known: Vec<&str> = list(&elb.load_balancers).iter().map(|b| b.name.as_str()).collect();
                    known.extend(list(&elb.classic).iter().map(|c| c.name.as_str()));
                    Lookup::NotFound { known }
                }
            }
        };
        LbCtx { asked: asked.to_string(), lookup }
    }
}

fn balancer<'a>(idx: &AwsIndex<'a>, r: LbRef<'a>) -> Balancer<'a> {
    match r {
        LbRef::V2(b) => Balancer {
            r,
            kind: b.kind.clone(),
            scheme: &b.scheme,
            state: Some((&b.state, b.state_reason.as_deref())),
            vpc: b.vpc_id.as_deref(),
            zones: b.zones.iter().map(|z| Zone { zone: Some(z.zone.as_str()), subnet: &z.subnet_id }).collect(),
            groups: &b.security_groups,
            ip_type: Some(&b.ip_address_type),
        },
        LbRef::Classic(c) => Balancer {
            r,
            kind: LbType::Classic,
            scheme: &c.scheme,
            state: None,
            vpc: c.vpc_id.as_deref(),
            zones: c
                .subnets
                .iter()
                .map(|s| Zone { zone: idx.subnet_by_id.get(s.as_str()).and_then(|s| s.zone.as_deref()), subnet: s })
                .collect(),
            groups: &c.security_groups,
            ip_type: None,
        },
    }
}

/// An interface standing for the balancer's node in `subnet`: its groups are the balancer's.
fn node(idx: &AwsIndex<'_>, b: &Balancer<'_>, subnet: &str) -> NetworkInterface {
    let vpc = idx.subnet_by_id.get(subnet).map(|s| s.vpc_id.clone()).or(b.vpc.map(str::to_string)).unwrap_or_default();
    NetworkInterface {
        id: b.r.name().to_string(),
        vpc_id: vpc,
        subnet_id: subnet.to_string(),
        instance_id: None,
        device_index: None,
        status: "in-use".into(),
        private_ips: Vec::new(),
        ipv6: Vec::new(),
        groups: b.groups.to_vec(),
        description: None,
    }
}

fn resolve<'a>(idx: &AwsIndex<'a>, q: &CloudQuery, r: LbRef<'a>) -> Lb<'a> {
    let b = balancer(idx, r);
    let nodes = b.zones.iter().map(|z| node(idx, &b, z.subnet)).collect();
    let listener = match r {
        LbRef::V2(lb) => front::listener_v2(idx, q, &b, lb),
        LbRef::Classic(c) => front::listener_classic(idx, q, c),
    };
    Lb { b, nodes, listener }
}

/// Whether a listener protocol carries the flow's protocol.
pub(crate) fn carries(protocol: Option<&LbProtocol>, proto: Proto) -> bool {
    match (protocol, proto) {
        (None, _) => true,
        (Some(p), Proto::Tcp) => p.carries_tcp(),
        (Some(p), Proto::Udp) => p.carries_udp(),
    }
}

/// The groups a forward action picks, with a weight that can choose them.
pub(crate) fn forwards(action: &LbAction) -> impl Iterator<Item = &str> {
    let forward = action.kind == LbActionType::Forward;
    action.target_groups.iter().filter(move |t| forward && t.weight != Some(0)).map(|t| t.arn.as_str())
}

/// Where the flow lands: the balancer and its listener; the host layer is handed the first
/// target's address, and every target's flow for a host read apart (`--target-ssh`).
pub(crate) struct At<'a> {
    pub lb: &'a Lb<'a>,
    /// Every target with a host: its address, the port and clients it sees, its health check.
    behind: Vec<BehindBalancer>,
    public: Option<IpAddr>,
}

impl Arrival for At<'_> {
    fn private(&self) -> Option<IpAddr> {
        self.behind.first().and_then(|t| t.ip)
    }

    fn public(&self) -> Option<IpAddr> {
        self.public
    }

    fn instance(&self) -> Option<&str> {
        None
    }

    fn name(&self) -> Option<&str> {
        Some(self.lb.b.r.dns_name()).filter(|d| !d.is_empty()).or(Some(self.lb.b.r.name()))
    }

    fn behind(&self) -> Vec<BehindBalancer> {
        self.behind.clone()
    }
}

/// The load-balancer path shape: the index and what was resolved before the walk.
struct Shape<'a> {
    idx: &'a AwsIndex<'a>,
    ctx: &'a LbCtx<'a>,
}

impl<'a> Provider<'a> for Shape<'a> {
    type Arrival = At<'a>;

    fn edge(&self, flow: &Flow<'_>) -> (Found<'a>, Option<At<'a>>) {
        let at = match &self.ctx.lookup {
            Lookup::Found(lb) => Some(At {
                lb,
                behind: targets::behind_targets(self.idx, lb, flow.query),
                public: lb.b.r.addresses().into_iter().find(|a| !is_private(a)),
            }),
            _ => None,
        };
        (Box::new(front::Edge { asked: &self.ctx.asked, lookup: &self.ctx.lookup }), at)
    }

    /// A dual-stack balancer is judged for the clients of each family, each walked apart (one
    /// without public IPv4 too: its IPv4 clients are the ones left out, `NO_PUBLIC_IP`).
    fn families(&self, _q: &CloudQuery) -> Vec<Family> {
        let Lookup::Found(lb) = &self.ctx.lookup else { return Vec::new() };
        match lb.b.r {
            LbRef::V2(b) if b.ip_address_type != LbIpAddressType::Ipv4 => vec![Family::V4, Family::V6],
            _ => Vec::new(),
        }
    }

    /// The registration: each step of the load-balancer path and the module that judges it.
    fn step(&self, step: StepKind, flow: &Flow<'_>, at: &At<'a>) -> Option<Found<'a>> {
        let lb = at.lb;
        Some(match step {
            StepKind::LoadBalancer => Box::new(front::BalancerFinding { lb }),
            StepKind::LbListener => Box::new(front::ListenerFinding { lb }),
            StepKind::LbSubnets => Box::new(front::subnets(self.idx, flow, lb)),
            StepKind::LbStateful => Box::new(front::security_groups(self.idx, flow, lb)),
            StepKind::Targets => Box::new(targets::targets(self.idx, flow, lb)),
            _ => return None,
        })
    }
}

fn is_private(a: &IpAddr) -> bool {
    !crate::cloud::path::internet(portdoctor_model::net::Family::of(a)).contains(a)
}

/// The walk through the load balancer `asked` (name, ARN or DNS name).
pub(crate) fn walk(idx: &AwsIndex<'_>, q: &CloudQuery, asked: &str) -> CloudWalk {
    let ctx = LbCtx::new(idx, q, asked);
    let shape = Shape { idx, ctx: &ctx };
    let subject = |_: &CloudQuery, _: Option<&At<'_>>, passed: &[PathHop]| subject(&ctx, passed);
    walk_per_family(&shape, q, LOAD_BALANCER_PATH, subject, idx.ev.notes.clone())
}

/// What the platform layer is asked about: the resources the walk passed (groups, ACLs,
/// tables, targets), and the balancer's subnets and VPC.
fn subject(ctx: &LbCtx<'_>, passed: &[PathHop]) -> Subject {
    let mut s = Subject::default();
    let mut add = |v: &str| {
        if !v.is_empty() && !s.resources.iter().any(|r| r == v) {
            s.resources.push(v.to_string());
        }
    };
    for h in passed {
        for id in h.component.resources() {
            // A target's component is `id:port`; the platform layer knows the id.
            let id = if h.hop == CloudHop::Target { id.rsplit_once(':').map_or(id.as_str(), |(i, _)| i) } else { id };
            add(id);
        }
    }
    if let Lookup::Found(lb) = &ctx.lookup {
        lb.b.zones.iter().for_each(|z| add(z.subnet));
        if let Some(v) = lb.b.vpc {
            add(v);
        }
    }
    s
}

#[cfg(test)]
mod tests;
