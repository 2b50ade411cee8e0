//! One drop event as the BPF program writes it (`struct event` in bpf/witness.c), read field by
//! field from its bytes (host byte order: the program ran on this machine).

use portdoctor_model::Proto;
use portdoctor_model::trace::DropPacket;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `sizeof(struct event)`.
pub const EVENT_LEN: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDrop {
    /// CLOCK_BOOTTIME, nanoseconds.
    pub boot_ns: u64,
    pub location: u64,
    /// `enum skb_drop_reason`; `None` from the location-only program (kernels before 5.17).
    pub reason: Option<u32>,
    pub interface: Option<String>,
    pub packet: DropPacket,
}

fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

fn addr(family: u8, bytes: [u8; 16]) -> Option<IpAddr> {
    match family {
        4 => Some(IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(bytes))),
        _ => None,
    }
}

/// TCP flags as tcpdump prints them: F S R P, `.` for ACK, then U E W.
pub fn tcp_flags(bits: u8) -> String {
    [(0x01, 'F'), (0x02, 'S'), (0x04, 'R'), (0x08, 'P'), (0x10, '.'), (0x20, 'U'), (0x40, 'E'), (0x80, 'W')]
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

impl RawDrop {
    /// `None` when the bytes are not an event of this program's layout.
    pub fn parse(b: &[u8]) -> Option<RawDrop> {
        if b.len() < EVENT_LEN {
            return None;
        }
        let family = *b.get(24)?;
        let proto = match b.get(25)? {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            _ => return None,
        };
        let ifname = array::<16>(b, 64)?;
        let ifname = String::from_utf8_lossy(&ifname[..ifname.iter().position(|&c| c == 0).unwrap_or(16)]).into_owned();
        Some(RawDrop {
            boot_ns: u64::from_ne_bytes(array(b, 0)?),
            location: u64::from_ne_bytes(array(b, 8)?),
            reason: (*b.get(27)? != 0).then_some(u32::from_ne_bytes(array(b, 16)?)),
            interface: (!ifname.is_empty()).then_some(ifname),
            packet: DropPacket {
                src: addr(family, array(b, 32)?)?.to_string(),
                sport: u16::from_ne_bytes(array(b, 28)?),
                dst: addr(family, array(b, 48)?)?.to_string(),
                dport: u16::from_ne_bytes(array(b, 30)?),
                proto,
                flags: if proto == Proto::Tcp { tcp_flags(*b.get(26)?) } else { String::new() },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{EVENT_LEN, RawDrop, tcp_flags};

    #[test]
    fn reads_an_event_laid_out_as_the_program_writes_it() {
        let mut b = vec![0u8; EVENT_LEN];
        b[0..8].copy_from_slice(&5_000_000_000u64.to_ne_bytes());
        b[8..16].copy_from_slice(&0xffff_ffff_81a0_01f3u64.to_ne_bytes());
        b[16..20].copy_from_slice(&3u32.to_ne_bytes());
        b[24] = 4;
        b[25] = 6;
        b[26] = 0x02;
        b[27] = 1;
        b[28..30].copy_from_slice(&40000u16.to_ne_bytes());
        b[30..32].copy_from_slice(&8080u16.to_ne_bytes());
        b[32..36].copy_from_slice(&[198, 51, 100, 2]);
        b[48..52].copy_from_slice(&[198, 51, 100, 1]);
        b[64..68].copy_from_slice(b"eth0");
        let d = RawDrop::parse(&b).expect("an event");
        assert_eq!((d.boot_ns, d.reason, d.interface.as_deref()), (5_000_000_000, Some(3), Some("eth0")));
        assert_eq!((d.packet.src.as_str(), d.packet.sport), ("198.51.100.2", 40000));
        assert_eq!((d.packet.dst.as_str(), d.packet.dport, d.packet.flags.as_str()), ("198.51.100.1", 8080, "S"));
        assert_eq!(RawDrop::parse(&b[..EVENT_LEN - 1]), None);
        b[27] = 0;
        assert_eq!(RawDrop::parse(&b).map(|d| d.reason), Some(None), "the location-only program's event");
        b[24] = 5;
        assert_eq!(RawDrop::parse(&b), None);
    }

    #[test]
    fn flags_read_as_tcpdump_writes_them() {
        assert_eq!(tcp_flags(0x12), "S.");
        assert_eq!(tcp_flags(0x14), "R.");
        assert_eq!(tcp_flags(0x18), "P.");
        assert_eq!(tcp_flags(0x11), "F.");
        assert_eq!(tcp_flags(0), "");
    }
}
