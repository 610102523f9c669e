//! Deploying a *bad* version to staging from the dashboard: the real binary (`opsdeck demo`) in a
//! 160x45 tmux session, staging chosen, `1.6.0-bad` deployed through the `d` picker and
//! confirmation; the deploy engine's health checks fail and the screen shows staging rolled back,
//! which `status --json` confirms. Production must be left alone. And a driver whose output is
//! hostile, shown escaped, checked on the bytes the pane received. Needs tmux; with
//! OPSDECK_REQUIRE_TOOLS=1 a missing tmux fails the test instead of skipping it.

use crate::common::fault_server::{Fault, FaultServer};
use crate::common::{have_tmux, terminal_acts_on, Tmux, HOSTILE};
use opsdeck::sanitize;
use std::path::PathBuf;
use std::process::Command;

/// The config the demo wrote next to its state.
fn demo_config(t: &Tmux) -> PathBuf {
    t.dir.path().join("state").join("demo.toml")
}

/// Staging's figure in the error-rate legend ("━ staging 38.2%"), in percent.
fn staging_error_rate(screen: &str) -> Option<f64> {
    let re = regex::Regex::new(r"━ staging (\d+(?:\.\d+)?)%").unwrap();
    re.captures(screen).and_then(|c| c[1].parse().ok())
}

/// The version a row of the overview shows for `env` (the row starts with the name).
fn overview_version<'a>(screen: &'a str, env: &str) -> Option<&'a str> {
    let version = regex::Regex::new(r"^\d+\.\d+\.\d+(-[A-Za-z0-9.]+)?$").unwrap();
    let row = screen.lines().find(|l| {
        l.split('│').nth(1).is_some_and(|c| c.trim_start_matches(['▶', ' ']).starts_with(&format!("{env} ")))
    })?;
    row.split('│').nth(1)?.split_whitespace().find(|w| version.is_match(w))
}

/// `opsdeck status --json` against the running fleet: each environment's reported version.
fn status_versions(config: &std::path::Path) -> Vec<(String, Option<String>)> {
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    v["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["version"].as_str().map(str::to_string)))
        .collect()
}

#[test]
fn deploying_a_bad_version_to_staging_is_rolled_back() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::demo("deploy", 160, 45, &format!("env -u {} ", opsdeck::demo::TOKEN_ENV));
    let s = t.wait("the overview with versions", 30, |s| {
        overview_version(s, "production").is_some() && overview_version(s, "staging").is_some()
    });
    assert_eq!(overview_version(&s, "production"), Some("1.4.1"), "{s}");
    assert_eq!(overview_version(&s, "staging"), Some("1.5.0"), "{s}");

    t.keys(&["2"]);
    t.wait("staging chosen", 5, |s| s.contains("· staging"));
    let before = t.wait("staging's error rate in the legend", 30, |s| staging_error_rate(s).is_some());
    let rate = staging_error_rate(&before).unwrap();
    assert!(rate < 5.0, "staging starts healthy ({rate}%):\n{before}");

    t.keys(&["d"]);
    t.wait("the version picker", 5, |s| s.contains("Deploy to staging") && s.contains("filter"));
    t.keys(&["b", "a", "d"]);
    t.wait("the filtered picker", 5, |s| s.contains("▶ 1.6.0-bad") && !s.contains("1.6.0-slow"));
    t.keys(&["Enter"]);
    t.wait("the confirmation", 5, |s| s.contains("Deploy 1.6.0-bad to staging? [y/N]"));
    t.keys(&["y"]);
    // The deploy engine verifies: health fails on the bad build, and staging is rolled back.
    t.wait("the rollback on screen", 90, |s| s.to_lowercase().contains("rolled back"));
    let versions = status_versions(&demo_config(&t));
    assert!(versions.contains(&("staging".into(), Some("1.5.0".into()))), "back on its verified version: {versions:?}");

    // Production was not touched: its version on screen (all environments) and as `status` sees it.
    t.keys(&["0"]);
    let s = t.wait("staging back in the overview", 15, |s| overview_version(s, "staging") == Some("1.5.0"));
    assert_eq!(overview_version(&s, "production"), Some("1.4.1"), "{s}");
    let versions = status_versions(&demo_config(&t));
    assert!(versions.contains(&("production".into(), Some("1.4.1".into()))), "{versions:?}");

    t.keys(&["q"]);
    let s = t.wait("the exit code", 10, |s| s.contains("EXITED"));
    assert!(s.contains("EXITED 0"), "q must exit 0:\n{s}");
    assert!(!t.stderr().to_lowercase().contains("panick"), "stderr: {}", t.stderr());
}

