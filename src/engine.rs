//! The engine: owns the sources, the store and evaluation, and sends owned snapshots to the view
//! (design §1). Source tasks (health pollers, scrapers, log tailers) do the I/O and send what they
//! got over channels; one task (this one) folds scrapes into the `tsdb`, evaluates panels when
//! data arrived (debounced, never per frame) and rule groups on their interval, and emits
//! `app::Event`s. The view never waits on it: a slow source only makes its own data stale.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::app::model::{EngineStats, Event, Marker, Millis};
use crate::config::Config;
use crate::panels::{self, PanelDef, Window};
use crate::promql;
use crate::scrape::target::{Target, TargetState};
use crate::tsdb::{Storage, StorageOptions};

/// What the view asks of the engine.
pub use crate::app::Command;

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
}

async fn run(cfg: Config, _state_dir: PathBuf, events: mpsc::Sender<Event>, mut commands: mpsc::Receiver<Command>) {
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
    };

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
                Some(Command::Quit) | None => return,
                Some(other) => tracing::info!("command not handled yet: {other:?}"),
            },
            _ = panel_timer.tick(), if dirty => {
                dirty = false;
                let now = now_ms();
                eng.storage.trim(now);
                let panels = eng.evaluate_panels(now);
                if events.send(Event::Panels(panels)).await.is_err() {
                    return;
                }
                let _ = events.try_send(Event::Stats(eng.stats()));
            }
        }
    }
}

impl Engine {
    fn evaluate_panels(&self, now: Millis) -> Vec<crate::app::model::PanelData> {
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
    fn observe_version(&mut self, env: &str, health: &crate::app::model::EnvHealth) {
        let Some(v) = health.version.as_deref() else { return };
        let prev = self.versions.insert(env.to_string(), v.to_string());
        if let Some(prev) = prev.filter(|p| p != v) {
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
