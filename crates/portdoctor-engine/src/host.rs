//! The host layer of `portdoctor host`: where the traffic arrives (each plausible arrival),
//! then for each one the judges in packet order — the datapath below netfilter, the firewall
//! (`host_firewall`), the kernel's routing and reverse-path filter (`kernel_path`), the
//! listener (`listener`) or the container it is forwarded to (`containers`), the accept queue
//! and the conntrack table — joined into one verdict. This module orchestrates; the vocabulary
//! the judges share (the question, the arrival, a host check) is `host_query`, so no judge
//! imports this module.

pub use crate::host_query::HostQuery;

use crate::host_query::{Arrival, host_check};
use crate::listener::{ListenerOutcome, listener, owner_name, socket_component};
use crate::routing::{route_to, route_words};
use portdoctor_model::firewall::FwFamily;
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::host::{Conntrack, HostEvidence, Interface, Route, Socket};
use portdoctor_model::host_path::{HostCheck, HostHop};
use portdoctor_model::net::{Family, Proto, Source, is_loopback};
use portdoctor_model::{
    Cause, CauseCode, Check, CheckStatus, Confidence, Diagnosis, EvidenceSource, Hop, Knowledge, Query,
};
use std::net::IpAddr;

fn iface_of<'a>(ifs: &'a [Interface], addr: &IpAddr) -> Option<&'a Interface> {
    ifs.iter().find(|i| i.addrs.iter().any(|a| a.addr == *addr))
}

/// A place the client's traffic may arrive at, with the check that says why.
struct Plausible {
    arrival: Arrival,
    check: Check,
    /// Why it is plausible ("the default route's interface"), shown when several are judged.
    why: String,
}

impl Plausible {
    /// `eth0 (10.0.1.10, the default route's interface)`.
    fn place(&self) -> String {
        let dev = self.arrival.iface.as_ref().map(|i| i.1.as_str()).unwrap_or("?");
        let addr = self.arrival.addr.map(|a| a.to_string()).unwrap_or_else(|| "?".into());
        format!("{dev} ({addr}, {})", self.why)
    }

    /// `10.0.1.10 (the default route's interface)`.
    fn addr_why(&self) -> String {
        let addr = self.arrival.addr.map(|a| a.to_string()).unwrap_or_else(|| "?".into());
        format!("{addr} ({})", self.why)
    }
}

/// The address a route delivers to: its preferred source, else its interface's primary global
/// address of the family (what the host answers from, and what a client addresses).
fn route_arrival<'a>(ifs: &'a [Interface], r: &Route, family: Family) -> Option<(IpAddr, &'a Interface)> {
    let dev = ifs.iter().find(|i| Some(&i.name) == r.dev.as_ref())?;
    let addr = r.prefsrc.filter(|p| Family::of(p) == family).or_else(|| {
        let mut global: Vec<_> =
            dev.addrs.iter().filter(|a| Family::of(&a.addr) == family && a.scope == "global").collect();
        global.sort_by_key(|a| a.secondary);
        global.first().map(|a| a.addr)
    })?;
    Some((addr, dev))
}

/// An arrival a route leads to, before its check is written.
struct RoutedArrival<'a> {
    addr: IpAddr,
    dev: &'a Interface,
    /// The route's evidence line, then the address's on its interface.
    lines: Vec<String>,
    /// Why it is plausible.
    why: String,
}

/// The routes the client's traffic may arrive by: the route toward the client (`client`; the
/// internet when `None`), then, for a given client, the default route; each with why its
/// arrival is plausible and its evidence line.
fn arrival_routes<'a>(
    ev: &'a HostEvidence,
    family: Family,
    client: Option<IpAddr>,
    from_text: &str,
) -> Vec<(&'a Route, String, String)> {
    let routes = ev.routes.known().map(Vec::as_slice).unwrap_or_default();
    let routes_from = ev.routes_from(family);
    let default_why = "the default route's interface".to_string();
    let mut tried: Vec<(&Route, String, String)> = Vec::new();
    let rules = crate::routing::rules_for(ev, family);
    if let Some(r) = route_to(routes, rules, family, client) {
        let why = if r.dst.prefix() > 0 { format!("the route toward {from_text}") } else { default_why.clone() };
        tried.push((
            r,
            why,
            format!("replies to {from_text} route {} ({routes_from}, table {})", route_words(r), r.table),
        ));
    }
    if client.is_some()
        && let Some(r) = route_to(routes, rules, family, None)
    {
        let line = format!(
            "the default route is {} ({routes_from}, table {}), where traffic to the host's main address usually comes in",
            route_words(r),
            r.table
        );
        tried.push((r, default_why, line));
    }
    tried
}

