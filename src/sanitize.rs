//! The one place untrusted text (log lines, endpoint bodies, annotations, error reasons) is made
//! safe before it enters the model: every control character, C1 control (the 8-bit CSI `\x9b`
//! included), bidi override and zero-width character becomes a visible escape like `\x1b` or
//! `\u{202e}`. Nothing downstream — the TUI or headless output — can then emit a raw escape.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is escaped before it reaches a screen or a pipe.
pub fn is_dangerous(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || u == 0x7f
        || (0x80..=0x9f).contains(&u)
        // bidi embeddings/overrides/isolates and marks
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || u == 0x200e
        || u == 0x200f
        || u == 0x061c
        // zero-width and invisible formatting
        || (0x200b..=0x200d).contains(&u)
        || u == 0x2060
        || u == 0xfeff
        // line/paragraph separators break layouts like a newline does
        || u == 0x2028
        || u == 0x2029
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Text for one line of screen: every dangerous character escaped, newlines included.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

/// Text that may span lines (an exception's traceback): `\n` kept, everything else escaped.
pub fn multiline(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

fn clean(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    // Fast path: printable ASCII needs no work, and is checked byte by byte (the common case of a
    // log line); characters are decoded only from the first non-ASCII byte on.
    let bytes = s.as_bytes();
    let ascii_end = bytes.iter().position(|&b| !(0x20..0x7f).contains(&b));
    let first_bad = match ascii_end {
        None => None,
        Some(i) => s[i..]
            .char_indices()
            .find(|&(_, c)| {
                let b = c as u32;
                !(0x20..0x7f).contains(&b) && (b < 0x80 || is_dangerous(c)) && !(keep_newlines && c == '\n')
            })
            .map(|(j, c)| (i + j, c)),
    };
    let Some((start, _)) = first_bad else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..start]);
    for c in s[start..].chars() {
        if keep_newlines && c == '\n' {
            out.push('\n');
        } else if is_dangerous(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes that may not be UTF-8: decoded lossily (U+FFFD for bad sequences), then made safe.
pub fn bytes(b: &[u8]) -> String {
    line(&lossy(b)).into_owned()
}

/// Bytes as text, invalid UTF-8 sequences replaced by U+FFFD (borrowed when already valid; faster
/// than `String::from_utf8_lossy` on valid input).
pub fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// A value as JSON for a terminal or a pipe: what serde_json leaves raw (C1 controls, bidi and
/// zero-width characters, which JSON allows unescaped) is written `\u009b`, so `status --json`
/// printed to a terminal is as safe as the table, and still the same JSON to a parser.
pub fn json(value: &impl serde::Serialize, pretty: bool) -> String {
    let mut out = Vec::with_capacity(4096);
    let result = if pretty {
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, SafeJson(PrettyFormatter::new())))
    } else {
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, SafeJson(CompactFormatter)))
    };
    // Our formatter writes only ASCII escapes and serde_json's own valid UTF-8.
    match result {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"error\":{:?}}}", e.to_string()),
    }
}

use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io;

/// serde_json's formatter with one change: string fragments have their dangerous characters
/// escaped as `\uXXXX` (surrogate pairs past the BMP are not needed: none is dangerous).
struct SafeJson<F>(F);

impl<F: Formatter> Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if (c as u32) >= 0x80 && is_dangerous(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(line("hello world ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn payloads_are_visible_not_raw() {
        let payloads = [
            "\x1b[2J",                   // clear screen
            "\x1b]0;pwned\x07",          // window title
            "\x1b]52;c;aGVsbG8=\x07",    // OSC 52 clipboard write
            "\x1b]8;;http://evil\x1b\\", // OSC 8 link
            "\x1b[>0q",                  // terminal query
            "ok\rEVIL",                  // CR overwrite
            "\u{9b}31m",                 // 8-bit CSI
            "\u{202e}txt.exe",           // RTL override
            "a\u{200b}b",                // zero width space
        ];
        for p in payloads {
            let out = line(p);
            assert!(out.chars().all(|c| !is_dangerous(c)), "{p:?} -> {out:?}");
        }
        assert_eq!(line("\x1b[2J"), "\\x1b[2J");
        assert_eq!(line("\u{202e}x"), "\\u{202e}x");
        assert_eq!(line("\u{9b}"), "\\u{9b}");
    }

    #[test]
    fn multiline_keeps_newlines_only() {
        assert_eq!(multiline("a\nb\x07"), "a\nb\\x07");
    }

    #[test]
    fn json_escapes_what_serde_leaves_raw() {
        let v = serde_json::json!({"k\u{202e}": ["a\u{9b}31m", "\x1b[2J", "ü 日本"]});
        let out = json(&v, false);
        assert_eq!(out, r#"{"k\u202e":["a\u009b31m","\u001b[2J","ü 日本"]}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), v);
        let pretty = json(&v, true);
        assert!(pretty.contains("\n  \"k\\u202e\": [\n"), "{pretty}");
    }

    #[test]
    fn invalid_utf8_is_shown_lossily() {
        assert_eq!(bytes(b"ok \xff\xfe end"), "ok \u{fffd}\u{fffd} end");
    }
}
