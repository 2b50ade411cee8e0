//! A dual-stack instance judged per family, and the name the user typed compared with the
//! configuration: the fixtures are `tests.rs`'s healthy account (i-1 holds 203.0.113.10 and
//! 2001:db8:2::10), one change per case.

use super::*;
use portdoctor_model::{Cause, Status};
use serde_json::{Value, json};

use super::tests::base;

fn query(target: CloudTarget, family: Option<Family>, name: Option<ResolvedName>) -> CloudQuery {
    CloudQuery {
        port: 80,
        proto: Proto::Tcp,
        from: Source::Internet,
        target,
        client_ports: PortRange { from: 1024, to: 65535 },
        changes: Default::default(),
        family,
        name,
    }
}

fn judge(account: &Value, q: &CloudQuery) -> Diagnosis {
    let docs = vec![("account.json".to_string(), account.to_string())];
    let ev = portdoctor_parse::aws::parse_aws(&docs).unwrap();
    diagnose_cloud(&ev, q)
}

fn instance(account: &Value) -> Diagnosis {
    judge(account, &query(CloudTarget::Instance("i-1".into()), None, None))
}

fn only(d: &Diagnosis) -> &Cause {
    assert_eq!(d.causes.len(), 1, "{:#?}", d.causes);
    &d.causes[0]
}

#[test]
fn a_healthy_dual_stack_instance_is_reachable_in_both_families() {
    let d = instance(&base());
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    assert!(d.summary.starts_with("IPv4: tcp/80 to 203.0.113.10"), "{}", d.summary);
    assert!(d.summary.contains("; IPv6: tcp/80 to 2001:db8:2::10"), "{}", d.summary);
    assert!(d.checks.iter().any(|c| c.id == "cloud.target.ipv6"));
    // The security groups admit both families by one rule: one check says so for both.
    assert_eq!(d.checks.iter().filter(|c| c.id.starts_with("cloud.security-group")).count(), 1);
    assert_eq!(d.arrivals, ["10.0.1.10".parse::<IpAddr>().unwrap(), "2001:db8:2::10".parse().unwrap()]);
    let fams: Vec<Option<Family>> = d.path.iter().map(|h| h.family).collect();
    assert!(fams.contains(&Some(Family::V4)) && fams.contains(&Some(Family::V6)));
}

#[test]
fn the_security_group_admits_ipv4_but_not_ipv6() {
    let mut a = base();
    a["SecurityGroups"][0]["IpPermissions"][0]["Ipv6Ranges"] = json!([]);
    let d = instance(&a);
    assert_eq!(d.status, Status::Blocked);
    let c = only(&d);
    assert_eq!((c.code.as_str(), c.family), ("SECURITY_GROUP_NO_INGRESS", Some(Family::V6)));
    assert!(c.message.starts_with("IPv6: "), "{}", c.message);
    assert!(d.summary.starts_with("IPv4 reachable, IPv6 blocked: No security-group rule"), "{}", d.summary);
    assert!(c.fix[0].contains("Ipv6Ranges=[{CidrIpv6=::/0}]"), "{}", c.fix[0]);
    let sg = |id: &str| d.checks.iter().find(|c| c.id == id).map(|c| c.status);
    assert_eq!(sg("cloud.security-group"), Some(CheckStatus::Pass));
    assert_eq!(sg("cloud.security-group.ipv6"), Some(CheckStatus::Fail));
}

#[test]
fn the_network_acl_denies_ipv6_only() {
    let mut a = base();
    a["NetworkAcls"][0]["Entries"][1]["RuleAction"] = json!("deny");
    let d = instance(&a);
    let c = only(&d);
    assert_eq!((c.code.as_str(), c.family), ("NACL_INBOUND_DENY", Some(Family::V6)));
    assert!(c.fix[0].contains("--ipv6-cidr-block ::/0"), "{}", c.fix[0]);
    assert!(d.summary.starts_with("IPv4 reachable, IPv6 blocked: The network ACL acl-1"), "{}", d.summary);
}

#[test]
fn ipv6_replies_routed_to_an_egress_only_gateway_or_nowhere() {
    let mut a = base();
    a["EgressOnlyInternetGateways"] =
        json!([{"EgressOnlyInternetGatewayId": "eigw-1", "Attachments": [{"VpcId": "vpc-1", "State": "attached"}]}]);
    a["RouteTables"][0]["Routes"][2] =
        json!({"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1", "State": "active"});
    let d = instance(&a);
    let c = only(&d);
    assert_eq!((c.code.as_str(), c.family), ("IGW_EGRESS_ONLY", Some(Family::V6)));
    assert!(c.message.contains("egress-only internet gateway eigw-1"), "{}", c.message);
    assert!(c.fix[0].contains("--destination-cidr-block ::/0 --gateway-id igw-1"), "{}", c.fix[0]);

    a["RouteTables"][0]["Routes"].as_array_mut().unwrap().truncate(2);
    let d = instance(&a);
    let c = only(&d);
    assert_eq!((c.code.as_str(), c.family), ("ROUTE_TO_IGW_MISSING", Some(Family::V6)));
    assert!(d.summary.starts_with("IPv4 reachable, IPv6 blocked:"), "{}", d.summary);
}

