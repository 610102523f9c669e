//! Alerts past one machine, against real servers on loopback (Debian's `prometheus` and
//! `prometheus-alertmanager`, each on a free port, killed on drop); nothing is mocked.
//!
//! - The demo's staged incident seen three ways: a real Prometheus (scrape 1 s, eval 2 s, the demo
//!   rules, alerting to Alertmanager A) fires ScraperFailures; the engine in `remote-rules` mode (the
//!   same rule file evaluated through that Prometheus's query API, no local scrapes) fires it within
//!   two evaluation intervals + 1 s and delivers it to Alertmanager B; `opsdeck status --json` with
//!   `source = "server"` lists it with the server's labels and `activeAt`. About two minutes.
//! - Alertmanager as a source, in seconds: an inhibition read by `fetch` + `merge` and shown as
//!   "inhibited by" in the view; one alert held by two Alertmanagers merged once with both sources;
//!   a silence created with `create` mutes exactly as many alerts as `preview` counted.

use crate::common::{have_prometheus, have_tool};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::alertmanager::{self as am, matchers, NewSilence};
use opsdeck::app::{Modal, State};
use opsdeck::model::{AlertState, AlertView, AmSnapshot, Event, MatchOp};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
/// Prometheus's and remote-rules' evaluation interval.
const EVAL: Duration = Duration::from_secs(2);

fn have_alertmanager() -> bool {
    have_tool("prometheus-alertmanager", &["--version"], "prometheus-alertmanager")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A server process on a loopback port with its scratch folder; killed when dropped.
struct Server {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        let t = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        t.chars().rev().take(1500).collect::<Vec<_>>().into_iter().rev().collect()
    }
}

/// Start `cmd` (given the port and its folder) until it is ready at `/-/ready`. A port taken
/// between choosing and binding makes the server exit: then another port is tried.
async fn start_server(what: &str, cmd: impl Fn(u16, &Path) -> Command) -> Server {
    let client = reqwest::Client::new();
    for _attempt in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = cmd(port, dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        let mut s = Server { child, url: format!("http://127.0.0.1:{port}"), dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = s.child.try_wait() {
                eprintln!("note: {what} exited ({st}) on port {port}: {}", s.log());
                break;
            }
            let ok = client
                .get(format!("{}/-/ready", s.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return s;
            }
            assert!(Instant::now() < deadline, "{what} not ready in 30 s: {}", s.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("{what} did not start on three free ports");
}

const ROUTE: &str =
    "route: {receiver: sink, group_by: [alertname], group_wait: 1s, group_interval: 2s}\nreceivers: [{name: sink}]\n";

async fn start_am(config: &str) -> Server {
    let config = config.to_string();
    start_server("prometheus-alertmanager", move |port, dir| {
        std::fs::write(dir.join("am.yml"), &config).unwrap();
        let mut c = Command::new("prometheus-alertmanager");
        c.arg(format!("--config.file={}", dir.join("am.yml").display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn");
        c
    })
    .await
}

/// Poll `f` until it yields a value or `within` has passed (then fail naming `what`).
async fn poll<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_json(url: &str) -> Option<Value> {
    let r = reqwest::Client::new().get(url).timeout(Duration::from_secs(5)).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// `GET /api/v2/alerts` of an Alertmanager.
async fn am_alerts(url: &str) -> Vec<Value> {
    get_json(&format!("{url}/api/v2/alerts")).await.and_then(|v| v.as_array().cloned()).unwrap_or_default()
}

/// `POST /api/v2/alerts`: firing alerts with these labels (and a summary).
async fn post_alerts(url: &str, alerts: &[&[(&str, &str)]]) {
    let body: Vec<Value> = alerts
        .iter()
        .map(|ls| {
            let labels: BTreeMap<&str, &str> = ls.iter().copied().collect();
            json!({ "labels": labels, "annotations": { "summary": format!("{labels:?}") } })
        })
        .collect();
    let r = reqwest::Client::new().post(format!("{url}/api/v2/alerts")).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "POST /api/v2/alerts: {}", r.status());
}

fn label<'a>(labels: &'a [(String, String)], k: &str) -> &'a str {
    labels.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str())
}

/// Both Alertmanagers' answers read until `done` holds for the merged snapshot.
async fn merged_when(urls: &[&str], what: &str, done: impl Fn(&AmSnapshot) -> bool) -> AmSnapshot {
    let client = reqwest::Client::new();
    let done = &done;
    poll(Duration::from_secs(20), what, || {
        let client = client.clone();
        async move {
            let mut answers = Vec::new();
            for u in urls {
                answers.push((u.to_string(), am::fetch(&client, u).await));
            }
            let snap = am::merge(answers, now_ms());
            done(&snap).then_some(snap)
        }
    })
    .await
}

/// The Alertmanager view (`M`) of `snap`, rendered as the terminal would show it.
fn am_view(snap: &AmSnapshot, urls: &[&str], hide_muted: bool) -> String {
    let mut s = State::new(vec![], Duration::from_secs(3600));
    s.am_urls = urls.iter().map(|u| u.to_string()).collect();
    s.now = snap.at;
    s.apply(Event::Alertmanager(snap.clone()));
    s.handle_key(KeyEvent::new(KeyCode::Char('M'), KeyModifiers::SHIFT));
    assert!(matches!(s.ui.modal, Some(Modal::Alertmanager(_))), "M opens the Alertmanager view: {:?}", s.ui.modal);
    if hide_muted {
        s.handle_key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE));
    }
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 45)).unwrap();
    t.draw(|f| opsdeck::tui::view(&s, f)).unwrap();
    t.backend().to_string()
}

