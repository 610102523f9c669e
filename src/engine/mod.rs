//! The engine: owns the sources, the store and evaluation, and sends owned snapshots to the view
//! (design §1; tokio-console's aggregator: one owner, each `select!` arm one named method).
//! Source tasks (health pollers, scrapers, log tailers) do the I/O and send what they got over
//! channels; this task folds scrapes into the `tsdb`, evaluates panels when data arrived
//! (debounced, never per frame) and rule groups on their interval, and emits `model::Event`s. The
//! view never waits on it: a slow source only makes its own data stale.
//!
//! One file per concern: `alerts` (rules, acks and silences, alert state), `panels` (local and
//! remote evaluation), `markers` (deploys on the charts), `deploys` (deploy operations), `sources`
//! (the tasks that feed it). Every method takes `now` from the injected clock.

mod acks;
mod alertmanagers;
mod alerts;
mod deploys;
mod markers;
mod panels;
mod runbooks;
mod sources;

pub use crate::rules::load_from_config as load_rules;
pub use alerts::REMOTE_IN_FLIGHT;
pub use panels::{panel_defs, rate_window, remote_panels};

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::model::{Command, EngineStats, Event, Final, Millis, OpKind};
use crate::scrape::target::TargetState;
use crate::tsdb::{Storage, StorageOptions};

/// The wall clock in milliseconds (for callers outside the engine, e.g. `status`).
pub fn now_ms() -> Millis {
    crate::clock::wall_ms()
}

/// A running engine: its events for the view, the sender for the view's commands, and the task,
/// which `shutdown` awaits so state is flushed before the process exits.
pub struct Handle {
    pub events: mpsc::Receiver<Event>,
    pub commands: mpsc::Sender<Command>,
    pub task: Task,
}

impl Handle {
    pub fn into_parts(self) -> (mpsc::Receiver<Event>, mpsc::Sender<Command>, Task) {
        (self.events, self.commands, self.task)
    }
}

/// The engine task, to be stopped with `shutdown`.
pub struct Task {
    join: JoinHandle<()>,
    commands: mpsc::Sender<Command>,
}

impl Task {
    /// Ask the engine to stop (it may have been asked already) and wait until it has flushed its
    /// state (alert state, acks). False when it did not finish `within`.
    pub async fn shutdown(self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        // A closed channel means the engine is already on its way out.
        let _ = tokio::time::timeout_at(deadline, self.commands.send(Command::Quit)).await;
        tokio::time::timeout_at(deadline, self.join).await.is_ok()
    }
}

/// Start the engine on the current tokio runtime, on the wall clock.
pub fn start(cfg: Config, state_dir: PathBuf) -> Handle {
    start_with_clock(cfg, state_dir, crate::clock::system())
}

pub fn start_with_clock(cfg: Config, state_dir: PathBuf, clock: SharedClock) -> Handle {
    let (ev_tx, ev_rx) = mpsc::channel(512);
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let join = tokio::spawn(async move {
        let mut eng = Engine::new(&cfg, state_dir, clock, ev_tx);
        let inputs = sources::spawn(&cfg, &mut eng);
        eng.alertmanagers.spawn(eng.clock.clone(), eng.events.clone());
        eng.run(inputs, cmd_rx).await;
        eng.flush();
    });
    Handle { events: ev_rx, commands: cmd_tx.clone(), task: Task { join, commands: cmd_tx } }
}

/// Points per chart line: enough for a 200-column terminal, few enough to evaluate in a few ms.
const PANEL_POINTS: i64 = 120;
/// Panels are re-evaluated at most this often, however many scrapes arrive.
const PANEL_DEBOUNCE: Duration = Duration::from_millis(1000);

pub(crate) struct Engine {
    clock: SharedClock,
    events: mpsc::Sender<Event>,
    client: reqwest::Client,
    storage: Storage,
    targets: Vec<TargetState>,
    /// The longest window panels may ask for: the history kept.
    retention_ms: i64,
    panels: panels::Panels,
    alerts: alerts::Alerts,
    markers: markers::Markers,
    deploys: deploys::Deploys,
    runbooks: runbooks::Runbooks,
    alertmanagers: alertmanagers::Alertmanagers,
    /// Each environment's backup freshness (command answers arrive; expressions are evaluated
    /// here on the rule tick).
    backups: Vec<crate::backup::Tracker>,
    /// Data arrived since panels were last evaluated.
    dirty: bool,
    /// When the engine started (by its clock).
    started: Millis,
}

