//! `opsdeck rules test`: promtool's rule unit-test format with the semantics of Prometheus 2.42's
//! `cmd/promtool/unittest.go`:
//! - `rule_files` are relative to the test file; `evaluation_interval` defaults to 1m;
//! - every group runs at each evaluation step from 0 to the latest `eval_time` (a group's own
//!   `interval` is ignored), groups ordered by `group_eval_order`;
//! - input samples are loaded step by step, up to each evaluation step; later samples are never
//!   loaded (`WithSamplesTill`), so PromQL tests see samples up to the last step only;
//! - alerts are compared at the step `ts` with `ts <= eval_time < ts + evaluation_interval`,
//!   firing alerts only, labels and annotations exactly;
//! - sample values are compared exactly (Go's `reflect.DeepEqual`), after sorting by labels;
//! - failures are printed as promtool prints them (expected vs got), exit 1.

use super::engine::{EngineOptions, PromqlEvaluator, RuleEngine, RuleSet};
use super::file::{parse_duration_ms, RuleError};
use super::gofmt::{format_upper_e, go_duration, prom_duration};
use super::yaml::{self, Decode, Fields, Node};
use crate::promql::notation;
use crate::tsdb::{Labels, Storage, StorageOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
struct TestFile {
    rule_files: Vec<String>,
    eval_interval_ms: i64,
    group_eval_order: Vec<String>,
    tests: Vec<TestGroup>,
}

#[derive(Debug, Default)]
struct TestGroup {
    interval_ms: i64,
    input_series: Vec<(String, String)>,
    alert_tests: Vec<AlertTest>,
    promql_tests: Vec<PromqlTest>,
    external_labels: Vec<(String, String)>,
    external_url: String,
    name: String,
}

#[derive(Debug, Default)]
struct AlertTest {
    eval_time_ms: i64,
    alertname: String,
    exp: Vec<LabelsAnn>,
}

#[derive(Debug, Default)]
struct PromqlTest {
    expr: String,
    eval_time_ms: i64,
    exp: Vec<(String, f64)>,
}

type YResult<T> = Result<T, yaml::YamlError>;

fn dur(n: Option<&Node>, what: &str) -> YResult<i64> {
    match n.map(|n| (n, n.str_opt(what))) {
        None => Ok(0),
        Some((_, Ok(None))) => Ok(0),
        Some((n, Ok(Some(s)))) => parse_duration_ms(s).map_err(|e| yaml::YamlError::at(n.pos, format!("{what}: {e}"))),
        Some((_, Err(e))) => Err(e),
    }
}

/// `labels.Labels` (`external_labels`): decoded into a fresh Go map, a key set once.
fn string_pairs(n: Option<&Node>, what: &str) -> YResult<Vec<(String, String)>> {
    let Some(n) = n else { return Ok(vec![]) };
    let mut acc = vec![];
    n.map_into(what, Decode::V2Map, &mut acc)?;
    map_strings(acc, what)
}

/// A `map[string]string` struct field (`exp_labels`, `exp_annotations`) as go-yaml v2 fills it:
/// each assignment (one written, one merged into the struct) decodes into the same Go map, so
/// every key may be set once across them; a null assignment empties it.
fn field_map(f: &Fields, k: &str) -> YResult<Vec<(String, String)>> {
    let mut acc = vec![];
    for n in f.all(k) {
        if n.is_null() {
            acc.clear();
        } else {
            n.map_into(k, Decode::V2Map, &mut acc)?;
        }
    }
    map_strings(acc, k)
}

fn map_strings(acc: Vec<(&str, yaml::Pos, &Node)>, what: &str) -> YResult<Vec<(String, String)>> {
    let mut out = vec![];
    for (k, _, v) in acc {
        out.push((k.to_string(), v.str(what)?.to_string()));
    }
    out.sort();
    Ok(out)
}

fn yaml_float(n: &Node, what: &str) -> YResult<f64> {
    let s = n.str(what)?;
    let v = match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        _ => notation::parse_number(s).or_else(|| s.replace('_', "").parse().ok()),
    };
    v.ok_or_else(|| yaml::YamlError::at(n.pos, format!("{what}: cannot unmarshal {s:?} into a float64")))
}

