//! The parser, after Go's `text/template/parse/parse.go`: the lexer's pieces become a tree of
//! `Item`s (text, actions, `if`/`with`/`range` with `else`/`else if`, `template`, `break`,
//! `continue`) and the templates that `define` and `block` name. Each action is a `Pipeline` of
//! `Command`s over `Arg`s (literals, `.Field` chains, `$var` chains, function names,
//! parenthesized pipelines and chains over them). It rejects what Go rejects at parse time, with
//! Go's words: unknown functions, undefined variables (Go scopes a variable to the end of the
//! control structure that declares it, and a `define`d body sees only `$`), misplaced
//! `else`/`end`/`break`, non-executable pipeline stages. `exec` walks the tree this builds.

use super::funcs::is_func;
use super::lex::{lex, Piece, Tok, Token};
use super::value::{go_quote, Val};

#[derive(Debug, Clone)]
pub(super) enum Node {
    Bool(bool),
    /// A string literal: its value and its source text.
    Str(String, String),
    /// A number literal: its value as Go's `idealConstant` types it, and its source text.
    Num(Val, String),
    Nil,
    Dot,
    /// `.A.b`
    Field(Vec<String>),
    /// `$x.a.b` (`$x` with the `$`)
    Var(String, Vec<String>),
    Func(String),
    Pipe(Box<Pipeline>),
    /// `(pipeline).a.b` or `func.a`
    Chain(Box<Arg>, Vec<String>),
}

#[derive(Debug, Clone)]
pub(super) struct Arg {
    pub(super) node: Node,
    pub(super) pos: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Command {
    pub(super) args: Vec<Arg>,
    pub(super) pos: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    pub(super) pos: usize,
    pub(super) decl: Vec<String>,
    pub(super) is_assign: bool,
    pub(super) cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(super) enum Item {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Item>, Vec<Item>),
    With(Pipeline, Vec<Item>, Vec<Item>),
    Range(Pipeline, Vec<Item>, Vec<Item>),
    /// `{{template "name" pipeline}}` at a position.
    Template(String, Option<Pipeline>, usize),
    Break,
    Continue,
}

/// A parsed template: its body and the templates it defines.
#[derive(Debug, Clone, Default)]
pub(super) struct Tree {
    pub(super) root: Vec<Item>,
    pub(super) defs: Vec<(String, Vec<Item>)>,
}

impl Arg {
    /// Go's `Node.String()`, as error contexts (`at <...>`) print it.
    pub(super) fn string(&self) -> String {
        match &self.node {
            Node::Bool(b) => b.to_string(),
            Node::Str(_, src) | Node::Num(_, src) => src.clone(),
            Node::Nil => "nil".into(),
            Node::Dot => ".".into(),
            Node::Field(p) => p.iter().map(|f| format!(".{f}")).collect(),
            Node::Var(v, p) => format!("{v}{}", p.iter().map(|f| format!(".{f}")).collect::<String>()),
            Node::Func(f) => f.clone(),
            Node::Pipe(p) => format!("({})", p.string()),
            Node::Chain(a, p) => format!("{}{}", a.string(), p.iter().map(|f| format!(".{f}")).collect::<String>()),
        }
    }
}

impl Command {
    pub(super) fn string(&self) -> String {
        self.args.iter().map(|a| a.string()).collect::<Vec<_>>().join(" ")
    }
}

impl Pipeline {
    pub(super) fn string(&self) -> String {
        let mut s = String::new();
        if !self.decl.is_empty() {
            s = format!("{} {} ", self.decl.join(", "), if self.is_assign { "=" } else { ":=" });
        }
        s + &self.cmds.iter().map(|c| c.string()).collect::<Vec<_>>().join(" | ")
    }
}

const KEYWORDS: &[&str] = &["block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"];

/// Go's `item.String()` of a token in an "unexpected" error.
fn tok_str(t: &Token) -> String {
    match &t.tok {
        Tok::Ident(k) if KEYWORDS.contains(&k.as_str()) => format!("<{k}>"),
        _ if t.src.chars().count() > 10 => format!("{}...", &go_quote(&t.src.chars().take(10).collect::<String>())),
        _ => go_quote(&t.src),
    }
}

/// A parse error: the line and Go's message.
type PErr = (usize, String);

/// How an item list ended.
enum Stop {
    End,
    /// `{{else}}`, or `{{else if ...}}` with the tokens from `if` on.
    Else(Vec<Token>),
    Eof,
}

struct Parser {
    pieces: Vec<Piece>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    defs: Vec<(String, Vec<Item>)>,
    line: usize,
}

/// Parse a whole template; an error is the complete message Go writes:
/// `template: NAME:LINE: ...`.
pub(super) fn parse_template(name: &str, text: &str) -> Result<Tree, String> {
    let err = |(line, msg): PErr| format!("template: {name}:{line}: {msg}");
    let pieces = lex(text).map_err(err)?;
    let mut p = Parser { pieces, i: 0, vars: vec!["$".into()], range_depth: 0, defs: vec![], line: 1 };
    let mut root = vec![];
    loop {
        // `{{define}}` is only recognized at the top level.
        if let Some(Piece::Action { toks, line, .. }) = p.pieces.get(p.i) {
            if matches!(toks.first(), Some(Token { tok: Tok::Ident(k), .. }) if k == "define") {
                let (toks, line) = (toks.clone(), *line);
                p.i += 1;
                p.line = line;
                p.definition(&toks[1..], "define clause").map_err(err)?;
                continue;
            }
        }
        let (items, stop) = p.list(true).map_err(err)?;
        root.extend(items);
        match stop {
            Stop::Eof if p.i >= p.pieces.len() => break,
            Stop::Eof => {}
            Stop::End => return Err(err((p.line, "unexpected {{end}}".into()))),
            Stop::Else(_) => return Err(err((p.line, "unexpected {{else}}".into()))),
        }
    }
    Ok(Tree { root, defs: p.defs })
}

/// A cursor over one action's tokens.
struct Cur<'a> {
    toks: &'a [Token],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }
    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }
}

