//! The TOML config (design §3). Field names are the contract scripts rely on; unknown fields are
//! errors, and every error names the file, line and column.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} not found")]
    NotFound(PathBuf),
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{col}: {message}")]
    Parse { path: PathBuf, line: usize, col: usize, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "no config found (looked at --config, $OPSDECK_CONFIG, ./opsdeck.toml, $XDG_CONFIG_HOME/opsdeck/config.toml).\n\
         To get started: `opsdeck demo` runs a demo fleet and the dashboard on it, and\n\
         config.example.toml in the repository is a commented config to copy to ./opsdeck.toml"
    )]
    NoneFound,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub general: General,
    #[serde(default, rename = "environment")]
    pub environments: Vec<Environment>,
    pub prometheus: Option<PrometheusSource>,
    #[serde(default)]
    pub alerting: Alerting,
    #[serde(default, rename = "panel")]
    pub panels: Vec<PanelConfig>,
    #[serde(default, rename = "log")]
    pub log_settings: LogSettings,
    #[serde(default)]
    pub ui: Ui,
    /// Where the file was read from; relative paths in it (rule files, log files) are relative to its folder.
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Samples kept in memory.
    #[serde(default = "default_history", deserialize_with = "duration::de")]
    pub history: Duration,
    pub state_dir: Option<String>,
    /// Cap on stored series across all targets; new series past it are dropped and counted.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// Observers: every action is refused where it is dispatched (also `--read-only`).
    #[serde(default)]
    pub read_only: bool,
    /// Locks, deploy journal and audit log shared by the operators of one bastion
    /// (e.g. `/var/lib/opsdeck`, group-writable); the state dir when unset.
    pub shared_dir: Option<String>,
    /// Most samples one panel or `:` query may read; past it the query stops with an error on
    /// its panel instead of freezing the engine (Prometheus's `--query.max-samples`).
    #[serde(default = "default_query_max_samples")]
    pub query_max_samples: usize,
    /// A PEM bundle (a company CA) trusted besides the system's roots by every HTTPS source.
    pub ca_file: Option<String>,
}

impl Default for General {
    fn default() -> Self {
        General {
            history: default_history(),
            state_dir: None,
            max_series: default_max_series(),
            read_only: false,
            shared_dir: None,
            query_max_samples: default_query_max_samples(),
            ca_file: None,
        }
    }
}

fn default_query_max_samples() -> usize {
    crate::promql::DEFAULT_MAX_SAMPLES
}

fn default_history() -> Duration {
    Duration::from_secs(3600)
}
fn default_max_series() -> usize {
    200_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub name: String,
    #[serde(default)]
    pub protected: bool,
    pub health: Option<HealthConfig>,
    #[serde(default)]
    pub scrape: Vec<ScrapeConfig>,
    pub logs: Option<LogSource>,
    pub deploy: Option<DeployConfig>,
    /// The stage before this one: `promote` deploys the version verified there.
    pub promote_from: Option<String>,
    /// The environment's parts (API, database, cache, workers), each with its own health check.
    #[serde(default)]
    pub components: Vec<ComponentConfig>,
    /// How fresh the last good backup must be, and where to read it.
    pub backup: Option<BackupConfig>,
}

