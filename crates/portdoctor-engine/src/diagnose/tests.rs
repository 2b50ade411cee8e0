//! The reasoning rules, one per case, on hand-made layers.

use super::*;
use portdoctor_model::diagnosis::ArrivalFlow;
use portdoctor_model::elb::BehindBalancer;
use portdoctor_model::host_path::HostHop;
use portdoctor_model::probe::{IcmpKind, ProbeAttempt, SeenPacket};
use portdoctor_model::{Missing, Proto, Source, Status};

fn query() -> Query {
    Query {
        command: "diagnose".into(),
        target: Some("203.0.113.10".into()),
        port: 8080,
        protocol: Proto::Tcp,
        from: Source::Internet,
        instance: None,
    }
}

fn probes(vantage: &str, target: ProbeOutcome, control: ProbeOutcome) -> ProbeReport {
    let a = |port, source_port, outcome| ProbeAttempt { port, source_port: Some(source_port), outcome, millis: 5 };
    ProbeReport {
        vantage: vantage.into(),
        target: "203.0.113.10".parse().unwrap(),
        proto: Proto::Tcp,
        attempts: vec![a(8080, 40001, target.clone()), a(8080, 40002, target), a(22, 40003, control)],
    }
}

fn capture(packets: Vec<SeenPacket>) -> Option<Knowledge<CaptureReport>> {
    Some(Knowledge::Known(CaptureReport { iface: "eth0".into(), port: 8080, seconds: 2.0, packets }))
}

fn syn(remote_port: u16) -> SeenPacket {
    SeenPacket { at: 0.1, remote: "198.51.100.2".parse().unwrap(), remote_port, local_port: 8080, answer: None }
}

fn answer(remote_port: u16, a: Answer) -> SeenPacket {
    SeenPacket { answer: Some(a), ..syn(remote_port) }
}

/// A diagnosis of one layer with the given causes and nothing else.
fn layer(causes: Vec<Cause>) -> Diagnosis {
    Diagnosis::new(query(), causes, vec![], vec![], "ok".into())
}

fn layers(probes: Vec<ProbeReport>, capture: Option<Knowledge<CaptureReport>>) -> Layers {
    Layers {
        query: query(),
        control_ports: vec![22],
        probes,
        capture,
        cloud: None,
        host: None,
        targets: vec![],
        unreached: vec![],
        notes: vec![],
    }
}

fn codes(d: &Diagnosis) -> Vec<&'static str> {
    d.causes.iter().map(|c| c.code.as_str()).collect()
}

#[test]
fn filtered_nothing_at_nic_cloud_admits_is_upstream_and_confirms_a_possible_abuse_block() {
    let mut l = layers(vec![probes("here", ProbeOutcome::Filtered, ProbeOutcome::Open)], capture(vec![syn(50000)]));
    let abuse = Cause::blocking(CauseCode::AbuseBlock, "i-1", Confidence::Possible, "may be blocked");
    l.cloud = Some(layer(vec![abuse]));
    let d = join(l);
    assert_eq!(d.status, Status::Blocked);
    // The confirmed fact first, its likely explanation next, named in the summary.
    assert_eq!(codes(&d), ["UPSTREAM_FILTERED", "ABUSE_BLOCK"]);
    assert_eq!(d.causes[1].confidence, Confidence::Likely, "the wire raises a possible abuse block");
    let up = &d.causes[0];
    assert_eq!(up.confidence, Confidence::Confirmed);
    assert!(d.summary.contains("abuse block"), "{}", d.summary);
    assert!(up.evidence.iter().any(|e| e.contains("port 22 answers")), "{:?}", up.evidence);
    assert!(up.evidence.iter().any(|e| e.contains("other SYN")), "a stranger's SYN is not ours: {:?}", up.evidence);
    assert!(up.fix.iter().any(|f| f.contains("Elastic IP")));
    let cap = d.checks.iter().find(|c| c.id == "path.capture").unwrap();
    assert!(cap.summary.starts_with("None of your 2 SYNs reached eth0"), "{}", cap.summary);
    let nic = d.path.iter().find(|h| h.hop == "nic").unwrap();
    assert_eq!(nic.status, CheckStatus::Fail, "the capture is the NIC's witness");
}