impl Parser {
    /// Items up to `{{end}}`, `{{else}}` or the end; `top`: a `{{define}}` ends the list too.
    fn list(&mut self, top: bool) -> Result<(Vec<Item>, Stop), PErr> {
        let mut items = vec![];
        while let Some(piece) = self.pieces.get(self.i).cloned() {
            let (toks, line) = match piece {
                Piece::Text(t) => {
                    self.i += 1;
                    items.push(Item::Text(t));
                    continue;
                }
                Piece::Action { toks, line, end_line, .. } => {
                    if top && matches!(toks.first(), Some(Token { tok: Tok::Ident(k), .. }) if k == "define") {
                        return Ok((items, Stop::Eof));
                    }
                    self.i += 1;
                    self.line = end_line;
                    (toks, line)
                }
            };
            let Some(first) = toks.first() else { return Err((line, "missing value for command".into())) };
            let kw = if let Tok::Ident(k) = &first.tok { k.as_str() } else { "" };
            let rest = &toks[1..];
            let only = |what: &str| match rest.first() {
                Some(t) => Err((t.line, format!("unexpected {} in {what}", tok_str(t)))),
                None => Ok(()),
            };
            match kw {
                "end" => {
                    only("end")?;
                    return Ok((items, Stop::End));
                }
                "else" => {
                    if matches!(rest.first(), Some(Token { tok: Tok::Ident(k), .. }) if k == "if") {
                        return Ok((items, Stop::Else(rest.to_vec())));
                    }
                    only("else")?;
                    return Ok((items, Stop::Else(vec![])));
                }
                "if" | "with" | "range" => {
                    let (p, body, els) = self.control(kw, rest, line)?;
                    items.push(match kw {
                        "if" => Item::If(p, body, els),
                        "with" => Item::With(p, body, els),
                        _ => Item::Range(p, body, els),
                    });
                }
                "break" | "continue" => {
                    if self.range_depth == 0 {
                        return Err((line, format!("{{{{{kw}}}}} outside {{{{range}}}}")));
                    }
                    only(&format!("{{{{{kw}}}}}"))?;
                    items.push(if kw == "break" { Item::Break } else { Item::Continue });
                }
                "template" => {
                    let (name, pipe) = self.template_call(rest, line, "template clause")?;
                    items.push(Item::Template(name, pipe, rest[0].pos));
                }
                "block" => {
                    let (name, pipe) = self.template_call(rest, line, "block clause")?;
                    let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
                    let depth = std::mem::replace(&mut self.range_depth, 0);
                    let (body, stop) = self.list(false)?;
                    self.vars = saved;
                    self.range_depth = depth;
                    self.expect_end(stop, "block clause")?;
                    self.add_def(name.clone(), body, line)?;
                    items.push(Item::Template(name, pipe, rest[0].pos));
                }
                _ => {
                    let mut c = Cur { toks: &toks, i: 0 };
                    let p = self.pipeline(&mut c, "command", false, line)?;
                    items.push(Item::Action(p));
                }
            }
        }
        Ok((items, Stop::Eof))
    }

