//! The flow of one operation (design §5), the same for the dashboard and the headless commands:
//! pre-check → rollback point → driver → verify → bake → done, or automatic rollback → verify
//! the rollback. Everything it touches goes through [`Ports`] (health, gates, driver, clock), so
//! the whole flow is unit-tested with a scripted environment and a manual clock, without sleeping.
//!
//! Counting, after Argo Rollouts: each check ends Success, Failure, Inconclusive or Error. Errors
//! (could not measure) count toward `consecutive_error_limit` and not toward `failure_limit`; in
//! verify, a healthy answer still on the old version is Inconclusive (the switch has not happened
//! yet) and only uses up a check; in bake, Inconclusive (no data, NaN) is a failure.

use std::future::Future;
use std::time::Duration;

use super::gates::GateReport;
use super::journal::{OpJournal, Rec};
use crate::model::{CheckOutcome, DeployProgress, Final, Millis, OpKind, Phase};

/// One health check, as the flow needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthObs {
    pub up: bool,
    pub version: Option<String>,
    /// Why it is down, in words.
    pub reason: Option<String>,
    /// False when no HTTP answer came at all (refused, timeout): an Error, not a Failure.
    pub answered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverStep {
    Deploy,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverCall {
    pub step: DriverStep,
    pub version: String,
    /// What runs before it (`{previous}`).
    pub previous: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverResult {
    pub ok: bool,
    /// "HTTP 202: accepted", "exit 1: registry unreachable", "timed out after 3s (process group killed)".
    pub detail: String,
}

/// What the flow reads and drives. Implemented on the real world by `live::LivePorts`.
pub trait Ports: Send {
    fn now(&self) -> Millis;
    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()> + Send;
    /// `None` when the environment has no health check.
    fn health(&mut self) -> impl Future<Output = Option<HealthObs>> + Send;
    /// The latest gate evaluation (`None`: no gates are watched).
    fn gates(&mut self) -> Option<GateReport>;
    /// Wait at most `limit` for a first gate evaluation.
    fn first_gates(&mut self, limit: Duration) -> impl Future<Output = Option<GateReport>> + Send;
    /// Run the driver; `out(stream, line)` gets its output live (sanitised).
    fn drive(
        &mut self,
        call: &DriverCall,
        out: &mut (dyn FnMut(&str, &str) + Send),
    ) -> impl Future<Output = DriverResult> + Send;
    /// The operator asked to cancel (which leads to a rollback).
    fn cancelled(&self) -> bool;
}

/// Verification settings (the environment's `deploy` table).
#[derive(Debug, Clone)]
pub struct Settings {
    pub health_checks: u32,
    pub health_interval: Duration,
    pub bake: Duration,
    pub failure_limit: u32,
    pub consecutive_error_limit: u32,
    pub gates: Vec<String>,
}

impl Settings {
    pub fn from_config(d: &crate::config::DeployConfig) -> Settings {
        Settings {
            health_checks: d.health_checks.max(1),
            health_interval: d.health_interval,
            bake: d.bake,
            failure_limit: d.failure_limit,
            consecutive_error_limit: d.consecutive_error_limit,
            gates: d.gates.clone(),
        }
    }
}

/// What to do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub env: String,
    pub kind: OpKind,
    /// The version to run at the end (for a rollback, its target).
    pub version: String,
    pub force: bool,
    pub settings: Settings,
    /// The newest verified release of the environment, from the journal.
    pub last_verified: Option<String>,
    /// The health check taken just before the operation started.
    pub pre: Option<HealthObs>,
    /// The environment's components, each checked to a verdict just before (empty: none configured).
    pub components: Vec<crate::model::ComponentStatus>,
}

/// How it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub last: Final,
    /// One line for people: what happened and why.
    pub summary: String,
    /// What runs now, as far as it was verified.
    pub running: Option<String>,
}

/// What the sink is told besides the new state.
pub enum Said<'a> {
    /// `progress.message` is new.
    Message,
    /// A line of the driver's output.
    Output(&'a str),
}

pub type Sink<'a> = &'a mut (dyn FnMut(&DeployProgress, Said) + Send);

/// How long the pre-check waits for the metrics source's first answer.
pub const FIRST_GATES_WAIT: Duration = Duration::from_secs(15);

struct Run<'a, P: Ports> {
    ports: &'a mut P,
    journal: &'a mut OpJournal,
    sink: Sink<'a>,
    p: DeployProgress,
    plan: Plan,
    /// Journal writes that failed (the operation goes on, and says so at the end).
    journal_errors: u32,
}