#[test]
fn a_cause_of_every_family_is_listed_once_without_one() {
    let mut a = base();
    a["Reservations"][0]["Instances"][0]["State"]["Name"] = json!("stopped");
    let d = instance(&a);
    let c = only(&d);
    assert_eq!((c.code.as_str(), c.family), ("INSTANCE_NOT_RUNNING", None));
    assert_eq!(d.summary, c.message, "both families blocked: the cause's own words");
}

#[test]
fn a_pinned_family_or_a_v4_only_instance_is_the_single_family_report() {
    let pinned = judge(&base(), &query(CloudTarget::Instance("i-1".into()), Some(Family::V4), None));
    let mut v4_only = base();
    v4_only["NetworkInterfaces"][0]["Ipv6Addresses"] = json!([]);
    for d in [pinned, instance(&v4_only)] {
        assert_eq!(d.status, Status::Reachable);
        assert!(d.arrivals.is_empty());
        assert!(d.path.iter().all(|h| h.family.is_none()) && d.checks.iter().all(|c| c.family.is_none()));
        assert!(d.summary.starts_with("tcp/80 to 203.0.113.10 (i-1, 10.0.1.10)"), "{}", d.summary);
    }
    let v6 = judge(&base(), &query(CloudTarget::Instance("i-1".into()), Some(Family::V6), None));
    assert!(v6.summary.starts_with("tcp/80 to 2001:db8:2::10"), "{}", v6.summary);
}

fn named(addresses: &[&str]) -> Option<ResolvedName> {
    Some(ResolvedName {
        name: "web.example.com".into(),
        addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        source: "--resolve".into(),
    })
}

#[test]
fn a_name_that_agrees_with_the_configuration_picks_the_instance_and_its_families() {
    let first: IpAddr = "203.0.113.10".parse().unwrap();
    let d = judge(&base(), &query(CloudTarget::PublicIp(first), None, named(&["203.0.113.10", "2001:db8:2::10"])));
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    let dns = d.checks.iter().find(|c| c.id == "path.dns").unwrap();
    assert_eq!(dns.status, CheckStatus::Pass);
    assert!(dns.summary.contains("held by i-1"), "{}", dns.summary);
    assert_eq!(d.query.instance.as_deref(), Some("i-1"));
    assert_eq!(d.arrivals.len(), 2, "A and AAAA records: both families");
    // Only an A record: its clients use IPv4 only.
    let d = judge(&base(), &query(CloudTarget::PublicIp(first), None, named(&["203.0.113.10"])));
    assert!(d.arrivals.is_empty() && d.path.iter().all(|h| h.family.is_none()));
}

#[test]
fn a_name_pointing_at_an_address_nobody_holds_is_stale() {
    // The instance was stopped and started without an Elastic IP: the record kept the old one.
    let old: IpAddr = "198.51.100.7".parse().unwrap();
    let d = judge(&base(), &query(CloudTarget::Instance("i-1".into()), None, named(&["198.51.100.7"])));
    assert_eq!(d.status, Status::Blocked);
    let c = &d.causes[0];
    assert_eq!((c.code.as_str(), c.layer().as_str(), c.confidence.as_str()), ("DNS_STALE", "path", "confirmed"));
    assert!(c.message.contains("198.51.100.7, which i-1 no longer holds"), "{}", c.message);
    assert!(c.fix[0].contains("Point the A record of web.example.com at 203.0.113.10"), "{}", c.fix[0]);
    assert!(c.fix[0].contains(r#""Value":"203.0.113.10""#), "{}", c.fix[0]);
    assert!(c.fix.iter().any(|f| f.contains("associate-address")), "no Elastic IP: keep the next address");
    // Without an instance id, nobody here holds it: likely stale (it may be another account's).
    let d = judge(&base(), &query(CloudTarget::PublicIp(old), None, named(&["198.51.100.7"])));
    let found: Vec<(&str, &str)> = d.causes.iter().map(|c| (c.code.as_str(), c.confidence.as_str())).collect();
    assert_eq!(found, [("PUBLIC_IP_NOT_ASSOCIATED", "confirmed"), ("DNS_STALE", "likely")]);
    // One address current, one stale: the stale one still fails the clients sent to it.
    let d = judge(&base(), &query(CloudTarget::PublicIp(old), None, named(&["198.51.100.7", "203.0.113.10"])));
    assert_eq!(d.status, Status::Blocked);
    assert_eq!(d.query.instance.as_deref(), Some("i-1"));
    assert!(d.causes[0].message.contains("198.51.100.7"), "{}", d.causes[0].message);
}

#[test]
fn the_configured_addresses_of_a_target() {
    let docs = vec![("account.json".to_string(), base().to_string())];
    let ev = portdoctor_parse::aws::parse_aws(&docs).unwrap();
    let idx = AwsIndex::new(&ev);
    let want: Vec<IpAddr> = vec!["203.0.113.10".parse().unwrap(), "2001:db8:2::10".parse().unwrap()];
    assert_eq!(configured_addresses(&idx, &CloudTarget::Instance("i-1".into())), want);
    assert_eq!(configured_addresses(&idx, &CloudTarget::PublicIp(want[1])), want);
    assert!(configured_addresses(&idx, &CloudTarget::PublicIp("198.51.100.7".parse().unwrap())).is_empty());
}
