//! The deploy operations' keys and header: folding progress and history, `r` and its target,
//! `p` and its stage, `q` while an operation runs, the progress view's Esc and `c`, the history
//! view's resolutions, and read-only refusals.

use super::*;
use crate::app::confirm::ConfirmAction;
use crate::app::fixture::{self, ch, key, NOW};
use crate::app::{Event, Resolution, State};
use crossterm::event::{KeyCode, KeyModifiers};

fn last_notice(s: &State) -> &str {
    s.notices.back().map(|(_, t)| t.as_str()).unwrap_or("")
}

fn confirm(s: &State) -> &Confirm {
    match &s.ui.modal {
        Some(Modal::Confirm(c)) => c,
        other => panic!("no confirmation open: {other:?}"),
    }
}

fn operation(env: &str) -> Option<Modal> {
    Some(Modal::Operation { env: env.into() })
}

/// The fixed dashboard with staging chosen, its history read, and staging's deploy at `upto`.
fn staging(upto: Option<(Phase, Option<Final>)>) -> State {
    let mut s = fixture::full();
    fixture::histories(&mut s, false);
    s.handle_key(ch('2'));
    if let Some((phase, last)) = upto {
        fixture::deploy_staging(&mut s, phase, last);
    }
    s
}

fn header_texts(s: &State) -> Vec<String> {
    s.header_lines().iter().flatten().map(|i| i.text.clone()).collect()
}

#[test]
fn progress_is_kept_per_environment_with_its_steps() {
    let s = staging(Some((Phase::Verify, None)));
    let p = &s.deploy_ops["staging"];
    assert_eq!((p.phase, p.checks_done, p.last), (Phase::Verify, 3, None));
    let t = &s.deploy_trail["staging"];
    assert_eq!(t.steps.len(), STEPS_KEPT, "older steps give way");
    assert_eq!(t.steps.back().unwrap(), "verify check 3/10: failure (HTTP 503)");
    assert_eq!(t.ended_at, None);
    assert!(s.running_op("staging").is_some() && s.running_op("production").is_none());

    let mut s = staging(Some((Phase::Rollback, Some(Final::RolledBack))));
    assert_eq!(s.deploy_ops["staging"].last, Some(Final::RolledBack), "kept after it ended");
    assert_eq!(s.deploy_trail["staging"].ended_at, Some(NOW));
    assert!(s.any_running().is_none());
    // A new operation starts a new trail.
    s.apply(Event::Deploy(DeployProgress { id: "op-2".into(), ..fixture::progress(Phase::PreCheck, "pre-check") }));
    assert_eq!(s.deploy_trail["staging"].steps, ["pre-check"]);
    assert_eq!(s.deploy_history["staging"].points[1], "1.5.0");
}

#[test]
fn the_header_says_where_an_operation_is_and_how_it_ended() {
    assert_eq!(header_texts(&staging(None)), Vec::<String>::new(), "nothing to say: no status row");
    assert_eq!(header_texts(&staging(Some((Phase::Verify, None)))), ["⟳ staging: deploy 1.6.0-bad · verify 3/10"]);
    assert_eq!(header_texts(&staging(Some((Phase::Bake, None)))), ["⟳ staging: deploy 1.6.0-bad · bake 12s left"]);
    assert_eq!(
        header_texts(&staging(Some((Phase::Rollback, None)))),
        ["⟳ staging: deploy 1.6.0-bad · rolling back to 1.5.0"]
    );

    let mut s = staging(Some((Phase::Rollback, Some(Final::RolledBack))));
    assert_eq!(header_texts(&s), ["↩ staging: 1.6.0-bad failed, rolled back to 1.5.0"]);
    assert_eq!(s.header_lines()[0][0].tone, Tone::Warn);
    s.now += OUTCOME_SHOWN_MS;
    assert!(header_texts(&s).is_empty(), "an outcome is shown for a while");

    let mut s = staging(Some((Phase::Rollback, Some(Final::RollbackFailed))));
    assert_eq!(header_texts(&s), ["✖ staging: 1.6.0-bad failed, ROLLBACK FAILED: a human is needed"]);
    assert_eq!(s.header_lines()[0][0].tone, Tone::Loud);
    s.now += 10 * OUTCOME_SHOWN_MS;
    assert_eq!(header_texts(&s).len(), 1, "a failed rollback stays until the next operation");

    fixture::histories(&mut s, true);
    assert_eq!(
        header_texts(&s)[1],
        "⚠ staging: deploy 1.6.0 by alice interrupted at verify — H: verify / roll back / mark resolved"
    );
}

