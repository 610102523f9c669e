//! A tiny Prometheus text-format (0.0.4) writer for the demo's own metrics. Writing is all the
//! fleet needs, and a dozen lines of `write!` are simpler than a client library's registry.

use std::fmt::Write;

pub struct Expo {
    out: String,
}

impl Expo {
    pub fn new() -> Expo {
        Expo { out: String::with_capacity(16 << 10) }
    }

    /// `# HELP` and `# TYPE` lines; once per metric family, before its samples.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample line. Label values here are the demo's own constants, so no escaping is needed
    /// beyond what `escape` does for safety.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_and_samples() {
        let mut e = Expo::new();
        e.family("x_total", "counter", "Things.");
        e.sample("x_total", &[("a", "1"), ("b", "q\"")], 3.0);
        e.sample("y", &[], 0.25);
        assert_eq!(
            e.finish(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\"} 3\ny 0.25\n"
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scrape::{strict, Entry, Format, Parser};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            (-1e15f64..1e15).prop_map(f64::trunc),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
        ]
    }

    proptest! {
        /// What `Expo` prints, the scrape parser reads back: the name, every label (escapes
        /// undone) and the value (`-0` reads back as `0`, the same number); and promtool's
        /// strict parser accepts it as one family.
        #[test]
        fn print_then_parse_round_trips(
            name in "[a-zA-Z_:][a-zA-Z0-9_:]{0,15}",
            kind in prop::sample::select(vec!["counter", "gauge", "untyped"]),
            // Printable ASCII but the backslash: `family` writes help unescaped (demo constants).
            help in "[ -\\[\\]-~]{0,30}",
            labels in prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", any::<String>(), 0..5),
            v in value(),
        ) {
            let mut e = Expo::new();
            e.family(&name, kind, &help);
            let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            e.sample(&name, &pairs, v);
            let text = e.finish();

            let mut p = Parser::new(text.as_bytes(), Format::Prometheus);
            let mut got = None;
            while let Some(entry) = p.next().map_err(|err| TestCaseError::fail(format!("{err}: {text:?}")))? {
                if let Entry::Sample(s) = entry {
                    let read: BTreeMap<String, String> =
                        p.labels().map(|(k, v)| (k.to_string(), v.into_owned())).collect();
                    got = Some((s.name.to_string(), read, s.value));
                }
            }
            let (n, read, back) = got.ok_or_else(|| TestCaseError::fail(format!("no sample in {text:?}")))?;
            prop_assert_eq!(n, name);
            prop_assert_eq!(read, labels);
            if v.is_nan() {
                prop_assert!(back.is_nan());
            } else {
                prop_assert_eq!(back, v, "{:?}", text);
            }
            let families = strict::parse(text.as_bytes()).map_err(|err| TestCaseError::fail(format!("{err}: {text:?}")))?;
            prop_assert_eq!(families.len(), 1);
        }
    }
}
