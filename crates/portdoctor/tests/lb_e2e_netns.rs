//! `diagnose NAME:443` through a load balancer, against the real kernel (issue 15). Four
//! namespaces play an ALB and what is behind it:
//!
//! ```text
//!  client ns               balancer ns (an ALB node)                    target namespaces
//!  eth0 198.51.100.2 ── eth0 198.51.100.1          eth1 10.20.11.1 ── t1 eth0 10.20.11.10:8080
//!                       lo 203.0.113.50, .51       eth2 10.20.12.1 ── t2 eth0 10.20.12.10:8080
//!                       lo 10.20.1.10 (the node's private address: what the targets see)
//! ```
//!
//! The balancer is a real TCP proxy (tests/lb_e2e/lb.py) on :443 that completes every client
//! connection, as an ALB does, and forwards it from 10.20.1.10 to a healthy target (504 when
//! none answers); its health checker connects to each target's 8080 every 200 ms. The case
//! folder is what the kernel showed: the AWS snapshot is examples/lb-unhealthy's network with
//! its fault fixed and the balancer's two nodes added, its `LoadBalancerTargetHealth` is what
//! the checker saw; `host/` is `portdoctor snapshot host` taken inside target 1's namespace;
//! `probes.json` is `portdoctor probe` from the client. Each scenario asserts the kernel's
//! outcome (an HTTP request through the balancer), then portdoctor's verdict. Needs root,
//! iproute2, iptables and python3; namespaces `pd-lbe2e-<pid>-<n>…` are deleted on drop.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const LB_PY: &str = include_str!("lb_e2e/lb.py");
const DNS: &str = "shop-web-1234567890.us-east-1.elb.amazonaws.com";
/// The balancer's two nodes' public addresses (what the name resolves to).
const NODES: [&str; 2] = ["203.0.113.50", "203.0.113.51"];
/// The node's private address in subnet 10.20.1.0/24: the source the targets see.
const NODE_PRIVATE: &str = "10.20.1.10";
/// The targets as the example's snapshot has them: (address, instance).
const TARGETS: [(&str, &str); 2] = [("10.20.11.10", "i-0app1a2b3c4d5e6f70"), ("10.20.12.10", "i-0app2b3c4d5e6f7081")];

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_portdoctor"))
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lb-unhealthy")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// The client, the balancer and its two targets; everything goes with it.
struct Bed {
    client: String,
    lb: String,
    targets: [String; 2],
    dir: PathBuf,
    children: Vec<Child>,
}

impl Drop for Bed {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.lb].into_iter().chain(self.targets.iter()) {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bed {
    /// Built and serving: both targets healthy in the checker's eyes.
    fn new() -> Bed {
        let base = format!("pd-lbe2e-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        let dir = std::env::temp_dir().join(&base);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lb.py"), LB_PY).unwrap();
        let mut bed = Bed {
            client: format!("{base}c"),
            lb: format!("{base}l"),
            targets: [format!("{base}t1"), format!("{base}t2")],
            dir,
            children: vec![],
        };
        // Drop cleans up from here on, also when a step below fails.
        bed.build();
        for (n, ns) in bed.targets.clone().iter().enumerate() {
            bed.spawn(ns, &["target", &format!("t{}", n + 1), "8080"]);
        }
        let health = bed.health_file().display().to_string();
        let mut args = vec!["balancer", NODE_PRIVATE, "443", &health];
        let legs: Vec<String> = TARGETS.iter().map(|(a, _)| format!("{a}:8080")).collect();
        args.extend(legs.iter().map(String::as_str));
        let lb = bed.lb.clone();
        bed.spawn(&lb, &args);
        bed.wait_health(["healthy", "healthy"]);
        bed
    }

