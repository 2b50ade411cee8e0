//! The diagnosis: causes, checks, the path, the timeline, and the verdict derived from them.
//!
//! The status rule of CONTRACT.md §2 lives here, in one place (`Diagnosis::new`), so every
//! command computes it the same way.

use crate::fix::Fix;
use crate::net::{Family, Proto, Source};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Host,
    Cloud,
    Platform,
    Path,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Host => "host",
            Layer::Cloud => "cloud",
            Layer::Platform => "platform",
            Layer::Path => "path",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Confirmed,
    Likely,
    Possible,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Likely => "likely",
            Confidence::Possible => "possible",
        }
    }
}

macro_rules! cause_codes {
    ($($variant:ident => $code:literal, $layer:ident;)*) => {
        /// The cause codes of CONTRACT.md §4. Each belongs to exactly one layer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum CauseCode { $($variant,)* }

        impl CauseCode {
            pub const ALL: &'static [CauseCode] = &[$(CauseCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(CauseCode::$variant => $code,)* }
            }

            pub fn layer(self) -> Layer {
                match self { $(CauseCode::$variant => Layer::$layer,)* }
            }
        }
    };
}

cause_codes! {
    NotListening => "NOT_LISTENING", Host;
    ListenerLoopbackOnly => "LISTENER_LOOPBACK_ONLY", Host;
    ListenerAddressMismatch => "LISTENER_ADDRESS_MISMATCH", Host;
    ListenerFamilyMismatch => "LISTENER_FAMILY_MISMATCH", Host;
    HostFirewallDrop => "HOST_FIREWALL_DROP", Host;
    HostFirewallReject => "HOST_FIREWALL_REJECT", Host;
    HostFirewallOutputDrop => "HOST_FIREWALL_OUTPUT_DROP", Host;
    IpForwardingDisabled => "IP_FORWARDING_DISABLED", Host;
    SelinuxBindDenied => "SELINUX_BIND_DENIED", Host;
    TcpWrappersDeny => "TCP_WRAPPERS_DENY", Host;
    RpFilterDrop => "RP_FILTER_DROP", Host;
    ReplyRouteAsymmetric => "REPLY_ROUTE_ASYMMETRIC", Host;
    ConntrackTableFull => "CONNTRACK_TABLE_FULL", Host;
    ListenQueueOverflow => "LISTEN_QUEUE_OVERFLOW", Host;
    HostRouteDrop => "HOST_ROUTE_DROP", Host;
    XfrmPolicyBlock => "XFRM_POLICY_BLOCK", Host;
    KernelDrop => "KERNEL_DROP", Host;
    InstanceNotRunning => "INSTANCE_NOT_RUNNING", Cloud;
    NoPublicIp => "NO_PUBLIC_IP", Cloud;
    PublicIpNotAssociated => "PUBLIC_IP_NOT_ASSOCIATED", Cloud;
    TargetAddressPrivate => "TARGET_ADDRESS_PRIVATE", Cloud;
    IgwMissing => "IGW_MISSING", Cloud;
    IgwEgressOnly => "IGW_EGRESS_ONLY", Cloud;
    RouteToIgwMissing => "ROUTE_TO_IGW_MISSING", Cloud;
    RouteBlackhole => "ROUTE_BLACKHOLE", Cloud;
    SecurityGroupNoIngress => "SECURITY_GROUP_NO_INGRESS", Cloud;
    NaclInboundDeny => "NACL_INBOUND_DENY", Cloud;
    NaclOutboundDeny => "NACL_OUTBOUND_DENY", Cloud;
    VpcBlockPublicAccess => "VPC_BLOCK_PUBLIC_ACCESS", Cloud;
    LbNotActive => "LB_NOT_ACTIVE", Cloud;
    LbSchemeInternal => "LB_SCHEME_INTERNAL", Cloud;
    LbNoListener => "LB_NO_LISTENER", Cloud;
    LbSubnetNotPublic => "LB_SUBNET_NOT_PUBLIC", Cloud;
    LbNoTargets => "LB_NO_TARGETS", Cloud;
    TargetUnhealthy => "TARGET_UNHEALTHY", Cloud;
    TargetAzNotEnabled => "TARGET_AZ_NOT_ENABLED", Cloud;
    TargetSecurityGroupNoIngress => "TARGET_SECURITY_GROUP_NO_INGRESS", Cloud;
    SecurityGroupNoEgress => "SECURITY_GROUP_NO_EGRESS", Cloud;
    HealthCheckBlocked => "HEALTH_CHECK_BLOCKED", Cloud;
    AbuseBlock => "ABUSE_BLOCK", Platform;
    InstanceCompromised => "INSTANCE_COMPROMISED", Platform;
    UpstreamFiltered => "UPSTREAM_FILTERED", Path;
    CarrierBlock => "CARRIER_BLOCK", Path;
    DnsStale => "DNS_STALE", Path;
}

