use super::*;
use portdoctor_model::firewall::{AddrSetDef, Backend, FwFamily, ct};
use portdoctor_model::host::RouteType;
use portdoctor_model::net::Cidr;

/// A route of table `main` to `dst` by `dev`, of kind `kind`.
fn route(dst: &str, dev: &str, kind: RouteType) -> Route {
    Route {
        table: "main".into(),
        kind,
        dst: dst.parse().unwrap(),
        dev: Some(dev.into()),
        gateway: None,
        prefsrc: None,
        metric: 0,
    }
}

fn nf(save: &str) -> Netfilter {
    Netfilter {
        tables: portdoctor_parse::iptables::parse_save("test", save, Backend::IptablesNft, FwFamily::Ip).unwrap(),
        ..Netfilter::default()
    }
}

fn pkt(port: u16) -> Packet {
    Packet {
        local_addrs: vec!["10.0.1.10".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        ..Packet::first(Family::V4, 6, "10.0.1.10".parse().unwrap(), port, Some("eth0".into()))
    }
}

fn internet() -> AddrSet {
    AddrSet::internet(Family::V4)
}

fn one(ip: &str) -> AddrSet {
    AddrSet::from_cidr(&Cidr::host(ip.parse().unwrap()))
}

/// The single verdict for a single client.
fn verdict(n: &Netfilter, p: &Packet, client: &str) -> Verdict {
    let out = evaluate(n, p, &one(client));
    assert_eq!(out.len(), 1, "{out:#?}");
    out[0].verdict.clone()
}

fn table(rules: &str, policy: &str) -> String {
    format!(
        "*filter\n:INPUT {policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n:deep - [0:0]\n{rules}COMMIT\n"
    )
}

#[test]
fn policy_drop_and_an_accept_rule() {
    let n = nf(&table("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n", "DROP"));
    assert_eq!(verdict(&n, &pkt(22), "198.51.100.7"), Verdict::Accept);
    let Verdict::Drop(r) = verdict(&n, &pkt(8080), "198.51.100.7") else { panic!() };
    assert_eq!(r.index, 0, "the chain policy decides");
    assert!(r.describe().contains("chain INPUT: policy DROP"));
}

#[test]
fn jump_return_goto() {
    let rules = "-A INPUT -j web\n-A INPUT -p tcp --dport 8080 -j DROP\n-A web -p tcp --dport 8080 -j RETURN\n-A web -j ACCEPT\n";
    let n = nf(&table(rules, "ACCEPT"));
    assert!(matches!(verdict(&n, &pkt(8080), "198.51.100.7"), Verdict::Drop(r) if r.index == 2 && r.chain == "INPUT"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
    // goto: RETURN in the target returns from INPUT itself, i.e. to the policy.
    let rules = "-A INPUT -g web\n-A INPUT -j DROP\n-A web -j RETURN\n";
    let n = nf(&table(rules, "ACCEPT"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
}

#[test]
fn reject_kinds_and_sources_split() {
    let rules = "-A INPUT -s 203.0.113.0/24 -p tcp --dport 8080 -j ACCEPT\n-A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset\n";
    let n = nf(&table(rules, "ACCEPT"));
    let out = evaluate(&n, &pkt(8080), &internet());
    let accepted = out
        .iter()
        .filter(|o| o.verdict == Verdict::Accept)
        .fold(AddrSet::empty(Family::V4), |a, o| a.union(&o.clients));
    assert_eq!(accepted.to_string(), "203.0.113.0/24");
    assert!(out.iter().any(|o| matches!(&o.verdict, Verdict::Reject(_, k) if k == "tcp-reset")));
}

#[test]
fn redirect_changes_the_port_input_sees() {
    let save = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 8080 -j ACCEPT\nCOMMIT\n";
    let n = nf(save);
    let out = evaluate(&n, &pkt(80), &one("198.51.100.7"));
    assert_eq!(out[0].verdict, Verdict::Accept);
    let (addr, port, _) = out[0].nat.clone().unwrap();
    assert_eq!((addr.to_string(), port), ("10.0.1.10".into(), 8080));
}

#[test]
fn a_redirect_that_changes_nothing_leaves_the_dnat_status_unset() {
    // OpenWrt's fw4 admits redirected ports with `ct status dnat accept`; the kernel sets that
    // status only when the translation changes the tuple, so a redirect of a packet already
    // addressed to the interface's address and that port is not admitted by it.
    let save = |to: u16| {
        format!(
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 26 -j REDIRECT --to-ports {to}\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n"
        )
    };
    assert!(matches!(verdict(&nf(&save(26)), &pkt(26), "198.51.100.7"), Verdict::Drop(_)));
    assert_eq!(verdict(&nf(&save(2026)), &pkt(26), "198.51.100.7"), Verdict::Accept);
}

#[test]
fn an_unknown_match_only_matters_when_the_outcomes_differ() {
    // limit before an ACCEPT that would happen anyway: both sides accept.
    let rules = "-A INPUT -m limit --limit 5/min -j LOG\n-A INPUT -p tcp --dport 80 -m recent --name x --rcheck -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
    // ...but a match it does not model in front of a DROP decides: unknown, naming it.
    let rules = "-A INPUT -p tcp --dport 80 -m time --timestart 09:00 --timestop 17:00 -j DROP\n-A INPUT -p tcp --dport 80 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    let Verdict::Unknown(r, why) = verdict(&n, &pkt(80), "198.51.100.7") else { panic!() };
    assert_eq!(r.index, 1);
    assert!(why.contains("-m time"), "{why}");
}

#[test]
fn traffic_history_takes_the_probes_side_and_says_what_load_changes() {
    // A `recent` list in front of a DROP: a quiet client is not in it, so its probe is admitted;
    // a client that came back 4 times within a minute is dropped.
    let rules = "-A INPUT -p tcp --dport 80 -m recent --update --seconds 60 --hitcount 4 --name ssh --rsource -j DROP\n-A INPUT -p tcp --dport 80 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    let out = evaluate(&n, &pkt(80), &one("198.51.100.7"));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].verdict, Verdict::Accept);
    let note = out[0].load_notes.join("\n");
    assert!(note.contains("-m recent") && note.contains("a probe connection is admitted"), "{note}");
    assert!(note.contains("under that load it is dropped by") && note.contains("rule 1"), "{note}");
    // A limit in front of an ACCEPT with a DROP policy (the usual SYN-flood guard): a probe is
    // under the limit and admitted; above it, the policy drops.
    let rules = "-A INPUT -p tcp --dport 80 -m limit --limit 10/min --limit-burst 20 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    let out = evaluate(&n, &pkt(80), &internet());
    assert!(out.iter().all(|o| o.verdict == Verdict::Accept), "{out:#?}");
    assert!(out[0].load_notes.iter().any(|n| n.contains("10/min (burst 20)") && n.contains("policy DROP")), "{out:#?}");
    // Where load changes nothing (a limited LOG), nothing is said.
    let rules = "-A INPUT -m limit --limit 5/min -j LOG\n-A INPUT -p tcp --dport 80 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    let out = evaluate(&n, &pkt(80), &internet());
    assert!(out.iter().all(|o| o.verdict == Verdict::Accept && o.load_notes.is_empty()), "{out:#?}");
    // `limit rate over` (nft): a probe does not reach it, so the rule does not match.
    let rules = "-A INPUT -p tcp --dport 80 -m hashlimit --hashlimit-above 5/sec --hashlimit-mode srcip --hashlimit-name h -j DROP\n";
    let n = nf(&table(rules, "ACCEPT"));
    let out = evaluate(&n, &pkt(80), &internet());
    assert!(out.iter().all(|o| o.verdict == Verdict::Accept), "{out:#?}");
    assert!(out[0].load_notes.iter().any(|n| n.contains("under that load it is dropped")), "{out:#?}");
}

#[test]
fn conntrack_state_of_a_first_syn_and_of_the_reply() {
    let rules = "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n";
    let n = nf(&table(rules, "DROP"));
    assert!(matches!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Drop(r) if r.index == 0));
    let out = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n-A OUTPUT -p tcp --sport 22 -j ACCEPT\nCOMMIT\n";
    let n = nf(out);
    let reply = Packet { reply: true, ct_state: ct::ESTABLISHED, tcp_flags: 18, ..pkt(80) };
    assert!(matches!(verdict(&n, &reply, "198.51.100.7"), Verdict::Drop(r) if r.chain == "OUTPUT"));
    let reply22 = Packet { reply: true, ct_state: ct::ESTABLISHED, tcp_flags: 18, ..pkt(22) };
    assert_eq!(verdict(&n, &reply22, "198.51.100.7"), Verdict::Accept);
}

#[test]
fn accept_ends_only_its_base_chain() {
    // A legacy filter table accepts, an nft native-like second table at priority 10 drops.
    let mut n = nf(&table("-A INPUT -j ACCEPT\n", "ACCEPT"));
    let mut second = portdoctor_parse::iptables::parse_save(
        "t",
        &table("-A INPUT -p tcp --dport 80 -j DROP\n", "ACCEPT"),
        Backend::IptablesLegacy,
        FwFamily::Ip,
    )
    .unwrap();
    second[0].chains[0].base.as_mut().unwrap().priority = 10;
    n.tables.extend(second);
    assert!(matches!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Drop(r) if r.backend == Backend::IptablesLegacy));
}

#[test]
fn ipsets_are_address_sets() {
    let mut n = nf(&table("-A INPUT -m set --match-set blocked src -j DROP\n", "ACCEPT"));
    n.sets.push(AddrSetDef {
        name: "blocked".into(),
        table: None,
        family: None,
        kind: "hash:net".into(),
        members: Some(vec!["198.51.100.0/24".parse().unwrap()]),
    });
    assert!(matches!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Drop(_)));
    assert_eq!(verdict(&n, &pkt(80), "192.0.2.7"), Verdict::Accept);
}

#[test]
fn attribution_names_the_owner_and_its_fix() {
    let r = RuleRef {
        backend: Backend::IptablesNft,
        table: "filter".into(),
        chain: "ufw-user-input".into(),
        index: 3,
        text: "-A …".into(),
    };
    assert_eq!(attribute(&r, None, "tcp", 8080, Family::V4).1[0], "ufw allow 8080/tcp");
    let r = RuleRef {
        backend: Backend::Nftables,
        table: "firewalld".into(),
        chain: "filter_IN_public_allow".into(),
        index: 3,
        text: "".into(),
    };
    let (who, fix) = attribute(&r, None, "tcp", 8080, Family::V4);
    assert_eq!(who, "firewalld (zone public)");
    assert_eq!(fix[0], "firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload");
    let r = RuleRef {
        backend: Backend::IptablesLegacy,
        table: "filter".into(),
        chain: "INPUT".into(),
        index: 0,
        text: "DROP".into(),
    };
    assert!(
        attribute(&r, None, "tcp", 8080, Family::V4).1[0]
            .to_string()
            .starts_with("iptables -t filter -I INPUT 1 -p tcp --dport 8080 -j ACCEPT")
    );
}

#[test]
fn a_rule_on_one_client_port_is_an_exception_not_an_unknown() {
    // Clients pick ephemeral ports: the answer is for them, and the odd port is named.
    let n = nf(&table("-A INPUT -p tcp -m tcp --sport 8080 -j DROP\n", "ACCEPT"));
    let out = evaluate(&n, &pkt(80), &internet());
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].verdict, Verdict::Accept);
    assert_eq!(out[0].port_exceptions.len(), 1, "{out:#?}");
    assert!(out[0].port_exceptions[0].starts_with("clients using source port 8080: dropped by"), "{out:#?}");
}

