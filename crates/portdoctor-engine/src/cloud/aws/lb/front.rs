//! The client's side of a load balancer: which balancer, its state and scheme, the listener on
//! the asked port and what its actions do, each enabled subnet (a route to the internet gateway,
//! its network ACL both ways) and the balancer's own security groups inbound.

use super::super::Resolved;
use super::super::acl::{self, AclFinding};
use super::super::index::AwsIndex;
use super::super::route::{self, RouteFinding};
use super::super::sg::{self, SgFinding};
use super::{
    Balancer, CrossZone, Failover, Group, GroupDef, Lb, Listen, Listening, Lookup, Route, TargetRec, Threshold,
    carries, forwards,
};
use crate::cloud::CloudQuery;
use crate::cloud::aws::edge::confirmed;
use crate::cloud::path::{Explained, Finding, Flow, PathHop, check, unknown_check};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::elb::{
    CLASSIC_CROSS_ZONE, ClassicLb, LbAction, LbActionType, LbIpAddressType, LbProtocol, LbScheme, LbState, LbType,
    Listener, LoadBalancer, TargetType,
};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::Family;
use portdoctor_model::{CauseCode, CheckStatus, Missing};

// ---- decisions ----

/// The listener of an elbv2 balancer that carries the flow, and the groups its actions pick.
pub(super) fn listener_v2<'a>(
    idx: &AwsIndex<'a>,
    q: &CloudQuery,
    b: &Balancer<'a>,
    lb: &'a LoadBalancer,
) -> Listening<'a> {
    let elb = &idx.ev.elb;
    let Some(all) = elb.listeners.known() else { return Listening::Unknown(elb.listeners.missing()) };
    let mine: Vec<&Listener> = all.iter().filter(|l| l.lb_arn == lb.arn).collect();
    // A Gateway Load Balancer's listener has no port: it takes them all.
    let found = mine.iter().find(|l| l.port.is_none_or(|p| p == q.port) && carries(l.protocol.as_ref(), q.proto));
    let Some(l) = found else {
        return Listening::None { others: mine.iter().map(|l| listener_text(l.protocol.as_ref(), l.port)).collect() };
    };
    let mut routes: Vec<Route<'a>> =
        terminal(&l.default_actions).map(|action| Route { rule: None, action }).into_iter().collect();
    let rules_missing = if b.kind == LbType::Application { elb.rules.missing() } else { None };
    let mut rules: Vec<_> =
        elb.rules.known().into_iter().flatten().filter(|r| r.listener_arn == l.arn && !r.is_default).collect();
    rules.sort_by_key(|r| r.priority.parse::<u32>().unwrap_or(u32::MAX));
    routes.extend(rules.into_iter().filter_map(|r| terminal(&r.actions).map(|action| Route { rule: Some(r), action })));
    let mut groups: Vec<Group<'a>> = Vec::new();
    for route in &routes {
        for arn in forwards(route.action) {
            match groups.iter_mut().find(|g| g.arn == arn) {
                Some(g) => g.by_default |= route.rule.is_none(),
                None => groups.push(group_v2(idx, b, arn, route.rule.is_none())),
            }
        }
    }
    let protocol = l.protocol.clone().unwrap_or(LbProtocol::Geneve);
    Listening::Found(Box::new(Listen { id: l.arn.clone(), protocol, routes, rules_missing, groups }))
}

/// The action that decides (authentication actions come before it).
fn terminal(actions: &[LbAction]) -> Option<&LbAction> {
    let auth = |a: &&LbAction| matches!(a.kind, LbActionType::AuthenticateOidc | LbActionType::AuthenticateCognito);
    actions.iter().filter(|a| !auth(a)).max_by_key(|a| a.order.unwrap_or(i64::MAX))
}

fn listener_text(protocol: Option<&LbProtocol>, port: Option<u16>) -> String {
    let port = port.map_or_else(|| "all ports".to_string(), |p| p.to_string());
    format!("{}:{port}", protocol.map_or("?", LbProtocol::as_str))
}

