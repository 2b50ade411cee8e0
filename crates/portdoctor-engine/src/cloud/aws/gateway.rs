//! The internet gateway of the interface's VPC, and VPC Block Public Access in front of it.
//! An egress-only internet gateway admits nothing inbound (AWS VPC User Guide, "Enable outbound
//! IPv6 traffic using an egress-only internet gateway"); Block Public Access in `block-ingress`
//! or `block-bidirectional` mode drops internet traffic to every VPC and subnet not excluded
//! (AWS VPC User Guide, "Block public access to VPCs and subnets").

use super::Resolved;
use super::edge::confirmed;
use super::index::{AwsIndex, list};
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::cloud::{BlockPublicAccess, BpaMode, Gateway};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::Family;
use portdoctor_model::{CauseCode, CheckStatus, Knowledge, Missing};
use std::net::IpAddr;

pub enum GatewayFinding<'a> {
    Unknown(Option<&'a Missing>),
    Attached {
        igw: &'a Gateway,
        vpc: &'a str,
        public: Option<IpAddr>,
        private: IpAddr,
    },
    /// No internet gateway; for IPv6, the egress-only gateway that is there instead.
    Missing {
        vpc: &'a str,
        egress_only: Option<&'a Gateway>,
        v6: bool,
    },
}

pub fn internet_gateway<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, r: &Resolved<'a>) -> GatewayFinding<'a> {
    let vpc = r.eni.vpc_id.as_str();
    let Some(igws) = idx.ev.internet_gateways.known() else {
        return GatewayFinding::Unknown(idx.ev.internet_gateways.missing());
    };
    let attached_to_vpc = |g: &&Gateway| g.attached_vpcs.iter().any(|v| v == vpc);
    match igws.iter().find(attached_to_vpc) {
        Some(igw) => GatewayFinding::Attached { igw, vpc, public: r.public, private: r.private },
        None => {
            let v6 = flow.family() == Family::V6;
            let egress_only = list(&idx.ev.egress_only_gateways).iter().find(attached_to_vpc).filter(|_| v6);
            GatewayFinding::Missing { vpc, egress_only, v6 }
        }
    }
}

pub enum BpaFinding<'a> {
    Unavailable(&'a Missing),
    Off,
    /// On, but the VPC or subnet is excluded in both directions.
    Excluded {
        mode: &'a BpaMode,
        by: &'a str,
    },
    Blocks {
        bpa: &'a BlockPublicAccess,
        vpc: &'a str,
        subnet: &'a str,
    },
}

pub fn block_public_access<'a>(idx: &AwsIndex<'a>, _flow: &Flow<'_>, r: &Resolved<'a>) -> BpaFinding<'a> {
    match &idx.ev.block_public_access {
        Knowledge::Unavailable(m) => BpaFinding::Unavailable(m),
        Knowledge::Known(None) => BpaFinding::Off,
        Knowledge::Known(Some(bpa)) if bpa.mode == BpaMode::Off => BpaFinding::Off,
        Knowledge::Known(Some(bpa)) => {
            let (vpc, subnet) = (r.eni.vpc_id.as_str(), r.eni.subnet_id.as_str());
            match bpa.excluded_bidirectional.iter().find(|x| *x == vpc || *x == subnet) {
                Some(by) => BpaFinding::Excluded { mode: &bpa.mode, by },
                None => BpaFinding::Blocks { bpa, vpc, subnet },
            }
        }
    }
}

// ---- explanation ----

