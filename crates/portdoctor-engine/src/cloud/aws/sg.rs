//! The security groups of the interface: stateful allow-lists, the union of every group's
//! ingress rules; a rule that names another group admits only interfaces in that group, never
//! an internet source (AWS VPC User Guide, "Security group rules").

use super::Resolved;
use super::edge::confirmed;
use super::index::AwsIndex;
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::cloud::{NetworkInterface, SecurityGroup, SgRule, SgSource};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::Family;
use portdoctor_model::{CauseCode, CheckStatus, Missing};

/// A rule that matched the flow's protocol and port, and what it does for the clients.
pub enum Match<'a> {
    /// Admits these clients, by a CIDR or (`via`) a prefix list's entry.
    Admits { group: &'a SecurityGroup, rule: &'a SgRule, clients: AddrSet, via: Option<&'a str> },
    /// Names another group: admits none of the clients.
    GroupReference { group: &'a SecurityGroup, rule: &'a SgRule, other: &'a str },
}

/// What could not be evaluated.
pub enum Unresolved<'a> {
    GroupNotListed(&'a str),
    PrefixListNotListed { group: &'a SecurityGroup, rule: &'a SgRule, list: &'a str },
}

pub enum SgFinding<'a> {
    Unknown {
        eni: &'a NetworkInterface,
        missing: Option<&'a Missing>,
    },
    Evaluated {
        eni: &'a NetworkInterface,
        /// The interface's groups in order, with their listing when there is one.
        groups: Vec<(&'a str, Option<&'a SecurityGroup>)>,
        matches: Vec<Match<'a>>,
        unresolved: Vec<Unresolved<'a>>,
        admitted: AddrSet,
        /// Clients no rule admits.
        missing: AddrSet,
    },
}

pub fn security_groups<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, r: &Resolved<'a>) -> SgFinding<'a> {
    let eni = r.eni;
    if idx.ev.security_groups.known().is_none() {
        return SgFinding::Unknown { eni, missing: idx.ev.security_groups.missing() };
    }
    let (proto, port) = (flow.proto_number(), flow.port());
    let mut admitted = AddrSet::empty(flow.family());
    let (mut matches, mut unresolved) = (Vec::new(), Vec::new());
    let groups: Vec<_> = eni.groups.iter().map(|g| (g.as_str(), idx.sg_by_id.get(g.as_str()).copied())).collect();
    for (gid, group) in &groups {
        let Some(group) = *group else {
            unresolved.push(Unresolved::GroupNotListed(gid));
            continue;
        };
        for rule in &group.ingress {
            if !rule.proto.matches(proto) || !rule.ports.as_ref().is_none_or(|p| p.contains(port)) {
                continue;
            }
            for src in &rule.sources {
                let mut admit = |cidr, via| {
                    let clients = flow.sources.intersect(&AddrSet::from_cidr(cidr));
                    if !clients.is_empty() {
                        admitted = admitted.union(&clients);
                        matches.push(Match::Admits { group, rule, clients, via });
                    }
                };
                match src {
                    SgSource::Cidr(c) => admit(c, None),
                    SgSource::PrefixList(pl) => match idx.prefix_lists.get(pl.as_str()) {
                        Some(cidrs) => cidrs.iter().for_each(|c| admit(c, Some(pl))),
                        None => unresolved.push(Unresolved::PrefixListNotListed { group, rule, list: pl }),
                    },
                    SgSource::Group(other) => matches.push(Match::GroupReference { group, rule, other }),
                }
            }
        }
    }
    let missing = flow.sources.minus(&admitted);
    SgFinding::Evaluated { eni, groups, matches, unresolved, admitted, missing }
}

// ---- explanation ----

impl Finding for SgFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::SecurityGroup;
        let ex = Explained::default();
        let hop = |eni: &NetworkInterface| Component::Resources(eni.groups.clone());
        let (eni, groups, matches, unresolved, admitted, missing) = match self {
            SgFinding::Unknown { eni, missing } => {
                return ex.check(unknown_check(id, "the security groups", *missing)).hop(
                    CloudHop::SecurityGroup,
                    hop(eni),
                    CheckStatus::Unknown,
                    "security groups unknown",
                );
            }
            SgFinding::Evaluated { eni, groups, matches, unresolved, admitted, missing } => {
                (*eni, groups, matches, unresolved, admitted, missing)
            }
        };
        let (flow_text, from) = (flow.text(), flow.from_text());
        let mut evidence: Vec<String> = matches
            .iter()
            .map(|m| match m {
                Match::Admits { group: g, rule, clients, via } => format!(
                    "{} ({}): {} admits {}{}",
                    g.id,
                    g.name,
                    rule.text,
                    flow.set_text(clients),
                    via.map(|pl| format!(" via {pl}")).unwrap_or_default()
                ),
                Match::GroupReference { group: g, rule, other } => format!(
                    "{} ({}): {} admits only interfaces in {other}, never an internet source",
                    g.id, g.name, rule.text
                ),
            })
            .collect();
        if missing.is_empty() {
            let summary = format!("Security groups of {} admit {flow_text} from {from}", eni.id);
            return ex.check(check(id, CheckStatus::Pass, summary.clone()).with_evidence(evidence)).hop(
                CloudHop::SecurityGroup,
                hop(eni),
                CheckStatus::Pass,
                summary,
            );
        }
        if !unresolved.is_empty() {
            evidence.extend(unresolved.iter().map(|u| match u {
                Unresolved::GroupNotListed(gid) => format!("{gid} is on {} but not in SecurityGroups", eni.id),
                Unresolved::PrefixListNotListed { group: g, rule, list } => format!(
                    "{} ({}): {} uses prefix list {list}, which is not in the evidence (PrefixLists)",
                    g.id, g.name, rule.text
                ),
            }));
            let summary = format!(
                "Could not tell whether the security groups of {} admit {flow_text} from {}",
                eni.id,
                flow.set_text(missing)
            );
            return ex.check(check(id, CheckStatus::Unknown, summary.clone()).with_evidence(evidence)).hop(
                CloudHop::SecurityGroup,
                hop(eni),
                CheckStatus::Unknown,
                summary,
            );
        }
        no_ingress(flow, eni, groups, admitted, missing, evidence)
    }
}

