//! Packets → what a capture reports: inbound SYNs to a port and the answers that leave it
//! (SYN-ACK, RST, ICMP errors quoting the client's packet). Reads IPv4/IPv6 network-layer bytes
//! (an AF_PACKET datagram socket's view) and pcap files (`tcpdump -w -` from a remote host,
//! Ethernet, Linux cooked v1/v2 or raw IP link types). Pure; never panics on input.

use crate::ParseError;
use portdoctor_model::probe::{Answer, SeenPacket};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn u32_at(b: &[u8], i: usize, big: bool) -> Option<u32> {
    let x = [*b.get(i)?, *b.get(i + 1)?, *b.get(i + 2)?, *b.get(i + 3)?];
    Some(if big { u32::from_be_bytes(x) } else { u32::from_le_bytes(x) })
}

/// An IP packet's addresses, protocol and payload.
struct Ip<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    payload: &'a [u8],
}

fn ip(b: &[u8]) -> Option<Ip<'_>> {
    match b.first()? >> 4 {
        4 => {
            let ihl = usize::from(b[0] & 0x0f) * 4;
            let frag = u16_at(b, 6)? & 0x1fff;
            if ihl < 20 || b.len() < ihl || frag != 0 {
                return None;
            }
            let total = usize::from(u16_at(b, 2)?).clamp(ihl, b.len());
            let src = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
            let dst = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
            Some(Ip { src: src.into(), dst: dst.into(), proto: b[9], payload: &b[ihl..total] })
        }
        6 => {
            // Extension headers are not followed: a SYN behind them is not reported.
            let head: [u8; 40] = b.get(..40)?.try_into().ok()?;
            let src: [u8; 16] = head[8..24].try_into().ok()?;
            let dst: [u8; 16] = head[24..40].try_into().ok()?;
            Some(Ip {
                src: Ipv6Addr::from(src).into(),
                dst: Ipv6Addr::from(dst).into(),
                proto: head[6],
                payload: &b[40..],
            })
        }
        _ => None,
    }
}

/// Classifies one network-layer packet against the port the capture watches.
pub fn classify(b: &[u8], port: u16, at: f64) -> Option<SeenPacket> {
    let p = ip(b)?;
    match p.proto {
        6 | 17 => {
            let (sport, dport) = (u16_at(p.payload, 0)?, u16_at(p.payload, 2)?);
            if p.proto == 17 {
                return (dport == port).then_some(SeenPacket {
                    at,
                    remote: p.src,
                    remote_port: sport,
                    local_port: dport,
                    answer: None,
                });
            }
            let flags = *p.payload.get(13)?;
            let (syn, ack, rst) = (flags & 0x02 != 0, flags & 0x10 != 0, flags & 0x04 != 0);
            if dport == port && syn && !ack {
                Some(SeenPacket { at, remote: p.src, remote_port: sport, local_port: dport, answer: None })
            } else if sport == port && (syn && ack || rst) {
                let answer = if rst { Answer::Rst } else { Answer::SynAck };
                Some(SeenPacket { at, remote: p.dst, remote_port: dport, local_port: sport, answer: Some(answer) })
            } else {
                None
            }
        }
        1 | 58 => {
            // Destination unreachable (type 3 / ICMPv6 type 1) quoting the client's packet.
            let unreachable =
                (p.proto == 1 && p.payload.first() == Some(&3)) || (p.proto == 58 && p.payload.first() == Some(&1));
            if !unreachable {
                return None;
            }
            let inner = ip(p.payload.get(8..)?)?;
            let (sport, dport) = (u16_at(inner.payload, 0)?, u16_at(inner.payload, 2)?);
            (dport == port).then_some(SeenPacket {
                at,
                remote: inner.src,
                remote_port: sport,
                local_port: dport,
                answer: Some(Answer::Icmp),
            })
        }
        _ => None,
    }
}

