//! Where the deploy picker's versions come from (design §5): a list in the config, or a command or
//! URL asked when the picker opens, because the registry or the release history knows better than
//! a config file what can be deployed.
//!
//! ```toml
//! versions = ["1.5.0", "1.4.0"]                          # or { list = [...] }
//! versions = { command = ["helm", "history", "web", "-o", "json"], timeout = "20s" }
//! versions = { url = "https://ci.example.com/api/web/releases", token_env = "CI_TOKEN" }
//! ```
//!
//! A command or URL answers with a JSON array of strings, a JSON array of objects (see
//! [`parse_list`] for the fields read), or plain text with one version per line.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::command;

/// A versions command has this long unless it says otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
pub const URL_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a command's stdout or a URL's body is read.
pub const BODY_LIMIT: usize = 1 << 20;
/// How many versions the picker is offered.
pub const MAX_VERSIONS: usize = 200;
/// A longer entry is dropped, not cut: a shortened version would deploy something else.
pub const MAX_VERSION_LEN: usize = 256;

/// The `versions` setting of an environment's deploy table.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionSource {
    /// `versions = ["1.4.0", "1.5.0"]`
    Static(Vec<String>),
    /// `versions = { list = [...] }`
    List { list: Vec<String> },
    /// `versions = { command = [...], timeout = "20s" }`, run like a command driver (no shell, the
    /// environment's `env_allow`, a timeout).
    Command { command: Vec<String>, timeout: Option<Duration> },
    /// `versions = { url = "...", token_env = "NAME" }`: GET, with a bearer token from the
    /// environment when `token_env` is set.
    Url { url: String, token_env: Option<String> },
}

impl Default for VersionSource {
    fn default() -> Self {
        VersionSource::Static(Vec::new())
    }
}

impl VersionSource {
    /// Nothing configured: a list, and an empty one.
    pub fn is_empty_static(&self) -> bool {
        self.static_list().is_some_and(|l| l.is_empty())
    }

    /// The versions written in the config, when they are (not fetched).
    pub fn static_list(&self) -> Option<&[String]> {
        match self {
            VersionSource::Static(l) | VersionSource::List { list: l } => Some(l),
            VersionSource::Command { .. } | VersionSource::Url { .. } => None,
        }
    }
}

/// The table forms, read strictly: a misspelt `tokn_env` is an error, not a URL without a token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    list: Option<Vec<String>>,
    command: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::duration::de_opt")]
    timeout: Option<Duration>,
    url: Option<String>,
    token_env: Option<String>,
}

impl Table {
    fn into_source(self) -> Result<VersionSource, String> {
        let Table { list, command, timeout, url, token_env } = self;
        if timeout.is_some() && command.is_none() {
            return Err("versions: `timeout` goes with `command`".into());
        }
        if token_env.is_some() && url.is_none() {
            return Err("versions: `token_env` goes with `url`".into());
        }
        match (list, command, url) {
            (Some(list), None, None) => Ok(VersionSource::List { list }),
            (None, Some(command), None) if command.first().is_none_or(|p| p.trim().is_empty()) => {
                Err("versions: `command` is empty (it is an argv list, like [\"helm\", \"history\", ...])".into())
            }
            (None, Some(command), None) => Ok(VersionSource::Command { command, timeout }),
            (None, None, Some(url)) if url.trim().is_empty() => Err("versions: `url` is empty".into()),
            (None, None, Some(url)) => Ok(VersionSource::Url { url, token_env }),
            (None, None, None) => Err("versions: a table needs one of `list`, `command` or `url`".into()),
            _ => Err("versions: give one of `list`, `command` or `url`, not several".into()),
        }
    }
}

