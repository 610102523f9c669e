//! One check of one component: an HTTP request, a TCP exchange or a command, bounded by the
//! component's `timeout`. The verdict is a pass or a failure with its reason in words; what the
//! component said (body, reply, command output) is kept, sanitised, up to [`OUTPUT_LIMIT`].

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::{ComponentConfig, ComponentKind};
use crate::{command, duration, sanitize};

/// Output kept per check, as Docker keeps the first 4 KiB of a healthcheck's output.
pub const OUTPUT_LIMIT: usize = 4096;
/// Most of an HTTP body read (the regex looks at this much).
pub const BODY_LIMIT: usize = 64 << 10;

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub ok: bool,
    /// Why it failed; `None` on a pass.
    pub reason: Option<String>,
    pub output: String,
    pub duration: Duration,
}

/// What a check needs besides its config: a client for its TLS setting, a compiled regex.
pub struct Prober {
    cfg: ComponentConfig,
    client: reqwest::Client,
    body_regex: Option<regex::Regex>,
}

impl Prober {
    pub fn new(cfg: ComponentConfig) -> Prober {
        let client = crate::net::builder().danger_accept_invalid_certs(!cfg.tls_verify).build().unwrap_or_default();
        // Validated when the config was loaded.
        let body_regex = cfg.body_regex.as_deref().and_then(|r| regex::Regex::new(r).ok());
        Prober { cfg, client, body_regex }
    }

    pub fn config(&self) -> &ComponentConfig {
        &self.cfg
    }

    /// Run the check once. Never takes much longer than the timeout: a command is killed with its
    /// process group when it expires.
    pub async fn run(&self) -> Probe {
        let start = Instant::now();
        let timeout = self.cfg.timeout;
        let (ok, reason, output) = match self.cfg.kind {
            ComponentKind::Command => self.command().await,
            ComponentKind::Http => bounded(timeout, self.http()).await,
            ComponentKind::Tcp => bounded(timeout, self.tcp()).await,
        };
        Probe { ok, reason, output: cut(&output), duration: start.elapsed() }
    }

    async fn http(&self) -> (bool, Option<String>, String) {
        let url = self.cfg.url.as_deref().unwrap_or_default();
        // TLS unless the URL says otherwise.
        let url = if url.contains("://") { url.to_string() } else { format!("https://{url}") };
        let resp = match self.client.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return (false, Some(crate::net::classify(&e)), String::new()),
        };
        let status = resp.status().as_u16();
        let body = match crate::net::read_body(resp, BODY_LIMIT).await {
            Ok(b) => b.bytes,
            Err(e) => {
                return (
                    false,
                    Some(format!("HTTP {status}, reading the body: {}", crate::net::classify(&e))),
                    String::new(),
                )
            }
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        let status_ok = if self.cfg.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.cfg.expect_status.contains(&status)
        };
        if !status_ok {
            return (false, Some(format!("HTTP {status}")), text);
        }
        if let Some(re) = &self.body_regex {
            if !re.is_match(&text) {
                return (false, Some(format!("HTTP {status}, body does not match /{}/", re.as_str())), text);
            }
        }
        (true, None, text)
    }

    async fn tcp(&self) -> (bool, Option<String>, String) {
        let address = self.cfg.address.as_deref().unwrap_or_default();
        let mut stream = match tokio::net::TcpStream::connect(address).await {
            Ok(s) => s,
            Err(e) => return (false, Some(io_reason(&e)), String::new()),
        };
        if let Some(send) = &self.cfg.send {
            if let Err(e) = stream.write_all(send.as_bytes()).await {
                return (false, Some(format!("sending: {}", io_reason(&e))), String::new());
            }
        }
        let Some(expect) = &self.cfg.expect else { return (true, None, String::new()) };
        // Read until the reply can be judged: as long as the expected prefix, or a line, or EOF.
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while got.len() < expect.len().max(1)
            || (!got.contains(&b'\n') && got.len() < OUTPUT_LIMIT && !got.starts_with(expect.as_bytes()))
        {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => {
                    return (
                        false,
                        Some(format!("reading the reply: {}", io_reason(&e))),
                        String::from_utf8_lossy(&got).into_owned(),
                    )
                }
            }
            if got.starts_with(expect.as_bytes()) {
                break;
            }
        }
        let reply = String::from_utf8_lossy(&got).into_owned();
        if got.starts_with(expect.as_bytes()) {
            (true, None, reply)
        } else if got.is_empty() {
            (false, Some(format!("no reply (expected {})", quote(expect))), reply)
        } else {
            let first = reply.lines().next().unwrap_or_default();
            (false, Some(format!("unexpected reply {} (expected {})", quote(first), quote(expect))), reply)
        }
    }

    async fn command(&self) -> (bool, Option<String>, String) {
        let spec = command::Spec {
            argv: &self.cfg.argv,
            env_allow: &[],
            extra_env: &[],
            timeout: self.cfg.timeout,
            inherit: true,
        };
        let got = command::capture(&spec, OUTPUT_LIMIT).await;
        let o = &got.outcome;
        let output: String = o.output.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n");
        match &o.exit {
            command::Exit::Code(0) => (true, None, output),
            command::Exit::Code(c) => {
                let first = output.lines().find(|l| !l.trim().is_empty());
                let reason = match first {
                    Some(l) => format!("exit {c}: {}", l.trim()),
                    None => format!("exit {c}"),
                };
                (false, Some(reason), output)
            }
            command::Exit::TimedOut => (
                false,
                Some(format!("timed out after {} (process group killed)", duration::format(self.cfg.timeout))),
                output,
            ),
            _ => (false, Some(o.describe()), output),
        }
    }
}

async fn bounded(
    timeout: Duration,
    f: impl std::future::Future<Output = (bool, Option<String>, String)>,
) -> (bool, Option<String>, String) {
    match tokio::time::timeout(timeout, f).await {
        Ok(r) => r,
        Err(_) => (false, Some(format!("timed out after {}", duration::format(timeout))), String::new()),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset".into(),
        TimedOut => "connect timed out".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        _ if e.to_string().contains("failed to lookup address") => "DNS: no such host".into(),
        _ => e.to_string(),
    }
}

/// A reply shown in a reason: escaped, short.
fn quote(s: &str) -> String {
    let s: String = s.trim_end_matches(['\r', '\n']).chars().take(60).collect();
    format!("\"{}\"", sanitize::line(&s).replace('\r', "\\r"))
}

/// Sanitised and at most `OUTPUT_LIMIT` bytes, cut on a character boundary.
fn cut(s: &str) -> String {
    // Line ends are not content: `+PONG\r\n` is shown as `+PONG`.
    let s: String = s.trim_end().lines().map(|l| l.trim_end_matches('\r')).collect::<Vec<_>>().join("\n");
    let clean = sanitize::multiline(&s);
    if clean.len() <= OUTPUT_LIMIT {
        return clean.into_owned();
    }
    let mut end = OUTPUT_LIMIT;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clean[..end])
}
