//! The one nf_tables netlink exchange the collector makes itself (`linux/netfilter/nf_tables.h`,
//! `linux/netfilter/nfnetlink.h`): NFT_MSG_GETTABLE as a dump, which names every nf_tables table
//! without reading a chain or a rule. `nft list tables` fills libnftables' whole cache first
//! (every rule of a 100k-rule kube-proxy table, ~10 s), so the collector asks the kernel directly
//! and then lists only the tables it needs. Pure, like sockdiag: the collector moves the bytes.

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
/// `struct nfgenmsg`: family, version, resource id.
const NFGENMSG_LEN: usize = 4;
const NFTA_TABLE_NAME: u16 = 1;
/// The attribute type without the nested / byte-order flags.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// A dump request for the tables of every family (`NFPROTO_UNSPEC`).
pub fn gettable_request(seq: u32) -> Vec<u8> {
    let total = NLMSG_HDRLEN + NFGENMSG_LEN;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&(total as u32).to_ne_bytes());
    b.extend_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE).to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it in
    b.extend_from_slice(&[0, 0, 0, 0]); // NFPROTO_UNSPEC, NFNETLINK_V0, res_id 0
    b
}

/// nft's word for an `NFPROTO_*` family (in the model: the kernel witness's nftrace names it too).
pub use portdoctor_model::net::nft_family_name as family_name;

/// One datagram of the answer: the (family, name) of each table in it, and whether the dump is
/// done. `Err(errno)` when the kernel refused (EPERM without CAP_NET_ADMIN) or the bytes do not
/// hold together (EPROTO).
pub fn parse_tables(buf: &[u8]) -> Result<(Vec<(u8, String)>, bool), i32> {
    const EPROTO: i32 = 71;
    let u16_at = |o: usize| buf.get(o..o + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let u32_at = |o: usize| buf.get(o..o + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let mut tables = Vec::new();
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(at).and_then(|l| usize::try_from(l).ok()).ok_or(EPROTO)?;
        let end = at.checked_add(len).filter(|e| len >= NLMSG_HDRLEN && *e <= buf.len()).ok_or(EPROTO)?;
        match u16_at(at + 4).ok_or(EPROTO)? {
            NLMSG_DONE => return Ok((tables, true)),
            NLMSG_ERROR => {
                let errno = u32_at(at + NLMSG_HDRLEN).map(|e| e as i32).ok_or(EPROTO)?;
                return if errno == 0 { Ok((tables, true)) } else { Err(-errno) };
            }
            t if t == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE => {
                let family = *buf.get(at + NLMSG_HDRLEN).ok_or(EPROTO)?;
                let mut a = at + NLMSG_HDRLEN + NFGENMSG_LEN;
                while a + 4 <= end {
                    let alen = usize::from(u16_at(a).ok_or(EPROTO)?);
                    if alen < 4 || a + alen > end {
                        return Err(EPROTO);
                    }
                    if u16_at(a + 2).ok_or(EPROTO)? & NLA_TYPE_MASK == NFTA_TABLE_NAME {
                        let raw = &buf[a + 4..a + alen];
                        let name = raw.split(|b| *b == 0).next().unwrap_or_default();
                        tables.push((family, String::from_utf8_lossy(name).into_owned()));
                    }
                    a += alen.div_ceil(4) * 4;
                }
            }
            _ => {} // nothing else is asked for: skipped, not misread
        }
        at += len.div_ceil(4) * 4;
    }
    Ok((tables, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut a = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(payload);
        a.resize(a.len().div_ceil(4) * 4, 0);
        a
    }

    fn msg(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = ((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0]); // flags (multi), seq, pid
        m.extend_from_slice(body);
        m
    }

    fn table(family: u8, name: &str) -> Vec<u8> {
        let mut body = vec![family, 0, 0, 0];
        body.extend(attr(NFTA_TABLE_NAME, format!("{name}\0").as_bytes()));
        body.extend(attr(2, &0u32.to_be_bytes())); // NFTA_TABLE_FLAGS
        msg(0xa00, &body)
    }

    #[test]
    fn request_is_a_table_dump_of_every_family() {
        let r = gettable_request(7);
        assert_eq!(r.len(), 20);
        assert_eq!(u32::from_ne_bytes([r[0], r[1], r[2], r[3]]), 20);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), 0xa01);
        assert_eq!(u16::from_ne_bytes([r[6], r[7]]), 0x301);
        assert_eq!(&r[16..], [0, 0, 0, 0]);
    }

    #[test]
    fn tables_are_read_until_done() {
        let mut buf = table(2, "nat");
        buf.extend(table(1, "firewalld"));
        let (t, done) = parse_tables(&buf).unwrap();
        assert_eq!(t, [(2, "nat".to_string()), (1, "firewalld".to_string())]);
        assert!(!done);
        buf.extend(msg(NLMSG_DONE, &0u32.to_ne_bytes()));
        assert!(parse_tables(&buf).unwrap().1);
        assert_eq!(family_name(10), Some("ip6"));
        assert_eq!(family_name(4), None);
    }

    #[test]
    fn refusals_and_broken_bytes_are_errors_not_tables() {
        let eperm = msg(NLMSG_ERROR, &(-1i32).to_ne_bytes());
        assert_eq!(parse_tables(&eperm), Err(1));
        let whole = table(2, "filter");
        for cut in 1..whole.len() {
            // A cut datagram is either whole messages (nothing more) or an error, never garbage.
            if let Ok((t, _)) = parse_tables(&whole[..cut]) {
                assert!(t.is_empty(), "{cut}: {t:?}");
            }
        }
        let mut lying = whole.clone();
        lying[0..4].copy_from_slice(&9999u32.to_ne_bytes());
        assert_eq!(parse_tables(&lying), Err(71));
        let mut short = whole;
        short[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 6].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(parse_tables(&short), Err(71));
    }
}
