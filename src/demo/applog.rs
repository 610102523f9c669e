//! The demo API's structured logs: JSON lines in the reference app's format, kept in a bounded ring
//! and served by cursor (`GET /logs?since=N`).

use serde::Serialize;
use std::collections::VecDeque;

/// One record in the reference format (design §4): `timestamp level logger message module function
/// line`, and optionally `user_id request_id duration exception`. Field order follows the reference.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub timestamp: String,
    pub level: &'static str,
    pub logger: &'static str,
    pub message: String,
    pub module: &'static str,
    pub function: &'static str,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}

/// Python-style ISO timestamp with microseconds, in UTC.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The most recent lines, each with a sequence number (1, 2, 3, ...) that never repeats.
pub struct LogRing {
    lines: VecDeque<(u64, String)>,
    cap: usize,
    next_seq: u64,
}

/// What one `/logs` request gets back.
pub struct Page {
    pub body: String,
    /// The cursor to pass as `since` next time: the sequence number of the last line returned.
    pub next_cursor: u64,
    /// Lines that aged out of the ring between `since` and the oldest line still kept.
    pub dropped: u64,
}

impl LogRing {
    pub fn new(cap: usize) -> LogRing {
        LogRing { lines: VecDeque::with_capacity(cap.min(4096)), cap: cap.max(1), next_seq: 1 }
    }

    pub fn push(&mut self, rec: &Record) {
        let line = serde_json::to_string(rec).unwrap_or_default();
        if self.lines.len() == self.cap {
            self.lines.pop_front();
        }
        self.lines.push_back((self.next_seq, line));
        self.next_seq += 1;
    }

    /// The newest sequence number handed out (0 before the first line).
    pub fn head(&self) -> u64 {
        self.next_seq - 1
    }

    /// Lines after cursor `since` (all kept lines' tail of `limit` when `since` is None), at most `limit`.
    pub fn page(&self, since: Option<u64>, limit: usize) -> Page {
        let head = self.head();
        let oldest = self.lines.front().map(|(s, _)| *s).unwrap_or(head + 1);
        let start = match since {
            // A cursor from the future (a restarted fleet) restarts from the oldest kept line.
            Some(s) if s > head => oldest,
            Some(s) => s + 1,
            None => head.saturating_sub(limit as u64).saturating_add(1).max(oldest),
        };
        let dropped = if since.is_some() && start < oldest { oldest - start } else { 0 };
        let from = start.max(oldest);
        let skip = (from - oldest) as usize;
        let mut body = String::new();
        let mut last = from.saturating_sub(1);
        for (seq, line) in self.lines.iter().skip(skip).take(limit) {
            body.push_str(line);
            body.push('\n');
            last = *seq;
        }
        Page { body, next_cursor: last, dropped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(msg: &str) -> Record {
        Record {
            timestamp: "2026-11-24T05:00:00.000000Z".into(),
            level: "INFO",
            logger: "revolvr.api",
            message: msg.into(),
            module: "routes",
            function: "get_feed",
            line: 1,
            user_id: None,
            request_id: Some("req-1".into()),
            duration: None,
            exception: None,
        }
    }

    #[test]
    fn cursor_pages_without_repeats_or_gaps() {
        let mut r = LogRing::new(10);
        for i in 0..5 {
            r.push(&rec(&format!("m{i}")));
        }
        let p = r.page(Some(0), 3);
        assert_eq!(p.body.lines().count(), 3);
        assert_eq!(p.next_cursor, 3);
        let p2 = r.page(Some(p.next_cursor), 100);
        assert_eq!(p2.body.lines().count(), 2);
        assert!(p2.body.contains("\"message\":\"m3\""));
        assert_eq!(p2.next_cursor, 5);
        let p3 = r.page(Some(5), 100);
        assert!(p3.body.is_empty());
        assert_eq!(p3.next_cursor, 5);
    }

    #[test]
    fn aged_out_lines_are_counted() {
        let mut r = LogRing::new(3);
        for i in 0..10 {
            r.push(&rec(&format!("m{i}")));
        }
        let p = r.page(Some(2), 100);
        assert_eq!(p.dropped, 5, "lines 3..=7 aged out");
        assert_eq!(p.body.lines().count(), 3);
        assert_eq!(p.next_cursor, 10);
    }

    #[test]
    fn no_cursor_gives_the_tail() {
        let mut r = LogRing::new(100);
        for i in 0..10 {
            r.push(&rec(&format!("m{i}")));
        }
        let p = r.page(None, 4);
        assert_eq!(p.body.lines().count(), 4);
        assert!(p.body.lines().next().unwrap().contains("m6"));
        assert_eq!(p.next_cursor, 10);
    }

    #[test]
    fn record_fields_follow_the_reference_order() {
        let line = serde_json::to_string(&rec("x")).unwrap();
        let order = ["timestamp", "level", "logger", "message", "module", "function", "line", "request_id"];
        let pos: Vec<usize> = order.iter().map(|k| line.find(&format!("\"{k}\"")).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert!(!line.contains("user_id"));
    }
}