/// No rule admits some of the clients: the cause, with what the groups do admit.
fn no_ingress(
    flow: &Flow<'_>,
    eni: &NetworkInterface,
    groups: &[(&str, Option<&SecurityGroup>)],
    admitted: &AddrSet,
    missing: &AddrSet,
    mut evidence: Vec<String>,
) -> Explained {
    let (flow_text, from) = (flow.text(), flow.from_text());
    let names = groups
        .iter()
        .map(|(gid, g)| g.map_or_else(|| gid.to_string(), |g| format!("{} ({})", g.id, g.name)))
        .collect::<Vec<_>>()
        .join(", ");
    let msg = if admitted.is_empty() {
        format!("No security-group rule on {} admits {flow_text} from {from} (groups: {names})", eni.id)
    } else {
        format!(
            "The security groups of {} admit {flow_text} only from {admitted}, not from {}",
            eni.id,
            flow.set_text(missing)
        )
    };
    evidence.insert(
        0,
        format!(
            "{} has groups {names} (NetworkInterfaces); no ingress rule for {flow_text} covers {} (SecurityGroups)",
            eni.id,
            flow.set_text(missing)
        ),
    );
    // What the groups do admit, so the reader sees the near misses (a typo'd port, a /32).
    for g in groups.iter().filter_map(|(_, g)| *g) {
        let rules: Vec<&str> = g.ingress.iter().take(10).map(|r| r.text.as_str()).collect();
        let rules = if rules.is_empty() { "no ingress rules".to_string() } else { rules.join("; ") };
        evidence.push(format!("{} ({}) ingress: {rules}", g.id, g.name));
    }
    let first_group = eni.groups.first().map(String::as_str);
    Explained::default()
        .check(check(CloudCheck::SecurityGroup, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()))
        .hop(CloudHop::SecurityGroup, Component::Resources(eni.groups.clone()), CheckStatus::Fail, msg.clone())
        .cause(confirmed(
            CauseCode::SecurityGroupNoIngress,
            first_group.unwrap_or("<sg-…>"),
            msg,
            evidence,
            vec![authorize_fix(flow, first_group)],
        ))
}

// ---- remedies (aws CLI) ----

fn authorize_fix(flow: &Flow<'_>, group: Option<&str>) -> Fix {
    let (proto, port, prefix) = (flow.proto(), flow.port(), flow.client_prefix());
    let authorize = ShellCommand::new("aws ec2 authorize-security-group-ingress --group-id").arg_or(group, "<sg-…>");
    // `--cidr` takes IPv4 only; IPv6 needs the structured form, one word (its brackets would
    // glob), made only of typed values.
    Fix::run(if flow.family() == Family::V6 {
        authorize
            .lit("--ip-permissions")
            .arg(format!("IpProtocol={proto},FromPort={port},ToPort={port},Ipv6Ranges=[{{CidrIpv6={prefix}}}]"))
    } else {
        authorize.lit("--protocol").arg(proto).lit("--port").arg(port).lit("--cidr").arg(&prefix)
    })
}
