//! Scraping: text exposition parsing and per-target scrape limits (design §9).
//!
//! Two parsers, two strictnesses, one set of byte-level helpers (`lex`):
//! - [`text`]: the scrape path, lenient like a Prometheus 2.42 scrape (text format and OpenMetrics);
//! - [`strict`]: `promtool check metrics`'s parser, feeding [`lint`] (promlint).
//!
//! The `prometheus-parse` crate is kept as a cross-check in tests; it cannot tell the two
//! strictnesses apart and is about 5x slower than these parsers (see benches/exposition.rs).

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
