//! Markdown for tickets and chat: verdict, causes, evidence, fixes, path, checks, timeline.

use crate::{flow_phrase, status_mark};
use portdoctor_model::Diagnosis;
use std::io;

/// Table cells cannot hold `|` or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn write(w: &mut dyn io::Write, d: &Diagnosis) -> io::Result<()> {
    writeln!(w, "## portdoctor: **{}** — {}\n", d.status.as_str(), flow_phrase(d))?;
    writeln!(w, "> {}\n", d.summary)?;
    if !d.causes.is_empty() {
        writeln!(w, "### Causes\n")?;
        for (i, c) in d.causes.iter().enumerate() {
            let role = if c.blocking { "blocking" } else { "not blocking" };
            writeln!(
                w,
                "{}. **{}** ({}, {}, {role}) `{}`: {}",
                i + 1,
                c.code,
                c.layer().as_str(),
                c.confidence.as_str(),
                c.component,
                c.message
            )?;
            for e in &c.evidence {
                writeln!(w, "   - evidence: {e}")?;
            }
            for f in &c.fix {
                writeln!(w, "   - fix: `{f}`")?;
            }
            if let Some(id) = &c.introduced_by {
                writeln!(w, "   - introduced by: `{id}`")?;
            }
        }
        writeln!(w)?;
    }
    if !d.path.is_empty() {
        writeln!(w, "### Path\n\n| hop | component | status | detail |\n|---|---|---|---|")?;
        for h in &d.path {
            writeln!(
                w,
                "| {} | `{}` | {} {} | {} |",
                h.hop,
                cell(&h.component),
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
        writeln!(w, "| `{}` | {} {} | {} |", c.id, status_mark(c.status), c.status.as_str(), cell(&c.summary))?;
    }
    if !d.notes.is_empty() {
        writeln!(w, "\n### Notes\n")?;
        for n in &d.notes {
            writeln!(w, "- {n}")?;
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
