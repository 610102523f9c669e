//! Integration tests: the command line and the layout rules (one test binary).

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod cli;
mod deploy;
mod query;
mod secrets_tls;
