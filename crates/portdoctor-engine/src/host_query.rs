//! What the host layers are asked, and what every host judge shares: the question, where the
//! traffic arrives, and how a host check is made. The host layer's orchestration (`host.rs`)
//! and the judges it calls (`listener`, `host_firewall`, `containers`, …) all read this, so none
//! of them has to import another's home.

use portdoctor_model::net::{Family, Proto, Source};
use portdoctor_model::{Check, CheckKind, CheckStatus, Layer};
use std::net::IpAddr;

/// The question `portdoctor host` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostQuery {
    pub port: u16,
    pub proto: Proto,
    pub from: Source,
    /// Where the traffic arrives (`--to`; in `diagnose`, the cloud layer's private address).
    /// When absent, every plausible arrival is judged (`arrivals`).
    pub to: Option<IpAddr>,
}

/// Where the client's packets arrive on this host (or, for a published port, in the container).
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub family: Family,
    pub addr: Option<IpAddr>,
    pub iface: Option<(u32, String)>,
}

/// A check on the host's path (every host layer's checks are made here).
pub(crate) fn host_check(id: &str, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id, Layer::Host, CheckKind::Path, status, summary)
}
