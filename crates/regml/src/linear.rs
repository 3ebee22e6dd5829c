//! Penalized linear and logistic regression paths with glmnet's semantics.
//!
//! [`ElasticNetParams`] describes the model; [`fit_path`] validates the data, standardizes,
//! computes `lambda_max` and the grid, runs the solver with warm starts from the largest
//! `lambda` down, and returns a [`LinearPath`] whose coefficients are on the original scale.
//!
//! Objective at each `lambda` (weights normalized to sum to one):
//!
//! ```text
//! gaussian:  1/2 sum_i w_i (y_i - b0 - x_i'b)^2                 + P_lambda(b)
//! binomial:  sum_i w_i ( log(1 + exp(eta_i)) - y_i eta_i )      + P_lambda(b),  eta = b0 + x'b
//! P_lambda(b) = lambda sum_j pf_j ( alpha |b_j| + (1-alpha)/2 b_j^2 )
//! ```
//!
//! A binomial `y_i` is a label 0 or 1, or a proportion in `[0, 1]`: the share of successes
//! among `w_i` trials, glmnet's two-column matrix of counts given as `y = successes / trials`
//! with `weights = trials`. Its deviance `2 sum_i w_i (y_i ln(y_i / p_i) + (1 - y_i)
//! ln((1 - y_i) / (1 - p_i)))` is measured from the saturated model, whose log-likelihood is 0
//! for labels; so are the primal objectives of its certificates (`P(b)` less the saturated
//! loss `sum_i w_i H(y_i)`, `H` the binary entropy), which the relative gap divides by.
//!
//! With `standardize = true` (the default) the penalty applies to the coefficients of the
//! standardized features `(x_j - mean_j) / sd_j` (weighted mean and 1/N standard deviation),
//! exactly as glmnet does; reported coefficients are converted back.
//!
//! Deliberate deviation from glmnet: for the gaussian family with `alpha < 1`, glmnet
//! divides `lambda` by the standard deviation of `y`, so its objective is not the one it
//! documents unless `sd(y) = 1`. regml minimizes the documented objective for every `y`.

use crate::design::{DenseDesign, Design, GivenGram, TransformedDense};
use crate::penalty::{ElasticNet, Penalty};
use crate::solver::gaussian::{uses_covariance, GaussianSolver};
use crate::solver::logistic::LogisticSolver;
use crate::solver::{FitInfo, SolverOptions};
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

/// Response distribution and link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Least squares (glmnet `"gaussian"`).
    Gaussian,
    /// Logistic regression on labels in `{0, 1}` or proportions in `[0, 1]` (glmnet
    /// `"binomial"`).
    Binomial,
}

impl Family {
    /// The mean response from the linear predictor (the inverse link): `eta` itself for
    /// gaussian, the probability of class 1, `1 / (1 + exp(-eta))`, for binomial.
    pub fn mean(self, eta: Array1<f64>) -> Array1<f64> {
        match self {
            Family::Gaussian => eta,
            Family::Binomial => eta.mapv(crate::datafit::sigmoid),
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Gaussian => "gaussian",
            Family::Binomial => "binomial",
        })
    }
}

impl std::str::FromStr for Family {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gaussian" => Ok(Family::Gaussian),
            "binomial" => Ok(Family::Binomial),
            _ => Err(Error::param("family", s, "must be gaussian or binomial")),
        }
    }
}

/// Parameters of a penalized linear model (unchecked; [`fit_path`] validates them).
///
/// ```
/// use regml::linear::{fit_path, ElasticNetParams};
/// use ndarray::array;
/// let x = array![[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]];
/// let y = array![1.0, 2.0, 4.0, 3.5];
/// let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::lasso()).unwrap();
/// assert!(path.info.iter().all(|i| i.relative_gap <= 1e-6));
/// // coefficients at the largest lambda are exactly zero
/// assert!(path.coefs.row(0).iter().all(|&b| b == 0.0));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElasticNetParams {
    /// Response family.
    pub family: Family,
    /// L1 share in `[0, 1]` (glmnet `alpha`; scikit-learn `l1_ratio`).
    pub alpha: f64,
    /// Number of `lambda` values of the default grid (glmnet `nlambda`, 100).
    pub nlambda: usize,
    /// Smallest `lambda` as a fraction of `lambda_max`; default `1e-4` if `n > p` else `1e-2`.
    pub lambda_min_ratio: Option<f64>,
    /// User-given `lambda` values (sorted decreasing before fitting); replaces the grid.
    pub lambda: Option<Vec<f64>>,
    /// Standardize features before penalizing (glmnet `standardize`, default true).
    pub standardize: bool,
    /// Fit an unpenalized intercept (default true).
    pub fit_intercept: bool,
    /// Per-feature penalty factors (glmnet `penalty.factor`), rescaled to sum to `p`.
    pub penalty_factor: Option<Vec<f64>>,
    /// Lower bounds on coefficients (each `<= 0`), original scale.
    pub lower_limits: Option<Vec<f64>>,
    /// Upper bounds on coefficients (each `>= 0`), original scale.
    pub upper_limits: Option<Vec<f64>>,
    /// Features left out of the model (glmnet `exclude`), by column index: their coefficients
    /// are 0 at every lambda and they do not enter `lambda_max`. A penalty factor of `+inf`
    /// excludes its feature too, and counts as 1 where the factors are rescaled (as in glmnet).
    #[serde(default)]
    pub exclude: Option<Vec<usize>>,
    /// Largest model wanted (glmnet `dfmax`): a default grid stops at the first lambda, from
    /// the fifth on, with more than `dfmax` nonzero coefficients, keeping that lambda. User
    /// grids run in full. `None`: no limit.
    #[serde(default)]
    pub dfmax: Option<usize>,
    /// Most coefficients ever nonzero along the path (glmnet `pmax`): the path stops before
    /// the first lambda at which more than `pmax` coefficients have been nonzero, with a
    /// warning, on any grid. `None`: glmnet's default, `min(2 dfmax + 20, p)` when `dfmax` is
    /// set, else no limit.
    #[serde(default)]
    pub pmax: Option<usize>,
    /// A known part of the linear predictor per row (glmnet `offset`): the model is
    /// `eta_i = offset_i + b0 + x_i' b`, and `offset_i` is not fitted. For least squares this
    /// is the fit of `y - offset`; for logistic regression the null model is the intercept
    /// (if any) fitted with the offset in place, so `lambda_max`, the null deviance and
    /// `dev_ratio` are measured from it. Predictions from such a path need the new rows'
    /// offsets ([`LinearPath::predict_with_offset`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Vec<f64>>,
    /// Stopping rules.
    pub solver: SolverOptions,
}

impl Default for ElasticNetParams {
    fn default() -> Self {
        ElasticNetParams {
            family: Family::Gaussian,
            alpha: 1.0,
            nlambda: 100,
            lambda_min_ratio: None,
            lambda: None,
            standardize: true,
            fit_intercept: true,
            penalty_factor: None,
            lower_limits: None,
            upper_limits: None,
            exclude: None,
            dfmax: None,
            pmax: None,
            offset: None,
            solver: SolverOptions::default(),
        }
    }
}

impl ElasticNetParams {
    /// Lasso: `alpha = 1`.
    pub fn lasso() -> Self {
        Self::default()
    }
    /// Ridge: `alpha = 0`.
    pub fn ridge() -> Self {
        ElasticNetParams {
            alpha: 0.0,
            ..Self::default()
        }
    }
    /// Elastic net with L1 share `alpha`.
    pub fn elastic_net(alpha: f64) -> Self {
        ElasticNetParams {
            alpha,
            ..Self::default()
        }
    }
    /// L1-penalized logistic regression.
    pub fn logistic(alpha: f64) -> Self {
        ElasticNetParams {
            alpha,
            family: Family::Binomial,
            ..Self::default()
        }
    }

