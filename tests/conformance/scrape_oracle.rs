//! The scrape-path parser against its oracle: the real Prometheus 2.42 scrapes each body below
//! from a loopback server, and opsdeck's scrape + ingest of the same body must agree on `up`, on
//! `scrape_samples_scraped`, and on every stored series and value.
//!
//! Also: the `prometheus-parse` crate (the one the brief named) as a cross-check on valid input.

use crate::common::have_prometheus;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use opsdeck::prom_api::Client;
use opsdeck::promql::Value;
use opsdeck::scrape::target::{Body, ScrapeOutcome, Target, TargetState};
use opsdeck::scrape::{Entry, Format, Parser};
use opsdeck::tsdb::{Matcher, Storage, StorageOptions};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Case = (&'static str, &'static [u8]);
/// (name, sorted labels, value) of one sample.
type Flat = (String, Vec<(String, String)>, f64);

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// (content type, body). Explicit timestamps are avoided: Prometheus drops old ones as out of
/// bounds while a bare in-memory store keeps them, which is not what is compared here.
const CASES: &[Case] = &[
    (TEXT, b""),
    (TEXT, b"# HELP a_total Requests.\n# TYPE a_total counter\na_total{path=\"/x\"} 3\n"),
    (TEXT, b"a 1 \nb 2\t\n"),
    (TEXT, b"a 1\nb 2"),
    (TEXT, b"a 1\na 2\nb{x=\"1\",y=\"2\"} 3\nb{y=\"2\",x=\"1\"} 4\n"),
    (TEXT, b"# TYPE a gauge\n# TYPE a gauge\na 1\n# TYPE a counter\n"),
    (TEXT, b"a 1\n  b 2\n"),
    (TEXT, b"  # HELP a x\n\t# TYPE a gauge\na 1\n   \n"),
    (TEXT, b"a 1\r\n"),
    (TEXT, b"a{x=\"tab\\there\"} 1\n"),
    (TEXT, b"a{x=\"line\nbreak\"} 1\n"),
    (TEXT, b"a{x=\"q\\\"b\\\\n\\n\"} 1\n"),
    (TEXT, b"a{x=\"1\" y=\"2\"} 1\n"),
    (TEXT, b"a{x=\"1\",} 1\n"),
    (TEXT, b"a{,x=\"1\"} 1\n"),
    (TEXT, b"a{x=\"1\",,y=\"2\"} 1\n"),
    (TEXT, b"a {x=\"1\"} 1\n"),
    (TEXT, b"a{x=\"1\"}1\n"),
    (TEXT, b"a { x = \"1\" , y = \"2\" } 1\n"),
    (TEXT, b"# TYPE a counter \na 1\n"),
    (TEXT, b"# TYPE a  counter\na 1\n"),
    (TEXT, b"# TYPE a bogus\na 1\n"),
    (TEXT, b"# HELP a bad \\t escape \\\\ ok\na 1\n"),
    (TEXT, b"#HELP anything\n# just a comment\n#\n# EOF\na 1\n"),
    (TEXT, b"a NaN\nb +Inf\nc -Inf\nd 1e3\ne .5\nf -0\n"),
    (TEXT, b"a +NaN\n"),
    (TEXT, b"a 1e999\n"),
    (TEXT, b"a 1_000\n"),
    (TEXT, b"a one\n"),
    (TEXT, b"a 1 -5\n"),
    (TEXT, b"a 1 1 1\n"),
    (TEXT, b"a\n"),
    (TEXT, b"{x=\"1\"} 1\n"),
    (TEXT, b"a{x=\"\"} 1\n"),
    (TEXT, b"a{x=\"1\",x=\"2\"} 1\n"),
    (TEXT, b"a{__name__=\"b\"} 1\n"),
    (TEXT, b"a{job=\"mine\",instance=\"me\",exported_job=\"x\"} 1\n"),
    (TEXT, b"a:b:c 1\n_x 2\n"),
    (TEXT, b"a{x=\"\xff\"} 1\n"),
    (TEXT, b"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n"),
    (TEXT, b"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"),
    (TEXT, b"a 1\n\x00b 2\n"),
    (OM, b"# TYPE a counter\n# HELP a x\na_total 1\na_created 1.7e9\n# EOF\n"),
    (OM, b"a 1\n# EOF"),
    (OM, b"a 1\n"),
    (OM, b"a 1\n\n# EOF\n"),
    (OM, b"a  1\n# EOF\n"),
    (OM, b"a 1 \n# EOF\n"),
    (OM, b"# TYPE a gauge\n# UNIT a seconds\na 1\n# EOF\n"),
    (OM, b"# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1\n# EOF\n"),
    (OM, b"# TYPE a counter\na_total{x=\"y\"} 1 # {trace=\"abc\"} 0.5\n# EOF\n"),
    (OM, b"a{x=\"1\",y=\"2\"} 1\n# EOF\nb 2\n"),
    (OM, b"# TYPE a info\na_info{v=\"1\"} 1\n# TYPE b stateset\nb{b=\"x\"} 1\n# EOF\n"),
    (OM, b"# just a comment\na 1\n# EOF\n"),
];

