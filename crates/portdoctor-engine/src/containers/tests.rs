//! The forwarded leg from evidence alone: which namespace holds the address, what is unknown
//! when the namespaces could not be read, and forwarding per ingress interface.

use crate::host::diagnose_host;
use crate::host::tests::{codes, evidence, q};
use portdoctor_model::firewall::{Backend, FwFamily, Netfilter};
use portdoctor_model::host::{HostEvidence, IfAddr, Interface, Netns, Process, Route, RouteType, Socket, SocketState};
use portdoctor_model::net::Proto;
use portdoctor_model::{CheckStatus, Knowledge, Missing};
use portdoctor_parse::host::files;

const DNAT: &str =
    "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80\nCOMMIT\n";

fn iface(index: u32, name: &str, addr: &str, peer: Option<(i32, u32)>, master: Option<&str>) -> Interface {
    Interface {
        index,
        name: name.into(),
        up: true,
        addrs: vec![IfAddr { addr: addr.parse().unwrap(), prefix: 24, scope: "global".into(), secondary: false }],
        peer,
        master: master.map(str::to_string),
        xdp: vec![],
    }
}

fn listener(local: &str, port: u16, name: &str) -> Socket {
    Socket {
        proto: Proto::Tcp,
        local: local.parse().unwrap(),
        port,
        peer: None,
        state: SocketState::Listen,
        v6only: None,
        bound_ifindex: None,
        recv_q: 0,
        send_q: 511,
        uid: 0,
        inode: 9,
        owners: Knowledge::Known(vec![Process { pid: 4242, name: name.into() }]),
    }
}

/// A container whose eth0 (ifindex 2) pairs with the host's ifindex `peer_index`.
fn container(nsid: i32, peer_index: u32, app: &str, bind: &str) -> Netns {
    Netns {
        nsid,
        processes: vec![Process { pid: 4000 + nsid.unsigned_abs(), name: app.into() }],
        interfaces: Knowledge::Known(vec![iface(2, "eth0", "10.88.0.2", Some((0, peer_index)), None)]),
        sockets: Knowledge::Known(vec![listener(bind, 80, app)]),
        sockets_from: portdoctor_model::EvidenceSource::named(files::netns_file(nsid, files::SS)),
    }
}

/// The host of `host::tests` with a docker0 bridge, two veth ports (nsid 1 and 2) and Docker's
/// DNAT; `forward` is eth0's forwarding while ip_forward is 1.
fn docker_host(netns: Knowledge<Vec<Netns>>, forward: &str) -> HostEvidence {
    let mut ev = evidence(vec![listener("0.0.0.0", 8080, "docker-proxy")]);
    if let Knowledge::Known(ifs) = &mut ev.interfaces.fact {
        ifs.push(iface(4, "docker0", "10.88.0.1", None, None));
        ifs.push(iface(5, "veth1", "169.254.1.1", Some((1, 2)), Some("docker0")));
        ifs.push(iface(6, "veth2", "169.254.1.2", Some((2, 2)), Some("docker0")));
    }
    if let Knowledge::Known(routes) = &mut ev.routes.fact {
        routes.push(Route {
            table: "main".into(),
            kind: RouteType::Unicast,
            dst: "10.88.0.0/24".parse().unwrap(),
            dev: Some("docker0".into()),
            gateway: None,
            prefsrc: None,
            metric: 0,
        });
    }
    let tables = portdoctor_parse::iptables::parse_save("t", DNAT, Backend::IptablesNft, FwFamily::Ip).unwrap();
    ev.netfilter = Knowledge::Known(Netfilter { tables, ..Netfilter::default() });
    if let Knowledge::Known(s) = &mut ev.sysctl.fact {
        s.insert("net.ipv4.conf.eth0.forwarding".into(), forward.into());
        s.insert("net.ipv4.ip_forward".into(), "1".into());
    }
    ev.netns.fact = netns;
    ev
}

#[test]
fn the_paired_namespace_wins_over_an_unrelated_one_with_the_same_address() {
    // nsid 7 also holds 10.88.0.2 but no port of docker0 pairs with it; nsid 2 does (veth2,
    // ifindex 6), and its app listens on loopback only.
    let unrelated = container(7, 9, "other", "0.0.0.0");
    let ev = docker_host(Knowledge::Known(vec![unrelated, container(2, 6, "app", "127.0.0.1")]), "1");
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(codes(&d), ["LISTENER_LOOPBACK_ONLY"], "{:#?}", d.causes);
    assert!(d.causes[0].component.starts_with("netns nsid 2 (app"), "{}", d.causes[0].component);
    // Fix (round 2): the container's sockets are named by their own source (`ss` inside it), not
    // the host's sockets.json.
    let said = d.causes[0].evidence.join("\n");
    assert!(said.contains("netns-2-ss.txt via sock_diag") && !said.contains("sockets.json"), "{said}");
}

#[test]
fn forwarding_off_on_the_ingress_interface_only() {
    // ip_forward = 1 but eth0's own forwarding is 0: eth0 is what the kernel asks.
    let ev = docker_host(Knowledge::Known(vec![container(1, 5, "app", "0.0.0.0")]), "0");
    let d = diagnose_host(&ev, &q(8080));
    assert_eq!(codes(&d), ["IP_FORWARDING_DISABLED"]);
    assert!(d.causes[0].evidence[0].contains("net.ipv4.conf.eth0.forwarding = 0"));
}

#[test]
fn unreadable_namespaces_leave_the_listener_unknown() {
    let missing = Missing::new("container network namespaces", "permission denied", "run portdoctor as root (sudo)");
    let ev = docker_host(Knowledge::Unavailable(missing), "1");
    let d = diagnose_host(&ev, &q(8080));
    assert!(codes(&d).is_empty());
    let listener = d.checks.iter().find(|c| c.id == "host.listener").unwrap();
    assert_eq!(listener.status, CheckStatus::Unknown);
    assert!(listener.evidence.iter().any(|e| e.contains("sudo")), "{listener:#?}");
    // The docker-proxy on the host's 8080 is never taken for the answer.
    assert!(!d.summary.contains("docker-proxy"), "{}", d.summary);
}

#[test]
fn an_unreadable_namespace_is_not_taken_for_a_gone_container() {
    // nsenter missing: the namespace's addresses are unknown, so 10.88.0.2 may be in it.
    let missing = Missing::new("interfaces and addresses", "`nsenter` is not available", "install util-linux");
    let blind = Netns { interfaces: Knowledge::Unavailable(missing), ..container(1, 5, "app", "0.0.0.0") };
    let d = diagnose_host(&docker_host(Knowledge::Known(vec![blind]), "1"), &q(8080));
    assert!(codes(&d).is_empty(), "{:#?}", d.causes);
    let listener = d.checks.iter().find(|c| c.id == "host.listener").unwrap();
    assert_eq!(listener.status, CheckStatus::Unknown);
    assert!(listener.evidence[0].contains("nsenter"), "{listener:#?}");
}
