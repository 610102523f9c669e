//! The in-memory time-series store: bounded by retention (`general.history`) and a series cap.
//! Label sets are interned (one `Arc<str>` per distinct name or value); samples are kept in
//! Gorilla-compressed chunks of 120 (`chunk`: about 1.3–2 bytes a sample instead of 16), the
//! newest one open for appends, whole chunks dropped as they age out.
//!
//! One owner mutates it (the app's engine task, a rule-test runner); queries borrow it.

pub mod chunk;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Prometheus's staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

/// A sorted set of label pairs, `__name__` included. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Arc<[(Arc<str>, Arc<str>)]>);

impl Labels {
    /// Build from pairs in any order; empty values are dropped (Prometheus treats them as absent).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Labels {
        let mut v: Vec<(Arc<str>, Arc<str>)> = pairs
            .into_iter()
            .filter(|(_, v)| !v.as_ref().is_empty())
            .map(|(k, v)| (Arc::from(k.as_ref()), Arc::from(v.as_ref())))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        Labels(v.into())
    }

    pub fn empty() -> Labels {
        Labels::default()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(name)).ok().map(|i| self.0[i].1.as_ref())
    }

    /// The metric name (`__name__`), if any.
    pub fn name(&self) -> Option<&str> {
        self.get("__name__")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Labels {
        Labels::from_pairs(self.iter().filter(|(k, _)| *k != name).chain(std::iter::once((name, value))))
    }

    pub fn without(&self, names: &[&str]) -> Labels {
        Labels(self.0.iter().filter(|(k, _)| !names.contains(&k.as_ref())).cloned().collect::<Vec<_>>().into())
    }

    pub fn without_name(&self) -> Labels {
        self.without(&["__name__"])
    }

    /// Only the labels named in `names` (shares the interned strings).
    pub fn keep(&self, names: &[&str]) -> Labels {
        Labels(self.0.iter().filter(|(k, _)| names.contains(&k.as_ref())).cloned().collect::<Vec<_>>().into())
    }

    /// Labels matching `f` (shares the interned strings).
    pub fn filter(&self, f: impl Fn(&str) -> bool) -> Labels {
        Labels(self.0.iter().filter(|(k, _)| f(k)).cloned().collect::<Vec<_>>().into())
    }
}

impl fmt::Display for Labels {
    /// Prometheus style: `name{a="b", c="d"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.name() {
            f.write_str(n)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for (k, v) in self.iter().filter(|(k, _)| *k != "__name__") {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Clone)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex(regex::Regex),
    NotRegex(regex::Regex),
}

/// A label matcher; regexes are fully anchored as in Prometheus.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher { name: name.into(), op: MatchOp::Equal, value: value.into() }
    }

    pub fn regex(name: &str, re: &str, negate: bool) -> Result<Matcher, regex::Error> {
        let r = regex::Regex::new(&format!("^(?s:{re})$"))?;
        let op = if negate { MatchOp::NotRegex(r) } else { MatchOp::Regex(r) };
        Ok(Matcher { name: name.into(), op, value: re.into() })
    }

    /// A missing label matches as the empty string, as in Prometheus.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let v = value.unwrap_or("");
        match &self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex(r) => r.is_match(v),
            MatchOp::NotRegex(r) => !r.is_match(v),
        }
    }
}

pub struct Series {
    pub labels: Labels,
    /// `labels` without `__name__`, kept because most PromQL functions drop the name.
    unnamed: Labels,
    /// Closed chunks, oldest first; appends out of order are refused.
    closed: std::collections::VecDeque<chunk::Chunk>,
    /// The chunk being appended to.
    head: chunk::Chunk,
}

impl Series {
    fn new(labels: Labels) -> Series {
        let unnamed = labels.without_name();
        Series { labels, unnamed, closed: Default::default(), head: chunk::Chunk::new() }
    }

    /// The label set without `__name__` (shares the interned strings).
    pub fn labels_without_name(&self) -> &Labels {
        &self.unnamed
    }

    fn chunks(&self) -> impl Iterator<Item = &chunk::Chunk> {
        self.closed.iter().chain(std::iter::once(&self.head).filter(|h| !h.is_empty()))
    }

    /// Every sample held, oldest first (decoded: tests and tools, not the query path).
    pub fn samples(&self) -> Vec<Sample> {
        self.chunks().flat_map(|c| c.iter()).collect()
    }

