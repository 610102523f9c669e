//! One scrape target: the I/O half ([`scrape`], run on any task, returns an owned
//! [`ScrapeOutcome`]) and the store half ([`TargetState::ingest`], run by the one owner of
//! [`Storage`]). Semantics follow Prometheus 2.42's scrape loop (`scrape/scrape.go`):
//! limits fail the whole scrape with a reason, target labels win over exposed ones (which become
//! `exported_*`), report series (`up`, `scrape_duration_seconds`, ...) are written every time,
//! and series that disappear, or all series of a failed scrape, get staleness markers.

use super::lex;
use super::text::{Entry, Format, ParseError, Parser};
use crate::tsdb::{stale_nan, AppendError, Labels, Storage};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// What Prometheus 2.42 sends (without protobuf, which it only asks for behind a feature flag).
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A target and its limits (0 = no limit, as in Prometheus).
#[derive(Debug, Clone)]
pub struct Target {
    pub env: String,
    pub job: String,
    pub url: String,
    /// `host:port` of the URL, the `instance` label.
    pub instance: String,
    pub timeout: Duration,
    pub body_size_limit: u64,
    pub sample_limit: usize,
    pub label_limit: usize,
    pub label_name_length_limit: usize,
    pub label_value_length_limit: usize,
    pub bearer_token: Option<String>,
    /// Why the configured token could not be read: every scrape fails with it.
    pub token_error: Option<String>,
}

impl Target {
    /// A target with default limits (those of `config::ScrapeConfig`).
    pub fn new(env: &str, job: &str, url: &str) -> Target {
        Target {
            env: env.into(),
            job: job.into(),
            url: url.into(),
            instance: instance_of(url),
            timeout: Duration::from_secs(10),
            body_size_limit: 16 << 20,
            sample_limit: 50_000,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            bearer_token: None,
            token_error: None,
        }
    }

    /// One target per URL of a scrape job; the bearer token is read from its environment variable.
    pub fn from_config(env: &str, sc: &crate::config::ScrapeConfig) -> Vec<Target> {
        let (token, token_error) =
            match crate::config::secret(sc.bearer_token_env.as_deref(), sc.bearer_token_file.as_deref()) {
                Ok(t) => (t, None),
                Err(e) => (None, Some(e)),
            };
        sc.urls
            .iter()
            .map(|u| Target {
                timeout: sc.timeout,
                body_size_limit: sc.body_size_limit,
                sample_limit: sc.sample_limit,
                label_limit: sc.label_limit,
                label_name_length_limit: sc.label_name_length_limit,
                label_value_length_limit: sc.label_value_length_limit,
                bearer_token: token.clone(),
                token_error: token_error.clone(),
                ..Target::new(env, &sc.job, u)
            })
            .collect()
    }

    /// The target labels, sorted by name: `env`, `instance`, `job`.
    fn label_pairs(&self) -> [(&'static str, &str); 3] {
        [("env", &self.env), ("instance", &self.instance), ("job", &self.job)]
    }
}

/// `host:port` with the scheme's default port filled in, as Prometheus's `instance`.
pub fn instance_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) if h.contains(':') => format!("[{h}]:{p}"),
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// Why a scrape failed. Every one is a failed scrape (`up` 0), never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScrapeError {
    #[error("{0}")]
    Request(String),
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("scrape timed out after {0:?} (context deadline exceeded)")]
    Timeout(Duration),
    #[error("body size limit exceeded (limit {0} bytes)")]
    BodySizeLimit(u64),
    #[error("parse error: {0}")]
    Parse(ParseError),
    #[error("sample limit exceeded ({samples} samples, limit {limit})")]
    SampleLimit { samples: usize, limit: usize },
    #[error("{0}")]
    LabelLimit(String),
    #[error("{0}")]
    InvalidSample(String),
}

