//! Go's `math` functions where Rust's (libm's) round differently in the last bit, ported so
//! results agree bit for bit with Prometheus (promtool compares sample values exactly). `Exp` is
//! Go's amd64 assembly algorithm (Shibata's method, with FMA when the CPU has AVX2 and FMA, as
//! Go chooses at run time); `Log` is FreeBSD's e_log.c as in Go; `Pow` is Go's pure-Go `pow.go`
//! on top of those, `Frexp` and `Ldexp`.

/// Go's math.Frexp: x = frac * 2^exp with |frac| in [0.5, 1).
pub(crate) fn go_frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || x.is_nan() || x.is_infinite() {
        return (x, 0);
    }
    let (mut x, mut exp) = (x, 0);
    if x.abs() < f64::MIN_POSITIVE {
        // Subnormal: normalise first.
        x *= (1u64 << 52) as f64;
        exp = -52;
    }
    let bits = x.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i32 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exp)
}

/// Go's math.Log2 (Log10 is Log(x) * (1/Ln10)): these round differently from libm's.
pub(crate) fn go_log2(x: f64) -> f64 {
    let (frac, exp) = go_frexp(x);
    // Exact powers of two give exact answers.
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    go_log(frac) * std::f64::consts::LOG2_E + exp as f64
}

/// Go's math.Log (FreeBSD's e_log.c algorithm), which differs from glibc's in the last bit for
/// some inputs; promtool compares exactly.
// The constants are written as in the reference source, so they can be checked against it.
#[allow(clippy::excessive_precision)]
pub(crate) fn go_log(x: f64) -> f64 {
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    const L1: f64 = 6.666666666666735130e-01;
    const L2: f64 = 3.999999999940941908e-01;
    const L3: f64 = 2.857142874366239149e-01;
    const L4: f64 = 2.222219843214978396e-01;
    const L5: f64 = 1.818357216161805012e-01;
    const L6: f64 = 1.531383769920937332e-01;
    const L7: f64 = 1.479819860511658591e-01;
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut f1, mut ki) = go_frexp(x);
    if f1 < std::f64::consts::SQRT_2 / 2.0 {
        f1 *= 2.0;
        ki -= 1;
    }
    let f = f1 - 1.0;
    let k = ki as f64;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
    let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// Go's math.Max / math.Min: NaN wins, and signed zeros are ordered.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a > 0.0 || b.is_infinite() && b > 0.0 {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b {
        a
    } else {
        b
    }
}

pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a < 0.0 || b.is_infinite() && b < 0.0 {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b {
        a
    } else {
        b
    }
}

/// Go's math.Exp on amd64 (`exp_amd64.s`): range reduction by `k = round(x·log2 e)`, a degree-7
/// Taylor series at x/16, squared back four times, scaled by 2^k.
// The constants are written as in the reference source, so they can be checked against it.
#[allow(clippy::excessive_precision)]
pub(crate) fn go_exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2U: f64 = 0.69314718055966295651160180568695068359375;
    const LN2L: f64 = 0.28235290563031577122588448175013436025525412068e-12;
    const OVERFLOW: f64 = 7.09782712893384e+02;
    const T: [f64; 8] = [
        1.0,
        0.5,
        1.6666666666666666667e-1,
        4.1666666666666666667e-2,
        8.3333333333333333333e-3,
        1.3888888888888888889e-3,
        1.9841269841269841270e-4,
        2.4801587301587301587e-5,
    ];
    if !x.is_finite() {
        // -Inf gives 0; NaN and +Inf are returned as they are.
        return if x == f64::NEG_INFINITY { 0.0 } else { x };
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL rounds to nearest, ties to even (the default MXCSR mode).
    let k = (x * LOG2E).round_ties_even() as i32;
    let kf = k as f64;
    let mut r;
    if use_fma() {
        r = (-kf).mul_add(LN2U, x);
        r = (-kf).mul_add(LN2L, r);
        r *= 0.0625;
        let mut p = T[7];
        for c in [T[6], T[5], T[4], T[3], T[2], T[1], T[0]] {
            p = p.mul_add(r, c);
        }
        r *= p;
        for _ in 0..3 {
            r *= r + 2.0;
        }
        r = r.mul_add(r + 2.0, 1.0);
    } else {
        r = x - kf * LN2U;
        r -= kf * LN2L;
        r *= 0.0625;
        let mut p = T[7];
        for c in [T[6], T[5], T[4], T[3], T[2], T[1], T[0]] {
            p = p * r + c;
        }
        r *= p;
        for _ in 0..4 {
            r *= r + 2.0;
        }
        r += 1.0;
    }
    let biased = k + 0x3ff;
    if biased <= 0 {
        return 0.0;
    }
    if biased >= 0x7ff {
        return f64::INFINITY;
    }
    r * f64::from_bits((biased as u64) << 52)
}

