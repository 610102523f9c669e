//! Overlays over the dashboard: the key help (from the keymap itself) and the silence picker.

use crate::app::keymap::{refused_read_only, KEYMAP};
use crate::app::{strings as S, State, SILENCES};
use crate::tui::theme::Palette;
use crate::tui::widgets::{centered, overlay_block};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

/// The key list; in read-only mode the keys that would change something are marked ✖ and dimmed.
pub(super) fn help(pal: &Palette, f: &mut Frame, area: Rect, read_only: bool) {
    let per_col = KEYMAP.len().div_ceil(2);
    let entry = |i: usize| -> Vec<Span<'static>> {
        KEYMAP.get(i).map_or_else(Vec::new, |b| {
            if read_only && refused_read_only(b.action) {
                return vec![
                    Span::styled(format!("{:>6}  ", b.label), pal.dim()),
                    Span::styled(format!("✖ {:<30}", b.help), pal.dim()),
                ];
            }
            let mark = if read_only { "  " } else { "" };
            vec![
                Span::styled(format!("{:>6}  ", b.label), pal.title()),
                Span::styled(format!("{mark}{:<30}", b.help), pal.text()),
            ]
        })
    };
    let lines: Vec<Line> = (0..per_col)
        .map(|i| {
            let mut s = entry(i);
            s.extend(entry(i + per_col));
            Line::from(s)
        })
        .collect();
    let (w, footer) = if read_only {
        (84, format!("{} · {}", S::HELP_READ_ONLY, S::HELP_FOOTER))
    } else {
        (80, S::HELP_FOOTER.to_string())
    };
    let r = centered(area, w, per_col as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(overlay_block(pal, S::HELP, &footer)), r);
}

pub(super) fn silence_picker(state: &State, pal: &Palette, f: &mut Frame, area: Rect, sel: usize) {
    let name = state.selected_alert().map(|a| a.name.clone()).unwrap_or_default();
    let lines: Vec<Line> = SILENCES
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let t = format!("  {}  ", crate::duration::format(*d));
            if i == sel {
                Line::from(Span::styled(format!("▶{t}"), pal.selected()))
            } else {
                Line::from(Span::styled(format!(" {t}"), pal.text()))
            }
        })
        .collect();
    let r = centered(area, 40, SILENCES.len() as u16 + 2);
    f.render_widget(Clear, r);
    let title = format!("{} {name}", S::SILENCE_PICKER);
    f.render_widget(Paragraph::new(lines).block(overlay_block(pal, &title, "j/k Enter Esc")), r);
}
