//! Penalties: the elastic net family with per-feature penalty factors and box constraints.
//!
//! One penalty type serves the whole library. In glmnet's parametrization the penalty at
//! strength `lambda` is
//!
//! ```text
//! P_lambda(b) = lambda * sum_j pf_j * ( alpha * |b_j| + (1 - alpha) / 2 * b_j^2 ),
//!               subject to lower_j <= b_j <= upper_j
//! ```
//!
//! * `alpha = 1` is the lasso (L1), `alpha = 0` ridge (L2), anything between the elastic net.
//! * scikit-learn's `ElasticNet(alpha=a, l1_ratio=r)` is `lambda = a`, `alpha = r`.
//! * Keras' `l1_l2(l1=a, l2=b)` adds `a*sum|w| + b*sum w^2` (no 1/2): `lambda = a + 2b`,
//!   `alpha = a / (a + 2b)` (see [`ElasticNet::from_keras`]).
//!
//! The strength `lambda` is always passed in by the caller; a penalty object is never mutated
//! along a path.

use crate::kernels::soft_threshold;
use crate::{Error, Result};

/// Value of a penalty and which coordinates it touches.
pub trait Penalty {
    /// `P_lambda(b)`; `+inf` if `b` violates a bound.
    fn value(&self, lambda: f64, b: &[f64]) -> f64;
    /// Whether coordinate `j` carries a penalty (penalty factor > 0).
    fn is_penalized(&self, j: usize) -> bool;
}

/// Scalar proximal operator, the core of coordinate descent.
pub trait Prox1d {
    /// `argmin_b  L/2 * b^2 - z*b + h_j(b)`, i.e. the minimizer of the one-dimensional
    /// quadratic model with curvature `lipschitz` and linear term `z`, plus the penalty of `j`.
    fn prox_1d(&self, lambda: f64, j: usize, z: f64, lipschitz: f64) -> f64;
}

/// Distance to the subdifferential: the KKT violation of one coordinate.
pub trait SubdiffDistance {
    /// `dist(s, d h_j(b_j))` where `s = -d F/d b_j` is the negative gradient of the data fit
    /// (for least squares `s = x_j' W r`). Zero exactly at a solution.
    fn subdiff_distance(&self, lambda: f64, j: usize, b_j: f64, s: f64) -> f64;
}

/// Fenchel conjugate of the per-coordinate penalty, used for duality gaps.
pub trait Conjugate {
    /// `h_j^*(s) = sup_b s*b - h_j(b)` (may be `+inf`).
    fn conjugate(&self, lambda: f64, j: usize, s: f64) -> f64;
    /// Largest `t` in `[0, 1]` with `h_j^*(t*s) < inf`.
    fn dual_scaling_limit(&self, lambda: f64, j: usize, s: f64) -> f64;
}

/// The smallest penalty strength at which zero is optimal for every penalized coordinate.
pub trait AlphaMax {
    /// `lambda_max` given the negative gradients `s_j` of the data fit at the model with all
    /// penalized coefficients at zero. Coordinates with `pf_j = 0` are ignored.
    fn lambda_max(&self, s: &[f64]) -> f64;
}

