//! Colours. Meaning is always carried by a symbol or a word as well (✔ ✖ ⚠ ●), so `NO_COLOR`
//! (no colours at all) and the 16-colour theme lose nothing but decoration.

use crate::app::{AlertState, CheckOutcome, Health};
use crate::config::Theme;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Palette {
    color: bool,
    /// The terminal renders 24-bit colours; otherwise RGB is mapped to the 256-colour cube, which
    /// every terminal (and tmux without `Tc`) shows correctly (k9s#3722).
    truecolor: bool,
    pub fg: Color,
    pub dim: Color,
    pub accent: Color,
    pub ok: Color,
    pub bad: Color,
    pub warn: Color,
    pub series: [Color; 6],
    pub threshold: Color,
    pub marker: Color,
}

impl Palette {
    pub fn new(theme: Theme, no_color: bool) -> Palette {
        Palette::with_depth(theme, no_color, true)
    }

    pub fn with_depth(theme: Theme, no_color: bool, truecolor: bool) -> Palette {
        let p = match theme {
            Theme::Dark => Palette {
                color: true,
                truecolor: true,
                fg: Color::Rgb(220, 220, 220),
                dim: Color::Rgb(130, 130, 140),
                accent: Color::Rgb(110, 170, 255),
                ok: Color::Rgb(80, 200, 120),
                bad: Color::Rgb(240, 80, 80),
                warn: Color::Rgb(240, 190, 60),
                series: [
                    Color::Rgb(110, 170, 255),
                    Color::Rgb(240, 190, 60),
                    Color::Rgb(190, 120, 240),
                    Color::Rgb(80, 210, 210),
                    Color::Rgb(240, 140, 80),
                    Color::Rgb(160, 220, 100),
                ],
                threshold: Color::Rgb(240, 80, 80),
                marker: Color::Rgb(200, 200, 255),
            },
            Theme::Light => Palette {
                color: true,
                truecolor: true,
                fg: Color::Rgb(30, 30, 30),
                dim: Color::Rgb(110, 110, 110),
                accent: Color::Rgb(20, 90, 200),
                ok: Color::Rgb(20, 130, 50),
                bad: Color::Rgb(190, 20, 20),
                warn: Color::Rgb(170, 110, 0),
                series: [
                    Color::Rgb(20, 90, 200),
                    Color::Rgb(170, 110, 0),
                    Color::Rgb(130, 40, 180),
                    Color::Rgb(0, 130, 130),
                    Color::Rgb(200, 80, 0),
                    Color::Rgb(70, 130, 20),
                ],
                threshold: Color::Rgb(190, 20, 20),
                marker: Color::Rgb(90, 90, 160),
            },
            Theme::Basic => Palette {
                color: true,
                truecolor: true,
                fg: Color::Reset,
                dim: Color::DarkGray,
                accent: Color::Blue,
                ok: Color::Green,
                bad: Color::Red,
                warn: Color::Yellow,
                series: [Color::Cyan, Color::Yellow, Color::Magenta, Color::Green, Color::Blue, Color::White],
                threshold: Color::Red,
                marker: Color::White,
            },
        };
        Palette { color: !no_color, truecolor, ..p }
    }

    /// A foreground colour, or nothing at all without colours.
    pub fn fg(&self, c: Color) -> Style {
        match (self.color, self.truecolor, c) {
            (false, _, _) => Style::new(),
            (true, false, Color::Rgb(r, g, b)) => Style::new().fg(Color::Indexed(to_256(r, g, b))),
            (true, _, c) => Style::new().fg(c),
        }
    }

    pub fn text(&self) -> Style {
        self.fg(self.fg)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            self.fg(self.dim)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn title(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }
    /// Focus shows as a bold border and a marker in the title, not only as a colour.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(self.accent).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn series(&self, i: usize) -> Style {
        self.fg(self.series[i % self.series.len()])
    }

    pub fn health(&self, h: Health) -> Style {
        match h {
            Health::Up => self.fg(self.ok),
            Health::Down => self.fg(self.bad).add_modifier(Modifier::BOLD),
            Health::Stale => self.fg(self.warn),
            Health::Unknown => self.dim(),
        }
    }

    pub fn check(&self, c: CheckOutcome) -> Style {
        match c {
            CheckOutcome::Success => self.fg(self.ok),
            CheckOutcome::Failure => self.fg(self.bad).add_modifier(Modifier::BOLD),
            CheckOutcome::Inconclusive | CheckOutcome::Error => self.fg(self.warn),
        }
    }

    pub fn alert(&self, s: AlertState, severity: &str) -> Style {
        match s {
            AlertState::Resolved => self.dim(),
            AlertState::Pending => self.fg(self.warn),
            AlertState::Firing if crate::app::severity_rank(severity) <= 1 => {
                self.fg(self.bad).add_modifier(Modifier::BOLD)
            }
            AlertState::Firing => self.fg(self.warn).add_modifier(Modifier::BOLD),
        }
    }
}

pub fn health_symbol(h: Health) -> &'static str {
    match h {
        Health::Up => "✔",
        Health::Down => "✖",
        Health::Stale => "⚠",
        Health::Unknown => "?",
    }
}

/// A gate's or a health check's verdict: ✔ passed, ✖ failed, ? no data (inconclusive), ⚠ could
/// not be measured (error).
pub fn check_symbol(c: CheckOutcome) -> &'static str {
    match c {
        CheckOutcome::Success => "✔",
        CheckOutcome::Failure => "✖",
        CheckOutcome::Inconclusive => "?",
        CheckOutcome::Error => "⚠",
    }
}

pub fn alert_symbol(s: AlertState) -> &'static str {
    match s {
        AlertState::Firing => "●",
        AlertState::Pending => "◐",
        AlertState::Resolved => "✔",
    }
}

/// The nearest colour of xterm's 6x6x6 cube.
fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let q = |v: u8| ((v as u16 * 5 + 127) / 255) as u8;
    16 + 36 * q(r) + 6 * q(g) + q(b)
}

/// Whether the terminal says it renders 24-bit colour (`COLORTERM=truecolor` or `24bit`).
pub fn truecolor_from_env() -> bool {
    std::env::var("COLORTERM").is_ok_and(|v| v.contains("truecolor") || v.contains("24bit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_falls_back_to_the_256_cube() {
        assert_eq!(to_256(0, 0, 0), 16);
        assert_eq!(to_256(255, 255, 255), 231);
        assert_eq!(to_256(240, 80, 80), 16 + 36 * 5 + 6 * 2 + 2);
        let p = Palette::with_depth(Theme::Dark, false, false);
        assert!(matches!(p.fg(p.bad).fg, Some(Color::Indexed(_))));
        let p = Palette::with_depth(Theme::Dark, true, false);
        assert_eq!(p.fg(p.bad).fg, None);
    }
}
