//! AWS CLI JSON (`aws ec2 describe-* --output json`) → `AwsEvidence`. Files are recognised by
//! their top-level key, not their name (the layout Batfish reads), and may sit in region
//! sub-folders; lists from several files are merged. Only the fields the path walk reads are
//! declared; everything else is ignored, unknown keys are reported in notes.

use crate::ParseError;
use crate::platform::PlatformAcc;
use portdoctor_model::cloud::{
    AclAction, AclEntry, AwsEvidence, AwsRoute, BlockPublicAccess, ElasticIp, Gateway, Instance, IpProto, NetworkAcl,
    NetworkInterface, PortRange, PrefixList, PrivateIp, RouteDest, RouteTable, RouteTarget, SecurityGroup, SgRule,
    SgSource, Subnet, Vpc,
};
use portdoctor_model::knowledge::{Knowledge, Missing};
use portdoctor_model::net::Cidr;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A CIDR written as text, validated while deserialising so the error carries the field path.
#[derive(Debug, Clone, Copy)]
struct CidrText(Cidr);

impl<'de> Deserialize<'de> for CidrText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Cidr>().map(CidrText).map_err(serde::de::Error::custom)
    }
}

/// `-1`, `all`, `tcp`, `6`, … as security groups and network ACLs write protocols.
#[derive(Debug, Clone, Copy)]
struct ProtoText(IpProto);

