//! The demo's traffic simulation. Nothing runs in the background: each service's state is advanced
//! by the wall-clock time elapsed since it was last looked at (a scrape, a log poll), so an idle
//! fleet costs no CPU and a watched one moves like a real app.

use super::applog::{self, LogRing, Record};
use super::expo::Expo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Versions the demo treats as healthy; anything containing `bad` or `slow` misbehaves.
pub const HEALTHY_VERSIONS: [&str; 3] = ["1.4.0", "1.4.1", "1.5.0"];

/// Histogram bucket bounds of `http_request_duration_seconds` (the Python client's defaults).
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const BUCKET_LABELS: [&str; 12] =
    ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

/// Longest stretch of unobserved time simulated in one step; after a long idle the counters simply
/// resume (nobody was looking), instead of one scrape paying for hours of simulated requests.
const MAX_STEP: Duration = Duration::from_secs(300);

/// How busy an environment is.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// API requests per second, on average.
    pub rps: f64,
    /// Chance that an ordinary successful request writes a log line.
    pub log_prob: f64,
    /// Scrape jobs per second per platform.
    pub scraper_rps: f64,
}

pub fn profile(env: &str) -> Profile {
    match env {
        "production" => Profile { rps: 40.0, log_prob: 0.05, scraper_rps: 1.5 },
        "staging" => Profile { rps: 9.0, log_prob: 0.15, scraper_rps: 0.6 },
        _ => Profile { rps: 3.0, log_prob: 0.4, scraper_rps: 0.25 },
    }
}

/// The staged incident (design §4): about a minute after start, one platform of one scraper worker
/// starts failing (rate-limited), for four minutes; the cycle repeats every ten minutes so a fleet
/// left running shows it again.
pub struct Incident {
    pub env: &'static str,
    pub worker: usize,
    pub platform: &'static str,
    pub start: Duration,
    pub length: Duration,
    pub period: Duration,
}

pub const INCIDENT: Incident = Incident {
    env: "production",
    worker: 1,
    platform: "linkedin",
    start: Duration::from_secs(60),
    length: Duration::from_secs(240),
    period: Duration::from_secs(600),
};

impl Incident {
    pub fn active(&self, since_start: Duration) -> bool {
        let phase = Duration::from_millis((since_start.as_millis() % self.period.as_millis()) as u64);
        phase >= self.start && phase < self.start + self.length
    }
}

/// What a version does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    pub bad: bool,
    pub slow: bool,
}

impl Behaviour {
    pub fn of(version: &str) -> Behaviour {
        let v = version.to_ascii_lowercase();
        Behaviour { bad: v.contains("bad"), slow: v.contains("slow") }
    }
}

struct Endpoint {
    method: &'static str,
    path: &'static str,
    /// Share of traffic.
    weight: f64,
    /// Median latency, seconds.
    median: f64,
    module: &'static str,
    function: &'static str,
    line: u32,
    /// Calls an AI provider.
    ai: bool,
}

const ENDPOINTS: [Endpoint; 8] = [
    Endpoint {
        method: "GET",
        path: "/api/v1/feed",
        weight: 0.32,
        median: 0.045,
        module: "feed",
        function: "get_feed",
        line: 58,
        ai: false,
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/posts/{id}",
        weight: 0.2,
        median: 0.028,
        module: "posts",
        function: "get_post",
        line: 112,
        ai: false,
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/posts",
        weight: 0.07,
        median: 0.085,
        module: "posts",
        function: "create_post",
        line: 140,
        ai: false,
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/search",
        weight: 0.12,
        median: 0.11,
        module: "search",
        function: "search",
        line: 37,
        ai: false,
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/users/me",
        weight: 0.12,
        median: 0.018,
        module: "users",
        function: "get_me",
        line: 24,
        ai: false,
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/auth/login",
        weight: 0.05,
        median: 0.17,
        module: "auth",
        function: "login",
        line: 71,
        ai: false,
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/ai/summarize",
        weight: 0.06,
        median: 0.85,
        module: "ai",
        function: "summarize",
        line: 95,
        ai: true,
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/scrape/jobs",
        weight: 0.06,
        median: 0.06,
        module: "scrape",
        function: "enqueue_job",
        line: 45,
        ai: false,
    },
];