    fn expect_end(&self, stop: Stop, ctx: &str) -> Result<(), PErr> {
        match stop {
            Stop::End => Ok(()),
            Stop::Else(_) => Err((self.line, format!("unexpected {{{{else}}}} in {ctx}"))),
            Stop::Eof => Err((self.line, "unexpected EOF".into())),
        }
    }

    fn add_def(&mut self, name: String, body: Vec<Item>, line: usize) -> Result<(), PErr> {
        let empty = |b: &[Item]| b.iter().all(|i| matches!(i, Item::Text(t) if t.trim().is_empty()));
        if let Some(slot) = self.defs.iter_mut().find(|(n, _)| *n == name) {
            if !empty(&slot.1) && !empty(&body) {
                return Err((line, format!("template: multiple definition of template {}", go_quote(&name))));
            }
            if !empty(&body) {
                slot.1 = body;
            }
        } else {
            self.defs.push((name, body));
        }
        Ok(())
    }

    /// `{{define "name"}}...{{end}}`: the body sees only `$`.
    fn definition(&mut self, rest: &[Token], ctx: &str) -> Result<(), PErr> {
        let line = self.line;
        let name = match rest.first() {
            Some(Token { tok: Tok::Str(s), .. }) => s.clone(),
            Some(t) => return Err((t.line, format!("unexpected {} in {ctx}", tok_str(t)))),
            None => return Err((line, format!("unexpected \"}}}}\" in {ctx}"))),
        };
        if let Some(t) = rest.get(1) {
            return Err((t.line, format!("unexpected {} in {ctx}", tok_str(t))));
        }
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (body, stop) = self.list(false)?;
        self.vars = saved;
        self.expect_end(stop, ctx)?;
        self.add_def(name, body, line)
    }

    /// The name and optional pipeline of `{{template "name" pipeline}}` / `{{block ...}}`.
    fn template_call(&mut self, rest: &[Token], line: usize, ctx: &str) -> Result<(String, Option<Pipeline>), PErr> {
        let name = match rest.first() {
            Some(Token { tok: Tok::Str(s), .. }) => s.clone(),
            Some(t) => return Err((t.line, format!("unexpected {} in {ctx}", tok_str(t)))),
            None => return Err((line, format!("unexpected \"}}}}\" in {ctx}"))),
        };
        if rest.len() == 1 {
            if ctx == "block clause" {
                return Err((line, format!("missing value for {ctx}")));
            }
            return Ok((name, None));
        }
        let mut c = Cur { toks: &rest[1..], i: 0 };
        Ok((name, Some(self.pipeline(&mut c, ctx, false, line)?)))
    }

