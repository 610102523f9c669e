//! The `:` query prompt: PromQL typed in the footer (↑/↓ walk the history), evaluated by the
//! engine over the dashboard's window, from the local store or the `[prometheus]` server, and
//! shown as a chart with a table of the latest values. `p` pins it as a panel until opsdeck quits;
//! the TOML that would keep it is shown, copied with `y`, and printed when opsdeck exits.

use super::{strings as S, Modal, State};
use crate::model::{Command, QueryResult};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Queries remembered by the prompt.
const HISTORY: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct QueryState {
    /// The text being typed.
    pub text: String,
    /// Earlier queries, oldest first.
    pub history: Vec<String>,
    /// Where ↑/↓ is in the history.
    pub hist_pos: Option<usize>,
    /// A syntax error found before sending: the message and its byte offset in `text`.
    pub error: Option<(String, Option<usize>)>,
    /// The query last sent, and its answer once it came.
    pub sent: Option<String>,
    pub result: Option<QueryResult>,
    /// Queries pinned as panels this session.
    pub pinned: Vec<String>,
}

/// The config block that keeps a pinned query as a panel.
pub fn toml_block(expr: &str) -> String {
    let q = |s: &str| toml_quote(s);
    format!("[[panel]]\ntitle = {}\nexpr = {}\n", q(expr), q(expr))
}

fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl State {
    pub(super) fn open_query(&mut self) {
        self.query.error = None;
        self.query.hist_pos = None;
        self.ui.modal = Some(Modal::QueryPrompt);
    }

    pub(super) fn query_prompt_key(&mut self, key: KeyEvent) -> Option<Command> {
        let q = &mut self.query;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => self.ui.modal = None,
            KeyCode::Up if !q.history.is_empty() => {
                let i = q.hist_pos.map_or(q.history.len() - 1, |i| i.saturating_sub(1));
                q.hist_pos = Some(i);
                q.text = q.history[i].clone();
                q.error = None;
            }
            KeyCode::Down => {
                if let Some(i) = q.hist_pos {
                    if i + 1 < q.history.len() {
                        q.hist_pos = Some(i + 1);
                        q.text = q.history[i + 1].clone();
                    } else {
                        q.hist_pos = None;
                        q.text.clear();
                    }
                }
                q.error = None;
            }
            KeyCode::Enter => return self.send_query(),
            KeyCode::Backspace => {
                q.text.pop();
                q.error = None;
            }
            KeyCode::Char('u') if ctrl => q.text.clear(),
            KeyCode::Char(c) if !ctrl && !c.is_control() && q.text.len() < 4096 => {
                q.text.push(c);
                q.error = None;
            }
            _ => {}
        }
        None
    }

    fn send_query(&mut self) -> Option<Command> {
        let expr = self.query.text.trim().to_string();
        if expr.is_empty() {
            self.ui.modal = None;
            return None;
        }
        // Checked here when the local engine answers; a remote server (which may speak a dialect,
        // MetricsQL) judges its own syntax and its error comes back with the position.
        if !self.remote_queries {
            if let Err(e) = crate::promql::parse(&expr) {
                self.query.error = Some((e.message.clone(), Some(e.offset.min(expr.len()))));
                return None;
            }
        }
        let q = &mut self.query;
        if q.history.last() != Some(&expr) {
            q.history.push(expr.clone());
            if q.history.len() > HISTORY {
                q.history.remove(0);
            }
        }
        q.hist_pos = None;
        q.sent = Some(expr.clone());
        q.result = None;
        self.ui.modal = Some(Modal::QueryResult);
        Some(Command::Query { expr })
    }

    pub(super) fn query_result_key(&mut self, key: KeyEvent) -> Option<Command> {
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => self.ui.modal = None,
            KeyCode::Char(':') => {
                self.query.text = self.query.sent.clone().unwrap_or_default();
                self.open_query();
            }
            KeyCode::Char('p') => {
                let expr = self.query.sent.clone()?;
                if self.query.pinned.contains(&expr) {
                    self.notice(S::ALREADY_PINNED.to_string());
                    return None;
                }
                if !matches!(&self.query.result, Some(QueryResult { panel: Ok(_), .. })) {
                    self.notice(S::PIN_NEEDS_RESULT.to_string());
                    return None;
                }
                self.query.pinned.push(expr.clone());
                self.notice(S::pinned(&expr));
                return Some(Command::Pin { expr });
            }
            KeyCode::Char('y') => {
                if let Some(expr) = &self.query.sent {
                    self.clipboard = Some(toml_block(expr));
                    self.notice(S::TOML_COPIED.to_string());
                }
            }
            _ => {}
        }
        None
    }

    /// The TOML of every pinned query, printed when the dashboard exits.
    pub fn pinned_toml(&self) -> String {
        self.query.pinned.iter().map(|e| toml_block(e)).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, PanelData};
    use std::time::Duration;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(s: &mut State, text: &str) {
        for c in text.chars() {
            s.handle_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn a_syntax_error_stays_in_the_prompt_with_its_position() {
        let mut s = State::new(vec![], Duration::from_secs(3600));
        s.handle_key(key(KeyCode::Char(':')));
        assert_eq!(s.ui.modal, Some(Modal::QueryPrompt));
        // Prometheus: `1:5: parse error: unexpected identifier "bar"`.
        typed(&mut s, "foo bar");
        assert!(s.handle_key(key(KeyCode::Enter)).is_none());
        let (msg, at) = s.query.error.clone().unwrap();
        assert_eq!(at, Some(4), "{msg}");
        assert_eq!(s.ui.modal, Some(Modal::QueryPrompt));
    }

    #[test]
    fn history_pin_and_the_toml_that_keeps_it() {
        let mut s = State::new(vec![], Duration::from_secs(3600));
        for q in ["up", "sum(up)"] {
            s.handle_key(key(KeyCode::Char(':')));
            typed(&mut s, q);
            assert_eq!(s.handle_key(key(KeyCode::Enter)), Some(Command::Query { expr: q.into() }));
            s.handle_key(key(KeyCode::Esc));
        }
        s.handle_key(key(KeyCode::Char(':')));
        s.handle_key(key(KeyCode::Up));
        assert_eq!(s.query.text, "sum(up)");
        s.handle_key(key(KeyCode::Up));
        assert_eq!(s.query.text, "up");
        s.handle_key(key(KeyCode::Enter));
        // No pin before an answer.
        assert!(s.handle_key(key(KeyCode::Char('p'))).is_none());
        s.apply(Event::QueryResult(QueryResult {
            expr: "up".into(),
            panel: Ok(PanelData {
                id: "query".into(),
                title: "up".into(),
                unit: Default::default(),
                kind: Default::default(),
                series: vec![],
                threshold: None,
                note: None,
            }),
        }));
        assert_eq!(s.handle_key(key(KeyCode::Char('p'))), Some(Command::Pin { expr: "up".into() }));
        assert_eq!(s.pinned_toml(), "[[panel]]\ntitle = \"up\"\nexpr = \"up\"\n");
        assert_eq!(toml_block("a{b=\"c\"}"), "[[panel]]\ntitle = \"a{b=\\\"c\\\"}\"\nexpr = \"a{b=\\\"c\\\"}\"\n");
    }
}
