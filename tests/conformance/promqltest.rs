//! Runs Prometheus 2.42's own PromQL engine tests (`promql/*.test`) against opsdeck's engine,
//! the way Prometheus's promql/test.go does: every `eval` runs as an instant query, then with
//! the `@` modifier variants test.go derives, and again as a range query around the same time.
//! Prints `promqltest: PASSED/TOTAL evals` and fails unless every statement passes.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use opsdeck::promql::notation::{parse_number, parse_series_line};
use opsdeck::promql::{self, Engine, Expr, Value};
use opsdeck::tsdb::{Labels, Storage, StorageOptions};
use promql_parser::parser::AtModifier;

/// Statements skipped, with the reason (they count as not passed). None at present.
const SKIPPED: &[(&str, usize, &str)] = &[];

const EPSILON: f64 = 0.000001;

fn almost_equal(a: f64, b: f64, exact: bool) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    // Exact mode compares as promtool does (no tolerance).
    if exact {
        return false;
    }
    let min_normal = f64::from_bits(0x0010000000000000);
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < min_normal {
        return diff < EPSILON * min_normal;
    }
    diff / (a.abs() + b.abs()) < EPSILON
}

struct Eval {
    line: usize,
    expr: String,
    t_ms: i64,
    fail: bool,
    ordered: bool,
    exact: bool,
    scalar: Option<f64>,
    /// Expected samples: labels, value, position (1-based).
    expected: Vec<(Labels, f64, usize)>,
}

enum Cmd {
    Clear,
    Load(Vec<(Labels, Vec<(i64, f64)>)>),
    Eval(Eval),
}

fn duration_ms(s: &str) -> Result<i64, String> {
    Ok(opsdeck::duration::parse(s)?.as_millis() as i64)
}

fn parse_file(text: &str, exact: bool) -> Result<Vec<Cmd>, String> {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                String::new()
            } else {
                l.to_string()
            }
        })
        .collect();
    let eval_re = regex::Regex::new(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$").unwrap();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l.split_whitespace().next().unwrap_or("").to_lowercase();
        if word == "clear" {
            cmds.push(Cmd::Clear);
            i += 1;
        } else if word == "load" {
            let gap = duration_ms(l[4..].trim()).map_err(|e| format!("line {}: {e}", i + 1))?;
            let mut series = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].is_empty() {
                let (labels, vals) = parse_series_line(&lines[i]).map_err(|e| format!("line {}: {e}", i + 1))?;
                let samples =
                    vals.iter().enumerate().filter_map(|(k, v)| v.map(|v| (k as i64 * gap, v))).collect::<Vec<_>>();
                // A series defined twice in one load keeps its last definition (test.go's map).
                series.retain(|(l, _): &(Labels, Vec<(i64, f64)>)| *l != labels);
                series.push((labels, samples));
                i += 1;
            }
            cmds.push(Cmd::Load(series));
        } else if word.starts_with("eval") {
            let caps = eval_re.captures(l).ok_or_else(|| format!("line {}: invalid eval command", i + 1))?;
            let m = caps.get(1).map(|m| m.as_str()).unwrap_or("");
            let at = caps.get(2).map(|m| m.as_str()).unwrap_or("0s");
            let expr = caps.get(3).unwrap().as_str().to_string();
            let mut ev = Eval {
                line: i + 1,
                expr,
                t_ms: duration_ms(at).map_err(|e| format!("line {}: {e}", i + 1))?,
                fail: m == "fail",
                ordered: m == "ordered",
                exact,
                scalar: None,
                expected: Vec::new(),
            };
            i += 1;
            let mut pos = 1;
            while i < lines.len() && !lines[i].is_empty() {
                if let Some(f) = parse_number(&lines[i]) {
                    ev.scalar = Some(f);
                    i += 1;
                    break;
                }
                let (labels, vals) = parse_series_line(&lines[i]).map_err(|e| format!("line {}: {e}", i + 1))?;
                if vals.len() != 1 {
                    return Err(format!("line {}: expected exactly one value", i + 1));
                }
                ev.expected.push((labels, vals[0].unwrap_or(f64::NAN), pos));
                pos += 1;
                i += 1;
            }
            cmds.push(Cmd::Eval(ev));
        } else {
            return Err(format!("line {}: invalid command {l:?}", i + 1));
        }
    }
    Ok(cmds)
}