/// The ruleset firewalld 1.3 (Debian 12) generates at start, recorded with `nft -j list
/// ruleset` from a real firewalld in a namespace: zone public, ssh and dhcpv6-client.
fn firewalld() -> Netfilter {
    let text = include_str!("../../../portdoctor-parse/tests/fixtures/firewalld-ruleset.json");
    portdoctor_parse::nft::parse_ruleset("firewalld-ruleset.json", text).unwrap()
}

#[test]
fn firewalld_generated_ruleset_decides_without_unknowns() {
    let n = firewalld();
    assert!(n.unmodeled.is_empty(), "{:?}", n.unmodeled);
    assert_eq!(verdict(&n, &pkt(22), "198.51.100.7"), Verdict::Accept);
    let Verdict::Reject(r, kind) = verdict(&n, &pkt(8080), "198.51.100.7") else { panic!() };
    assert_eq!(
        (r.table.as_str(), r.chain.as_str(), kind.as_str()),
        ("firewalld", "filter_IN_public", "icmpx admin-prohibited")
    );
    let (owner, fix) = attribute_in(&n, &r, "tcp", 8080, Family::V4);
    assert_eq!(owner, "firewalld (zone public)");
    assert_eq!(fix[0], "firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload");
}

#[test]
fn firewalld_ipv6_reverse_path_check_follows_the_routes() {
    let n = firewalld();
    let v6 = |routes: Vec<Route>| Packet {
        family: Family::V6,
        local: "2001:db8:2::10".parse().unwrap(),
        local_addrs: vec!["2001:db8:2::10".parse().unwrap()],
        routes,
        ..pkt(22)
    };
    let clients = AddrSet::internet(Family::V6);
    // The route back to every client leaves by eth0, where they arrive: admitted.
    let routed = v6(vec![route("::/0", "eth0", RouteType::Unicast)]);
    let out = evaluate(&n, &routed, &clients);
    assert!(out.iter().all(|o| o.verdict == Verdict::Accept), "{out:#?}");
    // No route back by eth0 (the default leaves by eth1): `fib saddr . mark . iif oif missing drop`.
    let asymmetric = v6(vec![route("::/0", "eth1", RouteType::Unicast)]);
    let out = evaluate(&n, &asymmetric, &clients);
    assert!(out.iter().all(|o| matches!(&o.verdict, Verdict::Drop(r) if r.chain == "filter_PREROUTING")), "{out:#?}");
    // Fix (round 3): the reverse path is the kernel's lookup, so a blackhole route toward part of
    // the clients is no route back for them (it used to be skipped for the default route).
    let holed =
        v6(vec![route("::/0", "eth0", RouteType::Unicast), route("2001:db8:9::/48", "eth0", RouteType::Blackhole)]);
    let out = evaluate(&n, &holed, &clients);
    let dropped: Vec<&Outcome> =
        out.iter().filter(|o| matches!(&o.verdict, Verdict::Drop(r) if r.chain == "filter_PREROUTING")).collect();
    let blackholed = AddrSet::from_cidr(&"2001:db8:9::/48".parse().unwrap()).intersect(&clients);
    assert!(!dropped.is_empty() && dropped.iter().all(|o| o.clients.minus(&blackholed).is_empty()), "{out:#?}");
    assert!(out.iter().any(|o| o.verdict == Verdict::Accept), "{out:#?}");
}

