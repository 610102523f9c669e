//! Alerts: the configured rule files evaluated on the local store, their state saved so a restart
//! resumes `for` timers, notifications handed to the notifier (Alertmanager, webhooks), and the
//! keyboard's acknowledgements and silences (kept in the state dir, mirrored to Alertmanager).
//!
//! `[alerting] source` picks where the rule files' alerts come from: `local` (the store),
//! `remote-rules` (each expression asked of the `[prometheus]` server at the evaluation's time,
//! then the same state machine), or `server` (the server's own `/api/v1/alerts`, shown as it has
//! them). The built-in rules (components, backups) read series only opsdeck has, so they are
//! always evaluated locally.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::acks::Acks;
use crate::config::{AlertSource, Config};
use crate::model::{AlertView, Event, Millis};
use crate::rules::{PromqlEvaluator, RuleEngine};
use crate::tsdb::Storage;

/// What a remote source answered, back in the engine's loop.
pub(super) enum RemoteAnswer {
    /// Every rule expression's result at `t` (`remote-rules`).
    Rules { t: Millis, results: crate::rules::engine::Prefetched },
    /// The server's alerts (`server`).
    Server(Result<Vec<AlertView>, String>),
}

/// Queries of one `remote-rules` evaluation in flight at once, so a big rule set does not
/// flood the server.
pub const REMOTE_IN_FLIGHT: usize = 8;

pub(super) struct Alerts {
    /// Rules on the local store: the rule files and built-in rules (`local`), else the built-in ones.
    rules: Option<RuleEngine<PromqlEvaluator>>,
    /// `remote-rules`: the rule files, evaluated on the server's answers.
    remote: Option<RuleEngine<PromqlEvaluator>>,
    source: AlertSource,
    prom: Option<crate::prom_api::Client>,
    /// `server`: its alerts as last read, and why the last read failed.
    server: Vec<AlertView>,
    remote_error: Option<String>,
    /// A remote read is under way (one at a time: a slow server is not asked again meanwhile).
    in_flight: bool,
    answers: mpsc::Sender<RemoteAnswer>,
    answers_rx: Option<mpsc::Receiver<RemoteAnswer>>,
    acks: Acks,
    state_dir: PathBuf,
    notifier: Option<crate::notify::Notifier>,
    interval: Duration,
    /// What the alert state file last held (a signature of the active alerts) and when it was written.
    state_saved: (u64, Millis),
    /// When the groups' evaluation times were last written to opsdeck's log.
    timings_logged: Option<Millis>,
    notices: Vec<String>,
}

/// How often the groups' evaluation times go to opsdeck's log (`--log-file`).
const TIMINGS_LOG_MS: Millis = 60_000;

impl Alerts {
    pub fn new(cfg: &Config, state_dir: PathBuf) -> Alerts {
        let mut notices = Vec::new();
        let (acks, acks_err) = Acks::load(&state_dir);
        notices.extend(acks_err);
        let notifier = (!cfg.alerting.alertmanager.is_empty() || !cfg.alerting.webhook.is_empty()).then(|| {
            crate::notify::Notifier::spawn(crate::notify::NotifierConfig {
                alertmanagers: cfg.alerting.alertmanager.clone(),
                webhooks: cfg.alerting.webhook.clone(),
                decoration: crate::notify::Decoration {
                    external_labels: cfg.alerting.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    external_url: String::new(),
                },
                ..Default::default()
            })
        });
        let source = cfg.alerting.source();
        let prom = match (source, &cfg.prometheus) {
            (AlertSource::Local, _) | (_, None) => None,
            (_, Some(p)) => match crate::prom_api::Client::from_config(p) {
                Ok(c) => Some(c),
                Err(e) => {
                    notices.push(format!("alerts: {e}"));
                    None
                }
            },
        };
        let (answers, answers_rx) = mpsc::channel(4);
        let mut a = Alerts {
            rules: None,
            remote: None,
            source,
            prom,
            server: Vec::new(),
            remote_error: None,
            in_flight: false,
            answers,
            answers_rx: Some(answers_rx),
            acks,
            state_dir,
            notifier,
            interval: cfg.alerting.evaluation_interval.max(Duration::from_millis(500)),
            state_saved: (0, 0),
            timings_logged: None,
            notices,
        };
        let local_files = source == AlertSource::Local;
        a.rules = a.load(crate::rules::load_parts(cfg, local_files, true), &a.state_path());
        if source == AlertSource::RemoteRules {
            a.remote = a.load(crate::rules::load_parts(cfg, true, false), &a.remote_state_path());
        }
        a
    }

