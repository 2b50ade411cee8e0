//! What can drop a packet outside netfilter's hooks and the routing tables: tc ingress filters
//! (`tc -j qdisc show` and `tc -j filter show dev IF ingress`, gathered into one document) and
//! xfrm (IPsec) policies (`ip xfrm policy`, which has no JSON output, and `ip xfrm policy
//! getdefault`). XDP programs come with the interfaces (`iproute::parse_addr`).

use crate::ParseError;
use portdoctor_model::host::{TcFilter, TcIngress, XfrmDir, XfrmPolicy};
use portdoctor_model::net::Cidr;
use serde_json::Value;

/// Reads `tc-ingress.json`: `{"qdiscs": <tc -j qdisc show>, "filters": {"IF": <tc -j filter
/// show dev IF ingress>, …}}`, the filters listed for each interface with an ingress or clsact
/// qdisc.
pub fn parse_tc_ingress(file: &str, text: &str) -> Result<TcIngress, ParseError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(file, format!("line {}", e.line()), format!("not valid JSON: {e}")))?;
    let qdiscs = doc
        .get("qdiscs")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(file, "qdiscs", "expected the list `tc -j qdisc show` prints"))?;
    let mut out = TcIngress::default();
    for (i, q) in qdiscs.iter().enumerate() {
        let kind = q.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind == "ingress" || kind == "clsact" {
            let dev = q
                .get("dev")
                .and_then(Value::as_str)
                .ok_or_else(|| ParseError::new(file, format!("qdiscs[{i}].dev"), "missing"))?;
            out.devices.push(dev.to_string());
        }
    }
    let filters = match doc.get("filters") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(f)) => f,
        Some(_) => return Err(ParseError::new(file, "filters", "expected an object of interface → filters")),
    };
    for (dev, list) in filters {
        let list = list
            .as_array()
            .ok_or_else(|| ParseError::new(file, format!("filters.{dev}"), "expected the list tc prints"))?;
        // tc prints each priority once bare (protocol, pref, kind, chain) and then each filter
        // of it with its options: the bare lines are headers, not filters.
        for f in list.iter().filter(|f| f.get("options").is_some()) {
            out.filters.push(TcFilter { dev: dev.clone(), text: filter_text(f) });
        }
    }
    Ok(out)
}

/// One filter in words, as `tc filter show` would print it: priority, classifier, and what it
/// runs (a BPF program's name and id, the actions and their verdicts).
fn filter_text(f: &Value) -> String {
    let word = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(p) = word(f, "pref") {
        parts.push(format!("pref {p}"));
    }
    parts.push(word(f, "kind").unwrap_or_else(|| "filter".into()));
    if let Some(p) = word(f, "protocol") {
        parts.push(format!("protocol {p}"));
    }
    let opts = &f["options"];
    if let Some(h) = word(opts, "handle") {
        parts.push(format!("handle {h}"));
    }
    if let Some(n) = word(opts, "bpf_name") {
        parts.push(n);
    }
    if let Some(prog) = opts.get("prog") {
        let name = word(prog, "name").map(|n| format!(" name {n}")).unwrap_or_default();
        let tag = word(prog, "tag").map(|t| format!(" tag {t}")).unwrap_or_default();
        parts.push(format!("id {}{name}{tag}", word(prog, "id").unwrap_or_else(|| "?".into())));
    }
    if opts.get("direct-action").and_then(Value::as_bool) == Some(true) {
        parts.push("direct-action".into());
    }
    if let Some(n) = opts.get("bytecode").and_then(|b| b.get("length")).and_then(Value::as_u64) {
        parts.push(format!("classic BPF ({n} instructions)"));
    }
    for key in ["flowid", "classid"] {
        if let Some(v) = word(opts, key) {
            parts.push(format!("{key} {v}"));
        }
    }
    for a in opts.get("actions").and_then(Value::as_array).into_iter().flatten() {
        let kind = word(a, "kind").unwrap_or_else(|| "?".into());
        let verdict =
            a.get("control_action").and_then(|c| word(c, "type")).map(|t| format!(" {t}")).unwrap_or_default();
        parts.push(format!("action {kind}{verdict}"));
    }
    parts.join(" ")
}