/// Elastic net penalty with glmnet's `alpha`, per-feature penalty factors and bounds.
///
/// The penalty factors are used as given; the estimators rescale them to sum to the number of
/// features first, as glmnet does.
#[derive(Clone, Debug, PartialEq)]
pub struct ElasticNet {
    alpha: f64,
    penalty_factor: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl ElasticNet {
    /// Elastic net over `n_features` coordinates with unit penalty factors and no bounds.
    pub fn new(alpha: f64, n_features: usize) -> Result<Self> {
        if !(0.0..=1.0).contains(&alpha) {
            return Err(Error::param("alpha", alpha, "must lie in [0, 1]"));
        }
        Ok(ElasticNet {
            alpha,
            penalty_factor: vec![1.0; n_features],
            lower: vec![f64::NEG_INFINITY; n_features],
            upper: vec![f64::INFINITY; n_features],
        })
    }

    /// Keras-style `l1_l2(l1, l2)`: `l1*sum|w| + l2*sum w^2`, returned with its `lambda`.
    pub fn from_keras(l1: f64, l2: f64, n_features: usize) -> Result<(Self, f64)> {
        if !(l1 >= 0.0 && l2 >= 0.0 && l1.is_finite() && l2.is_finite()) {
            return Err(Error::param(
                "l1/l2",
                format!("{l1}/{l2}"),
                "must be finite and >= 0",
            ));
        }
        let lambda = l1 + 2.0 * l2;
        let alpha = if lambda > 0.0 { l1 / lambda } else { 1.0 };
        Ok((ElasticNet::new(alpha, n_features)?, lambda))
    }

    /// Sets per-feature penalty factors (finite, >= 0; 0 leaves a feature unpenalized).
    pub fn with_penalty_factor(mut self, pf: Vec<f64>) -> Result<Self> {
        if pf.len() != self.penalty_factor.len() {
            return Err(Error::ShapeMismatch {
                op: "penalty_factor",
                expected: format!("{} values", self.penalty_factor.len()),
                got: format!("{} values", pf.len()),
            });
        }
        if let Some(v) = pf.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::param("penalty_factor", v, "must be finite and >= 0"));
        }
        self.penalty_factor = pf;
        Ok(self)
    }

    /// Sets box constraints `lower_j <= b_j <= upper_j` (glmnet's `lower.limits`,
    /// `upper.limits`): every lower bound must be `<= 0` and every upper bound `>= 0`.
    pub fn with_bounds(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        let p = self.penalty_factor.len();
        if lower.len() != p || upper.len() != p {
            return Err(Error::ShapeMismatch {
                op: "bounds",
                expected: format!("{p} values"),
                got: format!("{} and {}", lower.len(), upper.len()),
            });
        }
        if let Some(v) = lower.iter().find(|v| v.is_nan() || **v > 0.0) {
            return Err(Error::param("lower_limits", v, "must be <= 0"));
        }
        if let Some(v) = upper.iter().find(|v| v.is_nan() || **v < 0.0) {
            return Err(Error::param("upper_limits", v, "must be >= 0"));
        }
        self.lower = lower;
        self.upper = upper;
        Ok(self)
    }

    /// The L1 share `alpha`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// Penalty factors.
    pub fn penalty_factor(&self) -> &[f64] {
        &self.penalty_factor
    }
    /// Lower bounds.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }
    /// Upper bounds.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }
    /// Number of coordinates.
    pub fn n_features(&self) -> usize {
        self.penalty_factor.len()
    }

    /// Whether coordinate `j` is bounded on either side.
    pub fn is_bounded(&self, j: usize) -> bool {
        self.lower[j] > f64::NEG_INFINITY || self.upper[j] < f64::INFINITY
    }

    /// The same penalty with bounds multiplied by `scale_j` (used when features are
    /// standardized: a bound on `b_j` is a bound on `b_j * sd_j` in standardized units). A
    /// zero or infinite bound stays as it is, whatever the scale, so the bounds stay numbers
    /// with `lower_j <= 0 <= upper_j` (`scale_j` should be positive).
    pub fn scaled_bounds(&self, scale: &[f64]) -> Self {
        let times = |b: f64, s: f64| {
            if b == 0.0 || b.is_infinite() {
                b
            } else {
                b * s
            }
        };
        let mut out = self.clone();
        for j in 0..self.n_features() {
            out.lower[j] = times(self.lower[j], scale[j]);
            out.upper[j] = times(self.upper[j], scale[j]);
        }
        out
    }

    /// L1 and L2 weights `(lambda*alpha*pf_j, lambda*(1-alpha)*pf_j)` of coordinate `j`.
    #[inline]
    pub fn weights(&self, lambda: f64, j: usize) -> (f64, f64) {
        let pf = self.penalty_factor[j];
        (lambda * self.alpha * pf, lambda * (1.0 - self.alpha) * pf)
    }

    /// Whether coordinate `j`'s penalty has a kink at zero (an L1 part: `alpha > 0` and
    /// `pf_j > 0`), so that its coefficient can stop at zero and cannot change sign smoothly.
    #[inline]
    pub fn has_kink(&self, j: usize) -> bool {
        self.alpha > 0.0 && self.penalty_factor[j] > 0.0
    }

    /// Whether coordinate `j` carries no penalty at `lambda`: `pf_j = 0`, or `lambda = 0`
    /// (both weights of [`Self::weights`] zero). Such a coordinate is only held by its bounds.
    #[inline]
    pub fn is_free_at(&self, lambda: f64, j: usize) -> bool {
        self.weights(lambda, j) == (0.0, 0.0)
    }

    /// `h_j(b)` for one coordinate.
    #[inline]
    pub fn value_1d(&self, lambda: f64, j: usize, b: f64) -> f64 {
        if b < self.lower[j] || b > self.upper[j] {
            return f64::INFINITY;
        }
        let (l1, l2) = self.weights(lambda, j);
        if b == 0.0 {
            0.0
        } else {
            l1 * b.abs() + 0.5 * l2 * b * b
        }
    }
}

