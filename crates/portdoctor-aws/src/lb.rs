//! Live collection of load balancers (Elastic Load Balancing v2: ALB, NLB, GWLB; and Classic),
//! written as the documents of a snapshot in Batfish's layout (CONTRACT.md §5):
//! `LoadBalancers`, `LoadBalancerListeners`, `ListenerRules`, `LoadBalancerAttributes`,
//! `TargetGroups`, `LoadBalancerTargetHealth`, `TargetGroupAttributes`, and for Classic
//! `LoadBalancerDescriptions`, `InstanceStates` and `ClassicLoadBalancerAttributes`. Field names are the API's (the AWS CLI
//! prints the service model's member names, which for these Query-protocol services are also
//! the wire names). Read-only: Describe* only, each in docs/iam-policy.json.
//!
//! Per-resource calls (a balancer's listeners, a target group's health) that fail are recorded
//! with the resource's ARN or name in the message, and that resource has no entry in the list:
//! absent with a failure recorded means unknown, never "none".

use crate::{Session, describe_error};
use aws_config::SdkConfig;
use aws_sdk_elasticloadbalancing as elb;
use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::error::ProvideErrorMetadata;
use serde_json::{Value, json};

/// Which load balancers to collect.
pub(crate) enum Which<'a> {
    /// Every one in the region (`snapshot aws`).
    Region,
    /// One, as the user typed it: a name, an ARN or a DNS name.
    One(&'a str),
}

/// What a one-balancer collection found: whether the lookup answered at all, and the VPCs the
/// balancer and its target groups live in (whose EC2 documents judge the legs).
pub(crate) struct Found {
    pub(crate) looked_up: bool,
    pub(crate) vpcs: Vec<String>,
}

/// A v2 or Classic lookup that answered "no such load balancer": an empty answer, not a failure.
fn not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("LoadBalancerNotFound")
}

/// A DNS name as users write it: case-insensitive, an optional trailing dot, and ALB's
/// `dualstack.` alias prefix.
fn same_dns(typed: &str, dns: Option<&str>) -> bool {
    let norm = |s: &str| {
        let s = s.trim_end_matches('.').to_ascii_lowercase();
        s.strip_prefix("dualstack.").map(str::to_string).unwrap_or(s)
    };
    dns.is_some_and(|d| norm(d) == norm(typed))
}

/// The load balancers (and their listeners, rules, target groups, health, attributes) of `which`.
pub(crate) async fn collect(s: &mut Session, config: &SdkConfig, which: Which<'_>) -> Found {
    let v2 = elbv2::Client::new(config);
    let classic = elb::Client::new(config);
    let mut found = Found { looked_up: false, vpcs: Vec::new() };
    let balancers = v2_balancers(s, &v2, &which, &mut found).await;
    let descriptions = classic_balancers(s, &classic, &which, &mut found).await;
    for vpc in balancers.iter().filter_map(|b| b.vpc_id()).chain(descriptions.iter().filter_map(|d| d.vpc_id())) {
        if !found.vpcs.iter().any(|v| v == vpc) {
            found.vpcs.push(vpc.to_string());
        }
    }
    if let Some(balancers) = balancers_known(s, "LoadBalancers", balancers) {
        v2_details(s, &v2, &balancers, &which, &mut found).await;
    }
    if let Some(descriptions) = balancers_known(s, "LoadBalancerDescriptions", descriptions) {
        classic_health(s, &classic, &descriptions).await;
    }
    found
}

/// The list when its call answered (a failure was recorded otherwise, and nothing follows).
fn balancers_known<T>(s: &Session, key: &str, list: Vec<T>) -> Option<Vec<T>> {
    s.docs.iter().any(|(n, _)| n.strip_suffix(".json") == Some(key)).then_some(list)
}

