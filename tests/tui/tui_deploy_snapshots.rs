//! Render snapshots of the `d` dialog over the fixed dashboard (`app::fixture`): the version
//! picker filtered by typing, the y/N question, and a protected environment's name prompt.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::fixture;
use opsdeck::app::State;
use opsdeck::tui::view;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn screen(state: &State, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(state, f)).unwrap();
    t.backend().to_string()
}

fn press(s: &mut State, c: KeyCode) {
    s.handle_key(KeyEvent::new(c, KeyModifiers::NONE));
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

fn state() -> State {
    let mut s = fixture::full();
    let versions: Vec<String> = opsdeck::demo::OFFERED_VERSIONS.iter().map(|v| v.to_string()).collect();
    for env in ["production", "staging"] {
        s.deploy_versions.insert(env.into(), versions.clone());
    }
    s
}

#[test]
fn deploy_picker_filtered_160x45() {
    let mut s = state();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('d'));
    typed(&mut s, "1.6");
    press(&mut s, KeyCode::Down);
    let out = screen(&s, 160, 45);
    assert!(out.contains("▶ 1.6.0-slow") && out.contains("  1.6.0-bad"), "{out}");
    assert!(!out.contains("1.4.0"), "filtered out:\n{out}");
    assert!(!out.contains("not built"), "the deploy engine is built:\n{out}");
    assert_screen!("tui_deploy_snapshots", "deploy_picker_filtered_160x45", out);
}

#[test]
fn deploy_confirm_unprotected_80x24() {
    let mut s = state();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('d'));
    typed(&mut s, "bad");
    press(&mut s, KeyCode::Enter);
    let out = screen(&s, 80, 24);
    assert!(out.contains("Deploy 1.6.0-bad to staging? [y/N]"), "{out}");
    assert_screen!("tui_deploy_snapshots", "deploy_confirm_unprotected_80x24", out);
}

#[test]
fn deploy_confirm_protected_120x40() {
    let mut s = state();
    press(&mut s, KeyCode::Char('1'));
    press(&mut s, KeyCode::Char('d'));
    press(&mut s, KeyCode::Enter);
    typed(&mut s, "produc");
    let out = screen(&s, 120, 40);
    assert!(out.contains("production is protected: type its name to confirm"), "{out}");
    assert!(out.contains("> produc"), "{out}");
    assert_screen!("tui_deploy_snapshots", "deploy_confirm_protected_120x40", out);
}
