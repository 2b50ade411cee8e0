//! One leg balancer → target, to the traffic port or to the health-check port: its sources
//! (the nodes' subnets, or with client IP preservation the clients), the balancer's security
//! groups outbound, the nodes' subnets' network ACLs out and back, the target subnet's network
//! ACL both ways (the instance path's decision) and the target's security groups (the instance
//! path's decision, where a rule naming the balancer's group admits the whole leg).

use super::super::Resolved;
use super::super::acl::{self, AclFinding, Decision, acl_walk};
use super::super::index::{AwsIndex, list};
use super::super::sg::{self, Match, SgFinding};
use super::Lb;
use super::front::{adopt, join};
use crate::cloud::CloudQuery;
use crate::cloud::aws::edge::confirmed;
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::cloud::{AclAction, NetworkAcl, NetworkInterface, PortRange, SecurityGroup, SgRule, SgSource};
use portdoctor_model::cloud_path::CloudCheck;
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::net::{Cidr, Family, Source};
use portdoctor_model::{CauseCode, CheckStatus, Missing};
use std::net::IpAddr;

// ---- decisions ----

/// The balancer's security groups outbound toward the target.
enum Egress<'a> {
    Unknown(Option<&'a Missing>),
    Admitted(&'a SecurityGroup, &'a SgRule),
    Unresolved(Vec<String>),
    Denied(Vec<&'a SecurityGroup>),
}

fn egress<'a>(
    idx: &AwsIndex<'a>,
    groups: &[String],
    eni: &NetworkInterface,
    ip: IpAddr,
    proto: u8,
    port: u16,
) -> Egress<'a> {
    if idx.ev.security_groups.known().is_none() {
        return Egress::Unknown(idx.ev.security_groups.missing());
    }
    let (mut listed, mut unresolved) = (Vec::new(), Vec::new());
    for gid in groups {
        let Some(g) = idx.sg_by_id.get(gid.as_str()).copied() else {
            unresolved.push(format!("{gid} is the load balancer's but not in SecurityGroups"));
            continue;
        };
        let Some(rules) = &g.egress else {
            unresolved
                .push(format!("{gid} has no IpPermissionsEgress in SecurityGroups: its outbound rules are unknown"));
            continue;
        };
        listed.push(g);
        for rule in rules.iter().filter(|r| r.proto.matches(proto) && r.ports.as_ref().is_none_or(|p| p.contains(port)))
        {
            for dest in &rule.sources {
                let admits = match dest {
                    SgSource::Cidr(c) => c.contains(&ip),
                    SgSource::Group(other) => eni.groups.contains(other),
                    SgSource::PrefixList(pl) => match idx.prefix_lists.get(pl.as_str()) {
                        Some(cidrs) => cidrs.iter().any(|c| c.contains(&ip)),
                        None => {
                            unresolved
                                .push(format!("{}: {} uses prefix list {pl}, not in the evidence", g.id, rule.text));
                            false
                        }
                    },
                };
                if admits {
                    return Egress::Admitted(g, rule);
                }
            }
        }
    }
    if unresolved.is_empty() { Egress::Denied(listed) } else { Egress::Unresolved(unresolved) }
}

/// The network ACL of a balancer node's subnet on the leg: the request out to the target, the
/// replies back in (stateless both ways).
struct NodeAcl<'a> {
    acl: &'a NetworkAcl,
    subnet: &'a str,
    out: Vec<Decision<'a>>,
    back: Vec<Decision<'a>>,
}

fn denies(d: &Decision<'_>) -> bool {
    d.rule.is_none_or(|e| e.action == AclAction::Deny)
}

/// The target's security groups for the leg.
enum TargetSg<'a> {
    Unknown(Option<&'a Missing>),
    /// A rule names one of the balancer's groups: every node (and, with client IP
    /// preservation, every client through it) is admitted.
    ViaLbGroup(&'a SecurityGroup, &'a SgRule),
    Admitted(Vec<String>),
    Unresolved(Vec<String>),
    Denied {
        groups: Vec<&'a SecurityGroup>,
        admitted: AddrSet,
        missing: AddrSet,
    },
}

