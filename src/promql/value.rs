//! The values an evaluation produces: the public [`Value`] a query returns, the evaluator's
//! working [`Val`] and [`Smp`], and the label rules every operator shares (dropping the name,
//! refusing duplicate label sets, valid label names, Go's way of printing a float).
//!
//! Kept apart from the evaluator so that operators and functions can use these types without
//! importing the evaluator that calls them.

use super::EvalError;
use crate::tsdb::{Labels, Sample};

use super::fxhash::FxSet;

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

/// A sample of an instant vector during evaluation; `t` is the sample's own timestamp
/// (what `timestamp()` reports).
#[derive(Debug, Clone)]
pub(crate) struct Smp {
    pub labels: Labels,
    pub v: f64,
    pub t: i64,
}

pub(crate) enum Val {
    Scalar(f64),
    Vector(Vec<Smp>),
    Matrix(Vec<RangeSeries>),
    Str(String),
}

impl Val {
    /// The type's name as Prometheus's error messages spell it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
            Val::Str(_) => "string",
        }
    }
}

/// The label set without `__name__`, sharing strings.
pub(crate) fn drop_name(l: &Labels) -> Labels {
    if l.name().is_some() {
        l.without_name()
    } else {
        l.clone()
    }
}

pub(crate) fn has_duplicates(v: &[Smp]) -> bool {
    if v.len() < 2 {
        return false;
    }
    let mut seen = FxSet::with_capacity_and_hasher(v.len(), Default::default());
    v.iter().any(|s| !seen.insert(&s.labels))
}

pub(crate) fn dup_error() -> EvalError {
    EvalError::new("vector cannot contain metrics with the same labelset")
}

/// The vector as a value, or Prometheus's error if two samples share a label set (which an
/// operation that drops or rewrites labels can cause).
pub(crate) fn dedup_checked(v: Vec<Smp>) -> Result<Val, EvalError> {
    if has_duplicates(&v) {
        return Err(dup_error());
    }
    Ok(Val::Vector(v))
}

pub(crate) fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// A float as Prometheus prints it in labels (count_values) and error messages: Go's spelling
/// of NaN and the infinities, otherwise the shortest decimal.
pub(crate) fn go_float_str(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}
