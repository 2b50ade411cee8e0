//! Who reads which table, against the real kernel: native nftables tables named like iptables
//! ones (the usual hand-written /etc/nftables.conf), a table of iptables rules and native chains
//! together, and rules iptables prints by protocol names the parser once refused. Each scenario
//! asks the kernel first, then portdoctor.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{check, codes, host};
use portdoctor_testbed::{INSTANCE_V6, Listen, PUBLIC_V4, Testbed, Wire};

/// What iptables-nft-save prints in the instance (its wording is what the reader keys on).
fn iptables_nft_save(tb: &Testbed) -> String {
    String::from_utf8_lossy(&tb.exec(&tb.instance, &["iptables-nft-save"]).unwrap().stdout).into_owned()
}

#[test]
fn a_hand_written_table_ip_filter_is_read_natively() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8081)).unwrap();
    tb.nft(
        &tb.instance,
        "table ip filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iifname \"lo\" accept\n  tcp dport 8081 accept\n }\n}\n",
    )
    .unwrap();
    // iptables-nft sees a table it cannot show, and says so in a comment above an empty stand-in.
    assert!(iptables_nft_save(&tb).contains("# Table `filter' contains incompatible"), "{}", iptables_nft_save(&tb));
    assert_eq!(tb.connect(PUBLIC_V4, 8081, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8081"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"]);
    let ev = r["verdict"]["causes"][0]["evidence"].to_string();
    assert!(ev.contains("nftables table filter chain input: policy DROP"), "{ev}");
}

#[test]
fn a_hand_written_table_ip6_filter_is_read_natively() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("::", 8080)).unwrap();
    tb.listen(&Listen::tcp("::", 8081)).unwrap();
    // Neighbor discovery admitted, as any working IPv6 ruleset must.
    tb.nft(
        &tb.instance,
        "table ip6 filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n  ct state established,related accept\n  tcp dport 8081 accept\n }\n}\n",
    )
    .unwrap();
    let save6 = String::from_utf8_lossy(&tb.exec(&tb.instance, &["ip6tables-nft-save"]).unwrap().stdout).into_owned();
    assert!(save6.contains("# Table `filter'") && save6.contains("incompatible"), "{save6}");
    assert_eq!(tb.connect(INSTANCE_V6, 8081, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8081", "--to", INSTANCE_V6]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(tb.connect(INSTANCE_V6, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080", "--to", INSTANCE_V6]);
    assert_eq!((code, codes(&r)), (1, vec!["HOST_FIREWALL_DROP".to_string()]), "{r:#}");
}

#[test]
fn a_table_written_with_nft_under_iptables_names_is_read_through_nft() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8081)).unwrap();
    // iptables-restore-translate's names: iptables-nft-save shows the table as its own, and the
    // port set it cannot translate simply vanishes from the rule.
    tb.nft(
        &tb.instance,
        "table ip filter {\n chain INPUT {\n  type filter hook input priority 0; policy drop;\n  tcp dport { 8081, 8082 } accept\n }\n}\n",
    )
    .unwrap();
    assert!(iptables_nft_save(&tb).contains("-A INPUT -p tcp -j ACCEPT"), "{}", iptables_nft_save(&tb));
    assert_eq!(tb.connect(PUBLIC_V4, 8081, "tcp").unwrap(), Wire::Open);
    assert_eq!(host(&tb, &["--port", "8081"]).0, 0);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!((code, codes(&r)), (1, vec!["HOST_FIREWALL_DROP".to_string()]), "{r:#}");
    assert!(
        r["verdict"]["causes"][0]["evidence"].to_string().contains("nftables table filter chain INPUT: policy DROP")
    );
}