    /// `if`/`with`/`range`: the pipeline, the body and the else branch; variables declared in
    /// any of them end with the control.
    fn control(&mut self, kw: &str, rest: &[Token], line: usize) -> Result<(Pipeline, Vec<Item>, Vec<Item>), PErr> {
        let mark = self.vars.len();
        let mut c = Cur { toks: rest, i: 0 };
        let pipe = self.pipeline(&mut c, kw, false, line)?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let (body, stop) = self.list(false)?;
        if kw == "range" {
            self.range_depth -= 1;
        }
        let els = match stop {
            Stop::End => vec![],
            Stop::Eof => return Err((self.line, "unexpected EOF".into())),
            Stop::Else(toks) if !toks.is_empty() => {
                if kw != "if" {
                    return Err((toks[0].line, "unexpected <if> in input".into()));
                }
                let (p, b, e) = self.control("if", &toks[1..], toks[0].line)?;
                vec![Item::If(p, b, e)]
            }
            Stop::Else(_) => {
                let (els, stop) = self.list(false)?;
                match stop {
                    Stop::End => els,
                    Stop::Else(_) => return Err((self.line, "expected end; found {{else}}".into())),
                    Stop::Eof => return Err((self.line, "unexpected EOF".into())),
                }
            }
        };
        self.vars.truncate(mark);
        Ok((pipe, body, els))
    }

    /// A pipeline up to the end of the action (or, `in_paren`, its closing paren).
    fn pipeline(&mut self, c: &mut Cur, ctx: &str, in_paren: bool, line: usize) -> Result<Pipeline, PErr> {
        let pos = c.peek().map(|t| t.pos).unwrap_or(0);
        let mut p = Pipeline { pos, decl: vec![], is_assign: false, cmds: vec![] };
        while let Some(Tok::Var(v)) = c.peek_tok() {
            let v = v.clone();
            match c.toks.get(c.i + 1).map(|t| &t.tok) {
                Some(Tok::Decl | Tok::Assign) => {
                    p.is_assign = c.toks[c.i + 1].tok == Tok::Assign;
                    c.i += 2;
                    p.decl.push(v.clone());
                    self.vars.push(v);
                    break;
                }
                Some(Tok::Comma) => {
                    c.i += 2;
                    p.decl.push(v.clone());
                    self.vars.push(v);
                    if ctx == "range" && p.decl.len() < 2 {
                        match c.peek_tok() {
                            Some(Tok::Var(_)) | Some(Tok::RParen) | None => continue,
                            _ => return Err((line, "range can only initialize variables".into())),
                        }
                    }
                    return Err((line, format!("too many declarations in {ctx}")));
                }
                _ => break,
            }
        }
        loop {
            match c.peek() {
                None if in_paren => return Err((line, "unclosed left paren".into())),
                None => break,
                Some(Token { tok: Tok::RParen, .. }) if in_paren => {
                    c.i += 1;
                    break;
                }
                Some(Token { tok: Tok::RParen, .. }) => {
                    return Err((line, "unexpected right paren U+0029 ')'".into()));
                }
                Some(t @ Token { tok: Tok::Pipe | Tok::Decl | Tok::Assign | Tok::Comma, .. }) => {
                    return Err((t.line, format!("unexpected {} in {ctx}", tok_str(t))));
                }
                Some(_) => {
                    let cmd = self.command(c, line)?;
                    p.cmds.push(cmd);
                }
            }
        }
        if p.cmds.is_empty() {
            return Err((line, format!("missing value for {ctx}")));
        }
        for (i, cmd) in p.cmds.iter().enumerate().skip(1) {
            if matches!(cmd.args[0].node, Node::Bool(_) | Node::Dot | Node::Nil | Node::Num(..) | Node::Str(..)) {
                return Err((line, format!("non executable command in pipeline stage {}", i + 1)));
            }
        }
        Ok(p)
    }

    fn command(&mut self, c: &mut Cur, line: usize) -> Result<Command, PErr> {
        let pos = c.peek().map(|t| t.pos).unwrap_or(0);
        let mut args = vec![];
        loop {
            match self.operand(c, line)? {
                Some(a) => args.push(a),
                None => {
                    let t = c.peek().expect("operand stops at a token");
                    return Err((t.line, format!("unexpected {} in operand", tok_str(t))));
                }
            }
            match c.peek() {
                None | Some(Token { tok: Tok::RParen, .. }) => break,
                Some(Token { tok: Tok::Pipe, .. }) => {
                    c.i += 1;
                    break;
                }
                Some(t) if !t.spaced => return Err((t.line, format!("unexpected {} in operand", tok_str(t)))),
                Some(_) => {}
            }
        }
        Ok(Command { args, pos })
    }