/// One component's check, timed and judged as Docker's HEALTHCHECK is (design §10, README
/// "Components"). One flat table for the three kinds so that a field of another kind is named in
/// the error ("`argv` is for kind = \"command\"") instead of serde's untagged-enum shrug.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    pub name: String,
    pub kind: ComponentKind,
    /// http: the URL (`https://` unless a scheme is given).
    pub url: Option<String>,
    /// http: the statuses that pass (default: any 2xx).
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// http: a regex the body must match.
    pub body_regex: Option<String>,
    /// http: verify the server's certificate (on by default; off for a self-signed internal one).
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// tcp: `host:port`.
    pub address: Option<String>,
    /// tcp: bytes sent after connecting (`\r\n` written as in TOML strings).
    pub send: Option<String>,
    /// tcp: the reply must start with this (`+PONG`).
    pub expect: Option<String>,
    /// command: the program and its arguments, run without a shell.
    #[serde(default)]
    pub argv: Vec<String>,
    #[serde(default = "default_component_interval", deserialize_with = "duration::de")]
    pub interval: Duration,
    #[serde(default = "default_component_interval", deserialize_with = "duration::de")]
    pub timeout: Duration,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default, deserialize_with = "duration::de")]
    pub start_period: Duration,
    #[serde(default = "default_start_interval", deserialize_with = "duration::de")]
    pub start_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    Http,
    Tcp,
    Command,
}

impl ComponentConfig {
    /// What is wrong with this check's fields for its kind, in words.
    pub fn problem(&self) -> Option<String> {
        let kind = self.kind.as_str();
        let other = |field: &str, of: &str| Some(format!("`{field}` is for kind = \"{of}\", not \"{kind}\""));
        let http = self.url.is_some() || !self.expect_status.is_empty() || self.body_regex.is_some();
        let tcp = self.address.is_some() || self.send.is_some() || self.expect.is_some();
        match self.kind {
            ComponentKind::Http if self.url.as_deref().is_none_or(|u| u.trim().is_empty()) => {
                return Some("kind = \"http\" needs `url`".into())
            }
            ComponentKind::Tcp if self.address.as_deref().is_none_or(|a| a.trim().is_empty()) => {
                return Some("kind = \"tcp\" needs `address = \"host:port\"`".into())
            }
            ComponentKind::Command if self.argv.is_empty() => {
                return Some("kind = \"command\" needs `argv = [\"program\", ...]`".into())
            }
            _ => {}
        }
        if self.kind != ComponentKind::Http && http {
            return other("url/expect_status/body_regex", "http");
        }
        if self.kind != ComponentKind::Tcp && tcp {
            return other("address/send/expect", "tcp");
        }
        if self.kind != ComponentKind::Command && !self.argv.is_empty() {
            return other("argv", "command");
        }
        if let Some(r) = &self.body_regex {
            if let Err(e) = regex::Regex::new(r) {
                return Some(format!("body_regex: {e}"));
            }
        }
        if let Some(a) = &self.address {
            if a.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()) {
                return Some(format!("address {a:?} is not host:port"));
            }
        }
        if self.retries == 0 {
            return Some("retries must be at least 1".into());
        }
        if self.interval.is_zero() || self.timeout.is_zero() || self.start_interval.is_zero() {
            return Some("interval, timeout and start_interval must be more than 0s".into());
        }
        None
    }
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Http => "http",
            ComponentKind::Tcp => "tcp",
            ComponentKind::Command => "command",
        }
    }
}

fn yes() -> bool {
    true
}
// Docker's defaults: interval 30s, timeout 30s, retries 3, start_interval 5s.
fn default_component_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_retries() -> u32 {
    3
}
fn default_start_interval() -> Duration {
    Duration::from_secs(5)
}

/// Backup freshness: a policy, and either a command printing JSON (restic, pgBackRest) or a PromQL
/// expression over the scraped data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// "continuous" (15m), "hourly", "daily", or a duration: the oldest a good backup may be.
    #[serde(deserialize_with = "de_policy")]
    pub policy: Duration,
    /// A command printing the latest backup as JSON (`restic snapshots --json --latest 1`,
    /// `pgbackrest info --output json`), run every `interval`.
    #[serde(default)]
    pub command: Vec<String>,
    /// The command's output format; detected from the JSON when unset.
    pub format: Option<BackupFormat>,
    /// A PromQL expression: the last success as a Unix timestamp, or its age (`kind = "age"`).
    pub expr: Option<String>,
    #[serde(default)]
    pub kind: BackupValueKind,
    #[serde(default = "default_backup_interval", deserialize_with = "duration::de")]
    pub interval: Duration,
    #[serde(default = "default_backup_timeout", deserialize_with = "duration::de")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupFormat {
    Restic,
    Pgbackrest,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupValueKind {
    /// The expression returns when the last good backup finished (Unix seconds).
    #[default]
    Timestamp,
    /// The expression returns how long ago it finished (seconds).
    Age,
}