#[test]
fn a_dnat_map_in_table_ip_nat_is_judged_on_the_translated_port() {
    let mut tb = Testbed::new().unwrap();
    let pid = tb.listen(&Listen::tcp("0.0.0.0", 80)).unwrap();
    // 8080 → the instance's own 80 (listening), 8443 → 443 (nothing there).
    tb.nft(
        &tb.instance,
        "table ip nat {\n chain prerouting {\n  type nat hook prerouting priority dstnat; policy accept;\n  dnat to tcp dport map { 8080 : 10.0.1.10 . 80, 8443 : 10.0.1.10 . 443 }\n }\n}\n",
    )
    .unwrap();
    assert!(iptables_nft_save(&tb).contains("# Table `nat' contains incompatible"));
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(r["verdict"]["summary"].as_str().unwrap().contains(&format!("(pid {pid})")), "{r:#}");
    let fw = check(&r, "host.firewall")["evidence"].to_string();
    assert!(fw.contains("goes to 10.0.1.10:80"), "{fw}");
    // The other element forwards to a port nobody listens on: refused, and said of that port.
    assert_eq!(tb.connect(PUBLIC_V4, 8443, "tcp").unwrap(), Wire::Refused);
    let (code, r) = host(&tb, &["--port", "8443"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["NOT_LISTENING"]);
    assert!(r["verdict"]["causes"][0]["message"].as_str().unwrap().contains("443"), "{r:#}");
}

#[test]
fn iptables_rules_and_a_native_chain_in_one_table_are_unknown_and_named() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    // multiport is an x_tables match: nft lists it as `xt` it cannot show.
    tb.iptables_restore(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 8080,8082 -j ACCEPT\nCOMMIT\n",
        false,
    )
    .unwrap();
    tb.nft(&tb.instance, "table ip filter {\n chain extra {\n  type filter hook input priority 10; policy accept;\n  tcp dport 8081 drop\n }\n}\n")
        .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 3, "neither reader sees the whole table: {r:#}");
    let fw = check(&r, "host.firewall");
    assert_eq!(fw["status"], "unknown");
    assert!(fw["evidence"].to_string().contains("table ip filter is read in full by neither tool"), "{fw:#}");
}

#[test]
fn a_rule_by_protocol_name_is_read_not_fatal() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8081)).unwrap();
    tb.iptables_restore(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p esp -j ACCEPT\n-A INPUT -p ah -j ACCEPT\n-A INPUT -p gre -j ACCEPT\n-A INPUT -p udplite -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 8081 -j ACCEPT\nCOMMIT\n",
        false,
    )
    .unwrap();
    assert!(iptables_nft_save(&tb).contains("-A INPUT -p esp -j ACCEPT"));
    assert_eq!(tb.connect(PUBLIC_V4, 8081, "tcp").unwrap(), Wire::Open);
    assert_eq!(host(&tb, &["--port", "8081"]).0, 0);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!((code, codes(&r)), (1, vec!["HOST_FIREWALL_DROP".to_string()]), "{r:#}");
}

/// Legacy (x_tables) tables, read over SSH by the plain-tools script (portdoctor is not
/// installed on the instance): /proc/net/ip_tables_names has size 0 like every proc file, so the
/// script must read it, not test its size.
#[test]
fn legacy_tables_are_read_over_ssh_with_plain_tools() {
    let mut tb = Testbed::new().unwrap();
    let key = tb.start_sshd(None).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_legacy_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n",
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r, _) = common::diagnose(&tb, &key, &[], &[]);
    assert!(r.to_string().contains("plain tools over SSH"), "read with the script, not portdoctor: {r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert_eq!(code, 1);
    let ev = r["verdict"]["causes"][0]["evidence"].to_string();
    assert!(ev.contains("iptables-legacy table filter chain INPUT rule 1"), "{ev}");
}

/// A snapshot whose save holds one rule no version of this parser reads: the host is still
/// judged, and the firewall check names the rule instead of the run failing with exit 2.
#[test]
fn an_unreadable_rule_in_a_snapshot_is_named_not_fatal() {
    let dir = std::env::temp_dir().join(format!("portdoctor-unreadable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/host-loopback-only");
    assert!(std::process::Command::new("cp").arg("-r").arg(example).arg(&dir).status().unwrap().success());
    std::fs::write(
        dir.join("iptables-nft.txt"),
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 80:x -j DROP\nCOMMIT\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["host", "--port", "8080", "--json", "--snapshot"])
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fw = check(&r, "host.firewall");
    assert_eq!(fw["status"], "unknown", "{fw:#}");
    let ev = fw["evidence"].to_string();
    assert!(
        ev.contains("rule 1: -A INPUT -p tcp -m tcp --dport 80:x -j DROP") && ev.contains("bad port list '80:x'"),
        "{ev}"
    );
}

/// The port is redirected in a nat table neither tool reads in full (an x_tables match and a
/// native chain in one table): nothing listens on it here, yet it answers. "Not listening" is
/// then only possible, naming the table, never a confirmed block.
#[test]
fn not_listening_is_not_confirmed_behind_an_unread_nat_table() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 9090)).unwrap();
    tb.iptables_restore(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m multiport --dports 8080,8082 -j REDIRECT --to-ports 9090\nCOMMIT\n",
        false,
    )
    .unwrap();
    tb.nft(
        &tb.instance,
        "table ip nat {\n chain extra {\n  type nat hook prerouting priority 10; policy accept;\n }\n}\n",
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!((code, codes(&r)), (3, vec!["NOT_LISTENING".to_string()]), "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert_eq!(cause["confidence"], "possible", "{cause:#}");
    let why = cause["evidence"][0].as_str().unwrap();
    assert!(why.starts_with("not confirmed") && why.contains("table ip nat"), "{why}");
}
