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

use crate::linear::{check_inputs, lambda_grid, ElasticNetParams, Family};
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
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
    // Z = sqrt(W) (X - mean) / sd, t = sqrt(W) (y - ybar)
    let mut z = Array2::<f64>::zeros((n, p));
    for j in 0..p {
        if !prep.usable[j] {
            continue;
        }
        for i in 0..n {
            z[[i, j]] = sw[i] * (x[[i, j]] - prep.x_mean[j]) / prep.x_scale[j];
        }
    }
    let t: Array1<f64> = (0..n).map(|i| sw[i] * (y[i] - prep.y_mean)).collect();
    let c = z.t().dot(&t);
    let lambda_max = c.iter().fold(0.0f64, |m, v| m.max(v.abs())) / 1e-3;
    let lambdas = lambda_grid(&params, lambda_max, n, p);
    if let Some(v) = lambdas.iter().find(|v| !(**v > 0.0)) {
        return Err(Error::param("lambda", v, "ridge_cv needs lambda > 0"));
    }
    // eigen-decomposition of the smaller Gram matrix
    let use_features = p <= n;
    let gram = if use_features {
        z.t().dot(&z)
    } else {
        z.dot(&z.t())
    };
    let m = gram.nrows();
    let eig = nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_fn(m, m, |a, b| gram[[a, b]]));
    let s2: Vec<f64> = eig.eigenvalues.iter().map(|v| v.max(0.0)).collect();
    let vecs = Array2::from_shape_fn((m, m), |(a, b)| eig.eigenvectors[(a, b)]);
    // U (n x r): left singular vectors with s > 0; fitted = U diag(s2/(s2+l)) U' t
    let tol = s2.iter().cloned().fold(0.0, f64::max) * 1e-12 * (n.max(p) as f64);
    let keep: Vec<usize> = (0..m).filter(|&k| s2[k] > tol).collect();
    let mut u = Array2::<f64>::zeros((n, keep.len()));
    for (c_i, &k) in keep.iter().enumerate() {
        if use_features {
            // u_k = Z v_k / s_k
            let col = z.dot(&vecs.column(k)) / s2[k].sqrt();
            u.column_mut(c_i).assign(&col);
        } else {
            u.column_mut(c_i).assign(&vecs.column(k));
        }
    }
    let ut = u.t().dot(&t);
    let s2k: Vec<f64> = keep.iter().map(|&k| s2[k]).collect();
    let wsum: f64 = w.iter().sum();
    let nl = lambdas.len();
    let mut score = vec![0.0; nl];
    let mut coefs = Array2::zeros((nl, p));
    let mut intercepts = vec![0.0; nl];
    for (l, &lam) in lambdas.iter().enumerate() {
        let shrink: Vec<f64> = s2k.iter().map(|s| s / (s + lam)).collect();
        // fitted values in the transformed space and hat diagonal
        let coef_u: Array1<f64> = ut.iter().zip(&shrink).map(|(a, f)| a * f).collect();
        let fitted = u.dot(&coef_u);
        let trace = shrink.iter().sum::<f64>() + if params.fit_intercept { 1.0 } else { 0.0 };
        let mut total = 0.0;
        for i in 0..n {
            if w[i] == 0.0 {
                continue;
            }
            let resid = t[i] - fitted[i]; // = sqrt(w_i) * (y_i - yhat_i)
            let h = match criterion {
                RidgeCriterion::Loo => {
                    let mut h: f64 = (0..keep.len())
                        .map(|k| u[[i, k]] * u[[i, k]] * shrink[k])
                        .sum();
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
        // coefficients: b = Z' U diag(1/(s2 + l)) U' t   (since U' t relates to V via Z)
        let inv: Array1<f64> = ut.iter().zip(&s2k).map(|(a, s)| a / (s + lam)).collect();
        let b_std = z.t().dot(&u.dot(&inv));
        let mut b0 = prep.y_mean;
        for j in 0..p {
            let b = if prep.usable[j] {
                b_std[j] / prep.x_scale[j]
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
    Ok(RidgeCvResult {
        lambdas,
        score,
        best,
        intercepts,
        coefs,
        criterion,
    })
}
