//! Prometheus 2.42's promtool fixtures (found by `common::prometheus_testdata`) behave under
//! `opsdeck rules test` / `rules check` as under promtool; and generated unit tests give the same
//! exit code as the real promtool (when installed).

use opsdeck::rules::check::lint_files;
use opsdeck::rules::file::load_rule_file;
use opsdeck::rules::unittest::{run_test_file, run_test_file_observed, Observed};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> Option<PathBuf> {
    crate::common::prometheus_testdata("promtool")
}

#[test]
fn unit_test_fixtures() {
    let Some(d) = fixtures() else { return };
    for f in ["unittest.yml", "long-period.yml", "at-modifier-test.yml", "negative-offset-test.yml"] {
        if let Err(e) = run_test_file(&d.join(f)) {
            panic!("{f} must pass:\n{}", e.join("\n"));
        }
    }
    for f in [
        "failing.yml",
        "bad-input-series.yml",
        "bad-promql.yml",
        "bad-rules-error-test.yml",
        "bad-rules-syntax-test.yml",
    ] {
        let errs = run_test_file(&d.join(f)).expect_err(f);
        assert!(errs.iter().all(|e| !e.trim().is_empty()), "{f}: empty error");
    }
    // The syntax error names the file position of the expression, as promtool does.
    let errs = run_test_file(&d.join("bad-rules-syntax-test.yml")).unwrap_err();
    assert!(errs[0].contains("bad-rules-syntax.yml:7:15"), "{errs:?}");
}

#[test]
fn rule_check_fixtures() {
    let Some(d) = fixtures() else { return };
    for f in [
        "at-modifier.yml",
        "bad-rules-error.yml",
        "negative-offset.yml",
        "rules.yml",
        "rules_duplicates.yml",
        "prometheus-rules.lint.yml",
    ] {
        let rf = load_rule_file(&d.join(f)).unwrap_or_else(|e| panic!("{f}: {e:?}"));
        // Lints are warnings only; the duplicate alert in prometheus-rules.lint.yml is one.
        let lints = lint_files(&[rf]);
        if f == "prometheus-rules.lint.yml" {
            assert!(lints.iter().any(|l| l.msg.contains("duplicate alert")), "{lints:?}");
        }
    }
    let errs = load_rule_file(&d.join("bad-rules-syntax.yml")).unwrap_err();
    assert_eq!(errs[0].pos.map(|p| (p.line, p.col)), Some((7, 15)), "{errs:?}");
    assert_eq!(opsdeck::rules::cmd_check(&[d.join("bad-rules-syntax.yml")], false), 1);
    assert_eq!(opsdeck::rules::cmd_check(&[d.join("prometheus-rules.lint.yml")], false), 0);
    assert_eq!(opsdeck::rules::cmd_check(&[d.join("prometheus-rules.lint.yml")], true), 1);
}

fn promtool() -> Option<PathBuf> {
    let found = Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("promtool"));
    }
    if std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("promtool is required (OPSDECK_REQUIRE_TOOLS=1) but not installed");
    }
    eprintln!("note: promtool not installed; skipping the differential test");
    None
}

