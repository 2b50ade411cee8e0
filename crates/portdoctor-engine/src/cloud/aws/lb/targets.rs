//! Each target group and each target behind the listener: health (AWS's reason codes in
//! words), the zone, the legs balancer → target to the traffic port and to the health-check port
//! (`leg`), and the machine.
//!
//! What blocks (FACTS.md): a group serves when one of its targets can take the connection — its
//! zone enabled, its machine running, the leg open, and healthy; or, when no target is healthy,
//! the group fails open and an unhealthy target serves unless its health says the traffic port
//! itself is dead (a timeout or refusal on the traffic port from the same sources). A group that
//! serves makes every problem of its other targets a warning with its share; a default action's
//! group that does not serve blocks.

use super::super::Resolved;
use super::super::index::{AwsIndex, list};
use super::super::instance::{self, InstanceFinding};
use super::front::{adopt, join, missing_text};
use super::leg::{Leg, LegAsk, LegVerdict, leg, node_sources};
use super::zones::{Member, Node, Plan};
use super::{CrossZone, Group, GroupDef, Lb, Listening, TargetRec};
use crate::cloud::CloudQuery;
use crate::cloud::aws::edge::confirmed;
use crate::cloud::path::{Explained, Finding, Flow, check};
use portdoctor_model::cloud::NetworkInterface;
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::diagnosis::ArrivalFlow;
use portdoctor_model::elb::{
    BehindBalancer, LbType, TargetHealthReason as R, TargetHealthRecord, TargetHealthState as S, TargetType,
};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::{Family, Source};
use portdoctor_model::{Cause, CauseCode, CheckStatus, Confidence, Missing};
use std::net::IpAddr;

// ---- decisions ----

/// What the target's health says.
enum Health<'a> {
    Healthy,
    /// Failing its health checks (elbv2 `unhealthy`, Classic `OutOfService`).
    Unhealthy(&'a TargetHealthRecord),
    /// Registering, first checks, draining: not a cause, but not serving yet (or any more).
    Transient(&'a TargetHealthRecord),
    /// Not in use (`Target.NotInUse`, not registered, stopped, unusable address).
    Unused(&'a TargetHealthRecord),
    /// Health checks off: the balancer sends traffic regardless.
    Unchecked,
    Unknown,
}

fn health(r: Option<&TargetHealthRecord>) -> Health<'_> {
    let Some(r) = r else { return Health::Unknown };
    match &r.state {
        S::Healthy | S::InService => Health::Healthy,
        S::Unhealthy | S::UnhealthyDraining | S::OutOfService => Health::Unhealthy(r),
        S::Initial | S::Draining => Health::Transient(r),
        S::Unused => Health::Unused(r),
        S::Unavailable => Health::Unchecked,
        S::Unknown(_) => Health::Transient(r),
    }
}

/// AWS's reason code in words (Elastic Load Balancing API reference, TargetHealth; FACTS.md).
fn reason_words(r: &TargetHealthRecord, port: u16, hc_port: u16, path: Option<&str>, matcher: Option<&str>) -> String {
    match &r.reason {
        Some(R::Timeout) => format!(
            "health checks to port {hc_port} time out: usually a security group, network ACL or host firewall drops them on their way, or nothing answers in time"
        ),
        Some(R::FailedHealthChecks) => format!(
            "health checks to port {hc_port} fail: the connection is refused or closed (nothing listens on port {hc_port}), or the check errs"
        ),
        Some(R::ResponseCodeMismatch) => format!(
            "the application answers the health check{} with a status other than {}: it is reachable on port {hc_port} but its health page says no",
            path.map(|p| format!(" of {p}")).unwrap_or_default(),
            matcher.unwrap_or("the matcher")
        ),
        Some(R::NotInUse) => "not in use: its Availability Zone is not enabled on the load balancer (or cross-zone load balancing is off for it), or no listener uses the group".into(),
        Some(R::NotRegistered) => "not registered with the target group".into(),
        Some(R::DeregistrationInProgress) => "being deregistered (draining)".into(),
        Some(R::InvalidState) => "the target is stopped or terminated".into(),
        Some(R::IpUnusable) => "its IP address cannot be a target (it belongs to a load balancer)".into(),
        Some(R::HealthCheckDisabled) => "health checks are disabled".into(),
        Some(R::RegistrationInProgress) => "registration in progress".into(),
        Some(R::InitialHealthChecking) => "the first health checks are still running".into(),
        Some(R::InternalError) => "an internal error of Elastic Load Balancing".into(),
        Some(R::Unknown(w)) => format!("reason {w}"),
        // Classic: `ELB` or `Instance` then AWS's own description.
        None if port == hc_port => "it fails its health checks".into(),
        None => format!("it fails its health checks on port {hc_port}"),
    }
}

/// Whether a failing health check says the traffic port itself is dead from the same sources:
/// then failing open does not help.
fn says_dead(r: &TargetHealthRecord, same_leg: bool) -> bool {
    same_leg && matches!(r.reason, Some(R::Timeout | R::FailedHealthChecks) | None)
}

/// Where a target is, and its legs and machine when it is found.
enum Place<'a> {
    At {
        eni: &'a NetworkInterface,
        ip: IpAddr,
        traffic: Box<Leg<'a>>,
        check: Option<Box<Leg<'a>>>,
        instance: Option<InstanceFinding<'a>>,
    },
    /// Not judged, and why.
    Unplaced(String),
}

struct TargetFinding<'a> {
    t: &'a TargetRec<'a>,
    port: u16,
    hc_port: u16,
    zone: Option<&'a str>,
    zone_enabled: Option<bool>,
    place: Place<'a>,
}

enum Outcome<'a> {
    NotListed(Option<&'a Missing>),
    HealthUnknown(Option<&'a Missing>),
    Lambda(usize),
    /// Judged; empty is a group without registered targets.
    Judged(Vec<TargetFinding<'a>>),
}

struct GroupFinding<'a> {
    g: &'a Group<'a>,
    outcome: Outcome<'a>,
}

pub(super) struct TargetsFinding<'a> {
    lb: &'a Lb<'a>,
    groups: Vec<GroupFinding<'a>>,
}

