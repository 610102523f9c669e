//! The dashboard: layout, panels, dialogs, theme, and the terminal loop. `view` is a pure view of
//! `app::State`; `run_dashboard` is the only place that touches the terminal.

mod confirm;
mod deploy_dialog;
pub mod format;
pub mod layout;
pub mod theme;
mod view;
mod widgets;

pub use view::view;

use crate::app::{Command, Event, State};
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream, KeyEventKind, MouseButton, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::io::{stdout, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct TuiOptions {
    pub no_color: bool,
    /// Click to focus, wheel to scroll. Off leaves the terminal's own text selection alone.
    pub mouse: bool,
    /// How often age labels and the clock are refreshed when nothing else happens.
    pub tick: Duration,
    /// Ring the terminal bell when a new critical alert fires (`[alerting] bell`).
    pub bell: bool,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions { no_color: false, mouse: true, tick: Duration::from_secs(1), bell: true }
    }
}

/// Whether the mouse was captured, so restoring (also from the panic hook) releases it.
static MOUSE: AtomicBool = AtomicBool::new(false);

fn restore_terminal() {
    let mut out = stdout();
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = disable_raw_mode();
    let _ = execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
}

/// Restores the terminal when the loop ends, whichever way (return, `?`, or unwinding).
struct TermGuard;

impl Drop for TermGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first, so the panic message lands on a usable screen.
            restore_terminal();
            prev(info);
        }));
    });
}

fn setup(mouse: bool) -> anyhow::Result<(TermGuard, Terminal<CrosstermBackend<Stdout>>)> {
    install_panic_hook();
    enable_raw_mode()?;
    let guard = TermGuard;
    let mut out = stdout();
    execute!(out, EnterAlternateScreen)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
        MOUSE.store(true, Ordering::SeqCst);
    }
    let mut term = Terminal::new(CrosstermBackend::new(out))?;
    term.clear()?;
    Ok((guard, term))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The terminal loop: terminal input and engine events in one `select!`; renders only when state
/// changed, a key arrived, or the slow tick moves the clock. Returns the exit code (0 on `q`).
/// Commands for the engine are sent with `try_send`, so a stuck engine can never freeze the UI.
pub async fn run_dashboard(
    mut state: State,
    events: mpsc::Receiver<Event>,
    commands: mpsc::Sender<Command>,
    opts: TuiOptions,
) -> anyhow::Result<i32> {
    let code = dashboard_loop(&mut state, events, commands, opts).await;
    // The terminal is restored by now: what was pinned is printed where the user can keep it.
    let pinned = state.pinned_toml();
    if !pinned.is_empty() {
        println!("# queries pinned as panels in this session; add to the config to keep them:\n{pinned}");
    }
    code
}

async fn dashboard_loop(
    state: &mut State,
    mut events: mpsc::Receiver<Event>,
    commands: mpsc::Sender<Command>,
    opts: TuiOptions,
) -> anyhow::Result<i32> {
    state.ui.no_color = opts.no_color;
    state.ui.truecolor = theme::truecolor_from_env();
    let (_guard, mut term) = setup(opts.mouse)?;
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(opts.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut engine_open = true;
    let mut dirty = true;
    // Engine data is drawn at most every `DATA_FRAME`: sources report many times a second and
    // nobody reads faster; keys and resizes are drawn at once.
    let mut last_draw = tokio::time::Instant::now();
    let mut deferred = false;
    loop {
        if dirty {
            state.now = now_ms();
            term.draw(|f| view(state, f))?;
            last_draw = tokio::time::Instant::now();
            dirty = false;
            deferred = false;
        }
        if std::mem::take(&mut state.bell) && opts.bell {
            // BEL between frames: the terminal beeps or flashes, as the user configured it.
            use std::io::Write;
            let _ = term.backend_mut().write_all(b"\x07").and_then(|_| term.backend_mut().flush());
        }
        if let Some(text) = state.clipboard.take() {
            // OSC 52 between frames: the terminal (or tmux, or the SSH client's terminal) sets its
            // clipboard. The text is a runbook's code block, already free of control characters.
            use std::io::Write;
            let _ = term.backend_mut().write_all(&osc52(&text)).and_then(|_| term.backend_mut().flush());
        }
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => {
                    if k.kind == KeyEventKind::Release {
                        continue;
                    }
                    dirty = true;
                    state.now = now_ms();
                    if let Some(cmd) = state.handle_key(k) {
                        let quit = cmd == Command::Quit;
                        if commands.try_send(cmd).is_err() && !quit && engine_open {
                            state.apply(Event::Notice("engine busy: the last command was not delivered".into()));
                        }
                        if quit {
                            return Ok(crate::exit::OK);
                        }
                    }
                }
                Some(Ok(TermEvent::Mouse(m))) => {
                    let size = term.size()?;
                    dirty |= mouse(state, m, Rect::new(0, 0, size.width, size.height));
                }
                Some(Ok(TermEvent::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                // The terminal went away (hang-up): nothing left to show.
                None => return Ok(crate::exit::OK),
            },
            ev = events.recv(), if engine_open => match ev {
                Some(e) => {
                    state.now = now_ms();
                    state.apply(e);
                    // Fold everything already queued before drawing once (kdash's lag came from
                    // drawing per event).
                    while let Ok(e) = events.try_recv() {
                        state.apply(e);
                    }
                    deferred = true;
                }
                None => engine_open = false,
            },
            _ = tokio::time::sleep_until(last_draw + DATA_FRAME), if deferred => dirty = true,
            // The clock and "3s ago" labels move once a second, unless a frame was just drawn.
            _ = tick.tick() => dirty |= last_draw.elapsed() >= opts.tick.mul_f32(0.9),
        }
    }
}

/// The OSC 52 sequence that puts `text` in the clipboard: `ESC ] 52 ; c ; <base64> BEL`.
pub fn osc52(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(text).as_bytes());
    out.push(0x07);
    out
}

