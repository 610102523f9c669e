//! `view(&State, &mut Frame)`: a pure function of state (design §1), so every screen can be
//! snapshot-tested with `TestBackend`. Charts read what the engine already evaluated; nothing here
//! queries or computes over history.

mod alertmanager;
#[cfg(test)]
mod alertmanager_tests;
mod alerts;
mod chart;
pub mod components;
#[cfg(test)]
mod fleet_tests;
mod history;
mod logs;
mod operation;
mod overlays;
mod overview;
mod panel;
mod query;
mod runbook;
#[cfg(test)]
mod runbook_tests;
mod values;

use super::layout::{self, Placement};
use super::theme::{health_symbol, Palette};
use super::widgets::block;
use super::{confirm, deploy_dialog, format};
use crate::app::deploy_ops::Tone;
use crate::app::{strings as S, Modal, State, ALERTS_ID, LOGS_ID, OVERVIEW_ID};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

/// A state drawn into a `w`×`h` test terminal, as text (the view tests' snapshots).
#[cfg(test)]
pub(super) fn test_screen(state: &State, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(state, f)).unwrap();
    t.backend().to_string()
}

pub fn view(state: &State, f: &mut Frame) {
    let area = f.area();
    let pal = Palette::with_depth(state.ui.theme, state.ui.no_color, state.ui.truecolor);
    let place = layout::place(state, area);
    header(state, &pal, f, place.header);
    if let Some(r) = place.status {
        status_rows(state, &pal, f, r);
    }
    for (id, r) in &place.panels {
        panel(state, &pal, f, id, *r);
    }
    more_strip(state, &pal, f, &place);
    footer(state, &pal, f, place.footer);
    // What is open on top: one thing at most.
    match &state.ui.modal {
        None => {}
        Some(Modal::Help) => overlays::help(&pal, f, area, state.read_only),
        Some(Modal::AlertDetails(_)) => alerts::alert_details(state, &pal, f, area),
        Some(Modal::SilencePicker(i)) => overlays::silence_picker(state, &pal, f, area, *i),
        Some(Modal::Deploy(d)) => deploy_dialog::draw(&pal, f, area, d),
        Some(Modal::Confirm(c)) => confirm::draw(&pal, f, area, c),
        Some(Modal::LogDetails { env, seq }) => logs::record_details(state, &pal, f, area, env, *seq),
        Some(Modal::LogCorrelate(id)) => logs::correlated(state, &pal, f, area, id),
        Some(Modal::LogSearch) => search_line(state, &pal, f, place.footer),
        Some(Modal::Operation { env }) => operation::draw(state, &pal, f, area, env),
        Some(Modal::History { env, scroll }) => history::draw(state, &pal, f, area, env, *scroll),
        Some(Modal::Components { scroll }) => components::draw(state, &pal, f, area, *scroll),
        // Typed into the overview's title.
        Some(Modal::EnvFilter) => {}
        Some(Modal::QueryPrompt) => query::prompt(state, &pal, f, place.footer),
        Some(Modal::QueryResult) => query::result(state, &pal, f, area),
        Some(Modal::Alertmanager(ui)) => alertmanager::draw(state, &pal, f, area, ui),
        Some(Modal::SilenceForm(form)) => {
            alertmanager::draw(state, &pal, f, area, &form.back);
            alertmanager::form(state, &pal, f, area, form);
        }
    }
}

fn panel(state: &State, pal: &Palette, f: &mut Frame, id: &str, r: Rect) {
    match id {
        OVERVIEW_ID => overview::overview(state, pal, f, r),
        ALERTS_ID => alerts::alerts(state, pal, f, r),
        LOGS_ID => logs::logs(state, pal, f, r),
        _ => match state.panels.iter().find(|p| p.id == id) {
            Some(p) => panel::data_panel(state, pal, f, p, r),
            None => {
                f.render_widget(Paragraph::new(S::NO_DATA_YET).block(block(state, pal, id, id.to_string())), r);
            }
        },
    }
}

