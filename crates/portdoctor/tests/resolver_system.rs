//! The name the user typed, resolved by the real system resolver (getaddrinfo, /etc/hosts):
//! portdoctor runs in a private mount namespace (`unshare -m`) where a temporary hosts file is
//! bind-mounted over /etc/hosts, so the host's own /etc/hosts is never touched. The name holds
//! 127.0.0.1 and ::1; a listener answers on 127.0.0.1 only, so the verdict must say that the
//! IPv4 address answers and the IPv6 one does not. Only loopback is probed. Needs root.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::net::TcpListener;
use std::process::Command;

const NAME: &str = "web.pd-family.test";

#[test]
fn the_system_resolver_answers_both_families_and_every_address_is_probed() {
    if !nix_is_root() {
        eprintln!("skipped: needs root for unshare -m");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("pd-family-hosts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 {NAME}\n::1 {NAME}\n")).unwrap();
    // The bind mount lives and dies with the private mount namespace of this one command.
    let script = r#"mount --bind "$1" /etc/hosts && shift && exec "$@""#;
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(&hosts)
        .arg(env!("CARGO_BIN_EXE_portdoctor"))
        .args([
            "diagnose",
            &format!("{NAME}:{port}"),
            "--control-port",
            &port.to_string(),
            "--timeout-ms",
            "500",
            "--json",
        ])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    drop(listener);
    let r: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let check = |id: &str| {
        r["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap_or_else(|| panic!("{id}: {r:#}"))
    };
    assert_eq!(r["query"]["target"], "127.0.0.1", "IPv4 first: {r:#}");
    let v4 = check("path.probe");
    assert_eq!(v4["status"], "pass");
    assert!(v4["summary"].as_str().unwrap().contains("to 127.0.0.1"), "{v4}");
    let v6 = check("path.probe.2");
    assert_eq!(v6["status"], "fail");
    assert!(v6["summary"].as_str().unwrap().contains("to ::1"), "{v6}");
    let apart = check("path.addresses");
    let summary = apart["summary"].as_str().unwrap();
    assert!(summary.contains("answers at 127.0.0.1 but not at ::1 (refused)"), "{summary}");
    assert_eq!(r["verdict"]["status"], "inconclusive", "no layer explains the IPv6 refusal: {r:#}");
    // The host's own /etc/hosts never saw the name.
    assert!(!std::fs::read_to_string("/etc/hosts").unwrap_or_default().contains(NAME));
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
