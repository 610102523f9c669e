//! Drawing the `d` dialog's version picker (state and keys: `app::deploy_dialog`; its
//! confirmation is drawn by `confirm`).

use super::theme::Palette;
use super::widgets::{centered, fact_lines, overlay_block};
use crate::app::deploy_dialog::{self as D, DeployDialog};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Picker rows shown at once; the list scrolls to keep the selection visible.
const ROWS: usize = 10;

pub fn draw(pal: &Palette, f: &mut Frame, area: Rect, d: &DeployDialog) {
    let key = |k: &str| Span::styled(format!("{k:<10}"), pal.dim());
    let mut lines = fact_lines(pal, &d.facts());
    lines.push(Line::from(vec![key("filter"), Span::styled(d.filter.clone(), pal.text()), Span::raw("▏")]));
    lines.push(Line::raw(""));
    let shown = d.filtered();
    if d.versions.is_empty() {
        lines.push(Line::from(Span::styled(D::NO_VERSIONS, pal.fg(pal.warn))));
    } else if shown.is_empty() {
        lines.push(Line::from(Span::styled(D::NO_MATCH, pal.dim())));
    }
    let sel = d.sel;
    let start = (sel + 1).saturating_sub(ROWS);
    for (i, v) in shown.iter().enumerate().skip(start).take(ROWS) {
        lines.push(if i == sel {
            Line::from(Span::styled(format!("▶ {v}"), pal.selected()))
        } else {
            Line::from(Span::styled(format!("  {v}"), pal.text()))
        });
    }
    if shown.len() > start + ROWS {
        lines.push(Line::from(Span::styled(format!("  … {} more", shown.len() - start - ROWS), pal.dim())));
    }
    let w = 64u16;
    // Plus the border.
    let h = lines.len() as u16 + 2;
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let title = format!("{} to {}", D::TITLE, d.env);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(overlay_block(pal, &title, D::PICK_HINT)),
        r,
    );
}
