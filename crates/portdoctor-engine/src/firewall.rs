//! The kernel's own answer for a new connection through netfilter: every base chain on each
//! hook, in priority order, across iptables-nft, iptables-legacy and native nftables tables. An
//! accept ends only its own base chain; a drop or reject ends everything (nft(8), "Overall
//! evaluation of the ruleset"). The client is a *set* of source addresses, split rule by rule,
//! so "reachable from every internet address" is exact. A match the engine does not model makes
//! both outcomes possible: when they agree the walk goes on, when they differ the answer is
//! unknown, naming the rule.

use portdoctor_model::addrset::AddrSet;
use portdoctor_model::firewall::{
    Action, Backend, Chain, ChainKind, ETHERTYPE_IPV4, ETHERTYPE_IPV6, FwFamily, Hook, MapKey, MapVal, Match,
    Netfilter, RejectWith, Rule, Table, ct, map_key_text,
};
use portdoctor_model::host::{PolicyRule, Route};
use portdoctor_model::net::{Family, is_loopback};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use matches::{cidr_set, iface_matches, neg, ports_tri, tri};

/// Where a rule lives, for evidence and attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    pub backend: Backend,
    pub table: String,
    pub chain: String,
    /// 1-based position in its chain; 0 for a chain's policy.
    pub index: usize,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop(RuleRef),
    Reject(RuleRef, RejectWith),
    /// Depends on a match the engine does not model.
    Unknown(RuleRef, String),
}

/// One part of the clients and what happened to it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub clients: AddrSet,
    pub verdict: Verdict,
    /// Destination after PREROUTING DNAT/REDIRECT (address, port), with the rule that did it.
    pub nat: Option<(IpAddr, u16, RuleRef)>,
    /// The hook whose chains decided (None when every hook accepted).
    pub hook: Option<Hook>,
    /// Which side of a pending fork this came from (reconciled before `evaluate` returns).
    fork: Option<Fork>,
    /// Client source ports (outside the usual ephemeral ones) for which the rules decide
    /// otherwise, said in words.
    pub port_exceptions: Vec<String>,
    /// Where the answer holds for a probe but changes under load (a rate limit, a `recent`
    /// list): the rule and what happens then, in words.
    pub load_notes: Vec<String>,
    /// The client's address after POSTROUTING source NAT (MASQUERADE/SNAT), for the later packets.
    pub snat: Option<Option<IpAddr>>,
}

impl RuleRef {
    /// The chain itself rather than one of its rules (its policy, or all of it), as `text`.
    fn of_chain(table: &Table, chain: &Chain, text: impl Into<String>) -> RuleRef {
        RuleRef {
            backend: table.backend,
            table: table.name.clone(),
            chain: chain.name.clone(),
            index: 0,
            text: text.into(),
        }
    }
}

/// Both admitted, both stopped, or both undecided.
fn same_class(a: &Verdict, b: &Verdict) -> bool {
    let class = |v: &Verdict| match v {
        Verdict::Accept => 0,
        Verdict::Drop(_) | Verdict::Reject(..) => 1,
        Verdict::Unknown(..) => 2,
    };
    class(a) == class(b)
}

/// A walk that went both ways at a match the engine cannot decide, the two sides differing
/// for now (a verdict, or a mark a later rule may test): both go on, and their final verdicts
/// are compared when the walk ends — where they agree (both blocked, or both admitted to the
/// same place) that is the answer, where they differ the rule is named as undecidable.
#[derive(Debug, Clone)]
struct Fork {
    id: usize,
    yes: bool,
    rule: RuleRef,
    why: String,
    /// Set when the fork is traffic history: the side a probe takes (`yes` = the rule matched).
    probe: Option<bool>,
}

/// The packet's fixed fields; the client address is the set carried alongside.
#[derive(Debug, Clone)]
pub struct Packet {
    pub family: Family,
    pub proto: u8,
    /// The local address (inbound destination, reply source).
    pub local: IpAddr,
    pub local_port: u16,
    /// The client's ports (unknown one of them): inclusive range.
    pub client_ports: (u16, u16),
    /// The interface toward the client: where the inbound packet arrives, where the reply leaves.
    pub iface: Option<String>,
    /// Inbound (client is the source) or the reply (client is the destination).
    pub reply: bool,
    /// Local addresses, for `addrtype LOCAL` and to tell delivered from forwarded packets.
    pub local_addrs: Vec<IpAddr>,
    /// The host's routes and IPv4 policy rules, for `routing`'s lookups: where a forwarded
    /// packet leaves, where a forwarded reply comes from (a container's bridge), which clients
    /// route back by the input interface (reverse-path matches), MASQUERADE's address.
    pub routes: Vec<Route>,
    pub rules: Vec<PolicyRule>,
    /// The connection's original destination when NAT changed it: what
    /// `--ctorigdst`/`--ctorigdstport` compare.
    pub orig_dst: Option<(IpAddr, u16)>,
    /// A later packet of a NAT'd connection: what conntrack rewrites its local side to, at the
    /// NAT point of its direction (see `nat_point`). `local` is then the address as the packet
    /// arrives: the original destination inbound, the container's address for its replies.
    pub rewrite: Option<(IpAddr, u16)>,
    /// A later packet of a connection whose client was source-NATed (MASQUERADE/SNAT toward a
    /// container or pod): the address the client reads as past srcnat inbound, and before
    /// dstnat on a reply (`None` inside: masqueraded to an address the evidence does not give).
    pub client_nat: Option<Option<IpAddr>>,
    /// Sent by this host itself (a REJECT's answer): it leaves through OUTPUT whatever its source.
    pub from_host: bool,
    /// Conntrack state the packet starts with: NEW for a first SYN, ESTABLISHED for its reply,
    /// RELATED for a REJECT's RST or ICMP error (nf_conntrack_attach); DNAT added when the
    /// connection's destination was translated.
    pub ct_state: u8,
    /// TCP flags (FIN=1 SYN=2 RST=4 PSH=8 ACK=16): SYN, SYN-ACK, or RST-ACK.
    pub tcp_flags: u8,
    /// The ICMP or ICMPv6 message type, for ICMP packets.
    pub icmp_type: Option<u8>,
    /// Its code, where known (0 for neighbor discovery; a REJECT's by its kind).
    pub icmp_code: Option<u8>,
}

