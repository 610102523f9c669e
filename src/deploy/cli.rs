//! The headless commands: `deploy`, `rollback`, `promote` (progress on stderr, one summary line
//! on stdout, the exit codes of design §5) and `history`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::flow::Said;
use super::journal::History;
use super::operate::{self, Request};
use crate::config::Config;
use crate::model::{DeployProgress, Final, OpKind};

pub struct Args {
    pub env: String,
    pub kind: OpKind,
    pub version: Option<String>,
    pub yes: bool,
    pub dry_run: bool,
    pub force: bool,
    pub read_only: bool,
}

/// Run one operation headless; returns the exit code.
pub async fn run(cfg: &Config, state_dir: &Path, a: Args) -> i32 {
    let dir = operate::deploy_dir(cfg, state_dir);
    let Some(env) = cfg.environment(&a.env) else {
        eprintln!("opsdeck: no environment {:?} in {}", crate::sanitize::line(&a.env), cfg.path.display());
        return crate::exit::USAGE;
    };
    // A protected environment needs its typed name; without a terminal only --yes confirms.
    let mut confirmed = a.yes;
    if !a.yes && !a.dry_run && !a.read_only && std::io::stdin().is_terminal() {
        let what = match (&a.kind, &a.version) {
            (OpKind::Deploy, Some(v)) => format!("deploy {v} to {}", env.name),
            (OpKind::Rollback, Some(v)) => format!("roll {} back to {v}", env.name),
            (k, _) => format!("{} {}", k.as_str(), env.name),
        };
        confirmed = if env.protected {
            ask(&format!("{} is protected. Type its name to {what}: ", env.name)).as_deref() == Some(env.name.as_str())
        } else {
            matches!(ask(&format!("{what}? [y/N] ")).as_deref(), Some("y" | "Y" | "yes"))
        };
        if !confirmed {
            eprintln!("opsdeck: not confirmed; nothing was changed");
            audit_refusal(&dir, &a, &env.name, "not confirmed at the prompt");
            return Final::Refused.exit_code();
        }
    } else if !env.protected {
        // Without a terminal, an unprotected environment needs no confirmation (scripts).
        confirmed = true;
    }
    let req = Request {
        env: a.env.clone(),
        kind: a.kind,
        version: a.version.clone(),
        force: a.force,
        dry_run: a.dry_run,
        confirmed,
        via: "cli",
        read_only: a.read_only || cfg.general.read_only,
    };
    let mut last_msg = String::new();
    let mut sink = |p: &DeployProgress, said: Said| {
        let line = match said {
            Said::Output(l) => format!("[{}]   | {l}", p.env),
            Said::Message if p.message != last_msg && p.last.is_none() => {
                last_msg = p.message.clone();
                format!("[{}] {}", p.env, p.message)
            }
            Said::Message => return,
        };
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    match operate::operate(cfg, &dir, req, None, &mut sink).await {
        Ok(done) => {
            if let Some(plan) = &done.plan {
                print!("{plan}");
            }
            let code = done.last.exit_code();
            println!("{} (exit {code})", done.summary);
            code
        }
        Err(e) => {
            eprintln!("opsdeck: {e}");
            crate::exit::USAGE
        }
    }
}

/// Audit a refusal made here, before the engine is asked.
fn audit_refusal(dir: &Path, a: &Args, env: &str, why: &str) {
    let (user, host) = (super::lock::current_user(), super::lock::host());
    let e = super::audit::Entry {
        v: 1,
        at: crate::clock::wall_ms(),
        user: &user,
        host: &host,
        pid: std::process::id(),
        via: "cli",
        env,
        action: a.kind.as_str(),
        version: a.version.as_deref(),
        outcome: "refused",
        detail: why,
        forced: a.force,
        op: None,
    };
    let _ = super::audit::record(dir, &e);
}

fn ask(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_string())
}

/// `opsdeck history ENV [--json]`.
pub fn history(cfg: &Config, state_dir: &Path, env: &str, json: bool) -> i32 {
    let Some(e) = cfg.environment(env) else {
        eprintln!("opsdeck: no environment {:?} in {}", crate::sanitize::line(env), cfg.path.display());
        return crate::exit::USAGE;
    };
    let dir = operate::deploy_dir(cfg, state_dir);
    let h = History::load(&dir, &e.name);
    let keep = e.deploy.as_ref().map(|d| d.keep_last).unwrap_or(3);
    for p in &h.problems {
        eprintln!("opsdeck: warning: {p}");
    }
    if json {
        let doc = serde_json::json!({
            "env": e.name,
            "operations": h.operations,
            "rollback_points": h.points(keep),
            "interrupted": h.interrupted(),
            "problems": h.problems,
        });
        println!("{}", crate::sanitize::json(&doc, true));
        return crate::exit::OK;
    }
    print!("{}", table(&h, keep));
    crate::exit::OK
}

fn table(h: &History, keep: usize) -> String {
    let mut t = format!("{}: {} operations\n", h.env, h.operations.len());
    if !h.operations.is_empty() {
        t.push_str(&format!(
            "{:<23}  {:<8}  {:<14}  {:<16}  {:>7}  {:<10}  DETAIL\n",
            "STARTED", "ACTION", "VERSION", "OUTCOME", "TOOK", "WHO"
        ));
    }
    for o in &h.operations {
        let took = o.duration_ms.map(|d| format!("{:.0}s", d as f64 / 1000.0)).unwrap_or_else(|| "-".into());
        let mut outcome = o.outcome.clone();
        if o.forced {
            outcome.push_str(" (forced)");
        }
        let detail = match &o.resolved {
            Some(r) => format!("resolved: {r}"),
            None => o.detail.clone(),
        };
        let row = format!(
            "{:<23}  {:<8}  {:<14}  {:<16}  {:>7}  {:<10}  {}",
            super::operate::when(o.started),
            o.operation.as_str(),
            o.version,
            outcome,
            took,
            o.user,
            detail
        );
        t.push_str(crate::sanitize::line(row.trim_end()).as_ref());
        t.push('\n');
    }
    let points = h.points(keep);
    if points.is_empty() {
        t.push_str("rollback points: none verified yet\n");
    } else {
        let list: Vec<String> =
            points.iter().map(|p| format!("{} ({})", p.version, super::operate::when(p.verified_at))).collect();
        t.push_str(&format!("rollback points (newest first, keep_last {keep}): {}\n", list.join(", ")));
    }
    if let Some(i) = h.interrupted() {
        t.push_str(&format!(
            "INTERRUPTED: {} of {} by {} (op {}) stopped at {}: verify it, roll back (`opsdeck rollback {}`), or mark it resolved in the dashboard\n",
            i.kind.as_str(),
            i.version,
            i.user,
            i.id,
            i.reached,
            h.env
        ));
    }
    t
}
