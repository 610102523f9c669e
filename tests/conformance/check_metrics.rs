//! `opsdeck check metrics` against the real `promtool check metrics` (Prometheus 2.42) on the same
//! inputs: same exit code, same stderr (parse errors with their line, lint problems).

use std::io::Write;
use std::process::{Command, Stdio};

fn have_promtool() -> bool {
    let ok = Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("OPSDECK_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("promtool is required (OPSDECK_REQUIRE_TOOLS=1) but was not found");
    }
    if !ok {
        eprintln!("note: promtool not installed; skipping the comparison");
    }
    ok
}

fn run(cmd: &mut Command, input: &[u8]) -> (i32, String) {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    w.join().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn opsdeck(input: &[u8]) -> (i32, String) {
    run(Command::new(env!("CARGO_BIN_EXE_opsdeck")).args(["check", "metrics"]), input)
}

fn promtool(input: &[u8]) -> (i32, String) {
    run(Command::new("promtool").args(["check", "metrics"]), input)
}

/// Inputs covering the strict parser's states and promlint's rules.
const CASES: &[&[u8]] = &[
    b"",
    b"\n\n",
    b"# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n",
    b"# HELP a_total Requests.\n# TYPE a_total counter\na_total 1",
    b"# HELP a_total Requests.\n# TYPE a_total counter\na_total 1 \n",
    b"# HELP a_total Requests.\n# TYPE a_total counter\na_total 1 1700000000000\n",
    b"# HELP a_total Requests.\n# TYPE a_total counter\na_total 1 1700000000000 \n",
    b"# HELP a_total Requests.\n# TYPE a_total counter\na_total 1 1.5\n",
    b"# HELP a_total Requests.\n# TYPE a_total counter\n# TYPE a_total counter\na_total 1\n",
    b"# HELP a_total Requests.\n# HELP a_total Again.\na_total 1\n",
    b"a 1\n# TYPE a gauge\n",
    b"  a 1\n",
    b"\ta{b=\"c\"}\t1\n",
    b"a 1\r\n",
    b"a{b=\"c\\td\"} 1\n",
    b"a{b=\"c\\nd\\\\e\\\"f\"} 1\n",
    b"a{b=\"c\nd\"} 1\n",
    b"foo{a=\"b\" 1\n",
    b"a{b=\"c\",} 1\n",
    b"a{b=\"c\" , d = \"e\"} 1\n",
    b"a{b=\"c\" d=\"e\"} 1\n",
    b"a{,b=\"c\"} 1\n",
    b"a{b=c} 1\n",
    b"a{__name__=\"x\"} 1\n",
    b"a{b=\"1\",b=\"2\"} 1\n",
    b"a{1b=\"1\"} 1\n",
    b"a {b=\"1\"} 1\n",
    b"a{b=\"1\"}1\n",
    b"a\n",
    b"a \n",
    b"{b=\"1\"} 1\n",
    b"1a 1\n",
    b"a NaN\na2 +Inf\na3 -Inf\na4 nan\na5 1e3\na6 .5\n",
    b"a +NaN\n",
    b"a 1e999\n",
    b"a 1_000\n",
    b"a 0x1p3\n",
    b"a one\n",
    b"a 1 +12\n",
    b"a 1 -12\n",
    b"a 1 99999999999999999999\n",
    b"# TYPE a counter\n# HELP a doc\\with bad escape\na 1\n",
    b"# HELP a doc \\\\ and \\n ok\na 1\n",
    b"# TYPE a bogus\na 1\n",
    b"# TYPE a Gauge\na 1\n",
    b"# TYPE a gauge_histogram\na 1\n",
    b"# TYPE a counter \na 1\n",
    b"# HELP\n# TYPE\n# random comment\n#\n#HELP a x\na 1\n",
    b"# HELP 1a x\n",
    b"# HELP a\n# TYPE a\na 1\n",
    b"# comment without newline",
    b"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.9\"} 2\ns_sum 3\ns_count 4\n",
    b"# HELP s x\n# TYPE s summary\ns{quantile=\"x\"} 1\n",
    b"# HELP s x\n# TYPE s summary\ns{quantile=\"0.5\",le=\"1\"} 1\ns{le=\"1\",quantile=\"0.9\"} 1\n",
    b"# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"0.1\",path=\"/a\"} 1\nh_seconds_bucket{path=\"/a\",le=\"+Inf\"} 2\nh_seconds_sum{path=\"/a\"} 3\nh_seconds_count{path=\"/a\"} 2\nh_seconds_bucket{le=\"+Inf\",path=\"/b\",quantile=\"1\"} 2\n",
    b"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"abc\"} 1\n",
    b"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\",le=\"2\"} 1\n",
    b"# HELP g x\n# TYPE g gauge\ng{le=\"1\",quantile=\"2\",fooBar=\"3\"} 1\ng{le=\"1\",quantile=\"2\",fooBar=\"3\"} 1\n",
    b"# HELP x_bucket x\n# TYPE x_bucket gauge\nx_bucket 1\n# HELP y_count x\n# TYPE y_count gauge\ny_count 1\n# HELP z_sum x\n# TYPE z_sum counter\nz_sum 1\n",
    b"# HELP g_total x\n# TYPE g_total gauge\ng_total 1\n",
    b"# HELP http_requests_counter_gauge x\n# TYPE http_requests_counter_gauge gauge\nhttp_requests_counter_gauge 1\n",
    b"# HELP a:b x\na:b 1\n# HELP fooBar x\nfooBar 1\n",
    b"# HELP disk_kilobytes x\ndisk_kilobytes 1\n# HELP t_milliseconds x\nt_milliseconds 1\n# HELP l_ms_s x\nl_ms_s 1\n# HELP w_miles x\nw_miles 1\n",
    b"# HELP up_ms x\nup_ms 1\n# HELP some_sec x\nsome_sec 1\n# HELP x_h x\nx_h 1\n",
    b"a{b=\"\xff\"} 1\n",
    b"# HELP a \xff\na 1\n",
    b"a 1\n\x00\n",
];

#[test]
fn check_metrics_matches_promtool() {
    if !have_promtool() {
        return;
    }
    let mut mismatches = Vec::new();
    for case in CASES {
        let ours = opsdeck(case);
        let theirs = promtool(case);
        if ours != theirs {
            mismatches.push(format!(
                "input {:?}\n  opsdeck:  {ours:?}\n  promtool: {theirs:?}",
                String::from_utf8_lossy(case)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{} of {} cases differ:\n{}", mismatches.len(), CASES.len(), mismatches.join("\n"));
}

#[test]
fn promtool_fixture_and_broken_line() {
    let Some(dir) = crate::common::prometheus_testdata("promtool") else { return };
    let fixture = dir.join("metrics-test.prom");
    let body = std::fs::read(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let (code, _) = opsdeck(&body);
    assert!(code == 0 || code == 3, "metrics-test.prom: exit {code}");
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck")).arg("check").arg("metrics").arg(&fixture).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "FILE argument and stdin agree");
    let (code, err) = opsdeck(b"foo{a=\"b\" 1\n");
    assert_eq!(code, 1);
    assert!(err.contains("line 1"), "{err}");
    if have_promtool() {
        assert_eq!(opsdeck(&body), promtool(&body));
    }
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_opsdeck")).args(["check", "metrics", "/nonexistent/x.prom"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.prom"));
}

#[test]
fn generated_big_exposition_matches_promtool() {
    // A smaller cut of the benchmark file: same shapes, quick to run.
    let gen = crate::common::data("gen_exposition.py");
    let Ok(out) = Command::new("python3").arg(&gen).arg("200").output() else {
        eprintln!("note: python3 not available; skipping");
        return;
    };
    if !out.status.success() || !have_promtool() {
        return;
    }
    assert_eq!(opsdeck(&out.stdout), promtool(&out.stdout));
}

const N_MUTATIONS: usize = 300;
const MUTATION_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Random edits of valid bodies: promtool and opsdeck agree on each (exit code and message).
#[test]
fn mutated_inputs_match_promtool() {
    if !have_promtool() {
        return;
    }
    let seeds: &[&[u8]] = &[
        b"# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 3 1000\n",
        b"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n",
        b"# HELP s x\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
        b"# HELP g x\n# TYPE g gauge\ng{a=\"b\",c=\"d\"} -1.5e3\n",
    ];
    let alphabet = b"{}=\",# \t\n\r\\abHELPTYPE01.e+-_:\x00\xff";
    // A fixed LCG: the same cases every run.
    let mut x: u64 = MUTATION_SEED;
    let mut rnd = |n: usize| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % n.max(1)
    };
    let mut mismatches = Vec::new();
    for i in 0..N_MUTATIONS {
        let mut b = seeds[i % seeds.len()].to_vec();
        for _ in 0..1 + rnd(3) {
            let pos = rnd(b.len() + 1);
            match rnd(3) {
                0 => b.insert(pos, alphabet[rnd(alphabet.len())]),
                1 if pos < b.len() => {
                    b.remove(pos);
                }
                _ => b.truncate(pos),
            }
        }
        let (ours, theirs) = (opsdeck(&b), promtool(&b));
        if ours != theirs {
            mismatches
                .push(format!("input {:?}\n  opsdeck:  {ours:?}\n  promtool: {theirs:?}", String::from_utf8_lossy(&b)));
        }
    }
    assert!(mismatches.is_empty(), "{} of {N_MUTATIONS} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
