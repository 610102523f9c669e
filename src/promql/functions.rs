//! PromQL functions with Prometheus 2.42's formulas (functions.go, quantile.go).

use chrono::{Datelike, TimeZone, Timelike, Utc};
use promql_parser::parser::{Call, Expr};

use super::engine::{
    drop_name, dur_ms, insertion_sort_by, offset_ms, unwrap_parens, valid_label_name, Ev, FxMap, FxSet, Smp, Val,
};
use super::{EvalError, RangeSeries};
use crate::tsdb::{Labels, Sample};

/// The window of a range function's matrix argument at one step.
struct Window {
    range_start: i64,
    range_end: i64,
    range_ms: i64,
}

fn string_arg(e: &Expr) -> Result<String, EvalError> {
    match unwrap_parens(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        _ => Err(EvalError::new("expected a string literal argument")),
    }
}

/// Calls `f(labels, labels without name if known, samples)` for each series of the range
/// argument (matrix selector or subquery) at `t`, without copying stored samples.
fn each_window(
    ev: &Ev,
    arg: &Expr,
    t: i64,
    mut f: impl FnMut(&Window, &Labels, Option<&Labels>, &[Sample]) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    match unwrap_parens(arg) {
        Expr::MatrixSelector(ms) => {
            let range = dur_ms(&ms.range);
            let maxt = ev.at_time(&ms.vs.at, t).saturating_sub(offset_ms(&ms.vs.offset));
            let w = Window { range_start: maxt.saturating_sub(range), range_end: maxt, range_ms: range };
            ev.for_each_window(&ms.vs, range, t, |s, pts| f(&w, &s.labels, Some(s.labels_without_name()), pts))?;
            Ok(())
        }
        Expr::Subquery(sq) => {
            let (m, mint, maxt) = ev.subquery(sq, t)?;
            let w = Window { range_start: mint, range_end: maxt, range_ms: dur_ms(&sq.range) };
            for RangeSeries { labels, samples } in &m {
                let pts: Vec<Sample> = samples
                    .iter()
                    .filter(|s| s.t >= mint && s.t <= maxt && !crate::tsdb::is_stale(s.v))
                    .copied()
                    .collect();
                if !pts.is_empty() {
                    f(&w, labels, None, &pts)?;
                }
            }
            Ok(())
        }
        _ => Err(EvalError::new("expected a range vector argument")),
    }
}

fn is_range_arg(e: &Expr) -> bool {
    matches!(unwrap_parens(e), Expr::MatrixSelector(_) | Expr::Subquery(_))
}

