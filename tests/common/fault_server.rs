//! A loopback HTTP server that misbehaves on purpose, one behaviour per path prefix: the Rust twin
//! of the acceptance checks' `faultd.py`, started by the tests themselves. The first path segment
//! picks the fault, the rest what a healthy answer would have been (`/ok/health`, `/ok/metrics`,
//! `/ok/logs`, `/ok/api/v1/query`, `/ok/api/v2/alerts/groups`, `/ok/deploy`, `/ok/runbook.md`).
//!
//! Besides the paths of the plain server: a refused port (bound, never listening), a name that does
//! not resolve, an `https://` URL to the plain port (it answers a ClientHello in plain HTTP), and,
//! when `openssl` is installed, a real TLS port (`openssl s_server`, a self-signed certificate made
//! at start): a plain `http://` request to it, and an `https://` one whose certificate is untrusted.
//!
//! [`run_measured`] runs a child to its end or a deadline and reports its exit, time, output and
//! peak RSS (GNU time's, else `VmHWM` sampled while it runs), with nothing it started left behind.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one environment of a fault matrix points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// A healthy app.
    Ok,
    /// Accepts and reads the request, never answers.
    Hang,
    /// HTTP 500 with a short body.
    Http500,
    /// HTTP 200 declaring `Content-Length` 300 MB, and streaming it.
    Huge,
    /// HTTP 200 and 300 MB streamed without a length (the end is the close).
    HugeStream,
    /// HTTP 200 and 4096 bytes of binary noise (terminal escapes first).
    Garbage,
    /// HTTP 200 promising 100 bytes, then one byte a second.
    Drip,
    /// Reads the request, then closes with a TCP reset (SO_LINGER 0).
    Reset,
    /// A status line, then header bytes one a second, never ending the headers.
    SlowHeader,
    /// 302 to itself, for ever.
    Redirect,
    /// A port bound but not listening: connections are refused.
    Refused,
    /// `no-such-host.invalid`.
    Dns,
    /// `https://` to the plain port.
    TlsToPlain,
    /// `http://` to a TLS port.
    PlainToTls,
    /// `https://` to a TLS port whose certificate nobody trusts.
    TlsUntrusted,
}

impl Fault {
    pub const ALL: [Fault; 15] = [
        Fault::Ok,
        Fault::Hang,
        Fault::Http500,
        Fault::Huge,
        Fault::HugeStream,
        Fault::Garbage,
        Fault::Drip,
        Fault::Reset,
        Fault::SlowHeader,
        Fault::Redirect,
        Fault::Refused,
        Fault::Dns,
        Fault::TlsToPlain,
        Fault::PlainToTls,
        Fault::TlsUntrusted,
    ];

    /// Every fault but `Ok`.
    pub fn faults() -> impl Iterator<Item = Fault> {
        Fault::ALL.into_iter().filter(|f| *f != Fault::Ok)
    }

    /// The path prefix, also used as the environment's name in the matrices.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Ok => "ok",
            Fault::Hang => "hang",
            Fault::Http500 => "500",
            Fault::Huge => "huge",
            Fault::HugeStream => "hugestream",
            Fault::Garbage => "garbage",
            Fault::Drip => "drip",
            Fault::Reset => "reset",
            Fault::SlowHeader => "slowhdr",
            Fault::Redirect => "redirect",
            Fault::Refused => "refused",
            Fault::Dns => "dns",
            Fault::TlsToPlain => "tls",
            Fault::PlainToTls => "plaintls",
            Fault::TlsUntrusted => "tlsuntrusted",
        }
    }

    fn from_segment(s: &str) -> Fault {
        Fault::ALL.into_iter().find(|f| f.name() == s).unwrap_or(Fault::Ok)
    }
}

/// Bytes the huge faults send (300 MiB).
pub const HUGE_BYTES: u64 = 300 << 20;
/// The garbage body's length.
pub const GARBAGE_BYTES: usize = 4096;

/// The running server; dropping it stops every connection thread and the TLS server.
pub struct FaultServer {
    pub port: u16,
    refused_port: u16,
    _refused: OwnedFd,
    tls: Option<TlsServer>,
    stop: Arc<AtomicBool>,
    hits: Arc<Mutex<Vec<String>>>,
}

