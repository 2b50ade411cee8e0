//! The kernel's routing view of a flow: reverse-path filtering of the inbound packet and the
//! interface the reply leaves by.
//!
//! rp_filter (ip-sysctl.rst): 0 off, 1 strict — the route back to the source must leave by the
//! interface the packet came in on — 2 loose — some route back must exist; the effective value
//! is the max of `all` and the interface. The lookup is the kernel's fib_validate_source: the
//! destination is the client, the source is the local address, so policy rules `from <local
//! address>` apply — which is how a second interface is made to answer by itself.

use crate::routing::{Lookup, lookup, route_text, rule_text};
use portdoctor_model::addrset::{AddrSet, clients, describe_part};
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::host::{HostEvidence, PolicyRule, Route};
use portdoctor_model::host_path::HostCheck;
use portdoctor_model::net::{Cidr, Family, Source};
use portdoctor_model::{Cause, CauseCode, Check, CheckStatus, Confidence, EvidenceSource, Fact, Knowledge};
use std::net::IpAddr;

fn check(status: CheckStatus, summary: impl Into<String>) -> Check {
    crate::host_query::host_check(HostCheck::RpFilter.as_str(), status, summary)
}

/// One part of the clients' route back, and what the kernel makes of it.
struct Way<'a> {
    part: &'a AddrSet,
    /// The interface replies leave by, when it is not the one the traffic came in on.
    elsewhere: Option<String>,
    /// Reverse-path filtering drops what this part sends.
    dropped: bool,
}

/// At most this many parts of the clients are looked up one by one (a host with a full BGP
/// table has hundreds of thousands of routes; the first ones, most specific first, are judged
/// and the evidence says so).
const MAX_PARTS: usize = 64;

/// Client addresses to look the route back up for, each with the part of the clients (the
/// internet, or `--from`) it stands for: one for each part that a more specific route covers,
/// and one for the rest — a route toward part of the clients through another interface is
/// exactly where reverse-path filtering drops what arrives on this one.
fn representatives(
    from: &Source,
    family: Family,
    routes: &[Route],
    routes_from: &EvidenceSource,
    evidence: &mut Vec<String>,
) -> Vec<(IpAddr, AddrSet)> {
    let whole = clients(from, family);
    let mut specific: Vec<Cidr> = routes
        .iter()
        .filter(|r| r.dst.family() == family && r.dst.prefix() > 0)
        .map(|r| r.dst)
        .filter(|c| !AddrSet::from_cidr(c).intersect(&whole).is_empty())
        .collect();
    // Most specific first: each part is what its route covers and no more specific one does.
    specific.sort_by_key(|c| (std::cmp::Reverse(c.prefix()), c.to_string()));
    specific.dedup();
    if specific.len() > MAX_PARTS {
        evidence.push(format!(
            "{} routes cover parts of the clients: the {MAX_PARTS} most specific are looked up one by one, the others with the rest ({routes_from})",
            specific.len()
        ));
        specific.truncate(MAX_PARTS);
    }
    let first = |s: &AddrSet| s.to_cidrs(1).0.first().map(Cidr::addr);
    let mut covered = AddrSet::empty(family);
    let mut out = Vec::new();
    for c in specific {
        let cidr = AddrSet::from_cidr(&c);
        let part = cidr.intersect(&whole).minus(&covered);
        covered = covered.union(&cidr);
        if let Some(a) = first(&part) {
            out.push((a, part));
        }
    }
    let rest = whole.minus(&covered);
    if let Some(a) = first(&rest) {
        out.insert(0, (a, rest));
    }
    out
}

/// The clients asked about, and how to name a part of them.
struct Asked {
    /// All of them in words: `the internet`, or the `--from` prefix.
    who: String,
    whole: AddrSet,
    internet: bool,
}

impl Asked {
    fn new(from: &Source, family: Family) -> Asked {
        let who = match from {
            Source::Internet => "the internet".to_string(),
            Source::Prefix(c) => c.to_string(),
        };
        Asked { who, whole: clients(from, family), internet: matches!(from, Source::Internet) }
    }

    /// `part` in words: as asked when it is all of them (`all`), else relative to the whole.
    fn name(&self, part: &AddrSet, all: bool) -> String {
        if all { self.who.clone() } else { describe_part(part, &self.whole, self.internet) }
    }
}

/// The effective reverse-path filter of an interface: the max of `all` and the interface's own.
struct RpFilter {
    all: u8,
    dev: u8,
}

