//! AWS documents as snapshots hold them: every recorded and example snapshot in the project
//! parses, and a list AWS always prints that decides a verdict is never read as empty when it is
//! absent — the error names the file and the field instead (exit 2, not a confident answer).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use portdoctor_parse::ParseError;
use portdoctor_parse::aws::{EC2_KEYS, parse_aws};
use portdoctor_parse::aws_elb::ELB_KEYS;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// Whether `text` is a document of an AWS snapshot: an object with an EC2 or ELB key.
fn is_aws_document(text: &str) -> bool {
    let keys = EC2_KEYS.iter().chain(ELB_KEYS).map(|(k, _)| *k);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => keys.into_iter().any(|k| m.contains_key(k)),
        _ => false,
    }
}

/// Every folder below `root` holding an AWS document, with all its `.json` files (a snapshot
/// folder is read whole: its platform documents too).
fn snapshots(root: &Path) -> Vec<(PathBuf, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut docs = Vec::new();
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                docs.push((name, fs::read_to_string(&path).unwrap()));
            }
        }
        if docs.iter().any(|(_, text)| is_aws_document(text)) {
            docs.sort();
            out.push((dir, docs));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn assert_all_parse(root: &Path, at_least: usize) {
    assert!(root.is_dir(), "{} is missing (set PORTDOCTOR_SHARED for the shared folder)", root.display());
    let found = snapshots(root);
    assert!(found.len() >= at_least, "{} AWS snapshots below {}", found.len(), root.display());
    for (dir, docs) in found {
        if let Err(e) = parse_aws(&docs) {
            panic!("{}: {e}", dir.display());
        }
    }
}

#[test]
fn batfish_recorded_snapshots_parse() {
    assert_all_parse(&portdoctor_testbed::shared_dir().join("peer-suites/batfish-aws"), 2);
}

#[test]
fn fixture_and_example_snapshots_parse() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // hostile-aws, dual-stack/aws and batfish-elb (Batfish's recorded load-balancer documents).
    assert_all_parse(&workspace.join("crates/portdoctor/tests/fixtures"), 3);
    // seed-incident, lb-host-drop and lb-unhealthy.
    assert_all_parse(&workspace.join("examples"), 3);
}

/// Complete EC2 documents: each required field below is present once.
const EC2: &str = r#"{
  "Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": "running"}, "VpcId": "vpc-1", "SubnetId": "subnet-1", "PrivateIpAddress": "10.0.1.10", "Tags": []}]}],
  "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1", "SubnetId": "subnet-1", "Status": "in-use",
    "Attachment": {"InstanceId": "i-1", "DeviceIndex": 0}, "PrivateIpAddress": "10.0.1.10",
    "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.10", "Primary": true}], "Ipv6Addresses": [], "Groups": [{"GroupId": "sg-1"}]}],
  "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1",
    "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
    "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]}],
  "NetworkAcls": [{"NetworkAclId": "acl-1", "VpcId": "vpc-1", "IsDefault": true, "Associations": [{"SubnetId": "subnet-1"}],
    "Entries": [{"RuleNumber": 100, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}]}],
  "RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [{"Main": true}],
    "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}]}],
  "InternetGateways": [{"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": "vpc-1", "State": "available"}]}],
  "EgressOnlyInternetGateways": [{"EgressOnlyInternetGatewayId": "eigw-1", "Attachments": [{"VpcId": "vpc-1", "State": "attached"}]}],
  "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24", "Ipv6CidrBlockAssociationSet": []}],
  "Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "CidrBlockAssociationSet": [{"CidrBlock": "10.0.0.0/16"}]}],
  "PrefixLists": [{"PrefixListId": "pl-1", "PrefixListName": "com.amazonaws.us-east-1.s3", "Cidrs": ["52.216.0.0/15"]}],
  "VpcBlockPublicAccessOptions": {"InternetGatewayBlockMode": "block-ingress"},
  "VpcBlockPublicAccessExclusions": [{"ResourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", "InternetGatewayExclusionMode": "allow-bidirectional", "State": "create-complete"}]
}"#;

