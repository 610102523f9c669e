//! Panels of current values: bars (and gauges) and a table with now/min/max.

use crate::app::{strings as S, PanelData, PanelKind, PanelSeries, Unit};
use crate::tui::format;
use crate::tui::theme::Palette;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub(super) fn bars(pal: &Palette, f: &mut Frame, p: &PanelData, visible: &[(usize, &PanelSeries)], b: Block, r: Rect) {
    let label_w = visible.iter().map(|(_, s)| s.label.chars().count()).max().unwrap_or(0).min(30);
    let max = visible.iter().filter_map(|(_, s)| s.last()).fold(0.0f64, f64::max);
    let max = if p.unit == Unit::Percent && p.kind == PanelKind::Gauge { max.max(100.0) } else { max };
    let bar_w = (r.width as usize).saturating_sub(label_w + 14).max(1);
    let lines: Vec<Line> = visible
        .iter()
        .map(|(i, s)| {
            let (bar, val) = match s.last() {
                Some(v) if max > 0.0 => {
                    ("█".repeat(((v / max) * bar_w as f64).round().max(0.0) as usize), format::value(v, p.unit))
                }
                Some(v) => (String::new(), format::value(v, p.unit)),
                None => (String::new(), S::NO_DATA.to_string()),
            };
            Line::from(vec![
                Span::styled(format!("{:<label_w$} ", s.label), pal.text()),
                Span::styled(format!("{bar:<bar_w$}"), pal.series(*i)),
                Span::styled(format!(" {val}"), pal.text()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(b), r);
}

pub(super) fn table(pal: &Palette, f: &mut Frame, p: &PanelData, visible: &[(usize, &PanelSeries)], b: Block, r: Rect) {
    let rows = visible.iter().map(|(i, s)| {
        let vals = s.points.iter().filter_map(|(_, v)| *v);
        let (mn, mx) = vals.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let fmt = |v: f64| if v == f64::MAX || v == f64::MIN { "—".to_string() } else { format::value(v, p.unit) };
        Row::new(vec![
            Cell::from(s.label.clone()).style(pal.series(*i)),
            Cell::from(s.last().map(|v| format::value(v, p.unit)).unwrap_or_else(|| S::NO_DATA.into())),
            Cell::from(fmt(mn)),
            Cell::from(fmt(mx)),
        ])
        .style(pal.text())
    });
    let t = Table::new(rows, [Constraint::Fill(3), Constraint::Fill(1), Constraint::Fill(1), Constraint::Fill(1)])
        .header(Row::new(["series", "now", "min", "max"]).style(pal.dim()))
        .block(b);
    f.render_widget(t, r);
}
