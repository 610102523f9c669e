//! A command run without a shell, bounded and in a process group of its own: the `command` deploy
//! driver, version lists, component checks and backup commands all run through here. The exit code
//! is the verdict; whatever the tool prints is shown and kept, but never parsed for success by the
//! deploy driver: `kubectl`, `helm` and deploy scripts all say "done" in their own words, and all
//! exit non-zero when they fail.
//!
//! The timeout is mandatory, not a nicety: `kubectl rollout status` waits for ever on a rollout that
//! never progresses, `helm upgrade --wait` on a pod that never turns ready, and a script that calls
//! either inherits the hang. When it expires, the whole process group gets SIGTERM, then SIGKILL
//! after [`TERM_GRACE`]: the driver runs in a process group of its own, so a child that ignores
//! SIGTERM, or a grandchild still holding the output pipes after the leader exited, is killed too,
//! and no orphan outlives a deploy.
//!
//! The child's environment is built, not inherited: a small base ([`BASE_ENV`]), the variables the
//! environment's `env_allow` names, and opsdeck's own (`OPSDECK_ENV`, …). Secrets travel that way,
//! through `env_allow`, never on the command line: argv is visible to every user of the host
//! (`ps`, `/proc/<pid>/cmdline`) and is written to the journal. The values of allowed variables
//! whose name looks secret ([`is_secret_name`]) are replaced by `[redacted]` in every line of
//! output, so a script that echoes its token does not put it on screen or in the journal.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// Passed through from opsdeck's environment when set: enough for a tool to find its binaries and
/// its config under `$HOME` (kubeconfig, helm's repositories), to speak the operator's locale and
/// time zone, and to know who runs it.
pub const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME"];
/// Words that make a variable's value a secret to redact (matched in the name, any case).
pub const SECRET_WORDS: &[&str] = &["TOKEN", "SECRET", "PASS", "KEY", "CREDENTIAL", "AUTH"];
/// Shorter values are not redacted: "1" or "yes" would blank out unrelated text everywhere.
pub const MIN_SECRET_CHARS: usize = 4;
pub const REDACTED: &str = "[redacted]";
/// After SIGTERM, how long the group has to exit before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);
/// After the leader exited, how long a grandchild may keep the output pipes open before the group
/// is killed: the verdict is in, and a backgrounded process must not hold the deploy.
pub const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);
/// After SIGKILL, how long to wait for the leader to be reaped (only a process stuck in the kernel
/// takes longer) before giving up on it.
pub const KILL_WAIT: Duration = Duration::from_secs(5);
/// A line longer than this (in bytes, after sanitising) is cut and ends with `…`.
pub const MAX_LINE: usize = 1024;
/// What `RunOutcome::output` keeps at most: the first lines, until either limit.
pub const MAX_OUTPUT_BYTES: usize = 64 << 10;
pub const MAX_OUTPUT_LINES: usize = 2000;

/// The values an argv template may name.
pub struct Vars<'a> {
    pub env: &'a str,
    pub version: &'a str,
    pub previous: &'a str,
}

/// Substitute `{env}`, `{version}` and `{previous}` in each argv element. No shell, no splitting: a
/// value with spaces stays one argument. Substituted text is not expanded again, and an unknown
/// `{x}` is left as it is.
pub fn expand(template: &[String], vars: &Vars) -> Vec<String> {
    template.iter().map(|arg| expand_one(arg, vars)).collect()
}

