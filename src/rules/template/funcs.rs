//! The template functions: Go's builtins (`printf`, `print`, comparisons, `and`/`or`/`not`,
//! `len`, `index`, ...) and Prometheus's (`humanize*`, `title`, `toUpper`, `reReplaceAll`,
//! `stripPort`, ...), with Go's argument checks and error words. `query` and the functions over
//! query results are known names (so templates using them parse, as in Prometheus) but fail when
//! called: opsdeck does not run queries from templates. Called by `exec`; `parse` checks names
//! against `KNOWN_FUNCS`.

use super::value::{map_get, Val};
use crate::rules::gofmt;

/// Functions Prometheus (and Go's text/template) define. Unknown names are a parse error, as in Go.
pub(super) const KNOWN_FUNCS: &[&str] = &[
    // Go builtins
    "and",
    "or",
    "not",
    "len",
    "index",
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
    "slice",
    "call",
    // Prometheus
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

fn want_str(f: &str, v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(format!("error calling {f}: wrong type for value; expected string; got {}", other.type_name())),
    }
}

fn arity(f: &str, args: &[Val], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("wrong number of args for {f}: want {n} got {}", args.len()));
    }
    Ok(())
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

fn humanize_timestamp(v: f64) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(gofmt::format_g(v, Some(4)));
    }
    // model.TimeFromUnixNano: nanoseconds truncated to milliseconds.
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            gofmt::format_v(v)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    let t = chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("timestamp {v} out of range"))?;
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as u32;
    // Go's time.Time String(): "2006-01-02 15:04:05.999999999 -0700 MST"
    let frac = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_string() };
    Ok(format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S")))
}

/// Go's `strings.Title`: upper-case the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn compare(f: &str, a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    let r = match (a, b) {
        (Val::F64(x), Val::F64(y)) => x.partial_cmp(y),
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) if f == "eq" || f == "ne" => Some(x.cmp(y)),
        _ => return Err(format!("error calling {f}: incompatible types for comparison")),
    };
    // NaN is handled by the callers (it compares unequal to everything).
    Ok(r.unwrap_or(Ordering::Less))
}

/// Call the template function `f` (a pipeline's previous value is the last of `args`).
pub(super) fn call(f: &str, args: Vec<Val>) -> Result<Val, String> {
    let num = |v: &Val| v.to_float().map_err(|e| format!("error calling {f}: {e}"));
    match f {
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage" | "humanizeTimestamp" => {
            arity(f, &args, 1)?;
            let v = num(&args[0])?;
            Ok(Val::Str(match f {
                "humanize" => humanize(v),
                "humanize1024" => humanize1024(v),
                "humanizeDuration" => humanize_duration(v),
                "humanizePercentage" => format!("{}%", gofmt::format_g(v * 100.0, Some(4))),
                _ => humanize_timestamp(v).map_err(|e| format!("error calling {f}: {e}"))?,
            }))
        }
        "title" | "toUpper" | "toLower" | "stripPort" | "stripDomain" => {
            arity(f, &args, 1)?;
            let s = want_str(f, &args[0])?;
            Ok(Val::Str(match f {
                "title" => title(&s),
                "toUpper" => s.to_uppercase(),
                "toLower" => s.to_lowercase(),
                "stripPort" => strip_port(&s),
                _ => strip_domain(&s),
            }))
        }
        "printf" => {
            if args.is_empty() {
                return Err("wrong number of args for printf: want at least 1 got 0".into());
            }
            let fmt = want_str(f, &args[0])?;
            Ok(Val::Str(sprintf(&fmt, &args[1..])))
        }
        "print" | "println" => Ok(Val::Str(sprint(f, &args))),
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => comparison(f, &args),
        "and" => Ok(args.iter().find(|a| !a.truth()).or(args.last()).cloned().unwrap_or(Val::Nil)),
        "or" => Ok(args.iter().find(|a| a.truth()).or(args.last()).cloned().unwrap_or(Val::Nil)),
        "not" => {
            arity(f, &args, 1)?;
            Ok(Val::Bool(!args[0].truth()))
        }
        "len" => {
            arity(f, &args, 1)?;
            match &args[0] {
                Val::Str(s) => Ok(Val::Int(s.len() as i64)),
                Val::Map(m) => Ok(Val::Int(m.len() as i64)),
                other => Err(format!("error calling len: len of type {}", other.type_name())),
            }
        }
        "index" => {
            arity(f, &args, 2)?;
            match (&args[0], &args[1]) {
                (Val::Map(m), Val::Str(k)) => Ok(map_get(m, k)),
                (a, _) => Err(format!("error calling index: can't index item of type {}", a.type_name())),
            }
        }
        "match" => {
            arity(f, &args, 2)?;
            let re = regex::Regex::new(&want_str(f, &args[0])?).map_err(|e| format!("error calling match: {e}"))?;
            Ok(Val::Bool(re.is_match(&want_str(f, &args[1])?)))
        }
        "reReplaceAll" => {
            arity(f, &args, 3)?;
            let re =
                regex::Regex::new(&want_str(f, &args[0])?).map_err(|e| format!("error calling reReplaceAll: {e}"))?;
            let repl = go_repl(&want_str(f, &args[1])?);
            Ok(Val::Str(re.replace_all(&want_str(f, &args[2])?, repl.as_str()).into_owned()))
        }
        "pathPrefix" => Ok(Val::Str(String::new())),
        "externalURL" => Ok(Val::Str(String::new())),
        "safeHtml" | "html" | "js" | "urlquery" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(args[0].print()))
        }
        "query" => Err("error calling query: opsdeck does not support the template function `query` \
                        (templates cannot run PromQL queries here); use $value and $labels"
            .into()),
        other => Err(format!("error calling {other}: the template function `{other}` is not supported by opsdeck")),
    }
}

