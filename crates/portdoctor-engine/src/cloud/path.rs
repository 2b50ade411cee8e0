//! The provider-neutral cloud path: the order of the steps, the flow they judge, the typed
//! findings they return, and the joining of those findings into checks, hops and causes.
//!
//! A provider (see `aws`) answers two questions: where does the asked target land
//! ([`Provider::edge`]: address mapping), and what does each step of the path find there
//! ([`Provider::step`]). This module owns everything else: the walk order ([`INTERNET_PATH`]),
//! running every step even after a blocker (every blocker is reported, CONTRACT.md §3), and
//! assembling the report — text is made only here, from findings, by [`Finding::explain`].

use crate::cloud::CloudQuery;
use portdoctor_model::addrset::{AddrSet, describe_part};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::net::{Family, Proto, Source};
use portdoctor_model::{Cause, Check, CheckKind, CheckStatus, Hop, Layer, Missing};
use std::net::IpAddr;
use std::sync::OnceLock;

/// The steps of a cloud path after the edge, provider-neutral. A provider produces a finding
/// for each step it has; a step it does not have is left out of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// The gateway that carries the flow from the internet into the network.
    Gateway,
    /// An account- or network-wide switch in front of every filter (AWS: VPC Block Public Access).
    EdgePolicy,
    /// The route the replies take back to the gateway.
    Routing,
    /// The stateless filter, inbound (AWS: network ACL).
    StatelessIn,
    /// The stateful filter on the interface (AWS: security groups).
    Stateful,
    /// The interface and the machine behind it.
    Instance,
    /// The stateless filter for the replies.
    StatelessOut,
    /// Through a load balancer (issue 15): the balancer itself (state, scheme).
    LoadBalancer,
    /// The listener on the asked port and where its actions send the flow.
    LbListener,
    /// Each enabled subnet: a route to the internet gateway, its stateless filter both ways.
    LbSubnets,
    /// The balancer's own stateful filter, inbound from the clients.
    LbStateful,
    /// Each target group and each target: health, zone, the balancer → target leg, the machine.
    Targets,
}

/// The path from the internet to an instance, in packet order; the replies' filter last.
pub const INTERNET_PATH: &[StepKind] = &[
    StepKind::Gateway,
    StepKind::EdgePolicy,
    StepKind::Routing,
    StepKind::StatelessIn,
    StepKind::Stateful,
    StepKind::Instance,
    StepKind::StatelessOut,
];

/// The path from the internet through a load balancer to its targets, in packet order.
pub const LOAD_BALANCER_PATH: &[StepKind] =
    &[StepKind::LoadBalancer, StepKind::LbListener, StepKind::LbSubnets, StepKind::LbStateful, StepKind::Targets];

/// The flow being judged: the question and the exact set of client addresses it stands for.
pub struct Flow<'q> {
    pub query: &'q CloudQuery,
    /// Every client address the question covers ("the internet" is every public address).
    pub sources: AddrSet,
}

/// Every public address of a family, computed once.
pub fn internet(family: Family) -> &'static AddrSet {
    static V4: OnceLock<AddrSet> = OnceLock::new();
    static V6: OnceLock<AddrSet> = OnceLock::new();
    match family {
        Family::V4 => V4.get_or_init(|| AddrSet::internet(Family::V4)),
        Family::V6 => V6.get_or_init(|| AddrSet::internet(Family::V6)),
    }
}

