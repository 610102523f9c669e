//! Everything around one operation's flow, in the order it is checked: read-only mode, who may
//! act, which version (a promotion's or a rollback's target comes from the journal), the health
//! check before, `--dry-run`'s plan, the confirmation of a protected environment, the lock, the
//! journal's start record; then the flow, then the audit of its outcome. Every refusal is
//! audited and changes nothing else.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;

use super::audit::{self, Entry};
use super::flow::{self, Plan, Ports, Settings, Sink};
use super::gates::{self, GateReport, Gates};
use super::journal::{History, OpJournal, Rec};
use super::live::LivePorts;
use super::lock::{self, LockError};
use crate::config::{Config, Environment};
use crate::model::{Final, OpKind};

#[derive(Debug, Clone)]
pub struct Request {
    pub env: String,
    pub kind: OpKind,
    /// Deploy: the version; rollback: `--to`; promote: none (it comes from the previous stage).
    pub version: Option<String>,
    pub force: bool,
    pub dry_run: bool,
    /// The operator confirmed: typed the name of a protected environment, or `--yes`.
    pub confirmed: bool,
    /// "cli" or "dashboard", for the journal and the audit log.
    pub via: &'static str,
    pub read_only: bool,
}

#[derive(Debug, Clone)]
pub struct Done {
    pub last: Final,
    /// One line: what happened and why.
    pub summary: String,
    pub op: Option<String>,
    /// `--dry-run`'s plan, several lines.
    pub plan: Option<String>,
}

/// A request that cannot be carried out as written (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Where locks, journals and the audit log live: `[general] shared_dir`, else the state dir.
pub fn deploy_dir(cfg: &Config, state_dir: &Path) -> PathBuf {
    match cfg.general.shared_dir.as_deref() {
        Some(d) => crate::config::expand_home(d),
        None => state_dir.to_path_buf(),
    }
}

/// A version as drivers will see it: printable, no spaces, not absurdly long.
fn check_version(v: &str) -> Result<(), UsageError> {
    // A leading '-' would be read as an option once substituted into a driver's argv.
    let ok = !v.is_empty()
        && v.len() <= 128
        && !v.starts_with('-')
        && v.chars().all(|c| c.is_ascii_graphic() && c != '\'' && c != '"');
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!(
            "version {:?} must be 1-128 printable ASCII characters without spaces or quotes, not starting with -",
            crate::sanitize::line(v)
        )))
    }
}

struct Ctx<'a> {
    dir: &'a Path,
    req: &'a Request,
    user: String,
    host: String,
}

impl Ctx<'_> {
    fn audit(&self, version: Option<&str>, outcome: &str, detail: &str, op: Option<&str>) {
        let e = Entry {
            v: 1,
            at: crate::clock::wall_ms(),
            user: &self.user,
            host: &self.host,
            pid: std::process::id(),
            via: self.req.via,
            env: &self.req.env,
            action: self.req.kind.as_str(),
            version,
            outcome,
            detail,
            forced: self.req.force,
            op,
        };
        if let Err(err) = audit::record(self.dir, &e) {
            tracing::warn!("audit log {}: {err}", audit::path(self.dir).display());
        }
    }

    fn refuse(&self, version: Option<&str>, why: String) -> Done {
        let what = match version {
            Some(v) => format!("{} of {v}", self.req.kind.as_str()),
            None => self.req.kind.as_str().to_string(),
        };
        let summary = format!("{}: {what} refused: {why}; nothing was changed", self.req.env);
        self.audit(version, "refused", &why, None);
        Done { last: Final::Refused, summary, op: None, plan: None }
    }
}