/// `eq`, `ne`, `lt`, `le`, `gt`, `ge` (`eq a b c...` is true if `a` equals any of the others).
fn comparison(f: &str, args: &[Val]) -> Result<Val, String> {
    use std::cmp::Ordering::*;
    if args.len() < 2 {
        return Err(format!("wrong number of args for {f}: want 2 got {}", args.len()));
    }
    if f == "eq" {
        // eq a b c...: true if a equals any of the others.
        for b in &args[1..] {
            if compare(f, &args[0], b)? == Equal && !is_nan(&args[0]) {
                return Ok(Val::Bool(true));
            }
        }
        return Ok(Val::Bool(false));
    }
    arity(f, args, 2)?;
    let o = compare(f, &args[0], &args[1])?;
    let nan = is_nan(&args[0]) || is_nan(&args[1]);
    Ok(Val::Bool(match f {
        "ne" => nan || o != Equal,
        "lt" => !nan && o == Less,
        "le" => !nan && o != Greater,
        "gt" => !nan && o == Greater,
        _ => !nan && o != Less,
    }))
}

/// Go's `fmt.Sprint` (spaces between operands when neither is a string) and `fmt.Sprintln`.
fn sprint(f: &str, args: &[Val]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && (f == "println" || !(matches!(a, Val::Str(_)) || matches!(args[i - 1], Val::Str(_)))) {
            s.push(' ');
        }
        s.push_str(&a.print());
    }
    if f == "println" {
        s.push('\n');
    }
    s
}

fn is_nan(v: &Val) -> bool {
    matches!(v, Val::F64(f) if f.is_nan())
}

/// Go's `${1}` / `$1` replacement syntax is also Rust regex's; `$name` must be braced in Rust to
/// stop at non-word chars the same way, which Go also does. Nothing to translate.
fn go_repl(s: &str) -> String {
    s.to_string()
}

fn strip_port(s: &str) -> String {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once("]:") {
            return host.to_string();
        }
        return s.to_string();
    }
    match s.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h.to_string(),
        _ => s.to_string(),
    }
}

fn strip_domain(s: &str) -> String {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_string();
    }
    let first = host.split('.').next().unwrap_or(host);
    match port {
        Some(p) => format!("{first}:{p}"),
        None => first.to_string(),
    }
}

