//! `portdoctor diagnose`: the layers joined into one verdict, and the reasoning across them.
//!
//! The configuration layers (cloud, platform, host) say what *should* happen; probes and the NIC
//! capture say what *does*. The rules below join them, each written out so it can be tested:
//!
//! | wire from here | SYN at the NIC | configuration | conclusion |
//! |---|---|---|---|
//! | filtered | none of ours | cloud blocks | the cloud causes, confirmed by the wire |
//! | filtered | none of ours | cloud admits | `UPSTREAM_FILTERED` (the platform layer says whether it is an abuse block) |
//! | filtered | arrived, no answer | — | the host layer's cause (a drop rule, rp_filter…) |
//! | filtered | arrived, SYN-ACK left | — | the reply is lost upstream: `UPSTREAM_FILTERED` |
//! | refused | — | — | `NOT_LISTENING` or a reject rule (the host layer says which) |
//! | open elsewhere (`--vantage`) | — | — | `CARRIER_BLOCK` |
//!
//! When the evidence cannot decide, the report says which next step would (a capture, the cloud
//! layer, the Elastic-IP swap experiment), and the verdict is inconclusive.
//!
//! [`judge_case`] (case.rs) comes first: from what a case's sources gave, each host layer judged
//! for the flow it sees, and the kernel witness joined, before the layers are joined here.

use portdoctor_model::fix::Fix;
use portdoctor_model::host_path::HostHop;
use portdoctor_model::probe::{Answer, CaptureReport, ProbeOutcome, ProbeReport};
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Knowledge, Layer, Query, TimelineEntry,
};

pub use behind::TargetHost;
pub use case::{CaseEvidence, CaseQuestion, TargetHosts, judge_case};

/// Everything `diagnose` could gather.
#[derive(Debug, Clone)]
pub struct Layers {
    pub query: Query,
    /// Ports that should answer if the instance and its address are up (22 by default).
    pub control_ports: Vec<u16>,
    /// From here first; then any other vantage.
    pub probes: Vec<ProbeReport>,
    /// `None`: not attempted (no SSH); `Unavailable`: attempted and could not be had.
    pub capture: Option<Knowledge<CaptureReport>>,
    pub cloud: Option<Diagnosis>,
    /// The instance's host layer (behind a load balancer the targets' are in `targets`).
    pub host: Option<Diagnosis>,
    /// Behind a load balancer: each target whose host was read or tried, in the cloud layer's
    /// order (`Diagnosis::behind`), each judged for its own traffic and health-check flows.
    pub targets: Vec<TargetHost>,
    /// Layers that could not be reached (SSH refused, no credentials), as checks.
    pub unreached: Vec<Check>,
    pub notes: Vec<String>,
}

fn path_check(id: &str, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id, Layer::Path, CheckKind::Path, status, summary)
}

/// The Elastic-IP swap experiment of the seed incident, as instructions (portdoctor never runs it).
const SWAP_EXPERIMENT: &str = "To tell a block on the address from one on the instance: allocate a spare Elastic IP, associate it with the instance (aws ec2 associate-address --allocation-id <spare> --instance-id <i-…> --allow-reassociation), and probe again; then move the original address to a scratch instance and probe it there. Whichever follows the block is blocked";

struct Wire<'a> {
    here: Option<&'a ProbeReport>,
    target: Option<ProbeOutcome>,
    control_open: Option<u16>,
}

fn wire<'a>(l: &'a Layers) -> Wire<'a> {
    let here = l.probes.iter().find(|p| p.vantage == "here");
    let target = here.and_then(|p| p.verdict(l.query.port));
    let control_open =
        here.and_then(|p| l.control_ports.iter().copied().find(|c| matches!(p.verdict(*c), Some(ProbeOutcome::Open))));
    Wire { here, target, control_open }
}

