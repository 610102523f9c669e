//! Application state: what the engine has learned, folded from events, and what the view shows.
//! Sources and the engine send `Event`s (owned snapshots); `State::apply` folds them in; the TUI
//! renders `&State` and turns keys into `Command`s for the engine. No I/O here (Elm-style:
//! `apply`/`handle_key` are the only ways state changes, so both are unit-testable).

pub mod keymap;
pub mod model;
pub mod strings;

pub use model::*;

use crate::config::{Config, Theme};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use keymap::Action;
use std::collections::VecDeque;
use std::time::Duration;

/// What the engine must do because of a key. The view never does it itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Panels are to be evaluated over this window from now on.
    SetWindow(Duration),
    /// Acknowledge (or withdraw the acknowledgement of) an alert; persisted by the engine.
    Ack {
        key: String,
        acked: bool,
    },
    /// Silence an alert (and create an Alertmanager silence when one is configured).
    Silence {
        key: String,
        duration: Duration,
    },
    Quit,
}

/// The time windows `+`/`-` step through; capped by the history kept in memory.
pub const WINDOWS: [Duration; 4] =
    [Duration::from_secs(300), Duration::from_secs(900), Duration::from_secs(3600), Duration::from_secs(6 * 3600)];
/// The silence durations offered by `s`.
pub const SILENCES: [Duration; 4] =
    [Duration::from_secs(900), Duration::from_secs(3600), Duration::from_secs(4 * 3600), Duration::from_secs(86400)];

pub const OVERVIEW_ID: &str = "overview";
pub const ALERTS_ID: &str = "alerts";
pub const LOGS_ID: &str = "logs";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LevelFilter {
    #[default]
    All,
    WarnPlus,
    Error,
}

impl LevelFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            LevelFilter::All => "all",
            LevelFilter::WarnPlus => "warn+",
            LevelFilter::Error => "error",
        }
    }
    fn next(self) -> Self {
        match self {
            LevelFilter::All => LevelFilter::WarnPlus,
            LevelFilter::WarnPlus => LevelFilter::Error,
            LevelFilter::Error => LevelFilter::All,
        }
    }
}

/// The logs view's own state (what to show; the records themselves come from `crate::logs`).
#[derive(Debug, Clone)]
pub struct LogsUi {
    pub follow: bool,
    pub level: LevelFilter,
    /// The search as typed; `regex` is its compiled form once accepted with Enter.
    pub query: String,
    pub editing: bool,
    pub regex: Option<regex::Regex>,
    /// Which match `n`/`N` is on (index among matches, not lines).
    pub match_no: usize,
    /// Lines scrolled up from the newest (0 = bottom) while paused.
    pub scroll: usize,
}

impl Default for LogsUi {
    fn default() -> Self {
        LogsUi {
            follow: true,
            level: LevelFilter::All,
            query: String::new(),
            editing: false,
            regex: None,
            match_no: 0,
            scroll: 0,
        }
    }
}

/// What the user is looking at.
#[derive(Debug, Clone)]
pub struct UiState {
    /// `None` = all environments overlaid.
    pub env: Option<usize>,
    /// The focused panel's id (see `State::slots`).
    pub focus: String,
    pub zoom: bool,
    pub window: Duration,
    pub help: bool,
    /// Index into `State::visible_alerts`.
    pub alert_sel: usize,
    pub details: bool,
    /// Open duration picker for `s`: index into `SILENCES`.
    pub silence_picker: Option<usize>,
    pub theme: Theme,
    /// `NO_COLOR` / `--no-color`: no colours at all (symbols and text still carry meaning).
    pub no_color: bool,
    pub logs: LogsUi,
}

#[derive(Debug, Clone)]
pub struct State {
    pub envs: Vec<EnvInfo>,
    /// Parallel to `envs`.
    pub health: Vec<EnvHealth>,
    pub panels: Vec<PanelData>,
    /// Sorted by severity, then state, then age (see `sort_alerts`).
    pub alerts: Vec<AlertView>,
    pub markers: Vec<Marker>,
    /// (when, text), newest last.
    pub notices: VecDeque<(Millis, String)>,
    pub stats: EngineStats,
    /// The clock the view uses for ages and the time axis (set by the loop's tick; fixed in tests).
    pub now: Millis,
    /// Offset of local time from UTC, for the clock and axis labels.
    pub utc_offset_secs: i32,
    /// Samples kept in memory: the longest window on offer.
    pub history: Duration,
    pub ui: UiState,
}

const MAX_NOTICES: usize = 50;

pub fn severity_rank(s: &str) -> u8 {
    match s.to_ascii_lowercase().as_str() {
        "critical" | "page" | "emergency" => 0,
        "error" | "high" => 1,
        "warning" | "warn" => 2,
        "info" | "low" => 3,
        _ => 4,
    }
}

