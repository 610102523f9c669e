//! The deploy engine's operations as the dashboard sees and starts them: folding `Event::Deploy`
//! and `Event::DeployHistory`, the header's status lines, the progress view's keys (Esc closes it
//! and the operation goes on, `c` cancels), `r` rollback, `p` promote, `q` while an operation runs,
//! and what opens after a confirmation. Drawing is `tui::view::operation` and `tui::view::history`.

use super::confirm::{Confirm, ConfirmAction, Fact};
use super::keymap::{self, Action};
use super::{strings as S, Command, DeployHistory, DeployProgress, Final, Millis, Modal, OpKind, Phase, State};
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::VecDeque;

/// How long an ended operation's outcome stays in the header. A failed rollback stays until the
/// environment's next operation: a human is needed, and the header is seen from every view.
pub const OUTCOME_SHOWN_MS: Millis = 5 * 60_000;
/// How long a confirmed operation the engine has not reported yet counts as starting (for `q`).
/// Longer, and a request the engine refused with a notice alone would hold `q` up.
pub const REQUEST_PENDING_MS: Millis = 30_000;
/// Messages of an operation kept for the progress view.
const STEPS_KEPT: usize = 8;

/// What the view saw of an environment's latest operation besides its last progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    pub id: String,
    /// Its messages, newest last (each progress carries only the latest).
    pub steps: VecDeque<String>,
    /// When its final progress arrived (view clock).
    pub ended_at: Option<Millis>,
}

/// How a header item is to be drawn; the symbol and the words carry the meaning as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Running,
    Good,
    Warn,
    /// A failed rollback: a human is needed.
    Loud,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusItem {
    pub text: String,
    pub tone: Tone,
}

/// "deploy 1.6.0-bad", "rollback to 1.5.0", "promote 1.5.0".
pub fn op_label(kind: OpKind, version: &str) -> String {
    match kind {
        OpKind::Rollback => format!("rollback to {version}"),
        k => format!("{} {version}", k.as_str()),
    }
}

/// "12s", "2m5s": a time span (left, taken, ago), rounded up to the second.
pub fn duration_text(ms: Millis) -> String {
    let secs = (ms.max(0) as u64).div_ceil(1000);
    crate::duration::format(std::time::Duration::from_secs(secs))
}

/// Where a running operation is, in a few words ("verify 3/10", "bake 12s left").
pub fn phase_text(p: &DeployProgress, now: Millis) -> String {
    let point = p.rollback_point.as_deref().unwrap_or(S::THE_ROLLBACK_POINT);
    match p.phase {
        Phase::Verify if p.checks_total > 0 => format!("verify {}/{}", p.checks_done, p.checks_total),
        Phase::Bake => match p.bake_until {
            Some(t) => format!("bake {} left", duration_text(t - now)),
            None => "bake".into(),
        },
        Phase::Rollback => format!("rolling back to {point}"),
        Phase::RollbackVerify if p.checks_total > 0 => {
            format!("verifying the rollback to {point} {}/{}", p.checks_done, p.checks_total)
        }
        Phase::RollbackVerify => format!("verifying the rollback to {point}"),
        other => other.as_str().to_string(),
    }
}

/// An ended operation in one line, its tone, for the header.
pub fn outcome_item(p: &DeployProgress, last: Final) -> StatusItem {
    let (env, v) = (&p.env, &p.version);
    let point = p.rollback_point.as_deref().unwrap_or(S::THE_ROLLBACK_POINT);
    let (text, tone) = match (last, p.kind) {
        (Final::Verified, OpKind::Rollback) => (format!("✔ {env}: rolled back to {v}, verified"), Tone::Good),
        (Final::Verified, OpKind::Promote) => (format!("✔ {env}: {v} promoted and verified"), Tone::Good),
        (Final::Verified, OpKind::Deploy) => (format!("✔ {env}: {v} deployed and verified"), Tone::Good),
        (Final::RolledBack, _) => {
            // The flow's words for a cancel: the operator stopped it, it did not fail.
            let why = if p.message.contains("cancelled by the operator") { "cancelled" } else { "failed" };
            (format!("↩ {env}: {v} {why}, rolled back to {point}"), Tone::Warn)
        }
        (Final::RollbackFailed, OpKind::Rollback) => {
            (format!("✖ {env}: ROLLBACK FAILED (to {v}): a human is needed"), Tone::Loud)
        }
        (Final::RollbackFailed, _) => (format!("✖ {env}: {v} failed, ROLLBACK FAILED: a human is needed"), Tone::Loud),
        (Final::Refused, k) => (format!("⊘ {env}: {} refused", op_label(k, v)), Tone::Warn),
        (Final::DryRun, k) => (format!("{env}: dry run of {}", op_label(k, v)), Tone::Good),
    };
    StatusItem { text, tone }
}

