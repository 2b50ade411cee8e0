//! Netfilter rulesets from every source (iptables-nft, iptables-legacy, native nftables) in one
//! vocabulary: base chains on hooks with priorities, user chains, rules of matches and an action.
//! Every rule keeps where it came from, so a verdict can cite it and say who owns it.

use crate::net::Cidr;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Backend {
    IptablesNft,
    IptablesLegacy,
    Nftables,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::IptablesNft => "iptables (nf_tables backend)",
            Backend::IptablesLegacy => "iptables-legacy",
            Backend::Nftables => "nftables",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Hook {
    /// netdev (and inet) `ingress`: per device, before PREROUTING and before conntrack.
    Ingress,
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

/// Address family a table applies to (`inet` covers both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FwFamily {
    Ip,
    Ip6,
    Inet,
    /// `netdev`: tables of device hooks (ingress, egress), for every protocol.
    Netdev,
    /// bridge, arp.
    Other,
}

provider_words! {
    /// An address type (`-m addrtype --dst-type`, nft `fib daddr type`), as iptables (upper
    /// case) and nft (lower case) spell it.
    AddrType {
        Unicast = "UNICAST" | "unicast",
        Local = "LOCAL" | "local",
        Broadcast = "BROADCAST" | "broadcast",
        Anycast = "ANYCAST" | "anycast",
        Multicast = "MULTICAST" | "multicast",
    }
}

provider_words! {
    /// A base chain's type (`filter`, `nat`, `route`): a nat chain sees only a connection's first
    /// packet, and runs first among chains of equal priority.
    ChainKind {
        Filter = "filter",
        Nat = "nat",
        Route = "route",
    }
}

/// What a REJECT answers with, read from its kind as iptables (`icmp-host-prohibited`,
/// `icmp6-adm-prohibited`, `tcp-reset`) and nft (`icmpx port-unreachable`, `icmpv6
/// admin-prohibited`, `tcp reset`) spell it; `text` keeps that spelling for evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct RejectWith {
    pub answer: RejectAnswer,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectAnswer {
    TcpReset,
    /// An ICMP (or ICMPv6) destination-unreachable error with this reason.
    Icmp(UnreachableReason),
}

provider_words! {
    /// Why a REJECT's ICMP error says the destination is unreachable, by the names iptables and
    /// nft use for it (a number is kept as `Unknown` and read as the code itself).
    UnreachableReason {
        NetUnreachable = "net-unreachable",
        HostUnreachable = "host-unreachable",
        ProtUnreachable = "prot-unreachable" | "proto-unreachable",
        PortUnreachable = "port-unreachable",
        FragNeeded = "frag-needed",
        NetProhibited = "net-prohibited",
        HostProhibited = "host-prohibited",
        AdminProhibited = "admin-prohibited" | "adm-prohibited",
        NoRoute = "no-route",
        AddrUnreachable = "addr-unreachable" | "addr-unreach",
        PolicyFail = "policy-fail",
        RejectRoute = "reject-route",
    }
}

impl UnreachableReason {
    /// The ICMP code this reason is sent with to a packet of `v6`'s family; `None` where the
    /// family has no such code. A reason named for the other family takes its nearest: IPv6
    /// has no host-unreachable (address unreachable is its counterpart), IPv4 no route (network
    /// unreachable).
    pub fn code(&self, v6: bool) -> Option<u8> {
        let name = match (self, v6) {
            (UnreachableReason::HostUnreachable | UnreachableReason::AddrUnreachable, true) => "addr-unreachable",
            (UnreachableReason::NoRoute, false) => "net-unreachable",
            (UnreachableReason::AddrUnreachable, false) => return None,
            (other, _) => other.as_str(),
        };
        icmp_code(name, v6)
    }
}

impl RejectWith {
    /// Whether the answer is a TCP reset (else an ICMP error).
    pub fn is_tcp_reset(&self) -> bool {
        self.answer == RejectAnswer::TcpReset
    }

    /// The code of the ICMP error sent to a packet of `v6`'s family (`None` for a TCP reset,
    /// and for a reason that family has no code for).
    pub fn icmp_code(&self, v6: bool) -> Option<u8> {
        match &self.answer {
            RejectAnswer::TcpReset => None,
            RejectAnswer::Icmp(reason) => reason.code(v6),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<&str> for RejectWith {
    fn from(text: &str) -> RejectWith {
        let answer = if text.contains("tcp-reset") {
            RejectAnswer::TcpReset
        } else {
            // The reason is the last word (nft: `icmpx port-unreachable`), after iptables'
            // `icmp-`/`icmp6-` prefix.
            let word = text.rsplit(' ').next().unwrap_or(text);
            let name = word.strip_prefix("icmp6-").or_else(|| word.strip_prefix("icmp-")).unwrap_or(word);
            RejectAnswer::Icmp(UnreachableReason::from(name))
        };
        RejectWith { answer, text: text.to_string() }
    }
}

impl From<String> for RejectWith {
    fn from(text: String) -> RejectWith {
        RejectWith::from(text.as_str())
    }
}

impl From<RejectWith> for String {
    fn from(r: RejectWith) -> String {
        r.text
    }
}

impl std::fmt::Display for RejectWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<str> for RejectWith {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

/// A value comparison with optional negation (`! -s 10.0.0.0/8`, `!= 22`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neg<T> {
    pub negated: bool,
    pub value: T,
}

/// Connection-tracking states as bits.
pub mod ct {
    pub const NEW: u8 = 1;
    pub const ESTABLISHED: u8 = 2;
    pub const RELATED: u8 = 4;
    pub const INVALID: u8 = 8;
    pub const UNTRACKED: u8 = 16;
    /// Virtual states of a connection whose source or destination NAT applies (iptables
    /// `--ctstate SNAT,DNAT`, nft `ct status snat,dnat`).
    pub const SNAT: u8 = 32;
    pub const DNAT: u8 = 64;
}

/// What a rule does to the packet mark: `mark = (mark & !mask) ^ xor` (the kernel's xt_MARK and
/// nft `meta mark set` both reduce to this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkSet {
    pub mask: u32,
    pub xor: u32,
}

/// ICMP (IPv4) and ICMPv6 message types by the names iptables and nft print; a number is read
/// as itself. `None` for a name this version does not know.
pub fn icmp_type(name: &str, v6: bool) -> Option<u8> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let v4 = [
        ("echo-reply", 0),
        ("destination-unreachable", 3),
        ("source-quench", 4),
        ("redirect", 5),
        ("echo-request", 8),
        ("router-advertisement", 9),
        ("router-solicitation", 10),
        ("time-exceeded", 11),
        ("ttl-exceeded", 11),
        ("parameter-problem", 12),
        ("timestamp-request", 13),
        ("timestamp-reply", 14),
    ];
    let v6_names = [
        ("destination-unreachable", 1),
        ("packet-too-big", 2),
        ("time-exceeded", 3),
        ("ttl-exceeded", 3),
        ("parameter-problem", 4),
        ("echo-request", 128),
        ("echo-reply", 129),
        ("mld-listener-query", 130),
        ("mld-listener-report", 131),
        ("mld-listener-done", 132),
        ("router-solicitation", 133),
        ("nd-router-solicit", 133),
        ("router-advertisement", 134),
        ("nd-router-advert", 134),
        ("neighbour-solicitation", 135),
        ("neighbor-solicitation", 135),
        ("nd-neighbor-solicit", 135),
        ("neighbour-advertisement", 136),
        ("neighbor-advertisement", 136),
        ("nd-neighbor-advert", 136),
        ("nd-redirect", 137),
        ("mld2-listener-report", 143),
    ];
    let table: &[(&str, u8)] = if v6 { &v6_names } else { &v4 };
    table.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// ICMP and ICMPv6 codes by the names nft prints (`icmpv6 code no-route`, `icmp code
/// port-unreachable`); a number is read as itself.
pub fn icmp_code(name: &str, v6: bool) -> Option<u8> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let v4: &[(&str, u8)] = &[
        ("net-unreachable", 0),
        ("host-unreachable", 1),
        ("prot-unreachable", 2),
        ("port-unreachable", 3),
        ("frag-needed", 4),
        ("net-prohibited", 9),
        ("host-prohibited", 10),
        ("admin-prohibited", 13),
    ];
    let v6_names: &[(&str, u8)] = &[
        ("no-route", 0),
        ("admin-prohibited", 1),
        ("addr-unreachable", 3),
        ("port-unreachable", 4),
        ("policy-fail", 5),
        ("reject-route", 6),
    ];
    let table = if v6 { v6_names } else { v4 };
    table.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

impl MarkSet {
    pub fn apply(self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.xor
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Match {
    /// IP protocol number (6 tcp, 17 udp, …).
    Proto(Neg<u8>),
    /// One of several protocols (nft `meta l4proto { icmp, ipv6-icmp }`).
    ProtoIn(Neg<Vec<u8>>),
    /// Reverse-path check: whether the route back to the source leaves by the interface the
    /// packet came in on (nft `fib saddr . iif oif`; `false` is firewalld's `… oif missing`).
    ReversePath(Neg<bool>),
    Src(Neg<Vec<Cidr>>),
    Dst(Neg<Vec<Cidr>>),
    /// Inclusive port ranges.
    SrcPort(Neg<Vec<(u16, u16)>>),
    DstPort(Neg<Vec<(u16, u16)>>),
    /// Interface name; a trailing `+` is a prefix wildcard (iptables), `*` for nft. nft's
    /// `meta iif`/`oif` (by index) read the same: nft -j prints the index as the interface's
    /// name, and a name that does not exist is a rule nft refuses to load.
    InIface(Neg<String>),
    OutIface(Neg<String>),
    /// One of several interface names (nft `iifname { "eth0", "br-lan" }`).
    InIfaceIn(Neg<Vec<String>>),
    OutIfaceIn(Neg<Vec<String>>),
    /// The link-layer packet type (`-m pkttype --pkt-type unicast`, nft `meta pkttype host`):
    /// `unicast`/`host`, `broadcast`, `multicast`, `other`.
    PktType(Neg<String>),
    /// The link-layer protocol (nft `meta protocol ip`): 0x0800 IPv4, 0x86dd IPv6; anything else
    /// is never an IP packet.
    EtherType(Neg<u16>),
    CtState(Neg<u8>),
    /// A named set (ipset or nft set) tested against the source or destination address.
    SetSrc(Neg<String>),
    SetDst(Neg<String>),
    /// TCP flags: (mask, must equal) as bits FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32.
    TcpFlags(Neg<(u8, u8)>),
    /// addrtype: the destination (or source) is a local address / unicast / broadcast …
    DstAddrType(Neg<AddrType>),
    SrcAddrType(Neg<AddrType>),
    /// The packet's address family (nft `meta nfproto`, or implied by `ip saddr` in an inet table).
    IsIpv6(Neg<bool>),
    /// The packet mark: `(mark & mask) == value` (`-m mark --mark V/M`, nft `meta mark`).
    Mark(Neg<(u32, u32)>),
    /// The connection's original destination, before NAT (`--ctorigdst`, `--ctorigdstport`;
    /// nft `ct original ip daddr`, `ct original proto-dst`): how DOCKER-USER rules name a
    /// published port.
    CtOrigDst(Neg<Vec<Cidr>>),
    CtOrigDstPort(Neg<Vec<(u16, u16)>>),
    /// The packet's direction in its connection (`--ctdir ORIGINAL` = true).
    CtDirOriginal(Neg<bool>),
    /// Load balancing: `-m statistic --mode random|nth …` picks some new connections and not
    /// others. Both ways are real (kube-proxy spreads a Service over its endpoints this way).
    Statistic(String),
    /// ICMP or ICMPv6 message types, any code (`--icmpv6-type neighbour-solicitation`, nft
    /// `icmpv6 type nd-neighbor-solicit`); implies the protocol.
    IcmpType(Neg<Vec<u8>>),
    /// ICMP or ICMPv6 (type, code) pairs (fw4's `icmpv6 type . icmpv6 code { nd-neighbor-solicit
    /// . no-route, … }`); implies the protocol.
    IcmpTypeCode(Neg<Vec<(u8, u8)>>),
    /// A match decided by traffic history that no snapshot holds (rate limits, `recent` lists,
    /// connection counts): `probe` is its answer for one new connection from a quiet client,
    /// `under_load` says in words when that answer changes. The walk takes the probe's answer
    /// and says, wherever it decides, that load changes it.
    Traffic {
        probe: bool,
        text: String,
        under_load: String,
    },
    /// An IPv6 extension header the packet must carry (`-m rt`, `-m frag`, `-m hbh`, `-m dst`:
    /// ip6t_rt and its siblings match nothing, inverted options included, when the header is
    /// absent). A client's connection opens with a plain SYN that carries none; kept with its
    /// text.
    ExtHeader(String),
    /// Matches the engine does not model, kept with their text: never skipped silently.
    Unknown(String),
}

/// The Ethernet protocol numbers of IPv4 and IPv6 (`meta protocol`).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Accept,
    Drop,
    /// REJECT with its kind (`icmp-port-unreachable`, `tcp-reset`, …).
    Reject(RejectWith),
    Return,
    Jump(String),
    Goto(String),
    /// Non-terminal: LOG, NFLOG, counter, MARK, comment-only rules …
    Continue,
    /// Destination NAT in PREROUTING/OUTPUT: REDIRECT (to a local port) or DNAT.
    Dnat {
        addr: Option<IpAddr>,
        port: Option<u16>,
        redirect: bool,
    },
    /// Source NAT in POSTROUTING: SNAT to `addr`, or MASQUERADE (`None`: the address of the
    /// interface the packet leaves by). Ends the nat chain, like DNAT.
    Snat {
        addr: Option<IpAddr>,
    },
    /// The raw table's NOTRACK / CT --notrack: the packet becomes UNTRACKED.
    Notrack,
    /// A verdict map (nft `vmap`): the packet's key picks an element's verdict; no element, no
    /// verdict (the chain goes on).
    Vmap {
        key: Vec<MapKey>,
        elements: Vec<(Vec<MapVal>, Action)>,
    },
    /// A target the engine does not model (QUEUE, TPROXY, …).
    Unknown(String),
}

/// One part of a verdict map's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapKey {
    L4Proto,
    DstPort,
    SrcPort,
    Daddr,
    Saddr,
    Iifname,
    Oifname,
    /// The packet's conntrack state (fw4's `ct state vmap { established : accept, … }`).
    CtState,
    /// The link-layer protocol (`meta protocol vmap { ip : …, ip6 : … }`).
    EtherType,
    /// `numgen random mod N`: load balancing over the elements (kube-proxy's nftables mode).
    Random(u32),
}

/// An element's value for one key part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapVal {
    Proto(u8),
    /// Inclusive.
    Ports(u16, u16),
    Addr(Cidr),
    Iface(String),
    Number(u32),
    /// Conntrack state bits (`ct::*`).
    CtState(u8),
}

/// A protocol number as iptables and nft name it (`tcp`, `udp`, `icmp`, `ipv6-icmp`, `sctp`),
/// else the number itself.
fn proto_name(number: u8) -> String {
    match number {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

/// Conntrack state bits (`ct::*`) as nft's words, comma-separated (`established,related`).
fn ct_state_words(bits: u8) -> String {
    let names = [
        (ct::NEW, "new"),
        (ct::ESTABLISHED, "established"),
        (ct::RELATED, "related"),
        (ct::INVALID, "invalid"),
        (ct::UNTRACKED, "untracked"),
        (ct::SNAT, "snat"),
        (ct::DNAT, "dnat"),
    ];
    let words: Vec<&str> = names.iter().filter(|(bit, _)| bits & bit != 0).map(|(_, name)| *name).collect();
    if words.is_empty() { "none".into() } else { words.join(",") }
}

/// An inclusive port range as both tools write it: `80`, `80-90`.
fn port_range(&(from, to): &(u16, u16)) -> String {
    if from == to { from.to_string() } else { format!("{from}-{to}") }
}

/// TCP flag bits (FIN=1 … URG=32) as nft's words joined by `|`; `0` for none.
fn tcp_flag_words(bits: u8) -> String {
    let names = ["fin", "syn", "rst", "psh", "ack", "urg"];
    let words: Vec<&str> = names.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect();
    if words.is_empty() { "0".into() } else { words.join("|") }
}

/// nft's name for a link-layer protocol (`ip`, `ip6`, `arp`), else its number in hex.
fn ethertype_name(t: u16) -> String {
    match t {
        ETHERTYPE_IPV4 => "ip".into(),
        ETHERTYPE_IPV6 => "ip6".into(),
        0x0806 => "arp".into(),
        t => format!("{t:#06x}"),
    }
}

/// One value, or several in nft's set braces: `22`, `{ 22, 80-90 }`.
fn one_or_set<T>(values: &[T], text: impl Fn(&T) -> String) -> String {
    match values {
        [one] => text(one),
        many => format!("{{ {} }}", many.iter().map(text).collect::<Vec<_>>().join(", ")),
    }
}

/// `key value`, or `key != value` when negated, the way nft writes a comparison.
fn compare(f: &mut std::fmt::Formatter<'_>, key: &str, negated: bool, value: &str) -> std::fmt::Result {
    let op = if negated { " != " } else { " " };
    write!(f, "{key}{op}{value}")
}

/// The match as a person reads it in a ruleset, in nft's words where nft has them (`dport 80`,
/// `iif eth0`, `ct state established,related`, `mark 0x1/0xff`, `fib saddr . iif oif missing`);
/// matches kept as text print that text.
impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cidrs = |v: &[Cidr]| one_or_set(v, Cidr::to_string);
        let names = |v: &[String]| one_or_set(v, String::clone);
        let ports = |v: &[(u16, u16)]| one_or_set(v, port_range);
        match self {
            Match::Proto(n) => compare(f, "protocol", n.negated, &proto_name(n.value)),
            Match::ProtoIn(n) => compare(f, "protocol", n.negated, &one_or_set(&n.value, |p| proto_name(*p))),
            Match::ReversePath(n) => {
                let exists = n.value != n.negated;
                write!(f, "fib saddr . iif oif {}", if exists { "exists" } else { "missing" })
            }
            Match::Src(n) => compare(f, "saddr", n.negated, &cidrs(&n.value)),
            Match::Dst(n) => compare(f, "daddr", n.negated, &cidrs(&n.value)),
            Match::SrcPort(n) => compare(f, "sport", n.negated, &ports(&n.value)),
            Match::DstPort(n) => compare(f, "dport", n.negated, &ports(&n.value)),
            Match::InIface(n) => compare(f, "iif", n.negated, &n.value),
            Match::OutIface(n) => compare(f, "oif", n.negated, &n.value),
            Match::InIfaceIn(n) => compare(f, "iif", n.negated, &names(&n.value)),
            Match::OutIfaceIn(n) => compare(f, "oif", n.negated, &names(&n.value)),
            Match::PktType(n) => compare(f, "pkttype", n.negated, &n.value),
            Match::EtherType(n) => compare(f, "ether type", n.negated, &ethertype_name(n.value)),
            Match::CtState(n) => compare(f, "ct state", n.negated, &ct_state_words(n.value)),
            Match::SetSrc(n) => compare(f, "saddr", n.negated, &format!("@{}", n.value)),
            Match::SetDst(n) => compare(f, "daddr", n.negated, &format!("@{}", n.value)),
            Match::TcpFlags(n) => {
                let (mask, value) = n.value;
                let op = if n.negated { "!=" } else { "==" };
                write!(f, "tcp flags & ({}) {op} {}", tcp_flag_words(mask), tcp_flag_words(value))
            }
            // The vocabulary writes iptables' upper case back; nft's words are lower case.
            Match::DstAddrType(n) => compare(f, "fib daddr type", n.negated, &n.value.as_str().to_ascii_lowercase()),
            Match::SrcAddrType(n) => compare(f, "fib saddr type", n.negated, &n.value.as_str().to_ascii_lowercase()),
            Match::IsIpv6(n) => write!(f, "nfproto {}", if n.value != n.negated { "ipv6" } else { "ipv4" }),
            Match::Mark(n) => {
                let (value, mask) = n.value;
                let text = if mask == u32::MAX { format!("{value:#x}") } else { format!("{value:#x}/{mask:#x}") };
                compare(f, "mark", n.negated, &text)
            }
            Match::CtOrigDst(n) => compare(f, "ct original daddr", n.negated, &cidrs(&n.value)),
            Match::CtOrigDstPort(n) => compare(f, "ct original proto-dst", n.negated, &ports(&n.value)),
            Match::CtDirOriginal(n) => {
                write!(f, "ct direction {}", if n.value != n.negated { "original" } else { "reply" })
            }
            Match::IcmpType(n) => compare(f, "icmp type", n.negated, &one_or_set(&n.value, u8::to_string)),
            Match::IcmpTypeCode(n) => {
                let pairs = one_or_set(&n.value, |(t, c)| format!("{t} . {c}"));
                compare(f, "icmp type . code", n.negated, &pairs)
            }
            Match::Statistic(text) | Match::ExtHeader(text) | Match::Unknown(text) | Match::Traffic { text, .. } => {
                f.write_str(text)
            }
        }
    }
}

/// A verdict map element's value for one key part, as nft lists it: `tcp`, `80-90`,
/// `10.0.0.0/8`, `eth0`, `established,related`, a number.
impl std::fmt::Display for MapVal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MapVal::Proto(p) => f.write_str(&proto_name(*p)),
            MapVal::Ports(from, to) => f.write_str(&port_range(&(*from, *to))),
            MapVal::Addr(c) => write!(f, "{c}"),
            MapVal::Iface(name) => f.write_str(name),
            MapVal::Number(n) => write!(f, "{n}"),
            MapVal::CtState(bits) => f.write_str(&ct_state_words(*bits)),
        }
    }
}

