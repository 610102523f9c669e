//! Notifications: Alertmanager API v2, Alertmanager-style webhooks, silences, and the decision to
//! ring the terminal bell.
//!
//! Alerts come from `rules::RuleEngine::take_notifications`, which already follows Prometheus's
//! `sendAlerts` (pending never sent, firing resent every `resend_delay`, resolved sent with
//! `endsAt`). Here, as in Prometheus's notifier, external labels are added (without overriding
//! the alert's own) and alerts are posted in batches of 64 to every configured Alertmanager. Unlike
//! Prometheus, a failed post is retried with exponential backoff instead of dropped, so an
//! Alertmanager restart loses nothing; each destination has its own bounded queue (oldest alerts
//! dropped, and counted, only when it overflows).

use crate::rules::Notification;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Prometheus's `maxBatchSize`.
pub const MAX_BATCH: usize = 64;
/// Prometheus's default `--alertmanager.notification-queue-capacity`.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{url}: {err}")]
    Http { url: String, err: String },
    #[error("{url}: HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
}

/// An alert in Alertmanager API v2's `postableAlert` shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "String::is_empty", default)]
    pub generator_url: String,
}

pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Prometheus's `strutil.TableLinkForExpression`.
pub fn table_link(external_url: &str, expr: &str) -> String {
    let mut q = String::new();
    for b in expr.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => q.push(b as char),
            b' ' => q.push('+'),
            _ => q.push_str(&format!("%{b:02X}")),
        }
    }
    format!("{}/graph?g0.expr={q}&g0.tab=1", external_url.trim_end_matches('/'))
}

/// What every notification gets: external labels and the URL `generatorURL` points into.
#[derive(Debug, Clone, Default)]
pub struct Decoration {
    pub external_labels: Vec<(String, String)>,
    pub external_url: String,
}

impl Decoration {
    pub fn to_am(&self, n: &Notification) -> AmAlert {
        let mut labels: BTreeMap<String, String> =
            n.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, v) in &self.external_labels {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        AmAlert {
            labels,
            annotations: n.annotations.iter().filter(|(_, v)| !v.is_empty()).cloned().collect(),
            starts_at: rfc3339_ms(n.starts_at),
            ends_at: rfc3339_ms(n.ends_at),
            generator_url: if self.external_url.is_empty() {
                String::new()
            } else {
                table_link(&self.external_url, &n.expr)
            },
        }
    }
}

/// Prometheus's `model.LabelSet.Fingerprint()`: FNV-1a over sorted `name 0xff value 0xff`.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut h: u64 = 14695981039346656037;
    let mut add = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(1099511628211);
    };
    for (k, v) in labels {
        k.bytes().for_each(&mut add);
        add(0xff);
        v.bytes().for_each(&mut add);
        add(0xff);
    }
    if labels.is_empty() {
        return format!("{:016x}", 14695981039346656037u64);
    }
    format!("{h:016x}")
}

