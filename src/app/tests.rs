//! Unit tests of `State`: key handling and folding events (the dashboard side of the keymap).

use super::fixture;
use super::*;
use crossterm::event::{KeyEventState, KeyModifiers};

use crate::app::fixture::{ch, key};
fn last_notice(s: &State) -> &str {
    s.notices.back().map(|(_, t)| t.as_str()).unwrap_or("")
}

#[test]
fn key_releases_are_ignored() {
    let mut s = fixture::full();
    let release = KeyEvent { kind: KeyEventKind::Release, state: KeyEventState::NONE, ..ch('q') };
    assert_eq!(s.handle_key(release), None);
    let release_tab = KeyEvent { kind: KeyEventKind::Release, ..key(KeyCode::Tab) };
    s.handle_key(key(KeyCode::Tab));
    s.handle_key(release_tab);
    assert_eq!(s.ui.env, Some(0), "press and release of Tab must move once");
}

#[test]
fn quit_and_help() {
    let mut s = fixture::full();
    assert_eq!(s.handle_key(ch('?')), None);
    assert_eq!(s.ui.modal, Some(Modal::Help));
    assert_eq!(s.handle_key(ch('2')), None);
    assert_eq!(s.ui.env, None, "keys other than close/quit are ignored under help");
    s.handle_key(key(KeyCode::Esc));
    assert_eq!(s.ui.modal, None);
    s.handle_key(ch('?'));
    assert_eq!(s.handle_key(ch('q')), Some(Command::Quit));
    assert_eq!(s.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Command::Quit));
}

#[test]
fn environments_cycle_through_all() {
    let mut s = fixture::full();
    let mut seen = vec![];
    for _ in 0..4 {
        s.handle_key(key(KeyCode::Tab));
        seen.push(s.ui.env);
    }
    assert_eq!(seen, vec![Some(0), Some(1), Some(2), None]);
    s.handle_key(key(KeyCode::BackTab));
    assert_eq!(s.ui.env, Some(2));
    s.handle_key(ch('1'));
    assert_eq!(s.selected_env_name(), Some("production"));
    s.handle_key(ch('9'));
    assert_eq!(s.ui.env, Some(0), "a missing environment changes nothing");
    assert!(last_notice(&s).contains("no environment 9"));
    s.handle_key(ch('0'));
    assert_eq!(s.ui.env, None);
}

#[test]
fn window_steps_are_capped_by_history() {
    let mut s = State::new(vec![], Duration::from_secs(3600));
    assert_eq!(s.ui.window, Duration::from_secs(900));
    assert_eq!(s.handle_key(ch('+')), Some(Command::SetWindow(Duration::from_secs(3600))));
    assert_eq!(s.handle_key(ch('+')), None, "6h is more than the 1h kept");
    assert!(last_notice(&s).contains("most the kept history allows"));
    assert_eq!(s.handle_key(ch('-')), Some(Command::SetWindow(Duration::from_secs(900))));
    assert_eq!(s.handle_key(ch('-')), Some(Command::SetWindow(Duration::from_secs(300))));
    assert_eq!(s.handle_key(ch('-')), None);
}

#[test]
fn focus_zoom_and_escape() {
    let mut s = fixture::full();
    assert_eq!(s.ui.focus, OVERVIEW_ID);
    s.handle_key(ch('l'));
    assert_eq!(s.ui.focus, ALERTS_ID);
    s.handle_key(ch('l'));
    assert_eq!(s.ui.focus, "errors");
    s.handle_key(key(KeyCode::Enter));
    assert!(s.ui.zoom);
    s.handle_key(key(KeyCode::Esc));
    assert!(!s.ui.zoom);
    s.handle_key(ch('h'));
    s.handle_key(ch('h'));
    s.handle_key(ch('h'));
    assert_eq!(s.ui.focus, LOGS_ID, "focus wraps around");
}

#[test]
fn alerts_details_ack_and_silence() {
    let mut s = fixture::full();
    s.handle_key(ch('a'));
    assert_eq!((s.ui.focus.as_str(), s.ui.zoom), (ALERTS_ID, true));
    assert_eq!(s.selected_alert().unwrap().name, "HighErrorRate", "most severe first");
    s.handle_key(ch('j'));
    assert_eq!(s.selected_alert().unwrap().name, "ScraperFailures");
    s.handle_key(key(KeyCode::Enter));
    assert!(matches!(s.ui.modal, Some(Modal::AlertDetails(_))));
    assert_eq!(s.handle_key(ch('A')), Some(Command::Ack { key: "b".into(), acked: true }));
    assert!(s.selected_alert().unwrap().acked);
    assert_eq!(s.handle_key(ch('A')), Some(Command::Ack { key: "b".into(), acked: false }));
    s.handle_key(key(KeyCode::Esc));
    assert!(s.ui.modal.is_none() && s.ui.zoom, "Esc closes the details first, then the zoom");
    assert_eq!(s.handle_key(ch('s')), None);
    assert_eq!(s.ui.modal, Some(Modal::SilencePicker(1)));
    s.handle_key(ch('j'));
    assert_eq!(s.handle_key(ch('q')), Some(Command::Quit), "q still quits from the picker");
    assert_eq!(
        s.handle_key(key(KeyCode::Enter)),
        Some(Command::Silence { key: "b".into(), duration: Duration::from_secs(4 * 3600) })
    );
    assert_eq!(s.ui.modal, None);
    assert!(s.alerts.iter().find(|a| a.key == "b").unwrap().silenced_until.is_some());
}

