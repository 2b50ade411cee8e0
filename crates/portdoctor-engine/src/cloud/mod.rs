//! `portdoctor cloud`: the path from the internet to an instance through a cloud provider's
//! network — edge (which interface the public address lands on) → gateway → edge policy →
//! the replies' route → stateless filter in → stateful filter → interface and instance →
//! stateless filter for the replies. Every blocker is reported, not only the first, and every
//! verdict about "the internet" is a set computation over every public source address, so a
//! partial allow-list is caught exactly.
//!
//! # Layout
//!
//! - [`path`]: provider-neutral. The step kinds and their order ([`path::INTERNET_PATH`]), the
//!   flow and its exact client address set ([`path::Flow`]), the [`path::Finding`] trait (a
//!   typed finding that explains itself), the [`path::Provider`] trait (an edge and a producer
//!   per step kind), the walk (every step runs, even after a blocker: every blocker is
//!   reported) and the assembly into checks, hops with typed components
//!   ([`portdoctor_model::cloud_path::Component`]) and causes, in packet order.
//! - [`aws`]: the first provider. `aws/index.rs` (lookups), `aws/edge.rs` (address mapping),
//!   one module per step (`gateway`, `route`, `acl`, `sg`, `instance`), each in three parts:
//!   the decision (a typed finding: resources, rules, address sets, no prose), its explanation
//!   (`impl Finding`) and its `aws ec2` remedy; `aws/mod.rs` registers the modules
//!   (`Provider::step`: step kind → module) and builds the platform subject from the typed
//!   components of the hops the walk passed.
//! - this file: the question ([`CloudQuery`]) and [`CloudWalk`]: a walk's parts, owned, and
//!   [`CloudWalk::judge`], which joins them with the platform layer into the [`Diagnosis`]. A live
//!   run walks once: the walk names the platform [`Subject`] to fetch, then judges.
//!
//! A cause code for evidence already collected touches two files: its line in
//! `portdoctor_model::diagnosis` and the step module that finds it (decision, words, fix).
//!
//! # Adding a provider
//!
//! A directory beside `aws/` with its evidence index, an [`path::Arrival`] (where a flow
//! lands), an edge and one module per step it has, each returning a type that implements
//! [`path::Finding`]; `impl Provider for` its index maps the neutral [`path::StepKind`]s to those
//! modules (`None` for a step it lacks, which is then left out of the report). Its entry point
//! is `path::walk(&index, query, INTERNET_PATH)` then `CloudWalk::new(&walked, subject,
//! notes).judge(platform)`, plus one `pub mod` line here. Nothing in `path` or `aws` changes.
//!
//! # Adding the load-balancer path (issue 15)
//!
//! A load balancer is a second path *shape*, not a change to this one. A provider implements
//! [`path::Provider`] once per shape, each with its own `Arrival`: today `AwsIndex` is the
//! internet → instance shape; the balancer is `aws/lb.rs` with a newtype over the index whose
//! edge resolves `--load-balancer NAME|ARN|DNS` (the arrival: the balancer) and whose steps
//! are new [`path::StepKind`]s (load balancer, listener, target group, target) in a second
//! order beside `INTERNET_PATH`; the hops are already in
//! [`portdoctor_model::cloud_path::CloudHop`]. The target step judges each LB → target leg by
//! calling the existing decisions (`sg`, `acl`, `instance`) with a [`path::Flow`] whose sources
//! are the balancer's subnets (or, with client IP preservation, the clients) and wraps their
//! findings; nothing in those modules' walk changes. Registration: the `mod lb;` line, a
//! `CloudTarget::LoadBalancer` arm in [`walk_cloud`], and the check ids in
//! [`portdoctor_model::cloud_path::CloudCheck`].
//!
//! # Both families, and the name the user typed (issue 15)
//!
//! [`walk_per_family`] is shape-neutral: a query that pins no family ([`CloudQuery::pinned_family`])
//! about a target whose shape says it has several ([`path::Provider::families`]) is walked once
//! per family and merged by [`crate::family`] (docs/families.md). The balancer's shape answers
//! `families` from its `IpAddressType` and calls `walk_per_family` from its `walk_cloud` arm.
//! A name ([`CloudQuery::name`]) is judged first by `aws/name.rs` (stale DNS, which target and
//! families it stands for); [`configured_addresses`] is the one answer to "which addresses should
//! this target have", with the balancer's arm to add, and `aws::name::name_target` the hook
//! where a balancer's DNS name becomes its target.

