//! Deploys and rollbacks on the time charts: from deploys requested here, and from version changes
//! the health checks observe, whatever tool made them.

use std::collections::HashMap;

use crate::model::{EnvHealth, Event, Marker, Millis};

#[derive(Debug, Default)]
pub(super) struct Markers {
    /// Versions last reported by each environment's health check.
    versions: HashMap<String, String>,
    markers: Vec<Marker>,
}

impl Markers {
    /// A version change seen by the health poller is a deploy as far as charts are concerned.
    /// Returns the new marker list when it changed.
    pub fn observe_version(&mut self, env: &str, health: &EnvHealth, now: Millis) -> Option<Event> {
        let v = health.version.as_deref()?;
        let prev = self.versions.insert(env.to_string(), v.to_string())?;
        if prev == v {
            return None;
        }
        // A deploy requested from the dashboard already marked this change.
        if self.markers.iter().rev().find(|m| m.env == env).is_some_and(|m| m.label == v) {
            return None;
        }
        let at = health.last_check.unwrap_or(now);
        self.markers.push(Marker { at, env: env.to_string(), label: format!("{prev} → {v}"), rollback: false });
        Some(Event::Markers(self.markers.clone()))
    }

    /// The markers read back from the deploy journals at start.
    pub fn load(&mut self, mut from_journal: Vec<Marker>) -> Event {
        from_journal.sort_by_key(|m| m.at);
        self.markers = from_journal;
        Event::Markers(self.markers.clone())
    }

    /// A deploy requested here; the view prefixes "deploy <env>", the label is what was deployed.
    pub fn deployed(&mut self, at: Millis, env: &str, version: &str) -> Event {
        let label = crate::sanitize::line(version).into_owned();
        self.markers.push(Marker { at, env: env.to_string(), label, rollback: false });
        Event::Markers(self.markers.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(version: &str, at: Millis) -> EnvHealth {
        EnvHealth { version: Some(version.into()), last_check: Some(at), ..Default::default() }
    }

    fn labels(ev: Option<Event>) -> Vec<String> {
        match ev {
            Some(Event::Markers(m)) => m.into_iter().map(|m| m.label).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn version_changes_become_markers_once() {
        let mut m = Markers::default();
        assert!(
            m.observe_version("staging", &seen("1.5.0", 1_000), 1_000).is_none(),
            "the first sighting is no change"
        );
        assert!(m.observe_version("staging", &seen("1.5.0", 2_000), 2_000).is_none());
        assert_eq!(labels(m.observe_version("staging", &seen("1.6.0", 3_000), 3_000)), ["1.5.0 → 1.6.0"]);
        // A deploy requested here marks its own change; the poller's sighting adds nothing.
        assert!(matches!(m.deployed(4_000, "staging", "1.7.0"), Event::Markers(v) if v.len() == 2));
        assert!(m.observe_version("staging", &seen("1.7.0", 5_000), 5_000).is_none());
        assert!(m.observe_version("production", &seen("1.4.1", 5_000), 5_000).is_none());
    }
}
