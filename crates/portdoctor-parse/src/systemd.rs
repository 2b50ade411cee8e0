//! systemd's view of services, for "why does nothing listen": `systemctl show` blocks
//! (`Id=nginx.service`, `ActiveState=failed`, `Result=exit-code`, `NRestarts=5`,
//! `ExecStart={ path=… ; argv[]=/usr/sbin/nginx -g … ; … }`) and journal lines in `short-iso`
//! form (`2026-11-20T02:14:07+0000 web-1 nginx[48211]: … bind() to 0.0.0.0:8081 failed (13:
//! Permission denied)`).

use crate::ParseError;
use portdoctor_model::host::{BindError, BindFailure, JournalLine, ServiceUnit};

/// The numbers a text names as whole numbers that fit a port: not part of a longer number, not
/// after a `.` (the last parts of an address such as `10.0.80.80`), no leading zero.
pub fn whole_numbers(text: &str) -> Vec<u16> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &text[start..i];
        let after_dot = start > 0 && bytes[start - 1] == b'.';
        if !after_dot
            && (run == "0" || !run.starts_with('0'))
            && let Ok(n) = run.parse::<u16>()
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

/// Words of a message about binding or listening on a port.
const BIND_WORDS: [&str; 4] = ["bind", "Address already in use", "listen", "EADDRINUSE"];

/// What a journal message says about a failed bind, if it is about one.
fn bind_failure(message: &str) -> Option<BindFailure> {
    if !BIND_WORDS.iter().any(|w| message.contains(w)) {
        return None;
    }
    let error = if message.contains("Address already in use") || message.contains("EADDRINUSE") {
        BindError::InUse
    } else if message.contains("Permission denied") {
        BindError::Denied
    } else {
        BindError::Other
    };
    Some(BindFailure { ports: whole_numbers(message), error })
}

/// `systemctl show -p Id,ActiveState,SubState,Result,NRestarts,ExecStart '*.service'`.
pub fn parse_show(file: &str, text: &str) -> Result<Vec<ServiceUnit>, ParseError> {
    let mut out = Vec::new();
    for (i, block) in text.split("\n\n").enumerate() {
        let mut u = ServiceUnit::default();
        for line in block.lines() {
            let Some((k, v)) = line.split_once('=') else { continue };
            match k {
                "Id" => u.id = v.to_string(),
                "ActiveState" => u.active = v.into(),
                "SubState" => u.sub = v.into(),
                "Result" => u.result = v.to_string(),
                // Empty for a unit that never ran; anything else must be the count.
                "NRestarts" if v.is_empty() => u.restarts = 0,
                "NRestarts" => {
                    let unit = if u.id.is_empty() { format!("block {}", i + 1) } else { u.id.clone() };
                    u.restarts = v.parse().map_err(|_| {
                        ParseError::new(
                            file,
                            format!("{unit}.NRestarts"),
                            format!("{} is not a number", crate::excerpt(v)),
                        )
                    })?
                }
                "ExecStart" => {
                    u.exec = v
                        .split("argv[]=")
                        .nth(1)
                        .map(|a| a.split(" ; ignore_errors").next().unwrap_or(a).trim().to_string())
                        .or_else(|| (!v.is_empty()).then(|| v.to_string()))
                }
                _ => {}
            }
        }
        if !u.id.is_empty() {
            u.exec_ports = u.exec.as_deref().map(whole_numbers).unwrap_or_default();
            out.push(u);
        }
    }
    Ok(out)
}

/// `journalctl -o short-iso` lines: time, host, `process[pid]:`, message.
pub fn parse_journal(text: &str) -> Vec<JournalLine> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ' ');
            let (time, _host, ident) = (parts.next()?, parts.next()?, parts.next()?);
            let message = parts.next().unwrap_or("").to_string();
            let ident = ident.strip_suffix(':')?;
            let process = ident.split('[').next().unwrap_or(ident).to_string();
            let bind = bind_failure(&message);
            Some(JournalLine { time: time.to_string(), process, message, line: line.to_string(), bind })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_blocks_and_journal_lines() {
        let units = parse_show(
            "systemd-show.txt",
            "Id=nginx.service\nActiveState=failed\nSubState=failed\nResult=exit-code\nNRestarts=0\nExecStart={ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -g daemon on; master_process on; ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\nId=app.service\nActiveState=activating\nSubState=auto-restart\nResult=exit-code\nNRestarts=14\nExecStart={ path=/usr/bin/node ; argv[]=/usr/bin/node /srv/app/server.js --port 8080 ; ignore_errors=no }\n",
        )
        .unwrap();
        let e = parse_show("systemd-show.txt", "Id=a.service\nNRestarts=many\n").unwrap_err();
        assert_eq!(e.to_string(), "systemd-show.txt: a.service.NRestarts: 'many' is not a number");
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].exec.as_deref(), Some("/usr/sbin/nginx -g daemon on; master_process on;"));
        assert_eq!((units[1].sub.as_str(), units[1].restarts), ("auto-restart", 14));
        let j = parse_journal(
            "2026-11-20T02:14:07+0000 web-1 nginx[48211]: nginx: [emerg] bind() to 0.0.0.0:8081 failed (13: Permission denied)\n-- Boot 1 --\n",
        );
        assert_eq!(j.len(), 1);
        assert_eq!(j[0].process, "nginx");
        assert!(j[0].message.contains("Permission denied"));
        assert_eq!(j[0].bind, Some(BindFailure { ports: vec![0, 8081, 13], error: BindError::Denied }));
        assert_eq!(units[1].exec_ports, [8080]);
    }

    #[test]
    fn ports_are_whole_numbers() {
        assert_eq!(whole_numbers("--port 8080"), [8080]);
        assert!(whole_numbers("bind() to 0.0.0.0:8080 failed").contains(&8080));
        assert!(!whole_numbers("--port 18080").contains(&8080));
        assert!(!whole_numbers("10.0.80.80").contains(&80));
        assert!(!whole_numbers("port 08080").contains(&8080));
    }
}
