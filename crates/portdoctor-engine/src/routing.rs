//! The kernel's routing lookup (fib_lookup), written once: the policy rules in priority order,
//! each an action or a table to look in, longest prefix (lowest metric on ties) in each. The
//! kernel-path checks judge its answers; the arrival and container layers ask where this host
//! sends a packet.

use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::{HostEvidence, PolicyRule, Route, RouteType};
use portdoctor_model::net::Family;
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
    if matches!(r.table.as_str(), "unreachable" | "prohibit" | "blackhole") {
        s + " " + &r.table
    } else {
        s + " lookup " + &r.table
    }
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
        for t in ["local", "main", "default"] {
            if let Some(r) = lpm(t) {
                return Ok(Lookup::Route(Found { route: r, rule: None }));
            }
        }
        return Ok(Lookup::NoRoute);
    }
    for rule in rules {
        let matches = rule.src.is_none_or(|c| c.contains(&src))
            && rule.dst.is_none_or(|c| c.contains(&dst))
            && rule.iif.as_deref().is_none_or(|i| i == iif)
            // Neither a received packet nor an unbound socket's reply has an output interface
            // to match (fib_rule_match).
            && rule.oif.is_none();
        if matches == rule.not {
            continue;
        }
        if let Some(other) = &rule.other {
            return Err(format!("policy rule {} uses `{other}`, which this version does not model", rule.priority));
        }
        if matches!(rule.table.as_str(), "unreachable" | "prohibit" | "blackhole") {
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

/// The policy rules a lookup of `family` follows: only IPv4's are read (IPv6 lookups, and a
/// host whose rules could not be read, use the kernel's defaults: local, main, default).
pub(crate) fn rules_for(ev: &HostEvidence, family: Family) -> &[PolicyRule] {
    match family {
        Family::V4 => ev.rules.known().map(Vec::as_slice).unwrap_or_default(),
        Family::V6 => &[],
    }
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