// By hand rather than `#[serde(untagged)]`: untagged answers every mistake with "data did not
// match any variant", and would accept unknown keys in the tables.
impl<'de> Deserialize<'de> for VersionSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SourceVisitor;
        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = VersionSource;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of versions, or a table with `list`, `command` or `url`")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<VersionSource, A::Error> {
                Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(VersionSource::Static)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<VersionSource, A::Error> {
                Table::deserialize(de::value::MapAccessDeserializer::new(map))?.into_source().map_err(de::Error::custom)
            }
        }
        d.deserialize_any(SourceVisitor)
    }
}

/// Fetch the list: commands run through `command::run`'s machinery (same env allow-list, timeout
/// default 10 s), URLs through `crate::net::client()` with a 1 MiB body limit. Newest first as
/// given (helm's history, oldest first, is reversed: see [`parse_list`]); de-duplicated; each
/// sanitised; at most 200 entries; empty lines skipped.
pub async fn fetch(src: &VersionSource, env_allow: &[String]) -> Result<Vec<String>, String> {
    match src {
        VersionSource::Static(list) | VersionSource::List { list } => Ok(normalise(list.iter().map(String::as_str))),
        VersionSource::Command { command, timeout } => fetch_command(command, *timeout, env_allow).await,
        VersionSource::Url { url, token_env } => fetch_url(url, token_env.as_deref()).await,
    }
}

async fn fetch_command(
    argv: &[String],
    timeout: Option<Duration>,
    env_allow: &[String],
) -> Result<Vec<String>, String> {
    let spec = command::Spec {
        argv,
        env_allow,
        extra_env: &[],
        timeout: timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT),
        inherit: false,
    };
    let got = command::capture(&spec, BODY_LIMIT).await;
    let name = crate::sanitize::line(argv.first().map(String::as_str).unwrap_or_default()).into_owned();
    match &got.outcome.exit {
        command::Exit::Code(0) => {}
        command::Exit::SpawnFailed(m) => return Err(m.clone()),
        _ => return Err(format!("{name}: {}", got.outcome.describe())),
    }
    if got.over_limit {
        return Err(format!("{name}: printed more than {} KiB", BODY_LIMIT >> 10));
    }
    parse(&got.stdout).map_err(|e| format!("{name}: {e}"))
}

async fn fetch_url(url: &str, token_env: Option<&str>) -> Result<Vec<String>, String> {
    let shown = crate::sanitize::line(url).into_owned();
    let mut req = crate::net::client()
        .get(url)
        .timeout(URL_TIMEOUT)
        .header(reqwest::header::ACCEPT, "application/json, text/plain;q=0.9");
    if let Some(var) = token_env {
        let token = crate::config::secret_from_env(Some(var))
            .ok_or_else(|| format!("token_env names {var}, which is not set (or empty) in this environment"))?;
        req = req.bearer_auth(token);
    }
    let failed = |e: reqwest::Error| format!("{shown}: {}", crate::sanitize::line(&crate::net::classify(&e)));
    let resp = req.send().await.map_err(failed)?;
    let status = resp.status();
    let body = crate::net::read_body(resp, BODY_LIMIT).await.map_err(failed)?;
    if !status.is_success() {
        let summary = super::http::summarise(&body.bytes);
        return Err(if summary.is_empty() {
            format!("{shown}: HTTP {}", status.as_u16())
        } else {
            format!("{shown}: HTTP {}: {summary}", status.as_u16())
        });
    }
    if body.over_limit {
        return Err(format!("{shown}: answer larger than {} KiB", BODY_LIMIT >> 10));
    }
    parse(&crate::sanitize::lossy(&body.bytes)).map_err(|e| format!("{shown}: {e}"))
}

/// The versions in a command's output or a URL's body:
/// - a JSON array of strings (or numbers);
/// - a JSON array of objects, each giving the first non-empty string among the fields `version`,
///   `tag`, `tag_name`, `name`, `image`, `image_ref`, `imageref`, `app_version`, `chart` (keys in
///   any case), else the first number among them or `revision`. So `fly releases --json` gives
///   each release's `ImageRef` (its `Version` is a release number), and `helm history -o json`
///   its `app_version`. When every object has a numeric `revision` (helm, which lists oldest
///   first), they are ordered newest first by it;
/// - a JSON object holding such an array (`versions`, `releases`, `tags`, `results`, `items`,
///   `data`, or its only array);
/// - otherwise, one version per line.
///
/// Invalid JSON gives an empty list (`fetch` reports it as an error).
pub fn parse_list(text: &str) -> Vec<String> {
    parse(text).unwrap_or_default()
}

