//! The soak (issue 17, part 4): a day of operation, time-compressed on a virtual clock.
//!
//! Per virtual 15 s step: three environments × 2,000 series are scraped into the store through
//! the scrape path (`TargetState::ingest`: parse, series cache, append; retention 6 h), the rule
//! engine evaluates a rule file whose alert fires and resolves on a schedule, its notifications
//! go through the real notifier (reqwest, retries, bounded queue) to a loopback Alertmanager API
//! recorder that is down for one virtual hour, and 15,000 log lines (1,000/s) are parsed into the
//! bounded log buffer. Every virtual 10 minutes the real `opsdeck deploy` runs (command driver,
//! health checks, bake, automatic rollback) alternating a good and a bad version, writing the
//! journal, lock and audit log. Every virtual hour: RSS, threads, fds, live tokio tasks, store
//! and log figures and the size of the state directory, as CSV.
//!
//! What is real and what is not: the store, parser, rule engine, notifier, log parser and the
//! deploy engine are opsdeck's own code paths; the scraped targets are generated in process (no
//! HTTP per scrape, which the fault matrix and the scale run cover), and the Alertmanager is a
//! recorder speaking its `POST /api/v2/alerts`, so every notification it received can be counted.
//!
//! `bash scripts/soak.sh [HOURS]` builds and runs it; it exits 1 when memory grows after warm-up,
//! a state file grows without bound, or a notification was lost.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opsdeck::logs::buffer::LogBuffer;
use opsdeck::notify::{Notifier, NotifierConfig};
use opsdeck::rules::file::parse_rule_file;
use opsdeck::rules::{EngineOptions, PromqlEvaluator, RuleEngine, RuleSet};
use opsdeck::scrape::target::{Body, ScrapeOutcome, Target, TargetState};
use opsdeck::tsdb::{Storage, StorageOptions};

const ENVS: [&str; 3] = ["development", "staging", "production"];
const SERIES: usize = 2_000;
const STEP_MS: i64 = 15_000;
const HOUR_MS: i64 = 3_600_000;
const DEPLOY_EVERY_MS: i64 = 600_000;
const RETENTION_MS: i64 = 6 * HOUR_MS;
/// The Alertmanager is away during this virtual hour.
const OUTAGE: (i64, i64) = (10 * HOUR_MS, 11 * HOUR_MS);
/// Each environment's SoakFlap alert: active `FLAP_ON` out of every `FLAP_PERIOD`, offset per env.
const FLAP_PERIOD: i64 = 50 * 60_000;
const FLAP_ON: i64 = 20 * 60_000;
const START: i64 = 1_800_000_000_000;

const RULES: &str = r#"groups:
  - name: soak
    interval: 15s
    rules:
      - record: env:soak_requests:rate5m
        expr: sum by (env) (rate(soak_requests_total[5m]))
      - alert: SoakFlap
        expr: max by (env) (soak_flap) > 0
        for: 1m
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.env }} flapping at {{ $value }}"}
      - alert: SoakTraffic
        expr: env:soak_requests:rate5m < 0
        labels: {severity: info}
"#;

struct Args {
    hours: i64,
    log_rate: usize,
    bin: PathBuf,
    out: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        hours: 24,
        log_rate: 1_000,
        bin: PathBuf::from("target/release/opsdeck"),
        out: PathBuf::from("target/soak"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--hours" => a.hours = v().parse().expect("--hours N"),
            "--log-rate" => a.log_rate = v().parse().expect("--log-rate N"),
            "--bin" => a.bin = PathBuf::from(v()),
            "--out" => a.out = PathBuf::from(v()),
            // cargo bench passes --bench.
            _ => {}
        }
    }
    a
}