/// Go's `fmt.Sprintf` for the verbs rule templates use: `%s %v %d %f %g %e %x %q %t %%` with
/// flags, width and precision.
fn sprintf(fmt: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut ai = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = it.peek() {
            if "+-# 0".contains(f) {
                flags.push(f);
                it.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        ai += 1;
        let body = format_verb(verb, arg, prec);
        let body = if flags.contains('+') && !body.starts_with('-') && matches!(arg, Val::F64(_) | Val::Int(_)) {
            format!("+{body}")
        } else {
            body
        };
        pad(&mut out, &body, &width, &flags, arg);
    }
    if ai < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[ai..].iter().map(|a| format!("{}={}", a.type_name(), a.print())).collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// One `%verb` of `sprintf` applied to its operand (Go's `%!v(type=value)` on a mismatch).
fn format_verb(verb: char, arg: &Val, prec: Option<usize>) -> String {
    match (verb, arg) {
        ('v', a) => match (a, prec) {
            (Val::F64(f), Some(p)) => gofmt::format_g(*f, Some(p)),
            _ => a.print(),
        },
        ('s', Val::Str(s)) => match prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('q', Val::Str(s)) => format!("{s:?}"),
        ('t', Val::Bool(b)) => b.to_string(),
        ('d', Val::Int(i)) => i.to_string(),
        ('x', Val::Int(i)) => format!("{i:x}"),
        ('X', Val::Int(i)) => format!("{i:X}"),
        ('x', Val::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('f' | 'F', Val::F64(v)) => gofmt::format_f(*v, prec.unwrap_or(6)),
        ('e', Val::F64(v)) => gofmt::format_e(*v, prec.unwrap_or(6)),
        ('g', Val::F64(v)) => gofmt::format_g(*v, prec),
        ('f' | 'F', Val::Int(i)) | ('e', Val::Int(i)) | ('g', Val::Int(i)) => format!("%!{verb}(int={i})"),
        (v, a) => format!("%!{v}({}={})", a.type_name(), a.print()),
    }
}

/// Write `body` into `out` padded to the `width` digits with Go's `-` and `0` flags.
fn pad(out: &mut String, body: &str, width: &str, flags: &str, arg: &Val) {
    // A width is capped: a template must not be able to allocate gigabytes.
    let w: usize = width.parse::<usize>().unwrap_or(0).min(4096);
    let n = body.chars().count();
    if n < w {
        let pad = w - n;
        if flags.contains('-') {
            out.push_str(body);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && matches!(arg, Val::F64(_) | Val::Int(_)) {
            let (sign, digits) =
                if body.starts_with('-') || body.starts_with('+') { body.split_at(1) } else { ("", body) };
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(body);
        }
    } else {
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::x;

    #[test]
    fn functions() {
        assert_eq!(x("{{ $value | humanize }}", 1234567.0), "1.235M");
        assert_eq!(x("{{ $value | humanize }}", 0.000012), "12u");
        assert_eq!(x("{{ humanize $value }}", 0.0), "0");
        assert_eq!(x("{{ $value | humanize1024 }}", 1048576.0), "1Mi");
        assert_eq!(x("{{ $value | humanizePercentage }}", 0.0512), "5.12%");
        assert_eq!(x("{{ $value | humanizeDuration }}", 3725.0), "1h 2m 5s");
        assert_eq!(x("{{ $value | humanizeDuration }}", 0.25), "250ms");
        assert_eq!(x("{{ $value | humanizeDuration }}", 90061.0), "1d 1h 1m 1s");
        assert_eq!(x("{{ $value | humanizeTimestamp }}", 1435065584.128), "2015-06-23 13:19:44.128 +0000 UTC");
        assert_eq!(x("{{ printf \"%.2f\" $value }}", 1.23456), "1.23");
        assert_eq!(x("{{ $value | printf \"%.1f%%\" }}", 12.345), "12.3%");
        assert_eq!(x("{{ printf \"%s=%v\" \"a\" $value }}", 2.0), "a=2");
        assert_eq!(x("{{ printf \"%d\" 3 }}", 0.0), "3");
        assert_eq!(x("{{ \"hello world\" | title }}", 0.0), "Hello World");
        assert_eq!(x("{{ $labels.job | toUpper }}", 0.0), "API");
        assert_eq!(x("{{ toLower \"ABC\" }}", 0.0), "abc");
        assert_eq!(x("{{ $labels.instance | stripPort }}", 0.0), "web-1");
        assert_eq!(x("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}", 0.0), "web-1");
    }
}