/// How one family (v2 or Classic) is asked for `which`.
enum Ask<'a> {
    All,
    Name(&'a str),
    Arn(&'a str),
    /// The region's list, matched on DNS name (the API has no filter for it).
    Dns(&'a str),
    /// An ARN of the other family: nothing to ask.
    Neither,
}

impl<'a> Ask<'a> {
    fn new(which: &Which<'a>, classic: bool) -> Ask<'a> {
        match *which {
            Which::Region => Ask::All,
            // A Classic ARN ends in the balancer's name, which is what its API takes.
            Which::One(t) if is_classic_arn(t) && classic => Ask::Name(t.rsplit('/').next().unwrap_or(t)),
            Which::One(t)
                if t.starts_with("arn:") && t.contains(":loadbalancer/") && !is_classic_arn(t) && !classic =>
            {
                Ask::Arn(t)
            }
            Which::One(t) if t.starts_with("arn:") => Ask::Neither,
            Which::One(t) if t.contains('.') => Ask::Dns(t),
            Which::One(t) => Ask::Name(t),
        }
    }

    fn dns_matches(&self, names: &[Option<&str>]) -> bool {
        match self {
            Ask::Dns(d) => names.iter().any(|n| same_dns(d, *n)),
            _ => true,
        }
    }
}

/// A balancer list's answer: written and returned, "not found" being an empty answer, or the
/// failure recorded.
fn listed<T, E, R>(
    s: &mut Session,
    found: &mut Found,
    (key, action): (&'static str, &'static str),
    r: Result<Vec<T>, elbv2::error::SdkError<E, R>>,
    convert: fn(&T) -> Value,
) -> Vec<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match r {
        Ok(list) => {
            found.looked_up = true;
            s.put(key, list.iter().map(convert).collect());
            list
        }
        Err(e) if e.as_service_error().is_some_and(not_found) => answered_none(s, found, key),
        Err(e) => {
            s.failed(key, action, describe_error(&e));
            Vec::new()
        }
    }
}

/// The lookup answered that there is none: an empty list, known to be empty.
fn answered_none<T>(s: &mut Session, found: &mut Found, key: &'static str) -> Vec<T> {
    found.looked_up = true;
    s.put(key, Vec::new());
    Vec::new()
}

const V2_BALANCERS: (&str, &str) = ("LoadBalancers", "elasticloadbalancing:DescribeLoadBalancers");
const CLASSIC_BALANCERS: (&str, &str) = ("LoadBalancerDescriptions", "elasticloadbalancing:DescribeLoadBalancers");

async fn v2_balancers(
    s: &mut Session,
    c: &elbv2::Client,
    which: &Which<'_>,
    found: &mut Found,
) -> Vec<elbv2::types::LoadBalancer> {
    let ask = Ask::new(which, false);
    let req = match ask {
        Ask::Name(n) => c.describe_load_balancers().names(n),
        Ask::Arn(a) => c.describe_load_balancers().load_balancer_arns(a),
        Ask::Neither => return answered_none(s, found, V2_BALANCERS.0),
        Ask::All | Ask::Dns(_) => c.describe_load_balancers(),
    };
    let r = req.into_paginator().send().collect::<Result<Vec<_>, _>>().await.map(|pages| {
        let all = pages.iter().flat_map(|p| p.load_balancers().iter().cloned());
        all.filter(|b| ask.dns_matches(&[b.dns_name()])).collect()
    });
    listed(s, found, V2_BALANCERS, r, load_balancer)
}

/// A Classic load balancer's ARN names no type: `…:loadbalancer/NAME`, where v2's are
/// `…:loadbalancer/app|net|gwy/NAME/ID`.
fn is_classic_arn(arn: &str) -> bool {
    arn.split_once(":loadbalancer/").is_some_and(|(_, rest)| !rest.contains('/'))
}

async fn classic_balancers(
    s: &mut Session,
    c: &elb::Client,
    which: &Which<'_>,
    found: &mut Found,
) -> Vec<elb::types::LoadBalancerDescription> {
    let ask = Ask::new(which, true);
    let req = match ask {
        Ask::Name(n) => c.describe_load_balancers().load_balancer_names(n),
        Ask::Arn(_) | Ask::Neither => return answered_none(s, found, CLASSIC_BALANCERS.0),
        Ask::All | Ask::Dns(_) => c.describe_load_balancers(),
    };
    let r = req.into_paginator().send().collect::<Result<Vec<_>, _>>().await.map(|pages| {
        let all = pages.iter().flat_map(|p| p.load_balancer_descriptions().iter().cloned());
        all.filter(|b| ask.dns_matches(&[b.dns_name(), b.canonical_hosted_zone_name()])).collect()
    });
    listed(s, found, CLASSIC_BALANCERS, r, classic_load_balancer)
}

/// One per-resource call's answer: `Some` items, or `None` after recording the failure with the
/// resource named.
fn answer<T, E, R>(
    s: &mut Session,
    (key, action): (&'static str, &'static str),
    resource: &str,
    r: Result<T, elbv2::error::SdkError<E, R>>,
) -> Option<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            let (outcome, message) = describe_error(&e);
            s.failed(key, action, (outcome, format!("{resource}: {message}")));
            None
        }
    }
}

