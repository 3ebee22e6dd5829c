//! K-fold cross-validation of a regularization path, following `cv.glmnet`.
//!
//! 1. The path is fitted on all data; its `lambda` sequence is the one reported.
//! 2. Each fold's model is fitted on the other folds (in parallel) and predicts its rows at
//!    every full-data `lambda`. As in cv.glmnet, a fold fits its own default grid when the
//!    user gave no `lambda` values, and its coefficients are linearly interpolated in
//!    `lambda` (clamped at the ends of its path); user-given values are used in every fold.
//!    With an offset ([`ElasticNetParams::offset`]) a fold fits with its training rows'
//!    offsets and predicts with its held-out rows' own.
//! 3. Per fold, the weighted mean of the per-observation loss is taken ("grouped" CV; with
//!    fewer than 3 observations per fold the per-observation values are used instead).
//! 4. `cvm` is the weighted mean over folds (weights: each fold's total observation weight),
//!    `cvsd = sqrt( weighted mean of (cv_k - cvm)^2 / (K - 1) )`.
//! 5. `lambda_min` is the largest `lambda` attaining the minimum of `cvm` (the maximum for
//!    AUC); `lambda_1se` the largest `lambda` with `cvm <= cvm[min] + cvsd[min]`.

use crate::linear::{
    check_inputs, fit_prepared, ElasticNetParams, Family, LinearPath, Prepared, Progress,
};
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Loss measured on held-out rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Mean squared error of the mean response. For binomial, cv.glmnet scores the
    /// two-column indicator response, so the loss is `2 (y - p)^2`; regml does the same.
    Mse,
    /// Mean absolute error (`2 |y - p|` for binomial, as cv.glmnet).
    Mae,
    /// Deviance: squared error for gaussian, `-2 log-likelihood` for binomial (probabilities
    /// clamped to `[1e-5, 1 - 1e-5]` as cv.glmnet does).
    Deviance,
    /// Misclassification rate (class 1 when the probability exceeds 0.5); binomial only.
    Class,
    /// Area under the ROC curve (maximized); binomial only, computed per fold.
    Auc,
}

impl Measure {
    /// Name as printed and accepted on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Mse => "mse",
            Measure::Mae => "mae",
            Measure::Deviance => "deviance",
            Measure::Class => "class",
            Measure::Auc => "auc",
        }
    }

    /// Long name as in glmnet's printouts.
    pub fn description(self) -> &'static str {
        match self {
            Measure::Mse => "Mean-Squared Error",
            Measure::Mae => "Mean Absolute Error",
            Measure::Deviance => "Deviance",
            Measure::Class => "Misclassification Error",
            Measure::Auc => "AUC",
        }
    }

    /// cv.glmnet's default: mse for gaussian, deviance for binomial.
    pub fn default_for(family: Family) -> Self {
        match family {
            Family::Gaussian => Measure::Mse,
            Family::Binomial => Measure::Deviance,
        }
    }
}

impl std::str::FromStr for Measure {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "mse" => Measure::Mse,
            "mae" => Measure::Mae,
            "deviance" => Measure::Deviance,
            "class" => Measure::Class,
            "auc" => Measure::Auc,
            _ => {
                return Err(Error::param(
                    "measure",
                    s,
                    "must be one of mse, mae, deviance, class, auc",
                ))
            }
        })
    }
}

/// Cross-validation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvParams {
    /// Number of folds (default 10, at least 3).
    pub nfolds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// User-given fold of each row (values `0..K`); overrides `nfolds`, `seed` and
    /// `stratify`.
    pub foldid: Option<Vec<usize>>,
    /// Binomial: draw the folds within each class (see [`make_stratified_folds`]), so that
    /// every fold holds both classes in the proportions of the data, as scikit-learn's
    /// `StratifiedKFold` does for classifiers (default true). `false` draws them ignoring the
    /// labels, as cv.glmnet does ([`make_folds`]). Least squares, and a binomial target of
    /// proportions (any label other than 0 and 1), always use `make_folds`.
    #[serde(default = "stratify_default")]
    pub stratify: bool,
    /// Loss; `None` picks [`Measure::default_for`]. With fewer than 10 rows per fold,
    /// [`Measure::Auc`] becomes [`Measure::Deviance`] with a warning, as in cv.glmnet.
    pub measure: Option<Measure>,
    /// Keep the prevalidated predictions in [`CvResult::preval`] (cv.glmnet's `keep`). They
    /// take `8 n nlambda` bytes; without `keep` no such matrix is formed.
    #[serde(default)]
    pub keep: bool,
}

impl Default for CvParams {
    fn default() -> Self {
        CvParams {
            nfolds: 10,
            seed: 0,
            foldid: None,
            stratify: true,
            measure: None,
            keep: false,
        }
    }
}

/// Serde default of [`CvParams::stratify`].
fn stratify_default() -> bool {
    true
}

