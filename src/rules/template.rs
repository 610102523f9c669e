//! The subset of Go's text/template that Prometheus rule files use in labels and annotations:
//! `{{ $value }}`, `{{ $labels.x }}`, `{{ .Labels.x }}`, `{{ $externalLabels.x }}`, pipelines,
//! `if/else if/else/end`, `with`, variables, comparisons, and Prometheus's functions
//! (`humanize*`, `printf`, `title`, `toUpper`, `toLower`, ...). `query` and the functions over
//! its results parse but fail at expansion with a clear error: opsdeck does not run queries from
//! templates. No maintained Rust crate implements Go's template semantics (gtmpl is unmaintained
//! and lacks Prometheus's functions and Go's `%v` float output), so this is a small parser and
//! interpreter, tested against Prometheus's outputs.

use super::gofmt;
use std::collections::HashMap;

/// Functions Prometheus (and Go's text/template) define. Unknown names are a parse error, as in Go.
const KNOWN_FUNCS: &[&str] = &[
    // Go builtins
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    "slice",
    "call",
    // Prometheus
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "pathPrefix",
    "externalURL",
    "parseDuration",
];

/// What a template sees: the alert's labels, value and the external labels/URL.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    pub labels: Vec<(String, String)>,
    pub external_labels: Vec<(String, String)>,
    pub external_url: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Nil,
    Str(String),
    F64(f64),
    Int(i64),
    Bool(bool),
    Map(Vec<(String, String)>),
}

impl Val {
    fn truth(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Str(s) => !s.is_empty(),
            Val::F64(f) => *f != 0.0,
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Map(m) => !m.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Str(_) => "string",
            Val::F64(_) => "float64",
            Val::Int(_) => "int",
            Val::Bool(_) => "bool",
            Val::Map(_) => "map[string]string",
        }
    }

    /// Go's `fmt.Sprint` of the value.
    fn print(&self) -> String {
        match self {
            Val::Nil => "<no value>".into(),
            Val::Str(s) => s.clone(),
            Val::F64(f) => gofmt::format_v(*f),
            Val::Int(i) => i.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Map(m) => {
                let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", inner.join(" "))
            }
        }
    }

    fn to_float(&self) -> Result<f64, String> {
        match self {
            Val::F64(f) => Ok(*f),
            Val::Int(i) => Ok(*i as f64),
            Val::Str(s) => {
                parse_go_float(s).ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
            }
            v => Err(format!("can't convert {} to float", v.type_name())),
        }
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

#[derive(Debug, Clone)]
enum Arg {
    Lit(Val),
    /// `.A.b` (empty path = `.`)
    Field(Vec<String>),
    /// `$x.a.b`
    Var(String, Vec<String>),
    Func(String),
    Pipe(Box<Pipeline>),
}

#[derive(Debug, Clone)]
struct Command {
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
struct Pipeline {
    decl: Option<String>,
    cmds: Vec<Command>,
    /// `range $k, $v := ...` / `range $v := ...`: the variables set per element.
    range_vars: Vec<String>,
}

#[derive(Debug, Clone)]
enum Item {
    Text(String),
    Action(Pipeline),
    If(Vec<(Pipeline, Vec<Item>)>, Vec<Item>),
    With(Pipeline, Vec<Item>, Vec<Item>),
    Range(Pipeline, Vec<Item>, Vec<Item>),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    items: Vec<Item>,
}

// ---------- lexing of actions ----------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Field(String),
    Var(String),
    Str(String),
    Num(String),
    Pipe,
    LParen,
    RParen,
    Decl,
    Assign,
    Comma,
}

fn lex_action(s: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < b.len() {
        let c = b[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                out.push(Tok::Pipe);
                i += 1
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' if b.get(i + 1) == Some(&'=') => {
                out.push(Tok::Decl);
                i += 2
            }
            '=' => {
                out.push(Tok::Assign);
                i += 1
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    let Some(&ch) = b.get(i) else { return Err("unterminated quoted string".into()) };
                    i += 1;
                    match ch {
                        '"' => break,
                        '\n' => return Err("unterminated quoted string".into()),
                        '\\' => {
                            let Some(&e) = b.get(i) else { return Err("unterminated quoted string".into()) };
                            i += 1;
                            match e {
                                'n' => v.push('\n'),
                                't' => v.push('\t'),
                                'r' => v.push('\r'),
                                '\\' => v.push('\\'),
                                '"' => v.push('"'),
                                '\'' => v.push('\''),
                                'u' | 'x' => {
                                    let n = if e == 'u' { 4 } else { 2 };
                                    let hex: String = b.iter().skip(i).take(n).collect();
                                    let cp = u32::from_str_radix(&hex, 16).map_err(|_| "invalid escape in string")?;
                                    v.push(char::from_u32(cp).ok_or("invalid escape in string")?);
                                    i += n;
                                }
                                other => return Err(format!("invalid escape \\{other} in string")),
                            }
                        }
                        ch => v.push(ch),
                    }
                }
                out.push(Tok::Str(v));
            }
            '`' => {
                let start = i + 1;
                let end = b[start..].iter().position(|c| *c == '`').ok_or("unterminated raw quoted string")?;
                out.push(Tok::Str(b[start..start + end].iter().collect()));
                i = start + end + 1;
            }
            '.' if !b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                // `.` or `.Field` (chains `.A.b` come as several Field tokens)
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
                    j += 1;
                }
                out.push(Tok::Field(b[start..j].iter().collect()));
                i = j;
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
                    j += 1;
                }
                out.push(Tok::Var(b[start..j].iter().collect()));
                i = j;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.') && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == '.'
                        || ((b[i] == '+' || b[i] == '-') && matches!(b[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                out.push(Tok::Num(b[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(b[start..i].iter().collect()));
            }
            '\'' => {
                let start = i + 1;
                let end = b[start..].iter().position(|c| *c == '\'').ok_or("unterminated character constant")?;
                let s: String = b[start..start + end].iter().collect();
                let ch = s.chars().next().ok_or("empty character constant")?;
                out.push(Tok::Num((ch as u32).to_string()));
                i = start + end + 1;
            }
            other => return Err(format!("unexpected {other:?} in command")),
        }
    }
    Ok(out)
}

struct PState<'a> {
    toks: &'a [Tok],
    i: usize,
}

