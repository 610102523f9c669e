//! Every user-facing string of the dashboard, in one place (as gitui's `strings.rs`), so wording
//! stays consistent and a reviewer can read all of it at once.

use crate::model::{Millis, OpKind, Resolution};

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

// Deploy operations: the header, the progress and history views, `r`, `p`, cancel, resolve, quit.

/// The header's mark of read-only mode (`--read-only` / `[general] read_only`).
pub const READ_ONLY: &str = "READ-ONLY";
pub const DEPLOY: &str = "deploy";
pub const ROLLBACK: &str = "rollback";
pub const PROMOTION: &str = "promotion";
pub const CANCELLING: &str = "cancelling the operation";
pub const ACKNOWLEDGING: &str = "acknowledging";
pub const SILENCING: &str = "silencing";
pub const UNKNOWN: &str = "unknown";
pub const THE_ROLLBACK_POINT: &str = "the rollback point";
pub const NO_POINT: &str = "none: a failure needs a human";
pub const NO_OPERATIONS: &str = "no deploy operation to show: d deploys, r rolls back, p promotes";
pub const HELP_READ_ONLY: &str = "✖ refused: read-only";

pub fn read_only_refused(what: &str) -> String {
    format!("read-only: {what} refused (--read-only or [general] read_only); nothing was changed")
}
pub fn pick_env(key: &str) -> String {
    format!("choose one environment (1-9 or Tab), then press {key}")
}
pub fn op_running(env: &str, what: &str) -> String {
    format!("{env}: {what} is running: wait for it to end, or o then c to cancel it")
}
pub fn no_operation(env: &str) -> String {
    format!("{env}: no deploy operation to show: d deploys, r rolls back, p promotes")
}
pub fn op_goes_on(env: &str) -> String {
    format!("{env}: the operation goes on; o shows it again")
}
/// "12s ago", "32m ago", "2h5m ago", "3d ago".
pub fn ago(ms: Millis) -> String {
    let s = (ms.max(0) / 1000) as u64;
    let rounded = match s {
        0..=59 => s,
        60..=86_399 => s / 60 * 60,
        _ => s / 86_400 * 86_400,
    };
    format!("{} ago", crate::duration::format(std::time::Duration::from_secs(rounded)))
}
pub fn interrupted_banner(env: &str, what: &str, user: &str, reached: &str) -> String {
    format!("⚠ {env}: {what} by {user} interrupted at {reached} — H: verify / roll back / mark resolved")
}

pub const QUIT_TITLE: &str = "Quit opsdeck";
pub fn quit_question(env: &str, what: &str) -> String {
    format!("An operation is running on {env} ({what}): quit anyway? It will be interrupted [y/N]")
}
pub const QUIT_NOTE: &str =
    "Quitting stops the operation where it is; its journal marks it interrupted, and H offers verify, roll back or mark resolved next time.";

pub fn rollback_title(env: &str) -> String {
    format!("Roll back {env}")
}
pub fn rollback_question(env: &str, to: &str, when: Option<&str>) -> String {
    match when {
        Some(w) => format!("Roll {env} back to {to} (last verified {w})? [y/N]"),
        None => format!("Roll {env} back to {to} (a verified release)? [y/N]"),
    }
}
pub const ROLLBACK_NOTE: &str =
    "The rollback is verified with health checks like a deploy; if it fails, a human is needed.";
pub fn no_rollback_point(env: &str, running: Option<&str>, history_read: bool) -> String {
    match (history_read, running) {
        (false, _) => format!("{env}: no verified rollback point known yet (its history was not read); H reads it"),
        (true, Some(v)) => {
            format!("{env}: no verified rollback point other than the running {v}: nothing was rolled back")
        }
        (true, None) => format!("{env}: no verified rollback point: nothing was rolled back"),
    }
}

