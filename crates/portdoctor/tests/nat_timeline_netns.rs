//! The translation timeline against the real kernel: which address each hook and priority sees
//! for every packet of a handshake through NAT. A raw or mangle chain in PREROUTING runs before
//! conntrack's DNAT (-100) and sees the original destination — for the first SYN and for every
//! later packet alike; FORWARD and INPUT see the translated one; a container's replies keep the
//! container's source until POSTROUTING's srcnat (+100). Docker ≥ 28's raw guard (`-d
//! <container> ! -i <bridge> -j DROP`, in iptables and in Docker 29's nftables form) is the case
//! that was wrong: every published port read "dropped after the handshake". Each scenario asks
//! the kernel with a real connect from the internet client, then `portdoctor host`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{check, codes, host};
use portdoctor_testbed::{Listen, PUBLIC_V4, Testbed, Wire, docker_nft_rules, docker_raw_guard, docker_rules};

/// A container publishing 80 as 8080, its app listening, with Docker 28's iptables rules (the
/// raw guard included) or Docker 29's nftables rules.
fn docker28(nft: bool) -> Testbed {
    let mut tb = Testbed::new().unwrap();
    let k = tb.add_container().unwrap();
    if nft {
        tb.nft(&tb.instance, &docker_nft_rules()).unwrap();
    } else {
        tb.iptables_restore(&docker_rules(""), false).unwrap();
        tb.iptables_restore(&docker_raw_guard(), false).unwrap();
    }
    tb.listen_in(&k, &Listen { name: Some("app".into()), ..Listen::tcp("0.0.0.0", 80) }).unwrap();
    tb
}

fn reachable_through_the_guard(nft: bool) {
    let tb = docker28(nft);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("app"), "{r:#}");
    assert_eq!(check(&r, "host.firewall")["status"], "pass", "{r:#}");
    assert_eq!(check(&r, "host.firewall.output")["status"], "pass", "{r:#}");
}

#[test]
fn docker28_raw_guard_passes_a_published_port_iptables() {
    reachable_through_the_guard(false);
}

#[test]
fn docker29_nftables_raw_guard_passes_a_published_port() {
    reachable_through_the_guard(true);
}

/// A guard on the original destination really drops: raw sees 10.0.1.10:8080 for every packet.
fn raw_drop_on_the_original_destination(nft: bool) {
    let tb = docker28(nft);
    if nft {
        tb.nft(&tb.instance, "table ip guard {\n chain raw { type filter hook prerouting priority raw; ip daddr 10.0.1.10 tcp dport 8080 drop; }\n}\n").unwrap();
    } else {
        tb.iptables_restore(
            &docker_raw_guard()
                .replace("COMMIT", "-A PREROUTING -d 10.0.1.10/32 -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT"),
            false,
        )
        .unwrap();
    }
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r)[0], "HOST_FIREWALL_DROP", "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    let rule = cause["evidence"][0].as_str().unwrap();
    assert!(
        rule.contains(if nft { "table guard chain raw" } else { "table raw chain PREROUTING rule 2" }),
        "{cause:#}"
    );
    assert!(!cause["message"].as_str().unwrap().contains("after the handshake"), "{cause:#}");
}

#[test]
fn raw_drop_on_the_original_destination_iptables() {
    raw_drop_on_the_original_destination(false);
}

#[test]
fn raw_drop_on_the_original_destination_nftables() {
    raw_drop_on_the_original_destination(true);
}

#[test]
fn the_containers_replies_keep_its_source_until_srcnat() {
    // A drop of "replies from 10.0.1.10:8080" before srcnat never matches: the SYN-ACK still
    // comes from 10.88.0.2:80 there.
    let tb = docker28(false);
    tb.nft(&tb.instance, "table ip post {\n chain early { type filter hook postrouting priority mangle; ip saddr 10.0.1.10 tcp sport 8080 drop; }\n}\n").unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    // After srcnat (priority 200) the same rule sees the original source and drops the SYN-ACK.
    tb.nft(&tb.instance, "table ip post {\n chain late { type filter hook postrouting priority 200; ip saddr 10.0.1.10 tcp sport 8080 drop; }\n}\n").unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_OUTPUT_DROP"], "{r:#}");
    assert!(r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("chain late"), "{r:#}");
}

#[test]
fn raw_sees_no_connection_yet_so_ct_state_reads_invalid() {
    // Before conntrack (-200) no connection is attached: `ct state invalid` in a raw chain
    // matches every packet, the first SYN included.
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.nft(&tb.instance, "table inet early {\n chain raw { type filter hook prerouting priority raw; tcp dport 8080 ct state invalid drop; }\n}\n").unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    // At mangle (after conntrack) the same rule leaves a new connection alone.
    tb.nft(&tb.instance, "flush ruleset\ntable inet early {\n chain mangle { type filter hook prerouting priority mangle; tcp dport 8080 ct state invalid drop; }\n}\n").unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    assert_eq!(host(&tb, &["--port", "8080"]).0, 0);
}

#[test]
fn a_masqueraded_clients_replies_are_addressed_to_the_bridge_until_dstnat() {
    // The SYN to the container is masqueraded (as kube-proxy does for external traffic to a
    // pod): the container answers the bridge's address, and only PREROUTING's dstnat (-100)
    // gives the reply the client's address back. A raw rule on the client's address never sees
    // it; one on the bridge's address drops the SYN-ACK.
    let tb = docker28(false);
    let masq = |raw_rule: &str| {
        let rules = docker_rules("").replace(
            "-A POSTROUTING -s 10.88.0.0/24",
            "-A POSTROUTING -o docker0 -j MASQUERADE\n-A POSTROUTING -s 10.88.0.0/24",
        );
        tb.iptables_restore(&rules, false).unwrap();
        tb.iptables_restore(&docker_raw_guard().replace("COMMIT", &format!("{raw_rule}COMMIT")), false).unwrap();
    };
    masq("-A PREROUTING -s 10.88.0.2/32 -d 198.51.100.0/24 -i docker0 -p tcp -m tcp --sport 80 -j DROP\n");
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    masq("-A PREROUTING -s 10.88.0.2/32 -d 10.88.0.1/32 -i docker0 -p tcp -m tcp --sport 80 -j DROP\n");
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_OUTPUT_DROP"], "{r:#}");
    assert!(
        r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("table raw chain PREROUTING rule 2"),
        "{r:#}"
    );
}