/// Where each of the `tried` routes delivers, once each; a route with nowhere to arrive is said
/// in `evidence`.
fn routed_arrivals<'a>(
    ev: &HostEvidence,
    ifs: &'a [Interface],
    family: Family,
    tried: Vec<(&Route, String, String)>,
    evidence: &mut Vec<String>,
) -> Vec<RoutedArrival<'a>> {
    let (routes_from, addrs_from) = (ev.routes_from(family), &ev.interfaces.from);
    let mut found: Vec<RoutedArrival> = Vec::new();
    for (r, why, line) in tried {
        let Some((addr, dev)) = route_arrival(ifs, r, family) else {
            evidence.push(format!(
                "the route {} has no usable interface or no global {} address to arrive at ({routes_from}, {addrs_from})",
                route_words(r),
                family.name()
            ));
            continue;
        };
        if found.iter().any(|f| f.addr == addr && f.dev.index == dev.index) {
            continue;
        }
        let lines =
            vec![line, format!("{addr} is the primary {} address of {} ({addrs_from})", family.name(), dev.name)];
        found.push(RoutedArrival { addr, dev, lines, why });
    }
    found
}

/// The arrival when no route says where the traffic arrives (`evidence`: what was tried).
fn no_arrival(family: Family, from_text: &str, mut evidence: Vec<String>) -> Plausible {
    evidence.push(format!(
        "no route toward {from_text} in the main table, or its interface has no global {} address",
        family.name()
    ));
    let summary =
        format!("Could not tell which {} address traffic from {from_text} arrives at; pass --to ADDR", family.name());
    let check = host_check(HostCheck::Address.as_str(), CheckStatus::Unknown, summary).with_evidence(evidence);
    Plausible { arrival: Arrival { family, addr: None, iface: None }, check, why: "unknown".into() }
}

/// Each routed arrival with its check (`evidence`: what every one of them cites first).
fn plausible_arrivals(
    found: Vec<RoutedArrival>,
    evidence: &[String],
    from_text: &str,
    family: Family,
) -> Vec<Plausible> {
    let several = found.len() > 1;
    found
        .into_iter()
        .map(|RoutedArrival { addr, dev, lines, why }| {
            let summary = if several {
                format!("Traffic from {from_text} may arrive at {addr} on {} ({why})", dev.name)
            } else {
                format!("Traffic from {from_text} arrives at {addr} on {}", dev.name)
            };
            let check = host_check(HostCheck::Address.as_str(), CheckStatus::Pass, summary)
                .with_evidence(evidence.iter().cloned().chain(lines));
            Plausible {
                arrival: Arrival { family, addr: Some(addr), iface: Some((dev.index, dev.name.clone())) },
                check,
                why,
            }
        })
        .collect()
}

