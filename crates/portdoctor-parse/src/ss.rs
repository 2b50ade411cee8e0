//! `ss -H -tulpne` text → sockets, for hosts read over SSH with plain tools (no portdoctor, so no
//! sock_diag of our own). The interface a socket is bound to (`0.0.0.0%lo`) is mapped to its
//! index through `ip -j addr`. Lines that do not read are skipped with a note.

use crate::ParseError;
use portdoctor_model::host::{Process, Socket, SocketState};
use portdoctor_model::knowledge::{Knowledge, Missing};
use portdoctor_model::net::Proto;
use std::collections::HashMap;
use std::net::IpAddr;

/// `addr%dev:port`, `[v6]:port`, `*:port`.
fn local(s: &str) -> Option<(IpAddr, Option<&str>, u16)> {
    let (addr, port) = s.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let (addr, dev) = match addr.split_once('%') {
        Some((a, d)) => (a, Some(d)),
        None => (addr, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip = if addr == "*" { "0.0.0.0".parse().ok()? } else { addr.parse().ok()? };
    Some((ip, dev, port))
}

/// `users:(("sshd",pid=123,fd=3),("sshd",pid=124,fd=3))`.
fn processes(field: &str) -> Vec<Process> {
    field
        .split("((")
        .nth(1)
        .unwrap_or("")
        .split("),(")
        .filter_map(|p| {
            let mut parts = p.trim_end_matches("))").split(',');
            let name = parts.next()?.trim_matches('"').to_string();
            let pid = parts.find_map(|x| x.strip_prefix("pid="))?.parse().ok()?;
            Some(Process { pid, name })
        })
        .collect()
}

/// `ifname → ifindex` from `ip -j addr show`.
pub fn ifindexes(ip_addr_json: &str) -> HashMap<String, u32> {
    serde_json::from_str::<serde_json::Value>(ip_addr_json)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| {
            Some((i.get("ifname")?.as_str()?.to_string(), u32::try_from(i.get("ifindex")?.as_u64()?).ok()?))
        })
        .collect()
}

/// Reads every line; `as_root` says whether ss could see other users' processes.
pub fn parse_ss(
    file: &str,
    text: &str,
    ifindex: &HashMap<String, u32>,
    as_root: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<Socket>, ParseError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let parsed = (|| {
            let proto = match *f.first()? {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                _ => return None,
            };
            let state = match *f.get(1)? {
                "LISTEN" => SocketState::Listen,
                "UNCONN" => SocketState::Unconnected,
                "ESTAB" => SocketState::Established,
                _ => return None,
            };
            let (recv_q, send_q) = (f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?);
            let (ip, dev, port) = local(f.get(4)?)?;
            let extra = &f[6.min(f.len())..];
            let users = extra.iter().find(|x| x.starts_with("users:"));
            let owners = match users {
                Some(u) => Knowledge::Known(processes(u)),
                None if as_root => Knowledge::Known(vec![]),
                None => Knowledge::Unavailable(Missing::new(
                    "owning process",
                    "ss ran without root: other users' processes are not shown",
                    "allow passwordless sudo for ss over SSH, or run portdoctor host on the instance with sudo",
                )),
            };
            let value = |key: &str| extra.iter().find_map(|x| x.strip_prefix(key));
            Some(Socket {
                proto,
                local: ip,
                port,
                peer: None,
                state,
                v6only: ip.is_ipv6().then(|| value("v6only:") == Some("1")),
                bound_ifindex: dev.map(|d| ifindex.get(d).copied().unwrap_or(0)),
                recv_q,
                send_q,
                // Absent (no -e) is 0; there but not a number leaves the line unread.
                uid: value("uid:").map(str::parse).transpose().ok()?.unwrap_or(0),
                inode: value("ino:").map(str::parse).transpose().ok()?.unwrap_or(0),
                owners,
            })
        })();
        match parsed {
            Some(s) => out.push(s),
            None => notes.push(format!("{file}: line {}: not read: {line}", n + 1)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_ss_prints() {
        let text = r#"udp UNCONN 0      0       127.0.0.1:18082 0.0.0.0:* users:(("python3",pid=15774,fd=5)) ino:847393 sk:102 cgroup:/ <->
tcp LISTEN 0      5      0.0.0.0%lo:18081 0.0.0.0:* users:(("python3",pid=15774,fd=4)) ino:847392 sk:103 cgroup:/ <->
tcp LISTEN 0      128       0.0.0.0:2024  0.0.0.0:* ino:654 sk:1 cgroup:/ <->
tcp LISTEN 0      7            [::]:18080    [::]:* users:(("python3",pid=15774,fd=3),("python3",pid=15775,fd=3)) uid:1000 ino:847391 sk:104 cgroup:/ v6only:1 <->
garbage"#;
        let idx = ifindexes(r#"[{"ifindex":1,"ifname":"lo"}]"#);
        let mut notes = vec![];
        let s = parse_ss("ss.txt", text, &idx, false, &mut notes).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[1].bound_ifindex, Some(1));
        assert_eq!(s[3].v6only, Some(true));
        assert_eq!(s[3].uid, 1000);
        assert_eq!(s[3].owners.known().unwrap().len(), 2);
        assert!(s[2].owners.missing().is_some(), "not root: unknown, not 'nobody'");
        assert_eq!(s[0].owners.known().unwrap()[0].name, "python3");
        assert_eq!(notes.len(), 1);
    }
}
