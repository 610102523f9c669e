//! One confirmation step for every action that changes an environment (design §6): a y/N question
//! whose default answer is no, or, for a protected environment, its name typed exactly. Only a
//! confirmed action becomes its `Command`; the caller says what was (not) done.
//!
//! Every action of the deploy engine goes through it: deploy (the `d` dialog's last step), rollback,
//! promotion, cancelling a running operation and resolving an interrupted one; and quitting while
//! an operation runs. The keys and the drawing (`tui::confirm`) are the same for all of them.

use crate::model::{Command, Resolution};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub const PROTECTED_HINT: &str = "type the name and Enter · Esc cancels";

pub fn protected_prompt(name: &str) -> String {
    format!("{name} is protected: type its name to confirm")
}

/// What a confirmation is about; each maps to the `Command` the engine runs once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmAction {
    /// Deploy `version` to `env`.
    Deploy { env: String, version: String },
    /// Roll `env` back to the verified point `to`.
    Rollback { env: String, to: String },
    /// Deploy to `env` what its previous stage verified (`version`, as the question shows it; the
    /// engine reads it from the journal again).
    Promote { env: String, version: String },
    /// Cancel the operation running on `env`: it rolls back.
    Cancel { env: String },
    /// Deal with the interrupted operation `op` of `env`.
    Resolve { env: String, op: String, how: Resolution },
    /// Quit although an operation runs on `env` (it is interrupted).
    Quit { env: String },
}

/// A resolution in the words of the history view's keys.
pub fn resolution_words(how: Resolution) -> &'static str {
    match how {
        Resolution::Verify => "verify",
        Resolution::RollBack => "roll back",
        Resolution::MarkResolved => "mark resolved",
    }
}

impl ConfirmAction {
    /// The environment the action is about.
    pub fn env(&self) -> &str {
        match self {
            ConfirmAction::Deploy { env, .. }
            | ConfirmAction::Rollback { env, .. }
            | ConfirmAction::Promote { env, .. }
            | ConfirmAction::Cancel { env }
            | ConfirmAction::Resolve { env, .. }
            | ConfirmAction::Quit { env } => env,
        }
    }

    /// The command to send once confirmed.
    pub fn command(&self) -> Command {
        let env = self.env().to_string();
        match self {
            ConfirmAction::Deploy { version, .. } => Command::Deploy { env, version: version.clone() },
            ConfirmAction::Rollback { to, .. } => Command::Rollback { env, to: Some(to.clone()) },
            ConfirmAction::Promote { .. } => Command::Promote { env },
            ConfirmAction::Cancel { .. } => Command::CancelDeploy { env },
            ConfirmAction::Resolve { op, how, .. } => Command::Resolve { env, op: op.clone(), how: *how },
            ConfirmAction::Quit { .. } => Command::Quit,
        }
    }

    /// What `y` does, for the key hint ("y deploys").
    pub fn verb(&self) -> &'static str {
        match self {
            ConfirmAction::Deploy { .. } => "deploys",
            ConfirmAction::Rollback { .. } => "rolls back",
            ConfirmAction::Promote { .. } => "promotes",
            ConfirmAction::Cancel { .. } => "cancels and rolls back",
            ConfirmAction::Resolve { how: Resolution::Verify, .. } => "verifies",
            ConfirmAction::Resolve { how: Resolution::RollBack, .. } => "rolls back",
            ConfirmAction::Resolve { how: Resolution::MarkResolved, .. } => "marks it resolved",
            ConfirmAction::Quit { .. } => "quits",
        }
    }

    /// The notice once confirmed.
    pub fn confirmed(&self) -> String {
        let env = self.env();
        match self {
            ConfirmAction::Deploy { version, .. } => format!("{env}: requesting deploy of {version}…"),
            ConfirmAction::Rollback { to, .. } => format!("{env}: requesting rollback to {to}…"),
            ConfirmAction::Promote { version, .. } => format!("{env}: requesting promotion of {version}…"),
            ConfirmAction::Cancel { .. } => format!("{env}: cancelling the operation: it rolls back…"),
            ConfirmAction::Resolve { how, .. } => {
                format!("{env}: interrupted operation: requesting {}…", resolution_words(*how))
            }
            ConfirmAction::Quit { env } => format!("quitting: the operation on {env} is interrupted"),
        }
    }

    /// The notice when the answer was no.
    pub fn cancelled(&self) -> String {
        let env = self.env();
        match self {
            ConfirmAction::Deploy { version, .. } => {
                format!("deploy of {version} to {env} cancelled: nothing was deployed")
            }
            ConfirmAction::Rollback { to, .. } => {
                format!("rollback of {env} to {to} cancelled: nothing was rolled back")
            }
            ConfirmAction::Promote { version, .. } => {
                format!("promotion of {version} to {env} cancelled: nothing was promoted")
            }
            ConfirmAction::Cancel { .. } => format!("{env}: not cancelled: the operation goes on"),
            ConfirmAction::Resolve { .. } => format!("{env}: the interrupted operation was left as it is"),
            ConfirmAction::Quit { .. } => format!("not quitting: the operation on {env} goes on"),
        }
    }

    /// The notice when a protected environment's name was not typed exactly.
    pub fn not_confirmed(&self, name: &str) -> String {
        let what = match self {
            ConfirmAction::Deploy { .. } => "nothing was deployed",
            ConfirmAction::Rollback { .. } => "nothing was rolled back",
            ConfirmAction::Promote { .. } => "nothing was promoted",
            ConfirmAction::Cancel { .. } => "the operation goes on",
            ConfirmAction::Resolve { .. } => "the interrupted operation was left as it is",
            ConfirmAction::Quit { .. } => "not quitting",
        };
        format!("not confirmed: {name} is protected and its name was not typed exactly; {what}")
    }
}

