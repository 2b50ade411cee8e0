//! Text for a person: the verdict first, then each cause with its evidence and fix, then (with
//! `--verbose`) every check. Colour and wrapping only when the caller says the output is a
//! terminal; fix commands are never wrapped, so they stay copyable.

use crate::{Options, flow_phrase};
use portdoctor_model::net::Family;
use portdoctor_model::{CheckStatus, Diagnosis, Status};
use std::io;

struct Style {
    color: bool,
    width: Option<usize>,
}

impl Style {
    fn paint(&self, s: &str, code: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }

    fn mark(&self, s: CheckStatus) -> String {
        let m = crate::status_mark(s);
        match s {
            CheckStatus::Pass => self.paint(m, "32"),
            CheckStatus::Fail => self.paint(m, "1;31"),
            CheckStatus::Warn => self.paint(m, "33"),
            CheckStatus::Unknown | CheckStatus::Skipped => self.paint(m, "2"),
        }
    }

    /// `first` then the text, wrapped at word boundaries with `indent` on later lines.
    fn wrap(&self, first: &str, indent: usize, text: &str) -> String {
        let Some(width) = self.width.filter(|w| *w > indent + 20) else {
            return format!("{first}{text}");
        };
        let mut out = String::from(first);
        let mut col = first.chars().count();
        let pad = " ".repeat(indent);
        for (i, word) in text.split(' ').enumerate() {
            let len = word.chars().count();
            if i > 0 {
                if col + 1 + len > width && col > indent {
                    out.push('\n');
                    out.push_str(&pad);
                    col = indent;
                } else {
                    out.push(' ');
                    col += 1;
                }
            }
            out.push_str(word);
            col += len;
        }
        out
    }
}

/// Short hop names for the one-line path (`internet ✓ igw ✓ rtb ✓ acl-in ✗ sg ✓ …`).
fn short(hop: &str) -> &str {
    match hop {
        "internet-gateway" => "igw",
        "route-table" => "rtb",
        "network-acl-in" => "acl-in",
        "network-acl-out" => "acl-out",
        "security-group" => "sg",
        "network-interface" => "eni",
        "host-firewall" => "firewall",
        other => other,
    }
}

pub fn write(w: &mut dyn io::Write, d: &Diagnosis, opts: Options) -> io::Result<()> {
    let d = &crate::visible(d)?;
    let st = Style { color: opts.color, width: opts.width };
    let word = d.status.as_str().to_uppercase();
    let word = match d.status {
        Status::Blocked => st.paint(&word, "1;31"),
        Status::Reachable => st.paint(&word, "1;32"),
        Status::Inconclusive => st.paint(&word, "1;33"),
    };
    writeln!(w, "{word}: {}", flow_phrase(d))?;
    writeln!(w, "{}", st.wrap("  ", 2, &d.summary))?;
    // Behind a load balancer each target's host hops start with the target they are on.
    let line = |hops: &[&portdoctor_model::Hop]| {
        let mut on: Option<&str> = None;
        let mut words = Vec::new();
        for h in hops {
            let at = match h.target.as_deref() {
                Some(t) if on != Some(t) => format!("{t}: "),
                _ => String::new(),
            };
            on = h.target.as_deref();
            words.push(format!("{at}{} {}", short(&h.hop), st.mark(h.status)));
        }
        words.join("  ")
    };
    let families: Vec<Family> =
        [Family::V4, Family::V6].into_iter().filter(|f| d.path.iter().any(|h| h.family == Some(*f))).collect();
    if families.is_empty() && !d.path.is_empty() {
        writeln!(w, "\nPath: {}", line(&d.path.iter().collect::<Vec<_>>()))?;
    }
    // A dual-stack target: one line per family's path (hops of no family go with IPv4's).
    for (i, f) in families.iter().enumerate() {
        let hops: Vec<_> = d.path.iter().filter(|h| h.family.unwrap_or(Family::V4) == *f).collect();
        writeln!(w, "{}Path ({}): {}", if i == 0 { "\n" } else { "" }, f.name(), line(&hops))?;
    }
    for (i, c) in d.causes.iter().enumerate() {
        let role = if c.blocking { "blocks" } else { "explains" };
        let code = st.paint(c.code.as_str(), "1");
        writeln!(w, "\n{}. {code} [{}, {}, {role}] {}", i + 1, c.layer().as_str(), c.confidence.as_str(), c.component)?;
        writeln!(w, "{}", st.wrap("   ", 3, &c.message))?;
        if !c.evidence.is_empty() {
            writeln!(w, "   Evidence:")?;
            for e in &c.evidence {
                writeln!(w, "{}", st.wrap("     - ", 7, e))?;
            }
        }
        if !c.fix.is_empty() {
            writeln!(w, "   Fix:")?;
            for f in &c.fix {
                writeln!(w, "     → {}", st.paint(&f.to_string(), "36"))?;
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
            let detail = t.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            writeln!(
                w,
                "{}",
                st.wrap("  ", 4, &format!("{} {}{comp}{actor}{detail} ({})", t.time, t.event, t.source))
            )?;
        }
    }
    if opts.verbose {
        writeln!(w, "\nChecks:")?;
        for c in &d.checks {
            writeln!(
                w,
                "{}",
                st.wrap(&format!("  {} [{:<7}] {:<26} ", st.mark(c.status), c.status.as_str(), c.id), 4, &c.summary)
            )?;
            for e in &c.evidence {
                writeln!(w, "{}", st.wrap("      - ", 8, e))?;
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
            writeln!(w, "{}", st.wrap(&format!("  {} {}: ", st.mark(c.status), c.id), 6, &c.summary))?;
            for e in &c.evidence {
                writeln!(w, "{}", st.wrap("      - ", 8, e))?;
            }
        }
    }
    if !d.notes.is_empty() {
        writeln!(w, "\nNotes:")?;
        for n in &d.notes {
            writeln!(w, "{}", st.wrap("  - ", 4, n))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Options, fixtures};

    fn render(opts: Options, d: &portdoctor_model::Diagnosis) -> String {
        let mut out = Vec::new();
        super::write(&mut out, d, opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn blocked_text() {
        insta::assert_snapshot!(render(Options::default(), &fixtures::blocked()));
    }

    #[test]
    fn blocked_text_verbose() {
        insta::assert_snapshot!(render(Options { verbose: true, ..Options::default() }, &fixtures::blocked()));
    }

    #[test]
    fn reachable_text() {
        insta::assert_snapshot!(render(Options::default(), &fixtures::reachable()));
    }

    #[test]
    fn blocked_text_for_a_narrow_colour_terminal() {
        insta::assert_snapshot!(render(Options { verbose: false, color: true, width: Some(60) }, &fixtures::blocked()));
    }

    #[test]
    fn wrapping_keeps_every_word_and_commands_whole() {
        let d = fixtures::blocked();
        let narrow = render(Options { width: Some(40), ..Options::default() }, &d);
        let fix = &d.causes[0].fix[0];
        assert!(narrow.contains(&fix.to_string()), "fix commands are never wrapped");
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&narrow), words(&render(Options::default(), &d)));
        // Prose (indented lines) is wrapped; headings and commands are kept whole.
        let prose = narrow.lines().filter(|l| l.starts_with(' ') && !l.contains('→'));
        assert!(prose.clone().count() > 5);
        assert!(prose.into_iter().all(|l| l.chars().count() <= 40 || !l.trim().contains(' ')), "{narrow}");
    }
}