fn default_backup_interval() -> Duration {
    Duration::from_secs(600)
}
fn default_backup_timeout() -> Duration {
    Duration::from_secs(60)
}

/// The named policies, as the reference team's backup plan names them.
pub fn backup_policy(s: &str) -> Result<Duration, String> {
    match s.trim() {
        "continuous" => Ok(Duration::from_secs(15 * 60)),
        "hourly" => Ok(Duration::from_secs(3600)),
        "daily" => Ok(Duration::from_secs(86_400)),
        other => duration::parse(other).map_err(|e| {
            format!("backup policy {other:?}: expected \"continuous\", \"hourly\", \"daily\" or a duration ({e})")
        }),
    }
}

fn de_policy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    backup_policy(&s).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    pub url: String,
    #[serde(default = "default_health_interval", deserialize_with = "duration::de")]
    pub interval: Duration,
    #[serde(default = "default_health_timeout", deserialize_with = "duration::de")]
    pub timeout: Duration,
    #[serde(default = "default_version_field")]
    pub version_field: String,
}

fn default_health_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_health_timeout() -> Duration {
    Duration::from_secs(3)
}
fn default_version_field() -> String {
    "version".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job: String,
    pub urls: Vec<String>,
    #[serde(default = "default_scrape_interval", deserialize_with = "duration::de")]
    pub interval: Duration,
    #[serde(default = "default_scrape_timeout", deserialize_with = "duration::de")]
    pub timeout: Duration,
    /// Bytes of (uncompressed) body accepted per scrape; 0 = no limit, as in Prometheus.
    #[serde(default = "default_body_size_limit")]
    pub body_size_limit: u64,
    /// Samples accepted per scrape; 0 = no limit.
    #[serde(default = "default_sample_limit")]
    pub sample_limit: usize,
    #[serde(default)]
    pub label_limit: usize,
    #[serde(default)]
    pub label_name_length_limit: usize,
    #[serde(default)]
    pub label_value_length_limit: usize,
    /// Environment variable holding a bearer token for these targets.
    #[serde(default, deserialize_with = "env_var_name")]
    pub bearer_token_env: Option<String>,
    /// File holding the bearer token (re-read at each start; relative to the config's folder).
    pub bearer_token_file: Option<String>,
}

fn default_scrape_interval() -> Duration {
    Duration::from_secs(15)
}
fn default_scrape_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_body_size_limit() -> u64 {
    16 << 20
}
fn default_sample_limit() -> usize {
    50_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LogSource {
    File {
        path: String,
    },
    Http {
        url: String,
        #[serde(default = "default_log_poll", deserialize_with = "duration::de")]
        interval: Duration,
        #[serde(default, deserialize_with = "env_var_name")]
        bearer_token_env: Option<String>,
        #[serde(default)]
        bearer_token_file: Option<String>,
    },
    Command {
        argv: Vec<String>,
    },
}

fn default_log_poll() -> Duration {
    Duration::from_secs(2)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Lines kept per environment.
    #[serde(default = "default_log_lines")]
    pub buffer_lines: usize,
    /// Bytes kept per environment.
    #[serde(default = "default_log_bytes")]
    pub buffer_bytes: usize,
    /// Longest line kept whole; longer ones are cut with a marker.
    #[serde(default = "default_max_line")]
    pub max_line_bytes: usize,
    /// e.g. "http://jaeger:16686/trace/{trace_id}"
    pub trace_url: Option<String>,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            buffer_lines: default_log_lines(),
            buffer_bytes: default_log_bytes(),
            max_line_bytes: default_max_line(),
            trace_url: None,
        }
    }
}
fn default_log_lines() -> usize {
    10_000
}
fn default_log_bytes() -> usize {
    16 << 20
}
fn default_max_line() -> usize {
    64 << 10
}

