//! Addresses, prefixes, protocols and the client a question is about.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// nft's word for an `NFPROTO_*` family (linux/netfilter.h); `None` for one nft has no name for.
pub fn nft_family_name(nfproto: u8) -> Option<&'static str> {
    Some(match nfproto {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    /// The IP protocol number filters match on (IANA: tcp 6, udp 17).
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Proto {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Ok(Proto::Tcp),
            "udp" | "17" => Ok(Proto::Udp),
            other => Err(format!("unknown protocol '{other}' (expected tcp or udp)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// The report's word for the family (`"family": "ipv6"`).
    pub fn word(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    pub fn unspecified(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    fn max_prefix(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// An address prefix. The address is kept as given (host bits are not cleared) so evidence can
/// quote the input faithfully; `contains` ignores host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `None` when the prefix is longer than the family allows.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        (prefix <= Family::of(&addr).max_prefix()).then_some(Cidr { addr, prefix })
    }

    pub fn host(addr: IpAddr) -> Cidr {
        Cidr { addr, prefix: Family::of(&addr).max_prefix() }
    }

    pub fn default_route(family: Family) -> Cidr {
        Cidr { addr: family.unspecified(), prefix: 0 }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    pub fn is_host(&self) -> bool {
        self.prefix == self.family().max_prefix()
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(*ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(*ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("'{s}' is not an IP address or CIDR"))?;
        match prefix {
            None => Ok(Cidr::host(addr)),
            Some(p) => {
                let p: u8 = p.parse().map_err(|_| format!("'{s}' has a bad prefix length"))?;
                Cidr::new(addr, p).ok_or_else(|| format!("'{s}' has a prefix too long for its family"))
            }
        }
    }
}

/// The client a question is about (`--from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// Every public internet address (the default).
    Internet,
    Prefix(Cidr),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Internet => f.write_str("internet"),
            Source::Prefix(c) if c.is_host() => write!(f, "{}", c.addr()),
            Source::Prefix(c) => write!(f, "{c}"),
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("internet") {
            Ok(Source::Internet)
        } else {
            s.parse::<Cidr>()
                .map(Source::Prefix)
                .map_err(|e| format!("{e} (expected 'internet', an address or a CIDR)"))
        }
    }
}

/// Loopback, in either family (127.0.0.0/8, ::1), including the IPv4-mapped form.
pub fn is_loopback(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains_by_prefix() {
        let c: Cidr = "10.0.1.0/24".parse().unwrap();
        assert!(c.contains(&"10.0.1.200".parse().unwrap()));
        assert!(!c.contains(&"10.0.2.1".parse().unwrap()));
        assert!(!c.contains(&"::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(&"203.0.113.9".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(&"2001:db8:2::10".parse().unwrap()));
        assert!(Cidr::default_route(Family::V6).contains(&"2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn cidr_rejects_bad_input() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("10.0.0/8".parse::<Cidr>().is_err());
        assert!("10.0.0.0/x".parse::<Cidr>().is_err());
        assert!("::/129".parse::<Cidr>().is_err());
    }

    #[test]
    fn source_parses_internet_and_prefixes() {
        assert_eq!("internet".parse::<Source>().unwrap(), Source::Internet);
        assert_eq!("198.51.100.7".parse::<Source>().unwrap().to_string(), "198.51.100.7");
        assert_eq!("198.51.100.0/24".parse::<Source>().unwrap().to_string(), "198.51.100.0/24");
        assert!("nowhere".parse::<Source>().is_err());
    }

    #[test]
    fn loopback_includes_mapped() {
        assert!(is_loopback(&"127.0.0.53".parse().unwrap()));
        assert!(is_loopback(&"::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback(&"::".parse().unwrap()));
    }
}
