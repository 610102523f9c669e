//! The promtool-strict parser: accepts and rejects exactly what `promtool check metrics` (2.42)
//! does, i.e. client_golang's `expfmt.TextParser` (prometheus/common v0.39). Same state machine,
//! same error texts and line numbers; it keeps only what promlint needs per metric family, so
//! nothing is allocated per sample.
//!
//! Differences from the scrape path (design §9): trailing blanks after a value or timestamp, a
//! missing final newline, a second `# TYPE`/`# HELP`, a `\t` escape or raw newline in a label value
//! are errors; leading blanks are fine.

use super::lex::{
    self, go_quote, go_quote_byte, is_blank, is_lname_cont, is_lname_start, is_mname_cont, is_mname_start,
};
use super::text::ParseError;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

/// client_model's metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyType {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
    GaugeHistogram,
}

/// What promlint looks at in one metric family.
#[derive(Debug, Clone)]
pub struct Family<'a> {
    pub name: &'a str,
    pub kind: Option<FamilyType>,
    pub has_help: bool,
    /// Distinct metrics (a histogram's or summary's lines fold into one per label set).
    pub metrics: usize,
    /// Per metric, per label: how often a label was named `le`, `quantile`, or in camelCase.
    pub le_labels: usize,
    pub quantile_labels: usize,
    pub camel_labels: usize,
}

/// Parse `buf` the way promtool does; the families in order of first appearance.
pub fn parse(buf: &[u8]) -> Result<Vec<Family<'_>>, ParseError> {
    Strict::new(buf).run()
}

