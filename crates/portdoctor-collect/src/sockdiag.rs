//! Dumps sockets over NETLINK_SOCK_DIAG (sock_diag(7)). Bytes in and out only; decoding lives in
//! portdoctor_parse::sockdiag.

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};
use portdoctor_parse::sockdiag::{self, DiagError, DiagRecord};
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("netlink: {0}")]
    Io(#[from] io::Error),
    #[error("sock_diag: {0}")]
    Decode(#[from] DiagError),
}

/// One netlink dump on a fresh socket of `protocol`: sends `request`, then decodes each datagram
/// of the answer with `decode` (the records in it, and whether the dump is done).
fn netlink_dump<T, E: From<io::Error>>(
    protocol: isize,
    request: &[u8],
    decode: impl Fn(&[u8]) -> Result<(Vec<T>, bool), E>,
) -> Result<Vec<T>, E> {
    let mut sock = Socket::new(protocol)?;
    sock.bind_auto()?;
    sock.connect(&SocketAddr::new(0, 0))?;
    sock.send(request, 0)?;
    let mut records = Vec::new();
    loop {
        let mut buf = Vec::with_capacity(64 * 1024);
        let n = sock.recv(&mut buf, 0)?;
        if n == 0 {
            break;
        }
        let (mut recs, done) = decode(&buf[..n.min(buf.len())])?;
        records.append(&mut recs);
        if done {
            break;
        }
    }
    Ok(records)
}

/// One dump: every socket of `family`/`protocol` in `states`.
pub fn dump(family: u8, protocol: u8, states: u32) -> Result<Vec<DiagRecord>, DumpError> {
    netlink_dump(NETLINK_SOCK_DIAG, &sockdiag::request(family, protocol, states, 1), |b| {
        sockdiag::parse_datagram(b).map_err(DumpError::from)
    })
}

/// TCP listeners (`IPPROTO_TCP`) or every UDP socket, IPv4 and IPv6.
pub fn dump_protocol(protocol: u8) -> Result<Vec<DiagRecord>, DumpError> {
    let states = if protocol == sockdiag::IPPROTO_TCP { sockdiag::STATES_LISTEN } else { sockdiag::STATES_ALL };
    let mut out = dump(sockdiag::AF_INET, protocol, states)?;
    match dump(sockdiag::AF_INET6, protocol, states) {
        Ok(mut recs) => out.append(&mut recs),
        // A kernel without IPv6 answers ENOENT/EAFNOSUPPORT for AF_INET6: no such sockets.
        Err(DumpError::Decode(DiagError::Kernel(2 | 97))) => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// The id this namespace gives the namespace of process `pid` (RTM_GETNSID); `None` when it has
/// none — nothing here is paired with it by a veth.
pub fn nsid_of_pid(pid: u32) -> io::Result<Option<i32>> {
    let mut sock = Socket::new(netlink_sys::protocols::NETLINK_ROUTE)?;
    sock.bind_auto()?;
    sock.connect(&SocketAddr::new(0, 0))?;
    sock.send(&portdoctor_parse::rtnl::nsid_request(pid, 1), 0)?;
    let mut buf = Vec::with_capacity(4096);
    let n = sock.recv(&mut buf, 0)?;
    portdoctor_parse::rtnl::parse_nsid_reply(&buf[..n.min(buf.len())]).map_err(io::Error::from_raw_os_error)
}

/// Every nf_tables table as (nft family word, name), from one NFT_MSG_GETTABLE dump: the kernel
/// names them without reading a chain or a rule. A kernel without nfnetlink has no tables.
pub fn nft_tables() -> io::Result<Vec<(String, String)>> {
    use portdoctor_parse::nfnl;
    let tables = match netlink_dump(netlink_sys::protocols::NETLINK_NETFILTER, &nfnl::gettable_request(1), |b| {
        nfnl::parse_tables(b).map_err(io::Error::from_raw_os_error)
    }) {
        Err(e) if e.raw_os_error() == Some(libc::EPROTONOSUPPORT) => return Ok(vec![]),
        other => other?,
    };
    // A family nft has no word for cannot be listed with nft either.
    Ok(tables.into_iter().filter_map(|(family, name)| Some((nfnl::family_name(family)?.to_string(), name))).collect())
}