    /// Checks every parameter that does not depend on the data.
    pub fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(Error::param("alpha", self.alpha, "must lie in [0, 1]"));
        }
        if self.lambda.is_none() && !(1..=100_000).contains(&self.nlambda) {
            return Err(Error::param(
                "nlambda",
                self.nlambda,
                "must lie in [1, 100000]",
            ));
        }
        if let Some(r) = self.lambda_min_ratio {
            if !(r > 0.0 && r < 1.0) {
                return Err(Error::param("lambda_min_ratio", r, "must lie in (0, 1)"));
            }
        }
        if let Some(l) = &self.lambda {
            if l.is_empty() {
                return Err(Error::param("lambda", "[]", "needs at least one value"));
            }
            if let Some(v) = l.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(Error::param("lambda", v, "must be finite and >= 0"));
            }
        }
        let t = self.solver.tol;
        if !(t > 0.0 && t < 1.0) {
            return Err(Error::param("tol", t, "must lie in (0, 1)"));
        }
        if self.solver.max_iter == 0 {
            return Err(Error::param("max_iter", 0, "must be positive"));
        }
        Ok(())
    }
}

/// A fitted regularization path. Row `k` of `coefs` belongs to `lambdas[k]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearPath {
    /// Response family.
    pub family: Family,
    /// L1 share.
    pub alpha: f64,
    /// `lambda` values, decreasing.
    pub lambdas: Vec<f64>,
    /// The exact `lambda_max` of the data (all penalized coefficients zero at and above it).
    pub lambda_max: f64,
    /// Intercept per `lambda` (original scale; 0 without intercept).
    pub intercepts: Vec<f64>,
    /// Coefficients, `n_lambda x n_features`, original scale.
    pub coefs: Array2<f64>,
    /// Number of nonzero coefficients per `lambda`.
    pub df: Vec<usize>,
    /// Fraction of (null) deviance explained per `lambda` (glmnet `dev.ratio`).
    pub dev_ratio: Vec<f64>,
    /// Null deviance (intercept-only model), in glmnet's units (weights summing to one).
    pub null_deviance: f64,
    /// Accuracy certificate per `lambda`.
    pub info: Vec<FitInfo>,
    /// Weighted feature means used for centering (zeros without intercept).
    pub x_mean: Vec<f64>,
    /// Weighted feature standard deviations used for scaling (ones without standardization).
    pub x_scale: Vec<f64>,
    /// Human-readable warnings (non-convergence, separability, early stop of the path).
    pub warnings: Vec<String>,
    /// Whether the path was fitted with an offset ([`ElasticNetParams::offset`]): its
    /// predictions then need the new rows' offsets.
    #[serde(default)]
    pub offset: bool,
}

/// Inputs validated and normalized once, shared by path fits and cross-validation folds.
pub(crate) struct Prepared {
    pub x_mean: Vec<f64>,
    pub x_scale: Vec<f64>,
    pub usable: Vec<bool>,
    pub y_mean: f64,
}

impl Prepared {
    /// The factor of each column in the transformed design: `1 / x_scale_j` for a usable
    /// feature, 0 for one that is not.
    pub(crate) fn column_factors(&self) -> Vec<f64> {
        self.usable
            .iter()
            .zip(&self.x_scale)
            .map(|(&u, &s)| if u { 1.0 / s } else { 0.0 })
            .collect()
    }
}

/// Largest magnitude of a value in the data of a fit (`x`, `y`, weights, offset) and in the
/// rows and offsets given for prediction: `1e150`. The solvers square the data and sum the
/// squares (column norms, Gram matrices, residual sums of squares), and with values beyond
/// `sqrt(f64::MAX) / sqrt(n)` those sums overflow; `1e150` leaves room for `10^8` rows.
/// Larger values are rejected ([`Error::OutOfRange`]); the CSV reader rejects them too,
/// naming file, line and column.
pub const MAX_ABS_VALUE: f64 = 1e150;

/// The error for the value `v` of input `what` at `(row, column)`, which is not finite or
/// larger in magnitude than [`MAX_ABS_VALUE`]; `None` for a value within range.
fn out_of_range(what: &'static str, row: usize, column: usize, v: f64) -> Option<Error> {
    if v.abs() <= MAX_ABS_VALUE {
        None
    } else if v.is_finite() {
        Some(Error::OutOfRange {
            what,
            row,
            column,
            value: v,
            limit: MAX_ABS_VALUE,
        })
    } else {
        Some(Error::NonFinite { what, row, column })
    }
}

