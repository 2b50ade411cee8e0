//! The kernel's routing lookup (fib_lookup), written once: the policy rules in priority order,
//! each an action or a table to look in, longest prefix (lowest metric on ties) in each. The
//! kernel-path checks judge its answers; the arrival and container layers ask where this host
//! sends a packet.

use portdoctor_model::addrset::AddrSet;
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::{HostEvidence, PolicyRule, Route, RouteType};
use portdoctor_model::net::{Cidr, Family};
use std::net::IpAddr;

/// The route a lookup finds, with the rule that chose its table.
pub(crate) struct Found<'a> {
    pub route: &'a Route,
    pub rule: Option<&'a PolicyRule>,
}

/// What a routing lookup ends in (fib_lookup: the rules in priority order, each either an
/// action or a table to look in; a table without a matching route passes to the next rule).
pub(crate) enum Lookup<'a> {
    Route(Found<'a>),
    /// A rule whose action is `blackhole`, `unreachable` or `prohibit`.
    Action(&'a PolicyRule),
    NoRoute,
}

impl<'a> Lookup<'a> {
    pub fn found(&self) -> Option<&Found<'a>> {
        match self {
            Lookup::Route(f) => Some(f),
            _ => None,
        }
    }

    /// The route or rule that discards the packet, in words, with the fix that removes it.
    pub fn discards(&self, family: Family) -> Option<(String, Fix)> {
        let ip = if family == Family::V6 { "ip -6" } else { "ip" };
        match self {
            Lookup::Route(f) => {
                let kind = match f.route.kind {
                    RouteType::Blackhole => "blackhole",
                    RouteType::Unreachable => "unreachable",
                    RouteType::Prohibit => "prohibit",
                    _ => return None,
                };
                let cmd = match family {
                    Family::V6 => ShellCommand::new("ip -6 route del"),
                    Family::V4 => ShellCommand::new("ip route del"),
                };
                let fix = Fix::run(cmd.lit(kind).arg(f.route.dst).lit("table").arg(&f.route.table))
                    .then_text(" (and remove it from the network configuration that adds it)");
                Some((format!("the {kind} route {}", route_text(f)), fix))
            }
            Lookup::Action(rule) => {
                let cmd = match family {
                    Family::V6 => ShellCommand::new("ip -6 rule del priority"),
                    Family::V4 => ShellCommand::new("ip rule del priority"),
                };
                let fix = Fix::run(cmd.arg(rule.priority))
                    .then_text(" (and remove it from the network configuration that adds it)");
                Some((format!("policy rule {} ({ip} rule: {})", rule.priority, rule_text(rule)), fix))
            }
            Lookup::NoRoute => None,
        }
    }
}

/// The tables the kernel's default rules look in, in order (what an empty rule list stands for).
const DEFAULT_TABLES: [&str; 3] = ["local", "main", "default"];

/// A rule whose action discards (`blackhole`, `unreachable`, `prohibit`) rather than naming a
/// table to look in.
fn discards(rule: &PolicyRule) -> bool {
    matches!(rule.table.as_str(), "unreachable" | "prohibit" | "blackhole")
}

/// Whether the rule's selectors other than the destination take a packet from `src` that came
/// in on `iif`. Neither a received packet nor an unbound socket's reply has an output interface
/// to match (fib_rule_match).
fn selects_packet(rule: &PolicyRule, src: IpAddr, iif: &str) -> bool {
    rule.src.is_none_or(|c| c.contains(&src)) && rule.iif.as_deref().is_none_or(|i| i == iif) && rule.oif.is_none()
}

/// A rule this version cannot follow (a selector it does not model, e.g. fwmark), as the error.
fn unmodeled(rule: &PolicyRule) -> Result<(), String> {
    match &rule.other {
        Some(other) => Err(format!("policy rule {} uses `{other}`, which this version does not model", rule.priority)),
        None => Ok(()),
    }
}

/// A policy rule as `ip rule` shows it: `100: from 198.51.100.0/24 iif eth0 prohibit`.
pub(crate) fn rule_text(r: &PolicyRule) -> String {
    let mut s = format!("{}:", r.priority);
    if r.not {
        s += " not";
    }
    s += &format!(" from {}", r.src.map(|c| c.to_string()).unwrap_or_else(|| "all".into()));
    if let Some(d) = r.dst {
        s += &format!(" to {d}");
    }
    for (k, v) in [("iif", &r.iif), ("oif", &r.oif)] {
        if let Some(v) = v {
            s += &format!(" {k} {v}");
        }
    }
    if discards(r) { s + " " + &r.table } else { s + " lookup " + &r.table }
}

