//! The remote code against a second backend: a real VictoriaMetrics single-node (Debian's
//! `victoria-metrics`) scraping the demo fleet. `opsdeck query` gives VictoriaMetrics's own
//! answers (instant and range), and the built-in panels evaluate on it. Where MetricsQL answers
//! differently from Prometheus, the README says so; one such difference is pinned here so the
//! README cannot silently go stale (`*_over_time` keeps the metric name on VictoriaMetrics).

use crate::common::have_tool;
use opsdeck::demo::Fleet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn query(cfg: &std::path::Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(BIN).arg("--config").arg(cfg).arg("query").args(args).stdin(Stdio::null()).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn metrics(j: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> =
        j["data"]["result"].as_array().into_iter().flatten().map(|s| s["metric"].to_string()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_panels_on_victoria_metrics() {
    if !have_tool("victoria-metrics", &["-version"], "victoria-metrics") {
        return;
    }
    let fleet = Fleet::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut scrape = String::from("global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n");
    let mut n = 0;
    for job in ["api", "scraper-worker"] {
        scrape.push_str(&format!("  - job_name: {job}\n    static_configs:\n"));
        for e in fleet.envs() {
            let targets: Vec<String> =
                if job == "api" { vec![e.api.to_string()] } else { e.workers.iter().map(|w| w.to_string()).collect() };
            n += targets.len();
            scrape.push_str(&format!("      - targets: {targets:?}\n        labels: {{env: {}}}\n", e.name));
        }
    }
    std::fs::write(dir.path().join("scrape.yml"), scrape).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _vm = Killed(
        Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}", dir.path().join("vm").display()))
            .arg(format!("-promscrape.config={}", dir.path().join("scrape.yml").display()))
            // VictoriaMetrics hides the newest 30 s by default (README: what differs).
            .arg("-search.latencyOffset=1s")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let api = opsdeck::prom_api::Client::new(&url, None, Duration::from_secs(5)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "VictoriaMetrics never scraped the {n} demo targets");
        if let Ok(j) = api.query_json("count_over_time(up[1m]) >= 5", None).await {
            if j["data"]["result"].as_array().is_some_and(|r| r.len() == n) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let cfg = dir.path().join("vm.toml");
    std::fs::write(&cfg, format!("[prometheus]\nurl = \"{url}\"\ntimeout = \"5s\"\n")).unwrap();

    // Instant: VictoriaMetrics's own series.
    let t = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 2).to_string();
    for expr in ["up", "sum by (env) (http_requests_total)"] {
        let (code, ours, err) = query(&cfg, &[expr, "--time", &t, "--json"]);
        assert_eq!(code, 0, "{expr}: {err}");
        let theirs = api.query_json(expr, Some(t.parse::<i64>().unwrap() * 1000)).await.unwrap();
        assert_eq!(ours["data"]["resultType"], "vector");
        assert_eq!(metrics(&ours), metrics(&theirs), "{expr}");
        assert!(!metrics(&ours).is_empty(), "{expr}: {ours}");
    }
    // Range: a matrix with the server's series, one step apart.
    let (code, ours, err) = query(&cfg, &["up", "--time", &t, "--range", "10s", "--step", "2s", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ours["data"]["resultType"], "matrix");
    assert_eq!(metrics(&ours).len(), n);
    // A MetricsQL syntax error comes back as an error, exit 1.
    let (code, _, err) = query(&cfg, &["up + * 2", "--json"]);
    assert_eq!(code, 1, "{err}");

    // The dashboard's built-in panels, evaluated by VictoriaMetrics.
    let opsdeck_cfg = opsdeck::config::Config::parse(&std::fs::read_to_string(&cfg).unwrap(), &cfg).unwrap();
    let defs = opsdeck::engine::panel_defs(&opsdeck_cfg);
    let now = opsdeck::engine::now_ms();
    let panels = opsdeck::engine::remote_panels(&api, &defs, opsdeck::panels::Window::ending_at(now, 60_000, 30)).await;
    let with_data: Vec<&str> = panels
        .iter()
        .filter(|p| p.series.iter().any(|s| s.points.iter().any(|(_, v)| v.is_some())))
        .map(|p| p.title.as_str())
        .collect();
    assert!(with_data.len() >= 3, "panels with data on VictoriaMetrics: {with_data:?}");
    assert!(panels.iter().all(|p| p.note.as_deref().is_none_or(|n| !n.contains("error"))), "{panels:?}");

    // A documented difference: MetricsQL keeps the metric name through `max_over_time`
    // (Prometheus drops it).
    let j = api.query_json("max_over_time(up[30s])", None).await.unwrap();
    assert!(j["data"]["result"][0]["metric"].get("__name__").is_some(), "{j}");
}