/// The kernel's IPv6 lookup asks for the input interface: among routes of the same prefix it
/// takes the one by that interface, and a link-local client is looked up on that interface
/// only. This host's own addresses (the local table) are no client of the reverse-path check.
/// Found by the real firewalld in a namespace: the router's neighbour advertisements were said
/// to be dropped, for the part of fe80::/10 that is this host's own link-local address.
#[test]
fn ipv6_reverse_path_prefers_the_input_interface_and_skips_own_addresses() {
    let n = firewalld();
    let local_table = |dst: &str, kind| Route { table: "local".into(), ..route(dst, "eth0", kind) };
    let routes = vec![
        route("fe80::/64", "eth1", RouteType::Unicast),
        route("fe80::/64", "eth0", RouteType::Unicast),
        route("2001:db8:2::/64", "eth1", RouteType::Unicast),
        route("2001:db8:2::/64", "eth0", RouteType::Unicast),
        route("::/0", "eth0", RouteType::Unicast),
        local_table("2001:db8:2::10/128", RouteType::Local),
        local_table("fe80::5831:b0ff:fe42:b36/128", RouteType::Local),
        local_table("ff00::/8", RouteType::Other),
    ];
    let pkt = Packet {
        family: Family::V6,
        local: "2001:db8:2::10".parse().unwrap(),
        local_addrs: vec!["2001:db8:2::10".parse().unwrap()],
        routes,
        ..pkt(22)
    };
    for clients in ["fe80::/10", "2001:db8:2::/64", "::/0"] {
        let clients = AddrSet::from_cidr(&clients.parse().unwrap());
        let out = evaluate(&n, &pkt, &clients);
        assert!(out.iter().all(|o| o.verdict == Verdict::Accept), "{clients:?}: {out:#?}");
    }
    // Link-local clients on an interface without fe80::/64 there have no route back by it.
    let elsewhere = Packet { routes: vec![route("fe80::/64", "eth1", RouteType::Unicast)], ..pkt.clone() };
    let out = evaluate(&n, &elsewhere, &AddrSet::from_cidr(&"fe80::/64".parse().unwrap()));
    assert!(out.iter().all(|o| matches!(&o.verdict, Verdict::Drop(r) if r.chain == "filter_PREROUTING")), "{out:#?}");
}

#[test]
fn an_undecided_match_is_named_as_rule_text() {
    // A client on one of the host's own addresses may be local: the addrtype match is undecided.
    let rules = "-A INPUT -p tcp --dport 80 -m addrtype --src-type LOCAL -j DROP\n";
    let n = nf(&table(rules, "ACCEPT"));
    let Verdict::Unknown(_, why) = verdict(&n, &pkt(80), "10.0.1.10") else { panic!() };
    assert_eq!(why, "fib saddr type local");
}

/// Table `inet plain` with an input chain of policy `policy` holding one rule of expression
/// `expr`, as `nft -j list ruleset` prints it, parsed.
fn inet_input_rule(policy: &str, expr: &str) -> Netfilter {
    let json = format!(
        r#"{{"nftables": [
        {{"table": {{"family": "inet", "name": "plain", "handle": 1}}}},
        {{"chain": {{"family": "inet", "table": "plain", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "{policy}"}}}},
        {{"rule": {{"family": "inet", "table": "plain", "chain": "input", "handle": 2, "expr": [{expr}]}}}}
    ]}}"#
    );
    portdoctor_parse::nft::parse_ruleset("t", &json).unwrap()
}

