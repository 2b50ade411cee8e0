//! The platform layer's evidence: what the provider itself says about the account — abuse notices
//! (AWS Health, Support cases), compromise findings (GuardDuty), and who changed what (CloudTrail).
//! None of it is on the packet's path; all of it can explain why the path is dark.

use crate::knowledge::Missing;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One service's answer. Unlike network evidence, a service may be simply not asked (absent
/// from a snapshot): that is `skipped`, not `unknown` (CONTRACT.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Signal<T> {
    #[default]
    NotCollected,
    Failed(Missing),
    Known(T),
}

impl<T> Signal<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Signal::Known(v) => Some(v),
            _ => None,
        }
    }
}

/// An AWS Health event (describe-events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthEvent {
    pub arn: String,
    pub service: String,
    pub type_code: String,
    pub region: Option<String>,
    /// `open`, `closed`, `upcoming`.
    pub status: String,
    pub start: Option<Timestamp>,
    pub last_updated: Option<Timestamp>,
}

impl HealthEvent {
    /// Abuse notices: service ABUSE, or an `AWS_ABUSE_` event type (old and new names alike).
    pub fn is_abuse(&self) -> bool {
        self.service.eq_ignore_ascii_case("ABUSE") || self.type_code.starts_with("AWS_ABUSE_")
    }
}

/// A resource an event affects (describe-affected-entities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedEntity {
    pub event_arn: String,
    /// An instance id, address, interface id, or an ARN naming one.
    pub value: String,
    /// `IMPAIRED`, `UNIMPAIRED`, `UNKNOWN`, `PENDING`, `RESOLVED`.
    pub status: Option<String>,
}

/// A GuardDuty finding (get-findings), reduced to what ties it to an instance and says what it
/// shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub type_name: String,
    pub severity: f64,
    pub title: String,
    pub instance_id: Option<String>,
    /// Addresses and interfaces of the instance as the finding recorded them.
    pub addresses: Vec<String>,
    /// `ACTOR` (the instance did it) or `TARGET`.
    pub resource_role: Option<String>,
    /// `OUTBOUND`/`INBOUND` of a network-connection action.
    pub direction: Option<String>,
    pub count: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub archived: bool,
    pub detector_id: Option<String>,
}

impl Finding {
    /// Finding types that mean "this instance attacks others" (FACTS.md; GuardDuty finding-type
    /// reference): denial of service, command and control, spam, mining, unusual traffic volume,
    /// outbound port scans, and SSH/RDP brute force with the instance as the actor.
    pub fn attacks_others(&self) -> bool {
        let t = self.type_name.as_str();
        let family = |prefix: &str| t.strip_prefix(prefix).is_some_and(|r| r.is_empty() || r.starts_with(['.', '!']));
        let outbound = self.resource_role.as_deref() == Some("ACTOR") || self.direction.as_deref() == Some("OUTBOUND");
        family("Backdoor:EC2/DenialOfService")
            || family("Backdoor:EC2/C&CActivity")
            || family("Backdoor:EC2/Spambot")
            || family("CryptoCurrency:EC2/BitcoinTool")
            || family("Behavior:EC2/TrafficVolumeUnusual")
            || family("Recon:EC2/Portscan")
            || ((family("UnauthorizedAccess:EC2/SSHBruteForce") || family("UnauthorizedAccess:EC2/RDPBruteForce"))
                && outbound)
    }
}

/// A port range a change named, e.g. the permission a `RevokeSecurityGroupIngress` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedPorts {
    /// `tcp`, `udp`, `-1`/`all`, or a number, as the request wrote it.
    pub protocol: String,
    pub from: Option<u16>,
    pub to: Option<u16>,
}

/// A CloudTrail management event (lookup-events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailEvent {
    pub event_id: String,
    pub name: String,
    pub time: Timestamp,
    pub actor: Option<String>,
    pub read_only: bool,
    /// Resource ids the event touched: its `Resources` plus ids named in the request.
    pub resources: Vec<String>,
    /// What the request asked for, in words ("tcp/8080 from 0.0.0.0/0").
    pub detail: Option<String>,
    /// Ports the request named (security-group permissions, network ACL entries).
    pub ports: Vec<ChangedPorts>,
    /// Network ACL entries: whether the entry is for outbound traffic.
    pub egress: Option<bool>,
}

/// An AWS Support case (describe-cases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportCase {
    pub case_id: String,
    pub display_id: Option<String>,
    pub subject: String,
    /// `opened`, `pending-customer-action`, `reopened`, `resolved`, …
    pub status: String,
    pub service_code: Option<String>,
    pub category_code: Option<String>,
    pub created: Option<Timestamp>,
    /// Subject, service/category and recent communications, for matching resource ids.
    pub text: String,
}

impl SupportCase {
    pub fn is_abuse(&self) -> bool {
        let t = self.text.to_ascii_lowercase();
        t.contains("abuse") || t.contains("trust & safety") || t.contains("trust and safety")
    }

    pub fn is_open(&self) -> bool {
        self.status != "resolved"
    }
}

/// The platform evidence of one account, live or from a snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlatformEvidence {
    pub health_events: Signal<Vec<HealthEvent>>,
    pub health_entities: Signal<Vec<AffectedEntity>>,
    pub findings: Signal<Vec<Finding>>,
    pub trail: Signal<Vec<TrailEvent>>,
    pub cases: Signal<Vec<SupportCase>>,
    /// When the evidence was taken (a snapshot's stamp), for the change window and ages.
    pub taken_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(t: &str, role: Option<&str>) -> Finding {
        Finding {
            id: "f".into(),
            type_name: t.into(),
            severity: 8.0,
            title: String::new(),
            instance_id: None,
            addresses: vec![],
            resource_role: role.map(str::to_string),
            direction: None,
            count: 1,
            first_seen: None,
            last_seen: None,
            archived: false,
            detector_id: None,
        }
    }

    #[test]
    fn attacking_types() {
        for t in [
            "Backdoor:EC2/DenialOfService.Tcp",
            "Backdoor:EC2/DenialOfService.UdpOnTcpPorts",
            "Backdoor:EC2/C&CActivity.B!DNS",
            "Backdoor:EC2/Spambot",
            "CryptoCurrency:EC2/BitcoinTool.B",
            "Behavior:EC2/TrafficVolumeUnusual",
            "Recon:EC2/Portscan",
        ] {
            assert!(finding(t, None).attacks_others(), "{t}");
        }
        assert!(finding("UnauthorizedAccess:EC2/SSHBruteForce", Some("ACTOR")).attacks_others());
        assert!(!finding("UnauthorizedAccess:EC2/SSHBruteForce", Some("TARGET")).attacks_others());
        assert!(!finding("Recon:EC2/PortProbeUnprotectedPort", None).attacks_others());
        assert!(!finding("Backdoor:EC2/SpambotX", None).attacks_others());
    }
}
