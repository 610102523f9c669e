//! The deploy journal: one JSON line per step of every operation on an environment, appended and
//! fsync'd before the next step starts (`persist::Journal`), so a crash at any point leaves a
//! journal that says how far the operation got. History, rollback points and interrupted
//! operations are all read back from it; there is no second copy of the state that could
//! disagree with it (Helm's revision record doubling as a lock is the trap avoided here).
//!
//! Format version 1: every line is `{"v":1,"op":ID,"at":MS,"kind":…}` with the fields of its kind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{CheckOutcome, Final, GateVerdict, Interrupted, Millis, OpKind, Phase};

pub const FORMAT: u32 = 1;
/// Driver output lines kept per operation when history is read back.
const OUTPUT_KEPT: usize = 200;
/// A journal past this size is compacted when the next operation opens it.
pub const COMPACT_BYTES: u64 = 1 << 20;
/// Operations a compaction keeps besides the verified rollback points: far more than history
/// shows, and a deploy every ten minutes fills 1 MiB only after days.
const COMPACT_KEEP_OPS: usize = 100;
/// Verified releases (one operation each) a compaction keeps as rollback points.
const COMPACT_KEEP_POINTS: usize = 50;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub v: u32,
    pub op: String,
    pub at: Millis,
    #[serde(flatten)]
    pub rec: Rec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Rec {
    /// An operation begins (its lock is held).
    Start {
        env: String,
        operation: OpKind,
        version: String,
        /// What ran when it began, if known.
        previous: Option<String>,
        user: String,
        host: String,
        pid: u32,
        /// When the operation will be over at the latest (driver, checks, bake and rollback).
        deadline: Millis,
        forced: bool,
        via: String,
    },
    /// The rollback point chosen; `basis` is "verified" (a verified release) or "baseline" (what
    /// ran and was healthy at the pre-check, when nothing had been verified yet).
    Point {
        version: String,
        basis: String,
    },
    Step {
        phase: Phase,
        detail: String,
    },
    Output {
        stream: String,
        line: String,
    },
    Check {
        phase: Phase,
        n: u32,
        outcome: CheckOutcome,
        detail: String,
    },
    Gates {
        phase: Phase,
        verdicts: Vec<GateVerdict>,
    },
    /// The operation's last record. `running` is what runs afterwards, as far as it was verified.
    End {
        outcome: Final,
        running: Option<String>,
        detail: String,
    },
    /// An interrupted operation was dealt with: "verified", "rolled back" or "marked resolved".
    Resolve {
        how: String,
        user: String,
    },
}

/// The journal file of `env` under the deploy directory.
pub fn path(dir: &Path, env: &str) -> PathBuf {
    dir.join("journal").join(format!("{}.jsonl", super::lock::file_stem(env)))
}

/// An operation's writer: each record is one fsync'd line.
pub struct OpJournal {
    file: crate::persist::Journal,
    pub op: String,
    clock: crate::clock::SharedClock,
}

impl OpJournal {
    /// Open `env`'s journal for a new operation (its lock is held, so no other writer is
    /// appending), compacting it first when it has grown past `COMPACT_BYTES`.
    pub fn open(dir: &Path, env: &str, op: String, clock: crate::clock::SharedClock) -> std::io::Result<OpJournal> {
        let p = path(dir, env);
        if std::fs::metadata(&p).is_ok_and(|m| m.len() > COMPACT_BYTES) {
            compact(&p)?;
        }
        Ok(OpJournal { file: crate::persist::Journal::open(&p)?, op, clock })
    }

    pub fn write(&mut self, rec: Rec) -> std::io::Result<()> {
        let line = Line { v: FORMAT, op: self.op.clone(), at: self.clock.now(), rec };
        let text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
        self.file.append(&text)
    }
}

/// Rewrite a journal with only the lines of its last `COMPACT_KEEP_OPS` operations and of the
/// operations that verified its newest `COMPACT_KEEP_POINTS` rollback points, in their order,
/// atomically (a crash leaves the old journal or the new one). Unreadable lines were reported
/// every time history was read; they are not carried on.
pub fn compact(p: &Path) -> std::io::Result<()> {
    let (lines, _torn) = crate::persist::read_lines(p)?;
    let parsed: Vec<(String, Option<Line>)> = lines
        .into_iter()
        .map(|t| {
            let l = serde_json::from_str::<Line>(&t).ok();
            (t, l)
        })
        .collect();
    let mut h = History::default();
    let mut order: Vec<&str> = Vec::new();
    for (_, l) in &parsed {
        let Some(l) = l.as_ref().filter(|l| l.v == FORMAT) else { continue };
        if matches!(l.rec, Rec::Start { .. }) {
            order.push(&l.op);
        }
        h.fold(l.clone());
    }
    let mut keep: std::collections::HashSet<&str> = order.iter().rev().take(COMPACT_KEEP_OPS).copied().collect();
    let points = h.points(COMPACT_KEEP_POINTS);
    keep.extend(points.iter().map(|pt| pt.op.as_str()));
    let mut out = String::new();
    for (text, l) in &parsed {
        if l.as_ref().is_some_and(|l| keep.contains(l.op.as_str())) {
            out.push_str(text);
            out.push('\n');
        }
    }
    crate::persist::write_atomic(p, out.as_bytes())
}

