//! Frames shared by the dashboard's panels and dialogs: a panel's border (focus marked), a centred
//! overlay box with a title and a key hint, and a dialog's `key  value` lines.

use super::theme::Palette;
use crate::app::confirm::Fact;
use crate::app::State;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

/// A panel frame: the focused one is marked with ▶ and a bold border, not only a colour.
pub(super) fn block<'a>(state: &State, pal: &Palette, id: &str, title: String) -> Block<'a> {
    block_spans(state, pal, id, vec![Span::styled(title, pal.title())])
}

pub(super) fn block_spans<'a>(state: &State, pal: &Palette, id: &str, mut title: Vec<Span<'a>>) -> Block<'a> {
    let focused = state.ui.focus == id;
    title.insert(0, Span::styled(if focused { " ▶ " } else { " " }, pal.title()));
    title.push(Span::raw(" "));
    Block::bordered().border_style(pal.border(focused)).title(Line::from(title))
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

pub(super) fn overlay_block<'a>(pal: &Palette, title: &str, bottom: &str) -> Block<'a> {
    Block::bordered()
        .border_style(pal.border(true))
        .title(Span::styled(format!(" {title} "), pal.title()))
        .title_bottom(Line::from(Span::styled(format!(" {bottom} "), pal.dim())).right_aligned())
}

/// `key  value` lines of a dialog; a strong value in the title style, a mark as a warning after it.
pub(super) fn fact_lines<'a>(pal: &Palette, facts: &[Fact]) -> Vec<Line<'a>> {
    facts
        .iter()
        .map(|fact| {
            let mut spans = vec![
                Span::styled(format!("{:<10}", fact.key), pal.dim()),
                Span::styled(fact.value.clone(), if fact.strong { pal.title() } else { pal.text() }),
            ];
            if let Some(mark) = fact.mark {
                spans.push(Span::styled(format!(" {mark}"), pal.fg(pal.warn).add_modifier(Modifier::BOLD)));
            }
            Line::from(spans)
        })
        .collect()
}

/// Rows `text` takes when word-wrapped to `width` columns (as the dialogs' `Wrap` lays it out).
pub(super) fn wrapped_rows(text: &str, width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let (mut rows, mut used) = (1u16, 0usize);
    for word in text.split(' ') {
        let w = word.chars().count();
        if used > 0 && used + 1 + w > width {
            rows += 1;
            used = 0;
        }
        used += if used > 0 { 1 + w } else { w };
        while used > width {
            rows += 1;
            used -= width;
        }
    }
    rows
}
