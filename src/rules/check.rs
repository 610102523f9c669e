//! `opsdeck rules check`: validation as Prometheus loads rule files (errors, exit 1) plus lints
//! for mistakes that load fine and page someone wrongly (warnings; exit 1 only with `--strict`).

use super::file::{load_rule_file, RuleDef, RuleFile, RuleKind};
use crate::promql::Expr;
use promql_parser::parser::{AggregateExpr, BinaryExpr, LabelModifier, VectorMatchCardinality, VectorSelector};
use std::path::{Path, PathBuf};

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl std::fmt::Display for Lint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.msg)
    }
}

/// Template functions Go and Prometheus define but opsdeck cannot run (they need a query).
const UNSUPPORTED_TEMPLATE_FUNCS: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "graphLink",
    "tableLink",
    "toTime",
    "parseDuration",
];

/// What survives of a selector after functions and aggregations: which labels the result keeps.
#[derive(Debug, Clone)]
enum Kept {
    All,
    Only(Vec<String>),
    AllBut(Vec<String>),
}

impl Kept {
    fn keeps(&self, l: &str) -> bool {
        match self {
            Kept::All => true,
            Kept::Only(v) => v.iter().any(|x| x == l),
            Kept::AllBut(v) => !v.iter().any(|x| x == l),
        }
    }
}

struct SelInfo<'a> {
    vs: &'a VectorSelector,
    kept: Kept,
}

fn metric_name(vs: &VectorSelector) -> Option<String> {
    vs.name.clone().or_else(|| {
        vs.matchers.matchers.iter().find(|m| m.name == "__name__" && m.op.to_string() == "=").map(|m| m.value.clone())
    })
}

/// The single selector an operand reads, seen through parentheses, label-preserving functions,
/// arithmetic with a number and aggregations.
fn selector_info(e: &Expr) -> Option<SelInfo<'_>> {
    match e {
        Expr::Paren(p) => selector_info(&p.expr),
        Expr::VectorSelector(vs) => Some(SelInfo { vs, kept: Kept::All }),
        Expr::MatrixSelector(ms) => Some(SelInfo { vs: &ms.vs, kept: Kept::All }),
        Expr::Call(c) => {
            let mut vec_args =
                c.args.args.iter().filter(|a| !matches!(***a, Expr::NumberLiteral(_) | Expr::StringLiteral(_)));
            let a = vec_args.next()?;
            if vec_args.next().is_some() {
                return None;
            }
            let inner = selector_info(a)?;
            if c.func.name == "histogram_quantile" {
                return Some(SelInfo { vs: inner.vs, kept: restrict(inner.kept, &Kept::AllBut(vec!["le".into()])) });
            }
            if matches!(
                c.func.name,
                "label_replace" | "label_join" | "absent" | "absent_over_time" | "vector" | "scalar"
            ) {
                return None;
            }
            Some(inner)
        }
        Expr::Aggregate(AggregateExpr { expr, modifier, op, .. }) => {
            let inner = selector_info(expr)?;
            let op = op.to_string();
            if matches!(op.as_str(), "topk" | "bottomk") {
                return Some(inner);
            }
            let k = match modifier {
                None => Kept::Only(vec![]),
                Some(LabelModifier::Include(l)) => Kept::Only(l.labels.clone()),
                Some(LabelModifier::Exclude(l)) => Kept::AllBut(l.labels.clone()),
            };
            Some(SelInfo { vs: inner.vs, kept: restrict(inner.kept, &k) })
        }
        Expr::Binary(b) => match (&*b.lhs, &*b.rhs) {
            (Expr::NumberLiteral(_), x) | (x, Expr::NumberLiteral(_)) => selector_info(x),
            _ => None,
        },
        _ => None,
    }
}

fn restrict(a: Kept, b: &Kept) -> Kept {
    match (a, b) {
        (Kept::All, b) => b.clone(),
        (Kept::Only(v), b) => Kept::Only(v.into_iter().filter(|l| b.keeps(l)).collect()),
        (Kept::AllBut(v), Kept::All) => Kept::AllBut(v),
        (Kept::AllBut(v), Kept::Only(o)) => Kept::Only(o.iter().filter(|l| !v.contains(l)).cloned().collect()),
        (Kept::AllBut(mut v), Kept::AllBut(w)) => {
            v.extend(w.iter().cloned());
            Kept::AllBut(v)
        }
    }
}

fn walk<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            walk(&a.expr, f);
            if let Some(p) = &a.param {
                walk(p, f);
            }
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a, f);
            }
        }
        _ => {}
    }
}

/// Does `label` take part in the binary operation's matching?
fn matches_on(b: &BinaryExpr, label: &str) -> bool {
    match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        None => true,
        Some(LabelModifier::Include(l)) => l.labels.iter().any(|x| x == label),
        Some(LabelModifier::Exclude(l)) => !l.labels.iter().any(|x| x == label),
    }
}

fn one_to_one(b: &BinaryExpr) -> bool {
    b.modifier.as_ref().is_none_or(|m| matches!(m.card, VectorMatchCardinality::OneToOne))
}