impl PState<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, String> {
        let mut decl = None;
        if allow_decl {
            if let (Some(Tok::Var(v)), Some(Tok::Decl | Tok::Assign)) =
                (self.toks.get(self.i), self.toks.get(self.i + 1))
            {
                decl = Some(v.clone());
                self.i += 2;
            }
        }
        let mut cmds = vec![];
        loop {
            let mut args = vec![];
            while let Some(t) = self.peek() {
                match t {
                    Tok::Pipe | Tok::RParen => break,
                    _ => args.push(self.operand()?),
                }
            }
            if args.is_empty() {
                return Err("missing value for command".into());
            }
            cmds.push(Command { args });
            match self.peek() {
                Some(Tok::Pipe) => self.i += 1,
                _ => break,
            }
        }
        Ok(Pipeline { decl, cmds, range_vars: vec![] })
    }

    fn operand(&mut self) -> Result<Arg, String> {
        let t = self.toks[self.i].clone();
        self.i += 1;
        let mut arg = match t {
            Tok::Str(s) => Arg::Lit(Val::Str(s)),
            Tok::Num(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    Arg::Lit(Val::Int(i))
                } else if let Some(f) = n.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    Arg::Lit(Val::F64(f))
                } else {
                    return Err(format!("bad number syntax: {n:?}"));
                }
            }
            Tok::Field(f) => {
                let mut path = vec![];
                if !f.is_empty() {
                    path.push(f);
                }
                Arg::Field(path)
            }
            Tok::Var(v) => Arg::Var(v, vec![]),
            Tok::Ident(id) => match id.as_str() {
                "true" => Arg::Lit(Val::Bool(true)),
                "false" => Arg::Lit(Val::Bool(false)),
                "nil" => Arg::Lit(Val::Nil),
                _ if KNOWN_FUNCS.contains(&id.as_str()) => Arg::Func(id),
                _ => return Err(format!("function {id:?} not defined")),
            },
            Tok::LParen => {
                let p = self.pipeline(false)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err("unclosed left paren".into());
                }
                self.i += 1;
                Arg::Pipe(Box::new(p))
            }
            other => return Err(format!("unexpected {other:?} in operand")),
        };
        // Field chains: `.Labels.x`, `$labels.x`, `(pipe).x`.
        while let Some(Tok::Field(f)) = self.peek() {
            if f.is_empty() {
                break;
            }
            let f = f.clone();
            self.i += 1;
            match &mut arg {
                Arg::Field(p) | Arg::Var(_, p) => p.push(f),
                _ => return Err(format!("unexpected .{f} after operand")),
            }
        }
        Ok(arg)
    }
}

