//! Evidence from a hostile machine, and hostile surroundings, through the real binary (issue 17,
//! classes 3, 5 and 6): links out of a snapshot, links planted in an output folder, FIFOs, link
//! loops, oversize files, closed and full stdout, absurd probe counts, a tool that never returns,
//! and case-folder files that are there but unreadable or malformed. Each must end quickly with
//! a clear answer — an input error naming the file (exit 2, one line), or an `unknown` check —
//! never a hang, a panic, a write outside the folder, or an outside file's content echoed.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::bin;
use portdoctor_testbed::{Listen, Testbed};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What an outside file holds; it must never show up in portdoctor's output.
const SECRET: &str = "root:$6$SECRET-SHADOW-LINE:19000:0:99999:7:::";

/// Runs portdoctor; a run that outlives `limit` is killed and fails the test (a hang).
fn run_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("portdoctor {args:?} still running after {limit:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_within(args, &[], Duration::from_secs(60))
}

/// Exit 2, one line on stderr naming `needles`, nothing on stdout, no outside content.
fn assert_input_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{stderr:?} should mention {n:?}");
    }
    assert!(!stderr.contains("SECRET"), "outside content echoed: {stderr}");
}

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-incident")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A writable copy of the seed case folder (aws/, host/, probes.json, capture.json) under a
/// scratch folder that also holds an outside file with a secret in it.
struct Case {
    root: PathBuf,
    case: PathBuf,
}