fn parse_test_file(src: &str) -> YResult<TestFile> {
    let root = yaml::parse(src)?;
    let top = root.fields(
        "unit test file",
        Decode::V2Struct,
        &["rule_files", "evaluation_interval", "group_eval_order", "tests"],
    )?;
    let mut tf = TestFile::default();
    if let Some(n) = top.get("rule_files") {
        for f in n.seq("rule_files")? {
            tf.rule_files.push(f.str("rule_files")?.to_string());
        }
    }
    tf.eval_interval_ms = dur(top.get("evaluation_interval"), "evaluation_interval")?;
    if let Some(n) = top.get("group_eval_order") {
        for g in n.seq("group_eval_order")? {
            tf.group_eval_order.push(g.str("group_eval_order")?.to_string());
        }
    }
    let tests = match top.get("tests") {
        Some(n) => n.seq("tests")?,
        None => &[],
    };
    for t in tests {
        let m = t.fields(
            "test group",
            Decode::V2Struct,
            &[
                "interval",
                "input_series",
                "alert_rule_test",
                "promql_expr_test",
                "external_labels",
                "external_url",
                "name",
            ],
        )?;
        let mut tg = TestGroup { interval_ms: dur(m.get("interval"), "interval")?, ..Default::default() };
        if let Some(n) = m.get("input_series") {
            for s in n.seq("input_series")? {
                let sm = s.fields("input series", Decode::V2Struct, &["series", "values"])?;
                let series = sm.get("series").map(|n| n.str("series")).transpose()?.unwrap_or("").to_string();
                let values = sm.get("values").map(|n| n.str("values")).transpose()?.unwrap_or("").to_string();
                tg.input_series.push((series, values));
            }
        }
        if let Some(n) = m.get("alert_rule_test") {
            for a in n.seq("alert_rule_test")? {
                let am = a.fields("alert_rule_test", Decode::V2Struct, &["eval_time", "alertname", "exp_alerts"])?;
                let mut at = AlertTest {
                    eval_time_ms: dur(am.get("eval_time"), "eval_time")?,
                    alertname: am.get("alertname").map(|n| n.str("alertname")).transpose()?.unwrap_or("").to_string(),
                    exp: vec![],
                };
                if let Some(e) = am.get("exp_alerts") {
                    for x in e.seq("exp_alerts")? {
                        let xm = x.fields("exp_alerts", Decode::V2Struct, &["exp_labels", "exp_annotations"])?;
                        let labels = field_map(&xm, "exp_labels")?;
                        let ann = field_map(&xm, "exp_annotations")?;
                        at.exp.push((labels, ann));
                    }
                }
                tg.alert_tests.push(at);
            }
        }
        if let Some(n) = m.get("promql_expr_test") {
            for p in n.seq("promql_expr_test")? {
                let pm = p.fields("promql_expr_test", Decode::V2Struct, &["expr", "eval_time", "exp_samples"])?;
                let mut pt = PromqlTest {
                    expr: pm.get("expr").map(|n| n.str("expr")).transpose()?.unwrap_or("").to_string(),
                    eval_time_ms: dur(pm.get("eval_time"), "eval_time")?,
                    exp: vec![],
                };
                if let Some(e) = pm.get("exp_samples") {
                    for x in e.seq("exp_samples")? {
                        let xm = x.fields("exp_samples", Decode::V2Struct, &["labels", "value"])?;
                        let labels = xm.get("labels").map(|n| n.str("labels")).transpose()?.unwrap_or("").to_string();
                        let value = match xm.get("value") {
                            Some(v) if !v.is_null() => yaml_float(v, "value")?,
                            _ => 0.0,
                        };
                        pt.exp.push((labels, value));
                    }
                }
                tg.promql_tests.push(pt);
            }
        }
        tg.external_labels = string_pairs(m.get("external_labels"), "external_labels")?;
        tg.external_url = m.get("external_url").map(|n| n.str("external_url")).transpose()?.unwrap_or("").to_string();
        tg.name = m.get("name").map(|n| n.str("name")).transpose()?.unwrap_or("").to_string();
        tf.tests.push(tg);
    }
    Ok(tf)
}

