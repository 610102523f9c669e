//! Component checks (issue 14): an environment's API, database, cache and workers, each checked
//! the way Docker's HEALTHCHECK checks a container, so a team's compose healthchecks mean the same
//! here: `starting` until a first pass, `healthy` on one pass, `unhealthy` after `retries` failures
//! in a row; failures inside `start_period` do not count until a first pass, and checks run every
//! `start_interval` then; a check past its `timeout` is a failure (a command is killed with its
//! process group). One deliberate difference: the first check runs at once, not one interval in,
//! since a dashboard that just started should not wait 30 s to say anything.
//!
//! `spawn` runs one task per component for the engine; `verdict` is the one-shot form for
//! `opsdeck status`, run until the state means what the dashboard's would.

pub mod probe;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{ComponentConfig, Environment};
use crate::model::{ComponentState, ComponentStatus, Millis};
use crate::tsdb::{Labels, Storage};
pub use probe::{Probe, Prober};

/// Transitions kept per component for the view.
pub const TRANSITIONS: usize = 20;
/// The series each component's state is written to: 1 healthy, 0 unhealthy, nothing while starting.
pub const HEALTHY_METRIC: &str = "opsdeck_component_healthy";

/// One component's state machine.
#[derive(Debug, Clone)]
pub struct Tracker {
    status: ComponentStatus,
    started: Millis,
    start_period_ms: i64,
    passed_once: bool,
}

impl Tracker {
    pub fn new(env: &str, cfg: &ComponentConfig, started: Millis) -> Tracker {
        Tracker {
            status: ComponentStatus {
                env: env.to_string(),
                name: crate::sanitize::line(&cfg.name).into_owned(),
                kind: cfg.kind.as_str(),
                state: ComponentState::Starting,
                failing_streak: 0,
                retries: cfg.retries,
                checks: 0,
                last_ok: None,
                last_duration_ms: None,
                last_check: None,
                reason: None,
                output: String::new(),
                transitions: vec![(started, ComponentState::Starting)],
                tls_unverified: cfg.kind == crate::config::ComponentKind::Http && !cfg.tls_verify,
            },
            started,
            start_period_ms: cfg.start_period.as_millis() as i64,
            passed_once: false,
        }
    }

    /// Inside the start period, and not started yet: failures do not count.
    pub fn in_start_period(&self, now: Millis) -> bool {
        !self.passed_once && now - self.started < self.start_period_ms
    }

    /// Fold one check in.
    pub fn record(&mut self, p: &Probe, now: Millis) {
        let s = &mut self.status;
        s.checks += 1;
        s.last_ok = Some(p.ok);
        s.last_duration_ms = Some((p.duration.as_secs_f64() * 10_000.0).round() / 10.0);
        s.last_check = Some(now);
        s.reason = p.reason.clone();
        s.output = p.output.clone();
        let next = if p.ok {
            self.passed_once = true;
            s.failing_streak = 0;
            ComponentState::Healthy
        } else if !self.passed_once && now - self.started < self.start_period_ms {
            // Docker: a failure in the start period is not counted toward retries.
            s.state
        } else {
            s.failing_streak += 1;
            if s.failing_streak >= s.retries {
                ComponentState::Unhealthy
            } else {
                s.state
            }
        };
        if next != s.state {
            s.state = next;
            s.transitions.push((now, next));
            if s.transitions.len() > TRANSITIONS {
                s.transitions.remove(0);
            }
        }
    }

    /// The wait before the next check.
    pub fn next_delay(&self, cfg: &ComponentConfig, now: Millis) -> Duration {
        if self.in_start_period(now) {
            cfg.start_interval
        } else {
            cfg.interval
        }
    }

    pub fn status(&self) -> &ComponentStatus {
        &self.status
    }
}

/// Write a component's state into the store, so rules and panels can use it.
pub fn record_series(storage: &mut Storage, s: &ComponentStatus, now: Millis) {
    let v = match s.state {
        ComponentState::Healthy => 1.0,
        ComponentState::Unhealthy => 0.0,
        ComponentState::Starting => return,
    };
    let labels = Labels::from_pairs([("__name__", HEALTHY_METRIC), ("env", &s.env), ("component", &s.name)]);
    let _ = storage.append(&labels, now, v);
}

/// The component tasks; dropping this stops them.
pub struct Checkers(Vec<JoinHandle<()>>);

