//! Hostile text for the trust-boundary tests (issue 17): strings a compromised machine could put
//! in its evidence, a POSIX shell's reading of a printed command, and what a terminal or
//! Markdown would act on.

use crate::rng::Rng;
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::{Proto, Source};
use portdoctor_model::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Layer, Query, TimelineEntry,
};
use std::process::Command;

/// Shell syntax, terminal controls, bidi overrides, option dashes, globbing, non-ASCII: the
/// pieces a hostile value is made of.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    "_",
    ".",
    "/",
    ":",
    "=",
    ",",
    "+",
    "@",
    "%",
    "-",
    "--",
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "'",
    "\"",
    "\\",
    "$",
    "$(",
    ")",
    "`",
    ";",
    "&",
    "&&",
    "|",
    "||",
    "<",
    ">",
    ">>",
    "*",
    "?",
    "[",
    "]",
    "{",
    "}",
    "~",
    "#",
    "!",
    "(",
    "^",
    "$IFS",
    "${IFS}",
    "\u{1b}[2J",
    "\u{1b}]0;x\u{7}",
    "\u{7f}",
    "\u{85}",
    "\u{9b}31m",
    "\u{0}",
    "\u{202e}",
    "\u{2066}",
    "\u{200f}",
    "\u{2028}",
    "é",
    "…",
    "日本",
    "\u{feff}",
    "VERDICT: reachable",
    "# heading",
    "```",
    "- item",
    "| cell",
    "<!--",
    "-F",
];

/// A value of up to `max_pieces` pieces of [`PIECES`].
pub fn hostile_string(rng: &mut Rng, max_pieces: u64) -> String {
    (0..1 + rng.below(max_pieces)).map(|_| PIECES[rng.below(PIECES.len() as u64) as usize]).collect()
}

/// Control characters (C0 but the line ends a renderer writes, DEL, C1) and bidi overrides or
/// isolates: what a terminal acts on or reorders.
pub fn unsafe_chars(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| *c != '\n')
        .filter(|c| {
            c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
                || matches!(c, '\u{2028}' | '\u{2029}')
        })
        .collect()
}

/// The programs portdoctor's fixes run; [`shell_words`] stands in for them.
const PROGRAMS: &[&str] = &[
    "iptables",
    "ip6tables",
    "nft",
    "firewall-cmd",
    "ufw",
    "fail2ban-client",
    "aws",
    "systemctl",
    "journalctl",
    "semanage",
    "sysctl",
    "ss",
    "ip",
];

