//! The built-in panels (design §4's reference app) and user `[[panel]]`s: PromQL range queries
//! evaluated when data arrives — never per frame — into `PanelData` snapshots for the view.
//! The query itself is a parameter, so the same definitions run on the local store or a remote
//! Prometheus-compatible server.

use crate::model::{Millis, PanelData, PanelKind, PanelSeries, Unit};
use crate::tsdb::Labels;

/// One query of a panel and how its series are named in the legend: `{label}` is replaced by
/// that label's value.
#[derive(Debug, Clone)]
pub struct QueryDef {
    pub expr: String,
    pub legend: String,
}

#[derive(Debug, Clone)]
pub struct PanelDef {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub kind: PanelKind,
    pub queries: Vec<QueryDef>,
    pub threshold: Option<(String, f64)>,
}

fn q(expr: String, legend: &str) -> QueryDef {
    QueryDef { expr, legend: legend.into() }
}

/// The reference app's panels. `rate_window` is the range of `rate()`: at least four scrapes.
pub fn builtin(rate_window: &str) -> Vec<PanelDef> {
    let r = rate_window;
    // `or ... * 0` keeps an environment with no 5xx at all at 0% instead of a gap.
    let errors = format!(
        "100 * (sum by (env) (rate(http_requests_total{{status=~\"5..\"}}[{r}])) \
         or sum by (env) (rate(http_requests_total[{r}])) * 0) \
         / sum by (env) (rate(http_requests_total[{r}]))"
    );
    let quantile = |qv: &str| {
        format!("histogram_quantile({qv}, sum by (env, le) (rate(http_request_duration_seconds_bucket[{r}])))")
    };
    vec![
        PanelDef {
            id: "errors".into(),
            title: "Error rate (5xx %)".into(),
            unit: Unit::Percent,
            kind: PanelKind::Line,
            queries: vec![q(errors, "{env}")],
            threshold: Some(("HighErrorRate".into(), 5.0)),
        },
        PanelDef {
            id: "latency".into(),
            title: "Latency p50 / p95 / p99".into(),
            unit: Unit::S,
            kind: PanelKind::Line,
            queries: vec![
                q(quantile("0.5"), "{env} p50"),
                q(quantile("0.95"), "{env} p95"),
                q(quantile("0.99"), "{env} p99"),
            ],
            threshold: Some(("SlowResponseTime (p95)".into(), 2.0)),
        },
        PanelDef {
            id: "scrapers".into(),
            title: "Scrapers: requests/s by platform".into(),
            unit: Unit::PerSec,
            kind: PanelKind::Line,
            queries: vec![
                q(format!("sum by (env) (rate(scraper_requests_total{{status!=\"error\"}}[{r}]))"), "{env} ok"),
                q(
                    format!("sum by (env, platform) (rate(scraper_requests_total{{status=\"error\"}}[{r}]))"),
                    "{env} {platform} err",
                ),
            ],
            threshold: None,
        },
        PanelDef {
            id: "scraper_errors".into(),
            title: "Scraper error ratio by platform".into(),
            unit: Unit::Percent,
            kind: PanelKind::Table,
            queries: vec![q(
                format!(
                    "100 * (sum by (env, platform) (rate(scraper_requests_total{{status=\"error\"}}[{r}])) \
                     or sum by (env, platform) (rate(scraper_requests_total[{r}])) * 0) \
                     / sum by (env, platform) (rate(scraper_requests_total[{r}]))"
                ),
                "{env} {platform}",
            )],
            threshold: None,
        },
        PanelDef {
            id: "active_scrapers".into(),
            title: "Active scrapers".into(),
            unit: Unit::Plain,
            kind: PanelKind::Line,
            queries: vec![q("sum by (env) (active_scrapers)".into(), "{env}")],
            threshold: None,
        },
        PanelDef {
            id: "ai_requests".into(),
            title: "AI requests/s by provider".into(),
            unit: Unit::PerSec,
            kind: PanelKind::Bars,
            queries: vec![q(
                format!("sum by (env, provider, status) (rate(ai_requests_total[{r}]))"),
                "{env} {provider} {status}",
            )],
            threshold: None,
        },
        PanelDef {
            id: "ai_cost".into(),
            title: "AI cost, USD per hour".into(),
            unit: Unit::Usd,
            kind: PanelKind::Line,
            queries: vec![q(format!("sum by (env, provider) (rate(ai_cost_total[{r}])) * 3600"), "{env} {provider}")],
            threshold: None,
        },
    ]
}

/// User panels from the config: the legend is every label of the result.
pub fn user(panels: &[crate::config::PanelConfig]) -> Vec<PanelDef> {
    panels
        .iter()
        .enumerate()
        .map(|(i, p)| PanelDef {
            id: format!("user:{i}"),
            title: p.title.clone(),
            unit: p.unit,
            kind: p.kind,
            queries: vec![QueryDef { expr: p.expr.clone(), legend: String::new() }],
            threshold: None,
        })
        .collect()
}

