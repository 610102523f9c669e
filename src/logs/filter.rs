//! Which records to show: minimum level, a regex, one request id. `prefilter` rejects most lines
//! on their raw bytes before any parse or allocation (the headless fast path); `matches` decides.

use std::ops::Range;

use regex::Regex;

use super::parse::{probe_level, Probe};
use super::record::{Level, LogRecord};

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("unknown level {0:?}: use debug, info, warning, error or critical (aliases: warn, err, fatal, crit)")]
    Level(String),
    #[error("invalid regular expression {pattern:?}: {source}")]
    Regex { pattern: String, source: regex::Error },
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Show records at this level and above; records of unknown level are then hidden.
    pub min_level: Option<Level>,
    pub grep: Option<Regex>,
    pub request_id: Option<String>,
}

/// Whether a shown request id may differ from the bytes of the line it came from: the parse
/// escapes control characters (`\x00`), replaces bad UTF-8 with U+FFFD, and prints a non-string
/// JSON value (`1e2` as `100.0`, `{ "a": 1 }` as `{"a":1}`) in serde_json's own form.
fn may_be_rewritten(id: &str) -> bool {
    id.contains(['\\', '\u{fffd}'])
        || id.starts_with(['{', '['])
        || matches!(id, "true" | "false" | "null")
        || (id.starts_with(|c: char| c == '-' || c.is_ascii_digit()) && id.parse::<f64>().is_ok())
}

impl Filter {
    /// From the CLI's words: `--level`, `--grep`, `--request-id`.
    pub fn from_args(level: Option<&str>, grep: Option<&str>, request_id: Option<&str>) -> Result<Filter, FilterError> {
        let min_level = match level {
            None => None,
            Some(l) => Some(Level::parse(l).ok_or_else(|| FilterError::Level(l.to_string()))?),
        };
        let grep = grep.map(compile).transpose()?;
        Ok(Filter { min_level, grep, request_id: request_id.map(str::to_string) })
    }

    pub fn is_empty(&self) -> bool {
        self.min_level.is_none() && self.grep.is_none() && self.request_id.is_none()
    }

    /// False only when the raw line certainly fails (exact on the JSON level field; conservative
    /// otherwise). Allocates nothing.
    pub fn prefilter(&self, raw: &[u8]) -> bool {
        if let Some(min) = self.min_level {
            match probe_level(raw) {
                Probe::Level(l) if l < min => return false,
                Probe::NoLevel => return false,
                _ => {}
            }
        }
        if let Some(id) = &self.request_id {
            // The id appears verbatim unless the line escapes it, or the parse rewrote it.
            if memchr::memmem::find(raw, id.as_bytes()).is_none()
                && memchr::memchr(b'\\', raw).is_none()
                && !may_be_rewritten(id)
            {
                return false;
            }
        }
        true
    }

    pub fn matches(&self, r: &LogRecord) -> bool {
        if self.min_level.is_some_and(|min| r.level < min || r.level == super::Level::Unknown) {
            return false;
        }
        if let Some(id) = &self.request_id {
            if r.request_id.as_deref() != Some(id.as_str()) {
                return false;
            }
        }
        match &self.grep {
            Some(re) => text_matches(re, r),
            None => true,
        }
    }
}

pub fn compile(pattern: &str) -> Result<Regex, FilterError> {
    Regex::new(pattern).map_err(|source| FilterError::Regex { pattern: pattern.to_string(), source })
}

/// The regex is tried on what the engineer reads: message, logger, exception and string fields.
pub fn text_matches(re: &Regex, r: &LogRecord) -> bool {
    re.is_match(&r.message)
        || r.logger.as_deref().is_some_and(|s| re.is_match(s))
        || r.exception.as_deref().is_some_and(|s| re.is_match(s))
        || r.fields.iter().any(|(_, v)| v.as_str().is_some_and(|s| re.is_match(s)))
}