#[test]
fn filtered_nothing_at_nic_and_the_cloud_blocks_confirms_the_cloud_cause() {
    let mut l = layers(vec![probes("here", ProbeOutcome::Filtered, ProbeOutcome::Open)], capture(vec![]));
    l.cloud =
        Some(layer(vec![Cause::blocking(CauseCode::SecurityGroupNoIngress, "sg-1", Confidence::Confirmed, "sg")]));
    let d = join(l);
    assert_eq!(codes(&d), ["SECURITY_GROUP_NO_INGRESS"]);
    assert!(d.causes[0].evidence.iter().any(|e| e.contains("the wire agrees")));
}

#[test]
fn syn_arrives_and_nothing_leaves_is_the_host_layers_cause() {
    let mut l =
        layers(vec![probes("here", ProbeOutcome::Filtered, ProbeOutcome::Open)], capture(vec![syn(40001), syn(40002)]));
    l.host = Some(layer(vec![Cause::blocking(CauseCode::HostFirewallDrop, "INPUT", Confidence::Confirmed, "drop")]));
    let d = join(l.clone());
    assert_eq!(codes(&d), ["HOST_FIREWALL_DROP"]);
    assert!(d.causes[0].evidence.iter().any(|e| e.contains("nothing left in answer")));
    // Without a host cause to name, it is a possible drop: inconclusive, not reachable.
    l.host = Some(layer(vec![]));
    let d = join(l);
    assert_eq!(d.status, Status::Inconclusive);
    assert_eq!(d.causes[0].confidence, Confidence::Possible);
}

#[test]
fn syn_ack_left_but_never_arrived_is_lost_on_the_way_back() {
    let l = layers(
        vec![probes("here", ProbeOutcome::Filtered, ProbeOutcome::Open)],
        capture(vec![syn(40001), answer(40001, Answer::SynAck)]),
    );
    let d = join(l);
    assert_eq!(codes(&d), ["UPSTREAM_FILTERED"]);
    assert!(d.causes[0].message.contains("reply"));
}

#[test]
fn refused_without_host_evidence_is_not_listening() {
    let l = layers(
        vec![probes("here", ProbeOutcome::Refused, ProbeOutcome::Open)],
        capture(vec![syn(40001), answer(40001, Answer::Rst)]),
    );
    let d = join(l);
    assert_eq!(codes(&d), ["NOT_LISTENING"]);
    assert_eq!(d.causes[0].confidence, Confidence::Confirmed, "the RST was seen leaving the NIC");
    let mut l = layers(vec![probes("here", ProbeOutcome::Refused, ProbeOutcome::Open)], None);
    l.host =
        Some(layer(vec![Cause::blocking(CauseCode::HostFirewallReject, "INPUT", Confidence::Confirmed, "reject")]));
    let d = join(l);
    assert_eq!(codes(&d), ["HOST_FIREWALL_REJECT"]);
    assert!(d.causes[0].evidence.iter().any(|e| e.contains("refused (RST)")));
}

#[test]
fn open_elsewhere_but_not_here_is_the_carrier() {
    let l = layers(
        vec![
            probes(
                "here",
                ProbeOutcome::Unreachable { kind: IcmpKind::AdminProhibited, from: None },
                ProbeOutcome::Open,
            ),
            probes("ssh-host", ProbeOutcome::Open, ProbeOutcome::Open),
        ],
        None,
    );
    let d = join(l);
    assert_eq!(codes(&d), ["CARRIER_BLOCK"]);
    assert_eq!(d.path[1].hop, "carrier");
}

#[test]
fn undecidable_says_which_step_would_decide() {
    let d = join(layers(vec![probes("here", ProbeOutcome::Filtered, ProbeOutcome::Open)], None));
    assert_eq!(d.status, Status::Inconclusive);
    assert!(d.notes.iter().any(|n| n.contains("--ssh")));
    assert!(d.notes.iter().any(|n| n.contains("Elastic IP")));
    let unavailable = Some(Knowledge::Unavailable(Missing::new("capture", "no CAP_NET_RAW", "sudo")));
    let d = join(layers(vec![probes("here", ProbeOutcome::Filtered, ProbeOutcome::Open)], unavailable));
    assert_eq!(d.status, Status::Inconclusive);
    assert_eq!(d.checks.iter().find(|c| c.id == "path.capture").unwrap().status, CheckStatus::Unknown);
}