struct TlsServer {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl FaultServer {
    /// The plain server, the refused port and (with `openssl`) the TLS port.
    pub fn start() -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (s, h) = (stop.clone(), hits.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, h) = (s.clone(), h.clone());
                std::thread::spawn(move || handle(conn, &s, &h));
            }
        });
        let (refused, refused_port) = bound_not_listening();
        FaultServer { port, refused_port, _refused: refused, tls: TlsServer::start(), stop, hits }
    }

    /// The base URL of an environment with this fault (append `/health`, `/metrics`, …), or
    /// `None` when the fault cannot be staged here (no `openssl` for the TLS port).
    pub fn base(&self, f: Fault) -> Option<String> {
        let tls = self.tls.as_ref().map(|t| t.port);
        Some(match f {
            Fault::Refused => format!("http://127.0.0.1:{}/ok", self.refused_port),
            Fault::Dns => "http://no-such-host.invalid/ok".to_string(),
            Fault::TlsToPlain => format!("https://127.0.0.1:{}/ok", self.port),
            Fault::PlainToTls => format!("http://127.0.0.1:{}/ok", tls?),
            Fault::TlsUntrusted => format!("https://127.0.0.1:{}/ok", tls?),
            f => format!("http://127.0.0.1:{}/{}", self.port, f.name()),
        })
    }

    /// The faults this server can stage (all, or all but the TLS port's without `openssl`).
    pub fn available(&self) -> Vec<Fault> {
        Fault::ALL.into_iter().filter(|f| self.base(*f).is_some()).collect()
    }

    /// Requests the plain server got whose "METHOD /path" starts with `prefix`.
    pub fn hits(&self, prefix: &str) -> usize {
        self.hits.lock().unwrap().iter().filter(|h| h.starts_with(prefix)).count()
    }
}

/// A socket bound to a loopback port without `listen`: the port stays ours and every connection
/// to it is refused.
fn bound_not_listening() -> (OwnedFd, u16) {
    // SAFETY: plain socket calls on a socket we own; the address structs outlive the calls.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, &addr as *const libc::sockaddr_in as *const libc::sockaddr, len);
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut glen = len;
        let rc = libc::getsockname(fd, &mut got as *mut libc::sockaddr_in as *mut libc::sockaddr, &mut glen);
        assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
        (owned, u16::from_be(got.sin_port))
    }
}

