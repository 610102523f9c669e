//! The built-in panels and the reference rules over a fleet-sized store: 50 environments of the
//! reference app, 1,000 series each (50,000 series), 1 h at 15 s. Each panel is one range query
//! over the dashboard's 15-minute window (120 points, no finer than the scrape interval: 61), as
//! the engine asks it when data arrives;
//! the rules are one evaluation of `assets/alert_rules.yml`. Prints the median of 5 rounds per
//! panel and in all, beside the budgets they must fit: the panel debounce (1 s) and the rules'
//! interval (30 s).
//!
//!     cargo bench --bench fleet_queries

use opsdeck::panels::{self, Window};
use opsdeck::promql;
use opsdeck::rules::file::parse_rule_file;
use opsdeck::rules::{EngineOptions, PromqlEvaluator, RuleEngine, RuleSet};
use opsdeck::tsdb::{Labels, Storage, StorageOptions};
use std::path::Path;
use std::time::{Duration, Instant};

const ENVS: usize = 50;
const STEP_MS: i64 = 15_000;
const POINTS: i64 = 240; // 1 h at 15 s

/// One environment of the reference app: requests by endpoint, method and status, latency
/// histograms by endpoint, scrapers' counters. 1,000 series.
fn fill(st: &mut Storage, env: &str, seed: usize) {
    let mut add = |pairs: &[(&str, &str)], per_step: f64| {
        let l = Labels::from_pairs(pairs.iter().copied());
        for i in 0..POINTS {
            st.append(&l, i * STEP_MS, (i as f64 * per_step).floor()).unwrap();
        }
    };
    for e in 0..40 {
        let ep = format!("/api/v1/resource_{e}");
        for m in ["GET", "POST"] {
            for (status, rate) in [("200", 900.0), ("404", 20.0), ("500", 3.0), ("503", 1.0)] {
                let r = rate * (1.0 + ((seed + e) % 7) as f64 / 10.0);
                add(
                    &[
                        ("__name__", "http_requests_total"),
                        ("env", env),
                        ("endpoint", &ep),
                        ("method", m),
                        ("status", status),
                    ],
                    r,
                );
            }
        }
        let mut c = 0.0;
        for (k, le) in
            ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"].iter().enumerate()
        {
            c += [40.0, 120.0, 300.0, 250.0, 120.0, 60.0, 20.0, 8.0, 3.0, 1.0, 0.5, 0.0][k];
            add(
                &[("__name__", "http_request_duration_seconds_bucket"), ("env", env), ("endpoint", &ep), ("le", le)],
                c,
            );
        }
        add(&[("__name__", "http_request_duration_seconds_sum"), ("env", env), ("endpoint", &ep)], 92.0);
        add(&[("__name__", "http_request_duration_seconds_count"), ("env", env), ("endpoint", &ep)], c);
    }
    for p in 0..40 {
        let platform = format!("platform_{p}");
        add(&[("__name__", "scraper_runs_total"), ("env", env), ("platform", &platform)], 2.0);
        add(&[("__name__", "scraper_errors_total"), ("env", env), ("platform", &platform)], 0.1);
        add(&[("__name__", "scraper_items_total"), ("env", env), ("platform", &platform)], 50.0);
        add(&[("__name__", "active_scrapers"), ("env", env), ("platform", &platform)], 0.0);
        add(&[("__name__", "users_signed_up_total"), ("env", env), ("platform", &platform)], 0.3);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let mut st = Storage::new(StorageOptions { retention_ms: 2 * 3_600_000, max_series: 1_000_000 });
    for e in 0..ENVS {
        fill(&mut st, &format!("edge-{e:02}"), e);
    }
    let end = (POINTS - 1) * STEP_MS;
    println!(
        "store: {} series, {} samples, {:.2} bytes/sample",
        st.num_series(),
        st.num_samples(),
        st.bytes_per_sample()
    );

    let engine = promql::Engine::default();
    let defs = panels::builtin("1m");
    // As the engine asks: 15 minutes, 120 points, no finer than the 15 s scrape.
    let window = Window::ending_at_every(end, 900_000, 120, STEP_MS);
    let mut total = Vec::new();
    let mut each: Vec<Vec<Duration>> = vec![Vec::new(); defs.len()];
    let mut series = vec![0usize; defs.len()];
    for _ in 0..5 {
        let round = Instant::now();
        for (i, def) in defs.iter().enumerate() {
            let t = Instant::now();
            let data = panels::evaluate(std::slice::from_ref(def), window, |expr, w| {
                let e = promql::parse(expr).map_err(|e| e.to_string())?;
                let got = engine.range(&st, &e, w.start, w.end, w.step).map_err(|e| e.to_string())?;
                Ok(got.into_iter().map(|s| (s.labels, s.samples.into_iter().map(|x| (x.t, x.v)).collect())).collect())
            });
            each[i].push(t.elapsed());
            assert!(data[0].note.as_deref().is_none_or(|n| !n.starts_with(panels::QUERY_ERROR)), "{:?}", data[0].note);
            series[i] = data[0].series.len();
        }
        total.push(round.elapsed());
    }
    for (i, def) in defs.iter().enumerate() {
        println!("panel {:<28} {:>4} series  {}", def.title, series[i], ms(median(each[i].clone())));
    }
    let panels_all = median(total);
    println!("all {} panels: {} (budget: the 1 s panel debounce)", defs.len(), ms(panels_all));

    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/alert_rules.yml")).unwrap();
    let set = RuleSet { files: vec![parse_rule_file(Path::new("assets/alert_rules.yml"), &text).unwrap()] };
    let mut rules = RuleEngine::new(PromqlEvaluator::default(), &set, EngineOptions::default()).unwrap();
    let mut times = Vec::new();
    for k in 0..5 {
        let t = Instant::now();
        rules.eval_all(&mut st, end + k);
        times.push(t.elapsed());
        assert!(rules.take_errors().is_empty());
    }
    let n: usize = rules.timings().iter().map(|g| g.rules).sum();
    let rules_all = median(times);
    println!("reference rules ({n} rules), one evaluation: {} (budget: their 30 s interval)", ms(rules_all));
    println!(
        "fleet queries: {} series; panels {} of 1 s, rules {} of 30 s",
        st.num_series(),
        ms(panels_all),
        ms(rules_all)
    );
}
