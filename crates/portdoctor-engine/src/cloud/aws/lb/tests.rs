//! The load-balancer path on small accounts written to the AWS API reference's shapes (in
//! Batfish's layout), one change per case from a healthy base: an ALB `web` (HTTPS 443 →
//! `tg-web` on 8080, HTTP 80 redirects), an NLB `nlb` without security groups (TCP 443 →
//! `tg-nlb` on 8443, client IP preservation by default), and a Classic `old` (HTTP 80 → 8080).

use crate::cloud::{CloudQuery, CloudTarget, ResolvedName, diagnose_cloud};
use portdoctor_model::cloud::PortRange;
use portdoctor_model::net::Proto;
use portdoctor_model::{CheckStatus, Diagnosis, Status};
use serde_json::{Value, json};

const ALB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188";
const NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/nlb/73e2d6bc24d8a067";
const TG_WEB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/tg-web/6d0ecf831eec9f09";
const TG_NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/tg-nlb/943f017f100becff";
const L443: &str =
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

fn eni(id: &str, instance: &str, subnet: &str, ip: &str) -> Value {
    json!({"NetworkInterfaceId": id, "VpcId": "vpc-1", "SubnetId": subnet, "Status": "in-use",
        "Attachment": {"InstanceId": instance, "DeviceIndex": 0},
        "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": true}], "Ipv6Addresses": [], "Groups": [{"GroupId": "sg-app"}]})
}

fn instance(id: &str, subnet: &str, ip: &str) -> Value {
    json!({"InstanceId": id, "State": {"Name": "running"}, "VpcId": "vpc-1", "SubnetId": subnet, "PrivateIpAddress": ip})
}

fn healthy(id: &str, port: u16) -> Value {
    json!({"Target": {"Id": id, "Port": port}, "HealthCheckPort": port.to_string(), "TargetHealth": {"State": "healthy"}})
}

fn unhealthy(id: &str, port: u16, reason: &str) -> Value {
    json!({"Target": {"Id": id, "Port": port}, "HealthCheckPort": port.to_string(),
        "TargetHealth": {"State": "unhealthy", "Reason": reason, "Description": "Health checks failed"}})
}

fn zone(name: &str, subnet: &str) -> Value {
    json!({"ZoneName": name, "SubnetId": subnet, "LoadBalancerAddresses": []})
}

