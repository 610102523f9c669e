//! `opsdeck query` against a real Prometheus (Debian's `prometheus`, scraping itself on a loopback
//! port): `--json` is the server's own answer (same series, same values), a syntax error exits 1
//! with the server's position, a server that never answers is given up on at `[prometheus]
//! timeout`, and no `[prometheus]` is a config error (2).

use crate::common::have_prometheus;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

struct Prom(Child);

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn query(cfg: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("--config").arg(cfg).arg("query").args(args).stdin(Stdio::null()).output().unwrap();
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), s(&out.stdout), s(&out.stderr))
}

fn series(json: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["metric"].to_string(), s["value"][1].as_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_answers_as_prometheus_does() {
    if !have_prometheus() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let prom_cfg = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), prom_cfg).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _prom = Prom(child);
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, format!("[prometheus]\nurl = \"http://127.0.0.1:{port}\"\ntimeout = \"5s\"\n")).unwrap();
    let api =
        opsdeck::prom_api::Client::new(&format!("http://127.0.0.1:{port}"), None, Duration::from_secs(5)).unwrap();

    // Until Prometheus has scraped itself for over 10 s (the range below).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "Prometheus never scraped itself");
        if let Ok(j) = api.query_json("count_over_time(up[1m]) >= 12", None).await {
            if j["data"]["result"].as_array().is_some_and(|r| !r.is_empty()) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let t = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 1).to_string();
    for expr in ["up", "sum by (job) (prometheus_http_requests_total)", "scalar(up) * 2"] {
        let (code, out, err) = query(&cfg, &[expr, "--time", &t, "--json"]);
        assert_eq!(code, 0, "{expr}: {err}");
        let ours: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{expr}: {e}: {out}"));
        let theirs = api.query_json(expr, Some(t.parse::<i64>().unwrap() * 1000)).await.unwrap();
        assert_eq!(ours["status"], "success");
        assert_eq!(ours["data"]["resultType"], theirs["data"]["resultType"], "{expr}");
        if ours["data"]["resultType"] == "vector" {
            assert_eq!(series(&ours), series(&theirs), "{expr}");
        } else {
            assert_eq!(ours["data"]["result"], theirs["data"]["result"], "{expr}");
        }
    }
    // RFC 3339 is the same instant.
    let rfc = chrono::DateTime::from_timestamp(t.parse().unwrap(), 0).unwrap().to_rfc3339();
    let (code, out, _) = query(&cfg, &["up", "--time", &rfc, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["data"]["result"][0]["value"][0].as_f64(),
        t.parse().ok()
    );

    // A range: a matrix with points one step apart, ending at --time.
    let (code, out, err) = query(&cfg, &["up", "--time", &t, "--range", "10s", "--step", "2s", "--json"]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(m["data"]["resultType"], "matrix");
    let pts: Vec<f64> =
        m["data"]["result"][0]["values"].as_array().unwrap().iter().map(|p| p[0].as_f64().unwrap()).collect();
    assert!(pts.len() >= 2 && pts.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 1e-9), "{pts:?}");
    assert_eq!(pts.last().copied(), t.parse().ok());

    // Without --json: one line per series.
    let (code, out, _) = query(&cfg, &["up"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("up{") && out.contains("job=\"prometheus\"") && out.contains(" 1 @ "), "{out}");

    // A syntax error: exit 1, the server's position.
    let (code, out, err) = query(&cfg, &["up + * 2", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("1:6") && err.contains("parse error"), "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["status"], "error");

    // --scrape-for: opsdeck scrapes the same Prometheus itself and answers from its own store,
    // in the same shape, with the same build info as the server reports about itself.
    let local = dir.path().join("local.toml");
    std::fs::write(
        &local,
        format!(
            "[[environment]]\nname = \"local\"\nscrape = [{{ job = \"prometheus\", urls = [\"http://127.0.0.1:{port}/metrics\"], interval = \"1s\" }}]\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let (code, out, err) = query(&local, &["prometheus_build_info", "--scrape-for", "2s", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let ours: serde_json::Value = serde_json::from_str(&out).unwrap();
    let theirs = api.query_json("prometheus_build_info", None).await.unwrap();
    let (o, t) = (&ours["data"]["result"][0], &theirs["data"]["result"][0]);
    assert_eq!(ours["data"]["resultType"], "vector");
    assert_eq!(o["metric"]["version"], t["metric"]["version"], "{ours} vs {theirs}");
    assert_eq!(o["metric"]["env"], "local");
    assert_eq!(o["value"][1], "1");
    let (code, out, err) = query(&local, &["up", "--scrape-for", "2s", "--range", "2s", "--step", "1s", "--json"]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(m["data"]["resultType"], "matrix");
    assert!(m["data"]["result"][0]["values"].as_array().is_some_and(|v| v.len() >= 2), "{m}");
    // A syntax error is found before scraping, with Prometheus's position.
    let (code, out, err) = query(&local, &["foo bar", "--scrape-for", "30s", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("1:5") && out.contains("bad_data"), "{out}{err}");
}

#[test]
fn a_server_that_never_answers_and_no_server_at_all() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts, reads, never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    let cfg = dir.path().join("hang.toml");
    std::fs::write(&cfg, format!("[prometheus]\nurl = \"http://{addr}\"\ntimeout = \"1s\"\n")).unwrap();
    let t0 = Instant::now();
    let (code, _, err) = query(&cfg, &["up"]);
    assert_eq!(code, 1, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(err.contains("timed out after 1s"), "{err}");

    let none = dir.path().join("none.toml");
    std::fs::write(&none, "").unwrap();
    let (code, _, err) = query(&none, &["up"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no [prometheus] server"), "{err}");
    let (code, _, err) = query(&cfg, &["up", "--time", "yesterday"]);
    assert_eq!((code, err.contains("RFC 3339")), (2, true), "{err}");
}