/// (provider, model, share, USD per million input tokens, USD per million output tokens)
const MODELS: [(&str, &str, f64, f64, f64); 3] = [
    ("openai", "gpt-4o-mini", 0.6, 0.15, 0.60),
    ("openai", "gpt-4o", 0.15, 2.50, 10.0),
    ("anthropic", "claude-3-5-haiku", 0.25, 0.80, 4.0),
];

struct Hist {
    buckets: [u64; 12],
    sum: f64,
    count: u64,
}

/// Randomness helpers the simulation shares.
struct Dice(StdRng);

impl Dice {
    fn new() -> Dice {
        Dice(StdRng::from_os_rng())
    }
    fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn normal(&mut self) -> f64 {
        // Box-Muller; 1-u keeps ln away from 0.
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let l = (-lambda).exp();
            let mut k = 0u64;
            let mut p = 1.0;
            loop {
                p *= self.unit();
                if p <= l {
                    return k;
                }
                k += 1;
            }
        }
        (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.random_range(lo..hi)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.0.random_range(0..items.len())]
    }
}

/// A slowly wandering load factor (mean-reverting random walk) times a ten-minute wave, so request
/// rates drift like real traffic instead of sitting flat.
struct Load {
    level: f64,
}

impl Load {
    fn step(&mut self, dice: &mut Dice, dt: f64, since_start: f64) -> f64 {
        let theta = 0.02;
        self.level += theta * (1.0 - self.level) * dt + 0.06 * dt.sqrt() * dice.normal();
        self.level = self.level.clamp(0.6, 1.5);
        let wave = 1.0 + 0.2 * (2.0 * std::f64::consts::PI * since_start / 600.0).sin();
        self.level * wave
    }
}

/// One environment's API service.
pub struct ApiSim {
    env: String,
    profile: Profile,
    version: String,
    /// A deploy in flight: the version it switches to.
    pub pending: Option<String>,
    /// Bumped by each deploy so a superseded deploy's timer does nothing.
    pub deploy_generation: u64,
    fleet_start: Instant,
    last: Instant,
    dice: Dice,
    load: Load,
    requests: BTreeMap<(usize, u16), u64>,
    hist: Vec<Hist>,
    ai_requests: BTreeMap<(usize, &'static str), u64>,
    ai_cost: [f64; 3],
    logs: LogRing,
    next_request: u64,
}

impl ApiSim {
    pub fn new(env: &str, version: &str, fleet_start: Instant) -> ApiSim {
        let now = Instant::now();
        let mut sim = ApiSim {
            env: env.to_string(),
            profile: profile(env),
            version: version.to_string(),
            pending: None,
            deploy_generation: 0,
            fleet_start,
            last: now,
            dice: Dice::new(),
            load: Load { level: 1.0 },
            requests: BTreeMap::new(),
            hist: ENDPOINTS.iter().map(|_| Hist { buckets: [0; 12], sum: 0.0, count: 0 }).collect(),
            ai_requests: BTreeMap::new(),
            ai_cost: [0.0; 3],
            logs: LogRing::new(5000),
            next_request: 1,
        };
        sim.log_event(
            "INFO",
            "revolvr.main",
            &format!("revolvr api {version} started in {env}"),
            "main",
            "startup",
            33,
        );
        sim
    }

    /// The staged backups (issue 14): production archives continuously (a base backup every 5
    /// minutes), staging hourly, and development's nightly job has failed since the day before
    /// yesterday: its last good backup is 36 h old 90 s after start, overdue under "daily".
    pub fn last_backup(&self) -> f64 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let up = self.fleet_start.elapsed().as_secs_f64();
        let age = match self.env.as_str() {
            "production" => (up + 200.0) % 300.0,
            "staging" => (up + 1200.0) % 3600.0,
            _ => 36.0 * 3600.0 - 90.0 + up,
        };
        (now - age).floor()
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn behaviour(&self) -> Behaviour {
        Behaviour::of(&self.version)
    }

