use super::*;
use portdoctor_model::host::Xfrm;
use portdoctor_model::host::{IfAddr, PolicyRule, Process, RouteType, SocketState};
use portdoctor_model::net::Cidr;
use portdoctor_model::{Missing, Sourced, Status};
use portdoctor_parse::host::files;
use std::collections::BTreeMap;

fn ifaddr(a: &str, p: u8) -> IfAddr {
    IfAddr {
        addr: a.parse().unwrap(),
        prefix: p,
        scope: if a.starts_with("127") || a == "::1" { "host".into() } else { "global".into() },
        secondary: false,
    }
}

fn route(dst: &str, gw: Option<&str>, src: Option<&str>) -> Route {
    Route {
        table: "main".into(),
        kind: RouteType::Unicast,
        dst: dst.parse().unwrap(),
        dev: Some("eth0".into()),
        gateway: gw.map(|g| g.parse().unwrap()),
        prefsrc: src.map(|s| s.parse().unwrap()),
        metric: 0,
    }
}

pub(crate) fn sock(proto: Proto, local: &str, port: u16) -> Socket {
    Socket {
        proto,
        local: local.parse().unwrap(),
        port,
        peer: None,
        state: if proto == Proto::Tcp { SocketState::Listen } else { SocketState::Unconnected },
        v6only: if local.contains(':') { Some(false) } else { None },
        bound_ifindex: None,
        recv_q: 0,
        send_q: 511,
        uid: 0,
        inode: 7,
        owners: Knowledge::Known(vec![Process { pid: 812, name: "nginx".into() }]),
    }
}

fn counters(overflows: u64) -> Knowledge<portdoctor_model::host::Counters> {
    let mut t = BTreeMap::new();
    t.insert("ListenOverflows".to_string(), overflows);
    t.insert("ListenDrops".to_string(), overflows);
    Knowledge::Known(BTreeMap::from([("TcpExt".to_string(), t)]))
}

/// A fact read from the snapshot file `name`, as the parser gives it.
pub(crate) fn fact<K>(name: &str, fact: K) -> Sourced<K> {
    Sourced::new(EvidenceSource::named(name), fact)
}

/// A policy rule `PRIORITY: from SRC lookup TABLE` (or an action: `prohibit`, …).
fn policy_rule(priority: u32, src: Option<&str>, table: &str) -> PolicyRule {
    PolicyRule {
        priority,
        not: false,
        src: src.map(|s| s.parse().unwrap()),
        dst: None,
        iif: None,
        oif: None,
        other: None,
        table: table.into(),
    }
}

pub(crate) fn evidence(sockets: Vec<Socket>) -> HostEvidence {
    HostEvidence {
        hostname: Some("web1".into()),
        sockets: fact(files::SOCKETS, Knowledge::Known(sockets)),
        interfaces: fact(
            files::IP_ADDR,
            Knowledge::Known(vec![
                Interface {
                    index: 1,
                    name: "lo".into(),
                    up: true,
                    addrs: vec![ifaddr("127.0.0.1", 8), ifaddr("::1", 128)],
                    peer: None,
                    master: None,
                    xdp: vec![],
                },
                Interface {
                    index: 2,
                    name: "eth0".into(),
                    up: true,
                    addrs: vec![ifaddr("10.0.1.10", 24), ifaddr("10.0.1.11", 24), ifaddr("2001:db8:2::10", 64)],
                    peer: None,
                    master: None,
                    xdp: vec![],
                },
                Interface {
                    index: 3,
                    name: "eth1".into(),
                    up: true,
                    addrs: vec![ifaddr("10.0.2.10", 24)],
                    peer: None,
                    master: None,
                    xdp: vec![],
                },
            ]),
        ),
        routes: fact(
            files::IP_ROUTE,
            Knowledge::Known(vec![
                route("0.0.0.0/0", Some("10.0.1.1"), None),
                route("10.0.1.0/24", None, Some("10.0.1.10")),
                route("::/0", Some("2001:db8:2::1"), None),
            ]),
        ),
        routes6_from: EvidenceSource::named(files::IP6_ROUTE),
        netstat: fact(files::NETSTAT, counters(3)),
        netstat_later: fact(files::NETSTAT_LATER, counters(3)),
        conntrack: fact(files::SYSCTL, Knowledge::Known(Conntrack::NotLoaded)),
        netfilter: Knowledge::Known(portdoctor_model::firewall::Netfilter {
            devices_from: EvidenceSource::named(files::NFT_CHAINS),
            ..Default::default()
        }),
        selinux: fact(files::SELINUX_ENFORCE, Knowledge::Known(None)),
        services: Knowledge::Known(None),
        tcp_wrappers: Knowledge::Known(portdoctor_model::host::TcpWrappers {
            allow: vec![],
            deny: vec![],
            libwrap_pids: Knowledge::Known(vec![]),
        }),
        rules: fact(files::IP_RULE, Knowledge::Known(vec![])),
        rules6: fact(files::IP6_RULE, Knowledge::Known(vec![])),
        sysctl: fact(
            files::SYSCTL,
            Knowledge::Known(BTreeMap::from([("net.ipv4.conf.all.rp_filter".to_string(), "1".to_string())])),
        ),
        netns: fact(files::NETNS, Knowledge::Known(vec![])),
        tc_ingress: fact(files::TC_INGRESS, Some(Knowledge::Known(Default::default()))),
        xfrm: fact(
            files::XFRM_POLICY,
            Some(Knowledge::Known(Xfrm {
                defaults_from: EvidenceSource::named(files::XFRM_DEFAULT),
                ..Default::default()
            })),
        ),
        notes: vec![],
    }
}

pub(crate) fn q(port: u16) -> HostQuery {
    HostQuery { port, proto: Proto::Tcp, from: Source::Internet, to: None }
}

pub(crate) fn codes(d: &Diagnosis) -> Vec<&'static str> {
    d.causes.iter().map(|c| c.code.as_str()).collect()
}

fn check<'a>(d: &'a Diagnosis, id: &str) -> &'a Check {
    d.checks.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no check {id}"))
}

#[test]
fn arrival_is_the_default_route_address_not_the_public_one() {
    let d = diagnose_host(&evidence(vec![sock(Proto::Tcp, "0.0.0.0", 80)]), &q(80));
    assert_eq!(d.query.target.as_deref(), Some("10.0.1.10"));
    let mut query = q(80);
    query.to = Some("203.0.113.10".parse().unwrap());
    let d = diagnose_host(&evidence(vec![sock(Proto::Tcp, "0.0.0.0", 80)]), &query);
    assert_eq!(d.query.target.as_deref(), Some("10.0.1.10"));
    assert!(d.notes[0].contains("203.0.113.10 is not an address of this host"));
}