#[test]
fn rollback_goes_to_the_newest_point_that_is_not_running() {
    let mut s = staging(None);
    assert_eq!(s.running_version("staging"), Some("1.5.0-bad"));
    assert_eq!(s.rollback_target("staging"), Some("1.5.0"), "1.5.0-bad runs: the point before it");
    assert_eq!(s.handle_key(ch('r')), None);
    let c = confirm(&s);
    assert_eq!(c.question, "Roll staging back to 1.5.0 (last verified 4h56m ago)? [y/N]");
    assert_eq!(c.protected, None);
    assert_eq!(s.handle_key(ch('y')), Some(Command::Rollback { env: "staging".into(), to: Some("1.5.0".into()) }));
    assert_eq!(s.ui.modal, operation("staging"), "the progress view opens");
    assert_eq!(s.deploy_requested["staging"].1, "rollback to 1.5.0");

    s.health[1].version = Some("1.5.0".into());
    assert_eq!(s.rollback_target("staging"), Some("1.5.0-bad"), "the newest point other than what runs");
    s.health[1].version = None;
    assert_eq!(s.rollback_target("staging"), Some("1.5.0-bad"), "nothing known to run: the newest point");
}

#[test]
fn rollback_without_a_point_says_why() {
    let mut s = staging(None);
    s.deploy_history.get_mut("staging").unwrap().points = vec!["1.5.0-bad".into()];
    assert_eq!(s.handle_key(ch('r')), None);
    assert_eq!(s.ui.modal, None);
    assert!(
        last_notice(&s).contains("no verified rollback point other than the running 1.5.0-bad"),
        "{}",
        last_notice(&s)
    );
    s.deploy_history.clear();
    s.handle_key(ch('r'));
    assert!(last_notice(&s).contains("no verified rollback point known yet"), "{}", last_notice(&s));
    s.handle_key(ch('0'));
    s.handle_key(ch('r'));
    assert!(last_notice(&s).contains("choose one environment"), "{}", last_notice(&s));
}

#[test]
fn a_protected_rollback_needs_the_name() {
    let mut s = staging(None);
    s.handle_key(ch('1'));
    s.deploy_history.insert(
        "production".into(),
        DeployHistory { env: "production".into(), points: vec!["1.4.0".into()], ..Default::default() },
    );
    s.handle_key(ch('r'));
    assert_eq!(confirm(&s).protected.as_deref(), Some("production"));
    assert_eq!(s.handle_key(ch('y')), None, "y is text here");
    for c in "production".chars() {
        s.handle_key(ch(c));
    }
    s.handle_key(key(KeyCode::Backspace));
    s.handle_key(ch('n'));
    assert_eq!(s.handle_key(key(KeyCode::Enter)), None, "productioyn is not the name: {:?}", last_notice(&s));
    s.handle_key(ch('r'));
    for c in "production".chars() {
        s.handle_key(ch(c));
    }
    assert_eq!(
        s.handle_key(key(KeyCode::Enter)),
        Some(Command::Rollback { env: "production".into(), to: Some("1.4.0".into()) })
    );
}

#[test]
fn promote_takes_the_previous_stages_verified_version() {
    let mut s = staging(None);
    assert_eq!(s.handle_key(ch('p')), None);
    assert_eq!(confirm(&s).question, "Promote 1.5.0 from development to staging? [y/N]");
    assert_eq!(confirm(&s).action, ConfirmAction::Promote { env: "staging".into(), version: "1.5.0".into() });
    s.handle_key(ch('n'));
    assert!(last_notice(&s).contains("nothing was promoted"));
    s.handle_key(ch('p'));
    assert_eq!(s.handle_key(ch('y')), Some(Command::Promote { env: "staging".into() }));
    assert_eq!(s.ui.modal, operation("staging"));
}

#[test]
fn promote_without_a_stage_or_a_verified_version_says_why() {
    let mut s = staging(None);
    s.handle_key(ch('3'));
    assert_eq!(s.handle_key(ch('p')), None);
    assert_eq!(s.ui.modal, None);
    assert!(last_notice(&s).contains("development has no previous stage (promote_from)"), "{}", last_notice(&s));
    s.handle_key(ch('2'));
    s.deploy_history.get_mut("development").unwrap().points.clear();
    s.handle_key(ch('p'));
    assert!(last_notice(&s).contains("development has no verified release to promote"), "{}", last_notice(&s));
    s.deploy_history.remove("development");
    s.handle_key(ch('p'));
    assert!(last_notice(&s).contains("history was not read yet"), "{}", last_notice(&s));
    assert_eq!(s.ui.modal, None);
}