fn parse_pipeline(src: &str, allow_decl: bool) -> Result<Pipeline, String> {
    let toks = lex_action(src)?;
    let mut st = PState { toks: &toks, i: 0 };
    let p = st.pipeline(allow_decl)?;
    if st.i != toks.len() {
        return Err(format!("unexpected {:?} in command", toks[st.i]));
    }
    Ok(p)
}

enum Block {
    Root,
    If { branches: Vec<(Pipeline, Vec<Item>)>, cond: Pipeline, in_else: bool },
    With { pipe: Pipeline, body: Vec<Item>, in_else: bool },
    Range { pipe: Pipeline, body: Vec<Item>, in_else: bool },
}

impl Template {
    /// Parse `text`; `name` appears in errors as Go writes them: `template: NAME:LINE: ...`.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let err = |line: usize, msg: String| TemplateError(format!("template: {name}:{line}: {msg}"));
        // Stack of (block kind, items collected so far).
        let mut stack: Vec<(Block, Vec<Item>)> = vec![(Block::Root, vec![])];
        let mut rest = text;
        let mut line = 1usize;
        let mut trim_next = false;
        while !rest.is_empty() {
            let (mut txt, after) = match rest.find("{{") {
                Some(i) => (&rest[..i], Some(&rest[i + 2..])),
                None => (rest, None),
            };
            if trim_next {
                txt = txt.trim_start();
            }
            let Some(after) = after else {
                if !txt.is_empty() {
                    stack.last_mut().expect("root").1.push(Item::Text(txt.to_string()));
                }
                break;
            };
            let trim_left = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
            if trim_left {
                txt = txt.trim_end();
            }
            line += rest[..rest.len() - after.len()].matches('\n').count();
            if !txt.is_empty() {
                stack.last_mut().expect("root").1.push(Item::Text(txt.to_string()));
            }
            let body_start = if trim_left { &after[2..] } else { after };
            let close = body_start.find("}}").ok_or_else(|| err(line, "unclosed action".into()))?;
            let mut body = &body_start[..close];
            trim_next = false;
            if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
                body = &body[..body.len() - 2];
                trim_next = true;
            }
            rest = &body_start[close + 2..];
            let action_line = line;
            line += body.matches('\n').count();
            let b = body.trim();
            if b.starts_with("/*") {
                if !b.ends_with("*/") {
                    return Err(err(action_line, "unclosed comment".into()));
                }
                continue;
            }
            let (kw, tail) = match b.split_once(|c: char| c.is_whitespace()) {
                Some((k, t)) => (k, t.trim()),
                None => (b, ""),
            };
            let e = |m: String| err(action_line, m);
            match kw {
                "if" => {
                    let cond = parse_pipeline(tail, true).map_err(e)?;
                    stack.push((Block::If { branches: vec![], cond, in_else: false }, vec![]));
                }
                "with" => {
                    let pipe = parse_pipeline(tail, true).map_err(e)?;
                    stack.push((Block::With { pipe, body: vec![], in_else: false }, vec![]));
                }
                "range" => {
                    let (vars, rest) = match tail.split_once(":=") {
                        Some((vs, rest)) if vs.trim().starts_with('$') => {
                            let vars: Vec<String> =
                                vs.split(',').map(|v| v.trim().trim_start_matches('$').to_string()).collect();
                            if vars.len() > 2 || vars.iter().any(|v| v.is_empty()) {
                                return Err(e(format!("bad range variables {vs:?}")));
                            }
                            (vars, rest.trim())
                        }
                        _ => (vec![], tail),
                    };
                    let mut pipe = parse_pipeline(rest, false).map_err(e)?;
                    pipe.range_vars = vars;
                    stack.push((Block::Range { pipe, body: vec![], in_else: false }, vec![]));
                }
                "else" => {
                    let (blk, items) = stack.pop().expect("root");
                    let items_taken = items;
                    let new = match blk {
                        Block::If { mut branches, cond, in_else: false } => {
                            branches.push((cond, items_taken));
                            if let Some(t) = tail.strip_prefix("if ") {
                                let cond = parse_pipeline(t.trim(), true).map_err(e)?;
                                Block::If { branches, cond, in_else: false }
                            } else if tail.is_empty() {
                                // Represent the else branch with an always-true condition.
                                let always = Pipeline {
                                    decl: None,
                                    cmds: vec![Command { args: vec![Arg::Lit(Val::Bool(true))] }],
                                    range_vars: vec![],
                                };
                                Block::If { branches, cond: always, in_else: true }
                            } else {
                                return Err(e(format!("unexpected {tail:?} after else")));
                            }
                        }
                        Block::With { pipe, in_else: false, .. } if tail.is_empty() => {
                            Block::With { pipe, body: items_taken, in_else: true }
                        }
                        Block::Range { pipe, in_else: false, .. } if tail.is_empty() => {
                            Block::Range { pipe, body: items_taken, in_else: true }
                        }
                        _ => return Err(e("unexpected {{else}}".into())),
                    };
                    stack.push((new, vec![]));
                }
                "end" => {
                    if stack.len() == 1 {
                        return Err(e("unexpected {{end}}".into()));
                    }
                    let (blk, items) = stack.pop().expect("block");
                    let item = match blk {
                        Block::If { mut branches, cond, in_else } => {
                            if in_else {
                                Item::If(branches, items)
                            } else {
                                branches.push((cond, items));
                                Item::If(branches, vec![])
                            }
                        }
                        Block::With { pipe, body, in_else } => {
                            if in_else {
                                Item::With(pipe, body, items)
                            } else {
                                Item::With(pipe, items, vec![])
                            }
                        }
                        Block::Range { pipe, body, in_else } => {
                            if in_else {
                                Item::Range(pipe, body, items)
                            } else {
                                Item::Range(pipe, items, vec![])
                            }
                        }
                        Block::Root => unreachable!("root is never popped"),
                    };
                    stack.last_mut().expect("root").1.push(item);
                }
                "define" | "template" | "block" | "break" | "continue" => {
                    return Err(e(format!("{{{{{kw}}}}} is not supported by opsdeck's template engine")));
                }
                _ => {
                    let p = parse_pipeline(b, true).map_err(e)?;
                    stack.last_mut().expect("root").1.push(Item::Action(p));
                }
            }
        }
        if stack.len() != 1 {
            return Err(err(line, "unexpected EOF".into()));
        }
        let items = stack.pop().expect("root").1;
        Ok(Template { name: name.to_string(), items })
    }

    /// Expand with Prometheus's alert data: `$labels`, `$externalLabels`, `$externalURL`, `$value`.
    pub fn expand(&self, data: &TemplateData) -> Result<String, TemplateError> {
        let mut vars: Vec<(String, Val)> = vec![
            ("labels".into(), Val::Map(data.labels.clone())),
            ("externalLabels".into(), Val::Map(data.external_labels.clone())),
            ("externalURL".into(), Val::Str(data.external_url.clone())),
            ("value".into(), Val::F64(data.value)),
        ];
        let dot = Dot(data);
        let mut out = String::new();
        let mut ex = Exec { name: &self.name, dot: &dot, vars: &mut vars };
        ex.items(&self.items, None, &mut out).map_err(|m| TemplateError(format!("template: {}: {m}", self.name)))?;
        Ok(out)
    }
}