/// The first value of the vector `v` (input `what`) out of range (see [`out_of_range`]).
fn check_range_1d(what: &'static str, v: &ArrayView1<f64>) -> Result<()> {
    match v
        .iter()
        .enumerate()
        .find_map(|(row, &a)| out_of_range(what, row, 0, a))
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The first entry of `x` out of range (see [`out_of_range`]).
fn check_range_2d(x: &ArrayView2<f64>) -> Result<()> {
    // fast path over contiguous memory; locate the offending entry only on failure
    if let Some(s) = x.as_slice_memory_order() {
        const CHUNK: usize = 1 << 16;
        let chunks = s.len().div_ceil(CHUNK);
        let ok = crate::kernels::map_indices(chunks, s.len(), |k| {
            crate::kernels::all_within(&s[k * CHUNK..((k + 1) * CHUNK).min(s.len())], MAX_ABS_VALUE)
        });
        if ok.iter().all(|v| *v) {
            return Ok(());
        }
    }
    match x
        .indexed_iter()
        .find_map(|((row, column), &v)| out_of_range("x", row, column, v))
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Validates data against the parameters; returns normalized weights.
fn validate(
    x: &ArrayView2<f64>,
    y: &ArrayView1<f64>,
    weights: Option<&ArrayView1<f64>>,
    params: &ElasticNetParams,
) -> Result<Vec<f64>> {
    params.check()?;
    let (n, p) = x.dim();
    if y.len() != n {
        return Err(Error::ShapeMismatch {
            op: "fit",
            expected: format!("{n} responses (rows of x)"),
            got: format!("{}", y.len()),
        });
    }
    if n < 2 {
        return Err(Error::InvalidData(format!("need at least 2 rows, got {n}")));
    }
    if p == 0 {
        return Err(Error::InvalidData("need at least one feature".into()));
    }
    check_range_2d(x)?;
    check_range_1d("y", y)?;
    let mut w = match weights {
        None => vec![1.0; n],
        Some(w) => {
            if w.len() != n {
                return Err(Error::ShapeMismatch {
                    op: "weights",
                    expected: format!("{n} weights"),
                    got: format!("{}", w.len()),
                });
            }
            check_range_1d("weights", w)?;
            for (row, v) in w.iter().enumerate() {
                if *v < 0.0 {
                    return Err(Error::InvalidData(format!(
                        "weight at row {row} is negative ({v})"
                    )));
                }
            }
            w.to_vec()
        }
    };
    let total: f64 = w.iter().sum();
    if !(total > 0.0) {
        return Err(Error::InvalidData("all weights are zero".into()));
    }
    w.iter_mut().for_each(|v| *v /= total);
    match params.family {
        Family::Gaussian => {
            let (lo, hi) = y
                .iter()
                .zip(&w)
                .filter(|(_, w)| **w > 0.0)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (v, _)| {
                    (lo.min(*v), hi.max(*v))
                });
            if params.fit_intercept && lo == hi {
                return Err(Error::InvalidData(format!(
                    "the target is constant ({lo}): nothing to fit"
                )));
            }
            if !params.fit_intercept && lo == 0.0 && hi == 0.0 {
                return Err(Error::InvalidData("the target is all zero".into()));
            }
        }
        Family::Binomial => {
            if let Some((row, v)) = y
                .iter()
                .enumerate()
                .find(|(_, v)| !(0.0..=1.0).contains(*v))
            {
                return Err(Error::InvalidData(format!(
                    "binomial targets must be labels 0 or 1, or proportions in [0, 1]; row {row} \
                     has {v}"
                )));
            }
            // some weight on each class: a row of positive weight with y > 0, and one with y < 1
            let has = |positive: bool| {
                y.iter()
                    .zip(&w)
                    .any(|(&v, &w)| w > 0.0 && if positive { v > 0.0 } else { v < 1.0 })
            };
            if !(has(false) && has(true)) {
                return Err(Error::InvalidData(
                    "the target has a single class (with positive weight): logistic regression \
                     needs two"
                        .into(),
                ));
            }
            if params.fit_intercept {
                let mut shares = y.iter().zip(&w).filter(|(_, w)| **w > 0.0).map(|(v, _)| *v);
                let first = shares.next().unwrap_or(0.0);
                if shares.all(|v| v == first) {
                    return Err(Error::InvalidData(format!(
                        "the target is constant ({first}): nothing to fit beyond the intercept"
                    )));
                }
                // the intercept-only model, logit(ybar), must be finite: a class whose share
                // of the weight is lost to rounding against the other is no class
                let ybar: f64 = y.iter().zip(&w).map(|(a, b)| a * b).sum();
                if !(ybar > 0.0 && ybar < 1.0) {
                    return Err(Error::InvalidData(format!(
                        "one class carries too little of the weight (the weighted mean of the \
                         target rounds to {ybar}): logistic regression needs two"
                    )));
                }
            }
        }
    }
    if let Some(pf) = &params.penalty_factor {
        if pf.len() != p {
            return Err(Error::ShapeMismatch {
                op: "penalty_factor",
                expected: format!("{p} values"),
                got: format!("{}", pf.len()),
            });
        }
    }
    if let Some(j) = params.exclude.iter().flatten().find(|&&j| j >= p) {
        return Err(Error::param(
            "exclude",
            j,
            format!("must be a column index below the number of features ({p})"),
        ));
    }
    Ok(w)
}

/// Inputs checked and prepared once by [`check_inputs`].
pub(crate) struct Checked {
    /// `y - offset` for least squares with an offset; `None`: the response as given.
    shifted: Option<Array1<f64>>,
    /// Weights normalized to sum to one.
    pub w: Vec<f64>,
    /// Means, scales and usable columns.
    pub prep: Prepared,
}

impl Checked {
    /// The response the solvers fit, given the `y` that was checked.
    pub fn y<'s>(&'s self, y: ArrayView1<'s, f64>) -> ArrayView1<'s, f64> {
        self.shifted.as_ref().map_or(y, |s| s.view())
    }
}

/// Checks the offset, the data and the weights, and prepares the columns, for every entry
/// point that fits (least squares with an offset is checked and prepared as the fit of
/// `y - offset`).
pub(crate) fn check_inputs(
    x: &ArrayView2<f64>,
    y: &ArrayView1<f64>,
    weights: Option<&ArrayView1<f64>>,
    params: &ElasticNetParams,
) -> Result<Checked> {
    let shifted = fit_response(y, params)?;
    let y_fit = shifted.as_ref().map_or(y.view(), |s| s.view());
    let w = validate(x, &y_fit, weights, params)?;
    let prep = prepare(x, &y_fit, &w, params);
    Ok(Checked { shifted, w, prep })
}

/// The response the solvers fit, after checking `params.offset` against the `n` rows: for
/// least squares with an offset, `y - offset` (glmnet fits exactly that); otherwise `None`,
/// the response as given (the logistic solver adds the offset to its linear predictor).
fn fit_response(y: &ArrayView1<f64>, params: &ElasticNetParams) -> Result<Option<Array1<f64>>> {
    let Some(o) = &params.offset else {
        return Ok(None);
    };
    check_offset(ArrayView1::from(o.as_slice()), y.len())?;
    if params.family != Family::Gaussian {
        return Ok(None);
    }
    check_range_1d("y", y)?;
    let shifted: Array1<f64> = y.iter().zip(o).map(|(v, o)| v - o).collect();
    check_range_1d("y - offset", &shifted.view())?;
    Ok(Some(shifted))
}

/// An offset has one value for each of the `n` rows, each within [`MAX_ABS_VALUE`].
fn check_offset(o: ArrayView1<f64>, n: usize) -> Result<()> {
    if o.len() != n {
        return Err(Error::ShapeMismatch {
            op: "offset",
            expected: format!("{n} values (rows of x)"),
            got: format!("{}", o.len()),
        });
    }
    check_range_1d("offset", &o)
}

/// Which of the `p` features are left out of the model: listed in `exclude`, or with an
/// infinite penalty factor.
fn excluded(params: &ElasticNetParams, p: usize) -> Vec<bool> {
    let mut out = vec![false; p];
    for &j in params.exclude.iter().flatten() {
        if let Some(o) = out.get_mut(j) {
            *o = true;
        }
    }
    if let Some(pf) = &params.penalty_factor {
        for (o, v) in out.iter_mut().zip(pf) {
            *o |= *v == f64::INFINITY;
        }
    }
    out
}

/// Weighted means, scales and the usable columns (not constant, not excluded).
fn prepare(
    x: &ArrayView2<f64>,
    y: &ArrayView1<f64>,
    w: &[f64],
    params: &ElasticNetParams,
) -> Prepared {
    let (n, p) = x.dim();
    let first_row = (0..n).find(|&i| w[i] > 0.0);
    // per column: (usable, mean or 0, sd or 1)
    let stats = crate::kernels::map_indices(p, n * p, |j| {
        let col = x.column(j);
        let first = first_row.map(|i| col[i]).unwrap_or(0.0);
        // a column is constant when every row of positive weight equals the first one
        let mut usable = col.iter().zip(w).any(|(&v, &wi)| wi != 0.0 && v != first);
        let centred = params.fit_intercept || params.standardize;
        let m: f64 = if centred {
            col.iter().zip(w).map(|(a, b)| a * b).sum()
        } else {
            0.0
        };
        let mut scale = 1.0;
        if params.standardize && usable {
            let var: f64 = col.iter().zip(w).map(|(a, b)| b * (a - m) * (a - m)).sum();
            let sd = var.sqrt();
            if sd > 0.0 {
                scale = sd;
            } else {
                usable = false;
            }
        }
        (usable, if params.fit_intercept { m } else { 0.0 }, scale)
    });
    let left_out = excluded(params, p);
    let usable: Vec<bool> = stats
        .iter()
        .zip(&left_out)
        .map(|(s, out)| s.0 && !out)
        .collect();
    let x_mean: Vec<f64> = stats.iter().map(|s| s.1).collect();
    let x_scale: Vec<f64> = stats.iter().map(|s| s.2).collect();
    let y_mean = if params.fit_intercept && params.family == Family::Gaussian {
        y.iter().zip(w).map(|(a, b)| a * b).sum()
    } else {
        0.0
    };
    Prepared {
        x_mean,
        x_scale,
        usable,
        y_mean,
    }
}

/// The penalty in solver units: factors rescaled to sum to `p`, bounds times `sd_j`.
pub(crate) fn solver_penalty(params: &ElasticNetParams, prep: &Prepared) -> Result<ElasticNet> {
    let p = prep.x_scale.len();
    let mut pen = ElasticNet::new(params.alpha, p)?;
    if let Some(pf) = &params.penalty_factor {
        let mut pf = pf.clone();
        if let Some(v) = pf.iter().find(|v| !(**v >= 0.0)) {
            return Err(Error::param(
                "penalty_factor",
                v,
                "must be >= 0 (+inf excludes)",
            ));
        }
        // an excluded feature (+inf) counts as 1 in the rescaling, as in glmnet
        pf.iter_mut()
            .filter(|v| v.is_infinite())
            .for_each(|v| *v = 1.0);
        let s: f64 = pf.iter().sum();
        if !(s > 0.0) {
            return Err(Error::param(
                "penalty_factor",
                "all 0",
                "at least one feature must be penalized",
            ));
        }
        pf.iter_mut().for_each(|v| *v *= p as f64 / s);
        pen = pen.with_penalty_factor(pf)?;
    }
    if params.lower_limits.is_some() || params.upper_limits.is_some() {
        let lo = params
            .lower_limits
            .clone()
            .unwrap_or_else(|| vec![f64::NEG_INFINITY; p]);
        let hi = params
            .upper_limits
            .clone()
            .unwrap_or_else(|| vec![f64::INFINITY; p]);
        pen = pen.with_bounds(lo, hi)?.scaled_bounds(&prep.x_scale);
    }
    Ok(pen)
}

/// Observation weights that balance the two classes of a binomial response, as
/// scikit-learn's `class_weight = "balanced"` (with its weighted class counts): row `i` of
/// class `c` gets `w_i * W / (2 W_c)`, where `W_c` is the sum of the weights `w_i` of class
/// `c` (all `w_i = 1` without `weights`: `W_c` counts the rows) and `W = W_0 + W_1`. Each
/// class then weighs `W / 2` in all. Labels must be 0 or 1, and both classes need a row of
/// positive weight.
pub fn balanced_class_weights(
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
) -> Result<Array1<f64>> {
    let w: Array1<f64> = match weights {
        Some(w) if w.len() != y.len() => {
            return Err(Error::ShapeMismatch {
                op: "weights",
                expected: format!("{} weights", y.len()),
                got: format!("{}", w.len()),
            })
        }
        Some(w) => w.to_owned(),
        None => Array1::ones(y.len()),
    };
    if let Some((row, v)) = w
        .iter()
        .enumerate()
        .find(|(_, v)| !(**v >= 0.0 && v.is_finite()))
    {
        return Err(Error::InvalidData(format!(
            "weights must be finite and non-negative; row {row} has {v}"
        )));
    }
    // W_c, the weight of each class
    let mut totals = [0.0f64; 2];
    for (row, (&v, &wi)) in y.iter().zip(&w).enumerate() {
        let class = match v {
            0.0 => 0,
            1.0 => 1,
            _ => {
                return Err(Error::InvalidData(format!(
                    "binomial labels must be 0 or 1; row {row} has {v}"
                )))
            }
        };
        totals[class] += wi;
    }
    if totals.contains(&0.0) {
        return Err(Error::InvalidData(
            "the target has a single class (with positive weight): classes cannot be balanced"
                .into(),
        ));
    }
    let total = totals[0] + totals[1];
    if !total.is_finite() {
        return Err(Error::InvalidData(format!(
            "the weights sum to {total}: classes cannot be balanced"
        )));
    }
    let scale = [total / (2.0 * totals[0]), total / (2.0 * totals[1])];
    Ok(w.iter()
        .zip(y)
        .map(|(&wi, &v)| wi * scale[usize::from(v == 1.0)])
        .collect())
}

/// The decreasing `lambda` sequence: the user's (sorted), or glmnet's geometric grid
/// `lambda_k = lambda_max * ratio^(k/(nlambda-1))`, `k = 0..nlambda-1`.
pub fn lambda_grid(params: &ElasticNetParams, lambda_max: f64, n: usize, p: usize) -> Vec<f64> {
    if let Some(l) = &params.lambda {
        let mut l = l.clone();
        l.sort_by(|a, b| b.total_cmp(a));
        return l;
    }
    let ratio = params
        .lambda_min_ratio
        .unwrap_or(if n > p { 1e-4 } else { 1e-2 });
    let k = params.nlambda;
    if k == 1 {
        return vec![lambda_max];
    }
    // lambda_k = lambda_max * ratio^(k/(K-1))
    (0..k)
        .map(|i| lambda_max * ratio.powf(i as f64 / (k - 1) as f64))
        .collect()
}

/// Dense column-major solver design: centered, scaled, and (gaussian) row-scaled by sqrt(w).
fn solver_design(x: &ArrayView2<f64>, prep: &Prepared, row_scale: Option<&[f64]>) -> DenseDesign {
    let (n, p) = x.dim();
    let mut data = vec![0.0; n * p];
    crate::kernels::for_each_chunk_mut(&mut data, n, |j, out| {
        if !prep.usable[j] {
            return;
        }
        let (m, s) = (prep.x_mean[j], prep.x_scale[j]);
        for (i, v) in x.column(j).iter().enumerate() {
            let z = (v - m) / s;
            out[i] = match row_scale {
                Some(r) => z * r[i],
                None => z,
            };
        }
    });
    DenseDesign::from_col_major(data, n, p).expect("n*p elements by construction")
}

/// The caller's matrix read through the least-squares transformation (centering, scaling by
/// the standard deviations, rows by `sqrt(w_i)`, unusable columns zero; see
/// [`solver_design`]) without a copy, when the solver works in covariance mode and `x` is
/// column-major: that mode reads `X` only for `X'y`, the column norms and the Gram matrix.
fn transformed_design<'x>(
    x: &ArrayView2<'x, f64>,
    prep: &Prepared,
    sw: &'x [f64],
    params: &ElasticNetParams,
) -> Option<TransformedDense<'x>> {
    let (n, p) = x.dim();
    if !uses_covariance(params.solver.gaussian_mode, n, p) {
        return None;
    }
    let data = x.reversed_axes().to_slice()?;
    TransformedDense::new(
        data,
        n,
        prep.x_mean.clone(),
        prep.column_factors(),
        Some(sw),
    )
}

