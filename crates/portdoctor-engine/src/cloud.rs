//! The AWS path walk of `portdoctor cloud`: internet → internet gateway (1:1 NAT) → subnet →
//! route table (the reply's route) → network ACL in → security groups → interface → instance →
//! network ACL out (the reply to the client's ephemeral ports). Every blocker is reported, not
//! only the first, and every verdict about "the internet" is a set computation over every public
//! source address, so a partial allow-list is caught exactly.
//!
//! Semantics (AWS VPC User Guide): security groups are stateful allow-lists, the union of all
//! groups on the interface, and a group reference admits only members of that group; network
//! ACLs are stateless, evaluated in rule-number order with an implicit final deny; the internet
//! gateway admits IPv4 only to a public address associated with an interface and translates it
//! to that interface's private address; an egress-only gateway admits nothing inbound.

use crate::platform::{ChangeWindow, Subject, judge_platform};
use portdoctor_model::addrset::{AddrSet, describe_part};
use portdoctor_model::cloud::{
    AclAction, AclEntry, AwsEvidence, Instance, NetworkAcl, NetworkInterface, PortRange, RouteDest, RouteTable,
    RouteTarget, SecurityGroup, SgSource,
};
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::net::{Cidr, Family, Proto, Source};
use portdoctor_model::platform::PlatformEvidence;
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Knowledge, Layer, Query,
};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudTarget {
    PublicIp(IpAddr),
    Instance(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudQuery {
    pub port: u16,
    pub proto: Proto,
    pub from: Source,
    pub target: CloudTarget,
    /// The client's ephemeral ports, which replies must reach (`--client-ports`).
    pub client_ports: PortRange,
    /// How far back the platform layer looks for changes (`--since`).
    pub changes: ChangeWindow,
}

fn proto_number(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    }
}

fn cloud_check(id: &str, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id, Layer::Cloud, CheckKind::Path, status, summary)
}

fn unknown_check(id: &str, what: &str, k: Option<&portdoctor_model::Missing>) -> Check {
    cloud_check(id, CheckStatus::Unknown, format!("Could not check {what}")).with_evidence(k.map(|m| m.describe()))
}

/// Lookups built once per evidence, so a query (or every instance of an account) is cheap.
pub struct AwsIndex<'a> {
    ev: &'a AwsEvidence,
    eni_by_id: HashMap<&'a str, &'a NetworkInterface>,
    eni_by_public: HashMap<IpAddr, (&'a NetworkInterface, IpAddr)>,
    /// (interface id, private address) → public IPv4, the reverse of `eni_by_public`.
    public_by_private: HashMap<(&'a str, IpAddr), IpAddr>,
    eni_by_private: HashMap<IpAddr, &'a NetworkInterface>,
    sg_by_id: HashMap<&'a str, &'a SecurityGroup>,
    /// An instance's interfaces, by device index.
    enis_by_instance: HashMap<&'a str, Vec<&'a NetworkInterface>>,
    subnet_by_id: HashMap<&'a str, &'a portdoctor_model::cloud::Subnet>,
    instance_by_id: HashMap<&'a str, &'a Instance>,
    acl_by_subnet: HashMap<&'a str, &'a NetworkAcl>,
    default_acl_by_vpc: HashMap<&'a str, &'a NetworkAcl>,
    rtb_by_subnet: HashMap<&'a str, &'a RouteTable>,
    main_rtb_by_vpc: HashMap<&'a str, &'a RouteTable>,
    prefix_lists: HashMap<&'a str, &'a [Cidr]>,
}

fn list<T>(k: &Knowledge<Vec<T>>) -> &[T] {
    k.known().map(Vec::as_slice).unwrap_or_default()
}

impl<'a> AwsIndex<'a> {
    pub fn new(ev: &'a AwsEvidence) -> AwsIndex<'a> {
        let enis = list(&ev.interfaces);
        let mut eni_by_public = HashMap::new();
        let mut eni_by_private = HashMap::new();
        for e in enis {
            for p in &e.private_ips {
                eni_by_private.insert(p.addr, e);
                if let Some(public) = p.public_ip {
                    eni_by_public.insert(public, (e, p.addr));
                }
            }
            for a in &e.ipv6 {
                eni_by_public.insert(*a, (e, *a));
            }
        }
        // Elastic IPs as describe-addresses records them: by interface, or by instance (then
        // on its primary interface's primary address), for sources whose interfaces omit them.
        let primary_eni = |instance: &str| {
            enis.iter()
                .filter(|e| e.instance_id.as_deref() == Some(instance))
                .min_by_key(|e| e.device_index.unwrap_or(u32::MAX))
        };
        for a in list(&ev.addresses) {
            let eni = match (&a.network_interface_id, &a.instance_id) {
                (Some(id), _) => enis.iter().find(|e| &e.id == id),
                (None, Some(i)) => primary_eni(i),
                _ => None,
            };
            let Some(eni) = eni else { continue };
            let private = a.private_ip.or_else(|| eni.private_ips.iter().find(|p| p.primary).map(|p| p.addr));
            if let Some(private) = private {
                eni_by_public.entry(a.public_ip).or_insert((eni, private));
            }
        }
        let mut public_by_private: HashMap<(&str, IpAddr), IpAddr> = HashMap::new();
        for (public, (eni, private)) in &eni_by_public {
            if public.is_ipv4() {
                let e = public_by_private.entry((eni.id.as_str(), *private)).or_insert(*public);
                *e = (*e).min(*public);
            }
        }
        let mut acl_by_subnet = HashMap::new();
        let mut default_acl_by_vpc = HashMap::new();
        for a in list(&ev.network_acls) {
            for s in &a.subnets {
                acl_by_subnet.insert(s.as_str(), a);
            }
            if a.is_default {
                default_acl_by_vpc.insert(a.vpc_id.as_str(), a);
            }
        }
        let mut rtb_by_subnet = HashMap::new();
        let mut main_rtb_by_vpc = HashMap::new();
        for t in list(&ev.route_tables) {
            for s in &t.subnets {
                rtb_by_subnet.insert(s.as_str(), t);
            }
            if t.main {
                main_rtb_by_vpc.insert(t.vpc_id.as_str(), t);
            }
        }
        let mut enis_by_instance: HashMap<&str, Vec<&NetworkInterface>> = HashMap::new();
        for e in enis {
            if let Some(i) = &e.instance_id {
                enis_by_instance.entry(i.as_str()).or_default().push(e);
            }
        }
        for list in enis_by_instance.values_mut() {
            list.sort_by_key(|e| e.device_index.unwrap_or(u32::MAX));
        }
        AwsIndex {
            ev,
            enis_by_instance,
            subnet_by_id: list(&ev.subnets).iter().map(|s| (s.id.as_str(), s)).collect(),
            eni_by_id: enis.iter().map(|e| (e.id.as_str(), e)).collect(),
            eni_by_public,
            public_by_private,
            eni_by_private,
            sg_by_id: list(&ev.security_groups).iter().map(|g| (g.id.as_str(), g)).collect(),
            instance_by_id: list(&ev.instances).iter().map(|i| (i.id.as_str(), i)).collect(),
            acl_by_subnet,
            default_acl_by_vpc,
            rtb_by_subnet,
            main_rtb_by_vpc,
            prefix_lists: list(&ev.prefix_lists).iter().map(|p| (p.id.as_str(), p.cidrs.as_slice())).collect(),
        }
    }

    /// Every instance id with an interface, for account-wide questions.
    pub fn instance_ids(&self) -> Vec<&'a str> {
        let mut ids: Vec<&str> = self.instance_by_id.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

/// The interface and address the flow is for, after the gateway.
struct Resolved<'a> {
    eni: &'a NetworkInterface,
    private: IpAddr,
    public: Option<IpAddr>,
}

struct Walk<'a> {
    idx: &'a AwsIndex<'a>,
    q: &'a CloudQuery,
    sources: AddrSet,
    causes: Vec<Cause>,
    checks: Vec<Check>,
    path: Vec<Hop>,
}

fn sources_text(q: &CloudQuery, s: &AddrSet) -> String {
    match q.from {
        Source::Internet => "the internet".into(),
        Source::Prefix(_) => s.to_string(),
    }
}

/// An address set in words, relative to the sources asked about: "the internet", "the internet
/// except 8.8.8.0/24", or the prefixes themselves.
fn describe(q: &CloudQuery, sources: &AddrSet, s: &AddrSet) -> String {
    describe_part(s, sources, matches!(q.from, Source::Internet))
}

/// Every public address of a family, computed once.
fn internet(family: Family) -> &'static AddrSet {
    static V4: OnceLock<AddrSet> = OnceLock::new();
    static V6: OnceLock<AddrSet> = OnceLock::new();
    match family {
        Family::V4 => V4.get_or_init(|| AddrSet::internet(Family::V4)),
        Family::V6 => V6.get_or_init(|| AddrSet::internet(Family::V6)),
    }
}

