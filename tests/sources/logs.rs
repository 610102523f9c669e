//! Log sources and the headless command against real files, real processes and a real HTTP server
//! on loopback. Conditions are polled with a deadline, never slept for.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use opsdeck::config::LogSource;
use opsdeck::logs::{correlate, spawn_source, Level, LogBatch, LogBuffer, LogRecord, SourceOptions, Start, Stream};
use tokio::sync::mpsc;

fn opts() -> SourceOptions {
    SourceOptions {
        max_line_bytes: 64 << 10,
        start: Start::Beginning,
        poll: Duration::from_millis(20),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        follow: true,
        filter: None,
        batch_lines: 1000,
    }
}

/// Collects records (and notices) until `done` holds on what arrived, or fails after 10 s.
struct Collector {
    rx: mpsc::Receiver<LogBatch>,
    records: Vec<LogRecord>,
    notices: Vec<String>,
}

impl Collector {
    async fn until(&mut self, what: &str, done: impl Fn(&[LogRecord], &[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.records, &self.notices) {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; got {:?} / notices {:?}", self.messages(), self.notices);
            }
            // Short waits, so a condition outside the channel (a server's hit count) is re-checked.
            match tokio::time::timeout(Duration::from_millis(50), self.rx.recv()).await {
                Ok(Some(b)) => {
                    self.records.extend(b.records);
                    self.notices.extend(b.notice);
                }
                Ok(None) => {
                    panic!("source ended while waiting for {what}; got {:?} {:?}", self.messages(), self.notices)
                }
                Err(_) => {}
            }
        }
    }

    async fn until_messages(&mut self, want: &[&str]) {
        self.until(&format!("{want:?}"), |r, _| r.len() >= want.len()).await;
        assert_eq!(self.messages(), want);
    }

    fn messages(&self) -> Vec<String> {
        self.records.iter().map(|r| r.message.clone()).collect()
    }
}

fn start(env: &str, src: LogSource, o: SourceOptions) -> Collector {
    let (tx, rx) = mpsc::channel(16);
    spawn_source(env, &src, o, tx);
    Collector { rx, records: vec![], notices: vec![] }
}

fn file_src(p: &Path) -> LogSource {
    LogSource::File { path: p.to_string_lossy().into_owned() }
}

fn append(p: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn file_follows_rename_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    append(&p, "one\n");
    let mut c = start("prod", file_src(&p), opts());
    c.until_messages(&["one"]).await;
    append(&p, "two\n");
    std::fs::rename(&p, dir.path().join("app.log.1")).unwrap();
    // The writer keeps its descriptor to the renamed file for a moment...
    append(&dir.path().join("app.log.1"), "three\n");
    c.until_messages(&["one", "two", "three"]).await;
    // ...then reopens the path.
    append(&p, "four\n");
    c.until_messages(&["one", "two", "three", "four"]).await;
    assert!(c.notices.iter().any(|n| n.contains("rotated")), "{:?}", c.notices);
    assert!(c.records.iter().all(|r| r.env.as_deref() == Some("prod")));
}

#[tokio::test]
async fn file_follows_copy_truncate_and_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    append(&p, "a-long-first-line\nsecond-line\n");
    let mut c = start("", file_src(&p), opts());
    c.until_messages(&["a-long-first-line", "second-line"]).await;
    // copy-truncate: copy away, truncate in place (same inode), the writer carries on.
    std::fs::copy(&p, dir.path().join("app.log.1")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(0).unwrap();
    c.until("the truncation notice", |_, n| n.iter().any(|n| n.contains("truncated"))).await;
    append(&p, "after\n");
    c.until_messages(&["a-long-first-line", "second-line", "after"]).await;
    assert!(c.records.iter().all(|r| r.env.is_none()));
}

#[tokio::test]
async fn file_truncated_and_rewritten_past_the_read_position_between_polls() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    append(&p, "old\n");
    // A slow poll, so the truncate-and-rewrite below lands between two polls.
    let mut c = start("", file_src(&p), SourceOptions { poll: Duration::from_millis(400), ..opts() });
    c.until_messages(&["old"]).await;
    std::fs::write(&p, "new-first-line-longer-than-the-old-one\nnew-second\n").unwrap();
    c.until_messages(&["old", "new-first-line-longer-than-the-old-one", "new-second"]).await;
}

