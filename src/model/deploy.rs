//! What the deploy engine reports about an operation while it runs and when it ends: the same
//! words for the headless commands, the journal, `history` and the dashboard's progress view.

use super::Millis;
use serde::{Deserialize, Serialize};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Deploy,
    Rollback,
    Promote,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Deploy => "deploy",
            OpKind::Rollback => "rollback",
            OpKind::Promote => "promote",
        }
    }
}

/// One measurement's verdict (after Argo Rollouts): `Inconclusive` is "no data, an empty result or
/// NaN" (a failure during bake, never a pass); `Error` is "could not measure", counted toward its
/// own consecutive limit and not toward failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    Success,
    Failure,
    Inconclusive,
    Error,
}

impl CheckOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Success => "success",
            CheckOutcome::Failure => "failure",
            CheckOutcome::Inconclusive => "inconclusive",
            CheckOutcome::Error => "error",
        }
    }
}

/// The step an operation is in, in flow order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    PreCheck,
    RollbackPoint,
    Driver,
    Verify,
    Bake,
    Rollback,
    RollbackVerify,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreCheck => "pre-check",
            Phase::RollbackPoint => "rollback point",
            Phase::Driver => "driver",
            Phase::Verify => "verify",
            Phase::Bake => "bake",
            Phase::Rollback => "rolling back",
            Phase::RollbackVerify => "verifying the rollback",
            Phase::Done => "done",
        }
    }
}

/// How an operation ended. The exit codes of design §5 follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Final {
    /// Done and verified (exit 0).
    Verified,
    /// Failed and rolled back to the rollback point, which was verified again (exit 3).
    RolledBack,
    /// Failed, and the rollback failed too or was impossible: a human is needed (exit 4).
    RollbackFailed,
    /// Refused before anything changed (exit 5).
    Refused,
    /// `--dry-run`: the plan was printed, nothing ran (exit 0).
    DryRun,
}

impl Final {
    pub fn as_str(self) -> &'static str {
        match self {
            Final::Verified => "verified",
            Final::RolledBack => "rolled back",
            Final::RollbackFailed => "rollback failed",
            Final::Refused => "refused",
            Final::DryRun => "dry run",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Final::Verified | Final::DryRun => 0,
            Final::RolledBack => 3,
            Final::RollbackFailed => 4,
            Final::Refused => 5,
        }
    }
}

/// One gate's latest verdict, with the value its expression had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateVerdict {
    pub name: String,
    pub outcome: CheckOutcome,
    pub value: Option<f64>,
    /// In words: "p95 2.83 > threshold", "no data", "scrape failed: refused".
    pub detail: String,
}

/// A running (or just finished) operation, as the view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployProgress {
    pub id: String,
    pub env: String,
    pub kind: OpKind,
    pub version: String,
    pub rollback_point: Option<String>,
    pub phase: Phase,
    pub started: Millis,
    pub checks_done: u32,
    pub checks_total: u32,
    /// Until when the bake runs, in its phase.
    pub bake_until: Option<Millis>,
    pub gates: Vec<GateVerdict>,
    /// The driver's output, sanitised, newest last (a bounded tail).
    pub output: Vec<String>,
    /// The latest thing that happened, in words.
    pub message: String,
    pub last: Option<Final>,
}

/// An operation whose process died before its final record: the choices are verify, roll back
/// or mark resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interrupted {
    pub id: String,
    pub env: String,
    pub kind: OpKind,
    pub version: String,
    pub rollback_point: Option<String>,
    pub user: String,
    pub started: Millis,
    /// The step its last record reached.
    pub reached: String,
}

/// One operation of an environment's history, as the history view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: String,
    pub started: Millis,
    pub kind: OpKind,
    pub version: String,
    /// "verified", "rolled back", "rollback failed", "running", "interrupted".
    pub outcome: String,
    pub took_ms: Option<Millis>,
    pub user: String,
    pub forced: bool,
    pub detail: String,
}

/// An environment's deploy history, read from the journal at start and after each operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployHistory {
    pub env: String,
    /// Oldest first.
    pub rows: Vec<HistoryRow>,
    /// Verified releases, newest first: where a rollback can go.
    pub points: Vec<String>,
    pub interrupted: Option<Interrupted>,
    /// Journal lines that could not be read, in words.
    pub problems: Vec<String>,
}

/// What to do with an interrupted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Check health now: healthy on its version records it verified.
    Verify,
    /// Roll back to the last verified point.
    RollBack,
    /// Record that a human dealt with it.
    MarkResolved,
}
