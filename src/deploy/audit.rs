//! The audit log: one JSON line per action asked of the deploy engine and its outcome, refusals
//! included, naming who (`SUDO_USER` before `USER`), from where (host, pid, cli or dashboard),
//! what and when. Shared by every operator of a bastion when `[general] shared_dir` is set.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::Millis;

#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    pub v: u32,
    pub at: Millis,
    pub user: &'a str,
    pub host: &'a str,
    pub pid: u32,
    pub via: &'a str,
    pub env: &'a str,
    /// "deploy", "rollback", "promote", "resolve", "break-lock".
    pub action: &'a str,
    pub version: Option<&'a str>,
    /// "verified", "rolled back", "rollback failed", "refused", "dry run", "started", …
    pub outcome: &'a str,
    pub detail: &'a str,
    pub forced: bool,
    pub op: Option<&'a str>,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join("audit.jsonl")
}

/// The live audit log is rotated past this size…
pub const ROTATE_BYTES: u64 = 4 << 20;
/// …and this many rotated files (`audit-<ms>-<pid>.jsonl`) are kept, so the log is bounded at
/// about 20 MiB, years of deploys every ten minutes.
pub const KEEP_ROTATED: usize = 4;

/// Append one entry (fsync'd). An audit log that cannot be written is reported by the caller:
/// an action whose audit failed still says so on screen.
pub fn record(dir: &Path, e: &Entry) -> std::io::Result<()> {
    let line = serde_json::to_string(e).map_err(std::io::Error::other)?;
    let live = path(dir);
    if std::fs::metadata(&live).is_ok_and(|m| m.len() > ROTATE_BYTES) {
        rotate(dir, &live, e.at);
    }
    crate::persist::Journal::open(&live)?.append(&line)
}

/// Move the live log aside under a name no other writer uses (a rename never mixes two files;
/// a writer still appending to the old one writes into the rotated file, losing nothing), then
/// drop the oldest rotated files beyond `KEEP_ROTATED`. Failures leave the log growing, never
/// an entry unwritten.
fn rotate(dir: &Path, live: &Path, at: Millis) {
    let aside = dir.join(format!("audit-{at:013}-{}.jsonl", std::process::id()));
    if std::fs::rename(live, &aside).is_err() {
        return;
    }
    let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
        })
        .collect();
    // Zero-padded times: the name's order is the age order.
    rotated.sort();
    let extra = rotated.len().saturating_sub(KEEP_ROTATED);
    for old in &rotated[..extra] {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(at: Millis, outcome: &'a str, detail: &'a str) -> Entry<'a> {
        Entry {
            v: 1,
            at,
            user: "alice",
            host: "bastion",
            pid: 7,
            via: "cli",
            env: "production",
            action: "deploy",
            version: Some("1.5.0"),
            outcome,
            detail,
            forced: false,
            op: None,
        }
    }

    #[test]
    fn entries_are_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        for outcome in ["refused", "verified"] {
            let e = entry(5, outcome, "protected: not confirmed");
            record(dir.path(), &e).unwrap();
        }
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["user"], "alice");
        assert_eq!(lines[1]["outcome"], "verified");
    }

    #[test]
    fn the_log_rotates_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let detail = "x".repeat(64 << 10);
        let n = (ROTATE_BYTES as usize / detail.len() + 1) * (KEEP_ROTATED + 3);
        for i in 0..n {
            let e = entry(i as Millis, "verified", &detail);
            record(dir.path(), &e).unwrap();
        }
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(files.len(), KEEP_ROTATED + 1, "{files:?}");
        let total: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
        assert!(total <= (KEEP_ROTATED as u64 + 1) * (ROTATE_BYTES + (128 << 10)), "{total}");
        // The newest entry is in the live log, and every file is whole JSON lines.
        let live = std::fs::read_to_string(path(dir.path())).unwrap();
        let last: serde_json::Value = serde_json::from_str(live.lines().last().unwrap()).unwrap();
        assert_eq!(last["at"], n as i64 - 1);
        for f in &files {
            for l in std::fs::read_to_string(f).unwrap().lines() {
                serde_json::from_str::<serde_json::Value>(l).unwrap();
            }
        }
    }
}
