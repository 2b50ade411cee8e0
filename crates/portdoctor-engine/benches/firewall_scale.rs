//! Host firewall at kube-proxy scale (issue: host firewall engine): a generated iptables-save of
//! ~100,000 rules — 10,000 services, each a KUBE-SERVICES rule, a KUBE-SVC chain of three
//! `statistic` rules and three KUBE-SEP chains with DNAT — plus a filter table with ipset
//! matches. Prints parse + first flow, a further flow on the parsed ruleset, and peak RSS.
//! Run: `cargo bench -p portdoctor-engine --bench firewall_scale`.

#![allow(clippy::unwrap_used)]

use portdoctor_engine::firewall::{Compiled, Packet};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::firewall::{AddrSetDef, Backend, FwFamily, Netfilter};
use portdoctor_model::net::Family;
use std::fmt::Write;
use std::time::Instant;

const SERVICES: usize = 10_000;

fn ruleset() -> String {
    let mut s = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n",
    );
    for i in 0..SERVICES {
        let _ = writeln!(s, ":KUBE-SVC-{i:016X} - [0:0]");
        for e in 0..3 {
            let _ = writeln!(s, ":KUBE-SEP-{i:014X}{e:02X} - [0:0]");
        }
    }
    s += "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n";
    for i in 0..SERVICES {
        let ip = format!("10.96.{}.{}", i / 250, i % 250 + 1);
        let _ = writeln!(
            s,
            "-A KUBE-SERVICES -d {ip}/32 -p tcp -m comment --comment \"ns{}/svc{i}:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-{i:016X}",
            i % 50
        );
        for e in 0..3u32 {
            let prob = ["0.33333333349", "0.50000000000", ""][e as usize];
            let stat = if prob.is_empty() {
                String::new()
            } else {
                format!(" -m statistic --mode random --probability {prob}")
            };
            let _ = writeln!(
                s,
                "-A KUBE-SVC-{i:016X} -m comment --comment \"ns/svc{i}:http -> ep{e}\"{stat} -j KUBE-SEP-{i:014X}{e:02X}"
            );
            let pod = format!("10.244.{}.{}", (i * 3 + e as usize) / 250 % 250, (i * 3 + e as usize) % 250 + 1);
            let _ = writeln!(
                s,
                "-A KUBE-SEP-{i:014X}{e:02X} -s {pod}/32 -m comment --comment \"ns/svc{i}:http\" -j KUBE-MARK-MASQ"
            );
            let _ = writeln!(
                s,
                "-A KUBE-SEP-{i:014X}{e:02X} -p tcp -m comment --comment \"ns/svc{i}:http\" -m tcp -j DNAT --to-destination {pod}:8080"
            );
        }
    }
    s += "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.0.9:8080\nCOMMIT\n";
    // KUBE-MARK-MASQ is declared after use in real saves too; declare it in the nat table.
    s = s.replacen(":KUBE-NODEPORTS - [0:0]\n", ":KUBE-NODEPORTS - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n", 1);
    s += "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n:ALLOW - [0:0]\n";
    s +=
        "-A INPUT -j KUBE-FIREWALL\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -j ALLOW\n";
    s += "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n";
    for i in 0..500 {
        let _ = writeln!(
            s,
            "-A ALLOW -p tcp -m set --match-set allow{} src -m tcp --dport {} -j ACCEPT",
            i % 20,
            20000 + i
        );
    }
    s += "-A ALLOW -p tcp -m multiport --dports 22,443 -j ACCEPT\nCOMMIT\n";
    s
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let text = ruleset().replace("--ctstate RELATED,ESTABLISHED,DNAT", "--ctstate RELATED,ESTABLISHED");
    // For the live comparison (docs/benchmarks.md): load this file with iptables-restore.
    if let Some(path) = std::env::var_os("PORTDOCTOR_BENCH_DUMP") {
        std::fs::write(path, &text).unwrap();
    }
    let rules = text.lines().filter(|l| l.starts_with("-A ")).count();
    let sets: Vec<AddrSetDef> = (0..20)
        .map(|i| AddrSetDef {
            name: format!("allow{i}"),
            table: None,
            family: None,
            kind: "hash:net".into(),
            members: Some(vec![format!("198.51.{i}.0/24").parse().unwrap()]),
        })
        .collect();
    let pkt = |port: u16| Packet::first(Family::V4, 6, "10.0.1.10".parse().unwrap(), port, Some("eth0".into()));
    let clients = AddrSet::internet(Family::V4);
    let t = Instant::now();
    let tables = portdoctor_parse::iptables::parse_save("bench", &text, Backend::IptablesNft, FwFamily::Ip).unwrap();
    let nf = Netfilter { tables, sets, ..Netfilter::default() };
    let first = Compiled::new(&nf).evaluate(&pkt(443), &clients);
    let parse_and_first = t.elapsed();
    let n = 100;
    let compiled = Compiled::new(&nf);
    let t = Instant::now();
    let mut outcomes = 0;
    for i in 0..n {
        outcomes += compiled.evaluate(&pkt(20000 + (i % 600) as u16), &clients).len();
    }
    let further = t.elapsed() / n;
    println!(
        "ruleset: {rules} rules ({} KB of iptables-save), {} outcomes for tcp/443",
        text.len() / 1024,
        first.len()
    );
    println!("parse + evaluate one flow:  {:>8.1} ms   (target <= 300 ms)", parse_and_first.as_secs_f64() * 1e3);
    println!(
        "a further flow:             {:>8.3} ms   (target <= 1 ms; mean of {n}, {outcomes} outcomes)",
        further.as_secs_f64() * 1e3
    );
    println!("peak RSS:                   {:>8.1} MB   (target <= 200 MB)", peak_rss_mb());
}
