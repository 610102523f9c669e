//! Backup freshness (issue 14): the age of an environment's last good backup against its policy.
//! Two sources: a command printing the tool's JSON (restic, pgBackRest; run on its own slow
//! interval with a timeout, its last answer kept), or a PromQL expression over the scraped data
//! (a last-success timestamp, or an age with `kind = "age"`). A failed read is reported apart from
//! the age (it is not "too old"), and no known good backup is overdue, never fresh.
//!
//! The verdict is also a series (`opsdeck_backup_overdue{env}` and friends) that the built-in
//! `BackupOverdue` rule watches, so an overdue backup is an alert like any other.

pub mod formats;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{BackupConfig, BackupValueKind, Environment};
use crate::model::{BackupAttempt, BackupStatus, Freshness, Millis};
use crate::tsdb::{Labels, Storage};

/// stdout read from a backup command at most (pgBackRest's info on a big repository is long).
pub const OUTPUT_LIMIT: usize = 4 << 20;

/// Fresh up to the policy; due up to half a policy later; overdue after, or with nothing known.
pub fn freshness(age_ms: Option<i64>, policy: Duration) -> Freshness {
    let policy = policy.as_millis() as i64;
    match age_ms {
        Some(a) if a <= policy => Freshness::Fresh,
        Some(a) if a <= policy + policy / 2 => Freshness::Due,
        _ => Freshness::Overdue,
    }
}

/// One environment's backup as it stands: the last success known, and the last attempt.
#[derive(Debug, Clone)]
pub struct Tracker {
    env: String,
    cfg: BackupConfig,
    last_success: Option<Millis>,
    attempt: Option<(Millis, BackupAttempt)>,
    source: String,
}

impl Tracker {
    pub fn new(env: &str, cfg: &BackupConfig) -> Tracker {
        let source = if cfg.expr.is_some() { "promql" } else { "command" };
        Tracker { env: env.to_string(), cfg: cfg.clone(), last_success: None, attempt: None, source: source.into() }
    }

    /// A read of the source: the last good backup's end (or none), or why it could not be read.
    /// A failed read keeps the last success known: the backup did not get older by failing to ask.
    pub fn record(&mut self, got: Result<formats::Latest, String>, now: Millis) {
        let attempt = match got {
            Ok(l) => {
                self.source = match l.format {
                    crate::config::BackupFormat::Restic => "restic",
                    crate::config::BackupFormat::Pgbackrest => "pgbackrest",
                }
                .into();
                if l.finished.is_some() {
                    self.last_success = l.finished;
                }
                let detail = l.detail.or_else(|| l.finished.is_none().then(|| "no backup found".to_string()));
                BackupAttempt { ok: true, error: None, detail: detail.map(|d| crate::sanitize::line(&d).into_owned()) }
            }
            Err(e) => BackupAttempt { ok: false, error: Some(crate::sanitize::line(&e).into_owned()), detail: None },
        };
        self.attempt = Some((now, attempt));
    }

    /// The expression's answer at `now`: a timestamp (s) or an age (s), as configured.
    pub fn record_value(&mut self, v: Result<Option<f64>, String>, now: Millis) {
        let got = match v {
            Ok(Some(x)) if x.is_finite() => {
                let finished = match self.cfg.kind {
                    BackupValueKind::Timestamp => (x * 1000.0) as i64,
                    BackupValueKind::Age => now - (x * 1000.0) as i64,
                };
                Ok(formats::Latest {
                    format: crate::config::BackupFormat::Restic,
                    finished: Some(finished),
                    detail: None,
                })
            }
            Ok(_) => Err(format!("no data for {}", self.cfg.expr.as_deref().unwrap_or_default())),
            Err(e) => Err(e),
        };
        let source = std::mem::take(&mut self.source);
        self.record(got, now);
        self.source = source;
    }

    pub fn status(&self, now: Millis) -> BackupStatus {
        let age = self.last_success.map(|t| (now - t).max(0));
        BackupStatus {
            env: self.env.clone(),
            state: freshness(age, self.cfg.policy),
            policy_seconds: self.cfg.policy.as_secs(),
            last_success: self.last_success,
            age_seconds: age.map(|a| (a / 1000) as u64),
            checked: self.attempt.as_ref().map(|(t, _)| *t),
            last_attempt: self.attempt.as_ref().map(|(_, a)| a.clone()).unwrap_or(BackupAttempt {
                ok: false,
                error: Some("not read yet".into()),
                detail: None,
            }),
            source: self.source.clone(),
        }
    }

    pub fn kind(&self) -> BackupValueKind {
        self.cfg.kind
    }

    /// The source has been read (or tried) at least once: before that there is nothing to say.
    pub fn read(&self) -> bool {
        self.attempt.is_some()
    }

    pub fn expr(&self) -> Option<&str> {
        self.cfg.expr.as_deref()
    }

    pub fn env(&self) -> &str {
        &self.env
    }
}

/// Run the backup command once and read its answer.
pub async fn read_command(cfg: &BackupConfig) -> Result<formats::Latest, String> {
    let spec = crate::command::Spec {
        argv: &cfg.command,
        env_allow: &[],
        extra_env: &[],
        timeout: cfg.timeout,
        inherit: true,
    };
    let got = crate::command::capture(&spec, OUTPUT_LIMIT).await;
    if !got.outcome.success() {
        return Err(got.outcome.describe());
    }
    if got.over_limit {
        return Err(format!("output larger than {} MiB", OUTPUT_LIMIT >> 20));
    }
    formats::parse(&got.stdout, cfg.format)
}

