//! Integration tests: tui (one test binary, so the crate is linked once for all of them).

#[path = "../common/mod.rs"]
mod common;

mod tui_deploy_e2e;
mod tui_deploy_snapshots;
mod tui_e2e;
mod tui_snapshots;
