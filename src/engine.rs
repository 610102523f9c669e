//! The engine: owns the sources, the store and evaluation, and sends owned snapshots to the view
//! (design §1). Source tasks (health pollers, scrapers, log tailers) do the I/O and send what they
//! got over channels; one task (this one) folds scrapes into the `tsdb`, evaluates panels when
//! data arrived (debounced, never per frame) and rule groups on their interval, and emits
//! `app::Event`s. The view never waits on it: a slow source only makes its own data stale.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::model::{EngineStats, Event, Marker, Millis};
use crate::panels::{self, PanelDef, Window};
use crate::promql;
use crate::rules::{PromqlEvaluator, RuleEngine, RuleSet};
use crate::scrape::target::{Target, TargetState};
use crate::tsdb::{Storage, StorageOptions};

/// What the view asks of the engine.
pub use crate::model::Command;

/// Points per chart line: enough for a 200-column terminal, few enough to evaluate in a few ms.
const PANEL_POINTS: i64 = 120;
/// Panels are re-evaluated at most this often, however many scrapes arrive.
const PANEL_DEBOUNCE: Duration = Duration::from_millis(1000);

pub fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// The `rate()` window for the built-in panels: four of the slowest scrape interval, at least 1m,
/// so a rate always has enough samples.
pub fn rate_window(cfg: &Config) -> String {
    let slowest = cfg.environments.iter().flat_map(|e| e.scrape.iter()).map(|s| s.interval).max();
    let secs = slowest.map(|d| d.as_secs() * 4).unwrap_or(60).max(60);
    crate::duration::format(Duration::from_secs(secs))
}

/// Every panel: the built-ins, then the user's `[[panel]]`s.
pub fn panel_defs(cfg: &Config) -> Vec<PanelDef> {
    let mut defs = panels::builtin(&rate_window(cfg));
    defs.extend(panels::user(&cfg.panels));
    defs
}

/// Start the engine on the current tokio runtime. Returns the events for the view and the sender
/// the view's commands go to.
pub fn start(cfg: Config, state_dir: PathBuf) -> (mpsc::Receiver<Event>, mpsc::Sender<Command>) {
    let (ev_tx, ev_rx) = mpsc::channel(512);
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    tokio::spawn(run(cfg, state_dir, ev_tx, cmd_rx));
    (ev_rx, cmd_tx)
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(2)
        .build()
        .unwrap_or_default()
}

struct Engine {
    storage: Storage,
    targets: Vec<TargetState>,
    promql: promql::Engine,
    defs: Vec<PanelDef>,
    window: Duration,
    /// Versions last reported by each environment's health check, to mark observed deploys.
    versions: std::collections::HashMap<String, String>,
    markers: Vec<Marker>,
    events: mpsc::Sender<Event>,
    rules: Option<RuleEngine<PromqlEvaluator>>,
    acks: Acks,
    state_dir: PathBuf,
    notifier: Option<crate::notify::Notifier>,
    alertmanagers: Vec<String>,
    client: reqwest::Client,
    /// `[prometheus]`: panels query this server instead of the local store.
    remote: Option<crate::prom_api::Client>,
    /// Each environment's `deploy` settings, for `Command::Deploy`.
    deploys: std::collections::HashMap<String, crate::config::DeployConfig>,
    /// What the alert state file last held (a signature of the active alerts) and when it was written.
    state_saved: (u64, Millis),
}

