//! Fixed dashboard data for render snapshots and the render benchmark: three environments (one up,
//! one down and above its error threshold after a bad deploy, one stale with a gap in its data),
//! every built-in panel, a user table panel, alerts in each state and a deploy marker.
//! Deterministic: no clock, no randomness.

use super::*;
use std::collections::VecDeque;
use std::time::Duration;

/// 2023-11-14 22:13:20 UTC.
pub const NOW: Millis = 1_700_000_000_000;
const STEP: Millis = 15_000;

fn wave(i: i64, base: f64, amp: f64, period: f64) -> f64 {
    base + amp * ((i as f64) / period).sin()
}

fn series(label: &str, env: &str, f: impl Fn(i64) -> Option<f64>) -> PanelSeries {
    // Six hours of points, so every window has data to show.
    let n = 6 * 3600 * 1000 / STEP;
    PanelSeries {
        label: label.into(),
        env: Some(env.into()),
        points: (0..=n).map(|k| (NOW - (n - k) * STEP, f(k))).collect(),
    }
}

/// A state from the config-less start: environments known, nothing checked, no data.
/// A key press without modifiers, for tests of key handling.
pub fn key(c: crossterm::event::KeyCode) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE)
}

/// A character key press.
pub fn ch(c: char) -> crossterm::event::KeyEvent {
    key(crossterm::event::KeyCode::Char(c))
}

pub fn empty() -> State {
    let envs = ["production", "staging", "development"]
        .iter()
        .map(|n| EnvInfo { name: n.to_string(), protected: *n == "production" })
        .collect();
    let mut s = State::new(envs, Duration::from_secs(6 * 3600));
    s.now = NOW;
    s
}

