//! Alert state persistence across restarts: the active-since of pending and firing alerts is
//! written to a JSON state file (in effect Prometheus's `ALERTS_FOR_STATE` samples) and, after a
//! restart, restored with Prometheus's `RestoreForState` rules: only rules with a `for` of at
//! least the grace period, only state saved within the outage tolerance, the downtime not
//! counted as pending time, and at least the grace period left before a restored alert fires.

use super::alert::{Alert, AlertingRule};
use crate::tsdb::Labels;
use std::path::Path;

/// Prometheus's defaults for `rules.alert.for-outage-tolerance` and `for-grace-period`.
pub const OUTAGE_TOLERANCE_MS: i64 = 60 * 60 * 1000;
pub const FOR_GRACE_PERIOD_MS: i64 = 10 * 60 * 1000;

/// One entry of the state file: Prometheus's `ALERTS_FOR_STATE` sample, in effect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct SavedAlert {
    pub(super) group: String,
    pub(super) rule: String,
    labels: Vec<(String, String)>,
    /// Seconds, as `ALERTS_FOR_STATE` stores it.
    active_at_s: i64,
    /// When this was last evaluated active (ms): the sample's timestamp.
    at_ms: i64,
}

impl SavedAlert {
    /// The entry for alert `al` of rule `rule` in `group`, last evaluated at `at_ms`.
    pub(super) fn new(group: &str, rule: &str, al: &Alert, at_ms: i64) -> SavedAlert {
        SavedAlert {
            group: group.to_string(),
            rule: rule.to_string(),
            labels: al.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            active_at_s: al.active_at.div_euclid(1000),
            at_ms,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("alert state file {path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("alert state file {path}: not valid opsdeck alert state: {err}")]
    Format { path: String, err: serde_json::Error },
}

/// Write `saved` to `path` as JSON, atomically and durably (`persist::write_atomic`).
pub(super) fn write(path: &Path, saved: &[SavedAlert]) -> Result<(), StateError> {
    let body =
        serde_json::to_vec_pretty(saved).map_err(|err| StateError::Format { path: path.display().to_string(), err })?;
    crate::persist::write_atomic(path, &body).map_err(|err| StateError::Io { path: path.display().to_string(), err })
}

/// Read a state file written by `write`; `None` when there is none (first start).
pub(super) fn read(path: &Path) -> Result<Option<Vec<SavedAlert>>, StateError> {
    let body = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(StateError::Io { path: path.display().to_string(), err }),
    };
    let saved: Vec<SavedAlert> =
        serde_json::from_slice(&body).map_err(|err| StateError::Format { path: path.display().to_string(), err })?;
    Ok(Some(saved))
}

/// Restore the active-since of the rule's alerts from its saved entries at the first
/// evaluation `ts` after the restart (Prometheus's `RestoreForState`).
pub(super) fn restore_rule<X>(a: &mut AlertingRule<X>, saved: &[SavedAlert], ts: i64) {
    let hold = a.def.for_ms;
    if hold < FOR_GRACE_PERIOD_MS {
        return;
    }
    for al in a.active.values_mut() {
        let Some(s) = saved.iter().find(|s| Labels::from_pairs(s.labels.iter().map(|(k, v)| (k, v))) == al.labels)
        else {
            continue;
        };
        if s.at_ms < ts - OUTAGE_TOLERANCE_MS || s.at_ms > ts {
            continue;
        }
        let down_at = s.at_ms.div_euclid(1000) * 1000;
        let mut restored = s.active_at_s * 1000;
        let spent = down_at - restored;
        let remaining = hold - spent;
        if remaining <= 0 {
            // Was firing when we went down; the next evaluation fires it again.
        } else if remaining < FOR_GRACE_PERIOD_MS {
            restored = ts + FOR_GRACE_PERIOD_MS - hold;
        } else {
            restored += ts - down_at;
        }
        al.active_at = restored;
    }
}

#[cfg(test)]
mod tests {
    use super::super::alert::State;
    use super::super::testutil::{engine, l};
    use crate::tsdb::{Storage, StorageOptions};

    #[test]
    fn state_survives_restart() {
        let rules = "groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: x\n        for: 30m\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");
        let s = l(&[("__name__", "x")]);
        let mut st = Storage::new(StorageOptions::default());
        let mut e = engine(rules);
        for i in 0..=20 {
            st.append(&s, i * 60_000, 1.0).unwrap();
            e.eval(&mut st, i * 60_000);
        }
        e.save_state(&path).unwrap();
        // Restart 2 minutes later with an empty store.
        let mut st2 = Storage::new(StorageOptions::default());
        let mut e2 = engine(rules);
        assert_eq!(e2.restore_state(&path).unwrap(), 1);
        let t0 = 22 * 60_000;
        st2.append(&s, t0, 1.0).unwrap();
        e2.eval(&mut st2, t0);
        // Active since 0, down 2 minutes: shifted by the downtime.
        assert_eq!(e2.snapshot()[0].active_at, 2 * 60_000);
        // 8 more minutes: fires at 32m (30m of pending time, outage excluded).
        let mut fired = None;
        for i in 23..=40 {
            st2.append(&s, i * 60_000, 1.0).unwrap();
            let snap = e2.eval(&mut st2, i * 60_000);
            if fired.is_none() && snap[0].state == State::Firing {
                fired = Some(i);
            }
        }
        assert_eq!(fired, Some(32));
    }
}