/// `run` on the least-squares path solver over `design` (response `y`, penalty `pen`, the
/// usable features of `prep`, the solver options of `params`).
fn run_least_squares<D: Design>(
    design: &D,
    y: &[f64],
    pen: &ElasticNet,
    prep: &Prepared,
    params: &ElasticNetParams,
    run: &dyn Fn(&mut dyn PathSolver) -> Result<Traced>,
) -> Result<Traced> {
    run(&mut GaussianSolver::new(
        design,
        y,
        pen,
        prep.usable.clone(),
        params.solver.clone(),
    ))
}

/// The caller's matrix as the least-squares solver design, without a copy, when no
/// transformation is needed: column-major storage, no centering, no scaling, every feature
/// usable and equal weights `w0` (then the weighted objective is `w0` times the unweighted
/// one with `lambda / w0`).
fn plain_design<'x>(
    x: &ArrayView2<'x, f64>,
    w: &[f64],
    prep: &Prepared,
    params: &ElasticNetParams,
) -> Option<(DenseDesign<&'x [f64]>, f64)> {
    let (n, p) = x.dim();
    let w0 = *w.first()?;
    let plain = reads_x_as_given(params, w) && prep.usable.iter().all(|&u| u);
    if !plain {
        return None;
    }
    let data = x.reversed_axes().to_slice()?;
    Some((DenseDesign::from_col_major(data, n, p)?, w0))
}

/// Whether a least-squares fit with row weights `w` (at any common scale) reads `X` as given,
/// neither centered, scaled nor row-weighted: no standardization, no intercept, all weights
/// equal and positive. [`plain_design`] also needs every feature usable.
pub(crate) fn reads_x_as_given(params: &ElasticNetParams, w: &[f64]) -> bool {
    !params.standardize
        && !params.fit_intercept
        && w.first()
            .is_some_and(|&w0| w0 > 0.0 && w.iter().all(|&v| v == w0))
}

/// A least-squares path solver run on `X` and `y` without the weights `w0` (all equal): its
/// objective is the weighted one divided by `w0`, so `lambda` is divided by `w0` on the way in
/// and objectives, deviances and gradients are multiplied by `w0` on the way out.
struct Rescaled<S> {
    inner: S,
    scale: f64,
}

