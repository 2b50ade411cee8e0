//! One `diagnose` case judged: the cloud layer (judged already, it is part of the question), then
//! the host layer judged where the cloud layer says the flow arrives (the interface's private
//! address, so the host layer does not guess it) — behind a load balancer each target's host for
//! what that target sees, and for the health checks where they differ — the kernel witness
//! joined with the host layer, then the join across the layers, the probes and the capture.
//!
//! The binary plans and gathers; which host query each layer gets is decided here.

use super::{Layers, TargetHost, join};
use crate::family;
use crate::host::{HostQuery, diagnose_host};
use crate::witness::join_knowledge;
use portdoctor_model::elb::BehindBalancer;
use portdoctor_model::host::HostEvidence;
use portdoctor_model::net::{Family, Source};
use portdoctor_model::probe::{CaptureReport, ProbeReport};
use portdoctor_model::trace::TraceReport;
use portdoctor_model::{Check, Diagnosis, Knowledge, Missing, Proto, Query};
use std::net::IpAddr;

/// Behind a load balancer: each target's host by target id, or why it could not be read.
pub type TargetHosts = Vec<(String, Result<HostEvidence, Missing>)>;

/// What one case's sources gave (the cloud layer, judged already, is in `CaseQuestion`).
#[derive(Debug, Default)]
pub struct CaseEvidence {
    /// The host read with --ssh or host/: the instance's, or behind a load balancer its first
    /// target's.
    pub host: Option<HostEvidence>,
    /// Behind a load balancer: the targets' hosts read apart (`hosts/TARGET/`, `--target-ssh`).
    pub target_hosts: TargetHosts,
    /// From here first; then any other vantage.
    pub probes: Vec<ProbeReport>,
    /// `None`: not attempted (no SSH); `Unavailable`: attempted and could not be had.
    pub capture: Option<Knowledge<CaptureReport>>,
    /// The kernel witness on the host while the probes ran (`--trace`), or why it could not run.
    pub witness: Option<Knowledge<TraceReport>>,
    /// Layers that could not be reached (SSH refused, no credentials), as their `unknown` checks.
    pub unknown: Vec<Check>,
    pub notes: Vec<String>,
}

/// The question a case answers, and the cloud layer's answer to it.
#[derive(Debug, Clone)]
pub struct CaseQuestion {
    pub port: u16,
    pub proto: Proto,
    pub from: Source,
    /// The target's address: as given, or the first its name resolves to.
    pub target: Option<IpAddr>,
    /// The instance asked about (`--instance`), when the cloud layer names none.
    pub instance: Option<String>,
    /// Ports that should answer if the instance and its address are up.
    pub control_ports: Vec<u16>,
    /// The cloud layer, judged: where the flow arrives, and behind a load balancer its targets.
    pub cloud: Option<Diagnosis>,
}

