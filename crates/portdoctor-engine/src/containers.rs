//! Published ports: a PREROUTING DNAT to an address that is not this host's (Docker's and
//! Podman's `-p`, a Kubernetes NodePort) sends the connection through the routing decision and
//! FORWARD to a container, not INPUT to a local socket. What decides it then: IP forwarding on the
//! ingress interface (the kernel drops a packet to forward, without an ICMP error, when it is off:
//! ip_route_input_slow / ip_error in net/ipv4/route.c), the FORWARD chains (walked by the firewall
//! layer), and who listens inside the container's namespace — an app bound to 127.0.0.1 there is
//! the classic case: the DNAT delivers to the container's eth0 address, never its loopback.

use crate::firewall::manager_chain;
use crate::host_query::{Arrival, HostQuery};
use crate::listener::{ListenerOutcome, listener};
use crate::routing::{route_to, route_words, rules_for};
use portdoctor_model::firewall::Netfilter;
use portdoctor_model::fix::Fix;
use portdoctor_model::host::{HostEvidence, Interface, Netns, Route};
use portdoctor_model::host_path::{HostCheck, HostHop};
use portdoctor_model::net::Family;
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Hop, Knowledge, Layer, Missing};
use std::net::IpAddr;

/// What the forwarded leg adds to the host's verdict: the published-port and forwarding checks
/// once, then each endpoint the rules send connections to.
pub(crate) struct Forwarded {
    pub checks: Vec<Check>,
    /// IP forwarding off: before FORWARD in packet order.
    pub causes: Vec<Cause>,
    pub endpoints: Vec<Endpoint>,
}

/// One place a published port leads: the container that holds the address and who listens.
pub(crate) struct Endpoint {
    pub causes: Vec<Cause>,
    pub container_hop: Hop,
    pub listener: ListenerOutcome,
}

fn check(id: &str, kind: CheckKind, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id, Layer::Host, kind, status, summary)
}

/// IP forwarding on the interface the traffic arrives on (IPv4: `conf.IFACE.forwarding`, which
/// `net.ipv4.ip_forward` sets for every interface; IPv6: `conf.all.forwarding`).
fn forwarding(
    ev: &HostEvidence,
    family: Family,
    ingress: Option<&str>,
    flow: &str,
    to: &str,
) -> (Check, Option<Cause>) {
    let id = HostCheck::Forwarding.as_str();
    let Some(sysctl) = ev.sysctl.known() else {
        let m = ev.sysctl.missing().map(|m| m.describe()).unwrap_or_default();
        return (
            check(id, CheckKind::Path, CheckStatus::Unknown, "Could not read whether IP forwarding is on")
                .with_evidence([m]),
            None,
        );
    };
    let keys: Vec<String> = match family {
        Family::V4 => ingress
            .map(|i| format!("net.ipv4.conf.{i}.forwarding"))
            .into_iter()
            .chain(["net.ipv4.ip_forward".to_string()])
            .collect(),
        Family::V6 => vec!["net.ipv6.conf.all.forwarding".to_string()],
    };
    let Some((key, value)) = keys.iter().find_map(|k| sysctl.get(k).map(|v| (k.clone(), v.trim().to_string()))) else {
        return (
            check(id, CheckKind::Path, CheckStatus::Unknown, "Could not read whether IP forwarding is on")
                .with_evidence([format!("none of {} in {}", keys.join(", "), ev.sysctl.from)]),
            None,
        );
    };
    let evidence = vec![format!("{key} = {value} ({})", ev.sysctl.from)];
    if value != "0" {
        return (
            check(id, CheckKind::Path, CheckStatus::Pass, format!("IP forwarding is on ({key} = {value})"))
                .with_evidence(evidence),
            None,
        );
    }
    let (all, persist) = match family {
        Family::V4 => ("net.ipv4.ip_forward", "net.ipv4.ip_forward = 1"),
        Family::V6 => ("net.ipv6.conf.all.forwarding", "net.ipv6.conf.all.forwarding = 1"),
    };
    let message = format!(
        "IP forwarding is off ({key} = 0): the kernel silently drops {flow} after NAT sends it to {to}, before any container sees it"
    );
    let cause = Cause::blocking(CauseCode::IpForwardingDisabled, key.clone(), Confidence::Confirmed, message.clone())
        .with_evidence(evidence.clone())
        .with_fix([
            // Only our own constants here: no value from the evidence.
            Fix::text(format!("Turn it on: sysctl -w {all}=1, and persist it: echo '{persist}' > /etc/sysctl.d/99-forwarding.conf")),
            Fix::text("Docker and Kubernetes turn it on when they start: something turned it off since (a `sysctl --system` with a hardening file, a cloud-init or CIS script) — find it with `grep -r forward /etc/sysctl.conf /etc/sysctl.d/`"),
        ]);
    (check(id, CheckKind::Path, CheckStatus::Fail, message).with_evidence(evidence), Some(cause))
}

