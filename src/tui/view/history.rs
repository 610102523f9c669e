//! The history view (`Modal::History`): an interrupted operation and its ways out first, the
//! rollback points, then one row per operation, newest first, and what could not be read from the
//! journal. Keys: `app::history`.

use crate::app::deploy_ops::{duration_text, op_label};
use crate::app::{strings as S, HistoryRow, State};
use crate::tui::theme::Palette;
use crate::tui::widgets::{centered, overlay_block};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

pub(super) fn draw(state: &State, pal: &Palette, f: &mut Frame, area: Rect, env: &str, scroll: usize) {
    let w = area.width.saturating_sub(4).min(120);
    let inner = usize::from(w.saturating_sub(2));
    let max_h = area.height.saturating_sub(2);
    let hist = state.deploy_history.get(env);
    let mut lines: Vec<Line> = Vec::new();
    let mut hint = S::HISTORY_HINT;
    if let Some(i) = hist.and_then(|h| h.interrupted.as_ref()) {
        hint = S::HISTORY_HINT_INTERRUPTED;
        let what = op_label(i.kind, &i.version);
        let when = stamp(i.started, state.utc_offset_secs);
        let text = format!("⚠ interrupted: {what} by {}, started {when}, reached {}", i.user, i.reached);
        lines.push(Line::from(Span::styled(text, pal.fg(pal.warn).add_modifier(Modifier::BOLD))));
        let to = i.rollback_point.as_deref().or_else(|| state.rollback_target(env));
        let back = to.map(|t| format!(" to {t}")).unwrap_or_default();
        let keys = format!("  v verify now · r roll back{back} · m mark resolved");
        lines.push(Line::from(Span::styled(keys, pal.title())));
        lines.push(Line::raw(""));
    }
    let Some(h) = hist else {
        lines.push(Line::from(Span::styled(S::NO_HISTORY_YET, pal.dim())));
        return frame(pal, f, area, w, env, hint, lines);
    };
    let points = if h.points.is_empty() { S::NO_POINTS.to_string() } else { h.points.join(" · ") };
    lines.push(Line::from(vec![
        Span::styled("rollback points  ", pal.dim()),
        Span::styled(points, pal.text()),
        Span::styled(if h.points.is_empty() { "" } else { "  (newest first)" }, pal.dim()),
    ]));
    lines.push(Line::raw(""));

    let rows: Vec<&HistoryRow> = state.history_rows(env).collect();
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(S::NO_HISTORY_ROWS, pal.dim())));
    } else {
        let vw = rows.iter().map(|r| r.version.chars().count()).max().unwrap_or(7).clamp(7, 18);
        let uw = rows.iter().map(|r| r.user.chars().count()).max().unwrap_or(3).clamp(3, 12);
        let head = format!(
            "{:<11}  {:<8}  {:<vw$}  {:<17}  {:>7}  {:<uw$}  {:<6}  detail",
            "started", "action", "version", "outcome", "took", "who", "forced"
        );
        lines.push(Line::from(Span::styled(head, pal.dim())));
        // Room left for rows: the box, what is above, the "more" line and the problems.
        let problems = if h.problems.is_empty() { 0 } else { h.problems.len().min(3) + 2 };
        let room = usize::from(max_h).saturating_sub(lines.len() + 2 + 1 + problems).max(1);
        let scroll = scroll.min(rows.len().saturating_sub(1));
        for r in rows.iter().skip(scroll).take(room) {
            let (sym, style) = outcome_style(pal, &r.outcome);
            let took = r.took_ms.map(duration_text).unwrap_or_else(|| "—".into());
            let cells = format!(
                "{:<11}  {:<8}  {:<vw$}  ",
                stamp(r.started, state.utc_offset_secs),
                r.kind.as_str(),
                clip(&r.version, vw)
            );
            let rest =
                format!("  {took:>7}  {:<uw$}  {:<6}  ", clip(&r.user, uw), if r.forced { "forced" } else { "" });
            let outcome = format!("{sym} {:<15}", clip(&r.outcome, 15));
            let used = cells.chars().count() + outcome.chars().count() + rest.chars().count();
            lines.push(Line::from(vec![
                Span::styled(cells, pal.text()),
                Span::styled(outcome, style),
                Span::styled(rest, pal.text()),
                Span::styled(clip(&r.detail, inner.saturating_sub(used)), pal.dim()),
            ]));
        }
        let below = rows.len().saturating_sub(scroll + room);
        if scroll > 0 || below > 0 {
            let more = format!("  {scroll} newer above · {below} older below (j/k)");
            lines.push(Line::from(Span::styled(more, pal.dim())));
        }
    }
    if !h.problems.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled("journal problems", pal.fg(pal.warn))));
        for p in h.problems.iter().take(3) {
            lines.push(Line::from(Span::styled(format!("  ⚠ {}", clip(p, inner.saturating_sub(4))), pal.fg(pal.warn))));
        }
    }
    frame(pal, f, area, w, env, hint, lines)
}

fn frame(pal: &Palette, f: &mut Frame, area: Rect, w: u16, env: &str, hint: &str, lines: Vec<Line>) {
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(overlay_block(pal, &S::history_title(env), hint)), r);
}

/// A row's outcome as a symbol and a style: the words are shown too.
fn outcome_style(pal: &Palette, outcome: &str) -> (&'static str, Style) {
    match outcome {
        "verified" => ("✔", pal.fg(pal.ok)),
        "rolled back" => ("↩", pal.fg(pal.warn)),
        "rollback failed" => ("✖", pal.fg(pal.bad).add_modifier(Modifier::BOLD)),
        "running" => ("⟳", pal.title()),
        "interrupted" => ("⚠", pal.fg(pal.warn).add_modifier(Modifier::BOLD)),
        "refused" => ("⊘", pal.dim()),
        _ => ("·", pal.text()),
    }
}

/// "11-14 22:13" in local time (the offset given, so tests are deterministic).
fn stamp(at: crate::app::Millis, utc_offset_secs: i32) -> String {
    chrono::DateTime::from_timestamp_millis(at + i64::from(utc_offset_secs) * 1000)
        .map(|d| d.format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "?".into())
}

/// At most `n` characters, the last one an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    s.chars().take(n.saturating_sub(1)).chain(std::iter::once('…')).collect()
}
