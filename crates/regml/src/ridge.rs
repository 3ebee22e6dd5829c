//! Ridge regression with efficient leave-one-out and generalized cross-validation
//! (scikit-learn `RidgeCV` semantics, glmnet's objective and scaling).
//!
//! Objective per `lambda` (weights normalized to sum to one, features standardized as in
//! [`crate::linear`]): `1/2 sum_i w_i (y_i - b0 - x_i'b)^2 + lambda/2 ||b||^2`.
//! scikit-learn's `Ridge(alpha=a)` minimizes `||y - Xb||^2 + a ||b||^2`, i.e. `a = n lambda`
//! for unit weights and no standardization.
//!
//! One eigendecomposition of the `min(n, p)`-sized Gram matrix of the weighted, centered,
//! scaled design gives every `lambda` at `O(n min(n,p))` cost. With hat matrix `H(lambda)`
//! (intercept included), the leave-one-out residual is `e_i / (1 - H_ii)` exactly; GCV
//! replaces `H_ii` by `tr(H)/n`. Standardization statistics are computed once on all rows
//! (as scikit-learn does), not re-estimated per left-out row.

use crate::kernels::dot;
use crate::linear::{check_inputs, lambda_grid, ElasticNetParams, Family};
use crate::{Error, Result};
use faer::MatRef;
use ndarray::{Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

/// Which efficient criterion to minimize.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RidgeCriterion {
    /// Exact leave-one-out mean squared error (scikit-learn's default).
    Loo,
    /// Generalized cross-validation.
    Gcv,
}

/// Result of [`ridge_cv`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RidgeCvResult {
    /// `lambda` values (decreasing).
    pub lambdas: Vec<f64>,
    /// Criterion value per `lambda` (weighted mean squared error).
    pub score: Vec<f64>,
    /// Index of the best `lambda` (largest on ties).
    pub best: usize,
    /// Intercept per `lambda` (original scale).
    pub intercepts: Vec<f64>,
    /// Coefficients per `lambda`, `n_lambda x p`, original scale.
    pub coefs: Array2<f64>,
    /// Criterion used.
    pub criterion: RidgeCriterion,
    /// Warnings: a best `lambda` at the small end of the grid (see [`crate::cv::CvResult`]'s).
    pub warnings: Vec<String>,
}

