//! The ridge path in spectral form: one symmetric eigendecomposition gives the exact ridge
//! solution at every `lambda` of a path.
//!
//! With no L1 part, L2 weights `lambda d_j` (`d_j` the feature's weight at `lambda = 1`, its
//! penalty factor times `1 - alpha`) and no bounds, the least-squares solution on the
//! features `F` solves `(G_FF + lambda D) b = c_F` with `G = X'X`, `c = X'y`,
//! `D = diag(d_F)`. Either of two eigendecompositions solves it for every `lambda`:
//!
//! * `|F| <= n` (features form): `D^{-1/2} G_FF D^{-1/2} = V diag(s) V'` and
//!   `b = D^{-1/2} V diag(1 / (s + lambda)) V' D^{-1/2} c_F`, `O(|F|^2)` per `lambda`;
//! * `|F| > n` (rows form): `X_F D^{-1} X_F' = U diag(s) U'` (`n x n`) and
//!   `b = D^{-1} X_F' U diag(1 / (s + lambda)) U' y`, `O(n^2 + n |F|)` per `lambda`
//!   (`(G + lambda D) D^{-1} X' = X' (X D^{-1} X' + lambda I)`).
//!
//! Forming it costs the Gram block (`n |F|^2 / 2` or `n^2 |F| / 2`, taken from the solver's
//! cache in covariance mode) and the decomposition of order `m = min(n, |F|)`, about
//! [`EIGEN_CUBE_FACTOR`]` m^3` multiply-adds. The least-squares solver forms it once the work
//! still to come along the path, projected at the average rate of the lambdas so far, would
//! cost as much (see `GaussianSolver::spectral_solve`), so that a path coordinate descent
//! finishes cheaply does not pay for it. The later lambdas of a ridge path are the harder
//! ones, so the projection tends to fall short; the work already done, once it reaches the
//! cost, forms it too. The solutions are certified like any other: the solver recomputes
//! residual and gradients from them and checks the duality gap.

use super::{GramCache, LEVEL3_GAIN};
use crate::design::{row_gram, Design};
use crate::kernels::dot;
use crate::penalty::ElasticNet;

/// Largest order `min(n, |F|)` of the eigendecomposition: its eigenvectors hold `m^2`
/// numbers (128 MB at 4096), the matrix decomposed as many again.
pub(crate) const SPECTRAL_MAX: usize = 4096;

/// Multiply-adds of a symmetric eigendecomposition with eigenvectors, per `m^3` (blocked
/// tridiagonalization, divide and conquer, back-transformation). On this machine's faer it
/// took 18 times as long as a Cholesky factor (`m^3 / 3`) of the same order (2363).
pub(crate) const EIGEN_CUBE_FACTOR: f64 = 6.0;

/// The decomposition of one ridge path.
pub(crate) struct RidgeSpectrum {
    /// The features `F` (usable ones), in order.
    feats: Vec<usize>,
    /// `1 / sqrt(d_j)` for `j` in `F`.
    inv_sqrt_d: Vec<f64>,
    /// Eigenvalues, negative rounding clamped at zero.
    s: Vec<f64>,
    form: Form,
}

enum Form {
    /// `|F| <= n`: eigenvectors `V` (`|F| x |F|`, column-major) and `q = V' D^{-1/2} c_F`.
    Features { v: Vec<f64>, q: Vec<f64> },
    /// `|F| > n`: eigenvectors `U` (`n x n`, column-major) and `z = U' y`.
    Rows { u: Vec<f64>, z: Vec<f64> },
}

impl RidgeSpectrum {
    /// Cost of forming the decomposition for the features `feats` of an `n`-row design, in
    /// multiply-adds of coordinate-descent passes (blocked products and factorizations count
    /// `1 / LEVEL3_GAIN` each), or `None` where it does not apply: an L1 part, a feature
    /// without L2 weight or with a bound, no feature, or an order over [`SPECTRAL_MAX`].
    /// `cached_gram`: the Gram columns of `feats` are in the solver's cache already.
    pub(crate) fn cost(
        pen: &ElasticNet,
        feats: &[usize],
        n: usize,
        cached_gram: bool,
    ) -> Option<f64> {
        let k = feats.len();
        let m = k.min(n);
        let applies = pen.alpha() == 0.0
            && m > 0
            && m <= SPECTRAL_MAX
            && feats
                .iter()
                .all(|&j| pen.weights(1.0, j).1 > 0.0 && !pen.is_bounded(j));
        if !applies {
            return None;
        }
        let (k, n, m) = (k as f64, n as f64, m as f64);
        let gram = if k <= n {
            if cached_gram {
                k * k
            } else {
                n * k * k / 2.0
            }
        } else {
            n * n * k / 2.0
        };
        Some((gram + EIGEN_CUBE_FACTOR * m.powi(3)) / LEVEL3_GAIN)
    }

