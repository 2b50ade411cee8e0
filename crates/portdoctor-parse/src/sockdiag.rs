//! The netlink sock_diag wire format (`linux/inet_diag.h`, `linux/netlink.h`): building a dump
//! request and decoding the kernel's answer. Pure, so it is unit-tested and fuzzed on bytes; the
//! collector only moves the bytes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
/// `SOCK_DIAG_BY_FAMILY`.
const MSG_SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_HDRLEN: usize = 16;
/// `struct inet_diag_msg`: family, state, timer, retrans, sockid (48), expires, rqueue, wqueue,
/// uid, inode.
const INET_DIAG_MSG_LEN: usize = 72;
/// `INET_DIAG_SKV6ONLY`: sent for AF_INET6 sockets in LISTEN or CLOSE state
/// (net/ipv4/inet_diag.c, inet_diag_msg_attrs_fill).
const INET_DIAG_SKV6ONLY: u16 = 11;

/// Every TCP state bit; `1 << 10` is TCP_LISTEN alone.
pub const STATES_ALL: u32 = 0xffff_ffff;
pub const STATES_LISTEN: u32 = 1 << 10;

/// A dump request for one family and protocol (`struct inet_diag_req_v2`).
pub fn request(family: u8, protocol: u8, states: u32, seq: u32) -> Vec<u8> {
    let total = NLMSG_HDRLEN + 56;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&(total as u32).to_ne_bytes());
    b.extend_from_slice(&MSG_SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it in
    b.extend_from_slice(&[family, protocol, 0, 0]); // no extensions wanted
    b.extend_from_slice(&states.to_ne_bytes());
    b.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: match everything
    b
}

/// One socket as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagRecord {
    pub family: u8,
    pub state: u8,
    pub local: IpAddr,
    pub local_port: u16,
    pub peer: IpAddr,
    pub peer_port: u16,
    /// `idiag_if`: the SO_BINDTODEVICE index for listening/bound sockets, 0 when unbound.
    pub ifindex: u32,
    pub recv_q: u32,
    pub send_q: u32,
    pub uid: u32,
    pub inode: u64,
    pub v6only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagError {
    Truncated {
        offset: usize,
        need: usize,
    },
    /// NLMSG_ERROR from the kernel, as a positive errno.
    Kernel(i32),
    BadFamily(u8),
}

impl fmt::Display for DiagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiagError::Truncated { offset, need } => {
                write!(f, "netlink message truncated at byte {offset} (needs {need})")
            }
            DiagError::Kernel(errno) => {
                write!(f, "kernel answered error {errno} ({})", std::io::Error::from_raw_os_error(*errno))
            }
            DiagError::BadFamily(fam) => write!(f, "unexpected address family {fam}"),
        }
    }
}

impl std::error::Error for DiagError {}

fn slice(b: &[u8], at: usize, len: usize) -> Result<&[u8], DiagError> {
    b.get(at..at.saturating_add(len)).ok_or(DiagError::Truncated { offset: at, need: len })
}

fn u16_ne(b: &[u8], at: usize) -> Result<u16, DiagError> {
    let s = slice(b, at, 2)?;
    Ok(u16::from_ne_bytes([s[0], s[1]]))
}

