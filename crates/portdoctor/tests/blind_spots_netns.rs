//! What drops packets below (or beside) netfilter, against the real kernel: a tc ingress
//! filter, an XDP program, an xfrm block policy, a netdev-family nftables chain, a blackhole
//! route for the replies and an `ip rule … prohibit`. Each asks the kernel first (the real
//! connect fails), then portdoctor, which must say blocked or inconclusive naming the layer —
//! never reachable. A control keeps the new sources present but harmless.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{check, codes, host};
use portdoctor_testbed::{CLIENT_V4, INSTANCE_V6, Listen, PUBLIC_V4, Testbed, Wire};
use serde_json::Value;

fn status(r: &Value) -> &str {
    r["verdict"]["status"].as_str().unwrap()
}

/// A listener on 0.0.0.0:8080 that the client reaches before the blind spot is made.
fn open_testbed() -> Testbed {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open, "open before the blind spot");
    tb
}

/// The kernel drops the client's connection now.
fn kernel_drops(tb: &Testbed) {
    let wire = tb.connect(PUBLIC_V4, 8080, "tcp").unwrap();
    assert!(matches!(wire, Wire::Timeout | Wire::Error(_)), "the kernel lets it through: {wire:?}");
}

/// Inconclusive (exit 3) with `id` unknown, its summary and evidence containing `needles`.
fn assert_unknown_naming(r: &Value, code: i32, id: &str, needles: &[&str]) {
    assert_eq!((code, status(r)), (3, "inconclusive"), "{r:#}");
    let c = check(r, id);
    assert_eq!(c["status"], "unknown", "{c:#}");
    let text = c.to_string();
    for n in needles {
        assert!(text.contains(n), "{id} does not name {n}: {c:#}");
    }
}

#[test]
fn tc_ingress_drop_filter_is_unknown_naming_the_filter() {
    let tb = open_testbed();
    tb.tc_ingress_drop("eth0").unwrap();
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_unknown_naming(&r, code, "host.tc-ingress", &["tc_drop", "eth0", "tc -s filter show dev eth0 ingress"]);
    let kernel = r["path"].as_array().unwrap().iter().find(|h| h["hop"] == "kernel").unwrap();
    assert_eq!(kernel["status"], "unknown", "{kernel:#}");
}

#[test]
fn xdp_program_is_unknown_naming_the_program() {
    let tb = open_testbed();
    tb.xdp_drop("eth0").unwrap();
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_unknown_naming(&r, code, "host.xdp", &["xdp_drop", "generic mode", "bpftool prog dump xlated id"]);
}

