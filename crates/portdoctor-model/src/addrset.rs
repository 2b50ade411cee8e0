//! Sets of addresses as sorted, disjoint ranges: what "every public internet address", "the
//! sources this rule admits" and "the sources still undecided" are, exactly, so that a verdict
//! about *every* source is a set computation, not a guess from one sample address.

use crate::net::{Cidr, Family};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Addresses of one family, as inclusive `u128` ranges (IPv4 in the low 32 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSet {
    family: Family,
    ranges: Vec<(u128, u128)>,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(family: Family, n: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

fn bits(family: Family) -> u32 {
    match family {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn cidr_range(c: &Cidr) -> (u128, u128) {
    let width = bits(c.family());
    let host_bits = width - u32::from(c.prefix());
    let span: u128 = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    let start = to_u128(c.addr()) & !span;
    let start = if c.family() == Family::V4 { start & u128::from(u32::MAX) } else { start };
    (start, start | span)
}

/// Ranges that are never "the internet" (CONTRACT.md §1): RFC 1918, RFC 6598, loopback,
/// link-local, "this network", multicast and reserved; for IPv6 everything outside 2000::/3
/// (global unicast) plus the documentation prefix.
pub const NON_INTERNET_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

impl AddrSet {
    pub fn empty(family: Family) -> AddrSet {
        AddrSet { family, ranges: Vec::new() }
    }

    /// Addresses `lo..=hi` (IPv4 in the low 32 bits).
    pub fn from_range(family: Family, lo: u128, hi: u128) -> AddrSet {
        AddrSet { family, ranges: if lo <= hi { vec![(lo, hi)] } else { vec![] } }
    }

    pub fn from_cidr(c: &Cidr) -> AddrSet {
        AddrSet { family: c.family(), ranges: vec![cidr_range(c)] }
    }

    /// Every public internet address of the family.
    pub fn internet(family: Family) -> AddrSet {
        match family {
            Family::V4 => {
                let all = AddrSet::from_cidr(&Cidr::default_route(Family::V4));
                NON_INTERNET_V4
                    .iter()
                    .filter_map(|c| c.parse::<Cidr>().ok())
                    .fold(all, |s, c| s.minus(&AddrSet::from_cidr(&c)))
            }
            Family::V6 => {
                let global: Cidr = "2000::/3".parse().unwrap_or(Cidr::default_route(Family::V6));
                AddrSet::from_cidr(&global)
            }
        }
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        Family::of(ip) == self.family && {
            let n = to_u128(*ip);
            self.ranges.iter().any(|(a, b)| *a <= n && n <= *b)
        }
    }

    pub fn intersect(&self, other: &AddrSet) -> AddrSet {
        if self.family != other.family {
            return AddrSet::empty(self.family);
        }
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a1, b1) = self.ranges[i];
            let (a2, b2) = other.ranges[j];
            let lo = a1.max(a2);
            let hi = b1.min(b2);
            if lo <= hi {
                out.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        AddrSet { family: self.family, ranges: out }
    }

    pub fn minus(&self, other: &AddrSet) -> AddrSet {
        if self.family != other.family {
            return self.clone();
        }
        let mut out = Vec::new();
        for &(mut a, b) in &self.ranges {
            let mut alive = true;
            for &(c, d) in &other.ranges {
                if d < a || c > b {
                    continue;
                }
                if c > a {
                    out.push((a, c - 1));
                }
                if d >= b {
                    alive = false;
                    break;
                }
                a = d + 1;
            }
            if alive {
                out.push((a, b));
            }
        }
        AddrSet { family: self.family, ranges: out }
    }

    pub fn union(&self, other: &AddrSet) -> AddrSet {
        if self.family != other.family {
            return self.clone();
        }
        let mut all: Vec<(u128, u128)> = self.ranges.iter().chain(&other.ranges).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match out.last_mut() {
                Some((_, hi)) if a <= hi.saturating_add(1) => *hi = (*hi).max(b),
                _ => out.push((a, b)),
            }
        }
        AddrSet { family: self.family, ranges: out }
    }

    /// The smallest CIDRs that exactly cover the set (for evidence and fixes), at most `limit`.
    pub fn to_cidrs(&self, limit: usize) -> (Vec<Cidr>, bool) {
        let width = bits(self.family);
        let mut out = Vec::new();
        for &(mut a, b) in &self.ranges {
            loop {
                if out.len() == limit {
                    return (out, true);
                }
                // Largest aligned block starting at a that fits in [a, b].
                let align = if a == 0 { width } else { a.trailing_zeros().min(width) };
                let fits = |size: u32| {
                    let end = if size >= 128 { Some(u128::MAX) } else { a.checked_add((1u128 << size) - 1) };
                    end.is_some_and(|e| e <= b)
                };
                let mut size = align;
                while size > 0 && !fits(size) {
                    size -= 1;
                }
                let prefix = (width - size) as u8;
                if let Some(c) = Cidr::new(from_u128(self.family, a), prefix) {
                    out.push(c);
                }
                let end = if size >= 128 { u128::MAX } else { a + ((1u128 << size) - 1) };
                if end >= b {
                    break;
                }
                a = end + 1;
            }
        }
        (out, false)
    }

    /// Number of addresses, saturating.
    pub fn size(&self) -> u128 {
        self.ranges.iter().fold(0u128, |acc, (a, b)| acc.saturating_add(b - a).saturating_add(1))
    }
}

/// A part of the clients in words, relative to all of them: "the internet", "the internet except
/// 8.8.8.0/24", or the prefixes themselves.
pub fn describe_part(part: &AddrSet, whole: &AddrSet, whole_is_internet: bool) -> String {
    if !whole_is_internet {
        return part.to_string();
    }
    if part == whole {
        return "the internet".into();
    }
    let rest = whole.minus(part);
    match rest.to_cidrs(4) {
        (_, false) => format!("the internet except {rest}"),
        _ => part.to_string(),
    }
}

impl fmt::Display for AddrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (cidrs, more) = self.to_cidrs(6);
        let mut parts: Vec<String> =
            cidrs.iter().map(|c| if c.is_host() { c.addr().to_string() } else { c.to_string() }).collect();
        if more {
            parts.push("…".into());
        }
        if parts.is_empty() {
            return f.write_str("nothing");
        }
        f.write_str(&parts.join(", "))
    }
}

/// The clients a question is about: every public address of the family (`internet`), or the
/// `--from` prefix.
pub fn clients(from: &crate::net::Source, family: Family) -> AddrSet {
    match from {
        crate::net::Source::Internet => AddrSet::internet(family),
        crate::net::Source::Prefix(c) => AddrSet::from_cidr(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(c: &str) -> AddrSet {
        AddrSet::from_cidr(&c.parse().unwrap())
    }

    #[test]
    fn internet_excludes_private_ranges() {
        let net = AddrSet::internet(Family::V4);
        assert!(net.contains(&"8.8.8.8".parse().unwrap()));
        assert!(net.contains(&"203.0.113.7".parse().unwrap()));
        assert!(!net.contains(&"10.1.2.3".parse().unwrap()));
        assert!(!net.contains(&"100.64.0.1".parse().unwrap()));
        assert!(!net.contains(&"172.31.255.255".parse().unwrap()));
        assert!(net.contains(&"172.32.0.0".parse().unwrap()));
        let v6 = AddrSet::internet(Family::V6);
        assert!(v6.contains(&"2600::1".parse().unwrap()));
        assert!(!v6.contains(&"fe80::1".parse().unwrap()));
    }

    #[test]
    fn set_algebra() {
        let all = set("0.0.0.0/0");
        let ten = set("10.0.0.0/8");
        let rest = all.minus(&ten);
        assert!(!rest.contains(&"10.5.5.5".parse().unwrap()));
        assert!(rest.contains(&"11.0.0.0".parse().unwrap()));
        assert_eq!(rest.union(&ten), all);
        assert_eq!(rest.intersect(&ten), AddrSet::empty(Family::V4));
        assert_eq!(set("203.0.113.0/24").intersect(&set("203.0.113.128/25")), set("203.0.113.128/25"));
        assert_eq!(all.size(), 1u128 << 32);
    }

    #[test]
    fn cidr_cover_is_exact() {
        let s = set("0.0.0.0/0").minus(&set("10.0.0.0/8"));
        let (cidrs, more) = s.to_cidrs(100);
        assert!(!more);
        let back = cidrs.iter().fold(AddrSet::empty(Family::V4), |acc, c| acc.union(&AddrSet::from_cidr(c)));
        assert_eq!(back, s);
        assert_eq!(set("198.51.100.7/32").to_string(), "198.51.100.7");
        assert_eq!(set("::/0").to_cidrs(3).0[0].to_string(), "::/0");
    }
}
