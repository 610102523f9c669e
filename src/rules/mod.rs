//! Prometheus rule files: loading, evaluation, alert state, templates, unit tests, lints.
//!
//! - `yaml`: positioned YAML (saphyr-parser events, read as go-yaml v3/v2 read them) so every error names `file:line:col`;
//! - `file`: rule files as Prometheus's `rulefmt` reads and validates them;
//! - `template`: the Go text/template subset rule files use; `gofmt`: Go's number formatting;
//! - `engine`: groups, recording rules, the alert state machine, `ALERTS`, state persistence;
//! - `unittest`: `opsdeck rules test` (promtool's format and semantics);
//! - `check`: `opsdeck rules check` (validation plus lints).

pub mod check;
pub mod engine;
pub mod file;
pub mod gofmt;
pub mod template;
pub mod unittest;
pub mod yaml;

pub use engine::{AlertSnapshot, EngineOptions, Evaluator, Notification, PromqlEvaluator, RuleEngine, RuleSet, State};
pub use file::RuleError;

use std::path::PathBuf;

/// `opsdeck rules check FILE... [--strict]` (see `check`).
pub fn cmd_check(files: &[PathBuf], strict: bool) -> i32 {
    check::cmd_check(files, strict)
}

/// `opsdeck rules test FILE...` (see `unittest`).
pub fn cmd_test(files: &[PathBuf]) -> i32 {
    unittest::cmd_test(files)
}

/// opsdeck's own alerts on the series it writes (components, backups).
pub const BUILTIN_RULES: &str = include_str!("../../assets/builtin_rules.yml");
pub const BUILTIN_RULES_PATH: &str = "<opsdeck built-in rules>";

/// The configured rule files, plus the built-in ones when an environment has components or a
/// backup, loaded and compiled; `None` when there are none.
pub fn load_from_config(cfg: &crate::config::Config) -> Result<Option<RuleEngine<PromqlEvaluator>>, Vec<RuleError>> {
    load_parts(cfg, true, true)
}

/// The configured rule files (`files`) and/or the built-in rules (`builtin`, when an environment
/// has components or a backup): with `source = "remote-rules"` the first are evaluated through
/// the server and the second, on series only opsdeck has, locally.
pub fn load_parts(
    cfg: &crate::config::Config,
    files: bool,
    builtin: bool,
) -> Result<Option<RuleEngine<PromqlEvaluator>>, Vec<RuleError>> {
    let builtin = builtin && cfg.environments.iter().any(|e| !e.components.is_empty() || e.backup.is_some());
    let files = if files { cfg.alerting.rule_files.as_slice() } else { &[] };
    if files.is_empty() && !builtin {
        return Ok(None);
    }
    let paths: Vec<PathBuf> = files.iter().map(|p| cfg.resolve(p)).collect();
    let mut set = RuleSet::load(&paths)?;
    if builtin {
        set.files.push(file::parse_rule_file(std::path::Path::new(BUILTIN_RULES_PATH), BUILTIN_RULES)?);
    }
    let opts = crate::rules::EngineOptions {
        default_interval_ms: cfg.alerting.evaluation_interval.as_millis() as i64,
        external_labels: cfg.alerting.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        external_url: String::new(),
        resend_delay_ms: cfg.alerting.resend_delay.as_millis() as i64,
    };
    RuleEngine::new(PromqlEvaluator::default(), &set, opts).map(Some)
}
