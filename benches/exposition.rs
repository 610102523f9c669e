//! Exposition parsing throughput: the scrape-path parser, the promtool-strict parser + lint, and
//! the `prometheus-parse` crate, on the shape of `gen_exposition.py` (counters, 12-bucket
//! histograms, gauges with web-app labels).
//!
//! `cargo bench --bench exposition`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use opsdeck::scrape::{lint, strict, Entry, Format, Parser};
use std::fmt::Write;
use std::hint::black_box;

/// The same shape as ../shared/acceptance/lib/gen_exposition.py, deterministic, no Python needed.
fn exposition(endpoints: usize) -> String {
    let mut out = String::with_capacity(endpoints * 4600);
    let mut x: u64 = 7;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let statuses = ["200", "201", "301", "400", "404", "500", "503"];
    let buckets = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
    out.push_str("# HELP http_requests_total Total HTTP requests\n# TYPE http_requests_total counter\n");
    for e in 0..endpoints {
        for m in ["GET", "POST"] {
            for s in statuses {
                let v = rnd(10_000_000);
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{m}\",endpoint=\"/api/v1/resource_{e}/items\",status=\"{s}\"}} {v}"
                );
            }
        }
    }
    out.push_str(
        "# HELP http_request_duration_seconds HTTP request latency\n# TYPE http_request_duration_seconds histogram\n",
    );
    for e in 0..endpoints {
        for m in ["GET", "POST"] {
            let mut c = 0;
            for b in buckets {
                c += rnd(100_000);
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{method=\"{m}\",endpoint=\"/api/v1/resource_{e}/items\",le=\"{b}\"}} {c}"
                );
            }
            let sum = c as f64 * 0.137;
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{method=\"{m}\",endpoint=\"/api/v1/resource_{e}/items\"}} {sum:.6}"
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{method=\"{m}\",endpoint=\"/api/v1/resource_{e}/items\"}} {c}"
            );
        }
    }
    out.push_str("# HELP active_scrapers Number of active scrapers\n# TYPE active_scrapers gauge\n");
    for i in 0..endpoints {
        let v = rnd(100_000) as f64 / 10_000.0;
        let _ = writeln!(out, "active_scrapers{{platform=\"p{i}\",worker=\"w{}\"}} {v:.4}", i % 7);
    }
    out
}

fn bench(c: &mut Criterion) {
    let body = exposition(600);
    let mut g = c.benchmark_group("exposition_2.7MB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.sample_size(20);
    g.bench_function("opsdeck_scrape_parser", |b| {
        b.iter(|| {
            let mut p = Parser::new(black_box(body.as_bytes()), Format::Prometheus);
            let (mut n, mut labels) = (0usize, 0usize);
            while let Some(e) = p.next().unwrap() {
                if let Entry::Sample(s) = e {
                    n += 1;
                    labels += p.labels().map(|(k, v)| k.len() + v.len()).sum::<usize>();
                    black_box(s.value);
                }
            }
            (n, labels)
        })
    });
    g.bench_function("opsdeck_promtool_strict_and_lint", |b| {
        b.iter(|| {
            let f = strict::parse(black_box(body.as_bytes())).unwrap();
            lint::lint(&f).len()
        })
    });
    g.bench_function("prometheus_parse_crate", |b| {
        b.iter(|| {
            let s = prometheus_parse::Scrape::parse(black_box(&body).lines().map(|l| Ok(l.to_string()))).unwrap();
            s.samples.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