pub fn full() -> State {
    let mut s = empty();
    let n = 6 * 3600 * 1000 / STEP;
    let bad_from = n - 24; // the bad deploy, six minutes ago
    let gap = (n - 30)..(n - 20); // development's target was down for a while…
    let hist =
        |base: f64, fail_every: usize| -> VecDeque<Option<f64>> {
            (0..60)
                .map(|i| {
                    if fail_every > 0 && i % fail_every == 0 {
                        None
                    } else {
                        Some(wave(i as i64, base, base / 3.0, 4.0))
                    }
                })
                .collect()
        };
    let healths = [
        EnvHealth {
            health: Health::Up,
            latency_ms: Some(42.0),
            version: Some("1.4.1".into()),
            reason: None,
            last_check: Some(NOW - 2_000),
            last_ok: Some(NOW - 2_000),
            latency_history: hist(40.0, 0),
            checks_ok: 1798,
            checks_total: 1800,
        },
        EnvHealth {
            health: Health::Down,
            latency_ms: Some(18.0),
            version: Some("1.5.0-bad".into()),
            reason: Some("HTTP 503".into()),
            last_check: Some(NOW - 1_000),
            last_ok: Some(NOW - 360_000),
            latency_history: hist(25.0, 3),
            checks_ok: 1620,
            checks_total: 1800,
        },
        EnvHealth {
            health: Health::Stale,
            latency_ms: None,
            version: Some("1.5.0".into()),
            reason: Some("timeout after 3s".into()),
            last_check: Some(NOW - 9_000),
            last_ok: Some(NOW - 75_000),
            latency_history: hist(60.0, 5),
            checks_ok: 1500,
            checks_total: 1800,
        },
    ];
    for (i, h) in healths.into_iter().enumerate() {
        s.health[i] = h;
    }
    let gap2 = gap.clone();
    let dev = move |k: i64, v: f64| if gap2.contains(&k) || k > n - 4 { None } else { Some(v) };
    let errors = PanelData {
        id: "errors".into(),
        title: "Error rate (5xx %)".into(),
        unit: Unit::Percent,
        kind: PanelKind::Line,
        series: vec![
            series("production", "production", |k| Some(wave(k, 0.5, 0.3, 7.0))),
            series("staging", "staging", |k| {
                Some(if k >= bad_from { wave(k, 38.0, 3.0, 3.0) } else { wave(k, 0.8, 0.4, 5.0) })
            }),
            {
                let dev = dev.clone();
                series("development", "development", move |k| dev(k, wave(k, 1.2, 0.6, 9.0)))
            },
        ],
        threshold: Some(("HighErrorRate 5%".into(), 5.0)),
        note: Some("development: no data since 22:12 (target down)".into()),
    };
    let mut lat = Vec::new();
    for (env, base) in [("production", 0.08), ("staging", 0.12)] {
        for (q, mul) in [("p50", 1.0), ("p95", 3.0), ("p99", 6.0)] {
            lat.push(series(&format!("{env} {q}"), env, |k| Some(wave(k, base * mul, base * mul / 4.0, 6.0))));
        }
    }
    let latency = PanelData {
        id: "latency".into(),
        title: "Latency p50 / p95 / p99".into(),
        unit: Unit::S,
        kind: PanelKind::Line,
        series: lat,
        threshold: Some(("SlowResponseTime p95 2s".into(), 2.0)),
        note: None,
    };
    let panel = |id: &str, title: &str, unit: Unit, kind: PanelKind, series: Vec<PanelSeries>| PanelData {
        id: id.into(),
        title: title.into(),
        unit,
        kind,
        series,
        threshold: None,
        note: None,
    };
    let incident = move |k: i64| k > n - 40;
    let scrapers = panel(
        "scrapers",
        "Scrapers: requests/s by platform",
        Unit::PerSec,
        PanelKind::Line,
        vec![
            series("production ok", "production", |k| Some(wave(k, 12.0, 3.0, 8.0))),
            series("production reddit err", "production", |k| {
                Some(if incident(k) { wave(k, 6.0, 1.0, 2.0) } else { 0.2 })
            }),
            series("staging ok", "staging", |k| Some(wave(k, 5.0, 1.0, 6.0))),
        ],
    );
    let scraper_errors = panel(
        "scraper_errors",
        "Scraper error ratio by platform",
        Unit::Percent,
        PanelKind::Table,
        vec![
            series("production reddit", "production", |k| Some(if incident(k) { 41.0 } else { 1.5 })),
            series("production twitter", "production", |_| Some(0.8)),
            series("staging reddit", "staging", |_| Some(1.1)),
        ],
    );
    let active = panel(
        "active_scrapers",
        "Active scrapers",
        Unit::Plain,
        PanelKind::Line,
        vec![
            series("production", "production", |k| Some(if incident(k) { 3.0 } else { 4.0 })),
            series("staging", "staging", |_| Some(2.0)),
        ],
    );
    let ai_requests = panel(
        "ai_requests",
        "AI requests/s by provider",
        Unit::PerSec,
        PanelKind::Bars,
        vec![
            series("production openai ok", "production", |k| Some(wave(k, 3.2, 0.5, 5.0))),
            series("production openai error", "production", |_| Some(0.05)),
            series("production anthropic ok", "production", |k| Some(wave(k, 1.4, 0.3, 7.0))),
        ],
    );
    let ai_cost = panel(
        "ai_cost",
        "AI cost, USD per hour",
        Unit::Usd,
        PanelKind::Line,
        vec![
            series("production openai", "production", |k| Some(wave(k, 4.2, 0.8, 10.0))),
            series("production anthropic", "production", |k| Some(wave(k, 2.1, 0.5, 12.0))),
        ],
    );
    s.apply(Event::Panels(vec![errors, latency, scrapers, scraper_errors, active, ai_requests, ai_cost]));
    let alert = |key: &str, name: &str, state: AlertState, sev: &str, env: &str, summary: &str, since: Millis| {
        AlertView {
        key: key.into(),
        name: name.into(),
        state,
        severity: sev.into(),
        env: Some(env.into()),
        summary: summary.into(),
        active_since: NOW - since,
        resolved_at: (state == AlertState::Resolved).then_some(NOW - 60_000),
        value: 0.38,
        expr: "sum by (env) (rate(http_requests_total{status=~\"5..\"}[1m])) / sum by (env) (rate(http_requests_total[1m])) > 0.05".into(),
        labels: vec![("alertname".into(), name.into()), ("env".into(), env.into()), ("severity".into(), sev.into())],
        annotations: vec![
            ("summary".into(), summary.into()),
            ("runbook_url".into(), "https://runbooks.example.org/high-error-rate".into()),
        ],
        history: vec![(NOW - since, AlertState::Pending), (NOW - since + 30_000, AlertState::Firing)],
        acked: false,
        silenced_until: None,
    }
    };
    s.apply(Event::Alerts(vec![
        alert(
            "b",
            "ScraperFailures",
            AlertState::Pending,
            "warning",
            "production",
            "reddit scraper errors: 14 in 2m",
            40_000,
        ),
        alert("c", "SlowResponseTime", AlertState::Resolved, "warning", "development", "p95 latency 2.4s", 900_000),
        alert("a", "HighErrorRate", AlertState::Firing, "critical", "staging", "5xx ratio 38% on staging", 300_000),
    ]));
    s.apply(Event::Markers(vec![Marker {
        at: NOW - 24 * STEP,
        env: "staging".into(),
        label: "1.5.0-bad".into(),
        rollback: false,
    }]));
    s.apply(Event::Logs(log_batch("production", &PROD_LOGS)));
    s.apply(Event::Logs(log_batch("staging", &STAGING_LOGS)));
    s.apply(Event::Stats(EngineStats {
        series: 1843,
        samples: 412_000,
        dropped_series: 0,
        targets_up: 8,
        targets_total: 9,
        ..Default::default()
    }));
    s
}

