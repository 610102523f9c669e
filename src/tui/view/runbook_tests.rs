//! Render snapshots of a runbook beside the alert (`app::fixture`'s HighErrorRate): markdown as
//! terminal text, hostile bytes escaped, ticks and the cursor, the narrow stacked layout, and a
//! runbook that failed to load keeping its URL visible.

use crate::app::fixture::{self, ch, key};
use crate::app::State;
use crate::model::{Command, Event, RunbookView};
use crate::tui::view::test_screen as screen;
use crossterm::event::KeyCode;

macro_rules! assert_screen {
    ($name:literal, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(concat!("tui_runbook__", $name), $value)
        })
    };
}

const MD: &str = "# Cache eviction storm\n\n\
    Drain the {{ $labels.env }} queue first, then page team $labels.team.\n\n\
    - [ ] Check the eviction rate on the *cache* dashboard\n\
    - [ ] Raise **maxmemory** if the host has room\n\n\
    ```sh\nredis-cli -p 6380 CONFIG SET maxmemory 2gb\nredis-cli -p 6380 INFO stats\n```\n\n\
    See [the capacity guide](https://wiki.example.org/cap) first.\n\n\
    - one hA\x1b]52;c;SGFja2Vk\x07zA\n\
    - two hB\x1b[2JzB\n\
    - three hC\u{9b}31mzC\n\
    - four hD\u{202e}zD 日本語\n";

/// The alerts full screen, HighErrorRate's details open, the runbook loaded as the engine would.
fn opened(result: Result<&str, &str>) -> State {
    let mut s = fixture::full();
    s.handle_key(ch('a'));
    let Some(Command::LoadRunbook { key: k, labels, .. }) = s.handle_key(key(KeyCode::Enter)) else { panic!() };
    let mut labels = labels;
    labels.push(("team".into(), "blue-owls".into()));
    let doc = result.map(|md| crate::runbook::markdown::parse(&crate::runbook::placeholders::fill(md, &labels)));
    s.apply(Event::Runbook(RunbookView {
        key: k,
        source: Some("/etc/opsdeck/runbooks/high-error-rate.md".into()),
        doc: doc.map_err(str::to_string),
        ticks: Default::default(),
    }));
    s
}

#[test]
fn runbook_beside_the_alert_160x45() {
    let mut s = opened(Ok(MD));
    s.handle_key(ch('j'));
    s.handle_key(ch('j'));
    s.handle_key(ch(' '));
    let out = screen(&s, 160, 45);
    for want in [
        "Cache eviction storm",
        "Drain the staging queue first, then page team blue-owls.",
        "[x] Check the eviction rate",
        "redis-cli -p 6380 CONFIG SET maxmemory 2gb",
        "the capacity guide <https://wiki.example.org/cap>",
        "hA\\x1b]52;c;SGFja2Vk\\x07zA",
        "hB\\x1b[2JzB",
        "hC\\u{9b}31mzC",
        "hD\\u{202e}zD",
        "y copy",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    assert!(!out.contains("```") && !out.contains("# Cache") && !out.contains("$labels"), "{out}");
    assert_screen!("runbook_beside_the_alert_160x45", out);
}

#[test]
fn runbook_below_the_alert_when_narrow_80x30() {
    let mut s = opened(Ok(MD));
    // Far enough down that the view must scroll to the cursor.
    for _ in 0..6 {
        s.handle_key(ch('j'));
    }
    let out = screen(&s, 80, 30);
    assert!(out.contains("▶ • one hA"), "the cursor's unit is scrolled into view:\n{out}");
    assert_screen!("runbook_below_the_alert_when_narrow_80x30", out);
}

#[test]
fn a_runbook_that_failed_keeps_its_source_visible() {
    let s = opened(Err("timed out after 5s"));
    let out = screen(&s, 160, 45);
    assert!(
        out.contains("/etc/opsdeck/runbooks/high-error-rate.md") && out.contains("not loaded: timed out after 5s"),
        "{out}"
    );
    assert!(!out.contains("y copy"), "no copy key without a runbook");
}
