//! A runbook as terminal lines: headings without their `#`, lists with their markers (ticks for
//! steps), code blocks framed without fences, links as their text and then their URL. Wrapped here
//! (by display width, so wide CJK and emoji take their two columns) because the cursor's unit
//! must be scrolled into view, and only this code knows how many rows each unit takes.
//!
//! Links are shown as text and URL, not as OSC 8 hyperlinks: ratatui's buffer holds cells, not
//! escapes, and a printed URL works in every terminal and in a copied screen.

use crate::model::runbook::{Marker, Span as RSpan, Unit, UnitKind};
use crate::model::RunbookView;
use crate::tui::theme::Palette;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// The runbook drawn `width` columns wide, and the rows (first, past-the-end) of each unit.
pub(super) struct Drawn {
    pub lines: Vec<Line<'static>>,
    pub rows: Vec<(usize, usize)>,
}

pub(super) fn draw(rv: &RunbookView, units: &[Unit<'_>], cursor: usize, width: u16, pal: &Palette) -> Drawn {
    let width = usize::from(width.max(8));
    let mut lines = Vec::new();
    let mut rows = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        if u.gap {
            lines.push(Line::default());
        }
        let start = lines.len();
        let selected = i == cursor;
        // The cursor is a mark, not only a colour: ▶ in the first column.
        let mark = if selected { "▶ " } else { "  " };
        let quote = if u.quote { "│ " } else { "" };
        let indent = format!("{quote}{}", "   ".repeat(u.depth));
        let lead = format!("{mark}{indent}");
        let rest = format!("  {indent}");
        let base = if selected { pal.text().add_modifier(Modifier::BOLD) } else { pal.text() };
        match u.kind {
            UnitKind::Heading(level, text) => {
                let style = match level {
                    1 => pal.title().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                    2 => pal.title().add_modifier(Modifier::BOLD),
                    _ => pal.text().add_modifier(Modifier::BOLD),
                };
                wrap(&mut lines, &lead, &rest, &styled(text, style, pal), width);
            }
            UnitKind::Text(text) => wrap(&mut lines, &lead, &rest, &styled(text, base, pal), width),
            UnitKind::Item(item, text) => {
                let marker = match item.marker {
                    Marker::Bullet => "• ".to_string(),
                    Marker::Number(n) => {
                        let done = item.step.is_some() && rv.ticked(item);
                        format!("{n}. {}", if done { "✔ " } else { "" })
                    }
                    Marker::Task(_) => if rv.ticked(item) { "[x] " } else { "[ ] " }.to_string(),
                };
                let pad = " ".repeat(marker.width());
                let done = item.step.is_some() && rv.ticked(item);
                // A ticked step is struck through and dimmed: done, but still readable.
                let style = if done { pal.dim().add_modifier(Modifier::CROSSED_OUT) } else { base };
                let mut parts = vec![(marker, if done { pal.fg(pal.ok) } else { pal.title() })];
                parts.extend(styled(text, style, pal));
                wrap(&mut lines, &lead, &format!("{rest}{pad}"), &parts, width);
            }
            UnitKind::Code(code) => {
                let bar = if selected { pal.title() } else { pal.dim() };
                let label = if code.lang.is_empty() { "code".to_string() } else { code.lang.clone() };
                let hint = if selected { " · y copies it" } else { "" };
                lines.push(Line::from(vec![
                    Span::raw(lead.clone()),
                    Span::styled(format!("┌ {label} {}{hint}", code.index + 1), bar),
                ]));
                for l in &code.lines {
                    // Code is cut, not word-wrapped, at the edge: continuation rows say so.
                    let room = width.saturating_sub(rest.width() + 2).max(4);
                    for (n, piece) in chunks(l, room).into_iter().enumerate() {
                        lines.push(Line::from(vec![
                            Span::raw(rest.clone()),
                            Span::styled(if n == 0 { "│ " } else { "┆ " }, bar),
                            Span::styled(piece, pal.fg(pal.accent)),
                        ]));
                    }
                }
                lines.push(Line::from(vec![Span::raw(rest.clone()), Span::styled("└", bar)]));
            }
            UnitKind::Rule => {
                let n = width.saturating_sub(lead.width()).min(60);
                lines.push(Line::from(vec![Span::raw(lead.clone()), Span::styled("─".repeat(n), pal.dim())]));
            }
        }
        if selected && start < lines.len() {
            if let Some(first) = lines[start].spans.first_mut() {
                first.style = pal.title();
            }
        }
        rows.push((start, lines.len()));
    }
    Drawn { lines, rows }
}

/// Spans with the runbook's styles; a link's URL follows its text (once per link).
fn styled(spans: &[RSpan], base: Style, pal: &Palette) -> Vec<(String, Style)> {
    let mut out = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if s.is_break() {
            out.push(("\n".to_string(), base));
            continue;
        }
        let mut st = base;
        if s.bold {
            st = st.add_modifier(Modifier::BOLD);
        }
        if s.italic {
            st = st.add_modifier(Modifier::ITALIC);
        }
        if s.strike {
            st = st.add_modifier(Modifier::CROSSED_OUT);
        }
        if s.code {
            st = pal.fg(pal.accent);
        }
        if s.link.is_some() {
            st = st.add_modifier(Modifier::UNDERLINED);
        }
        out.push((s.text.clone(), st));
        if let Some(url) = &s.link {
            let next_same = spans.get(i + 1).is_some_and(|n| n.link.as_ref() == Some(url));
            if !next_same && s.text != *url {
                out.push((format!(" <{url}>"), pal.dim()));
            }
        }
    }
    out
}

