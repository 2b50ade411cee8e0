//! The wire commands' own reports: `probe` (each attempt's outcome) and `capture` (each packet
//! seen at the NIC), as text lines or JSON (CONTRACT.md: the model's own serde shape).

use portdoctor_model::probe::{CaptureReport, ProbeReport};

/// One line per attempt: `tcp/8080 203.0.113.10 from port 40001: filtered (1500 ms)`.
pub fn probe(r: &ProbeReport, json: bool) -> serde_json::Result<String> {
    if json {
        return Ok(serde_json::to_string_pretty(r)? + "\n");
    }
    let mut text = String::new();
    for a in &r.attempts {
        let from = a.source_port.map(|p| format!(" from port {p}")).unwrap_or_default();
        text += &format!("{}/{} {}{from}: {} ({} ms)\n", r.proto, a.port, r.target, a.outcome.word(), a.millis);
    }
    Ok(text)
}

/// One line per packet, then how many SYNs arrived in how long.
pub fn capture(r: &CaptureReport, json: bool) -> serde_json::Result<String> {
    if json {
        return Ok(serde_json::to_string(r)? + "\n");
    }
    let mut text = String::new();
    for p in &r.packets {
        let what = match p.answer {
            None => format!("SYN from {}:{} arrived", p.remote, p.remote_port),
            Some(a) => format!("{a} left for {}:{}", p.remote, p.remote_port),
        };
        text += &format!("+{:.3}s {what}\n", p.at);
    }
    text += &format!("{} SYN(s) to port {} in {:.1}s on {}\n", r.syns().count(), r.port, r.seconds, r.iface);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portdoctor_model::probe::{Answer, ProbeAttempt, ProbeOutcome, SeenPacket};

    #[test]
    fn probe_lines() {
        let a = |port, source_port, outcome| ProbeAttempt { port, source_port, outcome, millis: 12 };
        let r = ProbeReport {
            vantage: "here".into(),
            target: "203.0.113.10".parse().unwrap(),
            proto: portdoctor_model::Proto::Tcp,
            attempts: vec![a(8080, Some(40001), ProbeOutcome::Filtered), a(22, None, ProbeOutcome::Open)],
        };
        assert_eq!(
            probe(&r, false).unwrap(),
            "tcp/8080 203.0.113.10 from port 40001: filtered (12 ms)\ntcp/22 203.0.113.10: open (12 ms)\n"
        );
        assert!(probe(&r, true).unwrap().starts_with("{\n  \"vantage\": \"here\""));
    }

    #[test]
    fn capture_lines() {
        let p = |at, answer| SeenPacket {
            at,
            remote: "198.51.100.7".parse().unwrap(),
            remote_port: 40001,
            local_port: 8080,
            answer,
        };
        let r = CaptureReport {
            iface: "eth0".into(),
            port: 8080,
            seconds: 2.0,
            packets: vec![p(0.25, None), p(0.2504, Some(Answer::Rst))],
        };
        assert_eq!(
            capture(&r, false).unwrap(),
            "+0.250s SYN from 198.51.100.7:40001 arrived\n+0.250s RST left for 198.51.100.7:40001\n1 SYN(s) to port 8080 in 2.0s on eth0\n"
        );
    }
}
