//! A data panel's frame (title, window, threshold crossing in words, no-data note), drawn by its
//! kind: line chart, bars/gauge or table.

use super::chart::line_chart;
use super::values::{bars, table};
use crate::app::{strings as S, PanelData, PanelKind, PanelSeries, State};
use crate::tui::format;
use crate::tui::theme::Palette;
use crate::tui::widgets::block_spans;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Lines one chart draws at most.
const TOP_SERIES: usize = 10;

pub(super) fn data_panel(state: &State, pal: &Palette, f: &mut Frame, p: &PanelData, r: Rect) {
    let mut visible: Vec<(usize, &PanelSeries)> =
        p.series.iter().enumerate().filter(|(_, s)| state.env_visible(s.env.as_deref())).collect();
    // A fleet-wide query can return hundreds of lines: a chart shows the top ones by their latest
    // value and says how many it left out.
    let more = visible.len().saturating_sub(TOP_SERIES);
    if more > 0 && p.kind == PanelKind::Line {
        visible.sort_by(|a, b| b.1.last().unwrap_or(f64::MIN).total_cmp(&a.1.last().unwrap_or(f64::MIN)));
        visible.truncate(TOP_SERIES);
        visible.sort_by_key(|(i, _)| *i);
    }
    let crossed = p.threshold.as_ref().is_some_and(|(name, t)| {
        visible.iter().any(|(_, s)| threshold_applies(name, s, &visible) && s.last().is_some_and(|v| v > *t))
    });
    let mut rest = format!(" · {}", crate::duration::format(state.ui.window));
    if let Some(env) = state.selected_env_name() {
        rest.push_str(&format!(" · {env}"));
    }
    let mut spans = vec![Span::styled(p.title.clone(), pal.title())];
    if crossed {
        // Said in words next to the title, so it survives narrow columns and no colour.
        let (_, t) = p.threshold.as_ref().expect("crossed implies a threshold");
        let warn = format!(" ⚠ over {}", format::value(*t, p.unit));
        spans.push(Span::styled(warn, pal.fg(pal.bad).add_modifier(Modifier::BOLD)));
    }
    spans.push(Span::styled(rest, pal.title()));
    if more > 0 && p.kind == PanelKind::Line {
        spans.push(Span::styled(format!(" · top {TOP_SERIES}, +{more} more"), pal.dim()));
    }
    let mut b = block_spans(state, pal, &p.id, spans);
    let has_data = visible.iter().any(|(_, s)| s.points.iter().any(|(_, v)| v.is_some()));
    if !has_data {
        let note = p.note.clone().unwrap_or_else(|| S::NO_DATA.to_string());
        let lines = vec![Line::raw(""), Line::from(Span::styled(note, pal.dim()))];
        f.render_widget(Paragraph::new(lines).alignment(Alignment::Center).wrap(Wrap { trim: true }).block(b), r);
        return;
    }
    if let Some(note) = &p.note {
        b = b.title_bottom(Line::from(Span::styled(format!(" {note} "), pal.fg(pal.warn))));
    }
    match p.kind {
        PanelKind::Line => line_chart(state, pal, f, p, &visible, b, r),
        PanelKind::Bars | PanelKind::Gauge => bars(pal, f, p, &visible, b, r),
        PanelKind::Table => table(pal, f, p, &visible, b, r),
    }
}

/// Which series a threshold is about: "SlowResponseTime p95 2s" concerns the series labelled
/// "… p95", not p50 or p99; a name sharing no word with any label concerns them all.
fn threshold_applies(name: &str, s: &PanelSeries, all: &[(usize, &PanelSeries)]) -> bool {
    let has = |label: &str, w: &str| label.split_whitespace().any(|x| x == w);
    let mut tokens = name.split_whitespace().filter(|w| all.iter().any(|(_, o)| has(&o.label, w))).peekable();
    tokens.peek().is_none() || tokens.any(|w| has(&s.label, w))
}
