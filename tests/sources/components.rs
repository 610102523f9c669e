//! Component checks and backup freshness against real servers started here from Debian's
//! packages: a Postgres (checked by `pg_isready` and by `tcp`), a Redis (by `tcp` PING/+PONG and by
//! `redis-cli`), a restic repository. Under `.ci/run` a missing tool fails the test.

use crate::common::have_tool;
use opsdeck::components::{self, Tracker};
use opsdeck::config::Config;
use opsdeck::model::{ComponentState, ComponentStatus};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn env_config(dir: &Path, body: &str) -> Config {
    let text = format!("[[environment]]\nname = \"e\"\n{body}\n");
    Config::parse(&text, &dir.join("opsdeck.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

async fn verdicts(cfg: &Config) -> Vec<ComponentStatus> {
    components::verdicts(&cfg.environments).await
}

fn by_name<'a>(v: &'a [ComponentStatus], name: &str) -> &'a ComponentStatus {
    v.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no component {name} in {v:?}"))
}

struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let r = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis_ping(port) {
            assert!(Instant::now() < deadline, "redis-server did not answer on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert!(!redis_ping(self.port));
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_ping(port: u16) -> bool {
    Command::new("redis-cli")
        .args(["-p", &port.to_string(), "ping"])
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
}

/// Feed statuses into `last` until both components are in `want` (15 s at most).
async fn until(
    rx: &mut tokio::sync::mpsc::Receiver<ComponentStatus>,
    last: &mut std::collections::BTreeMap<String, ComponentStatus>,
    want: ComponentState,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(last.len() == 2 && last.values().all(|s| s.state == want)) {
        let s = tokio::time::timeout_at(deadline, rx.recv()).await.expect("timed out").expect("checker gone");
        last.insert(s.name.clone(), s);
    }
}

#[tokio::test]
async fn redis_by_tcp_ping_and_redis_cli_goes_unhealthy_after_exactly_retries_and_back() {
    if !have_tool("redis-server", &["--version"], "redis-server")
        || !have_tool("redis-cli", &["--version"], "redis-tools")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut redis = Redis::start(port);
    let timing = "interval = \"200ms\", timeout = \"1s\", retries = 3";
    let cfg = env_config(
        dir.path(),
        &format!(
            "components = [\n  {{ name = \"ping\", kind = \"tcp\", address = \"127.0.0.1:{port}\", send = \"PING\\r\\n\", expect = \"+PONG\", {timing} }},\n  {{ name = \"cli\", kind = \"command\", argv = [\"redis-cli\", \"-p\", \"{port}\", \"ping\"], {timing} }},\n]"
        ),
    );
    let v = verdicts(&cfg).await;
    for c in ["ping", "cli"] {
        let s = by_name(&v, c);
        assert_eq!((s.state, s.checks), (ComponentState::Healthy, 1), "{s:?}");
    }
    assert_eq!(by_name(&v, "ping").output, "+PONG");
    assert_eq!(by_name(&v, "cli").output, "PONG");

    // The dashboard's path: one task per component, each status sent after each check.
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let _checkers = components::spawn(&cfg.environments, opsdeck::clock::wall_ms, tx);
    let mut last = std::collections::BTreeMap::new();
    until(&mut rx, &mut last, ComponentState::Healthy).await;
    redis.stop();
    until(&mut rx, &mut last, ComponentState::Unhealthy).await;
    for s in last.values() {
        assert_eq!(s.failing_streak, 3, "unhealthy at exactly retries failures: {s:?}");
        let states: Vec<_> = s.transitions.iter().map(|(_, st)| *st).collect();
        assert_eq!(states, [ComponentState::Starting, ComponentState::Healthy, ComponentState::Unhealthy]);
    }
    assert_eq!(last["ping"].reason.as_deref(), Some("connection refused"));
    let cli = last["cli"].reason.clone().unwrap();
    assert!(cli.starts_with("exit 1") && cli.to_lowercase().contains("refused"), "{cli}");

    // One-shot, as `status` runs it: exactly `retries` checks to say unhealthy.
    let v = verdicts(&cfg).await;
    for c in ["ping", "cli"] {
        let s = by_name(&v, c);
        assert_eq!((s.state, s.checks), (ComponentState::Unhealthy, 3), "{s:?}");
    }

    let _redis = Redis::start(port);
    until(&mut rx, &mut last, ComponentState::Healthy).await;
    assert!(last.values().all(|s| s.failing_streak == 0));
}

/// A Postgres cluster in a temporary directory, on a loopback port (as the postgres user when
/// this runs as root: Postgres refuses to run as root).
struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_pg: bool,
}

impl Postgres {
    fn bin_dir() -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .collect();
        dirs.sort();
        dirs.pop()
    }

    fn cmd(&self, prog: &str) -> Command {
        let path = self.bin.join(prog);
        if self.as_pg {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn init(root: &Path) -> Postgres {
        let bin = Postgres::bin_dir().expect("initdb under /usr/lib/postgresql/*/bin");
        // SAFETY: geteuid has no preconditions.
        let as_pg = unsafe { libc::geteuid() } == 0;
        let dir = root.join("pg");
        std::fs::create_dir(&dir).unwrap();
        if as_pg {
            // Postgres runs as its own user: it must reach and own its directory.
            assert!(Command::new("chmod").args(["755"]).arg(root).status().unwrap().success());
            assert!(Command::new("chown").args(["postgres:"]).arg(&dir).status().unwrap().success());
        }
        let pg = Postgres { dir, bin, port: free_port(), as_pg };
        let out = pg
            .cmd("initdb")
            .args(["-A", "trust", "-U", "postgres", "-N", "--no-instructions", "-D"])
            .arg(pg.dir.join("data"))
            .current_dir(&pg.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        pg
    }

    fn start(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let out = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "30", "-o", &opts, "start"])
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn stop(&self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "-t", "20", "stop"])
            .current_dir(&self.dir)
            .output();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "-t", "20", "stop"])
            .current_dir(&self.dir)
            .output();
    }
}