#[test]
fn table_of_listener_cases() {
    struct Case {
        name: &'static str,
        sockets: Vec<Socket>,
        query: HostQuery,
        status: Status,
        codes: Vec<&'static str>,
    }
    let mut v6only = sock(Proto::Tcp, "::", 8080);
    v6only.v6only = Some(true);
    let mut bound_eth1 = sock(Proto::Tcp, "0.0.0.0", 8080);
    bound_eth1.bound_ifindex = Some(3);
    let mut bound_eth0 = sock(Proto::Tcp, "0.0.0.0", 8080);
    bound_eth0.bound_ifindex = Some(2);
    let v6_query = HostQuery { to: Some("2001:db8:2::10".parse().unwrap()), ..q(8080) };
    let cases = vec![
        Case {
            name: "wildcard v4",
            sockets: vec![sock(Proto::Tcp, "0.0.0.0", 8080)],
            query: q(8080),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "dual-stack",
            sockets: vec![sock(Proto::Tcp, "::", 8080)],
            query: q(8080),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "exact address",
            sockets: vec![sock(Proto::Tcp, "10.0.1.10", 8080)],
            query: q(8080),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "v4-mapped",
            sockets: vec![sock(Proto::Tcp, "::ffff:10.0.1.10", 8080)],
            query: q(8080),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "nothing",
            sockets: vec![sock(Proto::Tcp, "0.0.0.0", 22)],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["NOT_LISTENING"],
        },
        Case {
            name: "udp vs tcp",
            sockets: vec![sock(Proto::Udp, "0.0.0.0", 8080)],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["NOT_LISTENING"],
        },
        Case {
            name: "loopback",
            sockets: vec![sock(Proto::Tcp, "127.0.0.1", 8080)],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["LISTENER_LOOPBACK_ONLY"],
        },
        Case {
            name: "loopback v6",
            sockets: vec![sock(Proto::Tcp, "::1", 8080)],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["LISTENER_LOOPBACK_ONLY"],
        },
        Case {
            name: "loopback asked about loopback",
            sockets: vec![sock(Proto::Tcp, "127.0.0.1", 8080)],
            query: HostQuery { to: Some("127.0.0.1".parse().unwrap()), ..q(8080) },
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "v6only",
            sockets: vec![v6only.clone()],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["LISTENER_FAMILY_MISMATCH"],
        },
        Case {
            name: "v6only for v6 traffic",
            sockets: vec![v6only],
            query: v6_query.clone(),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "v4 socket, v6 traffic",
            sockets: vec![sock(Proto::Tcp, "0.0.0.0", 8080)],
            query: v6_query,
            status: Status::Blocked,
            codes: vec!["LISTENER_FAMILY_MISMATCH"],
        },
        Case {
            name: "other address",
            sockets: vec![sock(Proto::Tcp, "10.0.1.11", 8080)],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["LISTENER_ADDRESS_MISMATCH"],
        },
        Case {
            name: "other device",
            sockets: vec![bound_eth1],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["LISTENER_ADDRESS_MISMATCH"],
        },
        Case {
            name: "right device",
            sockets: vec![bound_eth0],
            query: q(8080),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "two wrong listeners, two causes",
            sockets: vec![sock(Proto::Tcp, "127.0.0.1", 8080), sock(Proto::Tcp, "10.0.2.10", 8080)],
            query: q(8080),
            status: Status::Blocked,
            codes: vec!["LISTENER_LOOPBACK_ONLY", "LISTENER_ADDRESS_MISMATCH"],
        },
        Case {
            name: "one right listener wins",
            sockets: vec![sock(Proto::Tcp, "127.0.0.1", 8080), sock(Proto::Tcp, "0.0.0.0", 8080)],
            query: q(8080),
            status: Status::Reachable,
            codes: vec![],
        },
        Case {
            name: "udp bound",
            sockets: vec![sock(Proto::Udp, "0.0.0.0", 53)],
            query: HostQuery { proto: Proto::Udp, ..q(53) },
            status: Status::Reachable,
            codes: vec![],
        },
    ];
    for c in cases {
        let d = diagnose_host(&evidence(c.sockets), &c.query);
        assert_eq!(d.status, c.status, "{}: {d:#?}", c.name);
        assert_eq!(codes(&d), c.codes, "{}", c.name);
    }
}

#[test]
fn causes_carry_evidence_and_fix() {
    let d = diagnose_host(&evidence(vec![sock(Proto::Tcp, "127.0.0.1", 8080)]), &q(8080));
    let c = &d.causes[0];
    assert_eq!(c.message, "nginx (pid 812) listens on 127.0.0.1:8080 only: tcp/8080 arriving at 10.0.1.10 is refused");
    assert_eq!(c.component, "tcp 127.0.0.1:8080");
    assert!(c.fix[0].contains("0.0.0.0:8080"));
    assert_eq!(d.summary, c.message);
}

#[test]
fn reachable_names_the_process() {
    let d = diagnose_host(&evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]), &q(8080));
    assert!(d.summary.contains("nginx (pid 812) on 0.0.0.0:8080"), "{}", d.summary);
    assert_eq!(check(&d, "host.firewall").status, CheckStatus::Pass, "no rules loaded: everything passes");
    assert_eq!(check(&d, "host.rp-filter").status, CheckStatus::Pass);
}

#[test]
fn not_listening_lists_the_ports_that_are() {
    let d = diagnose_host(&evidence(vec![sock(Proto::Tcp, "0.0.0.0", 22), sock(Proto::Tcp, "::", 80)]), &q(8080));
    assert!(d.causes[0].evidence[1].contains("22, 80"), "{:?}", d.causes[0].evidence);
}

#[test]
fn full_accept_queue() {
    let mut s = sock(Proto::Tcp, "0.0.0.0", 8080);
    s.recv_q = 2;
    s.send_q = 1;
    let mut ev = evidence(vec![s]);
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(codes(&d), vec!["LISTEN_QUEUE_OVERFLOW"]);
    assert_eq!(d.causes[0].confidence, Confidence::Likely);
    ev.netstat_later.fact = counters(9);
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(d.causes[0].confidence, Confidence::Confirmed);
    assert!(d.causes[0].evidence[1].contains("3 → 9"));
}

#[test]
fn rising_overflows_with_room_is_a_warning() {
    let mut ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    ev.netstat_later.fact = counters(5);
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(d.status, Status::Reachable);
    assert_eq!(check(&d, "host.listen-queue").status, CheckStatus::Warn);
}

#[test]
fn conntrack_full_and_nearly_full() {
    let mut ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    ev.conntrack.fact = Knowledge::Known(Conntrack::Loaded {
        count: 65536,
        max: 65536,
        drop: Some(120),
        early_drop: Some(0),
        insert_failed: None,
        stats_from: EvidenceSource::named(files::CONNTRACK_STAT),
    });
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(codes(&d), vec!["CONNTRACK_TABLE_FULL"]);
    assert!(d.causes[0].evidence[1].contains("drop 120"));
    assert!(d.causes[0].fix[0].contains("131072"));
    ev.conntrack.fact = Knowledge::Known(Conntrack::Loaded {
        count: 60000,
        max: 65536,
        drop: None,
        early_drop: None,
        insert_failed: None,
        stats_from: EvidenceSource::named(files::CONNTRACK_STAT),
    });
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(d.status, Status::Reachable);
    assert_eq!(check(&d, "host.conntrack").status, CheckStatus::Warn);
}

#[test]
fn unreadable_sockets_are_inconclusive_with_remedy() {
    let mut ev = evidence(vec![]);
    ev.sockets.fact = Knowledge::Unavailable(Missing::new("listening sockets", "permission denied", "run as root"));
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(d.status, Status::Inconclusive);
    assert!(check(&d, "host.listener").evidence[0].contains("run as root"));
}

#[test]
fn unknown_owner_is_a_warning_not_a_failure() {
    let mut s = sock(Proto::Tcp, "0.0.0.0", 8080);
    s.owners = Knowledge::Unavailable(Missing::new("owning process", "permission denied", "sudo"));
    let d = diagnose_host(&evidence(vec![s]), &q(8080));
    assert_eq!(d.status, Status::Reachable);
    assert_eq!(check(&d, "host.listener.owner").status, CheckStatus::Warn);
    assert!(d.summary.contains("unknown process"));
}