#[test]
fn alert_selection_follows_its_alert_across_updates() {
    let mut s = fixture::full();
    s.handle_key(ch('a'));
    s.handle_key(ch('j'));
    let key = s.selected_alert().unwrap().key.clone();
    let mut alerts = s.alerts.clone();
    alerts.reverse();
    alerts[0].severity = "critical".into(); // the resolved one now sorts first
    s.apply(Event::Alerts(alerts));
    assert_eq!(s.selected_alert().unwrap().key, key);
    s.apply(Event::Alerts(vec![]));
    assert!(s.selected_alert().is_none());
    assert_eq!(s.handle_key(ch('A')), None);
    assert!(last_notice(&s).contains("no alert selected"));
}

#[test]
fn search_input_takes_every_key() {
    let mut s = fixture::full();
    s.handle_key(ch('2'));
    s.handle_key(ch('/'));
    for c in "q?500".chars() {
        assert_eq!(s.handle_key(ch(c)), None);
    }
    s.handle_key(key(KeyCode::Backspace));
    s.handle_key(key(KeyCode::Enter));
    assert_eq!(s.ui.logs.query, "q?50");
    assert_eq!(s.ui.modal, None, "Enter closes the search line, and no key on the way opened help");
    s.handle_key(ch('/'));
    for _ in 0..4 {
        s.handle_key(key(KeyCode::Backspace));
    }
    s.handle_key(ch('('));
    s.handle_key(key(KeyCode::Enter));
    assert!(last_notice(&s).contains("invalid search regex"), "{}", last_notice(&s));
}

#[test]
fn logs_level_filter_follow_and_errors() {
    let mut s = fixture::full();
    s.handle_key(ch('2'));
    s.handle_key(ch('L'));
    let n = |s: &State| s.log_views["staging"].visible().len();
    assert_eq!(n(&s), 4);
    s.handle_key(ch('v'));
    assert_eq!(s.ui.logs.level, Some(Level::Warning));
    s.handle_key(ch('v'));
    assert_eq!(n(&s), 2, "error and above");
    s.handle_key(ch('v'));
    assert_eq!(n(&s), 4);
    assert!(s.log_views["staging"].follow);
    s.handle_key(ch('k'));
    assert!(!s.log_views["staging"].follow, "moving up pauses following");
    s.handle_key(ch('f'));
    assert!(s.log_views["staging"].follow);
    s.handle_key(ch('e'));
    let sel = s.log_views["staging"].selected().unwrap();
    assert!(s.logs.get("staging").unwrap().get(sel).unwrap().level.is_error());
    s.handle_key(ch('0'));
    s.handle_key(ch('n'));
    assert!(last_notice(&s).contains("choose one environment"));
}

#[test]
fn a_new_critical_alert_rings_once() {
    let mut s = fixture::full();
    assert!(s.bell, "HighErrorRate is critical and firing");
    s.bell = false;
    let same = s.alerts.clone();
    s.apply(Event::Alerts(same.clone()));
    assert!(!s.bell, "still firing is not new");
    let mut more = same;
    let mut second = more[0].clone();
    second.key = "z".into();
    more.push(second);
    s.apply(Event::Alerts(more));
    assert!(s.bell);
}

#[test]
fn clicks_focus_and_select_and_the_wheel_moves() {
    let mut s = fixture::full();
    s.click(ALERTS_ID, Some(1));
    assert_eq!((s.ui.focus.as_str(), s.ui.alert_sel), (ALERTS_ID, 1));
    s.click(ALERTS_ID, Some(3));
    assert_eq!(s.ui.alert_sel, 1, "below the last alert: the selection stays");
    s.click(ALERTS_ID, None);
    assert_eq!(s.ui.alert_sel, 1, "on the border or header: the selection stays");
    assert!(s.scroll(true));
    assert_eq!(s.ui.alert_sel, 2);
    assert!(s.scroll(false));
    assert_eq!(s.ui.alert_sel, 1);
    s.click("errors", Some(0));
    assert_eq!((s.ui.focus.as_str(), s.ui.alert_sel), ("errors", 1), "rows of other panels select nothing");
    s.handle_key(ch('?'));
    s.scroll(true);
    assert_eq!(
        (s.ui.focus.as_str(), s.ui.modal.clone()),
        ("errors", Some(Modal::Help)),
        "the wheel goes where keys go"
    );
}

#[test]
fn health_of_an_unknown_environment_is_added() {
    let mut s = fixture::empty();
    s.apply(Event::Health { env: "canary".into(), health: EnvHealth { health: Health::Up, ..EnvHealth::default() } });
    assert_eq!(s.envs.last().unwrap().name, "canary");
    assert_eq!(s.health.len(), s.envs.len());
}
