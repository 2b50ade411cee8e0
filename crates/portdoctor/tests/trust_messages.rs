//! Issue 17, classes 4, 7 and 8 through the real binary: no verdict is guessed from an AWS
//! listing that failed; exit 2 is one short line whatever the input held; remedies name the
//! capability that is missing; the SSH control-socket folder is private and never planted.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{bin, check, codes, moto};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn portdoctor(args: &[&str]) -> Output {
    Command::new(bin()).args(args).stdin(Stdio::null()).output().expect("run portdoctor")
}

/// Exit 2, nothing on stdout, exactly one line on stderr, and a short one.
fn assert_one_line_error(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.chars().count() <= 700, "bounded ({} chars): {stderr}", stderr.chars().count());
    assert!(stderr.contains(needle), "{stderr:?} should mention {needle:?}");
    stderr
}

/// A scratch folder of this test's own.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portdoctor-trust-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of a snapshot folder, to break on purpose.
fn copy_of(src: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn selinux_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/selinux-bind-denied")
}

/// portdoctor against an AWS endpoint with no credentials anywhere: no keys in the
/// environment, no profile, no shared files, no instance metadata.
fn without_credentials(endpoint: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "eu-west-3")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run portdoctor")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Class 4: `cloud --public-ip` with no credentials is not "not associated" but unknown (exit 3),
/// saying how to give credentials — as `--instance` does.
#[test]
fn no_credentials_is_unknown_never_not_found() {
    for target in [["--public-ip", "203.0.113.10"], ["--instance", "i-0123456789abcdef0"]] {
        let mut args = vec!["cloud", "--json", "--port", "80"];
        args.extend(target);
        let out = without_credentials(moto(), &args);
        let r = json(&out);
        assert_eq!(out.status.code(), Some(3), "{target:?}: {r:#}");
        assert_eq!(r["verdict"]["status"], "inconclusive");
        assert!(codes(&r).is_empty(), "{target:?}: a cause from no evidence: {:?}", codes(&r));
        let t = check(&r, "cloud.target");
        assert_eq!(t["status"], "unknown", "{t:#}");
        let ev = t["evidence"][0].as_str().unwrap();
        assert!(ev.contains("configure AWS credentials") && ev.contains("no credentials"), "{ev}");
        assert!(!ev.contains('\n') && !ev.contains("Attempted:"), "the SDK's dump, not one line: {ev}");
    }
}

