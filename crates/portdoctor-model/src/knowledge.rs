//! `Knowledge<T>`: a fact we have, or the reason we do not and how to get it.
//!
//! "Unknown is an answer" (house rule 3): a source that could not be read is carried as data all
//! the way to the report, never silently replaced by a default.

use serde::{Deserialize, Serialize};

/// Why a piece of evidence is missing, and what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// What could not be had, e.g. "listening sockets".
    pub what: String,
    /// Why, e.g. "permission denied reading /proc/1234/fd".
    pub reason: String,
    /// How to get it, e.g. "run portdoctor as root (sudo)".
    pub remedy: String,
}

impl Missing {
    pub fn new(what: impl Into<String>, reason: impl Into<String>, remedy: impl Into<String>) -> Self {
        Missing { what: what.into(), reason: reason.into(), remedy: remedy.into() }
    }

    /// One line for an `unknown` check's evidence.
    pub fn describe(&self) -> String {
        format!("{} unavailable: {}; to get it: {}", self.what, self.reason, self.remedy)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Knowledge<T> {
    Known(T),
    Unavailable(Missing),
}

impl<T> Knowledge<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Knowledge::Known(v) => Some(v),
            Knowledge::Unavailable(_) => None,
        }
    }

    pub fn missing(&self) -> Option<&Missing> {
        match self {
            Knowledge::Known(_) => None,
            Knowledge::Unavailable(m) => Some(m),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Knowledge<U> {
        match self {
            Knowledge::Known(v) => Knowledge::Known(f(v)),
            Knowledge::Unavailable(m) => Knowledge::Unavailable(m),
        }
    }
}

/// The evidence source a fact was read from: its name (the host source registry's key, which is
/// also its file in a snapshot, e.g. `ip-route.json`) and how it was obtained (the command run
/// or the file read, as the evidence recorded it, live or in a snapshot's manifest). Evidence
/// lines name the source by its name, so a report reads the same live and from a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceSource {
    pub name: String,
    /// Empty when the evidence did not record how (a source built in code, or by a test).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub obtained_by: String,
}

impl EvidenceSource {
    pub fn named(name: impl Into<String>) -> EvidenceSource {
        EvidenceSource { name: name.into(), obtained_by: String::new() }
    }
}

impl std::fmt::Display for EvidenceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// A fact and the source it was read from. It reads as the fact itself (`Deref`), so a judge
/// asks `ev.routes.known()` and names `ev.routes.from` in its evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<K> {
    pub from: EvidenceSource,
    pub fact: K,
}

/// A fact that was read, or why not, with its source.
pub type Fact<T> = Sourced<Knowledge<T>>;

impl<K> Sourced<K> {
    pub fn new(from: EvidenceSource, fact: K) -> Sourced<K> {
        Sourced { from, fact }
    }
}

impl<K> std::ops::Deref for Sourced<K> {
    type Target = K;
    fn deref(&self) -> &K {
        &self.fact
    }
}
