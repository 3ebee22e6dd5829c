//! Elementary functions whose special cases are selects rather than branches, so that loops
//! over slices run them in vector lanes: `exp`, `expm1`, `ln`, `ln_1p`, the logistic function and two functions of
//! the logistic loss built on them.
//!
//! Accuracy (checked against the standard library in the tests below): `exp`, `ln` and
//! `ln_1p` within 2 units in the last place, `expm1` and `sigmoid` within 3, over the whole
//! range including subnormal arguments and results; `0`, `±inf` and NaN map as in the
//! standard library. Results can differ from the standard library's in the last bits, so
//! sums built on them round differently, not less accurately.
//!
//! Methods: `exp(x) = 2^k exp(r)` with `k = round(x / ln 2)`, `|r| <= ln(2) / 2` and a degree-13
//! Taylor polynomial for `exp(r)` (truncation below `1e-17` relative); `2^k` is applied as two
//! factors so that subnormal results are rounded once. `ln(x) = k ln 2 + ln(1 + f)` with
//! `1 + f` in `[sqrt(2)/2, sqrt(2))` and `ln(1 + f) = 2 atanh(s)`, `s = f / (2 + f)`, by the
//! minimax polynomial in `s^2` of Cody and Waite's form as used by fdlibm (coefficients
//! `LG1..LG7` below). `ln_1p(u) = ln(w) + (u - (w - 1)) / w` with `w = 1 + u` (the correction
//! restores the bits of `u` lost in `w`). `expm1` uses its Taylor polynomial for
//! `|x| < ln(2) / 2` and `2^k expm1(r) + (2^k - 1)` beyond.

/// `ln 2` split: the high part has trailing zero bits, so `k * LN2_HI` is exact for every
/// exponent `k` used here (bit patterns `0x3fe62e42fee00000` and `0x3dea39ef35793c76`).
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// Coefficients of `ln(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2))`, `R(z) = LG1 z + ... + LG7 z^7`
/// (the minimax fit of fdlibm's `log`, error below `2^-58.45`).
const LG1: f64 = 0.666_666_666_666_673_5;
const LG2: f64 = 0.399_999_999_994_094_2;
const LG3: f64 = 0.285_714_287_436_623_9;
const LG4: f64 = 0.222_221_984_321_497_84;
const LG5: f64 = 0.181_835_721_616_180_5;
const LG6: f64 = 0.153_138_376_992_093_73;
const LG7: f64 = 0.147_981_986_051_165_86;
/// `2^54`, which brings subnormal arguments of `ln` into the normal range.
const TWO54: f64 = 18_014_398_509_481_984.0;
/// Half of `ln 2`: the bound of the reduced argument of `exp` and of `expm1`'s polynomial.
const HALF_LN2: f64 = 0.346_573_590_279_972_65;

/// `1 / k!` for `k = 2..=13`.
const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `(exp(r) - 1) / r - 1 = r/2! + r^2/3! + ... + r^12/13!` (Horner).
#[inline(always)]
fn taylor_tail(r: f64) -> f64 {
    let mut q = INV_FACT[11];
    for c in INV_FACT[..11].iter().rev() {
        q = q * r + c;
    }
    q * r
}

/// `x = k ln 2 + r` with `|r| <= ln(2) / 2`: returns `r` and `2^k` as two factors (each
/// normal for every `k` that `exp` needs, so that scaling by both rounds once).
#[inline(always)]
fn reduce(x: f64) -> (f64, f64, f64) {
    // beyond these bounds the result is 0 or +inf; clamping keeps `k` in range (NaN stays)
    let xc = x.clamp(-746.0, 710.0);
    let k = (xc * std::f64::consts::LOG2_E).round_ties_even();
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let ki = k as i64;
    let k1 = ki >> 1;
    let s1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((ki - k1 + 1023) as u64) << 52);
    (r, s1, s2)
}

/// `exp(x)`.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let (r, s1, s2) = reduce(x);
    (1.0 + r * (1.0 + taylor_tail(r))) * s1 * s2
}

