//! The cross-process lock of one environment (design §5): two operators on one bastion cannot
//! deploy the same environment at once. As Terraform does it, the OS lock is the authority and a
//! record beside it only informs: `flock(2)` on `locks/<env>.lock` (a killed holder frees it at
//! once, unlike Helm's `pending-upgrade` status, which stays stuck), and the holder's record (id,
//! user, host, pid, operation, since) written into the locked file for whoever is refused. Where
//! the filesystem cannot lock, acquiring fails: the engine refuses to deploy rather than run
//! unlocked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::model::Millis;

/// Who holds a lock, as its holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockRecord {
    /// Names this acquisition (for breaking a hung holder by id).
    pub id: String,
    pub env: String,
    pub operation: String,
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub since_ms: Millis,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it; its record when it could be read.
    #[error("{env} is locked{}", holder.as_ref().map(|h| format!(" by {} on {} (pid {}, {}, lock {})", h.user, h.host, h.pid, h.operation, h.id)).unwrap_or_default())]
    Held { env: String, holder: Option<Box<LockRecord>> },
    /// Locking itself failed (a filesystem without flock support, permissions): never run unlocked.
    #[error("cannot lock {path}: {err}; refusing to run unlocked")]
    Unavailable { path: String, err: std::io::Error },
}

/// A held lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct EnvLock {
    file: File,
    path: PathBuf,
    pub record: LockRecord,
}

/// The lock file of `env` under `dir` (the state dir, or `[general] shared_dir`).
pub fn lock_path(dir: &Path, env: &str) -> PathBuf {
    dir.join("locks").join(format!("{}.lock", file_stem(env)))
}

/// `env` as a file name: environment names are config-checked, but a path must never escape
/// its directory.
pub fn file_stem(env: &str) -> String {
    env.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
}

/// The operator: `SUDO_USER` (who ran sudo) before `USER`.
pub fn current_user() -> String {
    std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(login_of_uid)
        .unwrap_or_else(|| "unknown".into())
}

/// The login name of this process's uid (no `USER` in a cron job or a bare `env -i`).
fn login_of_uid() -> Option<String> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() }.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
    })
}

pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Take `env`'s lock for `operation`, without waiting: a held lock is refused at once, naming
/// its holder.
pub fn try_acquire(dir: &Path, env: &str, operation: &str, now: Millis) -> Result<EnvLock, LockError> {
    let path = lock_path(dir, env);
    let unavailable = |err| LockError::Unavailable { path: path.display().to_string(), err };
    crate::persist::ensure_dir(path.parent().expect("lock_path has a parent")).map_err(unavailable)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(unavailable)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            // The holder writes its record right after it locks: give it a moment to, so the
            // refusal can name who holds the lock.
            let mut holder = read_record(&mut file);
            for _ in 0..20 {
                if holder.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
                holder = read_record(&mut file);
            }
            return Err(LockError::Held { env: env.into(), holder: holder.map(Box::new) });
        }
        Err(TryLockError::Error(err)) => return Err(unavailable(err)),
    }
    let pid = std::process::id();
    let record = LockRecord {
        id: format!("{pid:x}-{now:x}"),
        env: env.into(),
        operation: operation.into(),
        user: current_user(),
        host: host(),
        pid,
        since_ms: now,
    };
    // The record informs only; a failure to write it leaves the lock held and the holder unnamed.
    let body = serde_json::to_vec(&record).unwrap_or_default();
    let _ = file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(&body));
    let _ = file.sync_data();
    Ok(EnvLock { file, path, record })
}

/// Who holds `env`'s lock now, if anyone (for `status` and the refusal message).
pub fn holder(dir: &Path, env: &str) -> Option<LockRecord> {
    let path = lock_path(dir, env);
    let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    match file.try_lock() {
        // Free: whatever the file says is a former holder's.
        Ok(()) => None,
        Err(_) => read_record(&mut file),
    }
}

fn read_record(file: &mut File) -> Option<LockRecord> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    let record: LockRecord = serde_json::from_str(&text).ok()?;
    // A holder killed before it released left its record; if that process is gone, the record is
    // not the current holder's (the one holding now has not written its own yet).
    let gone = record.host == host() && !Path::new(&format!("/proc/{}", record.pid)).exists();
    (!gone).then_some(record)
}

impl EnvLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for EnvLock {
    fn drop(&mut self) {
        // The record goes first, so it never names a former holder; closing releases the flock,
        // unlocking first makes it explicit.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    #[test]
    fn one_holder_at_a_time_and_the_refusal_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = try_acquire(dir.path(), "staging", "deploy 1.5.0", 1_000).unwrap();
        assert_eq!(a.record.operation, "deploy 1.5.0");
        // A second open file description: refused, as another process would be.
        match try_acquire(dir.path(), "staging", "rollback", 2_000) {
            Err(LockError::Held { env, holder: Some(h) }) => {
                assert_eq!(env, "staging");
                assert_eq!(*h, a.record);
            }
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(holder(dir.path(), "staging").as_ref(), Some(&a.record));
        // Another environment is independent.
        let b = try_acquire(dir.path(), "production", "deploy 1.4.1", 2_000).unwrap();
        drop(a);
        assert_eq!(holder(dir.path(), "staging"), None, "dropped is free, whatever the file still says");
        let again = try_acquire(dir.path(), "staging", "rollback", 3_000).unwrap();
        assert_eq!(again.record.since_ms, 3_000);
        drop(b);
    }

    #[test]
    fn a_killed_holder_frees_the_lock_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(dir.path(), "staging");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // flock(1) from util-linux holds the same kind of lock in another process (`-o`: only flock
        // itself keeps the descriptor, not the command it runs).
        let mut child = Command::new("flock")
            .arg("-o")
            .arg(&path)
            .args(["sleep", "10"])
            .stdout(Stdio::null())
            .spawn()
            .expect("flock(1) runs");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match try_acquire(dir.path(), "staging", "probe", 0) {
                Err(LockError::Held { .. }) => break,
                Ok(l) => drop(l),
                Err(e) => panic!("{e}"),
            }
            assert!(Instant::now() < deadline, "the child never took the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(matches!(try_acquire(dir.path(), "staging", "deploy", 0), Err(LockError::Held { holder: None, .. })));
        // SIGKILL, as a holder killed mid-deploy (its `sleep` does not hold the descriptor).
        child.kill().unwrap();
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match try_acquire(dir.path(), "staging", "deploy", 0) {
                Ok(_) => break,
                Err(e) => assert!(Instant::now() < deadline, "still held after the holder died: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn names_cannot_escape_the_directory() {
        let p = lock_path(Path::new("/state"), "../../etc/passwd");
        assert!(p.starts_with("/state/locks"), "{}", p.display());
    }
}