/// An owned scrape result: produced by the I/O task, consumed by the store owner.
#[derive(Debug)]
pub struct ScrapeOutcome {
    /// When the scrape started (ms since the epoch).
    pub started_ms: i64,
    pub duration: Duration,
    pub result: Result<Body, ScrapeError>,
}

#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

use crate::clock::wall_ms as now_ms;

fn describe(e: &reqwest::Error) -> String {
    crate::net::error_chain(e)
}

/// GET the target within its timeout, enforcing the body size limit while the body streams in.
pub async fn scrape(client: &reqwest::Client, target: &Target) -> ScrapeOutcome {
    let started_ms = now_ms();
    let start = Instant::now();
    let result = match tokio::time::timeout(target.timeout, fetch(client, target)).await {
        Ok(r) => r,
        Err(_) => Err(ScrapeError::Timeout(target.timeout)),
    };
    ScrapeOutcome { started_ms, duration: start.elapsed(), result }
}

async fn fetch(client: &reqwest::Client, target: &Target) -> Result<Body, ScrapeError> {
    let mut req = client
        .get(&target.url)
        .header(reqwest::header::ACCEPT, ACCEPT_HEADER)
        .header(reqwest::header::USER_AGENT, concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .header("X-Prometheus-Scrape-Timeout-Seconds", format!("{}", target.timeout.as_secs_f64()));
    if let Some(e) = &target.token_error {
        return Err(ScrapeError::Request(e.clone()));
    }
    if let Some(t) = &target.bearer_token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| ScrapeError::Request(describe(&e)))?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        let reason = status.canonical_reason().unwrap_or("");
        return Err(ScrapeError::Status(format!("{} {reason}", status.as_u16()).trim_end().to_string()));
    }
    let content_type =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    // As Prometheus: a body of `limit` bytes or more fails (0 = no limit).
    let limit = target.body_size_limit;
    if limit > 0 && resp.content_length().is_some_and(|n| n >= limit) {
        return Err(ScrapeError::BodySizeLimit(limit));
    }
    let keep = if limit > 0 { (limit - 1).min(usize::MAX as u64) as usize } else { usize::MAX };
    let body = crate::net::read_body(resp, keep).await.map_err(|e| ScrapeError::Request(describe(&e)))?;
    if body.over_limit {
        return Err(ScrapeError::BodySizeLimit(limit));
    }
    Ok(Body { bytes: body.bytes, content_type })
}

/// What one ingest did, for the UI and `status`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeReport {
    pub up: bool,
    pub error: Option<String>,
    pub duration: Duration,
    /// `scrape_samples_scraped`.
    pub samples_scraped: usize,
    /// `scrape_samples_post_metric_relabeling`.
    pub samples_post_relabeling: usize,
    /// `scrape_series_added`.
    pub series_added: usize,
    /// Staleness markers written.
    pub stale_markers: usize,
    /// Samples refused by the store (duplicates, out of order, series cap).
    pub dropped: usize,
}

/// Per-target state owned by whoever owns the [`Storage`].
pub struct TargetState {
    target: Target,
    /// Raw series text → storage id, so a steady target costs no label building.
    cache: HashMap<Box<[u8]>, usize>,
    /// The last successful scrape's series in the order it listed them: raw texts back to
    /// back in `order_bytes`, (start, length, id) each. A target lists its series in the same
    /// order every time, so sample k is checked against entry k first: one sequential compare,
    /// where a hash lookup costs two or three cache misses at fleet size.
    order_bytes: Vec<u8>,
    order: Vec<(u32, u32, usize)>,
    /// This scrape's, being built (allocations kept between scrapes).
    next_bytes: Vec<u8>,
    next: Vec<(u32, u32, usize)>,
    /// Series (without explicit timestamps) seen in the last successful scrape.
    prev: HashSet<usize>,
    cur: HashSet<usize>,
    report_ids: Option<[usize; 5]>,
    pub last: Option<ScrapeReport>,
    /// The previous scrape's start (by the scrape task) and the timestamp its samples got.
    prev_times: Option<(i64, i64)>,
}

