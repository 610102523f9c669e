//! The deploy engine as a user drives it: the real binary against the real demo fleet
//! (`opsdeck demo --serve-only`), with real processes for the command driver. Each test has a
//! fleet, a state dir and configs of its own.

use crate::common::FleetProc;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

struct Setup {
    fleet: FleetProc,
    dir: tempfile::TempDir,
    token: String,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let token = format!("canary-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos());
        let fleet = FleetProc::start(dir.path(), Some(&token));
        Setup { fleet, dir, token }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("st")
    }

    /// A copy of the demo's config with `edit` applied to every environment's deploy table.
    fn config(&self, name: &str, edit: impl Fn(&str, &mut toml::Table)) -> PathBuf {
        let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&self.fleet.config).unwrap()).unwrap();
        for e in doc["environment"].as_array_mut().unwrap() {
            let env = e["name"].as_str().unwrap().to_string();
            edit(&env, e.get_mut("deploy").unwrap().as_table_mut().unwrap());
        }
        let path = self.dir.path().join(name);
        std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
        path
    }

    /// Fast verification, no gates (a few seconds of traffic are noise, not signal).
    fn fast(&self, name: &str) -> PathBuf {
        self.config(name, |_, d| fast(d))
    }

    fn cmd(&self, config: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config").arg(config).arg("--state-dir").arg(self.state()).args(args);
        c.env("OPSDECK_DEMO_TOKEN", &self.token).stdin(Stdio::null());
        c
    }

    fn run(&self, config: &Path, args: &[&str]) -> Out {
        Out(self.cmd(config, args).output().unwrap())
    }

    /// Every file under the state dir, concatenated.
    fn state_text(&self) -> String {
        let mut s = String::new();
        for p in walk(&self.state()) {
            s.push_str(&String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()));
        }
        s
    }

    fn history(&self, config: &Path, env: &str) -> serde_json::Value {
        let out = self.run(config, &["history", env, "--json"]);
        assert_eq!(out.code(), 0, "{}", out.all());
        serde_json::from_slice(&out.0.stdout)
            .unwrap_or_else(|e| panic!("history --json is not JSON ({e}): {}", out.all()))
    }
}

fn fast(d: &mut toml::Table) {
    d.insert("health_checks".into(), 20.into());
    d.insert("health_interval".into(), "200ms".into());
    d.insert("bake".into(), "1s".into());
    d.insert("gates".into(), toml::Value::Array(vec![]));
}

/// The demo fleet's own deploy endpoint, driven by a command driver: bash's /dev/tcp POSTs
/// `{"version": $2}` with the bearer token from $DEMO_TOKEN (which only env_allow lets through).
fn post_script(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let p = dir.join(name);
    let script = format!(
        r#"#!/bin/bash
# $1 host:port  $2 env  $3 version
{extra}
body="{{\"version\":\"$3\"}}"
exec 3<>"/dev/tcp/${{1%:*}}/${{1#*:}}" || exit 9
printf 'POST /deploy HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nAuthorization: Bearer %s\r\n\r\n%s' "${{#body}}" "$DEMO_TOKEN" "$body" >&3
status=$(head -1 <&3)
echo "fleet said: $status"
case "$status" in *" 202"*) exit 0 ;; *) exit 1 ;; esac
"#
    );
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p
}

fn command_driver(d: &mut toml::Table, argv: Vec<String>, timeout: &str) {
    d.insert("driver".into(), "command".into());
    d.remove("url");
    d.remove("token_env");
    d.insert("deploy".into(), toml::Value::Array(argv.into_iter().map(toml::Value::from).collect()));
    d.insert("timeout".into(), timeout.into());
    d.insert("env_allow".into(), toml::Value::Array(vec!["DEMO_TOKEN".into()]));
}

struct Out(Output);

