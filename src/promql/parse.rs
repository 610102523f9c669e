//! Parsing: the maintained `promql-parser` crate (GreptimeDB's port of Prometheus's grammar),
//! taught the Prometheus 2.42 functions it no longer knows, with a position recovered for
//! every syntax error (the crate's messages have none).

use super::Expr;

/// A PromQL syntax error with its position in the expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("parse error at line {line}, column {column}: {message}")]
pub struct ParseError {
    /// Byte offset into the expression where the problem was detected.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse a PromQL expression.
pub fn parse(expr: &str) -> Result<Expr, ParseError> {
    if expr.trim().is_empty() {
        return Err(position_error(expr, 0, "empty expression".into()));
    }
    if let Some(at) = duration_out_of_range(expr) {
        return Err(position_error(expr, at, "duration out of range".into()));
    }
    register_functions();
    promql_parser::parser::parse(expr).map_err(|m| locate(expr, m))
}

/// The offset of a duration literal too large for Prometheus (int64 milliseconds). The parser
/// crate panics converting one to a `Duration` (found by `fuzz/`), so it is refused before.
fn duration_out_of_range(expr: &str) -> Option<usize> {
    const MAX_SECS: f64 = 9.2e15; // i64::MAX milliseconds
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // Strings hold no durations: skip them whole (escapes included).
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' && q != b'`' { 2 } else { 1 };
                }
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                let in_word =
                    start > 0 && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b':' | b'.'));
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let unit = match (b.get(i), b.get(i + 1)) {
                    (Some(b'm'), Some(b's')) => 0.001,
                    (Some(b's'), _) => 1.0,
                    (Some(b'm'), _) => 60.0,
                    (Some(b'h'), _) => 3600.0,
                    (Some(b'd'), _) => 86400.0,
                    (Some(b'w'), _) => 604800.0,
                    (Some(b'y'), _) => 31536000.0,
                    // A bare number where a duration goes (`[N]`, `[5m:N]`, `offset N`) is seconds.
                    _ if expr[..start].trim_end().ends_with(['[', ':'])
                        || expr[..start].trim_end().ends_with("offset") =>
                    {
                        1.0
                    }
                    _ => continue,
                };
                let n: f64 = expr[start..i].parse().unwrap_or(f64::INFINITY);
                if !in_word && n * unit > MAX_SECS {
                    return Some(start);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Prometheus 2.42 functions the parser crate no longer knows (renamed in Prometheus 3).
fn register_functions() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use promql_parser::parser::value::ValueType;
        use promql_parser::parser::{register_extra_functions, Function};
        let hw = Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        );
        // Only fails if a built-in has the name, in which case the parser already knows it.
        let _ = register_extra_functions(vec![hw]);
    });
}

fn position_error(expr: &str, offset: usize, message: String) -> ParseError {
    let offset = offset.min(expr.len());
    let before = &expr[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    ParseError { offset, line, column, message }
}

/// promql-parser reports messages without positions, so recover one: a token the message
/// names, the end of the input for an unfinished expression, or else the end of the longest
/// prefix that still parses (where the parser must have stopped).
fn locate(expr: &str, message: String) -> ParseError {
    if let Some(pos) = extract_position(&message) {
        return position_error(expr, pos, message);
    }
    let lower = message.to_lowercase();
    if lower.contains("unclosed") || lower.contains("end of input") || lower.contains("unexpected eof") {
        return position_error(expr, expr.trim_end().len(), message);
    }
    // A token quoted or appended after ': ' / 'for ' in the message.
    let named = message
        .split('\'')
        .nth(1)
        .filter(|_| message.matches('\'').count() >= 2)
        .or_else(|| message.rsplit_once(": ").map(|(_, t)| t))
        .or_else(|| message.rsplit_once(" for ").map(|(_, t)| t));
    if let Some(tok) = named.map(str::trim).filter(|t| !t.is_empty()) {
        if let Some(pos) = expr.find(tok) {
            return position_error(expr, pos, message);
        }
    }
    let mut best = 0;
    for (end, _) in expr.char_indices().chain(std::iter::once((expr.len(), ' '))).collect::<Vec<_>>().into_iter().rev()
    {
        let prefix = &expr[..end];
        if !prefix.trim().is_empty() && promql_parser::parser::parse(prefix).is_ok() {
            best = end;
            break;
        }
    }
    let rest = &expr[best..];
    let off = if best == 0 { 0 } else { best + (rest.len() - rest.trim_start().len()) };
    let near: String = expr[off..].chars().take_while(|c| !c.is_whitespace()).take(20).collect();
    let message = if near.is_empty() {
        format!("{message}: unexpected end of input")
    } else {
        format!("{message}: syntax error near {near:?}")
    };
    position_error(expr, off, message)
}

fn extract_position(msg: &str) -> Option<usize> {
    let idx = msg.find("position ")?;
    let digits: String = msg[idx + 9..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_duration_is_an_error_not_a_panic() {
        // Found by fuzz/ (the parser crate panics in Duration::from_secs_f64).
        let q = "e[17777777777777777777777777777777777777777777777777777777777777777777777000]3h ion";
        let e = parse(q).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (2, "duration out of range"));
        assert!(parse("rate(x[99999999999999999999y])").is_err());
        // Within range, in strings and in names: parsed as before.
        assert!(parse("rate(x[5m] offset 1h30m)").is_ok());
        assert!(parse("x{a=\"99999999999999999999y\"}").is_ok());
        assert!(parse("x99999999999999999999999s").is_ok());
    }

    #[test]
    fn parse_errors_have_positions() {
        for q in [
            "sum(rate(x[5m])",
            "foo{a=\"b\"",
            "rate(x)",
            "foo +",
            "1 + * 2",
            "foo[5x]",
            "bogus_fn(x)",
            "",
            "x{a=~\"(\"}",
        ] {
            let e = parse(q).unwrap_err();
            eprintln!("{q:?} -> {e} (offset {})", e.offset);
            assert!(e.offset <= q.len());
            assert!(!e.message.is_empty());
        }
    }
}
