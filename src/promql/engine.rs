//! The evaluator: Prometheus 2.42 semantics, evaluated step by step.
//!
//! Every node is evaluated at one timestamp at a time; a range query (or a subquery) runs the
//! instant evaluation at each step and merges the results by label set, which is what
//! Prometheus's `rangeEval` amounts to. `@` pins a selector or subquery to an absolute time.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{
    AggregateExpr, AtModifier, BinaryExpr, Call, Expr, LabelModifier, Offset, SubqueryExpr, VectorMatchCardinality,
    VectorSelector,
};

use super::functions;
use super::{EvalError, RangeSeries, Value, VecSample};
use crate::tsdb::{is_stale, Labels, MatchOp, Matcher, Sample, Series, Storage};

/// Prometheus's default lookback delta.
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;
/// Step of a subquery written without one (`x[5m:]`): Prometheus uses the global evaluation
/// interval, 1m by default (and promqltest fixes it to 1m).
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60 * 1000;

pub struct Engine {
    pub lookback_ms: i64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine { lookback_ms: DEFAULT_LOOKBACK_MS }
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Evaluate at one instant. A range-vector expression yields `Value::Matrix`.
    pub fn instant(&self, st: &Storage, expr: &Expr, t_ms: i64) -> Result<Value, EvalError> {
        self.instant_with(st, expr, t_ms, DEFAULT_SUBQUERY_STEP_MS)
    }

    /// As `instant`, with the step used by subqueries that give none (`x[5m:]`).
    pub fn instant_with(
        &self,
        st: &Storage,
        expr: &Expr,
        t_ms: i64,
        subquery_step_ms: i64,
    ) -> Result<Value, EvalError> {
        let ev = Ev { st, lookback: self.lookback_ms, start: t_ms, end: t_ms, sub_step: subquery_step_ms.max(1) };
        Ok(match ev.eval(expr, t_ms)? {
            Val::Scalar(v) => Value::Scalar(v),
            Val::Str(s) => Value::String(s),
            Val::Vector(v) => Value::Vector(v.into_iter().map(|s| VecSample { labels: s.labels, v: s.v }).collect()),
            Val::Matrix(m) => Value::Matrix(m),
        })
    }

    /// Evaluate at every step in `[start, end]`; series are merged by label set. A scalar
    /// expression gives one series with no labels.
    pub fn range(
        &self,
        st: &Storage,
        expr: &Expr,
        start: i64,
        end: i64,
        step_ms: i64,
    ) -> Result<Vec<RangeSeries>, EvalError> {
        if step_ms <= 0 {
            return Err(EvalError::new("range query step must be positive"));
        }
        if end < start {
            return Err(EvalError::new("range query end is before its start"));
        }
        let ev = Ev { st, lookback: self.lookback_ms, start, end, sub_step: DEFAULT_SUBQUERY_STEP_MS };
        ev.range_eval(expr, start, end, step_ms, true)
    }
}

/// A sample of an instant vector during evaluation; `t` is the sample's own timestamp
/// (what `timestamp()` reports).
#[derive(Debug, Clone)]
pub(crate) struct Smp {
    pub labels: Labels,
    pub v: f64,
    pub t: i64,
}

pub(crate) enum Val {
    Scalar(f64),
    Vector(Vec<Smp>),
    Matrix(Vec<RangeSeries>),
    Str(String),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
            Val::Str(_) => "string",
        }
    }
}

pub(crate) struct Ev<'a> {
    pub st: &'a Storage,
    pub lookback: i64,
    /// The top-level query's start and end, for `@ start()` / `@ end()`.
    pub start: i64,
    pub end: i64,
    pub sub_step: i64,
}

/// A fast non-cryptographic hasher (rustc's Fx) for the evaluator's per-step maps: label
/// sets come from our own store, so there is no hash-flooding concern, and SipHash showed up
/// as a fifth of rule-evaluation time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;
pub(crate) type FxSet<K> = std::collections::HashSet<K, FxBuild>;

