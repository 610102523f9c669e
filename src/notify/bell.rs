//! When to ring the terminal bell (or flash): a critical alert that was not firing at the previous
//! evaluation is firing now. The view decides how to ring; this only decides when.

use crate::rules::{AlertSnapshot, State};
use std::collections::HashSet;

/// Tracks which critical alerts were firing, to report the new ones once.
#[derive(Debug, Default)]
pub struct BellTracker {
    firing: HashSet<String>,
}

impl BellTracker {
    /// Keys of critical alerts that started firing since the previous call.
    pub fn new_critical(&mut self, alerts: &[AlertSnapshot]) -> Vec<String> {
        let now: HashSet<String> = alerts
            .iter()
            .filter(|a| {
                a.state == State::Firing && a.resolved_at.is_none() && a.labels.get("severity") == Some("critical")
            })
            .map(|a| a.key())
            .collect();
        let mut new: Vec<String> = now.difference(&self.firing).cloned().collect();
        new.sort();
        self.firing = now;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::Labels;

    fn snap(name: &str, sev: &str, state: State) -> AlertSnapshot {
        AlertSnapshot {
            rule: name.into(),
            group: "g".into(),
            expr: "x".into(),
            state,
            labels: Labels::from_pairs([("alertname", name), ("severity", sev)]),
            annotations: vec![],
            value: 1.0,
            active_at: 0,
            fired_at: None,
            resolved_at: None,
            history: vec![],
        }
    }

    #[test]
    fn rings_once_per_new_critical() {
        let mut b = BellTracker::default();
        assert!(b.new_critical(&[snap("A", "critical", State::Pending)]).is_empty());
        assert_eq!(
            b.new_critical(&[snap("A", "critical", State::Firing), snap("B", "warning", State::Firing)]).len(),
            1
        );
        assert!(b.new_critical(&[snap("A", "critical", State::Firing)]).is_empty());
        assert!(b.new_critical(&[]).is_empty());
        assert_eq!(b.new_critical(&[snap("A", "critical", State::Firing)]).len(), 1);
    }
}