impl Out {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    fn all(&self) -> String {
        format!("{}{}", String::from_utf8_lossy(&self.0.stdout), String::from_utf8_lossy(&self.0.stderr))
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Every JSON(-lines) file under the state dir parses line by line.
fn all_json_parses(dir: &Path) -> Result<usize, String> {
    let mut lines = 0;
    for p in walk(dir) {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if text.trim().is_empty() || serde_json::from_str::<serde_json::Value>(&text).is_ok() {
            continue;
        }
        for (i, l) in text.lines().enumerate() {
            serde_json::from_str::<serde_json::Value>(l).map_err(|e| format!("{}:{}: {e}: {l}", p.display(), i + 1))?;
            lines += 1;
        }
    }
    Ok(lines)
}

fn outcome_of<'a>(h: &'a serde_json::Value, version: &str) -> Vec<&'a str> {
    h["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["version"] == version)
        .map(|o| o["outcome"].as_str().unwrap())
        .collect()
}

#[test]
fn good_bad_and_slow_deploys_with_the_demo_config() {
    let s = Setup::new();
    let cfg = s.fleet.config.clone();
    let before = s.fleet.version("staging");
    let good = if before == "1.4.0" { "1.4.1" } else { "1.4.0" };

    let dry = s.run(&cfg, &["deploy", "staging", good, "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}", dry.all());
    let text = dry.all();
    assert!(text.lines().any(|l| l.contains("rollback point") && l.contains(&before)), "{text}");
    assert!(text.contains("HighErrorRate") && text.contains("SlowResponseTime"), "{text}");
    assert!(!text.contains(&s.token), "no secret in the plan");

    let out = s.run(&cfg, &["deploy", "staging", good, "--yes"]);
    assert_eq!(out.code(), 0, "{}", out.all());
    assert_eq!(s.fleet.version("staging"), good);

    let out = s.run(&cfg, &["deploy", "staging", "1.6.0-bad", "--yes"]);
    assert_eq!(out.code(), 3, "{}", out.all());
    assert!(out.all().contains("HTTP 503"), "{}", out.all());
    assert_eq!(s.fleet.version("staging"), good, "back on the last verified version");

    let out = s.run(&cfg, &["deploy", "staging", "1.6.0-slow", "--yes"]);
    assert_eq!(out.code(), 3, "{}", out.all());
    let last = String::from_utf8_lossy(&out.0.stdout).to_string();
    assert!(last.contains("SlowResponseTime"), "the summary names the gate: {last}");
    assert_eq!(s.fleet.version("staging"), good);

    let h = s.history(&cfg, "staging");
    assert_eq!(outcome_of(&h, good), ["verified"]);
    assert_eq!(outcome_of(&h, "1.6.0-bad"), ["rolled back"]);
    assert_eq!(outcome_of(&h, "1.6.0-slow"), ["rolled back"]);
    assert_eq!(h["rollback_points"][0]["version"], good);

    // Promotion: staging's verified version to production needs --yes without a terminal.
    let prod = s.fleet.version("production");
    let out = s.run(&cfg, &["promote", "production"]);
    assert_eq!(out.code(), 5, "{}", out.all());
    assert_eq!(s.fleet.version("production"), prod, "untouched");
    let audit = std::fs::read_to_string(s.state().join("audit.jsonl")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"production\"") && l.contains("refused")), "{audit}");

    assert!(!s.state_text().contains(&s.token), "the fleet's token is in no state file");
    assert!(all_json_parses(&s.state()).unwrap() > 10);
}

#[test]
fn command_driver_environment_output_and_secrets() {
    let s = Setup::new();
    let api = s.fleet.api("development").trim_start_matches("http://").to_string();
    let script = post_script(
        s.dir.path(),
        "drv.sh",
        r#"printf 'marker \033]52;c;cHduZWQ=\007 \033[2J\033[31mred\033[0m\n'
echo "unlisted=${OPSDECK_TEST_UNLISTED:-none} token=$DEMO_TOKEN previous=$4" >&2"#,
    );
    let argv = vec![script.display().to_string(), api, "{env}".into(), "{version}".into(), "{previous}".into()];
    let cfg = s.config("cmd.toml", |env, d| {
        fast(d);
        if env == "development" {
            command_driver(d, argv.clone(), "30s");
        }
    });
    let target = if s.fleet.version("development") == "1.4.0" { "1.4.1" } else { "1.4.0" };
    let dry =
        s.cmd(&cfg, &["deploy", "development", target, "--dry-run"]).env("DEMO_TOKEN", &s.token).output().unwrap();
    assert_eq!(dry.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&dry.stdout).contains(&s.token));

    let out = Out(s
        .cmd(&cfg, &["deploy", "development", target, "--yes"])
        .env("DEMO_TOKEN", &s.token)
        .env("OPSDECK_TEST_UNLISTED", "leaked")
        .output()
        .unwrap());
    let all = out.all();
    assert_eq!(out.code(), 0, "{all}");
    assert_eq!(s.fleet.version("development"), target, "the command deployed");
    assert!(all.contains("unlisted=none"), "only allow-listed variables reach the command: {all}");
    assert!(all.contains("previous=1.5.0") || all.contains("previous="), "{all}");
    assert!(all.contains("marker") && all.contains("\\x1b"), "output shown live, escaped: {all}");
    assert!(!all.contains('\x1b') && !all.contains('\u{9b}'), "no raw escape reaches the terminal");
    assert!(!all.contains(&s.token) && all.contains("[redacted]"), "the token is redacted: {all}");
    let state = s.state_text();
    assert!(state.contains("marker"), "the output is in the journal");
    assert!(!state.contains('\x1b') && !state.contains(&s.token));
}