impl State {
    pub(super) fn fold_deploy(&mut self, p: DeployProgress) {
        let env = p.env.clone();
        self.deploy_requested.remove(&env);
        let trail = self.deploy_trail.entry(env.clone()).or_default();
        if trail.id != p.id {
            *trail = Trail { id: p.id.clone(), ..Trail::default() };
        }
        if !p.message.is_empty() && trail.steps.back() != Some(&p.message) {
            if trail.steps.len() == STEPS_KEPT {
                trail.steps.pop_front();
            }
            trail.steps.push_back(p.message.clone());
        }
        if p.last.is_some() && trail.ended_at.is_none() {
            trail.ended_at = Some(self.now);
        }
        self.deploy_ops.insert(env, p);
    }

    pub(super) fn fold_history(&mut self, h: DeployHistory) {
        self.deploy_history.insert(h.env.clone(), h);
    }

    /// The operation running on `env`, if one is.
    pub fn running_op(&self, env: &str) -> Option<&DeployProgress> {
        self.deploy_ops.get(env).filter(|p| p.last.is_none())
    }

    /// The first environment with an operation running.
    pub fn any_running(&self) -> Option<&DeployProgress> {
        self.deploy_ops.values().find(|p| p.last.is_none())
    }

    /// The header's lines under the tabs: running operations and recent outcomes on one, then a
    /// banner for each interrupted operation. Empty when there is nothing to say.
    pub fn header_lines(&self) -> Vec<Vec<StatusItem>> {
        let mut ops = Vec::new();
        for (env, p) in &self.deploy_ops {
            match p.last {
                None => ops.push(StatusItem {
                    text: format!("⟳ {env}: {} · {}", op_label(p.kind, &p.version), phase_text(p, self.now)),
                    tone: Tone::Running,
                }),
                Some(last) => {
                    let ended = self.deploy_trail.get(env).and_then(|t| t.ended_at).unwrap_or(self.now);
                    if last == Final::RollbackFailed || self.now - ended < OUTCOME_SHOWN_MS {
                        ops.push(outcome_item(p, last));
                    }
                }
            }
        }
        let mut lines = Vec::new();
        if !ops.is_empty() {
            lines.push(ops);
        }
        for h in self.deploy_history.values() {
            if let Some(i) = &h.interrupted {
                let text = S::interrupted_banner(&i.env, &op_label(i.kind, &i.version), &i.user, &i.reached);
                lines.push(vec![StatusItem { text, tone: Tone::Warn }]);
            }
        }
        lines.truncate(3);
        lines
    }

    /// An operation that quitting would interrupt: one running, else one confirmed here in the
    /// last `REQUEST_PENDING_MS` that the engine has not reported yet (it is starting).
    fn in_flight(&self) -> Option<(String, String)> {
        if let Some(p) = self.any_running() {
            return Some((p.env.clone(), op_label(p.kind, &p.version)));
        }
        let (env, (_, what)) = self.deploy_requested.iter().find(|(_, (at, _))| self.now - at < REQUEST_PENDING_MS)?;
        Some((env.clone(), what.clone()))
    }

    /// `q`: quits, unless an operation runs; then it asks first (quitting interrupts it).
    pub(super) fn request_quit(&mut self) -> Option<Command> {
        let Some((env, what)) = self.in_flight() else { return Some(Command::Quit) };
        let action = ConfirmAction::Quit { env: env.clone() };
        let mut c = Confirm::new(action, S::QUIT_TITLE.into(), S::quit_question(&env, &what));
        c.facts = vec![Fact::new("env", env, true), Fact::new("running", what, true)];
        c.note = Some(S::QUIT_NOTE.into());
        self.ui.modal = Some(Modal::Confirm(c));
        None
    }

    /// Refuses in read-only mode, with a notice; `what` is what was refused.
    pub(super) fn refuse_read_only(&mut self, what: &str) -> bool {
        if self.read_only {
            self.notice(S::read_only_refused(what));
        }
        self.read_only
    }