impl Packet {
    /// A client's first SYN (or UDP datagram) arriving on `iface` for `local:port`.
    pub fn first(family: Family, proto: u8, local: IpAddr, local_port: u16, iface: Option<String>) -> Packet {
        Packet {
            family,
            proto,
            local,
            local_port,
            client_ports: (1024, 65535),
            iface,
            reply: false,
            local_addrs: vec![local],
            routes: vec![],
            rules: vec![],
            orig_dst: None,
            rewrite: None,
            client_nat: None,
            from_host: false,
            ct_state: ct::NEW,
            tcp_flags: 2,
            icmp_type: None,
            icmp_code: None,
        }
    }

    /// What answers a REJECT with `kind`: a TCP RST, or an ICMP error, back to the client.
    pub fn reject_answer(&self, kind: &RejectWith) -> Packet {
        let tcp_reset = kind.is_tcp_reset();
        let icmp = if self.family == Family::V6 { 58 } else { 1 };
        // Destination unreachable: type 3 for ICMP, 1 for ICMPv6.
        let unreachable = if self.family == Family::V6 { 1 } else { 3 };
        Packet {
            proto: if tcp_reset { 6 } else { icmp },
            reply: true,
            from_host: true,
            ct_state: ct::RELATED,
            tcp_flags: 4 | 16,
            icmp_type: (!tcp_reset).then_some(unreachable),
            icmp_code: kind.icmp_code(self.family == Family::V6),
            ..self.clone()
        }
    }

    /// Delivered to this host (loopback, or one of its addresses), as opposed to forwarded.
    pub fn is_local(&self, addr: &IpAddr) -> bool {
        is_loopback(addr) || self.local_addrs.contains(addr)
    }

    /// The device this host sends `to` out of (the kernel's lookup, policy rules included).
    pub fn route_dev(&self, to: &IpAddr) -> Option<&str> {
        crate::routing::route_to(&self.routes, &self.rules, Family::of(to), Some(*to)).and_then(|r| r.dev.as_deref())
    }

    /// Where the connection was first addressed (before NAT).
    fn original_destination(&self) -> (IpAddr, u16) {
        self.orig_dst.unwrap_or((self.local, self.local_port))
    }
}

/// Hook priorities that move a packet's view (linux/netfilter_ipv4.h NF_IP_PRI_*; the same
/// numbers for IPv6 and for nft's named priorities).
const PRI_CONNTRACK: i32 = -200;
const PRI_NAT_DST: i32 = -100;
const PRI_NAT_SRC: i32 = 100;

/// Where a packet is in netfilter's timeline: (stage, priority). Stage 0 is a device's ingress
/// hook (netdev or inet `ingress`, before the IP stack and conntrack), 1 where a packet enters
/// IP (PREROUTING, or OUTPUT for the host's own), 2 the hooks after the routing decision
/// (INPUT, FORWARD), 3 POSTROUTING; a packet crosses one hook per stage.
fn position(hook: Hook, priority: i32) -> (u8, i32) {
    let stage = match hook {
        Hook::Ingress => 0,
        Hook::Prerouting | Hook::Output => 1,
        Hook::Input | Hook::Forward => 2,
        Hook::Postrouting => 3,
    };
    (stage, priority)
}

/// Where conntrack's NAT rewrites a packet's local side. NAT applies to every packet of a
/// connection, not only the first (the nat chains see the first; conntrack repeats their
/// decision at the same point for the rest): the destination at dstnat (PREROUTING or OUTPUT,
/// -100), the source at srcnat (POSTROUTING, +100). Inbound the local side is the destination,
/// on a reply it is the source. A chain at exactly the NAT point's priority is taken to run
/// after it (the kernel orders equal priorities by registration, which no listing shows).
fn nat_point(reply: bool) -> (u8, i32) {
    if reply { (3, PRI_NAT_SRC) } else { (1, PRI_NAT_DST) }
}

/// The packet as the base chain at (`hook`, `priority`) sees it: its local address and port
/// (before or after conntrack's NAT) and its conntrack state. Before conntrack runs (priority
/// below -200 in PREROUTING and OUTPUT: the raw table) no connection is attached, so `ct state`
/// reads `invalid` for every packet, `untracked` after a notrack (seen on the kernel: a raw
/// chain counts the SYN, the ACKs and the SYN-ACK as invalid) — except a REJECT's TCP reset,
/// which carries its connection from the start (nf_ct_attach in nf_reject).
///
/// The client's side moves the other way round: a source NAT of the client (MASQUERADE toward
/// a container) applies at srcnat inbound and is undone at dstnat on the reply, so a reply from
/// the container is addressed to the masquerading address in raw and mangle PREROUTING.
fn seen_at(pkt: &Packet, f: &InFlight, hook: Hook, priority: i32) -> View {
    let here = position(hook, priority);
    let (local, port) = match pkt.rewrite {
        Some(to) if here >= nat_point(pkt.reply) => to,
        _ => (f.local, f.port),
    };
    let client = match pkt.client_nat {
        // Inbound: masqueraded once past srcnat; a reply: until dstnat restores the client.
        Some(to) => ((here >= nat_point(!pkt.reply)) != pkt.reply).then_some(to),
        None => f.snat,
    };
    let attached = pkt.from_host && pkt.proto == 6 && pkt.tcp_flags & 4 != 0;
    let ct = if here < (1, PRI_CONNTRACK) && !attached {
        if f.notracked { ct::UNTRACKED } else { ct::INVALID }
    } else {
        f.ct
    };
    View { local, port, ct, client }
}

/// A packet as one base chain sees it (`seen_at`).
struct View {
    local: IpAddr,
    port: u16,
    ct: u8,
    /// The client's address when NAT replaced it here (`Some(None)`: replaced, by an address
    /// the evidence does not give); `None` when the client reads as itself.
    client: Option<Option<IpAddr>>,
}

