//! The `d` dialog (design §6): a version picker with type-to-filter, then the shared confirmation
//! (`confirm`), whose default answer is no; a protected environment must be confirmed by typing
//! its name exactly. Only a confirmed deploy becomes `Command::Deploy`; the deploy engine then
//! runs the driver, verifies, bakes and rolls back on failure, and the progress view shows it.

use super::confirm::{Confirm, ConfirmAction, Fact};
use super::{strings, Command, Modal, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub const TITLE: &str = "Deploy";
pub const FLOW_NOTE: &str =
    "After the driver: health checks, gates and the bake; a failure rolls back to the last verified release.";
pub const PICK_HINT: &str = "type to filter · ↑/↓ j/k move · Enter pick · Esc cancel";
pub const NO_MATCH: &str = "no version matches the filter";
pub const NO_VERSIONS: &str = "no versions configured: add versions = [...] to this environment's deploy";
pub const PICK_ENV: &str = "choose one environment (1-9 or Tab) to deploy to, then press d";

pub fn no_deploy_config(env: &str) -> String {
    format!("{env} has no deploy configured: add deploy = {{ driver = \"http\", url = ... }} to it")
}
pub fn picker_cancelled(env: &str) -> String {
    format!("deploy to {env} cancelled: nothing was deployed")
}
pub fn question(env: &str, version: &str) -> String {
    format!("Deploy {version} to {env}? [y/N]")
}

/// The version picker; picking one leads to its confirmation (`DeployDialog::confirm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployDialog {
    pub env: String,
    pub protected: bool,
    /// The running version as last seen by the health check, for the dialog's "from".
    pub running: Option<String>,
    /// `deploy.versions` from the config, in the config's order.
    pub versions: Vec<String>,
    /// The filter as typed.
    pub filter: String,
    /// Index into `filtered()`.
    pub sel: usize,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// Still picking.
    Open,
    /// Esc: nothing was deployed.
    Cancelled,
    /// A version was chosen: confirm it.
    Confirm(Confirm),
}

impl DeployDialog {
    pub fn new(env: String, protected: bool, running: Option<String>, versions: Vec<String>) -> DeployDialog {
        DeployDialog { env, protected, running, versions, filter: String::new(), sel: 0 }
    }

    /// The versions the filter lets through (case-insensitive substring), in the config's order.
    pub fn filtered(&self) -> Vec<&str> {
        let f = self.filter.to_lowercase();
        self.versions.iter().filter(|v| v.to_lowercase().contains(&f)).map(String::as_str).collect()
    }

    /// `j`/`k` move the selection, unless an offered version contains that letter: then it has
    /// to be typeable, and the arrows still move.
    fn moves(&self, c: char) -> bool {
        (c == 'j' || c == 'k') && !self.versions.iter().any(|v| v.to_lowercase().contains(c))
    }

    /// What the dialog is about: the environment (marked when protected) and what runs there.
    pub fn facts(&self) -> Vec<Fact> {
        let mut env = Fact::new("env", self.env.clone(), true);
        if self.protected {
            env.mark = Some("[protected]");
        }
        let running = Fact::new("running", self.running.clone().unwrap_or_else(|| "unknown".into()), false);
        vec![env, running]
    }

    /// The confirmation of deploying `version`: y/N, or the name typed for a protected environment.
    pub fn confirm(&self, version: String) -> Confirm {
        let question = question(&self.env, &version);
        let mut facts = self.facts();
        facts.push(Fact::new("deploy", version.clone(), true));
        let action = ConfirmAction::Deploy { env: self.env.clone(), version };
        let mut c = Confirm::new(action, format!("{TITLE} to {}", self.env), question);
        c.facts = facts;
        c.note = Some(FLOW_NOTE.to_string());
        c.protected = self.protected.then(|| self.env.clone());
        c
    }

    /// Every key while the picker is open (typing must not trigger other actions).
    pub fn key(&mut self, key: &KeyEvent) -> Picked {
        let filtered: Vec<String> = self.filtered().into_iter().map(str::to_string).collect();
        let last = filtered.len().saturating_sub(1);
        let plain = key.modifiers.is_empty() || key.modifiers == KeyModifiers::SHIFT;
        match key.code {
            KeyCode::Down | KeyCode::Tab => self.sel = (self.sel + 1).min(last),
            KeyCode::Char('j') if plain && self.moves('j') => self.sel = (self.sel + 1).min(last),
            KeyCode::Up | KeyCode::BackTab => self.sel = self.sel.saturating_sub(1),
            KeyCode::Char('k') if plain && self.moves('k') => self.sel = self.sel.saturating_sub(1),
            KeyCode::Esc => return Picked::Cancelled,
            KeyCode::Backspace => {
                self.filter.pop();
                self.sel = 0;
            }
            KeyCode::Char(c) if plain && !c.is_control() => {
                self.filter.push(c);
                self.sel = 0;
            }
            // Nothing to pick: stay, the dialog already says why.
            KeyCode::Enter => {
                if let Some(version) = filtered.get(self.sel).cloned() {
                    return Picked::Confirm(self.confirm(version));
                }
            }
            _ => {}
        }
        Picked::Open
    }
}

