//! Gorilla-style compressed samples (Facebook's Gorilla paper; the format Prometheus keeps its
//! head in, `tsdb/chunkenc/xor.go`, studied and written anew): timestamps as delta-of-delta in
//! variable-width buckets, values XORed with the previous one and only the meaningful bits
//! kept. A regular scrape costs one bit for the timestamp and, for a gauge or counter that moves
//! little, a dozen or so for the value: about 1.3–2 bytes a sample.
//!
//! Values that are short decimals (what exporters print: `123456.78`, `4.00123e+09`, counters)
//! are better kept as integers: a chunk whose first value is one keeps `m = v × 10^e` for a
//! chunk-wide `e` and encodes the delta-of-delta of `m` (VictoriaMetrics's insight), so a steady
//! counter costs a bit or two where XOR pays forty. A value that is not such a decimal (NaN, a
//! stale marker, infinities) is written raw behind an escape; one that needs another `e` switches
//! the chunk to it behind another escape (79 bits, once).
//!
//! A chunk is appended to until it holds `CHUNK_SAMPLES`, then closed (its bytes shrunk to fit
//! and never written again). Values are kept bit for bit: NaN payloads, stale markers, -0.0.

use super::Sample;

/// Samples per chunk, as Prometheus: long enough to amortise the header, short enough that a
/// query decodes little it does not need.
pub const CHUNK_SAMPLES: u16 = 120;

/// Append-only bit stream, most significant bit first.
#[derive(Debug, Clone, Default)]
struct Bits {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0 = it is full or there is none).
    used: u8,
}

impl Bits {
    /// A new byte, the buffer grown by a small step: the open chunk's spare capacity is what a
    /// fleet of half-full heads pays for, so it stays under 32 bytes.
    #[inline]
    fn grow(&mut self) {
        if self.bytes.len() == self.bytes.capacity() {
            self.bytes.reserve_exact(32);
        }
        self.bytes.push(0);
    }

    fn push_bit(&mut self, b: bool) {
        if self.used == 0 {
            self.grow();
        }
        if b {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }

    /// The low `n` bits of `v`, most significant first.
    fn push(&mut self, v: u64, n: u8) {
        let mut n = n;
        while n > 0 {
            if self.used == 0 {
                self.grow();
            }
            let room = 8 - self.used;
            let take = room.min(n);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= chunk << (room - take);
            self.used = (self.used + take) % 8;
            n -= take;
        }
    }
}

/// Reads what `Bits` wrote.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    #[inline]
    fn bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn bits(&mut self, n: u8) -> Option<u64> {
        let mut v = 0u64;
        let mut n = n as usize;
        while n > 0 {
            let byte = *self.bytes.get(self.pos / 8)? as u64;
            let off = self.pos % 8;
            let room = 8 - off;
            let take = room.min(n);
            let chunk = (byte >> (room - take)) & ((1u64 << take) - 1);
            v = (v << take) | chunk;
            self.pos += take;
            n -= take;
        }
        Some(v)
    }
}

/// Delta-of-delta buckets: (prefix bits, prefix length, payload bits), as Prometheus's.
const DOD_BUCKETS: [(u64, u8, u8); 3] = [(0b10, 2, 14), (0b110, 3, 17), (0b1110, 4, 20)];

/// `raw`, the low `bits` of a value `fits` allowed, back as the value: two's complement over
/// the range (-2^(n-1), 2^(n-1)].
fn signed(raw: u64, bits: u8) -> i64 {
    if bits == 64 {
        return raw as i64;
    }
    let raw = raw as i64;
    if raw > 1 << (bits - 1) {
        raw - (1 << bits)
    } else {
        raw
    }
}

fn fits(v: i64, bits: u8) -> bool {
    let lim = 1i64 << (bits - 1);
    -lim < v && v <= lim
}

/// Decimal-mode buckets for the delta-of-delta of `m`: (prefix, prefix length, payload bits);
/// prefix `111110` is a full 64-bit delta-of-delta, `111111` an escape: then `0` and a raw
/// value, or `1`, a new exponent (8 bits) and a new `m` (64 bits).
const DEC_BUCKETS: [(u64, u8, u8); 5] =
    [(0b10, 2, 7), (0b110, 3, 14), (0b1110, 4, 24), (0b11110, 5, 40), (0b111110, 6, 64)];
const DEC_ESCAPE: (u64, u8) = (0b111111, 6);
/// The mode byte of an XOR chunk (a decimal chunk's is `e + 64`).
const XOR_MODE: u8 = 0xff;

