//! The kernel's routing view of a flow: reverse-path filtering of the inbound packet and the
//! interface the reply leaves by.
//!
//! rp_filter (ip-sysctl.rst): 0 off, 1 strict — the route back to the source must leave by the
//! interface the packet came in on — 2 loose — some route back must exist; the effective value
//! is the max of `all` and the interface. The lookup is the kernel's fib_validate_source: the
//! destination is the client, the source is the local address, so policy rules `from <local
//! address>` apply — which is how a second interface is made to answer by itself.

use portdoctor_model::addrset::{AddrSet, clients, describe_part};
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::host::{HostEvidence, PolicyRule, Route, RouteType};
use portdoctor_model::net::{Cidr, Family, Source};
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Knowledge, Layer};
use std::net::IpAddr;

fn check(status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new("host.rp-filter", Layer::Host, CheckKind::Path, status, summary)
}

/// The route a lookup finds, with the rule that chose its table.
struct Found<'a> {
    route: &'a Route,
    rule: Option<&'a PolicyRule>,
}

fn lookup<'a>(
    routes: &'a [Route],
    rules: &'a [PolicyRule],
    dst: IpAddr,
    src: IpAddr,
) -> Result<Option<Found<'a>>, String> {
    let lpm = |table: &str| {
        routes
            .iter()
            .filter(|r| r.table == table && r.dst.family() == Family::of(&dst) && r.dst.contains(&dst))
            .max_by_key(|r| (r.dst.prefix(), std::cmp::Reverse(r.metric)))
    };
    if rules.is_empty() {
        // No rules read: the kernel's defaults (local, main, default).
        for t in ["local", "main", "default"] {
            if let Some(r) = lpm(t) {
                return Ok(Some(Found { route: r, rule: None }));
            }
        }
        return Ok(None);
    }
    for rule in rules {
        let matches = rule.src.is_none_or(|c| c.contains(&src))
            && rule.dst.is_none_or(|c| c.contains(&dst))
            // Locally generated lookups come from the loopback interface.
            && rule.iif.as_deref().is_none_or(|i| i == "lo")
            && rule.oif.is_none();
        if matches == rule.not {
            continue;
        }
        if let Some(other) = &rule.other {
            return Err(format!("policy rule {} uses `{other}`, which this version does not model", rule.priority));
        }
        if matches!(rule.table.as_str(), "unreachable" | "prohibit" | "blackhole") {
            return Ok(None);
        }
        if let Some(r) = lpm(&rule.table) {
            return Ok(Some(Found { route: r, rule: Some(rule) }));
        }
    }
    Ok(None)
}

