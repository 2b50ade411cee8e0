//! The route the replies take: the subnet's route table (its explicit association, else the
//! VPC's main table), longest prefix first, must send every client back to an attached internet
//! gateway (AWS VPC User Guide, "Route tables": most specific route wins; a route whose target
//! was deleted is a blackhole).

use super::Resolved;
use super::edge::confirmed;
use super::index::{AwsIndex, list};
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::cloud::{AwsRoute, RouteTable, RouteTarget};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::Cidr;
use portdoctor_model::{CauseCode, Check, CheckStatus, Missing};
use std::net::IpAddr;

pub struct RouteFinding<'a> {
    subnet: &'a str,
    subnet_cidr: Option<Cidr>,
    private: IpAddr,
    outcome: Routes<'a>,
}

/// One route taking a part of the replies: the CIDR it matched them by (a prefix list's entry,
/// or the route's own destination) and the route.
pub struct RouteUse<'a> {
    cidr: Cidr,
    route: &'a AwsRoute,
}

/// A route that takes replies somewhere other than an attached internet gateway.
pub struct BadRoute<'a> {
    used: RouteUse<'a>,
    clients: AddrSet,
    code: CauseCode,
}

pub enum Routes<'a> {
    Unknown(Option<&'a Missing>),
    NoTable {
        vpc: &'a str,
    },
    /// A route names a prefix list that is not in the evidence, and some clients are not
    /// covered by a more specific route: which route they take cannot be told.
    PrefixListUnresolved {
        table: &'a RouteTable,
        routes: Vec<&'a AwsRoute>,
    },
    /// Every reply routes to an internet gateway, but the gateways could not be listed.
    GatewayUnverified {
        table: &'a RouteTable,
        unverified: Vec<RouteUse<'a>>,
        missing: Option<&'a Missing>,
    },
    Decided(Decided<'a>),
}

/// Every client's reply route is known.
pub struct Decided<'a> {
    table: &'a RouteTable,
    /// Explicitly associated with the subnet, or the VPC's main table.
    explicit: bool,
    good: Vec<RouteUse<'a>>,
    unverified: Vec<RouteUse<'a>>,
    bad: Vec<BadRoute<'a>>,
    /// Clients no route covers.
    uncovered: AddrSet,
    /// The VPC's attached internet gateway, for the fix.
    igw: Option<&'a str>,
}

pub fn route_table<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, r: &Resolved<'a>) -> RouteFinding<'a> {
    let subnet = r.eni.subnet_id.as_str();
    let subnet_cidr = idx.subnet_by_id.get(subnet).and_then(|s| s.cidrs.first().copied());
    RouteFinding { subnet, subnet_cidr, private: r.private, outcome: routes(idx, flow, subnet, &r.eni.vpc_id) }
}