fn is_non_internet(ip: &IpAddr) -> bool {
    !internet(Family::of(ip)).contains(ip)
}

impl<'a> Walk<'a> {
    fn set_text(&self, s: &AddrSet) -> String {
        describe(self.q, &self.sources, s)
    }

    /// The clients as one CIDR for a fix command (`0.0.0.0/0`, `::/0`, or `--from` with its length).
    fn client_prefix(&self) -> String {
        match self.q.from {
            Source::Internet if self.sources.family() == Family::V6 => "::/0".to_string(),
            Source::Internet => "0.0.0.0/0".to_string(),
            Source::Prefix(c) => c.to_string(),
        }
    }

    /// `aws ec2 create-network-acl-entry` admitting the clients (`--cidr-block` or
    /// `--ipv6-cidr-block`) on `ports`, inbound or (`egress`) outbound.
    fn acl_entry_fix(&self, acl: &str, egress: bool, number: impl fmt::Display, ports: (u16, u16)) -> Fix {
        let v6 = self.sources.family() == Family::V6;
        Fix::run(
            ShellCommand::new("aws ec2 create-network-acl-entry --network-acl-id")
                .arg(acl)
                .lit(if egress { "--egress --rule-number" } else { "--ingress --rule-number" })
                .arg(number)
                .lit("--protocol")
                .arg(proto_number(self.q.proto))
                .lit("--port-range")
                .word(Word::lit("From=").val(ports.0).then(",To=").val(ports.1))
                .lit(if v6 { "--ipv6-cidr-block" } else { "--cidr-block" })
                .arg(self.client_prefix())
                .lit("--rule-action allow"),
        )
    }

    fn flow(&self) -> String {
        format!("{}/{}", self.q.proto, self.q.port)
    }

    fn cause(&mut self, code: CauseCode, component: &str, message: String, evidence: Vec<String>, fix: Vec<Fix>) {
        self.causes.push(
            Cause::blocking(code, component, Confidence::Confirmed, message).with_evidence(evidence).with_fix(fix),
        );
    }

