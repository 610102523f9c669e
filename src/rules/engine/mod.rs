//! Rule groups evaluated as Prometheus 2.42 does (`rules/manager.go`, `rules/alerting.go`,
//! `rules/recording.go`): rules of a group run in file order and write their output into the
//! store so later rules see it; alerts go inactive → pending → firing → resolved with `for` and
//! `keep_firing_for`; resolved alerts are kept 15 minutes; `ALERTS` and `ALERTS_FOR_STATE` series
//! are written; series a rule stops producing get a staleness marker; a group's `limit` fails the
//! rule when exceeded. Alert state survives restarts through a state file, restored with
//! Prometheus's `RestoreForState` rules (outage tolerance 1h, grace period 10m).
//!
//! Files: `evaluator` (what rules need from PromQL), `series` (writing output to the store),
//! `recording` and `alert` (the two rule kinds; `alert` holds the state machine), `notify`
//! (what is sent when), `snapshot` (read-only views), `state` (the state file); this file holds
//! the groups and the `RuleEngine` that runs them. Only their tests (through `testutil`) use it.

mod alert;
mod evaluator;
mod notify;
mod recording;
mod series;
mod snapshot;
mod state;
#[cfg(test)]
pub(crate) mod testutil;

pub use alert::{Alert, State, RESOLVED_RETENTION_MS};
pub use evaluator::{Compiled, Evaluator, Prefetched, PromqlEvaluator};
pub use notify::Notification;
pub use snapshot::AlertSnapshot;
pub use state::{StateError, FOR_GRACE_PERIOD_MS, OUTAGE_TOLERANCE_MS};

use super::file::{GroupDef, RuleDef, RuleError, RuleFile, RuleKind};
use crate::tsdb::{Labels, Storage};
use alert::AlertingRule;
use recording::RecordingRule;
use state::SavedAlert;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

enum Rule<X> {
    Record(RecordingRule<X>),
    Alert(AlertingRule<X>),
}

impl<X> Rule<X> {
    fn def(&self) -> &RuleDef {
        match self {
            Rule::Record(r) => &r.def,
            Rule::Alert(a) => &a.def,
        }
    }
}

struct Group<X> {
    name: String,
    file: PathBuf,
    interval_ms: i64,
    limit: usize,
    rules: Vec<Rule<X>>,
    last_error: Vec<Option<String>>,
    series_in_prev_eval: Vec<HashSet<Labels>>,
    last_eval: Option<i64>,
    /// Wall time of the last evaluation (Prometheus's `rule_group_last_duration_seconds`).
    last_duration: Duration,
    restore_pending: bool,
}

/// One group's evaluation time, as Prometheus reports it per group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTiming {
    pub file: PathBuf,
    pub name: String,
    pub rules: usize,
    /// Evaluation time of the last evaluation (`None` before the first).
    pub last_eval: Option<i64>,
    pub last_duration: Duration,
}

impl<X> Group<X> {
    /// Rule `i` failed at `ts`: kept as its last error and reported once.
    fn fail(&mut self, i: usize, ts: i64, err: String, errors: &mut Vec<RuleEvalError>) {
        errors.push(RuleEvalError {
            group: self.name.clone(),
            rule: self.rules[i].def().name.clone(),
            t_ms: ts,
            err: err.clone(),
        });
        self.last_error[i] = Some(err);
    }
}

/// Errors of one rule at one evaluation, as promtool prints them.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvalError {
    pub group: String,
    pub rule: String,
    pub t_ms: i64,
    pub err: String,
}

/// The options the engine runs with (from `[alerting]` and the caller's flags).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub default_interval_ms: i64,
    pub external_labels: Vec<(String, String)>,
    pub external_url: String,
    pub resend_delay_ms: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            default_interval_ms: 60_000,
            external_labels: vec![],
            external_url: String::new(),
            resend_delay_ms: 60_000,
        }
    }
}

/// Loaded and validated rule files.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub files: Vec<RuleFile>,
}

impl RuleSet {
    /// Load every file; all errors of all files are returned together.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<RuleSet, Vec<RuleError>> {
        let mut files = vec![];
        let mut errs = vec![];
        for p in paths {
            match super::file::load_rule_file(p.as_ref()) {
                Ok(f) => files.push(f),
                Err(e) => errs.extend(e),
            }
        }
        if errs.is_empty() {
            Ok(RuleSet { files })
        } else {
            Err(errs)
        }
    }

    pub fn groups(&self) -> impl Iterator<Item = (&Path, &GroupDef)> {
        self.files.iter().flat_map(|f| f.groups.iter().map(move |g| (f.path.as_path(), g)))
    }
}

