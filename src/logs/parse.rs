//! Per-line parsing, decided per line: a JSON object (the reference format, or any object with the
//! level and message under common names), logfmt, or plain text. Nothing is dropped: invalid UTF-8
//! is decoded lossily, and a line cut at the length limit keeps what was read, with a marker.
//!
//! JSON objects are walked by a small scanner (`walk`) rather than handed whole to serde: it keeps
//! the fields in their original order, lets the filter find the level without parsing the rest of
//! the line, and can salvage the complete fields of a line that was cut.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::record::{Format, Level, LogRecord, Stream};
use crate::sanitize;

/// Key names, by priority, under which a JSON or logfmt line keeps its level.
const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "levelname", "loglevel", "log.level", "priority"];
// The other well-known names, by priority. `classify` holds all of them as one match (it runs for
// every field of every line); its test keeps the match and these tables in step.
#[cfg(test)]
const MESSAGE_KEYS: &[&str] = &["message", "msg", "@message", "event", "text"];
#[cfg(test)]
const TIME_KEYS: &[&str] = &["timestamp", "time", "ts", "@timestamp", "datetime", "asctime", "__realtime_timestamp"];
#[cfg(test)]
const LOGGER_KEYS: &[&str] = &["logger", "logger_name", "name", "syslog_identifier", "component"];
#[cfg(test)]
const REQUEST_KEYS: &[&str] = &["request_id", "requestid", "req_id", "x_request_id", "request.id"];
#[cfg(test)]
const TRACE_KEYS: &[&str] = &["trace_id", "traceid", "trace.id", "otel.trace_id", "dd.trace_id"];
const EXCEPTION_KEYS: &[&str] = &["exception", "exc_info", "stack_trace", "stacktrace", "stack", "error.stack"];

fn key_rank(key: &[u8], names: &[&str]) -> Option<usize> {
    names.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(key))
}

const K_LEVEL: usize = 0;
const K_MESSAGE: usize = 1;
const K_TIME: usize = 2;
const K_LOGGER: usize = 3;
const K_REQUEST: usize = 4;
const K_TRACE: usize = 5;
const K_EXCEPTION: usize = 6;
const KINDS: usize = 7;

/// Which well-known part a key names, and its rank among that part's names (the `*_KEYS` tables,
/// as one `match` on the lower-cased key: this runs for every field of every line).
fn classify(key: &[u8]) -> Option<(usize, usize)> {
    if !(2..=20).contains(&key.len()) {
        return None;
    }
    let mut buf = [0u8; 20];
    for (d, s) in buf.iter_mut().zip(key) {
        *d = s.to_ascii_lowercase();
    }
    Some(match &buf[..key.len()] {
        b"level" => (K_LEVEL, 0),
        b"severity" => (K_LEVEL, 1),
        b"lvl" => (K_LEVEL, 2),
        b"levelname" => (K_LEVEL, 3),
        b"loglevel" => (K_LEVEL, 4),
        b"log.level" => (K_LEVEL, 5),
        b"priority" => (K_LEVEL, 6),
        b"message" => (K_MESSAGE, 0),
        b"msg" => (K_MESSAGE, 1),
        b"@message" => (K_MESSAGE, 2),
        b"event" => (K_MESSAGE, 3),
        b"text" => (K_MESSAGE, 4),
        b"timestamp" => (K_TIME, 0),
        b"time" => (K_TIME, 1),
        b"ts" => (K_TIME, 2),
        b"@timestamp" => (K_TIME, 3),
        b"datetime" => (K_TIME, 4),
        b"asctime" => (K_TIME, 5),
        b"__realtime_timestamp" => (K_TIME, 6),
        b"logger" => (K_LOGGER, 0),
        b"logger_name" => (K_LOGGER, 1),
        b"name" => (K_LOGGER, 2),
        b"syslog_identifier" => (K_LOGGER, 3),
        b"component" => (K_LOGGER, 4),
        b"request_id" => (K_REQUEST, 0),
        b"requestid" => (K_REQUEST, 1),
        b"req_id" => (K_REQUEST, 2),
        b"x_request_id" => (K_REQUEST, 3),
        b"request.id" => (K_REQUEST, 4),
        b"trace_id" => (K_TRACE, 0),
        b"traceid" => (K_TRACE, 1),
        b"trace.id" => (K_TRACE, 2),
        b"otel.trace_id" => (K_TRACE, 3),
        b"dd.trace_id" => (K_TRACE, 4),
        b"exception" => (K_EXCEPTION, 0),
        b"exc_info" => (K_EXCEPTION, 1),
        b"stack_trace" => (K_EXCEPTION, 2),
        b"stacktrace" => (K_EXCEPTION, 3),
        b"stack" => (K_EXCEPTION, 4),
        b"error.stack" => (K_EXCEPTION, 5),
        _ => return None,
    })
}