/// The address MASQUERADE gives a packet leaving by `out`: this host's address on the prefix
/// the interface routes (the bridge's own, for a container's network).
fn masquerade_addr(pkt: &Packet, out: Dev<'_>) -> Option<IpAddr> {
    let Dev::Name(dev) = out else { return None };
    crate::routing::device_prefixes(&pkt.routes, dev, pkt.family)
        .filter_map(|c| pkt.local_addrs.iter().find(|a| c.contains(a)).map(|a| (c.prefix(), *a)))
        .max_by_key(|(p, _)| *p)
        .map(|(_, a)| a)
}

/// An interface as a hook sees it: none on this side (no output interface in PREROUTING), one we
/// know, or one we cannot tell.
#[derive(Debug, Clone, Copy)]
enum Dev<'a> {
    Absent,
    Unknown,
    Name(&'a str),
}

impl<'a> Dev<'a> {
    fn of(name: Option<&'a str>) -> Dev<'a> {
        name.map_or(Dev::Unknown, Dev::Name)
    }

    fn matches(self, pattern: &str, negated: bool) -> Tri {
        match self {
            Dev::Absent => neg(Tri::No, negated),
            Dev::Unknown => Tri::Maybe,
            Dev::Name(i) => neg(if iface_matches(pattern, i) { Tri::Yes } else { Tri::No }, negated),
        }
    }

    /// One of several names (an nft set of interface names).
    fn matches_any(self, patterns: &[String], negated: bool) -> Tri {
        match self {
            Dev::Name(i) => neg(tri(patterns.iter().any(|p| iface_matches(p, i))), negated),
            other => other.matches("", negated),
        }
    }
}

/// Whether the packet's family is the link-layer protocol `ethertype` (`meta protocol`).
fn ethertype_is(family: Family, ethertype: u16) -> bool {
    ethertype == if family == Family::V6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 }
}

/// Why a rule's matches could not be decided for part of the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undecided {
    /// A match the engine does not model.
    Unknown,
    /// Load balancing (`statistic`) only: both ways are real.
    Spread,
    /// Traffic history only (rate limits, `recent`): `true` when one probe connection matches.
    Traffic(bool),
}

