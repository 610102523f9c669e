//! Values formatted the way Grafana shows them: 1.2k, 350ms, 4.5%, $1.20, 12 MiB, and ages.

use crate::app::{Millis, Unit};

/// Three significant figures at most, trailing zeros trimmed: 1.23, 12.3, 123.
fn sig(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        return format!("{v:.1e}");
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// 1.2k, 3.4M, 5.6G for big plain numbers.
pub fn short(v: f64) -> String {
    let a = v.abs();
    for (div, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
        if a >= div {
            return format!("{}{suffix}", sig(v / div));
        }
    }
    sig(v)
}

fn seconds(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0s".into()
    } else if a < 1e-3 {
        format!("{}µs", sig(v * 1e6))
    } else if a < 1.0 {
        format!("{}ms", sig(v * 1e3))
    } else if a < 60.0 {
        format!("{}s", sig(v))
    } else if a < 3600.0 {
        format!("{}min", sig(v / 60.0))
    } else {
        format!("{}h", sig(v / 3600.0))
    }
}

fn bytes(v: f64) -> String {
    let mut x = v;
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if x.abs() < 1024.0 || unit == "TiB" {
            return format!("{} {unit}", sig(x));
        }
        x /= 1024.0;
    }
    unreachable!()
}

/// A value in a panel's unit. `Unit::Percent` values are percentages already (4.5 means 4.5%).
pub fn value(v: f64, unit: Unit) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    match unit {
        Unit::S => seconds(v),
        Unit::Ms => seconds(v / 1e3),
        Unit::Percent => format!("{}%", sig(v)),
        Unit::Bytes => bytes(v),
        Unit::Usd if v.abs() >= 1000.0 => format!("${}", short(v)),
        Unit::Usd if v.abs() >= 0.01 || v == 0.0 => format!("${v:.2}"),
        Unit::Usd => format!("${}", sig(v)),
        Unit::PerSec => format!("{}/s", short(v)),
        Unit::Plain => short(v),
    }
}

/// Latency in milliseconds as the overview shows it: "42ms", "1.2s".
pub fn latency_ms(ms: f64) -> String {
    // Sub-millisecond answers (loopback) stay in ms: µs would suggest a precision HTTP timing lacks.
    if ms.is_finite() && ms < 1.0 {
        return format!("{ms:.2}ms");
    }
    value(ms, Unit::Ms)
}

/// "3s", "4m", "2h", "3d": how long ago, for ages and "since".
pub fn age(ms: Millis) -> String {
    let s = (ms.max(0) / 1000) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d", s / 86_400),
    }
}

/// "HH:MM:SS" of a timestamp in local time (offset given, so tests are deterministic).
pub fn clock(at: Millis, utc_offset_secs: i32) -> String {
    let s = (at / 1000 + utc_offset_secs as i64).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// "HH:MM" for time-axis ticks.
pub fn hhmm(at: Millis, utc_offset_secs: i32) -> String {
    let mut c = clock(at, utc_offset_secs);
    c.truncate(5);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_like() {
        assert_eq!(value(1234.0, Unit::Plain), "1.23k");
        assert_eq!(value(1_500_000.0, Unit::Plain), "1.5M");
        assert_eq!(value(42.0, Unit::Plain), "42");
        assert_eq!(value(12.5, Unit::PerSec), "12.5/s");
        assert_eq!(value(0.35, Unit::S), "350ms");
        assert_eq!(value(2.5, Unit::S), "2.5s");
        assert_eq!(value(350.0, Unit::Ms), "350ms");
        assert_eq!(value(4.5, Unit::Percent), "4.5%");
        assert_eq!(value(0.0, Unit::Percent), "0%");
        assert_eq!(value(1.2, Unit::Usd), "$1.20");
        assert_eq!(value(1234.0, Unit::Usd), "$1.23k");
        assert_eq!(value(1536.0, Unit::Bytes), "1.5 KiB");
        assert_eq!(value(f64::NAN, Unit::Plain), "NaN");
        assert_eq!(value(0.0004, Unit::S), "400µs");
    }

    #[test]
    fn ages_and_clock() {
        assert_eq!(age(3_400), "3s");
        assert_eq!(age(125_000), "2m");
        assert_eq!(age(3_700_000), "1h01m");
        assert_eq!(age(-5), "0s");
        assert_eq!(clock(3_723_000, 0), "01:02:03");
        assert_eq!(clock(0, 3600), "01:00:00");
        assert_eq!(hhmm(3_723_000, 0), "01:02");
    }
}
