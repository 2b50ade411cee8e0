//! One self-contained HTML file: the path as a diagram (each hop green, red, amber or grey,
//! its evidence on click), the causes with their fixes and a copy button, the timeline, every
//! check. No network fetches: CSS and script are inline. Readable on a phone (the diagram wraps),
//! printable (every detail opens before printing).

use crate::flow_phrase;
use portdoctor_model::{Check, CheckStatus, Diagnosis, Hop};
use std::io;

const STYLE: &str = r#"
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--grey:#6e7781;--bg:#fff;--fg:#1f2328;--muted:#656d76;--card:#f6f8fa;--line:#d0d7de}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:16px}
header.verdict{border-left:8px solid var(--grey);background:var(--card);padding:12px 16px;border-radius:6px}
header.status-blocked{border-color:var(--fail)}header.status-reachable{border-color:var(--pass)}header.status-inconclusive{border-color:var(--warn)}
header h1{margin:0;font-size:1.6em;text-transform:uppercase;letter-spacing:.04em}
.status-blocked h1{color:var(--fail)}.status-reachable h1{color:var(--pass)}.status-inconclusive h1{color:var(--warn)}
.flow{margin:.2em 0;color:var(--muted);font-family:ui-monospace,monospace}.summary{margin:.4em 0 0;font-size:1.1em}
h2{margin-top:1.6em;border-bottom:1px solid var(--line);padding-bottom:.2em}
ol.path{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start}
ol.path li{flex:1 1 150px;max-width:100%;position:relative}
ol.path li:not(:last-child)::after{content:"→";position:absolute;right:-6px;top:10px;color:var(--muted);font-weight:bold}
.hop details{border:2px solid var(--grey);border-radius:6px;padding:6px 8px;background:var(--card);margin-right:8px}
.hop summary{cursor:pointer;list-style:none}.hop summary::-webkit-details-marker{display:none}
.hop .mark{font-weight:bold;margin-right:4px}.hop .name{font-weight:600}.hop .comp{display:block;font:12px ui-monospace,monospace;color:var(--muted);word-break:break-all}
.hop-pass details{border-color:var(--pass)}.hop-pass .mark{color:var(--pass)}
.hop-fail details{border-color:var(--fail);background:#ffebe9}.hop-fail .mark{color:var(--fail)}
.hop-warn details{border-color:var(--warn);background:#fff8c5}.hop-warn .mark{color:var(--warn)}
.hop-unknown details,.hop-skipped details{border-style:dashed}
.hop .detail{font-size:13px;margin:.4em 0}.hop ul{font-size:12px;padding-left:1.2em;margin:.2em 0}
article.cause{border:1px solid var(--line);border-left:6px solid var(--fail);border-radius:6px;padding:8px 14px;margin:10px 0}
article.cause.explains{border-left-color:var(--warn)}
.badge{display:inline-block;font-size:12px;border:1px solid var(--line);border-radius:10px;padding:0 8px;margin-left:6px;color:var(--muted);font-weight:normal}
.fix{display:flex;gap:6px;align-items:flex-start;margin:4px 0}.fix pre{flex:1;margin:0;background:#0d1117;color:#e6edf3;padding:8px;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
button.copy{font:inherit;font-size:13px;padding:4px 10px;border:1px solid var(--line);border-radius:6px;background:#fff;cursor:pointer}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid var(--line);text-align:left;padding:4px 6px;vertical-align:top}
td.st{white-space:nowrap;font-weight:600}.st-pass{color:var(--pass)}.st-fail{color:var(--fail)}.st-warn{color:var(--warn)}.st-unknown,.st-skipped{color:var(--grey)}
td details summary{cursor:pointer}code{font-family:ui-monospace,monospace}
footer{margin-top:2em;color:var(--muted);font-size:12px}
@media (max-width:600px){main{overflow-wrap:anywhere}table{display:block;overflow-x:auto}ol.path{flex-direction:column;align-items:stretch;gap:14px}ol.path li{flex:none}ol.path li:not(:last-child)::after{content:"↓";right:auto;left:50%;top:auto;bottom:-14px}.hop details{margin:0 0 10px}}
@media print{button.copy{display:none}.hop details,article.cause{break-inside:avoid}body{font-size:12px}}
"#;

/// Copy buttons, and every detail opened for printing.
const SCRIPT: &str = r#"
document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',function(){
  var t=b.getAttribute('data-copy');
  var done=function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy'},1500)};
  if(navigator.clipboard){navigator.clipboard.writeText(t).then(done,function(){})}else{
    var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);a.select();document.execCommand('copy');a.remove();done()}
})});
window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true})});
"#;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Checks whose evidence belongs on a hop of the diagram.
fn checks_for<'a>(hop: &Hop, checks: &'a [Check]) -> Vec<&'a Check> {
    let ids = portdoctor_model::host_path::hop_check_ids(&hop.hop);
    checks.iter().filter(|c| ids.contains(&c.id.as_str())).collect()
}