    /// Samples with `mint <= t <= maxt`.
    pub fn range(&self, mint: i64, maxt: i64) -> Vec<Sample> {
        let mut v = Vec::new();
        self.range_into(mint, maxt, &mut v);
        v
    }

    /// Samples with `mint <= t <= maxt`, appended to `out`: only the chunks that overlap the
    /// window are decoded (found by binary search over the closed chunks' times).
    pub fn range_into(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        if maxt < mint {
            return;
        }
        let first = self.closed.partition_point(|c| c.max_t() < mint);
        let closed = self.closed.range(first..);
        for c in closed.chain(std::iter::once(&self.head)) {
            if c.is_empty() || c.min_t() > maxt {
                break;
            }
            if c.min_t() >= mint && c.max_t() <= maxt {
                out.extend(c.iter());
            } else {
                out.extend(c.iter().skip_while(|x| x.t < mint).take_while(|x| x.t <= maxt));
            }
        }
    }

    /// The newest sample at or before `t`.
    pub fn at_or_before(&self, t: i64) -> Option<Sample> {
        if let Some(last) = self.head.last() {
            if last.t <= t {
                return Some(last);
            }
        }
        let c = if !self.head.is_empty() && self.head.min_t() <= t {
            &self.head
        } else {
            let i = self.closed.partition_point(|c| c.min_t() <= t);
            let c = self.closed.get(i.checked_sub(1)?)?;
            if c.max_t() <= t {
                return c.last();
            }
            c
        };
        c.iter().take_while(|x| x.t <= t).last()
    }

    pub fn last(&self) -> Option<Sample> {
        self.head.last().or_else(|| self.closed.back().and_then(|c| c.last()))
    }

    fn push(&mut self, t: i64, v: f64) {
        if self.head.is_full() {
            let mut full = std::mem::take(&mut self.head);
            full.close();
            self.closed.push_back(full);
        }
        self.head.push(t, v);
    }

    fn bytes(&self) -> usize {
        self.chunks().map(|c| c.bytes()).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// The series cap is reached and this is a new series.
    SeriesLimit,
    /// A sample at or before the series' last timestamp (a duplicate or out of order).
    OutOfOrder,
}

#[derive(Debug, Clone, Copy)]
pub struct StorageOptions {
    /// Samples older than `newest - retention_ms` are dropped.
    pub retention_ms: i64,
    pub max_series: usize,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions { retention_ms: 3_600_000, max_series: 200_000 }
    }
}

/// (series count when computed, matching series ids).
type CachedSelection = (usize, Arc<Vec<usize>>);

#[derive(Default)]
pub struct Storage {
    opts: StorageOptions,
    series: Vec<Series>,
    by_labels: HashMap<Labels, usize>,
    /// `__name__` value → series ids, the one index every PromQL selector uses.
    by_name: HashMap<Arc<str>, Vec<usize>>,
    strings: HashSet<Arc<str>>,
    /// Series refused because of `max_series`.
    pub dropped_series: u64,
    samples: usize,
    /// Selector results by matcher set: (series count when computed, matching ids). Series ids
    /// are append-only, so an entry is brought up to date by testing only the newer series;
    /// this keeps regex matching out of the per-step cost of rule evaluation.
    sel_cache: Mutex<HashMap<String, CachedSelection>>,
}

impl Storage {
    pub fn new(opts: StorageOptions) -> Storage {
        Storage { opts, ..Default::default() }
    }

    pub fn options(&self) -> StorageOptions {
        self.opts
    }

    fn intern(&mut self, s: &Arc<str>) -> Arc<str> {
        if let Some(x) = self.strings.get(s) {
            return x.clone();
        }
        self.strings.insert(s.clone());
        s.clone()
    }