/// An attribute's `true`/`false`, or `None` when absent or another word.
fn flag(value: Option<&str>) -> Option<bool> {
    match value {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

fn group_v2<'a>(idx: &AwsIndex<'a>, b: &Balancer<'a>, arn: &'a str, by_default: bool) -> Group<'a> {
    let elb = &idx.ev.elb;
    let def = match elb.target_groups.known() {
        Some(tgs) => tgs.iter().find(|t| t.arn == arn).map_or(GroupDef::NotListed(None), GroupDef::Listed),
        None => GroupDef::NotListed(elb.target_groups.missing()),
    };
    let targets = match elb.target_health.known() {
        Some(h) => h
            .iter()
            .find(|h| h.tg_arn == arn)
            .map(|h| {
                h.targets
                    .iter()
                    .map(|r| TargetRec { id: &r.id, port: r.port, zone: r.zone.as_deref(), health: Some(r) })
                    .collect()
            })
            .ok_or(None),
        None => Err(elb.target_health.missing()),
    };
    let tg_attr =
        |k: &str| elb.tg_attributes.known().into_iter().flatten().find(|a| a.arn == arn).and_then(|a| a.get(k));
    let lb_attr =
        |k: &str| elb.lb_attributes.known().into_iter().flatten().find(|a| a.arn == b.r.id()).and_then(|a| a.get(k));
    let tg = match &def {
        GroupDef::Listed(tg) => Some(*tg),
        _ => None,
    };
    // Client IP preservation (NLB User Guide, "Client IP preservation"): on by default for
    // instance targets and for UDP/TCP_UDP, off for TCP/TLS to IP targets; ALBs never preserve.
    let preserve_default = b.kind == LbType::Network
        && tg.is_some_and(|t| {
            t.target_type == TargetType::Instance || t.protocol.as_ref().is_some_and(LbProtocol::carries_udp)
        });
    let preserve_client_ip =
        b.kind == LbType::Network && flag(tg_attr("preserve_client_ip.enabled")).unwrap_or(preserve_default);
    // Cross-zone: always on for an ALB unless its target group turns it off; off by default for
    // an NLB (its attribute), and a target group may override either way.
    let cross_zone = flag(tg_attr("load_balancing.cross_zone.enabled"))
        .or(flag(lb_attr("load_balancing.cross_zone.enabled")))
        .unwrap_or(b.kind == LbType::Application);
    let cross_zone = if cross_zone { CrossZone::On } else { CrossZone::Off };
    // Target group health (its attributes; AWS's defaults when absent): a zone leaves DNS below
    // 1 healthy target, a node fails open below 1; percentages off.
    let threshold = |action: &str, default_count: Option<u32>| {
        let key = |unit: &str| format!("target_group_health.{action}.minimum_healthy_targets.{unit}");
        let number = |v: Option<&str>, default: Option<u32>| match v {
            Some("off") => None,
            Some(n) => n.parse().ok().or(default),
            None => default,
        };
        Threshold {
            count: number(tg_attr(&key("count")), default_count),
            percent: number(tg_attr(&key("percentage")), None),
        }
    };
    let failover = Some(Failover {
        dns: threshold("dns_failover", Some(1)),
        routing: threshold("unhealthy_state_routing", Some(1)),
    });
    Group { arn, def, by_default, targets, preserve_client_ip, cross_zone, failover }
}

