//! Components (an environment's API, database, cache, workers) and backup freshness, as the view
//! and `status --json` see them.

use super::Millis;
use serde::Serialize;

/// Docker's HEALTHCHECK states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentState {
    /// No pass yet: the first check has not answered, or it fails inside its start period.
    Starting,
    Healthy,
    /// `retries` failures in a row.
    Unhealthy,
}

impl ComponentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Starting => "starting",
            ComponentState::Healthy => "healthy",
            ComponentState::Unhealthy => "unhealthy",
        }
    }
}

/// One component after its latest check. Text fields are sanitised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentStatus {
    pub env: String,
    pub name: String,
    /// "http", "tcp" or "command".
    pub kind: &'static str,
    pub state: ComponentState,
    /// Failures in a row (0 after a pass).
    pub failing_streak: u32,
    pub retries: u32,
    /// Checks run so far.
    pub checks: u64,
    /// The latest check passed.
    pub last_ok: Option<bool>,
    pub last_duration_ms: Option<f64>,
    pub last_check: Option<Millis>,
    /// Why the latest check failed, in words ("connection refused", "HTTP 503", "exit 2: ...").
    pub reason: Option<String>,
    /// The latest check's output or reply (at most 4 KiB).
    pub output: String,
    /// (when, new state), oldest first, the last few.
    pub transitions: Vec<(Millis, ComponentState)>,
    /// `tls_verify = false`: the check accepts any certificate, which the view says loudly.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_unverified: bool,
}

/// Backup freshness against the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Freshness {
    /// The last good backup is younger than the policy.
    Fresh,
    /// Older than the policy, within half a policy more: the next one is due (or running).
    Due,
    /// Older than that, or no good backup known at all.
    Overdue,
}

impl Freshness {
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Due => "due",
            Freshness::Overdue => "overdue",
        }
    }
}

/// One environment's backup, as last read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupStatus {
    pub env: String,
    pub state: Freshness,
    pub policy_seconds: u64,
    /// When the last good backup finished (ms), when known.
    pub last_success: Option<Millis>,
    /// Its age in seconds at `checked`.
    pub age_seconds: Option<u64>,
    /// When the source was last read.
    pub checked: Option<Millis>,
    /// The last attempt to read the source: ok, or why not, apart from the age (a failed read is
    /// not "too old").
    pub last_attempt: BackupAttempt,
    /// "restic", "pgbackrest" or "promql".
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupAttempt {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the source said about the latest backup (e.g. "snapshot 1a2b3c4d of host db1").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
