//! Frames shared by the dashboard's panels and dialogs: a panel's border (focus marked), and a
//! centred overlay box with a title and a key hint.

use super::theme::Palette;
use crate::app::State;
use ratatui::layout::Rect;
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