/// Most severe first, firing before pending before resolved, oldest first, then by name.
pub fn sort_alerts(alerts: &mut [AlertView]) {
    alerts.sort_by(|a, b| {
        (severity_rank(&a.severity), a.state, a.active_since, &a.name, &a.key).cmp(&(
            severity_rank(&b.severity),
            b.state,
            b.active_since,
            &b.name,
            &b.key,
        ))
    });
}

impl State {
    /// An empty state: environments known by name, nothing checked yet.
    pub fn new(envs: Vec<EnvInfo>, history: Duration) -> State {
        let health = envs.iter().map(|_| EnvHealth::default()).collect();
        // Placeholders for the built-in panels until the engine's first evaluation arrives.
        let panels = crate::panels::builtin("1m")
            .into_iter()
            .map(|d| PanelData {
                id: d.id,
                title: d.title,
                unit: d.unit,
                kind: d.kind,
                series: Vec::new(),
                threshold: d.threshold,
                note: Some(strings::NO_DATA_YET.to_string()),
            })
            .collect();
        let window =
            WINDOWS.iter().copied().filter(|w| *w <= history.max(WINDOWS[0])).take(2).last().unwrap_or(WINDOWS[0]);
        State {
            envs,
            health,
            panels,
            alerts: Vec::new(),
            markers: Vec::new(),
            notices: VecDeque::new(),
            stats: EngineStats::default(),
            now: 0,
            utc_offset_secs: 0,
            history,
            ui: UiState {
                env: None,
                focus: OVERVIEW_ID.to_string(),
                zoom: false,
                window,
                help: false,
                alert_sel: 0,
                details: false,
                silence_picker: None,
                theme: Theme::Dark,
                no_color: false,
                logs: LogsUi::default(),
            },
        }
    }

    /// The state a dashboard starts from: environments, user panels and theme from the config.
    pub fn from_config(cfg: &Config) -> State {
        let envs = cfg.environments.iter().map(|e| EnvInfo { name: e.name.clone(), protected: e.protected }).collect();
        let mut s = State::new(envs, cfg.general.history);
        for (i, p) in cfg.panels.iter().enumerate() {
            s.panels.push(PanelData {
                id: format!("user:{i}"),
                title: crate::sanitize::line(&p.title).into_owned(),
                unit: p.unit,
                kind: p.kind,
                series: Vec::new(),
                threshold: None,
                note: Some(strings::NO_DATA_YET.to_string()),
            });
        }
        s.ui.theme = cfg.ui.theme;
        s
    }

    /// Fold one event from the engine into the state.
    pub fn apply(&mut self, ev: Event) {
        match ev {
            Event::Health { env, health } => match self.envs.iter().position(|e| e.name == env) {
                Some(i) => self.health[i] = health,
                None => {
                    self.envs.push(EnvInfo { name: env, protected: false });
                    self.health.push(health);
                }
            },
            Event::Panels(p) => {
                self.panels = p;
                if !self.slots().iter().any(|s| *s == self.ui.focus) {
                    self.ui.focus = OVERVIEW_ID.to_string();
                    self.ui.zoom = false;
                }
            }
            Event::Alerts(mut a) => {
                // Keep the selection on the same alert when the list is re-evaluated.
                let selected = self.selected_alert().map(|a| a.key.clone());
                sort_alerts(&mut a);
                self.alerts = a;
                let n = self.visible_alerts().count();
                self.ui.alert_sel = selected
                    .and_then(|k| self.visible_alerts().position(|a| a.key == k))
                    .unwrap_or(self.ui.alert_sel.min(n.saturating_sub(1)));
                if n == 0 {
                    self.ui.details = false;
                    self.ui.silence_picker = None;
                }
            }
            Event::Markers(m) => self.markers = m,
            Event::Notice(s) => self.notice(s),
            Event::Stats(s) => self.stats = s,
        }
    }

    fn notice(&mut self, s: String) {
        if self.notices.len() == MAX_NOTICES {
            self.notices.pop_front();
        }
        self.notices.push_back((self.now, s));
    }

    /// The panel ids in reading order; focus moves through these.
    pub fn slots(&self) -> Vec<&str> {
        let mut v = vec![OVERVIEW_ID, ALERTS_ID];
        v.extend(self.panels.iter().filter(|p| p.id != OVERVIEW_ID).map(|p| p.id.as_str()));
        v.push(LOGS_ID);
        v
    }

    pub fn selected_env_name(&self) -> Option<&str> {
        self.ui.env.and_then(|i| self.envs.get(i)).map(|e| e.name.as_str())
    }