/// A small deterministic generator (no external crate needed for reproducibility).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A random rule file and unit test whose expectations are left to be filled in.
fn write_case(dir: &Path, i: u64) -> (PathBuf, String) {
    let mut r = Lcg(i * 7919 + 1);
    let step = [15, 30, 60][r.next(3) as usize];
    let n = 12 + r.next(30);
    let inc = 1 + r.next(20);
    let thr = r.next(8) as f64 / 4.0;
    let for_m = r.next(4);
    let kf = r.next(3);
    let rules = format!(
        "groups:\n  - name: rec\n    rules:\n      - record: env:req:rate1m\n        expr: sum by (env) (rate(req_total[1m]))\n      - record: env:req:inc2m\n        expr: sum by (env) (increase(req_total[2m])) / 2\n  - name: alerts\n    rules:\n      - alert: Hot\n        expr: env:req:rate1m > {thr}\n        for: {for_m}m\n        keep_firing_for: {kf}m\n        labels:\n          severity: critical\n          level: '{{{{ if gt $value 1.0 }}}}high{{{{ else }}}}low{{{{ end }}}}'\n        annotations:\n          summary: '{{{{ $labels.env }}}} at {{{{ $value | humanize }}}} ({{{{ $value }}}}, {{{{ printf \"%.3f\" $value }}}})'\n      - alert: Slow\n        expr: histogram_quantile(0.9, sum by (env, le) (rate(lat_bucket[2m]))) > 0.3\n        for: 1m\n        annotations:\n          summary: 'p90 {{{{ $value | humanizeDuration }}}}'\n"
    );
    std::fs::write(dir.join(format!("g{i}.rules.yml")), rules).unwrap();
    let mut series = String::new();
    for env in ["a", "b"] {
        let mut vals = vec![];
        let mut v = 0u64;
        for k in 0..n {
            if r.next(7) == 0 {
                vals.push("_".to_string());
            } else {
                v += if k > n / 3 && env == "a" { inc * 3 } else { inc };
                vals.push(v.to_string());
            }
        }
        series
            .push_str(&format!("      - series: 'req_total{{env=\"{env}\"}}'\n        values: '{}'\n", vals.join(" ")));
        let mut c = 0;
        for (le, w) in [("0.1", 5 + r.next(10)), ("0.5", 1 + r.next(10)), ("1", r.next(5)), ("+Inf", r.next(3))] {
            c += w;
            series.push_str(&format!(
                "      - series: 'lat_bucket{{env=\"{env}\",le=\"{le}\"}}'\n        values: '0+{c}x{n}'\n"
            ));
        }
    }
    let times: Vec<u64> = (0..3).map(|_| r.next(n) * step + if r.next(3) == 0 { step / 2 } else { 0 }).collect();
    let mut head = format!(
        "rule_files: [g{i}.rules.yml]\nevaluation_interval: {step}s\ngroup_eval_order: [rec, alerts]\ntests:\n  - interval: {step}s\n    input_series:\n{series}"
    );
    head.push_str("__TESTS__");
    let p = dir.join(format!("g{i}.test.yml"));
    let _ = times.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    let mut body = String::from("    alert_rule_test:\n");
    for t in &times {
        for a in ["Hot", "Slow"] {
            body.push_str(&format!("      - eval_time: {t}s\n        alertname: {a}\n        exp_alerts: []\n"));
        }
    }
    body.push_str("    promql_expr_test:\n");
    for t in &times {
        for e in ["env:req:rate1m", "env:req:inc2m", "ALERTS", "rate(req_total[1m])"] {
            body.push_str(&format!("      - expr: '{e}'\n        eval_time: {t}s\n        exp_samples: []\n"));
        }
    }
    std::fs::write(&p, head.replace("__TESTS__", &body)).unwrap();
    (p, head)
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The test with opsdeck's answers as expectations; `bump` changes the first sample value.
fn with_expectations(head: &str, o: &Observed, bump: bool) -> Option<String> {
    let mut body = String::from("    alert_rule_test:\n");
    for (_, t, name, alerts) in &o.alerts {
        body.push_str(&format!("      - eval_time: {t}ms\n        alertname: {name}\n        exp_alerts:\n"));
        if alerts.is_empty() {
            body.truncate(body.len() - 1);
            body.push_str(" []\n");
        }
        for (labels, ann) in alerts {
            let l: Vec<String> =
                labels.iter().filter(|(k, _)| k != "alertname").map(|(k, v)| format!("{k}: {}", q(v))).collect();
            let a: Vec<String> = ann.iter().map(|(k, v)| format!("{k}: {}", q(v))).collect();
            body.push_str(&format!(
                "          - exp_labels: {{{}}}\n            exp_annotations: {{{}}}\n",
                l.join(", "),
                a.join(", ")
            ));
        }
    }
    body.push_str("    promql_expr_test:\n");
    let mut bumped = false;
    for (_, e, t, samples) in &o.samples {
        body.push_str(&format!("      - expr: '{e}'\n        eval_time: {t}ms\n        exp_samples:\n"));
        if samples.is_empty() {
            body.truncate(body.len() - 1);
            body.push_str(" []\n");
        }
        for (l, v) in samples {
            if v.is_nan() {
                return None;
            }
            let mut v = *v;
            if bump && !bumped {
                v += 1e-3 * v.abs().max(1.0);
                bumped = true;
            }
            let v = if v.is_infinite() {
                if v > 0.0 {
                    ".inf".to_string()
                } else {
                    "-.inf".to_string()
                }
            } else {
                format!("{v:?}")
            };
            body.push_str(&format!("          - labels: {}\n            value: {v}\n", q(&l.to_string())));
        }
    }
    if bump && !bumped {
        return None;
    }
    Some(head.replace("__TESTS__", &body))
}

#[test]
fn generated_tests_agree_with_promtool() {
    let Some(pt) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut disagree = vec![];
    let mut checked = 0;
    let (mut firing, mut samples) = (0, 0);
    for i in 0..20 {
        let (p, head) = write_case(dir.path(), i);
        let mut o = Observed::default();
        let _ = run_test_file_observed(&p, Some(&mut o));
        firing += o.alerts.iter().map(|a| a.3.len()).sum::<usize>();
        samples += o.samples.iter().map(|s| s.3.len()).sum::<usize>();
        for bump in [false, true] {
            let Some(text) = with_expectations(&head, &o, bump) else { continue };
            std::fs::write(&p, &text).unwrap();
            let ours = run_test_file(&p).is_ok();
            let out = Command::new(&pt).args(["test", "rules"]).arg(&p).output().unwrap();
            let theirs = out.status.success();
            checked += 1;
            // opsdeck's own answers must pass under promtool; a changed value must fail in both.
            if ours == bump || theirs == bump {
                disagree.push(format!(
                    "case {i} (bumped: {bump}): opsdeck {ours}, promtool {theirs}\n{}\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    text
                ));
            }
        }
    }
    println!(
        "generated: {checked} cases ({firing} firing alerts, {samples} samples) checked against promtool, {} disagreements",
        disagree.len()
    );
    assert!(checked >= 20 && firing > 10 && samples > 100, "the generator must exercise alerts and samples");
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

const ASSET_TEST: &str = r#"rule_files: [__RULES__]
evaluation_interval: 30s
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{env="production",endpoint="/api",status="200"}'
        values: '0+100x20'
      - series: 'http_requests_total{env="production",endpoint="/api",status="500"}'
        values: '0+1x20'
      - series: 'http_requests_total{env="staging",endpoint="/api",status="200"}'
        values: '0+90x20'
      - series: 'http_requests_total{env="staging",endpoint="/api",status="503"}'
        values: '0+10x20'
      - series: 'http_request_duration_seconds_bucket{env="production",le="0.5"}'
        values: '0+90x20'
      - series: 'http_request_duration_seconds_bucket{env="production",le="2.5"}'
        values: '0+95x20'
      - series: 'http_request_duration_seconds_bucket{env="production",le="5"}'
        values: '0+100x20'
      - series: 'http_request_duration_seconds_bucket{env="production",le="+Inf"}'
        values: '0+100x20'
      - series: 'scraper_requests_total{env="production",platform="x",status="error"}'
        values: '0+1x20'
    alert_rule_test:
      - eval_time: 4m
        alertname: HighErrorRate
        exp_alerts: []
      - eval_time: 12m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels: {env: staging, severity: critical}
            exp_annotations:
              summary: "staging: 10% of requests fail with 5xx"
              description: "More than 5% of HTTP requests in staging have answered with a 5xx status for 5 minutes (now 10%)."
              runbook_url: https://runbooks.example.org/revolvr/high-error-rate
      - eval_time: 12m
        alertname: SlowResponseTime
        exp_alerts:
          - exp_labels: {env: production, severity: warning}
            exp_annotations:
              summary: "production: p95 latency is 2.5s"
              description: "The 95th percentile of HTTP request duration in production has been above 2s for 5 minutes (now 2.5s)."
              runbook_url: https://runbooks.example.org/revolvr/slow-response-time
      - eval_time: 16m
        alertname: ScraperFailures
        exp_alerts:
          - exp_labels: {env: production, platform: x, severity: warning}
            exp_annotations:
              summary: "production: 10 x scraper errors in 10m"
              description: "Scraper requests to x in production failed more than 5 times in the last 10 minutes (10.0)."
              runbook_url: https://runbooks.example.org/revolvr/scraper-failures
"#;

/// The reference rule as the app shipped it: 1% of errors in production fires it.
const SEED_RULES: &str = "groups:\n  - name: revolvr.rules\n    rules:\n      - alert: HighErrorRate\n        expr: rate(http_requests_total{status=~\"5..\"}[5m]) / rate(http_requests_total[5m]) > 0.05\n        for: 5m\n        labels:\n          severity: critical\n";
const SEED_TEST: &str = r#"rule_files: [seed.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{env="production",endpoint="/api",status="200"}'
        values: '0+100x20'
      - series: 'http_requests_total{env="production",endpoint="/api",status="500"}'
        values: '0+1x20'
    alert_rule_test:
      - eval_time: 12m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels: {env: production, endpoint: /api, status: "500", severity: critical}
"#;

/// `assets/alert_rules.yml` behaves as intended (and identically under promtool): 10% of 5xx in
/// staging fires HighErrorRate, 1% in production does not; the uncorrected seed rule fires on 1%.
#[test]
fn shipped_rules_behave_and_the_seed_rule_does_not() {
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/alert_rules.yml");
    let rf = load_rule_file(&assets).expect("assets/alert_rules.yml loads");
    assert!(lint_files(&[rf]).is_empty(), "the shipped rules have no lint warnings");
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("assets.test.yml");
    std::fs::write(&t, ASSET_TEST.replace("__RULES__", &assets.display().to_string())).unwrap();
    std::fs::write(dir.path().join("seed.yml"), SEED_RULES).unwrap();
    let seed = dir.path().join("seed.test.yml");
    std::fs::write(&seed, SEED_TEST).unwrap();
    if let Err(e) = run_test_file(&t) {
        panic!("{}", e.join("\n"));
    }
    if let Err(e) = run_test_file(&seed) {
        panic!("{}", e.join("\n"));
    }
    let seed_rf = load_rule_file(&dir.path().join("seed.yml")).unwrap();
    assert!(lint_files(&[seed_rf]).iter().any(|l| l.msg.contains("HighErrorRate") && l.msg.contains("by itself")));
    if let Some(pt) = promtool() {
        for f in [&t, &seed] {
            let out = Command::new(&pt).args(["test", "rules"]).arg(f).output().unwrap();
            assert!(
                out.status.success(),
                "promtool disagrees on {}: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = Command::new(&pt).args(["check", "rules"]).arg(&assets).output().unwrap();
        assert!(out.status.success(), "promtool check rules: {}", String::from_utf8_lossy(&out.stderr));
    }
}