/// Every plausible arrival. `--to` (or, in `diagnose`, the cloud layer's private address) names
/// the one; without it the traffic may arrive at the interface toward the client (where the
/// host answers from) or at the default route's interface (where traffic to the host's main
/// address comes in) — and when those differ is exactly when reverse-path filtering and reply
/// routing matter, so both are judged rather than one guessed. De-duplicated, the route toward
/// the client first.
fn arrivals(ev: &HostEvidence, q: &HostQuery, notes: &mut Vec<String>) -> Vec<Plausible> {
    let family = q.to.map(|a| Family::of(&a)).or(match q.from {
        Source::Prefix(c) => Some(c.family()),
        Source::Internet => None,
    });
    let family = family.unwrap_or(Family::V4);
    let id = HostCheck::Address.as_str();
    let Some(ifs) = ev.interfaces.known() else {
        let m = ev.interfaces.missing().map(|m| m.describe()).unwrap_or_default();
        let check = host_check(id, CheckStatus::Unknown, "Could not tell which local address the traffic arrives at")
            .with_evidence([m]);
        return vec![Plausible { arrival: Arrival { family, addr: q.to, iface: None }, check, why: "given".into() }];
    };
    if let Some(to) = q.to {
        if let Some(i) = iface_of(ifs, &to) {
            let check = host_check(id, CheckStatus::Pass, format!("Traffic arrives at {to} on {}", i.name))
                .with_evidence([format!("{to} is assigned to {} ({})", i.name, ev.interfaces.from)]);
            let arrival = Arrival { family, addr: Some(to), iface: Some((i.index, i.name.clone())) };
            return vec![Plausible { arrival, check, why: "given".into() }];
        }
        notes.push(format!(
            "{to} is not an address of this host (it was given as where the traffic arrives): behind a 1:1 NAT (an AWS internet gateway, a cloud edge) it arrives translated to one of the host's own addresses, which are judged instead"
        ));
    }
    let client = match q.from {
        Source::Prefix(c) if c.family() == family => Some(c.addr()),
        _ => None,
    };
    let from_text = client.map(|c| c.to_string()).unwrap_or_else(|| "the internet".into());
    let mut evidence: Vec<String> = ev.routes.missing().map(|m| m.describe()).into_iter().collect();
    let tried = arrival_routes(ev, family, client, &from_text);
    let found = routed_arrivals(ev, ifs, family, tried, &mut evidence);
    if found.is_empty() {
        return vec![no_arrival(family, &from_text, evidence)];
    }
    let plausible = plausible_arrivals(found, &evidence, &from_text, family);
    if plausible.len() > 1 {
        let places: Vec<String> = plausible.iter().map(Plausible::place).collect();
        notes.push(format!(
            "where traffic from {from_text} arrives is not given, and more than one arrival is plausible: each is judged — {}. What differs between them names its arrival (checks of the second and later arrivals have ids ending in .arrival2, .arrival3, …); pass --to ADDR to judge one",
            places.join("; ")
        ));
    }
    plausible
}

/// The second sample's name, shortened to what follows the first's stem
/// (`proc-net-netstat.txt`, `proc-net-netstat.later.txt` → `.later.txt`).
fn after_name<'a>(first: &EvidenceSource, second: &'a EvidenceSource) -> &'a str {
    let stem = first.name.rsplit_once('.').map_or(first.name.as_str(), |(stem, _)| stem);
    second.name.strip_prefix(stem).filter(|rest| rest.starts_with('.')).unwrap_or(&second.name)
}

fn counter(c: &Knowledge<portdoctor_model::host::Counters>, name: &str) -> Option<u64> {
    c.known().and_then(|m| m.get("TcpExt")).and_then(|t| t.get(name)).copied()
}

/// Why "nothing listens on FLOW" cannot be confirmed for this family, and how sure it still is: a
/// nat table nobody read may DNAT or REDIRECT the port to another port or host that answers (a
/// kube-proxy NodePort has no listener of its own). A nat table known to be there and unread
/// leaves it possible only, as does a nat rule the walk could not decide (`undecided`); a
/// firewall not read at all (run without root) leaves it likely — no nat table is known to
/// exist, and most hosts forward nothing.
fn unread_nat(ev: &HostEvidence, family: Family, undecided: &[String], flow: &str) -> Option<(Confidence, String)> {
    match &ev.netfilter {
        Knowledge::Unavailable(m) => Some((
            Confidence::Likely,
            format!(
                "not confirmed: the firewall rules, nat tables included, could not be read ({}); a DNAT or REDIRECT there would send {flow} elsewhere",
                m.reason
            ),
        )),
        Knowledge::Known(nf) => {
            let own = match family {
                Family::V4 => FwFamily::Ip,
                Family::V6 => FwFamily::Ip6,
            };
            let unread: Vec<String> = nf
                .unread_nat
                .iter()
                .filter(|(f, _)| *f == own || *f == FwFamily::Inet)
                .map(|(_, what)| what.clone())
                .chain(undecided.iter().map(|r| format!("{r} (a match this version does not model)")))
                .collect();
            (!unread.is_empty()).then(|| {
                (
                    Confidence::Possible,
                    format!(
                        "not confirmed: nat rules were not read or not decided — {}; a DNAT or REDIRECT there may send {flow} to another port or host that answers",
                        unread.join("; ")
                    ),
                )
            })
        }
    }
}