#[test]
fn unknown_arrival_with_specific_binding_is_unknown() {
    let mut ev = evidence(vec![sock(Proto::Tcp, "10.0.1.11", 8080)]);
    ev.interfaces.fact = Knowledge::Unavailable(Missing::new("interfaces", "ip missing", "install iproute2"));
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(d.status, Status::Inconclusive);
    // ... but a wildcard listener still decides.
    ev.sockets.fact = Knowledge::Known(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(d.status, Status::Inconclusive, "the arrival check itself is unknown");
    assert!(d.causes.is_empty());
}

#[test]
fn from_a_specific_client_uses_the_matching_route() {
    let ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    let query = HostQuery { from: Source::Prefix(Cidr::host("10.0.1.77".parse().unwrap())), ..q(8080) };
    let d = diagnose_host(&ev, &query);
    let c = check(&d, "host.address");
    assert!(c.evidence[0].contains("10.0.1.0/24 dev eth0 src 10.0.1.10"), "{:?}", c.evidence);
}

#[test]
fn second_interface_replies_by_the_first() {
    // Traffic to eth1's address; the only default route leaves by eth0.
    let mut ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    let query = HostQuery { to: Some("10.0.2.10".parse().unwrap()), ..q(8080) };
    let d = diagnose_host(&ev, &query);
    assert_eq!(codes(&d), vec!["RP_FILTER_DROP"], "strict rp_filter: {d:#?}");
    ev.sysctl.fact = Knowledge::Known(BTreeMap::from([("net.ipv4.conf.all.rp_filter".to_string(), "2".to_string())]));
    let d = diagnose_host(&ev, &query);
    assert_eq!(codes(&d), vec!["REPLY_ROUTE_ASYMMETRIC"], "loose: passes, but replies leave by eth0");
    // The usual fix: a rule for eth1's address and a table whose default leaves by eth1.
    let mut routes = ev.routes.known().unwrap().clone();
    routes.push(Route {
        table: "100".into(),
        kind: RouteType::Unicast,
        dst: "0.0.0.0/0".parse().unwrap(),
        dev: Some("eth1".into()),
        gateway: Some("10.0.2.1".parse().unwrap()),
        prefsrc: None,
        metric: 0,
    });
    ev.routes.fact = Knowledge::Known(routes);
    ev.rules.fact = Knowledge::Known(vec![
        policy_rule(0, None, "local"),
        policy_rule(100, Some("10.0.2.10/32"), "100"),
        policy_rule(32766, None, "main"),
    ]);
    let d = diagnose_host(&ev, &query);
    assert_eq!(d.status, portdoctor_model::Status::Reachable, "{d:#?}");
}

pub(crate) fn journal(lines: &[&str]) -> Vec<portdoctor_model::host::JournalLine> {
    portdoctor_parse::systemd::parse_journal(&lines.join("\n"))
}

/// The evidence with a second interface and a route toward the client's network through it
/// (198.51.100.0/24 and 2001:db8:1::/64 via eth1): the client-facing route and the default route
/// leave by different interfaces.
fn two_ways_in(sockets: Vec<Socket>) -> HostEvidence {
    let mut ev = evidence(sockets);
    if let Knowledge::Known(ifs) = &mut ev.interfaces.fact {
        ifs[2].addrs.push(ifaddr("2001:db8:3::10", 64));
    }
    if let Knowledge::Known(routes) = &mut ev.routes.fact {
        for (dst, gw) in [("198.51.100.0/24", "10.0.2.1"), ("2001:db8:1::/64", "2001:db8:3::1")] {
            routes.push(Route { dev: Some("eth1".into()), ..route(dst, Some(gw), None) });
        }
    }
    ev
}

fn from(addr: &str) -> HostQuery {
    HostQuery { from: Source::Prefix(Cidr::host(addr.parse().unwrap())), ..q(8080) }
}

fn ids(d: &Diagnosis) -> Vec<&str> {
    d.checks.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn every_plausible_arrival_is_judged_and_the_blocked_one_named() {
    let ev = two_ways_in(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    let d = diagnose_host(&ev, &from("198.51.100.2"));
    // Toward the client (eth1) rp_filter passes; on eth0, the default route's interface, strict
    // rp_filter drops: the route back leaves by eth1.
    assert_eq!(d.status, Status::Blocked, "{d:#?}");
    assert_eq!(codes(&d), vec!["RP_FILTER_DROP"]);
    let cause = &d.causes[0];
    assert!(
        cause.message.starts_with("Arriving on eth0 (10.0.1.10, the default route's interface): "),
        "{}",
        cause.message
    );
    assert_eq!(cause.component, "rp_filter eth0");
    assert!(check(&d, "host.address").summary.contains("10.0.2.10 on eth1 (the route toward 198.51.100.2)"));
    assert!(check(&d, "host.address.arrival2").summary.contains("10.0.1.10 on eth0 (the default route's interface)"));
    assert_eq!(check(&d, "host.rp-filter").status, CheckStatus::Pass);
    assert_eq!(check(&d, "host.rp-filter.arrival2").status, CheckStatus::Fail);
    assert!(check(&d, "host.rp-filter.arrival2").summary.starts_with("Arriving on eth0 (10.0.1.10"));
    // What both arrivals find alike appears once, as it is.
    assert_eq!(ids(&d).iter().filter(|i| i.starts_with("host.conntrack")).count(), 1, "{:?}", ids(&d));
    assert_eq!(check(&d, "host.conntrack").summary, "nf_conntrack is not loaded: no connection table to fill");
    assert!(d.notes.iter().any(|n| n.contains("each is judged")), "{:?}", d.notes);
    let nic = d.path.iter().find(|h| h.hop == "nic").unwrap();
    assert_eq!(nic.component, "eth0", "the path shown is the blocked arrival's");
    assert_eq!(d.query.target.as_deref(), Some("10.0.1.10"));
    assert!(nic.detail.contains("also judged: eth1 (10.0.2.10, the route toward 198.51.100.2)"), "{}", nic.detail);

    // Given the arrival, only that one is judged.
    let d = diagnose_host(&ev, &HostQuery { to: Some("10.0.2.10".parse().unwrap()), ..from("198.51.100.2") });
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    assert!(!ids(&d).iter().any(|i| i.contains(".arrival")), "{:?}", ids(&d));
    let d = diagnose_host(&ev, &HostQuery { to: Some("10.0.1.10".parse().unwrap()), ..from("198.51.100.2") });
    assert_eq!(codes(&d), vec!["RP_FILTER_DROP"]);
    assert!(d.causes[0].message.starts_with("Reverse-path filtering"), "one arrival: no prefix");
}

#[test]
fn reachable_only_when_every_arrival_is() {
    // The usual fix: replies from eth0's address use a table whose default leaves by eth0.
    let mut ev = two_ways_in(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    if let Knowledge::Known(routes) = &mut ev.routes.fact {
        routes.push(Route { table: "100".into(), ..route("0.0.0.0/0", Some("10.0.1.1"), None) });
    }
    ev.rules.fact = Knowledge::Known(vec![
        policy_rule(0, None, "local"),
        policy_rule(100, Some("10.0.1.10/32"), "100"),
        policy_rule(32766, None, "main"),
    ]);
    let d = diagnose_host(&ev, &from("198.51.100.2"));
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    assert!(
        d.summary.ends_with(
            "on every plausible arrival: eth1 (10.0.2.10, the route toward 198.51.100.2); eth0 (10.0.1.10, the default route's interface)"
        ),
        "{}",
        d.summary
    );
}

#[test]
fn what_differs_between_arrivals_names_its_arrival() {
    // Bound to eth0's address: refused where traffic arrives at eth1's.
    let mut ev = two_ways_in(vec![sock(Proto::Tcp, "10.0.1.10", 8080)]);
    ev.sysctl.fact = Knowledge::Known(BTreeMap::from([("net.ipv4.conf.all.rp_filter".to_string(), "0".to_string())]));
    let d = diagnose_host(&ev, &from("198.51.100.2"));
    let mismatch = d.causes.iter().find(|c| c.code == CauseCode::ListenerAddressMismatch).unwrap();
    assert!(
        mismatch.message.starts_with("Arriving on eth1 (10.0.2.10, the route toward 198.51.100.2): "),
        "{}",
        mismatch.message
    );
    // On eth0 the listener answers, but replies leave by eth1.
    let asym = d.causes.iter().find(|c| c.code == CauseCode::ReplyRouteAsymmetric).unwrap();
    assert!(asym.message.starts_with("Arriving on eth0 (10.0.1.10"), "{}", asym.message);
    assert!(check(&d, "host.listener.arrival2").summary.contains("accepts"), "{d:#?}");
}

#[test]
fn arrivals_are_de_duplicated() {
    let ev = two_ways_in(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    // The internet: the route toward it is the default route.
    let d = diagnose_host(&ev, &q(8080));
    assert!(!ids(&d).iter().any(|i| i.contains(".arrival")), "{:?}", ids(&d));
    assert_eq!(check(&d, "host.address").summary, "Traffic from the internet arrives at 10.0.1.10 on eth0");
    // A client on eth0's own network: its route and the default route both arrive at 10.0.1.10.
    let d = diagnose_host(&ev, &from("10.0.1.77"));
    assert!(!ids(&d).iter().any(|i| i.contains(".arrival")), "{:?}", ids(&d));
    assert!(d.notes.iter().all(|n| !n.contains("each is judged")), "{:?}", d.notes);
}

#[test]
fn ipv6_arrivals() {
    let ev = two_ways_in(vec![sock(Proto::Tcp, "::", 8080)]);
    let d = diagnose_host(&ev, &from("2001:db8:1::2"));
    assert!(check(&d, "host.address").summary.contains("2001:db8:3::10 on eth1"), "{d:#?}");
    assert!(check(&d, "host.address.arrival2").summary.contains("2001:db8:2::10 on eth0"), "{d:#?}");
    // rp_filter is IPv4's: the same answer for both, shown once.
    assert_eq!(check(&d, "host.rp-filter").summary, "rp_filter applies to IPv4 only");
    assert!(!ids(&d).contains(&"host.rp-filter.arrival2"), "{:?}", ids(&d));
    assert_eq!(check(&d, "host.listener").status, CheckStatus::Pass);
    assert!(check(&d, "host.listener.arrival2").summary.contains("accepts tcp/8080 to 2001:db8:2::10"));
    // A v6 client with no route of its own: only the default route's interface.
    let d = diagnose_host(&ev, &from("2001:db8:9::2"));
    assert!(!ids(&d).iter().any(|i| i.contains(".arrival")), "{:?}", ids(&d));
    assert!(check(&d, "host.address").summary.contains("2001:db8:2::10 on eth0"));
}

#[test]
fn internet_clients_behind_a_more_specific_route_are_looked_up_too() {
    // Most of the internet is answered by eth0; 198.51.100.0/24, part of it, by eth1: strict
    // rp_filter drops that part's traffic arriving on eth0.
    let mut ev = two_ways_in(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]);
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(codes(&d), vec!["RP_FILTER_DROP"], "{d:#?}");
    assert_eq!(
        d.causes[0].message,
        "Reverse-path filtering (strict) drops traffic from 198.51.100.0/24 arriving on eth0: the route back leaves by eth1"
    );
    let ev_lines = &check(&d, "host.rp-filter").evidence;
    assert!(
        ev_lines
            .iter()
            .any(|e| e.contains("to the internet except 198.51.100.0/24 route default via 10.0.1.1 dev eth0")),
        "{ev_lines:?}"
    );
    // Loose: that part's replies leave by eth1.
    ev.sysctl.fact = Knowledge::Known(BTreeMap::from([("net.ipv4.conf.all.rp_filter".to_string(), "2".to_string())]));
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(codes(&d), vec!["REPLY_ROUTE_ASYMMETRIC"], "{d:#?}");
    assert!(
        d.causes[0].message.starts_with("Replies to 198.51.100.0/24 from 10.0.1.10 leave by eth1"),
        "{}",
        d.causes[0].message
    );
    // The same for a --from prefix that a more specific route splits.
    ev.sysctl.fact = Knowledge::Known(BTreeMap::from([("net.ipv4.conf.all.rp_filter".to_string(), "1".to_string())]));
    let d = diagnose_host(&ev, &HostQuery { from: Source::Prefix("198.51.0.0/16".parse().unwrap()), ..q(8080) });
    assert_eq!(codes(&d), vec!["RP_FILTER_DROP"], "{d:#?}");
    assert!(
        d.causes[0].message.contains("drops traffic from 198.51.100.0/24 arriving on eth0"),
        "{}",
        d.causes[0].message
    );
    // A route toward a private network changes nothing for the internet.
    let d = diagnose_host(&evidence(vec![sock(Proto::Tcp, "0.0.0.0", 8080)]), &q(8080));
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    assert_eq!(check(&d, "host.rp-filter").summary, "Replies to the internet leave by eth0, where the traffic arrives");
}

fn xfrm_policy(dir: portdoctor_model::host::XfrmDir, src: &str, dst: &str) -> portdoctor_model::host::XfrmPolicy {
    portdoctor_model::host::XfrmPolicy {
        dir,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: None,
        sport: None,
        dport: None,
        block: false,
        templates: vec![],
        priority: 0,
        unmodeled: vec![],
        text: format!("src {src} dst {dst}"),
    }
}

/// IPsec required on the way in is likely a block for internet clients; a policy selecting by
/// a mark only may apply (unknown); a bypass at a lower priority number lets the port through.
#[test]
fn xfrm_policies_by_priority_and_selector() {
    use portdoctor_model::host::{Xfrm, XfrmDir};
    let mut ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 80)]);
    let mut ipsec = xfrm_policy(XfrmDir::In, "0.0.0.0/0", "10.0.1.0/24");
    ipsec.templates = vec![("tmpl src 192.0.2.1 dst 10.0.1.10 proto esp mode tunnel".into(), false)];
    ipsec.priority = 10;
    ev.xfrm.fact = Some(Knowledge::Known(Xfrm {
        policies: vec![ipsec.clone()],
        default_block: Some(vec![]),
        ..Default::default()
    }));
    let d = diagnose_host(&ev, &q(80));
    assert_eq!(codes(&d), ["XFRM_POLICY_BLOCK"]);
    assert_eq!(d.causes[0].confidence, Confidence::Likely);
    assert!(d.causes[0].fix[0].to_string().contains("dport 80 priority 9"), "{:?}", d.causes[0].fix);
    // A bypass for the port, taken first.
    let mut bypass = xfrm_policy(XfrmDir::In, "0.0.0.0/0", "10.0.1.10/32");
    (bypass.proto, bypass.dport, bypass.priority) = (Some(6), Some(80), 5);
    ev.xfrm.fact = Some(Knowledge::Known(Xfrm {
        policies: vec![ipsec.clone(), bypass],
        default_block: None,
        ..Default::default()
    }));
    let d = diagnose_host(&ev, &q(80));
    assert_eq!(check(&d, "host.xfrm").status, CheckStatus::Pass);
    // A block that selects by mark too: may apply.
    let mut marked = xfrm_policy(XfrmDir::Out, "10.0.1.10/32", "0.0.0.0/0");
    (marked.block, marked.unmodeled) = (true, vec!["mark 0x1/0xffffffff".into()]);
    ev.xfrm.fact = Some(Knowledge::Known(Xfrm { policies: vec![marked], default_block: None, ..Default::default() }));
    let d = diagnose_host(&ev, &q(80));
    assert_eq!(d.status, Status::Inconclusive);
    assert!(check(&d, "host.xfrm").evidence.iter().any(|e| e.contains("mark 0x1/0xffffffff")));
    // The default for replies is block and nothing selects them.
    ev.xfrm.fact = Some(Knowledge::Known(Xfrm {
        policies: vec![],
        default_block: Some(vec![XfrmDir::Out]),
        defaults_from: EvidenceSource::named(files::XFRM_DEFAULT),
    }));
    let d = diagnose_host(&ev, &q(80));
    assert_eq!(codes(&d), ["XFRM_POLICY_BLOCK"]);
    assert_eq!(d.causes[0].fix[0].to_string(), "ip xfrm policy setdefault out accept");
    // Fix (round 2): the default policies' one source, not the policies' file after it too.
    assert_eq!(d.causes[0].evidence[0], "Default policies: out: block (ip-xfrm-policy-default.txt)");
    assert_eq!(d.causes[0].component, "xfrm policy Default policies: out: block");
    // Not collected (an older snapshot): skipped, not unknown.
    ev.xfrm.fact = None;
    ev.tc_ingress.fact = None;
    let d = diagnose_host(&ev, &q(80));
    assert_eq!(check(&d, "host.xfrm").status, CheckStatus::Skipped);
    assert_eq!(check(&d, "host.tc-ingress").status, CheckStatus::Skipped);
    assert_eq!(d.status, Status::Reachable);
}

/// Routing for IPv6 uses the routes (the rules are IPv4 only); a rule that selects by fwmark
/// makes the routing check unknown rather than guessed.
#[test]
fn routing_blackhole_for_ipv6_and_unmodeled_rules() {
    let mut ev = evidence(vec![sock(Proto::Tcp, "::", 80)]);
    let mut routes = ev.routes.known().unwrap().clone();
    routes.push(Route { kind: RouteType::Blackhole, dev: None, ..route("2001:db8:1::/64", None, None) });
    ev.routes.fact = Knowledge::Known(routes);
    let mut query = q(80);
    query.from = Source::Prefix("2001:db8:1::2/128".parse().unwrap());
    query.to = Some("2001:db8:2::10".parse().unwrap());
    let d = diagnose_host(&ev, &query);
    assert!(codes(&d).contains(&"HOST_ROUTE_DROP"), "{:?}", d.causes);
    let c = d.causes.iter().find(|c| c.code == CauseCode::HostRouteDrop).unwrap();
    assert_eq!(
        c.fix[0].to_string(),
        "ip -6 route del blackhole 2001:db8:1::/64 table main (and remove it from the network configuration that adds it)"
    );
    // Fix (round 2): IPv6 routes and rules are read from their own sources, and the evidence
    // names them (it used to say ip-route.json, ip-rule.json, the IPv4 ones).
    assert!(c.evidence.iter().any(|e| e.ends_with("(ip-6-route.json, ip-6-rule.json)")), "{:?}", c.evidence);
    assert!(!c.evidence.iter().any(|e| e.contains("ip-route.json") || e.contains("ip-rule.json")), "{:?}", c.evidence);
    // IPv6 policy rules are read too (ip-6-rule.json): a prohibit rule for the clients' prefix
    // discards what they send, and the fix is IPv6's.
    let mut ev6 = evidence(vec![sock(Proto::Tcp, "::", 80)]);
    ev6.rules6.fact = Knowledge::Known(vec![
        policy_rule(0, None, "local"),
        policy_rule(100, Some("2001:db8:1::/64"), "prohibit"),
        policy_rule(32766, None, "main"),
    ]);
    let d = diagnose_host(&ev6, &query);
    let c = d.causes.iter().find(|c| c.code == CauseCode::HostRouteDrop).expect("the prohibit rule is a cause");
    assert_eq!(
        c.fix[0].to_string(),
        "ip -6 rule del priority 100 (and remove it from the network configuration that adds it)"
    );
    assert!(c.evidence.iter().any(|e| e.contains("(ip-6-route.json, ip-6-rule.json)")), "{:?}", c.evidence);
    let mut ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 80)]);
    ev.rules.fact = Knowledge::Known(vec![PolicyRule {
        priority: 100,
        not: false,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        other: Some("fwmark \"0x1\"".into()),
        table: "prohibit".into(),
    }]);
    let d = diagnose_host(&ev, &q(80));
    assert_eq!(check(&d, "host.routing").status, CheckStatus::Unknown);
}

