//! Templates against the real promtool 2.42: alert annotations exercising Go's text/template rules
//! (field chains as arguments, variables and their scope, `printf` verbs, `urlquery`/`html`/`js`,
//! comparisons, `range`/`with`/`else if`/`define`/`block`/`break`, Prometheus's functions, Go's
//! execution errors with their positions) must expand to what promtool 2.42 expands them to, and
//! templates Go rejects at parse time (an undefined variable, an unknown function, ...) must fail
//! `rules check` and `rules test` as they fail promtool's. Each case is a rule file and a unit test
//! expecting promtool's expansion; both tools must exit alike on it, and on a mutant of the test
//! with the expected annotation changed, which both must fail.

use std::path::Path;
use std::process::Command;

/// (annotation name, template, what promtool 2.42 expands it to for the test's one alert).
const CASES: &[(&str, &str, &str)] = &[
    ("fields", "{{ printf \"%s\" .Labels.job }}|{{ if eq .Labels.unit \"core\" }}CPU{{ else }}{{ .Labels.unit }}{{ end }}|{{ index $labels \"instance\" }}|{{ printf \"%.3f\" .Value }}|{{ $.Labels.job }}|{{ with .Labels }}{{ .unit }}{{ end }}|{{ .Labels.job | toUpper | printf \"<%s>\" }}|{{ len (printf \"%s\" .Labels.job) }}", "api|CPU|web-1:9090|0.500|api|core|<API>|3"),
    ("printf", "{{ printf \"%d|%s|%q|%v|%.2f|%5.1f|%x|%e|%g\" 42 \"s\" \"q\\\"é\" .Value 3.14159 2.25 255 1234.5678 0.000012345 }}|{{ printf \"%05d|%-4d|%+d|%#x|%X|%o|%c|%U\" 7 7 7 255 255 8 65 65 }}|{{ printf \"%x|%08.3f|%+.1e|%G|%T\" \"hi\" -3.14159 12345.678 1e-7 .Value }}|{{ printf \"%d %s\" \"x\" 1.5 }}|{{ printf \"%s %s\" \"a\" }}|{{ printf \"%v\" $labels }}", "42|s|\"q\\\"é\"|0.5|3.14|  2.2|ff|1.234568e+03|1.2345e-05|00007|7   |+7|0xff|FF|10|A|U+0041|6869|-003.142|+1.2e+04|1E-07|float64|%!d(string=x) %!s(float64=1.5)|a %!s(MISSING)|map[__name__:m instance:web-1:9090 job:api queue:orders eu/priority unit:core]"),
    ("escape", "{{ $labels.queue | urlquery }}|{{ urlquery \"a b/c?d=e&f~g*h\" }}|{{ html \"<a href=\\\"x\\\">&'\" }}|{{ js \"<a href=\\\"x\\\">&=it's\" }}|{{ \"x y\" | urlquery | html }}", "orders+eu%2Fpriority|a+b%2Fc%3Fd%3De%26f~g%2Ah|&lt;a href=&#34;x&#34;&gt;&amp;&#39;|\\u003Ca href\\u003D\\\"x\\\"\\u003E\\u0026\\u003Dit\\'s|x+y"),
    ("compare", "{{ eq 1 2 3 1 }} {{ eq \"a\" \"b\" }} {{ ne .Labels.job \"x\" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }} {{ gt .Value 0.1 }}|{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 \"\" }}|{{ or 0 \"x\" }}|{{ not 0 }}|{{ or 1 (query \"up\") }}", "true false true true true true false true|0|2||x|true|1"),
    ("control", "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}|{{ range $labels }}{{ if eq . \"api\" }}{{ break }}{{ end }}[{{ . }}]{{ end }}|{{ with $labels.nope }}x{{ else }}none{{ end }}|{{ if gt $value 1.0 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}|{{ define \"t\" }}({{ . }}){{ end }}{{ template \"t\" .Labels.job }}|{{ block \"b\" $labels.unit }}<{{ . }}>{{ end }}|{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "__name__=m;instance=web-1:9090;job=api;queue=orders eu/priority;unit=core;|[m][web-1:9090]|none|mid|(api)|<core>|2"),
    ("prom", "{{ humanize 1234567 }} {{ humanize 0.000012 }} {{ humanize1024 1048576 }} {{ humanizePercentage .Value }} {{ humanizeDuration 3725 }} {{ humanizeTimestamp 1435065584.128 }}|{{ title \"hello wide-world\" }} {{ toUpper \"abc\" }} {{ toLower \"ABC\" }}|{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }} {{ match \"^web\" $labels.instance }}|{{ stripPort $labels.instance }} {{ stripDomain \"host.example.com:9090\" }}|{{ parseDuration \"1h30m\" }}|{{ graphLink \"up == 0\" }} {{ tableLink \"rate(x[5m])\" }}|{{ safeHtml \"<b>\" }} {{ (args 1 \"a\").arg1 }} {{ toTime 1435065584 }}", "1.235M 12u 1Mi 50% 1h 2m 5s 2015-06-23 13:19:44.128 +0000 UTC|Hello Wide-World ABC abc|web-1 true|web-1 host:9090|5400|/graph?g0.expr=up+%3D%3D+0&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1|<b> a 2015-06-23 13:19:44 +0000 UTC"),
    ("err_cmp", "{{ eq 1 1.0 }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <eq 1 1.0>: error calling eq: incompatible types for comparison>"),
    ("err_field", "{{ .Foo }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>"),
    ("err_type", "x{{ title $value }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:122: executing \"__alert_A\" at <$value>: wrong type for value; expected string; got float64>"),
    ("err_call", "{{ humanize \"x\" }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax>"),
    ("err_tmpl", "{{ template \"nope\" }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:124: executing \"__alert_A\" at <{{template \"nope\"}}>: template \"nope\" not defined>"),
    ("err_nilurl", "{{ pathPrefix }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <pathPrefix>: error calling pathPrefix: runtime error: invalid memory address or nil pointer dereference>"),
    ("err_chain", "{{ .Labels.job.x }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:122: executing \"__alert_A\" at <.Labels.job.x>: can't evaluate field x in type string>"),
];

/// Templates Go's parser rejects: promtool fails `check rules` and `test rules` on them.
const PARSE_ERRORS: &[(&str, &str)] = &[
    ("undefined_var", "Job {{ $label.job }} is down"),
    ("unknown_func", "{{ foo 1 }}"),
    ("html_only_tmpl", "{{ tmpl \"x\" . }}"),
    ("define_scope", "{{ define \"x\" }}{{ $labels.job }}{{ end }}"),
    ("control_scope", "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}"),
    ("unclosed_if", "{{ if true }}x"),
    ("break_outside_range", "{{ break }}"),
    ("literal_stage", "{{ $value | 1 }}"),
    ("else_if_in_with", "{{ with 1 }}{{ else if 2 }}{{ end }}"),
];

const SERIES: &str = r#"m{instance="web-1:9090", job="api", unit="core", queue="orders eu/priority"}"#;

/// A YAML double-quoted scalar.
fn dq(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn rule_file(dir: &Path, name: &str, tmpl: &str) -> String {
    let f = format!("{name}.rules.yml");
    let body = format!(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: m\n        annotations:\n          {name}: {}\n",
        dq(tmpl)
    );
    std::fs::write(dir.join(&f), body).unwrap();
    f
}

fn test_file(dir: &Path, name: &str, rules: &str, expected: Option<(&str, &str)>) -> String {
    let f = format!("{name}.test.yml");
    let ann = match expected {
        Some((k, v)) => format!("\n            exp_annotations:\n              {k}: {}", dq(v)),
        None => String::new(),
    };
    let body = format!(
        "rule_files: [{rules}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: '{SERIES}'\n        values: '0.5'\n    alert_rule_test:\n      - eval_time: 0m\n        alertname: A\n        exp_alerts:\n          - exp_labels: {{instance: \"web-1:9090\", job: api, unit: core, queue: \"orders eu/priority\"}}{ann}\n"
    );
    std::fs::write(dir.join(&f), body).unwrap();
    f
}

/// The exit codes of promtool and opsdeck for `check rules`/`test rules` of `file` in `dir`.
fn exits(dir: &Path, kind: &str, file: &str) -> (i32, i32, String) {
    let p = Command::new("promtool").args([kind, "rules", file]).current_dir(dir).output().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_opsdeck")).args(["rules", kind, file]).current_dir(dir).output().unwrap();
    let why = format!(
        "promtool:\n{}{}\nopsdeck:\n{}{}",
        String::from_utf8_lossy(&p.stdout),
        String::from_utf8_lossy(&p.stderr),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (p.status.code().unwrap_or(-1), o.status.code().unwrap_or(-1), why)
}

#[test]
fn template_expansions_agree_with_promtool() {
    if !crate::common::have_tool("promtool", &["--version"], "prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, tmpl, want) in CASES {
        let rules = rule_file(d, name, tmpl);
        let (p, o, why) = exits(d, "check", &rules);
        assert_eq!((p, o), (0, 0), "{name}: check rules\n{why}");
        let test = test_file(d, name, &rules, Some((name, want)));
        let (p, o, why) = exits(d, "test", &test);
        assert_eq!(p, 0, "{name}: promtool must pass its own expansion\n{why}");
        assert_eq!(o, 0, "{name}: opsdeck must expand {tmpl:?} as promtool does\n{why}");
        let mutant = test_file(d, &format!("{name}_mutant"), &rules, Some((name, &format!("{want}~"))));
        let (p, o, why) = exits(d, "test", &mutant);
        assert_eq!((p, o), (1, 1), "{name}: both must fail the mutant\n{why}");
    }
}

#[test]
fn template_parse_errors_agree_with_promtool() {
    if !crate::common::have_tool("promtool", &["--version"], "prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, tmpl) in PARSE_ERRORS {
        let rules = rule_file(d, name, tmpl);
        let (p, o, why) = exits(d, "check", &rules);
        assert_eq!(p, 1, "{name}: promtool rejects {tmpl:?}\n{why}");
        assert_eq!(o, p, "{name}: rules check of {tmpl:?}\n{why}");
        let test = test_file(d, name, &rules, None);
        let (p, o, why) = exits(d, "test", &test);
        assert_eq!(p, 1, "{name}: promtool fails the test of {tmpl:?}\n{why}");
        assert_eq!(o, p, "{name}: rules test of {tmpl:?}\n{why}");
    }
}
