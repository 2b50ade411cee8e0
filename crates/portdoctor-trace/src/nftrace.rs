//! `trace --nftrace`: the rule that dropped the packet. `NETFILTER_DROP` does not name it;
//! nftables tracing does. A temporary `inet` table marks only the flow (`meta nftrace set 1`,
//! before raw at prerouting -301 and in output), and the kernel then sends one event per rule
//! the packet meets to netlink group NFNLGRP_NFTRACE: table, chain, rule handle, verdict (what
//! `nft monitor trace` prints). This covers iptables-nft rules too (not iptables-legacy).
//!
//! The table is the one change to the host portdoctor ever makes, opt-in: it is removed when the
//! run ends, on Ctrl-C (the caller's stop flag ends the run) and on error (Drop), and the tests
//! check the ruleset is byte-identical afterwards. Constants: linux/netfilter/nf_tables.h and
//! nfnetlink.h (UAPI).

use crate::TraceError;
use crate::witness::Flow;
use portdoctor_model::Proto;
use std::net::IpAddr;
use std::process::{Command, Stdio};

const NFNLGRP_NFTRACE: u32 = 9;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_TRACE: u16 = 17;
const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;
const NLA_TYPE_MASK: u16 = 0x3fff;
const NFTA_TRACE_TABLE: u16 = 1;
const NFTA_TRACE_CHAIN: u16 = 2;
const NFTA_TRACE_RULE_HANDLE: u16 = 3;
const NFTA_TRACE_TYPE: u16 = 4;
const NFTA_TRACE_VERDICT: u16 = 5;
const NFTA_TRACE_NETWORK_HEADER: u16 = 8;
const NFTA_TRACE_TRANSPORT_HEADER: u16 = 9;
const NFTA_VERDICT_CODE: u16 = 1;
const NFT_TRACETYPE_RULE: u32 = 3;
const NF_DROP: u32 = 0;

/// One trace event that decided a packet's fate: a rule (or a chain's policy) said drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDrop {
    /// The table's family (`inet`, `ip`, …).
    pub family: String,
    pub table: String,
    pub chain: String,
    /// `None` when the chain's policy dropped it.
    pub rule_handle: Option<u64>,
    /// (src, sport, dst, dport) of the packet, to match the kernel's drop event.
    pub tuple: (IpAddr, u16, IpAddr, u16),
}

/// The attributes of a netlink message body: (type, payload).
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let kind = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((kind, &b[4..len]));
        b = &b[len.next_multiple_of(4).min(b.len())..];
    }
    out
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn be64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or_default()).into_owned()
}

/// The packet's addresses and ports from the trace's network and transport headers.
fn tuple(network: &[u8], transport: &[u8]) -> Option<(IpAddr, u16, IpAddr, u16)> {
    let ip = |b: &[u8]| -> Option<IpAddr> {
        Some(match b.len() {
            4 => IpAddr::from(<[u8; 4]>::try_from(b).ok()?),
            _ => IpAddr::from(<[u8; 16]>::try_from(b).ok()?),
        })
    };
    let (src, dst) = match network.first()? >> 4 {
        4 => (ip(network.get(12..16)?)?, ip(network.get(16..20)?)?),
        6 => (ip(network.get(8..24)?)?, ip(network.get(24..40)?)?),
        _ => return None,
    };
    let port = |at: usize| transport.get(at..at + 2).map(|p| u16::from_be_bytes([p[0], p[1]]));
    Some((src, port(0)?, dst, port(2)?))
}

/// The drops in one datagram from the NFNLGRP_NFTRACE group; other events are skipped.
pub fn parse_datagram(buf: &[u8]) -> Vec<RuleDrop> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let len = buf.get(at..at + 4).map_or(0, |l| u32::from_ne_bytes([l[0], l[1], l[2], l[3]]) as usize);
        let Some(msg) = buf.get(at..at.saturating_add(len)).filter(|_| len >= NLMSG_HDRLEN) else { break };
        at += len.next_multiple_of(4);
        if u16::from_ne_bytes([msg[4], msg[5]]) != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE) {
            continue;
        }
        let Some(family) = msg.get(NLMSG_HDRLEN).and_then(|f| portdoctor_model::net::nft_family_name(*f)) else {
            continue;
        };
        let a = attrs(msg.get(NLMSG_HDRLEN + NFGENMSG_LEN..).unwrap_or_default());
        let get = |k: u16| a.iter().find(|(t, _)| *t == k).map(|(_, v)| *v);
        let code = get(NFTA_TRACE_VERDICT)
            .and_then(|v| attrs(v).into_iter().find(|(t, _)| *t == NFTA_VERDICT_CODE).and_then(|(_, c)| be32(c)));
        if code != Some(NF_DROP) {
            continue;
        }
        let Some(t) = tuple(
            get(NFTA_TRACE_NETWORK_HEADER).unwrap_or_default(),
            get(NFTA_TRACE_TRANSPORT_HEADER).unwrap_or_default(),
        ) else {
            continue;
        };
        let by_rule = get(NFTA_TRACE_TYPE).and_then(be32) == Some(NFT_TRACETYPE_RULE);
        out.push(RuleDrop {
            family: family.to_string(),
            table: get(NFTA_TRACE_TABLE).map(text).unwrap_or_default(),
            chain: get(NFTA_TRACE_CHAIN).map(text).unwrap_or_default(),
            rule_handle: if by_rule { get(NFTA_TRACE_RULE_HANDLE).and_then(be64) } else { None },
            tuple: t,
        });
    }
    out
}