/// Marker appended where a line was cut at `max_line_bytes`.
pub fn cut_marker(cut: usize) -> String {
    format!(" …[cut {cut} bytes]")
}

// ---------------------------------------------------------------------------------------------
// The JSON scanner
// ---------------------------------------------------------------------------------------------

/// One top-level `"key": value` pair; slices point into the line.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    /// Between the quotes, still escaped when `key_escaped`.
    pub key: &'a [u8],
    pub key_escaped: bool,
    /// The raw value (a string keeps its quotes).
    pub value: &'a [u8],
    pub value_escaped: bool,
}

impl Pair<'_> {
    fn is_string(&self) -> bool {
        self.value.first() == Some(&b'"')
    }
    /// A string value's contents when it needs no unescaping.
    fn plain_str(&self) -> Option<&[u8]> {
        (self.is_string() && !self.value_escaped).then(|| &self.value[1..self.value.len() - 1])
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Walk<'a> {
    /// The object closed and nothing but whitespace follows.
    Complete,
    /// The callback asked to stop.
    Stopped,
    /// The input ended early; when it ended inside a string value, its key and the partial contents.
    Cut(Option<(&'a [u8], &'a [u8])>),
    Invalid,
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// `b[i]` is an opening quote: the index after the closing quote and whether escapes occur.
fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        let k = memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        let p = j + k;
        if b[p] == b'"' {
            return Some((p + 1, escaped));
        }
        escaped = true;
        j = p + 2;
    }
}

enum Stop {
    Eof,
    Invalid,
}

fn value_end(b: &[u8], i: usize) -> Result<(usize, bool), Stop> {
    match b[i] {
        b'"' => string_end(b, i).ok_or(Stop::Eof),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j).ok_or(Stop::Eof)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok((j + 1, false));
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(Stop::Eof)
        }
        b',' | b'}' | b']' | b':' => Err(Stop::Invalid),
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                j += 1;
            }
            if j == b.len() {
                Err(Stop::Eof)
            } else {
                Ok((j, false))
            }
        }
    }
}

/// Walks the pairs of a top-level JSON object in order; `f` returns false to stop. Values are
/// delimited, not validated (callers that keep a value parse it with serde_json).
pub fn walk<'a>(b: &'a [u8], mut f: impl FnMut(Pair<'a>) -> bool) -> Walk<'a> {
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Walk::Invalid;
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return if ws(b, i + 1) == b.len() { Walk::Complete } else { Walk::Invalid };
    }
    loop {
        if i >= b.len() {
            return Walk::Cut(None);
        }
        if b[i] != b'"' {
            return Walk::Invalid;
        }
        let Some((kend, key_escaped)) = string_end(b, i) else { return Walk::Cut(None) };
        let key = &b[i + 1..kend - 1];
        i = ws(b, kend);
        match b.get(i) {
            None => return Walk::Cut(None),
            Some(b':') => {}
            Some(_) => return Walk::Invalid,
        }
        i = ws(b, i + 1);
        if i >= b.len() {
            return Walk::Cut(None);
        }
        let (vend, value_escaped) = match value_end(b, i) {
            Ok(v) => v,
            Err(Stop::Invalid) => return Walk::Invalid,
            Err(Stop::Eof) if b[i] == b'"' => return Walk::Cut(Some((key, &b[i + 1..]))),
            Err(Stop::Eof) => return Walk::Cut(None),
        };
        if !f(Pair { key, key_escaped, value: &b[i..vend], value_escaped }) {
            return Walk::Stopped;
        }
        i = ws(b, vend);
        match b.get(i) {
            None => return Walk::Cut(None),
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return if ws(b, i + 1) == b.len() { Walk::Complete } else { Walk::Invalid },
            Some(_) => return Walk::Invalid,
        }
    }
}

