//! PromQL evaluation over the local `tsdb`, with Prometheus's semantics.
//!
//! Parsing is done by the maintained `promql-parser` crate (GreptimeDB's port of Prometheus's
//! grammar); this module adds error positions, the evaluator and the test notation.
//!
//! The files, one idea each, in dependency order (none imports one above it):
//! - [`engine`]: the evaluator, walking the expression and reading the storage;
//! - `aggregate`, `binop`: aggregation and binary operators, on values already evaluated;
//! - `functions`: the functions, one file per family, reaching back into the evaluator only
//!   through a trait (`functions::Context`) it implements;
//! - `value`, `fxhash`: the value types and label rules all of them share, and their hasher;
//! - `parse`: parsing with positioned errors; [`notation`]: the promqltest series notation.

mod aggregate;
mod binop;
pub mod engine;
mod functions;
mod fxhash;
mod gomath;
pub mod notation;
mod parse;
mod value;

pub(crate) use binop::is_comparison;
pub use engine::{Engine, DEFAULT_LOOKBACK_MS, DEFAULT_MAX_SAMPLES, DEFAULT_SUBQUERY_STEP_MS};
pub use parse::{parse, ParseError};
/// The AST the evaluator walks (promql-parser's).
pub use promql_parser::parser::Expr;
pub use value::{RangeSeries, Value, VecSample};

use crate::tsdb::Storage;

/// An evaluation failure (the query is valid but cannot be answered).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub fn new(m: impl Into<String>) -> EvalError {
        EvalError { message: m.into() }
    }

    /// A construct this engine does not implement; the message names it.
    pub fn unsupported(what: &str) -> EvalError {
        EvalError { message: format!("unsupported PromQL construct: {what}") }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// Evaluate `expr` at `t_ms` with the default engine.
pub fn query(st: &Storage, expr: &str, t_ms: i64) -> Result<Value, Error> {
    let e = parse(expr)?;
    Ok(Engine::default().instant(st, &e, t_ms)?)
}

/// The expression inside any parentheses: `(x)` means `x` wherever an argument's kind matters.
pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

#[cfg(test)]
mod tests;