const LISTENERS: (&str, &str) = ("LoadBalancerListeners", "elasticloadbalancing:DescribeListeners");
const RULES: (&str, &str) = ("ListenerRules", "elasticloadbalancing:DescribeRules");
const LB_ATTRIBUTES: (&str, &str) = ("LoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes");
const TARGET_GROUPS: (&str, &str) = ("TargetGroups", "elasticloadbalancing:DescribeTargetGroups");
const HEALTH: (&str, &str) = ("LoadBalancerTargetHealth", "elasticloadbalancing:DescribeTargetHealth");
const TG_ATTRIBUTES: (&str, &str) = ("TargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroupAttributes");
const INSTANCE_HEALTH: (&str, &str) = ("InstanceStates", "elasticloadbalancing:DescribeInstanceHealth");
const CLASSIC_ATTRIBUTES: (&str, &str) =
    ("ClassicLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes");

/// Records `entries` under `key` unless every call behind them failed (then only the failures
/// speak: an empty list would read as "none").
fn put_entries(s: &mut Session, key: &'static str, asked: usize, entries: Vec<Value>) {
    if asked == 0 || !entries.is_empty() || !s.calls.iter().any(|c| c.key == key) {
        s.put(key, entries);
    }
}

/// How many per-resource calls are in flight at once: a region's thousands of balancers and
/// groups are minutes of round trips one by one. Elastic Load Balancing rate-limits Describe
/// calls per account; a throttled call is retried by the SDK, then recorded as `throttled`.
const PARALLEL: usize = 8;

/// `fetch` for every id, `PARALLEL` at a time; the answers in the ids' order.
async fn each<'a, O, Fut: std::future::Future<Output = O>>(
    ids: &[&'a str],
    fetch: impl Fn(&'a str) -> Fut,
) -> Vec<(&'a str, O)> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(PARALLEL) {
        let answers = futures_util::future::join_all(chunk.iter().map(|id| fetch(id))).await;
        out.extend(chunk.iter().copied().zip(answers));
    }
    out
}

fn attributes<'a>(kv: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Vec<Value> {
    kv.map(|(k, v)| json!({"Key": k, "Value": v})).collect()
}

