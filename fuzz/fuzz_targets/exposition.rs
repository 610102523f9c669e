//! The exposition parsers at both strictnesses: the scrape path's lenient pull parser (text
//! format and OpenMetrics, labels unescaped) and `check metrics`'s strict parser with promlint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::scrape::{self, lint, strict, Entry, Format, Parser, Strictness};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut p = Parser::new(data, format);
        let mut last_line = 0;
        loop {
            match p.next() {
                Ok(Some(e)) => {
                    assert!(p.line() >= last_line, "the line number never goes back");
                    last_line = p.line();
                    if let Entry::Sample(s) = e {
                        assert!(!s.name.is_empty(), "a sample has a name");
                        assert_eq!(p.labels().count(), p.num_labels());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(e.line >= 1);
                    assert!(matches!(p.next(), Ok(None)), "a parser stops at its first error");
                    break;
                }
            }
        }
        let _ = scrape::validate(data, Strictness::Scrape, format);
    }
    if let Ok(families) = strict::parse(data) {
        let _ = lint::lint(&families);
    }
});
