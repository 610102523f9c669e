//! PromQL: parse the input as an expression (positioned errors), then evaluate it over a tiny
//! store as an instant query and as a short range query. Inputs over 2 KB are skipped, the
//! engine's own `query_max_samples` limit is set low, and expressions whose subqueries would
//! evaluate more than `MAX_EVALS` inner steps are not evaluated (nested subqueries multiply:
//! `x[11d:1s][11d:1s]` is 10^12 steps, each under the engine's per-range cap), so one input
//! cannot run for minutes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::promql::{self, notation, Engine, Expr, Value};
use opsdeck::tsdb::{Storage, StorageOptions};

const MAX_INPUT: usize = 2048;
const MAX_EVALS: u128 = 20_000;
const MINUTE: i64 = 60_000;

const SERIES: &[&str] = &[
    r#"http_requests_total{job="api",instance="a",code="200"} 0+10x60"#,
    r#"http_requests_total{job="api",instance="b",code="500"} 0+1x30 5+2x29"#,
    r#"up{job="api",instance="a"} 1x60"#,
    r#"up{job="api",instance="b"} 1 0 1 stale _ 1x55"#,
    r#"request_duration_seconds_bucket{job="api",le="0.1"} 0+3x60"#,
    r#"request_duration_seconds_bucket{job="api",le="1"} 0+5x60"#,
    r#"request_duration_seconds_bucket{job="api",le="+Inf"} 0+6x60"#,
    r#"temperature{room="a b",x="\"q\""} 1 NaN Inf -Inf -0 3x55"#,
    r#"{__name__="odd:name",__meta="m"} 1e308 -1e308 5e-324x58"#,
];

fn store() -> Storage {
    let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: 1_000 });
    for line in SERIES {
        let (labels, values) = notation::parse_series_line(line).expect("a valid series line");
        for (i, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                st.append(&labels, i as i64 * MINUTE, v).expect("in order");
            }
        }
    }
    st
}

fn dur_ms(d: &std::time::Duration) -> u128 {
    d.as_millis()
}

/// Inner evaluations one evaluation of `e` takes, as the engine walks it (a subquery evaluates
/// its expression once per step).
fn evals(e: &Expr) -> u128 {
    let v = match e {
        Expr::Subquery(sq) => {
            let step = sq.step.as_ref().map_or(promql::DEFAULT_SUBQUERY_STEP_MS as u128, dur_ms).max(1);
            (dur_ms(&sq.range) / step + 1).saturating_mul(evals(&sq.expr))
        }
        Expr::Aggregate(a) => evals(&a.expr).saturating_add(a.param.as_deref().map_or(0, evals)),
        Expr::Binary(b) => evals(&b.lhs).saturating_add(evals(&b.rhs)),
        Expr::Paren(p) => evals(&p.expr),
        Expr::Unary(u) => evals(&u.expr),
        Expr::Call(c) => c.args.args.iter().map(|a| evals(a)).fold(0u128, u128::saturating_add),
        _ => 0,
    };
    v.saturating_add(1)
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let expr = match promql::parse(text) {
        Ok(e) => e,
        Err(e) => {
            assert!(e.offset <= text.len(), "the error position is inside the input");
            assert!(e.line >= 1 && e.column >= 1);
            return;
        }
    };
    let cost = evals(&expr);
    if cost > MAX_EVALS {
        return;
    }
    let st = store();
    let engine = Engine { max_samples: 100_000, ..Engine::default() };
    if let Ok(Value::Vector(v)) = engine.instant(&st, &expr, 45 * MINUTE) {
        let mut seen = std::collections::HashSet::new();
        for s in &v {
            assert!(seen.insert(s.labels.clone()), "an instant vector has no two samples with one label set");
        }
    }
    // 13 steps: 0, 5m, ..., 60m.
    if cost.saturating_mul(13) <= MAX_EVALS {
        if let Ok(m) = engine.range(&st, &expr, 0, 60 * MINUTE, 5 * MINUTE) {
            for s in &m {
                assert!(s.samples.windows(2).all(|w| w[0].t < w[1].t), "range samples are in time order");
            }
        }
    }
});