/// The HighErrorRate trap: `x{status=~"5.."} / x` matched one-to-one on every label pairs each
/// series with itself.
fn self_division(b: &BinaryExpr) -> Option<String> {
    if b.op.to_string() != "/" || !one_to_one(b) {
        return None;
    }
    let (l, r) = (selector_info(&b.lhs)?, selector_info(&b.rhs)?);
    let name = metric_name(l.vs)?;
    if metric_name(r.vs).as_deref() != Some(name.as_str()) {
        return None;
    }
    let filters = |vs: &VectorSelector| -> Vec<String> {
        vs.matchers.matchers.iter().filter(|m| m.name != "__name__").map(|m| m.to_string()).collect()
    };
    let (lf, rf) = (filters(l.vs), filters(r.vs));
    // Labels one side filters on and the other does not: the numerator's subset.
    let mut extra: Vec<String> =
        l.vs.matchers
            .matchers
            .iter()
            .chain(r.vs.matchers.matchers.iter())
            .filter(|m| m.name != "__name__" && !(lf.contains(&m.to_string()) && rf.contains(&m.to_string())))
            .map(|m| m.name.clone())
            .collect();
    extra.dedup();
    let culprit = extra.into_iter().find(|lbl| l.kept.keeps(lbl) && r.kept.keeps(lbl) && matches_on(b, lbl))?;
    Some(format!(
        "`{b}` divides each series by itself: one-to-one matching pairs every `{name}` series on the left with \
         the right-hand series that has the same labels, `{culprit}` included, so the ratio is 1 wherever \
         there is any traffic matching the filter. Aggregate both sides to the labels you compare on, e.g. \
         `sum by (env) (...) / sum by (env) (...)`"
    ))
}

fn is_counter_name(n: &str) -> bool {
    n.ends_with("_total") || n.ends_with("_count") || n.ends_with("_sum") || n.ends_with("_bucket")
}

fn expr_lints(e: &Expr) -> Vec<String> {
    let mut out = vec![];
    walk(e, &mut |x| match x {
        Expr::Binary(b) => {
            if let Some(m) = self_division(b) {
                out.push(m);
            }
        }
        Expr::Call(c) if matches!(c.func.name, "rate" | "irate" | "increase") => {
            if let Some(Expr::MatrixSelector(ms)) = c.args.args.first().map(|a| &**a) {
                if let Some(n) = metric_name(&ms.vs) {
                    if !is_counter_name(&n) {
                        out.push(format!(
                            "{}() over `{n}`, which is not named like a counter (counters end in _total, _count, \
                             _sum or _bucket): on a gauge it counts every decrease as a reset; use deriv() or \
                             delta() for gauges",
                            c.func.name
                        ));
                    }
                }
            }
        }
        Expr::Call(c) if c.func.name == "histogram_quantile" => {
            if let Some(arg) = c.args.args.get(1) {
                let mut agg: Option<&AggregateExpr> = None;
                let mut a: &Expr = arg;
                loop {
                    match a {
                        Expr::Paren(p) => a = &p.expr,
                        Expr::Aggregate(g) => {
                            agg = Some(g);
                            break;
                        }
                        _ => break,
                    }
                }
                if let Some(g) = agg {
                    let drops = match &g.modifier {
                        None => true,
                        Some(LabelModifier::Include(l)) => !l.labels.iter().any(|x| x == "le"),
                        Some(LabelModifier::Exclude(l)) => l.labels.iter().any(|x| x == "le"),
                    };
                    if drops {
                        out.push(format!(
                            "histogram_quantile() over `{g}`, whose aggregation drops the `le` label: the buckets \
                             are summed together and the quantile is NaN or meaningless; keep `le`, e.g. \
                             `sum by (le, ...) (rate(..._bucket[5m]))`"
                        ));
                    }
                }
            }
        }
        _ => {}
    });
    out
}

fn rule_lints(file: &str, group_interval: Option<i64>, r: &RuleDef, out: &mut Vec<Lint>) {
    let what = match r.kind {
        RuleKind::Alert => format!("alert {:?}", r.name),
        RuleKind::Record => format!("recording rule {:?}", r.name),
    };
    let at = |p: super::yaml::Pos, msg: String| Lint { file: file.to_string(), line: p.line, col: p.col, msg };
    if let Ok(e) = super::file::parse_promql(&r.expr) {
        for m in expr_lints(&e) {
            out.push(at(r.expr_pos, format!("{what}: {m}")));
        }
    }
    if let (RuleKind::Alert, Some(iv)) = (&r.kind, group_interval) {
        if r.for_ms > 0 && r.for_ms < iv {
            out.push(at(
                r.for_pos.unwrap_or(r.pos),
                format!(
                    "{what}: `for: {}` is shorter than the group's evaluation interval {}: it is only checked \
                     once per interval, so it acts as `for: {}`",
                    super::gofmt::prom_duration(r.for_ms),
                    super::gofmt::prom_duration(iv),
                    super::gofmt::prom_duration(iv)
                ),
            ));
        }
    }
    for (k, v) in r.labels.iter().chain(&r.annotations) {
        for f in super::template::used_functions(v) {
            if UNSUPPORTED_TEMPLATE_FUNCS.contains(&f.as_str()) {
                out.push(at(
                    r.pos,
                    format!("{what}: template of {k:?} uses `{f}`, which opsdeck cannot run (it needs a query); it will render as an error"),
                ));
            }
        }
    }
}