impl<S: PathSolver> PathSolver for Rescaled<S> {
    fn solve(&mut self, lambda: f64, lambda_prev: f64) -> FitInfo {
        let s = self.scale;
        let info = self.inner.solve(lambda / s, lambda_prev / s);
        FitInfo {
            primal: info.primal * s,
            duality_gap: info.duality_gap * s,
            kkt_violation: info.kkt_violation * s,
            ..info
        }
    }
    fn lambdas_after(&mut self, after: &[f64]) {
        let s = self.scale;
        let scaled: Vec<f64> = after.iter().map(|l| l / s).collect();
        self.inner.lambdas_after(&scaled);
    }
    fn lambda_max(&self) -> f64 {
        self.inner.lambda_max() * self.scale
    }
    fn null_deviance(&self) -> f64 {
        self.inner.null_deviance() * self.scale
    }
    fn deviance(&self) -> f64 {
        self.inner.deviance() * self.scale
    }
    fn coefficients(&self) -> &[f64] {
        self.inner.coefficients()
    }
    fn intercept(&self) -> f64 {
        self.inner.intercept()
    }
    fn stopped_at_max_iter(&self) -> bool {
        self.inner.stopped_at_max_iter()
    }
}

/// Fits the whole regularization path.
pub fn fit_path(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
) -> Result<LinearPath> {
    fit_path_observed(x, y, weights, params, &|_| {})
}

/// How far a long fit has come, reported to an observer by [`fit_path_observed`] and
/// [`crate::cv::cv_path_observed`] (glmnet's `trace.it`). The library never prints; a caller
/// shows these as it likes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The path on all rows has fitted `done` of its `total` lambdas. A default grid may stop
    /// before `total` when the deviance stops changing; no event then reaches `total`.
    Lambda {
        /// Lambdas fitted so far.
        done: usize,
        /// Lambdas in the grid.
        total: usize,
    },
    /// Cross-validation has fitted `done` of its `total` folds (in any order; reported from
    /// the threads that fit them).
    Fold {
        /// Folds fitted so far.
        done: usize,
        /// Number of folds.
        total: usize,
    },
}

/// [`fit_path`], calling `observer` with [`Progress::Lambda`] after each lambda.
pub fn fit_path_observed(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
    observer: &(dyn Fn(Progress) + Sync),
) -> Result<LinearPath> {
    let c = check_inputs(&x, &y, weights.as_ref(), params)?;
    fit_prepared(&x, &c.y(y), &c.w, &c.prep, params, None, None, observer)
}

/// The Gram matrix of a least-squares fit's transformed design (centered, scaled, rows by
/// `sqrt(w_i)`), given the fit's [`Prepared`], when the caller can form it for less than a
/// product of `X` (`None` otherwise): see [`GivenGram`].
pub(crate) type GramSource<'a> = &'a (dyn Fn(&Prepared) -> Option<Vec<f64>> + Sync);

/// Path fit on validated data; `lambdas_override` forces a sequence (cross-validation folds);
/// `observer` hears of every fitted lambda. A least-squares fit in covariance mode on the
/// transformed design takes its Gram matrix from `gram` when that gives one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_prepared(
    x: &ArrayView2<f64>,
    y: &ArrayView1<f64>,
    w: &[f64],
    prep: &Prepared,
    params: &ElasticNetParams,
    lambdas_override: Option<&[f64]>,
    gram: Option<GramSource<'_>>,
    observer: &(dyn Fn(Progress) + Sync),
) -> Result<LinearPath> {
    let (n, p) = x.dim();
    let pen = solver_penalty(params, prep)?;
    let user_grid = params.lambda.is_some() || lambdas_override.is_some();
    let limits = SizeLimits::of(params, p);
    let mut warnings = Vec::new();
    // binomial labels 0/1 (not proportions): the classes can be separable
    let labels = params.family == Family::Binomial && y.iter().all(|&v| v == 0.0 || v == 1.0);
    let traced = match params.family {
        Family::Gaussian => {
            let run = |solver: &mut dyn PathSolver| -> Result<Traced> {
                let lambdas = resolve_grid(params, lambdas_override, solver.lambda_max(), n, p)?;
                Ok(trace_path(
                    solver,
                    Family::Gaussian,
                    false,
                    lambdas,
                    user_grid,
                    limits,
                    observer,
                ))
            };
            match plain_design(x, w, prep, params) {
                Some((design, w0)) => {
                    // X and y as given: the solver's objective is the weighted one over w0
                    let yv = y.to_vec();
                    let inner = GaussianSolver::new(
                        &design,
                        &yv,
                        &pen,
                        prep.usable.clone(),
                        params.solver.clone(),
                    );
                    run(&mut Rescaled { inner, scale: w0 })?
                }
                None => {
                    let sw: Vec<f64> = w.iter().map(|v| v.sqrt()).collect();
                    let yt: Vec<f64> = y
                        .iter()
                        .zip(&sw)
                        .map(|(v, s)| (v - prep.y_mean) * s)
                        .collect();
                    // covariance mode reads X a few times: through the transformation, with
                    // no copy; otherwise the passes read the transformed copy
                    match transformed_design(x, prep, &sw, params) {
                        Some(design) => match gram.and_then(|g| g(prep)) {
                            Some(gram) => {
                                let design = GivenGram {
                                    inner: design,
                                    gram,
                                };
                                run_least_squares(&design, &yt, &pen, prep, params, &run)?
                            }
                            None => run_least_squares(&design, &yt, &pen, prep, params, &run)?,
                        },
                        None => {
                            let design = solver_design(x, prep, Some(&sw));
                            run_least_squares(&design, &yt, &pen, prep, params, &run)?
                        }
                    }
                }
            }
        }
        Family::Binomial => {
            let design = solver_design(x, prep, None);
            let yv: Vec<f64> = y.to_vec();
            let mut solver = LogisticSolver::new(
                &design,
                &yv,
                w,
                &pen,
                prep.usable.clone(),
                params.solver.clone(),
                params.fit_intercept,
                params.offset.as_deref(),
            );
            let lambdas = resolve_grid(params, lambdas_override, solver.lambda_max(), n, p)?;
            trace_path(
                &mut solver,
                Family::Binomial,
                labels,
                lambdas,
                user_grid,
                limits,
                observer,
            )
        }
    };
    let Traced {
        lambda_max,
        null_deviance,
        mut lambdas,
        coefs: solver_coefs,
        solver_intercepts,
        dev_ratio,
        infos,
        at_max_iter,
        warnings: path_warnings,
    } = traced;
    if solver_coefs.is_empty() {
        // only pmax stops a path before its first lambda
        return Err(Error::param(
            "pmax",
            limits.pmax.unwrap_or(0),
            format!(
                "is exceeded at the first lambda: {}",
                path_warnings.join("; ")
            ),
        ));
    }
    warnings.extend(path_warnings);
    // rows on the original scale, written once into the dense matrix
    let mut coefs = Array2::zeros((solver_coefs.len(), p));
    let mut intercepts = Vec::with_capacity(solver_coefs.len());
    let mut df = Vec::with_capacity(solver_coefs.len());
    for ((support, b0), mut row) in solver_coefs
        .iter()
        .zip(&solver_intercepts)
        .zip(coefs.rows_mut())
    {
        // b_j / s_j for usable features (an unusable one is held at zero), in feature order
        // as the dense sum over all features was
        let mut shift = 0.0;
        let mut nonzero = 0;
        for &(j, b) in support.iter().filter(|(j, _)| prep.usable[*j]) {
            let v = b / prep.x_scale[j];
            row[j] = v;
            shift += v * prep.x_mean[j];
            nonzero += usize::from(v != 0.0);
        }
        intercepts.push(if params.fit_intercept {
            prep.y_mean + b0 - shift
        } else {
            0.0
        });
        df.push(nonzero);
    }
    lambdas.truncate(coefs.nrows());
    // unpenalized coefficients (the intercept too) that the rows cannot determine
    let free = (0..p)
        .filter(|&j| prep.usable[j] && !pen.is_penalized(j))
        .count();
    let rows = w.iter().filter(|&&v| v > 0.0).count();
    let unknowns = free + usize::from(params.fit_intercept);
    let undetermined = (free > 0 && unknowns >= rows).then(|| {
        // as many unknowns as rows: a full-rank block fits every row exactly (least squares),
        // or only with coefficients that grow without bound (0/1 labels)
        let consequence = match (params.family, unknowns > rows) {
            (Family::Gaussian, true) => "their fit is not unique",
            (Family::Gaussian, false) => {
                "they can fit every row exactly, leaving nothing to the penalized features"
            }
            (Family::Binomial, true) => "their fit is not unique and in general not finite",
            (Family::Binomial, false) => {
                "they can fit every row exactly, in general only with coefficients that are \
                 not finite"
            }
        };
        format!(
            "{free} features are unpenalized (penalty factor 0){} and only {rows} rows carry \
             weight, so {consequence}: give some of them a positive penalty factor",
            if params.fit_intercept {
                " besides the intercept"
            } else {
                ""
            }
        )
    });
    if labels
        && free > 0
        && dev_ratio[0] > 0.999
        && solver_coefs[0].iter().all(|&(j, _)| !pen.is_penalized(j))
    {
        let features = if free == 1 {
            "the unpenalized feature".to_string()
        } else {
            format!("the {free} unpenalized features")
        };
        let (with, verb) = match (params.fit_intercept, free > 1) {
            (true, _) => (" and the intercept", "separate"),
            (false, true) => ("", "separate"),
            (false, false) => ("", "separates"),
        };
        warnings.push(format!(
            "{features}{with} alone {verb} the classes (nearly): {:.4} of the deviance is \
             explained with every penalized coefficient at zero, the maximum-likelihood \
             coefficients of the unpenalized features are infinite, and their fit stops where \
             the tolerance is met; give some of them a positive penalty factor",
            dev_ratio[0]
        ));
    }
    for (k, info) in infos.iter().enumerate() {
        if !info.converged {
            let advice = if let Some(a) = &undetermined {
                a.as_str()
            } else if labels && lambdas[k] == 0.0 {
                // unpenalized logistic regression has no finite solution on separable classes
                "at lambda = 0 the likelihood has no maximum if the classes are (nearly) \
                 separable: use a positive lambda"
            } else if labels && free > 0 && dev_ratio[k] > 0.999 {
                // the penalty holds the penalized coefficients finite, not the free ones
                "the classes are (nearly) separable and no penalty holds the unpenalized \
                 coefficients finite: give some of them a positive penalty factor"
            } else if !at_max_iter[k] {
                // both solvers stop short of max_iter only once their inner accuracy has
                // reached its floor (1e-24 of the null deviance) with the gap still open
                "its updates fell to the rounding level of the data (below 1e-24 of the null \
                 deviance) before the gap was met, so more passes would not help: at this \
                 lambda the gap is out of reach in double precision; use a larger lambda or a \
                 looser tol"
            } else {
                "raise max_iter, loosen tol, or keep standardization on"
            };
            warnings.push(format!(
                "lambda #{} = {:.4e} did not converge: relative {} {:.2e} > tol {:.0e} after {} \
                 passes; {advice}",
                k + 1,
                lambdas[k],
                match info.certificate {
                    crate::solver::Certificate::DualityGap => "duality gap",
                    crate::solver::Certificate::KktViolation => "KKT violation",
                },
                info.relative_gap,
                params.solver.tol,
                info.n_iter
            ));
        }
    }
    // a converged fit whose unpenalized coefficients the rows cannot determine is one of many
    if let Some(a) = undetermined.filter(|_| infos.iter().all(|i| i.converged)) {
        warnings.push(a);
    }
    Ok(LinearPath {
        family: params.family,
        alpha: params.alpha,
        lambdas,
        lambda_max,
        intercepts,
        coefs,
        df,
        dev_ratio,
        null_deviance,
        info: infos,
        x_mean: prep.x_mean.clone(),
        x_scale: prep.x_scale.clone(),
        warnings,
        offset: params.offset.is_some(),
    })
}

