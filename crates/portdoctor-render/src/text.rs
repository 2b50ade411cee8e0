//! Text for a person: the verdict first, then each cause with its evidence and fix, then (with
//! `--verbose`) every check.

use crate::{Options, flow_phrase, status_mark};
use portdoctor_model::{CheckStatus, Diagnosis};
use std::io;

pub fn write(w: &mut dyn io::Write, d: &Diagnosis, opts: Options) -> io::Result<()> {
    writeln!(w, "{}: {}", d.status.as_str().to_uppercase(), flow_phrase(d))?;
    writeln!(w, "  {}", d.summary)?;
    if !d.path.is_empty() {
        let hops: Vec<String> = d.path.iter().map(|h| format!("{} {}", h.hop, status_mark(h.status))).collect();
        writeln!(w, "\nPath: {}", hops.join(" → "))?;
    }
    for (i, c) in d.causes.iter().enumerate() {
        let role = if c.blocking { "blocks" } else { "explains" };
        writeln!(
            w,
            "\n{}. {} [{}, {}, {role}] {}",
            i + 1,
            c.code,
            c.layer().as_str(),
            c.confidence.as_str(),
            c.component
        )?;
        writeln!(w, "   {}", c.message)?;
        if !c.evidence.is_empty() {
            writeln!(w, "   Evidence:")?;
            for e in &c.evidence {
                writeln!(w, "     - {e}")?;
            }
        }
        if !c.fix.is_empty() {
            writeln!(w, "   Fix:")?;
            for f in &c.fix {
                writeln!(w, "     → {f}")?;
            }
        }
        if let Some(id) = &c.introduced_by {
            writeln!(w, "   Introduced by: {id}")?;
        }
    }
    if !d.timeline.is_empty() {
        writeln!(w, "\nWhat changed (newest first):")?;
        for t in &d.timeline {
            let actor = t.actor.as_deref().map(|a| format!(" by {a}")).unwrap_or_default();
            let comp = t.component.as_deref().map(|c| format!(" on {c}")).unwrap_or_default();
            writeln!(w, "  {} {}{comp}{actor} ({})", t.time, t.event, t.source)?;
        }
    }
    if opts.verbose {
        writeln!(w, "\nChecks:")?;
        for c in &d.checks {
            writeln!(w, "  [{:<7}] {:<22} {}", c.status.as_str(), c.id, c.summary)?;
            for e in &c.evidence {
                writeln!(w, "              - {e}")?;
            }
        }
    } else {
        let count = |s: CheckStatus| d.checks.iter().filter(|c| c.status == s).count();
        let mut parts = vec![format!("{} passed", count(CheckStatus::Pass))];
        for (s, label) in [
            (CheckStatus::Fail, "failed"),
            (CheckStatus::Warn, "warned"),
            (CheckStatus::Unknown, "unknown"),
            (CheckStatus::Skipped, "skipped"),
        ] {
            if count(s) > 0 {
                parts.push(format!("{} {label}", count(s)));
            }
        }
        writeln!(w, "\nChecks: {} ({}); --verbose lists them", d.checks.len(), parts.join(", "))?;
        for c in d.checks.iter().filter(|c| matches!(c.status, CheckStatus::Unknown | CheckStatus::Warn)) {
            writeln!(w, "  {} {}: {}", status_mark(c.status), c.id, c.summary)?;
            for e in &c.evidence {
                writeln!(w, "      - {e}")?;
            }
        }
    }
    if !d.notes.is_empty() {
        writeln!(w, "\nNotes:")?;
        for n in &d.notes {
            writeln!(w, "  - {n}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Options, fixtures};

    fn render(verbose: bool, d: &portdoctor_model::Diagnosis) -> String {
        let mut out = Vec::new();
        super::write(&mut out, d, Options { verbose }).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn blocked_text() {
        insta::assert_snapshot!(render(false, &fixtures::blocked()));
    }

    #[test]
    fn blocked_text_verbose() {
        insta::assert_snapshot!(render(true, &fixtures::blocked()));
    }

    #[test]
    fn reachable_text() {
        insta::assert_snapshot!(render(false, &fixtures::reachable()));
    }
}
