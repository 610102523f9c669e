//! The HTTP policy every remote source shares, in one place: one client builder (rustls, our user
//! agent, bounded redirects, connect timeout), one classifier that turns a failed request into a
//! short reason ("connection refused", "DNS: no such host", "TLS: …"), and one size-capped body
//! read, so a huge or endless answer costs at most its limit. Health, scrape, the remote
//! Prometheus API, HTTP log sources, notifications and deploy drivers all use these.

use std::time::Duration;

pub const USER_AGENT: &str = concat!("opsdeck/", env!("CARGO_PKG_VERSION"));
/// A connect that has not finished by then will not: the endpoint is down or filtered.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Redirects followed before giving up (a loop fails fast instead of running to the timeout).
pub const MAX_REDIRECTS: usize = 5;

/// Certificates of `[general] ca_file`, trusted by every client besides the system's roots.
static EXTRA_ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();

/// Trust the PEM bundle at `path` (a company CA) in every client built from now on. The error
/// names the file and what is wrong with it.
pub fn trust_ca_file(path: &std::path::Path) -> Result<usize, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("ca_file {shown}: {e}"))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("ca_file {shown}: not a PEM certificate bundle ({})", innermost(&e)))?;
    if certs.is_empty() {
        return Err(format!("ca_file {shown}: no certificate in it (expected PEM blocks)"));
    }
    let n = certs.len();
    let _ = EXTRA_ROOTS.set(certs);
    Ok(n)
}

/// The client builder with the shared policy; callers add what is theirs (a total timeout).
/// Certificates are always verified (rustls; the system's roots plus `ca_file`).
pub fn builder() -> reqwest::ClientBuilder {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(2);
    for c in EXTRA_ROOTS.get().into_iter().flatten() {
        b = b.add_root_certificate(c.clone());
    }
    b
}

/// The shared client. Building only fails when the TLS backend cannot start; the default client
/// then still answers with a clear error per request.
pub fn client() -> reqwest::Client {
    builder().build().unwrap_or_default()
}

/// A short reason for a request that got no (complete) HTTP answer. Not sanitised: callers decide
/// where it goes.
pub fn classify(e: &reqwest::Error) -> String {
    if e.is_builder() {
        return format!("invalid URL: {}", innermost(e));
    }
    if e.is_redirect() {
        return format!("too many redirects (more than {MAX_REDIRECTS})");
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut chain: Vec<String> = Vec::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return "connection refused".into(),
                ConnectionReset => return "connection reset".into(),
                ConnectionAborted => return "connection aborted".into(),
                TimedOut => return "connect timed out".into(),
                HostUnreachable => return "host unreachable".into(),
                NetworkUnreachable => return "network unreachable".into(),
                _ => {}
            }
        }
        chain.push(s.to_string());
        src = s.source();
    }
    let all = chain.join(": ").to_ascii_lowercase();
    let inner = innermost(e);
    if all.contains("dns error") || all.contains("failed to lookup address") {
        let l = inner.to_ascii_lowercase();
        if l.contains("not known")
            || l.contains("no address")
            || l.contains("nodename nor servname")
            || l.contains("no such host")
        {
            return "DNS: no such host".into();
        }
        return format!("DNS: {inner}");
    }
    if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        return format!("TLS: {inner}");
    }
    if plain_port(&all) {
        return format!("TLS: {PLAIN_PORT}");
    }
    if e.is_connect() {
        return format!("cannot connect: {inner}");
    }
    if all.contains("connection closed") || all.contains("incomplete message") {
        return "connection closed before a complete answer".into();
    }
    format!("request failed: {inner}")
}

/// Whether the request was refused at connect (nothing listening): callers that say "refused"
/// apart from other failures ask this instead of matching the text.
pub fn is_refused(e: &reqwest::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            return true;
        }
        src = s.source();
    }
    false
}

/// The deepest cause's message.
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// A body read with a cap: at most `limit` bytes are kept (and buffered), and `over_limit` says
/// the answer had more. Reading stops there, so a 300 MB or endless body costs `limit`.
#[derive(Debug, Default)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub over_limit: bool,
}

/// Read `resp`'s body up to `limit` bytes (`usize::MAX` for none). A declared `Content-Length`
/// over the limit is refused before anything is read.
pub async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<Body, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(Body { bytes: Vec::new(), over_limit: true });
    }
    let cap = resp.content_length().unwrap_or(64 << 10).min(limit as u64).min(16 << 20) as usize;
    let mut bytes = Vec::with_capacity(cap);
    while let Some(chunk) = resp.chunk().await? {
        let take = chunk.len().min(limit - bytes.len());
        // Grown by doubling but never past the limit, so a body at the limit costs the limit.
        if bytes.len() + take > bytes.capacity() {
            let want = (bytes.capacity() * 2).clamp(bytes.len() + take, limit);
            bytes.reserve_exact(want - bytes.len());
        }
        bytes.extend_from_slice(&chunk[..take]);
        if take < chunk.len() {
            return Ok(Body { bytes, over_limit: true });
        }
    }
    Ok(Body { bytes, over_limit: false })
}

/// An error with its causes, "error sending request for url (...): connection refused", without
/// repeating a cause the message already contains. Not sanitised: callers decide where it goes.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    if plain_port(&s.to_ascii_lowercase()) {
        s.push_str(&format!(" (TLS: {PLAIN_PORT})"));
    }
    s
}

const PLAIN_PORT: &str = "the server did not answer the TLS handshake (an https:// URL on a plain-HTTP port?)";

/// rustls reading a plain-HTTP answer as a TLS record, in a lowercased error chain.
fn plain_port(chain: &str) -> bool {
    chain.contains("corrupt message") || chain.contains("invalidcontenttype")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn causes_are_appended_once() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(error_chain(&outer), "connection refused");
    }

    /// A one-shot loopback server answering every connection with `answer`.
    async fn serve(answer: Vec<u8>) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(&answer).await;
                });
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn bodies_are_capped_and_failures_classified() {
        let c = client();
        let big = [b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec(), vec![b'x'; 100_000]].concat();
        let url = serve(big).await;
        let b = read_body(c.get(&url).send().await.unwrap(), 1000).await.unwrap();
        assert!(b.over_limit && b.bytes.is_empty(), "declared length over the cap is refused unread");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n".to_vec();
        let chunked = [chunked, vec![b'y'; 2000], b"\r\n0\r\n\r\n".to_vec()].concat();
        let url = serve(chunked).await;
        let b = read_body(c.get(&url).send().await.unwrap(), 1000).await.unwrap();
        assert!(b.over_limit);
        assert_eq!(b.bytes.len(), 1000);
        let small = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()).await;
        let b = read_body(c.get(&small).send().await.unwrap(), 1000).await.unwrap();
        assert_eq!((b.bytes.as_slice(), b.over_limit), (&b"ok"[..], false));

        // Refused: bind a port, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = c.get(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert_eq!(classify(&e), "connection refused");
        assert!(is_refused(&e));
        let e = c.get("http://[::1").send().await.unwrap_err();
        assert!(classify(&e).starts_with("invalid URL"), "{}", classify(&e));
        // A redirect to itself, forever.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        let answer = format!("HTTP/1.1 302 Found\r\nLocation: {url}\r\nContent-Length: 0\r\n\r\n").into_bytes();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let e = c.get(&url).send().await.unwrap_err();
        assert!(classify(&e).starts_with("too many redirects"), "{}", classify(&e));
    }
}
