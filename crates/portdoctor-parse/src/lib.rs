//! Evidence text and bytes → model types. One module per source format.
//!
//! Layer: parse, between collect (which fetches bytes) and engine (which judges). Invariants: pure
//! (no I/O), never panics on input — every malformed input is a `ParseError` naming the file and
//! the field or line. The same functions read live output and snapshot files, so a snapshot
//! reproduces a live run. Depends only on portdoctor-model.

pub mod aws;
pub mod aws_elb;
pub mod datapath;
pub mod host;
/// The registry of host sources lives with the evidence it fills (the model).
pub use portdoctor_model::host_sources;
pub mod iproute;
pub mod ipset;
pub mod iptables;
pub mod nfnl;
pub mod nft;
pub mod packet;
pub mod platform;
pub mod privilege;
pub mod procfs;
pub mod rtnl;
pub mod selinux;
pub mod sockdiag;
pub mod sockets;
pub mod ss;
pub mod systemd;
pub mod wrappers;

use std::fmt;

/// A malformed input: which file, which field or line, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub file: String,
    pub field: String,
    pub message: String,
}

impl ParseError {
    pub fn new(file: &str, field: impl Into<String>, message: impl Into<String>) -> ParseError {
        ParseError { file: file.to_string(), field: field.into(), message: message.into() }
    }
}

impl fmt::Display for ParseError {
    /// One line whatever the input held: a file name or a quoted value with a newline cannot
    /// break it, and a huge value cannot flood it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", one_line(&self.file, 200), one_line(&self.field, 200), one_line(&self.message, 300))
    }
}

/// Text from the evidence or the command line made safe for a one-line message: control and
/// invisible direction characters escaped (a newline becomes `\n`), at most `max` characters,
/// then "…".
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

/// A value quoted in an error message: a short, escaped excerpt in quotes, never the whole
/// input (a garbage file of sixty lines is not echoed).
pub fn excerpt(s: &str) -> String {
    format!("'{}'", one_line(s.trim(), 40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_on_one_bounded_line() {
        assert_eq!(one_line("a\nb\tc\u{1b}[31m", 80), "a\\nb\\tc\\u{1b}[31m");
        assert_eq!(one_line("abcdef", 3), "abc…");
        let garbage = excerpt(&"garbage line\n".repeat(60));
        assert!(garbage.starts_with("'garbage line\\ngarbage") && garbage.ends_with("…'"), "{garbage}");
        assert!(garbage.chars().count() < 60 && !garbage.contains('\n'), "{garbage}");
        let e = ParseError::new("a\nb.txt", "line 1", "x".repeat(10_000));
        let shown = e.to_string();
        assert!(!shown.contains('\n') && shown.chars().count() < 520, "{shown}");
        assert!(shown.starts_with("a\\nb.txt: line 1: "), "{shown}");
    }
}