/// A verdict map element's key, its parts joined as nft concatenates them: `tcp . 80`.
pub fn map_key_text(vals: &[MapVal]) -> String {
    vals.iter().map(MapVal::to_string).collect::<Vec<_>>().join(" . ")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub matches: Vec<Match>,
    pub action: Action,
    /// The rule as written (iptables-save line, or nft's text), for evidence.
    pub text: String,
    pub comment: Option<String>,
    /// A mark the rule sets when it matches (MARK target, `meta mark set`), before its action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<MarkSet>,
    /// The rule labels packets for SELinux (iptables SECMARK/CONNSECMARK, nft `secmark`
    /// statements): SELinux then checks each packet a listener receives, not only its bind().
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secmark: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub name: String,
    pub rules: Vec<Rule>,
    /// Set for base chains.
    pub base: Option<BaseInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseInfo {
    pub hook: Hook,
    pub priority: i32,
    pub kind: ChainKind,
    /// `true` = accept, `false` = drop.
    pub policy_accept: bool,
    /// The devices an ingress chain is attached to (empty for other hooks, and where the
    /// listing did not say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub backend: Backend,
    pub family: FwFamily,
    pub name: String,
    pub chains: Vec<Chain>,
}

/// A named address set (ipset, or an nft set of addresses); other set types keep their type
/// name and are judged unknown when a rule depends on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrSetDef {
    pub name: String,
    /// nft: the table it lives in; ipset: None (global).
    pub table: Option<String>,
    /// nft: that table's family. Tables of different families may share a name (sshguard's
    /// `ip sshguard` and `ip6 sshguard`, each with a set `attackers`), so the name alone does
    /// not say which set a rule means. ipset: None.
    #[serde(default)]
    pub family: Option<FwFamily>,
    pub kind: String,
    pub members: Option<Vec<Cidr>>,
}

