//! The scrape-path parser: accepts and rejects what a Prometheus 2.42 scrape does
//! (`model/textparse/promparse.go` for the text format, `openmetricsparse.go` when the
//! Content-Type says `application/openmetrics-text`). Zero-copy: samples borrow the body, label
//! offsets live in one reused vector, nothing is allocated per sample unless a label value holds
//! an escape.
//!
//! Deliberately lenient where Prometheus is (trailing blanks after the value or timestamp, a
//! missing final newline, a repeated `# TYPE`, labels without commas, a trailing comma); strict
//! where it is (CRLF, leading blanks before a sample, a bad float).

use super::lex::{self, is_blank, is_lname_cont, is_lname_start, is_mname_cont, is_mname_start};
use std::borrow::Cow;

/// The two text formats Prometheus scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// As `textparse.New`: OpenMetrics only when the media type says so.
    pub fn from_content_type(ct: Option<&str>) -> Format {
        let media = ct.and_then(|c| c.split(';').next()).map(|m| m.trim().to_ascii_lowercase());
        match media.as_deref() {
            Some("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    Stateset,
    Unknown,
}

/// A parse error with the 1-based line where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

/// One sample, borrowed from the body.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The raw text of name and label set, a cheap identity for caching.
    pub series: &'a [u8],
    pub name: &'a str,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    Sample(Sample<'a>),
    Help { name: &'a str, text: &'a str },
    Type { name: &'a str, kind: MetricType },
    Unit { name: &'a str, unit: &'a str },
    Comment,
}

/// A pull parser over one scrape body.
pub struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    format: Format,
    /// (name start, name end, value start, value end) per label of the current sample.
    labels: Vec<[usize; 4]>,
    done: bool,
}

/// Prometheus's canonical NaN for an exposed NaN (distinct from the staleness marker).
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// The promlex token a byte starts, in the label-set state (for error messages).
fn tok_name(c: Option<u8>) -> &'static str {
    match c {
        Some(b'=') => "EQUAL",
        Some(b',') => "COMMA",
        Some(b'}') => "BCLOSE",
        Some(c) if is_lname_start(c) => "LNAME",
        _ => "INVALID",
    }
}

/// The promlex token a byte starts after a value (the timestamp state).
fn ts_tok_name(c: Option<u8>) -> &'static str {
    match c {
        Some(c) if c.is_ascii_digit() => "TIMESTAMP",
        _ => "INVALID",
    }
}

impl<'a> Parser<'a> {
    pub fn new(body: &'a [u8], format: Format) -> Parser<'a> {
        Parser { b: body, i: 0, line: 1, format, labels: Vec::with_capacity(16), done: false }
    }

    /// The line the parser is on (1-based).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Labels of the sample last returned, values unescaped, in exposition order.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + '_ {
        let b = self.b;
        self.labels.iter().map(move |&[a, z, c, d]| {
            // Both ranges were checked to be UTF-8 (names are ASCII).
            let name = std::str::from_utf8(&b[a..z]).unwrap_or("");
            let raw = std::str::from_utf8(&b[c..d]).unwrap_or("");
            (name, lex::unescape_label(raw))
        })
    }

    pub fn num_labels(&self) -> usize {
        self.labels.len()
    }