/// Every target of the groups the listener forwards to, each once (the first group that has
/// it), as the host layer of `diagnose` sees it: its address, the port and clients it sees (the
/// balancer's nodes, as the VPC's range; or with client IP preservation the question's clients)
/// with how many other targets of its group are healthy, and its health check. The first is
/// the one a single host snapshot (`host/`, `--ssh`) is judged for. Lambda functions and
/// balancers as targets have no host and are left out.
pub(super) fn behind_targets(idx: &AwsIndex<'_>, lb: &Lb<'_>, q: &CloudQuery) -> Vec<BehindBalancer> {
    let Listening::Found(l) = &lb.listener else { return Vec::new() };
    let nodes: Vec<&NetworkInterface> = lb.nodes.iter().collect();
    let mut out: Vec<BehindBalancer> = Vec::new();
    let with_hosts = l.groups.iter().filter(|g| matches!(g.target_type(), TargetType::Instance | TargetType::Ip));
    for (g, all) in with_hosts.filter_map(|g| Some((g, g.targets.as_ref().ok()?))) {
        for t in all {
            // A target in two of the groups is judged once, for the first.
            if out.iter().any(|b| b.target == t.id) {
                continue;
            }
            let ip = t.id.parse().ok().or_else(|| {
                let eni = idx.enis_by_instance.get(t.id)?.first()?;
                eni.private_ips.iter().find(|p| p.primary).map(|p| p.addr)
            });
            let port = t.port.or(g.port()).unwrap_or(q.port);
            let family = ip.as_ref().map_or(Family::V4, Family::of);
            let from_nodes = node_sources(idx, lb, &nodes, family).1.map_or(q.from, Source::Prefix);
            let from = if g.preserve_client_ip { q.from } else { from_nodes };
            // Health checks always come from the nodes (FACTS.md), whoever the traffic comes from.
            let hc_on = g.health_check().is_none_or(|h| h.enabled);
            let hc_port = t.health.and_then(|h| h.health_check_port).unwrap_or(g.health_port(port));
            let others = all.iter().filter(|o| o.id != t.id);
            let others_healthy =
                others.filter(|o| matches!(health(o.health), Health::Healthy | Health::Unchecked)).count();
            out.push(BehindBalancer {
                target: t.id.to_string(),
                ip,
                flow: ArrivalFlow { port, from, others_healthy, targets: all.len() },
                health_check: hc_on.then_some((hc_port, from_nodes)),
                reason: t.health.and_then(|h| h.reason.clone()),
                healthy: matches!(health(t.health), Health::Healthy),
            });
        }
    }
    out
}

/// The interface a target's traffic arrives on, and its address.
fn place_of<'a>(
    idx: &AwsIndex<'a>,
    g: &Group<'_>,
    id: &str,
    zone: Option<&str>,
) -> Result<(&'a NetworkInterface, IpAddr), String> {
    match g.target_type() {
        TargetType::Ip => {
            let ip: IpAddr = id.parse().map_err(|_| format!("{id} is not an IP address"))?;
            // An IPv6 target's address is global: the index keeps it with the public ones.
            let v6 = || idx.eni_by_public.get(&ip).map(|(e, _)| *e).filter(|_| ip.is_ipv6());
            idx.eni_by_private
                .get(&ip)
                .copied()
                .or_else(v6)
                .map(|e| (e, ip))
                .ok_or_else(|| ip_elsewhere(idx, g, ip, zone))
        }
        TargetType::Alb => Err(format!("{id} is an Application Load Balancer: ask about it with --load-balancer")),
        _ => {
            let eni = idx.enis_by_instance.get(id).and_then(|e| e.first()).copied();
            let eni = eni.ok_or_else(|| format!("no interface of {id} in the evidence (NetworkInterfaces)"))?;
            let ip = eni.private_ips.iter().find(|p| p.primary).or(eni.private_ips.first()).map(|p| p.addr);
            ip.map(|ip| (eni, ip)).ok_or_else(|| format!("{} has no private address in the evidence", eni.id))
        }
    }
}

/// Why an IP target's leg is not judged, naming what is missing: an address outside the
/// group's VPC (on premises over Direct Connect or a VPN, a peered VPC: registered for zone
/// `all`) has its route, its far side's firewalls and its host beyond this evidence; one inside
/// the VPC that no interface holds is a released address or a partial listing.
fn ip_elsewhere(idx: &AwsIndex<'_>, g: &Group<'_>, ip: IpAddr, zone: Option<&str>) -> String {
    let vpc_id = match &g.def {
        GroupDef::Listed(tg) => tg.vpc_id.as_deref(),
        _ => None,
    };
    let vpc = list(&idx.ev.vpcs).iter().find(|v| Some(v.id.as_str()) == vpc_id);
    let inside = vpc.is_some_and(|v| v.cidrs.iter().any(|c| c.contains(&ip)));
    let family = if ip.is_ipv6() { "IPv6 " } else { "" };
    if inside {
        return format!(
            "no interface holds the {family}address {ip} in the evidence (NetworkInterfaces), though it is inside {}: a released address still registered, or a partial listing; its leg is not judged",
            vpc_id.unwrap_or("the VPC")
        );
    }
    let all = if zone == Some("all") { ", registered for every zone (AvailabilityZone all)" } else { "" };
    let cidrs = vpc.map(|v| v.cidrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    format!(
        "{family}{ip} is outside {} ({cidrs}){all}: on premises over Direct Connect or a VPN, or in a peered VPC; the route from the load balancer's subnets to it, the firewalls on its side and its host are not in this evidence and are not judged (ask on that side: portdoctor host --port P on the target)",
        vpc_id.unwrap_or("the VPC")
    )
}

pub(super) fn targets<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, lb: &'a Lb<'a>) -> TargetsFinding<'a> {
    let groups = match &lb.listener {
        Listening::Found(l) => l.groups.iter().map(|g| GroupFinding { g, outcome: group(idx, flow, lb, g) }).collect(),
        _ => Vec::new(),
    };
    TargetsFinding { lb, groups }
}

