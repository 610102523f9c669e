//! The executor, after Go's `text/template/exec.go`: walks a parsed tree against one alert's data
//! with Go's rules: `$variables` on a stack (popped at the end of each control, reset to `$` in a
//! called template), `.` rebound by `with`/`range`/`template`, sorted-key `range` over maps with
//! `break`/`continue`, field chains on maps and the data struct (a missing label is `""`, as
//! `missingkey=zero` gives), arguments typed by the called function's parameters, the previous
//! command's value as the last argument, `and`/`or` short-circuiting. Errors are Go's:
//! `template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`. Function bodies are in `funcs`.

use super::funcs::{call, signature, Env, Param};
use super::parse::{Arg, Command, Item, Node, Pipeline, Tree};
use super::value::{sorted_map, Val, DATA_TYPE};

/// Go's `maxExecDepth` as its error names it (opsdeck stops nested `template` calls sooner).
const DEPTH_LIMIT: usize = 200;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct Exec<'a> {
    tree: &'a Tree,
    /// The whole text (positions index it) and the parse name.
    text: &'a str,
    parse_name: &'a str,
    /// The template being executed (a `define`d one inside `{{template}}`).
    name: String,
    vars: Vec<(String, Val)>,
    depth: usize,
    env: Env<'a>,
    /// The node errors are reported at (Go's `state.node`): position and `String()`.
    at_pos: usize,
    at_ctx: String,
}

type R<T> = Result<T, String>;

/// Execute `tree` with `dot` as the data; an error is Go's complete `template: ...` message.
pub(super) fn execute(tree: &Tree, text: &str, name: &str, dot: Val, env: Env) -> R<String> {
    let mut ex = Exec {
        tree,
        text,
        parse_name: name,
        name: name.to_string(),
        vars: vec![],
        depth: 0,
        env,
        at_pos: 0,
        at_ctx: String::new(),
    };
    ex.vars.push(("$".into(), dot.clone()));
    let mut out = String::new();
    ex.walk(&tree.root, &dot, &mut out)?;
    Ok(out)
}

