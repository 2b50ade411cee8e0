//! SELinux as RHEL-family systems print it: `/sys/fs/selinux/enforce` (`1`/`0`), `getenforce`,
//! `/etc/selinux/config` (`SELINUX=enforcing`, `SELINUXTYPE=targeted`), `semanage port -l`, and
//! AVC records from the audit log (`type=AVC msg=audit(…): avc:  denied  { name_bind } for
//! pid=… comm="nginx" src=8081 scontext=…:httpd_t:s0 tcontext=…:unreserved_port_t:s0
//! tclass=tcp_socket permissive=0`). Lines that do not read are skipped with a note.

use crate::ParseError;
use portdoctor_model::host::{AvcDenial, PortLabel, SelinuxMode};
use portdoctor_model::net::Proto;

fn mode(word: &str) -> Option<SelinuxMode> {
    match word.trim().to_ascii_lowercase().as_str() {
        "1" | "enforcing" => Some(SelinuxMode::Enforcing),
        "0" | "permissive" => Some(SelinuxMode::Permissive),
        "disabled" => Some(SelinuxMode::Disabled),
        _ => None,
    }
}

/// `/sys/fs/selinux/enforce` or `getenforce` output.
pub fn parse_enforce(file: &str, text: &str) -> Result<SelinuxMode, ParseError> {
    mode(text)
        .ok_or_else(|| ParseError::new(file, "line 1", format!("{} is not an SELinux mode", crate::excerpt(text))))
}

/// `/etc/selinux/config`: (mode at boot, policy type).
pub fn parse_config(text: &str) -> (Option<SelinuxMode>, Option<String>) {
    let mut out = (None, None);
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if let Some(v) = line.strip_prefix("SELINUX=") {
            out.0 = mode(v.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("SELINUXTYPE=") {
            out.1 = Some(v.trim_matches('"').to_string());
        }
    }
    out
}

/// `semanage port -l`: `http_port_t  tcp  80, 81, 443, 8008-8009`.
pub fn parse_semanage_ports(file: &str, text: &str, notes: &mut Vec<String>) -> Vec<PortLabel> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        let (Some(label), Some(proto)) = (words.next(), words.next()) else { continue };
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => continue, // the header, sctp, dccp
        };
        for range in words.collect::<Vec<_>>().join("").split(',').filter(|r| !r.is_empty()) {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            match (a.parse(), b.parse()) {
                (Ok(from), Ok(to)) if from <= to => out.push(PortLabel { label: label.to_string(), proto, from, to }),
                _ => notes.push(format!("{file}: line {}: port range '{range}' not read", n + 1)),
            }
        }
    }
    out
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key)).map(|v| v.trim_matches('"'))
}

/// The type of an SELinux context `user:role:type:level`.
fn context_type(ctx: &str) -> Option<&str> {
    ctx.split(':').nth(2)
}

/// AVC denial records, wherever they sit in the text (audit.log, `ausearch` output, journal).
pub fn parse_avc(file: &str, text: &str, notes: &mut Vec<String>) -> Vec<AvcDenial> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(at) = line.find("avc:") else { continue };
        let rec = &line[at..];
        if !rec.contains("denied") {
            continue;
        }
        let permission = rec.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(p, _)| p.trim().to_string());
        let domain = field(rec, "scontext=").and_then(context_type);
        let target = field(rec, "tcontext=").and_then(context_type);
        let (Some(permission), Some(domain), Some(target)) = (permission, domain, target) else {
            notes.push(format!("{file}: line {}: AVC record not read", n + 1));
            continue;
        };
        let port = field(rec, "src=").or_else(|| field(rec, "dest=")).and_then(|p| p.parse().ok());
        let time = line.split_once("audit(").and_then(|(_, r)| r.split(['.', ':']).next()).and_then(|s| s.parse().ok());
        out.push(AvcDenial {
            permission,
            comm: field(rec, "comm=").map(str::to_string),
            pid: field(rec, "pid=").and_then(|p| p.parse().ok()),
            port,
            domain: domain.to_string(),
            target_type: target.to_string(),
            class: field(rec, "tclass=").unwrap_or("").to_string(),
            permissive: field(rec, "permissive=") == Some("1"),
            time,
            line: line.trim().to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rhel_outputs() {
        assert_eq!(parse_enforce("e", "1\n").unwrap(), SelinuxMode::Enforcing);
        assert_eq!(parse_enforce("e", "Permissive\n").unwrap(), SelinuxMode::Permissive);
        assert!(parse_enforce("e", "maybe").is_err());
        let (boot, policy) =
            parse_config("# This file controls the state of SELinux\nSELINUX=enforcing\nSELINUXTYPE=targeted\n");
        assert_eq!((boot, policy.as_deref()), (Some(SelinuxMode::Enforcing), Some("targeted")));
        let mut notes = vec![];
        let ports = parse_semanage_ports(
            "s",
            "SELinux Port Type              Proto    Port Number\n\nhttp_cache_port_t              tcp      8080, 8118, 8123, 10001-10010\nhttp_port_t                    tcp      80, 81, 443, 488, 8008, 8009, 8443, 9000\nssh_port_t                     tcp      22\nunreserved_port_t              tcp      1024-32767, 32768-60999, 61000-65535\n",
            &mut notes,
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(ports.iter().filter(|p| p.label == "http_port_t").count(), 8);
        assert!(ports.iter().any(|p| p.label == "http_cache_port_t" && p.from == 10001 && p.to == 10010));
        let avc = parse_avc(
            "a",
            "type=AVC msg=audit(1795576320.512:3187): avc:  denied  { name_bind } for  pid=48211 comm=\"nginx\" src=8081 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket permissive=0\ntype=SYSCALL msg=audit(1795576320.512:3187): arch=c000003e syscall=49 success=no exit=-13\ntype=AVC msg=audit(1): avc: denied garbage\n",
            &mut notes,
        );
        assert_eq!(avc.len(), 1);
        let a = &avc[0];
        assert_eq!(
            (a.permission.as_str(), a.port, a.domain.as_str(), a.target_type.as_str()),
            ("name_bind", Some(8081), "httpd_t", "unreserved_port_t")
        );
        assert_eq!(
            (a.comm.as_deref(), a.pid, a.permissive, a.time),
            (Some("nginx"), Some(48211), false, Some(1_795_576_320))
        );
        assert_eq!(notes.len(), 1);
    }
}
