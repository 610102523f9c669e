//! The logs panel (one environment's filtered list, or all merged by time) and its overlays: a
//! record's details and the records sharing a request id.

use crate::app::{level_label, strings as S, State, LOGS_ID};
use crate::logs::{Level, LogBuffer, LogRecord, LogView};
use crate::tui::format;
use crate::tui::theme::Palette;
use crate::tui::widgets::{block, centered, overlay_block};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

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

pub(super) fn logs(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
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

/// `Modal::LogDetails`: one record, every field, the exception one line each, a trace link.
pub(super) fn record_details(state: &State, pal: &Palette, f: &mut Frame, area: Rect, env: &str, seq: u64) {
    let Some(rec) = state.logs.get(env).and_then(|b| b.get(seq)) else { return };
    let key = |k: &str| Span::styled(format!("{k:<12} "), pal.dim());
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
    log_overlay(pal, f, area, S::LOG_DETAILS, lines);
}

/// `Modal::LogCorrelate`: every line with this request id, across environments, in time order.
pub(super) fn correlated(state: &State, pal: &Palette, f: &mut Frame, area: Rect, id: &str) {
    let recs = crate::logs::correlate(id, state.logs.buffers.values());
    let lines = recs.into_iter().map(|r| log_line(state, pal, r, true, None)).collect();
    log_overlay(pal, f, area, &S::correlated(id), lines);
}

fn log_overlay(pal: &Palette, f: &mut Frame, area: Rect, title: &str, lines: Vec<Line>) {
    let r = centered(area, area.width.saturating_sub(6).max(40), area.height.saturating_sub(4).max(10));
    f.render_widget(Clear, r);
    let p =
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(overlay_block(pal, title, "c correlate · Esc close"));
    f.render_widget(p, r);
}
