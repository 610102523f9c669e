//! A remote Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics) queried
//! over its HTTP API (`/api/v1/query`, `/api/v1/query_range`). Answers come back as the local
//! engine's [`crate::promql::Value`], so panels and rules do not care where a number came from.
//!
//! TLS is rustls (reqwest's `rustls-tls`); the bearer token comes from an environment variable
//! named in the config, never from the config itself.

pub mod alerts;

use crate::promql::{RangeSeries, Value, VecSample};
use crate::tsdb::{Labels, Sample};
use std::time::Duration;

/// Largest API response accepted; a runaway query must not eat the bastion's memory.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("invalid Prometheus URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("{0}")]
    MissingToken(String),
    #[error("cannot reach {url}: {reason}")]
    Request { url: String, reason: String },
    #[error("{url} timed out after {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    /// The server answered with an API error (`errorType`, `error`).
    #[error("Prometheus API error ({kind}): {message}")]
    Api { kind: String, message: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("unexpected API response: {0}")]
    Decode(String),
}

/// A client for one server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    // The token stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Client {
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Client, ApiError> {
        let bad = |reason: &str| ApiError::Url { url: url.to_string(), reason: reason.to_string() };
        let mut base = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        // Join relative API paths under any path prefix (e.g. Thanos behind /prometheus).
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = crate::net::builder().build().map_err(|e| bad(&e.to_string()))?;
        Ok(Client { http, base, token, timeout })
    }

    /// From `[prometheus]`: the token is read from the named environment variable.
    pub fn from_config(src: &crate::config::PrometheusSource) -> Result<Client, ApiError> {
        let token = crate::config::secret(src.bearer_token_env.as_deref(), src.bearer_token_file.as_deref())
            .map_err(ApiError::MissingToken)?;
        Client::new(&src.url, token, src.timeout)
    }

    /// The bound of each request (connect to the last byte).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `/api/v1/query` at `t_ms` (the server's now when `None`).
    pub async fn query(&self, expr: &str, t_ms: Option<i64>) -> Result<Value, ApiError> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = t_ms {
            params.push(("time", secs(t)));
        }
        self.call("api/v1/query", &params).await
    }

    /// `/api/v1/query_range` from `start_ms` to `end_ms` every `step`.
    pub async fn query_range(&self, expr: &str, start_ms: i64, end_ms: i64, step: Duration) -> Result<Value, ApiError> {
        let params = [
            ("query", expr.to_string()),
            ("start", secs(start_ms)),
            ("end", secs(end_ms)),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        self.call("api/v1/query_range", &params).await
    }

    async fn call(&self, path: &str, params: &[(&str, String)]) -> Result<Value, ApiError> {
        decode_response(&self.call_json(path, params).await?)
    }

    /// The server's JSON answer as it came (an API error included: `status: "error"`), for
    /// `opsdeck query --json`, which prints it unchanged.
    pub async fn query_json(&self, expr: &str, t_ms: Option<i64>) -> Result<serde_json::Value, ApiError> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = t_ms {
            params.push(("time", secs(t)));
        }
        self.call_json("api/v1/query", &params).await
    }

    pub async fn query_range_json(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step: Duration,
    ) -> Result<serde_json::Value, ApiError> {
        let params = [
            ("query", expr.to_string()),
            ("start", secs(start_ms)),
            ("end", secs(end_ms)),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        self.call_json("api/v1/query_range", &params).await
    }

    async fn call_json(&self, path: &str, params: &[(&str, String)]) -> Result<serde_json::Value, ApiError> {
        let mut url = self.base.join(path).map_err(|e| ApiError::Url { url: path.into(), reason: e.to_string() })?;
        url.query_pairs_mut().extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        let shown = format!("{}{}", self.base, path);
        let fut = async {
            let mut req = self.http.get(url);
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.map_err(|e| ApiError::Request { url: shown.clone(), reason: describe(&e) })?;
            let status = resp.status().as_u16();
            let body = crate::net::read_body(resp, MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| ApiError::Request { url: shown.clone(), reason: describe(&e) })?;
            if body.over_limit {
                return Err(ApiError::TooLarge(MAX_RESPONSE_BYTES));
            }
            Ok((status, body.bytes))
        };
        let (status, body) = tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| ApiError::Timeout { url: shown.clone(), timeout: self.timeout })??;
        // API errors come with 400/422/503 and a JSON body; anything else non-2xx is a status error.
        match serde_json::from_slice(&body) {
            Ok(j) => Ok(j),
            Err(_) if !(200..300).contains(&status) => Err(ApiError::Status { url: shown, status }),
            Err(e) => Err(ApiError::Decode(format!("not JSON: {e}"))),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    crate::sanitize::line(&crate::net::error_chain(e)).into_owned()
}

fn secs(t_ms: i64) -> String {
    format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000))
}

