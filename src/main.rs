//! Entry point: parse the command line, load the config, dispatch. The only module that wires the
//! TUI to the engine.

use clap::{CommandFactory, Parser};
use opsdeck::cli::{CheckCmd, Cli, Command, RulesCmd};
use opsdeck::config::{self, Config};
use opsdeck::deploy::cli::Args as DeployArgs;
use opsdeck::exit;
use opsdeck::model::OpKind;
use std::path::Path;

fn main() {
    let cli = Cli::parse();
    let _log_guard = init_logging(cli.global.log_file.as_deref());
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("opsdeck: {}", opsdeck::sanitize::multiline(&format!("{e:#}")));
            exit::USAGE
        }
    };
    std::process::exit(code);
}

/// The tool's own logs go to `--log-file` only (never the terminal: it belongs to the dashboard).
fn init_logging(path: Option<&Path>) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let path = path?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file = path.file_name()?.to_owned();
    let appender = tracing_appender::rolling::never(dir, file);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).init();
    Some(guard)
}

fn load_config(cli: &Cli) -> Result<Config, config::ConfigError> {
    let path = config::find(cli.global.config.as_deref())?;
    let cfg = Config::load(&path)?;
    if let Some(f) = &cfg.general.ca_file {
        opsdeck::net::trust_ca_file(&cfg.resolve(f))
            .map_err(|message| config::ConfigError::Invalid { path: path.clone(), message })?;
    }
    Ok(cfg)
}

/// Config errors are usage errors (exit 2) with file, line and column.
macro_rules! config_or_exit {
    ($cli:expr) => {
        match load_config($cli) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("opsdeck: {}", opsdeck::sanitize::multiline(&e.to_string()));
                return Ok(exit::USAGE);
            }
        }
    };
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Two workers: the machine this runs on (a bastion) is small and the work is I/O-bound.
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let no_color = cli.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match &cli.command {
        None => {
            let mut cfg = config_or_exit!(&cli);
            cfg.general.read_only |= cli.global.read_only;
            let state_dir = state_dir(&cli, Some(&cfg));
            runtime()?.block_on(opsdeck_dashboard(cfg, state_dir, no_color))
        }
        Some(Command::Demo(args)) => {
            let state_dir = state_dir(&cli, None);
            runtime()?.block_on(async move {
                let fleet = opsdeck::demo::Fleet::start().await?;
                let cfg_text = fleet.config_toml(&state_dir);
                let cfg_path = match &args.write_config {
                    Some(p) => p.clone(),
                    None => state_dir.join("demo.toml"),
                };
                fleet.write_rule_files(cfg_path.parent().unwrap_or(Path::new(".")))?;
                // Atomically, so a watcher never reads half a config.
                opsdeck::persist::write_atomic(&cfg_path, cfg_text.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", cfg_path.display()))?;
                if args.serve_only {
                    println!("{}", fleet.describe());
                    println!("config written to {}", cfg_path.display());
                    opsdeck::demo::wait_for_shutdown().await;
                    return Ok(exit::OK);
                }
                let mut cfg = Config::load(&cfg_path)?;
                cfg.general.read_only |= cli.global.read_only;
                opsdeck_dashboard(cfg, state_dir, no_color).await
            })
        }
        Some(Command::Status { json }) => {
            let cfg = config_or_exit!(&cli);
            let state_dir = state_dir(&cli, Some(&cfg));
            runtime()?.block_on(opsdeck::status::run(&cfg, *json, &state_dir))
        }
        Some(Command::Query(args)) => {
            let cfg = config_or_exit!(&cli);
            runtime()?.block_on(opsdeck::query::run(&cfg, args))
        }
        Some(Command::Rules(RulesCmd::Check { files, strict })) => Ok(opsdeck::rules::cmd_check(files, *strict)),
        Some(Command::Rules(RulesCmd::Test { files })) => Ok(opsdeck::rules::cmd_test(files)),
        Some(Command::Check(CheckCmd::Metrics { file })) => Ok(opsdeck::scrape::cmd_check_metrics(file.as_deref())),
        Some(Command::Logs(args)) => {
            // A config is needed only for --env; --file works without one.
            let cfg = if args.env.is_some() { Some(config_or_exit!(&cli)) } else { load_config(&cli).ok() };
            runtime()?.block_on(opsdeck::logs::cmd(cfg.as_ref(), args))
        }
        Some(Command::Deploy { env, version, yes, dry_run, force }) => {
            let args = DeployArgs {
                env: env.clone(),
                kind: OpKind::Deploy,
                version: Some(version.clone()),
                yes: *yes,
                dry_run: *dry_run,
                force: *force,
                read_only: cli.global.read_only,
            };
            deploy_cmd(&cli, args)
        }
        Some(Command::Rollback { env, to, yes, dry_run, force }) => {
            let args = DeployArgs {
                env: env.clone(),
                kind: OpKind::Rollback,
                version: to.clone(),
                yes: *yes,
                dry_run: *dry_run,
                force: *force,
                read_only: cli.global.read_only,
            };
            deploy_cmd(&cli, args)
        }
        Some(Command::Promote { env, yes, dry_run, force }) => {
            let args = DeployArgs {
                env: env.clone(),
                kind: OpKind::Promote,
                version: None,
                yes: *yes,
                dry_run: *dry_run,
                force: *force,
                read_only: cli.global.read_only,
            };
            deploy_cmd(&cli, args)
        }
        Some(Command::History { env, json }) => {
            let cfg = config_or_exit!(&cli);
            let state_dir = state_dir(&cli, Some(&cfg));
            Ok(opsdeck::deploy::cli::history(&cfg, &state_dir, env, *json))
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "opsdeck", &mut std::io::stdout());
            Ok(exit::OK)
        }
    }
}

fn deploy_cmd(cli: &Cli, args: DeployArgs) -> anyhow::Result<i32> {
    let cfg = config_or_exit!(cli);
    let state_dir = state_dir(cli, Some(&cfg));
    Ok(runtime()?.block_on(opsdeck::deploy::cli::run(&cfg, &state_dir, args)))
}

fn state_dir(cli: &Cli, cfg: Option<&Config>) -> std::path::PathBuf {
    if let Some(d) = &cli.global.state_dir {
        return d.clone();
    }
    if let Some(d) = cfg.and_then(|c| c.general.state_dir.as_deref()) {
        return config::expand_home(d);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("opsdeck")
}

/// The dashboard: the engine (sources, store, evaluation) on the runtime, the TUI on its output.
async fn opsdeck_dashboard(cfg: Config, state_dir: std::path::PathBuf, no_color: bool) -> anyhow::Result<i32> {
    let state = opsdeck::app::State::from_config(&cfg);
    let bell = cfg.alerting.bell;
    let (events, commands, engine) = opsdeck::engine::start(cfg, state_dir).into_parts();
    let opts = opsdeck::tui::TuiOptions { no_color, bell, ..Default::default() };
    let code = opsdeck::tui::run_dashboard(state, events, commands, opts).await;
    // The terminal is restored by now; wait for the engine to write its state before exiting.
    if !engine.shutdown(ENGINE_STOP).await {
        eprintln!(
            "opsdeck: the engine did not stop within {}s; the last alert state may not be saved",
            ENGINE_STOP.as_secs()
        );
    }
    code
}

/// How long `q` waits for the engine to flush its state.
const ENGINE_STOP: std::time::Duration = std::time::Duration::from_secs(5);
