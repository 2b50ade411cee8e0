//! Differential test against the kernel: seeded random rulesets, iptables and native nftables in
//! turn (chains, jumps, gotos,
//! returns, policies, ipsets, multiport, ranges, interfaces, conntrack state, REJECT/DROP/ACCEPT,
//! NAT redirects, OUTPUT policies) are loaded into the instance namespace; for each, real
//! connects from two client addresses to two ports, and portdoctor's verdict for the same flow
//! (from a host snapshot of that moment) must agree with what the kernel did, every time.
//!
//! `PORTDOCTOR_DIFF_CASES` (default 300) and `PORTDOCTOR_DIFF_SEED` (default printed) replay or
//! extend a run.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use portdoctor_testbed::rng::Rng;
use portdoctor_testbed::{Listen, PUBLIC_V4, Testbed, Wire};
use serde_json::Value;
use std::path::Path;

const CLIENTS: [&str; 2] = ["198.51.100.2", "198.51.100.3"];
const PORTS: [u16; 2] = [8080, 8081];

fn rule(rng: &mut Rng, chain: &str, jumps: &[&str]) -> String {
    let mut r = format!("-A {chain}");
    let tcp = rng.chance(60);
    if tcp {
        r += " -p tcp";
    } else if rng.chance(10) {
        r += " -p udp";
    }
    if rng.chance(35) {
        r += rng.pick(&[
            " -s 198.51.100.2/32",
            " -s 198.51.100.3/32",
            " -s 198.51.100.0/24",
            " ! -s 198.51.100.2/32",
            " -m iprange --src-range 198.51.100.1-198.51.100.2",
            " -m set --match-set sa src",
            " -m set ! --match-set sb src",
            " -s 192.0.2.0/24",
        ]);
    }
    if tcp && rng.chance(50) {
        r += rng.pick(&[
            " -m tcp --dport 8080",
            " -m tcp --dport 8081",
            " -m multiport --dports 8080,9000:9100",
            " -m tcp ! --dport 8080",
            " -m tcp --dport 8000:8085",
        ]);
    }
    if rng.chance(20) {
        r += rng.pick(&[" -i eth0", " -i lo", " -i eth+", " ! -i eth0"]);
    }
    if rng.chance(15) {
        r += rng.pick(&[
            " -m conntrack --ctstate NEW",
            " -m conntrack --ctstate RELATED,ESTABLISHED",
            " -m conntrack --ctstate INVALID",
            " -m state --state NEW,ESTABLISHED",
        ]);
    }
    if tcp && rng.chance(10) {
        r += " -m tcp --syn";
    }
    if rng.chance(10) {
        r += " -m comment --comment \"rule from the generator\"";
    }
    let roll = rng.below(100);
    r += &match roll {
        0..=24 => " -j ACCEPT".to_string(),
        25..=44 => " -j DROP".to_string(),
        45..=54 if tcp => " -j REJECT --reject-with tcp-reset".to_string(),
        45..=59 => " -j REJECT".to_string(),
        60..=69 if chain != "INPUT" => " -j RETURN".to_string(),
        60..=89 if !jumps.is_empty() => format!(" -{} {}", if rng.chance(20) { "g" } else { "j" }, rng.pick(jumps)),
        _ => " -j LOG --log-prefix \"gen \"".to_string(),
    };
    r + "\n"
}

fn ruleset(rng: &mut Rng) -> String {
    let policy = if rng.chance(50) { "DROP" } else { "ACCEPT" };
    let out_drop = rng.chance(15);
    let mut s = format!(
        "*filter\n:INPUT {policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT {} [0:0]\n:c1 - [0:0]\n:c2 - [0:0]\n",
        if out_drop { "DROP" } else { "ACCEPT" }
    );
    for (chain, jumps, n) in [
        ("INPUT", &["c1", "c2"][..], 1 + rng.below(6)),
        ("c1", &["c2"][..], rng.below(5)),
        ("c2", &[][..], rng.below(4)),
    ] {
        for _ in 0..n {
            s += &rule(rng, chain, jumps);
        }
    }
    if out_drop {
        s += rng.pick(&[
            "-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n",
            "-A OUTPUT -p tcp -m tcp --sport 8080 -j ACCEPT\n",
            "",
        ]);
    }
    s += "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
    if rng.chance(30) {
        s += rng.pick(&[
            "-A PREROUTING -p tcp -m tcp --dport 8081 -j REDIRECT --to-ports 9090\n",
            "-A PREROUTING -p tcp -m tcp --dport 8081 -j REDIRECT --to-ports 9091\n",
            "-A PREROUTING -s 198.51.100.3/32 -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 9090\n",
        ]);
    }
    s + "COMMIT\n"
}

