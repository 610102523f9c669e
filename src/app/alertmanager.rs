//! The Alertmanager view's keys: its alerts as Alertmanager groups them (silenced and inhibited
//! ones marked, `m` hides them), its silences (`x` expires one, after `y`), a silence created from
//! the selected alert (the form: matchers prefilled from its labels, a duration, a required
//! comment, and a live count of the alerts the matchers catch), and `A`: an ack, a short silence
//! whose comment says who acknowledged it.

use super::{keymap, keymap::Action, strings as S, Modal, State};
use crate::alertmanager::matchers;
use crate::model::{AmAlert, Command, ACK_PREFIX};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;

/// How long an ack silences its alert.
pub const ACK_FOR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmTab {
    Alerts,
    Silences,
}

/// The open Alertmanager view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmUi {
    pub tab: AmTab,
    /// Index into the rows shown (`State::am_rows` or the silences list).
    pub sel: usize,
    /// Silenced and inhibited alerts hidden (`m`); they are shown, marked, by default.
    pub hide_muted: bool,
    /// A silence waiting for `y` to be expired: (id, Alertmanager).
    pub expiring: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Matchers,
    Duration,
    Comment,
}

/// The new-silence form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceForm {
    pub matchers: String,
    pub duration: String,
    pub comment: String,
    pub focus: Field,
    /// Why the last Enter was refused.
    pub error: Option<String>,
    /// The view to go back to.
    pub back: AmUi,
}

impl SilenceForm {
    pub fn field(&self, f: Field) -> &str {
        match f {
            Field::Matchers => &self.matchers,
            Field::Duration => &self.duration,
            Field::Comment => &self.comment,
        }
    }

    fn field_mut(&mut self) -> &mut String {
        match self.focus {
            Field::Matchers => &mut self.matchers,
            Field::Duration => &mut self.duration,
            Field::Comment => &mut self.comment,
        }
    }
}

/// How many of `alerts` the matchers as typed catch (`None` while they do not parse).
pub fn preview(alerts: &[AmAlert], text: &str) -> Result<usize, String> {
    let sel = matchers::Selector::new(&matchers::parse(text)?);
    Ok(alerts.iter().filter(|a| sel.matches(&a.labels)).count())
}

impl State {
    /// The alerts the view lists, group by group, as indices into the snapshot's alerts; with
    /// the group each row starts (its index into `groups`), for the group headers.
    pub fn am_rows(&self, hide_muted: bool) -> Vec<(usize, usize)> {
        let Some(snap) = &self.am else { return vec![] };
        let mut rows = Vec::new();
        for (gi, g) in snap.groups.iter().enumerate() {
            for &ai in &g.alerts {
                let a = &snap.alerts[ai];
                if hide_muted && a.muted() {
                    continue;
                }
                if !self.env_visible(a.label("env")) {
                    continue;
                }
                rows.push((gi, ai));
            }
        }
        rows
    }

    pub(super) fn open_alertmanager(&mut self, tab: AmTab) {
        if self.am_urls.is_empty() {
            self.notice(S::NO_ALERTMANAGER.to_string());
            return;
        }
        self.ui.modal = Some(Modal::Alertmanager(AmUi { tab, sel: 0, hide_muted: false, expiring: None }));
    }

