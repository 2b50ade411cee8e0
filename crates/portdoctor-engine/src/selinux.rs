//! SELinux, exactly as far as it reaches: it checks `bind()` (name_bind) and outgoing
//! `connect()` (name_connect), not packets to a socket that already listens — unless SECMARK
//! rules label packets (labeled networking): then it also checks that the listener's domain may
//! `recv` them (selinux_sock_rcv_skb_compat), so a listening port can still be starved. So it is
//! blamed for a bind only when nothing listens and the audit log shows that bind denied, and for
//! a listening port only as a warning naming the SECMARK rules and any `recv` denials.

use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::{AvcDenial, HostEvidence, PortLabel, Selinux, SelinuxMode};
use portdoctor_model::host_path::HostCheck;
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Knowledge, Layer, Proto};

fn check(status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(HostCheck::Selinux.as_str(), Layer::Host, CheckKind::Context, status, summary)
}

/// The port type a domain may bind, for the fix: the policy's usual names, else `<domain>_port_t`.
fn port_type_for(domain: &str) -> String {
    let known = [
        ("httpd_t", "http_port_t"),
        ("sshd_t", "ssh_port_t"),
        ("postgresql_t", "postgresql_port_t"),
        ("mysqld_t", "mysqld_port_t"),
        ("redis_t", "redis_port_t"),
        ("named_t", "dns_port_t"),
        ("squid_t", "squid_port_t"),
        ("tomcat_t", "http_port_t"),
    ];
    known
        .iter()
        .find(|(d, _)| *d == domain)
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| format!("{}_port_t", domain.trim_end_matches("_t")))
}

fn mode_text(s: &Selinux) -> String {
    match s.at_boot {
        Some(b) if b != s.mode => format!(
            "{} now, {} at next boot (/etc/selinux/config): what works now may not after a reboot",
            s.mode.as_str(),
            b.as_str()
        ),
        Some(_) | None => s.mode.as_str().to_string(),
    }
}

/// The rules that label packets for SELinux (iptables SECMARK/CONNSECMARK, nft `secmark`).
fn secmark_rules(ev: &HostEvidence) -> Vec<String> {
    let Some(nf) = ev.netfilter.known() else { return vec![] };
    nf.tables
        .iter()
        .flat_map(|t| t.chains.iter().flat_map(move |c| c.rules.iter().map(move |r| (t, c, r))))
        .filter(|(_, _, r)| r.secmark)
        .take(5)
        .map(|(t, c, r)| {
            format!("{} table {} chain {}: {} (labels packets for SELinux)", t.backend.name(), t.name, c.name, r.text)
        })
        .collect()
}

/// The port's name_bind denials in the audit log (for its protocol's socket class).
fn bind_denials(s: &Selinux, proto: Proto, port: u16) -> Vec<&AvcDenial> {
    let class = match proto {
        Proto::Tcp => "tcp_socket",
        Proto::Udp => "udp_socket",
    };
    s.denials
        .known()
        .map(|d| d.iter().filter(|a| a.permission == "name_bind" && a.port == Some(port) && a.class == class).collect())
        .unwrap_or_default()
}

/// SELinux runs in another mode at next boot.
fn drifting(s: &Selinux) -> bool {
    s.at_boot.is_some_and(|b| b != s.mode)
}

/// What SELinux's state says about the port, before it is put in words.
enum Finding<'a> {
    /// It listens, SELinux enforces, and these rules label packets: the listener's `recv` is
    /// checked too.
    Secmark(Vec<String>),
    /// It listens: bind() already succeeded.
    Listening,
    /// Nothing listens, and no bind denial SELinux enforced explains it.
    NoEnforcedDenial,
    /// Nothing listens, and SELinux denied the bind (the last such denial).
    BindDenied(&'a AvcDenial),
}

