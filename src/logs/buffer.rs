//! A bounded ring of records per environment (lines and bytes), counting what it had to drop, with
//! a lines/s rate. Memory stays flat on an endless stream.

use std::collections::{BTreeMap, VecDeque};

use super::record::LogBatch;
use super::record::LogRecord;
use crate::config::LogSettings;
use crate::model::Millis;

/// Window of the rate figure.
const RATE_WINDOW_S: i64 = 10;

#[derive(Debug, Clone)]
pub struct LogBuffer {
    records: VecDeque<LogRecord>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    dropped: u64,
    next_seq: u64,
    /// (second, lines) buckets of the last RATE_WINDOW_S seconds.
    rate: VecDeque<(i64, u32)>,
    first_at: Option<Millis>,
    /// The source's last notice ("waiting for /var/log/app.log", "command exited 1, restarting").
    pub notice: Option<String>,
}

impl LogBuffer {
    pub fn new(max_lines: usize, max_bytes: usize) -> LogBuffer {
        LogBuffer {
            records: VecDeque::new(),
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
            dropped: 0,
            next_seq: 1,
            rate: VecDeque::new(),
            first_at: None,
            notice: None,
        }
    }

    pub fn from_settings(s: &LogSettings) -> LogBuffer {
        LogBuffer::new(s.buffer_lines, s.buffer_bytes)
    }

    /// Appends a record (giving it the next sequence number), evicting the oldest past the bounds.
    pub fn push(&mut self, mut rec: LogRecord, now: Millis) -> u64 {
        rec.seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += rec.size();
        self.records.push_back(rec);
        while self.records.len() > self.max_lines || (self.bytes > self.max_bytes && self.records.len() > 1) {
            if let Some(old) = self.records.pop_front() {
                self.bytes -= old.size();
                self.dropped += 1;
            }
        }
        self.count(now);
        self.next_seq - 1
    }

    fn count(&mut self, now: Millis) {
        self.first_at.get_or_insert(now);
        let sec = now.div_euclid(1000);
        match self.rate.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => self.rate.push_back((sec, 1)),
        }
        while self.rate.front().is_some_and(|(s, _)| *s <= sec - RATE_WINDOW_S) {
            self.rate.pop_front();
        }
    }

    /// Lines per second over the last ten seconds (or since the first line, when more recent).
    pub fn rate(&self, now: Millis) -> f64 {
        let sec = now.div_euclid(1000);
        let lines: u32 = self.rate.iter().filter(|(s, _)| *s > sec - RATE_WINDOW_S && *s <= sec).map(|(_, n)| n).sum();
        let since = self.first_at.map_or(0, |f| now - f).max(1000) as f64 / 1000.0;
        lines as f64 / since.min(RATE_WINDOW_S as f64)
    }

    /// Records evicted at the bounds since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// Sequence number of the oldest kept record (the next one to come when empty).
    pub fn first_seq(&self) -> u64 {
        self.records.front().map_or(self.next_seq, |r| r.seq)
    }
    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
    pub fn get(&self, seq: u64) -> Option<&LogRecord> {
        let first = self.records.front()?.seq;
        self.records.get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }
    /// Records from `seq` on (sequence numbers are contiguous within the ring).
    pub fn since(&self, seq: u64) -> impl DoubleEndedIterator<Item = &LogRecord> {
        let skip = seq.saturating_sub(self.first_seq()) as usize;
        self.records.iter().skip(skip)
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogRecord> {
        self.records.iter()
    }
}

/// All environments' buffers, fed by the sources' batches.
#[derive(Debug, Clone)]
pub struct LogStore {
    pub buffers: BTreeMap<String, LogBuffer>,
    max_lines: usize,
    max_bytes: usize,
}

impl LogStore {
    pub fn new(settings: &LogSettings) -> LogStore {
        LogStore { buffers: BTreeMap::new(), max_lines: settings.buffer_lines, max_bytes: settings.buffer_bytes }
    }

    pub fn apply(&mut self, batch: LogBatch, now: Millis) {
        let buf =
            self.buffers.entry(batch.env.to_string()).or_insert_with(|| LogBuffer::new(self.max_lines, self.max_bytes));
        if let Some(n) = batch.notice {
            buf.notice = Some(n);
        }
        for r in batch.records {
            buf.push(r, now);
        }
    }

    pub fn get(&self, env: &str) -> Option<&LogBuffer> {
        self.buffers.get(env)
    }

