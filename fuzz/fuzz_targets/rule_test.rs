//! promtool-style rule unit-test files (`rules test`): the test file reader (go-yaml v2 strict
//! decoding) and the promqltest series notation of every `input_series`, as `rules test` reads
//! them before it evaluates anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::promql::notation;
use opsdeck::rules::unittest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(series) = unittest::parse_test_file_text(text) else { return };
    for (desc, values) in series {
        let _ = notation::parse_series_line(&format!("{desc} {values}"));
    }
});
