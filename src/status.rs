//! `opsdeck status [--json]`: poll every environment's health once, concurrently, and report.
//! Each check is bounded by its environment's `timeout`, so the command answers in about the
//! longest configured timeout even when endpoints hang. Exit 0 when all are up, 1 otherwise.

use crate::config::Config;
use crate::model::AlertState;
use crate::scrape::target::{Target, TargetState};
use crate::tsdb::{Storage, StorageOptions};
use crate::{exit, health};
use serde::Serialize;
use std::collections::HashMap;

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
    /// A deploy operation whose process died before its end (design §5): it needs a decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<crate::model::Interrupted>,
    /// The operation running now on this environment (from its lock), e.g. "deploy 1.6.0 by alice".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Each component's verdict (design §10 `components`), in config order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<crate::model::ComponentStatus>,
    /// Backup freshness, when the environment has a `backup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::model::BackupStatus>,
    /// Each scrape target's one scrape: `up` and, when down, why (as Prometheus's target page).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<StatusTarget>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusTarget {
    pub job: String,
    pub instance: String,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An alert as `status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct StatusAlert {
    pub name: String,
    /// "pending" or "firing".
    pub state: String,
    pub severity: String,
    pub summary: String,
    pub labels: std::collections::BTreeMap<String, String>,
    /// When it became active (RFC 3339), as Prometheus's `activeAt`.
    #[serde(rename = "activeAt")]
    pub active_at: String,
}

impl StatusAlert {
    fn of(v: crate::model::AlertView) -> StatusAlert {
        StatusAlert {
            name: v.name,
            state: v.state.as_str().to_string(),
            severity: v.severity,
            summary: v.summary,
            labels: v.labels.into_iter().collect(),
            active_at: chrono::DateTime::from_timestamp_millis(v.active_since)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Where the alerts came from: "local", "remote-rules" or "server" (`[alerting] source`).
    pub alert_source: &'static str,
    pub environments: Vec<EnvStatus>,
    /// The store this check filled (one scrape of every target: one sample a series, so its
    /// bytes are mostly chunk headers; the dashboard's footer shows the live bytes per sample).
    pub store: StoreFigures,
    /// Alerts with no `env` label, so of no environment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_alerts: Vec<StatusAlert>,
    /// Problems that did not stop the check (a broken rule file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// Every environment up and none of its components unhealthy.
    pub fn all_up(&self) -> bool {
        self.environments.iter().all(|e| {
            e.health == "up" && e.components.iter().all(|c| c.state != crate::model::ComponentState::Unhealthy)
        })
    }

    /// Exit 1 also when a critical alert fires, even with every environment up.
    pub fn critical_firing(&self) -> bool {
        self.environments.iter().flat_map(|e| &e.alerts).any(|a| a.state == "firing" && a.severity == "critical")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreFigures {
    pub series: usize,
    pub samples: usize,
    pub encoded_bytes: usize,
    pub series_overhead_bytes: usize,
}

/// One scrape of every target into a fresh store: what a single scrape allows (a `rate()` needs
/// two samples, so rate-based rules stay quiet here; a `for:` keeps its alert pending).
async fn scrape_once(cfg: &Config) -> (Storage, Vec<(String, StatusTarget)>) {
    let client = crate::net::client();
    let targets: Vec<Target> = cfg
        .environments
        .iter()
        .flat_map(|e| e.scrape.iter().flat_map(move |sc| Target::from_config(&e.name, sc)))
        .collect();
    let outcomes = futures::future::join_all(targets.iter().map(|t| crate::scrape::target::scrape(&client, t))).await;
    let now = crate::engine::now_ms();
    let mut storage = Storage::new(StorageOptions { retention_ms: 3_600_000, max_series: cfg.general.max_series });
    let mut report = Vec::with_capacity(targets.len());
    for (t, o) in targets.into_iter().zip(&outcomes) {
        let (env, job, instance) = (t.env.clone(), t.job.clone(), t.instance.clone());
        let r = TargetState::new(t).ingest(&mut storage, o, now);
        let error = r.error.map(|e| crate::sanitize::line(&e.to_string()).into_owned());
        report.push((env, StatusTarget { job, instance, up: r.up, error }));
    }
    (storage, report)
}

/// Alerts from the configured source: the rule files (and the built-in rules) evaluated once
/// over the store (`local`), the rule files through the server (`remote-rules`), or the
/// server's own alerts (`server`); the built-in rules always locally. Rule file problems and
/// an unreachable server are returned as warnings.
async fn evaluate_alerts(cfg: &Config, storage: &mut Storage, now: i64) -> (Vec<crate::model::AlertView>, Vec<String>) {
    use crate::config::AlertSource;
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let source = cfg.alerting.source();
    let mut local_eval = |files: bool, out: &mut Vec<crate::model::AlertView>, warnings: &mut Vec<String>| {
        match crate::rules::load_parts(cfg, files, true) {
            Ok(Some(mut r)) => out.extend(r.eval(storage, now).iter().map(|a| a.to_view())),
            Ok(None) => {}
            Err(errs) => warnings.extend(errs.iter().map(|e| format!("rules: {e}"))),
        }
    };
    local_eval(source == AlertSource::Local, &mut out, &mut warnings);
    let client = match (source, &cfg.prometheus) {
        (AlertSource::Local, _) | (_, None) => return (out, warnings),
        (_, Some(p)) => match crate::prom_api::Client::from_config(p) {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!("alerts: {e}"));
                return (out, warnings);
            }
        },
    };
    match source {
        AlertSource::Server => match client.alerts().await {
            Ok(v) => out.extend(v),
            Err(e) => warnings.push(format!("alerts from the server: {e}")),
        },
        AlertSource::RemoteRules => match crate::rules::load_parts(cfg, true, false) {
            Ok(Some(mut r)) => {
                let results = client.instant_all(r.expr_sources(), now, crate::engine::REMOTE_IN_FLIGHT).await;
                if let Some(Err(e)) = results.values().find(|r| r.is_err()) {
                    warnings.push(format!("alerts through the server: {e}"));
                }
                r.evaluator_mut().remote = Some(results);
                out.extend(r.eval(storage, now).iter().map(|a| a.to_view()));
            }
            Ok(None) => {}
            Err(errs) => warnings.extend(errs.iter().map(|e| format!("rules: {e}"))),
        },
        AlertSource::Local => {}
    }
    (out, warnings)
}

/// Every environment's backup source read once (commands run, expressions over `storage`).
async fn read_backups(cfg: &Config) -> Vec<(String, Result<crate::backup::formats::Latest, String>)> {
    let reads = cfg.environments.iter().filter_map(|e| {
        let b = e.backup.as_ref().filter(|b| !b.command.is_empty())?;
        Some(async move { (e.name.clone(), crate::backup::read_command(b).await) })
    });
    futures::future::join_all(reads).await
}

/// Poll every environment once and build the report; `deploy_dir` holds the deploy journals.
pub async fn poll(cfg: &Config, deploy_dir: &std::path::Path) -> Report {
    let client = crate::net::client();
    let checks = cfg.environments.iter().map(|env| {
        let client = &client;
        async move {
            let mut e = EnvStatus {
                name: env.name.clone(),
                health: "stale",
                latency_ms: None,
                version: None,
                reason: Some("no health check configured".into()),
                alerts: vec![],
                interrupted: None,
                operation: None,
                components: vec![],
                backup: None,
                targets: vec![],
            };
            if let Some(h) = &env.health {
                let r = health::check_once(client, h).await;
                e.health = if r.up { "up" } else { "down" };
                e.latency_ms = r.latency_ms.map(|l| (l * 10.0).round() / 10.0);
                e.version = r.version;
                e.reason = r.reason;
            }
            e
        }
    });
    let (mut environments, components, backup_reads, (mut storage, targets)) = tokio::join!(
        futures::future::join_all(checks),
        crate::components::verdicts(&cfg.environments),
        read_backups(cfg),
        scrape_once(cfg)
    );
    let now = crate::engine::now_ms();
    for c in &components {
        crate::components::record_series(&mut storage, c, now);
    }
    let mut backups = HashMap::new();
    for env in &cfg.environments {
        let Some(b) = &env.backup else { continue };
        let mut t = crate::backup::Tracker::new(&env.name, b);
        match backup_reads.iter().find(|(n, _)| *n == env.name) {
            Some((_, got)) => t.record(got.clone(), now),
            None => t.record_value(crate::backup::eval_expr(&storage, b, now), now),
        }
        let st = t.status(now);
        crate::backup::record_series(&mut storage, &st, now);
        backups.insert(env.name.clone(), st);
    }
    let (views, warnings) = evaluate_alerts(cfg, &mut storage, now).await;
    let mut alerts: HashMap<String, Vec<StatusAlert>> = HashMap::new();
    let mut other_alerts = Vec::new();
    for v in views.into_iter().filter(|v| v.state != AlertState::Resolved) {
        match v.env.clone().filter(|e| cfg.environment(e).is_some()) {
            Some(env) => alerts.entry(env).or_default().push(StatusAlert::of(v)),
            None => other_alerts.push(StatusAlert::of(v)),
        }
    }
    for e in &mut environments {
        e.alerts = alerts.remove(&e.name).unwrap_or_default();
        e.components = components.iter().filter(|c| c.env == e.name).cloned().collect();
        e.backup = backups.remove(&e.name);
        e.targets = targets.iter().filter(|(env, _)| *env == e.name).map(|(_, t)| t.clone()).collect();
        if cfg.environment(&e.name).is_some_and(|c| c.deploy.is_some()) {
            e.interrupted = crate::deploy::journal::History::load(deploy_dir, &e.name).interrupted();
            e.operation = crate::deploy::lock::holder(deploy_dir, &e.name)
                .map(|h| crate::sanitize::line(&format!("{} by {} (pid {})", h.operation, h.user, h.pid)).into_owned());
        }
    }
    let store = StoreFigures {
        series: storage.num_series(),
        samples: storage.num_samples(),
        encoded_bytes: storage.sample_bytes(),
        series_overhead_bytes: storage.series_overhead_bytes(),
    };
    Report { alert_source: cfg.alerting.source().as_str(), environments, store, other_alerts, warnings }
}

pub async fn run(cfg: &Config, json: bool, state_dir: &std::path::Path) -> anyhow::Result<i32> {
    if cfg.environments.is_empty() && cfg.alerting.source() == crate::config::AlertSource::Local {
        eprintln!("opsdeck: {} defines no [[environment]]; nothing to check", cfg.path.display());
        return Ok(exit::USAGE);
    }
    let report = poll(cfg, &crate::deploy::operate::deploy_dir(cfg, state_dir)).await;
    for w in &report.warnings {
        eprintln!("opsdeck: warning: {w}");
    }
    if json {
        println!("{}", crate::sanitize::json(&report, true));
    } else {
        print!("{}", table(&report));
    }
    Ok(if report.all_up() && !report.critical_firing() { exit::OK } else { exit::DEGRADED })
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
        let mut push = |t: String| {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&t);
        };
        for c in e.components.iter().filter(|c| c.state != crate::model::ComponentState::Healthy) {
            let why = c.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
            push(format!("{} {}{why}", c.name, c.state.as_str()));
        }
        if let Some(b) = &e.backup {
            let age = b.age_seconds.map(|a| crate::duration::format(std::time::Duration::from_secs(a)));
            let mut t = format!(
                "backup {} ({})",
                b.state.as_str(),
                age.map(|a| format!("{a} old")).unwrap_or("none known".into())
            );
            if let Some(err) = &b.last_attempt.error {
                t.push_str(&format!(", last read failed: {err}"));
            }
            push(t);
        }
        if let Some(op) = &e.operation {
            detail.push_str(&format!("{}running: {op}", if detail.is_empty() { "" } else { "; " }));
        }
        if let Some(i) = &e.interrupted {
            let sep = if detail.is_empty() { "" } else { "; " };
            detail.push_str(&format!(
                "{sep}INTERRUPTED {} of {} by {} at {}",
                i.kind.as_str(),
                i.version,
                i.user,
                i.reached
            ));
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
    for a in &r.other_alerts {
        out.push_str(&format!("(no environment)  {} {} ({})\n", a.state, a.name, a.severity));
    }
    if r.alert_source != "local" {
        out.push_str(&format!("alerts: {}\n", r.alert_source));
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
                    interrupted: None,
                    operation: None,
                    components: vec![],
                    backup: None,
                    targets: vec![],
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
                        labels: Default::default(),
                        active_at: String::new(),
                    }],
                    interrupted: None,
                    operation: None,
                    components: vec![],
                    backup: None,
                    targets: vec![],
                },
            ],
            warnings: vec![],
            alert_source: "local",
            store: StoreFigures { series: 0, samples: 0, encoded_bytes: 0, series_overhead_bytes: 0 },
            other_alerts: vec![],
        };
        let t = table(&r);
        assert!(t.lines().nth(1).unwrap().contains("production") && t.contains("3 ms") && t.contains("1.4.1"), "{t}");
        assert!(t.contains("connection refused; firing HighErrorRate (critical)"), "{t}");
        assert!(!r.all_up());
    }
}
