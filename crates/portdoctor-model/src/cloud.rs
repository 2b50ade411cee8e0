//! AWS network objects, vendor-shaped but parsed: only what the path walk reads, each keeping
//! its id so evidence can cite it.

use crate::knowledge::Knowledge;
use crate::net::Cidr;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// An IP protocol as security groups and network ACLs name it (`-1`, `tcp`, `6`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpProto {
    All,
    Number(u8),
}

impl IpProto {
    pub fn matches(self, proto_number: u8) -> bool {
        match self {
            IpProto::All => true,
            IpProto::Number(n) => n == proto_number,
        }
    }

    pub fn text(self) -> String {
        match self {
            IpProto::All => "all".into(),
            IpProto::Number(6) => "tcp".into(),
            IpProto::Number(17) => "udp".into(),
            IpProto::Number(1) => "icmp".into(),
            IpProto::Number(58) => "icmpv6".into(),
            IpProto::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange { from: 0, to: 65535 };

    pub fn contains(&self, p: u16) -> bool {
        self.from <= p && p <= self.to
    }

    pub fn text(&self) -> String {
        if self.from == self.to { self.from.to_string() } else { format!("{}-{}", self.from, self.to) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub state: InstanceState,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub private_ip: Option<IpAddr>,
    pub public_ip: Option<IpAddr>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateIp {
    pub addr: IpAddr,
    pub primary: bool,
    /// The public IPv4 mapped onto it by the internet gateway, and who owns it (`amazon` for an
    /// auto-assigned address, an account id for an Elastic IP).
    pub public_ip: Option<IpAddr>,
    pub public_ip_owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub instance_id: Option<String>,
    pub device_index: Option<u32>,
    pub status: String,
    pub private_ips: Vec<PrivateIp>,
    pub ipv6: Vec<IpAddr>,
    pub groups: Vec<String>,
    /// What made the interface, in AWS's words: a load balancer's nodes are interfaces
    /// described "ELB app/NAME/ID", "ELB net/NAME/ID" or "ELB NAME" (Classic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SgSource {
    Cidr(Cidr),
    PrefixList(String),
    /// Another security group: admits only interfaces in that group, never the internet.
    Group(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SgRule {
    pub proto: IpProto,
    /// `None` for all ports (protocol -1, or a protocol without ports).
    pub ports: Option<PortRange>,
    pub sources: Vec<SgSource>,
    /// Human text of the rule as written, for evidence.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub vpc_id: Option<String>,
    pub ingress: Vec<SgRule>,
    /// Outbound rules (`IpPermissionsEgress`): their `sources` are destinations. A load
    /// balancer's group must let it reach its targets. `None` when the document has no such
    /// field (the AWS CLI always prints it; a hand-written file may not): unknown, not "none".
    pub egress: Option<Vec<SgRule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclAction {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    pub number: u32,
    pub egress: bool,
    pub proto: IpProto,
    pub action: AclAction,
    pub cidr: Cidr,
    /// `None`: all ports.
    pub ports: Option<PortRange>,
}

impl AclEntry {
    pub fn text(&self) -> String {
        let action = match self.action {
            AclAction::Allow => "allow",
            AclAction::Deny => "deny",
        };
        let ports = self.ports.as_ref().map(|p| format!(" {}", p.text())).unwrap_or_default();
        let dir = if self.egress { "to" } else { "from" };
        format!("rule {} {action} {}{ports} {dir} {}", self.number, self.proto.text(), self.cidr)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    pub is_default: bool,
    pub subnets: Vec<String>,
    pub entries: Vec<AclEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteDest {
    Cidr(Cidr),
    PrefixList(String),
}

/// As evidence names it: the CIDR, or the prefix list's id.
impl std::fmt::Display for RouteDest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteDest::Cidr(c) => write!(f, "{c}"),
            RouteDest::PrefixList(id) => f.write_str(id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteTarget {
    Local,
    InternetGateway(String),
    EgressOnlyGateway(String),
    NatGateway(String),
    NetworkInterface(String),
    Instance(String),
    PeeringConnection(String),
    TransitGateway(String),
    VpnGateway(String),
    Other(String),
}

impl RouteTarget {
    pub fn id(&self) -> &str {
        match self {
            RouteTarget::Local => "local",
            RouteTarget::InternetGateway(s)
            | RouteTarget::EgressOnlyGateway(s)
            | RouteTarget::NatGateway(s)
            | RouteTarget::NetworkInterface(s)
            | RouteTarget::Instance(s)
            | RouteTarget::PeeringConnection(s)
            | RouteTarget::TransitGateway(s)
            | RouteTarget::VpnGateway(s)
            | RouteTarget::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsRoute {
    pub dest: RouteDest,
    pub target: RouteTarget,
    /// `active` or `blackhole` (the target was deleted).
    pub blackhole: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub main: bool,
    pub subnets: Vec<String>,
    pub routes: Vec<AwsRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateway {
    pub id: String,
    /// VPCs it is attached to (attachment state `available`/`attached`).
    pub attached_vpcs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElasticIp {
    pub public_ip: IpAddr,
    pub allocation_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub private_ip: Option<IpAddr>,
    pub instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidrs: Vec<Cidr>,
    /// `AvailabilityZone`: a load balancer serves only the zones it is enabled in.
    pub zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub cidrs: Vec<Cidr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixList {
    pub id: String,
    pub cidrs: Vec<Cidr>,
}

/// VPC Block Public Access (account/region setting plus exclusions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockPublicAccess {
    pub mode: BpaMode,
    /// Resource ids (vpc-…, subnet-…) excluded in both directions.
    pub excluded_bidirectional: Vec<String>,
}

/// Everything known about one AWS account's network, live or from a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsEvidence {
    pub instances: Knowledge<Vec<Instance>>,
    pub interfaces: Knowledge<Vec<NetworkInterface>>,
    pub security_groups: Knowledge<Vec<SecurityGroup>>,
    pub network_acls: Knowledge<Vec<NetworkAcl>>,
    pub route_tables: Knowledge<Vec<RouteTable>>,
    pub internet_gateways: Knowledge<Vec<Gateway>>,
    pub egress_only_gateways: Knowledge<Vec<Gateway>>,
    pub addresses: Knowledge<Vec<ElasticIp>>,
    pub subnets: Knowledge<Vec<Subnet>>,
    pub vpcs: Knowledge<Vec<Vpc>>,
    pub prefix_lists: Knowledge<Vec<PrefixList>>,
    /// `None` inside `Known`: no setting recorded means the feature is off (its default).
    pub block_public_access: Knowledge<Option<BlockPublicAccess>>,
    /// Load balancers (elbv2 and Classic), their listeners, target groups and target health.
    pub elb: crate::elb::ElbEvidence,
    /// Abuse notices, compromise findings, changes: what the provider says about the account.
    pub platform: crate::platform::PlatformEvidence,
    pub notes: Vec<String>,
}

provider_words! {
    /// An EC2 instance's state (`State.Name`).
    InstanceState {
        Pending = "pending",
        Running = "running",
        ShuttingDown = "shutting-down",
        Terminated = "terminated",
        Stopping = "stopping",
        Stopped = "stopped",
    }
}

provider_words! {
    /// VPC Block Public Access's `InternetGatewayBlockMode`.
    BpaMode {
        Off = "off",
        BlockBidirectional = "block-bidirectional",
        BlockIngress = "block-ingress",
    }
}

#[cfg(test)]
mod words_tests {
    use super::*;

    #[test]
    fn provider_words_round_trip_and_keep_the_unknown() {
        assert_eq!(InstanceState::from("running"), InstanceState::Running);
        assert_eq!(InstanceState::from("hibernating").to_string(), "hibernating");
        assert_eq!(BpaMode::from("block-ingress"), BpaMode::BlockIngress);
        assert_eq!(String::from(BpaMode::BlockBidirectional), "block-bidirectional");
        assert_eq!(InstanceState::from(String::from("stopped")), InstanceState::Stopped);
    }
}