/// The devices whose ingress the table watches: every interface but loopback (the flow's
/// packets from a client arrive on one of them), by their names in /sys/class/net. A name nft
/// could not take quoted is left out (its drops before prerouting are then reported unnamed).
fn ingress_devices() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.retain(|n| n != "lo" && !n.contains(['"', '\\']));
    names.sort();
    names
}

/// The temporary table's text: the flow (both directions) marked for tracing, nothing else.
/// `devices` get an ingress chain each (Linux 5.10+ `inet` ingress, at -500): before any
/// netdev-family table's chain, so a drop there is traced too, which prerouting comes too late
/// for.
pub fn table_text(name: &str, flow: &Flow, devices: &[String]) -> String {
    let proto = match flow.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    };
    let peer = |dir: &str| match flow.from {
        Some(c) if c.addr().is_ipv4() => format!("ip {dir} {c} "),
        Some(c) => format!("ip6 {dir} {c} "),
        None => String::new(),
    };
    let port = flow.port;
    let inbound = format!("{}meta l4proto {proto} th dport {port} meta nftrace set 1;", peer("saddr"));
    let ingress: String = devices
        .iter()
        .enumerate()
        .map(|(i, dev)| {
            format!("\tchain ingress{i} {{ type filter hook ingress device \"{dev}\" priority -500; {inbound} }}\n")
        })
        .collect();
    format!(
        "table inet {name} {{\n\
         {ingress}\
         \tchain pre {{ type filter hook prerouting priority -301; {inbound} }}\n\
         \tchain out {{ type filter hook output priority -301; {}meta l4proto {proto} th sport {port} meta nftrace set 1; }}\n\
         }}\n",
        peer("daddr")
    )
}

fn nft(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::io::Write::write_all(&mut pipe, text.as_bytes()).map_err(|e| format!("nft: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// (the chain's hook, the rule's text) from `nft -s -a list chain`, as far as they can be read.
pub fn chain_and_rule(family: &str, table: &str, chain: &str, handle: Option<u64>) -> (Option<String>, Option<String>) {
    // Stateless (-s): the rule as written, without its counters' current values.
    let Ok(listing) = nft(&["-s", "-a", "list", "chain", family, table, chain], None) else { return (None, None) };
    hook_and_rule(&listing, handle)
}

fn hook_and_rule(listing: &str, handle: Option<u64>) -> (Option<String>, Option<String>) {
    let hook =
        listing.split_whitespace().skip_while(|w| *w != "hook").nth(1).map(|h| h.trim_end_matches(';').to_string());
    let rule = handle.and_then(|h| {
        let tag = format!("# handle {h}");
        listing
            .lines()
            .find(|l| l.trim_end().ends_with(&tag))
            .map(|l| l.trim().trim_end_matches(&tag).trim().to_string())
    });
    (hook, rule)
}

/// The running nftrace: the table (removed on drop) and the netlink socket hearing the events.
pub struct NfTrace {
    sock: netlink_sys::Socket,
    table: String,
    removed: bool,
}

impl NfTrace {
    /// Listens first, then adds the table, so the flow's first packet is heard.
    pub fn start(flow: &Flow) -> Result<NfTrace, TraceError> {
        let fail = |problem: String| TraceError {
            problem,
            remedy: "--nftrace needs root and the nft tool (Debian: apt-get install nftables); trace works without it"
                .into(),
        };
        let mut sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER)
            .map_err(|e| fail(format!("netfilter netlink: {e}")))?;
        sock.bind_auto().map_err(|e| fail(format!("netfilter netlink: {e}")))?;
        sock.add_membership(NFNLGRP_NFTRACE).map_err(|e| fail(format!("the nftrace group: {e}")))?;
        sock.set_non_blocking(true).map_err(|e| fail(format!("netfilter netlink: {e}")))?;
        let table = format!("portdoctor_trace_{}", std::process::id());
        // A kernel before 5.10 has no inet ingress hook and refuses the whole table (nft
        // applies a file atomically): then prerouting and output alone.
        nft(&["-f", "-"], Some(&table_text(&table, flow, &ingress_devices())))
            .or_else(|_| nft(&["-f", "-"], Some(&table_text(&table, flow, &[]))))
            .map_err(|e| fail(format!("adding table inet {table}: {e}")))?;
        Ok(NfTrace { sock, table, removed: false })
    }

    /// The rule drops heard since the last call.
    pub fn drain(&mut self) -> Vec<RuleDrop> {
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::with_capacity(64 * 1024);
            match self.sock.recv(&mut buf, 0) {
                Ok(n) if n > 0 => out.extend(parse_datagram(&buf[..n.min(buf.len())])),
                _ => break,
            }
        }
        out
    }

    /// Deletes the table; `Err` names the command to run by hand.
    pub fn remove(&mut self) -> Result<(), TraceError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        nft(&["delete", "table", "inet", &self.table], None).map(|_| ()).map_err(|e| TraceError {
            problem: format!("removing the temporary table inet {} failed: {e}", self.table),
            remedy: format!("remove it by hand: nft delete table inet {}", self.table),
        })
    }
}

