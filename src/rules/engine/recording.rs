//! Recording rules, as Prometheus 2.42's `rules/recording.go` evaluates them: the expression's
//! result renamed to the rule's `record` name with the rule's labels applied; two samples ending
//! with the same labels, or more series than the group's `limit`, fail the rule.

use super::evaluator::Evaluator;
use super::series::set_label;
use crate::rules::file::RuleDef;
use crate::tsdb::{Labels, Storage};
use std::collections::HashSet;

/// One recording rule: its definition, parsed expression and the labels it sets.
pub(super) struct RecordingRule<X> {
    pub(super) def: RuleDef,
    pub(super) expr: X,
    pub(super) labels: Vec<(String, String)>,
}

/// Evaluate a recording rule at `ts`: the samples to write.
pub(super) fn eval_recording<E: Evaluator>(
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

#[cfg(test)]
mod tests {
    use super::super::testutil::{engine, l};
    use crate::tsdb::{Matcher, Storage, StorageOptions};

    #[test]
    fn each_group_reports_its_last_evaluation_time() {
        let rules = "groups:\n  - name: g\n    rules:\n      - record: y\n        expr: sum(x)\n      - record: z\n        expr: y * 2\n";
        let mut e = engine(rules);
        assert_eq!(e.timings()[0].last_eval, None);
        let mut st = Storage::new(StorageOptions::default());
        for i in 0..1000 {
            st.append(&l(&[("__name__", "x"), ("i", &i.to_string())]), 0, 1.0).unwrap();
        }
        e.eval(&mut st, 0);
        let t = &e.timings()[0];
        assert_eq!((t.name.as_str(), t.rules, t.last_eval), ("g", 2, Some(0)));
        // Summing 1,000 series takes time; the figure is the wall time it took.
        assert!(t.last_duration > std::time::Duration::ZERO, "{t:?}");
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
