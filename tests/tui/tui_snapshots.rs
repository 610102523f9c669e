//! Render snapshots of the dashboard with fixed data (`app::fixture`) at the sizes the issues name,
//! including no-data, stale, down and threshold-crossed states, zoom and overlays.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::fixture;
use opsdeck::app::{Modal, State};
use opsdeck::tui::view;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

fn render(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(state, f)).unwrap();
    t
}

fn screen(state: &State, w: u16, h: u16) -> String {
    render(state, w, h).backend().to_string()
}

fn press(s: &mut State, c: KeyCode) {
    s.handle_key(KeyEvent::new(c, KeyModifiers::NONE));
}

#[test]
fn full_80x24() {
    assert_screen!("tui_snapshots", "full_80x24", screen(&fixture::full(), 80, 24));
}

#[test]
fn full_120x40() {
    assert_screen!("tui_snapshots", "full_120x40", screen(&fixture::full(), 120, 40));
}

#[test]
fn full_160x45() {
    assert_screen!("tui_snapshots", "full_160x45", screen(&fixture::full(), 160, 45));
}

#[test]
fn full_200x50() {
    assert_screen!("tui_snapshots", "full_200x50", screen(&fixture::full(), 200, 50));
}

#[test]
fn full_250x70() {
    assert_screen!("tui_snapshots", "full_250x70", screen(&fixture::full(), 250, 70));
}

#[test]
fn no_data_80x24() {
    assert_screen!("tui_snapshots", "no_data_80x24", screen(&fixture::empty(), 80, 24));
}

#[test]
fn no_data_160x45() {
    assert_screen!("tui_snapshots", "no_data_160x45", screen(&fixture::empty(), 160, 45));
}

#[test]
fn staging_selected_error_rate_zoomed_120x40() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('l')); // alerts
    press(&mut s, KeyCode::Char('l')); // error rate
    press(&mut s, KeyCode::Enter);
    let out = screen(&s, 120, 40);
    assert!(out.contains("⚠ over 5%"), "threshold crossing must be stated in words");
    assert_screen!("tui_snapshots", "staging_selected_error_rate_zoomed_120x40", out);
}

#[test]
fn window_1h_latency_zoomed_200x50() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('+'));
    for _ in 0..3 {
        press(&mut s, KeyCode::Right);
    }
    press(&mut s, KeyCode::Char('z'));
    assert_screen!("tui_snapshots", "window_1h_latency_zoomed_200x50", screen(&s, 200, 50));
}

#[test]
fn help_overlay_80x24() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('?'));
    let out = screen(&s, 80, 24);
    for word in ["deploy", "rollback", "promote", "history", "acknowledge", "quit"] {
        assert!(out.contains(word), "help must list {word}");
    }
    assert_screen!("tui_snapshots", "help_overlay_80x24", out);
}

#[test]
fn alert_details_120x40() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('a'));
    press(&mut s, KeyCode::Enter);
    let out = screen(&s, 120, 40);
    assert!(out.contains("runbooks.example.org"));
    assert_screen!("tui_snapshots", "alert_details_120x40", out);
}

#[test]
fn silence_picker_160x45() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('a'));
    press(&mut s, KeyCode::Char('s'));
    assert_screen!("tui_snapshots", "silence_picker_160x45", screen(&s, 160, 45));
}

#[test]
fn no_color_uses_no_colours_but_keeps_symbols() {
    let mut s = fixture::full();
    s.ui.no_color = true;
    let t = render(&s, 160, 45);
    let buf = t.backend().buffer();
    for c in buf.content() {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "cell {:?} has a colour", c.symbol());
    }
    let out = t.backend().to_string();
    for sym in ["✔", "✖", "⚠", "●"] {
        assert!(out.contains(sym), "{sym} must carry meaning without colour");
    }
}

#[test]
fn tiny_and_odd_sizes_do_not_panic() {
    let s = fixture::full();
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 12), (79, 23), (81, 25), (119, 39), (300, 100)] {
        render(&s, w, h);
    }
    // Each overlay over a zoomed panel in a tiny terminal (one modal is open at a time).
    let key = s.alerts[0].key.clone();
    let details = Modal::AlertDetails(opsdeck::app::Details { key: key.clone(), cursor: 3 });
    for modal in [Modal::Help, details, Modal::SilencePicker(0)] {
        let mut z = fixture::full();
        z.ui.zoom = true;
        z.ui.modal = Some(modal);
        z.apply(opsdeck::model::Event::Runbook(opsdeck::model::RunbookView {
            key: key.clone(),
            source: Some("runbooks/x.md".into()),
            doc: Ok(opsdeck::runbook::markdown::parse("# T\n\n- [ ] a very long step that wraps\n\n```\ncode\n```\n")),
            ticks: Default::default(),
        }));
        for (w, h) in [(30, 8), (12, 4), (1, 1), (200, 60)] {
            render(&z, w, h);
        }
    }
}

