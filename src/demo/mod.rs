//! The embedded demo fleet (design §4): loopback HTTP services that behave like the reference app
//! "revolvr" in three environments — per environment an API (health, metrics, JSON logs, deploy)
//! and two scraper workers, each on its own OS-assigned port on 127.0.0.1.
//!
//! Traffic is simulated lazily (see `sim`): an unwatched fleet uses no CPU.

mod applog;
mod datastores;
mod expo;
mod server;
mod sim;

pub use server::DEPLOY_DELAY;
pub use sim::{Behaviour, HEALTHY_VERSIONS, INCIDENT};

use server::ApiState;
use sim::{ApiSim, WorkerSim};
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinHandle;

/// The demo's rule file: the reference rules with short windows (assets/demo_alert_rules.yml).
pub const RULES_YAML: &str = include_str!("../../assets/demo_alert_rules.yml");
/// File name of the rule file, written next to the config.
pub const RULES_FILE: &str = "demo_alert_rules.yml";
/// The reference app's runbooks (assets/runbooks/), written beside the demo's config into
/// `RUNBOOKS_DIR` and found there by alert name (`[alerting] runbooks`).
pub const RUNBOOKS: &[(&str, &str)] = &[
    ("high-error-rate.md", include_str!("../../assets/runbooks/high-error-rate.md")),
    ("slow-response-time.md", include_str!("../../assets/runbooks/slow-response-time.md")),
    ("scraper-failures.md", include_str!("../../assets/runbooks/scraper-failures.md")),
    ("component-unhealthy.md", include_str!("../../assets/runbooks/component-unhealthy.md")),
    ("backup-overdue.md", include_str!("../../assets/runbooks/backup-overdue.md")),
];
pub const RUNBOOKS_DIR: &str = "runbooks";

/// Environments in the order the dashboard lists them, with the version each starts on.
pub const ENVIRONMENTS: [(&str, &str); 3] = [("production", "1.4.1"), ("staging", "1.5.0"), ("development", "1.5.0")];

/// Versions the deploy picker offers: the healthy ones and one broken build of each kind.
pub const OFFERED_VERSIONS: [&str; 5] = ["1.4.0", "1.4.1", "1.5.0", "1.6.0-bad", "1.6.0-slow"];

/// Environment variable that, when set at start, makes `POST /deploy` require this bearer token.
pub const TOKEN_ENV: &str = "OPSDECK_DEMO_TOKEN";

/// One environment's services.
pub struct DemoEnv {
    pub name: &'static str,
    pub protected: bool,
    pub api: SocketAddr,
    pub workers: [SocketAddr; 2],
    /// Its database (enough of PostgreSQL's protocol for `pg_isready`).
    pub db: SocketAddr,
    /// Its cache (enough of Redis's protocol for `PING`).
    pub cache: SocketAddr,
    state: Arc<ApiState>,
}

impl DemoEnv {
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }
    pub fn worker_urls(&self) -> [String; 2] {
        self.workers.map(|w| format!("http://{w}/metrics"))
    }
    /// The version the API runs right now.
    pub fn version(&self) -> String {
        self.state.sim().version().to_string()
    }
}

/// The running fleet. Dropping it stops every service.
pub struct Fleet {
    envs: Vec<DemoEnv>,
    started: Instant,
    tasks: Vec<JoinHandle<()>>,
    token: bool,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve(router: axum::Router) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!("demo service on {addr} stopped: {e}");
        }
    });
    Ok((addr, task))
}