/// Accept-queue overflow of the answering TCP listener (a full queue drops new SYNs: tcp_conn_request).
fn listen_queue(ev: &HostEvidence, s: &Socket) -> (Check, Option<Cause>) {
    let id = HostCheck::ListenQueue.as_str();
    // sk_acceptq_is_full(): full when the queue is longer than the backlog.
    let full = s.recv_q > s.send_q;
    let before = counter(&ev.netstat, "ListenOverflows");
    let after = counter(&ev.netstat_later, "ListenOverflows");
    let rising = match (before, after) {
        (Some(b), Some(a)) if a > b => Some(a - b),
        _ => None,
    };
    let mut evidence = vec![format!(
        "accept queue of {} on {}: {} waiting, backlog {} ({} via sock_diag)",
        s.owner_text(),
        s.local_text(),
        s.recv_q,
        s.send_q,
        ev.sockets.from
    )];
    match (before, after) {
        (Some(b), Some(a)) => evidence.push(format!(
            "TcpExt ListenOverflows {b} → {a} during collection, ListenDrops {} ({}, {})",
            counter(&ev.netstat_later, "ListenDrops").unwrap_or(0),
            ev.netstat.from,
            after_name(&ev.netstat.from, &ev.netstat_later.from)
        )),
        (Some(b), None) => evidence.push(format!("TcpExt ListenOverflows {b} since boot ({})", ev.netstat.from)),
        _ => evidence.push(format!("TcpExt counters unavailable ({})", ev.netstat.from)),
    }
    let name = owner_name(s);
    if full {
        let confidence = if rising.is_some() { Confidence::Confirmed } else { Confidence::Likely };
        let message = format!(
            "The accept queue of {} on {} is full ({} waiting, backlog {}): new connections are dropped",
            s.owner_text(),
            s.local_text(),
            s.recv_q,
            s.send_q
        );
        let cause = Cause::blocking(CauseCode::ListenQueueOverflow, socket_component(s), confidence, message.clone())
            .with_evidence(evidence.clone())
            .with_fix([
                Fix::text(format!("{name} is not accepting connections fast enough, or is hung: look at it (`top -p PID`, `strace -p PID`, its logs) and restart it if stuck")),
                Fix::text(format!("Raise its listen backlog (e.g. nginx `listen {} backlog=4096;`) and `sysctl -w net.core.somaxconn=4096` (persist in /etc/sysctl.d/)", s.port)),
            ]);
        return (host_check(id, CheckStatus::Fail, message).with_evidence(evidence), Some(cause));
    }
    if let Some(n) = rising {
        let summary = format!(
            "Accept queue has room now, but ListenOverflows rose by {n} during collection (some listener in this namespace overflowed)"
        );
        return (host_check(id, CheckStatus::Warn, summary).with_evidence(evidence), None);
    }
    (
        host_check(id, CheckStatus::Pass, format!("Accept queue has room ({} of {})", s.recv_q, s.send_q))
            .with_evidence(evidence),
        None,
    )
}

fn conntrack(ev: &HostEvidence) -> (Check, Option<Cause>) {
    let id = HostCheck::Conntrack.as_str();
    match &ev.conntrack.fact {
        Knowledge::Unavailable(m) => (
            host_check(id, CheckStatus::Unknown, "Could not read the conntrack table's size")
                .with_evidence([m.describe()]),
            None,
        ),
        Knowledge::Known(Conntrack::NotLoaded) => (
            host_check(id, CheckStatus::Pass, "nf_conntrack is not loaded: no connection table to fill")
                .with_evidence([format!("no net.netfilter.nf_conntrack_count ({})", ev.conntrack.from)]),
            None,
        ),
        Knowledge::Known(Conntrack::Loaded { count, max, drop, early_drop, insert_failed, stats_from }) => {
            let mut evidence = vec![format!(
                "net.netfilter.nf_conntrack_count = {count}, nf_conntrack_max = {max} ({})",
                ev.conntrack.from
            )];
            let drops: Vec<String> = [("drop", drop), ("early_drop", early_drop), ("insert_failed", insert_failed)]
                .iter()
                .filter_map(|(n, v)| v.map(|v| format!("{n} {v}")))
                .collect();
            if !drops.is_empty() {
                evidence.push(format!("{} since boot ({stats_from})", drops.join(", ")));
            }
            if *max > 0 && count >= max {
                let message =
                    format!("The conntrack table is full ({count} of {max} entries): the kernel drops new flows");
                let cause = Cause::blocking(CauseCode::ConntrackTableFull, "nf_conntrack", Confidence::Confirmed, message.clone())
                    .with_evidence(evidence.clone())
                    .with_fix([
                        Fix::text("Raise the limit now: ")
                            .then_run(ShellCommand::new("sysctl -w").word(Word::lit("net.netfilter.nf_conntrack_max=").val(max.saturating_mul(2))))
                            .then_text("; persist it in /etc/sysctl.d/90-conntrack.conf"),
                        Fix::text("Find what fills it: `conntrack -S` and `conntrack -L | awk '{print $5}' | sort | uniq -c | sort -rn | head` (a flood, or a leak of long timeouts)"),
                    ]);
                return (host_check(id, CheckStatus::Fail, message).with_evidence(evidence), Some(cause));
            }
            if *max > 0 && count.saturating_mul(10) >= max.saturating_mul(9) {
                return (
                    host_check(id, CheckStatus::Warn, format!("The conntrack table is nearly full ({count} of {max})"))
                        .with_evidence(evidence),
                    None,
                );
            }
            (
                host_check(id, CheckStatus::Pass, format!("The conntrack table has room ({count} of {max})"))
                    .with_evidence(evidence),
                None,
            )
        }
    }
}