impl Undecided {
    fn and(self, other: Undecided) -> Undecided {
        match (self, other) {
            (Undecided::Spread, Undecided::Spread) => Undecided::Spread,
            (Undecided::Traffic(a), Undecided::Traffic(b)) => Undecided::Traffic(a && b),
            _ => Undecided::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    nf: &'a Netfilter,
    table: &'a Table,
    /// The table's chains by name.
    chains: &'a HashMap<&'a str, &'a Chain>,
    pkt: &'a Packet,
    /// Conntrack state of this packet.
    ct: u8,
    /// Current destination port (after a REDIRECT in an earlier base chain).
    local_port: u16,
    local: IpAddr,
    /// The client's address where NAT replaced it (`View::client`).
    client_as: Option<Option<IpAddr>>,
    in_dev: Dev<'a>,
    out_dev: Dev<'a>,
    /// The packet mark as rules so far have set it.
    mark: u32,
    /// Already one side of a fork: a second one falls back to unknown at once.
    forked: bool,
    /// Numbers forks within one evaluation.
    forks: &'a AtomicUsize,
}

/// Part of the clients, how it left a chain, and the packet mark it left with.
#[derive(Debug, Clone)]
struct Part {
    set: AddrSet,
    flow: Flow,
    mark: u32,
    /// Set when this part is one side of a fork made in this walk.
    fork: Option<Fork>,
    /// Load-dependent decisions on its way (`Outcome::load_notes`).
    notes: Vec<String>,
}

impl Part {
    fn new(set: AddrSet, flow: Flow, mark: u32) -> Part {
        Part { set, flow, mark, fork: None, notes: vec![] }
    }
}

#[derive(Debug, Clone)]
enum Flow {
    /// Fell off the end of a user chain, or hit RETURN.
    Return,
    Accept,
    Drop(RuleRef),
    Reject(RuleRef, RejectWith),
    Nat(IpAddr, u16, RuleRef),
    /// Source NAT (`None`: masquerade).
    Snat(Option<IpAddr>),
    Unknown(RuleRef, String),
}

impl Flow {
    /// In words, for a load note: what happens to the packet after the rule.
    fn describe(&self) -> String {
        match self {
            Flow::Return | Flow::Accept | Flow::Nat(..) | Flow::Snat(_) => "goes on".into(),
            Flow::Drop(r) => format!("is dropped by {}", r.describe()),
            Flow::Reject(r, k) => format!("is rejected ({k}) by {}", r.describe()),
            Flow::Unknown(r, why) => format!("is undecided at {} ({why})", r.describe()),
        }
    }
}

/// What a load note says: the rule and what load changes, the probe's side, the other.
fn load_note(rule: &RuleRef, why: &str, probe: &str, loaded: &str) -> String {
    format!("load-dependent: {} — {why}; a probe connection {probe}, under that load it {loaded}", rule.describe())
}

fn table_applies(t: &Table, f: Family) -> bool {
    matches!(
        (t.family, f),
        (FwFamily::Inet | FwFamily::Netdev, _) | (FwFamily::Ip, Family::V4) | (FwFamily::Ip6, Family::V6)
    )
}

impl<'a> Ctx<'a> {
    fn rule_ref(&self, chain: &Chain, index: usize, rule: &Rule) -> RuleRef {
        RuleRef {
            backend: self.table.backend,
            table: self.table.name.clone(),
            chain: chain.name.clone(),
            index: index + 1,
            text: rule.text.clone(),
        }
    }

    /// Runs `clients` through `chain` from rule `start`; each part ends in one `Flow`.
    fn chain(&self, chain: &'a Chain, start: usize, clients: AddrSet, depth: usize) -> Vec<Part> {
        let mut out = Vec::new();
        let mut rest = clients;
        if depth > 64 {
            let r = RuleRef::of_chain(self.table, chain, "too deep");
            let flow = Flow::Unknown(r, "jumps nest deeper than 64 chains".into());
            return vec![Part::new(rest, flow, self.mark)];
        }
        for (i, rule) in chain.rules.iter().enumerate().skip(start) {
            if rest.is_empty() {
                return out;
            }
            let (hit, maybe, why, undecided) = self.test(rule, &rest);
            if !maybe.is_empty() {
                // Both outcomes: as if it matched, and as if it did not.
                let yes = self.act(chain, i, rule, maybe.clone(), depth);
                let no = self.chain(chain, i + 1, maybe.clone(), depth);
                let (rule_ref, why) = (self.rule_ref(chain, i, rule), why.unwrap_or_default());
                match undecided {
                    // Load balancing: some connections go each way, so both are answers (the
                    // same clients then appear in more than one outcome).
                    Undecided::Spread => {
                        out.extend(yes);
                        out.extend(no);
                    }
                    // Where they agree, that is the answer; where they differ, the rule decides
                    // and we cannot say how — or, for traffic history, a probe's side decides
                    // and the other is said as what load changes.
                    Undecided::Unknown => out.extend(self.merge_forks(yes, no, rule_ref, why, None)),
                    Undecided::Traffic(probe) => out.extend(self.merge_forks(yes, no, rule_ref, why, Some(probe))),
                }
                rest = rest.minus(&maybe);
            }
            if hit.is_empty() {
                continue;
            }
            rest = rest.minus(&hit);
            out.extend(self.act(chain, i, rule, hit, depth));
        }
        if !rest.is_empty() {
            out.push(Part::new(rest, Flow::Return, self.mark));
        }
        out
    }

    /// What rule `i` does to the clients it matched: its mark, then a verdict or the rest of
    /// the chain.
    fn act(&self, chain: &'a Chain, i: usize, rule: &Rule, hit: AddrSet, depth: usize) -> Vec<Part> {
        let me = Ctx { mark: rule.mark.map_or(self.mark, |m| m.apply(self.mark)), ..*self };
        let r = || self.rule_ref(chain, i, rule);
        let end = |flow: Flow| vec![Part::new(hit.clone(), flow, me.mark)];
        match &rule.action {
            Action::Accept => end(Flow::Accept),
            Action::Drop => end(Flow::Drop(r())),
            Action::Reject(kind) => end(Flow::Reject(r(), kind.clone())),
            Action::Return => end(Flow::Return),
            Action::Continue | Action::Notrack => me.chain(chain, i + 1, hit, depth),
            Action::Snat { addr } => end(Flow::Snat(*addr)),
            Action::Dnat { addr, port, redirect } => {
                let to = if *redirect { self.local } else { addr.unwrap_or(self.local) };
                end(Flow::Nat(to, port.unwrap_or(self.local_port), r()))
            }
            Action::Jump(target) | Action::Goto(target) => {
                let Some(sub) = self.chains.get(target.as_str()).copied() else {
                    return end(Flow::Unknown(r(), format!("jump to missing chain {target}")));
                };
                let mut out = Vec::new();
                for part in me.chain(sub, 0, hit, depth + 1) {
                    match (&part.flow, &rule.action) {
                        // RETURN from a jump continues after the jump, with the mark the called
                        // chain left; from a goto, it returns from this chain too.
                        (Flow::Return, Action::Jump(_)) => {
                            // The rest of the chain carries the part's fork and notes with it.
                            let forked = self.forked || part.fork.is_some();
                            let after = Ctx { mark: part.mark, forked, ..*self }.chain(chain, i + 1, part.set, depth);
                            out.extend(after.into_iter().map(|mut p| {
                                p.notes.splice(0..0, part.notes.iter().cloned());
                                p.fork = p.fork.or_else(|| part.fork.clone());
                                p
                            }))
                        }
                        _ => out.push(part),
                    }
                }
                out
            }
            Action::Vmap { key, elements } => me.vmap(chain, i, rule, VerdictMap { key, elements }, hit, depth),
            Action::Unknown(t) => end(Flow::Unknown(r(), t.clone())),
        }
    }

    /// A verdict map: each element takes the clients whose packet matches its key and applies
    /// its verdict; the rest go on down the chain (no element, no verdict). With `numgen random`
    /// every element takes some connections: all are followed.
    fn vmap(
        &self,
        chain: &'a Chain,
        i: usize,
        rule: &Rule,
        map: VerdictMap<'_>,
        hit: AddrSet,
        depth: usize,
    ) -> Vec<Part> {
        let VerdictMap { key, elements } = map;
        let random = key.iter().find_map(|k| match k {
            MapKey::Random(m) => Some(*m),
            _ => None,
        });
        let mut out = Vec::new();
        let mut rest = hit.clone();
        let mut numbers = Vec::new();
        for (vals, action) in elements {
            let mut set = if random.is_some() { hit.clone() } else { rest.clone() };
            let mut fixed = Tri::Yes;
            for (k, v) in key.iter().zip(vals) {
                let t = match (k, v) {
                    (MapKey::L4Proto, MapVal::Proto(p)) => tri(*p == self.pkt.proto),
                    (MapKey::DstPort, MapVal::Ports(a, b)) if !self.pkt.reply => {
                        ports_tri(&[(*a, *b)], self.local_port, self.local_port)
                    }
                    (MapKey::SrcPort, MapVal::Ports(a, b)) if self.pkt.reply => {
                        ports_tri(&[(*a, *b)], self.local_port, self.local_port)
                    }
                    (MapKey::DstPort | MapKey::SrcPort, MapVal::Ports(a, b)) => {
                        ports_tri(&[(*a, *b)], self.pkt.client_ports.0, self.pkt.client_ports.1)
                    }
                    (MapKey::Daddr, MapVal::Addr(c)) if !self.pkt.reply => tri(c.contains(&self.local)),
                    (MapKey::Saddr, MapVal::Addr(c)) if self.pkt.reply => tri(c.contains(&self.local)),
                    (MapKey::Daddr | MapKey::Saddr, MapVal::Addr(c)) if self.client_as.is_some() => {
                        self.client_as.flatten().map_or(Tri::Maybe, |a| tri(c.contains(&a)))
                    }
                    (MapKey::Daddr | MapKey::Saddr, MapVal::Addr(c)) => {
                        set = set.intersect(&cidr_set(self.pkt.family, std::slice::from_ref(c)));
                        Tri::Yes
                    }
                    (MapKey::Iifname, MapVal::Iface(n)) => self.in_dev.matches(n, false),
                    (MapKey::Oifname, MapVal::Iface(n)) => self.out_dev.matches(n, false),
                    (MapKey::CtState, MapVal::CtState(bits)) => tri(bits & self.ct != 0),
                    (MapKey::EtherType, MapVal::Number(t)) => {
                        tri(u16::try_from(*t).is_ok_and(|t| ethertype_is(self.pkt.family, t)))
                    }
                    (MapKey::Random(_), MapVal::Number(n)) => {
                        numbers.push(*n);
                        Tri::Yes
                    }
                    _ => Tri::Maybe,
                };
                fixed = match (fixed, t) {
                    (Tri::No, _) | (_, Tri::No) => Tri::No,
                    (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
                    _ => Tri::Yes,
                };
            }
            if fixed == Tri::No || set.is_empty() {
                continue;
            }
            if random.is_none() {
                rest = rest.minus(&set);
            }
            if fixed == Tri::Maybe {
                let why =
                    format!("a verdict map key this version cannot decide for the packet ({})", map_key_text(vals));
                let flow = Flow::Unknown(self.rule_ref(chain, i, rule), why);
                out.push(Part::new(set, flow, self.mark));
                continue;
            }
            let element = Rule {
                matches: vec![],
                action: action.clone(),
                text: rule.text.clone(),
                comment: None,
                mark: None,
                secmark: false,
            };
            out.extend(self.act(chain, i, &element, set, depth));
        }
        // Numbers the generator can draw that no element takes: those connections go on too.
        let uncovered = random.is_some_and(|m| (0..m).any(|n| !numbers.contains(&n)));
        if random.is_none() || uncovered {
            let go_on = if random.is_some() { hit } else { rest };
            if !go_on.is_empty() {
                out.extend(self.chain(chain, i + 1, go_on, depth));
            }
        }
        out
    }
}

/// A rule's verdict map (`vmap`): the key it looks up, and each element's values and verdict.
struct VerdictMap<'r> {
    key: &'r [MapKey],
    elements: &'r [(Vec<MapVal>, Action)],
}

impl Ctx<'_> {
    /// Same verdict (and mark) on both sides of an unknown match: keep it. Different: a fork
    /// that is settled when the walk ends (or unknown at once, inside another fork). With
    /// `probe` (traffic history) the probe's side is the answer where they differ, and the
    /// other side is noted as what load changes it to.
    fn merge_forks(&self, yes: Vec<Part>, no: Vec<Part>, rule: RuleRef, why: String, probe: Option<bool>) -> Vec<Part> {
        let mut out = Vec::new();
        for a in &yes {
            for b in &no {
                let set = a.set.intersect(&b.set);
                if set.is_empty() {
                    continue;
                }
                let stops = |f: &Flow| matches!(f, Flow::Drop(_) | Flow::Reject(..));
                let same = stops(&a.flow) && stops(&b.flow)
                    || a.mark == b.mark
                        && matches!((&a.flow, &b.flow), (Flow::Accept, Flow::Accept) | (Flow::Return, Flow::Return));
                let unknown = |f: &Flow| matches!(f, Flow::Unknown(..));
                let notes = || a.notes.iter().chain(&b.notes).cloned().collect::<Vec<String>>();
                // A part still waiting on a fork inside one side keeps it, whichever side holds
                // it: dropped here, the fork's other side would be settled against nothing (two
                // undecided drops in a row read as one confirmed drop and one unknown).
                let pending = a.fork.clone().or_else(|| b.fork.clone());
                if same {
                    out.push(Part { set, flow: a.flow.clone(), mark: a.mark, fork: pending, notes: notes() });
                } else if self.forked || a.fork.is_some() || b.fork.is_some() || unknown(&a.flow) || unknown(&b.flow) {
                    match probe {
                        // Inside another fork: the probe's side now, with the other said.
                        Some(p) => {
                            let (taken, other) = if p { (a, b) } else { (b, a) };
                            let mut notes = notes();
                            notes.push(load_note(&rule, &why, &taken.flow.describe(), &other.flow.describe()));
                            out.push(Part {
                                set,
                                flow: taken.flow.clone(),
                                mark: taken.mark,
                                fork: taken.fork.clone(),
                                notes,
                            });
                        }
                        None => out.push(Part {
                            notes: notes(),
                            fork: pending,
                            ..Part::new(set, Flow::Unknown(rule.clone(), why.clone()), a.mark)
                        }),
                    }
                } else {
                    let id = self.forks.fetch_add(1, Ordering::Relaxed);
                    let side = |p: &Part, yes: bool| Part {
                        set: set.clone(),
                        flow: p.flow.clone(),
                        mark: p.mark,
                        fork: Some(Fork { id, yes, rule: rule.clone(), why: why.clone(), probe }),
                        notes: p.notes.clone(),
                    };
                    out.push(side(a, true));
                    out.push(side(b, false));
                }
            }
        }
        out
    }
}

/// Settles the forks: each client on both sides gets one answer.
fn settle(outcomes: Vec<Outcome>) -> Vec<Outcome> {
    let (forked, mut done): (Vec<Outcome>, Vec<Outcome>) = outcomes.into_iter().partition(|o| o.fork.is_some());
    let blocks = |v: &Verdict| matches!(v, Verdict::Drop(_) | Verdict::Reject(..));
    for y in forked.iter().filter(|o| o.fork.as_ref().is_some_and(|f| f.yes)) {
        let Some(fy) = &y.fork else { continue };
        for n in forked.iter().filter(|o| o.fork.as_ref().is_some_and(|f| f.id == fy.id && !f.yes)) {
            let clients = y.clients.intersect(&n.clients);
            if clients.is_empty() {
                continue;
            }
            let agree = blocks(&y.verdict) && blocks(&n.verdict)
                || y.verdict == Verdict::Accept && n.verdict == Verdict::Accept && y.nat == n.nat;
            let mut load_notes: Vec<String> = y.load_notes.iter().chain(&n.load_notes).cloned().collect();
            let (verdict, from) = match fy.probe {
                _ if agree => (y.verdict.clone(), y),
                // Traffic history: a probe takes its side; load takes the other.
                Some(p) => {
                    let (taken, other) = if p { (y, n) } else { (n, y) };
                    load_notes.push(load_note(
                        &fy.rule,
                        &fy.why,
                        &format!("is {}", taken.verdict.describe()),
                        &format!("is {}", other.verdict.describe()),
                    ));
                    (taken.verdict.clone(), taken)
                }
                None => (Verdict::Unknown(fy.rule.clone(), fy.why.clone()), y),
            };
            done.push(Outcome {
                clients,
                verdict,
                nat: from.nat.clone(),
                hook: from.hook,
                fork: None,
                port_exceptions: vec![],
                load_notes,
                snat: from.snat,
            });
        }
    }
    done
}

/// The base chains on a hook, in priority order, from every table that applies to the family.
fn base_chains(nf: &Netfilter, hook: Hook, family: Family) -> Vec<(usize, &Table, &Chain)> {
    let mut v: Vec<(usize, &Table, &Chain, i32)> = nf
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| table_applies(t, family))
        .flat_map(|(i, t)| {
            t.chains
                .iter()
                .filter_map(move |c| c.base.as_ref().filter(|b| b.hook == hook).map(|b| (i, t, c, b.priority)))
        })
        .collect();
    // At equal priority the NAT runs first (see `nat_point`): the first packet then reads as the
    // later ones do.
    v.sort_by_key(|(_, _, c, p)| (*p, c.base.as_ref().is_none_or(|b| b.kind != ChainKind::Nat)));
    v.into_iter().map(|(i, t, c, _)| (i, t, c)).collect()
}

