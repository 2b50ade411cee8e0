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

/// One endpoint in full (its causes, the container hop, the listener inside), for each way
/// `endpoint` ends: the namespaces unread, one unread, another host, a gone container, and a
/// container found whose app listens on loopback, listens nowhere, or answers.
#[test]
fn endpoint_spells_each_branch() {
    use crate::host::tests::{spelled, spelled_listener};
    use portdoctor_model::net::Family;
    let ask = |netns: Knowledge<Vec<Netns>>, to: &str, port: u16, share: Option<(usize, usize)>| {
        let mut ev = docker_host(netns, "1");
        if let Knowledge::Known(ifs) = &mut ev.interfaces.fact {
            ifs.push(iface(7, "veth3", "169.254.1.3", Some((3, 2)), None));
        }
        let rule = "nat chain PREROUTING rule 1: -A PREROUTING -p tcp --dport 8080 -j DNAT";
        let e = super::endpoint(&ev, &q(8080), Family::V4, (to.parse().unwrap(), port), rule, share);
        let h = &e.container_hop;
        let mut out = spelled((crate::host_query::host_check("endpoint", CheckStatus::Fail, "causes"), e.causes));
        out.push_str(&format!("container {} [{}] {:?}: {}\n", h.hop, h.component, h.status, h.detail));
        out + &spelled_listener(e.listener)
    };
    let unread = Missing::new("container network namespaces", "permission denied", "run portdoctor as root (sudo)");
    let nsenter = Missing::new("interfaces and addresses", "`nsenter` is not available", "install util-linux");
    let blind = Netns { interfaces: Knowledge::Unavailable(nsenter), ..container(1, 5, "app", "0.0.0.0") };
    let mut unbridged = container(3, 7, "web", "0.0.0.0");
    unbridged.sockets = Knowledge::Known(vec![listener("0.0.0.0", 443, "web")]);
    let text = [
        ask(Knowledge::Unavailable(unread), "10.88.0.2", 80, None),
        ask(Knowledge::Known(vec![blind]), "10.88.0.2", 80, None),
        ask(Knowledge::Known(vec![container(1, 5, "app", "0.0.0.0")]), "192.0.2.7", 80, None),
        ask(Knowledge::Known(vec![container(1, 5, "app", "0.0.0.0")]), "10.88.0.9", 80, Some((2, 3))),
        ask(Knowledge::Known(vec![container(2, 6, "app", "127.0.0.1")]), "10.88.0.2", 80, None),
        ask(Knowledge::Known(vec![unbridged]), "10.88.0.2", 80, Some((1, 2))),
        ask(Knowledge::Known(vec![container(1, 5, "app", "0.0.0.0")]), "10.88.0.2", 80, Some((1, 2))),
    ]
    .join("--\n");
    assert_eq!(
        text,
        concat!(
            "Fail: causes\n",
            "container container [10.88.0.2:80] Unknown: container namespaces could not be read\n",
            "Unknown: Could not look inside the container that 10.88.0.2:80 belongs to\n",
            "  container network namespaces unavailable: permission denied; to get it: run portdoctor as root (sudo)\n",
            "hop listener [10.88.0.2:80] Unknown: Could not look inside the container that 10.88.0.2:80 belongs to\n",
            "answerer None\n",
            "--\n",
            "Fail: causes\n",
            "container container [10.88.0.2:80] Unknown: a container namespace could not be read\n",
            "Unknown: Could not look inside every container to find 10.88.0.2\n",
            "  interfaces and addresses unavailable: `nsenter` is not available; to get it: install util-linux\n",
            "hop listener [10.88.0.2:80] Unknown: Could not look inside every container to find 10.88.0.2\n",
            "answerer None\n",
            "--\n",
            "Fail: causes\n",
            "container container [192.0.2.7:80] Unknown: forwarded to another host\n",
            "Unknown: tcp/8080 is forwarded to 192.0.2.7:80, on another host\n",
            "  none of the 1 namespaces joined to this host by a veth holds 192.0.2.7 (netns.json)\n",
            "  the route to 192.0.2.7: default via 10.0.1.1 dev eth0 (ip-route.json)\n",
            "  192.0.2.7 is behind a gateway: the listener is on another host, which portdoctor cannot see from here\n",
            "hop listener [192.0.2.7:80] Unknown: tcp/8080 is forwarded to 192.0.2.7:80, on another host\n",
            "answerer None\n",
            "--\n",
            "Fail: causes\n",
            "cause NotListening [10.88.0.9:80] Likely: For the connections sent to 10.88.0.9:80 (endpoint 2 of 3, picked at random per connection): Nothing on this host holds 10.88.0.9: the NAT rule sends tcp/8080 to a container that no longer exists\n",
            "  none of the 1 namespaces joined to this host by a veth holds 10.88.0.9 (netns.json)\n",
            "  the route to 10.88.0.9: 10.88.0.0/24 dev docker0 (ip-route.json)\n",
            "  the rule: nat chain PREROUTING rule 1: -A PREROUTING -p tcp --dport 8080 -j DNAT\n",
            "  fix: The container behind this published port is gone or has a new address: recreate it (`docker compose up -d`, `docker run -p …`) so its runtime writes the rule again\n",
            "  fix: If the rule was restored from a saved file (iptables-restore of old Docker rules), remove it and restart the container runtime (`systemctl restart docker`)\n",
            "container container [10.88.0.9:80] Fail: Nothing on this host holds 10.88.0.9: the NAT rule sends tcp/8080 to a container that no longer exists\n",
            "Fail: Nothing on this host holds 10.88.0.9: the NAT rule sends tcp/8080 to a container that no longer exists\n",
            "  none of the 1 namespaces joined to this host by a veth holds 10.88.0.9 (netns.json)\n",
            "  the route to 10.88.0.9: 10.88.0.0/24 dev docker0 (ip-route.json)\n",
            "hop listener [10.88.0.9:80] Fail: Nothing on this host holds 10.88.0.9: the NAT rule sends tcp/8080 to a container that no longer exists\n",
            "answerer None\n",
            "--\n",
            "Fail: causes\n",
            "cause ListenerLoopbackOnly [netns nsid 2 (app pid 4002): tcp 127.0.0.1:80] Confirmed: Inside the container (netns nsid 2 (app pid 4002)): app (pid 4242) listens on 127.0.0.1:80 only: tcp/80 arriving at 10.88.0.2 is refused\n",
            "  10.88.0.2 is eth0's IPv4 address, in netns nsid 2 (app pid 4002) (its veth peer veth2 is a port of docker0)\n",
            "  app (pid 4242) listens on 127.0.0.1:80 (tcp; netns-2-ss.txt via sock_diag)\n",
            "  fix: The published port reaches the container's eth0 address, never its loopback: make the app listen on 0.0.0.0:80 inside the container (e.g. `--host 0.0.0.0`, `--bind 0.0.0.0`, `listen 80;`), rebuild or restart the container\n",
            "  fix: Make app listen on 0.0.0.0:80 (all IPv4 addresses) or 10.88.0.2:80 in its configuration (nginx `listen 80;`, a `--bind 0.0.0.0`/`--host 0.0.0.0` option), then restart it\n",
            "  fix: Check: ss -lnp '( sport = :80 )'\n",
            "container container [netns nsid 2 (app pid 4002)] Fail: 10.88.0.2 is eth0's IPv4 address, in netns nsid 2 (app pid 4002) (its veth peer veth2 is a port of docker0)\n",
            "Fail: Inside netns nsid 2 (app pid 4002): app (pid 4242) listens on 127.0.0.1:80 only: tcp/80 arriving at 10.88.0.2 is refused\n",
            "  10.88.0.2 is eth0's IPv4 address, in netns nsid 2 (app pid 4002) (its veth peer veth2 is a port of docker0)\n",
            "  app (pid 4242) listens on 127.0.0.1:80 (tcp; netns-2-ss.txt via sock_diag)\n",
            "hop listener [netns nsid 2 (app pid 4002): tcp 127.0.0.1:80] Fail: app (pid 4242) listens on 127.0.0.1:80 only: tcp/80 arriving at 10.88.0.2 is refused\n",
            "answerer None\n",
            "--\n",
            "Fail: causes\n",
            "cause NotListening [netns nsid 3 (web pid 4003): tcp/80] Confirmed: For the connections sent to 10.88.0.2:80 (endpoint 1 of 2, picked at random per connection): Inside the container (netns nsid 3 (web pid 4003)): Nothing listens on tcp/80: no socket accepts it on this host\n",
            "  10.88.0.2 is eth0's IPv4 address, in netns nsid 3 (web pid 4003) (its veth peer here is veth3)\n",
            "  no tcp socket in LISTEN state on port 80 among the 1 sockets read via sock_diag (netns-3-ss.txt)\n",
            "  tcp ports listening here: 443\n",
            "  fix: Nothing in the container listens on tcp/80: check the mapping's container side (`docker ps` shows 0.0.0.0:HOST->80/tcp when it is right) and why the app did not start (`docker logs <container>`)\n",
            "  fix: Start the service that should answer on tcp/80 (e.g. `systemctl start <unit>`), then check: ss -lnp '( sport = :80 )'\n",
            "  fix: If it is running but did not bind, read why: `systemctl status <unit>` and `journalctl -u <unit> -n 50`\n",
            "container container [netns nsid 3 (web pid 4003)] Fail: 10.88.0.2 is eth0's IPv4 address, in netns nsid 3 (web pid 4003) (its veth peer here is veth3)\n",
            "Fail: Inside netns nsid 3 (web pid 4003): Nothing listens on tcp/80: no socket accepts it on this host\n",
            "  10.88.0.2 is eth0's IPv4 address, in netns nsid 3 (web pid 4003) (its veth peer here is veth3)\n",
            "  no tcp socket in LISTEN state on port 80 among the 1 sockets read via sock_diag (netns-3-ss.txt)\n",
            "  tcp ports listening here: 443\n",
            "hop listener [netns nsid 3 (web pid 4003): tcp/80] Fail: Nothing listens on tcp/80: no socket accepts it on this host\n",
            "answerer None\n",
            "--\n",
            "Fail: causes\n",
            "container container [netns nsid 1 (app pid 4001)] Pass: 10.88.0.2 is eth0's IPv4 address, in netns nsid 1 (app pid 4001) (its veth peer veth1 is a port of docker0)\n",
            "Pass: Inside netns nsid 1 (app pid 4001): app (pid 4242) listens on 0.0.0.0:80 and accepts tcp/80 to 10.88.0.2\n",
            "  10.88.0.2 is eth0's IPv4 address, in netns nsid 1 (app pid 4001) (its veth peer veth1 is a port of docker0)\n",
            "  app (pid 4242) listens on 0.0.0.0:80 (tcp; netns-1-ss.txt via sock_diag)\n",
            "hop listener [netns nsid 1 (app pid 4001): tcp 0.0.0.0:80] Pass: app (pid 4242) listens on 0.0.0.0:80 and accepts tcp/80 to 10.88.0.2\n",
            "answerer Some(\"0.0.0.0:80\")\n",
        )
    );
}