const PROD_LOGS: [&str; 5] = [
    r#"{"timestamp":"2023-11-14T22:12:58.101000Z","level":"INFO","logger":"api","message":"GET /api/items 200","module":"views","function":"items","line":42,"request_id":"req-7f3a","duration":0.041}"#,
    r#"{"timestamp":"2023-11-14T22:13:01.500000Z","level":"WARNING","logger":"scraper","message":"reddit rate limited, backing off 2s","module":"reddit","function":"fetch","line":88}"#,
    r#"{"timestamp":"2023-11-14T22:13:05.000000Z","level":"INFO","logger":"api","message":"POST /api/scrape 202","module":"views","function":"scrape","line":71,"request_id":"req-9c1e"}"#,
    r#"{"timestamp":"2023-11-14T22:13:10.250000Z","level":"ERROR","logger":"scraper","message":"reddit fetch failed: HTTP 429","module":"reddit","function":"fetch","line":97,"request_id":"req-9c1e"}"#,
    "plain text line from a sidecar \x1b[2J with an escape",
];

const STAGING_LOGS: [&str; 4] = [
    r#"{"timestamp":"2023-11-14T22:12:59.000000Z","level":"INFO","logger":"deploy","message":"now running 1.5.0-bad","module":"main","function":"boot","line":12}"#,
    r#"{"timestamp":"2023-11-14T22:13:02.000000Z","level":"ERROR","logger":"api","message":"GET /api/items 500","module":"views","function":"items","line":42,"request_id":"req-9c1e","exception":"Traceback (most recent call last):\n  File \"views.py\", line 42, in items\nKeyError: 'price'"}"#,
    r#"{"timestamp":"2023-11-14T22:13:07.000000Z","level":"ERROR","logger":"api","message":"GET /api/orders 500","module":"views","function":"orders","line":58,"request_id":"req-51aa"}"#,
    r#"{"timestamp":"2023-11-14T22:13:12.000000Z","level":"INFO","logger":"api","message":"GET /health 503","module":"views","function":"health","line":9}"#,
];

fn log_batch(env: &str, lines: &[&str]) -> crate::logs::LogBatch {
    let env: std::sync::Arc<str> = env.into();
    crate::logs::LogBatch {
        records: lines.iter().map(|l| crate::logs::parse_line(l.as_bytes(), 0, Some(env.clone()))).collect(),
        env,
        notice: None,
        failed: false,
    }
}

