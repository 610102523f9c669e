//! Functions of a range vector (`rate(x[5m])`, `avg_over_time(x[1h:1m])`, ...): evaluating
//! the other arguments, walking each series' window and naming the results. The formulas are
//! in [`super::rate`], [`super::over_time`] and [`super::quantile`].

use promql_parser::parser::Expr;

use super::quantile::quantile;
use super::{absent_labels, over_time, rate, Context, Window};
use crate::promql::value::{dedup_checked, drop_name, Smp, Val};
use crate::promql::{unwrap_parens, EvalError};
use crate::tsdb::Sample;

/// `name(args)` where `args[mi]` is the range argument.
pub(super) fn call(ev: &impl Context, name: &str, args: &[&Expr], mi: usize, t: i64) -> Result<Val, EvalError> {
    // Other (scalar) arguments, evaluated at this step.
    let mut scalars = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i != mi {
            scalars.push(ev.eval_scalar(a, t)?);
        }
    }
    if name == "holt_winters" || name == "double_exponential_smoothing" {
        let (sf, tf) = (scalars[0], scalars[1]);
        if sf <= 0.0 || sf >= 1.0 {
            return Err(EvalError::new(format!("invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}")));
        }
        if tf <= 0.0 || tf >= 1.0 {
            return Err(EvalError::new(format!("invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}")));
        }
    }
    if name == "absent_over_time" {
        let mut any = false;
        ev.each_window(args[mi], t, |_, _, _, _| {
            any = true;
            Ok(())
        })?;
        if any {
            return Ok(Val::Vector(Vec::new()));
        }
        return Ok(Val::Vector(vec![Smp { labels: absent_labels(args[mi]), v: 1.0, t }]));
    }
    let mut out = Vec::new();
    ev.each_window(args[mi], t, |w, labels, unnamed, pts| {
        if let Some(v) = range_value(name, pts, w, &scalars, t)? {
            let l = if name == "last_over_time" {
                labels.clone()
            } else {
                unnamed.cloned().unwrap_or_else(|| drop_name(labels))
            };
            out.push(Smp { labels: l, v, t });
        }
        Ok(())
    })?;
    // Distinct stored series with one fixed name stay distinct without it: skip the check.
    if fixed_name(args[mi]) {
        return Ok(Val::Vector(out));
    }
    dedup_checked(out)
}

/// Whether a range argument selects series of a single metric name.
fn fixed_name(arg: &Expr) -> bool {
    match unwrap_parens(arg) {
        Expr::MatrixSelector(ms) => {
            ms.vs.name.is_some()
                || ms
                    .vs
                    .matchers
                    .matchers
                    .iter()
                    .any(|m| m.name == "__name__" && matches!(m.op, promql_parser::label::MatchOp::Equal))
        }
        _ => false,
    }
}

/// One range function over one series' window.
fn range_value(name: &str, pts: &[Sample], w: &Window, scalars: &[f64], t: i64) -> Result<Option<f64>, EvalError> {
    Ok(match name {
        "rate" => rate::extrapolated_rate(pts, w, true, true),
        "increase" => rate::extrapolated_rate(pts, w, true, false),
        "delta" => rate::extrapolated_rate(pts, w, false, false),
        "irate" => rate::instant_value(pts, true),
        "idelta" => rate::instant_value(pts, false),
        "deriv" => rate::deriv(pts),
        "predict_linear" => rate::predict_linear(pts, t, scalars[0]),
        "holt_winters" | "double_exponential_smoothing" => rate::holt_winters(pts, scalars[0], scalars[1]),
        "changes" => Some(over_time::changes(pts)),
        "resets" => Some(over_time::resets(pts)),
        "avg_over_time" => Some(over_time::avg_over_time(pts)),
        "count_over_time" => Some(pts.len() as f64),
        "last_over_time" => Some(pts[pts.len() - 1].v),
        "present_over_time" => Some(1.0),
        "max_over_time" => Some(over_time::max_over_time(pts)),
        "min_over_time" => Some(over_time::min_over_time(pts)),
        "sum_over_time" => Some(over_time::sum_over_time(pts)),
        "quantile_over_time" => {
            let mut vals: Vec<f64> = pts.iter().map(|p| p.v).collect();
            Some(quantile(scalars[0], &mut vals))
        }
        "stddev_over_time" => Some(over_time::stdvar_over_time(pts).sqrt()),
        "stdvar_over_time" => Some(over_time::stdvar_over_time(pts)),
        other => return Err(EvalError::unsupported(&format!("function {other}()"))),
    })
}
