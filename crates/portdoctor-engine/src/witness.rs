//! The kernel witness's report joined with the modelled verdict (`host --trace`, `diagnose
//! --trace`; issue 16). A static cause the kernel confirms gains the kernel's evidence and
//! becomes confirmed; a drop no modelled layer explains becomes `KERNEL_DROP` (confirmed) with the
//! reason, the location and what on the host can cause that reason; a model that blocks while the
//! kernel let the flow's packets through is reported as a disagreement, never hidden. The
//! witness itself (BPF, nftrace, the counters) is portdoctor-trace's; only its report comes here.

use portdoctor_model::host_path::HostCheck;
use portdoctor_model::trace::{KernelDrop, TraceError, TraceReport};
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Knowledge, Layer};

/// Blockers the drop tracepoint cannot see: the kernel consumes the SYN instead of dropping it,
/// and only a counter rises (FACTS.md "The kernel witness"; tests/trace_netns.rs). A listener
/// whose accept queue is full (TcpExt ListenOverflows; a drop with TCP_LISTEN_OVERFLOW, where
/// the kernel gives one, confirms it too); a SYN whose SYN-ACK has no route back (Ip OutNoRoutes,
/// counted where the reply's route is looked up). A host route drop on the way in does make a
/// drop event, so it is silent only when its counter rose.
fn silent_counter(code: CauseCode) -> Option<(&'static str, &'static str)> {
    match code {
        CauseCode::ListenQueueOverflow => Some((
            "TcpExtListenOverflows",
            "a full accept queue discards SYNs without a drop event (TcpExt ListenOverflows counts them)",
        )),
        CauseCode::HostRouteDrop => Some((
            "IpOutNoRoutes",
            "a reply with no route back is never sent, without a drop event (Ip OutNoRoutes counts it)",
        )),
        _ => None,
    }
}

/// Whether the modelled blocker `c` acts without a drop event in this run: always for a full
/// accept queue, for a route drop when the kernel counted replies without a route.
fn silent(c: &Cause, r: &TraceReport) -> Option<&'static str> {
    let (counter, words) = silent_counter(c.code)?;
    (c.code == CauseCode::ListenQueueOverflow || r.counters.contains_key(counter)).then_some(words)
}

/// The modelled causes a drop confirms: by its reason, or, where the kernel gives the location
/// only (before 5.17), by the few locations that say it (netfilter's chain walk; the TCP/UDP
/// receive functions, where a missing socket and an xfrm policy drop).
fn explains(d: &KernelDrop) -> &'static [CauseCode] {
    use CauseCode::*;
    let Some(reason) = d.reason_or_implied() else {
        return match d.location.as_str() {
            "tcp_v4_rcv" | "tcp_v6_rcv" | "__udp4_lib_rcv" | "__udp6_lib_rcv" => {
                &[NotListening, ListenerLoopbackOnly, ListenerAddressMismatch, ListenerFamilyMismatch, XfrmPolicyBlock]
            }
            _ => &[],
        };
    };
    explains_reason(reason)
}

fn explains_reason(reason: &str) -> &'static [CauseCode] {
    use CauseCode::*;
    match reason {
        "NETFILTER_DROP" => &[HostFirewallDrop, HostFirewallReject, HostFirewallOutputDrop],
        "NO_SOCKET" => &[NotListening, ListenerLoopbackOnly, ListenerAddressMismatch, ListenerFamilyMismatch],
        "IP_RPFILTER" => &[RpFilterDrop],
        "XFRM_POLICY" => &[XfrmPolicyBlock],
        "TCP_LISTEN_OVERFLOW" | "SOCKET_BACKLOG" => &[ListenQueueOverflow],
        "IP_INADDRERRORS" | "IP_INNOROUTES" | "IP_OUTNOROUTES" | "IP_NOPROTO" => &[HostRouteDrop],
        _ => &[],
    }
}

