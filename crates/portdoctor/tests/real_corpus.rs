//! The real-world corpus: rulesets written by the real tools (Docker, OpenWrt's firewall4,
//! kube-proxy, firewalld, ufw, fail2ban, …), each in `tests/corpus/<name>/` with a `meta.toml`
//! naming its generator, source and license, the minimal adaptations that fit it to the testbed
//! (applied here at load time, so the file stays as the tool wrote it), the listeners, and the
//! flows to ask about. Each ruleset is loaded into a fresh testbed's instance; every flow is a
//! real connect from the client, then `portdoctor host --snapshot` on a snapshot of that moment,
//! and the two must agree. `inconclusive` counts only where the flow's metadata allows it and the
//! report names the reason given there (state no snapshot holds: rate limits under load, `recent`).
//!
//! `PORTDOCTOR_CORPUS=NAME[,NAME…]` runs only those rulesets.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use portdoctor_testbed::judge::{agrees, judge};
use portdoctor_testbed::{INSTANCE_V6, Listen, PUBLIC_V4, Testbed, Wire};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;
use toml::{Table, Value};

/// One flow of a ruleset: from a client address to a port.
struct Flow {
    from: String,
    port: u16,
    proto: &'static str,
    /// Where portdoctor may say `inconclusive`: a word its report must contain (the reason).
    inconclusive: Option<String>,
}

/// What one ruleset came to.
struct Row {
    name: String,
    generator: String,
    source: String,
    flows: usize,
    agreements: usize,
    named_inconclusive: usize,
    outcomes: String,
    problems: Vec<String>,
    seconds: f64,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn text(t: &Table, key: &str) -> Result<String, String> {
    t.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("meta.toml: no string {key:?}"))
}

fn proto(t: &Table) -> Result<&'static str, String> {
    match t.get("proto").and_then(Value::as_str).unwrap_or("tcp") {
        "tcp" => Ok("tcp"),
        "udp" => Ok("udp"),
        other => Err(format!("meta.toml: proto {other:?}")),
    }
}

fn port(t: &Table) -> Result<u16, String> {
    t.get("port")
        .and_then(Value::as_integer)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| "meta.toml: a port that is not a number".to_string())
}

fn tables<'a>(meta: &'a Table, key: &str) -> Vec<&'a Table> {
    meta.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_table).collect()).unwrap_or_default()
}