/// Deploy settings (design §5, §10).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    pub driver: DeployDriver,
    /// argv template of the `command` driver: `{env}`, `{version}`, `{previous}` substituted.
    #[serde(default)]
    pub deploy: Vec<String>,
    /// argv template of a rollback; without one, a rollback deploys the rollback point.
    #[serde(default)]
    pub rollback: Vec<String>,
    /// argv template run after the deploy command (e.g. `kubectl rollout status --timeout=5m`);
    /// its exit code is a verdict before health is checked.
    #[serde(default)]
    pub status: Vec<String>,
    /// Environment variables passed to commands (secrets go here, never on the command line).
    #[serde(default)]
    pub env_allow: Vec<String>,
    /// endpoint of the `http` driver
    pub url: Option<String>,
    /// status URL of the `http` driver, polled (GET, 2xx) before health is checked
    pub status_url: Option<String>,
    #[serde(default, deserialize_with = "token_env_name")]
    pub token_env: Option<String>,
    /// File holding the `http` driver's bearer token (relative to the config's folder).
    pub token_file: Option<String>,
    #[serde(default = "default_health_checks")]
    pub health_checks: u32,
    #[serde(default = "default_health_interval", deserialize_with = "duration::de")]
    pub health_interval: Duration,
    #[serde(default = "default_bake", deserialize_with = "duration::de")]
    pub bake: Duration,
    /// Bounds each driver command (deploy, status, rollback): SIGTERM to its group, then SIGKILL.
    #[serde(default = "default_deploy_timeout", deserialize_with = "duration::de")]
    pub timeout: Duration,
    #[serde(default)]
    pub gates: Vec<String>,
    /// Failed checks tolerated (verify and bake); one more fails the operation.
    #[serde(default)]
    pub failure_limit: u32,
    /// Checks in a row that could not measure (endpoint unreachable) before the operation fails.
    #[serde(default = "default_consecutive_error_limit")]
    pub consecutive_error_limit: u32,
    #[serde(default = "default_keep_last")]
    pub keep_last: usize,
    /// User names and `@group`s allowed to act on this environment (empty: everyone).
    #[serde(default)]
    pub allowed_users: Vec<String>,
    /// Versions offered by the picker.
    #[serde(default)]
    pub versions: Vec<String>,
}

fn default_consecutive_error_limit() -> u32 {
    4
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployDriver {
    Command,
    Http,
}

fn default_health_checks() -> u32 {
    30
}
fn default_bake() -> Duration {
    Duration::from_secs(120)
}
fn default_deploy_timeout() -> Duration {
    Duration::from_secs(600)
}
fn default_keep_last() -> usize {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    pub url: String,
    #[serde(default, deserialize_with = "env_var_name")]
    pub bearer_token_env: Option<String>,
    /// File holding the bearer token (relative to the config's folder).
    pub bearer_token_file: Option<String>,
    #[serde(default = "default_health_timeout", deserialize_with = "duration::de")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub alertmanager: Vec<String>,
    #[serde(default)]
    pub webhook: Vec<String>,
    /// Ring the terminal bell when a critical alert starts firing.
    #[serde(default = "default_true")]
    pub bell: bool,
    #[serde(default = "default_eval_interval", deserialize_with = "duration::de")]
    pub evaluation_interval: Duration,
    #[serde(default = "default_resend", deserialize_with = "duration::de")]
    pub resend_delay: Duration,
    #[serde(default)]
    pub external_labels: std::collections::BTreeMap<String, String>,
    /// A folder of markdown runbooks named after the alerts (`HighErrorRate.md` or
    /// `high-error-rate.md`), shown in the alert details; relative to the config's folder.
    pub runbooks: Option<String>,
    /// Where alerts come from (design §10): `local` rules on scraped data, `remote-rules` (the
    /// same rules through `[prometheus]`'s query API) or the `server`'s own alerts. Unset: `local`.
    pub source: Option<AlertSource>,
    /// Who silences created from the keyboard are by; unset, `SUDO_USER`, then `USER`.
    pub author: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertSource {
    Local,
    RemoteRules,
    Server,
}

impl AlertSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Local => "local",
            AlertSource::RemoteRules => "remote-rules",
            AlertSource::Server => "server",
        }
    }
}

