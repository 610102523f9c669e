//! `opsdeck status [--json]`: poll every environment's health once, concurrently, and report.
//! Each check is bounded by its environment's `timeout`, so the command answers in about the
//! longest configured timeout even when endpoints hang. Exit 0 when all are up, 1 otherwise.

use crate::config::{Config, Environment};
use crate::{exit, health};
use serde::Serialize;

/// One environment's line of the report (the JSON shape is a contract: design §2, issue 2).
#[derive(Debug, Clone, Serialize)]
pub struct EnvStatus {
    pub name: String,
    /// "up", "down" or "stale".
    pub health: &'static str,
    pub latency_ms: Option<f64>,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub alerts: Vec<StatusAlert>,
}

/// An alert as `status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct StatusAlert {
    pub name: String,
    /// "pending" or "firing".
    pub state: String,
    pub severity: String,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environments: Vec<EnvStatus>,
}

impl Report {
    pub fn all_up(&self) -> bool {
        self.environments.iter().all(|e| e.health == "up")
    }
}

/// The alerts of one environment from rule evaluation over what one scrape allows.
///
/// Hook for the lead: rule evaluation (crate::rules) is wired here once it lands. Until then it
/// returns no alerts, and `status` judges by health alone.
fn alerts_for(_cfg: &Config, _env: &Environment) -> Vec<StatusAlert> {
    Vec::new()
}

/// Poll every environment once and build the report.
pub async fn poll(cfg: &Config) -> Report {
    let client = health::client();
    let checks = cfg.environments.iter().map(|env| {
        let client = &client;
        async move {
            let Some(h) = &env.health else {
                return EnvStatus {
                    name: env.name.clone(),
                    health: "stale",
                    latency_ms: None,
                    version: None,
                    reason: Some("no health check configured".into()),
                    alerts: alerts_for(cfg, env),
                };
            };
            let r = health::check_once(client, h).await;
            EnvStatus {
                name: env.name.clone(),
                health: if r.up { "up" } else { "down" },
                latency_ms: r.latency_ms.map(|l| (l * 10.0).round() / 10.0),
                version: r.version,
                reason: r.reason,
                alerts: alerts_for(cfg, env),
            }
        }
    });
    Report { environments: futures::future::join_all(checks).await }
}

pub async fn run(cfg: &Config, json: bool) -> anyhow::Result<i32> {
    if cfg.environments.is_empty() {
        eprintln!("opsdeck: {} defines no [[environment]]; nothing to check", cfg.path.display());
        return Ok(exit::USAGE);
    }
    let report = poll(cfg).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(if report.all_up() { exit::OK } else { exit::DEGRADED })
}

/// The text table: one row per environment, reasons and alerts spelled out.
pub fn table(r: &Report) -> String {
    let name_w = r.environments.iter().map(|e| e.name.chars().count()).max().unwrap_or(4).max(11);
    let ver_w =
        r.environments.iter().filter_map(|e| e.version.as_ref()).map(|v| v.chars().count()).max().unwrap_or(0).max(7);
    let mut out =
        format!("{:<name_w$}  {:<6}  {:>9}  {:<ver_w$}  DETAIL\n", "ENVIRONMENT", "HEALTH", "LATENCY", "VERSION");
    for e in &r.environments {
        let mark = match e.health {
            "up" => "✔ up",
            "down" => "✖ down",
            _ => "? stale",
        };
        let latency = e.latency_ms.map(|l| format!("{l:.0} ms")).unwrap_or_else(|| "-".into());
        let mut detail = e.reason.clone().unwrap_or_default();
        for a in &e.alerts {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&format!("{} {} ({})", a.state, a.name, a.severity));
        }
        let row = format!(
            "{:<name_w$}  {:<6}  {:>9}  {:<ver_w$}  {}",
            e.name,
            mark,
            latency,
            e.version.as_deref().unwrap_or("-"),
            detail
        );
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_environment_with_its_reason() {
        let r = Report {
            environments: vec![
                EnvStatus {
                    name: "production".into(),
                    health: "up",
                    latency_ms: Some(3.2),
                    version: Some("1.4.1".into()),
                    reason: None,
                    alerts: vec![],
                },
                EnvStatus {
                    name: "staging".into(),
                    health: "down",
                    latency_ms: None,
                    version: None,
                    reason: Some("connection refused".into()),
                    alerts: vec![StatusAlert {
                        name: "HighErrorRate".into(),
                        state: "firing".into(),
                        severity: "critical".into(),
                        summary: String::new(),
                    }],
                },
            ],
        };
        let t = table(&r);
        assert!(t.lines().nth(1).unwrap().contains("production") && t.contains("3 ms") && t.contains("1.4.1"), "{t}");
        assert!(t.contains("connection refused; firing HighErrorRate (critical)"), "{t}");
        assert!(!r.all_up());
    }
}
