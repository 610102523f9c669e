//! The `http` deploy driver (design §5 "Drivers"): POST `{"env", "version"}` to the environment's
//! endpoint with a bearer token taken from the environment; a non-2xx answer is a failure. The
//! flow (`flow`) calls it for the "driver" step, and for a rollback with the rollback point.

use crate::config::{DeployConfig, DeployDriver};
use std::time::Duration;

/// The trigger waits at most this long for an answer, whatever `timeout` says: that setting
/// bounds the whole deploy (verification included), while an endpoint only has to accept the job.
pub const MAX_TRIGGER_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of an endpoint's answer is kept for a message.
const BODY_CHARS: usize = 160;
/// How much of an answer is read at all: an endpoint streaming megabytes must not fill memory.
const BODY_LIMIT: usize = 64 << 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeployError {
    #[error("the deploy driver is `command`: it has no http endpoint")]
    NotHttp,
    #[error("deploy driver is http but no url is configured")]
    MissingUrl,
    #[error("{0}")]
    TokenUnset(String),
    #[error("invalid deploy url {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{url}: connection refused")]
    Refused { url: String },
    #[error("{url}: no answer within {secs}s")]
    Timeout { url: String, secs: u64 },
    #[error("{url}: HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
}

/// Ask the environment's deploy endpoint to deploy `version`. Returns a short, sanitised
/// description of the answer, e.g. "HTTP 202: accepted, 1.5.0 → 1.6.0-bad".
pub async fn trigger(
    client: &reqwest::Client,
    cfg: &DeployConfig,
    env: &str,
    version: &str,
) -> Result<String, DeployError> {
    if cfg.driver == DeployDriver::Command {
        return Err(DeployError::NotHttp);
    }
    let url = cfg.url.as_deref().filter(|u| !u.trim().is_empty()).ok_or(DeployError::MissingUrl)?;
    let shown = crate::sanitize::line(url).into_owned();
    let token =
        crate::config::secret(cfg.token_env.as_deref(), cfg.token_file.as_deref()).map_err(DeployError::TokenUnset)?;
    let timeout = cfg.timeout.clamp(Duration::from_secs(1), MAX_TRIGGER_TIMEOUT);
    let mut req = client.post(url).timeout(timeout).json(&serde_json::json!({ "env": env, "version": version }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| request_error(&e, &shown, timeout))?;
    let status = resp.status();
    let body = crate::net::read_body(resp, BODY_LIMIT).await.map_err(|e| request_error(&e, &shown, timeout))?;
    let summary = summarise(&body.bytes);
    if !status.is_success() {
        return Err(DeployError::Status { url: shown, status: status.as_u16(), body: summary });
    }
    Ok(if summary.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {summary}", status.as_u16())
    })
}

fn request_error(e: &reqwest::Error, url: &str, timeout: Duration) -> DeployError {
    let url = url.to_string();
    if e.is_builder() {
        return DeployError::InvalidUrl { url, reason: crate::sanitize::line(&crate::net::innermost(e)).into_owned() };
    }
    if e.is_timeout() {
        return DeployError::Timeout { url, secs: timeout.as_secs() };
    }
    if crate::net::is_refused(e) {
        return DeployError::Refused { url };
    }
    DeployError::Request { url, reason: crate::sanitize::line(&crate::net::classify(e)).into_owned() }
}

