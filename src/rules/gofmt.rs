//! Go's number and duration formatting, bit-for-bit where rule files and promtool show them:
//! `%v` of a float64 (`1e+06`, `1.5e-05`, `4.999999999999998`), `%.4g`, `strconv.FormatFloat(v,
//! 'E', -1, 64)`, `time.Duration.String()` and Prometheus's `model.Duration.String()`.

/// Decimal digits (no trailing zeros) and the decimal point position: value = 0.DIGITS × 10^dp.
fn digits(v: f64, prec: Option<usize>) -> (Vec<u8>, i32) {
    if v == 0.0 {
        return (vec![], 0);
    }
    let s = match prec {
        None => format!("{:e}", v.abs()),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == [b'0'] {
        return (vec![], 0);
    }
    (d, exp + 1)
}

fn fmt_e(out: &mut String, d: &[u8], dp: i32, prec: usize, upper: bool) {
    out.push(*d.first().unwrap_or(&b'0') as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(*d.get(i).unwrap_or(&b'0') as char);
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(out: &mut String, d: &[u8], dp: i32, prec: usize) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(*d.get(i).unwrap_or(&b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i32 {
            let j = dp + i - 1;
            let c = if j < 0 { b'0' } else { *d.get(j as usize).unwrap_or(&b'0') };
            out.push(c as char);
        }
    }
}

fn special(v: f64, plus_inf: &str) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { plus_inf.into() } else { "-Inf".into() })
    } else {
        None
    }
}

/// `strconv.FormatFloat(v, 'g', prec, 64)`; `prec = None` is the shortest (-1).
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v, "+Inf") {
        return s;
    }
    let prec = prec.map(|p| p.max(1));
    let (d, dp) = digits(v, prec);
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let nd = d.len().max(1) as i32;
    let dp = if d.is_empty() { 1 } else { dp };
    let mut p = prec.map(|p| p as i32).unwrap_or(nd);
    let mut eprec = p;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        if p > nd {
            p = nd;
        }
        fmt_e(&mut out, &d, dp, (p - 1).max(0) as usize, false);
        return out;
    }
    if p > dp {
        p = nd;
    }
    fmt_f(&mut out, &d, dp, (p - dp).max(0) as usize);
    out
}

/// Go's `%v` / `fmt.Sprint` of a float64.
pub fn format_v(v: f64) -> String {
    format_g(v, None)
}

/// `strconv.FormatFloat(v, 'E', -1, 64)`, as promtool prints sample values.
pub fn format_upper_e(v: f64) -> String {
    if let Some(s) = special(v, "+Inf") {
        return s;
    }
    let (d, dp) = digits(v, None);
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let nd = d.len().max(1);
    fmt_e(&mut out, &d, dp, nd - 1, true);
    out
}

/// `%.Nf`.
pub fn format_f(v: f64, prec: usize) -> String {
    if let Some(s) = special(v, "+Inf") {
        return s;
    }
    format!("{v:.prec$}")
}

/// `%.Ne`.
pub fn format_e(v: f64, prec: usize) -> String {
    if let Some(s) = special(v, "+Inf") {
        return s;
    }
    let (d, dp) = digits(v, Some(prec + 1));
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    fmt_e(&mut out, &d, dp, prec, false);
    out
}

/// Go's `time.Duration.String()`: `5m0s`, `1h0m0s`, `1.5s`, `500ms`, `0s`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let neg = ms < 0;
    let ms = ms.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if ms < 1000 {
        out.push_str(&format!("{ms}ms"));
        return out;
    }
    let h = ms / 3_600_000;
    let m = (ms / 60_000) % 60;
    let s = (ms / 1000) % 60;
    let frac = ms % 1000;
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if frac > 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

/// Prometheus's `model.Duration.String()`: `5m`, `1h30m`, `1w`, `90d`, `0s`.
pub fn prom_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut ms = ms;
    let mut r = String::new();
    let day = 86_400_000i64;
    for (unit, mult, exact) in [
        ("y", 365 * day, true),
        ("w", 7 * day, true),
        ("d", day, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ] {
        if exact && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            r.push_str(&format!("{v}{unit}"));
            ms -= v * mult;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_v_matches_go() {
        for (v, s) in [
            (1e6, "1e+06"),
            (1.5e-5, "1.5e-05"),
            (4.999999999999998, "4.999999999999998"),
            (123456.0, "123456"),
            (0.0001, "0.0001"),
            (0.5, "0.5"),
            (100.0, "100"),
            (0.0, "0"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
            (0.16666666666666669, "0.16666666666666669"),
        ] {
            assert_eq!(format_v(v), s, "{v}");
        }
    }

    #[test]
    fn percent_4g_matches_go() {
        for (v, s) in [
            (1234.5, "1234"),
            (1234.6, "1235"),
            (0.5, "0.5"),
            (100.0, "100"),
            (12345.0, "1.234e+04"),
            (1e6, "1e+06"),
            (0.0, "0"),
            (2.0, "2"),
            (1.5, "1.5"),
            (999.99, "1000"),
            (0.000012345, "1.234e-05"),
            (33.33333, "33.33"),
        ] {
            assert_eq!(format_g(v, Some(4)), s, "{v}");
        }
    }

    #[test]
    fn upper_e_matches_strconv() {
        assert_eq!(format_upper_e(3.0), "3E+00");
        assert_eq!(format_upper_e(0.5), "5E-01");
        assert_eq!(format_upper_e(1234.5), "1.2345E+03");
        assert_eq!(format_upper_e(0.0), "0E+00");
    }

    #[test]
    fn durations() {
        assert_eq!(go_duration(300_000), "5m0s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(prom_duration(300_000), "5m");
        assert_eq!(prom_duration(5_400_000), "1h30m");
        assert_eq!(prom_duration(7 * 86_400_000), "1w");
        assert_eq!(prom_duration(90 * 86_400_000), "90d");
    }
}