/// Complete load-balancer documents in Batfish's layout.
const ELB: &str = r#"{
  "LoadBalancers": [{"LoadBalancerArn": "arn:lb/app/web/1", "LoadBalancerName": "web", "DNSName": "web-1.elb.amazonaws.com", "Type": "application",
    "Scheme": "internet-facing", "State": {"Code": "active"}, "VpcId": "vpc-1",
    "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": "subnet-1", "LoadBalancerAddresses": []}], "SecurityGroups": ["sg-1"], "IpAddressType": "ipv4"}],
  "LoadBalancerListeners": [{"LoadBalancerArn": "arn:lb/app/web/1", "Listeners": [{"ListenerArn": "arn:l/1", "LoadBalancerArn": "arn:lb/app/web/1", "Port": 80, "Protocol": "HTTP",
    "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg/1", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "arn:tg/1", "Weight": 1}]}}]}]}],
  "ListenerRules": [{"ListenerArn": "arn:l/1", "Rules": [{"RuleArn": "arn:r/1", "Priority": "1", "Conditions": [{"Field": "path-pattern", "Values": ["/api"]}],
    "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg/1"}], "IsDefault": false}]}],
  "LoadBalancerAttributes": [{"LoadBalancerArn": "arn:lb/app/web/1", "Attributes": [{"Key": "deletion_protection.enabled", "Value": "false"}]}],
  "TargetGroups": [{"TargetGroupArn": "arn:tg/1", "TargetGroupName": "web", "Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-1", "LoadBalancerArns": ["arn:lb/app/web/1"]}],
  "LoadBalancerTargetHealth": [{"TargetGroupArn": "arn:tg/1", "TargetHealthDescriptions": []}],
  "TargetGroupAttributes": [{"TargetGroupArn": "arn:tg/1", "Attributes": []}],
  "LoadBalancerDescriptions": [{"LoadBalancerName": "old", "DNSName": "old-1.elb.amazonaws.com",
    "ListenerDescriptions": [{"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}}],
    "AvailabilityZones": ["us-east-1a"], "Subnets": ["subnet-1"], "VPCId": "vpc-1", "Instances": [{"InstanceId": "i-1"}],
    "HealthCheck": {"Target": "HTTP:8080/"}, "SecurityGroups": ["sg-1"], "Scheme": "internet-facing"}],
  "InstanceStates": [{"LoadBalancerName": "old", "InstanceStates": []}]
}"#;

/// One listener as `aws elbv2 describe-listeners` prints it (Batfish's older layout).
const BARE_LISTENER: &str = r#"{"LoadBalancerListeners": [{"ListenerArn": "arn:l/1", "LoadBalancerArn": "arn:lb/net/n/1", "Port": 82, "Protocol": "TCP",
  "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg/1"}]}]}"#;

/// `doc` without the field `field` of the object at `object` (`Key[0].Key` as errors write paths).
fn without(doc: &str, object: &str, field: &str) -> String {
    let mut v: Value = serde_json::from_str(doc).unwrap();
    let pointer = format!("/{}", object.replace(['.', '['], "/").replace(']', ""));
    let removed = v.pointer_mut(&pointer).and_then(Value::as_object_mut).and_then(|o| o.remove(field));
    assert!(removed.is_some(), "{object}.{field} is not in the complete document");
    v.to_string()
}

/// Names the field: the path to it, or the path to its object with serde's "missing field".
fn names_field(e: &ParseError, object: &str, field: &str) -> bool {
    e.file == "doc.json"
        && (e.field == format!("{object}.{field}")
            || (e.field == object && e.message == format!("missing field `{field}`")))
}

fn parse(text: &str) -> Result<(), ParseError> {
    parse_aws(&[("doc.json".to_string(), text.to_string())]).map(|_| ())
}

#[test]
fn complete_documents_parse() {
    for doc in [EC2, ELB, BARE_LISTENER] {
        parse(doc).unwrap();
    }
}