/// What the path loop needs from a solver, in solver (standardized) units.
trait PathSolver {
    fn solve(&mut self, lambda: f64, lambda_prev: f64) -> FitInfo;
    /// Told before each solve which lambdas of the path are expected after it: those left
    /// on the grid, or where the explained deviance stalled before the 5th lambda, those up
    /// to the 5th, where the stall rule will most likely stop the path.
    fn lambdas_after(&mut self, _after: &[f64]) {}
    fn lambda_max(&self) -> f64;
    fn null_deviance(&self) -> f64;
    fn deviance(&self) -> f64;
    fn coefficients(&self) -> &[f64];
    /// Intercept in solver units (0 for least squares, whose intercept is the mean of `y`).
    fn intercept(&self) -> f64;
    /// Whether the last solve stopped because it had taken `max_iter` passes at its lambda
    /// (the passes of fits before the path, which the first lambda's `n_iter` includes, do
    /// not count). An unconverged lambda that did not stop there stopped at the floor of the
    /// inner accuracy.
    fn stopped_at_max_iter(&self) -> bool {
        false
    }
}

impl<D: crate::design::Design> PathSolver for GaussianSolver<'_, D> {
    fn solve(&mut self, lambda: f64, lambda_prev: f64) -> FitInfo {
        GaussianSolver::solve(self, lambda, lambda_prev)
    }
    fn lambdas_after(&mut self, after: &[f64]) {
        self.lambdas_after = Some(after.to_vec());
    }
    fn lambda_max(&self) -> f64 {
        GaussianSolver::lambda_max(self)
    }
    fn null_deviance(&self) -> f64 {
        self.yty()
    }
    fn deviance(&self) -> f64 {
        self.rss()
    }
    fn coefficients(&self) -> &[f64] {
        &self.b
    }
    fn intercept(&self) -> f64 {
        0.0
    }
    fn stopped_at_max_iter(&self) -> bool {
        self.at_max_iter
    }
}

impl<D: crate::design::Design> PathSolver for LogisticSolver<'_, D> {
    fn solve(&mut self, lambda: f64, lambda_prev: f64) -> FitInfo {
        LogisticSolver::solve(self, lambda, lambda_prev)
    }
    fn lambda_max(&self) -> f64 {
        LogisticSolver::lambda_max(self)
    }
    fn null_deviance(&self) -> f64 {
        LogisticSolver::null_deviance(self)
    }
    fn deviance(&self) -> f64 {
        LogisticSolver::deviance(self)
    }
    fn coefficients(&self) -> &[f64] {
        &self.b
    }
    fn intercept(&self) -> f64 {
        self.b0
    }
    fn stopped_at_max_iter(&self) -> bool {
        self.at_max_iter
    }
}

/// A path in solver units, as [`trace_path`] produced it.
struct Traced {
    lambda_max: f64,
    null_deviance: f64,
    lambdas: Vec<f64>,
    /// Per lambda, the nonzero coefficients as (feature, value) in feature order: a wide path
    /// holds its models in the size of their supports, not of `p` per lambda.
    coefs: Vec<Vec<(usize, f64)>>,
    solver_intercepts: Vec<f64>,
    dev_ratio: Vec<f64>,
    infos: Vec<FitInfo>,
    /// Per lambda, whether its solve stopped at `max_iter` passes.
    at_max_iter: Vec<bool>,
    warnings: Vec<String>,
}

/// Limits on the size of the models along a path (see [`ElasticNetParams::dfmax`] and
/// [`ElasticNetParams::pmax`]), `pmax` resolved to its default.
#[derive(Clone, Copy, Debug)]
struct SizeLimits {
    dfmax: Option<usize>,
    pmax: Option<usize>,
}

impl SizeLimits {
    fn of(params: &ElasticNetParams, p: usize) -> Self {
        SizeLimits {
            dfmax: params.dfmax,
            pmax: params.pmax.or(params
                .dfmax
                .map(|d| d.saturating_mul(2).saturating_add(20).min(p))),
        }
    }
}