/// Scrape starts within this of a 100 ms multiple of each other are that multiple apart: the
/// scheduler's tick, not jitter (Prometheus 2.43's timestamp tolerance idea). Regular steps
/// are what the store's delta-of-delta timestamps keep in one bit.
const TIMESTAMP_TOLERANCE_MS: i64 = 3;

/// A sample waiting for the whole body to pass before it is appended (a failed scrape appends
/// nothing, like Prometheus's rollback).
struct Pending {
    series: Key,
    t: i64,
    v: f64,
    tracked: bool,
}

/// A cached series, or a new one: created in the store only once the scrape has passed, so a
/// failing target cannot fill the store with empty series.
enum Key {
    Known(usize),
    New(Labels),
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl TargetState {
    pub fn new(target: Target) -> TargetState {
        TargetState {
            target,
            cache: HashMap::new(),
            order_bytes: Vec::new(),
            order: Vec::new(),
            next_bytes: Vec::new(),
            next: Vec::new(),
            prev: HashSet::new(),
            cur: HashSet::new(),
            report_ids: None,
            last: None,
            prev_times: None,
        }
    }

    /// The timestamp for this scrape's samples: `now` (the engine's clock), or, when the scrape
    /// task's start times say the scrapes are a regular step apart, exactly one step after the
    /// previous one (never more than a second from `now`, never before the previous one).
    fn timestamp(&mut self, started_ms: i64, now: i64) -> i64 {
        let t = match self.prev_times {
            Some((ps, pt)) if started_ms > ps => {
                let d = started_ms - ps;
                let grid = (d + 50) / 100 * 100;
                let d = if grid > 0 && (d - grid).abs() <= TIMESTAMP_TOLERANCE_MS { grid } else { d };
                let aligned = pt + d;
                if (aligned - now).abs() <= 1000 {
                    aligned
                } else {
                    now.max(pt + 1)
                }
            }
            Some((_, pt)) => now.max(pt + 1),
            None => now,
        };
        self.prev_times = Some((started_ms, t));
        t
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Fold one scrape into `storage` at `t_ms`: its samples (or nothing, if it failed), stale
    /// markers, and the report series.
    pub fn ingest(&mut self, storage: &mut Storage, outcome: &ScrapeOutcome, t_ms: i64) -> ScrapeReport {
        let t_ms = self.timestamp(outcome.started_ms, t_ms);
        let mut rep = ScrapeReport {
            up: false,
            error: None,
            duration: outcome.duration,
            samples_scraped: 0,
            samples_post_relabeling: 0,
            series_added: 0,
            stale_markers: 0,
            dropped: 0,
        };
        self.next_bytes.clear();
        self.next.clear();
        let result = match &outcome.result {
            Ok(body) => {
                let mut pending = Vec::new();
                let r = self.parse(body, t_ms, &mut pending, &mut rep);
                r.map(|same| (pending, same))
            }
            Err(e) => Err(e.clone()),
        };
        match result {
            // The same series as last time, in the same order, none with its own timestamp:
            // nothing is new and nothing went stale (the steady state).
            Ok((pending, true)) => {
                rep.up = true;
                for p in pending {
                    let Key::Known(id) = p.series else { unreachable!("an unchanged scrape has no new series") };
                    if storage.append_id(id, p.t, p.v).is_err() {
                        rep.dropped += 1;
                    }
                }
            }
            Ok((pending, false)) => {
                rep.up = true;
                self.cur.clear();
                for (k, p) in pending.into_iter().enumerate() {
                    let (id, new) = match p.series {
                        Key::Known(id) => (id, false),
                        Key::New(labels) => match storage.series_id(&labels) {
                            Ok(id) => (id, true),
                            Err(_) => {
                                rep.dropped += 1;
                                self.next[k].2 = usize::MAX;
                                continue;
                            }
                        },
                    };
                    self.next[k].2 = id;
                    match storage.append_id(id, p.t, p.v) {
                        Ok(()) => rep.series_added += usize::from(new),
                        Err(_) => rep.dropped += 1,
                    }
                    if p.tracked {
                        self.cur.insert(id);
                    }
                }
                // The cache and the order become this scrape's series (raw forms not seen are
                // forgotten); a series the store refused is looked up again next time.
                self.cache.clear();
                for &(a, l, id) in self.next.iter().filter(|e| e.2 != usize::MAX) {
                    self.cache.insert(self.next_bytes[a as usize..(a + l) as usize].into(), id);
                }
                std::mem::swap(&mut self.order, &mut self.next);
                std::mem::swap(&mut self.order_bytes, &mut self.next_bytes);
                self.stale_gone(storage, t_ms, &mut rep);
            }
            Err(e) => {
                rep.error = Some(e.to_string());
                // Everything goes stale; the next success starts from scratch.
                self.cur.clear();
                self.order.clear();
                self.stale_gone(storage, t_ms, &mut rep);
            }
        }
        self.write_report(storage, t_ms, &rep);
        self.last = Some(rep.clone());
        rep
    }

    /// Series gone since the last scrape (all of them, when this one failed) go stale.
    fn stale_gone(&mut self, storage: &mut Storage, t_ms: i64, rep: &mut ScrapeReport) {
        for &id in self.prev.difference(&self.cur) {
            if storage.append_id(id, t_ms, stale_nan()).is_ok() {
                rep.stale_markers += 1;
            }
        }
        std::mem::swap(&mut self.prev, &mut self.cur);
    }

    fn write_report(&mut self, storage: &mut Storage, t_ms: i64, rep: &ScrapeReport) {
        if self.report_ids.is_none() {
            let mut ids = [0; 5];
            for (k, name) in REPORT_NAMES.iter().enumerate() {
                let mut pairs: Vec<(&str, &str)> = self.target.label_pairs().to_vec();
                pairs.push(("__name__", name));
                match storage.series_id(&Labels::from_pairs(pairs)) {
                    Ok(id) => ids[k] = id,
                    Err(AppendError::SeriesLimit | AppendError::OutOfOrder) => return,
                }
            }
            self.report_ids = Some(ids);
        }
        let Some(ids) = self.report_ids else { return };
        let vals = [
            if rep.up { 1.0 } else { 0.0 },
            rep.duration.as_secs_f64(),
            rep.samples_scraped as f64,
            rep.samples_post_relabeling as f64,
            rep.series_added as f64,
        ];
        for (id, v) in ids.into_iter().zip(vals) {
            let _ = storage.append_id(id, t_ms, v);
        }
    }

    /// Parses the body into `pending` (and this scrape's order into `next`); `Ok(true)` when it
    /// listed exactly the last scrape's series in the same order, none with a timestamp.
    fn parse(
        &mut self,
        body: &Body,
        t_ms: i64,
        pending: &mut Vec<Pending>,
        rep: &mut ScrapeReport,
    ) -> Result<bool, ScrapeError> {
        let format = Format::from_content_type(body.content_type.as_deref());
        let mut p = Parser::new(&body.bytes, format);
        let limit = self.target.sample_limit;
        let mut appended = 0usize;
        let mut over_limit = false;
        let mut same = true;
        loop {
            let s = match p.next() {
                Ok(Some(Entry::Sample(s))) => s,
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => return Err(ScrapeError::Parse(e)),
            };
            rep.samples_scraped += 1;
            let k = pending.len();
            let in_order = self.order.get(k).and_then(|&(a, l, id)| {
                (id != usize::MAX && &self.order_bytes[a as usize..(a + l) as usize] == s.series).then_some(id)
            });
            same &= in_order.is_some() && s.timestamp_ms.is_none();
            let series = match in_order.or_else(|| self.cache.get(s.series).copied()) {
                Some(id) => Key::Known(id),
                None => Key::New(self.build_labels(s.name, &p)?),
            };
            let id = if let Key::Known(id) = series { id } else { usize::MAX };
            self.next.push((self.next_bytes.len() as u32, s.series.len() as u32, id));
            self.next_bytes.extend_from_slice(s.series);
            rep.samples_post_relabeling += 1;
            // Prometheus's limitAppender: every appended sample counts, the scrape goes on to
            // count the total, then fails.
            appended += 1;
            if limit > 0 && appended > limit {
                over_limit = true;
                continue;
            }
            pending.push(Pending {
                series,
                t: s.timestamp_ms.unwrap_or(t_ms),
                v: s.value,
                tracked: s.timestamp_ms.is_none(),
            });
        }
        if over_limit {
            return Err(ScrapeError::SampleLimit { samples: appended, limit });
        }
        Ok(same && pending.len() == self.order.len())
    }

    /// Exposed labels + target labels (honor_labels = false), validated and limit-checked.
    fn build_labels(&self, name: &str, p: &Parser<'_>) -> Result<Labels, ScrapeError> {
        let t = &self.target;
        let mut exposed: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::with_capacity(p.num_labels() + 4);
        exposed.push((Cow::Borrowed("__name__"), Cow::Borrowed(name)));
        for (k, v) in p.labels() {
            if exposed.iter().any(|(n, _)| n == k) {
                return Err(ScrapeError::InvalidSample(format!("label name {k:?} is not unique: invalid sample")));
            }
            exposed.push((Cow::Borrowed(k), v));
        }
        // Target labels win; a clashing exposed label moves to exported_<name> (shortest first).
        let targets = t.label_pairs();
        let mut conflicts: Vec<(String, Cow<'_, str>)> = Vec::new();
        for (tn, _) in targets {
            if let Some(pos) = exposed.iter().position(|(n, v)| n == tn && !v.is_empty()) {
                let (n, v) = exposed.remove(pos);
                conflicts.push((n.into_owned(), v));
            }
        }
        conflicts.sort_by_key(|(n, _)| n.len());
        for i in 0..conflicts.len() {
            let mut new_name = conflicts[i].0.clone();
            loop {
                new_name = format!("exported_{new_name}");
                let taken = exposed.iter().any(|(n, _)| *n == new_name)
                    || targets.iter().any(|(n, _)| *n == new_name)
                    || conflicts[..i].iter().any(|(n, _)| *n == new_name);
                if !taken {
                    break;
                }
            }
            conflicts[i].0 = new_name;
        }
        let mut all: Vec<(Cow<'_, str>, Cow<'_, str>)> = exposed;
        all.extend(conflicts.into_iter().map(|(n, v)| (Cow::Owned(n), v)));
        all.extend(targets.iter().map(|&(n, v)| (Cow::Borrowed(n), Cow::Borrowed(v))));
        all.retain(|(_, v)| !v.is_empty());
        // Leading blanks are caught by the parser; values were checked to be UTF-8.
        if !lex::is_valid_metric_name(name) {
            return Err(ScrapeError::InvalidSample(format!("invalid metric name or label names: {name:?}")));
        }
        if t.label_limit > 0 && all.len() > t.label_limit {
            return Err(ScrapeError::LabelLimit(format!(
                "label_limit exceeded (metric: {:.50}, number of labels: {}, limit: {})",
                name,
                all.len(),
                t.label_limit
            )));
        }
        if t.label_name_length_limit > 0 || t.label_value_length_limit > 0 {
            let mut sorted: Vec<&(Cow<'_, str>, Cow<'_, str>)> = all.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            for (n, v) in sorted {
                if t.label_name_length_limit > 0 && n.len() > t.label_name_length_limit {
                    return Err(ScrapeError::LabelLimit(format!(
                        "label_name_length_limit exceeded (metric: {:.50}, label name: {:.50}, length: {}, limit: {})",
                        name,
                        n,
                        n.len(),
                        t.label_name_length_limit
                    )));
                }
                if t.label_value_length_limit > 0 && v.len() > t.label_value_length_limit {
                    let shown: String = v.chars().take(50).collect();
                    return Err(ScrapeError::LabelLimit(format!(
                        "label_value_length_limit exceeded (metric: {:.50}, label name: {:.50}, value: {}, length: {}, limit: {})",
                        name,
                        n,
                        lex::go_quote(shown.as_bytes()),
                        v.len(),
                        t.label_value_length_limit
                    )));
                }
            }
        }
        Ok(Labels::from_pairs(all))
    }
}

/// Scrape `target` every `interval` until the receiver goes away, sending each outcome with
/// `key`. Runs on its own task; it never touches the store.
pub async fn run<K: Clone + Send + 'static>(
    client: reqwest::Client,
    target: Target,
    interval: Duration,
    key: K,
    tx: tokio::sync::mpsc::Sender<(K, ScrapeOutcome)>,
) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let outcome = scrape(&client, &target).await;
        if tx.send((key.clone(), outcome)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::{is_stale, Matcher, StorageOptions};

    #[test]
    fn regular_scrapes_get_exact_steps_and_jumps_follow_the_clock() {
        let mut ts = TargetState::new(Target::from_config(
            "dev",
            &crate::config::Config::parse(
                "[[environment]]\nname = \"dev\"\nscrape = [{ job = \"j\", urls = [\"http://127.0.0.1:1/metrics\"] }]\n",
                std::path::Path::new("x.toml"),
            )
            .unwrap()
            .environments[0]
            .scrape[0],
        )
        .remove(0));
        let t0 = ts.timestamp(10_000, 50_007);
        assert_eq!(t0, 50_007);
        // Starts 1 s ± 2 ms apart (engine clock later by the scrape's duration): exact steps.
        assert_eq!(ts.timestamp(11_002, 51_040), 51_007);
        assert_eq!(ts.timestamp(11_999, 52_013), 52_007);
        // A real gap (1.5 s, off the grid by 20 ms) keeps its length.
        assert_eq!(ts.timestamp(13_519, 53_560), 53_527);
        // The engine's clock far away (a suspended laptop): follow it.
        assert_eq!(ts.timestamp(14_519, 90_000), 90_000);
    }

    fn ok(body: &str) -> ScrapeOutcome {
        ScrapeOutcome {
            started_ms: 0,
            duration: Duration::from_millis(5),
            result: Ok(Body { bytes: body.as_bytes().to_vec(), content_type: None }),
        }
    }

    fn values(s: &Storage, name: &str) -> Vec<(String, Vec<f64>)> {
        let m = [Matcher::equal("__name__", name)];
        let mut v: Vec<_> =
            s.select(&m).map(|x| (x.labels.to_string(), x.samples().iter().map(|s| s.v).collect())).collect();
        v.sort_by(|a: &(String, Vec<f64>), b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn target_labels_win_and_exposed_ones_are_exported() {
        let mut st = Storage::new(StorageOptions::default());
        let mut ts = TargetState::new(Target::new("prod", "api", "http://127.0.0.1:9100/metrics"));
        let r = ts.ingest(&mut st, &ok("a{job=\"x\",exported_job=\"y\",z=\"\"} 1\n"), 1000);
        assert!(r.up, "{r:?}");
        let got = values(&st, "a");
        assert_eq!(
            got[0].0,
            "a{env=\"prod\", exported_exported_job=\"x\", exported_job=\"y\", instance=\"127.0.0.1:9100\", job=\"api\"}"
        );
        assert_eq!(values(&st, "up")[0].1, vec![1.0]);
        assert_eq!(values(&st, "scrape_series_added")[0].1, vec![1.0]);
    }

    #[test]
    fn series_in_the_same_order_reordered_added_dropped_and_after_a_failure() {
        let mut st = Storage::new(StorageOptions::default());
        let mut ts = TargetState::new(Target::new("prod", "api", "http://h:1/m"));
        let fail = ScrapeOutcome { result: Err(ScrapeError::Timeout(Duration::from_secs(1))), ..ok("") };
        let steps: [(&ScrapeOutcome, usize, usize); 7] = [
            (&ok("a 1\nb 1\nc 1\n"), 3, 0),
            (&ok("a 2\nb 2\nc 2\n"), 0, 0), // unchanged: the fast path
            (&ok("c 3\na 3\nb 3\n"), 0, 0), // reordered
            (&ok("c 4\na 4\nb 4\nd 4\n"), 1, 0),
            (&ok("c 5\nd 5\n"), 0, 2),
            (&fail, 0, 2),
            (&ok("c 7\nd 7\n"), 0, 0),
        ];
        for (i, (o, added, stale)) in steps.into_iter().enumerate() {
            let r = ts.ingest(&mut st, o, 1000 * (i as i64 + 1));
            assert_eq!((r.series_added, r.stale_markers), (added, stale), "scrape {i}: {r:?}");
        }
        // After the failure the same body again: its series are tracked again, so one that
        // then disappears goes stale.
        let r = ts.ingest(&mut st, &ok("c 8\n"), 8000);
        assert_eq!(r.stale_markers, 1, "{r:?}");
        let c: Vec<f64> = values(&st, "c")[0].1.iter().copied().filter(|v| !is_stale(*v)).collect();
        assert_eq!(c, [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0]);
        let d = &values(&st, "d")[0].1;
        assert!(d.len() == 5 && d[..2] == [4.0, 5.0] && is_stale(d[2]) && d[3] == 7.0 && is_stale(d[4]), "{d:?}");
    }

    #[test]
    fn disappearing_and_failed_series_go_stale() {
        let mut st = Storage::new(StorageOptions::default());
        let mut ts = TargetState::new(Target::new("prod", "api", "http://h:1/m"));
        ts.ingest(&mut st, &ok("a 1\nb 1\nb 2\n"), 1000);
        let r = ts.ingest(&mut st, &ok("a 2\n"), 2000);
        assert_eq!(r.stale_markers, 1);
        assert_eq!(values(&st, "b")[0].1[0], 1.0, "first sample of a duplicated series is kept");
        assert!(is_stale(*values(&st, "b")[0].1.last().unwrap()));
        let r = ts.ingest(&mut st, &ok("a 3\nc{ 1\n"), 3000);
        assert!(!r.up);
        assert!(r.error.unwrap().contains("line 2"));
        assert!(is_stale(*values(&st, "a")[0].1.last().unwrap()), "a failed scrape marks everything stale");
        assert_eq!(values(&st, "up")[0].1, vec![1.0, 1.0, 0.0]);
    }

    #[test]
    fn limits_fail_the_scrape() {
        let mut st = Storage::new(StorageOptions::default());
        let mut t = Target::new("e", "j", "http://h:1/m");
        t.sample_limit = 2;
        let mut ts = TargetState::new(t.clone());
        let r = ts.ingest(&mut st, &ok("a 1\nb 1\nc 1\n"), 1000);
        assert_eq!(r.error.as_deref(), Some("sample limit exceeded (3 samples, limit 2)"));
        assert_eq!(r.samples_scraped, 3);
        assert!(values(&st, "a").is_empty());
        t.sample_limit = 0;
        t.label_value_length_limit = 3;
        let mut ts = TargetState::new(t);
        let r = ts.ingest(&mut st, &ok("ab{x=\"long\"} 1\n"), 1000);
        assert!(r.error.unwrap().starts_with("label_value_length_limit exceeded (metric: ab, label name: x"));
    }
}
