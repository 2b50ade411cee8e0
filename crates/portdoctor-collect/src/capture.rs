//! `portdoctor capture`: which SYNs to a port arrive at the NIC and what leaves in answer, from
//! an AF_PACKET socket with a kernel BPF filter (no libpcap). AF_PACKET sees a packet before
//! netfilter does, so a SYN seen here got through everything upstream.
//!
//! The socket is a datagram (cooked) packet socket, so every link type arrives as its network
//! header; the filter reads the protocol and the interface from the kernel's ancillary data.

use portdoctor_model::Missing;
use portdoctor_model::probe::CaptureReport;
use socket2::{Domain, SockFilter, Socket, Type};
use std::io::Read;
use std::time::{Duration, Instant};

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS: u16 = 0x20;
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_H_IND: u16 = 0x48;
const LDX_B_MSH: u16 = 0xb1;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
/// Ancillary loads: SKF_AD_OFF + SKF_AD_PROTOCOL / SKF_AD_IFINDEX.
const AD_PROTOCOL: u32 = 0xffff_f000;
const AD_IFINDEX: u32 = 0xffff_f000 + 8;

#[derive(Clone, Copy)]
enum To {
    Next,
    Accept,
    Drop,
    V6,
    Tcp4,
    Tcp6,
}

enum Ins {
    Load(u16, u32),
    Jump(u16, u32, To, To),
    Label(To),
    Ret(u32),
}

