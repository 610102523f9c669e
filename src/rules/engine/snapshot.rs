//! Read-only views of alerts (`AlertSnapshot`) for the dashboard, `opsdeck status` and the
//! notifier, and their conversion to the view's `AlertView` (every string sanitized there, since
//! labels and annotations come from scraped data and templates).

use super::alert::{Alert, AlertingRule, State};
use crate::model::{AlertState, AlertView};
use crate::tsdb::Labels;

/// A read-only view of one alert for the dashboard, `status` and the notifier.
#[derive(Debug, Clone)]
pub struct AlertSnapshot {
    pub rule: String,
    pub group: String,
    pub expr: String,
    pub state: State,
    pub labels: Labels,
    pub annotations: Vec<(String, String)>,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub history: Vec<(i64, AlertState)>,
}

impl AlertSnapshot {
    /// The view's stable key: rule name and label set.
    pub fn key(&self) -> String {
        format!("{}{}", self.rule, self.labels)
    }

    /// Convert for the dashboard; every string goes through `sanitize`.
    pub fn to_view(&self) -> AlertView {
        use crate::sanitize;
        let state = match (self.state, self.resolved_at) {
            (_, Some(_)) | (State::Inactive, _) => AlertState::Resolved,
            (State::Pending, _) => AlertState::Pending,
            (State::Firing, _) => AlertState::Firing,
        };
        let ann = |k: &str| self.annotations.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        AlertView {
            key: sanitize::line(&self.key()).into_owned(),
            name: sanitize::line(&self.rule).into_owned(),
            state,
            severity: sanitize::line(self.labels.get("severity").unwrap_or("none")).into_owned(),
            env: self.labels.get("env").map(|e| sanitize::line(e).into_owned()),
            summary: sanitize::line(ann("summary").or(ann("description")).unwrap_or("")).into_owned(),
            active_since: self.active_at,
            resolved_at: self.resolved_at,
            value: self.value,
            expr: sanitize::multiline(&self.expr).into_owned(),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| (sanitize::line(k).into_owned(), sanitize::line(v).into_owned()))
                .collect(),
            annotations: self
                .annotations
                .iter()
                .map(|(k, v)| (sanitize::line(k).into_owned(), sanitize::multiline(v).into_owned()))
                .collect(),
            history: self.history.clone(),
            acked: false,
            silenced_until: None,
        }
    }
}

impl AlertSnapshot {
    /// The snapshot of alert `al` of rule `a` in group `group`.
    pub(super) fn of<X>(group: &str, a: &AlertingRule<X>, al: &Alert) -> AlertSnapshot {
        AlertSnapshot {
            rule: a.def.name.clone(),
            group: group.to_string(),
            expr: a.def.expr.clone(),
            state: al.state,
            labels: al.labels.clone(),
            annotations: al.annotations.clone(),
            value: al.value,
            active_at: al.active_at,
            fired_at: al.fired_at,
            resolved_at: al.resolved_at,
            history: al.history.clone(),
        }
    }
}