/// The namespace that holds `to`: among several (address reuse across unrelated namespaces),
/// the one paired by veth with a port of the bridge the route leaves by.
fn holder<'a>(
    netns: &'a [Netns],
    host_ifs: &[Interface],
    egress: Option<&str>,
    to: IpAddr,
) -> Option<(&'a Netns, &'a Interface)> {
    let with_addr: Vec<(&Netns, &Interface)> = netns
        .iter()
        .filter_map(|n| {
            let i = n.interfaces.known()?.iter().find(|i| i.addrs.iter().any(|a| a.addr == to))?;
            Some((n, i))
        })
        .collect();
    let paired = |(n, i): &(&Netns, &Interface)| {
        host_ifs.iter().any(|h| {
            h.peer == Some((n.nsid, i.index))
                && (egress.is_none() || h.master.as_deref() == egress || Some(h.name.as_str()) == egress)
        })
    };
    with_addr.iter().find(|c| paired(c)).or(with_addr.first()).copied()
}

/// Who manages INPUT here, when it is a manager whose rules users expect to cover every port.
fn input_manager(nf: &Netfilter) -> Option<&'static str> {
    let managed: Vec<&str> = nf.tables.iter().filter_map(manager_chain).map(|c| c.name.as_str()).collect();
    if managed.iter().any(|c| c.starts_with("ufw")) {
        Some("ufw")
    } else if !managed.is_empty() || nf.tables.iter().any(|t| t.name == "firewalld") {
        Some("firewalld")
    } else {
        None
    }
}

/// Judges the forwarded leg of `q`, which NAT sends to `targets` ((address, port, rule); several
/// when the rules spread connections over endpoints).
pub(crate) fn forwarded(
    ev: &HostEvidence,
    q: &HostQuery,
    family: Family,
    ingress: Option<&str>,
    targets: &[(IpAddr, u16, String)],
) -> Forwarded {
    let flow = format!("{}/{}", q.proto, q.port);
    let to_text: Vec<String> = targets.iter().map(|(a, p, _)| format!("{a}:{p}")).collect();
    let mut published: Vec<String> = targets
        .iter()
        .map(|(a, p, rule)| format!("PREROUTING NAT sends it to {a}:{p}: {rule}"))
        .chain([
            "the destination is not an address of this host, so the packet is forwarded: FORWARD decides, not INPUT"
                .to_string(),
        ])
        .collect();
    if targets.len() > 1 {
        published.push(format!(
            "new connections are spread over {} endpoints, each picked at random per connection: one that fails fails that share of connections",
            targets.len()
        ));
    }
    if let Some(manager) = ev.netfilter.known().and_then(input_manager) {
        published.push(format!(
            "{manager}'s allow and deny rules hook INPUT, so they neither open nor close this port; filter it in DOCKER-USER (Docker) or with `ufw route` / a firewalld policy"
        ));
    }
    let mut checks = vec![
        check(
            HostCheck::PublishedPort.as_str(),
            CheckKind::Context,
            CheckStatus::Pass,
            format!("{flow} is a published port, forwarded to {}", to_text.join(", ")),
        )
        .with_evidence(published),
    ];
    let (fwd_check, fwd_cause) = forwarding(ev, family, ingress, &flow, &to_text.join(", "));
    checks.push(fwd_check);
    let share = |i: usize| (targets.len() > 1).then_some((i + 1, targets.len()));
    let endpoints =
        targets.iter().enumerate().map(|(i, (a, p, rule))| endpoint(ev, q, family, (*a, *p), rule, share(i))).collect();
    Forwarded { checks, causes: fwd_cause.into_iter().collect(), endpoints }
}

