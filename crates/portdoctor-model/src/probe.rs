//! What the wire says: connection attempts from a vantage point, and the packets a capture on
//! the instance's NIC saw. These are the only evidence that watches the real path rather than
//! the configuration of it.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// An ICMP destination-unreachable kind (RFC 792 / RFC 4443 codes as the kernel reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IcmpKind {
    #[serde(rename = "net-unreachable")]
    Net,
    #[serde(rename = "host-unreachable")]
    Host,
    #[serde(rename = "port-unreachable")]
    Port,
    #[serde(rename = "admin-prohibited")]
    AdminProhibited,
    #[serde(rename = "unreachable")]
    Other,
}

impl IcmpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IcmpKind::Net => "net-unreachable",
            IcmpKind::Host => "host-unreachable",
            IcmpKind::Port => "port-unreachable",
            IcmpKind::AdminProhibited => "admin-prohibited",
            IcmpKind::Other => "unreachable",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ProbeOutcome {
    /// The handshake completed (TCP) or an answer came back (UDP).
    Open,
    /// A TCP RST came back.
    Refused,
    /// Silence until the timeout.
    Filtered,
    /// An ICMP error came back (read from the socket's error queue).
    Unreachable { kind: IcmpKind, from: Option<IpAddr> },
    /// The attempt could not be made (no route, name did not resolve, …).
    Error { message: String },
}

impl ProbeOutcome {
    pub fn word(&self) -> String {
        match self {
            ProbeOutcome::Open => "open".into(),
            ProbeOutcome::Refused => "refused".into(),
            ProbeOutcome::Filtered => "filtered".into(),
            ProbeOutcome::Unreachable { kind, from } => match from {
                Some(f) => format!("{} from {f}", kind.as_str()),
                None => kind.as_str().into(),
            },
            ProbeOutcome::Error { message } => format!("error: {message}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAttempt {
    pub port: u16,
    /// The local port the attempt left from, to find it again in a capture.
    pub source_port: Option<u16>,
    #[serde(flatten)]
    pub outcome: ProbeOutcome,
    pub millis: u64,
}

/// Every attempt from one vantage point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// `here`, or the name of another vantage (`ssh-host`).
    pub vantage: String,
    pub target: IpAddr,
    pub proto: crate::net::Proto,
    pub attempts: Vec<ProbeAttempt>,
}

impl ProbeReport {
    /// The port's verdict over its attempts: open if any opened, else refused, else an ICMP
    /// kind, else filtered (a single lost SYN must not read as filtered when another got through).
    pub fn verdict(&self, port: u16) -> Option<ProbeOutcome> {
        let of_port: Vec<&ProbeOutcome> = self.attempts.iter().filter(|a| a.port == port).map(|a| &a.outcome).collect();
        let rank = |o: &ProbeOutcome| match o {
            ProbeOutcome::Open => 0,
            ProbeOutcome::Refused => 1,
            ProbeOutcome::Unreachable { .. } => 2,
            ProbeOutcome::Filtered => 3,
            ProbeOutcome::Error { .. } => 4,
        };
        of_port.into_iter().min_by_key(|o| rank(o)).cloned()
    }
}

/// What left the NIC in answer to a SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    SynAck,
    Rst,
    Icmp,
}

/// The answer by the words packet tools print for it (`SYN-ACK`, `RST`, `ICMP`).
impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::SynAck => "SYN-ACK",
            Answer::Rst => "RST",
            Answer::Icmp => "ICMP",
        })
    }
}

/// A packet the capture saw, inbound SYN or outbound answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenPacket {
    /// Seconds since the capture started.
    pub at: f64,
    /// The remote side (the client).
    pub remote: IpAddr,
    pub remote_port: u16,
    pub local_port: u16,
    /// `None` for an inbound SYN; the kind for an outbound answer.
    pub answer: Option<Answer>,
}

/// A capture on the instance: which SYNs to the port arrived and what left in answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureReport {
    pub iface: String,
    pub port: u16,
    pub seconds: f64,
    pub packets: Vec<SeenPacket>,
}

impl CaptureReport {
    pub fn syns(&self) -> impl Iterator<Item = &SeenPacket> {
        self.packets.iter().filter(|p| p.answer.is_none())
    }

    /// The answers to the SYNs from one client port.
    pub fn answers_to(&self, remote_port: u16) -> impl Iterator<Item = &SeenPacket> {
        self.packets.iter().filter(move |p| p.answer.is_some() && p.remote_port == remote_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_wire_words() {
        let words: Vec<String> = [Answer::SynAck, Answer::Rst, Answer::Icmp].iter().map(Answer::to_string).collect();
        assert_eq!(words, ["SYN-ACK", "RST", "ICMP"]);
    }
}
