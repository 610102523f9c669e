//! The Alertmanager view: alerts as Alertmanager groups them (silenced and inhibited marked in
//! words, not hidden), its silences with who and why, and the new-silence form with its live
//! preview of what the matchers catch.

use crate::app::alertmanager::{preview, AmTab, AmUi, Field, SilenceForm};
use crate::app::{strings as S, State};
use crate::model::AmSilence;
use crate::tui::format;
use crate::tui::theme::Palette;
use crate::tui::widgets::{centered, overlay_block};
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

pub(super) fn draw(state: &State, pal: &Palette, f: &mut Frame, area: Rect, ui: &AmUi) {
    let r = centered(area, area.width.saturating_sub(4).max(40), area.height.saturating_sub(2).max(10));
    f.render_widget(Clear, r);
    let (title, keys) = match ui.tab {
        AmTab::Alerts => (S::AM_TITLE, S::AM_KEYS),
        AmTab::Silences => (S::AM_SILENCES_TITLE, S::AM_SILENCE_KEYS),
    };
    let frame = overlay_block(pal, title, keys);
    let inner = frame.inner(r);
    f.render_widget(frame, r);
    let mut lines: Vec<Line> = Vec::new();
    let Some(snap) = &state.am else {
        f.render_widget(Paragraph::new(Span::styled(S::AM_WAITING, pal.dim())), inner);
        return;
    };
    // Where the data came from and how old it is; an Alertmanager that did not answer says why.
    let mut src = vec![Span::styled(
        format!("{} · read {} ago", state.am_urls.join(", "), format::age((state.now - snap.at).max(0))),
        pal.dim(),
    )];
    if ui.tab == AmTab::Alerts && ui.hide_muted {
        src.push(Span::styled("  · silenced and inhibited hidden (m shows)", pal.fg(pal.warn)));
    }
    lines.push(Line::from(src));
    for (am, e) in &snap.errors {
        lines.push(Line::from(Span::styled(format!("✖ {am}: {e} (stale)"), pal.fg(pal.bad))));
    }
    if let Some((id, _)) = &ui.expiring {
        lines.push(Line::from(Span::styled(
            format!("expire silence {id}? y expires · any other key keeps it"),
            pal.fg(pal.warn).add_modifier(Modifier::BOLD),
        )));
    }
    lines.push(Line::raw(""));
    let mut rows = Vec::new();
    let sel_line = match ui.tab {
        AmTab::Alerts => alert_lines(state, pal, ui, &mut rows),
        AmTab::Silences => silence_lines(state, pal, ui, &snap.silences, &mut rows),
    };
    // Keep the selection (and the two lines under a silence) on screen.
    let room = (inner.height as usize).saturating_sub(lines.len()).max(1);
    let skip = sel_line.map_or(0, |l| (l + 3).saturating_sub(room));
    lines.extend(rows.into_iter().skip(skip));
    f.render_widget(Paragraph::new(lines), inner);
}

/// The groups and their alerts; returns the line of the selected alert (relative to the rows).
fn alert_lines<'a>(state: &State, pal: &Palette, ui: &AmUi, lines: &mut Vec<Line<'a>>) -> Option<usize> {
    let snap = state.am.as_ref()?;
    let rows = state.am_rows(ui.hide_muted);
    if rows.is_empty() {
        lines.push(Line::from(Span::styled("no alerts in Alertmanager", pal.dim())));
        return None;
    }
    let sel = ui.sel.min(rows.len() - 1);
    let mut last_group = None;
    let mut at = None;
    for (i, &(gi, ai)) in rows.iter().enumerate() {
        if last_group != Some(gi) {
            let g = &snap.groups[gi];
            let labels: Vec<String> = g.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let n = rows.iter().filter(|(x, _)| *x == gi).count();
            lines.push(Line::from(vec![
                Span::styled(format!("▾ {{{}}}", labels.join(", ")), pal.title()),
                Span::styled(format!("  receiver {} · {n} in group", g.receiver), pal.dim()),
            ]));
            last_group = Some(gi);
        }
        let a = &snap.alerts[ai];
        let marker = if i == sel { "▶ " } else { "  " };
        if i == sel {
            at = Some(lines.len());
        }
        let (sym, word, style) = if !a.silenced_by.is_empty() {
            ("◌", format!("silenced by {}", short_ids(&a.silenced_by)), pal.dim())
        } else if !a.inhibited_by.is_empty() {
            ("◌", format!("inhibited by {}", short_ids(&a.inhibited_by)), pal.dim())
        } else {
            ("●", a.state.clone(), pal.fg(pal.bad).add_modifier(Modifier::BOLD))
        };
        let ack = snap.silences.iter().find(|s| s.is_ack() && s.state == "active" && a.silenced_by.contains(&s.id));
        let others: Vec<String> =
            a.labels.iter().filter(|(k, _)| k != "alertname").map(|(k, v)| format!("{k}={v}")).collect();
        let mut spans = vec![
            Span::styled(marker, pal.title()),
            Span::styled(format!("{sym} {:<24} ", a.name()), style),
            Span::styled(format!("{word:<22} "), style),
            Span::styled(format!("since {} ", format::clock(a.starts_at, state.utc_offset_secs)), pal.dim()),
        ];
        if let Some(s) = ack {
            spans.push(Span::styled(
                format!("acked by {} {} ago ", s.created_by, format::age((state.now - s.starts_at).max(0))),
                pal.fg(pal.warn),
            ));
        }
        spans.push(Span::styled(others.join(" "), pal.text()));
        if state.am_urls.len() > 1 {
            spans.push(Span::styled(format!("  from {}", a.sources.join(", ")), pal.dim()));
        }
        let mut line = Line::from(spans);
        if i == sel {
            line = line.style(Modifier::REVERSED);
        }
        lines.push(line);
    }
    at
}

