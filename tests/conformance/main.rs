//! Integration tests: conformance (one test binary, so the crate is linked once for all of them).

#[path = "../common/mod.rs"]
mod common;

mod check_metrics;
mod conformance;
mod promqltest;
mod promtool_fixtures;
mod properties;
mod realworld;
mod scrape_oracle;
mod template_promtool;
mod yaml_oracle;
