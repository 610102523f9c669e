//! A small positioned YAML tree built from saphyr's `MarkedYaml`, so rule and test files can
//! name `file:line:col` for every problem. Scalars keep the text as written (like Go's yaml
//! decoding into a string field), so `value: 1e+06` and `for: 5m` stay exactly what the user typed.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// 1-based line and column, as Prometheus reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Null,
    Scalar(String, Style),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{pos}: {msg}")]
pub struct YamlError {
    pub pos: Pos,
    pub msg: String,
}

impl YamlError {
    pub fn at(pos: Pos, msg: impl Into<String>) -> YamlError {
        YamlError { pos, msg: msg.into() }
    }
}

/// Parse one YAML document. An empty file is `Null`.
pub fn parse(src: &str) -> Result<Node, YamlError> {
    let docs = MarkedYaml::load_from_str(src).map_err(|e| {
        let m = e.marker();
        YamlError::at(Pos { line: m.line(), col: m.col() + 1 }, e.info().to_string())
    })?;
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    match docs.first() {
        None => Ok(Node { pos: Pos { line: 1, col: 1 }, kind: Kind::Null }),
        Some(d) => convert(d, src, &chars),
    }
}

fn slice<'a>(src: &'a str, chars: &[(usize, char)], from: usize, to: usize) -> &'a str {
    let b = |i: usize| chars.get(i).map(|c| c.0).unwrap_or(src.len());
    &src[b(from)..b(to)]
}

