//! Alerts: the configured rule files evaluated on the local store, their state saved so a restart
//! resumes `for` timers, notifications handed to the notifier (Alertmanager, webhooks), and the
//! keyboard's acknowledgements and silences (kept in the state dir, mirrored to Alertmanager).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::acks::Acks;
use crate::config::Config;
use crate::model::{Event, Millis};
use crate::rules::{PromqlEvaluator, RuleEngine};
use crate::tsdb::Storage;

pub(super) struct Alerts {
    rules: Option<RuleEngine<PromqlEvaluator>>,
    acks: Acks,
    state_dir: PathBuf,
    notifier: Option<crate::notify::Notifier>,
    alertmanagers: Vec<String>,
    interval: Duration,
    /// What the alert state file last held (a signature of the active alerts) and when it was written.
    state_saved: (u64, Millis),
    notices: Vec<String>,
}

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
        let mut a = Alerts {
            rules: None,
            acks,
            state_dir,
            notifier,
            alertmanagers: cfg.alerting.alertmanager.clone(),
            interval: cfg.alerting.evaluation_interval.max(Duration::from_millis(500)),
            state_saved: (0, 0),
            notices,
        };
        match crate::rules::load_from_config(cfg) {
            Ok(Some(mut r)) => {
                match r.restore_state(&a.state_path()) {
                    Ok(n) if n > 0 => a.notices.push(format!("restored the state of {n} active alerts")),
                    Ok(_) => {}
                    Err(e) => a.notices.push(e.to_string()),
                }
                a.rules = Some(r);
            }
            Ok(None) => {}
            Err(errs) => a.notices.extend(errs.into_iter().map(|e| format!("rules: {e}"))),
        }
        a
    }

    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    pub fn has_rules(&self) -> bool {
        self.rules.is_some()
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn state_path(&self) -> PathBuf {
        self.state_dir.join("alert_state.json")
    }

    pub fn evaluate(&mut self, storage: &mut Storage, now: Millis, events: &mpsc::Sender<Event>) {
        let Some(rules) = self.rules.as_mut() else { return };
        rules.eval(storage, now);
        for e in rules.take_errors() {
            tracing::warn!("rule {} of group {}: {}", e.rule, e.group, e.err);
        }
        let notifications = rules.take_notifications();
        if let Some(n) = &self.notifier {
            n.send(&notifications);
        }
        self.save_state_if_due(now);
        self.send(now, events);
    }

    /// The state file is rewritten when the active alerts change, and once a minute otherwise so
    /// its "last seen active" times stay fresh for the restore's outage tolerance. A small
    /// synchronous write, rare enough not to matter to the runtime.
    fn save_state_if_due(&mut self, now: Millis) {
        use std::hash::{Hash, Hasher};
        let Some(rules) = &self.rules else { return };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for a in rules.snapshot() {
            (a.key(), a.active_at, a.state.as_str()).hash(&mut h);
        }
        let sig = h.finish();
        if sig != self.state_saved.0 || now - self.state_saved.1 >= 60_000 {
            self.save_state();
            self.state_saved = (sig, now);
        }
    }

    fn save_state(&self) {
        if let Some(rules) = &self.rules {
            if let Err(e) = rules.save_state(&self.state_path()) {
                tracing::warn!("{e}");
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

    /// A keyboard silence, also created on every configured Alertmanager, matching the alert's
    /// labels exactly; each Alertmanager's answer is reported as a notice.
    pub fn silence(
        &mut self,
        key: &str,
        until: Millis,
        now: Millis,
        client: &reqwest::Client,
        events: &mpsc::Sender<Event>,
    ) {
        self.acks.silence(key, until);
        self.save_acks(events);
        self.silence_in_alertmanager(key, until, now, client, events);
        self.send(now, events);
    }

    fn save_acks(&self, events: &mpsc::Sender<Event>) {
        if let Err(e) = self.acks.save(&self.state_dir) {
            let _ = events.try_send(Event::Notice(crate::sanitize::line(&e).into_owned()));
        }
    }

    fn silence_in_alertmanager(
        &self,
        key: &str,
        until: Millis,
        now: Millis,
        client: &reqwest::Client,
        events: &mpsc::Sender<Event>,
    ) {
        let Some(rules) = &self.rules else { return };
        let Some(alert) = rules.snapshot().into_iter().find(|a| a.key() == key) else { return };
        let user = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "opsdeck".into());
        let req = crate::notify::SilenceRequest {
            matchers: alert.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            starts_at_ms: now,
            ends_at_ms: until,
            created_by: user,
            comment: format!("silenced from opsdeck: {}", alert.rule),
        };
        for am in &self.alertmanagers {
            let (client, am, req, events) = (client.clone(), am.clone(), req.clone(), events.clone());
            tokio::spawn(async move {
                let msg = match crate::notify::create_silence(&client, &am, &req).await {
                    Ok(id) => format!("Alertmanager {am}: silence {id} created"),
                    Err(e) => format!("Alertmanager {am}: silence not created: {e}"),
                };
                let _ = events.send(Event::Notice(crate::sanitize::line(&msg).into_owned())).await;
            });
        }
    }

    fn send(&self, now: Millis, events: &mpsc::Sender<Event>) {
        if self.rules.is_some() {
            let _ = events.try_send(Event::Alerts(self.views(now)));
        }
    }

    /// The alerts as the view shows them, with acks and running silences folded in.
    pub fn views(&self, now: Millis) -> Vec<crate::model::AlertView> {
        let Some(rules) = &self.rules else { return Vec::new() };
        rules
            .snapshot()
            .iter()
            .map(|a| {
                let mut v = a.to_view();
                v.acked = self.acks.acked(&v.key);
                v.silenced_until = self.acks.silenced_until(&v.key, now);
                v
            })
            .collect()
    }
}