/// A Classic balancer's listener on the port; its "group" is its registered instances.
pub(super) fn listener_classic<'a>(idx: &AwsIndex<'a>, q: &CloudQuery, c: &'a ClassicLb) -> Listening<'a> {
    let found = c.listeners.iter().find(|l| l.lb_port == q.port && carries(Some(&l.protocol), q.proto));
    let Some(l) = found else {
        return Listening::None {
            others: c.listeners.iter().map(|l| listener_text(Some(&l.protocol), Some(l.lb_port))).collect(),
        };
    };
    let states = idx.ev.elb.classic_health.known().into_iter().flatten().find(|s| s.lb_name == c.name);
    // Every registered instance, with its state where describe-instance-health gave one (an
    // instance it leaves out is health unknown, not dropped), then any state for an instance
    // the balancer's listing lacks.
    let record = |id: &str| states.and_then(|s| s.instances.iter().find(|r| r.id == id));
    let unlisted = states.into_iter().flat_map(|s| &s.instances).filter(|r| !c.instances.contains(&r.id));
    let targets = c
        .instances
        .iter()
        .map(|i| TargetRec { id: i, port: None, zone: None, health: record(i) })
        .chain(unlisted.map(|r| TargetRec { id: &r.id, port: None, zone: None, health: Some(r) }))
        .collect();
    let group = Group {
        arn: &c.name,
        def: GroupDef::Classic { port: l.instance_port, protocol: &l.instance_protocol, health: &c.health_check },
        by_default: true,
        targets: Ok(targets),
        preserve_client_ip: false,
        cross_zone: classic_cross_zone(idx, c),
        failover: None,
    };
    Listening::Found(Box::new(Listen {
        id: format!("{}:{}", c.name, l.lb_port),
        protocol: l.protocol.clone(),
        routes: Vec::new(),
        rules_missing: None,
        groups: vec![group],
    }))
}

/// A Classic balancer's `CrossZoneLoadBalancing` (off by default for one created by the API or
/// CLI, on from the console: so never assumed).
fn classic_cross_zone<'a>(idx: &AwsIndex<'a>, c: &ClassicLb) -> CrossZone<'a> {
    let attrs = &idx.ev.elb.classic_attributes;
    let Some(all) = attrs.known() else { return CrossZone::Unknown(attrs.missing()) };
    match flag(all.iter().find(|a| a.arn == c.name).and_then(|a| a.get(CLASSIC_CROSS_ZONE))) {
        Some(true) => CrossZone::On,
        Some(false) => CrossZone::Off,
        None => CrossZone::Unknown(None),
    }
}

// ---- the edge: which balancer ----

pub(super) struct Edge<'a> {
    pub asked: &'a str,
    pub lookup: &'a Lookup<'a>,
}

impl Finding for Edge<'_> {
    fn explain(&self, _flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::Target;
        let ex = Explained::default();
        let asked = portdoctor_model::fix::escape_unsafe(self.asked);
        match self.lookup {
            Lookup::Unknown(missing) => ex
                .check(
                    unknown_check(id, "which load balancer is meant", missing.first().copied())
                        .with_evidence(missing.iter().skip(1).map(|m| m.describe())),
                )
                .hop(CloudHop::LoadBalancer, Component::Unknown, CheckStatus::Unknown, "load balancers unknown"),
            Lookup::NotFound { known } => {
                let names = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.iter().take(20).copied().collect::<Vec<_>>().join(", ")
                };
                ex.check(
                    check(id, CheckStatus::Unknown, format!("No load balancer named {asked} in the evidence"))
                        .with_evidence([format!(
                            "no name, ARN or DNS name matches (LoadBalancers, LoadBalancerDescriptions); load balancers: {names}"
                        )]),
                )
                .hop(CloudHop::LoadBalancer, Component::None, CheckStatus::Unknown, "no such load balancer")
            }
            Lookup::Found(lb) => {
                let r = lb.b.r;
                ex.check(
                    check(id, CheckStatus::Pass, format!("{asked} is the {} load balancer {}", lb.b.kind, r.name()))
                        .with_evidence([format!("{} {} (DNS {})", r.name(), r.id(), r.dns_name())]),
                )
            }
        }
    }
}

// ---- the balancer: state and scheme ----

pub(super) struct BalancerFinding<'a> {
    pub lb: &'a Lb<'a>,
}