/// `v` as `m × 10^-e` exactly (the same bits back), with `|m| < 2^53`.
fn decimal(v: f64, e: i8) -> Option<i64> {
    if !v.is_finite() || (v == 0.0 && v.is_sign_negative()) {
        return None;
    }
    let scaled = if e >= 0 { v * POW10[e as usize] } else { v / POW10[(-e) as usize] };
    let m = scaled.round();
    if m.abs() >= 9_007_199_254_740_992.0 {
        return None;
    }
    (undecimal(m as i64, e).to_bits() == v.to_bits()).then_some(m as i64)
}

fn undecimal(m: i64, e: i8) -> f64 {
    if e >= 0 {
        m as f64 / POW10[e as usize]
    } else {
        m as f64 * POW10[(-e) as usize]
    }
}

const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// The exponent a chunk starting with `v` uses, if any: integers keep `e = 0` unless they are
/// round thousands or more (big gauges printed with six significant digits), decimals the
/// fewest digits that give `v` back.
fn pick_exponent(v: f64) -> Option<i8> {
    if decimal(v, 0).is_some() {
        if v.abs() < 1e7 {
            return Some(0);
        }
        let k = (3..=9).rev().find(|&k| decimal(v, -k).is_some());
        return Some(k.map_or(0, |k| -k));
    }
    (1..=9).find(|&e| decimal(v, e).is_some())
}

/// A chunk being appended to, or a closed one.
#[derive(Debug, Clone)]
pub struct Chunk {
    bits: Bits,
    count: u16,
    min_t: i64,
    /// `Some(e)`: decimal mode; `None`: XOR.
    scale: Option<i8>,
    // The encoder's state after the last sample.
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    m: i64,
    mdelta: i64,
}

impl Chunk {
    pub fn new() -> Chunk {
        Chunk {
            bits: Bits::default(),
            count: 0,
            min_t: 0,
            scale: None,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0xff,
            trailing: 0,
            m: 0,
            mdelta: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn is_full(&self) -> bool {
        self.count >= CHUNK_SAMPLES
    }

    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    pub fn max_t(&self) -> i64 {
        self.t
    }

    /// The newest sample.
    pub fn last(&self) -> Option<Sample> {
        (self.count > 0).then(|| Sample { t: self.t, v: f64::from_bits(self.v) })
    }

    /// Bytes the encoded samples take (the bit stream, not the encoder's state).
    pub fn bytes(&self) -> usize {
        self.bits.bytes.capacity()
    }

    /// No more appends: the buffer shrinks to what it holds.
    pub fn close(&mut self) {
        self.bits.bytes.shrink_to_fit();
    }

    /// Append a sample newer than the last (the caller checks the order).
    pub fn push(&mut self, t: i64, v: f64) {
        let vb = v.to_bits();
        match self.count {
            0 => {
                self.min_t = t;
                self.bits.push(t as u64, 64);
                self.scale = pick_exponent(v);
                match self.scale {
                    Some(e) => {
                        self.m = decimal(v, e).expect("picked for it");
                        self.bits.push((e as i16 + 64) as u64, 8);
                        self.bits.push(self.m as u64, 64);
                    }
                    None => {
                        self.bits.push(XOR_MODE as u64, 8);
                        self.bits.push(vb, 64);
                    }
                }
            }
            1 => {
                let delta = t - self.t;
                self.put_dod(delta);
                self.put_value(v, vb);
                self.delta = delta;
            }
            _ => {
                let delta = t - self.t;
                self.put_dod(delta - self.delta);
                self.put_value(v, vb);
                self.delta = delta;
            }
        }
        self.t = t;
        self.v = vb;
        self.count += 1;
    }

    fn put_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.bits.push_bit(false);
            return;
        }
        for (prefix, plen, bits) in DOD_BUCKETS {
            if fits(dod, bits) {
                self.bits.push(prefix, plen);
                self.bits.push(dod as u64 & ((1u64 << bits) - 1), bits);
                return;
            }
        }
        self.bits.push(0b1111, 4);
        self.bits.push(dod as u64, 64);
    }