/// Lists (and a few values) AWS always prints whose absence, read as empty or false, would turn
/// into a confident verdict: no rules (SG_NO_INGRESS), no ACL entries (implicit deny), no routes,
/// a detached gateway, an instance's primary address lost, a listener that forwards nowhere…
#[test]
fn each_verdict_deciding_field_is_required() {
    let cases: &[(&str, &str, &str)] = &[
        (EC2, "Reservations[0]", "Instances"),
        (EC2, "NetworkInterfaces[0]", "Groups"),
        (EC2, "NetworkInterfaces[0]", "Ipv6Addresses"),
        (EC2, "NetworkInterfaces[0].PrivateIpAddresses[0]", "Primary"),
        (EC2, "SecurityGroups[0]", "IpPermissions"),
        (EC2, "SecurityGroups[0].IpPermissions[0]", "IpRanges"),
        (EC2, "SecurityGroups[0].IpPermissions[0]", "UserIdGroupPairs"),
        (EC2, "SecurityGroups[0].IpPermissionsEgress[0]", "IpRanges"),
        (EC2, "NetworkAcls[0]", "Associations"),
        (EC2, "NetworkAcls[0]", "Entries"),
        (EC2, "RouteTables[0]", "Associations"),
        (EC2, "RouteTables[0]", "Routes"),
        (EC2, "RouteTables[0].Routes[0]", "State"),
        (EC2, "InternetGateways[0]", "Attachments"),
        (EC2, "InternetGateways[0].Attachments[0]", "State"),
        (EC2, "EgressOnlyInternetGateways[0]", "Attachments"),
        (EC2, "PrefixLists[0]", "Cidrs"),
        (EC2, "VpcBlockPublicAccessExclusions[0]", "ResourceArn"),
        (EC2, "VpcBlockPublicAccessExclusions[0]", "InternetGatewayExclusionMode"),
        (EC2, "VpcBlockPublicAccessExclusions[0]", "State"),
        (ELB, "LoadBalancers[0]", "AvailabilityZones"),
        (ELB, "LoadBalancerListeners[0]", "Listeners"),
        (ELB, "LoadBalancerListeners[0].Listeners[0]", "DefaultActions"),
        (ELB, "LoadBalancerListeners[0].Listeners[0].DefaultActions[0].ForwardConfig", "TargetGroups"),
        (BARE_LISTENER, "LoadBalancerListeners[0]", "DefaultActions"),
        (ELB, "ListenerRules[0]", "Rules"),
        (ELB, "ListenerRules[0].Rules[0]", "Actions"),
        (ELB, "LoadBalancerAttributes[0]", "Attributes"),
        (ELB, "LoadBalancerTargetHealth[0]", "TargetHealthDescriptions"),
        (ELB, "TargetGroupAttributes[0]", "Attributes"),
        (ELB, "LoadBalancerDescriptions[0]", "ListenerDescriptions"),
        (ELB, "LoadBalancerDescriptions[0]", "Subnets"),
        (ELB, "LoadBalancerDescriptions[0]", "Instances"),
        (ELB, "LoadBalancerDescriptions[0]", "SecurityGroups"),
        (ELB, "InstanceStates[0]", "InstanceStates"),
    ];
    for (doc, object, field) in cases {
        match parse(&without(doc, object, field)) {
            Err(e) => assert!(names_field(&e, object, field), "without {object}.{field}: {e}"),
            Ok(()) => panic!("without {object}.{field}: read as empty"),
        }
    }
}

/// Fields AWS itself leaves out (or that decide nothing) still read as empty.
#[test]
fn fields_aws_omits_may_be_absent() {
    let cases: &[(&str, &str, &str)] = &[
        (EC2, "Reservations[0].Instances[0]", "Tags"),
        (EC2, "NetworkInterfaces[0]", "PrivateIpAddresses"),
        (EC2, "SecurityGroups[0].IpPermissions[0]", "Ipv6Ranges"),
        (EC2, "SecurityGroups[0].IpPermissions[0]", "PrefixListIds"),
        (EC2, "SecurityGroups[0]", "IpPermissionsEgress"),
        (EC2, "NetworkAcls[0]", "IsDefault"),
        (EC2, "RouteTables[0].Associations[0]", "Main"),
        (EC2, "Subnets[0]", "Ipv6CidrBlockAssociationSet"),
        (EC2, "Vpcs[0]", "CidrBlockAssociationSet"),
        (EC2, "VpcBlockPublicAccessOptions", "InternetGatewayBlockMode"),
        (ELB, "LoadBalancers[0]", "SecurityGroups"),
        (ELB, "LoadBalancers[0]", "DNSName"),
        (ELB, "LoadBalancers[0].AvailabilityZones[0]", "LoadBalancerAddresses"),
        (ELB, "ListenerRules[0].Rules[0]", "Conditions"),
        (ELB, "TargetGroups[0]", "LoadBalancerArns"),
        (ELB, "LoadBalancerDescriptions[0]", "AvailabilityZones"),
    ];
    for (doc, object, field) in cases {
        if let Err(e) = parse(&without(doc, object, field)) {
            panic!("without {object}.{field}: {e}");
        }
    }
}
