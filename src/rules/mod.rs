//! Prometheus rule files: loading, evaluation, alert state, templates, unit tests, lints.

pub mod engine;
pub mod file;
pub mod gofmt;
pub mod template;
pub mod yaml;

use std::path::PathBuf;

pub fn cmd_check(_files: &[PathBuf], _strict: bool) -> i32 {
    eprintln!("opsdeck: rules check is not built yet");
    crate::exit::USAGE
}

pub fn cmd_test(_files: &[PathBuf]) -> i32 {
    eprintln!("opsdeck: rules test is not built yet");
    crate::exit::USAGE
}
