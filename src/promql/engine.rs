//! The evaluator: Prometheus 2.42 semantics, evaluated step by step.
//!
//! Every node is evaluated at one timestamp at a time; a range query (or a subquery) runs the
//! instant evaluation at each step and merges the results by label set, which is what
//! Prometheus's `rangeEval` amounts to. `@` pins a selector or subquery to an absolute time.
//! The one thing a range query shares across its steps is the decoded samples of its window
//! selectors ([`Decoded`]): chunks are decoded once per query, not once per step.
//!
//! This file walks the expression and reads the storage (selectors, windows, subqueries);
//! what each node computes lives beside it: `binop`, `aggregate` and `functions`, which reach
//! back for their arguments only through `functions::Context`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{AggregateExpr, AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};

use super::aggregate::{self, Param};
use super::binop;
use super::functions::{self, Context, Window};
use super::fxhash::FxMap;
use super::value::{drop_name, dup_error, has_duplicates, Smp, Val};
use super::{unwrap_parens, EvalError, RangeSeries, Value, VecSample};
use crate::tsdb::{is_stale, Labels, MatchOp, Matcher, Sample, Series, Storage};

/// Prometheus's default lookback delta.
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;
/// Step of a subquery written without one (`x[5m:]`): Prometheus uses the global evaluation
/// interval, 1m by default (and promqltest fixes it to 1m).
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60 * 1000;

/// Most samples one query reads, as Prometheus's `--query.max-samples` default.
pub const DEFAULT_MAX_SAMPLES: usize = 50_000_000;

/// Evaluates parsed expressions against a [`Storage`], as an instant or a range query.
pub struct Engine {
    pub lookback_ms: i64,
    /// Samples one query may read (selectors and windows, summed over its steps).
    pub max_samples: usize,
}

impl Default for Engine {
    fn default() -> Self {
        Engine { lookback_ms: DEFAULT_LOOKBACK_MS, max_samples: DEFAULT_MAX_SAMPLES }
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
        let ev = Ev {
            st,
            lookback: self.lookback_ms,
            start: t_ms,
            end: t_ms,
            sub_step: subquery_step_ms.max(1),
            read: Default::default(),
            max_samples: self.max_samples,
            decoded: Default::default(),
        };
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
        let ev = Ev {
            st,
            lookback: self.lookback_ms,
            start,
            end,
            sub_step: DEFAULT_SUBQUERY_STEP_MS,
            read: Default::default(),
            max_samples: self.max_samples,
            decoded: Default::default(),
        };
        let mut m = ev.range_eval(expr, start, end, step_ms, true)?;
        // Prometheus returns range results sorted by label set.
        m.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(m)
    }
}

/// One evaluation: the storage and the settings every node of the expression needs.
pub(crate) struct Ev<'a> {
    pub st: &'a Storage,
    pub lookback: i64,
    /// The top-level query's start and end, for `@ start()` / `@ end()`.
    pub start: i64,
    pub end: i64,
    pub sub_step: i64,
    /// Samples read so far, against `max_samples`.
    pub read: std::cell::Cell<usize>,
    pub max_samples: usize,
    /// A range query's windows, decoded once per series and selector for all its steps.
    pub decoded: std::cell::RefCell<Decoded>,
}

/// Most samples a range query keeps decoded (16 bytes each: 32 MiB). Past it, windows are
/// decoded step by step as an instant query's are.
const DECODED_MAX_SAMPLES: usize = 2_000_000;

/// A range query evaluates a window selector (`rate(x[1m])`) at every step; decoding each
/// series' chunks once for the whole query, not once per step, is what keeps a 15-minute panel
/// over 50,000 series within the debounce (at 15 s a chunk spans 30 minutes, so a step would
/// otherwise decode ~60 samples to use 4). Keyed by the selector's node; each series keeps a
/// cursor, since a range query's windows only move forward.
#[derive(Default)]
pub struct Decoded {
    selectors: FxMap<usize, SelectorWindows>,
    samples: usize,
}

/// One selector's decoded series, in the order of its (cached) selection.
struct SelectorWindows {
    ids: std::sync::Arc<Vec<usize>>,
    series: Vec<Option<Cursor>>,
}

/// A series decoded over the query's span, and its last window: `[a, b)`, asked as
/// `[mint, maxt]`.
struct Cursor {
    samples: Box<[Sample]>,
    a: usize,
    b: usize,
    asked: (i64, i64),
}

