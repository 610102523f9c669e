//! Runbook steps ticked by the user, per alert instance (`AlertView::key`), kept in one small
//! JSON file in the state dir (replaced atomically with `persist`) until the alert resolves, so a
//! restart in the middle of an incident keeps where on-call had got to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE: &str = "runbook_ticks.json";

/// Alert key → step id → ticked (false: unticked by the user, over the markdown's own `[x]`).
pub type Map = BTreeMap<String, BTreeMap<String, bool>>;

#[derive(Debug)]
pub struct Ticks {
    path: PathBuf,
    map: Map,
}

impl Ticks {
    /// The ticks saved in `state_dir`; an unreadable file is reported and starts empty.
    pub fn load(state_dir: &Path) -> (Ticks, Option<String>) {
        let path = state_dir.join(FILE);
        let (map, err) = match std::fs::read(&path) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(m) => (m, None),
                Err(e) => (Map::new(), Some(format!("{}: {e}; runbook ticks start empty", path.display()))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Map::new(), None),
            Err(e) => (Map::new(), Some(format!("cannot read {}: {e}", path.display()))),
        };
        (Ticks { path, map }, err)
    }

    /// The alerts that have ticks.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }

    pub fn of(&self, key: &str) -> BTreeMap<String, bool> {
        self.map.get(key).cloned().unwrap_or_default()
    }

    /// Record a tick and save; an error says what could not be written (the tick is kept in memory).
    pub fn set(&mut self, key: &str, step: &str, ticked: bool) -> Result<(), String> {
        self.map.entry(key.to_string()).or_default().insert(step.to_string(), ticked);
        self.save()
    }

    /// Drop the ticks of every alert not in `active` (resolved, or gone); saves when any went.
    pub fn retain_active<'a>(&mut self, active: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        if self.map.is_empty() {
            return Ok(());
        }
        let active: std::collections::HashSet<&str> = active.into_iter().collect();
        let before = self.map.len();
        self.map.retain(|k, _| active.contains(k.as_str()));
        if self.map.len() == before {
            return Ok(());
        }
        self.save()
    }

    fn save(&self) -> Result<(), String> {
        crate::persist::write_json(&self.path, &self.map)
            .map_err(|e| format!("cannot save {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_survive_a_restart_until_the_alert_resolves() {
        let d = tempfile::tempdir().unwrap();
        let state = d.path().join("state");
        let (mut t, err) = Ticks::load(&state);
        assert_eq!(err, None);
        t.set("HighErrorRate{env=\"staging\"}", "roll back", true).unwrap();
        t.set("HighErrorRate{env=\"staging\"}", "page the team", false).unwrap();
        t.set("ScraperFailures{}", "check the proxy", true).unwrap();

        let (mut again, _) = Ticks::load(&state);
        let ticks = again.of("HighErrorRate{env=\"staging\"}");
        assert_eq!(ticks.get("roll back"), Some(&true));
        assert_eq!(ticks.get("page the team"), Some(&false));

        again.retain_active(["HighErrorRate{env=\"staging\"}"]).unwrap();
        let (after, _) = Ticks::load(&state);
        assert!(after.of("ScraperFailures{}").is_empty(), "a resolved alert's ticks are dropped");
        assert_eq!(after.of("HighErrorRate{env=\"staging\"}").len(), 2);
    }

    #[test]
    fn a_damaged_file_is_reported_and_starts_empty() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(FILE), "{not json").unwrap();
        let (t, err) = Ticks::load(d.path());
        assert!(err.unwrap().contains("runbook ticks start empty"));
        assert!(t.of("x").is_empty());
    }
}
