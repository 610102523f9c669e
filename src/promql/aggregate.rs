//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`, `stdvar`,
//! `topk`, `bottomk`, `quantile`, `count_values`) with Prometheus 2.42's `aggregation`: the
//! same running formulas and, for topk/bottomk, the same heap, so ties and NaNs come out in
//! the same order.
//!
//! Works on the operand and parameter already evaluated, so it knows nothing of the evaluator.

use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::functions::quantile::quantile;
use super::functions::sort::insertion_sort_by;
use super::fxhash::{FxHasher, FxMap};
use super::value::{go_float_str, valid_label_name, Smp};
use super::EvalError;
use crate::tsdb::Labels;

/// An aggregation's parameter, evaluated: topk's k, quantile's φ, count_values' label name.
pub(crate) enum Param {
    None,
    Num(f64),
    Str(String),
}

/// `op(param, vec)` grouped as `a`'s `by`/`without` says.
pub(crate) fn aggregate(a: &AggregateExpr, param: Param, vec: Vec<Smp>) -> Result<Vec<Smp>, EvalError> {
    let op = a.op.to_string().to_lowercase();
    let (without, grouping): (bool, Vec<&str>) = match &a.modifier {
        None => (false, Vec::new()),
        Some(LabelModifier::Include(l)) => (false, l.labels.iter().map(|s| s.as_str()).collect()),
        Some(LabelModifier::Exclude(l)) => (true, l.labels.iter().map(|s| s.as_str()).collect()),
    };
    aggregation(&op, &grouping, without, param, vec)
}

/// The parameter checked for the operator.
struct Args {
    k: i64,
    q: f64,
    value_label: String,
}

/// `None` when the result is empty whatever the input (topk/bottomk with k < 1).
fn args(op: &str, param: Param) -> Result<Option<Args>, EvalError> {
    let mut a = Args { k: 0, q: 0.0, value_label: String::new() };
    match op {
        "topk" | "bottomk" => {
            let Param::Num(f) = param else { return Err(EvalError::new(format!("{op} needs a numeric parameter"))) };
            if !(f.is_finite() && f >= i64::MIN as f64 && f <= i64::MAX as f64) {
                return Err(EvalError::new(format!("Scalar value {} overflows int64", go_float_str(f))));
            }
            a.k = f as i64;
            if a.k < 1 {
                return Ok(None);
            }
        }
        "quantile" => {
            let Param::Num(f) = param else { return Err(EvalError::new("quantile needs a numeric parameter")) };
            a.q = f;
        }
        "count_values" => {
            let Param::Str(s) = param else { return Err(EvalError::new("count_values needs a string parameter")) };
            if !valid_label_name(&s) {
                return Err(EvalError::new(format!("invalid label name {s:?}")));
            }
            a.value_label = s;
        }
        "sum" | "avg" | "min" | "max" | "count" | "stddev" | "stdvar" | "group" => {}
        other => return Err(EvalError::unsupported(&format!("aggregation {other}"))),
    }
    Ok(Some(a))
}

fn aggregation(op: &str, grouping: &[&str], without: bool, param: Param, vec: Vec<Smp>) -> Result<Vec<Smp>, EvalError> {
    let Some(Args { k, q, value_label }) = args(op, param)? else { return Ok(Vec::new()) };
    let mut grouping: Vec<&str> = grouping.to_vec();
    if op == "count_values" && !without {
        grouping.push(value_label.as_str());
    }
    let mut groups: Vec<Group> = Vec::new();
    // Groups by a hash of the grouping labels, as Prometheus does; the label set is built only
    // for a new group.
    let mut index: FxMap<u64, usize> = FxMap::default();
    for s in vec {
        let counted;
        let metric = if op == "count_values" {
            counted = s.labels.with(&value_label, &go_float_str(s.v));
            &counted
        } else {
            &s.labels
        };
        let key = group_hash(metric, &grouping, without);
        match index.get(&key) {
            Some(&gi) => groups[gi].add(op, k, &s),
            None => {
                let labels = group_labels(metric, &grouping, without);
                index.insert(key, groups.len());
                groups.push(Group::new(op, labels, &s));
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        g.finish(op, q, &mut out);
    }
    Ok(out)
}

fn group_hash(metric: &Labels, grouping: &[&str], without: bool) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = FxHasher::default();
    for (k, v) in metric.iter() {
        let take = if without { k != "__name__" && !grouping.contains(&k) } else { grouping.contains(&k) };
        if take {
            k.hash(&mut h);
            v.hash(&mut h);
        }
    }
    h.finish()
}

fn group_labels(metric: &Labels, grouping: &[&str], without: bool) -> Labels {
    if without {
        metric.filter(|k| k != "__name__" && !grouping.contains(&k))
    } else if grouping.is_empty() {
        Labels::empty()
    } else {
        metric.keep(grouping)
    }
}

/// One output group's running state (Go's `groupedAggregation`).
struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: u64,
    heap: Vec<Smp>,
}