/// What SELinux's state says about the port (`denials`: its bind denials).
fn decide<'a>(ev: &HostEvidence, s: &Selinux, listening: bool, denials: &[&'a AvcDenial]) -> Finding<'a> {
    if listening {
        let labeled = if s.mode == SelinuxMode::Enforcing { secmark_rules(ev) } else { vec![] };
        return if labeled.is_empty() { Finding::Listening } else { Finding::Secmark(labeled) };
    }
    match denials.iter().rfind(|a| !a.permissive) {
        Some(avc) if s.mode == SelinuxMode::Enforcing => Finding::BindDenied(avc),
        _ => Finding::NoEnforcedDenial,
    }
}

/// A listening port where packets are labeled: a warning naming the rules and the enforced
/// `recv` denials.
fn secmark_check(s: &Selinux, flow: &str, labeled: Vec<String>, mut evidence: Vec<String>) -> Check {
    let recv: Vec<String> = s
        .denials
        .known()
        .into_iter()
        .flatten()
        .filter(|a| a.permission.split_whitespace().any(|p| p == "recv") && !a.permissive)
        .map(|a| format!("{} ({})", a.line, s.denials.from))
        .collect();
    evidence.extend(labeled);
    let seen = recv.len();
    evidence.extend(recv);
    evidence.push(
        "with SECMARK, SELinux checks `packet recv` for the listening domain: find denials with `ausearch -m avc -ts recent | grep recv`".to_string(),
    );
    let summary = if seen > 0 {
        format!(
            "SELinux labels packets here (SECMARK) and denied {seen} packet receive(s): it may be dropping {flow} to the listener"
        )
    } else {
        format!(
            "SELinux labels packets here (SECMARK): besides bind(), it checks each packet the listener on {flow} receives"
        )
    };
    check(CheckStatus::Warn, summary).with_evidence(evidence)
}

/// A listening port: never SELinux's doing (`denials`: its earlier bind denials).
fn listening_check(s: &Selinux, flow: &str, denials: usize, evidence: Vec<String>) -> Check {
    let mut summary = format!(
        "SELinux ({}) checks bind(), not packets to a socket that listens: it does not block {flow}",
        s.mode.as_str()
    );
    if denials > 0 {
        summary += &format!(" ({denials} earlier bind denial(s) in the audit log no longer apply)");
    }
    let status = if drifting(s) { CheckStatus::Warn } else { CheckStatus::Pass };
    check(status, summary).with_evidence(evidence)
}

/// Nothing listens and SELinux is not why: its denials unread, only logged, or none.
fn no_enforced_denial_check(s: &Selinux, flow: &str, denials: &[&AvcDenial], mut evidence: Vec<String>) -> Check {
    let (status, summary) = match (&s.denials.fact, denials.is_empty()) {
        (Knowledge::Unavailable(m), _) => {
            evidence.push(m.describe());
            (CheckStatus::Unknown, format!("SELinux is {}: its denials could not be read", s.mode.as_str()))
        }
        (_, false) => {
            (CheckStatus::Warn, format!("SELinux logged bind denials for {flow} but allowed them (permissive)"))
        }
        (_, true) => (CheckStatus::Pass, format!("SELinux ({}) denied no bind to {flow}", s.mode.as_str())),
    };
    evidence.extend(denials.iter().map(|a| format!("{} ({})", a.line, s.denials.from)));
    let status = if drifting(s) && status == CheckStatus::Pass { CheckStatus::Warn } else { status };
    check(status, summary).with_evidence(evidence)
}

