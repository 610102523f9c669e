//! The `*_over_time` aggregations of one series' window, and `changes` and `resets`.

use super::kahan_inc;
use crate::tsdb::Sample;

pub(super) fn avg_over_time(pts: &[Sample]) -> f64 {
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

pub(super) fn stdvar_over_time(pts: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for p in pts {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

pub(super) fn max_over_time(pts: &[Sample]) -> f64 {
    let mut m = pts[0].v;
    for p in pts {
        if p.v > m || m.is_nan() {
            m = p.v;
        }
    }
    m
}

pub(super) fn min_over_time(pts: &[Sample]) -> f64 {
    let mut m = pts[0].v;
    for p in pts {
        if p.v < m || m.is_nan() {
            m = p.v;
        }
    }
    m
}

pub(super) fn sum_over_time(pts: &[Sample]) -> f64 {
    let (mut sum, mut c) = (0.0, 0.0);
    for p in pts {
        (sum, c) = kahan_inc(p.v, sum, c);
    }
    if sum.is_infinite() {
        sum
    } else {
        sum + c
    }
}

/// How often the value changed (NaN to NaN is no change).
pub(super) fn changes(pts: &[Sample]) -> f64 {
    let mut n = 0;
    for p in pts.windows(2) {
        let (prev, cur) = (p[0].v, p[1].v);
        if cur != prev && !(cur.is_nan() && prev.is_nan()) {
            n += 1;
        }
    }
    n as f64
}

/// How often the value went down (a counter reset).
pub(super) fn resets(pts: &[Sample]) -> f64 {
    pts.windows(2).filter(|p| p[1].v < p[0].v).count() as f64
}