impl Finding for GatewayFinding<'_> {
    fn explain(&self, _flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::InternetGateway;
        let ex = Explained::default();
        match self {
            GatewayFinding::Unknown(m) => ex.check(unknown_check(id, "the internet gateway", *m)).hop(
                CloudHop::InternetGateway,
                Component::Unknown,
                CheckStatus::Unknown,
                "internet gateways unknown",
            ),
            GatewayFinding::Attached { igw, vpc, public, private } => {
                let nat = match public {
                    Some(p) if p.is_ipv4() => format!("{p} -> {private} at the internet gateway (1:1 NAT)"),
                    Some(p) => format!("{p} passes the internet gateway untranslated (IPv6)"),
                    None => "no public address to translate".into(),
                };
                // Without a public address the gateway has nothing to deliver (NO_PUBLIC_IP).
                let status = if public.is_some() { CheckStatus::Pass } else { CheckStatus::Fail };
                ex.check(
                    check(id, CheckStatus::Pass, format!("{} is attached to {vpc}", igw.id))
                        .with_evidence([nat.clone()]),
                )
                .hop(CloudHop::InternetGateway, Component::one(&igw.id), status, nat)
            }
            GatewayFinding::Missing { vpc, egress_only, v6 } => {
                let (code, msg, component) = match egress_only {
                    Some(e) => (
                        CauseCode::IgwEgressOnly,
                        format!("{vpc} has only an egress-only internet gateway ({}): it admits nothing inbound", e.id),
                        e.id.as_str(),
                    ),
                    None => (CauseCode::IgwMissing, format!("{vpc} has no internet gateway attached"), *vpc),
                };
                let evidence = vec![format!("no InternetGateways entry is attached to {vpc} (InternetGateways)")];
                let fix = gateway_fix(vpc, if *v6 { "::/0" } else { "0.0.0.0/0" });
                ex.check(check(id, CheckStatus::Fail, msg.clone()))
                    .hop(CloudHop::InternetGateway, Component::one(component), CheckStatus::Fail, msg.clone())
                    .cause(confirmed(code, component, msg, evidence, fix))
            }
        }
    }
}

impl Finding for BpaFinding<'_> {
    fn explain(&self, _flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::BlockPublicAccess;
        let ex = Explained::default();
        match self {
            BpaFinding::Unavailable(m) => ex.check(
                check(id, CheckStatus::Skipped, "VPC Block Public Access settings are not in the evidence")
                    .with_evidence([m.describe()]),
            ),
            BpaFinding::Off => ex.check(check(id, CheckStatus::Pass, "VPC Block Public Access is off")),
            BpaFinding::Excluded { mode, by } => ex.check(check(
                id,
                CheckStatus::Pass,
                format!("VPC Block Public Access is {mode}, but {by} is excluded (allow-bidirectional)"),
            )),
            BpaFinding::Blocks { bpa, vpc, subnet } => {
                let msg = format!("VPC Block Public Access ({}) blocks internet traffic to {vpc}", bpa.mode);
                let evidence = vec![format!(
                    "InternetGatewayBlockMode = {} (VpcBlockPublicAccessOptions), no exclusion for {vpc} or {subnet}",
                    bpa.mode
                )];
                let mut ex = ex.check(check(id, CheckStatus::Fail, msg.clone())).cause(confirmed(
                    CauseCode::VpcBlockPublicAccess,
                    vpc,
                    msg.clone(),
                    evidence,
                    exclusion_fix(vpc),
                ));
                ex.amend = Some((CloudHop::InternetGateway, CheckStatus::Fail, msg));
                ex
            }
        }
    }
}

// ---- remedies (aws CLI) ----

fn gateway_fix(vpc: &str, default_route: &'static str) -> Vec<Fix> {
    vec![
        Fix::run(ShellCommand::new("aws ec2 create-internet-gateway")),
        Fix::run(ShellCommand::new("aws ec2 attach-internet-gateway --internet-gateway-id <igw-…> --vpc-id").arg(vpc)),
        Fix::run(
            ShellCommand::new("aws ec2 create-route --route-table-id <rtb-…> --destination-cidr-block")
                .lit(default_route)
                .lit("--gateway-id <igw-…>"),
        ),
    ]
}

fn exclusion_fix(vpc: &str) -> Vec<Fix> {
    vec![Fix::run(
        ShellCommand::new("aws ec2 create-vpc-block-public-access-exclusion --vpc-id")
            .arg(vpc)
            .lit("--internet-gateway-exclusion-mode allow-bidirectional"),
    )]
}
