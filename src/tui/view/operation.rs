//! The progress view (`Modal::Operation`): one environment's deploy, rollback or promotion as the
//! engine reports it. What it is and where it stands first, then how it ended (or the latest
//! thing that happened), then the gates, the steps so far and the driver's output tail, so a short
//! terminal clips the output before the outcome. Keys: `app::deploy_ops`.

use crate::app::deploy_ops::{duration_text, op_label, phase_text};
use crate::app::{strings as S, DeployProgress, Final, State};
use crate::tui::format;
use crate::tui::theme::{check_symbol, Palette};
use crate::tui::widgets::{centered, overlay_block, wrapped_rows};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Steps and output lines shown at most.
const TAIL: usize = 6;

pub(super) fn draw(state: &State, pal: &Palette, f: &mut Frame, area: Rect, env: &str) {
    let w = area.width.saturating_sub(4).min(100);
    let inner = w.saturating_sub(2);
    let (title, hint, lines) = match state.deploy_ops.get(env) {
        Some(p) => {
            let hint = if p.last.is_none() { S::OPERATION_HINT_RUNNING } else { S::OPERATION_HINT_ENDED };
            (S::operation_title(p.kind, env, &p.version), hint, progress_lines(state, pal, p))
        }
        None => (S::operation_on(env), S::OPERATION_HINT_ENDED, waiting_lines(state, pal, env)),
    };
    let rows: u16 = lines.iter().map(|l| wrapped_rows(&plain(l), inner)).sum();
    let r = centered(area, w, (rows + 2).min(area.height.saturating_sub(2)));
    f.render_widget(Clear, r);
    let block = overlay_block(pal, &title, hint);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), r);
}

fn plain(l: &Line) -> String {
    l.spans.iter().map(|s| s.content.as_ref()).collect()
}

fn fact<'a>(pal: &Palette, key: &str, value: String, style: Style) -> Line<'a> {
    Line::from(vec![Span::styled(format!("{key:<12}"), pal.dim()), Span::styled(value, style)])
}

fn heading<'a>(pal: &Palette, text: &str) -> Line<'a> {
    Line::from(Span::styled(text.to_string(), pal.title()))
}

/// Confirmed here, not reported by the engine yet (a refusal may come as a notice only: the
/// footer shows it).
fn waiting_lines<'a>(state: &State, pal: &Palette, env: &str) -> Vec<Line<'a>> {
    let line = match state.deploy_requested.get(env) {
        Some((_, what)) => Line::from(Span::styled(S::waiting_for_engine(what), pal.title())),
        None => Line::from(Span::styled(S::no_operation(env), pal.dim())),
    };
    vec![line]
}

fn outcome_label(last: Final) -> &'static str {
    match last {
        Final::Verified => "✔ VERIFIED",
        Final::RolledBack => "↩ ROLLED BACK",
        Final::RollbackFailed => "✖ ROLLBACK FAILED",
        Final::Refused => "⊘ REFUSED",
        Final::DryRun => "DRY RUN",
    }
}

fn progress_lines<'a>(state: &State, pal: &Palette, p: &DeployProgress) -> Vec<Line<'a>> {
    let mut lines = vec![
        fact(pal, "operation", op_label(p.kind, &p.version), pal.title()),
        fact(pal, "rollback to", p.rollback_point.clone().unwrap_or_else(|| S::NO_POINT.into()), pal.text()),
    ];
    let trail = state.deploy_trail.get(&p.env);
    let started =
        format!("{} · {} ago", format::clock(p.started, state.utc_offset_secs), duration_text(state.now - p.started));
    match p.last {
        None => {
            let mut phase = format!("⟳ {}", phase_text(p, state.now));
            if let (Some(t), crate::app::Phase::Bake) = (p.bake_until, p.phase) {
                phase.push_str(&format!(" (until {})", format::clock(t, state.utc_offset_secs)));
            }
            lines.push(fact(pal, "phase", phase, pal.title()));
            lines.push(fact(pal, "started", started, pal.text()));
            lines.push(fact(pal, "now", p.message.clone(), pal.text().add_modifier(Modifier::BOLD)));
        }
        Some(last) => {
            let took = trail.and_then(|t| t.ended_at).map(|e| format!(" · took {}", duration_text(e - p.started)));
            lines.push(fact(pal, "started", format!("{started}{}", took.unwrap_or_default()), pal.text()));
            let style = match last {
                Final::Verified | Final::DryRun => pal.fg(pal.ok).add_modifier(Modifier::BOLD),
                Final::RolledBack | Final::Refused => pal.fg(pal.warn).add_modifier(Modifier::BOLD),
                Final::RollbackFailed => pal.fg(pal.bad).add_modifier(Modifier::BOLD | Modifier::REVERSED),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{:<12}", "outcome"), pal.dim()),
                Span::styled(outcome_label(last), style),
                Span::styled(format!("  {}", p.message), pal.text().add_modifier(Modifier::BOLD)),
            ]));
        }
    }

    lines.push(Line::raw(""));
    lines.push(heading(pal, "gates"));
    if p.gates.is_empty() {
        lines.push(Line::from(Span::styled(format!("  {}", S::NO_GATES), pal.dim())));
    }
    let name_w = p.gates.iter().map(|g| g.name.chars().count()).max().unwrap_or(0).min(24);
    for g in &p.gates {
        let value = g.value.map(gate_value).unwrap_or_else(|| "—".into());
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", check_symbol(g.outcome)), pal.check(g.outcome)),
            Span::styled(format!("{:<name_w$}  ", g.name), pal.text()),
            Span::styled(format!("{value:>8}  "), pal.text()),
            Span::styled(format!("{:<12}  ", g.outcome.as_str()), pal.check(g.outcome)),
            Span::styled(g.detail.clone(), pal.dim()),
        ]));
    }

    // The steps before the latest (shown above as "now" or as the outcome).
    let steps: Vec<&String> = trail.map(|t| t.steps.iter().collect()).unwrap_or_default();
    let earlier = &steps[..steps.len().saturating_sub(1)];
    if !earlier.is_empty() {
        lines.push(Line::raw(""));
        lines.push(heading(pal, "steps"));
        for s in &earlier[earlier.len().saturating_sub(TAIL)..] {
            lines.push(Line::from(Span::styled(format!("  · {s}"), pal.text())));
        }
    }

    lines.push(Line::raw(""));
    lines.push(heading(pal, "driver output"));
    if p.output.is_empty() {
        lines.push(Line::from(Span::styled(format!("  {}", S::NO_OUTPUT), pal.dim())));
    }
    for o in &p.output[p.output.len().saturating_sub(TAIL)..] {
        lines.push(Line::from(Span::styled(format!("  │ {o}"), pal.dim())));
    }
    lines
}

/// A gate's value as measured: small ratios keep their digits ("0.008"), big ones shrink ("1.2k").
fn gate_value(v: f64) -> String {
    if !v.is_finite() || v.abs() >= 1000.0 {
        return format::short(v);
    }
    if v != 0.0 && v.abs() < 0.001 {
        return format!("{v:.2e}");
    }
    let t = format!("{v:.4}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
#[path = "operation_tests.rs"]
mod tests;
