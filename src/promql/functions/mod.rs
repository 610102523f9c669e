//! PromQL functions with Prometheus 2.42's formulas (functions.go, quantile.go): the dispatch
//! by name and the helpers the families share. One file per family:
//!
//! - [`range`]: functions of a range vector (the `*_over_time`, rate and trend families are
//!   driven from here, with the formulas in [`rate`] and [`over_time`]);
//! - [`math`]: element-wise arithmetic, rounding and clamping;
//! - [`time`]: `timestamp()` and the date functions;
//! - [`labels`]: `label_replace` and `label_join`;
//! - [`quantile`]: `histogram_quantile` and the φ-quantile `quantile()` shares;
//! - [`sort`]: `sort`, `sort_desc` and the Go sort they reproduce.
//!
//! Functions evaluate their own arguments (some look at the argument's syntax, as `timestamp`
//! and `absent` do), through [`Context`], which the evaluator implements: so this module does
//! not import the evaluator that calls it.

mod labels;
mod math;
mod over_time;
pub(super) mod quantile;
mod range;
mod rate;
pub(super) mod sort;
mod time;

use promql_parser::parser::{Call, Expr};

use super::value::{dedup_checked, drop_name, Smp, Val};
use super::{unwrap_parens, EvalError};
use crate::tsdb::{Labels, Sample};

/// What a function needs from the evaluator: its arguments evaluated at the current step.
pub(crate) trait Context {
    fn eval_scalar(&self, e: &Expr, t: i64) -> Result<f64, EvalError>;

    fn eval_vector(&self, e: &Expr, t: i64) -> Result<Vec<Smp>, EvalError>;

    /// Calls `f(window, labels, labels without the name if known, samples)` for each series of
    /// the range argument (matrix selector or subquery) at `t`, without copying stored samples.
    fn each_window(
        &self,
        arg: &Expr,
        t: i64,
        f: impl FnMut(&Window, &Labels, Option<&Labels>, &[Sample]) -> Result<(), EvalError>,
    ) -> Result<(), EvalError>;
}

/// The window of a range function's matrix argument at one step.
pub(crate) struct Window {
    pub range_start: i64,
    pub range_end: i64,
    pub range_ms: i64,
}

/// The function call `c` at step `t`.
pub(crate) fn call(ev: &impl Context, c: &Call, t: i64) -> Result<Val, EvalError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();

    // timestamp(selector) reports the samples' own timestamps.
    if name == "timestamp" {
        return time::timestamp(ev, args[0], t);
    }

    if let Some(mi) = args.iter().position(|a| is_range_arg(a)) {
        return range::call(ev, name, &args, mi, t);
    }

    match name {
        "time" => Ok(Val::Scalar(t as f64 / 1000.0)),
        "pi" => Ok(Val::Scalar(std::f64::consts::PI)),
        "vector" => Ok(Val::Vector(vec![Smp { labels: Labels::empty(), v: ev.eval_scalar(args[0], t)?, t }])),
        "scalar" => {
            let v = ev.eval_vector(args[0], t)?;
            Ok(Val::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }))
        }
        "sort" | "sort_desc" => sort::sort(ev.eval_vector(args[0], t)?, name == "sort_desc"),
        "absent" => absent(ev, args[0], t),
        "label_replace" => labels::label_replace(ev, &args, t),
        "label_join" => labels::label_join(ev, &args, t),
        "histogram_quantile" => {
            let q = ev.eval_scalar(args[0], t)?;
            let v = ev.eval_vector(args[1], t)?;
            quantile::histogram_quantile(q, v)
        }
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute" | "month" | "year" => {
            time::date_function(ev, name, &args, t)
        }
        other => math::call(ev, other, &args, t)
            .unwrap_or_else(|| Err(EvalError::unsupported(&format!("function {other}()")))),
    }
}

fn is_range_arg(e: &Expr) -> bool {
    matches!(unwrap_parens(e), Expr::MatrixSelector(_) | Expr::Subquery(_))
}

fn string_arg(e: &Expr) -> Result<String, EvalError> {
    match unwrap_parens(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        _ => Err(EvalError::new("expected a string literal argument")),
    }
}

/// Each sample's value through `f`, without the metric name (a transformed value is no longer
/// the metric's).
fn map_values(v: Vec<Smp>, f: impl Fn(f64) -> f64) -> Result<Val, EvalError> {
    dedup_checked(v.into_iter().map(|s| Smp { labels: drop_name(&s.labels), v: f(s.v), t: s.t }).collect())
}

fn absent(ev: &impl Context, arg: &Expr, t: i64) -> Result<Val, EvalError> {
    let v = ev.eval_vector(arg, t)?;
    if !v.is_empty() {
        return Ok(Val::Vector(Vec::new()));
    }
    Ok(Val::Vector(vec![Smp { labels: absent_labels(arg), v: 1.0, t }]))
}

/// Labels for absent()/absent_over_time(): the `=` matchers, except names matched twice.
fn absent_labels(arg: &Expr) -> Labels {
    let vs = match unwrap_parens(arg) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut has: Vec<String> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" {
            continue;
        }
        let eq = matches!(m.op, promql_parser::label::MatchOp::Equal);
        if eq && !has.contains(&m.name) {
            pairs.retain(|(k, _)| *k != m.name);
            pairs.push((m.name.clone(), m.value.clone()));
            has.push(m.name.clone());
        } else {
            pairs.retain(|(k, _)| *k != m.name);
        }
    }
    Labels::from_pairs(pairs)
}

/// Kahan summation's step (the new sum and its compensation), where a window is summed: the
/// `*_over_time` functions and the linear regression.
fn kahan_inc(inc: f64, sum: f64, mut c: f64) -> (f64, f64) {
    let t = sum + inc;
    if sum.abs() >= inc.abs() {
        c += (sum - t) + inc;
    } else {
        c += (inc - t) + sum;
    }
    (t, c)
}