impl TlsServer {
    /// `openssl s_server -www` with a fresh self-signed certificate, or `None` (with a note, or a
    /// failure under OPSDECK_REQUIRE_TOOLS=1) when openssl is not installed.
    fn start() -> Option<TlsServer> {
        if !super::have_tool("openssl", &["version"], "openssl") {
            eprintln!("note: the TLS-port faults (plaintls, tlsuntrusted) are left out");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=localhost"])
            .args([
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "openssl req could not make a certificate");
        // A free port: bound and released (s_server binds it a moment later).
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert", "cert.pem", "-key", "key.pem"])
            .args(["-www", "-quiet"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = TlsServer { port, child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not listen on 127.0.0.1:{port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

struct Request {
    method: String,
    path: String,
    /// The first bytes were a TLS ClientHello.
    tls_hello: bool,
}

/// Reads the head (and a declared body, so closing leaves nothing unread to turn into a reset).
fn read_request(c: &mut TcpStream) -> Option<Request> {
    c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if data.first() == Some(&0x16) {
            return Some(Request { method: String::new(), path: String::new(), tls_hello: true });
        }
        if data.len() > 64 << 10 {
            return None;
        }
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or("/").to_string();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = data.len() - head_end;
    while have < length.min(1 << 20) {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => have += n,
        }
    }
    Some(Request { method, path, tls_hello: false })
}

fn handle(mut c: TcpStream, stop: &AtomicBool, hits: &Mutex<Vec<String>>) {
    // A client that stops reading a huge answer without closing must not hold a thread for ever.
    let _ = c.set_write_timeout(Some(Duration::from_secs(20)));
    let Some(req) = read_request(&mut c) else { return };
    if req.tls_hello {
        // A TLS handshake to this plain port gets a plain HTTP answer, as a plain server gives.
        let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad request");
        return close(c);
    }
    hits.lock().unwrap().push(format!("{} {}", req.method, req.path));
    let segment = req.path.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default();
    match Fault::from_segment(segment) {
        Fault::Hang => {
            // Never answer; hold the connection until the client gives up (or the server stops).
            let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::SeqCst) {
                match c.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        }
        Fault::Http500 => {
            let _ = c.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!",
            );
            close(c)
        }
        f @ (Fault::Huge | Fault::HugeStream) => {
            let head = if f == Fault::Huge {
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {HUGE_BYTES}\r\nConnection: close\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_string()
            };
            if c.write_all(head.as_bytes()).is_err() {
                return;
            }
            let line = format!("big_metric{{a=\"{}\"}} 1\n", "x".repeat(100));
            let chunk = line.repeat(600).into_bytes();
            let mut sent = 0u64;
            while sent < HUGE_BYTES && !stop.load(Ordering::SeqCst) {
                let n = chunk.len().min((HUGE_BYTES - sent) as usize);
                if c.write_all(&chunk[..n]).is_err() {
                    return;
                }
                sent += n as u64;
            }
            close(c)
        }
        Fault::Garbage => {
            let mut answer =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {GARBAGE_BYTES}\r\nConnection: close\r\n\r\n").into_bytes();
            answer.extend_from_slice(&garbage());
            let _ = c.write_all(&answer);
            close(c)
        }
        Fault::Drip => {
            if c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n").is_err() {
                return;
            }
            drip(c, b"#", 100, stop)
        }
        Fault::Reset => {
            let linger = libc::linger { l_onoff: 1, l_linger: 0 };
            // SAFETY: setsockopt on our own open socket with a correctly sized value.
            unsafe {
                libc::setsockopt(
                    c.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &linger as *const libc::linger as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            drop(c)
        }
        Fault::SlowHeader => {
            if c.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ").is_err() {
                return;
            }
            drip(c, b"a", 3600, stop)
        }
        Fault::Redirect => {
            let answer = format!(
                "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                req.path
            );
            let _ = c.write_all(answer.as_bytes());
            close(c)
        }
        _ => {
            let (ctype, body) = healthy(&req.method, &req.path);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(&[head.into_bytes(), body].concat());
            close(c)
        }
    }
}

/// One byte a second, `n` times, while the client listens.
fn drip(mut c: TcpStream, byte: &[u8], n: usize, stop: &AtomicBool) {
    for _ in 0..n {
        if stop.load(Ordering::SeqCst) || c.write_all(byte).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    close(c)
}

fn close(c: TcpStream) {
    let _ = c.shutdown(Shutdown::Write);
}

/// Binary noise: terminal escapes (OSC 52, C1 CSI raw and as UTF-8, BEL, NUL, CR) then bytes of a
/// fixed xorshift sequence, `GARBAGE_BYTES` in all.
pub fn garbage() -> Vec<u8> {
    let mut out = b"\x1b]52;c;aGFja2Vk\x07\x9b31m\xc2\x9b\x00\r\x1b[2J".to_vec();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < GARBAGE_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push((x >> 32) as u8);
    }
    out
}

/// What a healthy app answers on `path`.
fn healthy(method: &str, path: &str) -> (&'static str, Vec<u8>) {
    let json = "application/json";
    let p = path.split('?').next().unwrap_or_default();
    if p.contains("/api/v1/query_range") {
        (json, br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.to_vec())
    } else if p.contains("/api/v1/query") {
        (json, br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_vec())
    } else if p.contains("/api/v1/alerts") {
        (json, br#"{"status":"success","data":{"alerts":[]}}"#.to_vec())
    } else if p.contains("/api/v1/rules") {
        (json, br#"{"status":"success","data":{"groups":[]}}"#.to_vec())
    } else if p.contains("/api/v2/alerts/groups") || p.contains("/api/v2/silences") {
        (json, b"[]".to_vec())
    } else if p.contains("/api/v2/alerts") || method == "POST" {
        (json, br#"{"status":"accepted"}"#.to_vec())
    } else if p.ends_with("/health") {
        (json, br#"{"status":"ok","version":"1.0.0"}"#.to_vec())
    } else if p.contains("/logs") {
        let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S");
        let body = format!(
            "{{\"timestamp\":\"{ts}\",\"level\":\"INFO\",\"message\":\"service started\"}}\n\
             {{\"timestamp\":\"{ts}\",\"level\":\"WARNING\",\"message\":\"slow request\"}}\n"
        );
        ("application/x-ndjson", body.into_bytes())
    } else if p.contains("/runbook") {
        ("text/markdown", b"# Runbook\n\n1. Look at the dashboard\n2. Roll back\n".to_vec())
    } else {
        let body = "# TYPE http_requests_total counter\nhttp_requests_total{method=\"GET\",status=\"200\"} 1000\n\
                    # TYPE up_gauge gauge\nup_gauge 1\n";
        ("text/plain; version=0.0.4", body.as_bytes().to_vec())
    }
}

/// How a measured child ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when killed by a signal (ours at the deadline included).
    pub code: Option<i32>,
    pub elapsed: Duration,
    /// Still running at the deadline: killed, with its process group.
    pub timed_out: bool,
    /// Peak resident set of the child, in KiB.
    pub peak_rss_kib: u64,
    /// The first [`KEPT`] bytes of stdout and stderr, and how many bytes each had in all.
    pub stdout: Vec<u8>,
    pub stdout_len: u64,
    pub stderr: Vec<u8>,
    pub stderr_len: u64,
}

/// Output kept per stream by [`run_measured`].
pub const KEPT: usize = 1 << 20;

/// `VmHWM` of `/proc/<pid>/status`, in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    pub fn peak_mib(&self) -> u64 {
        self.peak_rss_kib / 1024
    }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<(Vec<u8>, u64)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => return (kept, total),
                Ok(n) => {
                    total += n as u64;
                    let room = KEPT.saturating_sub(kept.len()).min(n);
                    kept.extend_from_slice(&buf[..room]);
                }
            }
        }
    })
}

/// GNU time: it forks the command from its own small process and reports the command's
/// `ru_maxrss` alone (ours would count this test process too, which the child was forked from).
const GNU_TIME: &str = "/usr/bin/time";

/// `cmd` under GNU time, which writes the peak RSS (KiB) to `out`.
fn under_time(cmd: &Command, out: &Path) -> Command {
    let mut t = Command::new(GNU_TIME);
    t.args(["-q", "-f", "%M", "-o"]).arg(out).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => t.env(k, v),
            None => t.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        t.current_dir(d);
    }
    t
}

/// Runs `cmd` in a process group of its own until it exits or `limit` passes (then the group is
/// killed), reading both output streams as they come. The peak RSS is GNU time's figure when
/// /usr/bin/time is installed, else `VmHWM` sampled every 5 ms while the child lives.
pub fn run_measured(cmd: &mut Command, limit: Duration) -> Run {
    use std::os::unix::process::CommandExt;
    let time_out = tempfile::NamedTempFile::new().unwrap();
    let timed = Path::new(GNU_TIME).exists();
    let mut wrapped = if timed { Some(under_time(cmd, time_out.path())) } else { None };
    let cmd = wrapped.as_mut().unwrap_or(cmd);
    let start = Instant::now();
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let mut timed_out = false;
    let mut sampled = 0;
    loop {
        if !timed {
            sampled = sampled.max(vm_hwm_kib(pid).unwrap_or(0));
        }
        // Exited? (left unreaped, so the group id stays valid for the clean-up below)
        // SAFETY: waitid with a zeroed siginfo_t we own.
        let exited = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc =
                libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
            rc == 0 && info.si_pid() == pid
        };
        if exited {
            break;
        }
        if start.elapsed() > limit {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    // SAFETY: signalling our child's own process group; waitpid on our own child.
    let status = unsafe {
        libc::kill(-pid, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        status
    };
    // Reaped by hand: std must not wait for it again.
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let (stdout, stdout_len) = out.join().unwrap();
    let (stderr, stderr_len) = err.join().unwrap();
    let peak_rss_kib = if timed {
        let text = std::fs::read_to_string(time_out.path()).unwrap_or_default();
        text.lines().filter_map(|l| l.trim().parse::<u64>().ok()).next_back().unwrap_or(0)
    } else {
        sampled
    };
    Run {
        code: if timed_out { None } else { code },
        elapsed,
        timed_out,
        peak_rss_kib,
        stdout,
        stdout_len,
        stderr,
        stderr_len,
    }
}

/// What in `bytes` a terminal would act on: C0 controls but `\n`, DEL, C1 (raw or as UTF-8),
/// invalid UTF-8, bidi controls. `None` when the text is safe to print.
pub fn terminal_unsafe(bytes: &[u8]) -> Option<String> {
    let mut found = Vec::new();
    if let Some(b) = bytes.iter().find(|&&b| (b < 0x20 && b != b'\n') || b == 0x7f) {
        found.push(format!("C0/DEL byte 0x{b:02x}"));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            // A kept head cut inside a character is not invalid.
            if e.error_len().is_some() {
                found.push(format!("invalid UTF-8 at byte {}", e.valid_up_to()));
            }
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
    };
    if let Some(c) = text.chars().find(|c| ('\u{80}'..='\u{9f}').contains(c)) {
        found.push(format!("C1 control U+{:04X}", c as u32));
    }
    let bidi =
        |c: &char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}');
    if let Some(c) = text.chars().find(bidi) {
        found.push(format!("bidi control U+{:04X}", c as u32));
    }
    (!found.is_empty()).then(|| found.join(", "))
}