fn parse(text: &str) -> Result<Vec<String>, String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if !(text.starts_with('[') || text.starts_with('{')) {
        return Ok(normalise(text.lines()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut m) => list_in(&mut m).ok_or("a JSON object without a list of versions")?,
        _ => return Err("JSON that is neither an array nor an object".into()),
    };
    Ok(from_items(items))
}

fn list_in(m: &mut Map<String, Value>) -> Option<Vec<Value>> {
    const KEYS: &[&str] = &["versions", "releases", "tags", "results", "items", "data"];
    let key = KEYS.iter().find(|k| m.get(**k).is_some_and(Value::is_array)).map(|k| k.to_string()).or_else(|| {
        let mut arrays = m.iter().filter(|(_, v)| v.is_array());
        match (arrays.next(), arrays.next()) {
            (Some((k, _)), None) => Some(k.clone()),
            _ => None,
        }
    })?;
    match m.remove(&key) {
        Some(Value::Array(items)) => Some(items),
        _ => None,
    }
}

const FIELDS: &[&str] =
    &["version", "tag", "tag_name", "name", "image", "image_ref", "imageref", "app_version", "chart"];

fn from_items(mut items: Vec<Value>) -> Vec<String> {
    let revision = |v: &Value| v.as_object().and_then(|o| o.get("revision")).and_then(Value::as_i64);
    if !items.is_empty() && items.iter().all(|v| revision(v).is_some()) {
        items.sort_by_key(|v| std::cmp::Reverse(revision(v)));
    }
    let picked: Vec<String> = items
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(o) => pick(o),
            _ => None,
        })
        .collect();
    normalise(picked.iter().map(String::as_str))
}