    /// The selected environment, or a notice saying which key needs one.
    fn one_env(&mut self, key: &str) -> Option<(String, bool)> {
        match self.ui.env.and_then(|i| self.envs.get(i)) {
            Some(e) => Some((e.name.clone(), e.protected)),
            None => {
                self.notice(S::pick_env(key));
                None
            }
        }
    }

    /// Nothing new may start while an operation runs on `env` (the engine's lock would refuse it).
    pub(super) fn busy(&mut self, env: &str) -> bool {
        let Some(p) = self.running_op(env) else { return false };
        let what = op_label(p.kind, &p.version);
        self.notice(S::op_running(env, &what));
        true
    }

    pub(super) fn running_version(&self, env: &str) -> Option<&str> {
        let i = self.envs.iter().position(|e| e.name == env)?;
        self.health.get(i)?.version.as_deref()
    }

    /// The rollback target of `env`: its newest verified point that is not what runs now.
    pub fn rollback_target(&self, env: &str) -> Option<&str> {
        let running = self.running_version(env);
        self.deploy_history.get(env)?.points.iter().map(String::as_str).find(|p| Some(*p) != running)
    }

    /// When `version` was last verified on `env` (the end of its newest verified operation).
    fn verified_at(&self, env: &str, version: &str) -> Option<Millis> {
        let rows = &self.deploy_history.get(env)?.rows;
        let r = rows.iter().rev().find(|r| r.version == version && r.outcome == Final::Verified.as_str())?;
        Some(r.started + r.took_ms.unwrap_or(0))
    }

    fn confirm_for(&self, action: ConfirmAction, title: String, question: String, protected: bool) -> Confirm {
        let env = action.env().to_string();
        let mut c = Confirm::new(action, title, question);
        let mut e = Fact::new("env", env.clone(), true);
        if protected {
            e.mark = Some("[protected]");
            c.protected = Some(env.clone());
        }
        let running = self.running_version(&env).unwrap_or(S::UNKNOWN).to_string();
        c.facts = vec![e, Fact::new("running", running, false)];
        c
    }

    /// `r`: roll the selected environment back to its newest verified point other than what runs.
    pub(super) fn open_rollback(&mut self) {
        if self.refuse_read_only(S::ROLLBACK) {
            return;
        }
        let Some((env, protected)) = self.one_env("r") else { return };
        if self.busy(&env) {
            return;
        }
        let Some(to) = self.rollback_target(&env).map(str::to_string) else {
            let other = self.running_version(&env).map(str::to_string);
            let known = self.deploy_history.contains_key(&env);
            self.notice(S::no_rollback_point(&env, other.as_deref(), known));
            return;
        };
        let when = self.verified_at(&env, &to).map(|t| S::ago(self.now - t));
        let question = S::rollback_question(&env, &to, when.as_deref());
        let action = ConfirmAction::Rollback { env: env.clone(), to: to.clone() };
        let mut c = self.confirm_for(action, S::rollback_title(&env), question, protected);
        c.facts.push(Fact::new("roll back", to, true));
        if let Some(w) = when {
            c.facts.push(Fact::new("verified", w, false));
        }
        c.note = Some(S::ROLLBACK_NOTE.into());
        self.ui.modal = Some(Modal::Confirm(c));
    }

    /// `p`: deploy to the selected environment what its previous stage verified last.
    pub(super) fn open_promote(&mut self) {
        if self.refuse_read_only(S::PROMOTION) {
            return;
        }
        let Some((env, protected)) = self.one_env("p") else { return };
        let Some(from) = self.promote_from.get(&env).cloned() else {
            self.notice(S::no_promote_from(&env));
            return;
        };
        if self.busy(&env) {
            return;
        }
        let Some(version) = self.deploy_history.get(&from).and_then(|h| h.points.first()).cloned() else {
            self.notice(S::nothing_to_promote(&from, &env, self.deploy_history.contains_key(&from)));
            return;
        };
        let question = S::promote_question(&env, &from, &version);
        let action = ConfirmAction::Promote { env: env.clone(), version: version.clone() };
        let mut c = self.confirm_for(action, S::promote_title(&env), question, protected);
        c.facts.push(Fact::new("promote", version, true));
        c.facts.push(Fact::new("from", from, false));
        c.note = Some(S::PROMOTE_NOTE.into());
        self.ui.modal = Some(Modal::Confirm(c));
    }