    fn build(&self) {
        let (c, l) = (self.client.as_str(), self.lb.as_str());
        let [t1, t2] = [self.targets[0].as_str(), self.targets[1].as_str()];
        for ns in [c, l, t1, t2] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&["link", "add", "eth0", "netns", c, "type", "veth", "peer", "name", "eth0", "netns", l]);
        ip(&["link", "add", "eth0", "netns", t1, "type", "veth", "peer", "name", "eth1", "netns", l]);
        ip(&["link", "add", "eth0", "netns", t2, "type", "veth", "peer", "name", "eth2", "netns", l]);
        let addrs = [
            (c, "eth0", "198.51.100.2/24"),
            (l, "eth0", "198.51.100.1/24"),
            (l, "lo", "203.0.113.50/32"),
            (l, "lo", "203.0.113.51/32"),
            (l, "lo", "10.20.1.10/32"),
            (l, "eth1", "10.20.11.1/24"),
            (l, "eth2", "10.20.12.1/24"),
            (t1, "eth0", "10.20.11.10/24"),
            (t2, "eth0", "10.20.12.10/24"),
        ];
        for (ns, dev, addr) in addrs {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
        }
        for (ns, dev) in [(c, "eth0"), (l, "eth0"), (l, "eth1"), (l, "eth2"), (t1, "eth0"), (t2, "eth0")] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        ip(&["-n", c, "route", "add", "default", "via", "198.51.100.1"]);
        // An address of the range nobody holds: dropped without a word, as the internet does
        // (without this the balancer's kernel would answer "network unreachable").
        ip(&["-n", l, "route", "add", "blackhole", "203.0.113.0/24"]);
        ip(&["-n", t1, "route", "add", "default", "via", "10.20.11.1"]);
        ip(&["-n", t2, "route", "add", "default", "via", "10.20.12.1"]);
    }

    fn health_file(&self) -> PathBuf {
        self.dir.join("health.json")
    }

    /// Starts lb.py in `ns` and waits for its "ready".
    fn spawn(&mut self, ns: &str, args: &[&str]) {
        use std::io::BufRead;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3"])
            .arg(self.dir.join("lb.py"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        self.children.push(child);
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "lb.py {args:?} in {ns}");
    }

    /// What the health checker saw last: address → "healthy" or AWS's reason.
    fn health(&self) -> Value {
        std::fs::read(self.health_file()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null)
    }

    /// Waits (at most 5 s) until the checker's last round says `want` for the two targets.
    fn wait_health(&self, want: [&str; 2]) -> Value {
        let start = Instant::now();
        loop {
            let h = self.health();
            if TARGETS.iter().zip(want).all(|((a, _), w)| h[a] == w) {
                return h;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "health checker never saw {want:?}: {h}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The kernel's answer: one HTTP request from the client to `addr`:443.
    fn fetch(&self, addr: &str) -> String {
        let script = self.dir.join("lb.py").display().to_string();
        let out =
            run(Command::new("ip").args(["netns", "exec", &self.client, "python3", &script, "fetch", addr, "443"]));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Target `n`'s host firewall drops the balancer's nodes on the target port.
    fn drop_the_balancer(&self, n: usize) {
        run(Command::new("ip").args([
            "netns",
            "exec",
            &self.targets[n],
            "iptables",
            "-A",
            "INPUT",
            "-s",
            NODE_PRIVATE,
            "-p",
            "tcp",
            "--dport",
            "8080",
            "-j",
            "DROP",
        ]));
    }

    /// A case folder of what the kernel showed now: the AWS snapshot with the checker's target
    /// health, target 1's host snapshot, and the client's probes of `resolved`.
    fn case(&self, resolved: &[&str]) -> PathBuf {
        let case = self.dir.join("case");
        let _ = std::fs::remove_dir_all(&case);
        let aws = case.join("aws");
        std::fs::create_dir_all(&aws).unwrap();
        for e in std::fs::read_dir(example().join("aws")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), aws.join(e.file_name())).unwrap();
        }
        // The example's fault fixed: the app group admits 8080 from the balancer's group.
        edit(&aws.join("ec2-describe-security-groups.json"), |t| {
            t.replacen("\"GroupId\": \"sg-0bastion4567890abc\"", "\"GroupId\": \"sg-0alb1234567890abc\"", 1)
        });
        add_nodes(&aws.join("ec2-describe-network-interfaces.json"));
        write_health(&aws.join("elbv2-describe-target-health.json"), &self.health());
        let host = case.join("host");
        let out = Command::new("ip")
            .args(["netns", "exec", &self.targets[0]])
            .arg(bin())
            .args(["snapshot", "host", "--out"])
            .arg(&host)
            .output()
            .unwrap();
        assert!(out.status.success(), "snapshot host: {}", String::from_utf8_lossy(&out.stderr));
        let probes: Vec<Value> = resolved.iter().map(|a| self.probe(a)).collect();
        std::fs::write(case.join("probes.json"), serde_json::to_vec_pretty(&probes).unwrap()).unwrap();
        case
    }

    /// `portdoctor probe ADDR:443` from the client, as a case's probe report.
    fn probe(&self, addr: &str) -> Value {
        let target = format!("{addr}:443");
        let args = ["probe", &target, "--json", "--attempts", "1", "--control-port", "22", "--timeout-ms", "1000"];
        let out = Command::new("ip").args(["netns", "exec", &self.client]).arg(bin()).args(args).output().unwrap();
        let mut r: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("probe {addr}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        if r.get("vantage").is_none() {
            r["vantage"] = json!("here");
        }
        r
    }
}

fn edit(file: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, f(text)).unwrap();
}

/// The balancer's nodes as AWS describes them: an interface per enabled subnet, described by
/// the balancer's ARN tail, carrying its group and a public address.
fn add_nodes(file: &Path) {
    let mut enis: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let nodes = [
        ("eni-0alb1a", "subnet-0aa11bb22cc33dd44", NODE_PRIVATE, NODES[0]),
        ("eni-0alb1b", "subnet-0bb22cc33dd44ee55", "10.20.2.10", NODES[1]),
    ];
    for (id, subnet, private, public) in nodes {
        enis["NetworkInterfaces"].as_array_mut().unwrap().push(json!({
            "NetworkInterfaceId": id, "VpcId": "vpc-0c1d2e3f4a5b6c7d8", "SubnetId": subnet, "Status": "in-use",
            "InterfaceType": "interface", "Description": "ELB app/shop-web/50dc6c495c0c9188",
            "Groups": [{"GroupId": "sg-0alb1234567890abc", "GroupName": "shop-web-alb"}],
            "Ipv6Addresses": [],
            "PrivateIpAddress": private,
            "PrivateIpAddresses": [{"PrivateIpAddress": private, "Primary": true, "Association": {"PublicIp": public}}]
        }));
    }
    std::fs::write(file, serde_json::to_vec_pretty(&enis).unwrap()).unwrap();
}

/// `describe-target-health` as the health checker saw the targets.
fn write_health(file: &Path, seen: &Value) {
    let descriptions: Vec<Value> = TARGETS
        .iter()
        .map(|(addr, id)| {
            let health = match seen[addr].as_str() {
                Some("healthy") => json!({"State": "healthy"}),
                Some("Target.Timeout") => {
                    json!({"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"})
                }
                Some(reason) => {
                    json!({"State": "unhealthy", "Reason": reason, "Description": "Health checks failed"})
                }
                None => panic!("the checker saw nothing of {addr}: {seen}"),
            };
            json!({"Target": {"Id": id, "Port": 8080}, "HealthCheckPort": "8080", "TargetHealth": health})
        })
        .collect();
    let doc = json!({"LoadBalancerTargetHealth": [{
        "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/shop-app/6d0ecf831eec9f09",
        "TargetHealthDescriptions": descriptions
    }]});
    std::fs::write(file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// `diagnose DNS:443 --snapshot CASE --resolve DNS:ADDRS --json`: (exit, report).
fn diagnose(case: &Path, resolved: &[&str]) -> (i32, Value) {
    let target = format!("{DNS}:443");
    let resolve = format!("{DNS}:{}", resolved.join(","));
    let out = Command::new(bin())
        .args(["diagnose", &target, "--snapshot"])
        .arg(case)
        .args(["--resolve", &resolve, "--json"])
        .output()
        .unwrap();
    let r: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), r)
}

/// A real OpenSSH server in each target namespace (key authentication, root allowed), so
/// `diagnose --target-ssh` reads each target's host as a user's ssh would (here from the
/// balancer's namespace, the one that reaches both targets, as a bastion does). Returns the
/// client's key.
fn start_sshds(bed: &mut Bed) -> PathBuf {
    let dir = bed.dir.join("ssh");
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("client_key");
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    // sshd's privilege-separation directory (the package's service creates it at start).
    std::fs::create_dir_all("/run/sshd").unwrap();
    for (n, ns) in bed.targets.clone().iter().enumerate() {
        let host_key = dir.join(format!("host_key_{n}"));
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&host_key));
        let conf = dir.join(format!("sshd_config_{n}"));
        let config = format!(
            "Port 22\nListenAddress 0.0.0.0\nHostKey {hk}\nPidFile {d}/sshd_{n}.pid\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n",
            hk = host_key.display(),
            d = dir.display()
        );
        std::fs::write(&conf, config).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        bed.children.push(child);
    }
    // Both answer a login before the test goes on.
    let login = |addr: &str| {
        let mut ssh = Command::new("ip");
        ssh.args(["netns", "exec", &bed.lb, "ssh", "-i"]).arg(&key);
        ssh.args(SSH_OPTIONS.iter().flat_map(|o| ["-o", o])).arg(format!("root@{addr}")).arg("true");
        ssh.output().unwrap().status.success()
    };
    for (addr, _) in TARGETS {
        let start = Instant::now();
        while !login(addr) {
            assert!(start.elapsed() < Duration::from_secs(10), "sshd on {addr} never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    key
}

/// The test's sshd host keys are new each run.
const SSH_OPTIONS: [&str; 5] =
    ["BatchMode=yes", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR", "ConnectTimeout=3"];

/// `diagnose DNS:443 --snapshot CASE --target-ssh …` run in the balancer's namespace (from
/// where both targets are reached over ssh): (exit, report, stderr).
fn diagnose_reaching(bed: &Bed, case: &Path, key: &Path, target_ssh: &[String]) -> (i32, Value, String) {
    let target = format!("{DNS}:443");
    let resolve = format!("{DNS}:{}", NODES.join(","));
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &bed.lb]).arg(bin()).args(["diagnose", &target, "--snapshot"]).arg(case);
    cmd.args(["--resolve", &resolve, "--json", "--ssh-identity"]).arg(key);
    for o in SSH_OPTIONS {
        cmd.args(["--ssh-option", o]);
    }
    for t in target_ssh {
        cmd.args(["--target-ssh", t]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), r, stderr)
}

fn codes(r: &Value) -> Vec<&str> {
    r["verdict"]["causes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect()
}

fn hops(r: &Value) -> Vec<&str> {
    r["path"].as_array().unwrap().iter().map(|h| h["hop"].as_str().unwrap()).collect()
}

fn checks<'a>(r: &'a Value, id: &str) -> Vec<&'a Value> {
    r["checks"].as_array().unwrap().iter().filter(|c| c["id"].as_str().is_some_and(|i| i.starts_with(id))).collect()
}