    fn load(
        &mut self,
        got: Result<Option<RuleEngine<PromqlEvaluator>>, Vec<crate::rules::RuleError>>,
        state: &std::path::Path,
    ) -> Option<RuleEngine<PromqlEvaluator>> {
        match got {
            Ok(Some(mut r)) => {
                match r.restore_state(state) {
                    Ok(n) if n > 0 => self.notices.push(format!("restored the state of {n} active alerts")),
                    Ok(_) => {}
                    Err(e) => self.notices.push(e.to_string()),
                }
                Some(r)
            }
            Ok(None) => None,
            Err(errs) => {
                self.notices.extend(errs.into_iter().map(|e| format!("rules: {e}")));
                None
            }
        }
    }

    /// The receiver of remote answers, for the engine's loop (taken once).
    pub fn take_answers(&mut self) -> mpsc::Receiver<RemoteAnswer> {
        self.answers_rx.take().unwrap_or_else(|| mpsc::channel(1).1)
    }

    fn remote_state_path(&self) -> PathBuf {
        self.state_dir.join("alert_state_remote.json")
    }

    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// Whether there is anything to evaluate or read on the rule interval.
    pub fn has_rules(&self) -> bool {
        self.rules.is_some() || self.remote.is_some() || (self.source == AlertSource::Server && self.prom.is_some())
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn state_path(&self) -> PathBuf {
        self.state_dir.join("alert_state.json")
    }

    pub fn evaluate(&mut self, storage: &mut Storage, now: Millis, events: &mpsc::Sender<Event>) {
        self.ask_remote(now);
        let Some(rules) = self.rules.as_mut() else {
            return;
        };
        rules.eval(storage, now);
        Self::deliver(rules, &self.notifier);
        self.log_timings_if_due(now);
        self.save_state_if_due(now);
        self.send(now, events);
    }

    fn deliver(rules: &mut RuleEngine<PromqlEvaluator>, notifier: &Option<crate::notify::Notifier>) {
        for e in rules.take_errors() {
            tracing::warn!("rule {} of group {}: {}", e.rule, e.group, e.err);
        }
        let notifications = rules.take_notifications();
        if let Some(n) = notifier {
            n.send(&notifications);
        }
    }

    /// Start this tick's remote read: every rule expression at `now` (`remote-rules`), or the
    /// server's alerts (`server`). Answers come back as a `RemoteAnswer`.
    fn ask_remote(&mut self, now: Millis) {
        let Some(client) = self.prom.clone() else { return };
        if self.in_flight {
            return;
        }
        let tx = self.answers.clone();
        match self.source {
            AlertSource::RemoteRules => {
                let Some(remote) = &self.remote else { return };
                let exprs = remote.expr_sources();
                self.in_flight = true;
                tokio::spawn(async move {
                    let results = client.instant_all(exprs, now, REMOTE_IN_FLIGHT).await;
                    let _ = tx.send(RemoteAnswer::Rules { t: now, results }).await;
                });
            }
            AlertSource::Server => {
                self.in_flight = true;
                tokio::spawn(async move {
                    let got = client.alerts().await.map_err(|e| e.to_string());
                    let _ = tx.send(RemoteAnswer::Server(got)).await;
                });
            }
            AlertSource::Local => {}
        }
    }

    /// A remote read finished: evaluate on it (`remote-rules`) or keep it (`server`).
    pub fn on_remote(
        &mut self,
        answer: RemoteAnswer,
        storage: &mut Storage,
        now: Millis,
        events: &mpsc::Sender<Event>,
    ) {
        self.in_flight = false;
        match answer {
            RemoteAnswer::Rules { t, results } => {
                let Some(remote) = self.remote.as_mut() else { return };
                // A query that failed fails its rule only, as a local evaluation error would.
                let failed = results.values().filter_map(|r| r.as_ref().err()).next().cloned();
                remote.evaluator_mut().remote = Some(results);
                remote.eval(storage, t);
                remote.evaluator_mut().remote = None;
                Self::deliver(remote, &self.notifier);
                self.note_remote_error(failed, events);
                self.save_state_if_due(now);
            }
            RemoteAnswer::Server(Ok(v)) => {
                self.server = v;
                self.note_remote_error(None, events);
            }
            RemoteAnswer::Server(Err(e)) => self.note_remote_error(Some(e), events),
        }
        self.send(now, events);
    }

    /// A remote failure is a notice once when it starts, not every tick; the alerts keep their
    /// last state meanwhile (a `server` list is kept as last read).
    fn note_remote_error(&mut self, e: Option<String>, events: &mpsc::Sender<Event>) {
        if e.is_some() && e != self.remote_error {
            let msg = format!("alerts from {}: {}", self.source.as_str(), e.as_deref().unwrap_or(""));
            let _ = events.try_send(Event::Notice(crate::sanitize::line(&msg).into_owned()));
        }
        self.remote_error = e;
    }

    /// Every evaluated group's last evaluation time, local and `remote-rules`.
    fn timings(&self) -> Vec<crate::rules::engine::GroupTiming> {
        self.rules.iter().chain(&self.remote).flat_map(|r| r.timings()).collect()
    }

    /// Rule groups and the wall time of their last evaluations together (the footer's figure).
    pub fn eval_time(&self) -> (usize, Duration) {
        let t = self.timings();
        (t.len(), t.iter().map(|g| g.last_duration).sum())
    }

    /// Once a minute, every group's last evaluation time to the log, in Prometheus's terms
    /// (`rule_group_last_duration_seconds`, keyed `file;group`), so a slow rule set can be found.
    fn log_timings_if_due(&mut self, now: Millis) {
        if self.timings_logged.is_some_and(|t| now - t < TIMINGS_LOG_MS) {
            return;
        }
        self.timings_logged = Some(now);
        let t = self.timings();
        let total: Duration = t.iter().map(|g| g.last_duration).sum();
        let each: Vec<String> = t
            .iter()
            .map(|g| format!("{};{} {:.3} ms", g.file.display(), g.name, g.last_duration.as_secs_f64() * 1e3))
            .collect();
        tracing::info!(
            "rule evaluation: {} groups, {} rules, {:.3} ms in all; {}",
            t.len(),
            t.iter().map(|g| g.rules).sum::<usize>(),
            total.as_secs_f64() * 1e3,
            each.join(", ")
        );
    }

    /// The state file is rewritten when the active alerts change, and once a minute otherwise so
    /// its "last seen active" times stay fresh for the restore's outage tolerance. A small
    /// synchronous write, rare enough not to matter to the runtime.
    fn save_state_if_due(&mut self, now: Millis) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for a in self.rules.iter().chain(&self.remote).flat_map(|r| r.snapshot()) {
            (a.key(), a.active_at, a.state.as_str()).hash(&mut h);
        }
        let sig = h.finish();
        if sig != self.state_saved.0 || now - self.state_saved.1 >= 60_000 {
            self.save_state();
            self.state_saved = (sig, now);
        }
    }

