//! The kernel witness (`portdoctor trace`, issue 16) against the real kernel. Each scenario makes
//! the kernel drop (or pass) the client's connection in its own testbed, asserts the kernel's
//! outcome first (the real connect), then what `trace` reports: the kernel's reason, the
//! dropping function, the packet. The tracepoint is global, so every scenario traces its own
//! port (below the ephemeral range, unused by the other suites) from the testbed's client only.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::bin;
use portdoctor_testbed::{CLIENT_V4, INSTANCE_V6, Listen, PUBLIC_V4, Testbed, Wire};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, Command, Stdio};

/// A port for this scenario (0 to 24): per process and scenario, in 20000-29999.
fn port(scenario: u16) -> u16 {
    20_000 + (std::process::id() % 400) as u16 * 25 + scenario
}

/// Runs `portdoctor trace --json` in the instance while `probe` runs, ends it with SIGINT (what
/// Ctrl-C sends) once the probe is over, and returns (exit code, report, the probe's outcome).
/// A testbed whose instance listens on tcp/`p` on every address; and `p`.
fn listening(p: u16) -> (Testbed, u16) {
    let mut tb = Testbed::new().unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", p)).unwrap();
    (tb, p)
}

fn trace_while(tb: &Testbed, port: u16, extra: &[&str], probe: impl FnOnce() -> Wire) -> (i32, Value, Wire) {
    trace_while_env(tb, port, extra, &[], probe)
}

/// `trace_while` with `env` set for portdoctor (e.g. the location-only program).
fn trace_while_env(
    tb: &Testbed,
    port: u16,
    extra: &[&str],
    env: &[(&str, &str)],
    probe: impl FnOnce() -> Wire,
) -> (i32, Value, Wire) {
    let p = port.to_string();
    let mut args = vec!["trace", "--json", "--port", &p, "--duration", "30"];
    if !extra.contains(&"--from") {
        args.extend(["--from", CLIENT_V4]);
    }
    args.extend_from_slice(extra);
    let (mut child, mut stderr) = start_in_instance(tb, &args, env, "tracing");
    let wire = probe();
    // The last retransmission's drop is in the ring buffer well within this.
    std::thread::sleep(std::time::Duration::from_millis(300));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {rest}"));
    (code, report, wire)
}

/// Starts `portdoctor ARGS` in the instance; returns once its first line on stderr (which must
/// hold `ready`) says the witness is attached, so a probe sent now is watched.
fn start_in_instance(
    tb: &Testbed,
    args: &[&str],
    env: &[(&str, &str)],
    ready: &str,
) -> (Child, BufReader<ChildStderr>) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &tb.instance])
        .arg(bin())
        .envs(env.iter().copied())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains(ready), "the witness did not start: {line}");
    (child, stderr)
}

/// Exit 1, and every drop reported is the client's packet to `port` with `reason` at `location`.
fn assert_drops(code: i32, r: &Value, port: u16, reason: &str, location: &str) {
    assert_eq!(code, 1, "{r:#}");
    let drops = r["drops"].as_array().unwrap();
    assert!(!drops.is_empty(), "{r:#}");
    for d in drops {
        assert_eq!((d["reason"].as_str(), d["location"].as_str()), (Some(reason), Some(location)), "{r:#}");
        assert_eq!(d["packet"]["src"], CLIENT_V4, "{d:#}");
        assert_eq!(d["packet"]["dport"], port, "{d:#}");
        assert_eq!(d["packet"]["proto"], "tcp", "{d:#}");
        assert_eq!(d["packet"]["flags"], "S", "the client's SYN: {d:#}");
        assert!(d["time"].as_str().unwrap().ends_with('Z'), "{d:#}");
    }
    assert_eq!(r["lost"], 0, "{r:#}");
}

fn timed_out(w: &Wire) -> bool {
    matches!(w, Wire::Timeout | Wire::Error(_))
}

#[test]
fn an_open_port_has_no_drops_and_exits_0() {
    let (tb, p) = listening(port(1));
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Open);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["drops"], serde_json::json!([]), "{r:#}");
    assert!(r["packets_seen"].as_u64().unwrap() >= 1, "the SYN arrived: {r:#}");
    assert_eq!((r["schema_version"].as_u64(), r["query"]["port"].as_u64()), (Some(1), Some(u64::from(p))));
}