/// A nat table nobody read may forward the port elsewhere: "nothing listens" is then only
/// possible (inconclusive), naming the table; one of the other family changes nothing; a
/// firewall not read at all leaves it likely.
#[test]
fn not_listening_is_not_confirmed_while_a_nat_table_is_unread() {
    use portdoctor_model::firewall::{Backend, FwFamily, Netfilter};
    let mut ev = evidence(vec![sock(Proto::Tcp, "0.0.0.0", 22)]);
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!((d.status, d.causes[0].confidence), (Status::Blocked, Confidence::Confirmed));
    let unread = |family| Netfilter {
        unread_nat: vec![(family, "iptables-nft table nat (iptables-nft.txt: bad port list)".into())],
        ..Netfilter::default()
    };
    ev.netfilter = Knowledge::Known(unread(FwFamily::Ip6));
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!((d.status, d.causes[0].confidence), (Status::Blocked, Confidence::Confirmed), "{d:#?}");
    for family in [FwFamily::Ip, FwFamily::Inet] {
        ev.netfilter = Knowledge::Known(unread(family));
        let d = diagnose_host(&ev, &q(8080));
        assert_eq!(codes(&d), ["NOT_LISTENING"]);
        assert_eq!((d.status, d.causes[0].confidence), (Status::Inconclusive, Confidence::Possible), "{d:#?}");
        let why = &d.causes[0].evidence[0];
        assert!(why.starts_with("not confirmed") && why.contains("iptables-nft table nat"), "{why}");
        assert!(check(&d, "host.listener").evidence.contains(why));
    }
    // A nat rule the walk cannot decide: where the flow goes is just as unknown.
    let save = "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination somewhere\nCOMMIT\n";
    let tables = portdoctor_parse::iptables::parse_save("t", save, Backend::IptablesNft, FwFamily::Ip).unwrap();
    ev.netfilter = Knowledge::Known(Netfilter { tables, ..Netfilter::default() });
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!((d.status, d.causes[0].confidence), (Status::Inconclusive, Confidence::Possible), "{d:#?}");
    assert!(d.causes[0].evidence[0].contains("table nat chain PREROUTING rule 1"), "{:?}", d.causes[0].evidence);
    ev.netfilter = Knowledge::Unavailable(Missing::new("firewall rules", "permission denied", "run as root"));
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!((d.status, d.causes[0].confidence), (Status::Blocked, Confidence::Likely), "{d:#?}");
    assert!(d.causes[0].evidence[0].contains("nat tables included"), "{:?}", d.causes[0].evidence);
}

