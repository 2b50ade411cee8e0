//! The vocabulary of portdoctor: flows, addresses, evidence and the diagnosis.
//!
//! Layer: bottom. Every other crate speaks these types. Invariants: no I/O, no clock, no
//! environment; values are validated where they are made (a `Cidr` always has a prefix that fits
//! its family). Must not depend on any other portdoctor crate.

#[macro_use]
mod words;

pub mod addrset;
pub mod cloud;
pub mod cloud_path;
pub mod diagnosis;
pub mod elb;
pub mod firewall;
pub mod fix;
pub mod host;
pub mod host_path;
pub mod host_sources;
pub mod knowledge;
pub mod net;
pub mod platform;
pub mod probe;
pub mod time;
pub mod trace;

pub use diagnosis::{
    Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Diagnosis, Hop, Layer, Query, Status, TimelineEntry,
};
pub use fix::{Fix, ShellCommand, Word};
pub use knowledge::{EvidenceSource, Fact, Knowledge, Missing, Sourced};
pub use net::{Cidr, Family, Proto, Source};