fn target_sg<'a>(f: SgFinding<'a>, lb_groups: &[String]) -> TargetSg<'a> {
    let SgFinding::Evaluated { groups, matches, unresolved, admitted, missing, .. } = f else {
        let SgFinding::Unknown { missing, .. } = f else { return TargetSg::Unknown(None) };
        return TargetSg::Unknown(missing);
    };
    let via = matches.iter().find_map(|m| match m {
        Match::GroupReference { group, rule, other } if lb_groups.iter().any(|g| g == other) => Some((*group, *rule)),
        _ => None,
    });
    if let Some((g, r)) = via {
        return TargetSg::ViaLbGroup(g, r);
    }
    let lines = matches
        .iter()
        .filter_map(|m| match m {
            Match::Admits { group, rule, clients, .. } => {
                Some(format!("{} ({}): {} admits {clients}", group.id, group.name, rule.text))
            }
            Match::GroupReference { .. } => None,
        })
        .collect();
    if missing.is_empty() {
        return TargetSg::Admitted(lines);
    }
    if !unresolved.is_empty() {
        return TargetSg::Unresolved(vec![format!(
            "some security groups or prefix lists of the target are not in the evidence"
        )]);
    }
    TargetSg::Denied { groups: groups.iter().filter_map(|(_, g)| *g).collect(), admitted, missing }
}

/// One leg balancer → target: to the traffic port, or to the health-check port.
pub(super) struct Leg<'a> {
    health_check: bool,
    /// The leg's question: its port, and as `from` the prefix a fix admits.
    query: CloudQuery,
    sources: AddrSet,
    /// The same without the target's own subnet (a subnet's ACL does not filter inside it).
    acl_sources: AddrSet,
    by_clients: bool,
    /// `None`: the balancer has no security groups.
    egress: Option<Egress<'a>>,
    node_acls: Vec<NodeAcl<'a>>,
    target_acls: Option<(AclFinding<'a>, AclFinding<'a>)>,
    sg: TargetSg<'a>,
}

impl Leg<'_> {
    fn flow(&self) -> Flow<'_> {
        Flow { query: &self.query, sources: self.sources.clone() }
    }

    fn acl_flow(&self) -> Flow<'_> {
        Flow { query: &self.query, sources: self.acl_sources.clone() }
    }
}

/// The source addresses of the balancer nodes in `nodes`: their subnets' CIDRs of the family,
/// else the VPC's.
pub(super) fn node_sources(
    idx: &AwsIndex<'_>,
    lb: &Lb<'_>,
    nodes: &[&NetworkInterface],
    family: Family,
) -> (AddrSet, Option<Cidr>) {
    let mut set = AddrSet::empty(family);
    let mut first = None;
    for n in nodes {
        for c in idx
            .subnet_by_id
            .get(n.subnet_id.as_str())
            .into_iter()
            .flat_map(|s| &s.cidrs)
            .filter(|c| c.family() == family)
        {
            first.get_or_insert(*c);
            set = set.union(&AddrSet::from_cidr(c));
        }
    }
    // The VPC's range: for the fix (admit the VPC), and as the sources when subnets are unknown.
    let vpc = list(&idx.ev.vpcs)
        .iter()
        .filter(|v| Some(v.id.as_str()) == lb.b.vpc || nodes.iter().any(|n| n.vpc_id == v.id))
        .flat_map(|v| &v.cidrs)
        .find(|c| c.family() == family && first.is_none_or(|f| c.contains(&f.addr())))
        .copied();
    if set.is_empty()
        && let Some(v) = vpc
    {
        set = AddrSet::from_cidr(&v);
    }
    (set, vpc.or(first))
}

