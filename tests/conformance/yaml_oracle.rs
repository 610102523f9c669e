//! YAML as Prometheus 2.42 reads it, against the real promtool: small rule files (go-yaml v3) and
//! unit-test files (go-yaml v2 `UnmarshalStrict`) with merge keys, aliases, duplicate keys, tags and
//! less-indented quoted continuation lines. `promtool check rules` / `promtool test rules` and
//! `opsdeck rules check` / `rules test` must exit alike on every file. Each test file checks the
//! decoded values (labels, annotations, input series), so agreeing on exit codes means agreeing on
//! what was read, and the cases come in pairs where one of the two fails.

use std::path::Path;
use std::process::Command;

/// A rule file shared by the test files below: merges in labels and annotations, written keys
/// before and after `<<`, a merge list whose mappings share a key, aliases across groups, an
/// alias as a whole `expr`, `!!str` tags and quoted scalars continued on less-indented lines.
const RULES: &str = r#"groups:
  - name: first
    interval: &every 1m
    rules:
      - alert: Base
        expr: &e up == 0
        for: &wait 1m
        labels: &page {severity: page, team: sre}
        annotations: &common
          runbook: https://runbooks.example.org/down
          summary: 'Instance {{ $labels.instance }} down'
      - alert: After
        expr: up == 0
        labels:
          <<: *page
          severity: ticket
        annotations:
          summary: x
          <<: *common
      - alert: Before
        expr: up == 0
        labels:
          severity: ticket
          <<: *page
      - alert: List
        expr: up == 0
        labels:
          <<: [*page, {team: network, owner: net}]
      - alert: ListRev
        expr: up == 0
        labels:
          <<: [{team: network, owner: net}, *page]
      - &tmpl
        alert: Tmpl
        expr: up == 0
        labels: {kind: tmpl}
      - <<: *tmpl
        alert: FromTmpl
  - name: second
    interval: *every
    rules:
      - alert: Across
        expr: up == 0
        for: *wait
        labels: *page
        annotations: *common
      - record: aliased_expr
        expr: *e
      - alert: Tagged
        expr: up == 0
        for: !!str 0s
        labels: {code: !!str 404, n: !!str 5}
      - alert: Multiline
        expr: up == 0
        annotations:
          double: "Latency on {{ $labels.instance }}
      is high,
        above the objective"
          single: 'one
   two'
          tab: "a
	b"
          folded: >-
            p99 latency
            too high
"#;

/// A test file expecting one alert of `RULES` with these labels and annotations.
fn rules_test(alert: &str, labels: &str, annotations: &str) -> String {
    format!(
        r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{instance="a"}}'
        values: '0 0 0'
    alert_rule_test:
      - eval_time: 2m
        alertname: {alert}
        exp_alerts:
          - exp_labels: {labels}
            exp_annotations: {annotations}
"#
    )
}

const ANN: &str = "{runbook: 'https://runbooks.example.org/down', summary: 'Instance a down'}";

