//! The health poller: each environment's health endpoint, polled on its interval, all environments
//! concurrently. `check_once` is one check (used by `opsdeck status` too); `spawn` runs one task
//! per environment that folds checks into an `EnvHealth` and sends it as `Event::Health`.
//!
//! States: up (2xx, a JSON body that does not say it is down), down (with a reason: "timeout
//! after 3s", "connection refused", "HTTP 503", "DNS: no such host", "bad JSON: ..."), stale (a
//! check is still outstanding two intervals after the last answer: sent from a timer while it
//! hangs). A dead endpoint (no HTTP answer at all) is retried with capped exponential backoff; one
//! that answers, even with a 503, keeps its normal interval so a recovery is seen at once.

use crate::config::{Environment, HealthConfig};
use crate::model::{EnvHealth, Event, Health, Millis};
use crate::{duration, sanitize};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Most bytes of a health body read; a health endpoint has no business sending more.
pub const BODY_LIMIT: usize = 64 << 10;
/// Latencies kept for the sparkline.
pub const HISTORY: usize = 120;
/// Outcomes kept for the up-time figure.
pub const OUTCOMES: usize = 1000;
/// Longest wait between checks of a dead endpoint (or the interval, when that is longer).
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Longest version string kept; anything longer is cut.
const VERSION_MAX: usize = 64;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub up: bool,
    /// Time to a complete answer (any HTTP status); `None` when no answer came.
    pub latency_ms: Option<f64>,
    /// From `version_field` of the JSON body, sanitised; also read from non-2xx JSON bodies.
    pub version: Option<String>,
    /// Why it is down; `None` when up.
    pub reason: Option<String>,
    /// The HTTP status, when the endpoint answered at all.
    pub http_status: Option<u16>,
}

impl CheckResult {
    fn no_answer(reason: String) -> CheckResult {
        CheckResult { up: false, latency_ms: None, version: None, reason: Some(reason), http_status: None }
    }

    /// True when the endpoint gave no HTTP answer (refused, timeout, DNS): what backoff is for.
    pub fn no_http_answer(&self) -> bool {
        self.http_status.is_none()
    }
}

/// The HTTP client the poller and `status` share: `net`'s policy.
pub fn client() -> reqwest::Client {
    crate::net::client()
}

