//! The kernel witness's report (`portdoctor trace`, CONTRACT.md §2): the packets of one flow the
//! kernel dropped while the witness ran, each with the kernel's own reason and where it happened.

use crate::net::Proto;
use serde::{Deserialize, Serialize};

/// What `trace --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReport {
    pub schema_version: u32,
    pub tool: TraceTool,
    pub query: TraceQuery,
    /// The flow's packets the kernel received (to the port, from the client) while it ran.
    pub packets_seen: u64,
    pub drops: Vec<KernelDrop>,
    /// Drops of the flow that are normal operation, not blockers (a segment hitting a TIME_WAIT
    /// socket, a queue purged on close): counted, not listed.
    pub ignored: u64,
    /// Drop events the kernel could not hand over (ring buffer full): when non-zero, "no drops"
    /// is not a proof.
    pub lost: u64,
    /// The kernel's counters for what leaves no drop event (a full accept queue, a reply with no
    /// route: `TcpExtListenOverflows`, `TcpExtListenDrops`, `IpOutNoRoutes`) that rose while it
    /// ran, by how much. They count every flow of the host's network namespace.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub counters: std::collections::BTreeMap<String, u64>,
}

impl TraceReport {
    /// CONTRACT.md §2: 0 when no packet of the flow was dropped, 1 when drops were seen.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.drops.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceTool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceQuery {
    pub command: String,
    pub port: u16,
    pub protocol: Proto,
    /// `internet`, an address or a CIDR, as `--from` reads.
    pub from: String,
    /// How long the witness ran, in milliseconds.
    pub duration_ms: u64,
}

/// One packet the kernel freed as dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelDrop {
    /// RFC 3339 UTC, to the millisecond.
    pub time: String,
    /// The kernel's `enum skb_drop_reason` name without its `SKB_DROP_REASON_` prefix
    /// (`NETFILTER_DROP`), or the number when this kernel's BTF does not name it; `null` when
    /// the kernel gives no reason at all (Linux 5.5 to 5.16: the location only).
    pub reason: Option<String>,
    /// The kernel function that dropped it (`nft_do_chain`), or the address when unresolved.
    pub location: String,
    pub packet: DropPacket,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_handle: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The device the packet was on when dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

impl KernelDrop {
    /// A drop as the kernel reports it; what `--nftrace` adds (hook, table, rule…) is filled in
    /// afterwards.
    pub fn new(
        time: String,
        reason: Option<String>,
        location: String,
        packet: DropPacket,
        interface: Option<String>,
    ) -> Self {
        KernelDrop {
            time,
            reason,
            location,
            packet,
            hook: None,
            family: None,
            table: None,
            chain: None,
            rule_handle: None,
            rule: None,
            interface,
        }
    }

    /// The reason for a person: its name, or that this kernel gave the location only.
    pub fn reason_text(&self) -> &str {
        self.reason.as_deref().unwrap_or(LOCATION_ONLY)
    }

    /// The kernel's reason; where it gave the location only (before 5.17), the reason that
    /// location alone implies (netfilter's chain walk, the ingress hook where tc filters run),
    /// `None` where a location can mean several (`tcp_v4_rcv`: no socket, a socket filter, xfrm).
    pub fn reason_or_implied(&self) -> Option<&str> {
        self.reason.as_deref().or(match self.location.as_str() {
            "nft_do_chain" => Some("NETFILTER_DROP"),
            "__netif_receive_skb_core" => Some("TC_INGRESS"),
            _ => None,
        })
    }

    /// Dropped by netfilter: the reason says so, or (without reasons) the location does.
    pub fn is_netfilter(&self) -> bool {
        self.reason_or_implied() == Some("NETFILTER_DROP")
    }
}

/// What stands for the reason where the kernel gives none (before Linux 5.17).
pub const LOCATION_ONLY: &str = "(location only)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropPacket {
    pub src: String,
    pub sport: u16,
    pub dst: String,
    pub dport: u16,
    pub proto: Proto,
    /// TCP flags as tcpdump writes them (`S`, `S.`, `R.`, `F.`, `P.`); empty for UDP.
    pub flags: String,
}

/// Why the witness could not run, and what to do about it (one line, exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    pub problem: String,
    pub remedy: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.problem, self.remedy)
    }
}

impl std::error::Error for TraceError {}
