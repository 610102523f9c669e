//! Drawing a confirmation (`app::confirm`): what it is about, then the y/N question or, for a
//! protected environment, the prompt to type its name; a warning note under it.

use super::theme::Palette;
use super::widgets::{centered, fact_lines, overlay_block, wrapped_rows};
use crate::app::confirm::{protected_prompt, Confirm};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

const WIDTH: u16 = 64;

pub fn draw(pal: &Palette, f: &mut Frame, area: Rect, c: &Confirm) {
    let mut lines = fact_lines(pal, &c.facts);
    lines.push(Line::raw(""));
    match &c.protected {
        Some(name) => {
            lines.push(Line::from(Span::styled(protected_prompt(name), pal.fg(pal.warn))));
            lines.push(Line::from(vec![Span::styled("> ", pal.title()), Span::raw(c.typed.clone()), Span::raw("▏")]));
        }
        None => {
            lines.push(Line::from(Span::styled(c.question.clone(), pal.title().add_modifier(Modifier::BOLD))));
        }
    }
    // Rows beyond one per line: a long question's wrapped rows, the note's, and a blank row under it.
    let mut extra = if c.protected.is_none() { wrapped_rows(&c.question, WIDTH - 2) - 1 } else { 0 };
    if let Some(note) = &c.note {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(note.clone(), pal.fg(pal.warn))));
        extra += wrapped_rows(note, WIDTH - 2);
    }
    let h = lines.len() as u16 + extra + 2;
    let r = centered(area, WIDTH, h);
    f.render_widget(Clear, r);
    let block = overlay_block(pal, &c.title, &c.hint());
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), r);
}
