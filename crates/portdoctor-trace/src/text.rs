//! `portdoctor trace` without `--json`: one line per drop, for a person.

use portdoctor_model::trace::{KernelDrop, TraceReport};
use std::fmt::Write as _;

fn drop_line(d: &KernelDrop) -> String {
    let p = &d.packet;
    let time = d.time.split_once('T').map_or(d.time.as_str(), |(_, t)| t.trim_end_matches('Z'));
    let mut line = format!("  {time}  {:<16} at {}", d.reason_text(), d.location);
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
        if let Some(r) = &d.rule {
            let _ = write!(line, ": {r}");
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
    if !r.counters.is_empty() {
        let rose: Vec<String> = r.counters.iter().map(|(k, v)| format!("{k} +{v}")).collect();
        let _ = writeln!(
            out,
            "Kernel counters for what leaves no drop event rose while it ran (every flow of this host counts): {}.",
            rose.join(", ")
        );
    }
    if r.lost > 0 {
        let _ = writeln!(out, "{} drop event(s) lost (the kernel's buffer was full): the list is incomplete.", r.lost);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;
    use portdoctor_model::Proto;
    use portdoctor_model::trace::{DropPacket, KernelDrop, TraceQuery, TraceReport, TraceTool};

    #[test]
    fn one_line_a_drop_naming_the_rule_when_known() {
        let packet = DropPacket {
            src: "198.51.100.2".into(),
            sport: 35016,
            dst: "198.51.100.1".into(),
            dport: 20999,
            proto: Proto::Tcp,
            flags: "S".into(),
        };
        let mut d = KernelDrop::new(
            "2026-12-04T16:09:29.253Z".into(),
            Some("NETFILTER_DROP".into()),
            "nft_do_chain".into(),
            packet,
            Some("eth0".into()),
        );
        (d.family, d.table, d.chain, d.rule_handle) =
            (Some("inet".into()), Some("f".into()), Some("in".into()), Some(2));
        d.rule = Some("tcp dport 20999 counter drop".into());
        let mut r = TraceReport {
            schema_version: 1,
            tool: TraceTool { name: "portdoctor".into(), version: "0".into() },
            query: TraceQuery {
                command: "trace".into(),
                port: 20999,
                protocol: Proto::Tcp,
                from: "198.51.100.2".into(),
                duration_ms: 3000,
            },
            packets_seen: 1,
            drops: vec![d],
            ignored: 2,
            lost: 0,
            counters: Default::default(),
        };
        let text = render(&r);
        assert!(text.starts_with("tcp port 20999 from 198.51.100.2, 3.0 s: the kernel dropped 1 packet(s)"), "{text}");
        assert!(text.contains("  16:09:29.253  NETFILTER_DROP   at nft_do_chain on eth0  tcp 198.51.100.2:35016 > 198.51.100.1:20999 [S]  (inet f in, rule handle 2: tcp dport 20999 counter drop)"), "{text}");
        assert!(text.contains("2 drop(s) of healthy traffic ignored"), "{text}");
        r.drops.clear();
        assert!(render(&r).contains("the kernel dropped no packet of the flow (1 received)."));
    }
}
