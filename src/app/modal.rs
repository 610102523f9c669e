//! What is open over the dashboard: at most one thing at a time. `State::handle_key` decides in
//! one match who gets a key, and `tui::view` in one match what is drawn on top.

use super::alertmanager::{AmUi, SilenceForm};
use super::confirm::Confirm;
use super::deploy_dialog::DeployDialog;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    /// The `?` key list: only `q` (quit), `?` and Esc (close) act under it.
    Help,
    /// An alert's details and its runbook; `A`, `s` and the environment keys still work under
    /// them, `j`/`k` move through the runbook.
    AlertDetails(Details),
    /// The `s` duration picker: index into `SILENCES`.
    SilencePicker(usize),
    /// The `d` version picker.
    Deploy(DeployDialog),
    /// One log record opened: its environment and sequence number in that buffer.
    LogDetails { env: String, seq: u64 },
    /// Every log line with this request id, across environments.
    LogCorrelate(String),
    /// Typing the `/` search (the text is `LogsUi::query`).
    LogSearch,
    /// A yes/no (or type-the-name) confirmation of an action.
    Confirm(Confirm),
    /// An environment's deploy, rollback or promotion as it runs (and how it ended): Esc closes it
    /// and the operation goes on, `c` cancels it.
    Operation { env: String },
    /// An environment's deploy history; `scroll` rows skipped from the newest.
    History { env: String, scroll: usize },
    /// Components and backups: the selected environment's, or every environment's; `scroll` lines
    /// skipped from the top.
    Components { scroll: usize },
    /// The team's Alertmanagers: their alerts by group, or their silences.
    Alertmanager(AmUi),
    /// Typing the overview's environment filter (`/` on a fleet's overview).
    EnvFilter,
    /// Typing a `:` query (the text is `State::query`).
    QueryPrompt,
    /// The last `:` query's answer: a chart and the latest values; `p` pins it.
    QueryResult,
    /// A new silence being typed (from the Alertmanager view's selected alert).
    SilenceForm(SilenceForm),
}

/// The open alert details: which alert instance, and where the runbook's cursor is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details {
    /// `AlertView::key`.
    pub key: String,
    /// Index into the runbook's `Doc::units`.
    pub cursor: usize,
}