fn probe_checks(l: &Layers, w: &Wire<'_>, checks: &mut Vec<Check>) {
    // A name with several addresses is probed at each from here: the first keeps the id, the
    // others are numbered, and each says which address it went to.
    let several = l.probes.iter().filter(|p| p.vantage == "here").count() > 1;
    let mut nth_here = 0;
    for p in &l.probes {
        let id = match p.vantage.as_str() {
            "here" => {
                nth_here += 1;
                if nth_here == 1 { "path.probe".to_string() } else { format!("path.probe.{nth_here}") }
            }
            v => format!("path.probe.{v}"),
        };
        let to = if several { format!(" to {}", p.target) } else { String::new() };
        let Some(outcome) = p.verdict(l.query.port) else { continue };
        let status = match outcome {
            ProbeOutcome::Open => CheckStatus::Pass,
            ProbeOutcome::Error { .. } => CheckStatus::Unknown,
            _ => CheckStatus::Fail,
        };
        let evidence = p.attempts.iter().map(|a| {
            format!(
                "{} {}/{} from port {}: {} in {} ms (probe from {})",
                p.target,
                p.proto,
                a.port,
                a.source_port.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                a.outcome.word(),
                a.millis,
                p.vantage
            )
        });
        checks.push(
            path_check(&id, status, format!("{}/{}{to} from {}: {}", p.proto, l.query.port, p.vantage, outcome.word()))
                .with_evidence(evidence),
        );
    }
    if let Some(here) = w.here {
        for c in &l.control_ports {
            if let Some(o) = here.verdict(*c) {
                let status = if o == ProbeOutcome::Open { CheckStatus::Pass } else { CheckStatus::Warn };
                let mut check = path_check("path.control", status, format!("control port {c}: {}", o.word()));
                check.kind = CheckKind::Context;
                checks.push(check);
            }
        }
    }
}

/// Our SYNs at the NIC: `Some(true)` if any arrived (matched by source port), `Some(false)` if the
/// capture ran and none did, `None` without a capture.
fn arrivals(l: &Layers, w: &Wire<'_>, checks: &mut Vec<Check>) -> (Option<bool>, Option<Answer>, Vec<String>) {
    let ours: Vec<u16> = w
        .here
        .map(|p| p.attempts.iter().filter(|a| a.port == l.query.port).filter_map(|a| a.source_port).collect())
        .unwrap_or_default();
    match &l.capture {
        None => {
            checks.push(path_check(
                "path.capture",
                CheckStatus::Skipped,
                "No capture on the instance (give --ssh to run one)",
            ));
            (None, None, vec![])
        }
        Some(Knowledge::Unavailable(m)) => {
            checks.push(
                path_check("path.capture", CheckStatus::Unknown, "Could not capture on the instance")
                    .with_evidence([m.describe()]),
            );
            (None, None, vec![])
        }
        Some(Knowledge::Known(c)) => {
            let seen: Vec<_> = c.syns().filter(|p| ours.contains(&p.remote_port)).collect();
            let others = c.syns().count() - seen.len();
            let answer = seen.iter().find_map(|s| c.answers_to(s.remote_port).find_map(|a| a.answer));
            let mut evidence: Vec<String> = seen
                .iter()
                .map(|s| {
                    format!("SYN from {}:{} reached {} at +{:.3}s (capture)", s.remote, s.remote_port, c.iface, s.at)
                })
                .collect();
            for s in &seen {
                for a in c.answers_to(s.remote_port) {
                    evidence.push(format!(
                        "{} left {} for {}:{} at +{:.3}s (capture)",
                        match a.answer {
                            Some(Answer::SynAck) => "SYN-ACK",
                            Some(Answer::Rst) => "RST",
                            _ => "ICMP error",
                        },
                        c.iface,
                        a.remote,
                        a.remote_port,
                        a.at
                    ));
                }
            }
            if others > 0 {
                evidence.push(format!("{others} other SYN(s) to port {} arrived from other sources (capture)", c.port));
            }
            let (status, summary) = match (seen.len(), answer) {
                (0, _) if ours.is_empty() => (CheckStatus::Unknown, "No probe to match in the capture".to_string()),
                (0, _) => (
                    CheckStatus::Fail,
                    format!("None of your {} SYNs reached {} in {:.1}s", ours.len(), c.iface, c.seconds),
                ),
                (n, None) => {
                    (CheckStatus::Fail, format!("Your {n} SYN(s) reached {}; nothing left in answer", c.iface))
                }
                (n, Some(Answer::SynAck)) => {
                    (CheckStatus::Pass, format!("Your {n} SYN(s) reached {} and SYN-ACKs left", c.iface))
                }
                (n, Some(Answer::Rst)) => {
                    (CheckStatus::Fail, format!("Your {n} SYN(s) reached {}; RSTs left", c.iface))
                }
                (n, Some(Answer::Icmp)) => {
                    (CheckStatus::Fail, format!("Your {n} SYN(s) reached {}; ICMP errors left", c.iface))
                }
            };
            checks.push(path_check("path.capture", status, summary).with_evidence(evidence.clone()));
            if ours.is_empty() {
                return (None, None, evidence);
            }
            (Some(!seen.is_empty()), answer, evidence)
        }
    }
}

