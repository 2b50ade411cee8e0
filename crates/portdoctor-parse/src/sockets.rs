//! `sockets.json`: the sockets portdoctor read over sock_diag, with their owning processes, as a
//! readable JSON array. This is the snapshot format (version 1) of the socket source; it is
//! written by `snapshot host` and by every live run, and read back here.

use crate::ParseError;
use portdoctor_model::host::{Process, Socket, SocketState};
use portdoctor_model::knowledge::{Knowledge, Missing};
use portdoctor_model::net::Proto;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SocketRecord {
    proto: Proto,
    /// `LISTEN`, `UNCONN`, `ESTAB`, or the kernel's state number.
    state: String,
    local: IpAddr,
    port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v6only: Option<bool>,
    /// SO_BINDTODEVICE interface index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bound_ifindex: Option<u32>,
    recv_q: u32,
    send_q: u32,
    uid: u32,
    inode: u64,
    /// The owning processes; absent when they could not be read (then `processes_unavailable`
    /// says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processes: Option<Vec<ProcessRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processes_unavailable: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessRecord {
    pid: u32,
    name: String,
}

fn state_text(s: SocketState) -> String {
    match s {
        SocketState::Listen => "LISTEN".into(),
        SocketState::Unconnected => "UNCONN".into(),
        SocketState::Established => "ESTAB".into(),
        SocketState::Other(n) => n.to_string(),
    }
}

fn state_from_text(s: &str) -> Option<SocketState> {
    match s {
        "LISTEN" => Some(SocketState::Listen),
        "UNCONN" => Some(SocketState::Unconnected),
        "ESTAB" => Some(SocketState::Established),
        n => n.parse::<u8>().ok().map(SocketState::from_kernel),
    }
}

/// What reading other users' /proc/PID/fd takes: ptrace access (CAP_SYS_PTRACE) to another
/// uid's process, and reading its 0500 fd folder (CAP_DAC_READ_SEARCH, or CAP_DAC_OVERRIDE).
pub const OWNER_NEEDS: &[crate::privilege::Cap] =
    &[crate::privilege::Cap::SysPtrace, crate::privilege::Cap::DacReadSearch];

/// The remedy when socket owners cannot be read, for the reason recorded (which says when
/// root ran without the capabilities).
pub fn owner_remedy(reason: &str) -> String {
    crate::privilege::remedy(OWNER_NEEDS, reason)
}

pub fn write_sockets(sockets: &[Socket]) -> String {
    let records: Vec<SocketRecord> = sockets
        .iter()
        .map(|s| SocketRecord {
            proto: s.proto,
            state: state_text(s.state),
            local: s.local,
            port: s.port,
            peer: s.peer.map(|p| p.0),
            peer_port: s.peer.map(|p| p.1),
            v6only: s.v6only,
            bound_ifindex: s.bound_ifindex,
            recv_q: s.recv_q,
            send_q: s.send_q,
            uid: s.uid,
            inode: s.inode,
            processes: s
                .owners
                .known()
                .map(|ps| ps.iter().map(|p| ProcessRecord { pid: p.pid, name: p.name.clone() }).collect()),
            processes_unavailable: s.owners.missing().map(|m| m.reason.clone()),
        })
        .collect();
    // Serialising plain data to a string cannot fail.
    serde_json::to_string_pretty(&records).unwrap_or_else(|_| "[]".into()) + "\n"
}

pub fn parse_sockets(file: &str, text: &str) -> Result<Vec<Socket>, ParseError> {
    let records: Vec<SocketRecord> = serde_json::from_str(text)
        .map_err(|e| ParseError::new(file, format!("line {} column {}", e.line(), e.column()), e.to_string()))?;
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let state = state_from_text(&r.state).ok_or_else(|| {
                ParseError::new(file, format!("[{i}].state"), format!("unknown state {}", crate::excerpt(&r.state)))
            })?;
            let owners = match (r.processes, r.processes_unavailable) {
                (Some(ps), _) => {
                    Knowledge::Known(ps.into_iter().map(|p| Process { pid: p.pid, name: p.name }).collect())
                }
                (None, reason) => {
                    let reason = reason.unwrap_or_else(|| "not recorded".into());
                    let remedy = owner_remedy(&reason);
                    Knowledge::Unavailable(Missing::new("owning process", reason, remedy))
                }
            };
            let peer = match (r.peer, r.peer_port) {
                (Some(a), Some(p)) => Some((a, p)),
                (None, None) => None,
                _ => return Err(ParseError::new(file, format!("[{i}].peer"), "peer and peer_port go together")),
            };
            Ok(Socket {
                proto: r.proto,
                local: r.local,
                port: r.port,
                peer,
                state,
                v6only: r.v6only,
                bound_ifindex: r.bound_ifindex,
                recv_q: r.recv_q,
                send_q: r.send_q,
                uid: r.uid,
                inode: r.inode,
                owners,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = Socket {
            proto: Proto::Tcp,
            local: "::".parse().unwrap(),
            port: 8080,
            peer: None,
            state: SocketState::Listen,
            v6only: Some(true),
            bound_ifindex: Some(2),
            recv_q: 0,
            send_q: 511,
            uid: 33,
            inode: 99,
            owners: Knowledge::Known(vec![Process { pid: 812, name: "nginx".into() }]),
        };
        let mut t = s.clone();
        t.owners = Knowledge::Unavailable(Missing::new(
            "owning process",
            "permission denied",
            owner_remedy("permission denied"),
        ));
        let text = write_sockets(&[s.clone(), t.clone()]);
        assert_eq!(parse_sockets("sockets.json", &text).unwrap(), vec![s, t]);
    }

    #[test]
    fn bad_records_name_the_field() {
        let e = parse_sockets(
            "sockets.json",
            r#"[{"proto":"sctp","state":"LISTEN","local":"::","port":1,"recv_q":0,"send_q":0,"uid":0,"inode":1}]"#,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("sockets.json: line 1"), "{e}");
        let e = parse_sockets(
            "sockets.json",
            r#"[{"proto":"tcp","state":"WAT","local":"::","port":1,"recv_q":0,"send_q":0,"uid":0,"inode":1}]"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "sockets.json: [0].state: unknown state 'WAT'");
        let e = parse_sockets(
            "sockets.json",
            r#"[{"proto":"tcp","state":"LISTEN","local":"::","port":70000,"recv_q":0,"send_q":0,"uid":0,"inode":1}]"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("70000"), "{e}");
    }
}