    /// Public IP or instance → the interface and private address behind it.
    fn resolve(&mut self) -> Option<Resolved<'a>> {
        let id = "cloud.target";
        let idx = self.idx;
        if idx.ev.interfaces.known().is_none() {
            self.checks.push(unknown_check(id, "which interface holds the address", idx.ev.interfaces.missing()));
            return None;
        }
        match self.q.target.clone() {
            CloudTarget::PublicIp(ip) => {
                let in_vpc = list(&idx.ev.vpcs).iter().find(|v| v.cidrs.iter().any(|c| c.contains(&ip)));
                if is_non_internet(&ip) || in_vpc.is_some() {
                    let mut evidence = vec![match in_vpc {
                        Some(v) => format!(
                            "{ip} is inside {} ({}) (Vpcs)",
                            v.id,
                            v.cidrs.iter().map(Cidr::to_string).collect::<Vec<_>>().join(", ")
                        ),
                        None => {
                            format!("{ip} is a private or reserved address (RFC 1918, RFC 6598, loopback, link-local)")
                        }
                    }];
                    let mut fix = vec![Fix::text("Target the instance's public or Elastic IP address instead")];
                    if let Some(e) = idx.eni_by_private.get(&ip) {
                        let public = e.private_ips.iter().find(|p| p.addr == ip).and_then(|p| p.public_ip);
                        evidence.push(format!(
                            "{ip} is the private address of {} ({}) (NetworkInterfaces)",
                            e.id,
                            e.instance_id.as_deref().unwrap_or("no instance")
                        ));
                        if let Some(p) = public {
                            fix = vec![Fix::text(format!("Target its public address {p}"))];
                        }
                    }
                    let msg = format!("{ip} is a private address: the internet cannot route to it");
                    self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()));
                    self.path.push(Hop::new("internet-gateway", "-", CheckStatus::Fail, msg.clone()));
                    self.cause(CauseCode::TargetAddressPrivate, &ip.to_string(), msg, evidence, fix);
                    return None;
                }
                if let Some((eni, private)) = idx.eni_by_public.get(&ip) {
                    let how = if ip.is_ipv6() { "is an IPv6 address of" } else { "is associated with" };
                    self.checks.push(
                        cloud_check(id, CheckStatus::Pass, format!("{ip} {how} {} ({})", eni.id, private))
                            .with_evidence([format!(
                                "{} {} private address {private} (NetworkInterfaces)",
                                eni.id,
                                if ip.is_ipv6() { "holds" } else { "maps it to" }
                            )]),
                    );
                    return Some(Resolved { eni, private: *private, public: Some(ip) });
                }
                // No interface holds it; an Elastic IP recorded only in Addresses could still
                // map it, so "not associated" is only said when the addresses were listed.
                if idx.ev.addresses.known().is_none() {
                    self.checks.push(unknown_check(
                        id,
                        "which interface holds the address",
                        idx.ev.addresses.missing(),
                    ));
                    self.path.push(Hop::new("internet-gateway", "?", CheckStatus::Unknown, "target unknown"));
                    return None;
                }
                let eip = list(&idx.ev.addresses).iter().find(|a| a.public_ip == ip);
                if let Some((eni, private)) = eip.and_then(|a| {
                    let eni = idx.eni_by_id.get(a.network_interface_id.as_deref()?)?;
                    Some((*eni, a.private_ip.or_else(|| eni.private_ips.iter().find(|p| p.primary).map(|p| p.addr))?))
                }) {
                    self.checks.push(cloud_check(
                        id,
                        CheckStatus::Pass,
                        format!("Elastic IP {ip} is associated with {} ({private})", eni.id),
                    ));
                    return Some(Resolved { eni, private, public: Some(ip) });
                }
                let (msg, evidence) = match eip {
                    Some(a) => (
                        format!("Elastic IP {ip} is allocated but associated with no interface"),
                        vec![format!(
                            "{} has no association (Addresses)",
                            a.allocation_id.as_deref().unwrap_or("the allocation")
                        )],
                    ),
                    None => (
                        format!("{ip} belongs to no interface in this account and region"),
                        vec![format!(
                            "no interface has public address {ip} (NetworkInterfaces), and no Elastic IP (Addresses)"
                        )],
                    ),
                };
                let fix = vec![
                    Fix::text("Associate the address with the instance: ").then_run(
                        ShellCommand::new("aws ec2 associate-address --allocation-id")
                            .arg_or(eip.and_then(|a| a.allocation_id.as_deref()), "<eipalloc-…>")
                            .lit("--instance-id <i-…>"),
                    ),
                ];
                self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()));
                self.path.push(Hop::new("internet-gateway", "-", CheckStatus::Fail, msg.clone()));
                self.cause(CauseCode::PublicIpNotAssociated, &ip.to_string(), msg, evidence, fix);
                None
            }
            CloudTarget::Instance(iid) => {
                let enis: &[&NetworkInterface] =
                    idx.enis_by_instance.get(iid.as_str()).map(Vec::as_slice).unwrap_or_default();
                let Some(primary) = enis.first().copied() else {
                    self.checks.push(cloud_check(id, CheckStatus::Unknown, format!("No interface of {iid} in the evidence")).with_evidence([format!(
                        "no NetworkInterfaces entry is attached to {iid}: check the id and the region, or re-take the snapshot"
                    )]));
                    return None;
                };
                let want_v6 = matches!(self.q.from, Source::Prefix(c) if c.family() == Family::V6);
                let eip_of = |eni: &str, private: IpAddr| idx.public_by_private.get(&(eni, private)).copied();
                let found = enis.iter().find_map(|e| {
                    if want_v6 {
                        e.ipv6.first().map(|a| (*e, *a, *a))
                    } else {
                        let mut ips: Vec<_> = e.private_ips.iter().collect();
                        ips.sort_by_key(|p| !p.primary);
                        ips.into_iter().find_map(|p| {
                            p.public_ip.or_else(|| eip_of(&e.id, p.addr)).map(|pub_ip| (*e, p.addr, pub_ip))
                        })
                    }
                });
                match found {
                    Some((eni, private, public)) => {
                        self.checks.push(cloud_check(
                            id,
                            CheckStatus::Pass,
                            format!("{iid} is reached at {public} ({} {private})", eni.id),
                        ));
                        Some(Resolved { eni, private, public: Some(public) })
                    }
                    None => {
                        let private = primary
                            .private_ips
                            .iter()
                            .find(|p| p.primary)
                            .or(primary.private_ips.first())
                            .map(|p| p.addr);
                        let fam = if want_v6 { "IPv6 address" } else { "public IPv4 or Elastic IP address" };
                        let msg = format!("{iid} has no {fam}: nothing on the internet can address it");
                        let evidence: Vec<String> = enis
                            .iter()
                            .map(|e| {
                                format!(
                                    "{} ({}) has no {fam} (NetworkInterfaces)",
                                    e.id,
                                    e.private_ips.iter().map(|p| p.addr.to_string()).collect::<Vec<_>>().join(", ")
                                )
                            })
                            .collect();
                        self.checks
                            .push(cloud_check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()));
                        let fix = if want_v6 {
                            vec![Fix::run(
                                ShellCommand::new("aws ec2 assign-ipv6-addresses --network-interface-id")
                                    .arg(&primary.id)
                                    .lit("--ipv6-address-count 1"),
                            )]
                        } else {
                            vec![
                                Fix::run(ShellCommand::new("aws ec2 allocate-address --domain vpc")),
                                Fix::run(
                                    ShellCommand::new(
                                        "aws ec2 associate-address --allocation-id <eipalloc-…> --network-interface-id",
                                    )
                                    .arg(&primary.id),
                                ),
                            ]
                        };
                        self.cause(CauseCode::NoPublicIp, &iid, msg, evidence, fix);
                        private.map(|p| Resolved { eni: primary, private: p, public: None })
                    }
                }
            }
        }
    }

    fn instance(&mut self, r: &Resolved<'a>) {
        let id = "cloud.instance";
        let eni = r.eni;
        self.path.push(Hop::new(
            "network-interface",
            eni.id.clone(),
            CheckStatus::Pass,
            format!(
                "{} holds {}{}",
                eni.id,
                r.private,
                eni.device_index.map(|d| format!(" (device {d})")).unwrap_or_default()
            ),
        ));
        let Some(iid) = eni.instance_id.as_deref() else {
            let msg = format!("{} is attached to no instance: nothing answers at {}", eni.id, r.private);
            self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()));
            self.path.push(Hop::new("instance", "-", CheckStatus::Fail, msg.clone()));
            self.cause(
                CauseCode::InstanceNotRunning,
                &eni.id,
                msg,
                vec![format!("{} Attachment is empty (NetworkInterfaces)", eni.id)],
                vec![Fix::run(
                    ShellCommand::new("aws ec2 attach-network-interface --network-interface-id")
                        .arg(&eni.id)
                        .lit("--instance-id <i-…> --device-index 1"),
                )],
            );
            return;
        };
        match self.idx.instance_by_id.get(iid) {
            None if self.idx.ev.instances.known().is_none() => {
                self.checks.push(unknown_check(id, "the instance's state", self.idx.ev.instances.missing()));
                self.path.push(Hop::new("instance", iid, CheckStatus::Unknown, "state unknown"));
            }
            None => {
                self.checks.push(cloud_check(id, CheckStatus::Unknown, format!("{iid} is not in Reservations")));
                self.path.push(Hop::new("instance", iid, CheckStatus::Unknown, "not in Reservations"));
            }
            Some(inst) if inst.state == "running" => {
                self.checks.push(cloud_check(id, CheckStatus::Pass, format!("{iid} is running")));
                self.path.push(Hop::new("instance", iid, CheckStatus::Pass, "running"));
            }
            Some(inst) => {
                let msg = format!("{iid} is {}: it cannot answer", inst.state);
                self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()));
                self.path.push(Hop::new("instance", iid, CheckStatus::Fail, msg.clone()));
                self.cause(
                    CauseCode::InstanceNotRunning,
                    iid,
                    msg,
                    vec![format!("{iid} State.Name = {} (Reservations)", inst.state)],
                    vec![Fix::run(ShellCommand::new("aws ec2 start-instances --instance-ids").arg(iid))],
                );
            }
        }
    }

    fn gateway(&mut self, r: &Resolved<'a>) {
        let id = "cloud.internet-gateway";
        let vpc = r.eni.vpc_id.as_str();
        let Some(igws) = self.idx.ev.internet_gateways.known() else {
            self.checks.push(unknown_check(id, "the internet gateway", self.idx.ev.internet_gateways.missing()));
            self.path.push(Hop::new("internet-gateway", "?", CheckStatus::Unknown, "internet gateways unknown"));
            return;
        };
        let nat = match r.public {
            Some(p) if p.is_ipv4() => format!("{p} -> {} at the internet gateway (1:1 NAT)", r.private),
            Some(p) => format!("{p} passes the internet gateway untranslated (IPv6)"),
            None => "no public address to translate".into(),
        };
        match igws.iter().find(|g| g.attached_vpcs.iter().any(|v| v == vpc)) {
            Some(g) => {
                self.checks.push(
                    cloud_check(id, CheckStatus::Pass, format!("{} is attached to {vpc}", g.id))
                        .with_evidence([nat.clone()]),
                );
                // Without a public address the gateway has nothing to deliver (NO_PUBLIC_IP).
                let status = if r.public.is_some() { CheckStatus::Pass } else { CheckStatus::Fail };
                self.path.push(Hop::new("internet-gateway", g.id.clone(), status, nat));
            }
            None => {
                let eigw =
                    list(&self.idx.ev.egress_only_gateways).iter().find(|g| g.attached_vpcs.iter().any(|v| v == vpc));
                let v6 = r.public.is_some_and(|p| p.is_ipv6());
                let (code, msg, component) = match eigw {
                    Some(e) if v6 => (
                        CauseCode::IgwEgressOnly,
                        format!("{vpc} has only an egress-only internet gateway ({}): it admits nothing inbound", e.id),
                        e.id.clone(),
                    ),
                    _ => (CauseCode::IgwMissing, format!("{vpc} has no internet gateway attached"), vpc.to_string()),
                };
                self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()));
                self.path.push(Hop::new("internet-gateway", component.clone(), CheckStatus::Fail, msg.clone()));
                self.cause(
                    code,
                    &component,
                    msg,
                    vec![format!("no InternetGateways entry is attached to {vpc} (InternetGateways)")],
                    vec![
                        Fix::run(ShellCommand::new("aws ec2 create-internet-gateway")),
                        Fix::run(
                            ShellCommand::new("aws ec2 attach-internet-gateway --internet-gateway-id <igw-…> --vpc-id")
                                .arg(vpc),
                        ),
                        Fix::run(
                            ShellCommand::new("aws ec2 create-route --route-table-id <rtb-…> --destination-cidr-block")
                                .lit(if v6 { "::/0" } else { "0.0.0.0/0" })
                                .lit("--gateway-id <igw-…>"),
                        ),
                    ],
                );
            }
        }
    }

    fn block_public_access(&mut self, r: &Resolved<'a>) {
        let id = "cloud.block-public-access";
        match &self.idx.ev.block_public_access {
            Knowledge::Unavailable(m) => self.checks.push(
                cloud_check(id, CheckStatus::Skipped, "VPC Block Public Access settings are not in the evidence")
                    .with_evidence([m.describe()]),
            ),
            Knowledge::Known(None) => {
                self.checks.push(cloud_check(id, CheckStatus::Pass, "VPC Block Public Access is off"))
            }
            Knowledge::Known(Some(bpa)) if bpa.mode == "off" => {
                self.checks.push(cloud_check(id, CheckStatus::Pass, "VPC Block Public Access is off"))
            }
            Knowledge::Known(Some(bpa)) => {
                let excluded =
                    bpa.excluded_bidirectional.iter().find(|x| **x == r.eni.vpc_id || **x == r.eni.subnet_id);
                if let Some(x) = excluded {
                    self.checks.push(cloud_check(
                        id,
                        CheckStatus::Pass,
                        format!("VPC Block Public Access is {}, but {x} is excluded (allow-bidirectional)", bpa.mode),
                    ));
                    return;
                }
                let msg = format!("VPC Block Public Access ({}) blocks internet traffic to {}", bpa.mode, r.eni.vpc_id);
                self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()));
                if let Some(h) = self.path.iter_mut().find(|h| h.hop == "internet-gateway") {
                    h.status = CheckStatus::Fail;
                    h.detail = format!("{}; {msg}", h.detail);
                }
                self.cause(
                    CauseCode::VpcBlockPublicAccess,
                    &r.eni.vpc_id,
                    msg,
                    vec![format!(
                        "InternetGatewayBlockMode = {} (VpcBlockPublicAccessOptions), no exclusion for {} or {}",
                        bpa.mode, r.eni.vpc_id, r.eni.subnet_id
                    )],
                    vec![Fix::run(
                        ShellCommand::new("aws ec2 create-vpc-block-public-access-exclusion --vpc-id")
                            .arg(&r.eni.vpc_id)
                            .lit("--internet-gateway-exclusion-mode allow-bidirectional"),
                    )],
                );
            }
        }
    }

    fn cidrs_of(&self, dest: &RouteDest) -> Option<Vec<Cidr>> {
        match dest {
            RouteDest::Cidr(c) => Some(vec![*c]),
            RouteDest::PrefixList(id) => self.idx.prefix_lists.get(id.as_str()).map(|c| c.to_vec()),
        }
    }

    fn route_table(&mut self, r: &Resolved<'a>) {
        let id = "cloud.route-table";
        let subnet = r.eni.subnet_id.as_str();
        let vpc = r.eni.vpc_id.as_str();
        let subnet_cidr = self.idx.subnet_by_id.get(subnet).and_then(|s| s.cidrs.first().map(Cidr::to_string));
        self.path.push(Hop::new(
            "subnet",
            subnet,
            CheckStatus::Pass,
            format!("{} in {subnet}{}", r.private, subnet_cidr.map(|c| format!(" ({c})")).unwrap_or_default()),
        ));
        if self.idx.ev.route_tables.known().is_none() {
            self.checks.push(unknown_check(id, "the route back to the client", self.idx.ev.route_tables.missing()));
            self.path.push(Hop::new("route-table", "?", CheckStatus::Unknown, "route tables unknown"));
            return;
        }
        let (table, how) = match self.idx.rtb_by_subnet.get(subnet) {
            Some(t) => (*t, "explicitly associated with"),
            None => match self.idx.main_rtb_by_vpc.get(vpc) {
                Some(t) => (*t, "the VPC's main table (no explicit association), used by"),
                None => {
                    self.checks.push(cloud_check(
                        id,
                        CheckStatus::Unknown,
                        format!("No route table for {subnet} nor a main table for {vpc}"),
                    ));
                    self.path.push(Hop::new("route-table", "?", CheckStatus::Unknown, "no route table found"));
                    return;
                }
            },
        };
        // Without the gateway listing, a route to an igw-… cannot be called a blackhole.
        let igws_known = self.idx.ev.internet_gateways.known().is_some();
        let igw_attached: Vec<&str> = list(&self.idx.ev.internet_gateways)
            .iter()
            .filter(|g| g.attached_vpcs.iter().any(|v| v == vpc))
            .map(|g| g.id.as_str())
            .collect();
        // Longest prefix first: each route takes the part of the clients it is most specific for.
        let mut routes: Vec<(Cidr, &portdoctor_model::cloud::AwsRoute)> = Vec::new();
        let mut unresolved = Vec::new();
        for route in &table.routes {
            match self.cidrs_of(&route.dest) {
                Some(cs) => routes.extend(cs.into_iter().map(|c| (c, route))),
                None => unresolved.push(route),
            }
        }
        routes.sort_by_key(|(c, _)| std::cmp::Reverse(c.prefix()));
        let mut remaining = self.sources.clone();
        let mut good = Vec::new();
        let mut bad: Vec<(String, AddrSet, CauseCode, String)> = Vec::new();
        let mut unverified = Vec::new();
        for (cidr, route) in routes {
            let hit = remaining.intersect(&AddrSet::from_cidr(&cidr));
            if hit.is_empty() {
                continue;
            }
            remaining = remaining.minus(&hit);
            let target = route.target.id().to_string();
            let text =
                format!("{cidr} -> {target}{} ({})", if route.blackhole { " (blackhole)" } else { "" }, table.id);
            match &route.target {
                _ if route.blackhole => bad.push((text, hit, CauseCode::RouteBlackhole, target)),
                RouteTarget::InternetGateway(g) if igw_attached.contains(&g.as_str()) => good.push(text),
                RouteTarget::InternetGateway(_) if !igws_known => unverified.push(text),
                RouteTarget::InternetGateway(_) => bad.push((text, hit, CauseCode::RouteBlackhole, target)),
                _ => bad.push((text, hit, CauseCode::RouteToIgwMissing, target)),
            }
        }
        if !unresolved.is_empty() && !remaining.is_empty() {
            let ev: Vec<String> = unresolved
                .iter()
                .map(|r| {
                    format!("route to {:?} -> {}: prefix list not in the evidence (PrefixLists)", r.dest, r.target.id())
                })
                .collect();
            self.checks.push(
                cloud_check(id, CheckStatus::Unknown, "A route's prefix list could not be resolved").with_evidence(ev),
            );
            self.path.push(Hop::new("route-table", table.id.clone(), CheckStatus::Unknown, "prefix list unresolved"));
            return;
        }
        if !unverified.is_empty() && bad.is_empty() && remaining.is_empty() {
            let mut ev: Vec<String> =
                unverified.iter().map(|t| format!("replies: {t}, a gateway that could not be checked")).collect();
            ev.extend(self.idx.ev.internet_gateways.missing().map(|m| m.describe()));
            self.checks.push(
                cloud_check(id, CheckStatus::Unknown, "Could not check that the route's internet gateway is attached")
                    .with_evidence(ev),
            );
            self.path.push(Hop::new("route-table", table.id.clone(), CheckStatus::Unknown, "gateway unknown"));
            return;
        }
        let from = sources_text(self.q, &self.sources);
        let mut evidence = vec![format!("{} is {how} {subnet} (RouteTables)", table.id)];
        evidence.extend(good.iter().map(|g| format!("replies: {g}")));
        evidence.extend(unverified.iter().map(|t| format!("replies: {t}, a gateway that could not be checked")));
        if bad.is_empty() && remaining.is_empty() {
            let summary = format!("Replies to {from} route to the internet gateway via {}", table.id);
            self.checks.push(cloud_check(id, CheckStatus::Pass, summary.clone()).with_evidence(evidence));
            self.path.push(Hop::new("route-table", table.id.clone(), CheckStatus::Pass, summary));
            return;
        }
        let gw = igw_attached.first().copied();
        let dest_all = if self.sources.family() == Family::V6 { "::/0" } else { "0.0.0.0/0" };
        for (text, hit, code, target) in &bad {
            let msg = match code {
                CauseCode::RouteBlackhole => {
                    format!("Replies to {} hit a blackhole route in {} ({text})", self.set_text(hit), table.id)
                }
                _ => {
                    format!("Replies to {} go to {target}, not the internet gateway ({})", self.set_text(hit), table.id)
                }
            };
            evidence.push(format!("{text}: takes replies to {}", self.set_text(hit)));
            let fix = vec![Fix::run(
                ShellCommand::new("aws ec2 replace-route --route-table-id")
                    .arg(&table.id)
                    .lit("--destination-cidr-block")
                    .arg(text.split(' ').next().unwrap_or(dest_all))
                    .lit("--gateway-id")
                    .arg_or(gw, "<igw-…>"),
            )];
            self.cause(*code, &table.id, msg, evidence.clone(), fix);
        }
        if !remaining.is_empty() {
            let rest = self.set_text(&remaining);
            let msg = format!("{} has no route for replies to {rest}: they never reach the internet gateway", table.id);
            evidence.push(format!("no route in {} covers {rest}", table.id));
            self.cause(
                CauseCode::RouteToIgwMissing,
                &table.id,
                msg,
                evidence.clone(),
                vec![Fix::run(
                    ShellCommand::new("aws ec2 create-route --route-table-id")
                        .arg(&table.id)
                        .lit("--destination-cidr-block")
                        .lit(dest_all)
                        .lit("--gateway-id")
                        .arg_or(gw, "<igw-…>"),
                )],
            );
        }
        let summary = self.causes.last().map(|c| c.message.clone()).unwrap_or_default();
        self.checks.push(cloud_check(id, CheckStatus::Fail, summary.clone()).with_evidence(evidence));
        self.path.push(Hop::new("route-table", table.id.clone(), CheckStatus::Fail, summary));
    }

    fn acl_for(&self, r: &Resolved<'a>) -> Option<&'a NetworkAcl> {
        self.idx
            .acl_by_subnet
            .get(r.eni.subnet_id.as_str())
            .or_else(|| self.idx.default_acl_by_vpc.get(r.eni.vpc_id.as_str()))
            .copied()
    }

    fn nacl_in(&mut self, r: &Resolved<'a>) {
        let id = "cloud.nacl.inbound";
        if self.idx.ev.network_acls.known().is_none() {
            self.checks.push(unknown_check(id, "the network ACL", self.idx.ev.network_acls.missing()));
            self.path.push(Hop::new("network-acl-in", "?", CheckStatus::Unknown, "network ACLs unknown"));
            return;
        }
        let Some(acl) = self.acl_for(r) else {
            self.checks.push(cloud_check(
                id,
                CheckStatus::Unknown,
                format!("No network ACL for {} nor a default one for {}", r.eni.subnet_id, r.eni.vpc_id),
            ));
            self.path.push(Hop::new("network-acl-in", "?", CheckStatus::Unknown, "no network ACL found"));
            return;
        };
        let describe = |s: &AddrSet| describe(self.q, &self.sources, s);
        let outcome = acl_walk(
            acl,
            false,
            proto_number(self.q.proto),
            &self.sources,
            &PortRange { from: self.q.port, to: self.q.port },
            &describe,
        );
        let from = sources_text(self.q, &self.sources);
        let flow = self.flow();
        let subnet = &r.eni.subnet_id;
        if outcome.denied.is_empty() {
            let summary = format!("{} admits {flow} from {from}", acl.id);
            self.checks.push(cloud_check(id, CheckStatus::Pass, summary.clone()).with_evidence(outcome.evidence));
            self.path.push(Hop::new(
                "network-acl-in",
                acl.id.clone(),
                CheckStatus::Pass,
                format!("{summary} (subnet {subnet})"),
            ));
            return;
        }
        let denied_all = outcome.denied.iter().fold(AddrSet::empty(self.sources.family()), |a, d| a.union(&d.addrs));
        let msg = format!("The network ACL {} of {subnet} denies {flow} from {}", acl.id, self.set_text(&denied_all));
        let before = outcome.denied.iter().map(|d| d.rule).min().unwrap_or(32767);
        let number = free_rule_number(acl, false, before);
        let mut fix = vec![self.acl_entry_fix(&acl.id, false, number, (self.q.port, self.q.port))];
        if let Some(d) = outcome.denied.iter().find(|d| d.rule < 32767) {
            fix.push(
                Fix::text("or remove the deny: ").then_run(
                    ShellCommand::new("aws ec2 delete-network-acl-entry --network-acl-id")
                        .arg(&acl.id)
                        .lit("--ingress --rule-number")
                        .arg(d.rule),
                ),
            );
        }
        self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()).with_evidence(outcome.evidence.clone()));
        self.path.push(Hop::new(
            "network-acl-in",
            acl.id.clone(),
            CheckStatus::Fail,
            format!("{msg} (subnet {subnet})"),
        ));
        self.cause(CauseCode::NaclInboundDeny, &acl.id, msg, outcome.evidence, fix);
    }

    fn nacl_out(&mut self, r: &Resolved<'a>) {
        let id = "cloud.nacl.outbound";
        let Some(acl) = self.idx.ev.network_acls.known().and_then(|_| self.acl_for(r)) else {
            self.checks.push(unknown_check(id, "the network ACL for replies", self.idx.ev.network_acls.missing()));
            self.path.push(Hop::new("network-acl-out", "?", CheckStatus::Unknown, "network ACL unknown"));
            return;
        };
        let describe = |s: &AddrSet| describe(self.q, &self.sources, s);
        let outcome = acl_walk(acl, true, proto_number(self.q.proto), &self.sources, &self.q.client_ports, &describe);
        let from = sources_text(self.q, &self.sources);
        let ports = self.q.client_ports.text();
        if outcome.denied.is_empty() {
            let summary = format!("{} lets replies out to {from} on ports {ports}", acl.id);
            self.checks.push(cloud_check(id, CheckStatus::Pass, summary.clone()).with_evidence(outcome.evidence));
            self.path.push(Hop::new("network-acl-out", acl.id.clone(), CheckStatus::Pass, summary));
            return;
        }
        let mut denied_ports: Vec<PortRange> = outcome.denied.iter().map(|d| d.ports.clone()).collect();
        denied_ports.sort_by_key(|p| p.from);
        denied_ports.dedup();
        let denied_text = merge_ports(&denied_ports).iter().map(PortRange::text).collect::<Vec<_>>().join(", ");
        let msg = format!(
            "The network ACL {} drops replies to client ports {denied_text} (of {ports}): stateless ACLs need an outbound rule for them",
            acl.id
        );
        let before = outcome.denied.iter().map(|d| d.rule).min().unwrap_or(32767);
        let number = free_rule_number(acl, true, before);
        let fix = vec![self.acl_entry_fix(&acl.id, true, number, (self.q.client_ports.from, self.q.client_ports.to))];
        self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()).with_evidence(outcome.evidence.clone()));
        self.path.push(Hop::new("network-acl-out", acl.id.clone(), CheckStatus::Fail, msg.clone()));
        self.cause(CauseCode::NaclOutboundDeny, &acl.id, msg, outcome.evidence, fix);
    }

    fn security_groups(&mut self, r: &Resolved<'a>) {
        let id = "cloud.security-group";
        let eni = r.eni;
        let flow = self.flow();
        if self.idx.ev.security_groups.known().is_none() {
            self.checks.push(unknown_check(id, "the security groups", self.idx.ev.security_groups.missing()));
            self.path.push(Hop::new(
                "security-group",
                eni.groups.join(","),
                CheckStatus::Unknown,
                "security groups unknown",
            ));
            return;
        }
        let mut admitted = AddrSet::empty(self.sources.family());
        let mut evidence = Vec::new();
        let mut unknown = Vec::new();
        let proto = proto_number(self.q.proto);
        for gid in &eni.groups {
            let Some(g) = self.idx.sg_by_id.get(gid.as_str()) else {
                unknown.push(format!("{gid} is on {} but not in SecurityGroups", eni.id));
                continue;
            };
            for rule in &g.ingress {
                if !rule.proto.matches(proto) || !rule.ports.as_ref().is_none_or(|p| p.contains(self.q.port)) {
                    continue;
                }
                for src in &rule.sources {
                    match src {
                        SgSource::Cidr(c) => {
                            let hit = self.sources.intersect(&AddrSet::from_cidr(c));
                            if !hit.is_empty() {
                                evidence.push(format!(
                                    "{} ({}): {} admits {}",
                                    g.id,
                                    g.name,
                                    rule.text,
                                    describe(self.q, &self.sources, &hit)
                                ));
                                admitted = admitted.union(&hit);
                            }
                        }
                        SgSource::PrefixList(pl) => match self.idx.prefix_lists.get(pl.as_str()) {
                            Some(cidrs) => {
                                for c in *cidrs {
                                    let hit = self.sources.intersect(&AddrSet::from_cidr(c));
                                    if !hit.is_empty() {
                                        evidence.push(format!(
                                            "{} ({}): {} admits {} via {pl}",
                                            g.id,
                                            g.name,
                                            rule.text,
                                            describe(self.q, &self.sources, &hit)
                                        ));
                                        admitted = admitted.union(&hit);
                                    }
                                }
                            }
                            None => unknown.push(format!(
                                "{} ({}): {} uses prefix list {pl}, which is not in the evidence (PrefixLists)",
                                g.id, g.name, rule.text
                            )),
                        },
                        SgSource::Group(other) => evidence.push(format!(
                            "{} ({}): {} admits only interfaces in {other}, never an internet source",
                            g.id, g.name, rule.text
                        )),
                    }
                }
            }
        }
        let groups = eni.groups.iter().map(|g| match self.idx.sg_by_id.get(g.as_str()) {
            Some(sg) => format!("{} ({})", sg.id, sg.name),
            None => g.clone(),
        });
        let groups = groups.collect::<Vec<_>>().join(", ");
        let missing = self.sources.minus(&admitted);
        let from = sources_text(self.q, &self.sources);
        if missing.is_empty() {
            let summary = format!("Security groups of {} admit {flow} from {from}", eni.id);
            self.checks.push(cloud_check(id, CheckStatus::Pass, summary.clone()).with_evidence(evidence));
            self.path.push(Hop::new("security-group", eni.groups.join(","), CheckStatus::Pass, summary));
            return;
        }
        if !unknown.is_empty() {
            evidence.extend(unknown);
            let summary = format!(
                "Could not tell whether the security groups of {} admit {flow} from {}",
                eni.id,
                self.set_text(&missing)
            );
            self.checks.push(cloud_check(id, CheckStatus::Unknown, summary.clone()).with_evidence(evidence));
            self.path.push(Hop::new("security-group", eni.groups.join(","), CheckStatus::Unknown, summary));
            return;
        }
        let msg = if admitted.is_empty() {
            format!("No security-group rule on {} admits {flow} from {from} (groups: {groups})", eni.id)
        } else {
            format!(
                "The security groups of {} admit {flow} only from {admitted}, not from {}",
                eni.id,
                self.set_text(&missing)
            )
        };
        evidence.insert(
            0,
            format!(
                "{} has groups {groups} (NetworkInterfaces); no ingress rule for {flow} covers {} (SecurityGroups)",
                eni.id,
                self.set_text(&missing)
            ),
        );
        // What the groups do admit, so the reader sees the near misses (a typo'd port, a /32).
        for gid in &eni.groups {
            if let Some(g) = self.idx.sg_by_id.get(gid.as_str()) {
                let rules: Vec<&str> = g.ingress.iter().take(10).map(|r| r.text.as_str()).collect();
                let rules = if rules.is_empty() { "no ingress rules".to_string() } else { rules.join("; ") };
                evidence.push(format!("{} ({}) ingress: {rules}", g.id, g.name));
            }
        }
        let (proto, port) = (self.q.proto, self.q.port);
        let prefix = self.client_prefix();
        let first_group = eni.groups.first().map(String::as_str);
        let authorize =
            ShellCommand::new("aws ec2 authorize-security-group-ingress --group-id").arg_or(first_group, "<sg-…>");
        // `--cidr` takes IPv4 only; IPv6 needs the structured form, one word (its brackets
        // would glob), made only of typed values.
        let authorize = if self.sources.family() == Family::V6 {
            authorize
                .lit("--ip-permissions")
                .arg(format!("IpProtocol={proto},FromPort={port},ToPort={port},Ipv6Ranges=[{{CidrIpv6={prefix}}}]"))
        } else {
            authorize.lit("--protocol").arg(proto).lit("--port").arg(port).lit("--cidr").arg(&prefix)
        };
        let fix = vec![Fix::run(authorize)];
        let first_group = first_group.unwrap_or("<sg-…>");
        self.checks.push(cloud_check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()));
        self.path.push(Hop::new("security-group", eni.groups.join(","), CheckStatus::Fail, msg.clone()));
        self.cause(CauseCode::SecurityGroupNoIngress, first_group, msg, evidence, fix);
    }
}