fn blocking_in(causes: &[Cause], layer: Layer) -> bool {
    causes.iter().any(|c| c.blocking && c.layer() == layer && c.confidence != Confidence::Possible)
}

/// A name with several addresses whose probes from here disagree: which answered and which did
/// not. A stale record (DNS_STALE) explains the failing ones and gains the wire's word;
/// otherwise the difference is a path check nobody explains yet (inconclusive).
fn addresses_apart(l: &Layers, causes: &mut [Cause], checks: &mut Vec<Check>) {
    let here: Vec<(&ProbeReport, ProbeOutcome)> =
        l.probes.iter().filter(|p| p.vantage == "here").filter_map(|p| Some((p, p.verdict(l.query.port)?))).collect();
    let (open, failed): (Vec<_>, Vec<_>) = here.iter().partition(|(_, o)| *o == ProbeOutcome::Open);
    if open.is_empty() || failed.is_empty() {
        return;
    }
    let words = |v: &[&(&ProbeReport, ProbeOutcome)]| {
        v.iter().map(|(p, o)| format!("{} ({})", p.target, o.word())).collect::<Vec<_>>().join(", ")
    };
    let summary = format!(
        "{}/{} answers at {} but not at {}",
        l.query.protocol,
        l.query.port,
        open.iter().map(|(p, _)| p.target.to_string()).collect::<Vec<_>>().join(", "),
        words(&failed)
    );
    let stale = causes.iter_mut().find(|c| c.code == CauseCode::DnsStale);
    let status = if stale.is_some() { CheckStatus::Fail } else { CheckStatus::Unknown };
    if let Some(c) = stale {
        c.evidence.extend(failed.iter().map(|(p, o)| format!("probe to {} from here: {}", p.target, o.word())));
    }
    let evidence = if status == CheckStatus::Unknown {
        vec!["clients the name sends to the failing addresses fail; no layer judged those addresses".to_string()]
    } else {
        vec![]
    };
    checks.push(path_check("path.addresses", status, summary).with_evidence(evidence));
}

/// No SYN reached the NIC and the cloud configuration blocks nothing: something upstream
/// filters the port (the provider's abuse block when the platform layer found one, which the
/// wire then confirms).
fn upstream_filtered(l: &Layers, causes: &mut Vec<Cause>, evidence: Vec<String>) {
    let platform = causes.iter_mut().find(|c| c.code == CauseCode::AbuseBlock);
    let has_platform = platform.is_some();
    if let Some(p) = platform {
        if p.confidence == Confidence::Possible {
            p.confidence = Confidence::Likely;
        }
        p.evidence.push(
            "the wire agrees: the port is filtered upstream of the instance while its configuration admits it".into(),
        );
    }
    let (confidence, msg) = if l.cloud.is_some() {
        (
            Confidence::Confirmed,
            format!(
                "The cloud configuration admits {}/{} yet no SYN reaches the instance's NIC: something upstream filters it",
                l.query.protocol, l.query.port
            ),
        )
    } else {
        (
            Confidence::Likely,
            format!(
                "No SYN to port {} reaches the instance's NIC: it is filtered upstream (cloud or provider); the cloud layer was not checked",
                l.query.port
            ),
        )
    };
    // The platform layer says what the upstream filter is, when it knows.
    let msg =
        if has_platform { format!("{msg} — the provider's abuse block (ABUSE_BLOCK) explains it") } else { msg };
    let mut fix = vec![];
    if !has_platform {
        fix.push(Fix::text("Check the provider's abuse notices: the account's security-contact e-mail, the AWS Health Dashboard, open support cases"));
    }
    if l.cloud.is_none() {
        fix.push(Fix::text("Give --instance i-… with AWS credentials (or a case folder with aws/) so the security groups, ACLs and routes are checked"));
    }
    fix.push(Fix::text(SWAP_EXPERIMENT));
    causes
        .push(Cause::blocking(CauseCode::UpstreamFiltered, "-", confidence, msg).with_evidence(evidence).with_fix(fix));
}

