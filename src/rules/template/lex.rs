//! The lexer, after Go's `text/template/parse/lex.go`: a template's text becomes pieces (text
//! between actions, and actions as tokens: identifiers, `.Field`s, `$var`s, string, raw string,
//! number and character literals, `|`, `(`, `)`, `:=`, `=`, `,`), with `{{-`/`-}}` trimming and
//! `{{/* */}}` comments. Each token keeps its byte position and line (for Go's `NAME:LINE:COL`
//! errors) and whether a space came before it (`$x.a` is a chain, `$x .a` two operands). It is
//! the bottom layer: `parse` builds the tree from these pieces.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An identifier: a function name or a keyword (`if`, `range`, `nil`, ...).
    Ident(String),
    Bool(bool),
    /// `.Name` (one link of a chain).
    Field(String),
    /// A lone `.`.
    Dot,
    /// `$name` (with the `$`); `$` alone is the data.
    Var(String),
    /// A string literal's value (`"..."` or `` `...` ``).
    Str(String),
    /// A number or character literal's source text.
    Num(String),
    Pipe,
    LParen,
    RParen,
    Decl,
    Assign,
    Comma,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Byte offset in the template text.
    pub(super) pos: usize,
    pub(super) line: usize,
    /// A space (or newline) came right before it.
    pub(super) spaced: bool,
    /// The source text (Go prints nodes with it in error contexts).
    pub(super) src: String,
}

#[derive(Debug, Clone)]
pub(super) enum Piece {
    Text(String),
    /// One action's tokens, the line of its `{{` and the line of its `}}`.
    Action {
        toks: Vec<Token>,
        line: usize,
        end_line: usize,
    },
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// A lexing error: the line it is on and Go's message.
pub(super) type LexError = (usize, String);

/// Split a whole template into text and actions.
pub(super) fn lex(text: &str) -> Result<Vec<Piece>, LexError> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    let mut line = 1;
    let mut trim_next = false;
    while i < b.len() {
        let start = i;
        let (txt_end, open) = match text[i..].find("{{") {
            Some(k) => (i + k, true),
            None => (b.len(), false),
        };
        let mut s = &text[start..txt_end];
        if trim_next {
            s = s.trim_start_matches([' ', '\t', '\r', '\n']);
        }
        let trim_left = open && b.len() >= txt_end + 4 && b[txt_end + 2] == b'-' && is_space(b[txt_end + 3]);
        if trim_left {
            s = s.trim_end_matches([' ', '\t', '\r', '\n']);
        }
        if !s.is_empty() {
            out.push(Piece::Text(s.to_string()));
        }
        line += text[start..txt_end].matches('\n').count();
        if !open {
            break;
        }
        let aline = line;
        i = txt_end + if trim_left { 4 } else { 2 };
        if text[i..].starts_with("/*") {
            let Some(k) = text[i + 2..].find("*/") else { return Err((aline, "unclosed comment".into())) };
            let after = i + 2 + k + 2;
            line += text[i..after].matches('\n').count();
            let (ok, trim, end) = at_right_delim(b, after);
            if !ok {
                return Err((line, "comment ends before closing delimiter".into()));
            }
            trim_next = trim;
            i = end;
            continue;
        }
        let mut toks = vec![];
        let mut spaced = trim_left;
        loop {
            let (ok, trim, end) = at_right_delim(b, i);
            if ok {
                out.push(Piece::Action { toks, line: aline, end_line: line });
                trim_next = trim;
                i = end;
                break;
            }
            let Some(&c) = b.get(i) else { return Err((line, "unclosed action".into())) };
            if is_space(c) {
                if c == b'\n' {
                    line += 1;
                }
                i += 1;
                spaced = true;
                continue;
            }
            let (tok, end) = token(text, i).map_err(|m| (line, m))?;
            let src = text[i..end].to_string();
            let tline = line;
            line += src.matches('\n').count();
            toks.push(Token { tok, pos: i, line: tline, spaced, src });
            spaced = false;
            i = end;
        }
    }
    Ok(out)
}

