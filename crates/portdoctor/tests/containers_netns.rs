//! Published container ports against the real kernel: the testbed's instance gets what Docker
//! sets up for `docker run -p 8080:80` (a docker0 bridge, a container namespace on a veth, the
//! NAT and FORWARD rules exactly as Docker writes them); a Kubernetes NodePort gets kube-proxy's
//! iptables chains. Each scenario asks the kernel with a real connect from the internet client,
//! then `portdoctor host` in the instance.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{bin, check, codes, host};
use portdoctor_testbed::{CONTAINER_V4, Listen, PUBLIC_V4, Testbed, Wire, docker_rules};

/// The start of kube-proxy's nat table: the built-in chains and its two entry chains.
const KUBE_NAT_HEAD: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
";

/// A testbed with a container, Docker's rules, and docker-proxy holding 8080 on the host as
/// Docker's userland proxy does (external traffic never reaches it: PREROUTING DNAT comes first).
fn docker(docker_user: &str, app_bind: Option<&str>) -> Testbed {
    let mut tb = Testbed::new().unwrap();
    let k = tb.add_container().unwrap();
    tb.iptables_restore(&docker_rules(docker_user), false).unwrap();
    tb.listen(&Listen { name: Some("docker-proxy".into()), ..Listen::tcp("0.0.0.0", 8080) }).unwrap();
    if let Some(bind) = app_bind {
        tb.listen_in(&k, &Listen { name: Some("app".into()), ..Listen::tcp(bind, 80) }).unwrap();
    }
    tb
}

#[test]
fn published_port_answered_inside_the_container() {
    let tb = docker("", Some("0.0.0.0"));
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    let summary = r["verdict"]["summary"].as_str().unwrap();
    assert!(summary.contains("forwarded") && summary.contains("app"), "{summary}");
    let hops: Vec<&str> = r["path"].as_array().unwrap().iter().map(|h| h["hop"].as_str().unwrap()).collect();
    assert_eq!(hops, ["nic", "host-firewall", "kernel", "container", "listener"], "{r:#}");
    let published = check(&r, "host.published-port")["evidence"].to_string();
    assert!(published.contains("FORWARD decides, not INPUT"), "{published}");
    assert_eq!(check(&r, "host.forwarding")["status"], "pass");
}

