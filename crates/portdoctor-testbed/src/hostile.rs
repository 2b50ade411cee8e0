//! Hostile text for the trust-boundary tests (issue 17): strings a compromised machine could put
//! in its evidence, a POSIX shell's reading of a printed command, and what a terminal or
//! Markdown would act on.

use crate::rng::Rng;
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
