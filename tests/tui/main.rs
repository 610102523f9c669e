//! Integration tests: tui (one test binary, so the crate is linked once for all of them).

#[path = "../common/mod.rs"]
mod common;

/// Asserts a screen against `snapshots/<file>__<test>.snap`: the names the snapshots were recorded
/// under when each file was a test binary of its own. (Inside the one `tui` binary insta would look
/// for `tui__<file>__<test>.snap`, and every snapshot would count as new.)
macro_rules! assert_screen {
    ($file:literal, $test:literal, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(concat!($file, "__", $test), $value)
        })
    };
}

mod tui_alertmanager_e2e;
mod tui_deploy_e2e;
mod tui_deploy_snapshots;
mod tui_e2e;
mod tui_runbook_e2e;
mod tui_snapshots;