impl fmt::Display for CauseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason the port cannot be reached (or a non-blocking cause that explains one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub code: CauseCode,
    /// The resource or host object that decides (sg-…, a socket, a chain).
    pub component: String,
    pub blocking: bool,
    pub confidence: Confidence,
    pub message: String,
    /// Each line names where it came from.
    pub evidence: Vec<String>,
    /// Commands in the user's own tool (values quoted when rendered), printed, never run.
    pub fix: Vec<Fix>,
    pub introduced_by: Option<String>,
    /// The address family this cause holds for, when a dual-stack target was judged per
    /// family and the cause is not shared by every family (`crate::net::Family`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
}

impl Cause {
    pub fn blocking(
        code: CauseCode,
        component: impl Into<String>,
        confidence: Confidence,
        message: impl Into<String>,
    ) -> Cause {
        Cause {
            code,
            component: component.into(),
            blocking: true,
            confidence,
            message: message.into(),
            evidence: Vec::new(),
            fix: Vec::new(),
            introduced_by: None,
            family: None,
        }
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = String>) -> Cause {
        self.evidence.extend(evidence);
        self
    }

    pub fn with_fix(mut self, fix: impl IntoIterator<Item = Fix>) -> Cause {
        self.fix.extend(fix);
        self
    }

    pub fn layer(&self) -> Layer {
        self.code.layer()
    }

    /// Whether this cause alone makes the status `blocked` (CONTRACT.md §2).
    pub fn decides_blocked(&self) -> bool {
        self.blocking && matches!(self.confidence, Confidence::Confirmed | Confidence::Likely)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    Warn,
    Unknown,
    Skipped,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Warn => "warn",
            CheckStatus::Unknown => "unknown",
            CheckStatus::Skipped => "skipped",
        }
    }
}

/// On the packet's path, or context around it (CONTRACT.md §2): only an `unknown` path check can
/// make a diagnosis inconclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Path,
    Context,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Dotted id, e.g. `host.listener`.
    pub id: String,
    pub layer: Layer,
    pub kind: CheckKind,
    pub status: CheckStatus,
    pub summary: String,
    pub evidence: Vec<String>,
    pub duration_ms: Option<u64>,
    /// The address family of a check made for one family of a dual-stack target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
}

impl Check {
    pub fn new(
        id: impl Into<String>,
        layer: Layer,
        kind: CheckKind,
        status: CheckStatus,
        summary: impl Into<String>,
    ) -> Check {
        Check {
            id: id.into(),
            layer,
            kind,
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            duration_ms: None,
            family: None,
        }
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = String>) -> Check {
        self.evidence.extend(evidence);
        self
    }
}

/// One hop of the packet's path, in packet order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// From the list in CONTRACT.md §3 (`nic`, `host-firewall`, `kernel`, `listener`, …).
    pub hop: String,
    pub component: String,
    pub status: CheckStatus,
    pub detail: String,
    /// The address family of a hop on one family's path of a dual-stack target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Behind a load balancer, the target whose host this hop is on (its host layer's hops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Hop {
    pub fn new(hop: &str, component: impl Into<String>, status: CheckStatus, detail: impl Into<String>) -> Hop {
        Hop {
            hop: hop.to_string(),
            component: component.into(),
            status,
            detail: detail.into(),
            family: None,
            target: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub time: String,
    pub source: String,
    pub event: String,
    pub actor: Option<String>,
    pub component: Option<String>,
    pub event_id: Option<String>,
    pub detail: Option<String>,
}

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The command that answered: `host`, `cloud`, `diagnose`.
    pub command: String,
    /// The address asked about; `None` when there is none.
    pub target: Option<String>,
    pub port: u16,
    pub protocol: Proto,
    pub from: Source,
    pub instance: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Reachable,
    Blocked,
    Inconclusive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reachable => "reachable",
            Status::Blocked => "blocked",
            Status::Inconclusive => "inconclusive",
        }
    }

    /// CONTRACT.md §2.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Reachable => 0,
            Status::Blocked => 1,
            Status::Inconclusive => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub query: Query,
    pub status: Status,
    pub summary: String,
    /// Primary cause first.
    pub causes: Vec<Cause>,
    pub checks: Vec<Check>,
    pub path: Vec<Hop>,
    pub timeline: Vec<TimelineEntry>,
    pub notes: Vec<String>,
    /// Where the flow arrives on the instance, when a layer knows it: the cloud layer's private
    /// address of the interface the target resolves to. `diagnose` hands it to the host layer
    /// so the arrival is not guessed there. Not part of the JSON report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<std::net::IpAddr>,
    /// A dual-stack target judged per family: each family's arrival, `arrival` first. Empty
    /// when one family was judged. Not part of the JSON report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arrivals: Vec<std::net::IpAddr>,
    /// Behind a load balancer: every target of the groups the listener forwards to, each once,
    /// in the cloud layer's order (the first is the one at `arrival`): what each sees and its
    /// health, for the host layer and its join. Not part of the JSON report.
    #[serde(skip)]
    pub behind: Vec<crate::elb::BehindBalancer>,
}