fn expand_one(arg: &str, vars: &Vars) -> String {
    let names = [("{env}", vars.env), ("{version}", vars.version), ("{previous}", vars.previous)];
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match names.iter().find(|(name, _)| tail.starts_with(name)) {
            Some((name, value)) => {
                out.push_str(value);
                rest = &tail[name.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether a variable's name marks its value as a secret (`GITHUB_TOKEN`, `DB_PASSWORD`,
/// `AWS_SECRET_ACCESS_KEY`, `http_auth`, …).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How the driver ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// The timeout fired; the process group was terminated (whatever the leader exited with then).
    TimedOut,
    /// Nothing ran: the whole message, naming the program, e.g. "cannot start /x: No such file or
    /// directory".
    SpawnFailed(String),
}

#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub exit: Exit,
    /// The first lines of output, both streams interleaved as they arrived, sanitised and
    /// redacted; at most `MAX_OUTPUT_LINES` lines and `MAX_OUTPUT_BYTES`.
    pub output: Vec<(Stream, String)>,
    /// Lines were left out of `output` after its limits (the callback still saw them).
    pub truncated: bool,
    pub duration: Duration,
}

impl RunOutcome {
    pub fn success(&self) -> bool {
        self.exit == Exit::Code(0)
    }

    /// One line for the operator: "exit 0", "exit 2: <first stderr line>", "killed by signal 9",
    /// "timed out after 3s (process group killed)", "cannot start /x: No such file or directory".
    pub fn describe(&self) -> String {
        match &self.exit {
            Exit::Code(0) => "exit 0".into(),
            Exit::Code(c) => match self.first_stderr_line() {
                Some(line) => format!("exit {c}: {line}"),
                None => format!("exit {c}"),
            },
            Exit::Signal(s) => format!("killed by signal {s}"),
            Exit::TimedOut => format!("timed out after {} (process group killed)", rounded(self.duration)),
            Exit::SpawnFailed(m) => m.clone(),
        }
    }

    fn first_stderr_line(&self) -> Option<String> {
        const CHARS: usize = 200;
        let line = self.output.iter().find(|(s, l)| *s == Stream::Stderr && !l.trim().is_empty())?.1.trim();
        Some(if line.chars().count() > CHARS {
            line.chars().take(CHARS - 1).chain(std::iter::once('…')).collect()
        } else {
            line.to_string()
        })
    }
}

/// Whole seconds from one second on ("3s", not "3s12ms": the grace period makes the rest noise).
fn rounded(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        crate::duration::format(Duration::from_secs(d.as_secs_f64().round() as u64))
    } else {
        crate::duration::format(Duration::from_millis(d.as_millis() as u64))
    }
}

/// What to run. `argv` is already expanded (see [`expand`]).
pub struct Spec<'a> {
    pub argv: &'a [String],
    /// Names of opsdeck's environment variables the child may see (when set).
    pub env_allow: &'a [String],
    /// Set for the child after everything else (`OPSDECK_ENV`, …).
    pub extra_env: &'a [(String, String)],
    pub timeout: Duration,
    /// Pass all of opsdeck's environment (health and backup checks: `pg_isready` reads `PGHOST`,
    /// restic `RESTIC_PASSWORD`, as they would under Docker's HEALTHCHECK); secret-looking values
    /// are still redacted from the output. Deploy drivers get only `env_allow`.
    pub inherit: bool,
}

/// Run without a shell. `on_line` gets each output line live, already sanitised and redacted.
pub async fn run(spec: &Spec<'_>, on_line: &mut (dyn FnMut(Stream, &str) + Send)) -> RunOutcome {
    execute(spec, on_line, None).await.0
}

/// A run whose stdout is also kept whole, for a caller that parses it (a versions command printing
/// JSON on one long line, which `output` would cut).
#[derive(Debug, Clone)]
pub struct Captured {
    pub outcome: RunOutcome,
    /// stdout as text (lossy UTF-8), at most the limit, redacted like the lines; not sanitised,
    /// so a parser sees the real bytes: sanitise what is shown.
    pub stdout: String,
    /// stdout had more than the limit (the rest was read and dropped).
    pub over_limit: bool,
}

/// Like [`run`], with stdout also kept whole up to `limit` bytes.
pub async fn capture(spec: &Spec<'_>, limit: usize) -> Captured {
    let (outcome, raw, redactor) = execute(spec, &mut |_, _| {}, Some(limit)).await;
    let (stdout, over_limit) = match raw {
        Some(r) => (redactor.raw(&crate::sanitize::lossy(&r.bytes)), r.over),
        None => (String::new(), false),
    };
    Captured { outcome, stdout, over_limit }
}

/// The values to redact: each line of a secret's value (a PEM key spans lines) of at least
/// `MIN_SECRET_CHARS`, longest first so a secret containing another is replaced whole.
struct Redactor {
    /// (as it appears in raw output, as it appears in a sanitised line)
    secrets: Vec<(String, String)>,
}