/// Evaluates rule groups over a `Storage` and keeps alert state.
pub struct RuleEngine<E: Evaluator> {
    ev: E,
    opts: EngineOptions,
    groups: Vec<Group<E::Expr>>,
    notifications: Vec<Notification>,
    errors: Vec<RuleEvalError>,
    restore: HashMap<(String, String), Vec<SavedAlert>>,
}

impl<E: Evaluator> RuleEngine<E> {
    /// Build groups from a rule set. Expressions are parsed once here; a failure is reported
    /// with the rule's position.
    pub fn new(ev: E, set: &RuleSet, opts: EngineOptions) -> Result<RuleEngine<E>, Vec<RuleError>> {
        let mut groups = vec![];
        let mut errs = vec![];
        for (path, g) in set.groups() {
            let mut rules = vec![];
            for r in &g.rules {
                let expr = match ev.parse(&r.expr) {
                    Ok(x) => x,
                    Err(e) => {
                        errs.push(RuleError {
                            file: path.display().to_string(),
                            pos: Some(r.expr_pos),
                            msg: format!("group {:?}, rule {:?}: could not parse expression: {e}", g.name, r.name),
                        });
                        continue;
                    }
                };
                rules.push(match r.kind {
                    RuleKind::Record => Rule::Record(RecordingRule { def: r.clone(), expr, labels: r.labels.clone() }),
                    RuleKind::Alert => Rule::Alert(AlertingRule::new(r, expr)),
                });
            }
            let n = rules.len();
            groups.push(Group {
                name: g.name.clone(),
                file: path.to_path_buf(),
                interval_ms: g.interval_ms.unwrap_or(opts.default_interval_ms).max(1),
                limit: g.limit,
                rules,
                last_error: vec![None; n],
                series_in_prev_eval: vec![HashSet::new(); n],
                last_eval: None,
                last_duration: Duration::ZERO,
                restore_pending: false,
            });
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(RuleEngine { ev, opts, groups, notifications: vec![], errors: vec![], restore: HashMap::new() })
    }

    pub fn evaluator(&self) -> &E {
        &self.ev
    }

    /// Every group's last evaluation time, in evaluation order.
    pub fn timings(&self) -> Vec<GroupTiming> {
        self.groups
            .iter()
            .map(|g| GroupTiming {
                file: g.file.clone(),
                name: g.name.clone(),
                rules: g.rules.len(),
                last_eval: g.last_eval,
                last_duration: g.last_duration,
            })
            .collect()
    }

    /// Group names in evaluation order.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }

    /// Reorder groups: those named in `order` first, in that order (promtool's
    /// `group_eval_order`); the others keep their file order after them.
    pub fn order_groups(&mut self, order: &[String]) {
        let rank = |n: &str| order.iter().position(|o| o == n).unwrap_or(0);
        self.groups.sort_by_key(|g| rank(&g.name));
    }

    /// Evaluate every group whose interval has elapsed at `t_ms`; returns all alerts afterwards.
    pub fn eval(&mut self, st: &mut Storage, t_ms: i64) -> Vec<AlertSnapshot> {
        for gi in 0..self.groups.len() {
            let g = &self.groups[gi];
            // A timer tick a little early must not skip a whole interval: allow 10% slack.
            if g.last_eval.is_none_or(|l| t_ms - l >= g.interval_ms - g.interval_ms / 10) {
                self.eval_group(gi, st, t_ms);
            }
        }
        self.snapshot()
    }

    /// The evaluator, e.g. to hand it a remote server's answers before `eval`.
    pub fn evaluator_mut(&mut self) -> &mut E {
        &mut self.ev
    }

    /// Every rule's expression source, once each.
    pub fn expr_sources(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.groups.iter().flat_map(|g| g.rules.iter().map(|r| r.def().expr.clone())).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The shortest group interval: how often the caller should call `eval`.
    pub fn min_interval_ms(&self) -> Option<i64> {
        self.groups.iter().map(|g| g.interval_ms).min()
    }

    /// Evaluate every group at `t_ms` regardless of intervals (promtool's unit tests).
    pub fn eval_all(&mut self, st: &mut Storage, t_ms: i64) {
        for gi in 0..self.groups.len() {
            self.eval_group(gi, st, t_ms);
        }
    }

    /// Errors of the last evaluations since the previous call.
    pub fn take_errors(&mut self) -> Vec<RuleEvalError> {
        std::mem::take(&mut self.errors)
    }

    /// Alerts due to be sent (Prometheus's `sendAlerts`), since the previous call.
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.notifications)
    }

