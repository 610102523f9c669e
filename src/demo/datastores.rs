//! The demo's database and cache: just enough of PostgreSQL's and Redis's wire protocols for the
//! checks opsdeck ships and the tools teams use (`pg_isready`, `redis-cli ping`, a `tcp` check with
//! `PING` / `+PONG`), so the demo's components are checked the way real ones are.
//!
//! Postgres: an `SSLRequest` or `GSSENCRequest` is refused with `N` (as a server without TLS does),
//! a startup message is answered with AuthenticationOk and ReadyForQuery (so `pg_isready` says
//! "accepting connections"), a Terminate ends it. Redis: `PING` (inline or as a RESP array) answers
//! `+PONG`, `QUIT` answers `+OK` and closes, anything else `-ERR`.
//!
//! The staged cache incident (design §4, issue 14): staging's Redis stops answering for about a
//! minute, two minutes in (connections are accepted and read, never answered, as a Redis stuck
//! in a long command or a full disk behaves), every ten minutes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::sim::Incident;

pub const REDIS_INCIDENT: Incident = Incident {
    env: "staging",
    worker: 0,
    platform: "redis",
    start: Duration::from_secs(120),
    length: Duration::from_secs(60),
    period: Duration::from_secs(600),
};

/// Largest request read; a client sending more is cut off.
const MAX_REQUEST: usize = 16 << 10;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

async fn listen(serve: impl Fn(TcpStream) + Send + 'static) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            serve(s);
        }
    });
    Ok((addr, task))
}

pub async fn postgres() -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    listen(|s| drop(tokio::spawn(pg_conn(s)))).await
}

/// `env`'s Redis; it follows `REDIS_INCIDENT` when `env` is the incident's.
pub async fn redis(env: &str, fleet_start: Instant) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let staged = env == REDIS_INCIDENT.env;
    listen(move |s| drop(tokio::spawn(redis_conn(s, staged, fleet_start)))).await
}

async fn read_exact_or_end(s: &mut TcpStream, buf: &mut [u8]) -> bool {
    tokio::time::timeout(Duration::from_secs(30), s.read_exact(buf)).await.is_ok_and(|r| r.is_ok())
}

