//! Rule evaluation benchmarks: a large promtool-format unit test (the shape of
//! `../shared/acceptance/lib/gen_ruletest.py`: 700 series over 3 environments, recording +
//! alerting rules, histogram_quantile), one evaluation of the reference rules over a big store,
//! and template expansion. The comparison with `promtool test rules` is a ratio measured
//! alternately (see the README: `python3 ../shared/acceptance/lib/ratio.py 3 ...`).

use criterion::{criterion_group, criterion_main, Criterion};
use opsdeck::rules::file::parse_rule_file;
use opsdeck::rules::template::{Template, TemplateData};
use opsdeck::rules::unittest::run_test_file;
use opsdeck::rules::{EngineOptions, PromqlEvaluator, RuleEngine, RuleSet};
use opsdeck::tsdb::{Labels, Storage, StorageOptions};
use std::path::Path;

const RULES: &str = r#"groups:
  - name: web
    rules:
      - record: job:http_errors:rate5m
        expr: sum by (env) (rate(http_requests_total{status=~"5.."}[5m]))
      - record: job:http_requests:rate5m
        expr: sum by (env) (rate(http_requests_total[5m]))
      - alert: HighErrorRate
        expr: job:http_errors:rate5m / job:http_requests:rate5m > 0.05
        for: 5m
        labels: {severity: critical}
        annotations: {summary: "error ratio {{ $value | humanizePercentage }} in {{ $labels.env }}"}
      - alert: SlowResponseTime
        expr: histogram_quantile(0.95, sum by (env, le) (rate(http_request_duration_seconds_bucket[5m]))) > 2
        for: 5m
        labels: {severity: warning}
        annotations: {summary: "p95 {{ $value }}s"}
      - alert: EndpointErrors
        expr: increase(http_requests_total{status="500"}[10m]) > 50
        for: 2m
        labels: {severity: warning}
"#;

/// Write the big unit test (n endpoints, `hours` of 1m samples) into `dir`.
fn write_big_test(dir: &Path, n: usize, hours: usize) -> std::path::PathBuf {
    std::fs::write(dir.join("big.rules.yml"), RULES).unwrap();
    let steps = hours * 60;
    let mut s = String::from(
        "rule_files: [big.rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n",
    );
    for e in 0..n {
        let env = ["dev", "staging", "prod"][e % 3];
        for (st, rate) in [("200", 100), ("500", 1)] {
            s += &format!("      - series: 'http_requests_total{{env=\"{env}\",endpoint=\"/e{e}\",status=\"{st}\"}}'\n        values: '0+{}x{steps}'\n", rate + e % 5);
        }
        let mut c = 0;
        for (le, inc) in [("0.1", 80), ("0.5", 15), ("1", 4), ("2.5", 1), ("+Inf", 0)] {
            c += inc + e % 3;
            s += &format!("      - series: 'http_request_duration_seconds_bucket{{env=\"{env}\",endpoint=\"/e{e}\",le=\"{le}\"}}'\n        values: '0+{c}x{steps}'\n");
        }
    }
    s += "    promql_expr_test:\n";
    s += &format!("      - expr: count(job:http_requests:rate5m)\n        eval_time: {hours}h\n        exp_samples:\n          - labels: '{{}}'\n            value: 3\n");
    let p = dir.join("big.test.yml");
    std::fs::write(&p, s).unwrap();
    p
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let big = write_big_test(dir.path(), 100, 12);
    assert!(run_test_file(&big).is_ok());
    let mut g = c.benchmark_group("rules");
    g.sample_size(10);
    g.bench_function("unit test: 700 series, 12h at 1m, 5 rules", |b| b.iter(|| run_test_file(&big).is_ok()));

    // One evaluation of the rules over 700 series × 1h at 15s.
    let mut st = Storage::new(StorageOptions { retention_ms: 7_200_000, max_series: 1_000_000 });
    for e in 0..100 {
        let env = ["dev", "staging", "prod"][e % 3];
        let ep = format!("/e{e}");
        for (status, rate) in [("200", 100.0), ("500", 1.0)] {
            let l = Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("env", env),
                ("endpoint", &ep),
                ("status", status),
            ]);
            for i in 0..240 {
                st.append(&l, i * 15_000, i as f64 * rate).unwrap();
            }
        }
        for (j, le) in ["0.1", "0.5", "1", "2.5", "+Inf"].iter().enumerate() {
            let l = Labels::from_pairs([
                ("__name__", "http_request_duration_seconds_bucket"),
                ("env", env),
                ("endpoint", &ep),
                ("le", le),
            ]);
            for i in 0..240 {
                st.append(&l, i * 15_000, (i * (j as i64 + 1) * 10) as f64).unwrap();
            }
        }
    }
    let f = parse_rule_file(Path::new("bench.yml"), RULES).unwrap();
    let set = RuleSet { files: vec![f] };
    let mut t = 3_600_000;
    let mut engine = RuleEngine::new(PromqlEvaluator::default(), &set, EngineOptions::default()).unwrap();
    g.bench_function("one evaluation of 5 rules over 700 series", |b| {
        b.iter(|| {
            t += 1;
            engine.eval_all(&mut st, t);
        })
    });

    let tpl = Template::parse(
        "__alert_x",
        "{{ $labels.env }}: {{ $value | humanizePercentage }} of requests fail ({{ $value }})",
    )
    .unwrap();
    let data = TemplateData {
        labels: vec![("env".into(), "production".into()), ("job".into(), "api".into())],
        value: 0.0731,
        ..Default::default()
    };
    g.bench_function("template expansion", |b| b.iter(|| tpl.expand(&data).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
