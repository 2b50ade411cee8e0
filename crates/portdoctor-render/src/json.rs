//! The JSON report, schema_version 1 (CONTRACT.md §3). Optional fields are omitted, never
//! `null`, except `query.target`.

use portdoctor_model::Diagnosis;
use portdoctor_model::fix::is_unsafe_char;
use portdoctor_model::net::Family;
use serde_json::ser::{Formatter, PrettyFormatter};
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
        #[serde(skip_serializing_if = "Option::is_none")]
        pub family: Option<&'static str>,
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
        #[serde(skip_serializing_if = "Option::is_none")]
        pub family: Option<&'static str>,
    }

    #[derive(Debug, Serialize)]
    pub struct Hop {
        pub hop: String,
        pub component: String,
        pub status: &'static str,
        pub detail: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub family: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub target: Option<String>,
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
                    fix: c.fix.iter().map(ToString::to_string).collect(),
                    introduced_by: c.introduced_by.clone(),
                    family: c.family.map(Family::word),
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
                family: c.family.map(Family::word),
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
                family: h.family.map(Family::word),
                target: h.target.clone(),
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
    let mut ser = serde_json::Serializer::with_formatter(&mut *w, Escaping(PrettyFormatter::new()));
    serde::Serialize::serialize(&to_v1(d), &mut ser)?;
    writeln!(w)
}

/// Pretty JSON whose strings also escape DEL, C1 controls and bidi overrides as `\uXXXX`:
/// serde_json escapes only C0, and writes the others raw, where a terminal showing the report
/// (`cat report.json`) would act on them. The values a JSON reader gets are the same.
struct Escaping(PrettyFormatter<'static>);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        })*
    };
}

impl Formatter for Escaping {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices().filter(|(_, c)| is_unsafe_char(*c)) {
            w.write_all(&fragment.as_bytes()[start..i])?;
            // Every such character is in the Basic Multilingual Plane: one escape each.
            write!(w, "\\u{:04x}", c as u32)?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
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
    fn every_control_character_is_escaped_and_the_values_are_kept() {
        let mut d = fixtures::blocked();
        d.summary = "a\u{1b}[2Jb\nc\u{7f}\u{9b}31m\u{202e}d\u{2066}".into();
        let mut out = Vec::new();
        super::write(&mut out, &d).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| portdoctor_model::fix::is_unsafe_char(c) && c != '\n'), "{text}");
        assert!(text.contains(r#""a\u001b[2Jb\nc\u007f\u009b31m\u202ed\u2066""#), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["verdict"]["summary"], d.summary.as_str());
    }

    #[test]
    fn reachable_report() {
        let mut out = Vec::new();
        super::write(&mut out, &fixtures::reachable()).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
