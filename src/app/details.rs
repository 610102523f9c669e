//! The alert details and the runbook beside them: opening them asks the engine for the runbook,
//! `j`/`k` move over the runbook's units, Space ticks a step (kept by the engine per alert
//! instance), `y` puts a code block in the clipboard. Nothing in a runbook is ever run.

use super::keymap::{self, Action};
use super::{strings, Details, Modal, State};
use crate::model::runbook::UnitKind;
use crate::model::{Command, RunbookView};
use crossterm::event::KeyEvent;

/// What `PageDown` / `PageUp` move by, in units.
const PAGE: usize = 8;
/// OSC 52 is a terminal escape: terminals and tmux cap it (xterm at about 100 KB of base64).
pub const MAX_COPY_BYTES: usize = 64 << 10;

impl State {
    /// Open the selected alert's details and ask for its runbook.
    pub(super) fn open_details(&mut self) -> Option<Command> {
        let key = self.selected_alert()?.key.clone();
        self.open_details_of(&key)
    }

    fn open_details_of(&mut self, key: &str) -> Option<Command> {
        let a = self.alerts.iter().find(|a| a.key == key)?;
        let cmd = Command::LoadRunbook {
            key: a.key.clone(),
            name: a.name.clone(),
            labels: a.labels.clone(),
            runbook_url: a.annotations.iter().find(|(k, _)| k == "runbook_url").map(|(_, v)| v.clone()),
        };
        let key = a.key.clone();
        // What was shown for another alert must not flash up under this one.
        if self.runbook.as_ref().is_some_and(|r| r.key != key) {
            self.runbook = None;
        }
        self.ui.modal = Some(Modal::AlertDetails(Details { key, cursor: 0 }));
        Some(cmd)
    }

    /// The alert the open details show (it may have left the list: resolved alerts age out).
    pub fn details_alert(&self) -> Option<&crate::model::AlertView> {
        let Some(Modal::AlertDetails(d)) = &self.ui.modal else { return None };
        self.alerts.iter().find(|a| a.key == d.key)
    }

    /// The runbook loaded for the open details, when it is the one for their alert.
    pub fn details_runbook(&self) -> Option<&RunbookView> {
        let Some(Modal::AlertDetails(d)) = &self.ui.modal else { return None };
        self.runbook.as_ref().filter(|r| r.key == d.key)
    }

