//! promlint (client_golang v1.14, what promtool 2.42 runs): the same problems, worded the same,
//! sorted by metric name then text.

use super::strict::{is_camel, Family, FamilyType};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub metric: String,
    pub text: String,
}

const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

const PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega", "mibi", "giga", "gibi",
    "tera", "tebi", "peta", "pebi", "",
];

const ABBREVIATIONS: &[&str] = &["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"];

const TYPE_NAMES: &[(FamilyType, &str)] = &[
    (FamilyType::Counter, "counter"),
    (FamilyType::Gauge, "gauge"),
    (FamilyType::Summary, "summary"),
    (FamilyType::Histogram, "histogram"),
    (FamilyType::GaugeHistogram, "gauge_histogram"),
];

/// promlint's `metricUnits`. Go iterates a map here, so for a name with two unit words promtool's
/// pick varies between runs; this takes the first in the table's order.
fn metric_units(name: &str) -> Option<(String, &'static str)> {
    for (unit, base) in UNITS {
        for p in PREFIXES {
            if name.split('_').any(|s| s.len() == p.len() + unit.len() && s.starts_with(p) && s.ends_with(unit)) {
                return Some((format!("{p}{unit}"), base));
            }
        }
    }
    None
}

fn has_word(lower: &str, w: &str) -> bool {
    lower.contains(&format!("_{w}_")) || lower.ends_with(&format!("_{w}"))
}

/// The problems of every family with at least one metric, sorted as promlint sorts them.
pub fn lint(families: &[Family<'_>]) -> Vec<Problem> {
    let mut out = Vec::new();
    for f in families.iter().filter(|f| f.metrics > 0) {
        let mut add = |text: &str, times: usize| {
            for _ in 0..times {
                out.push(Problem { metric: f.name.to_string(), text: text.to_string() });
            }
        };
        let kind = f.kind.unwrap_or(FamilyType::Untyped);
        let n = f.name;
        if !f.has_help {
            add("no help text", 1);
        }
        if let Some((unit, base)) = metric_units(n) {
            if unit != base {
                add(&format!("use base unit {base:?} instead of {unit:?}"), 1);
            }
        }
        let total = n.ends_with("_total");
        if kind == FamilyType::Counter && !total {
            add(r#"counter metrics should have "_total" suffix"#, 1);
        } else if kind != FamilyType::Untyped && kind != FamilyType::Counter && total {
            add(r#"non-counter metrics should not have "_total" suffix"#, 1);
        }
        if kind != FamilyType::Untyped {
            let hist = kind == FamilyType::Histogram;
            let summ = kind == FamilyType::Summary;
            if !hist && n.ends_with("_bucket") {
                add(r#"non-histogram metrics should not have "_bucket" suffix"#, 1);
            }
            if !hist && !summ && n.ends_with("_count") {
                add(r#"non-histogram and non-summary metrics should not have "_count" suffix"#, 1);
            }
            if !hist && !summ && n.ends_with("_sum") {
                add(r#"non-histogram and non-summary metrics should not have "_sum" suffix"#, 1);
            }
            add(r#"non-histogram metrics should not have "le" label"#, f.le_labels);
            add(r#"non-summary metrics should not have "quantile" label"#, f.quantile_labels);
        }
        let lower = n.to_lowercase();
        for (_, t) in TYPE_NAMES {
            if has_word(&lower, t) {
                add(&format!("metric name should not include type '{t}'"), 1);
            }
        }
        if n.contains(':') {
            add("metric names should not contain ':'", 1);
        }
        if is_camel(n.as_bytes()) {
            add("metric names should be written in 'snake_case' not 'camelCase'", 1);
        }
        add("label names should be written in 'snake_case' not 'camelCase'", f.camel_labels);
        for a in ABBREVIATIONS {
            if has_word(&lower, a) {
                add("metric names should not contain abbreviated units", 1);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::strict::parse;

    fn texts(s: &str) -> Vec<String> {
        lint(&parse(s.as_bytes()).unwrap()).into_iter().map(|p| format!("{} {}", p.metric, p.text)).collect()
    }

    #[test]
    fn promlint_problems() {
        assert_eq!(
            texts("# TYPE req_ms counter\nreq_ms{fooBar=\"1\"} 1\nreq_ms{fooBar=\"2\"} 1\n"),
            vec![
                "req_ms counter metrics should have \"_total\" suffix",
                "req_ms label names should be written in 'snake_case' not 'camelCase'",
                "req_ms label names should be written in 'snake_case' not 'camelCase'",
                "req_ms metric names should not contain abbreviated units",
                "req_ms no help text",
            ]
        );
        assert_eq!(
            texts("# HELP x_minutes h\nx_minutes 1\n"),
            vec!["x_minutes use base unit \"seconds\" instead of \"minutes\""]
        );
        assert!(texts("# HELP a h\n# TYPE a gauge\n").is_empty(), "families without samples are not linted");
    }
}
