//! Drawing the `d` dialog (state and keys: `app::deploy_dialog`): the version picker, then the
//! confirmation. Both say plainly that only the trigger is built.

use super::theme::Palette;
use super::widgets::{centered, overlay_block};
use crate::app::deploy_dialog::{self as D, DeployDialog, Stage};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Picker rows shown at once; the list scrolls to keep the selection visible.
const ROWS: usize = 10;

pub fn draw(pal: &Palette, f: &mut Frame, area: Rect, d: &DeployDialog) {
    let key = |k: &str| Span::styled(format!("{k:<10}"), pal.dim());
    let running = d.running.clone().unwrap_or_else(|| "unknown".into());
    let mut env_line = vec![key("env"), Span::styled(d.env.clone(), pal.title())];
    if d.protected {
        env_line.push(Span::styled(" [protected]", pal.fg(pal.warn).add_modifier(Modifier::BOLD)));
    }
    let mut lines = vec![env_line.into(), Line::from(vec![key("running"), Span::styled(running, pal.text())])];
    let hint = match &d.stage {
        Stage::Pick { filter, sel } => {
            lines.push(Line::from(vec![key("filter"), Span::styled(filter.clone(), pal.text()), Span::raw("▏")]));
            lines.push(Line::raw(""));
            let shown = d.filtered();
            if d.versions.is_empty() {
                lines.push(Line::from(Span::styled(D::NO_VERSIONS, pal.fg(pal.warn))));
            } else if shown.is_empty() {
                lines.push(Line::from(Span::styled(D::NO_MATCH, pal.dim())));
            }
            let start = (sel + 1).saturating_sub(ROWS);
            for (i, v) in shown.iter().enumerate().skip(start).take(ROWS) {
                lines.push(if i == *sel {
                    Line::from(Span::styled(format!("▶ {v}"), pal.selected()))
                } else {
                    Line::from(Span::styled(format!("  {v}"), pal.text()))
                });
            }
            if shown.len() > start + ROWS {
                lines.push(Line::from(Span::styled(format!("  … {} more", shown.len() - start - ROWS), pal.dim())));
            }
            D::PICK_HINT
        }
        Stage::Confirm { version, typed } => {
            lines.push(Line::from(vec![key("deploy"), Span::styled(version.clone(), pal.title())]));
            lines.push(Line::raw(""));
            if d.protected {
                lines.push(Line::from(Span::styled(D::protected_prompt(&d.env), pal.fg(pal.warn))));
                lines.push(Line::from(vec![Span::styled("> ", pal.title()), Span::raw(typed.clone()), Span::raw("▏")]));
                D::CONFIRM_PROTECTED_HINT
            } else {
                let q = D::question(&d.env, version);
                lines.push(Line::from(Span::styled(q, pal.title().add_modifier(Modifier::BOLD))));
                D::CONFIRM_HINT
            }
        }
    };
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(D::ONLY_TRIGGER, pal.fg(pal.warn))));
    let w = 64u16;
    // The warning wraps to three lines (two more than counted), plus the border.
    let h = lines.len() as u16 + 2 + 2;
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let title = format!("{} to {}", D::TITLE, d.env);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(overlay_block(pal, &title, hint)), r);
}