/// One line of context above the question: `key  value`, the value emphasised when `strong`, a
/// warning `mark` after it ("[protected]").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub key: &'static str,
    pub value: String,
    pub strong: bool,
    pub mark: Option<&'static str>,
}

impl Fact {
    pub fn new(key: &'static str, value: impl Into<String>, strong: bool) -> Fact {
        Fact { key, value: value.into(), strong, mark: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub action: ConfirmAction,
    /// The box's title ("Deploy to staging").
    pub title: String,
    /// The y/N question ("Deploy 1.6.0 to staging? [y/N]"), for unprotected targets.
    pub question: String,
    /// What the question is about, shown above it.
    pub facts: Vec<Fact>,
    /// A warning shown under the question (what follows: a cancel rolls back, quitting interrupts).
    pub note: Option<String>,
    /// A protected environment's name, which must be typed exactly instead of answering y.
    pub protected: Option<String>,
    /// The name typed so far (protected only).
    pub typed: String,
}

/// What a key did to a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Still asking.
    Open,
    /// Confirmed: run the action's command.
    Yes,
    /// Cancelled (the default answer).
    No,
    /// Protected, and the name typed was not exactly the name: cancelled.
    NotConfirmed,
}

impl Confirm {
    pub fn new(action: ConfirmAction, title: String, question: String) -> Confirm {
        Confirm { action, title, question, facts: Vec::new(), note: None, protected: None, typed: String::new() }
    }

    /// The key hint under the box.
    pub fn hint(&self) -> String {
        match self.protected {
            Some(_) => PROTECTED_HINT.to_string(),
            None => format!("y {} · n, Enter or Esc cancels", self.action.verb()),
        }
    }

    /// One key press. Unprotected: `y`/`Y` confirms; `n`, `N`, Enter and Esc cancel; other keys
    /// are ignored. Protected: the name is typed (Backspace edits), Enter confirms only the exact
    /// name (no trimming, no case folding), Esc cancels.
    pub fn key(&mut self, key: &KeyEvent) -> Answer {
        let plain = key.modifiers.is_empty() || key.modifiers == KeyModifiers::SHIFT;
        match &self.protected {
            Some(name) => match key.code {
                KeyCode::Esc => Answer::No,
                KeyCode::Enter if self.typed == *name => Answer::Yes,
                KeyCode::Enter => Answer::NotConfirmed,
                KeyCode::Backspace => {
                    self.typed.pop();
                    Answer::Open
                }
                KeyCode::Char(c) if plain && !c.is_control() => {
                    self.typed.push(c);
                    Answer::Open
                }
                _ => Answer::Open,
            },
            None => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Answer::Yes,
                // The default answer is no.
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Enter | KeyCode::Esc => Answer::No,
                _ => Answer::Open,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::app::fixture::{ch, key};
    fn deploy(protected: bool) -> Confirm {
        let action = ConfirmAction::Deploy { env: "production".into(), version: "1.4.0".into() };
        let mut c = Confirm::new(action, "Deploy to production".into(), "Deploy 1.4.0 to production? [y/N]".into());
        c.protected = protected.then(|| "production".to_string());
        c
    }

    #[test]
    fn unprotected_default_is_no() {
        for k in [key(KeyCode::Enter), key(KeyCode::Esc), ch('n'), ch('N')] {
            assert_eq!(deploy(false).key(&k), Answer::No, "{k:?}");
        }
        let mut c = deploy(false);
        for k in [ch('x'), ch('q'), key(KeyCode::Down), key(KeyCode::Tab)] {
            assert_eq!(c.key(&k), Answer::Open, "{k:?} neither confirms nor cancels");
        }
        assert_eq!(c.hint(), "y deploys · n, Enter or Esc cancels");
    }

    #[test]
    fn y_confirms_with_the_actions_command() {
        for k in [ch('y'), KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT)] {
            let mut c = deploy(false);
            assert_eq!(c.key(&k), Answer::Yes);
            assert_eq!(c.action.command(), Command::Deploy { env: "production".into(), version: "1.4.0".into() });
        }
    }

    #[test]
    fn protected_needs_the_exact_name() {
        let mut c = deploy(true);
        assert_eq!(c.hint(), PROTECTED_HINT);
        assert_eq!(c.key(&ch('y')), Answer::Open, "y is text here");
        assert_eq!(c.key(&key(KeyCode::Backspace)), Answer::Open);
        for k in "productionx".chars() {
            assert_eq!(c.key(&ch(k)), Answer::Open);
        }
        c.key(&key(KeyCode::Backspace));
        assert_eq!(c.typed, "production");
        assert_eq!(c.key(&key(KeyCode::Enter)), Answer::Yes);
        let mut c = deploy(true);
        for k in "production".chars() {
            c.key(&ch(k));
        }
        assert_eq!(c.key(&key(KeyCode::Esc)), Answer::No, "Esc cancels even with the name typed");
    }

    #[test]
    fn protected_mismatch_is_not_confirmed() {
        for wrong in ["", "y", "Production", "production ", "prod"] {
            let mut c = deploy(true);
            for k in wrong.chars() {
                c.key(&ch(k));
            }
            assert_eq!(c.key(&key(KeyCode::Enter)), Answer::NotConfirmed, "{wrong:?}");
        }
        assert_eq!(
            deploy(true).action.not_confirmed("production"),
            "not confirmed: production is protected and its name was not typed exactly; nothing was deployed"
        );
    }
}