async fn run(cfg: Config, state_dir: PathBuf, events: mpsc::Sender<Event>, mut commands: mpsc::Receiver<Command>) {
    let client = http_client();
    let retention_ms = cfg.general.history.as_millis() as i64;
    let mut eng = Engine {
        storage: Storage::new(StorageOptions { retention_ms, max_series: cfg.general.max_series }),
        targets: Vec::new(),
        promql: promql::Engine::default(),
        defs: panel_defs(&cfg),
        window: Duration::from_secs(900).min(cfg.general.history),
        versions: Default::default(),
        markers: Vec::new(),
        events: events.clone(),
        rules: None,
        acks: Acks::load(&state_dir),
        state_dir: state_dir.clone(),
        notifier: None,
        alertmanagers: cfg.alerting.alertmanager.clone(),
        client: client.clone(),
        remote: None,
        deploys: cfg.environments.iter().filter_map(|e| Some((e.name.clone(), e.deploy.clone()?))).collect(),
        state_saved: (0, 0),
    };
    // Deploy triggers run as tasks; their outcomes come back here (markers live in this loop).
    let (deploy_tx, mut deploy_outcomes) = mpsc::channel::<DeployOutcome>(8);
    if let Some(src) = &cfg.prometheus {
        match crate::prom_api::Client::from_config(src) {
            Ok(c) => {
                let _ = events.try_send(Event::Notice(format!("panels query {}", c.base_url())));
                eng.remote = Some(c);
            }
            Err(e) => {
                let _ =
                    events.try_send(Event::Notice(crate::sanitize::line(&format!("[prometheus]: {e}")).into_owned()));
            }
        }
    }
    // A remote server has its own scrape schedule: ask it again at the fastest local cadence.
    let remote_every = cfg
        .environments
        .iter()
        .flat_map(|e| e.scrape.iter().map(|s| s.interval))
        .min()
        .unwrap_or(Duration::from_secs(15))
        .max(Duration::from_secs(2));
    let mut remote_timer = tokio::time::interval(remote_every);
    remote_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut remote_busy: Option<tokio::task::JoinHandle<()>> = None;
    if !cfg.alerting.alertmanager.is_empty() || !cfg.alerting.webhook.is_empty() {
        eng.notifier = Some(crate::notify::Notifier::spawn(crate::notify::NotifierConfig {
            alertmanagers: cfg.alerting.alertmanager.clone(),
            webhooks: cfg.alerting.webhook.clone(),
            decoration: crate::notify::Decoration {
                external_labels: cfg.alerting.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                external_url: String::new(),
            },
            ..Default::default()
        }));
    }
    match load_rules(&cfg) {
        Ok(Some(mut r)) => {
            match r.restore_state(&eng.alert_state_path()) {
                Ok(n) if n > 0 => {
                    let _ = events.try_send(Event::Notice(format!("restored the state of {n} active alerts")));
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = events.try_send(Event::Notice(crate::sanitize::line(&e.to_string()).into_owned()));
                }
            }
            eng.rules = Some(r);
        }
        Ok(None) => {}
        Err(errs) => {
            for e in errs {
                let _ = events.try_send(Event::Notice(crate::sanitize::line(&format!("rules: {e}")).into_owned()));
            }
        }
    }
    let mut rule_timer = tokio::time::interval(cfg.alerting.evaluation_interval.max(Duration::from_millis(500)));
    rule_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    // Scrapers: one task per target, outcomes come back here to be folded into the store.
    let (scrape_tx, mut scrapes) = mpsc::channel(64);
    for env in &cfg.environments {
        for sc in &env.scrape {
            for target in Target::from_config(&env.name, sc) {
                let key = eng.targets.len();
                eng.targets.push(TargetState::new(target.clone()));
                tokio::spawn(crate::scrape::target::run(client.clone(), target, sc.interval, key, scrape_tx.clone()));
            }
        }
    }
    drop(scrape_tx);

    // Health pollers report here first, so version changes become chart markers.
    let (health_tx, mut healths) = mpsc::channel(64);
    let _pollers = crate::health::spawn(&cfg.environments, health_tx);

    // Log sources go straight to the view: nothing here needs them.
    let (log_tx, mut logs) = mpsc::channel(64);
    let log_opts = crate::logs::SourceOptions::from_settings(&cfg.log_settings);
    for env in &cfg.environments {
        if let Some(src) = &env.logs {
            let src = crate::logs::resolved_source(&cfg, src);
            crate::logs::spawn_source(&env.name, &src, log_opts.clone(), log_tx.clone());
        }
    }
    drop(log_tx);
    let log_events = events.clone();
    tokio::spawn(async move {
        while let Some(batch) = logs.recv().await {
            if log_events.send(Event::Logs(batch)).await.is_err() {
                return;
            }
        }
    });

    let mut dirty = false;
    let mut panel_timer = tokio::time::interval(PANEL_DEBOUNCE);
    panel_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            Some((key, outcome)) = scrapes.recv() => {
                let key: usize = key;
                let report = eng.targets[key].ingest(&mut eng.storage, &outcome, now_ms());
                if let Some(err) = report.error.as_deref() {
                    tracing::debug!(target = %eng.targets[key].target().url, "scrape failed: {err}");
                }
                dirty = true;
            }
            Some(ev) = healths.recv() => {
                if let Event::Health { env, health } = &ev {
                    eng.observe_version(env, health);
                }
                if events.send(ev).await.is_err() {
                    return;
                }
            }
            cmd = commands.recv() => match cmd {
                Some(Command::SetWindow(w)) => {
                    eng.window = w.min(Duration::from_millis(retention_ms.max(60_000) as u64));
                    dirty = true;
                }
                Some(Command::Ack { key, acked }) => {
                    eng.acks.set_ack(&key, acked);
                    eng.acks.save(&eng.state_dir);
                    eng.send_alerts();
                }
                Some(Command::Silence { key, duration }) => {
                    let until = now_ms() + duration.as_millis() as i64;
                    eng.acks.silence(&key, until);
                    eng.acks.save(&eng.state_dir);
                    eng.silence_in_alertmanager(&key, until);
                    eng.send_alerts();
                }
                Some(Command::Deploy { env, version }) => eng.deploy(env, version, deploy_tx.clone()),
                Some(Command::Quit) | None => {
                    eng.save_alert_state();
                    return;
                }
            },
            Some(outcome) = deploy_outcomes.recv() => eng.deploy_done(outcome),
            _ = rule_timer.tick(), if eng.rules.is_some() => {
                eng.evaluate_rules(now_ms());
            }
            _ = panel_timer.tick(), if dirty => {
                dirty = false;
                let now = now_ms();
                eng.storage.trim(now);
                if eng.remote.is_none() {
                    let panels = eng.evaluate_panels(now);
                    if events.send(Event::Panels(panels)).await.is_err() {
                        return;
                    }
                }
                let _ = events.try_send(Event::Stats(eng.stats()));
            }
            _ = remote_timer.tick(), if eng.remote.is_some() => {
                // One query round at a time: a slow server skips rounds instead of piling them up.
                if remote_busy.as_ref().is_none_or(|h| h.is_finished()) {
                    let (client, defs) = (eng.remote.clone().expect("checked"), eng.defs.clone());
                    let window = Window::ending_at(now_ms(), eng.window.as_millis() as i64, PANEL_POINTS);
                    let events = events.clone();
                    remote_busy = Some(tokio::spawn(async move {
                        let panels = remote_panels(&client, &defs, window).await;
                        let _ = events.send(Event::Panels(panels)).await;
                    }));
                }
            }
        }
    }
}