    /// Firing alerts of the alerting rules named `name` (promtool compares these).
    pub fn firing(&self, name: &str) -> Vec<(Labels, Vec<(String, String)>)> {
        let mut out = vec![];
        for g in &self.groups {
            for r in &g.rules {
                if let Rule::Alert(a) = r {
                    if a.def.name == name {
                        for al in a.active.values() {
                            if al.state == State::Firing && al.resolved_at.is_none() {
                                out.push((al.labels.clone(), al.annotations.clone()));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Every alert the engine holds (pending, firing and resolved within 15 minutes).
    pub fn snapshot(&self) -> Vec<AlertSnapshot> {
        let mut out = vec![];
        for g in &self.groups {
            for r in &g.rules {
                if let Rule::Alert(a) = r {
                    for al in a.active.values() {
                        out.push(AlertSnapshot::of(&g.name, a, al));
                    }
                }
            }
        }
        out
    }

    fn eval_group(&mut self, gi: usize, st: &mut Storage, ts: i64) {
        let resend = self.opts.resend_delay_ms;
        let ext = self.opts.external_labels.clone();
        let ext_url = self.opts.external_url.clone();
        let started = Instant::now();
        let g = &mut self.groups[gi];
        g.last_eval = Some(ts);
        for i in 0..g.rules.len() {
            let limit = g.limit;
            let res = match &mut g.rules[i] {
                Rule::Record(r) => recording::eval_recording(&self.ev, r, st, ts, limit),
                Rule::Alert(a) => alert::eval_alerting(&self.ev, a, st, ts, limit, &ext, &ext_url),
            };
            let vector = match res {
                Ok(v) => v,
                Err(e) => {
                    g.fail(i, ts, e, &mut self.errors);
                    continue;
                }
            };
            g.last_error[i] = None;
            if let Rule::Alert(a) = &mut g.rules[i] {
                notify::queue_due(a, ts, resend, g.interval_ms, &mut self.notifications);
            }
            if let Some(e) = series::write_output(st, vector, &mut g.series_in_prev_eval[i], ts) {
                g.fail(i, ts, e, &mut self.errors);
            }
        }
        if g.restore_pending {
            g.restore_pending = false;
            for r in g.rules.iter_mut() {
                if let Rule::Alert(a) = r {
                    if let Some(saved) = self.restore.get(&(g.name.clone(), a.def.name.clone())) {
                        state::restore_rule(a, saved, ts);
                    }
                    a.restored = true;
                }
            }
        }
        g.last_duration = started.elapsed();
    }

    /// Write the active-since of pending and firing alerts to `path` (JSON), atomically.
    pub fn save_state(&self, path: &Path) -> Result<(), StateError> {
        let mut saved = vec![];
        for g in &self.groups {
            let at = g.last_eval.unwrap_or(0);
            for r in &g.rules {
                if let Rule::Alert(a) = r {
                    for al in a.active.values() {
                        if al.state != State::Inactive {
                            saved.push(SavedAlert::new(&g.name, &a.def.name, al, at));
                        }
                    }
                }
            }
        }
        state::write(path, &saved)
    }

    /// Load a state file written by `save_state`; each group's next evaluation restores the
    /// active-since of alerts that are still active, as Prometheus restores `for` state from
    /// `ALERTS_FOR_STATE`. A missing file is not an error (first start).
    pub fn restore_state(&mut self, path: &Path) -> Result<usize, StateError> {
        let Some(saved) = state::read(path)? else { return Ok(0) };
        let n = saved.len();
        self.restore.clear();
        for s in saved {
            self.restore.entry((s.group.clone(), s.rule.clone())).or_default().push(s);
        }
        for g in &mut self.groups {
            g.restore_pending = true;
            for r in &mut g.rules {
                if let Rule::Alert(a) = r {
                    // Like Prometheus before restoring: no ALERTS samples on the first evaluation.
                    a.restored = false;
                }
            }
        }
        Ok(n)
    }

    /// The last error of each rule, for the status view.
    pub fn rule_errors(&self) -> Vec<(String, String)> {
        let mut out = vec![];
        for g in &self.groups {
            for (r, e) in g.rules.iter().zip(&g.last_error) {
                if let Some(e) = e {
                    out.push((r.def().name.clone(), e.clone()));
                }
            }
        }
        out
    }

    pub fn group_files(&self) -> Vec<(String, PathBuf)> {
        self.groups.iter().map(|g| (g.name.clone(), g.file.clone())).collect()
    }
}
