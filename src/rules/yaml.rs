//! A small positioned YAML tree built from saphyr-parser's events, read the way Prometheus's
//! go-yaml decoders read it, so rule and test files can name `file:line:col` for every problem.
//!
//! - Scalars keep the text as written (like Go's yaml decoding into a string field), so
//!   `value: 1e+06` and `for: 5m` stay exactly what the user typed; `!!str ~` is the text `~`.
//! - Aliases resolve to a copy of the anchored node, which remembers the alias (`Node::alias`):
//!   go-yaml v3 gives a `yaml.Node` field (rulefmt's `record`, `alert`, `expr`) the alias itself,
//!   whose value is the anchor's name.
//! - Merge keys (`<<: *a`, `<<: [*a, *b]`) and duplicate keys follow the decoder and the Go type
//!   being filled: see [`Decode`]. Rule files are go-yaml v3 (`Decode::V3`); promtool's test files
//!   are go-yaml v2's `UnmarshalStrict`, where a Go struct (`Decode::V2Struct`) and a Go map
//!   (`Decode::V2Map`) treat a key beside a merge differently.
//! - Quoted scalars may continue on lines indented less than their key, as in go-yaml (the
//!   vendored saphyr-parser carries that patch: `vendor/saphyr-parser/PATCHES.md`).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

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
    /// The tag as written in short form: `!!str`, `!!merge`, `!custom`.
    pub tag: Option<String>,
    /// When the node was reached through an alias `*name`: the name and the alias's position.
    pub alias: Option<(String, Pos)>,
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

/// How the Go decoder reading a mapping treats merge keys and repeated keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// gopkg.in/yaml.v3 (`rulefmt`), into a struct or a map alike: a key written twice in one
    /// mapping is an error (`mapping key "k" already defined at line N`); a merge fills only the
    /// keys not written beside it, and with `<<: [*a, *b]` the earlier mapping wins.
    V3,
    /// gopkg.in/yaml.v2 `UnmarshalStrict` into a Go struct: fields are assigned in document order,
    /// a merge where it stands (list items from the last to the first), a later assignment
    /// replacing an earlier one; a field written twice in one mapping is an error.
    V2Struct,
    /// gopkg.in/yaml.v2 `UnmarshalStrict` into a Go map: each key may be set once, whether written
    /// or merged (`key "k" already set in map`).
    V2Map,
}

/// go-yaml v3's limit on nesting is 10000; 1000 is far past any rule file and keeps the
/// recursive walks over the tree (clone, drop) well inside a thread's stack.
const MAX_DEPTH: usize = 1000;
/// Nodes that alias expansion may copy in one document, against alias bombs.
const MAX_ALIAS_NODES: usize = 1_000_000;

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line(), col: span.start.col() + 1 }
}

enum Open {
    Seq(Node, usize, Vec<Node>),
    Map(Node, usize, Vec<(Node, Node)>, Option<Node>),
}

fn short_tag(t: &saphyr_parser::Tag) -> String {
    if t.is_yaml_core_schema() {
        format!("!!{}", t.suffix)
    } else {
        format!("{}{}", t.handle, t.suffix)
    }
}

enum EvKind {
    Seq,
    Other,
}

/// The name of the alias `*name` at char index `at` (saphyr's markers count chars).
fn alias_name(src: &str, offsets: &mut Vec<usize>, at: usize) -> String {
    if offsets.is_empty() {
        *offsets = src.char_indices().map(|(b, _)| b).collect();
    }
    let from = offsets.get(at).map_or(src.len(), |b| b + 1);
    let rest = src.get(from..).unwrap_or("");
    rest.split(|c: char| c.is_whitespace() || ",[]{}".contains(c)).next().unwrap_or("").to_string()
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.kind {
        Kind::Seq(v) => v.iter().map(count_nodes).sum(),
        Kind::Map(v) => v.iter().map(|(k, v)| count_nodes(k) + count_nodes(v)).sum(),
        _ => 0,
    }
}

