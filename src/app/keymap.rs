//! Every key of the dashboard in one table (as gitui's `key_list.rs`): `handle_key` looks keys up
//! here and the `?` overlay lists this same table, so help can never drift from behaviour.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    NextEnv,
    PrevEnv,
    AllEnvs,
    /// `1`–`9`: the n-th environment (1-based).
    SelectEnv(usize),
    Down,
    Up,
    PageDown,
    PageUp,
    FocusNext,
    FocusPrev,
    Enter,
    Zoom,
    Esc,
    Deploy,
    Rollback,
    Promote,
    History,
    /// Show the running (or last) operation of the selected environment again.
    Operation,
    /// The selected environment's components and backup, in full.
    Components,
    /// The `:` PromQL prompt.
    Query,
    /// The Alertmanagers' alerts, grouped as they group them.
    AlertmanagerView,
    /// The Alertmanagers' silences.
    Silences,
    Alerts,
    Ack,
    Silence,
    Logs,
    Search,
    SearchNext,
    SearchPrev,
    NextError,
    Correlate,
    Follow,
    LevelFilter,
    WindowUp,
    WindowDown,
    Theme,
    /// Tick (or untick) the selected runbook step.
    Tick,
    /// Copy the selected runbook code block to the clipboard (OSC 52).
    Copy,
}

