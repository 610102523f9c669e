//! The parser: template text becomes a tree of `Item`s (text, actions, `if`/`with`/`range`
//! blocks), each action a `Pipeline` of `Command`s over `Arg`s. It handles Go's `{{-`/`-}}`
//! trimming, `/* */` comments, `else if` chains and variable declarations, and rejects what Go
//! rejects at parse time (unknown functions, unbalanced blocks), with Go's `NAME:LINE:` errors.
//! Uses `lex` for the actions' tokens; `exec` walks the tree this builds.

use super::funcs::KNOWN_FUNCS;
use super::lex::{lex_action, Tok};
use super::value::Val;

#[derive(Debug, Clone)]
pub(super) enum Arg {
    Lit(Val),
    /// `.A.b` (empty path = `.`)
    Field(Vec<String>),
    /// `$x.a.b`
    Var(String, Vec<String>),
    Func(String),
    Pipe(Box<Pipeline>),
}

#[derive(Debug, Clone)]
pub(super) struct Command {
    pub(super) args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    pub(super) decl: Option<String>,
    pub(super) cmds: Vec<Command>,
    /// `range $k, $v := ...` / `range $v := ...`: the variables set per element.
    pub(super) range_vars: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Item {
    Text(String),
    Action(Pipeline),
    If(Vec<(Pipeline, Vec<Item>)>, Vec<Item>),
    With(Pipeline, Vec<Item>, Vec<Item>),
    Range(Pipeline, Vec<Item>, Vec<Item>),
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

/// An open block while parsing: what `{{else}}` and `{{end}}` close.
enum Block {
    Root,
    If { branches: Vec<(Pipeline, Vec<Item>)>, cond: Pipeline, in_else: bool },
    With { pipe: Pipeline, body: Vec<Item>, in_else: bool },
    Range { pipe: Pipeline, body: Vec<Item>, in_else: bool },
}

/// Parse a whole template; an error is the complete message Go writes:
/// `template: NAME:LINE: ...`.
pub(super) fn parse_template(name: &str, text: &str) -> Result<Vec<Item>, String> {
    let err = |line: usize, msg: String| format!("template: {name}:{line}: {msg}");
    let mut tree = Tree { stack: vec![(Block::Root, vec![])] };
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
                tree.push(Item::Text(txt.to_string()));
            }
            break;
        };
        let trim_left = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            txt = txt.trim_end();
        }
        line += rest[..rest.len() - after.len()].matches('\n').count();
        if !txt.is_empty() {
            tree.push(Item::Text(txt.to_string()));
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
        tree.action(body.trim()).map_err(|m| err(action_line, m))?;
    }
    if tree.stack.len() != 1 {
        return Err(err(line, "unexpected EOF".into()));
    }
    Ok(tree.stack.pop().expect("root").1)
}

/// The blocks open at the current position, each with the items collected so far.
struct Tree {
    stack: Vec<(Block, Vec<Item>)>,
}

impl Tree {
    fn push(&mut self, item: Item) {
        self.stack.last_mut().expect("root").1.push(item);
    }

    /// One action's trimmed text: a comment, a block keyword, or a pipeline to print.
    fn action(&mut self, b: &str) -> Result<(), String> {
        if b.starts_with("/*") {
            if !b.ends_with("*/") {
                return Err("unclosed comment".into());
            }
            return Ok(());
        }
        let (kw, tail) = match b.split_once(|c: char| c.is_whitespace()) {
            Some((k, t)) => (k, t.trim()),
            None => (b, ""),
        };
        match kw {
            "if" => {
                let cond = parse_pipeline(tail, true)?;
                self.stack.push((Block::If { branches: vec![], cond, in_else: false }, vec![]));
            }
            "with" => {
                let pipe = parse_pipeline(tail, true)?;
                self.stack.push((Block::With { pipe, body: vec![], in_else: false }, vec![]));
            }
            "range" => self.range(tail)?,
            "else" => self.else_(tail)?,
            "end" => self.end()?,
            "define" | "template" | "block" | "break" | "continue" => {
                return Err(format!("{{{{{kw}}}}} is not supported by opsdeck's template engine"));
            }
            _ => {
                let p = parse_pipeline(b, true)?;
                self.push(Item::Action(p));
            }
        }
        Ok(())
    }

    /// `{{range [$k, ]$v := pipeline}}` or `{{range pipeline}}`.
    fn range(&mut self, tail: &str) -> Result<(), String> {
        let (vars, rest) = match tail.split_once(":=") {
            Some((vs, rest)) if vs.trim().starts_with('$') => {
                let vars: Vec<String> = vs.split(',').map(|v| v.trim().trim_start_matches('$').to_string()).collect();
                if vars.len() > 2 || vars.iter().any(|v| v.is_empty()) {
                    return Err(format!("bad range variables {vs:?}"));
                }
                (vars, rest.trim())
            }
            _ => (vec![], tail),
        };
        let mut pipe = parse_pipeline(rest, false)?;
        pipe.range_vars = vars;
        self.stack.push((Block::Range { pipe, body: vec![], in_else: false }, vec![]));
        Ok(())
    }

    /// `{{else}}` or `{{else if pipeline}}`: close the current branch, open the next.
    fn else_(&mut self, tail: &str) -> Result<(), String> {
        let (blk, items_taken) = self.stack.pop().expect("root");
        let new = match blk {
            Block::If { mut branches, cond, in_else: false } => {
                branches.push((cond, items_taken));
                if let Some(t) = tail.strip_prefix("if ") {
                    let cond = parse_pipeline(t.trim(), true)?;
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
                    return Err(format!("unexpected {tail:?} after else"));
                }
            }
            Block::With { pipe, in_else: false, .. } if tail.is_empty() => {
                Block::With { pipe, body: items_taken, in_else: true }
            }
            Block::Range { pipe, in_else: false, .. } if tail.is_empty() => {
                Block::Range { pipe, body: items_taken, in_else: true }
            }
            _ => return Err("unexpected {{else}}".into()),
        };
        self.stack.push((new, vec![]));
        Ok(())
    }

    /// `{{end}}`: close the innermost block into one item of its parent.
    fn end(&mut self) -> Result<(), String> {
        if self.stack.len() == 1 {
            return Err("unexpected {{end}}".into());
        }
        let (blk, items) = self.stack.pop().expect("block");
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
        self.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::x;

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
}
