//! The binary's outside contract without namespaces: formats, exit codes, bad input, snapshots.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn portdoctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(args).output().expect("run portdoctor")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/host-loopback-only").display().to_string()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

/// A writable copy of the bundled example, to break on purpose.
fn scratch_copy(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portdoctor-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(example()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

/// Exit 2, exactly one line on stderr, nothing on stdout (CONTRACT.md §2).
fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{stderr:?} should mention {needle:?}");
}

#[test]
fn bundled_example_is_blocked_by_a_loopback_listener() {
    let out = portdoctor(&["host", "--snapshot", &example(), "--port", "8080", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["verdict"]["causes"][0]["code"], "LISTENER_LOOPBACK_ONLY");
    assert!(r["verdict"]["summary"].as_str().unwrap().starts_with("nginx (pid "));
    let hops: Vec<&str> = r["path"].as_array().unwrap().iter().map(|h| h["hop"].as_str().unwrap()).collect();
    assert_eq!(hops, ["nic", "host-firewall", "kernel", "listener"]);
    let skipped: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "skipped")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!skipped.contains(&"host.rp-filter"), "{skipped:?}");
    let fw = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.firewall").unwrap();
    assert_eq!(fw["status"], "pass", "{fw:#}");
}

#[test]
fn the_other_port_of_the_example_is_reachable() {
    let out = portdoctor(&["host", "--snapshot", &example(), "--port", "22"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("REACHABLE: tcp/22 to 10.0.1.10 from internet\n"), "{text}");
}

#[test]
fn text_verbose_and_markdown() {
    let out = portdoctor(&["host", "--snapshot", &example(), "--port", "8080", "--verbose"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let verdict = text.find("BLOCKED").unwrap();
    let cause = text.find("LISTENER_LOOPBACK_ONLY").unwrap();
    let checks = text.find("[pass   ] host.address").unwrap();
    assert!(verdict < cause && cause < checks, "verdict, then causes, then every check:\n{text}");
    let out = portdoctor(&["host", "--snapshot", &example(), "--port", "8080", "--format", "markdown"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("## portdoctor: **blocked**"), "{md}");
    assert!(md.contains("| listener | `tcp 127.0.0.1:8080` | ✗ fail |"), "{md}");
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let path = std::env::temp_dir().join(format!("portdoctor-cli-out-{}.json", std::process::id()));
    let out =
        portdoctor(&["host", "--snapshot", &example(), "--port", "8080", "--json", "--output", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(r["verdict"]["status"], "blocked");
}

#[test]
fn conntrack_table_full_from_a_snapshot() {
    let out = portdoctor(&["host", "--snapshot", &fixture("host-conntrack-full"), "--port", "22", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["verdict"]["causes"][0];
    assert_eq!(c["code"], "CONNTRACK_TABLE_FULL");
    assert_eq!(c["layer"], "host");
    let ev = c["evidence"].to_string();
    assert!(ev.contains("nf_conntrack_count = 262144, nf_conntrack_max = 262144"), "{ev}");
    assert!(ev.contains("drop 512, early_drop 37"), "{ev}");
}

#[test]
fn bad_ports_and_flags_are_usage_errors() {
    assert_usage_error(&portdoctor(&["host", "--port", "0"]), "0");
    assert_usage_error(&portdoctor(&["host", "--port", "70000"]), "70000");
    assert_usage_error(&portdoctor(&["host", "--port", "80", "--frobnicate"]), "--frobnicate");
    assert_usage_error(&portdoctor(&["host", "--port", "80", "--proto", "sctp"]), "sctp");
    assert_usage_error(&portdoctor(&["host", "--port", "80", "--from", "10.0.0.0/33"]), "10.0.0.0/33");
    assert_usage_error(&portdoctor(&["host", "--port", "80", "--snapshot", &example(), "--format", "pdf"]), "pdf");
    assert_usage_error(&portdoctor(&["cloud", "--port", "80", "--snapshot", &example()]), "--instance");
    assert_usage_error(&portdoctor(&["cloud", "--port", "80", "--public-ip", "x", "--snapshot", &example()]), "'x'");
    assert_usage_error(&portdoctor(&["cloud", "--port", "80", "--instance", "i-1", "--client-ports", "9-1"]), "9-1");
    assert_usage_error(&portdoctor(&["host"]), "--port");
}

#[test]
fn malformed_snapshot_file_names_file_and_field() {
    let dir = scratch_copy("malformed");
    std::fs::write(
        dir.join("sockets.json"),
        r#"[{"proto":"tcp","state":"LISTEN","local":"not-an-ip","port":1,"recv_q":0,"send_q":0,"uid":0,"inode":1}]"#,
    )
    .unwrap();
    assert_usage_error(
        &portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "80"]),
        "sockets.json: line 1",
    );
    std::fs::write(dir.join("sockets.json"), "[]").unwrap();
    std::fs::write(
        dir.join("ip-addr.json"),
        r#"[{"ifindex":1,"ifname":"lo","addr_info":[{"local":"10.0.0.1","prefixlen":40}]}]"#,
    )
    .unwrap();
    assert_usage_error(
        &portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "80"]),
        "ip-addr.json: [0].addr_info[0].prefixlen",
    );
    let truncated = std::fs::read_to_string(example() + "/proc-net-netstat.txt").unwrap();
    std::fs::write(dir.join("ip-addr.json"), std::fs::read(example() + "/ip-addr.json").unwrap()).unwrap();
    std::fs::write(dir.join("proc-net-netstat.txt"), &truncated[..truncated.len() / 3]).unwrap();
    assert_usage_error(
        &portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "80"]),
        "proc-net-netstat.txt: ",
    );
    std::fs::write(dir.join("manifest.json"), "{ not json").unwrap();
    assert_usage_error(
        &portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "80"]),
        "manifest.json: line 1",
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_usage_error(
        &portdoctor(&["host", "--snapshot", "/nonexistent/snap", "--port", "80"]),
        "/nonexistent/snap: cannot read",
    );
}

#[test]
fn a_source_missing_from_the_snapshot_is_unknown_not_a_guess() {
    let dir = scratch_copy("missing");
    std::fs::remove_file(dir.join("sockets.json")).unwrap();
    let out = portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "8080", "--json"]);
    // The manifest lists sockets.json as obtained, so its absence is an input error...
    assert_eq!(out.status.code(), Some(2));
    // ...while a hand-assembled folder without a manifest just lacks that evidence.
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let out = portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "8080", "--json"]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(3), "inconclusive");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listener = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.listener").unwrap();
    assert_eq!(listener["status"], "unknown");
    assert!(listener["evidence"][0].as_str().unwrap().contains("portdoctor snapshot host"), "{listener:#}");
    assert!(r["notes"][0].as_str().unwrap().contains("no manifest.json"));
}

