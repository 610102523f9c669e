//! The real Prometheus (Debian's `prometheus`, started here on a loopback port) scrapes the demo
//! fleet; opsdeck scrapes the same targets into its own store at the same pace. The same
//! expressions, asked of Prometheus through `prom_api` and of the local engine, must agree within
//! scrape-timing tolerance.

use crate::common::have_prometheus;
use opsdeck::prom_api::Client;
use opsdeck::promql::{self, Value};
use opsdeck::scrape::target::{scrape, Target, TargetState};
use opsdeck::tsdb::{Labels, Storage, StorageOptions};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Prom(Child);

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Vector results keyed by label set.
fn by_labels(v: Value) -> BTreeMap<String, f64> {
    match v {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        Value::Scalar(x) => BTreeMap::from([(String::new(), x)]),
        other => panic!("expected a vector, got {other:?}"),
    }
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= abs || (a - b).abs() <= rel * a.abs().max(b.abs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_and_local_agree() {
    if !have_prometheus() {
        return;
    }
    let fleet = opsdeck::demo::Fleet::start().await.unwrap();
    let mut targets = Vec::new();
    for e in fleet.envs() {
        targets.push(Target::new(e.name, "api", &format!("{}/metrics", e.api_url())));
        for w in e.worker_urls() {
            targets.push(Target::new(e.name, "scraper-worker", &w));
        }
    }
    // Prometheus: the same targets, with `env` as a target label like opsdeck's.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for job in ["api", "scraper-worker"] {
        cfg.push_str(&format!("  - job_name: {job}\n    static_configs:\n"));
        for t in targets.iter().filter(|t| t.job == job) {
            let path = reqwest::Url::parse(&t.url).unwrap().path().to_string();
            assert_eq!(path, "/metrics");
            cfg.push_str(&format!("      - targets: ['{}']\n        labels: {{env: '{}'}}\n", t.instance, t.env));
        }
    }
    std::fs::write(dir.path().join("prometheus.yml"), &cfg).unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start prometheus");
    let _prom = Prom(child);
    let remote = Client::new(&format!("http://127.0.0.1:{port}"), None, Duration::from_secs(5)).unwrap();

    // Scrape locally every second while Prometheus does the same, until Prometheus has enough.
    let client = reqwest::Client::new();
    let mut states: Vec<TargetState> = targets.iter().cloned().map(TargetState::new).collect();
    let mut st = Storage::new(StorageOptions::default());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds = 0;
    let mut remote_ready = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while rounds < 8 || !remote_ready {
        assert!(Instant::now() < deadline, "Prometheus did not scrape every target within 60 s");
        tick.tick().await;
        let outs = futures::future::join_all(targets.iter().map(|t| scrape(&client, t))).await;
        for (s, o) in states.iter_mut().zip(outs) {
            let t = o.started_ms;
            let rep = s.ingest(&mut st, &o, t);
            assert!(rep.up, "local scrape of {} failed: {:?}", s.target().url, rep.error);
        }
        rounds += 1;
        if !remote_ready {
            // Ready once every target has 12 scrapes in Prometheus: a full rate window on both sides.
            if let Ok(v) = remote.query("count_over_time(up[1m]) >= 12", None).await {
                remote_ready = by_labels(v).len() == targets.len();
            }
        }
    }
    let t = now_ms() - 1500;

    // `up`: same series, all 1.
    let r = by_labels(remote.query("up", Some(t)).await.unwrap());
    let l = by_labels(promql::query(&st, "up", t).unwrap());
    assert_eq!(r.keys().collect::<Vec<_>>(), l.keys().collect::<Vec<_>>(), "up: same series");
    assert!(r.values().chain(l.values()).all(|&v| v == 1.0));

    // Series per target and samples per scrape: the same exposition, the same report series.
    for (expr, abs) in [
        ("count by (env, job, instance) ({job!=\"\"})", 2.0),
        ("scrape_samples_scraped", 2.0),
        ("scrape_series_added * 0", 0.0),
    ] {
        let r = by_labels(remote.query(expr, Some(t)).await.unwrap());
        let l = by_labels(promql::query(&st, expr, t).unwrap());
        assert_eq!(r.keys().collect::<Vec<_>>(), l.keys().collect::<Vec<_>>(), "{expr}: same series");
        for (k, rv) in &r {
            assert!(close(*rv, l[k], 0.0, abs), "{expr} {k}: remote {rv} local {}", l[k]);
        }
    }

    // Moving traffic: counters and rates agree within scrape-timing tolerance. The two scrapers
    // read the fleet up to a second apart, so a counter may differ by about a second of traffic
    // (development serves ~3 requests/s in bursts): the absolute slack is a few seconds' worth.
    for (expr, rel, abs) in [
        ("sum by (env) (http_requests_total)", 0.05, 12.0),
        ("sum by (env, job) (rate(http_requests_total[10s]))", 0.3, 1.0),
        ("sum by (env) (scraper_requests_total)", 0.05, 12.0),
    ] {
        let r = by_labels(remote.query(expr, Some(t)).await.unwrap());
        let l = by_labels(promql::query(&st, expr, t).unwrap());
        assert!(!r.is_empty(), "{expr}: Prometheus has no data");
        assert_eq!(r.keys().collect::<Vec<_>>(), l.keys().collect::<Vec<_>>(), "{expr}: same series");
        for (k, rv) in &r {
            assert!(close(*rv, l[k], rel, abs), "{expr} {k}: remote {rv} local {}", l[k]);
        }
    }

    // A range query: `up` over the last 4 s, every second, from both sides.
    let Value::Matrix(m) = remote.query_range("up", t - 4000, t, Duration::from_secs(1)).await.unwrap() else {
        panic!("query_range must return a matrix")
    };
    let local = promql::Engine::default().range(&st, &promql::parse("up").unwrap(), t - 4000, t, 1000).unwrap();
    let key = |l: &Labels| l.to_string();
    let mut rk: Vec<_> = m.iter().map(|s| (key(&s.labels), s.samples.len())).collect();
    let mut lk: Vec<_> = local.iter().map(|s| (key(&s.labels), s.samples.len())).collect();
    rk.sort();
    lk.sort();
    assert_eq!(rk, lk);

    // A bad expression is a clear API error, not a panic.
    let e = remote.query("sum(", None).await.unwrap_err().to_string();
    assert!(e.contains("bad_data"), "{e}");

    // The dashboard's built-in panels, evaluated by the server ([prometheus] mode): every
    // environment has an error-rate line and a p95 line.
    let w = opsdeck::panels::Window::ending_at(t, 30_000, 10);
    let panels = opsdeck::engine::remote_panels(&remote, &opsdeck::panels::builtin("10s"), w).await;
    let errors = panels.iter().find(|p| p.id == "errors").unwrap();
    assert!(errors.note.is_none(), "{:?}", errors.note);
    let envs: std::collections::BTreeSet<_> = errors.series.iter().filter_map(|s| s.env.clone()).collect();
    assert_eq!(envs.len(), 3, "{envs:?}");
    assert!(errors.series.iter().all(|s| s.last().is_some()), "every environment has a current error rate");
    let latency = panels.iter().find(|p| p.id == "latency").unwrap();
    assert!(latency.series.iter().any(|s| s.label.ends_with("p95") && s.last().is_some()));
    let bad = opsdeck::engine::remote_panels(
        &remote,
        &opsdeck::panels::user(&[opsdeck::config::PanelConfig {
            title: "broken".into(),
            expr: "sum(".into(),
            unit: opsdeck::config::Unit::Plain,
            kind: opsdeck::config::PanelKind::Line,
        }]),
        w,
    )
    .await;
    assert!(bad[0].note.as_deref().unwrap_or("").contains("query error"), "{:?}", bad[0].note);
}
