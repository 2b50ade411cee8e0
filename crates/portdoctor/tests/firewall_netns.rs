//! Host firewall scenarios against the real kernel: rules loaded into the instance namespace with
//! iptables-restore (nf_tables backend), a real connect from the client, then portdoctor.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{check, codes, host};
use portdoctor_testbed::{CLIENT_V4, INSTANCE_V6, Listen, PUBLIC_V4, Testbed, Wire};

/// The second interface's public address (`Testbed::add_second_nic`).
const SECOND_PUBLIC_V4: &str = "203.0.113.11";

fn filter(rules: &str, input_policy: &str, output_policy: &str) -> String {
    format!(
        "*filter\n:INPUT {input_policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT {output_policy} [0:0]\n{rules}COMMIT\n"
    )
}

#[test]
fn input_policy_drop_silences_the_port() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(&filter("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n", "DROP", "ACCEPT"), false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"]);
    let c = &r["verdict"]["causes"][0];
    assert!(c["evidence"][0].as_str().unwrap().contains("chain INPUT: policy DROP"), "{c:#}");
    assert!(
        c["fix"][0].as_str().unwrap().starts_with("iptables -t filter -I INPUT 1 -p tcp --dport 8080 -j ACCEPT"),
        "{c:#}"
    );
}

#[test]
fn reject_is_refused_and_named() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(
        &filter("-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset\n", "ACCEPT", "ACCEPT"),
        false,
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Refused);
    let (_, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_REJECT"]);
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("rejects (tcp-reset)"));
}

#[test]
fn ufw_chains_admit_the_port_and_own_the_fix() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 9090)).unwrap();
    // The chain layout ufw generates (ufw-before-input, ufw-user-input, DROP policy).
    let rules = ":ufw-before-input - [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-before-input\n-A INPUT -j ufw-user-input\n-A ufw-before-input -i lo -j ACCEPT\n-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A ufw-user-input -p tcp -m tcp --dport 8080 -j ACCEPT\n";
    tb.iptables_restore(&filter(rules, "DROP", "ACCEPT"), false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    assert_eq!(host(&tb, &["--port", "8080"]).0, 0);
    assert_eq!(tb.connect(PUBLIC_V4, 9090, "tcp").unwrap(), Wire::Timeout);
    let (_, r) = host(&tb, &["--port", "9090"]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"]);
    // The policy belongs to INPUT, but ufw manages it: its own command is the fix.
    assert_eq!(r["verdict"]["causes"][0]["fix"][0], "ufw allow 9090/tcp", "{r:#}");
}

#[test]
fn redirect_sends_the_listener_check_to_the_translated_port() {
    let mut tb = Testbed::new().unwrap();
    let pid = tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080\nCOMMIT\n", false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 80, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "80"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(r["verdict"]["summary"].as_str().unwrap().contains(&format!("(pid {pid})")));
}

#[test]
fn output_drop_loses_the_reply() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(&filter("-A OUTPUT -p tcp -m tcp --sport 22 -j ACCEPT\n", "ACCEPT", "DROP"), false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (_, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_OUTPUT_DROP"]);
}

#[test]
fn an_allow_list_admits_some_clients_only() {
    let mut tb = Testbed::new().unwrap();
    tb.add_client_addr().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.ipset_restore("create office hash:ip family inet\nadd office 198.51.100.2\n").unwrap();
    tb.iptables_restore(&filter("-A INPUT -p tcp -m set --match-set office src -m tcp --dport 8080 -j ACCEPT\n-A INPUT -p tcp --dport 8080 -j DROP\n", "ACCEPT", "ACCEPT"), false).unwrap();
    assert_eq!(tb.connect_from("198.51.100.2", PUBLIC_V4, 8080, "tcp", 1.0).unwrap(), Wire::Open);
    assert_eq!(tb.connect_from("198.51.100.3", PUBLIC_V4, 8080, "tcp", 1.0).unwrap(), Wire::Timeout);
    assert_eq!(host(&tb, &["--port", "8080", "--from", "198.51.100.2"]).0, 0);
    assert_eq!(host(&tb, &["--port", "8080", "--from", "198.51.100.3"]).0, 1);
    let (_, r) = host(&tb, &["--port", "8080"]);
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("from the internet except 198.51.100.2"), "{r:#}");
}

#[test]
fn a_native_nftables_table_is_judged_with_the_iptables_ones() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8081)).unwrap();
    // iptables (nf_tables backend) accepts everything; a native table at the same hook drops
    // 8080: an accept ends only its own base chain.
    tb.iptables_restore(&filter("-A INPUT -j ACCEPT\n", "ACCEPT", "ACCEPT"), false).unwrap();
    tb.nft(
        &tb.instance,
        "table inet guard {\n chain input { type filter hook input priority 10; tcp dport 8080 drop; }\n}\n",
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    let c = &r["verdict"]["causes"][0];
    assert_eq!(c["code"], "HOST_FIREWALL_DROP");
    assert!(
        c["evidence"][0].as_str().unwrap().starts_with("nftables table guard chain input rule 1: tcp dport 8080 drop"),
        "{c:#}"
    );
    assert_eq!(c["fix"][0], "nft insert rule inet guard input tcp dport 8080 accept");
    assert_eq!(tb.connect(PUBLIC_V4, 8081, "tcp").unwrap(), Wire::Open);
    assert_eq!(host(&tb, &["--port", "8081"]).0, 0);
}

