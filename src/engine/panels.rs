//! Panels, evaluated on the local store when data arrived (debounced by the loop), or by a remote
//! Prometheus-compatible server (`[prometheus]`) on a timer. Both fold through `panels::evaluate`.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::PANEL_POINTS;
use crate::config::Config;
use crate::model::{Event, Millis, PanelData};
use crate::panels::{self, PanelDef, Window};
use crate::promql;
use crate::tsdb::Storage;

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

pub(super) struct Panels {
    defs: Vec<PanelDef>,
    /// The window panels are evaluated over (`+`/`-`).
    pub window: Duration,
    promql: promql::Engine,
    /// `[prometheus]`: panels query this server instead of the local store.
    remote: Option<crate::prom_api::Client>,
    /// A remote server has its own scrape schedule: ask it again at the fastest local cadence.
    remote_every: Duration,
    /// One query round at a time: a slow server skips rounds instead of piling them up.
    remote_busy: Option<JoinHandle<()>>,
    /// When the round out now was started.
    round_started: Millis,
    /// The fastest scrape interval: remote steps are a multiple of it.
    scrape_ms: i64,
    notices: Vec<String>,
}

impl Panels {
    pub fn new(cfg: &Config) -> Panels {
        let mut notices = Vec::new();
        let remote = match cfg.prometheus.as_ref().map(crate::prom_api::Client::from_config) {
            Some(Ok(c)) => {
                notices.push(format!("panels query {}", c.base_url()));
                Some(c)
            }
            Some(Err(e)) => {
                notices.push(format!("[prometheus]: {e}"));
                None
            }
            None => None,
        };
        let fastest = cfg
            .environments
            .iter()
            .flat_map(|e| e.scrape.iter().map(|s| s.interval))
            .min()
            .unwrap_or(Duration::from_secs(15));
        let remote_every = fastest.max(Duration::from_secs(2));
        Panels {
            defs: panel_defs(cfg),
            window: Duration::from_secs(900).min(cfg.general.history),
            promql: promql::Engine { max_samples: cfg.general.query_max_samples, ..Default::default() },
            remote,
            remote_every,
            remote_busy: None,
            round_started: 0,
            scrape_ms: (fastest.as_millis() as i64).max(1000),
            notices,
        }
    }

    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    pub fn remote_every(&self) -> Duration {
        self.remote_every
    }

    fn window_at(&self, now: Millis) -> Window {
        Window::ending_at_every(now, self.window.as_millis() as i64, PANEL_POINTS, self.scrape_ms)
    }

    pub fn evaluate_local(&self, storage: &Storage, now: Millis) -> Vec<PanelData> {
        self.evaluate_defs_local(&self.defs, storage, self.window_at(now))
    }

    fn evaluate_defs_local(&self, defs: &[PanelDef], storage: &Storage, window: Window) -> Vec<PanelData> {
        panels::evaluate(defs, window, |expr, w| {
            let e = promql::parse(expr).map_err(|e| e.to_string())?;
            let series = self.promql.range(storage, &e, w.start, w.end, w.step).map_err(|e| e.to_string())?;
            Ok(series.into_iter().map(|s| (s.labels, s.samples.into_iter().map(|x| (x.t, x.v)).collect())).collect())
        })
    }

    /// A remote window: a step of window / points rounded to the scrape interval (finer shows
    /// nothing more), the end on a step boundary so consecutive rounds ask the same instants.
    fn remote_window(&self, now: Millis) -> Window {
        let len = self.window.as_millis() as i64;
        let iv = self.scrape_ms;
        let step = ((len / PANEL_POINTS + iv / 2) / iv).max(1) * iv;
        let end = now - now.rem_euclid(step);
        Window { start: end - len, end, step }
    }

    /// An ad-hoc query (`:`) over the current window, answered as a `QueryResult`: at once from
    /// the store, or from the server in a task (bounded by its timeout).
    pub fn query(&self, expr: String, storage: &Storage, now: Millis, events: &mpsc::Sender<Event>) {
        let def = adhoc(&expr, "query");
        let defs = std::slice::from_ref(&def);
        match self.remote.clone() {
            None => {
                let window = self.window_at(now);
                let panel = self.evaluate_defs_local(defs, storage, window).pop();
                let _ = events.try_send(Event::QueryResult(answer(expr, panel)));
            }
            Some(client) => {
                let (window, events) = (self.remote_window(now), events.clone());
                tokio::spawn(async move {
                    let panel = remote_panels(&client, &[def], window).await.pop();
                    let _ = events.send(Event::QueryResult(answer(expr, panel))).await;
                });
            }
        }
    }

    /// Add a query as a panel, evaluated with the others from now on.
    pub fn pin(&mut self, expr: &str) {
        let id = format!("pin:{}", self.defs.iter().filter(|d| d.id.starts_with("pin:")).count());
        self.defs.push(adhoc(expr, &id));
    }