/// Result of [`cv_path`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvResult {
    /// Path fitted on all rows.
    pub path: LinearPath,
    /// Measure used.
    pub measure: Measure,
    /// Mean cross-validated loss per `lambda`.
    pub cvm: Vec<f64>,
    /// Standard error of `cvm` per `lambda`.
    pub cvsd: Vec<f64>,
    /// `lambda` with the best `cvm` (largest such).
    pub lambda_min: f64,
    /// Largest `lambda` within one standard error of the best.
    pub lambda_1se: f64,
    /// Path index of `lambda_min`.
    pub index_min: usize,
    /// Path index of `lambda_1se`.
    pub index_1se: usize,
    /// Fold of each row (`0..K`).
    pub foldid: Vec<usize>,
    /// Number of folds.
    pub nfolds: usize,
    /// Whether losses were averaged per fold first (cv.glmnet `grouped`).
    pub grouped: bool,
    /// Warnings from the full fit and the folds.
    pub warnings: Vec<String>,
    /// Prevalidated predictions (cv.glmnet's `fit.preval`), present when [`CvParams::keep`]
    /// asked for them: row `i` holds the predictions for observation `i` by the fit that left
    /// its fold out, one column per `lambda`, on the response scale (means; probabilities for
    /// binomial).
    #[serde(default)]
    pub preval: Option<Array2<f64>>,
}

/// Assigns `n` rows to `k` folds: `0, 1, .., k-1, 0, 1, ..` shuffled by a seeded ChaCha8.
pub fn make_folds(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut f: Vec<usize> = (0..n).map(|i| i % k).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    f.shuffle(&mut rng);
    f
}

/// Assigns rows to `k` folds within each class: `classes[i]` is row `i`'s class. The rows of
/// each class (classes in increasing order) are shuffled by a seeded ChaCha8 and dealt to
/// folds `0, 1, .., k-1, 0, 1, ..`, each class continuing where the one before it stopped.
/// A class of `m` rows thus puts `floor(m / k)` or `ceil(m / k)` rows in every fold, and
/// the folds' sizes differ by at most one, as with [`make_folds`].
pub fn make_stratified_folds(classes: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by_key(|&i| classes[i]);
    let mut f = vec![0; classes.len()];
    let mut dealt = 0;
    for rows in order.chunk_by_mut(|&a, &b| classes[a] == classes[b]) {
        rows.shuffle(&mut rng);
        for &i in rows.iter() {
            f[i] = dealt % k;
            dealt += 1;
        }
    }
    f
}

/// Weighted area under the ROC curve of scores `s` for labels `y` (ties count one half). A
/// label in `(0, 1)`, a proportion of positives, makes its row a positive of weight `w y` and a
/// negative of weight `w (1 - y)` at the same score (cv.glmnet's `auc.mat` for counts); 0/1
/// labels are the plain case.
pub fn auc(y: &[f64], s: &[f64], w: &[f64]) -> f64 {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
    // (positive, negative) weight of row i
    let split = |i: usize| (w[i] * y[i], w[i] * (1.0 - y[i]));
    let (mut pos_total, mut neg_total) = (0.0, 0.0);
    for i in 0..y.len() {
        let (a, b) = split(i);
        pos_total += a;
        neg_total += b;
    }
    if pos_total <= 0.0 || neg_total <= 0.0 {
        return f64::NAN;
    }
    // walk tie groups in increasing score: each positive beats the negatives below it
    let (mut neg_below, mut acc) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        let (mut pos_grp, mut neg_grp) = (0.0, 0.0);
        while j < idx.len() && s[idx[j]] == s[idx[i]] {
            let (a, b) = split(idx[j]);
            pos_grp += a;
            neg_grp += b;
            j += 1;
        }
        acc += pos_grp * (neg_below + 0.5 * neg_grp);
        neg_below += neg_grp;
        i = j;
    }
    acc / (pos_total * neg_total)
}

/// The measures of fitted means `mu` (probabilities for binomial) against responses `y` with
/// weights `w`, as glmnet's `assess.glmnet` reports them for a test set: mse and mae for
/// least squares; deviance, class, auc, mse and mae for binomial (labels or proportions).
/// Each is the weighted mean of the per-row loss that cross-validation uses (binomial mse and
/// mae on the two-column response, `2 (y - p)^2` and `2 |y - p|`; deviance from the saturated
/// model with `p` clamped to `[1e-5, 1 - 1e-5]`), AUC the weighted area of [`auc`]. A measure
/// with no weight (or AUC without both classes) is NaN.
pub fn assess(family: Family, y: &[f64], mu: &[f64], w: &[f64]) -> Vec<(Measure, f64)> {
    let measures: &[Measure] = match family {
        Family::Gaussian => &[Measure::Mse, Measure::Mae],
        Family::Binomial => &[
            Measure::Deviance,
            Measure::Class,
            Measure::Auc,
            Measure::Mse,
            Measure::Mae,
        ],
    };
    let total: f64 = w.iter().sum();
    measures
        .iter()
        .map(|&m| {
            let v = if m == Measure::Auc {
                auc(y, mu, w)
            } else if total > 0.0 {
                let s: f64 = (0..y.len())
                    .map(|i| w[i] * loss(m, family, y[i], mu[i]))
                    .sum();
                s / total
            } else {
                f64::NAN
            };
            (m, v)
        })
        .collect()
}

