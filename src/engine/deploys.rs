//! Deploy operations asked for from the dashboard: each runs the deploy engine's one flow
//! (`deploy::operate`) in a task of its own, so the loop never waits on a driver or a bake. Its
//! progress goes straight to the view; its outcome comes back to the loop, which owns the chart
//! markers and the history it sends. Read-only mode is enforced here, where actions are
//! dispatched, whatever the view did.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::deploy::flow::Said;
use crate::deploy::journal::History;
use crate::deploy::operate::{self, Request};
use crate::model::{DeployHistory, DeployProgress, Event, Final, HistoryRow, Millis, OpKind, Resolution};

/// What a finished operation reports back to the loop.
pub(crate) struct DeployOutcome {
    pub env: String,
    pub kind: OpKind,
    pub version: Option<String>,
    /// When it was asked for (where the chart marker goes).
    pub at: Millis,
    pub last: Final,
    /// An interrupted operation this one resolves once verified.
    pub resolves: Option<String>,
}

/// Output lines are forwarded to the view at most this often (a chatty driver must not flood it).
const OUTPUT_EVERY: Duration = Duration::from_millis(200);

pub(super) struct Deploys {
    cfg: Arc<Config>,
    dir: PathBuf,
    read_only: bool,
    /// The cancel switch of each environment's running operation.
    running: HashMap<String, watch::Sender<bool>>,
    events: mpsc::Sender<Event>,
    done: mpsc::Sender<DeployOutcome>,
    /// Taken once by the loop.
    outcomes: Option<mpsc::Receiver<DeployOutcome>>,
}

impl Deploys {
    pub fn new(cfg: &Config, state_dir: &std::path::Path, events: mpsc::Sender<Event>) -> Deploys {
        let (done, outcomes) = mpsc::channel(8);
        Deploys {
            dir: operate::deploy_dir(cfg, state_dir),
            read_only: cfg.general.read_only,
            cfg: Arc::new(cfg.clone()),
            running: HashMap::new(),
            events,
            done,
            outcomes: Some(outcomes),
        }
    }