#[test]
fn all_targets_healthy_is_reachable_through_the_name() {
    let bed = Bed::new();
    for node in NODES {
        let got = bed.fetch(node);
        assert!(got.starts_with("HTTP/1.0 200 OK"), "{node}: {got}");
    }
    let case = bed.case(&NODES);
    let (code, r) = diagnose(&case, &NODES);
    assert_eq!(r["verdict"]["status"], "reachable", "{r:#}");
    assert_eq!(code, 0);
    let h = hops(&r);
    assert!(h.contains(&"load-balancer") && h.contains(&"target"), "{h:?}");
    assert!(checks(&r, "cloud.target.health").iter().all(|c| c["status"] == "pass"), "{r:#}");
}

#[test]
fn one_target_drops_the_balancer_the_other_serves() {
    let bed = Bed::new();
    bed.drop_the_balancer(0);
    bed.wait_health(["Target.Timeout", "healthy"]);
    // The balancer sends every request to the healthy target.
    for _ in 0..3 {
        assert_eq!(bed.fetch(NODES[0]), "HTTP/1.0 200 OK t2");
    }
    let case = bed.case(&NODES);
    let (code, r) = diagnose(&case, &NODES);
    assert_eq!(r["verdict"]["status"], "reachable", "{r:#}");
    assert_eq!(code, 0);
    assert!(codes(&r).is_empty(), "{r:#}");
    // The cloud layer: target 1 unhealthy, its share of the group.
    let warned: Vec<&Value> = checks(&r, "cloud.target.health").into_iter().filter(|c| c["status"] == "warn").collect();
    assert_eq!(warned.len(), 1, "{r:#}");
    let summary = warned[0]["summary"].as_str().unwrap();
    assert!(summary.contains("Target.Timeout") && summary.contains("1 of 2 targets of shop-app, 50%"), "{summary}");
    // The host layer (target 1's snapshot): the rule that drops the balancer, as that share.
    let fw = &checks(&r, "host.firewall")[0];
    assert_eq!(fw["status"], "warn", "{fw:#}");
    let summary = fw["summary"].as_str().unwrap();
    assert!(summary.contains("drops tcp/8080 from 10.20.1.10") && summary.contains("1 of 2 targets, 50%"), "{summary}");
}