#[tokio::test]
async fn postgres_by_pg_isready_and_tcp() {
    if !have_tool("pg_isready", &["--version"], "postgresql-client") {
        return;
    }
    if Postgres::bin_dir().is_none() {
        assert!(
            std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "initdb is required: apt-get install postgresql"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let pg = Postgres::init(root.path());
    pg.start();
    let p = pg.port;
    let timing = "interval = \"200ms\", timeout = \"2s\", retries = 2";
    let cfg = env_config(
        root.path(),
        &format!(
            "components = [\n  {{ name = \"ready\", kind = \"command\", argv = [\"pg_isready\", \"-h\", \"127.0.0.1\", \"-p\", \"{p}\"], {timing} }},\n  {{ name = \"port\", kind = \"tcp\", address = \"127.0.0.1:{p}\", {timing} }},\n]"
        ),
    );
    let v = verdicts(&cfg).await;
    assert_eq!(by_name(&v, "ready").state, ComponentState::Healthy, "{v:?}");
    assert!(by_name(&v, "ready").output.contains("accepting connections"), "{v:?}");
    assert_eq!(by_name(&v, "port").state, ComponentState::Healthy);

    pg.stop();
    let v = verdicts(&cfg).await;
    let ready = by_name(&v, "ready");
    assert_eq!((ready.state, ready.checks), (ComponentState::Unhealthy, 2), "{ready:?}");
    // pg_isready: exit 2 is "no response".
    assert!(ready.reason.as_deref().unwrap().starts_with("exit 2: "), "{ready:?}");
    assert!(ready.reason.as_deref().unwrap().contains("no response"), "{ready:?}");
    assert_eq!(by_name(&v, "port").reason.as_deref(), Some("connection refused"));

    pg.start();
    let v = verdicts(&cfg).await;
    assert!(v.iter().all(|c| c.state == ComponentState::Healthy), "{v:?}");
}

#[tokio::test]
async fn a_hanging_check_is_killed_with_its_group_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("{}.{}", 900 + std::process::id() % 99, std::process::id());
    let cfg = env_config(
        dir.path(),
        &format!(
            "components = [{{ name = \"hang\", kind = \"command\", argv = [\"sh\", \"-c\", \"sleep {tag}1 & sleep {tag}2\"], interval = \"100ms\", timeout = \"500ms\", retries = 2 }}]"
        ),
    );
    let t0 = Instant::now();
    let v = verdicts(&cfg).await;
    let took = t0.elapsed();
    let s = by_name(&v, "hang");
    assert_eq!((s.state, s.checks), (ComponentState::Unhealthy, 2), "{s:?}");
    assert!(s.reason.as_deref().unwrap().starts_with("timed out after 500ms"), "{s:?}");
    assert!(took < Duration::from_secs(5), "two timeouts of 0.5 s took {took:?}");
    std::thread::sleep(Duration::from_millis(300));
    let left = Command::new("pgrep").args(["-f", &format!("^sleep {tag}")]).output().unwrap();
    assert!(left.stdout.is_empty(), "the check's background sleep survived: {}", String::from_utf8_lossy(&left.stdout));
}

#[tokio::test]
async fn start_period_keeps_a_failing_check_starting_until_a_first_pass() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up = live.local_addr().unwrap().port();
    let timing = "interval = \"100ms\", timeout = \"500ms\", retries = 2";
    let cfg = env_config(
        dir.path(),
        &format!(
            "components = [\n  {{ name = \"cold\", kind = \"tcp\", address = \"127.0.0.1:{dead}\", {timing}, start_period = \"1h\" }},\n  {{ name = \"plain\", kind = \"tcp\", address = \"127.0.0.1:{dead}\", {timing} }},\n  {{ name = \"early\", kind = \"tcp\", address = \"127.0.0.1:{up}\", {timing}, start_period = \"1h\" }},\n]"
        ),
    );
    let v = verdicts(&cfg).await;
    assert_eq!(by_name(&v, "cold").state, ComponentState::Starting);
    assert_eq!(by_name(&v, "cold").failing_streak, 0, "start-period failures are not counted");
    assert_eq!(by_name(&v, "plain").state, ComponentState::Unhealthy);
    assert_eq!(by_name(&v, "early").state, ComponentState::Healthy);

    // After a first pass, failures count even inside the start period.
    let c = &cfg.environments[0].components[2];
    let mut t = Tracker::new("e", c, 0);
    let pass = components::Probe { ok: true, reason: None, output: String::new(), duration: Duration::ZERO };
    let fail = components::Probe { ok: false, reason: Some("x".into()), ..pass.clone() };
    t.record(&pass, 1);
    t.record(&fail, 2);
    t.record(&fail, 3);
    assert_eq!(t.status().state, ComponentState::Unhealthy);
}

