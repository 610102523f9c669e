//! Scraping: text exposition parsing and per-target scrape limits (design §9).
//!
//! Two parsers, two strictnesses, one set of byte-level helpers (`lex`):
//! - [`text`]: the scrape path, lenient like a Prometheus 2.42 scrape (text format and OpenMetrics);
//! - [`strict`]: `promtool check metrics`'s parser, feeding [`lint`] (promlint).
//!
//! The `prometheus-parse` crate is kept as a cross-check in tests; it cannot tell the two
//! strictnesses apart, drops metric names with a colon, and is ~10x slower than the scrape parser
//! (`cargo bench --bench exposition`).

pub mod lex;
pub mod lint;
pub mod strict;
pub mod target;
pub mod text;

pub use text::{Entry, Format, MetricType, ParseError, Parser, Sample};

/// How strictly to read an exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// What a Prometheus scrape accepts.
    Scrape,
    /// What `promtool check metrics` accepts.
    Promtool,
}

/// Check that `body` parses under `strictness`; returns the number of samples (scrape) or
/// metric families (promtool).
pub fn validate(body: &[u8], strictness: Strictness, format: Format) -> Result<usize, ParseError> {
    match strictness {
        Strictness::Scrape => {
            let mut p = Parser::new(body, format);
            let mut n = 0;
            while let Some(e) = p.next()? {
                n += usize::from(matches!(e, Entry::Sample(_)));
            }
            Ok(n)
        }
        Strictness::Promtool => strict::parse(body).map(|f| f.len()),
    }
}

/// `opsdeck check metrics [FILE]`: promtool's check (stdin without a file). Exit 0 clean,
/// 1 parse error (with the line), 3 lint problems (one per line on stderr, as promtool prints).
pub fn cmd_check_metrics(file: Option<&std::path::Path>) -> i32 {
    use std::io::{Read, Write};
    let mut buf = Vec::new();
    let read = match file {
        Some(p) => std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut buf)),
        None => std::io::stdin().lock().read_to_end(&mut buf),
    };
    if let Err(e) = read {
        let what = file.map_or("standard input".to_string(), |p| p.display().to_string());
        eprintln!("opsdeck: cannot read {}: {e}", crate::sanitize::line(&what));
        return crate::exit::USAGE;
    }
    let families = match strict::parse(&buf) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error while linting: text format parsing error in line {}: {}", e.line, e.msg);
            return 1;
        }
    };
    let problems = lint::lint(&families);
    if problems.is_empty() {
        return crate::exit::OK;
    }
    let stderr = std::io::stderr();
    let mut w = std::io::BufWriter::new(stderr.lock());
    for p in &problems {
        let _ = writeln!(w, "{} {}", p.metric, p.text);
    }
    crate::exit::LINT
}

#[cfg(test)]
mod robustness {
    use super::target::{Body, ScrapeOutcome, Target, TargetState};
    use super::*;
    use rand::{Rng, SeedableRng};

    const SEEDS: &[&[u8]] = &[
        b"# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 3 1000\n",
        b"# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n",
        b"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n# EOF\n",
        b"# TYPE a counter\n# UNIT a_seconds seconds\na_total{x=\"y\"} 1 1.5 # {t=\"1\"} 2 3\n# EOF\n",
    ];

    /// Random edits of valid bodies through every parser and the ingest path: errors are fine,
    /// panics are not.
    #[test]
    fn hostile_input_never_panics() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let alphabet = b"{}=\",# \t\n\r\\abHELPTYPEUNITEOF01.e+-_:\x00\xff\xc3";
        let mut st = crate::tsdb::Storage::new(crate::tsdb::StorageOptions::default());
        let mut ts = TargetState::new(Target::new("e", "j", "http://h:1/m"));
        for i in 0..20_000 {
            let mut b = SEEDS[i % SEEDS.len()].to_vec();
            for _ in 0..rng.random_range(1..6) {
                let pos = rng.random_range(0..=b.len());
                match rng.random_range(0..3) {
                    0 => b.insert(pos, alphabet[rng.random_range(0..alphabet.len())]),
                    1 if pos < b.len() => {
                        b.remove(pos);
                    }
                    _ => b.truncate(pos),
                }
            }
            let _ = validate(&b, Strictness::Promtool, Format::Prometheus).map(|_| ());
            if let Ok(f) = strict::parse(&b) {
                let _ = lint::lint(&f);
            }
            for format in [Format::Prometheus, Format::OpenMetrics] {
                let mut p = Parser::new(&b, format);
                while let Ok(Some(_)) = p.next() {
                    let _ = p.labels().count();
                }
            }
            let ct = if i % 2 == 0 { "text/plain" } else { "application/openmetrics-text" };
            let out = ScrapeOutcome {
                started_ms: 0,
                duration: std::time::Duration::ZERO,
                result: Ok(Body { bytes: b, content_type: Some(ct.into()) }),
            };
            ts.ingest(&mut st, &out, 1000 + i as i64);
        }
    }
}
