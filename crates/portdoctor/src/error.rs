//! The binary's one error type: what the user must change (usage and input) apart from what
//! failed while running. CONTRACT.md §2 gives both exit 2 with one line on stderr (`snapshot`,
//! `capture` and `probe` exit 2 on any error); the kind decides what a diagnosis does with a
//! layer's failure — a runtime failure of one layer is an `unknown` check there, an input error
//! is never guessed around.

use portdoctor_collect::SourceError;
use std::fmt;

#[derive(Debug)]
pub(crate) enum Error {
    /// A bad flag or argument, or input that does not read (a file, a folder, a field).
    Usage(String),
    /// A failure while running: an API that cannot be reached, an output that cannot be written.
    Runtime(String),
}

impl Error {
    pub(crate) fn exit_code(&self) -> u8 {
        2
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Runtime(m) => f.write_str(m),
        }
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Error {
        match e {
            SourceError::Input(m) => Error::Usage(m),
            SourceError::Unreachable(m) => Error::Runtime(m),
        }
    }
}

/// Errors that are the input's (a snapshot, a parser's finding) or the run's (I/O, encoding).
macro_rules! kind_of {
    ($kind:ident: $($from:ty),+) => {$(
        impl From<$from> for Error {
            fn from(e: $from) -> Error {
                Error::$kind(e.to_string())
            }
        }
    )+};
}

kind_of!(Usage: portdoctor_collect::snapshot::SnapshotError, portdoctor_parse::ParseError);
kind_of!(Runtime: std::io::Error, serde_json::Error);