fn allow_all_acl() -> Value {
    json!({"NetworkAclId": "acl-1", "VpcId": "vpc-1", "IsDefault": true, "Associations": [], "Entries": [
        {"RuleNumber": 100, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
        {"RuleNumber": 100, "Egress": true, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}]})
}

fn base() -> Value {
    json!({
        "Reservations": [{"Instances": [instance("i-1", "subnet-app-a", "10.0.11.10"), instance("i-2", "subnet-app-b", "10.0.12.10"), instance("i-3", "subnet-app-c", "10.0.13.10")]}],
        "NetworkInterfaces": [eni("eni-1", "i-1", "subnet-app-a", "10.0.11.10"), eni("eni-2", "i-2", "subnet-app-b", "10.0.12.10"), eni("eni-3", "i-3", "subnet-app-c", "10.0.13.10")],
        "SecurityGroups": [
            {"GroupId": "sg-alb", "GroupName": "web-alb", "VpcId": "vpc-1",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []},
                               {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}],
             "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}]},
            {"GroupId": "sg-app", "GroupName": "app", "VpcId": "vpc-1",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [], "UserIdGroupPairs": [{"GroupId": "sg-alb"}]},
                               {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}],
             "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}]}],
        "NetworkAcls": [allow_all_acl()],
        "RouteTables": [
            {"RouteTableId": "rtb-pub", "VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-a"}, {"SubnetId": "subnet-b"}], "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}]},
            {"RouteTableId": "rtb-main", "VpcId": "vpc-1", "Associations": [{"Main": true}], "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}]}],
        "InternetGateways": [{"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": "vpc-1", "State": "available"}]}],
        "Subnets": [
            {"SubnetId": "subnet-a", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"},
            {"SubnetId": "subnet-b", "VpcId": "vpc-1", "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-east-1b"},
            {"SubnetId": "subnet-app-a", "VpcId": "vpc-1", "CidrBlock": "10.0.11.0/24", "AvailabilityZone": "us-east-1a"},
            {"SubnetId": "subnet-app-b", "VpcId": "vpc-1", "CidrBlock": "10.0.12.0/24", "AvailabilityZone": "us-east-1b"},
            {"SubnetId": "subnet-app-c", "VpcId": "vpc-1", "CidrBlock": "10.0.13.0/24", "AvailabilityZone": "us-east-1c"}],
        "Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}],
        "LoadBalancers": [
            {"LoadBalancerArn": ALB, "LoadBalancerName": "web", "DNSName": "web-1234567890.us-east-1.elb.amazonaws.com",
             "Scheme": "internet-facing", "VpcId": "vpc-1", "State": {"Code": "active"}, "Type": "application",
             "AvailabilityZones": [zone("us-east-1a", "subnet-a"), zone("us-east-1b", "subnet-b")],
             "SecurityGroups": ["sg-alb"], "IpAddressType": "ipv4"},
            {"LoadBalancerArn": NLB, "LoadBalancerName": "nlb", "DNSName": "nlb-73e2d6bc24d8a067.elb.us-east-1.amazonaws.com",
             "Scheme": "internet-facing", "VpcId": "vpc-1", "State": {"Code": "active"}, "Type": "network",
             "AvailabilityZones": [
                {"ZoneName": "us-east-1a", "SubnetId": "subnet-a", "LoadBalancerAddresses": [{"IpAddress": "203.0.113.50", "AllocationId": "eipalloc-1"}]},
                {"ZoneName": "us-east-1b", "SubnetId": "subnet-b", "LoadBalancerAddresses": [{"IpAddress": "203.0.113.51", "AllocationId": "eipalloc-2"}]}],
             "IpAddressType": "ipv4"}],
        "LoadBalancerListeners": [
            {"LoadBalancerArn": ALB, "Listeners": [
                {"ListenerArn": L443, "LoadBalancerArn": ALB, "Port": 443, "Protocol": "HTTPS",
                 "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG_WEB, "Order": 1,
                    "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG_WEB, "Weight": 1}]}}]},
                {"ListenerArn": "arn:listener/app/web/80", "LoadBalancerArn": ALB, "Port": 80, "Protocol": "HTTP",
                 "DefaultActions": [{"Type": "redirect", "Order": 1, "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}]}]},
            {"LoadBalancerArn": NLB, "Listeners": [
                {"ListenerArn": "arn:listener/net/nlb/443", "LoadBalancerArn": NLB, "Port": 443, "Protocol": "TCP",
                 "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG_NLB}]}]}],
        "ListenerRules": [{"ListenerArn": L443, "Rules": [
            {"RuleArn": "arn:rule/default", "Priority": "default", "IsDefault": true, "Conditions": [],
             "Actions": [{"Type": "forward", "TargetGroupArn": TG_WEB}]}]}],
        "LoadBalancerAttributes": [{"LoadBalancerArn": NLB, "Attributes": [{"Key": "load_balancing.cross_zone.enabled", "Value": "false"}]}],
        "TargetGroups": [
            {"TargetGroupArn": TG_WEB, "TargetGroupName": "tg-web", "Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-1",
             "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": true, "HealthCheckPath": "/health",
             "Matcher": {"HttpCode": "200"}, "LoadBalancerArns": [ALB], "TargetType": "instance"},
            {"TargetGroupArn": TG_NLB, "TargetGroupName": "tg-nlb", "Protocol": "TCP", "Port": 8443, "VpcId": "vpc-1",
             "HealthCheckProtocol": "TCP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": true,
             "LoadBalancerArns": [NLB], "TargetType": "instance"}],
        "LoadBalancerTargetHealth": [
            {"TargetGroupArn": TG_WEB, "TargetHealthDescriptions": [healthy("i-1", 8080), healthy("i-2", 8080)]},
            {"TargetGroupArn": TG_NLB, "TargetHealthDescriptions": [healthy("i-1", 8443), healthy("i-2", 8443)]}],
        "TargetGroupAttributes": [],
        "LoadBalancerDescriptions": [
            {"LoadBalancerName": "old", "DNSName": "old-1234.us-east-1.elb.amazonaws.com",
             "ListenerDescriptions": [{"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}, "PolicyNames": []}],
             "AvailabilityZones": ["us-east-1a"], "Subnets": ["subnet-a"], "VPCId": "vpc-1",
             "Instances": [{"InstanceId": "i-1"}], "HealthCheck": {"Target": "HTTP:8080/health", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2, "HealthyThreshold": 10},
             "SecurityGroups": ["sg-alb"], "Scheme": "internet-facing"}],
        "InstanceStates": [{"LoadBalancerName": "old", "InstanceStates": [{"InstanceId": "i-1", "State": "InService", "ReasonCode": "N/A", "Description": "N/A"}]}]
    })
}

fn run(account: &Value, lb: &str, port: u16) -> Diagnosis {
    run_query(account, CloudTarget::LoadBalancer(lb.into()), None, port)
}

fn run_query(account: &Value, target: CloudTarget, name: Option<ResolvedName>, port: u16) -> Diagnosis {
    let docs = vec![("account.json".to_string(), account.to_string())];
    let ev = portdoctor_parse::aws::parse_aws(&docs).unwrap();
    let q = CloudQuery {
        port,
        proto: Proto::Tcp,
        from: "internet".parse().unwrap(),
        target,
        client_ports: PortRange { from: 1024, to: 65535 },
        changes: Default::default(),
        family: None,
        name,
    };
    diagnose_cloud(&ev, &q)
}

/// `diagnose shop.example.com:443`: the name the user typed, as resolved.
fn typed(addresses: &[&str]) -> Option<ResolvedName> {
    Some(ResolvedName {
        name: "shop.example.com".into(),
        addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        source: "--resolve".into(),
    })
}

/// The base account with one node of the ALB `web` (eni-alb-a, 198.51.100.20).
fn base_with_node() -> Value {
    let mut a = base();
    a["NetworkInterfaces"].as_array_mut().unwrap().push(alb_node(
        "eni-alb-a",
        "subnet-a",
        "10.0.1.20",
        "198.51.100.20",
    ));
    a
}

/// An ALB node: an interface AWS describes by the balancer's ARN tail, with a public address.
fn alb_node(id: &str, subnet: &str, private: &str, public: &str) -> Value {
    json!({"NetworkInterfaceId": id, "VpcId": "vpc-1", "SubnetId": subnet, "Status": "in-use",
        "Description": "ELB app/web/50dc6c495c0c9188", "Groups": [{"GroupId": "sg-alb"}], "Ipv6Addresses": [],
        "PrivateIpAddresses": [{"PrivateIpAddress": private, "Primary": true, "Association": {"PublicIp": public}}]})
}

fn codes(d: &Diagnosis) -> Vec<&'static str> {
    d.causes.iter().map(|c| c.code.as_str()).collect()
}

fn blocking(d: &Diagnosis) -> Vec<&'static str> {
    d.causes.iter().filter(|c| c.blocking).map(|c| c.code.as_str()).collect()
}

fn hops(d: &Diagnosis) -> Vec<&str> {
    d.path.iter().map(|h| h.hop.as_str()).collect()
}

fn set(a: &mut Value, pointer: &str, v: Value) {
    *a.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = v;
}

/// Both targets of `tg-web` fail their health checks for `reason`.
fn all_unhealthy(a: &mut Value, reason: &str) {
    let both = json!([unhealthy("i-1", 8080, reason), unhealthy("i-2", 8080, reason)]);
    set(a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", both);
}

#[test]
fn a_healthy_alb_is_reachable_by_name_arn_and_dns_name_with_hops_in_packet_order() {
    for name in [
        "web",
        ALB,
        "WEB-1234567890.us-east-1.elb.amazonaws.com.",
        "dualstack.web-1234567890.us-east-1.elb.amazonaws.com",
    ] {
        let d = run(&base(), name, 443);
        assert_eq!(d.status, Status::Reachable, "{name}: {d:#?}");
    }
    let d = run(&base(), "web", 443);
    assert_eq!(
        hops(&d),
        [
            "internet",
            "platform",
            "load-balancer",
            "lb-listener",
            "network-acl-in",
            "network-acl-out",
            "security-group",
            "target-group",
            "target",
            "target"
        ]
    );
    assert_eq!(d.query.target.as_deref(), Some("web-1234567890.us-east-1.elb.amazonaws.com"));
    let targets: Vec<&str> = d.path.iter().filter(|h| h.hop == "target").map(|h| h.component.as_str()).collect();
    assert_eq!(targets, ["i-1:8080", "i-2:8080"]);
    assert!(
        d.checks.iter().any(|c| c.id == "cloud.target.security-group"
            && c.summary.contains("admits the load balancer's security group"))
    );
    let listener = d.path.iter().find(|h| h.hop == "lb-listener").unwrap();
    assert!(listener.detail.contains("handshake completes at the load balancer"), "{listener:?}");
    assert_eq!(d.arrival, Some("10.0.11.10".parse().unwrap()));
    // The host behind sees the target port from the balancer's nodes (the VPC's range).
    let f = d.behind[0].flow;
    assert_eq!((f.port, f.from), (8080, "10.0.0.0/16".parse().unwrap()));
    // …and the balancer has the other target to send to while this one fails.
    assert_eq!((f.others_healthy, f.targets), (1, 2));
    // Every target with a host, each once, for `--target-ssh`: its id, address and health.
    let each: Vec<(&str, bool)> = d.behind.iter().map(|b| (b.target.as_str(), b.healthy)).collect();
    assert_eq!(each, [("i-1", true), ("i-2", true)]);
    assert_eq!(d.behind[0].ip, d.arrival);
    assert_eq!(d.behind[1].flow.others_healthy, 1);
    let mut a = base();
    all_unhealthy(&mut a, "Target.Timeout");
    let f = run(&a, "web", 443).behind[0].flow;
    assert_eq!((f.others_healthy, f.targets), (0, 2));
}

#[test]
fn state_and_scheme() {
    let mut a = base();
    set(&mut a, "/LoadBalancers/0/State", json!({"Code": "provisioning"}));
    let d = run(&a, "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Blocked, vec!["LB_NOT_ACTIVE"]));
    assert!(d.causes[0].fix[0].to_string().contains("aws elbv2 wait load-balancer-available"));
    let mut a = base();
    set(&mut a, "/LoadBalancers/0/Scheme", json!("internal"));
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["LB_SCHEME_INTERNAL"]);
    assert!(d.checks.iter().any(|c| c.id == "cloud.lb-subnet" && c.status == CheckStatus::Skipped));
}

#[test]
fn no_listener_names_the_ports_that_have_one() {
    let d = run(&base(), "web", 8443);
    // Every blocker is reported: the balancer's group does not admit 8443 either.
    assert_eq!((d.status, codes(&d)), (Status::Blocked, vec!["LB_NO_LISTENER", "SECURITY_GROUP_NO_INGRESS"]));
    assert!(d.causes[0].message.contains("HTTPS:443, HTTP:80"), "{}", d.causes[0].message);
    assert!(d.causes[0].fix[0].to_string().contains("aws elbv2 create-listener"));
    assert!(!hops(&d).contains(&"target-group"));
}

#[test]
fn a_redirect_or_fixed_response_reaches_no_target_and_is_not_a_block() {
    let d = run(&base(), "web", 80);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    let l = d.checks.iter().find(|c| c.id == "cloud.lb-listener").unwrap();
    assert_eq!(l.status, CheckStatus::Warn);
    assert!(
        l.summary.contains("redirect to HTTPS://#{host}:443") && l.summary.contains("not a block"),
        "{}",
        l.summary
    );
    let mut a = base();
    set(
        &mut a,
        "/LoadBalancerListeners/0/Listeners/0/DefaultActions",
        json!([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}]),
    );
    set(&mut a, "/ListenerRules/0/Rules", json!([]));
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Reachable);
    assert!(d.checks.iter().any(|c| c.summary.contains("fixed-response 404")));
}

#[test]
fn a_subnet_without_a_route_to_the_gateway_is_not_public() {
    let mut a = base();
    set(&mut a, "/RouteTables/0/Associations", json!([{"SubnetId": "subnet-a"}]));
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["LB_SUBNET_NOT_PUBLIC"], "{d:#?}");
    assert!(d.causes[0].message.starts_with("web node in subnet-b (us-east-1b)"), "{}", d.causes[0].message);
    assert!(d.causes[0].fix[0].to_string().contains("aws ec2 create-route --route-table-id rtb-main"));
}

#[test]
fn the_load_balancers_own_groups_filter_the_clients() {
    let mut a = base();
    set(&mut a, "/SecurityGroups/0/IpPermissions/0/IpRanges", json!([{"CidrIp": "198.51.100.0/24"}]));
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["SECURITY_GROUP_NO_INGRESS"]);
    assert_eq!(d.causes[0].component, "sg-alb");
}

#[test]
fn an_empty_target_group_blocks_and_the_alb_answers_503() {
    let mut a = base();
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", json!([]));
    let d = run(&a, "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Blocked, vec!["LB_NO_TARGETS"]));
    assert!(d.causes[0].message.contains("HTTP 503"), "{}", d.causes[0].message);
    assert!(d.causes[0].fix[0].to_string().contains("aws elbv2 register-targets"));
}

#[test]
fn one_unhealthy_target_of_two_is_a_warning_with_its_share() {
    let mut a = base();
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions/1", unhealthy("i-2", 8080, "Target.Timeout"));
    let d = run(&a, "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let w = d.checks.iter().find(|c| c.id == "cloud.target.health" && c.status == CheckStatus::Warn).unwrap();
    assert!(w.summary.contains("1 of 2 targets of tg-web, 50%"), "{}", w.summary);
    assert!(w.evidence[0].contains("Reason Target.Timeout"));
    let tg = d.checks.iter().find(|c| c.id == "cloud.target-group").unwrap();
    assert_eq!((tg.status, tg.summary.as_str()), (CheckStatus::Warn, "tg-web: 1 of 2 targets can take the connection"));
}

#[test]
fn all_unhealthy_fails_open_unless_the_traffic_port_itself_is_dead() {
    // The health page says no, but the port answers: the group fails open and traffic flows.
    let mut a = base();
    all_unhealthy(&mut a, "Target.ResponseCodeMismatch");
    let d = run(&a, "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let w = d.checks.iter().find(|c| c.id == "cloud.target.health").unwrap();
    assert!(w.status == CheckStatus::Warn && w.summary.contains("fails open"), "{w:?}");
    // Timeouts on the traffic port from the nodes, and nothing in the configuration explains
    // them: the host drops them; the ALB answers 504.
    let mut a = base();
    all_unhealthy(&mut a, "Target.Timeout");
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Blocked);
    assert_eq!(blocking(&d), ["TARGET_UNHEALTHY", "TARGET_UNHEALTHY"]);
    assert_eq!(d.causes[0].confidence, portdoctor_model::Confidence::Likely);
    assert!(d.causes[0].message.contains("--ssh"));
    let tg = d.checks.iter().find(|c| c.id == "cloud.target-group").unwrap();
    assert!(tg.summary.contains("HTTP 504"), "{}", tg.summary);
}

#[test]
fn the_target_group_must_admit_the_load_balancers_group() {
    let mut a = base();
    set(&mut a, "/SecurityGroups/1/IpPermissions/0/UserIdGroupPairs", json!([{"GroupId": "sg-bastion"}]));
    all_unhealthy(&mut a, "Target.Timeout");
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Blocked);
    assert_eq!(blocking(&d), ["TARGET_SECURITY_GROUP_NO_INGRESS", "TARGET_SECURITY_GROUP_NO_INGRESS"]);
    let unhealthy: Vec<_> = d.causes.iter().filter(|c| c.code.as_str() == "TARGET_UNHEALTHY").collect();
    assert_eq!(unhealthy.len(), 2);
    assert!(unhealthy[0].message.contains("explained by TARGET_SECURITY_GROUP_NO_INGRESS") && !unhealthy[0].blocking);
    let c = d.causes.iter().find(|c| c.blocking).unwrap();
    assert_eq!(c.component, "sg-app");
    assert!(c.fix[0].to_string().contains("--source-group sg-alb"), "{}", c.fix[0]);
    assert!(c.message.contains("HTTP") || d.summary.contains("sg-app"));
}

#[test]
fn the_load_balancers_group_must_let_it_out() {
    let mut a = base();
    set(
        &mut a,
        "/SecurityGroups/0/IpPermissionsEgress",
        json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}]),
    );
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["SECURITY_GROUP_NO_EGRESS", "SECURITY_GROUP_NO_EGRESS"], "{d:#?}");
    assert!(d.causes[0].fix[0].to_string().contains("authorize-security-group-egress --group-id sg-alb"));
    // A document without the field (hand-written): the outbound rules are unknown, not none.
    let mut a = base();
    a["SecurityGroups"][0].as_object_mut().unwrap().remove("IpPermissionsEgress");
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Inconclusive, "{d:#?}");
    assert!(d.checks.iter().any(|c| c.id == "cloud.lb-security-group.egress" && c.status == CheckStatus::Unknown));
}

#[test]
fn a_blocked_health_check_port_is_its_own_cause_while_traffic_flows() {
    let mut a = base();
    set(&mut a, "/TargetGroups/0/HealthCheckPort", json!("8081"));
    let mut t1 = unhealthy("i-1", 8080, "Target.Timeout");
    t1["HealthCheckPort"] = json!("8081");
    let mut t2 = unhealthy("i-2", 8080, "Target.Timeout");
    t2["HealthCheckPort"] = json!("8081");
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", json!([t1, t2]));
    let d = run(&a, "web", 443);
    // Every target fails its check: the group fails open, and the traffic port is open.
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let w =
        d.checks.iter().find(|c| c.id == "cloud.target.health-check" && c.summary.contains("do not admit")).unwrap();
    assert_eq!(w.status, CheckStatus::Warn);
    assert!(w.summary.contains("(health checks, port 8081)"), "{}", w.summary);
    // When the traffic port is dead too (a timeout on the same leg), nothing serves: the
    // health-check port's block is the cause given.
    set(&mut a, "/SecurityGroups/1/IpPermissions/0/FromPort", json!(8081));
    set(&mut a, "/SecurityGroups/1/IpPermissions/0/ToPort", json!(8081));
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["TARGET_SECURITY_GROUP_NO_INGRESS", "TARGET_SECURITY_GROUP_NO_INGRESS"], "{d:#?}");
}

#[test]
fn a_network_acl_on_the_leg_denies() {
    let mut a = base();
    let mut acl = allow_all_acl();
    acl["NetworkAclId"] = json!("acl-app");
    acl["IsDefault"] = json!(false);
    acl["Associations"] = json!([{"SubnetId": "subnet-app-a"}, {"SubnetId": "subnet-app-b"}]);
    acl["Entries"].as_array_mut().unwrap().insert(0, json!({"RuleNumber": 50, "Egress": false, "Protocol": "6", "RuleAction": "deny", "CidrBlock": "10.0.0.0/20", "PortRange": {"From": 8080, "To": 8080}}));
    a["NetworkAcls"].as_array_mut().unwrap().push(acl);
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["NACL_INBOUND_DENY", "NACL_INBOUND_DENY"], "{d:#?}");
    assert_eq!(d.causes[0].component, "acl-app");
}

#[test]
fn a_target_in_a_zone_the_balancer_does_not_serve() {
    let mut a = base();
    set(
        &mut a,
        "/LoadBalancerTargetHealth/0/TargetHealthDescriptions",
        json!([
        {"Target": {"Id": "i-3", "Port": 8080, "AvailabilityZone": "us-east-1c"}, "HealthCheckPort": "8080",
         "TargetHealth": {"State": "unused", "Reason": "Target.NotInUse", "Description": "Target is in an Availability Zone that is not enabled for the load balancer"}}]),
    );
    let d = run(&a, "web", 443);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["TARGET_AZ_NOT_ENABLED"]));
    assert!(d.causes[0].fix[0].to_string().contains("aws elbv2 set-subnets"));
}