async fn pg_conn(mut s: TcpStream) {
    // Startup phase: untyped messages (length, code, body).
    loop {
        let mut head = [0u8; 8];
        if !read_exact_or_end(&mut s, &mut head).await {
            return;
        }
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if !(8..=MAX_REQUEST).contains(&len) {
            return;
        }
        let mut rest = vec![0u8; len - 8];
        if !read_exact_or_end(&mut s, &mut rest).await {
            return;
        }
        if code == SSL_REQUEST || code == GSSENC_REQUEST {
            if s.write_all(b"N").await.is_err() {
                return;
            }
            continue;
        }
        break;
    }
    // AuthenticationOk, a server version, ReadyForQuery (idle).
    let mut out = Vec::new();
    out.extend_from_slice(b"R\0\0\0\x08\0\0\0\0");
    let param = b"server_version\x0015.0 (opsdeck demo)\0";
    out.push(b'S');
    out.extend_from_slice(&((param.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(param);
    out.extend_from_slice(b"Z\0\0\0\x05I");
    if s.write_all(&out).await.is_err() {
        return;
    }
    // Typed messages: Terminate ends it; a query gets an error (this is not a database).
    loop {
        let mut head = [0u8; 5];
        if !read_exact_or_end(&mut s, &mut head).await {
            return;
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(4..=MAX_REQUEST).contains(&len) {
            return;
        }
        let mut rest = vec![0u8; len - 4];
        if !read_exact_or_end(&mut s, &mut rest).await || head[0] == b'X' {
            return;
        }
        let fields = b"SERROR\0C0A000\0Mthe demo database answers health checks only\0\0";
        let mut e = vec![b'E'];
        e.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
        e.extend_from_slice(fields);
        e.extend_from_slice(b"Z\0\0\0\x05I");
        if s.write_all(&e).await.is_err() {
            return;
        }
    }
}

async fn redis_conn(mut s: TcpStream, staged: bool, fleet_start: Instant) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(300), s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REQUEST {
            return;
        }
        while let Some((cmd, used)) = parse_command(&buf) {
            buf.drain(..used);
            if staged && REDIS_INCIDENT.active(fleet_start.elapsed()) {
                // Stuck: read on, answer nothing.
                continue;
            }
            let reply: &[u8] = match cmd.as_str() {
                "PING" => b"+PONG\r\n",
                "QUIT" => {
                    let _ = s.write_all(b"+OK\r\n").await;
                    return;
                }
                _ => b"-ERR the demo cache answers PING only\r\n",
            };
            if s.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

/// One command's name (upper case) and the bytes it took: inline (`PING\r\n`) or a RESP array of
/// bulk strings (`*1\r\n$4\r\nPING\r\n`, as redis-cli sends). `None` until a whole one is there.
fn parse_command(buf: &[u8]) -> Option<(String, usize)> {
    let line_end = |from: usize| buf[from..].windows(2).position(|w| w == b"\r\n").map(|p| from + p);
    if buf.first() == Some(&b'*') {
        let e = line_end(0)?;
        let count: usize = std::str::from_utf8(&buf[1..e]).ok()?.trim().parse().ok()?;
        let mut at = e + 2;
        let mut name = String::new();
        for i in 0..count {
            if buf.get(at) != Some(&b'$') {
                return None;
            }
            let e = line_end(at)?;
            let len: usize = std::str::from_utf8(&buf[at + 1..e]).ok()?.trim().parse().ok()?;
            let start = e + 2;
            if buf.len() < start + len + 2 {
                return None;
            }
            if i == 0 {
                name = String::from_utf8_lossy(&buf[start..start + len]).to_ascii_uppercase();
            }
            at = start + len + 2;
        }
        return Some((name, at));
    }
    let e = buf.iter().position(|b| *b == b'\n')?;
    let line = String::from_utf8_lossy(&buf[..e]);
    let name = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    Some((name, e + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_inline_and_resp() {
        assert_eq!(parse_command(b"PING\r\n"), Some(("PING".into(), 6)));
        assert_eq!(parse_command(b"ping\n"), Some(("PING".into(), 5)));
        assert_eq!(parse_command(b"*1\r\n$4\r\nping\r\n"), Some(("PING".into(), 14)));
        assert_eq!(parse_command(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"), Some(("ECHO".into(), 22)));
        assert_eq!(parse_command(b"*1\r\n$4\r\nPI"), None, "incomplete");
        assert_eq!(parse_command(b"PIN"), None);
    }

    #[tokio::test]
    async fn redis_answers_ping_and_postgres_a_startup() {
        let (addr, _t) = redis("production", Instant::now()).await.unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"*1\r\n$4\r\nPING\r\nPING\r\n").await.unwrap();
        let mut got = [0u8; 14];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"+PONG\r\n+PONG\r\n");

        let (addr, _t) = postgres().await.unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await.unwrap();
        let mut n = [0u8; 1];
        s.read_exact(&mut n).await.unwrap();
        assert_eq!(&n, b"N");
        let mut startup = vec![0, 3, 0, 0];
        startup.extend_from_slice(b"user\0postgres\0\0");
        let mut msg = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
        msg.extend_from_slice(&startup);
        s.write_all(&msg).await.unwrap();
        let mut r = [0u8; 9];
        s.read_exact(&mut r).await.unwrap();
        assert_eq!(&r, b"R\0\0\0\x08\0\0\0\0", "AuthenticationOk");
    }

    #[test]
    fn the_cache_incident_is_staging_two_minutes_in() {
        assert!(!REDIS_INCIDENT.active(Duration::from_secs(119)));
        assert!(REDIS_INCIDENT.active(Duration::from_secs(150)));
        assert!(!REDIS_INCIDENT.active(Duration::from_secs(181)));
    }
}
