//! Go's `text/template` as Prometheus 2.42 uses it for alert labels and annotations: the lexer,
//! parser and executor follow Go's `text/template` (pipelines, field chains in any argument,
//! variables with Go's scoping, `if/else if/range/with/define/template/block/break/continue`,
//! Go's comparison, logic, `printf` and escaping functions) with Prometheus's functions
//! (`humanize*`, `title`, `reReplaceAll`, `stripPort`, ...). As Prometheus does, every template
//! is parsed after the header `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}
//! {{$externalURL := .ExternalURL}}{{$value := .Value}}` (one line), so Go's errors (parse
//! errors at load time, `NAME:LINE:COL` execution errors) read the same. `query` and the
//! functions over its results parse but fail at expansion: opsdeck does not run queries from
//! templates. No maintained Rust crate implements Go's template semantics (gtmpl is unmaintained
//! and lacks Prometheus's functions and Go's number formatting), so this is a small interpreter,
//! tested against promtool's outputs.
//!
//! Layers, each using only the ones before it: `value` (the data and Go's dynamic values),
//! `lex` (text to tokens), `printf` (Go's fmt), `funcs` (the functions), `parse` (tokens to a
//! tree), `exec` (a tree and an alert's data to text); this file holds the entry points.

mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
#[cfg(test)]
mod testutil;
mod value;

pub use value::TemplateData;

use funcs::{Env, KNOWN_FUNCS};
use parse::{Item, Node, Pipeline, Tree};
use std::collections::HashMap;
use std::sync::Arc as Rc;
use value::Val;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// What Prometheus puts before every alert template (rules/alerting.go, rulefmt).
const PROM_HEADER: &str =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    /// The header and the template's text (positions in the tree index it).
    text: String,
    tree: Tree,
}

impl Template {
    /// Parse `text` as Prometheus parses an alert's label or annotation template; `name`
    /// appears in errors as Go writes them: `template: NAME:LINE: ...`.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let full = format!("{PROM_HEADER}{text}");
        let tree = parse::parse_template(name, &full).map_err(TemplateError)?;
        Ok(Template { name: name.to_string(), text: full, tree })
    }

    /// Expand with Prometheus's alert data; an error reads as Prometheus's
    /// `error executing template NAME: template: NAME:LINE:COL: executing ...`.
    pub fn expand(&self, data: &TemplateData) -> Result<String, TemplateError> {
        let dot = Val::Data(Rc::new(data.clone()));
        let env = Env { external_url: &data.external_url };
        exec::execute(&self.tree, &self.text, &self.name, dot, env)
            .map_err(|m| TemplateError(format!("error executing template {}: {m}", self.name)))
    }
}

/// Every function name a template calls (known or not), in order of appearance; empty when it
/// does not parse.
pub fn used_functions(text: &str) -> Vec<String> {
    let mut out = vec![];
    if let Ok(t) = Template::parse("t", text) {
        for (_, body) in &t.tree.defs {
            walk_items(body, &mut out);
        }
        walk_items(&t.tree.root, &mut out);
    } else {
        // Unknown functions fail the parse: name them from the parse error.
        let mut rest = text;
        while let Some(i) = rest.find("{{") {
            rest = &rest[i + 2..];
            let word: String =
                rest.trim_start_matches(['-', ' ']).chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let kw = ["if", "else", "end", "with", "range", "true", "false", "nil", "define", "template", "block"];
            if !word.is_empty() && !kw.contains(&word.as_str()) && !out.contains(&word) {
                out.push(word);
            }
        }
        if let Err(e) = Template::parse("t", text) {
            if let Some(f) = e.0.split("function \"").nth(1).and_then(|r| r.split('"').next()) {
                if !out.iter().any(|o| o == f) {
                    out.push(f.to_string());
                }
            }
        }
        out.retain(|f| KNOWN_FUNCS.contains(&f.as_str()) || text.contains(&format!("{f} ")) || text.contains(f));
    }
    out
}

fn walk_items(items: &[Item], out: &mut Vec<String>) {
    for it in items {
        match it {
            Item::Text(_) | Item::Break | Item::Continue => {}
            Item::Action(p) => walk_pipe(p, out),
            Item::Template(_, p, _) => p.iter().for_each(|p| walk_pipe(p, out)),
            Item::If(p, a, b) | Item::With(p, a, b) | Item::Range(p, a, b) => {
                walk_pipe(p, out);
                walk_items(a, out);
                walk_items(b, out);
            }
        }
    }
}

fn walk_pipe(p: &Pipeline, out: &mut Vec<String>) {
    for c in &p.cmds {
        for a in &c.args {
            walk_node(&a.node, out);
        }
    }
}

fn walk_node(n: &Node, out: &mut Vec<String>) {
    match n {
        Node::Func(f) if !out.contains(f) => out.push(f.clone()),
        Node::Pipe(p) => walk_pipe(p, out),
        Node::Chain(a, _) => walk_node(&a.node, out),
        _ => {}
    }
}

/// Names of functions a template calls that Go would reject (`function "x" not defined`).
pub fn unknown_functions(text: &str) -> Vec<String> {
    used_functions(text).into_iter().filter(|f| !KNOWN_FUNCS.contains(&f.as_str())).collect()
}

/// Parse-and-expand cache key helper: templates are parsed once per rule.
pub type Cache = HashMap<String, Template>;

#[cfg(test)]
mod tests {
    use super::testutil::data;
    use super::*;

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
            "=",
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
            "define",
            "template",
            "block",
            "break",
            "printf",
            "\"%\"",
            "\"%9999999999d\"",
            "\"%*d\"",
            "index",
            "slice",
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
            "\"t\"",
            "args",
            "toTime",
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
    fn recursion_is_bounded() {
        let t =
            Template::parse("n", "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}").unwrap();
        assert!(t.expand(&data(0.0)).unwrap_err().0.contains("exceeded maximum template depth"));
    }

    #[test]
    fn errors() {
        let e = Template::parse("__alert_T", "{{ foo $value }}").unwrap_err();
        assert_eq!(e.0, "template: __alert_T:1: function \"foo\" not defined");
        assert!(Template::parse("n", "{{ if $value }}x").is_err());
        assert!(Template::parse("n", "{{ $value ").is_err());
        let q = Template::parse("n", "{{ query \"up\" | first | value }}").unwrap().expand(&data(0.0)).unwrap_err();
        assert!(
            q.0.starts_with("error executing template n: template: n:1:115: executing \"n\" at <query \"up\">"),
            "{q}"
        );
        assert_eq!(unknown_functions("{{ humanize $value }} {{ nope 1 }}"), vec!["nope"]);
        assert_eq!(used_functions("{{ $value | humanize }}{{ if (query \"x\") }}{{ end }}"), vec!["humanize", "query"]);
    }
}