/// What test.go's compareResult checks, for a vector result.
fn compare_vector(ev: &Eval, got: &[(Labels, f64)]) -> Result<(), String> {
    if ev.scalar.is_some() {
        return Err("expected a scalar, got a vector".into());
    }
    let mut seen = vec![false; ev.expected.len()];
    for (pos, (l, v)) in got.iter().enumerate() {
        let Some(k) = ev.expected.iter().position(|(el, _, _)| el == l) else {
            return Err(format!("unexpected metric {l} in result"));
        };
        let (_, exp, epos) = &ev.expected[k];
        if ev.ordered && *epos != pos + 1 {
            return Err(format!("expected metric {l} at position {epos} but was at {}", pos + 1));
        }
        if !almost_equal(*exp, *v, ev.exact) {
            return Err(format!("expected {exp} for {l} but got {v}"));
        }
        seen[k] = true;
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(format!("expected metric {} with {} not found (got {got:?})", ev.expected[k].0, ev.expected[k].1));
    }
    Ok(())
}

fn compare(ev: &Eval, v: &Value) -> Result<(), String> {
    match v {
        Value::Matrix(_) => Err("received range result on instant evaluation".into()),
        Value::String(_) => Err("received a string result".into()),
        Value::Scalar(x) => match ev.scalar {
            Some(e) if almost_equal(e, *x, ev.exact) => Ok(()),
            Some(e) => Err(format!("expected scalar {e} but got {x}")),
            None => Err(format!("expected a vector, got scalar {x}")),
        },
        Value::Vector(vec) => compare_vector(ev, &vec.iter().map(|s| (s.labels.clone(), s.v)).collect::<Vec<_>>()),
    }
}

const AT_UNSAFE: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

fn at_time(ms: i64) -> AtModifier {
    let t = if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis((-ms) as u64)
    };
    AtModifier::At(t)
}

/// test.go's atModifierTestCases: pin every selector and subquery outside a subquery to `ts`.
fn set_at(e: &mut Expr, ts: i64, unsafe_fn: &mut bool) {
    match e {
        Expr::VectorSelector(vs) if vs.at.is_none() => vs.at = Some(at_time(ts)),
        Expr::MatrixSelector(ms) if ms.vs.at.is_none() => ms.vs.at = Some(at_time(ts)),
        // Selectors inside a subquery keep their times: the subquery is pinned instead.
        Expr::Subquery(sq) if sq.at.is_none() => sq.at = Some(at_time(ts)),
        Expr::Call(c) => {
            *unsafe_fn |= AT_UNSAFE.contains(&c.func.name);
            for a in &mut c.args.args {
                set_at(a, ts, unsafe_fn);
            }
        }
        Expr::Aggregate(a) => {
            set_at(&mut a.expr, ts, unsafe_fn);
            if let Some(p) = &mut a.param {
                set_at(p, ts, unsafe_fn);
            }
        }
        Expr::Binary(b) => {
            set_at(&mut b.lhs, ts, unsafe_fn);
            set_at(&mut b.rhs, ts, unsafe_fn);
        }
        Expr::Unary(u) => set_at(&mut u.expr, ts, unsafe_fn),
        Expr::Paren(p) => set_at(&mut p.expr, ts, unsafe_fn),
        _ => {}
    }
}

