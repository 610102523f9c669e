//! The `:` prompt in the footer (a syntax error marked under its position) and the answer: the
//! query's series as a chart over the window with a table of the latest values below.

use super::panel::data_panel;
use crate::app::query::toml_block;
use crate::app::{strings as S, PanelKind, State};
use crate::tui::theme::Palette;
use crate::tui::widgets::{centered, overlay_block};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

/// The prompt over the footer row `r`; an error takes the two rows above it.
pub(super) fn prompt(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height == 0 {
        return;
    }
    let q = &state.query;
    let lead = S::QUERY_PROMPT.width();
    // Show the end of a long query: the cursor is there.
    let room = (r.width as usize).saturating_sub(lead + 1);
    let chars: Vec<char> = q.text.chars().collect();
    let skip = chars.len().saturating_sub(room);
    let shown: String = chars[skip..].iter().collect();
    f.render_widget(Clear, r);
    let hint = if q.text.is_empty() { S::QUERY_HINT } else { "" };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(S::QUERY_PROMPT, pal.title()),
            Span::raw(shown.clone()),
            Span::styled(format!(" {hint}"), pal.dim()),
        ])),
        r,
    );
    f.set_cursor_position(Position { x: r.x + (lead + shown.width()) as u16, y: r.y });
    if let Some((msg, at)) = &q.error {
        if r.y < 2 {
            return;
        }
        let above = Rect { y: r.y - 2, height: 2, ..r };
        f.render_widget(Clear, above);
        let caret = at.map(|a| {
            let col = q.text.get(..a).map_or(0, |s| s.width());
            (col + lead).saturating_sub(skip)
        });
        let mut lines = vec![Line::from(Span::styled(
            format!("✖ {}{msg}", at.map(|a| format!("column {}: ", a + 1)).unwrap_or_default()),
            pal.fg(pal.bad).add_modifier(Modifier::BOLD),
        ))];
        lines.push(match caret {
            Some(c) => Line::from(Span::styled(format!("{}^", " ".repeat(c)), pal.fg(pal.bad))),
            None => Line::raw(""),
        });
        f.render_widget(Paragraph::new(lines), above);
    }
}

/// The answer to the last query, over the dashboard.
pub(super) fn result(state: &State, pal: &Palette, f: &mut Frame, area: Rect) {
    let r = centered(area, area.width.saturating_sub(4).max(40), area.height.saturating_sub(2).max(10));
    f.render_widget(Clear, r);
    let q = &state.query;
    let expr = q.sent.clone().unwrap_or_default();
    let frame = overlay_block(pal, &format!("{} · {expr}", S::QUERY_TITLE), S::QUERY_KEYS);
    let inner = frame.inner(r);
    f.render_widget(frame, r);
    let pinned = q.pinned.contains(&expr);
    let toml = pinned.then(|| toml_block(&expr));
    let toml_rows = toml.as_ref().map_or(0, |t| t.lines().count() as u16 + 1);
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(toml_rows)]).areas(inner);
    match &q.result {
        None => f.render_widget(Paragraph::new(Span::styled(S::QUERY_RUNNING, pal.dim())), body),
        Some(res) => match &res.panel {
            Err(e) => f.render_widget(
                Paragraph::new(Span::styled(format!("✖ {e}"), pal.fg(pal.bad))).wrap(Wrap { trim: false }),
                body,
            ),
            Ok(p) => {
                let rows = (p.series.len() as u16 + 3).min(body.height / 2).max(4);
                let [chart, table] = Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(body);
                data_panel(state, pal, f, p, chart);
                let mut t = p.clone();
                t.kind = PanelKind::Table;
                t.title = "latest".into();
                t.note = None;
                data_panel(state, pal, f, &t, table);
            }
        },
    }
    if let Some(t) = toml {
        let mut lines = vec![Line::from(Span::styled("pinned until exit; to keep it, add to the config:", pal.dim()))];
        lines.extend(t.lines().map(|l| Line::from(Span::styled(l.to_string(), pal.text()))));
        f.render_widget(Paragraph::new(lines), foot);
    }
}
