//! Acknowledgements and silences from the keyboard, kept in the state dir so they survive a
//! restart. Keyed by the alert's identity (rule name and label set).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::model::Millis;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Acks {
    #[serde(default)]
    acked: BTreeSet<String>,
    #[serde(default)]
    silenced_until: BTreeMap<String, Millis>,
}

impl Acks {
    const FILE: &'static str = "acks.json";

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(Self::FILE)
    }

    /// A missing file is no acks; an unreadable one is reported and treated as none.
    pub fn load(dir: &Path) -> (Acks, Option<String>) {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Acks::default(), None),
            Err(e) => (Acks::default(), Some(format!("cannot read {}: {e}", path.display()))),
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(a) => (a, None),
                Err(e) => (Acks::default(), Some(format!("{} is not valid ({e}); acks start empty", path.display()))),
            },
        }
    }

    /// Atomically replaced, so a crash never leaves half a file.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        crate::persist::write_json(&Self::path(dir), self)
            .map_err(|e| format!("cannot save acks in {}: {e}", dir.display()))
    }

    pub fn set_ack(&mut self, key: &str, acked: bool) {
        if acked {
            self.acked.insert(key.to_string());
        } else {
            self.acked.remove(key);
        }
    }

    pub fn silence(&mut self, key: &str, until: Millis) {
        self.silenced_until.insert(key.to_string(), until);
    }

    pub fn acked(&self, key: &str) -> bool {
        self.acked.contains(key)
    }

    /// The silence's end, if it has not passed by `now`.
    pub fn silenced_until(&self, key: &str, now: Millis) -> Option<Millis> {
        self.silenced_until.get(key).copied().filter(|u| *u > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Acks::default();
        a.set_ack("HighErrorRate{env=\"production\"}", true);
        a.silence("X{}", 42);
        a.save(dir.path()).unwrap();
        let (b, err) = Acks::load(dir.path());
        assert_eq!(err, None);
        assert!(b.acked("HighErrorRate{env=\"production\"}"));
        assert_eq!(b.silenced_until("X{}", 41), Some(42));
        assert_eq!(b.silenced_until("X{}", 42), None, "a silence is over at its end");
        assert!(!b.acked("other"));
    }

    #[test]
    fn a_corrupt_file_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Acks::path(dir.path()), "{not json").unwrap();
        let (a, err) = Acks::load(dir.path());
        assert!(!a.acked("x"));
        assert!(err.unwrap().contains("acks.json is not valid"));
    }
}