/// What the machine at a diagnosis' arrival sees behind a load balancer: the target's port, the
/// clients it sees, and whether the balancer has other targets to send to instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrivalFlow {
    pub port: u16,
    pub from: Source,
    /// The other targets of its group that are healthy (the balancer sends to them instead
    /// when this one fails), and the group's size: this machine's own fault is then its share
    /// of the group, not the service's.
    pub others_healthy: usize,
    pub targets: usize,
}

impl Diagnosis {
    /// Derives the status from causes and checks (CONTRACT.md §2) and picks the summary:
    /// the primary blocking cause's message when blocked, else `reachable_summary` or a sentence
    /// naming what is unknown.
    pub fn new(
        query: Query,
        mut causes: Vec<Cause>,
        checks: Vec<Check>,
        path: Vec<Hop>,
        reachable_summary: String,
    ) -> Diagnosis {
        // Primary first: deciding blockers, then other blockers, then explanations; stable, so
        // an engine's own ordering (packet order) is kept within each group.
        causes.sort_by_key(|c| (!c.decides_blocked(), !c.blocking, c.confidence));
        let status = if causes.iter().any(Cause::decides_blocked) {
            Status::Blocked
        } else if !causes.is_empty()
            || checks.iter().any(|c| c.kind == CheckKind::Path && c.status == CheckStatus::Unknown)
        {
            Status::Inconclusive
        } else {
            Status::Reachable
        };
        let summary = match status {
            Status::Blocked => {
                let others = causes.iter().filter(|c| c.decides_blocked()).count() - 1;
                let first = &causes[0].message;
                match others {
                    0 => first.clone(),
                    1 => format!("{first} (and 1 more blocker)"),
                    n => format!("{first} (and {n} more blockers)"),
                }
            }
            Status::Inconclusive => {
                let unknown: Vec<&str> = checks
                    .iter()
                    .filter(|c| c.kind == CheckKind::Path && c.status == CheckStatus::Unknown)
                    .map(|c| c.id.as_str())
                    .collect();
                match causes.first() {
                    Some(c) => format!("Possibly blocked: {}", c.message),
                    None => {
                        format!("Could not decide: no blocker found, but {} could not be checked", unknown.join(", "))
                    }
                }
            }
            Status::Reachable => reachable_summary,
        };
        let summary = per_family_summary(&causes, &checks, &path).unwrap_or(summary);
        Diagnosis {
            query,
            status,
            summary,
            causes,
            checks,
            path,
            timeline: Vec::new(),
            notes: Vec::new(),
            arrival: None,
            arrivals: Vec::new(),
            behind: Vec::new(),
        }
    }

    /// This diagnosis with its causes and checks replaced by a layer joined in after it was
    /// judged (the kernel witness): status and summary derived again by the same rule, every
    /// other part kept as it was.
    pub fn rejudged(mut self, causes: Vec<Cause>, checks: Vec<Check>) -> Diagnosis {
        let reachable =
            if self.status == Status::Reachable { std::mem::take(&mut self.summary) } else { String::new() };
        let path = std::mem::take(&mut self.path);
        let judged = Diagnosis::new(self.query.clone(), causes, checks, path, reachable);
        Diagnosis {
            status: judged.status,
            summary: judged.summary,
            causes: judged.causes,
            checks: judged.checks,
            path: judged.path,
            ..self
        }
    }
}

/// One family's status by the rule of CONTRACT.md §2, over the causes and checks that hold for
/// it (its own and those shared by every family).
fn family_status(causes: &[Cause], checks: &[Check], f: Family) -> Status {
    let holds = |of: Option<Family>| of.is_none_or(|x| x == f);
    let causes = || causes.iter().filter(|c| holds(c.family));
    if causes().any(Cause::decides_blocked) {
        Status::Blocked
    } else if causes().next().is_some()
        || checks.iter().any(|c| holds(c.family) && c.kind == CheckKind::Path && c.status == CheckStatus::Unknown)
    {
        Status::Inconclusive
    } else {
        Status::Reachable
    }
}

