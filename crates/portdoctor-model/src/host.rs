//! What a Linux host tells us: sockets, interfaces, routes, counters, conntrack.

use crate::knowledge::{EvidenceSource, Fact, Knowledge};
use crate::net::{Cidr, Family, Proto};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A socket's TCP-style state as sock_diag reports it (`include/net/tcp_states.h`).
/// Unknown numbers are kept, not dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketState {
    Listen,
    /// TCP_CLOSE: for UDP, a bound socket that is not connected to a peer.
    Unconnected,
    Established,
    Other(u8),
}

impl SocketState {
    pub fn from_kernel(n: u8) -> SocketState {
        match n {
            1 => SocketState::Established,
            7 => SocketState::Unconnected,
            10 => SocketState::Listen,
            other => SocketState::Other(other),
        }
    }

    pub fn kernel_number(self) -> u8 {
        match self {
            SocketState::Established => 1,
            SocketState::Unconnected => 7,
            SocketState::Listen => 10,
            SocketState::Other(n) => n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub name: String,
}

/// A bound socket, from sock_diag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Socket {
    pub proto: Proto,
    pub local: IpAddr,
    pub port: u16,
    /// Remote address and port; unspecified/0 for listeners and unconnected UDP.
    pub peer: Option<(IpAddr, u16)>,
    pub state: SocketState,
    /// IPV6_V6ONLY, reported by the kernel for IPv6 sockets in LISTEN/CLOSE state.
    pub v6only: Option<bool>,
    /// SO_BINDTODEVICE interface index, when bound.
    pub bound_ifindex: Option<u32>,
    /// For a listener: the accept queue length now. Otherwise bytes queued to read.
    pub recv_q: u32,
    /// For a listener: the accept backlog (listen()'s argument, capped by somaxconn).
    pub send_q: u32,
    pub uid: u32,
    pub inode: u64,
    /// The processes holding the socket open.
    pub owners: Knowledge<Vec<Process>>,
}

impl Socket {
    pub fn family(&self) -> Family {
        Family::of(&self.local)
    }

    /// A socket that accepts new flows from any client: TCP LISTEN, or unconnected UDP.
    pub fn accepts_new_flows(&self) -> bool {
        match self.proto {
            Proto::Tcp => self.state == SocketState::Listen,
            Proto::Udp => self.state == SocketState::Unconnected && self.peer.is_none(),
        }
    }

    /// "nginx (pid 812)", "nginx (pid 812), nginx (pid 813)", or a note that it is unknown.
    pub fn owner_text(&self) -> String {
        match &self.owners {
            Knowledge::Known(procs) if procs.is_empty() => format!(
                "a socket of no process visible here (inode {}: another PID namespace, or the kernel)",
                self.inode
            ),
            Knowledge::Known(procs) => {
                let mut seen: Vec<String> = procs.iter().map(|p| format!("{} (pid {})", p.name, p.pid)).collect();
                seen.dedup();
                seen.join(", ")
            }
            Knowledge::Unavailable(_) => format!("an unknown process (uid {}, inode {})", self.uid, self.inode),
        }
    }

