//! Rule files: the YAML loader (positioned YAML read as go-yaml reads it, then `rulefmt`'s
//! validation, PromQL and templates included), `rules check`'s lints, and compiling the rules
//! into an engine, as `rules check` and the dashboard load them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::rules::{check, file, EngineOptions, PromqlEvaluator, RuleEngine, RuleSet};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match file::parse_rule_file(Path::new("fuzz.yml"), text) {
        Ok(rf) => {
            let _ = check::lint_files(std::slice::from_ref(&rf));
            let set = RuleSet { files: vec![rf] };
            let _ = RuleEngine::new(PromqlEvaluator::default(), &set, EngineOptions::default());
        }
        Err(errs) => assert!(!errs.is_empty(), "a failed load says why"),
    }
});