/// When a dual-stack target was judged per family (hops, checks or causes carry a family) and the
/// families differ, the summary says each family's status and the first blocker of the first
/// blocked family: "IPv4 reachable, IPv6 blocked: …". Users care that half their clients fail,
/// and which half. `None` when one family was judged or every family has the same status (the
/// causes' own words, which name their family, say it then).
fn per_family_summary(causes: &[Cause], checks: &[Check], path: &[Hop]) -> Option<String> {
    // Every family judged has hops of its own; causes and checks may all be shared.
    let mut families: Vec<Family> = causes
        .iter()
        .filter_map(|c| c.family)
        .chain(checks.iter().filter_map(|c| c.family))
        .chain(path.iter().filter_map(|h| h.family))
        .collect();
    families.sort_unstable();
    families.dedup();
    if families.len() < 2 {
        return None;
    }
    let states: Vec<(Family, Status)> = families.iter().map(|f| (*f, family_status(causes, checks, *f))).collect();
    if states.iter().all(|(_, s)| *s == states[0].1) {
        return None;
    }
    let words = |s: Status| match s {
        Status::Reachable => "reachable",
        Status::Blocked => "blocked",
        Status::Inconclusive => "undecided",
    };
    let head: Vec<String> = states.iter().map(|(f, s)| format!("{} {}", f.name(), words(*s))).collect();
    let head = head.join(", ");
    let (worst, status) = states
        .iter()
        .find(|(_, s)| *s == Status::Blocked)
        .or_else(|| states.iter().find(|(_, s)| *s == Status::Inconclusive))?;
    let holds = |c: &&Cause| c.family.is_none_or(|x| x == *worst);
    let mine: Vec<&Cause> = causes.iter().filter(holds).collect();
    let first = match status {
        Status::Blocked => {
            let deciding: Vec<&&Cause> = mine.iter().filter(|c| c.decides_blocked()).collect();
            let msg = unprefixed(&deciding.first()?.message, *worst);
            match deciding.len() - 1 {
                0 => msg.to_string(),
                1 => format!("{msg} (and 1 more blocker)"),
                n => format!("{msg} (and {n} more blockers)"),
            }
        }
        _ => match mine.first() {
            Some(c) => format!("possibly blocked: {}", unprefixed(&c.message, *worst)),
            None => "some of its checks could not be made".to_string(),
        },
    };
    Some(format!("{head}: {first}"))
}

/// A message without the "IPv6: " its family put in front of it.
fn unprefixed(message: &str, f: Family) -> &str {
    message.strip_prefix(f.name()).and_then(|m| m.strip_prefix(": ")).unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> Query {
        Query {
            command: "host".into(),
            target: None,
            port: 80,
            protocol: Proto::Tcp,
            from: Source::Internet,
            instance: None,
        }
    }

    fn path_check(status: CheckStatus) -> Check {
        Check::new("host.listener", Layer::Host, CheckKind::Path, status, "x")
    }

    #[test]
    fn every_code_has_the_contract_spelling_and_layer() {
        assert_eq!(CauseCode::ALL.len(), 44);
        assert_eq!(CauseCode::HealthCheckBlocked.as_str(), "HEALTH_CHECK_BLOCKED");
        assert_eq!(CauseCode::ListenQueueOverflow.as_str(), "LISTEN_QUEUE_OVERFLOW");
        assert_eq!(CauseCode::AbuseBlock.layer(), Layer::Platform);
        assert_eq!(CauseCode::CarrierBlock.layer(), Layer::Path);
    }

    #[test]
    fn status_follows_contract_order() {
        let blocked = Cause::blocking(CauseCode::NotListening, "x", Confidence::Likely, "nothing listens");
        let possible = Cause::blocking(CauseCode::NotListening, "x", Confidence::Possible, "maybe");
        let d = Diagnosis::new(
            query(),
            vec![possible.clone(), blocked],
            vec![path_check(CheckStatus::Unknown)],
            vec![],
            "ok".into(),
        );
        assert_eq!(d.status, Status::Blocked);
        assert_eq!(d.causes[0].confidence, Confidence::Likely, "deciding blocker sorted first");
        assert_eq!(d.summary, "nothing listens");

        let d = Diagnosis::new(query(), vec![possible], vec![], vec![], "ok".into());
        assert_eq!(d.status, Status::Inconclusive);

        let d = Diagnosis::new(query(), vec![], vec![path_check(CheckStatus::Unknown)], vec![], "ok".into());
        assert_eq!(d.status, Status::Inconclusive);
        assert!(d.summary.contains("host.listener"));

        let mut ctx = path_check(CheckStatus::Unknown);
        ctx.kind = CheckKind::Context;
        let d = Diagnosis::new(query(), vec![], vec![ctx, path_check(CheckStatus::Skipped)], vec![], "ok".into());
        assert_eq!(d.status, Status::Reachable);
        assert_eq!(d.status.exit_code(), 0);
    }
}
