//! Notifications against a real Alertmanager (Debian's `prometheus-alertmanager`, started here on a
//! loopback port) and a real webhook receiver: alerts from the rule engine arrive with their
//! labels and annotations, resolve with `endsAt`, survive Alertmanager starting late, and a
//! silence created through the API suppresses them.

use opsdeck::notify::{Decoration, Notifier, NotifierConfig};
use opsdeck::rules::file::parse_rule_file;
use opsdeck::rules::{EngineOptions, PromqlEvaluator, RuleEngine, RuleSet};
use opsdeck::tsdb::{Labels, Storage, StorageOptions};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Am {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_alertmanager() -> bool {
    let ok = Command::new("prometheus-alertmanager").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("prometheus-alertmanager is required (OPSDECK_REQUIRE_TOOLS=1) but not installed");
        }
        eprintln!("note: prometheus-alertmanager not installed; skipping");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_am(port: u16) -> Am {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(&cfg, "route: {receiver: sink, group_wait: 1s}\nreceivers: [{name: sink}]\n").unwrap();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus-alertmanager");
    let am = Am { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    let client = reqwest::Client::new();
    poll(Duration::from_secs(30), "Alertmanager ready", || {
        let c = client.clone();
        let u = format!("{}/-/ready", am.url);
        async move { c.get(u).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
    })
    .await;
    am
}

/// Poll `f` until it yields a value or the deadline passes (then fail naming `what`).
async fn poll<T, F, Fut>(deadline: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn am_alerts(url: &str) -> Vec<serde_json::Value> {
    let r = reqwest::get(format!("{url}/api/v2/alerts")).await;
    match r {
        Ok(r) => r.json::<Vec<serde_json::Value>>().await.unwrap_or_default(),
        Err(_) => vec![],
    }
}

fn find<'a>(alerts: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    alerts.iter().find(|a| a["labels"]["alertname"] == name)
}

const RULES: &str = "groups:\n  - name: g\n    rules:\n      - alert: ApiDown\n        expr: up{job=\"api\"} == 0\n        labels: {severity: critical}\n        annotations:\n          summary: '{{ $labels.env }} api is down'\n          runbook_url: https://runbooks.example.org/api-down\n";

fn engine() -> RuleEngine<PromqlEvaluator> {
    let f = parse_rule_file(Path::new("rules.yml"), RULES).unwrap();
    RuleEngine::new(PromqlEvaluator::default(), &RuleSet { files: vec![f] }, EngineOptions::default()).unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn notifier(am: Vec<String>, hooks: Vec<String>) -> Notifier {
    Notifier::spawn(NotifierConfig {
        alertmanagers: am,
        webhooks: hooks,
        decoration: Decoration {
            external_labels: vec![("source".into(), "opsdeck-test".into())],
            external_url: "http://opsdeck.local".into(),
        },
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_alertmanager_resolve_and_silence() {
    if !have_alertmanager() {
        return;
    }
    let am = start_am(free_port()).await;
    let n = notifier(vec![am.url.clone()], vec![]);
    let mut e = engine();
    let mut st = Storage::new(StorageOptions::default());
    let up = Labels::from_pairs([("__name__", "up"), ("job", "api"), ("env", "production")]);

    let t0 = now_ms();
    st.append(&up, t0, 0.0).unwrap();
    e.eval(&mut st, t0);
    let sent = e.take_notifications();
    assert_eq!(sent.len(), 1, "for: 0 fires at once and is sent");
    n.send(&sent);

    let got = poll(Duration::from_secs(20), "the alert in Alertmanager", || {
        let u = am.url.clone();
        async move { find(&am_alerts(&u).await, "ApiDown").cloned() }
    })
    .await;
    assert_eq!(got["labels"]["env"], "production");
    assert_eq!(got["labels"]["severity"], "critical");
    assert_eq!(got["labels"]["source"], "opsdeck-test", "external labels are added");
    assert_eq!(got["annotations"]["summary"], "production api is down");
    assert_eq!(got["annotations"]["runbook_url"], "https://runbooks.example.org/api-down");
    assert!(got["generatorURL"].as_str().unwrap().starts_with("http://opsdeck.local/graph?g0.expr="));
    assert_eq!(got["status"]["state"], "active");

    // A silence through the API suppresses it.
    let client = reqwest::Client::new();
    let id = opsdeck::alertmanager::create(
        &client,
        &am.url,
        &opsdeck::alertmanager::NewSilence {
            matchers: opsdeck::alertmanager::matchers::parse(r#"alertname="ApiDown", env="production""#).unwrap(),
            starts_at_ms: now_ms(),
            ends_at_ms: now_ms() + 3_600_000,
            created_by: "opsdeck test".into(),
            comment: "maintenance".into(),
        },
    )
    .await
    .expect("create silence");
    assert!(!id.is_empty());
    poll(Duration::from_secs(20), "the alert suppressed by the silence", || {
        let u = am.url.clone();
        let id = id.clone();
        async move {
            let a = am_alerts(&u).await;
            let a = find(&a, "ApiDown")?;
            let ids = a["status"]["silencedBy"].as_array()?;
            (a["status"]["state"] == "suppressed" && ids.iter().any(|x| x == id.as_str())).then_some(())
        }
    })
    .await;

    // Recovery: the resolved alert is sent with endsAt and leaves Alertmanager's active list.
    let t1 = now_ms().max(t0 + 1);
    st.append(&up, t1, 1.0).unwrap();
    e.eval_all(&mut st, t1);
    let resolved = e.take_notifications();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].ends_at, t1);
    n.send(&resolved);
    poll(Duration::from_secs(20), "the alert resolved in Alertmanager", || {
        let u = am.url.clone();
        async move { find(&am_alerts(&u).await, "ApiDown").is_none().then_some(()) }
    })
    .await;
    // Alertmanager may list the resolution before the notifier has read its answer and counted it.
    poll(Duration::from_secs(10), "the notifier to count both batches", || {
        let sent = n.status()[0].sent;
        async move { (sent >= 2).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_while_alertmanager_is_down() {
    if !have_alertmanager() {
        return;
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let n = notifier(vec![url.clone()], vec![]);
    let mut e = engine();
    let mut st = Storage::new(StorageOptions::default());
    let t0 = now_ms();
    st.append(&Labels::from_pairs([("__name__", "up"), ("job", "api"), ("env", "staging")]), t0, 0.0).unwrap();
    e.eval(&mut st, t0);
    n.send(&e.take_notifications());
    // The first attempts fail: nobody listens yet.
    poll(Duration::from_secs(10), "a failed delivery attempt", || {
        let s = n.status();
        async move { (s[0].failed_attempts > 0 && s[0].queued == 1).then_some(()) }
    })
    .await;
    let am = start_am(port).await;
    let got = poll(Duration::from_secs(30), "the queued alert after Alertmanager started", || {
        let u = am.url.clone();
        async move { find(&am_alerts(&u).await, "ApiDown").cloned() }
    })
    .await;
    assert_eq!(got["labels"]["env"], "staging");
    assert_eq!(n.status()[0].queued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_gets_alertmanager_json_and_retries() {
    use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
    type Seen = Arc<Mutex<(u32, Vec<serde_json::Value>)>>;
    let seen: Seen = Arc::new(Mutex::new((0, vec![])));
    async fn hook(State(s): State<Seen>, Json(body): Json<serde_json::Value>) -> StatusCode {
        let mut g = s.lock().unwrap();
        g.0 += 1;
        if g.0 == 1 {
            return StatusCode::SERVICE_UNAVAILABLE; // the first delivery fails: it must be retried
        }
        g.1.push(body);
        StatusCode::OK
    }
    let app = Router::new().route("/hook", post(hook)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let n = notifier(vec![], vec![format!("http://{addr}/hook")]);
    let mut e = engine();
    let mut st = Storage::new(StorageOptions::default());
    let t0 = now_ms();
    st.append(&Labels::from_pairs([("__name__", "up"), ("job", "api"), ("env", "development")]), t0, 0.0).unwrap();
    e.eval(&mut st, t0);
    n.send(&e.take_notifications());
    let body = poll(Duration::from_secs(10), "the webhook delivery", || {
        let s = seen.clone();
        async move { s.lock().unwrap().1.first().cloned() }
    })
    .await;
    assert!(seen.lock().unwrap().0 >= 2, "delivered after a retry");
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "opsdeck");
    assert_eq!(body["externalURL"], "http://opsdeck.local");
    assert_eq!(body["commonLabels"]["env"], "development");
    let a = &body["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["labels"]["alertname"], "ApiDown");
    assert_eq!(a["annotations"]["summary"], "development api is down");
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    assert!(a["startsAt"].as_str().unwrap().ends_with('Z'));
}
