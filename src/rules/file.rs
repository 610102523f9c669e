//! Prometheus rule files as-is (`groups`, `interval`, `limit`, recording and alerting rules, `for`,
//! `keep_firing_for`, `labels`, `annotations`), validated like Prometheus's `rulefmt`, every
//! problem named by `file:line:col`. A PromQL error inside `expr:` is mapped to its place in the
//! file, beside the position of the `expr` value that promtool prints.

use super::template::Template;
use super::yaml::{self, Decode, Node, Pos};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    Record,
    Alert,
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub kind: RuleKind,
    /// The record or alert name.
    pub name: String,
    pub name_pos: Pos,
    pub expr: String,
    pub expr_pos: Pos,
    pub for_ms: i64,
    pub for_pos: Option<Pos>,
    pub keep_firing_for_ms: i64,
    /// Sorted by name.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct GroupDef {
    pub name: String,
    pub pos: Pos,
    /// `None`: the global evaluation interval.
    pub interval_ms: Option<i64>,
    pub interval_pos: Option<Pos>,
    pub limit: usize,
    pub rules: Vec<RuleDef>,
}

#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: PathBuf,
    pub groups: Vec<GroupDef>,
}

/// One problem in a rule file, with its position when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    pub file: String,
    pub pos: Option<Pos>,
    pub msg: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, self.msg),
            None => write!(f, "{}: {}", self.file, self.msg),
        }
    }
}

/// Parse a PromQL expression with the parser every part of opsdeck uses. The error carries the
/// byte offset of the problem in `src`.
pub fn parse_promql(src: &str) -> Result<crate::promql::Expr, (Option<usize>, String)> {
    crate::promql::parse(src).map_err(|e| {
        // For an unclosed bracket the useful place is the bracket left open, not the end.
        let opener = [("parenthes", '(', ')'), ("bracket", '[', ']'), ("brace", '{', '}')]
            .iter()
            .find(|(w, _, _)| e.message.contains("unclosed") && e.message.contains(w))
            .and_then(|(_, o, c)| unmatched_open(src, *o, *c));
        (Some(opener.unwrap_or(e.offset)), e.message)
    })
}

