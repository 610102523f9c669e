//! Alertmanager as a source (API v2): its alert groups and silences read, silences created and
//! expired. Delivery to Alertmanager is `notify`'s; this is the other direction, what the team's
//! Alertmanagers know. Several Alertmanagers are merged: alerts de-duplicated by fingerprint,
//! each tagged with where it came from. Every remote string goes through `sanitize` here, once.
//!
//! - `matchers`: the silence matcher syntax (`name="v"`, `!=`, `=~`, `!~`) and matching.

pub mod matchers;

use crate::model::{AmAlert, AmGroup, AmSilence, AmSnapshot, MatchOp, Matcher, Millis};
use crate::sanitize::line;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Largest answer read from an Alertmanager.
const MAX_BODY: usize = 16 << 20;
/// One request's bound: a dead Alertmanager only makes its part of the view stale.
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct WireGroup {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    receiver: Option<WireReceiver>,
    #[serde(default)]
    alerts: Vec<WireAlert>,
}

#[derive(Deserialize)]
struct WireReceiver {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    status: WireStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireStatus {
    #[serde(default)]
    state: String,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSilence {
    id: String,
    #[serde(default)]
    matchers: Vec<WireMatcher>,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    status: WireStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMatcher {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

fn ms(s: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis()).unwrap_or(0)
}

fn clean(m: BTreeMap<String, String>) -> Vec<(String, String)> {
    m.into_iter().map(|(k, v)| (line(&k).into_owned(), line(&v).into_owned())).collect()
}

/// What one Alertmanager answered.
#[derive(Debug, Default)]
pub struct Answer {
    pub groups: Vec<(AmGroup, Vec<AmAlert>)>,
    pub silences: Vec<AmSilence>,
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let resp = client.get(url).timeout(TIMEOUT).send().await.map_err(|e| crate::net::classify(&e))?;
    let status = resp.status();
    let body = crate::net::read_body(resp, MAX_BODY).await.map_err(|e| crate::net::classify(&e))?;
    if body.over_limit {
        return Err(format!("answer larger than {MAX_BODY} bytes"));
    }
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    Ok(body.bytes)
}

fn base(am: &str) -> &str {
    am.trim_end_matches('/')
}

/// `GET /api/v2/alerts/groups` and `GET /api/v2/silences` of one Alertmanager.
pub async fn fetch(client: &reqwest::Client, am: &str) -> Result<Answer, String> {
    let (gu, su) = (format!("{}/api/v2/alerts/groups", base(am)), format!("{}/api/v2/silences", base(am)));
    let (groups, silences) = tokio::join!(get(client, &gu), get(client, &su));
    let groups: Vec<WireGroup> =
        serde_json::from_slice(&groups?).map_err(|e| format!("unexpected alert groups: {e}"))?;
    let silences: Vec<WireSilence> =
        serde_json::from_slice(&silences?).map_err(|e| format!("unexpected silences: {e}"))?;
    let src = line(am).into_owned();
    Ok(Answer {
        groups: groups
            .into_iter()
            .map(|g| {
                let alerts = g
                    .alerts
                    .into_iter()
                    .map(|a| AmAlert {
                        fingerprint: line(&a.fingerprint).into_owned(),
                        labels: clean(a.labels),
                        annotations: clean(a.annotations),
                        starts_at: ms(&a.starts_at),
                        state: line(&a.status.state).into_owned(),
                        silenced_by: a.status.silenced_by.iter().map(|s| line(s).into_owned()).collect(),
                        inhibited_by: a.status.inhibited_by.iter().map(|s| line(s).into_owned()).collect(),
                        sources: vec![src.clone()],
                    })
                    .collect();
                let group = AmGroup {
                    labels: clean(g.labels),
                    receiver: g.receiver.map(|r| line(&r.name).into_owned()).unwrap_or_default(),
                    alerts: vec![],
                };
                (group, alerts)
            })
            .collect(),
        silences: silences
            .into_iter()
            .map(|s| AmSilence {
                id: line(&s.id).into_owned(),
                matchers: s
                    .matchers
                    .into_iter()
                    .map(|m| Matcher {
                        name: line(&m.name).into_owned(),
                        value: line(&m.value).into_owned(),
                        op: match (m.is_equal, m.is_regex) {
                            (true, false) => MatchOp::Eq,
                            (false, false) => MatchOp::Ne,
                            (true, true) => MatchOp::Re,
                            (false, true) => MatchOp::NotRe,
                        },
                    })
                    .collect(),
                starts_at: ms(&s.starts_at),
                ends_at: ms(&s.ends_at),
                created_by: line(&s.created_by).into_owned(),
                comment: line(&s.comment).into_owned(),
                state: line(&s.status.state).into_owned(),
                source: src.clone(),
            })
            .collect(),
    })
}

/// Merge the answers of several Alertmanagers (in config order): an alert held by two is shown
/// once with both as sources; groups with the same labels and receiver are one group.
pub fn merge(answers: Vec<(String, Result<Answer, String>)>, at: Millis) -> AmSnapshot {
    let mut snap = AmSnapshot { at, ..Default::default() };
    let mut by_fp: BTreeMap<String, usize> = BTreeMap::new();
    for (am, got) in answers {
        let answer = match got {
            Ok(a) => a,
            Err(e) => {
                snap.errors.push((line(&am).into_owned(), line(&e).into_owned()));
                continue;
            }
        };
        for (group, alerts) in answer.groups {
            let gi = match snap.groups.iter().position(|g| g.labels == group.labels && g.receiver == group.receiver) {
                Some(i) => i,
                None => {
                    snap.groups.push(group);
                    snap.groups.len() - 1
                }
            };
            for a in alerts {
                let key = if a.fingerprint.is_empty() { format!("{:?}", a.labels) } else { a.fingerprint.clone() };
                let ai = match by_fp.get(&key) {
                    Some(&i) => {
                        let have = &mut snap.alerts[i];
                        for s in a.sources {
                            if !have.sources.contains(&s) {
                                have.sources.push(s);
                            }
                        }
                        for s in a.silenced_by {
                            if !have.silenced_by.contains(&s) {
                                have.silenced_by.push(s);
                            }
                        }
                        for s in a.inhibited_by {
                            if !have.inhibited_by.contains(&s) {
                                have.inhibited_by.push(s);
                            }
                        }
                        i
                    }
                    None => {
                        snap.alerts.push(a);
                        by_fp.insert(key, snap.alerts.len() - 1);
                        snap.alerts.len() - 1
                    }
                };
                if !snap.groups[gi].alerts.contains(&ai) {
                    snap.groups[gi].alerts.push(ai);
                }
            }
        }
        // Silences are per Alertmanager (IDs differ unless clustered, where they are the same).
        for s in answer.silences {
            if !snap.silences.iter().any(|x| x.id == s.id) {
                snap.silences.push(s);
            }
        }
    }
    // Muted by any Alertmanager is muted here: the state follows the merged marks.
    for a in &mut snap.alerts {
        if a.muted() {
            a.state = "suppressed".into();
        }
    }
    // Active first, then by end; expired ones last, newest first.
    snap.silences.sort_by_key(|s| (s.state == "expired", if s.state == "expired" { -s.ends_at } else { s.ends_at }));
    snap
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at_ms: Millis,
    pub ends_at_ms: Millis,
    pub created_by: String,
    pub comment: String,
}

/// `POST /api/v2/silences`; the new silence's ID.
pub async fn create(client: &reqwest::Client, am: &str, s: &NewSilence) -> Result<String, String> {
    let matchers: Vec<serde_json::Value> = s
        .matchers
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name, "value": m.value,
                "isRegex": matches!(m.op, MatchOp::Re | MatchOp::NotRe),
                "isEqual": matches!(m.op, MatchOp::Eq | MatchOp::Re),
            })
        })
        .collect();
    let body = serde_json::json!({
        "matchers": matchers,
        "startsAt": crate::notify::rfc3339_ms(s.starts_at_ms),
        "endsAt": crate::notify::rfc3339_ms(s.ends_at_ms),
        "createdBy": s.created_by,
        "comment": s.comment,
    });
    let url = format!("{}/api/v2/silences", base(am));
    let resp = client.post(&url).json(&body).timeout(TIMEOUT).send().await.map_err(|e| crate::net::classify(&e))?;
    let status = resp.status();
    let bytes = crate::net::read_body(resp, 64 << 10).await.map_err(|e| crate::net::classify(&e))?.bytes;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes);
        return Err(format!("HTTP {}: {}", status.as_u16(), text.trim().chars().take(200).collect::<String>()));
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("unexpected answer: {e}"))?;
    v.get("silenceID").and_then(|x| x.as_str()).map(String::from).ok_or_else(|| "answer has no silenceID".into())
}

