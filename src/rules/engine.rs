//! Rule groups evaluated as Prometheus 2.42 does (`rules/manager.go`, `rules/alerting.go`,
//! `rules/recording.go`): rules of a group run in file order and write their output into the
//! store so later rules see it; alerts go inactive → pending → firing → resolved with `for` and
//! `keep_firing_for`; resolved alerts are kept 15 minutes; `ALERTS` and `ALERTS_FOR_STATE` series
//! are written; series a rule stops producing get a staleness marker; a group's `limit` fails the
//! rule when exceeded. Alert state survives restarts through a state file, restored with
//! Prometheus's `RestoreForState` rules (outage tolerance 1h, grace period 10m).

use super::file::{GroupDef, RuleDef, RuleError, RuleFile, RuleKind};
use super::template::{Template, TemplateData};
use crate::model::{AlertState, AlertView};
use crate::tsdb::{self, Labels, Storage};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What rules need from a PromQL engine. `instant` returns an instant vector; a scalar result is
/// one sample with no labels (Prometheus's `EngineQueryFunc`); other result types are an error.
pub trait Evaluator {
    type Expr;
    fn parse(&self, src: &str) -> Result<Self::Expr, String>;
    fn instant(&self, st: &Storage, e: &Self::Expr, t_ms: i64) -> Result<Vec<(Labels, f64)>, String>;
}

/// The rules' evaluator on opsdeck's PromQL engine.
pub struct PromqlEvaluator {
    pub engine: crate::promql::Engine,
    /// Step of subqueries written without one (`x[5m:]`): the evaluation interval.
    pub subquery_step_ms: i64,
}

impl Default for PromqlEvaluator {
    fn default() -> Self {
        PromqlEvaluator {
            engine: crate::promql::Engine::default(),
            subquery_step_ms: crate::promql::DEFAULT_SUBQUERY_STEP_MS,
        }
    }
}

impl Evaluator for PromqlEvaluator {
    type Expr = crate::promql::Expr;

    fn parse(&self, src: &str) -> Result<Self::Expr, String> {
        crate::promql::parse(src).map_err(|e| e.to_string())
    }

    fn instant(&self, st: &Storage, e: &Self::Expr, t_ms: i64) -> Result<Vec<(Labels, f64)>, String> {
        use crate::promql::Value;
        match self.engine.instant_with(st, e, t_ms, self.subquery_step_ms).map_err(|e| e.to_string())? {
            Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
            Value::Scalar(v) => Ok(vec![(Labels::empty(), v)]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }
}

/// Prometheus's `resolvedRetention`.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;
/// Prometheus's defaults for `rules.alert.for-outage-tolerance` and `for-grace-period`.
pub const OUTAGE_TOLERANCE_MS: i64 = 60 * 60 * 1000;
pub const FOR_GRACE_PERIOD_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Inactive,
    Pending,
    Firing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Pending => "pending",
            State::Firing => "firing",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub state: State,
    /// Expression labels without `__name__`, plus templated rule labels, plus `alertname`.
    pub labels: Labels,
    pub annotations: Vec<(String, String)>,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: i64,
    pub keep_firing_since: Option<i64>,
    /// (time, state) transitions, oldest first, for the dashboard.
    pub history: Vec<(i64, AlertState)>,
}

impl Alert {
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == State::Pending {
            return false;
        }
        let sent = self.last_sent_at.unwrap_or(i64::MIN);
        if self.resolved_at.is_some_and(|r| r > sent) {
            return true;
        }
        // Go's LastSentAt zero time is far in the past: always due.
        self.last_sent_at.is_none_or(|s| s + resend_delay_ms < ts)
    }
}

/// An alert as the notifier sends it (Prometheus's `notifier.Alert`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub labels: Labels,
    pub annotations: Vec<(String, String)>,
    pub starts_at: i64,
    pub ends_at: i64,
    /// The rule's expression; the notifier builds `generatorURL` from it.
    pub expr: String,
}

/// A read-only view of one alert for the dashboard, `status` and the notifier.
#[derive(Debug, Clone)]
pub struct AlertSnapshot {
    pub rule: String,
    pub group: String,
    pub expr: String,
    pub state: State,
    pub labels: Labels,
    pub annotations: Vec<(String, String)>,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub history: Vec<(i64, AlertState)>,
}

impl AlertSnapshot {
    /// The view's stable key: rule name and label set.
    pub fn key(&self) -> String {
        format!("{}{}", self.rule, self.labels)
    }

