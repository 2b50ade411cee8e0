//! Both address families: a dual-stack target judged once per family (IPv4, IPv6), and the
//! per-family judgements merged into one report. Used by the cloud walk (one walk per family
//! the target has, `crate::cloud::walk_cloud`) and by `diagnose` for the host layer (one
//! judgement per family's arrival address), so every layer says the same thing the same way.
//!
//! How a merged report reads (docs/families.md):
//! - a cause, check or hop that holds for one family only carries it: `family` in the JSON,
//!   and its words start with the family ("IPv6: …"); a check of the second family has its id
//!   suffixed (`cloud.security_group.ipv6`), so ids stay unique and IPv4's stay what a
//!   single-family report calls them;
//! - a cause or check every family found word for word (an instance that is stopped, the
//!   platform's block) is listed once, without a family: it holds for all of them;
//! - the path lists each family's hops in turn, in packet order;
//! - the status is the rule of CONTRACT.md §2 over everything: one family blocked makes the
//!   report `blocked` even when the other is reachable (half the clients fail), and the summary
//!   says which family works (`Diagnosis::new`).
//!
//! A single-family judgement is never passed through here, so its report is unchanged.

use portdoctor_model::elb::BehindBalancer;
use portdoctor_model::net::Family;
use portdoctor_model::{Cause, Check, Diagnosis, Hop, TimelineEntry};
use std::net::IpAddr;

/// The parts of per-family judgements, merged; the caller makes the [`Diagnosis`] from them
/// (with whatever else it adds), so the status is derived once, over everything.
#[derive(Debug, Default)]
pub struct Merged {
    pub causes: Vec<Cause>,
    pub checks: Vec<Check>,
    pub path: Vec<Hop>,
    pub timeline: Vec<TimelineEntry>,
    pub notes: Vec<String>,
    /// Each family's arrival address, in the order judged.
    pub arrivals: Vec<IpAddr>,
    /// Behind a load balancer: every target (the first at the first arrival) and its health.
    pub behind: Vec<BehindBalancer>,
}

/// The words of something that holds for one family: "IPv6: …".
pub fn prefixed(f: Family, text: &str) -> String {
    format!("{}: {text}", f.name())
}

/// A check id for one family: IPv4 keeps the single-family id, others get the family's word.
pub fn check_id(f: Family, id: &str) -> String {
    match f {
        Family::V4 => id.to_string(),
        Family::V6 => format!("{id}.{}", f.word()),
    }
}

fn tag_cause(mut c: Cause, f: Family) -> Cause {
    c.message = prefixed(f, &c.message);
    c.family = Some(f);
    c
}

fn tag_check(mut c: Check, f: Family) -> Check {
    c.id = check_id(f, &c.id);
    c.summary = prefixed(f, &c.summary);
    c.family = Some(f);
    c
}

fn tag_hop(mut h: Hop, f: Family) -> Hop {
    h.detail = prefixed(f, &h.detail);
    h.family = Some(f);
    h
}

/// One kind of item (causes, checks) of every judgement: what every family found word for word
/// is listed once, untagged, where the first found it; the rest tagged with its family.
fn merge_items<T: Clone + PartialEq>(
    legs: &[(Family, Diagnosis)],
    items: impl Fn(&Diagnosis) -> &[T],
    tag: impl Fn(T, Family) -> T,
) -> Vec<T> {
    let everywhere = |x: &T| legs.iter().all(|(_, d)| items(d).contains(x));
    let (mut out, mut shared): (Vec<T>, Vec<&T>) = (Vec::new(), Vec::new());
    for (f, d) in legs {
        for x in items(d) {
            if !everywhere(x) {
                out.push(tag(x.clone(), *f));
            } else if !shared.contains(&x) {
                shared.push(x);
                out.push(x.clone());
            }
        }
    }
    out
}

