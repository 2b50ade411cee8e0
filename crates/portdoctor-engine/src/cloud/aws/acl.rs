//! The subnet's network ACL, both ways: inbound for the flow, outbound for the replies to the
//! client's ephemeral ports. ACLs are stateless and evaluated in rule-number order, the first
//! match deciding, with an implicit final deny (rule `*`, number 32767) that is there whether it
//! is listed or not (AWS VPC User Guide, "Control subnet traffic with network access control lists").

use super::Resolved;
use super::edge::confirmed;
use super::index::AwsIndex;
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::cloud::{AclAction, AclEntry, NetworkAcl, PortRange};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::net::Family;
use portdoctor_model::{CauseCode, Check, CheckStatus, Missing};

/// The rule number AWS gives the implicit final deny.
const IMPLICIT_DENY: u32 = 32767;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The flow, to the port asked about.
    Inbound,
    /// The replies, to the client's ephemeral ports.
    Outbound,
}

/// One decision of the walk: a rule (or the implicit deny, `None`) decided these clients on
/// these ports.
pub struct Decision<'a> {
    pub rule: Option<&'a AclEntry>,
    pub addrs: AddrSet,
    pub ports: PortRange,
}

impl Decision<'_> {
    fn denies(&self) -> bool {
        self.rule.is_none_or(|e| e.action == AclAction::Deny)
    }

    fn number(&self) -> u32 {
        self.rule.map_or(IMPLICIT_DENY, |e| e.number)
    }
}

pub struct AclFinding<'a> {
    direction: Direction,
    subnet: &'a str,
    vpc: &'a str,
    outcome: AclOutcome<'a>,
}

pub enum AclOutcome<'a> {
    Unknown(Option<&'a Missing>),
    /// No ACL associated with the subnet and no default ACL in the VPC.
    NoAcl,
    Evaluated {
        acl: &'a NetworkAcl,
        decisions: Vec<Decision<'a>>,
    },
}

pub fn inbound<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, r: &Resolved<'a>) -> AclFinding<'a> {
    let port = PortRange { from: flow.port(), to: flow.port() };
    judge(idx, flow, r, Direction::Inbound, &port)
}

pub fn outbound<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, r: &Resolved<'a>) -> AclFinding<'a> {
    judge(idx, flow, r, Direction::Outbound, &flow.query.client_ports)
}

fn judge<'a>(
    idx: &AwsIndex<'a>,
    flow: &Flow<'_>,
    r: &Resolved<'a>,
    direction: Direction,
    ports: &PortRange,
) -> AclFinding<'a> {
    let (subnet, vpc) = (r.eni.subnet_id.as_str(), r.eni.vpc_id.as_str());
    let outcome = if idx.ev.network_acls.known().is_none() {
        AclOutcome::Unknown(idx.ev.network_acls.missing())
    } else {
        match idx.acl_for(subnet, vpc) {
            Some(acl) => AclOutcome::Evaluated {
                acl,
                decisions: acl_walk(acl, direction == Direction::Outbound, flow.proto_number(), &flow.sources, ports),
            },
            None => AclOutcome::NoAcl,
        }
    };
    AclFinding { direction, subnet, vpc, outcome }
}

/// Evaluates a stateless ACL direction for every (source, port) of `sources` × `ports`, in
/// rule-number order with the implicit final deny. Ports are split at every rule boundary so
/// each piece is decided by one walk over addresses.
pub fn acl_walk<'a>(
    acl: &'a NetworkAcl,
    egress: bool,
    proto: u8,
    sources: &AddrSet,
    ports: &PortRange,
) -> Vec<Decision<'a>> {
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
    let mut decisions = Vec::new();
    for w in cuts.windows(2) {
        // Every cut lies within `ports`, so both ends fit a u16.
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
            decisions.push(Decision { rule: Some(e), addrs: hit, ports: piece.clone() });
            if remaining.is_empty() {
                break;
            }
        }
        if !remaining.is_empty() {
            decisions.push(Decision { rule: None, addrs: remaining, ports: piece });
        }
    }
    decisions
}

