//! The keys that act on the logs panel: follow, level filter, search and its steps, and request-id
//! correlation. Split from `mod.rs`'s `act`, which hands these actions here.

use super::keymap::Action;
use super::{strings, Level, Modal, State, LOGS_ID};

impl State {
    pub(super) fn act_on_logs(&mut self, action: Action) {
        match action {
            Action::Follow => match self.log_view() {
                Some((v, _)) => {
                    v.toggle_follow();
                }
                None => {
                    // All environments: one switch for every view.
                    let follow = !self.log_views.values().all(|v| v.follow);
                    for v in self.log_views.values_mut() {
                        if v.follow != follow {
                            v.toggle_follow();
                        }
                    }
                }
            },
            Action::LevelFilter => {
                let l = match self.ui.logs.level {
                    None => Some(Level::Warning),
                    Some(l) if l < Level::Error => Some(Level::Error),
                    Some(_) => None,
                };
                self.ui.logs.level = l;
                for v in self.log_views.values_mut() {
                    v.set_min_level(l);
                }
                self.refresh_logs();
            }
            Action::Search => {
                self.ui.focus = LOGS_ID.to_string();
                self.ui.modal = Some(Modal::LogSearch);
            }
            Action::SearchNext | Action::SearchPrev | Action::NextError => {
                if !self.need_one_env() {
                    return;
                }
                let found = self.log_view().map(|(v, b)| match action {
                    Action::SearchNext => v.next_match(b),
                    Action::SearchPrev => v.prev_match(b),
                    _ => v.next_error(b),
                });
                if found != Some(true) {
                    let what = if action == Action::NextError { strings::NO_ERRORS } else { strings::NO_MATCHES };
                    self.notice(what.to_string());
                }
            }
            Action::Correlate => {
                if !self.need_one_env() {
                    return;
                }
                let rid = self.log_view().and_then(|(v, b)| v.selected_record(b)).map(|r| r.request_id.clone());
                match rid {
                    Some(Some(id)) => self.ui.modal = Some(Modal::LogCorrelate(id)),
                    _ => self.notice(strings::NO_REQUEST_ID.to_string()),
                }
            }
            _ => {}
        }
    }
}