    fn put_value(&mut self, v: f64, vb: u64) {
        let Some(e) = self.scale else { return self.put_xor(vb) };
        let Some(m) = decimal(v, e) else {
            self.bits.push(DEC_ESCAPE.0, DEC_ESCAPE.1);
            match pick_exponent(v) {
                // Another exponent from here on, from this `m`.
                Some(e2) => {
                    let m = decimal(v, e2).expect("picked for it");
                    self.bits.push_bit(true);
                    self.bits.push((e2 as i16 + 64) as u64, 8);
                    self.bits.push(m as u64, 64);
                    self.scale = Some(e2);
                    self.m = m;
                    self.mdelta = 0;
                }
                // NaN, a stale marker, an infinity, -0.0: raw, and `m` stays where it was.
                None => {
                    self.bits.push_bit(false);
                    self.bits.push(vb, 64);
                }
            }
            return;
        };
        let delta = m.wrapping_sub(self.m);
        let dod = delta.wrapping_sub(self.mdelta);
        if dod == 0 {
            self.bits.push_bit(false);
        } else {
            let (prefix, plen, bits) =
                DEC_BUCKETS.into_iter().find(|&(_, _, b)| b == 64 || fits(dod, b)).expect("64 fits");
            self.bits.push(prefix, plen);
            self.bits.push(if bits == 64 { dod as u64 } else { dod as u64 & ((1u64 << bits) - 1) }, bits);
        }
        self.m = m;
        self.mdelta = delta;
    }

    fn put_xor(&mut self, vb: u64) {
        let x = vb ^ self.v;
        if x == 0 {
            self.bits.push_bit(false);
            return;
        }
        self.bits.push_bit(true);
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            // The meaningful bits fit the previous window: reuse it.
            self.bits.push_bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.bits.push(x >> self.trailing, sig);
        } else {
            self.bits.push_bit(true);
            let sig = 64 - leading - trailing;
            self.bits.push(leading as u64, 5);
            // 64 significant bits do not fit in 6: 0 stands for 64.
            self.bits.push((sig % 64) as u64, 6);
            self.bits.push(x >> trailing, sig);
            self.leading = leading;
            self.trailing = trailing;
        }
    }

    /// Every sample, oldest first.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            r: Reader { bytes: &self.bits.bytes, pos: 0 },
            left: self.count,
            n: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            scale: None,
            m: 0,
            mdelta: 0,
        }
    }
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk::new()
    }
}

pub struct Iter<'a> {
    r: Reader<'a>,
    left: u16,
    n: u16,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    scale: Option<i8>,
    m: i64,
    mdelta: i64,
}

impl Iter<'_> {
    fn read_decimal(&mut self, e: i8) -> Option<u64> {
        let mut prefix = 0;
        while prefix < 6 && self.r.bit()? {
            prefix += 1;
        }
        let dod = match prefix {
            0 => 0,
            6 if !self.r.bit()? => return self.r.bits(64),
            6 => {
                let e2 = (self.r.bits(8)? as i16 - 64) as i8;
                self.scale = Some(e2);
                self.m = self.r.bits(64)? as i64;
                self.mdelta = 0;
                return Some(undecimal(self.m, e2).to_bits());
            }
            p => {
                let bits = DEC_BUCKETS[p - 1].2;
                signed(self.r.bits(bits)?, bits)
            }
        };
        self.mdelta = self.mdelta.wrapping_add(dod);
        self.m = self.m.wrapping_add(self.mdelta);
        Some(undecimal(self.m, e).to_bits())
    }

    fn read_dod(&mut self) -> Option<i64> {
        let mut prefix = 0;
        while prefix < 4 && self.r.bit()? {
            prefix += 1;
        }
        match prefix {
            0 => Some(0),
            4 => Some(self.r.bits(64)? as i64),
            p => {
                let bits = DOD_BUCKETS[p - 1].2;
                Some(signed(self.r.bits(bits)?, bits))
            }
        }
    }

    fn read_value(&mut self) -> Option<u64> {
        if !self.r.bit()? {
            return Some(self.v);
        }
        if self.r.bit()? {
            self.leading = self.r.bits(5)? as u8;
            let sig = self.r.bits(6)? as u8;
            let sig = if sig == 0 { 64 } else { sig };
            self.trailing = 64 - self.leading - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let x = self.r.bits(sig)? << self.trailing;
        Some(self.v ^ x)
    }
}

