//! The template functions: Go's builtins (`printf`, comparisons, `not`, `len`, `index`,
//! `slice`, `html`, `js`, `urlquery`, ...) and Prometheus 2.42's (`humanize*`, `title`,
//! `toUpper`, `reReplaceAll`, `stripPort`, `parseDuration`, ...), each with its Go parameter
//! types (`signature`, which `exec` uses to type literals and check values) and Go's error
//! words. `query` and the functions over its results are known names (templates using them
//! parse, as in Prometheus) but opsdeck cannot run a query, so `query` fails when called.
//! `tmpl` exists only in Prometheus's HTML (console) templates, so it is not defined here.

use super::printf::{sprint, sprintf, sprintln};
use super::value::{go_time, Kind, Val};
use crate::rules::gofmt;
use std::cmp::Ordering;
use std::sync::Arc as Rc;

/// A Go parameter type, as far as argument checks need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Param {
    /// `string`
    Str,
    /// `interface{}`
    Any,
    /// `reflect.Value` (the builtins': literals become ideal constants, any value passes)
    Value,
    /// `*template.sample`
    Sample,
    /// `template.queryResult`
    Query,
}

impl Param {
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Param::Str => "string",
            Param::Any => "interface {}",
            Param::Value => "reflect.Value",
            Param::Sample => "*template.sample",
            Param::Query => "template.queryResult",
        }
    }
}

/// What functions need from outside the call: the external URL Prometheus was given.
pub(super) struct Env<'a> {
    pub(super) external_url: &'a str,
}

/// Functions Go's text/template and Prometheus's alert templates define.
pub(super) const KNOWN_FUNCS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    "call",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "pathPrefix",
    "externalURL",
    "parseDuration",
];

pub(super) fn is_func(name: &str) -> bool {
    KNOWN_FUNCS.contains(&name)
}