/// One operation as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    pub id: String,
    pub env: String,
    pub operation: OpKind,
    pub version: String,
    pub previous: Option<String>,
    pub rollback_point: Option<String>,
    pub rollback_point_basis: Option<String>,
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub started: Millis,
    pub ended: Option<Millis>,
    pub duration_ms: Option<Millis>,
    pub deadline: Millis,
    pub forced: bool,
    pub via: String,
    /// "verified", "rolled back", "rollback failed", "refused", "running" or "interrupted".
    pub outcome: String,
    pub interrupted: bool,
    pub detail: String,
    /// What runs after it, as far as it was verified.
    pub running: Option<String>,
    /// The step its last record reached.
    pub reached: String,
    pub resolved: Option<String>,
    pub checks: u32,
    pub output: Vec<String>,
    #[serde(skip)]
    pub last: Option<Final>,
}

/// A verified release: where a rollback can go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    pub version: String,
    pub verified_at: Millis,
    pub op: String,
}

/// An environment's journal, read back.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub env: String,
    pub operations: Vec<Operation>,
    /// Lines that could not be read (a torn last line after a crash, a corrupt one), in words.
    pub problems: Vec<String>,
}

impl History {
    /// Read `env`'s journal. A missing journal is an empty history; unreadable lines are skipped
    /// and reported, never fatal. An operation without its final record is "running" while its
    /// owner still holds the lock, "interrupted" otherwise.
    pub fn load(dir: &Path, env: &str) -> History {
        let p = path(dir, env);
        let mut h = History { env: env.to_string(), ..History::default() };
        let (lines, torn) = match crate::persist::read_lines(&p) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return h,
            Err(e) => {
                h.problems.push(format!("{}: cannot read: {e}", p.display()));
                return h;
            }
        };
        if torn.is_some() {
            h.problems.push(format!(
                "{}: the last line is truncated (a write cut short by a crash); it was skipped",
                p.display()
            ));
        }
        for (i, text) in lines.iter().enumerate() {
            match serde_json::from_str::<Line>(text) {
                Ok(l) if l.v == FORMAT => h.fold(l),
                Ok(l) => {
                    h.problems.push(format!("{}:{}: journal format {} is not known; skipped", p.display(), i + 1, l.v))
                }
                Err(e) => h.problems.push(format!("{}:{}: not a journal record ({e}); skipped", p.display(), i + 1)),
            }
        }
        let holder = super::lock::holder(dir, env);
        for o in h.operations.iter_mut().filter(|o| o.last.is_none()) {
            let running = holder.as_ref().is_some_and(|l| l.pid == o.pid && l.host == o.host);
            o.outcome = if running { "running" } else { "interrupted" }.into();
            o.interrupted = !running;
        }
        h
    }

    fn fold(&mut self, l: Line) {
        if let Rec::Start { env, operation, version, previous, user, host, pid, deadline, forced, via } = l.rec {
            self.operations.push(Operation {
                id: l.op,
                env,
                operation,
                version,
                previous,
                rollback_point: None,
                rollback_point_basis: None,
                user,
                host,
                pid,
                started: l.at,
                ended: None,
                duration_ms: None,
                deadline,
                forced,
                via,
                outcome: "running".into(),
                interrupted: false,
                detail: String::new(),
                running: None,
                reached: "start".into(),
                resolved: None,
                checks: 0,
                output: Vec::new(),
                last: None,
            });
            return;
        }
        let Some(o) = self.operations.iter_mut().rev().find(|o| o.id == l.op) else { return };
        match l.rec {
            Rec::Start { .. } => {}
            Rec::Point { version, basis } => {
                o.rollback_point = Some(version);
                o.rollback_point_basis = Some(basis);
            }
            Rec::Step { phase, detail } => {
                o.reached = phase.as_str().into();
                o.detail = detail;
            }
            Rec::Output { line, .. } => {
                if o.output.len() < OUTPUT_KEPT {
                    o.output.push(line);
                }
            }
            Rec::Check { phase, .. } | Rec::Gates { phase, .. } => {
                o.checks += 1;
                o.reached = phase.as_str().into();
            }
            Rec::End { outcome, running, detail } => {
                o.last = Some(outcome);
                o.outcome = outcome.as_str().into();
                o.ended = Some(l.at);
                o.duration_ms = Some(l.at - o.started);
                o.running = running;
                o.detail = detail;
                o.reached = Phase::Done.as_str().into();
            }
            Rec::Resolve { how, user } => o.resolved = Some(format!("{how} by {user}")),
        }
    }

    /// Verified releases, newest first, one per version (its latest verification). A rollback
    /// that was verified re-verifies its point.
    pub fn verified(&self) -> Vec<Point> {
        let mut out: Vec<Point> = Vec::new();
        for o in self.operations.iter().rev() {
            let ended_good = matches!(o.last, Some(Final::Verified | Final::RolledBack));
            // An interrupted operation found healthy on its version afterwards was verified then.
            let found_good = o.resolved.as_deref().is_some_and(|r| r.starts_with("verified"));
            let v = match (ended_good, found_good) {
                (true, _) => o.running.clone(),
                (false, true) => Some(o.version.clone()),
                _ => None,
            };
            let Some(v) = v else { continue };
            if !out.iter().any(|p| p.version == v) {
                out.push(Point { version: v, verified_at: o.ended.unwrap_or(o.started), op: o.id.clone() });
            }
        }
        out
    }

    /// The rollback points kept: the last `keep` verified releases (never fewer than one when
    /// any exists: pruning never drops the last verified-good point).
    pub fn points(&self, keep: usize) -> Vec<Point> {
        let mut v = self.verified();
        v.truncate(keep.max(1));
        v
    }

    pub fn last_verified(&self) -> Option<Point> {
        self.verified().into_iter().next()
    }

    /// The newest operation still waiting for a decision: interrupted, not resolved, and not
    /// superseded by a later operation that ended.
    pub fn needs_attention(&self) -> Option<&Operation> {
        let last = self.operations.last()?;
        (last.interrupted && last.resolved.is_none()).then_some(last)
    }

    pub fn interrupted(&self) -> Option<Interrupted> {
        self.needs_attention().map(|o| Interrupted {
            id: o.id.clone(),
            env: o.env.clone(),
            kind: o.operation,
            version: o.version.clone(),
            rollback_point: o.rollback_point.clone(),
            user: o.user.clone(),
            started: o.started,
            reached: o.reached.clone(),
        })
    }

    /// The operation with this id (for resolving it).
    pub fn find(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }
}

