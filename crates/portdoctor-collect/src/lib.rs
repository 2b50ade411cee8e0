//! The only crate that touches the host: sockets over netlink, /proc, and a closed list of
//! read-only commands with fixed argv. It returns raw evidence (`RawHost`) — the same shape a
//! snapshot folder holds — and leaves all meaning to portdoctor-parse and portdoctor-engine.
//!
//! It also assembles a case (`case`): the cloud layer walked once (`cloud`: the engine's network
//! walk names what the platform layer is asked about), the host, the probes and a capture, from
//! a case folder or live. It asks the engine only that walk; every verdict is the engine's.
//!
//! Layer: collect. Invariants: read-only, never changes the host; a source that cannot be read
//! is recorded with why (tool missing, permission denied, failed), never dropped.

pub mod aws_snapshot;
pub mod capture;
pub mod case;
pub mod child;
pub mod cloud;
pub mod host;
pub mod probe;
pub mod procs;
pub mod remote;
pub mod remote_trace;
pub mod safe_fs;
pub mod snapshot;
pub mod sockdiag;
pub mod ssh;
pub mod vantage;

/// Why a source gave no evidence.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Input that is there but does not read (a file, a folder, a field): the user's to fix.
    #[error("{0}")]
    Input(String),
    /// A source that could not be reached or did not answer as expected (an API, a connection):
    /// a runtime failure, which a diagnosis reports as an `unknown` layer.
    #[error("{0}")]
    Unreachable(String),
}

impl From<snapshot::SnapshotError> for SourceError {
    fn from(e: snapshot::SnapshotError) -> Self {
        SourceError::Input(e.to_string())
    }
}