    fn operand(&mut self, c: &mut Cur, line: usize) -> Result<Option<Arg>, PErr> {
        let Some(mut arg) = self.term(c, line)? else { return Ok(None) };
        let mut fields = vec![];
        let chain_pos = c.peek().map(|t| t.pos).unwrap_or(arg.pos);
        while let Some(Token { tok: Tok::Field(f), spaced: false, .. }) = c.peek() {
            fields.push(f.clone());
            c.i += 1;
        }
        if fields.is_empty() {
            return Ok(Some(arg));
        }
        match &mut arg.node {
            // Go gives the chained node the position of its first chained field.
            Node::Field(p) | Node::Var(_, p) => {
                p.extend(fields);
                arg.pos = chain_pos;
            }
            Node::Bool(_) | Node::Str(..) | Node::Num(..) | Node::Nil | Node::Dot => {
                return Err((line, format!("unexpected . after term {}", go_quote(&arg.string()))));
            }
            _ => {
                arg = Arg { node: Node::Chain(Box::new(arg), fields), pos: chain_pos };
            }
        }
        Ok(Some(arg))
    }

    fn term(&mut self, c: &mut Cur, line: usize) -> Result<Option<Arg>, PErr> {
        let Some(t) = c.peek().cloned() else { return Ok(None) };
        let node = match &t.tok {
            Tok::Ident(k) if k == "nil" => Node::Nil,
            Tok::Ident(k) if KEYWORDS.contains(&k.as_str()) => return Ok(None),
            Tok::Ident(f) => {
                if !is_func(f) {
                    return Err((t.line, format!("function {} not defined", go_quote(f))));
                }
                Node::Func(f.clone())
            }
            Tok::Dot => Node::Dot,
            Tok::Bool(b) => Node::Bool(*b),
            Tok::Str(s) => Node::Str(s.clone(), t.src.clone()),
            Tok::Num(n) => Node::Num(number(n).map_err(|m| (t.line, m))?, n.clone()),
            Tok::Field(f) => Node::Field(vec![f.clone()]),
            Tok::Var(v) => {
                if !self.vars.contains(v) {
                    return Err((t.line, format!("undefined variable {}", go_quote(v))));
                }
                Node::Var(v.clone(), vec![])
            }
            Tok::LParen => {
                c.i += 1;
                let p = self.pipeline(c, "parenthesized pipeline", true, line)?;
                return Ok(Some(Arg { node: Node::Pipe(Box::new(p)), pos: t.pos }));
            }
            _ => return Ok(None),
        };
        c.i += 1;
        Ok(Some(Arg { node, pos: t.pos }))
    }
}

