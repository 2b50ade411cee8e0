//! Cloud engine at account scale (issue: AWS cloud path analysis). A generated snapshot of
//! 10,000 instances/ENIs, 2,000 security groups × 50 rules, 500 network ACLs, 500 route tables,
//! and 2,000 Application Load Balancers with 10,000 targets (issue 15): prints load+index time,
//! one query after load, one load-balancer query after load, the whole account's exposure of one
//! port, and peak RSS. Run: `cargo bench -p portdoctor-engine --bench cloud_scale`.

#![allow(clippy::unwrap_used)]

use portdoctor_engine::cloud::{AwsIndex, CloudQuery, CloudTarget, diagnose_indexed};
use portdoctor_model::Status;
use portdoctor_model::cloud::PortRange;
use portdoctor_model::net::{Proto, Source};
use portdoctor_testbed::rng::Rng;
use serde_json::{Value, json};
use std::time::Instant;

const VPCS: usize = 50;
const SUBNETS_PER_VPC: usize = 10; // 500 subnets, each with its own ACL and route table
const SGS_PER_VPC: usize = 40; // 2,000 groups
const RULES_PER_SG: usize = 50;
const INSTANCES_PER_SUBNET: usize = 20; // 10,000 instances and interfaces
const LBS_PER_VPC: usize = 40; // 2,000 load balancers
const TARGETS_PER_LB: usize = 5; // 10,000 targets

