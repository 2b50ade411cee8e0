//! Probes from where portdoctor runs: TCP connects (several in parallel per port) classified as
//! open, refused (RST), filtered (silence), or ICMP unreachable of a named kind, read from the
//! socket's error queue (IP_RECVERR) so "administratively prohibited" is told from "host
//! unreachable"; UDP best effort (an answer, an ICMP error, or silence).
//!
//! Each attempt binds its source port first, so the port is known before the SYN leaves and a
//! capture on the instance can find that very SYN.

use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt};
use portdoctor_model::Proto;
use portdoctor_model::probe::{IcmpKind, ProbeAttempt, ProbeOutcome, ProbeReport};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{ErrorKind, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ProbePlan {
    pub target: IpAddr,
    pub proto: Proto,
    /// The port in question first, then control ports.
    pub ports: Vec<u16>,
    pub attempts: usize,
    pub timeout: Duration,
}

/// ICMP(v6) destination-unreachable type/code → kind (RFC 792, RFC 1812, RFC 4443).
fn icmp_kind(v6: bool, ty: u8, code: u8) -> Option<IcmpKind> {
    match (v6, ty, code) {
        (false, 3, 0 | 6 | 11) => Some(IcmpKind::Net),
        (false, 3, 1 | 7 | 12) => Some(IcmpKind::Host),
        (false, 3, 3) => Some(IcmpKind::Port),
        (false, 3, 9 | 10 | 13) => Some(IcmpKind::AdminProhibited),
        (false, 3, _) => Some(IcmpKind::Other),
        (true, 1, 0) => Some(IcmpKind::Net),
        (true, 1, 3) => Some(IcmpKind::Host),
        (true, 1, 4) => Some(IcmpKind::Port),
        (true, 1, 1 | 5 | 6) => Some(IcmpKind::AdminProhibited),
        (true, 1, _) => Some(IcmpKind::Other),
        _ => None,
    }
}

/// The ICMP error the kernel queued on the socket, if any.
fn queued_icmp(sock: &Socket, v6: bool) -> Option<ProbeOutcome> {
    let mut buf = [0u8; 512];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
    let msg = recvmsg::<SockaddrStorage>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_ERRQUEUE).ok()?;
    for c in msg.cmsgs().ok()? {
        let (err, from) = match c {
            ControlMessageOwned::Ipv4RecvErr(e, a) => {
                (e, a.map(|a| IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)))))
            }
            ControlMessageOwned::Ipv6RecvErr(e, a) => (e, a.map(|a| IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr)))),
            _ => continue,
        };
        let icmp_origin = if v6 { libc::SO_EE_ORIGIN_ICMP6 } else { libc::SO_EE_ORIGIN_ICMP };
        if err.ee_origin == icmp_origin
            && let Some(kind) = icmp_kind(v6, err.ee_type, err.ee_code)
        {
            return Some(ProbeOutcome::Unreachable { kind, from });
        }
    }
    None
}

fn socket_for(target: &SocketAddr, proto: Proto) -> std::io::Result<Socket> {
    let domain = if target.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let (ty, p) = match proto {
        Proto::Tcp => (Type::STREAM, Protocol::TCP),
        Proto::Udp => (Type::DGRAM, Protocol::UDP),
    };
    let sock = Socket::new(domain, ty, Some(p))?;
    if target.is_ipv4() {
        setsockopt(&sock, sockopt::Ipv4RecvErr, &true).map_err(std::io::Error::from)?;
    } else {
        setsockopt(&sock, sockopt::Ipv6RecvErr, &true).map_err(std::io::Error::from)?;
    }
    let any: SocketAddr =
        if target.is_ipv4() { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    sock.bind(&SockAddr::from(any))?;
    Ok(sock)
}

fn attempt(target: SocketAddr, proto: Proto, timeout: Duration) -> ProbeAttempt {
    let start = Instant::now();
    let v6 = target.is_ipv6();
    let mut source_port = None;
    let outcome = match socket_for(&target, proto) {
        Err(e) => ProbeOutcome::Error { message: e.to_string() },
        Ok(sock) => {
            source_port = sock.local_addr().ok().and_then(|a| a.as_socket()).map(|a| a.port());
            match proto {
                Proto::Tcp => match sock.connect_timeout(&SockAddr::from(target), timeout) {
                    Ok(()) => ProbeOutcome::Open,
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        queued_icmp(&sock, v6).unwrap_or(ProbeOutcome::Refused)
                    }
                    Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => {
                        queued_icmp(&sock, v6).unwrap_or(ProbeOutcome::Filtered)
                    }
                    Err(e) => queued_icmp(&sock, v6).unwrap_or(ProbeOutcome::Error { message: e.to_string() }),
                },
                Proto::Udp => udp(&sock, target, timeout, v6),
            }
        }
    };
    ProbeAttempt { port: target.port(), source_port, outcome, millis: start.elapsed().as_millis() as u64 }
}

