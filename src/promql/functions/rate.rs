//! The functions that measure change or trend over a window: `rate`, `increase` and `delta`
//! (with Prometheus's extrapolation to the window's edges), `irate` and `idelta` (the last two
//! samples), `deriv` and `predict_linear` (least squares), and `holt_winters`.

use super::{kahan_inc, Window};
use crate::tsdb::Sample;

/// rate/increase/delta with Prometheus's extrapolation, operation for operation.
pub(super) fn extrapolated_rate(pts: &[Sample], w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
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

/// irate/idelta: from the last two samples.
pub(super) fn instant_value(pts: &[Sample], is_rate: bool) -> Option<f64> {
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

/// `deriv`: the per-second slope of the least-squares line.
pub(super) fn deriv(pts: &[Sample]) -> Option<f64> {
    if pts.len() < 2 {
        None
    } else {
        Some(linear_regression(pts, pts[0].t).0)
    }
}

/// `predict_linear`: the least-squares line's value `secs` after `t`.
pub(super) fn predict_linear(pts: &[Sample], t: i64, secs: f64) -> Option<f64> {
    if pts.len() < 2 {
        None
    } else {
        let (slope, intercept) = linear_regression(pts, t);
        Some(slope * secs + intercept)
    }
}

/// Slope and intercept (at `intercept_time`) of the least-squares line through the samples.
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

/// Double exponential smoothing with smoothing factor `sf` and trend factor `tf`.
pub(super) fn holt_winters(pts: &[Sample], sf: f64, tf: f64) -> Option<f64> {
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
