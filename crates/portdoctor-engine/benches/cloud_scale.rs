//! Cloud engine at account scale (issues: AWS cloud path analysis; 15, load balancers). A
//! generated snapshot of 10,000 instances/ENIs, 2,000 security groups × 50 rules, 500 network
//! ACLs, 500 route tables, and 2,000 load balancers (800 ALB, 800 NLB, 400 Classic) with their
//! listeners, rules, 3,200 target groups and 10,000 registered targets with health: prints
//! load+index time, one query after load, the whole account's exposure of one port, and peak
//! RSS. Run: `cargo bench -p portdoctor-engine --bench cloud_scale`.
//!
//! `cargo bench -p portdoctor-engine --bench cloud_scale -- --write DIR` writes the same account
//! as a snapshot folder instead (one file per top-level key), for timing `portdoctor cloud
//! --snapshot DIR` end to end (docs/benchmarks.md).

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
const LBS_PER_VPC: usize = 40; // 2,000 load balancers: of every five, 2 ALB, 2 NLB, 1 Classic
const TARGETS_PER_GROUP: usize = 3; // 2 groups per ALB/NLB: 9,600 targets, + 400 Classic = 10,000

/// Documents as `(file name, text)`.
type Docs = Vec<(String, String)>;

/// A list of items, each serialised as soon as it is made: the generator holds text, not a
/// tree of `serde_json::Value`s (which was most of this bench's own peak RSS, and none of the
/// parser's).
#[derive(Default)]
struct Items(Vec<String>);

impl Items {
    fn push(&mut self, v: Value) {
        self.0.push(v.to_string());
    }

    /// `{"Key": [items…]}`.
    fn doc(self, key: &str) -> (String, String) {
        (format!("{key}.json"), format!("{{\"{key}\":[{}]}}", self.0.join(",")))
    }
}

fn account() -> Docs {
    let mut rng = Rng::new(0x5eed_cafe);
    let (mut vpcs, mut subnets, mut acls, mut rtbs, mut igws) =
        (Items::default(), Items::default(), Items::default(), Items::default(), Items::default());
    let (mut sgs, mut enis, mut reservations) = (Items::default(), Items::default(), Items::default());
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
                    json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}], "UserIdGroupPairs": []})
                })
                .collect();
            sgs.push(json!({"GroupId": format!("sg-{v:03}{g:03}"), "GroupName": format!("g{g}"), "VpcId": vpc, "IpPermissions": rules}));
        }
        for s in 0..SUBNETS_PER_VPC {
            let subnet = format!("subnet-{v:03}{s:03}");
            subnets.push(json!({"SubnetId": subnet, "VpcId": vpc, "CidrBlock": format!("10.{v}.{s}.0/24"), "AvailabilityZone": zone(s)}));
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
                    "PrivateIpAddresses": [{"PrivateIpAddress": private, "Primary": true, "Association": assoc}], "Ipv6Addresses": [], "Groups": groups}));
                let state = if rng.below(20) == 0 { "stopped" } else { "running" };
                reservations.push(json!({"Instances": [{"InstanceId": id, "State": {"Name": state}, "VpcId": vpc, "SubnetId": subnet}]}));
            }
        }
    }
    let mut docs = vec![
        vpcs.doc("Vpcs"),
        subnets.doc("Subnets"),
        acls.doc("NetworkAcls"),
        rtbs.doc("RouteTables"),
        igws.doc("InternetGateways"),
        sgs.doc("SecurityGroups"),
        enis.doc("NetworkInterfaces"),
        reservations.doc("Reservations"),
        Items::default().doc("Addresses"),
        Items::default().doc("EgressOnlyInternetGateways"),
        Items::default().doc("PrefixLists"),
        (
            "VpcBlockPublicAccessOptions.json".into(),
            r#"{"VpcBlockPublicAccessOptions":{"InternetGatewayBlockMode":"off"}}"#.into(),
        ),
    ];
    docs.extend(load_balancers(&mut rng));
    docs
}

