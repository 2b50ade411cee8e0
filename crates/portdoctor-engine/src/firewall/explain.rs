//! The firewall walk's answers in words, for evidence and messages: a verdict, and the rule
//! (or chain policy) it rests on, as `iptables-save`/nft would show it.

use super::{RuleRef, Verdict};

impl Verdict {
    pub fn describe(&self) -> String {
        match self {
            Verdict::Accept => "admitted".into(),
            Verdict::Drop(r) => format!("dropped by {}", r.describe()),
            Verdict::Reject(r, k) => format!("rejected ({k}) by {}", r.describe()),
            Verdict::Unknown(r, why) => format!("undecided at {} ({why})", r.describe()),
        }
    }
}

impl RuleRef {
    pub fn describe(&self) -> String {
        if self.index == 0 {
            format!("{} table {} chain {}: policy {}", self.backend.name(), self.table, self.chain, self.text)
        } else {
            format!(
                "{} table {} chain {} rule {}: {}",
                self.backend.name(),
                self.table,
                self.chain,
                self.index,
                self.text
            )
        }
    }
}
