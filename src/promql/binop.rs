//! Binary operators (Prometheus 2.42's `VectorBinop`, `VectorscalarBinop` and set operators):
//! arithmetic and comparisons between scalars and vectors, vector matching (`on`/`ignoring`,
//! `group_left`/`group_right`) and `and`/`or`/`unless`.
//!
//! Works on operands already evaluated, so it knows nothing of the evaluator.

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::fxhash::{FxMap, FxSet};
use super::gomath::go_pow;
use super::value::{drop_name, dup_error, has_duplicates, Smp, Val};
use super::EvalError;
use crate::tsdb::Labels;

/// `lhs op rhs` for the operator of `b`, both sides evaluated at the same step.
pub(crate) fn binary(b: &BinaryExpr, lhs: Val, rhs: Val) -> Result<Val, EvalError> {
    let op = b.op.to_string().to_lowercase();
    let return_bool = b.return_bool();
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => {
            let (v, keep) = elem_binop(&op, l, r)?;
            if is_comparison(&op) {
                // The parser only allows scalar comparisons with `bool`.
                return Ok(Val::Scalar(if keep { 1.0 } else { 0.0 }));
            }
            Ok(Val::Scalar(v))
        }
        (Val::Vector(l), Val::Scalar(r)) => Ok(Val::Vector(vector_scalar(&op, l, r, false, return_bool)?)),
        (Val::Scalar(l), Val::Vector(r)) => Ok(Val::Vector(vector_scalar(&op, r, l, true, return_bool)?)),
        (Val::Vector(l), Val::Vector(r)) => {
            let out = match op.as_str() {
                "and" | "or" | "unless" => set_op(&op, b, l, r),
                _ => vector_binop(&op, b, l, r, return_bool)?,
            };
            if !matches!(op.as_str(), "and" | "or" | "unless") && has_duplicates(&out) {
                return Err(dup_error());
            }
            Ok(Val::Vector(out))
        }
        (l, r) => {
            Err(EvalError::new(format!("binary operator {op:?} is not defined between {} and {}", l.kind(), r.kind())))
        }
    }
}

pub(crate) fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

fn drops_name(op: &str) -> bool {
    // Prometheus 2.42 keeps the name for atan2.
    matches!(op, "+" | "-" | "*" | "/" | "^" | "%")
}

/// Go's `vectorElemBinop`: the value and, for comparisons, whether the sample is kept.
pub(crate) fn elem_binop(op: &str, l: f64, r: f64) -> Result<(f64, bool), EvalError> {
    Ok(match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "^" => (go_pow(l, r), true),
        "%" => (l % r, true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        "atan2" => (l.atan2(r), true),
        _ => return Err(EvalError::unsupported(&format!("binary operator {op:?}"))),
    })
}

fn vector_scalar(op: &str, vec: Vec<Smp>, s: f64, swap: bool, return_bool: bool) -> Result<Vec<Smp>, EvalError> {
    let mut out = Vec::with_capacity(vec.len());
    let cmp = is_comparison(op);
    for mut x in vec {
        let (l, r) = if swap { (s, x.v) } else { (x.v, s) };
        let (mut v, mut keep) = elem_binop(op, l, r)?;
        if cmp && swap {
            v = r;
        }
        if return_bool {
            v = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            x.v = v;
            if drops_name(op) || return_bool {
                x.labels = drop_name(&x.labels);
            }
            out.push(x);
        }
    }
    Ok(out)
}

/// The matching signature: `on` labels, or all but the `ignoring` labels and the name.
fn signature(l: &Labels, on: bool, names: &[String]) -> String {
    let mut s = String::new();
    for (k, v) in l.iter() {
        let take = if on { names.iter().any(|n| n == k) } else { k != "__name__" && !names.iter().any(|n| n == k) };
        if take {
            s.push_str(k);
            s.push('\u{fe}');
            s.push_str(v);
            s.push('\u{ff}');
        }
    }
    s
}

fn matching(b: &BinaryExpr) -> (bool, Vec<String>, VectorMatchCardinality) {
    match &b.modifier {
        None => (false, Vec::new(), VectorMatchCardinality::OneToOne),
        Some(m) => {
            let (on, names) = match &m.matching {
                None => (false, Vec::new()),
                Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
                Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
            };
            (on, names, m.card.clone())
        }
    }
}