/// The expression's value at `now` over the store: the newest timestamp (or the smallest age)
/// of the series it returns.
pub fn eval_expr(storage: &Storage, cfg: &BackupConfig, now: Millis) -> Result<Option<f64>, String> {
    eval_expr_text(storage, cfg.expr.as_deref().unwrap_or_default(), cfg.kind, now)
}

pub fn eval_expr_text(
    storage: &Storage,
    expr: &str,
    kind: BackupValueKind,
    now: Millis,
) -> Result<Option<f64>, String> {
    let vals: Vec<f64> = match crate::promql::query(storage, expr, now).map_err(|e| e.to_string())? {
        crate::promql::Value::Vector(v) => v.into_iter().map(|s| s.v).filter(|v| v.is_finite()).collect(),
        crate::promql::Value::Scalar(x) => vec![x],
        _ => return Err(format!("{expr}: expected an instant vector or a scalar")),
    };
    Ok(match kind {
        BackupValueKind::Timestamp => vals.into_iter().reduce(f64::max),
        BackupValueKind::Age => vals.into_iter().reduce(f64::min),
    })
}

/// The verdict as series: last success (s), age (s), overdue (1/0).
pub fn record_series(storage: &mut Storage, s: &BackupStatus, now: Millis) {
    let l = |name: &str| Labels::from_pairs([("__name__", name), ("env", &s.env)]);
    if let Some(t) = s.last_success {
        let _ = storage.append(&l("opsdeck_backup_last_success_timestamp_seconds"), now, t as f64 / 1000.0);
    }
    if let Some(a) = s.age_seconds {
        let _ = storage.append(&l("opsdeck_backup_age_seconds"), now, a as f64);
    }
    let overdue = if s.state == Freshness::Overdue { 1.0 } else { 0.0 };
    let _ = storage.append(&l("opsdeck_backup_overdue"), now, overdue);
    let failed = if s.last_attempt.ok { 0.0 } else { 1.0 };
    let _ = storage.append(&l("opsdeck_backup_last_attempt_failed"), now, failed);
}

/// The command tasks; dropping this stops them.
pub struct Readers(Vec<JoinHandle<()>>);

impl Drop for Readers {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// One task per environment with a backup command: read at once, then every `interval`.
pub fn spawn(envs: &[Environment], tx: mpsc::Sender<(String, Result<formats::Latest, String>)>) -> Readers {
    let mut tasks = Vec::new();
    for env in envs {
        let Some(b) = env.backup.clone().filter(|b| !b.command.is_empty()) else { continue };
        let (name, tx) = (env.name.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let got = read_command(&b).await;
                if tx.send((name.clone(), got)).await.is_err() {
                    return;
                }
                tokio::time::sleep(b.interval).await;
            }
        }));
    }
    Readers(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> BackupConfig {
        let toml = format!("[[environment]]\nname = \"e\"\nbackup = {{ policy = \"hourly\", {extra} }}\n");
        let c = crate::config::Config::parse(&toml, std::path::Path::new("t.toml")).unwrap();
        c.environments[0].backup.clone().unwrap()
    }

    #[test]
    fn freshness_against_the_policy() {
        let h = Duration::from_secs(3600);
        assert_eq!(freshness(Some(0), h), Freshness::Fresh);
        assert_eq!(freshness(Some(3_600_000), h), Freshness::Fresh);
        assert_eq!(freshness(Some(3_600_001), h), Freshness::Due);
        assert_eq!(freshness(Some(5_400_001), h), Freshness::Overdue);
        assert_eq!(freshness(None, h), Freshness::Overdue, "nothing known is never fresh");
    }

    #[test]
    fn a_failed_read_is_apart_from_the_age() {
        let mut t = Tracker::new("e", &cfg("command = [\"restic\"]"));
        assert_eq!(t.status(0).state, Freshness::Overdue);
        let l = formats::Latest { format: crate::config::BackupFormat::Restic, finished: Some(1_000), detail: None };
        t.record(Ok(l), 2_000);
        let s = t.status(2_000);
        assert_eq!((s.state, s.age_seconds, s.last_attempt.ok), (Freshness::Fresh, Some(1), true));
        t.record(Err("exit 1: Fatal: repository does not exist".into()), 3_000);
        let s = t.status(3_000);
        assert_eq!(s.state, Freshness::Fresh, "the backup is as old as it was");
        assert!(!s.last_attempt.ok && s.last_attempt.error.unwrap().contains("does not exist"));
    }

    #[test]
    fn an_expression_gives_a_timestamp_or_an_age() {
        let mut t = Tracker::new("e", &cfg("expr = \"backup_last_success\""));
        t.record_value(Ok(Some(100.0)), 200_000);
        assert_eq!(t.status(200_000).age_seconds, Some(100));
        assert_eq!(t.status(200_000).source, "promql");
        t.record_value(Ok(None), 300_000);
        let s = t.status(300_000);
        assert!(s.last_attempt.error.unwrap().contains("no data"));

        let mut t =
            Tracker::new("e", &cfg("expr = \"pgbackrest_backup_since_last_completion_seconds\", kind = \"age\""));
        t.record_value(Ok(Some(7200.0)), 10_000_000);
        let s = t.status(10_000_000);
        assert_eq!((s.age_seconds, s.state), (Some(7200), Freshness::Overdue));
    }
}
