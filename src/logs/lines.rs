//! Splits a byte stream into lines, keeping at most `max` bytes of each: memory stays bounded on
//! a line that never ends. Complete lines inside one chunk are handed out without copying.

pub struct LineSplitter {
    max: usize,
    pending: Vec<u8>,
    /// Bytes of the pending line beyond `max`, not kept.
    pending_cut: usize,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter { max: max.max(16), pending: Vec::new(), pending_cut: 0 }
    }

    /// Feeds bytes; `f(line, cut_bytes)` gets each complete line (without `\n` or a final `\r`).
    pub fn feed(&mut self, chunk: &[u8], mut f: impl FnMut(&[u8], usize)) {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            let seg = &chunk[start..nl];
            start = nl + 1;
            if self.pending.is_empty() && self.pending_cut == 0 {
                let seg = seg.strip_suffix(b"\r").unwrap_or(seg);
                let keep = cut_point(seg, self.max);
                f(&seg[..keep], seg.len() - keep);
            } else {
                self.push_pending(seg);
                self.emit_pending(&mut f);
            }
        }
        self.push_pending(&chunk[start..]);
    }

    /// Hands out a final line without its newline (end of input, or the file was rotated away).
    pub fn finish(&mut self, mut f: impl FnMut(&[u8], usize)) {
        if !self.pending.is_empty() || self.pending_cut > 0 {
            self.emit_pending(&mut f);
        }
    }

    /// Forgets a partial line (the file it came from was truncated under it).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.pending_cut = 0;
    }

    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty() || self.pending_cut > 0
    }

    fn push_pending(&mut self, seg: &[u8]) {
        let room = self.max.saturating_sub(self.pending.len());
        if self.pending_cut > 0 || seg.len() > room {
            let take = room.min(seg.len());
            self.pending.extend_from_slice(&seg[..take]);
            self.pending_cut += seg.len() - take;
        } else {
            self.pending.extend_from_slice(seg);
        }
    }

    fn emit_pending(&mut self, f: &mut impl FnMut(&[u8], usize)) {
        let mut cut = self.pending_cut;
        if cut == 0 && self.pending.last() == Some(&b'\r') {
            self.pending.pop();
        }
        // Do not leave half a UTF-8 character at the cut.
        let keep = if cut > 0 { complete_prefix(&self.pending) } else { self.pending.len() };
        cut += self.pending.len() - keep;
        f(&self.pending[..keep], cut);
        self.pending.clear();
        self.pending_cut = 0;
    }
}

/// Where to cut `seg` to keep at most `max` bytes without splitting a UTF-8 character.
fn cut_point(seg: &[u8], max: usize) -> usize {
    if seg.len() <= max {
        seg.len()
    } else {
        complete_prefix(&seg[..max])
    }
}

/// Length of `b` without a UTF-8 character left incomplete at its end.
fn complete_prefix(b: &[u8]) -> usize {
    let n = b.len();
    for back in 1..=n.min(3) {
        let c = b[n - back];
        if c & 0xC0 == 0x80 {
            continue;
        }
        let need = match c {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if need > back { n - back } else { n };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<(String, usize)> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l, cut| out.push((String::from_utf8_lossy(l).into_owned(), cut)));
        }
        s.finish(|l, cut| out.push((String::from_utf8_lossy(l).into_owned(), cut)));
        out
    }

    #[test]
    fn lines_across_chunks() {
        let out = split(100, &[b"ab", b"c\r\nde\n", b"f"]);
        assert_eq!(out, vec![("abc".into(), 0), ("de".into(), 0), ("f".into(), 0)]);
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let out = split(16, &[&[b'x'; 40], &[b'y'; 10], b"\nok\n"]);
        assert_eq!(out, vec![("x".repeat(16), 34), ("ok".into(), 0)]);
        let out = split(16, &[&[b'z'; 20], b"\n"]);
        assert_eq!(out, vec![("z".repeat(16), 4)]);
    }

    #[test]
    fn cut_keeps_whole_characters() {
        // 15 ASCII bytes then a 3-byte character straddling the limit of 16
        let mut line = vec![b'a'; 15];
        line.extend_from_slice("€€".as_bytes());
        line.push(b'\n');
        let out = split(16, &[&line]);
        assert_eq!(out, vec![("a".repeat(15), 6)]);
    }
}