    /// Forms the decomposition for the features `feats` (see [`Self::cost`] for when it
    /// applies) of the design `x` with response `y` and `c = X'y`; `gram`, when given, holds
    /// the Gram columns `X' x_j` of the features. `None` if the eigendecomposition fails.
    pub(crate) fn new<D: Design>(
        x: &D,
        y: &[f64],
        c: &[f64],
        gram: Option<&GramCache>,
        feats: &[usize],
        pen: &ElasticNet,
    ) -> Option<Self> {
        let (n, k) = (x.n_samples(), feats.len());
        let inv_sqrt_d: Vec<f64> = feats
            .iter()
            .map(|&j| 1.0 / pen.weights(1.0, j).1.sqrt())
            .collect();
        if k <= n {
            // D^{-1/2} G_FF D^{-1/2}
            let mut a = vec![0.0; k * k];
            match gram {
                Some(cache) => {
                    for (cc, &j) in feats.iter().enumerate() {
                        let g = cache.col(j);
                        for (v, &i) in a[cc * k..(cc + 1) * k].iter_mut().zip(feats) {
                            *v = g[i];
                        }
                    }
                }
                None => x.gram_square(feats, &mut a, &mut Vec::new()),
            }
            for cc in 0..k {
                for r in 0..k {
                    a[cc * k + r] *= inv_sqrt_d[r] * inv_sqrt_d[cc];
                }
            }
            let (s, v) = eigen(&a, k)?;
            // q = V' D^{-1/2} c_F
            let cf: Vec<f64> = feats
                .iter()
                .zip(&inv_sqrt_d)
                .map(|(&j, d)| c[j] * d)
                .collect();
            let q = (0..k).map(|e| dot(&v[e * k..(e + 1) * k], &cf)).collect();
            Some(RidgeSpectrum {
                feats: feats.to_vec(),
                inv_sqrt_d,
                s,
                form: Form::Features { v, q },
            })
        } else {
            // X_F D^{-1} X_F'
            let mut a = vec![0.0; n * n];
            row_gram(x, feats, &inv_sqrt_d, &mut a);
            let (s, u) = eigen(&a, n)?;
            let z = (0..n).map(|e| dot(&u[e * n..(e + 1) * n], y)).collect();
            Some(RidgeSpectrum {
                feats: feats.to_vec(),
                inv_sqrt_d,
                s,
                form: Form::Rows { u, z },
            })
        }
    }

    /// Writes the ridge solution at `lambda > 0` into `b` at the features; other entries
    /// are left as they are.
    pub(crate) fn coefficients<D: Design>(&self, x: &D, lambda: f64, b: &mut [f64]) {
        match &self.form {
            Form::Features { v, q } => {
                let k = self.feats.len();
                // b = D^{-1/2} V diag(1 / (s + lambda)) q
                let mut beta = vec![0.0; k];
                for (e, (&qe, &se)) in q.iter().zip(&self.s).enumerate() {
                    crate::kernels::axpy(qe / (se + lambda), &v[e * k..(e + 1) * k], &mut beta);
                }
                for ((&j, &d), bj) in self.feats.iter().zip(&self.inv_sqrt_d).zip(&beta) {
                    b[j] = bj * d;
                }
            }
            Form::Rows { u, z } => {
                let n = z.len();
                // theta = U diag(1 / (s + lambda)) z ; b = D^{-1} X_F' theta
                let mut theta = vec![0.0; n];
                for (e, (&ze, &se)) in z.iter().zip(&self.s).enumerate() {
                    crate::kernels::axpy(ze / (se + lambda), &u[e * n..(e + 1) * n], &mut theta);
                }
                let mut xt = vec![0.0; x.n_features()];
                x.t_matvec_cols(&self.feats, &theta, &mut xt);
                for (&j, &d) in self.feats.iter().zip(&self.inv_sqrt_d) {
                    b[j] = xt[j] * d * d;
                }
            }
        }
    }
}