/// The fixed parameters and the variadic one's element type of a function (or `Time.Method`).
pub(super) fn signature(name: &str) -> (&'static [Param], Option<Param>) {
    use Param::*;
    match name {
        "not" | "len" => (&[Value], None),
        "index" | "slice" | "call" | "eq" => (&[Value], Some(Value)),
        "ne" | "lt" | "le" | "gt" | "ge" => (&[Value, Value], None),
        "printf" => (&[Str], Some(Any)),
        "print" | "println" | "html" | "js" | "urlquery" | "args" => (&[], Some(Any)),
        "first" => (&[Query], None),
        "label" => (&[Str, Sample], None),
        "value" | "strvalue" => (&[Sample], None),
        "sortByLabel" => (&[Str, Query], None),
        "reReplaceAll" => (&[Str, Str, Str], None),
        "match" => (&[Str, Str], None),
        "query" | "safeHtml" | "title" | "toUpper" | "toLower" | "graphLink" | "tableLink" | "stripPort"
        | "stripDomain" | "parseDuration" | "Time.Format" => (&[Str], None),
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage" | "humanizeTimestamp" | "toTime" => {
            (&[Any], None)
        }
        _ => (&[], None),
    }
}

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// Call the template function `f` with its evaluated arguments (the pipeline's value last).
pub(super) fn call(f: &str, args: Vec<Val>, env: &Env) -> Result<Val, String> {
    let s = |i: usize| args[i].as_str().unwrap_or_default().to_string();
    let num = |v: &Val| v.to_float();
    Ok(match f {
        "humanize" => Val::Str(humanize(num(&args[0])?)),
        "humanize1024" => Val::Str(humanize1024(num(&args[0])?)),
        "humanizeDuration" => Val::Str(humanize_duration(num(&args[0])?)),
        "humanizePercentage" => Val::Str(format!("{}%", gofmt::format_g(num(&args[0])? * 100.0, Some(4)))),
        "humanizeTimestamp" => {
            let v = num(&args[0])?;
            match float_to_time(v)? {
                None => Val::Str(gofmt::format_g(v, Some(4))),
                Some(ns) => Val::Str(go_time(ns)),
            }
        }
        "toTime" => match float_to_time(num(&args[0])?)? {
            None => return Err("value is NaN or Inf".into()),
            Some(ns) => Val::Time(ns),
        },
        "title" => Val::Str(title(&s(0))),
        "toUpper" => Val::Str(map_simple(&s(0), true)),
        "toLower" => Val::Str(map_simple(&s(0), false)),
        "stripPort" => Val::Str(match split_host_port(&s(0)) {
            Some((h, _)) => h,
            None => s(0),
        }),
        "stripDomain" => Val::Str(strip_domain(&s(0))),
        "safeHtml" => Val::Html(s(0)),
        "graphLink" => Val::Str(format!("/graph?g0.expr={}&g0.tab=0", query_escape(&s(0)))),
        "tableLink" => Val::Str(format!("/graph?g0.expr={}&g0.tab=1", query_escape(&s(0)))),
        "match" => Val::Bool(go_regex(&s(0))?.is_match(&s(1))),
        "reReplaceAll" => {
            let re = go_regex(&s(0)).map_err(|e| format!("regexp: Compile({}): {e}", backquote(&s(0))))?;
            Val::Str(re.replace_all(&s(2), s(1).as_str()).into_owned())
        }
        "parseDuration" => {
            let d = s(0);
            let bad = || format!("not a valid duration string: {}", super::value::go_quote(&d));
            if d.trim() != d || d.is_empty() {
                return Err(bad());
            }
            let ms = crate::rules::file::parse_duration_ms(&d).map_err(|_| bad())?;
            Val::F64(ms as f64 / 1000.0)
        }
        "pathPrefix" | "externalURL" => {
            // promtool gives templates no external URL (a nil *url.URL): these panic there.
            let u = env.external_url;
            let Some((_, rest)) = u.split_once("://") else { return Err(NIL_DEREF.into()) };
            let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            let path = path.split(['?', '#']).next().unwrap_or("");
            Val::Str(if f == "pathPrefix" { path.to_string() } else { u.to_string() })
        }
        "args" => {
            let mut m: Vec<(String, Val)> = args.into_iter().enumerate().map(|(i, a)| (format!("arg{i}"), a)).collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            Val::IMap(Rc::new(m))
        }
        "query" => {
            return Err("opsdeck does not support the template function `query` (templates cannot run PromQL \
                        queries here); use $value and $labels"
                .into())
        }
        "first" => return Err("first() called on vector with no elements".into()),
        "label" | "value" | "strvalue" => return Err(NIL_DEREF.into()),
        "sortByLabel" => Val::Nil,
        "printf" => Val::Str(sprintf(&s(0), &args[1..])),
        "print" => Val::Str(sprint(&args)),
        "println" => Val::Str(sprintln(&args)),
        "html" => Val::Str(html_escape(&eval_args(&args))),
        "js" => Val::Str(js_escape(&eval_args(&args))),
        "urlquery" => Val::Str(query_escape(&eval_args(&args))),
        "not" => Val::Bool(!args[0].truth()),
        "len" => match &args[0] {
            Val::Str(s) | Val::Html(s) => Val::Int(s.len() as i64),
            Val::Map(m) => Val::Int(m.len() as i64),
            Val::IMap(m) => Val::Int(m.len() as i64),
            Val::Invalid | Val::Nil => return Err("len of nil pointer".into()),
            other => return Err(format!("len of type {}", other.type_name())),
        },
        "index" => index(&args[0], &args[1..])?,
        "slice" => slice(&args[0], &args[1..])?,
        "eq" => Val::Bool(eq(&args[0], &args[1..])?),
        "ne" => Val::Bool(!eq(&args[0], &args[1..])?),
        "lt" => Val::Bool(lt(&args[0], &args[1])?),
        "le" => Val::Bool(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?),
        "gt" => Val::Bool(!(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?)),
        "ge" => Val::Bool(!lt(&args[0], &args[1])?),
        "call" => {
            return Err(match &args[0] {
                Val::Invalid | Val::Nil => "call of nil".into(),
                v => format!("non-function of type {}", v.type_name()),
            })
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

/// Methods of `*time.Time` a template may call (`(toTime $value).Unix`); None: no such method.
pub(super) fn time_method(ns: i64, m: &str, args: &[Val]) -> Option<Result<Val, String>> {
    let secs = ns.div_euclid(1_000_000_000);
    Some(Ok(match m {
        "Unix" => Val::Int(secs),
        "UnixMilli" => Val::Int(ns.div_euclid(1_000_000)),
        "UnixNano" => Val::Int(ns),
        "String" => Val::Str(go_time(ns)),
        "UTC" | "Local" => Val::Time(ns),
        "Year" => {
            Val::Int(chrono::DateTime::from_timestamp(secs, 0).map(|t| chrono::Datelike::year(&t)).unwrap_or(0) as i64)
        }
        "Format" => {
            let _ = args;
            return Some(Err("opsdeck does not support time.Time.Format in templates".into()));
        }
        _ => return None,
    }))
}

/// Prometheus's `floatToTime`: None for NaN/Inf; the time in nanoseconds, truncated to
/// milliseconds (`model.TimeFromUnixNano`).
fn float_to_time(v: f64) -> Result<Option<i64>, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(None);
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            gofmt::format_v(v)
        ));
    }
    Ok(Some((ns as i64) / 1_000_000 * 1_000_000))
}