/// A check and its causes in full, for pinning the text.
pub(crate) fn spelled((check, causes): (Check, Vec<Cause>)) -> String {
    let mut out = format!("{:?}: {}\n", check.status, check.summary);
    out.extend(check.evidence.iter().map(|e| format!("  {e}\n")));
    for c in causes {
        out.push_str(&format!("cause {:?} [{}] {:?}: {}\n", c.code, c.component, c.confidence, c.message));
        out.extend(c.evidence.iter().map(|e| format!("  {e}\n")));
        out.extend(c.fix.iter().map(|f| format!("  fix: {f}\n")));
    }
    out
}

#[test]
fn kernel_path_names_who_reverse_path_filtering_drops_and_where_replies_leave() {
    use crate::kernel_path::kernel_path;
    let mut ev = two_ways_in(vec![]);
    let internet = Source::Internet;
    let local = |a: &str| Some(a.parse().unwrap());
    let rp = |ev: &mut HostEvidence, all: &str, dev: (&str, &str)| {
        ev.sysctl.fact = Knowledge::Known(BTreeMap::from([
            ("net.ipv4.conf.all.rp_filter".to_string(), all.to_string()),
            (format!("net.ipv4.conf.{}.rp_filter", dev.0), dev.1.to_string()),
        ]));
    };
    rp(&mut ev, "0", ("eth0", "1"));
    assert_eq!(
        spelled(kernel_path(&ev, &internet, local("10.0.1.10"), Some("eth0"))),
        concat!(
            "Fail: Reverse-path filtering (strict) drops traffic from 198.51.100.0/24 arriving on eth0: the route back leaves by eth1\n",
            "  rp_filter: all=0, eth0=1 → strict (sysctl.txt)\n",
            "  replies from 10.0.1.10 to the internet except 198.51.100.0/24 route default via 10.0.1.1 dev eth0 table main (ip-route.json, ip-rule.json)\n",
            "  replies from 10.0.1.10 to 198.51.100.0/24 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
            "cause RpFilterDrop [rp_filter eth0] Confirmed: Reverse-path filtering (strict) drops traffic from 198.51.100.0/24 arriving on eth0: the route back leaves by eth1\n",
            "  rp_filter: all=0, eth0=1 → strict (sysctl.txt)\n",
            "  replies from 10.0.1.10 to the internet except 198.51.100.0/24 route default via 10.0.1.1 dev eth0 table main (ip-route.json, ip-rule.json)\n",
            "  replies from 10.0.1.10 to 198.51.100.0/24 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
            "  fix: route replies from 10.0.1.10 out of eth0: ip rule add from 10.0.1.10 table 100 && ip route add default via <gateway> dev eth0 table 100 (persist it in your network configuration)\n",
            "  fix: or relax reverse-path filtering on eth0: sysctl -w net.ipv4.conf.eth0.rp_filter=2 (and net.ipv4.conf.all.rp_filter=2)\n",
        )
    );
    rp(&mut ev, "0", ("eth0", "0"));
    assert_eq!(
        spelled(kernel_path(&ev, &internet, local("10.0.1.10"), Some("eth0"))),
        concat!(
            "Fail: Replies to 198.51.100.0/24 from 10.0.1.10 leave by eth1, not eth0 where the traffic arrives: a cloud network (AWS source/destination check) or a stateful middlebox drops them\n",
            "  rp_filter: all=0, eth0=0 → off (sysctl.txt)\n",
            "  replies from 10.0.1.10 to the internet except 198.51.100.0/24 route default via 10.0.1.1 dev eth0 table main (ip-route.json, ip-rule.json)\n",
            "  replies from 10.0.1.10 to 198.51.100.0/24 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
            "cause ReplyRouteAsymmetric [route 10.0.1.10 -> 198.51.100.0/24] Likely: Replies to 198.51.100.0/24 from 10.0.1.10 leave by eth1, not eth0 where the traffic arrives: a cloud network (AWS source/destination check) or a stateful middlebox drops them\n",
            "  rp_filter: all=0, eth0=0 → off (sysctl.txt)\n",
            "  replies from 10.0.1.10 to the internet except 198.51.100.0/24 route default via 10.0.1.1 dev eth0 table main (ip-route.json, ip-rule.json)\n",
            "  replies from 10.0.1.10 to 198.51.100.0/24 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
            "  fix: route replies from 10.0.1.10 out of eth0: ip rule add from 10.0.1.10 table 100 && ip route add default via <gateway> dev eth0 table 100 (persist it in your network configuration)\n",
        )
    );
    assert_eq!(
        spelled(kernel_path(&ev, &from("198.51.100.2").from, local("10.0.2.10"), Some("eth1"))),
        concat!(
            "Pass: Replies to 198.51.100.2/32 leave by eth1, where the traffic arrives\n",
            "  rp_filter: all=0, eth1=0 → off (sysctl.txt)\n",
            "  replies from 10.0.2.10 to 198.51.100.2/32 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
        )
    );
    // Loose, on a VLAN interface, with no default route: the rest of the internet has no way back.
    rp(&mut ev, "2", ("eth1.100", "0"));
    if let Knowledge::Known(routes) = &mut ev.routes.fact {
        routes.retain(|r| r.dst.prefix() > 0);
    }
    assert_eq!(
        spelled(kernel_path(&ev, &internet, local("10.0.2.10"), Some("eth1.100"))),
        concat!(
            "Fail: Reverse-path filtering (loose) drops traffic from the internet except 198.51.100.0/24 arriving on eth1.100: there is no usable route back\n",
            "  rp_filter: all=2, eth1.100=0 → loose (sysctl.txt)\n",
            "  no route from 10.0.2.10 back to the internet except 198.51.100.0/24 (ip-route.json, ip-rule.json)\n",
            "  replies from 10.0.2.10 to 198.51.100.0/24 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
            "cause RpFilterDrop [rp_filter eth1.100] Confirmed: Reverse-path filtering (loose) drops traffic from the internet except 198.51.100.0/24 arriving on eth1.100: there is no usable route back\n",
            "  rp_filter: all=2, eth1.100=0 → loose (sysctl.txt)\n",
            "  no route from 10.0.2.10 back to the internet except 198.51.100.0/24 (ip-route.json, ip-rule.json)\n",
            "  replies from 10.0.2.10 to 198.51.100.0/24 route 198.51.100.0/24 via 10.0.2.1 dev eth1 table main (ip-route.json, ip-rule.json)\n",
            "  fix: route replies from 10.0.2.10 out of eth1.100: ip rule add from 10.0.2.10 table 100 && ip route add default via <gateway> dev eth1.100 table 100 (persist it in your network configuration)\n",
            "  fix: or relax reverse-path filtering on eth1.100: sysctl -w net.ipv4.conf.eth1/100.rp_filter=2 (and net.ipv4.conf.all.rp_filter=2)\n",
        )
    );
}