fn run_eval(st: &Storage, ev: &Eval) -> Result<(), String> {
    let expr = promql::parse(&ev.expr).map_err(|e| format!("parse: {e}"))?;
    let mut queries = vec![(expr.clone(), ev.t_ms)];
    let mut pinned = expr.clone();
    let mut unsafe_fn = false;
    set_at(&mut pinned, ev.t_ms, &mut unsafe_fn);
    if !unsafe_fn {
        let ts = ev.t_ms;
        let times = if ts == 0 { vec![-1000, 0, 1000] } else { vec![-10 * ts, 0, ts / 5, ts, 10 * ts] };
        for t in times {
            queries.push((pinned.clone(), t));
        }
    }
    let engine = Engine::default();
    for (q, t) in &queries {
        let res = engine.instant(st, q, *t);
        let res = match res {
            Err(e) if ev.fail => {
                let _ = e;
                continue;
            }
            Err(e) => return Err(format!("error evaluating at {t}ms: {e}")),
            Ok(_) if ev.fail => return Err(format!("expected an error at {t}ms but got none")),
            Ok(v) => v,
        };
        compare(ev, &res).map_err(|e| format!("at {t}ms: {e}"))?;
        // The same query in range mode, checked at the middle step.
        let m = engine
            .range(st, q, t - 60_000, t + 60_000, 60_000)
            .map_err(|e| format!("error evaluating at {t}ms in range mode: {e}"))?;
        if ev.ordered {
            continue;
        }
        let mut vec = Vec::new();
        for s in &m {
            if let Some(p) = s.samples.iter().find(|p| p.t == *t) {
                vec.push((s.labels.clone(), p.v));
            }
        }
        let r = if let Value::Scalar(_) = res {
            match vec.first() {
                Some((_, v)) => compare(ev, &Value::Scalar(*v)),
                None => Err("range mode gave no scalar".into()),
            }
        } else {
            compare_vector(ev, &vec)
        };
        r.map_err(|e| format!("at {t}ms, range mode: {e}"))?;
    }
    Ok(())
}

/// Runs every `.test` file in `dir`; returns (passed, total, failure reports).
fn run_dir(dir: &std::path::Path, exact: bool) -> (usize, usize, Vec<String>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let (mut passed, mut total) = (0usize, 0usize);
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let cmds = match parse_file(&text, exact) {
            Ok(c) => c,
            Err(e) => panic!("{name}: {e}"),
        };
        let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: usize::MAX });
        for c in cmds {
            match c {
                Cmd::Clear => st.clear(),
                Cmd::Load(series) => {
                    for (l, samples) in series {
                        for (t, v) in samples {
                            // Reloading a series at earlier times is out of order; Prometheus rejects it too.
                            let _ = st.append(&l, t, v);
                        }
                    }
                }
                Cmd::Eval(ev) => {
                    total += 1;
                    if let Some((_, _, why)) = SKIPPED.iter().find(|(n, l, _)| *n == name && *l == ev.line) {
                        failures.push(format!("{name}:{} SKIPPED ({why}): {}", ev.line, ev.expr));
                        continue;
                    }
                    match run_eval(&st, &ev) {
                        Ok(()) => passed += 1,
                        Err(e) => failures.push(format!("{name}:{}: {}\n    {e}", ev.line, ev.expr)),
                    }
                }
            }
        }
    }
    (passed, total, failures)
}

#[test]
fn promqltest_prometheus_v2_42() {
    // OPSDECK_PROMQLTEST_DIR runs another directory of .test files instead (exact comparison
    // with OPSDECK_PROMQLTEST_EXACT=1, as promtool compares).
    let Some(dir) = crate::common::prometheus_testdata("promql") else { return };
    let exact = std::env::var_os("OPSDECK_PROMQLTEST_EXACT").is_some();
    let (passed, total, failures) = run_dir(&dir, exact);
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("promqltest: {passed}/{total} evals");
    assert_eq!(passed, total, "{} promqltest statements failed", total - passed);
}

/// Cases of our own whose expected values are promtool 2.42's answers (see the generator in
/// tests/promql_oracle/), compared exactly, as promtool compares.
#[test]
fn promqltest_promtool_oracle_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/promql_oracle");
    let (passed, total, failures) = run_dir(&dir, true);
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("promql oracle cases: {passed}/{total} evals");
    assert_eq!(passed, total, "{} oracle statements failed", total - passed);
}