fn routes<'a>(idx: &AwsIndex<'a>, flow: &Flow<'_>, subnet: &str, vpc: &'a str) -> Routes<'a> {
    if idx.ev.route_tables.known().is_none() {
        return Routes::Unknown(idx.ev.route_tables.missing());
    }
    let (table, explicit) = match idx.rtb_by_subnet.get(subnet) {
        Some(t) => (*t, true),
        None => match idx.main_rtb_by_vpc.get(vpc) {
            Some(t) => (*t, false),
            None => return Routes::NoTable { vpc },
        },
    };
    // Without the gateway listing, a route to an igw-… cannot be called a blackhole.
    let igws_known = idx.ev.internet_gateways.known().is_some();
    let igw_attached: Vec<&str> = list(&idx.ev.internet_gateways)
        .iter()
        .filter(|g| g.attached_vpcs.iter().any(|v| v == vpc))
        .map(|g| g.id.as_str())
        .collect();
    // Longest prefix first: each route takes the part of the clients it is most specific for.
    let mut routes: Vec<(Cidr, &AwsRoute)> = Vec::new();
    let mut unresolved = Vec::new();
    for route in &table.routes {
        match idx.cidrs_of(&route.dest) {
            Some(cs) => routes.extend(cs.into_iter().map(|c| (c, route))),
            None => unresolved.push(route),
        }
    }
    routes.sort_by_key(|(c, _)| std::cmp::Reverse(c.prefix()));
    let mut remaining = flow.sources.clone();
    let (mut good, mut bad, mut unverified) = (Vec::new(), Vec::new(), Vec::new());
    for (cidr, route) in routes {
        let hit = remaining.intersect(&AddrSet::from_cidr(&cidr));
        if hit.is_empty() {
            continue;
        }
        remaining = remaining.minus(&hit);
        let used = RouteUse { cidr, route };
        match &route.target {
            _ if route.blackhole => bad.push(BadRoute { used, clients: hit, code: CauseCode::RouteBlackhole }),
            RouteTarget::InternetGateway(g) if igw_attached.contains(&g.as_str()) => good.push(used),
            RouteTarget::InternetGateway(_) if !igws_known => unverified.push(used),
            RouteTarget::InternetGateway(_) => {
                bad.push(BadRoute { used, clients: hit, code: CauseCode::RouteBlackhole })
            }
            // Replies through an egress-only gateway: it passes only connections the VPC opened.
            RouteTarget::EgressOnlyGateway(_) => {
                bad.push(BadRoute { used, clients: hit, code: CauseCode::IgwEgressOnly })
            }
            _ => bad.push(BadRoute { used, clients: hit, code: CauseCode::RouteToIgwMissing }),
        }
    }
    if !unresolved.is_empty() && !remaining.is_empty() {
        return Routes::PrefixListUnresolved { table, routes: unresolved };
    }
    if !unverified.is_empty() && bad.is_empty() && remaining.is_empty() {
        return Routes::GatewayUnverified { table, unverified, missing: idx.ev.internet_gateways.missing() };
    }
    let igw = igw_attached.first().copied();
    Routes::Decided(Decided { table, explicit, good, unverified, bad, uncovered: remaining, igw })
}

// ---- explanation ----

impl RouteUse<'_> {
    fn text(&self, table: &RouteTable) -> String {
        let blackhole = if self.route.blackhole { " (blackhole)" } else { "" };
        format!("{} -> {}{blackhole} ({})", self.cidr, self.route.target.id(), table.id)
    }
}

fn unverified_text(u: &RouteUse<'_>, table: &RouteTable) -> String {
    format!("replies: {}, a gateway that could not be checked", u.text(table))
}

impl Finding for RouteFinding<'_> {
    fn explain(&self, flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::RouteTable;
        let subnet = self.subnet;
        let cidr = self.subnet_cidr.map(|c| format!(" ({c})")).unwrap_or_default();
        let ex = Explained::default().hop(
            CloudHop::Subnet,
            Component::one(subnet),
            CheckStatus::Pass,
            format!("{} in {subnet}{cidr}", self.private),
        );
        // Every outcome but a decided one is an unknown check and an unknown route-table hop.
        let unknown = |ex: Explained, check: Check, table: Component, detail: &str| {
            ex.check(check).hop(CloudHop::RouteTable, table, CheckStatus::Unknown, detail)
        };
        match &self.outcome {
            Routes::Unknown(m) => unknown(
                ex,
                unknown_check(id, "the route back to the client", *m),
                Component::Unknown,
                "route tables unknown",
            ),
            Routes::NoTable { vpc } => unknown(
                ex,
                check(id, CheckStatus::Unknown, format!("No route table for {subnet} nor a main table for {vpc}")),
                Component::Unknown,
                "no route table found",
            ),
            Routes::PrefixListUnresolved { table, routes } => {
                let ev = routes.iter().map(|r| {
                    format!("route to {} -> {}: prefix list not in the evidence (PrefixLists)", r.dest, r.target.id())
                });
                unknown(
                    ex,
                    check(id, CheckStatus::Unknown, "A route's prefix list could not be resolved").with_evidence(ev),
                    Component::one(&table.id),
                    "prefix list unresolved",
                )
            }
            Routes::GatewayUnverified { table, unverified, missing } => {
                let ev = unverified.iter().map(|u| unverified_text(u, table)).chain(missing.map(Missing::describe));
                let summary = "Could not check that the route's internet gateway is attached";
                unknown(
                    ex,
                    check(id, CheckStatus::Unknown, summary).with_evidence(ev),
                    Component::one(&table.id),
                    "gateway unknown",
                )
            }
            Routes::Decided(d) => d.explain(ex, flow, subnet),
        }
    }
}

