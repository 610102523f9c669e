//! Byte-level helpers shared by both exposition parsers: name classes, Go-compatible number
//! parsing (Prometheus and promtool use Go's `strconv`), Go `%q` quoting for error messages,
//! and label-value unescaping.

use std::borrow::Cow;
use std::fmt::Write as _;

#[inline]
pub fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

#[inline]
pub fn is_lname_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

#[inline]
pub fn is_lname_cont(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[inline]
pub fn is_mname_start(c: u8) -> bool {
    is_lname_start(c) || c == b':'
}

#[inline]
pub fn is_mname_cont(c: u8) -> bool {
    is_lname_cont(c) || c == b':'
}

/// A valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_valid_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_mname_start(b[0]) && b[1..].iter().all(|&c| is_mname_cont(c))
}

/// A valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_valid_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_lname_start(b[0]) && b[1..].iter().all(|&c| is_lname_cont(c))
}

/// Why a number was refused, worded like Go's `strconv` errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    Syntax,
    Range,
    /// Prometheus refuses `p`, `P` and `_` (Go 1.13 float syntax) before calling strconv.
    Unsupported,
}

/// Go's `strconv.ParseFloat(s, 64)` behind Prometheus's `parseFloat` guard. Rust's parser accepts
/// the same grammar except a signed NaN and overflow to infinity, which Go refuses.
pub fn parse_float(s: &[u8]) -> Result<f64, NumError> {
    // Fast path: a plain integer of up to 15 digits is exact as f64.
    if !s.is_empty() && s.len() <= 15 && s.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for &c in s {
            v = v * 10 + (c - b'0') as u64;
        }
        return Ok(v as f64);
    }
    if s.iter().any(|&c| matches!(c, b'p' | b'P' | b'_')) {
        return Err(NumError::Unsupported);
    }
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Ok(if neg { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if s.eq_ignore_ascii_case(b"nan") {
        return Ok(f64::NAN);
    }
    // Everything else must be a decimal number; this also keeps Rust's "nan"/"inf" words out.
    if body.is_empty() || !body.iter().all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return Err(NumError::Syntax);
    }
    // SAFETY-free: the bytes checked above are ASCII.
    let text = std::str::from_utf8(s).map_err(|_| NumError::Syntax)?;
    match text.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(NumError::Range),
        Ok(v) => Ok(v),
        Err(_) => Err(NumError::Syntax),
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int(s: &[u8]) -> Result<i64, NumError> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NumError::Syntax);
    }
    let mut v: i128 = 0;
    for &c in digits {
        v = v * 10 + (c - b'0') as i128;
        if v > i64::MAX as i128 + 1 {
            return Err(NumError::Range);
        }
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).map_err(|_| NumError::Range)
}

/// The message Go's strconv would give, e.g. `strconv.ParseFloat: parsing "x": invalid syntax`.
pub fn go_num_error(func: &str, s: &[u8], e: NumError) -> String {
    match e {
        NumError::Unsupported => "unsupported character in float".to_string(),
        NumError::Syntax => format!("strconv.{func}: parsing {}: invalid syntax", go_quote(s)),
        NumError::Range => format!("strconv.{func}: parsing {}: value out of range", go_quote(s)),
    }
}

/// Go's `%q` of a string: printable text as is, the rest escaped. Control characters never reach
/// the terminal through an error message.
pub fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for chunk in s.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a byte: a quoted character literal such as `'x'` or `'\n'`.
pub fn go_quote_byte(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x20..=0x7e => format!("'{}'", c as char),
        // Go formats a byte as a rune: U+0080..U+00FF are printable Latin-1 letters.
        0xa1..=0xff if c != 0xad => format!("'{}'", c as char),
        _ => format!("'\\x{c:02x}'"),
    }
}

/// Undo the exposition escapes of a label value (Prometheus's `lvalReplacer`: `\"`, `\\`, `\n`;
/// any other backslash is kept as is). Borrows when there is nothing to undo.
pub fn unescape_label(raw: &str) -> Cow<'_, str> {
    if !raw.as_bytes().contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(unescape(raw, true))
}

/// [`unescape_label`] over bytes that may not be UTF-8 (for error messages).
pub fn unescape_label_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1)) {
            (b'\\', Some(&c @ (b'\\' | b'"'))) => {
                out.push(c);
                i += 2;
            }
            (b'\\', Some(b'n')) => {
                out.push(b'\n');
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// HELP text in the Prometheus format knows only `\\` and `\n`.
pub fn unescape_help(raw: &str) -> Cow<'_, str> {
    if !raw.as_bytes().contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(unescape(raw, false))
}

fn unescape(raw: &str, quote: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut it = raw.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.peek() {
                Some('\\') => {
                    out.push('\\');
                    it.next();
                }
                Some('n') => {
                    out.push('\n');
                    it.next();
                }
                Some('"') if quote => {
                    out.push('"');
                    it.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(parse_float(b"12"), Ok(12.0));
        assert_eq!(parse_float(b"-1.5e3"), Ok(-1500.0));
        assert_eq!(parse_float(b".5"), Ok(0.5));
        assert_eq!(parse_float(b"+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float(b"-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_float(b"NaN").unwrap().is_nan());
        assert_eq!(parse_float(b"+NaN"), Err(NumError::Syntax));
        assert_eq!(parse_float(b"1e400"), Err(NumError::Range));
        assert_eq!(parse_float(b"1e-400"), Ok(0.0));
        assert_eq!(parse_float(b"1_000"), Err(NumError::Unsupported));
        assert_eq!(parse_float(b"0x1p3"), Err(NumError::Unsupported));
        assert_eq!(parse_float(b"0x10"), Err(NumError::Syntax));
        assert_eq!(parse_float(b""), Err(NumError::Syntax));
        assert_eq!(parse_float(b"1\r"), Err(NumError::Syntax));
        assert_eq!(parse_float(b"infin"), Err(NumError::Syntax));
    }

    #[test]
    fn ints_like_go() {
        assert_eq!(parse_int(b"-12"), Ok(-12));
        assert_eq!(parse_int(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_int(b"1.0"), Err(NumError::Syntax));
    }

    #[test]
    fn quoting_and_unescaping() {
        assert_eq!(go_quote(b"a\"b\\\n\t\x01\xff"), r#""a\"b\\\n\t\x01\xff""#);
        assert_eq!(go_quote_byte(b'x'), "'x'");
        assert_eq!(go_quote_byte(b'\n'), "'\\n'");
        assert_eq!(unescape_label(r#"a\"b\\c\nd\te"#), "a\"b\\c\nd\\te");
        assert_eq!(unescape_help(r#"a\"b"#), "a\\\"b");
    }
}