pub fn promote_title(env: &str) -> String {
    format!("Promote to {env}")
}
pub fn promote_question(env: &str, from: &str, version: &str) -> String {
    format!("Promote {version} from {from} to {env}? [y/N]")
}
pub const PROMOTE_NOTE: &str = "A promotion is a deploy: health checks, gates and the bake; a failure rolls back.";
pub fn no_promote_from(env: &str) -> String {
    format!("{env} has no previous stage (promote_from) to promote from: nothing was promoted")
}
pub fn nothing_to_promote(from: &str, env: &str, history_read: bool) -> String {
    if history_read {
        format!("{from} has no verified release to promote to {env}: nothing was promoted")
    } else {
        format!("{from}'s history was not read yet, so no verified release is known: nothing was promoted")
    }
}

pub fn cancel_title(env: &str) -> String {
    format!("Cancel on {env}")
}
pub fn cancel_question(env: &str, kind: OpKind, version: &str) -> String {
    match kind {
        OpKind::Rollback => format!("Cancel the rollback to {version} on {env}? It stops where it is [y/N]"),
        k => format!("Cancel the {} of {version} on {env}? It will roll back [y/N]", k.as_str()),
    }
}
pub const CANCEL_NOTE: &str = "The operation stops at its next step and rolls back to the rollback point.";
pub const CANCEL_ROLLBACK_NOTE: &str = "A cancelled rollback ends as a failed rollback: a human is needed.";
pub fn nothing_to_cancel(env: &str) -> String {
    format!("{env}: nothing to cancel: the operation has ended")
}
pub fn already_rolling_back(env: &str) -> String {
    format!("{env}: already rolling back: nothing to cancel")
}

pub fn resolve_title(env: &str) -> String {
    format!("Interrupted operation on {env}")
}
pub fn resolving(how: &str) -> String {
    format!("resolving ({how})")
}
pub fn nothing_interrupted(env: &str) -> String {
    format!("{env}: no interrupted operation to resolve")
}
pub fn resolve_verify_question(env: &str, version: &str) -> String {
    format!("Check {env}'s health now? Healthy on {version} records it verified [y/N]")
}
pub fn resolve_rollback_question(env: &str, to: &str) -> String {
    format!("Roll {env} back to {to}? [y/N]")
}
pub fn resolve_mark_question(env: &str, what: &str) -> String {
    format!("Mark the interrupted {what} on {env} resolved? Nothing is run [y/N]")
}
pub fn resolve_note(how: Resolution) -> &'static str {
    match how {
        Resolution::Verify => "Nothing is deployed: one health check decides what the journal records.",
        Resolution::RollBack => "A rollback like r: verified with health checks; if it fails, a human is needed.",
        Resolution::MarkResolved => "Only the journal changes: say that a human dealt with it.",
    }
}

// The progress view.
pub fn operation_title(kind: OpKind, env: &str, version: &str) -> String {
    match kind {
        OpKind::Deploy => format!("Deploy {version} to {env}"),
        OpKind::Rollback => format!("Rollback of {env} to {version}"),
        OpKind::Promote => format!("Promote {version} to {env}"),
    }
}
pub fn operation_on(env: &str) -> String {
    format!("Operation on {env}")
}
pub fn waiting_for_engine(what: &str) -> String {
    format!("{what} requested: waiting for the deploy engine to start it…")
}
pub const OPERATION_HINT_RUNNING: &str = "Esc close (it goes on) · c cancel · H history";
pub const OPERATION_HINT_ENDED: &str = "Esc close · H history";
pub const NO_GATES: &str = "no gates configured: health checks only";
pub const NO_OUTPUT: &str = "no driver output yet";

// The history view.
pub fn history_title(env: &str) -> String {
    format!("Deploy history of {env}")
}
pub const HISTORY_HINT: &str = "j/k scroll · Esc close";
pub const HISTORY_HINT_INTERRUPTED: &str = "v verify · r roll back · m mark resolved · j/k · Esc";
pub const NO_HISTORY_YET: &str = "reading the journal…";
pub const NO_HISTORY_ROWS: &str = "no operations recorded yet";
pub const NO_POINTS: &str = "none (nothing verified yet)";