// Deploy operations, for the progress and history views' tests and snapshots.

fn gate(name: &str, outcome: CheckOutcome, value: Option<f64>, detail: &str) -> GateVerdict {
    GateVerdict { name: name.into(), outcome, value, detail: detail.into() }
}

/// A deploy of 1.6.0-bad to staging (rollback point 1.5.0), as the engine reports it in `phase`.
pub fn progress(phase: Phase, message: &str) -> DeployProgress {
    DeployProgress {
        id: "20231114T221145-staging-1".into(),
        env: "staging".into(),
        kind: OpKind::Deploy,
        version: "1.6.0-bad".into(),
        rollback_point: Some("1.5.0".into()),
        phase,
        started: NOW - 95_000,
        checks_done: 0,
        checks_total: 10,
        bake_until: None,
        gates: vec![],
        output: vec![],
        message: message.into(),
        last: None,
    }
}

/// Folds the reports of staging's deploy of 1.6.0-bad into `s`, up to `upto`: `Verify` (three
/// failed checks of ten, a gate in each verdict), `Bake` (verified, 12 s of bake left),
/// `Rollback` (failed, rolling back), or with `last` its end after the rollback.
pub fn deploy_staging(s: &mut State, upto: Phase, last: Option<Final>) {
    let mut p = progress(Phase::PreCheck, "pre-check: staging is healthy on 1.5.0");
    let send = |s: &mut State, p: &mut DeployProgress, phase: Phase, msg: &str| {
        p.phase = phase;
        p.message = msg.into();
        s.apply(Event::Deploy(p.clone()));
    };
    send(s, &mut p, Phase::PreCheck, "pre-check: staging is healthy on 1.5.0");
    p.gates = vec![
        gate("error_rate", CheckOutcome::Success, Some(0.008), "0.8% ≤ 5%"),
        gate("latency_p95", CheckOutcome::Success, Some(0.31), "p95 0.31s ≤ 2s"),
    ];
    send(s, &mut p, Phase::PreCheck, "pre-check: gates error_rate success, latency_p95 success");
    send(s, &mut p, Phase::RollbackPoint, "rollback point: 1.5.0 (the last verified release)");
    send(s, &mut p, Phase::Driver, "driver: deploying 1.6.0-bad on staging");
    p.output = vec![
        "POST https://deploy.example.org/staging {\"version\":\"1.6.0-bad\"}".into(),
        "HTTP 202 Accepted".into(),
        "{\"job\":\"4711\",\"state\":\"queued\"}".into(),
    ];
    send(s, &mut p, Phase::Driver, "driver: HTTP 202 Accepted");
    if upto == Phase::Bake {
        p.checks_done = 1;
        send(s, &mut p, Phase::Verify, "verify check 1/10: success (healthy on 1.6.0-bad)");
        p.bake_until = Some(NOW + 12_000);
        send(s, &mut p, Phase::Bake, "bake: 60s, gates error_rate, latency_p95");
        return;
    }
    p.gates = vec![
        gate("error_rate", CheckOutcome::Failure, Some(0.382), "38.2% > 5%"),
        gate("latency_p95", CheckOutcome::Success, Some(0.42), "p95 0.42s ≤ 2s"),
        gate("saturation", CheckOutcome::Inconclusive, None, "no data"),
        gate("queue_depth", CheckOutcome::Error, None, "scrape failed: connection refused"),
    ];
    for n in 1..=3 {
        p.checks_done = n;
        send(s, &mut p, Phase::Verify, &format!("verify check {n}/10: failure (HTTP 503)"));
    }
    if upto == Phase::Verify {
        return;
    }
    send(s, &mut p, Phase::Rollback, "1.6.0-bad failed: health check failed: HTTP 503; rolling back to 1.5.0");
    let Some(last) = last else { return };
    p.phase = Phase::Done;
    p.last = Some(last);
    p.message = match last {
        Final::RollbackFailed => "staging: 1.6.0-bad failed (health check failed: HTTP 503); the rollback to 1.5.0 FAILED too (the rollback driver failed: HTTP 500). A human is needed".into(),
        _ => "staging: 1.6.0-bad failed (health check failed: HTTP 503); rolled back to 1.5.0, verified".into(),
    };
    s.apply(Event::Deploy(p));
}

