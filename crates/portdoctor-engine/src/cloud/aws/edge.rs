//! The edge: which interface and private address a public address (or an instance) lands on.
//! The internet gateway maps a public IPv4 1:1 onto the private address of the interface it is
//! associated with; an IPv6 address is the interface's own (AWS VPC User Guide, "Internet
//! gateways"). An Elastic IP may be recorded only in describe-addresses.

use super::Resolved;
use super::index::{AwsIndex, list};
use crate::cloud::CloudTarget;
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::cloud::{ElasticIp, NetworkInterface, Vpc};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::{Cidr, Family, Source};
use portdoctor_model::{Cause, CauseCode, CheckStatus, Confidence, Missing};
use std::net::IpAddr;

/// What the edge found.
pub enum Edge<'a> {
    /// The interfaces could not be listed: nothing can be resolved.
    InterfacesUnknown(Option<&'a Missing>),
    /// The address is private or reserved (or inside a VPC): the internet cannot route to it.
    Private { ip: IpAddr, vpc: Option<&'a Vpc>, holder: Option<&'a NetworkInterface> },
    /// An interface holds the public address (or IPv6 address) itself.
    Held { ip: IpAddr, eni: &'a NetworkInterface, private: IpAddr },
    /// No interface holds it and the Elastic IPs could not be listed.
    AddressesUnknown(Option<&'a Missing>),
    /// An Elastic IP recorded only in Addresses maps it.
    ElasticIp { ip: IpAddr, eni: &'a NetworkInterface, private: IpAddr },
    /// Nobody holds it: an allocated but unassociated Elastic IP, or not this account's at all.
    NotAssociated { ip: IpAddr, eip: Option<&'a ElasticIp> },
    /// The instance has no interface in the evidence.
    InstanceWithoutInterface(String),
    /// The instance is reached at a public address of one of its interfaces.
    InstanceReached { instance: &'a str, eni: &'a NetworkInterface, private: IpAddr, public: IpAddr },
    /// No interface of the instance has a public address of the family asked about.
    InstanceNotPublic { instance: &'a str, enis: Vec<&'a NetworkInterface>, v6: bool },
}

static LOAD_BALANCER_NOT_WALKED: std::sync::LazyLock<Missing> = std::sync::LazyLock::new(|| {
    Missing::new(
        "the load-balancer path",
        "this build collects load balancers but does not walk their path yet",
        "ask about a target instance with --instance or --public-ip",
    )
});

/// Resolves the target: a finding, and where the flow lands when it does (without a public
/// address it still lands, for the host layer and the steps that follow).
pub fn resolve<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>) -> (Edge<'a>, Option<Resolved<'a>>) {
    if idx.ev.interfaces.known().is_none() {
        return (Edge::InterfacesUnknown(idx.ev.interfaces.missing()), None);
    }
    match &flow.query.target {
        CloudTarget::PublicIp(ip) => public_ip(idx, *ip),
        CloudTarget::Instance(iid) => instance(idx, flow, iid),
        // The load-balancer path is its own shape (issue 15); until it is walked, unknown.
        CloudTarget::LoadBalancer(_) => (Edge::InterfacesUnknown(Some(&LOAD_BALANCER_NOT_WALKED)), None),
    }
}

fn public_ip<'a>(idx: &AwsIndex<'a>, ip: IpAddr) -> (Edge<'a>, Option<Resolved<'a>>) {
    let vpc = list(&idx.ev.vpcs).iter().find(|v| v.cidrs.iter().any(|c| c.contains(&ip)));
    if !crate::cloud::path::internet(Family::of(&ip)).contains(&ip) || vpc.is_some() {
        return (Edge::Private { ip, vpc, holder: idx.eni_by_private.get(&ip).copied() }, None);
    }
    if let Some((eni, private)) = idx.eni_by_public.get(&ip) {
        let at = Resolved { eni, private: *private, public: Some(ip) };
        return (Edge::Held { ip, eni, private: *private }, Some(at));
    }
    // No interface holds it; an Elastic IP recorded only in Addresses could still map it, so
    // "not associated" is only said when the addresses were listed.
    if idx.ev.addresses.known().is_none() {
        return (Edge::AddressesUnknown(idx.ev.addresses.missing()), None);
    }
    let eip = list(&idx.ev.addresses).iter().find(|a| a.public_ip == ip);
    let mapped = eip.and_then(|a| {
        let eni = *idx.eni_by_id.get(a.network_interface_id.as_deref()?)?;
        Some((eni, a.private_ip.or_else(|| eni.private_ips.iter().find(|p| p.primary).map(|p| p.addr))?))
    });
    match mapped {
        Some((eni, private)) => {
            (Edge::ElasticIp { ip, eni, private }, Some(Resolved { eni, private, public: Some(ip) }))
        }
        None => (Edge::NotAssociated { ip, eip }, None),
    }
}

fn instance<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, iid: &str) -> (Edge<'a>, Option<Resolved<'a>>) {
    let Some((instance, enis)) = idx.enis_by_instance.get_key_value(iid) else {
        return (Edge::InstanceWithoutInterface(iid.to_string()), None);
    };
    let Some(primary) = enis.first().copied() else {
        return (Edge::InstanceWithoutInterface(iid.to_string()), None);
    };
    let v6 = matches!(flow.query.from, Source::Prefix(c) if c.family() == Family::V6);
    let eip_of = |eni: &str, private: IpAddr| idx.public_by_private.get(&(eni, private)).copied();
    let found = enis.iter().find_map(|e| {
        if v6 {
            e.ipv6.first().map(|a| (*e, *a, *a))
        } else {
            let mut ips: Vec<_> = e.private_ips.iter().collect();
            ips.sort_by_key(|p| !p.primary);
            ips.into_iter()
                .find_map(|p| p.public_ip.or_else(|| eip_of(&e.id, p.addr)).map(|pub_ip| (*e, p.addr, pub_ip)))
        }
    });
    match found {
        Some((eni, private, public)) => (
            Edge::InstanceReached { instance, eni, private, public },
            Some(Resolved { eni, private, public: Some(public) }),
        ),
        None => {
            let private =
                primary.private_ips.iter().find(|p| p.primary).or(primary.private_ips.first()).map(|p| p.addr);
            let at = private.map(|p| Resolved { eni: primary, private: p, public: None });
            (Edge::InstanceNotPublic { instance, enis: enis.clone(), v6 }, at)
        }
    }
}

// ---- explanation ----

impl Finding for Edge<'_> {
    fn explain(&self, _flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::Target;
        let ex = Explained::default();
        match self {
            Edge::InterfacesUnknown(m) => ex.check(unknown_check(id, "which interface holds the address", *m)),
            Edge::Private { ip, vpc, holder } => private(ex, *ip, *vpc, *holder),
            Edge::Held { ip, eni, private } => {
                let how = if ip.is_ipv6() { "is an IPv6 address of" } else { "is associated with" };
                ex.check(check(id, CheckStatus::Pass, format!("{ip} {how} {} ({})", eni.id, private)).with_evidence([
                    format!(
                        "{} {} private address {private} (NetworkInterfaces)",
                        eni.id,
                        if ip.is_ipv6() { "holds" } else { "maps it to" }
                    ),
                ]))
            }
            Edge::AddressesUnknown(m) => ex.check(unknown_check(id, "which interface holds the address", *m)).hop(
                CloudHop::InternetGateway,
                Component::Unknown,
                CheckStatus::Unknown,
                "target unknown",
            ),
            Edge::ElasticIp { ip, eni, private } => ex.check(check(
                id,
                CheckStatus::Pass,
                format!("Elastic IP {ip} is associated with {} ({private})", eni.id),
            )),
            Edge::NotAssociated { ip, eip } => not_associated(ex, *ip, *eip),
            Edge::InstanceWithoutInterface(iid) => ex.check(
                check(id, CheckStatus::Unknown, format!("No interface of {iid} in the evidence")).with_evidence([
                    format!(
                        "no NetworkInterfaces entry is attached to {iid}: check the id and the region, or re-take the snapshot"
                    ),
                ]),
            ),
            Edge::InstanceReached { instance, eni, private, public } => ex.check(check(
                id,
                CheckStatus::Pass,
                format!("{instance} is reached at {public} ({} {private})", eni.id),
            )),
            Edge::InstanceNotPublic { instance, enis, v6 } => not_public(ex, instance, enis, *v6),
        }
    }
}