#[test]
fn host_firewall_names_the_spread_nat_the_established_drop_and_the_undecided_replies() {
    use portdoctor_model::firewall::{Backend, FwFamily};
    let save = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p tcp --dport 8080 -s 203.0.113.0/24 -m time --timestart 09:00 --timestop 17:00 -j DNAT --to-destination 10.0.1.10:9000\n\
        -A PREROUTING -p tcp --dport 8080 -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.1.10:8081\n\
        -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.10:8082\nCOMMIT\n\
        *filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m conntrack --ctstate NEW -j ACCEPT\n\
        -A OUTPUT -m time --timestart 09:00 --timestop 17:00 -j DROP\nCOMMIT\n";
    let mut ev = evidence(vec![]);
    ev.netfilter = Knowledge::Known(portdoctor_model::firewall::Netfilter {
        tables: portdoctor_parse::iptables::parse_save("iptables-save.txt", save, Backend::IptablesNft, FwFamily::Ip)
            .unwrap(),
        ..Default::default()
    });
    let out = crate::host_firewall::host_firewall(
        &ev,
        &q(8080),
        Some("10.0.1.10".parse().unwrap()),
        Some("eth0"),
        Family::V4,
    );
    let mut text = String::new();
    for (n, c) in out.checks.into_iter().enumerate() {
        text.push_str(&spelled((c, if n == 0 { out.causes.clone() } else { vec![] })));
    }
    text.push_str(&spelled((host_check("after", CheckStatus::Fail, "after the handshake"), out.after_handshake)));
    text.push_str(&format!("nats {:?}\nnat_undecided {:?}\n", out.nats, out.nat_undecided));
    // Fix (round 2): the undecided line and the after-handshake cause came once per NAT group,
    // the spread line called the time-decided DNAT a statistic one, and the replies' checks of
    // two endpoints read alike.
    assert_eq!(
        text,
        concat!(
            "Fail: The host firewall (iptables (nf_tables backend) (filter chain INPUT)) drops tcp/8080 from the internet except 203.0.113.0/24 after the handshake (the connection's ESTABLISHED packets)\n",
            "  walked 2 table(s): iptables (nf_tables backend) nat, iptables (nf_tables backend) filter\n",
            "  iptables (nf_tables backend) table nat chain PREROUTING rule 1: -A PREROUTING -p tcp --dport 8080 -s 203.0.113.0/24 -m time --timestart 09:00 --timestop 17:00 -j DNAT --to-destination 10.0.1.10:9000 — the outcome for 203.0.113.0/24 depends on a match this version does not model: -m time --timestart 09:00 --timestop 17:00\n",
            "  NAT in PREROUTING: tcp/8080 to 10.0.1.10 goes to 10.0.1.10:8081 (iptables (nf_tables backend) table nat chain PREROUTING rule 2: -A PREROUTING -p tcp --dport 8080 -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.1.10:8081)\n",
            "  NAT in PREROUTING: tcp/8080 to 10.0.1.10 goes to 10.0.1.10:8082 (iptables (nf_tables backend) table nat chain PREROUTING rule 3: -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.10:8082)\n",
            "  NAT in PREROUTING: tcp/8080 to 10.0.1.10 goes to 10.0.1.10:9000 (iptables (nf_tables backend) table nat chain PREROUTING rule 1: -A PREROUTING -p tcp --dport 8080 -s 203.0.113.0/24 -m time --timestart 09:00 --timestop 17:00 -j DNAT --to-destination 10.0.1.10:9000)\n",
            "  new connections go to one of 3 endpoints, as the rules' matches decide: each is judged\n",
            "Unknown: Could not fully decide whether the replies of tcp/8080 (from 10.0.1.10:8081) leave\n",
            "  iptables (nf_tables backend) table filter chain OUTPUT rule 1: -A OUTPUT -m time --timestart 09:00 --timestop 17:00 -j DROP — the outcome for replies to the internet except 203.0.113.0/24 depends on a match this version does not model: -m time --timestart 09:00 --timestop 17:00\n",
            "Unknown: Could not fully decide whether the replies of tcp/8080 (from 10.0.1.10:8082) leave\n",
            "  iptables (nf_tables backend) table filter chain OUTPUT rule 1: -A OUTPUT -m time --timestart 09:00 --timestop 17:00 -j DROP — the outcome for replies to the internet except 203.0.113.0/24 depends on a match this version does not model: -m time --timestart 09:00 --timestop 17:00\n",
            "Fail: after the handshake\n",
            "cause HostFirewallDrop [iptables (nf_tables backend) filter INPUT] Confirmed: The host firewall (iptables (nf_tables backend) (filter chain INPUT)) drops tcp/8080 from the internet except 203.0.113.0/24 after the handshake (the connection's ESTABLISHED packets)\n",
            "  iptables (nf_tables backend) table filter chain INPUT: policy DROP\n",
            "  decides for the internet except 203.0.113.0/24\n",
            "  fix: iptables -t filter -I INPUT 1 -p tcp --dport 8080 -j ACCEPT\n",
            "  fix: persist it: `iptables-save > /etc/iptables/rules.v4` (Debian iptables-persistent) or `service iptables save` (RHEL)\n",
            "nats [(10.0.1.10, 8081, \"iptables (nf_tables backend) table nat chain PREROUTING rule 2: -A PREROUTING -p tcp --dport 8080 -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.1.10:8081\"), (10.0.1.10, 8082, \"iptables (nf_tables backend) table nat chain PREROUTING rule 3: -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.10:8082\"), (10.0.1.10, 9000, \"iptables (nf_tables backend) table nat chain PREROUTING rule 1: -A PREROUTING -p tcp --dport 8080 -s 203.0.113.0/24 -m time --timestart 09:00 --timestop 17:00 -j DNAT --to-destination 10.0.1.10:9000\")]\n",
            "nat_undecided [\"iptables (nf_tables backend) table nat chain PREROUTING rule 1: -A PREROUTING -p tcp --dport 8080 -s 203.0.113.0/24 -m time --timestart 09:00 --timestop 17:00 -j DNAT --to-destination 10.0.1.10:9000\"]\n",
        )
    );
}

/// The listener's outcome in full, for pinning the text of each of its branches.
pub(crate) fn spelled_listener(o: ListenerOutcome) -> String {
    let mut out = spelled((o.check, o.causes));
    out.push_str(&format!("hop {} [{}] {:?}: {}\n", o.hop.hop, o.hop.component, o.hop.status, o.hop.detail));
    out.push_str(&format!("answerer {:?}\n", o.answerer.map(|s| s.local_text())));
    if let Some(owner) = o.owner_check {
        out.push_str(&format!("owner {}", spelled((owner, vec![]))));
    }
    out
}