async fn v2_details(
    s: &mut Session,
    c: &elbv2::Client,
    balancers: &[elbv2::types::LoadBalancer],
    which: &Which<'_>,
    found: &mut Found,
) {
    let arns: Vec<&str> = balancers.iter().filter_map(|b| b.load_balancer_arn()).collect();
    let (mut listeners, mut lb_attributes) = (Vec::new(), Vec::new());
    let mut listener_arns = Vec::new();
    let fetched = each(&arns, |arn| async move {
        let l = c.describe_listeners().load_balancer_arn(arn).into_paginator().send().collect::<Result<Vec<_>, _>>();
        (l.await, c.describe_load_balancer_attributes().load_balancer_arn(arn).send().await)
    })
    .await;
    for (arn, (l, a)) in fetched {
        if let Some(pages) = answer(s, LISTENERS, arn, l) {
            let list: Vec<&elbv2::types::Listener> = pages.iter().flat_map(|p| p.listeners()).collect();
            listener_arns.extend(list.iter().filter_map(|l| l.listener_arn().map(str::to_string)));
            let list: Vec<Value> = list.into_iter().map(listener).collect();
            listeners.push(json!({"LoadBalancerArn": arn, "Listeners": list}));
        }
        if let Some(out) = answer(s, LB_ATTRIBUTES, arn, a) {
            let kv = attributes(out.attributes().iter().map(|a| (a.key(), a.value())));
            lb_attributes.push(json!({"LoadBalancerArn": arn, "Attributes": kv}));
        }
    }
    put_entries(s, LISTENERS.0, arns.len(), listeners);
    put_entries(s, LB_ATTRIBUTES.0, arns.len(), lb_attributes);
    let listener_arns: Vec<&str> = listener_arns.iter().map(String::as_str).collect();
    let fetched = each(&listener_arns, |arn| {
        c.describe_rules().listener_arn(arn).into_paginator().send().collect::<Result<Vec<_>, _>>()
    })
    .await;
    let mut rules = Vec::new();
    for (arn, r) in fetched {
        if let Some(pages) = answer(s, RULES, arn, r) {
            let list: Vec<Value> = pages.iter().flat_map(|p| p.rules()).map(rule).collect();
            rules.push(json!({"ListenerArn": arn, "Rules": list}));
        }
    }
    put_entries(s, RULES.0, listener_arns.len(), rules);

    // Target groups: the region's, or those of the one balancer.
    let mut groups = Vec::new();
    let lookups: Vec<Option<&str>> = match which {
        Which::Region => vec![None],
        Which::One(_) => arns.iter().map(|a| Some(*a)).collect(),
    };
    for lb in &lookups {
        let r = c.describe_target_groups().set_load_balancer_arn(lb.map(str::to_string));
        let r = r.into_paginator().send().collect::<Result<Vec<_>, _>>().await;
        if let Some(pages) = answer(s, TARGET_GROUPS, lb.unwrap_or("(region)"), r) {
            groups.extend(pages.iter().flat_map(|p| p.target_groups().iter().cloned()));
        }
    }
    put_entries(s, TARGET_GROUPS.0, lookups.len(), groups.iter().map(target_group).collect());
    for vpc in groups.iter().filter_map(|g| g.vpc_id()) {
        if !found.vpcs.iter().any(|v| v == vpc) {
            found.vpcs.push(vpc.to_string());
        }
    }
    let (mut health, mut tg_attributes) = (Vec::new(), Vec::new());
    let tg_arns: Vec<&str> = groups.iter().filter_map(|g| g.target_group_arn()).collect();
    let fetched = each(&tg_arns, |arn| async move {
        let h = c.describe_target_health().target_group_arn(arn).send().await;
        (h, c.describe_target_group_attributes().target_group_arn(arn).send().await)
    })
    .await;
    for (arn, (h, a)) in fetched {
        if let Some(out) = answer(s, HEALTH, arn, h) {
            let list: Vec<Value> = out.target_health_descriptions().iter().map(target_health).collect();
            health.push(json!({"TargetGroupArn": arn, "TargetHealthDescriptions": list}));
        }
        if let Some(out) = answer(s, TG_ATTRIBUTES, arn, a) {
            let kv = attributes(out.attributes().iter().map(|a| (a.key(), a.value())));
            tg_attributes.push(json!({"TargetGroupArn": arn, "Attributes": kv}));
        }
    }
    put_entries(s, HEALTH.0, tg_arns.len(), health);
    put_entries(s, TG_ATTRIBUTES.0, tg_arns.len(), tg_attributes);
}