fn account() -> Vec<(String, String)> {
    let mut rng = Rng::new(0x5eed_cafe);
    let (mut vpcs, mut subnets, mut acls, mut rtbs, mut igws, mut sgs, mut enis, mut reservations) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut public = 0u32;
    for v in 0..VPCS {
        let vpc = format!("vpc-{v:05}");
        vpcs.push(json!({"VpcId": vpc, "CidrBlock": format!("10.{v}.0.0/16")}));
        igws.push(
            json!({"InternetGatewayId": format!("igw-{v:05}"), "Attachments": [{"VpcId": vpc, "State": "available"}]}),
        );
        for g in 0..SGS_PER_VPC {
            let rules: Vec<Value> = (0..RULES_PER_SG)
                .map(|r| {
                    let port = [22, 80, 443, 8080, 5432][r % 5] + (rng.below(3) as u16) * 1000;
                    let cidr = if rng.below(10) == 0 {
                        "0.0.0.0/0".to_string()
                    } else {
                        format!("{}.{}.{}.0/24", 11 + rng.below(180), rng.below(256), rng.below(256))
                    };
                    json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]})
                })
                .collect();
            sgs.push(json!({"GroupId": format!("sg-{v:03}{g:03}"), "GroupName": format!("g{g}"), "VpcId": vpc, "IpPermissions": rules}));
        }
        for s in 0..SUBNETS_PER_VPC {
            let subnet = format!("subnet-{v:03}{s:03}");
            subnets.push(json!({"SubnetId": subnet, "VpcId": vpc, "CidrBlock": format!("10.{v}.{s}.0/24")}));
            let mut entries = vec![];
            // One subnet in five blocks a few public /16s ahead of its allow-all rule.
            let blocks = s % 5 == 0;
            for n in 0..8u32 {
                let action = if blocks && n % 3 == 0 { "deny" } else { "allow" };
                let cidr = format!("{}.{}.0.0/16", 11 + rng.below(180), rng.below(256));
                entries.push(json!({"RuleNumber": 10 + n * 10, "Egress": false, "Protocol": "6", "RuleAction": action, "CidrBlock": cidr, "PortRange": {"From": 1, "To": 65535}}));
                entries.push(json!({"RuleNumber": 10 + n * 10, "Egress": true, "Protocol": "6", "RuleAction": action, "CidrBlock": cidr, "PortRange": {"From": 1024, "To": 65535}}));
            }
            entries.push(json!({"RuleNumber": 100, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}));
            entries.push(json!({"RuleNumber": 100, "Egress": true, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}));
            acls.push(json!({"NetworkAclId": format!("acl-{v:03}{s:03}"), "VpcId": vpc, "Associations": [{"SubnetId": subnet}], "Entries": entries}));
            let mut routes = vec![
                json!({"DestinationCidrBlock": format!("10.{v}.0.0/16"), "GatewayId": "local", "State": "active"}),
            ];
            if s % 4 != 3 {
                routes.push(
                    json!({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": format!("igw-{v:05}"), "State": "active"}),
                );
            }
            routes.push(json!({"DestinationCidrBlock": "172.16.0.0/12", "VpcPeeringConnectionId": format!("pcx-{v:05}"), "State": "active"}));
            rtbs.push(json!({"RouteTableId": format!("rtb-{v:03}{s:03}"), "VpcId": vpc, "Associations": [{"SubnetId": subnet}], "Routes": routes}));
            for i in 0..INSTANCES_PER_SUBNET {
                let id = format!("i-{v:03}{s:03}{i:03}");
                let private = format!("10.{v}.{s}.{}", 10 + i);
                let groups: Vec<Value> = (0..1 + rng.below(3))
                    .map(|_| json!({"GroupId": format!("sg-{v:03}{:03}", rng.below(SGS_PER_VPC as u64))}))
                    .collect();
                // Public addresses from 198.18.0.0/15 (RFC 2544 benchmarking): data only.
                let assoc = if rng.below(10) < 6 {
                    public += 1;
                    json!({"PublicIp": format!("198.{}.{}.{}", 18 + (public >> 16), (public >> 8) & 255, public & 255), "IpOwnerId": "amazon"})
                } else {
                    Value::Null
                };
                enis.push(json!({"NetworkInterfaceId": format!("eni-{v:03}{s:03}{i:03}"), "VpcId": vpc, "SubnetId": subnet, "Status": "in-use",
                    "Attachment": {"InstanceId": id, "DeviceIndex": 0},
                    "PrivateIpAddresses": [{"PrivateIpAddress": private, "Primary": true, "Association": assoc}], "Groups": groups}));
                let state = if rng.below(20) == 0 { "stopped" } else { "running" };
                reservations.push(json!({"Instances": [{"InstanceId": id, "State": {"Name": state}, "VpcId": vpc, "SubnetId": subnet}]}));
            }
        }
    }
    let doc = |k: &str, v: Vec<Value>| (format!("{k}.json"), json!({ k: v }).to_string());
    let lb = load_balancers();
    vec![
        doc("LoadBalancers", lb.0),
        doc("LoadBalancerListeners", lb.1),
        doc("TargetGroups", lb.2),
        doc("LoadBalancerTargetHealth", lb.3),
        doc("Vpcs", vpcs),
        doc("Subnets", subnets),
        doc("NetworkAcls", acls),
        doc("RouteTables", rtbs),
        doc("InternetGateways", igws),
        doc("SecurityGroups", sgs),
        doc("NetworkInterfaces", enis),
        doc("Reservations", reservations),
        doc("Addresses", vec![]),
        doc("EgressOnlyInternetGateways", vec![]),
        doc("PrefixLists", vec![]),
    ]
}