/// Eigenvalues (negative rounding clamped at zero) and eigenvectors (column-major) of the
/// symmetric `m x m` matrix `a` (column-major); `None` if the decomposition fails or is not
/// finite.
pub(crate) fn eigen(a: &[f64], m: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    use faer::linalg::evd;
    let par = crate::kernels::faer_par();
    let mut s = vec![0.0; m];
    let mut u = vec![0.0; m * m];
    let mut mem = faer::dyn_stack::MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        m,
        evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        faer::MatRef::from_column_major_slice(a, m, m),
        faer::diag::DiagMut::from_slice_mut(&mut s),
        Some(faer::MatMut::from_column_major_slice_mut(&mut u, m, m)),
        par,
        faer::dyn_stack::MemStack::new(&mut mem),
        Default::default(),
    )
    .ok()?;
    if !(s.iter().all(|v| v.is_finite()) && u.iter().all(|v| v.is_finite())) {
        return None;
    }
    s.iter_mut().for_each(|v| *v = v.max(0.0));
    Some((s, u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::DenseDesign;
    use crate::solver::solve_spd;
    use crate::solver::test_data::{correlated, rng};

    /// The spectral solution against a direct solve of `(X'X + lambda D) b = X'y`, in both
    /// forms, with unequal L2 weights.
    #[test]
    fn both_forms_solve_the_ridge_system() {
        for (n, p) in [(30, 12), (12, 30)] {
            let mut r = rng(7);
            let data = correlated(n, p, 0.7, &mut r);
            let x = DenseDesign::from_col_major(data, n, p).expect("shape");
            let y: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let pf: Vec<f64> = (0..p).map(|j| 0.5 + (j % 3) as f64).collect();
            let pen = ElasticNet::new(0.0, p)
                .expect("alpha")
                .with_penalty_factor(pf)
                .expect("pf");
            let feats: Vec<usize> = (0..p).collect();
            let mut c = vec![0.0; p];
            x.t_matvec(&y, &mut c);
            let spec = RidgeSpectrum::new(&x, &y, &c, None, &feats, &pen).expect("eigen");
            let mut g = vec![0.0; p * p];
            x.gram_square(&feats, &mut g, &mut Vec::new());
            for lambda in [10.0, 0.3, 1e-3] {
                let mut b = vec![0.0; p];
                spec.coefficients(&x, lambda, &mut b);
                let mut sys = g.clone();
                for j in 0..p {
                    sys[j * p + j] += lambda * pen.weights(1.0, j).1;
                }
                let direct = solve_spd(&sys, &c).expect("spd");
                let scale = direct.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (a, d) in b.iter().zip(&direct) {
                    assert!(
                        (a - d).abs() <= 1e-9 * scale,
                        "{n} x {p}, lambda {lambda}: {a} vs {d}"
                    );
                }
            }
        }
    }

    #[test]
    fn it_applies_only_to_unbounded_ridge_with_l2_weight_on_every_feature() {
        let p = 5;
        let feats: Vec<usize> = (0..p).collect();
        let ridge = ElasticNet::new(0.0, p).expect("alpha");
        assert!(RidgeSpectrum::cost(&ridge, &feats, 10, false).is_some());
        assert!(RidgeSpectrum::cost(&ridge, &[], 10, false).is_none());
        let enet = ElasticNet::new(0.01, p).expect("alpha");
        assert!(RidgeSpectrum::cost(&enet, &feats, 10, false).is_none());
        let free = ridge
            .clone()
            .with_penalty_factor(vec![1.0, 0.0, 1.0, 1.0, 1.0])
            .expect("pf");
        assert!(RidgeSpectrum::cost(&free, &feats, 10, false).is_none());
        let bounded = ridge
            .with_bounds(vec![-1.0; p], vec![f64::INFINITY; p])
            .expect("bounds");
        assert!(RidgeSpectrum::cost(&bounded, &feats, 10, false).is_none());
    }
}
