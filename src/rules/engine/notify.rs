//! Notifications: which alerts are due to be sent after an evaluation, as Prometheus's
//! `sendAlerts` decides (firing and newly resolved alerts, resent every `resend_delay`, never
//! pending ones), and what is sent (`Notification`, Prometheus's `notifier.Alert`). The engine
//! queues them; `crate::notify` delivers them.

use super::alert::{Alert, AlertingRule, State};
use crate::tsdb::Labels;

/// An alert as the notifier sends it (Prometheus's `notifier.Alert`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub labels: Labels,
    pub annotations: Vec<(String, String)>,
    pub starts_at: i64,
    pub ends_at: i64,
    /// The rule's expression; the notifier builds `generatorURL` from it.
    pub expr: String,
}

impl Alert {
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == State::Pending {
            return false;
        }
        let sent = self.last_sent_at.unwrap_or(i64::MIN);
        if self.resolved_at.is_some_and(|r| r > sent) {
            return true;
        }
        // Go's LastSentAt zero time is far in the past: always due.
        self.last_sent_at.is_none_or(|s| s + resend_delay_ms < ts)
    }
}

/// Queue into `out` the rule's alerts due at `ts`, marking them sent; an alert is valid for four
/// times the larger of the resend delay and the group interval (Prometheus's `ValidUntil`).
pub(super) fn queue_due<X>(
    a: &mut AlertingRule<X>,
    ts: i64,
    resend_ms: i64,
    interval_ms: i64,
    out: &mut Vec<Notification>,
) {
    let delta = resend_ms.max(interval_ms);
    for al in a.active.values_mut() {
        if al.needs_sending(ts, resend_ms) {
            al.last_sent_at = Some(ts);
            al.valid_until = ts + 4 * delta;
            out.push(Notification {
                labels: al.labels.clone(),
                annotations: al.annotations.clone(),
                starts_at: al.fired_at.unwrap_or(al.active_at),
                ends_at: al.resolved_at.unwrap_or(al.valid_until),
                expr: a.def.expr.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{engine, l, RULES};
    use crate::tsdb::{Storage, StorageOptions};

    #[test]
    fn notifications_follow_prometheus() {
        let mut e = engine(RULES);
        let mut st = Storage::new(StorageOptions::default());
        let s = l(&[("__name__", "temp"), ("host", "a")]);
        let mut sent = vec![];
        for i in 0..12 {
            let t = i * 30_000;
            st.append(&s, t, if i < 8 { 60.0 } else { 10.0 }).unwrap();
            e.eval_all(&mut st, t);
            for n in e.take_notifications() {
                sent.push((t, n.ends_at));
            }
        }
        // Pending (0..2m) never sent; firing at 2m, resent after 1m; keep_firing until 6m… resolved at 6m.
        assert_eq!(sent[0].0, 120_000);
        assert!(sent.iter().any(|(t, _)| *t == 210_000), "{sent:?}");
        assert!(sent.iter().all(|(t, _)| *t >= 120_000));
    }
}