/// How long a backup expression waits for the first scrapes before "no data" counts.
const BACKUP_EXPR_GRACE_MS: i64 = 30_000;

impl Engine {
    fn new(cfg: &Config, state_dir: PathBuf, clock: SharedClock, events: mpsc::Sender<Event>) -> Engine {
        let client = crate::net::client();
        let retention_ms = cfg.general.history.as_millis() as i64;
        let deploys = deploys::Deploys::new(cfg, &state_dir, events.clone());
        let (runbooks, ticks_err) = runbooks::Runbooks::new(cfg, &state_dir, client.clone(), clock.now());
        let mut eng = Engine {
            clock,
            events,
            client: client.clone(),
            storage: Storage::new(StorageOptions { retention_ms, max_series: cfg.general.max_series }),
            targets: Vec::new(),
            retention_ms,
            panels: panels::Panels::new(cfg),
            alerts: alerts::Alerts::new(cfg, state_dir),
            markers: markers::Markers::default(),
            deploys,
            runbooks,
            alertmanagers: alertmanagers::Alertmanagers::new(
                cfg.alerting.alertmanager.clone(),
                crate::alertmanager::author(cfg.alerting.author.as_deref()),
                client.clone(),
            ),
            backups: cfg
                .environments
                .iter()
                .filter_map(|e| Some(crate::backup::Tracker::new(&e.name, e.backup.as_ref()?)))
                .collect(),
            dirty: false,
            started: 0,
        };
        eng.started = eng.now();
        for notice in eng.panels.take_notices().into_iter().chain(eng.alerts.take_notices()).chain(ticks_err) {
            eng.notice(notice);
        }
        // What the journals hold: history, interrupted operations, deploy markers.
        for ev in eng.deploys.histories() {
            let _ = eng.events.try_send(ev);
        }
        let ev = eng.markers.load(eng.deploys.journal_markers());
        let _ = eng.events.try_send(ev);
        eng
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    /// A short status line for the footer (sanitised: it may carry remote text).
    fn notice(&self, text: String) {
        let _ = self.events.try_send(Event::Notice(crate::sanitize::line(&text).into_owned()));
    }

    /// The loop: each arm one method. Returns when asked to quit or when the view is gone.
    async fn run(&mut self, mut inp: sources::Inputs, mut commands: mpsc::Receiver<Command>) {
        let mut rule_timer = tokio::time::interval(self.alerts.interval());
        rule_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut panel_timer = tokio::time::interval(PANEL_DEBOUNCE);
        panel_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut remote_alerts = self.alerts.take_answers();
        let mut remote_timer = tokio::time::interval(self.panels.remote_every());
        remote_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let flow = tokio::select! {
                Some((key, outcome)) = inp.scrapes.recv() => {
                    let now = self.now();
                    self.on_scrape(key, &outcome, now);
                    ControlFlow::Continue(())
                }
                Some(ev) = inp.healths.recv() => self.on_health(ev).await,
                cmd = commands.recv() => {
                    let now = self.now();
                    self.on_command(cmd.unwrap_or(Command::Quit), now)
                }
                Some(status) = inp.components.recv() => {
                    let now = self.now();
                    self.on_component(status, now)
                }
                Some((env, got)) = inp.backups.recv() => {
                    let now = self.now();
                    self.on_backup_read(&env, got, now);
                    ControlFlow::Continue(())
                }
                Some(outcome) = inp.deploy_outcomes.recv() => {
                    self.on_deploy_done(outcome);
                    ControlFlow::Continue(())
                }
                Some(answer) = remote_alerts.recv() => {
                    let now = self.now();
                    self.alerts.on_remote(answer, &mut self.storage, now, &self.events);
                    ControlFlow::Continue(())
                }
                _ = rule_timer.tick(), if self.alerts.has_rules() => {
                    let now = self.now();
                    self.on_rule_tick(now);
                    ControlFlow::Continue(())
                }
                _ = panel_timer.tick(), if self.dirty => {
                    let now = self.now();
                    self.on_panel_tick(now).await
                }
                _ = remote_timer.tick(), if self.panels.is_remote() => {
                    let now = self.now();
                    self.panels.on_remote_tick(now, &self.events);
                    ControlFlow::Continue(())
                }
            };
            if flow.is_break() {
                return;
            }
        }
    }