impl<'q> Flow<'q> {
    pub fn new(query: &'q CloudQuery) -> Flow<'q> {
        let family = query.pinned_family().unwrap_or(Family::V4);
        let sources = match query.from {
            Source::Internet => internet(family).clone(),
            Source::Prefix(c) => AddrSet::from_cidr(&c),
        };
        Flow { query, sources }
    }

    pub fn family(&self) -> Family {
        self.sources.family()
    }

    pub fn port(&self) -> u16 {
        self.query.port
    }

    pub fn proto(&self) -> Proto {
        self.query.proto
    }

    /// The protocol number filters match on (IANA: tcp 6, udp 17).
    pub fn proto_number(&self) -> u8 {
        self.query.proto.number()
    }

    /// `tcp/80`.
    pub fn text(&self) -> String {
        format!("{}/{}", self.query.proto, self.query.port)
    }

    /// The clients in words: "the internet" or the prefix asked about.
    pub fn from_text(&self) -> String {
        match self.query.from {
            Source::Internet => "the internet".into(),
            Source::Prefix(_) => self.sources.to_string(),
        }
    }

    /// A part of the clients in words, relative to all of them: "the internet", "the internet
    /// except 8.8.8.0/24", or the prefixes themselves.
    pub fn set_text(&self, s: &AddrSet) -> String {
        describe_part(s, &self.sources, matches!(self.query.from, Source::Internet))
    }

    /// The clients as one CIDR for a fix command (`0.0.0.0/0`, `::/0`, or `--from` with its length).
    pub fn client_prefix(&self) -> String {
        match self.query.from {
            Source::Internet if self.family() == Family::V6 => "::/0".to_string(),
            Source::Internet => "0.0.0.0/0".to_string(),
            Source::Prefix(c) => c.to_string(),
        }
    }

    /// "Every public address" for a route or a fix in this family.
    pub fn default_route(&self) -> &'static str {
        if self.family() == Family::V6 { "::/0" } else { "0.0.0.0/0" }
    }
}

/// A hop as a step reports it: typed kind and component, words in `detail`.
#[derive(Debug, Clone)]
pub struct PathHop {
    pub hop: CloudHop,
    pub component: Component,
    pub status: CheckStatus,
    pub detail: String,
}

impl PathHop {
    pub fn new(hop: CloudHop, component: Component, status: CheckStatus, detail: impl Into<String>) -> PathHop {
        PathHop { hop, component, status, detail: detail.into() }
    }
}

/// What one finding says in the report. Built by [`Finding::explain`], joined by [`assemble`].
#[derive(Default)]
pub struct Explained {
    pub checks: Vec<Check>,
    pub hops: Vec<PathHop>,
    pub causes: Vec<Cause>,
    /// A verdict on a hop an earlier step reported (an account-wide block at the gateway):
    /// the first such hop turns to this status and gains the words.
    pub amend: Option<(CloudHop, CheckStatus, String)>,
}

impl Explained {
    pub fn check(mut self, c: Check) -> Explained {
        self.checks.push(c);
        self
    }

    pub fn hop(mut self, hop: CloudHop, component: Component, status: CheckStatus, detail: impl Into<String>) -> Self {
        self.hops.push(PathHop::new(hop, component, status, detail));
        self
    }

    pub fn cause(mut self, c: Cause) -> Explained {
        self.causes.push(c);
        self
    }
}

/// A cloud-layer path check.
pub fn check(id: CloudCheck, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id.as_str(), Layer::Cloud, CheckKind::Path, status, summary)
}

/// A check that could not be made: what was missing and how to get it.
pub fn unknown_check(id: CloudCheck, what: &str, missing: Option<&Missing>) -> Check {
    check(id, CheckStatus::Unknown, format!("Could not check {what}")).with_evidence(missing.map(Missing::describe))
}

/// One step's result: typed (which resource, which rule, what was admitted or denied), with
/// its words made on demand.
pub trait Finding {
    fn explain(&self, flow: &Flow<'_>) -> Explained;
}

pub type Found<'a> = Box<dyn Finding + 'a>;

/// Where the flow lands after the edge: what the report says about the target.
pub trait Arrival {
    /// The address the flow arrives at on the machine (handed to the host layer); `None` when
    /// no machine is known yet (a load balancer without targets).
    fn private(&self) -> Option<IpAddr>;
    /// The public address the edge maps onto it, if any.
    fn public(&self) -> Option<IpAddr>;
    /// The machine behind the interface, if any.
    fn instance(&self) -> Option<&str>;
    /// The name the clients use, when it is not an address (a load balancer's DNS name).
    fn name(&self) -> Option<&str> {
        None
    }
    /// Behind a load balancer: each target the host layer can be judged for (the first is the
    /// one at `private`), the port and clients it sees (not the question's), and its health.
    fn behind(&self) -> Vec<portdoctor_model::elb::BehindBalancer> {
        Vec::new()
    }
}

/// A cloud provider's view of one path shape: the edge and a producer for each step it has.
/// A provider implements it once per shape (the instance path; a load balancer's path), each
/// with its own [`Arrival`].
pub trait Provider<'a> {
    type Arrival: Arrival;