/// Lists of strings (`adaptations`) or of string pairs (`replace`) or of argv (`setup`).
fn string_lists(meta: &Table, key: &str) -> Vec<Vec<String>> {
    meta.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_array)
                .map(|inner| inner.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// An nft transaction whose rules name chains and sets declared further down (kube-proxy's test
/// expectations are sorted for reading; kube-proxy itself declares first): the `add table`,
/// `add chain`, `add set` and `add map` lines moved ahead, each group in its own order.
fn declarations_first(rules: &str) -> String {
    let declares = |l: &&str| ["add table ", "add chain ", "add set ", "add map "].iter().any(|p| l.starts_with(p));
    let (decl, rest): (Vec<&str>, Vec<&str>) = rules.lines().partition(declares);
    decl.into_iter().chain(rest).map(|l| format!("{l}\n")).collect()
}

/// Runs one ruleset: load, listen, connect, snapshot, judge.
fn run(bin: &Path, dir: &Path) -> Result<Row, String> {
    let started = Instant::now();
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let meta: Table = std::fs::read_to_string(dir.join("meta.toml"))
        .map_err(|e| format!("meta.toml: {e}"))?
        .parse()
        .map_err(|e| format!("meta.toml: {e}"))?;
    for key in ["license", "source"] {
        text(&meta, key)?;
    }
    let adaptations = meta.get("adaptations").and_then(Value::as_array).map_or(0, Vec::len);
    let replace = string_lists(&meta, "replace");
    if !replace.is_empty() && adaptations == 0 {
        return Err("meta.toml: every replacement must be recorded in `adaptations`".into());
    }
    let mut tb = Testbed::new().map_err(|e| e.to_string())?;
    tb.no_icmp_ratelimit().map_err(|e| e.to_string())?;
    let container = if meta.get("container").and_then(Value::as_bool).unwrap_or(false) {
        Some(tb.add_container().map_err(|e| e.to_string())?)
    } else {
        None
    };
    for argv in string_lists(&meta, "setup") {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = tb.exec(&tb.instance, &args).map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("setup {argv:?}: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    for load in tables(&meta, "load") {
        let file = text(load, "file")?;
        let mut rules = std::fs::read_to_string(dir.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        for pair in &replace {
            if let [from, to] = pair.as_slice() {
                rules = rules.replace(from, to);
            }
        }
        if load.get("declarations_first").and_then(Value::as_bool).unwrap_or(false) {
            rules = declarations_first(&rules);
        }
        tb.load_ruleset(&text(load, "kind")?, &rules).map_err(|e| format!("loading {file}: {e}"))?;
    }
    for l in tables(&meta, "listen") {
        let bind = l.get("bind").and_then(Value::as_str).unwrap_or("::");
        let listen = Listen { proto: proto(l)?, ..Listen::tcp(bind, port(l)?) };
        match (l.get("in").and_then(Value::as_str), &container) {
            (Some("container"), Some(k)) => tb.listen_in(k, &listen),
            (Some("container"), None) => return Err("a container listener without `container = true`".into()),
            _ => tb.listen(&listen),
        }
        .map_err(|e| e.to_string())?;
    }
    let flows: Vec<Flow> = tables(&meta, "flow")
        .into_iter()
        .map(|f| {
            Ok(Flow {
                from: text(f, "from")?,
                port: port(f)?,
                proto: proto(f)?,
                inconclusive: f.get("inconclusive").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect::<Result<_, String>>()?;
    if flows.len() < 4 {
        return Err(format!("{} flows: the corpus asks at least 4 per ruleset", flows.len()));
    }
    let mut wires = Vec::new();
    for f in &flows {
        tb.add_client_source(&f.from).map_err(|e| e.to_string())?;
        let v6 = f.from.contains(':');
        // Over IPv6 the first SYN's answer is sometimes missed while neighbor discovery settles;
        // the retransmitted SYN, 1 s later, gets the kernel's answer.
        let (target, timeout) = if v6 { (INSTANCE_V6, 1.5) } else { (PUBLIC_V4, 0.5) };
        wires.push(tb.connect_from(&f.from, target, f.port, f.proto, timeout).map_err(|e| e.to_string())?);
    }
    let snap = tb.snapshot(bin, "corpus").map_err(|e| e.to_string())?;
    if std::env::var_os("PORTDOCTOR_CORPUS_DEBUG").is_some() {
        let out = tb.exec(&tb.instance, &["nft", "list", "ruleset"]).map_err(|e| e.to_string())?;
        println!("{}", String::from_utf8_lossy(&out.stdout));
    }
    let mut row = Row {
        name,
        generator: text(&meta, "generator")?,
        source: text(&meta, "source")?,
        flows: flows.len(),
        agreements: 0,
        named_inconclusive: 0,
        outcomes: String::new(),
        problems: vec![],
        seconds: 0.0,
    };
    for (f, wire) in flows.iter().zip(&wires) {
        let r = judge(bin, &snap, &f.from, f.port, f.proto).map_err(|e| e.to_string())?;
        let status = r["verdict"]["status"].as_str().unwrap_or("(no report)");
        let named = f
            .inconclusive
            .as_deref()
            .is_some_and(|why| status == "inconclusive" && r.to_string().to_lowercase().contains(&why.to_lowercase()));
        if agrees(wire, &r) {
            row.agreements += 1;
        } else if named {
            row.named_inconclusive += 1;
        } else {
            row.problems.push(format!(
                "{} {} -> {}/{}: kernel {wire}, portdoctor {status} ({}): {}",
                row.name, f.from, f.proto, f.port, r["verdict"]["causes"][0]["code"], r["verdict"]["summary"]
            ));
        }
        row.outcomes += match wire {
            Wire::Open => "o",
            Wire::Refused => "r",
            Wire::Timeout => "t",
            Wire::Error(_) => "e",
        };
    }
    if std::env::var_os("PORTDOCTOR_CORPUS_DEBUG").is_some() {
        println!("snapshot kept at {}", snap.display());
    } else {
        let _ = std::fs::remove_dir_all(&snap);
    }
    // A ruleset whose flows the kernel all answered alike tests one verdict only.
    if !(row.outcomes.contains('o') && row.outcomes.contains(['r', 't'])) {
        row.problems
            .push(format!("{}: flows must include admitted and refused/dropped ones ({})", row.name, row.outcomes));
    }
    row.seconds = started.elapsed().as_secs_f64();
    Ok(row)
}

#[test]
fn real_rulesets_agree_with_the_kernel() {
    let bin = Path::new(env!("CARGO_BIN_EXE_portdoctor"));
    let only: Option<Vec<String>> =
        std::env::var("PORTDOCTOR_CORPUS").ok().map(|v| v.split(',').map(str::to_string).collect());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.toml").is_file())
        .filter(|p| only.as_ref().is_none_or(|o| o.iter().any(|n| p.ends_with(n))))
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no rulesets under {}", corpus_dir().display());
    // Every ruleset in the corpus has its row in SOURCES.md.
    let sources = std::fs::read_to_string(corpus_dir().join("SOURCES.md")).unwrap();
    for d in &dirs {
        let name = d.file_name().unwrap().to_string_lossy();
        assert!(sources.contains(&format!("| {name} |")), "SOURCES.md has no row for {name}");
    }
    let started = Instant::now();
    let queue = Mutex::new(dirs.clone());
    let rows: Mutex<Vec<Result<Row, String>>> = Mutex::new(vec![]);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                loop {
                    let Some(dir) = queue.lock().unwrap().pop() else { break };
                    let result = run(bin, &dir).map_err(|e| format!("{}: {e}", dir.display()));
                    rows.lock().unwrap().push(result);
                }
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|r| r.as_ref().map(|r| r.name.clone()).unwrap_or_default());
    println!("| ruleset | generator | source | flows | agreements | named inconclusive | kernel (o/r/t) | s |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut flows, mut agreed, mut problems) = (0, 0, vec![]);
    let mut generators = std::collections::BTreeSet::new();
    for row in &rows {
        match row {
            Ok(r) => {
                // The table stays readable: SOURCES.md and meta.toml carry the whole source.
                let source: String = r.source.chars().take(70).collect();
                let more = if source.len() < r.source.len() { "…" } else { "" };
                println!(
                    "| {} | {} | {source}{more} | {} | {} | {} | {} | {:.1} |",
                    r.name, r.generator, r.flows, r.agreements, r.named_inconclusive, r.outcomes, r.seconds
                );
                flows += r.flows;
                agreed += r.agreements;
                generators.insert(r.generator.clone());
                problems.extend(r.problems.iter().cloned());
            }
            Err(e) => problems.push(format!("error: {e}")),
        }
    }
    println!(
        "{} rulesets from {} generators, {flows} flows, {agreed} agreements, {} problems, {:.0} s",
        rows.len(),
        generators.len(),
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
