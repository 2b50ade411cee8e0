//! Behind a load balancer: the target's host layer joined with AWS's health reason.
//!
//! The cloud layer says a target fails its health checks (TARGET_UNHEALTHY, with AWS's reason)
//! and, when its configuration does not explain why, points at the target's host. The host
//! layer, judged at the target from the balancer's nodes (and on the health-check port when it
//! differs), may find the reason: then the host's cause is the blocking explanation and the
//! health cause says which host cause explains it. The match is by type (cause codes, the
//! target's id, AWS's reason code), never by words:
//!
//! | AWS's reason | the host finds | conclusion |
//! |---|---|---|
//! | `Target.Timeout` | a silent drop (a drop rule, rp_filter, …) | explained, they agree |
//! | `Target.FailedHealthChecks` | a refusal (nothing listens, a reject rule, …) | explained, they agree |
//! | either | the other kind | explained, and the evidence says they disagree on how |
//! | either | nothing against the port | not explained: the evidence says the host admits it |

use super::Layers;
use portdoctor_model::elb::{BehindBalancer, TargetHealthReason as R};
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Layer};

/// How a host cause looks from the balancer's health checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Nothing comes back: the checker times out.
    Silence,
    /// A reset, an ICMP error or a closed connection: the check fails at once.
    Refusal,
}

impl Seen {
    fn words(self) -> &'static str {
        match self {
            Seen::Silence => "a silent drop (the checks time out)",
            Seen::Refusal => "a refusal (the checks fail at once)",
        }
    }
}

/// What the health checker meets for a host cause; `None` for causes of other layers.
fn seen(code: CauseCode) -> Option<Seen> {
    use CauseCode::*;
    match code {
        NotListening
        | ListenerLoopbackOnly
        | ListenerAddressMismatch
        | ListenerFamilyMismatch
        | HostFirewallReject
        | SelinuxBindDenied
        | TcpWrappersDeny => Some(Seen::Refusal),
        c if c.layer() == Layer::Host => Some(Seen::Silence),
        _ => None,
    }
}

/// What AWS's reason says the checker met; `None` when it says neither (a status code
/// mismatch, a Classic description) and any host cause fits.
fn reason_seen(r: Option<&R>) -> Option<Seen> {
    match r {
        Some(R::Timeout) => Some(Seen::Silence),
        Some(R::FailedHealthChecks) => Some(Seen::Refusal),
        _ => None,
    }
}

/// Whether AWS's reason is one a host cause can explain (the checks do not get a good answer).
fn host_can_explain(r: Option<&R>) -> bool {
    matches!(r, Some(R::Timeout | R::FailedHealthChecks) | None)
}

/// Check ids of the host layer judged on the health-check port, apart from the traffic port's.
const HEALTH_SUFFIX: &str = ".health-check";

/// The host layer on the health-check port, when it was judged apart: its checks (ids ending
/// in `.health-check`). Its blocking causes join the health cause (`join_health`); when the
/// target's health decides nothing (its group fails open, or another target serves), what fails
/// there is a warning, as the cloud layer makes a serving group's target problems.
pub(super) fn health_checks(l: &Layers, causes: &[Cause], checks: &mut Vec<Check>) {
    let (Some(h), Some(b)) = (&l.health_host, behind(l)) else { return };
    let Some((port, _)) = b.health_check else { return };
    // The cloud layer keeps a health cause only where the target's group cannot serve.
    let decides = causes.iter().any(|c| c.code == CauseCode::TargetUnhealthy && c.component == b.target);
    let why = b
        .reason
        .as_ref()
        .map(|r| format!(
            "this is why {} fails its health checks ({}); its health decides nothing here (the group fails open, or another target serves)",
            b.target,
            r.as_str()
        ));
    checks.extend(h.checks.iter().cloned().map(|mut c| {
        c.id.push_str(HEALTH_SUFFIX);
        c.summary = format!("health-check port {port}: {}", c.summary);
        if !decides && c.status == CheckStatus::Fail {
            c.status = CheckStatus::Warn;
            c.evidence.extend(why.clone());
        }
        c
    }));
}

fn behind(l: &Layers) -> Option<&BehindBalancer> {
    l.cloud.as_ref()?.behind.as_ref()
}

/// The host layer that judged the health checks' flow: the one on the health-check port when it
/// differs from the traffic's, else the traffic's own.
fn health_host(l: &Layers) -> Option<&Diagnosis> {
    l.health_host.as_ref().or(l.host.as_ref())
}

/// Joins the target's host causes with its health cause (see the module's table).
pub(super) fn join_health(l: &Layers, causes: &mut Vec<Cause>) {
    let (Some(b), Some(host)) = (behind(l), health_host(l)) else { return };
    let Some((hc_port, hc_from)) = b.health_check else { return };
    let reason = b.reason.as_ref();
    let Some(at) = causes.iter().position(|c| c.code == CauseCode::TargetUnhealthy && c.component == b.target) else {
        return;
    };
    if !host_can_explain(reason) {
        return;
    }
    let reason_word = reason.map_or("failing its health checks", R::as_str);
    let found: Vec<Cause> = host.causes.iter().filter(|c| c.blocking && seen(c.code).is_some()).cloned().collect();
    if found.is_empty() {
        let unknown = host.checks.iter().filter(|c| c.kind == CheckKind::Path && c.status == CheckStatus::Unknown);
        let unknown: Vec<&str> = unknown.map(|c| c.id.as_str()).collect();
        let line = if unknown.is_empty() {
            format!(
                "the target's host admits {}/{hc_port} from {hc_from} and something listens there: the host evidence does not explain {reason_word} (an answer slower than the check's timeout, or a change since)",
                l.query.protocol
            )
        } else {
            format!(
                "the target's host shows nothing against {}/{hc_port} from {hc_from}, but {} could not be checked",
                l.query.protocol,
                unknown.join(", ")
            )
        };
        causes[at].evidence.push(line);
        return;
    }
    let expected = reason_seen(reason);
    let agrees = |c: &Cause| expected.is_none_or(|e| seen(c.code) == Some(e));
    let chosen = found.iter().find(|c| agrees(c)).unwrap_or(&found[0]);
    let health = &mut causes[at];
    let was_blocking = health.blocking;
    health.evidence.push(format!(
        "explained by {} on the target's host ({}): {reason_word} is {}",
        chosen.code,
        chosen.component,
        seen(chosen.code).map_or("", Seen::words)
    ));
    if !agrees(chosen) {
        health.evidence.push(format!(
            "AWS's reason and the host disagree: {reason_word} means {}, yet {} would be {}; the evidence may come from different times",
            expected.map_or("", Seen::words),
            chosen.code,
            seen(chosen.code).map_or("", Seen::words)
        ));
    }
    // The host cause is the explanation that decides; the health cause stays as what AWS says.
    health.blocking = false;
    health.confidence = Confidence::Confirmed;
    let explains = format!(
        "explains why {} fails its health checks on port {hc_port} ({reason_word}, TARGET_UNHEALTHY)",
        b.target
    );
    // Every host cause on the checks' flow is part of the explanation (two drop rules, one per
    // balancer subnet). Those of the traffic's flow are among the causes already; those found
    // on the health-check port only block as the health cause did.
    for f in &found {
        match causes.iter_mut().find(|c| *c == f) {
            Some(c) => c.evidence.push(explains.clone()),
            None => {
                let mut c = f.clone();
                c.blocking = was_blocking;
                c.evidence.push(explains.clone());
                causes.push(c);
            }
        }
    }
}