/// A one-line digest of an endpoint's answer. JSON objects are read for the fields deploy
/// endpoints commonly answer with (status/message/error, from → to); anything else is its first
/// line. Always sanitised and short: the text is shown on screen and the endpoint is not trusted.
pub fn summarise(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let digest = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            let field = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let mut parts: Vec<String> =
                ["status", "message", "error", "detail"].iter().filter_map(|k| field(k)).collect();
            match (field("from"), field("to").or_else(|| field("version"))) {
                (Some(f), Some(t)) => parts.push(format!("{f} → {t}")),
                (None, Some(t)) => parts.push(format!("version {t}")),
                _ => {}
            }
            if parts.is_empty() {
                text.to_string()
            } else {
                parts.join(", ")
            }
        }
        _ => text.lines().next().unwrap_or("").to_string(),
    };
    let clean = crate::sanitize::line(&digest);
    if clean.chars().count() > BODY_CHARS {
        clean.chars().take(BODY_CHARS - 1).chain(std::iter::once('…')).collect()
    } else {
        clean.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{Fleet, TOKEN_ENV};

    fn cfg(url: Option<String>, token_env: Option<&str>) -> DeployConfig {
        let text = "driver = \"http\"\n";
        let mut c: DeployConfig = toml::from_str(text).unwrap();
        c.url = url;
        c.token_env = token_env.map(str::to_string);
        c
    }

    fn client() -> reqwest::Client {
        crate::net::client()
    }

    async fn running_version(fleet: &Fleet, env: &str, want: &str) -> String {
        // The fleet switches after DEPLOY_DELAY: poll rather than sleep a guessed time.
        let deadline = std::time::Instant::now() + crate::demo::DEPLOY_DELAY * 10;
        loop {
            let v = fleet.env(env).unwrap().version();
            if v == want || std::time::Instant::now() > deadline {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn triggers_a_deploy_on_the_demo_fleet() {
        let fleet = Fleet::start_with(None).await.unwrap();
        let url = format!("{}/deploy", fleet.env("staging").unwrap().api_url());
        let out = trigger(&client(), &cfg(Some(url), None), "staging", "1.6.0-bad").await.unwrap();
        assert!(out.starts_with("HTTP 202: accepted"), "{out}");
        assert!(out.contains("1.5.0 → 1.6.0-bad"), "{out}");
        assert_eq!(running_version(&fleet, "staging", "1.6.0-bad").await, "1.6.0-bad");
        assert_eq!(fleet.env("production").unwrap().version(), "1.4.1", "other environments untouched");
    }

    #[tokio::test]
    async fn token_protected_endpoint() {
        // A variable name of this test's own, so parallel tests never see each other's values.
        let var = "OPSDECK_TEST_DEPLOY_TOKEN_HTTP_RS";
        let fleet = Fleet::start_with(Some("s3cret".into())).await.unwrap();
        let url = format!("{}/deploy", fleet.env("development").unwrap().api_url());

        let unset = trigger(&client(), &cfg(Some(url.clone()), Some(var)), "development", "1.4.0").await;
        assert!(
            matches!(&unset, Err(DeployError::TokenUnset(m)) if m.contains(var) && m.contains("not set")),
            "{unset:?}"
        );

        // No token configured at all: the endpoint refuses, and says why.
        let err = trigger(&client(), &cfg(Some(url.clone()), None), "development", "1.4.0").await.unwrap_err();
        match &err {
            DeployError::Status { status: 401, body, .. } => assert!(body.contains("bearer token"), "{body}"),
            e => panic!("expected HTTP 401, got {e:?}"),
        }
        assert!(err.to_string().contains("HTTP 401"), "{err}");

        std::env::set_var(var, "wrong");
        let wrong = trigger(&client(), &cfg(Some(url.clone()), Some(var)), "development", "1.4.0").await;
        assert!(matches!(wrong, Err(DeployError::Status { status: 401, .. })), "{wrong:?}");
        std::env::set_var(var, "s3cret");
        let ok = trigger(&client(), &cfg(Some(url), Some(var)), "development", "1.4.0").await.unwrap();
        assert!(ok.starts_with("HTTP 202"), "{ok}");
        assert_eq!(running_version(&fleet, "development", "1.4.0").await, "1.4.0");
        // The demo's own variable name is what its generated config refers to.
        assert!(fleet.config_toml(std::path::Path::new("/tmp")).contains(TOKEN_ENV));
        std::env::remove_var(var);
    }

    #[tokio::test]
    async fn bad_versions_are_refused_with_the_endpoints_reason() {
        let fleet = Fleet::start_with(None).await.unwrap();
        let url = format!("{}/deploy", fleet.env("staging").unwrap().api_url());
        let err = trigger(&client(), &cfg(Some(url), None), "staging", "1.0; rm -rf /").await.unwrap_err();
        match err {
            DeployError::Status { status: 400, body, .. } => assert!(body.contains("version must be"), "{body}"),
            e => panic!("expected HTTP 400, got {e:?}"),
        }
        assert_eq!(fleet.env("staging").unwrap().version(), "1.5.0");
    }

    #[tokio::test]
    async fn refused_timeout_and_config_errors() {
        // A port that was just free: nothing listens there.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/deploy");
        let err = trigger(&client(), &cfg(Some(url.clone()), None), "staging", "1.5.0").await.unwrap_err();
        assert_eq!(err, DeployError::Refused { url });

        // A server that accepts the connection and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let mut c = cfg(Some(format!("http://{addr}/deploy")), None);
        c.timeout = Duration::from_millis(1);
        let started = std::time::Instant::now();
        let err = trigger(&client(), &c, "staging", "1.5.0").await.unwrap_err();
        assert!(matches!(err, DeployError::Timeout { secs: 1, .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        hold.abort();

        assert_eq!(trigger(&client(), &cfg(None, None), "staging", "1").await, Err(DeployError::MissingUrl));
        let bad = trigger(&client(), &cfg(Some("not a url".into()), None), "staging", "1").await.unwrap_err();
        assert!(matches!(bad, DeployError::InvalidUrl { .. }), "{bad:?}");
        let mut cmd = cfg(None, None);
        cmd.driver = DeployDriver::Command;
        let e = trigger(&client(), &cmd, "staging", "1").await.unwrap_err();
        assert_eq!(e, DeployError::NotHttp);
    }

    #[test]
    fn summaries_are_short_and_safe() {
        assert_eq!(summarise(br#"{"status":"accepted","from":"1.5.0","to":"1.6.0"}"#), "accepted, 1.5.0 → 1.6.0");
        assert_eq!(summarise(br#"{"error":"nope"}"#), "nope");
        assert_eq!(summarise(b"ok\nsecond line"), "ok");
        assert_eq!(summarise(b"\x1b[31mred"), "\\x1b[31mred");
        let long = "x".repeat(1000);
        assert_eq!(summarise(long.as_bytes()).chars().count(), BODY_CHARS);
        assert_eq!(summarise(b""), "");
    }
}