/// Application Load Balancers: in subnets 0 and 1 of each VPC, each in front of 5 instances of
/// that VPC on 8080 (LoadBalancers, LoadBalancerListeners, TargetGroups, LoadBalancerTargetHealth).
fn load_balancers() -> (Vec<Value>, Vec<Value>, Vec<Value>, Vec<Value>) {
    let (mut lbs, mut listeners, mut tgs, mut health) = (vec![], vec![], vec![], vec![]);
    for v in 0..VPCS {
        for l in 0..LBS_PER_VPC {
            let (arn, tg) = (format!("arn:lb/app/lb-{v}-{l}/1"), format!("arn:tg/tg-{v}-{l}/1"));
            lbs.push(json!({"LoadBalancerArn": arn, "LoadBalancerName": format!("lb-{v}-{l}"), "DNSName": format!("lb-{v}-{l}.elb.amazonaws.com"),
                "Type": "application", "Scheme": "internet-facing", "State": {"Code": "active"}, "VpcId": format!("vpc-{v:05}"),
                "AvailabilityZones": [{"ZoneName": "a", "SubnetId": format!("subnet-{v:03}000")}, {"ZoneName": "b", "SubnetId": format!("subnet-{v:03}001")}],
                "SecurityGroups": [format!("sg-{v:03}{:03}", l % SGS_PER_VPC)]}));
            listeners.push(json!({"LoadBalancerArn": arn, "Listeners": [{"ListenerArn": format!("{arn}/443"), "Port": 443, "Protocol": "HTTPS",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg}]}]}));
            tgs.push(json!({"TargetGroupArn": tg, "TargetGroupName": format!("tg-{v}-{l}"), "Protocol": "HTTP", "Port": 8080, "TargetType": "instance", "HealthCheckPort": "traffic-port"}));
            let targets: Vec<Value> = (0..TARGETS_PER_LB)
                .map(|t| {
                    let i = (l * TARGETS_PER_LB + t) % (SUBNETS_PER_VPC * INSTANCES_PER_SUBNET);
                    let id = format!("i-{v:03}{:03}{:03}", i / INSTANCES_PER_SUBNET, i % INSTANCES_PER_SUBNET);
                    json!({"Target": {"Id": id, "Port": 8080}, "TargetHealth": {"State": if t == 0 { "unhealthy" } else { "healthy" }, "Reason": "Target.Timeout"}})
                })
                .collect();
            health.push(json!({"TargetGroupArn": tg, "TargetHealthDescriptions": targets}));
        }
    }
    (lbs, listeners, tgs, health)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn main() {
    let docs = account();
    let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();
    let t = Instant::now();
    let ev = portdoctor_parse::aws::parse_aws(&docs).unwrap();
    let idx = AwsIndex::new(&ev);
    let load = t.elapsed();
    let ids = idx.instance_ids();
    let query = |id: &str, port: u16| CloudQuery {
        port,
        proto: Proto::Tcp,
        from: Source::Internet,
        target: CloudTarget::Instance(id.to_string()),
        client_ports: PortRange { from: 1024, to: 65535 },
        changes: Default::default(),
    };
    let n = 1000;
    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(diagnose_indexed(&idx, &query(ids[(i * 7919) % ids.len()], 443)));
    }
    let one = t.elapsed() / n as u32;
    let lb_query = |name: String| CloudQuery { target: CloudTarget::LoadBalancer(name), ..query("", 443) };
    let t = Instant::now();
    for i in 0..n {
        let q = lb_query(format!("lb-{}-{}.elb.amazonaws.com", (i * 31) % VPCS, (i * 7) % LBS_PER_VPC));
        std::hint::black_box(diagnose_indexed(&idx, &q));
    }
    let one_lb = t.elapsed() / n as u32;
    let t = Instant::now();
    let exposed = ids.iter().filter(|id| diagnose_indexed(&idx, &query(id, 443)).status == Status::Reachable).count();
    let all = t.elapsed();
    println!(
        "account: {} instances, {} security groups x {RULES_PER_SG} rules, {} ACLs, {} route tables; {:.1} MB of JSON",
        ids.len(),
        VPCS * SGS_PER_VPC,
        VPCS * SUBNETS_PER_VPC,
        VPCS * SUBNETS_PER_VPC,
        bytes as f64 / 1e6
    );
    println!("load + index:            {:>8.1} ms   (target <= 2000 ms)", load.as_secs_f64() * 1e3);
    println!("one query after load:    {:>8.3} ms   (target <= 5 ms; mean of {n})", one.as_secs_f64() * 1e3);
    println!(
        "one load-balancer query: {:>8.3} ms   (target <= 5 ms; mean of {n}, by DNS name, of {} balancers x {TARGETS_PER_LB} targets)",
        one_lb.as_secs_f64() * 1e3,
        VPCS * LBS_PER_VPC
    );
    println!(
        "exposure of tcp/443:     {:>8.1} ms   (target <= 1000 ms; {exposed} of {} instances reachable from the whole internet)",
        all.as_secs_f64() * 1e3,
        ids.len()
    );
    println!("peak RSS:                {:>8.1} MB", peak_rss_mb());
}