    /// `0.0.0.0:8080`, `[::]:8080`.
    pub fn local_text(&self) -> String {
        match self.local {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfAddr {
    pub addr: IpAddr,
    pub prefix: u8,
    /// `global`, `link`, `host`.
    pub scope: String,
    pub secondary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub index: u32,
    pub name: String,
    pub up: bool,
    pub addrs: Vec<IfAddr>,
    /// The other end of a veth pair in another namespace: (that namespace's id as this one
    /// numbers it, the peer's ifindex there) — `link_netnsid`, `link_index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<(i32, u32)>,
    /// The bridge this interface is a port of (`master`), e.g. docker0, cni0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// The XDP programs attached to it (`ip -j link`'s `xdp`): they see every packet before
    /// the kernel's stack, netfilter included, and may drop it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xdp: Vec<XdpProg>,
}

/// An XDP program attached to an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XdpProg {
    /// `native` (driver), `generic` (skb), `offload` (in the NIC), or the kernel's number.
    pub mode: String,
    pub id: Option<u32>,
    pub name: Option<String>,
    pub tag: Option<String>,
}

impl XdpProg {
    /// `xdp_drop (id 106, generic mode)`.
    pub fn describe(&self) -> String {
        let name = self.name.clone().unwrap_or_else(|| "an unnamed program".into());
        let id = self.id.map(|i| format!("id {i}, ")).unwrap_or_default();
        format!("{name} ({id}{} mode)", self.mode)
    }
}

/// The tc ingress side of every interface: which ones have an `ingress` or `clsact` qdisc, and
/// the filters attached there (`tc -j filter show dev IF ingress`). A filter runs before
/// netfilter and may drop the packet (TC_ACT_SHOT), which portdoctor cannot evaluate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcIngress {
    /// Interfaces with an ingress or clsact qdisc.
    pub devices: Vec<String>,
    pub filters: Vec<TcFilter>,
}

/// One tc filter on an interface's ingress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcFilter {
    pub dev: String,
    /// What tc says of it, in words: `pref 49152 bpf chain 0 handle 0x1 tcdrop.o:[classifier] (id 12) direct-action`.
    pub text: String,
}

/// The direction an xfrm (IPsec) policy applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum XfrmDir {
    /// Packets delivered to this host.
    In,
    /// Packets this host sends.
    Out,
    /// Packets forwarded through it.
    Fwd,
}

impl XfrmDir {
    /// The direction as `ip xfrm` writes it (`dir in`, `setdefault out block`).
    pub fn as_str(&self) -> &'static str {
        match self {
            XfrmDir::In => "in",
            XfrmDir::Out => "out",
            XfrmDir::Fwd => "fwd",
        }
    }
}

impl std::fmt::Display for XfrmDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One xfrm policy (`ip xfrm policy`): a selector, a direction, and what to do with what it
/// selects: `block` drops it; `allow` with templates requires (in) or applies (out) IPsec;
/// `allow` without templates lets it pass in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XfrmPolicy {
    pub dir: XfrmDir,
    pub src: Cidr,
    pub dst: Cidr,
    /// IP protocol number; `None` for any.
    pub proto: Option<u8>,
    /// Source and destination port; `None` for any.
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub block: bool,
    /// The IPsec templates (`tmpl …`), each with whether it is optional (`level use`).
    pub templates: Vec<(String, bool)>,
    pub priority: u32,
    /// Selectors and settings this version does not model (`dev`, `mark`, `if_id`, ICMP type…):
    /// whether the policy applies to the flow then cannot be told.
    pub unmodeled: Vec<String>,
    /// The policy as `ip xfrm policy` prints it, on one line.
    pub text: String,
}

/// The xfrm policies, and the directions whose default (for packets no policy selects) is
/// `block` (`ip xfrm policy getdefault`, Linux 5.16+).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xfrm {
    pub policies: Vec<XfrmPolicy>,
    /// `None` when the defaults could not be read (an older kernel or iproute2: accept).
    pub default_block: Option<Vec<XfrmDir>>,
    /// Where the defaults were read (or tried).
    #[serde(default)]
    pub defaults_from: EvidenceSource,
}

/// Another network namespace joined to this one by a veth pair: a container, a pod, an
/// `ip netns`. What it listens on decides a published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Netns {
    /// The id this host's namespace gives it (the `link_netnsid` of the veth ends here).
    pub nsid: i32,
    /// The processes inside (pid and name), e.g. the container's entrypoint.
    pub processes: Vec<Process>,
    pub interfaces: Knowledge<Vec<Interface>>,
    pub sockets: Knowledge<Vec<Socket>>,
    /// Where the sockets were read (`ss` run inside the namespace).
    #[serde(default)]
    pub sockets_from: EvidenceSource,
}

