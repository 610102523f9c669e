//! Go's `fmt.Sprintf`, `fmt.Sprint` and `fmt.Sprintln` over template values: the verbs
//! `%v %s %q %x %X %d %b %o %c %U %t %e %E %f %F %g %G %T %%`, the flags `+ - # 0 space`, widths
//! and precisions (also `*`), and Go's in-band errors (`%!d(string=x)`, `%!s(MISSING)`,
//! `%!(EXTRA ...)`, `%!(NOVERB)`). Used by `funcs` for `printf`/`print`/`println`.

use super::value::{go_quote, Val};
use crate::rules::gofmt;

#[derive(Default, Clone, Copy)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// A width or precision is capped: a template must not be able to allocate gigabytes.
const MAX_WIDTH: usize = 4096;

/// `fmt.Sprint`: a space between operands when neither side is a string.
pub(super) fn sprint(args: &[Val]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Val::Str(_)) && !matches!(args[i - 1], Val::Str(_)) {
            s.push(' ');
        }
        s.push_str(&a.sprint());
    }
    s
}

/// `fmt.Sprintln`: spaces between all operands, and a newline.
pub(super) fn sprintln(args: &[Val]) -> String {
    let v: Vec<String> = args.iter().map(|a| a.sprint()).collect();
    v.join(" ") + "\n"
}