fn group<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, lb: &'a Lb<'a>, g: &'a Group<'a>) -> Outcome<'a> {
    if let GroupDef::NotListed(m) = &g.def {
        return Outcome::NotListed(*m);
    }
    let targets = match &g.targets {
        Ok(t) => t,
        Err(m) => return Outcome::HealthUnknown(*m),
    };
    if g.target_type() == TargetType::Lambda {
        return Outcome::Lambda(targets.len());
    }
    let enabled: Vec<&str> = lb.b.zones.iter().filter_map(|z| z.zone).collect();
    let judged = targets
        .iter()
        .map(|t| {
            let port = t.port.or(g.port()).unwrap_or(flow.port());
            let hc_port = t.health.and_then(|h| h.health_check_port).unwrap_or(g.health_port(port));
            let placed = place_of(idx, g, t.id, t.zone);
            let subnet_zone =
                |e: &NetworkInterface| idx.subnet_by_id.get(e.subnet_id.as_str()).and_then(|s| s.zone.as_deref());
            let zone = t.zone.or(placed.as_ref().ok().and_then(|(e, _)| subnet_zone(e)));
            let zone_enabled = zone.filter(|_| !enabled.is_empty()).map(|z| z == "all" || enabled.contains(&z));
            let place = match placed {
                Err(why) => Place::Unplaced(why),
                Ok((eni, ip)) => {
                    // Without cross-zone load balancing only the node in the target's zone sends to it.
                    let same_zone: Vec<&NetworkInterface> = lb
                        .nodes
                        .iter()
                        .zip(&lb.b.zones)
                        .filter(|(_, z)| zone.is_some() && z.zone == zone)
                        .map(|(n, _)| n)
                        .collect();
                    let nodes: Vec<&NetworkInterface> =
                        if g.cross_zone.legs_from_every_node() || same_zone.is_empty() { lb.nodes.iter().collect() } else { same_zone };
                    let ask = LegAsk { idx, flow, lb, nodes: &nodes, eni, ip };
                    match leg(&ask, port, false, g.preserve_client_ip) {
                        None => Place::Unplaced(format!(
                            "the load balancer's subnets have no {} range in the evidence (Subnets): absent, or not of {ip}'s family (an IPv6 target needs a dualstack balancer in subnets with IPv6 CIDRs)",
                            Family::of(&ip).name()
                        )),
                        Some(traffic) => {
                            let hc_enabled = g.health_check().is_none_or(|h| h.enabled);
                            // Health checks always come from the nodes; a second leg when it differs.
                            let check = (hc_enabled && (hc_port != port || g.preserve_client_ip))
                                .then(|| leg(&ask, hc_port, true, false))
                                .flatten()
                                .map(Box::new);
                            let instance = (g.target_type() == TargetType::Instance)
                                .then(|| instance::instance(idx, flow, &Resolved { eni, private: ip, public: None }));
                            Place::At { eni, ip, traffic: Box::new(traffic), check, instance }
                        }
                    }
                }
            };
            TargetFinding { t, port, hc_port, zone, zone_enabled, place }
        })
        .collect();
    Outcome::Judged(judged)
}

// ---- explanation ----

// ---- remedies (aws CLI) ----

fn register_fix(lb: &Lb<'_>, g: &Group<'_>) -> Vec<Fix> {
    if lb.b.kind == LbType::Classic {
        return vec![Fix::run(
            ShellCommand::new("aws elb register-instances-with-load-balancer --load-balancer-name")
                .arg(lb.b.r.name())
                .lit("--instances <i-…>"),
        )];
    }
    vec![Fix::run(
        ShellCommand::new("aws elbv2 register-targets --target-group-arn").arg(g.arn).lit("--targets Id=<i-…>"),
    )]
}

fn health_fix(lb: &Lb<'_>, g: &Group<'_>) -> Vec<Fix> {
    if lb.b.kind == LbType::Classic {
        return vec![Fix::run(
            ShellCommand::new("aws elb describe-instance-health --load-balancer-name").arg(lb.b.r.name()),
        )];
    }
    vec![Fix::run(ShellCommand::new("aws elbv2 describe-target-health --target-group-arn").arg(g.arn))]
}

fn zone_fix(lb: &Lb<'_>, zone: &str) -> Vec<Fix> {
    let subnets: Vec<&str> = lb.b.zones.iter().map(|z| z.subnet).collect();
    let cmd = if lb.b.kind == LbType::Classic {
        ShellCommand::new("aws elb attach-load-balancer-to-subnets --load-balancer-name")
            .arg(lb.b.r.name())
            .lit("--subnets")
    } else {
        let mut c = ShellCommand::new("aws elbv2 set-subnets --load-balancer-arn").arg(lb.b.r.id()).lit("--subnets");
        for s in subnets {
            c = c.arg(s);
        }
        c
    };
    vec![
        Fix::text(format!("Enable {zone} on the load balancer (add a subnet of that zone): "))
            .then_run(cmd.lit("<subnet-… in the zone>")),
    ]
}

/// What a client sees when a group cannot serve: an ALB or Classic HTTP listener answers itself.
fn client_sees(lb: &Lb<'_>, why: Why) -> String {
    let http = match &lb.listener {
        Listening::Found(l) => l.protocol.is_http(),
        _ => false,
    };
    match (http, why) {
        (true, Why::Empty) => "the client's handshake completes at the load balancer, which answers HTTP 503".into(),
        (true, Why::Drop) => {
            "the client's handshake completes at the load balancer, which answers HTTP 504 (gateway timeout)".into()
        }
        (true, Why::Refused) => {
            "the client's handshake completes at the load balancer, which answers HTTP 502 (bad gateway)".into()
        }
        (true, Why::NoTarget) => "the client's handshake completes at the load balancer, which answers HTTP 503".into(),
        (false, Why::Refused) => "the client's connections are reset".into(),
        (false, _) => "the client's connections time out".into(),
    }
}

#[derive(Clone, Copy)]
enum Why {
    Empty,
    Drop,
    Refused,
    NoTarget,
}

impl Finding for TargetsFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        self.groups.iter().fold(Explained::default(), |ex, g| join(ex, g.explain(flow, self.lb)))
    }
}

/// One target's words and what it comes to.
struct Judged {
    ex: Explained,
    /// Takes the connection from the nodes that send to it (as they route).
    serves: bool,
    /// Would take it from a node routing only to healthy targets, and from one failing open.
    serves_healthy: bool,
    serves_open: bool,
    transient: bool,
    unknown: bool,
    why: Why,
}

