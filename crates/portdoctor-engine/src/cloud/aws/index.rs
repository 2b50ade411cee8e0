//! AWS lookups built once per evidence, so a query (or every instance of an account) is cheap.

use portdoctor_model::Knowledge;
use portdoctor_model::cloud::{
    AwsEvidence, ElasticIp, Instance, NetworkAcl, NetworkInterface, RouteDest, RouteTable, SecurityGroup, Subnet,
};
use portdoctor_model::net::Cidr;
use std::collections::HashMap;
use std::net::IpAddr;

/// Lookups built once per evidence, so a query (or every instance of an account) is cheap.
pub struct AwsIndex<'a> {
    pub(crate) ev: &'a AwsEvidence,
    pub(crate) eni_by_id: HashMap<&'a str, &'a NetworkInterface>,
    pub(crate) eni_by_public: HashMap<IpAddr, (&'a NetworkInterface, IpAddr)>,
    /// (interface id, private address) → public IPv4, the reverse of `eni_by_public`.
    pub(crate) public_by_private: HashMap<(&'a str, IpAddr), IpAddr>,
    pub(crate) eni_by_private: HashMap<IpAddr, &'a NetworkInterface>,
    pub(crate) sg_by_id: HashMap<&'a str, &'a SecurityGroup>,
    /// An instance's interfaces, by device index.
    pub(crate) enis_by_instance: HashMap<&'a str, Vec<&'a NetworkInterface>>,
    pub(crate) subnet_by_id: HashMap<&'a str, &'a Subnet>,
    pub(crate) instance_by_id: HashMap<&'a str, &'a Instance>,
    pub(crate) acl_by_subnet: HashMap<&'a str, &'a NetworkAcl>,
    pub(crate) default_acl_by_vpc: HashMap<&'a str, &'a NetworkAcl>,
    pub(crate) rtb_by_subnet: HashMap<&'a str, &'a RouteTable>,
    pub(crate) main_rtb_by_vpc: HashMap<&'a str, &'a RouteTable>,
    pub(crate) prefix_lists: HashMap<&'a str, &'a [Cidr]>,
}

pub(crate) fn list<T>(k: &Knowledge<Vec<T>>) -> &[T] {
    k.known().map(Vec::as_slice).unwrap_or_default()
}

/// Tables by subnet id, and the defaults by VPC id.
type BySubnet<'a, T> = (HashMap<&'a str, &'a T>, HashMap<&'a str, &'a T>);

type ByAddress<'a> = HashMap<IpAddr, (&'a NetworkInterface, IpAddr)>;

/// Public address → (interface, private address it maps to), and private address → interface.
/// Elastic IPs as describe-addresses records them: by interface, or by instance (then on its
/// primary interface's primary address), for sources whose interfaces omit them.
fn addresses<'a>(
    enis: &'a [NetworkInterface],
    eips: &'a [ElasticIp],
) -> (ByAddress<'a>, HashMap<IpAddr, &'a NetworkInterface>) {
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
    let primary_eni = |instance: &str| {
        enis.iter()
            .filter(|e| e.instance_id.as_deref() == Some(instance))
            .min_by_key(|e| e.device_index.unwrap_or(u32::MAX))
    };
    for a in eips {
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
    (eni_by_public, eni_by_private)
}

/// A per-subnet table (ACL, route table) by its associated subnets, and the VPC's default
/// (`vpc` is `Some` for the default ACL or the main route table) that serves the others.
fn by_subnet<'a, T>(items: &'a [T], parts: impl Fn(&'a T) -> (&'a [String], Option<&'a str>)) -> BySubnet<'a, T> {
    let (mut by_subnet, mut default_by_vpc) = (HashMap::new(), HashMap::new());
    for item in items {
        let (subnets, vpc) = parts(item);
        for s in subnets {
            by_subnet.insert(s.as_str(), item);
        }
        if let Some(vpc) = vpc {
            default_by_vpc.insert(vpc, item);
        }
    }
    (by_subnet, default_by_vpc)
}

impl<'a> AwsIndex<'a> {
    pub fn new(ev: &'a AwsEvidence) -> AwsIndex<'a> {
        let enis = list(&ev.interfaces);
        let (eni_by_public, eni_by_private) = addresses(enis, list(&ev.addresses));
        let mut public_by_private: HashMap<(&str, IpAddr), IpAddr> = HashMap::new();
        for (public, (eni, private)) in &eni_by_public {
            if public.is_ipv4() {
                let e = public_by_private.entry((eni.id.as_str(), *private)).or_insert(*public);
                *e = (*e).min(*public);
            }
        }
        let (acl_by_subnet, default_acl_by_vpc) =
            by_subnet(list(&ev.network_acls), |a| (&a.subnets, a.is_default.then_some(a.vpc_id.as_str())));
        let (rtb_by_subnet, main_rtb_by_vpc) =
            by_subnet(list(&ev.route_tables), |t| (&t.subnets, t.main.then_some(t.vpc_id.as_str())));
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

impl<'a> AwsIndex<'a> {
    /// The network ACL of a subnet: its explicit association, else the VPC's default ACL.
    pub(crate) fn acl_for(&self, subnet: &str, vpc: &str) -> Option<&'a NetworkAcl> {
        self.acl_by_subnet.get(subnet).or_else(|| self.default_acl_by_vpc.get(vpc)).copied()
    }

    /// The CIDRs a route destination stands for; `None` for a prefix list not in the evidence.
    pub(crate) fn cidrs_of(&self, dest: &RouteDest) -> Option<Vec<Cidr>> {
        match dest {
            RouteDest::Cidr(c) => Some(vec![*c]),
            RouteDest::PrefixList(id) => self.prefix_lists.get(id.as_str()).map(|c| c.to_vec()),
        }
    }
}
