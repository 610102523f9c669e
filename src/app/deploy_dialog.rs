//! The `d` dialog (design §6): a version picker with type-to-filter, then a confirmation whose
//! default answer is no; a protected environment must be confirmed by typing its name exactly.
//! Only a confirmed deploy becomes `Command::Deploy`. The engine then triggers the environment's
//! deploy endpoint; verification and automatic rollback are the deploy engine's (not built yet),
//! and the dialog says so.

use super::{Command, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub const TITLE: &str = "Deploy";
pub const ONLY_TRIGGER: &str =
    "Only the trigger is built: opsdeck asks the deploy endpoint to deploy. Verification and automatic rollback are not built yet.";
pub const PICK_HINT: &str = "type to filter · ↑/↓ j/k move · Enter pick · Esc cancel";
pub const NO_MATCH: &str = "no version matches the filter";
pub const NO_VERSIONS: &str = "no versions configured: add versions = [...] to this environment's deploy";
pub const CONFIRM_HINT: &str = "y deploys · n, Enter or Esc cancels";
pub const CONFIRM_PROTECTED_HINT: &str = "type the name and Enter · Esc cancels";
pub const PICK_ENV: &str = "choose one environment (1-9 or Tab) to deploy to, then press d";

pub fn no_deploy_config(env: &str) -> String {
    format!("{env} has no deploy configured: add deploy = {{ driver = \"http\", url = ... }} to it")
}
pub fn cancelled(env: &str, version: &str) -> String {
    format!("deploy of {version} to {env} cancelled: nothing was deployed")
}
pub fn name_mismatch(env: &str) -> String {
    format!("not confirmed: {env} is protected and its name was not typed exactly; nothing was deployed")
}
pub fn requesting(env: &str, version: &str) -> String {
    format!("{env}: requesting deploy of {version}…")
}
pub fn question(env: &str, version: &str) -> String {
    format!("Deploy {version} to {env}? [y/N]")
}
pub fn protected_prompt(env: &str) -> String {
    format!("{env} is protected: type its name to confirm")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Choosing a version; `sel` indexes the filtered list.
    Pick { filter: String, sel: usize },
    /// Version chosen; `typed` is the name typed so far (protected environments only).
    Confirm { version: String, typed: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployDialog {
    pub env: String,
    pub protected: bool,
    /// The running version as last seen by the health check, for the dialog's "from".
    pub running: Option<String>,
    /// `deploy.versions` from the config, in the config's order.
    pub versions: Vec<String>,
    pub stage: Stage,
}

impl DeployDialog {
    /// The versions the filter lets through (case-insensitive substring), in the config's order.
    pub fn filtered(&self) -> Vec<&str> {
        let Stage::Pick { filter, .. } = &self.stage else { return Vec::new() };
        let f = filter.to_lowercase();
        self.versions.iter().filter(|v| v.to_lowercase().contains(&f)).map(String::as_str).collect()
    }

    /// `j`/`k` move the selection, unless an offered version contains that letter: then it has
    /// to be typeable, and the arrows still move.
    fn moves(&self, c: char) -> bool {
        (c == 'j' || c == 'k') && !self.versions.iter().any(|v| v.to_lowercase().contains(c))
    }
}

impl State {
    /// `d`: open the picker for the selected environment, or say why not.
    pub(super) fn open_deploy(&mut self) {
        let Some(i) = self.ui.env.filter(|i| *i < self.envs.len()) else {
            self.notice(PICK_ENV.to_string());
            return;
        };
        let e = &self.envs[i];
        let Some(versions) = self.deploy_versions.get(&e.name) else {
            self.notice(no_deploy_config(&e.name));
            return;
        };
        self.ui.deploy = Some(DeployDialog {
            env: e.name.clone(),
            protected: e.protected,
            running: self.health.get(i).and_then(|h| h.version.clone()),
            versions: versions.clone(),
            stage: Stage::Pick { filter: String::new(), sel: 0 },
        });
    }

    /// Every key while the dialog is open goes here (typing must not trigger other actions).
    pub(super) fn deploy_key(&mut self, key: KeyEvent) -> Option<Command> {
        let mut d = self.ui.deploy.take()?;
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Command::Quit);
        }
        let mut out = None;
        let mut keep = true;
        // Read before the stage is borrowed for editing.
        let filtered: Vec<String> = d.filtered().into_iter().map(str::to_string).collect();
        let (j_moves, k_moves) = (d.moves('j'), d.moves('k'));
        let plain = key.modifiers.is_empty() || key.modifiers == KeyModifiers::SHIFT;
        match &mut d.stage {
            Stage::Pick { filter, sel } => {
                match key.code {
                    KeyCode::Down | KeyCode::Tab => *sel = (*sel + 1).min(filtered.len().saturating_sub(1)),
                    KeyCode::Char('j') if plain && j_moves => *sel = (*sel + 1).min(filtered.len().saturating_sub(1)),
                    KeyCode::Up | KeyCode::BackTab => *sel = sel.saturating_sub(1),
                    KeyCode::Char('k') if plain && k_moves => *sel = sel.saturating_sub(1),
                    KeyCode::Esc => {
                        keep = false;
                        self.notice(format!("deploy to {} cancelled: nothing was deployed", d.env));
                    }
                    KeyCode::Backspace => {
                        filter.pop();
                        *sel = 0;
                    }
                    KeyCode::Char(c) if plain && !c.is_control() => {
                        filter.push(c);
                        *sel = 0;
                    }
                    // Nothing to pick: stay, the dialog already says why.
                    KeyCode::Enter => {
                        if let Some(version) = filtered.get(*sel).cloned() {
                            d.stage = Stage::Confirm { version, typed: String::new() };
                        }
                    }
                    _ => {}
                }
            }
            Stage::Confirm { version, typed } => {
                let version = version.clone();
                if d.protected {
                    match key.code {
                        KeyCode::Esc => {
                            keep = false;
                            self.notice(cancelled(&d.env, &version));
                        }
                        KeyCode::Backspace => {
                            typed.pop();
                        }
                        KeyCode::Char(c) if plain && !c.is_control() => typed.push(c),
                        KeyCode::Enter => {
                            keep = false;
                            // Exactly the name: no trimming, no case folding.
                            if *typed == d.env {
                                out = Some(Command::Deploy { env: d.env.clone(), version: version.clone() });
                                self.notice(requesting(&d.env, &version));
                            } else {
                                self.notice(name_mismatch(&d.env));
                            }
                        }
                        _ => {}
                    }
                } else {
                    match key.code {
                        KeyCode::Char('y') | KeyCode::Char('Y') => {
                            keep = false;
                            out = Some(Command::Deploy { env: d.env.clone(), version: version.clone() });
                            self.notice(requesting(&d.env, &version));
                        }
                        // The default answer is no.
                        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Enter | KeyCode::Esc => {
                            keep = false;
                            self.notice(cancelled(&d.env, &version));
                        }
                        _ => {}
                    }
                }
            }
        }
        if keep {
            self.ui.deploy = Some(d);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixture;
    use crossterm::event::KeyEventKind;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }
    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }
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
        match &s.ui.deploy.as_ref()?.stage {
            Stage::Confirm { version, .. } => Some(version),
            _ => None,
        }
    }

    #[test]
    fn needs_one_environment_with_a_deploy_config() {
        let mut s = state();
        assert_eq!(s.handle_key(ch('d')), None);
        assert!(s.ui.deploy.is_none());
        assert!(last_notice(&s).contains("choose one environment"), "{}", last_notice(&s));
        s.handle_key(ch('3'));
        s.handle_key(ch('d'));
        assert!(s.ui.deploy.is_none());
        assert!(last_notice(&s).contains("development has no deploy configured"), "{}", last_notice(&s));
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        let d = s.ui.deploy.as_ref().unwrap();
        assert_eq!((d.env.as_str(), d.protected, d.running.as_deref()), ("staging", false, Some("1.5.0-bad")));
    }

    #[test]
    fn picker_filters_as_you_type_and_moves() {
        let mut s = state();
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        assert_eq!(s.ui.deploy.as_ref().unwrap().filtered().len(), 5);
        // Keys that mean something else on the dashboard are filter text here.
        assert_eq!(typed(&mut s, "6"), None);
        assert_eq!(s.ui.deploy.as_ref().unwrap().filtered(), vec!["1.6.0-bad", "1.6.0-slow"]);
        typed(&mut s, "Q");
        assert!(s.ui.deploy.as_ref().unwrap().filtered().is_empty(), "q is text here, not quit");
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
        assert_eq!(s.ui.deploy.as_ref().unwrap().filtered(), vec!["2.0-jammy"]);
        s.handle_key(key(KeyCode::Backspace));
        s.handle_key(ch('k')); // no version has a k: it moves
        s.handle_key(ch('j')); // typed
        assert_eq!(s.ui.deploy.as_ref().unwrap().filtered(), vec!["2.0-jammy"]);
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
            assert!(s.ui.deploy.is_some());
            assert_eq!(s.handle_key(answer), None, "{answer:?} must not deploy");
            assert!(s.ui.deploy.is_none());
            assert!(last_notice(&s).contains("cancelled: nothing was deployed"), "{}", last_notice(&s));
        }
        s.handle_key(ch('d'));
        typed(&mut s, "bad");
        s.handle_key(key(KeyCode::Enter));
        let cmd = s.handle_key(ch('y'));
        assert_eq!(cmd, Some(Command::Deploy { env: "staging".into(), version: "1.6.0-bad".into() }));
        assert!(s.ui.deploy.is_none());
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
            assert!(s.ui.deploy.is_none());
            assert!(last_notice(&s).contains("not typed exactly"), "{}", last_notice(&s));
        }
        pick(&mut s);
        typed(&mut s, "productionx");
        s.handle_key(key(KeyCode::Backspace));
        assert_eq!(
            s.handle_key(key(KeyCode::Enter)),
            Some(Command::Deploy { env: "production".into(), version: "1.4.0".into() })
        );
        pick(&mut s);
        typed(&mut s, "production");
        assert_eq!(s.handle_key(key(KeyCode::Esc)), None, "Esc cancels even with the name typed");
        assert!(s.ui.deploy.is_none());
    }

    #[test]
    fn esc_cancels_the_picker_and_releases_are_ignored() {
        let mut s = state();
        s.handle_key(ch('2'));
        s.handle_key(ch('d'));
        let release = KeyEvent { kind: KeyEventKind::Release, ..key(KeyCode::Down) };
        s.handle_key(release);
        assert_eq!(s.ui.deploy.as_ref().unwrap().stage, Stage::Pick { filter: String::new(), sel: 0 });
        assert_eq!(s.handle_key(key(KeyCode::Esc)), None);
        assert!(s.ui.deploy.is_none());
        assert!(last_notice(&s).contains("cancelled"));
        s.handle_key(ch('d'));
        assert_eq!(s.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Command::Quit));
    }
}