/// The shortest gap between two frames drawn for engine data.
const DATA_FRAME: Duration = Duration::from_millis(250);

/// Where a click landed: the panel under it and the row of its list, counted below the border and
/// the header line (`None` on those).
fn hit(place: &layout::Placement, column: u16, row: u16) -> Option<(&str, Option<usize>)> {
    let (id, r) = place.panels.iter().find(|(_, r)| r.contains((column, row).into()))?;
    Some((id.as_str(), row.checked_sub(r.y + 2).map(usize::from)))
}

/// Mouse input: the view only hit-tests; what a click or the wheel does is `State::click` /
/// `State::scroll`. Returns whether anything changed.
fn mouse(state: &mut State, m: crossterm::event::MouseEvent, area: Rect) -> bool {
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            let place = layout::place(state, area);
            let Some((id, row)) = hit(&place, m.column, m.row) else {
                return false;
            };
            state.click(id, row);
            true
        }
        MouseEventKind::ScrollDown => state.scroll(true),
        MouseEventKind::ScrollUp => state.scroll(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{fixture, ALERTS_ID};
    use crossterm::event::{KeyModifiers, MouseEvent};

    fn click(col: u16, row: u16, kind: MouseEventKind) -> MouseEvent {
        MouseEvent { kind, column: col, row, modifiers: KeyModifiers::NONE }
    }

    #[test]
    fn osc52_byte_for_byte() {
        assert_eq!(osc52("redis-cli INFO\n"), b"\x1b]52;c;cmVkaXMtY2xpIElORk8K\x07".to_vec());
        assert_eq!(osc52(""), b"\x1b]52;c;\x07".to_vec());
    }

    #[test]
    fn click_focuses_and_selects_an_alert_wheel_scrolls() {
        let mut s = fixture::full();
        let area = Rect::new(0, 0, 160, 45);
        let place = layout::place(&s, area);
        let (_, r) = place.panels.iter().find(|(id, _)| id == ALERTS_ID).unwrap().clone();
        // Second alert row: border, header, first row, then this one.
        assert!(mouse(&mut s, click(r.x + 3, r.y + 3, MouseEventKind::Down(MouseButton::Left)), area));
        assert_eq!(s.ui.focus, ALERTS_ID);
        assert_eq!(s.ui.alert_sel, 1);
        mouse(&mut s, click(r.x + 3, r.y + 3, MouseEventKind::ScrollDown), area);
        assert_eq!(s.ui.alert_sel, 2);
        let (_, e) = place.panels.iter().find(|(id, _)| id == "errors").unwrap().clone();
        mouse(&mut s, click(e.x + 5, e.y + 5, MouseEventKind::Down(MouseButton::Left)), area);
        assert_eq!(s.ui.focus, "errors");
    }
}