fn udp(sock: &Socket, target: SocketAddr, timeout: Duration, v6: bool) -> ProbeOutcome {
    if let Err(e) = sock.connect(&SockAddr::from(target)).and_then(|()| sock.send(b"portdoctor probe\n")) {
        return ProbeOutcome::Error { message: e.to_string() };
    }
    let _ = sock.set_read_timeout(Some(timeout));
    let mut buf = [std::mem::MaybeUninit::new(0u8); 512];
    match sock.recv(&mut buf) {
        Ok(_) => ProbeOutcome::Open,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => queued_icmp(sock, v6).unwrap_or(ProbeOutcome::Refused),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            queued_icmp(sock, v6).unwrap_or(ProbeOutcome::Filtered)
        }
        Err(e) => queued_icmp(sock, v6).unwrap_or(ProbeOutcome::Error { message: e.to_string() }),
    }
}

/// The most attempts per port a plan may ask for (the CLI refuses more).
pub const MAX_ATTEMPTS: usize = 100;
/// The most attempts in flight at once: one thread each.
const MAX_PARALLEL: usize = 256;

/// Runs the attempts at once (one thread each, at most `MAX_PARALLEL` at a time), so the whole
/// probe takes one timeout. A thread that cannot be started is an attempt that failed, not a
/// crash.
pub fn probe(plan: &ProbePlan, vantage: &str) -> ProbeReport {
    let per_port = plan.attempts.clamp(1, MAX_ATTEMPTS);
    let jobs: Vec<u16> = plan.ports.iter().flat_map(|p| std::iter::repeat_n(*p, per_port)).collect();
    let failed = |port: u16, message: String| ProbeAttempt {
        port,
        source_port: None,
        outcome: ProbeOutcome::Error { message },
        millis: 0,
    };
    let mut attempts = Vec::with_capacity(jobs.len());
    for wave in jobs.chunks(MAX_PARALLEL) {
        let handles: Vec<_> = wave
            .iter()
            .map(|&port| {
                let (target, proto, timeout) = (SocketAddr::new(plan.target, port), plan.proto, plan.timeout);
                (port, std::thread::Builder::new().spawn(move || attempt(target, proto, timeout)))
            })
            .collect();
        attempts.extend(handles.into_iter().map(|(port, h)| match h {
            Ok(h) => h.join().unwrap_or_else(|_| failed(port, "probe thread failed".into())),
            Err(e) => failed(port, format!("cannot start a probe thread: {e}")),
        }));
    }
    ProbeReport { vantage: vantage.to_string(), target: plan.target, proto: plan.proto, attempts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_codes() {
        assert_eq!(icmp_kind(false, 3, 13), Some(IcmpKind::AdminProhibited));
        assert_eq!(icmp_kind(false, 3, 1), Some(IcmpKind::Host));
        assert_eq!(icmp_kind(true, 1, 1), Some(IcmpKind::AdminProhibited));
        assert_eq!(icmp_kind(true, 1, 4), Some(IcmpKind::Port));
        assert_eq!(icmp_kind(false, 11, 0), None);
    }

    #[test]
    fn loopback_open_and_refused() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = l.local_addr().unwrap().port();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let plan = ProbePlan {
            target: "127.0.0.1".parse().unwrap(),
            proto: Proto::Tcp,
            ports: vec![open, closed],
            attempts: 2,
            timeout: Duration::from_millis(500),
        };
        let r = probe(&plan, "here");
        assert_eq!(r.verdict(open), Some(ProbeOutcome::Open));
        assert_eq!(r.verdict(closed), Some(ProbeOutcome::Refused));
        assert!(r.attempts.iter().all(|a| a.source_port.is_some_and(|p| p > 0)));
    }
}
