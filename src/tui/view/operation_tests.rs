//! Render snapshots of the deploy views over the fixed dashboard (`app::fixture`): the progress
//! view in verify (gates in every verdict), bake, rolled back and rollback failed; the history
//! view with an interrupted operation; the header's status row and read-only mark; `q` asking.

use crate::app::fixture::{self, ch, key};
use crate::app::{Final, Phase, State};
use crate::tui::view::test_screen as screen;
use crossterm::event::KeyCode;

/// Snapshots named `<file>__<test>` as the integration tests' are (`tests/tui/main.rs`).
macro_rules! assert_screen {
    ($name:literal, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(concat!("tui_deploy_ops__", $name), $value)
        })
    };
}

/// Staging chosen, histories read, staging's deploy of 1.6.0-bad at `upto`, its progress open.
fn progress(upto: Phase, last: Option<Final>) -> State {
    let mut s = fixture::full();
    fixture::histories(&mut s, false);
    s.handle_key(ch('2'));
    fixture::deploy_staging(&mut s, upto, last);
    s.handle_key(ch('o'));
    s
}

#[test]
fn progress_verify_with_gates_100x30() {
    let out = screen(&progress(Phase::Verify, None), 100, 30);
    for want in ["⟳ verify 3/10", "✖ error_rate", "✔ latency_p95", "? saturation", "⚠ queue_depth", "inconclusive"]
    {
        assert!(out.contains(want), "{want}:\n{out}");
    }
    assert!(out.contains("⟳ staging: deploy 1.6.0-bad · verify 3/10"), "the header row:\n{out}");
    assert!(out.contains("HTTP 202 Accepted") && out.contains("c cancel"), "{out}");
    assert_screen!("progress_verify_with_gates_100x30", out);
}

#[test]
fn progress_bake_100x30() {
    let out = screen(&progress(Phase::Bake, None), 100, 30);
    assert!(out.contains("bake 12s left (until 22:13:32)"), "{out}");
    assert_screen!("progress_bake_100x30", out);
}

#[test]
fn progress_rolled_back_100x30() {
    let out = screen(&progress(Phase::Rollback, Some(Final::RolledBack)), 100, 30);
    assert!(out.contains("↩ ROLLED BACK"), "{out}");
    let re = regex::Regex::new(r"(?i)rolling back|rolled back").unwrap();
    assert!(out.lines().any(|l| re.is_match(l)) && out.contains("fail"), "{out}");
    assert!(out.contains("1.6.0-bad failed: health check failed: HTTP 503; rolling back to 1.5.0"), "kept: {out}");
    assert!(!out.contains("c cancel"), "nothing left to cancel:\n{out}");
    assert_screen!("progress_rolled_back_100x30", out);
}

#[test]
fn progress_rollback_failed_100x30() {
    let out = screen(&progress(Phase::Rollback, Some(Final::RollbackFailed)), 100, 30);
    assert!(out.contains("✖ ROLLBACK FAILED") && out.contains("A human is needed"), "{out}");
    assert!(out.contains("✖ staging: 1.6.0-bad failed, ROLLBACK FAILED"), "the header row:\n{out}");
    assert_screen!("progress_rollback_failed_100x30", out);
}

#[test]
fn progress_waiting_for_the_engine_80x24() {
    let mut s = fixture::full();
    fixture::histories(&mut s, false);
    s.handle_key(ch('2'));
    s.handle_key(ch('r'));
    s.handle_key(ch('y'));
    let out = screen(&s, 80, 24);
    assert!(out.contains("rollback to 1.5.0 requested: waiting"), "{out}");
    assert_screen!("progress_waiting_for_the_engine_80x24", out);
}

#[test]
fn history_interrupted_100x30() {
    let mut s = fixture::full();
    fixture::histories(&mut s, true);
    s.handle_key(ch('2'));
    s.handle_key(ch('H'));
    let out = screen(&s, 100, 30);
    for want in
        ["⚠ interrupted: deploy 1.6.0 by alice", "v verify now", "r roll back to 1.5.0-bad", "forced", "↩ rolled back"]
    {
        assert!(out.contains(want), "{want}:\n{out}");
    }
    assert!(out.contains("H: verify / roll back / mark resolved"), "the banner under the header:\n{out}");
    let first = out.lines().position(|l| l.contains("deploy    1.6.0 ")).unwrap();
    let oldest = out.lines().position(|l| l.contains("deploy    1.4.0 ")).unwrap();
    assert!(first < oldest, "newest first:\n{out}");
    assert_screen!("history_interrupted_100x30", out);
}

#[test]
fn read_only_header_and_help_100x30() {
    let mut s = fixture::full();
    s.read_only = true;
    s.handle_key(ch('?'));
    let out = screen(&s, 100, 30);
    assert!(out.lines().next().unwrap().contains("READ-ONLY"), "{out}");
    assert!(out.contains("✖ deploy: pick version") && out.contains("✖ acknowledge alert"), "{out}");
    assert!(out.contains("refused: read-only"), "{out}");
    assert_screen!("read_only_header_and_help_100x30", out);
}

#[test]
fn q_while_deploying_asks_160x45() {
    let mut s = progress(Phase::Verify, None);
    s.handle_key(ch('q'));
    let out = screen(&s, 160, 45);
    let re = regex::Regex::new(r"quit|exit|leave").unwrap();
    assert!(out.lines().any(|l| re.is_match(l) && !l.contains("q quit")), "{out}");
    assert_screen!("q_while_deploying_asks_160x45", out);
    s.handle_key(key(KeyCode::Esc));
    let out = screen(&s, 160, 45);
    assert!(out.contains("Deploy 1.6.0-bad to staging") && out.contains("⟳ verify 3/10"), "back to it:\n{out}");
}

#[test]
fn gate_values_keep_their_digits() {
    use super::gate_value;
    assert_eq!(gate_value(0.008), "0.008");
    assert_eq!(gate_value(0.382), "0.382");
    assert_eq!(gate_value(2.0), "2");
    assert_eq!(gate_value(0.0), "0");
    assert_eq!(gate_value(0.00004), "4.00e-5");
    assert_eq!(gate_value(1234.0), "1.23k");
    assert_eq!(gate_value(f64::NAN), "NaN");
}