/// What the fast path learnt about a line's level without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A JSON object whose level field says this (Unknown: the field's value is no level name).
    Level(Level),
    /// A JSON object with no level field at all.
    NoLevel,
    /// Not a plain JSON object, or the level is escaped: only a full parse can tell.
    Unsure,
}

/// Finds the level field of a JSON line with the same key priority as `parse_line`, allocating
/// nothing on a valid line. Exact on the top-level field: a "level" inside a string or a nested
/// object is skipped; whatever the full parse would not read as this JSON object is `Unsure`.
pub fn probe_level(b: &[u8]) -> Probe {
    let first = b.iter().position(|c| !c.is_ascii_whitespace());
    let last = b.iter().rposition(|c| !c.is_ascii_whitespace());
    match (first, last) {
        (Some(f), Some(l)) if b[f] == b'{' && b[l] == b'}' => {}
        _ => return Probe::Unsure,
    }
    let mut best: Option<(usize, Probe)> = None;
    let mut unsure = false;
    // The whole object is walked, even past a level key: the full parse reads the line as JSON
    // only when all of it is (a bad bare value anywhere makes it plain text, its level guessed).
    let walked = walk(b, |p| {
        if p.key_escaped {
            // An escaped key may spell a level key: leave it to the full parse.
            unsure = true;
            return false;
        }
        // As `pair_to_field` reads a bare value (a scalar: no allocation).
        if !p.is_string() && !matches!(p.value[0], b'{' | b'[') && serde_json::from_slice::<Value>(p.value).is_err() {
            unsure = true;
            return false;
        }
        let Some(rank) = key_rank(p.key, LEVEL_KEYS) else { return true };
        if best.as_ref().is_some_and(|(r, _)| *r <= rank) {
            return true;
        }
        let probe = if p.is_string() {
            match p.plain_str() {
                // Printable ASCII is what the full parse reads unchanged (no sanitising, no
                // Unicode whitespace to trim); anything else is left to it.
                Some(s) if s.iter().all(|c| (0x20..0x7f).contains(c)) => {
                    Probe::Level(Level::from_bytes(trim_ascii(s)).unwrap_or(Level::Unknown))
                }
                _ => Probe::Unsure,
            }
        } else {
            Probe::Level(Level::from_bytes(p.value).unwrap_or(Level::Unknown))
        };
        best = Some((rank, probe));
        true
    });
    match walked {
        _ if unsure => Probe::Unsure,
        Walk::Complete => best.map_or(Probe::NoLevel, |(_, p)| p),
        Walk::Stopped | Walk::Cut(_) | Walk::Invalid => Probe::Unsure,
    }
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end]
}

// ---------------------------------------------------------------------------------------------
// Full parse
// ---------------------------------------------------------------------------------------------

/// Parses one line (without its newline). `cut` is how many bytes of the original line were not
/// kept. Never fails: what is not JSON or logfmt is plain text.
pub fn parse_line(raw: &[u8], cut: usize, env: Option<Arc<str>>) -> LogRecord {
    let mut line = sanitize::bytes(raw);
    if cut > 0 {
        line.push_str(&cut_marker(cut));
    }
    let mut rec = LogRecord {
        seq: 0,
        env,
        timestamp: None,
        ts_millis: None,
        level: Level::Unknown,
        logger: None,
        message: String::new(),
        request_id: None,
        trace_id: None,
        exception: None,
        fields: Vec::new(),
        format: Format::Plain,
        stream: Stream::Stdout,
        line,
        cut_bytes: cut,
    };
    if let Some(fields) = json_fields(raw, cut) {
        rec.format = Format::Json;
        rec.fields = fields;
    } else if let Some(fields) = logfmt_fields(raw) {
        rec.format = Format::Logfmt;
        rec.fields = fields;
    } else {
        rec.message = rec.line.clone();
        rec.level = guess_level(&rec.message);
        return rec;
    }
    fill_known(&mut rec);
    if rec.format == Format::Logfmt && cut > 0 && !rec.message.ends_with(']') {
        rec.message.push_str(&cut_marker(cut));
    }
    rec
}

