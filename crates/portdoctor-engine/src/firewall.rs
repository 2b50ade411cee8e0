//! The kernel's own answer for a new connection through netfilter: every base chain on each
//! hook, in priority order, across iptables-nft, iptables-legacy and native nftables tables. An
//! accept ends only its own base chain; a drop or reject ends everything (nft(8), "Overall
//! evaluation of the ruleset"). The client is a *set* of source addresses, split rule by rule,
//! so "reachable from every internet address" is exact. A match the engine does not model makes
//! both outcomes possible: when they agree the walk goes on, when they differ the answer is
//! unknown, naming the rule.

use portdoctor_model::addrset::AddrSet;
use portdoctor_model::firewall::{Action, Backend, Chain, FwFamily, Hook, Match, Netfilter, Rule, Table, ct};
use portdoctor_model::net::{Cidr, Family};
use std::collections::HashMap;
use std::net::IpAddr;

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

impl RuleRef {
    pub fn describe(&self) -> String {
        if self.index == 0 {
            format!("{} table {} chain {}: policy {}", self.backend.name(), self.table, self.chain, self.text)
        } else {
            format!(
                "{} table {} chain {} rule {}: {}",
                self.backend.name(),
                self.table,
                self.chain,
                self.index,
                self.text
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop(RuleRef),
    Reject(RuleRef, String),
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
    /// Ingress interface (inbound) or egress interface (reply).
    pub iface: Option<String>,
    /// Inbound (client is the source) or the reply (client is the destination).
    pub reply: bool,
    /// Local addresses, for `addrtype LOCAL`.
    pub local_addrs: Vec<IpAddr>,
    /// Conntrack state the packet starts with: NEW for a first SYN, ESTABLISHED for its reply,
    /// RELATED for a REJECT's RST or ICMP error (nf_conntrack_attach).
    pub ct_state: u8,
    /// TCP flags (FIN=1 SYN=2 RST=4 PSH=8 ACK=16): SYN, SYN-ACK, or RST-ACK.
    pub tcp_flags: u8,
}

impl Packet {
    /// What answers a REJECT with `kind`: a TCP RST, or an ICMP error, back to the client.
    pub fn reject_answer(&self, kind: &str) -> Packet {
        let tcp_reset = kind.contains("tcp-reset");
        let icmp = if self.family == Family::V6 { 58 } else { 1 };
        Packet {
            proto: if tcp_reset { 6 } else { icmp },
            reply: true,
            ct_state: ct::RELATED,
            tcp_flags: 4 | 16,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

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
}

#[derive(Debug, Clone)]
enum Flow {
    /// Fell off the end of a user chain, or hit RETURN.
    Return,
    Accept,
    Drop(RuleRef),
    Reject(RuleRef, String),
    Nat(IpAddr, u16, RuleRef),
    Unknown(RuleRef, String),
}

fn table_applies(t: &Table, f: Family) -> bool {
    matches!((t.family, f), (FwFamily::Inet, _) | (FwFamily::Ip, Family::V4) | (FwFamily::Ip6, Family::V6))
}

fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('+').or_else(|| pattern.strip_suffix('*')) {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

fn ports_tri(ranges: &[(u16, u16)], lo: u16, hi: u16) -> Tri {
    let covers = |p: u16| ranges.iter().any(|(a, b)| *a <= p && p <= *b);
    if lo == hi {
        return if covers(lo) { Tri::Yes } else { Tri::No };
    }
    let all = ranges.iter().any(|(a, b)| *a <= lo && hi <= *b);
    let none = ranges.iter().all(|(a, b)| *b < lo || *a > hi);
    if all {
        Tri::Yes
    } else if none {
        Tri::No
    } else {
        Tri::Maybe
    }
}

fn neg(t: Tri, negated: bool) -> Tri {
    match (t, negated) {
        (Tri::Yes, true) => Tri::No,
        (Tri::No, true) => Tri::Yes,
        (t, _) => t,
    }
}

fn cidr_set(family: Family, cidrs: &[Cidr]) -> AddrSet {
    cidrs.iter().filter(|c| c.family() == family).fold(AddrSet::empty(family), |s, c| s.union(&AddrSet::from_cidr(c)))
}

impl<'a> Ctx<'a> {
    fn set_members(&self, name: &str) -> Option<AddrSet> {
        let def =
            self.nf.sets.iter().find(|s| s.name == name && s.table.as_ref().is_none_or(|t| *t == self.table.name))?;
        def.members.as_ref().map(|m| cidr_set(self.pkt.family, m))
    }

    /// Splits `clients` by the rule's address matches on the client side; the fixed fields
    /// decide yes / no / maybe for the rest. Returns (matched, maybe-matched, reason).
    fn test(&self, rule: &Rule, clients: &AddrSet) -> (AddrSet, AddrSet, Option<String>) {
        let family = self.pkt.family;
        let empty = || (AddrSet::empty(family), AddrSet::empty(family), None);
        let on_client_side = |m: &Match| {
            matches!(
                (m, self.pkt.reply),
                (Match::Src(_) | Match::SetSrc(_), false) | (Match::Dst(_) | Match::SetDst(_), true)
            )
        };
        // First the packet's fixed fields: most rules of a big ruleset fail here, cheaply.
        let mut fixed = Tri::Yes;
        let mut why: Option<String> = None;
        for m in rule.matches.iter().filter(|m| !on_client_side(m)) {
            let local_in = |cidrs: &[Cidr]| cidrs.iter().any(|c| c.contains(&self.local));
            let t = match m {
                Match::Proto(n) => neg(if n.value == self.pkt.proto { Tri::Yes } else { Tri::No }, n.negated),
                // The local side of the address matches.
                Match::Dst(n) | Match::Src(n) => neg(if local_in(&n.value) { Tri::Yes } else { Tri::No }, n.negated),
                Match::SetDst(n) | Match::SetSrc(n) => match self.set_members(&n.value) {
                    Some(s) => neg(if s.contains(&self.local) { Tri::Yes } else { Tri::No }, n.negated),
                    None => Tri::Maybe,
                },
                Match::DstPort(n) if !self.pkt.reply => {
                    neg(ports_tri(&n.value, self.local_port, self.local_port), n.negated)
                }
                Match::SrcPort(n) if self.pkt.reply => {
                    neg(ports_tri(&n.value, self.local_port, self.local_port), n.negated)
                }
                Match::DstPort(n) | Match::SrcPort(n) => {
                    neg(ports_tri(&n.value, self.pkt.client_ports.0, self.pkt.client_ports.1), n.negated)
                }
                Match::InIface(n) if !self.pkt.reply => match &self.pkt.iface {
                    Some(i) => neg(if iface_matches(&n.value, i) { Tri::Yes } else { Tri::No }, n.negated),
                    None => Tri::Maybe,
                },
                Match::OutIface(n) if self.pkt.reply => match &self.pkt.iface {
                    Some(i) => neg(if iface_matches(&n.value, i) { Tri::Yes } else { Tri::No }, n.negated),
                    None => Tri::Maybe,
                },
                // No output interface on the way in, no input interface on the way out.
                Match::InIface(n) | Match::OutIface(n) => neg(Tri::No, n.negated),
                Match::CtState(n) => neg(if n.value & self.ct != 0 { Tri::Yes } else { Tri::No }, n.negated),
                Match::TcpFlags(n) => {
                    if self.pkt.proto != 6 {
                        Tri::No
                    } else {
                        neg(if self.pkt.tcp_flags & n.value.0 == n.value.1 { Tri::Yes } else { Tri::No }, n.negated)
                    }
                }
                Match::DstAddrType(n) | Match::SrcAddrType(n) => {
                    let local_side = matches!(m, Match::DstAddrType(_)) != self.pkt.reply;
                    let t = match (n.value.as_str(), local_side) {
                        ("LOCAL" | "local", true) => Tri::Yes,
                        ("UNICAST" | "unicast", _) => Tri::Yes,
                        ("LOCAL" | "local", false) => {
                            if self.pkt.local_addrs.iter().any(|a| clients.contains(a)) {
                                Tri::Maybe
                            } else {
                                Tri::No
                            }
                        }
                        ("BROADCAST" | "MULTICAST" | "ANYCAST" | "broadcast" | "multicast" | "anycast", _) => Tri::No,
                        _ => Tri::Maybe,
                    };
                    neg(t, n.negated)
                }
                Match::IsIpv6(n) => neg(if (family == Family::V6) == n.value { Tri::Yes } else { Tri::No }, n.negated),
                Match::Unknown(_) => Tri::Maybe,
            };
            match t {
                Tri::No => return empty(),
                Tri::Maybe => {
                    fixed = Tri::Maybe;
                    why.get_or_insert_with(|| match m {
                        Match::Unknown(t) => t.clone(),
                        other => format!("{other:?}"),
                    });
                }
                Tri::Yes => {}
            }
        }
        // Then split the clients by the address matches on their side.
        let mut set = clients.clone();
        for m in rule.matches.iter().filter(|m| on_client_side(m)) {
            let (negated, members, text) = match m {
                Match::Src(n) | Match::Dst(n) => (n.negated, Some(cidr_set(family, &n.value)), "address".to_string()),
                Match::SetSrc(n) | Match::SetDst(n) => {
                    (n.negated, self.set_members(&n.value), format!("set {}", n.value))
                }
                _ => continue,
            };
            match members {
                Some(members) => set = if negated { set.minus(&members) } else { set.intersect(&members) },
                None => {
                    fixed = Tri::Maybe;
                    why.get_or_insert_with(|| {
                        format!("{text} (its members are not addresses, or it is not in the evidence)")
                    });
                }
            }
            if set.is_empty() {
                return empty();
            }
        }
        match fixed {
            Tri::Yes => (set, AddrSet::empty(family), None),
            Tri::No => empty(),
            Tri::Maybe => (AddrSet::empty(family), set, why),
        }
    }

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
    fn chain(&self, chain: &'a Chain, start: usize, clients: AddrSet, depth: usize) -> Vec<(AddrSet, Flow)> {
        let mut out = Vec::new();
        let mut rest = clients;
        if depth > 64 {
            let r = RuleRef {
                backend: self.table.backend,
                table: self.table.name.clone(),
                chain: chain.name.clone(),
                index: 0,
                text: "too deep".into(),
            };
            return vec![(rest, Flow::Unknown(r, "jumps nest deeper than 64 chains".into()))];
        }
        for (i, rule) in chain.rules.iter().enumerate().skip(start) {
            if rest.is_empty() {
                return out;
            }
            let (hit, maybe, why) = self.test(rule, &rest);
            if !maybe.is_empty() {
                // Both outcomes: as if it matched, and as if it did not. Where they agree, that
                // is the answer; where they differ, the rule decides and we cannot say how.
                let yes = self.act(chain, i, rule, maybe.clone(), depth);
                let no = self.chain(chain, i + 1, maybe.clone(), depth);
                out.extend(merge_forks(yes, no, self.rule_ref(chain, i, rule), why.unwrap_or_default()));
                rest = rest.minus(&maybe);
            }
            if hit.is_empty() {
                continue;
            }
            rest = rest.minus(&hit);
            for (part, flow) in self.act(chain, i, rule, hit, depth) {
                out.push((part, flow));
            }
        }
        if !rest.is_empty() {
            out.push((rest, Flow::Return));
        }
        out
    }

    /// What rule `i` does to the clients it matched: a verdict, or the rest of the chain.
    fn act(&self, chain: &'a Chain, i: usize, rule: &Rule, hit: AddrSet, depth: usize) -> Vec<(AddrSet, Flow)> {
        let r = || self.rule_ref(chain, i, rule);
        match &rule.action {
            Action::Accept => vec![(hit, Flow::Accept)],
            Action::Drop => vec![(hit, Flow::Drop(r()))],
            Action::Reject(kind) => vec![(hit, Flow::Reject(r(), kind.clone()))],
            Action::Return => vec![(hit, Flow::Return)],
            Action::Continue | Action::Notrack => self.chain(chain, i + 1, hit, depth),
            Action::Dnat { addr, port, redirect } => {
                let to = if *redirect { self.local } else { addr.unwrap_or(self.local) };
                vec![(hit, Flow::Nat(to, port.unwrap_or(self.local_port), r()))]
            }
            Action::Jump(target) | Action::Goto(target) => {
                let Some(sub) = self.chains.get(target.as_str()).copied() else {
                    return vec![(hit, Flow::Unknown(r(), format!("jump to missing chain {target}")))];
                };
                let mut out = Vec::new();
                for (part, flow) in self.chain(sub, 0, hit, depth + 1) {
                    match (flow, &rule.action) {
                        // RETURN from a jump continues after the jump; from a goto, it returns
                        // from this chain too.
                        (Flow::Return, Action::Jump(_)) => out.extend(self.chain(chain, i + 1, part, depth)),
                        (flow, _) => out.push((part, flow)),
                    }
                }
                out
            }
            Action::Unknown(t) => vec![(hit, Flow::Unknown(r(), t.clone()))],
        }
    }
}

/// Same verdict on both sides of an unknown match: keep it. Different: unknown.
fn merge_forks(
    yes: Vec<(AddrSet, Flow)>,
    no: Vec<(AddrSet, Flow)>,
    rule: RuleRef,
    why: String,
) -> Vec<(AddrSet, Flow)> {
    let mut out = Vec::new();
    for (a, fa) in &yes {
        for (b, fb) in &no {
            let both = a.intersect(b);
            if both.is_empty() {
                continue;
            }
            let same = matches!((fa, fb), (Flow::Accept, Flow::Accept) | (Flow::Return, Flow::Return))
                || matches!((fa, fb), (Flow::Drop(_) | Flow::Reject(..), Flow::Drop(_) | Flow::Reject(..)));
            out.push((both, if same { fa.clone() } else { Flow::Unknown(rule.clone(), why.clone()) }));
        }
    }
    out
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
    v.sort_by_key(|(_, _, _, p)| *p);
    v.into_iter().map(|(i, t, c, _)| (i, t, c)).collect()
}

/// Packets still travelling through the hooks: (clients, conntrack state, local address,
/// local port, the NAT that brought them there).
type InFlight = (AddrSet, u8, IpAddr, u16, Option<(IpAddr, u16, RuleRef)>);

/// A ruleset with its lookups built once, for walking many packets.
pub struct Compiled<'a> {
    nf: &'a Netfilter,
    /// Per table (same order as `nf.tables`): chains by name.
    chains: Vec<HashMap<&'a str, &'a Chain>>,
}

impl<'a> Compiled<'a> {
    pub fn new(nf: &'a Netfilter) -> Compiled<'a> {
        Compiled {
            nf,
            chains: nf.tables.iter().map(|t| t.chains.iter().map(|c| (c.name.as_str(), c)).collect()).collect(),
        }
    }

    pub fn netfilter(&self) -> &'a Netfilter {
        self.nf
    }

    /// Walks the hooks a packet crosses. Inbound: PREROUTING then INPUT; the reply: OUTPUT.
    pub fn evaluate(&self, pkt: &Packet, clients: &AddrSet) -> Vec<Outcome> {
        walk(self, pkt, clients)
    }
}

/// One-off walk (builds the lookups for this call).
pub fn evaluate(nf: &Netfilter, pkt: &Packet, clients: &AddrSet) -> Vec<Outcome> {
    Compiled::new(nf).evaluate(pkt, clients)
}

fn walk(c: &Compiled<'_>, pkt: &Packet, clients: &AddrSet) -> Vec<Outcome> {
    let nf = c.nf;
    let hooks: &[Hook] = if pkt.reply { &[Hook::Output] } else { &[Hook::Prerouting, Hook::Input] };
    // (clients, conntrack state, local address, local port, nat) still travelling.
    let first_ct = pkt.ct_state;
    let mut live: Vec<InFlight> = vec![(clients.clone(), first_ct, pkt.local, pkt.local_port, None)];
    let mut done: Vec<Outcome> = Vec::new();
    for hook in hooks {
        for (ti, table, chain) in base_chains(nf, *hook, pkt.family) {
            let mut next = Vec::new();
            for (set, ctstate, local, port, nat) in live {
                // A notrack rule in raw PREROUTING/OUTPUT makes the packet UNTRACKED.
                let untrack = table.name == "raw" && chain.rules.iter().any(|r| r.action == Action::Notrack);
                let is_nat = chain.base.as_ref().is_some_and(|b| b.kind == "nat");
                if is_nat && ctstate & ct::NEW == 0 {
                    // NAT chains see only the first packet of a tracked connection.
                    next.push((set, ctstate, local, port, nat));
                    continue;
                }
                let ctx = Ctx { nf, table, chains: &c.chains[ti], pkt, ct: ctstate, local_port: port, local };
                for (part, flow) in ctx.chain(chain, 0, set, 0) {
                    let policy = chain.base.as_ref().is_none_or(|b| b.policy_accept);
                    let policy_ref = || RuleRef {
                        backend: table.backend,
                        table: table.name.clone(),
                        chain: chain.name.clone(),
                        index: 0,
                        text: "DROP".into(),
                    };
                    let ctstate = if untrack && ctx_untracks(&ctx, chain, &part) { ct::UNTRACKED } else { ctstate };
                    match flow {
                        Flow::Accept => next.push((part, ctstate, local, port, nat.clone())),
                        Flow::Return if policy => next.push((part, ctstate, local, port, nat.clone())),
                        Flow::Return => {
                            done.push(Outcome { clients: part, verdict: Verdict::Drop(policy_ref()), nat: nat.clone() })
                        }
                        Flow::Drop(r) => {
                            done.push(Outcome { clients: part, verdict: Verdict::Drop(r), nat: nat.clone() })
                        }
                        Flow::Reject(r, k) => {
                            done.push(Outcome { clients: part, verdict: Verdict::Reject(r, k), nat: nat.clone() })
                        }
                        Flow::Unknown(r, why) => {
                            done.push(Outcome { clients: part, verdict: Verdict::Unknown(r, why), nat: nat.clone() })
                        }
                        Flow::Nat(to, to_port, r) => next.push((part, ctstate, to, to_port, Some((to, to_port, r)))),
                    }
                }
            }
            live = next;
        }
    }
    done.extend(live.into_iter().map(|(clients, _, _, _, nat)| Outcome { clients, verdict: Verdict::Accept, nat }));
    done
}

/// Whether a raw-table notrack rule applies to these clients (it must match them).
fn ctx_untracks(ctx: &Ctx<'_>, chain: &Chain, part: &AddrSet) -> bool {
    chain.rules.iter().any(|r| r.action == Action::Notrack && !ctx.test(r, part).0.is_empty())
}

/// Who owns a rule, and how the user fixes it in that tool. A chain *policy* belongs to whatever
/// manages the table: ufw and firewalld set INPUT's policy and hang their chains under it.
pub fn attribute_in(nf: &Netfilter, r: &RuleRef, proto: &str, port: u16, family: Family) -> (String, Vec<String>) {
    if r.index == 0 {
        let table = nf.tables.iter().find(|t| t.name == r.table && t.backend == r.backend);
        let manager = table.and_then(|t| {
            t.chains.iter().find_map(|c| {
                if c.name.starts_with("ufw")
                    || c.name.starts_with("INPUT_ZONES")
                    || c.name.starts_with("IN_")
                    || c.name.starts_with("filter_IN_")
                {
                    Some(c.name.clone())
                } else {
                    None
                }
            })
        });
        if let Some(chain) = manager {
            return attribute(&RuleRef { chain, ..r.clone() }, proto, port, family);
        }
    }
    attribute(r, proto, port, family)
}

/// Who owns a rule, judged by its own chain and table.
pub fn attribute(r: &RuleRef, proto: &str, port: u16, family: Family) -> (String, Vec<String>) {
    let chain = r.chain.as_str();
    let ipt = if family == Family::V6 { "ip6tables" } else { "iptables" };
    let persist_ipt = format!(
        "persist it: `{ipt}-save > /etc/iptables/rules.{}` (Debian iptables-persistent) or `service {ipt} save` (RHEL)",
        if family == Family::V6 { "v6" } else { "v4" }
    );
    if chain.starts_with("ufw") {
        return ("ufw".into(), vec![format!("ufw allow {port}/{proto}")]);
    }
    if r.table == "firewalld" || chain.starts_with("filter_IN_") || chain.starts_with("IN_") || chain.contains("_ZONES")
    {
        let zone = chain
            .strip_prefix("filter_IN_")
            .or_else(|| chain.strip_prefix("IN_"))
            .map(|z| z.trim_end_matches("_allow").trim_end_matches("_deny").trim_end_matches("_log"))
            .filter(|z| !z.is_empty() && !z.contains("ZONES"))
            .unwrap_or("public");
        return (
            format!("firewalld (zone {zone})"),
            vec![format!("firewall-cmd --zone={zone} --add-port={port}/{proto} --permanent && firewall-cmd --reload")],
        );
    }
    if chain.starts_with("f2b-") {
        let jail = chain.trim_start_matches("f2b-");
        return (
            format!("fail2ban (jail {jail})"),
            vec![
                format!("fail2ban-client set {jail} unbanip <client-address>"),
                "if clients are banned wrongly, check the jail's filter and `ignoreip` in /etc/fail2ban/jail.local"
                    .into(),
            ],
        );
    }
    if chain.starts_with("DOCKER") {
        return (
            "Docker".into(),
            vec![format!("{ipt} -I DOCKER-USER -p {proto} -m conntrack --ctorigdstport {port} -j RETURN")],
        );
    }
    if chain.starts_with("KUBE-") || chain.starts_with("kube-") {
        return ("kube-proxy".into(), vec!["fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains".into()]);
    }
    match r.backend {
        Backend::Nftables => {
            let fam = "inet";
            (
                format!("nftables (table {})", r.table),
                vec![
                    format!("nft insert rule {fam} {} {} {proto} dport {port} accept", r.table, chain),
                    "persist it in /etc/nftables.conf".into(),
                ],
            )
        }
        _ => {
            let pos = if r.index > 0 { r.index } else { 1 };
            (
                format!("{} ({} chain {})", r.backend.name(), r.table, chain),
                vec![format!("{ipt} -t {} -I {chain} {pos} -p {proto} --dport {port} -j ACCEPT", r.table), persist_ipt],
            )
        }
    }
}

#[cfg(test)]
mod tests;
