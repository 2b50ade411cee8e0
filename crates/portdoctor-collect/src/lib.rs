//! The only crate that touches the host: sockets over netlink, /proc, and a closed list of
//! read-only commands with fixed argv. It returns raw evidence (`RawHost`) — the same shape a
//! snapshot folder holds — and leaves all meaning to portdoctor-parse and portdoctor-engine.
//!
//! Layer: collect. Invariants: read-only, never changes the host; a source that cannot be read
//! is recorded with why (tool missing, permission denied, failed), never dropped.

pub mod aws_snapshot;
pub mod capture;
pub mod child;
pub mod host;
pub mod probe;
pub mod procs;
pub mod remote;
pub mod safe_fs;
pub mod snapshot;
pub mod sockdiag;
pub mod ssh;
