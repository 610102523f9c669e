//! Writing state to disk so that a crash loses nothing that was reported as saved: whole files are
//! replaced atomically (temp file, fsync, rename, fsync of the directory), journals are appended
//! and fsync'd line by line, and everything is private to the user (files 0600, directories 0700).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// Create `dir` and its missing parents, each new one 0700 (existing ones are left as they are).
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Replace `path` with `bytes` so that a reader, or the file after a crash, holds either the old
/// content or the new, never a mix. The directory is created when missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path);
    ensure_dir(&dir)?;
    // A name of our own per write: two processes saving the same file never share a temp file.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    sweep_temps(&dir, &name);
    result
}

/// Remove temp files of `name` left by a process killed between create and rename (kill -9, a
/// power cut): without this, every such crash would leave one more file behind for ever.
fn sweep_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let f = e.file_name();
        let Some(rest) = f.to_str().and_then(|f| f.strip_prefix(&prefix)).and_then(|r| r.strip_suffix(".tmp")) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<i32>().ok()) else { continue };
        // Only a dead writer's: a live one (another opsdeck saving the same file) is mid-write.
        // SAFETY: kill with signal 0 sends nothing; it only asks whether the process exists.
        let alive = pid == std::process::id() as i32 || unsafe { libc::kill(pid, 0) } == 0;
        if !alive && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `write_atomic` of a value as pretty JSON.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    let body = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_atomic(path, &body)
}

/// An append-only file of lines (JSON lines for journals and audit logs). Each `append` reaches
/// the disk before it returns, so a record reported as written survives a crash.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Open (or create, 0600) `path` for appending; the directory is created when missing.
    pub fn open(path: &Path) -> io::Result<Journal> {
        ensure_dir(&parent(path))?;
        let existed = path.exists();
        let mut file = OpenOptions::new().append(true).create(true).mode(FILE_MODE).open(path)?;
        if !existed {
            // The new directory entry must be durable too, or the whole journal could vanish.
            sync_dir(&parent(path))?;
        } else if ends_torn(path)? {
            // A crash cut the last line short: end it, so the next record starts a line of its
            // own instead of being glued to the fragment (which readers report and skip).
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
        Ok(Journal { file, path: path.to_path_buf() })
    }

    /// Append one line (a newline is added) and fsync. One `write` call per line, so lines from
    /// two processes appending to one file never interleave within a line.
    pub fn append(&mut self, line: &str) -> io::Result<()> {
        debug_assert!(!line.contains('\n'), "a journal record is one line");
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Every complete line of a journal. A last line without its newline is a write cut short by a
/// crash: it is returned apart, for the caller to report, and never taken as a record.
pub fn read_lines(path: &Path) -> io::Result<(Vec<String>, Option<String>)> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(e),
    };
    let (complete, torn) = match text.rfind('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => ("", text.as_str()),
    };
    let lines = complete.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    Ok((lines, (!torn.is_empty()).then(|| torn.to_string())))
}

/// Whether the file is non-empty and its last byte is not a newline.
fn ends_torn(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    if f.seek(SeekFrom::End(0))? == 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn atomic_write_replaces_whole_files_privately() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/sub/x.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&d.path().join("state")), 0o700);
        // No temp file is left behind.
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("x.json")]);
    }

    #[test]
    fn journal_lines_survive_and_a_torn_tail_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal.jsonl");
        let mut j = Journal::open(&p).unwrap();
        j.append(r#"{"step":1}"#).unwrap();
        j.append(r#"{"step":2}"#).unwrap();
        drop(j);
        assert_eq!(mode(&p), 0o600);
        // Reopening appends; it never truncates.
        Journal::open(&p).unwrap().append(r#"{"step":3}"#).unwrap();
        let (lines, torn) = read_lines(&p).unwrap();
        assert_eq!(lines, [r#"{"step":1}"#, r#"{"step":2}"#, r#"{"step":3}"#]);
        assert_eq!(torn, None);
        // A crash in the middle of a write leaves a line without its newline.
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(br#"{"ste"#).unwrap();
        let (lines, torn) = read_lines(&p).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(torn.as_deref(), Some(r#"{"ste"#));
        assert_eq!(read_lines(&d.path().join("none")).unwrap(), (vec![], None));
        // The next writer ends the torn line first: its record is whole, on a line of its own.
        Journal::open(&p).unwrap().append(r#"{"step":4}"#).unwrap();
        let (lines, torn) = read_lines(&p).unwrap();
        assert_eq!(lines[3..], [r#"{"ste"#, r#"{"step":4}"#]);
        assert_eq!(torn, None);
    }

    #[test]
    fn a_dead_writers_temp_file_is_swept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        // pid 2^22+1 is above Linux's pid_max limit: never a live process.
        let stale = d.path().join(".s.json.4194305.0.tmp");
        std::fs::write(&stale, b"half").unwrap();
        write_atomic(&p, b"whole").unwrap();
        assert!(!stale.exists());
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
    }
}