impl Decided<'_> {
    fn explain(&self, ex: Explained, flow: &Flow<'_>, subnet: &str) -> Explained {
        let (id, table) = (CloudCheck::RouteTable, self.table);
        let how = if self.explicit {
            "explicitly associated with"
        } else {
            "the VPC's main table (no explicit association), used by"
        };
        let mut evidence = vec![format!("{} is {how} {subnet} (RouteTables)", table.id)];
        evidence.extend(self.good.iter().map(|g| format!("replies: {}", g.text(table))));
        evidence.extend(self.unverified.iter().map(|u| unverified_text(u, table)));
        let component = Component::one(&table.id);
        if self.bad.is_empty() && self.uncovered.is_empty() {
            let summary = format!("Replies to {} route to the internet gateway via {}", flow.from_text(), table.id);
            return ex.check(check(id, CheckStatus::Pass, summary.clone()).with_evidence(evidence)).hop(
                CloudHop::RouteTable,
                component,
                CheckStatus::Pass,
                summary,
            );
        }
        // Each cause carries the evidence up to its own route, the check all of it.
        let mut ex = ex;
        for b in &self.bad {
            let text = b.used.text(table);
            let clients = flow.set_text(&b.clients);
            let msg = match b.code {
                CauseCode::RouteBlackhole => {
                    format!("Replies to {clients} hit a blackhole route in {} ({text})", table.id)
                }
                CauseCode::IgwEgressOnly => format!(
                    "Replies to {clients} go to the egress-only internet gateway {} ({}): it passes only connections opened from the VPC, so nothing from the internet is answered",
                    b.used.route.target.id(),
                    table.id
                ),
                _ => format!(
                    "Replies to {clients} go to {}, not the internet gateway ({})",
                    b.used.route.target.id(),
                    table.id
                ),
            };
            evidence.push(format!("{text}: takes replies to {clients}"));
            let fix = replace_route_fix(&table.id, &b.used.cidr, self.igw);
            ex = ex.cause(confirmed(b.code, &table.id, msg, evidence.clone(), fix));
        }
        if !self.uncovered.is_empty() {
            let rest = flow.set_text(&self.uncovered);
            let msg = format!("{} has no route for replies to {rest}: they never reach the internet gateway", table.id);
            evidence.push(format!("no route in {} covers {rest}", table.id));
            let fix = create_route_fix(&table.id, flow.default_route(), self.igw);
            ex = ex.cause(confirmed(CauseCode::RouteToIgwMissing, &table.id, msg, evidence.clone(), fix));
        }
        let summary = ex.causes.last().map(|c| c.message.clone()).unwrap_or_default();
        ex.check(check(id, CheckStatus::Fail, summary.clone()).with_evidence(evidence)).hop(
            CloudHop::RouteTable,
            component,
            CheckStatus::Fail,
            summary,
        )
    }
}

// ---- remedies (aws CLI) ----

fn replace_route_fix(table: &str, dest: &Cidr, igw: Option<&str>) -> Vec<Fix> {
    vec![Fix::run(
        ShellCommand::new("aws ec2 replace-route --route-table-id")
            .arg(table)
            .lit("--destination-cidr-block")
            .arg(dest)
            .lit("--gateway-id")
            .arg_or(igw, "<igw-…>"),
    )]
}

fn create_route_fix(table: &str, dest: &'static str, igw: Option<&str>) -> Vec<Fix> {
    vec![Fix::run(
        ShellCommand::new("aws ec2 create-route --route-table-id")
            .arg(table)
            .lit("--destination-cidr-block")
            .lit(dest)
            .lit("--gateway-id")
            .arg_or(igw, "<igw-…>"),
    )]
}
