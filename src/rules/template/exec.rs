//! The executor: walks a parsed template's items against one alert's `TemplateData`, with Go's
//! scoping of `$variables`, `.` rebinding in `with`/`range`, sorted-key `range` over maps, and
//! pipelines that pass the previous command's value as the last argument. Function calls go to
//! `funcs`; the tree comes from `parse`.

use super::funcs::call;
use super::parse::{Arg, Item, Pipeline};
use super::value::{map_get, TemplateData, Val};

/// Expand `items` with Prometheus's alert variables: `$labels`, `$externalLabels`,
/// `$externalURL`, `$value`. An error is Go's message without the `template: NAME:` prefix.
pub(super) fn expand(name: &str, items: &[Item], data: &TemplateData) -> Result<String, String> {
    let mut vars: Vec<(String, Val)> = vec![
        ("labels".into(), Val::Map(data.labels.clone())),
        ("externalLabels".into(), Val::Map(data.external_labels.clone())),
        ("externalURL".into(), Val::Str(data.external_url.clone())),
        ("value".into(), Val::F64(data.value)),
    ];
    let dot = Dot(data);
    let mut out = String::new();
    let mut ex = Exec { name, dot: &dot, vars: &mut vars };
    ex.items(items, None, &mut out)?;
    Ok(out)
}

struct Dot<'a>(&'a TemplateData);

struct Exec<'a, 'b> {
    #[allow(dead_code)]
    name: &'a str,
    dot: &'a Dot<'a>,
    vars: &'b mut Vec<(String, Val)>,
}

fn field_of(v: Val, f: &str) -> Result<Val, String> {
    match v {
        Val::Map(m) => Ok(map_get(&m, f)),
        Val::Nil => Ok(Val::Nil),
        other => Err(format!("can't evaluate field {f} in type {}", other.type_name())),
    }
}

impl Exec<'_, '_> {
    fn dot_val(&self, cur: Option<&Val>, path: &[String]) -> Result<Val, String> {
        let mut v = match (cur, path.first()) {
            (Some(c), _) => c.clone(),
            (None, None) => Val::Map(vec![]),
            (None, Some(f)) => {
                let d = self.dot.0;
                let v = match f.as_str() {
                    "Labels" => Val::Map(d.labels.clone()),
                    "ExternalLabels" => Val::Map(d.external_labels.clone()),
                    "ExternalURL" => Val::Str(d.external_url.clone()),
                    "Value" => Val::F64(d.value),
                    other => return Err(format!("can't evaluate field {other} in type struct")),
                };
                let mut v = v;
                for f in &path[1..] {
                    v = field_of(v, f)?;
                }
                return Ok(v);
            }
        };
        for f in path {
            v = field_of(v, f)?;
        }
        Ok(v)
    }

    fn var(&self, name: &str) -> Result<Val, String> {
        if name.is_empty() {
            return Ok(Val::Map(self.dot.0.labels.clone()));
        }
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("undefined variable: ${name}"))
    }

    fn arg(&mut self, a: &Arg, cur: Option<&Val>) -> Result<Val, String> {
        match a {
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Field(p) => self.dot_val(cur, p),
            Arg::Var(n, p) => {
                let mut v = self.var(n)?;
                for f in p {
                    v = field_of(v, f)?;
                }
                Ok(v)
            }
            Arg::Func(f) => call(f, vec![]),
            Arg::Pipe(p) => self.pipeline(p, cur),
        }
    }

    fn pipeline(&mut self, p: &Pipeline, cur: Option<&Val>) -> Result<Val, String> {
        let mut prev: Option<Val> = None;
        for c in &p.cmds {
            let v = match &c.args[0] {
                Arg::Func(f) => {
                    let mut args = Vec::with_capacity(c.args.len());
                    for a in &c.args[1..] {
                        args.push(self.arg(a, cur)?);
                    }
                    if let Some(pv) = prev.take() {
                        args.push(pv);
                    }
                    call(f, args)?
                }
                first => {
                    if c.args.len() > 1 || prev.is_some() {
                        return Err("can't give argument to non-function".into());
                    }
                    self.arg(first, cur)?
                }
            };
            prev = Some(v);
        }
        let v = prev.unwrap_or(Val::Nil);
        if let Some(d) = &p.decl {
            if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == d) {
                slot.1 = v.clone();
            } else {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn items(&mut self, items: &[Item], cur: Option<&Val>, out: &mut String) -> Result<(), String> {
        for it in items {
            match it {
                Item::Text(t) => out.push_str(t),
                Item::Action(p) => {
                    let v = self.pipeline(p, cur)?;
                    if p.decl.is_none() {
                        out.push_str(&v.print());
                    }
                }
                Item::If(branches, els) => {
                    let mut done = false;
                    for (c, body) in branches {
                        if self.pipeline(c, cur)?.truth() {
                            self.items(body, cur, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.items(els, cur, out)?;
                    }
                }
                Item::With(p, body, els) => {
                    let v = self.pipeline(p, cur)?;
                    if v.truth() {
                        self.items(body, Some(&v), out)?;
                    } else {
                        self.items(els, cur, out)?;
                    }
                }
                Item::Range(p, body, els) => {
                    let v = self.pipeline(p, cur)?;
                    match v {
                        Val::Map(m) if !m.is_empty() => {
                            let mut m = m;
                            m.sort();
                            let mark = self.vars.len();
                            for (key, val) in m {
                                self.vars.truncate(mark);
                                match p.range_vars.as_slice() {
                                    [v] => self.vars.push((v.clone(), Val::Str(val.clone()))),
                                    [k, v] => {
                                        self.vars.push((k.clone(), Val::Str(key)));
                                        self.vars.push((v.clone(), Val::Str(val.clone())));
                                    }
                                    _ => {}
                                }
                                self.items(body, Some(&Val::Str(val)), out)?;
                            }
                            self.vars.truncate(mark);
                        }
                        Val::Map(_) | Val::Nil => self.items(els, cur, out)?,
                        other => return Err(format!("range can't iterate over {}", other.print())),
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::x;

    #[test]
    fn values_and_labels() {
        assert_eq!(x("{{ $value }}", 1e6), "1e+06");
        assert_eq!(x("{{ $value }}", 1.5e-5), "1.5e-05");
        assert_eq!(x("{{ .Value }} {{ .Labels.job }}", 4.999999999999998), "4.999999999999998 api");
        assert_eq!(x("{{ $labels.instance }} of {{ $labels.job }}", 0.0), "web-1:9090 of api");
        assert_eq!(x("[{{ $labels.missing }}]", 0.0), "[]");
        assert_eq!(x("{{ $externalLabels.cluster }} {{ $externalURL }}", 0.0), "eu1 http://opsdeck");
    }
}
