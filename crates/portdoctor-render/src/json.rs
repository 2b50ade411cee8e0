//! The JSON report, schema_version 1 (CONTRACT.md §3). Optional fields are omitted, never
//! `null`, except `query.target`.

use portdoctor_model::Diagnosis;
use std::io;

pub const SCHEMA_VERSION: u32 = 1;

/// The output types of schema 1. Change them only with a schema bump.
pub mod v1 {
    use serde::Serialize;

    #[derive(Debug, Serialize)]
    pub struct Report {
        pub schema_version: u32,
        pub tool: Tool,
        pub query: Query,
        pub verdict: Verdict,
        pub checks: Vec<Check>,
        pub path: Vec<Hop>,
        pub timeline: Vec<TimelineEntry>,
        pub notes: Vec<String>,
    }

    #[derive(Debug, Serialize)]
    pub struct Tool {
        pub name: &'static str,
        pub version: &'static str,
    }

    #[derive(Debug, Serialize)]
    pub struct Query {
        pub command: String,
        pub target: Option<String>,
        pub port: u16,
        pub protocol: &'static str,
        pub from: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub instance: Option<String>,
    }

    #[derive(Debug, Serialize)]
    pub struct Verdict {
        pub status: &'static str,
        pub summary: String,
        pub causes: Vec<Cause>,
    }

    #[derive(Debug, Serialize)]
    pub struct Cause {
        pub code: &'static str,
        pub layer: &'static str,
        pub component: String,
        pub blocking: bool,
        pub confidence: &'static str,
        pub message: String,
        pub evidence: Vec<String>,
        pub fix: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub introduced_by: Option<String>,
    }

    #[derive(Debug, Serialize)]
    pub struct Check {
        pub id: String,
        pub layer: &'static str,
        pub status: &'static str,
        pub summary: String,
        pub evidence: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub duration_ms: Option<u64>,
    }

    #[derive(Debug, Serialize)]
    pub struct Hop {
        pub hop: String,
        pub component: String,
        pub status: &'static str,
        pub detail: String,
    }

    #[derive(Debug, Serialize)]
    pub struct TimelineEntry {
        pub time: String,
        pub source: String,
        pub event: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub actor: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub component: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub event_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub detail: Option<String>,
    }
}

pub fn to_v1(d: &Diagnosis) -> v1::Report {
    v1::Report {
        schema_version: SCHEMA_VERSION,
        tool: v1::Tool { name: "portdoctor", version: env!("CARGO_PKG_VERSION") },
        query: v1::Query {
            command: d.query.command.clone(),
            target: d.query.target.clone(),
            port: d.query.port,
            protocol: d.query.protocol.as_str(),
            from: d.query.from.to_string(),
            instance: d.query.instance.clone(),
        },
        verdict: v1::Verdict {
            status: d.status.as_str(),
            summary: d.summary.clone(),
            causes: d
                .causes
                .iter()
                .map(|c| v1::Cause {
                    code: c.code.as_str(),
                    layer: c.layer().as_str(),
                    component: c.component.clone(),
                    blocking: c.blocking,
                    confidence: c.confidence.as_str(),
                    message: c.message.clone(),
                    evidence: c.evidence.clone(),
                    fix: c.fix.clone(),
                    introduced_by: c.introduced_by.clone(),
                })
                .collect(),
        },
        checks: d
            .checks
            .iter()
            .map(|c| v1::Check {
                id: c.id.clone(),
                layer: c.layer.as_str(),
                status: c.status.as_str(),
                summary: c.summary.clone(),
                evidence: c.evidence.clone(),
                duration_ms: c.duration_ms,
            })
            .collect(),
        path: d
            .path
            .iter()
            .map(|h| v1::Hop {
                hop: h.hop.clone(),
                component: h.component.clone(),
                status: h.status.as_str(),
                detail: h.detail.clone(),
            })
            .collect(),
        timeline: d
            .timeline
            .iter()
            .map(|t| v1::TimelineEntry {
                time: t.time.clone(),
                source: t.source.clone(),
                event: t.event.clone(),
                actor: t.actor.clone(),
                component: t.component.clone(),
                event_id: t.event_id.clone(),
                detail: t.detail.clone(),
            })
            .collect(),
        notes: d.notes.clone(),
    }
}

pub fn write(w: &mut dyn io::Write, d: &Diagnosis) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &to_v1(d))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use crate::fixtures;

    #[test]
    fn blocked_report() {
        let mut out = Vec::new();
        super::write(&mut out, &fixtures::blocked()).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn reachable_report() {
        let mut out = Vec::new();
        super::write(&mut out, &fixtures::reachable()).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