fn main() {
    let a = args();
    std::fs::create_dir_all(&a.out).unwrap();
    let work = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let _guard = rt.enter();

    let am = Recorder::start();
    let notifier = Notifier::spawn(NotifierConfig {
        alertmanagers: vec![am.url()],
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..NotifierConfig::default()
    });
    let app = App::start(work.path());
    let deploy_cfg = app.write_config(work.path());

    let set = RuleSet { files: vec![parse_rule_file(Path::new("soak.yml"), RULES).unwrap()] };
    let mut rules = RuleEngine::new(PromqlEvaluator::default(), &set, EngineOptions::default()).unwrap();
    let mut store = Storage::new(StorageOptions { retention_ms: RETENTION_MS, max_series: 100_000 });
    let mut targets: Vec<TargetState> = ENVS
        .iter()
        .map(|e| TargetState::new(Target::new(e, "api", &format!("http://{e}.soak:9100/metrics"))))
        .collect();
    let mut logs = LogBuffer::new(20_000, 8 << 20);
    let mut gen = Gen::default();

    let mut csv = std::fs::File::create(a.out.join("soak.csv")).unwrap();
    writeln!(
        csv,
        "hour,real_s,rss_mb,threads,fds,tokio_tasks,series,samples,store_bytes_per_sample,log_lines,log_mb,state_kb,am_received,queued,dropped"
    )
    .unwrap();
    let real = Instant::now();
    let (mut deploy, mut deploys, mut deploy_exits): (Option<Deploy>, u32, BTreeMap<i32, u32>) =
        (None, 0, BTreeMap::new());
    let mut rows: Vec<(i64, f64, u64)> = Vec::new();
    let end = START + a.hours * HOUR_MS;
    let mut t = START;
    let mut lines_total = 0u64;
    while t <= end {
        let since = t - START;
        am.set_up(!(OUTAGE.0..OUTAGE.1).contains(&since));
        for (i, ts) in targets.iter_mut().enumerate() {
            let body = gen.exposition(i, since);
            let outcome = ScrapeOutcome {
                started_ms: t,
                duration: Duration::from_millis(3),
                result: Ok(Body { bytes: body, content_type: None }),
            };
            let rep = ts.ingest(&mut store, &outcome, t);
            assert!(rep.error.is_none(), "scrape: {:?}", rep.error);
        }
        store.trim(t);
        rules.eval_all(&mut store, t);
        notifier.send(&rules.take_notifications());
        for _ in 0..a.log_rate * (STEP_MS as usize / 1000) {
            let line = gen.log_line(t);
            logs.push(opsdeck::logs::parse::parse_line(line.as_bytes(), 0, None), t);
            lines_total += 1;
        }
        if since % DEPLOY_EVERY_MS == 0 && since > 0 {
            // The next deploy waits for the last: every one of them runs.
            if let Some(d) = deploy.take() {
                *deploy_exits.entry(d.wait()).or_default() += 1;
            }
            let version = if deploys % 2 == 0 { format!("2.{deploys}.0") } else { format!("2.{deploys}.0-bad") };
            deploy = Some(Deploy::start(&a.bin, &deploy_cfg, &version));
            deploys += 1;
        }
        if since % HOUR_MS == 0 {
            let st = notifier.status();
            let p = proc_figures();
            let state_kb = dir_bytes(&work.path().join("state")) / 1024;
            let row = format!(
                "{},{:.1},{:.1},{},{},{},{},{},{:.2},{},{:.1},{},{},{},{}",
                since / HOUR_MS,
                real.elapsed().as_secs_f64(),
                p.rss_kb as f64 / 1024.0,
                p.threads,
                p.fds,
                rt.metrics().num_alive_tasks(),
                store.num_series(),
                store.num_samples(),
                store.bytes_per_sample(),
                logs.len(),
                logs.bytes() as f64 / 1048576.0,
                state_kb,
                am.received(),
                st.iter().map(|s| s.queued).sum::<usize>(),
                st.iter().map(|s| s.dropped).sum::<u64>(),
            );
            println!("{row}");
            writeln!(csv, "{row}").unwrap();
            rows.push((since / HOUR_MS, p.rss_kb as f64 / 1024.0, state_kb));
        }
        t += STEP_MS;
    }
    if let Some(d) = deploy.take() {
        *deploy_exits.entry(d.wait()).or_default() += 1;
    }
    // Let the notifier drain what the outage queued.
    am.set_up(true);
    let drained = Instant::now();
    while notifier.status().iter().any(|s| s.queued > 0) && drained.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let verdict = judge(&a, &rows, &am.alerts(), &deploy_exits, deploys, lines_total, &work.path().join("state"));
    std::fs::write(a.out.join("summary.txt"), format!("{verdict}\n")).unwrap();
    println!("{verdict}");
    drop(app);
    if verdict.starts_with("soak: FAIL") {
        std::process::exit(1);
    }
}