fn route_text(f: &Found<'_>) -> String {
    let r = f.route;
    let dst = if r.dst.prefix() == 0 { "default".to_string() } else { r.dst.to_string() };
    let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
    let dev = r.dev.as_deref().map(|d| format!(" dev {d}")).unwrap_or_default();
    let rule = f.rule.map(|p| format!(", chosen by rule {} (lookup {})", p.priority, p.table)).unwrap_or_default();
    format!("{dst}{via}{dev} table {}{rule}", r.table)
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
fn representatives(from: &Source, routes: &[Route], evidence: &mut Vec<String>) -> Vec<(IpAddr, AddrSet)> {
    let whole = clients(from, Family::V4);
    let mut specific: Vec<Cidr> = routes
        .iter()
        .filter(|r| r.dst.family() == Family::V4 && r.dst.prefix() > 0)
        .map(|r| r.dst)
        .filter(|c| !AddrSet::from_cidr(c).intersect(&whole).is_empty())
        .collect();
    // Most specific first: each part is what its route covers and no more specific one does.
    specific.sort_by_key(|c| (std::cmp::Reverse(c.prefix()), c.to_string()));
    specific.dedup();
    if specific.len() > MAX_PARTS {
        evidence.push(format!(
            "{} routes cover parts of the clients: the {MAX_PARTS} most specific are looked up one by one, the others with the rest (ip-route.json)",
            specific.len()
        ));
        specific.truncate(MAX_PARTS);
    }
    let first = |s: &AddrSet| s.to_cidrs(1).0.first().map(Cidr::addr);
    let mut covered = AddrSet::empty(Family::V4);
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
    let (Knowledge::Known(routes), Knowledge::Known(sysctl)) = (&ev.routes, &ev.sysctl) else {
        let m = ev.routes.missing().or(ev.sysctl.missing()).map(|m| m.describe()).unwrap_or_default();
        return (check(CheckStatus::Unknown, "Could not read routes or rp_filter settings").with_evidence([m]), vec![]);
    };
    let rules: &[PolicyRule] = ev.rules.known().map(Vec::as_slice).unwrap_or_default();
    let rp = |key: &str| sysctl.get(&format!("net.ipv4.conf.{key}.rp_filter")).and_then(|v| v.parse::<u8>().ok());
    let mode = rp("all").unwrap_or(0).max(rp(ingress).unwrap_or(0));
    let who = match from {
        Source::Internet => "the internet".to_string(),
        Source::Prefix(c) => c.to_string(),
    };
    let mut evidence = vec![format!(
        "rp_filter: all={}, {ingress}={} → {} (sysctl.txt)",
        rp("all").unwrap_or(0),
        rp(ingress).unwrap_or(0),
        ["off", "strict", "loose"].get(usize::from(mode)).copied().unwrap_or("strict")
    )];
    if ev.rules.known().is_none() {
        evidence.push("policy rules not read (ip-rule.json): the default rules are assumed".into());
    }
    let reps = representatives(from, routes, &mut evidence);
    if reps.is_empty() {
        return (check(CheckStatus::Unknown, "No client address to look up"), vec![]);
    }
    let clients = clients(from, Family::V4);
    let internet = matches!(from, Source::Internet);
    // One part of the clients in words: as asked when there is one part, else relative to all.
    let part_text = |part: &AddrSet| {
        if reps.len() == 1 { who.clone() } else { describe_part(part, &clients, internet) }
    };
    let mut ways: Vec<Way<'_>> = Vec::new();
    for (client, part) in &reps {
        let found = match lookup(routes, rules, *client, local) {
            Ok(f) => f,
            Err(why) => {
                return (
                    check(CheckStatus::Unknown, "A policy rule decides the route back, and it is not modeled")
                        .with_evidence([why]),
                    vec![],
                );
            }
        };
        let out_dev = found.as_ref().and_then(|f| f.route.dev.clone());
        match &found {
            Some(f) => evidence.push(format!(
                "replies from {local} to {} route {} (ip-route.json, ip-rule.json)",
                part_text(part),
                route_text(f)
            )),
            None => evidence
                .push(format!("no route from {local} back to {} (ip-route.json, ip-rule.json)", part_text(part))),
        }
        let unusable = found.as_ref().is_some_and(|f| {
            matches!(f.route.kind, RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit)
        });
        let same_dev = out_dev.as_deref() == Some(ingress);
        let dropped = match mode {
            0 => false,
            1 => !same_dev || unusable,
            _ => found.is_none() || unusable,
        };
        // A reply that leaves by another interface (none leaves without a route).
        let elsewhere = (!same_dev && found.is_some()).then_some(out_dev.unwrap_or_else(|| "another interface".into()));
        ways.push(Way { part, elsewhere, dropped });
    }
    // The parts that share an outcome, as one set in words, and where their replies leave.
    let gather = |pick: &dyn Fn(&Way<'_>) -> bool| {
        let picked: Vec<&Way<'_>> = ways.iter().filter(|w| pick(w)).collect();
        let set = picked.iter().fold(AddrSet::empty(Family::V4), |s, w| s.union(w.part));
        let mut devs: Vec<&str> = picked.iter().filter_map(|w| w.elsewhere.as_deref()).collect();
        devs.dedup();
        (!picked.is_empty()).then(|| {
            let whom = if picked.len() == reps.len() { who.clone() } else { describe_part(&set, &clients, internet) };
            (whom, if devs.is_empty() { "no interface".to_string() } else { devs.join(", ") })
        })
    };
    // sysctl writes an interface's dots as slashes (eth0.100 → net.ipv4.conf.eth0/100).
    let sysctl_dev = ingress.replace('.', "/");
    let fix = vec![
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
    ];
    if let Some((whom, devs)) = gather(&|w| w.dropped) {
        let msg = format!(
            "Reverse-path filtering ({}) drops traffic from {whom} arriving on {ingress}: the route back leaves by {devs}",
            if mode == 1 { "strict" } else { "loose" },
        );
        let cause = Cause::blocking(
            CauseCode::RpFilterDrop,
            format!("rp_filter {ingress}"),
            Confidence::Confirmed,
            msg.clone(),
        )
        .with_evidence(evidence.clone())
        .with_fix(fix);
        return (check(CheckStatus::Fail, msg).with_evidence(evidence), vec![cause]);
    }
    if let Some((whom, devs)) = gather(&|w| w.elsewhere.is_some()) {
        let msg = format!(
            "Replies to {whom} from {local} leave by {devs}, not {ingress} where the traffic arrives: a cloud network (AWS source/destination check) or a stateful middlebox drops them"
        );
        let cause = Cause::blocking(
            CauseCode::ReplyRouteAsymmetric,
            format!("route {local} -> {whom}"),
            Confidence::Likely,
            msg.clone(),
        )
        .with_evidence(evidence.clone())
        .with_fix(fix.into_iter().take(1));
        return (check(CheckStatus::Fail, msg).with_evidence(evidence), vec![cause]);
    }
    (
        check(CheckStatus::Pass, format!("Replies to {who} leave by {ingress}, where the traffic arrives"))
            .with_evidence(evidence),
        vec![],
    )
}
