//! Fixed diagnoses for the format snapshots.

use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::{Proto, Source};
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Layer, Query, TimelineEntry,
};

fn query() -> Query {
    Query {
        command: "host".into(),
        target: Some("10.0.1.10".into()),
        port: 8080,
        protocol: Proto::Tcp,
        from: Source::Internet,
        instance: None,
    }
}

pub fn blocked() -> Diagnosis {
    let causes = vec![
        Cause::blocking(
            CauseCode::ListenerLoopbackOnly,
            "tcp 127.0.0.1:8080",
            Confidence::Confirmed,
            "nginx (pid 812) listens on 127.0.0.1:8080 only: tcp/8080 arriving at 10.0.1.10 is refused",
        )
        .with_evidence(["nginx (pid 812) listens on 127.0.0.1:8080 (tcp; sockets.json via sock_diag)".to_string()])
        .with_fix([
            Fix::text("Make nginx listen on 0.0.0.0:8080 | 10.0.1.10:8080, then restart it"),
            Fix::text("Check: ").then_run(ShellCommand::new("ss -lnp").arg("( sport = :8080 )")),
        ]),
        Cause {
            blocking: false,
            introduced_by: Some("5e1d1e1d-0000".into()),
            ..Cause::blocking(
                CauseCode::InstanceCompromised,
                "i-0abc",
                Confidence::Possible,
                "GuardDuty saw this instance attack others",
            )
        },
    ];
    let checks = vec![
        Check::new(
            "host.address",
            Layer::Host,
            CheckKind::Path,
            CheckStatus::Pass,
            "Traffic from the internet arrives at 10.0.1.10 on eth0",
        )
        .with_evidence([
            "replies to the internet route default via 10.0.1.1 dev eth0 (ip-route.json, table main)".to_string(),
        ]),
        Check::new(
            "host.firewall",
            Layer::Host,
            CheckKind::Path,
            CheckStatus::Skipped,
            "Host firewall: not checked by this version of portdoctor",
        ),
        Check::new(
            "host.listener",
            Layer::Host,
            CheckKind::Path,
            CheckStatus::Fail,
            "nginx (pid 812) listens on 127.0.0.1:8080 only",
        ),
    ];
    let path = vec![
        Hop::new("nic", "eth0", CheckStatus::Pass, "arrives at 10.0.1.10"),
        Hop::new("host-firewall", "netfilter", CheckStatus::Skipped, "not checked by this version"),
        Hop::new("listener", "tcp 127.0.0.1:8080", CheckStatus::Fail, "loopback only"),
    ];
    let mut d = Diagnosis::new(query(), causes, checks, path, String::new());
    d.timeline.push(TimelineEntry {
        time: "2026-11-19T03:12:00Z".into(),
        source: "cloudtrail".into(),
        event: "RevokeSecurityGroupIngress".into(),
        actor: Some("deploy-bot".into()),
        component: Some("sg-0123".into()),
        event_id: Some("5e1d1e1d-0000".into()),
        detail: None,
    });
    d.notes.push("--to 203.0.113.10 is not an address of this host".into());
    d
}

pub fn reachable() -> Diagnosis {
    let checks = vec![Check::new(
        "host.listener",
        Layer::Host,
        CheckKind::Path,
        CheckStatus::Pass,
        "nginx (pid 812) listens on 0.0.0.0:8080",
    )];
    let path = vec![Hop::new("listener", "tcp 0.0.0.0:8080", CheckStatus::Pass, "nginx (pid 812)")];
    let mut q = query();
    q.target = None;
    Diagnosis::new(q, vec![], checks, path, "tcp/8080 is answered by nginx (pid 812) on 0.0.0.0:8080".into())
}
