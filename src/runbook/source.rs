//! Where an alert's runbook comes from, and loading it within bounds.
//!
//! A markdown file named after the alert in `[alerting] runbooks` (`HighErrorRate.md`, or
//! `high-error-rate.md`) comes first: it is the operator's own offline copy. Otherwise the alert's
//! `runbook_url` annotation: `http(s)://` (fetched with the shared `net` client, within
//! `TIMEOUT` and `MAX_BYTES`, cached), `file://`, or a path (relative to the config's folder).
//! Failures are sentences ("timed out after 5s", "HTTP 404", "no such file …").

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::model::Millis;

/// A runbook server that has not answered by then will not: on-call should not wait on it.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Runbooks are pages of text; anything bigger is not one (or is hostile).
pub const MAX_BYTES: usize = 256 << 10;
/// A fetched runbook is reused this long: opening details again costs no request.
const CACHE_MS: Millis = 5 * 60_000;
/// A failure is remembered briefly, so reopening the details does not hammer a server that is down.
const FAILURE_CACHE_MS: Millis = 30_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Http(String),
}

impl Location {
    /// How the location is shown (and the cache key).
    pub fn shown(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Http(u) => u.clone(),
        }
    }
}

/// The runbook of the alert named `name` with annotation `runbook_url`: a file in `dir` named
/// after the alert when there is one, else the URL. `Ok(None)`: no runbook configured at all.
pub fn locate(
    name: &str,
    runbook_url: Option<&str>,
    dir: Option<&Path>,
    base: &Path,
) -> Result<Option<Location>, String> {
    // A name that could leave the folder is never looked up in it.
    let safe = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']);
    let tried: Vec<PathBuf> = match dir {
        Some(d) if safe => {
            let mut names = vec![format!("{name}.md")];
            let kebab = format!("{}.md", kebab_case(name));
            if kebab != names[0] {
                names.push(kebab);
            }
            names.into_iter().map(|n| d.join(n)).collect()
        }
        _ => Vec::new(),
    };
    if let Some(found) = tried.iter().find(|p| p.is_file()) {
        return Ok(Some(Location::File(found.clone())));
    }
    match runbook_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => parse_url(url, base).map(Some),
        None if !tried.is_empty() => {
            let names: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            Err(format!("no runbook: {} not found, and the alert has no runbook_url annotation", names.join(" nor ")))
        }
        None => Ok(None),
    }
}

fn parse_url(url: &str, base: &Path) -> Result<Location, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Location::Http(url.to_string()));
    }
    if lower.starts_with("file:") {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid file URL: {e}"))?;
        return parsed.to_file_path().map(Location::File).map_err(|_| "invalid file URL: not a local path".to_string());
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(format!("unsupported runbook URL scheme {scheme}: only http(s)://, file:// and paths are loaded"));
    }
    let p = crate::config::expand_home(url);
    Ok(Location::File(if p.is_absolute() { p } else { base.join(p) }))
}