#[tokio::test]
async fn file_that_appears_later() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("later.log");
    let mut c = start("dev", file_src(&p), opts());
    c.until("the waiting notice", |_, n| n.iter().any(|n| n.contains("waiting"))).await;
    append(&p, "{\"level\":\"warn\",\"msg\":\"born\"}\n");
    c.until_messages(&["born"]).await;
    assert_eq!(c.records[0].level, Level::Warning);
}

#[tokio::test]
async fn dashboard_start_reads_only_the_tail_of_a_big_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.log");
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("line {i:05}\n"));
    }
    append(&p, &text);
    let o = SourceOptions { start: Start::Tail(110), ..opts() };
    let mut c = start("", file_src(&p), o);
    c.until("the last ten lines", |r, _| r.last().is_some_and(|r| r.message == "line 09999")).await;
    assert_eq!(c.records.len(), 10, "{:?}", c.messages());
    assert_eq!(c.records[0].message, "line 09990");
}

#[tokio::test]
async fn a_2mb_line_is_cut_and_invalid_utf8_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.log");
    let mut data = format!("{{\"level\":\"ERROR\",\"request_id\":\"big\",\"message\":\"{}\"}}\n", "x".repeat(2 << 20));
    data.push_str("after the big one\n");
    std::fs::write(&p, [data.as_bytes(), b"bad \xff\xfe bytes\n"].concat()).unwrap();
    let mut c = start("", file_src(&p), SourceOptions { follow: false, ..opts() });
    c.until("three records", |r, _| r.len() >= 3).await;
    let big = &c.records[0];
    assert_eq!((big.level, big.request_id.as_deref()), (Level::Error, Some("big")));
    assert!(big.cut_bytes > 2_000_000, "{}", big.cut_bytes);
    assert!(big.message.len() < 70_000 && big.message.contains("cut"), "{}", big.message.len());
    assert_eq!(c.records[1].message, "after the big one");
    assert_eq!(c.records[2].message, "bad \u{fffd}\u{fffd} bytes");
}

#[tokio::test]
async fn command_source_restarts_and_captures_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    // Each run appends to a file, so the test can tell runs apart without timing.
    let script = format!("echo x >> {0}; echo \"run $(wc -l < {0})\"; echo 'oops' >&2; exit 3", count.display());
    let src = LogSource::Command { argv: vec!["sh".into(), "-c".into(), script] };
    let mut c = start("stg", src, opts());
    c.until("two runs", |r, _| r.iter().any(|r| r.message.trim() == "run 2")).await;
    assert!(c.records.iter().any(|r| r.stream == Stream::Stderr && r.message == "oops"));
    assert!(c.notices.iter().any(|n| n.contains("exited") && n.contains("restarting")), "{:?}", c.notices);
}

#[tokio::test]
async fn endless_stream_stays_within_the_buffer_bounds() {
    let line = r#"{"level":"INFO","message":"again and again","request_id":"r"}"#;
    let src = LogSource::Command { argv: vec!["yes".into(), line.into()] };
    let (tx, mut rx) = mpsc::channel(4);
    spawn_source("prod", &src, opts(), tx);
    let mut buf = LogBuffer::new(1_000_000, 256 << 10);
    let mut seen = 0u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen < 200_000 {
        assert!(Instant::now() < deadline, "only {seen} lines in 20 s");
        let b = rx.recv().await.expect("yes keeps running");
        for r in b.records {
            buf.push(r, 0);
            seen += 1;
            assert!(buf.bytes() <= 256 << 10, "{} bytes after {seen} lines", buf.bytes());
        }
    }
    assert_eq!(buf.dropped() + buf.len() as u64, seen);
    assert!(buf.dropped() > 0);
    drop(rx); // the source stops and `yes` is killed with it
}

#[tokio::test]
async fn command_that_cannot_start_is_reported() {
    let src = LogSource::Command { argv: vec!["/nonexistent/opsdeck-test-binary".into()] };
    let mut c = start("x", src, opts());
    c.until("the failure notice", |_, n| n.iter().any(|n| n.contains("cannot run"))).await;
}