impl Redactor {
    fn new(values: Vec<String>) -> Redactor {
        let mut secrets: Vec<(String, String)> = values
            .iter()
            .flat_map(|v| v.lines())
            .map(|p| p.trim_end_matches('\r'))
            .filter(|p| p.chars().count() >= MIN_SECRET_CHARS)
            .map(|p| (p.to_string(), crate::sanitize::line(p).into_owned()))
            .collect();
        secrets.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    fn line(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (_, clean) in &self.secrets {
            if out.contains(clean.as_str()) {
                out = out.replace(clean.as_str(), REDACTED);
            }
        }
        out
    }

    fn raw(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (raw, _) in &self.secrets {
            if out.contains(raw.as_str()) {
                out = out.replace(raw.as_str(), REDACTED);
            }
        }
        out
    }

    /// A line cut mid-way may end with the start of a secret, which `line` cannot recognise: drop
    /// such a tail.
    fn strip_partial_tail(&self, text: &mut String) {
        for (_, clean) in &self.secrets {
            let longest = (clean.len() - 1).min(text.len());
            if let Some(k) = (1..=longest).rev().find(|&k| clean.is_char_boundary(k) && text.ends_with(&clean[..k])) {
                text.truncate(text.len() - k);
            }
        }
    }
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.contains('\0')
}

/// The child's whole environment, and what to redact from its output.
fn environment(spec: &Spec<'_>) -> (Vec<(String, std::ffi::OsString)>, Redactor) {
    let mut vars = Vec::new();
    let mut secrets = Vec::new();
    if spec.inherit {
        for (name, v) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if is_secret_name(&name) {
                secrets.push(v.to_string_lossy().into_owned());
            }
            vars.push((name, v));
        }
    }
    for name in BASE_ENV.iter().filter(|_| !spec.inherit) {
        if let Some(v) = std::env::var_os(name) {
            vars.push((name.to_string(), v));
        }
    }
    for name in spec.env_allow.iter().filter(|n| valid_env_name(n)) {
        if let Some(v) = std::env::var_os(name) {
            if is_secret_name(name) {
                secrets.push(v.to_string_lossy().into_owned());
            }
            vars.push((name.clone(), v));
        }
    }
    for (name, value) in spec.extra_env {
        if is_secret_name(name) {
            secrets.push(value.clone());
        }
        vars.push((name.clone(), value.into()));
    }
    (vars, Redactor::new(secrets))
}

/// The driver's process group. Dropping it SIGKILLs the group, on every way out of a run (a
/// cancelled run included), so nothing the driver started survives it.
struct Group {
    pgid: libc::pid_t,
}

impl Group {
    fn signal(&self, sig: libc::c_int) {
        // ESRCH (the group is gone) is the expected answer once all is over; nothing else can fail
        // for our own child's group.
        // SAFETY: kill(2) takes no pointers; a negative pid addresses the process group.
        unsafe {
            libc::kill(-self.pgid, sig);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The group id cannot be reused while any member lives, so this reaches only what the
        // driver started; once all are gone it is ESRCH.
        self.signal(libc::SIGKILL);
    }
}

/// Raw stdout kept for `capture`.
struct RawCapture {
    bytes: Vec<u8>,
    limit: usize,
    over: bool,
}

impl RawCapture {
    fn keep(&mut self, chunk: &[u8]) {
        let room = self.limit - self.bytes.len();
        if chunk.len() > room {
            self.bytes.extend_from_slice(&chunk[..room]);
            self.over = true;
        } else {
            self.bytes.extend_from_slice(chunk);
        }
    }
}

/// A line of raw output; `cut` when it was longer than the reader keeps.
struct RawLine {
    bytes: Vec<u8>,
    cut: bool,
}

/// Splits a pipe into lines, keeping at most `cap` bytes of each: an endless line costs `cap`,
/// not memory. Cancel-safe (it is polled in `select!`): all state lives here, and bytes read are
/// stored before the next await.
struct LineReader<R> {
    inner: Option<R>,
    buf: Vec<u8>,
    /// Dropping the rest of a line that was cut.
    skipping: bool,
    eof: bool,
    cap: usize,
    capture: Option<RawCapture>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: Option<R>, cap: usize, capture: Option<RawCapture>) -> Self {
        let eof = inner.is_none();
        LineReader { inner, buf: Vec::new(), skipping: false, eof, cap, capture }
    }

    fn done(&self) -> bool {
        self.eof && self.buf.is_empty()
    }