/// The same kind of ruleset in native nftables syntax (an inet table with named sets).
fn nft_rule(rng: &mut Rng, jumps: &[&str]) -> String {
    let mut r = String::from("    ");
    let tcp = rng.chance(60);
    if rng.chance(35) {
        r += rng.pick(&[
            "ip saddr 198.51.100.2 ",
            "ip saddr 198.51.100.3 ",
            "ip saddr 198.51.100.0/24 ",
            "ip saddr != 198.51.100.2 ",
            "ip saddr 198.51.100.1-198.51.100.2 ",
            "ip saddr @sa ",
            "ip saddr != @sb ",
            "ip saddr 192.0.2.0/24 ",
        ]);
    }
    if tcp {
        r += rng.pick(&[
            "tcp dport 8080 ",
            "tcp dport 8081 ",
            "tcp dport { 8080, 9000-9100 } ",
            "tcp dport != 8080 ",
            "tcp dport 8000-8085 ",
            "meta l4proto tcp ",
        ]);
    } else if rng.chance(10) {
        r += "meta l4proto udp ";
    }
    if rng.chance(20) {
        r += rng.pick(&["iifname \"eth0\" ", "iifname \"lo\" ", "iifname \"eth*\" ", "iifname != \"eth0\" "]);
    }
    if rng.chance(15) {
        r += rng.pick(&["ct state new ", "ct state established,related ", "ct state invalid "]);
    }
    if tcp && rng.chance(10) {
        r += "tcp flags & (fin|syn|rst|ack) == syn ";
    }
    if rng.chance(20) {
        r += "counter ";
    }
    let roll = rng.below(100);
    r += &match roll {
        0..=24 => "accept".to_string(),
        25..=44 => "drop".to_string(),
        45..=54 if tcp => "reject with tcp reset".to_string(),
        45..=59 => "reject".to_string(),
        60..=69 if !jumps.contains(&"c1") => "return".to_string(),
        60..=89 if !jumps.is_empty() => format!("{} {}", if rng.chance(20) { "goto" } else { "jump" }, rng.pick(jumps)),
        _ => "log prefix \"gen \"".to_string(),
    };
    r + "\n"
}

fn nft_ruleset(rng: &mut Rng) -> String {
    let policy = if rng.chance(50) { "drop" } else { "accept" };
    let mut s = String::from(
        "flush ruleset\ntable inet gen {\n  set sa { type ipv4_addr; elements = { 198.51.100.2 } }\n  set sb { type ipv4_addr; flags interval; elements = { 198.51.100.0/25 } }\n",
    );
    let mut chain = |name: &str, head: &str, jumps: &[&str], n: u64, rng: &mut Rng| {
        s += &format!("  chain {name} {{\n{head}");
        for _ in 0..n {
            s += &nft_rule(rng, jumps);
        }
        s += "  }\n";
    };
    let n_in = 1 + rng.below(6);
    chain("input", &format!("    type filter hook input priority 0; policy {policy};\n"), &["c1", "c2"], n_in, rng);
    let n1 = rng.below(5);
    chain("c1", "", &["c2"], n1, rng);
    let n2 = rng.below(4);
    chain("c2", "", &[], n2, rng);
    if rng.chance(15) {
        let keep = rng.pick(&["    ct state established accept\n", "    tcp sport 8080 accept\n", ""]);
        s += &format!("  chain output {{\n    type filter hook output priority 0; policy drop;\n{keep}  }}\n");
    }
    s += "}\n";
    if rng.chance(30) {
        let redirect = rng.pick(&[
            "tcp dport 8081 redirect to :9090",
            "tcp dport 8081 redirect to :9091",
            "ip saddr 198.51.100.3 tcp dport 8080 redirect to :9090",
        ]);
        s += &format!(
            "table ip gennat {{\n  chain prerouting {{\n    type nat hook prerouting priority dstnat;\n    {redirect}\n  }}\n}}\n"
        );
    }
    s
}