impl Iterator for Iter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.left == 0 {
            return None;
        }
        match self.n {
            0 => {
                self.t = self.r.bits(64)? as i64;
                let mode = self.r.bits(8)? as u8;
                if mode == XOR_MODE {
                    self.v = self.r.bits(64)?;
                } else {
                    let e = (mode as i16 - 64) as i8;
                    self.scale = Some(e);
                    self.m = self.r.bits(64)? as i64;
                    self.v = undecimal(self.m, e).to_bits();
                }
            }
            _ => {
                let dod = self.read_dod()?;
                self.delta = if self.n == 1 { dod } else { self.delta + dod };
                self.t += self.delta;
                self.v = match self.scale {
                    Some(e) => self.read_decimal(e)?,
                    None => self.read_value()?,
                };
            }
        }
        self.n += 1;
        self.left -= 1;
        Some(Sample { t: self.t, v: f64::from_bits(self.v) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(samples: &[(i64, f64)]) -> Chunk {
        let mut c = Chunk::new();
        for &(t, v) in samples {
            c.push(t, v);
        }
        let back: Vec<(i64, u64)> = c.iter().map(|s| (s.t, s.v.to_bits())).collect();
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(back, want);
        c
    }

    #[test]
    fn regular_counters_and_gauges_take_under_two_bytes_a_sample() {
        let mut counter = Vec::new();
        let mut gauge = Vec::new();
        let mut c = 1_000_000.0;
        for i in 0..120i64 {
            let t = 1_700_000_000_000 + i * 15_000;
            c += (i % 7) as f64;
            counter.push((t, c));
            gauge.push((t, 40.0 + ((i % 5) as f64) * 0.5));
        }
        for s in [&counter, &gauge] {
            let ch = roundtrip(s);
            let per = ch.bits.bytes.len() as f64 / ch.len() as f64;
            assert!(per <= 2.0, "{per} bytes per sample");
        }
    }

    #[test]
    fn exporter_decimals_take_a_few_bits_and_come_back_exact() {
        // A counter printed with two decimals at a jittery rate, a big gauge with six digits.
        let mut counter = Vec::new();
        let mut gauge = Vec::new();
        for i in 0..120i64 {
            let t = i * 1000;
            let secs = i as f64 + (i % 3) as f64 * 0.001;
            counter.push((t, format!("{:.2}", 123_456.0 + 0.37 * secs).parse::<f64>().unwrap()));
            gauge.push((t, format!("{:.6e}", 4.0e9 + 2.0e7 * (secs / 30.0).sin()).parse::<f64>().unwrap()));
        }
        for (name, s) in [("counter", &counter), ("gauge", &gauge)] {
            let ch = roundtrip(s);
            assert!(ch.scale.is_some(), "{name} in decimal mode");
            let per = ch.bits.bytes.len() as f64 / ch.len() as f64;
            assert!(per <= 1.5, "{name}: {per} bytes per sample");
        }
        // Stale markers and NaNs inside a decimal chunk are written raw and do not disturb it.
        let stale = f64::from_bits(crate::tsdb::STALE_NAN_BITS);
        let ch = roundtrip(&[(0, 1.5), (1, 2.5), (2, stale), (3, f64::NAN), (4, 3.5), (5, f64::INFINITY), (6, 4.5)]);
        assert_eq!(ch.scale, Some(1));
        // A value needing another exponent switches the chunk to it, and back is exact too.
        let ch = roundtrip(&[(0, 1.5), (1, 2.5), (2, 2.55), (3, 2.65), (4, 2.0), (5, 1e300), (6, 7.0), (7, -0.0)]);
        assert_eq!(ch.scale, Some(2), "switched to two decimals; 1e300 and -0.0 went raw");
        assert_eq!(pick_exponent(4_001_230_000.0), Some(-4));
        assert_eq!(pick_exponent(1_000_000.0), Some(0), "a counter at a round number stays at e = 0");
        assert_eq!(pick_exponent(17.0), Some(0));
        assert_eq!(pick_exponent(0.1 + 0.2), None, "not a short decimal: XOR");
    }

    #[test]
    fn every_value_and_timestamp_is_kept_bit_for_bit() {
        let stale = f64::from_bits(crate::tsdb::STALE_NAN_BITS);
        let odd_nan = f64::from_bits(0x7ff8_dead_beef_0001);
        roundtrip(&[
            (0, 0.0),
            (1, -0.0),
            (1_000, f64::INFINITY),
            (1_001, f64::NEG_INFINITY),
            (5_000_000_000, stale),
            (5_000_000_001, odd_nan),
            (5_000_000_002, f64::MIN_POSITIVE),
            (5_000_000_010, f64::MAX),
            (5_000_000_011, 1e-300),
            (i64::MAX / 4, 42.0),
        ]);
        roundtrip(&[(-5, 1.0)]);
        // Jittered timestamps through every bucket, both signs.
        let mut t = 0i64;
        let mut s = Vec::new();
        for (i, d) in [1i64, 15_000, 15_001, 14_999, 8_000, 16_192, 8_000, 100_000, 1 << 19, (1 << 19) + 3, 1 << 30, 7]
            .iter()
            .enumerate()
        {
            t += d;
            s.push((t, i as f64 * 1.1));
        }
        roundtrip(&s);
    }
}
