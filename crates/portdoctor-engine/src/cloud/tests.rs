//! The walk on small accounts written as AWS CLI JSON, one change per case from a healthy base.

use super::*;
use portdoctor_model::Status;
use serde_json::{Value, json};

/// A healthy account: i-1 in a public subnet, SG open on tcp/80, default ACL allowing all.
pub(super) fn base() -> Value {
    json!({
        "Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": "running"}, "VpcId": "vpc-1", "SubnetId": "subnet-1", "PrivateIpAddress": "10.0.1.10", "PublicIpAddress": "203.0.113.10"}]}],
        "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1", "SubnetId": "subnet-1", "Status": "in-use",
            "Attachment": {"InstanceId": "i-1", "DeviceIndex": 0},
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.10", "Primary": true, "Association": {"PublicIp": "203.0.113.10", "IpOwnerId": "amazon"}}],
            "Ipv6Addresses": [{"Ipv6Address": "2001:db8:2::10"}],
            "Groups": [{"GroupId": "sg-web"}]}],
        "SecurityGroups": [{"GroupId": "sg-web", "GroupName": "web", "VpcId": "vpc-1", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "UserIdGroupPairs": []}]}],
        "NetworkAcls": [{"NetworkAclId": "acl-1", "VpcId": "vpc-1", "IsDefault": true, "Associations": [{"SubnetId": "subnet-1"}], "Entries": [
            {"RuleNumber": 100, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
            {"RuleNumber": 101, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "Ipv6CidrBlock": "::/0"},
            {"RuleNumber": 100, "Egress": true, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
            {"RuleNumber": 101, "Egress": true, "Protocol": "-1", "RuleAction": "allow", "Ipv6CidrBlock": "::/0"}]}],
        "RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [{"Main": true}], "Routes": [
            {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
            {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"},
            {"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1", "State": "active"}]}],
        "InternetGateways": [{"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": "vpc-1", "State": "available"}]}],
        "EgressOnlyInternetGateways": [],
        "Addresses": [],
        "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}],
        "Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}],
        "PrefixLists": [{"PrefixListId": "pl-office", "Cidrs": ["198.51.100.0/24"]}],
        "VpcBlockPublicAccessOptions": {"InternetGatewayBlockMode": "off"}
    })
}

fn run(account: &Value, target: &str, port: u16, from: &str) -> Diagnosis {
    run_with(account, target, port, from, PortRange { from: 1024, to: 65535 })
}

fn run_with(account: &Value, target: &str, port: u16, from: &str, client_ports: PortRange) -> Diagnosis {
    let docs = vec![("account.json".to_string(), account.to_string())];
    let ev = portdoctor_parse::aws::parse_aws(&docs).unwrap();
    let target = match (target.starts_with("i-"), target.parse()) {
        (true, _) => CloudTarget::Instance(target.into()),
        (false, Ok(ip)) => CloudTarget::PublicIp(ip),
        (false, Err(_)) => CloudTarget::LoadBalancer(target.into()),
    };
    let q = CloudQuery {
        port,
        proto: Proto::Tcp,
        from: from.parse().unwrap(),
        target,
        client_ports,
        changes: Default::default(),
        family: None,
        name: None,
    };
    diagnose_cloud(&ev, &q)
}

fn codes(d: &Diagnosis) -> Vec<&'static str> {
    d.causes.iter().map(|c| c.code.as_str()).collect()
}

#[test]
fn healthy_base_is_reachable_by_ip_and_instance_and_ipv6() {
    let d = run(&base(), "203.0.113.10", 80, "internet");
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    let igw = d.path.iter().find(|h| h.hop == "internet-gateway").unwrap();
    assert!(igw.detail.contains("203.0.113.10 -> 10.0.1.10 at the internet gateway"));
    assert_eq!(run(&base(), "i-1", 80, "internet").status, Status::Reachable);
    let d = run(&base(), "2001:db8:2::10", 80, "internet");
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    assert_eq!(run(&base(), "2001:db8:2::10", 80, "2600::1").status, Status::Reachable);
}

#[test]
fn acl_rules_are_ordered_by_number_not_by_listing() {
    let mut a = base();
    a["NetworkAcls"][0]["Entries"].as_array_mut().unwrap().push(json!(
        {"RuleNumber": 90, "Egress": false, "Protocol": "6", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 8000, "To": 9000}}));
    assert_eq!(run(&a, "203.0.113.10", 80, "internet").status, Status::Reachable);
    a["SecurityGroups"][0]["IpPermissions"][0]["FromPort"] = json!(8080);
    a["SecurityGroups"][0]["IpPermissions"][0]["ToPort"] = json!(8080);
    let d = run(&a, "203.0.113.10", 8080, "internet");
    assert_eq!(codes(&d), ["NACL_INBOUND_DENY"]);
    assert!(
        d.causes[0].evidence.iter().any(|e| e.contains("rule 90 deny tcp 8000-9000 from 0.0.0.0/0")),
        "{:?}",
        d.causes[0].evidence
    );
    assert!(d.causes[0].fix[0].contains("--rule-number 89"), "{:?}", d.causes[0].fix);
}

