//! The logs panel's model (the TUI draws it; nothing here touches the terminal): the filtered list
//! of one buffer, follow/pause, selection, search with next/previous match and highlight ranges,
//! jump to the next error, and a record's details with its trace link. (Request-id correlation
//! across environments is the buffers' own: `buffer::correlate`.)

use std::ops::Range;

use regex::Regex;

use super::buffer::LogBuffer;
use super::filter::{compile, match_ranges, text_matches, Filter, FilterError};
use super::record::{Format, Level, LogRecord};

#[derive(Debug, Clone)]
pub struct LogView {
    filter: Filter,
    search: Option<Regex>,
    /// Newest record selected and kept in view as lines arrive.
    pub follow: bool,
    selected: Option<u64>,
    /// Sequence numbers of the records passing the filter, oldest first.
    visible: Vec<u64>,
    /// Next sequence number to examine.
    scanned: u64,
    dirty: bool,
}

impl Default for LogView {
    fn default() -> Self {
        LogView::new()
    }
}

impl LogView {
    pub fn new() -> LogView {
        LogView {
            filter: Filter::default(),
            search: None,
            follow: true,
            selected: None,
            visible: vec![],
            scanned: 0,
            dirty: true,
        }
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn set_min_level(&mut self, level: Option<Level>) {
        self.filter.min_level = level;
        self.dirty = true;
    }

    /// All → warning and above → error and above → all. Returns the new setting.
    pub fn cycle_level(&mut self) -> Option<Level> {
        let next = match self.filter.min_level {
            None => Some(Level::Warning),
            Some(l) if l < Level::Error => Some(Level::Error),
            Some(_) => None,
        };
        self.set_min_level(next);
        next
    }

    /// Keep only records matching `pattern` (empty: no grep).
    pub fn set_grep(&mut self, pattern: &str) -> Result<(), FilterError> {
        self.filter.grep = if pattern.is_empty() { None } else { Some(compile(pattern)?) };
        self.dirty = true;
        Ok(())
    }

    pub fn set_request_id(&mut self, id: Option<String>) {
        self.filter.request_id = id;
        self.dirty = true;
    }

    /// The `/` search: highlights and `n`/`N` targets, without hiding anything (empty clears).
    pub fn set_search(&mut self, pattern: &str) -> Result<(), FilterError> {
        self.search = if pattern.is_empty() { None } else { Some(compile(pattern)?) };
        Ok(())
    }

    pub fn search(&self) -> Option<&Regex> {
        self.search.as_ref()
    }

    /// Brings the list up to date with the buffer: new records, evicted ones, a changed filter.
    pub fn refresh(&mut self, buf: &LogBuffer) {
        if self.dirty {
            self.visible.clear();
            self.scanned = buf.first_seq();
            self.dirty = false;
        }
        let first = buf.first_seq();
        let gone = self.visible.partition_point(|&s| s < first);
        self.visible.drain(..gone);
        for r in buf.since(self.scanned.max(first)) {
            if self.filter.matches(r) {
                self.visible.push(r.seq);
            }
        }
        self.scanned = buf.next_seq();
        if self.follow {
            self.selected = self.visible.last().copied();
        } else if self.selected.is_some_and(|s| s < first || self.visible.binary_search(&s).is_err()) {
            // The selected line left the ring or the filter: keep the nearest newer one.
            let s = self.selected.unwrap_or(0);
            self.selected =
                self.visible.get(self.visible.partition_point(|&v| v < s)).copied().or(self.visible.last().copied());
        }
    }

    /// Forget the list (the view now shows another environment's buffer): the next `refresh`
    /// rebuilds it.
    pub fn invalidate(&mut self) {
        self.dirty = true;
        self.selected = None;
    }

    pub fn visible(&self) -> &[u64] {
        &self.visible
    }

    pub fn records<'a>(&'a self, buf: &'a LogBuffer) -> impl Iterator<Item = &'a LogRecord> + 'a {
        self.visible.iter().filter_map(move |&s| buf.get(s))
    }

    pub fn selected(&self) -> Option<u64> {
        self.selected
    }

    /// Position of the selection in `visible()`.
    pub fn selected_index(&self) -> Option<usize> {
        self.visible.binary_search(&self.selected?).ok()
    }