    /// Convert for the dashboard; every string goes through `sanitize`.
    pub fn to_view(&self) -> AlertView {
        use crate::sanitize;
        let state = match (self.state, self.resolved_at) {
            (_, Some(_)) | (State::Inactive, _) => AlertState::Resolved,
            (State::Pending, _) => AlertState::Pending,
            (State::Firing, _) => AlertState::Firing,
        };
        let ann = |k: &str| self.annotations.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        AlertView {
            key: sanitize::line(&self.key()).into_owned(),
            name: sanitize::line(&self.rule).into_owned(),
            state,
            severity: sanitize::line(self.labels.get("severity").unwrap_or("none")).into_owned(),
            env: self.labels.get("env").map(|e| sanitize::line(e).into_owned()),
            summary: sanitize::line(ann("summary").or(ann("description")).unwrap_or("")).into_owned(),
            active_since: self.active_at,
            resolved_at: self.resolved_at,
            value: self.value,
            expr: sanitize::multiline(&self.expr).into_owned(),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| (sanitize::line(k).into_owned(), sanitize::line(v).into_owned()))
                .collect(),
            annotations: self
                .annotations
                .iter()
                .map(|(k, v)| (sanitize::line(k).into_owned(), sanitize::multiline(v).into_owned()))
                .collect(),
            history: self.history.clone(),
            acked: false,
            silenced_until: None,
        }
    }
}

struct AlertingRule<X> {
    def: RuleDef,
    expr: X,
    labels: Vec<(String, Template)>,
    annotations: Vec<(String, Template)>,
    active: BTreeMap<Labels, Alert>,
    restored: bool,
}

struct RecordingRule<X> {
    def: RuleDef,
    expr: X,
    labels: Vec<(String, String)>,
}

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
    restore_pending: bool,
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

/// One entry of the state file: Prometheus's `ALERTS_FOR_STATE` sample, in effect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SavedAlert {
    group: String,
    rule: String,
    labels: Vec<(String, String)>,
    /// Seconds, as `ALERTS_FOR_STATE` stores it.
    active_at_s: i64,
    /// When this was last evaluated active (ms): the sample's timestamp.
    at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("alert state file {path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("alert state file {path}: not valid opsdeck alert state: {err}")]
    Format { path: String, err: serde_json::Error },
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
                    RuleKind::Alert => {
                        let tname = format!("__alert_{}", r.name);
                        let parse = |v: &Vec<(String, String)>| -> Vec<(String, Template)> {
                            v.iter()
                                .filter_map(|(k, t)| Template::parse(&tname, t).ok().map(|t| (k.clone(), t)))
                                .collect()
                        };
                        Rule::Alert(AlertingRule {
                            def: r.clone(),
                            expr,
                            labels: parse(&r.labels),
                            annotations: parse(&r.annotations),
                            active: BTreeMap::new(),
                            restored: true,
                        })
                    }
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
                        out.push(AlertSnapshot {
                            rule: a.def.name.clone(),
                            group: g.name.clone(),
                            expr: a.def.expr.clone(),
                            state: al.state,
                            labels: al.labels.clone(),
                            annotations: al.annotations.clone(),
                            value: al.value,
                            active_at: al.active_at,
                            fired_at: al.fired_at,
                            resolved_at: al.resolved_at,
                            history: al.history.clone(),
                        });
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
        let g = &mut self.groups[gi];
        g.last_eval = Some(ts);
        for i in 0..g.rules.len() {
            let limit = g.limit;
            let res = match &mut g.rules[i] {
                Rule::Record(r) => eval_recording(&self.ev, r, st, ts, limit),
                Rule::Alert(a) => eval_alerting(&self.ev, a, st, ts, limit, &ext, &ext_url),
            };
            let vector = match res {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(RuleEvalError {
                        group: g.name.clone(),
                        rule: g.rules[i].def().name.clone(),
                        t_ms: ts,
                        err: e.clone(),
                    });
                    g.last_error[i] = Some(e);
                    continue;
                }
            };
            g.last_error[i] = None;
            if let Rule::Alert(a) = &mut g.rules[i] {
                let delta = resend.max(g.interval_ms);
                for al in a.active.values_mut() {
                    if al.needs_sending(ts, resend) {
                        al.last_sent_at = Some(ts);
                        al.valid_until = ts + 4 * delta;
                        self.notifications.push(Notification {
                            labels: al.labels.clone(),
                            annotations: al.annotations.clone(),
                            starts_at: al.fired_at.unwrap_or(al.active_at),
                            ends_at: al.resolved_at.unwrap_or(al.valid_until),
                            expr: a.def.expr.clone(),
                        });
                    }
                }
            }
            let mut returned = HashSet::with_capacity(vector.len());
            let mut append_err = None;
            for (l, v) in vector {
                match append(st, &l, ts, v) {
                    Ok(()) => {
                        returned.insert(l);
                    }
                    Err(e) => append_err = Some(e),
                }
            }
            if let Some(e) = append_err {
                self.errors.push(RuleEvalError {
                    group: g.name.clone(),
                    rule: g.rules[i].def().name.clone(),
                    t_ms: ts,
                    err: e.clone(),
                });
                g.last_error[i] = Some(e);
            }
            for old in g.series_in_prev_eval[i].iter() {
                if !returned.contains(old) {
                    // Series no longer produced: mark it stale (errors are expected when another
                    // rule produced it at this timestamp, and ignored as Prometheus does).
                    let _ = st.append(old, ts, tsdb::stale_nan());
                }
            }
            g.series_in_prev_eval[i] = returned;
        }
        if g.restore_pending {
            g.restore_pending = false;
            let key_group = g.name.clone();
            let mut restored_any = false;
            for r in g.rules.iter_mut() {
                if let Rule::Alert(a) = r {
                    if let Some(saved) = self.restore.get(&(key_group.clone(), a.def.name.clone())) {
                        restore_rule(a, saved, ts);
                        restored_any = true;
                    }
                    a.restored = true;
                }
            }
            let _ = restored_any;
        }
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
                            saved.push(SavedAlert {
                                group: g.name.clone(),
                                rule: a.def.name.clone(),
                                labels: al.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                                active_at_s: al.active_at.div_euclid(1000),
                                at_ms: at,
                            });
                        }
                    }
                }
            }
        }
        let io = |err| StateError::Io { path: path.display().to_string(), err };
        let body = serde_json::to_vec_pretty(&saved)
            .map_err(|err| StateError::Format { path: path.display().to_string(), err })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Load a state file written by `save_state`; each group's next evaluation restores the
    /// active-since of alerts that are still active, as Prometheus restores `for` state from
    /// `ALERTS_FOR_STATE`. A missing file is not an error (first start).
    pub fn restore_state(&mut self, path: &Path) -> Result<usize, StateError> {
        let body = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(StateError::Io { path: path.display().to_string(), err }),
        };
        let saved: Vec<SavedAlert> = serde_json::from_slice(&body)
            .map_err(|err| StateError::Format { path: path.display().to_string(), err })?;
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

