//! The flow against a scripted environment on a manual clock: no real sleeps, no network.

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::model::GateVerdict;

/// A pretend environment: the driver switches the running version after `switch_ms`; what a
/// version does is decided by its name, as in the demo fleet.
struct Fake {
    clock: ManualClock,
    running: String,
    pending: Option<(String, Millis)>,
    switch_ms: Millis,
    calls: Vec<DriverCall>,
    /// Driver results to hand out, in order (then `ok`).
    driver: Vec<DriverResult>,
    unreachable: u32,
    gates: Vec<&'static str>,
    /// Gate evaluations happen every this many ms (0: never).
    scrape_ms: Millis,
    cancel_at: Option<Millis>,
    /// The components' verdicts the pre-check sees.
    components: Vec<crate::model::ComponentStatus>,
}

impl Fake {
    fn new(running: &str) -> Fake {
        Fake {
            clock: ManualClock::at(1_000_000),
            running: running.into(),
            pending: None,
            switch_ms: 1_500,
            calls: vec![],
            driver: vec![],
            unreachable: 0,
            gates: vec!["HighErrorRate", "SlowResponseTime"],
            scrape_ms: 1_000,
            cancel_at: None,
            components: vec![],
        }
    }

    fn settle(&mut self) {
        if let Some((v, at)) = self.pending.clone() {
            if self.clock.now() >= at {
                self.running = v;
                self.pending = None;
            }
        }
    }
}

impl Ports for Fake {
    fn now(&self) -> Millis {
        self.clock.now()
    }
    async fn sleep(&mut self, d: Duration) {
        self.clock.advance(d.as_millis() as Millis);
    }
    async fn health(&mut self) -> Option<HealthObs> {
        self.settle();
        if self.unreachable > 0 {
            self.unreachable -= 1;
            return Some(HealthObs {
                up: false,
                version: None,
                reason: Some("connection refused".into()),
                answered: false,
            });
        }
        let bad = self.running.contains("bad");
        Some(HealthObs {
            up: !bad,
            version: Some(self.running.clone()),
            reason: bad.then(|| "HTTP 503".into()),
            answered: true,
        })
    }
    fn gates(&mut self) -> Option<GateReport> {
        self.settle();
        if self.gates.is_empty() || self.scrape_ms == 0 {
            return None;
        }
        let now = self.clock.now();
        let verdicts = self
            .gates
            .iter()
            .map(|g| {
                let outcome = match (*g, self.running.as_str()) {
                    ("SlowResponseTime", v) if v.contains("slow") => CheckOutcome::Failure,
                    ("NoData", _) => CheckOutcome::Inconclusive,
                    _ => CheckOutcome::Success,
                };
                GateVerdict { name: g.to_string(), outcome, value: Some(1.0), detail: outcome.as_str().into() }
            })
            .collect();
        Some(GateReport {
            seq: (now / self.scrape_ms) as u64,
            at: now,
            verdicts,
            targets_up: 2,
            targets_total: 2,
            errors: vec![],
        })
    }
    async fn first_gates(&mut self, _limit: Duration) -> Option<GateReport> {
        self.gates()
    }
    async fn drive(&mut self, call: &DriverCall, out: &mut (dyn FnMut(&str, &str) + Send)) -> DriverResult {
        self.calls.push(call.clone());
        out("stdout", &format!("switching to {}", call.version));
        let r = if self.driver.is_empty() {
            DriverResult { ok: true, detail: "accepted".into() }
        } else {
            self.driver.remove(0)
        };
        if r.ok {
            self.pending = Some((call.version.clone(), self.clock.now() + self.switch_ms));
        }
        r
    }
    fn cancelled(&self) -> bool {
        self.cancel_at.is_some_and(|t| self.clock.now() >= t)
    }
}

fn settings() -> Settings {
    Settings {
        health_checks: 10,
        health_interval: Duration::from_secs(1),
        bake: Duration::from_secs(10),
        failure_limit: 0,
        consecutive_error_limit: 4,
        gates: vec!["HighErrorRate".into(), "SlowResponseTime".into()],
    }
}

struct Done {
    out: Outcome,
    fake: Fake,
    history: super::super::journal::History,
    said: Vec<String>,
}