/// `DELETE /api/v2/silence/{id}`.
pub async fn expire(client: &reqwest::Client, am: &str, id: &str) -> Result<(), String> {
    let id: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let url = format!("{}/api/v2/silence/{id}", base(am));
    let resp = client.delete(&url).timeout(TIMEOUT).send().await.map_err(|e| crate::net::classify(&e))?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    Ok(())
}

/// Who creates a silence: the configured author, else the human behind `sudo`, else `USER`.
pub fn author(configured: Option<&str>) -> String {
    configured
        .map(String::from)
        .or_else(|| std::env::var("SUDO_USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "opsdeck".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(src: &str, fp: &str, silenced: &[&str]) -> Answer {
        Answer {
            groups: vec![(
                AmGroup { labels: vec![("alertname".into(), "A".into())], receiver: "r".into(), alerts: vec![] },
                vec![AmAlert {
                    fingerprint: fp.into(),
                    labels: vec![("alertname".into(), "A".into())],
                    annotations: vec![],
                    starts_at: 1,
                    state: "active".into(),
                    silenced_by: silenced.iter().map(|s| s.to_string()).collect(),
                    inhibited_by: vec![],
                    sources: vec![src.into()],
                }],
            )],
            silences: vec![],
        }
    }

    #[test]
    fn the_same_alert_from_two_alertmanagers_is_shown_once_with_both_sources() {
        let snap = merge(
            vec![
                ("http://a".into(), Ok(answer("http://a", "f1", &[]))),
                ("http://b".into(), Ok(answer("http://b", "f1", &["s1"]))),
                ("http://c".into(), Err("connection refused".into())),
            ],
            5,
        );
        assert_eq!(snap.alerts.len(), 1);
        assert_eq!(snap.alerts[0].sources, vec!["http://a".to_string(), "http://b".to_string()]);
        assert_eq!(snap.alerts[0].silenced_by, vec!["s1".to_string()]);
        assert_eq!(snap.groups.len(), 1);
        assert_eq!(snap.groups[0].alerts, vec![0]);
        assert_eq!(snap.errors, vec![("http://c".to_string(), "connection refused".to_string())]);
    }

    #[test]
    fn wire_alerts_are_read_and_sanitised() {
        let groups = r#"[{"labels":{"alertname":"A"},"receiver":{"name":"sink"},"alerts":[{"labels":{"alertname":"A","x":"\u001b[2Jevil"},
            "annotations":{},"startsAt":"2026-12-03T10:00:00.000Z","fingerprint":"ab","status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}}]}]"#;
        let g: Vec<WireGroup> = serde_json::from_str(groups).unwrap();
        let a = &g[0].alerts[0];
        assert_eq!(a.status.silenced_by, vec!["s1".to_string()]);
        assert_eq!(ms(&a.starts_at), 1_796_292_000_000);
        let cleaned = clean(a.labels.clone());
        assert!(cleaned.iter().all(|(_, v)| !v.contains('\x1b')), "{cleaned:?}");
    }
}