impl Finding for BalancerFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        let b = &self.lb.b;
        let (name, id) = (b.r.name(), b.r.id());
        let file = if b.kind == LbType::Classic { "LoadBalancerDescriptions" } else { "LoadBalancers" };
        let mut ex = Explained::default();
        let mut failed: Vec<String> = Vec::new();
        let mut warned: Vec<String> = Vec::new();
        if let Some((state, reason)) = b.state {
            let reason_text = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            match state {
                LbState::Active => {}
                LbState::ActiveImpaired => {
                    warned.push(format!("{name} is active_impaired{reason_text}: it cannot scale"))
                }
                other => {
                    let msg = format!("{name} is {other}{reason_text}: it does not take connections");
                    let evidence = vec![format!("{id} State.Code = {other} ({file})")];
                    ex = ex.cause(confirmed(
                        CauseCode::LbNotActive,
                        name,
                        msg.clone(),
                        evidence,
                        not_active_fix(id, state),
                    ));
                    failed.push(msg);
                }
            }
        }
        if *b.scheme == LbScheme::Internal {
            let msg = format!("{name} is internal: it has only private addresses, so no internet path exists to it");
            let evidence = vec![format!("{id} Scheme = internal ({file})")];
            ex = ex.cause(confirmed(CauseCode::LbSchemeInternal, name, msg.clone(), evidence, internal_fix(b)));
            failed.push(msg);
        }
        // The family asked about: an IPv4-only balancer (and every Classic one) has no IPv6
        // address; `dualstack-without-public-ipv4` has no public IPv4 (NO_PUBLIC_IP, as for an
        // instance).
        let v6 = flow.family() == Family::V6;
        let family_missing = match b.ip_type {
            None => v6,
            Some(LbIpAddressType::Ipv4) => v6,
            Some(LbIpAddressType::DualstackWithoutPublicIpv4) => !v6 && *b.scheme != LbScheme::Internal,
            Some(_) => false,
        };
        if family_missing {
            let what = if v6 { "IPv6 address" } else { "public IPv4 address" };
            let ip_type = b.ip_type.map_or("ipv4 (Classic has no IPv6 in a VPC)", LbIpAddressType::as_str);
            let msg = format!(
                "{name} has no {what}: its DNS name gives clients of {} nothing to connect to",
                flow.family().name()
            );
            let evidence = vec![format!("{id} IpAddressType = {ip_type} ({file})")];
            ex = ex.cause(confirmed(CauseCode::NoPublicIp, name, msg.clone(), evidence, ip_type_fix(b, v6)));
            failed.push(msg);
        }
        let (status, summary) = match (failed.is_empty(), warned.is_empty()) {
            (false, _) => (CheckStatus::Fail, failed.join("; ")),
            (true, false) => (CheckStatus::Warn, warned.join("; ")),
            (true, true) => (
                CheckStatus::Pass,
                format!(
                    "{name} ({}, {}) is {}",
                    b.kind,
                    b.scheme,
                    b.state.map_or("in service (Classic reports no state)".to_string(), |(s, _)| s.to_string())
                ),
            ),
        };
        let zones: Vec<String> = b.zones.iter().map(|z| format!("{} ({})", z.subnet, z.zone.unwrap_or("?"))).collect();
        ex.check(check(CloudCheck::LoadBalancer, status, summary.clone()).with_evidence([format!(
            "{id}: type {}, scheme {}, subnets {} ({file})",
            b.kind,
            b.scheme,
            zones.join(", ")
        )]))
        .hop(CloudHop::LoadBalancer, Component::one(name), status, summary)
    }
}

fn not_active_fix(arn: &str, state: &LbState) -> Vec<Fix> {
    match state {
        LbState::Provisioning => vec![
            Fix::text("Wait until it is active: ")
                .then_run(ShellCommand::new("aws elbv2 wait load-balancer-available --load-balancer-arns").arg(arn)),
        ],
        _ => vec![
            Fix::text("Read the state's reason, then recreate the load balancer if it failed: ")
                .then_run(ShellCommand::new("aws elbv2 describe-load-balancers --load-balancer-arns").arg(arn)),
        ],
    }
}

