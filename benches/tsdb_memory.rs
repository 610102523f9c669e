//! Memory of the in-memory store: 100k series x 1 h at 15 s (240 samples each, 24 M samples),
//! labels shaped like scraped web-app series, values like counters (a few requests a scrape,
//! some series idle). Prints bytes per stored sample (encoded chunks, capacity included), the
//! estimated per-series overhead, and the process RSS before and after.
//!
//! `cargo bench --bench tsdb_memory` (or `-- SERIES MINUTES` to change the size)

use opsdeck::tsdb::{Labels, Storage, StorageOptions};

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let series: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let minutes: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60);
    let step = 15_000;
    let points = minutes * 60_000 / step;
    let before = rss_bytes();
    let mut st = Storage::new(StorageOptions { retention_ms: minutes * 60_000, max_series: series + 10 });
    let labels: Vec<Labels> = (0..series)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("env", ["production", "staging", "development"][i % 3]),
                ("job", "api"),
                ("instance", &format!("10.0.{}.{}:9100", (i / 250) % 256, i % 250)),
                ("endpoint", &format!("/api/v1/resource_{}/items", i / 14)),
                ("method", ["GET", "POST"][i % 2]),
                ("status", ["200", "201", "301", "400", "404", "500", "503"][i % 7]),
            ])
        })
        .collect();
    let ids: Vec<usize> = labels.iter().map(|l| st.series_id(l).unwrap()).collect();
    drop(labels);
    // Scrape order: every series once per step, as a scrape loop appends.
    for k in 0..points {
        let t = k * step;
        for (j, &id) in ids.iter().enumerate() {
            // Counters: most series move by a few requests a scrape, one in five is idle.
            let rate = if j % 5 == 0 { 0 } else { 1 + j % 9 };
            st.append_id(id, t, (1_000 + k as usize * rate) as f64).unwrap();
        }
    }
    let after = rss_bytes();
    let n = st.num_samples();
    println!("tsdb memory: {series} series x {minutes} min at 15 s = {n} samples");
    println!(
        "  sample arrays: {:.1} MiB, {:.2} bytes per stored sample",
        st.sample_bytes() as f64 / 1048576.0,
        st.sample_bytes() as f64 / n as f64
    );
    println!("  per-series overhead (labels, index, chunk headers): ~{} bytes", st.series_overhead_bytes());
    println!(
        "  process RSS: {:.1} MiB (before {:.1} MiB), {:.2} bytes per sample all-in",
        after as f64 / 1048576.0,
        before as f64 / 1048576.0,
        (after - before) as f64 / n as f64
    );
}
