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