    async fn next(&mut self) -> Option<RawLine> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(line) = self.take_line() {
                return Some(line);
            }
            if self.eof {
                if self.buf.is_empty() {
                    return None;
                }
                return Some(RawLine { bytes: std::mem::take(&mut self.buf), cut: false });
            }
            let Some(inner) = self.inner.as_mut() else {
                self.eof = true;
                continue;
            };
            match inner.read(&mut chunk).await {
                // A read error on a pipe (EIO) ends it like EOF does.
                Ok(0) | Err(_) => {
                    self.eof = true;
                    self.inner = None;
                }
                Ok(n) => self.absorb(&chunk[..n]),
            }
        }
    }

    fn absorb(&mut self, mut data: &[u8]) {
        if let Some(c) = self.capture.as_mut() {
            c.keep(data);
        }
        if self.skipping {
            match memchr::memchr(b'\n', data) {
                Some(nl) => {
                    self.skipping = false;
                    data = &data[nl + 1..];
                }
                None => return,
            }
        }
        self.buf.extend_from_slice(data);
    }

    fn take_line(&mut self) -> Option<RawLine> {
        if let Some(nl) = memchr::memchr(b'\n', &self.buf) {
            let mut bytes: Vec<u8> = self.buf.drain(..=nl).collect();
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            let cut = bytes.len() > self.cap;
            bytes.truncate(self.cap);
            return Some(RawLine { bytes, cut });
        }
        if self.buf.len() > self.cap {
            let mut bytes = std::mem::take(&mut self.buf);
            bytes.truncate(self.cap);
            self.skipping = true;
            return Some(RawLine { bytes, cut: true });
        }
        None
    }
}

/// Turns raw lines into shown lines and keeps the first of them.
struct Sink<'a> {
    redactor: &'a Redactor,
    output: Vec<(Stream, String)>,
    bytes: usize,
    truncated: bool,
}

impl Sink<'_> {
    fn push(&mut self, stream: Stream, raw: RawLine, on_line: &mut (dyn FnMut(Stream, &str) + Send)) {
        // Redact after sanitising (the secrets are matched in their sanitised form) and before
        // cutting, so a cut never leaves half a secret.
        let mut text = self.redactor.line(&crate::sanitize::bytes(&raw.bytes));
        if raw.cut {
            self.redactor.strip_partial_tail(&mut text);
        }
        let cut = raw.cut || text.len() > MAX_LINE;
        if text.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        if cut {
            text.push('…');
        }
        on_line(stream, &text);
        if !self.truncated && self.output.len() < MAX_OUTPUT_LINES && self.bytes + text.len() <= MAX_OUTPUT_BYTES {
            self.bytes += text.len();
            self.output.push((stream, text));
        } else {
            // Keep the first lines only: the start of a failure says what went wrong.
            self.truncated = true;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The leader runs, within the timeout.
    Running,
    /// The timeout fired and the group got SIGTERM.
    Terminating,
    /// The grace ran out and the group got SIGKILL.
    Killing,
    /// The leader exited; the rest of the output is read for a short while.
    Draining,
}

async fn execute(
    spec: &Spec<'_>,
    on_line: &mut (dyn FnMut(Stream, &str) + Send),
    capture: Option<usize>,
) -> (RunOutcome, Option<RawCapture>, Redactor) {
    let start = Instant::now();
    let (vars, redactor) = environment(spec);
    let failed = |message: String, redactor: Redactor| {
        let outcome = RunOutcome {
            exit: Exit::SpawnFailed(message),
            output: Vec::new(),
            truncated: false,
            duration: start.elapsed(),
        };
        (outcome, None, redactor)
    };
    let Some(program) = spec.argv.first() else {
        return failed("cannot start: the command is empty".into(), redactor);
    };
    let shown = crate::sanitize::line(program).into_owned();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&spec.argv[1..])
        .env_clear()
        .envs(vars)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start {shown}: {}", os_message(&e)), redactor),
    };
    // With process_group(0) the leader's pid is the group's id. Read before the first wait, so
    // it is certain to be there.
    let Some(pgid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return failed(format!("cannot start {shown}: no process id"), redactor);
    };
    let group = Group { pgid };
    let raw = capture.map(|limit| RawCapture { bytes: Vec::new(), limit, over: false });
    let mut out = LineReader::new(child.stdout.take(), MAX_LINE + 8, raw);
    let mut err = LineReader::new(child.stderr.take(), MAX_LINE + 8, None);
    let mut sink = Sink { redactor: &redactor, output: Vec::new(), bytes: 0, truncated: false };

    let mut phase = Phase::Running;
    let mut timed_out = false;
    let mut status = None;
    let timer = tokio::time::sleep(spec.timeout);
    tokio::pin!(timer);
    while status.is_none() || !out.done() || !err.done() {
        tokio::select! {
            line = out.next(), if !out.done() => {
                if let Some(l) = line {
                    sink.push(Stream::Stdout, l, on_line);
                }
            }
            line = err.next(), if !err.done() => {
                if let Some(l) = line {
                    sink.push(Stream::Stderr, l, on_line);
                }
            }
            st = child.wait(), if status.is_none() => {
                status = Some(st);
                if phase != Phase::Running {
                    // Timed out and the leader is gone: what is left of the group gets no grace.
                    group.signal(libc::SIGKILL);
                }
                phase = Phase::Draining;
                timer.as_mut().reset(Instant::now() + DRAIN_AFTER_EXIT);
            }
            () = &mut timer => match phase {
                Phase::Running => {
                    timed_out = true;
                    group.signal(libc::SIGTERM);
                    phase = Phase::Terminating;
                    timer.as_mut().reset(Instant::now() + TERM_GRACE);
                }
                Phase::Terminating => {
                    group.signal(libc::SIGKILL);
                    phase = Phase::Killing;
                    timer.as_mut().reset(Instant::now() + KILL_WAIT);
                }
                // A leader that outlives SIGKILL is stuck in the kernel; pipes still open after
                // the leader's exit are held by a straggler, killed below.
                Phase::Killing | Phase::Draining => break,
            },
        }
    }
    // Always, even after a clean exit: a backgrounded child may have closed its pipes and
    // still run.
    drop(group);
    let exit = match status {
        _ if timed_out => Exit::TimedOut,
        Some(Ok(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(s)) => Exit::Signal(s),
            (None, None) => Exit::Code(-1),
        },
        Some(Err(e)) => Exit::SpawnFailed(format!("cannot wait for {shown}: {}", os_message(&e))),
        // The loop ends without a status only after the timeout fired.
        None => Exit::TimedOut,
    };
    let Sink { output, truncated, .. } = sink;
    let outcome = RunOutcome { exit, output, truncated, duration: start.elapsed() };
    (outcome, out.capture.take(), redactor)
}