#[test]
fn open_from_here_with_nothing_against_is_reachable() {
    let d = join(layers(
        vec![probes("here", ProbeOutcome::Open, ProbeOutcome::Open)],
        capture(vec![syn(40001), answer(40001, Answer::SynAck)]),
    ));
    assert_eq!(d.status, Status::Reachable, "{:#?}", d.checks);
    assert!(d.summary.contains("answers from here"));
}

/// A name with two addresses, one answering and one not: the verdict says which; a stale
/// record explains the failing one and gains the wire's word.
#[test]
fn every_address_of_a_name_is_judged_by_its_probe() {
    let stale: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let other = ProbeReport { target: stale, ..probes("here", ProbeOutcome::Filtered, ProbeOutcome::Filtered) };
    let l = layers(vec![probes("here", ProbeOutcome::Open, ProbeOutcome::Open), other.clone()], None);
    let d = join(l);
    assert_eq!(d.status, Status::Inconclusive, "nothing explains the silent address");
    let ids: Vec<&str> = d.checks.iter().filter(|c| c.id.starts_with("path.probe")).map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["path.probe", "path.probe.2"]);
    let apart = d.checks.iter().find(|c| c.id == "path.addresses").unwrap();
    assert_eq!(apart.summary, "tcp/8080 answers at 203.0.113.10 but not at 198.51.100.7 (filtered)");

    let mut l = layers(vec![probes("here", ProbeOutcome::Open, ProbeOutcome::Open), other], None);
    let dns = Cause::blocking(CauseCode::DnsStale, "web.example.com", Confidence::Confirmed, "stale");
    l.cloud = Some(layer(vec![dns]));
    let d = join(l);
    assert_eq!(codes(&d), ["DNS_STALE"]);
    assert!(d.causes[0].evidence.contains(&"probe to 198.51.100.7 from here: filtered".to_string()));
    assert_eq!(d.checks.iter().find(|c| c.id == "path.addresses").unwrap().status, CheckStatus::Fail);
}

/// Found end to end (tests/lb_e2e_netns.rs): the host layer read one target of a balancer
/// whose other target is healthy. Its firewall drop is that target's share, not the service's:
/// the balancer sends the clients elsewhere. With no other healthy target it blocks.
#[test]
fn one_targets_host_fault_behind_a_balancer_that_has_others_is_its_share() {
    let host_layer = |others_healthy| {
        let mut l = layers(vec![probes("here", ProbeOutcome::Open, ProbeOutcome::Refused)], None);
        let behind = BehindBalancer {
            target: "i-1".into(),
            ip: None,
            flow: ArrivalFlow { port: 8080, from: "10.20.0.0/16".parse().unwrap(), others_healthy, targets: 2 },
            health_check: None,
            reason: None,
            healthy: false,
        };
        let mut cloud = layer(vec![]);
        cloud.behind = vec![behind.clone()];
        l.cloud = Some(cloud);
        let drop = Cause::blocking(CauseCode::HostFirewallDrop, "INPUT", Confidence::Confirmed, "drops tcp/8080");
        let mut host = layer(vec![drop]);
        host.checks.push(Check::new(
            "host.firewall",
            Layer::Host,
            CheckKind::Path,
            CheckStatus::Fail,
            "drops tcp/8080",
        ));
        host.path.push(Hop::new(HostHop::HostFirewall.as_str(), "INPUT", CheckStatus::Fail, "drop"));
        l.targets = vec![TargetHost { behind, host: Ok(host), health: None }];
        join(l)
    };
    let d = host_layer(1);
    assert_eq!(d.status, Status::Reachable, "{:?}", d.causes);
    assert!(d.causes.is_empty());
    let fw = d.checks.iter().find(|c| c.id == "host.firewall").unwrap();
    assert_eq!(fw.status, CheckStatus::Warn);
    assert!(
        fw.summary.ends_with("1 of 2 targets, 50%: the load balancer sends to the 1 other healthy one(s)]"),
        "{}",
        fw.summary
    );
    assert_eq!(d.path.iter().find(|h| h.hop == "host-firewall").unwrap().status, CheckStatus::Warn);
    let d = host_layer(0);
    assert_eq!((d.status, codes(&d)), (Status::Blocked, vec!["HOST_FIREWALL_DROP"]));
}

// ---- behind a load balancer: the target's host joined with its health (behind.rs) ----

mod behind_balancer {
    use super::*;
    use portdoctor_model::elb::TargetHealthReason;

    const TARGET: &str = "i-0app1a2b3c4d5e6f70";

