//! The environments table: health, latency with its history, version, last check, up-time.

use crate::app::{strings as S, Health, State, OVERVIEW_ID};
use crate::tui::format;
use crate::tui::theme::{health_symbol, Palette};
use crate::tui::widgets::block;

use super::components;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Latency history as bar characters; a failed check is a gap, never a zero bar.
fn sparkline(hist: &std::collections::VecDeque<Option<f64>>, width: usize) -> String {
    let skip = hist.len().saturating_sub(width);
    let max = hist.iter().skip(skip).flatten().fold(0.0f64, |a, &b| a.max(b));
    let mut s: String = hist
        .iter()
        .skip(skip)
        .map(|v| match v {
            Some(v) if max > 0.0 => SPARK[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
            Some(_) => SPARK[0],
            None => ' ',
        })
        .collect();
    let n = s.chars().count();
    if n < width {
        s = " ".repeat(width - n) + &s;
    }
    s
}

pub(super) fn overview(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    // A fleet longer than the panel scrolls: say which rows are shown.
    let visible = r.height.saturating_sub(3) as usize;
    let listed = state.overview_envs();
    let n = listed.len();
    let scroll = state.ui.overview_scroll.min(n.saturating_sub(visible.max(1)));
    let mut title = format!("{} · up-time over kept history", S::OVERVIEW);
    let mut short = S::OVERVIEW.to_string();
    let mut extra = String::new();
    if !state.ui.env_filter.is_empty() || state.ui.modal == Some(crate::app::Modal::EnvFilter) {
        let typing = if state.ui.modal == Some(crate::app::Modal::EnvFilter) { "▏" } else { "" };
        extra.push_str(&format!(" · /{}{typing} {n} of {}", state.ui.env_filter, state.envs.len()));
    }
    if n > visible && visible > 0 {
        extra.push_str(&format!(" · {}–{} of {n} (j/k)", scroll + 1, (scroll + visible).min(n)));
    }
    title.push_str(&extra);
    short.push_str(&extra);
    let b = block(state, pal, OVERVIEW_ID, if r.width >= 70 { title } else { short });
    if state.envs.is_empty() {
        f.render_widget(Paragraph::new(S::NO_ENVIRONMENTS).wrap(Wrap { trim: true }).block(b), r);
        return;
    }
    let inner_w = r.width.saturating_sub(2);
    // Components and backups take the room of the sparkline and up-time when space is short:
    // what is broken now matters more than how it was.
    let strip_w = strip_width(state);
    let backup_w: u16 = if state.backup_envs.is_empty() && state.backups.is_empty() { 0 } else { 15 };
    let parts_w = if strip_w + backup_w > 0 { strip_w + backup_w + 2 } else { 0 };
    let room = inner_w.saturating_sub(parts_w);
    let spark_w: u16 = if room >= 100 {
        20
    } else if room >= 85 {
        12
    } else {
        0
    };
    let show_up = room >= 70;
    let wide_checked = room >= 85;
    let show_prot_word = inner_w >= 100;
    let mut rows = Vec::with_capacity(state.envs.len());
    for &i in &listed {
        let (e, h) = (&state.envs[i], &state.health[i]);
        let sel = state.ui.env == Some(i);
        let mut name = format!("{}{}", if sel { "▶" } else { " " }, e.name);
        if e.protected {
            name.push(' ');
            name.push_str(if show_prot_word { S::PROTECTED } else { S::PROTECTED_SHORT });
        }
        let health = format!("{} {}", health_symbol(h.health), h.health.as_str());
        let lat = h.latency_ms.map(format::latency_ms).unwrap_or_else(|| "—".into());
        let ver = h.version.clone().unwrap_or_else(|| "—".into());
        let age = match h.last_check {
            Some(t) => format!("{} ago", format::age(state.now - t)),
            None => S::NEVER_CHECKED.to_string(),
        };
        let age_style = if h.health == Health::Stale { pal.fg(pal.warn) } else { pal.dim() };
        let mut cells = vec![
            Cell::from(name).style(if sel { pal.title() } else { pal.text() }),
            Cell::from(health).style(pal.health(h.health)),
            Cell::from(lat).style(pal.text()),
        ];
        if spark_w > 0 {
            cells.push(Cell::from(sparkline(&h.latency_history, spark_w as usize)).style(pal.series(i)));
        }
        cells.push(Cell::from(ver).style(pal.text()));
        if strip_w > 0 {
            cells.push(Cell::from(strip(state, pal, &e.name)));
        }
        if backup_w > 0 {
            let cell = match state.backups.get(&e.name) {
                Some(b) => {
                    Cell::from(components::backup_short(b, state.now)).style(components::backup_style(pal, b.state))
                }
                None if state.backup_envs.contains(&e.name) => Cell::from(S::BACKUP_NOT_READ).style(pal.dim()),
                None => Cell::from("—").style(pal.dim()),
            };
            cells.push(cell);
        }
        cells.push(Cell::from(age).style(age_style));
        if show_up {
            let up = if h.checks_total > 0 {
                format!("{:.1}%", 100.0 * h.checks_ok as f64 / h.checks_total as f64)
            } else {
                "—".into()
            };
            cells.push(Cell::from(up).style(pal.text()));
        }
        let reason = match (h.health, &h.reason) {
            (Health::Up, _) | (_, None) => String::new(),
            (Health::Stale, Some(r)) => format!("since {}: {r}", last_ok_label(state, h.last_ok)),
            (_, Some(r)) => r.clone(),
        };
        cells.push(Cell::from(reason).style(pal.health(h.health)));
        rows.push(Row::new(cells));
    }
    let name_w = state.envs.iter().map(|e| e.name.chars().count() + if e.protected { 4 } else { 0 }).max().unwrap_or(8);
    let name_w = (name_w + if show_prot_word { 8 } else { 1 }).min(24) as u16;
    let mut widths = vec![Constraint::Length(name_w), Constraint::Length(9), Constraint::Length(7)];
    let mut head = vec!["environment", "health", "latency"];
    if spark_w > 0 {
        widths.push(Constraint::Length(spark_w));
        head.push("history");
    }
    widths.push(Constraint::Length(9));
    head.push("version");
    if strip_w > 0 {
        widths.push(Constraint::Length(strip_w));
        head.push("components");
    }
    if backup_w > 0 {
        widths.push(Constraint::Length(backup_w));
        head.push("backup");
    }
    widths.push(Constraint::Length(if wide_checked { 16 } else { 8 }));
    head.push("checked");
    if show_up {
        widths.push(Constraint::Length(7));
        head.push("up");
    }
    widths.push(Constraint::Fill(1));
    head.push("");
    let rows = rows.into_iter().skip(scroll);
    let t = Table::new(rows, widths).header(Row::new(head).style(pal.dim())).column_spacing(1).block(b);
    f.render_widget(t, r);
}

/// Columns the widest component strip needs (0 without components), at most 40.
fn strip_width(state: &State) -> u16 {
    let w = state.components.values().map(|l| l.iter().map(|c| c.name.chars().count() + 2).sum::<usize>()).max();
    w.unwrap_or(0).min(40) as u16
}

/// "✔api ✔db ✖redis": each component's mark and name, coloured by state.
fn strip<'a>(state: &State, pal: &Palette, env: &str) -> Line<'a> {
    let Some(list) = state.components.get(env) else { return Line::from(Span::styled("—", pal.dim())) };
    let mut spans = Vec::new();
    for c in list {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        let st = components::component_style(pal, c.state);
        spans.push(Span::styled(format!("{}{}", components::component_symbol(c.state), c.name), st));
    }
    Line::from(spans)
}

fn last_ok_label(state: &State, t: Option<i64>) -> String {
    match t {
        Some(t) => format::hhmm(t, state.utc_offset_secs),
        None => "start".into(),
    }
}
