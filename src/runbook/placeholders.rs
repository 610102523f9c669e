//! Label placeholders in a runbook, filled from the alert's labels before the markdown is parsed:
//! `{{ $labels.env }}`, `{{$labels.env}}`, `{{ .Labels.env }}` (Prometheus and Alertmanager
//! template spellings) and a bare `$labels.env`.
//!
//! A label the alert does not have keeps its placeholder visible. Prometheus would print an empty
//! string (or `<no value>`), but in a runbook that silently turns `kubectl -n $labels.ns get pods`
//! into a command for the wrong namespace; a visible `$labels.ns` tells the reader what to fill.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{-?\s*(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}|\$labels\.([A-Za-z_][A-Za-z0-9_]*)")
        .expect("a valid pattern")
});

/// `text` with every placeholder of a label in `labels` replaced by the label's value.
pub fn fill<'a>(text: &'a str, labels: &[(String, String)]) -> Cow<'a, str> {
    PLACEHOLDER.replace_all(text, |c: &Captures<'_>| {
        let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        match labels.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v.clone(),
            None => c[0].to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<(String, String)> {
        vec![("env".into(), "sandbox".into()), ("team".into(), "blue-owls".into())]
    }

    #[test]
    fn every_spelling_is_filled() {
        let md = "Drain the {{ $labels.env }} queue, page team $labels.team.\n\
                  {{$labels.env}} / {{ .Labels.team }} / {{- $labels.env -}}";
        assert_eq!(fill(md, &labels()), "Drain the sandbox queue, page team blue-owls.\nsandbox / blue-owls / sandbox");
    }

    #[test]
    fn a_missing_label_stays_visible_and_plain_text_is_untouched() {
        assert_eq!(
            fill("kubectl -n $labels.ns and {{ $labels.ns }}", &labels()),
            "kubectl -n $labels.ns and {{ $labels.ns }}"
        );
        assert!(matches!(fill("no placeholders, $HOME stays", &labels()), Cow::Borrowed(_)));
        // `$labels.envx` is another label, not `env` followed by `x`.
        assert_eq!(fill("$labels.envx", &labels()), "$labels.envx");
    }
}