/// `fmt.Sprintf`.
pub(super) fn sprintf(fmt: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let c: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut ai = 0;
    while i < c.len() {
        if c[i] != '%' {
            out.push(c[i]);
            i += 1;
            continue;
        }
        i += 1;
        let mut sp = Spec::default();
        while i < c.len() {
            match c[i] {
                '+' => sp.plus = true,
                '-' => sp.minus = true,
                '#' => sp.sharp = true,
                '0' => sp.zero = true,
                ' ' => sp.space = true,
                _ => break,
            }
            i += 1;
        }
        sp.zero = sp.zero && !sp.minus;
        // width
        if c.get(i) == Some(&'*') {
            i += 1;
            match args.get(ai) {
                Some(Val::Int(w)) => {
                    ai += 1;
                    if *w < 0 {
                        sp.minus = true;
                        sp.zero = false;
                    }
                    sp.wid = Some((w.unsigned_abs() as usize).min(MAX_WIDTH));
                }
                _ => {
                    ai += usize::from(ai < args.len());
                    out.push_str("%!(BADWIDTH)");
                }
            }
        } else {
            sp.wid = digits(&c, &mut i);
        }
        if c.get(i) == Some(&'.') {
            i += 1;
            if c.get(i) == Some(&'*') {
                i += 1;
                match args.get(ai) {
                    Some(Val::Int(p)) if *p >= 0 => {
                        ai += 1;
                        sp.prec = Some((*p as usize).min(MAX_WIDTH));
                    }
                    _ => {
                        ai += usize::from(ai < args.len());
                        out.push_str("%!(BADPREC)");
                    }
                }
            } else {
                sp.prec = Some(digits(&c, &mut i).unwrap_or(0));
            }
        }
        let Some(&verb) = c.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        ai += 1;
        format_arg(&mut out, verb, arg, sp);
    }
    if ai < args.len() {
        let extra: Vec<String> = args[ai..]
            .iter()
            .map(|a| match a {
                Val::Nil | Val::Invalid => "<nil>".to_string(),
                a => format!("{}={}", a.type_name(), a.sprint()),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn digits(c: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = c.get(*i).and_then(|d| d.to_digit(10)) {
        n = (n * 10 + d as usize).min(MAX_WIDTH);
        *i += 1;
    }
    (*i > start).then_some(n)
}

fn bad_verb(out: &mut String, verb: char, arg: &Val) {
    match arg {
        Val::Nil | Val::Invalid => out.push_str(&format!("%!{verb}(<nil>)")),
        a => out.push_str(&format!("%!{verb}({}={})", a.type_name(), a.sprint())),
    }
}

/// Write `s` padded to the width: spaces (or zeros with `0`) on the left, spaces on the right
/// with `-`.
fn pad(out: &mut String, s: &str, sp: Spec) {
    let n = s.chars().count();
    let w = sp.wid.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = if sp.zero { "0" } else { " " }.repeat(w - n);
    if sp.minus {
        out.push_str(s);
        out.push_str(&" ".repeat(w - n));
    } else {
        out.push_str(&fill);
        out.push_str(s);
    }
}

fn format_arg(out: &mut String, verb: char, arg: &Val, sp: Spec) {
    if verb == 'T' {
        return pad(out, arg.type_name(), sp);
    }
    // `%+v` asks for field names (structs), not for a sign.
    let plus_v = verb == 'v' && sp.plus;
    let sp = if verb == 'v' { Spec { plus: false, ..sp } } else { sp };
    match arg {
        Val::Nil | Val::Invalid if verb == 'v' => pad(out, "<nil>", sp),
        Val::Bool(b) if verb == 'v' || verb == 't' => pad(out, &b.to_string(), sp),
        Val::F64(f) => float(out, verb, *f, sp, arg),
        Val::Int(i) => int(out, verb, *i as i128, sp, arg),
        Val::U8(i) => int(out, verb, *i as i128, sp, arg),
        Val::Str(s) | Val::Html(s) => string(out, verb, s, sp, arg),
        Val::Time(_) if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => string(out, verb, &arg.sprint(), sp, arg),
        Val::Map(m) => {
            let items: Vec<(Val, Val)> = m.iter().map(|(k, v)| (Val::Str(k.clone()), Val::Str(v.clone()))).collect();
            composite(out, verb, &items, sp);
        }
        Val::IMap(m) => {
            let items: Vec<(Val, Val)> = m.iter().map(|(k, v)| (Val::Str(k.clone()), v.clone())).collect();
            composite(out, verb, &items, sp);
        }
        Val::Data(d) => {
            let fields = [
                ("Labels", super::value::sorted_map(&d.labels)),
                ("ExternalLabels", super::value::sorted_map(&d.external_labels)),
                ("ExternalURL", Val::Str(d.external_url.clone())),
                ("Value", Val::F64(d.value)),
            ];
            out.push('{');
            for (i, (name, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if plus_v {
                    out.push_str(name);
                    out.push(':');
                }
                format_arg(out, verb, v, sp);
            }
            out.push('}');
        }
        _ => bad_verb(out, verb, arg),
    }
}

/// A map as Go's fmt prints it: `map[k:v ...]`, each key and value with the verb.
fn composite(out: &mut String, verb: char, items: &[(Val, Val)], sp: Spec) {
    out.push_str("map[");
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        format_arg(out, verb, k, sp);
        out.push(':');
        format_arg(out, verb, v, sp);
    }
    out.push(']');
}

fn string(out: &mut String, verb: char, s: &str, sp: Spec, arg: &Val) {
    let s: String = match sp.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    match verb {
        'v' | 's' => pad(out, &s, sp),
        'q' => {
            let q = if sp.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
                format!("`{s}`")
            } else if sp.plus {
                go_quote(&s).chars().map(|c| if c.is_ascii() { c.to_string() } else { ascii_escape(c) }).collect()
            } else {
                go_quote(&s)
            };
            pad(out, &q, sp)
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if sp.space && i > 0 {
                    h.push(' ');
                }
                if sp.sharp && (sp.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                h.push_str(&if verb == 'x' { format!("{b:02x}") } else { format!("{b:02X}") });
            }
            pad(out, &h, sp)
        }
        _ => bad_verb(out, verb, arg),
    }
}

fn int(out: &mut String, verb: char, v: i128, sp: Spec, arg: &Val) {
    let neg = v < 0;
    let u = v.unsigned_abs();
    let body = match verb {
        'v' | 'd' => u.to_string(),
        'b' => format!("{u:b}"),
        'o' | 'O' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'c' => return pad(out, &char::from_u32(v as u32).unwrap_or('\u{FFFD}').to_string(), sp),
        'q' => {
            let ch = char::from_u32(v as u32).unwrap_or('\u{FFFD}');
            let q = go_quote(&ch.to_string());
            let inner = &q[1..q.len() - 1];
            let inner = if ch == '\'' { "\\'".to_string() } else { inner.replace("\\\"", "\"") };
            return pad(out, &format!("'{inner}'"), sp);
        }
        'U' => {
            let mut s = format!("U+{u:04X}");
            if sp.sharp {
                if let Some(ch) = char::from_u32(v as u32) {
                    s.push_str(&format!(" '{ch}'"));
                }
            }
            return pad(out, &s, sp);
        }
        _ => return bad_verb(out, verb, arg),
    };
    let mut digits = body;
    let mut prec = 0;
    if let Some(p) = sp.prec {
        if p == 0 && u == 0 {
            return pad(out, "", Spec { zero: false, ..sp });
        }
        prec = p;
    } else if sp.zero && sp.wid.is_some() {
        prec = sp.wid.unwrap_or(0);
        if neg || sp.plus || sp.space {
            prec = prec.saturating_sub(1);
        }
    }
    if digits.len() < prec {
        digits = "0".repeat(prec - digits.len()) + &digits;
    }
    if sp.sharp {
        match verb {
            'b' => digits = format!("0b{digits}"),
            'o' if !digits.starts_with('0') => digits = format!("0{digits}"),
            'x' => digits = format!("0x{digits}"),
            'X' => digits = format!("0X{digits}"),
            _ => {}
        }
    }
    if verb == 'O' {
        digits = format!("0o{digits}");
    }
    let sign = if neg {
        "-"
    } else if sp.plus {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    };
    pad(out, &format!("{sign}{digits}"), Spec { zero: false, ..sp })
}

fn float(out: &mut String, verb: char, v: f64, sp: Spec, arg: &Val) {
    let num = match verb {
        'v' | 'g' => gofmt::format_g(v, sp.prec),
        'G' => gofmt::format_g(v, sp.prec).to_uppercase(),
        'f' | 'F' => gofmt::format_f(v, sp.prec.unwrap_or(6)),
        'e' => gofmt::format_e(v, sp.prec.unwrap_or(6)),
        'E' => gofmt::format_e(v, sp.prec.unwrap_or(6)).to_uppercase(),
        'x' | 'X' if sp.prec.is_none() => {
            let h = hex_float(v);
            if verb == 'X' {
                h.to_uppercase()
            } else {
                h
            }
        }
        _ => return bad_verb(out, verb, arg),
    };
    // `num` with an explicit sign, as Go's fmtFloat handles it.
    let (mut sign, body) = match num.strip_prefix('-') {
        Some(b) => ('-', b.to_string()),
        None => ('+', num.trim_start_matches('+').to_string()),
    };
    if sp.space && sign == '+' && !sp.plus {
        sign = ' ';
    }
    if body == "Inf" || body == "NaN" || body == "INF" || body == "NAN" {
        let s = if body.starts_with('N') && !sp.space && !sp.plus { body } else { format!("{sign}{body}") };
        return pad(out, &s, Spec { zero: false, ..sp });
    }
    if sp.plus || sign != '+' {
        let w = sp.wid.unwrap_or(0);
        let n = body.chars().count() + 1;
        if sp.zero && w > n {
            out.push(sign);
            out.push_str(&"0".repeat(w - n));
            out.push_str(&body);
            return;
        }
        return pad(out, &format!("{sign}{body}"), sp);
    }
    if sp.zero && sp.wid.is_some_and(|w| w > body.len()) {
        out.push_str(&"0".repeat(sp.wid.unwrap_or(0) - body.len()));
        out.push_str(&body);
        return;
    }
    pad(out, &body, sp)
}

/// `strconv.QuoteToASCII`'s escape of a non-ASCII character.
fn ascii_escape(c: char) -> String {
    if (c as u32) < 0x10000 {
        format!("\\u{:04x}", c as u32)
    } else {
        format!("\\U{:08x}", c as u32)
    }
}

/// `strconv.FormatFloat(v, 'x', -1, 64)`: `0x1.8p+00`.
fn hex_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0x0p+00");
    }
    let bits = v.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // subnormal: normalize
        let shift = mant.leading_zeros() as i64 - 11;
        mant = (mant << shift) & ((1u64 << 52) - 1);
        exp = 1 - shift;
    }
    let e = exp - 1023;
    let frac = format!("{mant:013x}");
    let frac = frac.trim_end_matches('0');
    let dot = if frac.is_empty() { String::new() } else { format!(".{frac}") };
    let es = if e < 0 { format!("-{:02}", -e) } else { format!("+{e:02}") };
    format!("{sign}0x1{dot}p{es}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: &[Val]) -> String {
        sprintf(fmt, args)
    }

    #[test]
    fn verbs_as_go_formats_them() {
        let s = |x: &str| Val::Str(x.into());
        assert_eq!(
            f("%d|%5d|%-5d|%05d|%+d|%x|%X|%#x|%o|%b|%c|%q|%U", &vec![Val::Int(42); 13]),
            "42|   42|42   |00042|+42|2a|2A|0x2a|52|101010|*|'*'|U+002A"
        );
        assert_eq!(f("%d %x", &[Val::Int(-255), Val::Int(-255)]), "-255 -ff");
        assert_eq!(
            f(
                "%s|%q|%v|%x|%5s|%-5s|%.2s|%05s",
                &[s("héllo\""), s("a\"é\n"), s("v"), s("hi"), s("ab"), s("ab"), s("abc"), s("ab")]
            ),
            "héllo\"|\"a\\\"é\\n\"|v|6869|   ab|ab   |ab|000ab"
        );
        assert_eq!(
            f(
                "%.2f|%5.1f|%e|%g|%v|%08.3f|%+.1f|%E|%G",
                &[
                    Val::F64(3.14259),
                    Val::F64(3.14259),
                    Val::F64(1234.5678),
                    Val::F64(0.000012345),
                    Val::F64(1e21),
                    Val::F64(-3.14259),
                    Val::F64(2.0),
                    Val::F64(1234.5678),
                    Val::F64(1e-7)
                ]
            ),
            "3.14|  3.1|1.234568e+03|1.2345e-05|1e+21|-003.143|+2.0|1.234568E+03|1E-07"
        );
        assert_eq!(
            f(
                "%x|%f|%5.1f|%v",
                &[Val::F64(1.5), Val::F64(f64::INFINITY), Val::F64(f64::NAN), Val::F64(f64::NEG_INFINITY)]
            ),
            "0x1.8p+00|+Inf|  NaN|-Inf"
        );
        assert_eq!(
            f("%t|%v|%T|%T|%T", &[Val::Bool(true), Val::Bool(false), Val::F64(1.0), s(""), Val::Int(1)]),
            "true|false|float64|string|int"
        );
    }

    #[test]
    fn go_inband_errors() {
        assert_eq!(f("%d", &[Val::Str("x".into())]), "%!d(string=x)");
        assert_eq!(f("%s", &[Val::F64(1.5)]), "%!s(float64=1.5)");
        assert_eq!(f("%f", &[Val::Int(3)]), "%!f(int=3)");
        assert_eq!(f("%s %s", &[Val::Str("a".into())]), "a %!s(MISSING)");
        assert_eq!(f("%s", &[Val::Str("a".into()), Val::Int(1), Val::Nil]), "a%!(EXTRA int=1, <nil>)");
        assert_eq!(f("100%", &[]), "100%!(NOVERB)");
        assert_eq!(f("%d%%", &[Val::Int(5)]), "5%");
        assert_eq!(f("%v %d", &[Val::Nil, Val::Nil]), "<nil> %!d(<nil>)");
        assert_eq!(
            f("%*d|%-*d|%.*f", &[Val::Int(4), Val::Int(7), Val::Int(3), Val::Int(7), Val::Int(1), Val::F64(2.25)]),
            "   7|7  |2.2"
        );
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(sprint(&[Val::Int(1), Val::Int(2), Val::Str("a".into()), Val::Int(3)]), "1 2a3");
        assert_eq!(sprintln(&[Val::Int(1), Val::Str("a".into())]), "1 a\n");
    }
}