    /// Does something labelled with `env` belong on screen under the current environment choice?
    pub fn env_visible(&self, env: Option<&str>) -> bool {
        match (self.selected_env_name(), env) {
            (None, _) | (_, None) => true,
            (Some(sel), Some(e)) => sel == e,
        }
    }

    pub fn visible_alerts(&self) -> impl Iterator<Item = &AlertView> {
        self.alerts.iter().filter(|a| self.env_visible(a.env.as_deref()))
    }

    pub fn selected_alert(&self) -> Option<&AlertView> {
        self.visible_alerts().nth(self.ui.alert_sel)
    }

    /// Firing alerts across every environment: the header counter (visible from every view).
    pub fn firing(&self) -> (usize, usize) {
        let firing = self.alerts.iter().filter(|a| a.state == AlertState::Firing);
        let (mut n, mut quiet) = (0, 0);
        for a in firing {
            n += 1;
            if a.acked || a.silenced_until.is_some_and(|t| t > self.now) {
                quiet += 1;
            }
        }
        (n, quiet)
    }

    /// The windows `+`/`-` may choose: never longer than the history kept.
    pub fn windows(&self) -> impl Iterator<Item = Duration> + '_ {
        WINDOWS.into_iter().enumerate().filter(|(i, w)| *i == 0 || *w <= self.history).map(|(_, w)| w)
    }

    /// Turn a key press into state changes and, when the engine must act, a `Command`.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Command> {
        // Terminals with keyboard enhancement report releases too: act on presses only (kdash#390).
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if self.ui.logs.editing {
            self.edit_search(key);
            return None;
        }
        if let Some(i) = self.ui.silence_picker {
            return self.pick_silence(i, key);
        }
        let action = keymap::lookup(&key)?;
        if self.ui.help {
            match action {
                Action::Quit => return Some(Command::Quit),
                Action::Help | Action::Esc => self.ui.help = false,
                _ => {}
            }
            return None;
        }
        self.act(action)
    }

    fn act(&mut self, action: Action) -> Option<Command> {
        match action {
            Action::Quit => return Some(Command::Quit),
            Action::Help => self.ui.help = true,
            Action::SelectEnv(n) => {
                if n >= 1 && n <= self.envs.len() {
                    self.ui.env = Some(n - 1);
                    self.ui.alert_sel = 0;
                } else {
                    self.notice(strings::no_env(n));
                }
            }
            Action::AllEnvs => self.ui.env = None,
            Action::NextEnv | Action::PrevEnv => {
                // Cycle all → 1 → 2 → … → all.
                let n = self.envs.len() + 1;
                let cur = self.ui.env.map_or(0, |i| i + 1);
                let next = if action == Action::NextEnv { (cur + 1) % n } else { (cur + n - 1) % n };
                self.ui.env = next.checked_sub(1);
                self.ui.alert_sel = 0;
            }
            Action::Down | Action::Up => {
                let down = action == Action::Down;
                if self.ui.focus == ALERTS_ID {
                    let n = self.visible_alerts().count();
                    self.ui.alert_sel = if down {
                        (self.ui.alert_sel + 1).min(n.saturating_sub(1))
                    } else {
                        self.ui.alert_sel.saturating_sub(1)
                    };
                } else if self.ui.focus == LOGS_ID {
                    let l = &mut self.ui.logs;
                    // Scrolling up pauses following, as `less +F` does; back at the bottom resumes.
                    l.scroll = if down { l.scroll.saturating_sub(1) } else { l.scroll + 1 };
                    l.follow = l.scroll == 0;
                } else if !self.ui.zoom {
                    self.move_focus(down);
                }
            }
            Action::FocusNext => self.move_focus(true),
            Action::FocusPrev => self.move_focus(false),
            Action::Enter => {
                if self.ui.focus == ALERTS_ID && self.selected_alert().is_some() {
                    self.ui.details = true;
                } else {
                    self.ui.zoom = true;
                }
            }
            Action::Zoom => self.ui.zoom = !self.ui.zoom,
            Action::Esc => {
                if self.ui.details {
                    self.ui.details = false;
                } else {
                    self.ui.zoom = false;
                }
            }
            Action::Alerts => {
                self.ui.focus = ALERTS_ID.to_string();
                self.ui.zoom = true;
            }
            Action::Logs => {
                self.ui.focus = LOGS_ID.to_string();
                self.ui.zoom = true;
            }
            Action::Ack => {
                let Some(a) = self.selected_alert() else {
                    self.notice(strings::NO_ALERT_SELECTED.to_string());
                    return None;
                };
                let (key, name, acked) = (a.key.clone(), a.name.clone(), !a.acked);
                // Shown at once; the engine persists it and its next snapshot agrees.
                if let Some(a) = self.alerts.iter_mut().find(|a| a.key == key) {
                    a.acked = acked;
                }
                self.notice(if acked { strings::acked(&name) } else { strings::unacked(&name) });
                return Some(Command::Ack { key, acked });
            }
            Action::Silence => {
                if self.selected_alert().is_some() {
                    self.ui.silence_picker = Some(1);
                } else {
                    self.notice(strings::NO_ALERT_SELECTED.to_string());
                }
            }
            Action::WindowUp | Action::WindowDown => return self.step_window(action == Action::WindowUp),
            Action::Theme => {
                self.ui.theme = match self.ui.theme {
                    Theme::Dark => Theme::Light,
                    Theme::Light => Theme::Basic,
                    Theme::Basic => Theme::Dark,
                };
                let name = format!("{:?}", self.ui.theme).to_lowercase();
                self.notice(strings::theme_set(&name));
            }
            Action::Follow => {
                let l = &mut self.ui.logs;
                l.follow = !l.follow;
                if l.follow {
                    l.scroll = 0;
                }
            }
            Action::LevelFilter => self.ui.logs.level = self.ui.logs.level.next(),
            Action::Search => {
                self.ui.focus = LOGS_ID.to_string();
                self.ui.logs.editing = true;
            }
            Action::SearchNext => self.ui.logs.match_no += 1,
            Action::SearchPrev => self.ui.logs.match_no = self.ui.logs.match_no.saturating_sub(1),
            Action::Deploy => self.notice(strings::DEPLOY_NOT_BUILT.to_string()),
            Action::Rollback => self.notice(strings::ROLLBACK_NOT_BUILT.to_string()),
            Action::Promote => self.notice(strings::PROMOTE_NOT_BUILT.to_string()),
            Action::History => self.notice(strings::HISTORY_NOT_BUILT.to_string()),
        }
        None
    }

    fn move_focus(&mut self, forward: bool) {
        let slots = self.slots();
        let n = slots.len();
        let i = slots.iter().position(|s| *s == self.ui.focus).unwrap_or(0);
        let j = if forward { (i + 1) % n } else { (i + n - 1) % n };
        self.ui.focus = slots[j].to_string();
    }

    fn step_window(&mut self, up: bool) -> Option<Command> {
        let ws: Vec<Duration> = self.windows().collect();
        let i = ws.iter().position(|w| *w >= self.ui.window).unwrap_or(ws.len() - 1);
        let j = if up { (i + 1).min(ws.len() - 1) } else { i.saturating_sub(1) };
        let label = crate::duration::format(ws[j]);
        if ws[j] == self.ui.window {
            if up {
                self.notice(strings::window_capped(&label));
            }
            return None;
        }
        self.ui.window = ws[j];
        self.notice(strings::window_set(&label));
        Some(Command::SetWindow(ws[j]))
    }

    fn edit_search(&mut self, key: KeyEvent) {
        let l = &mut self.ui.logs;
        match key.code {
            KeyCode::Esc => l.editing = false,
            KeyCode::Enter => {
                l.editing = false;
                l.match_no = 0;
                if l.query.is_empty() {
                    l.regex = None;
                    return;
                }
                match regex::Regex::new(&l.query) {
                    Ok(r) => l.regex = Some(r),
                    Err(e) => {
                        l.regex = None;
                        let msg = strings::invalid_regex(&crate::sanitize::line(&e.to_string()));
                        self.notice(msg);
                    }
                }
            }
            KeyCode::Backspace => {
                l.query.pop();
            }
            KeyCode::Char(c) if !c.is_control() => l.query.push(c),
            _ => {}
        }
    }

    fn pick_silence(&mut self, i: usize, key: KeyEvent) -> Option<Command> {
        match keymap::lookup(&key) {
            Some(Action::Down) => self.ui.silence_picker = Some((i + 1).min(SILENCES.len() - 1)),
            Some(Action::Up) => self.ui.silence_picker = Some(i.saturating_sub(1)),
            Some(Action::Esc) => self.ui.silence_picker = None,
            Some(Action::Quit) => return Some(Command::Quit),
            Some(Action::Enter) => {
                self.ui.silence_picker = None;
                let a = self.selected_alert()?;
                let (key, name) = (a.key.clone(), a.name.clone());
                let duration = SILENCES[i];
                let until = self.now + duration.as_millis() as i64;
                if let Some(a) = self.alerts.iter_mut().find(|a| a.key == key) {
                    a.silenced_until = Some(until);
                }
                self.notice(strings::silenced(&name, &crate::duration::format(duration)));
                return Some(Command::Silence { key, duration });
            }
            _ => {}
        }
        None
    }
}