#[test]
fn nlb_without_groups_and_client_ip_preservation_changes_whom_the_target_admits() {
    let d = run(&base(), "nlb", 443);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    let sg = d.checks.iter().find(|c| c.id == "cloud.security-group").unwrap();
    assert_eq!(sg.status, CheckStatus::Skipped);
    assert!(sg.summary.contains("can never get any"));
    assert_eq!(d.query.target.as_deref(), Some("nlb-73e2d6bc24d8a067.elb.us-east-1.amazonaws.com"));
    // With client IP preservation the host behind sees the clients themselves.
    let f = d.behind[0].flow;
    assert_eq!((f.port, f.from), (8443, "internet".parse().unwrap()));
    // An NLB is found by one of its Elastic IPs too.
    assert_eq!(run(&base(), "203.0.113.51", 443).query.target.as_deref(), d.query.target.as_deref());
    // The targets admit only the VPC: with client IP preservation (instance targets' default)
    // they see the clients' addresses and refuse them.
    let mut a = base();
    set(&mut a, "/SecurityGroups/1/IpPermissions/1/IpRanges", json!([{"CidrIp": "10.0.0.0/16"}]));
    let d = run(&a, "nlb", 443);
    assert_eq!(d.status, Status::Blocked);
    assert_eq!(blocking(&d), ["TARGET_SECURITY_GROUP_NO_INGRESS", "TARGET_SECURITY_GROUP_NO_INGRESS"]);
    assert!(d.causes[0].message.contains("client IP preservation is on"), "{}", d.causes[0].message);
    assert!(d.causes[0].message.contains("connections time out") || d.summary.contains("sg-app"));
    // Preservation off: the nodes' subnets (inside the VPC) are the sources, and they are admitted.
    a["TargetGroupAttributes"] =
        json!([{"TargetGroupArn": TG_NLB, "Attributes": [{"Key": "preserve_client_ip.enabled", "Value": "false"}]}]);
    let d = run(&a, "nlb", 443);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
}