struct Strict<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    families: Vec<Family<'a>>,
    by_name: HashMap<&'a [u8], usize>,
    /// Names resolved lately (a histogram's lines cycle through `_bucket`, `_sum`, `_count`);
    /// a name's family never changes once resolved, so this is only a shortcut.
    recent: [(&'a [u8], usize); 4],
    next_recent: usize,
    /// Signatures of the histogram and summary metrics seen (family id + labels).
    signatures: HashSet<u64, BuildIdentity>,
    seed: u64,
    /// Labels of the current line: (name, raw value) ranges; reused.
    labels: Vec<(usize, usize, usize, usize)>,
    /// The subset that identifies a histogram/summary metric; reused.
    sig: Vec<(&'a [u8], &'a [u8])>,
}

const EOF_MSG: &str = "unexpected end of input stream";

impl<'a> Strict<'a> {
    fn new(b: &'a [u8]) -> Self {
        Strict {
            b,
            i: 0,
            line: 0,
            families: Vec::new(),
            by_name: HashMap::new(),
            recent: [(&[], usize::MAX); 4],
            next_recent: 0,
            signatures: HashSet::default(),
            // A per-run seed: crafted input cannot aim for collisions in advance.
            seed: std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), 0u64) | 1,
            labels: Vec::with_capacity(16),
            sig: Vec::with_capacity(16),
        }
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { line: self.line, msg: msg.into() })
    }

    /// The byte at the cursor, or the "unexpected end of input stream" error.
    #[inline]
    fn cur(&self) -> Result<u8, ParseError> {
        match self.b.get(self.i) {
            Some(&c) => Ok(c),
            None => self.err(EOF_MSG),
        }
    }

    #[inline]
    fn skip_blanks(&mut self) {
        while self.i < self.b.len() && is_blank(self.b[self.i]) {
            self.i += 1;
        }
    }

    fn run(mut self) -> Result<Vec<Family<'a>>, ParseError> {
        loop {
            self.line += 1;
            self.skip_blanks();
            let Some(&c) = self.b.get(self.i) else {
                break;
            };
            match c {
                b'\n' => self.i += 1,
                b'#' => {
                    self.i += 1;
                    self.comment()?;
                }
                _ => self.sample()?,
            }
        }
        Ok(self.families)
    }

    /// Past the next newline (the end of input is an error).
    fn skip_line(&mut self) -> Result<(), ParseError> {
        match memchr::memchr(b'\n', &self.b[self.i..]) {
            Some(k) => {
                self.i += k + 1;
                Ok(())
            }
            None => self.err(EOF_MSG),
        }
    }

    fn metric_name(&mut self) -> &'a [u8] {
        let s = self.i;
        if self.b.get(self.i).is_some_and(|&c| is_mname_start(c)) {
            self.i += 1;
            while self.b.get(self.i).is_some_and(|&c| is_mname_cont(c)) {
                self.i += 1;
            }
        }
        &self.b[s..self.i]
    }

    fn comment(&mut self) -> Result<(), ParseError> {
        self.skip_blanks();
        if self.cur()? == b'\n' {
            self.i += 1;
            return Ok(());
        }
        let ks = self.i;
        while self.i < self.b.len() && !is_blank(self.b[self.i]) && self.b[self.i] != b'\n' {
            self.i += 1;
        }
        if self.cur()? == b'\n' {
            self.i += 1;
            return Ok(());
        }
        let is_help = match &self.b[ks..self.i] {
            b"HELP" => true,
            b"TYPE" => false,
            _ => return self.skip_line(),
        };
        self.skip_blanks();
        self.cur()?;
        let name = self.metric_name();
        let c = self.cur()?;
        if c == b'\n' {
            self.i += 1;
            return Ok(());
        }
        if !is_blank(c) {
            return self.err("invalid metric name in comment");
        }
        let (fam, _) = self.family(name);
        self.skip_blanks();
        if self.cur()? == b'\n' {
            self.i += 1;
            return Ok(());
        }
        if is_help {
            if self.families[fam].has_help {
                return self.err(format!("second HELP line for metric name {}", go_quote(name)));
            }
            // Only `\\` and `\n` are escapes in HELP.
            loop {
                let k = match memchr::memchr2(b'\\', b'\n', &self.b[self.i..]) {
                    Some(k) => self.i + k,
                    None => return self.err(EOF_MSG),
                };
                if self.b[k] == b'\n' {
                    self.i = k + 1;
                    break;
                }
                match self.b.get(k + 1) {
                    None => return self.err(EOF_MSG),
                    Some(b'\\' | b'n') => self.i = k + 2,
                    Some(&e) => return self.err(format!("invalid escape sequence '\\{}'", e as char)),
                }
            }
            self.families[fam].has_help = true;
            return Ok(());
        }
        if self.families[fam].kind.is_some() {
            let n = go_quote(name);
            return self.err(format!("second TYPE line for metric name {n}, or TYPE reported after samples"));
        }
        let ts = self.i;
        self.skip_line()?;
        let raw = drop_backslashes(&self.b[ts..self.i - 1]);
        let raw = &raw[..];
        let kind = match String::from_utf8_lossy(raw).to_uppercase().as_str() {
            "COUNTER" => FamilyType::Counter,
            "GAUGE" => FamilyType::Gauge,
            "SUMMARY" => FamilyType::Summary,
            "UNTYPED" => FamilyType::Untyped,
            "HISTOGRAM" => FamilyType::Histogram,
            "GAUGE_HISTOGRAM" => FamilyType::GaugeHistogram,
            _ => return self.err(format!("unknown metric type {}", go_quote(raw))),
        };
        self.families[fam].kind = Some(kind);
        Ok(())
    }

    /// `setOrCreateCurrentMF`: `x_sum`/`x_count` (and `x_bucket`) belong to summary/histogram `x`.
    fn family(&mut self, name: &'a [u8]) -> (usize, bool) {
        if let Some(&(_, id)) = self.recent.iter().find(|(n, id)| *id != usize::MAX && *n == name) {
            return (id, false);
        }
        let id = self.lookup(name);
        self.recent[self.next_recent] = (name, id);
        self.next_recent = (self.next_recent + 1) % self.recent.len();
        (id, false)
    }

    fn lookup(&mut self, name: &'a [u8]) -> usize {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let strip = |suffixes: &[&[u8]]| -> Option<&'a [u8]> {
            suffixes.iter().find(|s| name.len() > s.len() && name.ends_with(s)).map(|s| &name[..name.len() - s.len()])
        };
        if let Some(base) = strip(&[b"_count", b"_sum"]) {
            if let Some(&id) = self.by_name.get(base) {
                if self.families[id].kind == Some(FamilyType::Summary) {
                    return id;
                }
            }
        }
        if let Some(base) = strip(&[b"_count", b"_sum", b"_bucket"]) {
            if let Some(&id) = self.by_name.get(base) {
                if self.families[id].kind == Some(FamilyType::Histogram) {
                    return id;
                }
            }
        }
        let id = self.families.len();
        // Names are ASCII by construction.
        let n = std::str::from_utf8(name).unwrap_or("");
        self.families.push(Family {
            name: n,
            kind: None,
            has_help: false,
            metrics: 0,
            le_labels: 0,
            quantile_labels: 0,
            camel_labels: 0,
        });
        self.by_name.insert(name, id);
        id
    }

    fn sample(&mut self) -> Result<(), ParseError> {
        let b = self.b;
        let name = self.metric_name();
        self.cur()?;
        if name.is_empty() {
            return self.err("invalid metric name");
        }
        let (fam, _) = self.family(name);
        let kind = *self.families[fam].kind.get_or_insert(FamilyType::Untyped);
        let folded = matches!(kind, FamilyType::Summary | FamilyType::Histogram);
        self.labels.clear();
        self.sig.clear();
        if is_blank(self.cur()?) {
            self.skip_blanks();
        }
        if self.cur()? == b'{' {
            self.i += 1;
            loop {
                self.skip_blanks();
                if self.cur()? == b'}' {
                    self.i += 1;
                    self.skip_blanks();
                    self.cur()?;
                    break;
                }
                let ls = self.i;
                if is_lname_start(b[self.i]) {
                    self.i += 1;
                    while self.i < b.len() && is_lname_cont(b[self.i]) {
                        self.i += 1;
                    }
                    self.cur()?;
                }
                let lname = &b[ls..self.i];
                if lname.is_empty() {
                    let n = go_quote(self.families[fam].name.as_bytes());
                    return self.err(format!("invalid label name for metric {n}"));
                }
                if lname == b"__name__" {
                    return self.err("label name \"__name__\" is reserved");
                }
                let special = (kind == FamilyType::Summary && lname == b"quantile")
                    || (kind == FamilyType::Histogram && lname == b"le");
                if is_blank(self.cur()?) {
                    self.skip_blanks();
                }
                let c = self.cur()?;
                if c != b'=' {
                    return self.err(format!("expected '=' after label name, found {}", go_quote_byte(c)));
                }
                if !special && self.labels.iter().any(|&(a, z, _, _)| &b[a..z] == lname) {
                    let n = go_quote(self.families[fam].name.as_bytes());
                    return self.err(format!("duplicate label names for metric {n}"));
                }
                self.i += 1;
                self.skip_blanks();
                let c = self.cur()?;
                if c != b'"' {
                    return self.err(format!("expected '\"' at start of label value, found {}", go_quote_byte(c)));
                }
                let vs = self.quoted_label_value()?;
                let raw = &b[vs..self.i - 1];
                if std::str::from_utf8(raw).is_err() {
                    let v = lex::unescape_label_bytes(raw);
                    return self.err(format!("invalid label value {}", go_quote(&v)));
                }
                if special {
                    let v = lex::unescape_label(std::str::from_utf8(raw).unwrap_or(""));
                    if lex::parse_float(v.as_bytes()).is_err() {
                        let what = if kind == FamilyType::Summary { "quantile" } else { "le" };
                        return self.err(format!(
                            "expected float as value for '{what}' label, got {}",
                            go_quote(v.as_bytes())
                        ));
                    }
                } else {
                    self.labels.push((ls, ls + lname.len(), vs, self.i - 1));
                    if folded {
                        self.sig.push((lname, raw));
                    }
                }
                self.skip_blanks();
                match self.cur()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        self.skip_blanks();
                        self.cur()?;
                        break;
                    }
                    _ => {
                        let v = lex::unescape_label(std::str::from_utf8(raw).unwrap_or(""));
                        return self.err(format!("unexpected end of label value {}", go_quote(v.as_bytes())));
                    }
                }
            }
        }
        self.count_metric(fam, kind, folded);
        self.value_and_timestamp()
    }

    /// A label value from its opening quote: escapes checked as expfmt does. Returns where the
    /// value starts; `self.i` is left after the closing quote.
    fn quoted_label_value(&mut self) -> Result<usize, ParseError> {
        let b = self.b;
        self.i += 1;
        let vs = self.i;
        loop {
            let k = match memchr::memchr3(b'"', b'\\', b'\n', &b[self.i..]) {
                Some(k) => self.i + k,
                None => return self.err(EOF_MSG),
            };
            match b[k] {
                b'"' => {
                    self.i = k + 1;
                    break;
                }
                b'\n' => {
                    let so_far = lex::unescape_label(std::str::from_utf8(&b[vs..k]).unwrap_or(""));
                    let q = go_quote(so_far.as_bytes());
                    return self.err(format!("label value {q} contains unescaped new-line"));
                }
                _ => match b.get(k + 1) {
                    None => return self.err(EOF_MSG),
                    Some(b'"' | b'\\' | b'n') => self.i = k + 2,
                    Some(&e) => return self.err(format!("invalid escape sequence '\\{}'", e as char)),
                },
            }
        }
        Ok(vs)
    }

    /// Lint counters per metric (a histogram's or summary's lines with the same labels are one).
    fn count_metric(&mut self, fam: usize, kind: FamilyType, folded: bool) {
        let b = self.b;
        // A new metric, unless this line continues a histogram/summary with the same labels.
        let new_metric = if folded {
            self.sig.sort_unstable();
            let mut h = mix(self.seed, fam as u64);
            for (k, v) in &self.sig {
                h = hash_bytes(hash_bytes(h, k), v);
            }
            self.signatures.insert(h)
        } else {
            true
        };
        if new_metric {
            let f = &mut self.families[fam];
            f.metrics += 1;
            for &(a, z, _, _) in &self.labels {
                let n = &b[a..z];
                if kind != FamilyType::Untyped {
                    f.le_labels += usize::from(kind != FamilyType::Histogram && n == b"le");
                    f.quantile_labels += usize::from(kind != FamilyType::Summary && n == b"quantile");
                }
                f.camel_labels += usize::from(is_camel(n));
            }
        }
    }

    /// The value, then an optional timestamp, then the end of the line.
    fn value_and_timestamp(&mut self) -> Result<(), ParseError> {
        let b = self.b;
        // The value: up to a blank or newline.
        let vs = self.i;
        while self.i < b.len() && !is_blank(b[self.i]) && b[self.i] != b'\n' {
            self.i += 1;
        }
        let c = self.cur()?;
        let raw = &b[vs..self.i];
        if lex::parse_float(raw).is_err() {
            return self.err(format!("expected float as value, got {}", go_quote(raw)));
        }
        if c == b'\n' {
            self.i += 1;
            return Ok(());
        }
        self.skip_blanks();
        self.cur()?;
        let ts = self.i;
        while self.i < b.len() && !is_blank(b[self.i]) && b[self.i] != b'\n' {
            self.i += 1;
        }
        self.cur()?;
        let raw = &b[ts..self.i];
        if lex::parse_int(raw).is_err() {
            return self.err(format!("expected integer as timestamp, got {}", go_quote(raw)));
        }
        let rest = self.i;
        self.skip_line()?;
        let spurious = drop_backslashes(&b[rest..self.i - 1]);
        if !spurious.is_empty() {
            return self.err(format!("spurious string after timestamp: {}", go_quote(&spurious)));
        }
        Ok(())
    }
}