/// Why verification failed.
struct Failed(String);

/// Run the operation whose start record `journal` already holds. Returns how it ended; the end
/// record is written before this returns.
pub async fn execute<P: Ports>(ports: &mut P, journal: &mut OpJournal, sink: Sink<'_>, plan: Plan) -> Outcome {
    let p = DeployProgress {
        id: journal.op.clone(),
        env: plan.env.clone(),
        kind: plan.kind,
        version: plan.version.clone(),
        rollback_point: None,
        phase: Phase::PreCheck,
        started: ports.now(),
        checks_done: 0,
        checks_total: plan.settings.health_checks,
        bake_until: None,
        gates: vec![],
        output: vec![],
        message: String::new(),
        last: None,
    };
    let mut run = Run { ports, journal, sink, p, plan, journal_errors: 0 };
    let out = run.flow().await;
    run.finish(out)
}

impl<P: Ports> Run<'_, P> {
    fn rec(&mut self, r: Rec) {
        if self.journal.write(r).is_err() {
            self.journal_errors += 1;
        }
    }

    fn say(&mut self, phase: Phase, msg: String) {
        self.p.phase = phase;
        self.p.message = crate::sanitize::line(&msg).into_owned();
        self.rec(Rec::Step { phase, detail: self.p.message.clone() });
        (self.sink)(&self.p, Said::Message);
    }

    fn finish(&mut self, mut out: Outcome) -> Outcome {
        if self.journal_errors > 0 {
            out.summary.push_str(&format!(" (warning: {} journal writes failed)", self.journal_errors));
        }
        self.rec(Rec::End { outcome: out.last, running: out.running.clone(), detail: out.summary.clone() });
        self.p.phase = Phase::Done;
        self.p.last = Some(out.last);
        self.p.message = out.summary.clone();
        (self.sink)(&self.p, Said::Message);
        out
    }

    fn refuse(&self, why: String) -> Outcome {
        let what = self.plan.kind.as_str();
        Outcome {
            last: Final::Refused,
            summary: format!("{}: {what} of {} refused: {why}; nothing was changed", self.plan.env, self.plan.version),
            running: None,
        }
    }

    async fn flow(&mut self) -> Outcome {
        let env = self.plan.env.clone();
        let version = self.plan.version.clone();
        let force = self.plan.force;
        let rollback_op = self.plan.kind == OpKind::Rollback;

        // Pre-check: health, then the gates and the metrics source behind them.
        let pre = self.plan.pre.clone();
        match &pre {
            None if !rollback_op => {
                return self.refuse("no health check is configured, so it could not be verified".into())
            }
            Some(h) if !h.up && !rollback_op && !force => {
                let why = h.reason.clone().unwrap_or_else(|| "down".into());
                return self.refuse(format!("{env} is unhealthy ({why}); --force deploys anyway"));
            }
            Some(h) => {
                let state = if h.up { "healthy" } else { "unhealthy" };
                let on = h.version.as_deref().map(|v| format!(" on {v}")).unwrap_or_default();
                self.say(
                    Phase::PreCheck,
                    format!("pre-check: {env} is {state}{on}{}", if force { " (forced)" } else { "" }),
                );
            }
            None => self.say(Phase::PreCheck, "pre-check: no health check configured".into()),
        }
        // An unhealthy component blocks a deploy as an unhealthy environment does (a rollback is
        // the way out, so it is never blocked).
        if !self.plan.components.is_empty() {
            let sick: Vec<String> = self
                .plan
                .components
                .iter()
                .filter(|c| c.state == crate::model::ComponentState::Unhealthy)
                .map(|c| format!("{} ({})", c.name, c.reason.as_deref().unwrap_or("failing")))
                .collect();
            if !sick.is_empty() && !rollback_op && !force {
                let s = if sick.len() == 1 { "" } else { "s" };
                return self.refuse(format!("component{s} {} unhealthy; --force deploys anyway", sick.join(", ")));
            }
            let words: Vec<String> =
                self.plan.components.iter().map(|c| format!("{} {}", c.name, c.state.as_str())).collect();
            self.say(Phase::PreCheck, format!("pre-check: components {}", words.join(", ")));
        }
        if !self.plan.settings.gates.is_empty() && !rollback_op {
            match self.ports.first_gates(FIRST_GATES_WAIT).await {
                None if !force => {
                    return self.refuse(format!(
                        "the metrics source gave no answer within {}s; gates cannot be judged",
                        FIRST_GATES_WAIT.as_secs()
                    ))
                }
                None => self.say(Phase::PreCheck, "pre-check: metrics source silent (forced)".into()),
                Some(r) => {
                    self.p.gates = r.verdicts.clone();
                    self.rec(Rec::Gates { phase: Phase::PreCheck, verdicts: r.verdicts.clone() });
                    if r.targets_up == 0 && !force {
                        let why = r.errors.first().cloned().unwrap_or_else(|| "no target answered".into());
                        return self
                            .refuse(format!("the metrics source does not answer ({why}); --force deploys anyway"));
                    }
                    let firing: Vec<String> = r
                        .verdicts
                        .iter()
                        .filter(|v| v.outcome == CheckOutcome::Failure)
                        .map(|v| format!("{} ({})", v.name, v.detail))
                        .collect();
                    if !firing.is_empty() && !force {
                        return self.refuse(format!("gate {} fires now; --force deploys anyway", firing.join(", ")));
                    }
                    let words: Vec<String> =
                        r.verdicts.iter().map(|v| format!("{} {}", v.name, v.outcome.as_str())).collect();
                    self.say(Phase::PreCheck, format!("pre-check: gates {}", words.join(", ")));
                }
            }
        }

        // The rollback point: the last verified release, else what runs now if it is healthy.
        let point = if rollback_op {
            None
        } else {
            match (&self.plan.last_verified, &pre) {
                (Some(v), _) => Some((v.clone(), "verified")),
                (None, Some(h)) if h.up => h.version.clone().map(|v| (v, "baseline")),
                _ => None,
            }
        };
        if let Some((v, basis)) = &point {
            self.p.rollback_point = Some(v.clone());
            self.rec(Rec::Point { version: v.clone(), basis: basis.to_string() });
            let how = if *basis == "verified" {
                "the last verified release"
            } else {
                "running and healthy now; nothing verified yet"
            };
            self.say(Phase::RollbackPoint, format!("rollback point: {v} ({how})"));
        } else if !rollback_op {
            self.say(
                Phase::RollbackPoint,
                "rollback point: none (nothing verified and nothing healthy runs): a failure will need a human".into(),
            );
        }
        let point = point.map(|(v, _)| v);

        // The driver.
        let previous = pre.as_ref().and_then(|h| h.version.clone()).or_else(|| point.clone()).unwrap_or_default();
        let step = if rollback_op { DriverStep::Rollback } else { DriverStep::Deploy };
        let call = DriverCall { step, version: version.clone(), previous };
        self.say(
            Phase::Driver,
            format!("driver: {} {version} on {env}", if rollback_op { "rolling back to" } else { "deploying" }),
        );
        let res = self.drive(&call).await;
        let failed = if !res.ok {
            Failed(format!("the driver failed: {}", res.detail))
        } else {
            self.say(Phase::Driver, format!("driver: {}", res.detail));
            match self.verify(&version, Phase::Verify, true).await {
                Err(f) => f,
                Ok(()) if rollback_op => {
                    return Outcome {
                        last: Final::Verified,
                        summary: format!("{env}: rolled back to {version}, verified healthy on it"),
                        running: Some(version),
                    }
                }
                Ok(()) => match self.bake(&version).await {
                    Ok(what) => {
                        return Outcome {
                            last: Final::Verified,
                            summary: format!("{env}: {version} deployed and verified ({what})"),
                            running: Some(version),
                        }
                    }
                    Err(f) => f,
                },
            }
        };

        // Failure: roll back to the point (an explicit rollback has nowhere further to go).
        let Failed(why) = failed;
        if rollback_op {
            return Outcome {
                last: Final::RollbackFailed,
                summary: format!(
                    "{env}: rollback to {version} FAILED: {why}. A human is needed: check what runs on {env}"
                ),
                running: None,
            };
        }
        let Some(point) = point else {
            return Outcome {
                last: Final::RollbackFailed,
                summary: format!("{env}: {version} failed ({why}); no rollback point to return to. A human is needed"),
                running: None,
            };
        };
        self.say(Phase::Rollback, format!("{version} failed: {why}; rolling back to {point}"));
        let call = DriverCall { step: DriverStep::Rollback, version: point.clone(), previous: version.clone() };
        let res = self.drive(&call).await;
        let again = if !res.ok {
            Some(format!("the rollback driver failed: {}", res.detail))
        } else {
            self.say(Phase::Rollback, format!("rollback driver: {}", res.detail));
            self.verify(&point, Phase::RollbackVerify, false).await.err().map(|Failed(w)| w)
        };
        match again {
            None => Outcome {
                last: Final::RolledBack,
                summary: format!("{env}: {version} failed ({why}); rolled back to {point}, verified"),
                running: Some(point),
            },
            Some(w) => Outcome {
                last: Final::RollbackFailed,
                summary: format!(
                    "{env}: {version} failed ({why}); the rollback to {point} FAILED too ({w}). A human is needed"
                ),
                running: None,
            },
        }
    }

    async fn drive(&mut self, call: &DriverCall) -> DriverResult {
        let Run { ports, journal, sink, p, journal_errors, .. } = self;
        let mut out = |stream: &str, line: &str| {
            if journal.write(Rec::Output { stream: stream.into(), line: line.into() }).is_err() {
                *journal_errors += 1;
            }
            if p.output.len() >= 200 {
                p.output.remove(0);
            }
            p.output.push(line.to_string());
            sink(p, Said::Output(line));
        };
        ports.drive(call, &mut out).await
    }

    /// Up to `health_checks` checks every `health_interval` until healthy on `version`.
    async fn verify(&mut self, version: &str, phase: Phase, cancellable: bool) -> Result<(), Failed> {
        let s = self.plan.settings.clone();
        let (mut failures, mut errors) = (0u32, 0u32);
        let mut last = String::from("no check ran");
        self.p.checks_done = 0;
        self.p.checks_total = s.health_checks;
        for n in 1..=s.health_checks {
            self.ports.sleep(s.health_interval).await;
            if cancellable && self.ports.cancelled() {
                return Err(Failed("cancelled by the operator".into()));
            }
            let h = self.ports.health().await;
            let (outcome, detail) = judge(h.as_ref(), version);
            self.p.checks_done = n;
            self.rec(Rec::Check { phase, n, outcome, detail: detail.clone() });
            self.say(
                phase,
                format!("{} check {n}/{}: {} ({detail})", phase_word(phase), s.health_checks, outcome.as_str()),
            );
            last = detail.clone();
            match outcome {
                CheckOutcome::Success => return Ok(()),
                CheckOutcome::Inconclusive => errors = 0,
                CheckOutcome::Failure => {
                    errors = 0;
                    failures += 1;
                    if failures > s.failure_limit {
                        return Err(Failed(format!("health check failed: {detail}")));
                    }
                }
                CheckOutcome::Error => {
                    errors += 1;
                    if errors >= s.consecutive_error_limit.max(1) {
                        return Err(Failed(format!("health could not be measured {errors} times in a row: {detail}")));
                    }
                }
            }
        }
        Err(Failed(format!("not healthy on {version} after {} checks (last: {last})", s.health_checks)))
    }

    /// Health must hold and no gate may fail, Inconclusive counting as failure; at least one
    /// fresh gate evaluation (or, without gates, one passing health check) must happen.
    async fn bake(&mut self, version: &str) -> Result<String, Failed> {
        let s = self.plan.settings.clone();
        if s.bake.is_zero() {
            return Ok("no bake configured".into());
        }
        let start = self.ports.now();
        let until = start + s.bake.as_millis() as Millis;
        self.p.bake_until = Some(until);
        self.say(Phase::Bake, format!("bake: {}s{}", s.bake.as_secs(), gate_list(&s.gates)));
        let mut seen = self.ports.gates().map(|r| r.seq).unwrap_or(0);
        let (mut failures, mut errors, mut gate_errors) = (0u32, 0u32, 0u32);
        let (mut evaluations, mut healthy) = (0u32, 0u32);
        let mut passed = std::collections::BTreeSet::new();
        let mut last_verdicts: Vec<crate::model::GateVerdict> = Vec::new();
        let mut n = 0;
        loop {
            let now = self.ports.now();
            if now >= until {
                break;
            }
            let wait = Duration::from_millis((until - now) as u64).min(s.health_interval);
            self.ports.sleep(wait).await;
            if self.ports.cancelled() {
                return Err(Failed("cancelled by the operator".into()));
            }
            n += 1;
            let h = self.ports.health().await;
            let (outcome, detail) = judge(h.as_ref(), version);
            self.rec(Rec::Check { phase: Phase::Bake, n, outcome, detail: detail.clone() });
            match outcome {
                CheckOutcome::Success => {
                    healthy += 1;
                    errors = 0;
                }
                CheckOutcome::Error => {
                    errors += 1;
                    if errors >= s.consecutive_error_limit.max(1) {
                        return Err(Failed(format!(
                            "health could not be measured {errors} times in a row during bake: {detail}"
                        )));
                    }
                }
                _ => {
                    failures += 1;
                    if failures > s.failure_limit {
                        return Err(Failed(format!("health check failed during bake: {detail}")));
                    }
                }
            }
            if let Some(r) = self.ports.gates().filter(|r| r.seq > seen) {
                seen = r.seq;
                evaluations += 1;
                self.p.gates = r.verdicts.clone();
                self.rec(Rec::Gates { phase: Phase::Bake, verdicts: r.verdicts.clone() });
                let mut all_errors = !r.verdicts.is_empty();
                for v in &r.verdicts {
                    match v.outcome {
                        CheckOutcome::Success => {
                            all_errors = false;
                            passed.insert(v.name.clone());
                        }
                        CheckOutcome::Error => {}
                        // No data right after a switch (a restarted process's counters have one
                        // sample) is waited out; a gate still without data at the end fails.
                        CheckOutcome::Inconclusive => all_errors = false,
                        CheckOutcome::Failure => {
                            all_errors = false;
                            failures += 1;
                            if failures > s.failure_limit {
                                return Err(Failed(format!("gate {} fired during bake: {}", v.name, v.detail)));
                            }
                        }
                    }
                }
                last_verdicts = r.verdicts.clone();
                gate_errors = if all_errors { gate_errors + 1 } else { 0 };
                if gate_errors >= s.consecutive_error_limit.max(1) {
                    let why = r.verdicts.first().map(|v| v.detail.clone()).unwrap_or_default();
                    return Err(Failed(format!("gates could not be measured {gate_errors} times in a row: {why}")));
                }
            }
            let left = (until - self.ports.now()).max(0) / 1000;
            let words: Vec<String> =
                self.p.gates.iter().map(|v| format!("{} {}", v.name, v.outcome.as_str())).collect();
            let gates = if words.is_empty() { String::new() } else { format!("; gates: {}", words.join(", ")) };
            self.say(Phase::Bake, format!("bake: {left}s left; health {}{gates}", outcome.as_str()));
        }
        if !s.gates.is_empty() && evaluations == 0 {
            return Err(Failed(
                "no gate was evaluated during the bake (no fresh scrape): a bake without data is not a success".into(),
            ));
        }
        // Inconclusive is a failure, never a pass: every gate must have passed at least once
        // and must not end the bake without data.
        for v in &last_verdicts {
            if v.outcome == CheckOutcome::Inconclusive || !passed.contains(&v.name) {
                return Err(Failed(format!("gate {} had no data during bake: {}", v.name, v.detail)));
            }
        }
        if healthy == 0 {
            return Err(Failed("no health check passed during the bake".into()));
        }
        let gates = if s.gates.is_empty() {
            String::new()
        } else {
            format!(", {evaluations} gate evaluations of {}", s.gates.join(", "))
        };
        Ok(format!("bake {}s passed: {healthy} health checks{gates}", s.bake.as_secs()))
    }
}

