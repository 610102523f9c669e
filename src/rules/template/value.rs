//! What templates compute with: `TemplateData` (the alert a template is expanded for) and `Val`,
//! the dynamically typed value of Go's templates with Go's truthiness, `fmt.Sprint` output and
//! float conversion. A leaf of the template module: the parser's literals, the executor and the
//! functions all use these, so they live below all three.

use crate::rules::gofmt;

/// What a template sees: the alert's labels, value and the external labels/URL.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    pub labels: Vec<(String, String)>,
    pub external_labels: Vec<(String, String)>,
    pub external_url: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    Nil,
    Str(String),
    F64(f64),
    Int(i64),
    Bool(bool),
    Map(Vec<(String, String)>),
}

impl Val {
    pub(super) fn truth(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Str(s) => !s.is_empty(),
            Val::F64(f) => *f != 0.0,
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Map(m) => !m.is_empty(),
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
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
    pub(super) fn print(&self) -> String {
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

    pub(super) fn to_float(&self) -> Result<f64, String> {
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

/// Index a label map as Go indexes a `map[string]string`.
pub(super) fn map_get(m: &[(String, String)], k: &str) -> Val {
    // Go's map[string]string with missingkey=zero: a missing key is "".
    Val::Str(m.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default())
}