type Owned = (&'static str, Vec<u8>);

/// The cases above plus random edits of the valid ones (a fixed generator: the same every run).
fn all_cases() -> Vec<Owned> {
    let mut out: Vec<Owned> = CASES.iter().map(|(c, b)| (*c, b.to_vec())).collect();
    let seeds: Vec<Owned> = vec![
        (TEXT, b"# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 3\n".to_vec()),
        (TEXT, b"# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n".to_vec()),
        (OM, b"# TYPE a counter\n# HELP a x\na_total{x=\"y\"} 1\na_created 2\n# EOF\n".to_vec()),
    ];
    let alphabet = b"{}=\",# \t\n\r\\abHELPTYPEUNITEOF01.e+-_:";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: usize| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % n.max(1)
    };
    for i in 0..150 {
        let (ct, mut b) = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rnd(2) {
            let pos = rnd(b.len() + 1);
            match rnd(3) {
                0 => b.insert(pos, alphabet[rnd(alphabet.len())]),
                1 if pos < b.len() => {
                    b.remove(pos);
                }
                _ => b.truncate(pos),
            }
        }
        out.push((ct, b));
    }
    out
}

struct Prom(Child);

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vector(v: Value) -> BTreeMap<String, f64> {
    match v {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("expected a vector, got {other:?}"),
    }
}