    fn err<T>(&mut self, msg: impl Into<String>) -> Result<T, ParseError> {
        self.done = true;
        Err(ParseError { line: self.line, msg: msg.into() })
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn skip_blanks(&mut self) {
        while self.i < self.b.len() && is_blank(self.b[self.i]) {
            self.i += 1;
        }
    }

    /// The next entry, `Ok(None)` at the end of the input.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        if self.done {
            return Ok(None);
        }
        match self.format {
            Format::Prometheus => self.next_prom(),
            Format::OpenMetrics => self.next_om(),
        }
    }

    /// Consume a line end; the end of the body counts as one (promparse appends a `\n`).
    #[inline]
    fn at_line_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    fn eat_newline(&mut self) {
        if self.i < self.b.len() {
            self.i += 1;
            self.line += 1;
        }
    }

    fn next_prom(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        loop {
            let start = self.i;
            self.skip_blanks();
            let Some(c) = self.peek() else {
                self.done = true;
                return Ok(None);
            };
            match c {
                b'\n' => self.eat_newline(),
                // promlex ends the input at a NUL where a token starts.
                0 => {
                    self.done = true;
                    return Ok(None);
                }
                b'#' => return self.prom_comment(),
                c if is_mname_start(c) => return self.prom_sample(start),
                _ => return self.err("\"INVALID\" is not a valid start token"),
            }
        }
    }

    fn rest_of_line(&mut self) -> &'a [u8] {
        let b = self.b;
        let s = self.i;
        let e = memchr::memchr(b'\n', &b[s..]).map_or(b.len(), |k| s + k);
        self.i = e;
        &b[s..e]
    }

    fn prom_comment(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        self.i += 1; // '#'
        let spaced = matches!(self.peek(), Some(b' ' | b'\t'));
        if !spaced {
            let text = self.rest_of_line();
            if text.contains(&0) {
                // consumeComment treats a NUL as the end of the input.
                self.done = true;
                return Ok(None);
            }
            self.eat_newline();
            return Ok(Some(Entry::Comment));
        }
        self.skip_blanks();
        let rest = &self.b[self.i..];
        let kw = if rest.starts_with(b"HELP") {
            Some(true)
        } else if rest.starts_with(b"TYPE") {
            Some(false)
        } else {
            None
        };
        let Some(is_help) = kw.filter(|_| rest.len() > 4 && is_blank(rest[4])) else {
            self.rest_of_line();
            self.eat_newline();
            return Ok(Some(Entry::Comment));
        };
        let what = if is_help { "HELP" } else { "TYPE" };
        self.i += 4;
        self.skip_blanks();
        let ns = self.i;
        if !self.peek().is_some_and(is_mname_start) {
            return self.err(format!("expected metric name after {what}, got \"INVALID\""));
        }
        while self.peek().is_some_and(is_mname_cont) {
            self.i += 1;
        }
        let name = std::str::from_utf8(&self.b[ns..self.i]).unwrap_or("");
        let text = self.rest_of_line();
        // `{C}*` takes the rest of the line; a blanks-only rest lexes as whitespace, leaving "".
        let text: &[u8] = if text.iter().all(|&c| is_blank(c)) { b"" } else { &text[1..] };
        if is_help {
            let Ok(t) = std::str::from_utf8(text) else {
                return self.err("help text is not a valid utf8 string");
            };
            self.eat_newline();
            return Ok(Some(Entry::Help { name, text: t }));
        }
        let kind = match text {
            b"counter" => MetricType::Counter,
            b"gauge" => MetricType::Gauge,
            b"histogram" => MetricType::Histogram,
            b"summary" => MetricType::Summary,
            b"untyped" => MetricType::Unknown,
            _ => return self.err(format!("invalid metric type {}", lex::go_quote(text))),
        };
        self.eat_newline();
        Ok(Some(Entry::Type { name, kind }))
    }

    /// Scan a quoted label value starting at the opening quote; returns the inner range.
    fn label_value(&mut self, allow_newline: bool) -> Option<(usize, usize)> {
        let b = self.b;
        let s = self.i + 1;
        let mut j = s;
        loop {
            let k = memchr::memchr3(b'"', b'\\', b'\n', &b[j..])? + j;
            match b[k] {
                b'"' => {
                    self.line += b[s..k].iter().filter(|&&c| c == b'\n').count();
                    self.i = k + 1;
                    return Some((s, k));
                }
                b'\\' => {
                    // `\\.`: any escaped character but a newline.
                    if k + 1 >= b.len() || b[k + 1] == b'\n' {
                        return None;
                    }
                    j = k + 2;
                }
                _ => {
                    if !allow_newline {
                        return None;
                    }
                    j = k + 1;
                }
            }
        }
    }

    fn prom_sample(&mut self, start: usize) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.b;
        let ns = self.i;
        while self.peek().is_some_and(is_mname_cont) {
            self.i += 1;
        }
        let ne = self.i;
        self.labels.clear();
        self.skip_blanks();
        if self.peek() == Some(b'{') {
            self.i += 1;
            loop {
                self.skip_blanks();
                match self.peek() {
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    Some(c) if is_lname_start(c) => {}
                    c => return self.err(format!("expected label name, got \"{}\"", tok_name(c))),
                }
                let ls = self.i;
                while self.peek().is_some_and(is_lname_cont) {
                    self.i += 1;
                }
                let le = self.i;
                self.skip_blanks();
                if self.peek() != Some(b'=') {
                    let t = tok_name(self.peek());
                    return self.err(format!("expected equal, got \"{t}\""));
                }
                self.i += 1;
                self.skip_blanks();
                if self.peek() != Some(b'"') {
                    return self.err("expected label value, got \"INVALID\"");
                }
                let Some((vs, ve)) = self.label_value(true) else {
                    return self.err("expected label value, got \"INVALID\"");
                };
                if std::str::from_utf8(&b[vs..ve]).is_err() {
                    return self.err("invalid UTF-8 label value");
                }
                self.labels.push([ls, le, vs, ve]);
                self.skip_blanks();
                if self.peek() == Some(b',') {
                    self.i += 1;
                }
            }
        }
        let series_end = self.i;
        self.skip_blanks();
        let vs = self.i;
        while self.i < b.len() && !matches!(b[self.i], b'{' | b' ' | b'\t' | b'\n') {
            self.i += 1;
        }
        if vs == self.i {
            let t = if self.peek() == Some(b'{') { "BOPEN" } else { "INVALID" };
            return self.err(format!("expected value after metric, got \"{t}\""));
        }
        let raw = &b[vs..self.i];
        let value = match lex::parse_float(raw) {
            Ok(v) if v.is_nan() => f64::from_bits(NORMAL_NAN_BITS),
            Ok(v) => v,
            Err(e) => return self.err(lex::go_num_error("ParseFloat", raw, e)),
        };
        self.skip_blanks();
        let mut timestamp_ms = None;
        if !self.at_line_end() {
            let ts = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if ts == self.i {
                return self.err("expected timestamp or new record, got \"INVALID\"");
            }
            match lex::parse_int(&b[ts..self.i]) {
                Ok(t) => timestamp_ms = Some(t),
                Err(e) => return self.err(lex::go_num_error("ParseInt", &b[ts..self.i], e)),
            }
            self.skip_blanks();
            if !self.at_line_end() {
                let t = ts_tok_name(self.peek());
                return self.err(format!("expected next entry after timestamp, got \"{t}\""));
            }
        }
        // Leading blanks end up in the name (promparse slices from the line start), which the
        // scrape loop then rejects as an invalid metric name.
        if start != ns {
            let shown = lex::go_quote(&b[start..ne]);
            return self.err(format!("invalid metric name or label names: {shown}"));
        }
        self.eat_newline();
        let name = std::str::from_utf8(&b[ns..ne]).unwrap_or("");
        Ok(Some(Entry::Sample(Sample { series: &b[start..series_end], name, value, timestamp_ms })))
    }

    // ---- OpenMetrics: single spaces, no blank lines, `# EOF` required ----

    fn next_om(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.b;
        let rest = &b[self.i..];
        if rest.is_empty() {
            return self.err("data does not end with # EOF");
        }
        if rest.starts_with(b"# ") {
            let r = &rest[2..];
            if r.starts_with(b"EOF") && (r.len() == 3 || r[3] == b'\n') {
                let after = self.i + 2 + 3 + usize::from(r.len() > 3);
                if after < b.len() {
                    return self.err("unexpected data after # EOF");
                }
                self.done = true;
                return Ok(None);
            }
            let kw = [(&b"HELP "[..], 0), (b"TYPE ", 1), (b"UNIT ", 2)].into_iter().find(|(k, _)| r.starts_with(k));
            let Some((_, which)) = kw else {
                return self.err("\"INVALID\" \" \" is not a valid start token");
            };
            let what = ["HELP", "TYPE", "UNIT"][which];
            self.i += 7;
            let ns = self.i;
            if !self.peek().is_some_and(is_mname_start) {
                return self.err(format!("expected metric name after {what}, got \"INVALID\""));
            }
            while self.peek().is_some_and(is_mname_cont) {
                self.i += 1;
            }
            let name = std::str::from_utf8(&b[ns..self.i]).unwrap_or("");
            if self.peek() != Some(b' ') {
                return self.err(format!("expected text in {what}"));
            }
            self.i += 1;
            let text = self.rest_of_line();
            if self.i >= b.len() {
                return self.err(format!("expected text in {what}"));
            }
            let Ok(t) = std::str::from_utf8(text) else {
                return self.err("help text is not a valid utf8 string");
            };
            let entry = match which {
                0 => Entry::Help { name, text: t },
                1 => {
                    let kind = match t {
                        "counter" => MetricType::Counter,
                        "gauge" => MetricType::Gauge,
                        "histogram" => MetricType::Histogram,
                        "gaugehistogram" => MetricType::GaugeHistogram,
                        "summary" => MetricType::Summary,
                        "info" => MetricType::Info,
                        "stateset" => MetricType::Stateset,
                        "unknown" => MetricType::Unknown,
                        _ => return self.err(format!("invalid metric type {}", lex::go_quote(text))),
                    };
                    Entry::Type { name, kind }
                }
                _ => {
                    let suffix_ok =
                        name.len() > t.len() && name.ends_with(t) && name.as_bytes()[name.len() - t.len() - 1] == b'_';
                    if !t.is_empty() && !suffix_ok {
                        return self.err(format!("unit not a suffix of metric {}", lex::go_quote(name.as_bytes())));
                    }
                    Entry::Unit { name, unit: t }
                }
            };
            self.eat_newline();
            return Ok(Some(entry));
        }
        let c = rest[0];
        if !is_mname_start(c) {
            // As openmetricsparse: `%q %q is not a valid start token` (the token, the byte).
            let shown = lex::go_quote(&[c]);
            return self.err(format!("\"INVALID\" {shown} is not a valid start token"));
        }
        let start = self.i;
        while self.peek().is_some_and(is_mname_cont) {
            self.i += 1;
        }
        let ne = self.i;
        self.labels.clear();
        if self.peek() == Some(b'{') {
            self.i += 1;
            self.om_labels(false)?;
        }
        let series_end = self.i;
        let value = self.om_value("metric")?;
        let mut timestamp_ms = None;
        match self.peek() {
            None => return self.err("data does not end with # EOF"),
            Some(b'\n') => {}
            Some(b' ') if b.get(self.i + 1) == Some(&b'#') => self.om_exemplar(&b[start..ne])?,
            Some(b' ') => {
                let ts = self.om_token();
                let t = match lex::parse_float(ts) {
                    Ok(t) if t.is_finite() => t,
                    Ok(_) => return self.err("invalid timestamp"),
                    Err(e) => return self.err(lex::go_num_error("ParseFloat", ts, e)),
                };
                timestamp_ms = Some((t * 1000.0) as i64);
                match self.peek() {
                    Some(b'\n') => {}
                    Some(b' ') if b.get(self.i + 1) == Some(&b'#') => self.om_exemplar(&b[start..ne])?,
                    None => return self.err("data does not end with # EOF"),
                    _ => return self.err("expected next entry after timestamp, got \"INVALID\""),
                }
            }
            _ => return self.err("expected timestamp or # symbol, got \"INVALID\""),
        }
        if self.peek() == Some(b'\n') {
            self.eat_newline();
        }
        let name = std::str::from_utf8(&b[start..ne]).unwrap_or("");
        Ok(Some(Entry::Sample(Sample { series: &b[start..series_end], name, value, timestamp_ms })))
    }

    /// ` token` (one space, then no spaces or newlines); returns the token.
    fn om_token(&mut self) -> &'a [u8] {
        let b = self.b;
        self.i += 1;
        let s = self.i;
        while self.i < b.len() && !matches!(b[self.i], b' ' | b'\n') {
            self.i += 1;
        }
        &b[s..self.i]
    }

    fn om_value(&mut self, after: &str) -> Result<f64, ParseError> {
        let b = self.b;
        if self.peek() != Some(b' ') || matches!(b.get(self.i + 1), None | Some(b' ' | b'\n')) {
            let t = match self.peek() {
                None => "EOF",
                _ => "INVALID",
            };
            return self.err(format!("expected value after {after}, got \"{t}\""));
        }
        let raw = self.om_token();
        match lex::parse_float(raw) {
            Ok(v) if v.is_nan() => Ok(f64::from_bits(NORMAL_NAN_BITS)),
            Ok(v) => Ok(v),
            Err(e) => self.err(lex::go_num_error("ParseFloat", raw, e)),
        }
    }

    /// Labels after `{`: `name="value"` separated by single commas, no blanks.
    fn om_labels(&mut self, exemplar: bool) -> Result<(), ParseError> {
        let mut first = true;
        loop {
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b',') if !first => {
                    self.i += 1;
                    if !self.peek().is_some_and(is_lname_start) {
                        let t = tok_name(self.peek());
                        return self.err(format!("expected label name, got \"{t}\""));
                    }
                }
                Some(c) if is_lname_start(c) && first => {}
                c => {
                    let t = tok_name(c);
                    let m = match (first, c.is_some_and(is_lname_start)) {
                        (true, _) => format!("expected label name or left brace, got \"{t}\""),
                        (false, true) => format!("expected comma, got \"{t}\""),
                        (false, false) => format!("expected comma or left brace, got \"{t}\""),
                    };
                    return self.err(m);
                }
            }
            first = false;
            let ls = self.i;
            while self.peek().is_some_and(is_lname_cont) {
                self.i += 1;
            }
            let le = self.i;
            if self.peek() != Some(b'=') {
                let t = tok_name(self.peek());
                return self.err(format!("expected equal, got \"{t}\""));
            }
            self.i += 1;
            if self.peek() != Some(b'"') {
                return self.err("expected label value, got \"INVALID\"");
            }
            let Some((vs, ve)) = self.label_value(false) else {
                return self.err("expected label value, got \"INVALID\"");
            };
            if std::str::from_utf8(&self.b[vs..ve]).is_err() {
                return self.err("invalid UTF-8 label value");
            }
            if !exemplar {
                self.labels.push([ls, le, vs, ve]);
            }
        }
    }

    /// ` # {labels} value [timestamp]`: validated, then dropped (exemplars are not stored).
    fn om_exemplar(&mut self, name: &[u8]) -> Result<(), ParseError> {
        if !(name.ends_with(b"_total") || name.ends_with(b"_bucket")) {
            let n = String::from_utf8_lossy(name);
            return self.err(format!("metric name {n} does not support exemplars"));
        }
        if !self.b[self.i..].starts_with(b" # {") {
            return self.err("expected timestamp or # symbol, got \"INVALID\"");
        }
        self.i += 4;
        self.om_labels(true)?;
        self.om_value("exemplar labels")?;
        match self.peek() {
            Some(b'\n') => Ok(()),
            None => self.err("data does not end with # EOF"),
            Some(b' ') => {
                let ts = self.om_token();
                match lex::parse_float(ts) {
                    Ok(t) if t.is_finite() => {}
                    Ok(_) => return self.err("invalid exemplar timestamp"),
                    Err(e) => return self.err(lex::go_num_error("ParseFloat", ts, e)),
                }
                if self.peek() != Some(b'\n') {
                    return self.err("expected next entry after exemplar timestamp, got \"INVALID\"");
                }
                Ok(())
            }
            _ => self.err("expected timestamp or comment, got \"INVALID\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &str, f: Format) -> Result<Vec<(String, f64, Option<i64>)>, ParseError> {
        let mut p = Parser::new(body.as_bytes(), f);
        let mut out = vec![];
        while let Some(e) = p.next()? {
            if let Entry::Sample(s) = e {
                let mut id = s.name.to_string();
                for (k, v) in p.labels() {
                    id.push_str(&format!(",{k}={v}"));
                }
                out.push((id, s.value, s.timestamp_ms));
            }
        }
        Ok(out)
    }

    #[test]
    fn lenient_accepts_what_prometheus_scrapes() {
        let body = "# HELP a_total Help \\n text\n# TYPE a_total counter\n# TYPE a_total counter\n\
                    a_total{x=\"1\",y=\"q\\\"\\\\\\n\\t\",} 3 \n  \nb 1 1000\t\nc{x=\"a\" y=\"b\"} NaN\nd +Inf";
        let got = all(body, Format::Prometheus).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0, "a_total,x=1,y=q\"\\\n\\t");
        assert_eq!(got[1], ("b".into(), 1.0, Some(1000)));
        assert_eq!(got[2].0, "c,x=a,y=b");
        assert_eq!(got[2].1.to_bits(), NORMAL_NAN_BITS);
        assert_eq!(got[3].1, f64::INFINITY);
    }

    #[test]
    fn lenient_rejects_what_prometheus_rejects() {
        for (body, want) in [
            ("a 1\r\n", "line 1: strconv.ParseFloat: parsing \"1\\r\": invalid syntax"),
            ("a 1\n  b 2\n", "line 2: invalid metric name or label names: \"  b\""),
            ("a{x=\"1\" 1\n", "line 1: expected label name, got \"INVALID\""),
            ("{x=\"1\"} 1\n", "line 1: \"INVALID\" is not a valid start token"),
            ("a\n", "line 1: expected value after metric, got \"INVALID\""),
            ("a 1 -1\n", "line 1: expected timestamp or new record, got \"INVALID\""),
            ("a 1 1 1\n", "line 1: expected next entry after timestamp, got \"TIMESTAMP\""),
            ("# TYPE a counter \n", "line 1: invalid metric type \"counter \""),
        ] {
            assert_eq!(all(body, Format::Prometheus).unwrap_err().to_string(), want, "{body:?}");
        }
    }

    #[test]
    fn openmetrics() {
        let ok = "# TYPE a counter\n# HELP a h\na_total 1 1.5\na_created 2\n\
                  b_total{x=\"y\"} 1 # {t=\"1\"} 2 3\n# EOF\n";
        let got = all(ok, Format::OpenMetrics).unwrap();
        assert_eq!(
            got,
            vec![
                ("a_total".into(), 1.0, Some(1500)),
                ("a_created".into(), 2.0, None),
                ("b_total,x=y".into(), 1.0, None)
            ]
        );
        assert!(all("a 1\n", Format::OpenMetrics).unwrap_err().msg.contains("# EOF"));
        assert!(all("a 1\n# EOF\nb 1\n", Format::OpenMetrics).unwrap_err().msg.contains("after # EOF"));
        assert!(all("a  1\n# EOF\n", Format::OpenMetrics).is_err());
        assert!(all("\n# EOF\n", Format::OpenMetrics).is_err());
    }

    #[test]
    fn content_type() {
        assert_eq!(Format::from_content_type(Some("application/openmetrics-text; version=1.0.0")), Format::OpenMetrics);
        assert_eq!(Format::from_content_type(Some("text/plain; version=0.0.4")), Format::Prometheus);
        assert_eq!(Format::from_content_type(None), Format::Prometheus);
    }
}