fn json_fields(raw: &[u8], cut: usize) -> Option<Vec<(String, Value)>> {
    let first = raw.iter().position(|c| !c.is_ascii_whitespace())?;
    if raw[first] != b'{' {
        return None;
    }
    let mut fields = Vec::new();
    let mut ok = true;
    let walked = walk(raw, |p| match pair_to_field(&p) {
        Some(f) => {
            fields.push(f);
            true
        }
        None => {
            ok = false;
            false
        }
    });
    if !ok {
        return None;
    }
    match walked {
        Walk::Complete => Some(fields),
        // A line cut at the limit keeps its complete fields and the start of the one it was cut in.
        Walk::Cut(partial) if cut > 0 => {
            if let Some((key, part)) = partial {
                let key = unescape_lossy(key);
                let mut text = unescape_lossy(strip_partial_escape(part));
                text.push_str(&cut_marker(cut));
                let value = if is_exception_key(&key) { sanitize::multiline(&text) } else { sanitize::line(&text) };
                fields.push((sanitize::line(&key).into_owned(), Value::String(value.into_owned())));
            }
            Some(fields)
        }
        _ => None,
    }
}

fn is_exception_key(key: &str) -> bool {
    key_rank(key.as_bytes(), EXCEPTION_KEYS).is_some()
}

/// Drops a dangling `\` or `\uXX` at the end of a cut string so it unescapes.
fn strip_partial_escape(s: &[u8]) -> &[u8] {
    let tail_start = s.len().saturating_sub(6);
    if let Some(bs) = s[tail_start..].iter().rposition(|&c| c == b'\\') {
        let at = tail_start + bs;
        let rest = &s[at..];
        let complete = rest.len() >= 2 && (rest[1] != b'u' || rest.len() >= 6);
        // An escaped backslash (`\\`) is complete only when the `\` before it is not itself escaped;
        // cutting one byte too many is harmless here.
        if !complete {
            return &s[..at];
        }
    }
    s
}

/// A JSON string's contents unescaped; invalid escapes or UTF-8 are shown lossily, never lost.
fn unescape_lossy(s: &[u8]) -> String {
    if memchr::memchr(b'\\', s).is_none() {
        return sanitize::lossy(s).into_owned();
    }
    let text = sanitize::lossy(s);
    let quoted = format!("\"{text}\"");
    serde_json::from_str::<String>(&quoted).unwrap_or_else(|_| text.into_owned())
}

fn pair_to_field(p: &Pair<'_>) -> Option<(String, Value)> {
    let key = if p.key_escaped { unescape_lossy(p.key) } else { sanitize::lossy(p.key).into_owned() };
    let multiline = is_exception_key(&key);
    let value = if p.is_string() {
        let inner = &p.value[1..p.value.len() - 1];
        Value::String(if p.value_escaped { unescape_lossy(inner) } else { sanitize::lossy(inner).into_owned() })
    } else {
        match serde_json::from_slice::<Value>(p.value) {
            Ok(v) => v,
            // Nested values with invalid UTF-8 are kept as lossy text rather than lost.
            Err(_) if matches!(p.value[0], b'{' | b'[') => Value::String(sanitize::lossy(p.value).into_owned()),
            Err(_) => return None,
        }
    };
    let key = match sanitize::line(&key) {
        Cow::Borrowed(_) => key,
        Cow::Owned(s) => s,
    };
    Some((key, sanitize_value(value, multiline)))
}