#[test]
fn an_undecided_verdict_map_key_is_named_as_nft_lists_it() {
    // `iifname . tcp dport vmap { "eth1" . 8080 : drop }` for a packet whose input interface
    // is not known.
    let n = inet_input_rule(
        "accept",
        r#"{"vmap": {"key": {"concat": [{"meta": {"key": "iifname"}}, {"payload": {"protocol": "tcp", "field": "dport"}}]},
            "data": {"set": [[{"concat": ["eth1", 8080]}, {"drop": null}]]}}}"#,
    );
    let p = Packet { iface: None, ..pkt(8080) };
    let Verdict::Unknown(_, why) = verdict(&n, &p, "198.51.100.7") else { panic!() };
    assert_eq!(why, "a verdict map key this version cannot decide for the packet (eth1 . 8080)");
}

#[test]
fn a_port_verdict_map_decides_each_port_and_lets_the_rest_go_on() {
    // `tcp dport vmap { 22 : accept, 8080-8090 : accept, 9000 : drop }` under policy drop, as
    // `nft -j list ruleset` prints it.
    let n = inet_input_rule(
        "drop",
        r#"{"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [
            [22, {"accept": null}], [{"range": [8080, 8090]}, {"accept": null}], [9000, {"drop": null}]]}}}"#,
    );
    let client = "198.51.100.7";
    assert_eq!(verdict(&n, &pkt(22), client), Verdict::Accept);
    assert_eq!(verdict(&n, &pkt(8085), client), Verdict::Accept);
    let Verdict::Drop(r) = verdict(&n, &pkt(9000), client) else { panic!() };
    assert_eq!(r.index, 1, "the map's element decides");
    let Verdict::Drop(r) = verdict(&n, &pkt(7000), client) else { panic!() };
    assert_eq!(r.index, 0, "no element: on to the chain's policy");
}

#[test]
fn podman_and_kube_proxy_nftables_rules_are_attributed() {
    let rule = |table: &str, chain: &str| RuleRef {
        backend: Backend::Nftables,
        table: table.into(),
        chain: chain.into(),
        index: 1,
        text: "drop".into(),
    };
    assert_eq!(attribute(&rule("netavark", "forward"), None, "tcp", 8080, Family::V4).0, "Podman (netavark/CNI)");
    assert_eq!(attribute(&rule("kube-proxy", "filter-forward"), None, "tcp", 30080, Family::V4).0, "kube-proxy");
}

/// Docker's nat table for `-p 8080:80` to 10.88.0.2, a raw table with `raw`'s PREROUTING rules,
/// and a filter table whose FORWARD admits the container's port: the shape of Docker ≥ 28.
fn docker(raw: &str, mangle_post: &str) -> Netfilter {
    nf(&format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{raw}COMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{mangle_post}COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i docker0 -j ACCEPT\n-A FORWARD -d 10.88.0.2/32 -o docker0 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n"
    ))
}

fn published() -> Packet {
    Packet { routes: vec![route("10.88.0.0/24", "docker0", RouteType::Unicast)], ..pkt(8080) }
}

/// The same connection's later packet: inbound (the ACK) or the container's reply.
fn later_packet(reply: bool) -> Packet {
    let (original, container) = (("10.0.1.10".parse().unwrap(), 8080), ("10.88.0.2".parse().unwrap(), 80));
    let ((local, local_port), rewrite) = if reply { (container, original) } else { (original, container) };
    Packet {
        local,
        local_port,
        reply,
        rewrite: Some(rewrite),
        orig_dst: Some(original),
        ct_state: ct::ESTABLISHED | ct::DNAT,
        tcp_flags: if reply { 18 } else { 16 },
        ..published()
    }
}

#[test]
fn raw_sees_the_original_destination_for_every_packet_of_a_published_port() {
    // Docker 28's guard: nothing reaches the container's address except through its bridge.
    // The raw hook runs before conntrack's NAT, for the first SYN and for every later packet.
    let n = docker("-A PREROUTING -d 10.88.0.2/32 ! -i docker0 -j DROP\n", "");
    let first = evaluate(&n, &published(), &one("198.51.100.7"));
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(first[0].verdict, Verdict::Accept);
    assert_eq!(first[0].nat.as_ref().map(|(a, p, _)| (a.to_string(), *p)), Some(("10.88.0.2".into(), 80)));
    assert_eq!(verdict(&n, &later_packet(false), "198.51.100.7"), Verdict::Accept);
    assert_eq!(verdict(&n, &later_packet(true), "198.51.100.7"), Verdict::Accept);
    // A client on the bridge's side may reach the container directly; one arriving elsewhere
    // for the container's own address is dropped.
    let direct = Packet { local: "10.88.0.2".parse().unwrap(), local_port: 80, ..published() };
    assert!(matches!(verdict(&n, &direct, "198.51.100.7"), Verdict::Drop(r) if r.table == "raw"));
    // A raw rule on the original destination drops every packet, the later ones too.
    let n = docker("-A PREROUTING -d 10.0.1.10/32 -p tcp --dport 8080 -j DROP\n", "");
    assert!(matches!(verdict(&n, &published(), "198.51.100.7"), Verdict::Drop(r) if r.table == "raw"));
    assert!(matches!(verdict(&n, &later_packet(false), "198.51.100.7"), Verdict::Drop(r) if r.table == "raw"));
}

#[test]
fn a_replys_source_is_the_containers_until_srcnat() {
    // mangle POSTROUTING (-150) runs before srcnat (+100): the reply still comes from 10.88.0.2.
    let n = docker("", "-A POSTROUTING -s 10.0.1.10/32 -p tcp --sport 8080 -j DROP\n");
    assert_eq!(verdict(&n, &later_packet(true), "198.51.100.7"), Verdict::Accept);
    let n = docker("", "-A POSTROUTING -s 10.88.0.2/32 -p tcp --sport 80 -j DROP\n");
    assert!(matches!(verdict(&n, &later_packet(true), "198.51.100.7"), Verdict::Drop(r) if r.table == "mangle"));
    // A chain after srcnat sees the original source back.
    let mut n = docker("", "-A POSTROUTING -s 10.0.1.10/32 -p tcp --sport 8080 -j DROP\n");
    n.tables[1].chains.iter_mut().for_each(|c| {
        if let Some(b) = c.base.as_mut() {
            b.priority = 200;
        }
    });
    assert!(matches!(verdict(&n, &later_packet(true), "198.51.100.7"), Verdict::Drop(r) if r.table == "mangle"));
}

