//! Trust boundaries (issue 17, classes 1 and 2): evidence written by a hostile machine, run
//! through the real binary in every format. A fix is pasted as root: each one must reach a POSIX
//! shell as exactly the argv we meant, the hostile value one word, or be withheld with the reason.
//! Control characters from the evidence never reach the terminal or the Markdown raw.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use portdoctor_testbed::hostile::{shell_words, unsafe_chars};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const CHAIN: &str = "p;touch$IFS/tmp/x";
const GROUP: &str = "sg-1;touch$IFS/tmp/x";
const EVENT_ARN: &str = "arn:aws:health:global::event/ABUSE/AWS_ABUSE_DOS_REPORT/x'$(touch /tmp/y)'";
const INSTANCE: &str = "i-0a1b2c3d4e5f60718";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

fn portdoctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portdoctor")).args(args).output().expect("run portdoctor")
}

/// The report in one format, with the exit code it came with.
fn report(args: &[&str], format: &str) -> (Option<i32>, String) {
    let out = portdoctor(&[args, &["--format", format]].concat());
    assert!(out.stderr.is_empty(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

/// The HTML copy buttons' commands (attribute values unescaped).
fn copy_buttons(html: &str) -> Vec<String> {
    html.split("data-copy=\"")
        .skip(1)
        .map(|s| {
            let v = &s[..s.find('"').unwrap()];
            v.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Runs `args` in every format and checks what holds for any evidence: the same commands in every
/// format, each the argv `expected` gives for it; nothing raw that a terminal or Markdown acts
/// on; no forged verdict line or heading. Returns the JSON report.
fn every_format(args: &[&str], expected: &[Vec<&str>]) -> Value {
    let (code, html) = report(args, "html");
    let commands = copy_buttons(&html);
    let mut want: Vec<Vec<String>> = expected.iter().map(|a| a.iter().map(|w| w.to_string()).collect()).collect();
    let mut got: Vec<Vec<String>> = commands.iter().map(|c| shell_words(c).unwrap()).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "the copy buttons' commands: {commands:#?}");
    assert!(!html.contains("data-copy=\"\n"), "no empty or multi-line copy");

    for format in ["text", "markdown", "json"] {
        let (c, out) = report(args, format);
        assert_eq!(c, code, "{format}: same exit code as html");
        if format == "json" {
            // The JSON string syntax escapes them; the reader gets the values back unchanged.
            assert_eq!(unsafe_chars(&out), Vec::<char>::new(), "json: raw control characters");
        } else {
            assert_eq!(unsafe_chars(&out), Vec::<char>::new(), "{format}: raw control characters in\n{out}");
        }
        for cmd in &commands {
            let shown = if format == "json" { serde_json::to_string(cmd).unwrap() } else { cmd.clone() };
            let shown = shown.trim_matches('"');
            assert!(out.contains(shown), "{format} shows the same command {cmd}:\n{out}");
        }
        match format {
            "text" => {
                let first = out.lines().next().unwrap();
                assert!(["BLOCKED:", "REACHABLE:", "INCONCLUSIVE:"].iter().any(|w| first.starts_with(w)), "{first}");
                assert!(!out.lines().skip(1).any(|l| l.trim_start().starts_with("VERDICT")), "forged line:\n{out}");
            }
            "markdown" => {
                let ours = ["## portdoctor:", "### Causes", "### Path", "### What changed", "### Checks", "### Notes"];
                // Each row of a table has as many cell borders as its header.
                let mut header_cells = None;
                for l in out.lines() {
                    assert!(!l.starts_with('#') || ours.iter().any(|h| l.starts_with(h)), "forged heading: {l}");
                    assert!(!l.starts_with("```") && !l.starts_with("- forged"), "forged block: {l}");
                    if !l.starts_with('|') {
                        header_cells = None;
                        continue;
                    }
                    let cells = l.replace("\\|", "").matches('|').count();
                    assert_eq!(cells, *header_cells.get_or_insert(cells), "a cell broke out: {l}");
                }
            }
            _ => {}
        }
    }
    serde_json::from_str(&report(args, "json").1).unwrap()
}

#[test]
fn a_hostile_chain_name_is_one_quoted_word_and_a_hostile_process_name_forges_nothing() {
    let snap = fixture("hostile-host");
    let iptables = vec!["iptables", "-t", "filter", "-I", CHAIN, "1", "-p", "tcp", "--dport", "8443", "-j", "ACCEPT"];
    for verbose in [false, true] {
        let mut args = vec!["host", "--snapshot", &snap, "--port", "8443"];
        if verbose {
            args.push("--verbose");
        }
        let json = every_format(&args, std::slice::from_ref(&iptables));
        assert_eq!(json["verdict"]["causes"][0]["code"], "HOST_FIREWALL_DROP");
        assert_eq!(
            json["verdict"]["causes"][0]["fix"][0],
            format!("iptables -t filter -I '{CHAIN}' 1 -p tcp --dport 8443 -j ACCEPT")
        );
        // JSON keeps the evidence as it was: the escaping is the string syntax's, not a rewrite.
        let listener = json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "host.listener").unwrap();
        assert!(listener["summary"].as_str().unwrap().contains("\u{1b}[2J\u{1b}[1;1H\r\nVERDICT: reachable\n# forged"));
    }
    // The loopback-only listener's cause carries the other hostile name in its message and fix.
    let json =
        every_format(&["host", "--snapshot", &snap, "--port", "8080"], &[vec!["ss", "-lnp", "( sport = :8080 )"]]);
    assert_eq!(json["verdict"]["causes"][0]["code"], "LISTENER_LOOPBACK_ONLY");
    let (_, text) = report(&["host", "--snapshot", &snap, "--port", "8080"], "text");
    assert!(text.contains("nginx\\nVERDICT: reachable\\n- forged item | cell `code"), "{text}");
}

#[test]
fn hostile_aws_ids_are_quoted_or_the_command_is_withheld() {
    let snap = fixture("hostile-aws");
    let args = ["cloud", "--snapshot", &snap, "--port", "8080", "--instance", INSTANCE];
    let json = every_format(
        &args,
        &[
            vec![
                "aws",
                "ec2",
                "authorize-security-group-ingress",
                "--group-id",
                GROUP,
                "--protocol",
                "tcp",
                "--port",
                "8080",
                "--cidr",
                "0.0.0.0/0",
            ],
            vec!["aws", "health", "describe-event-details", "--region", "us-east-1", "--event-arns", EVENT_ARN],
        ],
    );
    let fixes: Vec<&str> = json["verdict"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["fix"].as_array().unwrap())
        .map(|f| f.as_str().unwrap())
        .collect();
    // A case id with a newline and ESC, a detector id that is an option: no quoting makes those
    // safe to paste, so the fix says why instead.
    let withheld: Vec<&&str> = fixes.iter().filter(|f| f.contains("command withheld")).collect();
    assert_eq!(withheld.len(), 2, "{fixes:#?}");
    assert!(withheld.iter().any(|f| f.contains("control characters")), "{withheld:?}");
    assert!(withheld.iter().any(|f| f.contains("as an option")), "{withheld:?}");
    assert!(!fixes.iter().any(|f| f.contains("--case-id") || f.contains("--detector-id --endpoint-url")), "{fixes:#?}");
}