impl Cursor {
    fn window(&mut self, mint: i64, maxt: i64) -> &[Sample] {
        // Steps move both ends forward; a subquery's steps start over from the beginning.
        if mint < self.asked.0 || maxt < self.asked.1 {
            (self.a, self.b) = (0, 0);
        }
        self.asked = (mint, maxt);
        let s = &self.samples;
        while self.a < s.len() && s[self.a].t < mint {
            self.a += 1;
        }
        self.b = self.b.max(self.a);
        while self.b < s.len() && s[self.b].t <= maxt {
            self.b += 1;
        }
        &s[self.a..self.b]
    }
}

impl Ev<'_> {
    /// Count `n` more samples read; past the limit the query stops with an error that says so.
    fn reading(&self, n: usize) -> Result<(), EvalError> {
        let total = self.read.get() + n;
        self.read.set(total);
        if total > self.max_samples {
            return Err(EvalError::new(format!(
                "query reads more than {} samples (general.query_max_samples): narrow its selectors or its range",
                self.max_samples
            )));
        }
        Ok(())
    }
}

/// Most steps one range evaluation (query or subquery) may take.
const MAX_STEPS: i128 = 1_000_000;

fn dur_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset_ms(o: &Option<Offset>) -> i64 {
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

impl Ev<'_> {
    fn at_time(&self, at: &Option<AtModifier>, t: i64) -> i64 {
        match at {
            None => t,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(st)) => systime_ms(st),
        }
    }

    /// Storage matchers for a selector (the parser already compiled the regexes).
    fn matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, EvalError> {
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
        let ids = self.st.select_ids(&ms);
        self.reading(ids.len())?;
        for &id in ids.iter() {
            let s = self.st.get(id);
            let Some(x) = s.at_or_before(reft) else { continue };
            if x.t < reft - self.lookback || is_stale(x.v) {
                continue;
            }
            out.push(Smp { labels: s.labels.clone(), v: x.v, t: x.t });
        }
        Ok(out)
    }

    /// Calls `f(labels, window)` for each selected series with samples in `[reft-range, reft]`
    /// (stale markers removed); returns the window bounds used.
    fn for_each_window(
        &self,
        vs: &VectorSelector,
        range: i64,
        t: i64,
        mut f: impl FnMut(&Series, &[Sample]) -> Result<(), EvalError>,
    ) -> Result<(i64, i64), EvalError> {
        let ms = Self::matchers(vs)?;
        let off = offset_ms(&vs.offset);
        let maxt = self.at_time(&vs.at, t).saturating_sub(off);
        let mint = maxt.saturating_sub(range);
        // The span every step of this range query reads through this selector.
        let span = (self.end > self.start && vs.at.is_none())
            .then(|| (self.start.saturating_sub(off).saturating_sub(range), self.end.saturating_sub(off)))
            .filter(|&(lo, hi)| lo <= mint && maxt <= hi);
        // One buffer for every series: windows are decoded into it, stale markers dropped.
        let mut buf: Vec<Sample> = Vec::new();
        let key = vs as *const VectorSelector as usize;
        let ids = self.st.select_ids(&ms);
        // Taken out of the cache while `f` runs (nothing re-enters it then), put back after.
        let mut sel = span.map(|_| {
            let cached = self.decoded.borrow_mut().selectors.remove(&key);
            cached
                .filter(|c| std::sync::Arc::ptr_eq(&c.ids, &ids))
                .unwrap_or_else(|| SelectorWindows { ids: ids.clone(), series: (0..ids.len()).map(|_| None).collect() })
        });
        for (i, &id) in ids.iter().enumerate() {
            if let (Some(sel), Some((lo, hi))) = (sel.as_mut(), span) {
                let slot = &mut sel.series[i];
                if slot.is_none() {
                    *slot = self.decode_span(id, lo, hi);
                }
                if let Some(c) = slot {
                    let w = c.window(mint, maxt);
                    self.reading(w.len())?;
                    if !w.is_empty() {
                        f(self.st.get(id), w)?;
                    }
                    continue;
                }
            }
            let s = self.st.get(id);
            buf.clear();
            s.range_into(mint, maxt, &mut buf);
            self.reading(buf.len())?;
            buf.retain(|x| !is_stale(x.v));
            if buf.is_empty() {
                continue;
            }
            f(s, &buf)?;
        }
        if let Some(sel) = sel {
            self.decoded.borrow_mut().selectors.insert(key, sel);
        }
        Ok((mint, maxt))
    }

    /// Series `id` over `[lo, hi]`, stale markers dropped, for a cursor; `None` once the
    /// query's budget of decoded samples is spent.
    fn decode_span(&self, id: usize, lo: i64, hi: i64) -> Option<Cursor> {
        let mut d = self.decoded.borrow_mut();
        if d.samples >= DECODED_MAX_SAMPLES {
            return None;
        }
        let mut v = Vec::new();
        self.st.get(id).range_into(lo, hi, &mut v);
        v.retain(|x| !is_stale(x.v));
        d.samples += v.len();
        Some(Cursor { samples: v.into_boxed_slice(), a: 0, b: 0, asked: (i64::MIN, i64::MIN) })
    }

    /// A subquery at `t`: the inner expression over aligned steps in `[ref-range, ref]`.
    fn subquery(&self, sq: &SubqueryExpr, t: i64) -> Result<(Vec<RangeSeries>, i64, i64), EvalError> {
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
    fn range_eval(
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

    fn eval(&self, e: &Expr, t: i64) -> Result<Val, EvalError> {
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
            Expr::Binary(b) => binop::binary(b, self.eval(&b.lhs, t)?, self.eval(&b.rhs, t)?),
            Expr::Aggregate(a) => self.aggregate(a, t),
            Expr::Call(c) => functions::call(self, c, t),
            Expr::Extension(x) => Err(EvalError::unsupported(&format!("extension expression {}", x.expr.name()))),
        }
    }

    /// Evaluates an aggregation's parameter and operand; [`aggregate::aggregate`] does the rest.
    fn aggregate(&self, a: &AggregateExpr, t: i64) -> Result<Val, EvalError> {
        let param = match &a.param {
            None => Param::None,
            Some(p) => match unwrap_parens(p) {
                Expr::StringLiteral(s) => Param::Str(s.val.clone()),
                other => Param::Num(self.eval_scalar(other, t)?),
            },
        };
        let vec = self.eval_vector(&a.expr, t)?;
        Ok(Val::Vector(aggregate::aggregate(a, param, vec)?))
    }
}