/// Decode a `/api/v1/query*` response body into the engine's value type.
pub fn decode_response(json: &serde_json::Value) -> Result<Value, ApiError> {
    let dec = |m: &str| ApiError::Decode(m.to_string());
    match json.get("status").and_then(|s| s.as_str()) {
        Some("success") => {}
        Some("error") => {
            let s = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            return Err(ApiError::Api {
                kind: crate::sanitize::line(&s("errorType")).into_owned(),
                message: crate::sanitize::line(&s("error")).into_owned(),
            });
        }
        _ => return Err(dec("no \"status\"")),
    }
    let data = json.get("data").ok_or_else(|| dec("no \"data\""))?;
    let result = data.get("result").ok_or_else(|| dec("no \"data.result\""))?;
    match data.get("resultType").and_then(|t| t.as_str()) {
        Some("scalar") => Ok(Value::Scalar(point(result)?.v)),
        Some("string") => {
            let s = result.get(1).and_then(|s| s.as_str()).ok_or_else(|| dec("string result is not [t, \"s\"]"))?;
            Ok(Value::String(s.to_string()))
        }
        Some("vector") => {
            let items = result.as_array().ok_or_else(|| dec("vector result is not a list"))?;
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let labels = labels(it.get("metric"))?;
                let p = point(it.get("value").ok_or_else(|| dec("vector sample without \"value\""))?)?;
                out.push(VecSample { labels, v: p.v });
            }
            Ok(Value::Vector(out))
        }
        Some("matrix") => {
            let items = result.as_array().ok_or_else(|| dec("matrix result is not a list"))?;
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let labels = labels(it.get("metric"))?;
                let vals = it.get("values").and_then(|v| v.as_array()).map(Vec::as_slice).unwrap_or(&[]);
                let samples = vals.iter().map(point).collect::<Result<Vec<_>, _>>()?;
                out.push(RangeSeries { labels, samples });
            }
            Ok(Value::Matrix(out))
        }
        other => Err(ApiError::Decode(format!("unknown resultType {other:?}"))),
    }
}

fn labels(m: Option<&serde_json::Value>) -> Result<Labels, ApiError> {
    let Some(obj) = m.and_then(|m| m.as_object()) else {
        return Err(ApiError::Decode("sample without a \"metric\" object".into()));
    };
    Ok(Labels::from_pairs(obj.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))))
}

/// `[1435781451.781, "1"]` → a sample (ms, value); values use Go's spelling of NaN and ±Inf.
fn point(p: &serde_json::Value) -> Result<Sample, ApiError> {
    let bad = || ApiError::Decode(format!("bad sample {}", crate::sanitize::line(&p.to_string())));
    let a = p.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let t = a[0].as_f64().ok_or_else(bad)?;
    let s = a[1].as_str().ok_or_else(bad)?;
    let v = crate::scrape::lex::parse_float(s.as_bytes()).map_err(|_| bad())?;
    Ok(Sample { t: (t * 1000.0).round() as i64, v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_result_type() {
        let j: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"__name__":"up","job":"api"},"value":[1700000000.5,"1"]},
                {"metric":{"job":"db"},"value":[1700000000.5,"NaN"]}]}}"#,
        )
        .unwrap();
        let Value::Vector(v) = decode_response(&j).unwrap() else { panic!() };
        assert_eq!(v[0].labels.to_string(), "up{job=\"api\"}");
        assert!(v[1].v.is_nan());
        let j = serde_json::json!({"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"a":"b"},"values":[[1.0,"+Inf"],[2.001,"-3"]]}]}});
        let Value::Matrix(m) = decode_response(&j).unwrap() else { panic!() };
        assert_eq!(m[0].samples, vec![Sample { t: 1000, v: f64::INFINITY }, Sample { t: 2001, v: -3.0 }]);
        let j = serde_json::json!({"status":"success","data":{"resultType":"scalar","result":[1.0,"2.5"]}});
        assert_eq!(decode_response(&j).unwrap(), Value::Scalar(2.5));
        let j = serde_json::json!({"status":"error","errorType":"bad_data","error":"parse error\u{1b}[31m"});
        let e = decode_response(&j).unwrap_err().to_string();
        assert!(e.starts_with("Prometheus API error (bad_data): parse error") && !e.contains('\u{1b}'), "{e}");
        let j = serde_json::json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}});
        assert!(matches!(decode_response(&j), Err(ApiError::Decode(_))));
    }

    #[test]
    fn urls_and_tokens() {
        assert!(Client::new("ftp://x", None, Duration::from_secs(1)).is_err());
        let c = Client::new("http://h:9090/prom", Some("secret".into()), Duration::from_secs(1)).unwrap();
        assert_eq!(c.base_url(), "http://h:9090/prom/");
        assert!(!format!("{c:?}").contains("secret"));
        let src = crate::config::PrometheusSource {
            url: "http://h:9090".into(),
            bearer_token_env: Some("OPSDECK_TEST_SURELY_UNSET_TOKEN".into()),
            bearer_token_file: None,
            timeout: Duration::from_secs(1),
        };
        let e = Client::from_config(&src).unwrap_err().to_string();
        assert!(e.contains("OPSDECK_TEST_SURELY_UNSET_TOKEN") && e.contains("not set"), "{e}");
    }
}
