//! Render snapshots of the Alertmanager view (groups, silenced and inhibited marked, hostile text
//! escaped), the silence form with its preview and a refused empty comment, the silences list,
//! the `:` query prompt (a syntax error under its column) and answer, and the footer's store cost.

use crate::app::fixture::{self, ch, key};
use crate::app::State;
use crate::model::{AmAlert, AmGroup, AmSilence, AmSnapshot, Event, MatchOp, Matcher, QueryResult};
use crate::tui::view::test_screen as screen;
use crossterm::event::KeyCode;

macro_rules! assert_screen {
    ($name:literal, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(concat!("tui_alertmanager__", $name), $value)
        })
    };
}

fn am_alert(name: &str, env: &str, silenced: &[&str], inhibited: &[&str]) -> AmAlert {
    AmAlert {
        fingerprint: format!("{name}-{env}"),
        labels: vec![
            ("alertname".into(), name.into()),
            ("env".into(), env.into()),
            ("severity".into(), "warning".into()),
        ],
        annotations: vec![],
        starts_at: fixture::NOW - 300_000,
        state: if silenced.is_empty() && inhibited.is_empty() { "active" } else { "suppressed" }.into(),
        silenced_by: silenced.iter().map(|s| s.to_string()).collect(),
        inhibited_by: inhibited.iter().map(|s| s.to_string()).collect(),
        sources: vec!["http://am:9093".into()],
    }
}

fn with_am() -> State {
    let mut s = fixture::full();
    s.am_urls = vec!["http://am:9093".into()];
    s.silence_author = "alice".into();
    s.apply(Event::Alertmanager(AmSnapshot {
        alerts: vec![
            am_alert("ScraperFailures", "production", &[], &[]),
            am_alert("ScraperFailures", "staging", &["6a1f3c2e-77"], &[]),
            am_alert("HighLatency", "staging", &[], &["9f00aa11"]),
            // A hostile label, as `alertmanager::fetch` hands it on: escaped, never an escape sequence.
            am_alert(&crate::sanitize::line("Evil\x1b[2J"), "development", &[], &[]),
        ],
        groups: vec![
            AmGroup {
                labels: vec![("alertname".into(), "ScraperFailures".into())],
                receiver: "pager".into(),
                alerts: vec![0, 1],
            },
            AmGroup {
                labels: vec![("alertname".into(), "HighLatency".into())],
                receiver: "chat".into(),
                alerts: vec![2, 3],
            },
        ],
        silences: vec![
            AmSilence {
                id: "6a1f3c2e-77".into(),
                matchers: vec![Matcher { name: "env".into(), op: MatchOp::Eq, value: "staging".into() }],
                starts_at: fixture::NOW - 600_000,
                ends_at: fixture::NOW + 600_000,
                created_by: "bob".into(),
                comment: "staging db failover, INC-42".into(),
                state: "active".into(),
                source: "http://am:9093".into(),
            },
            AmSilence {
                id: "0b0b".into(),
                matchers: vec![Matcher { name: "alertname".into(), op: MatchOp::Re, value: "Disk.*".into() }],
                starts_at: fixture::NOW - 7_200_000,
                ends_at: fixture::NOW - 3_600_000,
                created_by: "carol".into(),
                comment: "disk swap".into(),
                state: "expired".into(),
                source: "http://am:9093".into(),
            },
        ],
        errors: vec![],
        at: fixture::NOW - 2_000,
    }));
    s
}

#[test]
fn alertmanager_groups_with_muted_alerts_marked_160x45() {
    let mut s = with_am();
    s.handle_key(ch('M'));
    let out = screen(&s, 160, 45);
    assert!(out.contains("silenced by 6a1f3c2e") && out.contains("inhibited by 9f00aa11"), "{out}");
    assert!(!out.contains('\x1b') && out.contains(r"Evil\x1b[2J"), "{out}");
    assert_screen!("groups_160x45", out);
    // `m` hides the muted ones, and says so.
    s.handle_key(ch('m'));
    let out = screen(&s, 160, 45);
    assert!(!out.contains("silenced by") && out.contains("hidden"), "{out}");
}

#[test]
fn silence_form_previews_and_refuses_an_empty_comment_120x40() {
    let mut s = with_am();
    s.handle_key(ch('M'));
    s.handle_key(ch('s'));
    s.handle_key(key(KeyCode::Enter));
    let out = screen(&s, 120, 40);
    assert!(out.contains("catch 1 alert now") && out.contains("a comment is required"), "{out}");
    assert_screen!("form_refused_120x40", out);
    // Widened to a regex over both ScraperFailures: the preview follows as typed.
    s.handle_key(key(KeyCode::Tab));
    s.handle_key(crossterm::event::KeyEvent::new(KeyCode::Char('u'), crossterm::event::KeyModifiers::CONTROL));
    for c in r#"alertname=~"Scraper.*""#.chars() {
        s.handle_key(ch(c));
    }
    assert!(screen(&s, 120, 40).contains("catch 2 alerts now"));
}

#[test]
fn silences_list_with_creator_comment_and_time_left_120x40() {
    let mut s = with_am();
    s.handle_key(ch('S'));
    let out = screen(&s, 120, 40);
    assert!(out.contains("staging db failover, INC-42") && out.contains("by bob") && out.contains("expired"), "{out}");
    assert_screen!("silences_120x40", out);
}

#[test]
fn query_prompt_marks_the_error_and_the_answer_is_a_chart_and_a_table_120x40() {
    let mut s = fixture::full();
    s.handle_key(ch(':'));
    for c in "foo bar".chars() {
        s.handle_key(ch(c));
    }
    s.handle_key(key(KeyCode::Enter));
    let out = screen(&s, 120, 40);
    assert!(out.contains("column 5"), "{out}");
    assert_screen!("query_error_120x40", out);
    s.handle_key(key(KeyCode::Esc));
    s.handle_key(ch(':'));
    for c in "sum by (env) (up)".chars() {
        s.handle_key(ch(c));
    }
    s.handle_key(key(KeyCode::Enter));
    let mut panel = s.panels.iter().find(|p| !p.series.is_empty()).cloned().unwrap();
    panel.id = "query".into();
    panel.title = "sum by (env) (up)".into();
    s.apply(Event::QueryResult(QueryResult { expr: "sum by (env) (up)".into(), panel: Ok(panel) }));
    s.handle_key(ch('p'));
    let out = screen(&s, 120, 40);
    assert!(out.contains("[[panel]]") && out.contains("latest"), "{out}");
    assert_screen!("query_answer_pinned_120x40", out);
}

#[test]
fn the_footer_says_what_the_store_costs() {
    let mut s = fixture::full();
    let mut stats = s.stats.clone();
    stats.bytes_per_sample = 1.374;
    s.apply(Event::Stats(stats));
    let out = screen(&s, 160, 45);
    assert!(out.lines().last().unwrap().contains("1.37 B/sample"), "{out}");
}