/// The case's verdict: each host judged for the flow it sees, the witness joined, then the join
/// across the layers.
pub fn judge_case(question: CaseQuestion, gave: CaseEvidence) -> Diagnosis {
    let CaseQuestion { port, proto, from, target, instance, control_ports, cloud } = question;
    let CaseEvidence { host, target_hosts, probes, capture, witness, unknown, mut notes } = gave;
    let behind = cloud.as_ref().map(|c| c.behind.clone()).unwrap_or_default();
    // The host read with --ssh or host/: the instance's, or behind a load balancer its first
    // target's (unless that target's own host was read apart).
    let first = behind.first();
    let first_read_apart = first.is_some_and(|b| target_hosts.iter().any(|(id, _)| id.eq_ignore_ascii_case(&b.target)));
    let host = host.filter(|_| !first_read_apart).map(|ev| {
        let (host_port, host_from) = first.map_or((port, from), |b| (b.flow.port, b.flow.from));
        let q = HostQuery { port: host_port, proto, from: host_from, to: cloud.as_ref().and_then(|c| c.arrival) };
        if host_port != port || host_from != from {
            notes.push(format!(
                "the host layer judges {proto}/{host_port} from {host_from}, as the load balancer's target sees it"
            ));
        }
        let health = first.and_then(|b| health_layer(&ev, b, &q, &mut notes));
        let arrivals = cloud.as_ref().map(|c| c.arrivals.clone()).unwrap_or_default();
        let judged = host_layer(&ev, &q, &arrivals, &mut notes);
        (judged, health)
    });
    // The kernel's word joins the host layer before the layers are joined, so the reasoning
    // across them (the probes, the capture) sees a host blocker the kernel found.
    let (host, witness) = match (host, witness) {
        (Some((h, health)), Some(w)) => (Some((join_knowledge(h, &w), health)), None),
        (h, w) => (h, w),
    };
    let (host, targets) = match (first, host) {
        (Some(b), Some((h, health))) => {
            let mut targets = vec![TargetHost { behind: b.clone(), host: Ok(h), health }];
            targets.extend(other_targets(&behind, target_hosts, proto, &mut notes));
            (None, targets)
        }
        (_, host) => (host.map(|(h, _)| h), other_targets(&behind, target_hosts, proto, &mut notes)),
    };
    let instance = cloud.as_ref().and_then(|c| c.query.instance.clone()).or(instance);
    let query = Query {
        command: "diagnose".into(),
        target: target.map(|i| i.to_string()).or_else(|| cloud.as_ref().and_then(|c| c.query.target.clone())),
        port,
        protocol: proto,
        from,
        instance,
    };
    let d = join(Layers { query, control_ports, probes, capture, cloud, host, targets, unreached: unknown, notes });
    // No host layer (its evidence could not be read): the witness joins the whole verdict.
    match witness {
        Some(w) => join_knowledge(d, &w),
        None => d,
    }
}

/// The host layer for `q`; a dual-stack target is judged at each family's arrival, and merged.
fn host_layer(ev: &HostEvidence, q: &HostQuery, arrivals: &[IpAddr], notes: &mut Vec<String>) -> Diagnosis {
    if arrivals.len() > 1 {
        let legs = arrivals
            .iter()
            .map(|a| (Family::of(a), diagnose_host(ev, &HostQuery { to: Some(*a), ..q.clone() })))
            .collect();
        let words = arrivals.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(" and ");
        notes.push(format!(
            "the host layer judges the flow arriving at {words}, each family's address the cloud layer resolved the target to"
        ));
        if let Some(d) = family::merge_diagnoses(legs) {
            return d;
        }
    }
    if let Some(a) = q.to {
        notes.push(format!(
            "the host layer judges the flow arriving at {a}, the private address the cloud layer resolved the target to"
        ));
    }
    diagnose_host(ev, q)
}

/// Behind a balancer whose health checks differ from the target's traffic (another port, or
/// the nodes while the traffic keeps the clients' addresses): its host judged for them too, so
/// "nothing listens on the health-check port" is found.
fn health_layer(ev: &HostEvidence, b: &BehindBalancer, q: &HostQuery, notes: &mut Vec<String>) -> Option<Diagnosis> {
    let (hc_port, hc_from) = b.health_check.filter(|f| *f != (q.port, q.from))?;
    notes.push(format!(
        "the host layer also judges {}/{hc_port} from {hc_from}, the target group's health checks",
        q.proto
    ));
    Some(diagnose_host(ev, &HostQuery { port: hc_port, from: hc_from, ..q.clone() }))
}

