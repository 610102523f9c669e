//! What rules need from a PromQL engine (`Evaluator`), and its implementation on opsdeck's own
//! engine (`PromqlEvaluator`). A trait so the state-machine tests can run on a tiny evaluator.

use crate::tsdb::{Labels, Storage};

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