/// Most steps one range evaluation (query or subquery) may take.
const MAX_STEPS: i128 = 1_000_000;

pub(crate) fn dur_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

fn systime_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// The label set without `__name__`, sharing strings.
pub(crate) fn drop_name(l: &Labels) -> Labels {
    if l.name().is_some() {
        l.without_name()
    } else {
        l.clone()
    }
}

fn has_duplicates(v: &[Smp]) -> bool {
    if v.len() < 2 {
        return false;
    }
    let mut seen = FxSet::with_capacity_and_hasher(v.len(), Default::default());
    v.iter().any(|s| !seen.insert(&s.labels))
}

fn dup_error() -> EvalError {
    EvalError::new("vector cannot contain metrics with the same labelset")
}

impl Ev<'_> {
    pub(crate) fn at_time(&self, at: &Option<AtModifier>, t: i64) -> i64 {
        match at {
            None => t,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(st)) => systime_ms(st),
        }
    }

    /// Storage matchers for a selector (the parser already compiled the regexes).
    pub(crate) fn matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, EvalError> {
        if !vs.matchers.or_matchers.is_empty() {
            return Err(EvalError::unsupported("'or' inside a label matcher set"));
        }
        let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
        if let Some(n) = &vs.name {
            out.push(Matcher::equal("__name__", n));
        }
        for m in &vs.matchers.matchers {
            let op = match &m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(r) => MatchOp::Regex(r.clone()),
                PMatchOp::NotRe(r) => MatchOp::NotRegex(r.clone()),
            };
            out.push(Matcher { name: m.name.clone(), op, value: m.value.clone() });
        }
        // Put the name matcher first so the storage uses its index.
        out.sort_by_key(|m| !(m.name == "__name__" && matches!(m.op, MatchOp::Equal)));
        Ok(out)
    }

    /// Instant vector selector at `t`: the newest sample within the lookback, unless stale.
    fn vector_selector(&self, vs: &VectorSelector, t: i64) -> Result<Vec<Smp>, EvalError> {
        let ms = Self::matchers(vs)?;
        let reft = self.at_time(&vs.at, t).saturating_sub(offset_ms(&vs.offset));
        let mut out = Vec::new();
        for &id in self.st.select_ids(&ms).iter() {
            let s = self.st.get(id);
            let samples = s.samples();
            let i = s.after(reft);
            if i == 0 {
                continue;
            }
            let x = samples[i - 1];
            if x.t < reft - self.lookback || is_stale(x.v) {
                continue;
            }
            out.push(Smp { labels: s.labels.clone(), v: x.v, t: x.t });
        }
        Ok(out)
    }

    /// Calls `f(labels, window)` for each selected series with samples in `[reft-range, reft]`
    /// (stale markers removed); returns the window bounds used.
    pub(crate) fn for_each_window(
        &self,
        vs: &VectorSelector,
        range: i64,
        t: i64,
        mut f: impl FnMut(&Series, &[Sample]) -> Result<(), EvalError>,
    ) -> Result<(i64, i64), EvalError> {
        let ms = Self::matchers(vs)?;
        let maxt = self.at_time(&vs.at, t).saturating_sub(offset_ms(&vs.offset));
        let mint = maxt.saturating_sub(range);
        let mut buf: Vec<Sample> = Vec::new();
        for &id in self.st.select_ids(&ms).iter() {
            let s = self.st.get(id);
            let w = s.range(mint, maxt);
            if w.is_empty() {
                continue;
            }
            if w.iter().any(|x| is_stale(x.v)) {
                buf.clear();
                buf.extend(w.iter().filter(|x| !is_stale(x.v)));
                if buf.is_empty() {
                    continue;
                }
                f(s, &buf)?;
            } else {
                f(s, w)?;
            }
        }
        Ok((mint, maxt))
    }

    /// A subquery at `t`: the inner expression over aligned steps in `[ref-range, ref]`.
    pub(crate) fn subquery(&self, sq: &SubqueryExpr, t: i64) -> Result<(Vec<RangeSeries>, i64, i64), EvalError> {
        let step = sq.step.as_ref().map(dur_ms).unwrap_or(self.sub_step);
        if step <= 0 {
            return Err(EvalError::new("subquery step must be positive"));
        }
        let maxt = self.at_time(&sq.at, t).saturating_sub(offset_ms(&sq.offset));
        let mint = maxt.saturating_sub(dur_ms(&sq.range));
        // First step-aligned timestamp at or after mint (Go's truncating division, then up).
        let mut start = step * (mint / step);
        if start < mint {
            start = start.saturating_add(step);
        }
        let m = self.range_eval(&sq.expr, start, maxt, step, false)?;
        Ok((m, mint, maxt))
    }

    /// Evaluate at each step from `start` to `end` and merge into series.
    pub(crate) fn range_eval(
        &self,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        allow_scalar: bool,
    ) -> Result<Vec<RangeSeries>, EvalError> {
        // Guard against a query that would run for hours (`x[10y:1s]`); Prometheus bounds
        // the same with its sample limit.
        let steps = (end as i128 - start as i128) / step as i128 + 1;
        if steps > MAX_STEPS {
            return Err(EvalError::new(format!(
                "query would evaluate {steps} steps (more than {MAX_STEPS}); use a larger step or a shorter range"
            )));
        }
        let mut out: Vec<RangeSeries> = Vec::new();
        let mut idx: FxMap<Labels, usize> = FxMap::default();
        let mut t = start;
        while t <= end {
            match self.eval(expr, t)? {
                Val::Vector(v) => {
                    for s in v {
                        let i = match idx.get(&s.labels) {
                            Some(&i) => i,
                            None => {
                                idx.insert(s.labels.clone(), out.len());
                                out.push(RangeSeries { labels: s.labels, samples: Vec::new() });
                                out.len() - 1
                            }
                        };
                        out[i].samples.push(Sample { t, v: s.v });
                    }
                }
                Val::Scalar(v) if allow_scalar => {
                    if out.is_empty() {
                        out.push(RangeSeries { labels: Labels::empty(), samples: Vec::new() });
                    }
                    out[0].samples.push(Sample { t, v });
                }
                other => {
                    return Err(EvalError::new(format!(
                        "invalid expression type {:?} for range query, must be scalar or instant vector",
                        other.kind()
                    )))
                }
            }
            match t.checked_add(step) {
                Some(n) => t = n,
                None => break,
            }
        }
        Ok(out)
    }

    pub(crate) fn eval_scalar(&self, e: &Expr, t: i64) -> Result<f64, EvalError> {
        match self.eval(e, t)? {
            Val::Scalar(v) => Ok(v),
            other => Err(EvalError::new(format!("expected a scalar, got {}", other.kind()))),
        }
    }

    pub(crate) fn eval_vector(&self, e: &Expr, t: i64) -> Result<Vec<Smp>, EvalError> {
        match self.eval(e, t)? {
            Val::Vector(v) => Ok(v),
            other => Err(EvalError::new(format!("expected an instant vector, got {}", other.kind()))),
        }
    }

    pub(crate) fn eval(&self, e: &Expr, t: i64) -> Result<Val, EvalError> {
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.vector_selector(vs, t)?)),
            Expr::MatrixSelector(ms) => {
                let mut out = Vec::new();
                self.for_each_window(&ms.vs, dur_ms(&ms.range), t, |s, w| {
                    out.push(RangeSeries { labels: s.labels.clone(), samples: w.to_vec() });
                    Ok(())
                })?;
                Ok(Val::Matrix(out))
            }
            Expr::Subquery(sq) => Ok(Val::Matrix(self.subquery(sq, t)?.0)),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(mut v) => {
                    for s in &mut v {
                        s.labels = drop_name(&s.labels);
                        s.v = -s.v;
                    }
                    if has_duplicates(&v) {
                        return Err(dup_error());
                    }
                    Ok(Val::Vector(v))
                }
                other => Err(EvalError::new(format!("unary minus is not defined on a {}", other.kind()))),
            },
            Expr::Binary(b) => self.binary(b, t),
            Expr::Aggregate(a) => self.aggregate(a, t),
            Expr::Call(c) => self.call(c, t),
            Expr::Extension(x) => Err(EvalError::unsupported(&format!("extension expression {}", x.expr.name()))),
        }
    }

    fn call(&self, c: &Call, t: i64) -> Result<Val, EvalError> {
        let out = functions::call(self, c, t)?;
        Ok(out)
    }

    // ---- binary operators ----

    fn binary(&self, b: &BinaryExpr, t: i64) -> Result<Val, EvalError> {
        let op = b.op.to_string().to_lowercase();
        let return_bool = b.return_bool();
        let lhs = self.eval(&b.lhs, t)?;
        let rhs = self.eval(&b.rhs, t)?;
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
            (l, r) => Err(EvalError::new(format!(
                "binary operator {op:?} is not defined between {} and {}",
                l.kind(),
                r.kind()
            ))),
        }
    }

    // ---- aggregations ----

    fn aggregate(&self, a: &AggregateExpr, t: i64) -> Result<Val, EvalError> {
        let op = a.op.to_string().to_lowercase();
        let (without, grouping): (bool, Vec<&str>) = match &a.modifier {
            None => (false, Vec::new()),
            Some(LabelModifier::Include(l)) => (false, l.labels.iter().map(|s| s.as_str()).collect()),
            Some(LabelModifier::Exclude(l)) => (true, l.labels.iter().map(|s| s.as_str()).collect()),
        };
        let param = match &a.param {
            None => Param::None,
            Some(p) => match unwrap_parens(p) {
                Expr::StringLiteral(s) => Param::Str(s.val.clone()),
                other => Param::Num(self.eval_scalar(other, t)?),
            },
        };
        let vec = self.eval_vector(&a.expr, t)?;
        let out = aggregation(&op, &grouping, without, param, vec)?;
        Ok(Val::Vector(out))
    }
}