/// Where the endpoint's address is, before it is put in words.
enum Holder<'a> {
    /// The container namespaces could not be read.
    NamespacesUnread(&'a Missing),
    /// No namespace read holds it, and one whose addresses could not be read may.
    MaybeUnread(&'a Missing),
    /// None of the (so many) namespaces holds it, and it is behind a gateway: on another host.
    AnotherHost(usize),
    /// None of the (so many) namespaces holds it, and it is on a bridge of this host: the
    /// container is gone.
    Gone(usize),
    /// The namespace that holds it, and its interface with the address.
    Found(&'a Netns, &'a Interface),
}

/// Which namespace holds `to`, reached by `route`.
fn find_holder<'a>(ev: &'a HostEvidence, host_ifs: &[Interface], route: Option<&Route>, to: IpAddr) -> Holder<'a> {
    let netns = match &ev.netns.fact {
        Knowledge::Known(n) => n,
        Knowledge::Unavailable(m) => return Holder::NamespacesUnread(m),
    };
    if let Some((ns, inner)) = holder(netns, host_ifs, route.and_then(|r| r.dev.as_deref()), to) {
        return Holder::Found(ns, inner);
    }
    // A namespace whose addresses could not be read may be the one: unknown, not "gone".
    if let Some(m) = netns.iter().find_map(|n| n.interfaces.missing()) {
        return Holder::MaybeUnread(m);
    }
    // Directly on a bridge of this host and nobody has it: the rule outlived its container.
    if route.is_some_and(|r| r.gateway.is_none()) {
        Holder::Gone(netns.len())
    } else {
        Holder::AnotherHost(netns.len())
    }
}

/// The listener's check and hop for an endpoint whose listener is not asked (`target`: the
/// endpoint).
fn listener_at(target: &str, status: CheckStatus, summary: String, evidence: Vec<String>) -> ListenerOutcome {
    ListenerOutcome {
        check: check(HostCheck::Listener.as_str(), CheckKind::Path, status, summary.clone()).with_evidence(evidence),
        hop: Hop::new(HostHop::Listener.as_str(), target, status, summary),
        causes: vec![],
        answerer: None,
        owner_check: None,
    }
}

/// Recreate the container, or drop the stale rule.
fn gone_container_fixes() -> [Fix; 2] {
    [
        Fix::text(
            "The container behind this published port is gone or has a new address: recreate it (`docker compose up -d`, `docker run -p …`) so its runtime writes the rule again",
        ),
        Fix::text(
            "If the rule was restored from a saved file (iptables-restore of old Docker rules), remove it and restart the container runtime (`systemctl restart docker`)",
        ),
    ]
}

/// A NAT rule that outlived its container: nothing on this host's bridge holds `to`.
/// `evidence`: that no namespace holds it, and the route to it.
fn gone_container(flow: &str, (to, target): (IpAddr, &str), evidence: Vec<String>, rule: &str) -> Endpoint {
    let message =
        format!("Nothing on this host holds {to}: the NAT rule sends {flow} to a container that no longer exists");
    let cause = Cause::blocking(CauseCode::NotListening, target, Confidence::Likely, message.clone())
        .with_evidence(evidence.iter().cloned().chain([format!("the rule: {rule}")]))
        .with_fix(gone_container_fixes());
    Endpoint {
        causes: vec![cause],
        container_hop: Hop::new(HostHop::Container.as_str(), target, CheckStatus::Fail, message.clone()),
        listener: listener_at(target, CheckStatus::Fail, message, evidence),
    }
}

/// How the container's interface joins this host: its veth peer here, and the bridge that is a
/// port of.
fn veth_peer(host_ifs: &[Interface], ns: &Netns, inner: &Interface) -> String {
    host_ifs
        .iter()
        .find(|h| h.peer == Some((ns.nsid, inner.index)))
        .map(|h| match &h.master {
            Some(m) => format!(" (its veth peer {} is a port of {m})", h.name),
            None => format!(" (its veth peer here is {})", h.name),
        })
        .unwrap_or_default()
}

/// The fix a finding of the listener takes inside a container (`inner`: its interface with the
/// endpoint's address), first.
fn container_fix(code: CauseCode, inner: &str, q: &HostQuery) -> Option<Fix> {
    let fix = match code {
        CauseCode::ListenerLoopbackOnly => format!(
            "The published port reaches the container's {inner} address, never its loopback: make the app listen on 0.0.0.0:{} inside the container (e.g. `--host 0.0.0.0`, `--bind 0.0.0.0`, `listen {};`), rebuild or restart the container",
            q.port, q.port
        ),
        CauseCode::NotListening => format!(
            "Nothing in the container listens on {}/{}: check the mapping's container side (`docker ps` shows 0.0.0.0:HOST->{}/{} when it is right) and why the app did not start (`docker logs <container>`)",
            q.proto, q.port, q.port, q.proto
        ),
        _ => return None,
    };
    Some(Fix::text(fix))
}