impl RpFilter {
    fn read(sysctl: &std::collections::BTreeMap<String, String>, ingress: &str) -> RpFilter {
        let rp = |key: &str| sysctl.get(&format!("net.ipv4.conf.{key}.rp_filter")).and_then(|v| v.parse::<u8>().ok());
        RpFilter { all: rp("all").unwrap_or(0), dev: rp(ingress).unwrap_or(0) }
    }

    /// 0 off, 1 strict, 2 loose.
    fn mode(&self) -> u8 {
        self.all.max(self.dev)
    }

    fn evidence(&self, ingress: &str, from: &EvidenceSource) -> String {
        let mode = ["off", "strict", "loose"].get(usize::from(self.mode())).copied().unwrap_or("strict");
        format!("rp_filter: all={}, {ingress}={} → {mode} ({from})", self.all, self.dev)
    }
}

pub fn kernel_path(
    ev: &HostEvidence,
    from: &Source,
    local: Option<IpAddr>,
    ingress: Option<&str>,
) -> (Check, Vec<Cause>) {
    let (Some(local), Some(ingress)) = (local, ingress) else {
        return (check(CheckStatus::Unknown, "The arrival address or interface is unknown"), vec![]);
    };
    if local.is_ipv6() {
        return (check(CheckStatus::Pass, "rp_filter applies to IPv4 only"), vec![]);
    }
    if local.is_loopback() {
        return (check(CheckStatus::Pass, "Loopback traffic never leaves the host"), vec![]);
    }
    let (Knowledge::Known(routes), Knowledge::Known(sysctl)) = (&ev.routes.fact, &ev.sysctl.fact) else {
        let m = ev.routes.missing().or(ev.sysctl.missing()).map(|m| m.describe()).unwrap_or_default();
        return (check(CheckStatus::Unknown, "Could not read routes or rp_filter settings").with_evidence([m]), vec![]);
    };
    let rules: &[PolicyRule] = ev.rules.known().map(Vec::as_slice).unwrap_or_default();
    let rp = RpFilter::read(sysctl, ingress);
    let mut evidence = vec![rp.evidence(ingress, &ev.sysctl.from)];
    if ev.rules.known().is_none() {
        evidence.push(rules_not_read(&ev.rules));
    }
    let reps = representatives(from, Family::V4, routes, &ev.routes.from, &mut evidence);
    if reps.is_empty() {
        return (check(CheckStatus::Unknown, "No client address to look up"), vec![]);
    }
    let asked = Asked::new(from, Family::V4);
    let mut ways: Vec<Way<'_>> = Vec::new();
    for (client, part) in &reps {
        let found = match lookup(routes, rules, *client, local, "lo") {
            Ok(l) => l,
            Err(why) => {
                return (
                    check(CheckStatus::Unknown, "A policy rule decides the route back, and it is not modeled")
                        .with_evidence([why]),
                    vec![],
                );
            }
        };
        let whom = asked.name(part, reps.len() == 1);
        evidence.push(route_back_text(&found, local, &whom, (&ev.routes.from, &ev.rules.from)));
        ways.push(way_back(&found, part, ingress, rp.mode()));
    }
    let fail = |code, component, confidence, message: String, fixes: Vec<Fix>| {
        let cause = Cause::blocking(code, component, confidence, message.clone())
            .with_evidence(evidence.clone())
            .with_fix(fixes);
        (check(CheckStatus::Fail, message).with_evidence(evidence.clone()), vec![cause])
    };
    if let Some((whom, devs)) = gather(&ways, |w| w.dropped, &asked) {
        let msg = format!(
            "Reverse-path filtering ({}) drops traffic from {whom} arriving on {ingress}: {}",
            if rp.mode() == 1 { "strict" } else { "loose" },
            if devs.is_empty() {
                "there is no usable route back".to_string()
            } else {
                format!("the route back leaves by {devs}")
            },
        );
        return fail(
            CauseCode::RpFilterDrop,
            format!("rp_filter {ingress}"),
            Confidence::Confirmed,
            msg,
            reply_route_fixes(local, ingress),
        );
    }
    if let Some((whom, devs)) = gather(&ways, |w| w.elsewhere.is_some(), &asked) {
        let msg = format!(
            "Replies to {whom} from {local} leave by {devs}, not {ingress} where the traffic arrives: a cloud network (AWS source/destination check) or a stateful middlebox drops them"
        );
        // rp_filter is not what loses them: only the route of their own applies.
        let mut fixes = reply_route_fixes(local, ingress);
        fixes.truncate(1);
        return fail(
            CauseCode::ReplyRouteAsymmetric,
            format!("route {local} -> {whom}"),
            Confidence::Likely,
            msg,
            fixes,
        );
    }
    (
        check(CheckStatus::Pass, format!("Replies to {} leave by {ingress}, where the traffic arrives", asked.who))
            .with_evidence(evidence),
        vec![],
    )
}