#[test]
fn a_hung_driver_is_killed_with_its_whole_group() {
    let s = Setup::new();
    let n = 900_000 + std::process::id() % 90_000;
    let script = s.dir.path().join("hang.sh");
    std::fs::write(&script, format!("#!/bin/sh\n(trap '' TERM; exec /bin/sleep {n}) &\n/bin/sleep {}\n", n + 1))
        .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cfg = s.config("hang.toml", |env, d| {
        fast(d);
        if env == "development" {
            command_driver(d, vec![script.display().to_string()], "1s");
        }
    });
    let started = Instant::now();
    let out = s.run(&cfg, &["deploy", "development", "1.4.0", "--yes"]);
    assert!(matches!(out.code(), 3 | 4), "{}", out.all());
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(out.all().contains("timed out"), "{}", out.all());
    let left = Command::new("pgrep").args(["-f", &format!("sleep {n}")]).output().unwrap();
    assert!(left.stdout.is_empty(), "the driver's group survived: {}", String::from_utf8_lossy(&left.stdout));
}

#[test]
fn a_rollback_that_fails_too_exits_4_loudly() {
    let s = Setup::new();
    let api = s.fleet.api("development").trim_start_matches("http://").to_string();
    // Deploys only the bad build; every other version "cannot be pulled".
    let script = post_script(
        s.dir.path(),
        "badonly.sh",
        r#"case "$3" in *bad*) ;; *) echo "registry unreachable: $3" >&2; exit 1 ;; esac"#,
    );
    let argv = vec![script.display().to_string(), api, "{env}".into(), "{version}".into()];
    let cfg = s.config("bad.toml", |env, d| {
        fast(d);
        if env == "development" {
            command_driver(d, argv.clone(), "30s");
        }
    });
    let out = Out(s
        .cmd(&cfg, &["deploy", "development", "1.6.0-bad", "--yes"])
        .env("DEMO_TOKEN", &s.token)
        .output()
        .unwrap());
    assert_eq!(out.code(), 4, "{}", out.all());
    assert!(out.all().contains("rollback to") && out.all().contains("FAILED"), "{}", out.all());
    let h = s.history(&cfg, "development");
    assert_eq!(outcome_of(&h, "1.6.0-bad"), ["rollback failed"]);
}

#[test]
fn refusals_change_nothing() {
    let s = Setup::new();
    let cfg = s.fast("fast.toml");
    let ro = s.config("ro.toml", |_, _| {});
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&ro).unwrap()).unwrap();
    doc["general"].as_table_mut().unwrap().insert("read_only".into(), true.into());
    std::fs::write(&ro, toml::to_string(&doc).unwrap()).unwrap();
    let users = s.config("users.toml", |_, d| {
        fast(d);
        d.insert("allowed_users".into(), toml::Value::Array(vec!["nobody-at-all".into(), "@no-such-group".into()]));
    });
    let before = s.fleet.version("staging");
    for (c, extra) in [(&cfg, Some("--read-only")), (&ro, None), (&users, None)] {
        let mut args = vec![];
        args.extend(extra);
        args.extend(["deploy", "staging", "1.4.0", "--yes"]);
        let out = s.run(c, &args);
        assert_eq!(out.code(), 5, "{args:?}: {}", out.all());
        assert!(out.all().contains("refused"), "{}", out.all());
    }
    let out = s.run(&cfg, &["rollback", "staging", "--yes"]);
    assert_eq!(out.code(), 5, "no verified point yet: {}", out.all());
    let out = s.run(&cfg, &["deploy", "nowhere", "1.4.0", "--yes"]);
    assert_eq!(out.code(), 2, "{}", out.all());
    std::thread::sleep(Duration::from_millis(1_700));
    assert_eq!(s.fleet.version("staging"), before);
}