impl ElasticNet {
    /// `h_j(b + d) - h_j(b)` computed without cancellation: when `b + d` keeps the sign of
    /// `b`, `|b + d| - |b| = sign(b) d` exactly, and the L2 part is `l2 (b d + d^2 / 2)`.
    /// Line searches compare decreases far smaller than `h_j(b)` itself.
    #[inline]
    pub fn value_diff_1d(&self, lambda: f64, j: usize, b: f64, d: f64) -> f64 {
        let e = b + d;
        if e < self.lower[j] || e > self.upper[j] {
            return f64::INFINITY;
        }
        let (l1, l2) = self.weights(lambda, j);
        let abs_diff = if (b > 0.0 && e > 0.0) || (b < 0.0 && e < 0.0) {
            b.signum() * d
        } else {
            e.abs() - b.abs()
        };
        let l1_part = if l1 > 0.0 { l1 * abs_diff } else { 0.0 };
        let l2_part = if l2 > 0.0 {
            l2 * (b * d + 0.5 * d * d)
        } else {
            0.0
        };
        l1_part + l2_part
    }
}

impl Penalty for ElasticNet {
    fn value(&self, lambda: f64, b: &[f64]) -> f64 {
        b.iter()
            .enumerate()
            .map(|(j, &bj)| self.value_1d(lambda, j, bj))
            .sum()
    }
    fn is_penalized(&self, j: usize) -> bool {
        self.penalty_factor[j] > 0.0
    }
}

impl Prox1d for ElasticNet {
    #[inline]
    fn prox_1d(&self, lambda: f64, j: usize, z: f64, lipschitz: f64) -> f64 {
        let (l1, l2) = self.weights(lambda, j);
        let denom = lipschitz + l2;
        if denom <= 0.0 {
            return 0.0;
        }
        // b = S(z, l1) / (L + l2), then clipped: exact for a convex 1-D problem on an interval.
        // The threshold is widened by 4 ulps so that at lambda = lambda_max, where
        // |z| = lambda*alpha*pf up to rounding, the coefficient is exactly zero.
        let b = soft_threshold(z, l1 * (1.0 + 4.0 * f64::EPSILON)) / denom;
        b.clamp(self.lower[j], self.upper[j])
    }
}

impl SubdiffDistance for ElasticNet {
    #[inline]
    fn subdiff_distance(&self, lambda: f64, j: usize, b: f64, s: f64) -> f64 {
        let (l1, l2) = self.weights(lambda, j);
        // subdifferential of the penalty part (an interval [lo, hi])
        let (mut lo, mut hi) = if b > 0.0 {
            let v = l1 + l2 * b;
            (v, v)
        } else if b < 0.0 {
            let v = -l1 + l2 * b;
            (v, v)
        } else {
            (-l1, l1)
        };
        // normal cone of the box
        if b <= self.lower[j] {
            lo = f64::NEG_INFINITY;
        }
        if b >= self.upper[j] {
            hi = f64::INFINITY;
        }
        if s < lo {
            lo - s
        } else if s > hi {
            s - hi
        } else {
            0.0
        }
    }
}

impl Conjugate for ElasticNet {
    #[inline]
    fn conjugate(&self, lambda: f64, j: usize, s: f64) -> f64 {
        let (l1, l2) = self.weights(lambda, j);
        let (lo, hi) = (self.lower[j], self.upper[j]);
        if l2 > 0.0 {
            let b = (soft_threshold(s, l1) / l2).clamp(lo, hi);
            return s * b - l1 * b.abs() - 0.5 * l2 * b * b;
        }
        // piecewise linear: the supremum is at 0, at a finite bound, or infinite
        let mut best: f64 = 0.0;
        let up = s - l1; // slope for b > 0
        if up > 0.0 {
            best = best.max(up * hi); // inf if unbounded
        }
        let down = s + l1; // slope for b < 0
        if down < 0.0 {
            best = best.max(down * lo);
        }
        best
    }

    #[inline]
    fn dual_scaling_limit(&self, lambda: f64, j: usize, s: f64) -> f64 {
        let (l1, l2) = self.weights(lambda, j);
        if l2 > 0.0 {
            return 1.0;
        }
        let mut t: f64 = 1.0;
        if s > l1 && self.upper[j] == f64::INFINITY {
            t = t.min(l1 / s);
        }
        if s < -l1 && self.lower[j] == f64::NEG_INFINITY {
            t = t.min(l1 / -s);
        }
        t
    }
}