#[derive(Debug, Clone, Copy)]
pub enum Key {
    Char(char),
    /// Any of `1`..=`9`.
    Digit,
    Code(KeyCode),
    Ctrl(char),
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How help shows the keys.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

use Action as A;
use Key::{Char as C, Code as K};

pub const KEYMAP: &[Binding] = &[
    Binding { keys: &[C('q'), Key::Ctrl('c')], label: "q", action: A::Quit, help: "quit" },
    Binding { keys: &[C('?')], label: "?", action: A::Help, help: "this help" },
    Binding { keys: &[Key::Digit], label: "1-9", action: A::SelectEnv(0), help: "show one environment" },
    Binding { keys: &[C('0')], label: "0", action: A::AllEnvs, help: "all environments overlaid" },
    Binding { keys: &[K(KeyCode::Tab)], label: "Tab", action: A::NextEnv, help: "next environment" },
    Binding { keys: &[K(KeyCode::BackTab)], label: "S-Tab", action: A::PrevEnv, help: "previous environment" },
    Binding { keys: &[C('j'), K(KeyCode::Down)], label: "j/↓", action: A::Down, help: "move down" },
    Binding { keys: &[C('k'), K(KeyCode::Up)], label: "k/↑", action: A::Up, help: "move up" },
    Binding { keys: &[K(KeyCode::PageDown)], label: "PgDn", action: A::PageDown, help: "page down" },
    Binding { keys: &[K(KeyCode::PageUp)], label: "PgUp", action: A::PageUp, help: "page up" },
    Binding { keys: &[C('l'), K(KeyCode::Right)], label: "l/→", action: A::FocusNext, help: "focus next panel" },
    Binding { keys: &[C('h'), K(KeyCode::Left)], label: "h/←", action: A::FocusPrev, help: "focus previous panel" },
    Binding { keys: &[K(KeyCode::Enter)], label: "Enter", action: A::Enter, help: "zoom panel / alert details" },
    Binding { keys: &[C('z')], label: "z", action: A::Zoom, help: "zoom the focused panel" },
    Binding { keys: &[K(KeyCode::Esc)], label: "Esc", action: A::Esc, help: "close" },
    Binding { keys: &[C('+'), C('=')], label: "+", action: A::WindowUp, help: "longer time window" },
    Binding { keys: &[C('-')], label: "-", action: A::WindowDown, help: "shorter time window" },
    Binding { keys: &[C('a')], label: "a", action: A::Alerts, help: "alerts full screen" },
    Binding { keys: &[C('A')], label: "A", action: A::Ack, help: "acknowledge alert" },
    Binding { keys: &[C('s')], label: "s", action: A::Silence, help: "silence alert for…" },
    Binding { keys: &[C(':')], label: ":", action: A::Query, help: "query: PromQL over the window" },
    Binding { keys: &[C('M')], label: "M", action: A::AlertmanagerView, help: "Alertmanager: groups, muted" },
    Binding { keys: &[C('S')], label: "S", action: A::Silences, help: "silences list (x expires)" },
    Binding { keys: &[C('L')], label: "L", action: A::Logs, help: "logs full screen" },
    Binding { keys: &[C('f')], label: "f", action: A::Follow, help: "logs: follow / pause" },
    Binding { keys: &[C('v')], label: "v", action: A::LevelFilter, help: "logs: level error/warn+/all" },
    Binding { keys: &[C('/')], label: "/", action: A::Search, help: "search logs / filter fleet" },
    Binding { keys: &[C('n')], label: "n", action: A::SearchNext, help: "next match" },
    Binding { keys: &[C('N')], label: "N", action: A::SearchPrev, help: "previous match" },
    Binding { keys: &[C('e')], label: "e", action: A::NextError, help: "logs: next error" },
    Binding { keys: &[C('c')], label: "c", action: A::Correlate, help: "logs: same request id, all envs" },
    Binding { keys: &[C('d')], label: "d", action: A::Deploy, help: "deploy: pick version, confirm" },
    Binding { keys: &[C('r')], label: "r", action: A::Rollback, help: "rollback to last verified" },
    Binding { keys: &[C('p')], label: "p", action: A::Promote, help: "promote from previous stage" },
    Binding { keys: &[C('o')], label: "o", action: A::Operation, help: "deploy progress (c cancels)" },
    Binding { keys: &[C('H')], label: "H", action: A::History, help: "deploy history, interrupted" },
    Binding { keys: &[C('C')], label: "C", action: A::Components, help: "components and backup in full" },
    Binding { keys: &[C(' '), C('x')], label: "Space", action: A::Tick, help: "runbook: tick the step" },
    Binding { keys: &[C('y')], label: "y", action: A::Copy, help: "runbook: copy code (OSC 52)" },
    Binding { keys: &[C('t')], label: "t", action: A::Theme, help: "theme dark/light/basic" },
];

fn matches(k: Key, ev: &KeyEvent) -> bool {
    let plain = !ev.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match (k, ev.code) {
        (Key::Char(c), KeyCode::Char(e)) => plain && c == e,
        (Key::Digit, KeyCode::Char(e)) => plain && ('1'..='9').contains(&e),
        (Key::Code(c), e) => c == e,
        (Key::Ctrl(c), KeyCode::Char(e)) => ev.modifiers.contains(KeyModifiers::CONTROL) && c == e,
        _ => false,
    }
}

/// Actions that change something, so read-only mode refuses them (help marks their keys).
/// Cancelling and resolving, keys of the progress and history views, are refused as well.
pub fn refused_read_only(a: Action) -> bool {
    matches!(a, A::Deploy | A::Rollback | A::Promote | A::Ack | A::Silence)
}

/// The action bound to a key press, if any.
pub fn lookup(ev: &KeyEvent) -> Option<Action> {
    let b = KEYMAP.iter().find(|b| b.keys.iter().any(|&k| matches(k, ev)))?;
    Some(match (b.action, ev.code) {
        // Digits carry their number.
        (A::SelectEnv(_), KeyCode::Char(c)) => A::SelectEnv(c as usize - '0' as usize),
        (a, _) => a,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn looks_up_chars_digits_codes_and_ctrl() {
        assert_eq!(lookup(&key(KeyCode::Char('q'))), Some(A::Quit));
        assert_eq!(lookup(&key(KeyCode::Char('3'))), Some(A::SelectEnv(3)));
        assert_eq!(lookup(&key(KeyCode::Tab)), Some(A::NextEnv));
        assert_eq!(lookup(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(A::Quit));
        assert_eq!(lookup(&KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)), Some(A::Ack));
        assert_eq!(lookup(&key(KeyCode::Char('w'))), None);
        // Ctrl+j is not `j`.
        assert_eq!(lookup(&KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL)), None);
    }

    #[test]
    fn every_action_has_one_binding() {
        let mut seen = std::collections::HashSet::new();
        for b in KEYMAP {
            assert!(seen.insert(format!("{:?}", b.action)), "{:?} bound twice", b.action);
        }
        for l in ["d", "r", "p", "H", "o"] {
            assert!(KEYMAP.iter().any(|b| b.label == l), "help must list {l}");
        }
    }
}
