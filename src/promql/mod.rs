//! PromQL evaluation over the local `tsdb`, with Prometheus's semantics.
//!
//! Parsing is done by the maintained `promql-parser` crate (GreptimeDB's port of Prometheus's
//! grammar); this module adds error positions, the evaluator and the test notation.

pub mod engine;
mod functions;
pub mod notation;

pub use engine::{Engine, DEFAULT_LOOKBACK_MS, DEFAULT_SUBQUERY_STEP_MS};
/// The AST the evaluator walks (promql-parser's).
pub use promql_parser::parser::Expr;

use crate::tsdb::{Labels, Sample, Storage};

/// A PromQL syntax error with its position in the expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("parse error at line {line}, column {column}: {message}")]
pub struct ParseError {
    /// Byte offset into the expression where the problem was detected.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct VecSample {
    pub labels: Labels,
    pub v: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<VecSample>),
    Matrix(Vec<RangeSeries>),
    String(String),
}

/// Parse a PromQL expression.
pub fn parse(expr: &str) -> Result<Expr, ParseError> {
    if expr.trim().is_empty() {
        return Err(position_error(expr, 0, "empty expression".into()));
    }
    promql_parser::parser::parse(expr).map_err(|m| locate(expr, m))
}

/// Evaluate `expr` at `t_ms` with the default engine.
pub fn query(st: &Storage, expr: &str, t_ms: i64) -> Result<Value, Error> {
    let e = parse(expr)?;
    Ok(Engine::default().instant(st, &e, t_ms)?)
}

fn position_error(expr: &str, offset: usize, message: String) -> ParseError {
    let offset = offset.min(expr.len());
    let before = &expr[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    ParseError { offset, line, column, message }
}

/// promql-parser reports messages without positions for grammar errors; find where the
/// expression stops being parseable: the longest prefix that still lexes and parses as the
/// start of something is a good approximation, so use the shortest failing prefix whose
/// extension by any amount keeps failing — approximated as the first token after the longest
/// valid prefix.
fn locate(expr: &str, message: String) -> ParseError {
    // Messages from the lexer often carry "at position N" or a quoted char.
    if let Some(pos) = extract_position(&message) {
        return position_error(expr, pos, message);
    }
    let mut best = 0;
    let bounds: Vec<usize> = expr.char_indices().map(|(i, _)| i).chain(std::iter::once(expr.len())).collect();
    for &end in bounds.iter().rev() {
        let prefix = &expr[..end];
        if !prefix.trim().is_empty() && promql_parser::parser::parse(prefix).is_ok() {
            best = end;
            break;
        }
    }
    // Skip whitespace to point at the offending token.
    let rest = &expr[best..];
    let skip = rest.len() - rest.trim_start().len();
    let off = if best == 0 { 0 } else { best + skip };
    position_error(expr, off, message)
}

fn extract_position(msg: &str) -> Option<usize> {
    let idx = msg.find("position ")?;
    let digits: String = msg[idx + 9..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}