/// Packets still travelling through the hooks.
#[derive(Debug, Clone)]
struct InFlight {
    clients: AddrSet,
    ct: u8,
    /// Destination (inbound) or source (reply) on this side, after any NAT so far.
    local: IpAddr,
    port: u16,
    /// The NAT that brought them there.
    nat: Option<(IpAddr, u16, RuleRef)>,
    mark: u32,
    fork: Option<Fork>,
    notes: Vec<String>,
    /// A notrack rule matched it: `untracked` from there on, before conntrack too.
    notracked: bool,
    /// The client's address after a POSTROUTING source NAT (see `View::client`).
    snat: Option<Option<IpAddr>>,
}

impl InFlight {
    /// These packets' walk ends in `verdict`, decided at `hook` (`None`: every hook accepted).
    fn end(self, verdict: Verdict, hook: Option<Hook>) -> Outcome {
        Outcome {
            clients: self.clients,
            verdict,
            nat: self.nat,
            hook,
            fork: self.fork,
            port_exceptions: vec![],
            load_notes: self.notes,
            snat: self.snat,
        }
    }
}

/// A ruleset with its lookups built once, for walking many packets.
pub struct Compiled<'a> {
    nf: &'a Netfilter,
    /// Per table (same order as `nf.tables`): chains by name.
    chains: Vec<HashMap<&'a str, &'a Chain>>,
    forks: AtomicUsize,
    /// Every port range rules test on the client's side: source ports on the way in,
    /// destination ports on the way back.
    client_ports: (PortRanges, PortRanges),
}