    fn nodes() -> Source {
        "10.20.0.0/16".parse().unwrap()
    }

    /// The cloud layer through a balancer: the target fails its checks with `reason` on
    /// `hc_port`, and nothing in the cloud configuration explains it (a blocking, likely cause).
    fn cloud(reason: TargetHealthReason, hc_port: u16) -> Diagnosis {
        let unhealthy = Cause::blocking(
            CauseCode::TargetUnhealthy,
            TARGET,
            Confidence::Likely,
            format!("{TARGET}:8080 is unhealthy ({})", reason.as_str()),
        );
        let mut d = layer(vec![unhealthy]);
        d.behind = vec![BehindBalancer {
            target: TARGET.into(),
            ip: None,
            flow: ArrivalFlow { port: 8080, from: nodes(), others_healthy: 0, targets: 1 },
            health_check: Some((hc_port, nodes())),
            reason: Some(reason),
            healthy: false,
        }];
        d
    }

    fn host_cause(code: CauseCode, component: &str) -> Cause {
        Cause::blocking(code, component, Confidence::Confirmed, format!("{code} on {component}"))
    }

    fn joined(cloud: Diagnosis, host: Diagnosis, health: Option<Diagnosis>) -> Diagnosis {
        let behind = cloud.behind[0].clone();
        let targets = vec![TargetHost { behind, host: Ok(host), health }];
        join(Layers { cloud: Some(cloud), targets, ..layers(vec![], None) })
    }

    fn unhealthy(d: &Diagnosis) -> &Cause {
        d.causes.iter().find(|c| c.code == CauseCode::TargetUnhealthy).unwrap()
    }

    #[test]
    fn a_timeout_is_explained_by_the_hosts_silent_drop() {
        let host = layer(vec![host_cause(CauseCode::HostFirewallDrop, "filter/INPUT rule 1")]);
        let d = joined(cloud(TargetHealthReason::Timeout, 8080), host, None);
        assert_eq!(d.status, Status::Blocked);
        assert_eq!(codes(&d), ["HOST_FIREWALL_DROP", "TARGET_UNHEALTHY"]);
        let u = unhealthy(&d);
        assert!(!u.blocking && u.confidence == Confidence::Confirmed);
        assert!(u.evidence.iter().any(|e| e.starts_with("explained by HOST_FIREWALL_DROP")), "{:?}", u.evidence);
        assert!(!u.evidence.iter().any(|e| e.contains("disagree")));
        assert!(d.causes[0].evidence.iter().any(|e| e.contains("TARGET_UNHEALTHY")));
    }

    #[test]
    fn a_timeout_with_a_refusing_host_says_they_disagree() {
        let host = layer(vec![host_cause(CauseCode::NotListening, "tcp/8080")]);
        let d = joined(cloud(TargetHealthReason::Timeout, 8080), host, None);
        assert_eq!(codes(&d)[0], "NOT_LISTENING");
        assert!(unhealthy(&d).evidence.iter().any(|e| e.starts_with("AWS's reason and the host disagree")));
    }

    #[test]
    fn failed_checks_on_another_port_are_explained_by_nothing_listening_there() {
        // The traffic port is fine on the host; the health-check port 8081 has no listener.
        let traffic = layer(vec![]);
        let mut health = layer(vec![host_cause(CauseCode::NotListening, "tcp/8081")]);
        health.checks = vec![Check::new("host.listener", Layer::Host, CheckKind::Path, CheckStatus::Fail, "nothing")];
        let d = joined(cloud(TargetHealthReason::FailedHealthChecks, 8081), traffic, Some(health));
        assert_eq!(d.status, Status::Blocked);
        assert_eq!(codes(&d), ["NOT_LISTENING", "TARGET_UNHEALTHY"]);
        assert!(d.causes[0].blocking);
        let u = unhealthy(&d);
        assert!(u.evidence.iter().any(|e| e.starts_with("explained by NOT_LISTENING")));
        assert!(!u.evidence.iter().any(|e| e.contains("disagree")));
        let c = d.checks.iter().find(|c| c.id == "host.listener.health-check").unwrap();
        assert!(c.summary.starts_with("health-check port 8081: "));
    }

