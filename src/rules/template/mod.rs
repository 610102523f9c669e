//! The subset of Go's text/template that Prometheus rule files use in labels and annotations:
//! `{{ $value }}`, `{{ $labels.x }}`, `{{ .Labels.x }}`, `{{ $externalLabels.x }}`, pipelines,
//! `if/else if/else/end`, `with`, variables, comparisons, and Prometheus's functions
//! (`humanize*`, `printf`, `title`, `toUpper`, `toLower`, ...). `query` and the functions over
//! its results parse but fail at expansion with a clear error: opsdeck does not run queries from
//! templates. No maintained Rust crate implements Go's template semantics (gtmpl is unmaintained
//! and lacks Prometheus's functions and Go's `%v` float output), so this is a small parser and
//! interpreter, tested against Prometheus's outputs.
//!
//! Layers, each using only the ones before it: `value` (the data and Go's dynamic values),
//! `lex` (an action's tokens), `funcs` (the functions), `parse` (text to a tree of items),
//! `exec` (a tree and an alert's data to text); this file holds the entry points.

mod exec;
mod funcs;
mod lex;
mod parse;
#[cfg(test)]
mod testutil;
mod value;

pub use value::TemplateData;

use funcs::KNOWN_FUNCS;
use lex::{lex_action, Tok};
use parse::Item;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    items: Vec<Item>,
}

impl Template {
    /// Parse `text`; `name` appears in errors as Go writes them: `template: NAME:LINE: ...`.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let items = parse::parse_template(name, text).map_err(TemplateError)?;
        Ok(Template { name: name.to_string(), items })
    }

    /// Expand with Prometheus's alert data: `$labels`, `$externalLabels`, `$externalURL`, `$value`.
    pub fn expand(&self, data: &TemplateData) -> Result<String, TemplateError> {
        exec::expand(&self.name, &self.items, data).map_err(|m| TemplateError(format!("template: {}: {m}", self.name)))
    }
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