/// text/template's `evalArgs`: a lone string as it is, anything else through `fmt.Sprint`.
fn eval_args(args: &[Val]) -> String {
    match args {
        [Val::Str(s)] => s.clone(),
        _ => {
            let a: Vec<Val> = args.iter().map(|a| if *a == Val::Nil { Val::Invalid } else { a.clone() }).collect();
            let mut s = String::new();
            for (i, v) in a.iter().enumerate() {
                let is_str = |v: &Val| matches!(v, Val::Str(_) | Val::Invalid);
                if i > 0 && !is_str(v) && !is_str(&a[i - 1]) {
                    s.push(' ');
                }
                s.push_str(&v.print());
            }
            s
        }
    }
}

/// Go's `template.HTMLEscapeString`.
pub(super) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go 1.19's `template.JSEscapeString`.
pub(super) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 || super::value::is_go_printable(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`: unreserved bytes as they are, a space as `+`, the rest `%XX`.
pub(super) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's regexp syntax in Rust's: Go's `\d \w \s \b` are ASCII-only.
fn go_regex(p: &str) -> Result<regex::Regex, String> {
    let mut out = String::with_capacity(p.len());
    let mut it = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                let Some(e) = it.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match (e, in_class) {
                    ('d', false) => "[0-9]",
                    ('D', false) => "[^0-9]",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('W', false) => "[^0-9A-Za-z_]",
                    ('s', false) => "[\\t\\n\\f\\r ]",
                    ('S', false) => "[^\\t\\n\\f\\r ]",
                    ('b', false) => "(?-u:\\b)",
                    ('B', false) => "(?-u:\\B)",
                    ('d', true) => "0-9",
                    ('w', true) => "0-9A-Za-z_",
                    ('s', true) => "\\t\\n\\f\\r ",
                    _ => "",
                };
                if rep.is_empty() {
                    out.push('\\');
                    out.push(e);
                } else {
                    out.push_str(rep);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if it.peek() == Some(&'^') {
                    out.push(it.next().unwrap_or('^'));
                }
                if it.peek() == Some(&']') {
                    out.push_str("\\]");
                    it.next();
                }
            }
            '[' if in_class && it.peek() == Some(&':') => {
                out.push('[');
                for d in it.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    regex::Regex::new(&out).map_err(|e| {
        let m = e.to_string();
        let m = m.lines().last().unwrap_or("").trim_start_matches("error: ");
        // Go's words for the common mistakes, with the whole pattern as Go quotes it.
        let m = match m {
            "unclosed group" => format!("missing closing ): `{p}`"),
            "unopened group" => "unexpected ): `".to_string() + p + "`",
            "unclosed character class" => format!("missing closing ]: `{}`", &p[p.rfind('[').unwrap_or(0)..]),
            "repetition operator missing expression" => "missing argument to repetition operator".into(),
            other => other.to_string(),
        };
        format!("error parsing regexp: {m}")
    })
}

/// Go's `regexp.quote`: backquoted when it can be.
fn backquote(s: &str) -> String {
    if !s.contains('`') && !s.chars().any(|c| c.is_control() && c != '\t') {
        format!("`{s}`")
    } else {
        super::value::go_quote(s)
    }
}

