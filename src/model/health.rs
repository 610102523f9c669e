//! An environment's health as the poller last saw it.

use super::Millis;
use std::collections::VecDeque;

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