/// Does portdoctor's verdict say what the kernel did?
fn agrees(wire: &Wire, r: &Value) -> bool {
    let status = r["verdict"]["status"].as_str().unwrap_or("");
    let first = r["verdict"]["causes"][0]["code"].as_str().unwrap_or("");
    match wire {
        Wire::Open => status == "reachable",
        Wire::Refused => status == "blocked" && matches!(first, "HOST_FIREWALL_REJECT" | "NOT_LISTENING"),
        Wire::Timeout => status == "blocked" && matches!(first, "HOST_FIREWALL_DROP" | "HOST_FIREWALL_OUTPUT_DROP"),
        Wire::Error(_) => false,
    }
}

fn worker(seed: u64, cases: std::ops::Range<u64>) -> (u64, Vec<String>) {
    let bin = Path::new(env!("CARGO_BIN_EXE_portdoctor"));
    let mut tb = Testbed::new().unwrap();
    tb.add_client_addr().unwrap();
    // The kernel rate-limits ICMP errors per peer (icmp_ratelimit, 1 s): hundreds of rejects to
    // the same two clients would otherwise turn some into silence. Off in this namespace.
    let out = tb
        .exec(&tb.instance, &["sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_msgs_per_sec=100000"])
        .unwrap();
    assert!(out.status.success());
    for port in [8080, 8081, 9090] {
        tb.listen(&Listen::tcp("0.0.0.0", port)).unwrap();
    }
    tb.ipset_restore(
        "create sa hash:ip family inet\nadd sa 198.51.100.2\ncreate sb hash:net family inet\nadd sb 198.51.100.0/25\n",
    )
    .unwrap();
    let snap = std::env::temp_dir().join(format!("{}-diff", tb.instance));
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for case in cases {
        let mut rng = Rng::new(seed ^ (case + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Odd cases are native nftables, even ones iptables; each starts from an empty ruleset.
        let rules = if case % 2 == 1 {
            let rules = nft_ruleset(&mut rng);
            tb.nft(&tb.instance, &rules).unwrap();
            rules
        } else {
            tb.nft(&tb.instance, "flush ruleset\n").unwrap();
            let rules = ruleset(&mut rng);
            tb.iptables_restore(&rules, false).unwrap();
            rules
        };
        let mut wires = Vec::new();
        for client in CLIENTS {
            for port in PORTS {
                wires.push((client, port, tb.connect_from(client, PUBLIC_V4, port, "tcp", 0.3).unwrap()));
            }
        }
        let _ = std::fs::remove_dir_all(&snap);
        let out = tb.run_in_instance(bin, &["snapshot", "host", "--out", snap.to_str().unwrap()]).unwrap();
        assert!(out.status.success());
        for (client, port, wire) in wires {
            let out = std::process::Command::new(bin)
                .args([
                    "host",
                    "--json",
                    "--snapshot",
                    snap.to_str().unwrap(),
                    "--port",
                    &port.to_string(),
                    "--from",
                    client,
                ])
                .output()
                .unwrap();
            let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            checked += 1;
            if !agrees(&wire, &r) {
                disagreements.push(format!(
                    "case {case} (seed {seed:#x}): {client} -> tcp/{port}: kernel {wire}, portdoctor {} {:?}\n{rules}{}",
                    r["verdict"]["status"], r["verdict"]["summary"], r["checks"]
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&snap);
    (checked, disagreements)
}

#[test]
fn random_rulesets_agree_with_the_kernel() {
    let cases: u64 = std::env::var("PORTDOCTOR_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seed: u64 = std::env::var("PORTDOCTOR_DIFF_SEED")
        .ok()
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed_2026);
    println!("differential seed {seed:#x}, {cases} rulesets (PORTDOCTOR_DIFF_SEED / PORTDOCTOR_DIFF_CASES to change)");
    let workers = 3;
    let results: Vec<(u64, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let lo = cases * w / workers;
                let hi = cases * (w + 1) / workers;
                s.spawn(move || worker(seed, lo..hi))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked: u64 = results.iter().map(|r| r.0).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.1).collect();
    println!("{cases} rulesets, {checked} flows compared with the kernel, {} disagreements", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {checked} flows disagree:\n{}",
        failures.len(),
        failures.iter().take(5).map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}