impl Alerting {
    /// The source in use (unset means `local`).
    pub fn source(&self) -> AlertSource {
        self.source.unwrap_or(AlertSource::Local)
    }
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting {
            rule_files: vec![],
            alertmanager: vec![],
            webhook: vec![],
            bell: true,
            evaluation_interval: default_eval_interval(),
            resend_delay: default_resend(),
            external_labels: Default::default(),
            runbooks: None,
            source: None,
            author: None,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_eval_interval() -> Duration {
    Duration::from_secs(15)
}
fn default_resend() -> Duration {
    Duration::from_secs(60)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelConfig {
    pub title: String,
    pub expr: String,
    #[serde(default)]
    pub unit: Unit,
    #[serde(default)]
    pub kind: PanelKind,
}

pub use crate::model::{PanelKind, Unit};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    #[serde(default)]
    pub theme: Theme,
}

impl Default for Ui {
    fn default() -> Self {
        Ui { theme: Theme::Dark }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Dark,
    Light,
    /// 16 ANSI colours only, for old terminals.
    Basic,
}

impl Config {
    /// Parse config text; `path` is used in error messages and to resolve relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let message = literal_secret(e.message()).unwrap_or_else(|| e.message().trim().to_string());
            ConfigError::Parse { path: path.to_path_buf(), line, col, message }
        })?;
        cfg.path = path.to_path_buf();
        cfg.validate(text)?;
        cfg.resolve_secret_files();
        Ok(cfg)
    }

