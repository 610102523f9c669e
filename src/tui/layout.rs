//! Where each panel goes for a terminal size. Shared by the view and the mouse handler (click to
//! focus), so both agree on what is where. Wide terminals get a grid; narrow ones a single column
//! with the focused panel promoted; what does not fit is listed on a one-line "more" strip.

use crate::app::{State, ALERTS_ID, LOGS_ID, OVERVIEW_ID};
use ratatui::layout::Rect;

#[derive(Debug, Default, Clone)]
pub struct Placement {
    pub header: Rect,
    /// Under the header: the deploy operations' status and interrupted-operation banners
    /// (`State::header_lines`), one row each; none when there is nothing to say.
    pub status: Option<Rect>,
    pub footer: Rect,
    pub panels: Vec<(String, Rect)>,
    /// Panels that did not fit, shown by name on `more`.
    pub collapsed: Vec<String>,
    pub more: Option<Rect>,
}

impl Placement {
    pub fn panel_at(&self, x: u16, y: u16) -> Option<&str> {
        self.panels.iter().find(|(_, r)| r.contains(ratatui::layout::Position { x, y })).map(|(id, _)| id.as_str())
    }
}

const CHART_MIN: u16 = 8;
const LOGS_MIN: u16 = 6;

struct Row {
    ids: Vec<String>,
    min: u16,
    /// Takes a share of the leftover height.
    grows: bool,
}

pub fn place(state: &State, area: Rect) -> Placement {
    let mut p = Placement::default();
    if area.height < 3 || area.width < 10 {
        p.panels.push((OVERVIEW_ID.into(), area));
        return p;
    }
    p.header = Rect { height: 1, ..area };
    p.footer = Rect { y: area.bottom() - 1, height: 1, ..area };
    // Status rows only while the body keeps a few rows of its own.
    let lines = state.header_lines().len() as u16;
    let status_h = lines.min(area.height.saturating_sub(6) / 4);
    if status_h > 0 {
        p.status = Some(Rect { y: area.y + 1, height: status_h, ..area });
    }
    let body = Rect { y: area.y + 1 + status_h, height: area.height - 2 - status_h, ..area };
    if state.ui.zoom {
        p.panels.push((state.ui.focus.clone(), body));
        return p;
    }

    let wide = body.width >= 120;
    // Three columns from 150: the main view keeps overview, alerts and the reference app's charts
    // (errors, latency, scrapers, cost) together at 160x45.
    let cols: usize = if body.width >= 150 {
        3
    } else if wide {
        2
    } else {
        1
    };
    let envs = state.envs.len().max(1) as u16;
    let overview_h = (envs + 3).clamp(5, (body.height / 3).max(5));
    let charts: Vec<String> = state
        .slots()
        .into_iter()
        .filter(|s| ![OVERVIEW_ID, ALERTS_ID, LOGS_ID].contains(s))
        .map(String::from)
        .collect();

    let mut rows: Vec<Row> = Vec::new();
    if wide {
        rows.push(Row { ids: vec![OVERVIEW_ID.into(), ALERTS_ID.into()], min: overview_h.max(7), grows: false });
        for chunk in charts.chunks(cols) {
            rows.push(Row { ids: chunk.to_vec(), min: CHART_MIN, grows: true });
        }
        let n_rows = rows.len();
        match rows.last_mut() {
            // A short last row of charts leaves room: logs join it rather than take a row of their own.
            Some(last) if last.ids.len() < cols && n_rows > 1 => last.ids.push(LOGS_ID.into()),
            // Otherwise logs get a fixed strip (L shows them full screen); charts take the rest.
            _ => rows.push(Row { ids: vec![LOGS_ID.into()], min: LOGS_MIN + body.height / 10, grows: false }),
        }
    } else {
        rows.push(Row { ids: vec![OVERVIEW_ID.into()], min: overview_h, grows: false });
        let alerts_h = (state.visible_alerts().count().min(3) as u16 + 3).max(4);
        let mut rest: Vec<Row> = Vec::new();
        rest.push(Row { ids: vec![ALERTS_ID.into()], min: alerts_h, grows: false });
        for c in &charts {
            rest.push(Row { ids: vec![c.clone()], min: CHART_MIN, grows: true });
        }
        rest.push(Row { ids: vec![LOGS_ID.into()], min: LOGS_MIN, grows: true });
        // The focused panel is always on screen: move it right after the overview.
        if let Some(i) = rest.iter().position(|r| r.ids.contains(&state.ui.focus)) {
            let r = rest.remove(i);
            rest.insert(0, r);
        }
        rows.extend(rest);
    }

    // Keep rows in order while they fit, reserving a line for the "more" strip when some won't.
    let total_min: u16 = rows.iter().map(|r| r.min).sum();
    let mut avail = body.height;
    let mut kept: Vec<Row> = Vec::new();
    if total_min > avail {
        avail = avail.saturating_sub(1);
    }
    let mut used = 0u16;
    for r in rows {
        // A focused overview row is never dropped; nor is the first row.
        if used + r.min <= avail || kept.is_empty() {
            used += r.min.min(avail - used.min(avail));
            kept.push(r);
        } else {
            p.collapsed.extend(r.ids);
        }
    }
    // Growing rows share the leftover height; the last of them also takes the rounding rest.
    let growers = kept.iter().filter(|r| r.grows).count() as u16;
    let extra = avail.saturating_sub(used);
    let mut heights: Vec<u16> = kept.iter().map(|r| r.min + if r.grows { extra / growers.max(1) } else { 0 }).collect();
    let last = kept.iter().rposition(|r| r.grows).unwrap_or(kept.len() - 1);
    let sum: u16 = heights.iter().sum();
    heights[last] += avail.saturating_sub(sum);
    let mut y = body.y;
    for (r, h) in kept.into_iter().zip(heights) {
        let h = h.min(body.y + avail - y.min(body.y + avail));
        let row = Rect { x: body.x, y, width: body.width, height: h };
        let n = r.ids.len() as u16;
        let ids_len = r.ids.len();
        let mut x = row.x;
        for (j, id) in r.ids.into_iter().enumerate() {
            // The overview row gives the overview a bit more than half.
            let w = if ids_len == 1 {
                row.width
            } else if j + 1 == ids_len {
                row.right() - x
            } else if id == OVERVIEW_ID {
                row.width * 55 / 100
            } else {
                row.width / n
            };
            p.panels.push((id, Rect { x, y: row.y, width: w, height: row.height }));
            x += w;
        }
        y += h;
    }
    if !p.collapsed.is_empty() {
        p.more = Some(Rect { x: body.x, y: body.bottom() - 1, width: body.width, height: 1 });
    }
    p
}
