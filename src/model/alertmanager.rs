//! Alertmanager as the view sees it: its alert groups, its silences, and which servers answered.
//! Every string here came from a remote server and has been through `sanitize` already.

use super::Millis;

/// How a silence matcher compares a label (Alertmanager's `isEqual` × `isRegex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// One alert as Alertmanager holds it (de-duplicated by fingerprint across Alertmanagers).
#[derive(Debug, Clone, PartialEq)]
pub struct AmAlert {
    pub fingerprint: String,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub starts_at: Millis,
    /// "active", "suppressed" or "unprocessed".
    pub state: String,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
    /// The Alertmanagers that hold it.
    pub sources: Vec<String>,
}

impl AmAlert {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn name(&self) -> &str {
        self.label("alertname").unwrap_or("")
    }
    pub fn muted(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

/// A group as Alertmanager's route groups it: its group labels, receiver and alerts (indices
/// into `AmSnapshot::alerts`).
#[derive(Debug, Clone, PartialEq)]
pub struct AmGroup {
    pub labels: Vec<(String, String)>,
    pub receiver: String,
    pub alerts: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AmSilence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub created_by: String,
    pub comment: String,
    /// "active", "pending" or "expired".
    pub state: String,
    /// The Alertmanager it lives on.
    pub source: String,
}

impl AmSilence {
    /// An acknowledgement is a short silence whose comment says so (`ack:` prefix).
    pub fn is_ack(&self) -> bool {
        self.comment.starts_with(ACK_PREFIX)
    }
}

/// The comment prefix that marks a silence as an acknowledgement.
pub const ACK_PREFIX: &str = "ack:";

/// What every configured Alertmanager said at the last poll.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AmSnapshot {
    pub alerts: Vec<AmAlert>,
    pub groups: Vec<AmGroup>,
    pub silences: Vec<AmSilence>,
    /// (Alertmanager, why it did not answer), for the ones that did not.
    pub errors: Vec<(String, String)>,
    /// When the poll finished.
    pub at: Millis,
}