fn loss(measure: Measure, family: Family, y: f64, mu: f64) -> f64 {
    match (measure, family) {
        (Measure::Mse, Family::Gaussian) | (Measure::Deviance, Family::Gaussian) => {
            (y - mu) * (y - mu)
        }
        (Measure::Mse, Family::Binomial) => 2.0 * (y - mu) * (y - mu),
        (Measure::Mae, Family::Gaussian) => (y - mu).abs(),
        (Measure::Mae, Family::Binomial) => 2.0 * (y - mu).abs(),
        (Measure::Deviance, Family::Binomial) => {
            // from the saturated model's log-likelihood y ln y + (1 - y) ln(1 - y), 0 for a
            // 0/1 label (cv.glmnet's `ly`; labels skip its logarithm, called per row and lambda)
            let p = mu.clamp(1e-5, 1.0 - 1e-5);
            let saturated = if y == 0.0 || y == 1.0 {
                0.0
            } else {
                crate::vmath::neg_entropy(y)
            };
            2.0 * (saturated - (y * p.ln() + (1.0 - y) * (1.0 - p).ln()))
        }
        (Measure::Class, _) => {
            // the share of the row's weight on the other side of 0.5: 0 or 1 for a 0/1 label
            if mu > 0.5 {
                1.0 - y
            } else {
                y
            }
        }
        (Measure::Auc, _) => f64::NAN,
    }
}

/// Gram matrices of least-squares folds by downdating: with a shift `c` (the weighted column
/// means of all rows) and `S = sum_i w_i (x_i - c)(x_i - c)'` over all rows, a fold's training
/// rows `T` have `S_T = S - S_V` (`V` its held-out rows), and its transformed design (centered
/// at its own means `m`, columns scaled by `f_j`, rows by `sqrt(w_i / W_T)`, `W_T` the
/// training weight) has the Gram matrix
///
/// ```text
/// G_jk = f_j f_k (S_T,jk - W_T d_j d_k) / W_T,    d = m - c.
/// ```
///
/// `S_V` costs `|V| p^2 / 2` multiply-adds against `|T| p^2 / 2` for `G` from `X`. Centering at
/// the mean of all rows keeps `d` small (a fold's means differ from it by about a standard
/// deviation over `sqrt(|T|)`), so the subtraction loses little to cancellation.
struct FoldGram {
    shift: Vec<f64>,
    all: Vec<f64>,
}

impl FoldGram {
    /// `S` of the column-major `x` with row weights `w` (`None` for a layout that is not
    /// column-major).
    fn new(x: &ArrayView2<f64>, w: &[f64]) -> Option<Self> {
        let (n, p) = x.dim();
        let data = x.t().to_slice()?;
        let total: f64 = w.iter().sum();
        let shift: Vec<f64> = (0..p)
            .map(|j| crate::kernels::dot(&data[j * n..(j + 1) * n], w) / total)
            .collect();
        let all = shifted_gram(data, n, &shift, w)?;
        Some(FoldGram { shift, all })
    }

    /// The fold's Gram matrix from its held-out rows `xv` (column-major) with weights `wv`,
    /// its training weight `train_weight` and its standardization `prep`.
    fn fold(
        &self,
        xv: &Array2<f64>,
        wv: &[f64],
        train_weight: f64,
        prep: &Prepared,
    ) -> Option<Vec<f64>> {
        let p = self.shift.len();
        let data = xv.t().to_slice()?;
        let mut g = shifted_gram(data, xv.nrows(), &self.shift, wv)?;
        let f = prep.column_factors();
        let d: Vec<f64> = (0..p).map(|j| prep.x_mean[j] - self.shift[j]).collect();
        for k in 0..p {
            for j in k..p {
                let t = self.all[k * p + j] - g[k * p + j] - train_weight * d[j] * d[k];
                let v = f[j] * f[k] * t / train_weight;
                g[k * p + j] = v;
                g[j * p + k] = v;
            }
        }
        Some(g)
    }
}

/// `sum_i w_i (x_i - shift)(x_i - shift)'` of the `n` rows of the column-major `data`.
fn shifted_gram(data: &[f64], n: usize, shift: &[f64], w: &[f64]) -> Option<Vec<f64>> {
    use crate::design::Design;
    let p = shift.len();
    let sw: Vec<f64> = w.iter().map(|v| v.sqrt()).collect();
    let d = crate::design::TransformedDense::new(data, n, shift.to_vec(), vec![1.0; p], Some(&sw))?;
    let all: Vec<usize> = (0..p).collect();
    let mut out = vec![0.0; p * p];
    d.gram_square(&all, &mut out, &mut Vec::new());
    Some(out)
}

/// The rows `rows` of `x`, in `x`'s layout when it is column-major (the layout a fit reads in
/// place), row-major otherwise.
fn select_rows(x: &ArrayView2<f64>, rows: &[usize]) -> Array2<f64> {
    if !x.t().is_standard_layout() {
        return x.select(Axis(0), rows);
    }
    use ndarray::ShapeBuilder;
    let mut out = Array2::zeros((rows.len(), x.ncols()).f());
    for (mut dst, src) in out.columns_mut().into_iter().zip(x.columns()) {
        dst.iter_mut().zip(rows).for_each(|(d, &i)| *d = src[i]);
    }
    out
}

