//! The one rtnetlink exchange portdoctor needs (`linux/net_namespace.h`): RTM_GETNSID asks which
//! id this namespace gives another one (the `link_netnsid` its veth ends carry). Pure, like
//! sockdiag: the collector only moves the bytes.

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const RTM_NEWNSID: u16 = 88;
const RTM_GETNSID: u16 = 90;
const NETNSA_NSID: u16 = 1;
const NETNSA_PID: u16 = 2;
/// `struct rtgenmsg` padded to 4 bytes.
const RTGENMSG_LEN: usize = 4;

/// Asks for the id of the namespace process `pid` lives in.
pub fn nsid_request(pid: u32, seq: u32) -> Vec<u8> {
    let total = NLMSG_HDRLEN + RTGENMSG_LEN + 8;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&(total as u32).to_ne_bytes());
    b.extend_from_slice(&RTM_GETNSID.to_ne_bytes());
    b.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]); // AF_UNSPEC
    b.extend_from_slice(&8u16.to_ne_bytes());
    b.extend_from_slice(&NETNSA_PID.to_ne_bytes());
    b.extend_from_slice(&pid.to_ne_bytes());
    b
}

/// The answer: `Ok(Some(id))`, `Ok(None)` when this namespace has given it no id (nothing here
/// is paired with it), `Err(errno)` when the kernel refused.
pub fn parse_nsid_reply(buf: &[u8]) -> Result<Option<i32>, i32> {
    let u16_at = |o: usize| buf.get(o..o + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let i32_at = |o: usize| buf.get(o..o + 4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let len = i32_at(0).and_then(|l| usize::try_from(l).ok()).filter(|l| *l <= buf.len()).ok_or(libc_eproto())?;
    match u16_at(4) {
        Some(NLMSG_ERROR) => match i32_at(NLMSG_HDRLEN) {
            Some(0) => Ok(None),
            Some(e) => Err(-e),
            None => Err(libc_eproto()),
        },
        Some(RTM_NEWNSID) => {
            let mut o = NLMSG_HDRLEN + RTGENMSG_LEN;
            while o + 4 <= len {
                let alen = usize::from(u16_at(o).ok_or(libc_eproto())?);
                if alen < 4 {
                    return Err(libc_eproto());
                }
                if u16_at(o + 2) == Some(NETNSA_NSID) {
                    let id = i32_at(o + 4).ok_or(libc_eproto())?;
                    return Ok((id >= 0).then_some(id));
                }
                o += alen.div_ceil(4) * 4;
            }
            Ok(None)
        }
        _ => Err(libc_eproto()),
    }
}

/// EPROTO: an answer that is not what was asked for.
fn libc_eproto() -> i32 {
    71
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(attrs: &[(u16, i32)]) -> Vec<u8> {
        let mut b = vec![0u8; NLMSG_HDRLEN + RTGENMSG_LEN];
        b[4..6].copy_from_slice(&RTM_NEWNSID.to_ne_bytes());
        for (t, v) in attrs {
            b.extend_from_slice(&8u16.to_ne_bytes());
            b.extend_from_slice(&t.to_ne_bytes());
            b.extend_from_slice(&v.to_ne_bytes());
        }
        let len = b.len() as u32;
        b[0..4].copy_from_slice(&len.to_ne_bytes());
        b
    }

    #[test]
    fn reads_the_id_or_its_absence() {
        assert_eq!(parse_nsid_reply(&reply(&[(NETNSA_NSID, 3)])), Ok(Some(3)));
        assert_eq!(parse_nsid_reply(&reply(&[(NETNSA_NSID, -1)])), Ok(None));
        assert_eq!(nsid_request(42, 1).len(), 28);
        let full = reply(&[(NETNSA_NSID, 3)]);
        for n in 0..full.len() {
            assert!(parse_nsid_reply(&full[..n]).is_err(), "a cut answer is an error, not an id");
        }
    }
}