#[test]
fn nothing_listening_is_no_socket_at_tcp_v4_rcv() {
    let tb = Testbed::new().unwrap();
    let p = port(2);
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Refused);
    assert_drops(code, &r, p, "NO_SOCKET", "tcp_v4_rcv");
    assert_eq!(r["drops"][0]["packet"]["dst"], "10.0.1.10", "after the edge's DNAT");
    assert_eq!(r["drops"][0]["interface"], "eth0");
}

#[test]
fn udp_to_a_closed_port_is_no_socket() {
    let tb = Testbed::new().unwrap();
    let p = port(12);
    let (code, r, wire) = trace_while(&tb, p, &["--proto", "udp"], || tb.connect(PUBLIC_V4, p, "udp").unwrap());
    assert!(!matches!(wire, Wire::Open), "{wire:?}");
    assert_eq!(code, 1, "{r:#}");
    let d = &r["drops"][0];
    assert_eq!(
        (d["reason"].as_str(), d["packet"]["proto"].as_str(), d["packet"]["flags"].as_str()),
        (Some("NO_SOCKET"), Some("udp"), Some("")),
        "{r:#}"
    );
    assert_eq!(d["packet"]["dport"], p, "{d:#}");
}

#[test]
fn ipv6_nothing_listening_is_no_socket_at_tcp_v6_rcv() {
    let tb = Testbed::new().unwrap();
    let p = port(13);
    let (code, r, wire) =
        trace_while(&tb, p, &["--from", "2001:db8:1::2"], || tb.connect(INSTANCE_V6, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Refused);
    assert_eq!(code, 1, "{r:#}");
    let d = &r["drops"][0];
    assert_eq!((d["reason"].as_str(), d["location"].as_str()), (Some("NO_SOCKET"), Some("tcp_v6_rcv")), "{r:#}");
    assert_eq!((d["packet"]["src"].as_str(), d["packet"]["dst"].as_str()), (Some("2001:db8:1::2"), Some(INSTANCE_V6)));
}

#[test]
fn an_iptables_drop_rule_is_netfilter_drop() {
    let (tb, p) = listening(port(3));
    tb.iptables_restore(&format!("*filter\n-A INPUT -p tcp --dport {p} -j DROP\nCOMMIT\n"), false).unwrap();
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "NETFILTER_DROP", "nft_do_chain");
    assert!(r["drops"].as_array().unwrap().len() >= 2, "the SYN and its retransmission: {r:#}");
}

#[test]
fn a_native_nft_drop_is_netfilter_drop() {
    let (tb, p) = listening(port(4));
    let ruleset =
        format!("table inet f {{ chain in {{ type filter hook input priority 0; tcp dport {p} drop; }}; }}\n");
    tb.nft(&tb.instance, &ruleset).unwrap();
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "NETFILTER_DROP", "nft_do_chain");
}

/// The client reaches the port first (so the edge knows the instance's MAC: the filter drops
/// ARP too, which would make the edge drop the SYN as NEIGH_FAILED), then a tc ingress filter
/// on the instance's eth0 drops everything.
fn open_then_tc_drop(tb: &Testbed, p: u16) {
    assert_eq!(tb.connect(PUBLIC_V4, p, "tcp").unwrap(), Wire::Open, "open before the filter");
    tb.tc_ingress_drop("eth0").unwrap();
}

#[test]
fn a_tc_ingress_drop_is_tc_ingress() {
    let (tb, p) = listening(port(5));
    open_then_tc_drop(&tb, p);
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "TC_INGRESS", "__netif_receive_skb_core");
}

/// A netdev-family table on the instance's eth0 drops the flow (before prerouting).
fn netdev_drop(tb: &mut Testbed, p: u16) {
    tb.listen(&Listen::tcp("0.0.0.0", p)).unwrap();
    let ruleset = format!(
        "table netdev guard {{\n chain in {{ type filter hook ingress device \"eth0\" priority 0; tcp dport 9 accept; tcp dport {p} drop; }}\n}}\n"
    );
    tb.nft(&tb.instance, &ruleset).unwrap();
}

#[test]
fn a_netdev_family_drop_is_netfilter_drop_at_ingress() {
    let mut tb = Testbed::new().unwrap();
    let p = port(14);
    netdev_drop(&mut tb, p);
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "NETFILTER_DROP", "nft_do_chain");
}

