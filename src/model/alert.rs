//! Alerts as the view shows them, and deploy markers on the time charts.

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Firing,
    Pending,
    /// Resolved alerts are kept 15 minutes, as Prometheus does.
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
            AlertState::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AlertView {
    /// Stable identity (rule + label set) for acks and selection.
    pub key: String,
    pub name: String,
    pub state: AlertState,
    pub severity: String,
    pub env: Option<String>,
    pub summary: String,
    pub active_since: Millis,
    pub resolved_at: Option<Millis>,
    pub value: f64,
    pub expr: String,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// (time, state) transitions, oldest first.
    pub history: Vec<(Millis, AlertState)>,
    pub acked: bool,
    pub silenced_until: Option<Millis>,
}

/// A deploy or rollback on the time charts.
#[derive(Debug, Clone)]
pub struct Marker {
    pub at: Millis,
    pub env: String,
    pub label: String,
    pub rollback: bool,
}