/// Whether a right delimiter (`}}`, or ` -}}` trimming what follows) starts at `i`: (is one,
/// trims, position after it).
fn at_right_delim(b: &[u8], i: usize) -> (bool, bool, usize) {
    if b[i.min(b.len())..].starts_with(b"}}") {
        return (true, false, i + 2);
    }
    if i < b.len() && is_space(b[i]) && b[i + 1..].starts_with(b"-}}") {
        return (true, true, i + 4);
    }
    (false, false, i)
}

/// One token starting at `i` (not a space); returns it and the position after it.
fn token(text: &str, i: usize) -> Result<(Tok, usize), String> {
    let b = text.as_bytes();
    let c = text[i..].chars().next().expect("in bounds");
    let one = |t: Tok| Ok((t, i + 1));
    match c {
        '|' => one(Tok::Pipe),
        '(' => one(Tok::LParen),
        ')' => one(Tok::RParen),
        ',' => one(Tok::Comma),
        '=' => one(Tok::Assign),
        ':' if b.get(i + 1) == Some(&b'=') => Ok((Tok::Decl, i + 2)),
        ':' => Err("expected :=".into()),
        '"' => {
            let (v, end) = quoted(text, i)?;
            Ok((Tok::Str(v), end))
        }
        '`' => {
            let k = text[i + 1..].find('`').ok_or("unterminated raw quoted string")?;
            Ok((Tok::Str(text[i + 1..i + 1 + k].to_string()), i + 2 + k))
        }
        '\'' => char_const(text, i),
        '$' => {
            let end = word_end(text, i + 1);
            Ok((Tok::Var(text[i..end].to_string()), end))
        }
        '.' if !b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
            let end = word_end(text, i + 1);
            if end == i + 1 {
                return Ok((Tok::Dot, end));
            }
            Ok((Tok::Field(text[i + 1..end].to_string()), end))
        }
        c if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' => number(text, i),
        c if is_alnum(c) => {
            let end = word_end(text, i);
            let w = &text[i..end];
            if let Some(&n) = text[end..].chars().next().as_ref() {
                if !(n == ' ' || n == '\t' || n == '\r' || n == '\n' || ".,|:)(}=".contains(n)) {
                    return Err(format!("bad character {}", go_char(n)));
                }
            }
            Ok((
                match w {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    _ => Tok::Ident(w.to_string()),
                },
                end,
            ))
        }
        other => Err(format!("unrecognized character in action: {}", go_char(other))),
    }
}

/// Go's `%#U` of a character: `U+0023 '#'`.
fn go_char(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}

fn word_end(text: &str, start: usize) -> usize {
    let mut j = start;
    for c in text[start..].chars() {
        if !is_alnum(c) {
            break;
        }
        j += c.len_utf8();
    }
    j
}

