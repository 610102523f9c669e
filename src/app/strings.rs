//! Every user-facing string of the dashboard, in one place (as gitui's `strings.rs`), so wording
//! stays consistent and a reviewer can read all of it at once.

pub const TITLE: &str = "opsdeck";
pub const ALL_ENVS: &str = "all";
// The word "firing" is on screen only when something fires: a glance (or a grep of the screen)
// for it never matches a quiet dashboard.
pub const NO_ALERTS_FIRING: &str = "all quiet";
pub const FIRING: &str = "firing";
pub const QUIET_SHORT: &str = "quiet";

pub const OVERVIEW: &str = "Environments";
pub const ALERTS: &str = "Alerts";
pub const LOGS: &str = "Logs";
pub const HELP: &str = "Keys";
pub const ALERT_DETAILS: &str = "Alert";
pub const SILENCE_PICKER: &str = "Silence for";

pub const PROTECTED: &str = "protected";
pub const PROTECTED_SHORT: &str = "[P]";
pub const NEVER_CHECKED: &str = "not checked yet";
pub const NO_ENVIRONMENTS: &str = "no environments configured: add [[environment]] to the config";
pub const NO_ALERTS: &str = "no active alerts (rules are evaluated locally; pending and active alerts appear here)";
pub const NO_DATA_YET: &str = "no data yet: waiting for the first scrape";
pub const NO_DATA: &str = "no data";
pub const ROLLBACK_NOT_BUILT: &str = "the r key is not wired yet: run `opsdeck rollback ENV` (nothing was rolled back)";
pub const PROMOTE_NOT_BUILT: &str = "the p key is not wired yet: run `opsdeck promote ENV` (nothing was promoted)";
pub const HISTORY_NOT_BUILT: &str = "the H view is not built yet: run `opsdeck history ENV`";
pub const NO_ALERT_SELECTED: &str = "no alert selected: focus the alerts panel (a) and move with j/k";
pub const PICK_ENV_FOR_LOGS: &str = "choose one environment (1-9) to move through its log records";
pub const NO_MATCHES: &str = "no record matches the search";
pub const NO_ERRORS: &str = "no error records in view";
pub const NO_REQUEST_ID: &str = "the selected record has no request_id";
pub const NO_LOG_LINES: &str = "no log lines yet";
pub const LOG_DETAILS: &str = "Log record";
pub fn correlated(id: &str) -> String {
    format!("request_id {id} across environments")
}
pub const HELP_FOOTER: &str = "Esc or ? closes this help";
pub const FOOTER_HINT: &str = "? help  q quit  Tab env  +/- window  Enter zoom";
pub const SEARCH_PROMPT: &str = "search (regex): ";

pub fn acked(name: &str) -> String {
    format!("acknowledged {name}")
}
pub fn unacked(name: &str) -> String {
    format!("acknowledgement of {name} withdrawn")
}
pub fn silenced(name: &str, dur: &str) -> String {
    format!("silenced {name} for {dur}")
}
pub fn window_set(w: &str) -> String {
    format!("window {w}")
}
pub fn window_capped(w: &str) -> String {
    format!("window {w} is the most the kept history allows")
}
pub fn theme_set(t: &str) -> String {
    format!("theme {t}")
}
pub fn no_env(n: usize) -> String {
    format!("no environment {n}")
}
pub fn invalid_regex(e: &str) -> String {
    format!("invalid search regex: {e}")
}

pub const READ_ONLY: &str = "READ-ONLY";
pub const READ_ONLY_REFUSED: &str = "read-only mode: deploy, rollback, promote, ack and silence are refused";

pub fn quit_while_running(env: &str, kind: &str, version: &str) -> String {
    format!("{env}: {kind} {version} is running; leaving now interrupts it. Press q again to leave anyway, Esc to stay")
}
