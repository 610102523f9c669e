//! Human durations as the config and CLI write them: `500ms`, `10s`, `5m`, `1h30m`, `2d`.
//! Same units as Prometheus durations (`ms s m h d w y`), so one notation serves both.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Parse `1h30m`, `10s`, `250ms`. A bare `0` is allowed; anything else needs a unit.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let bad = || format!("invalid duration {s:?}: expected a number and a unit, like 500ms, 10s, 5m, 1h30m, 2d");
    let mut total_ms: u128 = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(bad());
        }
        let n: u128 = s[start..i].parse().map_err(|_| bad())?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms: u128 = match &s[ustart..i] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(bad()),
        };
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms).ok_or_else(bad)?).ok_or_else(bad)?;
    }
    let ms = u64::try_from(total_ms).map_err(|_| bad())?;
    Ok(Duration::from_millis(ms))
}

/// Format the way the input is written: `1h30m`, `15s`, `250ms`.
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000u128), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// serde adapter: `#[serde(deserialize_with = "crate::duration::de")]`.
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| parse(&s).map_err(serde::de::Error::custom)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "ten seconds", "10", "5x", "m5", "1h 30m"] {
            assert!(parse(s).is_err(), "{s} should fail");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["1h30m", "15s", "250ms", "2d", "1m5s"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