fn ip_type_fix(b: &Balancer<'_>, v6: bool) -> Vec<Fix> {
    if b.kind == LbType::Classic {
        return vec![Fix::text(
            "A Classic load balancer has no IPv6 in a VPC: move to an Application or Network Load Balancer",
        )];
    }
    let kind = if v6 { "dualstack" } else { "ipv4" };
    let note = if v6 { "Give its subnets IPv6 CIDRs, then: " } else { "Give it public IPv4 addresses: " };
    vec![
        Fix::text(note).then_run(
            ShellCommand::new("aws elbv2 set-ip-address-type --load-balancer-arn")
                .arg(b.r.id())
                .lit("--ip-address-type")
                .lit(kind),
        ),
    ]
}

fn internal_fix(b: &Balancer<'_>) -> Vec<Fix> {
    let name = b.r.name();
    let create = if b.kind == LbType::Classic {
        ShellCommand::new("aws elb create-load-balancer --load-balancer-name")
            .arg(format!("{name}-public"))
            .lit("--scheme internet-facing --subnets <public subnet-…> --listeners <…>")
    } else {
        ShellCommand::new("aws elbv2 create-load-balancer --name")
            .arg(format!("{name}-public"))
            .lit("--type")
            .arg(&b.kind)
            .lit("--scheme internet-facing --subnets <public subnet-…>")
    };
    vec![
        Fix::text("A scheme cannot be changed: create an internet-facing load balancer in public subnets, then move the listeners and targets to it: ")
            .then_run(create),
    ]
}

// ---- the listener ----

pub(super) struct ListenerFinding<'a> {
    pub lb: &'a Lb<'a>,
}

/// An action in words.
fn action_text(a: &LbAction, names: &dyn Fn(&str) -> String) -> String {
    match a.kind {
        LbActionType::Forward => {
            let groups: Vec<String> = a
                .target_groups
                .iter()
                .map(|t| match t.weight {
                    Some(w) if a.target_groups.len() > 1 => format!("{} (weight {w})", names(&t.arn)),
                    _ => names(&t.arn),
                })
                .collect();
            format!("forward to {}", groups.join(", "))
        }
        LbActionType::FixedResponse => format!("fixed-response {}", a.fixed_status.as_deref().unwrap_or("?")),
        LbActionType::Redirect => format!("redirect to {}", a.redirect.as_deref().unwrap_or("?")),
        ref other => other.to_string(),
    }
}

impl Finding for ListenerFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::LbListener;
        let b = &self.lb.b;
        let name = b.r.name();
        let ex = Explained::default();
        let l = match &self.lb.listener {
            Listening::Unknown(m) => {
                return ex.check(unknown_check(id, "the load balancer's listeners", *m)).hop(
                    CloudHop::LbListener,
                    Component::Unknown,
                    CheckStatus::Unknown,
                    "listeners unknown",
                );
            }
            Listening::None { others } => {
                let list = if others.is_empty() { "none".to_string() } else { others.join(", ") };
                let msg = format!("{name} has no listener for {} (its listeners: {list})", flow.text());
                let file = if b.kind == LbType::Classic { "LoadBalancerDescriptions" } else { "LoadBalancerListeners" };
                let evidence = vec![format!("{} listeners: {list} ({file})", b.r.id())];
                return ex
                    .check(check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()))
                    .hop(CloudHop::LbListener, Component::None, CheckStatus::Fail, msg.clone())
                    .cause(confirmed(CauseCode::LbNoListener, name, msg, evidence, listener_fix(b, flow)));
            }
            Listening::Found(l) => l,
        };
        let group_name = |arn: &str| {
            l.groups
                .iter()
                .find(|g| g.arn == arn)
                .map_or_else(|| arn.rsplit('/').nth(1).unwrap_or(arn).to_string(), |g| g.name().to_string())
        };
        let mut evidence: Vec<String> = l
            .routes
            .iter()
            .map(|r| match r.rule {
                None => format!("{} default action: {}", l.id, action_text(r.action, &group_name)),
                Some(rule) => format!(
                    "rule {} ({}): {}",
                    rule.priority,
                    rule.conditions.join(" and "),
                    action_text(r.action, &group_name)
                ),
            })
            .collect();
        if let Some(m) = l.rules_missing {
            evidence.push(m.describe());
        }
        if let GroupDef::Classic { port, protocol, .. } =
            l.groups.first().map(|g| &g.def).unwrap_or(&GroupDef::NotListed(None))
        {
            evidence
                .push(format!("{} forwards to its instances on {protocol}:{port} (LoadBalancerDescriptions)", l.id));
        }
        let head = format!("{name} listens on {}:{}", l.protocol, flow.port());
        let (status, summary) = if l.groups.is_empty() {
            // Fixed responses and redirects are configured answers, not a block (FACTS.md).
            let answers: Vec<String> = l.routes.iter().map(|r| action_text(r.action, &group_name)).collect();
            (
                CheckStatus::Warn,
                format!(
                    "{head} and answers itself ({}): no target is reached; that is configured, not a block",
                    answers.join("; ")
                ),
            )
        } else {
            let groups: Vec<&str> = l.groups.iter().map(Group::name).collect();
            (CheckStatus::Pass, format!("{head} and forwards to {}", groups.join(", ")))
        };
        let detail = if b.answers_http(&l.protocol) {
            format!("{summary} (the client's handshake completes at the load balancer)")
        } else {
            summary.clone()
        };
        ex.check(check(id, status, summary).with_evidence(evidence)).hop(
            CloudHop::LbListener,
            Component::one(&l.id),
            status,
            detail,
        )
    }
}

