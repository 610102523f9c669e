//! Alerting rules and their state machine, as Prometheus 2.42's `rules/alerting.go` runs it:
//! each evaluation turns the expression's result into alerts (labels and annotations expanded
//! from the rule's templates); alerts go inactive → pending → firing after `for`, stay firing
//! for `keep_firing_for` after the condition clears, are then resolved and kept for
//! `RESOLVED_RETENTION_MS`; while active they produce `ALERTS` and `ALERTS_FOR_STATE` samples.

use super::evaluator::Evaluator;
use super::series::set_label;
use crate::model::AlertState;
use crate::rules::file::RuleDef;
use crate::rules::template::{Template, TemplateData};
use crate::tsdb::{Labels, Storage};
use std::collections::{BTreeMap, HashSet};

/// Prometheus's `resolvedRetention`.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

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

/// One alerting rule: its parsed expression and templates, and its alerts by label set.
pub(super) struct AlertingRule<X> {
    pub(super) def: RuleDef,
    pub(super) expr: X,
    pub(super) labels: Vec<(String, Template)>,
    pub(super) annotations: Vec<(String, Template)>,
    pub(super) active: BTreeMap<Labels, Alert>,
    /// False until a restored state has been applied: no `ALERTS` samples before that.
    pub(super) restored: bool,
}

impl<X> AlertingRule<X> {
    /// Build the rule; templates that do not parse are left out (`check` reports them).
    pub(super) fn new(def: &RuleDef, expr: X) -> AlertingRule<X> {
        let tname = format!("__alert_{}", def.name);
        let parse = |v: &Vec<(String, String)>| -> Vec<(String, Template)> {
            v.iter().filter_map(|(k, t)| Template::parse(&tname, t).ok().map(|t| (k.clone(), t))).collect()
        };
        AlertingRule {
            def: def.clone(),
            expr,
            labels: parse(&def.labels),
            annotations: parse(&def.annotations),
            active: BTreeMap::new(),
            restored: true,
        }
    }
}

/// Evaluate an alerting rule at `ts`: update its alerts and return the `ALERTS` and
/// `ALERTS_FOR_STATE` samples to write. More than `limit` active alerts (when non-zero) fail the
/// rule and drop all its alerts, as Prometheus does.
pub(super) fn eval_alerting<E: Evaluator>(
    ev: &E,
    r: &mut AlertingRule<E::Expr>,
    st: &Storage,
    ts: i64,
    limit: usize,
    ext: &[(String, String)],
    ext_url: &str,
) -> Result<Vec<(Labels, f64)>, String> {
    let res = ev.instant(st, &r.expr, ts)?;
    let alerts = alerts_of_result(r, res, ts, ext, ext_url)?;
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

/// A new pending alert for each sample of the expression's result, with the rule's label and
/// annotation templates expanded for it; two samples ending with the same labels are an error.
fn alerts_of_result<X>(
    r: &AlertingRule<X>,
    res: Vec<(Labels, f64)>,
    ts: i64,
    ext: &[(String, String)],
    ext_url: &str,
) -> Result<BTreeMap<Labels, Alert>, String> {
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
    Ok(alerts)
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
mod tests {
    use super::super::testutil::{engine, l, RULES};
    use super::*;
    use crate::tsdb::{self, Matcher, StorageOptions};

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
}
