//! What the scenario test files share: the binary under test, running `host` in the testbed's
//! instance, and reading a report.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use portdoctor_testbed::Testbed;
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_portdoctor"))
}

/// `portdoctor host --json ARGS` in the instance: (exit code, report).
pub fn host(tb: &Testbed, args: &[&str]) -> (i32, Value) {
    let mut argv = vec!["host", "--json"];
    argv.extend_from_slice(args);
    let out = tb.run_in_instance(bin(), &argv).expect("run portdoctor");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The cause codes of a report, primary first (none when it has no verdict).
pub fn codes(r: &Value) -> Vec<String> {
    r["verdict"]["causes"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["code"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The check with this id; fails the test when there is none.
pub fn check<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {r:#}"))
}

/// Runs `portdoctor diagnose 203.0.113.10:8080 --json` from the client, reading the instance over
/// SSH as root with `key`; returns (exit, report, seconds).
pub fn diagnose(tb: &Testbed, key: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value, f64) {
    let key = key.display().to_string();
    let mut args = vec![
        "diagnose",
        "203.0.113.10:8080",
        "--json",
        "--ssh",
        "root@203.0.113.10",
        "--ssh-identity",
        &key,
        "--ssh-option",
        "StrictHostKeyChecking=no",
        "--ssh-option",
        "UserKnownHostsFile=/dev/null",
        "--ssh-option",
        "LogLevel=ERROR",
    ];
    args.extend_from_slice(extra);
    let start = Instant::now();
    let out = tb.run_in_client(bin(), &args, env).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    // libtest names each test's thread after the test: scripts/bench-diagnose shows it.
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("time to verdict: {secs:.2} s [{test}] ({})", report["verdict"]["summary"]);
    (out.status.code().unwrap_or(-1), report, secs)
}

/// The moto endpoint: `MOTO_ENDPOINT` (started by scripts/test), else one started for this test
/// binary, which dies when the binary exits (its shell waits on our stdin).
pub fn moto() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static GUARD: std::sync::OnceLock<std::sync::Mutex<std::process::Child>> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("MOTO_ENDPOINT") {
            return url;
        }
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free local port").port();
        let child = std::process::Command::new("sh")
            .args([
                "-c",
                &format!(
                    "python3 -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"
                ),
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("python3 with moto (pip install moto[server])");
        GUARD.get_or_init(|| std::sync::Mutex::new(child));
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
}
