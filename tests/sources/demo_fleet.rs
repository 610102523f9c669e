//! The demo fleet, started in-process and talked to over real HTTP on loopback: health, metrics in
//! the Prometheus text format, logs by cursor, deploys (good, bad, slow), worker metrics, and the
//! config it writes.

use opsdeck::config::Config;
use opsdeck::demo::Fleet;
use opsdeck::health;
use std::path::Path;
use std::time::Duration;

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

async fn text(url: &str) -> String {
    get(url).await.text().await.unwrap()
}

/// Samples of one exposition, parsed with the prometheus-parse crate: (name, labels) -> value.
fn parse(body: &str) -> Vec<prometheus_parse::Sample> {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("valid exposition").samples
}

fn value(s: &prometheus_parse::Sample) -> f64 {
    match &s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        other => panic!("unexpected value {other:?}"),
    }
}

/// Total and 5xx request counts of an API exposition.
fn requests(body: &str) -> (f64, f64) {
    let mut all = 0.0;
    let mut e5 = 0.0;
    for s in parse(body).iter().filter(|s| s.metric == "http_requests_total") {
        let v = value(s);
        all += v;
        if s.labels.get("status").is_some_and(|st| st.starts_with('5')) {
            e5 += v;
        }
    }
    (all, e5)
}

/// Poll `f` every 100 ms until it returns Some, up to `secs`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    secs: u64,
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deploy(api: &str, version: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{api}/deploy"))
        .json(&serde_json::json!({ "version": version }))
        .send()
        .await
        .unwrap()
}

