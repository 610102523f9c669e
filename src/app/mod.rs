//! Application state: what the engine has learned, folded from events, and what the view shows.
//! Sources and the engine send `Event`s (owned snapshots); `State::apply` folds them in; the TUI
//! renders `&State` and turns keys into `Command`s for the engine. No I/O here (Elm-style:
//! `apply`/`handle_key` are the only ways state changes, so both are unit-testable).

pub mod alertmanager;
pub mod confirm;
pub mod deploy_dialog;
pub mod deploy_ops;
mod details;
#[doc(hidden)]
pub mod fixture;
mod history;
pub mod keymap;
mod log_keys;
pub mod modal;
pub mod query;
pub mod strings;

pub use crate::model::*;
pub use modal::{Details, Modal};

use crate::config::{Config, LogSettings, Theme};
use crate::logs::{Level, LogBuffer, LogStore, LogView};
use confirm::Answer;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use keymap::Action;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::time::Duration;

/// The time windows `+`/`-` step through; capped by the history kept in memory.
pub const WINDOWS: [Duration; 4] =
    [Duration::from_secs(300), Duration::from_secs(900), Duration::from_secs(3600), Duration::from_secs(6 * 3600)];
/// The silence durations offered by `s`.
pub const SILENCES: [Duration; 4] =
    [Duration::from_secs(900), Duration::from_secs(3600), Duration::from_secs(4 * 3600), Duration::from_secs(86400)];

pub const OVERVIEW_ID: &str = "overview";
/// From this many environments the overview scrolls with j/k instead of moving the focus.
pub const OVERVIEW_SCROLLS_FROM: usize = 8;
pub const ALERTS_ID: &str = "alerts";
pub const LOGS_ID: &str = "logs";

/// The logs view's settings, shared by every environment's `LogView` (the records and each
/// environment's selection live in `State::logs` / `State::log_views`).
#[derive(Debug, Clone, Default)]
pub struct LogsUi {
    /// Least severity shown (`None` = all).
    pub level: Option<Level>,
    /// The search as typed (`Modal::LogSearch`); applied to the views with Enter.
    pub query: String,
}

