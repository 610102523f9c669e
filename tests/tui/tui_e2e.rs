//! The real binary in a real terminal: `opsdeck demo` inside a 120x40 tmux session, driven with
//! keys, read back with `capture-pane`. Needs tmux; with OPSDECK_REQUIRE_TOOLS=1 a missing tmux
//! fails the test instead of skipping it.

use crate::common::{have_tmux, Tmux};

fn wait_for_envs(t: &Tmux) {
    t.wait("the three environments", 20, |s| {
        s.contains("production") && s.contains("staging") && s.contains("development")
    });
}

fn quit_and_check_restored(t: &Tmux) {
    t.keys(&["q"]);
    let s = t.wait("the exit code", 10, |s| s.contains("EXITED"));
    assert!(s.contains("EXITED 0"), "q must exit 0:\n{s}");
    assert!(!s.contains("staging"), "the dashboard must be gone from the restored screen:\n{s}");
    assert!(!t.stderr().to_lowercase().contains("panick"), "stderr: {}", t.stderr());
}

#[test]
fn demo_help_then_quit_restores_the_terminal() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::demo("help", 120, 40, "");
    wait_for_envs(&t);
    t.keys(&["?"]);
    let s = t.wait("the help overlay", 5, |s| s.contains("rollback"));
    for word in ["deploy", "promote", "history", "quit"] {
        assert!(s.contains(word), "help must list {word}:\n{s}");
    }
    t.keys(&["Escape"]);
    t.wait("help closed", 5, |s| !s.contains("this help"));
    quit_and_check_restored(&t);
}

#[test]
fn demo_switch_window_environment_and_zoom() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::demo("nav", 120, 40, "");
    wait_for_envs(&t);
    t.wait("the 15m window", 5, |s| s.lines().next().is_some_and(|l| l.contains("15m")));
    t.keys(&["+"]);
    t.wait("the 1h window in the header", 5, |s| s.lines().next().is_some_and(|l| l.contains(" 1h ")));
    t.keys(&["2"]);
    t.wait("staging chosen in the panel titles", 5, |s| s.contains("· staging"));
    // Focus moves overview → alerts → error rate; Enter zooms it full screen.
    t.keys(&["l", "l", "Enter"]);
    let s = t.wait("the error-rate panel zoomed", 5, |s| s.contains("Error rate") && !s.contains("Latency p50"));
    assert!(s.contains("▶"), "the zoomed panel is the focused one:\n{s}");
    t.keys(&["Escape"]);
    t.wait("back to the grid", 5, |s| s.contains("Error rate") && s.contains("Latency p50"));
    quit_and_check_restored(&t);
}

/// `q` right after an alert changed state: the engine's shutdown is awaited, so the alert state
/// file is complete and holds the change when the process has exited.
#[test]
fn quit_right_after_an_alert_fires_keeps_its_state() {
    if !have_tmux() {
        return;
    }
    let rules = "groups:\n- name: quick\n  interval: 1s\n  rules:\n  - alert: QuickAlert\n    expr: vector(1) > 0\n    for: 2s\n    labels: { severity: warning }\n    annotations: { summary: \"pending, then firing\" }\n";
    let t = Tmux::opsdeck("quitstate", 120, 40, "", |dir| {
        std::fs::write(dir.join("rules.yml"), rules).unwrap();
        let cfg = "[alerting]\nrule_files = [\"rules.yml\"]\nevaluation_interval = \"1s\"\n";
        std::fs::write(dir.join("opsdeck.toml"), cfg).unwrap();
        format!("--config {} --state-dir {}", dir.join("opsdeck.toml").display(), dir.join("state").display())
    });
    t.wait("the alert pending", 20, |s| s.contains("◐ pending") && s.contains("QuickAlert"));
    t.wait("the alert firing", 20, |s| s.contains("● firing") && s.contains("QuickAlert"));
    t.keys(&["q"]);
    let s = t.wait("the exit code", 10, |s| s.contains("EXITED"));
    assert!(s.contains("EXITED 0"), "q must exit 0:\n{s}");
    let path = t.dir.path().join("state/alert_state.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    let alert = saved.as_array().and_then(|a| a.iter().find(|a| a["rule"] == "QuickAlert"));
    let alert = alert.unwrap_or_else(|| panic!("QuickAlert not in the saved state:\n{text}"));
    assert!(alert["active_at_s"].as_i64().is_some_and(|t| t > 1_600_000_000), "{alert}");
    // Saved as of an evaluation at least the `for` after it became active: it was firing.
    let (active, at) = (alert["active_at_s"].as_i64().unwrap(), alert["at_ms"].as_i64().unwrap() / 1000);
    assert!(at - active >= 2, "saved while firing (active {active}, saved at {at}):\n{text}");
}

/// The row of `env` in the environments table.
fn env_row<'a>(screen: &'a str, env: &str) -> &'a str {
    screen.lines().find(|l| l.contains(&format!(" {env} ")) && l.contains("redis")).unwrap_or("")
}

/// The demo's staged cache incident, as an on-call engineer sees it: staging's redis stops
/// answering about two minutes in; its mark turns ✖ while production's stays ✔, and the
/// component view says why in words.
#[test]
fn demo_redis_incident_shows_in_the_component_strip() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::demo("redis", 160, 45, "");
    let s = t.wait("every environment's db and redis", 20, |s| {
        ["production", "staging", "development"].iter().all(|e| {
            let row = env_row(s, e);
            row.contains("✔db") && row.contains("✔redis")
        })
    });
    assert!(s.contains("components") && s.contains("backup"), "{s}");
    let s = t.wait("staging's redis unhealthy", 240, |s| env_row(s, "staging").contains("✖redis"));
    assert!(env_row(&s, "production").contains("✔redis"), "only staging's cache is down:\n{s}");
    t.keys(&["2", "C"]);
    let s = t.wait("the component view", 10, |s| s.contains("Components and backups"));
    assert!(s.contains("unhealthy") && s.contains("timed out after 2s"), "the reason in words:\n{s}");
    t.keys(&["Escape"]);
    quit_and_check_restored(&t);
}