fn listener_fix(b: &Balancer<'_>, flow: &Flow<'_>) -> Vec<Fix> {
    let port = flow.port();
    if b.kind == LbType::Classic {
        let proto = if flow.proto() == portdoctor_model::net::Proto::Udp { "UDP" } else { "TCP" };
        return vec![Fix::run(
            ShellCommand::new("aws elb create-load-balancer-listeners --load-balancer-name")
                .arg(b.r.name())
                .lit("--listeners")
                .arg(format!("Protocol={proto},LoadBalancerPort={port},InstanceProtocol={proto},InstancePort={port}")),
        )];
    }
    let proto = match (&b.kind, flow.proto()) {
        (LbType::Application, _) => "HTTP",
        (_, portdoctor_model::net::Proto::Udp) => "UDP",
        _ => "TCP",
    };
    vec![Fix::run(
        ShellCommand::new("aws elbv2 create-listener --load-balancer-arn")
            .arg(b.r.id())
            .lit("--protocol")
            .arg(proto)
            .lit("--port")
            .arg(port)
            .lit("--default-actions Type=forward,TargetGroupArn=<target-group-arn>"),
    )]
}

// ---- each enabled subnet: public, and its network ACL for the clients ----

pub(super) struct SubnetsFinding<'a> {
    lb: &'a Lb<'a>,
    internal: bool,
    /// One per node, in the balancer's zone order.
    routes: Vec<RouteFinding<'a>>,
    /// Inbound and replies, once per distinct network ACL.
    acls: Vec<(AclFinding<'a>, AclFinding<'a>)>,
}

pub(super) fn subnets<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, lb: &'a Lb<'a>) -> SubnetsFinding<'a> {
    let internal = *lb.b.scheme == LbScheme::Internal;
    let (mut routes, mut acls) = (Vec::new(), Vec::new());
    let mut seen: Vec<Option<&str>> = Vec::new();
    if !internal {
        for n in &lb.nodes {
            let at = Resolved { eni: n, private: flow.family().unspecified(), public: None };
            routes.push(route::route_table(idx, flow, &at));
            let acl = idx.acl_for(&n.subnet_id, &n.vpc_id).map(|a| a.id.as_str());
            if !seen.contains(&acl) {
                seen.push(acl);
                acls.push((acl::inbound(idx, flow, &at), acl::outbound(idx, flow, &at)));
            }
        }
    }
    SubnetsFinding { lb, internal, routes, acls }
}