    /// `*_file` secrets as absolute paths, so that they are read from the config's folder
    /// whatever the working directory of the process that reads them.
    fn resolve_secret_files(&mut self) {
        let base = self.base_dir();
        let fix = |f: &mut Option<String>| {
            if let Some(p) = f.as_mut() {
                let e = expand_home(p);
                let abs = if e.is_absolute() { e } else { base.join(e) };
                *p = abs.to_string_lossy().into_owned();
            }
        };
        if let Some(p) = self.prometheus.as_mut() {
            fix(&mut p.bearer_token_file);
        }
        for env in &mut self.environments {
            for s in &mut env.scrape {
                fix(&mut s.bearer_token_file);
            }
            if let Some(LogSource::Http { bearer_token_file, .. }) = env.logs.as_mut() {
                fix(bearer_token_file);
            }
            if let Some(d) = env.deploy.as_mut() {
                fix(&mut d.token_file);
            }
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound(path.to_path_buf())
            } else {
                ConfigError::Read { path: path.to_path_buf(), source: e }
            }
        })?;
        Config::parse(&text, path)
    }

    /// The folder relative paths in the config are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = expand_home(p);
        if p.is_absolute() {
            p
        } else {
            self.base_dir().join(p)
        }
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for env in &self.environments {
            let at = |needle: &str| {
                let pos = text.find(needle).unwrap_or(0);
                line_col(text, pos)
            };
            if env.name.trim().is_empty() {
                return Err(self.invalid_at(at("name"), "environment name is empty".into()));
            }
            if !seen.insert(env.name.clone()) {
                let (l, c) = at(&format!("\"{}\"", env.name));
                return Err(self.invalid_at((l, c), format!("environment {:?} is defined twice", env.name)));
            }
            if let Some(d) = &env.deploy {
                let missing = match d.driver {
                    DeployDriver::Http if d.url.as_deref().is_none_or(|u| u.trim().is_empty()) => Some("url"),
                    DeployDriver::Command if d.deploy.is_empty() => Some("deploy (the argv template)"),
                    _ => None,
                };
                if let Some(what) = missing {
                    let pos = text.find(&format!("\"{}\"", env.name)).unwrap_or(0);
                    let pos = text[pos..].find("deploy").map(|p| p + pos).unwrap_or(pos);
                    return Err(self.invalid_at(
                        line_col(text, pos),
                        format!("environment {:?}: deploy driver needs `{what}`", env.name),
                    ));
                }
            }
            for s in &env.scrape {
                if s.urls.is_empty() {
                    return Err(self.invalid_at(at(&s.job), format!("scrape job {:?} has no urls", s.job)));
                }
            }
            // Positions: the component's name after the environment's, else the environment's.
            let env_pos = text.find(&format!("\"{}\"", env.name)).unwrap_or(0);
            let near = |needle: &str| {
                let p = text[env_pos..].find(needle).map(|p| p + env_pos).unwrap_or(env_pos);
                line_col(text, p)
            };
            let mut names = std::collections::HashSet::new();
            for c in &env.components {
                let here = near(&format!("\"{}\"", c.name));
                let bad = |m: String| {
                    Err(self.invalid_at(here, format!("environment {:?}: component {:?}: {m}", env.name, c.name)))
                };
                if c.name.trim().is_empty() {
                    return Err(self.invalid_at(
                        near("components"),
                        format!("environment {:?}: a component has an empty name", env.name),
                    ));
                }
                if !names.insert(c.name.as_str()) {
                    return bad("defined twice".into());
                }
                if let Some(m) = c.problem() {
                    return bad(m);
                }
            }
            if let Some(b) = &env.backup {
                let here = near("backup");
                let bad = |m: String| Err(self.invalid_at(here, format!("environment {:?}: backup: {m}", env.name)));
                match (b.command.is_empty(), &b.expr) {
                    (true, None) => return bad("needs `command = [...]` or `expr = \"...\"`".into()),
                    (false, Some(_)) => return bad("give `command` or `expr`, not both".into()),
                    (_, Some(e)) => {
                        if let Err(err) = crate::promql::parse(e) {
                            return bad(format!("expr: {err}"));
                        }
                    }
                    _ => {}
                }
                if b.policy.is_zero() || b.timeout.is_zero() || b.interval.is_zero() {
                    return bad("policy, interval and timeout must be more than 0s".into());
                }
            }
        }
        if matches!(self.alerting.source(), AlertSource::RemoteRules | AlertSource::Server) && self.prometheus.is_none()
        {
            let sect = text.find("[alerting]").unwrap_or(0);
            let pos = text[sect..].find("source").map(|p| p + sect).unwrap_or(sect);
            return Err(self.invalid_at(
                line_col(text, pos),
                format!("[alerting] source = {:?} needs a [prometheus] server", self.alerting.source().as_str()),
            ));
        }
        for p in &self.panels {
            if let Err(e) = crate::promql::parse(&p.expr) {
                // Point into the file: where the expression's text starts, plus the parser's offset.
                let start = text.find(p.expr.as_str()).unwrap_or(0);
                let (line, col) = line_col(text, start + e.offset.min(p.expr.len()));
                return Err(
                    self.invalid_at((line, col), format!("panel {:?}: bad PromQL expression: {}", p.title, e.message))
                );
            }
        }
        Ok(())
    }

    fn invalid_at(&self, (line, col): (usize, usize), message: String) -> ConfigError {
        ConfigError::Parse { path: self.path.clone(), line, col, message }
    }
}