/// `tcp port P or udp port P or icmp or icmp6`, on one interface or all.
fn program(port: u16, ifindex: Option<u32>) -> Vec<SockFilter> {
    use Ins::*;
    let p = u32::from(port);
    let mut ins = Vec::new();
    if let Some(i) = ifindex {
        ins.extend([Load(LD_W_ABS, AD_IFINDEX), Jump(JEQ_K, i, To::Next, To::Drop)]);
    }
    ins.extend([
        Load(LD_W_ABS, AD_PROTOCOL),
        Jump(JEQ_K, 0x0800, To::Next, To::V6),
        Load(LD_B_ABS, 9),
        Jump(JEQ_K, 1, To::Accept, To::Next),
        Jump(JEQ_K, 6, To::Tcp4, To::Next),
        Jump(JEQ_K, 17, To::Tcp4, To::Drop),
        Label(To::Tcp4),
        Load(LD_H_ABS, 6),
        Jump(JSET_K, 0x1fff, To::Drop, To::Next),
        Load(LDX_B_MSH, 0),
        Load(LD_H_IND, 0),
        Jump(JEQ_K, p, To::Accept, To::Next),
        Load(LD_H_IND, 2),
        Jump(JEQ_K, p, To::Accept, To::Drop),
        Label(To::V6),
        Jump(JEQ_K, 0x86dd, To::Next, To::Drop),
        Load(LD_B_ABS, 6),
        Jump(JEQ_K, 58, To::Accept, To::Next),
        Jump(JEQ_K, 6, To::Tcp6, To::Next),
        Jump(JEQ_K, 17, To::Tcp6, To::Drop),
        Label(To::Tcp6),
        Load(LD_H_ABS, 40),
        Jump(JEQ_K, p, To::Accept, To::Next),
        Load(LD_H_ABS, 42),
        Jump(JEQ_K, p, To::Accept, To::Drop),
        Label(To::Accept),
        Ret(0xffff),
        Label(To::Drop),
        Ret(0),
    ]);
    // Resolve labels to instruction indices, then jumps to relative offsets.
    let mut at = std::collections::HashMap::new();
    let mut n = 0usize;
    for i in &ins {
        match i {
            Label(l) => {
                at.insert(*l as u8, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::with_capacity(n);
    for i in &ins {
        let here = out.len();
        let rel = |t: To| match t {
            To::Next => 0,
            l => (at[&(l as u8)] - here - 1) as u8,
        };
        match i {
            Load(code, k) => out.push(SockFilter::new(*code, 0, 0, *k)),
            Jump(code, k, t, f) => out.push(SockFilter::new(*code, rel(*t), rel(*f), *k)),
            Ret(k) => out.push(SockFilter::new(RET_K, 0, 0, *k)),
            Label(_) => {}
        }
    }
    out
}

fn ifindex(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok()?.trim().parse().ok()
}

/// The pcap stream header for raw IP packets (link type 101), microsecond stamps.
pub fn pcap_header() -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend(0xa1b2_c3d4u32.to_le_bytes());
    h.extend(2u16.to_le_bytes());
    h.extend(4u16.to_le_bytes());
    h.extend([0u8; 8]);
    h.extend(65_535u32.to_le_bytes());
    h.extend(101u32.to_le_bytes());
    h
}

/// One pcap record.
pub fn pcap_record(at: Duration, packet: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + packet.len());
    r.extend((at.as_secs() as u32).to_le_bytes());
    r.extend(at.subsec_micros().to_le_bytes());
    r.extend((packet.len() as u32).to_le_bytes());
    r.extend((packet.len() as u32).to_le_bytes());
    r.extend(packet);
    r
}

/// How to get the capability when it is missing.
pub const CAP_REMEDY: &str = "run it as root (sudo), or give the binary the capability once: sudo setcap cap_net_raw+ep \"$(command -v portdoctor)\"";

/// Captures for `duration`, or until `stop` returns true (checked every 50 ms).
/// Hooks into a running capture.
pub struct Hooks<'a> {
    /// Called once the filter is attached, so a caller can start probing.
    pub ready: &'a dyn Fn(),
    /// Checked every 50 ms; true ends the capture early.
    pub stop: &'a dyn Fn() -> bool,
    /// Every packet that passed the filter (network-layer bytes), as it arrives.
    pub each: &'a mut dyn FnMut(Duration, &[u8]),
}

pub fn capture(port: u16, iface: Option<&str>, duration: Duration, hooks: Hooks<'_>) -> Result<CaptureReport, Missing> {
    let Hooks { ready, stop, each } = hooks;
    let what = "packets at the NIC";
    let index = match iface {
        Some(name) => Some(ifindex(name).ok_or_else(|| {
            Missing::new(what, format!("no interface named {name}"), "give an interface from `ip link` (--iface)")
        })?),
        None => None,
    };
    let eth_p_all = (libc::ETH_P_ALL as u16).to_be();
    let sock = Socket::new(Domain::PACKET, Type::DGRAM, Some(i32::from(eth_p_all).into())).map_err(|e| {
        let reason = format!("cannot open an AF_PACKET socket: {e}");
        match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                // Root without CAP_NET_RAW (a cut capability set) needs the capability, not sudo.
                let needs = [portdoctor_parse::privilege::Cap::NetRaw];
                match crate::host::privilege().root_without(&needs) {
                    Some(note) => {
                        let reason = format!("{reason} ({note})");
                        let remedy = portdoctor_parse::privilege::remedy(&needs, &reason);
                        Missing::new(what, reason, remedy)
                    }
                    None => Missing::new(what, format!("{reason} (CAP_NET_RAW is needed)"), CAP_REMEDY),
                }
            }
            _ => Missing::new(what, reason, "run on Linux with AF_PACKET support"),
        }
    })?;
    sock.attach_filter(&program(port, index)).map_err(|e| {
        Missing::new(what, format!("cannot attach the BPF filter: {e}"), "run on a Linux kernel with socket filters")
    })?;
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    ready();
    let start = Instant::now();
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while start.elapsed() < duration && !stop() {
        match (&sock).read(&mut buf) {
            Ok(n) => {
                each(start.elapsed(), &buf[..n]);
                if let Some(p) = portdoctor_parse::packet::classify(&buf[..n], port, start.elapsed().as_secs_f64()) {
                    packets.push(p);
                }
            }
            // A signal that lands during the read (EINTR) is not a failed capture: read again.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(Missing::new(what, format!("capture failed: {e}"), "try again; check the interface")),
        }
    }
    Ok(CaptureReport {
        iface: iface.unwrap_or("any").to_string(),
        port,
        seconds: start.elapsed().as_secs_f64(),
        packets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portdoctor_model::probe::Answer;

    /// Real packets on loopback: the SYN and SYN-ACK of an open port, the RST of a closed one.
    /// Needs CAP_NET_RAW (the suite runs as root); without it, the remedy is what is checked.
    #[test]
    fn loopback_syn_synack_and_rst() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = open.local_addr().unwrap().port();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let cap = std::thread::spawn(move || {
            capture(
                port,
                Some("lo"),
                Duration::from_secs(5),
                Hooks {
                    ready: &|| {},
                    stop: &|| flag.load(std::sync::atomic::Ordering::Relaxed),
                    each: &mut |_, _| {},
                },
            )
        });
        std::thread::sleep(Duration::from_millis(300));
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let client_port = c.local_addr().unwrap().port();
        std::thread::sleep(Duration::from_millis(200));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        match cap.join().unwrap() {
            Ok(r) => {
                assert!(r.syns().any(|s| s.remote_port == client_port), "{r:#?}");
                assert!(r.answers_to(client_port).any(|a| a.answer == Some(Answer::SynAck)), "{r:#?}");
            }
            Err(m) => assert!(m.remedy.contains("setcap cap_net_raw+ep"), "{m:?}"),
        }
    }
}