/// Subnet `s`'s zone: three zones, so a balancer in the first two leaves some targets in a
/// zone it does not serve.
fn zone(s: usize) -> String {
    format!("us-east-1{}", ["a", "b", "c"][s % 3])
}

const ACCOUNT: &str = "123456789012";

/// The load balancers, in Batfish's layout (CONTRACT.md §5), as `snapshot aws` writes them.
fn load_balancers(rng: &mut Rng) -> Docs {
    let mut d: [Items; 9] = Default::default();
    let [lbs, listeners, rules, lb_attributes, groups, health, tg_attributes, classic, states] = &mut d;
    let arn = |kind: &str, name: &str, n: usize| {
        format!("arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:{kind}/{name}/{n:016x}")
    };
    let instance = |rng: &mut Rng, v: usize| {
        let (s, i) = (rng.below(SUBNETS_PER_VPC as u64), rng.below(INSTANCES_PER_SUBNET as u64));
        format!("i-{v:03}{s:03}{i:03}")
    };
    for v in 0..VPCS {
        let vpc = format!("vpc-{v:05}");
        let subnets = [format!("subnet-{v:03}000"), format!("subnet-{v:03}001")];
        for k in 0..LBS_PER_VPC {
            let n = v * LBS_PER_VPC + k;
            let scheme = if rng.below(10) == 0 { "internal" } else { "internet-facing" };
            if k % 5 == 4 {
                let name = format!("classic-{n}");
                let target = instance(rng, v);
                classic.push(json!({
                    "LoadBalancerName": name, "DNSName": format!("{name}-{n}.us-east-1.elb.amazonaws.com"),
                    "CanonicalHostedZoneNameID": "Z35SXDOTRQ7X7K",
                    "ListenerDescriptions": [{"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}, "PolicyNames": []}],
                    "AvailabilityZones": [zone(0), zone(1)], "Subnets": subnets, "VPCId": vpc,
                    "Instances": [{"InstanceId": target}],
                    "HealthCheck": {"Target": "HTTP:8080/health", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2, "HealthyThreshold": 10},
                    "SecurityGroups": [format!("sg-{v:03}000")], "Scheme": scheme, "CreatedTime": "2026-01-05T10:00:00.000Z",
                }));
                let state = if rng.below(10) == 0 {
                    json!({"InstanceId": target, "State": "OutOfService", "ReasonCode": "Instance", "Description": "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."})
                } else {
                    json!({"InstanceId": target, "State": "InService", "ReasonCode": "N/A", "Description": "N/A"})
                };
                states.push(json!({"LoadBalancerName": name, "InstanceStates": [state]}));
                continue;
            }
            let alb = k % 5 < 2;
            let (kind, short) = if alb { ("application", "app") } else { ("network", "net") };
            let name = format!("{short}-{n}");
            let lb_arn = arn(&format!("loadbalancer/{short}"), &name, n);
            let zones: Vec<Value> = subnets
                .iter()
                .enumerate()
                .map(|(s, subnet)| {
                    let mut z = json!({"ZoneName": zone(s), "SubnetId": subnet, "LoadBalancerAddresses": []});
                    if !alb {
                        // Public addresses from 198.18.0.0/15 (RFC 2544 benchmarking): data only.
                        z["LoadBalancerAddresses"] = json!([{"IpAddress": format!("198.19.{}.{}", n >> 6, (n & 63) * 4 + s), "AllocationId": format!("eipalloc-{n:08x}{s}")}]);
                    }
                    z
                })
                .collect();
            let state = if rng.below(50) == 0 { "provisioning" } else { "active" };
            let mut lb = json!({
                "LoadBalancerArn": lb_arn, "DNSName": format!("{name}-{n:08x}.elb.us-east-1.amazonaws.com"),
                "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K", "CreatedTime": "2026-01-05T10:00:00.000Z",
                "LoadBalancerName": name, "Scheme": scheme, "VpcId": vpc, "State": {"Code": state}, "Type": kind,
                "AvailabilityZones": zones, "IpAddressType": if rng.below(4) == 0 { "dualstack" } else { "ipv4" },
            });
            if alb || rng.below(2) == 0 {
                lb["SecurityGroups"] = json!([format!("sg-{v:03}{:03}", rng.below(SGS_PER_VPC as u64))]);
            }
            lbs.push(lb);
            let attributes: &[(&str, &str)] = if alb {
                &[
                    ("deletion_protection.enabled", "false"),
                    ("idle_timeout.timeout_seconds", "60"),
                    ("routing.http2.enabled", "true"),
                    ("routing.http.drop_invalid_header_fields.enabled", "false"),
                    ("load_balancing.cross_zone.enabled", "true"),
                    ("access_logs.s3.enabled", "false"),
                ]
            } else {
                &[
                    ("deletion_protection.enabled", "false"),
                    ("load_balancing.cross_zone.enabled", "false"),
                    ("dns_record.client_routing_policy", "any_availability_zone"),
                    ("access_logs.s3.enabled", "false"),
                ]
            };
            lb_attributes.push(json!({"LoadBalancerArn": lb_arn, "Attributes": key_values(attributes)}));
            // Two groups: the traffic port and a second service.
            let (proto, ports) = if alb { ("HTTP", [8080, 9090]) } else { ("TCP", [443, 8443]) };
            let mut tg_arns = vec![];
            for (g, port) in ports.iter().enumerate() {
                let tg_name = format!("tg-{n}-{g}");
                let tg_arn = arn("targetgroup", &tg_name, n * 2 + g);
                groups.push(json!({
                    "TargetGroupArn": tg_arn, "TargetGroupName": tg_name, "Protocol": proto, "Port": port, "VpcId": vpc,
                    "HealthCheckProtocol": proto, "HealthCheckPort": "traffic-port", "HealthCheckEnabled": true,
                    "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2,
                    "HealthCheckPath": if alb { Some("/health") } else { None }, "Matcher": if alb { Some(json!({"HttpCode": "200"})) } else { None },
                    "LoadBalancerArns": [lb_arn], "TargetType": "instance", "IpAddressType": "ipv4",
                }));
                let descriptions: Vec<Value> = (0..TARGETS_PER_GROUP)
                    .map(|_| {
                        let target = instance(rng, v);
                        let health = match rng.below(100) {
                            0..85 => json!({"State": "healthy"}),
                            85..95 => {
                                let (reason, description) = [
                                    ("Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]"),
                                    ("Target.Timeout", "Request timed out"),
                                    ("Target.FailedHealthChecks", "Health checks failed"),
                                ][rng.below(3) as usize];
                                json!({"State": "unhealthy", "Reason": reason, "Description": description})
                            }
                            95..98 => json!({"State": "unused", "Reason": "Target.NotInUse", "Description": "Target group is not configured to receive traffic from the load balancer"}),
                            _ => json!({"State": "draining", "Reason": "Target.DeregistrationInProgress", "Description": "Target deregistration is in progress"}),
                        };
                        json!({"Target": {"Id": target, "Port": port}, "HealthCheckPort": port.to_string(), "TargetHealth": health})
                    })
                    .collect();
                health.push(json!({"TargetGroupArn": tg_arn, "TargetHealthDescriptions": descriptions}));
                let mut attributes =
                    vec![("deregistration_delay.timeout_seconds", "300"), ("stickiness.enabled", "false")];
                if !alb {
                    attributes.extend([("preserve_client_ip.enabled", "true"), ("proxy_protocol_v2.enabled", "false")]);
                }
                tg_attributes.push(json!({"TargetGroupArn": tg_arn, "Attributes": key_values(&attributes)}));
                tg_arns.push(tg_arn);
            }
            let forward = |tg: &str| json!([{"Type": "forward", "TargetGroupArn": tg, "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}]}}]);
            let listener_arn = |l: usize| {
                format!("arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/{short}/{name}/{n:016x}/{l:016x}")
            };
            let list: Vec<Value> = if alb {
                let redirect = json!([{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}]);
                rules.push(json!({"ListenerArn": listener_arn(0), "Rules": [{"RuleArn": format!("{}/default", listener_arn(0)), "Priority": "default", "Conditions": [], "Actions": redirect, "IsDefault": true}]}));
                rules.push(json!({"ListenerArn": listener_arn(1), "Rules": [
                    {"RuleArn": format!("{}/10", listener_arn(1)), "Priority": "10", "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}}], "Actions": forward(&tg_arns[1]), "IsDefault": false},
                    {"RuleArn": format!("{}/default", listener_arn(1)), "Priority": "default", "Conditions": [], "Actions": forward(&tg_arns[0]), "IsDefault": true}]}));
                vec![
                    json!({"ListenerArn": listener_arn(0), "LoadBalancerArn": lb_arn, "Port": 80, "Protocol": "HTTP", "DefaultActions": redirect}),
                    json!({"ListenerArn": listener_arn(1), "LoadBalancerArn": lb_arn, "Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                        "Certificates": [{"CertificateArn": format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{n:08x}")}], "DefaultActions": forward(&tg_arns[0])}),
                ]
            } else {
                vec![
                    json!({"ListenerArn": listener_arn(0), "LoadBalancerArn": lb_arn, "Port": 443, "Protocol": "TCP", "DefaultActions": forward(&tg_arns[0])}),
                    json!({"ListenerArn": listener_arn(1), "LoadBalancerArn": lb_arn, "Port": 8443, "Protocol": "TCP", "DefaultActions": forward(&tg_arns[1])}),
                ]
            };
            listeners.push(json!({"LoadBalancerArn": lb_arn, "Listeners": list}));
        }
    }
    let keys = [
        "LoadBalancers",
        "LoadBalancerListeners",
        "ListenerRules",
        "LoadBalancerAttributes",
        "TargetGroups",
        "LoadBalancerTargetHealth",
        "TargetGroupAttributes",
        "LoadBalancerDescriptions",
        "InstanceStates",
    ];
    d.into_iter().zip(keys).map(|(items, key)| items.doc(key)).collect()
}

fn key_values(pairs: &[(&str, &str)]) -> Value {
    pairs.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect()
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

/// `--write DIR`: the account as a snapshot folder, for `portdoctor cloud --snapshot DIR`.
fn write(dir: &std::path::Path, docs: &Docs) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in docs {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();
    println!("wrote {} files, {:.1} MB, to {}", docs.len(), bytes as f64 / 1e6, dir.display());
}

fn main() {
    let docs = account();
    let args: Vec<String> = std::env::args().collect();
    if let Some(dir) = args.iter().position(|a| a == "--write").and_then(|i| args.get(i + 1)) {
        return write(std::path::Path::new(dir), &docs);
    }
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
        family: None,
        name: None,
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
        // Every kind in turn (of every five: 2 ALB, 2 NLB, 1 Classic), by name.
        let (v, k) = ((i * 31) % VPCS, (i * 7) % LBS_PER_VPC);
        let kind = ["app", "app", "net", "net", "classic"][k % 5];
        let q = lb_query(format!("{kind}-{}", v * LBS_PER_VPC + k));
        std::hint::black_box(diagnose_indexed(&idx, &q));
    }
    let one_lb = t.elapsed() / n as u32;
    let t = Instant::now();
    let exposed = ids.iter().filter(|id| diagnose_indexed(&idx, &query(id, 443)).status == Status::Reachable).count();
    let all = t.elapsed();
    println!(
        "account: {} instances, {} security groups x {RULES_PER_SG} rules, {} ACLs, {} route tables, {} load balancers; {:.1} MB of JSON",
        ids.len(),
        VPCS * SGS_PER_VPC,
        VPCS * SUBNETS_PER_VPC,
        VPCS * SUBNETS_PER_VPC,
        VPCS * LBS_PER_VPC,
        bytes as f64 / 1e6
    );
    println!("load + index:            {:>8.1} ms   (target <= 2000 ms)", load.as_secs_f64() * 1e3);
    println!("one query after load:    {:>8.3} ms   (target <= 5 ms; mean of {n})", one.as_secs_f64() * 1e3);
    println!(
        "one load-balancer query: {:>8.3} ms   (target <= 5 ms; mean of {n}, by name, of {} balancers)",
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