pub(crate) fn call(ev: &Ev, c: &Call, t: i64) -> Result<Val, EvalError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();

    // timestamp(selector) reports the samples' own timestamps.
    if name == "timestamp" {
        let arg = unwrap_parens(args[0]);
        let own_time = matches!(arg, Expr::VectorSelector(_));
        let v = ev.eval_vector(arg, t)?;
        let out: Vec<Smp> = v
            .into_iter()
            .map(|s| {
                let ts = if own_time { s.t } else { t };
                Smp { labels: drop_name(&s.labels), v: ts as f64 / 1000.0, t: ts }
            })
            .collect();
        return dedup_checked(out);
    }

    if let Some(mi) = args.iter().position(|a| is_range_arg(a)) {
        return range_function(ev, name, &args, mi, t);
    }

    let scalar = |i: usize| -> Result<f64, EvalError> { ev.eval_scalar(args[i], t) };
    let vector = |i: usize| -> Result<Vec<Smp>, EvalError> { ev.eval_vector(args[i], t) };

    let simple = |f: fn(f64) -> f64| -> Result<Val, EvalError> {
        let v = vector(0)?;
        dedup_checked(v.into_iter().map(|s| Smp { labels: drop_name(&s.labels), v: f(s.v), t: s.t }).collect())
    };

    match name {
        "time" => Ok(Val::Scalar(t as f64 / 1000.0)),
        "pi" => Ok(Val::Scalar(std::f64::consts::PI)),
        "vector" => Ok(Val::Vector(vec![Smp { labels: Labels::empty(), v: scalar(0)?, t }])),
        "scalar" => {
            let v = vector(0)?;
            Ok(Val::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }))
        }
        "abs" => simple(f64::abs),
        "ceil" => simple(f64::ceil),
        "floor" => simple(f64::floor),
        "exp" => simple(f64::exp),
        "sqrt" => simple(f64::sqrt),
        "ln" => simple(go_log),
        "log2" => simple(go_log2),
        "log10" => simple(|v| go_log(v) * std::f64::consts::LOG10_E),
        "sin" => simple(f64::sin),
        "cos" => simple(f64::cos),
        "tan" => simple(f64::tan),
        "asin" => simple(f64::asin),
        "acos" => simple(f64::acos),
        "atan" => simple(f64::atan),
        "sinh" => simple(f64::sinh),
        "cosh" => simple(f64::cosh),
        "tanh" => simple(f64::tanh),
        "asinh" => simple(f64::asinh),
        "acosh" => simple(f64::acosh),
        "atanh" => simple(f64::atanh),
        "rad" => simple(|v| v * std::f64::consts::PI / 180.0),
        "deg" => simple(|v| v * 180.0 / std::f64::consts::PI),
        "sgn" => simple(|v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        }),
        "round" => {
            let v = vector(0)?;
            let to = if args.len() >= 2 { scalar(1)? } else { 1.0 };
            let inv = 1.0 / to;
            // Halves round up, as Go's floor(x*inv + 0.5) / inv.
            dedup_checked(
                v.into_iter()
                    .map(|s| Smp { labels: drop_name(&s.labels), v: (s.v * inv + 0.5).floor() / inv, t: s.t })
                    .collect(),
            )
        }
        "clamp" => {
            let v = vector(0)?;
            let (lo, hi) = (scalar(1)?, scalar(2)?);
            if hi < lo {
                return Ok(Val::Vector(Vec::new()));
            }
            dedup_checked(
                v.into_iter()
                    .map(|s| Smp { labels: drop_name(&s.labels), v: go_max(lo, go_min(hi, s.v)), t: s.t })
                    .collect(),
            )
        }
        "clamp_max" => {
            let v = vector(0)?;
            let hi = scalar(1)?;
            dedup_checked(
                v.into_iter().map(|s| Smp { labels: drop_name(&s.labels), v: go_min(hi, s.v), t: s.t }).collect(),
            )
        }
        "clamp_min" => {
            let v = vector(0)?;
            let lo = scalar(1)?;
            dedup_checked(
                v.into_iter().map(|s| Smp { labels: drop_name(&s.labels), v: go_max(lo, s.v), t: s.t }).collect(),
            )
        }
        "sort" | "sort_desc" => {
            let mut v = vector(0)?;
            if name == "sort" {
                insertion_sort_by(&mut v, |a, b| b.v.is_nan() || b.v > a.v);
            } else {
                insertion_sort_by(&mut v, |a, b| b.v.is_nan() || b.v < a.v);
            }
            Ok(Val::Vector(v))
        }
        "absent" => {
            let v = vector(0)?;
            if !v.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            Ok(Val::Vector(vec![Smp { labels: absent_labels(args[0]), v: 1.0, t }]))
        }
        "label_replace" => {
            let v = vector(0)?;
            let dst = string_arg(args[1])?;
            let repl = string_arg(args[2])?;
            let src = string_arg(args[3])?;
            let re_s = string_arg(args[4])?;
            let re = regex::Regex::new(&format!("^(?:{re_s})$"))
                .map_err(|_| EvalError::new(format!("invalid regular expression in label_replace(): {re_s}")))?;
            if !valid_label_name(&dst) {
                return Err(EvalError::new(format!("invalid destination label name in label_replace(): {dst}")));
            }
            let mut out = Vec::with_capacity(v.len());
            for s in v {
                let sv = s.labels.get(&src).unwrap_or("");
                let labels = match re.captures(sv) {
                    None => s.labels.clone(),
                    Some(caps) => {
                        let mut res = String::new();
                        caps.expand(&repl, &mut res);
                        s.labels.with(&dst, &res)
                    }
                };
                out.push(Smp { labels, v: s.v, t: s.t });
            }
            dedup_checked(out)
        }
        "label_join" => {
            let v = vector(0)?;
            let dst = string_arg(args[1])?;
            let sep = string_arg(args[2])?;
            let mut srcs = Vec::new();
            for a in &args[3..] {
                let s = string_arg(a)?;
                if !valid_label_name(&s) {
                    return Err(EvalError::new(format!("invalid source label name in label_join(): {s}")));
                }
                srcs.push(s);
            }
            if !valid_label_name(&dst) {
                return Err(EvalError::new(format!("invalid destination label name in label_join(): {dst}")));
            }
            let mut out = Vec::with_capacity(v.len());
            for s in v {
                let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                let labels = s.labels.with(&dst, &joined.join(&sep));
                out.push(Smp { labels, v: s.v, t: s.t });
            }
            dedup_checked(out)
        }
        "histogram_quantile" => {
            let q = scalar(0)?;
            let v = vector(1)?;
            histogram_quantile(q, v)
        }
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute" | "month" | "year" => {
            let f = |secs: i64| -> f64 {
                let d = Utc.timestamp_opt(secs, 0).single().unwrap_or_else(|| Utc.timestamp_opt(0, 0).unwrap());
                match name {
                    "days_in_month" => {
                        let (y, m) = (d.year(), d.month());
                        let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                        let first_next = chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1);
                        let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
                        match (first, first_next) {
                            (Some(a), Some(b)) => (b - a).num_days() as f64,
                            _ => f64::NAN,
                        }
                    }
                    "day_of_month" => d.day() as f64,
                    "day_of_week" => d.weekday().num_days_from_sunday() as f64,
                    "day_of_year" => d.ordinal() as f64,
                    "hour" => d.hour() as f64,
                    "minute" => d.minute() as f64,
                    "month" => d.month() as f64,
                    _ => d.year() as f64,
                }
            };
            if args.is_empty() {
                return Ok(Val::Vector(vec![Smp { labels: Labels::empty(), v: f(t / 1000), t }]));
            }
            let v = vector(0)?;
            dedup_checked(
                v.into_iter().map(|s| Smp { labels: drop_name(&s.labels), v: f(go_f64_to_i64(s.v)), t: s.t }).collect(),
            )
        }
        other => Err(EvalError::unsupported(&format!("function {other}()"))),
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

