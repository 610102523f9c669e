//! The subtle parts of Prometheus's semantics, one case each (values checked with promtool 2.42).

use super::*;
use crate::tsdb::{stale_nan, Labels, Storage, StorageOptions};

const M: i64 = 60_000;

fn store(series: &[(&str, &str)], step_ms: i64) -> Storage {
    let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: 10_000 });
    for (desc, vals) in series {
        let (l, vs) = notation::parse_series_line(&format!("{desc} {vals}")).unwrap();
        for (i, v) in vs.into_iter().enumerate() {
            if let Some(v) = v {
                st.append(&l, i as i64 * step_ms, v).unwrap();
            }
        }
    }
    st
}

fn vector(st: &Storage, q: &str, t: i64) -> Vec<(String, f64)> {
    match query(st, q, t).unwrap_or_else(|e| panic!("{q}: {e}")) {
        Value::Vector(v) => {
            let mut out: Vec<_> = v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
        other => panic!("{q}: expected a vector, got {other:?}"),
    }
}

fn one(st: &Storage, q: &str, t: i64) -> f64 {
    let v = vector(st, q, t);
    assert_eq!(v.len(), 1, "{q}: {v:?}");
    v[0].1
}

#[test]
fn rate_extrapolation_is_exact_to_the_float() {
    let st = store(&[(r#"http_requests_total{job="a"}"#, "0+60x20"), (r#"x{job="b"}"#, "100+30x20")], M);
    // Aligned window: no extrapolation past the ends.
    assert_eq!(one(&st, "rate(http_requests_total[5m])", 10 * M), 1.0);
    // delta * (extrapolated / sampled / range): not the same float as increase / 300.
    assert_eq!(one(&st, "rate(http_requests_total[30m])", 10 * M), 0.3333333333333333);
    assert_eq!(one(&st, "rate(x[30m])", 10 * M), 0.17500000000000002);
    // Misaligned by 30s at both edges: extrapolated by the full gap (under 1.1x the spacing).
    assert_eq!(one(&st, "increase(x[5m])", 10 * M + 30_000), 150.0);
    // One sample gives nothing.
    assert!(vector(&st, "rate(x[30s])", 10 * M).is_empty());
}

#[test]
fn counter_resets_and_zero_clamp() {
    let st = store(&[("c", "10 20 5 15")], M);
    // 10→20, reset to 5 (adds 20), →15: 25 over 3m. The zero point (72s before the first
    // sample) is past 1.1x the spacing, so the start extrapolates by half a spacing: x 210/180.
    assert_eq!(one(&st, "increase(c[5m])", 3 * M), 29.166666666666668);
    assert_eq!(one(&st, "resets(c[5m])", 3 * M), 1.0);
    assert_eq!(one(&st, "irate(c[5m])", 3 * M), 10.0 / 60.0);
}

#[test]
fn lookback_is_five_minutes_inclusive_and_stale_hides_at_once() {
    let st = store(&[("g", "1 _ _ _ _ _ _"), ("s", "1 2 stale 4")], M);
    assert_eq!(one(&st, "g", 5 * M), 1.0);
    assert!(vector(&st, "g", 5 * M + 1).is_empty());
    assert_eq!(one(&st, "s", 2 * M - 1), 2.0);
    assert!(vector(&st, "s", 2 * M).is_empty(), "a stale marker hides the series at once");
    // Stale markers are not samples for range functions.
    assert_eq!(one(&st, "count_over_time(s[10m])", 3 * M), 3.0);
}

#[test]
fn avg_is_a_running_mean() {
    let st = store(&[(r#"v{i="1"}"#, "4"), (r#"v{i="2"}"#, "5"), (r#"v{i="3"}"#, "1")], M);
    assert_eq!(one(&st, "avg(v)", 0), 3.333333333333333);
    assert_ne!(one(&st, "avg(v)", 0), 10.0 / 3.0);
}

#[test]
fn round_half_up_and_mod_sign() {
    let st = store(&[(r#"h{k="a"}"#, "-2.5"), (r#"h{k="b"}"#, "2.5"), (r#"h{k="c"}"#, "-0.5")], M);
    let r = vector(&st, "round(h)", 0);
    assert_eq!(r.iter().map(|x| x.1).collect::<Vec<_>>(), vec![-2.0, 3.0, 0.0]);
    let m = vector(&st, "h % 2", 0);
    assert_eq!(m.iter().map(|x| x.1).collect::<Vec<_>>(), vec![-0.5, 0.5, -0.5]);
}

#[test]
fn histogram_quantile_fixes_buckets() {
    let st = store(
        &[
            (r#"b_bucket{le="1"}"#, "10"),
            (r#"b_bucket{le="2"}"#, "8"), // not monotonic: treated as 10
            (r#"b_bucket{le="4"}"#, "20"),
            (r#"b_bucket{le="+Inf"}"#, "20"),
        ],
        M,
    );
    assert_eq!(one(&st, "histogram_quantile(0.5, b_bucket)", 0), 1.0);
    assert_eq!(one(&st, "histogram_quantile(0.75, b_bucket)", 0), 3.0);
    // The +Inf bucket answers the highest finite bound.
    let st = store(&[(r#"c_bucket{le="1"}"#, "1"), (r#"c_bucket{le="+Inf"}"#, "10")], M);
    assert_eq!(one(&st, "histogram_quantile(0.9, c_bucket)", 0), 1.0);
}

#[test]
fn comparisons_keep_left_side_and_name() {
    let st = store(&[(r#"a{x="1"}"#, "5"), (r#"b{x="1"}"#, "3")], M);
    assert_eq!(vector(&st, "a > b", 0), vec![(r#"a{x="1"}"#.to_string(), 5.0)]);
    assert_eq!(vector(&st, "a > bool b", 0), vec![(r#"{x="1"}"#.to_string(), 1.0)]);
    assert_eq!(vector(&st, "1 < a", 0), vec![(r#"a{x="1"}"#.to_string(), 5.0)]);
    assert_eq!(vector(&st, "last_over_time(a[1m])", 0), vec![(r#"a{x="1"}"#.to_string(), 5.0)]);
}

#[test]
fn absent_takes_equality_matchers_only() {
    let st = store(&[("up", "1")], M);
    assert_eq!(vector(&st, r#"absent(nope{job="a", env=~"p.*"})"#, 0), vec![(r#"{job="a"}"#.to_string(), 1.0)]);
    assert!(vector(&st, "absent(up)", 0).is_empty());
}

#[test]
fn matching_errors_are_errors() {
    let st = store(&[(r#"a{x="1",y="1"}"#, "1"), (r#"a{x="1",y="2"}"#, "1"), (r#"b{x="1"}"#, "1")], M);
    let e = query(&st, "b / on(x) a", 0).unwrap_err().to_string();
    assert!(e.contains("many-to-many matching not allowed"), "{e}");
    let e = query(&st, "a / on(x) b", 0).unwrap_err().to_string();
    assert!(e.contains("many-to-one matching must be explicit"), "{e}");
    assert_eq!(vector(&st, "a / on(x) group_left b", 0).len(), 2);
    let e = query(&st, r#"label_replace(a, "y", "", "", "")"#, 0).unwrap_err().to_string();
    assert!(e.contains("same labelset"), "{e}");
}

#[test]
fn at_offset_and_subqueries() {
    let st = store(&[("m", "0+1x100")], M);
    assert_eq!(one(&st, "m @ 300", 90 * M), 5.0);
    assert_eq!(one(&st, "m offset 10m", 20 * M), 10.0);
    assert_eq!(one(&st, "m offset -10m", 20 * M), 30.0);
    // Steps at 14m, 16m, 18m, 20m: both ends of the window count.
    assert_eq!(one(&st, "count_over_time(m[6m:2m])", 20 * M), 4.0);
    assert_eq!(one(&st, "count_over_time(m[6m:2m])", 20 * M + 1), 3.0);
    assert_eq!(one(&st, "sum_over_time(m[5m:1m] @ 600)", 0), 5.0 + 6.0 + 7.0 + 8.0 + 9.0 + 10.0);
    match query(&st, "time()", 12_345).unwrap() {
        Value::Scalar(v) => assert_eq!(v, 12.345),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stale_marker_bits() {
    let mut st = store(&[], M);
    st.append(&Labels::from_pairs([("__name__", "n")]), 0, f64::NAN).unwrap();
    st.append(&Labels::from_pairs([("__name__", "n")]), M, stale_nan()).unwrap();
    // A plain NaN is a value; the stale NaN hides the series.
    assert!(one(&st, "n", 30_000).is_nan());
    assert!(vector(&st, "n", M).is_empty());
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let st = store(&[("m", "0+1x10"), (r#"h_bucket{le="1"}"#, "1")], M);
    for q in [
        "m[10y:1ms]",
        "m offset 100000000y",
        "rate(m[100000000y])",
        "m @ 99999999999999",
        "topk(1e300, m)",
        "topk(NaN, m)",
        "quantile(NaN, m)",
        r#"label_replace(m, "a", "$1", "__name__", "(")"#,
        r#"label_replace(m, "1bad", "x", "__name__", "(.*)")"#,
        r#"label_join(m, "a", ",", "bad-name")"#,
        r#"count_values("bad-name", m)"#,
        "holt_winters(m[5m], 2, 0.5)",
        "histogram_quantile(NaN, h_bucket)",
        "day_of_week(vector(1e300))",
        "year(vector(NaN))",
        "m / 0",
        "m ^ 1e300",
        "-m % 0",
        "sum(m) by (nonexistent)",
        "{__name__=~\".+\"}",
    ] {
        let _ = query(&st, q, 5 * M);
    }
    assert!(query(&st, "m[10y:1ms]", 0).is_err());
    assert!(query(&st, "sum(", 0).is_err());
}

#[test]
fn a_range_query_equals_its_instant_queries_at_every_step() {
    // Range queries decode each series once and slide a cursor; instant queries decode per call.
    // Irregular samples, gaps, a stale marker, resets, offsets and subqueries: the same answers.
    let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: 10_000 });
    for (i, env) in ["a", "b", "c"].iter().enumerate() {
        let l = Labels::from_pairs([("__name__", "reqs_total"), ("env", env)]);
        let mut t = 0;
        for k in 0..400i64 {
            t += 7_000 + (k * 13 + i as i64 * 5) % 11 * 1_000;
            if k % 97 == 50 {
                continue;
            }
            let v = if k == 200 + i as i64 { stale_nan() } else { ((k * (i as i64 + 2)) % 150) as f64 };
            st.append(&l, t, v).unwrap();
        }
    }
    let e = Engine::default();
    for q in [
        "rate(reqs_total[1m])",
        "sum by (env) (increase(reqs_total[2m] offset 30s))",
        "avg_over_time(reqs_total[45s]) + max_over_time(reqs_total[3m])",
        "count_over_time(reqs_total[1m]) / ignoring(env) group_left count(reqs_total)",
        "max_over_time(rate(reqs_total[1m])[5m:30s])",
        "reqs_total offset 1m",
    ] {
        let expr = parse(q).unwrap();
        for (start, end, step) in
            [(600_000, 2_400_000, 15_000), (900_000, 1_200_000, 7_000), (60_000, 3_000_000, 60_000)]
        {
            let range = e.range(&st, &expr, start, end, step).unwrap();
            let mut from_range: Vec<(String, i64, u64)> = range
                .iter()
                .flat_map(|s| s.samples.iter().map(move |x| (s.labels.to_string(), x.t, x.v.to_bits())))
                .collect();
            let mut from_instants = Vec::new();
            let mut t = start;
            while t <= end {
                if let Value::Vector(v) = e.instant(&st, &expr, t).unwrap() {
                    from_instants.extend(v.into_iter().map(|s| (s.labels.to_string(), t, s.v.to_bits())));
                }
                t += step;
            }
            from_range.sort();
            from_instants.sort();
            assert_eq!(from_range, from_instants, "{q} over [{start}, {end}] step {step}");
        }
    }
}
