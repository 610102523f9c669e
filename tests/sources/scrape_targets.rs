//! The scrape path against real HTTP servers on loopback: healthy, 500, hanging, refused, huge,
//! garbage, too many samples, a series that disappears. Each is an outcome, never a hang or panic.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use opsdeck::scrape::target::{scrape, ScrapeError, Target, TargetState, ACCEPT_HEADER};
use opsdeck::tsdb::{is_stale, Matcher, Storage, StorageOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Server {
    base: String,
    accept: Arc<Mutex<Option<String>>>,
}

async fn start() -> Server {
    let accept = Arc::new(Mutex::new(None));
    let seen = accept.clone();
    let flips = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/ok",
            get(move |h: HeaderMap| {
                let seen = seen.clone();
                async move {
                    *seen.lock().unwrap() = h.get("accept").and_then(|v| v.to_str().ok()).map(String::from);
                    (
                        [("content-type", "text/plain; version=0.0.4")],
                        "# TYPE a_total counter\na_total{path=\"/x\"} 7\nb 1.5 \n",
                    )
                }
            }),
        )
        .route("/500", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/hang", get(std::future::pending::<&'static str>))
        .route(
            "/huge",
            get(|| async {
                // Endless chunks without a Content-Length: the limit must trip while streaming.
                let chunk = bytes_chunk();
                let s = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
                Response::new(Body::from_stream(s))
            }),
        )
        .route("/big-declared", get(|| async { "x".repeat(4096) }))
        .route(
            "/garbage",
            get(|| async { (StatusCode::OK, vec![0xffu8, 0x00, b'{', b'"', 0x80, b'\n', b'\r']).into_response() }),
        )
        .route("/many", get(|| async { (0..100).map(|i| format!("m{{i=\"{i}\"}} {i}\n")).collect::<String>() }))
        .route(
            "/openmetrics",
            get(|| async {
                (
                    [("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    "# TYPE c counter\nc_total 3\nc_created 1700000000\n# EOF\n",
                )
            }),
        )
        .route(
            "/flip",
            get(move || {
                let n = flips.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        "keep 1\ngone 1\n"
                    } else {
                        "keep 2\n"
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { base: format!("http://{addr}"), accept }
}

fn bytes_chunk() -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b'#'; 64 << 10])
}

fn target(url: String) -> Target {
    let mut t = Target::new("staging", "api", &url);
    t.timeout = Duration::from_millis(800);
    t
}

fn series(st: &Storage, name: &str) -> Vec<(String, Vec<f64>)> {
    let m = [Matcher::equal("__name__", name)];
    st.select(&m).map(|s| (s.labels.to_string(), s.samples().iter().map(|x| x.v).collect())).collect()
}

#[tokio::test]
async fn healthy_target_is_ingested_with_target_labels() {
    let srv = start().await;
    let client = reqwest::Client::new();
    let t = target(format!("{}/ok", srv.base));
    let out = scrape(&client, &t).await;
    assert_eq!(srv.accept.lock().unwrap().as_deref(), Some(ACCEPT_HEADER));
    let mut st = Storage::new(StorageOptions::default());
    let mut ts = TargetState::new(t.clone());
    let rep = ts.ingest(&mut st, &out, 1_000);
    assert!(rep.up, "{rep:?}");
    assert_eq!((rep.samples_scraped, rep.series_added), (2, 2));
    let inst = t.instance.clone();
    assert_eq!(
        series(&st, "a_total")[0].0,
        format!("a_total{{env=\"staging\", instance=\"{inst}\", job=\"api\", path=\"/x\"}}")
    );
    assert_eq!(series(&st, "b")[0].1, vec![1.5]);
    assert_eq!(series(&st, "up")[0].1, vec![1.0]);
    for n in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert_eq!(series(&st, n).len(), 1, "{n}");
    }
    assert_eq!(series(&st, "scrape_samples_scraped")[0].1, vec![2.0]);
}

#[tokio::test]
async fn openmetrics_by_content_type() {
    let srv = start().await;
    let t = target(format!("{}/openmetrics", srv.base));
    let out = scrape(&reqwest::Client::new(), &t).await;
    let mut st = Storage::new(StorageOptions::default());
    let rep = TargetState::new(t).ingest(&mut st, &out, 1_000);
    assert!(rep.up, "{rep:?}");
    assert_eq!(series(&st, "c_created")[0].1, vec![1_700_000_000.0]);
}

/// Each failure is a failed scrape with its reason, quickly, and the report says `up` 0.
#[tokio::test]
async fn failures_are_outcomes_with_reasons() {
    let srv = start().await;
    let client = reqwest::Client::new();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/metrics")
    };
    type Want = Box<dyn Fn(&ScrapeError) -> bool>;
    let cases: Vec<(String, Want)> = vec![
        (
            format!("{}/500", srv.base),
            Box::new(|e| matches!(e, ScrapeError::Status(s) if s == "500 Internal Server Error")),
        ),
        (format!("{}/hang", srv.base), Box::new(|e| matches!(e, ScrapeError::Timeout(_)))),
        (refused, Box::new(|e| matches!(e, ScrapeError::Request(m) if m.contains("onnection refused")))),
        (format!("{}/huge", srv.base), Box::new(|e| matches!(e, ScrapeError::BodySizeLimit(_)))),
        (format!("{}/big-declared", srv.base), Box::new(|e| matches!(e, ScrapeError::BodySizeLimit(1000)))),
    ];
    for (url, want) in cases {
        let mut t = target(url.clone());
        t.body_size_limit = if url.ends_with("/huge") { 1 << 20 } else { 1000 };
        let start = Instant::now();
        let out = scrape(&client, &t).await;
        // Bounded by the timeout (plus slack for a loaded machine), never a hang.
        assert!(start.elapsed() < Duration::from_secs(5), "{url} took {:?}", start.elapsed());
        let err = out.result.as_ref().expect_err(&url);
        assert!(want(err), "{url}: {err:?}");
        let mut st = Storage::new(StorageOptions::default());
        let rep = TargetState::new(t).ingest(&mut st, &out, 1_000);
        assert!(!rep.up);
        assert_eq!(rep.error.as_deref(), Some(err.to_string().as_str()));
        assert_eq!(series(&st, "up")[0].1, vec![0.0]);
    }
}

#[tokio::test]
async fn garbage_and_sample_limit_fail_the_scrape() {
    let srv = start().await;
    let client = reqwest::Client::new();
    let mut st = Storage::new(StorageOptions::default());
    let t = target(format!("{}/garbage", srv.base));
    let rep = TargetState::new(t.clone()).ingest(&mut st, &scrape(&client, &t).await, 1_000);
    assert!(!rep.up);
    assert!(rep.error.as_deref().unwrap().starts_with("parse error: line 1:"), "{rep:?}");

    let mut t = target(format!("{}/many", srv.base));
    t.sample_limit = 10;
    let rep = TargetState::new(t.clone()).ingest(&mut st, &scrape(&client, &t).await, 1_000);
    assert_eq!(rep.error.as_deref(), Some("sample limit exceeded (100 samples, limit 10)"));
    assert_eq!(rep.samples_scraped, 100);
    assert!(series(&st, "m").is_empty(), "nothing of a failed scrape is stored, not even empty series");

    let mut t = target(format!("{}/many", srv.base));
    t.label_limit = 4;
    let rep = TargetState::new(t.clone()).ingest(&mut st, &scrape(&client, &t).await, 2_000);
    assert!(rep.error.unwrap().starts_with("label_limit exceeded (metric: m, number of labels: 5, limit: 4)"));
}

#[tokio::test]
async fn disappearing_series_and_failed_scrapes_write_stale_markers() {
    let srv = start().await;
    let client = reqwest::Client::new();
    let mut st = Storage::new(StorageOptions::default());
    let t = target(format!("{}/flip", srv.base));
    let mut ts = TargetState::new(t.clone());
    assert!(ts.ingest(&mut st, &scrape(&client, &t).await, 1_000).up);
    let rep = ts.ingest(&mut st, &scrape(&client, &t).await, 2_000);
    assert_eq!(rep.stale_markers, 1);
    let gone = &series(&st, "gone")[0].1;
    assert_eq!(gone.len(), 2);
    assert!(is_stale(gone[1]));
    assert_eq!(series(&st, "keep")[0].1, vec![1.0, 2.0]);

    // The target then fails: every series it had goes stale, `up` drops to 0.
    let mut dead = t.clone();
    dead.url = format!("{}/500", srv.base);
    let out = scrape(&client, &dead).await;
    let rep = ts.ingest(&mut st, &out, 3_000);
    assert!(!rep.up);
    assert_eq!(rep.stale_markers, 1);
    assert!(is_stale(*series(&st, "keep")[0].1.last().unwrap()));
    assert_eq!(series(&st, "up")[0].1, vec![1.0, 1.0, 0.0]);
}

/// The per-target task sends owned outcomes on a channel and ends when the receiver goes away.
#[tokio::test]
async fn run_loop_sends_outcomes_and_stops_with_its_receiver() {
    let srv = start().await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let t = target(format!("{}/ok", srv.base));
    let task =
        tokio::spawn(opsdeck::scrape::target::run(reqwest::Client::new(), t, Duration::from_millis(100), 7u32, tx));
    for _ in 0..2 {
        let (key, out) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
        assert_eq!(key, 7);
        assert!(out.result.is_ok());
    }
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("the task ends").unwrap();
}
