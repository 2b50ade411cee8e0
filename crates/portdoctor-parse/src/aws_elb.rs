//! Elastic Load Balancing documents (elbv2 and Classic) → `ElbEvidence`, in the layout
//! Batfish uses (CONTRACT.md §5): `LoadBalancers`, `LoadBalancerListeners` (a list of
//! `{"LoadBalancerArn", "Listeners"}`), `LoadBalancerAttributes`, `TargetGroups`,
//! `LoadBalancerTargetHealth` (a list of `{"TargetGroupArn", "TargetHealthDescriptions"}`),
//! `TargetGroupAttributes`, `ListenerRules` (a list of `{"ListenerArn", "Rules"}`), and for
//! Classic `LoadBalancerDescriptions` and `InstanceStates` (a list of `{"LoadBalancerName",
//! "InstanceStates"}`). Each key's value is deserialised straight from the text into typed
//! records (shapes of the AWS API reference); an error names the file and the field path.

use crate::ParseError;
use crate::aws::{KeyError, next, take};
use portdoctor_model::elb::{
    CLASSIC_CROSS_ZONE, ClassicInstanceStates, ClassicLb, ClassicListener, ElbEvidence, HealthCheck, HealthCheckPort,
    LbAction, LbZone, Listener, ListenerRule, LoadBalancer, ResourceAttributes, TargetGroup, TargetGroupHealth,
    TargetHealthRecord, WeightedTargetGroup,
};
use portdoctor_model::knowledge::Missing;
use serde::Deserialize;
use serde::de::MapAccess;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Top-level keys of load-balancer documents, with the command that produces each (per load
/// balancer, target group or listener, wrapped with its ARN or name as Batfish does).
pub const ELB_KEYS: &[(&str, &str)] = &[
    ("LoadBalancers", "aws elbv2 describe-load-balancers"),
    ("LoadBalancerListeners", "aws elbv2 describe-listeners"),
    ("LoadBalancerAttributes", "aws elbv2 describe-load-balancer-attributes"),
    ("TargetGroups", "aws elbv2 describe-target-groups"),
    ("LoadBalancerTargetHealth", "aws elbv2 describe-target-health"),
    ("TargetGroupAttributes", "aws elbv2 describe-target-group-attributes"),
    ("ListenerRules", "aws elbv2 describe-rules"),
    ("LoadBalancerDescriptions", "aws elb describe-load-balancers"),
    ("InstanceStates", "aws elb describe-instance-health"),
    ("ClassicLoadBalancerAttributes", "aws elb describe-load-balancer-attributes"),
];

// ---- shapes (AWS API reference) ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateJ {
    code: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LbAddressJ {
    ip_address: Option<IpAddr>,
    #[serde(rename = "PrivateIPv4Address")]
    private_ipv4_address: Option<IpAddr>,
    #[serde(rename = "IPv6Address")]
    ipv6_address: Option<IpAddr>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneJ {
    zone_name: String,
    subnet_id: String,
    // moto omits it (AWS prints []); the nodes' addresses also come from their interfaces.
    #[serde(default)]
    load_balancer_addresses: Vec<LbAddressJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoadBalancerJ {
    load_balancer_arn: String,
    load_balancer_name: String,
    // Batfish's recorded internal ALB has none; it only finds and names the balancer.
    #[serde(rename = "DNSName", default)]
    dns_name: String,
    #[serde(rename = "Type")]
    kind: String,
    scheme: String,
    state: Option<StateJ>,
    vpc_id: Option<String>,
    availability_zones: Vec<ZoneJ>,
    // AWS omits it for a balancer without security groups (Batfish's recorded NLBs and ALB).
    #[serde(default)]
    security_groups: Vec<String>,
    ip_address_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WeightedJ {
    target_group_arn: String,
    weight: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ForwardJ {
    target_groups: Vec<WeightedJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FixedJ {
    status_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RedirectJ {
    protocol: Option<String>,
    host: Option<String>,
    port: Option<String>,
    path: Option<String>,
    status_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActionJ {
    #[serde(rename = "Type")]
    kind: String,
    order: Option<i64>,
    target_group_arn: Option<String>,
    forward_config: Option<ForwardJ>,
    fixed_response_config: Option<FixedJ>,
    redirect_config: Option<RedirectJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListenerJ {
    listener_arn: String,
    load_balancer_arn: Option<String>,
    port: Option<u16>,
    protocol: Option<String>,
    default_actions: Vec<ActionJ>,
}

/// One item of `LoadBalancerListeners`: Batfish's wrapper `{"LoadBalancerArn", "Listeners"}`,
/// or one listener as `aws elbv2 describe-listeners` prints it (it names its balancer itself;
/// Batfish's older fixtures list them so). An item that is neither is an error, never "no
/// listeners": that would be a confident LB_NO_LISTENER on a shape we did not read. (Fields, not
/// an untagged enum, so that a bad value deeper down keeps its path in the error.)
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListenersItemJ {
    load_balancer_arn: Option<String>,
    listeners: Option<Vec<ListenerJ>>,
    listener_arn: Option<String>,
    port: Option<u16>,
    protocol: Option<String>,
    /// Required of a listener item, absent from a wrapper: checked when the item is read.
    default_actions: Option<Vec<ActionJ>>,
}

// A condition's values only describe the rule in the report.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ValuesJ {
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConditionJ {
    field: Option<String>,
    #[serde(default)]
    values: Vec<String>,
    path_pattern_config: Option<ValuesJ>,
    host_header_config: Option<ValuesJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuleJ {
    rule_arn: String,
    // Priority, Conditions and IsDefault only order, describe and de-duplicate the rules (the
    // walk follows every rule's actions), so an absent one changes no verdict.
    #[serde(default)]
    priority: String,
    #[serde(default)]
    conditions: Vec<ConditionJ>,
    actions: Vec<ActionJ>,
    #[serde(default)]
    is_default: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RulesOfJ {
    listener_arn: String,
    rules: Vec<RuleJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeJ {
    key: String,
    // AWS prints every attribute with its value; an absent one reads as "" (neither true nor false).
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LbAttributesJ {
    load_balancer_arn: String,
    attributes: Vec<AttributeJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TgAttributesJ {
    target_group_arn: String,
    attributes: Vec<AttributeJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MatcherJ {
    http_code: Option<String>,
    grpc_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetGroupJ {
    target_group_arn: String,
    // Names the group in the report only.
    #[serde(default)]
    target_group_name: String,
    protocol: Option<String>,
    port: Option<u16>,
    vpc_id: Option<String>,
    health_check_protocol: Option<String>,
    health_check_port: Option<String>,
    health_check_enabled: Option<bool>,
    health_check_path: Option<String>,
    matcher: Option<MatcherJ>,
    // Kept in the evidence; the walk follows listeners' actions to their groups, not this.
    #[serde(default)]
    load_balancer_arns: Vec<String>,
    target_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetJ {
    id: String,
    port: Option<u16>,
    availability_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthJ {
    state: String,
    reason: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthDescriptionJ {
    target: TargetJ,
    health_check_port: Option<String>,
    target_health: HealthJ,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthOfJ {
    target_group_arn: String,
    target_health_descriptions: Vec<HealthDescriptionJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicListenerJ {
    protocol: String,
    load_balancer_port: u16,
    instance_protocol: Option<String>,
    instance_port: u16,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicListenerDescriptionJ {
    listener: ClassicListenerJ,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceRefJ {
    instance_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicHealthCheckJ {
    target: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicLbJ {
    load_balancer_name: String,
    // As elbv2's DNSName.
    #[serde(rename = "DNSName", default)]
    dns_name: String,
    listener_descriptions: Vec<ClassicListenerDescriptionJ>,
    // Kept in the evidence; the walk takes a Classic balancer's zones from its Subnets.
    #[serde(default)]
    availability_zones: Vec<String>,
    subnets: Vec<String>,
    #[serde(rename = "VPCId")]
    vpc_id: Option<String>,
    instances: Vec<InstanceRefJ>,
    health_check: Option<ClassicHealthCheckJ>,
    security_groups: Vec<String>,
    scheme: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceStateJ {
    instance_id: String,
    state: String,
    reason_code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceStatesOfJ {
    load_balancer_name: String,
    instance_states: Vec<InstanceStateJ>,
}

/// `elb describe-load-balancer-attributes` of one Classic balancer, wrapped with its name (the
/// CLI prints `{"LoadBalancerAttributes": {…}}`, which names no balancer and whose key is
/// elbv2's list in Batfish's layout).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicAttributesOfJ {
    load_balancer_name: String,
    load_balancer_attributes: ClassicAttributesJ,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClassicAttributesJ {
    cross_zone_load_balancing: Option<EnabledJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnabledJ {
    enabled: bool,
}

// ---- conversion ----

fn action(a: ActionJ) -> LbAction {
    let mut target_groups: Vec<WeightedTargetGroup> = a
        .forward_config
        .map(|f| f.target_groups.into_iter().map(|t| WeightedTargetGroup { arn: t.target_group_arn, weight: t.weight }))
        .into_iter()
        .flatten()
        .collect();
    // `TargetGroupArn` and a one-group `ForwardConfig` say the same thing: once.
    if let Some(arn) = a.target_group_arn
        && !target_groups.iter().any(|t| t.arn == arn)
    {
        target_groups.push(WeightedTargetGroup { arn, weight: None });
    }
    let redirect = a.redirect_config.map(|r| {
        let part = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_string());
        format!(
            "{}://{}:{}{} ({})",
            part(r.protocol, "#{protocol}"),
            part(r.host, "#{host}"),
            part(r.port, "#{port}"),
            part(r.path, "/#{path}"),
            part(r.status_code, "HTTP_301")
        )
    });
    LbAction {
        kind: a.kind.into(),
        order: a.order,
        target_groups,
        fixed_status: a.fixed_response_config.and_then(|f| f.status_code),
        redirect,
    }
}

fn attributes(arn: String, attrs: Vec<AttributeJ>) -> ResourceAttributes {
    ResourceAttributes { arn, values: attrs.into_iter().map(|a| (a.key, a.value)).collect() }
}

fn condition_text(c: ConditionJ) -> String {
    let field = c.field.unwrap_or_else(|| "condition".into());
    let mut values = c.values;
    for cfg in [c.path_pattern_config, c.host_header_config].into_iter().flatten() {
        values.extend(cfg.values);
    }
    format!("{field} {}", values.join(","))
}

/// `traffic-port` or a number, as target groups write `HealthCheckPort`.
fn health_port(file: &str, field: &str, v: Option<&str>) -> Result<HealthCheckPort, ParseError> {
    match v {
        None | Some("traffic-port") => Ok(HealthCheckPort::TrafficPort),
        Some(p) => p.parse().map(HealthCheckPort::Port).map_err(|_| {
            ParseError::new(file, field, format!("{} is neither traffic-port nor a port", crate::excerpt(p)))
        }),
    }
}

/// A Classic `HealthCheck.Target`: `PROTOCOL:PORT` with `/PATH` for HTTP(S)
/// (Elastic Load Balancing API reference, HealthCheck).
fn classic_health(file: &str, field: &str, target: &str) -> Result<HealthCheck, ParseError> {
    let bad = || ParseError::new(file, field, format!("{} is not PROTOCOL:PORT[/PATH]", crate::excerpt(target)));
    let (proto, rest) = target.split_once(':').ok_or_else(bad)?;
    let (port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_string())),
        None => (rest, None),
    };
    Ok(HealthCheck {
        enabled: true,
        protocol: Some(proto.to_ascii_uppercase().into()),
        port: HealthCheckPort::Port(port.parse().map_err(|_| bad())?),
        path,
        matcher: None,
    })
}

/// The load-balancer records of a snapshot as they are read.
#[derive(Default)]
pub(crate) struct ElbAcc {
    load_balancers: Vec<LoadBalancer>,
    listeners: Vec<Listener>,
    rules: Vec<ListenerRule>,
    lb_attributes: Vec<ResourceAttributes>,
    target_groups: Vec<TargetGroup>,
    target_health: Vec<TargetGroupHealth>,
    tg_attributes: Vec<ResourceAttributes>,
    classic: Vec<ClassicLb>,
    classic_health: Vec<ClassicInstanceStates>,
    classic_attributes: Vec<ResourceAttributes>,
}

impl ElbAcc {
    /// Reads the value of the load-balancer key `key`; `false` when `key` is not one.
    pub(crate) fn key<'de, A: MapAccess<'de>>(
        &mut self,
        file: &str,
        key: &str,
        map: &mut A,
    ) -> Result<bool, KeyError<A::Error>> {
        match key {
            "LoadBalancers" => {
                for b in next::<Vec<LoadBalancerJ>, A>(map)? {
                    let zones = b
                        .availability_zones
                        .into_iter()
                        .map(|z| LbZone {
                            zone: z.zone_name,
                            subnet_id: z.subnet_id,
                            public_ips: z.load_balancer_addresses.iter().filter_map(|a| a.ip_address).collect(),
                            private_ips: z
                                .load_balancer_addresses
                                .iter()
                                .flat_map(|a| [a.private_ipv4_address, a.ipv6_address])
                                .flatten()
                                .collect(),
                        })
                        .collect();
                    self.load_balancers.push(LoadBalancer {
                        arn: b.load_balancer_arn,
                        name: b.load_balancer_name,
                        dns_name: b.dns_name,
                        kind: b.kind.into(),
                        scheme: b.scheme.into(),
                        state: b.state.as_ref().map_or_else(|| "active".into(), |s| s.code.as_str().into()),
                        state_reason: b.state.and_then(|s| s.reason),
                        vpc_id: b.vpc_id,
                        zones,
                        security_groups: b.security_groups,
                        ip_address_type: b.ip_address_type.unwrap_or_else(|| "ipv4".into()).into(),
                    });
                }
            }
            "LoadBalancerListeners" => {
                for (i, item) in next::<Vec<ListenersItemJ>, A>(map)?.into_iter().enumerate() {
                    let at = |field: &str| format!("LoadBalancerListeners[{i}].{field}");
                    let listeners = match (item.listeners, item.listener_arn) {
                        (Some(listeners), _) => listeners,
                        (None, Some(listener_arn)) => {
                            // Never "no actions": that would be a confident verdict on a listing we did not get.
                            let Some(default_actions) = item.default_actions else {
                                let why = "a listener without its DefaultActions";
                                return Err(ParseError::new(file, at("DefaultActions"), why).into());
                            };
                            vec![ListenerJ {
                                listener_arn,
                                load_balancer_arn: None,
                                port: item.port,
                                protocol: item.protocol,
                                default_actions,
                            }]
                        }
                        (None, None) => {
                            let why = "neither {\"LoadBalancerArn\", \"Listeners\"} nor a listener with a ListenerArn";
                            return Err(ParseError::new(file, at("Listeners"), why).into());
                        }
                    };
                    for l in listeners {
                        let Some(lb_arn) = l.load_balancer_arn.or_else(|| item.load_balancer_arn.clone()) else {
                            return Err(ParseError::new(
                                file,
                                at("LoadBalancerArn"),
                                "the listener's balancer is not named",
                            )
                            .into());
                        };
                        self.listeners.push(Listener {
                            arn: l.listener_arn,
                            lb_arn,
                            port: l.port,
                            protocol: l.protocol.map(Into::into),
                            default_actions: l.default_actions.into_iter().map(action).collect(),
                        });
                    }
                }
            }
            "ListenerRules" => {
                for of in next::<Vec<RulesOfJ>, A>(map)? {
                    self.rules.extend(of.rules.into_iter().map(|r| ListenerRule {
                        listener_arn: of.listener_arn.clone(),
                        arn: r.rule_arn,
                        priority: r.priority,
                        is_default: r.is_default,
                        conditions: r.conditions.into_iter().map(condition_text).collect(),
                        actions: r.actions.into_iter().map(action).collect(),
                    }));
                }
            }
            "LoadBalancerAttributes" => self.lb_attributes.extend(
                next::<Vec<LbAttributesJ>, A>(map)?.into_iter().map(|a| attributes(a.load_balancer_arn, a.attributes)),
            ),
            "TargetGroupAttributes" => self.tg_attributes.extend(
                next::<Vec<TgAttributesJ>, A>(map)?.into_iter().map(|a| attributes(a.target_group_arn, a.attributes)),
            ),
            "TargetGroups" => {
                for (i, g) in next::<Vec<TargetGroupJ>, A>(map)?.into_iter().enumerate() {
                    let field = format!("TargetGroups[{i}].HealthCheckPort");
                    let port = health_port(file, &field, g.health_check_port.as_deref())?;
                    self.target_groups.push(TargetGroup {
                        arn: g.target_group_arn,
                        name: g.target_group_name,
                        protocol: g.protocol.map(Into::into),
                        port: g.port,
                        target_type: g.target_type.unwrap_or_else(|| "instance".into()).into(),
                        vpc_id: g.vpc_id,
                        lb_arns: g.load_balancer_arns,
                        health_check: HealthCheck {
                            enabled: g.health_check_enabled.unwrap_or(true),
                            protocol: g.health_check_protocol.map(Into::into),
                            port,
                            path: g.health_check_path,
                            matcher: g.matcher.and_then(|m| m.http_code.or(m.grpc_code)),
                        },
                    });
                }
            }
            "LoadBalancerTargetHealth" => {
                for (i, of) in next::<Vec<HealthOfJ>, A>(map)?.into_iter().enumerate() {
                    let mut targets = Vec::with_capacity(of.target_health_descriptions.len());
                    for (j, d) in of.target_health_descriptions.into_iter().enumerate() {
                        let field =
                            format!("LoadBalancerTargetHealth[{i}].TargetHealthDescriptions[{j}].HealthCheckPort");
                        let health_check_port = match health_port(file, &field, d.health_check_port.as_deref())? {
                            HealthCheckPort::Port(p) => Some(p),
                            HealthCheckPort::TrafficPort => None,
                        };
                        targets.push(TargetHealthRecord {
                            id: d.target.id,
                            port: d.target.port,
                            zone: d.target.availability_zone,
                            state: d.target_health.state.into(),
                            reason: d.target_health.reason.map(Into::into),
                            description: d.target_health.description,
                            health_check_port,
                        });
                    }
                    self.target_health.push(TargetGroupHealth { tg_arn: of.target_group_arn, targets });
                }
            }
            "LoadBalancerDescriptions" => {
                for (i, b) in next::<Vec<ClassicLbJ>, A>(map)?.into_iter().enumerate() {
                    let field = format!("LoadBalancerDescriptions[{i}].HealthCheck.Target");
                    let health_check = match &b.health_check {
                        Some(h) => classic_health(file, &field, &h.target)?,
                        // Classic always has one; without it, AWS's default (TCP to the instance port).
                        None => HealthCheck {
                            enabled: true,
                            protocol: None,
                            port: HealthCheckPort::TrafficPort,
                            path: None,
                            matcher: None,
                        },
                    };
                    self.classic.push(ClassicLb {
                        name: b.load_balancer_name,
                        dns_name: b.dns_name,
                        scheme: b.scheme.unwrap_or_else(|| "internet-facing".into()).into(),
                        vpc_id: b.vpc_id,
                        zones: b.availability_zones,
                        subnets: b.subnets,
                        security_groups: b.security_groups,
                        listeners: b
                            .listener_descriptions
                            .into_iter()
                            .map(|d| {
                                let l = d.listener;
                                ClassicListener {
                                    lb_port: l.load_balancer_port,
                                    instance_port: l.instance_port,
                                    instance_protocol: l.instance_protocol.as_deref().unwrap_or(&l.protocol).into(),
                                    protocol: l.protocol.into(),
                                }
                            })
                            .collect(),
                        instances: b.instances.into_iter().map(|i| i.instance_id).collect(),
                        health_check,
                    });
                }
            }
            "InstanceStates" => {
                for of in next::<Vec<InstanceStatesOfJ>, A>(map)? {
                    let instances = of
                        .instance_states
                        .into_iter()
                        .map(|s| TargetHealthRecord {
                            id: s.instance_id,
                            port: None,
                            zone: None,
                            state: s.state.into(),
                            reason: None,
                            // Classic's ReasonCode says whose side failed: `ELB` or `Instance`.
                            description: match (s.reason_code.filter(|r| r != "N/A"), s.description) {
                                (Some(r), Some(d)) => Some(format!("{r}: {d}")),
                                (r, d) => d.or(r),
                            },
                            health_check_port: None,
                        })
                        .collect();
                    self.classic_health.push(ClassicInstanceStates { lb_name: of.load_balancer_name, instances });
                }
            }
            "ClassicLoadBalancerAttributes" => {
                for of in next::<Vec<ClassicAttributesOfJ>, A>(map)? {
                    let attrs = of.load_balancer_attributes;
                    // Kept under the API's member path, as elbv2's attributes keep their keys.
                    let values = attrs
                        .cross_zone_load_balancing
                        .map(|c| (CLASSIC_CROSS_ZONE.to_string(), c.enabled.to_string()))
                        .into_iter()
                        .collect();
                    self.classic_attributes.push(ResourceAttributes { arn: of.load_balancer_name, values });
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The evidence: each listing known when a file held its key (or the live call that should
    /// have made it failed, then that), else unavailable with the command to add.
    pub(crate) fn finish(
        self,
        seen: &BTreeMap<&'static str, Vec<String>>,
        failed: &BTreeMap<String, Missing>,
    ) -> ElbEvidence {
        ElbEvidence {
            load_balancers: take(seen, failed, "LoadBalancers", self.load_balancers),
            listeners: take(seen, failed, "LoadBalancerListeners", self.listeners),
            rules: take(seen, failed, "ListenerRules", self.rules),
            lb_attributes: take(seen, failed, "LoadBalancerAttributes", self.lb_attributes),
            target_groups: take(seen, failed, "TargetGroups", self.target_groups),
            target_health: take(seen, failed, "LoadBalancerTargetHealth", self.target_health),
            tg_attributes: take(seen, failed, "TargetGroupAttributes", self.tg_attributes),
            classic: take(seen, failed, "LoadBalancerDescriptions", self.classic),
            classic_health: take(seen, failed, "InstanceStates", self.classic_health),
            classic_attributes: take(seen, failed, "ClassicLoadBalancerAttributes", self.classic_attributes),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aws::parse_aws;
    use portdoctor_model::elb::*;

    fn doc(name: &str, text: &str) -> (String, String) {
        (name.to_string(), text.to_string())
    }

    #[test]
    fn elbv2_documents_in_batfish_layout() {
        let ev = parse_aws(&[
            doc("lb.json", r#"{"LoadBalancers":[{"LoadBalancerArn":"arn:lb/app/web/1","LoadBalancerName":"web","DNSName":"web-1.us-east-1.elb.amazonaws.com","Type":"application","Scheme":"internet-facing","State":{"Code":"active"},"VpcId":"vpc-1","AvailabilityZones":[{"ZoneName":"us-east-1a","SubnetId":"subnet-a","LoadBalancerAddresses":[]}],"SecurityGroups":["sg-lb"],"IpAddressType":"ipv4"}]}"#),
            doc("l.json", r#"{"LoadBalancerListeners":[{"LoadBalancerArn":"arn:lb/app/web/1","Listeners":[{"ListenerArn":"arn:l/1","Port":443,"Protocol":"HTTPS","DefaultActions":[{"Type":"forward","TargetGroupArn":"arn:tg/1","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"arn:tg/1","Weight":1}]}}]},{"ListenerArn":"arn:l/2","Port":80,"Protocol":"HTTP","DefaultActions":[{"Type":"redirect","RedirectConfig":{"Protocol":"HTTPS","Port":"443","StatusCode":"HTTP_301"}}]}]}]}"#),
            doc("tg.json", r#"{"TargetGroups":[{"TargetGroupArn":"arn:tg/1","TargetGroupName":"web","Protocol":"HTTP","Port":8080,"VpcId":"vpc-1","HealthCheckPort":"traffic-port","HealthCheckPath":"/health","Matcher":{"HttpCode":"200"},"TargetType":"instance"}]}"#),
            doc("h.json", r#"{"LoadBalancerTargetHealth":[{"TargetGroupArn":"arn:tg/1","TargetHealthDescriptions":[{"Target":{"Id":"i-1","Port":8080,"AvailabilityZone":"us-east-1a"},"HealthCheckPort":"8080","TargetHealth":{"State":"unhealthy","Reason":"Target.Timeout","Description":"Request timed out"}}]}]}"#),
        ])
        .unwrap();
        let lb = &ev.elb.load_balancers.known().unwrap()[0];
        assert_eq!(
            (lb.kind.clone(), lb.scheme.clone(), lb.state.clone()),
            (LbType::Application, LbScheme::InternetFacing, LbState::Active)
        );
        let ls = ev.elb.listeners.known().unwrap();
        assert_eq!(ls[0].default_actions[0].target_groups.len(), 1, "TargetGroupArn and ForwardConfig once");
        assert_eq!(ls[1].default_actions[0].redirect.as_deref(), Some("HTTPS://#{host}:443/#{path} (HTTP_301)"));
        let h = &ev.elb.target_health.known().unwrap()[0].targets[0];
        assert_eq!((h.reason.clone(), h.health_check_port), (Some(TargetHealthReason::Timeout), Some(8080)));
        assert!(ev.elb.classic.missing().unwrap().remedy.contains("aws elb describe-load-balancers"));
    }

    #[test]
    fn listeners_as_describe_listeners_prints_them() {
        // Batfish's LoadBalancerListenerTest.json lists listeners without the per-balancer wrapper.
        let ev = parse_aws(&[doc(
            "l.json",
            r#"{"LoadBalancerListeners":[{"ListenerArn":"arn:l/1","LoadBalancerArn":"arn:lb/net/n/1","Port":82,"Protocol":"TCP","DefaultActions":[{"Order":1,"TargetGroupArn":"arn:tg/1","Type":"forward"}]}]}"#,
        )])
        .unwrap();
        let l = &ev.elb.listeners.known().unwrap()[0];
        assert_eq!(
            (l.lb_arn.as_str(), l.port, l.default_actions[0].target_groups.len()),
            ("arn:lb/net/n/1", Some(82), 1)
        );
        let e = parse_aws(&[doc(
            "l.json",
            r#"{"LoadBalancerListeners":[{"ListenerArn":"arn:l/1","Port":82,"DefaultActions":[]}]}"#,
        )])
        .unwrap_err();
        assert_eq!(e.field, "LoadBalancerListeners[0].LoadBalancerArn");
    }

    #[test]
    fn classic_documents() {
        let ev = parse_aws(&[
            doc("clb.json", r#"{"LoadBalancerDescriptions":[{"LoadBalancerName":"old","DNSName":"old-1.elb.amazonaws.com","ListenerDescriptions":[{"Listener":{"Protocol":"HTTP","LoadBalancerPort":80,"InstanceProtocol":"HTTP","InstancePort":8080}}],"Subnets":["subnet-a"],"VPCId":"vpc-1","Instances":[{"InstanceId":"i-1"}],"HealthCheck":{"Target":"HTTP:8080/health","Interval":30},"SecurityGroups":["sg-lb"],"Scheme":"internet-facing"}]}"#),
            doc("is.json", r#"{"InstanceStates":[{"LoadBalancerName":"old","InstanceStates":[{"InstanceId":"i-1","State":"OutOfService","ReasonCode":"Instance","Description":"Instance has failed at least the UnhealthyThreshold number of health checks consecutively."}]}]}"#),
            doc("ca.json", r#"{"ClassicLoadBalancerAttributes":[{"LoadBalancerName":"old","LoadBalancerAttributes":{"CrossZoneLoadBalancing":{"Enabled":false},"ConnectionDraining":{"Enabled":false,"Timeout":300},"AdditionalAttributes":[]}}]}"#),
        ])
        .unwrap();
        let a = &ev.elb.classic_attributes.known().unwrap()[0];
        assert_eq!((a.arn.as_str(), a.get(CLASSIC_CROSS_ZONE)), ("old", Some("false")));
        let c = &ev.elb.classic.known().unwrap()[0];
        assert_eq!(c.health_check.port, HealthCheckPort::Port(8080));
        assert_eq!(c.health_check.path.as_deref(), Some("/health"));
        let s = &ev.elb.classic_health.known().unwrap()[0].instances[0];
        assert_eq!(s.state, TargetHealthState::OutOfService);
        assert!(s.description.as_deref().unwrap().starts_with("Instance: "));
    }

    #[test]
    fn malformed_documents_name_file_and_field() {
        let e = parse_aws(&[doc("tg.json", r#"{"TargetGroups":[{"TargetGroupArn":"a","HealthCheckPort":"http"}]}"#)])
            .unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str()), ("tg.json", "TargetGroups[0].HealthCheckPort"));
        let e = parse_aws(&[doc(
            "l.json",
            r#"{"LoadBalancerListeners":[{"LoadBalancerArn":"a","Listeners":[{"ListenerArn":"l","Port":"x"}]}]}"#,
        )])
        .unwrap_err();
        assert_eq!(e.field, "LoadBalancerListeners[0].Listeners[0].Port");
        let e = parse_aws(&[doc("l.json", r#"{"LoadBalancerListeners":[{"LoadBalancerArn":"a"}]}"#)]).unwrap_err();
        assert_eq!(e.field, "LoadBalancerListeners[0].Listeners", "a wrapper without listeners is not 'none'");
        let e = parse_aws(&[doc("h.json", r#"{"LoadBalancerTargetHealth":[{"TargetGroupArn":"t"}]}"#)]).unwrap_err();
        assert!(e.field.starts_with("LoadBalancerTargetHealth[0]"), "{e}");
        let e = parse_aws(&[doc(
            "c.json",
            r#"{"LoadBalancerDescriptions":[{"LoadBalancerName":"a","ListenerDescriptions":[],"Subnets":[],"Instances":[],"SecurityGroups":[],"HealthCheck":{"Target":"HTTP"}}]}"#,
        )])
        .unwrap_err();
        assert_eq!(e.field, "LoadBalancerDescriptions[0].HealthCheck.Target");
        let e = parse_aws(&[doc("s.json", r#"{"InstanceStates":[{"InstanceStates":[]}]}"#)]).unwrap_err();
        assert!(e.field.starts_with("InstanceStates[0]"), "{e}");
    }
}