/// Panels evaluated by a remote Prometheus-compatible server: every query of a round is sent
/// concurrently, then the same `panels::evaluate` folds the answers as for the local store.
pub async fn remote_panels(
    client: &crate::prom_api::Client,
    defs: &[PanelDef],
    w: Window,
) -> Vec<crate::model::PanelData> {
    let exprs: Vec<&str> = defs.iter().flat_map(|d| d.queries.iter().map(|q| q.expr.as_str())).collect();
    let step = Duration::from_millis(w.step as u64);
    let answers = futures::future::join_all(exprs.iter().map(|e| client.query_range(e, w.start, w.end, step))).await;
    let mut by_expr: std::collections::HashMap<&str, Result<panels::RangeResult, String>> = Default::default();
    for (e, a) in exprs.iter().zip(answers) {
        let r = match a {
            Ok(promql::Value::Matrix(m)) => {
                Ok(m.into_iter().map(|s| (s.labels, s.samples.into_iter().map(|x| (x.t, x.v)).collect())).collect())
            }
            Ok(_) => Err("the server answered a range query with a non-matrix".to_string()),
            Err(e) => Err(e.to_string()),
        };
        by_expr.insert(e, r);
    }
    panels::evaluate(defs, w, |expr, _| by_expr.get(expr).cloned().unwrap_or_else(|| Err("not queried".into())))
}

/// The configured rule files, loaded and compiled; `None` when there are none.
pub fn load_rules(cfg: &Config) -> Result<Option<RuleEngine<PromqlEvaluator>>, Vec<crate::rules::RuleError>> {
    if cfg.alerting.rule_files.is_empty() {
        return Ok(None);
    }
    let paths: Vec<PathBuf> = cfg.alerting.rule_files.iter().map(|p| cfg.resolve(p)).collect();
    let set = RuleSet::load(&paths)?;
    let opts = crate::rules::EngineOptions {
        default_interval_ms: cfg.alerting.evaluation_interval.as_millis() as i64,
        external_labels: cfg.alerting.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        external_url: String::new(),
        resend_delay_ms: cfg.alerting.resend_delay.as_millis() as i64,
    };
    RuleEngine::new(PromqlEvaluator::default(), &set, opts).map(Some)
}