/// Inclusive port ranges.
type PortRanges = Vec<(u16, u16)>;

/// At most this many stretches of client ports are walked one by one; beyond it only the widest
/// (the ephemeral ports clients use) is.
const MAX_PORT_WALKS: usize = 16;

impl<'a> Compiled<'a> {
    pub fn new(nf: &'a Netfilter) -> Compiled<'a> {
        Compiled {
            nf,
            chains: nf.tables.iter().map(|t| t.chains.iter().map(|c| (c.name.as_str(), c)).collect()).collect(),
            forks: AtomicUsize::new(0),
            client_ports: client_port_matches(nf),
        }
    }

    pub fn netfilter(&self) -> &'a Netfilter {
        self.nf
    }

    /// Walks the hooks a packet crosses (netfilter's packet flow): inbound PREROUTING, then
    /// INPUT when the (translated) destination is this host's, FORWARD when it is not (a
    /// published container port); a reply from this host OUTPUT; a forwarded reply PREROUTING
    /// then FORWARD.
    pub fn evaluate(&self, pkt: &Packet, clients: &AddrSet) -> Vec<Outcome> {
        let segments = self.client_port_segments(pkt);
        if segments.len() <= 1 {
            return self.evaluate_ports(pkt, clients);
        }
        // Rules tell client ports apart: walk each stretch of ports the rules treat alike. The
        // widest stretch is the answer (clients pick ephemeral ports); the others, where they
        // end differently, are named on the outcome.
        let widest = *segments.iter().max_by_key(|(lo, hi)| hi - lo).expect("more than one segment");
        let mut outcomes = self.evaluate_ports(&Packet { client_ports: widest, ..pkt.clone() }, clients);
        // A ruleset full of client-port rules (APF blocks dozens of ports both ways, and on the
        // way back the client's port is the destination): the widest stretch still answers, one
        // walk each for the rest would cost too much, so they are said as not walked.
        if segments.len() > MAX_PORT_WALKS {
            let note = format!(
                "clients using source ports outside {}-{}: not judged ({} stretches of ports the rules treat apart)",
                widest.0,
                widest.1,
                segments.len() - 1
            );
            outcomes.iter_mut().for_each(|o| o.port_exceptions.push(note.clone()));
            return outcomes;
        }
        for seg in segments.into_iter().filter(|s| *s != widest) {
            for other in self.evaluate_ports(&Packet { client_ports: seg, ..pkt.clone() }, clients) {
                for o in outcomes.iter_mut() {
                    let both = o.clients.intersect(&other.clients);
                    if both.is_empty() || same_class(&o.verdict, &other.verdict) {
                        continue;
                    }
                    o.port_exceptions.push(format!(
                        "clients using source port{} {}: {}",
                        if seg.0 == seg.1 { "" } else { "s" },
                        if seg.0 == seg.1 { seg.0.to_string() } else { format!("{}-{}", seg.0, seg.1) },
                        other.verdict.describe()
                    ));
                }
            }
        }
        outcomes
    }