fn private(ex: Explained, ip: IpAddr, vpc: Option<&Vpc>, holder: Option<&NetworkInterface>) -> Explained {
    let mut evidence = vec![match vpc {
        Some(v) => format!(
            "{ip} is inside {} ({}) (Vpcs)",
            v.id,
            v.cidrs.iter().map(Cidr::to_string).collect::<Vec<_>>().join(", ")
        ),
        None => format!("{ip} is a private or reserved address (RFC 1918, RFC 6598, loopback, link-local)"),
    }];
    if let Some(e) = holder {
        evidence.push(format!(
            "{ip} is the private address of {} ({}) (NetworkInterfaces)",
            e.id,
            e.instance_id.as_deref().unwrap_or("no instance")
        ));
    }
    let msg = format!("{ip} is a private address: the internet cannot route to it");
    blocked(ex, CauseCode::TargetAddressPrivate, &ip.to_string(), msg, evidence, private_fix(ip, holder))
}

fn not_associated(ex: Explained, ip: IpAddr, eip: Option<&ElasticIp>) -> Explained {
    let (msg, evidence) = match eip {
        Some(a) => (
            format!("Elastic IP {ip} is allocated but associated with no interface"),
            vec![format!("{} has no association (Addresses)", a.allocation_id.as_deref().unwrap_or("the allocation"))],
        ),
        None => (
            format!("{ip} belongs to no interface in this account and region"),
            vec![format!("no interface has public address {ip} (NetworkInterfaces), and no Elastic IP (Addresses)")],
        ),
    };
    let fix = associate_fix(eip.and_then(|a| a.allocation_id.as_deref()));
    blocked(ex, CauseCode::PublicIpNotAssociated, &ip.to_string(), msg, evidence, fix)
}