/// What a deploy trigger task reports back to the loop.
struct DeployOutcome {
    env: String,
    version: String,
    /// When the deploy was requested (where the chart marker goes).
    at: Millis,
    result: Result<String, crate::deploy::http::DeployError>,
}

/// The notice for a deploy trigger's outcome. Only the trigger is built, and it says so.
pub fn deploy_notice(env: &str, version: &str, result: &Result<String, crate::deploy::http::DeployError>) -> String {
    let text = match result {
        Ok(answer) => {
            format!("{env}: deploy {version} requested ({answer}); verification and automatic rollback: not built yet")
        }
        Err(e) => format!("{env}: deploy {version} not requested: {e}"),
    };
    crate::sanitize::line(&text).into_owned()
}

impl Engine {
    /// Trigger a deploy in a task of its own, so a slow endpoint never holds up the loop.
    fn deploy(&self, env: String, version: String, done: mpsc::Sender<DeployOutcome>) {
        let at = now_ms();
        let Some(cfg) = self.deploys.get(&env).cloned() else {
            let msg = format!("{env}: no deploy configured; nothing was deployed");
            let _ = self.events.try_send(Event::Notice(crate::sanitize::line(&msg).into_owned()));
            return;
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            let result = crate::deploy::http::trigger(&client, &cfg, &env, &version).await;
            let _ = done.send(DeployOutcome { env, version, at, result }).await;
        });
    }

    fn deploy_done(&mut self, o: DeployOutcome) {
        let notice = deploy_notice(&o.env, &o.version, &o.result);
        let _ = self.events.try_send(Event::Notice(notice));
        if o.result.is_ok() {
            // The view prefixes "deploy <env>"; the label is what was deployed.
            let label = crate::sanitize::line(&o.version).into_owned();
            self.markers.push(Marker { at: o.at, env: o.env, label, rollback: false });
            let _ = self.events.try_send(Event::Markers(self.markers.clone()));
        }
    }

    fn alert_state_path(&self) -> PathBuf {
        self.state_dir.join("alert_state.json")
    }

    fn evaluate_rules(&mut self, now: Millis) {
        let Some(rules) = self.rules.as_mut() else { return };
        rules.eval(&mut self.storage, now);
        for e in rules.take_errors() {
            tracing::warn!("rule {} of group {}: {}", e.rule, e.group, e.err);
        }
        let notifications = rules.take_notifications();
        if let Some(n) = &self.notifier {
            n.send(&notifications);
        }
        self.save_alert_state_if_due(now);
        self.send_alerts();
    }

    /// The state file is rewritten when the active alerts change, and once a minute otherwise so its
    /// "last seen active" times stay fresh for the restore's outage tolerance. A small synchronous
    /// write, rare enough not to matter to the runtime.
    fn save_alert_state_if_due(&mut self, now: Millis) {
        use std::hash::{Hash, Hasher};
        let Some(rules) = &self.rules else { return };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for a in rules.snapshot() {
            (a.key(), a.active_at, a.state.as_str()).hash(&mut h);
        }
        let sig = h.finish();
        if sig != self.state_saved.0 || now - self.state_saved.1 >= 60_000 {
            self.save_alert_state();
            self.state_saved = (sig, now);
        }
    }

    /// A keyboard silence also becomes an Alertmanager silence on every configured Alertmanager,
    /// matching the alert's labels exactly; the outcome is reported as a notice.
    fn silence_in_alertmanager(&self, key: &str, until: Millis) {
        let Some(rules) = &self.rules else { return };
        let Some(alert) = rules.snapshot().into_iter().find(|a| a.key() == key) else { return };
        let user = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "opsdeck".into());
        let req = crate::notify::SilenceRequest {
            matchers: alert.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            starts_at_ms: now_ms(),
            ends_at_ms: until,
            created_by: user,
            comment: format!("silenced from opsdeck: {}", alert.rule),
        };
        for am in &self.alertmanagers {
            let (client, am, req, events) = (self.client.clone(), am.clone(), req.clone(), self.events.clone());
            tokio::spawn(async move {
                let msg = match crate::notify::create_silence(&client, &am, &req).await {
                    Ok(id) => format!("Alertmanager {am}: silence {id} created"),
                    Err(e) => format!("Alertmanager {am}: silence not created: {e}"),
                };
                let _ = events.send(Event::Notice(crate::sanitize::line(&msg).into_owned())).await;
            });
        }
    }

    fn save_alert_state(&self) {
        if let Some(rules) = &self.rules {
            if std::fs::create_dir_all(&self.state_dir).is_ok() {
                if let Err(e) = rules.save_state(&self.alert_state_path()) {
                    tracing::warn!("{e}");
                }
            }
        }
    }

    fn send_alerts(&self) {
        let Some(rules) = &self.rules else { return };
        let now = now_ms();
        let views = rules
            .snapshot()
            .iter()
            .map(|a| {
                let mut v = a.to_view();
                v.acked = self.acks.acked(&v.key);
                v.silenced_until = self.acks.silenced_until(&v.key).filter(|u| *u > now);
                v
            })
            .collect();
        let _ = self.events.try_send(Event::Alerts(views));
    }

    fn evaluate_panels(&self, now: Millis) -> Vec<crate::model::PanelData> {
        let window = Window::ending_at(now, self.window.as_millis() as i64, PANEL_POINTS);
        panels::evaluate(&self.defs, window, |expr, w| {
            let e = promql::parse(expr).map_err(|e| e.to_string())?;
            let series = self.promql.range(&self.storage, &e, w.start, w.end, w.step).map_err(|e| e.to_string())?;
            Ok(series.into_iter().map(|s| (s.labels, s.samples.into_iter().map(|x| (x.t, x.v)).collect())).collect())
        })
    }

    fn stats(&self) -> EngineStats {
        let up = self.targets.iter().filter(|t| t.last.as_ref().is_some_and(|r| r.up)).count();
        EngineStats {
            series: self.storage.num_series(),
            samples: self.storage.num_samples(),
            dropped_series: self.storage.dropped_series,
            targets_up: up,
            targets_total: self.targets.len(),
        }
    }

    /// A version change seen by the health poller is a deploy (or rollback) as far as charts are
    /// concerned, whatever tool made it.
    fn observe_version(&mut self, env: &str, health: &crate::model::EnvHealth) {
        let Some(v) = health.version.as_deref() else { return };
        let prev = self.versions.insert(env.to_string(), v.to_string());
        if let Some(prev) = prev.filter(|p| p != v) {
            // A deploy requested from the dashboard already marked this change.
            if self.markers.iter().rev().find(|m| m.env == env).is_some_and(|m| m.label == v) {
                return;
            }
            self.markers.push(Marker {
                at: health.last_check.unwrap_or_else(now_ms),
                env: env.to_string(),
                label: format!("{prev} → {v}"),
                rollback: false,
            });
            let _ = self.events.try_send(Event::Markers(self.markers.clone()));
        }
    }
}