pub(super) struct LegAsk<'x, 'a> {
    pub idx: &'x AwsIndex<'a>,
    pub flow: &'x Flow<'x>,
    pub lb: &'a Lb<'a>,
    pub nodes: &'x [&'a NetworkInterface],
    pub eni: &'a NetworkInterface,
    pub ip: IpAddr,
}

pub(super) fn leg<'a>(a: &LegAsk<'_, 'a>, port: u16, health_check: bool, by_clients: bool) -> Option<Leg<'a>> {
    let (idx, flow, lb, eni, ip) = (a.idx, a.flow, a.lb, a.eni, a.ip);
    let family = Family::of(&ip);
    let (nodes_set, prefix) = node_sources(idx, lb, a.nodes, family);
    let (sources, from) = if by_clients && flow.family() == family {
        (flow.sources.clone(), flow.query.from)
    } else {
        (nodes_set, Source::Prefix(prefix?))
    };
    if sources.is_empty() {
        return None;
    }
    let query = CloudQuery { port, from, ..flow.query.clone() };
    let own = idx.subnet_by_id.get(eni.subnet_id.as_str()).into_iter().flat_map(|s| &s.cidrs);
    let acl_sources =
        own.fold(sources.clone(), |s, c| if c.family() == family { s.minus(&AddrSet::from_cidr(c)) } else { s });
    let at = Resolved { eni, private: ip, public: None };
    let leg_flow = Flow { query: &query, sources: sources.clone() };
    let crosses = a.nodes.iter().any(|n| n.subnet_id != eni.subnet_id);
    let target_acls = (crosses && !acl_sources.is_empty()).then(|| {
        let f = Flow { query: &query, sources: acl_sources.clone() };
        (acl::inbound(idx, &f, &at), acl::outbound(idx, &f, &at))
    });
    let proto = leg_flow.proto_number();
    let host = AddrSet::from_cidr(&Cidr::host(ip));
    let mut node_acls: Vec<NodeAcl<'a>> = Vec::new();
    for n in a.nodes.iter().filter(|n| n.subnet_id != eni.subnet_id) {
        let Some(acl) = idx.acl_for(&n.subnet_id, &n.vpc_id) else { continue };
        if node_acls.iter().any(|x| x.acl.id == acl.id) {
            continue;
        }
        let subnet = lb.b.zones.iter().find(|z| z.subnet == n.subnet_id).map_or("", |z| z.subnet);
        node_acls.push(NodeAcl {
            acl,
            subnet,
            out: acl_walk(acl, true, proto, &host, &PortRange { from: port, to: port }),
            back: acl_walk(acl, false, proto, &host, &flow.query.client_ports),
        });
    }
    let egress = (!lb.b.groups.is_empty()).then(|| egress(idx, lb.b.groups, eni, ip, proto, port));
    let sg = target_sg(sg::security_groups(idx, &leg_flow, &at), lb.b.groups);
    Some(Leg { health_check, query, sources, acl_sources, by_clients, egress, node_acls, target_acls, sg })
}

// ---- explanation ----

/// What a leg's judgement came to.
#[derive(Default, Clone, Copy)]
pub(super) struct LegVerdict {
    pub blocked: bool,
    pub unknown: bool,
}