    /// Address mapping: where the target lands, or a finding that says why it does not.
    fn edge(&self, flow: &Flow<'_>) -> (Found<'a>, Option<Self::Arrival>);

    /// What `step` finds for a flow that landed at `at`; `None` when the provider has no such step.
    fn step(&self, step: StepKind, flow: &Flow<'_>, at: &Self::Arrival) -> Option<Found<'a>>;

    /// The families the target of `q` can be addressed in from the internet, for a query that
    /// pins none: with two or more, each is walked apart (`crate::cloud::walk_per_family`).
    /// A shape that does not say is walked once, in the flow's own family.
    fn families(&self, _q: &CloudQuery) -> Vec<Family> {
        Vec::new()
    }
}

/// The findings of one walk, in packet order.
pub struct Walked<'q, 'a, A> {
    pub flow: Flow<'q>,
    pub arrival: Option<A>,
    pub findings: Vec<Found<'a>>,
}

/// Runs the edge and then every step of `order`, each even after a blocker.
pub fn walk<'q, 'a, P: Provider<'a>>(p: &P, q: &'q CloudQuery, order: &[StepKind]) -> Walked<'q, 'a, P::Arrival> {
    let flow = Flow::new(q);
    let (edge, arrival) = p.edge(&flow);
    let mut findings = Vec::with_capacity(1 + order.len());
    findings.push(edge);
    if let Some(at) = &arrival {
        findings.extend(order.iter().filter_map(|s| p.step(*s, &flow, at)));
    }
    Walked { flow, arrival, findings }
}

/// The report's parts from a walk: checks, the path (the clients first), causes in packet order.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub checks: Vec<Check>,
    pub path: Vec<PathHop>,
    pub causes: Vec<Cause>,
}

pub fn assemble<A>(w: &Walked<'_, '_, A>) -> Assembled {
    let q = w.flow.query;
    // Sized for the common case, a step a check and a hop or two: an account-wide question
    // assembles one report per instance.
    let mut out = Assembled {
        checks: Vec::with_capacity(w.findings.len()),
        path: Vec::with_capacity(2 * w.findings.len()),
        causes: vec![],
    };
    out.path.push(PathHop::new(
        CloudHop::Internet,
        Component::Source(q.from.to_string()),
        CheckStatus::Pass,
        format!("{} from {}", w.flow.text(), w.flow.from_text()),
    ));
    for f in &w.findings {
        let e = f.explain(&w.flow);
        out.checks.extend(e.checks);
        out.path.extend(e.hops);
        out.causes.extend(e.causes);
        if let Some((kind, status, words)) = e.amend
            && let Some(h) = out.path.iter_mut().find(|h| h.hop == kind)
        {
            h.status = status;
            h.detail = format!("{}; {words}", h.detail);
        }
    }
    out
}

impl From<PathHop> for Hop {
    fn from(h: PathHop) -> Hop {
        Hop::new(h.hop.as_str(), h.component.into_text(), h.status, h.detail)
    }
}

#[cfg(test)]
mod tests {
    //! The neutral walk with a provider that is not AWS: what the seam promises a provider.

    use super::*;
    use portdoctor_model::cloud::PortRange;
    use portdoctor_model::{CauseCode, Confidence};

    /// A provider whose every step reports one hop, and blocks where told.
    struct Fake {
        lacks: StepKind,
        blocks: &'static [StepKind],
        lands: bool,
    }

    struct At;

    impl Arrival for At {
        fn private(&self) -> Option<IpAddr> {
            Some(IpAddr::from([10, 0, 0, 1]))
        }
        fn public(&self) -> Option<IpAddr> {
            None
        }
        fn instance(&self) -> Option<&str> {
            Some("vm-1")
        }
    }

    struct Step {
        kind: StepKind,
        blocks: bool,
    }