/// Parse the first YAML document (go-yaml's decoders read no further). An empty file is `Null`.
pub fn parse(src: &str) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(src);
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut offsets: Vec<usize> = vec![];
    let mut stack: Vec<Open> = vec![];
    let mut copied = 0usize;
    let mut root: Option<Node> = None;
    loop {
        let (ev, span) = match parser.next_event() {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                let m = e.marker();
                return Err(YamlError::at(Pos { line: m.line(), col: m.col() + 1 }, e.info().to_string()));
            }
        };
        let pos = pos_of(&span);
        let ev_kind = if matches!(ev, Event::SequenceStart(..)) { EvKind::Seq } else { EvKind::Other };
        let bare = |kind, tag: Option<String>| Node { pos, kind, tag, alias: None };
        let done = match ev {
            Event::StreamEnd => break,
            Event::DocumentEnd if stack.is_empty() && root.is_some() => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd => continue,
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| short_tag(&t));
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::Single,
                    ScalarStyle::DoubleQuoted => Style::Double,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let null = style == Style::Plain
                    && matches!(tag.as_deref(), None | Some("!!null"))
                    && matches!(&*text, "" | "~" | "null" | "Null" | "NULL");
                let n = bare(if null { Kind::Null } else { Kind::Scalar(text.into_owned(), style) }, tag);
                if anchor > 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError::at(pos, format!("exceeded max depth of {MAX_DEPTH}")));
                }
                let head = bare(Kind::Null, tag.map(|t| short_tag(&t)));
                stack.push(if matches!(ev_kind, EvKind::Seq) {
                    Open::Seq(head, anchor, vec![])
                } else {
                    Open::Map(head, anchor, vec![], None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (mut head, anchor, kind) = match stack.pop() {
                    Some(Open::Seq(h, a, items)) => (h, a, Kind::Seq(items)),
                    Some(Open::Map(h, a, pairs, _)) => (h, a, Kind::Map(pairs)),
                    None => return Err(YamlError::at(pos, "unbalanced YAML collection")),
                };
                head.kind = kind;
                if anchor > 0 {
                    anchors.insert(anchor, head.clone());
                }
                head
            }
            Event::Alias(id) => {
                let name = alias_name(src, &mut offsets, span.start.index());
                let Some(target) = anchors.get(&id) else {
                    return Err(YamlError::at(pos, format!("anchor '{name}' value contains itself")));
                };
                copied += count_nodes(target);
                if copied > MAX_ALIAS_NODES {
                    return Err(YamlError::at(pos, "document contains excessive aliasing"));
                }
                let mut n = target.clone();
                n.alias = Some((name, pos));
                n
            }
        };
        match stack.last_mut() {
            None => root = Some(done),
            Some(Open::Seq(_, _, items)) => items.push(done),
            Some(Open::Map(_, _, pairs, key)) => match key.take() {
                None => *key = Some(done),
                Some(k) => pairs.push((k, done)),
            },
        }
    }
    Ok(root.unwrap_or(Node { pos: Pos { line: 1, col: 1 }, kind: Kind::Null, tag: None, alias: None }))
}

/// The entries of a mapping as a Go struct receives them (see [`Node::fields`]).
#[derive(Debug, Default)]
pub struct Fields<'a> {
    /// Assignments in the decoder's order; keys repeat only under `Decode::V2Struct`.
    pub entries: Vec<(&'a str, Pos, &'a Node)>,
}

impl<'a> Fields<'a> {
    /// The value the field ends up with: the last assignment.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().rev().find(|(k, _, _)| *k == key).map(|e| e.2)
    }

    /// Every value assigned to the field, in order. go-yaml v2 decodes each into the same Go
    /// value, so a map field given twice (once by a merge) collects the keys of both.
    pub fn all(&self, key: &str) -> Vec<&'a Node> {
        self.entries.iter().filter(|(k, _, _)| *k == key).map(|e| e.2).collect()
    }
}

fn is_merge(k: &Node) -> bool {
    matches!(&k.kind, Kind::Scalar(s, Style::Plain) if s == "<<")
        && matches!(k.tag.as_deref(), None | Some("!") | Some("!!merge"))
}

