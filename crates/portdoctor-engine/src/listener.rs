//! Who takes the flow on this host: the listening sockets judged for the arrival (address,
//! family, loopback, SO_BINDTODEVICE), or why nothing does, with the fix.
//!
//! Kernel semantics (net/ipv4/inet_hashtables.c, net/ipv6/inet6_hashtables.c): a TCP SYN or UDP
//! datagram is delivered to a socket bound to the destination address or to the wildcard, in the
//! packet's family — or to an IPv6 wildcard socket without IPV6_V6ONLY, which also takes IPv4
//! (ipv6(7)). SO_BINDTODEVICE restricts a socket to one ingress interface (socket(7)).

use crate::host_query::{Arrival, HostQuery, host_check};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::{Interface, Socket};
use portdoctor_model::host_path::{HostCheck, HostHop};
use portdoctor_model::net::{Family, Proto, is_loopback};
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, EvidenceSource, Hop, Knowledge, Layer,
};
use std::net::IpAddr;

/// Why a socket does not take the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    Loopback,
    Family,
    Address,
    Device(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Judgement {
    /// Takes the flow; higher scores win when several could (the kernel prefers an exact address,
    /// its own family and a device binding: compute_score in inet_hashtables.c).
    Accepts(u8),
    Refuses(Refusal),
    /// Bound to a specific address while we do not know where the traffic arrives.
    Unknown,
}

fn judge(s: &Socket, a: &Arrival, ifs: &[Interface]) -> Judgement {
    let dst = a.addr;
    let dst_is_loopback = dst.is_some_and(|d| is_loopback(&d));
    if is_loopback(&s.local) && !dst_is_loopback {
        return Judgement::Refuses(Refusal::Loopback);
    }
    let addr_match = |bound: IpAddr| -> Option<u8> {
        if bound.is_unspecified() {
            Some(0)
        } else if Some(bound) == dst {
            Some(2)
        } else {
            None
        }
    };
    let base = match (s.local, a.family) {
        (IpAddr::V4(_), Family::V4) | (IpAddr::V6(_), Family::V6) => match addr_match(s.local) {
            Some(score) => score + 1,
            None if dst.is_none() => return Judgement::Unknown,
            None => return Judgement::Refuses(Refusal::Address),
        },
        (IpAddr::V6(v6), Family::V4) => match v6.to_ipv4_mapped() {
            Some(m) => match addr_match(IpAddr::V4(m)) {
                Some(score) => score,
                None if dst.is_none() => return Judgement::Unknown,
                None => return Judgement::Refuses(Refusal::Address),
            },
            None if v6.is_unspecified() && s.v6only != Some(true) => 0,
            None => return Judgement::Refuses(Refusal::Family),
        },
        (IpAddr::V4(_), Family::V6) => return Judgement::Refuses(Refusal::Family),
    };
    match (s.bound_ifindex, &a.iface) {
        (Some(bound), Some((ingress, _))) if bound != *ingress => {
            let name = ifs
                .iter()
                .find(|i| i.index == bound)
                .map(|i| i.name.clone())
                .unwrap_or_else(|| format!("ifindex {bound}"));
            Judgement::Refuses(Refusal::Device(name))
        }
        (Some(_), _) => Judgement::Accepts(base + 1),
        (None, _) => Judgement::Accepts(base),
    }
}

pub(crate) fn socket_component(s: &Socket) -> String {
    format!("{} {}", s.proto, s.local_text())
}

pub(crate) fn sock_evidence(s: &Socket, from: &EvidenceSource) -> String {
    let mut e = format!("{} listens on {} ({}", s.owner_text(), s.local_text(), s.proto);
    if s.v6only == Some(true) {
        e += ", IPV6_V6ONLY";
    }
    if let Some(i) = s.bound_ifindex {
        e += &format!(", SO_BINDTODEVICE ifindex {i}");
    }
    e + &format!("; {from} via sock_diag)")
}

pub(crate) fn owner_name(s: &Socket) -> String {
    match s.owners.known().and_then(|p| p.first()) {
        Some(p) => p.name.clone(),
        None => "the service".into(),
    }
}

/// `ss -lnp '( sport = :PORT )'`: who listens on the port.
fn ss_listening(port: u16) -> ShellCommand {
    ShellCommand::new("ss -lnp").arg(format!("( sport = :{port} )"))
}

fn refusal_cause(r: &Refusal, socks: &[&Socket], sockets_from: &EvidenceSource, a: &Arrival, q: &HostQuery) -> Cause {
    let s = socks[0];
    let owner = s.owner_text();
    let name = owner_name(s);
    let dst = a.addr.map(|d| d.to_string()).unwrap_or_else(|| "this host".into());
    let flow = format!("{}/{}", q.proto, q.port);
    let any4 = format!("0.0.0.0:{}", q.port);
    // Where the traffic arrives, as a listen address of its own family.
    let (any, at) = match (a.family, a.addr) {
        (Family::V6, Some(d)) => (format!("[::]:{}", q.port), format!("[{d}]:{}", q.port)),
        _ => (any4.clone(), format!("{dst}:{}", q.port)),
    };
    let all = if a.family == Family::V6 { "all addresses" } else { "all IPv4 addresses" };
    let (code, message, fix) = match r {
        Refusal::Loopback => (
            CauseCode::ListenerLoopbackOnly,
            format!("{owner} listens on {} only: {flow} arriving at {dst} is refused", s.local_text()),
            vec![
                Fix::text(format!(
                    "Make {name} listen on {any} ({all}) or {at} in its configuration (nginx `listen {};`, a `--bind 0.0.0.0`/`--host 0.0.0.0` option), then restart it",
                    q.port
                )),
                Fix::text("Check: ").then_run(ss_listening(q.port)),
            ],
        ),
        Refusal::Family if a.family == Family::V4 => (
            CauseCode::ListenerFamilyMismatch,
            format!("{owner} listens on {} with IPV6_V6ONLY set: IPv4 {flow} to {dst} is refused", s.local_text()),
            vec![
                Fix::text(format!(
                    "Let {name} accept IPv4 too: clear IPV6_V6ONLY in its settings (nginx `listen [::]:{} ipv6only=off;`), or add an IPv4 listener on {any4}",
                    q.port
                )),
                Fix::text(
                    "If it relies on the system default, check `sysctl net.ipv6.bindv6only` (0 means dual-stack)",
                ),
            ],
        ),
        Refusal::Family => (
            CauseCode::ListenerFamilyMismatch,
            format!("{owner} listens on {} (IPv4 only): IPv6 {flow} to {dst} is refused", s.local_text()),
            vec![Fix::text(format!("Add an IPv6 listener to {name}: [::]:{} (or [{dst}]:{})", q.port, q.port))],
        ),
        Refusal::Address => (
            CauseCode::ListenerAddressMismatch,
            format!("{owner} listens on {} but {flow} arrives at {dst}", s.local_text()),
            vec![Fix::text(format!(
                "Make {name} listen on {any} or {at} (its bind/listen address setting), then restart it"
            ))],
        ),
        Refusal::Device(dev) => (
            CauseCode::ListenerAddressMismatch,
            format!(
                "{owner} is bound to interface {dev} (SO_BINDTODEVICE) but {flow} arrives on {}",
                a.iface.as_ref().map(|i| i.1.as_str()).unwrap_or("another interface")
            ),
            vec![Fix::text(format!(
                "Bind {name} to the interface the traffic arrives on, or remove its device binding (e.g. its `interface`/`bind-interface` setting)"
            ))],
        ),
    };
    Cause::blocking(code, socket_component(s), Confidence::Confirmed, message)
        .with_evidence(socks.iter().map(|s| sock_evidence(s, sockets_from)))
        .with_fix(fix)
}

pub(crate) struct ListenerOutcome {
    pub check: Check,
    pub hop: Hop,
    pub causes: Vec<Cause>,
    pub answerer: Option<Socket>,
    pub owner_check: Option<Check>,
}

/// What the sockets on the flow's port decide, before it is put in words.
enum Listening<'a> {
    /// The best of the sockets that take the flow (the kernel's pick).
    Accepted(&'a Socket),
    /// No socket of the flow's protocol is on its port.
    Nothing,
    /// A socket is bound to a specific address, and the arrival address is unknown.
    ArrivalUnknown,
    /// Every socket refuses: each kind of refusal, in the order first met, with its sockets.
    Refused(Vec<(Refusal, Vec<&'a Socket>)>),
}

/// Who takes the flow among `candidates` (the sockets on its port), arriving as `a` says.
fn decide_listener<'a>(candidates: &[&'a Socket], a: &Arrival, ifs: &[Interface]) -> Listening<'a> {
    let judged: Vec<(&Socket, Judgement)> = candidates.iter().map(|s| (*s, judge(s, a, ifs))).collect();
    let best = judged
        .iter()
        .filter_map(|(s, j)| match j {
            Judgement::Accepts(score) => Some((*score, *s)),
            _ => None,
        })
        .max_by_key(|(score, _)| *score);
    if let Some((_, s)) = best {
        return Listening::Accepted(s);
    }
    if candidates.is_empty() {
        return Listening::Nothing;
    }
    if judged.iter().any(|(_, j)| *j == Judgement::Unknown) {
        return Listening::ArrivalUnknown;
    }
    let mut refusals: Vec<(Refusal, Vec<&Socket>)> = Vec::new();
    for (s, j) in judged {
        if let Judgement::Refuses(r) = j {
            match refusals.iter_mut().find(|(kind, _)| *kind == r) {
                Some((_, socks)) => socks.push(s),
                None => refusals.push((r, vec![s])),
            }
        }
    }
    Listening::Refused(refusals)
}