/// Before prerouting: --nftrace's per-device ingress chains (inet, at -500) mark the flow before
/// the netdev table's chain, so its rule is named too.
#[test]
fn nftrace_names_a_netdev_family_rule_before_prerouting() {
    let mut tb = Testbed::new().unwrap();
    let p = port(20);
    netdev_drop(&mut tb, p);
    let handle = handle_of(&tb, "netdev", "guard", "in", &format!("dport {p}"));
    let before = ruleset(&tb);
    let (code, r, wire) = trace_while(&tb, p, &["--nftrace"], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "NETFILTER_DROP", "nft_do_chain");
    assert_rule_named(&tb, &r, "netdev", "guard", "in", handle, "ingress");
    assert_eq!(ruleset(&tb), before, "the ruleset is byte-identical after --nftrace");
}

#[test]
fn an_xfrm_block_policy_is_xfrm_policy() {
    let (tb, p) = listening(port(15));
    let policy =
        format!("xfrm policy add src 198.51.100.0/24 dst 10.0.1.10/32 proto tcp dport {p} dir in action block");
    tb.instance_ip(&policy.split(' ').collect::<Vec<_>>()).unwrap();
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "XFRM_POLICY", "tcp_v4_rcv");
}

/// A listener whose socket carries a classic BPF filter that drops everything (`ret #0`,
/// SO_ATTACH_FILTER): the kernel drops the SYN before the listener sees it.
const FILTERED_LISTENER: &str = r#"
import ctypes, socket, struct, sys, time
code = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", 1, ctypes.addressof(code)))
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
time.sleep(120)
"#;

#[test]
fn a_socket_filter_on_the_listener_is_socket_filter() {
    let mut tb = Testbed::new().unwrap();
    let p = port(16);
    let instance = tb.instance.clone();
    tb.spawn_in(&instance, &["python3", "-c", FILTERED_LISTENER, &p.to_string()]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "SOCKET_FILTER", "tcp_v4_rcv");
}

#[test]
fn strict_rp_filter_is_ip_rpfilter() {
    let (tb, p) = listening(port(6));
    // The way back to the client leads out of another interface than the SYN came in by.
    // (A veth pair: this kernel has no dummy device.)
    tb.instance_ip(&["link", "add", "rp0", "type", "veth", "peer", "name", "rp1"]).unwrap();
    tb.instance_ip(&["link", "set", "rp0", "up"]).unwrap();
    tb.instance_ip(&["link", "set", "rp1", "up"]).unwrap();
    tb.instance_ip(&["route", "add", "198.51.100.0/24", "dev", "rp0"]).unwrap();
    tb.instance_sysctl("net.ipv4.conf.all.rp_filter=1").unwrap();
    tb.instance_sysctl("net.ipv4.conf.eth0.rp_filter=1").unwrap();
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    let location = r["drops"][0]["location"].as_str().unwrap_or("").to_string();
    assert_drops(code, &r, p, "IP_RPFILTER", &location);
}

#[test]
fn another_clients_drops_are_not_the_flows() {
    let tb = Testbed::new().unwrap();
    let p = port(7);
    // Nothing listens: the client's SYN is dropped, but the trace asks about 192.0.2.0/24.
    let args = ["trace", "--json", "--port", &p.to_string(), "--from", "192.0.2.0/24", "--duration", "3"];
    let (child, _stderr) = start_in_instance(&tb, &args, &[], "tracing");
    assert_eq!(tb.connect(PUBLIC_V4, p, "tcp").unwrap(), Wire::Refused);
    let out = child.wait_with_output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.code(), &r["drops"]), (Some(0), &serde_json::json!([])), "{r:#}");
    assert_eq!(r["packets_seen"], 0, "{r:#}");
}

