//! AWS Elastic Load Balancing (v2: Application, Network and Gateway; and Classic), as the
//! describe calls print it and Batfish lays it out: only what the load-balancer path reads,
//! each record keeping its ARN or name so evidence can cite it. The provider's closed
//! vocabularies (types, states, health reasons) are enums with an `Unknown` arm keeping the word.

use crate::knowledge::Knowledge;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

provider_words! {
    /// `Type` of an elbv2 load balancer; `classic` for an ELB Classic one.
    LbType {
        Application = "application",
        Network = "network",
        Gateway = "gateway",
        Classic = "classic",
    }
}

provider_words! {
    /// `Scheme`: only an internet-facing balancer has public addresses.
    LbScheme {
        InternetFacing = "internet-facing",
        Internal = "internal",
    }
}

provider_words! {
    /// `State.Code` of an elbv2 load balancer.
    LbState {
        Active = "active",
        Provisioning = "provisioning",
        ActiveImpaired = "active_impaired",
        Failed = "failed",
    }
}

provider_words! {
    /// `IpAddressType`.
    LbIpAddressType {
        Ipv4 = "ipv4",
        Dualstack = "dualstack",
        DualstackWithoutPublicIpv4 = "dualstack-without-public-ipv4",
    }
}

provider_words! {
    /// A listener's or target group's protocol (Classic writes the same words).
    LbProtocol {
        Http = "HTTP",
        Https = "HTTPS",
        Tcp = "TCP",
        Tls = "TLS",
        Udp = "UDP",
        TcpUdp = "TCP_UDP",
        Ssl = "SSL",
        Geneve = "GENEVE",
    }
}

impl LbProtocol {
    /// Whether the balancer speaks HTTP to the client: it completes the handshake itself and
    /// answers 502/503/504 when no target can (FACTS.md).
    pub fn is_http(&self) -> bool {
        matches!(self, LbProtocol::Http | LbProtocol::Https)
    }

    /// Whether it carries UDP (the flow's protocol must match).
    pub fn carries_udp(&self) -> bool {
        matches!(self, LbProtocol::Udp | LbProtocol::TcpUdp)
    }

    /// Whether it carries TCP.
    pub fn carries_tcp(&self) -> bool {
        !matches!(self, LbProtocol::Udp | LbProtocol::Geneve)
    }
}

provider_words! {
    /// A listener or rule action's `Type`.
    LbActionType {
        Forward = "forward",
        FixedResponse = "fixed-response",
        Redirect = "redirect",
        AuthenticateOidc = "authenticate-oidc",
        AuthenticateCognito = "authenticate-cognito",
    }
}

provider_words! {
    /// A target group's `TargetType`.
    TargetType {
        Instance = "instance",
        Ip = "ip",
        Lambda = "lambda",
        Alb = "alb",
    }
}

provider_words! {
    /// `TargetHealth.State` (elbv2) or `State` (Classic `InService`/`OutOfService`).
    TargetHealthState {
        Initial = "initial",
        Healthy = "healthy",
        Unhealthy = "unhealthy",
        UnhealthyDraining = "unhealthy.draining",
        Unused = "unused",
        Draining = "draining",
        Unavailable = "unavailable",
        InService = "InService",
        OutOfService = "OutOfService",
    }
}

provider_words! {
    /// `TargetHealth.Reason` (elbv2 API reference, TargetHealth).
    TargetHealthReason {
        RegistrationInProgress = "Elb.RegistrationInProgress",
        InitialHealthChecking = "Elb.InitialHealthChecking",
        InternalError = "Elb.InternalError",
        ResponseCodeMismatch = "Target.ResponseCodeMismatch",
        Timeout = "Target.Timeout",
        FailedHealthChecks = "Target.FailedHealthChecks",
        NotRegistered = "Target.NotRegistered",
        NotInUse = "Target.NotInUse",
        DeregistrationInProgress = "Target.DeregistrationInProgress",
        InvalidState = "Target.InvalidState",
        IpUnusable = "Target.IpUnusable",
        HealthCheckDisabled = "Target.HealthCheckDisabled",
    }
}

/// One Availability Zone a balancer is enabled in: its subnet, and (NLB) the addresses of its
/// node there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbZone {
    pub zone: String,
    pub subnet_id: String,
    /// NLB `LoadBalancerAddresses`: an Elastic IP (`IpAddress`), the node's private IPv4 and IPv6.
    pub public_ips: Vec<IpAddr>,
    pub private_ips: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    pub kind: LbType,
    pub scheme: LbScheme,
    pub state: LbState,
    pub state_reason: Option<String>,
    pub vpc_id: Option<String>,
    pub zones: Vec<LbZone>,
    /// Empty for an NLB created without security groups (it can never get any).
    pub security_groups: Vec<String>,
    pub ip_address_type: LbIpAddressType,
}

/// A forward action's target group, with its weight (0: never chosen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    pub arn: String,
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbAction {
    pub kind: LbActionType,
    pub order: Option<i64>,
    /// `TargetGroupArn` and `ForwardConfig.TargetGroups`, once each.
    pub target_groups: Vec<WeightedTargetGroup>,
    /// `FixedResponseConfig.StatusCode`.
    pub fixed_status: Option<String>,
    /// `RedirectConfig` in words (`HTTPS://#{host}:443/#{path}`, status).
    pub redirect: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub lb_arn: String,
    /// `None` for a Gateway Load Balancer's listener (it takes every port).
    pub port: Option<u16>,
    pub protocol: Option<LbProtocol>,
    pub default_actions: Vec<LbAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerRule {
    pub listener_arn: String,
    pub arn: String,
    /// `default` or a number, as written.
    pub priority: String,
    pub is_default: bool,
    /// Each condition in words (`path-pattern /api/*`), for evidence.
    pub conditions: Vec<String>,
    pub actions: Vec<LbAction>,
}

/// `describe-load-balancer-attributes` / `describe-target-group-attributes` of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAttributes {
    pub arn: String,
    pub values: Vec<(String, String)>,
}