/// Go's `scanNumber`: sign, base prefix, digits with `_`, fraction, exponent, `i`.
fn number(text: &str, i: usize) -> Result<(Tok, usize), String> {
    let b = text.as_bytes();
    let mut j = i;
    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
        j += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b[j..].len() >= 2 && b[j] == b'0' {
        match b[j + 1] {
            b'x' | b'X' => {
                j += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            b'o' | b'O' => {
                j += 2;
                digits = b"01234567_";
                exp = b"";
            }
            b'b' | b'B' => {
                j += 2;
                digits = b"01_";
                exp = b"";
            }
            _ => {}
        }
    }
    let run = |j: &mut usize, set: &[u8]| {
        while *j < b.len() && set.contains(&b[*j]) {
            *j += 1;
        }
    };
    run(&mut j, digits);
    if j < b.len() && b[j] == b'.' {
        j += 1;
        run(&mut j, digits);
    }
    if !exp.is_empty() && j < b.len() && exp.contains(&b[j]) {
        j += 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        run(&mut j, b"0123456789_");
    }
    if j < b.len() && b[j] == b'i' {
        j += 1;
    }
    let next = text[j..].chars().next();
    if j == i || next.is_some_and(is_alnum) || next == Some('.') {
        let end = j + next.map(|c| c.len_utf8()).unwrap_or(0);
        return Err(format!("bad number syntax: {:?}", &text[i..end.min(text.len())]));
    }
    Ok((Tok::Num(text[i..j].to_string()), j))
}

/// A `'c'` character constant (kept as source text; `parse` gives it its value).
fn char_const(text: &str, i: usize) -> Result<(Tok, usize), String> {
    let mut it = text[i + 1..].char_indices();
    loop {
        match it.next() {
            None | Some((_, '\n')) => return Err("unterminated character constant".into()),
            Some((_, '\\')) => {
                it.next();
            }
            Some((k, '\'')) => return Ok((Tok::Num(text[i..i + 2 + k].to_string()), i + 2 + k)),
            _ => {}
        }
    }
}

/// A `"..."` literal starting at `i`, unquoted as Go's `strconv.Unquote` does.
fn quoted(text: &str, i: usize) -> Result<(String, usize), String> {
    let mut v = String::new();
    let mut it = text[i + 1..].char_indices().peekable();
    while let Some((k, ch)) = it.next() {
        match ch {
            '"' => return Ok((v, i + 2 + k)),
            '\n' => break,
            '\\' => {
                let Some((_, e)) = it.next() else { break };
                let simple = match e {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    'r' => Some('\r'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'v' => Some('\u{b}'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    _ => None,
                };
                if let Some(s) = simple {
                    v.push(s);
                    continue;
                }
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    '0'..='7' => 2,
                    _ => return Err(format!("invalid syntax: bad escape \\{e}")),
                };
                let mut hex = String::new();
                for _ in 0..n {
                    match it.next() {
                        Some((_, h)) => hex.push(h),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                let cp = if e.is_ascii_digit() {
                    u32::from_str_radix(&format!("{e}{hex}"), 8).ok().filter(|c| *c < 256)
                } else {
                    u32::from_str_radix(&hex, 16).ok()
                };
                match (e, cp) {
                    // `\xNN` and octal escapes are bytes; only ASCII ones keep a string valid UTF-8.
                    ('x' | '0'..='7', Some(c)) if c < 0x80 => v.push(char::from(c as u8)),
                    ('x' | '0'..='7', Some(_)) => v.push('\u{FFFD}'),
                    (_, Some(c)) => v.push(char::from_u32(c).ok_or("invalid syntax")?),
                    _ => return Err("invalid syntax".into()),
                }
            }
            c => v.push(c),
        }
    }
    Err("unterminated quoted string".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        match lex(s).unwrap().remove(0) {
            Piece::Action { toks, .. } => toks.into_iter().map(|t| t.tok).collect(),
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks("{{ $labels.job | printf \"%s\\n\" 1.5 'a' }}"),
            vec![
                Tok::Var("$labels".into()),
                Tok::Field("job".into()),
                Tok::Pipe,
                Tok::Ident("printf".into()),
                Tok::Str("%s\n".into()),
                Tok::Num("1.5".into()),
                Tok::Num("'a'".into()),
            ]
        );
        assert_eq!(toks("{{ \"}}\" }}"), vec![Tok::Str("}}".into())]);
        assert_eq!(toks("{{.}}"), vec![Tok::Dot]);
        assert_eq!(toks("{{ $x := -1 }}"), vec![Tok::Var("$x".into()), Tok::Decl, Tok::Num("-1".into())]);
        assert!(lex("{{ 1x }}").unwrap_err().1.contains("bad number syntax"));
        assert!(lex("{{ \"a }}").is_err());
        assert_eq!(lex("{{ /* c */ }}").unwrap_err().1, "unrecognized character in action: U+002F '/'");
    }

    #[test]
    fn trimming_and_comments() {
        let p = lex("a \n{{- 1 -}}\n b{{/* x */}}c{{- /* y */ -}} d").unwrap();
        let texts: Vec<String> =
            p.iter().filter_map(|p| if let Piece::Text(t) = p { Some(t.clone()) } else { None }).collect();
        assert_eq!(texts, vec!["a", "b", "c", "d"]);
        assert!(lex("{{/* x */ 1}}").is_err());
        assert_eq!(lex("{{/* x").unwrap_err().1, "unclosed comment");
    }
}
