//! The peer suite: real AWS snapshots recorded by the Batfish project, with the answers its own
//! tests assert (../shared/peer-suites/batfish-aws/expected.toml). Read from shared/ as it is.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn suite() -> PathBuf {
    portdoctor_testbed::shared_dir().join("peer-suites/batfish-aws")
}

#[test]
fn batfish_aws_snapshots() {
    let dir = suite();
    let text = std::fs::read_to_string(dir.join("expected.toml"))
        .unwrap_or_else(|e| panic!("the peer suite must be at {} (or set PORTDOCTOR_SHARED): {e}", dir.display()));
    let doc: toml::Table = text.parse().unwrap();
    let cases = doc["case"].as_array().unwrap();
    assert!(cases.len() >= 7, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let case = case.as_table().unwrap();
        let name = case["name"].as_str().unwrap();
        let snapshot = dir.join(case["snapshot"].as_str().unwrap());
        let mut args = vec!["cloud".to_string(), "--json".into(), "--snapshot".into(), snapshot.display().to_string()];
        if let Some(ip) = case.get("public_ip") {
            args.extend(["--public-ip".into(), ip.as_str().unwrap().into()]);
        }
        if let Some(i) = case.get("instance") {
            args.extend(["--instance".into(), i.as_str().unwrap().into()]);
        }
        args.extend(["--port".into(), case["port"].as_integer().unwrap().to_string()]);
        args.extend(["--from".into(), case["from"].as_str().unwrap().into()]);
        let out = Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(&args).output().unwrap();
        let r: Value = match serde_json::from_slice(&out.stdout) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: no JSON ({e}); stderr {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
        };
        let status = case["status"].as_str().unwrap();
        if r["verdict"]["status"] != status {
            failures.push(format!("{name}: status {} != {status}\n{:#}", r["verdict"]["status"], r["verdict"]));
            continue;
        }
        let expected_exit = match status {
            "reachable" => 0,
            "blocked" => 1,
            _ => 3,
        };
        if out.status.code() != Some(expected_exit) {
            failures.push(format!("{name}: exit {:?}", out.status.code()));
        }
        let codes: Vec<&str> =
            r["verdict"]["causes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        if let Some(cause) = case.get("cause").and_then(|c| c.as_str())
            && codes.first() != Some(&cause)
        {
            failures.push(format!("{name}: causes {codes:?}, expected {cause} first"));
        }
        let path = r["path"].as_array().unwrap();
        for comp in case.get("path_includes").and_then(|p| p.as_array()).into_iter().flatten() {
            let comp = comp.as_str().unwrap();
            if !path.iter().any(|h| h["component"] == comp) {
                failures.push(format!("{name}: path lacks component {comp}: {path:?}"));
            }
        }
        if let Some(nat) = case.get("nat").and_then(|n| n.as_str()) {
            let igw = path.iter().find(|h| h["hop"] == "internet-gateway");
            if !igw.is_some_and(|h| h["detail"].as_str().unwrap_or("").contains(nat)) {
                failures.push(format!("{name}: internet-gateway hop {igw:?} lacks {nat:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} peer cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Batfish's recorded load-balancer documents (tests/fixtures/batfish-elb, SOURCE.md): an active
/// internet-facing NLB with one IP target in its zone failing health checks and one healthy IP
/// target outside the VPC (AvailabilityZone "all"), a failed NLB and an internal ALB. No EC2
/// documents come with them, so the subnets' routes and ACLs are unknown, never guessed.
#[test]
fn batfish_recorded_load_balancer_documents() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/batfish-elb");
    let run = |lb: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_portdoctor"))
            .args(["cloud", "--json", "--snapshot"])
            .arg(&dir)
            .args(["--load-balancer", lb, "--port", "82"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{lb}: no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), r)
    };
    let codes = |r: &Value| -> Vec<String> {
        r["verdict"]["causes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_string()).collect()
    };

    let (exit, r) = run("lb2");
    assert_eq!((exit, r["verdict"]["status"].as_str()), (Some(1), Some("blocked")));
    assert!(codes(&r).contains(&"LB_NOT_ACTIVE".to_string()), "{:?}", codes(&r));

    let (exit, r) = run("lb3");
    assert_eq!(exit, Some(1));
    assert!(codes(&r).contains(&"LB_SCHEME_INTERNAL".to_string()), "{:?}", codes(&r));

    // One of two targets healthy (outside the VPC, its leg shown open by AWS's own checks on the
    // traffic port): the unhealthy one is its share, not a block; the routes and ACLs nobody
    // recorded leave the verdict inconclusive.
    let (exit, r) = run("lb-lb");
    let check = |id: &str, needle: &str| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id && c["summary"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {id} check about {needle}: {:#}", r["checks"]))
            .clone()
    };
    assert_eq!(check("cloud.lb-listener", "TCP:82")["status"], "pass");
    assert_eq!(check("cloud.target-group", "1 of 2 targets")["status"], "warn");
    assert_eq!(check("cloud.target.health", "10.10.1.4:80 is unhealthy")["status"], "warn");
    assert_eq!(check("cloud.target.security-group", "10.11.1.4:80")["status"], "pass");
    assert!(
        r["verdict"]["causes"].as_array().unwrap().iter().all(|c| c["blocking"] == false),
        "{:#}",
        r["verdict"]["causes"]
    );
    assert_eq!((exit, r["verdict"]["status"].as_str()), (Some(3), Some("inconclusive")), "{:#}", r["verdict"]);
}