/// Cross-validates the path described by `params`.
pub fn cv_path(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
    cv: &CvParams,
) -> Result<CvResult> {
    cv_path_observed(x, y, weights, params, cv, &|_| {})
}

/// [`cv_path`], calling `observer` with [`Progress::Lambda`] after each lambda of the fit on
/// all rows (which comes first) and with [`Progress::Fold`] after each fold.
pub fn cv_path_observed(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
    cv: &CvParams,
    observer: &(dyn Fn(Progress) + Sync),
) -> Result<CvResult> {
    let n = x.nrows();
    let w_raw: Vec<f64> = weights
        .as_ref()
        .map(|w| w.to_vec())
        .unwrap_or_else(|| vec![1.0; n]);
    let measure = cv.measure.unwrap_or(Measure::default_for(params.family));
    if params.family == Family::Gaussian && matches!(measure, Measure::Class | Measure::Auc) {
        return Err(Error::param(
            "measure",
            measure.name(),
            "class and auc need family binomial",
        ));
    }
    let foldid = match &cv.foldid {
        Some(f) => {
            if f.len() != n {
                return Err(Error::ShapeMismatch {
                    op: "foldid",
                    expected: format!("{n} fold ids"),
                    got: format!("{}", f.len()),
                });
            }
            f.clone()
        }
        None => {
            if cv.nfolds < 3 {
                return Err(Error::param("nfolds", cv.nfolds, "must be at least 3"));
            }
            if cv.nfolds > n {
                return Err(Error::param(
                    "nfolds",
                    cv.nfolds,
                    format!("must not exceed the number of rows ({n})"),
                ));
            }
            let labels = y.iter().all(|&v| v == 0.0 || v == 1.0);
            if cv.stratify && params.family == Family::Binomial && labels {
                let classes: Vec<usize> = y.iter().map(|&v| usize::from(v > 0.5)).collect();
                // a class of one row leaves the fold that holds it with a single class to
                // train on (a class of two or more has a row outside every fold)
                let rows_of = |c: usize| {
                    classes
                        .iter()
                        .zip(&w_raw)
                        .filter(|(&k, &w)| k == c && w > 0.0)
                        .count()
                };
                if let Some(c) = (0..2).find(|&c| rows_of(c) == 1) {
                    return Err(Error::InvalidData(format!(
                        "class {c} has a single row of positive weight: the fold that holds it \
                         would train on the other class alone; cross-validation needs at least \
                         two rows of each class"
                    )));
                }
                make_stratified_folds(&classes, cv.nfolds, cv.seed)
            } else {
                make_folds(n, cv.nfolds, cv.seed)
            }
        }
    };
    let nfolds = foldid.iter().copied().max().unwrap_or(0) + 1;
    // cv.glmnet: an AUC of fewer than 10 rows per fold says little; it measures deviance
    let auc_dropped = measure == Measure::Auc && n / nfolds.max(1) < 10;
    let measure = if auc_dropped {
        Measure::Deviance
    } else {
        measure
    };
    if nfolds < 3 {
        return Err(Error::param(
            "foldid",
            nfolds,
            "needs at least 3 distinct folds",
        ));
    }
    let mut counts = vec![0usize; nfolds];
    foldid.iter().for_each(|&f| counts[f] += 1);
    if let Some(k) = counts.iter().position(|&c| c == 0) {
        return Err(Error::param(
            "foldid",
            k,
            "fold ids must be 0..K-1 with every fold non-empty",
        ));
    }

    // full fit (least squares with an offset fits y - offset)
    let full = check_inputs(&x, &y, weights.as_ref(), params)?;
    let y_fit = full.y(y);
    let path = fit_prepared(
        &x, &y_fit, &full.w, &full.prep, params, None, None, observer,
    )?;
    // least-squares folds in covariance mode on a transformed design (centered, scaled or
    // weighted) downdate the Gram matrix of all rows, with at most `FULL_GRAM_MAX_P`
    // features (where a fold would compute all of its `X'X` at once)
    let largest_fold = counts.iter().copied().max().unwrap_or(0);
    let p = x.ncols();
    let transformed = !crate::linear::reads_x_as_given(params, &w_raw);
    let fold_gram = (params.family == Family::Gaussian
        && transformed
        && p <= crate::solver::FULL_GRAM_MAX_P
        && crate::solver::gaussian::uses_covariance(
            params.solver.gaussian_mode,
            n - largest_fold,
            p,
        ))
    .then(|| FoldGram::new(&x, &w_raw))
    .flatten();
    let lambdas = path.lambdas.clone();
    let nl = lambdas.len();

    // per-fold (grouped) or per-observation losses
    let grouped = measure == Measure::Auc || n / nfolds >= 3;
    // every fold predicts with its rows' offsets, and scores them against y as given
    let full_offset = params.offset.as_deref();
    // fold fits, in parallel when enabled; each scores its own rows
    let folds_done = std::sync::atomic::AtomicUsize::new(0);
    let fit_fold = |k: usize| -> Result<FoldOutcome> {
        let train: Vec<usize> = (0..n).filter(|&i| foldid[i] != k).collect();
        let test: Vec<usize> = (0..n).filter(|&i| foldid[i] == k).collect();
        let xt = select_rows(&x, &train);
        let yt: Array1<f64> = train.iter().map(|&i| y_fit[i]).collect();
        let wt: Array1<f64> = train.iter().map(|&i| w_raw[i]).collect();
        let fold_err = |e: Error| Error::InvalidData(format!("fold {}: {e}", k + 1));
        // the training rows' offsets; least squares already fits y - offset
        let fold_params = ElasticNetParams {
            offset: match (&params.offset, params.family) {
                (Some(o), Family::Binomial) => Some(train.iter().map(|&i| o[i]).collect()),
                _ => None,
            },
            ..params.clone()
        };
        let params = &fold_params;
        let fold =
            check_inputs(&xt.view(), &yt.view(), Some(&wt.view()), params).map_err(fold_err)?;
        let xv = select_rows(&x, &test);
        let w_test: Vec<f64> = test.iter().map(|&i| w_raw[i]).collect();
        let train_weight: f64 = wt.sum();
        let gram = |prep: &Prepared| {
            fold_gram
                .as_ref()
                .and_then(|g| g.fold(&xv, &w_test, train_weight, prep))
        };
        // cv.glmnet: with a default grid each fold fits its own grid and is evaluated at the
        // full-data lambdas by linear interpolation; user lambdas are used in every fold
        let own_grid = params.lambda.is_none();
        let fold_lambdas = if own_grid {
            None
        } else {
            Some(lambdas.as_slice())
        };
        let fp = fit_prepared(
            &xt.view(),
            &yt.view(),
            &fold.w,
            &fold.prep,
            params,
            fold_lambdas,
            Some(&gram),
            &|_| {},
        )
        .map_err(fold_err)?;
        let test_offset: Option<Array1<f64>> =
            full_offset.map(|o| test.iter().map(|&i| o[i]).collect());
        // the coefficients at every full-data lambda as the columns of one matrix, so that
        // the linear predictors of all lambdas are one matrix product
        let mut coefs = Array2::zeros((x.ncols(), nl));
        let mut b0s = Vec::with_capacity(nl);
        for (l, &lam) in lambdas.iter().enumerate() {
            let (b0, b) = fp.coef_at(lam);
            coefs.column_mut(l).assign(&b);
            b0s.push(b0);
        }
        let mut pred = xv.dot(&coefs);
        for (l, mut col) in pred.columns_mut().into_iter().enumerate() {
            let mut eta = col.to_owned() + b0s[l];
            if let Some(o) = &test_offset {
                eta += o;
            }
            col.assign(&params.family.mean(eta));
        }
        let y_test: Vec<f64> = test.iter().map(|&i| y[i]).collect();
        let row_loss = |r: usize, l: usize| loss(measure, params.family, y_test[r], pred[[r, l]]);
        let scores = if grouped {
            let sw: f64 = w_test.iter().sum();
            let vals = (0..nl)
                .map(|l| {
                    if measure == Measure::Auc {
                        auc(&y_test, &pred.column(l).to_vec(), &w_test)
                    } else {
                        (0..test.len())
                            .map(|r| w_test[r] * row_loss(r, l))
                            .sum::<f64>()
                            / sw
                    }
                })
                .collect();
            vec![(vals, sw)]
        } else {
            (0..test.len())
                .map(|r| ((0..nl).map(|l| row_loss(r, l)).collect(), w_test[r]))
                .collect()
        };
        let warnings = fp
            .warnings
            .iter()
            .map(|w| format!("fold {}: {w}", k + 1))
            .collect();
        let done = folds_done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        observer(Progress::Fold {
            done,
            total: nfolds,
        });
        Ok(FoldOutcome {
            pred: cv.keep.then_some((test, pred)),
            scores,
            warnings,
        })
    };
    #[cfg(feature = "parallel")]
    let folds: Vec<_> = {
        use rayon::prelude::*;
        (0..nfolds).into_par_iter().map(fit_fold).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let folds: Vec<_> = (0..nfolds).map(fit_fold).collect();
    let mut warnings = path.warnings.clone();
    if auc_dropped {
        warnings.push(format!(
            "too few (< 10) observations per fold for measure auc ({n} rows in {nfolds} folds): \
             changed to deviance, as cv.glmnet does; use fewer folds for auc"
        ));
    }
    if !grouped {
        warnings.push(
            "fewer than 3 observations per fold: losses are averaged per observation \
             (cv.glmnet grouped = FALSE)"
                .into(),
        );
    }
    let mut preval = cv.keep.then(|| Array2::zeros((n, nl)));
    // one row of losses per fold (grouped) or per held-out observation, with its weight
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut row_w: Vec<f64> = Vec::new();
    for f in folds {
        let FoldOutcome {
            pred,
            scores,
            warnings: warn,
        } = f?;
        warnings.extend(warn);
        if let (Some(all), Some((test, pred))) = (preval.as_mut(), pred) {
            for (r, &i) in test.iter().enumerate() {
                all.row_mut(i).assign(&pred.row(r));
            }
        }
        for (vals, w) in scores {
            rows.push(vals);
            row_w.push(w);
        }
    }
    let mut cvm = vec![0.0; nl];
    let mut cvsd = vec![0.0; nl];
    for l in 0..nl {
        let (mut sw, mut s, mut cnt) = (0.0, 0.0, 0usize);
        for (r, wr) in rows.iter().zip(&row_w) {
            if r[l].is_finite() {
                sw += wr;
                s += wr * r[l];
                cnt += 1;
            }
        }
        let m = s / sw;
        // the deviations scaled by the largest, so that their squares cannot overflow (a
        // loss may be as large as the square of the data)
        let finite = || {
            rows.iter()
                .zip(&row_w)
                .filter(move |(r, _)| r[l].is_finite())
        };
        let big = finite().fold(0.0f64, |a, (r, _)| a.max((r[l] - m).abs()));
        let v: f64 = if big > 0.0 {
            finite()
                .map(|(r, wr)| wr * ((r[l] - m) / big).powi(2))
                .sum()
        } else {
            0.0
        };
        cvm[l] = m;
        cvsd[l] = if cnt > 1 {
            big * (v / sw / (cnt as f64 - 1.0)).sqrt()
        } else {
            f64::NAN
        };
    }
    let (index_min, index_1se) = select_lambdas(&cvm, &cvsd, measure == Measure::Auc)?;
    let requested = params.lambda.as_ref().map_or(params.nlambda, Vec::len);
    warnings.extend(grid_end_warning(
        &lambdas,
        index_min,
        nl == requested,
        "cross-validated error",
    ));
    Ok(CvResult {
        lambda_min: lambdas[index_min],
        lambda_1se: lambdas[index_1se],
        index_min,
        index_1se,
        path,
        measure,
        cvm,
        cvsd,
        foldid,
        nfolds,
        grouped,
        warnings,
        preval,
    })
}

/// What one fold's fit contributes: its held-out rows and their predictions (only when
/// they are kept), its rows of losses with their weights, and its warnings.
struct FoldOutcome {
    pred: Option<(Vec<usize>, Array2<f64>)>,
    scores: Vec<(Vec<f64>, f64)>,
    warnings: Vec<String>,
}

/// Result of [`cv_alphas`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvAlphasResult {
    /// The mixing values, in the order given.
    pub alphas: Vec<f64>,
    /// One cross-validated path per alpha, all on the same folds.
    pub fits: Vec<CvResult>,
    /// Index of the chosen alpha: the one whose curve reaches the best mean loss (the
    /// smallest; the largest for AUC), the first of equals.
    pub best: usize,
}