/// The ports of the flow's protocol that do listen (the first 20), for "nothing listens".
fn listening_ports(sockets: &[Socket], proto: Proto) -> String {
    let mut ports: Vec<u16> =
        sockets.iter().filter(|s| s.proto == proto && s.accepts_new_flows()).map(|s| s.port).collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return format!("no {proto} port is listening at all");
    }
    let shown: Vec<String> = ports.iter().take(20).map(u16::to_string).collect();
    format!("{proto} ports listening here: {}{}", shown.join(", "), if ports.len() > 20 { ", …" } else { "" })
}

/// Start the service that should answer on the flow, or read why it did not bind.
fn start_service_fixes(flow: &str, port: u16) -> [Fix; 2] {
    [
        Fix::text(format!(
            "Start the service that should answer on {flow} (e.g. `systemctl start <unit>`), then check: "
        ))
        .then_run(ss_listening(port)),
        Fix::text(
            "If it is running but did not bind, read why: `systemctl status <unit>` and `journalctl -u <unit> -n 50`",
        ),
    ]
}

/// "Nothing listens on FLOW", citing the sockets read and the ports that do listen.
fn not_listening(sockets: &[Socket], sockets_from: &EvidenceSource, q: &HostQuery, flow: &str) -> Cause {
    let what = if q.proto == Proto::Tcp { "in LISTEN state" } else { "bound" };
    let evidence = [
        format!(
            "no {} socket {what} on port {} among the {} sockets read via sock_diag ({sockets_from})",
            q.proto,
            q.port,
            sockets.len()
        ),
        listening_ports(sockets, q.proto),
    ];
    let message = format!("Nothing listens on {flow}: no socket accepts it on this host");
    Cause::blocking(CauseCode::NotListening, flow, Confidence::Confirmed, message)
        .with_evidence(evidence)
        .with_fix(start_service_fixes(flow, q.port))
}