/// A free rule number below `before` (AWS evaluates lower numbers first).
fn free_rule_number(acl: &NetworkAcl, egress: bool, before: u32) -> u32 {
    let used: Vec<u32> = acl.entries.iter().filter(|e| e.egress == egress).map(|e| e.number).collect();
    (1..before).rev().find(|n| !used.contains(n)).unwrap_or(1)
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

// ---- explanation ----

/// The walk's decisions as evidence lines, each once, in evaluation order.
fn evidence(acl: &NetworkAcl, decisions: &[Decision<'_>], dir: &str, flow: &Flow<'_>) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for d in decisions {
        let (addrs, ports) = (flow.set_text(&d.addrs), d.ports.text());
        let line = match d.rule {
            Some(e) => {
                let verb = if e.action == AclAction::Allow { "allows" } else { "denies" };
                format!("{} {}: {verb} {addrs} on ports {ports} ({dir})", acl.id, e.text())
            }
            None => format!("{} implicit deny (rule *): denies {addrs} on ports {ports} ({dir})", acl.id),
        };
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

impl Finding for AclFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        let (id, hop, dir) = match self.direction {
            Direction::Inbound => (CloudCheck::NaclInbound, CloudHop::NetworkAclIn, "inbound"),
            Direction::Outbound => (CloudCheck::NaclOutbound, CloudHop::NetworkAclOut, "outbound"),
        };
        let ex = Explained::default();
        let unknown = |ex: Explained, c: Check, detail: &str| {
            ex.check(c).hop(hop, Component::Unknown, CheckStatus::Unknown, detail)
        };
        let (acl, decisions) = match (&self.outcome, self.direction) {
            (AclOutcome::Evaluated { acl, decisions }, _) => (*acl, decisions),
            (AclOutcome::Unknown(m), Direction::Inbound) => {
                return unknown(ex, unknown_check(id, "the network ACL", *m), "network ACLs unknown");
            }
            (AclOutcome::NoAcl, Direction::Inbound) => {
                let summary = format!("No network ACL for {} nor a default one for {}", self.subnet, self.vpc);
                return unknown(ex, check(id, CheckStatus::Unknown, summary), "no network ACL found");
            }
            (AclOutcome::Unknown(m), Direction::Outbound) => {
                return unknown(ex, unknown_check(id, "the network ACL for replies", *m), "network ACL unknown");
            }
            (AclOutcome::NoAcl, Direction::Outbound) => {
                return unknown(ex, unknown_check(id, "the network ACL for replies", None), "network ACL unknown");
            }
        };
        let evidence = evidence(acl, decisions, dir, flow);
        let denied: Vec<&Decision<'_>> = decisions.iter().filter(|d| d.denies()).collect();
        let component = Component::one(&acl.id);
        let (from, subnet) = (flow.from_text(), self.subnet);
        if denied.is_empty() {
            let (summary, detail) = match self.direction {
                Direction::Inbound => {
                    let summary = format!("{} admits {} from {from}", acl.id, flow.text());
                    let detail = format!("{summary} (subnet {subnet})");
                    (summary, detail)
                }
                Direction::Outbound => {
                    let ports = flow.query.client_ports.text();
                    let summary = format!("{} lets replies out to {from} on ports {ports}", acl.id);
                    (summary.clone(), summary)
                }
            };
            return ex.check(check(id, CheckStatus::Pass, summary).with_evidence(evidence)).hop(
                hop,
                component,
                CheckStatus::Pass,
                detail,
            );
        }
        let (code, msg, detail, fix) = match self.direction {
            Direction::Inbound => inbound_denied(flow, acl, subnet, &denied),
            Direction::Outbound => outbound_denied(flow, acl, &denied),
        };
        ex.check(check(id, CheckStatus::Fail, msg.clone()).with_evidence(evidence.clone()))
            .hop(hop, component, CheckStatus::Fail, detail)
            .cause(confirmed(code, &acl.id, msg, evidence, fix))
    }
}

/// A cause in words: its code, message, the hop's detail and the fixes.
type Denial = (CauseCode, String, String, Vec<Fix>);

/// The lowest rule that denies: a new allow goes in below it.
fn first_deny(denied: &[&Decision<'_>]) -> u32 {
    denied.iter().map(|d| d.number()).min().unwrap_or(IMPLICIT_DENY)
}

fn inbound_denied(flow: &Flow<'_>, acl: &NetworkAcl, subnet: &str, denied: &[&Decision<'_>]) -> Denial {
    let all = denied.iter().fold(AddrSet::empty(flow.family()), |a, d| a.union(&d.addrs));
    let msg = format!("The network ACL {} of {subnet} denies {} from {}", acl.id, flow.text(), flow.set_text(&all));
    let number = free_rule_number(acl, false, first_deny(denied));
    let mut fix = vec![entry_fix(flow, &acl.id, Direction::Inbound, number, (flow.port(), flow.port()))];
    // The listed default rule (32767) cannot be deleted: only an explicit deny is offered.
    if let Some(rule) = denied.iter().filter_map(|d| d.rule).find(|e| e.number < IMPLICIT_DENY) {
        fix.push(delete_entry_fix(&acl.id, rule.number));
    }
    (CauseCode::NaclInboundDeny, msg.clone(), format!("{msg} (subnet {subnet})"), fix)
}

fn outbound_denied(flow: &Flow<'_>, acl: &NetworkAcl, denied: &[&Decision<'_>]) -> Denial {
    let client = &flow.query.client_ports;
    let mut denied_ports: Vec<PortRange> = denied.iter().map(|d| d.ports.clone()).collect();
    denied_ports.sort_by_key(|p| p.from);
    denied_ports.dedup();
    let denied_text = merge_ports(&denied_ports).iter().map(PortRange::text).collect::<Vec<_>>().join(", ");
    let msg = format!(
        "The network ACL {} drops replies to client ports {denied_text} (of {}): stateless ACLs need an outbound rule for them",
        acl.id,
        client.text()
    );
    let number = free_rule_number(acl, true, first_deny(denied));
    let fix = vec![entry_fix(flow, &acl.id, Direction::Outbound, number, (client.from, client.to))];
    (CauseCode::NaclOutboundDeny, msg.clone(), msg, fix)
}