    fn on_scrape(&mut self, key: usize, outcome: &crate::scrape::target::ScrapeOutcome, now: Millis) {
        let report = self.targets[key].ingest(&mut self.storage, outcome, now);
        if let Some(err) = report.error.as_deref() {
            tracing::debug!(target = %self.targets[key].target().url, "scrape failed: {err}");
        }
        self.dirty = true;
    }

    /// Health reports are looked at first (a version change is a chart marker), then forwarded.
    async fn on_health(&mut self, ev: Event) -> ControlFlow<()> {
        if let Event::Health { env, health } = &ev {
            if let Some(m) = self.markers.observe_version(env, health, self.now()) {
                let _ = self.events.try_send(m);
            }
        }
        match self.events.send(ev).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    fn on_command(&mut self, cmd: Command, now: Millis) -> ControlFlow<()> {
        match cmd {
            Command::SetWindow(w) => {
                self.panels.window = w.min(Duration::from_millis(self.retention_ms.max(60_000) as u64));
                self.dirty = true;
            }
            Command::Ack { .. }
            | Command::Silence { .. }
            | Command::CreateSilence { .. }
            | Command::ExpireSilence { .. }
                if self.deploys.read_only() =>
            {
                self.notice("read-only: acknowledging and silencing are refused".into())
            }
            Command::Ack { key, acked } => self.alerts.ack(&key, acked, now, &self.events),
            Command::Silence { key, duration } => {
                let until = now + duration.as_millis() as i64;
                if let Some((name, labels)) = self.alerts.silence(&key, until, now, &self.events) {
                    // The same silence on every Alertmanager, matching the alert's labels exactly.
                    let matchers = crate::alertmanager::matchers::equal_all(&labels);
                    let comment = format!("silenced from opsdeck: {name}");
                    self.alertmanagers.create(matchers, duration, comment, now, &self.events);
                }
            }
            Command::CreateSilence { matchers, duration, comment } => {
                self.alertmanagers.create(matchers, duration, comment, now, &self.events)
            }
            Command::Query { expr } => self.panels.query(expr, &self.storage, now, &self.events),
            Command::Pin { expr } => {
                self.panels.pin(&expr);
                self.dirty = true;
            }
            Command::ExpireSilence { id, source } => self.alertmanagers.expire(id, source, &self.events),
            Command::Deploy { env, version } => self.start_op(env, OpKind::Deploy, Some(version), now),
            Command::Rollback { env, to } => self.start_op(env, OpKind::Rollback, to, now),
            Command::Promote { env } => self.start_op(env, OpKind::Promote, None, now),
            Command::CancelDeploy { env } => match self.deploys.cancel(&env) {
                Ok(()) => self.notice(format!("{env}: cancelling: the operation rolls back")),
                Err(msg) => self.notice(msg),
            },
            Command::Resolve { env, op, how } => match self.deploys.resolve(&env, &op, how, now) {
                Ok(msg) | Err(msg) => self.notice(msg),
            },
            Command::History { env } => {
                let _ = self.events.try_send(self.deploys.history(&env));
            }
            Command::LoadRunbook { key, name, labels, runbook_url } => {
                self.runbooks.load(key, crate::runbook::AlertRef { name, labels, runbook_url }, now, &self.events)
            }
            Command::TickStep { key, step, ticked } => {
                if let Err(e) = self.runbooks.tick(&key, &step, ticked) {
                    self.notice(e);
                }
            }
            Command::Quit => return ControlFlow::Break(()),
        }
        ControlFlow::Continue(())
    }

    fn start_op(&mut self, env: String, kind: OpKind, version: Option<String>, now: Millis) {
        if let Err(msg) = self.deploys.start(env, kind, version, None, now) {
            self.notice(msg);
        }
    }

    fn on_deploy_done(&mut self, o: deploys::DeployOutcome) {
        self.deploys.finished(&o);
        if o.last != Final::Refused {
            let label = o.version.clone().unwrap_or_else(|| o.kind.as_str().to_string());
            let ev = self.markers.deployed(o.at, &o.env, &label);
            let _ = self.events.try_send(ev);
        }
        let _ = self.events.try_send(self.deploys.history(&o.env));
    }

    /// A component was checked: its state goes into the store (rules and panels see it) and on.
    fn on_component(&mut self, status: crate::model::ComponentStatus, now: Millis) -> ControlFlow<()> {
        crate::components::record_series(&mut self.storage, &status, now);
        self.dirty = true;
        match self.events.try_send(Event::Component(status)) {
            Err(mpsc::error::TrySendError::Closed(_)) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn on_backup_read(&mut self, env: &str, got: Result<crate::backup::formats::Latest, String>, now: Millis) {
        if let Some(t) = self.backups.iter_mut().find(|t| t.env() == env) {
            t.record(got, now);
            let s = t.status(now);
            crate::backup::record_series(&mut self.storage, &s, now);
            let _ = self.events.try_send(Event::Backup(s));
        }
    }

    fn on_rule_tick(&mut self, now: Millis) {
        // Backups first: an age grows between reads, and the overdue rule must see it. An
        // expression is not judged before the scrapes had their chance to answer: "no data" at
        // start is not an overdue backup (and must not page anyone).
        let scraped = self.targets.iter().all(|t| t.last.is_some()) || now - self.started >= BACKUP_EXPR_GRACE_MS;
        for t in &mut self.backups {
            if let Some(v) =
                t.expr().filter(|_| scraped).map(|e| crate::backup::eval_expr_text(&self.storage, e, t.kind(), now))
            {
                t.record_value(v, now);
            }
            if !t.read() {
                continue;
            }
            let s = t.status(now);
            crate::backup::record_series(&mut self.storage, &s, now);
            let _ = self.events.try_send(Event::Backup(s));
        }
        self.alerts.evaluate(&mut self.storage, now, &self.events);
        if self.runbooks.has_ticks() {
            if let Err(e) = self.runbooks.retain(&self.alerts.views(now), now) {
                self.notice(e);
            }
        }
    }

    async fn on_panel_tick(&mut self, now: Millis) -> ControlFlow<()> {
        self.dirty = false;
        self.storage.trim(now);
        if !self.panels.is_remote() {
            let panels = self.panels.evaluate_local(&self.storage, now);
            if self.events.send(Event::Panels(panels)).await.is_err() {
                return ControlFlow::Break(());
            }
        }
        let _ = self.events.try_send(Event::Stats(self.stats()));
        ControlFlow::Continue(())
    }

    fn stats(&self) -> EngineStats {
        let up = self.targets.iter().filter(|t| t.last.as_ref().is_some_and(|r| r.up)).count();
        let (rule_groups, rule_eval) = self.alerts.eval_time();
        EngineStats {
            series: self.storage.num_series(),
            samples: self.storage.num_samples(),
            dropped_series: self.storage.dropped_series,
            targets_up: up,
            targets_total: self.targets.len(),
            bytes_per_sample: self.storage.bytes_per_sample(),
            series_overhead_bytes: self.storage.series_overhead_bytes(),
            rule_groups,
            rule_eval_ms: rule_eval.as_secs_f64() * 1e3,
        }
    }

    /// Everything that must outlive the process is on disk when this returns.
    fn flush(&self) {
        self.alerts.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    const RULES: &str = "groups:\n- name: g\n  rules:\n  - alert: Always\n    expr: vector(1) > 0\n    labels: { severity: critical }\n";

    /// An engine with one always-firing rule and no sources, on a clock the test sets.
    fn engine(dir: &std::path::Path, clock: &ManualClock) -> (Engine, mpsc::Receiver<Event>) {
        std::fs::write(dir.join("rules.yml"), RULES).unwrap();
        let toml = "[alerting]\nrule_files = [\"rules.yml\"]\nevaluation_interval = \"10s\"\n";
        let cfg = Config::parse(toml, &dir.join("opsdeck.toml")).unwrap();
        let (tx, rx) = mpsc::channel(64);
        (Engine::new(&cfg, dir.join("state"), clock.shared(), tx), rx)
    }

    fn last_alerts(rx: &mut mpsc::Receiver<Event>) -> Vec<crate::model::AlertView> {
        let mut last = None;
        while let Ok(ev) = rx.try_recv() {
            if let Event::Alerts(a) = ev {
                last = Some(a);
            }
        }
        last.expect("an alerts snapshot")
    }

    #[tokio::test]
    async fn evaluation_acks_and_silences_use_the_injected_now() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at(1_700_000_000_000);
        let (mut eng, mut rx) = engine(dir.path(), &clock);
        eng.on_rule_tick(clock.now());
        let a = last_alerts(&mut rx);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].state, crate::model::AlertState::Firing);
        assert_eq!(a[0].active_since, clock.now());

        let key = a[0].key.clone();
        clock.advance(5_000);
        assert!(eng.on_command(Command::Ack { key: key.clone(), acked: true }, clock.now()).is_continue());
        assert!(last_alerts(&mut rx)[0].acked);
        let duration = Duration::from_secs(3600);
        assert!(eng.on_command(Command::Silence { key: key.clone(), duration }, clock.now()).is_continue());
        assert_eq!(last_alerts(&mut rx)[0].silenced_until, Some(clock.now() + 3_600_000));
        // An hour later the silence is over, by the engine's clock.
        clock.advance(3_600_000);
        eng.on_rule_tick(clock.now());
        assert_eq!(last_alerts(&mut rx)[0].silenced_until, None);
        assert!(eng.on_command(Command::Quit, clock.now()).is_break());
    }

    #[tokio::test]
    async fn flush_writes_the_alert_state_and_acks() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at(1_700_000_000_000);
        let (mut eng, mut rx) = engine(dir.path(), &clock);
        eng.on_rule_tick(clock.now());
        let key = last_alerts(&mut rx)[0].key.clone();
        let _ = eng.on_command(Command::Ack { key: key.clone(), acked: true }, clock.now());
        std::fs::remove_dir_all(dir.path().join("state")).unwrap();
        eng.flush();
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("state/alert_state.json")).unwrap()).unwrap();
        assert_eq!(state[0]["rule"], "Always", "{state}");
        let acks = std::fs::read_to_string(dir.path().join("state/acks.json")).unwrap();
        assert!(acks.contains("Always"), "{acks}");

        // A restarted engine keeps the ack.
        let (mut again, mut rx) = engine(dir.path(), &clock);
        clock.advance(10_000);
        again.on_rule_tick(clock.now());
        assert!(last_alerts(&mut rx)[0].acked);
    }

    #[tokio::test]
    async fn start_and_shutdown_flush_before_returning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
        let toml = "[alerting]\nrule_files = [\"rules.yml\"]\nevaluation_interval = \"1s\"\n";
        let cfg = Config::parse(toml, &dir.path().join("opsdeck.toml")).unwrap();
        let clock = ManualClock::at(1_700_000_000_000);
        let mut h = start_with_clock(cfg, dir.path().join("state"), clock.shared());
        // The first rule tick fires at once; wait for its snapshot, then stop.
        loop {
            match h.events.recv().await {
                Some(Event::Alerts(a)) if !a.is_empty() => break,
                Some(_) => {}
                None => panic!("the engine stopped"),
            }
        }
        let (_events, _commands, task) = h.into_parts();
        assert!(task.shutdown(Duration::from_secs(5)).await);
        let state = std::fs::read_to_string(dir.path().join("state/alert_state.json")).unwrap();
        assert!(state.contains("\"Always\""), "{state}");
    }
}