/// Label the port for the domain (added when it has no specific label, else modified), restart
/// the service: `comm`, the denied process's name, when the audit record gave it.
fn bind_fixes(avc: &AvcDenial, label: Option<&PortLabel>, comm: Option<&str>, proto: Proto, port: u16) -> Vec<Fix> {
    let want = port_type_for(&avc.domain);
    // A port that already has a specific label is modified; an unlabeled one is added.
    let unlabeled = label
        .is_none_or(|l| matches!(l.label.as_str(), "unreserved_port_t" | "reserved_port_t" | "hi_reserved_port_t"));
    let semanage = ShellCommand::new(if unlabeled { "semanage port -a -t" } else { "semanage port -m -t" });
    vec![
        Fix::run(semanage.arg(&want).lit("-p").arg(proto).arg(port)),
        match comm {
            Some(who) => Fix::text(format!("then restart the service ({who}), e.g. "))
                .then_run(ShellCommand::new("systemctl restart").arg(who)),
            // A domain is no unit name: say how to find the process instead of guessing one.
            None => Fix::text(format!("then restart the service whose processes run in {}, listed by ", avc.domain))
                .then_run(ShellCommand::new("ps -eZ | grep").arg(&avc.domain)),
        },
        Fix::text("never switch SELinux off for this: the label is the whole fix"),
    ]
}

/// SELinux denied the bind: `SELINUX_BIND_DENIED`, citing the denial.
fn bind_denied(
    s: &Selinux,
    avc: &AvcDenial,
    label: Option<&PortLabel>,
    (proto, port): (Proto, u16),
    mut evidence: Vec<String>,
) -> (Check, Option<Cause>) {
    let who = match &avc.comm {
        Some(comm) => format!("{comm} ({})", avc.domain),
        None => format!("a process in {}", avc.domain),
    };
    let msg = format!(
        "SELinux stops {who} binding {proto}/{port}: the port is labeled {}, which {} may not bind",
        avc.target_type, avc.domain
    );
    evidence.push(format!("{} ({})", avc.line, s.denials.from));
    let cause = Cause::blocking(CauseCode::SelinuxBindDenied, &avc.domain, Confidence::Confirmed, msg.clone())
        .with_evidence(evidence.clone())
        .with_fix(bind_fixes(avc, label, avc.comm.as_deref(), proto, port));
    (check(CheckStatus::Fail, msg).with_evidence(evidence), Some(cause))
}