/// One check of `cfg.url`, finished within `cfg.timeout` whatever the endpoint does.
pub async fn check_once(client: &reqwest::Client, cfg: &HealthConfig) -> CheckResult {
    let start = Instant::now();
    let fetched = tokio::time::timeout(cfg.timeout, fetch(client, &cfg.url)).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    match fetched {
        Err(_) => CheckResult::no_answer(format!("timeout after {}", duration::format(cfg.timeout))),
        Ok(Err(reason)) => CheckResult::no_answer(sanitize::line(&reason).into_owned()),
        Ok(Ok(answer)) => evaluate(&answer, &cfg.version_field, latency_ms),
    }
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
    over_limit: bool,
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Answer, String> {
    let resp =
        client.get(url).header(reqwest::header::ACCEPT, "application/json").send().await.map_err(|e| classify(&e))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let crate::net::Body { bytes: body, over_limit } =
        crate::net::read_body(resp, BODY_LIMIT).await.map_err(|e| format!("reading the body: {}", classify(&e)))?;
    Ok(Answer { status, content_type, body, over_limit })
}

fn classify(e: &reqwest::Error) -> String {
    crate::net::classify(e)
}

fn evaluate(a: &Answer, version_field: &str, latency_ms: f64) -> CheckResult {
    let mut r = CheckResult {
        up: false,
        latency_ms: Some(latency_ms),
        version: None,
        reason: None,
        http_status: Some(a.status),
    };
    let first = a.body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let looks_json = matches!(first, Some(b'{') | Some(b'['));
    let plain = first.is_none() || (a.content_type.starts_with("text/plain") && !looks_json);
    let parsed = if plain || a.over_limit { None } else { Some(serde_json::from_slice::<serde_json::Value>(&a.body)) };
    if let Some(Ok(v)) = &parsed {
        r.version = version_of(v, version_field);
    }
    if !(200..300).contains(&a.status) {
        r.reason = Some(format!("HTTP {}", a.status));
        return r;
    }
    if a.over_limit {
        r.reason = Some(format!("body larger than {} KiB", BODY_LIMIT >> 10));
        return r;
    }
    match parsed {
        None => r.up = true,
        Some(Err(e)) => r.reason = Some(sanitize::line(&format!("bad JSON: {e}")).into_owned()),
        Some(Ok(v)) => match declared_down(&v) {
            Some(s) => r.reason = Some(format!("status: {}", sanitize::line(&s))),
            None => r.up = true,
        },
    }
    r
}

/// A 2xx body that still says it is down (`"status": "down"`, as some frameworks answer).
fn declared_down(v: &serde_json::Value) -> Option<String> {
    let s = v.get("status")?.as_str()?;
    let l = s.trim().to_ascii_lowercase();
    // "DOWN", "down: db unreachable", "unhealthy" — the word first.
    ["down", "error", "fail", "unhealthy", "critical"]
        .iter()
        .any(|w| l.starts_with(w))
        .then(|| s.chars().take(80).collect())
}

/// `version_field` in the body: a key, or a dotted path (`build.version`, `components.0.version`).
fn version_of(v: &serde_json::Value, field: &str) -> Option<String> {
    let found = v.get(field).or_else(|| {
        field.split('.').try_fold(v, |cur, seg| match cur {
            serde_json::Value::Object(m) => m.get(seg),
            serde_json::Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    })?;
    let s = match found {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s: String = s.chars().take(VERSION_MAX).collect();
    Some(sanitize::line(s.trim()).into_owned()).filter(|s| !s.is_empty())
}

use crate::clock::wall_ms as now_ms;

/// One environment's health as it evolves: folds check results (and stale timeouts) into the
/// `EnvHealth` the view shows.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pub health: EnvHealth,
    outcomes: VecDeque<bool>,
    /// Checks in a row with no HTTP answer at all.
    dead_streak: u32,
}

impl Tracker {
    pub fn record(&mut self, r: &CheckResult, now: Millis) {
        let h = &mut self.health;
        h.health = if r.up { Health::Up } else { Health::Down };
        h.latency_ms = r.latency_ms;
        if r.version.is_some() {
            h.version = r.version.clone();
        }
        h.reason = r.reason.clone();
        h.last_check = Some(now);
        if r.up {
            h.last_ok = Some(now);
        }
        h.latency_history.push_back(if r.up { r.latency_ms } else { None });
        while h.latency_history.len() > HISTORY {
            h.latency_history.pop_front();
        }
        self.outcomes.push_back(r.up);
        while self.outcomes.len() > OUTCOMES {
            self.outcomes.pop_front();
        }
        h.checks_total = self.outcomes.len() as u64;
        h.checks_ok = self.outcomes.iter().filter(|&&u| u).count() as u64;
        self.dead_streak = if r.no_http_answer() { self.dead_streak.saturating_add(1) } else { 0 };
    }

    /// No answer for too long while a check hangs. Keeps the last version and latency for context.
    pub fn mark_stale(&mut self, waited: Duration) {
        self.health.health = Health::Stale;
        self.health.reason = Some(format!("no answer for {}", duration::format(waited)));
    }

    /// When to start the next check after the last one started: the interval, or for a dead
    /// endpoint interval × 2^(n-1), capped at max(interval, BACKOFF_CAP).
    pub fn next_delay(&self, interval: Duration) -> Duration {
        if self.dead_streak <= 1 {
            return interval;
        }
        let cap = interval.max(BACKOFF_CAP);
        let factor = 1u32 << (self.dead_streak - 1).min(16);
        interval.saturating_mul(factor).min(cap)
    }
}

/// The running poller; dropping it stops every task.
#[must_use = "dropping the Poller stops polling"]
pub struct Poller {
    tasks: Vec<JoinHandle<()>>,
}

impl Poller {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Poll every environment that has a `health` section, each on its own interval, concurrently.
/// Each task ends by itself when the receiver of `tx` is gone.
pub fn spawn(envs: &[Environment], tx: mpsc::Sender<Event>) -> Poller {
    let client = client();
    let tasks = envs
        .iter()
        .filter_map(|e| Some((e.name.clone(), e.health.clone()?)))
        .map(|(name, cfg)| tokio::spawn(poll_env(name, cfg, client.clone(), tx.clone())))
        .collect();
    Poller { tasks }
}

async fn poll_env(env: String, cfg: HealthConfig, client: reqwest::Client, tx: mpsc::Sender<Event>) {
    // An interval of zero would spin; a tenth of a second is the floor.
    let interval = cfg.interval.max(Duration::from_millis(100));
    let mut tracker = Tracker::default();
    let mut last_answer: Option<Instant> = None;
    loop {
        let started = Instant::now();
        // "No answer within two intervals": two intervals after the last answer, and at least one
        // interval into this check (after a backoff pause, the old answer is long gone).
        let stale_at = match last_answer {
            Some(t) => (t + interval * 2).max(started + interval),
            None => started + interval * 2,
        };
        let check = check_once(&client, &cfg);
        tokio::pin!(check);
        let mut stale_sent = false;
        let result = loop {
            tokio::select! {
                r = &mut check => break r,
                _ = tokio::time::sleep_until(stale_at), if !stale_sent => {
                    stale_sent = true;
                    tracker.mark_stale(last_answer.map(|t| t.elapsed()).unwrap_or(started.elapsed()));
                    if tx.send(Event::Health { env: env.clone(), health: tracker.health.clone() }).await.is_err() {
                        return;
                    }
                }
            }
        };
        tracker.record(&result, now_ms());
        last_answer = Some(Instant::now());
        if tx.send(Event::Health { env: env.clone(), health: tracker.health.clone() }).await.is_err() {
            return;
        }
        tokio::time::sleep_until(started + tracker.next_delay(interval)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, ct: &str, body: &str) -> Answer {
        Answer { status, content_type: ct.into(), body: body.as_bytes().to_vec(), over_limit: false }
    }

    #[test]
    fn version_from_dotted_paths() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"version":"1.5.0","build":{"version":"2.0.1","n":7},"c":[{"v":"x"}],"a.b":"lit"}"#,
        )
        .unwrap();
        assert_eq!(version_of(&v, "version").as_deref(), Some("1.5.0"));
        assert_eq!(version_of(&v, "build.version").as_deref(), Some("2.0.1"));
        assert_eq!(version_of(&v, "build.n").as_deref(), Some("7"));
        assert_eq!(version_of(&v, "c.0.v").as_deref(), Some("x"));
        assert_eq!(version_of(&v, "a.b").as_deref(), Some("lit"));
        assert_eq!(version_of(&v, "build.missing"), None);
        assert_eq!(version_of(&v, "build"), None);
    }

    #[test]
    fn version_is_sanitised_and_bounded() {
        let v = serde_json::json!({ "version": format!("1.0\x1b[2J{}", "x".repeat(200)) });
        let s = version_of(&v, "version").unwrap();
        assert!(!s.contains('\x1b'));
        assert!(s.starts_with("1.0\\x1b[2J"));
        assert!(s.chars().count() <= VERSION_MAX + 8);
    }

    #[test]
    fn evaluation_rules() {
        let up = evaluate(&answer(200, "application/json", r#"{"status":"ok","version":"1.5.0"}"#), "version", 3.0);
        assert!(up.up);
        assert_eq!(up.version.as_deref(), Some("1.5.0"));
        let e503 =
            evaluate(&answer(503, "application/json", r#"{"status":"error","version":"1.6.0-bad"}"#), "version", 3.0);
        assert!(!e503.up);
        assert_eq!(e503.reason.as_deref(), Some("HTTP 503"));
        assert_eq!(e503.version.as_deref(), Some("1.6.0-bad"));
        let garbage = evaluate(&answer(200, "application/json", r#"{"status": "ok", "vers"#), "version", 3.0);
        assert!(!garbage.up);
        assert!(garbage.reason.unwrap().starts_with("bad JSON"));
        let html = evaluate(&answer(200, "text/html", "<html>login</html>"), "version", 3.0);
        assert!(!html.up, "an HTML page is not a health answer");
        let plain = evaluate(&answer(200, "text/plain", "OK"), "version", 3.0);
        assert!(plain.up && plain.version.is_none());
        let said_down = evaluate(&answer(200, "application/json", r#"{"status":"DOWN"}"#), "version", 3.0);
        assert_eq!(said_down.reason.as_deref(), Some("status: DOWN"));
    }

    #[test]
    fn tracker_history_counts_and_backoff() {
        let mut t = Tracker::default();
        let ok = CheckResult {
            up: true,
            latency_ms: Some(4.0),
            version: Some("1.5.0".into()),
            reason: None,
            http_status: Some(200),
        };
        let dead = CheckResult::no_answer("connection refused".into());
        let i = Duration::from_secs(2);
        t.record(&ok, 1000);
        assert_eq!(t.next_delay(i), i);
        t.record(&dead, 3000);
        assert_eq!(t.health.health, Health::Down);
        assert_eq!(t.health.version.as_deref(), Some("1.5.0"), "the last known version is kept");
        assert_eq!(t.health.last_ok, Some(1000));
        assert_eq!(t.next_delay(i), i);
        t.record(&dead, 5000);
        assert_eq!(t.next_delay(i), Duration::from_secs(4));
        for _ in 0..10 {
            t.record(&dead, 6000);
        }
        assert_eq!(t.next_delay(i), BACKOFF_CAP);
        assert_eq!(t.health.checks_total, 13);
        assert_eq!(t.health.checks_ok, 1);
        assert_eq!(t.health.latency_history.iter().filter(|l| l.is_some()).count(), 1);
        // An endpoint that answers 503 is alive: no backoff.
        let e503 = CheckResult {
            up: false,
            latency_ms: Some(2.0),
            version: None,
            reason: Some("HTTP 503".into()),
            http_status: Some(503),
        };
        t.record(&e503, 7000);
        assert_eq!(t.next_delay(i), i);
        for _ in 0..HISTORY + 10 {
            t.record(&ok, 8000);
        }
        assert_eq!(t.health.latency_history.len(), HISTORY);
    }
}