pub mod aws;
pub mod path;

pub use aws::AwsIndex;
pub use aws::name::configured_addresses;

use crate::family::{self, Merged};
use crate::platform::{ChangeWindow, Subject, judge_platform};
use path::{Arrival, PathHop, Provider, StepKind, Walked, assemble};
use portdoctor_model::cloud::{AwsEvidence, PortRange};
use portdoctor_model::elb::BehindBalancer;
use portdoctor_model::net::{Family, Proto, Source};
use portdoctor_model::platform::PlatformEvidence;
use portdoctor_model::{Cause, Check, Diagnosis, Hop, Query};
use std::net::IpAddr;

#[cfg(test)]
use portdoctor_model::CheckStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudTarget {
    PublicIp(IpAddr),
    Instance(String),
    /// A load balancer by name, ARN or DNS name (`--load-balancer`; `diagnose` through its name).
    LoadBalancer(String),
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
    /// The address family asked about (`--family 4|6`); `None` lets the target decide: a
    /// dual-stack target is judged in each family it has ([`walk_per_family`]).
    pub family: Option<Family>,
    /// The name the user typed and what it resolved to (`diagnose NAME:PORT`), compared with
    /// the addresses the configuration gives the target (stale DNS).
    pub name: Option<ResolvedName>,
}

/// The name the user typed and the addresses it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedName {
    pub name: String,
    /// In the resolver's order, each once.
    pub addresses: Vec<IpAddr>,
    /// Where the addresses came from, for the evidence: "the system resolver",
    /// "--resolve", "dns.json".
    pub source: String,
}

impl CloudQuery {
    /// The one family this query is about when it names one: `--family`, a public address of
    /// one family, or a `--from` prefix. `None`: every family the target has.
    pub fn pinned_family(&self) -> Option<Family> {
        self.family.or(match (&self.target, &self.from) {
            (CloudTarget::PublicIp(ip), _) => Some(Family::of(ip)),
            (_, Source::Prefix(c)) => Some(c.family()),
            _ => None,
        })
    }
}

pub fn diagnose_cloud(ev: &AwsEvidence, q: &CloudQuery) -> Diagnosis {
    let idx = AwsIndex::new(ev);
    diagnose_indexed(&idx, q)
}

/// The walk on a prebuilt index (for many queries against one account).
pub fn diagnose_indexed(idx: &AwsIndex<'_>, q: &CloudQuery) -> Diagnosis {
    walk_cloud(idx, q).judge(&idx.ev.platform)
}

/// The network walk of one query on AWS, finished but not yet judged with the platform layer.
/// A name the user typed is judged first: it may say which target the walk is about (the
/// instance holding the addresses it resolves to) and which families its clients use.
pub fn walk_cloud(idx: &AwsIndex<'_>, q: &CloudQuery) -> CloudWalk {
    let named = q.name.as_ref().map(|n| aws::name::judge(idx, q, n));
    let mut q = named.as_ref().map_or_else(|| q.clone(), |n| n.query.clone());
    // A bare address that is a load balancer's node (`cloud --public-ip`, `diagnose ADDR`)
    // stands for the balancer, as a name resolving to it does: the walk follows it to its
    // targets instead of stopping at an interface no instance holds.
    let mut node_of = None;
    if let CloudTarget::PublicIp(ip) = q.target
        && let Some(lb) = idx.load_balancer_holding(&[ip])
    {
        node_of = Some(format!("{ip} is a node of load balancer {}: the walk goes through the balancer", lb.name()));
        q.target = CloudTarget::LoadBalancer(lb.name().to_string());
    }
    let mut walk = match &q.target {
        CloudTarget::LoadBalancer(asked) => aws::lb::walk(idx, &q, asked),
        _ => {
            let subject =
                |q: &CloudQuery, at: Option<&aws::Resolved<'_>>, passed: &[PathHop]| idx.subject(&q.target, at, passed);
            walk_per_family(idx, &q, path::INTERNET_PATH, subject, idx.ev.notes.clone())
        }
    };
    if let Some(n) = named {
        walk.name = Some((n.checks, n.causes));
    }
    walk.notes.extend(node_of);
    walk
}