/// Go uses the FMA variant of Exp when the CPU has both AVX2 and FMA (`cpu.X86`).
fn use_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static FMA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *FMA.get_or_init(|| std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Go's math.Ldexp: frac × 2^exp, with Go's handling of subnormal results.
pub(crate) fn go_ldexp(frac: f64, exp: i32) -> f64 {
    if frac == 0.0 || !frac.is_finite() {
        return frac;
    }
    let (frac, e) = if frac.abs() < f64::MIN_POSITIVE { (frac * (1u64 << 52) as f64, -52) } else { (frac, 0) };
    let mut exp = exp as i64 + e;
    let mut bits = frac.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exp < -1075 {
        return 0.0f64.copysign(frac);
    }
    if exp > 1023 {
        return if frac < 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    bits &= !(0x7ff << 52);
    bits |= ((exp + 1023) as u64) << 52;
    m * f64::from_bits(bits)
}

/// x to an infinite or huge even power: 1 for -1, else 0 or +Inf by which side of 1 |x| is on.
fn huge_power(x: f64, y: f64) -> f64 {
    if x == -1.0 {
        1.0
    } else if (x.abs() < 1.0) == (y > 0.0) {
        0.0
    } else {
        f64::INFINITY
    }
}

fn is_odd_int(x: f64) -> bool {
    let (xi, xf) = (x.trunc(), x - x.trunc());
    xf == 0.0 && xi.abs() < 9.007_199_254_740_992e15 * 1024.0 && (xi as i64) & 1 == 1
}

/// Go's math.Pow (`pow.go`): special cases in Go's order, then x^yf through Exp(yf·Log(x)) and
/// x^yi by repeated squaring, the exponent kept apart and applied by Ldexp.
pub(crate) fn go_pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 {
        if y < 0.0 {
            return if x.is_sign_negative() && is_odd_int(y) { f64::NEG_INFINITY } else { f64::INFINITY };
        }
        return if x.is_sign_negative() && is_odd_int(y) { x } else { 0.0 };
    }
    if y.is_infinite() {
        return huge_power(x, y);
    }
    if x.is_infinite() {
        if x < 0.0 {
            return go_pow(1.0 / x, -y);
        }
        return if y < 0.0 { 0.0 } else { f64::INFINITY };
    }
    if y == 0.5 {
        return x.sqrt();
    }
    if y == -0.5 {
        return 1.0 / x.sqrt();
    }
    let ay = y.abs();
    let (mut yi, mut yf) = (ay.trunc(), ay - ay.trunc());
    if yf != 0.0 && x < 0.0 {
        return f64::NAN;
    }
    if yi >= 9_223_372_036_854_775_808.0 {
        // A huge even integer: overflow or underflow for every x but -1.
        return huge_power(x, y);
    }
    let (mut a1, mut ae) = (1.0f64, 0i64);
    if yf != 0.0 {
        if yf > 0.5 {
            yf -= 1.0;
            yi += 1.0;
        }
        a1 = go_exp(yf * go_log(x));
    }
    let (mut x1, xe) = go_frexp(x);
    let mut xe = xe as i64;
    let mut i = yi as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            // Catastrophic overflow: Ldexp deals with it (and `ae` cannot overflow).
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    go_ldexp(a1, ae.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_log_is_exact_where_go_is() {
        assert_eq!(go_frexp(8.0), (0.5, 4));
        assert_eq!(go_log2(8.0), 3.0);
        assert_eq!(go_log(1.0), 0.0);
        assert_eq!(go_log(0.0), f64::NEG_INFINITY);
        assert!(go_log(-1.0).is_nan());
    }

    #[test]
    fn go_max_and_min_order_nan_and_signed_zeros() {
        assert!(go_max(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(0.0, -0.0).is_sign_negative());
    }

    #[test]
    fn pow_agrees_with_go_bit_for_bit() {
        // promtool 2.42's answers (Prometheus's compliance queries `x ^ 1.2345` and
        // `x ^ (1 * 2 + 4 / 6 - 10)`), compared exactly.
        let y = 1.0 * 2.0 + 4.0 / 6.0 - 10.0;
        let cases = [
            (2.0f64, 1.2345f64, 2.3529978461966174f64),
            (3.0, 1.2345, 3.8815589740073273),
            (7.0, 1.2345, 11.04774217474747),
            (13.0, 1.2345, 23.722642736825748),
            (0.3, 1.2345, 0.2262070775376969),
            (123.456, 1.2345, 381.9194822488488),
            (2.0, y, 0.006200785359250777),
            (3.0, y, 0.000317037619730514),
            (7.0, y, 6.347670474701499e-07),
            (13.0, y, 6.777695961850215e-09),
            (0.3, y, 6830.368459925573),
            (123.456, y, 4.594559232072348e-16),
        ];
        for (x, y, want) in cases {
            assert_eq!(go_pow(x, y).to_bits(), want.to_bits(), "{x} ^ {y}: {} != {want}", go_pow(x, y));
        }
    }

    #[test]
    fn pow_special_cases_in_go_order() {
        assert_eq!(go_pow(f64::NAN, 0.0), 1.0);
        assert_eq!(go_pow(1.0, f64::NAN), 1.0);
        assert!(go_pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(go_pow(-0.0, -3.0), f64::NEG_INFINITY);
        assert_eq!(go_pow(-0.0, 3.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(go_pow(-1.0, f64::INFINITY), 1.0);
        assert_eq!(go_pow(0.5, f64::INFINITY), 0.0);
        assert_eq!(go_pow(f64::NEG_INFINITY, 3.0), f64::NEG_INFINITY);
        assert_eq!(go_pow(2.0, 10.0), 1024.0);
        assert_eq!(go_pow(2.0, -1074.0), f64::from_bits(1), "down to the smallest subnormal");
        assert_eq!(go_pow(10.0, 400.0), f64::INFINITY);
        assert_eq!(go_exp(0.0), 1.0);
        assert_eq!(go_exp(1000.0), f64::INFINITY);
        assert_eq!(go_exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(go_ldexp(0.75, -1074), f64::from_bits(1), "Go rounds the subnormal product");
    }
}