pub fn level_label(l: Option<Level>) -> &'static str {
    match l {
        None => "all",
        Some(Level::Warning) => "warn+",
        Some(Level::Error) => "error+",
        Some(l) => l.as_str(),
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
    /// Index into `State::visible_alerts`.
    pub alert_sel: usize,
    /// The overview shows only environments whose name contains this (case-insensitive).
    pub env_filter: String,
    /// Rows of a long overview scrolled past (`j`/`k` with the overview focused); the view
    /// clamps it so the last screenful stays full.
    pub overview_scroll: usize,
    /// What is open over the dashboard (help, details, a picker, a dialog, the search line).
    pub modal: Option<Modal>,
    pub theme: Theme,
    /// `NO_COLOR` / `--no-color`: no colours at all (symbols and text still carry meaning).
    pub no_color: bool,
    /// The terminal renders 24-bit colour (else RGB theme colours use the 256-colour cube).
    pub truecolor: bool,
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
    /// Every environment's log ring buffer.
    pub logs: LogStore,
    /// Per environment: the filtered list, selection and follow state over its buffer.
    pub log_views: BTreeMap<String, LogView>,
    /// `[log] trace_url`, for trace links in a record's details.
    pub trace_url: Option<String>,
    /// Per environment with a `deploy` config: the versions its picker offers.
    pub deploy_versions: BTreeMap<String, Vec<String>>,
    /// `[general] read_only` (main sets it from `--read-only` too): every action is refused here,
    /// as the engine refuses it.
    pub read_only: bool,
    /// Per environment with a `promote_from`: the stage whose verified version `p` deploys.
    pub promote_from: BTreeMap<String, String>,
    /// Per environment: its latest operation, kept after it ended (`last` set).
    pub deploy_ops: BTreeMap<String, DeployProgress>,
    /// Per environment: what the view saw of that operation (its messages, when it ended).
    pub deploy_trail: BTreeMap<String, deploy_ops::Trail>,
    /// Per environment: an operation confirmed here that the engine has not reported yet
    /// (when, and what: "deploy 1.6.0").
    pub deploy_requested: BTreeMap<String, (Millis, String)>,
    /// Per environment: its history as the engine last read it from the journal.
    pub deploy_history: BTreeMap<String, DeployHistory>,
    /// Per environment: its components in config order, as last checked.
    pub components: BTreeMap<String, Vec<crate::model::ComponentStatus>>,
    /// Per environment with a `backup`: its freshness as last read.
    pub backups: BTreeMap<String, crate::model::BackupStatus>,
    /// Environments with a `backup` (shown before their first read).
    pub backup_envs: std::collections::BTreeSet<String>,
    /// Keys of the critical alerts firing in the last snapshot, to tell when a new one starts.
    critical_firing: std::collections::BTreeSet<String>,
    /// A new critical alert started firing since the loop last rang the bell.
    pub bell: bool,
    /// The runbook of the alert whose details were opened last, as the engine loaded it.
    pub runbook: Option<crate::model::RunbookView>,
    /// Text for the terminal's clipboard (OSC 52), taken and written by the terminal loop.
    pub clipboard: Option<String>,
    /// What the team's Alertmanagers hold, as last read (`None` before the first answer).
    pub am: Option<crate::model::AmSnapshot>,
    /// The configured Alertmanagers (the view says when there are none).
    pub am_urls: Vec<String>,
    /// Who silences are created by (config `author`, `SUDO_USER`, `USER`).
    pub silence_author: String,
    /// Where alerts come from, when the screen should say (a `[prometheus]` server is set).
    pub alert_source: Option<&'static str>,
    /// The `:` prompt: its text, history, last answer and pins.
    pub query: query::QueryState,
    /// Queries (panels, `:`) go to a `[prometheus]` server, which judges their syntax.
    pub remote_queries: bool,
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
            logs: LogStore::new(&LogSettings::default()),
            log_views: BTreeMap::new(),
            trace_url: None,
            deploy_versions: BTreeMap::new(),
            read_only: false,
            promote_from: BTreeMap::new(),
            deploy_ops: BTreeMap::new(),
            deploy_trail: BTreeMap::new(),
            deploy_requested: BTreeMap::new(),
            deploy_history: BTreeMap::new(),
            components: BTreeMap::new(),
            backups: BTreeMap::new(),
            backup_envs: Default::default(),
            critical_firing: Default::default(),
            bell: false,
            runbook: None,
            clipboard: None,
            am: None,
            am_urls: Vec::new(),
            silence_author: String::new(),
            alert_source: None,
            query: Default::default(),
            remote_queries: false,
            ui: UiState {
                env: None,
                focus: OVERVIEW_ID.to_string(),
                zoom: false,
                window,
                alert_sel: 0,
                overview_scroll: 0,
                env_filter: String::new(),
                modal: None,
                theme: Theme::Dark,
                no_color: false,
                truecolor: true,
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
        s.logs = LogStore::new(&cfg.log_settings);
        s.trace_url = cfg.log_settings.trace_url.clone();
        s.deploy_versions = cfg
            .environments
            .iter()
            .filter_map(|e| Some((e.name.clone(), e.deploy.as_ref()?.versions.clone())))
            .collect();
        s.promote_from =
            cfg.environments.iter().filter_map(|e| Some((e.name.clone(), e.promote_from.clone()?))).collect();
        s.read_only = cfg.general.read_only;
        s.am_urls = cfg.alerting.alertmanager.clone();
        s.remote_queries = cfg.prometheus.is_some();
        s.silence_author = crate::alertmanager::author(cfg.alerting.author.as_deref());
        s.alert_source =
            (cfg.prometheus.is_some() || cfg.alerting.source.is_some()).then(|| cfg.alerting.source().as_str());
        s.backup_envs = cfg.environments.iter().filter(|e| e.backup.is_some()).map(|e| e.name.clone()).collect();
        // Components are listed (starting) before their first check answers.
        let now = crate::clock::wall_ms();
        s.components = cfg
            .environments
            .iter()
            .filter(|e| !e.components.is_empty())
            .map(|e| {
                let list =
                    e.components.iter().map(|c| crate::components::Tracker::new(&e.name, c, now).status().clone());
                (e.name.clone(), list.collect())
            })
            .collect();
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
                let critical: std::collections::BTreeSet<String> = a
                    .iter()
                    .filter(|a| a.state == AlertState::Firing && severity_rank(&a.severity) == 0)
                    .filter(|a| !a.acked && a.silenced_until.is_none_or(|t| t <= self.now))
                    .map(|a| a.key.clone())
                    .collect();
                self.bell |= critical.iter().any(|k| !self.critical_firing.contains(k));
                self.critical_firing = critical;
                self.alerts = a;
                let n = self.visible_alerts().count();
                self.ui.alert_sel = selected
                    .and_then(|k| self.visible_alerts().position(|a| a.key == k))
                    .unwrap_or(self.ui.alert_sel.min(n.saturating_sub(1)));
                if n == 0 && matches!(self.ui.modal, Some(Modal::AlertDetails(_) | Modal::SilencePicker(_))) {
                    self.ui.modal = None;
                }
                // Details of an alert that has left the list (resolved and aged out) close.
                if matches!(&self.ui.modal, Some(Modal::AlertDetails(d)) if !self.alerts.iter().any(|a| a.key == d.key))
                {
                    self.ui.modal = None;
                }
            }
            Event::PanelsStale(note) => {
                for p in &mut self.panels {
                    p.note = Some(note.clone());
                }
            }
            Event::Markers(m) => self.markers = m,
            Event::Deploy(p) => self.fold_deploy(p),
            Event::DeployHistory(h) => self.fold_history(h),
            Event::Component(c) => {
                let list = self.components.entry(c.env.clone()).or_default();
                match list.iter_mut().find(|x| x.name == c.name) {
                    Some(x) => *x = c,
                    None => list.push(c),
                }
            }
            Event::Backup(b) => {
                self.backups.insert(b.env.clone(), b);
            }
            Event::Runbook(r) => self.runbook = Some(r),
            Event::Alertmanager(snap) => self.am = Some(snap),
            // Only the answer to the query last sent (an older one may arrive late).
            Event::QueryResult(r) if self.query.sent.as_ref() == Some(&r.expr) => self.query.result = Some(r),
            Event::QueryResult(_) => {}
            Event::Notice(s) => self.notice(s),
            Event::Stats(s) => self.stats = s,
            Event::Logs(batch) => {
                let env = batch.env.to_string();
                self.logs.apply(batch, self.now);
                let (level, query) = (self.ui.logs.level, self.ui.logs.query.clone());
                let view = self.log_views.entry(env.clone()).or_insert_with(|| {
                    let mut v = LogView::new();
                    v.set_min_level(level);
                    // The query compiled once already when it was entered.
                    let _ = v.set_search(&query);
                    v
                });
                if let Some(buf) = self.logs.get(&env) {
                    view.refresh(buf);
                }
            }
        }
    }

    /// The selected environment's log view and buffer, when one environment is chosen.
    fn log_view(&mut self) -> Option<(&mut LogView, &LogBuffer)> {
        let env = self.ui.env.and_then(|i| self.envs.get(i))?.name.clone();
        let buf = self.logs.get(&env)?;
        let view = self.log_views.get_mut(&env)?;
        Some((view, buf))
    }

    /// Re-filter every environment's view after a setting changed.
    fn refresh_logs(&mut self) {
        for (env, v) in self.log_views.iter_mut() {
            if let Some(b) = self.logs.get(env) {
                v.refresh(b);
            }
        }
    }

    /// `n`, `N`, `e`, `c` and Enter on records need one environment: say so instead of doing nothing.
    fn need_one_env(&mut self) -> bool {
        if self.ui.env.is_none() {
            self.notice(strings::PICK_ENV_FOR_LOGS.to_string());
            return false;
        }
        true
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

    /// Indices of the environments the overview lists (all, or those matching the filter).
    pub fn overview_envs(&self) -> Vec<usize> {
        let f = self.ui.env_filter.to_lowercase();
        (0..self.envs.len()).filter(|&i| f.is_empty() || self.envs[i].name.to_lowercase().contains(&f)).collect()
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

    /// A click, hit-tested by the view: `panel` is the id of the panel under the pointer, `row` the
    /// list row under its header line (if the click was below it). Focuses the panel; on the
    /// alerts list, selects that alert.
    pub fn click(&mut self, panel: &str, row: Option<usize>) {
        self.ui.focus = panel.to_string();
        if panel == ALERTS_ID {
            if let Some(i) = row.filter(|i| *i < self.visible_alerts().count()) {
                self.ui.alert_sel = i;
            }
        }
    }

    /// The mouse wheel: as ↓/↑, to whatever has the keys. Returns whether anything may have changed.
    pub fn scroll(&mut self, down: bool) -> bool {
        let code = if down { KeyCode::Down } else { KeyCode::Up };
        self.handle_key(KeyEvent::new(code, KeyModifiers::NONE)).is_none()
    }

    /// Turn a key press into state changes and, when the engine must act, a `Command`.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Command> {
        // Terminals with keyboard enhancement report releases too: act on presses only (kdash#390).
        if key.kind == KeyEventKind::Release {
            return None;
        }
        // Ctrl-C quits at once, even while an operation runs (`q` asks first then). The search
        // line takes every key as text.
        if is_ctrl_c(&key) && !matches!(self.ui.modal, Some(Modal::LogSearch | Modal::QueryPrompt | Modal::EnvFilter)) {
            return Some(Command::Quit);
        }
        // Who gets the key: the open modal, else the dashboard.
        match &self.ui.modal {
            // Typing must not trigger other actions.
            Some(Modal::LogSearch) => {
                self.edit_search(key);
                None
            }
            Some(Modal::Deploy(_)) => self.deploy_key(key),
            Some(Modal::Confirm(_)) => self.confirm_key(key),
            Some(Modal::Operation { .. }) => self.operation_key(key),
            Some(Modal::History { .. }) => self.history_key(key),
            Some(Modal::Components { scroll }) => {
                let scroll = *scroll;
                match keymap::lookup(&key)? {
                    Action::Quit => return self.request_quit(),
                    Action::Esc | Action::Components => self.ui.modal = None,
                    Action::Down => self.ui.modal = Some(Modal::Components { scroll: scroll + 1 }),
                    Action::Up => self.ui.modal = Some(Modal::Components { scroll: scroll.saturating_sub(1) }),
                    a @ (Action::SelectEnv(_) | Action::AllEnvs | Action::NextEnv | Action::PrevEnv) => {
                        let cmd = self.act(a);
                        self.ui.modal = Some(Modal::Components { scroll: 0 });
                        return cmd;
                    }
                    _ => {}
                }
                None
            }
            Some(Modal::SilencePicker(i)) => {
                let i = *i;
                self.pick_silence(i, key)
            }
            Some(Modal::Help) => match keymap::lookup(&key)? {
                Action::Quit => self.request_quit(),
                Action::Help | Action::Esc => {
                    self.ui.modal = None;
                    None
                }
                _ => None,
            },
            Some(Modal::AlertDetails(_)) => self.details_key(key),
            Some(Modal::Alertmanager(_)) => self.alertmanager_key(key),
            Some(Modal::QueryPrompt) => self.query_prompt_key(key),
            Some(Modal::EnvFilter) => {
                self.edit_env_filter(key);
                None
            }
            Some(Modal::QueryResult) => self.query_result_key(key),
            Some(Modal::SilenceForm(_)) => self.silence_form_key(key),
            // Details leave the dashboard's keys working under them (j/k, A, s, c; Esc closes).
            Some(Modal::LogDetails { .. } | Modal::LogCorrelate(_)) | None => {
                let action = keymap::lookup(&key)?;
                self.act(action)
            }
        }
    }

    fn act(&mut self, action: Action) -> Option<Command> {
        match action {
            Action::Quit => return self.request_quit(),
            Action::Help => self.ui.modal = Some(Modal::Help),
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
                } else if self.ui.focus == OVERVIEW_ID && self.envs.len() > OVERVIEW_SCROLLS_FROM {
                    // A fleet's overview is a list: j/k scroll it (h/l still move between panels).
                    let last = self.envs.len() - 1;
                    let cur = self.ui.overview_scroll.min(last);
                    self.ui.overview_scroll = if down { (cur + 1).min(last) } else { cur.saturating_sub(1) };
                } else if self.ui.focus == LOGS_ID {
                    if let Some((v, _)) = self.log_view() {
                        // Moving pauses following, as `less +F` does; f resumes.
                        v.move_by(if down { 1 } else { -1 });
                    }
                } else if !self.ui.zoom {
                    self.move_focus(down);
                }
            }
            Action::PageDown | Action::PageUp if self.ui.focus == ALERTS_ID || self.ui.focus == LOGS_ID => {
                let step = if action == Action::PageDown { Action::Down } else { Action::Up };
                for _ in 0..10 {
                    self.act(step);
                }
            }
            Action::PageDown | Action::PageUp => {}
            Action::Tick | Action::Copy => self.notice(strings::RUNBOOK_KEYS_IN_DETAILS.to_string()),
            Action::FocusNext => self.move_focus(true),
            Action::FocusPrev => self.move_focus(false),
            Action::Enter => {
                if self.ui.focus == ALERTS_ID && self.selected_alert().is_some() {
                    return self.open_details();
                } else if self.ui.focus == LOGS_ID && self.ui.env.is_some() {
                    let env = self.selected_env_name().unwrap_or_default().to_string();
                    if let Some(seq) = self.log_view().and_then(|(v, _)| v.selected()) {
                        self.ui.modal = Some(Modal::LogDetails { env, seq });
                    }
                } else {
                    self.ui.zoom = true;
                }
            }
            Action::Zoom => self.ui.zoom = !self.ui.zoom,
            // The open details first, then the zoom.
            Action::Esc => {
                if self.ui.modal.take().is_none() {
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
                if self.refuse_read_only(strings::ACKNOWLEDGING) {
                    return None;
                }
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
                if self.refuse_read_only(strings::SILENCING) {
                    return None;
                }
                if self.selected_alert().is_some() {
                    self.ui.modal = Some(Modal::SilencePicker(1));
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
            // A fleet's overview filters its environments by name.
            Action::Search if self.ui.focus == OVERVIEW_ID && self.envs.len() > OVERVIEW_SCROLLS_FROM => {
                self.ui.modal = Some(Modal::EnvFilter)
            }
            Action::Follow
            | Action::LevelFilter
            | Action::Search
            | Action::SearchNext
            | Action::SearchPrev
            | Action::NextError
            | Action::Correlate => self.act_on_logs(action),
            Action::Deploy => self.open_deploy(),
            Action::Rollback => self.open_rollback(),
            Action::Promote => self.open_promote(),
            Action::History => return self.open_history(),
            Action::Components => self.ui.modal = Some(Modal::Components { scroll: 0 }),
            Action::Query => {
                self.query.text.clear();
                self.open_query();
            }
            Action::AlertmanagerView => self.open_alertmanager(alertmanager::AmTab::Alerts),
            Action::Silences => self.open_alertmanager(alertmanager::AmTab::Silences),
            Action::Operation => self.open_operation(),
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

    /// Typing the overview's environment filter: Enter keeps it, Esc clears it.
    fn edit_env_filter(&mut self, key: KeyEvent) {
        let f = &mut self.ui.env_filter;
        match key.code {
            KeyCode::Esc => {
                f.clear();
                self.ui.modal = None;
            }
            KeyCode::Enter => self.ui.modal = None,
            KeyCode::Backspace => {
                f.pop();
            }
            KeyCode::Char(c) if !c.is_control() && f.len() < 64 => f.push(c),
            _ => {}
        }
        self.ui.overview_scroll = 0;
    }

    fn edit_search(&mut self, key: KeyEvent) {
        let l = &mut self.ui.logs;
        match key.code {
            KeyCode::Esc => self.ui.modal = None,
            KeyCode::Enter => {
                self.ui.modal = None;
                let query = l.query.clone();
                let mut err = None;
                for v in self.log_views.values_mut() {
                    if let Err(e) = v.set_search(&query) {
                        err = Some(e.to_string());
                    }
                }
                if let Err(e) = regex::Regex::new(&query) {
                    err.get_or_insert(e.to_string());
                }
                if let Some(e) = err {
                    self.notice(strings::invalid_regex(&crate::sanitize::line(&e)));
                } else if !query.is_empty() && self.ui.env.is_some() {
                    // Jump to the first match, as `less` does.
                    if let Some((v, b)) = self.log_view() {
                        v.next_match(b);
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

    /// Every key while a confirmation is open; only a confirmed action becomes its command.
    fn confirm_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Modal::Confirm(mut c)) = self.ui.modal.take() else { return None };
        let answer = c.key(&key);
        match answer {
            Answer::Open => {
                self.ui.modal = Some(Modal::Confirm(c));
                return None;
            }
            Answer::Yes => self.notice(c.action.confirmed()),
            Answer::No => self.notice(c.action.cancelled()),
            Answer::NotConfirmed => {
                let name = c.protected.clone().unwrap_or_default();
                self.notice(c.action.not_confirmed(&name));
            }
        }
        let yes = answer == Answer::Yes;
        self.after_confirm(&c.action, yes);
        yes.then(|| c.action.command())
    }

    fn pick_silence(&mut self, i: usize, key: KeyEvent) -> Option<Command> {
        match keymap::lookup(&key) {
            Some(Action::Down) => self.ui.modal = Some(Modal::SilencePicker((i + 1).min(SILENCES.len() - 1))),
            Some(Action::Up) => self.ui.modal = Some(Modal::SilencePicker(i.saturating_sub(1))),
            Some(Action::Esc) => self.ui.modal = None,
            Some(Action::Quit) => return self.request_quit(),
            Some(Action::Enter) => {
                self.ui.modal = None;
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

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

#[cfg(test)]
mod tests;
