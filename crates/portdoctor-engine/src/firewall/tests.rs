use super::*;
use portdoctor_model::firewall::{AddrSetDef, Backend, FwFamily, ct};

fn nf(save: &str) -> Netfilter {
    Netfilter {
        tables: portdoctor_parse::iptables::parse_save("test", save, Backend::IptablesNft, FwFamily::Ip).unwrap(),
        sets: vec![],
        unmodeled: vec![],
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
fn an_unknown_match_only_matters_when_the_outcomes_differ() {
    // limit before an ACCEPT that would happen anyway: both sides accept.
    let rules = "-A INPUT -m limit --limit 5/min -j LOG\n-A INPUT -p tcp --dport 80 -m recent --name x --rcheck -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    assert_eq!(verdict(&n, &pkt(80), "198.51.100.7"), Verdict::Accept);
    // ...but a `recent` match in front of a DROP decides: unknown, naming it.
    let rules =
        "-A INPUT -p tcp --dport 80 -m recent --name x --rcheck -j DROP\n-A INPUT -p tcp --dport 80 -j ACCEPT\n";
    let n = nf(&table(rules, "DROP"));
    let Verdict::Unknown(r, why) = verdict(&n, &pkt(80), "198.51.100.7") else { panic!() };
    assert_eq!(r.index, 1);
    assert!(why.contains("-m recent"), "{why}");
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
    assert_eq!(attribute(&r, "tcp", 8080, Family::V4).1[0], "ufw allow 8080/tcp");
    let r = RuleRef {
        backend: Backend::Nftables,
        table: "firewalld".into(),
        chain: "filter_IN_public_allow".into(),
        index: 3,
        text: "".into(),
    };
    let (who, fix) = attribute(&r, "tcp", 8080, Family::V4);
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
        attribute(&r, "tcp", 8080, Family::V4).1[0]
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
    let v6 = |routes: Vec<(Cidr, String)>| Packet {
        family: Family::V6,
        local: "2001:db8:2::10".parse().unwrap(),
        local_addrs: vec!["2001:db8:2::10".parse().unwrap()],
        routes,
        ..pkt(22)
    };
    let clients = AddrSet::internet(Family::V6);
    // The route back to every client leaves by eth0, where they arrive: admitted.
    let routed = v6(vec![("::/0".parse().unwrap(), "eth0".into())]);
    let out = evaluate(&n, &routed, &clients);
    assert!(out.iter().all(|o| o.verdict == Verdict::Accept), "{out:#?}");
    // No route back by eth0 (the default leaves by eth1): `fib saddr . mark . iif oif missing drop`.
    let asymmetric = v6(vec![("::/0".parse().unwrap(), "eth1".into())]);
    let out = evaluate(&n, &asymmetric, &clients);
    assert!(out.iter().all(|o| matches!(&o.verdict, Verdict::Drop(r) if r.chain == "filter_PREROUTING")), "{out:#?}");
}

#[test]
fn a_port_verdict_map_decides_each_port_and_lets_the_rest_go_on() {
    // `tcp dport vmap { 22 : accept, 8080-8090 : accept, 9000 : drop }` under policy drop, as
    // `nft -j list ruleset` prints it.
    let json = r#"{"nftables": [
        {"table": {"family": "inet", "name": "plain", "handle": 1}},
        {"chain": {"family": "inet", "table": "plain", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "plain", "chain": "input", "handle": 2, "expr": [
            {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [
                [22, {"accept": null}], [{"range": [8080, 8090]}, {"accept": null}], [9000, {"drop": null}]]}}}]}}
    ]}"#;
    let n = portdoctor_parse::nft::parse_ruleset("t", json).unwrap();
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
    assert_eq!(attribute(&rule("netavark", "forward"), "tcp", 8080, Family::V4).0, "Podman (netavark/CNI)");
    assert_eq!(attribute(&rule("kube-proxy", "filter-forward"), "tcp", 30080, Family::V4).0, "kube-proxy");
}
