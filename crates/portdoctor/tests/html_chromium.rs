//! The HTML report in a real browser: Debian's headless Chromium loads the file (no network),
//! and the DOM it builds must show the verdict, each hop's state and the fix text. Screenshots
//! (desktop and phone width) are left in target/report-screenshots/ for people to look at.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn portdoctor(args: &[&str]) -> Vec<u8> {
    Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(args).output().unwrap().stdout
}

fn chromium(args: &[&str], page: &Path, profile: &str) -> String {
    let bin = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    let bin =
        bin.expect("Debian's chromium is needed for this test: apt-get install chromium (scripts/test installs it)");
    let user_dir = std::env::temp_dir().join(format!("portdoctor-chromium-{profile}-{}", std::process::id()));
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", user_dir.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&user_dir);
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/report-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders one report as JSON and HTML, opens the HTML, and checks the DOM against the JSON.
fn check_report(name: &str, args: &[&str]) {
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let report: Value = serde_json::from_slice(&portdoctor(&json_args)).unwrap();
    let page = shots().join(format!("{name}.html"));
    let mut html_args = args.to_vec();
    html_args.extend(["--format", "html", "--output", page.to_str().unwrap()]);
    portdoctor(&html_args);

    let dom = chromium(&["--dump-dom"], &page, name);
    let status = report["verdict"]["status"].as_str().unwrap();
    assert!(dom.contains(&format!("id=\"verdict\" data-status=\"{status}\"")), "verdict {status} shown");
    for hop in report["path"].as_array().unwrap() {
        let li = format!(
            "data-hop=\"{}\" data-status=\"{}\"",
            hop["hop"].as_str().unwrap(),
            hop["status"].as_str().unwrap()
        );
        assert!(dom.contains(&li), "hop state {li} shown");
    }
    for cause in report["verdict"]["causes"].as_array().unwrap() {
        assert!(dom.contains(&format!("data-code=\"{}\"", cause["code"].as_str().unwrap())));
        for fix in cause["fix"].as_array().unwrap() {
            let escaped = fix.as_str().unwrap().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            assert!(dom.contains(&escaped), "fix text shown: {escaped}");
        }
    }
    assert!(dom.contains("<button class=\"copy\""), "copy buttons for the fixes");

    for (suffix, size) in [("desktop", "1200,1400"), ("phone", "390,1600")] {
        let png = shots().join(format!("{name}-{suffix}.png"));
        chromium(&[&format!("--screenshot={}", png.display()), &format!("--window-size={size}")], &page, name);
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "a real screenshot");
        println!("screenshot: {}", png.display());
    }
}

#[test]
fn host_report_in_chromium() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/host-loopback-only");
    check_report("host-loopback-only", &["host", "--snapshot", example.to_str().unwrap(), "--port", "8080"]);
}

#[test]
fn cloud_report_in_chromium() {
    let snap = portdoctor_testbed::shared_dir().join("peer-suites/batfish-aws/test-public-private-subnet");
    check_report(
        "cloud-private-instance",
        &["cloud", "--snapshot", snap.to_str().unwrap(), "--instance", "i-099cf38911942421c", "--port", "22"],
    );
}

/// The seed incident joined across every layer: platform hop first, timeline, three causes.
#[test]
fn diagnose_report_in_chromium() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-incident");
    check_report("seed-incident", &["diagnose", "203.0.113.10:8080", "--snapshot", case.to_str().unwrap()]);
}