    pub(super) fn details_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::AlertDetails(d)) = &self.ui.modal else { return None };
        let d = d.clone();
        let units = self.details_runbook().and_then(|r| r.doc.as_ref().ok()).map_or(0, |doc| doc.units().len());
        let moved =
            |c: usize| Some(Modal::AlertDetails(Details { cursor: c.min(units.saturating_sub(1)), ..d.clone() }));
        match keymap::lookup(&key)? {
            Action::Down => self.ui.modal = moved(d.cursor + 1),
            Action::Up => self.ui.modal = moved(d.cursor.saturating_sub(1)),
            Action::PageDown => self.ui.modal = moved(d.cursor + PAGE),
            Action::PageUp => self.ui.modal = moved(d.cursor.saturating_sub(PAGE)),
            Action::Tick => return self.tick_step(&d),
            Action::Copy => self.copy_code(&d),
            // Enter reloads (a runbook being edited, a server that was down).
            Action::Enter => return self.open_details_of(&d.key),
            a => return self.act(a),
        }
        None
    }

    fn tick_step(&mut self, d: &Details) -> Option<Command> {
        let Some(r) = self.runbook.as_mut().filter(|r| r.key == d.key) else {
            self.notice(strings::NO_RUNBOOK_STEPS.to_string());
            return None;
        };
        let Ok(doc) = &r.doc else {
            self.notice(strings::NO_RUNBOOK_STEPS.to_string());
            return None;
        };
        let Some(UnitKind::Item(item, _)) = doc.units().get(d.cursor).map(|u| u.kind) else {
            self.notice(strings::NOT_A_STEP.to_string());
            return None;
        };
        let Some(step) = &item.step else {
            self.notice(strings::NOT_A_STEP.to_string());
            return None;
        };
        let ticked = !r.ticked(item);
        let id = step.id.clone();
        // Shown at once; the engine keeps it.
        r.ticks.insert(id.clone(), ticked);
        Some(Command::TickStep { key: d.key.clone(), step: id, ticked })
    }

    /// The selected code block, or the runbook's only one, into `clipboard` for the terminal loop.
    fn copy_code(&mut self, d: &Details) {
        let Some(doc) = self.details_runbook().and_then(|r| r.doc.as_ref().ok()) else {
            self.notice(strings::NO_CODE_TO_COPY.to_string());
            return;
        };
        let units = doc.units();
        let codes = doc.codes();
        let code = match units.get(d.cursor).map(|u| u.kind) {
            Some(UnitKind::Code(c)) => Some(c),
            _ if codes.len() == 1 => Some(codes[0]),
            _ => None,
        };
        let Some(code) = code else {
            let msg = if codes.is_empty() { strings::NO_CODE_TO_COPY } else { strings::SELECT_CODE_TO_COPY };
            self.notice(msg.to_string());
            return;
        };
        if code.copy.len() > MAX_COPY_BYTES {
            self.notice(strings::code_too_big(code.copy.len(), MAX_COPY_BYTES));
            return;
        }
        let msg = strings::copied(code.index + 1, code.lines.len());
        self.clipboard = Some(code.copy.clone());
        self.notice(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixture;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn ch(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn open(md: &str) -> State {
        let mut s = fixture::full();
        s.handle_key(ch('a'));
        let Some(Command::LoadRunbook { key, name, .. }) =
            s.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        else {
            panic!("Enter on an alert asks for its runbook")
        };
        assert_eq!(name, "HighErrorRate");
        s.apply(crate::model::Event::Runbook(RunbookView {
            key,
            source: Some("/rb/high-error-rate.md".into()),
            doc: Ok(crate::runbook::markdown::parse(md)),
            ticks: Default::default(),
        }));
        s
    }

    #[test]
    fn steps_tick_and_untick_and_the_engine_is_told() {
        let mut s = open("# Storm\n\n- [ ] check the rate\n- [x] page the team\n");
        assert!(s.handle_key(ch(' ')).is_none(), "the heading is not a step");
        assert!(s.notices.back().unwrap().1.contains("not a step"));
        s.handle_key(ch('j'));
        let key = s.details_runbook().unwrap().key.clone();
        assert_eq!(
            s.handle_key(ch(' ')),
            Some(Command::TickStep { key: key.clone(), step: "check the rate".into(), ticked: true })
        );
        assert_eq!(
            s.handle_key(ch('x')),
            Some(Command::TickStep { key: key.clone(), step: "check the rate".into(), ticked: false })
        );
        s.handle_key(ch('j'));
        // Ticked in the markdown itself: the first press unticks it.
        assert_eq!(s.handle_key(ch(' ')), Some(Command::TickStep { key, step: "page the team".into(), ticked: false }));
        // The cursor stops at the last unit.
        for _ in 0..5 {
            s.handle_key(ch('j'));
        }
        assert!(matches!(&s.ui.modal, Some(Modal::AlertDetails(d)) if d.cursor == 2));
    }

    #[test]
    fn y_copies_the_selected_block_or_the_only_one_never_runs_it() {
        let mut s = open("# One\n\n```sh\nredis-cli INFO\n```\n");
        assert_eq!(s.handle_key(ch('y')), None);
        assert_eq!(s.clipboard.take().as_deref(), Some("redis-cli INFO"), "the only block, from anywhere");

        let mut s = open("Two:\n\n```\nfirst\n```\n\n```\nsecond\nline\n```\n");
        s.handle_key(ch('y'));
        assert_eq!(s.clipboard, None);
        assert!(s.notices.back().unwrap().1.contains("j/k"));
        s.handle_key(ch('j'));
        s.handle_key(ch('j'));
        s.handle_key(ch('y'));
        assert_eq!(s.clipboard.as_deref(), Some("second\nline"));
        assert!(s.notices.back().unwrap().1.contains("code block 2 (2 lines)"), "{:?}", s.notices.back());
    }

    #[test]
    fn the_dashboard_keys_still_act_under_the_details() {
        let mut s = open("# x\n");
        assert!(matches!(s.handle_key(ch('A')), Some(Command::Ack { acked: true, .. })));
        s.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert!(s.ui.modal.is_none());
    }
}