    pub fn selected_record<'a>(&self, buf: &'a LogBuffer) -> Option<&'a LogRecord> {
        buf.get(self.selected?)
    }

    /// `j`/`k`: moves the selection; moving pauses follow (f resumes it).
    pub fn move_by(&mut self, delta: isize) {
        if self.visible.is_empty() {
            return;
        }
        let at = self.selected_index().unwrap_or(self.visible.len() - 1) as isize;
        let to = (at + delta).clamp(0, self.visible.len() as isize - 1) as usize;
        self.selected = Some(self.visible[to]);
        self.follow = false;
    }

    pub fn select(&mut self, seq: u64) {
        self.selected = Some(seq);
        self.follow = false;
    }

    pub fn toggle_follow(&mut self) -> bool {
        self.follow = !self.follow;
        if self.follow {
            self.selected = self.visible.last().copied();
        }
        self.follow
    }

    /// `n`: the next record matching the search, wrapping around. False when none matches.
    pub fn next_match(&mut self, buf: &LogBuffer) -> bool {
        let Some(re) = self.search.clone() else { return false };
        self.find(buf, true, |r| text_matches(&re, r))
    }

    /// `N`: the previous match, wrapping around.
    pub fn prev_match(&mut self, buf: &LogBuffer) -> bool {
        let Some(re) = self.search.clone() else { return false };
        self.find(buf, false, |r| text_matches(&re, r))
    }

    /// The next record at error level or above, wrapping around.
    pub fn next_error(&mut self, buf: &LogBuffer) -> bool {
        self.find(buf, true, |r| r.level.is_error())
    }

    fn find(&mut self, buf: &LogBuffer, forward: bool, pred: impl Fn(&LogRecord) -> bool) -> bool {
        let n = self.visible.len();
        if n == 0 {
            return false;
        }
        let start = self.selected_index().unwrap_or(if forward { n - 1 } else { 0 });
        for step in 1..=n {
            let i = if forward { (start + step) % n } else { (start + n - step % n) % n };
            if buf.get(self.visible[i]).is_some_and(&pred) {
                self.select(self.visible[i]);
                return true;
            }
        }
        false
    }

    /// Byte ranges of search matches in `text` (a message as shown), for highlighting.
    pub fn highlights(&self, text: &str) -> Vec<Range<usize>> {
        self.search.as_ref().map(|re| match_ranges(re, text)).unwrap_or_default()
    }
}

/// One record, opened: every field, the exception pretty-printed one line each, a trace link.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDetails {
    pub fields: Vec<(String, String)>,
    pub exception: Vec<String>,
    pub trace_link: Option<String>,
}

pub fn details(rec: &LogRecord, trace_url: Option<&str>) -> RecordDetails {
    let mut fields = Vec::new();
    if let Some(env) = &rec.env {
        fields.push(("env".to_string(), env.to_string()));
    }
    if rec.format == Format::Plain {
        fields.push(("level".into(), rec.level.as_str().into()));
        fields.push(("line".into(), rec.line.clone()));
    } else {
        for (k, v) in &rec.fields {
            if rec.exception.is_some() && v.as_str() == rec.exception.as_deref() {
                continue; // shown below, one line each
            }
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            fields.push((k.clone(), text));
        }
    }
    if rec.cut_bytes > 0 {
        fields.push(("cut".into(), format!("{} bytes not kept", rec.cut_bytes)));
    }
    let exception = rec.exception.as_deref().map(|e| e.lines().map(str::to_string).collect()).unwrap_or_default();
    let trace_link = match (trace_url, rec.trace_id.as_deref()) {
        (Some(t), Some(id)) => Some(trace_link(t, id)),
        _ => None,
    };
    RecordDetails { fields, exception, trace_link }
}