impl ResourceAttributes {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Where health checks go: the target's own traffic port, or a fixed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthCheckPort {
    TrafficPort,
    Port(u16),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: Option<LbProtocol>,
    pub port: HealthCheckPort,
    pub path: Option<String>,
    /// `Matcher.HttpCode` (`200`, `200-299`).
    pub matcher: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: Option<LbProtocol>,
    pub port: Option<u16>,
    pub target_type: TargetType,
    pub vpc_id: Option<String>,
    pub lb_arns: Vec<String>,
    pub health_check: HealthCheck,
}

/// One registered target and its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealthRecord {
    /// `i-…`, an IP address, or a Lambda ARN.
    pub id: String,
    pub port: Option<u16>,
    pub zone: Option<String>,
    pub state: TargetHealthState,
    pub reason: Option<TargetHealthReason>,
    pub description: Option<String>,
    /// `HealthCheckPort` as describe-target-health reports it.
    pub health_check_port: Option<u16>,
}

/// Behind a load balancer: one target the host layer of `diagnose` can be judged for, with what
/// its health says, so its host can be asked about the health-check port too and the host's
/// causes joined with AWS's health reason by type, not by words. Not part of any report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehindBalancer {
    /// The target's id as the cloud layer's causes name it (`i-…`, or an address).
    pub target: String,
    /// Where its traffic arrives: an IP target's address, an instance's primary private
    /// address; `None` when the evidence does not say (no interface of the instance).
    pub ip: Option<IpAddr>,
    /// The port and clients the target sees (not the question's: the target port, the
    /// balancer's nodes or with client IP preservation the clients) and its group's health.
    pub flow: crate::diagnosis::ArrivalFlow,
    /// The health check's port and where it comes from (the balancer's nodes, even with client
    /// IP preservation), when health checks are on.
    pub health_check: Option<(u16, crate::net::Source)>,
    /// AWS's reason, when the target has one (failing its checks, unused, …).
    pub reason: Option<TargetHealthReason>,
    /// Whether AWS says it passes its health checks (`healthy`, Classic `InService`).
    pub healthy: bool,
}

/// `describe-target-health` of one target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupHealth {
    pub tg_arn: String,
    pub targets: Vec<TargetHealthRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicListener {
    pub lb_port: u16,
    pub protocol: LbProtocol,
    pub instance_port: u16,
    pub instance_protocol: LbProtocol,
}

/// An ELB Classic load balancer (`elb describe-load-balancers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicLb {
    pub name: String,
    pub dns_name: String,
    pub scheme: LbScheme,
    pub vpc_id: Option<String>,
    pub zones: Vec<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub listeners: Vec<ClassicListener>,
    pub instances: Vec<String>,
    /// `HealthCheck.Target` (`HTTP:80/index.html`, `TCP:22`), parsed.
    pub health_check: HealthCheck,
}

/// `elb describe-instance-health` of one Classic load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicInstanceStates {
    pub lb_name: String,
    pub instances: Vec<TargetHealthRecord>,
}

/// Everything known about an account's load balancers; each listing `Unavailable` when its
/// file is absent (the load-balancer path then says what to add).
#[derive(Debug, Clone, PartialEq)]
pub struct ElbEvidence {
    pub load_balancers: Knowledge<Vec<LoadBalancer>>,
    pub listeners: Knowledge<Vec<Listener>>,
    pub rules: Knowledge<Vec<ListenerRule>>,
    pub lb_attributes: Knowledge<Vec<ResourceAttributes>>,
    pub target_groups: Knowledge<Vec<TargetGroup>>,
    pub target_health: Knowledge<Vec<TargetGroupHealth>>,
    pub tg_attributes: Knowledge<Vec<ResourceAttributes>>,
    pub classic: Knowledge<Vec<ClassicLb>>,
    pub classic_health: Knowledge<Vec<ClassicInstanceStates>>,
    /// `elb describe-load-balancer-attributes` per Classic balancer, `arn` holding its name.
    pub classic_attributes: Knowledge<Vec<ResourceAttributes>>,
}

/// A Classic balancer's cross-zone attribute (`CrossZoneLoadBalancing.Enabled`), as kept in its
/// [`ResourceAttributes`].
pub const CLASSIC_CROSS_ZONE: &str = "CrossZoneLoadBalancing.Enabled";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_providers() {
        assert_eq!(LbType::from("network"), LbType::Network);
        assert_eq!(TargetHealthReason::from("Target.Timeout"), TargetHealthReason::Timeout);
        assert_eq!(TargetHealthReason::from("Target.Other").as_str(), "Target.Other");
        assert!(LbProtocol::from("HTTPS").is_http());
        assert!(LbProtocol::TcpUdp.carries_udp() && LbProtocol::TcpUdp.carries_tcp());
        let a = ResourceAttributes { arn: "x".into(), values: vec![("k".into(), "v".into())] };
        assert_eq!(a.get("k"), Some("v"));
    }
}