/// `HighErrorRate` → `high-error-rate`, `HTTPErrors` → `http-errors`, `disk_full` → `disk-full`.
pub fn kebab_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == ' ' || c == '-' {
            if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if (prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower))
                && !out.ends_with('-')
            {
                out.push('-');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A fetched runbook (or why not) and when it was fetched.
type Cached = (Millis, Result<Arc<str>, String>);

/// Loads runbooks; HTTP answers are cached by URL. Shared by the engine's load tasks.
pub struct Loader {
    client: reqwest::Client,
    timeout: Duration,
    max_bytes: usize,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Loader {
    pub fn new(client: reqwest::Client) -> Loader {
        Loader::with_limits(client, TIMEOUT, MAX_BYTES)
    }

    pub fn with_limits(client: reqwest::Client, timeout: Duration, max_bytes: usize) -> Loader {
        Loader { client, timeout, max_bytes, cache: Mutex::new(HashMap::new()) }
    }

    /// The runbook's text (invalid UTF-8 replaced), or why it could not be loaded.
    pub async fn load(&self, loc: &Location, now: Millis) -> Result<Arc<str>, String> {
        match loc {
            // Files are read each time: a runbook being edited shows its latest text, and a read
            // of a small local file costs nothing worth caching.
            Location::File(p) => self.read_file(p).await.map(Arc::from),
            Location::Http(url) => {
                if let Some(hit) = self.cached(url, now) {
                    return hit;
                }
                let got = self.fetch(url).await.map(Arc::from);
                self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(url.clone(), (now, got.clone()));
                got
            }
        }
    }

    fn cached(&self, url: &str, now: Millis) -> Option<Result<Arc<str>, String>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (at, r)| now - *at < if r.is_ok() { CACHE_MS } else { FAILURE_CACHE_MS });
        cache.get(url).map(|(_, r)| r.clone())
    }

    fn too_big(&self) -> String {
        format!("runbook larger than {} KiB", self.max_bytes / 1024)
    }

    async fn fetch(&self, url: &str) -> Result<String, String> {
        let get = async {
            let resp = self.client.get(url).send().await.map_err(|e| crate::net::classify(&e))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(format!("HTTP {}", status.as_u16()));
            }
            let kind = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            if kind.to_ascii_lowercase().starts_with("text/html") {
                return Err("the URL serves an HTML page, not markdown: open it in a browser".to_string());
            }
            let body = crate::net::read_body(resp, self.max_bytes).await.map_err(|e| crate::net::classify(&e))?;
            if body.over_limit {
                return Err(self.too_big());
            }
            Ok(crate::sanitize::lossy(&body.bytes).into_owned())
        };
        match tokio::time::timeout(self.timeout, get).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {}", crate::duration::format(self.timeout))),
        }
    }

    async fn read_file(&self, p: &Path) -> Result<String, String> {
        let shown = p.display();
        let words = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => format!("no such file {shown}"),
            std::io::ErrorKind::PermissionDenied => format!("permission denied: {shown}"),
            _ => format!("cannot read {shown}: {e}"),
        };
        let f = tokio::fs::File::open(p).await.map_err(words)?;
        let meta = f.metadata().await.map_err(words)?;
        if meta.is_dir() {
            return Err(format!("{shown} is a directory, not a markdown file"));
        }
        if meta.len() > self.max_bytes as u64 {
            return Err(self.too_big());
        }
        // Read one byte past the cap: a file that grew since `metadata` (or a FIFO) is refused too.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        f.take(self.max_bytes as u64 + 1).read_to_end(&mut bytes).await.map_err(words)?;
        if bytes.len() > self.max_bytes {
            return Err(self.too_big());
        }
        Ok(crate::sanitize::lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncWriteExt;

    #[test]
    fn kebab_case_of_alert_names() {
        assert_eq!(kebab_case("HighErrorRate"), "high-error-rate");
        assert_eq!(kebab_case("SlowResponseTime"), "slow-response-time");
        assert_eq!(kebab_case("HTTPErrors"), "http-errors");
        assert_eq!(kebab_case("Disk_Full"), "disk-full");
        assert_eq!(kebab_case("Node5xxRate"), "node5xx-rate");
    }

    #[test]
    fn the_runbooks_folder_comes_first_then_the_url() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("runbooks");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("high-error-rate.md"), "# x").unwrap();
        let base = d.path();
        let wiki = "https://wiki.example.org/x";
        let url = Some(wiki);
        assert_eq!(
            locate("HighErrorRate", url, Some(&dir), base),
            Ok(Some(Location::File(dir.join("high-error-rate.md"))))
        );
        std::fs::write(dir.join("HighErrorRate.md"), "# x").unwrap();
        assert_eq!(
            locate("HighErrorRate", url, Some(&dir), base),
            Ok(Some(Location::File(dir.join("HighErrorRate.md"))))
        );
        assert_eq!(locate("Other", url, Some(&dir), base), Ok(Some(Location::Http(wiki.into()))));
        let err = locate("Other", None, Some(&dir), base).unwrap_err();
        assert!(err.contains("Other.md") && err.contains("other.md") && err.contains("no runbook_url"), "{err}");
        assert_eq!(locate("Other", None, None, base), Ok(None));
        // A name that would leave the folder is not looked up there.
        std::fs::write(d.path().join("secret.md"), "x").unwrap();
        assert_eq!(locate("../secret", None, Some(&dir), base), Ok(None));
    }

    #[test]
    fn urls_paths_and_schemes() {
        let base = Path::new("/etc/opsdeck");
        assert_eq!(parse_url("file:///srv/rb/a%20b.md", base), Ok(Location::File("/srv/rb/a b.md".into())));
        assert_eq!(parse_url("rb/x.md", base), Ok(Location::File("/etc/opsdeck/rb/x.md".into())));
        assert_eq!(parse_url("/abs/x.md", base), Ok(Location::File("/abs/x.md".into())));
        assert_eq!(parse_url("HTTPS://w/x", base), Ok(Location::Http("HTTPS://w/x".into())));
        assert!(parse_url("gopher://w/x", base).unwrap_err().contains("unsupported runbook URL scheme gopher"));
    }

    #[tokio::test]
    async fn files_in_words_and_capped() {
        let d = tempfile::tempdir().unwrap();
        let l = Loader::new(crate::net::client());
        let p = d.path().join("rb.md");
        std::fs::write(&p, "# ok\n").unwrap();
        assert_eq!(&*l.load(&Location::File(p.clone()), 0).await.unwrap(), "# ok\n");
        let missing = d.path().join("nope.md");
        assert_eq!(
            l.load(&Location::File(missing.clone()), 0).await.unwrap_err(),
            format!("no such file {}", missing.display())
        );
        std::fs::write(&p, vec![b'x'; MAX_BYTES + 1]).unwrap();
        assert_eq!(l.load(&Location::File(p.clone()), 0).await.unwrap_err(), "runbook larger than 256 KiB");
        std::fs::write(&p, vec![b'x'; MAX_BYTES]).unwrap();
        assert_eq!(l.load(&Location::File(p), 0).await.unwrap().len(), MAX_BYTES, "exactly the cap is accepted");
        assert!(l.load(&Location::File(d.path().into()), 0).await.unwrap_err().contains("is a directory"));
    }

    /// A loopback HTTP server: `answer` for each connection (`None`: accept, read, never answer);
    /// counts connections.
    async fn server(answer: Option<Vec<u8>>) -> (String, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/runbook.md", l.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    match answer {
                        Some(a) => {
                            let _ = s.write_all(&a).await;
                        }
                        // Hold the connection open and silent until the client gives up.
                        None => {
                            let _ = s.read(&mut buf).await;
                        }
                    }
                });
            }
        });
        (url, hits)
    }

    #[tokio::test]
    async fn a_hanging_server_times_out_in_words() {
        let (url, _) = server(None).await;
        let l = Loader::with_limits(crate::net::client(), Duration::from_millis(300), MAX_BYTES);
        let t0 = std::time::Instant::now();
        assert_eq!(l.load(&Location::Http(url), 0).await.unwrap_err(), "timed out after 300ms");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert_eq!(TIMEOUT, Duration::from_secs(5), "the documented bound");
    }

    #[tokio::test]
    async fn a_huge_runbook_is_refused_while_streaming() {
        // Chunked, so no Content-Length announces the size: the cap is hit while reading.
        let mut body = b"HTTP/1.1 200 OK\r\nContent-Type: text/markdown\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..80 {
            body.extend_from_slice(b"1000\r\n");
            body.extend(std::iter::repeat_n(b'#', 0x1000));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        let (url, _) = server(Some(body)).await;
        let l = Loader::new(crate::net::client());
        assert_eq!(l.load(&Location::Http(url), 0).await.unwrap_err(), "runbook larger than 256 KiB");
    }

    #[tokio::test]
    async fn http_answers_are_cached_failures_briefly() {
        let ok =
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/markdown\r\nContent-Length: 6\r\n\r\n# hi\r\n"
                .to_vec();
        let (url, hits) = server(Some(ok)).await;
        let l = Loader::new(crate::net::client());
        let loc = Location::Http(url);
        assert_eq!(&*l.load(&loc, 0).await.unwrap(), "# hi\r\n");
        assert_eq!(&*l.load(&loc, CACHE_MS - 1).await.unwrap(), "# hi\r\n");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the second open is served from the cache");
        l.load(&loc, CACHE_MS).await.unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2, "a stale entry is fetched again");

        let (missing, hits) =
            server(Some(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_vec())).await;
        let loc = Location::Http(missing);
        assert_eq!(l.load(&loc, 0).await.unwrap_err(), "HTTP 404");
        assert_eq!(l.load(&loc, FAILURE_CACHE_MS - 1).await.unwrap_err(), "HTTP 404");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let _ = l.load(&loc, FAILURE_CACHE_MS).await;
        assert_eq!(hits.load(Ordering::SeqCst), 2, "a failure is retried after a short while");

        let html = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 6\r\n\r\n<html>".to_vec();
        let (page, _) = server(Some(html)).await;
        assert!(l.load(&Location::Http(page), 0).await.unwrap_err().contains("HTML page"));
    }
}