#[test]
fn classic_load_balancer() {
    let d = run(&base(), "old", 80);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    assert!(hops(&d).contains(&"target"));
    let mut a = base();
    set(
        &mut a,
        "/InstanceStates/0/InstanceStates/0",
        json!({"InstanceId": "i-1", "State": "OutOfService", "ReasonCode": "Instance", "Description": "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."}),
    );
    let d = run(&a, "old", 80);
    assert_eq!(blocking(&d), ["TARGET_UNHEALTHY"]);
    assert!(d.causes[0].evidence[0].contains("Instance: Instance has failed"), "{:?}", d.causes[0].evidence);
    assert!(d.causes[0].fix[0].to_string().contains("aws elb describe-instance-health"));
    let d = run(&base(), "old", 443);
    assert_eq!(codes(&d), ["LB_NO_LISTENER"]);
    assert!(d.causes[0].fix[0].to_string().contains("aws elb create-load-balancer-listeners"));
}

#[test]
fn a_stopped_target_and_a_rules_group() {
    let mut a = base();
    set(&mut a, "/Reservations/0/Instances/1/State/Name", json!("stopped"));
    let d = run(&a, "web", 443);
    // One target of two still serves: a warning, not a block.
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]));
    assert!(
        d.checks
            .iter()
            .any(|c| c.id == "cloud.instance" && c.status == CheckStatus::Warn && c.summary.contains("i-2 is stopped"))
    );
    // A rule's group without targets fails only its requests.
    let mut a = base();
    a["ListenerRules"][0]["Rules"].as_array_mut().unwrap().push(json!(
        {"RuleArn": "arn:rule/api", "Priority": "10", "IsDefault": false,
         "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
         "Actions": [{"Type": "forward", "TargetGroupArn": "arn:targetgroup/tg-api/1"}]}));
    a["TargetGroups"].as_array_mut().unwrap().push(json!({"TargetGroupArn": "arn:targetgroup/tg-api/1", "TargetGroupName": "tg-api", "Protocol": "HTTP", "Port": 9000, "TargetType": "instance"}));
    a["LoadBalancerTargetHealth"]
        .as_array_mut()
        .unwrap()
        .push(json!({"TargetGroupArn": "arn:targetgroup/tg-api/1", "TargetHealthDescriptions": []}));
    let d = run(&a, "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]));
    assert!(
        d.checks
            .iter()
            .any(|c| c.status == CheckStatus::Warn && c.summary.contains("tg-api has no registered targets"))
    );
    assert!(
        d.checks.iter().any(|c| c.summary.contains("rule 10 (path-pattern /api/*): forward to tg-api"))
            || d.checks
                .iter()
                .any(|c| c.evidence.iter().any(|e| e.contains("rule 10 (path-pattern /api/*): forward to tg-api")))
    );
}

#[test]
fn unknown_names_and_missing_listings_are_inconclusive() {
    let d = run(&base(), "nope", 443);
    assert_eq!(d.status, Status::Inconclusive);
    assert!(d.checks[0].evidence[0].contains("web, nlb, old"), "{:?}", d.checks[0]);
    let mut a = base();
    let m = a.as_object_mut().unwrap();
    m.remove("LoadBalancers");
    m.remove("LoadBalancerDescriptions");
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Inconclusive);
    assert!(d.checks[0].evidence[0].contains("aws elbv2 describe-load-balancers"), "{:?}", d.checks[0]);
    let mut a = base();
    a.as_object_mut().unwrap().remove("LoadBalancerTargetHealth");
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Inconclusive, "{d:#?}");
}

#[test]
fn a_name_resolving_to_a_balancers_nodes_is_walked_through_the_balancer() {
    let mut a = base();
    let enis = a["NetworkInterfaces"].as_array_mut().unwrap();
    enis.push(alb_node("eni-alb-a", "subnet-a", "10.0.1.20", "198.51.100.20"));
    enis.push(alb_node("eni-alb-b", "subnet-b", "10.0.2.20", "198.51.100.21"));
    // A CNAME to the ALB: the name is not the balancer's, its addresses are.
    let d = run_query(&a, CloudTarget::Instance(String::new()), None, 443);
    assert_ne!(hops(&d).first(), Some(&"load-balancer"), "an instance query stays an instance query");
    let public: std::net::IpAddr = "198.51.100.20".parse().unwrap();
    let d = run_query(&a, CloudTarget::PublicIp(public), typed(&["198.51.100.20", "198.51.100.21"]), 443);
    assert_eq!(d.status, Status::Reachable, "{:#?}", d.causes);
    assert!(hops(&d).contains(&"load-balancer") && hops(&d).contains(&"target"), "{:?}", hops(&d));
    assert!(d.checks.iter().any(|c| c.id == "path.dns" && c.status == CheckStatus::Pass), "{:#?}", d.checks);
}

