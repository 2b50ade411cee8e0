//! Diagnosis → text, JSON, Markdown, each written to any `io::Write` so tests render into memory;
//! and the wire commands' own reports (`wire`: probe and capture).
//!
//! Layer: render. Invariants: the JSON shape is the versioned contract (`json::v1`), built from
//! its own output types rather than by serialising internal ones, so internal refactors cannot
//! change it by accident. Evidence comes from machines that may be hostile: text and Markdown
//! show it through [`visible`] (control characters escaped, once, for every field), HTML escapes
//! it, JSON escapes it in the string syntax. Depends only on portdoctor-model.

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;
pub mod wire;

use portdoctor_model::fix::escape_unsafe;
use portdoctor_model::{CheckStatus, Diagnosis};
use std::borrow::Cow;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Text: list every check, not only the causes.
    pub verbose: bool,
    /// Text: ANSI colour (decided by the caller: terminal, NO_COLOR, --color).
    pub color: bool,
    /// Text: wrap prose to this many columns (a terminal's width); `None` never wraps.
    pub width: Option<usize>,
}

pub fn render(w: &mut dyn io::Write, d: &Diagnosis, format: Format, opts: Options) -> io::Result<()> {
    match format {
        Format::Text => text::write(w, d, opts),
        Format::Json => json::write(w, d),
        Format::Markdown => markdown::write(w, d),
        Format::Html => html::write(w, d),
    }
}

/// The diagnosis with every string escaped by [`escape_unsafe`]: ESC sequences, newlines, C1
/// controls and bidi overrides from the evidence cannot repaint the terminal, forge a line
/// (`VERDICT: reachable`) or a Markdown heading. Done through the serde form so that every string
/// field, including ones added later, passes through it; fixes come back as their rendered text.
pub(crate) fn visible(d: &Diagnosis) -> io::Result<Diagnosis> {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(e) = escape_unsafe(s) {
                    *s = e;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(d).map_err(io::Error::other)?;
    walk(&mut v);
    serde_json::from_value(v).map_err(io::Error::other)
}

/// The query as a short phrase: `tcp/8080 to 10.0.1.10 from internet`.
pub(crate) fn flow_phrase(d: &Diagnosis) -> String {
    let q = &d.query;
    let target = q.target.as_deref().map(|t| format!(" to {t}")).unwrap_or_default();
    let instance = q.instance.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
    format!("{}/{}{target}{instance} from {}", q.protocol, q.port, q.from)
}

pub(crate) fn status_mark(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "✓",
        CheckStatus::Fail => "✗",
        CheckStatus::Warn => "!",
        CheckStatus::Unknown => "?",
        CheckStatus::Skipped => "–",
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod hostile_tests;