fn short_ids(ids: &[String]) -> String {
    ids.iter().map(|s| s.chars().take(8).collect::<String>()).collect::<Vec<_>>().join(", ")
}

fn silence_lines<'a>(
    state: &State,
    pal: &Palette,
    ui: &AmUi,
    silences: &[AmSilence],
    lines: &mut Vec<Line<'a>>,
) -> Option<usize> {
    if silences.is_empty() {
        lines.push(Line::from(Span::styled("no silences", pal.dim())));
        return None;
    }
    let sel = ui.sel.min(silences.len() - 1);
    let mut at = None;
    for (i, s) in silences.iter().enumerate() {
        if i == sel {
            at = Some(lines.len());
        }
        let left = s.ends_at - state.now;
        let (word, style) = match s.state.as_str() {
            "expired" => (format!("expired {} ago", format::age(-left)), pal.dim()),
            "pending" => (format!("starts {}", format::clock(s.starts_at, state.utc_offset_secs)), pal.text()),
            // Under 15 minutes left: it will stop muting soon, say so loudly.
            _ if left < 15 * 60_000 => {
                (format!("{} left", format::age(left.max(0))), pal.fg(pal.warn).add_modifier(Modifier::BOLD))
            }
            _ => (format!("{} left", format::age(left)), pal.text()),
        };
        let matchers: Vec<String> = s.matchers.iter().map(|m| m.to_string()).collect();
        let kind = if s.is_ack() { "ack" } else { "silence" };
        let mut head = Line::from(vec![
            Span::styled(if i == sel { "▶ " } else { "  " }, pal.title()),
            Span::styled(format!("{kind:<8}"), pal.title()),
            Span::styled(format!("{word:<16} "), style),
            Span::styled(format!("by {} ", s.created_by), pal.text()),
            Span::styled(
                format!(
                    "{} → {}  {}",
                    format::clock(s.starts_at, state.utc_offset_secs),
                    format::clock(s.ends_at, state.utc_offset_secs),
                    s.id
                ),
                pal.dim(),
            ),
        ]);
        if i == sel {
            head = head.style(Modifier::REVERSED);
        }
        lines.push(head);
        lines.push(Line::from(vec![
            Span::raw("    "),
            Span::styled(format!("{{{}}}", matchers.join(", ")), pal.text()),
        ]));
        lines.push(Line::from(vec![Span::raw("    "), Span::styled(format!("“{}”", s.comment), pal.dim())]));
    }
    at
}

/// The new-silence form over the Alertmanager view; the terminal cursor sits in the field typed in.
pub(super) fn form(state: &State, pal: &Palette, f: &mut Frame, area: Rect, form: &SilenceForm) {
    let w = area.width.saturating_sub(10).clamp(40, 110);
    let r = centered(area, w, 14.min(area.height));
    f.render_widget(Clear, r);
    let frame = overlay_block(pal, S::FORM_TITLE, S::FORM_KEYS);
    let inner = frame.inner(r);
    f.render_widget(frame, r);
    let field_w = inner.width.saturating_sub(12).max(8) as usize;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (field, label) in [(Field::Matchers, "matchers"), (Field::Duration, "duration"), (Field::Comment, "comment")] {
        let text = form.field(field);
        let focused = form.focus == field;
        let style = if focused { pal.title() } else { pal.text() };
        // Long values wrap under themselves; the cursor goes after the last character.
        let chars: Vec<char> = text.chars().collect();
        let rows: Vec<String> = if chars.is_empty() {
            vec![String::new()]
        } else {
            chars.chunks(field_w).map(|c| c.iter().collect()).collect()
        };
        for (i, row) in rows.iter().enumerate() {
            let key = if i == 0 { format!("{label:<10}  ") } else { " ".repeat(12) };
            let mark = if focused && i == 0 { pal.title() } else { pal.dim() };
            lines.push(Line::from(vec![Span::styled(key, mark), Span::styled(row.clone(), style)]));
        }
        if focused {
            let last = rows.last().map_or(0, |r| r.chars().count());
            let (x, y) = if last >= field_w { (0, lines.len()) } else { (last, lines.len() - 1) };
            cursor = Some((x as u16 + 12, y as u16));
        }
    }
    lines.push(Line::from(vec![
        Span::styled(format!("{:<12}", "author"), pal.dim()),
        Span::styled(state.silence_author.clone(), pal.text()),
    ]));
    lines.push(Line::raw(""));
    let alerts = state.am.as_ref().map(|s| s.alerts.as_slice()).unwrap_or(&[]);
    match preview(alerts, &form.matchers) {
        Ok(n) => lines.push(Line::from(Span::styled(
            format!("these matchers catch {n} alert{} now", if n == 1 { "" } else { "s" }),
            if n == 0 { pal.fg(pal.warn) } else { pal.title() },
        ))),
        Err(e) => lines.push(Line::from(Span::styled(format!("matchers: {e}"), pal.fg(pal.bad)))),
    }
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(format!("✖ {e}"), pal.fg(pal.bad).add_modifier(Modifier::BOLD))));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some((x, y)) = cursor {
        if y < inner.height {
            f.set_cursor_position(Position { x: inner.x + x.min(inner.width.saturating_sub(1)), y: inner.y + y });
        }
    }
}
