//! Prometheus's quantile.go: `histogram_quantile` over classic `le` buckets, and the
//! φ-quantile by linear interpolation that the `quantile` aggregation and
//! `quantile_over_time` share.

use crate::promql::fxhash::FxMap;
use crate::promql::value::{dedup_checked, drop_name, Smp, Val};
use crate::promql::EvalError;
use crate::tsdb::Labels;

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

/// `histogram_quantile(q, v)`: each histogram's buckets (grouped by their labels) interpolated.
pub(super) fn histogram_quantile(q: f64, v: Vec<Smp>) -> Result<Val, EvalError> {
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
