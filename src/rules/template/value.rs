//! What templates compute with: `TemplateData` (the alert a template is expanded for) and `Val`,
//! the dynamically typed value of Go's templates with Go's type names, truthiness, `fmt.Sprint`
//! output and float conversion. A leaf of the template module: the parser's literals, the
//! executor and the functions all use these, so they live below all three.

use crate::rules::gofmt;
use std::sync::Arc as Rc;

/// What a template sees: the alert's labels, value and the external labels/URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateData {
    pub labels: Vec<(String, String)>,
    pub external_labels: Vec<(String, String)>,
    pub external_url: String,
    pub value: f64,
}

/// Go's type of Prometheus's template data, as `%T` and error messages write it.
pub(super) const DATA_TYPE: &str =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }";

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    /// No value at all (Go's invalid `reflect.Value`): prints `<no value>`.
    Invalid,
    /// A nil interface (the zero of `interface{}`, an untyped `nil`): prints `<nil>`.
    Nil,
    Str(String),
    /// `html/template.HTML` (what `safeHtml` returns): a string kind, but not a `string`.
    Html(String),
    F64(f64),
    Int(i64),
    /// `uint8`, what `index` of a string gives.
    U8(u8),
    Bool(bool),
    /// `map[string]string` (labels), kept sorted by key as Go ranges and prints them.
    Map(Rc<Vec<(String, String)>>),
    /// `map[string]interface{}` (what `args` returns), sorted by key.
    IMap(Rc<Vec<(String, Val)>>),
    /// The template data struct (`.` at the top, and `$`).
    Data(Rc<TemplateData>),
    /// `*time.Time` (what `toTime` returns), as Unix nanoseconds (UTC).
    Time(i64),
}

/// Go's basic kinds, for the comparison functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

pub(super) fn sorted_map(m: &[(String, String)]) -> Val {
    let mut v = m.to_vec();
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    Val::Map(Rc::new(v))
}

impl Val {
    /// Go's `isTrue` (text/template's truth of a value).
    pub(super) fn truth(&self) -> bool {
        match self {
            Val::Invalid | Val::Nil => false,
            Val::Str(s) | Val::Html(s) => !s.is_empty(),
            Val::F64(f) => *f != 0.0,
            Val::Int(i) => *i != 0,
            Val::U8(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Map(m) => !m.is_empty(),
            Val::IMap(m) => !m.is_empty(),
            Val::Data(_) | Val::Time(_) => true,
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Val::Invalid | Val::Nil => "<nil>",
            Val::Str(_) => "string",
            Val::Html(_) => "template.HTML",
            Val::F64(_) => "float64",
            Val::Int(_) => "int",
            Val::U8(_) => "uint8",
            Val::Bool(_) => "bool",
            Val::Map(_) => "map[string]string",
            Val::IMap(_) => "map[string]interface {}",
            Val::Data(_) => DATA_TYPE,
            Val::Time(_) => "*time.Time",
        }
    }

    pub(super) fn kind(&self) -> Kind {
        match self {
            Val::Bool(_) => Kind::Bool,
            Val::Int(_) => Kind::Int,
            Val::U8(_) => Kind::Uint,
            Val::F64(_) => Kind::Float,
            Val::Str(_) | Val::Html(_) => Kind::Str,
            _ => Kind::Other,
        }
    }

    /// The string of a string-kinded value.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) | Val::Html(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `fmt.Sprint` of the value, as a template's action prints it.
    pub(super) fn print(&self) -> String {
        match self {
            Val::Invalid => "<no value>".into(),
            other => other.sprint(),
        }
    }

    /// `fmt.Sprint` of the value (`%v`).
    pub(super) fn sprint(&self) -> String {
        match self {
            Val::Invalid | Val::Nil => "<nil>".into(),
            Val::Str(s) | Val::Html(s) => s.clone(),
            Val::F64(f) => gofmt::format_v(*f),
            Val::Int(i) => i.to_string(),
            Val::U8(i) => i.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Map(m) => {
                let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", inner.join(" "))
            }
            Val::IMap(m) => {
                let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", v.sprint())).collect();
                format!("map[{}]", inner.join(" "))
            }
            Val::Data(d) => format!(
                "{{{} {} {} {}}}",
                sorted_map(&d.labels).sprint(),
                sorted_map(&d.external_labels).sprint(),
                d.external_url,
                gofmt::format_v(d.value)
            ),
            Val::Time(ns) => go_time(*ns),
        }
    }

    /// Prometheus's `convertToFloat`: float64, string (`strconv.ParseFloat`), int and uint.
    pub(super) fn to_float(&self) -> Result<f64, String> {
        match self {
            Val::F64(f) => Ok(*f),
            Val::Int(i) => Ok(*i as f64),
            Val::Str(s) => {
                parse_go_float(s).ok_or_else(|| format!("strconv.ParseFloat: parsing {}: invalid syntax", go_quote(s)))
            }
            v => Err(format!("can't convert {} to float", v.type_name())),
        }
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input (and Go's spellings of infinity and NaN).
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let ok = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !ok {
        return None;
    }
    body.parse::<f64>().ok().map(|f| sign * f)
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub(super) fn go_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) else { return format!("{ns}") };
    let frac = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_string() };
    format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

/// Go's `strconv.Quote`: printable characters as they are, the rest escaped.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` (letters, marks, numbers, punctuation, symbols
/// and the ASCII space).
pub(super) fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Unassigned/format/private-use ranges Go reports as not printable.
    !matches!(u, 0xAD | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xE000..=0xF8FF | 0xFFF9..=0xFFFF)
}