fn same(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && (va == vb || (va.is_nan() && vb.is_nan())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_parser_agrees_with_prometheus() {
    if !have_prometheus() {
        return;
    }
    let all = all_cases();
    let cases = Arc::new(all.clone());
    let app = Router::new()
        .route(
            "/case/{n}",
            get(|State(c): State<Arc<Vec<Owned>>>, Path(n): Path<usize>| async move {
                let (ct, body) = &c[n];
                ([("content-type", *ct)], body.clone())
            }),
        )
        .with_state(cases);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for n in 0..all.len() {
        cfg.push_str(&format!(
            "  - job_name: case{n}\n    metrics_path: /case/{n}\n    static_configs:\n      - targets: ['{addr}']\n        labels: {{env: oracle}}\n"
        ));
    }
    std::fs::write(dir.path().join("p.yml"), cfg).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("p.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _prom = Prom(child);
    let api = Client::new(&format!("http://127.0.0.1:{port}"), None, Duration::from_secs(5)).unwrap();

    // Every case scraped at least twice (the second scrape sees the same body: steady state).
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "Prometheus did not scrape every case within 90 s");
        if let Ok(v) = api.query("count_over_time(up[1m]) >= 2", None).await {
            if vector(v).len() == all.len() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let mut diffs = Vec::new();
    let (mut ups, mut downs) = (0, 0);
    for (n, (ct, body)) in all.iter().enumerate() {
        let job = format!("case{n}");
        let q = |e: &str| e.replace("JOB", &job);
        let r_up = vector(api.query(&q("up{job=\"JOB\"}"), None).await.unwrap());
        let r_up = r_up.values().next().copied();
        let mut st = Storage::new(StorageOptions::default());
        let mut ts = TargetState::new(Target::new("oracle", &job, &format!("http://{addr}/case/{n}")));
        let out = ScrapeOutcome {
            started_ms: 1_000,
            duration: Duration::from_millis(1),
            result: Ok(Body { bytes: body.to_vec(), content_type: Some(ct.to_string()) }),
        };
        let rep = ts.ingest(&mut st, &out, 1_000);
        let l_up = Some(if rep.up { 1.0 } else { 0.0 });
        let shown = String::from_utf8_lossy(body);
        if r_up != l_up {
            diffs.push(format!("case {n} {shown:?}: up remote {r_up:?} local {l_up:?} ({:?})", rep.error));
            continue;
        }
        if !rep.up {
            downs += 1;
            continue;
        }
        ups += 1;
        let r_n = vector(api.query(&q("scrape_samples_scraped{job=\"JOB\"}"), None).await.unwrap());
        if r_n.values().next().copied() != Some(rep.samples_scraped as f64) {
            diffs.push(format!("case {n} {shown:?}: samples remote {r_n:?} local {}", rep.samples_scraped));
        }
        // Every stored series and its latest value.
        let sel = q("{job=\"JOB\",__name__!~\"up|scrape_.*\"}");
        let remote = vector(api.query(&sel, None).await.unwrap());
        let ms = [Matcher::equal("job", &job), Matcher::regex("__name__", "up|scrape_.*", true).unwrap()];
        let local: BTreeMap<String, f64> =
            st.select(&ms).filter_map(|s| Some((s.labels.to_string(), s.last()?.v))).collect();
        if !same(&remote, &local) {
            diffs.push(format!("case {n} {shown:?}: series\n  remote {remote:?}\n  local  {local:?}"));
        }
    }
    eprintln!("scrape oracle: {} bodies, {ups} accepted, {downs} rejected, {} differ", all.len(), diffs.len());
    assert!(ups >= 15 && downs >= 15, "the cases must exercise both outcomes ({ups} up, {downs} down)");
    assert!(diffs.is_empty(), "{} of {} cases differ from Prometheus:\n{}", diffs.len(), all.len(), diffs.join("\n"));
}

/// On valid text-format bodies, `prometheus-parse` and the scrape parser read the same samples.
#[test]
fn prometheus_parse_cross_check() {
    let gen = crate::common::data("gen_exposition.py");
    let generated =
        Command::new("python3").arg(&gen).arg("50").output().ok().filter(|o| o.status.success()).map(|o| o.stdout);
    let mut bodies: Vec<Vec<u8>> = CASES.iter().filter(|(ct, _)| *ct == TEXT).map(|(_, b)| b.to_vec()).collect();
    bodies.extend(generated);
    if let Some(dir) = crate::common::prometheus_testdata("promtool") {
        bodies.push(std::fs::read(dir.join("metrics-test.prom")).expect("metrics-test.prom"));
    }
    let canonical = regex::Regex::new(
        r#"^[a-zA-Z_][a-zA-Z0-9_]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? [^ ]+$"#,
    )
    .unwrap();
    let mut compared = 0;
    for body in bodies {
        let mut ours = Vec::new();
        let mut p = Parser::new(&body, Format::Prometheus);
        let ok = loop {
            match p.next() {
                Ok(Some(Entry::Sample(s))) => {
                    let mut labels: Vec<(String, String)> =
                        p.labels().map(|(k, v)| (k.to_string(), v.into_owned())).collect();
                    labels.sort();
                    ours.push((s.name.to_string(), labels, s.value));
                }
                Ok(Some(_)) => {}
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        let Ok(text) = std::str::from_utf8(&body) else { continue };
        // prometheus-parse is line-based and lenient in its own ways: compare only bodies both
        // accept and that it can represent (no escapes, no raw newlines in label values).
        // prometheus-parse is line-based and reads non-canonical syntax (missing commas, blanks
        // inside braces, escapes) its own way, and drops names with a colon (`a:b:c 1` vanishes):
        // compare on canonical bodies, as exporters write them.
        let dup = ours
            .iter()
            .any(|(_, l, _)| l.windows(2).any(|w| w[0].0 == w[1].0) || l.iter().any(|(k, _)| k == "__name__"));
        if !ok || dup || !text.lines().all(|l| l.is_empty() || l.starts_with("# ") || canonical.is_match(l)) {
            continue;
        }
        let Ok(scrape) = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))) else { continue };
        let mut theirs: Vec<Flat> = Vec::new();
        for s in scrape.samples {
            let mut labels: Vec<(String, String)> = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let (name, v) = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => (s.metric.clone(), v),
                prometheus_parse::Value::Histogram(hs) => {
                    for h in hs {
                        let mut l = labels.clone();
                        l.push(("le".into(), fmt_le(h.less_than)));
                        l.sort();
                        theirs.push((format!("{}_bucket", s.metric), l, h.count));
                    }
                    continue;
                }
                prometheus_parse::Value::Summary(qs) => {
                    for q in qs {
                        let mut l = labels.clone();
                        l.push(("quantile".into(), fmt_le(q.quantile)));
                        l.sort();
                        theirs.push((s.metric.clone(), l, q.count));
                    }
                    continue;
                }
            };
            labels.sort();
            theirs.push((name, labels, v));
        }
        let key = |x: &Flat| format!("{}{:?}", x.0, x.1);
        let mut a: Vec<String> = ours.iter().map(key).collect();
        let mut b: Vec<String> = theirs.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "series differ for {text:?}");
        let sum = |v: &[Flat]| v.iter().map(|x| x.2).filter(|x| x.is_finite()).sum::<f64>();
        assert!((sum(&ours) - sum(&theirs)).abs() <= 1e-6 * sum(&ours).abs().max(1.0));
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} bodies compared");
}

fn fmt_le(v: f64) -> String {
    if v.is_infinite() {
        "+Inf".into()
    } else {
        format!("{v}")
    }
}
