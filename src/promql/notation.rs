//! The expanding notation of promtool unit tests and promqltest `load` blocks:
//! `metric{a="b"} 0+10x30 1-1x10 5x3 _ _x3 stale 1e3 Inf NaN`.
//!
//! Semantics follow Prometheus 2.42's series-description grammar: `a+bxN` yields N+1 values
//! (a, a+b, … accumulated by repeated float addition, as Go does), `axN` yields N+1 copies,
//! `_xN` yields N missing samples, `stale` is the staleness marker.

use crate::tsdb::{stale_nan, Labels};

/// A label set and its values (`None` = missing sample, stale = `Some(stale_nan())`).
pub fn parse_series_line(line: &str) -> Result<(Labels, Vec<Option<f64>>), String> {
    let line = line.trim();
    let end = descriptor_end(line)?;
    let labels = parse_series_desc(&line[..end])?;
    let values = expand_values(&line[end..])?;
    Ok((labels, values))
}

/// Byte offset where the series descriptor ends (after `}` or at the first whitespace).
fn descriptor_end(line: &str) -> Result<usize, String> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'{' {
        i += 1;
    }
    if i < b.len() && b[i] == b'{' {
        let mut in_str: Option<u8> = None;
        while i < b.len() {
            match (in_str, b[i]) {
                (Some(_), b'\\') => i += 1,
                (Some(q), c) if c == q => in_str = None,
                (None, b'"') | (None, b'\'') | (None, b'`') => in_str = Some(b[i]),
                (None, b'}') => return Ok(i + 1),
                _ => {}
            }
            i += 1;
        }
        return Err(format!("unterminated label set in series {line:?}"));
    }
    Ok(i)
}

/// `metric`, `metric{a="b", c='d'}` or `{__name__="m", a="b"}` into a label set.
pub fn parse_series_desc(desc: &str) -> Result<Labels, String> {
    let desc = desc.trim();
    let (name, rest) = match desc.find('{') {
        Some(i) => (&desc[..i], Some(&desc[i..])),
        None => (desc, None),
    };
    let name = name.trim();
    if !name.is_empty() && !is_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        pairs.push(("__name__".into(), name.into()));
    }
    if let Some(rest) = rest {
        let body = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| format!("malformed label set {rest:?}"))?;
        let mut p = Cursor { s: body.as_bytes(), i: 0 };
        loop {
            p.skip_ws();
            if p.done() {
                break;
            }
            let k = p.ident().ok_or_else(|| format!("expected a label name at byte {} of {rest:?}", p.i + 1))?;
            p.skip_ws();
            if !p.eat(b'=') {
                return Err(format!("expected '=' after label {k:?} in {rest:?}"));
            }
            p.skip_ws();
            let v = p.quoted().map_err(|e| format!("{e} in {rest:?}"))?;
            if pairs.iter().any(|(n, _)| *n == k) {
                return Err(format!("duplicate label {k:?} in {rest:?}"));
            }
            pairs.push((k, v));
            p.skip_ws();
            if !p.eat(b',') {
                p.skip_ws();
                if !p.done() {
                    return Err(format!("expected ',' or '}}' at byte {} of {rest:?}", p.i + 1));
                }
            }
        }
    }
    if name.is_empty() && rest.is_none() {
        return Err(format!("series {desc:?} has no metric name and no labels"));
    }
    Ok(Labels::from_pairs(pairs))
}

fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn skip_ws(&mut self) {
        while !self.done() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if !self.done() && self.s[self.i] == c {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<String> {
        let st = self.i;
        while !self.done() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
            self.i += 1;
        }
        if self.i == st || self.s[st].is_ascii_digit() {
            return None;
        }
        Some(String::from_utf8_lossy(&self.s[st..self.i]).into_owned())
    }
    /// A Go-style quoted string: "..." or '...' with backslash escapes, or `raw`.
    fn quoted(&mut self) -> Result<String, String> {
        if self.done() {
            return Err("expected a quoted label value".into());
        }
        let q = self.s[self.i];
        if q != b'"' && q != b'\'' && q != b'`' {
            return Err(format!("expected a quoted label value at byte {}", self.i + 1));
        }
        self.i += 1;
        let st = self.i;
        let mut out: Vec<u8> = Vec::new();
        while !self.done() {
            let c = self.s[self.i];
            if c == q {
                self.i += 1;
                return String::from_utf8(out).map_err(|_| "label value is not valid UTF-8".to_string());
            }
            if c == b'\\' && q != b'`' {
                self.i += 1;
                if self.done() {
                    break;
                }
                let e = self.s[self.i];
                match e {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'\\' | b'"' | b'\'' => out.push(e),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    b'x' | b'u' | b'U' => {
                        let n = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let hex = self.s.get(self.i + 1..self.i + 1 + n).ok_or("truncated escape")?;
                        let code = u32::from_str_radix(std::str::from_utf8(hex).map_err(|_| "bad escape")?, 16)
                            .map_err(|_| "bad hex escape".to_string())?;
                        if e == b'x' {
                            out.push(code as u8);
                        } else {
                            let ch = char::from_u32(code).ok_or("invalid unicode escape")?;
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        self.i += n;
                    }
                    _ => return Err(format!("unknown escape \\{}", e as char)),
                }
                self.i += 1;
                continue;
            }
            out.push(c);
            self.i += 1;
        }
        Err(format!("unterminated quoted string starting at byte {st}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Num(f64),
    Plus,
    Minus,
    Times,
    Blank,
    Stale,
}

/// Parse a number the way Prometheus's lexer + strconv do: ints in any base, floats, Inf, NaN.
pub fn parse_number(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()? as f64
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()? as f64
    } else {
        if !lower.bytes().all(|c| c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'+' || c == b'-') {
            return None;
        }
        lower.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Tokens, each with whether whitespace preceded it (Prometheus's lexer rejects `5 x3`).
fn tokenize(s: &str) -> Result<Vec<(Tok, bool)>, String> {
    let toks = tokenize_raw(s)?;
    Ok(toks)
}

fn tokenize_raw(s: &str) -> Result<Vec<(Tok, bool)>, String> {
    let b = s.as_bytes();
    let mut out: Vec<(Tok, bool)> = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            space = true;
            continue;
        }
        let before = out.len();
        match c {
            b'+' => {
                out.push((Tok::Plus, false));
                i += 1;
            }
            b'-' => {
                out.push((Tok::Minus, false));
                i += 1;
            }
            b'_' => {
                out.push((Tok::Blank, false));
                i += 1;
            }
            b'x' => {
                out.push((Tok::Times, false));
                i += 1;
            }
            _ if c.is_ascii_digit() || c == b'.' => {
                let st = i;
                // A number runs until whitespace, an operator or the `x` of a repetition;
                // an exponent sign (`1e-3`) belongs to the number.
                while i < b.len() {
                    let d = b[i];
                    let exp_sign = (d == b'+' || d == b'-') && i > st && matches!(b[i - 1], b'e' | b'E');
                    if d.is_ascii_digit() || d == b'.' || d == b'e' || d == b'E' || exp_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                let txt = &s[st..i];
                out.push((Tok::Num(parse_number(txt).ok_or_else(|| format!("invalid number {txt:?}"))?), false));
            }
            _ if c.is_ascii_alphabetic() => {
                let st = i;
                while i < b.len() && b[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                let w = &s[st..i];
                match w.to_ascii_lowercase().as_str() {
                    "stale" => out.push((Tok::Stale, false)),
                    "inf" => out.push((Tok::Num(f64::INFINITY), false)),
                    "nan" => out.push((Tok::Num(f64::NAN), false)),
                    _ => return Err(format!("unexpected {w:?} in series values (want a number or \"stale\")")),
                }
            }
            _ => return Err(format!("unexpected character {:?} in series values", c as char)),
        }
        if out.len() > before {
            out[before].1 = space;
        }
        space = false;
    }
    Ok(out)
}

/// Expand a values string (`0+10x3 _ stale 5`) into samples; `None` marks a missing one.
pub fn expand_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let toks = tokenize(s)?;
    // `x` and its count must be glued to what they repeat: `5x3`, not `5 x3` or `5x 3`.
    for (k, (t, space)) in toks.iter().enumerate() {
        if *t == Tok::Times && (*space || toks.get(k + 1).is_some_and(|n| n.1)) {
            return Err("unexpected whitespace around 'x' in series values".into());
        }
    }
    // A sign right after a value (`1-1x3`) is an increment; after whitespace (`1 -1`) it
    // starts the next value, as Prometheus's lexer has it.
    let glued: Vec<bool> = toks.iter().map(|(_, space)| !*space).collect();
    let toks: Vec<Tok> = toks.into_iter().map(|(t, _)| t).collect();
    let mut out = Vec::new();
    let mut i = 0;
    let count = |toks: &[Tok], i: usize| -> Result<u64, String> {
        match toks.get(i) {
            Some(Tok::Num(n)) if *n >= 0.0 && n.fract() == 0.0 && n.is_finite() => Ok(*n as u64),
            _ => Err("expected a repetition count after 'x'".to_string()),
        }
    };
    while i < toks.len() {
        match toks[i] {
            Tok::Blank => {
                i += 1;
                if toks.get(i) == Some(&Tok::Times) {
                    let n = count(&toks, i + 1)?;
                    out.extend(std::iter::repeat_n(None, n as usize));
                    i += 2;
                } else {
                    out.push(None);
                }
            }
            _ => {
                let (v, ni) = signed(&toks, i)?;
                i = ni;
                match toks.get(i) {
                    Some(Tok::Times) => {
                        let n = count(&toks, i + 1)?;
                        i += 2;
                        out.extend(std::iter::repeat_n(Some(v), n as usize + 1));
                    }
                    Some(Tok::Plus) | Some(Tok::Minus) if glued[i] => {
                        // An increment needs `xN`: `1-1` alone is an error in Prometheus.
                        let (d, ni) = match toks.get(i + 1) {
                            Some(Tok::Num(n)) => (if toks[i] == Tok::Minus { -*n } else { *n }, i + 2),
                            _ => return Err("expected a number after the sign of an increment".into()),
                        };
                        if toks.get(ni) != Some(&Tok::Times) {
                            return Err("unexpected sign in series values: an increment needs 'xN' (like 1+2x3)".into());
                        }
                        let n = count(&toks, ni + 1)?;
                        i = ni + 2;
                        let mut cur = v;
                        for _ in 0..=n {
                            out.push(Some(cur));
                            cur += d;
                        }
                    }
                    _ => out.push(Some(v)),
                }
            }
        }
    }
    Ok(out)
}

/// A value: optional sign then a number, or `stale`.
fn signed(toks: &[Tok], i: usize) -> Result<(f64, usize), String> {
    match toks.get(i) {
        Some(Tok::Stale) => Ok((stale_nan(), i + 1)),
        Some(Tok::Num(n)) => Ok((*n, i + 1)),
        Some(Tok::Plus) => match toks.get(i + 1) {
            Some(Tok::Num(n)) => Ok((*n, i + 2)),
            _ => Err("expected a number after '+'".into()),
        },
        Some(Tok::Minus) => match toks.get(i + 1) {
            Some(Tok::Num(n)) => Ok((-*n, i + 2)),
            _ => Err("expected a number after '-'".into()),
        },
        Some(t) => Err(format!("unexpected {t:?} in series values")),
        None => Err("unexpected end of series values".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::is_stale;

    fn vals(s: &str) -> Vec<Option<f64>> {
        expand_values(s).unwrap()
    }

    #[test]
    fn expanding_notation() {
        assert_eq!(vals("0+10x3"), vec![Some(0.0), Some(10.0), Some(20.0), Some(30.0)]);
        assert_eq!(vals("1-1x2"), vec![Some(1.0), Some(0.0), Some(-1.0)]);
        assert_eq!(vals("5x2"), vec![Some(5.0); 3]);
        assert_eq!(vals("_ _x2 3"), vec![None, None, None, Some(3.0)]);
        assert_eq!(vals("-2+1x1"), vec![Some(-2.0), Some(-1.0)]);
        assert_eq!(vals("-1 2"), vec![Some(-1.0), Some(2.0)]);
        assert_eq!(vals("3x0 4"), vec![Some(3.0), Some(4.0)]);
        assert_eq!(vals("1+1x1 10-1x1"), vec![Some(1.0), Some(2.0), Some(10.0), Some(9.0)]);
        assert_eq!(vals("1 -1 5"), vec![Some(1.0), Some(-1.0), Some(5.0)]);
        assert_eq!(vals("2 -1x2"), vec![Some(2.0), Some(-1.0), Some(-1.0), Some(-1.0)]);
        // Rejected by promtool too.
        for bad in ["1-1", "1+1", "-2+-1x2", "-Inf x2", "1 - 1 x 3", "Infx2", "0xff", "5x 3"] {
            assert!(expand_values(bad).is_err(), "{bad}");
        }
        assert_eq!(vals("1e3 .5 0x2"), vec![Some(1000.0), Some(0.5), Some(0.0), Some(0.0), Some(0.0)]);
        let v = vals("Inf -Inf NaN stale");
        assert_eq!(v[0], Some(f64::INFINITY));
        assert_eq!(v[1], Some(f64::NEG_INFINITY));
        assert!(v[2].unwrap().is_nan() && !is_stale(v[2].unwrap()));
        assert!(is_stale(v[3].unwrap()));
        // Go accumulates by repeated addition: 0.1 added 3 times is not 0.3.
        assert_eq!(vals("0+0.1x3")[3], Some(0.1 + 0.1 + 0.1));
        assert!(expand_values("1+x3").is_err());
        assert!(expand_values("abc").is_err());
    }

    #[test]
    fn series_lines() {
        let (l, v) = parse_series_line(r#"http_requests{job="api", path="/a\"b"} 1 2"#).unwrap();
        assert_eq!(l.name(), Some("http_requests"));
        assert_eq!(l.get("path"), Some("/a\"b"));
        assert_eq!(v.len(), 2);
        let (l, v) = parse_series_line(r#"{__name__="x", a="b"} 1+1x2"#).unwrap();
        assert_eq!(l.name(), Some("x"));
        assert_eq!(v.len(), 3);
        let (l, _) = parse_series_line("up 1").unwrap();
        assert_eq!(l.to_string(), "up{}");
        assert!(parse_series_line(r#"x{a="b" 1"#).is_err());
        assert!(parse_series_line(r#"x{a=b} 1"#).is_err());
        assert!(parse_series_line("9x 1").is_err());
    }
}