/// Byte ranges of the matches in `text`, for highlighting.
pub fn match_ranges(re: &Regex, text: &str) -> Vec<Range<usize>> {
    re.find_iter(text).filter(|m| !m.is_empty()).map(|m| m.range()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::parse::parse_line;

    fn rec(s: &str) -> LogRecord {
        parse_line(s.as_bytes(), 0, None)
    }

    #[test]
    fn level_is_error_and_above_and_exact_on_the_field() {
        let f = Filter::from_args(Some("error"), None, None).unwrap();
        for (line, want) in [
            (r#"{"level":"ERROR","message":"a"}"#, true),
            (r#"{"level":"CRITICAL","message":"a"}"#, true),
            (r#"{"level":"INFO","message":"ERROR everywhere \"level\":\"ERROR\""}"#, false),
            (r#"{"level":"WARNING","ctx":{"level":"ERROR"}}"#, false),
            ("plain ERROR text", true),
            ("plain text", false),
        ] {
            let got = f.prefilter(line.as_bytes()) && f.matches(&rec(line));
            assert_eq!(got, want, "{line}");
            if want {
                assert!(f.prefilter(line.as_bytes()), "prefilter must never reject a match: {line}");
            }
        }
    }

    #[test]
    fn request_id_and_grep() {
        let f = Filter::from_args(None, Some("db (down|up)"), Some("r2")).unwrap();
        assert!(f.matches(&rec(r#"{"level":"error","message":"db down","request_id":"r2"}"#)));
        assert!(!f.matches(&rec(r#"{"level":"error","message":"db down","request_id":"r22"}"#)));
        assert!(!f.matches(&rec(r#"{"level":"error","message":"cache","request_id":"r2"}"#)));
        assert!(!f.prefilter(br#"{"request_id":"r1"}"#));
        assert!(f.prefilter(br#"{"request_id":"\u0072\u0032"}"#));
        // Ids the parse rewrites are not in the raw line: the prefilter must keep those lines.
        for (id, line) in [
            ("100.0", &br#"{"request_id":1e2}"#[..]),
            ("true", br#"{"request_id":true}"#),
            (r#"{"a":1}"#, br#"{"request_id":{ "a" : 1 }}"#),
            ("\\x00", b"t=1 req_id=\x00"),
            ("a\u{fffd}", b"t=1 req_id=a\xff"),
        ] {
            let f = Filter { request_id: Some(id.to_string()), ..Filter::default() };
            assert!(f.prefilter(line), "prefilter dropped {:?} for id {id:?}", String::from_utf8_lossy(line));
        }
        assert!(f.matches(&rec(r#"{"request_id":"\u0072\u0032","message":"db up"}"#)));
    }

    /// Random lines built from JSON, logfmt and hostile fragments: nothing panics, nothing dangerous
    /// survives, and the fast path never rejects a line the full filter would keep.
    #[test]
    fn random_lines_never_panic_and_prefilter_is_sound() {
        const PARTS: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            ":",
            ",",
            " ",
            "\"level\"",
            "\"severity\"",
            "\"lvl\"",
            "\"ERROR\"",
            "\"info\"",
            "\"warn\"",
            "50",
            "3",
            "\"msg\"",
            "\"message\"",
            "\"request_id\"",
            "\"r1\"",
            "level=",
            "error",
            "msg=",
            "\"x y\"",
            "=",
            "\x1b[2J",
            "\x07",
            "\u{9b}",
            "\u{202e}",
            "\r",
            "\\u001b",
            "\\u0045",
            "ERROR",
            "Error:",
            "[warn]",
            "2026-11-23T10:00:00",
            "\"timestamp\"",
            "\"exception\"",
            "null",
            "true",
            "\"a\\nb\"",
            "é",
            "\u{200b}",
        ];
        let filters = [
            Filter::from_args(Some("error"), None, None).unwrap(),
            Filter::from_args(Some("warning"), None, Some("r1")).unwrap(),
            Filter::from_args(Some("debug"), Some("x"), None).unwrap(),
        ];
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let n = (next() % 16) as usize;
            let line: String = if next() % 2 == 0 {
                (0..n).map(|_| PARTS[(next() % PARTS.len() as u64) as usize]).collect()
            } else {
                // Well-formed objects with level-like keys, nested objects and escapes.
                const KEYS: &[&str] = &["level", "LEVEL", "severity", "lvl", "msg", "request_id", "ctx", "lev\\u0065l"];
                const VALS: &[&str] = &[
                    "\"ERROR\"",
                    "\"info\"",
                    "\"Warn\"",
                    "40",
                    "\"r1\"",
                    "{\"level\":\"ERROR\"}",
                    "\"ERR\\u004fR\"",
                    "null",
                    "\"x\"",
                ];
                let pairs: Vec<String> = (0..n % 5)
                    .map(|_| {
                        let k = KEYS[(next() % KEYS.len() as u64) as usize];
                        let v = VALS[(next() % VALS.len() as u64) as usize];
                        format!("\"{k}\": {v}")
                    })
                    .collect();
                format!("{{{}}}", pairs.join(", "))
            };
            let mut raw = line.into_bytes();
            if next() % 10 == 0 {
                raw.push(0xff);
            }
            let r = parse_line(&raw, (next() % 3) as usize, None);
            for text in [&r.line, &r.message] {
                assert!(
                    !text.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || c == '\u{200b}'),
                    "{text:?}"
                );
            }
            for f in &filters {
                if f.matches(&r) {
                    assert!(f.prefilter(&raw), "prefilter rejected a match: {:?}", String::from_utf8_lossy(&raw));
                }
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(Filter::from_args(Some("loud"), None, None), Err(FilterError::Level(_))));
        let e = Filter::from_args(None, Some("("), None).unwrap_err();
        assert!(e.to_string().contains("invalid regular expression"), "{e}");
    }

    #[test]
    fn ranges_for_highlight() {
        let re = compile("o+").unwrap();
        assert_eq!(match_ranges(&re, "foo boo"), vec![1..3, 5..7]);
    }
}