fn header(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height == 0 {
        return;
    }
    // Narrow terminals drop the title and the window label, and tighten the tabs, so names fit.
    let narrow = r.width < 110;
    let (firing, quiet) = state.firing();
    let mut right = vec![];
    if state.read_only {
        // Loud and in words: an observer must know at a glance that keys will be refused.
        right.push(Span::styled(
            format!(" {} ", S::READ_ONLY),
            pal.fg(pal.warn).add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
        right.push(Span::raw(" "));
    }
    if firing > 0 {
        let style = pal.fg(pal.bad).add_modifier(Modifier::BOLD);
        let mut t = format!("● {firing} {}", S::FIRING);
        if quiet > 0 {
            t.push_str(&format!(" ({quiet} acked/silenced)"));
        }
        right.push(Span::styled(t, style));
    } else {
        let t = if narrow { format!("✔ {}", S::QUIET_SHORT) } else { format!("✔ {}", S::NO_ALERTS_FIRING) };
        right.push(Span::styled(t, pal.fg(pal.ok)));
    }
    if narrow {
        right.push(Span::raw(" "));
    } else {
        right.push(Span::styled(format!("  {}  ", crate::duration::format(state.ui.window)), pal.dim()));
    }
    right.push(Span::styled(format::clock(state.now, state.utc_offset_secs), pal.text()));
    right.push(Span::raw(" "));
    let right = Line::from(right);
    let rw = (right.width() as u16).min(r.width);

    let mut left = vec![];
    if !narrow {
        left.push(Span::styled(format!(" {} ", S::TITLE), pal.title().add_modifier(Modifier::REVERSED)));
        left.push(Span::raw(" "));
    }
    let tab = |sel: bool| if sel { pal.selected().add_modifier(Modifier::BOLD) } else { pal.text() };
    let pad = if narrow { "" } else { " " };
    left.push(Span::styled(format!("{pad}0 {}{pad}", S::ALL_ENVS), tab(state.ui.env.is_none())));
    // Names shrink to fit so the firing counter and clock on the right are never pushed off.
    let used: usize = left.iter().map(|s| s.width()).sum();
    let budget = (r.width.saturating_sub(rw) as usize).saturating_sub(used + 1);
    let per_env = budget / state.envs.len().max(1);
    let name_max = per_env.saturating_sub(if narrow { 4 } else { 7 }).max(3);
    let shortest = state.envs.iter().map(|e| e.name.chars().count()).min().unwrap_or(0);
    if state.envs.len() > 9 && name_max < shortest.min(8) {
        // A fleet: tabs would be unreadable stubs. A picker instead: the selected environment,
        // its place (Tab / S-Tab move, 1-9 jump) and the fleet's health in counts.
        let count = |h: crate::app::Health| state.health.iter().filter(|x| x.health == h).count();
        let shown = match state.ui.env {
            Some(i) => format!(" ‹ {} › {}/{} ", state.envs[i].name, i + 1, state.envs.len()),
            None => format!(" ‹ {} environments › ", state.envs.len()),
        };
        left.push(Span::styled(shown, tab(state.ui.env.is_some())));
        for h in [crate::app::Health::Up, crate::app::Health::Down, crate::app::Health::Stale] {
            let n = count(h);
            if n > 0 {
                left.push(Span::styled(format!(" {} {n}", health_symbol(h)), pal.health(h)));
            }
        }
        f.render_widget(Paragraph::new(Line::from(left)), Rect { width: r.width.saturating_sub(rw + 1), ..r });
        f.render_widget(Paragraph::new(right), Rect { x: r.right() - rw, width: rw, ..r });
        return;
    }
    for (i, (e, h)) in state.envs.iter().zip(&state.health).enumerate() {
        left.push(Span::raw(" "));
        let sel = state.ui.env == Some(i);
        left.push(Span::styled(format!("{pad}{}{pad}", i + 1), tab(sel)));
        left.push(Span::styled(health_symbol(h.health).to_string(), pal.health(h.health)));
        let name: String = if e.name.chars().count() > name_max {
            e.name.chars().take(name_max - 1).chain(std::iter::once('…')).collect()
        } else {
            e.name.clone()
        };
        left.push(Span::styled(format!("{pad}{name}{pad}"), tab(sel)));
    }
    f.render_widget(Paragraph::new(Line::from(left)), Rect { width: r.width.saturating_sub(rw + 1), ..r });
    f.render_widget(Paragraph::new(right), Rect { x: r.right() - rw, width: rw, ..r });
}

/// The deploy status under the header: running operations and recent outcomes on the first row,
/// each interrupted operation's banner on a row of its own.
fn status_rows(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    for (i, items) in state.header_lines().iter().take(r.height as usize).enumerate() {
        let mut spans = vec![Span::raw(" ")];
        for (j, it) in items.iter().enumerate() {
            if j > 0 {
                spans.push(Span::styled("   ", pal.dim()));
            }
            let style = match it.tone {
                Tone::Running => pal.title(),
                Tone::Good => pal.fg(pal.ok),
                Tone::Warn => pal.fg(pal.warn).add_modifier(Modifier::BOLD),
                Tone::Loud => pal.fg(pal.bad).add_modifier(Modifier::BOLD | Modifier::REVERSED),
            };
            spans.push(Span::styled(it.text.clone(), style));
        }
        let row = Rect { y: r.y + i as u16, height: 1, ..r };
        f.render_widget(Paragraph::new(Line::from(spans)), row);
    }
}

fn footer(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height == 0 {
        return;
    }
    let left = match state.notices.back() {
        // A notice stays for 30 s, then the key hints come back.
        Some((at, text)) if state.now - at < 30_000 => Line::from(Span::styled(format!(" {text}"), pal.text())),
        _ => Line::from(Span::styled(format!(" {}", S::FOOTER_HINT), pal.dim())),
    };
    let (left_r, right_r, right) = footer_parts(state, r);
    f.render_widget(Paragraph::new(left), left_r);
    f.render_widget(Paragraph::new(Span::styled(right, pal.dim())), right_r);
}

/// `Modal::LogSearch`: the search being typed, in place of the footer's notice.
fn search_line(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height == 0 {
        return;
    }
    let q = &state.ui.logs.query;
    let line = Line::from(vec![Span::styled(S::SEARCH_PROMPT, pal.title()), Span::raw(q.clone()), Span::raw("▏")]);
    let (left_r, _, _) = footer_parts(state, r);
    f.render_widget(Clear, left_r);
    f.render_widget(Paragraph::new(line), left_r);
}

/// The footer's left part (notices, hints, the search line), its right part and the engine
/// figures shown there.
fn footer_parts(state: &State, r: Rect) -> (Rect, Rect, String) {
    let s = &state.stats;
    let right = if s.targets_total > 0 || s.series > 0 {
        let mut t =
            format!("targets {}/{} up · {} series", s.targets_up, s.targets_total, format::short(s.series as f64));
        if s.bytes_per_sample > 0.0 {
            // What the store costs, live: encoded bytes per sample.
            t.push_str(&format!(" · {:.2} B/sample", s.bytes_per_sample));
        }
        if s.dropped_series > 0 {
            t.push_str(&format!(" · {} dropped at cap", s.dropped_series));
        }
        if s.rule_groups > 0 {
            // What the rules cost: the last evaluation of every group, end to end.
            t.push_str(&format!(" · rules {}", format::latency_ms(s.rule_eval_ms)));
        }
        t.push(' ');
        t
    } else {
        String::new()
    };
    let rw = (right.chars().count() as u16).min(r.width / 2);
    (Rect { width: r.width - rw, ..r }, Rect { x: r.right() - rw, width: rw, ..r }, right)
}

fn more_strip(state: &State, pal: &Palette, f: &mut Frame, place: &Placement) {
    let Some(r) = place.more else { return };
    let mut spans = vec![Span::styled(" more (h/l focus, Enter zoom): ", pal.dim())];
    for (i, id) in place.collapsed.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", pal.dim()));
        }
        let title = state.panels.iter().find(|p| &p.id == id).map(|p| p.title.as_str()).unwrap_or(match id.as_str() {
            ALERTS_ID => S::ALERTS,
            LOGS_ID => S::LOGS,
            _ => id,
        });
        let style = if state.ui.focus == *id { pal.selected() } else { pal.text() };
        spans.push(Span::styled(title.to_string(), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}