/// The SELinux check for this port, and `SELINUX_BIND_DENIED` when it explains why nothing listens.
pub fn judge(ev: &HostEvidence, proto: Proto, port: u16, listening: bool) -> (Check, Option<Cause>) {
    let s = match &ev.selinux.fact {
        Knowledge::Known(None) => return (check(CheckStatus::Skipped, "SELinux is not in this kernel"), None),
        Knowledge::Unavailable(m) => {
            return (check(CheckStatus::Unknown, "Could not read SELinux's state").with_evidence([m.describe()]), None);
        }
        Knowledge::Known(Some(s)) => s,
    };
    let flow = format!("{proto}/{port}");
    let label = s.label_of(proto, port);
    let mut evidence = vec![format!("SELinux {} ({}, {})", mode_text(s), ev.selinux.from, s.config_from)];
    if let Some(l) = label {
        evidence.push(format!("{flow} is labeled {} (semanage port -l)", l.label));
    }
    let denials = bind_denials(s, proto, port);
    match decide(ev, s, listening, &denials) {
        Finding::Secmark(labeled) => (secmark_check(s, &flow, labeled, evidence), None),
        Finding::Listening => (listening_check(s, &flow, denials.len(), evidence), None),
        Finding::NoEnforcedDenial => (no_enforced_denial_check(s, &flow, &denials, evidence), None),
        Finding::BindDenied(avc) => bind_denied(s, avc, label, (proto, port), evidence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portdoctor_model::host::{AvcDenial, PortLabel};

    fn with(mode: SelinuxMode, at_boot: SelinuxMode, permissive: bool, label: &str) -> HostEvidence {
        let mut ev = crate::host::tests::evidence(vec![]);
        ev.selinux.fact = Knowledge::Known(Some(Selinux {
            mode,
            at_boot: Some(at_boot),
            policy: Some("targeted".into()),
            config_from: portdoctor_model::EvidenceSource::named("selinux-config.txt"),
            ports: Knowledge::Known(vec![PortLabel { label: label.into(), proto: Proto::Tcp, from: 8080, to: 8080 }]),
            denials: crate::host::tests::fact(
                "audit-avc.txt",
                Knowledge::Known(vec![AvcDenial {
                    permission: "name_bind".into(),
                    comm: Some("java".into()),
                    pid: Some(9),
                    port: Some(8080),
                    domain: "tomcat_t".into(),
                    target_type: label.into(),
                    class: "tcp_socket".into(),
                    permissive,
                    time: None,
                    line: "avc: denied { name_bind }".into(),
                }]),
            ),
        }));
        ev
    }

    #[test]
    fn secmark_rules_make_a_listening_port_a_warning_with_the_recv_denials() {
        let mut ev = with(SelinuxMode::Enforcing, SelinuxMode::Enforcing, false, "http_port_t");
        let save = "*security\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j SECMARK --selctx system_u:object_r:http_packet_t:s0\nCOMMIT\n";
        let tables = portdoctor_parse::iptables::parse_save(
            "t",
            save,
            portdoctor_model::firewall::Backend::IptablesNft,
            portdoctor_model::firewall::FwFamily::Ip,
        )
        .unwrap();
        assert_eq!(tables[0].chains[0].rules[0].action, portdoctor_model::firewall::Action::Continue);
        ev.netfilter = Knowledge::Known(portdoctor_model::firewall::Netfilter { tables, ..Default::default() });
        if let Knowledge::Known(Some(s)) = &mut ev.selinux.fact {
            s.denials.fact = Knowledge::Known(vec![AvcDenial {
                permission: "recv".into(),
                comm: Some("java".into()),
                pid: Some(9),
                port: None,
                domain: "tomcat_t".into(),
                target_type: "http_packet_t".into(),
                class: "packet".into(),
                permissive: false,
                time: None,
                line: "avc: denied { recv } for pid=9 comm=\"java\" scontext=system_u:system_r:tomcat_t:s0 tcontext=system_u:object_r:http_packet_t:s0 tclass=packet".into(),
            }]);
        }
        let (c, cause) = judge(&ev, Proto::Tcp, 8080, true);
        assert!(cause.is_none());
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c.summary.contains("denied 1 packet receive"), "{}", c.summary);
        assert!(c.evidence.iter().any(|e| e.contains("SECMARK --selctx")), "{:?}", c.evidence);
    }

    #[test]
    fn a_labeled_port_is_modified_not_added() {
        let (c, cause) = judge(
            &with(SelinuxMode::Enforcing, SelinuxMode::Enforcing, false, "http_cache_port_t"),
            Proto::Tcp,
            8080,
            false,
        );
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(cause.unwrap().fix[0], "semanage port -m -t http_port_t -p tcp 8080");
    }

    #[test]
    fn permissive_denials_and_boot_drift_warn_without_blaming() {
        let (c, cause) = judge(
            &with(SelinuxMode::Permissive, SelinuxMode::Enforcing, true, "http_cache_port_t"),
            Proto::Tcp,
            8080,
            false,
        );
        assert!(cause.is_none());
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c.evidence[0].contains("permissive now, enforcing at next boot"), "{:?}", c.evidence);
        let (c, cause) =
            judge(&with(SelinuxMode::Enforcing, SelinuxMode::Enforcing, false, "x"), Proto::Tcp, 8080, true);
        assert!(cause.is_none(), "a listening port is never SELinux's doing");
        assert!(c.summary.contains("no longer apply"));
    }

    /// Each way `judge` ends, its check and cause in full.
    #[test]
    fn judge_spells_each_branch() {
        use crate::host::tests::spelled;
        let ask = |ev: &HostEvidence, proto: Proto, listening: bool| {
            let (check, cause) = judge(ev, proto, 8080, listening);
            spelled((check, cause.into_iter().collect()))
        };
        let enforcing =
            |permissive: bool, label: &str| with(SelinuxMode::Enforcing, SelinuxMode::Enforcing, permissive, label);
        let mut absent = enforcing(false, "x");
        absent.selinux.fact = Knowledge::Known(None);
        let mut unread = enforcing(false, "x");
        unread.selinux.fact = Knowledge::Unavailable(portdoctor_model::Missing::new("SELinux", "no access", "sudo"));
        let save = "*security\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j SECMARK --selctx system_u:object_r:http_packet_t:s0\nCOMMIT\n";
        let mut secmark = enforcing(false, "http_port_t");
        secmark.netfilter = Knowledge::Known(portdoctor_model::firewall::Netfilter {
            tables: portdoctor_parse::iptables::parse_save(
                "t",
                save,
                portdoctor_model::firewall::Backend::IptablesNft,
                portdoctor_model::firewall::FwFamily::Ip,
            )
            .unwrap(),
            ..Default::default()
        });
        let mut secmark_recv = secmark.clone();
        let edit = |ev: &mut HostEvidence, f: &dyn Fn(&mut Selinux)| {
            if let Knowledge::Known(Some(s)) = &mut ev.selinux.fact {
                f(s)
            }
        };
        edit(&mut secmark_recv, &|s| {
            if let Knowledge::Known(d) = &mut s.denials.fact {
                d[0].permission = "recv".into();
                d[0].line = "avc: denied { recv }".into();
            }
        });
        let mut denials_unread = with(SelinuxMode::Permissive, SelinuxMode::Permissive, false, "x");
        edit(&mut denials_unread, &|s| {
            s.denials.fact = Knowledge::Unavailable(portdoctor_model::Missing::new("audit log", "no access", "sudo"))
        });
        let mut none_denied = enforcing(false, "x");
        edit(&mut none_denied, &|s| s.denials.fact = Knowledge::Known(vec![]));
        let mut none_denied_drifting = with(SelinuxMode::Enforcing, SelinuxMode::Permissive, false, "x");
        edit(&mut none_denied_drifting, &|s| s.denials.fact = Knowledge::Known(vec![]));
        let mut unlabeled_no_comm = enforcing(false, "unreserved_port_t");
        edit(&mut unlabeled_no_comm, &|s| {
            s.ports = Knowledge::Known(vec![]);
            if let Knowledge::Known(d) = &mut s.denials.fact {
                d[0].comm = None;
                d[0].domain = "myapp_t".into();
            }
        });
        let text = [
            ask(&absent, Proto::Tcp, false),
            ask(&unread, Proto::Tcp, false),
            ask(&secmark, Proto::Tcp, true),
            ask(&secmark_recv, Proto::Tcp, true),
            ask(&with(SelinuxMode::Permissive, SelinuxMode::Enforcing, true, "x"), Proto::Tcp, true),
            ask(&none_denied, Proto::Tcp, true),
            ask(&denials_unread, Proto::Tcp, false),
            ask(&with(SelinuxMode::Permissive, SelinuxMode::Permissive, true, "x"), Proto::Tcp, false),
            ask(&none_denied, Proto::Tcp, false),
            ask(&none_denied_drifting, Proto::Tcp, false),
            ask(&enforcing(true, "x"), Proto::Tcp, false),
            ask(&enforcing(false, "http_cache_port_t"), Proto::Tcp, false),
            ask(&enforcing(false, "http_cache_port_t"), Proto::Udp, false),
            ask(&unlabeled_no_comm, Proto::Tcp, false),
        ]
        .join("--\n");
        assert_eq!(
            text,
            concat!(
                "Skipped: SELinux is not in this kernel\n",
                "--\n",
                "Unknown: Could not read SELinux's state\n",
                "  SELinux unavailable: no access; to get it: sudo\n",
                "--\n",
                "Warn: SELinux labels packets here (SECMARK): besides bind(), it checks each packet the listener on tcp/8080 receives\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled http_port_t (semanage port -l)\n",
                "  iptables (nf_tables backend) table security chain INPUT: -A INPUT -p tcp -m tcp --dport 8080 -j SECMARK --selctx system_u:object_r:http_packet_t:s0 (labels packets for SELinux)\n",
                "  with SECMARK, SELinux checks `packet recv` for the listening domain: find denials with `ausearch -m avc -ts recent | grep recv`\n",
                "--\n",
                "Warn: SELinux labels packets here (SECMARK) and denied 1 packet receive(s): it may be dropping tcp/8080 to the listener\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled http_port_t (semanage port -l)\n",
                "  iptables (nf_tables backend) table security chain INPUT: -A INPUT -p tcp -m tcp --dport 8080 -j SECMARK --selctx system_u:object_r:http_packet_t:s0 (labels packets for SELinux)\n",
                "  avc: denied { recv } (audit-avc.txt)\n",
                "  with SECMARK, SELinux checks `packet recv` for the listening domain: find denials with `ausearch -m avc -ts recent | grep recv`\n",
                "--\n",
                "Warn: SELinux (permissive) checks bind(), not packets to a socket that listens: it does not block tcp/8080 (1 earlier bind denial(s) in the audit log no longer apply)\n",
                "  SELinux permissive now, enforcing at next boot (/etc/selinux/config): what works now may not after a reboot (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "--\n",
                "Pass: SELinux (enforcing) checks bind(), not packets to a socket that listens: it does not block tcp/8080\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "--\n",
                "Unknown: SELinux is permissive: its denials could not be read\n",
                "  SELinux permissive (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "  audit log unavailable: no access; to get it: sudo\n",
                "--\n",
                "Warn: SELinux logged bind denials for tcp/8080 but allowed them (permissive)\n",
                "  SELinux permissive (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "  avc: denied { name_bind } (audit-avc.txt)\n",
                "--\n",
                "Pass: SELinux (enforcing) denied no bind to tcp/8080\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "--\n",
                "Warn: SELinux (enforcing) denied no bind to tcp/8080\n",
                "  SELinux enforcing now, permissive at next boot (/etc/selinux/config): what works now may not after a reboot (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "--\n",
                "Warn: SELinux logged bind denials for tcp/8080 but allowed them (permissive)\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled x (semanage port -l)\n",
                "  avc: denied { name_bind } (audit-avc.txt)\n",
                "--\n",
                "Fail: SELinux stops java (tomcat_t) binding tcp/8080: the port is labeled http_cache_port_t, which tomcat_t may not bind\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled http_cache_port_t (semanage port -l)\n",
                "  avc: denied { name_bind } (audit-avc.txt)\n",
                "cause SelinuxBindDenied [tomcat_t] Confirmed: SELinux stops java (tomcat_t) binding tcp/8080: the port is labeled http_cache_port_t, which tomcat_t may not bind\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  tcp/8080 is labeled http_cache_port_t (semanage port -l)\n",
                "  avc: denied { name_bind } (audit-avc.txt)\n",
                "  fix: semanage port -m -t http_port_t -p tcp 8080\n",
                "  fix: then restart the service (java), e.g. systemctl restart java\n",
                "  fix: never switch SELinux off for this: the label is the whole fix\n",
                "--\n",
                "Pass: SELinux (enforcing) denied no bind to udp/8080\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "--\n",
                "Fail: SELinux stops a process in myapp_t binding tcp/8080: the port is labeled unreserved_port_t, which myapp_t may not bind\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  avc: denied { name_bind } (audit-avc.txt)\n",
                "cause SelinuxBindDenied [myapp_t] Confirmed: SELinux stops a process in myapp_t binding tcp/8080: the port is labeled unreserved_port_t, which myapp_t may not bind\n",
                "  SELinux enforcing (selinux-enforce.txt, selinux-config.txt)\n",
                "  avc: denied { name_bind } (audit-avc.txt)\n",
                "  fix: semanage port -a -t myapp_port_t -p tcp 8080\n",
                "  fix: then restart the service whose processes run in myapp_t, listed by ps -eZ | grep myapp_t\n",
                "  fix: never switch SELinux off for this: the label is the whole fix\n",
            )
        );
    }
}
