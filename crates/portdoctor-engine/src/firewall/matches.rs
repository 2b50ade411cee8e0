//! A rule's matches against a packet and its set of clients: which clients a rule matches for
//! sure, which it may match (and why it cannot tell), decided field by field. The walk
//! (`firewall.rs`) asks `Ctx::test` of each rule it meets.

use super::{Ctx, Dev, Tri, Undecided, ethertype_is};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::firewall::{AddrType, Match, Rule};
use portdoctor_model::net::{Cidr, Family};
use std::net::IpAddr;

pub(super) fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('+').or_else(|| pattern.strip_suffix('*')) {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

pub(super) fn ports_tri(ranges: &[(u16, u16)], lo: u16, hi: u16) -> Tri {
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

pub(super) fn tri(b: bool) -> Tri {
    if b { Tri::Yes } else { Tri::No }
}

pub(super) fn neg(t: Tri, negated: bool) -> Tri {
    match (t, negated) {
        (Tri::Yes, true) => Tri::No,
        (Tri::No, true) => Tri::Yes,
        (t, _) => t,
    }
}

pub(super) fn cidr_set(family: Family, cidrs: &[Cidr]) -> AddrSet {
    cidrs.iter().filter(|c| c.family() == family).fold(AddrSet::empty(family), |s, c| s.union(&AddrSet::from_cidr(c)))
}

/// Notes one more match that leaves a rule undecided: the kinds combine, the first reason stays.
pub(super) fn undecide(undecided: &mut Option<(Undecided, String)>, kind: Undecided, why: impl FnOnce() -> String) {
    *undecided = Some(match undecided.take() {
        Some((so_far, first)) => (so_far.and(kind), first),
        None => (kind, why()),
    });
}

/// What kind of undecided a match leaves: load balancing, traffic history, or unknown.
pub(super) fn undecided_kind(m: &Match) -> Undecided {
    match m {
        Match::Statistic(_) => Undecided::Spread,
        Match::Traffic { probe, .. } => Undecided::Traffic(*probe),
        _ => Undecided::Unknown,
    }
}

/// An undecided match in words, for the verdict's reason.
pub(super) fn undecided_why(m: &Match) -> String {
    match m {
        Match::Traffic { text, under_load, .. } => format!("{text} {under_load}"),
        // A match kept as text is that text; the others read as rule text.
        other => other.to_string(),
    }
}

impl Ctx<'_> {
    pub(super) fn set_members(&self, name: &str) -> Option<AddrSet> {
        let def = self.nf.sets.iter().find(|s| {
            s.name == name
                && s.table.as_ref().is_none_or(|t| *t == self.table.name)
                && s.family.is_none_or(|f| f == self.table.family)
        })?;
        def.members.as_ref().map(|m| cidr_set(self.pkt.family, m))
    }

    /// Splits `clients` by the rule's address matches on the client side; the fixed fields
    /// decide yes / no / maybe for the rest. Returns (matched, maybe-matched, reason, and what
    /// kind of undecided the maybe part is).
    pub(super) fn test(&self, rule: &Rule, clients: &AddrSet) -> (AddrSet, AddrSet, Option<String>, Undecided) {
        let family = self.pkt.family;
        let empty = || (AddrSet::empty(family), AddrSet::empty(family), None, Undecided::Unknown);
        // What keeps the rule undecided: its kind over all such matches, and the first one's reason.
        let mut undecided: Option<(Undecided, String)> = None;
        // First the packet's fixed fields: most rules of a big ruleset fail here, cheaply.
        for m in rule.matches.iter().filter(|m| !self.on_client_side(m) || self.client_as.is_some()) {
            match self.fixed_field(m, clients) {
                Tri::No => return empty(),
                Tri::Maybe => undecide(&mut undecided, undecided_kind(m), || undecided_why(m)),
                Tri::Yes => {}
            }
        }
        // Then split the clients by the address matches on their side.
        let mut set = clients.clone();
        for m in rule.matches.iter().filter(|m| self.on_client_side(m) && self.client_as.is_none()) {
            let Some((negated, members, text)) = self.client_side_members(m, &set) else { continue };
            match members {
                Some(members) => set = if negated { set.minus(&members) } else { set.intersect(&members) },
                None => undecide(&mut undecided, Undecided::Unknown, || {
                    format!("{text} (its members are not addresses, or it is not in the evidence)")
                }),
            }
            if set.is_empty() {
                return empty();
            }
        }
        match undecided {
            None => (set, AddrSet::empty(family), None, Undecided::Unknown),
            Some((kind, why)) => (AddrSet::empty(family), set, Some(why), kind),
        }
    }

    /// Whether `m` tests the client's side of the packet: its source inbound, its destination
    /// on a reply.
    pub(super) fn on_client_side(&self, m: &Match) -> bool {
        matches!(
            (m, self.pkt.reply),
            (Match::Src(_) | Match::SetSrc(_) | Match::ReversePath(_), false)
                | (Match::Dst(_) | Match::SetDst(_), true)
        )
    }

    /// The one address an address match on `m`'s side reads: the local one, or the client's
    /// where NAT replaced it (`client_as`: every client reads the same); `None` for the clients
    /// themselves, who are split instead.
    pub(super) fn side_addr(&self, m: &Match) -> Option<IpAddr> {
        match (self.on_client_side(m), self.client_as) {
            (false, _) => Some(self.local),
            (true, Some(a)) => a,
            (true, None) => None,
        }
    }

    /// Whether a match on a field every client's packet has alike matches (`Maybe` where it
    /// cannot be told).
    pub(super) fn fixed_field(&self, m: &Match, clients: &AddrSet) -> Tri {
        let pkt = self.pkt;
        match m {
            Match::Proto(n) => neg(tri(n.value == pkt.proto), n.negated),
            Match::ProtoIn(n) => neg(tri(n.value.contains(&pkt.proto)), n.negated),
            // A reply's reverse path is its own question; not modelled.
            Match::ReversePath(_) => Tri::Maybe,
            // The local side of the address matches (or the client's, where NAT fixed it).
            Match::Dst(n) | Match::Src(n) => match self.side_addr(m) {
                Some(a) => neg(tri(n.value.iter().any(|c| c.contains(&a))), n.negated),
                None => Tri::Maybe,
            },
            Match::SetDst(n) | Match::SetSrc(n) => match (self.side_addr(m), self.set_members(&n.value)) {
                (Some(a), Some(s)) => neg(tri(s.contains(&a)), n.negated),
                _ => Tri::Maybe,
            },
            Match::DstPort(n) | Match::SrcPort(n) => {
                // Inbound the destination port is the listener's; on a reply the source port.
                let local_side = matches!(m, Match::DstPort(_)) != pkt.reply;
                let (lo, hi) = if local_side { (self.local_port, self.local_port) } else { pkt.client_ports };
                neg(ports_tri(&n.value, lo, hi), n.negated)
            }
            Match::InIface(n) => self.in_dev.matches(&n.value, n.negated),
            Match::OutIface(n) => self.out_dev.matches(&n.value, n.negated),
            Match::InIfaceIn(n) => self.in_dev.matches_any(&n.value, n.negated),
            Match::OutIfaceIn(n) => self.out_dev.matches_any(&n.value, n.negated),
            Match::EtherType(n) => neg(tri(ethertype_is(pkt.family, n.value)), n.negated),
            // No extension header on a connection's first packet: never a match.
            Match::ExtHeader(_) => tri(false),
            // Every packet of a flow to or from one address is unicast (PACKET_HOST).
            Match::PktType(n) => neg(tri(matches!(n.value.as_str(), "unicast" | "host")), n.negated),
            Match::Mark(n) => {
                let (value, mask) = n.value;
                neg(tri(self.mark & mask == value), n.negated)
            }
            Match::CtOrigDst(n) => {
                let (orig, _) = pkt.original_destination();
                neg(tri(n.value.iter().any(|c| c.contains(&orig))), n.negated)
            }
            Match::CtOrigDstPort(n) => {
                let (_, port) = pkt.original_destination();
                neg(ports_tri(&n.value, port, port), n.negated)
            }
            Match::CtDirOriginal(n) => neg(tri(n.value != pkt.reply), n.negated),
            // The match implies its protocol: a packet of another protocol never matches.
            Match::IcmpType(n) => match pkt.icmp_type {
                Some(t) => neg(tri(n.value.contains(&t)), n.negated),
                None => Tri::No,
            },
            Match::IcmpTypeCode(n) => match (pkt.icmp_type, pkt.icmp_code) {
                (None, _) => Tri::No,
                (Some(t), Some(c)) => neg(tri(n.value.contains(&(t, c))), n.negated),
                (Some(t), None) if n.value.iter().any(|(vt, _)| *vt == t) => Tri::Maybe,
                (Some(_), None) => neg(Tri::No, n.negated),
            },
            Match::CtState(n) => neg(tri(n.value & self.ct != 0), n.negated),
            Match::TcpFlags(_) if pkt.proto != 6 => Tri::No,
            Match::TcpFlags(n) => neg(tri(pkt.tcp_flags & n.value.0 == n.value.1), n.negated),
            Match::DstAddrType(n) | Match::SrcAddrType(n) => {
                let local_side = matches!(m, Match::DstAddrType(_)) != pkt.reply;
                neg(self.addr_type(&n.value, local_side, clients), n.negated)
            }
            Match::IsIpv6(n) => neg(tri((pkt.family == Family::V6) == n.value), n.negated),
            Match::Statistic(_) | Match::Traffic { .. } | Match::Unknown(_) => Tri::Maybe,
        }
    }

    /// Whether the address on one side is of type `t`: the local side is this host's own
    /// address, unicast; a client is local only if it is one of the host's addresses.
    pub(super) fn addr_type(&self, t: &AddrType, local_side: bool, clients: &AddrSet) -> Tri {
        match (t, local_side) {
            (AddrType::Local, true) | (AddrType::Unicast, _) => Tri::Yes,
            (AddrType::Local, false) => {
                if self.pkt.local_addrs.iter().any(|a| clients.contains(a)) {
                    Tri::Maybe
                } else {
                    Tri::No
                }
            }
            (AddrType::Broadcast | AddrType::Multicast | AddrType::Anycast, _) => Tri::No,
            (AddrType::Unknown(_), _) => Tri::Maybe,
        }
    }

    /// An address match on the clients' side as the addresses it admits: (negated, the
    /// addresses, or `None` where they are not known, the match in words); `None` for any
    /// other match.
    pub(super) fn client_side_members(&self, m: &Match, clients: &AddrSet) -> Option<(bool, Option<AddrSet>, String)> {
        Some(match m {
            Match::Src(n) | Match::Dst(n) => {
                (n.negated, Some(cidr_set(self.pkt.family, &n.value)), "address".to_string())
            }
            Match::ReversePath(n) => {
                // `exists == false` (oif missing) matches the clients with no route back
                // by the input interface.
                let routed = self.routed_back(clients);
                (n.negated == n.value, routed, "reverse path (fib saddr . iif)".to_string())
            }
            Match::SetSrc(n) | Match::SetDst(n) => (n.negated, self.set_members(&n.value), format!("set {}", n.value)),
            _ => return None,
        })
    }

    /// The clients whose route back (the kernel's lookup from this host's address, policy
    /// rules included) leaves by the input interface; `None` when that interface is not known.
    /// Policy routing by mark is not followed (the kernel-path layer judges it for the arrival
    /// address).
    pub(super) fn routed_back(&self, clients: &AddrSet) -> Option<AddrSet> {
        let Dev::Name(iif) = self.in_dev else { return None };
        Some(crate::routing::routed_by(&self.pkt.routes, &self.pkt.rules, clients, self.pkt.local, iif))
    }
}
