//! The demo's story checked by a real Prometheus: it scrapes the fleet with `env` target labels and
//! evaluates assets/demo_alert_rules.yml. Within about two minutes of the fleet's start the staged
//! scraper incident fires ScraperFailures (pending first), a `-bad` deploy fires HighErrorRate and a
//! `-slow` deploy fires SlowResponseTime — each in its own environment, and nothing else fires.
//!
//! Takes about two minutes, so it is ignored by default: `cargo test --test demo_prometheus -- --ignored`.
//! Needs `prometheus` (Debian package); with OPSDECK_REQUIRE_TOOLS=1 a missing tool fails.

use crate::common::have_prometheus;
use opsdeck::demo::Fleet;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs about two minutes against a real Prometheus; run with --ignored"]
async fn prometheus_sees_the_staged_incident_and_bad_deploys_fire() {
    if !have_prometheus() {
        eprintln!("note: prometheus not found; skipping");
        return;
    }
    let fleet = Fleet::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet.write_rule_files(dir.path()).unwrap();
    let mut scrape = String::new();
    for job in ["api", "scraper-worker"] {
        scrape.push_str(&format!("  - job_name: {job}\n    static_configs:\n"));
        for e in fleet.envs() {
            let targets: Vec<String> =
                if job == "api" { vec![e.api.to_string()] } else { e.workers.iter().map(|w| w.to_string()).collect() };
            scrape.push_str(&format!("      - targets: {targets:?}\n        labels: {{env: {}}}\n", e.name));
        }
    }
    let prom_cfg = format!(
        "global: {{scrape_interval: 5s, evaluation_interval: 5s}}\nrule_files: [{}]\nscrape_configs:\n{scrape}",
        dir.path().join(opsdeck::demo::RULES_FILE).display()
    );
    std::fs::write(dir.path().join("prometheus.yml"), prom_cfg).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let c = reqwest::Client::new();
    for (env, version) in [("staging", "1.6.0-bad"), ("development", "1.6.0-slow")] {
        let url = format!("{}/deploy", fleet.env(env).unwrap().api_url());
        let r = c.post(url).json(&serde_json::json!({ "version": version })).send().await.unwrap();
        assert_eq!(r.status(), 202);
    }
    // (alert name, env) -> (first seen pending, first seen firing), seconds since the fleet started
    let mut seen: BTreeMap<(String, String), (Option<u64>, Option<u64>)> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(200);
    let wanted = [("ScraperFailures", "production"), ("HighErrorRate", "staging"), ("SlowResponseTime", "development")];
    loop {
        if let Ok(r) = c.get(format!("http://127.0.0.1:{port}/api/v1/alerts")).send().await {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                for a in v["data"]["alerts"].as_array().cloned().unwrap_or_default() {
                    let key = (
                        a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                        a["labels"]["env"].as_str().unwrap_or("").to_string(),
                    );
                    let t = fleet.uptime().as_secs();
                    let e = seen.entry(key).or_default();
                    match a["state"].as_str() {
                        Some("pending") => e.0 = e.0.or(Some(t)),
                        Some("firing") => e.1 = e.1.or(Some(t)),
                        _ => {}
                    }
                }
            }
        }
        if wanted.iter().all(|(n, e)| seen.get(&(n.to_string(), e.to_string())).is_some_and(|s| s.1.is_some())) {
            break;
        }
        assert!(Instant::now() < deadline, "not all fired in time: {seen:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("alerts (pending s, firing s since fleet start): {seen:?}");
    let incident = &seen[&("ScraperFailures".to_string(), "production".to_string())];
    assert!(incident.0.is_some(), "ScraperFailures was seen pending before firing");
    assert!(incident.1.unwrap() >= opsdeck::demo::INCIDENT.start.as_secs(), "not before the incident");
    assert!(incident.1.unwrap() <= 150, "ScraperFailures fired at {:?}s", incident.1);
    let unexpected: Vec<_> = seen.keys().filter(|(n, e)| !wanted.iter().any(|(wn, we)| wn == n && we == e)).collect();
    assert!(unexpected.is_empty(), "false alarms: {unexpected:?}");
}