    pub(super) fn alertmanager_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::Alertmanager(mut ui)) = self.ui.modal.clone() else { return None };
        if let Some((id, source)) = ui.expiring.take() {
            // The y/N question: only `y` expires.
            if key.code == KeyCode::Char('y') {
                self.ui.modal = Some(Modal::Alertmanager(ui));
                self.notice(S::expiring(&id));
                return Some(Command::ExpireSilence { id, source });
            }
            self.ui.modal = Some(Modal::Alertmanager(ui));
            return None;
        }
        let n = match ui.tab {
            AmTab::Alerts => self.am_rows(ui.hide_muted).len(),
            AmTab::Silences => self.am.as_ref().map_or(0, |s| s.silences.len()),
        };
        if key.code == KeyCode::Char('m') && ui.tab == AmTab::Alerts {
            ui.hide_muted = !ui.hide_muted;
            ui.sel = 0;
            self.ui.modal = Some(Modal::Alertmanager(ui));
            return None;
        }
        if key.code == KeyCode::Char('x') && ui.tab == AmTab::Silences {
            if self.refuse_read_only(S::SILENCING) {
                return None;
            }
            let s = self.am.as_ref().and_then(|s| s.silences.get(ui.sel));
            match s {
                Some(s) if s.state != "expired" => ui.expiring = Some((s.id.clone(), s.source.clone())),
                Some(_) => self.notice(S::ALREADY_EXPIRED.to_string()),
                None => {}
            }
            self.ui.modal = Some(Modal::Alertmanager(ui));
            return None;
        }
        match keymap::lookup(&key)? {
            Action::Quit => return self.request_quit(),
            Action::Esc | Action::AlertmanagerView if ui.tab == AmTab::Alerts => self.ui.modal = None,
            Action::Esc | Action::Silences if ui.tab == AmTab::Silences => self.ui.modal = None,
            Action::Silences | Action::AlertmanagerView | Action::FocusNext | Action::FocusPrev => {
                ui.tab = if ui.tab == AmTab::Alerts { AmTab::Silences } else { AmTab::Alerts };
                ui.sel = 0;
                self.ui.modal = Some(Modal::Alertmanager(ui));
            }
            Action::Down => {
                ui.sel = (ui.sel + 1).min(n.saturating_sub(1));
                self.ui.modal = Some(Modal::Alertmanager(ui));
            }
            Action::Up => {
                ui.sel = ui.sel.saturating_sub(1);
                self.ui.modal = Some(Modal::Alertmanager(ui));
            }
            Action::Help => self.ui.modal = Some(Modal::Help),
            Action::Silence if ui.tab == AmTab::Alerts => {
                if self.refuse_read_only(S::SILENCING) {
                    return None;
                }
                let Some(a) = self.am_selected(&ui) else {
                    self.notice(S::NO_ALERT_SELECTED.to_string());
                    return None;
                };
                let form = SilenceForm {
                    matchers: matchers::exact(&a.labels),
                    duration: "2h".into(),
                    comment: String::new(),
                    focus: Field::Comment,
                    error: None,
                    back: ui,
                };
                self.ui.modal = Some(Modal::SilenceForm(form));
            }
            Action::Ack if ui.tab == AmTab::Alerts => {
                if self.refuse_read_only(S::SILENCING) {
                    return None;
                }
                let a = self.am_selected(&ui)?;
                let cmd = Command::CreateSilence {
                    matchers: matchers::equal_all(&a.labels),
                    duration: ACK_FOR,
                    comment: format!("{ACK_PREFIX} acknowledged by {} from opsdeck", self.silence_author),
                };
                self.notice(S::acked(a.name()));
                return Some(cmd);
            }
            a @ (Action::SelectEnv(_) | Action::AllEnvs | Action::NextEnv | Action::PrevEnv) => {
                let cmd = self.act(a);
                ui.sel = 0;
                self.ui.modal = Some(Modal::Alertmanager(ui));
                return cmd;
            }
            _ => {}
        }
        None
    }

    pub fn am_selected(&self, ui: &AmUi) -> Option<&AmAlert> {
        let rows = self.am_rows(ui.hide_muted);
        let &(_, ai) = rows.get(ui.sel.min(rows.len().saturating_sub(1)))?;
        self.am.as_ref()?.alerts.get(ai)
    }

    pub(super) fn silence_form_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::SilenceForm(mut form)) = self.ui.modal.clone() else { return None };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.ui.modal = Some(Modal::Alertmanager(form.back));
                return None;
            }
            KeyCode::Tab | KeyCode::Down => {
                form.focus = match form.focus {
                    Field::Matchers => Field::Duration,
                    Field::Duration => Field::Comment,
                    Field::Comment => Field::Matchers,
                }
            }
            KeyCode::BackTab | KeyCode::Up => {
                form.focus = match form.focus {
                    Field::Matchers => Field::Comment,
                    Field::Duration => Field::Matchers,
                    Field::Comment => Field::Duration,
                }
            }
            KeyCode::Enter => match self.submit(&form) {
                Ok(cmd) => {
                    self.ui.modal = Some(Modal::Alertmanager(form.back));
                    self.notice(S::SILENCE_SENT.to_string());
                    return Some(cmd);
                }
                Err(e) => form.error = Some(e),
            },
            KeyCode::Backspace => {
                form.field_mut().pop();
            }
            KeyCode::Char('u') if ctrl => form.field_mut().clear(),
            // A comment long enough to say why; longer is refused as typed, not cut later.
            KeyCode::Char(c) if !ctrl && !c.is_control() && form.field_mut().chars().count() < 500 => {
                form.field_mut().push(c)
            }
            _ => {}
        }
        self.ui.modal = Some(Modal::SilenceForm(form));
        None
    }

    fn submit(&self, form: &SilenceForm) -> Result<Command, String> {
        let ms = matchers::parse(&form.matchers).map_err(|e| format!("matchers: {e}"))?;
        let duration = crate::duration::parse(form.duration.trim()).map_err(|e| format!("duration: {e}"))?;
        if duration.is_zero() {
            return Err("duration: must be more than 0s".into());
        }
        let comment = form.comment.trim();
        if comment.is_empty() {
            return Err(S::COMMENT_REQUIRED.into());
        }
        Ok(Command::CreateSilence { matchers: ms, duration, comment: comment.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AmGroup, AmSnapshot, Event};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn state() -> State {
        let mut s = State::new(vec![], Duration::from_secs(3600));
        s.am_urls = vec!["http://am".into()];
        s.silence_author = "alice".into();
        let alert = |name: &str, env: &str| AmAlert {
            fingerprint: format!("{name}{env}"),
            labels: vec![("alertname".into(), name.into()), ("env".into(), env.into())],
            annotations: vec![],
            starts_at: 0,
            state: "active".into(),
            silenced_by: vec![],
            inhibited_by: vec![],
            sources: vec!["http://am".into()],
        };
        s.apply(Event::Alertmanager(AmSnapshot {
            alerts: vec![alert("ScraperFailures", "production"), alert("ScraperFailures", "staging")],
            groups: vec![AmGroup { labels: vec![], receiver: "r".into(), alerts: vec![0, 1] }],
            ..Default::default()
        }));
        s
    }

    fn typed(s: &mut State, text: &str) {
        for c in text.chars() {
            s.handle_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn a_silence_needs_a_comment_and_previews_what_it_catches() {
        let mut s = state();
        s.open_alertmanager(AmTab::Alerts);
        assert!(s.handle_key(key(KeyCode::Char('s'))).is_none());
        let Some(Modal::SilenceForm(f)) = &s.ui.modal else { panic!("{:?}", s.ui.modal) };
        assert_eq!(f.matchers, r#"alertname="ScraperFailures", env="production""#);
        assert_eq!(preview(&s.am.as_ref().unwrap().alerts, &f.matchers), Ok(1));
        // Enter without a comment is refused and the form stays.
        assert!(s.handle_key(key(KeyCode::Enter)).is_none());
        let Some(Modal::SilenceForm(f)) = &s.ui.modal else { panic!() };
        assert_eq!(f.error.as_deref(), Some(S::COMMENT_REQUIRED));
        typed(&mut s, "db failover");
        // Widen the matchers to both environments: the preview follows.
        s.handle_key(key(KeyCode::Tab));
        for _ in 0..r#", env="production""#.len() {
            s.handle_key(key(KeyCode::Backspace));
        }
        let Some(Modal::SilenceForm(f)) = &s.ui.modal else { panic!() };
        assert_eq!(preview(&s.am.as_ref().unwrap().alerts, &f.matchers), Ok(2));
        match s.handle_key(key(KeyCode::Enter)) {
            Some(Command::CreateSilence { matchers, duration, comment }) => {
                assert_eq!(matchers.len(), 1);
                assert_eq!(duration, Duration::from_secs(7200));
                assert_eq!(comment, "db failover");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.ui.modal, Some(Modal::Alertmanager(_))));
    }

    #[test]
    fn ack_is_a_short_silence_that_names_its_author_and_expire_asks_first() {
        let mut s = state();
        s.open_alertmanager(AmTab::Alerts);
        match s.handle_key(key(KeyCode::Char('A'))) {
            Some(Command::CreateSilence { comment, duration, .. }) => {
                assert!(comment.starts_with(ACK_PREFIX) && comment.contains("alice"), "{comment}");
                assert_eq!(duration, ACK_FOR);
            }
            other => panic!("{other:?}"),
        }
        let mut snap = s.am.clone().unwrap();
        snap.silences.push(crate::model::AmSilence {
            id: "s1".into(),
            matchers: vec![],
            starts_at: 0,
            ends_at: 1,
            created_by: "bob".into(),
            comment: "x".into(),
            state: "active".into(),
            source: "http://am".into(),
        });
        s.apply(Event::Alertmanager(snap));
        s.handle_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
        assert!(s.handle_key(key(KeyCode::Char('x'))).is_none());
        assert!(s.handle_key(key(KeyCode::Char('n'))).is_none(), "anything but y keeps it");
        s.handle_key(key(KeyCode::Char('x')));
        assert_eq!(
            s.handle_key(key(KeyCode::Char('y'))),
            Some(Command::ExpireSilence { id: "s1".into(), source: "http://am".into() })
        );
    }

    #[test]
    fn muted_alerts_are_shown_and_m_hides_them() {
        let mut s = state();
        let mut snap = s.am.clone().unwrap();
        snap.alerts[1].silenced_by = vec!["s1".into()];
        s.apply(Event::Alertmanager(snap));
        assert_eq!(s.am_rows(false).len(), 2);
        assert_eq!(s.am_rows(true).len(), 1);
    }
}