impl Leg<'_> {
    /// The leg in checks and causes, from `lb` to `label`: each part as it decided (the
    /// balancer's groups outbound, the nodes' subnets' ACLs, the target subnet's ACL, the
    /// target's groups), in the packet's order.
    pub(super) fn explain(
        &self,
        lb: &Lb<'_>,
        eni: &NetworkInterface,
        ip: IpAddr,
        label: &str,
    ) -> (Explained, LegVerdict) {
        let what = if self.health_check { "health checks" } else { "traffic" };
        let prefix = format!("{} -> {label} ({what}, port {}): ", lb.b.r.name(), self.query.port);
        let say = LegSay { lb, eni, ip, prefix, flow: self.flow(), health_check: self.health_check };
        let mut v = LegVerdict::default();
        let mut ex = Explained::default();
        if let Some(e) = &self.egress {
            ex = join(ex, say.egress(e, &mut v));
        }
        // The nodes' subnets' network ACLs: out to the target, and the replies back.
        for n in &self.node_acls {
            for (decisions, out) in [(&n.out, true), (&n.back, false)] {
                let denied: Vec<&Decision<'_>> = decisions.iter().filter(|d| denies(d)).collect();
                if !denied.is_empty() {
                    v.blocked = true;
                    ex = join(ex, say.node_acl_denies(n, out, &denied, &self.query.client_ports));
                }
            }
        }
        // The target's subnet's network ACL, both ways (the instance path's decision).
        if let Some((inbound, outbound)) = &self.target_acls {
            let acl_flow = self.acl_flow();
            for f in [inbound, outbound] {
                let e = adopt(
                    f.explain(&acl_flow),
                    Some(say.id(CloudCheck::TargetNacl)),
                    &say.prefix,
                    |c| say.code(c),
                    |_| false,
                );
                v.blocked |= e.causes.iter().any(|c| c.blocking);
                v.unknown |= e.checks.iter().any(|c| c.status == CheckStatus::Unknown);
                ex = join(ex, e);
            }
        }
        ex = join(ex, say.target_sg(&self.sg, self.by_clients, &self.sources, &mut v));
        (ex, v)
    }
}

/// What every part of a leg's words needs: whose leg and to where, and how a health-check
/// leg names its checks and causes.
struct LegSay<'x> {
    lb: &'x Lb<'x>,
    eni: &'x NetworkInterface,
    ip: IpAddr,
    /// `web -> i-1:8080 (traffic, port 8080): `, before each summary.
    prefix: String,
    flow: Flow<'x>,
    health_check: bool,
}