#[test]
fn before_conntrack_every_packet_reads_invalid() {
    // The raw table runs before conntrack attaches the connection: `--ctstate INVALID` there
    // matches the first SYN and the later packets alike (seen on the kernel).
    let n = docker("-A PREROUTING -m conntrack --ctstate INVALID -p tcp -j DROP\n", "");
    assert!(matches!(verdict(&n, &published(), "198.51.100.7"), Verdict::Drop(r) if r.table == "raw"));
    assert!(matches!(verdict(&n, &later_packet(false), "198.51.100.7"), Verdict::Drop(_)));
    let n = docker("-A PREROUTING -m conntrack --ctstate NEW -p tcp -j DROP\n", "");
    assert_eq!(verdict(&n, &published(), "198.51.100.7"), Verdict::Accept);
}

#[test]
fn a_fork_in_a_called_chain_follows_its_return() {
    // fw4's SYN-flood guard: a limited RETURN, else DROP, in a chain INPUT jumps to. The side that
    // returns goes on in INPUT and is settled against the side that dropped.
    let rules = "-A INPUT -p tcp -j web\n-A INPUT -p tcp --dport 80 -j ACCEPT\n-A web -m limit --limit 25/sec --limit-burst 50 -j RETURN\n-A web -j DROP\n";
    let n = nf(&table(rules, "DROP"));
    let out = evaluate(&n, &pkt(80), &internet());
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].verdict, Verdict::Accept);
    assert!(
        out[0].load_notes[0].contains("under that load it is dropped by")
            && out[0].load_notes[0].contains("chain web rule 2"),
        "{out:#?}"
    );
    // An unmodelled match there is unknown, not lost.
    let n = nf(&table(&rules.replace("-m limit --limit 25/sec --limit-burst 50", "-m time --timestart 09:00"), "DROP"));
    let out = evaluate(&n, &pkt(80), &internet());
    assert!(matches!(&out[..], [o] if matches!(o.verdict, Verdict::Unknown(..))), "{out:#?}");
}

#[test]
fn a_rejects_icmp_code_by_its_kind() {
    assert_eq!(RejectWith::from("icmp-host-prohibited").icmp_code(false), Some(10));
    assert_eq!(RejectWith::from("icmp-port-unreachable").icmp_code(false), Some(3));
    assert_eq!(RejectWith::from("icmpx port-unreachable").icmp_code(true), Some(4));
    assert_eq!(RejectWith::from("icmp6-adm-prohibited").icmp_code(true), Some(1));
    assert_eq!(RejectWith::from("icmpv6 admin-prohibited").icmp_code(true), Some(1));
    assert_eq!(RejectWith::from("icmp-admin-prohibited").icmp_code(false), Some(13));
    assert_eq!(RejectWith::from("something-else").icmp_code(false), None);
}

#[test]
fn a_masqueraded_client_reads_as_the_bridge_until_dstnat() {
    // The first SYN is masqueraded toward the container: POSTROUTING chains after srcnat see the
    // bridge's address as its source; the container's reply is addressed to it until dstnat.
    let mut n = docker("-A PREROUTING -i docker0 -d 10.88.0.1/32 -p tcp --sport 80 -j DROP\n", "");
    let nat = n.tables.iter_mut().find(|t| t.name == "nat").unwrap();
    let post = nat.chains.iter_mut().find(|c| c.name == "POSTROUTING").unwrap();
    post.rules = nf("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o docker0 -j MASQUERADE\nCOMMIT\n").tables[0]
        .chains[0]
        .rules
        .clone();
    let first = Packet { local_addrs: vec!["10.0.1.10".parse().unwrap(), "10.88.0.1".parse().unwrap()], ..published() };
    let out = evaluate(&n, &first, &one("198.51.100.7"));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].snat, Some(Some("10.88.0.1".parse().unwrap())));
    let reply = Packet { client_nat: out[0].snat, local_addrs: first.local_addrs.clone(), ..later_packet(true) };
    assert!(matches!(verdict(&n, &reply, "198.51.100.7"), Verdict::Drop(r) if r.table == "raw"));
    // Without the masquerade the same reply is addressed to the client and passes.
    assert_eq!(verdict(&n, &Packet { client_nat: None, ..reply }, "198.51.100.7"), Verdict::Accept);
}

#[test]
fn the_nft_fix_names_the_rules_own_table_family() {
    let r = RuleRef {
        backend: Backend::Nftables,
        table: "filter".into(),
        chain: "input".into(),
        index: 2,
        text: "".into(),
    };
    let fix = |f| attribute(&r, f, "tcp", 8080, Family::V4).1[0].to_string();
    assert_eq!(fix(Some(FwFamily::Ip)), "nft insert rule ip filter input tcp dport 8080 accept");
    assert_eq!(fix(Some(FwFamily::Ip6)), "nft insert rule ip6 filter input tcp dport 8080 accept");
    assert_eq!(fix(Some(FwFamily::Inet)), "nft insert rule inet filter input tcp dport 8080 accept");
    // A name nft would read as more of the rule is never printed.
    let bad = RuleRef { chain: "input tcp dport 22 drop;".into(), ..r };
    let f = &attribute(&bad, Some(FwFamily::Inet), "tcp", 8080, Family::V4).1[0];
    assert!(f.command().is_none() && f.to_string().contains("not a plain nft name"), "{f}");
}

