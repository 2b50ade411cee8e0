//! The one clock read in portdoctor: "now", for snapshot stamps and the change window.

use portdoctor_model::time::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> Timestamp {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0))
}

pub fn now_rfc3339() -> String {
    now().to_string()
}