/// Carry out `req` on the real world. `sink` sees the progress; `cancel` (the dashboard's)
/// turns into a rollback.
pub async fn operate(
    cfg: &Config,
    dir: &Path,
    req: Request,
    cancel: Option<watch::Receiver<bool>>,
    sink: Sink<'_>,
) -> Result<Done, UsageError> {
    let env = cfg
        .environment(&req.env)
        .ok_or_else(|| {
            let names: Vec<&str> = cfg.environments.iter().map(|e| e.name.as_str()).collect();
            UsageError(format!(
                "no environment {:?} in {} (there are: {})",
                req.env,
                cfg.path.display(),
                names.join(", ")
            ))
        })?
        .clone();
    let Some(dcfg) = env.deploy.clone() else {
        return Err(UsageError(format!("{}: no deploy configured ([[environment]] deploy = {{ … }})", env.name)));
    };
    if let Some(v) = &req.version {
        check_version(v)?;
    }
    let ctx = Ctx { dir, req: &req, user: lock::current_user(), host: lock::host() };

    // Who may act at all.
    if req.read_only && !req.dry_run {
        return Ok(ctx.refuse(
            req.version.as_deref(),
            "read-only mode (--read-only or [general] read_only): every action is refused".into(),
        ));
    }
    if let Some(why) = super::access::refusal(&ctx.user, &dcfg.allowed_users) {
        return Ok(ctx.refuse(req.version.as_deref(), why));
    }

    let mut ports = LivePorts {
        client: crate::net::client(),
        env: env.name.clone(),
        health: env.health.clone(),
        deploy: dcfg.clone(),
        gates: None,
        cancel,
        clock: crate::clock::system(),
    };
    let pre = ports.health().await;
    // Each component to a verdict, as `status` does (a pass answers at once).
    let components =
        futures::future::join_all(env.components.iter().map(|c| crate::components::verdict(&env.name, c))).await;
    let history = History::load(dir, &env.name);

    // Which version.
    let running = pre.as_ref().filter(|h| h.up).and_then(|h| h.version.clone());
    let version = match req.kind {
        OpKind::Deploy => req.version.clone().ok_or_else(|| UsageError("deploy needs a VERSION".into()))?,
        OpKind::Promote => {
            let from = env.promote_from.clone().ok_or_else(|| {
                UsageError(format!(
                    "{}: no promote_from is configured (the stage whose verified version to deploy)",
                    env.name
                ))
            })?;
            if cfg.environment(&from).is_none() {
                return Err(UsageError(format!(
                    "{}: promote_from names {from:?}, which is not an environment",
                    env.name
                )));
            }
            match History::load(dir, &from).last_verified() {
                Some(p) => p.version,
                None => return Ok(ctx.refuse(None, format!("{from} has no verified release to promote"))),
            }
        }
        OpKind::Rollback => {
            let points = history.verified();
            match &req.version {
                Some(v) if points.iter().any(|p| &p.version == v) || req.force => v.clone(),
                Some(v) => {
                    let known: Vec<&str> = points.iter().map(|p| p.version.as_str()).collect();
                    return Ok(ctx.refuse(
                        Some(v),
                        format!(
                            "{v} is not a verified rollback point of {} (points: {}); --force rolls back to it anyway",
                            env.name,
                            if known.is_empty() { "none".into() } else { known.join(", ") }
                        ),
                    ));
                }
                None => match points.iter().find(|p| Some(&p.version) != running.as_ref()) {
                    Some(p) => p.version.clone(),
                    None => {
                        let on = running.as_deref().map(|r| format!(" other than the running {r}")).unwrap_or_default();
                        return Ok(ctx.refuse(None, format!("{} has no verified rollback point{on}", env.name)));
                    }
                },
            }
        }
    };

    let gate_set = Gates::load(cfg, &dcfg.gates).map_err(|e| UsageError(format!("{}: {e}", env.name)))?;
    let settings = Settings::from_config(&dcfg);
    let scrape_every = env.scrape.iter().map(|s| s.interval).min().unwrap_or(Duration::from_secs(15));

    if req.dry_run {
        let report = if gate_set.is_empty() {
            None
        } else {
            let mut rx = gates::watch(cfg, &env, gate_set, scrape_every);
            tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|r| r.seq > 0))
                .await
                .ok()
                .and_then(|r| r.ok().map(|r| r.clone()))
        };
        let plan =
            plan_text(dir, &env, &req, &version, (pre.as_ref(), &components), &history, &settings, report.as_ref());
        ctx.audit(Some(&version), "dry run", "plan printed, nothing ran", None);
        let summary = format!("{}: dry run of {} {version}: nothing was run", env.name, req.kind.as_str());
        return Ok(Done { last: Final::DryRun, summary, op: None, plan: Some(plan) });
    }

    if env.protected && !req.confirmed {
        return Ok(ctx.refuse(
            Some(&version),
            format!("{} is protected: confirm by typing its name in the dashboard, or pass --yes", env.name),
        ));
    }

    let now = crate::clock::wall_ms();
    let what = format!("{} {version}", req.kind.as_str());
    // Off the runtime: a refusal may wait a moment for the holder to write its record.
    let (lock_dir, lock_env, lock_what) = (dir.to_path_buf(), env.name.clone(), what.clone());
    let taken = tokio::task::spawn_blocking(move || lock::try_acquire(&lock_dir, &lock_env, &lock_what, now)).await;
    let Ok(taken) = taken else {
        return Ok(ctx.refuse(Some(&version), "the lock could not be taken (its task failed)".into()));
    };
    let held = match taken {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => return Ok(ctx.refuse(Some(&version), format!("{e}; it is running now"))),
        Err(e) => return Ok(ctx.refuse(Some(&version), e.to_string())),
    };
    let op = held.record.id.clone();
    let mut journal = match OpJournal::open(dir, &env.name, op.clone(), crate::clock::system()) {
        Ok(j) => j,
        Err(e) => return Ok(ctx.refuse(Some(&version), format!("cannot open the deploy journal: {e}"))),
    };
    let budget = dcfg.timeout * 4 + settings.health_interval * (settings.health_checks * 2) + settings.bake;
    let start = Rec::Start {
        env: env.name.clone(),
        operation: req.kind,
        version: version.clone(),
        previous: pre.as_ref().and_then(|h| h.version.clone()),
        user: ctx.user.clone(),
        host: ctx.host.clone(),
        pid: std::process::id(),
        deadline: now + budget.as_millis() as i64,
        forced: req.force,
        via: req.via.into(),
    };
    if let Err(e) = journal.write(start) {
        return Ok(ctx.refuse(Some(&version), format!("cannot write the deploy journal: {e}")));
    }
    ctx.audit(Some(&version), "started", &what, Some(&op));

    if !gate_set.is_empty() && req.kind != OpKind::Rollback {
        ports.gates = Some(gates::watch(cfg, &env, gate_set, scrape_every));
    }
    let plan = Plan {
        env: env.name.clone(),
        kind: req.kind,
        version: version.clone(),
        force: req.force,
        settings,
        last_verified: history.last_verified().map(|p| p.version),
        pre,
        components,
    };
    let out = flow::execute(&mut ports, &mut journal, sink, plan).await;
    ctx.audit(Some(&version), out.last.as_str(), &out.summary, Some(&op));
    drop(held);
    Ok(Done { last: out.last, summary: out.summary, op: Some(op), plan: None })
}

