//! The real binary in a real terminal: `opsdeck demo` inside a 120x40 tmux session, driven with
//! keys, read back with `capture-pane`. Needs tmux; with OPSDECK_REQUIRE_TOOLS=1 a missing tmux
//! fails the test instead of skipping it.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: &'static str,
    _dir: tempfile::TempDir,
}

fn have_tmux() -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "tmux is required (OPSDECK_REQUIRE_TOOLS=1)"
        );
        eprintln!("note: tmux not installed; skipping the terminal end-to-end test");
    }
    ok
}

impl Tmux {
    /// `opsdeck demo` in a fresh session; the shell prints the exit code after it, then lingers so
    /// the restored screen can be read.
    fn start(name: &'static str, cols: u16, rows: u16) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!("opsdeck-e2e-{}-{name}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_opsdeck");
        let cmd = format!(
            "{bin} demo --state-dir {} 2>{}; echo EXITED $?; sleep 60",
            dir.path().join("state").display(),
            dir.path().join("stderr").display()
        );
        let st = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", name, "-x", &cols.to_string(), "-y", &rows.to_string()])
            .arg(cmd)
            .status()
            .unwrap();
        assert!(st.success(), "tmux new-session failed");
        Tmux { socket, session: name, _dir: dir }
    }

    fn screen(&self) -> String {
        let out =
            Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st =
                Command::new("tmux").args(["-L", &self.socket, "send-keys", "-t", self.session, k]).status().unwrap();
            assert!(st.success());
        }
    }

    /// Polls the screen until `pred` holds (or fails with the last screen after `secs`).
    fn wait(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{s}\nstderr: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("stderr")).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

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
    let t = Tmux::start("help", 120, 40);
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
    let t = Tmux::start("nav", 120, 40);
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