/// `{env} {platform}` → "production twitter". An empty template lists every label but the name.
pub fn legend(template: &str, labels: &Labels) -> String {
    if template.is_empty() {
        let s: Vec<String> = labels.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| format!("{k}={v}")).collect();
        let text = if s.is_empty() { labels.name().unwrap_or("value").to_string() } else { s.join(" ") };
        return crate::sanitize::line(&text).into_owned();
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                let name = &rest[start + 1..start + end];
                out.push_str(labels.get(name).unwrap_or(""));
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    crate::sanitize::line(out.split_whitespace().collect::<Vec<_>>().join(" ").as_str()).into_owned()
}

/// The window of one evaluation: `points` steps ending at `end`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Millis,
    pub end: Millis,
    pub step: Millis,
}

impl Window {
    pub fn ending_at(end: Millis, length_ms: Millis, points: i64) -> Window {
        // Ends at `now`, not at a step boundary: the newest data is on screen as soon as it exists.
        let step = (length_ms / points.max(1)).max(1000);
        Window { start: end - length_ms, end, step }
    }

    /// As `ending_at`, with a step no finer than the scrape `interval`: a finer one shows nothing
    /// more and costs a whole evaluation of every panel per extra point.
    pub fn ending_at_every(end: Millis, length_ms: Millis, points: i64, interval: Millis) -> Window {
        let w = Window::ending_at(end, length_ms, points);
        Window { step: w.step.max(interval), ..w }
    }

    pub fn steps(&self) -> impl Iterator<Item = Millis> {
        let (start, end, step) = (self.start, self.end, self.step);
        (0..).map(move |i| start + i * step).take_while(move |t| *t <= end)
    }
}

/// Raw result of one range query: series with (time, value) points.
pub type RangeResult = Vec<(Labels, Vec<(Millis, f64)>)>;

/// How a panel's note starts when its query failed.
pub const QUERY_ERROR: &str = "query error";

/// Evaluate panels with `query(expr, window)`. Missing steps become gaps (`None`), never zeros.
pub fn evaluate<F>(defs: &[PanelDef], window: Window, mut query: F) -> Vec<PanelData>
where
    F: FnMut(&str, Window) -> Result<RangeResult, String>,
{
    defs.iter()
        .map(|def| {
            let mut series = Vec::new();
            let mut errors = Vec::new();
            for qd in &def.queries {
                match query(&qd.expr, window) {
                    Ok(result) => {
                        for (labels, pts) in result {
                            series.push(PanelSeries {
                                label: legend(&qd.legend, &labels),
                                env: labels.get("env").map(str::to_string),
                                points: fill_gaps(&pts, window),
                            });
                        }
                    }
                    Err(e) => errors.push(crate::sanitize::line(&e).into_owned()),
                }
            }
            series.sort_by(|a, b| a.label.cmp(&b.label));
            let note = if !errors.is_empty() {
                Some(format!("{QUERY_ERROR}: {}", errors.join("; ")))
            } else if series.iter().all(|s| s.points.iter().all(|(_, v)| v.is_none())) {
                Some("no data".into())
            } else {
                None
            };
            PanelData {
                id: def.id.clone(),
                title: def.title.clone(),
                unit: def.unit,
                kind: def.kind,
                series,
                threshold: def.threshold.clone(),
                note,
            }
        })
        .collect()
}

fn fill_gaps(pts: &[(Millis, f64)], w: Window) -> Vec<(Millis, Option<f64>)> {
    let mut it = pts.iter().peekable();
    w.steps()
        .map(|t| {
            while it.peek().is_some_and(|(pt, _)| *pt < t) {
                it.next();
            }
            match it.peek() {
                Some((pt, v)) if *pt == t && v.is_finite() => (t, Some(*v)),
                _ => (t, None),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legend_substitutes_labels() {
        let l = Labels::from_pairs([("env", "production"), ("platform", "reddit")]);
        assert_eq!(legend("{env} {platform} err", &l), "production reddit err");
        assert_eq!(legend("{env} {missing}", &l), "production");
        assert_eq!(legend("", &l), "env=production platform=reddit");
    }

    #[test]
    fn gaps_are_none_not_zero() {
        let w = Window { start: 0, end: 4000, step: 1000 };
        let got = fill_gaps(&[(0, 1.0), (2000, 3.0), (4000, f64::NAN)], w);
        assert_eq!(got, vec![(0, Some(1.0)), (1000, None), (2000, Some(3.0)), (3000, None), (4000, None)]);
    }

    #[test]
    fn window_ends_now() {
        let w = Window::ending_at(1_000_500, 300_000, 100);
        assert_eq!(w.step, 3000);
        assert_eq!(w.end, 1_000_500);
        assert_eq!(w.steps().count(), 101);
    }

    #[test]
    fn query_errors_become_notes() {
        let defs = user(&[crate::config::PanelConfig {
            title: "t".into(),
            expr: "bad(".into(),
            unit: Unit::Plain,
            kind: PanelKind::Line,
        }]);
        let w = Window { start: 0, end: 1000, step: 1000 };
        let out = evaluate(&defs, w, |_, _| Err("parse error at 1:5".into()));
        assert!(out[0].note.as_deref().unwrap().contains("1:5"));
    }
}
