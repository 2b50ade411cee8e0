//! Diagnosis → text, JSON, Markdown, each written to any `io::Write` so tests render into memory.
//!
//! Layer: render. Invariants: the JSON shape is the versioned contract (`json::v1`), built from
//! its own output types rather than by serialising internal ones, so internal refactors cannot
//! change it by accident. Depends only on portdoctor-model.

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use portdoctor_model::{CheckStatus, Diagnosis};
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