#[test]
fn the_implicit_deny_applies_even_when_not_listed() {
    // moto lists no default deny entries for a new ACL; AWS always has them.
    let mut a = base();
    a["NetworkAcls"][0]["Entries"] = json!([
        {"RuleNumber": 100, "Egress": false, "Protocol": "tcp", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 22, "To": 22}},
        {"RuleNumber": 100, "Egress": true, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}]);
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(codes(&d), ["NACL_INBOUND_DENY"]);
    assert!(d.causes[0].evidence.iter().any(|e| e.contains("implicit deny")));
}

#[test]
fn replies_need_every_ephemeral_port() {
    let mut a = base();
    a["NetworkAcls"][0]["Entries"][2] = json!(
        {"RuleNumber": 100, "Egress": true, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 32768, "To": 65535}});
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(codes(&d), ["NACL_OUTBOUND_DENY"]);
    assert!(d.causes[0].message.contains("client ports 1024-32767"), "{}", d.causes[0].message);
    assert!(d.causes[0].fix[0].contains("--egress") && d.causes[0].fix[0].contains("From=1024,To=65535"));
    // A Linux client's range (32768-60999) is covered.
    let d = run_with(&a, "203.0.113.10", 80, "internet", PortRange { from: 32768, to: 60999 });
    assert_eq!(d.status, Status::Reachable);
}

#[test]
fn an_allow_list_is_not_the_internet() {
    let mut a = base();
    a["SecurityGroups"][0]["IpPermissions"][0]["IpRanges"] = json!([{"CidrIp": "203.0.113.0/24"}]);
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(codes(&d), ["SECURITY_GROUP_NO_INGRESS"]);
    assert!(d.causes[0].message.contains("only from 203.0.113.0/24"), "{}", d.causes[0].message);
    // ...but that office is admitted.
    assert_eq!(run(&a, "203.0.113.10", 80, "203.0.113.77").status, Status::Reachable);
}

#[test]
fn a_group_reference_never_admits_the_internet() {
    let mut a = base();
    a["SecurityGroups"][0]["IpPermissions"][0] =
        json!({"IpProtocol": "-1", "IpRanges": [], "UserIdGroupPairs": [{"GroupId": "sg-web"}]});
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(codes(&d), ["SECURITY_GROUP_NO_INGRESS"]);
    assert!(d.causes[0].evidence.iter().any(|e| e.contains("never an internet source")));
}

#[test]
fn prefix_lists_resolve_or_are_unknown() {
    let mut a = base();
    a["SecurityGroups"][0]["IpPermissions"][0] = json!({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [], "PrefixListIds": [{"PrefixListId": "pl-office"}], "UserIdGroupPairs": []});
    assert_eq!(run(&a, "203.0.113.10", 80, "198.51.100.9").status, Status::Reachable);
    assert_eq!(codes(&run(&a, "203.0.113.10", 80, "192.0.2.9")), ["SECURITY_GROUP_NO_INGRESS"]);
    a["SecurityGroups"][0]["IpPermissions"][0]["PrefixListIds"] = json!([{"PrefixListId": "pl-missing"}]);
    let d = run(&a, "203.0.113.10", 80, "192.0.2.9");
    assert_eq!(d.status, Status::Inconclusive, "never a guessed pass or fail: {d:#?}");
}

