//! Both address families and the name the user typed, end to end on the binary's JSON, from
//! the dual-stack fixture (tests/fixtures/dual-stack: the security group admits tcp/443 from
//! 0.0.0.0/0 but not ::/0; dns.json records web.example.test at a stale IPv4 address).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn portdoctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(args).output().expect("run portdoctor")
}

fn fixture(sub: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dual-stack").join(sub).display().to_string()
}

/// (exit code, JSON report).
fn report(args: &[&str]) -> (i32, Value) {
    let out = portdoctor(args);
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

fn cloud(extra: &[&str]) -> (i32, Value) {
    let aws = fixture("aws");
    let mut args = vec!["cloud", "--instance", "i-0dual", "--port", "443", "--snapshot", aws.as_str(), "--json"];
    args.extend_from_slice(extra);
    report(&args)
}

fn causes(r: &Value) -> Vec<(String, Option<String>)> {
    let list = r["verdict"]["causes"].as_array().unwrap();
    list.iter().map(|c| (c["code"].as_str().unwrap().to_string(), c["family"].as_str().map(str::to_string))).collect()
}

#[test]
fn a_dual_stack_instance_is_judged_per_family() {
    let (code, r) = cloud(&[]);
    assert_eq!(code, 1, "one family blocked is blocked: {r:#}");
    assert_eq!(r["verdict"]["status"], "blocked");
    let summary = r["verdict"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("IPv4 reachable, IPv6 blocked: No security-group rule on eni-1"), "{summary}");
    assert_eq!(causes(&r), [("SECURITY_GROUP_NO_INGRESS".to_string(), Some("ipv6".to_string()))]);
    let checks = r["checks"].as_array().unwrap();
    let sg6 = checks.iter().find(|c| c["id"] == "cloud.security-group.ipv6").unwrap();
    assert_eq!((sg6["status"].as_str(), sg6["family"].as_str()), (Some("fail"), Some("ipv6")));
    let sg4 = checks.iter().find(|c| c["id"] == "cloud.security-group").unwrap();
    assert_eq!((sg4["status"].as_str(), sg4["family"].as_str()), (Some("pass"), Some("ipv4")));
    let path = r["path"].as_array().unwrap();
    assert!(path.iter().all(|h| h["family"].is_string()), "every hop belongs to one family's path");
    assert_eq!(path.iter().filter(|h| h["hop"] == "internet").count(), 2);
}

#[test]
fn family_pinned_is_the_single_family_report() {
    let (code, r) = cloud(&["--family", "4"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(!r.to_string().contains("\"family\""), "no family anywhere in a one-family report");
    let (code, r) = cloud(&["--family", "6"]);
    assert_eq!(code, 1);
    assert_eq!(causes(&r), [("SECURITY_GROUP_NO_INGRESS".to_string(), None)]);
    // A family the target address contradicts is a usage error.
    let aws = fixture("aws");
    let out =
        portdoctor(&["cloud", "--public-ip", "203.0.113.10", "--port", "443", "--family", "6", "--snapshot", &aws]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--family 6: the target 203.0.113.10 is not IPv6"));
}

#[test]
fn the_name_recorded_with_the_case_is_compared_with_the_configuration() {
    let case = fixture("");
    let (code, r) = report(&["diagnose", "web.example.test:443", "--snapshot", &case, "--json"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        causes(&r),
        [
            ("DNS_STALE".to_string(), Some("ipv4".to_string())),
            ("SECURITY_GROUP_NO_INGRESS".to_string(), Some("ipv6".to_string()))
        ]
    );
    let stale = &r["verdict"]["causes"][0];
    assert_eq!(stale["layer"], "path");
    assert!(stale["evidence"][0].as_str().unwrap().contains("(dns.json, recorded with the case)"));
    assert!(stale["fix"][0].as_str().unwrap().contains("Point the A record of web.example.test at 203.0.113.10"));
    assert_eq!(r["query"]["instance"], "i-0dual", "the name's addresses say which instance");
}

#[test]
fn resolve_overrides_the_recorded_answer_and_never_asks_the_resolver_offline() {
    let case = fixture("");
    let fresh = "web.example.test:203.0.113.10,[2001:db8:2::10]";
    let (code, r) = report(&["diagnose", "web.example.test:443", "--snapshot", &case, "--resolve", fresh, "--json"]);
    assert_eq!(code, 1);
    assert_eq!(causes(&r), [("SECURITY_GROUP_NO_INGRESS".to_string(), Some("ipv6".to_string()))]);
    let dns = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "path.dns").unwrap();
    assert_eq!(dns["status"], "pass");
    assert!(dns["evidence"][0].as_str().unwrap().ends_with("(--resolve)"));
    // curl's NAME:PORT:ADDR form; a name the case never recorded is not resolved live.
    let (_, r) =
        report(&["diagnose", "other.example.test:443", "--instance", "i-0dual", "--snapshot", &case, "--json"]);
    assert!(r["checks"].as_array().unwrap().iter().all(|c| c["id"] != "path.dns"));
    let (_, r) = report(&[
        "diagnose",
        "web.example.test:443",
        "--snapshot",
        &case,
        "--resolve",
        "web.example.test:443:203.0.113.10",
        "--json",
    ]);
    assert_eq!(r["verdict"]["status"], "reachable", "an A record only: its clients use IPv4: {r:#}");
    let out = portdoctor(&["diagnose", "x:443", "--resolve", "x:not-an-address"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A case folder: the dual-stack account and the bundled host snapshot (nginx on 127.0.0.1:8080).
fn case_with_host(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pd-families-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (from, to) in [(fixture("aws"), "aws"), (example_host(), "host")] {
        std::fs::create_dir_all(dir.join(to)).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join(to).join(e.file_name())).unwrap();
        }
    }
    dir
}

fn example_host() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/host-loopback-only").display().to_string()
}

#[test]
fn the_host_layer_is_judged_at_each_familys_arrival() {
    let case = case_with_host("host");
    let c = case.display().to_string();
    let fresh = "web.example.test:203.0.113.10,2001:db8:2::10";
    let (code, r) = report(&["diagnose", "web.example.test:8080", "--resolve", fresh, "--snapshot", &c, "--json"]);
    assert_eq!(code, 1);
    let host: Vec<&Value> =
        r["verdict"]["causes"].as_array().unwrap().iter().filter(|c| c["code"] == "LISTENER_LOOPBACK_ONLY").collect();
    assert_eq!(host.len(), 2, "{r:#}");
    assert_eq!((host[0]["family"].as_str(), host[1]["family"].as_str()), (Some("ipv4"), Some("ipv6")));
    assert!(host[1]["message"].as_str().unwrap().contains("arriving at 2001:db8:2::10"));
    assert!(host[1]["fix"][0].as_str().unwrap().contains("[::]:8080 (all addresses) or [2001:db8:2::10]:8080"));
    // An address typed as the target names its family: the one-family report.
    let (_, r) = report(&["diagnose", "203.0.113.10:8080", "--instance", "i-0dual", "--snapshot", &c, "--json"]);
    assert!(!r.to_string().contains("\"family\""), "{r:#}");
    let _ = std::fs::remove_dir_all(&case);
}