impl LegSay<'_> {
    /// A health-check leg's checks are the health check's.
    fn id(&self, normal: CloudCheck) -> CloudCheck {
        if self.health_check { CloudCheck::HealthCheck } else { normal }
    }

    /// A health-check leg's causes are a blocked health check.
    fn code(&self, normal: CauseCode) -> CauseCode {
        if self.health_check { CauseCode::HealthCheckBlocked } else { normal }
    }

    /// The balancer's security groups, outbound.
    fn egress(&self, e: &Egress<'_>, v: &mut LegVerdict) -> Explained {
        let (prefix, lb, ip, port) = (&self.prefix, self.lb, self.ip, self.flow.port());
        let c = self.id(CloudCheck::LbSecurityGroupEgress);
        let groups = lb.b.groups.join(", ");
        let ex = Explained::default();
        match e {
            Egress::Unknown(m) => undecided(ex, v, unknown_check(c, "the load balancer's outbound rules", *m)),
            Egress::Unresolved(why) => {
                let summary = format!("{prefix}could not tell whether {groups} let it out");
                undecided(ex, v, check(c, CheckStatus::Unknown, summary).with_evidence(why.clone()))
            }
            Egress::Admitted(g, r) => ex.check(
                check(c, CheckStatus::Pass, format!("{prefix}{} lets it out", g.id))
                    .with_evidence([format!("{} ({}) egress: {}", g.id, g.name, r.text)]),
            ),
            Egress::Denied(listed) => {
                v.blocked = true;
                let msg =
                    format!("{prefix}the load balancer's security groups ({groups}) let nothing out to {ip}:{port}");
                let covers = format!(
                    "no egress rule of {groups} covers {}/{port} to {ip} or a group of {}",
                    self.flow.proto(),
                    self.eni.id
                );
                let listed = listed.iter().map(|g| {
                    let rules = rules_text(g.egress.iter().flatten(), "no egress rules");
                    format!("{} ({}) egress: {rules} (SecurityGroups)", g.id, g.name)
                });
                let evidence: Vec<String> = std::iter::once(covers).chain(listed).collect();
                let first = lb.b.groups.first().map_or("<sg-…>", String::as_str);
                let fix = egress_fix(first, &self.flow, self.eni.groups.first().map(String::as_str), ip);
                ex.check(check(c, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone())).cause(confirmed(
                    self.code(CauseCode::SecurityGroupNoEgress),
                    first,
                    msg,
                    evidence,
                    fix,
                ))
            }
        }
    }

    /// A node subnet's ACL that denies the leg's packets out (`out`) or its replies back in.
    fn node_acl_denies(
        &self,
        n: &NodeAcl<'_>,
        out: bool,
        denied: &[&Decision<'_>],
        client_ports: &PortRange,
    ) -> Explained {
        let (prefix, ip, port) = (&self.prefix, self.ip, self.flow.port());
        let lines: Vec<String> = denied
            .iter()
            .map(|d| {
                let rule = d.rule.map_or_else(|| "implicit deny (rule *)".to_string(), |e| e.text());
                let dir = if out { "outbound" } else { "inbound" };
                format!("{} {rule}: denies {ip} on ports {} ({dir})", n.acl.id, d.ports.text())
            })
            .collect();
        let (msg, cause, fix) = if out {
            (
                format!(
                    "{prefix}the network ACL {} of the load balancer's subnet {} denies its packets to {ip}:{port}",
                    n.acl.id, n.subnet
                ),
                CauseCode::NaclOutboundDeny,
                node_acl_fix(&n.acl.id, true, &self.flow, ip, (port, port)),
            )
        } else {
            (
                format!(
                    "{prefix}the network ACL {} of the load balancer's subnet {} drops the replies from {ip} to the load balancer's ports {}",
                    n.acl.id,
                    n.subnet,
                    client_ports.text()
                ),
                CauseCode::NaclInboundDeny,
                node_acl_fix(&n.acl.id, false, &self.flow, ip, (client_ports.from, client_ports.to)),
            )
        };
        Explained::default()
            .check(check(self.id(CloudCheck::TargetNacl), CheckStatus::Fail, msg.clone()).with_evidence(lines.clone()))
            .cause(confirmed(self.code(cause), &n.acl.id, msg, lines, fix))
    }

    /// The target's security groups, admitting the nodes (`sources`) or, with client IP
    /// preservation, the clients.
    fn target_sg(&self, sg: &TargetSg<'_>, by_clients: bool, sources: &AddrSet, v: &mut LegVerdict) -> Explained {
        let (prefix, lb, eni, flow) = (&self.prefix, self.lb, self.eni, &self.flow);
        let c = self.id(CloudCheck::TargetSecurityGroup);
        let whom = if by_clients {
            format!("the clients ({}: client IP preservation is on)", flow.from_text())
        } else {
            format!("the load balancer's nodes ({sources})")
        };
        let ex = Explained::default();
        match sg {
            TargetSg::Unknown(m) => undecided(ex, v, unknown_check(c, "the target's security groups", *m)),
            TargetSg::Unresolved(why) => {
                let summary = format!("{prefix}could not tell whether {} admits {whom}", eni.id);
                undecided(ex, v, check(c, CheckStatus::Unknown, summary).with_evidence(why.clone()))
            }
            TargetSg::ViaLbGroup(g, r) => ex.check(
                check(c, CheckStatus::Pass, format!("{prefix}{} admits the load balancer's security group", g.id))
                    .with_evidence([format!("{} ({}): {}", g.id, g.name, r.text)]),
            ),
            TargetSg::Admitted(lines) => ex.check(
                check(c, CheckStatus::Pass, format!("{prefix}the security groups of {} admit {whom}", eni.id))
                    .with_evidence(lines.clone()),
            ),
            TargetSg::Denied { groups, admitted, missing } => {
                v.blocked = true;
                let part = if admitted.is_empty() { String::new() } else { format!(" (they admit only {admitted})") };
                let msg = format!(
                    "{prefix}the security groups of {} ({}) do not admit {whom}{part}",
                    eni.id,
                    eni.groups.join(", ")
                );
                let lb_groups = if lb.b.groups.is_empty() {
                    "a group of the load balancer".to_string()
                } else {
                    lb.b.groups.join(", ")
                };
                let mut evidence = vec![format!(
                    "{} has groups {} (NetworkInterfaces); no ingress rule for {} covers {} or names {lb_groups} (SecurityGroups)",
                    eni.id,
                    eni.groups.join(", "),
                    flow.text(),
                    flow.set_text(missing),
                )];
                for g in groups {
                    evidence.push(format!(
                        "{} ({}) ingress: {}",
                        g.id,
                        g.name,
                        rules_text(g.ingress.iter(), "no ingress rules")
                    ));
                }
                let first = eni.groups.first().map_or("<sg-…>", String::as_str);
                let fix = target_sg_fix(first, flow, lb, by_clients);
                let cause = confirmed(
                    self.code(CauseCode::TargetSecurityGroupNoIngress),
                    first,
                    msg.clone(),
                    evidence.clone(),
                    fix,
                );
                ex.check(check(c, CheckStatus::Fail, msg).with_evidence(evidence)).cause(cause)
            }
        }
    }
}