/// IP protocol numbers by the names `ip xfrm` prints (getprotobynumber).
fn proto_number(name: &str) -> Option<u8> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    Some(match name {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" => 58,
        "sctp" => 132,
        "udplite" => 136,
        _ => return None,
    })
}

/// Reads `ip xfrm policy` (iproute2's xfrm_policy_print): one policy per block, a selector line
/// (`src A dst B [proto P] [sport N] [dport N] [type T code C] [dev D]`), then indented lines:
/// `dir D [action A] [index I] priority P ptype T …`, `mark`, `if_id`, `tmpl src … dst …` with
/// its `proto … mode …` and `level use` (optional) lines. Per-socket policies (`socket in`) are
/// skipped: they bind one socket, not traffic. What is not understood is kept in `unmodeled`.
pub fn parse_xfrm_policy(file: &str, text: &str, notes: &mut Vec<String>) -> Result<Vec<XfrmPolicy>, ParseError> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            match blocks.last_mut() {
                Some(b) => b.push(line.trim()),
                None => return Err(ParseError::new(file, "line 1", "an indented line before any policy")),
            }
        } else {
            blocks.push(vec![line.trim()]);
        }
    }
    let mut out = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        let at = format!("policy {}", n + 1);
        let text = block.join(" ");
        let sel: Vec<&str> = block[0].split_whitespace().collect();
        let mut src = None;
        let mut dst = None;
        let mut proto = None;
        let mut sport = None;
        let mut dport = None;
        let mut unmodeled = Vec::new();
        let mut i = 0;
        while i < sel.len() {
            let (key, val) = (sel[i], sel.get(i + 1).copied().unwrap_or_default());
            let cidr = |v: &str| -> Result<Cidr, ParseError> {
                v.parse::<Cidr>().map_err(|e| ParseError::new(file, format!("{at}.{key}"), e))
            };
            let port = |v: &str| -> Result<u16, ParseError> {
                v.parse::<u16>().map_err(|_| ParseError::new(file, format!("{at}.{key}"), "not a port number"))
            };
            match key {
                "src" => src = Some(cidr(val)?),
                "dst" => dst = Some(cidr(val)?),
                "proto" => match proto_number(val) {
                    Some(p) => proto = Some(p),
                    None => unmodeled.push(format!("proto {val}")),
                },
                "sport" => sport = Some(port(val)?).filter(|p| *p != 0),
                "dport" => dport = Some(port(val)?).filter(|p| *p != 0),
                other => unmodeled.push(format!("{other} {val}")),
            }
            i += 2;
        }
        let (Some(src), Some(dst)) = (src, dst) else {
            return Err(ParseError::new(file, at, "the selector has no src or dst"));
        };
        let mut dir = None;
        let mut socket = false;
        let mut block_action = false;
        let mut priority = 0;
        let mut templates: Vec<(String, bool)> = Vec::new();
        for line in &block[1..] {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.first().copied().unwrap_or_default() {
                "dir" | "socket" => {
                    socket = w[0] == "socket";
                    dir = match w.get(1).copied() {
                        Some("in") => Some(XfrmDir::In),
                        Some("out") => Some(XfrmDir::Out),
                        Some("fwd") => Some(XfrmDir::Fwd),
                        other => {
                            return Err(ParseError::new(
                                file,
                                format!("{at}.dir"),
                                format!("{} is not a direction", crate::excerpt(other.unwrap_or_default())),
                            ));
                        }
                    };
                    let mut j = 2;
                    while j < w.len() {
                        let val = w.get(j + 1).copied().unwrap_or_default();
                        match w[j] {
                            "action" => block_action = val == "block",
                            "priority" => {
                                priority = val
                                    .parse()
                                    .map_err(|_| ParseError::new(file, format!("{at}.priority"), "not a number"))?
                            }
                            "ptype" if val != "main" => unmodeled.push(format!("ptype {val}")),
                            // Bookkeeping, not selection.
                            "index" | "ptype" | "share" | "flag" => {}
                            other => unmodeled.push(format!("{other} {val}")),
                        }
                        j += 2;
                    }
                }
                "tmpl" => templates.push((line.to_string(), false)),
                // A template's own lines.
                "proto" | "mode" => {
                    if let Some(t) = templates.last_mut() {
                        t.0 = format!("{} {line}", t.0);
                    }
                }
                "level" => {
                    if let Some(t) = templates.last_mut() {
                        t.1 = w.get(1) == Some(&"use");
                    }
                }
                // Lifetimes and counters (with -s): not selectors.
                "lifetime" | "expire" | "add" | "use" | "stats" | "seconds" | "bytes" | "packets" => {}
                _ => unmodeled.push(line.to_string()),
            }
        }
        let Some(dir) = dir else {
            return Err(ParseError::new(file, format!("{at}.dir"), "missing"));
        };
        if socket {
            notes.push(format!("{file}: a per-socket xfrm policy is not about traffic to the port: {text}"));
            continue;
        }
        out.push(XfrmPolicy {
            dir,
            src,
            dst,
            proto,
            sport,
            dport,
            block: block_action,
            templates,
            priority,
            unmodeled,
            text,
        });
    }
    Ok(out)
}