#[test]
fn ipv6_extension_header_matches_never_take_a_connections_first_packet() {
    // ufw's before6.rules drop routing-header type 0 first thing; a SYN carries no routing
    // header, so the rule never decides a connection (before: an unknown match, inconclusive).
    let save = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m rt --rt-type 0 -j DROP\n-A INPUT -m frag --fragmore -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let n = Netfilter {
        tables: portdoctor_parse::iptables::parse_save("test", save, Backend::IptablesNft, FwFamily::Ip6).unwrap(),
        ..Netfilter::default()
    };
    let v6 = |port| Packet {
        family: Family::V6,
        local: "2001:db8:2::10".parse().unwrap(),
        local_addrs: vec!["2001:db8:2::10".parse().unwrap()],
        ..pkt(port)
    };
    assert_eq!(verdict(&n, &v6(22), "2001:db8:1::2"), Verdict::Accept);
    assert!(matches!(verdict(&n, &v6(80), "2001:db8:1::2"), Verdict::Drop(r) if r.index == 0));
}

#[test]
fn a_set_is_looked_up_in_its_own_tables_family() {
    // sshguard's nft backend: `ip sshguard` and `ip6 sshguard`, each with a set `attackers`
    // and a drop rule on it. Found by name and table alone, the IPv6 rule read the IPv4 set
    // and let the blocked IPv6 attacker through.
    let json = r#"{"nftables": [
        {"table": {"family": "ip", "name": "sshguard", "handle": 1}},
        {"chain": {"family": "ip", "table": "sshguard", "name": "blacklist", "handle": 1, "type": "filter", "hook": "input", "prio": -10, "policy": "accept"}},
        {"set": {"family": "ip", "name": "attackers", "table": "sshguard", "type": "ipv4_addr", "handle": 2, "flags": ["interval"], "elem": ["198.51.100.3"]}},
        {"rule": {"family": "ip", "table": "sshguard", "chain": "blacklist", "handle": 3, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@attackers"}}, {"drop": null}]}},
        {"table": {"family": "ip6", "name": "sshguard", "handle": 2}},
        {"chain": {"family": "ip6", "table": "sshguard", "name": "blacklist", "handle": 1, "type": "filter", "hook": "input", "prio": -10, "policy": "accept"}},
        {"set": {"family": "ip6", "name": "attackers", "table": "sshguard", "type": "ipv6_addr", "handle": 2, "flags": ["interval"], "elem": ["2001:db8:1::3"]}},
        {"rule": {"family": "ip6", "table": "sshguard", "chain": "blacklist", "handle": 3, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "@attackers"}}, {"drop": null}]}}
    ]}"#;
    let n = portdoctor_parse::nft::parse_ruleset("t", json).unwrap();
    assert_eq!(n.sets.iter().map(|s| s.family).collect::<Vec<_>>(), [Some(FwFamily::Ip), Some(FwFamily::Ip6)]);
    let v6 = Packet {
        family: Family::V6,
        local: "2001:db8:2::10".parse().unwrap(),
        local_addrs: vec!["2001:db8:2::10".parse().unwrap()],
        ..pkt(22)
    };
    assert!(matches!(verdict(&n, &v6, "2001:db8:1::3"), Verdict::Drop(r) if r.table == "sshguard"));
    assert_eq!(verdict(&n, &v6, "2001:db8:1::2"), Verdict::Accept);
    assert!(matches!(verdict(&n, &pkt(22), "198.51.100.3"), Verdict::Drop(_)));
    assert_eq!(verdict(&n, &pkt(22), "198.51.100.2"), Verdict::Accept);
}

#[test]
fn many_client_port_rules_still_answer_for_the_ephemeral_ports() {
    // APF drops a list of service ports in OUTPUT too; on a reply the client's port is the
    // destination, so each is a client-port rule. Past 16 stretches of ports the walk used to
    // give up (one walk with every such rule undecided) and a reply read as dropped; the widest
    // stretch answers, the rest are said as not judged.
    let mut out_rules: String =
        (0..20).map(|i| format!("-A OUTPUT -p tcp -m tcp --dport {} -j DROP\n", 1400 + 10 * i)).collect();
    out_rules += "-A OUTPUT -p tcp -m tcp --dport 1024:65535 -m state --state RELATED,ESTABLISHED -j ACCEPT\n";
    let save = format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n{out_rules}COMMIT\n");
    let n = nf(&save);
    let reply = Packet { reply: true, from_host: true, ct_state: ct::ESTABLISHED, tcp_flags: 18, ..pkt(22) };
    let out = evaluate(&n, &reply, &one("198.51.100.2"));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].verdict, Verdict::Accept);
    assert_eq!(out[0].port_exceptions.len(), 1, "{out:#?}");
    assert!(
        out[0].port_exceptions[0].starts_with("clients using source ports outside 1591-65535: not judged"),
        "{out:#?}"
    );
    // Under the limit every stretch is still walked and named.
    let few = nf(&save.replace(
        &out_rules[..out_rules.find("-A OUTPUT -p tcp -m tcp --dport 1024").unwrap()],
        "-A OUTPUT -p tcp -m tcp --dport 1433 -j DROP\n",
    ));
    let out = evaluate(&few, &reply, &one("198.51.100.2"));
    assert_eq!(out[0].verdict, Verdict::Accept);
    assert!(
        out[0].port_exceptions.iter().any(|e| e.starts_with("clients using source port 1433: dropped")),
        "{out:#?}"
    );
}

#[test]
fn two_undecided_drops_in_a_row_are_one_unknown() {
    // Each undecided rule forks the walk; the inner fork's pending side was lost where the outer
    // sides agreed, and the same client came out both dropped (confirmed) and unknown.
    let rules = "-A INPUT -m u32 --u32 \"0x6&0xff=0x6\" -j DROP\n-A INPUT -m u32 --u32 \"0x9&0xff=0x6\" -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n";
    let out = evaluate(&nf(&table(rules, "DROP")), &pkt(22), &one("198.51.100.2"));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(matches!(out[0].verdict, Verdict::Unknown(..)), "{out:#?}");
    // One answer per client there too, never an accept (the policy drops what the rules let by).
    let out = evaluate(&nf(&table(rules, "DROP")), &pkt(80), &one("198.51.100.2"));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(!matches!(out[0].verdict, Verdict::Accept), "{out:#?}");
}