    /// `o`: the selected environment's operation (running or last), or the only one there is.
    pub(super) fn open_operation(&mut self) {
        let env = match self.selected_env_name() {
            Some(e) => e.to_string(),
            None => match self.any_running().or_else(|| self.deploy_ops.values().next()) {
                Some(p) => p.env.clone(),
                None => {
                    self.notice(S::NO_OPERATIONS.into());
                    return;
                }
            },
        };
        if !self.deploy_ops.contains_key(&env) && !self.deploy_requested.contains_key(&env) {
            self.notice(S::no_operation(&env));
            return;
        }
        self.ui.modal = Some(Modal::Operation { env });
    }

    /// Every key while the progress view is open.
    pub(super) fn operation_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::Operation { env }) = self.ui.modal.clone() else { return None };
        match key.code {
            KeyCode::Esc => {
                self.ui.modal = None;
                if self.running_op(&env).is_some() {
                    self.notice(S::op_goes_on(&env));
                }
            }
            KeyCode::Char('c') if key.modifiers.is_empty() => self.open_cancel(&env),
            KeyCode::Char('H') => return self.open_history_of(env),
            _ => match keymap::lookup(&key) {
                Some(Action::Quit) => return self.request_quit(),
                Some(Action::Operation) => self.ui.modal = None,
                _ => {}
            },
        }
        None
    }

    /// `c` in the progress view: confirm cancelling (which rolls back).
    fn open_cancel(&mut self, env: &str) {
        if self.refuse_read_only(S::CANCELLING) {
            return;
        }
        let Some(p) = self.running_op(env) else {
            self.notice(S::nothing_to_cancel(env));
            return;
        };
        if matches!(p.phase, Phase::Rollback | Phase::RollbackVerify) {
            self.notice(S::already_rolling_back(env));
            return;
        }
        let (kind, version, point, phase) =
            (p.kind, p.version.clone(), p.rollback_point.clone(), phase_text(p, self.now));
        let protected = self.envs.iter().any(|e| e.name == env && e.protected);
        let question = S::cancel_question(env, kind, &version);
        let action = ConfirmAction::Cancel { env: env.to_string() };
        let mut c = self.confirm_for(action, S::cancel_title(env), question, protected);
        c.facts.push(Fact::new("operation", op_label(kind, &version), true));
        c.facts.push(Fact::new("phase", phase, false));
        if kind != OpKind::Rollback {
            c.facts.push(Fact::new("rolls back", point.unwrap_or_else(|| S::NO_POINT.into()), true));
        }
        c.note = Some(if kind == OpKind::Rollback { S::CANCEL_ROLLBACK_NOTE } else { S::CANCEL_NOTE }.into());
        self.ui.modal = Some(Modal::Confirm(c));
    }

    /// What opens once a confirmation is answered: the progress view after starting (or
    /// cancelling) an operation, and back to it when quitting or cancelling was declined.
    pub(super) fn after_confirm(&mut self, action: &ConfirmAction, yes: bool) {
        let env = action.env().to_string();
        self.ui.modal = match (action, yes) {
            (ConfirmAction::Deploy { version, .. }, true) => self.requested(&env, op_label(OpKind::Deploy, version)),
            (ConfirmAction::Rollback { to, .. }, true) => self.requested(&env, op_label(OpKind::Rollback, to)),
            (ConfirmAction::Promote { version, .. }, true) => self.requested(&env, op_label(OpKind::Promote, version)),
            (ConfirmAction::Cancel { .. }, _) | (ConfirmAction::Quit { .. }, false) => Some(Modal::Operation { env }),
            (ConfirmAction::Resolve { .. }, _) => Some(Modal::History { env, scroll: 0 }),
            _ => None,
        };
    }

    /// A new operation was asked for: the previous one's outcome gives way to "waiting for the
    /// engine" until the engine reports the new one.
    fn requested(&mut self, env: &str, what: String) -> Option<Modal> {
        if self.running_op(env).is_none() {
            self.deploy_ops.remove(env);
            self.deploy_trail.remove(env);
        }
        self.deploy_requested.insert(env.to_string(), (self.now, what));
        Some(Modal::Operation { env: env.to_string() })
    }
}

#[cfg(test)]
#[path = "deploy_ops_tests.rs"]
mod tests;
