//! Helpers of the template module's unit tests: one alert's data and a parse-and-expand.

use super::{Template, TemplateData};

pub(super) fn data(v: f64) -> TemplateData {
    TemplateData {
        labels: vec![("instance".into(), "web-1:9090".into()), ("job".into(), "api".into())],
        external_labels: vec![("cluster".into(), "eu1".into())],
        external_url: "http://opsdeck".into(),
        value: v,
    }
}

/// Expand `t` as Prometheus expands an alert's annotation; panics on an error.
pub(super) fn x(t: &str, v: f64) -> String {
    match Template::parse("__alert_T", t).unwrap().expand(&data(v)) {
        Ok(s) => s,
        Err(e) => panic!("{t}: {e}"),
    }
}

/// The execution error of `t`, without Prometheus's `error executing template NAME: ` prefix.
pub(super) fn xerr(t: &str, v: f64) -> String {
    let e = Template::parse("__alert_T", t).unwrap().expand(&data(v)).expect_err(t).0;
    e.strip_prefix("error executing template __alert_T: ").unwrap_or(&e).to_string()
}

/// The parse error of `t`, as Go's parser writes it.
pub(super) fn parse_err(t: &str) -> String {
    Template::parse("__alert_T", t).expect_err(t).0
}
