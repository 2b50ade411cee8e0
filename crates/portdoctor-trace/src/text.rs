//! `portdoctor trace` without `--json`: one line per drop, for a person.

use portdoctor_model::trace::{KernelDrop, TraceReport};
use std::fmt::Write as _;

fn drop_line(d: &KernelDrop) -> String {
    let p = &d.packet;
    let time = d.time.split_once('T').map_or(d.time.as_str(), |(_, t)| t.trim_end_matches('Z'));
    let mut line = format!("  {time}  {:<16} at {}", d.reason, d.location);
    if let Some(i) = &d.interface {
        let _ = write!(line, " on {i}");
    }
    let (src, dst) = if p.src.contains(':') {
        (format!("[{}]", p.src), format!("[{}]", p.dst))
    } else {
        (p.src.clone(), p.dst.clone())
    };
    let _ = write!(line, "  {} {src}:{} > {dst}:{}", p.proto.as_str(), p.sport, p.dport);
    if !p.flags.is_empty() {
        let _ = write!(line, " [{}]", p.flags);
    }
    if let (Some(table), Some(chain)) = (&d.table, &d.chain) {
        let _ = write!(line, "  ({} {table} {chain}", d.family.as_deref().unwrap_or("?"));
        if let Some(h) = d.rule_handle {
            let _ = write!(line, ", rule handle {h}");
        }
        line.push(')');
    }
    line
}

pub fn render(r: &TraceReport) -> String {
    let q = &r.query;
    let mut out =
        format!("{} port {} from {}, {:.1} s: ", q.protocol.as_str(), q.port, q.from, q.duration_ms as f64 / 1000.0);
    if r.drops.is_empty() {
        out.push_str("the kernel dropped no packet of the flow");
    } else {
        let _ = write!(out, "the kernel dropped {} packet(s) of the flow", r.drops.len());
    }
    let _ = writeln!(out, " ({} received).", r.packets_seen);
    for d in &r.drops {
        out.push_str(&drop_line(d));
        out.push('\n');
    }
    if r.ignored > 0 {
        let _ = writeln!(
            out,
            "{} drop(s) of healthy traffic ignored (TIME_WAIT segments, queues purged on close).",
            r.ignored
        );
    }
    if r.lost > 0 {
        let _ = writeln!(out, "{} drop event(s) lost (the kernel's buffer was full): the list is incomplete.", r.lost);
    }
    out
}