fn want_map(n: &Node) -> YamlError {
    YamlError::at(n.pos, "map merge requires map or sequence of maps as the value")
}

/// The mappings a merge value brings, in the order the decoder applies them.
fn merge_sources(v: &Node, mode: Decode) -> Result<Vec<&Node>, YamlError> {
    match &v.kind {
        Kind::Map(_) => Ok(vec![v]),
        Kind::Seq(items) => {
            if let Some(bad) = items.iter().find(|i| !matches!(i.kind, Kind::Map(_))) {
                return Err(want_map(bad));
            }
            // v3 takes the list in order, the first mapping's keys first; v2 steps backwards,
            // so that (each key once, or the last assignment winning) the earlier mapping wins.
            Ok(if mode == Decode::V3 { items.iter().collect() } else { items.iter().rev().collect() })
        }
        _ => Err(want_map(v)),
    }
}

fn pairs<'a>(n: &'a Node, what: &str) -> Result<&'a [(Node, Node)], YamlError> {
    match &n.kind {
        Kind::Null => Ok(&[]),
        Kind::Map(v) => Ok(v),
        _ => Err(YamlError::at(n.pos, format!("{what}: expected a mapping, found {}", n.kind_name()))),
    }
}

/// go-yaml v3's check, on every mapping it decodes: no key written twice.
fn v3_unique(n: &Node, what: &str) -> Result<(), YamlError> {
    let ps = pairs(n, what)?;
    for (j, (kj, _)) in ps.iter().enumerate() {
        let Some(vj) = kj.key_text() else { continue };
        if let Some((ki, _)) = ps[..j].iter().find(|(ki, _)| ki.key_text() == Some(vj)) {
            return Err(YamlError::at(kj.pos, format!("mapping key {vj:?} already defined at line {}", ki.pos.line)));
        }
    }
    Ok(())
}

/// v3: the node's own keys, then each merged mapping's (recursively), the first one seen winning.
fn collect_v3<'a>(n: &'a Node, what: &str, out: &mut Vec<(&'a str, Pos, &'a Node)>) -> Result<(), YamlError> {
    v3_unique(n, what)?;
    let ps = pairs(n, what)?;
    let mut merge = None;
    for (k, v) in ps {
        if is_merge(k) {
            merge = Some(v);
            continue;
        }
        let key = k.str(what)?;
        // Keys the node itself writes win over anything merged into it (all of them, merged
        // sources included, are skipped when an earlier level already has the key).
        if !out.iter().any(|(x, _, _)| *x == key) {
            out.push((key, k.pos, v));
        }
    }
    if let Some(m) = merge {
        for src in merge_sources(m, Decode::V3)? {
            collect_v3(src, what, out)?;
        }
    }
    Ok(())
}

/// v2 strict into a map: in document order, merges where they stand, each key set once.
fn collect_v2_map<'a>(n: &'a Node, what: &str, out: &mut Vec<(&'a str, Pos, &'a Node)>) -> Result<(), YamlError> {
    for (k, v) in pairs(n, what)? {
        if is_merge(k) {
            for src in merge_sources(v, Decode::V2Map)? {
                collect_v2_map(src, what, out)?;
            }
            continue;
        }
        let key = k.str(what)?;
        if out.iter().any(|(x, _, _)| *x == key) {
            return Err(YamlError::at(v.pos, format!("key {key:?} already set in map")));
        }
        out.push((key, k.pos, v));
    }
    Ok(())
}

