//! `H`: an environment's deploy history (rows newest first, its rollback points, the journal's
//! problems) and, when an operation was interrupted, its three ways out: `v` verify, `r` roll
//! back, `m` mark resolved, each through the confirmation step. Opening it asks the engine to
//! read the journal again.

use super::confirm::{resolution_words, Confirm, ConfirmAction, Fact};
use super::deploy_ops::op_label;
use super::keymap::{self, Action};
use super::{strings as S, Command, HistoryRow, Modal, Resolution, State};
use crossterm::event::{KeyCode, KeyEvent};

impl State {
    /// `H` on the dashboard: the selected environment's history.
    pub(super) fn open_history(&mut self) -> Option<Command> {
        match self.selected_env_name() {
            Some(env) => self.open_history_of(env.to_string()),
            None => {
                self.notice(S::pick_env("H"));
                None
            }
        }
    }

    pub(super) fn open_history_of(&mut self, env: String) -> Option<Command> {
        self.ui.modal = Some(Modal::History { env: env.clone(), scroll: 0 });
        Some(Command::History { env })
    }

    /// `env`'s history rows, newest first (the engine sends them oldest first).
    pub fn history_rows(&self, env: &str) -> impl Iterator<Item = &HistoryRow> {
        self.deploy_history.get(env).into_iter().flat_map(|h| h.rows.iter().rev())
    }

    /// Every key while the history view is open.
    pub(super) fn history_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::History { env, scroll }) = self.ui.modal.clone() else { return None };
        let how = match key.code {
            KeyCode::Char('v') => Some(Resolution::Verify),
            KeyCode::Char('r') => Some(Resolution::RollBack),
            KeyCode::Char('m') => Some(Resolution::MarkResolved),
            _ => None,
        };
        if let Some(how) = how.filter(|_| key.modifiers.is_empty()) {
            self.open_resolve(&env, how);
            return None;
        }
        let rows = self.history_rows(&env).count();
        match keymap::lookup(&key) {
            Some(Action::Esc | Action::History) => self.ui.modal = None,
            Some(Action::Quit) => return self.request_quit(),
            Some(Action::Down) => {
                self.ui.modal = Some(Modal::History { env, scroll: (scroll + 1).min(rows.saturating_sub(1)) })
            }
            Some(Action::Up) => self.ui.modal = Some(Modal::History { env, scroll: scroll.saturating_sub(1) }),
            Some(Action::Operation) => self.open_operation(),
            _ => {}
        }
        None
    }

    /// `v`/`r`/`m`: confirm what to do with the interrupted operation.
    fn open_resolve(&mut self, env: &str, how: Resolution) {
        let Some(i) = self.deploy_history.get(env).and_then(|h| h.interrupted.clone()) else {
            self.notice(S::nothing_interrupted(env));
            return;
        };
        if self.refuse_read_only(&S::resolving(resolution_words(how))) || self.busy(env) {
            return;
        }
        let what = op_label(i.kind, &i.version);
        let target = i.rollback_point.clone().or_else(|| self.rollback_target(env).map(str::to_string));
        if how == Resolution::RollBack && target.is_none() {
            self.notice(S::no_rollback_point(env, self.running_version(env), true));
            return;
        }
        let question = match how {
            Resolution::Verify => S::resolve_verify_question(env, &i.version),
            Resolution::RollBack => S::resolve_rollback_question(env, target.as_deref().unwrap_or_default()),
            Resolution::MarkResolved => S::resolve_mark_question(env, &what),
        };
        let protected = self.envs.iter().any(|e| e.name == env && e.protected);
        let action = ConfirmAction::Resolve { env: env.to_string(), op: i.id.clone(), how };
        let mut c = Confirm::new(action, S::resolve_title(env), question);
        let mut e = Fact::new("env", env, true);
        if protected {
            e.mark = Some("[protected]");
            c.protected = Some(env.to_string());
        }
        c.facts = vec![
            e,
            Fact::new("interrupted", what, true),
            Fact::new("by", i.user.clone(), false),
            Fact::new("reached", i.reached.clone(), false),
        ];
        if let (Resolution::RollBack, Some(t)) = (how, target) {
            c.facts.push(Fact::new("roll back", t, true));
        }
        c.note = Some(S::resolve_note(how).into());
        self.ui.modal = Some(Modal::Confirm(c));
    }
}