/// Config search order (design §2): --config, $OPSDECK_CONFIG, ./opsdeck.toml, $XDG_CONFIG_HOME/opsdeck/config.toml.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("OPSDECK_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let local = PathBuf::from("opsdeck.toml");
    if local.exists() {
        return Ok(local);
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(x) = xdg {
        let p = x.join("opsdeck").join("config.toml");
        if p.exists() {
            return Ok(p);
        }
    }
    Err(ConfigError::NoneFound)
}

pub fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(h) = std::env::var_os("HOME") {
            return PathBuf::from(h).join(rest);
        }
    }
    PathBuf::from(p)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// A secret named by reference: the value of the environment variable, if set and non-empty.
pub fn secret_from_env(var: Option<&str>) -> Option<String> {
    var.and_then(|v| std::env::var(v).ok()).filter(|s| !s.is_empty())
}

/// A secret from the environment variable or the file the config names (the file's content with
/// its trailing newline trimmed). `Ok(None)` when neither is named. The error names the variable
/// or the file, never a value.
pub fn secret(env: Option<&str>, file: Option<&str>) -> Result<Option<String>, String> {
    if let Some(var) = env {
        return secret_from_env(Some(var))
            .map(Some)
            .ok_or_else(|| format!("the token variable {var} is not set (or empty) in this environment"));
    }
    let Some(path) = file else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the token file {path}: {e}"))?;
    let token = text.trim_end_matches(['\n', '\r']).to_string();
    if token.is_empty() {
        return Err(format!("the token file {path} is empty"));
    }
    Ok(Some(token))
}

/// Keys that would hold a secret in the config itself, and what to write instead.
const LITERAL_SECRETS: [(&str, &str); 4] = [
    ("bearer_token", "bearer_token_env or bearer_token_file"),
    ("token", "token_env or token_file"),
    ("password", "an environment variable or a file"),
    ("secret", "an environment variable or a file"),
];

/// serde's "unknown field `bearer_token`" said as what it is: a secret written into the config,
/// which is refused (the value is never echoed).
fn literal_secret(message: &str) -> Option<String> {
    let (key, instead) = LITERAL_SECRETS.iter().find(|(k, _)| message.starts_with(&format!("unknown field `{k}`")))?;
    Some(format!(
        "`{key}` would put a secret in the config file, which is refused: export it in an \
         environment variable or write it to a file (mode 0600) and name that with {instead}"
    ))
}

/// A `*_env` field: the name of an environment variable, never the secret itself (a token pasted
/// into the field by mistake is refused without being echoed).
fn env_var_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    env_name_of("bearer_token_env", d)
}

fn token_env_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    env_name_of("token_env", d)
}