struct Dot<'a>(&'a TemplateData);

struct Exec<'a, 'b> {
    #[allow(dead_code)]
    name: &'a str,
    dot: &'a Dot<'a>,
    vars: &'b mut Vec<(String, Val)>,
}

fn map_get(m: &[(String, String)], k: &str) -> Val {
    // Go's map[string]string with missingkey=zero: a missing key is "".
    Val::Str(m.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default())
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

fn want_str(f: &str, v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(format!("error calling {f}: wrong type for value; expected string; got {}", other.type_name())),
    }
}

fn arity(f: &str, args: &[Val], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("wrong number of args for {f}: want {n} got {}", args.len()));
    }
    Ok(())
}

fn humanize_scaled(mut v: f64, big: &[&str], small: &[&str], base: f64) -> String {
    if v.abs() >= 1.0 || small.is_empty() {
        let mut prefix = "";
        for p in big {
            if v.abs() < base {
                break;
            }
            prefix = p;
            v /= base;
        }
        return format!("{}{prefix}", gofmt::format_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in small {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", gofmt::format_g(v, Some(4)))
}

const SMALL: &[&str] = &["m", "u", "n", "p", "f", "a", "z", "y"];

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return gofmt::format_g(v, Some(4));
    }
    humanize_scaled(v, &["k", "M", "G", "T", "P", "E", "Z", "Y"], SMALL, 1000.0)
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return gofmt::format_g(v, Some(4));
    }
    humanize_scaled(v, &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], &[], 1024.0)
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return gofmt::format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", gofmt::format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", gofmt::format_g(v, Some(4)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in SMALL {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", gofmt::format_g(v, Some(4)))
}

fn humanize_timestamp(v: f64) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(gofmt::format_g(v, Some(4)));
    }
    // model.TimeFromUnixNano: nanoseconds truncated to milliseconds.
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            gofmt::format_v(v)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    let t = chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("timestamp {v} out of range"))?;
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as u32;
    // Go's time.Time String(): "2006-01-02 15:04:05.999999999 -0700 MST"
    let frac = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_string() };
    Ok(format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S")))
}