    pub fn logs(&self) -> &LogRing {
        &self.logs
    }

    /// Switch the running version (the end of a deploy), with the log lines a restart writes.
    pub fn set_version(&mut self, version: &str) {
        self.advance(Instant::now());
        let old = std::mem::replace(&mut self.version, version.to_string());
        self.pending = None;
        self.log_event(
            "INFO",
            "revolvr.main",
            &format!("shutting down revolvr api {old} (deploy of {version})"),
            "main",
            "shutdown",
            61,
        );
        self.log_event(
            "INFO",
            "revolvr.main",
            &format!("revolvr api {version} started in {}", self.env),
            "main",
            "startup",
            33,
        );
        if Behaviour::of(version).bad {
            self.log_event(
                "ERROR",
                "revolvr.db",
                "connection pool exhausted at startup: 0 of 20 connections healthy",
                "pool",
                "warm_up",
                88,
            );
        }
    }

    pub fn log_event(
        &mut self,
        level: &'static str,
        logger: &'static str,
        msg: &str,
        module: &'static str,
        function: &'static str,
        line: u32,
    ) {
        self.logs.push(&Record {
            timestamp: applog::timestamp(chrono::Utc::now()),
            level,
            logger,
            message: msg.to_string(),
            module,
            function,
            line,
            user_id: None,
            request_id: None,
            duration: None,
            exception: None,
        });
    }

    /// Simulate the requests that arrived since the last look.
    pub fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        if elapsed < Duration::from_millis(20) {
            return;
        }
        self.last = now;
        let dt = elapsed.min(MAX_STEP).as_secs_f64();
        let since_start = now.saturating_duration_since(self.fleet_start);
        let rate = self.profile.rps * self.load.step(&mut self.dice, dt, since_start.as_secs_f64());
        let behaviour = self.behaviour();
        let wall_now = chrono::Utc::now();
        let mut lines: Vec<(f64, Record)> = Vec::new();
        for (ei, ep) in ENDPOINTS.iter().enumerate() {
            let n = self.dice.poisson(rate * ep.weight * dt);
            for _ in 0..n {
                let at = self.dice.unit() * dt;
                let status = self.status(ep, behaviour);
                let latency = self.latency(ep, behaviour, status);
                *self.requests.entry((ei, status)).or_insert(0) += 1;
                let h = &mut self.hist[ei];
                let b = BUCKETS.iter().position(|&b| latency <= b).unwrap_or(BUCKETS.len());
                h.buckets[b] += 1;
                h.sum += latency;
                h.count += 1;
                let ai = if ep.ai && status < 500 { Some(self.ai_call(behaviour)) } else { None };
                if lines.len() < 4000 {
                    self.request_logs(&mut lines, ei, status, latency, ai, at, behaviour);
                }
            }
        }
        if INCIDENT.env == self.env && INCIDENT.active(since_start) {
            let n = self.dice.poisson(0.4 * dt);
            for _ in 0..n {
                let at = self.dice.unit() * dt;
                let job = format!("job-{:06x}", self.dice.range(0, 0xffffff));
                lines.push((
                    at,
                    self.record(
                        "ERROR",
                        "revolvr.scrapers.linkedin",
                        format!("LinkedIn returned 429 Too Many Requests for {job} (attempt 3/3); giving up"),
                        ("linkedin", "fetch_profile", 203),
                        None,
                        None,
                        None,
                    ),
                ));
            }
        }
        lines.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (at, mut rec) in lines {
            let back = chrono::Duration::microseconds(((dt - at) * 1e6) as i64);
            rec.timestamp = applog::timestamp(wall_now - back);
            self.logs.push(&rec);
        }
    }

    fn status(&mut self, ep: &Endpoint, b: Behaviour) -> u16 {
        let p5xx = if b.bad { 0.40 } else { 0.005 };
        let r = self.dice.unit();
        if r < p5xx {
            let r = self.dice.unit();
            return if r < 0.6 {
                500
            } else if r < 0.75 {
                502
            } else {
                503
            };
        }
        if r < p5xx + 0.03 {
            return *self.dice.pick(&[400, 401, 404, 404, 429]);
        }
        if ep.method == "POST" && ep.function.starts_with("create") {
            201
        } else {
            200
        }
    }