/// Flat memory after warm-up (the store fills its 6 h retention first), bounded state files,
/// every scheduled firing and resolution received, deploys alternating verified / rolled back.
fn judge(
    a: &Args,
    rows: &[(i64, f64, u64)],
    got: &[Received],
    exits: &BTreeMap<i32, u32>,
    deploys: u32,
    lines: u64,
    state: &Path,
) -> String {
    let mut fails = Vec::new();
    let warm: Vec<f64> = rows.iter().filter(|r| r.0 >= 7).map(|r| r.1).collect();
    let (lo, hi) = warm.iter().fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let (lo, hi) = if warm.is_empty() { (0.0, 0.0) } else { (lo, hi) };
    let growth = if warm.len() >= 2 { hi / lo - 1.0 } else { 0.0 };
    if growth > 0.10 {
        fails.push(format!("RSS grew {:.0} % after warm-up ({lo:.1} → {hi:.1} MB)", growth * 100.0));
    }
    let biggest = biggest_file(state);
    if biggest.1 > (opsdeck::deploy::journal::COMPACT_BYTES + opsdeck::deploy::audit::ROTATE_BYTES) * 2 {
        fails.push(format!("{} is {} bytes", biggest.0.display(), biggest.1));
    }
    let expected = scheduled_episodes(a.hours * HOUR_MS);
    let mut lost = Vec::new();
    for (env, from, to) in &expected {
        // As Prometheus sends them: startsAt is when it fired (active + `for: 1m`), a resolved
        // endsAt the evaluation that found it gone.
        let mine: Vec<&Received> =
            got.iter().filter(|r| r.env == *env && (r.starts_at - (from + 60_000)).abs() <= STEP_MS).collect();
        // Firing: one sent early in the episode (its endsAt, a few resend delays ahead, is well
        // before the end); resolved: the last one received ends when the episode did.
        let firing = mine.iter().any(|r| r.ends_at < to - 60_000);
        let resolved = mine.last().is_some_and(|r| (r.ends_at - to).abs() <= 2 * STEP_MS);
        if !firing || !resolved {
            lost.push(format!(
                "{env}@{}m{}{}",
                (from - START) / 60_000,
                if firing { "" } else { " firing" },
                if resolved { "" } else { " resolved" }
            ));
        }
    }
    if !lost.is_empty() {
        fails.push(format!("{} of {} episodes lost a notification: {}", lost.len(), expected.len(), lost.join(", ")));
    }
    let good = exits.get(&0).copied().unwrap_or(0);
    let rolled = exits.get(&3).copied().unwrap_or(0);
    if good + rolled != deploys || good.abs_diff(rolled) > 1 {
        fails.push(format!("deploy exits {exits:?} of {deploys}"));
    }
    let head = if fails.is_empty() { "soak: PASS" } else { "soak: FAIL" };
    format!(
        "{head}: {}h virtual; RSS after warm-up {lo:.1}–{hi:.1} MB ({:+.1} %); {} deploys (exit 0: {good}, exit 3: {rolled}); \
         {} alert episodes, every firing and resolved received across a 1 h Alertmanager outage: {}; {lines} log lines; \
         largest state file {} ({} KB){}",
        a.hours,
        growth * 100.0,
        deploys,
        expected.len(),
        lost.is_empty(),
        biggest.0.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        biggest.1 / 1024,
        if fails.is_empty() { String::new() } else { format!("; {}", fails.join("; ")) }
    )
}

