//! Gates: the alert rules that judge a deploy (`gates = ["HighErrorRate", …]`), evaluated on
//! scrapes the deploy takes itself, so the verdict is about the data since the operation began.
//!
//! A gate's verdict per evaluation (Argo Rollouts' four outcomes, with Flagger's "no values is a
//! failure"): `Failure` when its alert expression returns a series (the alert would be pending or
//! firing: a deploy does not wait out `for`); `Inconclusive` when the expression's left-hand side
//! (for `a > b`, `a`) has no data or only NaN, so "no data" never passes as "no alert"; `Error`
//! when it could not be measured (no target answered, an evaluation error); `Success` otherwise.

use std::time::Duration;

use tokio::sync::watch;

use crate::config::{Config, Environment};
use crate::model::{CheckOutcome, GateVerdict, Millis};
use crate::promql::Expr;
use crate::rules::engine::{PromqlEvaluator, RuleEngine};
use crate::scrape::target::{Target, TargetState};
use crate::tsdb::{Storage, StorageOptions};

struct Gate {
    name: String,
    expr: Expr,
    /// The side whose data must exist, when the expression is a filtering comparison.
    data: Option<Expr>,
}

/// The gates of one environment's deploy, with the rules they come from (recording rules run
/// before the gates, so a gate over a recorded series sees it).
pub struct Gates {
    gates: Vec<Gate>,
    rules: Option<RuleEngine<PromqlEvaluator>>,
    engine: crate::promql::Engine,
}

/// One evaluation of every gate over fresh scrapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateReport {
    /// Increases with every evaluation.
    pub seq: u64,
    pub at: Millis,
    pub verdicts: Vec<GateVerdict>,
    pub targets_up: usize,
    pub targets_total: usize,
    /// Why targets failed, in words.
    pub errors: Vec<String>,
}

