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

use portdoctor_model::elb::{BehindBalancer, TargetHealthReason as R};
use portdoctor_model::host_path::HostHop;
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Layer, Missing, Proto, TimelineEntry,
};

/// One target behind the balancer whose host was read, or tried (`host/`, `--ssh` for the first
/// target; `hosts/TARGET/`, `--target-ssh` for any).
#[derive(Debug, Clone)]
pub struct TargetHost {
    /// Which target, what it sees and its health, as the cloud layer gave it.
    pub behind: BehindBalancer,
    /// Its host layer judged for its traffic flow, or why its host could not be read.
    pub host: Result<Diagnosis, Missing>,
    /// Its host layer judged for the health checks' flow, when it differs from the traffic's
    /// (another port, or the nodes while the traffic keeps the clients' addresses).
    pub health: Option<Diagnosis>,
}

impl TargetHost {
    /// The host layer that judged the health checks' flow: the one on the health-check port when
    /// it differs from the traffic's, else the traffic's own.
    fn health_host(&self) -> Option<&Diagnosis> {
        self.health.as_ref().or(self.host.as_ref().ok())
    }
}

/// A target's part of the report, before the reasoning across the layers.
#[derive(Debug, Default)]
pub(super) struct Part {
    pub causes: Vec<Cause>,
    pub checks: Vec<Check>,
    pub path: Vec<Hop>,
    pub timeline: Vec<TimelineEntry>,
    pub notes: Vec<String>,
}

/// A host cause of one target as the report lists it: with several targets judged, its
/// component names the target first (`i-0app2… filter/INPUT rule 3`), as its checks' ids do.
fn own_cause(mut c: Cause, target: &str, several: bool) -> Cause {
    if several {
        c.component = format!("{target} {}", c.component);
    }
    c
}

/// A host check's id for one target: with several targets judged, the target's id follows
/// (`host.listener.i-0app2…`), so the report keeps them apart; one target keeps the plain id.
fn target_id(id: &str, target: &str, several: bool) -> String {
    if several { format!("{id}.{target}") } else { id.to_string() }
}

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

/// Why a target's host fault decides nothing: the target's health reason it explains, while
/// the group serves without it (its group fails open, or another target serves).
fn explains_undecided(b: &BehindBalancer) -> Option<String> {
    let r = b.reason.as_ref().filter(|r| host_can_explain(Some(r)))?;
    Some(format!(
        "this is why {} fails its health checks ({}); its health decides nothing here (the group fails open, or another target serves)",
        b.target,
        r.as_str()
    ))
}

/// A target's host layer as it joins the report. While other targets of its group are healthy
/// the balancer sends the clients to them, so what its host shows wrong is its share of the
/// group (`warn` checks with the share, saying which health reason it explains), not the
/// service's — as the cloud layer treats a target's own problems in a group that serves
/// (docs/load-balancer.md, "What blocks"). A target whose host could not be read is an
/// `unknown` `host.reach` check naming it; it keeps the verdict open only when its host could
/// decide it: no other target of its group is healthy, and AWS's own checks of its traffic
/// flow do not already say it answers.
pub(super) fn target_part(t: &TargetHost, several: bool) -> Part {
    let b = &t.behind;
    let h = match &t.host {
        Ok(h) => h,
        Err(m) => {
            let checked_as_served = b.healthy && b.health_check == Some((b.flow.port, b.flow.from));
            let kind =
                if b.flow.others_healthy > 0 || checked_as_served { CheckKind::Context } else { CheckKind::Path };
            let check = Check::new(
                target_id("host.reach", &b.target, several),
                Layer::Host,
                kind,
                CheckStatus::Unknown,
                format!("Could not read the host of target {}", b.target),
            )
            .with_evidence([m.describe()]);
            return Part { checks: vec![check], ..Part::default() };
        }
    };
    let mut p = Part {
        causes: h.causes.clone(),
        checks: h.checks.clone(),
        path: h.path.clone(),
        timeline: h.timeline.clone(),
        notes: h.notes.clone(),
    };
    for h in &mut p.path {
        h.target = Some(b.target.clone());
    }
    let f = &b.flow;
    if f.others_healthy > 0 && p.causes.iter().any(|c| c.layer() == Layer::Host) {
        let share = format!(
            " [this target, 1 of {} targets, {}%: the load balancer sends to the {} other healthy one(s)]",
            f.targets,
            100 / f.targets.max(1),
            f.others_healthy
        );
        let why = explains_undecided(b);
        p.causes.retain(|c| c.layer() != Layer::Host);
        for c in p.checks.iter_mut().filter(|c| c.layer == Layer::Host && c.status == CheckStatus::Fail) {
            c.status = CheckStatus::Warn;
            c.summary.push_str(&share);
            c.evidence.extend(why.clone());
        }
        for h in p.path.iter_mut().filter(|h| HostHop::parse(&h.hop).is_some() && h.status == CheckStatus::Fail) {
            h.status = CheckStatus::Warn;
        }
    }
    if several {
        p.causes = p.causes.into_iter().map(|c| own_cause(c, &b.target, true)).collect();
        for c in p.checks.iter_mut().filter(|c| c.layer == Layer::Host) {
            c.id = target_id(&c.id, &b.target, true);
        }
        // The hops of each target's host in turn: each names its target.
        for h in p.path.iter_mut().filter(|h| HostHop::parse(&h.hop).is_some()) {
            h.component = format!("{} {}", b.target, h.component);
        }
    }
    p
}

