//! Panels as evaluated: series over the window, in a unit, drawn as a kind of chart. How values
//! are formatted is the view's (`tui::format`).

use super::Millis;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    S,
    Ms,
    #[serde(rename = "%")]
    Percent,
    Bytes,
    #[serde(rename = "USD")]
    Usd,
    /// A rate: "12.5/s".
    #[serde(rename = "/s")]
    PerSec,
    #[default]
    Plain,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    #[default]
    Line,
    Bars,
    Gauge,
    Table,
}

/// One line on a chart (or one row of a table / bar).
#[derive(Debug, Clone)]
pub struct PanelSeries {
    /// Legend text, e.g. "production p95".
    pub label: String,
    /// Which environment it belongs to, for colouring and the one-environment filter.
    pub env: Option<String>,
    /// Points over the window; `None` is a gap (stale or missing), never drawn as zero.
    pub points: Vec<(Millis, Option<f64>)>,
}

impl PanelSeries {
    pub fn last(&self) -> Option<f64> {
        self.points.iter().rev().find_map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone)]
pub struct PanelData {
    /// Stable id: "overview", "errors", "latency", "scrapers", "business", or "user:N".
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub kind: PanelKind,
    pub series: Vec<PanelSeries>,
    /// A threshold line (e.g. HighErrorRate's 5%) in the panel's unit.
    pub threshold: Option<(String, f64)>,
    /// Why there is nothing to draw: "no data: target down since 10:42", or a query error.
    pub note: Option<String>,
}

/// The engine's answer to an ad-hoc query (`:`): its series over the window as a panel, or why not.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub expr: String,
    pub panel: Result<PanelData, String>,
}