impl GroupFinding<'_> {
    /// The group in checks, its hop and its targets: a group not judged says why (its listing
    /// or its targets missing, or Lambda functions: no leg to judge); a judged one is decided
    /// across its nodes (`Standing`), then said.
    fn explain(&self, flow: &Flow<'_>, lb: &Lb<'_>) -> Explained {
        let (g, name, id) = (self.g, self.g.name(), CloudCheck::TargetGroup);
        let (c, detail) = match &self.outcome {
            Outcome::Judged(ts) if ts.is_empty() => return self.no_targets(lb),
            Outcome::Judged(ts) => return self.judged(flow, lb, ts),
            Outcome::NotListed(m) => (
                check(id, CheckStatus::Unknown, format!("Target group {} is not in the evidence", g.arn))
                    .with_evidence([missing_text(*m, "TargetGroups")]),
                "target group unknown".to_string(),
            ),
            Outcome::HealthUnknown(m) => (
                check(id, CheckStatus::Unknown, format!("The registered targets of {name} are unknown"))
                    .with_evidence([missing_text(*m, &format!("{} for {}", g.health_source(), g.arn))]),
                "targets unknown".to_string(),
            ),
            Outcome::Lambda(n) => {
                let s = format!(
                    "{name} forwards to {n} Lambda function(s): no network leg and no host layer to judge (a function that fails or times out is the load balancer's HTTP 502 or 504)"
                );
                (check(id, CheckStatus::Pass, s.clone()), s)
            }
        };
        let status = c.status;
        self.with_hop(Explained::default().check(c), status, detail)
    }

    fn with_hop(&self, ex: Explained, status: CheckStatus, detail: String) -> Explained {
        ex.hop(CloudHop::TargetGroup, Component::one(self.g.name()), status, detail)
    }

    /// A group without registered targets: it blocks, or for a rule's group warns.
    fn no_targets(&self, lb: &Lb<'_>) -> Explained {
        let (g, name, id) = (self.g, self.g.name(), CloudCheck::TargetGroup);
        let msg = format!("{name} has no registered targets: {}", client_sees(lb, Why::Empty));
        let evidence = vec![match g.def {
            GroupDef::Classic { .. } => format!("{}: Instances is empty (LoadBalancerDescriptions)", g.arn),
            _ => format!("{}: TargetHealthDescriptions is empty (LoadBalancerTargetHealth)", g.arn),
        }];
        let ex = Explained::default();
        if !g.by_default {
            // A rule's group: only the requests its rule matches fail.
            let msg = format!("{msg} (for the requests its rule matches)");
            let e = ex.check(check(id, CheckStatus::Warn, msg.clone()).with_evidence(evidence));
            return self.with_hop(e, CheckStatus::Warn, msg);
        }
        let c = confirmed(CauseCode::LbNoTargets, name, msg.clone(), evidence.clone(), register_fix(lb, g));
        let e = ex.check(check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence)).cause(c);
        self.with_hop(e, CheckStatus::Fail, msg)
    }

    /// A group with targets: each judged, the group's standing decided across its nodes, the
    /// targets' words set by it, and the group's own check and hop before them.
    fn judged(&self, flow: &Flow<'_>, lb: &Lb<'_>, ts: &[TargetFinding<'_>]) -> Explained {
        let g = self.g;
        let healthy = ts.iter().filter(|t| takes_traffic(t.t.health)).count();
        let unhealthy = ts.iter().filter(|t| matches!(health(t.t.health), Health::Unhealthy(_))).count();
        // Which targets each node sends to, whether it fails open, whether DNS gives it out.
        let members: Vec<Member<'_>> = ts
            .iter()
            .map(|t| Member {
                zone: t.zone,
                enabled: t.zone_enabled != Some(false),
                healthy: takes_traffic(t.t.health),
            })
            .collect();
        let per_zone = g.cross_zone != CrossZone::On;
        let plan = Plan::new(lb, &members, !per_zone, g.failover.as_ref());
        let judged: Vec<Judged> = ts
            .iter()
            .enumerate()
            .map(|(i, t)| t.judge(flow, lb, g, plan.fails_open_to(i), (unhealthy, ts.len())))
            .collect();
        let st = Standing::decide(g, &plan, &judged);
        let mut by_target = Explained::default();
        for (i, j) in judged.iter().enumerate() {
            by_target = join(by_target, target_words(lb, g, j, st.role(i)));
        }
        // A node with no target at all in its zone, while the group has some elsewhere.
        if (st.zone_blocks || st.group_blocks) && per_zone && members.iter().any(|m| m.enabled) {
            by_target = join(by_target, st.empty_zones(lb, g));
        }
        let (status, summary) = st.summary(lb, g, &judged, unhealthy);
        let mut evidence =
            vec![format!("{healthy} healthy, {unhealthy} unhealthy, of {} ({})", ts.len(), g.health_source())];
        if g.preserve_client_ip {
            evidence.push(format!("{}: client IP preservation is on: targets see the clients' addresses", g.name()));
        }
        if per_zone {
            evidence.extend(zone_evidence(lb, g, &plan));
        }
        if let (true, CrossZone::Unknown(m)) = (st.unsure, g.cross_zone) {
            evidence.push(missing_text(m, &format!("ClassicLoadBalancerAttributes for {}", lb.b.r.name())));
        }
        let ex =
            Explained::default().check(check(CloudCheck::TargetGroup, status, summary.clone()).with_evidence(evidence));
        join(self.with_hop(ex, status, summary), by_target)
    }
}

/// Where a judged group stands across the nodes DNS gives out: the decision its words and its
/// targets' are made from.
struct Standing<'p> {
    /// The nodes clients reach, and whether one of each one's targets takes the connection.
    reached: Vec<(&'p Node<'p>, NodeState)>,
    failing: Vec<&'p Node<'p>>,
    serving_nodes: usize,
    /// Some nodes serve and others, which DNS still gives out, do not: their clients fail.
    partial: bool,
    /// Partial, and whether the failing nodes' clients fail turns on cross-zone load
    /// balancing, which is not in the evidence.
    unsure: bool,
    zone_blocks: bool,
    /// No node known to serve, yet none surely fails: evidence missing is not a block.
    group_open: bool,
    group_blocks: bool,
}

/// What the group's standing makes of one target's causes.
enum TargetRole {
    /// The group blocks: the target's blocking causes say what the client sees.
    Blocks,
    /// No node is known to serve and none surely fails: causes kept, none blocking.
    Undecided,
    /// Its node's clients fail while other nodes serve: its causes are theirs, with the share.
    FailsItsZone(ZoneShare),
    /// The group serves (or it is a rule's group): its problems are warnings.
    Tolerated,
}

