//! The lexer of template actions: the text between `{{` and `}}` becomes tokens (identifiers,
//! `.Field`s, `$var`s, string/number/char literals, `|`, `(`, `)`, `:=`, `=`, `,`). It is the
//! bottom layer: `parse` builds pipelines from these tokens, and `used_functions` (in `mod.rs`)
//! scans them for function names without parsing.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

/// Split one action's text into tokens; errors read as Go's lexer writes them.
pub(super) fn lex_action(s: &str) -> Result<Vec<Tok>, String> {
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
                i += 1;
                out.push(Tok::Str(lex_quoted(&b, &mut i)?));
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
                let j = word_end(&b, start);
                out.push(Tok::Field(b[start..j].iter().collect()));
                i = j;
            }
            '$' => {
                let start = i + 1;
                let j = word_end(&b, start);
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
                i = word_end(&b, i);
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

/// The end of the identifier-like word (letters, digits, `_`) starting at `start`.
fn word_end(b: &[char], start: usize) -> usize {
    let mut j = start;
    while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
        j += 1;
    }
    j
}

/// The body of a `"..."` string with Go's escapes; `i` is just past the opening quote and ends
/// just past the closing one.
fn lex_quoted(b: &[char], i: &mut usize) -> Result<String, String> {
    let mut v = String::new();
    loop {
        let Some(&ch) = b.get(*i) else { return Err("unterminated quoted string".into()) };
        *i += 1;
        match ch {
            '"' => break,
            '\n' => return Err("unterminated quoted string".into()),
            '\\' => {
                let Some(&e) = b.get(*i) else { return Err("unterminated quoted string".into()) };
                *i += 1;
                match e {
                    'n' => v.push('\n'),
                    't' => v.push('\t'),
                    'r' => v.push('\r'),
                    '\\' => v.push('\\'),
                    '"' => v.push('"'),
                    '\'' => v.push('\''),
                    'u' | 'x' => {
                        let n = if e == 'u' { 4 } else { 2 };
                        let hex: String = b.iter().skip(*i).take(n).collect();
                        let cp = u32::from_str_radix(&hex, 16).map_err(|_| "invalid escape in string")?;
                        v.push(char::from_u32(cp).ok_or("invalid escape in string")?);
                        *i += n;
                    }
                    other => return Err(format!("invalid escape \\{other} in string")),
                }
            }
            ch => v.push(ch),
        }
    }
    Ok(v)
}