/// Go's `strings.Title`: upper-case the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn compare(f: &str, a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    let r = match (a, b) {
        (Val::F64(x), Val::F64(y)) => x.partial_cmp(y),
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) if f == "eq" || f == "ne" => Some(x.cmp(y)),
        _ => return Err(format!("error calling {f}: incompatible types for comparison")),
    };
    // NaN is handled by the callers (it compares unequal to everything).
    Ok(r.unwrap_or(Ordering::Less))
}

fn call(f: &str, args: Vec<Val>) -> Result<Val, String> {
    let num = |v: &Val| v.to_float().map_err(|e| format!("error calling {f}: {e}"));
    match f {
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage" | "humanizeTimestamp" => {
            arity(f, &args, 1)?;
            let v = num(&args[0])?;
            Ok(Val::Str(match f {
                "humanize" => humanize(v),
                "humanize1024" => humanize1024(v),
                "humanizeDuration" => humanize_duration(v),
                "humanizePercentage" => format!("{}%", gofmt::format_g(v * 100.0, Some(4))),
                _ => humanize_timestamp(v).map_err(|e| format!("error calling {f}: {e}"))?,
            }))
        }
        "title" | "toUpper" | "toLower" | "stripPort" | "stripDomain" => {
            arity(f, &args, 1)?;
            let s = want_str(f, &args[0])?;
            Ok(Val::Str(match f {
                "title" => title(&s),
                "toUpper" => s.to_uppercase(),
                "toLower" => s.to_lowercase(),
                "stripPort" => strip_port(&s),
                _ => strip_domain(&s),
            }))
        }
        "printf" => {
            if args.is_empty() {
                return Err("wrong number of args for printf: want at least 1 got 0".into());
            }
            let fmt = want_str(f, &args[0])?;
            Ok(Val::Str(sprintf(&fmt, &args[1..])))
        }
        "print" | "println" => {
            // Go's Sprint adds spaces between operands when neither is a string.
            let mut s = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 && (f == "println" || !(matches!(a, Val::Str(_)) || matches!(args[i - 1], Val::Str(_)))) {
                    s.push(' ');
                }
                s.push_str(&a.print());
            }
            if f == "println" {
                s.push('\n');
            }
            Ok(Val::Str(s))
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            use std::cmp::Ordering::*;
            if args.len() < 2 {
                return Err(format!("wrong number of args for {f}: want 2 got {}", args.len()));
            }
            if f == "eq" {
                // eq a b c...: true if a equals any of the others.
                for b in &args[1..] {
                    if compare(f, &args[0], b)? == Equal && !is_nan(&args[0]) {
                        return Ok(Val::Bool(true));
                    }
                }
                return Ok(Val::Bool(false));
            }
            arity(f, &args, 2)?;
            let o = compare(f, &args[0], &args[1])?;
            let nan = is_nan(&args[0]) || is_nan(&args[1]);
            Ok(Val::Bool(match f {
                "ne" => nan || o != Equal,
                "lt" => !nan && o == Less,
                "le" => !nan && o != Greater,
                "gt" => !nan && o == Greater,
                _ => !nan && o != Less,
            }))
        }
        "and" => Ok(args.iter().find(|a| !a.truth()).or(args.last()).cloned().unwrap_or(Val::Nil)),
        "or" => Ok(args.iter().find(|a| a.truth()).or(args.last()).cloned().unwrap_or(Val::Nil)),
        "not" => {
            arity(f, &args, 1)?;
            Ok(Val::Bool(!args[0].truth()))
        }
        "len" => {
            arity(f, &args, 1)?;
            match &args[0] {
                Val::Str(s) => Ok(Val::Int(s.len() as i64)),
                Val::Map(m) => Ok(Val::Int(m.len() as i64)),
                other => Err(format!("error calling len: len of type {}", other.type_name())),
            }
        }
        "index" => {
            arity(f, &args, 2)?;
            match (&args[0], &args[1]) {
                (Val::Map(m), Val::Str(k)) => Ok(map_get(m, k)),
                (a, _) => Err(format!("error calling index: can't index item of type {}", a.type_name())),
            }
        }
        "match" => {
            arity(f, &args, 2)?;
            let re = regex::Regex::new(&want_str(f, &args[0])?).map_err(|e| format!("error calling match: {e}"))?;
            Ok(Val::Bool(re.is_match(&want_str(f, &args[1])?)))
        }
        "reReplaceAll" => {
            arity(f, &args, 3)?;
            let re =
                regex::Regex::new(&want_str(f, &args[0])?).map_err(|e| format!("error calling reReplaceAll: {e}"))?;
            let repl = go_repl(&want_str(f, &args[1])?);
            Ok(Val::Str(re.replace_all(&want_str(f, &args[2])?, repl.as_str()).into_owned()))
        }
        "pathPrefix" => Ok(Val::Str(String::new())),
        "externalURL" => Ok(Val::Str(String::new())),
        "safeHtml" | "html" | "js" | "urlquery" => {
            arity(f, &args, 1)?;
            Ok(Val::Str(args[0].print()))
        }
        "query" => Err("error calling query: opsdeck does not support the template function `query` \
                        (templates cannot run PromQL queries here); use $value and $labels"
            .into()),
        other => Err(format!("error calling {other}: the template function `{other}` is not supported by opsdeck")),
    }
}