    fn save_state(&self) {
        for (rules, path) in [(&self.rules, self.state_path()), (&self.remote, self.remote_state_path())] {
            if let Some(rules) = rules {
                if let Err(e) = rules.save_state(&path) {
                    tracing::warn!("{e}");
                }
            }
        }
    }

    /// On shutdown: the alert state as of the last evaluation, and the acks.
    pub fn flush(&self) {
        self.save_state();
        if let Err(e) = self.acks.save(&self.state_dir) {
            tracing::warn!("{e}");
        }
    }

    pub fn ack(&mut self, key: &str, acked: bool, now: Millis, events: &mpsc::Sender<Event>) {
        self.acks.set_ack(key, acked);
        self.save_acks(events);
        self.send(now, events);
    }

    /// A keyboard silence, kept in the state dir; returns the alert (name, labels) so the
    /// caller can create the same silence on the Alertmanagers.
    pub fn silence(
        &mut self,
        key: &str,
        until: Millis,
        now: Millis,
        events: &mpsc::Sender<Event>,
    ) -> Option<(String, Vec<(String, String)>)> {
        self.acks.silence(key, until);
        self.save_acks(events);
        self.send(now, events);
        self.views(now).into_iter().find(|a| a.key == key).map(|a| (a.name, a.labels))
    }

    fn save_acks(&self, events: &mpsc::Sender<Event>) {
        if let Err(e) = self.acks.save(&self.state_dir) {
            let _ = events.try_send(Event::Notice(crate::sanitize::line(&e).into_owned()));
        }
    }

    fn send(&self, now: Millis, events: &mpsc::Sender<Event>) {
        if self.has_rules() {
            let _ = events.try_send(Event::Alerts(self.views(now)));
        }
    }

    /// The alerts as the view shows them, with acks and running silences folded in.
    pub fn views(&self, now: Millis) -> Vec<crate::model::AlertView> {
        let evaluated = self.rules.iter().chain(&self.remote).flat_map(|r| r.snapshot()).map(|a| a.to_view());
        evaluated
            .chain(self.server.iter().cloned())
            .map(|mut v| {
                v.acked = self.acks.acked(&v.key);
                v.silenced_until = self.acks.silenced_until(&v.key, now);
                v
            })
            .collect()
    }
}
