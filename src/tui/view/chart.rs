//! Line charts: an own legend above the plot, axes, threshold and deploy markers, series drawn on
//! one Braille canvas.

use crate::app::{strings as S, Marker, PanelData, PanelSeries, State, Unit};
use crate::tui::format;
use crate::tui::theme::Palette;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker as DotMarker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Line as CanvasLine, Points};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

/// "HighErrorRate 5%": the value is added unless the name already states it.
fn threshold_label(name: &str, t: f64, unit: Unit) -> String {
    let v = format::value(t, unit);
    if name.contains(&v) {
        name.to_string()
    } else {
        format!("{name} {v}")
    }
}

fn legend_label(s: &PanelSeries, unit: Unit) -> String {
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
pub(super) fn line_chart(
    state: &State,
    pal: &Palette,
    f: &mut Frame,
    p: &PanelData,
    visible: &[(usize, &PanelSeries)],
    b: Block,
    r: Rect,
) {
    let now = state.now;
    // Right after start-up there is less history than the window: fit the axis to what exists
    // (at least a minute), rather than squeezing it into the last column.
    let full = now - state.ui.window.as_millis() as i64;
    // Points are in time order: slice the window out instead of scanning all history per frame.
    let in_win = |pts: &[(i64, Option<f64>)], from: i64| -> std::ops::Range<usize> {
        pts.partition_point(|(t, _)| *t < from)..pts.partition_point(|(t, _)| *t <= now)
    };
    let first = visible
        .iter()
        .filter_map(|(_, s)| s.points[in_win(&s.points, full)].iter().find(|(_, v)| v.is_some()))
        .map(|(t, _)| *t)
        .min();
    let win = (now - full).min(first.map_or(i64::MAX, |f| (now - f).max(60_000)));
    let from = now - win;
    let in_window = |t: i64| t >= from && t <= now;
    let (mut lo, mut hi) = (0.0f64, f64::MIN);
    for (_, s) in visible {
        for (_, v) in &s.points[in_win(&s.points, from)] {
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
        let t = from + win * k / ticks;
        // Short spans need seconds to tell the ticks apart.
        let label = if win < 600_000 {
            format::clock(t, state.utc_offset_secs)
        } else {
            format::hhmm(t, state.utc_offset_secs)
        };
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
            for (t, v) in &s.points[in_win(&s.points, from)] {
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