/// Solves along `lambdas` with warm starts, applying glmnet's early stops: on default grids,
/// explained deviance above 0.999, or (from the 5th lambda on) a change below 1e-5, relative
/// for gaussian and absolute for binomial, or (from the 5th lambda on) more than `dfmax`
/// nonzero coefficients; on any grid, more than `pmax` coefficients ever nonzero (that lambda
/// is left out). `labels`: a binomial response of 0/1 labels, whose classes an explained
/// deviance above 0.999 says are (nearly) separable.
fn trace_path<S: PathSolver + ?Sized>(
    solver: &mut S,
    family: Family,
    labels: bool,
    lambdas: Vec<f64>,
    user_grid: bool,
    limits: SizeLimits,
    observer: &(dyn Fn(Progress) + Sync),
) -> Traced {
    let lambda_max = solver.lambda_max();
    let null_deviance = solver.null_deviance();
    let mut t = Traced {
        lambda_max,
        null_deviance,
        lambdas,
        coefs: Vec::new(),
        solver_intercepts: Vec::new(),
        dev_ratio: Vec::new(),
        infos: Vec::new(),
        at_max_iter: Vec::new(),
        warnings: Vec::new(),
    };
    let total = t.lambdas.len();
    let mut prev = lambda_max.max(t.lambdas[0]);
    // features ever nonzero, tracked only for pmax
    let tracked = limits.pmax.map_or(0, |_| solver.coefficients().len());
    let mut ever = vec![false; tracked];
    for k in 0..total {
        let lam = t.lambdas[k];
        // a deviance that stalled before the 5th lambda will most likely stop the path there
        let stalling = !user_grid && (2..=4).contains(&k) && {
            let (dr, last) = (t.dev_ratio[k - 1], t.dev_ratio[k - 2]);
            stalled(family, dr - last, dr)
        };
        let after = total - k - 1;
        let after = if stalling { after.min(4 - k) } else { after };
        solver.lambdas_after(&t.lambdas[k + 1..k + 1 + after]);
        let info = solver.solve(lam, prev);
        prev = lam;
        let b = solver.coefficients();
        // the counts cost O(p) per lambda: only when a limit asks for them (`ever` is empty
        // without pmax)
        for (e, v) in ever.iter_mut().zip(b) {
            *e |= *v != 0.0;
        }
        let ever_count = ever.iter().filter(|e| **e).count();
        if let Some(pmax) = limits.pmax.filter(|&m| ever_count > m) {
            t.warnings.push(format!(
                "path stopped before lambda #{} = {lam:.4e}: {ever_count} coefficients have been \
                 nonzero along the path, more than pmax = {pmax}",
                k + 1
            ));
            break;
        }
        t.infos.push(info);
        t.at_max_iter.push(solver.stopped_at_max_iter());
        let support: Vec<(usize, f64)> = b
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(j, &v)| (j, v))
            .collect();
        let df = support.len();
        t.coefs.push(support);
        t.solver_intercepts.push(solver.intercept());
        let dr = 1.0 - solver.deviance() / null_deviance.max(f64::MIN_POSITIVE);
        t.dev_ratio.push(dr);
        observer(Progress::Lambda { done: k + 1, total });
        let may_stop = !user_grid && k + 1 < total;
        if dr > 0.999 {
            // with proportions an explained deviance near 1 is a close fit, not separation
            if family == Family::Binomial && labels {
                t.warnings.push(format!(
                    "the classes are (nearly) separable: {dr:.4} of the deviance is explained \
                     at lambda = {lam:.4e}; penalized coefficients are held finite only by the \
                     penalty"
                ));
            }
            if may_stop {
                t.warnings.push(format!(
                    "path stopped after {} of {total} lambdas: {dr:.4} of the deviance is explained",
                    k + 1
                ));
                break;
            }
        }
        // the size the caller asked for: a stop like the deviance rule's, without a warning
        if limits.dfmax.is_some_and(|m| may_stop && k >= 4 && df > m) {
            break;
        }
        if may_stop && k >= 4 && stalled(family, dr - t.dev_ratio[k - 1], dr) {
            break;
        }
    }
    t.lambdas.truncate(t.coefs.len());
    t
}

/// glmnet's stall rule: the explained deviance `dr` rose by `change` since the previous
/// lambda, less than `1e-5` relative (least squares) or absolute (logistic regression).
fn stalled(family: Family, change: f64, dr: f64) -> bool {
    match family {
        Family::Gaussian => change < 1e-5 * dr,
        Family::Binomial => change < 1e-5,
    }
}

fn resolve_grid(
    params: &ElasticNetParams,
    over: Option<&[f64]>,
    lambda_max: f64,
    n: usize,
    p: usize,
) -> Result<Vec<f64>> {
    if let Some(l) = over {
        return Ok(l.to_vec());
    }
    if params.lambda.is_none() && !(lambda_max > 0.0) {
        return Err(Error::InvalidData(
            "lambda_max is 0: no penalized feature varies or is correlated with the response, \
             so the default lambda grid is empty; pass lambda values explicitly"
                .into(),
        ));
    }
    Ok(lambda_grid(params, lambda_max, n, p))
}

impl LinearPath {
    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.coefs.ncols()
    }

    /// Coefficients and intercept at any `lambda`: exact on the grid, linearly interpolated
    /// in `lambda` between grid points (glmnet `predict(..., exact = FALSE)`), clamped to the
    /// ends of the path outside it.
    pub fn coef_at(&self, lambda: f64) -> (f64, Array1<f64>) {
        interpolate(
            &self.lambdas,
            &self.intercepts,
            |i| self.coefs.row(i).to_owned(),
            lambda,
        )
    }

    /// Linear predictor `b0 + X b` at path index `k`. A path fitted with an offset needs
    /// the rows' offsets: see [`Self::linear_predictor_with_offset`].
    pub fn linear_predictor(&self, x: ArrayView2<f64>, k: usize) -> Result<Array1<f64>> {
        self.linear_predictor_with_offset(x, k, None)
    }

    /// Linear predictor `offset + b0 + X b` at path index `k`. `offset` must be given
    /// (one value per row) exactly when the path was fitted with one (as glmnet's
    /// `newoffset`).
    pub fn linear_predictor_with_offset(
        &self,
        x: ArrayView2<f64>,
        k: usize,
        offset: Option<ArrayView1<f64>>,
    ) -> Result<Array1<f64>> {
        self.check_x(&x)?;
        let eta = x.dot(&self.coefs.row(k)) + self.intercepts[k];
        add_offset(eta, offset, self.offset)
    }

    /// Predictions at path index `k`: the mean response (`eta` for gaussian, probability of
    /// class 1 for binomial). A path fitted with an offset needs the rows' offsets: see
    /// [`Self::predict_with_offset`].
    pub fn predict(&self, x: ArrayView2<f64>, k: usize) -> Result<Array1<f64>> {
        self.predict_with_offset(x, k, None)
    }

    /// [`Self::predict`] with the rows' offsets, which must be given exactly when the path
    /// was fitted with an offset.
    pub fn predict_with_offset(
        &self,
        x: ArrayView2<f64>,
        k: usize,
        offset: Option<ArrayView1<f64>>,
    ) -> Result<Array1<f64>> {
        let eta = self.linear_predictor_with_offset(x, k, offset)?;
        Ok(self.family.mean(eta))
    }

    fn check_x(&self, x: &ArrayView2<f64>) -> Result<()> {
        if x.ncols() != self.n_features() {
            return Err(Error::ShapeMismatch {
                op: "predict",
                expected: format!("{} features", self.n_features()),
                got: format!("{}", x.ncols()),
            });
        }
        check_range_2d(x)
    }
}

/// `eta + offset`, checking that an offset is given exactly when the model was fitted with
/// one (`fitted_with`) and that it has one value per row within [`MAX_ABS_VALUE`].
pub(crate) fn add_offset(
    mut eta: Array1<f64>,
    offset: Option<ArrayView1<f64>>,
    fitted_with: bool,
) -> Result<Array1<f64>> {
    match (offset, fitted_with) {
        (None, false) => Ok(eta),
        (None, true) => Err(Error::param(
            "offset",
            "none",
            "the model was fitted with an offset: give the new rows' offsets",
        )),
        (Some(_), false) => Err(Error::param(
            "offset",
            "given",
            "the model was fitted without an offset",
        )),
        (Some(o), true) => {
            check_offset(o, eta.len())?;
            eta += &o;
            Ok(eta)
        }
    }
}

