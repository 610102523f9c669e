//! The health poller against real HTTP servers on loopback: 200 with a version, 503, a hang, a
//! refused port, garbage JSON, DNS failure; and the spawned poller's events (up, down, stale,
//! backoff).

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use opsdeck::config::{Environment, HealthConfig};
use opsdeck::health;
use opsdeck::model::{Event, Health};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn cfg(url: String, timeout_ms: u64) -> HealthConfig {
    HealthConfig {
        url,
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(timeout_ms),
        version_field: "version".into(),
    }
}

async fn serve(router: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, router).await.unwrap() });
    format!("http://{addr}")
}

/// A server that accepts connections and never answers.
async fn hanging() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    format!("http://{addr}/health")
}

/// A port nobody listens on.
async fn refused() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/health")
}

fn json(code: StatusCode, body: &'static str) -> axum::response::Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[tokio::test]
async fn up_with_version_from_a_dotted_path() {
    let base = serve(
        Router::new()
            .route("/health", get(|| async { json(StatusCode::OK, r#"{"status":"ok","build":{"version":"1.5.0"}}"#) })),
    )
    .await;
    let mut c = cfg(format!("{base}/health"), 2000);
    c.version_field = "build.version".into();
    let r = health::check_once(&health::client(), &c).await;
    assert!(r.up, "{r:?}");
    assert_eq!(r.version.as_deref(), Some("1.5.0"));
    assert!(r.latency_ms.unwrap() >= 0.0);
    assert_eq!(r.reason, None);
}

#[tokio::test]
async fn http_503_is_down_with_its_status() {
    let base = serve(Router::new().route(
        "/health",
        get(|| async { json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"error","version":"1.6.0-bad"}"#) }),
    ))
    .await;
    let r = health::check_once(&health::client(), &cfg(format!("{base}/health"), 2000)).await;
    assert!(!r.up);
    assert_eq!(r.reason.as_deref(), Some("HTTP 503"));
    assert_eq!(r.http_status, Some(503));
    assert_eq!(r.version.as_deref(), Some("1.6.0-bad"), "the failing version is still reported");
}

#[tokio::test]
async fn a_hang_times_out_within_the_timeout() {
    let url = hanging().await;
    let t0 = Instant::now();
    let r = health::check_once(&health::client(), &cfg(url, 300)).await;
    assert!(t0.elapsed() < Duration::from_secs(2), "took {:?}", t0.elapsed());
    assert!(!r.up);
    assert_eq!(r.reason.as_deref(), Some("timeout after 300ms"));
    assert!(r.no_http_answer());
}

#[tokio::test]
async fn refused_port_is_named() {
    let r = health::check_once(&health::client(), &cfg(refused().await, 2000)).await;
    assert!(!r.up);
    assert_eq!(r.reason.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn garbage_json_is_bad_json() {
    let base =
        serve(Router::new().route("/health", get(|| async { json(StatusCode::OK, r#"{"status": "ok", "vers"#) })))
            .await;
    let r = health::check_once(&health::client(), &cfg(format!("{base}/health"), 2000)).await;
    assert!(!r.up);
    assert!(r.reason.as_deref().unwrap().starts_with("bad JSON"), "{r:?}");
}

#[tokio::test]
async fn hostile_body_text_is_sanitised() {
    let base = serve(Router::new().route(
        "/health",
        get(|| async {
            json(StatusCode::OK, "{\"status\":\"down\\u001b]0;pwned\\u0007\",\"version\":\"\\u001b[2J1.0\"}")
        }),
    ))
    .await;
    let r = health::check_once(&health::client(), &cfg(format!("{base}/health"), 2000)).await;
    let all = format!("{:?}{:?}", r.reason, r.version);
    assert!(!r.up);
    assert!(!r.reason.as_deref().unwrap().contains('\x1b') && !r.version.as_deref().unwrap().contains('\x1b'), "{all}");
}

#[tokio::test]
async fn oversized_body_is_cut_not_read_whole() {
    let base = serve(Router::new().route(
        "/health",
        get(|| async { (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "x".repeat(4 << 20)) }),
    ))
    .await;
    let r = health::check_once(&health::client(), &cfg(format!("{base}/health"), 5000)).await;
    assert!(!r.up);
    assert!(r.reason.as_deref().unwrap().contains("larger than"), "{r:?}");
}

#[tokio::test]
async fn unknown_host_is_a_dns_error() {
    let r = health::check_once(&health::client(), &cfg("http://no-such-host.invalid/health".into(), 5000)).await;
    assert!(!r.up);
    let reason = r.reason.unwrap();
    assert!(reason.starts_with("DNS"), "{reason}");
}

fn env(name: &str, c: HealthConfig) -> Environment {
    Environment {
        name: name.into(),
        protected: false,
        health: Some(c),
        scrape: vec![],
        logs: None,
        deploy: None,
        promote_from: None,
        components: vec![],
        backup: None,
    }
}

/// Wait for the next health event of `name` satisfying `pred`, up to `secs`.
async fn next_matching(
    rx: &mut mpsc::Receiver<Event>,
    name: &str,
    secs: u64,
    pred: impl Fn(&opsdeck::model::EnvHealth) -> bool,
) -> opsdeck::model::EnvHealth {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let ev =
            tokio::time::timeout_at(deadline, rx.recv()).await.expect("no matching event in time").expect("closed");
        if let Event::Health { env, health } = ev {
            if env == name && pred(&health) {
                return health;
            }
        }
    }
}

#[tokio::test]
async fn poller_follows_an_endpoint_up_down_and_up_again() {
    let code = Arc::new(AtomicU16::new(200));
    let c2 = code.clone();
    let base = serve(Router::new().route(
        "/health",
        get(move || {
            let code = c2.load(Ordering::SeqCst);
            async move {
                let s = StatusCode::from_u16(code).unwrap();
                json(s, r#"{"status":"ok","version":"1.4.1"}"#)
            }
        }),
    ))
    .await;
    let dead = refused().await;
    let (tx, mut rx) = mpsc::channel(64);
    let _poller =
        health::spawn(&[env("production", cfg(format!("{base}/health"), 1000)), env("staging", cfg(dead, 1000))], tx);
    let h = next_matching(&mut rx, "production", 5, |h| h.health == Health::Up).await;
    assert_eq!(h.version.as_deref(), Some("1.4.1"));
    assert!(h.latency_ms.is_some() && h.last_ok.is_some() && h.checks_ok >= 1);
    let s = next_matching(&mut rx, "staging", 5, |h| h.health == Health::Down).await;
    assert_eq!(s.reason.as_deref(), Some("connection refused"));
    code.store(503, Ordering::SeqCst);
    let h = next_matching(&mut rx, "production", 5, |h| h.health == Health::Down).await;
    assert_eq!(h.reason.as_deref(), Some("HTTP 503"));
    assert_eq!(h.latency_history.back(), Some(&None), "a failed check is a gap in the sparkline");
    code.store(200, Ordering::SeqCst);
    let h = next_matching(&mut rx, "production", 5, |h| h.health == Health::Up).await;
    assert!(h.checks_total > h.checks_ok);
}

#[tokio::test]
async fn a_hanging_endpoint_goes_stale_before_it_times_out() {
    let url = hanging().await;
    let mut c = cfg(url, 3000);
    c.interval = Duration::from_millis(200);
    let (tx, mut rx) = mpsc::channel(64);
    let _poller = health::spawn(&[env("development", c)], tx);
    let t0 = Instant::now();
    let h = next_matching(&mut rx, "development", 3, |_| true).await;
    assert_eq!(h.health, Health::Stale, "first word while hanging is stale: {h:?}");
    assert!(t0.elapsed() < Duration::from_millis(2500));
    assert!(h.reason.unwrap().starts_with("no answer for"));
    let h = next_matching(&mut rx, "development", 5, |h| h.health == Health::Down).await;
    assert_eq!(h.reason.as_deref(), Some("timeout after 3s"));
}

#[tokio::test]
async fn a_dead_endpoint_is_retried_with_growing_pauses() {
    let (tx, mut rx) = mpsc::channel(64);
    let mut c = cfg(refused().await, 500);
    c.interval = Duration::from_millis(100);
    let _poller = health::spawn(&[env("staging", c)], tx);
    let mut times = Vec::new();
    for _ in 0..5 {
        next_matching(&mut rx, "staging", 10, |h| h.health == Health::Down).await;
        times.push(Instant::now());
    }
    // Pauses: 100ms, 100ms, 200ms, 400ms (backoff starts with the second failure in a row).
    let last_gap = times[4] - times[3];
    assert!(
        last_gap >= Duration::from_millis(380),
        "gaps {:?}",
        times.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
    );
}