/// Where the route back from `local` to one part of the clients (`whom`) goes, for the evidence.
fn route_back_text(
    found: &Lookup<'_>,
    local: IpAddr,
    whom: &str,
    (routes_from, rules_from): (&EvidenceSource, &EvidenceSource),
) -> String {
    match found {
        Lookup::Route(f) => {
            format!("replies from {local} to {whom} route {} ({routes_from}, {rules_from})", route_text(f))
        }
        Lookup::Action(r) => format!("replies from {local} to {whom} meet policy rule {} ({rules_from})", rule_text(r)),
        Lookup::NoRoute => format!("no route from {local} back to {whom} ({routes_from}, {rules_from})"),
    }
}

/// What the kernel makes of the route back `found` for `part` of the clients arriving on
/// `ingress`, under reverse-path filtering `mode`.
fn way_back<'a>(found: &Lookup<'_>, part: &'a AddrSet, ingress: &str, mode: u8) -> Way<'a> {
    let out_dev = found.found().and_then(|f| f.route.dev.clone());
    let unusable = found.discards(Family::V4).is_some();
    let same_dev = out_dev.as_deref() == Some(ingress);
    let dropped = match mode {
        0 => false,
        1 => !same_dev || unusable,
        _ => found.found().is_none() || unusable,
    };
    // A reply that leaves by another interface (none leaves without a usable route: the
    // routing check names a route that discards it).
    let elsewhere = (!same_dev && found.found().is_some() && !unusable)
        .then_some(out_dev.unwrap_or_else(|| "another interface".into()));
    Way { part, elsewhere, dropped }
}

/// The parts that share an outcome (`pick`), as one set in words, and where their replies leave
/// (empty: they have no usable route back).
fn gather(ways: &[Way<'_>], pick: impl Fn(&Way<'_>) -> bool, asked: &Asked) -> Option<(String, String)> {
    let picked: Vec<&Way<'_>> = ways.iter().filter(|w| pick(w)).collect();
    let set = picked.iter().fold(AddrSet::empty(Family::V4), |s, w| s.union(w.part));
    let mut devs: Vec<&str> = picked.iter().filter_map(|w| w.elsewhere.as_deref()).collect();
    devs.dedup();
    (!picked.is_empty()).then(|| {
        let whom = asked.name(&set, picked.len() == ways.len());
        (whom, devs.join(", "))
    })
}

/// Make the replies from `local` leave by `ingress` (a route of their own), or relax
/// reverse-path filtering there.
fn reply_route_fixes(local: IpAddr, ingress: &str) -> Vec<Fix> {
    // sysctl writes an interface's dots as slashes (eth0.100 → net.ipv4.conf.eth0/100).
    let sysctl_dev = ingress.replace('.', "/");
    vec![
        Fix::text(format!("route replies from {local} out of {ingress}: "))
            .then_run(
                ShellCommand::new("ip rule add from")
                    .arg(local)
                    .lit("table 100 && ip route add default via <gateway> dev")
                    .arg(ingress)
                    .lit("table 100"),
            )
            .then_text(" (persist it in your network configuration)"),
        Fix::text(format!("or relax reverse-path filtering on {ingress}: "))
            .then_run(
                ShellCommand::new("sysctl -w").word(Word::lit("net.ipv4.conf.").val(&sysctl_dev).then(".rp_filter=2")),
            )
            .then_text(" (and net.ipv4.conf.all.rp_filter=2)"),
    ]
}

fn routing_check(status: CheckStatus, summary: impl Into<String>) -> Check {
    crate::host_query::host_check(HostCheck::Routing.as_str(), status, summary)
}

/// Which way a discarded packet was going.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Leg {
    /// The client's packet, looked up on arrival (ip_route_input: a `prohibit` or `unreachable`
    /// answers with an ICMP error, a `blackhole` drops it silently).
    Inbound,
    /// This host's answer (ip_route_output: it is never sent, and the client hears nothing).
    Reply,
}

/// The routing decisions of the flow: the lookup of the client's packet on arrival (it must
/// find the local route; a rule or route that blackholes, rejects or prohibits it discards it
/// whatever the firewall says), and the lookup of the reply toward each part of the clients
/// (it needs a usable route back: none, or a blackhole/unreachable/prohibit route or rule,
/// means the answer is never sent).
fn rules_not_read(rules: &Fact<Vec<PolicyRule>>) -> String {
    format!("policy rules not read ({}): the default rules are assumed", rules.from)
}