/// The target's host layer on the health-check port, when it was judged apart: its checks (ids
/// ending in `.health-check`). Its blocking causes join the health cause (`join_health`); when
/// the target's health decides nothing (its group fails open, or another target serves), what
/// fails there is a warning, as the cloud layer makes a serving group's target problems.
pub(super) fn health_checks(t: &TargetHost, several: bool, causes: &[Cause], checks: &mut Vec<Check>) {
    let b = &t.behind;
    let (Some(h), Some((port, _))) = (&t.health, b.health_check) else { return };
    // The cloud layer keeps a health cause only where the target's group cannot serve.
    let decides = causes.iter().any(|c| c.code == CauseCode::TargetUnhealthy && c.component == b.target);
    let why = explains_undecided(b);
    checks.extend(h.checks.iter().cloned().map(|mut c| {
        c.id = target_id(&format!("{}{HEALTH_SUFFIX}", c.id), &b.target, several);
        c.summary = format!("health-check port {port}: {}", c.summary);
        if !decides && c.status == CheckStatus::Fail {
            c.status = CheckStatus::Warn;
            c.evidence.extend(why.clone());
        }
        c
    }));
}

/// Whether two causes are the same finding (its code, where, and what), whatever evidence
/// either has gained since.
fn same_finding(a: &Cause, b: &Cause) -> bool {
    a.code == b.code && a.component == b.component && a.message == b.message
}

/// The host causes on the target's health checks' flow that a checker would meet, as the
/// report lists them.
fn health_blockers(t: &TargetHost, several: bool) -> Vec<Cause> {
    let Some(host) = t.health_host() else { return Vec::new() };
    let found = host.causes.iter().filter(|c| c.blocking && seen(c.code).is_some()).cloned();
    found.map(|c| own_cause(c, &t.behind.target, several)).collect()
}

/// Joins a target's host causes with its health cause (see the module's table), and with a
/// health-check leg the cloud layer found blocked (`HEALTH_CHECK_BLOCKED`): both stop the same
/// checks, and each says so — fixing one alone leaves the target unhealthy.
pub(super) fn join_health(t: &TargetHost, several: bool, proto: Proto, causes: &mut Vec<Cause>) {
    join_unhealthy(t, several, proto, causes);
    join_blocked_checks(t, several, causes);
}

fn join_blocked_checks(t: &TargetHost, several: bool, causes: &mut [Cause]) {
    let b = &t.behind;
    let Some((hc_port, _)) = b.health_check else { return };
    let found = health_blockers(t, several);
    let cloud: Vec<(CauseCode, String)> = causes
        .iter()
        .filter(|c| c.code == CauseCode::HealthCheckBlocked)
        .map(|c| (c.code, c.component.clone()))
        .collect();
    if found.is_empty() || cloud.is_empty() {
        return;
    }
    let words =
        |v: &[(CauseCode, String)]| v.iter().map(|(c, on)| format!("{c} ({on})")).collect::<Vec<_>>().join(", ");
    let hosts: Vec<(CauseCode, String)> = found.iter().map(|c| (c.code, c.component.clone())).collect();
    for c in causes.iter_mut() {
        if c.code == CauseCode::HealthCheckBlocked {
            c.evidence.push(format!(
                "{}'s host also stops the health checks on port {hc_port}: {} — fixing this rule alone leaves it unhealthy",
                b.target,
                words(&hosts)
            ));
        } else if found.iter().any(|f| same_finding(f, c)) {
            c.evidence.push(format!(
                "the cloud layer also blocks {}'s health checks on port {hc_port}: {}",
                b.target,
                words(&cloud)
            ));
        }
    }
}

fn join_unhealthy(t: &TargetHost, several: bool, proto: Proto, causes: &mut Vec<Cause>) {
    let b = &t.behind;
    let Some(host) = t.health_host() else { return };
    let Some((hc_port, hc_from)) = b.health_check else { return };
    let reason = b.reason.as_ref();
    let Some(at) = causes.iter().position(|c| c.code == CauseCode::TargetUnhealthy && c.component == b.target) else {
        return;
    };
    if !host_can_explain(reason) {
        return;
    }
    let reason_word = reason.map_or("failing its health checks", R::as_str);
    let found = health_blockers(t, several);
    if found.is_empty() {
        let unknown = host.checks.iter().filter(|c| c.kind == CheckKind::Path && c.status == CheckStatus::Unknown);
        let unknown: Vec<&str> = unknown.map(|c| c.id.as_str()).collect();
        let line = if unknown.is_empty() {
            format!(
                "the target's host admits {proto}/{hc_port} from {hc_from} and something listens there: the host evidence does not explain {reason_word} (an answer slower than the check's timeout, or a change since)"
            )
        } else {
            format!(
                "the target's host shows nothing against {proto}/{hc_port} from {hc_from}, but {} could not be checked",
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
        match causes.iter_mut().find(|c| same_finding(c, f)) {
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