/// Ridge path with efficient LOO or GCV. `params.alpha` is ignored (ridge); the default
/// grid is glmnet's ridge grid (`lambda_max` taken at `alpha = 0.001`).
pub fn ridge_cv(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
    criterion: RidgeCriterion,
) -> Result<RidgeCvResult> {
    let mut params = params.clone();
    params.alpha = 0.0;
    if params.family != Family::Gaussian {
        return Err(Error::param(
            "family",
            params.family,
            "ridge_cv is for the gaussian family",
        ));
    }
    if params.penalty_factor.is_some()
        || params.lower_limits.is_some()
        || params.upper_limits.is_some()
    {
        return Err(Error::param(
            "penalty_factor/limits",
            "set",
            "ridge_cv supports neither penalty factors nor bounds; use fit_path",
        ));
    }
    // with an offset the ridge fits y - offset, and so do its held-out residuals
    let c = check_inputs(&x, &y, weights.as_ref(), &params)?;
    let (y, w, prep) = (c.y(y), &c.w, &c.prep);
    let (n, p) = x.dim();
    let sw: Vec<f64> = w.iter().map(|v| v.sqrt()).collect();
    // Z = sqrt(W) (X - mean) / sd (n x p, column-major), t = sqrt(W) (y - ybar)
    let mut z = vec![0.0; n * p];
    crate::kernels::for_each_chunk_mut(&mut z, n, |j, col| {
        if prep.usable[j] {
            let (m, sd) = (prep.x_mean[j], prep.x_scale[j]);
            for (i, v) in col.iter_mut().enumerate() {
                *v = sw[i] * (x[[i, j]] - m) / sd;
            }
        }
    });
    let t: Vec<f64> = (0..n).map(|i| sw[i] * (y[i] - prep.y_mean)).collect();
    let zm = MatRef::from_column_major_slice(&z, n, p);
    let c: Vec<f64> = (0..p).map(|j| dot(&z[j * n..(j + 1) * n], &t)).collect();
    let lambda_max = c.iter().fold(0.0f64, |m, v| m.max(v.abs())) / 1e-3;
    let lambdas = lambda_grid(&params, lambda_max, n, p);
    if let Some(v) = lambdas.iter().find(|v| !(**v > 0.0)) {
        return Err(Error::param("lambda", v, "ridge_cv needs lambda > 0"));
    }
    // eigendecomposition of the smaller Gram matrix: Z'Z = V S V' or Z Z' = U S U'
    let use_features = p <= n;
    let m = n.min(p);
    let mut gram = vec![0.0; m * m];
    let (a, b) = if use_features {
        (zm.transpose(), zm)
    } else {
        (zm, zm.transpose())
    };
    product(&mut gram, m, m, a, b);
    let (s2, vecs) = crate::solver::spectral::eigen(&gram, m).ok_or_else(|| {
        Error::InvalidData(
            "the eigendecomposition of the ridge Gram matrix did not converge".into(),
        )
    })?;
    drop(gram);
    // U (n x r): left singular vectors with s > 0 (column-major); fitted = U diag(s2/(s2+l)) U' t
    let tol = s2.iter().cloned().fold(0.0, f64::max) * 1e-12 * (n.max(p) as f64);
    let keep: Vec<usize> = (0..m).filter(|&k| s2[k] > tol).collect();
    let r = keep.len();
    let s2k: Vec<f64> = keep.iter().map(|&k| s2[k]).collect();
    let mut u = vec![0.0; n * r];
    if use_features {
        // u_k = Z v_k / s_k
        let mut vk = vec![0.0; m * r];
        for (ci, &k) in keep.iter().enumerate() {
            let inv_s = 1.0 / s2[k].sqrt();
            for (d, v) in vk[ci * m..(ci + 1) * m]
                .iter_mut()
                .zip(&vecs[k * m..(k + 1) * m])
            {
                *d = v * inv_s;
            }
        }
        product(&mut u, n, r, zm, MatRef::from_column_major_slice(&vk, m, r));
    } else {
        for (ci, &k) in keep.iter().enumerate() {
            u[ci * n..(ci + 1) * n].copy_from_slice(&vecs[k * n..(k + 1) * n]);
        }
    }
    drop(vecs);
    let um = MatRef::from_column_major_slice(&u, n, r);
    let ut: Vec<f64> = (0..r).map(|k| dot(&u[k * n..(k + 1) * n], &t)).collect();
    let nl = lambdas.len();
    // every lambda at once (r x nl, column-major): the shrunk and the scaled coordinates of t
    let mut shrunk = vec![0.0; r * nl];
    let mut scaled = vec![0.0; r * nl];
    for (l, &lam) in lambdas.iter().enumerate() {
        for k in 0..r {
            shrunk[l * r + k] = ut[k] * s2k[k] / (s2k[k] + lam);
            scaled[l * r + k] = ut[k] / (s2k[k] + lam);
        }
    }
    // U times coordinates of every lambda (r x nl): n x nl
    let u_times = |coords: &[f64]| {
        let mut out = vec![0.0; n * nl];
        product(
            &mut out,
            n,
            nl,
            um,
            MatRef::from_column_major_slice(coords, r, nl),
        );
        out
    };
    // fitted values F = U shrunk (n x nl)
    let fitted = u_times(&shrunk);
    // hat diagonals H_ii = sum_k u_ik^2 s_k / (s_k + lambda) (n x nl), for leave-one-out
    let mut hat = Vec::new();
    if criterion == RidgeCriterion::Loo {
        let u2: Vec<f64> = u.iter().map(|v| v * v).collect();
        let factors: Vec<f64> = lambdas
            .iter()
            .flat_map(|&lam| s2k.iter().map(move |s| s / (s + lam)))
            .collect();
        hat = vec![0.0; n * nl];
        product(
            &mut hat,
            n,
            nl,
            MatRef::from_column_major_slice(&u2, n, r),
            MatRef::from_column_major_slice(&factors, r, nl),
        );
    }
    // coefficients B = Z' U diag(1/(s2 + l)) U' t (p x nl)
    let ws = u_times(&scaled);
    let mut b_std = vec![0.0; p * nl];
    product(
        &mut b_std,
        p,
        nl,
        zm.transpose(),
        MatRef::from_column_major_slice(&ws, n, nl),
    );
    let wsum: f64 = w.iter().sum();
    let mut score = vec![0.0; nl];
    let mut coefs = Array2::zeros((nl, p));
    let mut intercepts = vec![0.0; nl];
    for (l, &lam) in lambdas.iter().enumerate() {
        let trace = s2k.iter().map(|s| s / (s + lam)).sum::<f64>()
            + if params.fit_intercept { 1.0 } else { 0.0 };
        let mut total = 0.0;
        for i in 0..n {
            if w[i] == 0.0 {
                continue;
            }
            let resid = t[i] - fitted[l * n + i]; // = sqrt(w_i) * (y_i - yhat_i)
            let h = match criterion {
                RidgeCriterion::Loo => {
                    let mut h = hat[l * n + i];
                    if params.fit_intercept {
                        h += w[i] / wsum;
                    }
                    h
                }
                RidgeCriterion::Gcv => trace / n as f64,
            };
            let e = resid / (1.0 - h).max(f64::EPSILON);
            total += e * e; // = w_i * (y_i - yhat_{-i})^2
        }
        score[l] = total;
        let mut b0 = prep.y_mean;
        for j in 0..p {
            let b = if prep.usable[j] {
                b_std[l * p + j] / prep.x_scale[j]
            } else {
                0.0
            };
            coefs[[l, j]] = b;
            b0 -= b * prep.x_mean[j];
        }
        intercepts[l] = if params.fit_intercept { b0 } else { 0.0 };
    }
    let best_val = score.iter().cloned().fold(f64::INFINITY, f64::min);
    let best = score.iter().position(|&v| v <= best_val).unwrap_or(0);
    let what = match criterion {
        RidgeCriterion::Loo => "leave-one-out error",
        RidgeCriterion::Gcv => "generalized cross-validation error",
    };
    let warnings = crate::cv::grid_end_warning(&lambdas, best, true, what)
        .into_iter()
        .collect();
    Ok(RidgeCvResult {
        lambdas,
        score,
        best,
        intercepts,
        coefs,
        criterion,
        warnings,
    })
}

/// `out = a b` (`rows x cols`, column-major), on the rayon pool with the `parallel` feature.
fn product(out: &mut [f64], rows: usize, cols: usize, a: MatRef<f64>, b: MatRef<f64>) {
    faer::linalg::matmul::matmul(
        faer::MatMut::from_column_major_slice_mut(&mut out[..rows * cols], rows, cols),
        faer::Accum::Replace,
        a,
        b,
        1.0,
        crate::kernels::faer_par(),
    );
}