pub fn routing(ev: &HostEvidence, from: &Source, local: Option<IpAddr>, ingress: Option<&str>) -> (Check, Vec<Cause>) {
    let (Some(local), Some(ingress)) = (local, ingress) else {
        return (routing_check(CheckStatus::Unknown, "The arrival address or interface is unknown"), vec![]);
    };
    if local.is_loopback() {
        return (routing_check(CheckStatus::Pass, "Loopback traffic is delivered by the local table"), vec![]);
    }
    let Knowledge::Known(routes) = &ev.routes.fact else {
        let m = ev.routes.missing().map(|m| m.describe()).unwrap_or_default();
        return (routing_check(CheckStatus::Unknown, "Could not read the routes").with_evidence([m]), vec![]);
    };
    let family = Family::of(&local);
    let mut evidence = Vec::new();
    let rules_fact = ev.rules_of(family);
    let rules: &[PolicyRule] = match rules_fact.known() {
        Some(r) => r,
        None => {
            evidence.push(rules_not_read(rules_fact));
            &[]
        }
    };
    let reps = representatives(from, family, routes, ev.routes_from(family), &mut evidence);
    // What the lookups read: the family's routes, and its policy rules when they were read.
    let sources = match rules_fact.known() {
        Some(_) => format!("{}, {}", ev.routes_from(family), rules_fact.from),
        None => ev.routes_from(family).to_string(),
    };
    let asked = Asked::new(from, family);
    let part_text = |part: &AddrSet| asked.name(part, reps.len() == 1);
    // (leg, what discards, fix, the clients it discards for)
    let mut drops: Vec<(Leg, String, Fix, AddrSet)> = Vec::new();
    for (client, part) in &reps {
        for (leg, dst, src, iif) in [(Leg::Inbound, local, *client, ingress), (Leg::Reply, *client, local, "lo")] {
            let found = match lookup(routes, rules, dst, src, iif) {
                Ok(l) => l,
                Err(why) => {
                    return (
                        routing_check(
                            CheckStatus::Unknown,
                            "A policy rule this version does not model decides the route",
                        )
                        .with_evidence(evidence.into_iter().chain([why])),
                        vec![],
                    );
                }
            };
            let (what, fix) = match (found.discards(family), leg, &found) {
                (Some(d), _, _) => d,
                // No route back: the answer cannot be sent.
                (None, Leg::Reply, Lookup::NoRoute) => (
                    format!("no route (no table the rules lead to has a route to {})", part_text(part)),
                    Fix::text(format!(
                        "add a route back to {} (usually a default route via the gateway on {ingress})",
                        part_text(part)
                    )),
                ),
                _ => continue,
            };
            match drops.iter_mut().find(|d| d.0 == leg && d.1 == what) {
                Some(d) => d.3 = d.3.union(part),
                None => drops.push((leg, what, fix, part.clone())),
            }
        }
    }
    if drops.is_empty() {
        let summary = format!(
            "Traffic from {} to {local} on {ingress} is routed to this host, and the replies have a usable route back",
            asked.who
        );
        evidence.push(format!("no blackhole, unreachable or prohibit route or rule applies, either way ({sources})"));
        return (routing_check(CheckStatus::Pass, summary).with_evidence(evidence), vec![]);
    }
    let mut causes = Vec::new();
    for (leg, what, fix, part) in drops {
        let whom = asked.name(&part, part == asked.whole);
        let message = match leg {
            Leg::Inbound => format!(
                "Routing discards traffic from {whom} arriving at {local} on {ingress}: {what} applies before it reaches the listener"
            ),
            Leg::Reply => format!(
                "Routing discards the replies from {local} to {whom}: {what}, so the answer is never sent and the client hears nothing"
            ),
        };
        let line = format!("{what} ({sources})");
        causes.push(
            Cause::blocking(
                CauseCode::HostRouteDrop,
                format!("route {local} <-> {whom}"),
                Confidence::Confirmed,
                message,
            )
            .with_evidence(evidence.iter().cloned().chain([line]))
            .with_fix([fix]),
        );
    }
    let summary = causes[0].message.clone();
    let lines: Vec<String> = causes.iter().flat_map(|c| c.evidence.last().cloned()).collect();
    (routing_check(CheckStatus::Fail, summary).with_evidence(evidence.into_iter().chain(lines)), causes)
}
