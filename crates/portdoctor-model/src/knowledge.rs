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