impl Context for Ev<'_> {
    fn eval_scalar(&self, e: &Expr, t: i64) -> Result<f64, EvalError> {
        match self.eval(e, t)? {
            Val::Scalar(v) => Ok(v),
            other => Err(EvalError::new(format!("expected a scalar, got {}", other.kind()))),
        }
    }

    fn eval_vector(&self, e: &Expr, t: i64) -> Result<Vec<Smp>, EvalError> {
        match self.eval(e, t)? {
            Val::Vector(v) => Ok(v),
            other => Err(EvalError::new(format!("expected an instant vector, got {}", other.kind()))),
        }
    }

    fn each_window(
        &self,
        arg: &Expr,
        t: i64,
        mut f: impl FnMut(&Window, &Labels, Option<&Labels>, &[Sample]) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        match unwrap_parens(arg) {
            Expr::MatrixSelector(ms) => {
                let range = dur_ms(&ms.range);
                let maxt = self.at_time(&ms.vs.at, t).saturating_sub(offset_ms(&ms.vs.offset));
                let w = Window { range_start: maxt.saturating_sub(range), range_end: maxt, range_ms: range };
                self.for_each_window(&ms.vs, range, t, |s, pts| f(&w, &s.labels, Some(s.labels_without_name()), pts))?;
                Ok(())
            }
            Expr::Subquery(sq) => {
                let (m, mint, maxt) = self.subquery(sq, t)?;
                let w = Window { range_start: mint, range_end: maxt, range_ms: dur_ms(&sq.range) };
                for RangeSeries { labels, samples } in &m {
                    let pts: Vec<Sample> =
                        samples.iter().filter(|s| s.t >= mint && s.t <= maxt && !is_stale(s.v)).copied().collect();
                    if !pts.is_empty() {
                        f(&w, labels, None, &pts)?;
                    }
                }
                Ok(())
            }
            _ => Err(EvalError::new("expected a range vector argument")),
        }
    }
}