#[test]
fn listener_spells_each_branch() {
    let eth0 =
        Arrival { family: Family::V4, addr: Some("10.0.1.10".parse().unwrap()), iface: Some((2, "eth0".into())) };
    let ask = |sockets: Knowledge<Vec<Socket>>, q: &HostQuery, a: &Arrival| {
        let ev = evidence(vec![]);
        let ifs = ev.interfaces.known().unwrap().clone();
        spelled_listener(listener(&sockets, &ev.sockets.from, &ifs, q, a))
    };
    let unreadable = Knowledge::Unavailable(Missing::new("listening sockets", "permission denied", "run as root"));
    let mut unowned = sock(Proto::Tcp, "0.0.0.0", 8080);
    unowned.owners = Knowledge::Unavailable(Missing::new("owning process", "permission denied", "sudo"));
    let accepts = Knowledge::Known(vec![sock(Proto::Tcp, "127.0.0.1", 8080), unowned]);
    let no_tcp = Knowledge::Known(vec![sock(Proto::Udp, "0.0.0.0", 8080)]);
    let many: Vec<Socket> = (1..=22).rev().chain([22]).map(|p| sock(Proto::Tcp, "0.0.0.0", p)).collect();
    let udp = HostQuery { proto: Proto::Udp, ..q(53) };
    let mut v6only = sock(Proto::Tcp, "::", 8080);
    v6only.v6only = Some(true);
    let mut bound_eth1 = sock(Proto::Tcp, "0.0.0.0", 8080);
    bound_eth1.bound_ifindex = Some(3);
    let refusing = vec![
        sock(Proto::Tcp, "127.0.0.1", 8080),
        sock(Proto::Tcp, "10.0.2.10", 8080),
        sock(Proto::Tcp, "::1", 8080),
        v6only,
        bound_eth1,
    ];
    let nowhere = Arrival { addr: None, iface: None, ..eth0.clone() };
    let unknown = vec![sock(Proto::Tcp, "10.0.1.11", 8080), sock(Proto::Tcp, "127.0.0.1", 8080)];
    let text = [
        ask(unreadable, &q(8080), &eth0),
        ask(accepts, &q(8080), &eth0),
        ask(no_tcp, &q(8080), &eth0),
        ask(Knowledge::Known(many), &q(8080), &eth0),
        ask(Knowledge::Known(vec![sock(Proto::Tcp, "0.0.0.0", 53)]), &udp, &eth0),
        ask(Knowledge::Known(refusing), &q(8080), &eth0),
        ask(Knowledge::Known(unknown), &q(8080), &nowhere),
    ]
    .join("--\n");
    assert_eq!(
        text,
        concat!(
            "Unknown: Could not read the sockets listening on tcp/8080\n",
            "  listening sockets unavailable: permission denied; to get it: run as root\n",
            "hop listener [tcp/8080] Unknown: sockets could not be read\n",
            "answerer None\n",
            "--\n",
            "Pass: an unknown process (uid 0, inode 7) listens on 0.0.0.0:8080 and accepts tcp/8080 to 10.0.1.10\n",
            "  nginx (pid 812) listens on 127.0.0.1:8080 (tcp; sockets.json via sock_diag)\n",
            "  an unknown process (uid 0, inode 7) listens on 0.0.0.0:8080 (tcp; sockets.json via sock_diag)\n",
            "hop listener [tcp 0.0.0.0:8080] Pass: an unknown process (uid 0, inode 7) listens on 0.0.0.0:8080 and accepts tcp/8080 to 10.0.1.10\n",
            "answerer Some(\"0.0.0.0:8080\")\n",
            "owner Warn: Could not see which process owns the socket\n",
            "  owning process unavailable: permission denied; to get it: sudo\n",
            "--\n",
            "Fail: Nothing listens on tcp/8080: no socket accepts it on this host\n",
            "  no tcp socket in LISTEN state on port 8080 among the 1 sockets read via sock_diag (sockets.json)\n",
            "  no tcp port is listening at all\n",
            "cause NotListening [tcp/8080] Confirmed: Nothing listens on tcp/8080: no socket accepts it on this host\n",
            "  no tcp socket in LISTEN state on port 8080 among the 1 sockets read via sock_diag (sockets.json)\n",
            "  no tcp port is listening at all\n",
            "  fix: Start the service that should answer on tcp/8080 (e.g. `systemctl start <unit>`), then check: ss -lnp '( sport = :8080 )'\n",
            "  fix: If it is running but did not bind, read why: `systemctl status <unit>` and `journalctl -u <unit> -n 50`\n",
            "hop listener [tcp/8080] Fail: Nothing listens on tcp/8080: no socket accepts it on this host\n",
            "answerer None\n",
            "--\n",
            "Fail: Nothing listens on tcp/8080: no socket accepts it on this host\n",
            "  no tcp socket in LISTEN state on port 8080 among the 23 sockets read via sock_diag (sockets.json)\n",
            "  tcp ports listening here: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, …\n",
            "cause NotListening [tcp/8080] Confirmed: Nothing listens on tcp/8080: no socket accepts it on this host\n",
            "  no tcp socket in LISTEN state on port 8080 among the 23 sockets read via sock_diag (sockets.json)\n",
            "  tcp ports listening here: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, …\n",
            "  fix: Start the service that should answer on tcp/8080 (e.g. `systemctl start <unit>`), then check: ss -lnp '( sport = :8080 )'\n",
            "  fix: If it is running but did not bind, read why: `systemctl status <unit>` and `journalctl -u <unit> -n 50`\n",
            "hop listener [tcp/8080] Fail: Nothing listens on tcp/8080: no socket accepts it on this host\n",
            "answerer None\n",
            "--\n",
            "Fail: Nothing listens on udp/53: no socket accepts it on this host\n",
            "  no udp socket bound on port 53 among the 1 sockets read via sock_diag (sockets.json)\n",
            "  no udp port is listening at all\n",
            "cause NotListening [udp/53] Confirmed: Nothing listens on udp/53: no socket accepts it on this host\n",
            "  no udp socket bound on port 53 among the 1 sockets read via sock_diag (sockets.json)\n",
            "  no udp port is listening at all\n",
            "  fix: Start the service that should answer on udp/53 (e.g. `systemctl start <unit>`), then check: ss -lnp '( sport = :53 )'\n",
            "  fix: If it is running but did not bind, read why: `systemctl status <unit>` and `journalctl -u <unit> -n 50`\n",
            "hop listener [udp/53] Fail: Nothing listens on udp/53: no socket accepts it on this host\n",
            "answerer None\n",
            "--\n",
            "Fail: nginx (pid 812) listens on 127.0.0.1:8080 only: tcp/8080 arriving at 10.0.1.10 is refused\n",
            "  nginx (pid 812) listens on 127.0.0.1:8080 (tcp; sockets.json via sock_diag)\n",
            "  nginx (pid 812) listens on 10.0.2.10:8080 (tcp; sockets.json via sock_diag)\n",
            "  nginx (pid 812) listens on [::1]:8080 (tcp; sockets.json via sock_diag)\n",
            "  nginx (pid 812) listens on [::]:8080 (tcp, IPV6_V6ONLY; sockets.json via sock_diag)\n",
            "  nginx (pid 812) listens on 0.0.0.0:8080 (tcp, SO_BINDTODEVICE ifindex 3; sockets.json via sock_diag)\n",
            "cause ListenerLoopbackOnly [tcp 127.0.0.1:8080] Confirmed: nginx (pid 812) listens on 127.0.0.1:8080 only: tcp/8080 arriving at 10.0.1.10 is refused\n",
            "  nginx (pid 812) listens on 127.0.0.1:8080 (tcp; sockets.json via sock_diag)\n",
            "  nginx (pid 812) listens on [::1]:8080 (tcp; sockets.json via sock_diag)\n",
            "  fix: Make nginx listen on 0.0.0.0:8080 (all IPv4 addresses) or 10.0.1.10:8080 in its configuration (nginx `listen 8080;`, a `--bind 0.0.0.0`/`--host 0.0.0.0` option), then restart it\n",
            "  fix: Check: ss -lnp '( sport = :8080 )'\n",
            "cause ListenerAddressMismatch [tcp 10.0.2.10:8080] Confirmed: nginx (pid 812) listens on 10.0.2.10:8080 but tcp/8080 arrives at 10.0.1.10\n",
            "  nginx (pid 812) listens on 10.0.2.10:8080 (tcp; sockets.json via sock_diag)\n",
            "  fix: Make nginx listen on 0.0.0.0:8080 or 10.0.1.10:8080 (its bind/listen address setting), then restart it\n",
            "cause ListenerFamilyMismatch [tcp [::]:8080] Confirmed: nginx (pid 812) listens on [::]:8080 with IPV6_V6ONLY set: IPv4 tcp/8080 to 10.0.1.10 is refused\n",
            "  nginx (pid 812) listens on [::]:8080 (tcp, IPV6_V6ONLY; sockets.json via sock_diag)\n",
            "  fix: Let nginx accept IPv4 too: clear IPV6_V6ONLY in its settings (nginx `listen [::]:8080 ipv6only=off;`), or add an IPv4 listener on 0.0.0.0:8080\n",
            "  fix: If it relies on the system default, check `sysctl net.ipv6.bindv6only` (0 means dual-stack)\n",
            "cause ListenerAddressMismatch [tcp 0.0.0.0:8080] Confirmed: nginx (pid 812) is bound to interface eth1 (SO_BINDTODEVICE) but tcp/8080 arrives on eth0\n",
            "  nginx (pid 812) listens on 0.0.0.0:8080 (tcp, SO_BINDTODEVICE ifindex 3; sockets.json via sock_diag)\n",
            "  fix: Bind nginx to the interface the traffic arrives on, or remove its device binding (e.g. its `interface`/`bind-interface` setting)\n",
            "hop listener [tcp 127.0.0.1:8080] Fail: nginx (pid 812) listens on 127.0.0.1:8080 only: tcp/8080 arriving at 10.0.1.10 is refused\n",
            "answerer None\n",
            "--\n",
            "Unknown: tcp/8080 has listeners bound to specific addresses, and the arrival address is unknown\n",
            "  nginx (pid 812) listens on 10.0.1.11:8080 (tcp; sockets.json via sock_diag)\n",
            "  nginx (pid 812) listens on 127.0.0.1:8080 (tcp; sockets.json via sock_diag)\n",
            "  pass --to ADDR to say where the traffic arrives\n",
            "hop listener [tcp/8080] Unknown: tcp/8080 has listeners bound to specific addresses, and the arrival address is unknown\n",
            "answerer None\n",
        )
    );
}