impl Gates {
    /// The named alerts from the config's rule files; a gate naming no alert is a config error.
    pub fn load(cfg: &Config, names: &[String]) -> Result<Gates, String> {
        let engine = crate::promql::Engine::default();
        if names.is_empty() {
            return Ok(Gates { gates: vec![], rules: None, engine });
        }
        let paths: Vec<_> = cfg.alerting.rule_files.iter().map(|p| cfg.resolve(p)).collect();
        let set = crate::rules::RuleSet::load(&paths)
            .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))?;
        let mut gates = Vec::new();
        for name in names {
            let rule = set
                .groups()
                .flat_map(|(_, g)| g.rules.iter())
                .find(|r| r.kind == crate::rules::file::RuleKind::Alert && &r.name == name)
                .ok_or_else(|| {
                    format!(
                        "gate {name:?} names no alert rule in [alerting] rule_files ({})",
                        cfg.alerting.rule_files.join(", ")
                    )
                })?;
            let expr = crate::promql::parse(&rule.expr).map_err(|e| format!("gate {name}: {e}"))?;
            let data = data_side(&expr);
            gates.push(Gate { name: name.clone(), expr, data });
        }
        let rules = crate::rules::load_from_config(cfg)
            .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))?;
        Ok(Gates { gates, rules, engine })
    }

    pub fn names(&self) -> Vec<String> {
        self.gates.iter().map(|g| g.name.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// Every gate's verdict at `t` over `st`; `measured` is false when no target answered.
    pub fn evaluate(&mut self, st: &mut Storage, t: Millis, measured: Result<(), String>) -> Vec<GateVerdict> {
        if let Some(r) = self.rules.as_mut() {
            r.eval_all(st, t);
            r.take_errors();
        }
        let mut out = Vec::with_capacity(self.gates.len());
        for g in &self.gates {
            let verdict = |outcome, value, detail: String| GateVerdict { name: g.name.clone(), outcome, value, detail };
            if let Err(why) = &measured {
                out.push(verdict(CheckOutcome::Error, None, format!("could not measure: {why}")));
                continue;
            }
            let v = match self.engine.instant(st, &g.expr, t) {
                Ok(v) => values(v),
                Err(e) => {
                    out.push(verdict(CheckOutcome::Error, None, format!("evaluation failed: {e}")));
                    continue;
                }
            };
            if let Some(max) = v.iter().copied().reduce(f64::max) {
                out.push(verdict(
                    CheckOutcome::Failure,
                    Some(max),
                    format!("alert condition true (value {})", num(max)),
                ));
                continue;
            }
            let Some(data) = &g.data else {
                out.push(verdict(CheckOutcome::Success, None, "alert condition false".into()));
                continue;
            };
            match self.engine.instant(st, data, t).map(values) {
                Ok(d) => match d.iter().copied().filter(|x| !x.is_nan()).reduce(f64::max) {
                    Some(x) => out.push(verdict(
                        CheckOutcome::Success,
                        Some(x),
                        format!("value {} within its threshold", num(x)),
                    )),
                    None if d.is_empty() && self.an_operand_has_data(st, data, t) => out.push(verdict(
                        CheckOutcome::Success,
                        Some(0.0),
                        "one side has no series (e.g. no 5xx yet) and the other has data".into(),
                    )),
                    None if d.is_empty() => out.push(verdict(CheckOutcome::Inconclusive, None, "no data".into())),
                    None => {
                        out.push(verdict(CheckOutcome::Inconclusive, Some(f64::NAN), "NaN (no data to judge)".into()))
                    }
                },
                Err(e) => out.push(verdict(CheckOutcome::Error, None, format!("evaluation failed: {e}"))),
            }
        }
        out
    }
}

impl Gates {
    /// For an empty `a / b` (or any arithmetic): whether either side alone has real data. An
    /// error ratio whose numerator has no series yet (no request has failed since the counters
    /// began) is a ratio of zero, not "no data"; with neither side present it is no data.
    fn an_operand_has_data(&self, st: &Storage, e: &Expr, t: Millis) -> bool {
        match e {
            Expr::Paren(p) => self.an_operand_has_data(st, &p.expr, t),
            Expr::Binary(b) if !crate::promql::is_comparison(&b.op.to_string()) => [&*b.lhs, &*b.rhs]
                .iter()
                .any(|side| self.engine.instant(st, side, t).map(values).is_ok_and(|v| v.iter().any(|x| !x.is_nan()))),
            _ => false,
        }
    }
}

fn values(v: crate::promql::Value) -> Vec<f64> {
    match v {
        crate::promql::Value::Vector(v) => v.into_iter().map(|s| s.v).collect(),
        crate::promql::Value::Scalar(x) => vec![x],
        _ => vec![],
    }
}

fn num(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// For `a > b` (a filtering comparison), `a`: the data the condition is about. Parentheses are
/// looked through; a `bool` comparison or any other expression has no data side.
fn data_side(e: &Expr) -> Option<Expr> {
    match e {
        Expr::Paren(p) => data_side(&p.expr),
        Expr::Binary(b) if !b.return_bool() && crate::promql::is_comparison(&b.op.to_string()) => {
            Some((*b.lhs).clone())
        }
        _ => None,
    }
}

/// Scrape `env`'s targets every `interval` into a store of its own and evaluate the gates after
/// each round; the latest report is on the returned channel. Stops when every receiver is gone.
pub fn watch(cfg: &Config, env: &Environment, mut gates: Gates, interval: Duration) -> watch::Receiver<GateReport> {
    let (tx, rx) = watch::channel(GateReport::default());
    let targets: Vec<Target> = env.scrape.iter().flat_map(|sc| Target::from_config(&env.name, sc)).collect();
    let retention = cfg.general.history.as_millis() as i64;
    let max_series = cfg.general.max_series;
    tokio::spawn(async move {
        let client = crate::net::client();
        let mut store = Storage::new(StorageOptions { retention_ms: retention, max_series });
        let mut states: Vec<TargetState> = targets.iter().cloned().map(TargetState::new).collect();
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(200)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = tx.closed() => return,
            }
            let outcomes =
                futures::future::join_all(targets.iter().map(|t| crate::scrape::target::scrape(&client, t))).await;
            let now = crate::clock::wall_ms();
            let mut up = 0;
            let mut errors = Vec::new();
            for (s, o) in states.iter_mut().zip(&outcomes) {
                let r = s.ingest(&mut store, o, now);
                if r.up {
                    up += 1;
                } else if let Some(e) = r.error {
                    errors.push(crate::sanitize::line(&e).into_owned());
                }
            }
            store.trim(now);
            let measured = if up > 0 || targets.is_empty() {
                Ok(())
            } else {
                Err(errors.first().cloned().unwrap_or_else(|| "no target answered".into()))
            };
            let measured = if targets.is_empty() { Err("no scrape targets configured".to_string()) } else { measured };
            seq += 1;
            let verdicts = gates.evaluate(&mut store, now, measured);
            let report = GateReport { seq, at: now, verdicts, targets_up: up, targets_total: targets.len(), errors };
            if tx.send(report).is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::Labels;

    fn gates(rules: &str, names: &[&str]) -> (Gates, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.yml"), rules).unwrap();
        let cfg_text = "[alerting]\nrule_files = [\"r.yml\"]\n";
        let cfg = Config::parse(cfg_text, &dir.path().join("c.toml")).unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        (Gates::load(&cfg, &names).unwrap(), dir)
    }

    const RULES: &str = "groups:\n- name: g\n  rules:\n  - record: lat:p95\n    expr: lat\n  - alert: Slow\n    expr: lat:p95 > 2\n    for: 5m\n  - alert: Absent\n    expr: absent(up)\n";

    #[test]
    fn failure_success_no_data_and_nan() {
        let (mut g, _d) = gates(RULES, &["Slow", "Absent"]);
        let mut st = Storage::new(StorageOptions { retention_ms: 3_600_000, max_series: 100 });
        let t = 100_000;
        let v = g.evaluate(&mut st, t, Ok(()));
        assert_eq!(v[0].outcome, CheckOutcome::Inconclusive, "{v:?}");
        assert_eq!(v[0].detail, "no data");
        // absent(up) fires with no data at all.
        assert_eq!(v[1].outcome, CheckOutcome::Failure);

        st.append(&Labels::from_pairs([("__name__", "up")]), t, 1.0).unwrap();
        st.append(&Labels::from_pairs([("__name__", "lat")]), t, 1.5).unwrap();
        let v = g.evaluate(&mut st, t + 1, Ok(()));
        assert_eq!((v[0].outcome, v[0].value), (CheckOutcome::Success, Some(1.5)), "{v:?}");
        assert_eq!(v[1].outcome, CheckOutcome::Success);

        st.append(&Labels::from_pairs([("__name__", "lat")]), t + 2_000, 2.8).unwrap();
        let v = g.evaluate(&mut st, t + 2_001, Ok(()));
        assert_eq!((v[0].outcome, v[0].value), (CheckOutcome::Failure, Some(2.8)), "{v:?}");

        st.append(&Labels::from_pairs([("__name__", "lat")]), t + 4_000, f64::NAN).unwrap();
        let v = g.evaluate(&mut st, t + 4_001, Ok(()));
        assert_eq!(v[0].outcome, CheckOutcome::Inconclusive, "NaN never passes: {v:?}");

        let v = g.evaluate(&mut st, t + 4_001, Err("refused".into()));
        assert_eq!(v[0].outcome, CheckOutcome::Error);
    }

    #[test]
    fn a_ratio_without_its_numerator_is_zero_not_no_data() {
        let rules = "groups:\n- name: g\n  rules:\n  - alert: Errors\n    expr: sum(err) / sum(all) > 0.05\n";
        let (mut g, _d) = gates(rules, &["Errors"]);
        let mut st = Storage::new(StorageOptions { retention_ms: 3_600_000, max_series: 100 });
        let v = g.evaluate(&mut st, 1_000, Ok(()));
        assert_eq!(v[0].outcome, CheckOutcome::Inconclusive, "neither side: {v:?}");
        st.append(&Labels::from_pairs([("__name__", "all")]), 1_000, 10.0).unwrap();
        let v = g.evaluate(&mut st, 1_001, Ok(()));
        assert_eq!(v[0].outcome, CheckOutcome::Success, "{v:?}");
        st.append(&Labels::from_pairs([("__name__", "err")]), 1_000, 5.0).unwrap();
        let v = g.evaluate(&mut st, 1_001, Ok(()));
        assert_eq!((v[0].outcome, v[0].value), (CheckOutcome::Failure, Some(0.5)), "{v:?}");
    }

    #[test]
    fn an_unknown_gate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.yml"), RULES).unwrap();
        let cfg = Config::parse("[alerting]\nrule_files = [\"r.yml\"]\n", &dir.path().join("c.toml")).unwrap();
        let err = Gates::load(&cfg, &["Nope".into()]).err().unwrap();
        assert!(err.contains("\"Nope\"") && err.contains("r.yml"), "{err}");
    }
}
