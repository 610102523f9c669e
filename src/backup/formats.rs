//! What backup tools print about their latest backup, read into one shape: when the last good
//! backup finished. restic `snapshots --json [--latest 1]` (a list of snapshots, or of groups of
//! them with `--group-by`) and pgBackRest `info --output json` (a list of stanzas, each with its
//! backups and their start/stop timestamps and error flag).

use serde_json::Value;

use crate::config::BackupFormat;
use crate::model::Millis;

/// The latest good backup, or none at all (an empty repository is an answer, not an error).
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub format: BackupFormat,
    pub finished: Option<Millis>,
    /// A few words on it for the view: "snapshot 1a2b3c4d of host db1".
    pub detail: Option<String>,
}

/// Parse the tool's JSON; with no `format`, tell restic from pgBackRest by the fields present.
pub fn parse(text: &str, format: Option<BackupFormat>) -> Result<Latest, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| format!("not JSON: {e}"))?;
    let format = match format {
        Some(f) => f,
        None => detect(&v).ok_or("JSON that is neither restic's snapshots nor pgBackRest's info")?,
    };
    match format {
        BackupFormat::Restic => restic(&v),
        BackupFormat::Pgbackrest => pgbackrest(&v),
    }
}

fn detect(v: &Value) -> Option<BackupFormat> {
    let first = v.as_array()?.first();
    match first {
        // An empty list: restic's answer for an empty repository.
        None => Some(BackupFormat::Restic),
        Some(x) if x.get("backup").is_some() || x.get("db").is_some() || x.get("archive").is_some() => {
            Some(BackupFormat::Pgbackrest)
        }
        Some(x) if x.get("time").is_some() || x.get("snapshots").is_some() || x.get("tree").is_some() => {
            Some(BackupFormat::Restic)
        }
        _ => None,
    }
}

fn restic(v: &Value) -> Result<Latest, String> {
    let list = v.as_array().ok_or("restic: expected a JSON list of snapshots")?;
    // `--group-by` wraps snapshots in groups: flatten them.
    let snaps = list.iter().flat_map(|x| match x.get("snapshots").and_then(Value::as_array) {
        Some(inner) => inner.iter().collect::<Vec<_>>(),
        None => vec![x],
    });
    let mut best: Option<(Millis, &Value)> = None;
    for s in snaps {
        let Some(t) = s.get("time").and_then(Value::as_str) else {
            return Err("restic: a snapshot without a time".into());
        };
        let t = chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| format!("restic: snapshot time {t:?}: {e}"))?
            .timestamp_millis();
        if best.is_none_or(|(b, _)| t > b) {
            best = Some((t, s));
        }
    }
    let detail = best.map(|(_, s)| {
        let id = s.get("short_id").or(s.get("id")).and_then(Value::as_str).unwrap_or("?");
        let id: String = id.chars().take(8).collect();
        match s.get("hostname").and_then(Value::as_str) {
            Some(h) => format!("snapshot {id} of host {h}"),
            None => format!("snapshot {id}"),
        }
    });
    Ok(Latest { format: BackupFormat::Restic, finished: best.map(|(t, _)| t), detail })
}

fn pgbackrest(v: &Value) -> Result<Latest, String> {
    let stanzas = v.as_array().ok_or("pgbackrest: expected a JSON list of stanzas")?;
    let mut best: Option<(Millis, String)> = None;
    let mut problems = Vec::new();
    for st in stanzas {
        let name = st.get("name").and_then(Value::as_str).unwrap_or("?");
        let backups = st.get("backup").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for b in backups {
            if b.get("error").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let Some(stop) = b.pointer("/timestamp/stop").and_then(Value::as_i64) else { continue };
            let label = b.get("label").and_then(Value::as_str).unwrap_or("?");
            let kind = b.get("type").and_then(Value::as_str).unwrap_or("backup");
            if best.as_ref().is_none_or(|(t, _)| stop * 1000 > *t) {
                best = Some((stop * 1000, format!("{kind} {label} of stanza {name}")));
            }
        }
        let code = st.pointer("/status/code").and_then(Value::as_i64).unwrap_or(0);
        // Code 2 is "no valid backups": the age says that already.
        if code != 0 && code != 2 {
            let msg = st.pointer("/status/message").and_then(Value::as_str).unwrap_or("error");
            problems.push(format!("stanza {name}: {msg} (status {code})"));
        }
    }
    if best.is_none() && !problems.is_empty() {
        return Err(format!("pgbackrest: {}", problems.join("; ")));
    }
    let (finished, detail) = match best {
        Some((t, d)) => (Some(t), Some(d)),
        None => (None, None),
    };
    Ok(Latest { format: BackupFormat::Pgbackrest, finished, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESTIC: &str = r#"[{"time":"2026-12-02T19:30:00.123456789Z","tree":"ab","paths":["/data"],"hostname":"db1","username":"root","id":"0123456789abcdef","short_id":"01234567"}]"#;
    const PGBR: &str = r#"[{"archive":[],"backup":[
        {"label":"20261201-010000F","type":"full","timestamp":{"start":1764550800,"stop":1764551000},"error":false},
        {"label":"20261202-010000I","type":"incr","timestamp":{"start":1764637200,"stop":1764637300},"error":true},
        {"label":"20261202-020000I","type":"incr","timestamp":{"start":1764640800,"stop":1764640900}}],
        "name":"main","status":{"code":0,"message":"ok"}}]"#;

    #[test]
    fn restic_latest_snapshot_and_groups() {
        let l = parse(RESTIC, None).unwrap();
        assert_eq!(l.format, BackupFormat::Restic);
        assert_eq!(
            l.finished,
            Some(chrono::DateTime::parse_from_rfc3339("2026-12-02T19:30:00.123Z").unwrap().timestamp_millis())
        );
        assert_eq!(l.detail.as_deref(), Some("snapshot 01234567 of host db1"));
        let grouped = format!(r#"[{{"group_key":{{"hostname":"db1"}},"snapshots":{RESTIC}}}]"#);
        assert_eq!(parse(&grouped, None).unwrap().finished, l.finished);
        assert_eq!(parse("[]", None).unwrap().finished, None, "an empty repository has no backup");
    }

    #[test]
    fn pgbackrest_newest_good_backup_skips_errors() {
        let l = parse(PGBR, None).unwrap();
        assert_eq!(l.format, BackupFormat::Pgbackrest);
        assert_eq!(l.finished, Some(1_764_640_900_000));
        assert_eq!(l.detail.as_deref(), Some("incr 20261202-020000I of stanza main"));
        let broken = r#"[{"name":"main","backup":[],"status":{"code":1,"message":"missing stanza path"}}]"#;
        assert!(parse(broken, None).unwrap_err().contains("missing stanza path"));
        let none = r#"[{"name":"main","backup":[],"status":{"code":2,"message":"no valid backups"}}]"#;
        assert_eq!(parse(none, None).unwrap().finished, None);
    }

    #[test]
    fn garbage_is_an_error_in_words() {
        assert!(parse("Fatal: no repo", None).unwrap_err().starts_with("not JSON"));
        assert!(parse(r#"[{"x":1}]"#, None).unwrap_err().contains("neither"));
        assert!(parse(r#"{"a":1}"#, Some(BackupFormat::Restic)).unwrap_err().contains("list"));
    }
}
