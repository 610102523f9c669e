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

/// Append one entry (fsync'd). An audit log that cannot be written is reported by the caller:
/// an action whose audit failed still says so on screen.
pub fn record(dir: &Path, e: &Entry) -> std::io::Result<()> {
    let line = serde_json::to_string(e).map_err(std::io::Error::other)?;
    crate::persist::Journal::open(&path(dir))?.append(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        for outcome in ["refused", "verified"] {
            let e = Entry {
                v: 1,
                at: 5,
                user: "alice",
                host: "bastion",
                pid: 7,
                via: "cli",
                env: "production",
                action: "deploy",
                version: Some("1.5.0"),
                outcome,
                detail: "protected: not confirmed",
                forced: false,
                op: None,
            };
            record(dir.path(), &e).unwrap();
        }
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["user"], "alice");
        assert_eq!(lines[1]["outcome"], "verified");
    }
}