/// The capture's word on the nic hop (inserted before the host's hops when the host layer
/// did not make one).
fn mark_nic(path: &mut Vec<Hop>, status: CheckStatus, detail: String) {
    match path.iter_mut().find(|h| h.hop == HostHop::Nic.as_str()) {
        Some(h) => {
            h.status = status;
            h.detail = detail;
        }
        None => {
            let at = path.iter().position(|h| {
                HostHop::parse(&h.hop)
                    .is_some_and(|h| matches!(h, HostHop::HostFirewall | HostHop::Kernel | HostHop::Listener))
            });
            path.insert(at.unwrap_or(path.len()), Hop::new(HostHop::Nic.as_str(), "-", status, detail));
        }
    }
}

/// The report being joined: every layer's findings, in order.
#[derive(Default)]
struct Joined {
    checks: Vec<Check>,
    causes: Vec<Cause>,
    path: Vec<Hop>,
    timeline: Vec<TimelineEntry>,
    notes: Vec<String>,
}

/// What the wire says, as the rules read it (the decision; `wire_causes` says it).
enum WireReading<'a> {
    /// Another vantage gets through where this one does not: the network in between.
    OpenElsewhere(&'a ProbeReport),
    /// Silent from here, and none of the SYNs reached the NIC: upstream of the host.
    NothingArrived,
    /// Silent from here though the SYNs reached the NIC; what left in answer.
    Arrived(Option<Answer>),
    /// Refused from here; `rst_left`: the capture saw the RST leave the NIC.
    Refused { rst_left: bool },
    /// Nothing the rules act on (open, or silent with no capture to say more).
    Undecided,
}

/// Joins the layers and applies the reasoning rules: the layers' findings gathered, the wire
/// read (`WireReading`) and its causes joined to theirs, then the path finished.
pub fn join(l: Layers) -> Diagnosis {
    let w = wire(&l);
    let mut j = gather(&l);
    probe_checks(&l, &w, &mut j.checks);
    let (arrived, answer, capture_evidence) = arrivals(&l, &w, &mut j.checks);
    let cloud_blocks = blocking_in(&j.causes, Layer::Cloud);
    let control = w.control_open.map(|c| {
        format!(
            "port {c} answers from here, so the instance and its address are up: the filtering is specific to port {}",
            l.query.port
        )
    });
    let silent = matches!(w.target, Some(ProbeOutcome::Filtered | ProbeOutcome::Unreachable { .. }));
    let elsewhere_open =
        l.probes.iter().find(|p| p.vantage != "here" && p.verdict(l.query.port) == Some(ProbeOutcome::Open));
    let reading = match (silent, elsewhere_open, arrived) {
        (true, Some(v), _) => WireReading::OpenElsewhere(v),
        (true, None, Some(false)) => WireReading::NothingArrived,
        (true, None, Some(true)) => WireReading::Arrived(answer),
        _ if matches!(w.target, Some(ProbeOutcome::Refused)) => {
            WireReading::Refused { rst_left: answer == Some(Answer::Rst) }
        }
        _ => WireReading::Undecided,
    };
    let lines = WireLines { capture: capture_evidence, control };
    let carrier_hop = wire_causes(&l, &w, reading, cloud_blocks, &lines, &mut j);
    if silent
        && arrived.is_none()
        && !cloud_blocks
        && !blocking_in(&j.causes, Layer::Host)
        && !blocking_in(&j.causes, Layer::Platform)
    {
        unexplained_filter(&l, lines.control, &mut j);
    }
    addresses_apart(&l, &mut j.causes, &mut j.checks);
    if let Some(h) = carrier_hop {
        j.path.insert(1.min(j.path.len()), h);
    }
    // The capture is the NIC's own witness: it overrides what the host's configuration implied.
    if let Some(seen) = arrived {
        let (status, detail) = match (seen, answer) {
            (false, _) => (CheckStatus::Fail, "none of the probe's SYNs arrived (capture)".to_string()),
            (true, Some(Answer::SynAck)) => {
                (CheckStatus::Pass, "the probe's SYNs arrived; SYN-ACKs left (capture)".to_string())
            }
            (true, _) => (CheckStatus::Pass, "the probe's SYNs arrived (capture)".to_string()),
        };
        mark_nic(&mut j.path, status, detail);
    }
    let target = w.target;
    finish(l.query, target, j)
}