/// Several endpoints (connections spread at random): every one's causes; the listener and hop
/// shown on the path are the first that fails (or the first), the others' checks are added.
/// The port answers only if every endpoint does.
fn endpoints(
    eps: Vec<crate::containers::Endpoint>,
    checks: &mut Vec<Check>,
    causes: &mut Vec<Cause>,
) -> (ListenerOutcome, Hop) {
    let all_answer = eps.iter().all(|e| e.listener.answerer.is_some());
    let shown = eps.iter().position(|e| e.listener.answerer.is_none()).unwrap_or(0);
    let mut picked = None;
    for (i, e) in eps.into_iter().enumerate() {
        causes.extend(e.causes);
        if i == shown {
            picked = Some((e.listener, e.container_hop));
        } else {
            // One `host.listener` check (the one on the path); the others by endpoint number.
            let mut c = e.listener.check;
            c.id = format!("{}.endpoint{}", HostCheck::Listener.as_str(), i + 1);
            checks.push(c);
        }
    }
    let (mut lis, hop) = picked.expect("at least one endpoint");
    if !all_answer {
        lis.answerer = None;
    }
    (lis, hop)
}

/// The listener side's question: the flow as asked (`q`), as the listener sees it after any
/// redirect (`lq`), and the socket that answers it, if one does.
struct ListenerSide<'a> {
    ev: &'a HostEvidence,
    q: &'a HostQuery,
    lq: &'a HostQuery,
    family: Family,
    answerer: Option<&'a Socket>,
}

/// SELinux, TCP wrappers and systemd on the listener side of this host: adds their checks, and
/// their causes (amending a NOT_LISTENING one with why), and marks the listener hop.
fn host_services(side: &ListenerSide<'_>, listener_hop: &mut Hop, checks: &mut Vec<Check>, causes: &mut Vec<Cause>) {
    let ListenerSide { ev, q, lq, family, answerer } = *side;
    // SELinux explains a service that could not bind; it never blocks a socket that listens.
    let (se_check, se_cause) = crate::selinux::judge(ev, lq.proto, lq.port, answerer.is_some());
    if let Some(c) = se_cause {
        for nl in causes.iter_mut().filter(|c| c.code == CauseCode::NotListening) {
            nl.evidence.push(format!("why: {} (see SELINUX_BIND_DENIED)", c.message));
        }
        causes.insert(0, c);
    }
    checks.push(se_check);
    // TCP wrappers, for a daemon that links libwrap and answers.
    if let (Some(sock), Proto::Tcp) = (answerer, lq.proto) {
        let sources = portdoctor_model::addrset::clients(&q.from, family);
        let (wrap_check, wrap_cause) = crate::wrappers::judge(ev, sock, &sources, matches!(q.from, Source::Internet));
        if let Some(c) = &wrap_cause {
            listener_hop.status = CheckStatus::Fail;
            listener_hop.detail = c.message.clone();
        }
        checks.push(wrap_check);
        causes.extend(wrap_cause);
    }
    // Nothing listens: which service should, and what became of it.
    if causes.iter().any(|c| c.code == CauseCode::NotListening) {
        let (svc_check, evidence, fix) = crate::services::why_not_listening(ev, lq.proto, lq.port);
        for nl in causes.iter_mut().filter(|c| c.code == CauseCode::NotListening) {
            nl.evidence.extend(evidence.iter().cloned());
            if !fix.is_empty() {
                nl.fix = fix.iter().cloned().chain(nl.fix.drain(..)).collect();
            }
        }
        checks.push(svc_check);
    }
}

