//! `view(&State, &mut Frame)`: a pure function of state (design §1), so every screen can be
//! snapshot-tested with `TestBackend`. Charts read what the engine already evaluated; nothing here
//! queries or computes over history.

use super::format;
use super::layout::{self, Placement};
use super::theme::{alert_symbol, health_symbol, Palette};
use crate::app::keymap::KEYMAP;
use crate::app::{
    level_label, strings as S, AlertState, Health, LogOverlay, Marker, PanelData, PanelKind, State, Unit, ALERTS_ID,
    LOGS_ID, OVERVIEW_ID, SILENCES,
};
use crate::logs::{Level, LogBuffer, LogRecord, LogView};
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker as DotMarker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Line as CanvasLine, Points};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

pub fn view(state: &State, f: &mut Frame) {
    let area = f.area();
    let pal = Palette::new(state.ui.theme, state.ui.no_color);
    let place = layout::place(state, area);
    header(state, &pal, f, place.header);
    for (id, r) in &place.panels {
        panel(state, &pal, f, id, *r);
    }
    more_strip(state, &pal, f, &place);
    footer(state, &pal, f, place.footer);
    if state.ui.details {
        alert_details(state, &pal, f, area);
    }
    if let Some(i) = state.ui.silence_picker {
        silence_picker(state, &pal, f, area, i);
    }
    if let Some(o) = &state.ui.logs.overlay {
        log_overlay(state, &pal, f, area, o);
    }
    if state.ui.help {
        help(&pal, f, area);
    }
}

fn panel(state: &State, pal: &Palette, f: &mut Frame, id: &str, r: Rect) {
    match id {
        OVERVIEW_ID => overview(state, pal, f, r),
        ALERTS_ID => alerts(state, pal, f, r),
        LOGS_ID => logs(state, pal, f, r),
        _ => match state.panels.iter().find(|p| p.id == id) {
            Some(p) => data_panel(state, pal, f, p, r),
            None => {
                f.render_widget(Paragraph::new(S::NO_DATA_YET).block(block(state, pal, id, id.to_string())), r);
            }
        },
    }
}

/// A panel frame: the focused one is marked with ▶ and a bold border, not only a colour.
fn block<'a>(state: &State, pal: &Palette, id: &str, title: String) -> Block<'a> {
    block_spans(state, pal, id, vec![Span::styled(title, pal.title())])
}

fn block_spans<'a>(state: &State, pal: &Palette, id: &str, mut title: Vec<Span<'a>>) -> Block<'a> {
    let focused = state.ui.focus == id;
    title.insert(0, Span::styled(if focused { " ▶ " } else { " " }, pal.title()));
    title.push(Span::raw(" "));
    Block::bordered().border_style(pal.border(focused)).title(Line::from(title))
}

fn header(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height == 0 {
        return;
    }
    let (firing, quiet) = state.firing();
    let mut right = vec![];
    if firing > 0 {
        let style = pal.fg(pal.bad).add_modifier(Modifier::BOLD);
        let mut t = format!("● {firing} {}", S::FIRING);
        if quiet > 0 {
            t.push_str(&format!(" ({quiet} acked/silenced)"));
        }
        right.push(Span::styled(t, style));
    } else {
        right.push(Span::styled(format!("✔ {}", S::NO_ALERTS_FIRING), pal.fg(pal.ok)));
    }
    right.push(Span::styled(format!("  {}  ", crate::duration::format(state.ui.window)), pal.dim()));
    right.push(Span::styled(format::clock(state.now, state.utc_offset_secs), pal.text()));
    right.push(Span::raw(" "));
    let right = Line::from(right);
    let rw = (right.width() as u16).min(r.width);

    let mut left = vec![Span::styled(format!(" {} ", S::TITLE), pal.title().add_modifier(Modifier::REVERSED))];
    left.push(Span::raw(" "));
    let tab = |sel: bool| if sel { pal.selected().add_modifier(Modifier::BOLD) } else { pal.text() };
    left.push(Span::styled(format!(" 0 {} ", S::ALL_ENVS), tab(state.ui.env.is_none())));
    // Names shrink to fit so the firing counter and clock on the right are never pushed off.
    let budget = (r.width.saturating_sub(rw) as usize).saturating_sub(17);
    let per_env = budget / state.envs.len().max(1);
    let name_max = per_env.saturating_sub(7).max(3);
    for (i, (e, h)) in state.envs.iter().zip(&state.health).enumerate() {
        left.push(Span::raw(" "));
        let sel = state.ui.env == Some(i);
        left.push(Span::styled(format!(" {} ", i + 1), tab(sel)));
        left.push(Span::styled(health_symbol(h.health).to_string(), pal.health(h.health)));
        let name: String = if e.name.chars().count() > name_max {
            e.name.chars().take(name_max - 1).chain(std::iter::once('…')).collect()
        } else {
            e.name.clone()
        };
        left.push(Span::styled(format!(" {name} "), tab(sel)));
    }
    f.render_widget(Paragraph::new(Line::from(left)), Rect { width: r.width.saturating_sub(rw), ..r });
    f.render_widget(Paragraph::new(right), Rect { x: r.right() - rw, width: rw, ..r });
}