/// Port ranges merged where they touch, for short messages.
fn merge_ports(sorted: &[PortRange]) -> Vec<PortRange> {
    let mut out: Vec<PortRange> = Vec::new();
    for p in sorted {
        match out.last_mut() {
            Some(last) if u32::from(p.from) <= u32::from(last.to) + 1 => last.to = last.to.max(p.to),
            _ => out.push(p.clone()),
        }
    }
    out
}

/// A free rule number below `before` (AWS evaluates lower numbers first).
fn free_rule_number(acl: &NetworkAcl, egress: bool, before: u32) -> u32 {
    let used: Vec<u32> = acl.entries.iter().filter(|e| e.egress == egress).map(|e| e.number).collect();
    (1..before).rev().find(|n| !used.contains(n)).unwrap_or(1)
}

struct Denied {
    rule: u32,
    addrs: AddrSet,
    ports: PortRange,
}

struct AclOutcome {
    denied: Vec<Denied>,
    evidence: Vec<String>,
}

/// Evaluates a stateless ACL direction for every (source, port) of `sources` × `ports`, in
/// rule-number order with the implicit final deny. Ports are split at every rule boundary so
/// each piece is decided by one walk over addresses.
fn acl_walk(
    acl: &NetworkAcl,
    egress: bool,
    proto: u8,
    sources: &AddrSet,
    ports: &PortRange,
    describe: &dyn Fn(&AddrSet) -> String,
) -> AclOutcome {
    let mut entries: Vec<&AclEntry> =
        acl.entries.iter().filter(|e| e.egress == egress && e.proto.matches(proto)).collect();
    entries.sort_by_key(|e| e.number);
    let mut cuts: Vec<u32> = vec![u32::from(ports.from), u32::from(ports.to) + 1];
    for e in &entries {
        if let Some(p) = &e.ports {
            for c in [u32::from(p.from), u32::from(p.to) + 1] {
                if c > u32::from(ports.from) && c <= u32::from(ports.to) {
                    cuts.push(c);
                }
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let dir = if egress { "outbound" } else { "inbound" };
    let mut denied: Vec<Denied> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    for w in cuts.windows(2) {
        let piece = PortRange { from: w[0] as u16, to: (w[1] - 1) as u16 };
        let mut remaining = sources.clone();
        for e in &entries {
            if !e.ports.as_ref().is_none_or(|p| p.contains(piece.from)) {
                continue;
            }
            let hit = remaining.intersect(&AddrSet::from_cidr(&e.cidr));
            if hit.is_empty() {
                continue;
            }
            remaining = remaining.minus(&hit);
            let line = format!(
                "{} {}: {} ({dir})",
                acl.id,
                e.text(),
                match e.action {
                    AclAction::Allow => format!("allows {} on ports {}", describe(&hit), piece.text()),
                    AclAction::Deny => format!("denies {} on ports {}", describe(&hit), piece.text()),
                }
            );
            if !evidence.contains(&line) {
                evidence.push(line);
            }
            if e.action == AclAction::Deny {
                denied.push(Denied { rule: e.number, addrs: hit, ports: piece.clone() });
            }
            if remaining.is_empty() {
                break;
            }
        }
        if !remaining.is_empty() {
            // The implicit deny (rule * / 32767) is always there, listed or not.
            evidence.push(format!(
                "{} implicit deny (rule *): denies {} on ports {} ({dir})",
                acl.id,
                describe(&remaining),
                piece.text()
            ));
            denied.push(Denied { rule: 32767, addrs: remaining, ports: piece });
        }
    }
    AclOutcome { denied, evidence }
}

pub fn diagnose_cloud(ev: &AwsEvidence, q: &CloudQuery) -> Diagnosis {
    let idx = AwsIndex::new(ev);
    diagnose_indexed(&idx, q)
}

/// The walk: every network layer, in packet order.
fn walk<'a>(idx: &'a AwsIndex<'a>, q: &'a CloudQuery) -> (Walk<'a>, Option<Resolved<'a>>) {
    let family = match (&q.target, &q.from) {
        (CloudTarget::PublicIp(ip), _) => Family::of(ip),
        (_, Source::Prefix(c)) => c.family(),
        _ => Family::V4,
    };
    let sources = match q.from {
        Source::Internet => internet(family).clone(),
        Source::Prefix(c) => AddrSet::from_cidr(&c),
    };
    let mut w = Walk { idx, q, sources, causes: vec![], checks: vec![], path: vec![] };
    w.path.push(Hop::new(
        "internet",
        q.from.to_string(),
        CheckStatus::Pass,
        format!("{} from {}", w.flow(), sources_text(q, &w.sources)),
    ));
    let resolved = w.resolve();
    if let Some(r) = &resolved {
        w.gateway(r);
        w.block_public_access(r);
        w.route_table(r);
        w.nacl_in(r);
        w.security_groups(r);
        w.instance(r);
        w.nacl_out(r);
    }
    (w, resolved)
}

/// The network walk of one query, finished but not yet judged with the platform layer: it names
/// the platform layer's [`Subject`], so a live run collects the platform evidence for exactly the
/// resources the packet passed, and then [`CloudWalk::judge`] completes the diagnosis — one walk.
#[derive(Debug, Clone)]
pub struct CloudWalk {
    query: CloudQuery,
    causes: Vec<Cause>,
    checks: Vec<Check>,
    path: Vec<Hop>,
    /// The public address and instance the query resolved to, for the report's query.
    target: Option<String>,
    instance: Option<String>,
    /// Where the flow arrives (the interface's private address).
    arrival: Option<IpAddr>,
    reachable: String,
    subject: Subject,
    /// The evidence's notes; a caller adds those of platform evidence collected apart.
    pub notes: Vec<String>,
}

/// Walks the network layers for `q` (see [`CloudWalk`]).
pub fn walk_cloud(idx: &AwsIndex<'_>, q: &CloudQuery) -> CloudWalk {
    let (w, resolved) = walk(idx, q);
    let target = match (&q.target, &resolved) {
        (CloudTarget::PublicIp(ip), _) => Some(ip.to_string()),
        (_, Some(r)) => r.public.map(|p| p.to_string()),
        _ => None,
    };
    let instance = match (&q.target, &resolved) {
        (CloudTarget::Instance(i), _) => Some(i.clone()),
        (_, Some(r)) => r.eni.instance_id.clone(),
        _ => None,
    };
    let reachable = match &resolved {
        Some(r) => format!(
            "{}/{} to {} ({}, {}) is admitted from {} by every cloud layer",
            q.proto,
            q.port,
            target.as_deref().unwrap_or("?"),
            r.eni.instance_id.as_deref().unwrap_or("-"),
            r.private,
            sources_text(q, &w.sources)
        ),
        None => String::new(),
    };
    let subject = subject(idx, resolved.as_ref(), &q.target, &w.path);
    CloudWalk {
        query: q.clone(),
        causes: w.causes,
        checks: w.checks,
        path: w.path,
        target,
        instance,
        arrival: resolved.as_ref().map(|r| r.private),
        reachable,
        subject,
        notes: idx.ev.notes.clone(),
    }
}

impl CloudWalk {
    /// What the platform layer should be asked about (live collection fetches the platform
    /// evidence for exactly these resources).
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The diagnosis: this walk with the platform layer's judgement of `platform`.
    pub fn judge(self, platform: &PlatformEvidence) -> Diagnosis {
        let q = &self.query;
        let platform = judge_platform(platform, &self.subject, &q.changes);
        let mut walk_causes = self.causes;
        platform.tie_changes(&mut walk_causes, q.port, q.proto);
        // Packet order: the platform (the provider's own block) comes before the gateway.
        let mut causes = platform.causes;
        causes.append(&mut walk_causes);
        let mut checks = self.checks;
        checks.extend(platform.checks);
        let mut path = self.path;
        if let Some(hop) = platform.hop {
            path.insert(1.min(path.len()), hop);
        }
        let query = Query {
            command: "cloud".into(),
            target: self.target,
            port: q.port,
            protocol: q.proto,
            from: q.from,
            instance: self.instance,
        };
        let mut d = Diagnosis::new(query, causes, checks, path, self.reachable);
        d.timeline = platform.timeline;
        d.arrival = self.arrival;
        d.notes = self.notes;
        d.notes.extend(platform.notes);
        d
    }
}

/// The walk on a prebuilt index (for many queries against one account).
pub fn diagnose_indexed(idx: &AwsIndex<'_>, q: &CloudQuery) -> Diagnosis {
    walk_cloud(idx, q).judge(&idx.ev.platform)
}

/// What the platform layer is asked about: the resolved instance, its interfaces and addresses,
/// the Elastic IP allocation of the target, and every resource the walk passed (hop components).
fn subject(idx: &AwsIndex<'_>, resolved: Option<&Resolved<'_>>, target: &CloudTarget, path: &[Hop]) -> Subject {
    let mut s = Subject::default();
    let add = |list: &mut Vec<String>, v: String| {
        if !v.is_empty() && !list.contains(&v) {
            list.push(v);
        }
    };
    match target {
        CloudTarget::Instance(i) => s.instance = Some(i.clone()),
        CloudTarget::PublicIp(ip) => add(&mut s.addresses, ip.to_string()),
    }
    if let Some(r) = resolved {
        if s.instance.is_none() {
            s.instance = r.eni.instance_id.clone();
        }
        if let Some(p) = r.public {
            add(&mut s.addresses, p.to_string());
        }
        add(&mut s.addresses, r.private.to_string());
    }
    if let Some(i) = &s.instance {
        for e in idx.enis_by_instance.get(i.as_str()).map(Vec::as_slice).unwrap_or_default() {
            add(&mut s.interfaces, e.id.clone());
            for p in &e.private_ips {
                add(&mut s.addresses, p.addr.to_string());
                if let Some(pub_ip) = p.public_ip {
                    add(&mut s.addresses, pub_ip.to_string());
                }
            }
        }
    }
    for a in list(&idx.ev.addresses) {
        if s.addresses.contains(&a.public_ip.to_string())
            && let Some(alloc) = &a.allocation_id
        {
            add(&mut s.resources, alloc.clone());
        }
    }
    // Only resource ids (`sg-0123…`), not the "-" or "?" of a hop that could not be resolved.
    let is_id = |id: &str| id.split_once('-').is_some_and(|(kind, rest)| !kind.is_empty() && !rest.is_empty());
    for hop in path {
        for id in hop.component.split(',') {
            if is_id(id) && !s.interfaces.iter().any(|x| x == id) && s.instance.as_deref() != Some(id) {
                add(&mut s.resources, id.to_string());
            }
        }
    }
    if let Some(vpc) = resolved.map(|r| r.eni.vpc_id.clone()) {
        add(&mut s.resources, vpc);
    }
    if let Some(subnet) = resolved.map(|r| r.eni.subnet_id.clone()) {
        add(&mut s.resources, subnet);
    }
    s
}

#[cfg(test)]
mod tests;