/// One arrival's findings, before the arrivals are joined.
struct Judged {
    causes: Vec<Cause>,
    checks: Vec<Check>,
    path: Vec<Hop>,
    reachable: String,
    target: Option<String>,
}

/// The host layers for traffic arriving as `p` says.
fn judge_arrival(ev: &HostEvidence, q: &HostQuery, p: Plausible, notes: &mut Vec<String>) -> Judged {
    let (arr, address_check) = (p.arrival, p.check);
    let fw = crate::host_firewall::host_firewall(ev, q, arr.addr, arr.iface.as_ref().map(|i| i.1.as_str()), arr.family);
    // A PREROUTING REDIRECT/DNAT changes what the listener must accept; to an address that is
    // not this host's, the connection is forwarded to a container and judged there.
    let local_addrs = ev.local_addrs();
    let is_local = |a: &IpAddr| is_loopback(a) || local_addrs.contains(a);
    let elsewhere: Vec<(IpAddr, u16, String)> = fw.nats.iter().filter(|(a, _, _)| !is_local(a)).cloned().collect();
    let ingress = arr.iface.as_ref().map(|i| i.1.as_str());
    let forwarded =
        (!elsewhere.is_empty()).then(|| crate::containers::forwarded(ev, q, arr.family, ingress, &elsewhere));
    let (lq, larr) = listener_target(q, &arr, fw.nats.first(), forwarded.is_none(), notes);
    let ifs = ev.interfaces.known().map(Vec::as_slice).unwrap_or_default();
    // In packet order: XDP and tc ingress see the packet before netfilter does.
    let xdp = crate::datapath::xdp(ev, q, ingress);
    let tc = crate::datapath::tc_ingress(ev, q, ingress);
    let mut checks = vec![address_check.clone(), xdp.clone(), tc.clone()];
    checks.extend(fw.checks);
    let mut causes = fw.causes;
    // In packet order: PREROUTING, then the routing decision (IP forwarding), then FORWARD, then
    // the endpoints.
    let (mut lis, container_hop) = match forwarded {
        Some(f) => {
            checks.extend(f.checks);
            let forwarding_off = !f.causes.is_empty();
            causes.extend(f.causes);
            causes.extend(fw.forward_causes.into_iter().map(|mut c| {
                if forwarding_off {
                    c.message += " (once IP forwarding is on again)";
                }
                c
            }));
            let (lis, hop) = endpoints(f.endpoints, &mut checks, &mut causes);
            (lis, Some(hop))
        }
        None => {
            causes.extend(fw.forward_causes);
            (listener(&ev.sockets, &ev.sockets.from, ifs, &lq, &larr), None)
        }
    };
    let in_container = container_hop.is_some();
    if lis.answerer.is_some() {
        causes.extend(fw.after_handshake);
    }
    if !in_container
        && lis.causes.iter().any(|c| c.code == CauseCode::NotListening)
        && let Some((confidence, why)) =
            unread_nat(ev, arr.family, &fw.nat_undecided, &format!("{}/{}", q.proto, q.port))
    {
        for c in lis.causes.iter_mut().filter(|c| c.code == CauseCode::NotListening) {
            c.confidence = c.confidence.max(confidence);
            c.evidence.insert(0, why.clone());
        }
        lis.check.evidence.push(why);
    }
    causes.extend(lis.causes);
    let (rp, rp_causes) =
        crate::kernel_path::kernel_path(ev, &q.from, arr.addr, arr.iface.as_ref().map(|i| i.1.as_str()));
    causes.extend(rp_causes);
    let (route, route_causes) = crate::kernel_path::routing(ev, &q.from, arr.addr, ingress);
    causes.extend(route_causes);
    let (xfrm, xfrm_causes) = crate::datapath::xfrm(ev, q, arr.addr, arr.family);
    causes.extend(xfrm_causes);
    let (ct_check, ct_cause) = conntrack(ev);
    let kernel_hop = kernel_hop([&xdp, &tc, &route, &rp, &xfrm, &ct_check], (&rp, &ct_check));
    checks.extend([route, rp, xfrm, ct_check, lis.check.clone()]);
    checks.extend(lis.owner_check);
    let mut listener_hop = lis.hop;
    let (queue_check, queue_cause) = accept_queue(ev, q.proto, lis.answerer.as_ref(), in_container);
    if queue_check.status == CheckStatus::Fail {
        listener_hop.status = CheckStatus::Fail;
        listener_hop.detail = queue_check.summary.clone();
    }
    checks.push(queue_check);
    causes.extend(queue_cause);
    causes.extend(ct_cause);
    // The host's own services: what SELinux, TCP wrappers and systemd say about them does not
    // apply to a process in a container's namespace.
    if !in_container {
        let side = ListenerSide { ev, q, lq: &lq, family: arr.family, answerer: lis.answerer.as_ref() };
        host_services(&side, &mut listener_hop, &mut checks, &mut causes);
    }

    let dst = arr.addr.map(|a| a.to_string());
    let mut path = vec![nic_hop(&arr, &address_check, dst.as_deref()), fw.hop, kernel_hop];
    path.extend(container_hop);
    let reachable = reachable_summary(q, dst.as_deref(), lis.answerer.as_ref(), in_container, &listener_hop);
    path.push(listener_hop);
    Judged { causes, checks, path, reachable, target: dst }
}