    fn latency(&mut self, ep: &Endpoint, b: Behaviour, status: u16) -> f64 {
        if status >= 500 && b.bad {
            // Failing fast: the new code throws before doing the work.
            return self.dice.lognormal(0.012, 0.5);
        }
        let mut l = self.dice.lognormal(ep.median, 0.55);
        // A slow version holds a lock across a query: a third of requests wait seconds for it.
        if b.slow && self.dice.chance(0.3) {
            l += 2.5 + self.dice.unit() * 3.5;
        }
        l.min(30.0)
    }

    /// One AI provider call; returns (model index, ok, tokens in, tokens out, cost).
    fn ai_call(&mut self, b: Behaviour) -> (usize, bool, u64, u64, f64) {
        let r = self.dice.unit();
        let mut acc = 0.0;
        let mut mi = MODELS.len() - 1;
        for (i, m) in MODELS.iter().enumerate() {
            acc += m.2;
            if r < acc {
                mi = i;
                break;
            }
        }
        let ok = !self.dice.chance(if b.bad { 0.05 } else { 0.01 });
        let (tin, tout) = if ok { (self.dice.range(400, 2400), self.dice.range(80, 900)) } else { (0, 0) };
        let m = MODELS[mi];
        let cost = (tin as f64 * m.3 + tout as f64 * m.4) / 1e6;
        *self.ai_requests.entry((mi, if ok { "success" } else { "error" })).or_insert(0) += 1;
        self.ai_cost[mi] += cost;
        (mi, ok, tin, tout, cost)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        level: &'static str,
        logger: &'static str,
        message: String,
        (module, function, line): (&'static str, &'static str, u32),
        user_id: Option<String>,
        request_id: Option<String>,
        duration: Option<f64>,
    ) -> Record {
        Record {
            timestamp: String::new(),
            level,
            logger,
            message,
            module,
            function,
            line,
            user_id,
            request_id,
            duration: duration.map(|d| (d * 1e4).round() / 1e4),
            exception: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn request_logs(
        &mut self,
        out: &mut Vec<(f64, Record)>,
        ei: usize,
        status: u16,
        latency: f64,
        ai: Option<(usize, bool, u64, u64, f64)>,
        at: f64,
        b: Behaviour,
    ) {
        let ep = &ENDPOINTS[ei];
        let p = self.profile.log_prob;
        let wanted = status >= 500 || latency > 1.0 || (status >= 400 && self.dice.chance(0.5)) || self.dice.chance(p);
        if !wanted {
            return;
        }
        let rid = format!("req-{:08x}", self.next_request.wrapping_mul(0x9e37_79b1) & 0xffff_ffff);
        self.next_request += 1;
        let user = format!("u{}", self.dice.range(1, 5000));
        let site = (ep.module, ep.function, ep.line);
        let what = format!("{} {}", ep.method, ep.path);
        // Some requests log more than once: the same request_id on several lines, as a real app's
        // middleware, db layer and handler would.
        if let Some((mi, ok, tin, tout, cost)) = ai {
            let (provider, model, ..) = MODELS[mi];
            let msg = if ok {
                format!("{provider} {model}: {tin} tokens in, {tout} out, ${cost:.5}")
            } else {
                format!("{provider} {model}: request failed (rate limited), falling back to cache")
            };
            let level = if ok { "INFO" } else { "WARNING" };
            let rec = self.record(
                level,
                "revolvr.ai",
                msg,
                ("client", "complete", 127),
                Some(user.clone()),
                Some(rid.clone()),
                Some(latency * 0.9),
            );
            out.push((at * 0.999, rec));
        } else if self.dice.chance(0.3) {
            let q = latency * self.dice.unit() * 0.6;
            let rec = self.record(
                "INFO",
                "revolvr.db",
                format!("query {} took {:.1}ms", ep.function, q * 1000.0),
                ("pool", "fetch", 51),
                Some(user.clone()),
                Some(rid.clone()),
                Some(q),
            );
            out.push((at * 0.999, rec));
        }
        let rec = if status >= 500 {
            let mut r = self.record(
                "ERROR",
                "revolvr.api",
                format!("{what} failed with {status}"),
                site,
                Some(user),
                Some(rid),
                Some(latency),
            );
            if b.bad || status == 500 {
                r.exception = Some(self.traceback(ep, b));
            }
            r
        } else if status >= 400 {
            self.record(
                "WARNING",
                "revolvr.api",
                format!("{what} -> {status}"),
                site,
                Some(user),
                Some(rid),
                Some(latency),
            )
        } else if latency > 1.0 {
            self.record(
                "WARNING",
                "revolvr.api",
                format!("slow request: {what} took {latency:.2}s"),
                site,
                Some(user),
                Some(rid),
                Some(latency),
            )
        } else {
            self.record(
                "INFO",
                "revolvr.api",
                format!("{what} -> {status}"),
                site,
                Some(user),
                Some(rid),
                Some(latency),
            )
        };
        out.push((at, rec));
    }

    fn traceback(&mut self, ep: &Endpoint, b: Behaviour) -> String {
        let head = format!(
            "Traceback (most recent call last):\n  File \"/app/revolvr/api/{}.py\", line {}, in {}\n",
            ep.module, ep.line, ep.function
        );
        let tail = if b.bad {
            *self.dice.pick(&[
                "  File \"/app/revolvr/db/pool.py\", line 88, in acquire\n    conn = await self._pool.acquire(timeout=2.0)\nasyncpg.exceptions.TooManyConnectionsError: sorry, too many clients already",
                "  File \"/app/revolvr/settings/flags.py\", line 19, in get\n    return self._flags[name]\nKeyError: 'feed_ranking_v2'",
                "  File \"/app/revolvr/cache/redis.py\", line 64, in get\n    raw = await self._redis.get(key)\nredis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
            ])
        } else {
            *self.dice.pick(&[
                "  File \"/app/revolvr/db/pool.py\", line 51, in fetch\n    rows = await conn.fetch(query, *args)\nasyncpg.exceptions.QueryCanceledError: canceling statement due to statement timeout",
                "  File \"/app/revolvr/services/feed.py\", line 140, in rank\n    score = item.engagement / item.age_hours\nZeroDivisionError: division by zero",
            ])
        };
        format!("{head}{tail}")
    }

    /// The Prometheus exposition of everything counted so far.
    pub fn render(&self) -> String {
        let mut e = Expo::new();
        e.family("http_requests_total", "counter", "Total HTTP requests by method, endpoint and status.");
        for (&(ei, status), &n) in &self.requests {
            let ep = &ENDPOINTS[ei];
            let st = status.to_string();
            e.sample("http_requests_total", &[("method", ep.method), ("endpoint", ep.path), ("status", &st)], n as f64);
        }
        e.family("http_request_duration_seconds", "histogram", "HTTP request latency in seconds.");
        for (ep, h) in ENDPOINTS.iter().zip(&self.hist) {
            let mut cum = 0u64;
            for (i, le) in BUCKET_LABELS.iter().enumerate() {
                cum += h.buckets[i];
                e.sample(
                    "http_request_duration_seconds_bucket",
                    &[("method", ep.method), ("endpoint", ep.path), ("le", le)],
                    cum as f64,
                );
            }
            let l = [("method", ep.method), ("endpoint", ep.path)];
            e.sample("http_request_duration_seconds_sum", &l, h.sum);
            e.sample("http_request_duration_seconds_count", &l, h.count as f64);
        }
        e.family("ai_requests_total", "counter", "Calls to AI providers by provider, model and status.");
        for (&(mi, status), &n) in &self.ai_requests {
            let (p, m, ..) = MODELS[mi];
            e.sample("ai_requests_total", &[("provider", p), ("model", m), ("status", status)], n as f64);
        }
        e.family("ai_cost_total", "counter", "Money spent on AI providers, in USD.");
        for (mi, cost) in self.ai_cost.iter().enumerate() {
            let (p, m, ..) = MODELS[mi];
            e.sample("ai_cost_total", &[("provider", p), ("model", m)], *cost);
        }
        e.family(
            "revolvr_backup_last_success_timestamp_seconds",
            "gauge",
            "When the last good database backup finished (Unix seconds).",
        );
        e.sample("revolvr_backup_last_success_timestamp_seconds", &[], self.last_backup());
        e.family("revolvr_build_info", "gauge", "The running version (always 1).");
        e.sample("revolvr_build_info", &[("version", &self.version)], 1.0);
        e.finish()
    }
}

/// Platforms each of the two scraper workers handles.
pub const WORKER_PLATFORMS: [[&str; 2]; 2] = [["twitter", "reddit"], ["linkedin", "youtube"]];

/// One scraper worker.
pub struct WorkerSim {
    env: String,
    index: usize,
    profile: Profile,
    fleet_start: Instant,
    last: Instant,
    dice: Dice,
    load: Load,
    /// (platform index, error?) -> count
    counts: BTreeMap<(usize, bool), u64>,
    active: f64,
}

impl WorkerSim {
    pub fn new(env: &str, index: usize, fleet_start: Instant) -> WorkerSim {
        WorkerSim {
            env: env.to_string(),
            index,
            profile: profile(env),
            fleet_start,
            last: Instant::now(),
            dice: Dice::new(),
            load: Load { level: 1.0 },
            counts: BTreeMap::new(),
            active: 3.0,
        }
    }

    fn incident(&self, since_start: Duration) -> Option<usize> {
        if INCIDENT.env != self.env || INCIDENT.worker != self.index || !INCIDENT.active(since_start) {
            return None;
        }
        WORKER_PLATFORMS[self.index].iter().position(|p| *p == INCIDENT.platform)
    }

    pub fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        if elapsed < Duration::from_millis(20) {
            return;
        }
        self.last = now;
        let dt = elapsed.min(MAX_STEP).as_secs_f64();
        let since_start = now.saturating_duration_since(self.fleet_start);
        let load = self.load.step(&mut self.dice, dt, since_start.as_secs_f64());
        let failing = self.incident(since_start);
        for pi in 0..2 {
            let n = self.dice.poisson(self.profile.scraper_rps * load * dt);
            let p_err = if failing == Some(pi) { 0.55 } else { 0.004 };
            let mut errors = 0;
            for _ in 0..n {
                if self.dice.chance(p_err) {
                    errors += 1;
                }
            }
            *self.counts.entry((pi, false)).or_insert(0) += n - errors;
            if errors > 0 {
                *self.counts.entry((pi, true)).or_insert(0) += errors;
            }
        }
        // Active scrapers wander between 1 and 8; a rate-limited worker backs off to one.
        let target = if failing.is_some() { 1.0 } else { 2.0 + 4.0 * load / 1.5 };
        self.active += (target - self.active) * (1.0 - (-dt / 20.0).exp()) + 0.3 * dt.sqrt() * self.dice.normal();
        self.active = self.active.clamp(1.0, 8.0);
    }

    pub fn render(&self) -> String {
        let mut e = Expo::new();
        e.family("scraper_requests_total", "counter", "Scrape jobs by platform and outcome.");
        for (pi, platform) in WORKER_PLATFORMS[self.index].iter().enumerate() {
            for (err, status) in [(false, "success"), (true, "error")] {
                // Error series appear with the first error, as a Python client's labelled counter does.
                if let Some(n) = self.counts.get(&(pi, err)) {
                    e.sample("scraper_requests_total", &[("platform", platform), ("status", status)], *n as f64);
                }
            }
        }
        e.family("active_scrapers", "gauge", "Scrapers currently running on this worker.");
        e.sample("active_scrapers", &[], self.active.round());
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str, filter: impl Fn(&str) -> bool) -> f64 {
        text.lines()
            .filter(|l| !l.starts_with('#') && filter(l))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn run_for(sim: &mut ApiSim, secs: u64) {
        // Advance in steps, as scrapes would, by moving the "last seen" instant back.
        for _ in 0..secs / 5 {
            sim.last -= Duration::from_secs(5);
            sim.advance(Instant::now());
        }
    }

    #[test]
    fn healthy_version_has_few_5xx_and_bad_many() {
        let start = Instant::now();
        let mut good = ApiSim::new("production", "1.5.0", start);
        run_for(&mut good, 300);
        let t = good.render();
        let all = count(&t, |l| l.starts_with("http_requests_total"));
        let e5 = count(&t, |l| l.starts_with("http_requests_total") && l.contains("status=\"5"));
        assert!(all > 5000.0, "{all}");
        assert!(e5 / all < 0.02, "healthy 5xx ratio {}", e5 / all);

        let mut bad = ApiSim::new("production", "1.6.0-bad", start);
        run_for(&mut bad, 300);
        let t = bad.render();
        let all = count(&t, |l| l.starts_with("http_requests_total"));
        let e5 = count(&t, |l| l.starts_with("http_requests_total") && l.contains("status=\"5"));
        assert!((0.3..0.5).contains(&(e5 / all)), "bad 5xx ratio {}", e5 / all);
    }

    #[test]
    fn slow_version_pushes_p95_over_two_seconds() {
        let start = Instant::now();
        for (version, slow) in [("1.5.0", false), ("1.6.0-slow", true)] {
            let mut sim = ApiSim::new("staging", version, start);
            run_for(&mut sim, 600);
            let total: u64 = sim.hist.iter().map(|h| h.count).sum();
            let under_2_5: u64 = sim.hist.iter().map(|h| h.buckets[..9].iter().sum::<u64>()).sum();
            let share_fast = under_2_5 as f64 / total as f64;
            assert_eq!(share_fast < 0.95, slow, "{version}: share at or under 2.5s = {share_fast}");
        }
    }

    #[test]
    fn production_is_busier_than_staging_than_development() {
        assert!(profile("production").rps > profile("staging").rps);
        assert!(profile("staging").rps > profile("development").rps);
    }

    #[test]
    fn incident_schedule() {
        assert!(!INCIDENT.active(Duration::from_secs(30)));
        assert!(INCIDENT.active(Duration::from_secs(61)));
        assert!(INCIDENT.active(Duration::from_secs(299)));
        assert!(!INCIDENT.active(Duration::from_secs(301)));
        assert!(INCIDENT.active(Duration::from_secs(661)));
    }

    #[test]
    fn worker_incident_raises_errors_on_one_platform() {
        let start = Instant::now() - Duration::from_secs(65);
        let mut w = WorkerSim::new("production", INCIDENT.worker, start);
        w.last -= Duration::from_secs(60);
        w.advance(Instant::now());
        let t = w.render();
        let errs = count(&t, |l| l.contains("platform=\"linkedin\"") && l.contains("status=\"error\""));
        assert!(errs > 5.0, "{t}");
        let other = count(&t, |l| l.contains("platform=\"youtube\"") && l.contains("status=\"error\""));
        assert!(other < 5.0, "{t}");
    }

    #[test]
    fn logs_share_request_ids_and_carry_tracebacks_when_bad() {
        let start = Instant::now();
        let mut sim = ApiSim::new("development", "1.6.0-bad", start);
        run_for(&mut sim, 120);
        let page = sim.logs().page(Some(0), 10_000);
        let mut ids = std::collections::HashMap::new();
        let mut tracebacks = 0;
        for l in page.body.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            for k in ["timestamp", "level", "logger", "message", "module", "function", "line"] {
                assert!(v.get(k).is_some(), "{k} missing in {l}");
            }
            if let Some(r) = v.get("request_id").and_then(|r| r.as_str()) {
                *ids.entry(r.to_string()).or_insert(0) += 1;
            }
            if v["level"] == "ERROR" && v.get("exception").is_some_and(|e| e.as_str().unwrap().starts_with("Traceback"))
            {
                tracebacks += 1;
            }
        }
        assert!(ids.values().any(|&n| n > 1), "some request_id repeats");
        assert!(tracebacks > 5, "{tracebacks}");
    }
}