/// The kernel's lookup for a packet from `src` to `dst` that came in on `iif` (`lo` for what
/// this host sends). An empty rule list stands for the kernel's defaults (local, main, default).
pub(crate) fn lookup<'a>(
    routes: &'a [Route],
    rules: &'a [PolicyRule],
    dst: IpAddr,
    src: IpAddr,
    iif: &str,
) -> Result<Lookup<'a>, String> {
    let lpm = |table: &str| {
        routes
            .iter()
            .filter(|r| r.table == table && r.dst.family() == Family::of(&dst) && r.dst.contains(&dst))
            .max_by_key(|r| (r.dst.prefix(), std::cmp::Reverse(r.metric)))
    };
    if rules.is_empty() {
        for t in DEFAULT_TABLES {
            if let Some(r) = lpm(t) {
                return Ok(Lookup::Route(Found { route: r, rule: None }));
            }
        }
        return Ok(Lookup::NoRoute);
    }
    for rule in rules {
        let matches = selects_packet(rule, src, iif) && rule.dst.is_none_or(|c| c.contains(&dst));
        if matches == rule.not {
            continue;
        }
        unmodeled(rule)?;
        if discards(rule) {
            return Ok(Lookup::Action(rule));
        }
        if let Some(r) = lpm(&rule.table) {
            return Ok(Lookup::Route(Found { route: r, rule: Some(rule) }));
        }
    }
    Ok(Lookup::NoRoute)
}

pub(crate) fn route_text(f: &Found<'_>) -> String {
    let r = f.route;
    let dst = if r.dst.prefix() == 0 { "default".to_string() } else { r.dst.to_string() };
    let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
    let dev = r.dev.as_deref().map(|d| format!(" dev {d}")).unwrap_or_default();
    let rule = f.rule.map(|p| format!(", chosen by rule {} (lookup {})", p.priority, p.table)).unwrap_or_default();
    format!("{dst}{via}{dev} table {}{rule}", r.table)
}

/// A route as `ip route` shows it: `default via 10.0.1.1 dev eth0 src 10.0.1.10`.
pub(crate) fn route_words(r: &Route) -> String {
    let mut s = if r.dst.prefix() == 0 { "default".to_string() } else { r.dst.to_string() };
    if let Some(gw) = r.gateway {
        s += &format!(" via {gw}");
    }
    if let Some(dev) = &r.dev {
        s += &format!(" dev {dev}");
    }
    if let Some(src) = r.prefsrc {
        s += &format!(" src {src}");
    }
    s
}

/// The policy rules a lookup of `family` follows (a host whose rules could not be read uses the
/// kernel's defaults: local, main, default).
pub(crate) fn rules_for(ev: &HostEvidence, family: Family) -> &[PolicyRule] {
    ev.rules_of(family).known().map(Vec::as_slice).unwrap_or_default()
}

/// The unicast route a packet this host sends to `dst` takes (`None`: to the internet at
/// large, i.e. the default route's), by the same lookup as the kernel: policy rules included,
/// from no particular source address (a rule that picks a table by source does not apply). A
/// rule this version does not model falls back to the default rules; a lookup that ends in a
/// blackhole, unreachable or prohibit route or rule finds no route (the routing check names it).
pub(crate) fn route_to<'a>(
    routes: &'a [Route],
    rules: &'a [PolicyRule],
    family: Family,
    dst: Option<IpAddr>,
) -> Option<&'a Route> {
    let unspecified = match family {
        Family::V4 => IpAddr::from([0u8; 4]),
        Family::V6 => IpAddr::from([0u16; 8]),
    };
    let dst = dst.unwrap_or(unspecified);
    let found = lookup(routes, rules, dst, unspecified, "lo").or_else(|_| lookup(routes, &[], dst, unspecified, "lo"));
    match found {
        Ok(Lookup::Route(f)) if f.route.kind == RouteType::Unicast => Some(f.route),
        _ => None,
    }
}