fn mark(s: CheckStatus) -> &'static str {
    crate::status_mark(s)
}

pub fn write(w: &mut dyn io::Write, d: &Diagnosis) -> io::Result<()> {
    let status = d.status.as_str();
    let flow = esc(&flow_phrase(d));
    writeln!(w, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(w, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(
        w,
        "<title>portdoctor: {} — {flow}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>",
        status.to_uppercase()
    )?;
    writeln!(w, "<header class=\"verdict status-{status}\" id=\"verdict\" data-status=\"{status}\">")?;
    writeln!(
        w,
        "<h1>{status}</h1>\n<p class=\"flow\">{flow}</p>\n<p class=\"summary\">{}</p>\n</header>",
        esc(&d.summary)
    )?;

    if !d.path.is_empty() {
        writeln!(w, "<section id=\"path\">\n<h2>Path</h2>\n<ol class=\"path\">")?;
        for h in &d.path {
            let st = h.status.as_str();
            let open = if matches!(h.status, CheckStatus::Fail) { " open" } else { "" };
            writeln!(
                w,
                "<li class=\"hop hop-{st}\" data-hop=\"{}\" data-status=\"{st}\"><details{open}>",
                esc(&h.hop)
            )?;
            writeln!(
                w,
                "<summary><span class=\"mark\">{}</span><span class=\"name\">{}</span><span class=\"comp\">{}</span></summary>",
                mark(h.status),
                esc(&h.hop),
                esc(&h.component)
            )?;
            writeln!(w, "<p class=\"detail\">{}</p>", esc(&h.detail))?;
            for c in checks_for(h, &d.checks) {
                if c.evidence.is_empty() {
                    continue;
                }
                writeln!(w, "<ul title=\"{}\">", esc(&c.id))?;
                for e in &c.evidence {
                    writeln!(w, "<li>{}</li>", esc(e))?;
                }
                writeln!(w, "</ul>")?;
            }
            writeln!(w, "</details></li>")?;
        }
        writeln!(w, "</ol>\n</section>")?;
    }

    if !d.causes.is_empty() {
        writeln!(w, "<section id=\"causes\">\n<h2>Causes</h2>")?;
        for (i, c) in d.causes.iter().enumerate() {
            let role = if c.blocking { "blocks" } else { "explains" };
            writeln!(w, "<article class=\"cause {role}\" data-code=\"{}\">", c.code)?;
            writeln!(
                w,
                "<h3>{}. {}<span class=\"badge\">{}</span><span class=\"badge\">{}</span><span class=\"badge\">{role}</span><span class=\"badge\"><code>{}</code></span></h3>",
                i + 1,
                c.code,
                c.layer().as_str(),
                c.confidence.as_str(),
                esc(&c.component)
            )?;
            writeln!(w, "<p>{}</p>", esc(&c.message))?;
            if !c.evidence.is_empty() {
                writeln!(w, "<h4>Evidence</h4>\n<ul>")?;
                for e in &c.evidence {
                    writeln!(w, "<li>{}</li>", esc(e))?;
                }
                writeln!(w, "</ul>")?;
            }
            if !c.fix.is_empty() {
                writeln!(w, "<h4>Fix</h4>")?;
                for f in &c.fix {
                    // The button copies the command alone, and only a command that rendered
                    // safely (its values quoted); advice in words has nothing to paste.
                    let copy = f
                        .command()
                        .map(|cmd| {
                            format!("<button class=\"copy\" type=\"button\" data-copy=\"{}\">Copy</button>", esc(&cmd))
                        })
                        .unwrap_or_default();
                    writeln!(w, "<div class=\"fix\"><pre><code>{}</code></pre>{copy}</div>", esc(&f.to_string()))?;
                }
            }
            if let Some(id) = &c.introduced_by {
                writeln!(w, "<p>Introduced by <code>{}</code></p>", esc(id))?;
            }
            writeln!(w, "</article>")?;
        }
        writeln!(w, "</section>")?;
    }

    if !d.timeline.is_empty() {
        writeln!(
            w,
            "<section id=\"timeline\">\n<h2>What changed</h2>\n<table>\n<tr><th>time</th><th>event</th><th>what</th><th>component</th><th>actor</th><th>source</th></tr>"
        )?;
        for t in &d.timeline {
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&t.time),
                esc(&t.event),
                esc(t.detail.as_deref().unwrap_or("")),
                esc(t.component.as_deref().unwrap_or("")),
                esc(t.actor.as_deref().unwrap_or("")),
                esc(&t.source)
            )?;
        }
        writeln!(w, "</table>\n</section>")?;
    }

    writeln!(
        w,
        "<section id=\"checks\">\n<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>status</th><th>summary</th></tr>"
    )?;
    for c in &d.checks {
        let st = c.status.as_str();
        write!(
            w,
            "<tr data-check=\"{}\"><td><code>{}</code></td><td class=\"st st-{st}\">{} {st}</td><td>",
            esc(&c.id),
            esc(&c.id),
            mark(c.status)
        )?;
        if c.evidence.is_empty() {
            write!(w, "{}", esc(&c.summary))?;
        } else {
            write!(w, "<details><summary>{}</summary><ul>", esc(&c.summary))?;
            for e in &c.evidence {
                write!(w, "<li>{}</li>", esc(e))?;
            }
            write!(w, "</ul></details>")?;
        }
        writeln!(w, "</td></tr>")?;
    }
    writeln!(w, "</table>\n</section>")?;
    if !d.notes.is_empty() {
        writeln!(w, "<section id=\"notes\">\n<h2>Notes</h2>\n<ul>")?;
        for n in &d.notes {
            writeln!(w, "<li>{}</li>", esc(n))?;
        }
        writeln!(w, "</ul>\n</section>")?;
    }
    writeln!(
        w,
        "<footer>portdoctor {} · report schema 1</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use crate::fixtures;

    fn render(d: &portdoctor_model::Diagnosis) -> String {
        let mut out = Vec::new();
        super::write(&mut out, d).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn blocked_html() {
        insta::assert_snapshot!(render(&fixtures::blocked()));
    }

    #[test]
    fn reachable_html() {
        insta::assert_snapshot!(render(&fixtures::reachable()));
    }

    #[test]
    fn everything_is_escaped_and_nothing_is_fetched() {
        let mut d = fixtures::blocked();
        d.summary = "<script>alert(1)</script> & \"quotes\"".into();
        let html = render(&d);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        assert_eq!(html.matches("<script>").count(), 1, "only our own inline script");
        for fetch in ["src=", "href=", "@import", "url("] {
            assert!(!html.contains(fetch), "self-contained: found {fetch}");
        }
    }
}