pub(crate) enum Param {
    None,
    Num(f64),
    Str(String),
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

/// Go's math.Pow agrees with C pow except that it has no special case making
/// pow(-1, ±Inf) = 1; Go returns 1 there too, so powf matches.
fn go_pow(l: f64, r: f64) -> f64 {
    l.powf(r)
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

// ---- aggregation ----

struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: u64,
    heap: Vec<Smp>,
}

/// Go's container/heap over samples, with Prometheus's comparison (NaN sorts first).
struct GoHeap {
    items: Vec<Smp>,
    reverse: bool,
}

impl GoHeap {
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.items[i].v, self.items[j].v);
        if a.is_nan() {
            return true;
        }
        if self.reverse {
            a > b
        } else {
            a < b
        }
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

pub(crate) fn go_float_str(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

pub(crate) fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
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

fn aggregation(op: &str, grouping: &[&str], without: bool, param: Param, vec: Vec<Smp>) -> Result<Vec<Smp>, EvalError> {
    let mut k: i64 = 0;
    let mut q = 0.0;
    let mut value_label = String::new();
    let mut grouping: Vec<&str> = grouping.to_vec();
    match op {
        "topk" | "bottomk" => {
            let Param::Num(f) = param else { return Err(EvalError::new(format!("{op} needs a numeric parameter"))) };
            if !(f.is_finite() && f >= i64::MIN as f64 && f <= i64::MAX as f64) {
                return Err(EvalError::new(format!("Scalar value {} overflows int64", go_float_str(f))));
            }
            k = f as i64;
            if k < 1 {
                return Ok(Vec::new());
            }
        }
        "quantile" => {
            let Param::Num(f) = param else { return Err(EvalError::new("quantile needs a numeric parameter")) };
            q = f;
        }
        "count_values" => {
            let Param::Str(s) = param else { return Err(EvalError::new("count_values needs a string parameter")) };
            if !valid_label_name(&s) {
                return Err(EvalError::new(format!("invalid label name {s:?}")));
            }
            value_label = s;
        }
        "sum" | "avg" | "min" | "max" | "count" | "stddev" | "stdvar" | "group" => {}
        other => return Err(EvalError::unsupported(&format!("aggregation {other}"))),
    }
    let vl = value_label.clone();
    if op == "count_values" && !without {
        grouping.push(vl.as_str());
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
        let gi = match index.get(&key) {
            Some(&gi) => gi,
            None => {
                let labels = group_labels(metric, &grouping, without);
                let mut g = Group { labels, value: s.v, mean: s.v, count: 1, heap: Vec::new() };
                match op {
                    "stddev" | "stdvar" => g.value = 0.0,
                    "topk" | "bottomk" | "quantile" => g.heap.push(Smp { labels: s.labels.clone(), v: s.v, t: 0 }),
                    "group" => g.value = 1.0,
                    _ => {}
                }
                index.insert(key, groups.len());
                groups.push(g);
                continue;
            }
        };
        let g = &mut groups[gi];
        match op {
            "sum" => g.value += s.v,
            "avg" => {
                g.count += 1;
                if g.mean.is_infinite() {
                    if s.v.is_infinite() && (g.mean > 0.0) == (s.v > 0.0) {
                        continue;
                    }
                    if !s.v.is_infinite() && !s.v.is_nan() {
                        continue;
                    }
                }
                let n = g.count as f64;
                g.mean += s.v / n - g.mean / n;
            }
            "group" => {}
            "max" if g.value < s.v || g.value.is_nan() => g.value = s.v,
            "min" if g.value > s.v || g.value.is_nan() => g.value = s.v,
            "count" | "count_values" => g.count += 1,
            "stddev" | "stdvar" => {
                g.count += 1;
                let delta = s.v - g.mean;
                g.mean += delta / g.count as f64;
                g.value += delta * (s.v - g.mean);
            }
            "topk" | "bottomk" => {
                let reverse = op == "bottomk";
                let mut h = GoHeap { items: std::mem::take(&mut g.heap), reverse };
                let top = h.items[0].v;
                let better = if reverse { top > s.v } else { top < s.v };
                if (h.items.len() as i64) < k || better || top.is_nan() {
                    let smp = Smp { labels: s.labels.clone(), v: s.v, t: 0 };
                    if h.items.len() as i64 == k {
                        if k == 1 {
                            h.items[0] = smp;
                            g.heap = h.items;
                            continue;
                        }
                        h.pop();
                    }
                    h.push(smp);
                }
                g.heap = h.items;
            }
            "quantile" => g.heap.push(Smp { labels: s.labels.clone(), v: s.v, t: 0 }),
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let v = match op {
            "avg" => g.mean,
            "count" | "count_values" => g.count as f64,
            "stdvar" => g.value / g.count as f64,
            "stddev" => (g.value / g.count as f64).sqrt(),
            "topk" | "bottomk" => {
                let reverse = op == "bottomk";
                // sort.Sort(sort.Reverse(heap)): order by the heap's Less, reversed.
                let h = GoHeap { items: Vec::new(), reverse };
                let mut items = std::mem::take(&mut g.heap);
                if items.len() > 1 {
                    insertion_sort_by(&mut items, |a, b| h.less_vals(b.v, a.v));
                }
                out.extend(items);
                continue;
            }
            "quantile" => {
                let mut vals: Vec<f64> = g.heap.iter().map(|s| s.v).collect();
                functions::quantile(q, &mut vals)
            }
            _ => g.value,
        };
        out.push(Smp { labels: g.labels, v, t: 0 });
    }
    Ok(out)
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