    /// Every record with this request id across all environments, in time order.
    pub fn correlate(&self, request_id: &str) -> Vec<&LogRecord> {
        correlate(request_id, self.buffers.values())
    }
}

/// Every record with this request id across the given buffers, in time order (records without a
/// readable timestamp keep their buffer order, first).
pub fn correlate<'a>(request_id: &str, buffers: impl IntoIterator<Item = &'a LogBuffer>) -> Vec<&'a LogRecord> {
    let mut out: Vec<&LogRecord> =
        buffers.into_iter().flat_map(|b| b.iter().filter(|r| r.request_id.as_deref() == Some(request_id))).collect();
    out.sort_by_key(|r| r.ts_millis);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::parse::parse_line;

    fn rec(s: &str) -> LogRecord {
        parse_line(s.as_bytes(), 0, None)
    }

    fn buf_of(env: &str, lines: &[&str]) -> LogBuffer {
        let mut b = LogBuffer::new(100, 1 << 20);
        for l in lines {
            b.push(parse_line(l.as_bytes(), 0, Some(std::sync::Arc::from(env))), 0);
        }
        b
    }

    #[test]
    fn bounded_by_lines_and_counts_drops() {
        let mut b = LogBuffer::new(3, 1 << 20);
        for i in 0..10 {
            b.push(rec(&format!("line {i}")), 0);
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.dropped(), 7);
        assert_eq!(b.first_seq(), 8);
        assert_eq!(b.get(9).unwrap().message, "line 8");
        assert!(b.get(2).is_none());
        assert_eq!(b.since(9).count(), 2);
    }

    #[test]
    fn bounded_by_bytes_and_flat_on_an_endless_stream() {
        let one = rec("x").size();
        let mut b = LogBuffer::new(1_000_000, one * 50 + 10);
        for i in 0..100_000 {
            b.push(rec(&format!("{}", i % 10)), i);
        }
        assert!(b.len() <= 50 && b.bytes() <= one * 50 + 10, "{} {}", b.len(), b.bytes());
        assert_eq!(b.dropped() + b.len() as u64, 100_000);
    }

    #[test]
    fn store_keeps_a_buffer_per_environment_and_correlates() {
        let mut st = LogStore::new(&LogSettings::default());
        for (env, msg) in [("prod", "p"), ("stg", "s"), ("prod", "q")] {
            let r = parse_line(
                format!(r#"{{"msg":"{msg}","request_id":"{}"}}"#, if msg == "q" { "y" } else { "x" }).as_bytes(),
                0,
                Some(env.into()),
            );
            st.apply(LogBatch { env: env.into(), records: vec![r], notice: None, failed: false }, 0);
        }
        st.apply(LogBatch { env: "stg".into(), records: vec![], notice: Some("restarting".into()), failed: true }, 0);
        assert_eq!(st.get("prod").unwrap().len(), 2);
        assert_eq!(st.get("stg").unwrap().notice.as_deref(), Some("restarting"));
        let ids: Vec<&str> = st.correlate("x").iter().map(|r| r.message.as_str()).collect();
        assert_eq!(ids, ["p", "s"]);
    }

    #[test]
    fn rate_counts_the_last_ten_seconds() {
        let mut b = LogBuffer::new(100_000, 1 << 30);
        for i in 0..200 {
            b.push(rec("x"), 100_000 + i * 100); // 10 lines/s for 20 s
        }
        let r = b.rate(120_000);
        assert!((9.0..=11.0).contains(&r), "{r}");
        assert_eq!(b.rate(200_000), 0.0);
    }

    #[test]
    fn request_id_correlation_across_environments() {
        let prod = buf_of(
            "prod",
            &[
                r#"{"timestamp":"2026-11-23T10:00:02","level":"ERROR","message":"p2","request_id":"x"}"#,
                r#"{"timestamp":"2026-11-23T10:00:00","level":"INFO","message":"p0","request_id":"y"}"#,
            ],
        );
        let stg = buf_of(
            "staging",
            &[
                r#"{"timestamp":"2026-11-23T10:00:01","level":"INFO","message":"s1","request_id":"x"}"#,
                r#"{"timestamp":"2026-11-23T10:00:03","level":"INFO","message":"s3","request_id":"x"}"#,
            ],
        );
        let got: Vec<(&str, &str)> =
            correlate("x", [&prod, &stg]).iter().map(|r| (r.env.as_deref().unwrap(), r.message.as_str())).collect();
        assert_eq!(got, vec![("staging", "s1"), ("prod", "p2"), ("staging", "s3")]);
    }
}
