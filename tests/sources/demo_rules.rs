//! The demo's rule file against Prometheus's own `promtool`: it must load, and fire on the
//! situations the demo stages (scraper incident, bad deploy, slow deploy) — and not on normal
//! traffic. Needs `promtool` (Debian: prometheus); with OPSDECK_REQUIRE_TOOLS=1 a missing tool fails.

use std::process::Command;

fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("promtool is required (OPSDECK_REQUIRE_TOOLS=1): apt-get install prometheus");
        }
        eprintln!("note: promtool not found; skipping (install the Debian package prometheus)");
        return None;
    }
    Some("promtool")
}

const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo_alert_rules.yml");

#[test]
fn promtool_accepts_the_demo_rules() {
    let Some(p) = promtool() else { return };
    let out = Command::new(p).args(["check", "rules", RULES]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn demo_rules_fire_on_the_staged_situations_only() {
    let Some(p) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Errors start at 60 s (the staged incident), one every 5 s; staging serves 40% 5xx with a
    // third of requests in the (1, 5] s bucket (a bad and slow build); production serves 0.5% 5xx.
    let test = format!(
        r#"rule_files: [{RULES}]
evaluation_interval: 5s
tests:
  - interval: 5s
    input_series:
      - series: 'scraper_requests_total{{env="production",platform="linkedin",status="error"}}'
        values: '0+0x12 0+1x40'
      - series: 'scraper_requests_total{{env="production",platform="twitter",status="error"}}'
        values: '0+0x20 1+0x30'
      - series: 'http_requests_total{{env="staging",status="500",endpoint="/x",method="GET"}}'
        values: '0+4x40'
      - series: 'http_requests_total{{env="staging",status="200",endpoint="/x",method="GET"}}'
        values: '0+6x40'
      - series: 'http_requests_total{{env="production",status="500",endpoint="/x",method="GET"}}'
        values: '0+1x40'
      - series: 'http_requests_total{{env="production",status="200",endpoint="/x",method="GET"}}'
        values: '0+199x40'
      - series: 'http_request_duration_seconds_bucket{{env="staging",le="1"}}'
        values: '0+1x40'
      - series: 'http_request_duration_seconds_bucket{{env="staging",le="5"}}'
        values: '0+10x40'
      - series: 'http_request_duration_seconds_bucket{{env="staging",le="+Inf"}}'
        values: '0+10x40'
      - series: 'http_request_duration_seconds_bucket{{env="production",le="0.1"}}'
        values: '0+95x40'
      - series: 'http_request_duration_seconds_bucket{{env="production",le="1"}}'
        values: '0+100x40'
      - series: 'http_request_duration_seconds_bucket{{env="production",le="+Inf"}}'
        values: '0+100x40'
    alert_rule_test:
      - eval_time: 80s
        alertname: ScraperFailures
        exp_alerts: []
      - eval_time: 150s
        alertname: ScraperFailures
        exp_alerts:
          - exp_labels: {{severity: warning, env: production, platform: linkedin}}
            exp_annotations:
              summary: "production: 17 linkedin scrape errors in 2m"
              description: "Scraper workers in production failed more than 5 linkedin scrape jobs in the last two minutes. The platform may be rate-limiting us (HTTP 429) or have changed its markup."
              runbook_url: https://runbooks.revolvr.example.org/scrapers/failures
      - eval_time: 150s
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels: {{severity: critical, env: staging}}
            exp_annotations:
              summary: "staging: 40% of API requests fail with 5xx"
              description: "More than 5% of requests to the revolvr API in staging returned a 5xx status over the last minute. A bad deploy is the usual cause: compare with the last release and roll back."
              runbook_url: https://runbooks.revolvr.example.org/api/high-error-rate
      - eval_time: 150s
        alertname: SlowResponseTime
        exp_alerts:
          - exp_labels: {{severity: warning, env: staging}}
            exp_annotations:
              summary: "staging: API p95 latency is 4.778s"
              description: "The 95th percentile of revolvr API request latency in staging has been above 2s for 30s. Look for lock contention or a slow query introduced by the running version."
              runbook_url: https://runbooks.revolvr.example.org/api/slow-response-time
"#
    );
    let path = dir.path().join("demo_rules_test.yml");
    std::fs::write(&path, test).unwrap();
    let out = Command::new(p).args(["test", "rules"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