async fn running_version(api: &str) -> String {
    let v: serde_json::Value = get(&format!("{api}/version")).await.json().await.unwrap();
    v["version"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn three_environments_healthy_with_their_versions() {
    let fleet = Fleet::start().await.unwrap();
    let names: Vec<_> = fleet.envs().iter().map(|e| e.name).collect();
    assert_eq!(names, ["production", "staging", "development"]);
    for e in fleet.envs() {
        let r = get(&format!("{}/health", e.api_url())).await;
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["status"], "ok");
        assert!(opsdeck::demo::HEALTHY_VERSIONS.contains(&v["version"].as_str().unwrap()), "{v}");
    }
    assert_eq!(fleet.env("production").unwrap().version(), "1.4.1");
    assert!(fleet.env("production").unwrap().protected);
}

#[tokio::test]
async fn metrics_are_valid_exposition_and_move() {
    let fleet = Fleet::start().await.unwrap();
    let api = fleet.env("production").unwrap().api_url();
    let first = text(&format!("{api}/metrics")).await;
    for family in ["http_requests_total", "http_request_duration_seconds", "ai_requests_total", "ai_cost_total"] {
        assert!(first.contains(&format!("# HELP {family} ")), "{family} HELP");
        assert!(first.contains(&format!("# TYPE {family} ")), "{family} TYPE");
    }
    let (n1, _) = requests(&first);
    // Production serves ~40 requests/s: within a couple of seconds the counters have moved.
    let (n2, later) = eventually(10, "request counters to grow", || {
        let api = api.clone();
        async move {
            let t = text(&format!("{api}/metrics")).await;
            let (n, _) = requests(&t);
            (n > n1 + 20.0).then_some((n, t))
        }
    })
    .await;
    assert!(n2 > n1);
    // Histogram buckets: every bound from 5 ms to 10 s, and +Inf equal to _count.
    let raw_buckets = later.lines().filter(|l| l.starts_with("http_request_duration_seconds_bucket")).count();
    assert!(raw_buckets >= 8 * 12, "{raw_buckets} bucket lines");
    assert!(later.contains("le=\"0.005\"") && later.contains("le=\"10\"") && later.contains("le=\"+Inf\""));
    for ep in ["/api/v1/feed", "/api/v1/search"] {
        let plus_inf: f64 = later
            .lines()
            .find(|l| l.starts_with("http_request_duration_seconds_bucket") && l.contains(ep) && l.contains("+Inf"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap();
        let count: f64 = later
            .lines()
            .find(|l| l.starts_with("http_request_duration_seconds_count") && l.contains(ep))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap();
        assert_eq!(plus_inf, count, "{ep}");
    }
    // AI calls are a few a second, so the first may come after the request counters moved.
    let cost = eventually(15, "AI calls to cost money", || {
        let api = api.clone();
        async move {
            let t = text(&format!("{api}/metrics")).await;
            let cost: f64 = parse(&t).iter().filter(|s| s.metric == "ai_cost_total").map(value).sum();
            (cost > 0.0).then_some(cost)
        }
    })
    .await;
    assert!(cost > 0.0, "AI calls cost money");
}

#[tokio::test]
async fn production_is_busier_than_development() {
    let fleet = Fleet::start().await.unwrap();
    let prod = fleet.env("production").unwrap().api_url();
    let dev = fleet.env("development").unwrap().api_url();
    let p0 = requests(&text(&format!("{prod}/metrics")).await).0;
    let d0 = requests(&text(&format!("{dev}/metrics")).await).0;
    let (p, d) = eventually(15, "traffic to accumulate", || {
        let (prod, dev) = (prod.clone(), dev.clone());
        async move {
            let p = requests(&text(&format!("{prod}/metrics")).await).0 - p0;
            let d = requests(&text(&format!("{dev}/metrics")).await).0 - d0;
            (p > 200.0).then_some((p, d))
        }
    })
    .await;
    assert!(p > 3.0 * d, "production {p} vs development {d}");
}

#[tokio::test]
async fn bad_deploy_fails_health_and_raises_5xx_then_good_deploy_recovers() {
    let fleet = Fleet::start().await.unwrap();
    let api = fleet.env("staging").unwrap().api_url();
    let before = requests(&text(&format!("{api}/metrics")).await);
    let r = deploy(&api, "1.6.0-bad").await;
    assert_eq!(r.status(), 202);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["to"], "1.6.0-bad");
    assert_eq!(body["from"], "1.5.0");
    eventually(10, "the bad version to run", || async { (running_version(&api).await == "1.6.0-bad").then_some(()) })
        .await;
    let cfg = opsdeck::config::HealthConfig {
        url: format!("{api}/health"),
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        version_field: "version".into(),
    };
    let h = health::check_once(&health::client(), &cfg).await;
    assert!(!h.up);
    assert_eq!(h.reason.as_deref(), Some("HTTP 503"));
    assert_eq!(h.version.as_deref(), Some("1.6.0-bad"));
    let at_switch = requests(&text(&format!("{api}/metrics")).await);
    let (all, e5) = eventually(20, "enough requests under the bad version", || {
        let api = api.clone();
        async move {
            let now = requests(&text(&format!("{api}/metrics")).await);
            let d = (now.0 - at_switch.0, now.1 - at_switch.1);
            (d.0 >= 60.0).then_some(d)
        }
    })
    .await;
    let ratio = e5 / all;
    assert!(ratio > 0.2, "5xx ratio under the bad version {ratio} ({e5}/{all})");
    assert!(before.1 / before.0.max(1.0) < 0.1);
    // Logs carry Python-like tracebacks now.
    let logs = text(&format!("{api}/logs?since=0&limit=5000")).await;
    assert!(
        logs.lines()
            .any(|l| l.contains("\"level\":\"ERROR\"")
                && l.contains("\"exception\":\"Traceback (most recent call last)")),
        "no ERROR line with a traceback"
    );

    assert_eq!(deploy(&api, "1.5.0").await.status(), 202);
    eventually(10, "health to recover", || {
        let cfg = cfg.clone();
        async move {
            let h = health::check_once(&health::client(), &cfg).await;
            (h.up && h.version.as_deref() == Some("1.5.0")).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn deploy_rejects_bad_requests() {
    let fleet = Fleet::start().await.unwrap();
    let api = fleet.env("development").unwrap().api_url();
    let c = reqwest::Client::new();
    let r = c.post(format!("{api}/deploy")).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r =
        c.post(format!("{api}/deploy")).json(&serde_json::json!({"version": "1.0; rm -rf /"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c.post(format!("{api}/deploy")).json(&serde_json::json!({"tag": "1.5.0"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("version"));
    assert_eq!(running_version(&api).await, "1.5.0");
}

#[tokio::test]
async fn a_later_deploy_supersedes_a_pending_one() {
    let fleet = Fleet::start().await.unwrap();
    let api = fleet.env("development").unwrap().api_url();
    assert_eq!(deploy(&api, "1.6.0-bad").await.status(), 202);
    assert_eq!(deploy(&api, "1.4.0").await.status(), 202);
    let v: serde_json::Value = get(&format!("{api}/version")).await.json().await.unwrap();
    assert_eq!(v["pending"], "1.4.0");
    eventually(10, "1.4.0 to run", || async { (running_version(&api).await == "1.4.0").then_some(()) }).await;
    // The superseded deploy's timer fires too (same delay, earlier); it must not switch back.
    tokio::time::sleep(opsdeck::demo::DEPLOY_DELAY).await;
    assert_eq!(running_version(&api).await, "1.4.0");
}

#[tokio::test]
async fn logs_page_by_cursor_without_repeats() {
    let fleet = Fleet::start().await.unwrap();
    let api = fleet.env("development").unwrap().api_url();
    let mut cursor = 0u64;
    let mut seen = Vec::new();
    // The demo's development API logs about one line a second; the bound is generous because
    // the suite runs its tests side by side on two cores (17 lines in 15 s was seen there).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    while seen.len() < 20 {
        assert!(tokio::time::Instant::now() < deadline, "only {} log lines in 45 s", seen.len());
        let r = get(&format!("{api}/logs?since={cursor}")).await;
        let next: u64 = r.headers()["x-next-cursor"].to_str().unwrap().parse().unwrap();
        assert!(next >= cursor);
        let body = r.text().await.unwrap();
        assert_eq!(body.lines().count() as u64, next - cursor, "one line per cursor step");
        for l in body.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            for k in ["timestamp", "level", "logger", "message", "module", "function", "line"] {
                assert!(v.get(k).is_some(), "{k} missing: {l}");
            }
            seen.push(l.to_string());
        }
        cursor = next;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no line served twice");
    let r = get(&format!("{api}/logs?since=abc")).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn scraper_workers_serve_their_platforms() {
    let fleet = Fleet::start().await.unwrap();
    for e in fleet.envs() {
        let mut platforms = std::collections::BTreeSet::new();
        for w in e.worker_urls() {
            let t = eventually(10, "worker traffic", || {
                let w = w.clone();
                async move {
                    let t = text(&w).await;
                    t.contains("scraper_requests_total{").then_some(t)
                }
            })
            .await;
            assert!(t.contains("# TYPE scraper_requests_total counter"));
            assert!(t.contains("# TYPE active_scrapers gauge"));
            for s in parse(&t) {
                if s.metric == "scraper_requests_total" {
                    platforms.insert(s.labels.get("platform").unwrap().to_string());
                    assert!(matches!(s.labels.get("status"), Some("success") | Some("error")));
                }
            }
        }
        assert!(platforms.len() >= 3, "{}: {platforms:?}", e.name);
    }
}

#[tokio::test]
async fn written_config_parses_and_rule_file_lands_next_to_it() {
    let fleet = Fleet::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet.write_rule_files(dir.path()).unwrap();
    let path = dir.path().join("demo.toml");
    std::fs::write(&path, fleet.config_toml(Path::new("/tmp/st"))).unwrap();
    let cfg = Config::load(&path).unwrap();
    for f in &cfg.alerting.rule_files {
        assert!(cfg.resolve(f).exists(), "{f} next to the config");
    }
    let d = fleet.describe();
    for e in fleet.envs() {
        assert!(d.contains(&e.api_url()), "{d}");
    }
}

#[tokio::test]
async fn deploy_needs_the_token_when_one_is_set() {
    let fleet = Fleet::start_with(Some("s3cret".into())).await.unwrap();
    let api = fleet.env("staging").unwrap().api_url();
    let text = fleet.config_toml(Path::new("/tmp/st"));
    assert!(text.contains("token_env = \"OPSDECK_DEMO_TOKEN\""), "{text}");
    assert_eq!(deploy(&api, "1.4.0").await.status(), 401);
    let c = reqwest::Client::new();
    let r = c.post(format!("{api}/deploy")).bearer_auth("wrong").json(&serde_json::json!({"version": "1.4.0"})).send();
    assert_eq!(r.await.unwrap().status(), 401);
    let r = c.post(format!("{api}/deploy")).bearer_auth("s3cret").json(&serde_json::json!({"version": "1.4.0"})).send();
    assert_eq!(r.await.unwrap().status(), 202);
    eventually(10, "1.4.0 to run", || async { (running_version(&api).await == "1.4.0").then_some(()) }).await;
}