fn row(
    started: Millis,
    kind: OpKind,
    version: &str,
    outcome: &str,
    took: Option<Millis>,
    user: &str,
    detail: &str,
) -> HistoryRow {
    HistoryRow {
        id: format!("op-{started}"),
        started,
        kind,
        version: version.into(),
        outcome: outcome.into(),
        took_ms: took,
        user: user.into(),
        forced: false,
        detail: detail.into(),
    }
}

/// Staging's journal: three verified releases, a deploy rolled back, a forced one, a refusal;
/// `interrupted` adds alice's deploy of 1.6.0 that died at verify. Development verified 1.5.0.
pub fn histories(s: &mut State, interrupted: bool) {
    const H: Millis = 3_600_000;
    let mut rows = vec![
        row(
            NOW - 72 * H,
            OpKind::Deploy,
            "1.4.0",
            "verified",
            Some(185_000),
            "bob",
            "1.4.0 deployed and verified (bake 60s)",
        ),
        row(
            NOW - 26 * H,
            OpKind::Deploy,
            "1.4.1",
            "verified",
            Some(190_000),
            "alice",
            "1.4.1 deployed and verified (bake 60s)",
        ),
        row(
            NOW - 5 * H,
            OpKind::Deploy,
            "1.5.0",
            "verified",
            Some(201_000),
            "alice",
            "1.5.0 deployed and verified (bake 60s)",
        ),
        row(
            NOW - 3 * H,
            OpKind::Deploy,
            "1.6.0-bad",
            "rolled back",
            Some(95_000),
            "carol",
            "1.6.0-bad failed (health check failed: HTTP 503); rolled back to 1.5.0, verified",
        ),
        row(
            NOW - 2 * H,
            OpKind::Promote,
            "1.5.0",
            "refused",
            Some(0),
            "carol",
            "gate error_rate fires now; --force deploys anyway",
        ),
    ];
    let mut forced = row(
        NOW - 90 * 60_000,
        OpKind::Deploy,
        "1.5.0-bad",
        "verified",
        Some(150_000),
        "bob",
        "1.5.0-bad deployed and verified (bake 60s)",
    );
    forced.forced = true;
    rows.push(forced);
    let mut h = DeployHistory {
        env: "staging".into(),
        rows,
        points: vec!["1.5.0-bad".into(), "1.5.0".into(), "1.4.1".into(), "1.4.0".into()],
        interrupted: None,
        problems: vec![],
    };
    if interrupted {
        h.rows.push(row(NOW - 20 * 60_000, OpKind::Deploy, "1.6.0", "interrupted", None, "alice", "reached verify"));
        h.interrupted = Some(Interrupted {
            id: format!("op-{}", NOW - 20 * 60_000),
            env: "staging".into(),
            kind: OpKind::Deploy,
            version: "1.6.0".into(),
            rollback_point: Some("1.5.0-bad".into()),
            user: "alice".into(),
            started: NOW - 20 * 60_000,
            reached: "verify".into(),
        });
        h.problems = vec!["line 14: not JSON (a torn write?)".into()];
    }
    s.apply(Event::DeployHistory(h));
    s.apply(Event::DeployHistory(DeployHistory {
        env: "development".into(),
        rows: vec![row(
            NOW - 6 * H,
            OpKind::Deploy,
            "1.5.0",
            "verified",
            Some(120_000),
            "alice",
            "1.5.0 deployed and verified",
        )],
        points: vec!["1.5.0".into()],
        interrupted: None,
        problems: vec![],
    }));
    s.promote_from.insert("staging".into(), "development".into());
    s.promote_from.insert("production".into(), "staging".into());
}