async fn run_with(
    mut fake: Fake,
    kind: OpKind,
    version: &str,
    last_verified: Option<&str>,
    force: bool,
    s: Settings,
) -> Done {
    let dir = tempfile::tempdir().unwrap();
    let mut j = OpJournal::open(dir.path(), "staging", "op1".into(), fake.clock.shared()).unwrap();
    j.write(Rec::Start {
        env: "staging".into(),
        operation: kind,
        version: version.into(),
        previous: Some(fake.running.clone()),
        user: "alice".into(),
        host: "h".into(),
        pid: u32::MAX,
        deadline: 0,
        forced: force,
        via: "test".into(),
    })
    .unwrap();
    let pre = fake.health().await;
    let plan = Plan {
        env: "staging".into(),
        kind,
        version: version.into(),
        force,
        settings: s,
        last_verified: last_verified.map(str::to_string),
        pre,
        components: fake.components.clone(),
    };
    let mut said = Vec::new();
    let mut sink = |p: &DeployProgress, w: Said| {
        if let Said::Message = w {
            said.push(p.message.clone());
        }
    };
    let started = std::time::Instant::now();
    let out = execute(&mut fake, &mut j, &mut sink, plan).await;
    // Really sleeping would take the bake (10 s) or ten health intervals (10 s); the bound leaves
    // room for a loaded 2-core machine (2 s was exceeded under a parallel suite plus a build).
    assert!(started.elapsed() < Duration::from_secs(8), "the flow never really sleeps");
    let history = super::super::journal::History::load(dir.path(), "staging");
    Done { out, fake, history, said }
}

async fn deploy(fake: Fake, version: &str, last_verified: Option<&str>) -> Done {
    run_with(fake, OpKind::Deploy, version, last_verified, false, settings()).await
}

#[tokio::test]
async fn a_good_version_is_verified_and_becomes_a_point() {
    let d = deploy(Fake::new("1.5.0"), "1.6.0", None).await;
    assert_eq!(d.out.last, Final::Verified, "{}", d.out.summary);
    assert_eq!(d.out.running.as_deref(), Some("1.6.0"));
    assert_eq!(d.fake.calls.len(), 1);
    assert_eq!(d.fake.calls[0].previous, "1.5.0");
    let op = &d.history.operations[0];
    assert_eq!(op.outcome, "verified");
    assert_eq!((op.rollback_point.as_deref(), op.rollback_point_basis.as_deref()), (Some("1.5.0"), Some("baseline")));
    assert_eq!(d.history.last_verified().unwrap().version, "1.6.0");
    assert!(d.out.summary.contains("bake 10s passed"), "{}", d.out.summary);
    // 2 checks to see the switch (1.5 s), then a 10 s bake: the manual clock moved ~12 s.
    assert!(d.said.iter().any(|m| m.contains("verify check 2/10: success")), "{:?}", d.said);
}

#[tokio::test]
async fn a_bad_version_is_rolled_back_to_the_last_verified_point() {
    // 1.5.1 runs but was never verified: the rollback goes to 1.5.0, not merely the previous.
    let d = deploy(Fake::new("1.5.1"), "1.6.0-bad", Some("1.5.0")).await;
    assert_eq!(d.out.last, Final::RolledBack, "{}", d.out.summary);
    assert_eq!(d.out.running.as_deref(), Some("1.5.0"));
    assert_eq!(
        d.fake.calls[1],
        DriverCall { step: DriverStep::Rollback, version: "1.5.0".into(), previous: "1.6.0-bad".into() }
    );
    assert!(d.out.summary.contains("HTTP 503"), "{}", d.out.summary);
    assert_eq!(d.history.operations[0].outcome, "rolled back");
    assert_eq!(d.history.last_verified().unwrap().version, "1.5.0", "the verified rollback re-verifies its point");
    assert_eq!(d.out.last.exit_code(), 3);
}

#[tokio::test]
async fn a_slow_version_is_rolled_back_by_its_gate_in_bake() {
    let d = deploy(Fake::new("1.5.0"), "1.6.0-slow", None).await;
    assert_eq!(d.out.last, Final::RolledBack);
    assert!(d.out.summary.contains("gate SlowResponseTime fired during bake"), "{}", d.out.summary);
}

#[tokio::test]
async fn a_gate_without_data_fails_the_bake() {
    let mut f = Fake::new("1.5.0");
    f.gates = vec!["NoData"];
    let mut s = settings();
    s.gates = vec!["NoData".into()];
    let d = run_with(f, OpKind::Deploy, "1.6.0", None, false, s).await;
    assert_eq!(d.out.last, Final::RolledBack);
    assert!(d.out.summary.contains("gate NoData had no data"), "{}", d.out.summary);
}

#[tokio::test]
async fn a_bake_without_any_gate_evaluation_is_not_a_success() {
    let mut f = Fake::new("1.5.0");
    f.scrape_ms = 0;
    // The pre-check needs the metrics source: forced past it, the bake still sees nothing.
    let d = run_with(f, OpKind::Deploy, "1.6.0", None, true, settings()).await;
    assert_eq!(d.out.last, Final::RolledBack);
    assert!(d.out.summary.contains("no gate was evaluated"), "{}", d.out.summary);
}

#[tokio::test]
async fn a_failing_rollback_is_its_own_loud_state() {
    let mut f = Fake::new("1.5.0");
    f.driver = vec![
        DriverResult { ok: true, detail: "accepted".into() },
        DriverResult { ok: false, detail: "exit 1: registry unreachable".into() },
    ];
    let d = deploy(f, "1.6.0-bad", None).await;
    assert_eq!(d.out.last, Final::RollbackFailed);
    assert_eq!(d.out.last.exit_code(), 4);
    assert!(d.out.summary.contains("FAILED") && d.out.summary.contains("registry unreachable"), "{}", d.out.summary);
    assert!(d.history.last_verified().is_none(), "nothing was verified");
}

