//! `opsdeck status` as a user runs it: the real binary against the real demo fleet
//! (`opsdeck demo --serve-only --write-config`), and against endpoints that hang or refuse.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

fn start_fleet(dir: &Path) -> crate::common::FleetProc {
    crate::common::FleetProc::start(dir, None)
}

fn status(config: &Path, json: bool) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--config").arg(config).arg("status");
    if json {
        c.arg("--json");
    }
    c.output().unwrap()
}

fn envs(out: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    v["environments"].as_array().unwrap().clone()
}

fn field<'a>(envs: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    envs.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_on_the_demo_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = start_fleet(dir.path());
    assert!(dir.path().join("demo_alert_rules.yml").exists(), "rule file next to the config");

    let out = status(&fleet.config, true);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let e = envs(&out);
    let names: Vec<_> = e.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["production", "staging", "development"]);
    for env in &e {
        assert_eq!(env["health"], "up", "{env}");
        assert!(env["latency_ms"].as_f64().unwrap() >= 0.0);
        assert!(env["version"].as_str().unwrap().starts_with("1."));
        assert!(env["reason"].is_null());
        assert!(env["alerts"].as_array().unwrap().is_empty());
    }
    assert_eq!(field(&e, "production")["version"], "1.4.1");

    // A bad build on staging: status exits 1 and says why.
    let cfg = opsdeck::config::Config::load(&fleet.config).unwrap();
    let url = cfg.environment("staging").unwrap().deploy.as_ref().unwrap().url.clone().unwrap();
    let r = reqwest::Client::new().post(&url).json(&serde_json::json!({"version": "1.6.0-bad"})).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = status(&fleet.config, true);
        if out.status.code() == Some(1) {
            break out;
        }
        assert!(Instant::now() < deadline, "status never saw the bad deploy");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let e = envs(&out);
    let staging = field(&e, "staging");
    assert_eq!(staging["health"], "down");
    assert_eq!(staging["reason"], "HTTP 503");
    assert_eq!(staging["version"], "1.6.0-bad");
    assert_eq!(field(&e, "production")["health"], "up");
    let text = status(&fleet.config, false);
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.lines().any(|l| l.starts_with("staging") && l.contains("down") && l.contains("HTTP 503")), "{t}");

    // SIGTERM ends the fleet cleanly with exit 0.
    let pid = fleet.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(st) = fleet.child.try_wait().unwrap() {
            break st.code();
        }
        assert!(Instant::now() < deadline, "demo did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let mut out = String::new();
    fleet.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(out.contains("http://127.0.0.1:"), "prints its URLs: {out}");
}

#[test]
fn status_answers_within_the_timeout_when_endpoints_hang() {
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_addr = hang.local_addr().unwrap();
    // Accept and hold connections without answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hang.incoming().flatten() {
            held.push(s);
        }
    });
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[environment]]\nname = \"hangs\"\nhealth = {{ url = \"http://{hang_addr}/health\", timeout = \"1s\" }}\n\
             [[environment]]\nname = \"refuses\"\nhealth = {{ url = \"http://{refused}/health\", timeout = \"1s\" }}\n\
             [[environment]]\nname = \"unchecked\"\n"
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    let out = status(&cfg, true);
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(took < Duration::from_secs(5), "status took {took:?} with 1s timeouts");
    let e = envs(&out);
    assert_eq!(field(&e, "hangs")["health"], "down");
    assert_eq!(field(&e, "hangs")["reason"], "timeout after 1s");
    assert_eq!(field(&e, "refuses")["reason"], "connection refused");
    assert_eq!(field(&e, "unchecked")["health"], "stale");
    assert!(field(&e, "hangs")["latency_ms"].is_null());
}

#[test]
fn status_without_environments_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("empty.toml");
    std::fs::write(&cfg, "[general]\nhistory = \"1h\"\n").unwrap();
    let out = status(&cfg, false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [[environment]]"));
}