impl Group {
    /// A group started by its first sample.
    fn new(op: &str, labels: Labels, s: &Smp) -> Group {
        let mut g = Group { labels, value: s.v, mean: s.v, count: 1, heap: Vec::new() };
        match op {
            "stddev" | "stdvar" => g.value = 0.0,
            "topk" | "bottomk" | "quantile" => g.heap.push(Smp { labels: s.labels.clone(), v: s.v, t: 0 }),
            "group" => g.value = 1.0,
            _ => {}
        }
        g
    }

    /// Folds in a further sample.
    fn add(&mut self, op: &str, k: i64, s: &Smp) {
        match op {
            "sum" => self.value += s.v,
            "avg" => {
                self.count += 1;
                if self.mean.is_infinite() {
                    if s.v.is_infinite() && (self.mean > 0.0) == (s.v > 0.0) {
                        return;
                    }
                    if !s.v.is_infinite() && !s.v.is_nan() {
                        return;
                    }
                }
                let n = self.count as f64;
                self.mean += s.v / n - self.mean / n;
            }
            "group" => {}
            "max" if self.value < s.v || self.value.is_nan() => self.value = s.v,
            "min" if self.value > s.v || self.value.is_nan() => self.value = s.v,
            "count" | "count_values" => self.count += 1,
            "stddev" | "stdvar" => {
                self.count += 1;
                let delta = s.v - self.mean;
                self.mean += delta / self.count as f64;
                self.value += delta * (s.v - self.mean);
            }
            "topk" | "bottomk" => {
                let reverse = op == "bottomk";
                let mut h = GoHeap { items: std::mem::take(&mut self.heap), reverse };
                let top = h.items[0].v;
                let better = if reverse { top > s.v } else { top < s.v };
                if (h.items.len() as i64) < k || better || top.is_nan() {
                    let smp = Smp { labels: s.labels.clone(), v: s.v, t: 0 };
                    if h.items.len() as i64 == k {
                        if k == 1 {
                            h.items[0] = smp;
                            self.heap = h.items;
                            return;
                        }
                        h.pop();
                    }
                    h.push(smp);
                }
                self.heap = h.items;
            }
            "quantile" => self.heap.push(Smp { labels: s.labels.clone(), v: s.v, t: 0 }),
            _ => {}
        }
    }

    /// The group's result: one sample, or k of them for topk/bottomk.
    fn finish(mut self, op: &str, q: f64, out: &mut Vec<Smp>) {
        let v = match op {
            "avg" => self.mean,
            "count" | "count_values" => self.count as f64,
            "stdvar" => self.value / self.count as f64,
            "stddev" => (self.value / self.count as f64).sqrt(),
            "topk" | "bottomk" => {
                let reverse = op == "bottomk";
                // sort.Sort(sort.Reverse(heap)): order by the heap's Less, reversed.
                let h = GoHeap { items: Vec::new(), reverse };
                let mut items = std::mem::take(&mut self.heap);
                if items.len() > 1 {
                    insertion_sort_by(&mut items, |a, b| h.less_vals(b.v, a.v));
                }
                out.extend(items);
                return;
            }
            "quantile" => {
                let mut vals: Vec<f64> = self.heap.iter().map(|s| s.v).collect();
                quantile(q, &mut vals)
            }
            _ => self.value,
        };
        out.push(Smp { labels: self.labels, v, t: 0 });
    }
}

/// Go's container/heap over samples, with Prometheus's comparison (NaN sorts first).
struct GoHeap {
    items: Vec<Smp>,
    reverse: bool,
}

impl GoHeap {
    fn less_vals(&self, a: f64, b: f64) -> bool {
        if a.is_nan() {
            return true;
        }
        if self.reverse {
            a > b
        } else {
            a < b
        }
    }
    fn less(&self, i: usize, j: usize) -> bool {
        self.less_vals(self.items[i].v, self.items[j].v)
    }
    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if i == j || !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }
    fn down(&mut self, i0: usize, n: usize) {
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && self.less(j2, j1) {
                j = j2;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
    }
    fn push(&mut self, s: Smp) {
        self.items.push(s);
        let n = self.items.len() - 1;
        self.up(n);
    }
    fn pop(&mut self) {
        let n = self.items.len() - 1;
        self.items.swap(0, n);
        self.down(0, n);
        self.items.pop();
    }
}