/// The targets whose hosts were read apart (`hosts/TARGET/`, `--target-ssh`), in the cloud
/// layer's order, each judged for what it sees at its own address.
fn other_targets(
    behind: &[BehindBalancer],
    mut read: TargetHosts,
    proto: Proto,
    notes: &mut Vec<String>,
) -> Vec<TargetHost> {
    let mut out = Vec::new();
    for b in behind {
        let Some(at) = read.iter().position(|(id, _)| id.eq_ignore_ascii_case(&b.target)) else { continue };
        let (_, ev) = read.remove(at);
        let q = HostQuery { port: b.flow.port, proto, from: b.flow.from, to: b.ip };
        let (host, health) = match ev {
            Ok(ev) => {
                notes.push(format!(
                    "target {}: the host layer judges {proto}/{} from {} arriving at {}",
                    b.target,
                    b.flow.port,
                    b.flow.from,
                    b.ip.map_or_else(|| "any of its addresses".to_string(), |i| i.to_string())
                ));
                let health = health_layer(&ev, b, &q, notes);
                (Ok(diagnose_host(&ev, &q)), health)
            }
            Err(m) => (Err(m), None),
        };
        out.push(TargetHost { behind: b.clone(), host, health });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::tests::{evidence, sock};
    use portdoctor_model::CauseCode;
    use portdoctor_model::diagnosis::ArrivalFlow;

    /// The cloud layer's answer: the flow arrives at `arrival`, behind the balancer `behind`.
    fn cloud(arrival: &str, behind: Vec<BehindBalancer>) -> Diagnosis {
        let query = Query {
            command: "cloud".into(),
            target: Some("203.0.113.10".into()),
            port: 443,
            protocol: Proto::Tcp,
            from: Source::Internet,
            instance: Some("i-0abc".into()),
        };
        let mut d = Diagnosis::new(query, vec![], vec![], vec![], "ok".into());
        d.arrival = Some(arrival.parse().unwrap());
        d.behind = behind;
        d
    }

    fn question(port: u16, cloud: Diagnosis) -> CaseQuestion {
        CaseQuestion {
            port,
            proto: Proto::Tcp,
            from: Source::Internet,
            target: None,
            instance: None,
            control_ports: vec![22],
            cloud: Some(cloud),
        }
    }

    fn host_only(host: HostEvidence) -> CaseEvidence {
        CaseEvidence { host: Some(host), ..Default::default() }
    }

    fn has(d: &Diagnosis, code: CauseCode) -> bool {
        d.causes.iter().any(|c| c.code == code)
    }

    #[test]
    fn the_host_is_judged_where_the_cloud_layer_says_the_flow_arrives() {
        // eth0 has 10.0.1.10 and 10.0.1.11; the service listens on .11 only.
        let host = || evidence(vec![sock(Proto::Tcp, "10.0.1.11", 443)]);
        let d = judge_case(question(443, cloud("10.0.1.10", vec![])), host_only(host()));
        assert!(has(&d, CauseCode::ListenerAddressMismatch), "{d:#?}");
        assert!(
            d.notes.iter().any(|n| n
                == "the host layer judges the flow arriving at 10.0.1.10, the private address the cloud layer resolved the target to"),
            "{:?}",
            d.notes
        );
        // The question's target comes from the cloud layer when none was given, its instance too.
        assert_eq!((d.query.command.as_str(), d.query.target.as_deref()), ("diagnose", Some("203.0.113.10")));
        assert_eq!(d.query.instance.as_deref(), Some("i-0abc"));
        // Arriving at the listener's own address, nothing is in the way.
        let d = judge_case(question(443, cloud("10.0.1.11", vec![])), host_only(host()));
        assert!(!has(&d, CauseCode::ListenerAddressMismatch), "{d:#?}");
    }

    #[test]
    fn behind_a_balancer_the_first_targets_host_is_judged_for_the_port_the_balancer_forwards_to() {
        let nodes: Source = "10.20.0.0/16".parse().unwrap();
        let target = BehindBalancer {
            target: "i-1".into(),
            ip: Some("10.0.1.10".parse().unwrap()),
            flow: ArrivalFlow { port: 8080, from: nodes, others_healthy: 0, targets: 1 },
            health_check: None,
            reason: None,
            healthy: true,
        };
        let balancer = || cloud("10.0.1.10", vec![target.clone()]);
        // The service listens on 8080, the port the balancer forwards 443 to: nothing is missing.
        let d = judge_case(question(443, balancer()), host_only(evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)])));
        assert!(!has(&d, CauseCode::NotListening), "{d:#?}");
        assert!(
            d.notes.iter().any(|n| n
                == "the host layer judges tcp/8080 from 10.20.0.0/16, as the load balancer's target sees it"),
            "{:?}",
            d.notes
        );
        assert_eq!(d.query.port, 443, "the question stays the balancer's port");
        // Listening on the balancer's port instead: the target's port has no listener.
        let d = judge_case(question(443, balancer()), host_only(evidence(vec![sock(Proto::Tcp, "0.0.0.0", 443)])));
        assert!(has(&d, CauseCode::NotListening), "{d:#?}");
    }
}