/// `--dry-run`: what would happen, with the rollback point and the gates' verdicts now.
#[allow(clippy::too_many_arguments)]
fn plan_text(
    dir: &Path,
    env: &Environment,
    req: &Request,
    version: &str,
    (pre, components): (Option<&flow::HealthObs>, &[crate::model::ComponentStatus]),
    history: &History,
    s: &Settings,
    report: Option<&GateReport>,
) -> String {
    let d = env.deploy.as_ref().expect("checked by operate");
    let mut t = format!("plan: {} {version} on {}\n", req.kind.as_str(), env.name);
    let health = match pre {
        None => "no health check configured".to_string(),
        Some(h) if h.up => format!("healthy on {}", h.version.as_deref().unwrap_or("an unknown version")),
        Some(h) => format!("UNHEALTHY: {}", h.reason.as_deref().unwrap_or("down")),
    };
    t.push_str(&format!("  now:             {health}\n"));
    if !components.is_empty() {
        let words: Vec<String> = components
            .iter()
            .map(|c| match (&c.reason, c.state) {
                (Some(why), crate::model::ComponentState::Unhealthy) => format!("{} UNHEALTHY ({why})", c.name),
                _ => format!("{} {}", c.name, c.state.as_str()),
            })
            .collect();
        t.push_str(&format!("  components:      {}\n", words.join(", ")));
    }
    let lock = match lock::holder(dir, &env.name) {
        Some(h) => format!("HELD by {} on {} (pid {}, {})", h.user, h.host, h.pid, h.operation),
        None => "free".into(),
    };
    t.push_str(&format!("  lock:            {lock}\n"));
    let point = match (req.kind, history.last_verified(), pre) {
        (OpKind::Rollback, _, _) => format!("{version} is the rollback's target"),
        (_, Some(p), _) => format!("{} (verified {})", p.version, when(p.verified_at)),
        (_, None, Some(h)) if h.up => {
            format!("{} (running and healthy now; nothing verified yet)", h.version.as_deref().unwrap_or("?"))
        }
        _ => "none: a failure would need a human".into(),
    };
    t.push_str(&format!("  rollback point:  {point}\n"));
    let driver = match d.driver {
        crate::config::DeployDriver::Http => {
            let token = d.token_env.as_deref().map(|v| format!(", bearer token from ${v}")).unwrap_or_default();
            format!("http POST {}{token}", d.url.as_deref().unwrap_or("?"))
        }
        crate::config::DeployDriver::Command => {
            let vars = super::command::Vars {
                env: &env.name,
                version,
                previous: pre.and_then(|h| h.version.as_deref()).unwrap_or(""),
            };
            let argv = super::command::expand(&d.deploy, &vars);
            format!(
                "command {:?} (timeout {}s, environment: base + {})",
                argv,
                d.timeout.as_secs(),
                if d.env_allow.is_empty() { "nothing else".into() } else { d.env_allow.join(", ") }
            )
        }
    };
    t.push_str(&format!("  driver:          {}\n", crate::sanitize::line(&driver)));
    t.push_str(&format!(
        "  verify:          up to {} health checks every {}ms until healthy on {version}\n",
        s.health_checks,
        s.health_interval.as_millis()
    ));
    if req.kind != OpKind::Rollback {
        t.push_str(&format!(
            "  bake:            {}s, failure_limit {}, consecutive_error_limit {}\n",
            s.bake.as_secs(),
            s.failure_limit,
            s.consecutive_error_limit
        ));
    }
    if s.gates.is_empty() {
        t.push_str("  gates:           none (the bake checks health only)\n");
    } else {
        match report {
            None => t.push_str(&format!(
                "  gates:           {}: no answer from the metrics source yet\n",
                s.gates.join(", ")
            )),
            Some(r) => {
                t.push_str(&format!("  gates now ({} of {} targets up):\n", r.targets_up, r.targets_total));
                for v in &r.verdicts {
                    t.push_str(&format!("    {:<22} {:<12} {}\n", v.name, v.outcome.as_str(), v.detail));
                }
            }
        }
    }
    let confirm = if env.protected { "protected: needs the typed name or --yes" } else { "not protected" };
    t.push_str(&format!("  confirmation:    {confirm}\n"));
    t
}

/// A time for people, in UTC.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}