    /// The stretches of client ports within `pkt.client_ports` that every client-side port
    /// match treats alike (a source port on the way in, a destination port on the way back).
    fn client_port_segments(&self, pkt: &Packet) -> Vec<(u16, u16)> {
        let (lo, hi) = pkt.client_ports;
        let mut cuts: Vec<u32> = vec![u32::from(lo), u32::from(hi) + 1];
        let ranges = if pkt.reply { &self.client_ports.1 } else { &self.client_ports.0 };
        for (a, b) in ranges {
            cuts.extend(
                [u32::from(*a), u32::from(*b) + 1].into_iter().filter(|c| *c > u32::from(lo) && *c <= u32::from(hi)),
            );
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts.windows(2).map(|w| (w[0] as u16, (w[1] - 1) as u16)).collect()
    }

    fn evaluate_ports(&self, pkt: &Packet, clients: &AddrSet) -> Vec<Outcome> {
        let mut done = Vec::new();
        let start = vec![InFlight {
            clients: clients.clone(),
            ct: pkt.ct_state,
            local: pkt.local,
            port: pkt.local_port,
            nat: None,
            mark: 0,
            fork: None,
            notes: vec![],
            notracked: false,
            snat: None,
        }];
        let toward_client = Dev::of(pkt.iface.as_deref());
        // POSTROUTING has no input interface (iptables refuses -i there; nft's iif is empty).
        let live = if pkt.reply && (pkt.from_host || pkt.is_local(&pkt.local)) {
            let live = self.hook(pkt, Hook::Output, start, (Dev::Absent, toward_client), &mut done);
            self.hook(pkt, Hook::Postrouting, live, (Dev::Absent, toward_client), &mut done)
        } else if pkt.reply {
            let from = Dev::of(pkt.route_dev(&pkt.local));
            let live = self.hook(pkt, Hook::Ingress, start, (from, Dev::Absent), &mut done);
            let live = self.hook(pkt, Hook::Prerouting, live, (from, Dev::Absent), &mut done);
            let live = self.hook(pkt, Hook::Forward, live, (from, toward_client), &mut done);
            self.hook(pkt, Hook::Postrouting, live, (Dev::Absent, toward_client), &mut done)
        } else {
            let live = self.hook(pkt, Hook::Ingress, start, (toward_client, Dev::Absent), &mut done);
            let live = self.hook(pkt, Hook::Prerouting, live, (toward_client, Dev::Absent), &mut done);
            let (delivered, forwarded): (Vec<InFlight>, Vec<InFlight>) =
                live.into_iter().partition(|f| pkt.is_local(&f.local));
            let mut live = self.hook(pkt, Hook::Input, delivered, (toward_client, Dev::Absent), &mut done);
            for f in forwarded {
                let out = Dev::of(pkt.route_dev(&f.local));
                let through = self.hook(pkt, Hook::Forward, vec![f], (toward_client, out), &mut done);
                live.extend(self.hook(pkt, Hook::Postrouting, through, (Dev::Absent, out), &mut done));
            }
            live
        };
        done.extend(live.into_iter().map(|f| f.end(Verdict::Accept, None)));
        settle(done)
    }

    /// Every base chain on `hook`, in priority order; what they end is pushed to `done`, what
    /// goes on is returned.
    fn hook(
        &self,
        pkt: &'a Packet,
        hook: Hook,
        mut live: Vec<InFlight>,
        devs: (Dev<'a>, Dev<'a>),
        done: &mut Vec<Outcome>,
    ) -> Vec<InFlight> {
        for (ti, table, chain) in base_chains(self.nf, hook, pkt.family) {
            if hook == Hook::Ingress {
                match ingress_sees(self.nf, chain, devs.0) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(why) => {
                        let chain_ref = RuleRef::of_chain(table, chain, format!("chain {} (hook ingress)", chain.name));
                        let verdict = Verdict::Unknown(chain_ref, why);
                        done.extend(live.drain(..).map(|f| f.end(verdict.clone(), Some(hook))));
                        continue;
                    }
                }
            }
            live = self.base_chain(pkt, hook, (ti, table, chain), live, devs, done);
        }
        // Past this hook, the packet reads as the next hook sees it (its NAT point crossed).
        for f in &mut live {
            let view = seen_at(pkt, f, hook, i32::MAX);
            (f.local, f.port) = (view.local, view.port);
        }
        live
    }