fn pick(o: &Map<String, Value>) -> Option<String> {
    // Go's JSON writes a struct's field names as they are (`Version`, `ImageRef`): any case.
    let get = |k: &str| o.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v);
    FIELDS
        .iter()
        .find_map(|k| get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_string))
        .or_else(|| {
            // Only numbers: a release number beats nothing.
            FIELDS.iter().chain(&["revision"]).find_map(|k| match get(k) {
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        })
}

/// Trimmed, sanitised, non-empty, unique (first kept), at most `MAX_VERSIONS`.
fn normalise<'a>(entries: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    entries
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.len() <= MAX_VERSION_LEN)
        .map(|e| crate::sanitize::line(e).into_owned())
        .filter(|e| seen.insert(e.clone()))
        .take(MAX_VERSIONS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const HELM_HISTORY: &str = r#"[{"revision":1,"updated":"2026-11-02T09:14:03.512781+01:00","status":"superseded","chart":"web-0.3.0","app_version":"1.3.0","description":"Install complete"},{"revision":2,"updated":"2026-11-09T16:40:51.20301+01:00","status":"superseded","chart":"web-0.3.1","app_version":"1.4.0","description":"Upgrade complete"},{"revision":3,"updated":"2026-11-10T08:02:17.88912+01:00","status":"failed","chart":"web-0.3.1","app_version":"1.4.1","description":"Upgrade \"web\" failed: context deadline exceeded"},{"revision":4,"updated":"2026-11-10T08:11:40.1029+01:00","status":"superseded","chart":"web-0.3.1","app_version":"1.4.0","description":"Rollback to 2"},{"revision":5,"updated":"2026-11-24T11:30:02.4471+01:00","status":"deployed","chart":"web-0.4.0","app_version":"1.5.0","description":"Upgrade complete"}]"#;

    const FLY_RELEASES: &str = r#"[
  {
    "ID": "rel_9x2kq8d0w1m4pz7v",
    "Version": 42,
    "Stable": true,
    "InProgress": false,
    "Reason": "",
    "Description": "Release",
    "Status": "complete",
    "DeploymentStrategy": "rolling",
    "Metadata": null,
    "User": { "ID": "u_1", "Name": "Ada Ops", "Email": "ada@example.com", "EnablePaidHobby": false },
    "EvaluationID": "",
    "CreatedAt": "2026-11-24T10:30:02Z",
    "ImageRef": "registry.fly.io/web:deployment-01JDA3C9X4T6Q8W2E5R7Y9U1I3"
  },
  {
    "ID": "rel_4b7nc2s9e3h6jt1a",
    "Version": 41,
    "Stable": false,
    "InProgress": false,
    "Reason": "",
    "Description": "Release",
    "Status": "failed",
    "DeploymentStrategy": "rolling",
    "Metadata": null,
    "User": { "ID": "u_1", "Name": "Ada Ops", "Email": "ada@example.com", "EnablePaidHobby": false },
    "EvaluationID": "",
    "CreatedAt": "2026-11-20T08:02:17Z",
    "ImageRef": "registry.fly.io/web:deployment-01JCZ7H2M5N8B1V4C6X9Z2L4K6"
  }
]
"#;

    #[test]
    fn json_arrays_of_strings_and_objects() {
        assert_eq!(parse_list(r#"["1.5.0", "1.4.0", "1.5.0", "", " 1.3.0 "]"#), strings(&["1.5.0", "1.4.0", "1.3.0"]));
        let objects =
            r#"[{"version":"2.0.0"},{"tag":"v1.9.0"},{"name":"1.8.0"},{"image":"ghcr.io/acme/web:1.7.0"},{"other":1}]"#;
        assert_eq!(parse_list(objects), strings(&["2.0.0", "v1.9.0", "1.8.0", "ghcr.io/acme/web:1.7.0"]));
        // GitHub's releases API: the tag, not the release's title.
        let github = r#"[{"tag_name":"v1.2.0","name":"Autumn release","draft":false}]"#;
        assert_eq!(parse_list(github), strings(&["v1.2.0"]));
        // Docker Hub's tags API wraps the list.
        let hub = r#"{"count":2,"next":null,"results":[{"name":"1.2.0","digest":"sha256:aa"},{"name":"1.1.0"}]}"#;
        assert_eq!(parse_list(hub), strings(&["1.2.0", "1.1.0"]));
    }

    #[test]
    fn helm_history_is_newest_first_by_app_version() {
        assert_eq!(parse_list(HELM_HISTORY), strings(&["1.5.0", "1.4.0", "1.4.1", "1.3.0"]));
    }

    #[test]
    fn fly_releases_give_their_images() {
        assert_eq!(
            parse_list(FLY_RELEASES),
            strings(&[
                "registry.fly.io/web:deployment-01JDA3C9X4T6Q8W2E5R7Y9U1I3",
                "registry.fly.io/web:deployment-01JCZ7H2M5N8B1V4C6X9Z2L4K6"
            ])
        );
        // Without images, the release numbers.
        assert_eq!(parse_list(r#"[{"Version":42,"Status":"complete"},{"Version":41}]"#), strings(&["42", "41"]));
    }

    #[test]
    fn plain_lines() {
        assert_eq!(parse_list("1.5.0\r\n\n  1.4.0  \n1.5.0\n1.3.0"), strings(&["1.5.0", "1.4.0", "1.3.0"]));
        assert_eq!(parse_list(""), Vec::<String>::new());
    }

    #[test]
    fn entries_are_sanitised_bounded_and_never_cut() {
        assert_eq!(parse_list("1.0\x1b[2J\n"), strings(&["1.0\\x1b[2J"]));
        let many: String = (0..500).map(|i| format!("1.0.{i}\n")).collect();
        let got = parse_list(&many);
        assert_eq!(got.len(), MAX_VERSIONS);
        assert_eq!(got[0], "1.0.0");
        let long = format!("{}\n1.0\n", "x".repeat(MAX_VERSION_LEN + 1));
        assert_eq!(parse_list(&long), strings(&["1.0"]));
    }

    #[test]
    fn invalid_json_is_an_error_not_garbage() {
        assert!(parse_list(r#"[{"version": "1.0""#).is_empty());
        assert!(parse(r#"[{"version": "1.0""#).unwrap_err().starts_with("invalid JSON"));
        assert!(parse(r#"{"a": [1], "b": [2]}"#).is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Wrapper {
        #[serde(default)]
        versions: VersionSource,
    }

    fn toml_source(text: &str) -> Result<VersionSource, String> {
        toml::from_str::<Wrapper>(text).map(|w| w.versions).map_err(|e| e.to_string())
    }

    #[test]
    fn the_four_forms_deserialize() {
        assert_eq!(
            toml_source(r#"versions = ["1.4.0", "1.5.0"]"#),
            Ok(VersionSource::Static(strings(&["1.4.0", "1.5.0"])))
        );
        assert_eq!(
            toml_source(r#"versions = { list = ["1.5.0"] }"#),
            Ok(VersionSource::List { list: strings(&["1.5.0"]) })
        );
        assert_eq!(
            toml_source(r#"versions = { command = ["helm", "history", "web", "-o", "json"], timeout = "20s" }"#),
            Ok(VersionSource::Command {
                command: strings(&["helm", "history", "web", "-o", "json"]),
                timeout: Some(Duration::from_secs(20))
            })
        );
        assert_eq!(
            toml_source(r#"versions = { command = ["./list-tags"] }"#),
            Ok(VersionSource::Command { command: strings(&["./list-tags"]), timeout: None })
        );
        assert_eq!(
            toml_source("[versions]\nurl = \"https://ci.example.com/releases\"\ntoken_env = \"CI_TOKEN\"\n"),
            Ok(VersionSource::Url {
                url: "https://ci.example.com/releases".into(),
                token_env: Some("CI_TOKEN".into())
            })
        );
        let absent = toml_source("").unwrap();
        assert!(absent.is_empty_static() && absent == VersionSource::default());
        assert_eq!(toml_source(r#"versions = ["1.0"]"#).unwrap().static_list(), Some(&strings(&["1.0"])[..]));
        assert_eq!(toml_source(r#"versions = { url = "http://x" }"#).unwrap().static_list(), None);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, want) in [
            (r#"versions = { url = "http://x", tokn_env = "T" }"#, "unknown field `tokn_env`"),
            (r#"versions = { list = ["1"], url = "http://x" }"#, "not several"),
            (r#"versions = { url = "http://x", timeout = "5s" }"#, "`timeout` goes with `command`"),
            (r#"versions = { command = ["x"], token_env = "T" }"#, "`token_env` goes with `url`"),
            (r#"versions = { command = [] }"#, "`command` is empty"),
            (r#"versions = { command = ["x"], timeout = "soon" }"#, "invalid duration"),
            (r#"versions = {}"#, "needs one of"),
            (r#"versions = "1.0""#, "a list of versions, or a table"),
        ] {
            let e = toml_source(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[tokio::test]
    async fn static_sources_are_normalised() {
        let src = VersionSource::Static(strings(&["1.5.0", "1.5.0", " ", "1.4.0"]));
        assert_eq!(fetch(&src, &[]).await, Ok(strings(&["1.5.0", "1.4.0"])));
    }

    #[tokio::test]
    async fn command_sources() {
        let src = VersionSource::Command { command: strings(&["sh", "-c", r#"printf "1.2\n1.1\n""#]), timeout: None };
        assert_eq!(fetch(&src, &[]).await, Ok(strings(&["1.2", "1.1"])));

        // One long line of JSON, longer than a shown line: kept whole for parsing.
        let json: String =
            format!("[{}]", (0..150).map(|i| format!("\"1.{i}.0-build.{i:04}\"")).collect::<Vec<_>>().join(","));
        std::env::set_var("OPSDECK_TEST_VERS_JSON", &json);
        let src = VersionSource::Command {
            command: strings(&["sh", "-c", "printf '%s' \"$OPSDECK_TEST_VERS_JSON\""]),
            timeout: None,
        };
        let got = fetch(&src, &strings(&["OPSDECK_TEST_VERS_JSON"])).await.unwrap();
        assert_eq!((got.len(), got[0].as_str()), (150, "1.0.0-build.0000"));

        let failing = VersionSource::Command {
            command: strings(&["sh", "-c", "echo 'Error: release: not found' >&2; exit 1"]),
            timeout: None,
        };
        assert_eq!(fetch(&failing, &[]).await, Err("sh: exit 1: Error: release: not found".into()));

        let slow =
            VersionSource::Command { command: strings(&["sleep", "1000"]), timeout: Some(Duration::from_millis(200)) };
        let e = fetch(&slow, &[]).await.unwrap_err();
        assert!(e.starts_with("sleep: timed out after"), "{e}");

        let missing = VersionSource::Command { command: strings(&["/nonexistent/list-versions"]), timeout: None };
        assert_eq!(
            fetch(&missing, &[]).await,
            Err("cannot start /nonexistent/list-versions: No such file or directory".into())
        );
    }

    #[tokio::test]
    async fn url_sources() {
        use axum::http::{header, HeaderMap, StatusCode};
        use axum::routing::get;

        async fn releases(headers: HeaderMap) -> (StatusCode, &'static str) {
            match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                Some("Bearer vers-t0ken") => (StatusCode::OK, FLY_RELEASES),
                _ => (StatusCode::UNAUTHORIZED, r#"{"error":"bad token"}"#),
            }
        }
        let app = axum::Router::new()
            .route("/releases", get(releases))
            .route("/tags.txt", get(|| async { "v3\nv2\n" }))
            .route("/broken", get(|| async { "[{\"version\":" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        std::env::set_var("OPSDECK_TEST_VERS_TOKEN", "vers-t0ken");
        std::env::set_var("OPSDECK_TEST_VERS_WRONG_TOKEN", "nope");
        let url = |path: &str, token_env: Option<&str>| VersionSource::Url {
            url: format!("{base}{path}"),
            token_env: token_env.map(str::to_string),
        };
        let got = fetch(&url("/releases", Some("OPSDECK_TEST_VERS_TOKEN")), &[]).await.unwrap();
        assert_eq!(got[0], "registry.fly.io/web:deployment-01JDA3C9X4T6Q8W2E5R7Y9U1I3");
        assert_eq!(fetch(&url("/tags.txt", None), &[]).await, Ok(strings(&["v3", "v2"])));

        let e = fetch(&url("/releases", Some("OPSDECK_TEST_VERS_WRONG_TOKEN")), &[]).await.unwrap_err();
        assert_eq!(e, format!("{base}/releases: HTTP 401: bad token"));
        let e = fetch(&url("/releases", Some("OPSDECK_TEST_VERS_UNSET")), &[]).await.unwrap_err();
        assert!(e.contains("OPSDECK_TEST_VERS_UNSET, which is not set"), "{e}");
        let e = fetch(&url("/broken", None), &[]).await.unwrap_err();
        assert!(e.starts_with(&format!("{base}/broken: invalid JSON")), "{e}");
        let e = fetch(&url("/missing", None), &[]).await.unwrap_err();
        assert_eq!(e, format!("{base}/missing: HTTP 404"));

        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = fetch(&VersionSource::Url { url: format!("http://127.0.0.1:{port}/"), token_env: None }, &[]).await;
        assert_eq!(e, Err(format!("http://127.0.0.1:{port}/: connection refused")));
    }
}