/// Every layer's findings (the cloud's, the host's, each target's behind a balancer), the
/// internet hop first, the layers not reached, and the targets' health checks joined.
fn gather(l: &Layers) -> Joined {
    let mut j = Joined { notes: l.notes.clone(), ..Joined::default() };
    for d in [&l.cloud, &l.host].into_iter().flatten() {
        j.causes.extend(d.causes.iter().cloned());
        j.checks.extend(d.checks.iter().cloned());
        j.path.extend(d.path.iter().cloned());
        j.timeline.extend(d.timeline.iter().cloned());
        j.notes.extend(d.notes.iter().cloned());
    }
    let several = l.targets.len() > 1;
    for t in &l.targets {
        let p = behind::target_part(t, several);
        j.causes.extend(p.causes);
        j.checks.extend(p.checks);
        j.path.extend(p.path);
        j.timeline.extend(p.timeline);
        j.notes.extend(p.notes);
    }
    if j.path.first().is_none_or(|h| h.hop != "internet") {
        let flow = format!("{}/{}", l.query.protocol, l.query.port);
        j.path.insert(0, Hop::new("internet", l.query.from.to_string(), CheckStatus::Pass, flow));
    }
    j.checks.extend(l.unreached.iter().cloned());
    for t in &l.targets {
        behind::health_checks(t, several, &j.causes, &mut j.checks);
    }
    for t in &l.targets {
        behind::join_health(t, several, l.query.protocol, &mut j.causes);
    }
    j
}

/// The wire's own lines for evidence: the capture's, and the control port that answers.
struct WireLines {
    capture: Vec<String>,
    control: Option<String>,
}

/// The wire's causes, as `reading` has it, joined to the layers' (a cause of theirs the wire
/// confirms gains its word); the carrier's hop when the network in between filters.
fn wire_causes(
    l: &Layers,
    w: &Wire<'_>,
    reading: WireReading<'_>,
    cloud_blocks: bool,
    lines: &WireLines,
    j: &mut Joined,
) -> Option<Hop> {
    let capture_evidence = &lines.capture;
    match reading {
        WireReading::OpenElsewhere(v) => {
            let msg = format!(
                "{}/{} answers from {} but not from here: a network between you and the provider filters it",
                l.query.protocol, l.query.port, v.vantage
            );
            let seen = w.target.as_ref().map(ProbeOutcome::word).unwrap_or_default();
            j.causes.push(
                Cause::blocking(CauseCode::CarrierBlock, "-", Confidence::Likely, msg.clone())
                    .with_evidence([format!("probe from {}: open; probe from here: {seen}", v.vantage)])
                    .with_fix([Fix::text("Ask the network you are on (office, VPN, ISP) whether it filters the port, or try from another network")]),
            );
            return Some(Hop::new("carrier", "-", CheckStatus::Fail, msg));
        }
        WireReading::NothingArrived if cloud_blocks => {
            for c in j.causes.iter_mut().filter(|c| c.blocking && c.layer() == Layer::Cloud) {
                c.evidence.push("the wire agrees: none of the probe's SYNs reached the instance's NIC (capture)".into());
            }
        }
        WireReading::NothingArrived => {
            let evidence = capture_evidence.iter().cloned().chain(lines.control.clone()).collect();
            upstream_filtered(l, &mut j.causes, evidence);
        }
        WireReading::Arrived(None) => {
            let line = "the probe's SYNs reached the NIC and nothing left in answer (capture)".to_string();
            match j.causes.iter_mut().find(|c| c.blocking && c.layer() == Layer::Host) {
                Some(c) => c.evidence.push(line),
                None => j.causes.push(
                    Cause::blocking(CauseCode::HostFirewallDrop, "-", Confidence::Possible, "SYNs reach the NIC and nothing answers, yet the host evidence shows no rule that drops them")
                        .with_evidence(capture_evidence.to_vec())
                        .with_fix([Fix::text("Run portdoctor host --port P with sudo on the instance, or watch the drop with nft monitor trace / iptables TRACE")]),
                ),
            }
        }
        WireReading::Arrived(Some(Answer::SynAck)) => j.causes.push(
            Cause::blocking(CauseCode::UpstreamFiltered, "-", Confidence::Likely, "The instance answers (SYN-ACK left the NIC) but the answer never reaches you: the reply is dropped on the way back")
                .with_evidence(capture_evidence.to_vec())
                .with_fix([Fix::text("Check the network ACL's outbound rules for the client's ephemeral ports, and the instance's route back to the internet")]),
        ),
        WireReading::Arrived(Some(Answer::Rst | Answer::Icmp)) | WireReading::Undecided => {}
        WireReading::Refused { rst_left } => refused(l, capture_evidence, rst_left, j),
    }
    None
}

