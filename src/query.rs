//! `opsdeck query`: the expression browser's quick question from a shell, against the
//! `[prometheus]` server, or with `--scrape-for DUR` against opsdeck's own store after scraping
//! the configured targets that long (the same JSON shape either way). `--json` prints the server's `/api/v1/query(_range)` answer unchanged, so
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
                println!("{}", sanitize::json(&json, false));
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
    if let Some(d) = &args.scrape_for {
        let d = crate::duration::parse(d).map_err(|e| Failure::Usage(format!("--scrape-for {d:?}: {e}")))?;
        return local(cfg, args, d).await;
    }
    let Some(src) = &cfg.prometheus else {
        return Err(Failure::Usage(
            "no [prometheus] server is configured: add [prometheus] url = \"http://…:9090\"".into(),
        ));
    };
    let client = Client::from_config(src).map_err(|e| Failure::Usage(e.to_string()))?;
    let at = args.time.as_deref().map(parse_time).transpose().map_err(Failure::Usage)?;
    let answer = match range_step(args)? {
        None => client.query_json(&args.expr, at).await,
        Some((range, step)) => {
            let end = at.unwrap_or_else(crate::clock::wall_ms);
            client.query_range_json(&args.expr, end - range.as_millis() as i64, end, step).await
        }
    };
    let json = answer.map_err(|e| Failure::Query(describe(&e)))?;
    let code = if api_error(&json).is_some() { exit::DEGRADED } else { exit::OK };
    Ok((json, code))
}

/// `--range`/`--step` as durations (the step defaults to the range / 250, at least 1 s).
fn range_step(args: &QueryArgs) -> Result<Option<(Duration, Duration)>, Failure> {
    let Some(r) = &args.range else { return Ok(None) };
    let range = crate::duration::parse(r).map_err(|e| Failure::Usage(format!("--range {r:?}: {e}")))?;
    let step = match &args.step {
        Some(s) => crate::duration::parse(s).map_err(|e| Failure::Usage(format!("--step {s:?}: {e}")))?,
        None => (range / DEFAULT_POINTS).max(Duration::from_secs(1)),
    };
    if step.is_zero() || range.is_zero() {
        return Err(Failure::Usage("--range and --step must be longer than zero".into()));
    }
    Ok(Some((range, step)))
}

/// Scrape every configured target for `d` (each at its own interval), then evaluate on the store.
async fn local(cfg: &Config, args: &QueryArgs, d: Duration) -> Result<(serde_json::Value, i32), Failure> {
    use crate::scrape::target::{Target, TargetState};
    let expr = match crate::promql::parse(&args.expr) {
        Ok(e) => e,
        Err(e) => {
            // Prometheus's shape and position (`1:5: parse error: …`), so scripts read both alike.
            let (line, col) = line_col(&args.expr, e.offset);
            let msg = format!("{line}:{col}: parse error: {}", e.message);
            return Ok((serde_json::json!({"status": "error", "errorType": "bad_data", "error": msg}), exit::DEGRADED));
        }
    };
    let rs = range_step(args)?;
    let targets: Vec<(Target, Duration)> = cfg
        .environments
        .iter()
        .flat_map(|e| {
            e.scrape
                .iter()
                .flat_map(move |sc| Target::from_config(&e.name, sc).into_iter().map(move |t| (t, sc.interval)))
        })
        .collect();
    if targets.is_empty() {
        return Err(Failure::Usage(format!("{} lists no scrape targets to scrape", cfg.path.display())));
    }
    let client = crate::net::client();
    let mut states: Vec<TargetState> = targets.iter().map(|(t, _)| TargetState::new(t.clone())).collect();
    let mut storage = crate::tsdb::Storage::new(crate::tsdb::StorageOptions {
        retention_ms: (d.as_millis() as i64 + 3_600_000).max(3_600_000),
        max_series: cfg.general.max_series,
    });
    let start = tokio::time::Instant::now();
    let mut due: Vec<tokio::time::Instant> = vec![start; targets.len()];
    // Every target at once each time one is due; the store takes samples in time order.
    loop {
        let now = tokio::time::Instant::now();
        let ready: Vec<usize> = (0..targets.len()).filter(|&i| due[i] <= now).collect();
        let outcomes =
            futures::future::join_all(ready.iter().map(|&i| crate::scrape::target::scrape(&client, &targets[i].0)))
                .await;
        let t = crate::clock::wall_ms();
        for (&i, o) in ready.iter().zip(&outcomes) {
            states[i].ingest(&mut storage, o, t);
            due[i] += targets[i].1.max(Duration::from_millis(100));
        }
        let next = due.iter().min().copied().unwrap_or(now);
        if next > start + d {
            break;
        }
        tokio::time::sleep_until(next).await;
    }
    let at = args.time.as_deref().map(parse_time).transpose().map_err(Failure::Usage)?;
    let end = at.unwrap_or_else(crate::clock::wall_ms);
    let engine = crate::promql::Engine::default();
    let answer = match rs {
        None => engine.instant(&storage, &expr, end).map(|v| to_json(&v, end)),
        Some((range, step)) => {
            let (st, step) = (end - range.as_millis() as i64, step.as_millis() as i64);
            engine.range(&storage, &expr, st, end, step).map(|m| to_json(&crate::promql::Value::Matrix(m), end))
        }
    };
    match answer {
        Ok(data) => Ok((serde_json::json!({"status": "success", "data": data}), exit::OK)),
        Err(e) => Ok((
            serde_json::json!({"status": "error", "errorType": "execution", "error": e.to_string()}),
            exit::DEGRADED,
        )),
    }
}

fn line_col(s: &str, offset: usize) -> (usize, usize) {
    let before = &s[..offset.min(s.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A value as Prometheus's API writes it: seconds as numbers, sample values as strings in Go's
/// shortest `'f'` form (`NaN`, `+Inf`, `-Inf`).
fn to_json(v: &crate::promql::Value, t_ms: i64) -> serde_json::Value {
    use crate::promql::Value;
    let num = |f: f64| -> String {
        if f.is_nan() {
            "NaN".into()
        } else if f.is_infinite() {
            if f > 0.0 { "+Inf" } else { "-Inf" }.into()
        } else {
            format!("{f}")
        }
    };
    let secs = |t: i64| serde_json::json!(t as f64 / 1000.0);
    let metric = |l: &crate::tsdb::Labels| -> serde_json::Value {
        serde_json::Value::Object(l.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect())
    };
    match v {
        Value::Scalar(f) => serde_json::json!({"resultType": "scalar", "result": [secs(t_ms), num(*f)]}),
        Value::String(s) => serde_json::json!({"resultType": "string", "result": [secs(t_ms), s]}),
        Value::Vector(vs) => serde_json::json!({"resultType": "vector", "result": vs.iter().map(|s| serde_json::json!({
            "metric": metric(&s.labels), "value": [secs(t_ms), num(s.v)]})).collect::<Vec<_>>()}),
        Value::Matrix(m) => serde_json::json!({"resultType": "matrix", "result": m.iter().map(|s| serde_json::json!({
            "metric": metric(&s.labels),
            "values": s.samples.iter().map(|p| serde_json::json!([secs(p.t), num(p.v)])).collect::<Vec<_>>()
        })).collect::<Vec<_>>()}),
    }
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