#[test]
fn routes_by_longest_prefix_blackhole_and_partial() {
    let mut a = base();
    a["RouteTables"][0]["Routes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"DestinationCidrBlock": "198.51.100.0/24", "VpcPeeringConnectionId": "pcx-1", "State": "active"}));
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(codes(&d), ["ROUTE_TO_IGW_MISSING"]);
    assert!(d.causes[0].message.contains("198.51.100.0/24 go to pcx-1"), "{}", d.causes[0].message);
    assert_eq!(run(&a, "203.0.113.10", 80, "192.0.2.1").status, Status::Reachable);
    a["RouteTables"][0]["Routes"][1]["State"] = json!("blackhole");
    let d = run(&a, "203.0.113.10", 80, "192.0.2.1");
    assert_eq!(codes(&d), ["ROUTE_BLACKHOLE"]);
    a["RouteTables"][0]["Routes"].as_array_mut().unwrap().remove(1);
    assert_eq!(codes(&run(&a, "203.0.113.10", 80, "192.0.2.1")), ["ROUTE_TO_IGW_MISSING"]);
}

#[test]
fn gateway_missing_or_egress_only() {
    let mut a = base();
    a["InternetGateways"] = json!([]);
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(d.causes[0].code.as_str(), "IGW_MISSING");
    a["EgressOnlyInternetGateways"] =
        json!([{"EgressOnlyInternetGatewayId": "eigw-1", "Attachments": [{"VpcId": "vpc-1", "State": "attached"}]}]);
    let d = run(&a, "2001:db8:2::10", 80, "2600::1");
    assert_eq!(d.causes[0].code.as_str(), "IGW_EGRESS_ONLY");
}

#[test]
fn ipv6_security_group_fix_uses_ipv6_ranges() {
    let mut a = base();
    a["SecurityGroups"][0]["IpPermissions"] = json!([]);
    let d = run(&a, "2001:db8:2::10", 8080, "internet");
    assert_eq!(codes(&d), ["SECURITY_GROUP_NO_INGRESS"]);
    assert!(
        d.causes[0].fix[0]
            .to_string()
            .ends_with("--ip-permissions 'IpProtocol=tcp,FromPort=8080,ToPort=8080,Ipv6Ranges=[{CidrIpv6=::/0}]'"),
        "{}",
        d.causes[0].fix[0]
    );
}

#[test]
fn instance_state_and_unassociated_addresses() {
    let mut a = base();
    a["Reservations"][0]["Instances"][0]["State"]["Name"] = json!("stopped");
    assert_eq!(codes(&run(&a, "203.0.113.10", 80, "internet")), ["INSTANCE_NOT_RUNNING"]);
    let mut a = base();
    a["Addresses"] = json!([{"PublicIp": "203.0.113.99", "AllocationId": "eipalloc-1"}]);
    let d = run(&a, "203.0.113.99", 80, "internet");
    assert_eq!(codes(&d), ["PUBLIC_IP_NOT_ASSOCIATED"]);
    assert!(d.causes[0].fix[0].contains("eipalloc-1"));
    // An Elastic IP recorded only in Addresses still resolves.
    a["Addresses"][0]["NetworkInterfaceId"] = json!("eni-1");
    a["Addresses"][0]["PrivateIpAddress"] = json!("10.0.1.10");
    assert_eq!(run(&a, "203.0.113.99", 80, "internet").status, Status::Reachable);
    let d = run(&base(), "10.0.1.10", 80, "internet");
    assert_eq!(codes(&d), ["TARGET_ADDRESS_PRIVATE"]);
    assert!(d.causes[0].fix[0].contains("203.0.113.10"));
}

#[test]
fn block_public_access_and_its_exclusions() {
    let mut a = base();
    a["VpcBlockPublicAccessOptions"] = json!({"InternetGatewayBlockMode": "block-ingress", "State": "update-complete"});
    assert_eq!(codes(&run(&a, "203.0.113.10", 80, "internet")), ["VPC_BLOCK_PUBLIC_ACCESS"]);
    a["VpcBlockPublicAccessExclusions"] = json!([{"ResourceArn": "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-1", "InternetGatewayExclusionMode": "allow-bidirectional", "State": "create-complete"}]);
    assert_eq!(run(&a, "203.0.113.10", 80, "internet").status, Status::Reachable);
}

#[test]
fn every_blocker_is_reported_in_packet_order() {
    let mut a = base();
    a["SecurityGroups"][0]["IpPermissions"] = json!([]);
    a["NetworkAcls"][0]["Entries"][0]["RuleAction"] = json!("deny");
    a["Reservations"][0]["Instances"][0]["State"]["Name"] = json!("stopped");
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(codes(&d), ["NACL_INBOUND_DENY", "SECURITY_GROUP_NO_INGRESS", "INSTANCE_NOT_RUNNING"]);
}

#[test]
fn a_missing_ec2_file_makes_its_check_unknown() {
    let mut a = base();
    a.as_object_mut().unwrap().remove("NetworkAcls");
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(d.status, Status::Inconclusive);
    let c = d.checks.iter().find(|c| c.id == "cloud.nacl.inbound").unwrap();
    assert!(c.evidence[0].contains("describe-network-acls"), "{c:?}");
}

#[test]
fn acl_fix_names_a_single_client_as_a_cidr() {
    let mut a = base();
    a["NetworkAcls"][0]["Entries"][0]["RuleAction"] = json!("deny");
    let d = run(&a, "203.0.113.10", 80, "198.51.100.7");
    assert_eq!(codes(&d), ["NACL_INBOUND_DENY"]);
    assert!(d.causes[0].fix[0].contains("--cidr-block 198.51.100.7/32 --rule-action allow"), "{}", d.causes[0].fix[0]);
}

#[test]
fn the_arrival_on_the_instance_is_the_interfaces_private_address() {
    // What `diagnose` hands the host layer, so it does not guess where the flow arrives.
    let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
    assert_eq!(run(&base(), "203.0.113.10", 80, "internet").arrival, ip("10.0.1.10"));
    assert_eq!(run(&base(), "i-1", 80, "internet").arrival, ip("10.0.1.10"));
    assert_eq!(run(&base(), "2001:db8:2::10", 80, "internet").arrival, ip("2001:db8:2::10"));
    // Blocked on the way still says where it would arrive; an address nobody holds does not.
    let mut closed = base();
    closed["SecurityGroups"][0]["IpPermissions"] = json!([]);
    assert_eq!(run(&closed, "203.0.113.10", 80, "internet").arrival, ip("10.0.1.10"));
    assert_eq!(run(&base(), "203.0.113.99", 80, "internet").arrival, None);
}

/// A listing that failed is never read as an empty one: no "not found" finding comes from it.
#[test]
fn a_failed_listing_is_unknown_never_not_found() {
    let failed = |key: &str, action: &str| json!({"Key": key, "Action": action, "Outcome": "no-credentials", "Message": "no credentials found in chain"});
    // The address is on no interface, and the Elastic IPs could not be listed.
    let mut a = base();
    a.as_object_mut().unwrap().remove("Addresses");
    a["PortdoctorCalls"] = json!([failed("Addresses", "ec2:DescribeAddresses")]);
    let d = run(&a, "203.0.113.99", 80, "internet");
    assert_eq!((d.status, codes(&d)), (Status::Inconclusive, vec![]), "{d:#?}");
    let c = d.checks.iter().find(|c| c.id == "cloud.target").unwrap();
    assert_eq!(c.status, CheckStatus::Unknown);
    assert!(c.evidence[0].contains("configure AWS credentials"), "{c:?}");
    // With the addresses listed (and empty), the same evidence is a confirmed finding.
    assert_eq!(codes(&run(&base(), "203.0.113.99", 80, "internet")), ["PUBLIC_IP_NOT_ASSOCIATED"]);
    // The gateways could not be listed: a route to igw-1 is not a blackhole.
    let mut a = base();
    a.as_object_mut().unwrap().remove("InternetGateways");
    a["PortdoctorCalls"] = json!([failed("InternetGateways", "ec2:DescribeInternetGateways")]);
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert!(!codes(&d).contains(&"ROUTE_BLACKHOLE"), "{:?}", codes(&d));
    let c = d.checks.iter().find(|c| c.id == "cloud.route-table").unwrap();
    assert_eq!(c.status, CheckStatus::Unknown, "{c:?}");
    // ... while a route that leaves part of the clients with no route at all still is a finding.
    a["RouteTables"][0]["Routes"].as_array_mut().unwrap().retain(|r| r["DestinationCidrBlock"] != "0.0.0.0/0");
    a["RouteTables"][0]["Routes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"DestinationCidrBlock": "0.0.0.0/1", "GatewayId": "igw-1", "State": "active"}));
    assert!(codes(&run(&a, "203.0.113.10", 80, "internet")).contains(&"ROUTE_TO_IGW_MISSING"));
    // Neither the instance nor the interfaces could be listed: the target is unknown.
    let mut a = base();
    for k in ["Reservations", "NetworkInterfaces"] {
        a.as_object_mut().unwrap().remove(k);
    }
    a["PortdoctorCalls"] = json!([
        failed("Reservations", "ec2:DescribeInstances"),
        failed("NetworkInterfaces", "ec2:DescribeNetworkInterfaces")
    ]);
    for target in ["203.0.113.99", "i-1"] {
        let d = run(&a, target, 80, "internet");
        assert_eq!((d.status, codes(&d)), (Status::Inconclusive, vec![]), "{target}: {d:#?}");
    }
}

/// Issue 14.1: evidence names a route's prefix list by its id, not by a Rust Debug form.
#[test]
fn an_unresolved_route_prefix_list_is_named_by_its_id() {
    let mut a = base();
    a["RouteTables"][0]["Routes"].as_array_mut().unwrap().retain(|r| r["DestinationCidrBlock"] != "0.0.0.0/0");
    a["RouteTables"][0]["Routes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"DestinationPrefixListId": "pl-missing", "GatewayId": "igw-1", "State": "active"}));
    let d = run(&a, "203.0.113.10", 80, "internet");
    assert_eq!(d.status, Status::Inconclusive, "{d:#?}");
    let c = d.checks.iter().find(|c| c.id == "cloud.route-table").unwrap();
    assert_eq!(c.evidence, ["route to pl-missing -> igw-1: prefix list not in the evidence (PrefixLists)"]);
}