/// The output interface a lookup asks for. IPv6's lookup (fib6 `rt6_device_match`) prefers,
/// among the routes of the most specific prefix and lowest metric, one by that interface, and
/// for a link-local address takes only routes by it (`RT6_LOOKUP_F_IFACE`; with none there it
/// backs off to a less specific prefix). IPv4's lookup does not look at it.
#[derive(Clone, Copy)]
pub(crate) enum Oif<'a> {
    Any,
    Prefer(&'a str),
    Only(&'a str),
}

/// The set form of `lookup`: where the kernel routes each part of `clients` for a packet from
/// `src` to them that came in on `iif` (`lo` for what this host sends). The rules are walked in
/// priority order as in `lookup`; each one takes the clients its selectors match, and a table
/// splits them by its routes (longest prefix, lowest metric on ties, then `oif`); what a table
/// has no route for goes on to the next rule. Each part ends in a route, a discarding rule, or
/// no route.
pub(crate) fn lookup_set<'a>(
    routes: &'a [Route],
    rules: &'a [PolicyRule],
    clients: &AddrSet,
    (src, iif): (IpAddr, &str),
    oif: Oif<'_>,
) -> Result<Vec<(AddrSet, Lookup<'a>)>, String> {
    let family = clients.family();
    let mut rest = clients.clone();
    let mut parts = Vec::new();
    let split = |table: &str, part: AddrSet, rule: Option<&'a PolicyRule>, parts: &mut Vec<(AddrSet, Lookup<'a>)>| {
        split_by_table(routes, (table, rule), part, oif, parts)
    };
    if rules.is_empty() {
        for table in DEFAULT_TABLES {
            rest = split(table, rest, None, &mut parts);
        }
    }
    for rule in rules {
        if rest.is_empty() {
            break;
        }
        // The source, input and output interface are the packet's own; the destination splits.
        let fixed = selects_packet(rule, src, iif);
        let by_dst = rule.dst.map_or_else(|| rest.clone(), |c| rest.intersect(&AddrSet::from_cidr(&c)));
        let selected = match (rule.not, fixed) {
            (false, true) => by_dst,
            (false, false) => AddrSet::empty(family),
            (true, true) => rest.minus(&by_dst),
            (true, false) => rest.clone(),
        };
        if selected.is_empty() {
            continue;
        }
        unmodeled(rule)?;
        rest = rest.minus(&selected);
        if discards(rule) {
            parts.push((selected, Lookup::Action(rule)));
            continue;
        }
        let unrouted = split(&rule.table, selected, Some(rule), &mut parts);
        rest = rest.union(&unrouted);
    }
    if !rest.is_empty() {
        parts.push((rest, Lookup::NoRoute));
    }
    Ok(parts)
}

