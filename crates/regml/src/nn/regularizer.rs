//! Keras-style weight and activity regularizers on top of the library's elastic-net penalty.

use super::Real;
use crate::penalty::ElasticNet;
use crate::Result;
use serde::{Deserialize, Serialize};

/// How the L1 part of kernel and bias regularizers enters training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum L1Mode {
    /// Keras: `l1*sign(w)` is added to the gradient. Weights hover around zero but are
    /// almost never exactly zero.
    #[default]
    Subgradient,
    /// Proximal: after each optimizer update, `w <- sign(w)*max(|w| - t*l1, 0)` with `t` the
    /// step the optimizer took for that weight (`lr` for SGD, `lr/(bias1*(sqrt(v_hat)+eps))`
    /// for Adam/AdamW). Weights become exactly zero; the reported loss is unchanged.
    Proximal,
}

/// `l1*sum|w| + l2*sum w^2` (Keras `L1`, `L2`, `L1L2`; note: no 1/2 on the L2 term).
///
/// Internally the elastic net `lambda*(alpha*|w| + (1-alpha)/2*w^2)` with
/// `lambda = l1 + 2*l2` and `alpha = l1/lambda` ([`ElasticNet::from_keras`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regularizer {
    /// L1 factor (Keras `l1`).
    pub l1: f64,
    /// L2 factor (Keras `l2`).
    pub l2: f64,
}

impl Regularizer {
    /// Keras `L1L2(l1, l2)`; both must be finite and non-negative.
    pub fn new(l1: f64, l2: f64) -> Result<Self> {
        Self::penalty(l1, l2)?;
        Ok(Regularizer { l1, l2 })
    }

    /// Keras `L1(l1)`.
    pub fn l1(l1: f64) -> Result<Self> {
        Self::new(l1, 0.0)
    }

    /// Keras `L2(l2)`.
    pub fn l2(l2: f64) -> Result<Self> {
        Self::new(0.0, l2)
    }

    fn penalty(l1: f64, l2: f64) -> Result<(ElasticNet, f64)> {
        ElasticNet::from_keras(l1, l2, 1)
    }

    /// The same penalty as the library's elastic net on one coordinate: returns the
    /// [`ElasticNet`] and its `lambda`.
    pub fn to_elastic_net(&self) -> Result<(ElasticNet, f64)> {
        Self::penalty(self.l1, self.l2)
    }

    /// Checks the factors (used after deserialization).
    pub fn check(&self) -> Result<()> {
        Self::penalty(self.l1, self.l2).map(|_| ())
    }

    /// `(l1, 2*l2)`: the weights of `|w|` and of `w^2/2`, equal to
    /// [`ElasticNet::weights`] of [`Regularizer::to_elastic_net`] (`lambda*alpha`,
    /// `lambda*(1-alpha)`), written out so that hot loops do not build a penalty object.
    pub(crate) fn weights<F: Real>(&self) -> (F, F) {
        (F::of(self.l1), F::of(2.0 * self.l2))
    }

    /// `l1*sum|w| + l2*sum w^2`. Blocks of 512 values are summed in `F` over eight
    /// independent lanes (so the loop vectorizes) and the block sums in `f64`.
    pub fn value<F: Real>(&self, w: &[F]) -> f64 {
        let (a, b) = self.weights::<f64>();
        if a == 0.0 && b == 0.0 {
            return 0.0;
        }
        let (s1, s2) = abs_and_square_sums(w);
        a * s1 + 0.5 * b * s2
    }

    /// `g += scale * d/dw (penalty)`: `scale*(l1*sign(w) + 2*l2*w)`; with `l1_included =
    /// false` only the L2 part (the L1 part is then applied proximally).
    pub fn add_grad<F: Real>(&self, w: &[F], g: &mut [F], scale: F, l1_included: bool) {
        let (a, b) = self.weights::<F>();
        let a = if l1_included { a * scale } else { F::zero() };
        let b = b * scale;
        if a == F::zero() && b == F::zero() {
            return;
        }
        for (gi, &wi) in g.iter_mut().zip(w) {
            let s = if wi > F::zero() {
                a
            } else if wi < F::zero() {
                -a
            } else {
                F::zero()
            };
            *gi += s + b * wi;
        }
    }
}

/// `(sum |w|, sum w^2)` with vectorizable partial sums.
pub(crate) fn abs_and_square_sums<F: Real>(w: &[F]) -> (f64, f64) {
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for block in w.chunks(512) {
        let mut a1 = [F::zero(); 8];
        let mut a2 = [F::zero(); 8];
        let lanes = block.chunks_exact(8);
        let rest = lanes.remainder();
        for c in lanes {
            for k in 0..8 {
                a1[k] += c[k].abs();
                a2[k] += c[k] * c[k];
            }
        }
        for &x in rest {
            a1[0] += x.abs();
            a2[0] += x * x;
        }
        s1 += a1.iter().map(|v| v.f64()).sum::<f64>();
        s2 += a2.iter().map(|v| v.f64()).sum::<f64>();
    }
    (s1, s2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_the_elastic_nets() {
        for (l1, l2) in [
            (0.0, 0.0),
            (0.1, 0.0),
            (0.0, 0.3),
            (0.02, 0.05),
            (1e-5, 3e-4),
        ] {
            let r = Regularizer::new(l1, l2).unwrap();
            let (pen, lambda) = r.to_elastic_net().unwrap();
            let (a, b) = pen.weights(lambda, 0);
            let (c, d) = r.weights::<f64>();
            assert!((a - c).abs() <= 1e-15 * (1.0 + a.abs()), "{l1} {l2}");
            assert!((b - d).abs() <= 1e-15 * (1.0 + b.abs()), "{l1} {l2}");
            for w in [-1.5, 0.0, 0.25] {
                let keras = l1 * f64::abs(w) + l2 * w * w;
                assert!((pen.value_1d(lambda, 0, w) - keras).abs() < 1e-15);
                assert!((r.value(&[w]) - keras).abs() < 1e-15);
            }
        }
    }
}