fn env_name_of<'de, D: serde::Deserializer<'de>>(key: &str, d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    if let Some(name) = &v {
        let ok = !name.is_empty()
            && name.len() <= 128
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(serde::de::Error::custom(format!(
                "`{key}` must be the name of an environment variable (letters, digits and _), not \
                 the secret itself: export the token as e.g. OPSDECK_TOKEN and write that name here"
            )));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, usize, String) {
        match Config::parse(text, Path::new("t.toml")) {
            Err(ConfigError::Parse { line, col, message, .. }) => (line, col, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_error_names_its_line() {
        let (line, _, _) = err("[general]\nhistory = \"1h\"\n[[environment]\nname = \"x\"\n");
        assert_eq!(line, 3);
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let (line, _, msg) =
            err("[[environment]]\nname = \"x\"\nhealth = { url = \"http://h/health\" }\ncolour = \"red\"\n");
        assert_eq!(line, 4);
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn bad_duration_names_its_line() {
        let (line, col, msg) =
            err("[[environment]]\nname = \"x\"\nhealth = { url = \"http://h/health\", interval = \"ten seconds\" }\n");
        assert_eq!(line, 3);
        assert!(col > 1);
        assert!(msg.contains("ten seconds"), "{msg}");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../config.example.toml");
        let cfg = Config::parse(text, Path::new("config.example.toml")).unwrap();
        assert_eq!(cfg.environments.len(), 3);
        assert!(cfg.environment("production").unwrap().protected);
    }

    #[test]
    fn bad_panel_expression_is_a_config_error_with_its_position() {
        let (line, col, msg) =
            err("[general]\nhistory = \"1h\"\n\n[[panel]]\ntitle = \"t\"\nexpr = \"sum(rate(x[5m])\"\n");
        assert_eq!(line, 6);
        assert!(col > 8, "column {col} points into the expression");
        assert!(msg.contains("panel \"t\"") && msg.contains("PromQL"), "{msg}");
    }

    #[test]
    fn deploy_driver_without_its_target_is_an_error() {
        let (line, _, msg) =
            err("[[environment]]\nname = \"staging\"\ndeploy = { driver = \"http\", health_checks = 3 }\n");
        assert_eq!(line, 3);
        assert!(msg.contains("url"), "{msg}");
        let (_, _, msg) = err("[[environment]]\nname = \"s\"\ndeploy = { driver = \"command\" }\n");
        assert!(msg.contains("argv"), "{msg}");
    }

    #[test]
    fn a_literal_secret_is_refused_by_name_without_its_value() {
        let h = "health = { url = \"http://h/health\" }";
        for (text, key) in [
            (format!("[[environment]]\nname = \"x\"\n{h}\nscrape = [ {{ job = \"a\", urls = [\"http://h/m\"], bearer_token = \"SEKRIT-1\" }} ]\n"), "bearer_token"),
            (format!("[[environment]]\nname = \"x\"\n{h}\ndeploy = {{ driver = \"http\", url = \"http://d\", token = \"SEKRIT-1\" }}\n"), "token"),
            ("[prometheus]\nurl = \"http://p\"\nbearer_token = \"SEKRIT-1\"\n".to_string(), "bearer_token"),
            (format!("[[environment]]\nname = \"x\"\n{h}\nscrape = [ {{ job = \"a\", urls = [\"http://h/m\"], bearer_token_env = \"eyJh.SEKRIT-1\" }} ]\n"), "bearer_token_env"),
            (format!("[[environment]]\nname = \"x\"\n{h}\ndeploy = {{ driver = \"http\", url = \"http://d\", token_env = \"SEKRIT-1 \" }}\n"), "token_env"),
        ] {
            let (line, col, msg) = err(&text);
            assert!(msg.contains(&format!("`{key}`")) && !msg.contains("SEKRIT"), "{msg}");
            assert!(line >= 2 && col >= 1, "{line}:{col}");
        }
    }

    #[test]
    fn secrets_come_from_the_variable_or_the_file() {
        let dir = std::env::temp_dir().join(format!("opsdeck-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tok"), "file-token\n").unwrap();
        let text = "[prometheus]\nurl = \"http://p\"\nbearer_token_file = \"tok\"\n";
        let cfg = Config::parse(text, &dir.join("c.toml")).unwrap();
        let p = cfg.prometheus.unwrap();
        assert_eq!(secret(None, p.bearer_token_file.as_deref()), Ok(Some("file-token".into())));
        let e = secret(None, Some("/nonexistent/opsdeck-token")).unwrap_err();
        assert!(e.contains("/nonexistent/opsdeck-token"), "{e}");
        let e = secret(Some("OPSDECK_TEST_SURELY_UNSET_TOKEN"), None).unwrap_err();
        assert!(e.contains("OPSDECK_TEST_SURELY_UNSET_TOKEN") && e.contains("not set"), "{e}");
        assert_eq!(secret(None, None), Ok(None));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn duplicate_environment_is_an_error() {
        let (line, _, msg) = err("[[environment]]\nname = \"a\"\n[[environment]]\nname = \"a\"\n");
        assert!(msg.contains("twice"), "{msg}");
        assert!(line >= 1);
    }
}
