//! `diagnose --ssh … --trace`, end to end against the real kernel (issue 16): the testbed of
//! diagnose_e2e (a client, a NAT edge, an instance running a real sshd), and the kernel witness
//! started on the instance over the SSH connection while the probes run. The instance's
//! portdoctor is this build (the namespaces share the filesystem; sshd's PATH names it), or none.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{bin, check, codes, diagnose};
use portdoctor_testbed::{CLIENT_V4, Listen, PUBLIC_V4, Testbed, Wire};
use serde_json::Value;

/// A port of this test alone: the witness's tracepoint is global, and other tests' testbeds
/// (run at the same time, with the same addresses) use 8080.
fn own_port(offset: u16) -> u16 {
    30_000 + (std::process::id() % 10_000) as u16 * 2 + offset
}

/// The instance's INPUT drops new connections to `port` (iptables, nf_tables backend or legacy
/// as the host has it), with a listener behind the rule.
fn dropped_at_the_host(tb: &mut Testbed, port: u16) {
    tb.listen(&Listen::tcp("0.0.0.0", port)).unwrap();
    let rules = format!("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport {port} -j DROP\nCOMMIT\n");
    tb.iptables_restore(&rules, false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, port, "tcp").unwrap(), Wire::Timeout, "the kernel drops the flow");
}

/// A testbed whose instance runs sshd with portdoctor (this build) on its PATH; the key to log in.
fn instance_with_portdoctor() -> (Testbed, std::path::PathBuf) {
    let mut tb = Testbed::new().unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", bin().parent().unwrap().display());
    let key = tb.start_sshd(Some(&path)).unwrap();
    (tb, key)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// portdoctor on the instance: the witness sees the probe's SYNs dropped by netfilter, and the
/// modelled HOST_FIREWALL_DROP is confirmed with the kernel's own evidence.
#[test]
fn the_kernel_confirms_the_host_firewall_drop() {
    let (mut tb, key) = instance_with_portdoctor();
    let port = own_port(0);
    dropped_at_the_host(&mut tb, port);
    let (code, r, _) = diagnose(&tb, &key, &["--port", &port.to_string(), "--trace", "3"], &[]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert_eq!(code, 1);
    let cause = &r["verdict"]["causes"][0];
    assert_eq!(cause["confidence"], "confirmed", "{cause:#}");
    let ev = strings(&cause["evidence"]);
    assert!(
        ev.iter().any(|e| e.starts_with("kernel witness:")
            && e.contains("NETFILTER_DROP")
            && e.contains(&format!(":{port} [S]"))),
        "the kernel's evidence for the SYN: {ev:#?}"
    );
    let w = check(&r, "host.kernel-witness");
    assert_eq!(w["status"], "fail", "{w:#}");
    assert!(w["summary"].as_str().unwrap().contains("the kernel dropped"), "{w:#}");
    // Watched for the probes' own source (public here), not every peer of the port.
    assert!(strings(&w["evidence"]).iter().all(|e| e.contains(CLIENT_V4)), "{w:#}");
    // The rest of the run is as without the witness: the capture saw the SYNs arrive.
    let cap = check(&r, "path.capture");
    assert!(cap["summary"].as_str().unwrap().contains("nothing left in answer"), "{cap:#}");
}

/// `nft -s -a list ruleset` on the instance: every table, chain, rule and handle, without the
/// counters' values.
fn ruleset(tb: &Testbed) -> String {
    String::from_utf8(tb.exec(&tb.instance, &["nft", "-s", "-a", "list", "ruleset"]).unwrap().stdout).unwrap()
}

/// `--trace --nftrace`: the host's trace runs with --nftrace, so the confirmed cause names the
/// rule handle the kernel's nftables tracing saw dropping the probe's SYN; the temporary table
/// is gone afterwards (the host's ruleset byte-identical).
#[test]
fn nftrace_names_the_hosts_dropping_rule_and_leaves_its_ruleset_as_it_was() {
    let (mut tb, key) = instance_with_portdoctor();
    let port = own_port(2);
    dropped_at_the_host(&mut tb, port);
    let listing = tb.exec(&tb.instance, &["nft", "-a", "list", "chain", "ip", "filter", "INPUT"]).unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let Some(line) = listing.lines().find(|l| l.contains(&format!("dport {port}"))) else {
        eprintln!("iptables is not on the nf_tables backend here: nftrace does not see legacy rules; skipped");
        return;
    };
    let handle = line.rsplit("# handle ").next().unwrap().trim().to_string();
    let before = ruleset(&tb);
    let (code, r, _) = diagnose(&tb, &key, &["--port", &port.to_string(), "--trace", "3", "--nftrace"], &[]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert_eq!(code, 1);
    let cause = &r["verdict"]["causes"][0];
    assert_eq!(cause["confidence"], "confirmed", "{cause:#}");
    let named = format!("NETFILTER_DROP at nft_do_chain, ip filter INPUT rule handle {handle}");
    let ev = strings(&cause["evidence"]);
    assert!(
        ev.iter()
            .any(|e| e.starts_with("kernel witness:") && e.contains(&named) && e.contains(&format!(":{port} [S]"))),
        "the kernel's evidence names the rule ({named}): {ev:#?}"
    );
    assert_eq!(ruleset(&tb), before, "the host's ruleset is byte-identical after --nftrace");
}

/// No portdoctor on the instance: the witness is an `unknown` context check with the remedy,
/// and the verdict is what it is without the witness.
#[test]
fn without_portdoctor_on_the_host_the_witness_says_how_to_get_it() {
    let mut tb = Testbed::new().unwrap();
    let bare = tb.programs_without(&["portdoctor"]).unwrap();
    let key = tb.start_sshd(Some(bare.to_str().unwrap())).unwrap();
    let port = own_port(1).to_string();
    dropped_at_the_host(&mut tb, own_port(1));
    let (code, r, _) = diagnose(&tb, &key, &["--port", &port, "--trace", "2"], &[]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert_eq!(code, 1);
    let w = check(&r, "host.kernel-witness");
    assert_eq!(w["status"], "unknown", "{w:#}");
    assert!(w["summary"].as_str().unwrap().contains("portdoctor is not installed on root@203.0.113.10"), "{w:#}");
    assert!(
        strings(&w["evidence"]).iter().any(|e| e.starts_with("install portdoctor on the host: cargo install")),
        "{w:#}"
    );
    let cause = &r["verdict"]["causes"][0];
    assert!(strings(&cause["evidence"]).iter().all(|e| !e.starts_with("kernel witness:")), "{cause:#}");
    // The same run without --trace: the same verdict and the same checks, less the witness's.
    let (code_without, without, _) = diagnose(&tb, &key, &["--port", &port], &[]);
    let judged = |r: &Value| {
        let checks = r["checks"].as_array().unwrap().iter();
        let checks: Vec<(Value, Value)> = checks
            .filter(|c| c["id"] != "host.kernel-witness")
            .map(|c| (c["id"].clone(), c["status"].clone()))
            .collect();
        (r["verdict"]["status"].clone(), codes(r), checks)
    };
    assert_eq!((code, judged(&r)), (code_without, judged(&without)));
}

/// `--trace` reads the host's kernel over SSH: without --ssh it is a usage error (exit 2).
#[test]
fn trace_without_ssh_is_a_usage_error() {
    let out =
        std::process::Command::new(bin()).args(["diagnose", "203.0.113.10:8080", "--trace", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ssh"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(bin())
        .args(["diagnose", "203.0.113.10:8080", "--ssh", "root@203.0.113.10", "--nftrace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--nftrace without --trace: {}", String::from_utf8_lossy(&out.stderr));
}