/// Fix (round 2): the node's address given bare (`cloud --public-ip`, `diagnose ADDR:443`) is
/// followed through the balancer too; it stopped at the node's interface, which no instance holds.
#[test]
fn a_balancer_nodes_bare_address_is_walked_through_the_balancer() {
    let a = base_with_node();
    let d = run_query(&a, CloudTarget::PublicIp("198.51.100.20".parse().unwrap()), None, 443);
    assert_eq!(d.status, Status::Reachable, "{:#?}", d.causes);
    assert!(hops(&d).contains(&"load-balancer") && hops(&d).contains(&"target"), "{:?}", hops(&d));
    assert!(d.notes.iter().any(|n| n.contains("198.51.100.20 is a node of load balancer web")), "{:?}", d.notes);
}

#[test]
fn a_balancers_name_pointing_at_an_address_it_no_longer_has_is_stale_dns() {
    let a = base_with_node();
    let d = run_query(
        &a,
        CloudTarget::PublicIp("198.51.100.99".parse().unwrap()),
        Some(ResolvedName {
            name: "web-1234567890.us-east-1.elb.amazonaws.com".into(),
            ..typed(&["198.51.100.99"]).unwrap()
        }),
        443,
    );
    assert!(codes(&d).contains(&"DNS_STALE"), "{:?}", codes(&d));
    assert!(hops(&d).contains(&"load-balancer"), "the balancer named is still walked: {:?}", hops(&d));
}

#[test]
fn a_dual_stack_balancer_is_judged_per_family() {
    let mut a = base();
    set(&mut a, "/LoadBalancers/0/IpAddressType", json!("dualstack"));
    // Without a ::/0 route its subnets are not public in IPv6.
    let d = run(&a, "web", 443);
    let v6 = |d: &Diagnosis| -> Vec<&'static str> {
        d.causes
            .iter()
            .filter(|c| c.family == Some(portdoctor_model::net::Family::V6))
            .map(|c| c.code.as_str())
            .collect()
    };
    assert!(v6(&d).contains(&"LB_SUBNET_NOT_PUBLIC"), "{:#?}", d.causes);
    let routes = a["RouteTables"][0]["Routes"].as_array_mut().unwrap();
    routes.push(json!({"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1", "State": "active"}));
    for egress in [false, true] {
        let entries = a["NetworkAcls"][0]["Entries"].as_array_mut().unwrap();
        entries.push(json!({"RuleNumber": 101, "Egress": egress, "Protocol": "-1", "RuleAction": "allow", "Ipv6CidrBlock": "::/0"}));
    }
    // The balancer's group admits 0.0.0.0/0 on 443 but not ::/0.
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Blocked, "{:#?}", d.causes);
    let v6: Vec<_> = d.causes.iter().filter(|c| c.family == Some(portdoctor_model::net::Family::V6)).collect();
    assert!(!v6.is_empty() && v6.iter().all(|c| c.code.as_str() == "SECURITY_GROUP_NO_INGRESS"), "{:#?}", d.causes);
    assert!(
        d.causes.iter().all(|c| c.family != Some(portdoctor_model::net::Family::V4)),
        "IPv4 is admitted: {:#?}",
        d.causes
    );
}

#[test]
fn the_balancer_subnets_acl_must_let_the_leg_out_and_its_replies_back() {
    let mut a = base();
    let mut acl = allow_all_acl();
    acl["NetworkAclId"] = json!("acl-pub");
    acl["IsDefault"] = json!(false);
    acl["Associations"] = json!([{"SubnetId": "subnet-a"}, {"SubnetId": "subnet-b"}]);
    acl["Entries"].as_array_mut().unwrap().insert(0, json!({"RuleNumber": 50, "Egress": true, "Protocol": "6", "RuleAction": "deny", "CidrBlock": "10.0.11.0/24", "PortRange": {"From": 8080, "To": 8080}}));
    a["NetworkAcls"].as_array_mut().unwrap().push(acl);
    let d = run(&a, "web", 443);
    // i-1 (10.0.11.10) cannot be reached from the nodes; i-2 still serves: a warning.
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let w = d.checks.iter().find(|c| c.id == "cloud.target.nacl" && c.status == CheckStatus::Warn).unwrap();
    assert!(
        w.summary.contains("acl-pub of the load balancer's subnet subnet-a denies its packets to 10.0.11.10:8080"),
        "{}",
        w.summary
    );
    assert!(w.evidence[0].contains("rule 50 deny tcp 8080 to 10.0.11.0/24"), "{:?}", w.evidence);
    // A weight of 0 never picks its group.
    let mut a = base();
    set(
        &mut a,
        "/LoadBalancerListeners/0/Listeners/0/DefaultActions/0/ForwardConfig/TargetGroups",
        json!([
        {"TargetGroupArn": TG_WEB, "Weight": 1}, {"TargetGroupArn": TG_NLB, "Weight": 0}]),
    );
    let d = run(&a, "web", 443);
    assert_eq!(d.path.iter().filter(|h| h.hop == "target-group").count(), 1);
}

#[test]
fn without_cross_zone_only_the_targets_zone_node_is_a_source() {
    // tg-nlb with preservation off: the sources are the nodes. The targets' group admits only
    // subnet-a on 8443; cross-zone is off on the NLB, so i-1 (zone a) is reached by subnet-a's
    // node alone and admitted, while i-2 (zone b) is refused its own zone's node — and as its
    // health (as recorded) keeps zone b in DNS, the clients DNS sends to that node fail.
    let mut a = base();
    a["TargetGroupAttributes"] =
        json!([{"TargetGroupArn": TG_NLB, "Attributes": [{"Key": "preserve_client_ip.enabled", "Value": "false"}]}]);
    set(&mut a, "/SecurityGroups/1/IpPermissions/1/IpRanges", json!([{"CidrIp": "10.0.1.0/24"}]));
    let d = run(&a, "nlb", 443);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["TARGET_SECURITY_GROUP_NO_INGRESS"]), "{d:#?}");
    assert_eq!(d.causes[0].component, "sg-app");
    assert!(d.causes[0].message.contains("nlb's node in us-east-1b sends only to targets in us-east-1b"));
    assert!(d.causes[0].message.contains("1 of the 2 zones' clients, 50%"), "{}", d.causes[0].message);
    assert!(d.causes[0].fix.iter().any(|f| f.contains("load_balancing.cross_zone.enabled,Value=true")));
    let sgs: Vec<_> = d.checks.iter().filter(|c| c.id == "cloud.target.security-group").map(|c| c.status).collect();
    assert_eq!(sgs, [CheckStatus::Pass, CheckStatus::Fail]);
    // Cross-zone on: both nodes send to every target, and subnet-b's node is refused by both.
    a["LoadBalancerAttributes"] = json!([{"LoadBalancerArn": NLB, "Attributes": [{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}]}]);
    let d = run(&a, "nlb", 443);
    assert_eq!(blocking(&d), ["TARGET_SECURITY_GROUP_NO_INGRESS", "TARGET_SECURITY_GROUP_NO_INGRESS"]);
    assert!(d.causes[0].message.contains("they admit only 10.0.1.0/24"), "{}", d.causes[0].message);
    assert!(d.causes[0].message.contains("connections time out"), "{}", d.causes[0].message);
}

/// A health record of target `id` on 8080 in state `unused`, with AWS's reason and words.
fn unused_record(id: &str, reason: &str, description: &str) -> Value {
    json!({"Target": {"Id": id, "Port": 8080}, "HealthCheckPort": "8080",
        "TargetHealth": {"State": "unused", "Reason": reason, "Description": description}})
}

#[test]
fn unused_targets_without_another_explanation_are_the_cause() {
    // In an enabled zone yet `Target.NotInUse` (cross-zone off for it, say): AWS's word, likely.
    let mut a = base();
    let unused = |id| {
        unused_record(
            id,
            "Target.NotInUse",
            "Target is in an Availability Zone that is not enabled for the load balancer",
        )
    };
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", json!([unused("i-1"), unused("i-2")]));
    let d = run(&a, "web", 443);
    assert_eq!(blocking(&d), ["TARGET_AZ_NOT_ENABLED", "TARGET_AZ_NOT_ENABLED"], "{d:#?}");
    assert_eq!(d.causes[0].confidence, portdoctor_model::Confidence::Likely);
    assert!(d.causes[0].message.contains("HTTP 503"), "{}", d.causes[0].message);
}