/// What on a host makes the kernel drop with this reason (or, without one, at this location):
/// where to look.
fn what_causes(d: &KernelDrop) -> String {
    let dev = d.interface.as_deref().unwrap_or("DEV");
    let Some(reason) = d.reason_or_implied() else {
        return match d.location.as_str() {
            "tcp_v4_rcv" | "tcp_v6_rcv" => {
                "no listening socket, a socket filter on the listener or an xfrm policy (ss -ltn; ip xfrm policy)"
                    .into()
            }
            l if l.contains("xdp") => format!("an XDP program on {dev} (ip -d link show dev {dev})"),
            l => format!("the kernel function {l} (this kernel gives no drop reason)"),
        };
    };
    match reason {
        "TC_INGRESS" => format!("a tc ingress filter on {dev} (tc -s filter show dev {dev} ingress)"),
        "TC_EGRESS" => format!("a tc egress filter on {dev} (tc -s filter show dev {dev} egress)"),
        "SOCKET_FILTER" => "a socket filter (SO_ATTACH_FILTER or a BPF program) on the listening socket".into(),
        "XFRM_POLICY" => "an IPsec (xfrm) policy (ip xfrm policy)".into(),
        "NETFILTER_DROP" => format!("a netfilter rule; a netdev-family table on {dev} (nft list tables netdev)"),
        "NOT_SPECIFIED" if d.location.contains("xdp") => format!("an XDP program on {dev} (ip -d link show dev {dev})"),
        "IP_INADDRERRORS" | "IP_INNOROUTES" => {
            "a prohibit/unreachable route or ip rule (ip rule; ip route show table all)".into()
        }
        r => format!("the kernel's reason {r} at {}", d.location),
    }
}

/// The reason and location, or that the kernel gave the location only (before 5.17).
fn reason_at(d: &KernelDrop) -> String {
    match &d.reason {
        Some(r) => format!("{r} at {}", d.location),
        None => format!("at {}: this kernel gives the location only, no drop reason", d.location),
    }
}

fn evidence(d: &KernelDrop) -> String {
    let p = &d.packet;
    let mut line = format!(
        "kernel witness: {} dropped {} {}:{} > {}:{}{} ({}",
        d.time,
        p.proto.as_str(),
        p.src,
        p.sport,
        p.dst,
        p.dport,
        if p.flags.is_empty() { String::new() } else { format!(" [{}]", p.flags) },
        reason_at(d)
    );
    if let (Some(f), Some(t), Some(c)) = (&d.family, &d.table, &d.chain) {
        line += &format!(", {f} {t} {c}");
        if let Some(h) = d.rule_handle {
            line += &format!(" rule handle {h}");
        }
    }
    if let Some(i) = &d.interface {
        line += &format!(", on {i}");
    }
    line + ")"
}

/// The diagnosis `d` with the witness's report `r` joined in.
pub fn join(mut d: Diagnosis, r: &TraceReport) -> Diagnosis {
    let (mut causes, mut checks) = (std::mem::take(&mut d.causes), std::mem::take(&mut d.checks));
    let notes = &mut d.notes;
    let mut unexplained: Vec<&KernelDrop> = Vec::new();
    for drop in &r.drops {
        let codes = explains(drop);
        match causes.iter_mut().find(|c| c.blocking && codes.contains(&c.code)) {
            Some(c) => {
                c.confidence = Confidence::Confirmed;
                c.evidence.push(evidence(drop));
            }
            None => unexplained.push(drop),
        }
    }
    // One KERNEL_DROP per (reason, location): retransmissions are the same finding.
    let mut seen: Vec<(Option<&str>, &str)> = Vec::new();
    for drop in &unexplained {
        let key = (drop.reason.as_deref(), drop.location.as_str());
        if seen.contains(&key) {
            let same = causes.iter_mut().find(|c| c.code == CauseCode::KernelDrop && c.component == drop.location);
            if let Some(c) = same {
                c.evidence.push(evidence(drop));
            }
            continue;
        }
        seen.push(key);
        let message = format!(
            "The kernel dropped the flow's packets ({}), which no modelled layer explains; look at {}",
            reason_at(drop),
            what_causes(drop)
        );
        causes.push(
            Cause::blocking(CauseCode::KernelDrop, drop.location.clone(), Confidence::Confirmed, message)
                .with_evidence([evidence(drop)]),
        );
    }
    // The kernel's counters confirm the blockers that leave no drop event.
    for c in causes.iter_mut().filter(|c| c.blocking && c.layer() == Layer::Host) {
        if let Some((counter, _)) = silent_counter(c.code)
            && let Some(n) = r.counters.get(counter)
        {
            c.confidence = Confidence::Confirmed;
            c.evidence.push(format!(
                "kernel witness: {counter} rose by {n} while it ran (the kernel's counter; every flow of this host counts)"
            ));
        }
    }
    let host_blockers = || causes.iter().filter(|c| c.layer() == Layer::Host && c.decides_blocked());
    let model_blocks_host = host_blockers().any(|c| c.code != CauseCode::KernelDrop && silent(c, r).is_none());
    let unseen_blocker = host_blockers().find_map(|c| silent(c, r));
    if r.drops.is_empty() && r.packets_seen > 0 && model_blocks_host {
        notes.push(format!(
            "Disagreement: the model finds a host blocker, but the kernel dropped none of the flow's {} packet(s) it received while the witness ran",
            r.packets_seen
        ));
    }
    let (status_of_check, line) = match (r.drops.len(), r.packets_seen) {
        (0, 0) => (CheckStatus::Pass, "the kernel saw no packet of the flow while the witness ran".to_string()),
        (0, n) if unseen_blocker.is_some() => (
            CheckStatus::Pass,
            format!(
                "the kernel dropped none of the flow's {n} packet(s) it received; {}",
                unseen_blocker.unwrap_or_default()
            ),
        ),
        (0, n) => (CheckStatus::Pass, format!("the kernel dropped none of the flow's {n} packet(s) it received")),
        (k, _) => (CheckStatus::Fail, format!("the kernel dropped {k} packet(s) of the flow")),
    };
    let mut check = Check::new(HostCheck::KernelWitness.as_str(), Layer::Host, CheckKind::Path, status_of_check, line)
        .with_evidence(r.drops.iter().map(evidence));
    check.duration_ms = Some(r.query.duration_ms);
    if r.lost > 0 {
        check.evidence.push(format!("{} drop event(s) lost: the list is incomplete", r.lost));
    }
    checks.push(check);
    d.rejudged(causes, checks)
}