impl Exec<'_> {
    /// Go's `state.errorf` at a node: `template: NAME:LINE:COL: executing "NAME" at <CTX>: MSG`.
    fn fail(&self, pos: usize, ctx: &str, msg: impl std::fmt::Display) -> String {
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        let ctx = ctx.replace('%', "%%");
        format!("template: {}:{line}:{col}: executing {:?} at <{ctx}>: {msg}", self.parse_name, self.name)
    }

    /// Go's `state.at`: later errors are reported at this node.
    fn at(&mut self, pos: usize, ctx: String) {
        self.at_pos = pos;
        self.at_ctx = ctx;
    }

    /// An error at the current node.
    fn err(&self, msg: impl std::fmt::Display) -> String {
        self.fail(self.at_pos, &self.at_ctx, msg)
    }

    fn walk(&mut self, items: &[Item], dot: &Val, out: &mut String) -> R<Flow> {
        for it in items {
            let flow = match it {
                Item::Text(t) => {
                    out.push_str(t);
                    Flow::Normal
                }
                Item::Action(p) => {
                    let v = self.pipeline(dot, p)?;
                    if p.decl.is_empty() {
                        out.push_str(&v.print());
                    }
                    Flow::Normal
                }
                Item::If(p, body, els) | Item::With(p, body, els) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(dot, p)?;
                    if v == Val::Invalid {
                        return Err(self.err("if/with can't use <invalid reflect.Value>"));
                    }
                    let with = matches!(it, Item::With(..));
                    let f = if v.truth() {
                        self.walk(body, if with { &v } else { dot }, out)?
                    } else {
                        self.walk(els, dot, out)?
                    };
                    self.vars.truncate(mark);
                    f
                }
                Item::Range(p, body, els) => {
                    let mark = self.vars.len();
                    let f = self.range(dot, p, body, els, out)?;
                    self.vars.truncate(mark);
                    f
                }
                Item::Template(name, p, pos) => {
                    self.template(dot, name, p.as_ref(), *pos, out)?;
                    Flow::Normal
                }
                Item::Break => Flow::Break,
                Item::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, dot: &Val, p: &Pipeline, body: &[Item], els: &[Item], out: &mut String) -> R<Flow> {
        let v = self.pipeline(dot, p)?;
        let elems: Vec<(Val, Val)> = match &v {
            Val::Map(m) => m.iter().map(|(k, v)| (Val::Str(k.clone()), Val::Str(v.clone()))).collect(),
            Val::IMap(m) => m.iter().map(|(k, v)| (Val::Str(k.clone()), v.clone())).collect(),
            Val::Invalid | Val::Nil => vec![],
            other => return Err(self.err(format!("range can't iterate over {}", other.sprint()))),
        };
        if elems.is_empty() {
            return self.walk(els, dot, out);
        }
        for (k, e) in elems {
            let n = self.vars.len();
            if !p.decl.is_empty() {
                self.vars[n - 1].1 = e.clone();
            }
            if p.decl.len() > 1 {
                self.vars[n - 2].1 = k;
            }
            let flow = self.walk(body, &e, out)?;
            self.vars.truncate(n);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn template(&mut self, dot: &Val, name: &str, p: Option<&Pipeline>, pos: usize, out: &mut String) -> R<()> {
        let ctx = match p {
            Some(p) => format!("{{{{template {:?} {}}}}}", name, p.string()),
            None => format!("{{{{template {name:?}}}}}"),
        };
        self.at(pos, ctx);
        let Some((_, body)) = self.tree.defs.iter().find(|(n, _)| n == name) else {
            return Err(self.err(format!("template {name:?} not defined")));
        };
        if self.depth >= DEPTH_LIMIT {
            return Err(self.err("exceeded maximum template depth (100000)"));
        }
        let new_dot = match p {
            Some(p) => self.pipeline(dot, p)?,
            None => Val::Invalid,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name.to_string());
        self.depth += 1;
        let r = self.walk(body, &new_dot, out);
        self.depth -= 1;
        self.vars = saved_vars;
        self.name = saved_name;
        r.map(|_| ())
    }

    fn pipeline(&mut self, dot: &Val, p: &Pipeline) -> R<Val> {
        self.at(p.pos, p.string());
        let mut v: Option<Val> = None;
        for c in &p.cmds {
            v = Some(self.command(dot, c, v)?);
        }
        let v = v.unwrap_or(Val::Invalid);
        let v = if v == Val::Nil { Val::Invalid } else { v };
        for d in &p.decl {
            if p.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _)| n == d) {
                    Some(slot) => slot.1 = v.clone(),
                    None => return Err(self.err(format!("undefined variable: {d}"))),
                }
            } else {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, c: &Command, fin: &Option<Val>) -> R<()> {
        if c.args.len() > 1 || fin.is_some() {
            return Err(self.err(format!("can't give argument to non-function {}", c.args[0].string())));
        }
        Ok(())
    }

    fn command(&mut self, dot: &Val, c: &Command, fin: Option<Val>) -> R<Val> {
        let first = &c.args[0];
        match &first.node {
            Node::Field(path) => {
                self.at(first.pos, first.string());
                self.chain(dot, dot.clone(), path, &c.args, fin)
            }
            Node::Chain(inner, path) => {
                self.at(first.pos, first.string());
                let recv = self.arg_value(dot, inner)?;
                self.chain(dot, recv, path, &c.args, fin)
            }
            Node::Func(f) => {
                self.at(first.pos, first.string());
                self.function(dot, f, c, fin)
            }
            Node::Var(name, path) => {
                self.at(first.pos, first.string());
                let v = self.var(name)?;
                if path.is_empty() {
                    self.not_a_function(c, &fin)?;
                    return Ok(v);
                }
                self.chain(dot, v, path, &c.args, fin)
            }
            Node::Pipe(p) => {
                self.not_a_function(c, &fin)?;
                self.pipeline(dot, p)
            }
            lit => {
                self.at(first.pos, first.string());
                self.not_a_function(c, &fin)?;
                Ok(match lit {
                    Node::Bool(b) => Val::Bool(*b),
                    Node::Str(s, _) => Val::Str(s.clone()),
                    Node::Num(v, _) => v.clone(),
                    Node::Nil => return Err(self.err("nil is not a command")),
                    _ => dot.clone(),
                })
            }
        }
    }

    fn var(&self, name: &str) -> R<Val> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.err(format!("undefined variable: {name}"))),
        }
    }

    /// The value of an operand that is not a command's first word (no arguments of its own).
    fn arg_value(&mut self, dot: &Val, a: &Arg) -> R<Val> {
        match &a.node {
            Node::Dot => Ok(dot.clone()),
            Node::Field(p) => {
                self.at(a.pos, a.string());
                self.chain(dot, dot.clone(), p, std::slice::from_ref(a), None)
            }
            Node::Var(n, p) => {
                self.at(a.pos, a.string());
                let v = self.var(n)?;
                self.chain(dot, v, p, std::slice::from_ref(a), None)
            }
            Node::Pipe(p) => self.pipeline(dot, p),
            Node::Func(f) => {
                self.at(a.pos, a.string());
                let c = Command { args: vec![a.clone()], pos: a.pos };
                self.function(dot, f, &c, None)
            }
            Node::Chain(inner, p) => {
                self.at(a.pos, a.string());
                if matches!(inner.node, Node::Nil) {
                    return Err(self.err(format!("indirection through explicit nil in {}", a.string())));
                }
                let recv = self.arg_value(dot, inner)?;
                self.chain(dot, recv, p, std::slice::from_ref(a), None)
            }
            Node::Nil => Ok(Val::Nil),
            Node::Bool(b) => Ok(Val::Bool(*b)),
            Node::Str(s, _) => Ok(Val::Str(s.clone())),
            Node::Num(v, _) => Ok(v.clone()),
        }
    }

    /// `recv.a.b...`: every field but the last without arguments, the last with `args`/`fin`.
    fn chain(&mut self, dot: &Val, mut recv: Val, path: &[String], args: &[Arg], fin: Option<Val>) -> R<Val> {
        let n = path.len();
        let mut fin = fin;
        for (i, f) in path.iter().enumerate() {
            let last = i + 1 == n;
            let (a, fv) = if last { (args, fin.take()) } else { (&args[..1], None) };
            recv = self.field(dot, f, a, fv, recv)?;
        }
        Ok(recv)
    }

    /// Go's `evalField`: a method of the receiver, a field of the data struct, or a map key.
    fn field(&mut self, dot: &Val, f: &str, args: &[Arg], fin: Option<Val>, recv: Val) -> R<Val> {
        let has_args = args.len() > 1 || fin.is_some();
        let bad = |me: &Self, msg: String| Err(me.err(msg));
        match &recv {
            Val::Invalid => Ok(Val::Invalid),
            Val::Time(ns) => {
                let cmd = Command { args: args.to_vec(), pos: self.at_pos };
                let argv = self.call_args(dot, &format!("Time.{f}"), &cmd, fin, true)?;
                super::funcs::time_method(*ns, f, &argv)
                    .unwrap_or_else(|| bad(self, format!("can't evaluate field {f} in type *time.Time")))
            }
            Val::Data(d) => {
                let v = match f {
                    "Labels" => sorted_map(&d.labels),
                    "ExternalLabels" => sorted_map(&d.external_labels),
                    "ExternalURL" => Val::Str(d.external_url.clone()),
                    "Value" => Val::F64(d.value),
                    _ => return bad(self, format!("can't evaluate field {f} in type {DATA_TYPE}")),
                };
                if has_args {
                    return bad(self, format!("{f} has arguments but cannot be invoked as function"));
                }
                Ok(v)
            }
            Val::Map(_) | Val::IMap(_) if has_args => bad(self, format!("{f} is not a method but has arguments")),
            Val::Map(m) => Ok(Val::Str(m.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone()).unwrap_or_default())),
            Val::IMap(m) => Ok(m.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone()).unwrap_or(Val::Invalid)),
            Val::Nil => bad(self, format!("nil pointer evaluating interface {{}}.{f}")),
            other => bad(self, format!("can't evaluate field {f} in type {}", other.type_name())),
        }
    }

    /// Evaluate a call's arguments (`c.args[1..]` and the piped `fin`), typed by the function's
    /// parameters, after Go's arity check. `method`: `c.args[0]` is the receiver's field.
    fn call_args(&mut self, dot: &Val, name: &str, c: &Command, fin: Option<Val>, method: bool) -> R<Vec<Val>> {
        let (fixed, variadic) = signature(name);
        let given = &c.args[1..];
        let n_in = given.len() + usize::from(fin.is_some());
        let _ = method;
        match variadic {
            Some(_) if n_in < fixed.len() => {
                return Err(self.err(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    fixed.len(),
                    given.len()
                )))
            }
            None if n_in != fixed.len() => {
                return Err(self.err(format!("wrong number of args for {name}: want {} got {n_in}", fixed.len())))
            }
            _ => {}
        }
        let param = |i: usize| fixed.get(i).copied().or(variadic).unwrap_or(Param::Any);
        let mut argv = Vec::with_capacity(n_in);
        for (i, a) in given.iter().enumerate() {
            argv.push(self.typed_arg(dot, param(i), a)?);
        }
        if let Some(v) = fin {
            argv.push(self.validate(param(n_in - 1), v)?);
        }
        Ok(argv)
    }

    /// Go's `evalArg`: a literal is typed by the parameter; any other value must fit it.
    fn typed_arg(&mut self, dot: &Val, p: Param, a: &Arg) -> R<Val> {
        self.at(a.pos, a.string());
        match (&a.node, p) {
            (Node::Nil, Param::Str) => Err(self.err("cannot assign nil to string")),
            (Node::Nil, _) => Ok(Val::Nil),
            (Node::Str(s, _), Param::Str) => Ok(Val::Str(s.clone())),
            (Node::Bool(_) | Node::Num(..), Param::Str) => {
                Err(self.err(format!("expected string; found {}", a.string())))
            }
            (Node::Bool(_) | Node::Num(..) | Node::Str(..), Param::Sample | Param::Query) => {
                Err(self.err(format!("can't handle {} for arg of type {}", a.string(), p.type_name())))
            }
            (Node::Bool(_) | Node::Num(..) | Node::Str(..), _) => self.arg_value(dot, a),
            _ => {
                let v = self.arg_value(dot, a)?;
                self.validate(p, v)
            }
        }
    }

    /// Go's `validateType`: whether a value can be passed for a parameter.
    fn validate(&self, p: Param, v: Val) -> R<Val> {
        match (p, &v) {
            (Param::Any, Val::Invalid) => Ok(Val::Nil),
            (Param::Any | Param::Value, _) => Ok(v),
            (Param::Str, Val::Str(_)) => Ok(v),
            (Param::Str, Val::Invalid) => Err(self.err("invalid value; expected string")),
            (Param::Sample | Param::Query, Val::Invalid | Val::Nil) => Ok(Val::Nil),
            _ => Err(self.err(format!("wrong type for value; expected {}; got {}", p.type_name(), v.type_name()))),
        }
    }

    fn function(&mut self, dot: &Val, f: &str, c: &Command, fin: Option<Val>) -> R<Val> {
        let cmd_ctx = c.string();
        if f == "and" || f == "or" {
            if c.args.len() == 1 && fin.is_none() {
                return Err(self.err(format!("wrong number of args for {f}: want at least 1 got 0")));
            }
            let mut v = Val::Invalid;
            for a in &c.args[1..] {
                v = self.typed_arg(dot, Param::Value, a)?;
                if v.truth() == (f == "or") {
                    return Ok(v);
                }
            }
            return Ok(fin.unwrap_or(v));
        }
        let argv = self.call_args(dot, f, c, fin, false)?;
        call(f, argv, &self.env).map_err(|e| self.fail(c.pos, &cmd_ctx, format!("error calling {f}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{x, xerr};

    #[test]
    fn values_and_labels() {
        assert_eq!(x("{{ $value }}", 1e6), "1e+06");
        assert_eq!(x("{{ $value }}", 1.5e-5), "1.5e-05");
        assert_eq!(x("{{ .Value }} {{ .Labels.job }}", 4.999999999999998), "4.999999999999998 api");
        assert_eq!(x("{{ $labels.instance }} of {{ $labels.job }}", 0.0), "web-1:9090 of api");
        assert_eq!(x("[{{ $labels.missing }}]", 0.0), "[]");
        assert_eq!(x("{{ $externalLabels.cluster }} {{ $externalURL }}", 0.0), "eu1 http://opsdeck");
        assert_eq!(x("{{ $.Labels.job }} {{ $.ExternalLabels.cluster }}", 0.0), "api eu1");
        assert_eq!(x("{{ .Labels }}", 0.0), "map[instance:web-1:9090 job:api]");
        assert_eq!(x("{{ (args 1 \"a\").arg1 }} {{ (args 1).arg5 }}", 0.0), "a <no value>");
    }

    #[test]
    fn field_chains_in_any_argument() {
        assert_eq!(x("{{ printf \"%s\" .Labels.job }}", 0.0), "api");
        assert_eq!(x("{{ if eq .Labels.job \"api\" }}yes{{ end }}", 0.0), "yes");
        assert_eq!(x("{{ index $labels \"job\" }} {{ index .Labels \"nope\" }}|", 0.0), "api |");
        assert_eq!(x("{{ printf \"%.3f\" .Value }}", 0.95), "0.950");
        assert_eq!(x("{{ printf \"%s/%s\" $labels.job .ExternalLabels.cluster }}", 0.0), "api/eu1");
        assert_eq!(x("{{ .Labels.job | toUpper | printf \"%s!\" }}", 0.0), "API!");
        assert_eq!(x("{{ (printf \"%s\" .Labels.job) | len }}", 0.0), "3");
        assert_eq!(x("{{ with .Labels }}{{ .job }}{{ end }}", 0.0), "api");
        assert_eq!(x("{{ (toTime 1.5).Unix }}", 0.0), "1");
    }

    #[test]
    fn exec_errors_as_go_writes_them() {
        // the 112 bytes of Prometheus's variable header come before the user's text on line 1
        assert_eq!(
            xerr("{{ .Foo }}", 0.0),
            "template: __alert_T:1:115: executing \"__alert_T\" at <.Foo>: can't evaluate field Foo in type \
             struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }"
        );
        assert_eq!(
            xerr("{{ humanize \"x\" }}", 0.0),
            "template: __alert_T:1:115: executing \"__alert_T\" at <humanize \"x\">: error calling humanize: \
             strconv.ParseFloat: parsing \"x\": invalid syntax"
        );
        assert!(xerr("{{ title $value }}", 0.0).ends_with("wrong type for value; expected string; got float64"));
        assert!(xerr("{{ gt $value 1 }}", 2.0).ends_with("error calling gt: incompatible types for comparison"));
        assert!(xerr("{{ .Labels.job.x }}", 0.0).ends_with("can't evaluate field x in type string"));
        assert!(xerr("{{ $labels.job 1 }}", 0.0).ends_with("job is not a method but has arguments"));
        assert!(xerr("{{ template \"nope\" }}", 0.0).ends_with("template \"nope\" not defined"));
        assert!(xerr("{{ range $value }}{{ end }}", 0.0).ends_with("range can't iterate over 0"));
        assert!(xerr("{{ toUpper 1 }}", 0.0).ends_with("expected string; found 1"));
        assert!(xerr("{{ \"a\" 1 }}", 0.0).ends_with("can't give argument to non-function \"a\""));
    }
}
