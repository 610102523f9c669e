//! Log sources, each a task sending `LogBatch`es over a channel; a source stops when the receiver
//! is dropped.
//!
//! - `file` follows like `tail -F` by polling (device, inode, size) every `poll`: a rename
//!   (rotation) is noticed by the inode changing under the path, after the old file is drained; a
//!   shrink (copy-truncate, `: > file`) by the size falling below the read position, or by the last
//!   64 bytes read changing (truncated and rewritten past our position between two polls); a
//!   missing file is waited for. Polling rather than inotify (the `notify` crate) because it works the same on
//!   every filesystem (NFS, overlayfs, bind mounts in containers) and costs one `stat` per interval.
//! - `http` polls an endpoint of JSON lines with a cursor: `GET url?since=CURSOR`, the next cursor
//!   taken from the `X-Next-Cursor` response header; a body that keeps streaming is read as it comes.
//! - `command` runs an argv without a shell; stdout and stderr lines are records (stderr marked);
//!   when it exits it is restarted with exponential backoff.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::filter::Filter;
use super::lines::LineSplitter;
use super::parse::parse_line;
use super::record::{LogBatch, LogRecord, Stream};
use crate::config::{LogSettings, LogSource};

/// Where a file source starts reading when it first opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Beginning,
    /// The last N bytes (from the next line start): what a dashboard wants on a big existing file.
    Tail(u64),
}

#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub max_line_bytes: usize,
    pub start: Start,
    /// How often a followed file is checked for growth, rotation and truncation.
    pub poll: Duration,
    /// First and longest wait before restarting a command or retrying a failed request.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// false: read what is there now (file to its end, one request, one run of the command) and stop.
    pub follow: bool,
    /// Applied at the source, so rejected lines cost no allocation (headless use).
    pub filter: Option<Arc<Filter>>,
    /// Records per batch at most.
    pub batch_lines: usize,
}

impl SourceOptions {
    /// What the dashboard uses: follow, start near the end of an existing file.
    pub fn from_settings(s: &LogSettings) -> SourceOptions {
        SourceOptions {
            max_line_bytes: s.max_line_bytes,
            start: Start::Tail(s.buffer_bytes.min(1 << 20) as u64),
            poll: Duration::from_millis(250),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            follow: true,
            filter: None,
            batch_lines: 1000,
        }
    }
}

/// Starts the source for environment `env` (an empty name gives records without an env).
/// Relative file paths should already be resolved (`Config::resolve`).
pub fn spawn_source(env: &str, src: &LogSource, opts: SourceOptions, tx: mpsc::Sender<LogBatch>) -> JoinHandle<()> {
    let em = Emitter::new(env, &opts, tx);
    match src.clone() {
        // Plain blocking reads on a thread of the blocking pool: file I/O is blocking anyway.
        LogSource::File { path } => tokio::task::spawn_blocking(move || tail_file(PathBuf::from(path), &opts, em)),
        LogSource::Http { url, interval, bearer_token_env, bearer_token_file } => {
            tokio::spawn(poll_http(url, interval, (bearer_token_env, bearer_token_file), opts, em))
        }
        LogSource::Command { argv } => tokio::spawn(run_command(argv, opts, em)),
    }
}

/// Parses, filters and batches lines for one source.
struct Emitter {
    batch_env: Arc<str>,
    rec_env: Option<Arc<str>>,
    filter: Option<Arc<Filter>>,
    records: Vec<LogRecord>,
    batch_lines: usize,
    tx: mpsc::Sender<LogBatch>,
}

impl Emitter {
    fn new(env: &str, opts: &SourceOptions, tx: mpsc::Sender<LogBatch>) -> Emitter {
        let batch_env: Arc<str> = Arc::from(env);
        Emitter {
            rec_env: (!env.is_empty()).then(|| batch_env.clone()),
            batch_env,
            filter: opts.filter.clone(),
            records: Vec::new(),
            batch_lines: opts.batch_lines.max(1),
            tx,
        }
    }

    fn line(&mut self, raw: &[u8], cut: usize, stream: Stream) {
        if self.filter.as_ref().is_some_and(|f| !f.prefilter(raw)) {
            return;
        }
        let mut r = parse_line(raw, cut, self.rec_env.clone());
        r.stream = stream;
        if self.filter.as_ref().is_none_or(|f| f.matches(&r)) {
            self.records.push(r);
        }
    }

    fn full(&self) -> bool {
        self.records.len() >= self.batch_lines
    }