    impl Finding for Step {
        fn explain(&self, flow: &Flow<'_>) -> Explained {
            let status = if self.blocks { CheckStatus::Fail } else { CheckStatus::Pass };
            let id = format!("{:?}", self.kind);
            let ex = Explained::default()
                .check(check(CloudCheck::Instance, status, format!("{id} for {}", flow.text())))
                .hop(CloudHop::Instance, Component::one(format!("r-{id}")), status, id.clone());
            if !self.blocks {
                return ex;
            }
            let mut ex =
                ex.cause(Cause::blocking(CauseCode::InstanceNotRunning, id.clone(), Confidence::Confirmed, id));
            if self.kind == StepKind::EdgePolicy {
                ex.amend = Some((CloudHop::InternetGateway, CheckStatus::Fail, "policy".into()));
            }
            ex
        }
    }

    impl<'a> Provider<'a> for Fake {
        type Arrival = At;

        fn edge(&self, _flow: &Flow<'_>) -> (Found<'a>, Option<At>) {
            let edge = Box::new(EdgeHop(self.lands));
            (edge, self.lands.then_some(At))
        }

        fn step(&self, step: StepKind, _flow: &Flow<'_>, _at: &At) -> Option<Found<'a>> {
            (step != self.lacks)
                .then(|| Box::new(Step { kind: step, blocks: self.blocks.contains(&step) }) as Found<'a>)
        }
    }

    struct EdgeHop(bool);

    impl Finding for EdgeHop {
        fn explain(&self, _flow: &Flow<'_>) -> Explained {
            let status = if self.0 { CheckStatus::Pass } else { CheckStatus::Fail };
            Explained::default().hop(CloudHop::InternetGateway, Component::None, status, "edge")
        }
    }

    fn query() -> CloudQuery {
        CloudQuery {
            port: 443,
            proto: Proto::Tcp,
            from: Source::Internet,
            target: crate::cloud::CloudTarget::Instance("vm-1".into()),
            client_ports: PortRange { from: 1024, to: 65535 },
            changes: Default::default(),
            family: None,
            name: None,
        }
    }

    #[test]
    fn every_step_runs_in_order_after_a_blocker_and_a_missing_step_is_left_out() {
        let q = query();
        let p = Fake { lacks: StepKind::Routing, blocks: &[StepKind::Gateway, StepKind::Stateful], lands: true };
        let parts = assemble(&walk(&p, &q, INTERNET_PATH));
        let hops: Vec<String> = parts.path.iter().map(|h| h.detail.clone()).collect();
        assert_eq!(
            hops,
            [
                "tcp/443 from the internet",
                "edge",
                "Gateway",
                "EdgePolicy",
                "StatelessIn",
                "Stateful",
                "Instance",
                "StatelessOut"
            ]
        );
        let causes: Vec<&str> = parts.causes.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(causes, ["Gateway", "Stateful"]);
        assert_eq!(parts.checks.len(), 6);
        assert_eq!(parts.path[2].component.resources(), ["r-Gateway"]);
    }

    #[test]
    fn nothing_follows_an_edge_that_does_not_land_and_an_amendment_marks_the_first_hop() {
        let q = query();
        let p = Fake { lacks: StepKind::Routing, blocks: &[], lands: false };
        assert_eq!(assemble(&walk(&p, &q, INTERNET_PATH)).path.len(), 2);
        let p = Fake { lacks: StepKind::Routing, blocks: &[StepKind::EdgePolicy], lands: true };
        let parts = assemble(&walk(&p, &q, INTERNET_PATH));
        let edge = &parts.path[1];
        assert_eq!((edge.status, edge.detail.as_str()), (CheckStatus::Fail, "edge; policy"));
        let d = crate::cloud::CloudWalk::new(
            &walk(&p, &q, INTERNET_PATH),
            |_| Default::default(),
            vec!["a note".to_string()],
        )
        .judge(&Default::default());
        assert_eq!(d.query.instance.as_deref(), Some("vm-1"));
        assert_eq!(d.arrival, Some(IpAddr::from([10, 0, 0, 1])));
        assert_eq!(d.notes, ["a note"]);
        assert_eq!(d.path[1].component, "-");
    }
}
