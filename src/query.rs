//! `opsdeck query`: the expression browser's quick question from a shell, against the
//! `[prometheus]` server. `--json` prints the server's `/api/v1/query(_range)` answer unchanged, so
//! it pipes into the same tools; without it, one line per series. Exit 0, 1 on a query error (the
//! server's message, which names the position: `1:6: parse error: …`), 2 on a usage or config error.

use std::time::Duration;

use crate::cli::QueryArgs;
use crate::config::Config;
use crate::exit;
use crate::prom_api::{ApiError, Client};
use crate::sanitize;

/// The expression browser's default: about 250 points over the range, never finer than 1 s.
const DEFAULT_POINTS: u32 = 250;

pub async fn run(cfg: &Config, args: &QueryArgs) -> anyhow::Result<i32> {
    match query(cfg, args).await {
        Ok((json, code)) => {
            if args.json {
                println!("{json}");
            } else {
                print!("{}", human(&json));
            }
            if let Some(e) = api_error(&json) {
                eprintln!("opsdeck query: {e}");
            }
            Ok(code)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("opsdeck query: {msg}");
            Ok(exit::USAGE)
        }
        Err(Failure::Query(msg)) => {
            eprintln!("opsdeck query: {msg}");
            Ok(exit::DEGRADED)
        }
    }
}

enum Failure {
    Usage(String),
    Query(String),
}

async fn query(cfg: &Config, args: &QueryArgs) -> Result<(serde_json::Value, i32), Failure> {
    if args.scrape_for.is_some() {
        return Err(Failure::Usage(
            "--scrape-for (query the local store after scraping) is not built yet: configure [prometheus] and query the server"
                .into(),
        ));
    }
    let Some(src) = &cfg.prometheus else {
        return Err(Failure::Usage(
            "no [prometheus] server is configured: add [prometheus] url = \"http://…:9090\"".into(),
        ));
    };
    let client = Client::from_config(src).map_err(|e| Failure::Usage(e.to_string()))?;
    let at = args.time.as_deref().map(parse_time).transpose().map_err(Failure::Usage)?;
    let answer = match &args.range {
        None => client.query_json(&args.expr, at).await,
        Some(r) => {
            let range = crate::duration::parse(r).map_err(|e| Failure::Usage(format!("--range {r:?}: {e}")))?;
            let step = match &args.step {
                Some(s) => crate::duration::parse(s).map_err(|e| Failure::Usage(format!("--step {s:?}: {e}")))?,
                None => (range / DEFAULT_POINTS).max(Duration::from_secs(1)),
            };
            if step.is_zero() || range.is_zero() {
                return Err(Failure::Usage("--range and --step must be longer than zero".into()));
            }
            let end = at.unwrap_or_else(crate::clock::wall_ms);
            client.query_range_json(&args.expr, end - range.as_millis() as i64, end, step).await
        }
    };
    let json = answer.map_err(|e| Failure::Query(describe(&e)))?;
    let code = if api_error(&json).is_some() { exit::DEGRADED } else { exit::OK };
    Ok((json, code))
}

fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Timeout { url, timeout } => {
            format!("{url} timed out after {} ([prometheus] timeout)", crate::duration::format(*timeout))
        }
        e => sanitize::line(&e.to_string()).into_owned(),
    }
}

/// The server's error, in words: `bad_data: 1:6: parse error: unexpected <op:*>`.
fn api_error(json: &serde_json::Value) -> Option<String> {
    (json.get("status")?.as_str()? == "error").then(|| {
        let s = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or("");
        sanitize::line(&format!("{}: {}", s("errorType"), s("error"))).into_owned()
    })
}

/// `--time`: Unix seconds (fractions allowed) or RFC 3339, as Prometheus's API takes it.
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() {
            return Ok((secs * 1000.0).round() as i64);
        }
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("--time {s:?}: not Unix seconds nor RFC 3339 (2026-12-03T08:00:00Z)"))
}

/// One line per series: `{labels} value` (instant) or the series then its points (range).
fn human(json: &serde_json::Value) -> String {
    let Some(data) = json.get("data") else { return String::new() };
    let result = data.get("result");
    let mut out = String::new();
    let point = |p: &serde_json::Value| -> String {
        let t = p.get(0).and_then(|t| t.as_f64()).unwrap_or(0.0);
        let v = p.get(1).and_then(|v| v.as_str()).unwrap_or("");
        let when = chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        sanitize::line(&format!("{v} @ {when}")).into_owned()
    };
    let metric = |s: &serde_json::Value| -> String {
        let Some(m) = s.get("metric").and_then(|m| m.as_object()) else { return "{}".into() };
        let name = m.get("__name__").and_then(|v| v.as_str()).unwrap_or("");
        let labels: Vec<String> = m
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| format!("{k}={}", serde_json::to_string(v.as_str().unwrap_or("")).unwrap_or_default()))
            .collect();
        sanitize::line(&format!("{name}{{{}}}", labels.join(", "))).into_owned()
    };
    match data.get("resultType").and_then(|t| t.as_str()) {
        Some("vector") => {
            for s in result.and_then(|r| r.as_array()).into_iter().flatten() {
                out.push_str(&format!("{}  {}\n", metric(s), s.get("value").map(point).unwrap_or_default()));
            }
        }
        Some("matrix") => {
            for s in result.and_then(|r| r.as_array()).into_iter().flatten() {
                out.push_str(&format!("{}\n", metric(s)));
                for p in s.get("values").and_then(|v| v.as_array()).into_iter().flatten() {
                    out.push_str(&format!("  {}\n", point(p)));
                }
            }
        }
        Some("scalar") | Some("string") => {
            if let Some(p) = result {
                out.push_str(&format!("{}\n", point(p)));
            }
        }
        _ => {}
    }
    if let Some(w) = json.get("warnings").and_then(|w| w.as_array()) {
        for w in w {
            out.push_str(&format!("warning: {}\n", sanitize::line(w.as_str().unwrap_or(""))));
        }
    }
    if out.is_empty() && api_error(json).is_none() {
        out.push_str("(empty result)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_the_api_takes_them() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.25"), Ok(1_700_000_000_250));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn human_lines_are_sanitised() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"__name__":"up","job":"a\u001b[2Jb"},"value":[1700000000,"1"]}]},
                "warnings":["partial \u009b response"]}"#,
        )
        .unwrap();
        let out = human(&json);
        assert!(out.contains("up{job=\"a\\u001b[2Jb\"}"), "label values quoted as JSON strings: {out}");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("1 @ 2023-11-14T22:13:20.000Z") && out.contains("warning: partial"), "{out}");
        let err: serde_json::Value = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"1:6: parse error: unexpected <op:*>"}"#,
        )
        .unwrap();
        assert_eq!(api_error(&err).as_deref(), Some("bad_data: 1:6: parse error: unexpected <op:*>"));
    }
}