#[tokio::test]
async fn refusals_change_nothing_unless_forced() {
    let d = deploy(Fake::new("1.5.0-bad"), "1.6.0", None).await;
    assert_eq!(d.out.last, Final::Refused);
    assert!(d.fake.calls.is_empty());
    assert!(d.out.summary.contains("unhealthy") && d.out.summary.contains("--force"), "{}", d.out.summary);

    let d = deploy(Fake::new("1.5.0-slow"), "1.6.0", None).await;
    assert_eq!(d.out.last, Final::Refused, "a firing gate refuses");
    assert!(d.out.summary.contains("SlowResponseTime"), "{}", d.out.summary);

    let d = run_with(Fake::new("1.5.0-slow"), OpKind::Deploy, "1.6.0", None, true, settings()).await;
    assert_eq!(d.out.last, Final::Verified, "forced: {}", d.out.summary);
    assert!(d.history.operations[0].forced);
}

#[tokio::test]
async fn an_unhealthy_component_blocks_a_deploy_never_a_rollback() {
    let comp = |state| {
        let cfg: crate::config::ComponentConfig =
            toml::from_str("name = \"redis\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"").unwrap();
        let mut c = crate::components::Tracker::new("staging", &cfg, 0).status().clone();
        c.state = state;
        c.reason = Some("connection refused".into());
        c
    };
    let mut fake = Fake::new("1.5.0");
    fake.components = vec![comp(crate::model::ComponentState::Unhealthy)];
    let d = deploy(fake, "1.6.0", None).await;
    assert_eq!(d.out.last, Final::Refused);
    assert!(d.fake.calls.is_empty(), "nothing was changed");
    assert!(d.out.summary.contains("component redis (connection refused) unhealthy"), "{}", d.out.summary);

    let mut fake = Fake::new("1.5.0");
    fake.components = vec![comp(crate::model::ComponentState::Unhealthy)];
    let d = run_with(fake, OpKind::Rollback, "1.4.0", Some("1.4.0"), false, settings()).await;
    assert_ne!(d.out.last, Final::Refused, "a rollback is the way out: {}", d.out.summary);

    let mut fake = Fake::new("1.5.0");
    fake.components = vec![comp(crate::model::ComponentState::Healthy)];
    let d = deploy(fake, "1.6.0", None).await;
    assert_eq!(d.out.last, Final::Verified, "{}", d.out.summary);
    assert!(d.said.iter().any(|m| m == "pre-check: components redis healthy"), "{:?}", d.said);
}

#[tokio::test]
async fn errors_count_apart_from_failures() {
    // Three unreachable checks in a row (limit 4) are not a failure.
    let mut f = Fake::new("1.5.0");
    f.unreachable = 4; // one is taken by the pre-check
    let d = run_with(f, OpKind::Deploy, "1.6.0", None, true, settings()).await;
    assert_eq!(d.out.last, Final::Verified, "{}", d.out.summary);

    let mut f = Fake::new("1.5.0");
    f.unreachable = 5;
    // The pre-check could not see what runs either: only a verified point makes a rollback possible.
    let d = run_with(f, OpKind::Deploy, "1.6.0", Some("1.5.0"), true, settings()).await;
    assert_eq!(d.out.last, Final::RolledBack, "{}", d.out.summary);
    assert!(d.out.summary.contains("could not be measured 4 times in a row"), "{}", d.out.summary);
}

#[tokio::test]
async fn a_cancel_leads_to_a_rollback() {
    let mut f = Fake::new("1.5.0");
    f.cancel_at = Some(f.clock.now() + 5_000);
    let d = deploy(f, "1.6.0", None).await;
    assert_eq!(d.out.last, Final::RolledBack);
    assert!(d.out.summary.contains("cancelled by the operator"), "{}", d.out.summary);
}

#[tokio::test]
async fn an_explicit_rollback_is_verified_and_has_no_bake() {
    let d = run_with(Fake::new("1.6.0-bad"), OpKind::Rollback, "1.5.0", Some("1.5.0"), false, settings()).await;
    assert_eq!(d.out.last, Final::Verified, "{}", d.out.summary);
    assert_eq!(d.fake.calls[0].step, DriverStep::Rollback);
    assert!(!d.said.iter().any(|m| m.starts_with("bake")), "{:?}", d.said);

    let mut f = Fake::new("1.6.0-bad");
    f.driver = vec![DriverResult { ok: false, detail: "exit 1".into() }];
    let d = run_with(f, OpKind::Rollback, "1.5.0", Some("1.5.0"), false, settings()).await;
    assert_eq!(d.out.last, Final::RollbackFailed);
}