/// A reused finding's words made the load balancer's: its checks renamed to `id` (when given)
/// and prefixed, its causes recoded and prefixed, only the hops `keep` says.
pub(super) fn adopt(
    mut e: Explained,
    id: Option<CloudCheck>,
    prefix: &str,
    code: impl Fn(CauseCode) -> CauseCode,
    keep: impl Fn(&PathHop) -> bool,
) -> Explained {
    for c in &mut e.checks {
        if let Some(id) = id {
            c.id = id.as_str().to_string();
        }
        if !prefix.is_empty() {
            c.summary = format!("{prefix}{}", c.summary);
        }
    }
    for c in &mut e.causes {
        c.code = code(c.code);
        if !prefix.is_empty() {
            c.message = format!("{prefix}{}", c.message);
        }
    }
    e.hops.retain(|h| keep(h));
    e
}

/// Joins `more` into `ex`, in order.
pub(super) fn join(mut ex: Explained, more: Explained) -> Explained {
    ex.checks.extend(more.checks);
    ex.hops.extend(more.hops);
    ex.causes.extend(more.causes);
    ex
}

impl Finding for SubnetsFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        let name = self.lb.b.r.name();
        let mut ex = Explained::default();
        if self.internal {
            return ex.check(check(
                CloudCheck::LbSubnet,
                CheckStatus::Skipped,
                format!("{name} is internal: its subnets need no route to the internet"),
            ));
        }
        for (r, z) in self.routes.iter().zip(&self.lb.b.zones) {
            let prefix = format!("{name} node in {} ({}): ", z.subnet, z.zone.unwrap_or("?"));
            let e = adopt(
                r.explain(flow),
                Some(CloudCheck::LbSubnet),
                &prefix,
                |c| match c {
                    CauseCode::RouteToIgwMissing | CauseCode::RouteBlackhole => CauseCode::LbSubnetNotPublic,
                    c => c,
                },
                |h| h.hop == CloudHop::RouteTable && h.status != CheckStatus::Pass,
            );
            ex = join(ex, e);
        }
        for (inbound, outbound) in &self.acls {
            ex = join(ex, inbound.explain(flow));
            ex = join(ex, outbound.explain(flow));
        }
        ex
    }
}

// ---- the balancer's own security groups, inbound ----

pub(super) enum LbSgFinding<'a> {
    /// An NLB created without security groups (it can never get any) filters nothing.
    NoGroups(&'a Lb<'a>),
    Judged(SgFinding<'a>),
}

pub(super) fn security_groups<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, lb: &'a Lb<'a>) -> LbSgFinding<'a> {
    match lb.nodes.first() {
        Some(n) if !lb.b.groups.is_empty() => {
            let at = Resolved { eni: n, private: flow.family().unspecified(), public: None };
            LbSgFinding::Judged(sg::security_groups(idx, flow, &at))
        }
        _ => LbSgFinding::NoGroups(lb),
    }
}

impl Finding for LbSgFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        match self {
            LbSgFinding::Judged(f) => f.explain(flow),
            LbSgFinding::NoGroups(lb) => {
                let name = lb.b.r.name();
                let summary = if lb.b.kind == LbType::Network {
                    format!(
                        "{name} has no security groups: it filters no client (an NLB created without them can never get any)"
                    )
                } else {
                    format!("{name} has no security groups in the evidence")
                };
                let status = if lb.b.kind == LbType::Network { CheckStatus::Skipped } else { CheckStatus::Unknown };
                Explained::default().check(check(CloudCheck::SecurityGroup, status, summary.clone())).hop(
                    CloudHop::SecurityGroup,
                    Component::None,
                    CheckStatus::Pass,
                    summary,
                )
            }
        }
    }
}

/// Why an unknown: for the words of other modules.
pub(super) fn missing_text(m: Option<&Missing>, what: &str) -> String {
    m.map_or_else(|| format!("{what} not in the evidence"), Missing::describe)
}