/// A group's first ten rules, for evidence (`none` when it has none).
fn rules_text<'r>(rules: impl Iterator<Item = &'r SgRule>, none: &str) -> String {
    let rules: Vec<&str> = rules.take(10).map(|r| r.text.as_str()).collect();
    if rules.is_empty() { none.to_string() } else { rules.join("; ") }
}

/// A part of the leg that could not be decided: its unknown check, and the leg unknown.
fn undecided(ex: Explained, v: &mut LegVerdict, c: portdoctor_model::Check) -> Explained {
    v.unknown = true;
    ex.check(c)
}

// ---- remedies (aws CLI) ----

fn egress_fix(group: &str, flow: &Flow<'_>, target_group: Option<&str>, ip: IpAddr) -> Vec<Fix> {
    let (proto, port) = (flow.proto(), flow.port());
    let perms = Word::lit("IpProtocol=").val(proto).then(",FromPort=").val(port).then(",ToPort=").val(port);
    let perms = match target_group {
        Some(g) => perms.then(",UserIdGroupPairs=[{GroupId=").val(g).then("}]"),
        None => perms.then(",IpRanges=[{CidrIp=").val(Cidr::host(ip)).then("}]"),
    };
    vec![Fix::run(
        ShellCommand::new("aws ec2 authorize-security-group-egress --group-id")
            .arg(group)
            .lit("--ip-permissions")
            .word(perms),
    )]
}

fn node_acl_fix(acl: &str, out: bool, flow: &Flow<'_>, ip: IpAddr, ports: (u16, u16)) -> Vec<Fix> {
    vec![Fix::run(
        ShellCommand::new("aws ec2 create-network-acl-entry --network-acl-id")
            .arg(acl)
            .lit(if out { "--egress" } else { "--ingress" })
            .lit("--rule-number <n below the deny>")
            .lit("--protocol")
            .arg(flow.proto_number())
            .lit("--port-range")
            .word(Word::lit("From=").val(ports.0).then(",To=").val(ports.1))
            .lit(if ip.is_ipv6() { "--ipv6-cidr-block" } else { "--cidr-block" })
            .arg(Cidr::host(ip))
            .lit("--rule-action allow"),
    )]
}

fn target_sg_fix(group: &str, flow: &Flow<'_>, lb: &Lb<'_>, by_clients: bool) -> Vec<Fix> {
    let authorize = ShellCommand::new("aws ec2 authorize-security-group-ingress --group-id")
        .arg(group)
        .lit("--protocol")
        .arg(flow.proto())
        .lit("--port")
        .arg(flow.port());
    match lb.b.groups.first() {
        Some(lb_group) => vec![Fix::run(authorize.lit("--source-group").arg(lb_group))],
        None if by_clients => vec![Fix::run(authorize.lit("--cidr").arg(flow.client_prefix()))],
        None => vec![Fix::run(authorize.lit("--cidr").arg(flow.client_prefix()))],
    }
}