/// Everything netfilter holds for a host, from every source at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Netfilter {
    pub tables: Vec<Table>,
    pub sets: Vec<AddrSetDef>,
    /// Tables seen but not read into `tables` (e.g. native nftables tables this version does
    /// not parse), as `family name`: a walk that needs them is unknown, never a guessed pass.
    pub unmodeled: Vec<String>,
    /// The nat tables nobody read (also native nftables tables whose chains are unknown, and
    /// listings that hung), by the family they apply to (`Inet`: both), each described for a
    /// person: a DNAT or REDIRECT there may send the port to another port or host, so "nothing
    /// listens on P" cannot be confirmed while one of the flow's family is unread.
    #[serde(default)]
    pub unread_nat: Vec<(FwFamily, String)>,
    /// Where the devices of ingress chains are read when the ruleset's listing leaves them out.
    #[serde(default)]
    pub devices_from: crate::knowledge::EvidenceSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg<T>(negated: bool, value: T) -> Neg<T> {
        Neg { negated, value }
    }

    #[test]
    fn matches_read_as_rule_text() {
        let cidr = |s: &str| s.parse::<Cidr>().unwrap();
        let cases = [
            (Match::Mark(neg(false, (0x1, 0xff))), "mark 0x1/0xff"),
            (Match::Mark(neg(true, (0x4000, u32::MAX))), "mark != 0x4000"),
            (Match::InIface(neg(false, "eth0".into())), "iif eth0"),
            (Match::OutIfaceIn(neg(true, vec!["eth0".into(), "br-lan".into()])), "oif != { eth0, br-lan }"),
            (Match::CtState(neg(false, ct::ESTABLISHED | ct::RELATED)), "ct state established,related"),
            (Match::CtState(neg(true, ct::NEW)), "ct state != new"),
            (Match::ReversePath(neg(false, false)), "fib saddr . iif oif missing"),
            (Match::ReversePath(neg(true, false)), "fib saddr . iif oif exists"),
            (Match::Proto(neg(false, 6)), "protocol tcp"),
            (Match::ProtoIn(neg(false, vec![1, 58])), "protocol { icmp, ipv6-icmp }"),
            (Match::Proto(neg(true, 47)), "protocol != 47"),
            (Match::Src(neg(false, vec![cidr("10.0.0.0/8")])), "saddr 10.0.0.0/8"),
            (
                Match::Dst(neg(true, vec![cidr("192.0.2.1/32"), cidr("2001:db8::/32")])),
                "daddr != { 192.0.2.1/32, 2001:db8::/32 }",
            ),
            (Match::DstPort(neg(false, vec![(22, 22), (80, 90)])), "dport { 22, 80-90 }"),
            (Match::SetSrc(neg(true, "blocklist".into())), "saddr != @blocklist"),
            (Match::TcpFlags(neg(false, (0x17, 0x02))), "tcp flags & (fin|syn|rst|ack) == syn"),
            (Match::DstAddrType(neg(false, AddrType::Local)), "fib daddr type local"),
            (Match::EtherType(neg(false, ETHERTYPE_IPV6)), "ether type ip6"),
            (Match::EtherType(neg(false, 0x8100)), "ether type 0x8100"),
            (Match::IsIpv6(neg(false, true)), "nfproto ipv6"),
            (Match::CtOrigDstPort(neg(false, vec![(8080, 8080)])), "ct original proto-dst 8080"),
            (Match::CtDirOriginal(neg(false, false)), "ct direction reply"),
            (Match::IcmpTypeCode(neg(false, vec![(1, 0), (135, 0)])), "icmp type . code { 1 . 0, 135 . 0 }"),
            (Match::Unknown("-m u32 --u32 0x0".into()), "-m u32 --u32 0x0"),
            (
                Match::Traffic { probe: true, text: "limit rate 5/second".into(), under_load: "over 5/s".into() },
                "limit rate 5/second",
            ),
        ];
        for (m, text) in cases {
            assert_eq!(m.to_string(), text);
        }
    }

    #[test]
    fn map_values_read_as_nft_lists_them() {
        let key = [MapVal::Proto(6), MapVal::Ports(80, 90)];
        assert_eq!(map_key_text(&key), "tcp . 80-90");
        assert_eq!(MapVal::Ports(443, 443).to_string(), "443");
        assert_eq!(MapVal::Proto(17).to_string(), "udp");
        assert_eq!(MapVal::Proto(1).to_string(), "icmp");
        assert_eq!(MapVal::Proto(47).to_string(), "47");
        assert_eq!(MapVal::Addr("10.1.0.0/16".parse().unwrap()).to_string(), "10.1.0.0/16");
        assert_eq!(MapVal::Iface("eth0".into()).to_string(), "eth0");
        assert_eq!(MapVal::Number(3).to_string(), "3");
        assert_eq!(MapVal::CtState(ct::ESTABLISHED | ct::RELATED).to_string(), "established,related");
        assert_eq!(MapVal::CtState(0).to_string(), "none");
    }
}
