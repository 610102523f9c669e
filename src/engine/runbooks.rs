//! Runbooks for the alert details: loaded off the engine's loop (a slow runbook server never
//! delays a scrape or a rule tick), answered as `Event::Runbook`, and the steps ticked per alert
//! instance kept in the state dir until the alert resolves.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::model::{AlertState, AlertView, Event, Millis, RunbookView};
use crate::runbook::ticks::Ticks;
use crate::runbook::{AlertRef, Loader, Places};

/// Ticks of an alert missing from the snapshot are kept this long after the engine started: at
/// start the rules may not have evaluated (or restored) the alert yet, and a restart in the middle
/// of an incident must not forget where on-call had got to.
const WARMUP_MS: Millis = 5 * 60_000;

pub(super) struct Runbooks {
    loader: Arc<Loader>,
    places: Places,
    ticks: Ticks,
    started: Millis,
}

impl Runbooks {
    /// The ticks saved in `state_dir`; a notice when they could not be read.
    pub fn new(cfg: &Config, state_dir: &Path, client: reqwest::Client, now: Millis) -> (Runbooks, Option<String>) {
        let (ticks, err) = Ticks::load(state_dir);
        let r =
            Runbooks { loader: Arc::new(Loader::new(client)), places: Places::from_config(cfg), ticks, started: now };
        (r, err)
    }

    /// Load the alert's runbook in a task of its own; the answer carries the ticks saved for it.
    pub fn load(&self, key: String, alert: AlertRef, now: Millis, events: &mpsc::Sender<Event>) {
        let (loader, places, events) = (self.loader.clone(), self.places.clone(), events.clone());
        let ticks = self.ticks.of(&key);
        tokio::spawn(async move {
            let (source, doc) = crate::runbook::load(&loader, &places, &alert, now).await;
            let _ = events.send(Event::Runbook(RunbookView { key, source, doc, ticks })).await;
        });
    }

    pub fn has_ticks(&self) -> bool {
        self.ticks.keys().next().is_some()
    }

    pub fn tick(&mut self, key: &str, step: &str, ticked: bool) -> Result<(), String> {
        self.ticks.set(key, step, ticked)
    }

    /// After an evaluation: drop the ticks of alerts that resolved (and, past the warm-up, of
    /// alerts no longer known at all, which resolved while opsdeck was not running).
    pub fn retain(&mut self, alerts: &[AlertView], now: Millis) -> Result<(), String> {
        let resolved: HashSet<&str> =
            alerts.iter().filter(|a| a.state == AlertState::Resolved).map(|a| a.key.as_str()).collect();
        let known: HashSet<&str> = alerts.iter().map(|a| a.key.as_str()).collect();
        let warm = now - self.started >= WARMUP_MS;
        let active: Vec<String> = self
            .ticks
            .keys()
            .filter(|k| !resolved.contains(k.as_str()) && (known.contains(k.as_str()) || !warm))
            .cloned()
            .collect();
        self.ticks.retain_active(active.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str, state: AlertState) -> AlertView {
        AlertView {
            key: key.into(),
            name: "X".into(),
            state,
            severity: "warning".into(),
            env: None,
            summary: String::new(),
            active_since: 0,
            resolved_at: None,
            value: 1.0,
            expr: "vector(1)".into(),
            labels: vec![],
            annotations: vec![],
            history: vec![],
            acked: false,
            silenced_until: None,
        }
    }

    #[test]
    fn ticks_go_when_the_alert_resolves_or_is_gone_after_the_warmup() {
        let d = tempfile::tempdir().unwrap();
        let cfg = crate::config::Config::parse("", &d.path().join("opsdeck.toml")).unwrap();
        let (mut r, err) = Runbooks::new(&cfg, d.path(), crate::net::client(), 0);
        assert_eq!(err, None);
        r.tick("a", "step", true).unwrap();
        r.tick("b", "step", true).unwrap();
        r.tick("c", "step", true).unwrap();
        // At start an alert not evaluated yet keeps its ticks; a resolved one loses them.
        r.retain(&[alert("a", AlertState::Firing), alert("b", AlertState::Resolved)], 1_000).unwrap();
        assert!(r.has_ticks());
        let (t, _) = Ticks::load(d.path());
        assert_eq!(t.keys().cloned().collect::<Vec<_>>(), ["a", "c"]);
        // Past the warm-up, an alert the rules no longer know has resolved.
        r.retain(&[alert("a", AlertState::Pending)], WARMUP_MS).unwrap();
        let (t, _) = Ticks::load(d.path());
        assert_eq!(t.keys().cloned().collect::<Vec<_>>(), ["a"]);
    }
}