/// The instance is found but nothing on the internet can address it; the flow still lands on
/// its primary interface, so the steps after the edge are judged too.
fn not_public(ex: Explained, instance: &str, enis: &[&NetworkInterface], v6: bool) -> Explained {
    let fam = if v6 { "IPv6 address" } else { "public IPv4 or Elastic IP address" };
    let msg = format!("{instance} has no {fam}: nothing on the internet can address it");
    let evidence: Vec<String> = enis
        .iter()
        .map(|e| {
            let addrs = e.private_ips.iter().map(|p| p.addr.to_string()).collect::<Vec<_>>().join(", ");
            format!("{} ({addrs}) has no {fam} (NetworkInterfaces)", e.id)
        })
        .collect();
    let fix = enis.first().map(|primary| public_address_fix(&primary.id, v6)).unwrap_or_default();
    ex.check(check(CloudCheck::Target, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()))
        .cause(confirmed(CauseCode::NoPublicIp, instance, msg, evidence, fix))
}

/// A confirmed blocking cause.
pub(super) fn confirmed(code: CauseCode, component: &str, msg: String, evidence: Vec<String>, fix: Vec<Fix>) -> Cause {
    Cause::blocking(code, component, Confidence::Confirmed, msg).with_evidence(evidence).with_fix(fix)
}

/// The target is blocked at the edge: a failed check, a failed gateway hop with nothing behind
/// it, and the cause.
fn blocked(
    ex: Explained,
    code: CauseCode,
    component: &str,
    msg: String,
    evidence: Vec<String>,
    fix: Vec<Fix>,
) -> Explained {
    ex.check(check(CloudCheck::Target, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()))
        .hop(CloudHop::InternetGateway, Component::None, CheckStatus::Fail, msg.clone())
        .cause(confirmed(code, component, msg, evidence, fix))
}

// ---- remedies (aws CLI) ----

fn private_fix(ip: IpAddr, holder: Option<&NetworkInterface>) -> Vec<Fix> {
    let public = holder.and_then(|e| e.private_ips.iter().find(|p| p.addr == ip)).and_then(|p| p.public_ip);
    match public {
        Some(p) => vec![Fix::text(format!("Target its public address {p}"))],
        None => vec![Fix::text("Target the instance's public or Elastic IP address instead")],
    }
}

fn associate_fix(allocation: Option<&str>) -> Vec<Fix> {
    vec![
        Fix::text("Associate the address with the instance: ").then_run(
            ShellCommand::new("aws ec2 associate-address --allocation-id")
                .arg_or(allocation, "<eipalloc-…>")
                .lit("--instance-id <i-…>"),
        ),
    ]
}

fn public_address_fix(eni: &str, v6: bool) -> Vec<Fix> {
    if v6 {
        vec![Fix::run(
            ShellCommand::new("aws ec2 assign-ipv6-addresses --network-interface-id")
                .arg(eni)
                .lit("--ipv6-address-count 1"),
        )]
    } else {
        vec![
            Fix::run(ShellCommand::new("aws ec2 allocate-address --domain vpc")),
            Fix::run(
                ShellCommand::new("aws ec2 associate-address --allocation-id <eipalloc-…> --network-interface-id")
                    .arg(eni),
            ),
        ]
    }
}