    /// Start a round of remote queries unless the last one is still out; one out for longer than
    /// a round marks the panels stale with its age (their last data stays on screen).
    pub fn on_remote_tick(&mut self, now: Millis, events: &mpsc::Sender<Event>) {
        let Some(client) = self.remote.clone() else { return };
        if self.remote_busy.as_ref().is_some_and(|h| !h.is_finished()) {
            let age = now - self.round_started;
            if age >= self.remote_every.as_millis() as i64 {
                let age = crate::duration::format(Duration::from_secs((age / 1000).max(1) as u64));
                let note = format!("stale: {} has not answered for {age}", client.base_url());
                let _ = events.try_send(Event::PanelsStale(crate::sanitize::line(&note).into_owned()));
            }
            return;
        }
        self.round_started = now;
        let (defs, window, events) = (self.defs.clone(), self.remote_window(now), events.clone());
        self.remote_busy = Some(tokio::spawn(async move {
            let panels = remote_panels(&client, &defs, window).await;
            let _ = events.send(Event::Panels(panels)).await;
        }));
    }
}

/// A panel of one query, every label in its legend.
fn adhoc(expr: &str, id: &str) -> PanelDef {
    let mut def = panels::user(&[crate::config::PanelConfig {
        title: expr.to_string(),
        expr: expr.to_string(),
        unit: Default::default(),
        kind: Default::default(),
    }])
    .remove(0);
    def.id = id.to_string();
    def
}

/// A query's panel as its answer: an error note with no series is the error.
fn answer(expr: String, panel: Option<PanelData>) -> crate::model::QueryResult {
    let panel = match panel {
        Some(p) if p.series.is_empty() && p.note.as_deref().is_some_and(|n| n.starts_with(panels::QUERY_ERROR)) => {
            Err(p.note.unwrap_or_default())
        }
        Some(p) => Ok(p),
        None => Err("no answer".into()),
    };
    crate::model::QueryResult { expr, panel }
}

/// Range queries of one round in flight at once, per server.
pub const REMOTE_IN_FLIGHT: usize = 4;

/// Panels evaluated by a remote Prometheus-compatible server: the queries of a round are sent
/// concurrently (at most `REMOTE_IN_FLIGHT` at once), then the same `panels::evaluate` folds the answers as for the local store.
pub async fn remote_panels(client: &crate::prom_api::Client, defs: &[PanelDef], w: Window) -> Vec<PanelData> {
    let exprs: Vec<&str> = defs.iter().flat_map(|d| d.queries.iter().map(|q| q.expr.as_str())).collect();
    use futures::StreamExt;
    let step = Duration::from_millis(w.step as u64);
    // A bounded number in flight: a dashboard must not be the load that tips the server over.
    let calls: Vec<_> = exprs
        .iter()
        .map(|e| {
            let (client, e) = (client.clone(), e.to_string());
            async move {
                let r = client.query_range(&e, w.start, w.end, step).await;
                (e, r)
            }
        })
        .collect();
    // The round as a whole is bounded by one request's timeout, so a hanging server is said
    // within it, not after ⌈queries / REMOTE_IN_FLIGHT⌉ timeouts in a row.
    let deadline = tokio::time::Instant::now() + client.timeout();
    let mut stream = futures::stream::iter(calls).buffer_unordered(REMOTE_IN_FLIGHT);
    let mut answers = Vec::with_capacity(exprs.len());
    while let Ok(Some(a)) = tokio::time::timeout_at(deadline, stream.next()).await {
        answers.push(a);
    }
    let unanswered = format!("{}: no answer within {}", client.base_url(), crate::duration::format(client.timeout()));
    let mut by_expr: std::collections::HashMap<String, Result<panels::RangeResult, String>> = Default::default();
    for (e, a) in answers {
        let r = match a {
            Ok(promql::Value::Matrix(m)) => {
                Ok(m.into_iter().map(|s| (s.labels, s.samples.into_iter().map(|x| (x.t, x.v)).collect())).collect())
            }
            Ok(_) => Err("the server answered a range query with a non-matrix".to_string()),
            Err(e) => Err(e.to_string()),
        };
        by_expr.insert(e, r);
    }
    panels::evaluate(defs, w, |expr, _| by_expr.get(expr).cloned().unwrap_or_else(|| Err(unanswered.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_past_the_sample_limit_stops_with_an_error_on_its_panel() {
        let toml = "[general]\nquery_max_samples = 50\n\n[[panel]]\ntitle = \"all\"\nexpr = \"rate(x[5m])\"\n";
        let cfg = Config::parse(toml, std::path::Path::new("x.toml")).unwrap();
        let p = Panels::new(&cfg);
        let mut st = Storage::new(Default::default());
        for i in 0..10 {
            let l = crate::tsdb::Labels::from_pairs([("__name__", "x"), ("i", &i.to_string())]);
            for t in 0..30 {
                st.append(&l, 1_000_000 + t * 10_000, t as f64).unwrap();
            }
        }
        let panels = p.evaluate_local(&st, 1_300_000);
        let user = panels.iter().find(|p| p.title == "all").unwrap();
        assert!(user.note.as_deref().is_some_and(|n| n.contains("query_max_samples")), "{:?}", user.note);
    }
}
