//! Markdown for tickets and chat: verdict, causes, evidence, fixes, path, checks, timeline.

use crate::{flow_phrase, status_mark};
use portdoctor_model::Diagnosis;
use std::io;

/// Inline text from the evidence: its line breaks are gone already (`crate::visible`), so it
/// cannot start a heading, list or fence; `<` is escaped so it cannot open raw HTML (an
/// `<!--` would hide the rest of the report where Markdown is rendered).
fn md(s: &str) -> String {
    s.replace('<', "\\<")
}

/// Table cells cannot hold `|` or line breaks.
fn cell(s: &str) -> String {
    md(s).replace('|', "\\|").replace('\n', " ")
}

/// A code span holding `s` whatever backticks it holds: fenced by a longer run of backticks,
/// padded when `s` starts or ends with one (CommonMark 6.1).
fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

pub fn write(w: &mut dyn io::Write, d: &Diagnosis) -> io::Result<()> {
    let d = &crate::visible(d)?;
    writeln!(w, "## portdoctor: **{}** — {}\n", d.status.as_str(), md(&flow_phrase(d)))?;
    writeln!(w, "> {}\n", md(&d.summary))?;
    if !d.causes.is_empty() {
        writeln!(w, "### Causes\n")?;
        for (i, c) in d.causes.iter().enumerate() {
            let role = if c.blocking { "blocking" } else { "not blocking" };
            writeln!(
                w,
                "{}. **{}** ({}, {}, {role}) {}: {}",
                i + 1,
                c.code,
                c.layer().as_str(),
                c.confidence.as_str(),
                code(&c.component),
                md(&c.message)
            )?;
            for e in &c.evidence {
                writeln!(w, "   - evidence: {}", md(e))?;
            }
            for f in &c.fix {
                writeln!(w, "   - fix: {}", code(&f.to_string()))?;
            }
            if let Some(id) = &c.introduced_by {
                writeln!(w, "   - introduced by: {}", code(id))?;
            }
        }
        writeln!(w)?;
    }
    if !d.path.is_empty() {
        writeln!(w, "### Path\n\n| hop | component | status | detail |\n|---|---|---|---|")?;
        for h in &d.path {
            writeln!(
                w,
                "| {} | {} | {} {} | {} |",
                cell(&h.hop),
                code(&h.component).replace('|', "\\|"),
                status_mark(h.status),
                h.status.as_str(),
                cell(&h.detail)
            )?;
        }
        writeln!(w)?;
    }
    if !d.timeline.is_empty() {
        writeln!(
            w,
            "### What changed\n\n| time | event | what | component | actor | source |\n|---|---|---|---|---|---|"
        )?;
        for t in &d.timeline {
            writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&t.time),
                cell(&t.event),
                cell(t.detail.as_deref().unwrap_or("")),
                cell(t.component.as_deref().unwrap_or("")),
                cell(t.actor.as_deref().unwrap_or("")),
                cell(&t.source)
            )?;
        }
        writeln!(w)?;
    }
    writeln!(w, "### Checks\n\n| check | status | summary |\n|---|---|---|")?;
    for c in &d.checks {
        writeln!(
            w,
            "| {} | {} {} | {} |",
            code(&c.id).replace('|', "\\|"),
            status_mark(c.status),
            c.status.as_str(),
            cell(&c.summary)
        )?;
    }
    if !d.notes.is_empty() {
        writeln!(w, "\n### Notes\n")?;
        for n in &d.notes {
            writeln!(w, "- {}", md(n))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::fixtures;

    #[test]
    fn blocked_markdown() {
        let mut out = Vec::new();
        super::write(&mut out, &fixtures::blocked()).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
