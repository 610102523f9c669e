//! Integration tests: sources (one test binary, so the crate is linked once for all of them).

#[path = "../common/mod.rs"]
mod common;

mod alertmanager;
mod components;
mod crash_safety;
mod demo_fleet;
mod demo_prometheus;
mod demo_rules;
mod deploy_engine;
mod faults;
mod health_poller;
mod logs;
mod remote_alerts;
mod remote_prometheus;
mod scrape_targets;
mod status_demo;
mod victoria_metrics;