#[test]
fn a_tool_that_was_missing_when_the_snapshot_was_taken_is_unknown_with_the_remedy() {
    let dir = scratch_copy("toolmissing");
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut m: Value = serde_json::from_str(&manifest).unwrap();
    m["sources"]["ip-addr.json"] = serde_json::json!({"command": "ip -j addr show", "outcome": "tool-missing", "stderr": "No such file or directory (os error 2)"});
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let out = portdoctor(&["host", "--snapshot", dir.to_str().unwrap(), "--port", "8080", "--json"]);
    std::fs::remove_dir_all(&dir).ok();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let addr = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.address").unwrap();
    assert_eq!(addr["status"], "unknown");
    assert!(addr["evidence"][0].as_str().unwrap().contains("install iproute2"), "{addr:#}");
    // The loopback listener is still wrong whatever the arrival address: still blocked.
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn colour_only_when_asked_or_at_a_terminal() {
    let plain = portdoctor(&["host", "--snapshot", &example(), "--port", "8080"]);
    assert!(!plain.stdout.contains(&0x1b), "a pipe gets no escape codes");
    let coloured = portdoctor(&["host", "--snapshot", &example(), "--port", "8080", "--color", "always"]);
    let text = String::from_utf8(coloured.stdout).unwrap();
    assert!(text.starts_with("\x1b[1;31mBLOCKED\x1b[0m"), "{text:?}");
    assert!(text.contains("Path: nic \x1b[32m✓\x1b[0m  firewall"), "{text:?}");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let bash = String::from_utf8(portdoctor(&["completions", "bash"]).stdout).unwrap();
    assert!(bash.contains("_portdoctor()") && bash.contains("--snapshot"), "{bash}");
    let man = String::from_utf8(portdoctor(&["manpage"]).stdout).unwrap();
    assert!(man.contains(".TH portdoctor 1") && man.contains("snapshot"), "{man}");
}

#[test]
fn help_and_version_exit_zero() {
    let out = portdoctor(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("host"));
    let out = portdoctor(&["--version"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), concat!("portdoctor ", env!("CARGO_PKG_VERSION")));
}

#[test]
fn live_run_on_this_machine_prints_a_valid_report() {
    let out = portdoctor(&["host", "--port", "22", "--json"]);
    let code = out.status.code().unwrap();
    assert!([0, 1, 3].contains(&code), "exit {code}: {}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["query"]["port"], 22);
}

fn seed_case() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-incident").display().to_string()
}

/// The README's first command: the seed incident, every layer joined from its case folder.
#[test]
fn seed_incident_case_folder() {
    let out = portdoctor(&["diagnose", "203.0.113.10:8080", "--snapshot", &seed_case(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let causes: Vec<(&str, &str, bool)> = r["verdict"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap(), c["confidence"].as_str().unwrap(), c["blocking"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        causes,
        [
            ("ABUSE_BLOCK", "confirmed", true),
            ("UPSTREAM_FILTERED", "confirmed", true),
            ("INSTANCE_COMPROMISED", "confirmed", false)
        ]
    );
    assert_eq!(r["query"]["command"], "diagnose");
    assert_eq!(r["query"]["instance"], "i-0a1b2c3d4e5f60718");
    let hops: Vec<&str> = r["path"].as_array().unwrap().iter().map(|h| h["hop"].as_str().unwrap()).collect();
    assert_eq!(hops.first(), Some(&"internet"));
    assert_eq!(hops.get(1), Some(&"platform"));
    assert_eq!(hops.last(), Some(&"listener"));
    let timeline = r["timeline"].as_array().unwrap();
    assert_eq!(timeline[0]["source"], "support", "newest first");
    // The text report for a person leads with the verdict and the primary cause.
    let out = portdoctor(&["diagnose", "203.0.113.10:8080", "--snapshot", &seed_case()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("BLOCKED: tcp/8080 to 203.0.113.10 (i-0a1b2c3d4e5f60718)"), "{text}");
}

/// Hostile strings in TARGET and --ssh are data, never code: nothing they name gets run.
#[test]
fn hostile_targets_and_ssh_destinations_are_never_executed() {
    let marker = std::env::temp_dir().join(format!("portdoctor-pwned-{}", std::process::id()));
    let m = marker.display().to_string();
    let payloads = [format!("$(touch {m})"), format!("`touch {m}`"), format!(";touch {m};"), format!("|touch {m}")];
    for p in &payloads {
        // As the target: it does not resolve, which is an unknown check, not a shell.
        let out = portdoctor(&["diagnose", &format!("{p}:8080"), "--json", "--control-port", "1"]);
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let resolve = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "path.resolve").unwrap();
        assert_eq!(resolve["status"], "unknown");
        // As the SSH destination: refused before ssh runs.
        let out = portdoctor(&["diagnose", "127.0.0.1:1", "--ssh", &format!("root@{p}")]);
        assert_usage_error(&out, "--ssh");
    }
    for p in ["-oProxyCommand=touch /tmp/x", "-F/etc/passwd"] {
        let out = portdoctor(&["diagnose", "127.0.0.1:1", &format!("--ssh={p}")]);
        assert_usage_error(&out, "may not start with '-'");
    }
    let out = portdoctor(&["diagnose", "--json", "--control-port", "1", "--", &format!("-$(touch {m}):80")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!marker.exists(), "a payload ran");
}

#[test]
fn probe_exit_codes_on_loopback() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = l.local_addr().unwrap().port().to_string();
    let out = portdoctor(&["probe", &format!("127.0.0.1:{open}"), "--json", "--control-port", &open]);
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["attempts"][0]["outcome"], "open");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let out = portdoctor(&["probe", "127.0.0.1", "--port", &closed, "--attempts", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused"));
    assert_usage_error(&portdoctor(&["probe", "127.0.0.1"]), "has no port");
}

/// Progress goes to stderr only for a person at a terminal, never in JSON mode.
#[test]
fn progress_on_a_terminal_only() {
    let run = |extra: &str| {
        let cmd = format!(
            "{} diagnose 127.0.0.1:1 --control-port 1 --timeout-ms 200 {extra}",
            env!("CARGO_BIN_EXE_portdoctor")
        );
        let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().expect("script (util-linux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run("").contains("portdoctor: probing 127.0.0.1:1 from here"), "{}", run(""));
    assert!(!run("--json").contains("portdoctor: probing"));
    let out = portdoctor(&["diagnose", "127.0.0.1:1", "--control-port", "1", "--timeout-ms", "200"]);
    assert!(out.stderr.is_empty(), "not a terminal: {}", String::from_utf8_lossy(&out.stderr));
}

/// Without CAP_NET_RAW the capture cannot open its socket: exit 2 with the exact remedy
/// (CONTRACT.md: capture exits 0 or 2). Run as root (CI), it is dropped to `nobody` with setpriv;
/// run by a user, it already is one.
#[test]
fn capture_without_cap_net_raw_says_how_to_get_it() {
    let args = ["capture", "--port", "8080", "--duration", "1"];
    let as_root = std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let out = if as_root {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
            .arg(env!("CARGO_BIN_EXE_portdoctor"))
            .args(args)
            .output()
            .expect("setpriv (util-linux)")
    } else {
        Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(args).output().unwrap()
    };
    assert_usage_error(&out, "setcap cap_net_raw+ep");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sudo"));
}

/// SELinux from a RHEL-format host snapshot: nginx's bind to 8081 denied (AVC name_bind) is the
/// reason nothing listens there; 8080 listens, and SELinux is never blamed for it.
#[test]
fn selinux_bind_denied_and_never_blamed_for_a_listening_port() {
    let dir = fixture("selinux-bind-denied");
    let out = portdoctor(&["host", "--snapshot", &dir, "--port", "8081", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let causes = r["verdict"]["causes"].as_array().unwrap();
    assert_eq!(causes[0]["code"], "SELINUX_BIND_DENIED");
    assert_eq!(causes[0]["fix"][0], "semanage port -a -t http_port_t -p tcp 8081");
    assert_eq!(causes[1]["code"], "NOT_LISTENING");
    // Why nothing listens, in systemd's and the journal's own words.
    let ev: Vec<&str> = causes[1]["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(ev.iter().any(|e| e.starts_with("nginx.service is failed")), "{ev:#?}");
    assert!(ev.iter().any(|e| e.contains("bind() to 0.0.0.0:8081 failed (13: Permission denied)")), "{ev:#?}");
    assert!(causes[1]["fix"][0].as_str().unwrap().starts_with("journalctl -u nginx.service"));
    let out = portdoctor(&["host", "--snapshot", &dir, "--port", "8080", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let se = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.selinux").unwrap();
    assert_eq!(se["status"], "pass");
    assert!(se["summary"].as_str().unwrap().contains("does not block"), "{se:#}");
    assert!(se["evidence"][1].as_str().unwrap().contains("http_cache_port_t"), "{se:#}");
}

/// TCP wrappers for a daemon that links libwrap: hosts.deny `ALL: ALL` after an office
/// allow-list refuses the rest of the internet; the office gets in; a daemon that does not link
/// libwrap is told the files do not apply.
#[test]
fn tcp_wrappers_only_for_libwrap_daemons() {
    let dir = fixture("tcp-wrappers");
    let out = portdoctor(&["host", "--snapshot", &dir, "--port", "22", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["verdict"]["causes"][0];
    assert_eq!(c["code"], "TCP_WRAPPERS_DENY");
    assert!(c["message"].as_str().unwrap().contains("except 198.51.100.0/24, 203.0.113.0/24"), "{c:#}");
    let out = portdoctor(&["host", "--snapshot", &dir, "--port", "22", "--from", "198.51.100.7"]);
    assert_eq!(out.status.code(), Some(0));
    // The same rules, but sshd does not link libwrap.
    let scratch = std::env::temp_dir().join(format!("portdoctor-cli-nowrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), scratch.join(e.file_name())).unwrap();
    }
    std::fs::write(scratch.join("libwrap-pids.txt"), "").unwrap();
    let out = portdoctor(&["host", "--snapshot", scratch.to_str().unwrap(), "--port", "22", "--json"]);
    std::fs::remove_dir_all(&scratch).ok();
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.tcp-wrappers").unwrap();
    assert!(w["summary"].as_str().unwrap().contains("does not link libwrap"), "{w:#}");
    assert!(w["evidence"][0].as_str().unwrap().contains("ignored by sshd"), "{w:#}");
}