    #[test]
    fn a_host_that_admits_everything_does_not_explain_a_timeout() {
        let d = joined(cloud(TargetHealthReason::Timeout, 8080), layer(vec![]), None);
        let u = unhealthy(&d);
        assert!(u.blocking, "the health cause still decides");
        assert!(u.evidence.iter().any(|e| e.contains("does not explain Target.Timeout")), "{:?}", u.evidence);
    }

    #[test]
    fn another_reason_is_not_the_hosts_to_explain() {
        let host = layer(vec![host_cause(CauseCode::HostFirewallDrop, "filter/INPUT rule 1")]);
        let d = joined(cloud(TargetHealthReason::ResponseCodeMismatch, 8080), host, None);
        assert!(unhealthy(&d).blocking && unhealthy(&d).evidence.is_empty());
    }

    /// Two targets of one group, each with its own host: `drops` says which host drops the
    /// balancer's nodes (its health then says Target.Timeout, the other's healthy).
    fn two_targets(drops: [bool; 2], second_read: bool) -> Diagnosis {
        let ids = ["i-1", "i-2"];
        let behind = |n: usize| BehindBalancer {
            target: ids[n].into(),
            ip: None,
            flow: ArrivalFlow { port: 8080, from: nodes(), others_healthy: usize::from(!drops[1 - n]), targets: 2 },
            health_check: Some((8080, nodes())),
            reason: drops[n].then_some(TargetHealthReason::Timeout),
            healthy: !drops[n],
        };
        let host = |drop: bool| {
            let mut h =
                layer(if drop { vec![host_cause(CauseCode::HostFirewallDrop, "filter/INPUT rule 1")] } else { vec![] });
            let status = if drop { CheckStatus::Fail } else { CheckStatus::Pass };
            h.checks.push(Check::new("host.firewall", Layer::Host, CheckKind::Path, status, "tcp/8080"));
            h.path.push(Hop::new(HostHop::HostFirewall.as_str(), "iptables", status, "tcp/8080"));
            h
        };
        // The cloud layer: a target's health decides only when no other target serves.
        let unhealthy = |n: usize| {
            Cause::blocking(CauseCode::TargetUnhealthy, ids[n], Confidence::Likely, format!("{} is unhealthy", ids[n]))
        };
        let mut cloud = layer(if drops == [true, true] { vec![unhealthy(0), unhealthy(1)] } else { vec![] });
        cloud.behind = vec![behind(0), behind(1)];
        let missing = Missing::new("the host over SSH (app-2)", "Connection refused", "check that sshd runs");
        let second = if second_read { Ok(host(drops[1])) } else { Err(missing) };
        let targets = vec![
            TargetHost { behind: behind(0), host: Ok(host(drops[0])), health: None },
            TargetHost { behind: behind(1), host: second, health: None },
        ];
        join(Layers { cloud: Some(cloud), targets, ..layers(vec![], None) })
    }