fn convert(n: &MarkedYaml, src: &str, chars: &[(usize, char)]) -> Result<Node, YamlError> {
    let pos = Pos { line: n.span.start.line(), col: n.span.start.col() + 1 };
    let style = match chars.get(n.span.start.index()).map(|c| c.1) {
        Some('\'') => Style::Single,
        Some('"') => Style::Double,
        Some('|') => Style::Literal,
        Some('>') => Style::Folded,
        _ => Style::Plain,
    };
    let kind = match &n.data {
        YamlData::Value(Scalar::Null) => {
            // `key: ~` / `key: null` are null; an empty plain scalar too.
            Kind::Null
        }
        YamlData::Value(Scalar::String(s)) => Kind::Scalar(s.to_string(), style),
        YamlData::Value(_) => {
            let raw = slice(src, chars, n.span.start.index(), n.span.end.index()).trim_end();
            Kind::Scalar(raw.to_string(), style)
        }
        YamlData::Representation(s, _, _) => Kind::Scalar(s.to_string(), style),
        YamlData::Sequence(items) => Kind::Seq(items.iter().map(|i| convert(i, src, chars)).collect::<Result<_, _>>()?),
        YamlData::Mapping(m) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m.iter() {
                out.push((convert(k, src, chars)?, convert(v, src, chars)?));
            }
            Kind::Map(out)
        }
        YamlData::Tagged(_, inner) => return convert(inner, src, chars),
        YamlData::Alias(_) => return Err(YamlError::at(pos, "YAML aliases are not supported here")),
        YamlData::BadValue => return Err(YamlError::at(pos, "invalid YAML value")),
    };
    Ok(Node { pos, kind })
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Scalar(..) => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The scalar's text; `None` for null. Lists and mappings are an error naming `what`.
    pub fn str_opt(&self, what: &str) -> Result<Option<&str>, YamlError> {
        match &self.kind {
            Kind::Null => Ok(None),
            Kind::Scalar(s, _) => Ok(Some(s)),
            _ => Err(YamlError::at(self.pos, format!("{what}: expected a string, found {}", self.kind_name()))),
        }
    }

    pub fn str(&self, what: &str) -> Result<&str, YamlError> {
        Ok(self.str_opt(what)?.unwrap_or(""))
    }

    /// Items of a list; null is an empty list.
    pub fn seq(&self, what: &str) -> Result<&[Node], YamlError> {
        match &self.kind {
            Kind::Null => Ok(&[]),
            Kind::Seq(v) => Ok(v),
            _ => Err(YamlError::at(self.pos, format!("{what}: expected a list, found {}", self.kind_name()))),
        }
    }

    /// Entries of a mapping with string keys; null is empty. Duplicate keys are rejected, as Go's
    /// yaml decoders do.
    pub fn map(&self, what: &str) -> Result<Vec<(&str, Pos, &Node)>, YamlError> {
        match &self.kind {
            Kind::Null => Ok(vec![]),
            Kind::Map(v) => {
                let mut out: Vec<(&str, Pos, &Node)> = Vec::with_capacity(v.len());
                for (k, val) in v {
                    let key = k.str(what)?;
                    if out.iter().any(|(x, _, _)| *x == key) {
                        return Err(YamlError::at(k.pos, format!("{what}: key {key:?} already set in this mapping")));
                    }
                    out.push((key, k.pos, val));
                }
                Ok(out)
            }
            _ => Err(YamlError::at(self.pos, format!("{what}: expected a mapping, found {}", self.kind_name()))),
        }
    }

    /// A mapping whose keys must all be in `known` (Go's strict decoding).
    pub fn strict_map(&self, what: &str, known: &[&str]) -> Result<Vec<(&str, Pos, &Node)>, YamlError> {
        let m = self.map(what)?;
        for (k, p, _) in &m {
            if !known.contains(k) {
                return Err(YamlError::at(
                    *p,
                    format!("field {k} not found in {what} (known fields: {})", known.join(", ")),
                ));
            }
        }
        Ok(m)
    }

    /// The position in the file of byte `off` of this scalar's value, for errors inside it
    /// (a PromQL parse error at offset 7 of `expr:`). Exact for plain and quoted one-line scalars
    /// and for literal blocks; otherwise the scalar's start.
    pub fn pos_of_offset(&self, off: usize) -> Pos {
        let Kind::Scalar(text, style) = &self.kind else { return self.pos };
        let prefix = &text[..off.min(text.len())];
        match style {
            Style::Plain | Style::Single | Style::Double if !text.contains('\n') => {
                let q = usize::from(*style != Style::Plain);
                // Quotes escaped inside the scalar shift columns; count them for single quotes.
                let extra = if *style == Style::Single { prefix.matches('\'').count() } else { 0 };
                Pos { line: self.pos.line, col: self.pos.col + q + prefix.chars().count() + extra }
            }
            Style::Plain | Style::Literal => {
                // saphyr's span of a block scalar starts at its first content line; each content
                // line starts at the block's indentation.
                let line_in = prefix.matches('\n').count();
                let col_in = prefix.rsplit('\n').next().map(|s| s.chars().count()).unwrap_or(0);
                Pos { line: self.pos.line + line_in, col: self.pos.col + col_in }
            }
            _ => self.pos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_raw_scalars() {
        let src = "a:\n  - x: 1e+06\n    y: 'q'\n    z: true\n";
        let n = parse(src).unwrap();
        let m = n.map("top").unwrap();
        assert_eq!(m[0].0, "a");
        let items = m[0].2.seq("a").unwrap();
        let im = items[0].map("item").unwrap();
        assert_eq!(im[0].2.str("x").unwrap(), "1e+06");
        assert_eq!(im[0].2.pos, Pos { line: 2, col: 8 });
        assert_eq!(im[1].2.str("y").unwrap(), "q");
        assert_eq!(im[2].2.str("z").unwrap(), "true");
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e}");
    }

    #[test]
    fn offsets_map_into_file() {
        let src = "r:\n  expr: 'test +'\n  e2: |\n    sum(\n      x\n";
        let n = parse(src).unwrap();
        let top = n.map("top").unwrap();
        let m = top[0].2.map("r").unwrap();
        let e = m[0].2;
        assert_eq!(e.pos, Pos { line: 2, col: 9 });
        assert_eq!(e.pos_of_offset(5), Pos { line: 2, col: 15 });
        let b = m[1].2;
        // offset 7 = "sum(\n  x" -> line 5, col 7
        assert_eq!(b.pos_of_offset(7), Pos { line: 5, col: 7 });
    }

    #[test]
    fn duplicate_and_unknown_keys() {
        assert!(parse("a: 1\na: 2\n").is_err() || parse("a: 1\na: 2\n").unwrap().map("x").is_err());
        let n = parse("a: 1\nb: 2\n").unwrap();
        let e = n.strict_map("group", &["a"]).unwrap_err();
        assert_eq!(e.pos, Pos { line: 2, col: 1 });
    }
}
