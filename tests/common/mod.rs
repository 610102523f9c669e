//! Helpers shared by the integration tests: external tools and a real terminal (tmux).
#![allow(dead_code)] // each test crate uses its own subset

pub mod fault_server;

use std::process::Command;
use std::time::{Duration, Instant};

/// Whether `cmd args…` runs. Under `.ci/run` (OPSDECK_REQUIRE_TOOLS=1) a missing tool fails the
/// test; elsewhere the test notes it and skips.
pub fn have_tool(cmd: &str, args: &[&str], package: &str) -> bool {
    let ok = Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{cmd} is required (OPSDECK_REQUIRE_TOOLS=1): apt-get install -y --no-install-recommends {package}"
        );
        eprintln!("note: {cmd} not installed; skipping");
    }
    ok
}

pub fn have_prometheus() -> bool {
    have_tool("prometheus", &["--version"], "prometheus")
}

pub fn have_tmux() -> bool {
    have_tool("tmux", &["-V"], "tmux")
}

/// `opsdeck demo` in a fresh tmux session on a private socket; the shell prints the exit code after
/// it and lingers, so the restored screen can be read.
pub struct Tmux {
    socket: String,
    session: &'static str,
    pub dir: tempfile::TempDir,
}

impl Tmux {
    /// `env_prefix` goes before the binary, e.g. `env -u VAR `.
    pub fn demo(name: &'static str, cols: u16, rows: u16, env_prefix: &str) -> Tmux {
        Tmux::opsdeck(name, cols, rows, env_prefix, |dir| format!("demo --state-dir {}", dir.join("state").display()))
    }

    /// The binary with the arguments `args(dir)` gives (dir: the session's scratch directory).
    pub fn opsdeck(
        name: &'static str,
        cols: u16,
        rows: u16,
        env_prefix: &str,
        args: impl FnOnce(&std::path::Path) -> String,
    ) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!("opsdeck-e2e-{}-{name}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_opsdeck");
        let cmd = format!(
            "{env_prefix}{bin} {} 2>{}; echo EXITED $?; sleep 60",
            args(dir.path()),
            dir.path().join("stderr").display()
        );
        let st = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", name, "-x", &cols.to_string(), "-y", &rows.to_string()])
            .arg(cmd)
            .status()
            .unwrap();
        assert!(st.success(), "tmux new-session failed");
        Tmux { socket, session: name, dir }
    }

    pub fn screen(&self) -> String {
        let out =
            Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st =
                Command::new("tmux").args(["-L", &self.socket, "send-keys", "-t", self.session, k]).status().unwrap();
            assert!(st.success());
        }
    }

    /// Polls the screen until `pred` holds (or fails with the last screen after `secs`).
    pub fn wait(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
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

    /// Any tmux command on this session's server (`set -g set-clipboard on`, `show-buffer`).
    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").args(["-L", &self.socket]).args(args).output().unwrap()
    }

    /// Starts recording every byte opsdeck writes to the pane (`pipe-pane -O`) to `raw` in the
    /// scratch directory; `raw()` stops the recording and returns them.
    pub fn record(&self) {
        let file = self.dir.path().join("raw");
        let st = self.tmux(&["pipe-pane", "-O", "-t", self.session, &format!("cat >>{}", file.display())]);
        assert!(st.status.success(), "pipe-pane: {}", String::from_utf8_lossy(&st.stderr));
    }

    pub fn raw(&self) -> Vec<u8> {
        self.tmux(&["pipe-pane", "-t", self.session]);
        // `cat` may still be flushing the last bytes it read.
        std::thread::sleep(Duration::from_millis(200));
        std::fs::read(self.dir.path().join("raw")).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

/// Text a hostile source might send, one probe per kind of escape, each between markers: OSC 52
/// (clipboard), OSC 8 (link), CSI (clear, cursor home), C1 CSI as a character, DCS, APC, BEL,
/// CR overwrite, bidi override and isolate, zero-width space, then wide CJK and an emoji.
pub const HOSTILE: [&str; 10] = [
    "hA\x1b]52;c;SGFja2Vk\x07zA",
    "hB\x1b[2J\x1b[1;1HCRXzB",
    "hC\u{9b}31mzC",
    "hD\u{202e}\u{2066}zD",
    "hE\x1bP1$qm\x1b\\zE",
    "hF\x1b_apc\x1b\\zF",
    "hG\x1b]8;;http://evil.example/\x07linkzG",
    "hH\rzH",
    "hI\u{200b}\x7fzI",
    "hJ宽字符🙂zJ",
];

/// What a terminal would act on in bytes opsdeck sent it, beyond the drawing of a screen: OSC,
/// DCS, APC, PM and SOS strings, BEL, CR, C1 controls (as UTF-8), bidi and zero-width
/// characters, a hostile CSI let through, more than one clear, invalid UTF-8. Empty when clean.
pub fn terminal_acts_on(raw: &[u8]) -> Vec<String> {
    let mut bad = Vec::new();
    let count = |pat: &[u8]| raw.windows(pat.len()).filter(|w| *w == pat).count();
    for (name, pat) in [
        ("OSC", &b"\x1b]"[..]),
        ("DCS", b"\x1bP"),
        ("APC", b"\x1b_"),
        ("PM", b"\x1b^"),
        ("SOS", b"\x1bX"),
        ("BEL", b"\x07"),
        ("CR", b"\r"),
        ("the hostile CSI 1;1H", b"\x1b[1;1HCRX"),
    ] {
        let k = count(pat);
        if k > 0 {
            bad.push(format!("{name} x{k}"));
        }
    }
    if count(b"\x1b[2J") > 1 {
        bad.push("CSI 2J beyond the first clear".into());
    }
    match std::str::from_utf8(raw) {
        Err(e) => bad.push(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
        Ok(text) => {
            let odd = |c: &char| matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}');
            if let Some(c) = text.chars().find(odd) {
                bad.push(format!("U+{:04X} (C1, bidi or zero-width)", c as u32));
            }
        }
    }
    bad
}

/// Prometheus v2.42's own test files (`promql` or `promtool`): upstream's work, not committed here.
/// `OPSDECK_PROMQLTEST_DIR` / `OPSDECK_PROMTOOL_TESTDATA` name them; otherwise `.ci/run` (through
/// `scripts/prometheus_testdata.sh`) prepares them under `target/prometheus-v2.42/`. Missing under
/// `OPSDECK_REQUIRE_TOOLS=1` fails the test, saying how to get them; elsewhere the test skips.
pub fn prometheus_testdata(which: &str) -> Option<std::path::PathBuf> {
    let var = if which == "promql" { "OPSDECK_PROMQLTEST_DIR" } else { "OPSDECK_PROMTOOL_TESTDATA" };
    let dir = match std::env::var_os(var) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/prometheus-v2.42").join(which),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "Prometheus v2.42 test data not found at {} (OPSDECK_REQUIRE_TOOLS=1): run `bash scripts/prometheus_testdata.sh` \
         (copies the shared folder beside the checkout, or shallow-clones the v2.42.0 tag), or set {var}",
        dir.display()
    );
    eprintln!("note: Prometheus v2.42 test data not found at {}; skipping", dir.display());
    None
}