/// A number literal's value as Go's `idealConstant` gives it: `int` unless the text looks like
/// a float (`.`, `e`, `p` outside hex), `'c'` the character's code.
fn number(text: &str) -> Result<Val, String> {
    if let Some(body) = text.strip_prefix('\'') {
        let inner = body.strip_suffix('\'').unwrap_or(body);
        let mut it = inner.chars();
        let c = match (it.next(), it.next()) {
            (Some('\\'), Some(e)) => match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                '\\' => '\\',
                '\'' => '\'',
                _ => return Err(format!("malformed character constant: {text}")),
            },
            (Some(c), None) => c,
            _ => return Err(format!("malformed character constant: {text}")),
        };
        return Ok(Val::Int(c as i64));
    }
    let t = text.replace('_', "");
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let lower = body.to_ascii_lowercase();
    let radix = |p: &str, r: u32| {
        lower.strip_prefix(p).and_then(|d| i64::from_str_radix(d, r).ok()).map(|v| if neg { -v } else { v })
    };
    let int = if lower.starts_with("0x") {
        radix("0x", 16)
    } else if lower.starts_with("0o") {
        radix("0o", 8)
    } else if lower.starts_with("0b") {
        radix("0b", 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit()) {
        radix("0", 8)
    } else {
        body.parse::<i64>().ok().map(|v| if neg { -v } else { v })
    };
    let floaty = !lower.starts_with("0x") && lower.contains(['.', 'e']);
    if !floaty {
        if let Some(i) = int {
            return Ok(Val::Int(i));
        }
        if body.bytes().all(|b| b.is_ascii_digit()) && !body.is_empty() {
            return Err(format!("integer overflow: {}", go_quote(text)));
        }
    }
    match body.parse::<f64>() {
        Ok(f) if floaty => Ok(Val::F64(if neg { -f } else { f })),
        _ => Err(format!("illegal number syntax: {}", go_quote(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{parse_err, x};

    #[test]
    fn control_flow_and_trim() {
        let t = "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}";
        assert_eq!(x(t, 0.9), "high");
        assert_eq!(x(t, 0.2), "mid");
        assert_eq!(x(t, 0.0), "low");
        assert_eq!(x("a  {{- \"b\" -}}  c", 0.0), "abc");
        assert_eq!(x("{{ with $labels.job }}job={{ . }}{{ end }}", 0.0), "job=api");
        assert_eq!(x("{{ with $labels.nope }}x{{ else }}none{{ end }}", 0.0), "none");
        assert_eq!(x("{{ $x := \"v\" }}{{ $x }}{{ $x = \"w\" }}{{ $x }}", 0.0), "vw");
        assert_eq!(x("{{/* comment */}}ok", 0.0), "ok");
        assert_eq!(x("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0.0), "instance=web-1:9090;job=api;");
        assert_eq!(x("{{ range $labels }}[{{ . }}]{{ end }}", 0.0), "[web-1:9090][api]");
        assert_eq!(
            x("{{ range $labels }}{{ if eq . \"api\" }}{{ break }}{{ end }}{{ . }}{{ end }}", 0.0),
            "web-1:9090"
        );
        assert_eq!(
            x("{{ range $labels }}{{ if eq . \"api\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", 0.0),
            "web-1:9090"
        );
        assert_eq!(x("{{ range args }}x{{ else }}empty{{ end }}", 0.0), "empty");
        assert_eq!(x("{{ if and $labels.job (not $labels.nope) }}y{{ end }}", 0.0), "y");
    }

    #[test]
    fn define_template_block() {
        assert_eq!(x("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" $labels.job }}", 0.0), "[api]");
        assert_eq!(x("{{ block \"b\" .Labels.job }}<{{ . }}>{{ end }}", 0.0), "<api>");
        assert_eq!(x("{{ define \"t\" }}{{ .Labels.job }}{{ end }}{{ template \"t\" . }}", 0.0), "api");
        // a defined template sees only `$` (its own dot), not Prometheus's variables
        assert!(parse_err("{{ define \"t\" }}{{ $labels.job }}{{ end }}").contains("undefined variable \"$labels\""));
    }

    #[test]
    fn parse_errors_as_go_writes_them() {
        assert_eq!(parse_err("{{ $label.job }}"), "template: __alert_T:1: undefined variable \"$label\"");
        assert_eq!(parse_err("{{ foo $value }}"), "template: __alert_T:1: function \"foo\" not defined");
        assert_eq!(parse_err("a\n{{ if $value }}x"), "template: __alert_T:2: unexpected EOF");
        assert_eq!(parse_err("{{ end }}"), "template: __alert_T:1: unexpected {{end}}");
        assert_eq!(parse_err("{{ break }}"), "template: __alert_T:1: {{break}} outside {{range}}");
        assert_eq!(parse_err("{{ $value | 1 }}"), "template: __alert_T:1: non executable command in pipeline stage 2");
        assert!(parse_err("{{ $value ").contains("unclosed action"));
        // a variable declared inside a control ends with it
        assert!(parse_err("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}").contains("undefined variable \"$x\""));
        assert!(parse_err("{{ \"a\".b }}").contains("unexpected . after term"));
        assert!(parse_err("{{ with $x := 1 }}{{ else if true }}{{ end }}").contains("unexpected <if> in input"));
        assert!(parse_err("{{ (1 }}").contains("unclosed left paren"));
        assert!(parse_err("{{ 1 ) }}").contains("unexpected right paren"));
    }
}
