//! Writing rule output into the store as Prometheus's rule manager does: labels set or removed
//! (`set_label`), samples appended with the TSDB head's rules (`append`), and staleness markers
//! for series a rule produced at its previous evaluation but not at this one. Shared by
//! recording and alerting rules.

use crate::tsdb::{self, Labels, Storage};
use std::collections::HashSet;

/// Set label `k` to `v` in `pairs`; an empty value removes the label.
pub(super) fn set_label(pairs: &mut Vec<(String, String)>, k: &str, v: &str) {
    pairs.retain(|(a, _)| a != k);
    if !v.is_empty() {
        pairs.push((k.to_string(), v.to_string()));
    }
}

/// Append a rule's samples at `ts`, then mark stale the series of `prev` (the previous
/// evaluation's) that are not among them; `prev` becomes this evaluation's series. Returns the
/// last append error, if any.
pub(super) fn write_output(
    st: &mut Storage,
    vector: Vec<(Labels, f64)>,
    prev: &mut HashSet<Labels>,
    ts: i64,
) -> Option<String> {
    let mut returned = HashSet::with_capacity(vector.len());
    let mut append_err = None;
    for (l, v) in vector {
        match append(st, &l, ts, v) {
            Ok(()) => {
                returned.insert(l);
            }
            Err(e) => append_err = Some(e),
        }
    }
    for old in prev.iter() {
        if !returned.contains(old) {
            // Series no longer produced: mark it stale (errors are expected when another
            // rule produced it at this timestamp, and ignored as Prometheus does).
            let _ = st.append(old, ts, tsdb::stale_nan());
        }
    }
    *prev = returned;
    append_err
}

/// Append like the TSDB head: an identical sample at the same timestamp is accepted silently;
/// a different value at the same timestamp or an older one is an error with Prometheus's words.
fn append(st: &mut Storage, l: &Labels, t: i64, v: f64) -> Result<(), String> {
    let id = st.series_id(l).map_err(|_| "series limit reached".to_string())?;
    if let Some(last) = st.get(id).last() {
        if last.t == t {
            if last.v.to_bits() == v.to_bits() {
                return Ok(());
            }
            return Err("duplicate sample for timestamp".into());
        }
        if last.t > t {
            return Err("out of order sample".into());
        }
    }
    st.append_id(id, t, v).map_err(|_| "out of order sample".to_string())
}