/// Byte offset of the first opener never closed, outside string literals.
fn unmatched_open(src: &str, open: char, close: char) -> Option<usize> {
    let mut stack = vec![];
    let mut quote: Option<char> = None;
    let mut esc = false;
    for (i, c) in src.char_indices() {
        if let Some(q) = quote {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            c if c == open => stack.push(i),
            c if c == close => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.first().copied()
}

fn is_metric_name(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && it.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub fn is_label_name(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && it.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prometheus durations (`5m`, `1h30m`, `0`), in milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let d = crate::duration::parse(s).map_err(|_| format!("not a valid duration string: {s:?}"))?;
    i64::try_from(d.as_millis()).map_err(|_| format!("duration out of range: {s:?}"))
}

struct Ctx<'a> {
    file: &'a str,
    errs: Vec<RuleError>,
}

impl Ctx<'_> {
    fn err(&mut self, pos: Option<Pos>, msg: impl Into<String>) {
        self.errs.push(RuleError { file: self.file.to_string(), pos, msg: msg.into() });
    }
    fn yaml(&mut self, e: yaml::YamlError) {
        self.err(Some(e.pos), e.msg);
    }
}

fn string_map(node: &Node, what: &str, ctx: &mut Ctx) -> Vec<(String, String, Pos)> {
    match node.map(what, Decode::V3) {
        Ok(m) => {
            let mut out = vec![];
            for (k, kp, v) in m {
                match v.str_opt(&format!("{what}.{k}")) {
                    Ok(s) => out.push((k.to_string(), s.unwrap_or("").to_string(), kp)),
                    Err(e) => ctx.yaml(e),
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
        Err(e) => {
            ctx.yaml(e);
            vec![]
        }
    }
}

fn duration_field(node: &Node, what: &str, ctx: &mut Ctx) -> Option<i64> {
    match node.str_opt(what) {
        Ok(None) => None,
        Ok(Some(s)) => match parse_duration_ms(s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                ctx.err(Some(node.pos), format!("{what}: {e}"));
                None
            }
        },
        Err(e) => {
            ctx.yaml(e);
            None
        }
    }
}

fn parse_rule(idx: usize, group: &str, node: &Node, ctx: &mut Ctx) -> Option<RuleDef> {
    const FIELDS: &[&str] = &["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"];
    let m = match node.fields("rule", Decode::V3, FIELDS) {
        Ok(m) => m,
        Err(e) => {
            ctx.yaml(e);
            return None;
        }
    };
    let get = |k: &str| m.get(k);
    // rulefmt keeps `record`, `alert` and `expr` as yaml.Node and reads their `Value`.
    let s = |k: &str, ctx: &mut Ctx| -> (String, Pos) {
        match get(k) {
            Some(n) => match n.v3_node_value(k) {
                Ok((v, p)) => (v.to_string(), p),
                Err(e) => {
                    ctx.yaml(e);
                    (String::new(), n.pos)
                }
            },
            None => (String::new(), node.pos),
        }
    };
    let (record, record_pos) = s("record", ctx);
    let (alert, alert_pos) = s("alert", ctx);
    let (expr, expr_pos) = s("expr", ctx);
    let rule_name = if alert.is_empty() { record.clone() } else { alert.clone() };
    let before = ctx.errs.len();
    let rerr = |ctx: &mut Ctx, pos: Option<Pos>, msg: String| {
        ctx.err(pos, format!("group {group:?}, rule {}, {rule_name:?}: {msg}", idx + 1));
    };
    if !record.is_empty() && !alert.is_empty() {
        rerr(ctx, Some(record_pos), format!("only one of 'record' and 'alert' must be set (alert at {alert_pos})"));
    }
    if record.is_empty() && alert.is_empty() {
        rerr(ctx, Some(node.pos), "one of 'record' or 'alert' must be set".into());
    }
    if expr.is_empty() {
        rerr(ctx, Some(expr_pos), "field 'expr' must be set in rule".into());
    } else if let Err((off, msg)) = parse_promql(&expr) {
        let inner = match (off, get("expr")) {
            (Some(o), Some(n)) if n.alias.is_none() => format!(" (at {})", n.pos_of_offset(o)),
            _ => String::new(),
        };
        rerr(ctx, Some(expr_pos), format!("could not parse expression{inner}: {msg}"));
    }
    let for_ms = get("for").and_then(|n| duration_field(n, "for", ctx)).unwrap_or(0);
    let keep_ms = get("keep_firing_for").and_then(|n| duration_field(n, "keep_firing_for", ctx)).unwrap_or(0);
    let labels = get("labels").map(|n| string_map(n, "labels", ctx)).unwrap_or_default();
    let annotations = get("annotations").map(|n| string_map(n, "annotations", ctx)).unwrap_or_default();
    if !record.is_empty() {
        if !annotations.is_empty() {
            rerr(ctx, Some(record_pos), "invalid field 'annotations' in recording rule".into());
        }
        if for_ms != 0 {
            rerr(ctx, Some(record_pos), "invalid field 'for' in recording rule".into());
        }
        if keep_ms != 0 {
            rerr(ctx, Some(record_pos), "invalid field 'keep_firing_for' in recording rule".into());
        }
        if !is_metric_name(&record) {
            rerr(ctx, Some(record_pos), format!("invalid recording rule name: {record}"));
        }
    }
    for (k, _, p) in &labels {
        if !is_label_name(k) || k == "__name__" {
            rerr(ctx, Some(*p), format!("invalid label name: {k}"));
        }
    }
    for (k, _, p) in &annotations {
        if !is_label_name(k) {
            rerr(ctx, Some(*p), format!("invalid annotation name: {k}"));
        }
    }
    if !alert.is_empty() {
        let name = format!("__alert_{alert}");
        for (what, list) in [("label", &labels), ("annotation", &annotations)] {
            for (k, v, p) in list.iter() {
                if let Err(e) = Template::parse(&name, v) {
                    rerr(ctx, Some(*p), format!("{what} {k:?}: {e}"));
                }
            }
        }
    }
    if ctx.errs.len() > before {
        return None;
    }
    let strip = |v: Vec<(String, String, Pos)>| v.into_iter().map(|(k, v, _)| (k, v)).collect();
    Some(RuleDef {
        kind: if alert.is_empty() { RuleKind::Record } else { RuleKind::Alert },
        name: rule_name.clone(),
        name_pos: if alert.is_empty() { record_pos } else { alert_pos },
        expr,
        expr_pos,
        for_ms,
        for_pos: get("for").map(|n| n.pos),
        keep_firing_for_ms: keep_ms,
        labels: strip(labels),
        annotations: strip(annotations),
        pos: node.pos,
    })
}

/// Parse a rule file's text. All problems are returned, not just the first.
pub fn parse_rule_file(path: &Path, src: &str) -> Result<RuleFile, Vec<RuleError>> {
    let file = path.display().to_string();
    let mut ctx = Ctx { file: &file, errs: vec![] };
    let root = match yaml::parse(src) {
        Ok(r) => r,
        Err(e) => {
            ctx.yaml(e);
            return Err(ctx.errs);
        }
    };
    let top = match root.fields("rule file", Decode::V3, &["groups"]) {
        Ok(t) => t,
        Err(e) => {
            ctx.yaml(e);
            return Err(ctx.errs);
        }
    };
    let mut groups = vec![];
    let gnodes = match top.get("groups").map(|v| v.seq("groups")) {
        Some(Ok(g)) => g,
        Some(Err(e)) => {
            ctx.yaml(e);
            return Err(ctx.errs);
        }
        None => &[],
    };
    let mut seen: Vec<String> = vec![];
    for g in gnodes {
        let m = match g.fields("rule group", Decode::V3, &["name", "interval", "limit", "rules", "source_tenants"]) {
            Ok(m) => m,
            Err(e) => {
                ctx.yaml(e);
                continue;
            }
        };
        let get = |k: &str| m.get(k);
        let name = match get("name").map(|n| n.str("name")) {
            Some(Ok(s)) => s.to_string(),
            Some(Err(e)) => {
                ctx.yaml(e);
                String::new()
            }
            None => String::new(),
        };
        if name.is_empty() {
            ctx.err(Some(g.pos), "Groupname must not be empty");
        }
        if seen.contains(&name) {
            ctx.err(Some(g.pos), format!("groupname: \"{name}\" is repeated in the same file"));
        }
        seen.push(name.clone());
        let interval_ms = get("interval").and_then(|n| duration_field(n, "interval", &mut ctx));
        let limit = match get("limit").map(|n| n.str("limit")) {
            Some(Ok(s)) if !s.is_empty() => match s.parse::<usize>() {
                Ok(l) => l,
                Err(_) => {
                    ctx.err(get("limit").map(|n| n.pos), format!("limit: {s:?} is not a non-negative integer"));
                    0
                }
            },
            Some(Err(e)) => {
                ctx.yaml(e);
                0
            }
            _ => 0,
        };
        let mut rules = vec![];
        match get("rules").map(|n| n.seq("rules")).unwrap_or(Ok(&[])) {
            Ok(rs) => {
                for (i, r) in rs.iter().enumerate() {
                    if let Some(rd) = parse_rule(i, &name, r, &mut ctx) {
                        rules.push(rd);
                    }
                }
            }
            Err(e) => ctx.yaml(e),
        }
        groups.push(GroupDef {
            name,
            pos: g.pos,
            interval_ms,
            interval_pos: get("interval").map(|n| n.pos),
            limit,
            rules,
        });
    }
    if ctx.errs.is_empty() {
        Ok(RuleFile { path: path.to_path_buf(), groups })
    } else {
        Err(ctx.errs)
    }
}

/// Read and parse a rule file.
pub fn load_rule_file(path: &Path) -> Result<RuleFile, Vec<RuleError>> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        vec![RuleError { file: path.display().to_string(), pos: None, msg: format!("cannot read rule file: {e}") }]
    })?;
    parse_rule_file(path, &src)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<RuleFile, Vec<RuleError>> {
        parse_rule_file(Path::new("r.yml"), src)
    }

    #[test]
    fn loads_groups_and_rules() {
        let f = parse(
            "groups:\n  - name: g\n    interval: 30s\n    limit: 3\n    rules:\n      - record: a:b\n        expr: sum(x)\n      - alert: A\n        expr: up == 0\n        for: 5m\n        keep_firing_for: 1m\n        labels: {severity: page}\n        annotations:\n          summary: \"{{ $labels.job }} down\"\n",
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!((g.name.as_str(), g.interval_ms, g.limit), ("g", Some(30_000), 3));
        assert_eq!(g.rules[0].kind, RuleKind::Record);
        assert_eq!(g.rules[1].for_ms, 300_000);
        assert_eq!(g.rules[1].keep_firing_for_ms, 60_000);
        assert_eq!(g.rules[1].labels, vec![("severity".to_string(), "page".to_string())]);
    }

    #[test]
    fn promql_error_points_into_the_file() {
        let e = parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n").unwrap_err();
        let s = e[0].to_string();
        // The value's position, then where in the file the parser stopped (line 5, after `expr: `).
        assert!(s.starts_with("r.yml:5:15: group \"g\", rule 1, \"A\": could not parse expression (at 5:"), "{s}");
        let e = parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          sum(\n            rate(x_total[5m]\n          )\n").unwrap_err();
        assert!(e[0].to_string().contains("(at 6:14)"), "{}", e[0]);
        let e = parse("groups:\n  - name: bad-syntax\n    rules:\n      - record: x\n        expr: 'test +'\n")
            .unwrap_err();
        assert!(e[0].to_string().starts_with("r.yml:5:15:"), "{}", e[0]);
    }

    #[test]
    fn hostile_files_never_panic() {
        let lines = [
            "groups:",
            "  - name: g",
            "    rules:",
            "      - alert: A",
            "      - record: r",
            "        expr: up",
            "        expr: 'x +'",
            "        expr: |",
            "          sum(",
            "        for: 5m",
            "        for: [1]",
            "        labels: {a: '{{'}",
            "  - {}",
            "- x",
            ":",
            "&a b",
            "*a",
            "groups: 5",
            "    limit: -1",
            "    interval: 0",
            "\t",
            "        annotations: {'': x}",
            "        expr: \"é(\"",
        ];
        let mut seed = 3u64;
        for _ in 0..3000 {
            let mut t = String::new();
            for _ in 0..(seed % 12) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                t.push_str(lines[(seed >> 33) as usize % lines.len()]);
                t.push('\n');
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let _ = parse(&t);
        }
    }

    #[test]
    fn rulefmt_validation() {
        let e =
            parse("groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: x\n        for: 5m\n")
                .unwrap_err();
        assert!(e.iter().any(|e| e.msg.contains("invalid field 'for' in recording rule")));
        assert!(e.iter().any(|e| e.msg.contains("invalid recording rule name")));
        let e = parse("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n").unwrap_err();
        assert!(e[0].msg.contains("repeated"), "{:?}", e);
        let e = parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        annotations: {s: '{{ nope }}'}\n").unwrap_err();
        assert!(e[0].msg.contains("function \"nope\" not defined"), "{:?}", e);
        let e = parse("groups:\n  - name: g\n    rulez: []\n").unwrap_err();
        assert_eq!(e[0].pos, Some(Pos { line: 3, col: 5 }));
        let e = parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        for: 5x\n")
            .unwrap_err();
        assert!(e[0].msg.contains("duration"), "{:?}", e);
        let e = parse("groups: [\n").unwrap_err();
        assert!(e[0].pos.is_some());
    }

    #[test]
    fn yaml_as_go_yaml_v3_reads_it() {
        let f = parse("groups:\n  - name: g\n    interval: &i 1m\n    rules:\n      - alert: A\n        expr: &e up == 0\n        labels: &l {severity: page, team: sre}\n  - name: h\n    interval: *i\n    rules:\n      - alert: B\n        expr: *e\n        labels:\n          severity: ticket\n          <<: [*l, {owner: net, team: network}]\n        annotations:\n          d: \"a\n   b\"\n").unwrap();
        let b = &f.groups[1].rules[0];
        assert_eq!(f.groups[1].interval_ms, Some(60_000));
        // `expr: *e` is the anchor's name, as rulefmt reads the alias node's value.
        assert_eq!((b.expr.as_str(), b.expr_pos), ("e", Pos { line: 12, col: 15 }));
        let l: Vec<(&str, &str)> = b.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(l, [("owner", "net"), ("severity", "ticket"), ("team", "sre")]);
        assert_eq!(b.annotations, vec![("d".to_string(), "a b".to_string())]);
        let e = parse("groups:\n  - name: dup\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          severity: page\n          severity: ticket\n").unwrap_err();
        assert_eq!(e[0].to_string(), "r.yml:8:11: mapping key \"severity\" already defined at line 7");
    }
}