/// Alertmanager's webhook payload (version 4) for a batch of alerts, as a receiver sees it.
pub fn webhook_body(alerts: &[AmAlert], external_url: &str, now_ms: i64) -> serde_json::Value {
    let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    let resolved = |a: &AmAlert| chrono::DateTime::parse_from_rfc3339(&a.ends_at).is_ok_and(|e| e <= now);
    let common = |f: &dyn Fn(&AmAlert) -> &BTreeMap<String, String>| -> BTreeMap<String, String> {
        let mut it = alerts.iter();
        let Some(first) = it.next() else { return BTreeMap::new() };
        let mut c = f(first).clone();
        for a in it {
            c.retain(|k, v| f(a).get(k) == Some(v));
        }
        c
    };
    let any_firing = alerts.iter().any(|a| !resolved(a));
    let list: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            serde_json::json!({
                "status": if resolved(a) { "resolved" } else { "firing" },
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": a.starts_at,
                "endsAt": if resolved(a) { a.ends_at.clone() } else { "0001-01-01T00:00:00Z".to_string() },
                "generatorURL": a.generator_url,
                "fingerprint": fingerprint(&a.labels),
            })
        })
        .collect();
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": if any_firing { "firing" } else { "resolved" },
        "receiver": "opsdeck",
        "groupLabels": {},
        "commonLabels": common(&|a| &a.labels),
        "commonAnnotations": common(&|a| &a.annotations),
        "externalURL": external_url,
        "alerts": list,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST {url}/api/v2/alerts` with a JSON list of alerts.
    Alertmanager,
    /// `POST {url}` with Alertmanager's webhook JSON.
    Webhook,
}

/// A bounded FIFO that drops the oldest items when full, counting them.
#[derive(Debug)]
pub struct BoundedQueue<T> {
    items: VecDeque<T>,
    cap: usize,
    pub dropped: u64,
}

impl<T> BoundedQueue<T> {
    pub fn new(cap: usize) -> Self {
        BoundedQueue { items: VecDeque::new(), cap: cap.max(1), dropped: 0 }
    }

    pub fn push_all(&mut self, xs: impl IntoIterator<Item = T>) {
        for x in xs {
            if self.items.len() >= self.cap {
                self.items.pop_front();
                self.dropped += 1;
            }
            self.items.push_back(x);
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first `n` items (left in place until `pop` confirms delivery).
    pub fn peek(&self, n: usize) -> Vec<T>
    where
        T: Clone,
    {
        self.items.iter().take(n).cloned().collect()
    }

    pub fn pop(&mut self, n: usize) {
        for _ in 0..n.min(self.items.len()) {
            self.items.pop_front();
        }
    }
}

/// Counters for the status view.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub failed_attempts: AtomicU64,
}

struct Dest {
    url: String,
    kind: Kind,
    queue: Mutex<BoundedQueue<AmAlert>>,
    wake: tokio::sync::Notify,
    stats: Stats,
    last_error: Mutex<Option<String>>,
}

/// Sends notifications to Alertmanagers and webhooks from background tasks.
#[derive(Clone)]
pub struct Notifier {
    dests: Arc<Vec<Arc<Dest>>>,
    deco: Arc<Decoration>,
}

/// Settings of a `Notifier`.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub alertmanagers: Vec<String>,
    pub webhooks: Vec<String>,
    pub decoration: Decoration,
    pub queue_capacity: usize,
    pub timeout: Duration,
    /// First retry delay; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            alertmanagers: vec![],
            webhooks: vec![],
            decoration: Decoration::default(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            timeout: Duration::from_secs(10),
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl NotifierConfig {
    /// From the `[alerting]` config section. `external_url` is where `generatorURL` points (empty
    /// leaves it out).
    pub fn from_alerting(a: &crate::config::Alerting, external_url: &str) -> NotifierConfig {
        NotifierConfig {
            alertmanagers: a.alertmanager.clone(),
            webhooks: a.webhook.clone(),
            decoration: Decoration {
                external_labels: a.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                external_url: external_url.to_string(),
            },
            ..Default::default()
        }
    }
}

/// Delivery state of one destination, for the status view.
#[derive(Debug, Clone)]
pub struct DestStatus {
    pub url: String,
    pub kind: Kind,
    pub queued: usize,
    pub dropped: u64,
    pub sent: u64,
    pub failed_attempts: u64,
    pub last_error: Option<String>,
}

impl Notifier {
    /// Start one sender task per destination on the current tokio runtime.
    pub fn spawn(cfg: NotifierConfig) -> Notifier {
        let client = crate::net::builder().timeout(cfg.timeout).build().unwrap_or_default();
        let mk = |url: &String, kind| {
            Arc::new(Dest {
                url: url.trim_end_matches('/').to_string(),
                kind,
                queue: Mutex::new(BoundedQueue::new(cfg.queue_capacity)),
                wake: tokio::sync::Notify::new(),
                stats: Stats::default(),
                last_error: Mutex::new(None),
            })
        };
        let dests: Vec<Arc<Dest>> = cfg
            .alertmanagers
            .iter()
            .map(|u| mk(u, Kind::Alertmanager))
            .chain(cfg.webhooks.iter().map(|u| mk(u, Kind::Webhook)))
            .collect();
        let deco = Arc::new(cfg.decoration.clone());
        for d in &dests {
            let (d, client, deco) = (d.clone(), client.clone(), deco.clone());
            let (min_b, max_b) = (cfg.min_backoff, cfg.max_backoff);
            tokio::spawn(async move { run_dest(d, client, deco, min_b, max_b).await });
        }
        Notifier { dests: Arc::new(dests), deco }
    }

    /// Queue notifications for every destination; never blocks.
    pub fn send(&self, ns: &[Notification]) {
        if ns.is_empty() {
            return;
        }
        let alerts: Vec<AmAlert> = ns.iter().map(|n| self.deco.to_am(n)).collect();
        for d in self.dests.iter() {
            d.queue.lock().unwrap_or_else(|e| e.into_inner()).push_all(alerts.iter().cloned());
            d.wake.notify_one();
        }
    }

    pub fn status(&self) -> Vec<DestStatus> {
        self.dests
            .iter()
            .map(|d| {
                let q = d.queue.lock().unwrap_or_else(|e| e.into_inner());
                DestStatus {
                    url: d.url.clone(),
                    kind: d.kind,
                    queued: q.len(),
                    dropped: q.dropped,
                    sent: d.stats.sent.load(Ordering::Relaxed),
                    failed_attempts: d.stats.failed_attempts.load(Ordering::Relaxed),
                    last_error: d.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                }
            })
            .collect()
    }
}

async fn post(client: &reqwest::Client, d: &Dest, deco: &Decoration, batch: &[AmAlert]) -> Result<(), NotifyError> {
    let (url, body) = match d.kind {
        Kind::Alertmanager => (format!("{}/api/v2/alerts", d.url), serde_json::to_value(batch).unwrap_or_default()),
        Kind::Webhook => {
            (d.url.clone(), webhook_body(batch, &deco.external_url, chrono::Utc::now().timestamp_millis()))
        }
    };
    let resp = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| NotifyError::Http { url: url.clone(), err: crate::net::classify(&e) })?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(NotifyError::Status {
            url,
            status: status.as_u16(),
            body: crate::sanitize::line(&body).chars().take(200).collect(),
        });
    }
    Ok(())
}

async fn run_dest(d: Arc<Dest>, client: reqwest::Client, deco: Arc<Decoration>, min_b: Duration, max_b: Duration) {
    let mut backoff = min_b;
    loop {
        let batch = d.queue.lock().unwrap_or_else(|e| e.into_inner()).peek(MAX_BATCH);
        if batch.is_empty() {
            d.wake.notified().await;
            continue;
        }
        match post(&client, &d, &deco, &batch).await {
            Ok(()) => {
                // Items dropped from the front while we were posting shift the queue; only pop
                // what is still the batch we sent.
                let mut q = d.queue.lock().unwrap_or_else(|e| e.into_inner());
                let still = q.peek(batch.len());
                let n = still.iter().zip(&batch).take_while(|(a, b)| a == b).count();
                q.pop(n);
                d.stats.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                *d.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                backoff = min_b;
            }
            Err(e) => {
                tracing::warn!(error = %e, "notification delivery failed; will retry");
                d.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                *d.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(max_b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::Labels;

    #[test]
    fn bounded_queue_drops_oldest() {
        let mut q = BoundedQueue::new(3);
        q.push_all(1..=5);
        assert_eq!(q.peek(10), vec![3, 4, 5]);
        assert_eq!(q.dropped, 2);
        q.pop(2);
        assert_eq!(q.peek(10), vec![5]);
    }

    #[test]
    fn alert_shape_and_external_labels() {
        let n = Notification {
            labels: Labels::from_pairs([("alertname", "HighErrorRate"), ("env", "prod"), ("cluster", "own")]),
            annotations: vec![("summary".into(), "5% fail".into()), ("empty".into(), String::new())],
            starts_at: 1_700_000_000_000,
            ends_at: 1_700_000_240_000,
            expr: "rate(x[5m]) > 0.05".into(),
        };
        let d = Decoration {
            external_labels: vec![("cluster".into(), "eu".into()), ("region".into(), "eu-1".into())],
            external_url: "http://opsdeck.example".into(),
        };
        let a = d.to_am(&n);
        assert_eq!(a.labels["cluster"], "own");
        assert_eq!(a.labels["region"], "eu-1");
        assert!(!a.annotations.contains_key("empty"));
        assert_eq!(a.starts_at, "2023-11-14T22:13:20.000Z");
        assert_eq!(a.generator_url, "http://opsdeck.example/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0.05&g0.tab=1");
        let v = serde_json::to_value(&a).unwrap();
        assert!(v.get("generatorURL").is_some() && v.get("startsAt").is_some() && v.get("endsAt").is_some());
    }

    #[test]
    fn fingerprint_matches_prometheus() {
        // prometheus/common's signature tests: the same FNV-1a over sorted pairs.
        let l: BTreeMap<String, String> = [("name", "garland, briggs"), ("fear", "love is not enough")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into();
        assert_eq!(fingerprint(&l), format!("{:016x}", 5799056148416392346u64));
        assert_eq!(fingerprint(&BTreeMap::new()), format!("{:016x}", 14695981039346656037u64));
        let l: BTreeMap<String, String> = [("foo".to_string(), "bar".to_string())].into();
        let body = webhook_body(
            &[AmAlert {
                labels: l.clone(),
                annotations: BTreeMap::new(),
                starts_at: rfc3339_ms(0),
                ends_at: rfc3339_ms(1000),
                generator_url: String::new(),
            }],
            "http://x",
            5000,
        );
        assert_eq!(body["status"], "resolved");
        assert_eq!(body["alerts"][0]["status"], "resolved");
        assert_eq!(body["commonLabels"]["foo"], "bar");
        assert_eq!(body["version"], "4");
    }
}