/// Cross-validates one path per elastic-net mixing value in `alphas` (each replacing
/// `params.alpha`), all on the same folds, and chooses the alpha whose curve reaches the best
/// `cvm` at its `lambda_min`: scikit-learn's `ElasticNetCV` over `l1_ratio`, glmnetUtils'
/// `cva.glmnet`. The folds are those of `cv` (drawn once from its seed when it gives no fold
/// ids). `observer` hears each alpha's progress in turn (see [`cv_path_observed`]).
pub fn cv_alphas(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    weights: Option<ArrayView1<f64>>,
    params: &ElasticNetParams,
    alphas: &[f64],
    cv: &CvParams,
    observer: &(dyn Fn(Progress) + Sync),
) -> Result<CvAlphasResult> {
    if alphas.is_empty() {
        return Err(Error::param("alphas", "[]", "needs at least one value"));
    }
    let mut fits: Vec<CvResult> = Vec::with_capacity(alphas.len());
    for &alpha in alphas {
        let p = ElasticNetParams {
            alpha,
            ..params.clone()
        };
        // the first fit draws the folds (or takes the caller's); the others reuse them
        let c = match fits.first() {
            Some(first) => CvParams {
                foldid: Some(first.foldid.clone()),
                ..cv.clone()
            },
            None => cv.clone(),
        };
        fits.push(cv_path_observed(x, y, weights, &p, &c, observer)?);
    }
    let score = |r: &CvResult| {
        let v = r.cvm[r.index_min];
        if r.measure == Measure::Auc {
            -v
        } else {
            v
        }
    };
    let mut best = 0;
    for (k, r) in fits.iter().enumerate() {
        if score(r) < score(&fits[best]) {
            best = k;
        }
    }
    Ok(CvAlphasResult {
        alphas: alphas.to_vec(),
        fits,
        best,
    })
}