/// The warning that the owner of a socket on the port could not be seen.
fn unknown_owner_check(candidates: &[&Socket]) -> Option<Check> {
    candidates.iter().find_map(|s| s.owners.missing()).map(|m| {
        Check::new(
            HostCheck::ListenerOwner.as_str(),
            Layer::Host,
            CheckKind::Context,
            CheckStatus::Warn,
            "Could not see which process owns the socket",
        )
        .with_evidence([m.describe()])
    })
}

/// The listener's check and hop when the sockets could not be read.
fn sockets_unread(sockets: &Knowledge<Vec<Socket>>, flow: &str) -> ListenerOutcome {
    let m = sockets.missing().map(|m| m.describe()).unwrap_or_default();
    ListenerOutcome {
        check: host_check(
            HostCheck::Listener.as_str(),
            CheckStatus::Unknown,
            format!("Could not read the sockets listening on {flow}"),
        )
        .with_evidence([m]),
        hop: Hop::new(HostHop::Listener.as_str(), flow, CheckStatus::Unknown, "sockets could not be read"),
        causes: vec![],
        answerer: None,
        owner_check: None,
    }
}

/// Who accepts the flow among `sockets` (one namespace's), arriving as `a` says.
pub(crate) fn listener(
    sockets: &Knowledge<Vec<Socket>>,
    sockets_from: &EvidenceSource,
    ifs: &[Interface],
    q: &HostQuery,
    a: &Arrival,
) -> ListenerOutcome {
    let id = HostCheck::Listener.as_str();
    let flow = format!("{}/{}", q.proto, q.port);
    let Some(sockets) = sockets.known() else {
        return sockets_unread(sockets, &flow);
    };
    let candidates: Vec<&Socket> =
        sockets.iter().filter(|s| s.proto == q.proto && s.port == q.port && s.accepts_new_flows()).collect();
    let owner_check = unknown_owner_check(&candidates);
    let evidence: Vec<String> = candidates.iter().map(|s| sock_evidence(s, sockets_from)).collect();
    let hop =
        |component: String, status, summary: &str| Hop::new(HostHop::Listener.as_str(), component, status, summary);
    let (check, hop, causes, answerer) = match decide_listener(&candidates, a, ifs) {
        Listening::Accepted(s) => {
            let dst = a.addr.map(|d| d.to_string()).unwrap_or_else(|| "this host".into());
            let summary = format!("{} listens on {} and accepts {flow} to {dst}", s.owner_text(), s.local_text());
            let check = host_check(id, CheckStatus::Pass, summary.clone()).with_evidence(evidence);
            (check, hop(socket_component(s), CheckStatus::Pass, &summary), vec![], Some(s.clone()))
        }
        Listening::Nothing => {
            let cause = not_listening(sockets, sockets_from, q, &flow);
            let check = host_check(id, CheckStatus::Fail, cause.message.clone()).with_evidence(cause.evidence.clone());
            (check, hop(flow, CheckStatus::Fail, &cause.message), vec![cause], None)
        }
        Listening::ArrivalUnknown => {
            let summary =
                format!("{flow} has listeners bound to specific addresses, and the arrival address is unknown");
            let check = host_check(id, CheckStatus::Unknown, summary.clone()).with_evidence(
                evidence.into_iter().chain(["pass --to ADDR to say where the traffic arrives".to_string()]),
            );
            (check, hop(flow, CheckStatus::Unknown, &summary), vec![], None)
        }
        // Nothing accepts: one cause per kind of refusal, each citing its sockets.
        Listening::Refused(refusals) => {
            let causes: Vec<Cause> =
                refusals.iter().map(|(r, socks)| refusal_cause(r, socks, sockets_from, a, q)).collect();
            let summary = causes.first().map(|c| c.message.clone()).unwrap_or_default();
            let check = host_check(id, CheckStatus::Fail, summary.clone()).with_evidence(evidence);
            (check, hop(socket_component(candidates[0]), CheckStatus::Fail, &summary), causes, None)
        }
    };
    ListenerOutcome { check, hop, causes, answerer, owner_check }
}
