//! The contract between engine and view (tokio-console's `console-api` in one module): the events
//! and owned snapshots the engine sends, and the `Command`s the view sends back. It depends on
//! nothing else in the crate, so both sides depend on it and neither on the other. Every string in
//! here has been through `sanitize` before it is sent.

mod alert;
mod alertmanager;
mod component;
mod deploy;
mod health;
pub mod log;
mod panel;
pub mod runbook;

pub use alert::{AlertState, AlertView, Marker};
pub use alertmanager::{AmAlert, AmGroup, AmSilence, AmSnapshot, MatchOp, Matcher, ACK_PREFIX};
pub use component::{BackupAttempt, BackupStatus, ComponentState, ComponentStatus, Freshness};
pub use deploy::{
    CheckOutcome, DeployHistory, DeployProgress, Final, GateVerdict, HistoryRow, Interrupted, OpKind, Phase, Resolution,
};
pub use health::{EnvHealth, EnvInfo, Health};
pub use log::LogBatch;
pub use panel::{PanelData, PanelKind, PanelSeries, QueryResult, Unit};
pub use runbook::RunbookView;

use std::time::Duration;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Everything that can change the state. Sources and the engine send these.
#[derive(Debug, Clone)]
pub enum Event {
    Health {
        env: String,
        health: EnvHealth,
    },
    /// All panels, re-evaluated after new data arrived.
    Panels(Vec<PanelData>),
    /// The remote server has not answered the current round: every panel keeps its data and
    /// shows this note (what, and for how long).
    PanelsStale(String),
    Alerts(Vec<AlertView>),
    Markers(Vec<Marker>),
    /// A short status line (errors of sources, "rule file reloaded"), shown in the footer.
    Notice(String),
    /// Counters worth showing: series dropped at the cap, scrape failures, log lines dropped.
    Stats(EngineStats),
    /// New log records (or a source notice) from one environment's log source.
    Logs(LogBatch),
    /// A deploy, rollback or promotion in progress, or just finished (`last` set).
    Deploy(DeployProgress),
    /// An environment's deploy history (at start, after each operation, on request).
    DeployHistory(DeployHistory),
    /// A component after a check.
    Component(ComponentStatus),
    /// An environment's backup freshness after its source was read.
    Backup(BackupStatus),
    /// An alert's runbook, loaded (or why not) for the alert details.
    Runbook(RunbookView),
    /// The answer to the `:` prompt's query.
    QueryResult(QueryResult),
    /// What the team's Alertmanagers hold (groups, silences), read every few seconds.
    Alertmanager(AmSnapshot),
}

#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    pub series: usize,
    pub samples: usize,
    pub dropped_series: u64,
    pub targets_up: usize,
    pub targets_total: usize,
    /// The store's encoded bytes per sample, and its estimated bytes per series besides samples.
    pub bytes_per_sample: f64,
    pub series_overhead_bytes: usize,
    /// Rule groups evaluated here, and the wall time of their last evaluations together (ms).
    pub rule_groups: usize,
    pub rule_eval_ms: f64,
}

/// What the engine must do because of a key. The view never does it itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Panels are to be evaluated over this window from now on.
    SetWindow(Duration),
    /// Acknowledge (or withdraw the acknowledgement of) an alert; persisted by the engine.
    Ack {
        key: String,
        acked: bool,
    },
    /// Silence an alert (and create an Alertmanager silence when one is configured).
    Silence {
        key: String,
        duration: Duration,
    },
    /// Create a silence on every configured Alertmanager (the `s` form, or `A` in the
    /// Alertmanager view for an ack: a short silence whose comment starts with `ack:`).
    CreateSilence {
        matchers: Vec<Matcher>,
        duration: Duration,
        comment: String,
    },
    /// Evaluate an ad-hoc query over the panels' window (the `:` prompt).
    Query {
        expr: String,
    },
    /// Add a query as a panel until opsdeck quits.
    Pin {
        expr: String,
    },
    /// Expire a silence on the Alertmanager that holds it.
    ExpireSilence {
        id: String,
        source: String,
    },
    /// Deploy `version` to `env` through the deploy engine (confirmed in the `d` dialog).
    Deploy {
        env: String,
        version: String,
    },
    /// Roll `env` back to its last verified point (or `to`), confirmed.
    Rollback {
        env: String,
        to: Option<String>,
    },
    /// Deploy to `env` the version verified in its `promote_from` stage, confirmed.
    Promote {
        env: String,
    },
    /// Cancel the running operation on `env` (confirmed): it rolls back.
    CancelDeploy {
        env: String,
    },
    /// Deal with an interrupted operation (confirmed).
    Resolve {
        env: String,
        op: String,
        how: Resolution,
    },
    /// Read `env`'s history again.
    History {
        env: String,
    },
    /// Load the runbook of the alert `key` (its details were opened); answered by `Event::Runbook`.
    LoadRunbook {
        key: String,
        name: String,
        labels: Vec<(String, String)>,
        runbook_url: Option<String>,
    },
    /// Tick (or untick) a runbook step of the alert `key`; kept in the state dir until it resolves.
    TickStep {
        key: String,
        step: String,
        ticked: bool,
    },
    Quit,
}