/// The generic per-family driver, for any path shape: a query that pins no family (see
/// [`CloudQuery::pinned_family`]) about a target the provider says has addresses in several
/// families ([`Provider::families`]) is walked once per family and the walks merged
/// ([`crate::family`]); otherwise it is walked once, as it always was. `subject` names the
/// platform layer's subject of one walk.
pub fn walk_per_family<'a, P: Provider<'a>>(
    p: &P,
    q: &CloudQuery,
    order: &[StepKind],
    subject: impl Fn(&CloudQuery, Option<&P::Arrival>, &[PathHop]) -> Subject,
    notes: Vec<String>,
) -> CloudWalk {
    let families = if q.pinned_family().is_some() { vec![] } else { p.families(q) };
    if families.len() < 2 {
        let w = path::walk(p, q, order);
        return CloudWalk::new(&w, |passed| subject(q, w.arrival.as_ref(), passed), notes);
    }
    let legs = families
        .into_iter()
        .map(|f| {
            let qf = CloudQuery { family: Some(f), ..q.clone() };
            let w = path::walk(p, &qf, order);
            (f, CloudWalk::new(&w, |passed| subject(&qf, w.arrival.as_ref(), passed), vec![]))
        })
        .collect();
    CloudWalk::per_family(q, legs, notes)
}

/// One walk's report parts, owned.
#[derive(Debug, Clone)]
struct Leg {
    query: CloudQuery,
    parts: path::Assembled,
    /// The public address and instance the query resolved to, for the report's query.
    target: Option<String>,
    instance: Option<String>,
    /// Where the flow arrives (the interface's private address).
    arrival: Option<IpAddr>,
    /// Behind a load balancer: every target (the first at `arrival`) and its health.
    behind: Vec<BehindBalancer>,
    reachable: String,
}

/// A network walk, finished but not yet judged with the platform layer, and owning what it
/// found (no borrow of the provider's index): it names the platform layer's [`Subject`], so a
/// live run collects the platform evidence for exactly the resources the packet passed, and
/// then [`CloudWalk::judge`] completes the diagnosis — one walk (one per family for a
/// dual-stack target).
#[derive(Debug, Clone)]
pub struct CloudWalk {
    query: CloudQuery,
    /// One walk, or one per family (each with its family).
    legs: Vec<(Option<Family>, Leg)>,
    subject: Subject,
    /// The name the user typed, judged: its checks and causes (family-neutral).
    name: Option<(Vec<Check>, Vec<Cause>)>,
    /// The evidence's notes; a caller adds those of platform evidence collected apart.
    pub notes: Vec<String>,
}

impl CloudWalk {
    /// Provider-neutral: the report's parts assembled from a walk, and the platform layer's
    /// subject from the resources the walk passed (`subject`); `notes` are the evidence's own.
    pub fn new<A: Arrival>(
        w: &Walked<'_, '_, A>,
        subject: impl FnOnce(&[path::PathHop]) -> Subject,
        notes: Vec<String>,
    ) -> CloudWalk {
        let q = w.flow.query;
        let parts = assemble(w);
        let arrival = w.arrival.as_ref();
        let target = match (&q.target, arrival) {
            (CloudTarget::PublicIp(ip), _) => Some(ip.to_string()),
            (_, Some(r)) => r.name().map(str::to_string).or_else(|| r.public().map(|p| p.to_string())),
            (CloudTarget::LoadBalancer(name), None) => Some(name.clone()),
            _ => None,
        };
        let instance = match (&q.target, arrival) {
            (CloudTarget::Instance(i), _) => Some(i.clone()),
            (_, Some(r)) => r.instance().map(str::to_string),
            _ => None,
        };
        let reachable = match arrival {
            Some(r) => format!(
                "{} to {} ({}, {}) is admitted from {} by every cloud layer",
                w.flow.text(),
                target.as_deref().unwrap_or("?"),
                r.instance().unwrap_or("-"),
                r.private().map_or_else(|| "-".to_string(), |p| p.to_string()),
                w.flow.from_text()
            ),
            None => String::new(),
        };
        let subject = subject(&parts.path);
        let leg = Leg {
            query: q.clone(),
            parts,
            target,
            instance,
            arrival: arrival.and_then(Arrival::private),
            behind: arrival.map(Arrival::behind).unwrap_or_default(),
            reachable,
        };
        CloudWalk { query: q.clone(), legs: vec![(None, leg)], subject, name: None, notes }
    }