/// Intercept and coefficients at `lambda` on a decreasing `lambda` sequence: exact on grid
/// points, linear in `lambda` between them, clamped to the ends.
pub(crate) fn interpolate(
    lambdas: &[f64],
    intercepts: &[f64],
    row: impl Fn(usize) -> Array1<f64>,
    lambda: f64,
) -> (f64, Array1<f64>) {
    let k = lambdas.len();
    if lambda >= lambdas[0] || k == 1 {
        return (intercepts[0], row(0));
    }
    if lambda <= lambdas[k - 1] {
        return (intercepts[k - 1], row(k - 1));
    }
    // lambdas decrease: find i with lambdas[i] >= lambda > lambdas[i+1]
    let i = (0..k - 1)
        .find(|&i| lambdas[i] >= lambda && lambda > lambdas[i + 1])
        .unwrap_or(k - 2);
    let f = (lambdas[i] - lambda) / (lambdas[i] - lambdas[i + 1]);
    (
        intercepts[i] * (1.0 - f) + intercepts[i + 1] * f,
        row(i) * (1.0 - f) + row(i + 1) * f,
    )
}

/// Objective of the model at `(b0, b)` on the original scale, as [`fit_path`] defines it,
/// computed directly from the data (used to verify solutions independently of the solver).
pub fn objective(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
    lambda: f64,
    b0: f64,
    b: ArrayView1<f64>,
) -> Result<f64> {
    let Checked { w, prep, .. } = check_inputs(&x, &y, weights.as_ref(), params)?;
    let pen = solver_penalty(params, &prep)?;
    let mut eta = x.dot(&b) + b0;
    if let Some(o) = &params.offset {
        eta += &ArrayView1::from(o.as_slice());
    }
    let loss: f64 = match params.family {
        Family::Gaussian => eta
            .iter()
            .zip(y.iter())
            .zip(&w)
            .map(|((e, y), w)| 0.5 * w * (y - e) * (y - e))
            .sum(),
        Family::Binomial => eta
            .iter()
            .zip(y.iter())
            .zip(&w)
            .map(|((e, y), w)| w * (crate::datafit::log1pexp(*e) - y * e))
            .sum(),
    };
    let b_std: Vec<f64> = (0..b.len()).map(|j| b[j] * prep.x_scale[j]).collect();
    Ok(loss + pen.value(lambda, &b_std))
}

/// The exact `lambda_max` of the data: the smallest `lambda` at which every penalized
/// coefficient is zero (for `alpha = 0`, the value at `alpha = 0.001`, as glmnet).
pub fn lambda_max(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
) -> Result<f64> {
    let mut probe = params.clone();
    probe.lambda = Some(vec![f64::MAX]);
    let c = check_inputs(&x, &y, weights.as_ref(), &probe)?;
    Ok(fit_prepared(&x, &c.y(y), &c.w, &c.prep, &probe, None, None, &|_| {})?.lambda_max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::Certificate;

    #[test]
    fn balanced_class_weights_give_both_classes_the_same_weight() {
        let y = ndarray::arr1(&[0.0, 0.0, 0.0, 1.0]);
        let w = balanced_class_weights(y.view(), None).unwrap();
        assert_eq!(w.to_vec(), vec![4.0 / 6.0, 4.0 / 6.0, 4.0 / 6.0, 2.0]);
        // with given weights the classes' weights are balanced: W_0 = 3, W_1 = 1, W = 4
        let given = ndarray::arr1(&[1.0, 0.0, 2.0, 1.0]);
        let w = balanced_class_weights(y.view(), Some(given.view())).unwrap();
        assert_eq!(w.to_vec(), vec![4.0 / 6.0, 0.0, 2.0 * (4.0 / 6.0), 2.0]);
        let class_total = |c: f64| -> f64 {
            w.iter()
                .zip(&y)
                .filter(|(_, &v)| v == c)
                .map(|(a, _)| a)
                .sum()
        };
        assert!((class_total(0.0) - class_total(1.0)).abs() < 1e-15);
        let bad = |y: &[f64], w: Option<&[f64]>| {
            let y = ndarray::arr1(y);
            let w = w.map(ndarray::arr1);
            balanced_class_weights(y.view(), w.as_ref().map(|w| w.view()))
                .unwrap_err()
                .to_string()
        };
        assert!(bad(&[0.0, 2.0], None).contains("row 1 has 2"));
        assert!(bad(&[1.0, 1.0], None).contains("single class"));
        assert!(bad(&[0.0, 1.0], Some(&[1.0, 0.0])).contains("single class"));
        assert!(bad(&[0.0, 1.0], Some(&[1.0, -1.0])).contains("row 1 has -1"));
        assert!(bad(&[0.0, 1.0], Some(&[1.0])).contains("weights"));
        assert!(bad(&[0.0, 1.0], Some(&[f64::MAX, f64::MAX])).contains("sum to inf"));
    }

    /// A path solver whose explained deviance follows a given sequence, recording what the
    /// path tells it about the lambdas to come.
    struct Scripted {
        dev_ratio: Vec<f64>,
        solved: usize,
        told: Vec<usize>,
        b: Vec<f64>,
    }

    impl PathSolver for Scripted {
        fn solve(&mut self, _lambda: f64, _lambda_prev: f64) -> FitInfo {
            self.solved += 1;
            FitInfo::from_parts(Certificate::DualityGap, 0.0, 1.0, 0.0, 1.0)
        }
        fn lambdas_after(&mut self, after: &[f64]) {
            self.told.push(after.len());
        }
        fn lambda_max(&self) -> f64 {
            1.0
        }
        fn null_deviance(&self) -> f64 {
            1.0
        }
        fn deviance(&self) -> f64 {
            1.0 - self.dev_ratio[self.solved - 1]
        }
        fn coefficients(&self) -> &[f64] {
            &self.b
        }
        fn intercept(&self) -> f64 {
            0.0
        }
    }

    fn told(dev_ratio: &[f64], user_grid: bool) -> (Vec<usize>, usize) {
        let mut s = Scripted {
            dev_ratio: dev_ratio.to_vec(),
            solved: 0,
            told: Vec::new(),
            b: vec![0.0; 3],
        };
        let lambdas: Vec<f64> = (0..dev_ratio.len())
            .map(|k| 0.9f64.powi(k as i32))
            .collect();
        let limits = SizeLimits {
            dfmax: None,
            pmax: None,
        };
        let t = trace_path(
            &mut s,
            Family::Gaussian,
            false,
            lambdas,
            user_grid,
            limits,
            &|_| {},
        );
        (s.told, t.lambdas.len())
    }

    /// Before each solve the path says how many lambdas it expects after it: those left on
    /// the grid, or once the explained deviance has stalled before the 5th lambda, those up
    /// to the 5th, where glmnet's stall rule then stops it.
    #[test]
    fn the_path_expects_a_stalled_deviance_to_stop_it_at_the_fifth_lambda() {
        let rising: Vec<f64> = (0..10).map(|k| 0.5 + 0.04 * k as f64).collect();
        assert_eq!(told(&rising, false), ((0..10).rev().collect(), 10));
        let flat = vec![0.9; 10];
        assert_eq!(told(&flat, false), (vec![9, 8, 2, 1, 0], 5));
        // a stall from the second lambda on
        let mut late = rising.clone();
        let second = late[1];
        late[2..].fill(second);
        assert_eq!(told(&late, false), (vec![9, 8, 7, 1, 0], 5));
        // a user's grid is never cut short
        assert_eq!(told(&flat, true), ((0..10).rev().collect(), 10));
    }
}