/// Class 4: an endpoint that refuses is no listing either.
#[test]
fn a_refusing_endpoint_is_unknown_never_not_found() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = Command::new(bin())
        .args(["cloud", "--json", "--port", "80", "--public-ip", "203.0.113.10"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_REGION", "eu-west-3")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    let r = json(&out);
    assert_eq!(out.status.code(), Some(3), "{r:#}");
    assert!(codes(&r).is_empty(), "{:?}", codes(&r));
    assert_eq!(check(&r, "cloud.target")["status"], "unknown");
}

/// Class 7: the AWS SDK's errors (a credential chain dump spans six lines) are one line.
#[test]
fn aws_errors_fold_to_one_line() {
    let dir = scratch("aws-snap");
    let out = without_credentials(moto(), &["snapshot", "aws", "--out", dir.to_str().unwrap()]);
    let line = assert_one_line_error(&out, "no credentials");
    assert!(line.contains("tried: Environment"), "{line}");
    let out = Command::new(bin())
        .args(["snapshot", "aws", "--out", dir.to_str().unwrap()])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_REGION", "eu-west-3")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_one_line_error(&out, "Connection refused");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Class 4/7: an empty required value is a usage error, never a blank in a message.
#[test]
fn empty_values_are_usage_errors() {
    for args in [
        &["cloud", "--port", "80", "--instance="][..],
        &["cloud", "--port", "80", "--public-ip="],
        &["cloud", "--port", "80", "--instance", "i-1", "--region="],
        &["cloud", "--port", "80", "--instance", "i-1", "--profile="],
        &["cloud", "--port", "80", "--instance", "i-1", "--snapshot="],
        &["diagnose", "203.0.113.10:80", "--ssh="],
        &["diagnose", "203.0.113.10:80", "--instance="],
        &["diagnose", "203.0.113.10:80", "--snapshot="],
        &["diagnose", "203.0.113.10:80", "--ssh-option="],
        &["diagnose", "203.0.113.10:80", "--vantage="],
        &["diagnose", ""],
        &["host", "--port", "80", "--snapshot="],
        &["host", "--port", "80", "--output="],
        &["snapshot", "host", "--out="],
        &["snapshot", "aws", "--out", "/tmp/x", "--region="],
        &["capture", "--port", "80", "--iface="],
    ] {
        let out = portdoctor(args);
        assert_one_line_error(&out, "invalid value ''");
    }
    // A control character is no id either.
    assert_one_line_error(&portdoctor(&["cloud", "--port", "80", "--instance", "i-1\nx"]), "control characters");
}

/// Class 7: port 0 is a usage error wherever a port is given.
#[test]
fn port_zero_is_a_usage_error() {
    for args in [
        &["diagnose", "203.0.113.10:0"][..],
        &["diagnose", "[2001:db8::1]:0"],
        &["diagnose", "203.0.113.10", "--port", "0"],
        &["diagnose", "203.0.113.10:80", "--control-port", "0"],
        &["probe", "127.0.0.1:0"],
        &["probe", "127.0.0.1", "--port", "0"],
        &["probe", "127.0.0.1:80", "--control-port", "0"],
        &["host", "--port", "0"],
        &["cloud", "--port", "0", "--instance", "i-1"],
        &["capture", "--port", "0"],
        &["cloud", "--port", "80", "--instance", "i-1", "--client-ports", "0-65535"],
    ] {
        let out = portdoctor(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(&out, "0");
        assert!(stderr.contains("port") || stderr.contains("1..=65535"), "{args:?}: {stderr}");
    }
}

/// Class 7: a garbage SELinux file is quoted as a short escaped excerpt, not echoed whole.
#[test]
fn garbage_selinux_file_is_one_short_line() {
    let dir = scratch("selinux");
    copy_of(&selinux_fixture(), &dir);
    let garbage: String = (0..60).map(|i| format!("garbage line {i} \u{1b}[2J with some words\n")).collect();
    std::fs::write(dir.join("selinux-enforce.txt"), garbage).unwrap();
    let out = portdoctor(&["host", "--port", "8081", "--snapshot", dir.to_str().unwrap()]);
    let line = assert_one_line_error(&out, "selinux-enforce.txt");
    assert!(line.contains("is not an SELinux mode") && line.contains("garbage line 0"), "{line}");
    assert!(!line.contains("garbage line 5") && !line.contains('\u{1b}'), "not an excerpt: {line}");
    assert!(line.chars().count() < 200, "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Class 7: a newline in a path or in a manifest's source name cannot break the line (nor
/// forge a second one).
#[test]
fn newlines_in_paths_and_names_are_escaped() {
    let base = scratch("newline");
    let forged = base.join("case\nportdoctor: VERDICT reachable");
    copy_of(&selinux_fixture(), &forged);
    std::fs::write(forged.join("manifest.json"), "{ not json").unwrap();
    let out = portdoctor(&["host", "--port", "80", "--snapshot", forged.to_str().unwrap()]);
    let line = assert_one_line_error(&out, "manifest.json");
    assert!(line.contains("case\\nportdoctor"), "escaped: {line}");
    let out = portdoctor(&["host", "--port", "80", "--snapshot", "/nonexistent\nsecond line"]);
    assert_one_line_error(&out, "/nonexistent\\nsecond line");
    // A manifest naming a source with a newline (listed as obtained, absent).
    let named = base.join("named");
    copy_of(&selinux_fixture(), &named);
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(named.join("manifest.json")).unwrap()).unwrap();
    m["sources"]["evil\nportdoctor: second"] = serde_json::json!({"command": "x", "outcome": "ok"});
    std::fs::write(named.join("manifest.json"), m.to_string()).unwrap();
    let out = portdoctor(&["host", "--port", "80", "--snapshot", named.to_str().unwrap()]);
    assert_one_line_error(&out, "evil\\nportdoctor");
    let _ = std::fs::remove_dir_all(&base);
}

/// Class 7: a report that cannot be written (a full device) is an error, not silence; a closed
/// pipe is not.
#[test]
fn stdout_write_failure_is_reported() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(bin())
        .args(["host", "--port", "8081", "--snapshot", selinux_fixture().to_str().unwrap()])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("stdout") && stderr.contains("No space left"), "{stderr}");
}

/// Class 5/7: stderr that cannot be written (`2>/dev/full`) changes nothing but the lost
/// message: a usage error is still exit 2, a written snapshot still exit 0 — never a panic (101).
#[test]
fn a_full_stderr_never_panics() {
    let snap = scratch("full-stderr").join("snap");
    for (args, code) in
        [(vec!["host", "--port", "0"], 2), (vec!["snapshot", "host", "--out", snap.to_str().unwrap()], 0)]
    {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = Command::new(bin()).args(&args).stdin(Stdio::null()).stderr(full).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

/// Class 7: root without CAP_NET_ADMIN (a container's default) is told the capability, not
/// "run as root"; the same for CAP_NET_RAW and the capture.
#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs root (setpriv drops a capability root has): scripts/test, or cargo test --features system-tests as root"
)]
fn root_without_the_capability_is_told_the_capability() {
    let without = |cap: &str, args: &[&str]| {
        Command::new("setpriv")
            .args(["--inh-caps=-all", &format!("--bounding-set=-{cap}"), "--"])
            .arg(bin())
            .args(args)
            .output()
            .expect("setpriv (util-linux)")
    };
    let out = without("net_admin", &["host", "--port", "8080", "--json"]);
    let r = json(&out);
    let fw = check(&r, "host.firewall");
    assert_eq!(fw["status"], "unknown", "{fw:#}");
    let ev = fw["evidence"].to_string();
    assert!(ev.contains("CAP_NET_ADMIN") && ev.contains("--cap-add NET_ADMIN"), "{ev}");
    assert!(!ev.contains("run portdoctor as root (sudo)"), "root was told to be root: {ev}");
    let out = without("net_raw", &["capture", "--port", "8080", "--duration", "1"]);
    let line = assert_one_line_error(&out, "CAP_NET_RAW");
    assert!(!line.contains("sudo"), "{line}");
}

/// Class 8: a runtime dir someone else could have planted (world-writable) is not used for the
/// control socket; the folder used is new, 0700, ours, and removed afterwards. ssh here is a
/// stand-in that records what it was given and refuses, as an unreachable host would.
#[test]
fn planted_control_socket_folder_is_not_used() {
    let base = scratch("ssh");
    let planted = base.join("runtime");
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let fakebin = base.join("bin");
    std::fs::create_dir(&fakebin).unwrap();
    let log = base.join("ssh.log");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in ControlPath=*) p=\"${{a#ControlPath=}}\"; d=$(dirname \"$p\"); echo \"$d $(stat -c '%a %u %F' \"$d\")\" >> {log};; esac; done\necho 'ssh: connect to host 127.0.0.1 port 22: Connection refused' >&2\nexit 255\n",
        log = log.display()
    );
    std::fs::write(fakebin.join("ssh"), script).unwrap();
    std::fs::set_permissions(fakebin.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fakebin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(bin())
        .args(["diagnose", "127.0.0.1:9", "--ssh", "127.0.0.1", "--json", "--timeout-ms", "200"])
        .args(["--control-port", "9"])
        .env("PATH", path)
        .env("XDG_RUNTIME_DIR", &planted)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let r = json(&out);
    assert_eq!(check(&r, "host.ssh")["status"], "unknown", "{r:#}");
    let seen = std::fs::read_to_string(&log).expect("ssh was run");
    let first = seen.lines().next().unwrap();
    let (dir, stat) = first.split_once(' ').unwrap();
    assert!(!Path::new(dir).starts_with(&planted), "the planted folder was used: {first}");
    let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap();
    assert_eq!(stat, format!("700 {uid} directory"), "{first}");
    assert!(!Path::new(dir).exists(), "{dir} left behind");
    assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0, "something was made in the planted folder");
    let _ = std::fs::remove_dir_all(&base);
}
