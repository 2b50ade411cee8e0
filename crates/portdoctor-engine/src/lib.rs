//! The judges: evidence and a question in, a `Diagnosis` out.
//!
//! Layer: engine. Invariants: pure — no clock, no environment, no files, no sockets; the same
//! evidence always gives the same diagnosis, so live runs and snapshots agree by construction.
//! Every cause and check cites the evidence it rests on. Depends only on portdoctor-model.

pub mod cloud;
pub mod containers;
pub mod datapath;
pub mod diagnose;
pub mod family;
pub mod firewall;
pub mod host;
pub mod host_firewall;
pub mod host_query;
pub mod kernel_path;
mod listener;
pub mod platform;
mod routing;
pub mod selinux;
pub mod services;
pub mod witness;
pub mod wrappers;