fn index(item: &Val, idx: &[Val]) -> Result<Val, String> {
    let mut item = item.clone();
    if matches!(item, Val::Invalid | Val::Nil) {
        return Err("index of untyped nil".into());
    }
    for i in idx {
        item = match (&item, i) {
            (Val::Map(m), Val::Str(k)) => {
                Val::Str(m.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default())
            }
            (Val::IMap(m), Val::Str(k)) => m.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or(Val::Nil),
            (Val::Map(_) | Val::IMap(_), Val::Invalid | Val::Nil) => {
                return Err("value is nil; should be of type string".into())
            }
            (Val::Map(_) | Val::IMap(_), k) => {
                return Err(format!("value has type {}; should be string", k.type_name()))
            }
            (Val::Str(s) | Val::Html(s), k) => {
                let x = index_arg(k, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Val::U8(*b),
                    None => return Err("reflect: string index out of range".to_string()),
                }
            }
            (other, _) => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn index_arg(k: &Val, cap: usize) -> Result<usize, String> {
    let x = match k {
        Val::Int(i) => *i,
        Val::U8(i) => *i as i64,
        Val::Invalid | Val::Nil => return Err("cannot index slice/array with nil".into()),
        other => return Err(format!("cannot index slice/array with type {}", other.type_name())),
    };
    if x < 0 || x as usize > cap {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn slice(item: &Val, idx: &[Val]) -> Result<Val, String> {
    let s = match item {
        Val::Invalid | Val::Nil => return Err("slice of untyped nil".into()),
        _ if idx.len() > 3 => return Err(format!("too many slice indexes: {}", idx.len())),
        Val::Str(s) | Val::Html(s) => s,
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if idx.len() == 3 {
        return Err("cannot 3-index slice a string".into());
    }
    let mut b = [0, s.len()];
    for (i, k) in idx.iter().enumerate() {
        b[i] = index_arg(k, s.len())?;
    }
    if b[0] > b[1] {
        return Err(format!("invalid slice index: {} > {}", b[0], b[1]));
    }
    let out = String::from_utf8_lossy(&s.as_bytes()[b[0]..b[1]]).into_owned();
    Ok(if matches!(item, Val::Html(_)) { Val::Html(out) } else { Val::Str(out) })
}

fn is_nilish(v: &Val) -> bool {
    matches!(v, Val::Invalid | Val::Nil)
}

/// Go's `eq`: true when `a` equals any of `bs`; basic kinds compare by value (ints of either
/// sign with each other), different kinds are an error.
fn eq(a: &Val, bs: &[Val]) -> Result<bool, String> {
    if bs.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = a.kind();
    for b in bs {
        let k2 = b.kind();
        let truth = if k1 != k2 {
            match (a, b) {
                (Val::Int(x), Val::U8(y)) | (Val::U8(y), Val::Int(x)) => *x == *y as i64,
                _ if !is_nilish(a) && !is_nilish(b) => return Err("incompatible types for comparison".into()),
                _ => false,
            }
        } else {
            match (a, b) {
                (Val::Bool(x), Val::Bool(y)) => x == y,
                (Val::F64(x), Val::F64(y)) => x == y,
                (Val::Int(x), Val::Int(y)) => x == y,
                (Val::U8(x), Val::U8(y)) => x == y,
                _ if k1 == Kind::Str => a.as_str() == b.as_str(),
                _ if is_nilish(a) || is_nilish(b) => is_nilish(a) == is_nilish(b),
                (_, Val::Map(_) | Val::IMap(_) | Val::Data(_)) | (Val::Map(_) | Val::IMap(_) | Val::Data(_), _) => {
                    let c = if matches!(b, Val::Map(_) | Val::IMap(_) | Val::Data(_)) { b } else { a };
                    return Err(format!(
                        "non-comparable type {}: {}",
                        sprintf("%s", std::slice::from_ref(c)),
                        c.type_name()
                    ));
                }
                _ => a.type_name() == b.type_name() && a == b,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`, on basic kinds only.
fn lt(a: &Val, b: &Val) -> Result<bool, String> {
    let (k1, k2) = (a.kind(), b.kind());
    if k1 == Kind::Other || k2 == Kind::Other {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return match (a, b) {
            (Val::Int(x), Val::U8(y)) => Ok(*x < *y as i64),
            (Val::U8(x), Val::Int(y)) => Ok((*x as i64) < *y),
            _ => Err("incompatible types for comparison".into()),
        };
    }
    Ok(match (a, b) {
        (Val::Bool(_), _) => return Err("invalid type for comparison".into()),
        (Val::F64(x), Val::F64(y)) => x < y,
        (Val::Int(x), Val::Int(y)) => x < y,
        (Val::U8(x), Val::U8(y)) => x < y,
        _ => a.as_str().cmp(&b.as_str()) == Ordering::Less,
    })
}

fn humanize_scaled(mut v: f64, big: &[&str], small: &[&str], base: f64) -> String {
    if v.abs() >= 1.0 || small.is_empty() {
        let mut prefix = "";
        for p in big {
            if v.abs() < base {
                break;
            }
            prefix = p;
            v /= base;
        }
        return format!("{}{prefix}", gofmt::format_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in small {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", gofmt::format_g(v, Some(4)))
}

const SMALL: &[&str] = &["m", "u", "n", "p", "f", "a", "z", "y"];

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return gofmt::format_g(v, Some(4));
    }
    humanize_scaled(v, &["k", "M", "G", "T", "P", "E", "Z", "Y"], SMALL, 1000.0)
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return gofmt::format_g(v, Some(4));
    }
    humanize_scaled(v, &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], &[], 1024.0)
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return gofmt::format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", gofmt::format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", gofmt::format_g(v, Some(4)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in SMALL {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", gofmt::format_g(v, Some(4)))
}

/// Go's `strings.Title`: the first letter of each word in title case; ASCII letters, digits and
/// `_` (and any Unicode letter or digit) continue a word, a Unicode space ends it.
fn title(s: &str) -> String {
    let sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        if sep(prev) {
            out.push_str(&map_simple(&c.to_string(), true));
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Go's `strings.ToUpper`/`ToLower`: one character to one (a mapping to several is left out).
fn map_simple(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
            if m.len() == 1 {
                m.remove(0)
            } else {
                c
            }
        })
        .collect()
}

/// Go's `net.SplitHostPort`; None where it errors.
fn split_host_port(hp: &str) -> Option<(String, String)> {
    let i = hp.rfind(':')?;
    let (host, j, k) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != i {
            return None;
        }
        (hp[1..end].to_string(), 1, end + 1)
    } else {
        let h = &hp[..i];
        if h.contains(':') {
            return None;
        }
        (h.to_string(), 0, 0)
    };
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, hp[i + 1..].to_string()))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or_else(|| (hp.to_string(), String::new()));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let first = host.split('.').next().unwrap_or("").to_string();
    if port.is_empty() {
        return first;
    }
    if first.contains(':') {
        format!("[{first}]:{port}")
    } else {
        format!("{first}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{x, xerr};

    #[test]
    fn prometheus_functions() {
        assert_eq!(x("{{ $value | humanize }}", 1234567.0), "1.235M");
        assert_eq!(x("{{ $value | humanize }}", 0.000012), "12u");
        assert_eq!(x("{{ humanize $value }} {{ humanize \"2048\" }} {{ humanize 3 }}", 0.0), "0 2.048k 3");
        assert_eq!(x("{{ $value | humanize1024 }}", 1048576.0), "1Mi");
        assert_eq!(x("{{ $value | humanizePercentage }}", 0.0512), "5.12%");
        assert_eq!(x("{{ $value | humanizeDuration }}", 3725.0), "1h 2m 5s");
        assert_eq!(x("{{ $value | humanizeDuration }}", 0.25), "250ms");
        assert_eq!(x("{{ $value | humanizeDuration }}", 90061.0), "1d 1h 1m 1s");
        assert_eq!(x("{{ $value | humanizeTimestamp }}", 1435065584.128), "2015-06-23 13:19:44.128 +0000 UTC");
        assert_eq!(x("{{ toTime 1435065584 }}", 0.0), "2015-06-23 13:19:44 +0000 UTC");
        assert_eq!(x("{{ \"hello world-wide_x\" | title }}", 0.0), "Hello World-Wide_x");
        assert_eq!(x("{{ $labels.job | toUpper }} {{ toLower \"ABC\" }}", 0.0), "API abc");
        assert_eq!(
            x("{{ $labels.instance | stripPort }} {{ stripPort \"[::1]:80\" }} {{ stripPort \"a:b:c\" }}", 0.0),
            "web-1 ::1 a:b:c"
        );
        assert_eq!(x("{{ stripDomain \"host.example.com:9090\" }} {{ stripDomain \"10.0.0.1:80\" }} {{ stripDomain \"a.b\" }}", 0.0), "host:9090 10.0.0.1:80 a");
        assert_eq!(x("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}", 0.0), "web-1");
        assert_eq!(x("{{ reReplaceAll \"\\\\d\" \"#\" \"a1٣\" }}", 0.0), "a#٣");
        assert_eq!(x("{{ if match \"^web\" $labels.instance }}m{{ end }}", 0.0), "m");
        assert_eq!(x("{{ parseDuration \"1h30m\" }} {{ parseDuration \"250ms\" }}", 0.0), "5400 0.25");
        assert_eq!(
            x("{{ graphLink \"up == 0\" }} {{ tableLink \"a/b\" }}", 0.0),
            "/graph?g0.expr=up+%3D%3D+0&g0.tab=0 /graph?g0.expr=a%2Fb&g0.tab=1"
        );
        assert_eq!(x("{{ safeHtml \"<b>\" }} {{ (args 1 \"x\").arg0 }}", 0.0), "<b> 1");
        assert!(xerr("{{ parseDuration \"x\" }}", 0.0)
            .ends_with("error calling parseDuration: not a valid duration string: \"x\""));
        let no_url = super::super::TemplateData { external_url: String::new(), ..super::super::testutil::data(0.0) };
        let e = super::super::Template::parse("n", "{{ pathPrefix }}").unwrap().expand(&no_url).unwrap_err();
        assert!(e
            .0
            .ends_with("error calling pathPrefix: runtime error: invalid memory address or nil pointer dereference"));
        assert_eq!(x("[{{ pathPrefix }}] {{ externalURL }}", 0.0), "[] http://opsdeck");
        assert!(xerr("{{ query \"up\" | first | value }}", 0.0).contains("error calling query"));
        assert!(xerr("{{ first 1 }}", 0.0).contains("can't handle 1 for arg of type template.queryResult"));
        assert!(xerr("{{ title (safeHtml \"x\") }}", 0.0).ends_with("expected string; got template.HTML"));
    }

    #[test]
    fn escaping_as_go() {
        assert_eq!(x("{{ \"orders eu/priority\" | urlquery }}", 0.0), "orders+eu%2Fpriority");
        assert_eq!(x("{{ urlquery \"a b/c?d=e&f~g*h\" }}", 0.0), "a+b%2Fc%3Fd%3De%26f~g%2Ah");
        assert_eq!(x("{{ urlquery 1 2 \"x\" }}", 0.0), "1+2x");
        assert_eq!(x("{{ html \"<a&b\\\"'>\" }}", 0.0), "&lt;a&amp;b&#34;&#39;&gt;");
        assert_eq!(
            x("{{ js \"<a href=\\\"x\\\">&=it's\\u0001\" }}", 0.0),
            "\\u003Ca href\\u003D\\\"x\\\"\\u003E\\u0026\\u003Dit\\'s\\u0001"
        );
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(x("{{ eq 1 2 3 1 }} {{ eq \"a\" \"b\" }} {{ ne $labels.job \"x\" }}", 0.0), "true false true");
        assert_eq!(x("{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}", 0.0), "true true true false");
        // NaN: gt is "not le", so it is true; lt and eq are false
        assert_eq!(x("{{ gt $value 1.0 }} {{ lt $value 1.0 }} {{ eq $value $value }}", f64::NAN), "true false false");
        assert_eq!(
            x("{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 \"x\" 1 }} {{ not 0 }}", 0.0),
            "0 2  x true"
        );
        // and/or stop at the deciding operand: the failing call after it is never made
        assert_eq!(x("{{ or 1 (query \"up\") }} {{ and 0 (query \"up\") }}", 0.0), "1 0");
        assert_eq!(x("{{ eq (index \"ab\" 0) 97 }} {{ len $labels }} {{ slice \"abcdef\" 1 3 }}", 0.0), "true 2 bc");
        assert!(xerr("{{ eq 1 1.0 }}", 0.0).ends_with("error calling eq: incompatible types for comparison"));
        assert!(xerr("{{ lt true false }}", 0.0).ends_with("error calling lt: invalid type for comparison"));
        assert!(xerr("{{ eq $labels 1 }}", 0.0).ends_with("incompatible types for comparison"));
        assert!(xerr("{{ eq $labels $labels }}", 0.0)
            .ends_with("non-comparable type map[instance:web-1:9090 job:api]: map[string]string"));
        assert_eq!(x("{{ eq nil nil }} {{ eq $value nil }}", 0.0), "true false");
        assert!(xerr("{{ index $labels 1 }}", 0.0).ends_with("value has type int; should be string"));
    }
}