impl Case {
    fn new(tag: &str) -> Case {
        let root = std::env::temp_dir().join(format!("pd-hostile-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let case = root.join("case");
        copy_dir(&seed(), &case);
        fs::write(root.join("shadow"), SECRET).unwrap();
        Case { root, case }
    }

    fn host(&self) -> PathBuf {
        self.case.join("host")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.case.join(rel)
    }

    /// Replaces `rel` (a file of the case) with whatever `make` puts there.
    fn replace(&self, rel: &str, make: impl FnOnce(&Path)) {
        let p = self.path(rel);
        let _ = fs::remove_file(&p);
        let _ = fs::remove_dir_all(&p);
        make(&p);
    }

    fn host_args(&self) -> Vec<String> {
        ["host", "--port", "8080", "--snapshot"]
            .iter()
            .map(|s| s.to_string())
            .chain([self.host().display().to_string()])
            .collect()
    }

    fn diagnose_args(&self) -> Vec<String> {
        ["diagnose", "203.0.113.10:8080", "--snapshot"]
            .iter()
            .map(|s| s.to_string())
            .chain([self.case.display().to_string()])
            .collect()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

#[test]
fn the_seed_case_still_reads() {
    let c = Case::new("seed");
    let out = run(&strs(&c.diagnose_args()));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

// ---- class 3: links out of a snapshot, links planted where snapshots are written ----

#[test]
fn a_snapshot_file_linked_out_of_the_folder_is_refused_not_read() {
    let c = Case::new("linkout");
    // With a manifest (listed as obtained) and without one (a folder assembled by hand).
    c.replace("host/sysctl.txt", |p| symlink("../../shadow", p).unwrap());
    assert_input_error(&run(&strs(&c.host_args())), &["sysctl.txt", "symbolic link out of the folder"]);
    fs::remove_file(c.path("host/manifest.json")).unwrap();
    assert_input_error(&run(&strs(&c.host_args())), &["sysctl.txt", "symbolic link out of the folder"]);
    // /dev/zero is outside every snapshot folder.
    c.replace("host/sysctl.txt", |p| symlink("/dev/zero", p).unwrap());
    assert_input_error(&run(&strs(&c.host_args())), &["sysctl.txt", "out of the folder"]);
    // A link that stays inside the folder is fine.
    fs::rename(c.path("host/ss.txt"), c.path("host/ss-original.txt")).unwrap();
    c.replace("host/sysctl.txt", |p| fs::write(p, "net.ipv4.ip_forward = 0\n").unwrap());
    symlink("ss-original.txt", c.path("host/ss.txt")).unwrap();
    let out = run(&strs(&c.host_args()));
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_aws_snapshot_with_links_out_and_loops_is_refused_or_read_once() {
    let c = Case::new("awslinks");
    // A folder linking back to itself is read once, not forever.
    symlink(".", c.path("aws/again")).unwrap();
    let out = run_within(&strs(&c.diagnose_args()), &[], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    symlink("../../shadow", c.path("aws/leak.json")).unwrap();
    assert_input_error(&run(&strs(&c.diagnose_args())), &["leak.json", "out of the folder"]);
}

#[test]
fn snapshot_host_out_never_writes_through_a_planted_link() {
    let root = std::env::temp_dir().join(format!("pd-hostile-out-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let out_dir = root.join("snap");
    fs::create_dir_all(&out_dir).unwrap();
    fs::write(root.join("victim"), SECRET).unwrap();
    for name in ["manifest.json", "hostname.txt", "sysctl.txt"] {
        symlink("../victim", out_dir.join(name)).unwrap();
    }
    let dir = out_dir.display().to_string();
    let out = run(&["snapshot", "host", "--out", &dir]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read_to_string(root.join("victim")).unwrap(), SECRET, "the outside file was overwritten");
    let manifest = fs::symlink_metadata(out_dir.join("manifest.json")).unwrap();
    assert!(manifest.file_type().is_file(), "the planted link is replaced by the snapshot's own file");
    // The output folder itself given as a link: refused, nothing written through it.
    symlink(&out_dir, root.join("via-link")).unwrap();
    let via = root.join("via-link").display().to_string();
    assert_input_error(&run(&["snapshot", "host", "--out", &via]), &["via-link", "symbolic link"]);
    // A new folder is created private.
    let fresh = root.join("fresh").display().to_string();
    assert_eq!(run(&["snapshot", "host", "--out", &fresh]).status.code(), Some(0));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o700);
    let _ = fs::remove_dir_all(&root);
}

// ---- class 5: hangs, oversize input, stdout failures, absurd counts, stuck tools ----

#[test]
fn a_fifo_or_a_link_loop_in_a_snapshot_ends_quickly() {
    let c = Case::new("fifo");
    c.replace("host/sysctl.txt", mkfifo);
    let out = run_within(&strs(&c.host_args()), &[], Duration::from_secs(10));
    assert_input_error(&out, &["sysctl.txt", "FIFO"]);
    c.replace("host/sysctl.txt", |p| {
        symlink("loop-b", p).unwrap();
        symlink("sysctl.txt", p.with_file_name("loop-b")).unwrap();
    });
    let out = run_within(&strs(&c.host_args()), &[], Duration::from_secs(10));
    assert_input_error(&out, &["sysctl.txt", "loop"]);
    // The same in a case folder's own files.
    let c = Case::new("fifo-case");
    c.replace("probes.json", mkfifo);
    let out = run_within(&strs(&c.diagnose_args()), &[], Duration::from_secs(10));
    assert_input_error(&out, &["probes.json", "FIFO"]);
}

#[test]
fn an_oversize_snapshot_file_is_an_input_error_not_memory() {
    let c = Case::new("huge");
    // Sparse: one byte more than the bound, without writing 512 MB.
    c.replace("host/sockets.json", |p| {
        let f = fs::File::create(p).unwrap();
        f.set_len(portdoctor_collect::safe_fs::MAX_FILE_BYTES + 1).unwrap();
    });
    let out = run_within(&strs(&c.host_args()), &[], Duration::from_secs(20));
    assert_input_error(&out, &["sockets.json", "larger than"]);
    let c = Case::new("huge-aws");
    c.replace("aws/ec2-describe-security-groups.json", |p| {
        fs::File::create(p).unwrap().set_len(portdoctor_collect::safe_fs::MAX_FILE_BYTES + 1).unwrap();
    });
    let out = run_within(&strs(&c.diagnose_args()), &[], Duration::from_secs(20));
    assert_input_error(&out, &["ec2-describe-security-groups.json", "larger than"]);
}

/// stdout as a pipe whose reading end is already closed.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

fn with_stdout(args: &[&str], stdout: Stdio) -> Output {
    Command::new(bin()).args(args).stdin(Stdio::null()).stdout(stdout).stderr(Stdio::piped()).output().unwrap()
}

#[test]
fn a_closed_or_full_stdout_never_panics() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let commands: [&[&str]; 5] = [
        // Help is printed by clap, whose write errors were once dropped (issue 14.3).
        &["--help"],
        &["completions", "bash"],
        &["probe", &target, "--json", "--control-port", "1"],
        &["snapshot", "host", "--out", "-"],
        &["host", "--port", "8080", "--snapshot", &seed().join("host").display().to_string()],
    ];
    for args in commands {
        // A reader that went away (`| head`): quiet, no panic, the command's own exit code.
        let out = with_stdout(args, closed_pipe());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked") && out.status.code() != Some(101), "{args:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?}: a closed pipe is not worth a message: {stderr}");
        // A full disk: one line, exit 2.
        let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = with_stdout(args, Stdio::from(full));
        assert_input_error(&out, &["stdout: cannot write"]);
    }
}

#[test]
fn absurd_probe_counts_are_usage_errors() {
    for n in ["20000", "0", "18446744073709551615", "99999999999999999999999"] {
        let out = run_within(&["probe", "127.0.0.1:9", "--attempts", n], &[], Duration::from_secs(10));
        assert_input_error(&out, &["--attempts"]);
    }
    let out =
        run_within(&["probe", "127.0.0.1:9", "--attempts", "100", "--timeout-ms", "300"], &[], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs root (network namespaces): scripts/test, or cargo test --features system-tests as root"
)]
fn a_tool_that_never_returns_is_stopped_and_named() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    // A stuck `ipset` first on PATH (the kernel's ipset lock held, say).
    let fake = std::env::temp_dir().join(format!("pd-hostile-bin-{}", std::process::id()));
    fs::create_dir_all(&fake).unwrap();
    let ipset = fake.join("ipset");
    fs::write(&ipset, "#!/bin/sh\nsleep 600\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&ipset, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", fake.display());
    let bin = bin().display().to_string();
    let start = Instant::now();
    let out = tb
        .exec(&tb.instance, &["env", &path, "PORTDOCTOR_TOOL_TIMEOUT=1", &bin, "host", "--json", "--port", "8080"])
        .unwrap();
    let took = start.elapsed();
    let _ = fs::remove_dir_all(&fake);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let r: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(3), "{r:#}");
    let unknown: Vec<String> =
        r["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "unknown").map(|c| c.to_string()).collect();
    assert!(
        unknown.iter().any(|c| c.contains("ipset save") && c.contains("within 1 s")),
        "an unknown check names the stuck tool and the timeout: {unknown:#?}"
    );
    // No stuck ipset is left behind: its process group was killed.
    let left = Command::new("pgrep").args(["-f", &ipset.display().to_string()]).output().unwrap();
    assert!(left.stdout.is_empty(), "left running: {}", String::from_utf8_lossy(&left.stdout));
}

// ---- class 6: evidence that is there but unreadable or malformed is an error, not absent ----

#[test]
fn unreadable_or_malformed_case_files_are_input_errors_naming_them() {
    type Make = fn(&Path);
    let cases: [(&str, Make, &str); 6] = [
        ("garbage", |p| fs::write(p, "this is not json").unwrap(), "line 1"),
        ("non-UTF-8", |p| fs::write(p, b"[\"\xff\xfe\"]").unwrap(), "line 1"),
        ("a folder", |p| fs::create_dir(p).unwrap(), "a folder"),
        ("a loop", |p| symlink(p.file_name().unwrap(), p).unwrap(), "loop"),
        ("a link out", |p| symlink("../shadow", p).unwrap(), "out of the folder"),
        ("the wrong shape", |p| fs::write(p, "{\"vantage\": 3}").unwrap(), "line 1"),
    ];
    for file in ["probes.json", "capture.json"] {
        for (what, make, needle) in cases {
            let c = Case::new("casefile");
            c.replace(file, make);
            let out = run_within(&strs(&c.diagnose_args()), &[], Duration::from_secs(20));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{file} as {what}: {stderr}");
            assert_input_error(&out, &[file, needle]);
        }
    }
    // `host` as a file where a folder belongs.
    let c = Case::new("hostfile");
    c.replace("host", |p| fs::write(p, "not a folder").unwrap());
    assert_input_error(&run(&strs(&c.diagnose_args())), &["host", "a file"]);
}

#[test]
fn malformed_values_are_input_errors_naming_file_and_field() {
    let c = Case::new("values");
    let sysctl = fs::read_to_string(c.path("host/sysctl.txt")).unwrap();
    c.replace("host/sysctl.txt", |p| fs::write(p, format!("{sysctl}net.ipv4.conf.all.rp_filter = abc\n")).unwrap());
    assert_input_error(&run(&strs(&c.host_args())), &["sysctl.txt", "net.ipv4.conf.all.rp_filter", "abc"]);
    c.replace("host/sysctl.txt", |p| fs::write(p, &sysctl).unwrap());
    c.replace("host/ip-rule.json", |p| fs::write(p, r#"[{"priority":0,"src":"all","table":{"id":255}}]"#).unwrap());
    assert_input_error(&run(&strs(&c.host_args())), &["ip-rule.json", "[0].table"]);
    // Through diagnose the same error names the case's host folder.
    assert_input_error(&run(&strs(&c.diagnose_args())), &["ip-rule.json", "[0].table"]);
}
