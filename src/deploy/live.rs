//! The flow's ports on the real world: health checks through `health::check_once`, gate
//! verdicts from the gate watcher, the `http` and `command` drivers, the wall clock.

use std::time::Duration;

use tokio::sync::watch;

use super::command::{self, Spec, Stream, Vars};
use super::flow::{DriverCall, DriverResult, DriverStep, HealthObs, Ports};
use super::gates::GateReport;
use crate::clock::SharedClock;
use crate::config::{DeployConfig, DeployDriver, HealthConfig};
use crate::model::Millis;

pub struct LivePorts {
    pub client: reqwest::Client,
    pub env: String,
    pub health: Option<HealthConfig>,
    pub deploy: DeployConfig,
    pub gates: Option<watch::Receiver<GateReport>>,
    /// Set to true by whoever may cancel (the dashboard).
    pub cancel: Option<watch::Receiver<bool>>,
    pub clock: SharedClock,
}

impl Ports for LivePorts {
    fn now(&self) -> Millis {
        self.clock.now()
    }

    async fn sleep(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    async fn health(&mut self) -> Option<HealthObs> {
        let cfg = self.health.as_ref()?;
        let r = crate::health::check_once(&self.client, cfg).await;
        Some(HealthObs { up: r.up, answered: r.http_status.is_some(), version: r.version, reason: r.reason })
    }

    fn gates(&mut self) -> Option<GateReport> {
        let rx = self.gates.as_ref()?;
        let r = rx.borrow();
        (r.seq > 0).then(|| r.clone())
    }

    async fn first_gates(&mut self, limit: Duration) -> Option<GateReport> {
        let rx = self.gates.as_mut()?;
        let wait = rx.wait_for(|r| r.seq > 0);
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(r)) => Some(r.clone()),
            _ => None,
        }
    }

    async fn drive(&mut self, call: &DriverCall, out: &mut (dyn FnMut(&str, &str) + Send)) -> DriverResult {
        match self.deploy.driver {
            DeployDriver::Http => self.drive_http(call, out).await,
            DeployDriver::Command => self.drive_command(call, out).await,
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| *c.borrow())
    }
}

impl LivePorts {
    async fn drive_http(&mut self, call: &DriverCall, out: &mut (dyn FnMut(&str, &str) + Send)) -> DriverResult {
        let r = super::http::trigger(&self.client, &self.deploy, &self.env, &call.version).await;
        let (ok, detail) = match r {
            Ok(answer) => (true, answer),
            Err(e) => (false, crate::sanitize::line(&e.to_string()).into_owned()),
        };
        out("http", &detail);
        if !ok {
            return DriverResult { ok, detail };
        }
        match self.deploy.status_url.clone() {
            Some(url) => self.poll_status_url(&url, detail, out).await,
            None => DriverResult { ok, detail },
        }
    }

    /// The `http` driver's optional status URL: polled every second until it answers 2xx, for
    /// at most `timeout`.
    async fn poll_status_url(
        &self,
        url: &str,
        trigger: String,
        out: &mut (dyn FnMut(&str, &str) + Send),
    ) -> DriverResult {
        let deadline = tokio::time::Instant::now() + self.deploy.timeout;
        let shown = crate::sanitize::line(url).into_owned();
        let mut last = String::from("no answer yet");
        while tokio::time::Instant::now() < deadline {
            let req = self.client.get(url).timeout(Duration::from_secs(10));
            match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    let status = resp.status().as_u16();
                    let body = crate::net::read_body(resp, 64 << 10).await.map(|b| b.bytes).unwrap_or_default();
                    let said = super::http::summarise(&body);
                    out("http", &format!("status {shown}: HTTP {status} {said}"));
                    return DriverResult { ok: true, detail: format!("{trigger}; status HTTP {status}") };
                }
                Ok(resp) => last = format!("HTTP {}", resp.status().as_u16()),
                Err(e) => last = crate::net::classify(&e),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        DriverResult {
            ok: false,
            detail: format!("status URL {shown} not 2xx within {}s (last: {last})", self.deploy.timeout.as_secs()),
        }
    }

    async fn drive_command(&mut self, call: &DriverCall, out: &mut (dyn FnMut(&str, &str) + Send)) -> DriverResult {
        let d = &self.deploy;
        let template =
            if call.step == DriverStep::Rollback && !d.rollback.is_empty() { &d.rollback } else { &d.deploy };
        let vars = Vars { env: &self.env, version: &call.version, previous: &call.previous };
        let extra = vec![
            ("OPSDECK_ENV".to_string(), self.env.clone()),
            ("OPSDECK_VERSION".to_string(), call.version.clone()),
            ("OPSDECK_PREVIOUS".to_string(), call.previous.clone()),
        ];
        let first = run(command::expand(template, &vars), d, &extra, out).await;
        if !first.success() {
            return DriverResult { ok: false, detail: first.describe() };
        }
        if call.step == DriverStep::Deploy && !d.status.is_empty() {
            let status = run(command::expand(&d.status, &vars), d, &extra, out).await;
            if !status.success() {
                return DriverResult { ok: false, detail: format!("status command: {}", status.describe()) };
            }
            return DriverResult {
                ok: true,
                detail: format!("{}; status command {}", first.describe(), status.describe()),
            };
        }
        DriverResult { ok: true, detail: first.describe() }
    }
}

/// One driver command, its output lines handed on as they come.
async fn run(
    argv: Vec<String>,
    d: &DeployConfig,
    extra: &[(String, String)],
    out: &mut (dyn FnMut(&str, &str) + Send),
) -> command::RunOutcome {
    let spec = Spec { argv: &argv, env_allow: &d.env_allow, extra_env: extra, timeout: d.timeout, inherit: false };
    let mut on_line = |s: Stream, line: &str| out(if s == Stream::Stderr { "stderr" } else { "stdout" }, line);
    command::run(&spec, &mut on_line).await
}