#[test]
fn without_privilege_it_exits_2_with_the_remedy() {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(bin())
        .args(["trace", "--port", "8080", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("run it as root"), "{err}");
}

/// `nft -s -a list ruleset` in the instance: every table, chain, rule and handle, without the
/// counters' values (the dropping rule's own counter moves, as it should).
fn ruleset(tb: &Testbed) -> String {
    String::from_utf8(tb.exec(&tb.instance, &["nft", "-s", "-a", "list", "ruleset"]).unwrap().stdout).unwrap()
}

/// The handle nft gives the one rule of `family table chain` that holds `needle`.
fn handle_of(tb: &Testbed, family: &str, table: &str, chain: &str, needle: &str) -> u64 {
    let out = tb.exec(&tb.instance, &["nft", "-a", "list", "chain", family, table, chain]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle} in {text}"));
    line.rsplit("# handle ").next().unwrap().trim().parse().unwrap()
}

/// With --nftrace every reported drop names the rule, and the ruleset is as it was.
fn assert_rule_named(tb: &Testbed, r: &Value, family: &str, table: &str, chain: &str, handle: u64, hook: &str) {
    let drops = r["drops"].as_array().unwrap();
    assert!(!drops.is_empty(), "{r:#}");
    for d in drops {
        assert_eq!(d["family"], family, "{d:#}");
        assert_eq!(d["table"], table, "{d:#}");
        assert_eq!(d["chain"], chain, "{d:#}");
        assert_eq!(d["rule_handle"], handle, "{d:#}");
        assert_eq!(d["hook"], hook, "{d:#}");
        assert!(d["rule"].as_str().unwrap().contains("drop"), "{d:#}");
    }
    assert!(!ruleset(tb).contains("portdoctor_trace"), "the temporary table is gone");
}

#[test]
fn nftrace_names_the_iptables_rule_and_leaves_the_ruleset_as_it_was() {
    let (tb, p) = listening(port(8));
    let rules = format!("*filter\n-A INPUT -p tcp --dport 9 -j ACCEPT\n-A INPUT -p tcp --dport {p} -j DROP\nCOMMIT\n");
    tb.iptables_restore(&rules, false).unwrap();
    let handle = handle_of(&tb, "ip", "filter", "INPUT", &format!("dport {p}"));
    let before = ruleset(&tb);
    let (code, r, wire) = trace_while(&tb, p, &["--nftrace"], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "NETFILTER_DROP", "nft_do_chain");
    assert_rule_named(&tb, &r, "ip", "filter", "INPUT", handle, "input");
    assert_eq!(ruleset(&tb), before, "the ruleset is byte-identical after --nftrace");
}

#[test]
fn nftrace_names_the_native_nft_rule() {
    let (tb, p) = listening(port(9));
    let ruleset_text = format!(
        "table inet f {{ chain in {{ type filter hook input priority 0; tcp dport 9 accept; tcp dport {p} counter drop; }}; }}\n"
    );
    tb.nft(&tb.instance, &ruleset_text).unwrap();
    let handle = handle_of(&tb, "inet", "f", "in", &format!("dport {p}"));
    let before = ruleset(&tb);
    let (code, r, wire) = trace_while(&tb, p, &["--nftrace"], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_drops(code, &r, p, "NETFILTER_DROP", "nft_do_chain");
    assert_rule_named(&tb, &r, "inet", "f", "in", handle, "input");
    assert_eq!(ruleset(&tb), before, "the ruleset is byte-identical after --nftrace");
}

/// `portdoctor host --trace 4 --json` in the instance while `probe` runs: (exit code, report).
fn host_traced(tb: &Testbed, port: u16, probe: impl FnOnce() -> Wire) -> (i32, Value, Wire) {
    host_traced_env(tb, port, &[], probe)
}

/// `host_traced` with `env` set for portdoctor.
fn host_traced_env(tb: &Testbed, port: u16, env: &[(&str, &str)], probe: impl FnOnce() -> Wire) -> (i32, Value, Wire) {
    let p = port.to_string();
    let args = ["host", "--json", "--port", &p, "--from", CLIENT_V4, "--trace", "4"];
    let (child, _stderr) = start_in_instance(tb, &args, env, "watching the kernel");
    let wire = probe();
    let out = child.wait_with_output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), r, wire)
}

