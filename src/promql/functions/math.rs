//! Element-wise math on an instant vector (`abs`, `ln`, `sqrt`, the trigonometric functions,
//! `round`, `clamp`, ...). The results drop the metric name.
//!
//! Some go through Go's math library, reproduced below, rather than Rust's: `ln`, `log2` and
//! `log10` because Go's Log differs from libm's in the last bit for some inputs (and promtool
//! compares exactly), `clamp` because Go's Max and Min order NaN and signed zeros their own way.

use promql_parser::parser::Expr;

use super::{map_values, Context};
use crate::promql::value::Val;
use crate::promql::EvalError;

/// `name(args)` if `name` is a math function; `None` for a name this file does not know.
pub(super) fn call(ev: &impl Context, name: &str, args: &[&Expr], t: i64) -> Option<Result<Val, EvalError>> {
    let f: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
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

/// Go's math.Frexp: x = frac * 2^exp with |frac| in [0.5, 1).
fn go_frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || x.is_nan() || x.is_infinite() {
        return (x, 0);
    }
    let (mut x, mut exp) = (x, 0);
    if x.abs() < f64::MIN_POSITIVE {
        // Subnormal: normalise first.
        x *= (1u64 << 52) as f64;
        exp = -52;
    }
    let bits = x.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i32 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exp)
}

/// Go's math.Log2 (Log10 is Log(x) * (1/Ln10)): these round differently from libm's.
fn go_log2(x: f64) -> f64 {
    let (frac, exp) = go_frexp(x);
    // Exact powers of two give exact answers.
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    go_log(frac) * std::f64::consts::LOG2_E + exp as f64
}

/// Go's math.Log (FreeBSD's e_log.c algorithm), which differs from glibc's in the last bit for
/// some inputs; promtool compares exactly.
// The constants are written as in the reference source, so they can be checked against it.
#[allow(clippy::excessive_precision)]
fn go_log(x: f64) -> f64 {
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    const L1: f64 = 6.666666666666735130e-01;
    const L2: f64 = 3.999999999940941908e-01;
    const L3: f64 = 2.857142874366239149e-01;
    const L4: f64 = 2.222219843214978396e-01;
    const L5: f64 = 1.818357216161805012e-01;
    const L6: f64 = 1.531383769920937332e-01;
    const L7: f64 = 1.479819860511658591e-01;
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut f1, mut ki) = go_frexp(x);
    if f1 < std::f64::consts::SQRT_2 / 2.0 {
        f1 *= 2.0;
        ki -= 1;
    }
    let f = f1 - 1.0;
    let k = ki as f64;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
    let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// Go's math.Max / math.Min: NaN wins, and signed zeros are ordered.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a > 0.0 || b.is_infinite() && b > 0.0 {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b {
        a
    } else {
        b
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a < 0.0 || b.is_infinite() && b < 0.0 {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_log_is_exact_where_go_is() {
        assert_eq!(go_frexp(8.0), (0.5, 4));
        assert_eq!(go_log2(8.0), 3.0);
        assert_eq!(go_log(1.0), 0.0);
        assert_eq!(go_log(0.0), f64::NEG_INFINITY);
        assert!(go_log(-1.0).is_nan());
    }

    #[test]
    fn go_max_and_min_order_nan_and_signed_zeros() {
        assert!(go_max(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(0.0, -0.0).is_sign_negative());
    }
}