    pub fn take_outcomes(&mut self) -> mpsc::Receiver<DeployOutcome> {
        self.outcomes.take().expect("the loop takes the deploy outcomes once")
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Start an operation; `Err` is the notice when it cannot start at all.
    pub fn start(
        &mut self,
        env: String,
        kind: OpKind,
        version: Option<String>,
        resolves: Option<String>,
        now: Millis,
    ) -> Result<(), String> {
        if self.read_only {
            // Still through the engine, so the refusal is audited like any other.
        } else if self.running.contains_key(&env) {
            return Err(format!("{env}: an operation is already running; nothing was started"));
        }
        let (cancel_tx, cancel_rx) = watch::channel(false);
        self.running.insert(env.clone(), cancel_tx);
        let req = Request {
            env: env.clone(),
            kind,
            version: version.clone(),
            force: false,
            dry_run: false,
            // The dashboard's confirmation step (typed name for protected environments) ran.
            confirmed: true,
            via: "dashboard",
            read_only: self.read_only,
        };
        let (cfg, dir, events, done) = (self.cfg.clone(), self.dir.clone(), self.events.clone(), self.done.clone());
        tokio::spawn(async move {
            let mut last_sent = Instant::now() - OUTPUT_EVERY;
            let mut sink = |p: &DeployProgress, said: Said| {
                if matches!(said, Said::Output(_)) && last_sent.elapsed() < OUTPUT_EVERY {
                    return;
                }
                last_sent = Instant::now();
                let _ = events.try_send(Event::Deploy(p.clone()));
            };
            let last = match operate::operate(&cfg, &dir, req, Some(cancel_rx), &mut sink).await {
                Ok(d) => {
                    if d.op.is_none() {
                        // Refused before it began: the view still hears how it ended.
                        let _ =
                            events.send(Event::Deploy(refused(&env, kind, version.as_deref(), &d.summary, now))).await;
                    }
                    let _ = events.send(Event::Notice(crate::sanitize::line(&d.summary).into_owned())).await;
                    d.last
                }
                Err(e) => {
                    let msg = format!("{env}: {e}");
                    let _ = events.send(Event::Deploy(refused(&env, kind, version.as_deref(), &msg, now))).await;
                    let _ = events.send(Event::Notice(crate::sanitize::line(&msg).into_owned())).await;
                    Final::Refused
                }
            };
            let _ = done.send(DeployOutcome { env, kind, version, at: now, last, resolves }).await;
        });
        Ok(())
    }

    pub fn cancel(&self, env: &str) -> Result<(), String> {
        match self.running.get(env) {
            Some(c) => {
                let _ = c.send(true);
                Ok(())
            }
            None => Err(format!("{env}: no operation is running; nothing to cancel")),
        }
    }

    /// The loop hears an operation ended.
    pub fn finished(&mut self, o: &DeployOutcome) {
        self.running.remove(&o.env);
        if let (Some(op), Final::Verified) = (&o.resolves, o.last) {
            let how = if o.kind == OpKind::Rollback { "rolled back" } else { "verified" };
            let _ =
                crate::deploy::journal::resolve(&self.dir, &o.env, op, how, &crate::deploy::lock::current_user(), o.at);
        }
    }

    /// Deal with an interrupted operation; `Ok` is the notice of what was done or started.
    pub fn resolve(&mut self, env: &str, op: &str, how: Resolution, now: Millis) -> Result<String, String> {
        if self.read_only {
            return Err(format!("read-only: resolving {env}'s interrupted operation refused"));
        }
        let h = History::load(&self.dir, env);
        let Some(o) = h.find(op).filter(|o| o.interrupted) else {
            return Err(format!("{env}: operation {op} is not interrupted (any more); nothing done"));
        };
        let version = o.version.clone();
        match how {
            Resolution::MarkResolved => {
                // Under the environment's lock, so nothing runs while it is marked.
                let _held =
                    crate::deploy::lock::try_acquire(&self.dir, env, "resolve", now).map_err(|e| e.to_string())?;
                let user = crate::deploy::lock::current_user();
                crate::deploy::journal::resolve(&self.dir, env, op, "marked resolved", &user, now)
                    .map_err(|e| format!("{env}: cannot write the journal: {e}"))?;
                Ok(format!("{env}: interrupted {} of {version} marked resolved by {user}", o.operation.as_str()))
            }
            Resolution::Verify => {
                let health = self.cfg.environment(env).and_then(|e| e.health.clone());
                let Some(health) = health else { return Err(format!("{env}: no health check to verify with")) };
                let (cfg, dir, events) = (self.cfg.clone(), self.dir.clone(), self.events.clone());
                let (env, op) = (env.to_string(), op.to_string());
                let version2 = version.clone();
                tokio::spawn(async move {
                    let r = crate::health::check_once(&crate::net::client(), &health).await;
                    let msg = if r.up && r.version.as_deref() == Some(version2.as_str()) {
                        let user = crate::deploy::lock::current_user();
                        match crate::deploy::journal::resolve(
                            &dir,
                            &env,
                            &op,
                            "verified",
                            &user,
                            crate::clock::wall_ms(),
                        ) {
                            Ok(()) => {
                                format!("{env}: healthy on {version2}: the interrupted operation is recorded verified")
                            }
                            Err(e) => {
                                format!("{env}: healthy on {version2}, but the journal could not be written: {e}")
                            }
                        }
                    } else {
                        let on = r.version.as_deref().unwrap_or("an unknown version");
                        let why = r.reason.unwrap_or_else(|| format!("it runs {on}"));
                        format!("{env}: not verified ({why}); the operation stays interrupted: roll back or mark it resolved")
                    };
                    let _ = events.send(Event::Notice(crate::sanitize::line(&msg).into_owned())).await;
                    let _ = events.send(history_event(&cfg, &dir, &env)).await;
                });
                Ok(format!("checking health on {version}…"))
            }
            Resolution::RollBack => self
                .start(env.to_string(), OpKind::Rollback, None, Some(op.to_string()), now)
                .map(|()| format!("{env}: rolling back the interrupted {}…", o.operation.as_str())),
        }
    }

    /// Every environment's history, for the view.
    pub fn histories(&self) -> Vec<Event> {
        self.cfg.environments.iter().filter(|e| e.deploy.is_some()).map(|e| self.history(&e.name)).collect()
    }

    pub fn history(&self, env: &str) -> Event {
        history_event(&self.cfg, &self.dir, env)
    }

    /// Chart markers of the operations in the journals (deploys made from any terminal).
    pub fn journal_markers(&self) -> Vec<crate::model::Marker> {
        let mut out = Vec::new();
        for e in self.cfg.environments.iter().filter(|e| e.deploy.is_some()) {
            for o in History::load(&self.dir, &e.name).operations {
                out.push(crate::model::Marker {
                    at: o.started,
                    env: e.name.clone(),
                    label: crate::sanitize::line(&o.version).into_owned(),
                    rollback: o.operation == OpKind::Rollback || o.last == Some(Final::RolledBack),
                });
            }
        }
        out
    }
}

/// `env`'s journal as the view's history.
fn history_event(cfg: &Config, dir: &std::path::Path, env: &str) -> Event {
    let h = History::load(dir, env);
    let keep = cfg.environment(env).and_then(|e| e.deploy.as_ref()).map(|d| d.keep_last).unwrap_or(3);
    let rows = h
        .operations
        .iter()
        .map(|o| HistoryRow {
            id: o.id.clone(),
            started: o.started,
            kind: o.operation,
            version: crate::sanitize::line(&o.version).into_owned(),
            outcome: o.outcome.clone(),
            took_ms: o.duration_ms,
            user: crate::sanitize::line(&o.user).into_owned(),
            forced: o.forced,
            detail: crate::sanitize::line(o.resolved.as_deref().unwrap_or(&o.detail)).into_owned(),
        })
        .collect();
    Event::DeployHistory(DeployHistory {
        env: env.to_string(),
        rows,
        points: h.points(keep).into_iter().map(|p| p.version).collect(),
        interrupted: h.interrupted(),
        problems: h.problems.clone(),
    })
}

fn refused(env: &str, kind: OpKind, version: Option<&str>, why: &str, now: Millis) -> DeployProgress {
    DeployProgress {
        id: String::new(),
        env: env.to_string(),
        kind,
        version: version.unwrap_or("").to_string(),
        rollback_point: None,
        phase: crate::model::Phase::Done,
        started: now,
        checks_done: 0,
        checks_total: 0,
        bake_until: None,
        gates: vec![],
        output: vec![],
        message: crate::sanitize::line(why).into_owned(),
        last: Some(Final::Refused),
    }
}