fn restore_rule<X>(a: &mut AlertingRule<X>, saved: &[SavedAlert], ts: i64) {
    let hold = a.def.for_ms;
    if hold < FOR_GRACE_PERIOD_MS {
        return;
    }
    for al in a.active.values_mut() {
        let Some(s) = saved.iter().find(|s| Labels::from_pairs(s.labels.iter().map(|(k, v)| (k, v))) == al.labels)
        else {
            continue;
        };
        if s.at_ms < ts - OUTAGE_TOLERANCE_MS || s.at_ms > ts {
            continue;
        }
        let down_at = s.at_ms.div_euclid(1000) * 1000;
        let mut restored = s.active_at_s * 1000;
        let spent = down_at - restored;
        let remaining = hold - spent;
        if remaining <= 0 {
            // Was firing when we went down; the next evaluation fires it again.
        } else if remaining < FOR_GRACE_PERIOD_MS {
            restored = ts + FOR_GRACE_PERIOD_MS - hold;
        } else {
            restored += ts - down_at;
        }
        al.active_at = restored;
    }
}

/// Append like the TSDB head: an identical sample at the same timestamp is accepted silently;
/// a different value at the same timestamp or an older one is an error with Prometheus's words.
fn append(st: &mut Storage, l: &Labels, t: i64, v: f64) -> Result<(), String> {
    let id = st.series_id(l).map_err(|_| "series limit reached".to_string())?;
    if let Some(last) = st.get(id).last() {
        if last.t == t {
            if last.v.to_bits() == v.to_bits() {
                return Ok(());
            }
            return Err("duplicate sample for timestamp".into());
        }
        if last.t > t {
            return Err("out of order sample".into());
        }
    }
    st.append_id(id, t, v).map_err(|_| "out of order sample".to_string())
}