#[test]
fn concurrent_deploys_of_one_environment_one_wins_every_time() {
    let s = Setup::new();
    // The driver holds the lock a moment and changes nothing; verification then fails and the
    // "rollback" is verified at once: the winner exits 3, which is beside the point here.
    let cfg = s.config("lock.toml", |env, d| {
        fast(d);
        if env == "development" {
            d.insert("health_checks".into(), 1.into());
            d.insert("health_interval".into(), "50ms".into());
            command_driver(d, vec!["/bin/sleep".into(), "0.3".into()], "10s");
        }
    });
    for round in 0..50 {
        let a = s
            .cmd(&cfg, &["deploy", "development", "1.4.0", "--yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let b = s
            .cmd(&cfg, &["deploy", "development", "1.4.1", "--yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (pa, pb) = (a.id(), b.id());
        let (a, b) = (Out(a.wait_with_output().unwrap()), Out(b.wait_with_output().unwrap()));
        let (winner, loser, loser_out) = match (a.code(), b.code()) {
            (5, c) if c != 5 => (pb, pa, a.all()),
            (c, 5) if c != 5 => (pa, pb, b.all()),
            _ => panic!("round {round}: exits {} and {}:\n{}\n{}", a.code(), b.code(), a.all(), b.all()),
        };
        let _ = loser;
        assert!(
            loser_out.contains(&format!("pid {winner}")),
            "round {round}: the refusal names the holder: {loser_out}"
        );
    }
    // Two environments at once both proceed.
    let a = s.cmd(&cfg, &["deploy", "development", "1.4.0", "--yes"]).spawn().unwrap();
    let b = s.cmd(&cfg, &["deploy", "staging", "1.4.0", "--yes"]).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(b.status.code(), Some(0), "staging (http driver) deployed while development ran");
    assert_ne!(a.status.code(), Some(5));
}

#[test]
fn kill_9_at_random_points_loses_nothing() {
    let s = Setup::new();
    // One real, verified deploy first: the rollback point that must survive every crash.
    let http = s.fast("fast.toml");
    let v0 = if s.fleet.version("development") == "1.4.0" { "1.4.1" } else { "1.4.0" };
    assert_eq!(s.run(&http, &["deploy", "development", v0, "--yes"]).code(), 0);
    let cfg = s.config("slow.toml", |env, d| {
        fast(d);
        d.insert("health_checks".into(), 3.into());
        d.insert("health_interval".into(), "100ms".into());
        if env == "development" {
            command_driver(d, vec!["/bin/sleep".into(), "0.2".into()], "10s");
        }
    });
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let (mut killed, mut interrupted) = (0, 0);
    for round in 0..50 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(20 + (seed >> 33) % 900);
        let mut child = s
            .cmd(&cfg, &["deploy", "development", "1.5.0", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let was_running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let st = child.wait().unwrap();
        assert_ne!(st.code(), Some(5), "round {round}: the lock was not free at once");
        if was_running {
            killed += 1;
        }
        all_json_parses(&s.state()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let h = s.history(&cfg, "development");
        let points: Vec<&str> =
            h["rollback_points"].as_array().unwrap().iter().map(|p| p["version"].as_str().unwrap()).collect();
        assert!(points.contains(&v0), "round {round}: the verified point {v0} was lost: {points:?}");
        if was_running && h["interrupted"].is_object() {
            interrupted += 1;
        }
    }
    assert!(killed >= 25, "most rounds killed a running deploy ({killed}/50)");
    // A kill before the start record leaves nothing to report; after it, always interrupted.
    assert!(interrupted * 10 >= killed * 8, "interrupted shown {interrupted}/{killed}");
    let st = Out(s.cmd(&cfg, &["status", "--json"]).output().unwrap());
    let h = s.history(&cfg, "development");
    if h["interrupted"].is_object() {
        assert!(st.all().contains("interrupted"), "{}", st.all());
    }
    // The next rollback goes to the verified point, not to whatever the crashes left.
    let out = s.run(&http, &["rollback", "development", "--to", v0, "--yes"]);
    assert_eq!(out.code(), 0, "{}", out.all());
    assert_eq!(s.fleet.version("development"), v0);
}

/// An unhealthy component blocks a deploy's pre-check (and `--dry-run` says so); nothing changes.
#[test]
fn an_unhealthy_component_refuses_a_deploy() {
    let s = Setup::new();
    let cfg = s.fast("sick.toml");
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    // A port nothing listens on: refused at once, unhealthy after one retry.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for e in doc["environment"].as_array_mut().unwrap() {
        if e["name"].as_str() == Some("staging") {
            let comps = e.get_mut("components").and_then(|c| c.as_array_mut()).unwrap();
            let sick: toml::Table = toml::from_str(&format!(
                "name = \"queue\"\nkind = \"tcp\"\naddress = \"{closed}\"\nretries = 1\ninterval = \"1s\"\ntimeout = \"1s\""
            ))
            .unwrap();
            comps.push(toml::Value::Table(sick));
        }
    }
    std::fs::write(&cfg, toml::to_string(&doc).unwrap()).unwrap();
    let before = s.fleet.version("staging");
    let plan = s.run(&cfg, &["deploy", "staging", "1.4.0", "--dry-run"]);
    assert!(plan.all().contains("queue UNHEALTHY (connection refused)"), "{}", plan.all());
    let out = s.run(&cfg, &["deploy", "staging", "1.4.0", "--yes"]);
    assert_eq!(out.code(), 5, "{}", out.all());
    assert!(out.all().contains("component queue (connection refused) unhealthy"), "{}", out.all());
    assert_eq!(s.fleet.version("staging"), before, "nothing was changed");
}