/// Every way `arrivals` ends, its arrivals and notes in full: the interfaces unread, `--to` one
/// of them or not this host's, one route or two toward a client (de-duplicated), IPv6, the
/// routes unread, and a route with no usable interface.
#[test]
fn arrivals_spell_each_branch() {
    let ask = |ev: &HostEvidence, q: &HostQuery| {
        let mut notes = Vec::new();
        let mut out = String::new();
        for p in arrivals(ev, q, &mut notes) {
            let a = &p.arrival;
            out.push_str(&format!("arrival {:?} {:?} {:?} why {}\n", a.family, a.addr, a.iface, p.why));
            out.push_str(&spelled((p.check, vec![])));
        }
        out + &notes.iter().map(|n| format!("note: {n}\n")).collect::<String>()
    };
    let mut unread_ifs = evidence(vec![]);
    unread_ifs.interfaces.fact = Knowledge::Unavailable(Missing::new("interfaces", "ip missing", "install iproute2"));
    let mut unread_routes = evidence(vec![]);
    unread_routes.routes.fact = Knowledge::Unavailable(Missing::new("routes", "ip missing", "install iproute2"));
    let mut nowhere = evidence(vec![]);
    nowhere.routes.fact = Knowledge::Known(vec![Route { dev: Some("eth9".into()), ..route("0.0.0.0/0", None, None) }]);
    let to = |addr: &str| HostQuery { to: Some(addr.parse().unwrap()), ..q(8080) };
    let text = [
        ask(&unread_ifs, &to("10.0.1.10")),
        ask(&evidence(vec![]), &to("10.0.2.10")),
        ask(&evidence(vec![]), &to("203.0.113.10")),
        ask(&two_ways_in(vec![]), &from("198.51.100.2")),
        ask(&two_ways_in(vec![]), &from("10.0.1.77")),
        ask(&two_ways_in(vec![]), &from("2001:db8:1::2")),
        ask(&unread_routes, &from("198.51.100.2")),
        ask(&nowhere, &q(8080)),
    ]
    .join("--\n");
    assert_eq!(
        text,
        concat!(
            "arrival V4 Some(10.0.1.10) None why given\n",
            "Unknown: Could not tell which local address the traffic arrives at\n",
            "  interfaces unavailable: ip missing; to get it: install iproute2\n",
            "--\n",
            "arrival V4 Some(10.0.2.10) Some((3, \"eth1\")) why given\n",
            "Pass: Traffic arrives at 10.0.2.10 on eth1\n",
            "  10.0.2.10 is assigned to eth1 (ip-addr.json)\n",
            "--\n",
            "arrival V4 Some(10.0.1.10) Some((2, \"eth0\")) why the default route's interface\n",
            "Pass: Traffic from the internet arrives at 10.0.1.10 on eth0\n",
            "  replies to the internet route default via 10.0.1.1 dev eth0 (ip-route.json, table main)\n",
            "  10.0.1.10 is the primary IPv4 address of eth0 (ip-addr.json)\n",
            "note: 203.0.113.10 is not an address of this host (it was given as where the traffic arrives): behind a 1:1 NAT (an AWS internet gateway, a cloud edge) it arrives translated to one of the host's own addresses, which are judged instead\n",
            "--\n",
            "arrival V4 Some(10.0.2.10) Some((3, \"eth1\")) why the route toward 198.51.100.2\n",
            "Pass: Traffic from 198.51.100.2 may arrive at 10.0.2.10 on eth1 (the route toward 198.51.100.2)\n",
            "  replies to 198.51.100.2 route 198.51.100.0/24 via 10.0.2.1 dev eth1 (ip-route.json, table main)\n",
            "  10.0.2.10 is the primary IPv4 address of eth1 (ip-addr.json)\n",
            "arrival V4 Some(10.0.1.10) Some((2, \"eth0\")) why the default route's interface\n",
            "Pass: Traffic from 198.51.100.2 may arrive at 10.0.1.10 on eth0 (the default route's interface)\n",
            "  the default route is default via 10.0.1.1 dev eth0 (ip-route.json, table main), where traffic to the host's main address usually comes in\n",
            "  10.0.1.10 is the primary IPv4 address of eth0 (ip-addr.json)\n",
            "note: where traffic from 198.51.100.2 arrives is not given, and more than one arrival is plausible: each is judged — eth1 (10.0.2.10, the route toward 198.51.100.2); eth0 (10.0.1.10, the default route's interface). What differs between them names its arrival (checks of the second and later arrivals have ids ending in .arrival2, .arrival3, …); pass --to ADDR to judge one\n",
            "--\n",
            "arrival V4 Some(10.0.1.10) Some((2, \"eth0\")) why the route toward 10.0.1.77\n",
            "Pass: Traffic from 10.0.1.77 arrives at 10.0.1.10 on eth0\n",
            "  replies to 10.0.1.77 route 10.0.1.0/24 dev eth0 src 10.0.1.10 (ip-route.json, table main)\n",
            "  10.0.1.10 is the primary IPv4 address of eth0 (ip-addr.json)\n",
            "--\n",
            "arrival V6 Some(2001:db8:3::10) Some((3, \"eth1\")) why the route toward 2001:db8:1::2\n",
            "Pass: Traffic from 2001:db8:1::2 may arrive at 2001:db8:3::10 on eth1 (the route toward 2001:db8:1::2)\n",
            "  replies to 2001:db8:1::2 route 2001:db8:1::/64 via 2001:db8:3::1 dev eth1 (ip-6-route.json, table main)\n",
            "  2001:db8:3::10 is the primary IPv6 address of eth1 (ip-addr.json)\n",
            "arrival V6 Some(2001:db8:2::10) Some((2, \"eth0\")) why the default route's interface\n",
            "Pass: Traffic from 2001:db8:1::2 may arrive at 2001:db8:2::10 on eth0 (the default route's interface)\n",
            "  the default route is default via 2001:db8:2::1 dev eth0 (ip-6-route.json, table main), where traffic to the host's main address usually comes in\n",
            "  2001:db8:2::10 is the primary IPv6 address of eth0 (ip-addr.json)\n",
            "note: where traffic from 2001:db8:1::2 arrives is not given, and more than one arrival is plausible: each is judged — eth1 (2001:db8:3::10, the route toward 2001:db8:1::2); eth0 (2001:db8:2::10, the default route's interface). What differs between them names its arrival (checks of the second and later arrivals have ids ending in .arrival2, .arrival3, …); pass --to ADDR to judge one\n",
            "--\n",
            "arrival V4 None None why unknown\n",
            "Unknown: Could not tell which IPv4 address traffic from 198.51.100.2 arrives at; pass --to ADDR\n",
            "  routes unavailable: ip missing; to get it: install iproute2\n",
            "  no route toward 198.51.100.2 in the main table, or its interface has no global IPv4 address\n",
            "--\n",
            "arrival V4 None None why unknown\n",
            "Unknown: Could not tell which IPv4 address traffic from the internet arrives at; pass --to ADDR\n",
            "  the route default dev eth9 has no usable interface or no global IPv4 address to arrive at (ip-route.json, ip-addr.json)\n",
            "  no route toward the internet in the main table, or its interface has no global IPv4 address\n",
        )
    );
}