/// Go's `filepath.Glob` for the patterns rule_files use (`*`, `?`, `[...]` in the last parts).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let s = pattern.to_string_lossy();
    if !s.contains(['*', '?', '[']) {
        return if pattern.exists() { vec![pattern.to_path_buf()] } else { vec![] };
    }
    let mut out = vec![PathBuf::new()];
    for comp in pattern.components() {
        let c = comp.as_os_str().to_string_lossy().to_string();
        let mut next = vec![];
        for base in &out {
            if !c.contains(['*', '?', '[']) {
                next.push(base.join(&c));
                continue;
            }
            let re = glob_regex(&c);
            let dir = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base.clone() };
            if let Ok(rd) = std::fs::read_dir(&dir) {
                let mut names: Vec<String> =
                    rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect();
                names.sort();
                for n in names {
                    if re.as_ref().is_some_and(|r| r.is_match(&n)) {
                        next.push(base.join(n));
                    }
                }
            }
        }
        out = next;
    }
    out.into_iter().filter(|p| p.exists()).collect()
}

fn glob_regex(pat: &str) -> Option<regex::Regex> {
    let mut r = String::from("^");
    for c in pat.chars() {
        match c {
            '*' => r.push_str("[^/]*"),
            '?' => r.push_str("[^/]"),
            '[' | ']' => r.push(c),
            c => r.push_str(&regex::escape(&c.to_string())),
        }
    }
    r.push('$');
    regex::Regex::new(&r).ok()
}

