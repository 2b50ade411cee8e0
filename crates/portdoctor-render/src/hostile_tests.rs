//! Seeded mutation testing of the renderers (issue 17, class 2): reports whose every string
//! came from a hostile machine, in every format and option. Text and Markdown hold no raw
//! control character and no line the evidence started; JSON gives the values back unchanged;
//! HTML copies only safely rendered commands.

use crate::{Format, Options, render};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::{Proto, Source};
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Layer, Query, TimelineEntry,
};
use portdoctor_testbed::hostile::{hostile_string, unsafe_chars};
use portdoctor_testbed::rng::Rng;

fn report(rng: &mut Rng) -> Diagnosis {
    let mut s = || hostile_string(rng, 8);
    let query = Query {
        command: s(),
        target: Some(s()),
        port: 8080,
        protocol: Proto::Tcp,
        from: Source::Internet,
        instance: Some(s()),
    };
    let cause = |s: &mut dyn FnMut() -> String, code| {
        Cause::blocking(code, s(), Confidence::Likely, s()).with_evidence([s(), s()]).with_fix([
            Fix::text(s()),
            Fix::run(ShellCommand::new("iptables -I").arg(s()).arg(1)),
            Fix::text(s())
                .then_run(ShellCommand::new("aws ec2 start-instances --instance-ids").arg(s()))
                .then_text(s()),
        ])
    };
    let causes = vec![cause(&mut s, CauseCode::HostFirewallDrop), cause(&mut s, CauseCode::AbuseBlock)];
    let checks = (0..3)
        .map(|_| Check::new(s(), Layer::Host, CheckKind::Path, CheckStatus::Warn, s()).with_evidence([s(), s()]))
        .collect();
    let path = vec![Hop::new("nic", s(), CheckStatus::Fail, s()), Hop::new("listener", s(), CheckStatus::Pass, s())];
    let mut d = Diagnosis::new(query, causes, checks, path, s());
    d.causes[0].introduced_by = Some(s());
    d.timeline.push(TimelineEntry {
        time: s(),
        source: s(),
        event: s(),
        actor: Some(s()),
        component: Some(s()),
        event_id: Some(s()),
        detail: Some(s()),
    });
    d.notes = vec![s(), s()];
    d
}

fn rendered(d: &Diagnosis, format: Format, opts: Options) -> String {
    let mut out = Vec::new();
    render(&mut out, d, format, opts).unwrap();
    String::from_utf8(out).unwrap()
}

/// Our own colour codes (`ESC [ 1;31 m`), which the text renderer adds after escaping.
fn without_our_colours(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\u{1b}[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find(|c: char| !(c.is_ascii_digit() || c == ';')).unwrap_or(after.len());
        assert_eq!(after[end..].chars().next(), Some('m'), "an escape sequence that is not ours: {:?}", &rest[i..]);
        rest = &after[end + 1..];
    }
    out + rest
}

/// Every line at column 0 is one the text renderer starts itself.
fn text_lines_are_ours(out: &str) {
    let ours = ["BLOCKED: ", "REACHABLE: ", "INCONCLUSIVE: ", "Path: ", "What changed", "Checks", "Notes:"];
    for (i, l) in out.lines().enumerate() {
        let numbered = l.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let ok = l.is_empty() || l.starts_with(' ') || numbered || ours.iter().any(|o| l.starts_with(o));
        assert!(ok, "line {i} was started by the evidence: {l:?}\n{out}");
        assert!(i > 0 || ours[..3].iter().any(|o| l.starts_with(o)), "the verdict is the first line: {l:?}");
    }
}

/// Every line is one the Markdown renderer starts; tables keep their columns; a fix's code span
/// runs to the end of its line.
fn markdown_lines_are_ours(out: &str) {
    let ours = ["## portdoctor: ", "> ", "### ", "   - evidence: ", "   - fix: ", "   - introduced by: ", "|", "- "];
    let mut header_cells = None;
    for l in out.lines() {
        let numbered =
            l.split_once(". **").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        assert!(
            l.is_empty() || numbered || ours.iter().any(|o| l.starts_with(o)),
            "a line the evidence started: {l:?}"
        );
        if l.starts_with('|') {
            let cells = l.replace("\\|", "").matches('|').count();
            assert_eq!(cells, *header_cells.get_or_insert(cells), "a cell broke out: {l}");
        } else {
            header_cells = None;
        }
        if let Some(span) = l.strip_prefix("   - fix: ") {
            let fence = span.len() - span.trim_start_matches('`').len();
            let inner = &span[fence..span.len() - fence];
            assert!(span.ends_with(&"`".repeat(fence)), "{l}");
            let runs = inner.split(|c| c != '`').map(str::len);
            assert!(runs.clone().all(|r| r != fence), "the code span ends early: {l}");
        }
    }
}

#[test]
fn no_hostile_report_reaches_the_terminal_or_the_markdown_raw() {
    let mut rng = Rng::new(0x0bad_c0de);
    for _ in 0..300 {
        let d = report(&mut rng);
        for (verbose, color, width) in [(false, false, None), (true, true, Some(60)), (true, false, Some(30))] {
            let out = rendered(&d, Format::Text, Options { verbose, color, width });
            let out = if color { without_our_colours(&out) } else { out };
            assert_eq!(unsafe_chars(&out), Vec::<char>::new(), "{out}");
            text_lines_are_ours(&out);
        }
        let md = rendered(&d, Format::Markdown, Options::default());
        assert_eq!(unsafe_chars(&md), Vec::<char>::new(), "{md}");
        markdown_lines_are_ours(&md);

        let json = rendered(&d, Format::Json, Options::default());
        assert_eq!(unsafe_chars(&json), Vec::<char>::new(), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["verdict"]["causes"][0]["evidence"][1], d.causes[0].evidence[1].as_str(), "values kept");
        assert_eq!(v["notes"][0], d.notes[0].as_str());

        let html = rendered(&d, Format::Html, Options::default());
        assert_eq!(html.matches("<script").count(), 1, "only our script");
        let copies: Vec<&str> = html.split("data-copy=\"").skip(1).map(|s| &s[..s.find('"').unwrap()]).collect();
        let commands: Vec<String> = d.causes.iter().flat_map(|c| &c.fix).filter_map(Fix::command).collect();
        assert_eq!(copies.len(), commands.len(), "a button for each safe command, none for the rest");
        for c in copies {
            assert!(!c.contains(['<', '>', '\n']) && unsafe_chars(c).is_empty(), "{c:?}");
        }
    }
}