// ---- remedies (aws CLI) ----

/// `aws ec2 create-network-acl-entry` admitting the clients (`--cidr-block` or
/// `--ipv6-cidr-block`) on `ports`, inbound or outbound.
fn entry_fix(flow: &Flow<'_>, acl: &str, direction: Direction, number: u32, ports: (u16, u16)) -> Fix {
    let v6 = flow.family() == Family::V6;
    Fix::run(
        ShellCommand::new("aws ec2 create-network-acl-entry --network-acl-id")
            .arg(acl)
            .lit(if direction == Direction::Outbound { "--egress --rule-number" } else { "--ingress --rule-number" })
            .arg(number)
            .lit("--protocol")
            .arg(flow.proto_number())
            .lit("--port-range")
            .word(Word::lit("From=").val(ports.0).then(",To=").val(ports.1))
            .lit(if v6 { "--ipv6-cidr-block" } else { "--cidr-block" })
            .arg(flow.client_prefix())
            .lit("--rule-action allow"),
    )
}

fn delete_entry_fix(acl: &str, rule: u32) -> Fix {
    Fix::text("or remove the deny: ").then_run(
        ShellCommand::new("aws ec2 delete-network-acl-entry --network-acl-id")
            .arg(acl)
            .lit("--ingress --rule-number")
            .arg(rule),
    )
}