/// (env, active from, gone at) of every SoakFlap episode that lasts past its `for: 1m`.
fn scheduled_episodes(span: i64) -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    for (i, env) in ENVS.iter().enumerate() {
        let mut k = 0;
        loop {
            let from = k * FLAP_PERIOD + offset(i);
            let to = from + FLAP_ON;
            // Only episodes that ended (and whose resolution could be sent) within the run.
            if to + 2 * STEP_MS > span {
                break;
            }
            out.push((env.to_string(), START + from, START + to));
            k += 1;
        }
    }
    out
}

fn offset(env: usize) -> i64 {
    5 * 60_000 + env as i64 * 7 * 60_000
}

fn flapping(env: usize, since: i64) -> bool {
    let x = since - offset(env);
    x >= 0 && x % FLAP_PERIOD < FLAP_ON
}

/// Expositions and log lines, deterministic.
#[derive(Default)]
struct Gen {
    seq: u64,
}

impl Gen {
    /// 2,000 series: 1,000 counters growing at steady rates, 990 gauges, ten flap gauges.
    fn exposition(&mut self, env: usize, since: i64) -> Vec<u8> {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(SERIES * 60);
        let steps = (since / STEP_MS) as f64;
        s.push_str("# TYPE soak_requests_total counter\n");
        for i in 0..1_000 {
            let code = if i % 10 == 0 { "500" } else { "200" };
            let _ = writeln!(s, "soak_requests_total{{path=\"/p{i}\",code=\"{code}\"}} {}", steps * (1 + i % 7) as f64);
        }
        s.push_str("# TYPE soak_gauge gauge\n");
        for i in 0..990 {
            let _ = writeln!(s, "soak_gauge{{i=\"{i}\"}} {}", ((steps + i as f64) * 0.37).sin() * 100.0);
        }
        s.push_str("# TYPE soak_flap gauge\n");
        let v = if flapping(env, since) { 1 } else { 0 };
        for i in 0..10 {
            let _ = writeln!(s, "soak_flap{{shard=\"{i}\"}} {v}");
        }
        s.into_bytes()
    }

    fn log_line(&mut self, t: i64) -> String {
        self.seq += 1;
        let level = ["info", "info", "info", "warn", "error"][(self.seq % 5) as usize];
        format!(
            r#"{{"ts":{},"level":"{level}","msg":"GET /api/items/{} done","request_id":"req-{:x}","status":{},"duration_ms":{}}}"#,
            t / 1000,
            self.seq % 997,
            self.seq,
            if level == "error" { 500 } else { 200 },
            self.seq % 250
        )
    }
}

struct ProcFigures {
    rss_kb: u64,
    threads: u64,
    fds: usize,
}

fn proc_figures() -> ProcFigures {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    ProcFigures { rss_kb: field("VmRSS:"), threads: field("Threads:"), fds }
}