fn footer(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height == 0 {
        return;
    }
    let l = &state.ui.logs;
    let left = if l.editing {
        Line::from(vec![Span::styled(S::SEARCH_PROMPT, pal.title()), Span::raw(l.query.clone()), Span::raw("▏")])
    } else {
        match state.notices.back() {
            // A notice stays for 30 s, then the key hints come back.
            Some((at, text)) if state.now - at < 30_000 => Line::from(Span::styled(format!(" {text}"), pal.text())),
            _ => Line::from(Span::styled(format!(" {}", S::FOOTER_HINT), pal.dim())),
        }
    };
    let s = &state.stats;
    let right = if s.targets_total > 0 || s.series > 0 {
        let mut t =
            format!("targets {}/{} up · {} series", s.targets_up, s.targets_total, format::short(s.series as f64));
        if s.dropped_series > 0 {
            t.push_str(&format!(" · {} dropped at cap", s.dropped_series));
        }
        t.push(' ');
        t
    } else {
        String::new()
    };
    let rw = (right.chars().count() as u16).min(r.width / 2);
    f.render_widget(Paragraph::new(left), Rect { width: r.width - rw, ..r });
    f.render_widget(Paragraph::new(Span::styled(right, pal.dim())), Rect { x: r.right() - rw, width: rw, ..r });
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

fn overview(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    let title = format!("{} · up-time over kept history", S::OVERVIEW);
    let b = block(state, pal, OVERVIEW_ID, if r.width >= 70 { title } else { S::OVERVIEW.to_string() });
    if state.envs.is_empty() {
        f.render_widget(Paragraph::new(S::NO_ENVIRONMENTS).wrap(Wrap { trim: true }).block(b), r);
        return;
    }
    let inner_w = r.width.saturating_sub(2);
    let spark_w: u16 = if inner_w >= 100 {
        20
    } else if inner_w >= 85 {
        12
    } else {
        0
    };
    let show_up = inner_w >= 70;
    let show_prot_word = inner_w >= 100;
    let mut rows = Vec::with_capacity(state.envs.len());
    for (i, (e, h)) in state.envs.iter().zip(&state.health).enumerate() {
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
    widths.extend([Constraint::Length(9), Constraint::Length(if inner_w >= 85 { 16 } else { 8 })]);
    head.extend(["version", "checked"]);
    if show_up {
        widths.push(Constraint::Length(7));
        head.push("up");
    }
    widths.push(Constraint::Fill(1));
    head.push("");
    let t = Table::new(rows, widths).header(Row::new(head).style(pal.dim())).column_spacing(1).block(b);
    f.render_widget(t, r);
}

fn last_ok_label(state: &State, t: Option<i64>) -> String {
    match t {
        Some(t) => format::hhmm(t, state.utc_offset_secs),
        None => "start".into(),
    }
}

fn data_panel(state: &State, pal: &Palette, f: &mut Frame, p: &PanelData, r: Rect) {
    let visible: Vec<(usize, &crate::app::PanelSeries)> =
        p.series.iter().enumerate().filter(|(_, s)| state.env_visible(s.env.as_deref())).collect();
    let crossed =
        p.threshold.as_ref().is_some_and(|(_, t)| visible.iter().any(|(_, s)| s.last().is_some_and(|v| v > *t)));
    let mut rest = format!(" · {}", crate::duration::format(state.ui.window));
    if let Some(env) = state.selected_env_name() {
        rest.push_str(&format!(" · {env}"));
    }
    let mut spans = vec![Span::styled(p.title.clone(), pal.title())];
    if crossed {
        // Said in words next to the title, so it survives narrow columns and no colour.
        let (_, t) = p.threshold.as_ref().expect("crossed implies a threshold");
        let warn = format!(" ⚠ over {}", format::value(*t, p.unit));
        spans.push(Span::styled(warn, pal.fg(pal.bad).add_modifier(Modifier::BOLD)));
    }
    spans.push(Span::styled(rest, pal.title()));
    let mut b = block_spans(state, pal, &p.id, spans);
    let has_data = visible.iter().any(|(_, s)| s.points.iter().any(|(_, v)| v.is_some()));
    if !has_data {
        let note = p.note.clone().unwrap_or_else(|| S::NO_DATA.to_string());
        let lines = vec![Line::raw(""), Line::from(Span::styled(note, pal.dim()))];
        f.render_widget(Paragraph::new(lines).alignment(Alignment::Center).wrap(Wrap { trim: true }).block(b), r);
        return;
    }
    if let Some(note) = &p.note {
        b = b.title_bottom(Line::from(Span::styled(format!(" {note} "), pal.fg(pal.warn))));
    }
    match p.kind {
        PanelKind::Line => line_chart(state, pal, f, p, &visible, b, r),
        PanelKind::Bars | PanelKind::Gauge => bars(pal, f, p, &visible, b, r),
        PanelKind::Table => table(pal, f, p, &visible, b, r),
    }
}

/// "HighErrorRate 5%": the value is added unless the name already states it.
fn threshold_label(name: &str, t: f64, unit: Unit) -> String {
    let v = format::value(t, unit);
    if name.contains(&v) {
        name.to_string()
    } else {
        format!("{name} {v}")
    }
}

fn legend_label(s: &crate::app::PanelSeries, unit: Unit) -> String {
    match s.last() {
        Some(v) if s.points.last().is_some_and(|(_, v)| v.is_some()) => {
            format!("{} {}", s.label, format::value(v, unit))
        }
        // The newest point is a gap: say so rather than show an old value as current.
        _ => format!("{} {}", s.label, S::NO_DATA),
    }
}

/// The smallest "nice" number (1, 2, 2.5, 5 × 10^k) at or above `v`, so axis ticks read well.
fn nice_ceil(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= v * 0.999_999 {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Legend entries packed into lines of `width`, at most `max_lines` (the rest is dropped: the
/// title's zoom shows everything).
fn legend_lines<'a>(entries: Vec<(String, Style)>, width: u16, max_lines: usize) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut cur: Vec<Span> = Vec::new();
    let mut used = 0usize;
    for (text, style) in entries {
        let w = text.chars().count() + 2;
        if used + w > width as usize && !cur.is_empty() {
            lines.push(Line::from(std::mem::take(&mut cur)));
            used = 0;
            if lines.len() == max_lines {
                return lines;
            }
        }
        cur.push(Span::styled(text, style));
        cur.push(Span::raw("  "));
        used += w;
    }
    if !cur.is_empty() && lines.len() < max_lines {
        lines.push(Line::from(cur));
    }
    lines
}

/// A time chart drawn on one Braille canvas layer: ratatui's `Chart` starts a new layer (a new
/// grid) for every dataset, and gaps split a series into many datasets, which made frames slow.
/// Gaps are simply not joined; a lone point between gaps is drawn as a dot.
fn line_chart(
    state: &State,
    pal: &Palette,
    f: &mut Frame,
    p: &PanelData,
    visible: &[(usize, &crate::app::PanelSeries)],
    b: Block,
    r: Rect,
) {
    let win = state.ui.window.as_millis() as i64;
    let (now, from) = (state.now, state.now - win);
    let in_window = |t: i64| t >= from && t <= now;
    let (mut lo, mut hi) = (0.0f64, f64::MIN);
    for (_, s) in visible {
        for (_, v) in s.points.iter().filter(|(t, _)| in_window(*t)) {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if let Some((_, t)) = &p.threshold {
        hi = hi.max(*t);
    }
    let hi = nice_ceil(hi.max(lo + f64::EPSILON) * 1.05);
    let lo = if lo < 0.0 { -nice_ceil(-lo * 1.05) } else { 0.0 };
    let x0 = -(win as f64) / 1000.0;
    let markers: Vec<&Marker> =
        state.markers.iter().filter(|m| in_window(m.at) && state.env_visible(Some(&m.env))).collect();

    // Our own legend above the plot: always visible and never covering the lines.
    let mut entries: Vec<(String, Style)> =
        visible.iter().map(|(i, s)| (format!("━ {}", legend_label(s, p.unit)), pal.series(*i))).collect();
    if let Some((name, t)) = &p.threshold {
        entries.push((format!("┄ {}", threshold_label(name, *t, p.unit)), pal.fg(pal.threshold)));
    }
    for m in &markers {
        let what = if m.rollback { "rollback" } else { "deploy" };
        let at = format::hhmm(m.at, state.utc_offset_secs);
        entries.push((format!("│ {what} {} {} {at}", m.env, m.label), pal.fg(pal.marker)));
    }

    let inner = b.inner(r);
    f.render_widget(b, r);
    let max_legend = if inner.height >= 12 {
        3
    } else if inner.height >= 8 {
        2
    } else if inner.height >= 5 {
        1
    } else {
        0
    };
    let legend = legend_lines(entries, inner.width, max_legend);
    let lh = legend.len() as u16;
    f.render_widget(Paragraph::new(legend), Rect { height: lh, ..inner });
    let area = Rect { y: inner.y + lh, height: inner.height - lh, ..inner };
    if area.height < 3 || area.width < 12 {
        return;
    }

    // Axes: y labels on the left, time labels under the plot.
    let ylabels = [hi, (lo + hi) / 2.0, lo].map(|v| format::value(v, p.unit));
    let yw = ylabels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as u16;
    let plot = Rect { x: area.x + yw + 1, y: area.y, width: area.width - yw - 1, height: area.height - 2 };
    let buf = f.buffer_mut();
    let axis = pal.dim();
    for (k, l) in ylabels.iter().enumerate() {
        let y = match k {
            0 => plot.y,
            1 => plot.y + plot.height / 2,
            _ => plot.bottom() - 1,
        };
        buf.set_string(area.x + yw - l.chars().count() as u16, y, l, axis);
    }
    for y in plot.y..plot.bottom() {
        buf[(plot.x - 1, y)].set_symbol("│").set_style(axis);
    }
    buf[(plot.x - 1, plot.bottom())].set_symbol("└").set_style(axis);
    for x in plot.x..plot.right() {
        buf[(x, plot.bottom())].set_symbol("─").set_style(axis);
    }
    let ticks: i64 = if plot.width >= 50 { 4 } else { 2 };
    for k in 0..=ticks {
        let label = format::hhmm(from + win * k / ticks, state.utc_offset_secs);
        let lw = label.len() as u16;
        let x = plot.x + ((plot.width.saturating_sub(1)) as i64 * k / ticks) as u16;
        let x = x.saturating_sub(lw / 2).clamp(area.x, area.right().saturating_sub(lw));
        buf.set_string(x, plot.bottom() + 1, &label, axis);
    }

    let color = |st: Style| st.fg.unwrap_or(ratatui::style::Color::Reset);
    let xs = |t: i64| (t - now) as f64 / 1000.0;
    let canvas = Canvas::default().marker(DotMarker::Braille).x_bounds([x0, 0.0]).y_bounds([lo, hi]).paint(|ctx| {
        if let Some((_, t)) = &p.threshold {
            ctx.draw(&CanvasLine { x1: x0, y1: *t, x2: 0.0, y2: *t, color: color(pal.fg(pal.threshold)) });
        }
        for m in &markers {
            let x = xs(m.at);
            ctx.draw(&CanvasLine { x1: x, y1: lo, x2: x, y2: hi, color: color(pal.fg(pal.marker)) });
        }
        for (i, s) in visible {
            let c = color(pal.series(*i));
            let mut prev: Option<(f64, f64)> = None;
            let mut lone = true;
            for (t, v) in s.points.iter().filter(|(t, _)| in_window(*t)) {
                match v.filter(|v| v.is_finite()) {
                    Some(v) => {
                        let pt = (xs(*t), v);
                        if let Some(q) = prev {
                            ctx.draw(&CanvasLine { x1: q.0, y1: q.1, x2: pt.0, y2: pt.1, color: c });
                            lone = false;
                        }
                        prev = Some(pt);
                    }
                    None => {
                        if let (Some(q), true) = (prev, lone) {
                            ctx.draw(&Points { coords: &[q], color: c });
                        }
                        prev = None;
                        lone = true;
                    }
                }
            }
            if let (Some(q), true) = (prev, lone) {
                ctx.draw(&Points { coords: &[q], color: c });
            }
        }
    });
    f.render_widget(canvas, plot);
}

fn bars(pal: &Palette, f: &mut Frame, p: &PanelData, visible: &[(usize, &crate::app::PanelSeries)], b: Block, r: Rect) {
    let label_w = visible.iter().map(|(_, s)| s.label.chars().count()).max().unwrap_or(0).min(30);
    let max = visible.iter().filter_map(|(_, s)| s.last()).fold(0.0f64, f64::max);
    let max = if p.unit == Unit::Percent && p.kind == PanelKind::Gauge { max.max(100.0) } else { max };
    let bar_w = (r.width as usize).saturating_sub(label_w + 14).max(1);
    let lines: Vec<Line> = visible
        .iter()
        .map(|(i, s)| {
            let (bar, val) = match s.last() {
                Some(v) if max > 0.0 => {
                    ("█".repeat(((v / max) * bar_w as f64).round().max(0.0) as usize), format::value(v, p.unit))
                }
                Some(v) => (String::new(), format::value(v, p.unit)),
                None => (String::new(), S::NO_DATA.to_string()),
            };
            Line::from(vec![
                Span::styled(format!("{:<label_w$} ", s.label), pal.text()),
                Span::styled(format!("{bar:<bar_w$}"), pal.series(*i)),
                Span::styled(format!(" {val}"), pal.text()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(b), r);
}

fn table(
    pal: &Palette,
    f: &mut Frame,
    p: &PanelData,
    visible: &[(usize, &crate::app::PanelSeries)],
    b: Block,
    r: Rect,
) {
    let rows = visible.iter().map(|(i, s)| {
        let vals = s.points.iter().filter_map(|(_, v)| *v);
        let (mn, mx) = vals.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let fmt = |v: f64| if v == f64::MAX || v == f64::MIN { "—".to_string() } else { format::value(v, p.unit) };
        Row::new(vec![
            Cell::from(s.label.clone()).style(pal.series(*i)),
            Cell::from(s.last().map(|v| format::value(v, p.unit)).unwrap_or_else(|| S::NO_DATA.into())),
            Cell::from(fmt(mn)),
            Cell::from(fmt(mx)),
        ])
        .style(pal.text())
    });
    let t = Table::new(rows, [Constraint::Fill(3), Constraint::Fill(1), Constraint::Fill(1), Constraint::Fill(1)])
        .header(Row::new(["series", "now", "min", "max"]).style(pal.dim()))
        .block(b);
    f.render_widget(t, r);
}

fn alerts(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    let vis: Vec<_> = state.visible_alerts().collect();
    let firing = vis.iter().filter(|a| a.state == AlertState::Firing).count();
    let pending = vis.iter().filter(|a| a.state == AlertState::Pending).count();
    let counts = match (firing, pending) {
        (0, 0) => "none active".to_string(),
        (f, 0) => format!("{f} {}", S::FIRING),
        (0, p) => format!("{p} pending"),
        (f, p) => format!("{f} {}, {p} pending", S::FIRING),
    };
    let b = block(state, pal, ALERTS_ID, format!("{} · {counts}", S::ALERTS));
    if vis.is_empty() {
        f.render_widget(Paragraph::new(Span::styled(S::NO_ALERTS, pal.dim())).wrap(Wrap { trim: true }).block(b), r);
        return;
    }
    let focused = state.ui.focus == ALERTS_ID;
    let wide = r.width >= 90;
    let rows = vis.iter().enumerate().map(|(i, a)| {
        let mut st = format!("{} {}", alert_symbol(a.state), a.state.as_str());
        if a.acked {
            st.push_str(" ack");
        } else if a.silenced_until.is_some_and(|t| t > state.now) {
            st.push_str(" sil");
        }
        let since = a.resolved_at.unwrap_or(a.active_since);
        let mut cells = vec![
            Cell::from(st).style(pal.alert(a.state, &a.severity)),
            Cell::from(if wide { a.severity.clone() } else { a.severity.chars().take(4).collect() }),
            Cell::from(a.env.clone().unwrap_or_else(|| "—".into())),
            Cell::from(a.name.clone()).style(pal.alert(a.state, &a.severity)),
        ];
        if wide {
            cells.push(Cell::from(a.summary.clone()));
        }
        cells.push(Cell::from(format::age(state.now - since)));
        let row = Row::new(cells).style(pal.text());
        if focused && i == state.ui.alert_sel {
            row.style(pal.selected())
        } else {
            row
        }
    });
    let env_w = vis.iter().filter_map(|a| a.env.as_ref()).map(|e| e.chars().count()).max().unwrap_or(3).min(16) as u16;
    let sev_w = if wide { 8 } else { 4 };
    let mut widths =
        vec![Constraint::Length(12), Constraint::Length(sev_w), Constraint::Length(env_w), Constraint::Fill(1)];
    let mut head = vec!["state", if wide { "severity" } else { "sev" }, "env", "name"];
    if wide {
        widths[3] = Constraint::Length(18);
        widths.push(Constraint::Fill(1));
        head.push("summary");
    }
    widths.push(Constraint::Length(6));
    head.push("since");
    let t = Table::new(rows, widths).header(Row::new(head).style(pal.dim())).block(b);
    f.render_widget(t, r);
}

fn level_style(pal: &Palette, l: Level) -> Style {
    match l {
        Level::Critical | Level::Error => pal.fg(pal.bad).add_modifier(Modifier::BOLD),
        Level::Warning => pal.fg(pal.warn),
        Level::Info => pal.text(),
        _ => pal.dim(),
    }
}

/// One record on one line: time, level (as a word, not only a colour), [env], logger, message with
/// search matches highlighted, request id, and a mark when an exception is attached.
fn log_line<'a>(state: &State, pal: &Palette, rec: &'a LogRecord, show_env: bool, view: Option<&LogView>) -> Line<'a> {
    let mut spans = Vec::with_capacity(8);
    let time = match rec.ts_millis {
        Some(t) => format::clock(t, state.utc_offset_secs),
        None => rec.timestamp.as_deref().unwrap_or("        ").chars().take(8).collect(),
    };
    spans.push(Span::styled(format!("{time} "), pal.dim()));
    spans.push(Span::styled(format!("{:<5} ", short_level(rec.level)), level_style(pal, rec.level)));
    if show_env {
        if let Some(e) = &rec.env {
            spans.push(Span::styled(format!("{e:<11} "), pal.text()));
        }
    }
    if let Some(l) = &rec.logger {
        spans.push(Span::styled(format!("{l}: "), pal.dim()));
    }
    let msg: &str = if rec.message.is_empty() { &rec.line } else { &rec.message };
    let marks = view.map(|v| v.highlights(msg)).unwrap_or_default();
    let mut at = 0;
    for m in marks {
        if m.start < at || m.end > msg.len() || !msg.is_char_boundary(m.start) || !msg.is_char_boundary(m.end) {
            continue;
        }
        spans.push(Span::styled(&msg[at..m.start], pal.text()));
        spans.push(Span::styled(&msg[m.start..m.end], pal.selected().add_modifier(Modifier::UNDERLINED)));
        at = m.end;
    }
    spans.push(Span::styled(&msg[at..], pal.text()));
    if let Some(id) = &rec.request_id {
        spans.push(Span::styled(format!("  req={id}"), pal.dim()));
    }
    if rec.exception.is_some() {
        spans.push(Span::styled("  ⤷ exception", pal.fg(pal.bad)));
    }
    Line::from(spans)
}

fn short_level(l: Level) -> &'static str {
    match l {
        Level::Unknown => "-",
        Level::Trace => "TRACE",
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Warning => "WARN",
        Level::Error => "ERROR",
        Level::Critical => "CRIT",
    }
}

fn logs(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    let l = &state.ui.logs;
    let env = state.selected_env_name();
    let view = env.and_then(|e| state.log_views.get(e));
    let buf = env.and_then(|e| state.logs.get(e));
    let follow = match view {
        Some(v) => v.follow,
        None => state.log_views.values().all(|v| v.follow),
    };
    let mut title = format!(
        "{} · {} · {} · level {}",
        S::LOGS,
        env.unwrap_or(S::ALL_ENVS),
        if follow { "following" } else { "paused" },
        level_label(l.level)
    );
    if !l.query.is_empty() {
        title.push_str(&format!(" · /{}", l.query));
    }
    let bufs: Vec<&LogBuffer> = match buf {
        Some(b) => vec![b],
        None if env.is_some() => vec![],
        None => state.logs.buffers.values().collect(),
    };
    let rate: f64 = bufs.iter().map(|b| b.rate(state.now)).sum();
    let dropped: u64 = bufs.iter().map(|b| b.dropped()).sum();
    if !bufs.is_empty() {
        title.push_str(&format!(" · {}/s", format::short(rate)));
    }
    if dropped > 0 {
        title.push_str(&format!(" · {dropped} dropped at the bound"));
    }
    let mut b = block(state, pal, LOGS_ID, title);
    // A source's own trouble ("connection refused", "file rotated") is shown under the panel.
    if let Some(n) = bufs.iter().find_map(|b| b.notice.as_deref()) {
        b = b.title_bottom(Line::from(Span::styled(format!(" {n} "), pal.fg(pal.warn))));
    }
    let inner = b.inner(r);
    f.render_widget(b, r);
    let h = inner.height as usize;
    if bufs.iter().all(|b| b.is_empty()) {
        f.render_widget(Paragraph::new(Span::styled(S::NO_LOG_LINES, pal.dim())), inner);
        return;
    }
    let focused = state.ui.focus == LOGS_ID;
    let lines: Vec<Line> = match (view, buf) {
        (Some(v), Some(b)) => {
            let vis = v.visible();
            let sel = v.selected_index();
            // Keep the selection on screen; following keeps the newest at the bottom.
            let end = sel.map_or(vis.len(), |i| i + 1).max(h.min(vis.len()));
            let start = end.saturating_sub(h);
            vis[start..end]
                .iter()
                .filter_map(|&seq| b.get(seq).map(|rec| (seq, rec)))
                .map(|(seq, rec)| {
                    let line = log_line(state, pal, rec, false, Some(v));
                    if focused && Some(seq) == v.selected() {
                        line.style(pal.selected())
                    } else {
                        line
                    }
                })
                .collect()
        }
        _ => {
            // All environments: the newest lines of each, merged by time.
            let mut recs: Vec<(&LogRecord, Option<&LogView>)> = Vec::new();
            for (e, v) in &state.log_views {
                if let Some(b) = state.logs.get(e) {
                    let vis = v.visible();
                    let from = vis.len().saturating_sub(h);
                    recs.extend(vis[from..].iter().filter_map(|&s| b.get(s)).map(|r| (r, Some(v))));
                }
            }
            recs.sort_by_key(|(r, _)| r.ts_millis);
            let from = recs.len().saturating_sub(h);
            recs[from..].iter().map(|(rec, v)| log_line(state, pal, rec, true, *v)).collect()
        }
    };
    f.render_widget(Paragraph::new(lines), inner);
}

fn log_overlay(state: &State, pal: &Palette, f: &mut Frame, area: Rect, o: &LogOverlay) {
    let key = |k: &str| Span::styled(format!("{k:<12} "), pal.dim());
    let (title, lines): (String, Vec<Line>) = match o {
        LogOverlay::Details(env, seq) => {
            let Some(rec) = state.logs.get(env).and_then(|b| b.get(*seq)) else { return };
            let d = crate::logs::details(rec, state.trace_url.as_deref());
            let mut lines: Vec<Line> =
                d.fields.iter().map(|(k, v)| Line::from(vec![key(k), Span::styled(v.clone(), pal.text())])).collect();
            if let Some(link) = &d.trace_link {
                lines.push(Line::from(vec![
                    key("trace"),
                    Span::styled(link.clone(), pal.title().add_modifier(Modifier::UNDERLINED)),
                ]));
            }
            if !d.exception.is_empty() {
                lines.push(Line::from(key("exception")));
                for e in &d.exception {
                    lines.push(Line::from(Span::styled(format!("  {e}"), pal.fg(pal.bad))));
                }
            }
            (S::LOG_DETAILS.to_string(), lines)
        }
        LogOverlay::Correlate(id) => {
            let recs = crate::logs::correlate(id, state.logs.buffers.values());
            (S::correlated(id), recs.into_iter().map(|r| log_line(state, pal, r, true, None)).collect())
        }
    };
    let r = centered(area, area.width.saturating_sub(6).max(40), area.height.saturating_sub(4).max(10));
    f.render_widget(Clear, r);
    let p =
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(overlay_block(pal, &title, "c correlate · Esc close"));
    f.render_widget(p, r);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn overlay_block<'a>(pal: &Palette, title: &str, bottom: &str) -> Block<'a> {
    Block::bordered()
        .border_style(pal.border(true))
        .title(Span::styled(format!(" {title} "), pal.title()))
        .title_bottom(Line::from(Span::styled(format!(" {bottom} "), pal.dim())).right_aligned())
}

fn help(pal: &Palette, f: &mut Frame, area: Rect) {
    let per_col = KEYMAP.len().div_ceil(2);
    let entry = |i: usize| -> Vec<Span<'static>> {
        KEYMAP.get(i).map_or_else(Vec::new, |b| {
            vec![
                Span::styled(format!("{:>6}  ", b.label), pal.title()),
                Span::styled(format!("{:<30}", b.help), pal.text()),
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
    let r = centered(area, 80, per_col as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(overlay_block(pal, S::HELP, S::HELP_FOOTER)), r);
}

fn alert_details(state: &State, pal: &Palette, f: &mut Frame, area: Rect) {
    let Some(a) = state.selected_alert() else { return };
    let key = |k: &str| Span::styled(format!("{k:<12}"), pal.dim());
    let mut lines = vec![
        Line::from(vec![key("alert"), Span::styled(a.name.clone(), pal.alert(a.state, &a.severity))]),
        Line::from(vec![
            key("state"),
            Span::styled(format!("{} {}", alert_symbol(a.state), a.state.as_str()), pal.alert(a.state, &a.severity)),
            Span::raw(format!(
                " since {} ({} ago)",
                format::clock(a.active_since, state.utc_offset_secs),
                format::age(state.now - a.active_since)
            )),
        ]),
        Line::from(vec![key("severity"), Span::raw(a.severity.clone())]),
        Line::from(vec![key("environment"), Span::raw(a.env.clone().unwrap_or_else(|| "—".into()))]),
        Line::from(vec![key("value"), Span::raw(format::short(a.value))]),
        Line::from(vec![key("expr"), Span::styled(a.expr.clone(), pal.text())]),
    ];
    if a.acked {
        lines.push(Line::from(vec![key("acked"), Span::raw("yes (A withdraws)")]));
    }
    if let Some(t) = a.silenced_until.filter(|t| *t > state.now) {
        lines.push(Line::from(vec![
            key("silenced"),
            Span::raw(format!("until {}", format::clock(t, state.utc_offset_secs))),
        ]));
    }
    lines.push(Line::from(key("labels")));
    for (k, v) in &a.labels {
        lines.push(Line::from(format!("  {k}={v}")));
    }
    lines.push(Line::from(key("annotations")));
    for (k, v) in &a.annotations {
        // The runbook is what on-call needs first: make it stand out.
        let style = if k == "runbook_url" { pal.title().add_modifier(Modifier::UNDERLINED) } else { pal.text() };
        lines.push(Line::from(vec![Span::raw(format!("  {k}: ")), Span::styled(v.clone(), style)]));
    }
    lines.push(Line::from(key("transitions")));
    for (t, s) in &a.history {
        lines.push(Line::from(format!("  {} {}", format::clock(*t, state.utc_offset_secs), s.as_str())));
    }
    let r = centered(area, area.width.saturating_sub(8).max(40), area.height.saturating_sub(4).max(10));
    f.render_widget(Clear, r);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(overlay_block(pal, S::ALERT_DETAILS, "A ack · s silence · Esc close"))
        .style(Style::new());
    f.render_widget(p, r);
}

fn silence_picker(state: &State, pal: &Palette, f: &mut Frame, area: Rect, sel: usize) {
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