/// Merges per-family judgements (at least one), in the order given.
pub fn merge(legs: Vec<(Family, Diagnosis)>) -> Merged {
    let mut out = Merged {
        causes: merge_items(&legs, |d| &d.causes, tag_cause),
        checks: merge_items(&legs, |d| &d.checks, tag_check),
        ..Merged::default()
    };
    for (f, d) in &legs {
        out.path.extend(d.path.iter().cloned().map(|h| tag_hop(h, *f)));
        for t in &d.timeline {
            if !out.timeline.contains(t) {
                out.timeline.push(t.clone());
            }
        }
        for n in &d.notes {
            if !out.notes.contains(n) {
                out.notes.push(n.clone());
            }
        }
        // Behind a balancer both families' clients reach the same target.
        out.arrivals.extend(d.arrival.filter(|a| !out.arrivals.contains(a)));
        if out.behind.is_empty() {
            out.behind = d.behind.clone();
        }
    }
    out
}

/// Per-family judgements as one [`Diagnosis`]: the first's query, the merged parts, and for
/// a reachable verdict each family's own words.
pub fn merge_diagnoses(legs: Vec<(Family, Diagnosis)>) -> Option<Diagnosis> {
    let query = legs.first()?.1.query.clone();
    let reachable = legs.iter().map(|(f, d)| prefixed(*f, &d.summary)).collect::<Vec<_>>().join("; ");
    Some(merge(legs).into_diagnosis(query, reachable))
}

impl Merged {
    /// The merged parts as one [`Diagnosis`] about `query` (status and summary derived again;
    /// `reachable` is the summary when nothing blocks). `arrivals` is kept only when there
    /// are several: one arrival is `arrival` alone, as a one-family judgement has it.
    pub fn into_diagnosis(self, query: portdoctor_model::Query, reachable: String) -> Diagnosis {
        let mut d = Diagnosis::new(query, self.causes, self.checks, self.path, reachable);
        d.timeline = self.timeline;
        d.notes = self.notes;
        d.arrival = self.arrivals.first().copied();
        d.behind = self.behind;
        if self.arrivals.len() > 1 {
            d.arrivals = self.arrivals;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portdoctor_model::net::{Proto, Source};
    use portdoctor_model::{CauseCode, CheckKind, CheckStatus, Confidence, Layer, Query, Status};

    fn leg(causes: Vec<Cause>, checks: Vec<Check>) -> Diagnosis {
        let q = Query {
            command: "cloud".into(),
            target: None,
            port: 80,
            protocol: Proto::Tcp,
            from: Source::Internet,
            instance: None,
        };
        let path = vec![Hop::new("security-group", "sg-1", CheckStatus::Pass, "sg")];
        Diagnosis::new(q, causes, checks, path, "ok".into())
    }

    fn check(id: &str, status: CheckStatus, summary: &str) -> Check {
        Check::new(id, Layer::Cloud, CheckKind::Path, status, summary)
    }

    #[test]
    fn one_family_blocked_is_blocked_and_the_summary_names_the_family_that_works() {
        let stopped = Cause::blocking(CauseCode::InstanceNotRunning, "i-1", Confidence::Confirmed, "i-1 is stopped");
        let sg = Cause::blocking(CauseCode::SecurityGroupNoIngress, "sg-1", Confidence::Confirmed, "no ::/0");
        let v4 = leg(vec![], vec![check("cloud.instance", CheckStatus::Pass, "running")]);
        let v6 = leg(
            vec![sg],
            vec![
                check("cloud.instance", CheckStatus::Pass, "running"),
                check("cloud.security_group", CheckStatus::Fail, "no ::/0"),
            ],
        );
        let d = merge_diagnoses(vec![(Family::V4, v4), (Family::V6, v6)]).unwrap();
        assert_eq!(d.status, Status::Blocked);
        assert_eq!(d.summary, "IPv4 reachable, IPv6 blocked: no ::/0");
        assert_eq!(d.causes[0].message, "IPv6: no ::/0");
        assert_eq!(d.causes[0].family, Some(Family::V6));
        let ids: Vec<&str> = d.checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["cloud.instance", "cloud.security_group.ipv6"], "the shared check is listed once");
        assert_eq!(d.path.len(), 2);
        assert_eq!(d.path[1].detail, "IPv6: sg");

        // A cause both families share word for word is listed once, untagged, and decides both.
        let both = |c: &Cause| leg(vec![c.clone()], vec![]);
        let d = merge_diagnoses(vec![(Family::V4, both(&stopped)), (Family::V6, both(&stopped))]).unwrap();
        assert_eq!(d.causes.len(), 1);
        assert_eq!((d.causes[0].family, d.summary.as_str()), (None, "i-1 is stopped"));
    }
}