/// A loopback server in the shape the demo fleet serves: `GET /logs?since=N` → the lines after N
/// and `X-Next-Cursor`; it requires a bearer token.
async fn log_server(lines: Arc<std::sync::Mutex<Vec<String>>>, hits: Arc<AtomicUsize>) -> String {
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    #[derive(serde::Deserialize)]
    struct Q {
        since: Option<usize>,
    }
    type St = (Arc<std::sync::Mutex<Vec<String>>>, Arc<AtomicUsize>);
    async fn logs(State((lines, hits)): State<St>, Query(q): Query<Q>, h: HeaderMap) -> axum::response::Response {
        hits.fetch_add(1, Ordering::SeqCst);
        if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer s3cret") {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let lines = lines.lock().unwrap();
        let from = q.since.unwrap_or(0).min(lines.len());
        let body: String = lines[from..].iter().map(|l| format!("{l}\n")).collect();
        ([("x-next-cursor", lines.len().to_string())], body).into_response()
    }
    // The same lines without a cursor: every poll returns everything.
    async fn all(State((lines, hits)): State<St>) -> String {
        hits.fetch_add(1, Ordering::SeqCst);
        lines.lock().unwrap().iter().map(|l| format!("{l}\n")).collect()
    }
    // A body that streams: one line now, the next only once the test has seen the first.
    async fn stream() -> axum::body::Body {
        let parts = futures::stream::iter(0..2).then(|i| async move {
            if i == 1 {
                STREAM_GO.notified().await;
            }
            Ok::<_, std::io::Error>(format!("{{\"level\":\"INFO\",\"message\":\"s{i}\"}}\n"))
        });
        axum::body::Body::from_stream(parts)
    }
    let app = axum::Router::new()
        .route("/logs", axum::routing::get(logs))
        .route("/all", axum::routing::get(all))
        .route("/stream", axum::routing::get(stream))
        .route(
            "/forever",
            axum::routing::get(|| async {
                let first = futures::stream::iter([Ok::<_, std::io::Error>("{\"msg\":\"f0\"}\n".to_string())]);
                axum::body::Body::from_stream(first.chain(futures::stream::pending()))
            }),
        )
        .with_state((lines, hits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/logs")
}

#[tokio::test]
async fn http_source_uses_the_cursor_and_repeats_nothing() {
    let lines = Arc::new(std::sync::Mutex::new(vec![
        r#"{"level":"INFO","message":"h1","request_id":"q"}"#.to_string(),
        r#"{"level":"ERROR","message":"h2","request_id":"q"}"#.to_string(),
    ]));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = log_server(lines.clone(), hits.clone()).await;
    std::env::set_var("OPSDECK_TEST_LOG_TOKEN", "s3cret");
    let src = LogSource::Http {
        url,
        interval: Duration::from_millis(30),
        bearer_token_env: Some("OPSDECK_TEST_LOG_TOKEN".into()),
        bearer_token_file: None,
    };
    let mut c = start("prod", src, opts());
    c.until_messages(&["h1", "h2"]).await;
    lines.lock().unwrap().push(r#"{"level":"INFO","message":"h3"}"#.into());
    c.until_messages(&["h1", "h2", "h3"]).await;
    // Several more polls happen without new lines; none may repeat a line.
    let seen = hits.load(Ordering::SeqCst);
    c.until("more polls", |_, _| hits.load(Ordering::SeqCst) >= seen + 3).await;
    lines.lock().unwrap().push(r#"{"level":"INFO","message":"h4"}"#.into());
    c.until_messages(&["h1", "h2", "h3", "h4"]).await;
}

#[tokio::test]
async fn http_source_without_cursor_skips_the_replayed_lines() {
    let lines = Arc::new(std::sync::Mutex::new(vec!["same".to_string(), "x1".into(), "same".into(), "x2".into()]));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = log_server(lines.clone(), hits.clone()).await.replace("/logs", "/all");
    let src =
        LogSource::Http { url, interval: Duration::from_millis(30), bearer_token_env: None, bearer_token_file: None };
    let mut c = start("prod", src, opts());
    c.until_messages(&["same", "x1", "same", "x2"]).await;
    lines.lock().unwrap().extend(["same".to_string(), "x3".into()]);
    c.until_messages(&["same", "x1", "same", "x2", "same", "x3"]).await;
    let seen = hits.load(Ordering::SeqCst);
    c.until("more polls", |_, _| hits.load(Ordering::SeqCst) >= seen + 3).await;
    assert_eq!(c.records.len(), 6, "{:?}", c.messages());
}

static STREAM_GO: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[tokio::test]
async fn http_source_reads_a_streaming_body_as_it_comes() {
    let url = log_server(Arc::default(), Arc::default()).await.replace("/logs", "/stream");
    let src =
        LogSource::Http { url, interval: Duration::from_secs(60), bearer_token_env: None, bearer_token_file: None };
    let mut c = start("prod", src, opts());
    c.until_messages(&["s0"]).await;
    STREAM_GO.notify_one();
    c.until_messages(&["s0", "s1"]).await;
}

#[tokio::test]
async fn http_source_read_once_ends_on_a_quiet_streaming_body() {
    let url = log_server(Arc::default(), Arc::default()).await.replace("/logs", "/forever");
    let src =
        LogSource::Http { url, interval: Duration::from_secs(60), bearer_token_env: None, bearer_token_file: None };
    let mut c = start("prod", src, SourceOptions { follow: false, ..opts() });
    c.until_messages(&["f0"]).await;
    let end = tokio::time::timeout(Duration::from_secs(10), async { while c.rx.recv().await.is_some() {} });
    assert!(end.await.is_ok(), "the source should end once the body goes quiet");
}

#[tokio::test]
async fn http_source_reports_refused_auth() {
    let lines = Arc::new(std::sync::Mutex::new(vec![]));
    let url = log_server(lines, Arc::new(AtomicUsize::new(0))).await;
    let src =
        LogSource::Http { url, interval: Duration::from_millis(30), bearer_token_env: None, bearer_token_file: None };
    let mut c = start("prod", src, opts());
    c.until("the 401 notice", |_, n| n.iter().any(|n| n.contains("401"))).await;
}

#[tokio::test]
async fn request_id_correlation_across_two_file_sources() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    append(&a, "{\"timestamp\":\"2026-11-23T10:00:00\",\"level\":\"INFO\",\"message\":\"a0\",\"request_id\":\"R\"}\n{\"timestamp\":\"2026-11-23T10:00:02\",\"level\":\"ERROR\",\"message\":\"a2\",\"request_id\":\"R\"}\n");
    append(&b, "{\"timestamp\":\"2026-11-23T10:00:01\",\"level\":\"INFO\",\"message\":\"b1\",\"request_id\":\"R\"}\n{\"timestamp\":\"2026-11-23T10:00:01\",\"level\":\"INFO\",\"message\":\"other\",\"request_id\":\"S\"}\n");
    let mut ca = start("production", file_src(&a), opts());
    let mut cb = start("staging", file_src(&b), opts());
    ca.until("a", |r, _| r.len() == 2).await;
    cb.until("b", |r, _| r.len() == 2).await;
    let (mut ba, mut bb) = (LogBuffer::new(100, 1 << 20), LogBuffer::new(100, 1 << 20));
    for r in ca.records.drain(..) {
        ba.push(r, 0);
    }
    for r in cb.records.drain(..) {
        bb.push(r, 0);
    }
    let got: Vec<String> =
        correlate("R", [&ba, &bb]).iter().map(|r| format!("{}:{}", r.env.as_deref().unwrap(), r.message)).collect();
    assert_eq!(got, ["production:a0", "staging:b1", "production:a2"]);
}

// ---------------------------------------------------------------------------------------------
// The binary, headless
// ---------------------------------------------------------------------------------------------

fn opsdeck(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck")).args(args).env_remove("OPSDECK_CONFIG").output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

const PAYLOADS: &[&str] = &[
    "\x1b[2J",
    "\x1b]0;pwned\x07",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "\x1b[>0q",
    "good\rEVIL",
    "ring\x07",
    "\u{9b}31m",
    "\u{202e}gnp.exe",
    "zero\u{200b}width",
];

fn assert_nothing_raw(out: &[u8], what: &str) {
    let text = String::from_utf8_lossy(out);
    for (i, c) in text.char_indices() {
        let u = c as u32;
        let bad = (u < 0x20 && c != '\n') || u == 0x7f || (0x80..=0x9f).contains(&u) || [0x202e, 0x200b].contains(&u);
        assert!(!bad, "{what}: raw U+{u:04X} at byte {i}: {:?}", &text[i.saturating_sub(40)..(i + 10).min(text.len())]);
    }
    assert!(!out.contains(&0x9b), "{what}: raw 8-bit CSI byte");
}

#[test]
fn headless_shows_escape_payloads_only_as_visible_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.log");
    let mut data = Vec::new();
    for (i, pl) in PAYLOADS.iter().enumerate() {
        let json = serde_json::json!({"level": "ERROR", "message": format!("p{i} {pl}"), "exception": format!("T\n{pl}"), pl.to_string(): pl});
        data.extend_from_slice(json.to_string().as_bytes());
        data.push(b'\n');
        data.extend_from_slice(format!("plain p{i} {pl}\n").as_bytes());
        data.extend_from_slice(format!("level=error msg=\"p{i} {pl}\"\n").as_bytes());
    }
    data.extend_from_slice(b"raw 8-bit csi \x9b31m and bell \x07\n");
    std::fs::write(&p, &data).unwrap();
    let f = p.to_str().unwrap();
    for args in
        [vec!["logs", "--file", f], vec!["logs", "--file", f, "--json"], vec!["logs", "--file", f, "--level", "error"]]
    {
        let (code, out, err) = opsdeck(&args);
        assert_eq!(code, 0, "{err}");
        assert_nothing_raw(&out, &args.join(" "));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("\\x1b[2J") && text.contains("\\u{202e}"), "{text}");
    }
    let (_, out, _) = opsdeck(&["logs", "--file", f]);
    assert_eq!(String::from_utf8_lossy(&out).matches("p3 ").count(), 3, "every payload line is shown");
}

#[test]
fn headless_filters_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    std::fs::write(
        &p,
        concat!(
            "{\"level\":\"INFO\",\"message\":\"m1\",\"request_id\":\"r1\"}\n",
            "{\"level\":\"ERROR\",\"message\":\"m2 \\\"level\\\": \\\"INFO\\\"\",\"request_id\":\"r2\",\"exception\":\"Trace\\nBoom\"}\n",
            "{\"level\":\"INFO\",\"message\":\"m3 ERROR\",\"request_id\":\"r2\"}\n",
            "{\"level\":\"CRITICAL\",\"message\":\"m4\",\"request_id\":\"r3\"}\n",
        ),
    )
    .unwrap();
    let f = p.to_str().unwrap();
    let text = |args: &[&str]| {
        let (code, out, err) = opsdeck(args);
        assert_eq!(code, 0, "{err}");
        String::from_utf8(out).unwrap()
    };
    let errors = text(&["logs", "--file", f, "--level", "error"]);
    assert!(
        errors.contains("m2") && errors.contains("m4") && !errors.contains("m1") && !errors.contains("m3"),
        "{errors}"
    );
    assert!(errors.contains("\n    Trace\n    Boom\n"), "exception indented below: {errors}");
    let r2 = text(&["logs", "--file", f, "--request-id", "r2", "--json"]);
    let msgs: Vec<String> = r2
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["message"].as_str().unwrap().into())
        .collect();
    assert_eq!(msgs, ["m2 \"level\": \"INFO\"", "m3 ERROR"]);
    let grep = text(&["logs", "--file", f, "--grep", "m[34]"]);
    assert_eq!(grep.lines().count(), 2, "{grep}");

    assert_eq!(opsdeck(&["logs", "--file", "/nonexistent/app.log"]).0, 2);
    assert_eq!(opsdeck(&["logs", "--file", f, "--level", "loud"]).0, 2);
    assert_eq!(opsdeck(&["logs", "--file", f, "--grep", "("]).0, 2);
    assert_eq!(opsdeck(&["logs"]).0, 2);
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[[environment]]\nname = \"prod\"\nlogs = { kind = \"file\", path = \"app.log\" }\n").unwrap();
    let c = cfg.to_str().unwrap();
    let (code, _, err) = opsdeck(&["--config", c, "logs", "--env", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown environment") && err.contains("prod"), "{err}");
    // --env resolves the file relative to the config and tags records with the environment.
    let out = text(&["--config", c, "logs", "--env", "prod", "--level", "critical", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["message"].as_str(), v["env"].as_str()), (Some("m4"), Some("prod")));
}

#[test]
fn headless_command_source_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[[environment]]\nname = \"k\"\nlogs = { kind = \"command\", argv = [\"printf\", \"level=info msg=hi\\\\nlevel=error msg=bad\\\\n\"] }\n",
    )
    .unwrap();
    let (code, out, err) = opsdeck(&["--config", cfg.to_str().unwrap(), "logs", "--env", "k", "--level", "error"]);
    assert_eq!(code, 0, "{err}");
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("bad") && !out.contains("hi"), "{out}");
}
