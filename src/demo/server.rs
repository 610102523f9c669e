//! The demo services' HTTP endpoints (axum): the API (`/health`, `/metrics`, `/logs`, `/deploy`,
//! `/version`) and the scraper workers (`/metrics`).
//!
//! The logs protocol, for `logs` sources of kind `http`:
//! - `GET /logs?since=N[&limit=M]`: JSON lines with sequence numbers after N, oldest first, at most
//!   M (default 1000, at most 5000); header `X-Next-Cursor` is the last line's number (N when there
//!   is nothing new) — pass it as `since` next time. `X-Dropped-Lines: K` when K lines aged out of
//!   the ring (5000 lines) between N and the oldest kept. A cursor ahead of the newest line (a
//!   restarted fleet) starts again from the oldest kept line.
//! - `GET /logs` without `since`: the newest `limit` lines, and the cursor after them.
//!
//! Deploys: `POST /deploy` with `{"version":"1.5.0"}` (and `Authorization: Bearer` when the fleet
//! has a token) answers 202 and switches the running version after `DEPLOY_DELAY`; a later deploy
//! supersedes a pending one. `GET /version` shows the running and pending versions.

use super::sim::{ApiSim, Behaviour, WorkerSim};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a deploy takes to switch the running version (a container restart, compressed).
pub const DEPLOY_DELAY: Duration = Duration::from_millis(1500);

pub struct ApiState {
    pub env: String,
    pub started: Instant,
    pub sim: Mutex<ApiSim>,
    /// When set, `POST /deploy` needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl ApiState {
    pub fn sim(&self) -> MutexGuard<'_, ApiSim> {
        // A panic while holding the lock cannot leave the counters inconsistent in a way that
        // matters for a demo; keep serving.
        self.sim.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn api_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(api_metrics))
        .route("/logs", get(logs))
        .route("/deploy", post(deploy))
        .route("/version", get(version))
        .with_state(state)
}

async fn health(State(s): State<Arc<ApiState>>) -> Response {
    let (version, b) = {
        let sim = s.sim();
        (sim.version().to_string(), sim.behaviour())
    };
    if b.slow {
        // A slow build answers its health check slowly too, though within the usual timeouts.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let uptime = s.started.elapsed().as_secs();
    if b.bad {
        let body = json!({
            "status": "error", "version": version, "env": s.env, "uptime_s": uptime,
            "checks": { "database": "error: connection pool exhausted", "redis": "ok" },
        });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let body = json!({
        "status": "ok", "version": version, "env": s.env, "uptime_s": uptime,
        "checks": { "database": "ok", "redis": "ok" },
    });
    (StatusCode::OK, Json(body)).into_response()
}

async fn api_metrics(State(s): State<Arc<ApiState>>) -> Response {
    let body = {
        let mut sim = s.sim();
        sim.advance(Instant::now());
        sim.render()
    };
    ([(header::CONTENT_TYPE, METRICS_TYPE)], body).into_response()
}

#[derive(Deserialize)]
struct LogsQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn logs(
    State(s): State<Arc<ApiState>>,
    q: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "query must be ?since=N (a cursor from X-Next-Cursor) and/or &limit=N");
    };
    let limit = q.limit.unwrap_or(1000).clamp(1, 5000);
    let page = {
        let mut sim = s.sim();
        sim.advance(Instant::now());
        sim.logs().page(q.since, limit)
    };
    let mut resp = ([(header::CONTENT_TYPE, "application/x-ndjson")], page.body).into_response();
    let h = resp.headers_mut();
    h.insert("x-next-cursor", HeaderValue::from(page.next_cursor));
    if page.dropped > 0 {
        h.insert("x-dropped-lines", HeaderValue::from(page.dropped));
    }
    resp
}

async fn version(State(s): State<Arc<ApiState>>) -> Response {
    let sim = s.sim();
    Json(json!({ "env": s.env, "version": sim.version(), "pending": sim.pending })).into_response()
}

fn error(code: StatusCode, msg: &str) -> Response {
    (code, Json(json!({ "error": msg }))).into_response()
}

fn valid_version(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
}

async fn deploy(State(s): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(token) = &s.token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        }
    }
    let v: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, &format!("body must be JSON like {{\"version\":\"1.5.0\"}}: {e}"))
        }
    };
    let Some(target) = v.get("version").and_then(|v| v.as_str()) else {
        return error(StatusCode::BAD_REQUEST, "body must be JSON like {\"version\":\"1.5.0\"}");
    };
    if !valid_version(target) {
        return error(StatusCode::BAD_REQUEST, "version must be 1-64 characters of letters, digits and ._-+");
    }
    let target = target.to_string();
    let (from, generation) = {
        let mut sim = s.sim();
        sim.advance(Instant::now());
        sim.deploy_generation += 1;
        sim.pending = Some(target.clone());
        let from = sim.version().to_string();
        sim.log_event(
            "INFO",
            "revolvr.deploy",
            &format!("deploy of {target} requested (running {from})"),
            "deploy",
            "handle",
            12,
        );
        (from, sim.deploy_generation)
    };
    let state = s.clone();
    let t = target.clone();
    tokio::spawn(async move {
        tokio::time::sleep(DEPLOY_DELAY).await;
        let mut sim = state.sim();
        // A later deploy supersedes this one.
        if sim.deploy_generation == generation {
            sim.set_version(&t);
        }
    });
    let b = Behaviour::of(&target);
    let body = json!({
        "status": "accepted", "env": s.env, "from": from, "to": target,
        "eta_ms": DEPLOY_DELAY.as_millis() as u64, "healthy_build": !b.bad && !b.slow,
    });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

pub fn worker_router(state: Arc<Mutex<WorkerSim>>) -> Router {
    Router::new().route("/metrics", get(worker_metrics)).with_state(state)
}

async fn worker_metrics(State(s): State<Arc<Mutex<WorkerSim>>>) -> Response {
    let body = {
        let mut w = s.lock().unwrap_or_else(|e| e.into_inner());
        w.advance(Instant::now());
        w.render()
    };
    ([(header::CONTENT_TYPE, METRICS_TYPE)], body).into_response()
}