fn eval_recording<E: Evaluator>(
    ev: &E,
    r: &RecordingRule<E::Expr>,
    st: &Storage,
    ts: i64,
    limit: usize,
) -> Result<Vec<(Labels, f64)>, String> {
    let vector = ev.instant(st, &r.expr, ts)?;
    let mut out = Vec::with_capacity(vector.len());
    let mut seen = HashSet::with_capacity(vector.len());
    for (l, v) in vector {
        let mut pairs: Vec<(String, String)> = l.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        set_label(&mut pairs, "__name__", &r.def.name);
        for (k, val) in &r.labels {
            set_label(&mut pairs, k, val);
        }
        let nl = Labels::from_pairs(pairs);
        if !seen.insert(nl.clone()) {
            return Err("vector contains metrics with the same labelset after applying rule labels".into());
        }
        out.push((nl, v));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!("exceeded limit of {limit} with {} series", out.len()));
    }
    Ok(out)
}

fn set_label(pairs: &mut Vec<(String, String)>, k: &str, v: &str) {
    pairs.retain(|(a, _)| a != k);
    if !v.is_empty() {
        pairs.push((k.to_string(), v.to_string()));
    }
}

fn eval_alerting<E: Evaluator>(
    ev: &E,
    r: &mut AlertingRule<E::Expr>,
    st: &Storage,
    ts: i64,
    limit: usize,
    ext: &[(String, String)],
    ext_url: &str,
) -> Result<Vec<(Labels, f64)>, String> {
    let res = ev.instant(st, &r.expr, ts)?;
    let mut alerts: BTreeMap<Labels, Alert> = BTreeMap::new();
    for (metric, value) in res {
        let data = TemplateData {
            labels: metric.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            external_labels: ext.to_vec(),
            external_url: ext_url.to_string(),
            value,
        };
        let expand = |t: &Template| match t.expand(&data) {
            Ok(s) => s,
            Err(e) => format!("<error expanding template: {e}>"),
        };
        let mut pairs: Vec<(String, String)> =
            metric.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, t) in &r.labels {
            set_label(&mut pairs, k, &expand(t));
        }
        set_label(&mut pairs, "alertname", &r.def.name);
        let annotations: Vec<(String, String)> = r.annotations.iter().map(|(k, t)| (k.clone(), expand(t))).collect();
        let lbs = Labels::from_pairs(pairs);
        if alerts.contains_key(&lbs) {
            return Err("vector contains metrics with the same labelset after applying alert labels".into());
        }
        alerts.insert(
            lbs.clone(),
            Alert {
                state: State::Pending,
                labels: lbs,
                annotations,
                value,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                last_sent_at: None,
                valid_until: 0,
                keep_firing_since: None,
                history: vec![(ts, AlertState::Pending)],
            },
        );
    }
    let result_fps: HashSet<Labels> = alerts.keys().cloned().collect();
    for (h, a) in alerts {
        if let Some(existing) = r.active.get_mut(&h) {
            if existing.state != State::Inactive {
                existing.value = a.value;
                existing.annotations = a.annotations;
                continue;
            }
        }
        r.active.insert(h, a);
    }
    let mut vec = vec![];
    let mut num_active = 0usize;
    let mut delete = vec![];
    for (fp, a) in r.active.iter_mut() {
        if !result_fps.contains(fp) {
            let mut keep_firing = false;
            if a.state == State::Firing && r.def.keep_firing_for_ms > 0 {
                let since = *a.keep_firing_since.get_or_insert(ts);
                if ts - since < r.def.keep_firing_for_ms {
                    keep_firing = true;
                }
            }
            if a.state == State::Pending || a.resolved_at.is_some_and(|ra| ts - ra > RESOLVED_RETENTION_MS) {
                delete.push(fp.clone());
            }
            if a.state != State::Inactive && !keep_firing {
                a.state = State::Inactive;
                a.resolved_at = Some(ts);
                a.history.push((ts, AlertState::Resolved));
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        num_active += 1;
        if a.state == State::Pending && ts - a.active_at >= r.def.for_ms {
            a.state = State::Firing;
            a.fired_at = Some(ts);
            a.history.push((ts, AlertState::Firing));
        }
        if r.restored {
            vec.push((alert_sample_labels(&r.def, a, true), 1.0));
            vec.push((alert_sample_labels(&r.def, a, false), a.active_at.div_euclid(1000) as f64));
        }
    }
    for fp in delete {
        r.active.remove(&fp);
    }
    if limit > 0 && num_active > limit {
        r.active.clear();
        return Err(format!("exceeded limit of {limit} with {num_active} alerts"));
    }
    Ok(vec)
}

/// `ALERTS{alertstate=...}` (alerts = true) or `ALERTS_FOR_STATE` labels for an alert.
fn alert_sample_labels(def: &RuleDef, a: &Alert, alerts: bool) -> Labels {
    let mut pairs: Vec<(String, String)> = def.labels.clone();
    for (k, v) in a.labels.iter() {
        set_label(&mut pairs, k, v);
    }
    set_label(&mut pairs, "__name__", if alerts { "ALERTS" } else { "ALERTS_FOR_STATE" });
    set_label(&mut pairs, "alertname", &def.name);
    if alerts {
        set_label(&mut pairs, "alertstate", a.state.as_str());
    }
    Labels::from_pairs(pairs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tsdb::{Matcher, StorageOptions};

    /// A minimal evaluator for the state-machine tests: the expression is `NAME` or `NAME > N`,
    /// answered from the latest sample within 5 minutes (stale markers hide a series).
    pub struct SelectEval;

    impl Evaluator for SelectEval {
        type Expr = (String, Option<f64>);
        fn parse(&self, src: &str) -> Result<Self::Expr, String> {
            match src.split_once(" > ") {
                Some((n, v)) => Ok((n.trim().into(), Some(v.trim().parse().map_err(|_| "bad number")?))),
                None => Ok((src.trim().into(), None)),
            }
        }
        fn instant(&self, st: &Storage, e: &Self::Expr, t: i64) -> Result<Vec<(Labels, f64)>, String> {
            let m = [Matcher::equal("__name__", &e.0)];
            let mut out = vec![];
            for s in st.select(&m) {
                if let Some(last) = s.range(t - 300_000, t).last() {
                    if tsdb::is_stale(last.v) || e.1.is_some_and(|th| last.v <= th) {
                        continue;
                    }
                    out.push((s.labels.clone(), last.v));
                }
            }
            Ok(out)
        }
    }

    fn engine(rules: &str) -> RuleEngine<SelectEval> {
        let f = super::super::file::parse_rule_file(Path::new("t.yml"), rules).unwrap();
        RuleEngine::new(SelectEval, &RuleSet { files: vec![f] }, EngineOptions::default()).unwrap()
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    const RULES: &str = "groups:\n  - name: g\n    rules:\n      - alert: Hot\n        expr: temp > 50\n        for: 2m\n        keep_firing_for: 2m\n        labels: {severity: critical}\n        annotations: {summary: 'temp {{ $value }} on {{ $labels.host }}'}\n";

    #[test]
    fn pending_firing_keep_firing_resolved() {
        let mut e = engine(RULES);
        let mut st = Storage::new(StorageOptions::default());
        let s = l(&[("__name__", "temp"), ("host", "a")]);
        let vals = [60.0, 60.0, 60.0, 60.0, 10.0, 10.0, 10.0, 10.0];
        let mut states = vec![];
        for (i, v) in vals.iter().enumerate() {
            let t = i as i64 * 60_000;
            st.append(&s, t, *v).unwrap();
            let snap = e.eval(&mut st, t);
            states.push(snap.first().map(|a| (a.state, a.resolved_at.is_some())));
        }
        use State::*;
        assert_eq!(
            states,
            vec![
                Some((Pending, false)),
                Some((Pending, false)),
                Some((Firing, false)),
                Some((Firing, false)),
                Some((Firing, false)), // keep_firing_for 2m
                Some((Firing, false)),
                Some((Inactive, true)), // 2m after the condition cleared
                Some((Inactive, true)), // kept 15 minutes
            ]
        );
        let snap = e.snapshot();
        assert_eq!(snap[0].labels.get("alertname"), Some("Hot"));
        assert_eq!(snap[0].annotations[0].1, "temp 60 on a");
        // ALERTS and ALERTS_FOR_STATE were written.
        let m_alerts = [Matcher::equal("__name__", "ALERTS")];
        let alerts: Vec<_> = st.select(&m_alerts).collect();
        assert_eq!(alerts.len(), 2, "pending and firing series");
        let m_fs = [Matcher::equal("__name__", "ALERTS_FOR_STATE")];
        let fs: Vec<_> = st.select(&m_fs).collect();
        assert_eq!(fs[0].samples()[0].v, 0.0);
        // The firing series got a stale marker once resolved.
        let firing = alerts.iter().find(|s| s.labels.get("alertstate") == Some("firing")).unwrap();
        assert!(tsdb::is_stale(firing.last().unwrap().v));
        // Resolved alerts are dropped after 15 minutes.
        for i in 8..30 {
            let t = i * 60_000;
            st.append(&s, t, 10.0).unwrap();
            e.eval(&mut st, t);
        }
        assert!(e.snapshot().is_empty());
    }

    #[test]
    fn notifications_follow_prometheus() {
        let mut e = engine(RULES);
        let mut st = Storage::new(StorageOptions::default());
        let s = l(&[("__name__", "temp"), ("host", "a")]);
        let mut sent = vec![];
        for i in 0..12 {
            let t = i * 30_000;
            st.append(&s, t, if i < 8 { 60.0 } else { 10.0 }).unwrap();
            e.eval_all(&mut st, t);
            for n in e.take_notifications() {
                sent.push((t, n.ends_at));
            }
        }
        // Pending (0..2m) never sent; firing at 2m, resent after 1m; keep_firing until 6m… resolved at 6m.
        assert_eq!(sent[0].0, 120_000);
        assert!(sent.iter().any(|(t, _)| *t == 210_000), "{sent:?}");
        assert!(sent.iter().all(|(t, _)| *t >= 120_000));
    }

    #[test]
    fn templated_label_is_identity() {
        let rules = "groups:\n  - name: g\n    rules:\n      - alert: V\n        expr: x\n        for: 1m\n        labels: {v: '{{ $value }}'}\n";
        let mut e = engine(rules);
        let mut st = Storage::new(StorageOptions::default());
        let s = l(&[("__name__", "x")]);
        for (i, v) in [1.0, 1.0, 2.0, 2.0].iter().enumerate() {
            st.append(&s, i as i64 * 60_000, *v).unwrap();
            e.eval(&mut st, i as i64 * 60_000);
        }
        // The value changed at 2m: a new alert, pending again; the old one is resolved.
        let snap: Vec<_> = e.snapshot().into_iter().filter(|a| a.resolved_at.is_none()).collect();
        assert_eq!(snap.len(), 1);
        assert_eq!(snap[0].labels.get("v"), Some("2"));
        assert_eq!(snap[0].state, State::Firing);
        assert_eq!(snap[0].active_at, 120_000);
    }

    #[test]
    fn state_survives_restart() {
        let rules = "groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: x\n        for: 30m\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");
        let s = l(&[("__name__", "x")]);
        let mut st = Storage::new(StorageOptions::default());
        let mut e = engine(rules);
        for i in 0..=20 {
            st.append(&s, i * 60_000, 1.0).unwrap();
            e.eval(&mut st, i * 60_000);
        }
        e.save_state(&path).unwrap();
        // Restart 2 minutes later with an empty store.
        let mut st2 = Storage::new(StorageOptions::default());
        let mut e2 = engine(rules);
        assert_eq!(e2.restore_state(&path).unwrap(), 1);
        let t0 = 22 * 60_000;
        st2.append(&s, t0, 1.0).unwrap();
        e2.eval(&mut st2, t0);
        // Active since 0, down 2 minutes: shifted by the downtime.
        assert_eq!(e2.snapshot()[0].active_at, 2 * 60_000);
        // 8 more minutes: fires at 32m (30m of pending time, outage excluded).
        let mut fired = None;
        for i in 23..=40 {
            st2.append(&s, i * 60_000, 1.0).unwrap();
            let snap = e2.eval(&mut st2, i * 60_000);
            if fired.is_none() && snap[0].state == State::Firing {
                fired = Some(i);
            }
        }
        assert_eq!(fired, Some(32));
    }

    #[test]
    fn limit_and_recording_labels() {
        let rules = "groups:\n  - name: g\n    limit: 1\n    rules:\n      - record: y\n        expr: x\n        labels: {src: rec}\n";
        let mut e = engine(rules);
        let mut st = Storage::new(StorageOptions::default());
        st.append(&l(&[("__name__", "x"), ("a", "1")]), 0, 1.0).unwrap();
        e.eval(&mut st, 0);
        assert!(e.take_errors().is_empty());
        let m_y = [Matcher::equal("__name__", "y")];
        let y: Vec<_> = st.select(&m_y).collect();
        assert_eq!(y[0].labels.get("src"), Some("rec"));
        st.append(&l(&[("__name__", "x"), ("a", "2")]), 60_000, 1.0).unwrap();
        e.eval(&mut st, 60_000);
        let errs = e.take_errors();
        assert_eq!(errs[0].err, "exceeded limit of 1 with 2 series");
    }
}
