//! `label_replace` and `label_join`: new label values from a sample's existing labels.

use promql_parser::parser::Expr;

use super::{string_arg, Context};
use crate::promql::value::{dedup_checked, valid_label_name, Smp, Val};
use crate::promql::EvalError;

/// `label_replace(v, dst, replacement, src, regex)`.
pub(super) fn label_replace(ev: &impl Context, args: &[&Expr], t: i64) -> Result<Val, EvalError> {
    let v = ev.eval_vector(args[0], t)?;
    let dst = string_arg(args[1])?;
    let repl = string_arg(args[2])?;
    let src = string_arg(args[3])?;
    let re_s = string_arg(args[4])?;
    let re = cached_regex(&re_s)
        .map_err(|_| EvalError::new(format!("invalid regular expression in label_replace(): {re_s}")))?;
    if !valid_label_name(&dst) {
        return Err(EvalError::new(format!("invalid destination label name in label_replace(): {dst}")));
    }
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        let sv = s.labels.get(&src).unwrap_or("");
        let labels = match re.captures(sv) {
            None => s.labels.clone(),
            Some(caps) => {
                let mut res = String::new();
                caps.expand(&repl, &mut res);
                s.labels.with(&dst, &res)
            }
        };
        out.push(Smp { labels, v: s.v, t: s.t });
    }
    dedup_checked(out)
}

/// `label_join(v, dst, separator, src...)`.
pub(super) fn label_join(ev: &impl Context, args: &[&Expr], t: i64) -> Result<Val, EvalError> {
    let v = ev.eval_vector(args[0], t)?;
    let dst = string_arg(args[1])?;
    let sep = string_arg(args[2])?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        let s = string_arg(a)?;
        if !valid_label_name(&s) {
            return Err(EvalError::new(format!("invalid source label name in label_join(): {s}")));
        }
        srcs.push(s);
    }
    if !valid_label_name(&dst) {
        return Err(EvalError::new(format!("invalid destination label name in label_join(): {dst}")));
    }
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let labels = s.labels.with(&dst, &joined.join(&sep));
        out.push(Smp { labels, v: s.v, t: s.t });
    }
    dedup_checked(out)
}

/// label_replace's anchored regex, compiled once per pattern rather than at every step.
fn cached_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(r.clone());
    }
    let r = regex::Regex::new(&format!("^(?:{pattern})$"))?;
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if c.len() > 1024 {
        c.clear();
    }
    c.insert(pattern.to_string(), r.clone());
    Ok(r)
}