#[test]
fn the_family_asked_about_needs_an_address_of_that_family() {
    // IPv4-only: an IPv6 client has nothing to connect to.
    let docs = vec![("account.json".to_string(), base().to_string())];
    let ev = portdoctor_parse::aws::parse_aws(&docs).unwrap();
    let q = |lb: &str| CloudQuery {
        port: 443,
        proto: Proto::Tcp,
        from: "2001:db8::/32".parse().unwrap(),
        target: CloudTarget::LoadBalancer(lb.into()),
        client_ports: PortRange { from: 1024, to: 65535 },
        changes: Default::default(),
        family: None,
        name: None,
    };
    let d = diagnose_cloud(&ev, &q("web"));
    assert_eq!(blocking(&d)[0], "NO_PUBLIC_IP", "{d:#?}");
    assert!(d.causes[0].message.contains("has no IPv6 address"));
    assert!(d.causes[0].fix[0].to_string().contains("set-ip-address-type"));
    // Dual-stack without public IPv4: IPv4 clients are the ones left out.
    let mut a = base();
    set(&mut a, "/LoadBalancers/0/IpAddressType", json!("dualstack-without-public-ipv4"));
    // Both families are judged: IPv4's one blocker is the missing address (the IPv6 walk
    // goes on to this fixture's IPv4-only routes, ACLs and groups).
    let d = run(&a, "web", 443);
    let v4: Vec<&str> = d
        .causes
        .iter()
        .filter(|c| c.blocking && c.family == Some(portdoctor_model::net::Family::V4))
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(v4, ["NO_PUBLIC_IP"], "{:#?}", d.causes);
}

/// tg-nlb (cross-zone off on the NLB: each node sends only to its zone's target) without
/// client IP preservation (the checks and the traffic then come from the same nodes), `attrs`
/// added to its target group attributes, and i-2 (zone b) failing its checks for `reason`.
fn nlb_zone_b_unhealthy(reason: &str, attrs: Value) -> Value {
    let mut a = base();
    set(&mut a, "/LoadBalancerTargetHealth/1/TargetHealthDescriptions/1", unhealthy("i-2", 8443, reason));
    let mut all = vec![json!({"Key": "preserve_client_ip.enabled", "Value": "false"})];
    all.extend(attrs.as_array().cloned().unwrap_or_default());
    a["TargetGroupAttributes"] = json!([{"TargetGroupArn": TG_NLB, "Attributes": all}]);
    a
}

fn group_check(d: &Diagnosis) -> &portdoctor_model::Check {
    d.checks.iter().find(|c| c.id == "cloud.target-group").unwrap()
}

#[test]
fn a_zone_without_a_healthy_target_leaves_dns_and_its_clients_go_elsewhere() {
    // AWS's default (dns_failover count 1): zone b's node leaves DNS; zone a's serves everyone.
    let d = run(&nlb_zone_b_unhealthy("Target.Timeout", json!([])), "nlb", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let tg = group_check(&d);
    assert_eq!(tg.status, CheckStatus::Warn);
    assert!(
        tg.evidence
            .iter()
            .any(|e| e.contains("us-east-1b: 0 of 1 target(s) healthy, below DNS failover's at least 1 healthy")
                && e.contains("is out of DNS")),
        "{:?}",
        tg.evidence
    );
}

#[test]
fn with_dns_failover_off_a_zones_dead_targets_fail_its_share_of_clients() {
    // The zone stays in DNS; its node fails open to i-2, whose traffic port times out.
    let off = json!([{"Key": "target_group_health.dns_failover.minimum_healthy_targets.count", "Value": "off"}]);
    let d = run(&nlb_zone_b_unhealthy("Target.Timeout", off.clone()), "nlb", 443);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["TARGET_UNHEALTHY"]), "{d:#?}");
    assert_eq!(d.causes[0].component, "i-2");
    assert!(
        d.causes[0].message.contains("1 of the 2 zones' clients, 50%: the client's connections time out"),
        "{}",
        d.causes[0].message
    );
    let tg = group_check(&d);
    assert_eq!(tg.status, CheckStatus::Fail);
    assert!(
        tg.summary.starts_with("tg-nlb: the node in us-east-1b (1 of the 2 zones DNS gives out, 50% of the clients)"),
        "{}",
        tg.summary
    );
    // A health page that says no while the port answers: the node fails open and i-2 serves.
    let d = run(&nlb_zone_b_unhealthy("Target.ResponseCodeMismatch", off), "nlb", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let w = d.checks.iter().find(|c| c.id == "cloud.target.health" && c.status == CheckStatus::Warn).unwrap();
    assert!(w.summary.contains("fails open"), "{}", w.summary);
}

#[test]
fn every_zone_below_dns_failover_keeps_every_node_and_fails_open() {
    // Both zones' targets unhealthy: DNS gives out both nodes, each fails open to its target.
    let mut a = base();
    let both = json!([
        unhealthy("i-1", 8443, "Target.ResponseCodeMismatch"),
        unhealthy("i-2", 8443, "Target.ResponseCodeMismatch")
    ]);
    set(&mut a, "/LoadBalancerTargetHealth/1/TargetHealthDescriptions", both);
    let d = run(&a, "nlb", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let tg = group_check(&d);
    assert!(tg.summary.contains("fails open"), "{}", tg.summary);
    assert!(tg.evidence.iter().any(|e| e.contains("stays in DNS (every zone is below)")), "{:?}", tg.evidence);
    // Timeouts on the traffic port everywhere (from the nodes): every node's clients fail.
    a["TargetGroupAttributes"] =
        json!([{"TargetGroupArn": TG_NLB, "Attributes": [{"Key": "preserve_client_ip.enabled", "Value": "false"}]}]);
    let both = json!([unhealthy("i-1", 8443, "Target.Timeout"), unhealthy("i-2", 8443, "Target.Timeout")]);
    set(&mut a, "/LoadBalancerTargetHealth/1/TargetHealthDescriptions", both);
    let d = run(&a, "nlb", 443);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["TARGET_UNHEALTHY", "TARGET_UNHEALTHY"]));
}

#[test]
fn a_percentage_threshold_takes_a_half_healthy_zone_out_of_dns() {
    // Zone b holds i-2 (healthy) and i-3 (registered for zone b, failing): 50% < 100%.
    let mut a = base();
    let mut i3 = unhealthy("i-3", 8443, "Target.Timeout");
    i3["Target"]["AvailabilityZone"] = json!("us-east-1b");
    a["LoadBalancerTargetHealth"][1]["TargetHealthDescriptions"].as_array_mut().unwrap().push(i3);
    let pct = json!([{"Key": "target_group_health.dns_failover.minimum_healthy_targets.percentage", "Value": "100"}]);
    a["TargetGroupAttributes"] = json!([{"TargetGroupArn": TG_NLB, "Attributes": pct}]);
    let d = run(&a, "nlb", 443);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    let tg = group_check(&d);
    assert!(
        tg.evidence
            .iter()
            .any(|e| e
                .contains("us-east-1b: 1 of 2 target(s) healthy, below DNS failover's at least 1 healthy and 100%")),
        "{:?}",
        tg.evidence
    );
}

#[test]
fn thresholds_are_breached_by_count_or_percentage() {
    use super::Threshold;
    let t = Threshold { count: Some(2), percent: Some(50) };
    assert!(t.breached(1, 2) && t.breached(2, 5) && !t.breached(2, 4));
    assert!(!Threshold::default().breached(0, 3), "off never breaches");
    assert!(Threshold { count: None, percent: Some(34) }.breached(1, 3));
}