#[test]
fn q_while_an_operation_runs_asks_first() {
    let mut s = staging(Some((Phase::Verify, None)));
    assert_eq!(s.handle_key(ch('q')), None, "q must not quit while staging deploys");
    let c = confirm(&s);
    assert_eq!(
        c.question,
        "An operation is running on staging (deploy 1.6.0-bad): quit anyway? It will be interrupted [y/N]"
    );
    assert_eq!(c.protected, None, "quitting is y/N even where the environment is protected");
    assert_eq!(s.handle_key(key(KeyCode::Esc)), None);
    assert_eq!(s.ui.modal, operation("staging"), "back to the running operation");
    assert_eq!(s.handle_key(ch('q')), None);
    assert_eq!(s.handle_key(ch('n')), None);
    assert_eq!(s.ui.modal, operation("staging"));
    s.handle_key(ch('q'));
    assert_eq!(s.handle_key(ch('y')), Some(Command::Quit));

    // From help and details too; Ctrl-C still quits at once.
    let mut s = staging(Some((Phase::Bake, None)));
    s.handle_key(ch('?'));
    assert_eq!(s.handle_key(ch('q')), None);
    assert!(matches!(confirm(&s).action, ConfirmAction::Quit { .. }));
    assert_eq!(s.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Command::Quit));
    let mut s = staging(Some((Phase::Bake, None)));
    assert_eq!(s.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Command::Quit));

    // Confirmed but not reported yet: it is starting, so q asks too; not for ever.
    let mut s = staging(None);
    s.handle_key(ch('r'));
    s.handle_key(ch('y'));
    assert_eq!(s.handle_key(ch('q')), None);
    assert!(confirm(&s).question.contains("(rollback to 1.5.0): quit anyway?"), "{}", confirm(&s).question);
    s.handle_key(ch('n'));
    s.now += REQUEST_PENDING_MS;
    assert_eq!(s.handle_key(ch('q')), Some(Command::Quit));

    // Once it ended, q quits.
    let mut s = staging(Some((Phase::Rollback, Some(Final::RolledBack))));
    assert_eq!(s.handle_key(ch('q')), Some(Command::Quit));
}

#[test]
fn esc_closes_the_progress_view_and_the_operation_goes_on() {
    let mut s = staging(None);
    s.deploy_versions.insert("staging".into(), vec!["1.5.0".into(), "1.6.0-bad".into()]);
    s.handle_key(ch('d'));
    for c in "bad".chars() {
        s.handle_key(ch(c));
    }
    s.handle_key(key(KeyCode::Enter));
    assert_eq!(s.handle_key(ch('y')), Some(Command::Deploy { env: "staging".into(), version: "1.6.0-bad".into() }));
    assert_eq!(s.ui.modal, operation("staging"));
    assert!(s.deploy_requested.contains_key("staging"), "waiting for the engine");
    fixture::deploy_staging(&mut s, Phase::Verify, None);
    assert!(s.deploy_requested.is_empty(), "the engine reported it");
    assert_eq!(s.handle_key(ch('j')), None);
    assert_eq!(s.ui.modal, operation("staging"), "other keys do nothing here");
    assert_eq!(s.handle_key(key(KeyCode::Esc)), None);
    assert_eq!(s.ui.modal, None);
    assert!(last_notice(&s).contains("the operation goes on"));
    assert!(s.running_op("staging").is_some());
    assert_eq!(header_texts(&s), ["⟳ staging: deploy 1.6.0-bad · verify 3/10"], "the header keeps showing it");
    s.handle_key(ch('o'));
    assert_eq!(s.ui.modal, operation("staging"), "o shows it again");
    s.handle_key(key(KeyCode::Esc));
    s.handle_key(ch('d'));
    assert_eq!(s.ui.modal, None, "nothing new starts while it runs");
    assert!(last_notice(&s).contains("deploy 1.6.0-bad is running"), "{}", last_notice(&s));
    s.handle_key(ch('r'));
    assert!(last_notice(&s).contains("is running"));
}

#[test]
fn a_new_request_replaces_the_last_outcome() {
    let mut s = staging(Some((Phase::Rollback, Some(Final::RolledBack))));
    s.handle_key(ch('r'));
    s.handle_key(ch('y'));
    assert!(!s.deploy_ops.contains_key("staging"), "the old outcome would read as the new operation's");
    assert_eq!(s.ui.modal, operation("staging"));
}

#[test]
fn c_cancels_through_a_confirmation() {
    let mut s = staging(Some((Phase::Verify, None)));
    s.handle_key(ch('o'));
    assert_eq!(s.handle_key(ch('c')), None);
    let c = confirm(&s);
    assert_eq!(c.question, "Cancel the deploy of 1.6.0-bad on staging? It will roll back [y/N]");
    s.handle_key(ch('n'));
    assert_eq!(s.ui.modal, operation("staging"), "not cancelled: back to the progress");
    assert!(last_notice(&s).contains("the operation goes on"));
    s.handle_key(ch('c'));
    assert_eq!(s.handle_key(ch('y')), Some(Command::CancelDeploy { env: "staging".into() }));
    assert_eq!(s.ui.modal, operation("staging"), "watch it roll back");

    let mut s = staging(Some((Phase::Rollback, None)));
    s.handle_key(ch('o'));
    s.handle_key(ch('c'));
    assert_eq!(s.ui.modal, operation("staging"));
    assert!(last_notice(&s).contains("already rolling back"));
    let mut s = staging(Some((Phase::Rollback, Some(Final::RolledBack))));
    s.handle_key(ch('o'));
    s.handle_key(ch('c'));
    assert!(last_notice(&s).contains("nothing to cancel"));
}

