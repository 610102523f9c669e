//! The data the engine hands to the view. Every string in here has been through `sanitize`.

use std::collections::VecDeque;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Never checked yet.
    Unknown,
    Up,
    Down,
    /// No answer within two intervals.
    Stale,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
            Health::Stale => "stale",
        }
    }
}

/// One environment's health as the poller last saw it.
#[derive(Debug, Clone)]
pub struct EnvHealth {
    pub health: Health,
    pub latency_ms: Option<f64>,
    pub version: Option<String>,
    /// Why it is down or stale: "timeout after 3s", "connection refused", "HTTP 503", "DNS: ...".
    pub reason: Option<String>,
    /// When the last check finished (answer or not).
    pub last_check: Option<Millis>,
    /// When it last answered healthy.
    pub last_ok: Option<Millis>,
    /// Recent latencies (ms) for the sparkline, newest last; `None` = failed check.
    pub latency_history: VecDeque<Option<f64>>,
    /// Up checks / all checks over the retained history, for "up-time %".
    pub checks_ok: u64,
    pub checks_total: u64,
}

impl Default for EnvHealth {
    fn default() -> Self {
        EnvHealth {
            health: Health::Unknown,
            latency_ms: None,
            version: None,
            reason: None,
            last_check: None,
            last_ok: None,
            latency_history: VecDeque::new(),
            checks_ok: 0,
            checks_total: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnvInfo {
    pub name: String,
    pub protected: bool,
}

/// How panel values are shown (Grafana-like formatting lives in `tui::format`).
pub use crate::config::{PanelKind, Unit};

/// One line on a chart (or one row of a table / bar).
#[derive(Debug, Clone)]
pub struct PanelSeries {
    /// Legend text, e.g. "production p95".
    pub label: String,
    /// Which environment it belongs to, for colouring and the one-environment filter.
    pub env: Option<String>,
    /// Points over the window; `None` is a gap (stale or missing), never drawn as zero.
    pub points: Vec<(Millis, Option<f64>)>,
}

impl PanelSeries {
    pub fn last(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone)]
pub struct PanelData {
    /// Stable id: "overview", "errors", "latency", "scrapers", "business", or "user:N".
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub kind: PanelKind,
    pub series: Vec<PanelSeries>,
    /// A threshold line (e.g. HighErrorRate's 5%) in the panel's unit.
    pub threshold: Option<(String, f64)>,
    /// Why there is nothing to draw: "no data: target down since 10:42", or a query error.
    pub note: Option<String>,
}

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

/// Everything that can change the state. Sources and the engine send these.
#[derive(Debug, Clone)]
pub enum Event {
    Health {
        env: String,
        health: EnvHealth,
    },
    /// All panels, re-evaluated after new data arrived.
    Panels(Vec<PanelData>),
    Alerts(Vec<AlertView>),
    Markers(Vec<Marker>),
    /// A short status line (errors of sources, "rule file reloaded"), shown in the footer.
    Notice(String),
    /// Counters worth showing: series dropped at the cap, scrape failures, log lines dropped.
    Stats(EngineStats),
    /// New log records (or a source notice) from one environment's log source.
    Logs(crate::logs::LogBatch),
    /// Critical alerts that just started firing (their keys): ring the bell.
    Bell(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    pub series: usize,
    pub samples: usize,
    pub dropped_series: u64,
    pub targets_up: usize,
    pub targets_total: usize,
}