#[test]
fn host_trace_confirms_the_firewall_cause_with_the_kernels_word() {
    let (tb, p) = listening(port(10));
    tb.iptables_restore(&format!("*filter\n-A INPUT -p tcp --dport {p} -j DROP\nCOMMIT\n"), false).unwrap();
    let (code, r, wire) = host_traced(&tb, p, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_eq!((code, r["verdict"]["status"].as_str()), (1, Some("blocked")), "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert_eq!((cause["code"].as_str(), cause["confidence"].as_str()), (Some("HOST_FIREWALL_DROP"), Some("confirmed")));
    let evidence = cause["evidence"].to_string();
    assert!(evidence.contains("kernel witness") && evidence.contains("NETFILTER_DROP at nft_do_chain"), "{cause:#}");
    assert_eq!(common::check(&r, "host.kernel-witness")["status"], "fail", "{r:#}");
}

#[test]
fn host_trace_turns_a_tc_drop_into_kernel_drop() {
    let (tb, p) = listening(port(11));
    open_then_tc_drop(&tb, p);
    let (code, r, wire) = host_traced(&tb, p, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    // Statically the tc filter is unknown (inconclusive); the kernel's word makes it blocked.
    assert_eq!((code, r["verdict"]["status"].as_str()), (1, Some("blocked")), "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert_eq!((cause["code"].as_str(), cause["confidence"].as_str()), (Some("KERNEL_DROP"), Some("confirmed")));
    let message = cause["message"].as_str().unwrap();
    assert!(message.contains("TC_INGRESS") && message.contains("tc -s filter show dev eth0 ingress"), "{message}");
}

/// What kernels 5.5 to 5.16 get (no reason in their tracepoint): the location-only program,
/// forced here (this kernel has reasons). It loads, and each drop has the location and a null
/// reason; --nftrace still names the rule, and host --trace confirms the firewall cause with
/// evidence saying the kernel gave the location only.
const LOCATION_ONLY: [(&str, &str); 1] = [("PORTDOCTOR_TRACE_LOCATION_ONLY", "1")];

#[test]
fn the_location_only_program_reports_where_with_a_null_reason() {
    let tb = Testbed::new().unwrap();
    let p = port(17);
    let (code, r, wire) = trace_while_env(&tb, p, &[], &LOCATION_ONLY, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Refused, "nothing listens");
    assert_eq!(code, 1, "{r:#}");
    let d = &r["drops"][0];
    assert_eq!((&d["reason"], d["location"].as_str()), (&Value::Null, Some("tcp_v4_rcv")), "{r:#}");
    assert_eq!((d["packet"]["src"].as_str(), d["packet"]["dport"].as_u64()), (Some(CLIENT_V4), Some(u64::from(p))));
    assert_eq!(d["packet"]["flags"], "S", "{d:#}");
}

#[test]
fn the_location_only_program_with_nftrace_names_the_rule() {
    let (tb, p) = listening(port(18));
    let text =
        format!("table inet f {{ chain in {{ type filter hook input priority 0; tcp dport {p} counter drop; }}; }}\n");
    tb.nft(&tb.instance, &text).unwrap();
    let handle = handle_of(&tb, "inet", "f", "in", &format!("dport {p}"));
    let before = ruleset(&tb);
    let (code, r, wire) =
        trace_while_env(&tb, p, &["--nftrace"], &LOCATION_ONLY, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_eq!(code, 1, "{r:#}");
    for d in r["drops"].as_array().unwrap() {
        assert_eq!((&d["reason"], d["location"].as_str()), (&Value::Null, Some("nft_do_chain")), "{d:#}");
    }
    assert_rule_named(&tb, &r, "inet", "f", "in", handle, "input");
    assert_eq!(ruleset(&tb), before, "the ruleset is byte-identical after --nftrace");
}

#[test]
fn host_trace_with_the_location_only_program_confirms_and_says_location_only() {
    let (tb, p) = listening(port(19));
    tb.iptables_restore(&format!("*filter\n-A INPUT -p tcp --dport {p} -j DROP\nCOMMIT\n"), false).unwrap();
    let (code, r, wire) = host_traced_env(&tb, p, &LOCATION_ONLY, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert!(timed_out(&wire), "{wire:?}");
    assert_eq!((code, r["verdict"]["status"].as_str()), (1, Some("blocked")), "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert_eq!((cause["code"].as_str(), cause["confidence"].as_str()), (Some("HOST_FIREWALL_DROP"), Some("confirmed")));
    let evidence = cause["evidence"].to_string();
    assert!(evidence.contains("(at nft_do_chain: this kernel gives the location only"), "{cause:#}");
}

/// A listener that never accepts, with backlog 1: two held connections fill its accept queue
/// (full means more than the backlog), SYN cookies off in the instance (they are for the SYN
/// queue, not this one, but the scenario does not lean on them).
fn full_accept_queue(tb: &mut Testbed, p: u16) {
    tb.instance_sysctl("net.ipv4.tcp_syncookies=0").unwrap();
    tb.listen(&Listen { backlog: 1, accept: false, ..Listen::tcp("0.0.0.0", p) }).unwrap();
    tb.hold_connections(PUBLIC_V4, p, 2).unwrap();
}

/// A new connection to a full accept queue: the kernel answers nothing (the connect times
/// out), and it discards the SYN as consumed, not dropped: kfree_skb never fires for it
/// (FACTS.md), so `trace` sees the SYNs arrive and no drop. What the witness cannot see, it
/// does not invent: `host` names the cause from the queue and ListenOverflows.
#[test]
fn a_full_accept_queue_discards_syns_without_a_drop_event() {
    let mut tb = Testbed::new().unwrap();
    let p = port(21);
    full_accept_queue(&mut tb, p);
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Timeout, "the kernel answers nothing");
    assert!(r["packets_seen"].as_u64().unwrap() >= 2, "the SYN and its retransmissions arrived: {r:#}");
    assert_eq!((code, &r["drops"]), (0, &serde_json::json!([])), "{r:#}");
}

/// host --trace on a full accept queue: LISTEN_QUEUE_OVERFLOW (the model: the queue and
/// ListenOverflows), the witness's check passes saying why it has no drop, and no
/// "disagreement" is claimed.
#[test]
fn host_trace_names_a_full_accept_queue_without_claiming_a_disagreement() {
    let mut tb = Testbed::new().unwrap();
    let p = port(22);
    full_accept_queue(&mut tb, p);
    let (code, r, wire) = host_traced(&tb, p, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Timeout);
    assert_eq!((code, r["verdict"]["status"].as_str()), (1, Some("blocked")), "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert_eq!(cause["code"], "LISTEN_QUEUE_OVERFLOW", "{r:#}");
    assert!(cause["message"].as_str().unwrap().contains("2 waiting, backlog 1"), "{cause:#}");
    let fixes = cause["fix"].to_string();
    assert!(fixes.contains("not accepting connections") && fixes.contains("backlog"), "{cause:#}");
    let w = common::check(&r, "host.kernel-witness");
    assert_eq!(w["status"], "pass", "{w:#}");
    assert!(w["summary"].as_str().unwrap().contains("without a drop event"), "{w:#}");
    assert!(r["notes"].to_string().find("Disagreement").is_none(), "{r:#}");
}

/// A blackhole route toward the client: the SYN arrives and the SYN-ACK has no route back. The
/// kernel consumes the SYN without a drop event and counts Ip OutNoRoutes instead (FACTS.md):
/// `trace` reports no drop and the counter; `host --trace` confirms HOST_ROUTE_DROP with that
/// counter and claims no disagreement.
#[test]
fn a_blackholed_reply_route_is_witnessed_by_the_kernels_counter() {
    let (mut tb, p) = listening(port(23));
    tb.instance_ip(&["route", "add", "blackhole", CLIENT_V4]).unwrap();
    let (code, r, wire) = trace_while(&tb, p, &[], || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Timeout, "the kernel never answers: {r:#}");
    assert!(r["packets_seen"].as_u64().unwrap() >= 2, "the SYN and its retransmissions arrived: {r:#}");
    assert_eq!((code, &r["drops"]), (0, &serde_json::json!([])), "no drop event: {r:#}");
    assert!(r["counters"]["IpOutNoRoutes"].as_u64().unwrap() >= 2, "{r:#}");

    let p = port(24);
    tb.listen(&Listen::tcp("0.0.0.0", p)).unwrap();
    let (code, r, wire) = host_traced(&tb, p, || tb.connect(PUBLIC_V4, p, "tcp").unwrap());
    assert_eq!(wire, Wire::Timeout);
    assert_eq!((code, r["verdict"]["status"].as_str()), (1, Some("blocked")), "{r:#}");
    let cause = r["verdict"]["causes"].as_array().unwrap().iter().find(|c| c["code"] == "HOST_ROUTE_DROP").unwrap();
    assert_eq!(cause["confidence"], "confirmed", "{cause:#}");
    assert!(cause["evidence"].to_string().contains("IpOutNoRoutes rose by"), "{cause:#}");
    let w = common::check(&r, "host.kernel-witness");
    assert!(w["summary"].as_str().unwrap().contains("no route back"), "{w:#}");
    assert!(r["notes"].to_string().find("Disagreement").is_none(), "{r:#}");
}