impl Drop for Checkers {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// One task per component; each check's status goes to `tx`. `now` is the engine's clock.
pub fn spawn(
    envs: &[Environment],
    now: impl Fn() -> Millis + Clone + Send + Sync + 'static,
    tx: mpsc::Sender<ComponentStatus>,
) -> Checkers {
    let mut tasks = Vec::new();
    for env in envs {
        for c in &env.components {
            let (env, prober, tx, now) = (env.name.clone(), Prober::new(c.clone()), tx.clone(), now.clone());
            tasks.push(tokio::spawn(async move {
                let mut t = Tracker::new(&env, prober.config(), now());
                loop {
                    let p = prober.run().await;
                    t.record(&p, now());
                    if tx.send(t.status().clone()).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(t.next_delay(prober.config(), now())).await;
                }
            }));
        }
    }
    Checkers(tasks)
}

/// One component checked until its state means what the dashboard's would: a pass (healthy),
/// `retries` failures in a row (unhealthy), or a failure inside the start period (starting).
/// Bounded by about retries × (interval + timeout).
pub async fn verdict(env: &str, cfg: &ComponentConfig) -> ComponentStatus {
    let prober = Prober::new(cfg.clone());
    let now = crate::clock::wall_ms;
    let mut t = Tracker::new(env, cfg, now());
    loop {
        let p = prober.run().await;
        t.record(&p, now());
        let s = t.status();
        let decided = p.ok || s.state == ComponentState::Unhealthy || t.in_start_period(now());
        if decided || s.checks > u64::from(cfg.retries) {
            return t.status().clone();
        }
        tokio::time::sleep(t.next_delay(cfg, now())).await;
    }
}

/// Every component of every environment, concurrently.
pub async fn verdicts(envs: &[Environment]) -> Vec<ComponentStatus> {
    let all = envs.iter().flat_map(|e| e.components.iter().map(move |c| verdict(&e.name, c)));
    futures::future::join_all(all).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(retries: u32, start_period: u64) -> ComponentConfig {
        let toml = format!(
            "[[environment]]\nname = \"e\"\ncomponents = [{{ name = \"c\", kind = \"tcp\", address = \"127.0.0.1:1\", retries = {retries}, start_period = \"{start_period}s\", interval = \"10s\", start_interval = \"2s\" }}]\n"
        );
        let c = crate::config::Config::parse(&toml, std::path::Path::new("t.toml")).unwrap();
        c.environments[0].components[0].clone()
    }

    fn probe(ok: bool) -> Probe {
        Probe {
            ok,
            reason: (!ok).then(|| "connection refused".into()),
            output: String::new(),
            duration: Duration::from_millis(3),
        }
    }

    #[test]
    fn an_unverified_tls_check_is_marked() {
        let toml = "[[environment]]\nname = \"e\"\ncomponents = [{ name = \"api\", kind = \"http\", url = \"https://h/\", tls_verify = false }, { name = \"ok\", kind = \"http\", url = \"https://h/\" }]\n";
        let c = crate::config::Config::parse(toml, std::path::Path::new("t.toml")).unwrap();
        let comps = &c.environments[0].components;
        assert!(Tracker::new("e", &comps[0], 0).status().tls_unverified);
        assert!(!Tracker::new("e", &comps[1], 0).status().tls_unverified);
    }

    #[test]
    fn unhealthy_after_exactly_retries_failures_and_healthy_on_one_pass() {
        let c = cfg(3, 0);
        let mut t = Tracker::new("e", &c, 0);
        assert_eq!(t.status().state, ComponentState::Starting);
        t.record(&probe(true), 1);
        assert_eq!(t.status().state, ComponentState::Healthy);
        t.record(&probe(false), 2);
        t.record(&probe(false), 3);
        assert_eq!((t.status().state, t.status().failing_streak), (ComponentState::Healthy, 2));
        t.record(&probe(false), 4);
        assert_eq!(t.status().state, ComponentState::Unhealthy);
        assert_eq!(t.status().reason.as_deref(), Some("connection refused"));
        t.record(&probe(true), 5);
        assert_eq!((t.status().state, t.status().failing_streak), (ComponentState::Healthy, 0));
        let states: Vec<_> = t.status().transitions.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(states, ["starting", "healthy", "unhealthy", "healthy"]);
    }

    #[test]
    fn a_never_passing_check_goes_from_starting_to_unhealthy() {
        let c = cfg(2, 0);
        let mut t = Tracker::new("e", &c, 0);
        t.record(&probe(false), 1);
        assert_eq!(t.status().state, ComponentState::Starting);
        t.record(&probe(false), 2);
        assert_eq!(t.status().state, ComponentState::Unhealthy);
    }

    #[test]
    fn start_period_failures_do_not_count_until_a_first_pass() {
        let c = cfg(1, 60);
        let mut t = Tracker::new("e", &c, 0);
        for i in 1..10 {
            t.record(&probe(false), i * 1000);
        }
        assert_eq!((t.status().state, t.status().failing_streak), (ComponentState::Starting, 0));
        assert_eq!(t.next_delay(&c, 10_000), Duration::from_secs(2), "start_interval inside the start period");
        // Past the start period, failures count.
        t.record(&probe(false), 61_000);
        assert_eq!(t.status().state, ComponentState::Unhealthy);
        assert_eq!(t.next_delay(&c, 61_000), Duration::from_secs(10));

        // A pass inside the start period ends it: failures count from then on.
        let mut t = Tracker::new("e", &c, 0);
        t.record(&probe(true), 1000);
        assert!(!t.in_start_period(2000));
        t.record(&probe(false), 2000);
        assert_eq!(t.status().state, ComponentState::Unhealthy);
    }

    #[test]
    fn the_state_is_a_series_in_the_store() {
        let mut st = Storage::new(crate::tsdb::StorageOptions { retention_ms: 60_000, max_series: 10 });
        let c = cfg(1, 0);
        let mut t = Tracker::new("e", &c, 0);
        record_series(&mut st, t.status(), 0);
        assert_eq!(st.num_series(), 0, "starting writes nothing");
        t.record(&probe(false), 1000);
        record_series(&mut st, t.status(), 1000);
        let s = st.series().next().unwrap();
        assert_eq!(s.labels_without_name().get("component"), Some("c"));
        assert_eq!(s.last().map(|x| x.v), Some(0.0));
    }
}