#[test]
fn both_targets_drop_the_balancer_no_service() {
    let bed = Bed::new();
    bed.drop_the_balancer(0);
    bed.drop_the_balancer(1);
    bed.wait_health(["Target.Timeout", "Target.Timeout"]);
    // The node completes the handshake (an ALB does) and answers 504: nothing behind it answers.
    assert_eq!(bed.fetch(NODES[0]), "HTTP/1.0 504 Gateway Timeout");
    let case = bed.case(&NODES);
    let (code, r) = diagnose(&case, &NODES);
    assert_eq!(r["verdict"]["status"], "blocked", "{r:#}");
    assert_eq!(code, 1);
    // The host layer names the rule (target 1's snapshot); the cloud layer's health of both
    // targets points at the hosts.
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP", "TARGET_UNHEALTHY", "TARGET_UNHEALTHY"], "{r:#}");
    let drop = &r["verdict"]["causes"][0];
    assert_eq!(drop["layer"], "host");
    assert!(drop["message"].as_str().unwrap().contains("drops tcp/8080 from 10.20.1.10"), "{drop:#}");
    assert!(r["verdict"]["causes"][1]["evidence"][0].as_str().unwrap().contains("Target.Timeout"), "{r:#}");
}

#[test]
fn a_stale_record_points_at_an_address_nobody_holds() {
    let bed = Bed::new();
    let stale = ["203.0.113.99"];
    // Nobody holds it: the client's connection times out.
    assert_eq!(bed.fetch(stale[0]), "timeout");
    let case = bed.case(&stale);
    let (code, r) = diagnose(&case, &stale);
    assert!(codes(&r).contains(&"DNS_STALE"), "{r:#}");
    assert_eq!(code, 1, "{r:#}");
}

/// Issue 15, `--target-ssh`: each target's host read live over ssh and judged for what it sees;
/// target 1's firewall drops the balancer, target 2 serves. Target 1's drop is joined with its
/// health reason (Target.Timeout) as its share of the group; target 2's host passes; the
/// service is reachable.
#[test]
fn each_targets_host_over_ssh_one_drops_the_balancer() {
    let mut bed = Bed::new();
    let key = start_sshds(&mut bed);
    bed.drop_the_balancer(0);
    bed.wait_health(["Target.Timeout", "healthy"]);
    assert_eq!(bed.fetch(NODES[0]), "HTTP/1.0 200 OK t2");
    let case = bed.case(&NODES);
    // Only the cloud and the probes come from the case: the hosts are read over ssh.
    std::fs::remove_dir_all(case.join("host")).unwrap();
    let [(a1, t1), (a2, t2)] = TARGETS;
    let both = [format!("{t1}=root@{a1}"), format!("{t2}=root@{a2}")];
    let (code, r, stderr) = diagnose_reaching(&bed, &case, &key, &both);
    assert_eq!(r["verdict"]["status"], "reachable", "{stderr}\n{r:#}");
    assert_eq!(code, 0);
    assert!(codes(&r).is_empty(), "{r:#}");
    let id = |check: &str, t: &str| format!("{check}.{t}");
    // Target 1: the rule that drops the balancer, its share, and the health reason it explains.
    let fw1 = checks(&r, &id("host.firewall", t1))[0];
    assert_eq!(fw1["status"], "warn", "{fw1:#}");
    let summary = fw1["summary"].as_str().unwrap();
    assert!(summary.contains("drops tcp/8080 from 10.20.1.10") && summary.contains("1 of 2 targets, 50%"), "{summary}");
    let evidence: Vec<&str> = fw1["evidence"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let joined = format!("this is why {t1} fails its health checks (Target.Timeout)");
    assert!(evidence.iter().any(|e| e.starts_with(&joined)), "{evidence:?}");
    // Target 2: admitted, listening.
    let fw2 = checks(&r, &id("host.firewall", t2))[0];
    assert_eq!(fw2["status"], "pass", "{fw2:#}");
    assert_eq!(checks(&r, &id("host.listener", t2))[0]["status"], "pass", "{r:#}");
    assert!(checks(&r, "host.reach").is_empty(), "{r:#}");
    // The cloud layer agrees: target 1 unhealthy (its share), target 2 healthy.
    let health: Vec<&str> = checks(&r, "cloud.target.health").iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(health, ["warn", "pass"], "{r:#}");

    // `all=TEMPLATE` reaches both the same way.
    let (code, again, _) = diagnose_reaching(&bed, &case, &key, &["all=root@{ip}".to_string()]);
    assert_eq!(code, 0);
    // (Evidence holds the rules' counters, which the health checker keeps moving.)
    let verdicts = |r: &Value| -> Vec<(String, String)> {
        let all = r["checks"].as_array().unwrap().iter();
        all.map(|c| (c["id"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string())).collect()
    };
    assert_eq!(verdicts(&again), verdicts(&r));

    // A target that cannot be reached is an unknown check naming it; the other is still judged.
    let unreachable = [format!("{t1}=root@{a1}"), format!("{t2}=root@10.20.12.99")];
    let (code, r, stderr) = diagnose_reaching(&bed, &case, &key, &unreachable);
    let reach = checks(&r, &id("host.reach", t2));
    assert_eq!(reach.len(), 1, "{stderr}\n{r:#}");
    assert_eq!(reach[0]["status"], "unknown");
    assert!(reach[0]["summary"].as_str().unwrap().contains(t2), "{reach:?}");
    assert_eq!(checks(&r, &id("host.firewall", t1))[0]["status"], "warn", "{r:#}");
    // Target 1's own fault is its share while target 2 is healthy in AWS's eyes: the verdict
    // waits only on target 2's host, whose health says it serves (a context check).
    assert_eq!((code, &r["verdict"]["status"]), (0, &json!("reachable")), "{r:#}");
}

/// A target the balancer does not have is a usage error naming the ones it has.
#[test]
fn an_unknown_target_is_a_usage_error() {
    let mut bed = Bed::new();
    let key = start_sshds(&mut bed);
    let case = bed.case(&NODES);
    let (code, _, stderr) = diagnose_reaching(&bed, &case, &key, &["i-0nothere=root@10.20.11.10".to_string()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no target 'i-0nothere'"), "{stderr}");
    for (_, id) in TARGETS {
        assert!(stderr.contains(id), "{stderr}");
    }
}