#[test]
fn backup_freshness_from_a_real_restic_repository() {
    if !have_tool("restic", &["version"], "restic") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("numbers.txt"), "1\n2\n3\n").unwrap();
    let restic = |args: &[&str]| {
        let out = Command::new("restic")
            .arg("-r")
            .arg(&repo)
            .args(args)
            .env("RESTIC_PASSWORD", "opsdeck-test")
            .env("RESTIC_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        assert!(out.status.success(), "restic {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    restic(&["init", "-q"]);
    let when = chrono::Local::now() - chrono::Duration::minutes(20);
    restic(&[
        "backup",
        "-q",
        "--host",
        "opsdeck-test",
        "--time",
        &when.format("%Y-%m-%d %H:%M:%S").to_string(),
        data.to_str().unwrap(),
    ]);

    let status = |policy: &str, repo: &Path| -> serde_json::Value {
        let text = format!(
            "[[environment]]\nname = \"vault\"\nbackup = {{ policy = \"{policy}\", command = [\"restic\", \"-r\", \"{}\", \"snapshots\", \"--json\", \"--latest\", \"1\"] }}\n",
            repo.display()
        );
        let cfg = dir.path().join(format!("cfg-{policy}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .arg("--config")
            .arg(&cfg)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["status", "--json"])
            .env("RESTIC_PASSWORD", "opsdeck-test")
            .env("RESTIC_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let v = status("1h", &repo);
    let b = &v["environments"][0]["backup"];
    assert_eq!(b["state"], "fresh", "{v}");
    assert_eq!(b["source"], "restic");
    let age = b["age_seconds"].as_u64().unwrap();
    assert!((1190..1260).contains(&age), "20 minutes old: {age}");
    assert_eq!(b["last_attempt"]["ok"], true);
    assert!(v["environments"][0]["alerts"].as_array().unwrap().is_empty(), "{v}");

    let v = status("1s", &repo);
    let e = &v["environments"][0];
    assert_eq!(e["backup"]["state"], "overdue", "{v}");
    assert!(
        e["alerts"].as_array().unwrap().iter().any(|a| a["name"] == "BackupOverdue" && a["state"] == "firing"),
        "{v}"
    );

    let v = status("1h", &dir.path().join("no-such-repo"));
    let b = &v["environments"][0]["backup"];
    assert_ne!(b["state"], "fresh", "a failed read is never fresh: {v}");
    assert_eq!(b["last_attempt"]["ok"], false);
    assert!(b["last_attempt"]["error"].as_str().unwrap().starts_with("exit "), "{v}");
}