/// "No such file or directory" without its "(os error 2)": the number tells an operator nothing.
fn os_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn sh(script: &str) -> Vec<String> {
        argv(&["sh", "-c", script])
    }

    /// Run with the given allow-list, collecting what the callback saw.
    async fn run_with(
        argv: &[String],
        env_allow: &[String],
        extra_env: &[(String, String)],
        timeout: Duration,
    ) -> (RunOutcome, Vec<(Stream, String)>) {
        let spec = Spec { argv, env_allow, extra_env, timeout, inherit: false };
        let mut seen = Vec::new();
        let outcome = run(&spec, &mut |s, l| seen.push((s, l.to_string()))).await;
        (outcome, seen)
    }

    async fn run_sh(script: &str) -> (RunOutcome, Vec<(Stream, String)>) {
        run_with(&sh(script), &[], &[], Duration::from_secs(20)).await
    }

    fn lines(out: &[(Stream, String)], stream: Stream) -> Vec<&str> {
        out.iter().filter(|(s, _)| *s == stream).map(|(_, l)| l.as_str()).collect()
    }

    /// Whether `pid` is gone: no longer in /proc, or a zombie (dead, waiting for init to reap it).
    fn gone(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // "pid (comm) S ...": the state follows the last ')'.
            Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    /// A killed process disappears when the kernel next schedules it, not when kill(2) returns:
    /// poll the condition for a bounded while.
    async fn assert_gone(pid: i32) {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !gone(pid) {
            assert!(std::time::Instant::now() < deadline, "process {pid} survived the run");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn pid_line(seen: &[(Stream, String)]) -> i32 {
        let line = lines(seen, Stream::Stdout).into_iter().next().expect("the script printed a pid");
        line.trim().parse().unwrap_or_else(|_| panic!("not a pid: {line:?}"))
    }

    #[test]
    fn templates_expand_known_names_only() {
        let vars = Vars { env: "prod", version: "1.5.0", previous: "1.4.2" };
        let t = argv(&["deploy.sh", "--env={env}", "{version}", "from {previous} to {version}", "{x}", "{", "{env"]);
        assert_eq!(
            expand(&t, &vars),
            argv(&["deploy.sh", "--env=prod", "1.5.0", "from 1.4.2 to 1.5.0", "{x}", "{", "{env"])
        );
        // A value is not expanded again.
        let tricky = Vars { env: "{version}", version: "v", previous: "" };
        assert_eq!(expand(&argv(&["{env}{previous}"]), &tricky), argv(&["{version}"]));
    }

    #[test]
    fn secret_names() {
        for n in ["GITHUB_TOKEN", "db_password", "AWS_SECRET_ACCESS_KEY", "HttpAuth", "GCP_CREDENTIALS"] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["KUBECONFIG", "HELM_NAMESPACE", "OPSDECK_ENV"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn a_run_can_be_spawned_onto_the_runtime() {
        fn assert_send<T: Send>(_: &T) {}
        let argv = sh("true");
        let spec =
            Spec { argv: &argv, env_allow: &[], extra_env: &[], timeout: Duration::from_secs(1), inherit: false };
        let mut cb = |_: Stream, _: &str| {};
        assert_send(&run(&spec, &mut cb));
    }

    #[tokio::test]
    async fn exit_codes_are_the_verdict() {
        let (ok, _) = run_sh("echo done").await;
        assert_eq!(ok.exit, Exit::Code(0));
        assert!(ok.success());
        assert_eq!(ok.describe(), "exit 0");
        assert_eq!(ok.output, vec![(Stream::Stdout, "done".to_string())]);

        let (three, _) = run_sh("exit 3").await;
        assert_eq!(three.exit, Exit::Code(3));
        assert!(!three.success());
        assert_eq!(three.describe(), "exit 3");

        let (two, _) = run_sh("echo progress; echo >&2; echo 'Error: rollout failed' >&2; exit 2").await;
        assert_eq!(two.describe(), "exit 2: Error: rollout failed");

        let (killed, _) = run_sh("kill -9 $$").await;
        assert_eq!(killed.exit, Exit::Signal(9));
        assert_eq!(killed.describe(), "killed by signal 9");
    }

    #[tokio::test]
    async fn expanded_values_reach_the_child_as_single_arguments() {
        let vars = Vars { env: "staging", version: "1.5.0 rc1", previous: "1.4.0" };
        let t =
            argv(&["sh", "-c", "for a in \"$@\"; do echo \"<$a>\"; done", "sh", "{env}", "{version}", "{previous}"]);
        let (o, _) = run_with(&expand(&t, &vars), &[], &[], Duration::from_secs(20)).await;
        assert!(o.success(), "{}", o.describe());
        assert_eq!(lines(&o.output, Stream::Stdout), ["<staging>", "<1.5.0 rc1>", "<1.4.0>"]);
    }

    #[tokio::test]
    async fn only_the_base_allowed_and_extra_variables_reach_the_child() {
        std::env::set_var("OPSDECK_TEST_CMDRS_ALLOWED", "yes");
        std::env::set_var("OPSDECK_TEST_CMDRS_UNLISTED", "no");
        let allow = argv(&["OPSDECK_TEST_CMDRS_ALLOWED", "OPSDECK_TEST_CMDRS_NEVER_SET"]);
        let extra = vec![("OPSDECK_ENV".to_string(), "staging".to_string())];
        // env(1) itself, not a shell, which would add PWD and friends.
        let (o, _) = run_with(&argv(&["env"]), &allow, &extra, Duration::from_secs(20)).await;
        assert!(o.success(), "{}", o.describe());
        let got = lines(&o.output, Stream::Stdout);
        assert!(got.contains(&"OPSDECK_TEST_CMDRS_ALLOWED=yes"), "{got:?}");
        assert!(got.contains(&"OPSDECK_ENV=staging"), "{got:?}");
        for line in &got {
            let name = line.split('=').next().unwrap_or_default();
            assert!(
                BASE_ENV.contains(&name) || name == "OPSDECK_TEST_CMDRS_ALLOWED" || name == "OPSDECK_ENV",
                "{name} leaked into the child: {got:?}"
            );
        }
    }

    #[tokio::test]
    async fn secrets_are_redacted_everywhere() {
        std::env::set_var("OPSDECK_TEST_CMDRS_API_TOKEN", "tok-3f9a1c");
        std::env::set_var("OPSDECK_TEST_CMDRS_SHORT_PASS", "abc");
        let allow = argv(&["OPSDECK_TEST_CMDRS_API_TOKEN", "OPSDECK_TEST_CMDRS_SHORT_PASS"]);
        let extra = vec![("DEPLOY_KEY".to_string(), "k3y-v4lue".to_string())];
        let script = "echo \"using $OPSDECK_TEST_CMDRS_API_TOKEN and $DEPLOY_KEY\"; \
                      echo \"auth failed for $OPSDECK_TEST_CMDRS_API_TOKEN\" >&2; echo \"pass=$OPSDECK_TEST_CMDRS_SHORT_PASS\"; exit 1";
        let (o, seen) = run_with(&sh(script), &allow, &extra, Duration::from_secs(20)).await;
        assert_eq!(lines(&o.output, Stream::Stdout), ["using [redacted] and [redacted]", "pass=abc"]);
        assert_eq!(o.describe(), "exit 1: auth failed for [redacted]");
        assert_eq!(seen, o.output, "the callback sees the same redacted lines");
        assert!(seen.iter().all(|(_, l)| !l.contains("tok-3f9a1c") && !l.contains("k3y-v4lue")));
    }

    #[test]
    fn a_cut_line_never_ends_in_half_a_secret() {
        let r = Redactor::new(vec!["abcdefgh".into()]);
        let mut text = "x".repeat(10) + "abcd";
        r.strip_partial_tail(&mut text);
        assert_eq!(text, "x".repeat(10));
        let mut whole = r.line("a abcdefgh b");
        r.strip_partial_tail(&mut whole);
        assert_eq!(whole, "a [redacted] b");
    }

    #[tokio::test]
    async fn a_long_line_is_cut_without_leaking_a_secret_at_the_cut() {
        std::env::set_var("OPSDECK_TEST_CMDRS_CUT_SECRET", "s3cr3t-0123456789");
        let allow = argv(&["OPSDECK_TEST_CMDRS_CUT_SECRET"]);
        // The secret straddles the reader's cut (MAX_LINE + 8 bytes).
        let script =
            "head -c 1020 /dev/zero | tr '\\0' x; printf '%s' \"$OPSDECK_TEST_CMDRS_CUT_SECRET\"; echo; echo next";
        let (o, _) = run_with(&sh(script), &allow, &[], Duration::from_secs(20)).await;
        let got = lines(&o.output, Stream::Stdout);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with('…') && got[0].len() <= MAX_LINE + '…'.len_utf8(), "{}", got[0].len());
        assert!(!got[0].contains("s3cr"), "{}", &got[0][1000..]);
        assert_eq!(got[1], "next");
    }

    #[tokio::test]
    async fn escape_sequences_arrive_escaped() {
        let (o, seen) = run_sh("printf 'a\\033[2Jb\\033]0;pwned\\007c\\r\\n'; printf '\\033[31mred\\n' >&2").await;
        assert_eq!(lines(&o.output, Stream::Stdout), ["a\\x1b[2Jb\\x1b]0;pwned\\x07c"]);
        assert_eq!(lines(&o.output, Stream::Stderr), ["\\x1b[31mred"]);
        assert!(seen.iter().all(|(_, l)| !l.contains('\x1b') && !l.contains('\x07')));
    }

    #[tokio::test]
    async fn huge_output_is_bounded_but_every_line_is_seen() {
        let (o, seen) = run_sh("yes 0123456789 | head -n 100000; head -c 3000000 /dev/zero | tr '\\0' y").await;
        assert!(o.success(), "{}", o.describe());
        assert_eq!(seen.len(), 100_001);
        assert!(o.truncated);
        assert!(o.output.len() <= MAX_OUTPUT_LINES);
        assert!(o.output.iter().map(|(_, l)| l.len()).sum::<usize>() <= MAX_OUTPUT_BYTES);
        assert_eq!(o.output[0].1, "0123456789", "the first lines are kept");
        let last = &seen[100_000].1;
        assert_eq!(last.len(), MAX_LINE + '…'.len_utf8(), "a 3 MB line is cut");
        assert!(last.ends_with('…'));
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_is_named() {
        let (o, seen) = run_with(&argv(&["/nonexistent/opsdeck-driver", "x"]), &[], &[], Duration::from_secs(5)).await;
        assert_eq!(
            o.exit,
            Exit::SpawnFailed("cannot start /nonexistent/opsdeck-driver: No such file or directory".into())
        );
        assert_eq!(o.describe(), "cannot start /nonexistent/opsdeck-driver: No such file or directory");
        assert!(seen.is_empty() && !o.success());
        let (o, _) = run_with(&argv(&["/nonexistent/\x1b[2J"]), &[], &[], Duration::from_secs(5)).await;
        assert!(o.describe().starts_with("cannot start /nonexistent/\\x1b[2J: "), "{}", o.describe());
        let (o, _) = run_with(&[], &[], &[], Duration::from_secs(5)).await;
        assert!(matches!(o.exit, Exit::SpawnFailed(_)));
    }

    #[tokio::test]
    async fn a_driver_that_honours_sigterm_stops_at_the_timeout() {
        let (o, _) = run_with(&argv(&["sleep", "1000"]), &[], &[], Duration::from_millis(300)).await;
        assert_eq!(o.exit, Exit::TimedOut);
        assert!(o.duration < Duration::from_millis(300) + TERM_GRACE, "no grace wait: {:?}", o.duration);
        assert_eq!(o.describe(), format!("timed out after {} (process group killed)", rounded(o.duration)));
    }

    #[tokio::test]
    async fn a_hung_driver_is_killed_with_its_whole_group() {
        // The leader dies of SIGTERM; its child ignores it and would be an orphan.
        let script = "(trap '' TERM; exec sleep 1000) & echo $!; sleep 1000";
        let (o, seen) = run_with(&sh(script), &[], &[], Duration::from_millis(300)).await;
        assert_eq!(o.exit, Exit::TimedOut);
        assert!(o.duration < Duration::from_millis(300) + Duration::from_secs(4), "{:?}", o.duration);
        assert_gone(pid_line(&seen)).await;
    }

    #[tokio::test]
    async fn a_driver_ignoring_sigterm_is_killed_after_the_grace() {
        let script = "trap '' TERM; sleep 1000 & echo $!; wait; wait; wait";
        let (o, seen) = run_with(&sh(script), &[], &[], Duration::from_millis(300)).await;
        assert_eq!(o.exit, Exit::TimedOut);
        assert!(o.duration >= Duration::from_millis(300) + TERM_GRACE, "{:?}", o.duration);
        assert!(o.duration < Duration::from_millis(300) + Duration::from_secs(4), "{:?}", o.duration);
        assert_gone(pid_line(&seen)).await;
    }

    #[tokio::test]
    async fn a_background_child_holding_the_pipes_does_not_hold_the_verdict() {
        let (o, seen) = run_sh("sleep 1000 & echo $!; exit 0").await;
        assert_eq!(o.exit, Exit::Code(0));
        assert!(o.duration < DRAIN_AFTER_EXIT + Duration::from_secs(1), "{:?}", o.duration);
        assert_gone(pid_line(&seen)).await;
        // One that closed its pipes is killed all the same.
        let (o, seen) = run_sh("sleep 1000 >/dev/null 2>&1 & echo $!").await;
        assert_eq!(o.exit, Exit::Code(0));
        assert!(o.duration < DRAIN_AFTER_EXIT, "{:?}", o.duration);
        assert_gone(pid_line(&seen)).await;
    }

    #[tokio::test]
    async fn capture_keeps_stdout_whole() {
        std::env::set_var("OPSDECK_TEST_CMDRS_CAPTURE_TOKEN", "cap-secret-1");
        let allow = argv(&["OPSDECK_TEST_CMDRS_CAPTURE_TOKEN"]);
        let argv = sh("head -c 5000 /dev/zero | tr '\\0' a; echo; echo \"$OPSDECK_TEST_CMDRS_CAPTURE_TOKEN\"");
        let spec =
            Spec { argv: &argv, env_allow: &allow, extra_env: &[], timeout: Duration::from_secs(20), inherit: false };
        let c = capture(&spec, 1 << 20).await;
        assert!(c.outcome.success() && !c.over_limit);
        assert_eq!(c.stdout, format!("{}\n[redacted]\n", "a".repeat(5000)));
        let c = capture(&spec, 100).await;
        assert!(c.over_limit);
        assert_eq!(c.stdout.len(), 100);
    }
}