fn set_op(op: &str, b: &BinaryExpr, lhs: Vec<Smp>, rhs: Vec<Smp>) -> Vec<Smp> {
    let (on, names, _) = matching(b);
    match op {
        "and" => {
            if lhs.is_empty() || rhs.is_empty() {
                return Vec::new();
            }
            let rs: FxSet<String> = rhs.iter().map(|s| signature(&s.labels, on, &names)).collect();
            lhs.into_iter().filter(|s| rs.contains(&signature(&s.labels, on, &names))).collect()
        }
        "or" => {
            let ls: FxSet<String> = lhs.iter().map(|s| signature(&s.labels, on, &names)).collect();
            let mut out = lhs;
            out.extend(rhs.into_iter().filter(|s| !ls.contains(&signature(&s.labels, on, &names))));
            out
        }
        _ => {
            let rs: FxSet<String> = rhs.iter().map(|s| signature(&s.labels, on, &names)).collect();
            lhs.into_iter().filter(|s| !rs.contains(&signature(&s.labels, on, &names))).collect()
        }
    }
}

fn vector_binop(
    op: &str,
    b: &BinaryExpr,
    mut lhs: Vec<Smp>,
    mut rhs: Vec<Smp>,
    return_bool: bool,
) -> Result<Vec<Smp>, EvalError> {
    let (on, names, card) = matching(b);
    let include: Vec<String> = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
    if matches!(card, VectorMatchCardinality::ManyToMany) {
        return Err(EvalError::new("many-to-many only allowed for set operators"));
    }
    // As Go's VectorBinop: nothing can match, so no matching check runs (a duplicate on the other
    // side is no error while this side is empty).
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    if one_to_many {
        std::mem::swap(&mut lhs, &mut rhs);
    }
    let mut right: FxMap<String, usize> = FxMap::with_capacity_and_hasher(rhs.len(), Default::default());
    for (i, rs) in rhs.iter().enumerate() {
        let sig = signature(&rs.labels, on, &names);
        if let Some(&j) = right.get(&sig) {
            let side = if one_to_many { "left side" } else { "right side" };
            let matched = if on {
                rs.labels.filter(|k| names.iter().any(|n| n == k))
            } else {
                drop_name(&rs.labels).filter(|k| !names.iter().any(|n| n == k))
            };
            return Err(EvalError::new(format!(
                "found duplicate series for the match group {matched} on the {side} of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                rs.labels, rhs[j].labels
            )));
        }
        right.insert(sig, i);
    }
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let mut matched: FxMap<String, FxSet<Labels>> = FxMap::default();
    let mut out = Vec::new();
    for ls in lhs {
        let sig = signature(&ls.labels, on, &names);
        let Some(&ri) = right.get(&sig) else { continue };
        let rs = &rhs[ri];
        let (vl, vr) = if one_to_many { (rs.v, ls.v) } else { (ls.v, rs.v) };
        let (mut v, keep) = elem_binop(op, vl, vr)?;
        if return_bool {
            v = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        // Result labels (Go's resultMetric).
        let mut m = if drops_name(op) { drop_name(&ls.labels) } else { ls.labels.clone() };
        if one_to_one {
            m = if on {
                m.filter(|k| names.iter().any(|n| n == k))
            } else {
                m.filter(|k| !names.iter().any(|n| n == k))
            };
        }
        for ln in &include {
            m = m.with(ln, rs.labels.get(ln).unwrap_or(""));
        }
        if return_bool {
            m = drop_name(&m);
        }
        let entry = matched.entry(sig);
        if one_to_one {
            if let std::collections::hash_map::Entry::Occupied(_) = entry {
                return Err(EvalError::new(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
            entry.or_default();
        } else {
            let set = entry.or_default();
            if !set.insert(m.clone()) {
                return Err(EvalError::new(format!(
                    "multiple matches for matching labels {m}, we found several series with the same labels on the other side"
                )));
            }
        }
        out.push(Smp { labels: m, v, t: ls.t });
    }
    Ok(out)
}