/// Where the listener is asked about: where PREROUTING NAT sends the traffic (noted unless it
/// goes on to a container, which is judged there), else the arrival itself.
fn listener_target(
    q: &HostQuery,
    arr: &Arrival,
    nat: Option<&(IpAddr, u16, String)>,
    noted: bool,
    notes: &mut Vec<String>,
) -> (HostQuery, Arrival) {
    match nat {
        Some((addr, port, rule)) => {
            if noted {
                notes.push(format!(
                    "the listener is checked on {addr}:{port}, where PREROUTING NAT sends the traffic ({rule})"
                ));
            }
            (HostQuery { port: *port, ..q.clone() }, Arrival { addr: Some(*addr), ..arr.clone() })
        }
        None => (q.clone(), arr.clone()),
    }
}

/// The accept-queue check of the socket that answers (TCP on this host only).
fn accept_queue(
    ev: &HostEvidence,
    proto: Proto,
    answerer: Option<&Socket>,
    in_container: bool,
) -> (Check, Option<Cause>) {
    let skipped = |why| (host_check(HostCheck::ListenQueue.as_str(), CheckStatus::Skipped, why), None);
    match (answerer, proto) {
        (Some(_), Proto::Tcp) if in_container => {
            skipped("The listener is in a container: its accept-queue counters live in that namespace")
        }
        (Some(s), Proto::Tcp) => listen_queue(ev, s),
        (_, Proto::Udp) => skipped("UDP has no accept queue"),
        (None, Proto::Tcp) => skipped("No listener accepts the flow, so there is no accept queue to judge"),
    }
}

/// The kernel hop: the worst of its checks, and what decides there — the checks that are not
/// plain passes, or (when all pass) the two it always judged, rp_filter and conntrack.
fn kernel_hop(kernel: [&Check; 6], (rp, ct): (&Check, &Check)) -> Hop {
    let severity = |s: &CheckStatus| match s {
        CheckStatus::Fail => 4,
        CheckStatus::Unknown => 3,
        CheckStatus::Warn => 2,
        CheckStatus::Pass => 1,
        CheckStatus::Skipped => 0,
    };
    let status = kernel.iter().map(|c| c.status).max_by_key(severity).unwrap_or(CheckStatus::Pass);
    let noteworthy: Vec<&str> = kernel
        .iter()
        .filter(|c| !matches!(c.status, CheckStatus::Pass | CheckStatus::Skipped))
        .map(|c| c.summary.as_str())
        .collect();
    let detail = if noteworthy.is_empty() { format!("{}; {}", rp.summary, ct.summary) } else { noteworthy.join("; ") };
    Hop::new(HostHop::Kernel.as_str(), "XDP, tc, routing, rp_filter, xfrm, nf_conntrack", status, detail)
}

/// The nic hop: the interface and address the traffic arrives at.
fn nic_hop(arr: &Arrival, address_check: &Check, dst: Option<&str>) -> Hop {
    match (&arr.iface, dst) {
        (Some((_, name)), Some(d)) => {
            Hop::new(HostHop::Nic.as_str(), name.clone(), address_check.status, format!("arrives at {d}"))
        }
        _ => Hop::new(HostHop::Nic.as_str(), "?", address_check.status, address_check.summary.clone()),
    }
}