fn is_nan(v: &Val) -> bool {
    matches!(v, Val::F64(f) if f.is_nan())
}

/// Go's `${1}` / `$1` replacement syntax is also Rust regex's; `$name` must be braced in Rust to
/// stop at non-word chars the same way, which Go also does. Nothing to translate.
fn go_repl(s: &str) -> String {
    s.to_string()
}

fn strip_port(s: &str) -> String {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once("]:") {
            return host.to_string();
        }
        return s.to_string();
    }
    match s.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h.to_string(),
        _ => s.to_string(),
    }
}

fn strip_domain(s: &str) -> String {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_string();
    }
    let first = host.split('.').next().unwrap_or(host);
    match port {
        Some(p) => format!("{first}:{p}"),
        None => first.to_string(),
    }
}

/// Go's `fmt.Sprintf` for the verbs rule templates use: `%s %v %d %f %g %e %x %q %t %%` with
/// flags, width and precision.
fn sprintf(fmt: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut ai = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = it.peek() {
            if "+-# 0".contains(f) {
                flags.push(f);
                it.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        ai += 1;
        let body = match (verb, arg) {
            ('v', a) => match (a, prec) {
                (Val::F64(f), Some(p)) => gofmt::format_g(*f, Some(p)),
                _ => a.print(),
            },
            ('s', Val::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('q', Val::Str(s)) => format!("{s:?}"),
            ('t', Val::Bool(b)) => b.to_string(),
            ('d', Val::Int(i)) => i.to_string(),
            ('x', Val::Int(i)) => format!("{i:x}"),
            ('X', Val::Int(i)) => format!("{i:X}"),
            ('x', Val::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('f' | 'F', Val::F64(v)) => gofmt::format_f(*v, prec.unwrap_or(6)),
            ('e', Val::F64(v)) => gofmt::format_e(*v, prec.unwrap_or(6)),
            ('g', Val::F64(v)) => gofmt::format_g(*v, prec),
            ('f' | 'F', Val::Int(i)) | ('e', Val::Int(i)) | ('g', Val::Int(i)) => format!("%!{verb}(int={i})"),
            (v, a) => format!("%!{v}({}={})", a.type_name(), a.print()),
        };
        let body = if flags.contains('+') && !body.starts_with('-') && matches!(arg, Val::F64(_) | Val::Int(_)) {
            format!("+{body}")
        } else {
            body
        };
        // A width is capped: a template must not be able to allocate gigabytes.
        let w: usize = width.parse::<usize>().unwrap_or(0).min(4096);
        let n = body.chars().count();
        if n < w {
            let pad = w - n;
            if flags.contains('-') {
                out.push_str(&body);
                out.push_str(&" ".repeat(pad));
            } else if flags.contains('0') && matches!(arg, Val::F64(_) | Val::Int(_)) {
                let (sign, digits) =
                    if body.starts_with('-') || body.starts_with('+') { body.split_at(1) } else { ("", body.as_str()) };
                out.push_str(sign);
                out.push_str(&"0".repeat(pad));
                out.push_str(digits);
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
    }
    if ai < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[ai..].iter().map(|a| format!("{}={}", a.type_name(), a.print())).collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// Every function name a template's actions mention (known or not), in order of appearance.
pub fn used_functions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Ok(toks) = lex_action(&after[..end]) {
            for t in toks {
                if let Tok::Ident(id) = t {
                    let kw =
                        ["if", "else", "end", "with", "range", "true", "false", "nil", "define", "template", "block"];
                    if !kw.contains(&id.as_str()) && !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
        rest = &after[end..];
    }
    out
}

/// Names of functions a template calls that Go would reject (`function "x" not defined`).
pub fn unknown_functions(text: &str) -> Vec<String> {
    used_functions(text).into_iter().filter(|f| !KNOWN_FUNCS.contains(&f.as_str())).collect()
}

/// Parse-and-expand cache key helper: templates are parsed once per rule.
pub type Cache = HashMap<String, Template>;

#[cfg(test)]
mod tests {
    use super::*;

    fn data(v: f64) -> TemplateData {
        TemplateData {
            labels: vec![("instance".into(), "web-1:9090".into()), ("job".into(), "api".into())],
            external_labels: vec![("cluster".into(), "eu1".into())],
            external_url: "http://opsdeck".into(),
            value: v,
        }
    }

    fn x(t: &str, v: f64) -> String {
        Template::parse("__alert_T", t).unwrap().expand(&data(v)).unwrap()
    }

    #[test]
    fn values_and_labels() {
        assert_eq!(x("{{ $value }}", 1e6), "1e+06");
        assert_eq!(x("{{ $value }}", 1.5e-5), "1.5e-05");
        assert_eq!(x("{{ .Value }} {{ .Labels.job }}", 4.999999999999998), "4.999999999999998 api");
        assert_eq!(x("{{ $labels.instance }} of {{ $labels.job }}", 0.0), "web-1:9090 of api");
        assert_eq!(x("[{{ $labels.missing }}]", 0.0), "[]");
        assert_eq!(x("{{ $externalLabels.cluster }} {{ $externalURL }}", 0.0), "eu1 http://opsdeck");
    }

    #[test]
    fn functions() {
        assert_eq!(x("{{ $value | humanize }}", 1234567.0), "1.235M");
        assert_eq!(x("{{ $value | humanize }}", 0.000012), "12u");
        assert_eq!(x("{{ humanize $value }}", 0.0), "0");
        assert_eq!(x("{{ $value | humanize1024 }}", 1048576.0), "1Mi");
        assert_eq!(x("{{ $value | humanizePercentage }}", 0.0512), "5.12%");
        assert_eq!(x("{{ $value | humanizeDuration }}", 3725.0), "1h 2m 5s");
        assert_eq!(x("{{ $value | humanizeDuration }}", 0.25), "250ms");
        assert_eq!(x("{{ $value | humanizeDuration }}", 90061.0), "1d 1h 1m 1s");
        assert_eq!(x("{{ $value | humanizeTimestamp }}", 1435065584.128), "2015-06-23 13:19:44.128 +0000 UTC");
        assert_eq!(x("{{ printf \"%.2f\" $value }}", 1.23456), "1.23");
        assert_eq!(x("{{ $value | printf \"%.1f%%\" }}", 12.345), "12.3%");
        assert_eq!(x("{{ printf \"%s=%v\" \"a\" $value }}", 2.0), "a=2");
        assert_eq!(x("{{ printf \"%d\" 3 }}", 0.0), "3");
        assert_eq!(x("{{ \"hello world\" | title }}", 0.0), "Hello World");
        assert_eq!(x("{{ $labels.job | toUpper }}", 0.0), "API");
        assert_eq!(x("{{ toLower \"ABC\" }}", 0.0), "abc");
        assert_eq!(x("{{ $labels.instance | stripPort }}", 0.0), "web-1");
        assert_eq!(x("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}", 0.0), "web-1");
    }

    #[test]
    fn control_flow_and_trim() {
        let t = "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}";
        assert_eq!(x(t, 0.9), "high");
        assert_eq!(x(t, 0.2), "mid");
        assert_eq!(x(t, 0.0), "low");
        assert_eq!(x("a  {{- \"b\" -}}  c", 0.0), "abc");
        assert_eq!(x("{{ with $labels.job }}job={{ . }}{{ end }}", 0.0), "job=api");
        assert_eq!(x("{{ $x := \"v\" }}{{ $x }}", 0.0), "v");
        assert_eq!(x("{{/* comment */}}ok", 0.0), "ok");
        assert_eq!(x("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0.0), "instance=web-1:9090;job=api;");
        assert_eq!(x("{{ range $labels }}[{{ . }}]{{ end }}", 0.0), "[web-1:9090][api]");
        assert_eq!(x("{{ if eq $labels.job \"api\" }}yes{{ end }}", 0.0), "yes");
        assert_eq!(x("{{ if and $labels.job (not $labels.nope) }}y{{ end }}", 0.0), "y");
    }

    #[test]
    fn hostile_input_never_panics() {
        let pieces = [
            "{{",
            "}}",
            "{{-",
            "-}}",
            " ",
            "(",
            ")",
            "|",
            ".",
            "$",
            "$x",
            ":=",
            "\"",
            "'",
            "`",
            "\\u12",
            "1e",
            "-",
            "if",
            "else",
            "end",
            "range",
            "with",
            "printf",
            "\"%\"",
            "\"%9999999999d\"",
            "index",
            "humanize",
            "$value",
            "$labels.a",
            ".Labels",
            "nil",
            "true",
            "0x",
            "/*",
            "*/",
            "é",
            "\n",
            ",",
        ];
        let mut seed = 7u64;
        for _ in 0..20_000 {
            let mut t = String::new();
            for _ in 0..(seed % 9) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                t.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            if let Ok(tpl) = Template::parse("n", &t) {
                let _ = tpl.expand(&data(f64::NAN));
            }
        }
    }

    #[test]
    fn errors() {
        let e = Template::parse("__alert_T", "{{ foo $value }}").unwrap_err();
        assert_eq!(e.0, "template: __alert_T:1: function \"foo\" not defined");
        assert!(Template::parse("n", "{{ if $value }}x").is_err());
        assert!(Template::parse("n", "{{ $value ").is_err());
        let q = Template::parse("n", "{{ query \"up\" | first | value }}").unwrap().expand(&data(0.0)).unwrap_err();
        assert!(q.0.contains("query"), "{q}");
        let c = Template::parse("n", "{{ if gt $value 1 }}x{{ end }}").unwrap().expand(&data(2.0)).unwrap_err();
        assert!(c.0.contains("incompatible types"), "{c}");
        assert_eq!(unknown_functions("{{ humanize $value }} {{ nope 1 }} {{ alsoNope }}"), vec!["nope", "alsoNope"]);
    }
}