    /// Walks of one query, one per family, as one: the platform layer is asked about what
    /// any of them passed.
    fn per_family(q: &CloudQuery, walks: Vec<(Family, CloudWalk)>, notes: Vec<String>) -> CloudWalk {
        let mut subject = Subject::default();
        let mut legs = Vec::with_capacity(walks.len());
        for (f, w) in walks {
            subject.absorb(w.subject);
            legs.extend(w.legs.into_iter().map(|(_, leg)| (Some(f), leg)));
        }
        CloudWalk { query: q.clone(), legs, subject, name: None, notes }
    }

    /// What the platform layer should be asked about (live collection fetches the platform
    /// evidence for exactly these resources).
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The diagnosis: this walk with the platform layer's judgement of `platform`, joined in
    /// packet order; a dual-stack walk's families merged ([`crate::family`]); the name the
    /// user typed first, where the client starts.
    pub fn judge(self, platform: &PlatformEvidence) -> Diagnosis {
        let CloudWalk { query, legs, subject, name, notes } = self;
        let mut judged: Vec<(Option<Family>, Diagnosis)> =
            legs.into_iter().map(|(f, leg)| (f, leg.judge(platform, &subject))).collect();
        let (name_checks, name_causes) = name.unwrap_or_default();
        let first = match judged.as_slice() {
            [(None, _)] if name_checks.is_empty() && name_causes.is_empty() => judged.pop().map(|(_, d)| d),
            _ => None,
        };
        let mut d = match first {
            // One walk, no name: the report as it always was.
            Some(d) => d,
            None => {
                let head = judged.first().map(|(_, d)| d.query.clone());
                let query = head.unwrap_or_else(|| Query {
                    command: "cloud".into(),
                    target: None,
                    port: query.port,
                    protocol: query.proto,
                    from: query.from,
                    instance: None,
                });
                let reachable = judged
                    .iter()
                    .map(|(f, d)| f.map_or_else(|| d.summary.clone(), |f| family::prefixed(f, &d.summary)))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut m = match judged.as_slice() {
                    [(None, _)] => judged.pop().map(|(_, d)| single(d)).unwrap_or_default(),
                    _ => family::merge(judged.into_iter().filter_map(|(f, d)| Some((f?, d))).collect()),
                };
                // The name comes first: it is where the client starts.
                m.causes.splice(0..0, name_causes);
                m.checks.splice(0..0, name_checks);
                m.into_diagnosis(query, reachable)
            }
        };
        let mut all = notes;
        all.append(&mut d.notes);
        d.notes = all;
        d
    }
}

/// One judgement's parts, as a merge would give them.
fn single(d: Diagnosis) -> Merged {
    Merged {
        causes: d.causes,
        checks: d.checks,
        path: d.path,
        timeline: d.timeline,
        notes: d.notes,
        arrivals: d.arrival.into_iter().collect(),
        behind: d.behind,
    }
}

impl Leg {
    /// This walk with the platform layer's judgement of `platform` about `subject`, joined in
    /// packet order.
    fn judge(self, platform: &PlatformEvidence, subject: &Subject) -> Diagnosis {
        let q = &self.query;
        let platform = judge_platform(platform, subject, &q.changes);
        let mut walked = self.parts.causes;
        platform.tie_changes(&mut walked, q.port, q.proto);
        // Packet order: the platform (the provider's own block) comes before the gateway.
        let mut causes = platform.causes;
        causes.append(&mut walked);
        let mut checks = self.parts.checks;
        checks.extend(platform.checks);
        let mut path: Vec<Hop> = self.parts.path.into_iter().map(Hop::from).collect();
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
        d.behind = self.behind;
        d.notes = platform.notes;
        d
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod family_tests;