/// Word-wrap styled text into `lines`: `lead` before the first row, `rest` before the others.
pub(super) fn wrap(lines: &mut Vec<Line<'static>>, lead: &str, rest: &str, parts: &[(String, Style)], width: usize) {
    let mut row: Vec<Span<'static>> = vec![Span::raw(lead.to_string())];
    let mut used = lead.width();
    let mut prefix_w = used;
    let push_row = |lines: &mut Vec<Line<'static>>, row: &mut Vec<Span<'static>>| {
        lines.push(Line::from(std::mem::take(row)));
    };
    for (text, style) in parts {
        if text == "\n" {
            push_row(lines, &mut row);
            row.push(Span::raw(rest.to_string()));
            used = rest.width();
            prefix_w = used;
            continue;
        }
        // Words keep their following space, so a row can end on a space and the next start clean.
        for word in text.split_inclusive(' ') {
            let w = word.trim_end_matches(' ').width();
            if used + w > width && used > prefix_w {
                push_row(lines, &mut row);
                row.push(Span::raw(rest.to_string()));
                used = rest.width();
                prefix_w = used;
            }
            // A word wider than the row is cut.
            let room = width.saturating_sub(used).max(1);
            if w > room {
                let pieces = chunks(word, room.max(width.saturating_sub(rest.width()).max(4)));
                for (n, piece) in pieces.into_iter().enumerate() {
                    if n > 0 {
                        push_row(lines, &mut row);
                        row.push(Span::raw(rest.to_string()));
                        used = rest.width();
                        prefix_w = used;
                    }
                    used += piece.width();
                    row.push(Span::styled(piece, *style));
                }
                continue;
            }
            used += word.width();
            row.push(Span::styled(word.to_string(), *style));
        }
    }
    push_row(lines, &mut row);
}

/// `s` cut into pieces at most `cols` columns wide (by display width; never splitting a char).
fn chunks(s: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(2);
    let mut out = vec![String::new()];
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > cols {
            out.push(String::new());
            used = 0;
        }
        used += w;
        out.last_mut().expect("never empty").push(c);
    }
    out
}

/// The first row to show so the cursor's unit is in view, a third of the way down when it can be.
pub(super) fn top_row(d: &Drawn, cursor: usize, height: usize) -> usize {
    let total = d.lines.len();
    if total <= height {
        return 0;
    }
    let (start, end) = d.rows.get(cursor).copied().unwrap_or((0, 0));
    let mut top = start.saturating_sub(height / 3);
    // A unit taller than what is left below it shows from its start.
    if end > top + height {
        top = start.min(end.saturating_sub(height));
    }
    top.min(total - height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: &Drawn) -> Vec<String> {
        d.lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>().trim_end().to_string())
            .collect()
    }

    #[test]
    fn wraps_by_display_width_with_hanging_indent() {
        let mut lines = Vec::new();
        let parts = vec![("日本語のテキスト and some words that go on".to_string(), Style::new())];
        wrap(&mut lines, "▶ ", "  ", &parts, 20);
        for l in &lines {
            let w: usize = l.spans.iter().map(|s| s.content.width()).sum();
            assert!(w <= 20, "{w}: {l:?}");
        }
        let rows: Vec<String> = lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect();
        assert!(rows[0].starts_with("▶ 日本語"), "{rows:?}");
        assert!(rows[1..].iter().all(|r| r.starts_with("  ")), "{rows:?}");
        assert_eq!(rows.concat().replace([' ', '▶'], ""), "日本語のテキストandsomewordsthatgoon");
    }

    #[test]
    fn a_long_word_is_cut_not_lost() {
        let mut lines = Vec::new();
        wrap(&mut lines, "", "", &[("x".repeat(50), Style::new())], 20);
        let all: String = lines.iter().flat_map(|l| l.spans.iter().map(|s| s.content.to_string())).collect();
        assert_eq!(all, "x".repeat(50));
        assert!(lines.len() >= 3);
    }

    #[test]
    fn units_and_their_rows() {
        let doc = crate::runbook::markdown::parse("# T\n\npara\n\n- [ ] a\n- [ ] b\n\n```\nc\n```\n");
        let rv = RunbookView { key: "k".into(), source: None, doc: Ok(doc.clone()), ticks: Default::default() };
        let units = doc.units();
        let pal = Palette::new(crate::config::Theme::Basic, true);
        let d = draw(&rv, &units, 2, 40, &pal);
        assert_eq!(text(&d), ["  T", "", "  para", "", "▶ [ ] a", "  [ ] b", "", "  ┌ code 1", "  │ c", "  └"]);
        assert_eq!(d.rows, [(0, 1), (2, 3), (4, 5), (5, 6), (7, 10)]);
        assert_eq!(top_row(&d, 4, 4), 6, "the code block from its start, its end in view");
    }
}