fn sanitize_value(v: Value, multiline: bool) -> Value {
    match v {
        Value::String(s) => {
            let clean = if multiline { sanitize::multiline(&s) } else { sanitize::line(&s) };
            match clean {
                Cow::Borrowed(_) => Value::String(s),
                Cow::Owned(c) => Value::String(c),
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|v| sanitize_value(v, multiline)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter().map(|(k, v)| (sanitize::line(&k).into_owned(), sanitize_value(v, multiline))).collect(),
        ),
        other => other,
    }
}

fn byte_array(v: &Value) -> Option<Vec<u8>> {
    let a = v.as_array()?;
    a.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Takes the well-known parts out of `fields` (which keeps them too, for `--json` and details).
fn fill_known(rec: &mut LogRecord) {
    // One pass over the fields: each key is classified once, the best-ranked key of each kind wins.
    let mut best: [Option<(usize, usize)>; KINDS] = [None; KINDS];
    for (i, (k, _)) in rec.fields.iter().enumerate() {
        if let Some((kind, rank)) = classify(k.as_bytes()) {
            if best[kind].is_none_or(|(r, _)| rank < r) {
                best[kind] = Some((rank, i));
            }
        }
    }
    let fields = &rec.fields;
    let find = |kind: usize| best[kind].map(|(_, i)| &fields[i].1);
    let level = find(K_LEVEL).map(|v| match v {
        Value::String(s) => Level::parse(s).unwrap_or(Level::Unknown),
        Value::Number(n) => {
            n.as_u64().and_then(|n| u32::try_from(n).ok()).and_then(Level::from_number).unwrap_or(Level::Unknown)
        }
        _ => Level::Unknown,
    });
    let message = find(K_MESSAGE).map(|v| match byte_array(v) {
        // journald writes a MESSAGE that is not valid UTF-8 as an array of byte values.
        Some(bytes) => sanitize::bytes(&bytes),
        None => value_text(v),
    });
    let time = find(K_TIME).cloned();
    let logger = find(K_LOGGER).map(value_text);
    let request_id = find(K_REQUEST).map(value_text);
    let trace_id = find(K_TRACE).map(value_text);
    let exception = find(K_EXCEPTION).filter(|v| !v.is_null()).map(|v| match v {
        Value::String(s) => s.clone(),
        // Structured stacks (arrays of frames, objects) are pretty-printed, one part per line.
        other => sanitize::multiline(&serde_json::to_string_pretty(other).unwrap_or_default()).into_owned(),
    });
    rec.level = level.unwrap_or(Level::Unknown);
    rec.message = message.unwrap_or_else(|| rec.line.clone());
    if let Some(t) = time {
        rec.ts_millis = timestamp_millis(&t);
        rec.timestamp = Some(match (&t, rec.ts_millis) {
            (Value::String(s), _) if !s.bytes().all(|c| c.is_ascii_digit()) => s.clone(),
            (_, Some(ms)) => format_millis(ms),
            _ => value_text(&t),
        });
    }
    rec.logger = logger;
    rec.request_id = request_id.filter(|s| !s.is_empty());
    rec.trace_id = trace_id.filter(|s| !s.is_empty());
    rec.exception = exception.filter(|s| !s.is_empty());
}

fn format_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Milliseconds since the epoch from an RFC 3339 / ISO 8601 text (UTC when it has no zone) or an
/// epoch number in seconds, milliseconds or microseconds (journald).
pub fn timestamp_millis(v: &Value) -> Option<i64> {
    let from_number = |n: f64| -> Option<i64> {
        let ms = if n > 1e14 {
            n / 1000.0
        } else if n > 1e11 {
            n
        } else {
            n * 1000.0
        };
        ms.is_finite().then_some(ms as i64)
    };
    match v {
        Value::Number(n) => from_number(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
                return from_number(s.parse().ok()?);
            }
            if let Some(ms) = iso_millis(s) {
                return Some(ms);
            }
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                return Some(t.timestamp_millis());
            }
            for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S,%3f"] {
                if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
                    return Some(t.and_utc().timestamp_millis());
                }
            }
            None
        }
        _ => None,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff|,fff][Z|±HH:MM|±HHMM]` read by hand: chrono's format parser was
/// a tenth of the parse time, and this shape is nearly every timestamp. No zone means UTC.
fn iso_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let mut i = 19;
    let mut millis = 0u32;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let time = chrono::NaiveTime::from_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, millis)?;
    let offset_s: i64 = match &b[i..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits: Vec<u8> = rest.iter().copied().filter(|&c| c != b':').collect();
            if !(digits.len() == 2 || digits.len() == 4) || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let h = i64::from((digits[0] - b'0') * 10 + (digits[1] - b'0'));
            let m = if digits.len() == 4 { i64::from((digits[2] - b'0') * 10 + (digits[3] - b'0')) } else { 0 };
            let v = h * 3600 + m * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    Some(date.and_time(time).and_utc().timestamp_millis() - offset_s * 1000)
}

/// `key=value key2="quoted value"` with at least two pairs, the first token a pair.
fn logfmt_fields(raw: &[u8]) -> Option<Vec<(String, Value)>> {
    let text = sanitize::lossy(raw);
    let s = text.trim();
    let b = s.as_bytes();
    let mut fields: Vec<(String, Value)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let kstart = i;
        while i < b.len() && b[i] != b'=' && b[i] != b' ' {
            i += 1;
        }
        let key = &s[kstart..i];
        let key_ok = !key.is_empty()
            && key.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'@' | b'/'));
        if !key_ok {
            return None;
        }
        if i >= b.len() || b[i] == b' ' {
            // A bare key (`key` without `=`) is allowed after the first pair.
            if fields.is_empty() {
                return None;
            }
            fields.push((key.to_string(), Value::Bool(true)));
            continue;
        }
        i += 1; // '='
        let value = if b.get(i) == Some(&b'"') {
            let mut v = String::new();
            i += 1;
            let mut chars = s[i..].char_indices();
            let mut end = b.len();
            while let Some((off, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + off + 1;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => v.push('\n'),
                        Some((_, 't')) => v.push('\t'),
                        Some((_, c @ ('"' | '\\'))) => v.push(c),
                        // Unknown escapes stay as written.
                        Some((_, c)) => {
                            v.push('\\');
                            v.push(c);
                        }
                        None => v.push('\\'),
                    },
                    c => v.push(c),
                }
            }
            i = end;
            v
        } else {
            let vstart = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            s[vstart..i].to_string()
        };
        let multiline = is_exception_key(key);
        let clean = if multiline { sanitize::multiline(&value) } else { sanitize::line(&value) };
        fields.push((sanitize::line(key).into_owned(), Value::String(clean.into_owned())));
    }
    (fields.iter().filter(|(_, v)| v.is_string()).count() >= 2).then_some(fields)
}

/// A plain line's level from a level word near its start: upper-case (`ERROR`, `WARN`), bracketed
/// (`[error]`) or capitalised (`Error:`). Ordinary lower-case prose ("no error") is not a level.
pub fn guess_level(text: &str) -> Level {
    let head = &text[..floor_char_boundary(text, 256)];
    let b = head.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let word = &head[start..i];
        if word.len() < 3 || word.len() > 8 {
            continue;
        }
        let upper = word.bytes().all(|c| c.is_ascii_uppercase());
        let capital = word.as_bytes()[0].is_ascii_uppercase() && word[1..].bytes().all(|c| c.is_ascii_lowercase());
        let bracketed = start > 0 && matches!(b[start - 1], b'[' | b'<') && matches!(b.get(i), Some(b']' | b'>'));
        if !(upper || bracketed || (capital && b.get(i) == Some(&b':'))) {
            continue;
        }
        // Single letters and short aliases are too ambiguous in prose; only full names count here.
        match Level::parse(word) {
            Some(l) if word.len() >= 3 && !matches!(word.to_ascii_lowercase().as_str(), "alert" | "notice") => {
                return l
            }
            _ => {}
        }
    }
    Level::Unknown
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LogRecord {
        parse_line(s.as_bytes(), 0, None)
    }

    #[test]
    fn timestamps() {
        let ms = |s: &str| timestamp_millis(&Value::String(s.into()));
        let base = 1_795_428_000_000; // 2026-11-23T10:00:00Z
        assert_eq!(ms("2026-11-23T10:00:00"), Some(base));
        assert_eq!(ms("2026-11-23T10:00:00.5Z"), Some(base + 500));
        assert_eq!(ms("2026-11-23 10:00:00,123"), Some(base + 123));
        assert_eq!(ms("2026-11-23T10:00:00.123456+01:00"), Some(base + 123 - 3_600_000));
        assert_eq!(ms("2026-11-23T10:00:00-0130"), Some(base + 5_400_000));
        assert_eq!(ms("2026-13-23T10:00:00"), None);
        assert_eq!(ms("yesterday"), None);
        assert_eq!(ms("1795428000"), Some(base));
    }

    #[test]
    fn classify_agrees_with_the_tables() {
        let tables = [LEVEL_KEYS, MESSAGE_KEYS, TIME_KEYS, LOGGER_KEYS, REQUEST_KEYS, TRACE_KEYS, EXCEPTION_KEYS];
        for (kind, names) in tables.iter().enumerate() {
            for (rank, n) in names.iter().enumerate() {
                assert_eq!(classify(n.as_bytes()), Some((kind, rank)), "{n}");
                assert_eq!(classify(n.to_uppercase().as_bytes()), Some((kind, rank)), "{n}");
            }
        }
        assert_eq!(classify(b"module"), None);
    }

    #[test]
    fn reference_format() {
        let r = p(
            r#"{"timestamp": "2026-11-23T10:00:00.123", "level": "ERROR", "logger": "revolvr.api", "message": "boom", "module": "m", "function": "f", "line": 3, "user_id": "u1", "request_id": "r1", "duration": 0.5, "exception": "Traceback\nValueError: x"}"#,
        );
        assert_eq!(r.format, Format::Json);
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.message, "boom");
        assert_eq!(r.logger.as_deref(), Some("revolvr.api"));
        assert_eq!(r.request_id.as_deref(), Some("r1"));
        assert_eq!(r.exception.as_deref(), Some("Traceback\nValueError: x"));
        assert_eq!(r.ts_millis, Some(1_795_428_000_123));
        let keys: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys[..4], ["timestamp", "level", "logger", "message"]);
        let mut out = Vec::new();
        r.write_json(&mut out);
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with(r#"{"timestamp":"2026-11-23T10:00:00.123","level":"ERROR""#));
    }

    #[test]
    fn other_json_shapes() {
        let r = p(r#"{"severity":"warn","msg":"slow","trace_id":"abc"}"#);
        assert_eq!((r.level, r.message.as_str(), r.trace_id.as_deref()), (Level::Warning, "slow", Some("abc")));
        let r = p(r#"{"level":50,"time":1700000000000,"msg":"pino"}"#);
        assert_eq!((r.level, r.ts_millis), (Level::Error, Some(1_700_000_000_000)));
        let r = p(r#"{"PRIORITY":"3","MESSAGE":"journald","__REALTIME_TIMESTAMP":"1700000000000000"}"#);
        assert_eq!((r.level, r.message.as_str(), r.ts_millis), (Level::Error, "journald", Some(1_700_000_000_000)));
        let r = p(r#"{"PRIORITY":"6","MESSAGE":[104,105,255,27]}"#);
        assert_eq!(r.message, "hi\u{fffd}\\x1b");
        // level has priority over severity whatever the order
        let r = p(r#"{"severity":"debug","level":"error","msg":"x"}"#);
        assert_eq!(r.level, Level::Error);
    }

    #[test]
    fn logfmt_and_plain() {
        let r = p(r#"ts=2026-11-23T10:00:00Z level=warn msg="disk almost full" request_id=r9"#);
        assert_eq!(r.format, Format::Logfmt);
        assert_eq!(
            (r.level, r.message.as_str(), r.request_id.as_deref()),
            (Level::Warning, "disk almost full", Some("r9"))
        );
        let r = p("2026-11-23 10:00:00 ERROR something failed");
        assert_eq!((r.format, r.level), (Format::Plain, Level::Error));
        assert_eq!(p("there was no error here").level, Level::Unknown);
        assert_eq!(p("[warn] careful").level, Level::Warning);
        assert_eq!(p("Error: refused").level, Level::Error);
        assert_eq!(p("a=b but not logfmt").format, Format::Plain);
    }

    #[test]
    fn broken_json_is_plain_text_not_dropped() {
        let r = p(r#"{"level":"ERROR","message":"x"#);
        assert_eq!(r.format, Format::Plain);
        assert_eq!(r.level, Level::Error);
        let r = p(r#"{"level":"INFO"} trailing"#);
        assert_eq!(r.format, Format::Plain);
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let r = parse_line(b"plain \xff\xfe text", 0, None);
        assert_eq!(r.message, "plain \u{fffd}\u{fffd} text");
        let r = parse_line(b"{\"level\":\"info\",\"message\":\"bad \xff\"}", 0, None);
        assert_eq!((r.format, r.message.as_str()), (Format::Json, "bad \u{fffd}"));
    }

    #[test]
    fn escapes_are_sanitised_in_json_values_and_keys() {
        let r = p(r#"{"level":"error","message":"a\u001b[2Jb\u0007 \u202e","k\u001bey":"v\r"}"#);
        assert_eq!(r.message, "a\\x1b[2Jb\\x07 \\u{202e}");
        assert_eq!(r.fields[2].0, "k\\x1bey");
        assert_eq!(r.fields[2].1, Value::String("v\\r".into()));
        assert!(!r.line.contains('\x1b'));
    }

    #[test]
    fn cut_json_line_salvages_fields() {
        let full = format!(r#"{{"level":"ERROR","request_id":"r3","message":"{}"}}"#, "x".repeat(1000));
        let kept = &full.as_bytes()[..100];
        let r = parse_line(kept, full.len() - 100, None);
        assert_eq!(r.format, Format::Json);
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.request_id.as_deref(), Some("r3"));
        assert!(r.message.starts_with("xxx") && r.message.ends_with(&cut_marker(full.len() - 100)), "{}", r.message);
    }

    #[test]
    fn probe_matches_full_parse() {
        let lines = [
            r#"{"timestamp":"t","level":"ERROR","message":"m"}"#,
            r#"{"message":"level \"ERROR\"","level":"INFO"}"#,
            r#"{"ctx":{"level":"ERROR"},"level":"INFO"}"#,
            r#"{"ctx":{"level":"ERROR"},"msg":"no level"}"#,
            r#"{"severity":"error","lvl":"debug"}"#,
            r#"{"level":"ERR\u004fR"}"#,
            r#"{"level":" warn "}"#,
            r#"{"level":40}"#,
            r#"{"level":"loud"}"#,
            r#"  {"level":"error"}  "#,
        ];
        for l in lines {
            let full = p(l).level;
            match probe_level(l.as_bytes()) {
                Probe::Level(x) => assert_eq!(x, full, "{l}"),
                Probe::NoLevel => assert_eq!(full, Level::Unknown, "{l}"),
                Probe::Unsure => assert!(l.contains('\\'), "{l} should be decided by the probe"),
            }
        }
        assert_eq!(probe_level(br#"{"ctx":{"level":"ERROR"},"level":"INFO"}"#), Probe::Level(Level::Info));
        assert_eq!(probe_level(b"plain ERROR"), Probe::Unsure);
    }

    /// Found by `fuzz/` (target `log_line`): the probe decided lines the full parse does not
    /// read as JSON (a bad bare value, before or after the level key), a level with Unicode
    /// whitespace the full parse trims, and a numeric level past u32 that the full parse
    /// truncated; `--level` then dropped lines it should have shown.
    #[test]
    fn probe_never_decides_what_the_full_parse_reads_otherwise() {
        for l in [
            "{\"\":ERR}",
            "{\"level\":\"debug\",\"n\":ERR}",
            "{\"level\":\"x\",\"level\":\"ERROR\",\"v\":01}",
            "{\"level\":\"\u{a0}error\"}",
            "{\"level\":\"\twarn\"}",
            "{\"level\":4294967299}",
        ] {
            let full = p(l).level;
            match probe_level(l.as_bytes()) {
                Probe::Level(x) => assert_eq!(x, full, "{l:?}"),
                Probe::NoLevel => assert_eq!(full, Level::Unknown, "{l:?}"),
                Probe::Unsure => {}
            }
        }
        assert_eq!(p("{\"level\":4294967299}").level, Level::Unknown, "not level 3 (Error) by truncation");
    }
}
