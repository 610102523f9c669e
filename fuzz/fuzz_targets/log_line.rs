//! The log-line parsers: the full parse (JSON, logfmt, plain), the allocation-free JSON scanner
//! and level probe, and the filter's raw-bytes prefilter. Oracles: every string a record holds
//! is already sanitised (README: "every string leaves `parse` already sanitised"), and the
//! prefilter never rejects a line that the full filter would show ("false only when the raw
//! line certainly fails").
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::logs::parse::{self, Probe};
use opsdeck::logs::{Filter, Format, Level, LogRecord};
use opsdeck::sanitize;
use std::borrow::Cow;
use std::sync::Arc;

const LEVELS: &[Level] = &[Level::Trace, Level::Debug, Level::Info, Level::Warning, Level::Error, Level::Critical];

fn clean_line(what: &str, s: &str) {
    assert!(matches!(sanitize::line(s), Cow::Borrowed(_)), "{what} is not sanitised: {s:?}");
}

fn clean_value(v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            assert!(matches!(sanitize::multiline(s), Cow::Borrowed(_)), "a field value is not sanitised: {s:?}")
        }
        serde_json::Value::Array(a) => a.iter().for_each(clean_value),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| {
            clean_line("a nested key", k);
            clean_value(v);
        }),
        _ => {}
    }
}

fn check_sanitised(r: &LogRecord) {
    clean_line("line", &r.line);
    clean_line("message", &r.message);
    for (what, s) in [("timestamp", &r.timestamp), ("logger", &r.logger), ("request_id", &r.request_id)] {
        if let Some(s) = s {
            clean_line(what, s);
        }
    }
    if let Some(s) = &r.trace_id {
        clean_line("trace_id", s);
    }
    if let Some(e) = &r.exception {
        assert!(matches!(sanitize::multiline(e), Cow::Borrowed(_)), "exception is not sanitised: {e:?}");
    }
    for (k, v) in &r.fields {
        clean_line("a field key", k);
        clean_value(v);
    }
}

fuzz_target!(|data: &[u8]| {
    let r = parse::parse_line(data, 0, None);
    check_sanitised(&r);
    let _ = parse::walk(data, |_| true);
    let probe = parse::probe_level(data);
    if r.format == Format::Json {
        match probe {
            Probe::Level(l) => assert_eq!(l, r.level, "the probe and the full parse disagree on the level"),
            Probe::NoLevel => assert_eq!(r.level, Level::Unknown, "the probe found no level, the parse did"),
            Probe::Unsure => {}
        }
    }
    for &min in LEVELS {
        let f = Filter { min_level: Some(min), ..Filter::default() };
        if f.matches(&r) {
            assert!(f.prefilter(data), "the prefilter drops a line the filter shows (level {min:?})");
        }
    }
    // Every id as shown, rewritten or not (escapes, U+FFFD, a JSON number reformatted).
    if let Some(id) = &r.request_id {
        let f = Filter { request_id: Some(id.clone()), ..Filter::default() };
        assert!(f.prefilter(data), "the prefilter drops a line with request id {id:?}");
    }
    // As a source hands over a line cut at `max_line_bytes`.
    let cut = parse::parse_line(data, 1 + data.len() % 4096, Some(Arc::from("fuzz")));
    check_sanitised(&cut);
});