/// Append a resolution of an interrupted operation, under its environment's lock.
pub fn resolve(dir: &Path, env: &str, op: &str, how: &str, user: &str, now: Millis) -> std::io::Result<()> {
    let mut j = crate::persist::Journal::open(&path(dir, env))?;
    let line = Line { v: FORMAT, op: op.into(), at: now, rec: Rec::Resolve { how: how.into(), user: user.into() } };
    j.append(&serde_json::to_string(&line).map_err(std::io::Error::other)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn start(j: &mut OpJournal, version: &str) {
        j.write(Rec::Start {
            env: "staging".into(),
            operation: OpKind::Deploy,
            version: version.into(),
            previous: Some("1.4.0".into()),
            user: "alice".into(),
            host: "bastion".into(),
            // A pid that is not ours: the lock is not held, so an unfinished op is interrupted.
            pid: u32::MAX,
            deadline: 9_999,
            forced: false,
            via: "cli".into(),
        })
        .unwrap();
    }

    #[test]
    fn history_points_and_interruptions_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at(1_000);
        let mut a = OpJournal::open(dir.path(), "staging", "a".into(), clock.shared()).unwrap();
        start(&mut a, "1.5.0");
        a.write(Rec::Point { version: "1.4.0".into(), basis: "baseline".into() }).unwrap();
        clock.advance(500);
        a.write(Rec::End { outcome: Final::Verified, running: Some("1.5.0".into()), detail: "ok".into() }).unwrap();
        let mut b = OpJournal::open(dir.path(), "staging", "b".into(), clock.shared()).unwrap();
        start(&mut b, "1.6.0-bad");
        b.write(Rec::End { outcome: Final::RolledBack, running: Some("1.5.0".into()), detail: "503".into() }).unwrap();
        let mut c = OpJournal::open(dir.path(), "staging", "c".into(), clock.shared()).unwrap();
        start(&mut c, "1.6.0");
        c.write(Rec::Step { phase: Phase::Verify, detail: "checking".into() }).unwrap();

        let h = History::load(dir.path(), "staging");
        assert!(h.problems.is_empty(), "{:?}", h.problems);
        let outcomes: Vec<&str> = h.operations.iter().map(|o| o.outcome.as_str()).collect();
        assert_eq!(outcomes, ["verified", "rolled back", "interrupted"]);
        assert_eq!(h.operations[0].duration_ms, Some(500));
        assert_eq!(h.operations[0].rollback_point.as_deref(), Some("1.4.0"));
        assert_eq!(h.last_verified().unwrap().version, "1.5.0");
        assert_eq!(h.verified().len(), 1, "one point per version");
        let i = h.interrupted().unwrap();
        assert_eq!((i.id.as_str(), i.reached.as_str()), ("c", "verify"));

        resolve(dir.path(), "staging", "c", "marked resolved", "bob", 3_000).unwrap();
        let h = History::load(dir.path(), "staging");
        assert!(h.needs_attention().is_none());
        assert_eq!(h.operations[2].resolved.as_deref(), Some("marked resolved by bob"));
    }

    #[test]
    fn a_torn_or_corrupt_line_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at(1_000);
        let mut a = OpJournal::open(dir.path(), "dev", "a".into(), clock.shared()).unwrap();
        start(&mut a, "1.5.0");
        a.write(Rec::End { outcome: Final::Verified, running: Some("1.5.0".into()), detail: String::new() }).unwrap();
        drop(a);
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(path(dir.path(), "dev")).unwrap();
        f.write_all(b"garbage\n{\"v\":1,\"op\":\"b\",\"at\":5,\"kind\":\"sta").unwrap();
        let h = History::load(dir.path(), "dev");
        assert_eq!(h.operations.len(), 1);
        assert_eq!(h.problems.len(), 2, "{:?}", h.problems);
        assert!(h.problems.iter().any(|p| p.contains("truncated")), "{:?}", h.problems);
        assert_eq!(h.last_verified().unwrap().version, "1.5.0");
    }

    #[test]
    fn a_big_journal_is_compacted_keeping_recent_operations_and_the_verified_point() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::at(1_000);
        // One verified release, then failures only: the point must survive any compaction.
        let mut ops = 0;
        while std::fs::metadata(path(dir.path(), "prod")).map_or(0, |m| m.len()) <= COMPACT_BYTES {
            let mut j = OpJournal::open(dir.path(), "prod", format!("op{ops}"), clock.shared()).unwrap();
            start(&mut j, &format!("2.{ops}.0"));
            for n in 0..40 {
                j.write(Rec::Output { stream: "stdout".into(), line: format!("deploying step {n} of the release") })
                    .unwrap();
            }
            let (outcome, running) =
                if ops == 0 { (Final::Verified, Some("2.0.0".into())) } else { (Final::RollbackFailed, None) };
            j.write(Rec::End { outcome, running, detail: String::new() }).unwrap();
            ops += 1;
            clock.advance(600_000);
        }
        let before = History::load(dir.path(), "prod");
        assert_eq!(before.operations.len(), ops);
        // The next operation compacts first.
        let mut j = OpJournal::open(dir.path(), "prod", "next".into(), clock.shared()).unwrap();
        start(&mut j, "3.0.0");
        drop(j);
        let size = std::fs::metadata(path(dir.path(), "prod")).unwrap().len();
        assert!(size < COMPACT_BYTES / 2, "{size} bytes after compaction of {ops} operations");
        let after = History::load(dir.path(), "prod");
        assert!(after.problems.is_empty(), "{:?}", after.problems);
        assert_eq!(after.operations.len(), COMPACT_KEEP_OPS + 2, "the kept operations, the point's, the new one");
        assert_eq!(after.last_verified().unwrap().version, "2.0.0");
        assert_eq!(after.operations.last().unwrap().id, "next");
        assert_eq!(after.operations[1].id, format!("op{}", ops - COMPACT_KEEP_OPS));
    }

    #[test]
    fn points_keep_the_last_verified_even_with_keep_zero() {
        let mut h = History::default();
        for (i, v) in ["1.3.0", "1.4.0", "1.5.0", "1.4.0"].iter().enumerate() {
            h.fold(Line {
                v: 1,
                op: format!("o{i}"),
                at: i as i64,
                rec: Rec::Start {
                    env: "e".into(),
                    operation: OpKind::Deploy,
                    version: v.to_string(),
                    previous: None,
                    user: "u".into(),
                    host: "h".into(),
                    pid: 1,
                    deadline: 0,
                    forced: false,
                    via: "cli".into(),
                },
            });
            h.fold(Line {
                v: 1,
                op: format!("o{i}"),
                at: i as i64,
                rec: Rec::End { outcome: Final::Verified, running: Some(v.to_string()), detail: String::new() },
            });
        }
        let versions = |ps: Vec<Point>| ps.into_iter().map(|p| p.version).collect::<Vec<_>>();
        assert_eq!(versions(h.points(2)), ["1.4.0", "1.5.0"]);
        assert_eq!(versions(h.points(0)), ["1.4.0"]);
        assert_eq!(versions(h.verified()), ["1.4.0", "1.5.0", "1.3.0"]);
    }
}