/// Acknowledgements and silences from the keyboard, kept in the state dir so they survive a
/// restart. Keyed by the alert's identity (rule name and label set).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Acks {
    #[serde(default)]
    acked: std::collections::BTreeSet<String>,
    #[serde(default)]
    silenced_until: std::collections::BTreeMap<String, Millis>,
}

impl Acks {
    const FILE: &'static str = "acks.json";

    fn load(dir: &std::path::Path) -> Acks {
        std::fs::read(dir.join(Self::FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Write-then-rename, so a crash never leaves half a file.
    fn save(&self, dir: &std::path::Path) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!("{}.tmp", Self::FILE));
            std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
            std::fs::rename(tmp, dir.join(Self::FILE))
        };
        if let Err(e) = write() {
            tracing::warn!("cannot save acks in {}: {e}", dir.display());
        }
    }

    fn set_ack(&mut self, key: &str, acked: bool) {
        if acked {
            self.acked.insert(key.to_string());
        } else {
            self.acked.remove(key);
        }
    }

    fn silence(&mut self, key: &str, until: Millis) {
        self.silenced_until.insert(key.to_string(), until);
    }

    fn acked(&self, key: &str) -> bool {
        self.acked.contains(key)
    }

    fn silenced_until(&self, key: &str) -> Option<Millis> {
        self.silenced_until.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Acks::default();
        a.set_ack("HighErrorRate{env=\"production\"}", true);
        a.silence("X{}", 42);
        a.save(dir.path());
        let b = Acks::load(dir.path());
        assert!(b.acked("HighErrorRate{env=\"production\"}"));
        assert_eq!(b.silenced_until("X{}"), Some(42));
        assert!(!b.acked("other"));
    }
}