async fn classic_health(s: &mut Session, c: &elb::Client, descriptions: &[elb::types::LoadBalancerDescription]) {
    let names: Vec<&str> = descriptions.iter().filter_map(|d| d.load_balancer_name()).collect();
    let fetched = each(&names, |name| c.describe_instance_health().load_balancer_name(name).send()).await;
    let mut states = Vec::new();
    for (name, r) in fetched {
        if let Some(out) = answer(s, INSTANCE_HEALTH, name, r) {
            let list: Vec<Value> = out
                .instance_states()
                .iter()
                .map(|i| {
                    json!({"InstanceId": i.instance_id(), "State": i.state(), "ReasonCode": i.reason_code(), "Description": i.description()})
                })
                .collect();
            states.push(json!({"LoadBalancerName": name, "InstanceStates": list}));
        }
    }
    put_entries(s, INSTANCE_HEALTH.0, names.len(), states);
    // Cross-zone load balancing decides which instances each zone's node sends to (off by
    // default for a balancer the API created): as printed, wrapped with the balancer's name.
    let fetched = each(&names, |name| c.describe_load_balancer_attributes().load_balancer_name(name).send()).await;
    let mut attributes = Vec::new();
    for (name, r) in fetched {
        if let Some(out) = answer(s, CLASSIC_ATTRIBUTES, name, r) {
            let cross_zone = out
                .load_balancer_attributes()
                .and_then(|a| a.cross_zone_load_balancing())
                .map(|c| json!({"Enabled": c.enabled()}));
            attributes.push(
                json!({"LoadBalancerName": name, "LoadBalancerAttributes": {"CrossZoneLoadBalancing": cross_zone}}),
            );
        }
    }
    put_entries(s, CLASSIC_ATTRIBUTES.0, names.len(), attributes);
}

fn as_str<T: AsRef<str>>(v: Option<&T>) -> Option<&str> {
    v.map(AsRef::as_ref)
}