    fn take(&mut self, notice: Option<String>, failed: bool) -> Option<LogBatch> {
        if self.records.is_empty() && notice.is_none() {
            return None;
        }
        // Notices carry paths, URLs and error texts: sanitised here, once, like the records.
        let notice = notice.map(|n| crate::sanitize::line(&n).into_owned());
        Some(LogBatch { env: self.batch_env.clone(), records: std::mem::take(&mut self.records), notice, failed })
    }

    /// false when the receiver is gone (the source should stop).
    fn flush_blocking(&mut self) -> bool {
        match self.take(None, false) {
            Some(b) => self.tx.blocking_send(b).is_ok(),
            None => !self.tx.is_closed(),
        }
    }

    fn notice_blocking(&mut self, text: String, failed: bool) -> bool {
        let b = self.take(Some(text), failed);
        b.is_some_and(|b| self.tx.blocking_send(b).is_ok())
    }

    async fn flush(&mut self) -> bool {
        match self.take(None, false) {
            Some(b) => self.tx.send(b).await.is_ok(),
            None => !self.tx.is_closed(),
        }
    }

    async fn notice(&mut self, text: String, failed: bool) -> bool {
        match self.take(Some(text), failed) {
            Some(b) => self.tx.send(b).await.is_ok(),
            None => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// file
// ---------------------------------------------------------------------------------------------

struct Open {
    file: std::fs::File,
    id: (u64, u64),
    mark: Option<Mark>,
}

/// The last bytes read, to notice the file being rewritten under the read position.
struct Mark {
    at: u64,
    bytes: Vec<u8>,
}

impl Mark {
    const LEN: u64 = 64;

    fn capture(f: &mut std::fs::File) -> Option<Mark> {
        use std::os::unix::fs::FileExt;
        let pos = f.stream_position().ok()?;
        let at = pos.saturating_sub(Self::LEN);
        let mut bytes = vec![0u8; (pos - at) as usize];
        if bytes.is_empty() {
            return None;
        }
        f.read_exact_at(&mut bytes, at).ok()?;
        Some(Mark { at, bytes })
    }

    fn rewritten(&self, f: &std::fs::File) -> bool {
        use std::os::unix::fs::FileExt;
        let mut now = vec![0u8; self.bytes.len()];
        match f.read_exact_at(&mut now, self.at) {
            Ok(()) => now != self.bytes,
            // Shorter than before: the size check handles it the same way.
            Err(_) => true,
        }
    }
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

/// Reads `o.file` to its current end through the splitter. false when the receiver is gone.
fn drain(o: &mut Open, split: &mut LineSplitter, buf: &mut [u8], em: &mut Emitter) -> std::io::Result<bool> {
    loop {
        let n = match o.file.read(buf) {
            Ok(0) => return Ok(true),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        split.feed(&buf[..n], |l, c| em.line(l, c, Stream::Stdout));
        if em.full() && !em.flush_blocking() {
            return Ok(false);
        }
    }
}

fn tail_file(path: PathBuf, opts: &SourceOptions, mut em: Emitter) {
    let mut split = LineSplitter::new(opts.max_line_bytes);
    let mut buf = vec![0u8; 256 << 10];
    let mut cur: Option<Open> = None;
    let mut first_open = true;
    let mut waiting = false;
    let show = path.display().to_string();
    loop {
        if em.tx.is_closed() {
            return;
        }
        if cur.is_none() {
            match open_at_start(&path, if first_open { opts.start } else { Start::Beginning }) {
                Ok((o, skip_partial)) => {
                    cur = Some(o);
                    first_open = false;
                    if skip_partial {
                        // Started mid-file: the first (partial) line is not shown.
                        let mut skipping = true;
                        let o = cur.as_mut().expect("just set");
                        skip_to_line_start(o, &mut skipping);
                    }
                    if waiting && !em.notice_blocking(format!("{show} appeared"), false) {
                        return;
                    }
                    waiting = false;
                }
                Err(e) => {
                    if !opts.follow {
                        em.notice_blocking(format!("cannot read {show}: {e}"), true);
                        return;
                    }
                    if !waiting
                        && !em.notice_blocking(
                            format!("waiting for {show}: {e}"),
                            e.kind() != std::io::ErrorKind::NotFound,
                        )
                    {
                        return;
                    }
                    waiting = true;
                    std::thread::sleep(opts.poll);
                    continue;
                }
            }
        }
        let o = cur.as_mut().expect("opened above");
        if o.mark.as_ref().is_some_and(|m| m.rewritten(&o.file)) {
            // Truncated and written past our position between two polls (a fast writer under
            // copy-truncate): the size alone cannot tell, the bytes before our position do.
            split.finish(|l, c| em.line(l, c, Stream::Stdout));
            o.mark = None;
            if o.file.seek(SeekFrom::Start(0)).is_err() {
                cur = None;
                continue;
            }
            if !em.notice_blocking(format!("{show} was truncated; reading from its start"), false) {
                return;
            }
        }
        let result = drain(o, &mut split, &mut buf, &mut em);
        o.mark = Mark::capture(&mut o.file);
        match result {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                if !em.notice_blocking(format!("reading {show}: {e}"), true) {
                    return;
                }
                cur = None;
                std::thread::sleep(opts.poll);
                continue;
            }
        }
        if !opts.follow {
            split.finish(|l, c| em.line(l, c, Stream::Stdout));
            em.flush_blocking();
            return;
        }
        if !em.flush_blocking() {
            return;
        }
        match std::fs::metadata(&path) {
            Ok(m) if file_id(&m) != o.id => {
                // Rotated: the old file may have got lines between our read and the rename.
                if drain(o, &mut split, &mut buf, &mut em).is_ok_and(|open| !open) {
                    return;
                }
                split.finish(|l, c| em.line(l, c, Stream::Stdout));
                cur = None;
                if !em.notice_blocking(format!("{show} was rotated; reading the new file"), false) {
                    return;
                }
                continue;
            }
            Ok(m) => {
                let pos = o.file.stream_position().unwrap_or(0);
                if m.len() < pos {
                    // Truncated in place (copy-truncate, or `: > file`): start again from the top.
                    split.finish(|l, c| em.line(l, c, Stream::Stdout));
                    if o.file.seek(SeekFrom::Start(0)).is_err() {
                        cur = None;
                    }
                    if !em.notice_blocking(format!("{show} was truncated; reading from its start"), false) {
                        return;
                    }
                    continue;
                }
            }
            // Renamed away and not yet recreated: keep reading the old file until a new one appears.
            Err(_) => {}
        }
        std::thread::sleep(opts.poll);
    }
}

fn open_at_start(path: &Path, start: Start) -> std::io::Result<(Open, bool)> {
    let mut file = std::fs::File::open(path)?;
    let m = file.metadata()?;
    if m.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    let id = file_id(&m);
    let mut skip = false;
    if let Start::Tail(n) = start {
        if m.len() > n {
            file.seek(SeekFrom::Start(m.len() - n - 1))?;
            skip = true;
        }
    }
    Ok((Open { file, id, mark: None }, skip))
}

/// Reads up to and including the next newline (we seeked to one byte before the wanted window,
/// so a window starting exactly on a line start loses nothing).
fn skip_to_line_start(o: &mut Open, skipping: &mut bool) {
    let mut byte = [0u8; 1];
    while *skipping {
        match o.file.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => *skipping = false,
            Ok(1) => {}
            _ => *skipping = false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// http
// ---------------------------------------------------------------------------------------------

/// `url` with `since=CURSOR` added as a query parameter.
pub fn with_cursor(url: &str, cursor: Option<&str>) -> String {
    let Some(c) = cursor else { return url.to_string() };
    let mut enc = String::new();
    for b in c.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}since={enc}")
}

/// `token`: the variable and the file the bearer token is read from (at each poll, so a rotated
/// token is picked up).
async fn poll_http(
    url: String,
    interval: Duration,
    token: (Option<String>, Option<String>),
    opts: SourceOptions,
    mut em: Emitter,
) {
    let client = match crate::net::builder().build() {
        Ok(c) => c,
        Err(e) => {
            em.notice(format!("http client: {e}"), true).await;
            return;
        }
    };
    let mut cursor: Option<String> = None;
    let mut resume = Resume::default();
    let mut backoff = opts.backoff_min;
    loop {
        // Headers must come within this; the body may then stream for as long as the server likes.
        let header_timeout = interval.max(Duration::from_secs(10));
        // An unreadable token is a failed poll like any other: said, then retried with backoff.
        let sent = match crate::config::secret(token.0.as_deref(), token.1.as_deref()) {
            Err(e) => Err(e),
            Ok(tok) => {
                let mut req = client.get(with_cursor(&url, cursor.as_deref()));
                if let Some(t) = tok {
                    req = req.bearer_auth(t);
                }
                match tokio::time::timeout(header_timeout, req.send()).await {
                    Ok(r) => r.map_err(|e| crate::net::classify(&e)),
                    Err(_) => Err(format!("no response within {}s", header_timeout.as_secs())),
                }
            }
        };
        let wait = match sent {
            Err(e) => {
                let text = crate::sanitize::line(&format!("{url}: {e}")).into_owned();
                if !em.notice(text, true).await || !opts.follow {
                    return;
                }
                backoff = (backoff * 2).min(opts.backoff_max);
                backoff / 2
            }
            Ok(resp) if !resp.status().is_success() => {
                let text = format!("{url}: HTTP {}", resp.status());
                if !em.notice(crate::sanitize::line(&text).into_owned(), true).await || !opts.follow {
                    return;
                }
                backoff = (backoff * 2).min(opts.backoff_max);
                interval.max(backoff / 2)
            }
            Ok(mut resp) => {
                backoff = opts.backoff_min;
                let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
                let next = header("x-next-cursor");
                // The server's ring moved past our cursor between polls: say so, as the buffer does.
                if let Some(n) = header("x-dropped-lines").and_then(|n| n.trim().parse::<u64>().ok()).filter(|&n| n > 0)
                {
                    if !em
                        .notice(format!("{url}: {n} lines were dropped at the source before they could be read"), false)
                        .await
                    {
                        return;
                    }
                }
                let mut split = LineSplitter::new(opts.max_line_bytes);
                // Without a cursor, a re-poll may replay lines already shown: skip up to them.
                resume.start(next.is_none());
                let began = Instant::now();
                loop {
                    let chunk = if resume.seeking() {
                        let left = RESUME_SEEK.saturating_sub(began.elapsed());
                        match tokio::time::timeout(left, resp.chunk()).await {
                            Ok(c) => c,
                            Err(_) => {
                                resume.give_up(&mut em);
                                continue;
                            }
                        }
                    } else if !opts.follow {
                        // Reading once: a body that keeps streaming ends for us when it goes quiet,
                        // and one that never goes quiet (a byte a second) when ONCE_TOTAL is up.
                        let left = ONCE_TOTAL.saturating_sub(began.elapsed());
                        if left.is_zero() {
                            let text = format!("{url}: still sending after {}s; stopped reading", ONCE_TOTAL.as_secs());
                            if !em.notice(crate::sanitize::line(&text).into_owned(), true).await {
                                return;
                            }
                            break;
                        }
                        match tokio::time::timeout(ONCE_IDLE.min(left), resp.chunk()).await {
                            Ok(c) => c,
                            Err(_) if began.elapsed() >= ONCE_TOTAL => continue,
                            Err(_) => Ok(None),
                        }
                    } else {
                        resp.chunk().await
                    };
                    match chunk {
                        Ok(Some(c)) => {
                            split.feed(&c, |l, cut| resume.line(&mut em, l, cut));
                            if !em.flush().await {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let text = crate::sanitize::line(&format!("{url}: body: {e}")).into_owned();
                            if !em.notice(text, true).await {
                                return;
                            }
                            break;
                        }
                    }
                }
                split.finish(|l, cut| resume.line(&mut em, l, cut));
                resume.give_up(&mut em);
                if !em.flush().await {
                    return;
                }
                if next.is_some() {
                    cursor = next;
                }
                interval
            }
        };
        if !opts.follow {
            return;
        }
        let closed = em.tx.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = closed.closed() => return,
        }
    }
}

/// Without --follow, a streaming body quiet for this long is taken as ended.
const ONCE_IDLE: Duration = Duration::from_secs(2);
/// Without --follow, a body is read for at most this long.
const ONCE_TOTAL: Duration = Duration::from_secs(8);
/// How long lines of a cursor-less response are held while looking for where the last one ended.
const RESUME_SEEK: Duration = Duration::from_secs(1);
/// Lines held at most while looking.
const RESUME_HOLD: usize = 10_000;
/// Lines that must match, in a row, to resume after them.
const RESUME_TAIL: usize = 3;

/// For endpoints without a cursor (a "last N lines" page, or a stream that replays on reconnect):
/// remembers the last lines shown and, in the next response, skips everything up to and including
/// them. When they are not found (within RESUME_SEEK / RESUME_HOLD), everything is shown.
#[derive(Default)]
struct Resume {
    /// Hashes of the last RESUME_TAIL lines shown, oldest first.
    tail: std::collections::VecDeque<u64>,
    /// `tail` as it was when this response began: what is looked for.
    prev: std::collections::VecDeque<u64>,
    /// Hashes of the current response's last lines while seeking.
    window: std::collections::VecDeque<u64>,
    seeking: bool,
    held: Vec<(Vec<u8>, usize)>,
}

impl Resume {
    fn start(&mut self, no_cursor: bool) {
        self.prev.clone_from(&self.tail);
        self.seeking = no_cursor && !self.prev.is_empty();
        self.window.clear();
        self.held.clear();
    }

    fn seeking(&self) -> bool {
        self.seeking
    }

    fn remember(deque: &mut std::collections::VecDeque<u64>, h: u64) {
        if deque.len() == RESUME_TAIL {
            deque.pop_front();
        }
        deque.push_back(h);
    }

    fn line(&mut self, em: &mut Emitter, raw: &[u8], cut: usize) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        raw.hash(&mut hasher);
        let h = hasher.finish();
        if self.seeking {
            Self::remember(&mut self.window, h);
            self.held.push((raw.to_vec(), cut));
            if self.window.len() >= self.prev.len()
                && self.window.iter().skip(self.window.len() - self.prev.len()).eq(&self.prev)
            {
                // Found where the previous response ended: what came before is a replay.
                self.held.clear();
                self.seeking = false;
            } else if self.held.len() >= RESUME_HOLD {
                self.give_up(em);
            }
        } else {
            em.line(raw, cut, Stream::Stdout);
        }
        Self::remember(&mut self.tail, h);
    }

    /// Not found: show what was held.
    fn give_up(&mut self, em: &mut Emitter) {
        self.seeking = false;
        for (raw, cut) in self.held.drain(..) {
            em.line(&raw, cut, Stream::Stdout);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// command
// ---------------------------------------------------------------------------------------------

/// A run at least this long resets the restart backoff.
const STABLE_RUN: Duration = Duration::from_secs(30);

async fn run_command(argv: Vec<String>, opts: SourceOptions, mut em: Emitter) {
    let Some((prog, args)) = argv.split_first() else {
        em.notice("the command log source has an empty argv".into(), true).await;
        return;
    };
    let shown = crate::sanitize::line(&argv.join(" ")).into_owned();
    let mut backoff = opts.backoff_min;
    let closed = em.tx.clone();
    loop {
        let started = Instant::now();
        let spawned = tokio::process::Command::new(prog)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let ended = match spawned {
            Err(e) => {
                let text = crate::sanitize::line(&format!("cannot run {prog}: {e}")).into_owned();
                (text, true)
            }
            Ok(mut child) => {
                let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else { return };
                let mut so = LineSplitter::new(opts.max_line_bytes);
                let mut se = LineSplitter::new(opts.max_line_bytes);
                let (mut ob, mut eb) = (vec![0u8; 64 << 10], vec![0u8; 16 << 10]);
                let (mut out_done, mut err_done) = (false, false);
                while !(out_done && err_done) {
                    tokio::select! {
                        r = out.read(&mut ob), if !out_done => match r {
                            Ok(0) | Err(_) => out_done = true,
                            Ok(n) => so.feed(&ob[..n], |l, c| em.line(l, c, Stream::Stdout)),
                        },
                        r = err.read(&mut eb), if !err_done => match r {
                            Ok(0) | Err(_) => err_done = true,
                            Ok(n) => se.feed(&eb[..n], |l, c| em.line(l, c, Stream::Stderr)),
                        },
                        _ = closed.closed() => return,
                    }
                    if !em.flush().await {
                        return;
                    }
                }
                so.finish(|l, c| em.line(l, c, Stream::Stdout));
                se.finish(|l, c| em.line(l, c, Stream::Stderr));
                let status = match child.wait().await {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                (format!("{shown}: exited ({status})"), false)
            }
        };
        if !opts.follow {
            em.notice(ended.0, ended.1).await;
            return;
        }
        if started.elapsed() >= STABLE_RUN {
            backoff = opts.backoff_min;
        }
        let text = format!("{}; restarting in {:.1}s", ended.0, backoff.as_secs_f64());
        if !em.notice(text, ended.1).await {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = closed.closed() => return,
        }
        backoff = (backoff * 2).min(opts.backoff_max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_is_a_query_parameter() {
        assert_eq!(with_cursor("http://h/logs", None), "http://h/logs");
        assert_eq!(with_cursor("http://h/logs", Some("42")), "http://h/logs?since=42");
        assert_eq!(with_cursor("http://h/logs?env=a", Some("a b")), "http://h/logs?env=a&since=a%20b");
    }
}