/// The Classic `old` enabled in zones a and b, i-1 (zone a) and i-2 (zone b) registered, with
/// `cross_zone` as its attribute (`None`: the attributes were not collected).
fn classic_two_zones(i1: &str, cross_zone: Option<bool>) -> Value {
    let mut a = base();
    set(&mut a, "/LoadBalancerDescriptions/0/Subnets", json!(["subnet-a", "subnet-b"]));
    set(&mut a, "/LoadBalancerDescriptions/0/Instances", json!([{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]));
    let state = |id: &str, s: &str| json!({"InstanceId": id, "State": s, "ReasonCode": "Instance", "Description": "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."});
    set(&mut a, "/InstanceStates/0/InstanceStates", json!([state("i-1", i1), state("i-2", "InService")]));
    if let Some(on) = cross_zone {
        a["ClassicLoadBalancerAttributes"] =
            json!([{"LoadBalancerName": "old", "LoadBalancerAttributes": {"CrossZoneLoadBalancing": {"Enabled": on}}}]);
    }
    a
}

#[test]
fn classic_without_cross_zone_fails_the_clients_of_a_zone_with_no_instance_in_service() {
    let d = run(&classic_two_zones("OutOfService", Some(false)), "old", 80);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["TARGET_UNHEALTHY"]), "{d:#?}");
    let c = &d.causes[0];
    assert_eq!(c.component, "i-1");
    assert!(c.message.contains("old's node in us-east-1a sends only to targets in us-east-1a (it does not fail open, and cross-zone load balancing is off)"), "{}", c.message);
    assert!(
        c.message.contains(
            "1 of the 2 zones' clients, 50%: the client's handshake completes at the load balancer, which answers HTTP"
        ),
        "{}",
        c.message
    );
    assert!(c.fix.iter().any(|f| f.contains("aws elb modify-load-balancer-attributes")), "{:?}", c.fix);
    // Cross-zone on: the node in zone a sends to i-2 as well.
    let d = run(&classic_two_zones("OutOfService", Some(true)), "old", 80);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    // Not collected: whether zone a's clients fail is not known.
    let d = run(&classic_two_zones("OutOfService", None), "old", 80);
    assert_eq!((d.status, codes(&d)), (Status::Inconclusive, vec![]), "{d:#?}");
    let tg = group_check(&d);
    assert_eq!(tg.status, CheckStatus::Unknown);
    assert!(tg.evidence.iter().any(|e| e.contains("aws elb describe-load-balancer-attributes")), "{:?}", tg.evidence);
    // Every zone with an instance in service: cross-zone does not matter.
    let d = run(&classic_two_zones("InService", None), "old", 80);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
}

#[test]
fn classic_with_an_enabled_zone_holding_no_instance() {
    let mut a = classic_two_zones("InService", Some(false));
    set(&mut a, "/LoadBalancerDescriptions/0/Instances", json!([{"InstanceId": "i-1"}]));
    set(&mut a, "/InstanceStates/0/InstanceStates", json!([{"InstanceId": "i-1", "State": "InService"}]));
    let d = run(&a, "old", 80);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["LB_NO_TARGETS"]), "{d:#?}");
    assert_eq!(d.causes[0].component, "subnet-b");
    assert!(d.causes[0].message.contains("old has no registered target in us-east-1b"), "{}", d.causes[0].message);
}

/// Fix (round 2): an instance the balancer lists but describe-instance-health left out was
/// dropped from the group ("of 1"); it is health unknown, and the group's count includes it.
#[test]
fn a_registered_classic_instance_without_a_state_is_kept_as_health_unknown() {
    let mut a = classic_two_zones("InService", Some(true));
    set(&mut a, "/InstanceStates/0/InstanceStates", json!([{"InstanceId": "i-1", "State": "InService"}]));
    let d = run(&a, "old", 80);
    let tg = group_check(&d);
    assert!(tg.evidence.iter().any(|e| e == "1 healthy, 0 unhealthy, of 2 (InstanceStates)"), "{:?}", tg.evidence);
    let unknown: Vec<&str> = d
        .checks
        .iter()
        .filter(|c| c.id == "cloud.target.health" && c.status == CheckStatus::Unknown)
        .map(|c| c.summary.as_str())
        .collect();
    assert!(unknown.iter().any(|s| s.starts_with("i-2")), "{unknown:?}");
}

#[test]
fn classic_never_fails_open() {
    // Both instances out of service, checked on another port than the traffic's: an elbv2
    // group would fail open and send to them; a Classic balancer sends nothing (HTTP 503).
    let mut a = classic_two_zones("OutOfService", Some(true));
    set(&mut a, "/LoadBalancerDescriptions/0/HealthCheck/Target", json!("HTTP:8443/health"));
    set(&mut a, "/InstanceStates/0/InstanceStates/1/State", json!("OutOfService"));
    let d = run(&a, "old", 80);
    assert_eq!((d.status, blocking(&d)), (Status::Blocked, vec!["TARGET_UNHEALTHY", "TARGET_UNHEALTHY"]), "{d:#?}");
    assert!(d.causes[0].message.contains("sends nothing to an instance out of service"), "{}", d.causes[0].message);
}

/// tg-web turned into an IP target group holding `targets` (health records).
fn ip_targets(targets: Value) -> Value {
    let mut a = base();
    set(&mut a, "/TargetGroups/0/TargetType", json!("ip"));
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", targets);
    a
}