#[test]
fn read_only_refuses_every_action_in_the_view() {
    let mut s = staging(None);
    s.read_only = true;
    s.deploy_versions.insert("staging".into(), vec!["1.6.0-bad".into()]);
    for c in ['d', 'r', 'p'] {
        assert_eq!(s.handle_key(ch(c)), None);
        assert_eq!(s.ui.modal, None, "{c} opens nothing");
        assert!(last_notice(&s).starts_with("read-only: "), "{c}: {}", last_notice(&s));
        assert!(last_notice(&s).contains("refused"), "{c}: {}", last_notice(&s));
    }
    // What the acceptance script types: 2 d Enter y.
    for k in [ch('d'), key(KeyCode::Enter), ch('y')] {
        assert_eq!(s.handle_key(k), None);
    }
    s.handle_key(ch('a'));
    for c in ['A', 's'] {
        assert_eq!(s.handle_key(ch(c)), None);
        assert!(last_notice(&s).starts_with("read-only: "), "{c}: {}", last_notice(&s));
    }
    assert!(!s.alerts.iter().any(|a| a.acked), "nothing was acknowledged");

    fixture::deploy_staging(&mut s, Phase::Verify, None); // run from elsewhere, e.g. the CLI
    s.handle_key(ch('o'));
    assert_eq!(s.handle_key(ch('c')), None);
    assert!(last_notice(&s).contains("read-only: cancelling"), "{}", last_notice(&s));
    s.handle_key(key(KeyCode::Esc));

    fixture::histories(&mut s, true);
    assert_eq!(s.handle_key(ch('H')), Some(Command::History { env: "staging".into() }), "looking is allowed");
    for c in ['v', 'r', 'm'] {
        assert_eq!(s.handle_key(ch(c)), None);
        assert!(matches!(s.ui.modal, Some(Modal::History { .. })), "{c}");
        assert!(last_notice(&s).contains("read-only: resolving"), "{c}: {}", last_notice(&s));
    }
}

#[test]
fn history_opens_reads_again_and_scrolls() {
    let mut s = staging(None);
    s.handle_key(ch('0'));
    assert_eq!(s.handle_key(ch('H')), None);
    assert!(last_notice(&s).contains("choose one environment"));
    s.handle_key(ch('2'));
    assert_eq!(s.handle_key(ch('H')), Some(Command::History { env: "staging".into() }));
    let newest: Vec<&str> = s.history_rows("staging").map(|r| r.version.as_str()).collect();
    assert_eq!(newest, ["1.5.0-bad", "1.5.0", "1.6.0-bad", "1.5.0", "1.4.1", "1.4.0"], "newest first");
    s.handle_key(ch('j'));
    s.handle_key(ch('j'));
    s.handle_key(ch('k'));
    assert_eq!(s.ui.modal, Some(Modal::History { env: "staging".into(), scroll: 1 }));
    s.handle_key(ch('v'));
    assert!(last_notice(&s).contains("no interrupted operation"), "{}", last_notice(&s));
    s.handle_key(key(KeyCode::Esc));
    assert_eq!(s.ui.modal, None);
}

#[test]
fn an_interrupted_operation_is_resolved_through_a_confirmation() {
    let mut s = staging(None);
    fixture::histories(&mut s, true);
    let op = s.deploy_history["staging"].interrupted.as_ref().unwrap().id.clone();
    let cases = [
        ('v', Resolution::Verify, "Check staging's health now? Healthy on 1.6.0 records it verified [y/N]"),
        ('r', Resolution::RollBack, "Roll staging back to 1.5.0-bad? [y/N]"),
        ('m', Resolution::MarkResolved, "Mark the interrupted deploy 1.6.0 on staging resolved? Nothing is run [y/N]"),
    ];
    for (k, how, question) in cases {
        s.handle_key(ch('H'));
        assert_eq!(s.handle_key(ch(k)), None);
        assert_eq!(confirm(&s).question, question);
        assert_eq!(s.handle_key(ch('n')), None);
        assert_eq!(s.ui.modal, Some(Modal::History { env: "staging".into(), scroll: 0 }), "back to the history");
        s.handle_key(ch(k));
        assert_eq!(s.handle_key(ch('y')), Some(Command::Resolve { env: "staging".into(), op: op.clone(), how }));
        s.handle_key(key(KeyCode::Esc));
    }
}
