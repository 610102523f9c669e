//! The view at fleet scale: 50 environments at 200×50, the overview scrolled with j/k.

use crate::app::fixture::ch;
use crate::app::State;
use crate::model::EnvInfo;
use crate::tui::view::test_screen as screen;

#[test]
fn fifty_environments_scroll_in_the_overview() {
    let envs = (1..=50).map(|i| EnvInfo { name: format!("edge-{i:02}"), protected: false }).collect();
    let mut s = State::new(envs, std::time::Duration::from_secs(3600));
    let out = screen(&s, 200, 50);
    assert!(out.contains("edge-01") && !out.contains("edge-50"), "{out}");
    assert!(out.contains("of 50 (j/k)"), "{out}");
    // The tab bar is a picker at fleet size: no unreadable stubs.
    let header = out.lines().next().unwrap();
    assert!(header.contains("‹ 50 environments ›") && !header.contains("ed…"), "{header}");
    s.handle_key(crate::app::fixture::key(crossterm::event::KeyCode::Tab));
    s.handle_key(crate::app::fixture::key(crossterm::event::KeyCode::Tab));
    assert!(screen(&s, 200, 50).lines().next().unwrap().contains("‹ edge-02 › 2/50"));
    s.handle_key(ch('0'));
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
    // `/` filters the fleet by name; Enter keeps it, Esc in the prompt clears it.
    s.handle_key(ch('/'));
    for c in "-4".chars() {
        s.handle_key(ch(c));
    }
    s.handle_key(crate::app::fixture::key(crossterm::event::KeyCode::Enter));
    let out = screen(&s, 200, 50);
    assert!(out.contains("/-4 10 of 50") && out.contains("edge-49") && !out.contains("│ edge-01"), "{out}");
    s.handle_key(ch('/'));
    s.handle_key(crate::app::fixture::key(crossterm::event::KeyCode::Esc));
    assert!(screen(&s, 200, 50).contains("│ edge-01"));
}

#[test]
fn a_chart_of_many_series_draws_the_top_ten_and_says_how_many_more() {
    let mut s = crate::app::fixture::full();
    let mut p = s.panels.iter().find(|p| !p.series.is_empty()).cloned().unwrap();
    let proto = p.series[0].clone();
    p.series = (0..37)
        .map(|i| {
            let mut x = proto.clone();
            x.label = format!("node-{i:02}");
            x.env = None;
            for (_, v) in x.points.iter_mut() {
                *v = v.map(|_| i as f64);
            }
            x
        })
        .collect();
    p.threshold = None;
    p.title = "cpu by node".into();
    s.panels = vec![p.clone()];
    s.ui.focus = p.id.clone();
    s.ui.zoom = true;
    let out = screen(&s, 200, 50);
    assert!(out.contains("top 10, +27 more"), "{out}");
    assert!(out.contains("node-36") && !out.contains("node-26"), "the top ten by value: {out}");
}
