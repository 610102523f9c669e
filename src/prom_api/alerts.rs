//! A server's own alerts (`/api/v1/alerts`) and alerting rules (`/api/v1/rules`), for
//! `[alerting] source = "server"`: shown as the server has them (state, `activeAt`, value,
//! labels, annotations), nothing re-evaluated or re-sent.

use super::{ApiError, Client};
use crate::model::{AlertState, AlertView};
use crate::sanitize;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    active_at: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct WireGroups {
    groups: Vec<WireGroup>,
}

#[derive(Deserialize)]
struct WireGroup {
    #[serde(default)]
    rules: Vec<WireRule>,
}

#[derive(Deserialize)]
struct WireRule {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default, rename = "type")]
    kind: String,
}

fn data<T: for<'de> Deserialize<'de>>(j: serde_json::Value, key: Option<&str>) -> Result<T, ApiError> {
    if j.get("status").and_then(|s| s.as_str()) == Some("error") {
        return Err(ApiError::Api {
            kind: j.get("errorType").and_then(|s| s.as_str()).unwrap_or("").to_string(),
            message: sanitize::line(j.get("error").and_then(|s| s.as_str()).unwrap_or("")).into_owned(),
        });
    }
    let mut d = j.get("data").cloned().ok_or_else(|| ApiError::Decode("no data".into()))?;
    if let Some(k) = key {
        d = d.get(k).cloned().ok_or_else(|| ApiError::Decode(format!("no data.{k}")))?;
    }
    serde_json::from_value(d).map_err(|e| ApiError::Decode(e.to_string()))
}

/// The server's alerts as the dashboard shows them; `exprs` (alert name → query, from
/// `/api/v1/rules`) fills in each one's expression.
fn to_views(alerts: Vec<WireAlert>, exprs: &HashMap<String, String>) -> Vec<AlertView> {
    alerts
        .into_iter()
        .filter_map(|a| {
            let state = match a.state.as_str() {
                "firing" => AlertState::Firing,
                "pending" => AlertState::Pending,
                _ => return None,
            };
            let clean = |m: &BTreeMap<String, String>, multi: bool| -> Vec<(String, String)> {
                m.iter()
                    .map(|(k, v)| {
                        let v = if multi { sanitize::multiline(v) } else { sanitize::line(v) };
                        (sanitize::line(k).into_owned(), v.into_owned())
                    })
                    .collect()
            };
            let labels = clean(&a.labels, false);
            let annotations = clean(&a.annotations, true);
            let get = |l: &[(String, String)], k: &str| l.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
            let name = get(&labels, "alertname").unwrap_or_default();
            let active = a
                .active_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            let key = format!(
                "server:{name}{{{}}}",
                labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(", ")
            );
            Some(AlertView {
                key,
                expr: exprs.get(&name).map(|e| sanitize::multiline(e).into_owned()).unwrap_or_default(),
                name,
                state,
                severity: get(&labels, "severity").unwrap_or_else(|| "none".into()),
                env: get(&labels, "env"),
                summary: get(&annotations, "summary").or_else(|| get(&annotations, "description")).unwrap_or_default(),
                active_since: active,
                resolved_at: None,
                value: a.value.as_deref().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
                labels,
                annotations,
                history: vec![(active, state)],
                acked: false,
                silenced_until: None,
            })
        })
        .collect()
}

impl Client {
    /// `/api/v1/alerts`, with each alert's expression from `/api/v1/rules` (best effort: a
    /// server without the rules API still shows its alerts).
    pub async fn alerts(&self) -> Result<Vec<AlertView>, ApiError> {
        let (alerts, rules) = tokio::join!(self.call_json("api/v1/alerts", &[]), self.call_json("api/v1/rules", &[]));
        let alerts: Vec<WireAlert> = data(alerts?, Some("alerts"))?;
        let exprs: HashMap<String, String> = rules
            .ok()
            .and_then(|r| data::<WireGroups>(r, None).ok())
            .map(|g| {
                g.groups
                    .into_iter()
                    .flat_map(|g| g.rules)
                    .filter(|r| r.kind == "alerting")
                    .map(|r| (r.name, r.query))
                    .collect()
            })
            .unwrap_or_default();
        Ok(to_views(alerts, &exprs))
    }

    /// Every expression at `t_ms`, at most `in_flight` at once, as `remote-rules` evaluates on
    /// them (each answer, or why not, by its source).
    pub async fn instant_all(
        &self,
        exprs: Vec<String>,
        t_ms: i64,
        in_flight: usize,
    ) -> crate::rules::engine::Prefetched {
        use futures::StreamExt;
        futures::stream::iter(exprs)
            .map(|e| async move {
                let r = self.instant_samples(&e, t_ms).await;
                (e, r)
            })
            .buffer_unordered(in_flight.max(1))
            .collect()
            .await
    }

    /// One instant query as a rule sees its result: a vector, or a scalar as one unlabelled sample.
    pub async fn instant_samples(&self, expr: &str, t_ms: i64) -> Result<Vec<(crate::tsdb::Labels, f64)>, String> {
        match self.query(expr, Some(t_ms)).await.map_err(|e| e.to_string())? {
            crate::promql::Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
            crate::promql::Value::Scalar(v) => Ok(vec![(crate::tsdb::Labels::empty(), v)]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_alerts_keep_their_state_active_at_and_labels() {
        let j: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"alerts":[
              {"labels":{"alertname":"ScraperFailures","env":"production","severity":"warning"},
               "annotations":{"summary":"s\u001b[2J"},"state":"firing","activeAt":"2026-12-03T10:00:01.5Z","value":"3e+00"},
              {"labels":{"alertname":"Gone"},"state":"inactive"}]}}"#,
        )
        .unwrap();
        let exprs = HashMap::from([("ScraperFailures".to_string(), "x > 0".to_string())]);
        let v = to_views(data(j, Some("alerts")).unwrap(), &exprs);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].state, AlertState::Firing);
        assert_eq!(v[0].active_since, 1_796_292_001_500);
        assert_eq!(v[0].value, 3.0);
        assert_eq!(v[0].env.as_deref(), Some("production"));
        assert_eq!(v[0].expr, "x > 0");
        assert!(!v[0].summary.contains('\x1b'));
    }
}