/// Go's `labels.Labels.String()` of pairs: `{a="b", c="d"}`.
fn labels_string<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let inner: Vec<String> = pairs.map(|(k, v)| format!("{k}={}", go_quote(v))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Go's `strconv.Quote` for the printable strings label values are.
fn go_quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => o.push_str(&format!("\\x{:02x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn indent_lines(s: &str, indent: &str) -> String {
    s.split('\n').collect::<Vec<_>>().join(&format!("\n{indent}"))
}

/// Labels and annotations of one alert.
pub type LabelsAnn = (Vec<(String, String)>, Vec<(String, String)>);

fn alerts_string(la: &[LabelsAnn]) -> String {
    if la.is_empty() {
        return "[]".into();
    }
    let one = |x: &LabelsAnn| {
        format!(
            "Labels:{}\nAnnotations:{}",
            labels_string(x.0.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
            labels_string(x.1.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        )
    };
    let mut s = format!("[\n0:{}", indent_lines(&format!("\n{}", one(&la[0])), "  "));
    for (i, l) in la[1..].iter().enumerate() {
        s += &format!(",\n{}:{}", i + 1, indent_lines(&format!("\n{}", one(l)), "  "));
    }
    s + "\n]"
}

fn samples_string(s: &[(Labels, f64)]) -> String {
    if s.is_empty() {
        return "nil".into();
    }
    s.iter().map(|(l, v)| format!("{} {}", labels_string(l.iter()), format_upper_e(*v))).collect::<Vec<_>>().join(", ")
}

/// Go's `reflect.DeepEqual` on floats: `==` (NaN never equal).
fn same_samples(a: &[(Labels, f64)], b: &[(Labels, f64)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0 && x.1 == y.1)
}

/// Run one test group; errors are promtool-formatted messages.
/// (test group index, expr, eval_time ms, samples).
pub type ObservedSamples = (usize, String, i64, Vec<(Labels, f64)>);

/// What the engine answered for each test case: the "got" side, for tools that write
/// expectations (and for differential tests against promtool).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// (test group index, eval_time ms, alertname, firing alerts as (labels, annotations)).
    pub alerts: Vec<(usize, i64, String, Vec<LabelsAnn>)>,
    /// (test group index, expr, eval_time ms, samples).
    pub samples: Vec<ObservedSamples>,
}

fn run_group(
    tg: &TestGroup,
    eval_interval: i64,
    order: &[String],
    rule_files: &[PathBuf],
    mut obs: Option<(&mut Observed, usize)>,
) -> Vec<String> {
    // Input series, as the LazyLoader's `load` command: a later definition of the same series
    // replaces an earlier one.
    let mut series: Vec<(Labels, Vec<(i64, f64)>)> = vec![];
    for (desc, values) in &tg.input_series {
        let line = format!("{desc} {values}");
        let (labels, vals) = match notation::parse_series_line(&line) {
            Ok(x) => x,
            Err(e) => return vec![format!("error in input_series {desc:?}: {e}")],
        };
        let samples: Vec<(i64, f64)> = vals
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| ((i as i64).saturating_mul(tg.interval_ms), v)))
            .collect();
        if let Some(s) = series.iter_mut().find(|s| s.0 == labels) {
            s.1 = samples;
        } else {
            series.push((labels, samples));
        }
    }

    let set = match RuleSet::load(rule_files) {
        Ok(s) => s,
        Err(errs) => return errs.iter().map(RuleError::to_string).collect(),
    };
    let ev = PromqlEvaluator { subquery_step_ms: eval_interval, ..Default::default() };
    let opts = EngineOptions {
        default_interval_ms: if tg.interval_ms > 0 { tg.interval_ms } else { eval_interval },
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
        resend_delay_ms: 60_000,
    };
    let mut engine = match RuleEngine::new(ev, &set, opts) {
        Ok(e) => e,
        Err(errs) => return errs.iter().map(RuleError::to_string).collect(),
    };
    engine.order_groups(order);

    let maxt = tg
        .alert_tests
        .iter()
        .map(|a| a.eval_time_ms)
        .chain(tg.promql_tests.iter().map(|p| p.eval_time_ms))
        .max()
        .unwrap_or(0);
    for a in &tg.alert_tests {
        if a.alertname.is_empty() {
            let in_group = if tg.name.is_empty() { String::new() } else { format!(" (in TestGroup {})", tg.name) };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                prom_duration(a.eval_time_ms)
            )];
        }
    }
    let mut alert_times: Vec<i64> = tg.alert_tests.iter().map(|a| a.eval_time_ms).collect();
    alert_times.sort();
    alert_times.dedup();

    let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: usize::MAX });
    let mut ids: Vec<Option<usize>> = vec![None; series.len()];
    let mut cursor = vec![0usize; series.len()];
    let mut errs = vec![];
    let mut curr = 0;
    let mut ts = 0i64;
    let test_prefix = if tg.name.is_empty() { String::new() } else { format!("    name: {},\n", tg.name) };
    while ts <= maxt {
        // WithSamplesTill(ts)
        for (i, (labels, samples)) in series.iter().enumerate() {
            while cursor[i] < samples.len() && samples[cursor[i]].0 <= ts {
                let (t, v) = samples[cursor[i]];
                cursor[i] += 1;
                let id = match ids[i] {
                    Some(id) => id,
                    None => match st.series_id(labels) {
                        Ok(id) => {
                            ids[i] = Some(id);
                            id
                        }
                        Err(_) => continue,
                    },
                };
                // Samples at a timestamp already loaded (`interval` 0 puts them all at 0) are
                // dropped, keeping the first, as promtool's loader does.
                let _ = st.append_id(id, t, v);
            }
        }
        engine.eval_all(&mut st, ts);
        let eval_errs = engine.take_errors();
        if !eval_errs.is_empty() {
            for e in eval_errs {
                errs.push(format!("    rule: {}, time: {}, err: {}", e.rule, go_duration(e.t_ms), e.err));
            }
            return errs;
        }
        while curr < alert_times.len() && ts <= alert_times[curr] && alert_times[curr] < ts + eval_interval {
            let t = alert_times[curr];
            for tc in tg.alert_tests.iter().filter(|a| a.eval_time_ms == t) {
                let mut got: Vec<LabelsAnn> = engine
                    .firing(&tc.alertname)
                    .into_iter()
                    .map(|(l, a)| (l.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), a))
                    .collect();
                let mut exp: Vec<LabelsAnn> = tc
                    .exp
                    .iter()
                    .map(|(l, a)| {
                        let mut l = l.clone();
                        l.retain(|(k, _)| k != "alertname");
                        l.push(("alertname".into(), tc.alertname.clone()));
                        l.sort();
                        (l, a.clone())
                    })
                    .collect();
                got.sort();
                exp.sort();
                if let Some((o, gi)) = obs.as_mut() {
                    o.alerts.push((*gi, tc.eval_time_ms, tc.alertname.clone(), got.clone()));
                }
                if got != exp {
                    errs.push(format!(
                        "{test_prefix}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        tc.alertname,
                        prom_duration(tc.eval_time_ms),
                        indent_lines(&alerts_string(&exp), "            "),
                        indent_lines(&alerts_string(&got), "            ")
                    ));
                }
            }
            curr += 1;
        }
        ts += eval_interval;
    }

    // PromQL expression tests, over everything loaded.
    let ev = engine.evaluator();
    for tc in &tg.promql_tests {
        let time = prom_duration(tc.eval_time_ms);
        let got = super::engine::Evaluator::parse(ev, &tc.expr)
            .and_then(|e| super::engine::Evaluator::instant(ev, &st, &e, tc.eval_time_ms));
        let mut got = match got {
            Ok(g) => g,
            Err(e) => {
                errs.push(format!("    expr: {}, time: {time}, err: {e}", go_quote(&tc.expr)));
                continue;
            }
        };
        let mut exp = vec![];
        let mut bad = None;
        for (l, v) in &tc.exp {
            // An empty `labels` is the empty label set (a scalar or a name-less result).
            let parsed = if l.trim().is_empty() { Ok(Labels::empty()) } else { notation::parse_series_desc(l) };
            match parsed {
                Ok(lb) => exp.push((lb, *v)),
                Err(e) => {
                    bad = Some(format!(
                        "    expr: {}, time: {time}, err: labels {}: {e}",
                        go_quote(&tc.expr),
                        go_quote(l)
                    ));
                    break;
                }
            }
        }
        if let Some(b) = bad {
            errs.push(b);
            continue;
        }
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some((o, gi)) = obs.as_mut() {
            o.samples.push((*gi, tc.expr.clone(), tc.eval_time_ms, got.clone()));
        }
        if !same_samples(&exp, &got) {
            errs.push(format!(
                "    expr: {}, time: {time},\n        exp: {}\n        got: {}",
                go_quote(&tc.expr),
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }
    errs
}

/// Run one test file; `Err` holds promtool-formatted errors.
pub fn run_test_file(path: &Path) -> Result<(), Vec<String>> {
    run_test_file_observed(path, None)
}

/// As `run_test_file`, recording what the engine answered into `obs`.
pub fn run_test_file_observed(path: &Path, mut obs: Option<&mut Observed>) -> Result<(), Vec<String>> {
    let src = std::fs::read_to_string(path).map_err(|e| vec![format!("open {}: {e}", path.display())])?;
    let tf = parse_test_file(&src).map_err(|e| vec![format!("{}:{e}", path.display())])?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut rule_files = vec![];
    for rf in &tf.rule_files {
        let p = if rf.is_empty() || Path::new(rf).is_absolute() { PathBuf::from(rf) } else { base.join(rf) };
        let m = glob(&p);
        if m.is_empty() {
            eprintln!("  WARNING: no file match pattern {}", p.display());
        }
        rule_files.extend(m);
    }
    let eval_interval = if tf.eval_interval_ms == 0 { 60_000 } else { tf.eval_interval_ms };
    let mut order = vec![];
    for g in &tf.group_eval_order {
        if order.contains(g) {
            return Err(vec![format!("group name repeated in evaluation order: {g}")]);
        }
        order.push(g.clone());
    }
    let mut errs = vec![];
    for (gi, tg) in tf.tests.iter().enumerate() {
        let o = obs.as_deref_mut().map(|o| (o, gi));
        errs.extend(run_group(tg, eval_interval, &order, &rule_files, o));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// `opsdeck rules test FILE...`: exit 0 when every test passes, 1 otherwise.
pub fn cmd_test(files: &[PathBuf]) -> i32 {
    let mut failed = false;
    let stdout = std::io::stdout();
    for f in files {
        let _ = writeln!(stdout.lock(), "Unit Testing:  {}", f.display());
        match run_test_file(f) {
            Ok(()) => {
                let _ = writeln!(stdout.lock(), "  SUCCESS");
            }
            Err(errs) => {
                eprintln!("  FAILED:");
                for e in errs {
                    eprintln!("{e}");
                    let _ = writeln!(stdout.lock());
                }
                failed = true;
            }
        }
        let _ = writeln!(stdout.lock());
    }
    if failed {
        1
    } else {
        0
    }
}

/// For `fuzz/` only: read a test file's text as `rules test` does, without running it; the
/// input series of every group as `(series, values)`, or the error as it would be printed after
/// the file name.
#[doc(hidden)]
pub fn parse_test_file_text(src: &str) -> Result<Vec<(String, String)>, String> {
    let tf = parse_test_file(src).map_err(|e| e.to_string())?;
    Ok(tf.tests.into_iter().flat_map(|g| g.input_series).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_like_go() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]);
        assert_eq!(samples_string(&[(l, 3.0)]), "{__name__=\"up\", job=\"a\\\"b\"} 3E+00");
        assert_eq!(samples_string(&[]), "nil");
        let la = vec![(vec![("alertname".to_string(), "A".to_string())], vec![])];
        assert_eq!(alerts_string(&la), "[\n0:\n  Labels:{alertname=\"A\"}\n  Annotations:{}\n]");
    }

    #[test]
    fn strict_test_file() {
        assert!(parse_test_file("tests:\n  - intervall: 1m\n").is_err());
        let tf = parse_test_file("evaluation_interval: 30s\ntests:\n  - interval: 1m\n    input_series:\n      - series: up\n        values: 1\n    promql_expr_test:\n      - expr: up\n        eval_time: 1m\n        exp_samples:\n          - labels: up\n            value: 1e+06\n").unwrap();
        assert_eq!(tf.eval_interval_ms, 30_000);
        assert_eq!(tf.tests[0].input_series[0].1, "1");
        assert_eq!(tf.tests[0].promql_tests[0].exp[0].1, 1e6);
    }

    #[test]
    fn test_files_as_go_yaml_v2_strict_reads_them() {
        let head = "tests:\n  - input_series:\n      - &s {series: a, values: '1'}\n      - <<: *s\n        series: b\n    alert_rule_test:\n      - alertname: A\n        exp_alerts:\n          - exp_labels:\n              <<: &l {severity: page, instance: x}\n";
        // A struct takes a field beside a merge that brings it.
        let tf = parse_test_file(&format!("{head}              job: j\n")).unwrap();
        let s = &tf.tests[0].input_series;
        assert_eq!((s[1].0.as_str(), s[1].1.as_str()), ("b", "1"));
        assert_eq!(tf.tests[0].alert_tests[0].exp[0].0.len(), 3);
        // A map does not: promtool fails the file.
        let e = parse_test_file(&format!("{head}              instance: y\n")).unwrap_err();
        assert_eq!((e.msg.as_str(), e.pos.line), ("key \"instance\" already set in map", 11));
    }
}