/// Splits `part` by the routes of `table` (chosen by `rule`), most specific first (lowest
/// metric, then a route by the asked-for interface, on ties); returns what none of them covers.
fn split_by_table<'a>(
    routes: &'a [Route],
    (table, rule): (&str, Option<&'a PolicyRule>),
    mut part: AddrSet,
    oif: Oif<'_>,
    parts: &mut Vec<(AddrSet, Lookup<'a>)>,
) -> AddrSet {
    let family = part.family();
    let by = |r: &Route, dev: &str| r.dev.as_deref() == Some(dev);
    let mut candidates: Vec<&Route> = routes
        .iter()
        .filter(|r| r.table == table && r.dst.family() == family)
        .filter(|r| match oif {
            Oif::Only(dev) => by(r, dev),
            _ => true,
        })
        .collect();
    candidates.sort_by_key(|r| {
        let elsewhere = match oif {
            Oif::Prefer(dev) => !by(r, dev),
            _ => false,
        };
        (std::cmp::Reverse(r.dst.prefix()), r.metric, elsewhere)
    });
    for route in candidates {
        let hit = part.intersect(&AddrSet::from_cidr(&route.dst));
        if !hit.is_empty() {
            part = part.minus(&hit);
            parts.push((hit, Lookup::Route(Found { route, rule })));
        }
    }
    part
}

/// The clients whose route back leaves by `dev`, the interface they came in on: what a strict
/// reverse-path match (`fib saddr . iif oif`, `-m rpfilter`) passes. The kernel looks the
/// client up as the destination of a packet from `local` (this host's address) sent by this
/// host, asking for `dev` as the output interface (see `Oif`); a route that discards (blackhole,
/// unreachable, prohibit, or a rule that does) is no route back.
///
/// Addresses the lookup finds in `local` as this host's own, broadcast, anycast or multicast
/// ones are not clients (no peer sends from them; the kernel drops such a packet on its own):
/// they are counted as routed back so that they never show up as "the part of the internet
/// the reverse-path check drops". A policy rule this version does not model falls back to the
/// default rules, as `route_to` does.
pub(crate) fn routed_by(
    routes: &[Route],
    rules: &[PolicyRule],
    clients: &AddrSet,
    local: IpAddr,
    dev: &str,
) -> AddrSet {
    let family = clients.family();
    let asks: Vec<(AddrSet, Oif<'_>)> = match family {
        Family::V4 => vec![(clients.clone(), Oif::Any)],
        Family::V6 => {
            let link_local = AddrSet::from_cidr(&LINK_LOCAL_V6.parse().expect("a valid prefix"));
            vec![(clients.intersect(&link_local), Oif::Only(dev)), (clients.minus(&link_local), Oif::Prefer(dev))]
        }
    };
    let mut back = AddrSet::empty(family);
    for (part, oif) in asks.into_iter().filter(|(p, _)| !p.is_empty()) {
        let parts = lookup_set(routes, rules, &part, (local, "lo"), oif)
            .or_else(|_| lookup_set(routes, &[], &part, (local, "lo"), oif))
            .unwrap_or_default();
        for (part, found) in parts {
            let passes = found.found().is_some_and(|f| match f.route.kind {
                RouteType::Unicast => f.route.dev.as_deref() == Some(dev),
                RouteType::Local | RouteType::Broadcast => true,
                RouteType::Other => f.route.table == "local",
                RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit => false,
            });
            if passes {
                back = back.union(&part);
            }
        }
    }
    back
}

/// IPv6 link-local unicast addresses (RFC 4291 2.5.6).
const LINK_LOCAL_V6: &str = "fe80::/10";

/// The prefixes `dev` routes in the main table (its own networks): where MASQUERADE finds the
/// address a packet leaving by it takes.
pub(crate) fn device_prefixes<'a>(
    routes: &'a [Route],
    dev: &'a str,
    family: Family,
) -> impl Iterator<Item = Cidr> + 'a {
    routes
        .iter()
        .filter(move |r| {
            r.table == "main"
                && r.kind == RouteType::Unicast
                && r.dev.as_deref() == Some(dev)
                && r.dst.family() == family
        })
        .map(|r| r.dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(table: &str, dst: &str, dev: &str, kind: RouteType) -> Route {
        Route {
            table: table.into(),
            kind,
            dst: dst.parse().expect("a prefix"),
            dev: Some(dev.into()),
            gateway: None,
            prefsrc: None,
            metric: 0,
        }
    }

    fn rule(priority: u32, table: &str, other: Option<&str>) -> PolicyRule {
        PolicyRule {
            priority,
            not: false,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            other: other.map(str::to_string),
            table: table.into(),
        }
    }

    /// The host's own packets follow the policy rules as the kernel's lookup does: a rule before
    /// main sends them to its table; a rule this version cannot read falls back to the default
    /// rules; a blackhole route is no route to send by.
    #[test]
    fn route_to_follows_the_policy_rules() {
        let routes = vec![
            route("main", "0.0.0.0/0", "eth0", RouteType::Unicast),
            route("100", "0.0.0.0/0", "eth1", RouteType::Unicast),
            route("main", "203.0.113.0/24", "eth0", RouteType::Blackhole),
        ];
        let client: Option<IpAddr> = Some("198.51.100.7".parse().expect("an address"));
        let dev = |rules: &[PolicyRule], to| route_to(&routes, rules, Family::V4, to).and_then(|r| r.dev.clone());
        let defaults = [rule(0, "local", None), rule(32766, "main", None), rule(32767, "default", None)];
        assert_eq!(dev(&defaults, client).as_deref(), Some("eth0"));
        assert_eq!(dev(&[], None).as_deref(), Some("eth0"));
        let to_100 = [rule(0, "local", None), rule(100, "100", None), rule(32766, "main", None)];
        assert_eq!(dev(&to_100, client).as_deref(), Some("eth1"));
        let unread = [rule(0, "local", None), rule(100, "100", Some("fwmark 0x1")), rule(32766, "main", None)];
        assert_eq!(dev(&unread, client).as_deref(), Some("eth0"));
        assert_eq!(dev(&defaults, Some("203.0.113.9".parse().expect("an address"))), None);
    }
}