impl Netns {
    /// Who lives here, for messages: "nginx (pid 4242)" or "nsid 3".
    pub fn describe(&self) -> String {
        match self.processes.first() {
            Some(p) if self.processes.len() > 1 => {
                format!(
                    "netns nsid {} ({} pid {}, and {} more processes)",
                    self.nsid,
                    p.name,
                    p.pid,
                    self.processes.len() - 1
                )
            }
            Some(p) => format!("netns nsid {} ({} pid {})", self.nsid, p.name, p.pid),
            None => format!("netns nsid {}", self.nsid),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteType {
    Unicast,
    Local,
    Broadcast,
    Blackhole,
    Unreachable,
    Prohibit,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `main`, `local`, or a number/name.
    pub table: String,
    pub kind: RouteType,
    pub dst: Cidr,
    pub dev: Option<String>,
    pub gateway: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
    pub metric: u32,
}

/// A policy-routing rule (`ip rule`): which table a lookup uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRule {
    pub priority: u32,
    pub not: bool,
    pub src: Option<Cidr>,
    pub dst: Option<Cidr>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// A selector this version does not model (fwmark, uidrange, ipproto, ports, …).
    pub other: Option<String>,
    /// The table looked up, or an action (`unreachable`, `prohibit`, `blackhole`).
    pub table: String,
}

/// `/proc/net/netstat` and `/proc/net/snmp`: section → counter → value.
pub type Counters = BTreeMap<String, BTreeMap<String, u64>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conntrack {
    /// The nf_conntrack module is not loaded in this network namespace: no table to fill.
    NotLoaded,
    Loaded {
        count: u64,
        max: u64,
        /// Summed over CPUs from /proc/net/stat/nf_conntrack; `None` when that file is absent.
        drop: Option<u64>,
        early_drop: Option<u64>,
        insert_failed: Option<u64>,
        /// Where the drop counters were read.
        #[serde(default)]
        stats_from: EvidenceSource,
    },
}

pub use crate::host_sources::HostEvidence;

/// SELinux as the kernel runs it now and as it will boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelinuxMode {
    Enforcing,
    Permissive,
    Disabled,
}

impl SelinuxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SelinuxMode::Enforcing => "enforcing",
            SelinuxMode::Permissive => "permissive",
            SelinuxMode::Disabled => "disabled",
        }
    }
}

/// A port type from the loaded policy (`semanage port -l`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortLabel {
    pub label: String,
    pub proto: crate::net::Proto,
    pub from: u16,
    pub to: u16,
}

/// An AVC denial from the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvcDenial {
    /// `name_bind`, `name_connect`, …
    pub permission: String,
    pub comm: Option<String>,
    pub pid: Option<u32>,
    /// The port (`src=` for name_bind, `dest=` for name_connect).
    pub port: Option<u16>,
    /// The process's domain (`httpd_t`) and the object's type (`unreserved_port_t`).
    pub domain: String,
    pub target_type: String,
    /// `tcp_socket`, `udp_socket`, …
    pub class: String,
    /// `permissive=1`: logged but allowed.
    pub permissive: bool,
    /// Seconds since the epoch (`msg=audit(…)`).
    pub time: Option<i64>,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selinux {
    pub mode: SelinuxMode,
    /// `SELINUX=` in /etc/selinux/config: the mode at next boot.
    pub at_boot: Option<SelinuxMode>,
    pub policy: Option<String>,
    /// Where `at_boot` and `policy` were read (or tried).
    #[serde(default)]
    pub config_from: EvidenceSource,
    pub ports: Knowledge<Vec<PortLabel>>,
    pub denials: Fact<Vec<AvcDenial>>,
}

impl Selinux {
    /// The policy's label for a port, if any.
    pub fn label_of(&self, proto: crate::net::Proto, port: u16) -> Option<&PortLabel> {
        // The narrowest range wins, as in the policy (a single port over a range).
        self.ports
            .known()?
            .iter()
            .filter(|l| l.proto == proto && l.from <= port && port <= l.to)
            .min_by_key(|l| l.to - l.from)
    }
}