/// The screen lines that mention every one of `words`.
fn lines_with<'a>(screen: &'a str, words: &[&str]) -> Vec<&'a str> {
    screen.lines().filter(|l| words.iter().all(|w| l.contains(w))).collect()
}

// ---------------------------------------------------------------------------------------------
// 1a. The demo's ScraperFailures: Prometheus, remote-rules, server mode, two Alertmanagers.
// ---------------------------------------------------------------------------------------------

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Prometheus's firing ScraperFailures alerts (`/api/v1/alerts`).
async fn prom_firing(url: &str) -> Vec<Value> {
    let Some(v) = get_json(&format!("{url}/api/v1/alerts")).await else { return vec![] };
    v["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == "ScraperFailures" && a["state"] == "firing")
        .cloned()
        .collect()
}

fn labels_json(labels: &[(String, String)]) -> Value {
    Value::Object(labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

/// ScraperFailures' summary with its template filled in: "<env>: <n> <platform> scrape errors in 2m".
fn summary_rendered(s: &str, env: &str) -> bool {
    let re = regex::Regex::new(r"^(\w+): \d+ \w+ scrape errors in 2m$").unwrap();
    re.captures(s).is_some_and(|c| &c[1] == env)
}

fn rfc3339_ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("activeAt {s:?}: {e}")).timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraper_failures_through_prometheus_remote_rules_server_mode_and_alertmanager() {
    if !have_prometheus() || !have_alertmanager() {
        return;
    }
    let started = Instant::now();
    let bound = Duration::from_secs(240);
    let fleet = opsdeck::demo::Fleet::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet.write_rule_files(dir.path()).unwrap();
    let rules = dir.path().join(opsdeck::demo::RULES_FILE);
    let (am_a, am_b) = (start_am(ROUTE).await, start_am(ROUTE).await);

    // Prometheus: every demo target with its `env`, the demo rules, alerting to A.
    let mut scrape = String::new();
    for job in ["api", "scraper-worker"] {
        scrape.push_str(&format!("  - job_name: {job}\n    static_configs:\n"));
        for e in fleet.envs() {
            let targets: Vec<String> =
                if job == "api" { vec![e.api.to_string()] } else { e.workers.iter().map(|w| w.to_string()).collect() };
            scrape.push_str(&format!("      - targets: {targets:?}\n        labels: {{env: {}}}\n", e.name));
        }
    }
    let am_a_addr = am_a.url.trim_start_matches("http://").to_string();
    let prom_cfg = format!(
        "global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: {}s}}\nrule_files: [{:?}]\n\
         alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{am_a_addr}']}}]\nscrape_configs:\n{scrape}",
        EVAL.as_secs(),
        rules.display().to_string()
    );
    let prom = start_server("prometheus", move |port, d| {
        std::fs::write(d.join("prometheus.yml"), &prom_cfg).unwrap();
        let mut c = Command::new("prometheus");
        c.arg(format!("--config.file={}", d.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", d.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn");
        c
    })
    .await;

    // The engine in remote-rules mode from the start: the same rule file through Prometheus's
    // query API, nothing scraped locally, delivering to B.
    let rr_toml = format!(
        "[prometheus]\nurl = {}\ntimeout = \"5s\"\n\n[alerting]\nsource = \"remote-rules\"\nrule_files = [{}]\n\
         evaluation_interval = \"{}s\"\nalertmanager = [{}]\n",
        toml_str(&prom.url),
        toml_str(&rules.display().to_string()),
        EVAL.as_secs(),
        toml_str(&am_b.url)
    );
    let cfg = opsdeck::config::Config::parse(&rr_toml, &dir.path().join("rr.toml")).expect("remote-rules config");
    assert!(cfg.environments.is_empty(), "no local scrapes");
    let (mut events, _commands, task) = opsdeck::engine::start(cfg, dir.path().join("rr-state")).into_parts();
    // The view's side: every event read (the engine must never block on a full channel); the
    // first snapshot with ScraperFailures firing is kept with when it came.
    let (fired_tx, mut fired_rx) = tokio::sync::watch::channel(None::<(Instant, AlertView)>);
    let notices = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = notices.clone();
    let drain = tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match ev {
                Event::Alerts(v) if fired_tx.borrow().is_none() => {
                    if let Some(a) =
                        v.into_iter().find(|a| a.name == "ScraperFailures" && a.state == AlertState::Firing)
                    {
                        let _ = fired_tx.send(Some((Instant::now(), a)));
                    }
                }
                Event::Notice(n) => seen.lock().unwrap().push(n),
                _ => {}
            }
        }
    });

    // Prometheus fires it ~95–105 s after the fleet's start.
    let (t_prom, prom_alerts) = loop {
        let got = prom_firing(&prom.url).await;
        if !got.is_empty() {
            break (Instant::now(), got);
        }
        assert!(
            started.elapsed() < bound,
            "Prometheus did not fire ScraperFailures within {bound:?} of the fleet's start: {}",
            prom.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("Prometheus fired ScraperFailures {:.1} s after the fleet's start", fleet.uptime().as_secs_f64());
    let slack = 2 * EVAL + Duration::from_secs(1);

    // remote-rules: within two evaluation intervals + 1 s of Prometheus (either side).
    let rr = tokio::time::timeout(slack + Duration::from_millis(500), fired_rx.wait_for(|f| f.is_some()))
        .await
        .map(|r| r.unwrap().clone())
        .ok()
        .flatten();
    let Some((t_rr, rr_alert)) = rr else {
        panic!(
            "remote-rules did not fire ScraperFailures within {slack:?} of Prometheus; notices: {:?}",
            notices.lock().unwrap()
        )
    };
    let dt = if t_rr > t_prom { t_rr - t_prom } else { t_prom - t_rr };
    eprintln!("remote-rules fired {} Prometheus by {dt:?}", if t_rr > t_prom { "after" } else { "before" });
    assert!(dt <= slack, "remote-rules fired {dt:?} from Prometheus (at most {slack:?})");
    let rr_labels = labels_json(&rr_alert.labels);
    let theirs = prom_alerts
        .iter()
        .find(|p| p["labels"] == rr_labels)
        .unwrap_or_else(|| panic!("remote-rules' alert has Prometheus's labels: {rr_labels} vs {prom_alerts:?}"));
    // Its `for` ran alongside Prometheus's: it went pending at about the same time.
    let pending_dt = (rr_alert.active_since - rfc3339_ms(theirs["activeAt"].as_str().unwrap())).abs();
    assert!(pending_dt <= (slack + EVAL).as_millis() as i64, "activeAt {pending_dt} ms from Prometheus's");
    let incident = opsdeck::demo::INCIDENT;
    assert_eq!(rr_alert.env.as_deref(), Some(incident.env));
    assert_eq!(label(&rr_alert.labels, "platform"), incident.platform);
    assert!(summary_rendered(&rr_alert.summary, incident.env), "{}", rr_alert.summary);

    // `status --json` with source = "server": Prometheus's alerts as it has them.
    let mut st_toml = format!("[prometheus]\nurl = {}\n\n[alerting]\nsource = \"server\"\n", toml_str(&prom.url));
    for e in fleet.envs() {
        st_toml.push_str(&format!(
            "\n[[environment]]\nname = {}\nhealth = {{ url = {}, timeout = \"2s\" }}\n",
            toml_str(e.name),
            toml_str(&format!("{}/health", e.api_url()))
        ));
    }
    std::fs::write(dir.path().join("status.toml"), st_toml).unwrap();
    let before = prom_firing(&prom.url).await;
    let out = tokio::process::Command::new(BIN)
        .arg("--config")
        .arg(dir.path().join("status.toml"))
        .arg("--state-dir")
        .arg(dir.path().join("status-state"))
        .args(["status", "--json"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "status: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("status --json: {e}: {text}"));
    let after = prom_firing(&prom.url).await;
    assert_eq!(report["alert_source"], "server", "{report}");
    let listed: Vec<&Value> = report["environments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["alerts"].as_array().unwrap().iter().map(move |a| (e, a)))
        .filter(|(e, a)| a["name"] == "ScraperFailures" && a["labels"]["env"] == e["name"])
        .map(|(_, a)| a)
        .collect();
    // What fired in Prometheus both before and after the command (the same activation) must be listed.
    let both: Vec<&Value> = after
        .iter()
        .filter(|p| before.iter().any(|b| b["labels"] == p["labels"] && b["activeAt"] == p["activeAt"]))
        .collect();
    assert!(!both.is_empty(), "still firing in Prometheus: before {before:?}, after {after:?}");
    for p in both {
        let s = listed
            .iter()
            .find(|a| a["labels"] == p["labels"])
            .unwrap_or_else(|| panic!("status lists no ScraperFailures with labels {}: {report}", p["labels"]));
        assert_eq!(s["state"], "firing", "{s}");
        let (ours, theirs) = (rfc3339_ms(s["activeAt"].as_str().unwrap()), rfc3339_ms(p["activeAt"].as_str().unwrap()));
        assert!((ours - theirs).abs() <= 1000, "activeAt {} vs Prometheus's {}", s["activeAt"], p["activeAt"]);
        assert_eq!(s["severity"], p["labels"]["severity"]);
        // The summary holds `$value`, which moves from one evaluation to the next.
        let env = p["labels"]["env"].as_str().unwrap();
        assert!(s["summary"].as_str().is_some_and(|t| summary_rendered(t, env)), "{s}");
    }

    // B got it from opsdeck (nothing else sends to B); A got it from Prometheus.
    let in_b = poll(Duration::from_secs(20), "ScraperFailures in Alertmanager B", || {
        let (u, want) = (am_b.url.clone(), rr_labels.clone());
        async move { am_alerts(&u).await.into_iter().find(|a| a["labels"] == want) }
    })
    .await;
    assert_eq!(in_b["status"]["state"], "active", "{in_b}");
    assert!(in_b["annotations"]["summary"].as_str().is_some_and(|t| summary_rendered(t, incident.env)), "{in_b}");
    assert!(in_b["startsAt"].as_str().is_some_and(|t| !t.starts_with("0001")), "{in_b}");
    poll(Duration::from_secs(20), "ScraperFailures in Alertmanager A (from Prometheus)", || {
        let (u, want) = (am_a.url.clone(), rr_labels.clone());
        async move { am_alerts(&u).await.into_iter().find(|a| a["labels"] == want) }
    })
    .await;

    assert!(task.shutdown(Duration::from_secs(5)).await, "the engine stops within 5 s");
    drain.abort();
    assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// 1b. Alertmanager only: alerts posted with /api/v2/alerts.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inhibited_alert_is_read_merged_and_shown_inhibited() {
    if !have_alertmanager() {
        return;
    }
    let cfg = format!(
        "{ROUTE}inhibit_rules:\n  - source_matchers: ['alertname=\"Source\"']\n    target_matchers: ['alertname=\"Target\"']\n    equal: [env]\n"
    );
    let a = start_am(&cfg).await;
    post_alerts(
        &a.url,
        &[
            &[("alertname", "Source"), ("env", "production")],
            &[("alertname", "Target"), ("env", "production")],
            &[("alertname", "Target"), ("env", "staging")],
        ],
    )
    .await;
    let find = |s: &AmSnapshot, name: &str, env: &str| {
        s.alerts.iter().find(|x| x.name() == name && label(&x.labels, "env") == env).cloned()
    };
    let snap = merged_when(&[&a.url], "Target in production inhibited", |s| {
        s.alerts.len() == 3 && find(s, "Target", "production").is_some_and(|t| !t.inhibited_by.is_empty())
    })
    .await;
    let source = find(&snap, "Source", "production").unwrap();
    let target = find(&snap, "Target", "production").unwrap();
    let other = find(&snap, "Target", "staging").unwrap();
    assert_eq!(target.inhibited_by, vec![source.fingerprint.clone()], "inhibited by the source alert");
    assert_eq!(target.state, "suppressed");
    assert!(target.silenced_by.is_empty() && target.muted());
    assert!(other.inhibited_by.is_empty() && other.state == "active", "another env is not inhibited: {other:?}");
    assert!(source.inhibited_by.is_empty() && source.state == "active", "{source:?}");
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);

    let screen = am_view(&snap, &[&a.url], false);
    let short: String = source.fingerprint.chars().take(8).collect();
    let rows = lines_with(&screen, &["Target", "env=production"]);
    assert_eq!(rows.len(), 1, "{screen}");
    assert!(rows[0].contains(&format!("inhibited by {short}")), "{screen}");
    let rows = lines_with(&screen, &["Target", "env=staging"]);
    assert!(rows.len() == 1 && !rows[0].contains("inhibited") && rows[0].contains("active"), "{screen}");
    assert!(!lines_with(&screen, &["Source", "env=production"])[0].contains("inhibited"), "{screen}");
    // m hides the muted one, and only it.
    let hidden = am_view(&snap, &[&a.url], true);
    assert!(lines_with(&hidden, &["Target", "env=production"]).is_empty(), "{hidden}");
    assert_eq!(lines_with(&hidden, &["Target", "env=staging"]).len(), 1, "{hidden}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_in_two_alertmanagers_is_merged_once_with_both_sources() {
    if !have_alertmanager() {
        return;
    }
    let (a, b) = (start_am(ROUTE).await, start_am(ROUTE).await);
    let shared: &[(&str, &str)] = &[("alertname", "DiskFull"), ("env", "production"), ("instance", "db1")];
    post_alerts(&a.url, &[shared]).await;
    post_alerts(&b.url, &[shared, &[("alertname", "QueueBacklog"), ("env", "staging")]]).await;
    // A third that nobody listens on: its part is an error, the rest still merged.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let urls = [a.url.as_str(), b.url.as_str(), dead.as_str()];
    let snap = merged_when(&urls, "both Alertmanagers' alerts", |s| s.alerts.len() >= 2).await;
    assert_eq!(snap.alerts.len(), 2, "{:?}", snap.alerts);
    let disk: Vec<_> = snap.alerts.iter().filter(|x| x.name() == "DiskFull").collect();
    assert_eq!(disk.len(), 1, "the shared alert once: {:?}", snap.alerts);
    assert_eq!(disk[0].sources, vec![a.url.clone(), b.url.clone()]);
    let queue = snap.alerts.iter().find(|x| x.name() == "QueueBacklog").unwrap();
    assert_eq!(queue.sources, vec![b.url.clone()]);
    // The fingerprint is Alertmanager's own, the same in both.
    let client = reqwest::Client::new();
    let fp = |ans: am::Answer| ans.groups.into_iter().flat_map(|(_, v)| v).find(|x| x.name() == "DiskFull").unwrap();
    let (fa, fb) = (fp(am::fetch(&client, &a.url).await.unwrap()), fp(am::fetch(&client, &b.url).await.unwrap()));
    assert!(!fa.fingerprint.is_empty() && fa.fingerprint == fb.fingerprint && disk[0].fingerprint == fa.fingerprint);
    // Grouped by alertname: each group lists its alert once.
    let groups: Vec<_> = snap.groups.iter().map(|g| g.alerts.clone()).collect();
    assert!(groups.iter().all(|g| g.len() == 1) && groups.len() == 2, "{:?}", snap.groups);
    assert_eq!(snap.errors.len(), 1, "{:?}", snap.errors);
    assert_eq!(snap.errors[0].0, dead);

    let screen = am_view(&snap, &urls, false);
    let rows = lines_with(&screen, &["DiskFull", "instance=db1"]);
    assert_eq!(rows.len(), 1, "{screen}");
    assert!(rows[0].contains(&format!("from {}, {}", a.url, b.url)), "{screen}");
    assert!(screen.contains(&format!("✖ {dead}")), "the dead one is named: {screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_mutes_exactly_the_alerts_its_preview_counts() {
    if !have_alertmanager() {
        return;
    }
    let a = start_am(ROUTE).await;
    let disk = |i: &'static str| -> [(&'static str, &'static str); 3] {
        [("alertname", "DiskFull"), ("env", "production"), ("instance", i)]
    };
    post_alerts(
        &a.url,
        &[&disk("db1"), &disk("db2"), &disk("web1"), &[("alertname", "QueueBacklog"), ("env", "production")]],
    )
    .await;
    let snap = merged_when(&[&a.url], "the four alerts", |s| s.alerts.len() == 4).await;
    let web1 = snap.alerts.iter().find(|x| label(&x.labels, "instance") == "web1").unwrap();
    let client = reqwest::Client::new();

    for (text, want) in [
        // A regex: two of the three DiskFull alerts.
        (r#"alertname="DiskFull", instance=~"db.*""#.to_string(), vec!["db1", "db2"]),
        // Prefilled from one alert's labels: that alert only.
        (matchers::exact(&web1.labels), vec!["web1"]),
    ] {
        let n = opsdeck::app::alertmanager::preview(&snap.alerts, &text).unwrap();
        assert_eq!(n, want.len(), "preview of {text}");
        let ms = matchers::parse(&text).unwrap();
        let id = am::create(
            &client,
            &a.url,
            &NewSilence {
                matchers: ms.clone(),
                starts_at_ms: now_ms(),
                ends_at_ms: now_ms() + 3_600_000,
                created_by: "remote-alerts test".into(),
                comment: format!("test: {text}"),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create {text}: {e}"));
        // Alertmanager's own word: which alerts this silence mutes.
        let muted = poll(Duration::from_secs(15), &format!("{n} alerts silenced by {id}"), || {
            let (u, id) = (a.url.clone(), id.clone());
            async move {
                let by: Vec<Value> = am_alerts(&u)
                    .await
                    .into_iter()
                    .filter(|x| {
                        x["status"]["silencedBy"].as_array().is_some_and(|s| s.iter().any(|y| y == id.as_str()))
                    })
                    .collect();
                (by.len() >= n).then_some(by)
            }
        })
        .await;
        let mut instances: Vec<&str> = muted.iter().map(|x| x["labels"]["instance"].as_str().unwrap_or("")).collect();
        instances.sort();
        assert_eq!(instances, want, "{text}: Alertmanager mutes exactly what the preview counted");
        assert!(muted.iter().all(|x| x["status"]["state"] == "suppressed"));

        // Read back: the silence as typed, and the same alerts marked in the snapshot.
        let back = merged_when(&[&a.url], "the silence read back", |s| {
            s.alerts.iter().filter(|x| x.silenced_by.contains(&id)).count() == n
        })
        .await;
        let s = back.silences.iter().find(|s| s.id == id).unwrap();
        assert_eq!((s.state.as_str(), s.created_by.as_str()), ("active", "remote-alerts test"));
        assert_eq!(s.matchers, ms, "matchers round-trip");
        assert!(ms.iter().any(|m| m.op == MatchOp::Re) == text.contains("=~"));
    }

    // Expired: Alertmanager says so, and the alerts it muted are active again.
    let snap = merged_when(&[&a.url], "silences", |s| s.silences.len() == 2).await;
    let regex = snap.silences.iter().find(|s| s.matchers.iter().any(|m| m.op == MatchOp::Re)).unwrap();
    am::expire(&client, &a.url, &regex.id).await.unwrap();
    let id = regex.id.clone();
    poll(Duration::from_secs(15), "the regex silence expired and db1, db2 active again", || {
        let (u, id) = (a.url.clone(), id.clone());
        async move {
            let s = get_json(&format!("{u}/api/v2/silence/{id}")).await?;
            let alerts = am_alerts(&u).await;
            let db_active = alerts
                .iter()
                .filter(|x| x["labels"]["instance"].as_str().is_some_and(|i| i.starts_with("db")))
                .all(|x| x["status"]["state"] == "active");
            (s["status"]["state"] == "expired" && db_active && alerts.len() == 4).then_some(())
        }
    })
    .await;
}