/// Reads a pcap stream (as `tcpdump -w -` writes it) and classifies every packet.
pub fn read_pcap(file: &str, bytes: &[u8], port: u16) -> Result<Vec<SeenPacket>, ParseError> {
    let err = |field: &str, msg: &str| ParseError::new(file, field, msg);
    let magic = u32_at(bytes, 0, true).ok_or_else(|| err("header", "shorter than a pcap header"))?;
    let (big, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xd4c3_b2a1 => (false, false),
        0xa1b2_3c4d => (true, true),
        0x4d3c_b2a1 => (false, true),
        _ => return Err(err("header", "not a pcap stream (bad magic; pcapng is not read)")),
    };
    let link = u32_at(bytes, 20, big).ok_or_else(|| err("header", "truncated pcap header"))?;
    let mut out = Vec::new();
    let mut i = 24;
    let mut first: Option<f64> = None;
    let mut n = 0;
    while i + 16 <= bytes.len() {
        let secs = u32_at(bytes, i, big).unwrap_or(0);
        let frac = u32_at(bytes, i + 4, big).unwrap_or(0);
        let caplen = u32_at(bytes, i + 8, big).unwrap_or(0) as usize;
        let Some(frame) = bytes.get(i + 16..i + 16 + caplen) else {
            // A stream cut off mid-record (the capture was stopped): keep what was whole.
            break;
        };
        i += 16 + caplen;
        n += 1;
        let t = f64::from(secs) + f64::from(frac) / if nanos { 1e9 } else { 1e6 };
        let at = t - *first.get_or_insert(t);
        let network = match link {
            1 => {
                // Ethernet, skipping 802.1Q tags.
                let mut off = 12;
                while matches!(u16_at(frame, off), Some(0x8100 | 0x88a8)) {
                    off += 4;
                }
                frame.get(off + 2..)
            }
            113 => frame.get(16..),
            276 => frame.get(20..),
            101 | 12 | 228 | 229 => Some(frame),
            other => return Err(err(&format!("record {n}"), &format!("link type {other} is not read"))),
        };
        if let Some(p) = network.and_then(|b| classify(b, port, at)) {
            out.push(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 + TCP header with the given flags.
    fn tcp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
        let mut b = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
        b.extend(src);
        b.extend(dst);
        b.extend(sport.to_be_bytes());
        b.extend(dport.to_be_bytes());
        b.extend([0; 8]);
        b.extend([0x50, flags, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn syn_synack_rst_and_icmp() {
        let syn = tcp4([198, 51, 100, 2], [10, 0, 1, 10], 40001, 8080, 0x02);
        let p = classify(&syn, 8080, 0.5).unwrap();
        assert_eq!((p.remote.to_string(), p.remote_port, p.answer), ("198.51.100.2".into(), 40001, None));
        let synack = tcp4([10, 0, 1, 10], [198, 51, 100, 2], 8080, 40001, 0x12);
        assert_eq!(classify(&synack, 8080, 0.5).unwrap().answer, Some(Answer::SynAck));
        let rst = tcp4([10, 0, 1, 10], [198, 51, 100, 2], 8080, 40001, 0x14);
        assert_eq!(classify(&rst, 8080, 0.5).unwrap().answer, Some(Answer::Rst));
        assert!(classify(&tcp4([1, 1, 1, 1], [2, 2, 2, 2], 40001, 8080, 0x10), 8080, 0.0).is_none(), "a bare ACK");
        let mut icmp =
            vec![0x45, 0, 0, 76, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 1, 10, 198, 51, 100, 2, 3, 13, 0, 0, 0, 0, 0, 0];
        icmp.extend(&syn);
        let p = classify(&icmp, 8080, 0.0).unwrap();
        assert_eq!((p.answer, p.remote_port), (Some(Answer::Icmp), 40001));
    }

    #[test]
    fn pcap_with_ethernet_and_garbage() {
        let mut pcap = vec![];
        pcap.extend(0xa1b2c3d4u32.to_le_bytes());
        pcap.extend([2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        let mut frame = vec![0u8; 12];
        frame.extend([0x08, 0x00]);
        frame.extend(tcp4([198, 51, 100, 2], [10, 0, 1, 10], 40001, 8080, 0x02));
        for t in [10u32, 11] {
            pcap.extend(t.to_le_bytes());
            pcap.extend(0u32.to_le_bytes());
            pcap.extend((frame.len() as u32).to_le_bytes());
            pcap.extend((frame.len() as u32).to_le_bytes());
            pcap.extend(&frame);
        }
        pcap.extend([1, 2, 3]);
        let seen = read_pcap("cap", &pcap, 8080).unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].at, 1.0);
        assert!(read_pcap("cap", b"nope", 1).is_err());
        for cut in 0..pcap.len() {
            let _ = read_pcap("cap", &pcap[..cut], 8080);
        }
        for i in 0..pcap.len() {
            let mut m = pcap.clone();
            m[i] ^= 0xff;
            let _ = read_pcap("cap", &m, 8080);
        }
    }
}