fn load_balancer(b: &elbv2::types::LoadBalancer) -> Value {
    let zones: Vec<Value> = b
        .availability_zones()
        .iter()
        .map(|z| {
            let addresses: Vec<Value> = z
                .load_balancer_addresses()
                .iter()
                .map(|a| {
                    json!({
                        "IpAddress": a.ip_address(),
                        "AllocationId": a.allocation_id(),
                        "PrivateIPv4Address": a.private_ipv4_address(),
                        "IPv6Address": a.ipv6_address(),
                    })
                })
                .collect();
            json!({
                "ZoneName": z.zone_name(),
                "SubnetId": z.subnet_id(),
                "OutpostId": z.outpost_id(),
                "LoadBalancerAddresses": addresses,
                // Only dual-stack NLBs with source NAT have them; the CLI shows none otherwise.
                "SourceNatIpv6Prefixes": Some(z.source_nat_ipv6_prefixes()).filter(|p| !p.is_empty()),
            })
        })
        .collect();
    json!({
        "LoadBalancerArn": b.load_balancer_arn(),
        "DNSName": b.dns_name(),
        "CanonicalHostedZoneId": b.canonical_hosted_zone_id(),
        "CreatedTime": crate::platform::iso(b.created_time()),
        "LoadBalancerName": b.load_balancer_name(),
        "Scheme": as_str(b.scheme()),
        "VpcId": b.vpc_id(),
        "State": b.state().map(|st| json!({"Code": as_str(st.code()), "Reason": st.reason()})),
        "Type": as_str(b.r#type()),
        "AvailabilityZones": zones,
        "SecurityGroups": b.security_groups(),
        "IpAddressType": as_str(b.ip_address_type()),
        "CustomerOwnedIpv4Pool": b.customer_owned_ipv4_pool(),
        "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic": b.enforce_security_group_inbound_rules_on_private_link_traffic(),
        "EnablePrefixForIpv6SourceNat": as_str(b.enable_prefix_for_ipv6_source_nat()),
    })
}

fn listener(l: &elbv2::types::Listener) -> Value {
    json!({
        "ListenerArn": l.listener_arn(),
        "LoadBalancerArn": l.load_balancer_arn(),
        "Port": l.port(),
        "Protocol": as_str(l.protocol()),
        "Certificates": l.certificates().iter().map(|c| json!({"CertificateArn": c.certificate_arn(), "IsDefault": c.is_default()})).collect::<Vec<_>>(),
        "SslPolicy": l.ssl_policy(),
        "DefaultActions": l.default_actions().iter().map(action).collect::<Vec<_>>(),
        "AlpnPolicy": l.alpn_policy(),
    })
}

/// An action; authentication configs keep what decides reachability and leave secrets out.
fn action(a: &elbv2::types::Action) -> Value {
    json!({
        "Type": as_str(a.r#type()),
        "TargetGroupArn": a.target_group_arn(),
        "Order": a.order(),
        "ForwardConfig": a.forward_config().map(|f| json!({
            "TargetGroups": f.target_groups().iter().map(|t| json!({"TargetGroupArn": t.target_group_arn(), "Weight": t.weight()})).collect::<Vec<_>>(),
            "TargetGroupStickinessConfig": f.target_group_stickiness_config().map(|c| json!({"Enabled": c.enabled(), "DurationSeconds": c.duration_seconds()})),
        })),
        "RedirectConfig": a.redirect_config().map(|r| json!({
            "Protocol": r.protocol(), "Port": r.port(), "Host": r.host(), "Path": r.path(), "Query": r.query(),
            "StatusCode": as_str(r.status_code()),
        })),
        "FixedResponseConfig": a.fixed_response_config().map(|f| json!({
            "MessageBody": f.message_body(), "StatusCode": f.status_code(), "ContentType": f.content_type(),
        })),
        "AuthenticateOidcConfig": a.authenticate_oidc_config().map(|o| json!({
            "Issuer": o.issuer(), "AuthorizationEndpoint": o.authorization_endpoint(), "TokenEndpoint": o.token_endpoint(),
            "UserInfoEndpoint": o.user_info_endpoint(), "ClientId": o.client_id(),
            "OnUnauthenticatedRequest": as_str(o.on_unauthenticated_request()),
        })),
        "AuthenticateCognitoConfig": a.authenticate_cognito_config().map(|o| json!({
            "UserPoolArn": o.user_pool_arn(), "UserPoolClientId": o.user_pool_client_id(), "UserPoolDomain": o.user_pool_domain(),
            "OnUnauthenticatedRequest": as_str(o.on_unauthenticated_request()),
        })),
    })
}

fn rule(r: &elbv2::types::Rule) -> Value {
    let values = |v: &[String]| json!({"Values": v});
    let conditions: Vec<Value> = r
        .conditions()
        .iter()
        .map(|c| {
            json!({
                "Field": c.field(),
                "Values": c.values(),
                "HostHeaderConfig": c.host_header_config().map(|h| values(h.values())),
                "PathPatternConfig": c.path_pattern_config().map(|h| values(h.values())),
                "HttpHeaderConfig": c.http_header_config().map(|h| json!({"HttpHeaderName": h.http_header_name(), "Values": h.values()})),
                "QueryStringConfig": c.query_string_config().map(|q| json!({"Values": q.values().iter().map(|kv| json!({"Key": kv.key(), "Value": kv.value()})).collect::<Vec<_>>()})),
                "HttpRequestMethodConfig": c.http_request_method_config().map(|h| values(h.values())),
                "SourceIpConfig": c.source_ip_config().map(|h| values(h.values())),
            })
        })
        .collect();
    json!({
        "RuleArn": r.rule_arn(),
        "Priority": r.priority(),
        "Conditions": conditions,
        "Actions": r.actions().iter().map(action).collect::<Vec<_>>(),
        "IsDefault": r.is_default(),
    })
}

fn target_group(g: &elbv2::types::TargetGroup) -> Value {
    json!({
        "TargetGroupArn": g.target_group_arn(),
        "TargetGroupName": g.target_group_name(),
        "Protocol": as_str(g.protocol()),
        "Port": g.port(),
        "VpcId": g.vpc_id(),
        "HealthCheckProtocol": as_str(g.health_check_protocol()),
        "HealthCheckPort": g.health_check_port(),
        "HealthCheckEnabled": g.health_check_enabled(),
        "HealthCheckIntervalSeconds": g.health_check_interval_seconds(),
        "HealthCheckTimeoutSeconds": g.health_check_timeout_seconds(),
        "HealthyThresholdCount": g.healthy_threshold_count(),
        "UnhealthyThresholdCount": g.unhealthy_threshold_count(),
        "HealthCheckPath": g.health_check_path(),
        "Matcher": g.matcher().map(|m| json!({"HttpCode": m.http_code(), "GrpcCode": m.grpc_code()})),
        "LoadBalancerArns": g.load_balancer_arns(),
        "TargetType": as_str(g.target_type()),
        "ProtocolVersion": g.protocol_version(),
        "IpAddressType": as_str(g.ip_address_type()),
    })
}

fn target_health(t: &elbv2::types::TargetHealthDescription) -> Value {
    json!({
        "Target": t.target().map(|x| json!({"Id": x.id(), "Port": x.port(), "AvailabilityZone": x.availability_zone()})),
        "HealthCheckPort": t.health_check_port(),
        "TargetHealth": t.target_health().map(|h| json!({"State": as_str(h.state()), "Reason": as_str(h.reason()), "Description": h.description()})),
        "AnomalyDetection": t.anomaly_detection().map(|a| json!({"Result": as_str(a.result()), "MitigationInEffect": as_str(a.mitigation_in_effect())})),
        "AdministrativeOverride": t.administrative_override().map(|a| json!({"State": as_str(a.state()), "Reason": as_str(a.reason()), "Description": a.description()})),
    })
}

fn classic_load_balancer(d: &elb::types::LoadBalancerDescription) -> Value {
    let listeners: Vec<Value> = d
        .listener_descriptions()
        .iter()
        .map(|l| {
            json!({
                "Listener": l.listener().map(|x| json!({
                    "Protocol": x.protocol(), "LoadBalancerPort": x.load_balancer_port(),
                    "InstanceProtocol": x.instance_protocol(), "InstancePort": x.instance_port(),
                    "SSLCertificateId": x.ssl_certificate_id(),
                })),
                "PolicyNames": l.policy_names(),
            })
        })
        .collect();
    json!({
        "LoadBalancerName": d.load_balancer_name(),
        "DNSName": d.dns_name(),
        "CanonicalHostedZoneName": d.canonical_hosted_zone_name(),
        "CanonicalHostedZoneNameID": d.canonical_hosted_zone_name_id(),
        "ListenerDescriptions": listeners,
        "BackendServerDescriptions": d.backend_server_descriptions().iter().map(|b| json!({"InstancePort": b.instance_port(), "PolicyNames": b.policy_names()})).collect::<Vec<_>>(),
        "AvailabilityZones": d.availability_zones(),
        "Subnets": d.subnets(),
        "VPCId": d.vpc_id(),
        "Instances": d.instances().iter().map(|i| json!({"InstanceId": i.instance_id()})).collect::<Vec<_>>(),
        "HealthCheck": d.health_check().map(|h| json!({
            "Target": h.target(), "Interval": h.interval(), "Timeout": h.timeout(),
            "UnhealthyThreshold": h.unhealthy_threshold(), "HealthyThreshold": h.healthy_threshold(),
        })),
        "SourceSecurityGroup": d.source_security_group().map(|g| json!({"OwnerAlias": g.owner_alias(), "GroupName": g.group_name()})),
        "SecurityGroups": d.security_groups(),
        "CreatedTime": crate::platform::iso(d.created_time()),
        "Scheme": d.scheme(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_match_as_users_type_them() {
        let dns = Some("web-1234.us-east-1.elb.amazonaws.com");
        assert!(same_dns("WEB-1234.us-east-1.elb.amazonaws.com.", dns));
        assert!(same_dns("dualstack.web-1234.us-east-1.elb.amazonaws.com", dns));
        assert!(!same_dns("web-1235.us-east-1.elb.amazonaws.com", dns));
        assert!(!same_dns("web", None));
    }

    #[test]
    fn classic_arns_name_no_type() {
        assert!(is_classic_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/web"));
        assert!(!is_classic_arn(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188"
        ));
    }
}