impl Drop for NfTrace {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::{Flow, hook_and_rule, parse_datagram, table_text};

    #[test]
    fn a_listing_gives_the_hook_and_the_rule() {
        let listing = "table inet f {\n\tchain in { # handle 1\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 8080 drop # handle 2\n\t}\n}\n";
        let (hook, rule) = hook_and_rule(listing, Some(2));
        assert_eq!((hook.as_deref(), rule.as_deref()), (Some("input"), Some("tcp dport 8080 drop")));
        assert_eq!(hook_and_rule(listing, Some(3)).1, None);
    }
    use portdoctor_model::Proto;

    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&u16::try_from(4 + payload.len()).unwrap_or(0).to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(payload);
        b.resize(b.len().next_multiple_of(4), 0);
        b
    }

    /// A trace event as the kernel sends it: rule 7 of inet filter input dropped a SYN.
    fn event(code: u32) -> Vec<u8> {
        let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 198, 51, 100, 2, 10, 0, 1, 10];
        ip.resize(20, 0);
        let tcp = [0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 0];
        let mut body = vec![1, 0, 0, 0]; // NFPROTO_INET
        body.extend(attr(1, b"filter\0"));
        body.extend(attr(2, b"input\0"));
        body.extend(attr(3, &7u64.to_be_bytes()));
        body.extend(attr(4, &3u32.to_be_bytes()));
        body.extend(attr(5 | 0x8000, &attr(1, &code.to_be_bytes())));
        body.extend(attr(8, &ip));
        body.extend(attr(9, &tcp));
        let mut msg = Vec::new();
        msg.extend_from_slice(&u32::try_from(16 + body.len()).unwrap_or(0).to_ne_bytes());
        msg.extend_from_slice(&((10u16 << 8) | 17).to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend(body);
        msg
    }

    #[test]
    fn a_rules_drop_names_table_chain_and_handle() {
        let d = parse_datagram(&event(0));
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].family.as_str(), d[0].table.as_str(), d[0].chain.as_str()), ("inet", "filter", "input"));
        assert_eq!(d[0].rule_handle, Some(7));
        assert_eq!(d[0].tuple.0.to_string(), "198.51.100.2");
        assert_eq!((d[0].tuple.1, d[0].tuple.3), (40000, 8080));
        assert!(parse_datagram(&event(1)).is_empty(), "an accept is not a drop");
        let e = event(0);
        for cut in 0..e.len() {
            let _ = parse_datagram(&e[..cut]);
        }
    }

    #[test]
    fn the_table_marks_only_the_flow_from_ingress_on() {
        let flow = Flow { port: 8080, proto: Proto::Tcp, from: Some("198.51.100.0/24".parse().expect("cidr")) };
        let t = table_text("portdoctor_trace_1", &flow, &["eth0".into(), "eth1".into()]);
        assert!(t.contains("hook prerouting priority -301; ip saddr 198.51.100.0/24 meta l4proto tcp th dport 8080 meta nftrace set 1;"), "{t}");
        assert!(
            t.contains(
                "hook output priority -301; ip daddr 198.51.100.0/24 meta l4proto tcp th sport 8080 meta nftrace set 1;"
            ),
            "{t}"
        );
        assert!(t.contains("chain ingress1 { type filter hook ingress device \"eth1\" priority -500; ip saddr 198.51.100.0/24 meta l4proto tcp th dport 8080 meta nftrace set 1; }"), "{t}");
        assert!(!table_text("t", &flow, &[]).contains("ingress"), "without devices: prerouting and output");
    }
}