impl Fleet {
    /// Bind every service on 127.0.0.1 (OS-assigned ports) and start serving. Takes milliseconds.
    /// `POST /deploy` needs a bearer token when `$OPSDECK_DEMO_TOKEN` is set.
    pub async fn start() -> anyhow::Result<Fleet> {
        Fleet::start_with(std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty())).await
    }

    /// `start` with an explicit deploy token (`None`: deploys need none).
    pub async fn start_with(token: Option<String>) -> anyhow::Result<Fleet> {
        let started = Instant::now();
        let mut fleet = Fleet { envs: Vec::new(), started, tasks: Vec::new(), token: token.is_some() };
        for (name, version) in ENVIRONMENTS {
            let state = Arc::new(ApiState {
                env: name.to_string(),
                started,
                sim: Mutex::new(ApiSim::new(name, version, started)),
                token: token.clone(),
            });
            let (api, t) = serve(server::api_router(state.clone())).await?;
            fleet.tasks.push(t);
            let mut workers = [api; 2];
            for (i, w) in workers.iter_mut().enumerate() {
                let sim = Arc::new(Mutex::new(WorkerSim::new(name, i, started)));
                let (addr, t) = serve(server::worker_router(sim)).await?;
                fleet.tasks.push(t);
                *w = addr;
            }
            let (db, t) = datastores::postgres().await?;
            fleet.tasks.push(t);
            let (cache, t) = datastores::redis(name, started).await?;
            fleet.tasks.push(t);
            fleet.envs.push(DemoEnv { name, protected: name == "production", api, workers, db, cache, state });
        }
        Ok(fleet)
    }

    pub fn envs(&self) -> &[DemoEnv] {
        &self.envs
    }

    pub fn env(&self, name: &str) -> Option<&DemoEnv> {
        self.envs.iter().find(|e| e.name == name)
    }

    /// Time since the fleet started (the staged incident runs on this clock).
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// A complete config pointing at this fleet (design §3 names), with fast health checks and a
    /// deploy verification suited to a demo (checks every second, a short bake).
    pub fn config_toml(&self, state_dir: &Path) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut t = String::new();
        let _ = writeln!(t, "# Written by `opsdeck demo` for the embedded demo fleet (the reference app \"revolvr\").");
        let _ = writeln!(t, "# It points at loopback ports that live only as long as the fleet runs.\n");
        let _ = writeln!(t, "[general]\nhistory = \"1h\"\nstate_dir = {}\n", q(&state_dir.to_string_lossy()));
        for e in &self.envs {
            let api = e.api_url();
            let [w1, w2] = e.worker_urls();
            let _ = writeln!(t, "[[environment]]\nname = {}", q(e.name));
            if e.protected {
                let _ = writeln!(t, "protected = true");
            }
            // development → staging → production: `p` promotes the stage before's verified version.
            let stages: Vec<&str> = ENVIRONMENTS.iter().rev().map(|(n, _)| *n).collect();
            if let Some(i) = stages.iter().position(|n| *n == e.name).filter(|i| *i > 0) {
                let _ = writeln!(t, "promote_from = {}", q(stages[i - 1]));
            }
            let _ = writeln!(
                t,
                "health = {{ url = {}, interval = \"2s\", timeout = \"1s\", version_field = \"version\" }}",
                q(&format!("{api}/health"))
            );
            let _ = writeln!(t, "scrape = [");
            let _ = writeln!(t, "  {{ job = \"api\", urls = [{}], interval = \"5s\" }},", q(&format!("{api}/metrics")));
            let _ =
                writeln!(t, "  {{ job = \"scraper-worker\", urls = [{}, {}], interval = \"5s\" }},", q(&w1), q(&w2));
            let _ = writeln!(t, "]");
            let _ = writeln!(t, "logs = {{ kind = \"http\", url = {}, interval = \"1s\" }}", q(&format!("{api}/logs")));
            // Checked as compose checks them, on a demo's shorter clock.
            let timing = "interval = \"5s\", timeout = \"2s\", retries = 3";
            let _ = writeln!(t, "components = [");
            let _ = writeln!(
                t,
                "  {{ name = \"api\", kind = \"http\", url = {}, {timing} }},",
                q(&format!("{api}/health"))
            );
            let _ = writeln!(t, "  {{ name = \"db\", kind = \"tcp\", address = {}, {timing} }},", q(&e.db.to_string()));
            let _ = writeln!(
                t,
                "  {{ name = \"redis\", kind = \"tcp\", address = {}, send = \"PING\\r\\n\", expect = \"+PONG\", {timing} }},",
                q(&e.cache.to_string())
            );
            let _ = writeln!(t, "]");
            let policy = match e.name {
                "production" => "continuous",
                "staging" => "hourly",
                _ => "daily",
            };
            let expr = format!("max(revolvr_backup_last_success_timestamp_seconds{{env=\"{}\"}})", e.name);
            let _ = writeln!(t, "backup = {{ policy = {}, expr = {} }}", q(policy), q(&expr));
            let versions: Vec<String> = OFFERED_VERSIONS.iter().map(|v| q(v)).collect();
            let token = if self.token { format!(", token_env = {}", q(TOKEN_ENV)) } else { String::new() };
            let _ = writeln!(
                t,
                "deploy = {{ driver = \"http\", url = {}{token}, health_checks = 10, health_interval = \"1s\", bake = \"20s\", \
                 gates = [\"HighErrorRate\", \"SlowResponseTime\"], versions = [{}] }}\n",
                q(&format!("{api}/deploy")),
                versions.join(", ")
            );
        }
        let _ = writeln!(
            t,
            "[alerting]\nrule_files = [{}]\nevaluation_interval = \"5s\"\nrunbooks = {}",
            q(RULES_FILE),
            q(RUNBOOKS_DIR)
        );
        t
    }

    /// Write the demo's rule file and runbooks into `dir` (the config's folder, which
    /// `rule_files` and `runbooks` are relative to).
    pub fn write_rule_files(&self, dir: &Path) -> std::io::Result<()> {
        crate::persist::write_atomic(&dir.join(RULES_FILE), RULES_YAML.as_bytes())?;
        for (name, text) in RUNBOOKS {
            crate::persist::write_atomic(&dir.join(RUNBOOKS_DIR).join(name), text.as_bytes())?;
        }
        Ok(())
    }

    /// The fleet's URLs, for people.
    pub fn describe(&self) -> String {
        let mut s = String::from("opsdeck demo fleet (the reference app \"revolvr\") on 127.0.0.1:\n");
        for e in &self.envs {
            let [w1, w2] = e.worker_urls();
            let _ = writeln!(
                s,
                "  {:<12} {}  api {}  (health /health, metrics /metrics, logs /logs, deploy POST /deploy)",
                e.name,
                if e.protected { "[protected]" } else { "           " },
                e.api_url()
            );
            let _ = writeln!(s, "  {:<12}              scraper workers {w1}  {w2}", "");
        }
        let _ = write!(
            s,
            "A scraper incident starts about {}s after start ({} {}); {}'s redis stops answering about {}s in.",
            INCIDENT.start.as_secs(),
            INCIDENT.env,
            INCIDENT.platform,
            datastores::REDIS_INCIDENT.env,
            datastores::REDIS_INCIDENT.start.as_secs()
        );
        s
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DeployDriver};

    #[tokio::test]
    async fn config_parses_and_points_at_the_fleet() {
        let fleet = Fleet::start().await.unwrap();
        let text = fleet.config_toml(Path::new("/tmp/state \"quoted\""));
        let cfg = Config::parse(&text, Path::new("/tmp/demo.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cfg.environments.len(), 3);
        assert_eq!(cfg.general.state_dir.as_deref(), Some("/tmp/state \"quoted\""));
        let prod = cfg.environment("production").unwrap();
        assert!(prod.protected);
        assert!(!cfg.environment("staging").unwrap().protected);
        let h = prod.health.as_ref().unwrap();
        assert_eq!(h.url, format!("{}/health", fleet.env("production").unwrap().api_url()));
        assert_eq!(h.interval, std::time::Duration::from_secs(2));
        assert_eq!(prod.scrape.len(), 2);
        assert_eq!(prod.scrape[1].urls.len(), 2);
        let d = prod.deploy.as_ref().unwrap();
        assert_eq!(d.driver, DeployDriver::Http);
        assert_eq!(d.health_checks, 10);
        assert_eq!(d.bake, std::time::Duration::from_secs(20));
        assert_eq!(cfg.environment("staging").unwrap().promote_from.as_deref(), Some("development"));
        assert_eq!(prod.promote_from.as_deref(), Some("staging"));
        assert!(d.versions.iter().any(|v| v == "1.5.0"));
        assert!(matches!(prod.logs, Some(crate::config::LogSource::Http { .. })));
        assert_eq!(cfg.alerting.rule_files, vec![RULES_FILE.to_string()]);
        assert_eq!(cfg.alerting.evaluation_interval, std::time::Duration::from_secs(5));
    }

    #[test]
    fn rule_file_names_the_three_reference_alerts() {
        for name in ["HighErrorRate", "SlowResponseTime", "ScraperFailures"] {
            assert!(RULES_YAML.contains(&format!("alert: {name}")), "{name}");
        }
    }
}