/// A file of this repository's test data (`tests/data/`).
pub fn data(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

/// `opsdeck demo --serve-only --write-config` as its own process; killed when dropped so a
/// failing test leaves nothing behind.
pub struct FleetProc {
    pub child: std::process::Child,
    pub config: std::path::PathBuf,
}

impl Drop for FleetProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FleetProc {
    /// The fleet with its config at `dir/demo.toml`; `token` makes its deploy endpoint need it.
    pub fn start(dir: &std::path::Path, token: Option<&str>) -> FleetProc {
        use std::io::Read;
        let config = dir.join("demo.toml");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(["demo", "--serve-only", "--write-config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        match token {
            Some(t) => cmd.env("OPSDECK_DEMO_TOKEN", t),
            None => cmd.env_remove("OPSDECK_DEMO_TOKEN"),
        };
        let mut f = FleetProc { child: cmd.spawn().unwrap(), config };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f.config.exists() {
            if let Ok(Some(st)) = f.child.try_wait() {
                let mut err = String::new();
                f.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                panic!("demo exited with {st}: {err}");
            }
            assert!(Instant::now() < deadline, "no config written in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        f
    }

    /// The API base URL of `env`, from the written config.
    pub fn api(&self, env: &str) -> String {
        let cfg: toml::Value = toml::from_str(&std::fs::read_to_string(&self.config).unwrap()).unwrap();
        let e = cfg["environment"].as_array().unwrap().iter().find(|e| e["name"].as_str() == Some(env)).unwrap();
        e["health"]["url"].as_str().unwrap().trim_end_matches("/health").to_string()
    }

    /// What `env` runs now (`GET /version`).
    pub fn version(&self, env: &str) -> String {
        use std::io::{Read, Write};
        let addr = self.api(env).trim_start_matches("http://").to_string();
        let Ok(mut s) = std::net::TcpStream::connect(&addr) else { return "?".into() };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(b"GET /version HTTP/1.0\r\nHost: x\r\n\r\n");
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        v["version"].as_str().unwrap_or("?").to_string()
    }
}