    fn check<'a>(d: &'a Diagnosis, id: &str) -> &'a Check {
        d.checks.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no {id}: {:?}", d.checks))
    }

    #[test]
    fn each_targets_host_is_judged_and_named_and_one_fault_is_its_share() {
        let d = two_targets([true, false], true);
        assert_eq!(d.status, Status::Reachable, "{:?}", d.causes);
        // Ids name the target; each target's hops name it.
        let fw = check(&d, "host.firewall.i-1");
        assert_eq!(fw.status, CheckStatus::Warn);
        assert!(fw.summary.contains("1 of 2 targets, 50%"), "{}", fw.summary);
        // Joined by type with its health: the target's reason, which this fault explains.
        assert!(fw.evidence.iter().any(|e| e.starts_with("this is why i-1 fails its health checks (Target.Timeout)")));
        assert_eq!(check(&d, "host.firewall.i-2").status, CheckStatus::Pass);
        assert!(!d.checks.iter().any(|c| c.id == "host.firewall"));
        let hops: Vec<&str> =
            d.path.iter().filter(|h| h.hop == "host-firewall").map(|h| h.component.as_str()).collect();
        assert_eq!(hops, ["i-1 iptables", "i-2 iptables"]);
        // And say so in their own field, which the text's path line reads.
        let on: Vec<Option<&str>> =
            d.path.iter().filter(|h| h.hop == "host-firewall").map(|h| h.target.as_deref()).collect();
        assert_eq!(on, [Some("i-1"), Some("i-2")]);
    }

    #[test]
    fn both_targets_drop_each_explains_its_own_health() {
        let d = two_targets([true, true], true);
        assert_eq!(d.status, Status::Blocked);
        assert_eq!(codes(&d), ["HOST_FIREWALL_DROP", "HOST_FIREWALL_DROP", "TARGET_UNHEALTHY", "TARGET_UNHEALTHY"]);
        for id in ["i-1", "i-2"] {
            let u = d.causes.iter().find(|c| c.code == CauseCode::TargetUnhealthy && c.component == id).unwrap();
            assert!(!u.blocking && u.evidence.iter().any(|e| e.starts_with("explained by HOST_FIREWALL_DROP")));
        }
    }

    #[test]
    fn a_target_that_cannot_be_reached_is_unknown_and_the_others_go_on() {
        // The reached target serves: the unreached one decides nothing.
        let d = two_targets([false, false], false);
        let reach = check(&d, "host.reach.i-2");
        assert_eq!((reach.status, reach.kind), (CheckStatus::Unknown, CheckKind::Context));
        assert!(reach.summary.contains("i-2") && reach.evidence[0].contains("Connection refused"));
        assert_eq!(check(&d, "host.firewall.i-1").status, CheckStatus::Pass);
        assert_eq!(d.status, Status::Reachable);
        // Unhealthy with no other target healthy: what its host holds decides.
        let d = two_targets([true, true], false);
        assert_eq!(check(&d, "host.reach.i-2").kind, CheckKind::Path);
    }

    #[test]
    fn a_blocked_health_check_leg_is_joined_with_the_hosts_drop() {
        let mut c = cloud(TargetHealthReason::Timeout, 8080);
        c.causes.push(Cause::blocking(
            CauseCode::HealthCheckBlocked,
            "acl-0app",
            Confidence::Confirmed,
            "the ACL drops the checks",
        ));
        let host = layer(vec![host_cause(CauseCode::HostFirewallDrop, "filter/INPUT rule 1")]);
        let d = joined(c, host, None);
        let blocked = d.causes.iter().find(|c| c.code == CauseCode::HealthCheckBlocked).unwrap();
        assert!(
            blocked
                .evidence
                .iter()
                .any(|e| e.contains("host also stops the health checks on port 8080: HOST_FIREWALL_DROP")),
            "{:?}",
            blocked.evidence
        );
        let drop = d.causes.iter().find(|c| c.code == CauseCode::HostFirewallDrop).unwrap();
        assert!(drop.evidence.iter().any(|e| e.contains("HEALTH_CHECK_BLOCKED (acl-0app)")), "{:?}", drop.evidence);
    }
}

#[test]
fn refused_while_the_host_shows_a_listener_asks_whether_it_is_the_same_machine() {
    let mut l = layers(vec![probes("here", ProbeOutcome::Refused, ProbeOutcome::Open)], None);
    l.host = Some(layer(vec![]));
    let d = join(l);
    assert_eq!(codes(&d), Vec::<&str>::new());
    let v = d.checks.iter().find(|c| c.id == "path.verdict").unwrap();
    assert_eq!(
        (v.status, v.summary.as_str(), v.evidence.as_slice()),
        (
            CheckStatus::Unknown,
            "the probe from here was refused (RST) on port 8080, yet the host evidence shows a listener and no reject rule",
            ["is the target the instance the host evidence came from? (a moved Elastic IP, a load balancer in front)"
                .to_string()]
            .as_slice()
        )
    );
}

#[test]
fn a_dual_stack_path_gives_each_familys_hops_in_turn_and_the_rest_where_they_stand() {
    use portdoctor_model::net::Family;
    let hop = |name: &str, family: Option<Family>| Hop { family, ..Hop::new(name, "-", CheckStatus::Pass, "") };
    let mut cloud = layer(vec![]);
    cloud.path = vec![
        hop("internet", None),
        hop("v6-edge", Some(Family::V6)),
        hop("v4-edge", Some(Family::V4)),
        hop("plain", None),
        hop("v6-target", Some(Family::V6)),
    ];
    let mut l = layers(vec![probes("here", ProbeOutcome::Open, ProbeOutcome::Open)], None);
    l.cloud = Some(cloud);
    let d = join(l);
    let hops: Vec<&str> = d.path.iter().map(|h| h.hop.as_str()).collect();
    // A hop of no family sorts as IPv4 (stable: in its place among them).
    assert_eq!(hops, ["internet", "v4-edge", "plain", "v6-edge", "v6-target"]);
}