#[test]
fn xfrm_block_policy_is_a_blocking_cause() {
    let tb = open_testbed();
    tb.instance_ip(&[
        "xfrm",
        "policy",
        "add",
        "src",
        "198.51.100.0/24",
        "dst",
        "10.0.1.10/32",
        "proto",
        "tcp",
        "dport",
        "8080",
        "dir",
        "in",
        "action",
        "block",
    ])
    .unwrap();
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080", "--from", CLIENT_V4]);
    assert_eq!((code, status(&r)), (1, "blocked"), "{r:#}");
    assert_eq!(codes(&r), ["XFRM_POLICY_BLOCK"], "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert!(cause["evidence"][0].as_str().unwrap().contains("action block"), "{cause:#}");
    assert!(
        cause["fix"][0]
            .as_str()
            .unwrap()
            .starts_with("ip xfrm policy delete dir in src 198.51.100.0/24 dst 10.0.1.10/32 proto 6 dport 8080"),
        "{cause:#}"
    );
    // Another port is not selected by the policy.
    let (code, r) = host(&tb, &["--port", "22", "--from", CLIENT_V4]);
    assert_eq!(check(&r, "host.xfrm")["status"], "pass", "{r:#}");
    assert_ne!(code, 0, "nothing listens on 22");
}

#[test]
fn netdev_ingress_chain_drop_is_never_reachable() {
    let tb = open_testbed();
    tb.nft(
        &tb.instance,
        "table netdev edgeguard {\n chain in { type filter hook ingress device \"eth0\" priority 0; tcp dport 8080 drop; }\n}\n",
    )
    .unwrap();
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_ne!(status(&r), "reachable", "{r:#}");
    assert!(
        r["verdict"].to_string().contains("edgeguard") || check(&r, "host.firewall").to_string().contains("edgeguard"),
        "{r:#}"
    );
    assert_eq!((code, status(&r)), (1, "blocked"), "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert!(cause["component"].as_str().unwrap().contains("edgeguard in"), "{cause:#}");
}

#[test]
fn blackhole_route_for_the_replies_is_a_blocking_cause() {
    let tb = open_testbed();
    tb.instance_ip(&["route", "add", "blackhole", "198.51.100.0/24"]).unwrap();
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080", "--from", CLIENT_V4]);
    assert_eq!((code, status(&r)), (1, "blocked"), "{r:#}");
    assert!(codes(&r).contains(&"HOST_ROUTE_DROP".to_string()), "{r:#}");
    let cause = r["verdict"]["causes"].as_array().unwrap().iter().find(|c| c["code"] == "HOST_ROUTE_DROP").unwrap();
    assert!(cause["message"].as_str().unwrap().contains("replies"), "{cause:#}");
    assert!(cause["evidence"].to_string().contains("blackhole route 198.51.100.0/24"), "{cause:#}");
    assert_eq!(
        cause["fix"][0],
        "ip route del blackhole 198.51.100.0/24 table main (and remove it from the network configuration that adds it)"
    );
    assert!(!codes(&r).contains(&"REPLY_ROUTE_ASYMMETRIC".to_string()), "a blackhole is not another way out: {r:#}");
}

#[test]
fn ip_rule_prohibit_is_a_blocking_cause() {
    let tb = open_testbed();
    tb.instance_ip(&["rule", "add", "to", "198.51.100.0/24", "priority", "100", "prohibit"]).unwrap();
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080", "--from", CLIENT_V4]);
    assert_eq!((code, status(&r)), (1, "blocked"), "{r:#}");
    assert!(codes(&r).contains(&"HOST_ROUTE_DROP".to_string()), "{r:#}");
    let cause = r["verdict"]["causes"].as_array().unwrap().iter().find(|c| c["code"] == "HOST_ROUTE_DROP").unwrap();
    assert!(cause["evidence"].to_string().contains("policy rule 100"), "{cause:#}");
    assert!(cause["fix"][0].as_str().unwrap().starts_with("ip rule del priority 100"), "{cause:#}");
}

/// IPv6 policy rules are read (`ip -6 rule`, ip-6-rule.json): the kernel refuses the client's
/// IPv6 connection by a prohibit rule toward it, and portdoctor names that rule and IPv6's fix.
#[test]
fn ipv6_ip_rule_prohibit_is_a_blocking_cause() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen { v6only: Some(false), ..Listen::tcp("::", 8080) }).unwrap();
    assert_eq!(tb.connect(INSTANCE_V6, 8080, "tcp").unwrap(), Wire::Open, "open before the rule");
    tb.instance_ip(&["-6", "rule", "add", "to", "2001:db8:1::/64", "priority", "100", "prohibit"]).unwrap();
    let wire = tb.connect(INSTANCE_V6, 8080, "tcp").unwrap();
    assert!(matches!(wire, Wire::Timeout | Wire::Error(_)), "the kernel lets it through: {wire:?}");
    let (code, r) = host(&tb, &["--port", "8080", "--from", "2001:db8:1::2", "--to", INSTANCE_V6]);
    assert_eq!((code, status(&r)), (1, "blocked"), "{r:#}");
    let cause = r["verdict"]["causes"].as_array().unwrap().iter().find(|c| c["code"] == "HOST_ROUTE_DROP").unwrap();
    assert!(cause["evidence"].to_string().contains("policy rule 100"), "{cause:#}");
    assert!(cause["evidence"].to_string().contains("ip-6-rule.json"), "{cause:#}");
    assert!(cause["fix"][0].as_str().unwrap().starts_with("ip -6 rule del priority 100"), "{cause:#}");
}

/// A packet for this host that a moved `local` rule lets a `prohibit` rule catch on arrival.
#[test]
fn ip_rule_prohibit_on_arrival_is_a_blocking_cause() {
    let tb = open_testbed();
    for args in [
        &["rule", "add", "priority", "1000", "lookup", "local"][..],
        &["rule", "del", "priority", "0"],
        &["rule", "add", "iif", "eth0", "priority", "500", "prohibit"],
    ] {
        tb.instance_ip(args).unwrap();
    }
    kernel_drops(&tb);
    let (code, r) = host(&tb, &["--port", "8080", "--from", CLIENT_V4]);
    assert_eq!((code, status(&r)), (1, "blocked"), "{r:#}");
    let cause = r["verdict"]["causes"].as_array().unwrap().iter().find(|c| c["code"] == "HOST_ROUTE_DROP").unwrap();
    assert!(cause["message"].as_str().unwrap().contains("arriving at 10.0.1.10 on eth0"), "{cause:#}");
    assert!(cause["evidence"].to_string().contains("500: from all iif eth0 prohibit"), "{cause:#}");
}

/// Every new source present and harmless: a dropping tc filter and XDP program on another
/// interface, an xfrm block policy for another port, a blackhole route elsewhere, a netdev chain
/// on another device. Still reachable, and the checks say why.
#[test]
fn harmless_blind_spots_leave_it_reachable() {
    let tb = open_testbed();
    tb.instance_ip(&["link", "add", "name", "pd-side", "type", "veth", "peer", "name", "pd-side-peer"]).unwrap();
    tb.instance_ip(&["link", "set", "pd-side", "up"]).unwrap();
    tb.tc_ingress_drop("pd-side").unwrap();
    tb.xdp_drop("pd-side").unwrap();
    tb.instance_ip(&[
        "xfrm",
        "policy",
        "add",
        "src",
        "0.0.0.0/0",
        "dst",
        "10.0.1.10/32",
        "proto",
        "tcp",
        "dport",
        "9999",
        "dir",
        "in",
        "action",
        "block",
    ])
    .unwrap();
    tb.instance_ip(&["route", "add", "blackhole", "192.0.2.0/24"]).unwrap();
    tb.nft(
        &tb.instance,
        "table netdev side {\n chain in { type filter hook ingress device \"pd-side\" priority 0; drop; }\n}\n",
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080", "--from", CLIENT_V4]);
    assert_eq!((code, status(&r)), (0, "reachable"), "{r:#}");
    for id in ["host.tc-ingress", "host.xdp", "host.xfrm", "host.routing", "host.firewall"] {
        assert_eq!(check(&r, id)["status"], "pass", "{id}: {r:#}");
    }
    assert!(check(&r, "host.tc-ingress").to_string().contains("pd-side do not see traffic arriving on eth0"), "{r:#}");
}