/// expfmt's `readTokenUntilNewline(false)` (TYPE values, text after a timestamp) silently drops
/// backslashes.
fn drop_backslashes(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if b.contains(&b'\\') {
        b.iter().copied().filter(|&c| c != b'\\').collect::<Vec<u8>>().into()
    } else {
        b.into()
    }
}

/// A fast 64-bit hash for metric signatures (8 bytes per step, multiply-fold mixing).
#[inline]
fn mix(h: u64, x: u64) -> u64 {
    let m = (h ^ x) as u128 * 0x9e37_79b9_7f4a_7c15u128;
    (m as u64) ^ ((m >> 64) as u64)
}

fn hash_bytes(mut h: u64, b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    // The length separates ("ab","c") from ("a","bc").
    mix(mix(h, u64::from_le_bytes(tail)), b.len() as u64)
}

/// The signatures are already hashes.
#[derive(Default, Clone, Copy)]
struct BuildIdentity;

#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 << 8) | x as u64;
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

impl BuildHasher for BuildIdentity {
    type Hasher = Identity;
    fn build_hasher(&self) -> Identity {
        Identity(0)
    }
}

/// promlint's `[a-z][A-Z]`.
pub fn is_camel(s: &[u8]) -> bool {
    s.windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse(s.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn strict_errors_name_the_line() {
        assert_eq!(err("a 1\nb 1 "), "line 2: unexpected end of input stream");
        assert_eq!(err("a 1 \n"), "line 1: expected integer as timestamp, got \"\"");
        assert_eq!(err("a 1\nb"), "line 2: unexpected end of input stream");
        assert_eq!(
            err("# TYPE a gauge\n# TYPE a gauge\n"),
            "line 2: second TYPE line for metric name \"a\", or TYPE reported after samples"
        );
        assert_eq!(err("a{b=\"\\t\"} 1\n"), "line 1: invalid escape sequence '\\t'");
        assert_eq!(err("a{b=\"x\ny\"} 1\n"), "line 1: label value \"x\" contains unescaped new-line");
        assert_eq!(err("foo{a=\"b\" 1\n"), "line 1: unexpected end of label value \"b\"");
        assert_eq!(err("a 1\r\n"), "line 1: expected float as value, got \"1\\r\"");
        assert_eq!(err("a 1 2 3\n"), "line 1: spurious string after timestamp: \" 3\"");
        assert_eq!(
            err("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n"),
            "line 2: expected float as value for 'le' label, got \"x\""
        );
        assert_eq!(err("a{a=\"1\",a=\"2\"} 1\n"), "line 1: duplicate label names for metric \"a\"");
    }

    #[test]
    fn strict_accepts_what_promtool_accepts() {
        let f = parse(b"  a 1\n#HELP a x\n# TYPE h histogram\nh_bucket{le=\"1\",x=\"y\"} 1\nh_bucket{x=\"y\",le=\"+Inf\"} 1\nh_sum{x=\"y\"} 1\nh_count{x=\"y\"} 1\n   \n")
            .unwrap();
        assert_eq!(f.len(), 2);
        assert!(f[0].has_help);
        assert_eq!(f[1].metrics, 1);
        assert!(parse(b"a 1\n   ").is_ok());
    }
}