fn phase_word(p: Phase) -> &'static str {
    if p == Phase::RollbackVerify {
        "rollback"
    } else {
        "verify"
    }
}

fn gate_list(g: &[String]) -> String {
    if g.is_empty() {
        ", no gates: health must hold".into()
    } else {
        format!(", gates {}", g.join(", "))
    }
}

/// One health check's verdict against the version that should run.
fn judge(h: Option<&HealthObs>, version: &str) -> (CheckOutcome, String) {
    let Some(h) = h else { return (CheckOutcome::Error, "no health check configured".into()) };
    let on = h.version.as_deref().unwrap_or("no version");
    let other = h.version.as_deref().is_some_and(|v| v != version);
    let down = || h.reason.clone().unwrap_or_else(|| "down".into());
    match (h.answered, h.up) {
        (false, _) => (CheckOutcome::Error, h.reason.clone().unwrap_or_else(|| "no answer".into())),
        // Another version answering (the switch has not happened yet) says nothing about this one.
        (true, false) if other => (CheckOutcome::Inconclusive, format!("still on {on}, which is down: {}", down())),
        (true, false) => (CheckOutcome::Failure, format!("{} ({on})", down())),
        (true, true) if h.version.as_deref() == Some(version) => (CheckOutcome::Success, format!("healthy on {on}")),
        (true, true) => (CheckOutcome::Inconclusive, format!("healthy, still on {on}")),
    }
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