// Components and backups (`C`, the overview's strip).
pub const COMPONENTS_TITLE: &str = "Components and backups";
pub const COMPONENTS_HINT: &str = "j/k scroll · 0-9 environment · Esc close";
pub const NO_COMPONENTS: &str = "no components configured (components = [...] in this environment)";
pub const TLS_UNVERIFIED: &str = "TLS NOT VERIFIED: tls_verify = false accepts any certificate for this check";
pub const NO_BACKUP_CONFIGURED: &str = "not configured (backup = { policy, command | expr })";
pub const NO_BACKUP_KNOWN: &str = "no good backup known";
pub const BACKUP_NOT_READ: &str = "… not read yet";

// Runbooks beside the alert.
pub const RUNBOOK: &str = "runbook";
pub const RUNBOOK_LOADING: &str = "loading the runbook…";
pub const NO_RUNBOOK_STEPS: &str = "no runbook loaded for this alert: nothing to tick";
pub const NOT_A_STEP: &str = "not a step: move to a task (- [ ]) or a numbered step with j/k, then Space";
pub const NO_CODE_TO_COPY: &str = "this runbook has no code block to copy";
pub const SELECT_CODE_TO_COPY: &str = "move to a code block with j/k, then y copies it";
pub const DETAILS_KEYS: &str = "j/k move · Space tick · y copy · A ack · s silence · Esc close";
pub const DETAILS_KEYS_NO_RUNBOOK: &str = "A ack · s silence · Enter reload · Esc close";
pub fn copied(n: usize, lines: usize) -> String {
    let s = if lines == 1 { "" } else { "s" };
    format!("code block {n} ({lines} line{s}) sent to the clipboard (OSC 52; in tmux: set -g set-clipboard on); nothing was run")
}
pub fn code_too_big(len: usize, max: usize) -> String {
    format!("code block of {} KiB not copied: the terminal clipboard takes at most {} KiB", len / 1024, max / 1024)
}
pub const RUNBOOK_KEYS_IN_DETAILS: &str = "Space and y act on a runbook: open an alert's details (a, then Enter)";

// The Alertmanager view and the silence form.
pub const NO_ALERTMANAGER: &str = "no Alertmanager configured: add [alerting] alertmanager = [\"http://…\"]";
pub const ALREADY_EXPIRED: &str = "that silence has expired already";
pub const SILENCE_SENT: &str = "silence sent to Alertmanager…";
pub const COMMENT_REQUIRED: &str = "a comment is required: say why (and a ticket)";
pub const AM_TITLE: &str = "Alertmanager";
pub const AM_SILENCES_TITLE: &str = "Alertmanager silences";
pub const AM_KEYS: &str = "s silence · A ack · m hide muted · S silences · Esc close";
pub const AM_SILENCE_KEYS: &str = "x expire · M alerts · Esc close";
pub const AM_WAITING: &str = "asking Alertmanager…";
pub const FORM_TITLE: &str = "New silence";
pub const FORM_KEYS: &str = "Tab next field · Enter create · Esc cancel";

pub fn expiring(id: &str) -> String {
    format!("expiring silence {id}…")
}

// The `:` query prompt.
pub const QUERY_PROMPT: &str = "query: ";
pub const QUERY_HINT: &str = "Enter runs · ↑/↓ history · Esc cancels";
pub const QUERY_TITLE: &str = "Query";
pub const QUERY_KEYS: &str = "p pin as panel · y copy TOML · : edit · Esc close";
pub const QUERY_RUNNING: &str = "running…";
pub const ALREADY_PINNED: &str = "already pinned";
pub const PIN_NEEDS_RESULT: &str = "nothing to pin yet: wait for the answer";
pub const TOML_COPIED: &str = "copied the [[panel]] block (OSC 52)";

pub fn pinned(expr: &str) -> String {
    format!("pinned until exit: {expr} · y copies its TOML")
}
