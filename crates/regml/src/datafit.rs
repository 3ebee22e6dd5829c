//! Data-fit terms `F(eta)` of the linear predictor `eta = b0 + X b`.
//!
//! Observation weights `w_i` are normalized to sum to one by the estimators, so the objectives
//! below equal glmnet's `1/(2N) sum w_i (...)` (gaussian) and `-loglik / N` (binomial) with
//! weights that sum to `N`.

/// A data fit: its value, and per-sample first and second derivatives in `eta`.
pub trait Datafit {
    /// `F(eta)`.
    fn value(&self, eta: &[f64]) -> f64;
    /// `dF/d eta_i`.
    fn raw_grad(&self, i: usize, eta_i: f64) -> f64;
    /// `d^2F/d eta_i^2`.
    fn raw_hessian(&self, i: usize, eta_i: f64) -> f64;
    /// Fenchel conjugate `F^*(u) = sup_eta u'eta - F(eta)` (`+inf` outside its domain).
    fn conjugate(&self, u: &[f64]) -> f64;
    /// Deviance `2 * (F(eta) - F_saturated)`.
    fn deviance(&self, eta: &[f64]) -> f64;
}

/// Weighted least squares, glmnet `family = "gaussian"`:
/// `F(eta) = 1/2 * sum_i w_i (y_i - eta_i)^2` with `sum_i w_i = 1`.
#[derive(Clone, Debug)]
pub struct Quadratic<'a> {
    /// Response.
    pub y: &'a [f64],
    /// Observation weights (sum to one).
    pub w: &'a [f64],
}

impl Datafit for Quadratic<'_> {
    fn value(&self, eta: &[f64]) -> f64 {
        0.5 * self
            .y
            .iter()
            .zip(self.w)
            .zip(eta)
            .map(|((y, w), e)| w * (y - e) * (y - e))
            .sum::<f64>()
    }
    fn raw_grad(&self, i: usize, eta_i: f64) -> f64 {
        self.w[i] * (eta_i - self.y[i])
    }
    fn raw_hessian(&self, i: usize, _eta_i: f64) -> f64 {
        self.w[i]
    }
    fn conjugate(&self, u: &[f64]) -> f64 {
        // F*(u) = sum_i u_i y_i + u_i^2 / (2 w_i)
        let mut s = 0.0;
        for ((&ui, &yi), &wi) in u.iter().zip(self.y).zip(self.w) {
            if wi > 0.0 {
                s += ui * yi + ui * ui / (2.0 * wi);
            } else if ui != 0.0 {
                return f64::INFINITY;
            }
        }
        s
    }
    fn deviance(&self, eta: &[f64]) -> f64 {
        2.0 * self.value(eta)
    }
}

/// Logistic log-loss, glmnet `family = "binomial"`, labels `y_i` in `{0, 1}`:
/// `F(eta) = sum_i w_i ( log(1 + exp(eta_i)) - y_i eta_i )` with `sum_i w_i = 1`.
#[derive(Clone, Debug)]
pub struct Logistic<'a> {
    /// Labels in {0, 1}.
    pub y: &'a [f64],
    /// Observation weights (sum to one).
    pub w: &'a [f64],
}

/// `log(1 + exp(x))` without overflow.
#[inline]
pub fn log1pexp(x: f64) -> f64 {
    if x > 35.0 {
        x
    } else if x < -35.0 {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// The logistic function `1 / (1 + exp(-x))`.
#[inline]
pub fn sigmoid<T: num_traits::Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `q ln q + (1-q) ln(1-q)` on `[0, 1]` (`+inf` outside), the conjugate of `log(1+e^x)`.
#[inline]
pub fn neg_entropy(q: f64) -> f64 {
    if !(0.0..=1.0).contains(&q) {
        return f64::INFINITY;
    }
    let a = if q > 0.0 { q * q.ln() } else { 0.0 };
    let b = if q < 1.0 {
        (1.0 - q) * (-q).ln_1p()
    } else {
        0.0
    };
    a + b
}

impl Datafit for Logistic<'_> {
    fn value(&self, eta: &[f64]) -> f64 {
        self.y
            .iter()
            .zip(self.w)
            .zip(eta)
            .map(|((y, w), e)| w * (log1pexp(*e) - y * e))
            .sum()
    }
    fn raw_grad(&self, i: usize, eta_i: f64) -> f64 {
        self.w[i] * (sigmoid(eta_i) - self.y[i])
    }
    fn raw_hessian(&self, i: usize, eta_i: f64) -> f64 {
        let p = sigmoid(eta_i);
        self.w[i] * p * (1.0 - p)
    }
    fn conjugate(&self, u: &[f64]) -> f64 {
        // F*(u) = sum_i w_i * phi*(y_i + u_i / w_i)
        let mut s = 0.0;
        for ((&ui, &yi), &wi) in u.iter().zip(self.y).zip(self.w) {
            if wi > 0.0 {
                s += wi * neg_entropy(yi + ui / wi);
            } else if ui != 0.0 {
                return f64::INFINITY;
            }
        }
        s
    }
    fn deviance(&self, eta: &[f64]) -> f64 {
        2.0 * self.value(eta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_conjugate_matches_fenchel_young_equality() {
        // at u = grad F(eta): F(eta) + F*(u) = u'eta
        let y = [0.0, 1.0, 1.0];
        let w = [0.2, 0.3, 0.5];
        let eta = [0.3, -1.2, 2.0];
        let f = Logistic { y: &y, w: &w };
        let u: Vec<f64> = (0..3).map(|i| f.raw_grad(i, eta[i])).collect();
        let lhs = f.value(&eta) + f.conjugate(&u);
        let rhs: f64 = u.iter().zip(&eta).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-13);
        let q = Quadratic { y: &y, w: &w };
        let u: Vec<f64> = (0..3).map(|i| q.raw_grad(i, eta[i])).collect();
        let lhs = q.value(&eta) + q.conjugate(&u);
        let rhs: f64 = u.iter().zip(&eta).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-13);
    }

    #[test]
    fn stable_at_extremes() {
        assert_eq!(log1pexp(1000.0), 1000.0);
        assert!(log1pexp(-1000.0) >= 0.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(neg_entropy(0.0), 0.0);
        assert!(neg_entropy(1.5).is_infinite());
    }
}