/// Reads `ip xfrm policy getdefault`: the directions whose default is `block`.
pub fn parse_xfrm_default(file: &str, text: &str) -> Result<Vec<XfrmDir>, ParseError> {
    let mut out = Vec::new();
    for line in text.lines().skip_while(|l| !l.contains("Default policies")).skip(1) {
        let Some((dir, action)) = line.split_once(':') else { continue };
        let dir = match dir.trim() {
            "in" => XfrmDir::In,
            "out" => XfrmDir::Out,
            "fwd" => XfrmDir::Fwd,
            other => return Err(ParseError::new(file, other, "not a direction")),
        };
        match action.trim() {
            "block" => out.push(dir),
            "accept" => {}
            other => {
                return Err(ParseError::new(
                    file,
                    dir.as_str(),
                    format!("{} is not accept or block", crate::excerpt(other)),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from this kernel: an ingress qdisc with a classic-BPF filter on va, a clsact
    /// qdisc with a direct-action eBPF filter on vb.
    const TC: &str = r#"{"qdiscs":[{"kind":"noqueue","handle":"0:","dev":"vb","root":true,"refcnt":2,"options":{}},{"kind":"clsact","handle":"ffff:","dev":"vb","parent":"ffff:fff1","options":{}},{"kind":"noqueue","handle":"0:","dev":"va","root":true,"refcnt":2,"options":{}},{"kind":"ingress","handle":"ffff:","dev":"va","parent":"ffff:fff1","options":{}}],
    "filters":{"vb":[{"protocol":"all","pref":49152,"kind":"bpf","chain":0},{"protocol":"all","pref":49152,"kind":"bpf","chain":0,"options":{"handle":"0x1","bpf_name":"tcdrop.o:[classifier]","direct-action":true,"not_in_hw":true,"prog":{"id":110,"name":"tc_drop","tag":"614b434cd8324ecc","jited":1}}}],
    "va":[{"protocol":"all","pref":5,"kind":"bpf","chain":0},{"protocol":"all","pref":5,"kind":"bpf","chain":0,"options":{"handle":"0x1","flowid":"1:1","not_in_hw":true,"bytecode":{"length":1,"insns":[{"code":6,"jt":0,"jf":0,"k":0}]}}}]}}"#;

    #[test]
    fn reads_tc_ingress_filters() {
        let tc = parse_tc_ingress("tc-ingress.json", TC).unwrap();
        assert_eq!(tc.devices, ["vb", "va"]);
        assert_eq!(tc.filters.len(), 2);
        let vb = tc.filters.iter().find(|f| f.dev == "vb").unwrap();
        assert_eq!(
            vb.text,
            "pref 49152 bpf protocol all handle 0x1 tcdrop.o:[classifier] id 110 name tc_drop tag 614b434cd8324ecc direct-action"
        );
        let va = tc.filters.iter().find(|f| f.dev == "va").unwrap();
        assert_eq!(va.text, "pref 5 bpf protocol all handle 0x1 classic BPF (1 instructions) flowid 1:1");
        let e = parse_tc_ingress("tc-ingress.json", r#"{"qdiscs":{}}"#).unwrap_err();
        assert_eq!(e.field, "qdiscs");
        let e = parse_tc_ingress("tc-ingress.json", r#"{"qdiscs":[],"filters":{"eth0":1}}"#).unwrap_err();
        assert_eq!(e.field, "filters.eth0");
    }

    /// Recorded from this kernel (`ip xfrm policy` after two `ip xfrm policy add`), plus a
    /// per-socket policy and one with a mark.
    const XFRM: &str = "src 10.9.0.0/16 dst 10.0.0.0/8 \n\tdir in priority 0 ptype main \n\ttmpl src 10.1.1.1 dst 10.1.1.2\n\t\tproto esp reqid 0 mode tunnel\nsrc 198.51.100.0/24 dst 10.0.0.1/32 proto tcp dport 80 \n\tdir in action block priority 0 ptype main \nsrc 0.0.0.0/0 dst 0.0.0.0/0 \n\tsocket in priority 0 ptype main \nsrc 0.0.0.0/0 dst 0.0.0.0/0 \n\tdir out action block priority 10 ptype main \n\tmark 0x1/0xffffffff\n\ttmpl src 0.0.0.0 dst 0.0.0.0\n\t\tproto esp reqid 1 mode transport\n\t\tlevel use\n";

    #[test]
    fn reads_xfrm_policies() {
        let mut notes = vec![];
        let p = parse_xfrm_policy("ip-xfrm-policy.txt", XFRM, &mut notes).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].dir.clone(), p[0].block, p[0].templates.len()), (XfrmDir::In, false, 1));
        assert!(!p[0].templates[0].1, "a template without `level use` is required");
        assert_eq!(p[0].templates[0].0, "tmpl src 10.1.1.1 dst 10.1.1.2 proto esp reqid 0 mode tunnel");
        assert_eq!((p[1].proto, p[1].dport, p[1].block), (Some(6), Some(80), true));
        assert_eq!(p[1].src.to_string(), "198.51.100.0/24");
        assert_eq!(p[2].unmodeled, ["mark 0x1/0xffffffff"]);
        assert!(p[2].templates[0].1, "level use: optional");
        assert_eq!(p[2].priority, 10);
        assert_eq!(notes.len(), 1, "the socket policy is named, not judged: {notes:?}");
        let e = parse_xfrm_policy("ip-xfrm-policy.txt", "src 10.0.0.0/99 dst 10.0.0.1\n\tdir in\n", &mut notes)
            .unwrap_err();
        assert_eq!(e.field, "policy 1.src");
        let e = parse_xfrm_policy("ip-xfrm-policy.txt", "src 10.0.0.0/8 dst 10.0.0.1\n", &mut notes).unwrap_err();
        assert_eq!(e.field, "policy 1.dir");
    }

    #[test]
    fn reads_xfrm_defaults() {
        let text = "Default policies:\n in:  block\n fwd: accept\n out: accept\n";
        assert_eq!(parse_xfrm_default("f", text).unwrap(), [XfrmDir::In]);
        let e = parse_xfrm_default("f", "Default policies:\n in: maybe\n").unwrap_err();
        assert_eq!(e.to_string(), "f: in: 'maybe' is not accept or block");
    }
}
