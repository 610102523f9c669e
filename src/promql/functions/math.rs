//! Element-wise math on an instant vector (`abs`, `ln`, `sqrt`, the trigonometric functions,
//! `round`, `clamp`, ...). The results drop the metric name.
//!
//! Some go through Go's math library, reproduced below, rather than Rust's: `ln`, `log2` and
//! `log10` because Go's Log differs from libm's in the last bit for some inputs (and promtool
//! compares exactly), `clamp` because Go's Max and Min order NaN and signed zeros their own way.

use promql_parser::parser::Expr;

use super::{map_values, Context};
use crate::promql::gomath::{go_exp, go_log, go_log2, go_max, go_min};
use crate::promql::value::Val;
use crate::promql::EvalError;

/// `name(args)` if `name` is a math function; `None` for a name this file does not know.
pub(super) fn call(ev: &impl Context, name: &str, args: &[&Expr], t: i64) -> Option<Result<Val, EvalError>> {
    let f: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => go_exp,
        "sqrt" => f64::sqrt,
        "ln" => go_log,
        "log2" => go_log2,
        "log10" => |v| go_log(v) * std::f64::consts::LOG10_E,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "sgn" => sgn,
        "round" => return Some(round(ev, args, t)),
        "clamp" | "clamp_max" | "clamp_min" => return Some(clamp(ev, name, args, t)),
        _ => return None,
    };
    Some(ev.eval_vector(args[0], t).and_then(|v| map_values(v, f)))
}

fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

fn round(ev: &impl Context, args: &[&Expr], t: i64) -> Result<Val, EvalError> {
    let v = ev.eval_vector(args[0], t)?;
    let to = if args.len() >= 2 { ev.eval_scalar(args[1], t)? } else { 1.0 };
    let inv = 1.0 / to;
    // Halves round up, as Go's floor(x*inv + 0.5) / inv.
    map_values(v, |x| (x * inv + 0.5).floor() / inv)
}

fn clamp(ev: &impl Context, name: &str, args: &[&Expr], t: i64) -> Result<Val, EvalError> {
    let v = ev.eval_vector(args[0], t)?;
    match name {
        "clamp" => {
            let (lo, hi) = (ev.eval_scalar(args[1], t)?, ev.eval_scalar(args[2], t)?);
            if hi < lo {
                return Ok(Val::Vector(Vec::new()));
            }
            map_values(v, |x| go_max(lo, go_min(hi, x)))
        }
        "clamp_max" => {
            let hi = ev.eval_scalar(args[1], t)?;
            map_values(v, |x| go_min(hi, x))
        }
        _ => {
            let lo = ev.eval_scalar(args[1], t)?;
            map_values(v, |x| go_max(lo, x))
        }
    }
}