/// The warning for a best lambda at the small end of a decreasing grid: `best` is the last
/// index, the grid was fitted whole (`complete`: not stopped early, when smaller lambdas
/// would have changed the fit too little to go on) and its last lambda is positive. The
/// `criterion` was then still improving at the end of the grid, and a smaller lambda may do
/// better. `None` otherwise (a best lambda at the large end is the empty model, which larger
/// lambdas do not change).
pub(crate) fn grid_end_warning(
    lambdas: &[f64],
    best: usize,
    complete: bool,
    criterion: &str,
) -> Option<String> {
    let last = lambdas.len().checked_sub(1)?;
    (complete && last > 0 && best == last && lambdas[last] > 0.0).then(|| {
        format!(
            "the best lambda ({:.6e}) is the smallest of the grid: the {criterion} was still \
             improving there, so a smaller lambda may do better; extend the grid to smaller \
             lambdas (a smaller lambda_min_ratio, or explicit lambdas)",
            lambdas[last]
        )
    })
}

/// cv.glmnet's choice on a decreasing `lambda` sequence: indices of `lambda_min` and
/// `lambda_1se`. With `maximize`, the curve is negated first (AUC).
pub fn select_lambdas(cvm: &[f64], cvsd: &[f64], maximize: bool) -> Result<(usize, usize)> {
    let sign = if maximize { -1.0 } else { 1.0 };
    let m: Vec<f64> = cvm.iter().map(|v| sign * v).collect();
    let best = m
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !best.is_finite() {
        return Err(Error::InvalidData(
            "cross-validation produced no finite loss (every fold degenerate)".into(),
        ));
    }
    // lambdas decrease with the index: the largest lambda is the smallest index
    let index_min = m.iter().position(|&v| v <= best).unwrap_or(0);
    let se = if cvsd[index_min].is_finite() {
        cvsd[index_min]
    } else {
        0.0
    };
    let bound = m[index_min] + se;
    let index_1se = m.iter().position(|&v| v <= bound).unwrap_or(index_min);
    Ok((index_min, index_1se))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fold's Gram matrix downdated from all rows equals the sums over its training rows,
    /// `sum_i (w_i / W_T) (x_ij - m_j)(x_ik - m_k) f_j f_k`, with column means far from zero
    /// and a column constant on the training rows (unusable: a zero row and column).
    #[test]
    fn a_fold_gram_downdated_from_all_rows_equals_the_training_rows_sums() {
        use ndarray::ShapeBuilder;
        let (n, p) = (60, 5);
        let x = Array2::from_shape_fn((n, p).f(), |(i, j)| {
            let v = ((i * 7 + j * 13) % 17) as f64 * 0.3 + (i as f64 * (j as f64 + 1.0)).sin();
            match j {
                4 if i % 4 != 1 => 2.5,
                _ => 1e4 * j as f64 + v,
            }
        });
        let y = Array1::from_shape_fn(n, |i| x[[i, 0]] - 0.5 * x[[i, 2]] + (i % 5) as f64);
        let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let test: Vec<usize> = (0..n).filter(|i| i % 4 == 1).collect();
        let train: Vec<usize> = (0..n).filter(|i| i % 4 != 1).collect();
        let xt = select_rows(&x.view(), &train);
        let yt: Array1<f64> = train.iter().map(|&i| y[i]).collect();
        let wt: Array1<f64> = train.iter().map(|&i| w[i]).collect();
        let params = ElasticNetParams::default();
        let fold = check_inputs(&xt.view(), &yt.view(), Some(&wt.view()), &params).unwrap();
        let prep = &fold.prep;
        assert!(!prep.usable[4]);
        let xv = select_rows(&x.view(), &test);
        let wv: Vec<f64> = test.iter().map(|&i| w[i]).collect();
        let g = FoldGram::new(&x.view(), &w)
            .unwrap()
            .fold(&xv, &wv, wt.sum(), prep)
            .unwrap();
        let f = |j: usize| {
            if prep.usable[j] {
                1.0 / prep.x_scale[j]
            } else {
                0.0
            }
        };
        let mut worst: f64 = 0.0;
        for j in 0..p {
            for k in 0..p {
                let direct: f64 = (0..train.len())
                    .map(|r| {
                        wt[r] / wt.sum()
                            * (xt[[r, j]] - prep.x_mean[j])
                            * (xt[[r, k]] - prep.x_mean[k])
                    })
                    .sum::<f64>()
                    * f(j)
                    * f(k);
                worst = worst.max((g[k * p + j] - direct).abs());
                assert_eq!(g[k * p + j], g[j * p + k]);
            }
            assert!(g[j * p + j] > 0.9 || !prep.usable[j], "{}", g[j * p + j]);
        }
        assert!(worst < 1e-10, "{worst}");
        assert_eq!(g[4 * p + 4], 0.0);
    }

    #[test]
    fn auc_counts_pairs() {
        let y = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(auc(&y, &[0.1, 0.2, 0.3, 0.4], &[1.0; 4]), 1.0);
        assert_eq!(auc(&y, &[0.4, 0.3, 0.2, 0.1], &[1.0; 4]), 0.0);
        assert_eq!(auc(&y, &[0.5; 4], &[1.0; 4]), 0.5);
        // one inversion out of four pairs
        assert_eq!(auc(&y, &[0.1, 0.35, 0.3, 0.4], &[1.0; 4]), 0.75);
    }

    /// A proportion `y` with weight `m` counts as `m y` positives and `m (1 - y)` negatives at
    /// its score (cv.glmnet's `auc.mat`); deviance and class error are those of cv.glmnet for
    /// a two-column count matrix.
    #[test]
    fn proportions_count_as_their_positives_and_negatives() {
        let (y, s, w) = (
            [0.25, 1.0, 0.5, 0.0],
            [0.1, 0.4, 0.3, 0.2],
            [4.0, 1.0, 2.0, 1.0],
        );
        // expanded: (score, label) with unit weights
        let mut ey = Vec::new();
        let mut es = Vec::new();
        for i in 0..4 {
            let pos = (y[i] * w[i]) as usize;
            for k in 0..w[i] as usize {
                ey.push(if k < pos { 1.0 } else { 0.0 });
                es.push(s[i]);
            }
        }
        let ones = vec![1.0; ey.len()];
        assert!((auc(&y, &s, &w) - auc(&ey, &es, &ones)).abs() < 1e-15);
        let (y, mu) = (0.25, 0.4);
        let want = 2.0
            * (y * f64::ln(y) + (1.0 - y) * f64::ln(1.0 - y)
                - (y * f64::ln(mu) + (1.0 - y) * f64::ln(1.0 - mu)));
        let got = loss(Measure::Deviance, Family::Binomial, y, mu);
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        assert_eq!(loss(Measure::Class, Family::Binomial, y, 0.6), 0.75);
        assert_eq!(loss(Measure::Class, Family::Binomial, y, 0.5), 0.25);
        assert_eq!(loss(Measure::Class, Family::Binomial, 1.0, 0.5), 1.0);
        assert_eq!(loss(Measure::Class, Family::Binomial, 0.0, 0.5), 0.0);
    }

    #[test]
    fn assess_gives_weighted_means_of_the_cv_losses() {
        let (y, mu, w) = ([1.0, 2.0, 4.0], [1.5, 2.0, 3.0], [1.0, 2.0, 1.0]);
        let m = assess(Family::Gaussian, &y, &mu, &w);
        assert_eq!(
            m,
            vec![(Measure::Mse, 1.25 / 4.0), (Measure::Mae, 1.5 / 4.0)]
        );
        let (y, p, w) = ([0.0, 1.0, 1.0, 0.0], [0.2, 0.7, 0.4, 0.6], [1.0; 4]);
        let m = assess(Family::Binomial, &y, &p, &w);
        let names: Vec<Measure> = m.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                Measure::Deviance,
                Measure::Class,
                Measure::Auc,
                Measure::Mse,
                Measure::Mae
            ]
        );
        // misclassified: rows 2 (p 0.4, label 1) and 3 (p 0.6, label 0); AUC: 3 of 4 pairs
        assert_eq!(m[1].1, 0.5);
        assert_eq!(m[2].1, 0.75);
        let dev = -2.0 * (0.8f64.ln() + 0.7f64.ln() + 0.4f64.ln() + 0.4f64.ln()) / 4.0;
        assert!((m[0].1 - dev).abs() < 1e-15, "{} vs {dev}", m[0].1);
        assert!(assess(Family::Gaussian, &[1.0], &[1.0], &[0.0])[0]
            .1
            .is_nan());
    }

    #[test]
    fn lambda_choice_follows_cv_glmnet() {
        // decreasing lambdas; minimum at index 3, one SE reaches back to index 1
        let cvm = [5.0, 3.0, 2.5, 2.0, 2.2];
        let cvsd = [0.5, 0.5, 0.5, 1.0, 0.5];
        assert_eq!(select_lambdas(&cvm, &cvsd, false).unwrap(), (3, 1));
        let auc = [0.5, 0.7, 0.9, 0.9, 0.8];
        assert_eq!(select_lambdas(&auc, &[0.25; 5], true).unwrap(), (2, 1));
        assert_eq!(select_lambdas(&auc, &[0.05; 5], true).unwrap(), (2, 2));
    }

    #[test]
    fn stratified_folds_keep_each_class_balanced_and_are_seeded() {
        // 23 rows of class 0 and 7 of class 1, interleaved
        let classes: Vec<usize> = (0..30).map(|i| usize::from(i % 4 == 1 && i < 28)).collect();
        assert_eq!(classes.iter().sum::<usize>(), 7);
        let f = make_stratified_folds(&classes, 5, 7);
        let mut c = [[0; 2]; 5];
        f.iter().zip(&classes).for_each(|(&k, &y)| c[k][y] += 1);
        for fold in c {
            assert!(
                (4..=5).contains(&fold[0]) && (1..=2).contains(&fold[1]),
                "{c:?}"
            );
            assert_eq!(fold[0] + fold[1], 6, "{c:?}");
        }
        assert_eq!(f, make_stratified_folds(&classes, 5, 7));
        assert_ne!(f, make_stratified_folds(&classes, 5, 8));
        // one class: the folds of make_folds' sizes
        let mut c = [0; 4];
        make_stratified_folds(&[3; 10], 4, 1)
            .iter()
            .for_each(|&k| c[k] += 1);
        assert_eq!(c, [3, 3, 2, 2]);
    }

    #[test]
    fn folds_are_balanced_and_seeded() {
        let f = make_folds(23, 5, 7);
        let mut c = [0; 5];
        f.iter().for_each(|&k| c[k] += 1);
        assert!(c.iter().all(|&v| v == 4 || v == 5));
        assert_eq!(f, make_folds(23, 5, 7));
        assert_ne!(f, make_folds(23, 5, 8));
    }
}
