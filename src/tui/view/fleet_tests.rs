//! The view at fleet scale: 50 environments at 200×50, the overview scrolled with j/k.

use crate::app::fixture::ch;
use crate::app::State;
use crate::model::EnvInfo;
use crate::tui::view;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn screen(state: &State, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(state, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn fifty_environments_scroll_in_the_overview() {
    let envs = (1..=50).map(|i| EnvInfo { name: format!("edge-{i:02}"), protected: false }).collect();
    let mut s = State::new(envs, std::time::Duration::from_secs(3600));
    let out = screen(&s, 200, 50);
    assert!(out.contains("edge-01") && !out.contains("edge-50"), "{out}");
    assert!(out.contains("of 50 (j/k)"), "{out}");
    for _ in 0..49 {
        s.handle_key(ch('j'));
    }
    assert_eq!(s.ui.focus, crate::app::OVERVIEW_ID, "j scrolls, it does not move the focus");
    let out = screen(&s, 200, 50);
    assert!(out.contains("edge-50") && !out.contains("edge-01 "), "{out}");
    for _ in 0..49 {
        s.handle_key(ch('k'));
    }
    assert!(screen(&s, 200, 50).contains("edge-01"));
}
