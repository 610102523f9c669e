//! opsdeck: sources → store → evaluation → view (design §1). The engine modules know nothing of
//! the terminal; only `main` wires `tui` to them.

pub mod alertmanager;
pub mod app;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod command;
pub mod components;
pub mod config;
pub mod demo;
pub mod deploy;
pub mod duration;
pub mod engine;
pub mod health;
pub mod logs;
pub mod model;
pub mod net;
pub mod notify;
pub mod panels;
pub mod persist;
pub mod prom_api;
pub mod promql;
pub mod query;
pub mod rules;
pub mod runbook;
pub mod sanitize;
pub mod scrape;
pub mod status;
pub mod tsdb;
pub mod tui;

/// Exit codes shared by the commands (design §2, §5).
pub mod exit {
    pub const OK: i32 = 0;
    pub const DEGRADED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const LINT: i32 = 3;
}
