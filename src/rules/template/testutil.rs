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

pub(super) fn x(t: &str, v: f64) -> String {
    Template::parse("__alert_T", t).unwrap().expand(&data(v)).unwrap()
}