#[test]
fn app_on_the_containers_loopback_is_refused() {
    // The host's docker-proxy listens on 8080: the old answer ("reachable") was wrong.
    let tb = docker("", Some("127.0.0.1"));
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Refused);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["LISTENER_LOOPBACK_ONLY"], "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert!(cause["message"].as_str().unwrap().contains("Inside the container"), "{cause:#}");
    assert!(cause["fix"][0].as_str().unwrap().contains("0.0.0.0:80 inside the container"), "{cause:#}");
    assert!(cause["evidence"][0].as_str().unwrap().contains("veth3f2a9c1 is a port of docker0"), "{cause:#}");
    // A snapshot carries the container's namespace: the same verdict offline.
    let dir = std::env::temp_dir().join(format!("{}-snap", tb.instance));
    let out = tb.run_in_instance(bin(), &["snapshot", "host", "--out", &dir.display().to_string()]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dir.join("netns.json").exists()
            && std::fs::read_dir(&dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().ends_with("-ss.txt"))
    );
    let (code, offline) = host(&tb, &["--port", "8080", "--snapshot", &dir.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{offline:#}");
    assert_eq!(offline["verdict"]["causes"], r["verdict"]["causes"]);
}

#[test]
fn container_app_listens_on_another_port_than_the_mapping() {
    // `-p 8080:80` while the app listens on 3000: the classic wrong mapping.
    let mut tb = docker("", None);
    let k = tb.containers[0].clone();
    tb.listen_in(&k, &Listen { name: Some("node".into()), ..Listen::tcp("0.0.0.0", 3000) }).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Refused);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["NOT_LISTENING"], "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert!(cause["fix"][0].as_str().unwrap().contains("docker ps"), "{cause:#}");
    assert!(cause["evidence"].to_string().contains("tcp ports listening here: 3000"), "{cause:#}");
}

#[test]
fn stale_rule_to_an_address_no_container_holds() {
    // Rules restored from an old save: the container (10.88.0.2) is gone, its rules are not.
    let mut tb = docker("", None);
    tb.remove_container().unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["NOT_LISTENING"], "{r:#}");
    let message = r["verdict"]["causes"][0]["message"].as_str().unwrap();
    assert!(message.contains("sends tcp/8080 to a container that no longer exists"), "{message}");
}

#[test]
fn ip_forwarding_off_drops_the_published_port() {
    let tb = docker("", Some("0.0.0.0"));
    tb.instance_sysctl("net.ipv4.ip_forward=0").unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["IP_FORWARDING_DISABLED"], "{r:#}");
    assert!(r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("forwarding = 0"), "{r:#}");
}

#[test]
fn docker_user_rule_on_the_original_port_drops_it() {
    // The documented way to restrict a published port: match the original destination port.
    let tb = docker(
        "-A DOCKER-USER ! -s 192.0.2.0/24 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP\n",
        Some("0.0.0.0"),
    );
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    let cause = &r["verdict"]["causes"][0];
    assert!(cause["message"].as_str().unwrap().contains("Docker"), "{cause:#}");
    assert!(cause["evidence"][0].as_str().unwrap().contains("chain DOCKER-USER rule 1"), "{cause:#}");
    // From the allowed range it is open: the engine splits the clients as the rule does.
    let (code, r) = host(&tb, &["--port", "8080", "--from", "192.0.2.7"]);
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn ufw_input_rules_do_not_close_a_published_port() {
    // ufw's layout with a DROP policy and no rule for 8080: Docker's FORWARD rules still admit it.
    let mut tb = Testbed::new().unwrap();
    let k = tb.add_container().unwrap();
    let rules = docker_rules("").replace(
        ":INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]",
        ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:ufw-before-input - [0:0]\n:ufw-user-input - [0:0]",
    );
    let rules = rules.replace(
        "-A FORWARD -j DOCKER-USER\n",
        "-A INPUT -j ufw-before-input\n-A INPUT -j ufw-user-input\n-A ufw-before-input -i lo -j ACCEPT\n-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n",
    );
    tb.iptables_restore(&rules, false).unwrap();
    tb.listen_in(&k, &Listen::tcp("0.0.0.0", 80)).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 0, "{r:#}");
    let published = check(&r, "host.published-port")["evidence"].to_string();
    assert!(published.contains("ufw's allow and deny rules hook INPUT"), "{published}");
}

#[test]
fn kubernetes_nodeport_through_kube_proxy_chains() {
    // kube-proxy (iptables mode, 1.28) for Service default/web, NodePort 30080 → pod :80 on
    // one endpoint; the FORWARD policy is DROP, so KUBE-FORWARD's mark rule must admit it.
    let mut tb = Testbed::new().unwrap();
    let k = tb.add_container().unwrap();
    let rules = format!(
        "{KUBE_NAT_HEAD}:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-EXT-ABCDEF - [0:0]
:KUBE-SVC-ABCDEF - [0:0]
:KUBE-SEP-123456 - [0:0]
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/web\" -m tcp --dport 30080 -j KUBE-EXT-ABCDEF
-A KUBE-EXT-ABCDEF -m comment --comment \"masquerade traffic for default/web external destinations\" -j KUBE-MARK-MASQ
-A KUBE-EXT-ABCDEF -j KUBE-SVC-ABCDEF
-A KUBE-SVC-ABCDEF -m comment --comment \"default/web -> {CONTAINER_V4}:80\" -j KUBE-SEP-123456
-A KUBE-SEP-123456 -s {CONTAINER_V4}/32 -m comment --comment \"default/web\" -j KUBE-MARK-MASQ
-A KUBE-SEP-123456 -p tcp -m comment --comment \"default/web\" -m tcp -j DNAT --to-destination {CONTAINER_V4}:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
"
    );
    tb.iptables_restore(&rules, false).unwrap();
    tb.listen_in(&k, &Listen { name: Some("web".into()), ..Listen::tcp("0.0.0.0", 80) }).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 30080, "tcp").unwrap(), Wire::Open);
    let (code, r) = host(&tb, &["--port", "30080"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("web"), "{r:#}");
    // Without the mark (a KUBE-MARK-MASQ that no longer marks), FORWARD's DROP policy decides.
    let unmarked = rules.replace("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n", "");
    tb.iptables_restore(&unmarked, false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 30080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "30080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert!(r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("chain FORWARD: policy DROP"), "{r:#}");
}

#[test]
fn native_nftables_rule_on_the_original_port_and_a_mark() {
    // The same restriction written in nftables beside Docker's iptables-nft tables: a mark set
    // in prerouting, tested in forward with the connection's original port.
    let tb = docker("", Some("0.0.0.0"));
    let instance = tb.instance.clone();
    tb.nft(
        &instance,
        "table inet user {\n chain pre { type filter hook prerouting priority mangle; tcp dport 8080 meta mark set meta mark | 0x10; }\n chain screen { type filter hook forward priority filter - 1; ip saddr != 192.0.2.0/24 meta l4proto tcp ct original proto-dst 8080 meta mark & 0x10 == 0x10 drop; }\n}\n",
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r) = host(&tb, &["--port", "8080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert!(r["verdict"]["causes"][0]["evidence"][0].as_str().unwrap().contains("table user chain screen"), "{r:#}");
    let (code, r) = host(&tb, &["--port", "8080", "--from", "192.0.2.7"]);
    assert_eq!(code, 0, "{r:#}");
}

/// Two pods behind NodePort 30080 (kube-proxy's rules already loaded): the first answers on 80,
/// the second listens on 8000 only. The kernel must spread connections over both, and portdoctor
/// must name the second endpoint's share of them.
fn one_of_two_pods_not_listening(tb: &mut Testbed, first: &str, second: &str) {
    tb.listen_in(first, &Listen { name: Some("web".into()), ..Listen::tcp("0.0.0.0", 80) }).unwrap();
    tb.listen_in(second, &Listen { name: Some("web".into()), ..Listen::tcp("0.0.0.0", 8000) }).unwrap();
    let wires: Vec<Wire> = (0..16).map(|_| tb.connect(PUBLIC_V4, 30080, "tcp").unwrap()).collect();
    assert!(wires.contains(&Wire::Open) && wires.contains(&Wire::Refused), "the kernel spreads them: {wires:?}");
    let (code, r) = host(tb, &["--port", "30080"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["NOT_LISTENING"], "{r:#}");
    let message = r["verdict"]["causes"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("For the connections sent to 10.88.0.3:80 (endpoint 2 of 2"), "{message}");
}

#[test]
fn nodeport_spread_over_two_pods_one_not_listening() {
    // kube-proxy with two endpoints: `statistic --mode random` sends each new connection to one
    // of them. One pod answers, the other listens on the wrong port: some connections fail.
    let mut tb = Testbed::new().unwrap();
    let first = tb.add_container().unwrap();
    let second = tb.add_container().unwrap();
    let rules = format!(
        "{KUBE_NAT_HEAD}:KUBE-SVC-ABCDEF - [0:0]
:KUBE-SEP-111111 - [0:0]
:KUBE-SEP-222222 - [0:0]
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/web\" -m tcp --dport 30080 -j KUBE-SVC-ABCDEF
-A KUBE-SVC-ABCDEF -m comment --comment \"default/web -> {CONTAINER_V4}:80\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-111111
-A KUBE-SVC-ABCDEF -m comment --comment \"default/web -> 10.88.0.3:80\" -j KUBE-SEP-222222
-A KUBE-SEP-111111 -p tcp -m comment --comment \"default/web\" -m tcp -j DNAT --to-destination {CONTAINER_V4}:80
-A KUBE-SEP-222222 -p tcp -m comment --comment \"default/web\" -m tcp -j DNAT --to-destination 10.88.0.3:80
COMMIT
"
    );
    tb.iptables_restore(&rules, false).unwrap();
    one_of_two_pods_not_listening(&mut tb, &first, &second);
    // Both pods answering: reachable.
    tb.listen_in(&second, &Listen::tcp("0.0.0.0", 80)).unwrap();
    let (code, r) = host(&tb, &["--port", "30080"]);
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn kube_proxy_nftables_mode_nodeport_over_two_pods() {
    // kube-proxy's nftables mode: the node port found through a concatenated verdict map, the
    // endpoint picked by `numgen random mod 2 vmap`. One pod answers, the other does not listen.
    let mut tb = Testbed::new().unwrap();
    let first = tb.add_container().unwrap();
    let second = tb.add_container().unwrap();
    let instance = tb.instance.clone();
    tb.nft(
        &instance,
        &format!(
            "table ip kube-proxy {{
  map service-nodeports {{
    type inet_proto . inet_service : verdict
    elements = {{ tcp . 30080 : goto external-web }}
  }}
  set nodeport-ips {{
    type ipv4_addr
    elements = {{ 10.0.1.10 }}
  }}
  chain nat-prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    jump services
  }}
  chain services {{
    ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
  }}
  chain external-web {{
    jump mark-for-masquerade
    goto service-web
  }}
  chain mark-for-masquerade {{
    meta mark set mark or 0x4000
  }}
  chain service-web {{
    numgen random mod 2 vmap {{ 0 : goto endpoint-a, 1 : goto endpoint-b }}
  }}
  chain endpoint-a {{
    meta l4proto tcp dnat to {CONTAINER_V4}:80
  }}
  chain endpoint-b {{
    meta l4proto tcp dnat to 10.88.0.3:80
  }}
}}
"
        ),
    )
    .unwrap();
    one_of_two_pods_not_listening(&mut tb, &first, &second);
    // A port the map does not hold goes on past the map: nothing translates it.
    let (_, r) = host(&tb, &["--port", "30081"]);
    assert!(check(&r, "host.firewall")["evidence"].to_string().contains("walked"), "{r:#}");
    assert!(!r["checks"].to_string().contains("published port"), "{r:#}");
}