/// (name, files written, `check` or `test`, the file given to the command).
type Case = (String, Vec<(&'static str, String)>, &'static str, &'static str);

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = vec![];
    let mut rule_case = |name: &str, alert: &str, labels: &str, ann: &str| {
        out.push((
            name.to_string(),
            vec![("rules.yml", RULES.to_string()), ("t.yml", rules_test(alert, labels, ann))],
            "test",
            "t.yml",
        ));
    };
    // A key written beside a merge overrides it in rule files (v3), before or after `<<`.
    let after = "{runbook: 'https://runbooks.example.org/down', summary: x}";
    rule_case("after", "After", "{severity: ticket, team: sre, instance: a}", after);
    rule_case("after, merged value", "After", "{severity: page, team: sre, instance: a}", after);
    rule_case("after, merged annotation", "After", "{severity: ticket, team: sre, instance: a}", ANN);
    rule_case("before", "Before", "{severity: ticket, team: sre, instance: a}", "{}");
    rule_case("before, merged value", "Before", "{severity: page, team: sre, instance: a}", "{}");
    // `<<: [*a, *b]`: the earlier mapping wins.
    rule_case("list", "List", "{severity: page, team: sre, owner: net, instance: a}", "{}");
    rule_case("list, later wins", "List", "{severity: page, team: network, owner: net, instance: a}", "{}");
    rule_case("list rev", "ListRev", "{severity: page, team: network, owner: net, instance: a}", "{}");
    // A whole rule merged from another, its alert name written beside the merge.
    rule_case("rule merged", "FromTmpl", "{kind: tmpl, instance: a}", "{}");
    rule_case("rule merged, wrong", "FromTmpl", "{kind: other, instance: a}", "{}");
    // Aliases across groups: `for`, labels, annotations.
    rule_case("across", "Across", "{severity: page, team: sre, instance: a}", ANN);
    rule_case("across, wrong", "Across", "{severity: page, team: ops, instance: a}", ANN);
    // `!!str` tags.
    rule_case("tagged", "Tagged", "{code: '404', n: '5', instance: a}", "{}");
    rule_case("tagged, wrong", "Tagged", "{code: '405', n: '5', instance: a}", "{}");
    // Quoted scalars continued on lines indented less than their key; a tab there.
    let ml = "{double: 'Latency on a is high, above the objective', single: 'one two', tab: 'a b', folded: 'p99 latency too high'}";
    rule_case("multiline", "Multiline", "{instance: a}", ml);
    rule_case("multiline, wrong", "Multiline", "{instance: a}", &ml.replace("is high", "is low"));
    let mut file = |name: &str, files: Vec<(&'static str, String)>, kind: &'static str| {
        out.push((name.to_string(), files, kind, "f.yml"));
    };
    file("rules check", vec![("f.yml", RULES.to_string())], "check");
    // `expr: *e` is the expression `e` in Prometheus 2.42 (rulefmt reads the alias node's value).
    let alias_expr = |v: &str| {
        format!(
            "rule_files: [rules.yml]\ntests:\n  - interval: 1m\n    input_series:\n      - series: e\n        values: '7'\n    promql_expr_test:\n      - expr: aliased_expr\n        eval_time: 0m\n        exp_samples:\n          - labels: aliased_expr\n            value: {v}\n"
        )
    };
    file("alias expr", vec![("rules.yml", RULES.to_string()), ("f.yml", alias_expr("7"))], "test");
    file("alias expr, wrong", vec![("rules.yml", RULES.to_string()), ("f.yml", alias_expr("8"))], "test");
    // Duplicate keys (v3): in labels, in a rule, at the top.
    let dup = |body: &str| format!("groups:\n  - name: dup\n    rules:\n      - alert: A\n{body}");
    file(
        "dup labels",
        vec![("f.yml", dup("        expr: up\n        labels:\n          a: x\n          a: y\n"))],
        "check",
    );
    file("dup expr", vec![("f.yml", dup("        expr: up\n        expr: down\n"))], "check");
    file("dup merge", vec![("f.yml", dup("        expr: up\n        labels: {<<: {a: x}, <<: {b: y}}\n"))], "check");
    file("dup top", vec![("f.yml", "groups: []\ngroups: []\n".to_string())], "check");
    file("quoted merge key", vec![("f.yml", dup("        expr: up\n        labels: {'<<': x}\n"))], "check");
    file("merge of a list", vec![("f.yml", dup("        expr: up\n        labels: {<<: [[a]]}\n"))], "check");
    file("merge of a scalar", vec![("f.yml", dup("        expr: up\n        labels: {<<: x}\n"))], "check");
    file("unknown merged field", vec![("f.yml", dup("        expr: up\n        <<: {nope: 1}\n"))], "check");
    // Test files (v2 strict). A struct (input_series item) takes a field beside a merge...
    let series = |second: &str, exp: &str| {
        format!(
            r#"tests:
  - interval: 1m
    input_series:
      - &s1 {{series: 'm{{i="1"}}', values: '1'}}
{second}
    promql_expr_test:
      - expr: m
        eval_time: 0m
        exp_samples:
{exp}
"#
        )
    };
    let two = "          - labels: 'm{i=\"1\"}'\n            value: 1\n          - labels: 'm{i=\"2\"}'\n            value: 1";
    let one = "          - labels: 'm{i=\"1\"}'\n            value: 1";
    file("struct override", vec![("f.yml", series("      - <<: *s1\n        series: 'm{i=\"2\"}'", two))], "test");
    file(
        "struct override, wrong",
        vec![("f.yml", series("      - <<: *s1\n        series: 'm{i=\"2\"}'", one))],
        "test",
    );
    // ...and applies fields in document order, so a merge after a written field replaces it.
    file("struct merge last", vec![("f.yml", series("      - series: 'm{i=\"2\"}'\n        <<: *s1", one))], "test");
    file(
        "struct merge last, wrong",
        vec![("f.yml", series("      - series: 'm{i=\"2\"}'\n        <<: *s1", two))],
        "test",
    );
    // A merge list into a struct: the earlier mapping's field wins.
    let list = "      - <<: [{series: 'm{i=\"2\"}'}, *s1]";
    file("struct list", vec![("f.yml", series(list, two))], "test");
    file("struct list, wrong", vec![("f.yml", series(list, one))], "test");
    // A struct field written twice is an error.
    file("struct dup", vec![("f.yml", series("      - {series: 'm{i=\"2\"}', series: x, values: '1'}", two))], "test");
    // A map (exp_labels) may not get a key twice, merged or not.
    let labels = |exp: &str| {
        format!(
            "rule_files: [rules.yml]\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'up{{instance=\"a\"}}'\n        values: '0 0 0'\n    alert_rule_test:\n      - eval_time: 2m\n        alertname: Across\n        exp_alerts:\n          - exp_annotations: {ANN}\n{exp}\n"
        )
    };
    let ok = "            exp_labels: {<<: &l {severity: page, team: sre}, instance: a}";
    file("map merge", vec![("rules.yml", RULES.to_string()), ("f.yml", labels(ok))], "test");
    let beside = "            exp_labels: {<<: &l {severity: page, team: sre, instance: a}, instance: a}";
    file("map key beside merge", vec![("rules.yml", RULES.to_string()), ("f.yml", labels(beside))], "test");
    let list = "            exp_labels: {<<: [{severity: page, team: sre}, {team: sre, instance: a}]}";
    file("map merge list overlap", vec![("rules.yml", RULES.to_string()), ("f.yml", labels(list))], "test");
    let list = "            exp_labels: {<<: [{severity: page, team: sre}, {instance: a}]}";
    file("map merge list", vec![("rules.yml", RULES.to_string()), ("f.yml", labels(list))], "test");
    // A struct's map field assigned twice (merged, then written) collects both in one map.
    let twice = "            <<: {exp_labels: {severity: page, team: sre}}\n            exp_labels: {instance: a}";
    file("map field twice", vec![("rules.yml", RULES.to_string()), ("f.yml", labels(twice))], "test");
    let twice =
        "            <<: {exp_labels: {severity: page, team: sre}}\n            exp_labels: {instance: a, team: sre}";
    file("map field twice, overlap", vec![("rules.yml", RULES.to_string()), ("f.yml", labels(twice))], "test");
    // A whole test group aliased (`input_series: *s`), a multi-line quoted expectation.
    let grp = "rule_files: [rules.yml]\ntests:\n  - interval: 1m\n    input_series: &s\n      - series: 'up{instance=\"a\"}'\n        values: '0 0 0'\n  - interval: 1m\n    input_series: *s\n    alert_rule_test:\n      - eval_time: 2m\n        alertname: Multiline\n        exp_alerts:\n          - exp_labels: {instance: a}\n            exp_annotations:\n              double: \"Latency on a\n     is high, above the objective\"\n              single: 'one two'\n              tab: a b\n              folded: p99 latency too high\n";
    file("group alias", vec![("rules.yml", RULES.to_string()), ("f.yml", grp.to_string())], "test");
    file(
        "group alias, wrong",
        vec![("rules.yml", RULES.to_string()), ("f.yml", grp.replace("is high", "is low"))],
        "test",
    );
    out
}

fn code(cmd: &mut Command, dir: &Path) -> i32 {
    cmd.current_dir(dir).output().map(|o| o.status.code().unwrap_or(-1)).unwrap_or(-2)
}

#[test]
fn yaml_reading_agrees_with_promtool() {
    if !crate::common::have_tool("promtool", &["--version"], "prometheus") {
        return;
    }
    let mut differ = vec![];
    let mut failing = 0;
    let cases = cases();
    for (name, files, kind, target) in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (f, body) in files {
            std::fs::write(dir.path().join(f), body).unwrap();
        }
        let p = code(Command::new("promtool").args([kind, "rules", target]), dir.path());
        let o = code(Command::new(env!("CARGO_BIN_EXE_opsdeck")).args(["rules", kind, target]), dir.path());
        eprintln!("{name}: promtool {p}, opsdeck {o}");
        if p != 0 {
            failing += 1;
        }
        if p != o {
            differ.push(format!("{name}: promtool exit {p}, opsdeck exit {o}"));
        }
    }
    assert!(differ.is_empty(), "exit codes differ from promtool's:\n{}", differ.join("\n"));
    // Both verdicts occur, so agreeing is not passing everything.
    assert!(failing > 5 && failing < cases.len() - 5, "{failing} of {} fail", cases.len());
}