#[test]
fn a_rate_limit_in_front_of_a_drop_passes_a_probe_and_says_load_drops() {
    // Was `unknown` (issue 13, class 4): one probe does not reach the limit, so it passes — and
    // the report says that above the limit the rule drops.
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.nft(&tb.instance, "table inet guard {\n chain input { type filter hook input priority 0; tcp dport 8080 limit rate over 1/minute drop; }\n}\n").unwrap();
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    let fw = r["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.firewall").unwrap();
    assert_eq!(fw["status"], "pass");
    let evidence = fw["evidence"].to_string();
    assert!(
        evidence.contains("limit rate over 1/minute") && evidence.contains("under that load it is dropped"),
        "{fw:#}"
    );
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
}

#[test]
fn new_admitted_but_established_dropped_hangs_after_the_handshake() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(
        &filter("-A INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 8080 -j ACCEPT\n", "DROP", "ACCEPT"),
        false,
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (_, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"]);
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("after the handshake"), "{r:#}");
}

#[test]
fn legacy_and_nft_tables_are_both_judged() {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    // The nf_tables backend accepts; a legacy table loaded alongside still drops.
    tb.iptables_restore(&filter("-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n", "ACCEPT", "ACCEPT"), false).unwrap();
    tb.iptables_legacy_restore(&filter("-A INPUT -p tcp -m tcp --dport 8080 -j DROP\n", "ACCEPT", "ACCEPT")).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (_, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"]);
    assert!(
        r["verdict"]["causes"][0]["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("iptables-legacy table filter chain INPUT rule 1"),
        "{r:#}"
    );
}

#[test]
fn second_interface_reverse_path_and_reply_route() {
    let mut tb = Testbed::new().unwrap();
    tb.add_second_nic().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    let second = "203.0.113.11";
    // Strict reverse-path filtering: the route back to the client leaves by eth0, not eth1.
    tb.instance_sysctl("net.ipv4.conf.all.rp_filter=1").unwrap();
    assert_eq!(tb.connect(second, 8080, "tcp").unwrap(), Wire::Timeout);
    let (_, r) = host(&tb, &["--port", "8080", "--to", "10.0.2.10"]);
    assert_eq!(codes(&r), ["RP_FILTER_DROP"], "{r:#}");
    // Off: the SYN gets in, the SYN-ACK leaves by eth0 with eth1's address and is dropped.
    tb.instance_sysctl("net.ipv4.conf.all.rp_filter=0").unwrap();
    tb.instance_sysctl("net.ipv4.conf.eth1.rp_filter=0").unwrap();
    assert_eq!(tb.connect(second, 8080, "tcp").unwrap(), Wire::Timeout);
    let (_, r) = host(&tb, &["--port", "8080", "--to", "10.0.2.10"]);
    assert_eq!(codes(&r), ["REPLY_ROUTE_ASYMMETRIC"], "{r:#}");
    // The fix portdoctor prints: replies from eth1's address use a table that leaves by eth1.
    tb.instance_ip(&["rule", "add", "from", "10.0.2.10", "table", "100"]).unwrap();
    tb.instance_ip(&["route", "add", "default", "via", "10.0.2.1", "dev", "eth1", "table", "100"]).unwrap();
    tb.instance_sysctl("net.ipv4.conf.all.rp_filter=1").unwrap();
    assert_eq!(tb.connect(second, 8080, "tcp").unwrap(), Wire::Open);
    assert_eq!(host(&tb, &["--port", "8080", "--to", "10.0.2.10"]).0, 0);
}

/// Issue 13, class 6: without --to, the arrival is not guessed from the route toward the client.
/// A second interface with a route toward the client's network through it: traffic to the main
/// public address still arrives on eth0, where strict rp_filter drops it.
#[test]
fn without_to_every_plausible_arrival_is_judged() {
    let mut tb = Testbed::new().unwrap();
    tb.add_second_nic().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.instance_ip(&["route", "add", "198.51.100.0/24", "via", "10.0.2.1", "dev", "eth1"]).unwrap();
    let rp = |mode: u8| {
        for conf in ["all", "eth0", "eth1"] {
            tb.instance_sysctl(&format!("net.ipv4.conf.{conf}.rp_filter={mode}")).unwrap();
        }
    };
    let from = ["--port", "8080", "--from", CLIENT_V4];
    // The kernel first: to the main address (arriving on eth0) the connection times out, to
    // eth1's it is answered; then portdoctor, without --to: blocked by `code`, on eth0.
    let blocked_on_eth0 = |code: &str| {
        assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
        assert_eq!(tb.connect(SECOND_PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
        let (exit, r) = host(&tb, &from);
        assert_eq!(exit, 1, "{r:#}");
        assert_eq!(codes(&r), [code], "{r:#}");
        let m = r["verdict"]["causes"][0]["message"].as_str().unwrap();
        assert!(m.starts_with("Arriving on eth0 (10.0.1.10, the default route's interface): "), "{m}");
        r
    };

    // Strict: the SYN to the main address comes in on eth0 and the route back leaves by eth1.
    rp(1);
    let r = blocked_on_eth0("RP_FILTER_DROP");
    assert_eq!(check(&r, "host.rp-filter")["status"], "pass", "eth1, toward the client: {r:#}");
    assert_eq!(check(&r, "host.rp-filter.arrival2")["status"], "fail", "{r:#}");
    // Asked about the whole internet: the client's network is part of it, and its route back
    // leaves by eth1.
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["RP_FILTER_DROP"], "{r:#}");
    let m = r["verdict"]["causes"][0]["message"].as_str().unwrap();
    assert!(m.contains("drops traffic from 198.51.100.0/24 arriving on eth0"), "{m}");
    // --to is still the one arrival.
    let (code, r) = host(&tb, &[&from[..], &["--to", "10.0.2.10"]].concat());
    assert_eq!(code, 0, "{r:#}");
    let (_, r) = host(&tb, &[&from[..], &["--to", "10.0.1.10"]].concat());
    assert_eq!(codes(&r), ["RP_FILTER_DROP"], "{r:#}");

    // Loose: the SYN gets in on eth0, and the SYN-ACK leaves by eth1 with eth0's address, which
    // the edge drops (a VPC's source/destination check): still not reachable on that arrival.
    rp(2);
    blocked_on_eth0("REPLY_ROUTE_ASYMMETRIC");

    // Replies from eth0's address by eth0 (the policy-routing fix): both arrivals answer, for
    // the kernel and for portdoctor, under strict and loose rp_filter alike.
    tb.instance_ip(&["rule", "add", "from", "10.0.1.10", "table", "101"]).unwrap();
    tb.instance_ip(&["route", "add", "default", "via", "10.0.1.1", "dev", "eth0", "table", "101"]).unwrap();
    for mode in [2, 1] {
        rp(mode);
        assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open, "rp_filter={mode}");
        assert_eq!(tb.connect(SECOND_PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open, "rp_filter={mode}");
        let (code, r) = host(&tb, &from);
        assert_eq!(code, 0, "rp_filter={mode}: {r:#}");
        let summary = r["verdict"]["summary"].as_str().unwrap();
        assert!(summary.contains("on every plausible arrival: eth1 (10.0.2.10"), "{summary}");
        assert_eq!(host(&tb, &["--port", "8080"]).0, 0, "rp_filter={mode}, the internet");
    }
}

/// Puts /etc/ufw and /etc/default/ufw (its default policies) back as they were, also when the
/// test fails: ufw keeps its configuration there, shared by every namespace.
struct UfwConfigGuard(std::path::PathBuf);

impl UfwConfigGuard {
    fn save() -> UfwConfigGuard {
        let backup = std::env::temp_dir().join(format!("portdoctor-ufw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&backup);
        std::fs::create_dir_all(&backup).unwrap();
        let ok = std::process::Command::new("cp")
            .args(["-a", "/etc/ufw"])
            .arg(backup.join("etc"))
            .status()
            .unwrap()
            .success()
            && std::fs::copy("/etc/default/ufw", backup.join("default")).is_ok();
        assert!(ok, "could not back up /etc/ufw (apt-get install ufw; scripts/test does)");
        UfwConfigGuard(backup)
    }
}

impl Drop for UfwConfigGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all("/etc/ufw");
        let _ = std::process::Command::new("cp").args(["-a"]).arg(self.0.join("etc")).arg("/etc/ufw").status();
        let _ = std::fs::copy(self.0.join("default"), "/etc/default/ufw");
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn real_ufw_in_the_instance() {
    let _guard = UfwConfigGuard::save();
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 9090)).unwrap();
    // The default incoming policy is set, not assumed: it lives in /etc/default/ufw.
    for argv in [
        &["ufw", "--force", "reset"][..],
        &["ufw", "default", "deny", "incoming"],
        &["ufw", "--force", "enable"],
        &["ufw", "allow", "8080/tcp"],
    ] {
        let out = tb.exec(&tb.instance, argv).unwrap();
        assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(tb.connect(PUBLIC_V4, 9090, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "9090"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"]);
    assert_eq!(r["verdict"]["causes"][0]["fix"][0], "ufw allow 9090/tcp", "{r:#}");
}

/// The D-Bus system bus firewalld needs: this machine's if it answers, else one started here
/// (and stopped when the guard drops). No systemd is assumed.
struct SystemBus(Option<u32>);

impl SystemBus {
    fn ensure() -> SystemBus {
        let socket = std::path::Path::new("/run/dbus/system_bus_socket");
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return SystemBus(None);
        }
        // Leftovers of a bus that is gone would stop a new one from starting.
        let _ = std::fs::remove_file(socket);
        let _ = std::fs::remove_file("/run/dbus/pid");
        std::fs::create_dir_all("/run/dbus").unwrap();
        let out = std::process::Command::new("dbus-daemon")
            .args(["--system", "--fork", "--print-pid"])
            .output()
            .expect("dbus-daemon (apt-get install dbus; scripts/test does)");
        assert!(out.status.success(), "dbus-daemon: {}", String::from_utf8_lossy(&out.stderr));
        SystemBus(String::from_utf8_lossy(&out.stdout).trim().parse().ok())
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
            let _ = std::fs::remove_file("/run/dbus/system_bus_socket");
            let _ = std::fs::remove_file("/run/dbus/pid");
        }
    }
}

#[test]
fn real_firewalld_in_the_instance() {
    // firewalld itself (its own nftables table `inet firewalld`, zone public by default), run in
    // the instance namespace; changes are runtime only, so /etc/firewalld is never written.
    let _bus = SystemBus::ensure();
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen { v6only: Some(false), ..Listen::tcp("::", 8080) }).unwrap();
    let instance = tb.instance.clone();
    tb.spawn_in(&instance, &["firewalld", "--nofork", "--nopid"]).unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        let out = tb.exec(&instance, &["firewall-cmd", "--state"]).unwrap();
        state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if state == "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(state, "running", "firewalld did not start");
    // The public zone admits ssh and dhcpv6-client only: 8080 is rejected (admin-prohibited).
    // ICMP administratively prohibited: the client's connect fails with EHOSTUNREACH.
    let wire = tb.connect(PUBLIC_V4, 8080, "tcp").unwrap();
    assert!(matches!(&wire, Wire::Error(e) if e.contains("113")), "{wire}");
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_REJECT"], "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert!(cause["message"].as_str().unwrap().contains("firewalld (zone public)"), "{cause:#}");
    assert_eq!(
        cause["fix"][0], "firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload",
        "{cause:#}"
    );
    // Opened the way the fix says (runtime here): the kernel and portdoctor both say open.
    let out = tb.exec(&instance, &["firewall-cmd", "--zone=public", "--add-port=8080/tcp"]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    // IPv6 too: firewalld's reverse-path check and neighbor-discovery rules are walked.
    assert_eq!(tb.connect(INSTANCE_V6, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080", "--to", INSTANCE_V6]);
    assert_eq!(code, 0, "{r:#}");
}