fn files(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        match e.metadata() {
            Ok(m) if m.is_dir() => files(&p, out),
            Ok(m) => out.push((p, m.len())),
            Err(_) => {}
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut v = Vec::new();
    files(dir, &mut v);
    v.iter().map(|f| f.1).sum()
}

fn biggest_file(dir: &Path) -> (PathBuf, u64) {
    let mut v = Vec::new();
    files(dir, &mut v);
    v.into_iter().max_by_key(|f| f.1).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The deployed app: a health endpoint reporting the version the driver wrote; a "-bad" version
// answers 500, so its deploy fails verification and is rolled back.

struct App {
    stop: Arc<AtomicBool>,
    port: u16,
}

impl App {
    fn start(dir: &Path) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let version_file = dir.join("version");
        std::fs::write(&version_file, "1.0.0").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(mut c) = conn else { continue };
                let v = std::fs::read_to_string(&version_file).unwrap_or_default();
                let _ = read_request(&mut c);
                let code = if v.ends_with("-bad") { "500 Internal Server Error" } else { "200 OK" };
                let body =
                    format!(r#"{{"status":"{}","version":"{v}"}}"#, if code == "200 OK" { "ok" } else { "error" });
                let _ = write!(
                    c,
                    "HTTP/1.1 {code}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        App { stop, port }
    }

    fn write_config(&self, dir: &Path) -> PathBuf {
        let cfg = dir.join("opsdeck.toml");
        let version = dir.join("version");
        let text = format!(
            r#"[general]
state_dir = "{state}"

[[environment]]
name = "production"
health = {{ url = "http://127.0.0.1:{port}/health", interval = "1s", timeout = "1s", version_field = "version" }}
deploy = {{ driver = "command", deploy = ["/bin/sh", "-c", "printf %s \"$OPSDECK_VERSION\" > {version}"], health_checks = 2, health_interval = "100ms", bake = "300ms", timeout = "10s" }}
"#,
            state = dir.join("state").display(),
            port = self.port,
            version = version.display(),
        );
        std::fs::write(&cfg, text).unwrap();
        cfg
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Deploy(std::process::Child);

impl Deploy {
    fn start(bin: &Path, cfg: &Path, version: &str) -> Deploy {
        let child = std::process::Command::new(bin)
            .args(["--config"])
            .arg(cfg)
            .args(["deploy", "production", version, "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (build it first: cargo build --release)", bin.display()));
        Deploy(child)
    }

    fn wait(mut self) -> i32 {
        self.0.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1)
    }
}

// ---------------------------------------------------------------------------------------------
// The Alertmanager side: `POST /api/v2/alerts` recorded; while "down" its port refuses.

#[derive(Debug, Clone)]
struct Received {
    env: String,
    starts_at: i64,
    ends_at: i64,
}

struct Recorder {
    port: u16,
    up: Arc<Mutex<Option<TcpListener>>>,
    got: Arc<Mutex<Vec<Received>>>,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl Recorder {
    fn start() -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let r = Recorder {
            port,
            up: Arc::new(Mutex::new(None)),
            got: Arc::new(Mutex::new(Vec::new())),
            count: Arc::new(Default::default()),
        };
        drop(l);
        r.set_up(true);
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Bind (serve) or close (refuse) the port.
    fn set_up(&self, up: bool) {
        let mut slot = self.up.lock().unwrap();
        if up == slot.is_some() {
            return;
        }
        if !up {
            *slot = None;
            // Wake the accept loop so it drops its clone of the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            return;
        }
        let l = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let serving = l.try_clone().unwrap();
        *slot = Some(l);
        let (up_slot, got, count) = (self.up.clone(), self.got.clone(), self.count.clone());
        std::thread::spawn(move || {
            for conn in serving.incoming() {
                if up_slot.lock().unwrap().is_none() {
                    return;
                }
                let Ok(mut c) = conn else { continue };
                let body = read_request(&mut c).unwrap_or_default();
                if let Ok(serde_json::Value::Array(alerts)) = serde_json::from_slice::<serde_json::Value>(&body) {
                    let mut g = got.lock().unwrap();
                    for a in alerts {
                        if a["labels"]["alertname"] != "SoakFlap" {
                            continue;
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                        g.push(Received {
                            env: a["labels"]["env"].as_str().unwrap_or_default().to_string(),
                            starts_at: millis(&a["startsAt"]),
                            ends_at: millis(&a["endsAt"]),
                        });
                    }
                }
                let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
    }

    fn received(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn alerts(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn millis(v: &serde_json::Value) -> i64 {
    v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|d| d.timestamp_millis()).unwrap_or(0)
}

/// One HTTP/1.1 request's body (by content-length).
fn read_request(c: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(c);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len.min(16 << 20)];
    r.read_exact(&mut body)?;
    Ok(body)
}