provider_words! {
    /// A unit's `ActiveState` (systemd.unit(5)).
    UnitActive {
        Active = "active",
        Inactive = "inactive",
        Failed = "failed",
        Activating = "activating",
        Deactivating = "deactivating",
        Reloading = "reloading",
        Maintenance = "maintenance",
    }
}

provider_words! {
    /// A service's `SubState` (the states of systemd's service unit type).
    UnitSub {
        Running = "running",
        Dead = "dead",
        Failed = "failed",
        Exited = "exited",
        AutoRestart = "auto-restart",
        Start = "start",
        StartPre = "start-pre",
        Stop = "stop",
    }
}

/// A systemd service, as `systemctl show` tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceUnit {
    pub id: String,
    pub active: UnitActive,
    pub sub: UnitSub,
    pub result: String,
    pub restarts: u32,
    /// The command line it starts.
    pub exec: Option<String>,
    /// The ports its command line names as whole numbers (`--port 8080`, `:8080`).
    #[serde(default)]
    pub exec_ports: Vec<u16>,
}

impl Default for ServiceUnit {
    fn default() -> ServiceUnit {
        ServiceUnit {
            id: String::new(),
            active: UnitActive::Unknown(String::new()),
            sub: UnitSub::Unknown(String::new()),
            result: String::new(),
            restarts: 0,
            exec: None,
            exec_ports: vec![],
        }
    }
}

/// How a journal line says a bind failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindError {
    /// `Address already in use`, `EADDRINUSE`: another socket held the port.
    InUse,
    /// `Permission denied`: a privileged port, SELinux, or a sandbox.
    Denied,
    /// Another reason, or none given.
    Other,
}

/// A journal line about binding or listening (`bind() to 0.0.0.0:8081 failed`, `listen
/// EADDRINUSE :::8080`): the ports it names and why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindFailure {
    pub ports: Vec<u16>,
    pub error: BindError,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    pub time: String,
    /// The process name (`nginx`, `systemd`).
    pub process: String,
    pub message: String,
    pub line: String,
    /// Set when the line is about binding or listening.
    #[serde(default)]
    pub bind: Option<BindFailure>,
}

/// What the service manager knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    pub units: Vec<ServiceUnit>,
    /// The source the units were read from (`systemd-show.txt`), for evidence.
    #[serde(default)]
    pub units_from: String,
    pub journal: Knowledge<Vec<JournalLine>>,
}

/// One `daemon_list : client_list [: options]` line of hosts.allow / hosts.deny.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapRule {
    pub daemons: Vec<String>,
    pub daemons_except: Vec<String>,
    pub clients: Vec<WrapClient>,
    pub clients_except: Vec<WrapClient>,
    /// `hosts.allow:7`, for evidence.
    pub at: String,
    pub text: String,
}

/// A client pattern of hosts_access(5), read as addresses where it is written as addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WrapClient {
    /// `ALL`.
    All,
    /// An address, `n.n.n.n/m.m.m.m`, `[v6]/len` or a `198.51.100.` prefix.
    Net(Cidr),
    /// A pattern that needs names (`LOCAL`, `KNOWN`, host names, `.domain`, `@netgroup`), which
    /// portdoctor does not resolve, or that is not an address it reads: kept as written.
    Named(String),
}

/// TCP wrappers: the two files, and which processes link libwrap (only those read them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpWrappers {
    pub allow: Vec<WrapRule>,
    pub deny: Vec<WrapRule>,
    pub libwrap_pids: Knowledge<Vec<u32>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfrm_directions_read_as_ip_xfrm_writes_them() {
        let words: Vec<String> = [XfrmDir::In, XfrmDir::Out, XfrmDir::Fwd].iter().map(XfrmDir::to_string).collect();
        assert_eq!(words, ["in", "out", "fwd"]);
    }
}