/// The diagnosis `d` when the witness could not run: an `unknown` check saying how to get it
/// (context: the static verdict stands as it is).
pub fn join_failure(mut d: Diagnosis, e: &TraceError) -> Diagnosis {
    d.checks.push(
        Check::new(
            HostCheck::KernelWitness.as_str(),
            Layer::Host,
            CheckKind::Context,
            CheckStatus::Unknown,
            e.problem.clone(),
        )
        .with_evidence([e.remedy.clone()]),
    );
    d
}

/// The diagnosis `d` with what the witness gave joined in: its report, or its `unknown` check
/// saying what is missing (the verdict otherwise as it was).
pub fn join_knowledge(d: Diagnosis, w: &Knowledge<TraceReport>) -> Diagnosis {
    match w {
        Knowledge::Known(r) => join(d, r),
        Knowledge::Unavailable(m) => {
            join_failure(d, &TraceError { problem: format!("{}: {}", m.what, m.reason), remedy: m.remedy.clone() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::join;
    use portdoctor_model::trace::{DropPacket, KernelDrop, TraceQuery, TraceReport, TraceTool};
    use portdoctor_model::{Cause, CauseCode, Confidence, Diagnosis, Proto, Query, Source, Status};

    fn drop(reason: &str, location: &str) -> KernelDrop {
        located((!reason.is_empty()).then(|| reason.to_string()), location)
    }

    /// A drop with `reason` (none: a kernel before 5.17) at `location`.
    fn located(reason: Option<String>, location: &str) -> KernelDrop {
        let packet = DropPacket {
            src: "198.51.100.2".into(),
            sport: 40000,
            dst: "10.0.1.10".into(),
            dport: 8080,
            proto: Proto::Tcp,
            flags: "S".into(),
        };
        KernelDrop::new("2026-12-04T15:00:00.000Z".into(), reason, location.into(), packet, Some("eth0".into()))
    }

    fn report(drops: Vec<KernelDrop>, seen: u64) -> TraceReport {
        TraceReport {
            schema_version: 1,
            tool: TraceTool { name: "portdoctor".into(), version: "0".into() },
            query: TraceQuery {
                command: "trace".into(),
                port: 8080,
                protocol: Proto::Tcp,
                from: "internet".into(),
                duration_ms: 10,
            },
            packets_seen: seen,
            drops,
            ignored: 0,
            lost: 0,
            counters: Default::default(),
        }
    }

    fn diagnosis(causes: Vec<Cause>) -> Diagnosis {
        let q = Query {
            command: "host".into(),
            target: None,
            port: 8080,
            protocol: Proto::Tcp,
            from: Source::Internet,
            instance: None,
        };
        Diagnosis::new(q, causes, vec![], vec![], "reachable".into())
    }

    #[test]
    fn a_modelled_cause_the_kernel_confirms_gains_its_evidence() {
        let c = Cause::blocking(CauseCode::HostFirewallDrop, "INPUT", Confidence::Likely, "a rule drops it");
        let d = join(diagnosis(vec![c]), &report(vec![drop("NETFILTER_DROP", "nft_do_chain")], 1));
        assert_eq!(d.causes.len(), 1);
        assert_eq!(d.causes[0].confidence, Confidence::Confirmed);
        assert!(d.causes[0].evidence[0].contains("NETFILTER_DROP at nft_do_chain"), "{:?}", d.causes[0]);
    }

    #[test]
    fn an_unexplained_drop_is_kernel_drop_naming_what_can_cause_it() {
        let d = join(
            diagnosis(vec![]),
            &report(
                vec![drop("TC_INGRESS", "__netif_receive_skb_core"), drop("TC_INGRESS", "__netif_receive_skb_core")],
                2,
            ),
        );
        assert_eq!(d.status, Status::Blocked);
        assert_eq!(d.causes.len(), 1, "{:?}", d.causes);
        assert_eq!((d.causes[0].code, d.causes[0].confidence), (CauseCode::KernelDrop, Confidence::Confirmed));
        assert!(d.causes[0].message.contains("tc -s filter show dev eth0 ingress"), "{}", d.causes[0].message);
        assert_eq!(d.causes[0].evidence.len(), 2);
    }

    #[test]
    fn a_location_only_drop_says_so_and_still_confirms_by_location() {
        let c = Cause::blocking(CauseCode::HostFirewallDrop, "INPUT", Confidence::Likely, "a rule drops it");
        let d = join(diagnosis(vec![c]), &report(vec![located(None, "nft_do_chain")], 1));
        assert_eq!((d.causes.len(), d.causes[0].confidence), (1, Confidence::Confirmed), "{:?}", d.causes);
        assert!(
            d.causes[0].evidence[0].contains("(at nft_do_chain: this kernel gives the location only"),
            "{:?}",
            d.causes[0]
        );
        let d = join(diagnosis(vec![]), &report(vec![located(None, "__netif_receive_skb_core")], 1));
        assert_eq!(d.causes[0].code, CauseCode::KernelDrop);
        let m = &d.causes[0].message;
        assert!(m.contains("this kernel gives the location only") && m.contains("tc ingress filter on eth0"), "{m}");
    }

    #[test]
    fn a_full_accept_queue_without_drops_is_no_disagreement() {
        let c = Cause::blocking(CauseCode::ListenQueueOverflow, "python3", Confidence::Confirmed, "queue full");
        let d = join(diagnosis(vec![c]), &report(vec![], 3));
        assert!(d.notes.iter().all(|n| !n.starts_with("Disagreement")), "{:?}", d.notes);
        assert!(d.checks[0].summary.contains("without a drop event"), "{:?}", d.checks[0]);
        assert_eq!(d.status, Status::Blocked);
    }

    #[test]
    fn a_reply_route_drop_is_confirmed_by_the_kernels_counter_not_a_disagreement() {
        let c = Cause::blocking(CauseCode::HostRouteDrop, "route", Confidence::Confirmed, "replies have no route");
        let mut r = report(vec![], 3);
        r.counters.insert("IpOutNoRoutes".into(), 3);
        let d = join(diagnosis(vec![c.clone()]), &r);
        assert!(d.notes.iter().all(|n| !n.starts_with("Disagreement")), "{:?}", d.notes);
        assert!(d.causes[0].evidence.iter().any(|e| e.contains("IpOutNoRoutes rose by 3")), "{:?}", d.causes[0]);
        assert!(d.checks[0].summary.contains("no route back"), "{:?}", d.checks[0]);
        // Without the counter the kernel did not witness it: the model and the kernel disagree.
        let d = join(diagnosis(vec![c]), &report(vec![], 3));
        assert!(d.notes.iter().any(|n| n.starts_with("Disagreement")), "{:?}", d.notes);
    }

    #[test]
    fn a_model_blocking_what_the_kernel_passed_is_a_disagreement() {
        let c = Cause::blocking(CauseCode::HostFirewallDrop, "INPUT", Confidence::Likely, "a rule drops it");
        let d = join(diagnosis(vec![c]), &report(vec![], 3));
        assert!(d.notes.iter().any(|n| n.starts_with("Disagreement")), "{:?}", d.notes);
        assert_eq!(d.status, Status::Blocked, "the model's finding stays, beside the disagreement");
    }
}
