//! The Go text/template engine of alert labels and annotations: parse (with Prometheus's header
//! prepended) and expand with an alert's data, plus the function scan `rules check` uses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::rules::template::{self, Template, TemplateData};

const VALUES: &[f64] = &[0.25, 1e21, -3.0, f64::NAN, f64::INFINITY, 0.0, 1234.5678, 5e-324];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = template::used_functions(text);
    let _ = template::unknown_functions(text);
    let Ok(t) = Template::parse("fuzz", text) else { return };
    let labels = [("alertname", "HighLatency"), ("instance", "api-1:9090"), ("job", "api"), ("path", "/a b\"c")];
    let d = TemplateData {
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        external_labels: vec![("cluster".into(), "eu-1".into())],
        external_url: "http://prometheus.example:9090/".into(),
        value: VALUES[data.len() % VALUES.len()],
    };
    let _ = t.expand(&d);
});