/// A deploy driver whose output is hostile (every probe of `HOSTILE`, a raw 8-bit CSI byte and
/// invalid UTF-8): the progress view shows it escaped while the driver runs, and the bytes the
/// pane received carry nothing a terminal would act on.
#[test]
fn hostile_driver_output_reaches_the_terminal_escaped() {
    if !have_tmux() {
        return;
    }
    let srv = FaultServer::start();
    let health = srv.base(Fault::Ok).unwrap();
    let t = Tmux::opsdeck("deployhostile", 250, 60, "", move |dir| {
        let mut script = b"cat >&2 <<'EOF'\n".to_vec();
        for pair in HOSTILE.chunks(2) {
            script.extend_from_slice(format!("{}\n", pair.join(" ")).as_bytes());
        }
        script.extend_from_slice(b"EOF\nprintf 'hK\\233[31mzK hL\\377zL\\n'\nsleep 6\nexit 1\n");
        let driver = dir.join("driver.sh");
        std::fs::write(&driver, script).unwrap();
        let cfg = dir.join("opsdeck.toml");
        std::fs::write(
            &cfg,
            format!(
                "[alerting]\nbell = false\n\n[[environment]]\nname = \"sandbox\"\n\
                 health = {{ url = \"{health}/health\", interval = \"1s\", timeout = \"2s\" }}\n\
                 deploy = {{ driver = \"command\", deploy = [\"sh\", \"{}\"], rollback = [\"true\"], versions = [\"2.0.0\"], \
                 timeout = \"30s\", health_checks = 1, health_interval = \"1s\", bake = \"0s\" }}\n",
                driver.display()
            ),
        )
        .unwrap();
        format!("--config {} --state-dir {}", cfg.display(), dir.join("state").display())
    });
    t.record();
    t.wait("sandbox up", 15, |s| s.contains("sandbox") && s.contains("1.0.0"));
    t.keys(&["1"]);
    t.wait("sandbox chosen", 5, |s| s.contains("· sandbox"));
    t.keys(&["d"]);
    t.wait("the version picker", 5, |s| s.contains("Deploy to sandbox") && s.contains("2.0.0"));
    t.keys(&["Enter"]);
    t.wait("the confirmation", 5, |s| s.contains("Deploy 2.0.0 to sandbox? [y/N]"));
    t.keys(&["y"]);
    let s = t.wait("the driver's output", 15, |s| s.contains("zL"));
    let missing: Vec<&str> = HOSTILE.iter().copied().filter(|h| !s.contains(&*sanitize::line(h))).collect();
    t.wait("the rollback", 30, |s| s.to_lowercase().contains("rolled back"));
    let raw = t.raw();
    t.keys(&["q"]);
    t.wait("the exit", 5, |s| s.contains("EXITED"));

    let bad = terminal_acts_on(&raw);
    assert!(bad.is_empty(), "the pane received what a terminal acts on: {bad:?}");
    assert!(missing.is_empty(), "probes not shown escaped: {missing:?}\n{s}");
    assert!(s.contains("hK\u{fffd}[31mzK") && s.contains("hL\u{fffd}zL"), "8-bit bytes not shown as U+FFFD:\n{s}");
    assert!(raw.windows(2).any(|w| w == b"zL"), "the recording holds the screens");
}