impl State {
    /// `d`: open the version picker for the selected environment, or say why not.
    pub(super) fn open_deploy(&mut self) {
        if self.refuse_read_only(strings::DEPLOY) {
            return;
        }
        let Some(i) = self.ui.env.filter(|i| *i < self.envs.len()) else {
            self.notice(PICK_ENV.to_string());
            return;
        };
        let name = self.envs[i].name.clone();
        if self.busy(&name) {
            return;
        }
        let e = &self.envs[i];
        let Some(versions) = self.deploy_versions.get(&e.name) else {
            self.notice(no_deploy_config(&e.name));
            return;
        };
        let running = self.health.get(i).and_then(|h| h.version.clone());
        let d = DeployDialog::new(e.name.clone(), e.protected, running, versions.clone());
        self.ui.modal = Some(Modal::Deploy(d));
    }

    /// Every key while the picker is open; picking a version opens its confirmation.
    pub(super) fn deploy_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::Deploy(mut d)) = self.ui.modal.take() else { return None };
        match d.key(&key) {
            Picked::Open => self.ui.modal = Some(Modal::Deploy(d)),
            Picked::Cancelled => self.notice(picker_cancelled(&d.env)),
            Picked::Confirm(c) => self.ui.modal = Some(Modal::Confirm(c)),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{fixture, Command, Modal, State};
    use crossterm::event::KeyEventKind;

    use crate::app::fixture::{ch, key};
    fn typed(s: &mut State, text: &str) -> Option<Command> {
        let mut out = None;
        for c in text.chars() {
            out = out.or(s.handle_key(ch(c)));
        }
        out
    }
    fn last_notice(s: &State) -> &str {
        s.notices.back().map(|(_, t)| t.as_str()).unwrap_or("")
    }
    fn state() -> State {
        let mut s = fixture::full();
        let versions: Vec<String> =
            ["1.4.0", "1.4.1", "1.5.0", "1.6.0-bad", "1.6.0-slow"].iter().map(|v| v.to_string()).collect();
        s.deploy_versions.insert("production".into(), versions.clone());
        s.deploy_versions.insert("staging".into(), versions);
        s
    }
    fn picked(s: &State) -> Option<&str> {
        match &s.ui.modal {
            Some(Modal::Confirm(Confirm { action: ConfirmAction::Deploy { version, .. }, .. })) => Some(version),
            _ => None,
        }
    }
    /// The open picker (panics when something else is open).
    fn dialog(s: &State) -> &DeployDialog {
        match &s.ui.modal {
            Some(Modal::Deploy(d)) => d,
            other => panic!("no deploy picker open: {other:?}"),
        }
    }

    #[test]
    fn needs_one_environment_with_a_deploy_config() {
        let mut s = state();
        assert_eq!(s.handle_key(ch('d')), None);
        assert!(s.ui.modal.is_none());
        assert!(last_notice(&s).contains("choose one environment"), "{}", last_notice(&s));
        s.handle_key(ch('3'));
        s.handle_key(ch('d'));
        assert!(s.ui.modal.is_none());
        assert!(last_notice(&s).contains("development has no deploy configured"), "{}", last_notice(&s));
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        let d = dialog(&s);
        assert_eq!((d.env.as_str(), d.protected, d.running.as_deref()), ("staging", false, Some("1.5.0-bad")));
    }

    #[test]
    fn picker_filters_as_you_type_and_moves() {
        let mut s = state();
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        assert_eq!(dialog(&s).filtered().len(), 5);
        // Keys that mean something else on the dashboard are filter text here.
        assert_eq!(typed(&mut s, "6"), None);
        assert_eq!(dialog(&s).filtered(), vec!["1.6.0-bad", "1.6.0-slow"]);
        typed(&mut s, "Q");
        assert!(dialog(&s).filtered().is_empty(), "q is text here, not quit");
        s.handle_key(key(KeyCode::Enter));
        assert_eq!(picked(&s), None, "nothing to pick: the picker stays open");
        s.handle_key(key(KeyCode::Backspace));
        s.handle_key(ch('j'));
        s.handle_key(key(KeyCode::Down)); // already at the end: stays
        s.handle_key(ch('k'));
        s.handle_key(key(KeyCode::Down));
        s.handle_key(key(KeyCode::Enter));
        assert_eq!(picked(&s), Some("1.6.0-slow"));
        s.handle_key(key(KeyCode::Esc));
        s.handle_key(ch('d'));
        typed(&mut s, "BAD");
        s.handle_key(key(KeyCode::Enter));
        assert_eq!(picked(&s), Some("1.6.0-bad"), "the filter ignores case");
    }

    #[test]
    fn j_and_k_are_text_when_a_version_contains_them() {
        let mut s = state();
        s.deploy_versions.insert("staging".into(), vec!["2.0-jammy".into(), "2.0-focal".into()]);
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        typed(&mut s, "j");
        assert_eq!(dialog(&s).filtered(), vec!["2.0-jammy"]);
        s.handle_key(key(KeyCode::Backspace));
        s.handle_key(ch('k')); // no version has a k: it moves
        s.handle_key(ch('j')); // typed
        assert_eq!(dialog(&s).filtered(), vec!["2.0-jammy"]);
    }

    #[test]
    fn unprotected_default_is_no_and_y_deploys() {
        let mut s = state();
        s.handle_key(ch('2'));
        for answer in [key(KeyCode::Enter), ch('n'), key(KeyCode::Esc)] {
            s.handle_key(ch('d'));
            typed(&mut s, "bad");
            s.handle_key(key(KeyCode::Enter));
            assert_eq!(picked(&s), Some("1.6.0-bad"));
            assert_eq!(s.handle_key(ch('x')), None, "other keys neither confirm nor cancel");
            assert_eq!(picked(&s), Some("1.6.0-bad"));
            assert_eq!(s.handle_key(answer), None, "{answer:?} must not deploy");
            assert!(s.ui.modal.is_none());
            assert!(last_notice(&s).contains("cancelled: nothing was deployed"), "{}", last_notice(&s));
        }
        s.handle_key(ch('d'));
        typed(&mut s, "bad");
        s.handle_key(key(KeyCode::Enter));
        let cmd = s.handle_key(ch('y'));
        assert_eq!(cmd, Some(Command::Deploy { env: "staging".into(), version: "1.6.0-bad".into() }));
        assert_eq!(s.ui.modal, Some(Modal::Operation { env: "staging".into() }), "the progress view opens");
    }

    #[test]
    fn protected_requires_the_exact_name() {
        let mut s = state();
        s.handle_key(ch('1'));
        let pick = |s: &mut State| {
            s.handle_key(ch('d'));
            s.handle_key(key(KeyCode::Enter)); // the first version, 1.4.0
            assert_eq!(picked(s), Some("1.4.0"));
        };
        for wrong in ["", "y", "Production", "production ", "prod"] {
            pick(&mut s);
            assert_eq!(typed(&mut s, wrong), None);
            assert_eq!(s.handle_key(key(KeyCode::Enter)), None, "{wrong:?} must not confirm");
            assert!(s.ui.modal.is_none());
            assert!(last_notice(&s).contains("not typed exactly"), "{}", last_notice(&s));
        }
        pick(&mut s);
        typed(&mut s, "productionx");
        s.handle_key(key(KeyCode::Backspace));
        assert_eq!(
            s.handle_key(key(KeyCode::Enter)),
            Some(Command::Deploy { env: "production".into(), version: "1.4.0".into() })
        );
        s.handle_key(key(KeyCode::Esc)); // the progress view
        pick(&mut s);
        typed(&mut s, "production");
        assert_eq!(s.handle_key(key(KeyCode::Esc)), None, "Esc cancels even with the name typed");
        assert!(s.ui.modal.is_none());
    }

    #[test]
    fn esc_cancels_the_picker_and_releases_are_ignored() {
        let mut s = state();
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        let release = KeyEvent { kind: KeyEventKind::Release, ..key(KeyCode::Down) };
        s.handle_key(release);
        assert_eq!((dialog(&s).filter.as_str(), dialog(&s).sel), ("", 0));
        assert_eq!(s.handle_key(key(KeyCode::Esc)), None);
        assert!(s.ui.modal.is_none());
        assert!(last_notice(&s).contains("cancelled"));
        s.handle_key(ch('d'));
        assert_eq!(s.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Command::Quit));
    }
}