fn type_str(s: &mut State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

#[test]
fn logs_full_screen_staging_with_search_120x40() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('L'));
    press(&mut s, KeyCode::Char('/'));
    type_str(&mut s, "500");
    press(&mut s, KeyCode::Enter);
    let out = screen(&s, 120, 40);
    assert!(out.contains("GET /api/orders 500") && out.contains("ERROR"));
    assert_screen!("tui_snapshots", "logs_full_screen_staging_with_search_120x40", out);
}

#[test]
fn logs_all_environments_merged_160x45() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('L'));
    let out = screen(&s, 160, 45);
    // Both environments, in time order, each line naming its environment.
    let prod = out.find("reddit rate limited").expect("production line");
    let stag = out.find("now running 1.5.0-bad").expect("staging line");
    assert!(stag < prod, "merged by time:\n{out}");
    assert_screen!("tui_snapshots", "logs_all_environments_merged_160x45", out);
}

#[test]
fn log_record_details_show_the_exception_80x24() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('L'));
    press(&mut s, KeyCode::Char('k'));
    press(&mut s, KeyCode::Char('k'));
    press(&mut s, KeyCode::Enter);
    let out = screen(&s, 80, 24);
    assert!(out.contains("KeyError: 'price'"), "{out}");
    assert_screen!("tui_snapshots", "log_record_details_show_the_exception_80x24", out);
}

#[test]
fn request_id_correlation_across_environments_120x40() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('L'));
    press(&mut s, KeyCode::Char('k'));
    press(&mut s, KeyCode::Char('k')); // the 500 with req-9c1e
    press(&mut s, KeyCode::Char('c'));
    let out = screen(&s, 120, 40);
    assert!(out.contains("req-9c1e across environments"));
    assert!(out.contains("POST /api/scrape 202") && out.contains("reddit fetch failed"), "{out}");
    assert_screen!("tui_snapshots", "request_id_correlation_across_environments_120x40", out);
}

#[test]
fn nothing_raw_reaches_the_screen() {
    let mut s = fixture::full();
    press(&mut s, KeyCode::Char('L'));
    let t = render(&s, 160, 45);
    for c in t.backend().buffer().content() {
        assert!(!c.symbol().chars().any(|ch| ch.is_control()), "control character in cell {:?}", c.symbol());
    }
    assert!(t.backend().to_string().contains("\\x1b[2J"), "the escape is shown as visible text");
}

#[test]
fn threshold_concerns_only_its_quantile() {
    let mut s = fixture::full();
    let lat = s.panels.iter_mut().find(|p| p.id == "latency").unwrap();
    for series in lat.series.iter_mut().filter(|x| x.label.ends_with("p99")) {
        series.points.last_mut().unwrap().1 = Some(3.0);
    }
    let out = screen(&s, 160, 45);
    assert!(!out.contains("⚠ over 2s"), "a slow p99 does not cross the p95 threshold:\n{out}");
    let lat = s.panels.iter_mut().find(|p| p.id == "latency").unwrap();
    lat.series.iter_mut().find(|x| x.label == "staging p95").unwrap().points.last_mut().unwrap().1 = Some(2.5);
    assert!(screen(&s, 160, 45).contains("⚠ over 2s"));
}

#[test]
fn fresh_start_fits_the_axis_to_the_data_120x40() {
    let mut s = fixture::full();
    let since = fixture::NOW - 20_000;
    for p in s.panels.iter_mut() {
        for series in p.series.iter_mut() {
            series.points.retain(|(t, _)| *t >= since);
        }
    }
    let out = screen(&s, 120, 40);
    // A minute of axis, not fifteen: the ticks are within the last minute.
    assert!(out.contains("22:12") && !out.contains("21:58"), "{out}");
    assert_screen!("tui_snapshots", "fresh_start_fits_the_axis_to_the_data_120x40", out);
}
