//! Evidence text and bytes → model types. One module per source format.
//!
//! Layer: parse, between collect (which fetches bytes) and engine (which judges). Invariants: pure
//! (no I/O), never panics on input — every malformed input is a `ParseError` naming the file and
//! the field or line. The same functions read live output and snapshot files, so a snapshot
//! reproduces a live run. Depends only on portdoctor-model.

pub mod aws;
pub mod host;
pub mod iproute;
pub mod ipset;
pub mod iptables;
pub mod nft;
pub mod packet;
pub mod platform;
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.message)
    }
}