/// `exp(x) - 1`, accurate near 0: the Taylor polynomial for `|x| < ln(2) / 2`, else
/// `2^k expm1(r) + (2^k - 1)` (both terms exact or nearly, one rounding), and `exp(x) - 1`
/// where `2^k - 1` is no longer exact.
#[inline(always)]
pub fn expm1(x: f64) -> f64 {
    let (r, s1, s2) = reduce(x);
    let em = r * (1.0 + taylor_tail(r));
    let scaled = em * s1 * s2 + (s1 * s2 - 1.0);
    let small = x * (1.0 + taylor_tail(x));
    if x.abs() < HALF_LN2 {
        small
    } else if x < 36.0 {
        scaled
    } else {
        (1.0 + em) * s1 * s2 - 1.0
    }
}

/// Natural logarithm.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let sub = x < f64::MIN_POSITIVE;
    let xs = if sub { x * TWO54 } else { x };
    let bits = xs.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023 - if sub { 54 } else { 0 };
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    e += i64::from(big);
    // exact: m is within a factor 2 of 1
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let hfsq = 0.5 * f * f;
    let k = e as f64;
    let v = k * LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + k * LN2_LO)) - f);
    if x == 0.0 {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        x
    } else if x > 0.0 {
        v
    } else {
        f64::NAN
    }
}

/// `ln(1 + u)`, accurate near 0.
#[inline(always)]
pub fn ln_1p(u: f64) -> f64 {
    let w = 1.0 + u;
    let v = ln(w) + (u - (w - 1.0)) / w;
    if w == 0.0 || u == f64::INFINITY {
        ln(w)
    } else {
        v
    }
}

/// The logistic function `1 / (1 + exp(-x))`.
#[inline(always)]
pub fn sigmoid(x: f64) -> f64 {
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 {
        s
    } else if x < 0.0 {
        e * s
    } else {
        x
    }
}

/// Slope of the logistic function, `sigmoid(x) (1 - sigmoid(x)) = e / (1 + e)^2` with
/// `e = exp(-|x|)`: relatively accurate for every `x` (the product of a rounded `sigmoid(x)`
/// and `1 - sigmoid(x)` is 0 from `x = 37` on); 0 only once `exp(-|x|)` underflows.
#[inline(always)]
pub fn sigmoid_slope(x: f64) -> f64 {
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    e * s * s
}

/// `log(1 + exp(x))` given `p = sigmoid(x)`, with one logarithm: `-ln_1p(-p)` for `x <= 0`
/// (where `p <= 1/2`), `x - ln_1p(p - 1)` above (where `p >= 1/2` and `p - 1` is exact);
/// both keep the relative accuracy of `p`.
#[inline(always)]
pub fn log1pexp_at(x: f64, p: f64) -> f64 {
    let pos = x > 0.0;
    let u = if pos { p - 1.0 } else { -p };
    (if pos { x } else { 0.0 }) - ln_1p(u)
}

/// `log(1 + exp(x + d)) - log(1 + exp(x))` given `p = sigmoid(x)`, without cancellation:
/// `ln_1p(p expm1(d))` while `p expm1(d) >= -1/2`; otherwise (a decrease of at least
/// `ln 2`, or `p expm1(d)` out of range) the logarithm of `q + p exp(d)` (`q = 1 - p`) as a
/// sum of exponentials, `ln q = -log(1 + exp(x))` and `ln p = x - log(1 + exp(x))`. The
/// first form alone would give `-inf` where `p` rounds to 1 and `d` is large and negative.
#[inline(always)]
pub fn log1pexp_change(x: f64, p: f64, d: f64) -> f64 {
    let (near, t) = log1pexp_change_near(p, d);
    if (-0.5..f64::INFINITY).contains(&t) {
        return near;
    }
    let sp = log1pexp_at(x, p);
    let (a, b) = (-sp, x - sp + d);
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + ln_1p(exp(lo - hi))
}

