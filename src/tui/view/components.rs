//! The component view (`C`, `Modal::Components`): per environment its backup (freshness, the age
//! of the last good one against its policy, the last read apart from it) and each component's
//! state, failing streak, last duration, the reason in words, its last output and transitions.

use crate::app::{strings as S, State};
use crate::model::{BackupStatus, ComponentState, ComponentStatus, Freshness};
use crate::tui::format;
use crate::tui::theme::Palette;
use crate::tui::widgets::{centered, overlay_block};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

/// Output lines shown per component.
const OUTPUT_LINES: usize = 3;

/// A state's mark: carries its meaning without colour.
pub fn component_symbol(s: ComponentState) -> &'static str {
    match s {
        ComponentState::Healthy => "✔",
        ComponentState::Unhealthy => "✖",
        ComponentState::Starting => "…",
    }
}

pub fn backup_symbol(f: Freshness) -> &'static str {
    match f {
        Freshness::Fresh => "✔",
        Freshness::Due => "◷",
        Freshness::Overdue => "✖",
    }
}

pub(super) fn component_style(pal: &Palette, s: ComponentState) -> Style {
    match s {
        ComponentState::Healthy => pal.fg(pal.ok),
        ComponentState::Unhealthy => pal.fg(pal.bad).add_modifier(Modifier::BOLD),
        ComponentState::Starting => pal.fg(pal.warn),
    }
}

pub(super) fn backup_style(pal: &Palette, f: Freshness) -> Style {
    match f {
        Freshness::Fresh => pal.fg(pal.ok),
        Freshness::Due => pal.fg(pal.warn),
        Freshness::Overdue => pal.fg(pal.bad).add_modifier(Modifier::BOLD),
    }
}

/// "fresh 3m" / "overdue 1d": the overview's short form.
pub fn backup_short(b: &BackupStatus, now: i64) -> String {
    match b.last_success {
        Some(t) => format!("{} {} {}", backup_symbol(b.state), b.state.as_str(), format::age(now - t)),
        None => format!("{} {} none", backup_symbol(b.state), b.state.as_str()),
    }
}

pub(super) fn draw(state: &State, pal: &Palette, f: &mut Frame, area: Rect, scroll: usize) {
    let w = area.width.saturating_sub(4).min(130);
    let envs: Vec<&str> = match state.selected_env_name() {
        Some(e) => vec![e],
        None => state.envs.iter().map(|e| e.name.as_str()).collect(),
    };
    let mut lines: Vec<Line> = Vec::new();
    for env in envs {
        let comps = state.components.get(env).map(Vec::as_slice).unwrap_or_default();
        let backup = state.backups.get(env);
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::from(Span::styled(env.to_string(), pal.title().add_modifier(Modifier::BOLD))));
        lines.push(backup_line(state, pal, backup));
        if comps.is_empty() {
            lines.push(Line::from(Span::styled(format!("  {}", S::NO_COMPONENTS), pal.dim())));
        }
        for c in comps {
            component_lines(state, pal, c, &mut lines);
        }
    }
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2)).max(5);
    let room = usize::from(h.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(room));
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).collect();
    let p = Paragraph::new(shown).block(overlay_block(pal, S::COMPONENTS_TITLE, S::COMPONENTS_HINT));
    f.render_widget(p, r);
}

fn backup_line<'a>(state: &State, pal: &Palette, b: Option<&BackupStatus>) -> Line<'a> {
    let Some(b) = b else {
        return Line::from(Span::styled(format!("  backup     {}", S::NO_BACKUP_CONFIGURED), pal.dim()));
    };
    let policy = crate::duration::format(std::time::Duration::from_secs(b.policy_seconds));
    let age = match b.last_success {
        Some(t) => format!("last good {} ago", format::age(state.now - t)),
        None => S::NO_BACKUP_KNOWN.to_string(),
    };
    let mut spans = vec![
        Span::styled("  backup     ", pal.dim()),
        Span::styled(format!("{} {}", backup_symbol(b.state), b.state.as_str()), backup_style(pal, b.state)),
        Span::styled(format!(" · {age} (policy {policy})"), pal.text()),
    ];
    let read = b.checked.map(|t| format!("{} ago", format::age(state.now - t))).unwrap_or_else(|| "never".into());
    match (&b.last_attempt.error, &b.last_attempt.detail) {
        (Some(e), _) => spans.push(Span::styled(format!(" · last read {read} FAILED: {e}"), pal.fg(pal.bad))),
        (None, Some(d)) => spans.push(Span::styled(format!(" · read {read} via {}: {d}", b.source), pal.dim())),
        (None, None) => spans.push(Span::styled(format!(" · read {read} via {}", b.source), pal.dim())),
    }
    Line::from(spans)
}

fn component_lines(state: &State, pal: &Palette, c: &ComponentStatus, lines: &mut Vec<Line<'_>>) {
    let st = component_style(pal, c.state);
    let took = c.last_duration_ms.map(format::latency_ms).unwrap_or_else(|| "—".into());
    let checked =
        c.last_check.map(|t| format!("{} ago", format::age(state.now - t))).unwrap_or_else(|| "not yet".into());
    let streak = format!("failing {}/{}", c.failing_streak, c.retries);
    lines.push(Line::from(vec![
        Span::raw("  "),
        Span::styled(format!("{} {:<10}", component_symbol(c.state), c.state.as_str()), st),
        Span::styled(format!("{:<14}", c.name), pal.text().add_modifier(Modifier::BOLD)),
        Span::styled(format!("{:<8}", c.kind), pal.dim()),
        Span::styled(format!("{streak:<14}"), if c.failing_streak > 0 { pal.fg(pal.warn) } else { pal.dim() }),
        Span::styled(format!("took {took:<9}"), pal.dim()),
        Span::styled(format!("checked {checked}"), pal.dim()),
    ]));
    if c.tls_unverified {
        lines.push(Line::from(vec![
            Span::styled("      tls  ", pal.dim()),
            Span::styled(S::TLS_UNVERIFIED, pal.fg(pal.warn).add_modifier(Modifier::BOLD)),
        ]));
    }
    if let Some(r) = &c.reason {
        lines.push(Line::from(vec![Span::styled("      why  ", pal.dim()), Span::styled(r.clone(), pal.fg(pal.bad))]));
    }
    let out: Vec<&str> = c.output.lines().filter(|l| !l.trim().is_empty()).take(OUTPUT_LINES).collect();
    for (i, l) in out.iter().enumerate() {
        let label = if i == 0 { "      out  " } else { "           " };
        lines.push(Line::from(vec![Span::styled(label, pal.dim()), Span::styled(l.to_string(), pal.text())]));
    }
    if c.transitions.len() > 1 {
        let t: Vec<String> = c
            .transitions
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(|(at, s)| format!("{} {}", format::clock(*at, state.utc_offset_secs), s.as_str()))
            .collect();
        lines.push(Line::from(vec![Span::styled("      was  ", pal.dim()), Span::styled(t.join(" → "), pal.dim())]));
    }
}
