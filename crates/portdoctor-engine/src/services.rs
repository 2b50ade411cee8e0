//! Why nothing listens: the service that should, found through systemd (a unit whose command
//! line names the port, or whose process logged a bind error for it) and the journal's own words:
//! stopped, failed, crash-looping, or failed to bind (address in use → who holds it; permission
//! denied → a port below 1024 without the capability, or SELinux).

use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::{BindError, HostEvidence, JournalLine, ServiceUnit, Socket, UnitActive, UnitSub};
use portdoctor_model::host_path::HostCheck;
use portdoctor_model::{Check, CheckKind, CheckStatus, Knowledge, Layer, Proto};

fn check(status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(HostCheck::Service.as_str(), Layer::Host, CheckKind::Context, status, summary)
}

/// What a unit's state means for a service that should be listening.
fn state_words(u: &ServiceUnit) -> String {
    match (&u.active, &u.sub) {
        (UnitActive::Failed, _) => format!("failed (result: {})", u.result),
        (UnitActive::Activating, UnitSub::AutoRestart) => format!("crash-looping: restarted {} times", u.restarts),
        (UnitActive::Inactive, _) => "stopped".to_string(),
        (UnitActive::Active, _) => format!("running ({}) but not listening on the port", u.sub),
        (a, s) => format!("{a} ({s})"),
    }
}

/// Evidence and fixes for NOT_LISTENING, and the check that says what was found.
pub fn why_not_listening(ev: &HostEvidence, proto: Proto, port: u16) -> (Check, Vec<String>, Vec<Fix>) {
    let s = match &ev.services {
        Knowledge::Known(None) => return (check(CheckStatus::Skipped, "No systemd on this host"), vec![], vec![]),
        Knowledge::Unavailable(m) => {
            return (
                check(CheckStatus::Unknown, "Could not read the services").with_evidence([m.describe()]),
                vec![],
                vec![],
            );
        }
        Knowledge::Known(Some(s)) => s,
    };
    let journal: &[JournalLine] = s.journal.known().map(Vec::as_slice).unwrap_or_default();
    // Lines about binding this port, and the processes that wrote them.
    let bind_lines: Vec<&JournalLine> =
        journal.iter().filter(|l| l.bind.as_ref().is_some_and(|b| b.ports.contains(&port))).collect();
    let stem = |id: &str| id.trim_end_matches(".service").to_string();
    let mut units: Vec<&ServiceUnit> = s
        .units
        .iter()
        .filter(|u| {
            u.exec_ports.contains(&port)
                || bind_lines.iter().any(|l| {
                    l.process == stem(&u.id)
                        || u.exec.as_deref().is_some_and(|e| e.contains(&format!("/{}", l.process)))
                })
        })
        .collect();
    units.sort_by_key(|u| u.active != UnitActive::Failed && u.sub != UnitSub::AutoRestart);
    let mut evidence = Vec::new();
    let mut fix = Vec::new();
    for u in &units {
        evidence.push(format!(
            "{} is {}{} ({})",
            u.id,
            state_words(u),
            u.exec.as_deref().map(|e| format!("; it runs: {e}")).unwrap_or_default(),
            s.units_from
        ));
        let name = &u.id;
        match u.active {
            UnitActive::Inactive => fix.push(Fix::run(ShellCommand::new("systemctl enable --now").arg(name))),
            _ => fix.push(Fix::run(
                ShellCommand::new("journalctl -u")
                    .arg(name)
                    .lit("-n 50 --no-pager   # read why, fix it, then: systemctl restart")
                    .arg(name),
            )),
        }
        // The unit's own last words.
        let own: Vec<&JournalLine> =
            journal.iter().filter(|l| l.process == stem(name) || l.message.starts_with(&format!("{name}:"))).collect();
        for l in own.iter().rev().take(3).rev() {
            evidence.push(format!("journal: {}", l.line));
        }
    }
    for l in &bind_lines {
        let quoted = format!("journal: {}", l.line);
        if !evidence.contains(&quoted) {
            evidence.push(quoted);
        }
        let error = l.bind.as_ref().map(|b| b.error);
        if error == Some(BindError::InUse) {
            let holders: Vec<&Socket> = ev
                .sockets
                .known()
                .map(|ss| ss.iter().filter(|s| s.port == port && s.proto == proto).collect())
                .unwrap_or_default();
            evidence.push(match holders.first() {
                Some(h) => {
                    format!("the port was taken when it started; now held by {} on {}", h.owner_text(), h.local_text())
                }
                None => "the port was taken when it started (by a process that has since let it go)".to_string(),
            });
        }
        if error == Some(BindError::Denied) {
            evidence.push(if port < 1024 {
                format!("port {port} is below 1024: the service needs root or CAP_NET_BIND_SERVICE (AmbientCapabilities=CAP_NET_BIND_SERVICE in the unit)")
            } else {
                "permission denied on a port above 1023: SELinux (see host.selinux) or a seccomp/sandbox setting of the unit".to_string()
            });
        }
    }
    evidence.dedup();
    let summary = match units.first() {
        Some(u) => format!("{} should answer on {proto}/{port}: it is {}", u.id, state_words(u)),
        None if !bind_lines.is_empty() => format!("The journal shows a failed bind to {proto}/{port}"),
        None => format!("No service names {proto}/{port} (in its command line or the journal)"),
    };
    let status = if units.is_empty() && bind_lines.is_empty() { CheckStatus::Pass } else { CheckStatus::Fail };
    (check(status, summary).with_evidence(evidence.clone()), evidence, fix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portdoctor_model::host::Services;

    #[test]
    fn crash_looping_unit_named_by_its_command_line() {
        let mut ev = crate::host::tests::evidence(vec![]);
        let show = "Id=app.service\nActiveState=activating\nSubState=auto-restart\nResult=exit-code\nNRestarts=14\nExecStart={ path=/usr/bin/node ; argv[]=/usr/bin/node /srv/app/server.js --port 8080 ; ignore_errors=no }\n\nId=cron.service\nActiveState=active\nSubState=running\nResult=success\nNRestarts=0\nExecStart={ path=/usr/sbin/cron ; argv[]=/usr/sbin/cron -f ; ignore_errors=no }\n";
        ev.services = Knowledge::Known(Some(Services {
            units: portdoctor_parse::systemd::parse_show("systemd-show.txt", show).unwrap(),
            units_from: "systemd-show.txt".into(),
            journal: Knowledge::Known(crate::host::tests::journal(&[
                "2026-11-20T02:14:07+0000 web-1 node[511]: Error: listen EADDRINUSE: address already in use :::8080",
            ])),
        }));
        let (c, ev_lines, fix) = why_not_listening(&ev, Proto::Tcp, 8080);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("crash-looping: restarted 14 times"), "{}", c.summary);
        assert!(ev_lines.iter().any(|e| e.contains("EADDRINUSE")), "{ev_lines:?}");
        assert!(fix[0].to_string().starts_with("journalctl -u app.service"));
    }
}