impl AlphaMax for ElasticNet {
    fn lambda_max(&self, s: &[f64]) -> f64 {
        // glmnet takes lambda_max of a ridge path from alpha = 0.001
        let alpha = self.alpha.max(1e-3);
        let mut lmax: f64 = 0.0;
        for (j, &sj) in s.iter().enumerate() {
            let pf = self.penalty_factor[j];
            if pf <= 0.0 {
                continue;
            }
            // zero stays optimal as long as s_j lies in [-l1, l1] widened by the box's
            // normal cone at 0 (a bound at 0 removes one side)
            let mut need = 0.0f64;
            if sj > 0.0 && self.upper[j] > 0.0 {
                need = sj;
            }
            if sj < 0.0 && self.lower[j] < 0.0 {
                need = -sj;
            }
            lmax = lmax.max(need / (alpha * pf));
        }
        lmax
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_bounds_keep_zero_and_infinite_bounds() {
        let pen = ElasticNet::new(1.0, 3)
            .unwrap()
            .with_bounds(
                vec![0.0, -2.0, f64::NEG_INFINITY],
                vec![1.0, 0.0, f64::INFINITY],
            )
            .unwrap()
            .scaled_bounds(&[f64::INFINITY, 0.5, 0.0]);
        assert_eq!(pen.lower(), &[0.0, -1.0, f64::NEG_INFINITY]);
        assert_eq!(pen.upper(), &[f64::INFINITY, 0.0, f64::INFINITY]);
    }

    #[test]
    fn prox_minimizes_the_scalar_problem() {
        let pen = ElasticNet::new(0.7, 1)
            .unwrap()
            .with_bounds(vec![-0.4], vec![2.0])
            .unwrap();
        for &z in &[-3.0, -0.5, -0.1, 0.0, 0.2, 1.3, 5.0] {
            let l = 1.7;
            let b = pen.prox_1d(0.9, 0, z, l);
            let f = |x: f64| 0.5 * l * x * x - z * x + pen.value_1d(0.9, 0, x);
            for k in -400..=400 {
                let x = k as f64 / 100.0;
                assert!(f(b) <= f(x) + 1e-12, "z={z}: prox {b} worse than {x}");
            }
        }
    }

    #[test]
    fn conjugate_is_a_supremum() {
        let pen = ElasticNet::new(0.5, 1).unwrap();
        for &s in &[-2.0, -0.3, 0.0, 0.4, 1.5] {
            let c = pen.conjugate(1.0, 0, s);
            let mut best = f64::NEG_INFINITY;
            for k in -4000..=4000 {
                let b = k as f64 / 1000.0;
                best = best.max(s * b - pen.value_1d(1.0, 0, b));
            }
            assert!((c - best).abs() < 1e-5, "s={s}: {c} vs {best}");
        }
        let lasso = ElasticNet::new(1.0, 1).unwrap();
        assert_eq!(lasso.conjugate(1.0, 0, 0.5), 0.0);
        assert!(lasso.conjugate(1.0, 0, 1.5).is_infinite());
        assert!((lasso.dual_scaling_limit(1.0, 0, 2.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn subdiff_distance_zero_at_optimum() {
        let pen = ElasticNet::new(1.0, 1).unwrap();
        assert_eq!(pen.subdiff_distance(1.0, 0, 0.0, 0.5), 0.0);
        assert!((pen.subdiff_distance(1.0, 0, 0.0, 1.5) - 0.5).abs() < 1e-15);
        assert!((pen.subdiff_distance(1.0, 0, 2.0, 0.5) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn value_diff_matches_the_difference() {
        let pen = ElasticNet::new(0.6, 1).unwrap();
        for &(b, d) in &[
            (1.0, 0.5),
            (1.0, -2.0),
            (-0.3, 0.1),
            (0.0, 0.2),
            (0.5, -0.5),
        ] {
            let direct = pen.value_1d(2.0, 0, b + d) - pen.value_1d(2.0, 0, b);
            assert!((pen.value_diff_1d(2.0, 0, b, d) - direct).abs() < 1e-14);
        }
        // a change far below the rounding of h(b) itself is still resolved
        let tiny = pen.value_diff_1d(1.0, 0, 1.0, 1e-20);
        assert!(tiny > 0.0 && (tiny - 1e-20).abs() < 1e-30);
    }

    #[test]
    fn a_kink_needs_an_l1_part_and_a_penalty_factor() {
        let pen = ElasticNet::new(0.5, 2)
            .unwrap()
            .with_penalty_factor(vec![1.0, 0.0])
            .unwrap();
        assert!(pen.has_kink(0) && !pen.has_kink(1));
        assert!(!ElasticNet::new(0.0, 1).unwrap().has_kink(0));
    }

    #[test]
    fn keras_conversion() {
        let (pen, lambda) = ElasticNet::from_keras(0.01, 0.02, 3).unwrap();
        let w = [1.0, -2.0, 0.5];
        let keras = 0.01 * 3.5 + 0.02 * (1.0 + 4.0 + 0.25);
        assert!((pen.value(lambda, &w) - keras).abs() < 1e-15);
    }
}
