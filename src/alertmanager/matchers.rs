//! Silence matchers as a user types them (`alertname="X", env!="dev", job=~"api|web"`, braces
//! optional, as amtool and Alertmanager's UI take them) and how Alertmanager applies them: a
//! regex is anchored at both ends, a missing label is the empty string.

use crate::model::{MatchOp, Matcher};

/// Parse a comma-separated matcher list; the error names the 1-based column.
pub fn parse(src: &str) -> Result<Vec<Matcher>, String> {
    let s = src.trim();
    let s = s.strip_prefix('{').map(|x| x.strip_suffix('}').unwrap_or(x)).unwrap_or(s);
    let offset = src.find(s).unwrap_or(0);
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |at: usize, what: &str| format!("column {}: {what}", offset + at + 1);
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        if i == start || b[start].is_ascii_digit() {
            return Err(err(start, "expected a label name"));
        }
        let name = s[start..i].to_string();
        skip_ws(&mut i);
        let op = match (b.get(i), b.get(i + 1)) {
            (Some(b'='), Some(b'~')) => (MatchOp::Re, 2),
            (Some(b'!'), Some(b'~')) => (MatchOp::NotRe, 2),
            (Some(b'!'), Some(b'=')) => (MatchOp::Ne, 2),
            (Some(b'='), _) => (MatchOp::Eq, 1),
            _ => return Err(err(i, "expected =, !=, =~ or !~")),
        };
        i += op.1;
        skip_ws(&mut i);
        let value = if b.get(i) == Some(&b'"') {
            let mut v = String::new();
            let mut j = i + 1;
            let mut closed = false;
            let mut chars = s[j..].char_indices();
            while let Some((k, c)) = chars.next() {
                match c {
                    '"' => {
                        j += k + 1;
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => v.push('\n'),
                        Some((_, c)) => v.push(c),
                        None => break,
                    },
                    c => v.push(c),
                }
            }
            if !closed {
                return Err(err(i, "unterminated quoted value"));
            }
            i = j;
            v
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            s[start..i].trim().to_string()
        };
        if matches!(op.0, MatchOp::Re | MatchOp::NotRe) {
            if let Err(e) = anchored(&value) {
                return Err(err(i.saturating_sub(1), &format!("bad regex {value:?}: {e}")));
            }
        }
        out.push(Matcher { name, op: op.0, value });
        skip_ws(&mut i);
        match b.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => return Err(err(i, "expected a comma between matchers")),
        }
    }
    if out.is_empty() {
        return Err("at least one matcher is needed".into());
    }
    if out.iter().all(matches_empty) {
        // Alertmanager refuses a silence that would match every alert.
        return Err("these matchers would match every alert: add one that needs a label".into());
    }
    Ok(out)
}

/// Go's `regexp` anchoring, as Alertmanager's: `^(?:re)$` (no `(?s)`, unlike PromQL's).
fn anchored(re: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{re})$"))
}

fn matches_empty(m: &Matcher) -> bool {
    Selector::new(std::slice::from_ref(m)).matches(&[])
}

/// Matchers with their regexes compiled once, to test many label sets.
pub struct Selector(Vec<(Matcher, Option<regex::Regex>)>);

impl Selector {
    /// A regex that does not compile matches nothing (`parse` refuses those before).
    pub fn new(ms: &[Matcher]) -> Selector {
        Selector(
            ms.iter()
                .map(|m| {
                    (m.clone(), matches!(m.op, MatchOp::Re | MatchOp::NotRe).then(|| anchored(&m.value).ok()).flatten())
                })
                .collect(),
        )
    }

    /// Whether every matcher matches these labels (as Alertmanager decides what a silence
    /// mutes); a missing label is the empty string.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        self.0.iter().all(|(m, re)| {
            let v = labels.iter().find(|(k, _)| *k == m.name).map(|(_, v)| v.as_str()).unwrap_or("");
            match m.op {
                MatchOp::Eq => v == m.value,
                MatchOp::Ne => v != m.value,
                MatchOp::Re => re.as_ref().is_some_and(|r| r.is_match(v)),
                MatchOp::NotRe => re.as_ref().is_some_and(|r| !r.is_match(v)),
            }
        })
    }
}

/// The matchers that silence exactly these labels.
pub fn equal_all(labels: &[(String, String)]) -> Vec<Matcher> {
    labels.iter().map(|(k, v)| Matcher { name: k.clone(), op: MatchOp::Eq, value: v.clone() }).collect()
}

/// `equal_all` as the form prefills it.
pub fn exact(labels: &[(String, String)]) -> String {
    equal_all(labels).iter().map(Matcher::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_every_operator_with_or_without_braces() {
        let m = parse(r#"{alertname="A", env!="dev", job=~"api|web", x!~"y.*"}"#).unwrap();
        let ops: Vec<_> = m.iter().map(|m| m.op).collect();
        assert_eq!(ops, vec![MatchOp::Eq, MatchOp::Ne, MatchOp::Re, MatchOp::NotRe]);
        assert_eq!(m[2].value, "api|web");
        assert_eq!(parse("alertname=A").unwrap()[0].value, "A");
        assert_eq!(parse(r#"a="q\"uote""#).unwrap()[0].value, "q\"uote");
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(parse(r#"alertname "A""#).unwrap_err(), "column 11: expected =, !=, =~ or !~");
        assert!(parse(r#"a="x"  b="y""#).unwrap_err().starts_with("column 8:"));
        assert!(parse(r#"a=~"(""#).unwrap_err().contains("bad regex"));
        assert!(parse("").is_err());
        assert!(parse(r#"a=~".*""#).unwrap_err().contains("every alert"));
    }

    #[test]
    fn matching_is_anchored_and_missing_labels_are_empty() {
        let labels = l(&[("alertname", "HighErrorRate"), ("env", "prod")]);
        let matches = |ms: &[Matcher], labels: &[(String, String)]| Selector::new(ms).matches(labels);
        assert!(matches(&parse(r#"alertname=~"High.*""#).unwrap(), &labels));
        assert!(!matches(&parse(r#"alertname=~"High""#).unwrap(), &labels));
        assert!(matches(&parse(r#"alertname="HighErrorRate", team!="db""#).unwrap(), &labels));
        assert!(!matches(&parse(r#"alertname="HighErrorRate", env!~"prod|staging""#).unwrap(), &labels));
        assert!(matches(&parse(&exact(&labels)).unwrap(), &labels));
    }
}
