//! Helpers of the rule engine's unit tests: a tiny evaluator, so the state machine is tested
//! without the PromQL engine, and an engine built from rule-file text.

use super::{EngineOptions, Evaluator, RuleEngine, RuleSet};
use crate::tsdb::{self, Labels, Matcher, Storage};
use std::path::Path;

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

pub(crate) fn engine(rules: &str) -> RuleEngine<SelectEval> {
    let f = crate::rules::file::parse_rule_file(Path::new("t.yml"), rules).unwrap();
    RuleEngine::new(SelectEval, &RuleSet { files: vec![f] }, EngineOptions::default()).unwrap()
}

pub(crate) fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

pub(crate) const RULES: &str = "groups:\n  - name: g\n    rules:\n      - alert: Hot\n        expr: temp > 50\n        for: 2m\n        keep_firing_for: 2m\n        labels: {severity: critical}\n        annotations: {summary: 'temp {{ $value }} on {{ $labels.host }}'}\n";