/// v2 strict into a struct: every assignment in order; a field written twice in one mapping is
/// an error, one written beside a merge that brings it is not.
fn collect_v2_struct<'a>(
    n: &'a Node,
    what: &str,
    known: &[&str],
    out: &mut Vec<(&'a str, Pos, &'a Node)>,
) -> Result<(), YamlError> {
    let mut done: Vec<&str> = vec![];
    for (k, v) in pairs(n, what)? {
        if is_merge(k) {
            for src in merge_sources(v, Decode::V2Struct)? {
                collect_v2_struct(src, what, known, out)?;
            }
            continue;
        }
        let key = k.str(what)?;
        if !known.contains(&key) {
            return Err(unknown_field(key, k.pos, what, known));
        }
        if done.contains(&key) {
            return Err(YamlError::at(k.pos, format!("field {key} already set in type {what}")));
        }
        done.push(key);
        out.push((key, k.pos, v));
    }
    Ok(())
}

fn unknown_field(key: &str, pos: Pos, what: &str, known: &[&str]) -> YamlError {
    YamlError::at(pos, format!("field {key} not found in {what} (known fields: {})", known.join(", ")))
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

    /// A key's text as go-yaml compares keys for duplicates (scalars only).
    fn key_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            Kind::Null => Some(""),
            _ => None,
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

    /// The value go-yaml v3 puts in a `yaml.Node` field (rulefmt's `record`, `alert`, `expr`) as
    /// a string: the scalar's text, or for an alias the anchor's name, as Prometheus reads
    /// `Node.Value` (`expr: *e` is the expression `e`), with the alias's position.
    pub fn v3_node_value(&self, what: &str) -> Result<(&str, Pos), YamlError> {
        match &self.alias {
            Some((name, pos)) => Ok((name, *pos)),
            None => match &self.kind {
                // A list or mapping has no value: the field counts as not set.
                Kind::Seq(_) | Kind::Map(_) => Ok(("", self.pos)),
                _ => Ok((self.str(what)?, self.pos)),
            },
        }
    }

    /// Items of a list; null is an empty list.
    pub fn seq(&self, what: &str) -> Result<&[Node], YamlError> {
        match &self.kind {
            Kind::Null => Ok(&[]),
            Kind::Seq(v) => Ok(v),
            _ => Err(YamlError::at(self.pos, format!("{what}: expected a list, found {}", self.kind_name()))),
        }
    }

    /// Entries of a mapping decoded into a Go map with string keys, merge keys applied as
    /// `mode`'s decoder applies them (`V2Struct` is taken as `V2Map` here); null is empty.
    pub fn map(&self, what: &str, mode: Decode) -> Result<Vec<(&str, Pos, &Node)>, YamlError> {
        let mut out = vec![];
        self.map_into(what, mode, &mut out)?;
        Ok(out)
    }

    /// As `map`, adding to entries already decoded into the same Go map (go-yaml v2 fills an
    /// existing map: a struct's map field assigned twice).
    pub fn map_into<'a>(
        &'a self,
        what: &str,
        mode: Decode,
        out: &mut Vec<(&'a str, Pos, &'a Node)>,
    ) -> Result<(), YamlError> {
        match mode {
            Decode::V3 => {
                let mut mine = vec![];
                collect_v3(self, what, &mut mine)?;
                for e in mine {
                    out.retain(|(k, _, _)| *k != e.0);
                    out.push(e);
                }
                Ok(())
            }
            Decode::V2Map | Decode::V2Struct => collect_v2_map(self, what, out),
        }
    }

    /// A mapping decoded into a Go struct whose fields are `known` (strict decoding: any other
    /// key is an error), merge keys applied as `mode`'s decoder applies them (`V2Map` is taken as
    /// `V2Struct` here); null is empty.
    pub fn fields(&self, what: &str, mode: Decode, known: &[&str]) -> Result<Fields<'_>, YamlError> {
        let mut entries = vec![];
        match mode {
            Decode::V3 => {
                collect_v3(self, what, &mut entries)?;
                if let Some((k, p, _)) = entries.iter().find(|(k, _, _)| !known.contains(k)) {
                    return Err(unknown_field(k, *p, what, known));
                }
            }
            Decode::V2Struct | Decode::V2Map => collect_v2_struct(self, what, known, &mut entries)?,
        }
        Ok(Fields { entries })
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

    fn top(src: &str) -> Node {
        parse(src).unwrap()
    }

    fn get<'a>(n: &'a Node, k: &str) -> &'a Node {
        n.map("t", Decode::V3).unwrap().into_iter().find(|e| e.0 == k).map(|e| e.2).unwrap()
    }

    fn flat(n: &Node, mode: Decode) -> Result<Vec<(String, String)>, YamlError> {
        let mut v: Vec<(String, String)> =
            n.map("m", mode)?.into_iter().map(|(k, _, v)| (k.to_string(), v.str("v").unwrap().to_string())).collect();
        v.sort();
        Ok(v)
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn positions_and_raw_scalars() {
        let src = "a:\n  - x: 1e+06\n    y: 'q'\n    z: true\n";
        let n = parse(src).unwrap();
        let m = n.map("top", Decode::V3).unwrap();
        assert_eq!(m[0].0, "a");
        let items = m[0].2.seq("a").unwrap();
        let im = items[0].map("item", Decode::V3).unwrap();
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
        let r = get(&n, "r");
        let e = get(r, "expr");
        assert_eq!(e.pos, Pos { line: 2, col: 9 });
        assert_eq!(e.pos_of_offset(5), Pos { line: 2, col: 15 });
        let b = get(r, "e2");
        // offset 7 = "sum(\n  x" -> line 5, col 7
        assert_eq!(b.pos_of_offset(7), Pos { line: 5, col: 7 });
    }

    #[test]
    fn unknown_fields() {
        let n = parse("a: 1\nb: 2\n").unwrap();
        for mode in [Decode::V3, Decode::V2Struct] {
            let e = n.fields("group", mode, &["a"]).unwrap_err();
            assert_eq!(e.pos, Pos { line: 2, col: 1 });
        }
        // A merged key is a field too.
        let n = parse("x: &x {c: 1}\ny:\n  <<: *x\n  a: 2\n").unwrap();
        assert!(get(&n, "y").fields("y", Decode::V3, &["a"]).is_err());
        assert!(get(&n, "y").fields("y", Decode::V2Struct, &["a"]).is_err());
    }

    #[test]
    fn duplicate_keys_as_go_yaml_reports_them() {
        let n = top("groups:\n  - name: dup\n    labels:\n      severity: page\n      severity: ticket\n");
        // v3: on any mapping it decodes, at the second key, naming the first key's line.
        let e = n.map("top", Decode::V3).and_then(|m| {
            let g = &m[0].2.seq("groups").unwrap()[0];
            let f = g.fields("group", Decode::V3, &["name", "labels"])?;
            f.get("labels").unwrap().map("labels", Decode::V3)
        });
        let e = e.unwrap_err();
        assert_eq!(e.msg, "mapping key \"severity\" already defined at line 4");
        assert_eq!(e.pos, Pos { line: 5, col: 7 });
        // v2 strict: a map names the repeated value's line; a struct the repeated field.
        let m = top("a: 1\nb: 2\na: 3\n");
        let e = m.map("m", Decode::V2Map).unwrap_err();
        assert_eq!((e.msg.as_str(), e.pos), ("key \"a\" already set in map", Pos { line: 3, col: 4 }));
        let e = m.fields("series", Decode::V2Struct, &["a", "b"]).unwrap_err();
        assert_eq!(e.msg, "field a already set in type series");
        // Two merge keys are duplicates too (v3).
        assert!(top("x: &x {a: 1}\ny: {<<: *x, <<: *x}\n").map("t", Decode::V3).unwrap()[1]
            .2
            .map("y", Decode::V3)
            .is_err());
    }

    #[test]
    fn merge_single_and_override() {
        let n = top("base: &b {severity: page, team: sre}\nx:\n  <<: *b\n  severity: ticket\ny:\n  severity: ticket\n  <<: *b\n");
        let want = kv(&[("severity", "ticket"), ("team", "sre")]);
        // v3: the key written beside the merge wins, wherever the merge stands.
        assert_eq!(flat(get(&n, "x"), Decode::V3).unwrap(), want);
        assert_eq!(flat(get(&n, "y"), Decode::V3).unwrap(), want);
        // v2 strict into a map: the key is set twice, an error (at the second value set).
        let e = flat(get(&n, "x"), Decode::V2Map).unwrap_err();
        assert_eq!((e.msg.as_str(), e.pos.line), ("key \"severity\" already set in map", 4));
        let e = flat(get(&n, "y"), Decode::V2Map).unwrap_err();
        assert_eq!(e.pos.line, 1);
        // v2 strict into a struct: assignments in document order, the later one wins.
        let f = get(&n, "x").fields("s", Decode::V2Struct, &["severity", "team"]).unwrap();
        assert_eq!(f.get("severity").unwrap().str("s").unwrap(), "ticket");
        let f = get(&n, "y").fields("s", Decode::V2Struct, &["severity", "team"]).unwrap();
        assert_eq!(f.get("severity").unwrap().str("s").unwrap(), "page");
        assert_eq!(f.all("severity").len(), 2);
        // Without a conflict, v2 maps merge fine.
        let n = top("b: &b {severity: page}\nx: {<<: *b, team: sre}\n");
        assert_eq!(flat(get(&n, "x"), Decode::V2Map).unwrap(), kv(&[("severity", "page"), ("team", "sre")]));
    }

    #[test]
    fn merge_list_earlier_wins() {
        let src = "a: &a {severity: page, team: sre}\nb: &b {owner: net, team: network}\nx:\n  <<: [*a, *b]\ny:\n  <<: [*b, *a]\n";
        let n = top(src);
        let x = kv(&[("owner", "net"), ("severity", "page"), ("team", "sre")]);
        let y = kv(&[("owner", "net"), ("severity", "page"), ("team", "network")]);
        assert_eq!(flat(get(&n, "x"), Decode::V3).unwrap(), x);
        assert_eq!(flat(get(&n, "y"), Decode::V3).unwrap(), y);
        // v2 map: both bring `team`, an error; v2 struct: the earlier one wins (applied last).
        assert!(flat(get(&n, "x"), Decode::V2Map).is_err());
        let f = get(&n, "x").fields("s", Decode::V2Struct, &["severity", "team", "owner"]).unwrap();
        assert_eq!(f.get("team").unwrap().str("t").unwrap(), "sre");
        let f = get(&n, "y").fields("s", Decode::V2Struct, &["severity", "team", "owner"]).unwrap();
        assert_eq!(f.get("team").unwrap().str("t").unwrap(), "network");
        // Nested merges: a merged mapping's own merge comes after its keys.
        let n = top("a: &a {k: a, z: a}\nb: &b {<<: *a, k: b}\nx: {<<: *b}\n");
        assert_eq!(flat(get(&n, "x"), Decode::V3).unwrap(), kv(&[("k", "b"), ("z", "a")]));
        // A merge of something else than mappings fails in both decoders.
        let n = top("s: &s [1]\nx: {<<: *s}\ny: {<<: [*s]}\nz: {<<: 3}\n");
        for k in ["x", "y", "z"] {
            for mode in [Decode::V3, Decode::V2Map] {
                let e = get(&n, k).map(k, mode).unwrap_err();
                assert!(e.msg.contains("map merge requires map"), "{e}");
            }
        }
        // A quoted `<<` is an ordinary key.
        let n = top("x: {'<<': {a: 1}}\n");
        assert_eq!(get(&n, "x").map("x", Decode::V3).unwrap()[0].0, "<<");
    }

    #[test]
    fn anchors_across_groups_and_alias_scalars() {
        let src = "groups:\n  - name: first\n    interval: &every 1m\n    rules:\n      - alert: A\n        expr: &e up == 0\n        for: &wait 5m\n        labels: &crit {severity: critical}\n  - name: second\n    interval: *every\n    rules:\n      - alert: B\n        expr: *e\n        for: *wait\n        labels: *crit\n";
        let n = top(src);
        let groups = get(&n, "groups").seq("groups").unwrap();
        let g2 = groups[1].fields("g", Decode::V3, &["name", "interval", "rules"]).unwrap();
        assert_eq!(g2.get("interval").unwrap().str("i").unwrap(), "1m");
        let r = &g2.get("rules").unwrap().seq("r").unwrap()[0];
        let r = r.fields("r", Decode::V3, &["alert", "expr", "for", "labels"]).unwrap();
        assert_eq!(r.get("for").unwrap().str("for").unwrap(), "5m");
        assert_eq!(flat(r.get("labels").unwrap(), Decode::V3).unwrap(), kv(&[("severity", "critical")]));
        // A yaml.Node field gets the alias itself: its value is the anchor's name.
        let (v, p) = r.get("expr").unwrap().v3_node_value("expr").unwrap();
        assert_eq!((v, p), ("e", Pos { line: 13, col: 15 }));
        assert_eq!(r.get("alert").unwrap().v3_node_value("alert").unwrap().0, "B");
        // Whole sequences alias too.
        let n = top("a: &s [x, y]\nb: *s\n");
        assert_eq!(get(&n, "b").seq("b").unwrap().len(), 2);
    }

    #[test]
    fn quoted_continuation_indented_less_than_its_key() {
        let src = "r:\n  annotations:\n    description: \"Latency on {{ $labels.instance }}\n  is {{ $value }}s,\n        above the 1s objective\"\n    single: 'a\nb'\n    folded: >-\n      p99 latency\n      too high\n    literal: |-\n      line one\n        line two\n    tab: \"a\n\tb\"\n";
        let n = top(src);
        let m = flat(get(get(&n, "r"), "annotations"), Decode::V3).unwrap();
        assert_eq!(
            m,
            kv(&[
                ("description", "Latency on {{ $labels.instance }} is {{ $value }}s, above the 1s objective"),
                ("folded", "p99 latency too high"),
                ("literal", "line one\n  line two"),
                ("single", "a b"),
                ("tab", "a b"),
            ])
        );
        // Plain scalars still end where the indentation does.
        assert!(parse("a:\n  b: x\n y\n").is_err());
    }

    #[test]
    fn tags_and_nulls() {
        let n = top("a: !!str 5\nb: !!str ~\nc: ~\nd:\ne: ''\nf: !!str\ng: null\nh: !custom x\n");
        assert_eq!(get(&n, "a").str_opt("a").unwrap(), Some("5"));
        assert_eq!(get(&n, "a").tag.as_deref(), Some("!!str"));
        assert_eq!(get(&n, "b").str_opt("b").unwrap(), Some("~"));
        assert!(get(&n, "c").is_null() && get(&n, "d").is_null() && get(&n, "g").is_null());
        assert_eq!(get(&n, "e").str_opt("e").unwrap(), Some(""));
        assert_eq!(get(&n, "f").str_opt("f").unwrap(), Some(""));
        assert_eq!(get(&n, "h").str_opt("h").unwrap(), Some("x"));
        // `!!merge <<` merges; `!!str <<` does not.
        let n = top("b: &b {k: 1}\nx: {!!merge <<: *b}\ny: {!!str <<: *b}\n");
        assert_eq!(get(&n, "x").map("x", Decode::V3).unwrap()[0].0, "k");
        assert_eq!(get(&n, "y").map("y", Decode::V3).unwrap()[0].0, "<<");
    }

    #[test]
    fn first_document_only_and_limits() {
        assert_eq!(get(&top("a: 1\n---\nb: [\n"), "a").str("a").unwrap(), "1");
        assert!(top("").is_null());
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        // saphyr-parser or the depth limit stops it, never the stack.
        assert!(parse(&deep).is_err());
        let deep = "a:\n".to_string() + &(1..1500).map(|i| format!("{}- \n", "  ".repeat(i))).collect::<String>();
        let e = parse(&deep).unwrap_err();
        assert!(e.msg.contains("max depth"), "{e}");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let p = if i == 0 { "a".to_string() } else { format!("b{}", i - 1) };
            bomb += &format!("b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n");
        }
        assert!(parse(&bomb).unwrap_err().msg.contains("excessive aliasing"));
    }
}
