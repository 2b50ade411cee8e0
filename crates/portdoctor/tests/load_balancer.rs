//! `cloud --load-balancer` and `diagnose NAME` through a load balancer, at the binary: the JSON
//! report (hops, cause codes), exit codes 0/1/2/3, and malformed load-balancer files.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn portdoctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(args).output().expect("run portdoctor")
}

fn case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lb-unhealthy")
}

fn aws() -> String {
    case().join("aws").display().to_string()
}

const DNS: &str = "shop-web-1234567890.us-east-1.elb.amazonaws.com";

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn codes(r: &Value) -> Vec<&str> {
    r["verdict"]["causes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect()
}

fn hops(r: &Value) -> Vec<&str> {
    r["path"].as_array().unwrap().iter().map(|h| h["hop"].as_str().unwrap()).collect()
}

/// A writable copy of the example's AWS snapshot, to change on purpose.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portdoctor-lb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(aws()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

#[test]
fn the_bundled_example_blames_the_targets_security_group_by_name_arn_and_dns_name() {
    let arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/shop-web/50dc6c495c0c9188";
    for lb in ["shop-web", arn, DNS] {
        let out = portdoctor(&["cloud", "--snapshot", &aws(), "--load-balancer", lb, "--port", "443", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{lb}");
        let r = report(&out);
        assert_eq!(
            codes(&r),
            [
                "TARGET_SECURITY_GROUP_NO_INGRESS",
                "TARGET_SECURITY_GROUP_NO_INGRESS",
                "TARGET_UNHEALTHY",
                "TARGET_UNHEALTHY"
            ]
        );
        assert_eq!(r["query"]["target"], DNS);
        let first = &r["verdict"]["causes"][0];
        assert_eq!(first["component"], "sg-0app234567890abcd");
        assert!(first["message"].as_str().unwrap().contains("HTTP 504"), "{first}");
        assert_eq!(
            first["fix"][0],
            "aws ec2 authorize-security-group-ingress --group-id sg-0app234567890abcd --protocol tcp --port 8080 --source-group sg-0alb1234567890abc"
        );
        let unhealthy = &r["verdict"]["causes"][2];
        assert_eq!(unhealthy["blocking"], false);
        assert!(unhealthy["evidence"][0].as_str().unwrap().contains("Target.Timeout"));
    }
    let r =
        report(&portdoctor(&["cloud", "--snapshot", &aws(), "--load-balancer", "shop-web", "--port", "443", "--json"]));
    // Packet order (the engine's tests pin every hop): the balancer first, its targets last.
    let h = hops(&r);
    assert_eq!(
        (h[2], h[3], &h[h.len() - 3..]),
        ("load-balancer", "lb-listener", &["target-group", "target", "target"][..])
    );
    let targets: Vec<&str> = r["path"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["hop"] == "target")
        .map(|h| h["component"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["i-0app1a2b3c4d5e6f70:8080", "i-0app2b3c4d5e6f7081:8080"]);
}

#[test]
fn the_redirect_listener_is_reachable_and_a_missing_listener_blocks() {
    let out = portdoctor(&["cloud", "--snapshot", &aws(), "--load-balancer", "shop-web", "--port", "80", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert!(codes(&r).is_empty());
    let out = portdoctor(&["cloud", "--snapshot", &aws(), "--load-balancer", "shop-web", "--port", "8443", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&report(&out))[0], "LB_NO_LISTENER");
}

#[test]
fn the_fix_applied_makes_it_reachable() {
    let dir = scratch("fixed");
    let sgs = dir.join("ec2-describe-security-groups.json");
    let text = std::fs::read_to_string(&sgs).unwrap();
    // The app group's 8080 rule names the load balancer's group instead of the bastion's.
    let fixed = text.replacen("\"GroupId\": \"sg-0bastion4567890abc\"", "\"GroupId\": \"sg-0alb1234567890abc\"", 1);
    std::fs::write(&sgs, fixed).unwrap();
    let health = dir.join("elbv2-describe-target-health.json");
    let text = std::fs::read_to_string(&health).unwrap();
    std::fs::write(&health, text.replace("\"unhealthy\"", "\"healthy\"")).unwrap();
    let out = portdoctor(&[
        "cloud",
        "--snapshot",
        dir.to_str().unwrap(),
        "--load-balancer",
        "shop-web",
        "--port",
        "443",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diagnose_through_the_load_balancers_dns_name() {
    let target = format!("{DNS}:443");
    let out = portdoctor(&["diagnose", &target, "--snapshot", case().to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    assert_eq!(r["query"]["command"], "diagnose");
    assert_eq!(codes(&r)[0], "TARGET_SECURITY_GROUP_NO_INGRESS");
    assert!(hops(&r).contains(&"load-balancer"));
    // A name no load balancer has: the cloud layer says so, the verdict is inconclusive.
    let out = portdoctor(&["diagnose", "other.example.com:443", "--snapshot", case().to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let r = report(&out);
    let target = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "cloud.target").unwrap();
    assert!(target["summary"].as_str().unwrap().contains("No load balancer named other.example.com"), "{target}");
}

#[test]
fn malformed_load_balancer_files_name_file_and_field() {
    let dir = scratch("bad");
    std::fs::write(
        dir.join("elbv2-describe-target-groups.json"),
        r#"{"TargetGroups": [{"TargetGroupArn": "arn:tg/1", "HealthCheckPort": "http"}]}"#,
    )
    .unwrap();
    let out =
        portdoctor(&["cloud", "--snapshot", dir.to_str().unwrap(), "--load-balancer", "shop-web", "--port", "443"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("elbv2-describe-target-groups.json") && stderr.contains("TargetGroups[0].HealthCheckPort"),
        "{stderr}"
    );
    std::fs::write(dir.join("elbv2-describe-target-groups.json"), r#"{"TargetGroups": []}"#).unwrap();
    std::fs::write(
        dir.join("elbv2-describe-listeners.json"),
        r#"{"LoadBalancerListeners": [{"LoadBalancerArn": "a", "Listeners": [{"ListenerArn": "l", "Port": -1}]}]}"#,
    )
    .unwrap();
    let out =
        portdoctor(&["cloud", "--snapshot", dir.to_str().unwrap(), "--load-balancer", "shop-web", "--port", "443"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("LoadBalancerListeners[0].Listeners[0].Port"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_names_the_new_target_form() {
    let out = portdoctor(&["cloud", "--snapshot", &aws(), "--load-balancer", "", "--port", "443"]);
    assert_eq!(out.status.code(), Some(2));
    let out = portdoctor(&["cloud", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--load-balancer"));
}

/// Copies `from` into `to`, one level of folders deep.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn diagnose_judges_the_targets_host_on_the_target_port_from_the_balancer() {
    // The cloud fixed (the app group admits the balancer's), and a target's host snapshot where
    // the service listens on 127.0.0.1:8080 only: the host layer is asked about tcp/8080 from
    // the balancer's nodes, not tcp/443 from the internet.
    let dir = std::env::temp_dir().join(format!("portdoctor-lb-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&case().join("aws"), &dir.join("aws"));
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/host-loopback-only"), &dir.join("host"));
    let sgs = dir.join("aws/ec2-describe-security-groups.json");
    let text = std::fs::read_to_string(&sgs).unwrap();
    let fixed = text.replacen("\"GroupId\": \"sg-0bastion4567890abc\"", "\"GroupId\": \"sg-0alb1234567890abc\"", 1);
    std::fs::write(&sgs, fixed).unwrap();
    let out = portdoctor(&["diagnose", &format!("{DNS}:443"), "--snapshot", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    assert_eq!(codes(&r)[0], "LISTENER_LOOPBACK_ONLY");
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(notes.iter().any(|n| n.contains("judges tcp/8080 from 10.20.0.0/16")), "{notes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_host_firewall_drop_on_the_target_explains_its_timeout() {
    // examples/lb-host-drop: the cloud admits every leg, the targets time out, and the first
    // target's iptables drops the balancer's subnets on 8080.
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lb-host-drop");
    let out = portdoctor(&["diagnose", &format!("{DNS}:443"), "--snapshot", case.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    assert_eq!(codes(&r)[0], "HOST_FIREWALL_DROP", "{r}");
    assert_eq!(r["verdict"]["causes"][0]["blocking"], true);
    let causes = r["verdict"]["causes"].as_array().unwrap();
    // The first target's (the host snapshot's); the second keeps deciding, its host unseen.
    let unhealthy =
        causes.iter().find(|c| c["code"] == "TARGET_UNHEALTHY" && c["component"] == "i-0app1a2b3c4d5e6f70").unwrap();
    assert_eq!(unhealthy["blocking"], false, "{unhealthy}");
    let evidence: Vec<&str> = unhealthy["evidence"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(evidence.iter().any(|e| e.starts_with("explained by HOST_FIREWALL_DROP")), "{evidence:?}");
    assert!(!evidence.iter().any(|e| e.contains("disagree")), "{evidence:?}");
}

#[test]
fn nothing_listening_on_the_health_check_port_is_found_on_the_host() {
    // lb-host-drop with the health checks moved to 8081 (admitted by the app group), no drop
    // rule, and nothing listening on 8081: the host is judged a second time for the checks.
    let dir = std::env::temp_dir().join(format!("portdoctor-lb-hc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lb-host-drop"), &dir);
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file}: {from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    };
    edit("aws/elbv2-describe-target-groups.json", "\"traffic-port\"", "\"8081\"");
    edit("aws/elbv2-describe-target-health.json", "\"HealthCheckPort\": \"8080\"", "\"HealthCheckPort\": \"8081\"");
    edit("aws/elbv2-describe-target-health.json", "Target.Timeout", "Target.FailedHealthChecks");
    edit("aws/ec2-describe-security-groups.json", "\"ToPort\": 8080", "\"ToPort\": 8081");
    edit("host/iptables-nft.txt", "-j DROP", "-j ACCEPT");
    let out = portdoctor(&["diagnose", &format!("{DNS}:443"), "--snapshot", dir.to_str().unwrap(), "--json"]);
    // The traffic port works and the group fails open: reachable, with the reason as a warning.
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let r = report(&out);
    let checks = r["checks"].as_array().unwrap();
    let listener = checks.iter().find(|c| c["id"] == "host.listener.health-check").unwrap();
    assert_eq!(listener["status"], "warn", "{listener}");
    assert!(listener["summary"].as_str().unwrap().starts_with("health-check port 8081: Nothing listens"), "{listener}");
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(notes.iter().any(|n| n.contains("also judges tcp/8081 from 10.20.0.0/16")), "{notes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

const TARGET_1: &str = "i-0app1a2b3c4d5e6f70";
const TARGET_2: &str = "i-0app2b3c4d5e6f7081";

/// examples/lb-host-drop with each target's host in `hosts/TARGET/`: target 1's as in the
/// example (it drops the balancer's subnets on 8080), target 2's the same machine moved to its
/// address with the drop rules turned to accepts.
fn two_hosts(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portdoctor-lb-hosts-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lb-host-drop");
    copy_dir(&example.join("aws"), &dir.join("aws"));
    copy_dir(&example.join("host"), &dir.join("hosts").join(TARGET_1));
    let second = dir.join("hosts").join(TARGET_2);
    copy_dir(&example.join("host"), &second);
    for (file, from, to) in [
        ("iptables-nft.txt", "-j DROP", "-j ACCEPT"),
        ("ip-addr.json", "10.20.11.", "10.20.12."),
        ("ip-route.json", "10.20.11.", "10.20.12."),
    ] {
        let path = second.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file}: {from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
    dir
}

fn check<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no {id}: {r:#}"))
}

#[test]
fn each_target_in_hosts_is_judged_and_named() {
    let dir = two_hosts("each");
    let out = portdoctor(&["diagnose", &format!("{DNS}:443"), "--snapshot", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    // Target 1's drop explains its timeout; target 2's host admits the balancer, so its
    // timeout stays unexplained and keeps deciding.
    let causes = r["verdict"]["causes"].as_array().unwrap();
    let drop = causes.iter().find(|c| c["code"] == "HOST_FIREWALL_DROP").unwrap();
    assert!(drop["component"].as_str().unwrap().starts_with(&format!("{TARGET_1} ")), "{drop:#}");
    let health = |t: &str| causes.iter().find(|c| c["code"] == "TARGET_UNHEALTHY" && c["component"] == t).unwrap();
    let evidence = |c: &Value| {
        c["evidence"].as_array().unwrap().iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(health(TARGET_1)["blocking"], false);
    assert!(evidence(health(TARGET_1)).iter().any(|e| e.starts_with("explained by HOST_FIREWALL_DROP")));
    assert_eq!(health(TARGET_2)["blocking"], true);
    assert!(evidence(health(TARGET_2)).iter().any(|e| e.contains("does not explain Target.Timeout")), "{r:#}");
    assert_eq!(check(&r, &format!("host.firewall.{TARGET_1}"))["status"], "fail");
    assert_eq!(check(&r, &format!("host.firewall.{TARGET_2}"))["status"], "pass");
    assert!(!r["checks"].as_array().unwrap().iter().any(|c| c["id"] == "host.firewall"), "{r:#}");
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        notes.iter().any(|n| n.starts_with(&format!("target {TARGET_2}: the host layer judges tcp/8080"))),
        "{notes:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_target_the_balancer_does_not_have_is_exit_2() {
    let dir = two_hosts("unknown");
    let case = dir.to_str().unwrap();
    // Named with --target-ssh: refused before any ssh runs.
    let out = portdoctor(&["diagnose", &format!("{DNS}:443"), "--snapshot", case, "--target-ssh", "i-0nope=app-9"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no target 'i-0nope'; its targets: i-0app1a2b3c4d5e6f70, i-0app2b3c4d5e6f7081"),
        "{stderr}"
    );
    // A destination ssh would not take, and a target given twice.
    let with_targets = |targets: &[&str]| {
        let mut args = vec!["diagnose".to_string(), format!("{DNS}:443"), "--snapshot".into(), case.into()];
        for t in targets {
            args.extend(["--target-ssh".to_string(), t.to_string()]);
        }
        let out = portdoctor(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(2), "{targets:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    with_targets(&[&format!("{TARGET_1}=-oProxyCommand=x")]);
    let twice = format!("{TARGET_1}=app-1");
    with_targets(&[&twice, &twice]);
    // A case folder's hosts/ for a target it does not have.
    std::fs::rename(dir.join("hosts").join(TARGET_2), dir.join("hosts/i-0nope")).unwrap();
    let out = portdoctor(&["diagnose", &format!("{DNS}:443"), "--snapshot", case]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hosts/i-0nope/: the load balancer has no target 'i-0nope'"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