#[test]
fn ip_targets_outside_the_vpc_are_unknown_naming_what_is_missing() {
    // On premises over a VPN, registered for every zone: nothing here can judge its leg.
    let mut far = healthy("192.168.5.10", 8080);
    far["Target"]["AvailabilityZone"] = json!("all");
    // Its health checks run elsewhere (another port): its leg to the traffic port is unknown.
    let mut elsewhere = far.clone();
    elsewhere["HealthCheckPort"] = json!("9000");
    let d = run(&ip_targets(json!([elsewhere])), "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Inconclusive, vec![]), "{d:#?}");
    let leg = d.checks.iter().find(|c| c.id == "cloud.target.security-group").unwrap();
    assert_eq!(leg.status, CheckStatus::Unknown);
    let outside =
        "192.168.5.10 is outside vpc-1 (10.0.0.0/16), registered for every zone (AvailabilityZone all): on premises";
    assert!(leg.evidence[0].contains(outside), "{:?}", leg.evidence);
    // Checked on the traffic port from the same nodes and healthy: AWS's checks show the leg
    // open where the configuration cannot.
    let d = run(&ip_targets(json!([far])), "web", 443);
    assert_eq!((d.status, codes(&d)), (Status::Reachable, vec![]), "{d:#?}");
    let leg = d.checks.iter().find(|c| c.id == "cloud.target.security-group").unwrap();
    assert_eq!(leg.status, CheckStatus::Pass, "{leg:?}");
    assert!(leg.summary.contains("passes AWS's health checks to port 8080"), "{leg:?}");
    assert!(leg.evidence[0].contains(outside), "{:?}", leg.evidence);
    // Inside the VPC, yet no interface holds it: a released address still registered.
    let mut released = healthy("10.0.11.99", 8080);
    released["HealthCheckPort"] = json!("9000");
    let d = run(&ip_targets(json!([released])), "web", 443);
    assert_eq!(d.status, Status::Inconclusive, "{d:#?}");
    let leg = d.checks.iter().find(|c| c.id == "cloud.target.security-group").unwrap();
    assert!(leg.evidence[0].contains("a released address still registered"), "{:?}", leg.evidence);
    // An IPv6 target on an interface of the VPC is placed and its leg judged.
    let mut a = ip_targets(json!([healthy("2001:db8:1::10", 8080)]));
    a["NetworkInterfaces"][0]["Ipv6Addresses"] = json!([{"Ipv6Address": "2001:db8:1::10"}]);
    let d = run(&a, "web", 443);
    let leg = d.checks.iter().find(|c| c.id == "cloud.target.security-group").unwrap();
    assert!(leg.evidence[0].contains("have no IPv6 range in the evidence"), "{:?}", leg.evidence);
    for (i, range) in [(0, "2001:db8:a::/64"), (1, "2001:db8:b::/64")] {
        a["Subnets"][i]["Ipv6CidrBlockAssociationSet"] = json!([{"Ipv6CidrBlock": range}]);
    }
    let d = run(&a, "web", 443);
    let hop = d.path.iter().find(|h| h.hop == "target").unwrap();
    assert!(hop.detail.starts_with("2001:db8:1::10 (eni-1, us-east-1a)"), "{hop:?}");
}

#[test]
fn lambda_targets_have_no_leg_and_no_host_layer() {
    let mut a = base();
    set(&mut a, "/TargetGroups/0/TargetType", json!("lambda"));
    let f = "arn:aws:lambda:us-east-1:111122223333:function:web";
    set(
        &mut a,
        "/LoadBalancerTargetHealth/0/TargetHealthDescriptions",
        json!([{"Target": {"Id": f}, "TargetHealth": {"State": "healthy"}}]),
    );
    let d = run(&a, "web", 443);
    assert_eq!(d.status, Status::Reachable, "{d:#?}");
    let tg = group_check(&d);
    assert!(tg.summary.contains("no network leg and no host layer"), "{}", tg.summary);
    assert!(d.behind.is_empty(), "a function has no host to judge");
}

#[test]
fn a_group_whose_only_healthy_target_is_unjudged_does_not_block_on_its_unhealthy_one() {
    // Batfish's recorded NLB: one target failing its checks, one healthy that nothing here can
    // judge. No node is known to fail, so the unhealthy target's cause stays, not blocking.
    let mut far = healthy("192.168.5.10", 8080);
    far["Target"]["AvailabilityZone"] = json!("all");
    far["HealthCheckPort"] = json!("9000");
    let mut sick = unhealthy("192.168.5.11", 8080, "Target.FailedHealthChecks");
    sick["Target"]["AvailabilityZone"] = json!("all");
    let d = run(&ip_targets(json!([far, sick])), "web", 443);
    assert_eq!(d.status, Status::Inconclusive, "{d:#?}");
    let c = d
        .causes
        .iter()
        .find(|c| c.code == portdoctor_model::CauseCode::TargetUnhealthy)
        .expect("the unhealthy target is named");
    assert!(!c.blocking && c.component == "192.168.5.11", "{c:?}");
    let tg = d.checks.iter().find(|c| c.id == "cloud.target-group").unwrap();
    assert_eq!(tg.status, CheckStatus::Unknown, "{tg:?}");
}

/// The report's lines about the target group, its legs and its targets, one a line: pins the
/// words of branches no other test looks at (issue 14 moved them; these keep them as they were).
fn target_lines(d: &Diagnosis) -> String {
    let mut out = vec![format!("status {:?}", d.status)];
    for c in d
        .checks
        .iter()
        .filter(|c| ["cloud.target", "cloud.lb-security-group", "cloud.health"].iter().any(|p| c.id.starts_with(p)))
    {
        if c.id == "cloud.target" {
            continue;
        }
        out.push(format!("check {} {:?}: {} {:?}", c.id, c.status, c.summary, c.evidence));
    }
    for c in &d.causes {
        let fixes: Vec<String> = c.fix.iter().map(ToString::to_string).collect();
        out.push(format!(
            "cause {} blocking={} {:?}: {} {:?} {:?}",
            c.code.as_str(),
            c.blocking,
            c.confidence,
            c.message,
            c.evidence,
            fixes
        ));
    }
    for h in d.path.iter().filter(|h| h.hop.starts_with("target")) {
        out.push(format!("hop {} {:?}: {}", h.hop, h.status, h.detail));
    }
    out.join("\n")
}

/// Compares `target_lines(&d)` with `pins/NAME.txt`; with PD_PIN_WRITE set, writes it there
/// first (to pin a new case, or after a change to the words that is meant).
macro_rules! assert_pinned {
    ($d:expr, $name:literal) => {{
        if std::env::var_os("PD_PIN_WRITE").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cloud/aws/lb/pins/", $name, ".txt");
            std::fs::write(path, target_lines(&$d)).unwrap();
        }
        assert_eq!(target_lines(&$d), include_str!(concat!("pins/", $name, ".txt")).trim_end());
    }};
}

#[test]
fn registering_and_draining_targets_are_not_causes_yet() {
    let mut a = base();
    let t = json!([
        {"Target": {"Id": "i-1", "Port": 8080}, "HealthCheckPort": "8080", "TargetHealth": {"State": "initial", "Reason": "Elb.RegistrationInProgress"}},
        {"Target": {"Id": "i-2", "Port": 8080}, "HealthCheckPort": "8080", "TargetHealth": {"State": "draining", "Reason": "Target.DeregistrationInProgress"}}]);
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", t);
    let d = run(&a, "web", 443);
    assert_pinned!(d, "registering_and_draining_targets_are_not_causes_yet");
}

#[test]
fn a_classic_instance_without_a_health_record_is_health_unknown() {
    let mut a = base();
    set(&mut a, "/InstanceStates", json!([]));
    let d = run(&a, "old", 80);
    assert_pinned!(d, "a_classic_instance_without_a_health_record_is_health_unknown");
}

#[test]
fn unused_for_another_reason_than_its_zone_is_a_likely_unhealthy_target() {
    let mut a = base();
    let stopped = |id| unused_record(id, "Target.InvalidState", "Target is in the stopped state");
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", json!([stopped("i-1"), stopped("i-2")]));
    let d = run(&a, "web", 443);
    assert_pinned!(d, "unused_for_another_reason_than_its_zone_is_a_likely_unhealthy_target");
}

#[test]
fn an_nlb_whose_targets_refuse_on_the_traffic_port_resets_the_clients() {
    let mut a = nlb_zone_b_unhealthy("Target.FailedHealthChecks", json!([]));
    set(
        &mut a,
        "/LoadBalancerTargetHealth/1/TargetHealthDescriptions/0",
        unhealthy("i-1", 8443, "Target.FailedHealthChecks"),
    );
    let d = run(&a, "nlb", 443);
    assert_pinned!(d, "an_nlb_whose_targets_refuse_on_the_traffic_port_resets_the_clients");
}

#[test]
fn without_security_groups_both_ends_of_the_leg_are_unknown() {
    let mut a = base();
    a.as_object_mut().unwrap().remove("SecurityGroups");
    let d = run(&a, "web", 443);
    assert_pinned!(d, "without_security_groups_both_ends_of_the_leg_are_unknown");
}

#[test]
fn a_target_group_missing_from_the_listing_leaves_its_admission_unknown() {
    let mut a = base();
    set(&mut a, "/NetworkInterfaces/0/Groups", json!([{"GroupId": "sg-gone"}]));
    let d = run(&a, "web", 443);
    assert_pinned!(d, "a_target_group_missing_from_the_listing_leaves_its_admission_unknown");
}

#[test]
fn a_blocked_traffic_leg_speaks_for_the_health_check_leg_too() {
    // The health checks go to 8081 and the target's group admits neither port: only the
    // traffic leg's cause is said, and health is explained by it.
    let mut a = base();
    set(&mut a, "/SecurityGroups/1/IpPermissions/0/FromPort", json!(9999));
    set(&mut a, "/SecurityGroups/1/IpPermissions/0/ToPort", json!(9999));
    set(&mut a, "/TargetGroups/0/HealthCheckPort", json!("8081"));
    let t = |id: &str| json!({"Target": {"Id": id, "Port": 8080}, "HealthCheckPort": "8081", "TargetHealth": {"State": "unhealthy", "Reason": "Target.Timeout"}});
    set(&mut a, "/LoadBalancerTargetHealth/0/TargetHealthDescriptions", json!([t("i-1"), t("i-2")]));
    let d = run(&a, "web", 443);
    assert_pinned!(d, "a_blocked_traffic_leg_speaks_for_the_health_check_leg_too");
}