/// All lints over the loaded files, including duplicates across files.
pub fn lint_files(files: &[RuleFile]) -> Vec<Lint> {
    let mut out = vec![];
    let mut seen: Vec<(&RuleDef, String)> = vec![];
    for f in files {
        let file = f.path.display().to_string();
        for g in &f.groups {
            for r in &g.rules {
                rule_lints(&file, g.interval_ms, r, &mut out);
                if let Some((prev, pf)) =
                    seen.iter().find(|(p, _)| p.kind == r.kind && p.name == r.name && p.labels == r.labels)
                {
                    let pp = prev.name_pos;
                    let kind = if r.kind == RuleKind::Alert { "alert" } else { "recording rule" };
                    out.push(Lint {
                        file: file.clone(),
                        line: r.name_pos.line,
                        col: r.name_pos.col,
                        msg: format!(
                            "duplicate {kind} {:?} with the same labels as the one at {pf}:{pp}: both produce the same \
                             series and alerts",
                            r.name
                        ),
                    });
                } else {
                    seen.push((r, file.clone()));
                }
            }
        }
    }
    out
}

/// `opsdeck rules check FILE... [--strict]`.
pub fn cmd_check(files: &[PathBuf], strict: bool) -> i32 {
    let mut failed = false;
    let mut loaded = vec![];
    for f in files {
        println!("Checking {}", f.display());
        match load_rule_file(Path::new(f)) {
            Ok(rf) => {
                let n: usize = rf.groups.iter().map(|g| g.rules.len()).sum();
                println!("  SUCCESS: {n} rules found");
                loaded.push(rf);
            }
            Err(errs) => {
                failed = true;
                eprintln!("  FAILED:");
                for e in errs {
                    eprintln!("{e}");
                }
            }
        }
        println!();
    }
    let lints = lint_files(&loaded);
    for l in &lints {
        eprintln!("WARNING: {l}");
    }
    if !lints.is_empty() {
        eprintln!("{} warning(s){}", lints.len(), if strict { " (--strict: failing)" } else { "" });
    }
    if failed || (strict && !lints.is_empty()) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lints(expr: &str) -> Vec<String> {
        expr_lints(&crate::promql::parse(expr).unwrap())
    }

    #[test]
    fn high_error_rate_trap() {
        let l = lints(r#"rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05"#);
        assert_eq!(l.len(), 1, "{l:?}");
        assert!(l[0].contains("divides each series by itself") && l[0].contains("status"), "{}", l[0]);
        // Corrected forms are quiet.
        assert!(lints(r#"sum by (env) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (env) (rate(http_requests_total[5m]))"#).is_empty());
        assert!(lints(r#"rate(x_total{status="500"}[5m]) / ignoring(status) group_left rate(x_total[5m])"#).is_empty());
        assert!(lints(
            r#"sum without (status) (rate(x_total{status="500"}[5m])) / sum without (status) (rate(x_total[5m]))"#
        )
        .is_empty());
        // Grouping by the filtered label keeps the trap.
        assert_eq!(
            lints(r#"sum by (status) (rate(x_total{status="500"}[5m])) / sum by (status) (rate(x_total[5m]))"#).len(),
            1
        );
        assert!(lints("rate(a_total[5m]) / rate(b_total[5m])").is_empty());
    }

    #[test]
    fn rate_over_gauge_and_quantile_without_le() {
        assert_eq!(lints("rate(active_scrapers[5m])").len(), 1);
        assert!(lints("rate(x_total[5m])").is_empty());
        let l = lints("histogram_quantile(0.95, sum by (env) (rate(d_bucket[5m])))");
        assert_eq!(l.len(), 1);
        assert!(l[0].contains("`le`"));
        assert!(lints("histogram_quantile(0.95, sum by (env, le) (rate(d_bucket[5m])))").is_empty());
        assert_eq!(lints("histogram_quantile(0.9, sum(rate(d_bucket[5m])))").len(), 1);
    }

    #[test]
    fn file_lints() {
        let src = "groups:\n  - name: g\n    interval: 1m\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 30s\n        annotations: {v: '{{ query \"up\" }}'}\n      - alert: A\n        expr: up == 0\n";
        let f = super::super::file::parse_rule_file(Path::new("f.yml"), src).unwrap();
        let l = lint_files(&[f]);
        let msgs: Vec<&str> = l.iter().map(|l| l.msg.as_str()).collect();
        assert!(msgs.iter().any(|m| m.contains("shorter than the group's evaluation interval")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("`query`")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("duplicate alert")), "{msgs:?}");
        assert_eq!(l.iter().find(|l| l.msg.contains("shorter")).unwrap().line, 7);
    }
}