impl<'de> Deserialize<'de> for ProtoText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let s = match &v {
            Value::String(s) => s.to_ascii_lowercase(),
            Value::Number(n) => n.to_string(),
            _ => return Err(serde::de::Error::custom("expected a protocol name or number")),
        };
        let p = match s.as_str() {
            "-1" | "all" => IpProto::All,
            "tcp" => IpProto::Number(6),
            "udp" => IpProto::Number(17),
            "icmp" => IpProto::Number(1),
            "icmpv6" | "58" => IpProto::Number(58),
            n => IpProto::Number(n.parse().map_err(|_| serde::de::Error::custom(format!("unknown protocol '{n}'")))?),
        };
        Ok(ProtoText(p))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    // The API's Tag.Value is optional, and it only names the instance.
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReservationJ {
    instances: Vec<InstanceJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateJ {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceJ {
    instance_id: String,
    state: StateJ,
    vpc_id: Option<String>,
    subnet_id: Option<String>,
    private_ip_address: Option<IpAddr>,
    public_ip_address: Option<IpAddr>,
    // AWS omits Tags on an instance without tags.
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssociationJ {
    public_ip: Option<IpAddr>,
    ip_owner_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrivateIpJ {
    private_ip_address: IpAddr,
    primary: bool,
    association: Option<AssociationJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttachmentJ {
    instance_id: Option<String>,
    device_index: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupRefJ {
    group_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ipv6AddrJ {
    ipv6_address: IpAddr,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EniJ {
    network_interface_id: String,
    vpc_id: String,
    subnet_id: String,
    // Kept in the evidence; no check reads it.
    #[serde(default)]
    status: String,
    attachment: Option<AttachmentJ>,
    private_ip_address: Option<IpAddr>,
    association: Option<AssociationJ>,
    // Without it the interface's PrivateIpAddress stands in as its primary address (below).
    #[serde(default)]
    private_ip_addresses: Vec<PrivateIpJ>,
    ipv6_addresses: Vec<Ipv6AddrJ>,
    groups: Vec<GroupRefJ>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IpRangeJ {
    cidr_ip: CidrText,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ipv6RangeJ {
    cidr_ipv6: CidrText,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixListIdJ {
    prefix_list_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PermissionJ {
    ip_protocol: ProtoText,
    from_port: Option<i32>,
    to_port: Option<i32>,
    ip_ranges: Vec<IpRangeJ>,
    // Ipv6Ranges (2016) and PrefixListIds (2015) came later than the rule shape: older outputs
    // and hand-written documents lack them.
    #[serde(default)]
    ipv6_ranges: Vec<Ipv6RangeJ>,
    #[serde(default)]
    prefix_list_ids: Vec<PrefixListIdJ>,
    user_id_group_pairs: Vec<GroupRefJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecurityGroupJ {
    group_id: String,
    // Names the group in the report only.
    #[serde(default)]
    group_name: String,
    vpc_id: Option<String>,
    ip_permissions: Vec<PermissionJ>,
    ip_permissions_egress: Option<Vec<PermissionJ>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubnetRefJ {
    subnet_id: Option<String>,
    // A network ACL's associations have no Main; a route table without one has no main table,
    // which the walk reports as unknown.
    #[serde(default)]
    main: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PortRangeJ {
    from: Option<i32>,
    to: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AclEntryJ {
    rule_number: u32,
    egress: bool,
    protocol: ProtoText,
    rule_action: String,
    cidr_block: Option<CidrText>,
    ipv6_cidr_block: Option<CidrText>,
    port_range: Option<PortRangeJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkAclJ {
    network_acl_id: String,
    vpc_id: String,
    // Without it an unassociated subnet has no ACL, which the walk reports as unknown.
    #[serde(default)]
    is_default: bool,
    associations: Vec<SubnetRefJ>,
    entries: Vec<AclEntryJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RouteJ {
    destination_cidr_block: Option<CidrText>,
    destination_ipv6_cidr_block: Option<CidrText>,
    destination_prefix_list_id: Option<String>,
    gateway_id: Option<String>,
    egress_only_internet_gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
    network_interface_id: Option<String>,
    instance_id: Option<String>,
    vpc_peering_connection_id: Option<String>,
    transit_gateway_id: Option<String>,
    state: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RouteTableJ {
    route_table_id: String,
    vpc_id: String,
    associations: Vec<SubnetRefJ>,
    routes: Vec<RouteJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VpcAttachmentJ {
    vpc_id: String,
    state: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IgwJ {
    internet_gateway_id: String,
    attachments: Vec<VpcAttachmentJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EigwJ {
    egress_only_internet_gateway_id: String,
    attachments: Vec<VpcAttachmentJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddressJ {
    public_ip: IpAddr,
    allocation_id: Option<String>,
    network_interface_id: Option<String>,
    private_ip_address: Option<IpAddr>,
    instance_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CidrAssocJ {
    cidr_block: Option<CidrText>,
    ipv6_cidr_block: Option<CidrText>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubnetJ {
    subnet_id: String,
    vpc_id: String,
    availability_zone: Option<String>,
    cidr_block: Option<CidrText>,
    // Only a balancer's IPv6 leg reads a subnet's IPv6 ranges, and it falls back to the VPC's.
    #[serde(default)]
    ipv6_cidr_block_association_set: Vec<CidrAssocJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VpcJ {
    vpc_id: String,
    cidr_block: Option<CidrText>,
    // The VPC's CidrBlock is read too, so a listing without its association sets loses only
    // secondary ranges; AWS omits the IPv6 set on a VPC without IPv6.
    #[serde(default)]
    cidr_block_association_set: Vec<CidrAssocJ>,
    #[serde(default)]
    ipv6_cidr_block_association_set: Vec<CidrAssocJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixListJ {
    prefix_list_id: String,
    cidrs: Vec<CidrText>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixEntryJ {
    cidr: CidrText,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BpaOptionsJ {
    // The API marks it optional; absent is its documented default, off (as the collector writes).
    internet_gateway_block_mode: Option<String>,
}

/// One describe call that failed during live collection (`portdoctor-calls.json`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CallJ {
    key: String,
    action: String,
    outcome: String,
    // Our own record; a call may fail without a message.
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BpaExclusionJ {
    resource_arn: String,
    internet_gateway_exclusion_mode: String,
    state: String,
}

/// Top-level keys read by this analysis, with the command that produces each (for remedies).
pub const EC2_KEYS: &[(&str, &str)] = &[
    ("Reservations", "aws ec2 describe-instances"),
    ("NetworkInterfaces", "aws ec2 describe-network-interfaces"),
    ("SecurityGroups", "aws ec2 describe-security-groups"),
    ("NetworkAcls", "aws ec2 describe-network-acls"),
    ("RouteTables", "aws ec2 describe-route-tables"),
    ("InternetGateways", "aws ec2 describe-internet-gateways"),
    ("EgressOnlyInternetGateways", "aws ec2 describe-egress-only-internet-gateways"),
    ("Addresses", "aws ec2 describe-addresses"),
    ("Subnets", "aws ec2 describe-subnets"),
    ("Vpcs", "aws ec2 describe-vpcs"),
    ("PrefixLists", "aws ec2 describe-prefix-lists"),
    ("VpcBlockPublicAccessOptions", "aws ec2 describe-vpc-block-public-access-options"),
    ("VpcBlockPublicAccessExclusions", "aws ec2 describe-vpc-block-public-access-exclusions"),
    ("PortdoctorCalls", "portdoctor (the calls that failed during live collection)"),
];

fn de<T: DeserializeOwned>(file: &str, key: &str, v: &Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            key.to_string()
        } else {
            format!("{key}{}", if path.starts_with('[') { path } else { format!(".{path}") })
        };
        ParseError::new(file, field, e.into_inner().to_string())
    })
}

fn port_range(from: Option<i32>, to: Option<i32>) -> Option<PortRange> {
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => {
            Some(PortRange { from: f.clamp(0, 65535) as u16, to: t.clamp(0, 65535) as u16 })
        }
        _ => None,
    }
}

fn attached(atts: &[VpcAttachmentJ]) -> Vec<String> {
    // "available" is what describe-internet-gateways says for an attached gateway.
    atts.iter()
        .filter(|a| a.state.is_empty() || a.state == "available" || a.state == "attached")
        .map(|a| a.vpc_id.clone())
        .collect()
}

fn rule_text(p: &PermissionJ, ports: &Option<PortRange>, sources: &[SgSource], dir: &str) -> String {
    let ports = ports.as_ref().map(|r| format!(" {}", r.text())).unwrap_or_default();
    let src: Vec<String> = sources
        .iter()
        .map(|s| match s {
            SgSource::Cidr(c) => c.to_string(),
            SgSource::PrefixList(p) | SgSource::Group(p) => p.clone(),
        })
        .collect();
    format!("allow {}{ports} {dir} {}", p.ip_protocol.0.text(), src.join(", "))
}

/// One security-group permission as a rule; `dir` is `from` (ingress) or `to` (egress).
fn sg_rule(p: &PermissionJ, dir: &str) -> SgRule {
    let ports = match p.ip_protocol.0 {
        IpProto::Number(6 | 17) => port_range(p.from_port, p.to_port),
        _ => None,
    };
    let mut sources: Vec<SgSource> = p.ip_ranges.iter().map(|r| SgSource::Cidr(r.cidr_ip.0)).collect();
    sources.extend(p.ipv6_ranges.iter().map(|r| SgSource::Cidr(r.cidr_ipv6.0)));
    sources.extend(p.prefix_list_ids.iter().map(|r| SgSource::PrefixList(r.prefix_list_id.clone())));
    sources.extend(p.user_id_group_pairs.iter().filter_map(|r| r.group_id.clone()).map(SgSource::Group));
    SgRule { proto: p.ip_protocol.0, text: rule_text(p, &ports, &sources, dir), ports, sources }
}

fn route_target(r: &RouteJ) -> RouteTarget {
    let gw = r.gateway_id.as_deref();
    if gw == Some("local") {
        return RouteTarget::Local;
    }
    if let Some(g) = gw {
        return match g.split('-').next() {
            Some("igw") => RouteTarget::InternetGateway(g.into()),
            Some("vgw") => RouteTarget::VpnGateway(g.into()),
            Some("eigw") => RouteTarget::EgressOnlyGateway(g.into()),
            _ => RouteTarget::Other(g.into()),
        };
    }
    let pick = [
        (&r.egress_only_internet_gateway_id, RouteTarget::EgressOnlyGateway as fn(String) -> RouteTarget),
        (&r.nat_gateway_id, RouteTarget::NatGateway),
        (&r.transit_gateway_id, RouteTarget::TransitGateway),
        (&r.vpc_peering_connection_id, RouteTarget::PeeringConnection),
        (&r.network_interface_id, RouteTarget::NetworkInterface),
        (&r.instance_id, RouteTarget::Instance),
    ];
    pick.into_iter().find_map(|(id, make)| id.clone().map(make)).unwrap_or_else(|| RouteTarget::Other("unknown".into()))
}

/// Why one key's value could not be taken: the JSON itself (its path is tracked by
/// serde_path_to_error), or what it says (a `ParseError` with its own field).
pub(crate) enum KeyError<E> {
    De(E),
    Parse(ParseError),
}

impl<E> From<ParseError> for KeyError<E> {
    fn from(e: ParseError) -> Self {
        KeyError::Parse(e)
    }
}

pub(crate) fn next<'de, T: Deserialize<'de>, A: MapAccess<'de>>(map: &mut A) -> Result<T, KeyError<A::Error>> {
    map.next_value().map_err(KeyError::De)
}

#[derive(Default)]
struct Acc {
    seen: BTreeMap<&'static str, Vec<String>>,
    instances: Vec<Instance>,
    interfaces: Vec<NetworkInterface>,
    security_groups: Vec<SecurityGroup>,
    network_acls: Vec<NetworkAcl>,
    route_tables: Vec<RouteTable>,
    internet_gateways: Vec<Gateway>,
    egress_only_gateways: Vec<Gateway>,
    addresses: Vec<ElasticIp>,
    subnets: Vec<Subnet>,
    vpcs: Vec<Vpc>,
    prefix_lists: Vec<PrefixList>,
    bpa_mode: Option<String>,
    bpa_excluded: Vec<String>,
    /// Why a key has no data: the failed call that should have produced it.
    failed: BTreeMap<String, Missing>,
    notes: Vec<String>,
    platform: PlatformAcc,
    elb: crate::aws_elb::ElbAcc,
}

impl Acc {
    /// Reads the value of the EC2 key `key` straight from the document (no `Value` tree: a
    /// region's security groups can be hundreds of MB) into the evidence.
    fn key<'de, A: MapAccess<'de>>(&mut self, file: &str, key: &str, map: &mut A) -> Result<bool, KeyError<A::Error>> {
        match key {
            "Reservations" => {
                for r in next::<Vec<ReservationJ>, A>(map)? {
                    self.instances.extend(r.instances.into_iter().map(|i| Instance {
                        name: i.tags.iter().find(|t| t.key == "Name").map(|t| t.value.clone()),
                        id: i.instance_id,
                        state: i.state.name.into(),
                        vpc_id: i.vpc_id,
                        subnet_id: i.subnet_id,
                        private_ip: i.private_ip_address,
                        public_ip: i.public_ip_address,
                    }));
                }
            }
            "NetworkInterfaces" => {
                for e in next::<Vec<EniJ>, A>(map)? {
                    let mut private_ips: Vec<PrivateIp> = e
                        .private_ip_addresses
                        .into_iter()
                        .map(|p| PrivateIp {
                            addr: p.private_ip_address,
                            primary: p.primary,
                            public_ip: p.association.as_ref().and_then(|a| a.public_ip),
                            public_ip_owner: p.association.and_then(|a| a.ip_owner_id),
                        })
                        .collect();
                    // The interface-level Association belongs to the primary private address;
                    // some sources (moto) show it only there.
                    let eni_public = e.association.as_ref().and_then(|a| a.public_ip);
                    let eni_owner = e.association.as_ref().and_then(|a| a.ip_owner_id.clone());
                    if private_ips.is_empty() {
                        if let Some(addr) = e.private_ip_address {
                            private_ips.push(PrivateIp {
                                addr,
                                primary: true,
                                public_ip: eni_public,
                                public_ip_owner: eni_owner,
                            });
                        }
                    } else if let Some(p) = private_ips.iter_mut().find(|p| p.primary && p.public_ip.is_none()) {
                        p.public_ip = eni_public;
                        p.public_ip_owner = eni_owner;
                    }
                    self.interfaces.push(NetworkInterface {
                        id: e.network_interface_id,
                        vpc_id: e.vpc_id,
                        subnet_id: e.subnet_id,
                        instance_id: e.attachment.as_ref().and_then(|a| a.instance_id.clone()),
                        device_index: e.attachment.as_ref().and_then(|a| a.device_index),
                        status: e.status,
                        private_ips,
                        ipv6: e.ipv6_addresses.into_iter().map(|a| a.ipv6_address).collect(),
                        groups: e.groups.into_iter().filter_map(|g| g.group_id).collect(),
                        description: e.description.filter(|d| !d.is_empty()),
                    });
                }
            }
            "SecurityGroups" => {
                for g in next::<Vec<SecurityGroupJ>, A>(map)? {
                    let ingress = g.ip_permissions.iter().map(|p| sg_rule(p, "from")).collect();
                    let egress = g.ip_permissions_egress.map(|e| e.iter().map(|p| sg_rule(p, "to")).collect());
                    self.security_groups.push(SecurityGroup {
                        id: g.group_id,
                        name: g.group_name,
                        vpc_id: g.vpc_id,
                        ingress,
                        egress,
                    });
                }
            }
            "NetworkAcls" => {
                for (i, a) in next::<Vec<NetworkAclJ>, A>(map)?.into_iter().enumerate() {
                    let mut entries = Vec::with_capacity(a.entries.len());
                    for (j, e) in a.entries.into_iter().enumerate() {
                        let field = format!("NetworkAcls[{i}].Entries[{j}]");
                        let cidr = e
                            .cidr_block
                            .or(e.ipv6_cidr_block)
                            .ok_or_else(|| {
                                ParseError::new(
                                    file,
                                    format!("{field}.CidrBlock"),
                                    "neither CidrBlock nor Ipv6CidrBlock",
                                )
                            })?
                            .0;
                        let action = match e.rule_action.to_ascii_lowercase().as_str() {
                            "allow" => AclAction::Allow,
                            "deny" => AclAction::Deny,
                            other => {
                                return Err(ParseError::new(
                                    file,
                                    format!("{field}.RuleAction"),
                                    format!("'{other}' is neither allow nor deny"),
                                )
                                .into());
                            }
                        };
                        let ports = match e.protocol.0 {
                            IpProto::Number(6 | 17) => e.port_range.and_then(|p| port_range(p.from, p.to)),
                            _ => None,
                        };
                        entries.push(AclEntry {
                            number: e.rule_number,
                            egress: e.egress,
                            proto: e.protocol.0,
                            action,
                            cidr,
                            ports,
                        });
                    }
                    self.network_acls.push(NetworkAcl {
                        id: a.network_acl_id,
                        vpc_id: a.vpc_id,
                        is_default: a.is_default,
                        subnets: a.associations.into_iter().filter_map(|s| s.subnet_id).collect(),
                        entries,
                    });
                }
            }
            "RouteTables" => {
                for t in next::<Vec<RouteTableJ>, A>(map)? {
                    let routes = t
                        .routes
                        .iter()
                        .filter_map(|r| {
                            let dest = match (
                                &r.destination_cidr_block,
                                &r.destination_ipv6_cidr_block,
                                &r.destination_prefix_list_id,
                            ) {
                                (Some(c), _, _) | (None, Some(c), _) => RouteDest::Cidr(c.0),
                                (None, None, Some(pl)) => RouteDest::PrefixList(pl.clone()),
                                _ => return None,
                            };
                            Some(AwsRoute { dest, target: route_target(r), blackhole: r.state == "blackhole" })
                        })
                        .collect();
                    self.route_tables.push(RouteTable {
                        id: t.route_table_id,
                        vpc_id: t.vpc_id,
                        main: t.associations.iter().any(|a| a.main),
                        subnets: t.associations.into_iter().filter_map(|a| a.subnet_id).collect(),
                        routes,
                    });
                }
            }
            "InternetGateways" => self.internet_gateways.extend(
                next::<Vec<IgwJ>, A>(map)?
                    .into_iter()
                    .map(|g| Gateway { attached_vpcs: attached(&g.attachments), id: g.internet_gateway_id }),
            ),
            "EgressOnlyInternetGateways" => {
                self.egress_only_gateways.extend(next::<Vec<EigwJ>, A>(map)?.into_iter().map(|g| Gateway {
                    attached_vpcs: attached(&g.attachments),
                    id: g.egress_only_internet_gateway_id,
                }))
            }
            "Addresses" => self.addresses.extend(next::<Vec<AddressJ>, A>(map)?.into_iter().map(|a| ElasticIp {
                public_ip: a.public_ip,
                allocation_id: a.allocation_id,
                network_interface_id: a.network_interface_id,
                private_ip: a.private_ip_address,
                instance_id: a.instance_id,
            })),
            "Subnets" => self.subnets.extend(next::<Vec<SubnetJ>, A>(map)?.into_iter().map(|s| {
                Subnet {
                    cidrs: s
                        .cidr_block
                        .into_iter()
                        .map(|c| c.0)
                        .chain(s.ipv6_cidr_block_association_set.iter().filter_map(|a| a.ipv6_cidr_block.map(|c| c.0)))
                        .collect(),
                    id: s.subnet_id,
                    vpc_id: s.vpc_id,
                    zone: s.availability_zone,
                }
            })),
            "Vpcs" => self.vpcs.extend(next::<Vec<VpcJ>, A>(map)?.into_iter().map(|s| {
                let mut cidrs: Vec<Cidr> = s.cidr_block.into_iter().map(|c| c.0).collect();
                for a in s.cidr_block_association_set.iter().chain(&s.ipv6_cidr_block_association_set) {
                    for c in [a.cidr_block, a.ipv6_cidr_block].into_iter().flatten() {
                        if !cidrs.contains(&c.0) {
                            cidrs.push(c.0);
                        }
                    }
                }
                Vpc { id: s.vpc_id, cidrs }
            })),
            "PrefixLists" => self.prefix_lists.extend(
                next::<Vec<PrefixListJ>, A>(map)?
                    .into_iter()
                    .map(|p| PrefixList { id: p.prefix_list_id, cidrs: p.cidrs.into_iter().map(|c| c.0).collect() }),
            ),
            "VpcBlockPublicAccessOptions" => {
                let o: BpaOptionsJ = next(map)?;
                self.bpa_mode = Some(o.internet_gateway_block_mode.unwrap_or_else(|| "off".into()));
            }
            "PortdoctorCalls" => {
                for c in next::<Vec<CallJ>, A>(map)? {
                    let remedy = crate::platform::remedy(&c.key, &c.action, &c.outcome).unwrap_or_else(|| match c.outcome.as_str() {
                        "permission-denied" => format!("grant {} to the credentials portdoctor uses (docs/iam-policy.json lists every action it calls)", c.action),
                        "credentials-rejected" => "check the credentials (aws sts get-caller-identity) and the profile/region".to_string(),
                        "no-credentials" => "configure AWS credentials: a profile (--profile, AWS_PROFILE), SSO (aws sso login), environment variables or an instance role".to_string(),
                        "throttled" => "try again later; the SDK's retries were exhausted".to_string(),
                        "timed-out" => format!("{} did not answer in time: check the network path to the AWS endpoint (a proxy, a VPC endpoint), or allow longer with PORTDOCTOR_AWS_TIMEOUT=SECONDS", c.action),
                        _ => format!("run the equivalent AWS CLI call by hand to see why {} failed", c.action),
                    });
                    let missing =
                        Missing::new(c.key.clone(), format!("{} {}: {}", c.action, c.outcome, c.message), remedy);
                    self.failed.insert(c.key, missing);
                }
            }
            "VpcBlockPublicAccessExclusions" => {
                for x in next::<Vec<BpaExclusionJ>, A>(map)? {
                    let live = !x.state.contains("delete");
                    if live
                        && x.internet_gateway_exclusion_mode == "allow-bidirectional"
                        && let Some(id) = x.resource_arn.rsplit('/').next()
                    {
                        self.bpa_excluded.push(id.to_string());
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

pub(crate) fn take<T>(
    acc_seen: &BTreeMap<&'static str, Vec<String>>,
    failed: &BTreeMap<String, Missing>,
    key: &'static str,
    value: Vec<T>,
) -> Knowledge<Vec<T>> {
    if acc_seen.contains_key(key) {
        Knowledge::Known(value)
    } else if let Some(m) = failed.get(key) {
        Knowledge::Unavailable(m.clone())
    } else {
        let keys = EC2_KEYS.iter().chain(crate::aws_elb::ELB_KEYS);
        let cmd = keys.into_iter().find(|(k, _)| *k == key).map(|(_, c)| *c).unwrap_or("aws ec2 describe-…");
        Knowledge::Unavailable(Missing::new(
            key,
            format!("no file with top-level key {key} in the snapshot"),
            format!("add the output of `{cmd} --output json`, or re-take it with `portdoctor snapshot aws --out DIR`"),
        ))
    }
}

/// AWS CLI JSON documents: `(file name relative to the snapshot, text)`.
pub type Docs = Vec<(String, String)>;

/// Parses every JSON document of a snapshot.
/// One document's top level, read key by key straight from the text.
struct Doc<'a> {
    acc: &'a mut Acc,
    file: &'a str,
    /// A semantic error met while reading (the deserializer's own error only says "see this").
    failure: Option<ParseError>,
}

impl<'de> Visitor<'de> for &mut Doc<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object as the AWS CLI prints it")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let file = self.file;
        let fail = |e: KeyError<A::Error>, failure: &mut Option<ParseError>| match e {
            KeyError::De(e) => e,
            KeyError::Parse(p) => {
                *failure = Some(p);
                serde::de::Error::custom("(see the field)")
            }
        };
        // A managed prefix list's entries (`get-managed-prefix-list-entries` plus its id).
        let (mut pl_id, mut pl_entries) = (None::<Value>, None::<Value>);
        while let Some(key) = map.next_key::<String>()? {
            if let Some((k, _)) = EC2_KEYS.iter().find(|(k, _)| *k == key) {
                self.acc.key(file, k, &mut map).map_err(|e| fail(e, &mut self.failure))?;
                self.acc.seen.entry(k).or_default().push(file.to_string());
            } else if let Some((k, _)) = crate::aws_elb::ELB_KEYS.iter().find(|(k, _)| *k == key) {
                self.acc.elb.key(file, k, &mut map).map_err(|e| fail(e, &mut self.failure))?;
                self.acc.seen.entry(k).or_default().push(file.to_string());
            } else if key == "PrefixListId" {
                pl_id = Some(map.next_value()?);
            } else if key == "Entries" {
                pl_entries = Some(map.next_value()?);
            } else if crate::platform::PLATFORM_KEYS.iter().any(|(k, _)| *k == key) {
                let v: Value = map.next_value()?;
                let acc = &mut *self.acc;
                acc.platform
                    .key(file, &key, &v, &mut acc.notes)
                    .map_err(|e| fail(KeyError::Parse(e), &mut self.failure))?;
            } else {
                map.next_value::<IgnoredAny>()?;
                if key != "NextToken" && key != "ResponseMetadata" {
                    self.acc.notes.push(format!("{file}: {key} not used by this analysis"));
                }
            }
        }
        match (pl_id, pl_entries) {
            (Some(Value::String(id)), Some(entries)) => {
                let entries: Vec<PrefixEntryJ> =
                    de(file, "Entries", &entries).map_err(|e| fail(KeyError::Parse(e), &mut self.failure))?;
                self.acc.prefix_lists.push(PrefixList { id, cidrs: entries.into_iter().map(|e| e.cidr.0).collect() });
                self.acc.seen.entry("PrefixLists").or_default().push(file.to_string());
            }
            (id, entries) => {
                for (k, v) in [("PrefixListId", id), ("Entries", entries)] {
                    if v.is_some() {
                        self.acc.notes.push(format!("{file}: {k} not used by this analysis"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads one document into `acc`, streaming: only the typed records are kept, never the
/// document as a tree. Errors name the file and the field path (or the line, for bad JSON).
fn read_doc(acc: &mut Acc, file: &str, text: &str) -> Result<(), ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let mut doc = Doc { acc, file, failure: None };
    let r = serde::Deserializer::deserialize_map(serde_path_to_error::Deserializer::new(&mut de, &mut track), &mut doc)
        .and_then(|()| de.end());
    let Err(e) = r else { return Ok(()) };
    if let Some(p) = doc.failure {
        return Err(p);
    }
    let path = track.path().to_string();
    Err(match e.classify() {
        serde_json::error::Category::Data if path == "." => {
            ParseError::new(file, "(top level)", "expected a JSON object as the AWS CLI prints it")
        }
        serde_json::error::Category::Data => {
            // The message without serde_json's " at line L column C": the path says where.
            let msg = e.to_string();
            let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m).to_string();
            ParseError::new(file, path, msg)
        }
        _ => ParseError::new(file, format!("line {} column {}", e.line(), e.column()), format!("not valid JSON: {e}")),
    })
}

pub fn parse_aws(docs: &[(String, String)]) -> Result<AwsEvidence, ParseError> {
    let mut acc = Acc::default();
    for (file, text) in docs {
        read_doc(&mut acc, file, text)?;
    }
    let bpa = if acc.seen.contains_key("VpcBlockPublicAccessOptions") {
        Knowledge::Known(
            acc.bpa_mode
                .clone()
                .map(|mode| BlockPublicAccess { mode: mode.into(), excluded_bidirectional: acc.bpa_excluded.clone() }),
        )
    } else {
        Knowledge::Unavailable(Missing::new(
            "VPC Block Public Access settings",
            "no file with top-level key VpcBlockPublicAccessOptions in the snapshot",
            "add `aws ec2 describe-vpc-block-public-access-options --output json` (and -exclusions)",
        ))
    };
    let seen = acc.seen;
    Ok(AwsEvidence {
        instances: take(&seen, &acc.failed, "Reservations", acc.instances),
        interfaces: take(&seen, &acc.failed, "NetworkInterfaces", acc.interfaces),
        security_groups: take(&seen, &acc.failed, "SecurityGroups", acc.security_groups),
        network_acls: take(&seen, &acc.failed, "NetworkAcls", acc.network_acls),
        route_tables: take(&seen, &acc.failed, "RouteTables", acc.route_tables),
        internet_gateways: take(&seen, &acc.failed, "InternetGateways", acc.internet_gateways),
        egress_only_gateways: take(&seen, &acc.failed, "EgressOnlyInternetGateways", acc.egress_only_gateways),
        addresses: take(&seen, &acc.failed, "Addresses", acc.addresses),
        subnets: take(&seen, &acc.failed, "Subnets", acc.subnets),
        vpcs: take(&seen, &acc.failed, "Vpcs", acc.vpcs),
        prefix_lists: take(&seen, &acc.failed, "PrefixLists", acc.prefix_lists),
        block_public_access: bpa,
        elb: acc.elb.finish(&seen, &acc.failed),
        platform: acc.platform.finish(&acc.failed),
        notes: acc.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, text: &str) -> (String, String) {
        (name.to_string(), text.to_string())
    }

    #[test]
    fn reads_by_key_not_name_and_notes_the_rest() {
        let ev = parse_aws(&[
            doc("a.json", r#"{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"web","IpPermissions":[{"IpProtocol":"tcp","FromPort":80,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}],"UserIdGroupPairs":[{"GroupId":"sg-2"}]}]}]}"#),
            doc("us-east-1/b.json", r#"{"NatGateways":[]}"#),
        ])
        .unwrap();
        let sgs = ev.security_groups.known().unwrap();
        assert_eq!(sgs[0].ingress[0].ports, Some(PortRange { from: 80, to: 80 }));
        assert_eq!(sgs[0].ingress[0].sources.len(), 2);
        assert_eq!(sgs[0].ingress[0].text, "allow tcp 80 from 0.0.0.0/0, sg-2");
        assert!(ev.notes[0].contains("NatGateways not used"));
        assert!(ev.network_acls.missing().unwrap().remedy.contains("describe-network-acls"));
    }

    #[test]
    fn acl_protocol_names_and_numbers() {
        let ev = parse_aws(&[doc(
            "acl.json",
            r#"{"NetworkAcls":[{"NetworkAclId":"acl-1","VpcId":"vpc-1","Associations":[],"Entries":[
              {"RuleNumber":100,"Egress":false,"Protocol":"6","RuleAction":"allow","CidrBlock":"0.0.0.0/0","PortRange":{"From":80,"To":80}},
              {"RuleNumber":90,"Egress":false,"Protocol":"tcp","RuleAction":"deny","CidrBlock":"198.51.100.0/24","PortRange":{"From":80,"To":80}},
              {"RuleNumber":32768,"Egress":false,"Protocol":"-1","RuleAction":"deny","Ipv6CidrBlock":"::/0"}]}]}"#,
        )])
        .unwrap();
        let acl = &ev.network_acls.known().unwrap()[0];
        assert_eq!(acl.entries[0].proto, IpProto::Number(6));
        assert_eq!(acl.entries[1].proto, IpProto::Number(6));
        assert_eq!(acl.entries[2].cidr.to_string(), "::/0");
        assert_eq!(acl.entries[1].text(), "rule 90 deny tcp 80 from 198.51.100.0/24");
    }

    #[test]
    fn bad_input_names_file_and_field() {
        let e = parse_aws(&[doc("sg.json", r#"{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/99"}]}]}]}"#)]).unwrap_err();
        assert_eq!(e.file, "sg.json");
        assert_eq!(e.field, "SecurityGroups[0].IpPermissions[0].IpRanges[0].CidrIp");
        let e = parse_aws(&[doc("r.json", r#"{"RouteTables":[{"VpcId":"vpc-1"}]}"#)]).unwrap_err();
        assert_eq!(e.field, "RouteTables[0]");
        assert!(e.message.contains("RouteTableId"), "{e}");
        let e = parse_aws(&[doc("t.json", r#"{"Vpcs": ["#)]).unwrap_err();
        assert!(e.field.starts_with("line 1"), "{e}");
        let e = parse_aws(&[doc("x.json", "[]")]).unwrap_err();
        assert_eq!(e.field, "(top level)");
    }

    #[test]
    fn managed_prefix_list_entries() {
        let ev = parse_aws(&[doc(
            "pl.json",
            r#"{"PrefixListId":"pl-1","Entries":[{"Cidr":"203.0.113.0/24","Description":"office"}]}"#,
        )])
        .unwrap();
        assert_eq!(ev.prefix_lists.known().unwrap()[0].cidrs[0].to_string(), "203.0.113.0/24");
    }
}
