//! The alerts list and one alert's details.

use super::runbook;
use crate::app::{strings as S, AlertState, Modal, State, ALERTS_ID};
use crate::tui::format;
use crate::tui::theme::{alert_symbol, Palette};
use crate::tui::widgets::{block, centered, overlay_block};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

pub(super) fn alerts(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    let vis: Vec<_> = state.visible_alerts().collect();
    let firing = vis.iter().filter(|a| a.state == AlertState::Firing).count();
    let pending = vis.iter().filter(|a| a.state == AlertState::Pending).count();
    let counts = match (firing, pending) {
        (0, 0) => "none active".to_string(),
        (f, 0) => format!("{f} {}", S::FIRING),
        (0, p) => format!("{p} pending"),
        (f, p) => format!("{f} {}, {p} pending", S::FIRING),
    };
    // With a server configured, say where the alerts come from (local rules, the rules through
    // the server, or the server's own).
    let title = match state.alert_source {
        Some(src) => format!("{} ({src}) · {counts}", S::ALERTS),
        None => format!("{} · {counts}", S::ALERTS),
    };
    let b = block(state, pal, ALERTS_ID, title);
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

pub(super) fn alert_details(state: &State, pal: &Palette, f: &mut Frame, area: Rect) {
    let Some(a) = state.details_alert() else { return };
    let rv = state.details_runbook();
    let doc = rv.and_then(|r| r.doc.as_ref().ok());
    let hint = if doc.is_some() { S::DETAILS_KEYS } else { S::DETAILS_KEYS_NO_RUNBOOK };
    let r = centered(area, area.width.saturating_sub(8).max(40), area.height.saturating_sub(4).max(10));
    f.render_widget(Clear, r);
    let frame = overlay_block(pal, S::ALERT_DETAILS, hint);
    let inner = frame.inner(r);
    f.render_widget(frame, r);
    let side_by_side = inner.width >= 110;
    let facts_w = if side_by_side { inner.width * 2 / 5 } else { inner.width } as usize;

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
    ];
    // Long values wrap under themselves, not under the keys, so the column stays readable.
    let indent = " ".repeat(12);
    runbook::wrap(
        &mut lines,
        "",
        &indent,
        &[(format!("{:<12}", "expr"), pal.dim()), (a.expr.clone(), pal.text())],
        facts_w,
    );
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
        runbook::wrap(&mut lines, "  ", "    ", &[(format!("{k}={v}"), pal.text())], facts_w);
    }
    lines.push(Line::from(key("annotations")));
    for (k, v) in &a.annotations {
        // The runbook is what on-call needs first: make it stand out.
        let style = if k == "runbook_url" { pal.title().add_modifier(Modifier::UNDERLINED) } else { pal.text() };
        runbook::wrap(&mut lines, "  ", "    ", &[(format!("{k}: "), pal.text()), (v.clone(), style)], facts_w);
    }
    lines.push(Line::from(key("transitions")));
    for (t, s) in &a.history {
        lines.push(Line::from(format!("  {} {}", format::clock(*t, state.utc_offset_secs), s.as_str())));
    }
    // Side by side when there is room (the runbook beside the alert), else the runbook below.
    let (facts_r, book_r) = if side_by_side {
        let [a, b] = Layout::horizontal([Constraint::Length(facts_w as u16), Constraint::Fill(1)]).areas(inner);
        (a, Rect { x: b.x + 1, width: b.width.saturating_sub(1), ..b })
    } else {
        let want = (lines.len() as u16).min(inner.height / 2);
        let [a, b] = Layout::vertical([Constraint::Length(want), Constraint::Fill(1)]).areas(inner);
        (a, b)
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), facts_r);
    runbook_pane(state, pal, f, book_r);
}

/// The runbook's pane: where it came from, then the runbook (scrolled to the cursor), or why not.
fn runbook_pane(state: &State, pal: &Palette, f: &mut Frame, r: Rect) {
    if r.height < 2 || r.width < 10 {
        return;
    }
    let cursor = match &state.ui.modal {
        Some(Modal::AlertDetails(d)) => d.cursor,
        _ => 0,
    };
    let mut head = vec![Span::styled(format!("{} ", S::RUNBOOK), pal.title().add_modifier(Modifier::BOLD))];
    let body: Vec<Line> = match state.details_runbook() {
        None => vec![Line::from(Span::styled(S::RUNBOOK_LOADING, pal.dim()))],
        Some(rv) => {
            if let Some(src) = &rv.source {
                head.push(Span::styled(src.clone(), pal.dim().add_modifier(Modifier::UNDERLINED)));
            }
            match &rv.doc {
                Err(why) => {
                    let style = if rv.source.is_some() { pal.fg(pal.warn) } else { pal.dim() };
                    let text = if rv.source.is_some() { format!("not loaded: {why}") } else { why.clone() };
                    vec![Line::from(Span::styled(text, style))]
                }
                Ok(doc) => {
                    let units = doc.units();
                    let height = usize::from(r.height - 2);
                    let drawn = runbook::draw(rv, &units, cursor, r.width, pal);
                    let top = runbook::top_row(&drawn, cursor, height);
                    let more_below = drawn.lines.len() > top + height;
                    let mut lines: Vec<Line> = drawn.lines.into_iter().skip(top).take(height).collect();
                    if more_below {
                        if let Some(last) = lines.last_mut() {
                            *last = Line::from(Span::styled("  ↓ more (j, PgDn)", pal.dim()));
                        }
                    }
                    lines
                }
            }
        }
    };
    let mut all = vec![Line::from(head), Line::default()];
    all.extend(body);
    f.render_widget(Paragraph::new(all).wrap(Wrap { trim: false }), r);
}
