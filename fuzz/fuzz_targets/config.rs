//! The configuration file: TOML, then opsdeck's validation (positions in every error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = opsdeck::config::Config::parse(text, Path::new("fuzz.toml"));
});