/// Go's float→int64 conversion on amd64 gives i64::MIN for NaN and out-of-range values.
fn go_f64_to_i64(v: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if v.is_nan() || !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
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

fn dedup_checked(v: Vec<Smp>) -> Result<Val, EvalError> {
    if v.len() > 1 {
        let mut seen = FxSet::with_capacity_and_hasher(v.len(), Default::default());
        if v.iter().any(|s| !seen.insert(&s.labels)) {
            return Err(EvalError::new("vector cannot contain metrics with the same labelset"));
        }
    }
    Ok(Val::Vector(v))
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

fn range_function(ev: &Ev, name: &str, args: &[&Expr], mi: usize, t: i64) -> Result<Val, EvalError> {
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
        each_window(ev, args[mi], t, |_, _, _, _| {
            any = true;
            Ok(())
        })?;
        if any {
            return Ok(Val::Vector(Vec::new()));
        }
        return Ok(Val::Vector(vec![Smp { labels: absent_labels(args[mi]), v: 1.0, t }]));
    }
    let mut out = Vec::new();
    each_window(ev, args[mi], t, |w, labels, unnamed, pts| {
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
        "rate" => extrapolated_rate(pts, w, true, true),
        "increase" => extrapolated_rate(pts, w, true, false),
        "delta" => extrapolated_rate(pts, w, false, false),
        "irate" => instant_value(pts, true),
        "idelta" => instant_value(pts, false),
        "deriv" => {
            if pts.len() < 2 {
                None
            } else {
                Some(linear_regression(pts, pts[0].t).0)
            }
        }
        "predict_linear" => {
            if pts.len() < 2 {
                None
            } else {
                let (slope, intercept) = linear_regression(pts, t);
                Some(slope * scalars[0] + intercept)
            }
        }
        "holt_winters" | "double_exponential_smoothing" => holt_winters(pts, scalars[0], scalars[1]),
        "changes" => {
            let mut n = 0;
            for p in pts.windows(2) {
                let (prev, cur) = (p[0].v, p[1].v);
                if cur != prev && !(cur.is_nan() && prev.is_nan()) {
                    n += 1;
                }
            }
            Some(n as f64)
        }
        "resets" => Some(pts.windows(2).filter(|p| p[1].v < p[0].v).count() as f64),
        "avg_over_time" => Some(avg_over_time(pts)),
        "count_over_time" => Some(pts.len() as f64),
        "last_over_time" => Some(pts[pts.len() - 1].v),
        "present_over_time" => Some(1.0),
        "max_over_time" => {
            let mut m = pts[0].v;
            for p in pts {
                if p.v > m || m.is_nan() {
                    m = p.v;
                }
            }
            Some(m)
        }
        "min_over_time" => {
            let mut m = pts[0].v;
            for p in pts {
                if p.v < m || m.is_nan() {
                    m = p.v;
                }
            }
            Some(m)
        }
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for p in pts {
                (sum, c) = kahan_inc(p.v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        "quantile_over_time" => {
            let mut vals: Vec<f64> = pts.iter().map(|p| p.v).collect();
            Some(quantile(scalars[0], &mut vals))
        }
        "stddev_over_time" => Some(stdvar_over_time(pts).sqrt()),
        "stdvar_over_time" => Some(stdvar_over_time(pts)),
        other => return Err(EvalError::unsupported(&format!("function {other}()"))),
    })
}

fn kahan_inc(inc: f64, sum: f64, mut c: f64) -> (f64, f64) {
    let t = sum + inc;
    if sum.abs() >= inc.abs() {
        c += (sum - t) + inc;
    } else {
        c += (inc - t) + sum;
    }
    (t, c)
}

fn avg_over_time(pts: &[Sample]) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
    for p in pts {
        count += 1.0;
        if mean.is_infinite() {
            if p.v.is_infinite() && (mean > 0.0) == (p.v > 0.0) {
                continue;
            }
            if !p.v.is_infinite() && !p.v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_inc(p.v / count - mean / count, mean, c);
    }
    if mean.is_infinite() {
        mean
    } else {
        mean + c
    }
}

fn stdvar_over_time(pts: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for p in pts {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// rate/increase/delta with Prometheus's extrapolation, operation for operation.
fn extrapolated_rate(pts: &[Sample], w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let first = pts[0];
    let last = pts[pts.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        let mut prev = first.v;
        for p in &pts[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut duration_to_start = first.t.saturating_sub(w.range_start) as f64 / 1000.0;
    let duration_to_end = w.range_end.saturating_sub(last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let avg_between = sampled_interval / (pts.len() - 1) as f64;
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let duration_to_zero = sampled_interval * (first.v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = avg_between * 1.1;
    let mut extrapolate_to = sampled_interval;
    if duration_to_start < threshold {
        extrapolate_to += duration_to_start;
    } else {
        extrapolate_to += avg_between / 2.0;
    }
    if duration_to_end < threshold {
        extrapolate_to += duration_to_end;
    } else {
        extrapolate_to += avg_between / 2.0;
    }
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= w.range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

fn instant_value(pts: &[Sample], is_rate: bool) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let last = pts[pts.len() - 1];
    let prev = pts[pts.len() - 2];
    let mut v = if is_rate && last.v < prev.v { last.v } else { last.v - prev.v };
    let dt = last.t - prev.t;
    if dt == 0 {
        return None;
    }
    if is_rate {
        v /= dt as f64 / 1000.0;
    }
    Some(v)
}

fn linear_regression(pts: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0f64, 0.0, 0.0, 0.0);
    let init_y = pts[0].v;
    let mut const_y = true;
    for (i, p) in pts.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(p.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * p.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

fn holt_winters(pts: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    let l = pts.len();
    if l < 2 {
        return None;
    }
    let mut s0;
    let mut s1 = pts[0].v;
    let mut b = pts[1].v - pts[0].v;
    s0 = 0.0;
    for (i, p) in pts.iter().enumerate().skip(1) {
        let x = sf * p.v;
        // calcTrendValue(i-1, ...)
        b = if i - 1 == 0 { b } else { tf * (s1 - s0) + (1.0 - tf) * b };
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

/// Prometheus's `quantile` (aggregation and quantile_over_time): linear interpolation.
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as in Go's vectorByValueHeap.
    insertion_sort_or_sort(vals);
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    vals[lower as usize] * (1.0 - weight) + vals[upper as usize] * weight
}

fn insertion_sort_or_sort(vals: &mut [f64]) {
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
}

fn histogram_quantile(q: f64, v: Vec<Smp>) -> Result<Val, EvalError> {
    // Group buckets by their labels without `le` (and without the name).
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    let mut index: FxMap<Labels, usize> = FxMap::default();
    for s in v {
        let Some(le) = s.labels.get("le") else { continue };
        let Ok(ub) = le.trim().parse::<f64>() else { continue };
        // Grouped with the name (two histograms never merge), reported without it.
        let key = s.labels.filter(|k| k != "le");
        let gi = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((drop_name(&key), Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push((ub, s.v));
    }
    let mut out = Vec::with_capacity(groups.len());
    for (labels, mut buckets) in groups {
        out.push(Smp { labels, v: bucket_quantile(q, &mut buckets), t: 0 });
    }
    dedup_checked(out)
}

fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().map(|b| b.0) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal upper bounds.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    // Force monotonic counts.
    let mut max = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let n = merged.len() - 1;
    let b = merged[..n].partition_point(|x| x.1 < rank);
    if b == n {
        return merged[n - 1].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let mut bucket_start = 0.0;
    let bucket_end = merged[b].0;
    let mut count = merged[b].1;
    if b > 0 {
        bucket_start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}