    /// The id of the series with these labels, created if needed.
    pub fn series_id(&mut self, labels: &Labels) -> Result<usize, AppendError> {
        if let Some(&id) = self.by_labels.get(labels) {
            return Ok(id);
        }
        if self.series.len() >= self.opts.max_series {
            self.dropped_series += 1;
            return Err(AppendError::SeriesLimit);
        }
        let interned: Vec<(Arc<str>, Arc<str>)> =
            labels.0.iter().map(|(k, v)| (self.intern(k), self.intern(v))).collect();
        let labels = Labels(interned.into());
        let id = self.series.len();
        let name: Arc<str> = labels
            .0
            .iter()
            .find(|(k, _)| k.as_ref() == "__name__")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Arc::from(""));
        self.by_name.entry(name).or_default().push(id);
        self.by_labels.insert(labels.clone(), id);
        self.series.push(Series::new(labels));
        Ok(id)
    }

    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let id = self.series_id(labels)?;
        self.append_id(id, t, v)
    }

    pub fn append_id(&mut self, id: usize, t: i64, v: f64) -> Result<(), AppendError> {
        let s = &mut self.series[id];
        if let Some(last) = s.last() {
            if t <= last.t {
                return Err(AppendError::OutOfOrder);
            }
        }
        s.push(t, v);
        self.samples += 1;
        Ok(())
    }

    /// Series whose labels satisfy every matcher. A `__name__ =` matcher uses the name index.
    pub fn select<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a Series> + 'a {
        let by_name = matchers.iter().find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal));
        let ids: Box<dyn Iterator<Item = usize> + 'a> = match by_name {
            Some(m) => Box::new(self.by_name.get(m.value.as_str()).into_iter().flatten().copied()),
            None => Box::new(0..self.series.len()),
        };
        ids.map(move |i| &self.series[i]).filter(move |s| matchers.iter().all(|m| m.matches(s.labels.get(&m.name))))
    }

    /// Ids of the series matching every matcher, cached per matcher set.
    pub fn select_ids(&self, matchers: &[Matcher]) -> Arc<Vec<usize>> {
        let mut key = String::new();
        for m in matchers {
            let op = match m.op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::Regex(_) => "=~",
                MatchOp::NotRegex(_) => "!~",
            };
            key.push_str(&m.name);
            key.push_str(op);
            key.push_str(&m.value);
            key.push('\u{ff}');
        }
        let n = self.series.len();
        let mut cache = self.sel_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, ids)) = cache.get(&key) {
            if *seen == n {
                return ids.clone();
            }
        }
        let matches = |i: usize| matchers.iter().all(|m| m.matches(self.series[i].labels.get(&m.name)));
        let (seen, mut ids) = match cache.remove(&key) {
            Some((seen, ids)) => (seen, Arc::unwrap_or_clone(ids)),
            None => (0, Vec::new()),
        };
        if seen == 0 {
            let by_name = matchers.iter().find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal));
            match by_name {
                Some(m) => ids
                    .extend(self.by_name.get(m.value.as_str()).into_iter().flatten().copied().filter(|&i| matches(i))),
                None => ids.extend((0..n).filter(|&i| matches(i))),
            }
        } else {
            ids.extend((seen..n).filter(|&i| matches(i)));
        }
        let ids = Arc::new(ids);
        // Bound the cache: ad-hoc queries must not grow it without limit.
        if cache.len() > 4096 {
            cache.clear();
        }
        cache.insert(key, (n, ids.clone()));
        ids
    }

    pub fn series(&self) -> impl Iterator<Item = &Series> {
        self.series.iter()
    }

    pub fn get(&self, id: usize) -> &Series {
        &self.series[id]
    }

    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    pub fn num_samples(&self) -> usize {
        self.samples
    }

    /// Drop the chunks wholly older than `now - retention` (retention by whole chunks, as
    /// Prometheus: a chunk straddling the edge stays until its newest sample is out). Empty
    /// series keep their id (and label set) so scrapers' cached ids stay valid.
    pub fn trim(&mut self, now: i64) {
        let min_t = now - self.opts.retention_ms;
        for s in &mut self.series {
            while s.closed.front().is_some_and(|c| c.max_t() < min_t) {
                let c = s.closed.pop_front().expect("checked");
                self.samples -= c.len();
            }
            if s.closed.is_empty() && !s.head.is_empty() && s.head.max_t() < min_t {
                self.samples -= s.head.len();
                s.head = chunk::Chunk::new();
            }
        }
    }

    /// Bytes held by the encoded samples (chunk buffers, capacity included).
    pub fn sample_bytes(&self) -> usize {
        self.series.iter().map(Series::bytes).sum()
    }

    /// Encoded bytes per sample held (0 when empty).
    pub fn bytes_per_sample(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        self.sample_bytes() as f64 / self.samples as f64
    }

    /// An estimate of what each series costs besides its samples: the series record and its
    /// chunk headers, its label pairs (two `Arc`s each), its index entries, and its share of the
    /// interned strings.
    pub fn series_overhead_bytes(&self) -> usize {
        let n = self.series.len().max(1);
        let strings: usize = self.strings.iter().map(|s| s.len() + 2 * std::mem::size_of::<usize>()).sum();
        let per: usize = self
            .series
            .iter()
            .map(|s| {
                std::mem::size_of::<Series>()
                    + s.closed.len() * std::mem::size_of::<chunk::Chunk>()
                    + s.labels.len() * 2 * std::mem::size_of::<(Arc<str>, Arc<str>)>()
                    // by_labels entry (key, value, control byte), by_name entry.
                    + std::mem::size_of::<Labels>() + std::mem::size_of::<usize>() * 2 + 1
            })
            .sum();
        (per + strings) / n
    }

    /// Remove every series (promqltest `clear`).
    pub fn clear(&mut self) {
        let opts = self.opts;
        *self = Storage::new(opts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn labels_sorted_and_empty_values_dropped() {
        let a = l(&[("b", "2"), ("__name__", "x"), ("a", "1"), ("c", "")]);
        assert_eq!(a.to_string(), "x{a=\"1\", b=\"2\"}");
        assert_eq!(a.get("c"), None);
    }

    #[test]
    fn select_and_range() {
        let mut s = Storage::new(StorageOptions::default());
        let a = l(&[("__name__", "up"), ("job", "api")]);
        let b = l(&[("__name__", "up"), ("job", "db")]);
        for t in 0..10 {
            s.append(&a, t * 1000, t as f64).unwrap();
            s.append(&b, t * 1000, 1.0).unwrap();
        }
        assert_eq!(s.append(&a, 5000, 1.0), Err(AppendError::OutOfOrder));
        let m = [Matcher::equal("__name__", "up"), Matcher::regex("job", "a.*", false).unwrap()];
        let got: Vec<_> = s.select(&m).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].range(2000, 4000).len(), 3);
        let neg = [Matcher::equal("__name__", "up"), Matcher::regex("job", "a.*", true).unwrap()];
        assert_eq!(s.select(&neg).count(), 1);
        let anchored = [Matcher::equal("__name__", "up"), Matcher::regex("job", "a", true).unwrap()];
        assert_eq!(s.select(&anchored).count(), 2, "regexes are fully anchored");
    }

    #[test]
    fn range_search_matches_linear_scan() {
        let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: 10 });
        let l = l(&[("__name__", "x")]);
        // Irregular spacing, so the interpolated guess is often wrong.
        let mut t = 0;
        for i in 0..300i64 {
            t += 1 + (i * 7919) % 13 + if i % 50 == 0 { 500 } else { 0 };
            st.append(&l, t, i as f64).unwrap();
        }
        let s = st.get(0);
        let all = s.samples();
        for mint in (-20..t + 20).step_by(3) {
            for width in [0, 1, 5, 60, 1000] {
                let want: Vec<_> = all.iter().filter(|x| x.t >= mint && x.t <= mint + width).copied().collect();
                assert_eq!(s.range(mint, mint + width), want, "mint {mint} width {width}");
            }
            assert_eq!(s.at_or_before(mint), all.iter().rfind(|x| x.t <= mint).copied());
        }
        assert!(s.range(10, 5).is_empty());
    }

    #[test]
    fn series_cap_and_retention() {
        let mut s = Storage::new(StorageOptions { retention_ms: 5000, max_series: 1 });
        s.append(&l(&[("__name__", "a")]), 0, 1.0).unwrap();
        assert_eq!(s.append(&l(&[("__name__", "b")]), 0, 1.0), Err(AppendError::SeriesLimit));
        for t in 1..100 {
            s.append(&l(&[("__name__", "a")]), t * 1000, 1.0).unwrap();
        }
        // Retention by whole chunks: nothing goes while the only chunk holds a recent sample.
        s.trim(99_000);
        assert_eq!(s.num_samples(), 100);
        for t in 100..400 {
            s.append(&l(&[("__name__", "a")]), t * 1000, 1.0).unwrap();
        }
        s.trim(399_000);
        // Chunks of 120: [0,119], [120,239] and [240,359] are out; the head [360,399] stays.
        assert_eq!(s.num_samples(), 40);
        assert_eq!(s.get(0).samples()[0].t, 360_000);
        assert_eq!(s.dropped_series, 1);
        assert!(s.bytes_per_sample() < 2.0, "{}", s.bytes_per_sample());
    }
}