/// Refused from here: the host layer's cause gains the wire's word; without host evidence the
/// RST says nothing listens; a host that shows a listener and no reject rule is asked about.
fn refused(l: &Layers, capture_evidence: &[String], rst_left: bool, j: &mut Joined) {
    let line = format!("the probe from here was refused (RST) on port {}", l.query.port);
    match j.causes.iter_mut().find(|c| matches!(c.code, CauseCode::NotListening | CauseCode::HostFirewallReject)) {
        Some(c) => c.evidence.push(line),
        None if l.host.is_none() && l.targets.iter().all(|t| t.host.is_err()) => {
            // The RST seen leaving the NIC confirms it is this machine's.
            j.causes.push(
                Cause::blocking(
                    CauseCode::NotListening,
                    "-",
                    if rst_left { Confidence::Confirmed } else { Confidence::Likely },
                    format!("Port {} answers with RST: nothing listens there (or a reject rule answers for it)", l.query.port),
                )
                .with_evidence([line].into_iter().chain(capture_evidence.iter().cloned()))
                .with_fix([Fix::text("Give --ssh to read the host: which service should listen, and whether a rule rejects")]),
            );
        }
        None => j.checks.push(
            path_check("path.verdict", CheckStatus::Unknown, format!("{line}, yet the host evidence shows a listener and no reject rule"))
                .with_evidence(["is the target the instance the host evidence came from? (a moved Elastic IP, a load balancer in front)".to_string()]),
        ),
    }
}

/// Filtered from here and no layer explains it: which step would decide.
fn unexplained_filter(l: &Layers, control: Option<String>, j: &mut Joined) {
    j.notes.push(format!(
        "Next step: {}",
        if l.capture.is_none() {
            "give --ssh USER@HOST so a capture shows whether the SYNs reach the instance"
        } else {
            "fix the capture (see path.capture)"
        }
    ));
    j.notes.push(format!("Next step: {SWAP_EXPERIMENT}"));
    j.checks.push(
        path_check(
            "path.verdict",
            CheckStatus::Unknown,
            format!("Port {} is filtered from here and no layer explains it", l.query.port),
        )
        .with_evidence(control),
    );
}

/// The path in the report's order, the timeline newest first, and the verdict's words.
fn finish(query: Query, target: Option<ProbeOutcome>, mut j: Joined) -> Diagnosis {
    // A dual-stack target's hops: IPv4's, then IPv6's (each the cloud's, then the host's). A
    // hop of no family (the internet, the platform, a shared check) goes with IPv4's, as the
    // text's per-family path lines draw it; a single-family path is left as it is.
    if j.path.iter().any(|h| h.family.is_some()) {
        j.path.sort_by_key(|h| h.family.unwrap_or(portdoctor_model::net::Family::V4));
    }
    j.timeline.sort_by(|a, b| b.time.cmp(&a.time));
    let reachable = match &target {
        Some(ProbeOutcome::Open) => {
            format!("{}/{} answers from here, and no layer blocks it", query.protocol, query.port)
        }
        _ => format!("No layer blocks {}/{}", query.protocol, query.port),
    };
    let mut d = Diagnosis::new(query, j.causes, j.checks, j.path, reachable);
    d.timeline = j.timeline;
    j.notes.dedup();
    d.notes = j.notes;
    d
}

mod behind;
mod case;

#[cfg(test)]
mod tests;