/// The first form of [`log1pexp_change`], `ln_1p(t)` with `t = p expm1(d)`, and `t`: where
/// `-1/2 <= t < inf` the value is `log1pexp_change(x, p, d)` bit for bit, elsewhere it is not
/// used. Free of branches, so that a loop over slices runs it in vector lanes and finishes the
/// rare rows outside that range with [`log1pexp_change`] afterwards.
#[inline(always)]
pub fn log1pexp_change_near(p: f64, d: f64) -> (f64, f64) {
    let t = p * expm1(d);
    (ln_1p(t), t)
}

/// `q ln q + (1 - q) ln(1 - q)` on `[0, 1]` (`+inf` outside), the conjugate of
/// `log(1 + exp(x))`.
#[inline(always)]
pub fn neg_entropy(q: f64) -> f64 {
    let a = if q > 0.0 { q * ln(q) } else { 0.0 };
    let b = if q < 1.0 { (1.0 - q) * ln_1p(-q) } else { 0.0 };
    if (0.0..=1.0).contains(&q) {
        a + b
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place (of the reference), 0 for equal specials.
    fn ulps(got: f64, want: f64) -> f64 {
        if got == want || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        if !want.is_finite() || !got.is_finite() {
            return f64::INFINITY;
        }
        let ulp = if want == 0.0 {
            f64::from_bits(1)
        } else {
            let b = want.abs().to_bits();
            f64::from_bits(b + 1) - want.abs()
        };
        (got - want).abs() / ulp
    }

    /// Arguments: a dense sweep, random bit patterns over every exponent, and specials.
    fn arguments(lo: f64, hi: f64) -> Vec<f64> {
        let mut v = Vec::new();
        let steps = 200_000;
        for i in 0..=steps {
            v.push(lo + (hi - lo) * i as f64 / steps as f64);
        }
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if x.is_finite() && x >= lo && x <= hi {
                v.push(x);
            }
            let x = f64::from_bits(s >> 1);
            if x >= lo && x <= hi {
                v.push(x);
                v.push(-x);
            }
        }
        v.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            0.5,
            2.0,
        ]);
        v.extend([
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
            1e-300,
            -1e-300,
        ]);
        v.retain(|x| (lo..=hi).contains(x));
        v
    }

    fn worst(f: fn(f64) -> f64, reference: fn(f64) -> f64, args: &[f64]) -> (f64, f64) {
        args.iter()
            .map(|&x| (ulps(f(x), reference(x)), x))
            .fold((0.0, 0.0), |m, v| if v.0 > m.0 { v } else { m })
    }

    #[test]
    fn exp_within_two_ulps() {
        let (e, x) = worst(exp, f64::exp, &arguments(-746.0, 710.0));
        assert!(e <= 2.0, "exp({x}): {e} ulps");
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(800.0), f64::INFINITY);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn expm1_within_three_ulps() {
        let (e, x) = worst(expm1, f64::exp_m1, &arguments(-750.0, 709.0));
        assert!(e <= 3.0, "expm1({x}): {e} ulps");
        assert_eq!(expm1(f64::NEG_INFINITY), -1.0);
        assert_eq!(expm1(f64::INFINITY), f64::INFINITY);
        assert_eq!(expm1(1e-300), 1e-300);
        assert!(expm1(f64::NAN).is_nan());
    }

    #[test]
    fn ln_within_two_ulps() {
        let (e, x) = worst(ln, f64::ln, &arguments(0.0, f64::MAX));
        assert!(e <= 2.0, "ln({x}): {e} ulps");
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NAN).is_nan());
    }

    #[test]
    fn ln_1p_within_two_ulps() {
        let (e, x) = worst(ln_1p, f64::ln_1p, &arguments(-1.0, f64::MAX));
        assert!(e <= 2.0, "ln_1p({x}): {e} ulps");
        assert_eq!(ln_1p(-1.0), f64::NEG_INFINITY);
        assert_eq!(ln_1p(1e-300), 1e-300);
        assert_eq!(ln_1p(f64::INFINITY), f64::INFINITY);
        assert!(ln_1p(-2.0).is_nan());
    }

    #[test]
    fn sigmoid_within_three_ulps() {
        let (e, x) = worst(sigmoid, crate::datafit::sigmoid, &arguments(-800.0, 800.0));
        assert!(e <= 3.0, "sigmoid({x}): {e} ulps");
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        assert!(sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn sigmoid_slope_is_accurate_far_into_the_tails() {
        let reference = |x: f64| {
            let e = (-x.abs()).exp();
            e / ((1.0 + e) * (1.0 + e))
        };
        let (e, x) = worst(sigmoid_slope, reference, &arguments(-800.0, 800.0));
        assert!(e <= 4.0, "sigmoid_slope({x}): {e} ulps");
        assert_eq!(sigmoid_slope(0.0), 0.25);
        assert_eq!(sigmoid_slope(40.0), sigmoid_slope(-40.0));
        // where the rounded product p (1 - p) is already 0
        let p = sigmoid(40.0);
        assert_eq!(p * (1.0 - p), 0.0);
        assert!((sigmoid_slope(40.0) / (-40f64).exp() - 1.0).abs() < 1e-15);
        assert_eq!(sigmoid_slope(f64::INFINITY), 0.0);
        assert!(sigmoid_slope(f64::NAN).is_nan());
    }

    #[test]
    fn logistic_helpers_match_their_direct_forms() {
        let mut x = -800.0f64;
        while x < 800.0 {
            let p = crate::datafit::sigmoid(x);
            let (want, got) = (crate::datafit::log1pexp(x), log1pexp_at(x, p));
            assert!(ulps(got, want) <= 4.0, "log1pexp({x}): {got:e} vs {want:e}");
            let (want, got) = (crate::datafit::neg_entropy(p), neg_entropy(p));
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1e-300),
                "neg_entropy({p:e}): {got:e} vs {want:e}"
            );
            x += 0.173;
        }
        assert_eq!(log1pexp_at(0.0, 0.5), std::f64::consts::LN_2);
        assert_eq!(log1pexp_at(1000.0, 1.0), 1000.0);
        assert_eq!(neg_entropy(0.0), 0.0);
        assert_eq!(neg_entropy(1.0), 0.0);
        assert_eq!(neg_entropy(1.5), f64::INFINITY);
        assert_eq!(neg_entropy(-0.1), f64::INFINITY);
    }

    /// The change of `log(1 + exp(x))` over a step `d` is finite and within the rounding of
    /// the direct difference, also where `sigmoid(x)` rounds to 1 and the step is large and
    /// negative (where `ln_1p(p expm1(d))` alone is `-inf`) or `sigmoid(x)` is 0 and the step
    /// overflows `expm1`.
    #[test]
    fn the_change_of_log1pexp_is_finite_and_matches_the_difference() {
        let steps = [1e-12, 1e-3, 0.7, 5.0, 50.0, 1e3, 1e7];
        let mut x = -800.0f64;
        while x < 800.0 {
            let p = crate::datafit::sigmoid(x);
            for d in steps.iter().flat_map(|&d| [d, -d]) {
                let (a, b) = (crate::datafit::log1pexp(x + d), crate::datafit::log1pexp(x));
                let got = log1pexp_change(x, p, d);
                let bound = 8.0 * f64::EPSILON * a.abs().max(b.abs()).max(1.0);
                assert!(got.is_finite(), "change({x}, {d}) = {got}");
                assert!(
                    (got - (a - b)).abs() <= bound,
                    "change({x}, {d}): {got:e} vs {:e}",
                    a - b
                );
            }
            x += 7.3;
        }
        assert_eq!(ln_1p(sigmoid(40.0) * expm1(-1e7)), f64::NEG_INFINITY);
        assert!((log1pexp_change(40.0, sigmoid(40.0), -1e7) + 40.0).abs() < 1e-12);
        assert_eq!(log1pexp_change(-800.0, 0.0, 1e7), 1e7 - 800.0);
    }
}