/// What a reachable verdict says: who answers, here or in a container.
fn reachable_summary(
    q: &HostQuery,
    dst: Option<&str>,
    answerer: Option<&Socket>,
    in_container: bool,
    listener_hop: &Hop,
) -> String {
    let dst = dst.unwrap_or("this host");
    match answerer {
        Some(_) if in_container => format!(
            "{}/{} to {dst} is admitted by the host firewall, forwarded, and answered by {}",
            q.proto, q.port, listener_hop.component
        ),
        Some(s) => format!(
            "{}/{} to {dst} is admitted by the host firewall and answered by {} on {}",
            q.proto,
            q.port,
            s.owner_text(),
            s.local_text()
        ),
        None => String::new(),
    }
}

pub fn diagnose_host(ev: &HostEvidence, q: &HostQuery) -> Diagnosis {
    let mut notes = ev.notes.clone();
    let plausible = arrivals(ev, q, &mut notes);
    let places: Vec<(String, String)> = plausible.iter().map(|p| (p.place(), p.addr_why())).collect();
    let judged: Vec<Judged> = plausible.into_iter().map(|p| judge_arrival(ev, q, p, &mut notes)).collect();
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    let j = join_arrivals(judged, &places);
    let query = Query {
        command: "host".into(),
        target: j.target,
        port: q.port,
        protocol: q.proto,
        from: q.from,
        instance: None,
    };
    let mut d = Diagnosis::new(query, j.causes, j.checks, j.path, j.reachable);
    d.notes = notes;
    d
}

/// Arrival `k`'s items, each with whether every arrival has it alike; an item shared by all is
/// given once, with the first arrival's.
fn per_arrival<T: PartialEq + Clone>(lists: &[&[T]], k: usize) -> Vec<(bool, T)> {
    lists[k]
        .iter()
        .map(|x| (lists.iter().all(|l| l.contains(x)), x))
        .filter(|(shared, _)| k == 0 || !shared)
        .map(|(shared, x)| (shared, x.clone()))
        .collect()
}

/// Checks whose own summary already says where the traffic arrives.
const ADDRESS_CHECK: &str = HostCheck::Address.as_str();

/// One report from several arrivals' findings: what every arrival finds alike appears once, as
/// it is; what differs names its arrival ("Arriving on eth0 (10.0.1.10, the default route's
/// interface): …"), and the second and later arrivals' checks get ids ending in `.arrivalN`. The
/// path and target shown are the first blocked arrival's (else the first's). Blocked when any
/// arrival is: a client whose traffic arrives there is cut off.
/// `places`: each arrival's place and its address with why it is plausible.
fn join_arrivals(mut judged: Vec<Judged>, places: &[(String, String)]) -> Judged {
    if judged.len() == 1 {
        return judged.remove(0);
    }
    let check_lists: Vec<&[Check]> = judged.iter().map(|j| j.checks.as_slice()).collect();
    let cause_lists: Vec<&[Cause]> = judged.iter().map(|j| j.causes.as_slice()).collect();
    let mut checks: Vec<Check> = Vec::new();
    let mut causes: Vec<Cause> = Vec::new();
    for (k, place) in places.iter().enumerate() {
        let prefix = format!("Arriving on {}: ", place.0);
        for (shared, mut c) in per_arrival(&check_lists, k) {
            if !shared {
                if k > 0 {
                    c.id = format!("{}.arrival{}", c.id, k + 1);
                }
                if !c.id.starts_with(ADDRESS_CHECK) {
                    c.summary.insert_str(0, &prefix);
                }
            }
            checks.push(c);
        }
        for (shared, mut c) in per_arrival(&cause_lists, k) {
            if !shared {
                c.message.insert_str(0, &prefix);
            }
            causes.push(c);
        }
    }
    let shown = judged.iter().position(|j| j.causes.iter().any(Cause::decides_blocked)).unwrap_or(0);
    let target = judged[shown].target.clone();
    let all: Vec<&str> = places.iter().map(|p| p.0.as_str()).collect();
    let reachable = format!("{} — on every plausible arrival: {}", judged[0].reachable, all.join("; "));
    let mut path = std::mem::take(&mut judged[shown].path);
    if let Some(nic) = path.iter_mut().find(|h| h.hop == HostHop::Nic.as_str()) {
        let others: Vec<&str> =
            places.iter().enumerate().filter(|(k, _)| *k != shown).map(|(_, p)| p.0.as_str()).collect();
        nic.detail = format!("may arrive at {}; also judged: {}", places[shown].1, others.join("; "));
    }
    Judged { causes, checks, path, reachable, target }
}

#[cfg(test)]
pub(crate) mod tests;
