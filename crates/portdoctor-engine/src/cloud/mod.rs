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

pub mod aws;
pub mod path;

pub use aws::AwsIndex;

use crate::platform::{ChangeWindow, Subject, judge_platform};
use path::{Arrival, Walked, assemble};
use portdoctor_model::cloud::{AwsEvidence, PortRange};
use portdoctor_model::net::{Proto, Source};
use portdoctor_model::platform::PlatformEvidence;
use portdoctor_model::{Diagnosis, Hop, Query};
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
pub fn walk_cloud(idx: &AwsIndex<'_>, q: &CloudQuery) -> CloudWalk {
    if let CloudTarget::LoadBalancer(name) = &q.target {
        return aws::lb::walk(idx, q, name);
    }
    let w = path::walk(idx, q, path::INTERNET_PATH);
    let subject = |passed: &[path::PathHop]| idx.subject(&q.target, w.arrival.as_ref(), passed);
    CloudWalk::new(&w, subject, idx.ev.notes.clone())
}

/// A network walk, finished but not yet judged with the platform layer, and owning what it
/// found (no borrow of the provider's index): it names the platform layer's [`Subject`], so a
/// live run collects the platform evidence for exactly the resources the packet passed, and
/// then [`CloudWalk::judge`] completes the diagnosis — one walk.
#[derive(Debug, Clone)]
pub struct CloudWalk {
    query: CloudQuery,
    parts: path::Assembled,
    /// The public address and instance the query resolved to, for the report's query.
    target: Option<String>,
    instance: Option<String>,
    /// Where the flow arrives (the interface's private address).
    arrival: Option<IpAddr>,
    /// What the machine at `arrival` sees, when it differs from the question.
    arrival_flow: Option<(u16, Source)>,
    reachable: String,
    subject: Subject,
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
        CloudWalk {
            query: q.clone(),
            parts,
            target,
            instance,
            arrival: arrival.and_then(Arrival::private),
            arrival_flow: arrival.and_then(Arrival::seen_by_host),
            reachable,
            subject,
            notes,
        }
    }

    /// What the platform layer should be asked about (live collection fetches the platform
    /// evidence for exactly these resources).
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The diagnosis: this walk with the platform layer's judgement of `platform`, joined in
    /// packet order.
    pub fn judge(self, platform: &PlatformEvidence) -> Diagnosis {
        let q = &self.query;
        let platform = judge_platform(platform, &self.subject, &q.changes);
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
        d.arrival_flow = self.arrival_flow;
        d.notes = self.notes;
        d.notes.extend(platform.notes);
        d
    }
}

#[cfg(test)]
mod tests;