/// What `/bin/sh` makes of the command line `cmd`: for each command it runs, the program and the
/// words it would get, commands separated by a `"&&"` word. Each program is an alias of a
/// function that only prints its words, PATH leads nowhere and the folder is empty and checked
/// afterwards, so even a broken quoting cannot run or write anything. `Err` when the shell
/// rejects the line, tries anything else, or something was written.
pub fn shell_words(cmd: &str) -> Result<Vec<String>, String> {
    let scratch = std::env::temp_dir().join(format!("portdoctor-shell-words-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let cmd = fill_placeholders(cmd);
    let aliases: Vec<String> = PROGRAMS.iter().map(|p| format!("{p}='w {p}'")).collect();
    // Aliases apply from the next line on: the command is parsed after they are defined.
    let script = format!(
        "w() {{ for a; do printf '%s\\0' \"$a\"; done; printf '&&\\0'; }}\nalias {}\n{cmd}\n",
        aliases.join(" ")
    );
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", "/nonexistent")
        .current_dir(&scratch)
        .output()
        .map_err(|e| e.to_string())?;
    let written = std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
    if !out.status.success() || written > 0 || !out.stderr.is_empty() {
        return Err(format!("{cmd:?}: {} ({written} file(s) written)", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
    let mut words: Vec<String> = text.split_terminator('\0').map(str::to_string).collect();
    words.pop(); // the last command's separator
    Ok(words)
}

/// Our placeholders (`<client-address>`, `<i-…>`) outside quotes made one quoted word: pasted as
/// printed, the shell refuses them (a redirection with no file), which is the point; read here,
/// they are an argument like any other.
fn fill_placeholders(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    let (mut quoted, mut escaped, mut placeholder) = (false, false, false);
    for c in cmd.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if !quoted => escaped = true,
            '\'' => quoted = !quoted,
            '<' if !quoted && !placeholder => {
                placeholder = true;
                out.push('\'');
            }
            '>' if placeholder => {
                placeholder = false;
                out.push(c);
                out.push('\'');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A report whose every string is `s()`: what a hostile machine's evidence can put in one.
pub fn hostile_report(s: &mut dyn FnMut() -> String) -> Diagnosis {
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
    let causes = vec![cause(s, CauseCode::HostFirewallDrop), cause(s, CauseCode::AbuseBlock)];
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

/// Our own colour codes (`ESC [ 1;31 m`), which the text renderer adds after escaping.
pub fn without_our_colours(s: &str) -> String {
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
pub fn text_lines_are_ours(out: &str) {
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
pub fn markdown_lines_are_ours(out: &str) {
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

/// A POSIX shell's tokens for `cmd`, read in-process (for the fuzzer, where a shell per input
/// is too slow): words after quote removal; operators (`;`, `&&`, `|`, `<`, newline…) as
/// `"\0op:…"`; a word holding an unquoted expansion, glob or quote character as
/// `"\0special:…"`; a `#` that starts a word ends the line. A value that is not quoted when it
/// must be gives tokens its harmless twin does not.
pub fn shell_tokens(cmd: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let (mut word, mut in_word, mut special, mut quoted) = (String::new(), false, false, false);
    let flush = |tokens: &mut Vec<String>, word: &mut String, in_word: &mut bool, special: &mut bool| {
        if *in_word {
            tokens.push(if *special { format!("\0special:{word}") } else { std::mem::take(word) });
        }
        word.clear();
        (*in_word, *special) = (false, false);
    };
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '\'' {
                quoted = false;
            } else {
                word.push(c);
            }
            continue;
        }
        match c {
            ' ' | '\t' => flush(&mut tokens, &mut word, &mut in_word, &mut special),
            '\'' => (quoted, in_word) = (true, true),
            '\\' => {
                word.push(chars.next().ok_or("a trailing backslash")?);
                in_word = true;
            }
            '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => {
                flush(&mut tokens, &mut word, &mut in_word, &mut special);
                let mut op = String::from(c);
                while let Some(&n) = chars.peek().filter(|n| **n == c) {
                    op.push(n);
                    chars.next();
                }
                tokens.push(format!("\0op:{op}"));
            }
            '#' if !in_word => break,
            '$' | '`' | '"' | '*' | '?' | '[' | ']' | '{' | '}' | '!' | '~' => {
                (special, in_word) = (true, true);
                word.push(c);
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(format!("{cmd:?}: an unterminated quote"));
    }
    flush(&mut tokens, &mut word, &mut in_word, &mut special);
    Ok(tokens)
}

/// A fix built from hostile values against its twin built from harmless tokens: `read(command)`
/// of the hostile one must be `read` of the harmless one with each token replaced by its value
/// (`subst`), or the command must be withheld naming one of the values. True when a command was
/// compared.
pub fn assert_same_fix(
    harmless: &Fix,
    hostile: &Fix,
    subst: &[(String, String)],
    read: impl Fn(&str) -> Result<Vec<String>, String>,
) -> bool {
    let Some(cmd) = harmless.command() else {
        return false;
    };
    let Some(bad) = hostile.command() else {
        let r = hostile.refusal().unwrap_or_else(|| panic!("{hostile} has no command and no refusal ({harmless})"));
        assert!(subst.iter().any(|(_, v)| r.value.contains(v.as_str()) || v.contains(&r.value)), "{r}");
        assert!(hostile.to_string().contains("command withheld"), "{hostile}");
        return false;
    };
    assert!(hostile.to_string().contains(&bad), "the fix shows the command it copies: {hostile}");
    let want: Vec<String> = read(&cmd)
        .unwrap_or_else(|e| panic!("the harmless fix does not parse: {e}"))
        .into_iter()
        .map(|w| subst.iter().fold(w, |w, (token, v)| w.replace(token.as_str(), v)))
        .collect();
    let got = read(&bad).unwrap_or_else(|e| panic!("the hostile fix does not parse: {e}"));
    assert_eq!(got, want, "\n harmless: {cmd}\n hostile:  {bad}");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-process reader agrees with /bin/sh on rendered commands, and sees what an unquoted
    /// value would do.
    #[test]
    fn shell_tokens_read_as_the_shell_does() {
        let mut rng = Rng::new(7);
        let mut compared = 0;
        for _ in 0..1000 {
            let (a, b) = (hostile_string(&mut rng, 5), hostile_string(&mut rng, 5));
            let cmd = ShellCommand::new("iptables -t").arg(&a).lit("-I").kv("--x=", &b).arg(1);
            let Ok(line) = cmd.render() else { continue };
            let sh = shell_words(&line).unwrap();
            assert_eq!(shell_tokens(&line).unwrap(), sh, "{line}");
            assert_eq!(sh[2], a);
            compared += 1;
        }
        assert!(compared > 100, "{compared}");
        assert_eq!(shell_tokens("iptables -I p;touch$IFS/x 1").unwrap()[3], "\0op:;");
        assert_eq!(shell_tokens("aws --id a$(b)").unwrap()[2], "\0special:a$");
        assert_eq!(shell_tokens("ss x # y").unwrap(), ["ss", "x"]);
        assert!(shell_tokens("ss 'x").is_err());
    }
}
