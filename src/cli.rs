//! Command line (design §2). Every command is listed here; main dispatches.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "A terminal dashboard for live operations: health, metrics, alerts, logs, deploys"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Config file (default: $OPSDECK_CONFIG, ./opsdeck.toml, $XDG_CONFIG_HOME/opsdeck/config.toml)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where acks, alert state and the deploy journal live (default: $XDG_STATE_HOME/opsdeck)
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Write opsdeck's own logs to this file (never to the terminal while the dashboard runs)
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Observe only: every action (deploy, rollback, promote, ack, silence) is refused
    #[arg(long, global = true)]
    pub read_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the embedded demo fleet on loopback and the dashboard on it
    Demo(DemoArgs),
    /// Poll every environment once and print a table (or JSON); exit 1 when degraded
    Status {
        #[arg(long)]
        json: bool,
    },
    /// PromQL against the [prometheus] server: an instant query, or a range with --range; exit 1
    /// on a query error (with its position), 2 on a usage or config error
    Query(QueryArgs),
    /// Prometheus rule files: validate or unit-test them
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Checks of inputs
    #[command(subcommand)]
    Check(CheckCmd),
    /// The log pipeline, headless
    Logs(LogsArgs),
    /// Deploy VERSION to ENV: pre-check, driver, verify, bake; roll back automatically on failure
    Deploy {
        env: String,
        version: String,
        /// Confirm without asking (needed for a protected environment without a terminal)
        #[arg(long)]
        yes: bool,
        /// Print the plan, the rollback point and the gates' verdicts; run nothing
        #[arg(long)]
        dry_run: bool,
        /// Deploy although the pre-check refuses (unhealthy, a gate firing); recorded
        #[arg(long)]
        force: bool,
    },
    /// Roll ENV back to its last verified rollback point (or --to VERSION)
    Rollback {
        env: String,
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        dry_run: bool,
        /// Roll back to a --to version that is not a verified point
        #[arg(long)]
        force: bool,
    },
    /// Deploy to ENV the version verified in its promote_from stage
    Promote {
        env: String,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        force: bool,
    },
    /// Releases, rollback points and their outcomes for ENV
    History {
        env: String,
        #[arg(long)]
        json: bool,
    },
    /// Print shell completions
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run the fleet alone until SIGINT/SIGTERM
    #[arg(long)]
    pub serve_only: bool,
    /// Write a ready config pointing at the fleet
    #[arg(long, value_name = "PATH")]
    pub write_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Validate rule files, with positions, plus lints for common mistakes
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Lint warnings fail the check too
        #[arg(long)]
        strict: bool,
    },
    /// Run rule unit tests in `promtool test rules` format
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCmd {
    /// Parse and lint Prometheus text exposition from FILE or stdin, as `promtool check metrics`
    Metrics { file: Option<PathBuf> },
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Environment whose configured log source to read
    #[arg(long, conflicts_with = "file")]
    pub env: Option<String>,
    /// A log file to read
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Minimum level: debug, info, warning, error, critical
    #[arg(long, value_name = "L")]
    pub level: Option<String>,
    /// Regular expression the message (or line) must match
    #[arg(long, value_name = "RE")]
    pub grep: Option<String>,
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// Keep reading as the source grows (like tail -F)
    #[arg(long)]
    pub follow: bool,
    /// One JSON record per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// The PromQL expression
    pub expr: String,
    /// Evaluation time (the range's end): Unix seconds or RFC 3339; default now
    #[arg(long)]
    pub time: Option<String>,
    /// A range query over this long before --time (e.g. 5m)
    #[arg(long)]
    pub range: Option<String>,
    /// The range query's resolution (default: the range / 250, at least 1s)
    #[arg(long, requires = "range")]
    pub step: Option<String>,
    /// Print the server's /api/v1/query(_range) response as it is
    #[arg(long)]
    pub json: bool,
    /// Scrape the configured targets this long (e.g. 30s) and query opsdeck's own store instead
    #[arg(long)]
    pub scrape_for: Option<String>,
}