/// Who listens inside the container `ns`, which holds `to` on `inner`: the listener's findings,
/// said as the container's, and the container's hop.
fn inside_container(
    host_ifs: &[Interface],
    q: &HostQuery,
    family: Family,
    to: IpAddr,
    (ns, inner): (&Netns, &Interface),
) -> (Hop, ListenerOutcome) {
    let place = ns.describe();
    let arrival = Arrival { family, addr: Some(to), iface: Some((inner.index, inner.name.clone())) };
    let inner_ifs = ns.interfaces.known().map(Vec::as_slice).unwrap_or_default();
    let mut lis = listener(&ns.sockets, &ns.sockets_from, inner_ifs, q, &arrival);
    let bridge = veth_peer(host_ifs, ns, inner);
    let found = format!("{to} is {}'s {} address, in {place}{bridge}", inner.name, family.name());
    lis.check.summary = format!("Inside {place}: {}", lis.check.summary);
    lis.check.evidence.insert(0, found.clone());
    lis.hop.component = format!("{place}: {}", lis.hop.component);
    for c in &mut lis.causes {
        c.component = format!("{place}: {}", c.component);
        c.message = format!("Inside the container ({place}): {}", c.message);
        c.evidence.insert(0, found.clone());
        if let Some(f) = container_fix(c.code, &inner.name, q) {
            c.fix.insert(0, f);
        }
    }
    let hop_status = if lis.answerer.is_some() { CheckStatus::Pass } else { lis.check.status };
    (Hop::new(HostHop::Container.as_str(), place, hop_status, found), lis)
}

/// The container behind one endpoint `to`:`to_port` and who listens there. `share` is (which,
/// of how many) when connections are spread over several.
fn endpoint(
    ev: &HostEvidence,
    q: &HostQuery,
    family: Family,
    (to, to_port): (IpAddr, u16),
    rule: &str,
    share: Option<(usize, usize)>,
) -> Endpoint {
    let flow = format!("{}/{}", q.proto, q.port);
    let target = format!("{to}:{to_port}");
    // The listener inside is asked about the translated port.
    let q = &HostQuery { port: to_port, ..q.clone() };
    let routes = ev.routes.known().map(Vec::as_slice).unwrap_or_default();
    let route = route_to(routes, rules_for(ev, family), family, Some(to));
    let host_ifs = ev.interfaces.known().map(Vec::as_slice).unwrap_or_default();
    let unknown = |detail: &str, summary: String, evidence: Vec<String>| Endpoint {
        causes: vec![],
        container_hop: Hop::new(HostHop::Container.as_str(), target.clone(), CheckStatus::Unknown, detail),
        listener: listener_at(&target, CheckStatus::Unknown, summary, evidence),
    };
    let not_held = |namespaces: usize| {
        let via = route.map(route_words).unwrap_or_else(|| "no route".into());
        vec![
            format!("none of the {namespaces} namespaces joined to this host by a veth holds {to} ({})", ev.netns.from),
            format!("the route to {to}: {via} ({})", ev.routes_from(Family::of(&to))),
        ]
    };
    let mut endpoint = match find_holder(ev, host_ifs, route, to) {
        Holder::NamespacesUnread(m) => {
            let summary = format!("Could not look inside the container that {target} belongs to");
            unknown("container namespaces could not be read", summary, vec![m.describe()])
        }
        Holder::MaybeUnread(m) => {
            let summary = format!("Could not look inside every container to find {to}");
            unknown("a container namespace could not be read", summary, vec![m.describe()])
        }
        Holder::AnotherHost(namespaces) => {
            let mut evidence = not_held(namespaces);
            evidence.push(format!(
                "{to} is behind a gateway: the listener is on another host, which portdoctor cannot see from here"
            ));
            unknown("forwarded to another host", format!("{flow} is forwarded to {target}, on another host"), evidence)
        }
        Holder::Gone(namespaces) => gone_container(&flow, (to, &target), not_held(namespaces), rule),
        Holder::Found(ns, inner) => {
            let (container_hop, mut listener) = inside_container(host_ifs, q, family, to, (ns, inner));
            Endpoint { causes: std::mem::take(&mut listener.causes), container_hop, listener }
        }
    };
    endpoint.causes = shared(endpoint.causes, share, &target);
    endpoint
}

/// Says which share of the connections a cause concerns, when there are several endpoints.
fn shared(causes: Vec<Cause>, share: Option<(usize, usize)>, target: &str) -> Vec<Cause> {
    let Some((i, n)) = share else { return causes };
    causes
        .into_iter()
        .map(|mut c| {
            c.message = format!(
                "For the connections sent to {target} (endpoint {i} of {n}, picked at random per connection): {}",
                c.message
            );
            c
        })
        .collect()
}

#[cfg(test)]
mod tests;
