//! The PromQL side of the large rule unit test (acceptance `gen_ruletest.py DIR 100 12`):
//! 700 series (100 endpoints x 7) over 12 h at 1 m, and the rule expressions evaluated at
//! every 1 m step, as `opsdeck rules test` does. Run: `cargo bench --bench promql_ruletest`.
//! Prints load time, evaluation time and evaluations per second.

use std::time::Instant;

use opsdeck::promql::{self, notation, Engine, Value};
use opsdeck::tsdb::{Labels, Storage, StorageOptions};

const ENDPOINTS: usize = 100;
const HOURS: i64 = 12;

fn load() -> Storage {
    let steps = HOURS * 60;
    let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: 1_000_000 });
    let mut add = |desc: String, values: String| {
        let (labels, vals) = notation::parse_series_line(&format!("{desc} {values}")).expect("series");
        let id = st.series_id(&labels).expect("series id");
        for (i, v) in vals.into_iter().enumerate() {
            if let Some(v) = v {
                st.append_id(id, i as i64 * 60_000, v).expect("append");
            }
        }
    };
    for e in 0..ENDPOINTS {
        let env = ["dev", "staging", "prod"][e % 3];
        for (s, rate) in [("200", 100), ("500", 1)] {
            add(
                format!("http_requests_total{{env=\"{env}\",endpoint=\"/e{e}\",status=\"{s}\"}}"),
                format!("0+{}x{steps}", rate + e % 5),
            );
        }
        let mut c = 0;
        for (le, inc) in [("0.1", 80), ("0.5", 15), ("1", 4), ("2.5", 1), ("+Inf", 0)] {
            c += inc + e % 3;
            add(
                format!("http_request_duration_seconds_bucket{{env=\"{env}\",endpoint=\"/e{e}\",le=\"{le}\"}}"),
                format!("0+{c}x{steps}"),
            );
        }
    }
    st
}

fn main() {
    let t0 = Instant::now();
    let mut st = load();
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let exprs: Vec<_> = [
        r#"sum by (env) (rate(http_requests_total{status=~"5.."}[5m]))"#,
        r#"sum by (env) (rate(http_requests_total[5m]))"#,
        r#"job:http_errors:rate5m / job:http_requests:rate5m > 0.05"#,
        r#"histogram_quantile(0.95, sum by (env, le) (rate(http_request_duration_seconds_bucket[5m]))) > 2"#,
        r#"increase(http_requests_total{status="500"}[10m]) > 50"#,
    ]
    .iter()
    .map(|e| promql::parse(e).expect("parse"))
    .collect();
    let engine = Engine::default();
    for round in 0..3 {
        let t1 = Instant::now();
        let mut evals = 0usize;
        let mut out_samples = 0usize;
        for step in 0..=HOURS * 60 {
            let t = step * 60_000;
            for (i, e) in exprs.iter().enumerate() {
                let v = engine.instant(&st, e, t).expect("eval");
                evals += 1;
                if let Value::Vector(v) = v {
                    out_samples += v.len();
                    // The two recording rules feed the alert, as in the rule group.
                    if round == 0 && i < 2 {
                        let name = if i == 0 { "job:http_errors:rate5m" } else { "job:http_requests:rate5m" };
                        for s in v {
                            let l: Labels = s.labels.with("__name__", name);
                            let _ = st.append(&l, t, s.v);
                        }
                    }
                }
            }
        }
        let ms = t1.elapsed().as_secs_f64() * 1e3;
        println!(
            "round {round}: load {load_ms:.1} ms, {evals} evaluations in {ms:.1} ms ({:.0}/s), {out_samples} output samples",
            evals as f64 / (ms / 1e3)
        );
    }
}
