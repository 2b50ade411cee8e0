//! Everyday expressions against the real kernel: OpenWrt fw4's default ruleset (`iif "lo"`,
//! `ct state vmap`, its SYN-flood limit, ICMPv6 `type . code` sets for neighbor discovery, port
//! redirects), nft payload and link-layer protocol matches, and the matches decided by traffic
//! history (`-m limit`, `-m recent`): for those a probe's answer is given and the report says
//! that load changes it — then the load is made, and the kernel changes its answer as said.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{check, codes, host};
use portdoctor_testbed::{INSTANCE_V6, Listen, PUBLIC_V4, Testbed, Wire};
use serde_json::Value;

const FW4: &str = include_str!("../../portdoctor-parse/tests/fixtures/fw4-default.nft");

/// Checks whose status is unknown, by id.
fn unknown_checks(r: &Value) -> Vec<String> {
    r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "unknown")
        .map(|c| format!("{}: {}", c["id"], c["evidence"]))
        .collect()
}

#[test]
fn openwrt_fw4_default_ruleset_is_decided() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("::", 8080)).unwrap();
    tb.listen(&Listen::tcp("::", 8081)).unwrap();
    tb.nft(&tb.instance, FW4).unwrap();
    // The "Allow-Web" rule, behind the SYN-flood limit: a probe is under it.
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(unknown_checks(&r).is_empty(), "{:#?}", unknown_checks(&r));
    let fw = check(&r, "host.firewall");
    assert_eq!(fw["status"], "pass", "{fw:#}");
    assert!(fw["summary"].as_str().unwrap().contains("under load the answer changes"), "{fw:#}");
    let evidence = fw["evidence"].to_string();
    assert!(
        evidence.contains("load-dependent: nftables table fw4 chain syn_flood rule 1: limit rate 25/second burst 50")
            && evidence.contains("under that load it is dropped by nftables table fw4 chain syn_flood rule 2: drop"),
        "{evidence}"
    );
    // No rule for 8081: fw4's handle_reject answers with a TCP reset.
    assert_eq!(tb.connect(PUBLIC_V4, 8081, "tcp").unwrap(), Wire::Refused);
    let (code, r) = host(&tb, &["--port", "8081"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_REJECT"], "{r:#}");
    assert!(r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("chain handle_reject"), "{r:#}");
    // The port redirect wan 9443 -> 8080, admitted by the rule for 8080.
    assert_eq!(tb.connect(PUBLIC_V4, 9443, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "9443"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(unknown_checks(&r).is_empty(), "{:#?}", unknown_checks(&r));
    // IPv6: neighbor discovery passes fw4's `icmpv6 type . icmpv6 code` rules.
    assert_eq!(tb.connect(INSTANCE_V6, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080", "--from", "2001:db8:1::2", "--to", INSTANCE_V6]);
    assert_eq!(code, 0, "{r:#}");
    assert!(unknown_checks(&r).is_empty(), "{:#?}", unknown_checks(&r));
}

#[test]
fn nft_protocol_interface_and_state_map_matches_are_decided() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8081)).unwrap();
    tb.nft(
        &tb.instance,
        "table inet host {\n chain input {\n  type filter hook input priority filter; policy drop;\n  iif \"lo\" accept\n  ct state vmap { established : accept, related : accept, invalid : drop }\n  ip protocol icmp accept\n  meta protocol ip6 ip6 nexthdr tcp tcp dport 8081 accept\n  meta protocol ip ip protocol tcp tcp dport 8080 accept\n  meta l4proto esp accept\n }\n chain output {\n  type filter hook output priority filter; policy drop;\n  oif \"lo\" accept\n  ct state vmap { established : accept, related : accept }\n }\n}\n",
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(unknown_checks(&r).is_empty(), "{:#?}", unknown_checks(&r));
    // 8081 is admitted only over IPv6: IPv4 falls to the policy.
    assert_eq!(tb.connect(PUBLIC_V4, 8081, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8081"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
}

/// Connects until one fails (at most `n`): the kernel's answer under load.
fn load(tb: &Testbed, port: u16, n: usize) -> Vec<Wire> {
    let mut seen = Vec::new();
    for _ in 0..n {
        let w = tb.connect(PUBLIC_V4, port, "tcp").unwrap();
        let stop = w != Wire::Open;
        seen.push(w);
        if stop {
            break;
        }
    }
    seen
}

/// A listener on 8080 behind an INPUT chain that admits established traffic, then `rules`, then
/// `policy`: the testbed and portdoctor's firewall evidence for tcp/8080, which must be reachable
/// (for a probe).
fn behind_iptables(rules: &str, policy: &str) -> (Testbed, String) {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(
        &format!("*filter\n:INPUT {policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n{rules}COMMIT\n"),
        false,
    )
    .unwrap();
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    let evidence = check(&r, "host.firewall")["evidence"].to_string();
    (tb, evidence)
}

#[test]
fn iptables_limit_passes_a_probe_and_says_load_drops() {
    let (tb, evidence) = behind_iptables(
        "-A INPUT -p tcp -m tcp --dport 8080 -m conntrack --ctstate NEW -m limit --limit 2/min --limit-burst 2 -j ACCEPT\n",
        "DROP",
    );
    assert!(evidence.contains("2/min (burst 2)") && evidence.contains("policy DROP"), "{evidence}");
    // The kernel: a probe passes; past the burst, new connections are dropped — as said.
    let wires = load(&tb, 8080, 6);
    assert_eq!(wires[0], Wire::Open, "{wires:?}");
    assert_eq!(wires.last(), Some(&Wire::Timeout), "{wires:?}");
}

#[test]
fn iptables_recent_passes_a_quiet_client_and_says_a_returning_one_is_dropped() {
    let (tb, evidence) = behind_iptables(
        "-A INPUT -p tcp -m tcp --dport 8080 -m recent --update --seconds 60 --hitcount 2 --name web --rsource -j DROP\n-A INPUT -p tcp -m tcp --dport 8080 -m recent --set --name web --rsource\n",
        "ACCEPT",
    );
    assert!(
        evidence.contains("/proc/net/xt_recent/web") && evidence.contains("under that load it is dropped by"),
        "{evidence}"
    );
    let wires = load(&tb, 8080, 5);
    assert_eq!(wires, [Wire::Open, Wire::Open, Wire::Timeout]);
}

#[test]
fn iptables_rpfilter_in_raw_is_the_reverse_path_check() {
    // firewalld's iptables backend: `-t raw -A PREROUTING -m rpfilter --invert -j DROP`. The
    // second interface's traffic has its route back by eth0: dropped; eth0's own passes.
    let mut tb = Testbed::new().unwrap();
    tb.add_second_nic().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n",
        false,
    )
    .unwrap();
    assert_eq!(tb.connect("203.0.113.11", 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080", "--to", "10.0.2.10"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r)[0], "HOST_FIREWALL_DROP", "{r:#}");
    assert!(r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("-m rpfilter --invert"), "{r:#}");
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080", "--to", "10.0.1.10"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(unknown_checks(&r).is_empty(), "{:#?}", unknown_checks(&r));
}