/// The configured trace URL template (`[log] trace_url`, e.g. Jaeger's
/// `http://jaeger:16686/trace/{trace_id}`) with the id filled in, percent-encoded.
pub fn trace_link(template: &str, trace_id: &str) -> String {
    let mut id = String::with_capacity(trace_id.len());
    for b in trace_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            id.push(b as char);
        } else {
            id.push_str(&format!("%{b:02X}"));
        }
    }
    template.replace("{trace_id}", &id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::parse::parse_line;
    use std::sync::Arc;

    fn buf(env: &str, lines: &[&str]) -> LogBuffer {
        let mut b = LogBuffer::new(100, 1 << 20);
        for l in lines {
            b.push(parse_line(l.as_bytes(), 0, Some(Arc::from(env))), 0);
        }
        b
    }

    const LINES: &[&str] = &[
        r#"{"level":"INFO","message":"start","request_id":"a"}"#,
        r#"{"level":"WARNING","message":"slow db","request_id":"b"}"#,
        r#"{"level":"ERROR","message":"db down","request_id":"b","exception":"Traceback\nValueError"}"#,
        r#"{"level":"INFO","message":"db back","request_id":"c"}"#,
        r#"{"level":"CRITICAL","message":"disk","request_id":"c","trace_id":"t 1"}"#,
    ];

    #[test]
    fn level_filter_cycles_and_follow_tracks_the_newest() {
        let b = buf("prod", LINES);
        let mut v = LogView::new();
        v.refresh(&b);
        assert_eq!(v.visible().len(), 5);
        assert_eq!(v.selected(), Some(5));
        assert_eq!(v.cycle_level(), Some(Level::Warning));
        v.refresh(&b);
        assert_eq!(v.visible(), &[2, 3, 5]);
        assert_eq!(v.cycle_level(), Some(Level::Error));
        v.refresh(&b);
        assert_eq!(v.visible(), &[3, 5]);
        assert_eq!(v.cycle_level(), None);
    }

    #[test]
    fn incremental_refresh_and_eviction() {
        let mut b = LogBuffer::new(3, 1 << 20);
        let mut v = LogView::new();
        v.follow = false;
        for l in &LINES[..2] {
            b.push(parse_line(l.as_bytes(), 0, None), 0);
        }
        v.refresh(&b);
        v.move_by(-10);
        assert_eq!(v.selected(), Some(1));
        for l in &LINES[2..] {
            b.push(parse_line(l.as_bytes(), 0, None), 0);
        }
        v.refresh(&b);
        assert_eq!(v.visible(), &[3, 4, 5]);
        assert_eq!(v.selected(), Some(3), "an evicted selection moves to the oldest kept line");
    }

    #[test]
    fn search_next_previous_and_highlights() {
        let b = buf("prod", LINES);
        let mut v = LogView::new();
        v.refresh(&b);
        v.set_search("db").unwrap();
        assert!(v.next_match(&b));
        assert_eq!(v.selected(), Some(2));
        assert!(!v.follow);
        assert!(v.next_match(&b));
        assert_eq!(v.selected(), Some(3));
        assert!(v.prev_match(&b));
        assert_eq!(v.selected(), Some(2));
        assert!(v.prev_match(&b));
        assert_eq!(v.selected(), Some(4), "wraps around");
        assert_eq!(v.highlights("db down, db back"), vec![0..2, 9..11]);
        v.set_search("nothing").unwrap();
        assert!(!v.next_match(&b));
        assert!(v.set_search("(").is_err());
    }

    #[test]
    fn next_error_skips_warnings() {
        let b = buf("prod", LINES);
        let mut v = LogView::new();
        v.refresh(&b);
        v.select(1);
        assert!(v.next_error(&b));
        assert_eq!(v.selected(), Some(3));
        assert!(v.next_error(&b));
        assert_eq!(v.selected(), Some(5));
    }

    #[test]
    fn details_and_trace_link() {
        let b = buf("prod", LINES);
        let d = details(b.get(3).unwrap(), Some("http://jaeger:16686/trace/{trace_id}"));
        assert_eq!(d.exception, vec!["Traceback", "ValueError"]);
        assert!(d.fields.contains(&("message".into(), "db down".into())));
        assert!(d.fields.contains(&("env".into(), "prod".into())));
        assert_eq!(d.trace_link, None);
        let d = details(b.get(5).unwrap(), Some("http://jaeger:16686/trace/{trace_id}"));
        assert_eq!(d.trace_link.as_deref(), Some("http://jaeger:16686/trace/t%201"));
    }
}