impl<'p> Standing<'p> {
    fn decide(g: &Group<'_>, plan: &'p Plan<'p>, judged: &[Judged]) -> Self {
        let blocking = g.by_default;
        let reached: Vec<(&Node<'_>, NodeState)> =
            plan.nodes.iter().filter(|n| n.in_dns).map(|n| (n, node_state(n, judged))).collect();
        let serving_nodes = reached.iter().filter(|(_, s)| *s == NodeState::Serves).count();
        let failing: Vec<&Node<'_>> = reached.iter().filter(|(_, s)| *s == NodeState::Fails).map(|(n, _)| *n).collect();
        let partial = serving_nodes > 0 && !failing.is_empty();
        let unsure = partial && matches!(g.cross_zone, CrossZone::Unknown(_));
        let zone_blocks = partial && blocking && !unsure;
        // No node known to serve: the group blocks where a node surely fails, or every node's
        // fate is known; nodes whose targets are only unknown leave it open (causes kept, not
        // blocking: evidence missing is not a block).
        let unsure_nodes = reached.iter().any(|(_, s)| *s == NodeState::Unknown);
        let group_open = serving_nodes == 0 && blocking && unsure_nodes && failing.is_empty();
        let group_blocks = serving_nodes == 0 && blocking && !group_open;
        Standing { reached, failing, serving_nodes, partial, unsure, zone_blocks, group_open, group_blocks }
    }

    fn role(&self, target: usize) -> TargetRole {
        let failing_node = self.failing.iter().find(|n| n.members.contains(&target));
        if self.group_blocks {
            TargetRole::Blocks
        } else if self.group_open {
            TargetRole::Undecided
        } else if let Some(n) = failing_node.filter(|_| self.zone_blocks) {
            TargetRole::FailsItsZone(self.share(n))
        } else {
            TargetRole::Tolerated
        }
    }

    fn share(&self, n: &Node<'_>) -> ZoneShare {
        ZoneShare {
            zone: n.zone.unwrap_or(n.subnet).to_string(),
            failing: self.failing.len(),
            reached: self.reached.len(),
        }
    }

    /// A failing node with no target at all in its zone: register one, or let every node send
    /// to every zone.
    fn empty_zones(&self, lb: &Lb<'_>, g: &Group<'_>) -> Explained {
        let mut ex = Explained::default();
        for n in self.failing.iter().filter(|n| n.members.is_empty()) {
            let zone = n.zone.unwrap_or(n.subnet);
            let words = self.share(n).words(lb, client_sees(lb, Why::Empty));
            let msg = format!("{} has no registered target in {zone} — {words}", g.name());
            let evidence =
                vec![format!("{}: no target of {} in {zone} ({}, Subnets)", g.arn, lb.b.r.name(), g.health_source())];
            let mut fix = register_fix(lb, g);
            fix.extend(cross_zone_fix(lb, g));
            ex = ex.cause(confirmed(CauseCode::LbNoTargets, n.subnet, msg, evidence, fix));
        }
        ex
    }

    /// The group check's status and summary.
    fn summary(&self, lb: &Lb<'_>, g: &Group<'_>, judged: &[Judged], unhealthy: usize) -> (CheckStatus, String) {
        let name = g.name();
        if self.partial {
            let zones: Vec<&str> = self.failing.iter().map(|n| n.zone.unwrap_or(n.subnet)).collect();
            let (failing, reached) = (self.failing.len(), self.reached.len());
            let pct = (100 * failing).checked_div(reached).unwrap_or(0);
            let part = format!("{failing} of the {reached} zones DNS gives out, {pct}% of the clients");
            let zones = zones.join(", ");
            if self.unsure {
                return (
                    CheckStatus::Unknown,
                    format!(
                        "{name}: no target in {zones} can take the connection ({part}): whether those clients fail depends on cross-zone load balancing, which is not in the evidence"
                    ),
                );
            }
            let status = if g.by_default { CheckStatus::Fail } else { CheckStatus::Warn };
            let sees = failing_sees(lb, &self.failing, judged);
            return (
                status,
                format!("{name}: the node in {zones} ({part}) has no target that can take the connection: {sees}"),
            );
        }
        if self.serving_nodes > 0 {
            let serving = judged.iter().filter(|j| j.serves).count();
            let status = if serving == judged.len() { CheckStatus::Pass } else { CheckStatus::Warn };
            let open = self.reached.iter().any(|(n, _)| n.fails_open) && unhealthy > 0;
            let open =
                if open { " (no target is healthy: the group fails open and routes to all of them)" } else { "" };
            return (status, format!("{name}: {serving} of {} targets can take the connection{open}", judged.len()));
        }
        if judged.iter().any(|j| j.transient || j.unknown) {
            return (
                CheckStatus::Unknown,
                format!(
                    "{name}: no target is known to take the connection yet (registering, first health checks, or evidence missing)"
                ),
            );
        }
        let why = judged.iter().map(|j| j.why).next().unwrap_or(Why::NoTarget);
        (CheckStatus::Fail, format!("{name}: no target can take the connection: {}", client_sees(lb, why)))
    }
}

/// One target's words as the group's standing has them.
fn target_words(lb: &Lb<'_>, g: &Group<'_>, j: &Judged, role: TargetRole) -> Explained {
    let mut e =
        Explained { checks: j.ex.checks.clone(), hops: j.ex.hops.clone(), causes: j.ex.causes.clone(), amend: None };
    match role {
        TargetRole::Blocks => {
            // The contract's promise: the message says what the client actually sees.
            let sees = client_sees(lb, j.why);
            for c in e.causes.iter_mut().filter(|c| c.blocking) {
                c.message = format!("{} — {sees}", c.message);
            }
        }
        TargetRole::Undecided => {
            for c in e.causes.iter_mut() {
                c.blocking = false;
            }
            for c in e.checks.iter_mut().filter(|c| c.status == CheckStatus::Fail) {
                c.status = CheckStatus::Warn;
            }
        }
        TargetRole::FailsItsZone(share) => {
            let words = share.words(lb, client_sees(lb, j.why));
            for c in e.causes.iter_mut().filter(|c| c.blocking) {
                c.message = format!("{} — {words}", c.message);
                c.fix.extend(cross_zone_fix(lb, g));
            }
        }
        TargetRole::Tolerated => {
            // A group that serves (or a rule's group) makes its targets' problems warnings
            // with their share: a reachable report has no causes (CONTRACT.md §3).
            e.causes.clear();
            for c in e.checks.iter_mut().filter(|c| c.status == CheckStatus::Fail) {
                c.status = CheckStatus::Warn;
            }
            for h in e.hops.iter_mut().filter(|h| h.status == CheckStatus::Fail) {
                h.status = CheckStatus::Warn;
            }
        }
    }
    e
}

/// Healthy, or health checks off: a node sends to it without failing open.
fn takes_traffic(r: Option<&TargetHealthRecord>) -> bool {
    matches!(health(r), Health::Healthy | Health::Unchecked)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeState {
    Serves,
    Fails,
    /// None serves yet one is registering, checked for the first time, or not known.
    Unknown,
}

/// Whether one of the node's targets takes the connection, as the node routes (only healthy
/// ones, or all when it fails open).
fn node_state(n: &Node<'_>, judged: &[Judged]) -> NodeState {
    let of = |i: &usize| judged.get(*i);
    if n.members.iter().filter_map(of).any(|j| j.serves_healthy || (n.fails_open && j.serves_open)) {
        NodeState::Serves
    } else if n.members.iter().filter_map(of).any(|j| j.transient || j.unknown) {
        NodeState::Unknown
    } else {
        NodeState::Fails
    }
}

/// A failing node's share of the clients, in words.
struct ZoneShare {
    zone: String,
    failing: usize,
    reached: usize,
}

impl ZoneShare {
    fn words(&self, lb: &Lb<'_>, sees: String) -> String {
        let zone = &self.zone;
        let pct = (100 * self.failing).checked_div(self.reached).unwrap_or(0);
        let why = if lb.b.kind == LbType::Classic { "it does not fail open, and " } else { "" };
        format!(
            "{}'s node in {zone} sends only to targets in {zone} ({why}cross-zone load balancing is off), and DNS still gives that node to clients: {} of the {} zones' clients, {pct}%: {sees}",
            lb.b.r.name(),
            self.failing,
            self.reached
        )
    }
}

/// What the clients of the failing nodes see (their first target's way of failing).
fn failing_sees(lb: &Lb<'_>, failing: &[&Node<'_>], judged: &[Judged]) -> String {
    let why = failing
        .iter()
        .flat_map(|n| n.members.iter())
        .filter_map(|i| judged.get(*i))
        .map(|j| j.why)
        .next()
        .unwrap_or(Why::Empty);
    client_sees(lb, why)
}

/// Per node, when the zones fare differently: which left DNS, and why.
fn zone_evidence(lb: &Lb<'_>, g: &Group<'_>, plan: &Plan<'_>) -> Vec<String> {
    let name = lb.b.r.name();
    let mut out: Vec<String> = Vec::new();
    let Some(f) = g.failover.as_ref() else {
        return out;
    };
    let below: Vec<&Node<'_>> = plan.nodes.iter().filter(|n| n.below_dns).collect();
    if below.is_empty() || plan.nodes.len() < 2 {
        return out;
    }
    for n in &below {
        let zone = n.zone.unwrap_or(n.subnet);
        let left = if plan.dns_fails_open { "stays in DNS (every zone is below)" } else { "is out of DNS" };
        out.push(format!(
            "{zone}: {} of {} target(s) healthy, below DNS failover's {} (target_group_health.dns_failover.minimum_healthy_targets, TargetGroupAttributes): {name}'s node there {left}",
            n.healthy,
            n.members.len(),
            f.dns.text()
        ));
    }
    out
}

/// Turning cross-zone load balancing on: every node then sends to every healthy target.
fn cross_zone_fix(lb: &Lb<'_>, g: &Group<'_>) -> Vec<Fix> {
    let cmd = if lb.b.kind == LbType::Classic {
        ShellCommand::new("aws elb modify-load-balancer-attributes --load-balancer-name")
            .arg(lb.b.r.name())
            .lit("--load-balancer-attributes")
            .arg(r#"{"CrossZoneLoadBalancing":{"Enabled":true}}"#)
    } else {
        ShellCommand::new("aws elbv2 modify-target-group-attributes --target-group-arn")
            .arg(g.arn)
            .lit("--attributes Key=load_balancing.cross_zone.enabled,Value=true")
    };
    vec![Fix::text("Or let every node send to every zone's targets: ").then_run(cmd)]
}

/// What a target's legs and machine came to, before its health is weighed.
struct LegsFinding {
    ex: Explained,
    /// The codes of the causes found on the legs and the machine: they explain failing health.
    causes: Vec<CauseCode>,
    /// No cause on the machine itself (a stopped instance, say).
    machine_ok: bool,
    traffic: LegVerdict,
}

impl LegsFinding {
    fn add(&mut self, e: Explained) {
        self.causes.extend(e.causes.iter().map(|c| c.code));
        self.ex = join(std::mem::take(&mut self.ex), e);
    }
}

/// What the group's state tells a target's health check about it.
struct HealthAsk {
    /// The node sending to it fails open (no target of its is healthy).
    fail_open: bool,
    /// Unhealthy targets of the group, of all.
    share: (usize, usize),
    /// The health checks run on the traffic leg itself: the same port, from the same nodes.
    same_leg: bool,
}

/// What a target's health came to.
struct HealthFinding {
    ex: Explained,
    /// Health lets it take the connection (as its node routes).
    serves: bool,
    unknown: bool,
    transient: bool,
    /// How its clients fail, when health says the traffic port itself is dead.
    why: Option<Why>,
}

impl HealthFinding {
    fn said(ex: Explained, serves: bool) -> Self {
        HealthFinding { ex, serves, unknown: false, transient: false, why: None }
    }
}

/// Whether an unhealthy target is a blocking cause of its own (the decision; its words are
/// `UnhealthyVerdict::words`).
enum UnhealthyVerdict {
    /// Causes on its legs or machine (their codes) say why it fails: not blocking of its own.
    ExplainedBy(String),
    /// Every target is unhealthy and its traffic port answers: the group sends to it anyway.
    FailsOpen,
    /// The traffic port itself is dead and the cloud shows nothing that kills it: the host.
    HostSuspect,
    /// Classic never fails open: an instance out of service gets no traffic.
    ClassicOutOfService,
    /// Other targets take the connection: a warning.
    Tolerated,
}

impl UnhealthyVerdict {
    fn decide(explained_by: &[CauseCode], fail_open: bool, dead: bool, fails_over: bool) -> Self {
        if !explained_by.is_empty() {
            let codes: Vec<&str> = explained_by.iter().map(|c| c.as_str()).collect();
            UnhealthyVerdict::ExplainedBy(codes.join(", "))
        } else if fail_open && !dead {
            UnhealthyVerdict::FailsOpen
        } else if dead {
            UnhealthyVerdict::HostSuspect
        } else if !fails_over {
            UnhealthyVerdict::ClassicOutOfService
        } else {
            UnhealthyVerdict::Tolerated
        }
    }

    fn blocking(&self) -> bool {
        matches!(self, UnhealthyVerdict::HostSuspect | UnhealthyVerdict::ClassicOutOfService)
    }

    /// `likely` only where the host is suspected: the configuration did not show it.
    fn confidence(&self) -> Confidence {
        if matches!(self, UnhealthyVerdict::HostSuspect) { Confidence::Likely } else { Confidence::Confirmed }
    }

    /// What the message adds after AWS's reason.
    fn words(&self, hc_port: u16) -> String {
        match self {
            UnhealthyVerdict::ExplainedBy(codes) => format!("; explained by {codes}"),
            UnhealthyVerdict::FailsOpen => {
                "; every target is unhealthy, so the group fails open and still sends traffic to it".into()
            }
            UnhealthyVerdict::HostSuspect => format!(
                "; nothing in the cloud configuration explains it: look at the target's host (firewall, a listener on port {hc_port}) — portdoctor diagnose with --ssh"
            ),
            UnhealthyVerdict::ClassicOutOfService => {
                "; a Classic load balancer sends nothing to an instance out of service".into()
            }
            UnhealthyVerdict::Tolerated => String::new(),
        }
    }
}

/// A leg that could not be placed (no interface, outside the VPC): unknown, unless the target
/// passes AWS's health checks on this very leg.
fn unplaced_leg(lb: &Lb<'_>, label: &str, port: u16, why_not: &str, checked_by_health: bool) -> LegsFinding {
    let name = lb.b.r.name();
    // AWS's passing health checks run on this very leg (the traffic port, from the same
    // nodes): they show it open where the configuration cannot (a target outside the VPC).
    let (status, summary, unknown) = if checked_by_health {
        (
            CheckStatus::Pass,
            format!("{label}: the leg from {name} passes AWS's health checks to port {port} from the same nodes"),
            false,
        )
    } else {
        (CheckStatus::Unknown, format!("{label}: the leg from {name} is not judged"), true)
    };
    let ex = Explained::default()
        .check(check(CloudCheck::TargetSecurityGroup, status, summary).with_evidence([why_not.to_string()]));
    LegsFinding { ex, causes: Vec::new(), machine_ok: true, traffic: LegVerdict { blocked: false, unknown } }
}

impl TargetFinding<'_> {
    fn label(&self) -> String {
        format!("{}:{}", self.t.id, self.port)
    }

    /// The target, its legs and its health, and what they come to: assembled from the pieces
    /// below in the report's order (zone, legs, machine, health, the target's hop).
    fn judge(&self, flow: &Flow<'_>, lb: &Lb<'_>, g: &Group<'_>, fail_open: bool, share: (usize, usize)) -> Judged {
        let label = self.label();
        let h = health(self.t.health);
        let ask = HealthAsk { fail_open, share, same_leg: self.hc_port == self.port && !g.preserve_client_ip };
        let zone_off = self.zone_enabled == Some(false);
        let mut ex = if zone_off { self.zone_not_served(lb, &label) } else { Explained::default() };
        let legs = self.legs(flow, lb, &label, ask.same_leg && matches!(h, Health::Healthy));
        ex = join(ex, legs.ex);
        // A cause found on it already (its zone, its legs, its instance) says why it is unused.
        let unused_explained = zone_off || !legs.causes.is_empty();
        let weighed = match &h {
            Health::Unused(r) => self.unused(r, lb, g, &label, unused_explained),
            Health::Unhealthy(r) => self.unhealthy(r, lb, g, &label, &legs.causes, &ask),
            other => self.plain_health(other, g, &label),
        };
        ex = join(ex, weighed.ex);
        let config_ok = !zone_off && legs.machine_ok && !legs.traffic.blocked;
        let unknown = legs.traffic.unknown || weighed.unknown;
        let transient = weighed.transient;
        let why = weighed.why.unwrap_or(if legs.traffic.blocked { Why::Drop } else { Why::NoTarget });
        let takes = |by_health: bool| config_ok && by_health && !unknown;
        let serves = takes(weighed.serves);
        let serves_healthy = takes(matches!(h, Health::Healthy | Health::Unchecked | Health::Unknown));
        let serves_open = takes(matches!(&h, Health::Unhealthy(r) if !says_dead(r, ask.same_leg)) || serves_healthy);
        let status = if serves {
            if ex.causes.is_empty() { CheckStatus::Pass } else { CheckStatus::Warn }
        } else if unknown || transient {
            CheckStatus::Unknown
        } else {
            CheckStatus::Fail
        };
        let ex = ex.hop(CloudHop::Target, Component::one(label), status, self.hop_detail(&h));
        Judged { ex, serves, serves_healthy, serves_open, transient, unknown: unknown && !serves, why }
    }

    /// A target in a zone the balancer does not serve: it gets no traffic.
    fn zone_not_served(&self, lb: &Lb<'_>, label: &str) -> Explained {
        let name = lb.b.r.name();
        let zone = self.zone.unwrap_or("?");
        let zones: Vec<&str> = lb.b.zones.iter().filter_map(|z| z.zone).collect();
        let msg = format!(
            "{label} is in {zone}, which {name} does not serve (its zones: {}): it gets no traffic",
            zones.join(", ")
        );
        let evidence = vec![format!("{} zones: {} (LoadBalancers); {label} in {zone}", lb.b.r.id(), zones.join(", "))];
        Explained::default()
            .check(check(CloudCheck::TargetHealth, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()))
            .cause(confirmed(CauseCode::TargetAzNotEnabled, self.t.id, msg, evidence, zone_fix(lb, zone)))
    }

    /// The legs balancer → target and the machine. `checked_by_health`: the target is healthy
    /// and its health checks run on the traffic leg itself.
    fn legs(&self, flow: &Flow<'_>, lb: &Lb<'_>, label: &str, checked_by_health: bool) -> LegsFinding {
        let (eni, ip, traffic, hc_leg, instance) = match &self.place {
            Place::Unplaced(why_not) => return unplaced_leg(lb, label, self.port, why_not, checked_by_health),
            Place::At { eni, ip, traffic, check, instance } => (eni, *ip, traffic, check, instance),
        };
        let mut found = LegsFinding {
            ex: Explained::default(),
            causes: Vec::new(),
            machine_ok: true,
            traffic: LegVerdict::default(),
        };
        let (e, tv) = traffic.explain(lb, eni, ip, label);
        found.add(e);
        // The health-check leg decides no serving, and only a health-check leg blocked while
        // the traffic leg is open is its own cause (health says the rest).
        if let Some(hc_leg) = hc_leg.as_ref().filter(|_| !tv.blocked) {
            found.add(hc_leg.explain(lb, eni, ip, label).0);
        }
        if let Some(i) = instance {
            let e = adopt(i.explain(flow), None, "", |c| c, |_| false);
            found.machine_ok = e.causes.is_empty();
            found.add(e);
        }
        found.traffic = tv;
        found
    }

    /// Health that needs no weighing against the group: healthy, unchecked, unknown, transient.
    fn plain_health(&self, h: &Health<'_>, g: &Group<'_>, label: &str) -> HealthFinding {
        let ex = Explained::default();
        match h {
            Health::Healthy => HealthFinding::said(
                ex.check(check(CloudCheck::TargetHealth, CheckStatus::Pass, format!("{label} is healthy"))),
                true,
            ),
            Health::Unknown => {
                let c = check(CloudCheck::TargetHealth, CheckStatus::Unknown, format!("{label}: health unknown"))
                    .with_evidence([format!("no health record for it ({})", g.health_source())]);
                HealthFinding { unknown: true, ..HealthFinding::said(ex.check(c), true) }
            }
            Health::Transient(r) => {
                let s = format!(
                    "{label} is {} ({}): not a cause, ask again in a minute",
                    r.state,
                    r.reason.as_ref().map_or("-", |r| r.as_str())
                );
                let ex = ex.check(check(CloudCheck::TargetHealth, CheckStatus::Unknown, s));
                HealthFinding { transient: true, ..HealthFinding::said(ex, false) }
            }
            // Health checks off: the balancer sends regardless. (Unused and unhealthy are weighed.)
            _ => HealthFinding::said(ex, true),
        }
    }

    /// An unused target: a warning when a cause found on it says why (`explained`); otherwise
    /// AWS's reason is the cause, `likely` as the configuration did not confirm it.
    fn unused(
        &self,
        r: &TargetHealthRecord,
        lb: &Lb<'_>,
        g: &Group<'_>,
        label: &str,
        explained: bool,
    ) -> HealthFinding {
        let words = reason_words(r, self.port, self.hc_port, None, None);
        let msg = format!("{label} is unused: {words}");
        let evidence = vec![record_text(r, g)];
        let ex = Explained::default();
        if explained {
            let ex = ex.check(check(CloudCheck::TargetHealth, CheckStatus::Warn, msg).with_evidence(evidence));
            return HealthFinding::said(ex, false);
        }
        let (code, fix) = match r.reason {
            Some(R::NotInUse) => (CauseCode::TargetAzNotEnabled, zone_fix(lb, self.zone.unwrap_or("its zone"))),
            _ => (CauseCode::TargetUnhealthy, health_fix(lb, g)),
        };
        let c = Cause::blocking(code, self.t.id, Confidence::Likely, msg.clone())
            .with_evidence(evidence.clone())
            .with_fix(fix);
        let ex = ex.check(check(CloudCheck::TargetHealth, CheckStatus::Fail, msg).with_evidence(evidence)).cause(c);
        HealthFinding::said(ex, false)
    }

    /// A target failing its health checks, weighed against its legs' causes and the group's
    /// state (`UnhealthyVerdict`); it serves only through a group failing open.
    fn unhealthy(
        &self,
        r: &TargetHealthRecord,
        lb: &Lb<'_>,
        g: &Group<'_>,
        label: &str,
        leg_causes: &[CauseCode],
        ask: &HealthAsk,
    ) -> HealthFinding {
        let dead = says_dead(r, ask.same_leg);
        let why = match r.reason {
            Some(R::FailedHealthChecks) if dead => Some(Why::Refused),
            _ if dead => Some(Why::Drop),
            _ => None,
        };
        let verdict = UnhealthyVerdict::decide(leg_causes, ask.fail_open, dead, g.failover.is_some());
        let hc = g.health_check();
        let path = hc.and_then(|h| h.path.as_deref());
        let words = reason_words(r, self.port, self.hc_port, path, hc.and_then(|h| h.matcher.as_deref()));
        let (n_bad, n) = ask.share;
        let pct = (100 * n_bad).checked_div(n).unwrap_or(0);
        let msg = format!(
            "{label} is unhealthy ({}): {words} [{n_bad} of {n} targets of {}, {pct}%]{}",
            r.reason.as_ref().map_or("-", |x| x.as_str()),
            g.name(),
            verdict.words(self.hc_port)
        );
        let blocking = verdict.blocking();
        let status = if blocking { CheckStatus::Fail } else { CheckStatus::Warn };
        let evidence = vec![record_text(r, g)];
        let mut c = Cause::blocking(CauseCode::TargetUnhealthy, self.t.id, verdict.confidence(), msg.clone())
            .with_evidence(evidence.clone())
            .with_fix(health_fix(lb, g));
        c.blocking = blocking;
        let ex =
            Explained::default().check(check(CloudCheck::TargetHealth, status, msg).with_evidence(evidence)).cause(c);
        HealthFinding { why, ..HealthFinding::said(ex, ask.fail_open && !dead) }
    }

    /// The target's hop: where it is, and its health.
    fn hop_detail(&self, h: &Health<'_>) -> String {
        match &self.place {
            Place::At { ip, eni, .. } => {
                format!("{ip} ({}, {}); {}", eni.id, self.zone.unwrap_or("?"), target_state_text(h))
            }
            Place::Unplaced(_) => target_state_text(h),
        }
    }
}

fn target_state_text(h: &Health<'_>) -> String {
    match h {
        Health::Healthy => "healthy".into(),
        Health::Unchecked => "health checks off".into(),
        Health::Unknown => "health unknown".into(),
        Health::Unhealthy(r) | Health::Transient(r) | Health::Unused(r) => match &r.reason {
            Some(x) => format!("{} ({x})", r.state),
            None => r.state.to_string(),
        },
    }
}

fn record_text(r: &TargetHealthRecord, g: &Group<'_>) -> String {
    let file = if matches!(g.def, GroupDef::Classic { .. }) { "InstanceStates" } else { "LoadBalancerTargetHealth" };
    format!(
        "{}: State {}, Reason {}, Description {} ({file}: {})",
        r.id,
        r.state,
        r.reason.as_ref().map_or("-", |x| x.as_str()),
        r.description.as_deref().map_or_else(|| "-".to_string(), |d| format!("'{d}'")),
        g.name()
    )
}
