//! `sort` and `sort_desc`, and the sort they reproduce: Go's `sort.Sort`, which for the small
//! inputs PromQL sorts is an insertion sort: stable, and well-defined with comparisons that are
//! not a total order (NaN). topk/bottomk order their output with it too.

use crate::promql::value::{Smp, Val};
use crate::promql::EvalError;

/// `sort(v)`, or `sort_desc(v)` when `desc`: NaN goes last either way.
pub(super) fn sort(mut v: Vec<Smp>, desc: bool) -> Result<Val, EvalError> {
    if !desc {
        insertion_sort_by(&mut v, |a, b| b.v.is_nan() || b.v > a.v);
    } else {
        insertion_sort_by(&mut v, |a, b| b.v.is_nan() || b.v < a.v);
    }
    Ok(Val::Vector(v))
}

/// A stable sort where `less(a, b)` says a goes before b (what Go's sort does for small inputs).
pub(crate) fn insertion_sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    // Stable, and safe with NaN-aware comparisons that are not a total order.
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertion_sort_is_stable_and_sort_puts_nan_last() {
        let mut v = vec![(2.0, 'a'), (f64::NAN, 'b'), (1.0, 'c'), (2.0, 'd')];
        insertion_sort_by(&mut v, |a, b| b.0.is_nan() || b.0 > a.0);
        assert_eq!(v.iter().map(|x| x.1).collect::<String>(), "cadb");
    }
}
