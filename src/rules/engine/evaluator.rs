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

/// The rules' evaluator on opsdeck's PromQL engine, or (`remote` set, `source = "remote-rules"`)
/// on answers a remote server gave for each expression at this evaluation's time: the caller
/// fetches them first (the engine is synchronous, the HTTP is not), then evaluates.
pub struct PromqlEvaluator {
    pub engine: crate::promql::Engine,
    /// Step of subqueries written without one (`x[5m:]`): the evaluation interval.
    pub subquery_step_ms: i64,
    pub remote: Option<Prefetched>,
}

/// A remote server's answer per expression source, for one evaluation.
pub type Prefetched = std::collections::HashMap<String, Result<Vec<(Labels, f64)>, String>>;

/// An expression parsed (so a bad rule is refused at load with its position) and its source
/// (what a remote server is asked).
pub struct Compiled {
    pub ast: crate::promql::Expr,
    pub src: String,
}

impl Default for PromqlEvaluator {
    fn default() -> Self {
        PromqlEvaluator {
            engine: crate::promql::Engine::default(),
            subquery_step_ms: crate::promql::DEFAULT_SUBQUERY_STEP_MS,
            remote: None,
        }
    }
}

impl Evaluator for PromqlEvaluator {
    type Expr = Compiled;

    fn parse(&self, src: &str) -> Result<Self::Expr, String> {
        Ok(Compiled { ast: crate::promql::parse(src).map_err(|e| e.to_string())?, src: src.to_string() })
    }

    fn instant(&self, st: &Storage, e: &Self::Expr, t_ms: i64) -> Result<Vec<(Labels, f64)>, String> {
        use crate::promql::Value;
        if let Some(got) = &self.remote {
            return got.get(&e.src).cloned().unwrap_or_else(|| Err("no answer from the server".into()));
        }
        match self.engine.instant_with(st, &e.ast, t_ms, self.subquery_step_ms).map_err(|e| e.to_string())? {
            Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
            Value::Scalar(v) => Ok(vec![(Labels::empty(), v)]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }
}