    /// One base chain of `hook` (the table's `ti`th): each group of packets is walked through
    /// its rules as the chain sees it; what it ends is pushed to `done`, what goes on is returned.
    fn base_chain(
        &self,
        pkt: &'a Packet,
        hook: Hook,
        (ti, table, chain): (usize, &'a Table, &'a Chain),
        live: Vec<InFlight>,
        (in_dev, out_dev): (Dev<'a>, Dev<'a>),
        done: &mut Vec<Outcome>,
    ) -> Vec<InFlight> {
        let mut next = Vec::new();
        let priority = chain.base.as_ref().map_or(0, |b| b.priority);
        // A notrack rule before conntrack (raw PREROUTING/OUTPUT) makes the packet UNTRACKED.
        let untrack =
            position(hook, priority) < (1, PRI_CONNTRACK) && chain.rules.iter().any(|r| r.action == Action::Notrack);
        let is_nat = chain.base.as_ref().is_some_and(|b| b.kind == ChainKind::Nat);
        let policy_drop =
            (!chain.base.as_ref().is_none_or(|b| b.policy_accept)).then(|| RuleRef::of_chain(table, chain, "DROP"));
        for f in live {
            if is_nat && f.ct & ct::NEW == 0 {
                // NAT chains see only the first packet of a tracked connection.
                next.push(f);
                continue;
            }
            let view = seen_at(pkt, &f, hook, priority);
            let ctx = Ctx {
                nf: self.nf,
                table,
                chains: &self.chains[ti],
                pkt,
                ct: view.ct,
                local_port: view.port,
                local: view.local,
                client_as: view.client,
                in_dev,
                out_dev,
                mark: f.mark,
                forked: f.fork.is_some(),
                forks: &self.forks,
            };
            for part in ctx.chain(chain, 0, f.clients.clone(), 0) {
                let notracked = f.notracked || untrack && ctx_untracks(&ctx, chain, &part.set);
                let ct = if notracked { ct::UNTRACKED } else { f.ct };
                let fork = part.fork.or_else(|| f.fork.clone());
                let notes = f.notes.iter().chain(&part.notes).cloned().collect();
                let go_on = InFlight { clients: part.set, ct, notracked, mark: part.mark, fork, notes, ..f.clone() };
                match after_chain(part.flow, go_on, &policy_drop, pkt, out_dev) {
                    AfterChain::GoOn(on) => next.push(on),
                    AfterChain::Ends(verdict, ended) => done.push(ended.end(verdict, Some(hook))),
                }
            }
        }
        next
    }
}

/// Whether an ingress chain sees the packet: it sees only the devices it is attached to. `Err`
/// says why that cannot be told (attached to devices the listing does not name, or the arrival
/// interface is unknown).
fn ingress_sees(nf: &Netfilter, chain: &Chain, in_dev: Dev<'_>) -> Result<bool, String> {
    let devices = chain.base.as_ref().map(|b| b.devices.as_slice()).unwrap_or_default();
    match (devices.is_empty(), in_dev) {
        (false, Dev::Name(_)) => Ok(in_dev.matches_any(devices, false) != Tri::No),
        (true, _) => Err(format!("an ingress chain whose devices the listing does not name ({})", nf.devices_from)),
        (false, _) => Err(format!("an ingress chain on {}, and the arrival interface is unknown", devices.join(", "))),
    }
}

/// Where packets are after a base chain.
enum AfterChain {
    /// On to the next chain.
    GoOn(InFlight),
    /// Their walk ends in the verdict.
    Ends(Verdict, InFlight),
}

/// What a base chain's `flow` does to the packets `go_on`: NAT moves their destination or
/// source; the chain's end falls to its policy (`policy_drop` where it drops).
fn after_chain(
    flow: Flow,
    go_on: InFlight,
    policy_drop: &Option<RuleRef>,
    pkt: &Packet,
    out_dev: Dev<'_>,
) -> AfterChain {
    let verdict = match flow {
        Flow::Accept => return AfterChain::GoOn(go_on),
        Flow::Return => match policy_drop {
            None => return AfterChain::GoOn(go_on),
            Some(policy) => Verdict::Drop(policy.clone()),
        },
        Flow::Drop(r) => Verdict::Drop(r),
        Flow::Reject(r, k) => Verdict::Reject(r, k),
        Flow::Unknown(r, why) => Verdict::Unknown(r, why),
        // The kernel sets the connection's DNAT status only when the translation changes the
        // tuple (nf_nat_setup_info): a REDIRECT of a packet already addressed to the
        // interface's primary address and that port leaves `ct status dnat` unset.
        Flow::Nat(to, to_port, r) => {
            return AfterChain::GoOn(InFlight {
                ct: go_on.ct | if (to, to_port) == (go_on.local, go_on.port) { 0 } else { ct::DNAT },
                local: to,
                port: to_port,
                nat: Some((to, to_port, r)),
                ..go_on
            });
        }
        Flow::Snat(to) => {
            return AfterChain::GoOn(InFlight {
                ct: go_on.ct | ct::SNAT,
                snat: Some(to.or_else(|| masquerade_addr(pkt, out_dev))),
                ..go_on
            });
        }
    };
    AfterChain::Ends(verdict, go_on)
}

fn client_port_matches(nf: &Netfilter) -> (PortRanges, PortRanges) {
    let (mut inbound, mut back) = (Vec::new(), Vec::new());
    for rule in nf.tables.iter().flat_map(|t| t.chains.iter()).flat_map(|c| c.rules.iter()) {
        for m in &rule.matches {
            match m {
                Match::SrcPort(n) => inbound.extend(n.value.iter().copied()),
                Match::DstPort(n) => back.extend(n.value.iter().copied()),
                _ => {}
            }
        }
        if let Action::Vmap { key, elements } = &rule.action {
            for (vals, _) in elements {
                for (k, v) in key.iter().zip(vals) {
                    match (k, v) {
                        (MapKey::SrcPort, MapVal::Ports(a, b)) => inbound.push((*a, *b)),
                        (MapKey::DstPort, MapVal::Ports(a, b)) => back.push((*a, *b)),
                        _ => {}
                    }
                }
            }
        }
    }
    for v in [&mut inbound, &mut back] {
        v.sort_unstable();
        v.dedup();
    }
    (inbound, back)
}

/// One-off walk (builds the lookups for this call).
pub fn evaluate(nf: &Netfilter, pkt: &Packet, clients: &AddrSet) -> Vec<Outcome> {
    Compiled::new(nf).evaluate(pkt, clients)
}

/// Whether a raw-table notrack rule applies to these clients (it must match them).
fn ctx_untracks(ctx: &Ctx<'_>, chain: &Chain, part: &AddrSet) -> bool {
    chain.rules.iter().any(|r| r.action == Action::Notrack && !ctx.test(r, part).0.is_empty())
}

mod explain;
mod matches;
mod owner;
pub use owner::{attribute, attribute_in, manager_chain, nft_insert_rule, table_of};

#[cfg(test)]
mod tests;
