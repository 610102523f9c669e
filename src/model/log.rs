//! One parsed log line and its severity, and the batches log sources send. Every string in a `LogRecord` has been through
//! `crate::sanitize`, so the view and headless output can print it as is.

use std::sync::Arc;

/// Severity, ordered so `>=` means "at least as severe". `Unknown` sorts lowest: a line whose level
/// cannot be told passes only when no level filter is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    #[default]
    Unknown,
    Trace,
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "-",
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// A level name as users and logging libraries write it, case-insensitive, with common aliases
    /// (`warn`, `err`, `fatal`, `crit`, `notice`...). Numbers are read as syslog priorities (0-7)
    /// or pino/bunyan levels (10-60).
    pub fn parse(s: &str) -> Option<Level> {
        Level::from_bytes(s.trim().as_bytes())
    }

    /// As `parse`, on bytes and without allocating (the filter's fast path uses it).
    pub fn from_bytes(b: &[u8]) -> Option<Level> {
        if b.is_empty() || b.len() > 13 {
            return None;
        }
        if b.iter().all(u8::is_ascii_digit) {
            let n: u32 = std::str::from_utf8(b).ok()?.parse().ok()?;
            return Level::from_number(n);
        }
        let mut buf = [0u8; 13];
        for (d, s) in buf.iter_mut().zip(b) {
            *d = s.to_ascii_lowercase();
        }
        Some(match &buf[..b.len()] {
            b"trace" | b"trc" | b"finest" | b"finer" => Level::Trace,
            b"debug" | b"dbg" | b"fine" | b"verbose" | b"d" => Level::Debug,
            b"info" | b"inf" | b"information" | b"informational" | b"notice" | b"i" => Level::Info,
            b"warning" | b"warn" | b"wrn" | b"w" => Level::Warning,
            b"error" | b"err" | b"eror" | b"e" => Level::Error,
            b"critical" | b"crit" | b"fatal" | b"panic" | b"emerg" | b"emergency" | b"alert" | b"severe" => {
                Level::Critical
            }
            _ => return None,
        })
    }

    /// syslog priority (journald's PRIORITY) for 0-7, pino/bunyan levels for 10-60.
    pub fn from_number(n: u32) -> Option<Level> {
        Some(match n {
            0..=2 => Level::Critical,
            3 => Level::Error,
            4 => Level::Warning,
            5 | 6 => Level::Info,
            7 => Level::Debug,
            10..=19 => Level::Trace,
            20..=29 => Level::Debug,
            30..=39 => Level::Info,
            40..=49 => Level::Warning,
            50..=59 => Level::Error,
            60..=69 => Level::Critical,
            _ => return None,
        })
    }

    pub fn is_error(self) -> bool {
        self >= Level::Error
    }
}

/// How a line was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Logfmt,
    Plain,
}

/// Where a command source's line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
}

/// A field value kept in the record: JSON input keeps its types (sanitised), logfmt gives strings.
pub type FieldValue = serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Position in its buffer, assigned by `LogBuffer::push` (0 until then); stable while the ring rolls.
    pub seq: u64,
    /// The environment the line came from (None for `--file`).
    pub env: Option<Arc<str>>,
    /// As written in the line.
    pub timestamp: Option<String>,
    /// The timestamp as milliseconds since the epoch, when it could be read (UTC assumed without a zone).
    pub ts_millis: Option<i64>,
    pub level: Level,
    pub logger: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    /// Multi-line (newlines kept, everything else escaped).
    pub exception: Option<String>,
    /// Every field of a JSON or logfmt line in its original order, keys and strings sanitised.
    pub fields: Vec<(String, FieldValue)>,
    pub format: Format,
    pub stream: Stream,
    /// The line as read (lossily decoded, sanitised, cut at the limit with a marker).
    pub line: String,
    /// Bytes of the original line not kept (0 when whole).
    pub cut_bytes: usize,
}

impl LogRecord {
    /// Approximate heap bytes, for the buffer's byte bound.
    pub fn size(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let fields: usize = self.fields.iter().map(|(k, v)| k.len() + value_size(v) + 32).sum();
        std::mem::size_of::<LogRecord>()
            + self.line.len()
            + self.message.len()
            + opt(&self.timestamp)
            + opt(&self.logger)
            + opt(&self.request_id)
            + opt(&self.trace_id)
            + opt(&self.exception)
            + fields
    }

    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The record as one JSON object, fields in their original order: for JSON and logfmt input
    /// the line's own fields (sanitised), plus `env` when the record came from an environment and
    /// the line has no `env` of its own; for plain text the parsed parts.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        let mut put = |k: &str, v: &serde_json::Value| {
            if !first {
                out.push(b',');
            }
            first = false;
            // Serialising a str or Value to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut *out, v);
        };
        if self.format == Format::Plain {
            self.parsed_parts(&mut |k, v| put(k, &v));
        } else {
            for (k, v) in &self.fields {
                put(k, v);
            }
            if let Some(env) = self.env.as_deref().filter(|_| self.field("env").is_none()) {
                put("env", &serde_json::Value::String(env.to_string()));
            }
        }
        out.push(b'}');
    }

    /// `write_json` as a value (key order then follows serde_json's map).
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = Vec::new();
        self.write_json(&mut out);
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
    }

    /// A plain line's parts (it has no fields of its own).
    fn parsed_parts(&self, put: &mut dyn FnMut(&str, serde_json::Value)) {
        use serde_json::Value as V;
        let s = |x: &Option<String>| x.clone().map(V::String);
        if let Some(t) = s(&self.timestamp) {
            put("timestamp", t);
        }
        if self.level != Level::Unknown {
            put("level", V::String(self.level.as_str().into()));
        }
        if let Some(env) = &self.env {
            put("env", V::String(env.to_string()));
        }
        if let Some(l) = s(&self.logger) {
            put("logger", l);
        }
        put("message", V::String(self.message.clone()));
        if self.stream == Stream::Stderr {
            put("stream", V::String("stderr".into()));
        }
        if self.cut_bytes > 0 {
            put("cut_bytes", V::from(self.cut_bytes));
        }
    }
}

fn value_size(v: &FieldValue) -> usize {
    match v {
        serde_json::Value::String(s) => s.len(),
        serde_json::Value::Array(a) => a.iter().map(value_size).sum::<usize>() + 16,
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| k.len() + value_size(v) + 32).sum(),
        _ => 8,
    }
}

/// What a source sends: records in arrival order, and now and then a notice about the source.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub env: Arc<str>,
    pub records: Vec<LogRecord>,
    /// "waiting for /var/log/app.log", "app.log was rotated", "command exited (exit status: 1)..."
    pub notice: Option<String>,
    /// The notice is a failure to read the source (connection refused, cannot run the command).
    pub failed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_aliases() {
        assert_eq!(Level::parse("WARN"), Some(Level::Warning));
        assert_eq!(Level::parse("warning"), Some(Level::Warning));
        assert_eq!(Level::parse("Err"), Some(Level::Error));
        assert_eq!(Level::parse("FATAL"), Some(Level::Critical));
        assert_eq!(Level::parse("3"), Some(Level::Error));
        assert_eq!(Level::parse("50"), Some(Level::Error));
        assert_eq!(Level::parse("loud"), None);
        assert_eq!(Level::parse(""), None);
        assert!(Level::Critical > Level::Error && Level::Error > Level::Warning && Level::Info > Level::Unknown);
    }
}
