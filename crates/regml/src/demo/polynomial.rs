//! Polynomial overfitting and its cure.
//!
//! `n_train` points `x_i` uniform on `[0, 1]`, `y_i = sin(2 pi x_i) + e_i` with
//! `e_i ~ N(0, noise^2)`, and a degree-`degree` polynomial in `u = 2x - 1` (monomials `u^k`
//! or Legendre polynomials `P_k(u)`, `k = 1..degree`) fitted
//! - without a penalty (least squares through the SVD; minimum-norm when underdetermined),
//! - with L2 (ridge path, `lambda` chosen by exact leave-one-out as scikit-learn's `RidgeCV`),
//! - with L1 (lasso path, `lambda` chosen by 5-fold cross-validation, `lambda.min`).
//!
//! Test error is measured on `n_test` fresh points of the same curve.

use super::{normal, DemoOutput};
use crate::cv::{cv_path, CvParams};
use crate::linear::ElasticNetParams;
use crate::plot::{Chart, Figure, Marker, Series, VLine, PALETTE};
use crate::ridge::{ridge_cv, RidgeCriterion};
use crate::{Error, Result};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Polynomial basis in `u = 2x - 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Basis {
    /// `u, u^2, .., u^d`.
    #[default]
    Monomial,
    /// Legendre polynomials `P_1(u) .. P_d(u)`, orthogonal on `[-1, 1]`.
    Legendre,
}

/// Settings of [`run`].
#[derive(Clone, Debug)]
pub struct PolynomialParams {
    /// Polynomial degree (number of features), 1..=30.
    pub degree: usize,
    /// Training points.
    pub n_train: usize,
    /// Test points.
    pub n_test: usize,
    /// Standard deviation of the noise.
    pub noise: f64,
    /// Basis.
    pub basis: Basis,
    /// Seed of the sample.
    pub seed: u64,
}

impl Default for PolynomialParams {
    fn default() -> Self {
        PolynomialParams {
            degree: 15,
            n_train: 20,
            n_test: 500,
            noise: 0.25,
            basis: Basis::Monomial,
            seed: 1,
        }
    }
}

/// The curve the points are drawn from.
pub fn truth(x: f64) -> f64 {
    (2.0 * std::f64::consts::PI * x).sin()
}

/// Features of `x` (one row), `degree` columns.
pub fn features(x: f64, degree: usize, basis: Basis) -> Vec<f64> {
    let u = 2.0 * x - 1.0;
    let mut f = Vec::with_capacity(degree);
    match basis {
        Basis::Monomial => {
            let mut p = 1.0;
            for _ in 0..degree {
                p *= u;
                f.push(p);
            }
        }
        Basis::Legendre => {
            // (k+1) P_{k+1} = (2k+1) u P_k - k P_{k-1}
            let (mut p0, mut p1) = (1.0, u);
            for k in 1..=degree {
                f.push(p1);
                let next = ((2 * k + 1) as f64 * u * p1 - k as f64 * p0) / (k + 1) as f64;
                p0 = p1;
                p1 = next;
            }
        }
    }
    f
}

fn design(xs: &[f64], degree: usize, basis: Basis) -> Array2<f64> {
    let mut m = Array2::zeros((xs.len(), degree));
    for (i, &x) in xs.iter().enumerate() {
        for (j, v) in features(x, degree, basis).into_iter().enumerate() {
            m[[i, j]] = v;
        }
    }
    m
}

/// A fitted polynomial: intercept and coefficients on the basis.
#[derive(Clone, Debug, PartialEq)]
pub struct PolyFit {
    /// Intercept.
    pub intercept: f64,
    /// One coefficient per basis function.
    pub coef: Vec<f64>,
}

impl PolyFit {
    /// Value at `x`.
    pub fn eval(&self, x: f64, basis: Basis) -> f64 {
        let f = features(x, self.coef.len(), basis);
        self.intercept + f.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>()
    }

    /// Mean squared error on `(xs, ys)`.
    pub fn mse(&self, xs: &[f64], ys: &[f64], basis: Basis) -> f64 {
        xs.iter()
            .zip(ys)
            .map(|(&x, &y)| (y - self.eval(x, basis)).powi(2))
            .sum::<f64>()
            / xs.len().max(1) as f64
    }
}

/// Least squares with intercept through the SVD (minimum-norm solution, singular values
/// below `1e-12` times the largest dropped).
pub fn least_squares(x: &Array2<f64>, y: &[f64]) -> Result<PolyFit> {
    let (n, p) = x.dim();
    let a = nalgebra::DMatrix::from_fn(n, p + 1, |i, j| if j == 0 { 1.0 } else { x[[i, j - 1]] });
    let b = nalgebra::DVector::from_column_slice(y);
    let svd = a.svd(true, true);
    let smax = svd.singular_values.max();
    let sol = svd
        .solve(&b, 1e-12 * smax)
        .map_err(|e| Error::InvalidData(format!("least squares: {e}")))?;
    Ok(PolyFit {
        intercept: sol[0],
        coef: sol.iter().skip(1).copied().collect(),
    })
}

/// A sample of the curve: `(x, y)` sorted by `x`.
pub fn sample(n: usize, noise: f64, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
    let mut xs: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    xs.sort_by(f64::total_cmp);
    let ys = xs.iter().map(|&x| truth(x) + noise * normal(rng)).collect();
    (xs, ys)
}

/// Runs the demo: fits, figures `polynomial-fits`, `polynomial-error`,
/// `polynomial-coefficients`, and the summary.
pub fn run(p: &PolynomialParams) -> Result<DemoOutput> {
    if !(1..=30).contains(&p.degree) {
        return Err(Error::param("degree", p.degree, "must be 1..=30"));
    }
    if p.n_train < 5 || p.n_test < 1 || p.n_train > 100_000 || p.n_test > 100_000 {
        return Err(Error::param(
            "points",
            p.n_train,
            "need 5..=100000 training and 1..=100000 test points",
        ));
    }
    if !(p.noise >= 0.0 && p.noise.is_finite()) {
        return Err(Error::param("noise", p.noise, "must be finite and >= 0"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let (xs, ys) = sample(p.n_train, p.noise, &mut rng);
    let (xt, yt) = sample(p.n_test, p.noise, &mut rng);
    let x = design(&xs, p.degree, p.basis);
    let y = Array1::from(ys.clone());

    let ols = least_squares(&x, &ys)?;

    // L2: ridge path with exact leave-one-out
    let ridge_params = ElasticNetParams {
        alpha: 0.0,
        nlambda: 80,
        lambda_min_ratio: Some(1e-9),
        ..ElasticNetParams::default()
    };
    let ridge = ridge_cv(x.view(), y.view(), None, &ridge_params, RidgeCriterion::Loo)?;
    let ridge_fit = |k: usize| PolyFit {
        intercept: ridge.intercepts[k],
        coef: ridge.coefs.row(k).to_vec(),
    };
    // L1: lasso path with 5-fold CV
    let lasso_params = ElasticNetParams {
        alpha: 1.0,
        nlambda: 80,
        lambda_min_ratio: Some(1e-5),
        ..ElasticNetParams::default()
    };
    let cv = cv_path(
        x.view(),
        y.view(),
        None,
        &lasso_params,
        &CvParams {
            nfolds: 5,
            seed: p.seed,
            ..CvParams::default()
        },
    )?;
    let lasso = &cv.path;
    let lasso_fit = |k: usize| PolyFit {
        intercept: lasso.intercepts[k],
        coef: lasso.coefs.row(k).to_vec(),
    };
    let l2 = ridge_fit(ridge.best);
    let l1 = lasso_fit(cv.index_min);
    // a heavy penalty that underfits: the ridge lambda 100 times the chosen one
    let heavy_k = (0..ridge.lambdas.len())
        .min_by(|&a, &b| {
            (ridge.lambdas[a].ln() - (100.0 * ridge.lambdas[ridge.best]).ln())
                .abs()
                .total_cmp(
                    &(ridge.lambdas[b].ln() - (100.0 * ridge.lambdas[ridge.best]).ln()).abs(),
                )
        })
        .unwrap_or(0);
    let heavy = ridge_fit(heavy_k);

    let grid: Vec<f64> = (0..=400).map(|i| i as f64 / 400.0).collect();
    let curve = |f: &PolyFit| -> Vec<(f64, f64)> {
        grid.iter().map(|&x| (x, f.eval(x, p.basis))).collect()
    };
    let truth_series = {
        let mut s = Series::line(
            "sin(2 pi x)",
            grid.iter().map(|&x| (x, truth(x))).collect(),
            "#555",
        );
        s.dash = Some("5 4".into());
        s.width = 1.2;
        s
    };
    let points = Series::points(
        "training points",
        xs.iter().copied().zip(ys.iter().copied()).collect(),
        "#222",
    );
    let basis_name = match p.basis {
        Basis::Monomial => "monomials",
        Basis::Legendre => "Legendre polynomials",
    };
    let panel = |title: String, f: &PolyFit, color: &str| -> Chart {
        let zeros = f.coef.iter().filter(|v| **v == 0.0).count();
        Chart {
            title,
            x_label: "x".into(),
            y_label: "y".into(),
            y_range: Some((-2.0, 2.0)),
            x_range: Some((0.0, 1.0)),
            series: vec![
                truth_series.clone(),
                Series::line("fit", curve(f), color),
                points.clone(),
            ],
            notes: vec![format!(
                "train MSE {:.4}, test MSE {:.4}, max |coef| {:.3}, exact zeros {zeros}/{}",
                f.mse(&xs, &ys, p.basis),
                f.mse(&xt, &yt, p.basis),
                f.coef.iter().fold(0.0f64, |m, v| m.max(v.abs())),
                f.coef.len()
            )],
            ..Chart::default()
        }
    };
    let fits = Figure::grid(
        format!(
            "Degree-{} polynomial ({basis_name}) through {} noisy points",
            p.degree, p.n_train
        ),
        vec![
            panel("No penalty".into(), &ols, PALETTE[2]),
            panel(
                format!(
                    "L2 (ridge), lambda = {:.3e} by leave-one-out",
                    ridge.lambdas[ridge.best]
                ),
                &l2,
                PALETTE[0],
            ),
            panel(
                format!("L1 (lasso), lambda = {:.3e} by 5-fold CV", cv.lambda_min),
                &l1,
                PALETTE[4],
            ),
            panel(
                format!(
                    "L2 with 100x that lambda ({:.3e}): underfit",
                    ridge.lambdas[heavy_k]
                ),
                &heavy,
                PALETTE[6],
            ),
        ],
        2,
    );

    // train and test error along both paths
    let ols_test = ols.mse(&xt, &yt, p.basis);
    let err_chart = |title: &str, lambdas: &[f64], fit: &dyn Fn(usize) -> PolyFit, chosen: f64| {
        let mut train = Vec::new();
        let mut test = Vec::new();
        for (k, l) in lambdas.iter().enumerate() {
            let f = fit(k);
            train.push((l.ln(), f.mse(&xs, &ys, p.basis)));
            test.push((l.ln(), f.mse(&xt, &yt, p.basis)));
        }
        let lx: Vec<f64> = lambdas.iter().map(|l| l.ln()).collect();
        let (lo, hi) = (
            lx.iter().copied().fold(f64::INFINITY, f64::min),
            lx.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let mut flat = Series::line(
            "no penalty, test",
            vec![(lo, ols_test), (hi, ols_test)],
            PALETTE[2],
        );
        flat.dash = Some("3 3".into());
        let mut tr = Series::line("training MSE", train, PALETTE[0]);
        tr.marker = Some(Marker::Dot);
        let mut te = Series::line("test MSE", test, PALETTE[1]);
        te.marker = Some(Marker::Circle);
        let ymax = 4.0 * (p.noise * p.noise).max(0.05) + 0.5;
        let mut series = vec![tr, te];
        let mut notes = Vec::new();
        if ols_test <= ymax {
            series.push(flat);
        } else {
            notes.push(format!(
                "no penalty: test MSE {ols_test:.4} (off the chart)"
            ));
        }
        Chart {
            title: title.into(),
            x_label: "log(Lambda)   (the penalty decreases to the right)".into(),
            y_label: "mean squared error".into(),
            x_reversed: true,
            y_range: Some((0.0, ymax)),
            series,
            notes,
            vlines: vec![VLine {
                x: chosen.ln(),
                label: "chosen".into(),
                color: "#555".into(),
                dash: "2 3".into(),
            }],
            ..Chart::default()
        }
    };
    let error = Figure::grid(
        "Training error falls as the penalty shrinks; test error rises again (overfitting)",
        vec![
            err_chart(
                "L2 (ridge)",
                &ridge.lambdas,
                &ridge_fit,
                ridge.lambdas[ridge.best],
            ),
            err_chart("L1 (lasso)", &lasso.lambdas, &lasso_fit, cv.lambda_min),
        ],
        2,
    );

    // coefficient sizes per degree
    let sizes = |name: &str, f: &PolyFit, color: &str| {
        let mut s = Series::line(
            name,
            f.coef
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    let y = if *v == 0.0 { f64::NAN } else { v.abs().log10() };
                    ((k + 1) as f64, y)
                })
                .collect(),
            color,
        );
        s.marker = Some(Marker::Dot);
        s
    };
    let l1_zeros = l1.coef.iter().filter(|v| **v == 0.0).count();
    let coefs = Figure::single(Chart {
        title: "Coefficient sizes: the unpenalized fit needs huge, cancelling coefficients".into(),
        x_label: format!("degree k of the basis function ({basis_name})"),
        y_label: "log10 |coefficient|".into(),
        series: vec![
            sizes("no penalty", &ols, PALETTE[2]),
            sizes("L2", &l2, PALETTE[0]),
            sizes("L1 (gaps: exact zeros)", &l1, PALETTE[4]),
        ],
        notes: vec![format!(
            "L1 sets {l1_zeros} of {} coefficients exactly to zero; L2 shrinks all of them",
            p.degree
        )],
        ..Chart::default()
    });

    let describe = |name: &str, f: &PolyFit| {
        format!(
            "{name:<22} train MSE {:>8.4}  test MSE {:>8.4}  max |coef| {:>12.3}  zeros {:>2}/{}",
            f.mse(&xs, &ys, p.basis),
            f.mse(&xt, &yt, p.basis),
            f.coef.iter().fold(0.0f64, |m, v| m.max(v.abs())),
            f.coef.iter().filter(|v| **v == 0.0).count(),
            f.coef.len()
        )
    };
    let summary = vec![
        format!(
            "{} points of sin(2 pi x) + N(0, {}^2) noise; degree-{} {basis_name}; test MSE on {} fresh points (noise floor {:.4})",
            p.n_train, p.noise, p.degree, p.n_test, p.noise * p.noise
        ),
        describe("no penalty", &ols),
        describe("L2, leave-one-out", &l2),
        describe("L1, 5-fold CV", &l1),
        describe("L2, 100x lambda", &heavy),
    ];
    // statements computed from the fits
    let (ols_tr, ols_te) = (ols.mse(&xs, &ys, p.basis), ols.mse(&xt, &yt, p.basis));
    let best_te = l2.mse(&xt, &yt, p.basis).min(l1.mse(&xt, &yt, p.basis));
    let mut summary = summary;
    if ols_te > 2.0 * best_te {
        summary.push(format!(
            "Without a penalty the polynomial follows the noise: training MSE {ols_tr:.4}, test \
             MSE {ols_te:.4}, {:.1}x the best penalized fit's {best_te:.4}.",
            ols_te / best_te
        ));
    } else {
        summary.push(format!(
            "At degree {} the unpenalized fit does not overfit this sample: test MSE {ols_te:.4} \
             against {best_te:.4} for the best penalized fit.",
            p.degree
        ));
    }
    let heavy_te = heavy.mse(&xt, &yt, p.basis);
    if heavy_te > best_te {
        summary.push(format!(
            "Far too much penalty underfits: 100x the leave-one-out lambda gives test MSE \
             {heavy_te:.4}."
        ));
    }
    Ok(DemoOutput {
        figures: vec![
            ("polynomial-fits".into(), fits),
            ("polynomial-error".into(), error),
            ("polynomial-coefficients".into(), coefs),
        ],
        summary,
    })
}