fn u32_ne(b: &[u8], at: usize) -> Result<u32, DiagError> {
    let s = slice(b, at, 4)?;
    Ok(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn addr(family: u8, raw: &[u8]) -> Result<IpAddr, DiagError> {
    match family {
        AF_INET => Ok(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AF_INET6 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&raw[..16]);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        other => Err(DiagError::BadFamily(other)),
    }
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn parse_record(msg: &[u8]) -> Result<DiagRecord, DiagError> {
    let m = slice(msg, 0, INET_DIAG_MSG_LEN)?;
    let family = m[0];
    let id = &m[4..52];
    let local_port = u16::from_be_bytes([id[0], id[1]]);
    let peer_port = u16::from_be_bytes([id[2], id[3]]);
    let local = addr(family, &id[4..20])?;
    let peer = addr(family, &id[20..36])?;
    let ifindex = u32_ne(id, 36)?;
    let mut rec = DiagRecord {
        family,
        state: m[1],
        local,
        local_port,
        peer,
        peer_port,
        ifindex,
        recv_q: u32_ne(m, 56)?,
        send_q: u32_ne(m, 60)?,
        uid: u32_ne(m, 64)?,
        inode: u64::from(u32_ne(m, 68)?),
        v6only: None,
    };
    // Attributes: struct rtattr { u16 len; u16 type; payload }, each 4-aligned.
    let mut at = INET_DIAG_MSG_LEN;
    while at + 4 <= msg.len() {
        let len = usize::from(u16_ne(msg, at)?);
        let kind = u16_ne(msg, at + 2)?;
        if len < 4 {
            break;
        }
        let payload = slice(msg, at + 4, len - 4)?;
        if kind == INET_DIAG_SKV6ONLY {
            rec.v6only = payload.first().map(|b| *b != 0);
        }
        at += align4(len);
    }
    Ok(rec)
}

/// Decodes one datagram of a dump. Returns the records and whether NLMSG_DONE was seen.
pub fn parse_datagram(buf: &[u8]) -> Result<(Vec<DiagRecord>, bool), DiagError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let len = u32_ne(buf, at)? as usize;
        let kind = u16_ne(buf, at + 4)?;
        if len < NLMSG_HDRLEN {
            return Err(DiagError::Truncated { offset: at, need: NLMSG_HDRLEN });
        }
        let body = slice(buf, at + NLMSG_HDRLEN, len - NLMSG_HDRLEN)?;
        match kind {
            NLMSG_DONE => return Ok((out, true)),
            NLMSG_ERROR => {
                let errno = u32_ne(body, 0)? as i32;
                if errno != 0 {
                    return Err(DiagError::Kernel(errno.saturating_neg()));
                }
            }
            MSG_SOCK_DIAG_BY_FAMILY => out.push(parse_record(body)?),
            _ => {} // NLMSG_NOOP and anything newer: not ours
        }
        at += align4(len);
    }
    Ok((out, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of an `inet_diag_msg` the tests vary (linux/inet_diag.h), named so a test
    /// reads as the kernel struct does.
    struct Reply<'a> {
        family: u8,
        state: u8,
        local: &'a [u8],
        port: u16,
        ifindex: u32,
        rq: u32,
        wq: u32,
        inode: u32,
        v6only: Option<u8>,
    }

    /// A reply message as the kernel builds it, for the tests.
    fn reply(r: Reply<'_>) -> Vec<u8> {
        let Reply { family, state, local, port, ifindex, rq, wq, inode, v6only } = r;
        let mut body = vec![family, state, 0, 0];
        body.extend_from_slice(&port.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        let mut src = [0u8; 16];
        src[..local.len()].copy_from_slice(local);
        body.extend_from_slice(&src);
        body.extend_from_slice(&[0u8; 16]);
        body.extend_from_slice(&ifindex.to_ne_bytes());
        body.extend_from_slice(&[0u8; 8]);
        for v in [0u32, rq, wq, 1000, inode] {
            body.extend_from_slice(&v.to_ne_bytes());
        }
        if let Some(flag) = v6only {
            body.extend_from_slice(&5u16.to_ne_bytes());
            body.extend_from_slice(&INET_DIAG_SKV6ONLY.to_ne_bytes());
            body.extend_from_slice(&[flag, 0, 0, 0]);
        }
        let mut msg = Vec::new();
        msg.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&MSG_SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        msg.extend_from_slice(&2u16.to_ne_bytes());
        msg.extend_from_slice(&[0u8; 8]);
        msg.extend_from_slice(&body);
        msg
    }

    fn done() -> Vec<u8> {
        let mut m = (20u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&[0u8; 14]);
        m
    }

    #[test]
    fn request_is_72_bytes() {
        let r = request(AF_INET6, IPPROTO_TCP, STATES_LISTEN, 7);
        assert_eq!(r.len(), 72);
        assert_eq!(u32_ne(&r, 0).unwrap(), 72);
        assert_eq!(r[16], AF_INET6);
        assert_eq!(u32_ne(&r, 20).unwrap(), 1 << 10);
    }

    #[test]
    fn decodes_v4_and_v6_listeners() {
        let mut buf = reply(Reply {
            family: AF_INET,
            state: 10,
            local: &[127, 0, 0, 1],
            port: 8080,
            ifindex: 0,
            rq: 0,
            wq: 511,
            inode: 42,
            v6only: None,
        });
        let v6 = [0u8; 16];
        buf.extend(reply(Reply {
            family: AF_INET6,
            state: 10,
            local: &v6,
            port: 8080,
            ifindex: 3,
            rq: 2,
            wq: 1,
            inode: 43,
            v6only: Some(1),
        }));
        buf.extend(done());
        let (recs, finished) = parse_datagram(&buf).unwrap();
        assert!(finished);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].local.to_string(), "127.0.0.1");
        assert_eq!(recs[0].local_port, 8080);
        assert_eq!(recs[0].send_q, 511);
        assert_eq!(recs[0].v6only, None);
        assert_eq!(recs[1].local.to_string(), "::");
        assert_eq!(recs[1].ifindex, 3);
        assert_eq!(recs[1].v6only, Some(true));
        assert_eq!(recs[1].inode, 43);
    }

    #[test]
    fn truncated_and_hostile_bytes_are_errors_not_panics() {
        let buf = reply(Reply {
            family: AF_INET,
            state: 10,
            local: &[10, 0, 1, 10],
            port: 22,
            ifindex: 0,
            rq: 0,
            wq: 128,
            inode: 1,
            v6only: None,
        });
        for cut in 0..buf.len() {
            let _ = parse_datagram(&buf[..cut]);
        }
        assert!(matches!(parse_datagram(&buf[..40]), Err(DiagError::Truncated { .. })));
        let mut bad = buf.clone();
        bad[16] = 99; // family
        assert_eq!(parse_datagram(&bad), Err(DiagError::BadFamily(99)));
        let mut zero_len = buf;
        zero_len[0..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(parse_datagram(&zero_len).is_err());
    }

    #[test]
    fn kernel_error_is_reported() {
        let mut m = (20u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend_from_slice(&(-13i32).to_ne_bytes());
        assert_eq!(parse_datagram(&m), Err(DiagError::Kernel(13)));
    }
}