#[test]
fn a_replys_destination_port_is_the_clients_and_its_source_port_the_local_one() {
    let out = |rules: &str| {
        format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n")
    };
    let reply = Packet { reply: true, ct_state: ct::ESTABLISHED, tcp_flags: 18, ..pkt(80) };
    // --dport of a reply is the client's ephemeral port, not the listener's.
    let n = nf(&out("-A OUTPUT -p tcp --dport 80 -j DROP\n"));
    assert_eq!(verdict(&n, &reply, "198.51.100.7"), Verdict::Accept);
    let n = nf(&out("-A OUTPUT -p tcp --dport 1024:65535 -j DROP\n"));
    assert!(matches!(verdict(&n, &reply, "198.51.100.7"), Verdict::Drop(r) if r.index == 1));
    let n = nf(&out("-A OUTPUT -p tcp --sport 80 -j DROP\n"));
    assert!(matches!(verdict(&n, &reply, "198.51.100.7"), Verdict::Drop(r) if r.index == 1));
    // And inbound the other way round.
    let n = nf(&out("-A INPUT -p tcp --sport 80 -j DROP\n"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
}

#[test]
fn address_types_read_the_local_side_as_local_and_the_clients_by_the_hosts_addresses() {
    let n = nf(&table("-A INPUT -m addrtype --dst-type LOCAL -j DROP\n", "ACCEPT"));
    assert!(matches!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Drop(r) if r.index == 1));
    let n = nf(&table("-A INPUT -m addrtype --src-type LOCAL -j DROP\n", "ACCEPT"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
    // A client set holding one of the host's own addresses may be local: undecided.
    let out = evaluate(&n, &pkt(80), &one("10.0.1.10"));
    assert!(matches!(&out[0].verdict, Verdict::Unknown(r, _) if r.index == 1), "{out:#?}");
    let n = nf(&table("-A INPUT -m addrtype --dst-type BROADCAST -j DROP\n", "ACCEPT"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
}

#[test]
fn an_ingress_chain_sees_only_its_devices_and_is_undecided_where_they_are_not_known() {
    // The filter table's INPUT drops 8080; a netdev table's ingress chain is made of it.
    let mut n = nf(&table("-A INPUT -p tcp --dport 8080 -j DROP\n", "ACCEPT"));
    let mut ingress = n.tables[0].clone();
    ingress.family = FwFamily::Netdev;
    ingress.name = "edge".into();
    ingress.chains.retain(|c| c.name == "INPUT");
    let base = ingress.chains[0].base.as_mut().unwrap();
    (base.hook, base.devices) = (Hook::Ingress, vec!["eth0".into()]);
    n.tables = vec![ingress];
    let on = |iface: Option<&str>| Packet { iface: iface.map(str::to_string), ..pkt(8080) };
    assert!(matches!(verdict(&n, &on(Some("eth0")), "198.51.100.7"), Verdict::Drop(r) if r.table == "edge"));
    assert_eq!(verdict(&n, &on(Some("eth1")), "198.51.100.7"), Verdict::Accept);
    let Verdict::Unknown(r, why) = verdict(&n, &on(None), "198.51.100.7") else { panic!() };
    assert_eq!((r.index, r.text.as_str()), (0, "chain INPUT (hook ingress)"));
    assert_eq!(why, "an ingress chain on eth0, and the arrival interface is unknown");
    n.tables[0].chains[0].base.as_mut().unwrap().devices.clear();
    let Verdict::Unknown(_, why) = verdict(&n, &on(Some("eth0")), "198.51.100.7") else { panic!() };
    assert!(why.starts_with("an ingress chain whose devices the listing does not name"), "{why}");
}

/// Each owner `attribute` knows, its name and its fixes in full, in both families where the
/// family matters.
#[test]
fn attribution_spells_each_owner() {
    let rule = |backend: Backend, table: &str, chain: &str, index: usize| RuleRef {
        backend,
        table: table.into(),
        chain: chain.into(),
        index,
        text: "drop".into(),
    };
    let rules = [
        (rule(Backend::IptablesNft, "filter", "ufw-user-input", 3), None),
        (rule(Backend::Nftables, "firewalld", "filter_IN_home_deny", 2), None),
        (rule(Backend::IptablesNft, "filter", "IN_work_allow", 2), None),
        (rule(Backend::IptablesNft, "filter", "INPUT_ZONES", 2), None),
        (rule(Backend::Nftables, "firewalld", "filter_INPUT", 0), None),
        (rule(Backend::IptablesNft, "filter", "f2b-sshd", 1), None),
        (rule(Backend::IptablesLegacy, "filter", "DOCKER-USER", 1), None),
        (rule(Backend::IptablesNft, "filter", "CNI-FORWARD", 1), None),
        (rule(Backend::Nftables, "netavark", "forward", 1), None),
        (rule(Backend::IptablesNft, "filter", "KUBE-FIREWALL", 1), None),
        (rule(Backend::Nftables, "filter", "kube-services", 1), None),
        (rule(Backend::Nftables, "kube-proxy", "filter-forward", 1), None),
        (rule(Backend::Nftables, "filter", "input", 4), Some(FwFamily::Ip6)),
        (rule(Backend::Nftables, "filter", "input", 0), None),
        (rule(Backend::IptablesLegacy, "filter", "INPUT", 0), None),
        (rule(Backend::IptablesNft, "mangle", "PREROUTING", 5), None),
    ];
    let mut text = String::new();
    for (r, table_family) in &rules {
        for family in [Family::V4, Family::V6] {
            let (who, fixes) = attribute(r, *table_family, "tcp", 8080, family);
            text.push_str(&format!("{} {} {} {family:?}: {who}\n", r.table, r.chain, r.index));
            text.extend(fixes.iter().map(|f| format!("  fix: {f}\n")));
        }
    }
    assert_eq!(
        text,
        concat!(
            "filter ufw-user-input 3 V4: ufw\n",
            "  fix: ufw allow 8080/tcp\n",
            "filter ufw-user-input 3 V6: ufw\n",
            "  fix: ufw allow 8080/tcp\n",
            "firewalld filter_IN_home_deny 2 V4: firewalld (zone home)\n",
            "  fix: firewall-cmd --zone=home --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "firewalld filter_IN_home_deny 2 V6: firewalld (zone home)\n",
            "  fix: firewall-cmd --zone=home --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "filter IN_work_allow 2 V4: firewalld (zone work)\n",
            "  fix: firewall-cmd --zone=work --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "filter IN_work_allow 2 V6: firewalld (zone work)\n",
            "  fix: firewall-cmd --zone=work --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "filter INPUT_ZONES 2 V4: firewalld (zone public)\n",
            "  fix: firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "filter INPUT_ZONES 2 V6: firewalld (zone public)\n",
            "  fix: firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "firewalld filter_INPUT 0 V4: firewalld (zone public)\n",
            "  fix: firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "firewalld filter_INPUT 0 V6: firewalld (zone public)\n",
            "  fix: firewall-cmd --zone=public --add-port=8080/tcp --permanent && firewall-cmd --reload\n",
            "filter f2b-sshd 1 V4: fail2ban (jail sshd)\n",
            "  fix: fail2ban-client set sshd unbanip <client-address>\n",
            "  fix: if clients are banned wrongly, check the jail's filter and `ignoreip` in /etc/fail2ban/jail.local\n",
            "filter f2b-sshd 1 V6: fail2ban (jail sshd)\n",
            "  fix: fail2ban-client set sshd unbanip <client-address>\n",
            "  fix: if clients are banned wrongly, check the jail's filter and `ignoreip` in /etc/fail2ban/jail.local\n",
            "filter DOCKER-USER 1 V4: Docker\n",
            "  fix: iptables -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 8080 -j RETURN\n",
            "filter DOCKER-USER 1 V6: Docker\n",
            "  fix: ip6tables -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 8080 -j RETURN\n",
            "filter CNI-FORWARD 1 V4: Podman (netavark/CNI)\n",
            "  fix: check the container's mapping: `podman port <container>` must show 8080/tcp\n",
            "  fix: to filter a published port, add rules before Podman's in FORWARD: iptables -I FORWARD 1 -p tcp -m conntrack --ctorigdstport 8080 -j ACCEPT (or DROP)\n",
            "filter CNI-FORWARD 1 V6: Podman (netavark/CNI)\n",
            "  fix: check the container's mapping: `podman port <container>` must show 8080/tcp\n",
            "  fix: to filter a published port, add rules before Podman's in FORWARD: ip6tables -I FORWARD 1 -p tcp -m conntrack --ctorigdstport 8080 -j ACCEPT (or DROP)\n",
            "netavark forward 1 V4: Podman (netavark/CNI)\n",
            "  fix: check the container's mapping: `podman port <container>` must show 8080/tcp\n",
            "  fix: to filter a published port, add rules before Podman's in FORWARD: iptables -I FORWARD 1 -p tcp -m conntrack --ctorigdstport 8080 -j ACCEPT (or DROP)\n",
            "netavark forward 1 V6: Podman (netavark/CNI)\n",
            "  fix: check the container's mapping: `podman port <container>` must show 8080/tcp\n",
            "  fix: to filter a published port, add rules before Podman's in FORWARD: ip6tables -I FORWARD 1 -p tcp -m conntrack --ctorigdstport 8080 -j ACCEPT (or DROP)\n",
            "filter KUBE-FIREWALL 1 V4: kube-proxy\n",
            "  fix: fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains\n",
            "filter KUBE-FIREWALL 1 V6: kube-proxy\n",
            "  fix: fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains\n",
            "filter kube-services 1 V4: kube-proxy\n",
            "  fix: fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains\n",
            "filter kube-services 1 V6: kube-proxy\n",
            "  fix: fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains\n",
            "kube-proxy filter-forward 1 V4: kube-proxy\n",
            "  fix: fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains\n",
            "kube-proxy filter-forward 1 V6: kube-proxy\n",
            "  fix: fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains\n",
            "filter input 4 V4: nftables (table filter)\n",
            "  fix: nft insert rule ip6 filter input tcp dport 8080 accept\n",
            "  fix: persist it in /etc/nftables.conf\n",
            "filter input 4 V6: nftables (table filter)\n",
            "  fix: nft insert rule ip6 filter input tcp dport 8080 accept\n",
            "  fix: persist it in /etc/nftables.conf\n",
            "filter input 0 V4: nftables (table filter)\n",
            "  fix: nft insert rule inet filter input tcp dport 8080 accept\n",
            "  fix: persist it in /etc/nftables.conf\n",
            "filter input 0 V6: nftables (table filter)\n",
            "  fix: nft insert rule inet filter input tcp dport 8080 accept\n",
            "  fix: persist it in /etc/nftables.conf\n",
            "filter INPUT 0 V4: iptables-legacy (filter chain INPUT)\n",
            "  fix: iptables -t filter -I INPUT 1 -p tcp --dport 8080 -j ACCEPT\n",
            "  fix: persist it: `iptables-save > /etc/iptables/rules.v4` (Debian iptables-persistent) or `service iptables save` (RHEL)\n",
            "filter INPUT 0 V6: iptables-legacy (filter chain INPUT)\n",
            "  fix: ip6tables -t filter -I INPUT 1 -p tcp --dport 8080 -j ACCEPT\n",
            "  fix: persist it: `ip6tables-save > /etc/iptables/rules.v6` (Debian iptables-persistent) or `service ip6tables save` (RHEL)\n",
            "mangle PREROUTING 5 V4: iptables (nf_tables backend) (mangle chain PREROUTING)\n",
            "  fix: iptables -t mangle -I PREROUTING 5 -p tcp --dport 8080 -j ACCEPT\n",
            "  fix: persist it: `iptables-save > /etc/iptables/rules.v4` (Debian iptables-persistent) or `service iptables save` (RHEL)\n",
            "mangle PREROUTING 5 V6: iptables (nf_tables backend) (mangle chain PREROUTING)\n",
            "  fix: ip6tables -t mangle -I PREROUTING 5 -p tcp --dport 8080 -j ACCEPT\n",
            "  fix: persist it: `ip6tables-save > /etc/iptables/rules.v6` (Debian iptables-persistent) or `service ip6tables save` (RHEL)\n",
        )
    );
}
