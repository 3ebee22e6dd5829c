//! Limit and edge cases: degenerate columns, p >> n, separable classes, weights vs.
//! repetition, the ridge limit, exact leave-one-out, permutation invariance, model files.

mod common;
use ndarray::{concatenate, s, Array1, Array2, Axis, ShapeBuilder};
use regml::cv::{cv_path, CvParams};
use regml::linear::{fit_path, objective, ElasticNetParams, Family};
use regml::model::LinearModel;
use regml::ridge::{ridge_cv, RidgeCriterion};
use regml::solver::GaussianMode;
use regml::{Certificate, Error};

/// Asserts that one warning of `path` contains every one of `parts`.
fn assert_warns(path: &regml::linear::LinearPath, parts: &[&str]) {
    assert!(
        path.warnings
            .iter()
            .any(|w| parts.iter().all(|p| w.contains(p))),
        "{parts:?} in {:?}",
        path.warnings
    );
}

fn tight(mut p: ElasticNetParams) -> ElasticNetParams {
    p.solver.tol = 1e-12;
    p
}

#[test]
fn constant_and_all_zero_columns_stay_zero() {
    for family in [Family::Gaussian, Family::Binomial] {
        let (mut x, y) = match family {
            Family::Gaussian => common::simulate(60, 8, 0.3, 3, 3.0, 1),
            Family::Binomial => common::simulate_binary(60, 8, 0.3, 3, 1),
        };
        x.column_mut(2).fill(3.7);
        x.column_mut(5).fill(0.0);
        for standardize in [true, false] {
            let params = ElasticNetParams {
                family,
                standardize,
                ..ElasticNetParams::default()
            };
            let path = fit_path(x.view(), y.view(), None, &params).unwrap();
            assert!(path.coefs.column(2).iter().all(|&b| b == 0.0));
            assert!(path.coefs.column(5).iter().all(|&b| b == 0.0));
            assert!(path.info.iter().all(|i| i.converged));
            assert!(path.df.last().unwrap() > &0);
        }
    }
}

#[test]
fn duplicated_columns_share_the_weight_under_l2() {
    let (x, y) = common::simulate(80, 6, 0.3, 3, 3.0, 2);
    let x = concatenate(Axis(1), &[x.view(), x.slice(s![.., 0..1])]).unwrap();
    for alpha in [1.0, 0.5, 0.0] {
        // 1e-11, not 1e-12: the lasso's relative gaps here stop between 5e-13 and 1.1e-12,
        // rounding's floor for this problem, whatever the order of the coordinates
        let mut params = ElasticNetParams::elastic_net(alpha);
        params.solver.tol = 1e-11;
        let path = fit_path(x.view(), y.view(), None, &params).unwrap();
        for (k, i) in path.info.iter().enumerate() {
            assert!(i.converged, "alpha {alpha} #{k}: {i:?}");
        }
        if alpha < 1.0 {
            // strictly convex in the pair: the two copies get equal coefficients, up to what
            // the certificate allows: P(b) - P* >= mu/2 |b - b*|^2 with mu = lambda (1-alpha)
            // in standardized units
            let sd = path.x_scale[0];
            for k in 0..path.lambdas.len() {
                let (a, b) = (path.coefs[[k, 0]], path.coefs[[k, 6]]);
                let mu = path.lambdas[k] * (1.0 - alpha);
                // the gap itself is known only to the rounding level of the primal
                let gap = path.info[k].duality_gap + 16.0 * f64::EPSILON * path.info[k].primal;
                let bound = 2.0 * (2.0 * gap / mu).sqrt() / sd;
                assert!(
                    (a - b).abs() <= bound,
                    "alpha {alpha} #{k}: {a} vs {b} (bound {bound:.2e})"
                );
            }
        }
    }
}

#[test]
fn p_much_larger_than_n() {
    let (x, y) = common::simulate(30, 3000, 0.5, 5, 3.0, 3);
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::lasso()).unwrap();
    assert!(path
        .info
        .iter()
        .all(|i| i.converged && i.relative_gap <= 1e-6));
    assert!(*path.df.iter().max().unwrap() <= 30);
    let (x, y) = common::simulate_binary(30, 3000, 0.5, 5, 3);
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::logistic(1.0)).unwrap();
    assert!(path
        .info
        .iter()
        .all(|i| i.converged && i.relative_gap <= 1e-6));
}

#[test]
fn separable_classes_give_finite_coefficients_and_a_warning() {
    let (x, _) = common::simulate(60, 4, 0.2, 2, 3.0, 4);
    let y: Array1<f64> = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::logistic(1.0)).unwrap();
    assert!(path.coefs.iter().all(|b| b.is_finite()));
    assert!(path.info.iter().all(|i| i.converged));
    assert_warns(&path, &["separable"]);
    // with explicit small lambdas the fit still converges with finite coefficients
    let params = ElasticNetParams {
        lambda: Some(vec![1e-2, 1e-3, 1e-4]),
        ..ElasticNetParams::logistic(1.0)
    };
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert!(path.coefs.iter().all(|b| b.is_finite()));
    assert!(path.info.iter().all(|i| i.converged), "{:?}", path.info);
}

/// More unpenalized features than rows: their least-squares fit is one of many. The warnings
/// say so, as advice to a lambda that did not converge (here, one pass each) and on their own
/// when every lambda converged. With few unpenalized features, a fit stopped by `max_iter`
/// advises more passes instead.
/// Least-squares parameters at `lambda` with the first `free` of `p` features unpenalized.
fn first_unpenalized(free: usize, p: usize, lambda: Vec<f64>) -> ElasticNetParams {
    let mut pf = vec![1.0; p];
    pf[..free].fill(0.0);
    ElasticNetParams {
        penalty_factor: Some(pf),
        lambda: Some(lambda),
        ..ElasticNetParams::default()
    }
}

#[test]
fn more_unpenalized_features_than_rows_are_reported() {
    let (x, y) = common::simulate(12, 20, 0.3, 3, 3.0, 5);
    let fit = |free: usize| {
        let mut params = first_unpenalized(free, 20, vec![0.5, 0.1]);
        // one pass per lambda
        params.solver.max_iter = 1;
        fit_path(x.view(), y.view(), None, &params).unwrap()
    };
    // with every lambda converged (a lambda on the fit of the unpenalized features alone)
    let params = first_unpenalized(14, 20, vec![1e3]);
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert!(path.info.iter().all(|i| i.converged), "{:?}", path.info);
    assert_warns(&path, &["14 features are unpenalized", "not unique"]);
    let path = fit(14);
    assert!(path.info.iter().any(|i| !i.converged), "{:?}", path.info);
    assert_warns(
        &path,
        &["14 features are unpenalized (penalty factor 0) besides the intercept and only 12 rows"],
    );
    let path = fit(3);
    assert!(path.info.iter().any(|i| !i.converged), "{:?}", path.info);
    assert!(
        path.warnings.iter().all(|m| !m.contains("unpenalized"))
            && path.warnings.iter().any(|m| m.contains("max_iter")),
        "{:?}",
        path.warnings
    );
}

/// As many unpenalized coefficients (the intercept counted) as rows: least squares fits every
/// row with them alone, and logistic regression on labels only in the limit. The warning says
/// which, not that the fit is one of many.
#[test]
fn as_many_unpenalized_coefficients_as_rows_are_reported() {
    let (x, y) = common::simulate(12, 20, 0.3, 3, 3.0, 6);
    let params = first_unpenalized(11, 20, vec![0.5]);
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert_warns(
        &path,
        &[
            "11 features are unpenalized (penalty factor 0) besides the intercept and only 12 rows",
            "they can fit every row exactly, leaving nothing to the penalized features",
        ],
    );
    assert!(path.warnings.iter().all(|w| !w.contains("not unique")));
    let labels: Array1<f64> = y.mapv(|v| f64::from(u8::from(v > 0.0)));
    assert!(labels.iter().any(|&v| v == 0.0) && labels.iter().any(|&v| v == 1.0));
    let params = ElasticNetParams {
        family: Family::Binomial,
        ..params
    };
    let path = fit_path(x.view(), labels.view(), None, &params).unwrap();
    assert_warns(
        &path,
        &[
            "only 12 rows",
            "in general only with coefficients that are not finite",
        ],
    );
}

/// An unpenalized feature that separates the classes has no finite maximum-likelihood
/// coefficient at any lambda. The path says so, naming the unpenalized features; a fit that
/// stops unconverged there advises a positive penalty factor rather than more iterations.
#[test]
fn unpenalized_features_that_separate_the_classes_are_named() {
    let (x, _) = common::simulate(40, 5, 0.2, 2, 3.0, 8);
    let y: Array1<f64> = x.column(0).mapv(|v| f64::from(u8::from(v > 0.0)));
    let mut params = ElasticNetParams {
        penalty_factor: Some(vec![0.0, 1.0, 1.0, 1.0, 1.0]),
        ..ElasticNetParams::logistic(1.0)
    };
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert_warns(
        &path,
        &["the unpenalized feature and the intercept alone separate the classes"],
    );
    params.fit_intercept = false;
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert_warns(
        &path,
        &["the unpenalized feature alone separates the classes"],
    );
    params.fit_intercept = true;
    params.solver.max_iter = 5;
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert_warns(
        &path,
        &[
            "did not converge",
            "no penalty holds the unpenalized coefficients finite",
        ],
    );
}

/// Classes separated by unpenalized features: the fit of those features before the path
/// drives their coefficients out until the loss meets its tolerance. Newton steps do so in
/// a few hundred passes as long as their curvatures follow `p (1 - p)` far into the tails;
/// floored at `1e-10` of the weight, they crawled until `max_iter` ran out.
#[test]
fn classes_separated_by_unpenalized_features_are_fitted_in_few_passes() {
    let (x, _) = common::simulate(300, 30, 0.3, 3, 3.0, 11);
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .map(|r| f64::from(u8::from(r[0] - 0.5 * r[1] + 0.3 * r[2] > 0.1)))
        .collect();
    let mut pf = vec![1.0; 30];
    pf[..3].fill(0.0);
    let params = ElasticNetParams {
        penalty_factor: Some(pf),
        ..ElasticNetParams::logistic(0.5)
    };
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    // the first lambda's passes include those of the fit before the path: 229 here, and
    // 100001 (max_iter ran out) with the floor at 1e-10
    let passes: usize = path.info.iter().map(|i| i.n_iter).sum();
    assert!(passes <= 1000, "{passes} passes");
    assert!(path.info.iter().all(|i| i.converged), "{:?}", path.warnings);
    assert_warns(
        &path,
        &["unpenalized features and the intercept alone separate"],
    );
}

#[test]
fn integer_weights_equal_row_repetition() {
    for family in [Family::Gaussian, Family::Binomial] {
        let (x, y) = match family {
            Family::Gaussian => common::simulate(40, 6, 0.4, 3, 3.0, 5),
            Family::Binomial => common::simulate_binary(40, 6, 0.4, 3, 5),
        };
        let w: Array1<f64> = (0..40).map(|i| (1 + i % 3) as f64).collect();
        let mut rows = Vec::new();
        for i in 0..40 {
            for _ in 0..(w[i] as usize) {
                rows.push(i);
            }
        }
        let xr = x.select(Axis(0), &rows);
        let yr: Array1<f64> = rows.iter().map(|&i| y[i]).collect();
        let params = tight(ElasticNetParams {
            family,
            alpha: 0.7,
            ..ElasticNetParams::default()
        });
        let a = fit_path(x.view(), y.view(), Some(w.view()), &params).unwrap();
        let b = fit_path(xr.view(), yr.view(), None, &params).unwrap();
        assert_eq!(a.lambdas.len(), b.lambdas.len());
        for k in 0..a.lambdas.len() {
            assert!((a.lambdas[k] - b.lambdas[k]).abs() <= 1e-12 * a.lambdas[k]);
            for j in 0..6 {
                let (u, v) = (a.coefs[[k, j]], b.coefs[[k, j]]);
                assert!(
                    (u - v).abs() <= 1e-5 * (u.abs() + 1e-2),
                    "{family:?} #{k} j{j}: {u} vs {v}"
                );
            }
        }
    }
}

/// Grouped binomial data (glmnet's two-column matrix of counts): a row with `s` successes in
/// `m` trials, given as the proportion `s / m` with weight `m`, fits as its `s` rows of label 1
/// and `m - s` rows of label 0. The paths agree (same lambda_max and grid, coefficients), and
/// so do the deviances explained, `null_deviance - deviance`; the deviances themselves differ
/// by the saturated model's, which is 0 for the 0/1 rows.
#[test]
fn binomial_proportions_equal_their_expanded_counts() {
    let (x, y0) = common::simulate_binary(30, 5, 0.4, 3, 7);
    let trials: Vec<usize> = (0..30).map(|i| 1 + i % 4).collect();
    // successes: the label's row gets most of its trials' outcomes, some go the other way
    let successes: Vec<usize> = (0..30)
        .map(|i| {
            let m = trials[i];
            if y0[i] == 1.0 {
                m - usize::from(i % 3 == 0 && m > 1)
            } else {
                usize::from(i % 2 == 0 && m > 2)
            }
        })
        .collect();
    let y: Array1<f64> = (0..30)
        .map(|i| successes[i] as f64 / trials[i] as f64)
        .collect();
    let w: Array1<f64> = trials.iter().map(|&m| m as f64).collect();
    assert!(y.iter().any(|v| *v > 0.0 && *v < 1.0));
    let (mut rows, mut yr) = (Vec::new(), Vec::new());
    for i in 0..30 {
        for t in 0..trials[i] {
            rows.push(i);
            yr.push(if t < successes[i] { 1.0 } else { 0.0 });
        }
    }
    let xr = x.select(Axis(0), &rows);
    let yr = Array1::from(yr);
    for alpha in [1.0, 0.3] {
        let params = tight(ElasticNetParams {
            alpha,
            nlambda: 30,
            ..ElasticNetParams::logistic(alpha)
        });
        let a = fit_path(x.view(), y.view(), Some(w.view()), &params).unwrap();
        let b = fit_path(xr.view(), yr.view(), None, &params).unwrap();
        assert!((a.lambda_max - b.lambda_max).abs() <= 1e-12 * b.lambda_max);
        let k_max = a.lambdas.len().min(b.lambdas.len());
        assert!(
            k_max >= 20,
            "{} and {} lambdas",
            a.lambdas.len(),
            b.lambdas.len()
        );
        // the saturated deviance of the proportions, sum_i 2 m_i H(y_i) scaled as the fit's
        // (weights summing to one)
        assert!(a.null_deviance < b.null_deviance);
        for k in 0..k_max {
            assert!((a.lambdas[k] - b.lambdas[k]).abs() <= 1e-12 * a.lambdas[k]);
            assert!((a.intercepts[k] - b.intercepts[k]).abs() <= 1e-5);
            for j in 0..5 {
                let (u, v) = (a.coefs[[k, j]], b.coefs[[k, j]]);
                assert!(
                    (u - v).abs() <= 1e-5 * (u.abs() + 1e-2),
                    "alpha {alpha} #{k} j{j}: {u} vs {v}"
                );
            }
            let explained = |p: &regml::LinearPath| p.null_deviance * p.dev_ratio[k];
            assert!(
                (explained(&a) - explained(&b)).abs() <= 1e-6 * b.null_deviance,
                "alpha {alpha} #{k}: {} vs {}",
                explained(&a),
                explained(&b)
            );
        }
    }
}

/// Proportions that a logistic model fits exactly explain nearly all of their deviance at
/// small lambdas. That is a close fit, not separated classes: the path stops as glmnet's does,
/// without the warning about separable classes that 0/1 labels would get.
#[test]
fn proportions_fitted_closely_are_not_called_separable() {
    let (x, _) = common::simulate(60, 3, 0.2, 2, 3.0, 9);
    let y: Array1<f64> = x.column(0).mapv(|v| 1.0 / (1.0 + (-2.0 * v).exp()));
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::logistic(1.0)).unwrap();
    let last = *path.dev_ratio.last().unwrap();
    assert!(last > 0.999, "{last}");
    assert!(
        path.warnings.iter().any(|w| w.contains("path stopped")),
        "{:?}",
        path.warnings
    );
    assert!(
        path.warnings.iter().all(|w| !w.contains("separa")),
        "{:?}",
        path.warnings
    );
}

/// Also with an offset, which both fit as the ridge of `y - offset`.
#[test]
fn alpha_zero_path_matches_ridge_closed_form() {
    let (x, y) = common::simulate(50, 8, 0.5, 4, 2.0, 6);
    let lambdas = vec![10.0, 1.0, 0.1, 0.01];
    let offset: Vec<f64> = (0..50).map(|i| (i as f64 * 0.3).sin()).collect();
    for offset in [None, Some(offset)] {
        ridge_matches_closed_form(&x, &y, &lambdas, offset);
    }
}

fn ridge_matches_closed_form(
    x: &ndarray::Array2<f64>,
    y: &Array1<f64>,
    lambdas: &[f64],
    offset: Option<Vec<f64>>,
) {
    let params = tight(ElasticNetParams {
        lambda: Some(lambdas.to_vec()),
        offset,
        ..ElasticNetParams::ridge()
    });
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    let closed = ridge_cv(x.view(), y.view(), None, &params, RidgeCriterion::Loo).unwrap();
    for (k, &lam) in lambdas.iter().enumerate() {
        // same problem: the closed form's objective equals the certified path's to the gap
        let obj = |b0: f64, b: ndarray::ArrayView1<f64>| {
            objective(x.view(), y.view(), None, &params, lam, b0, b).unwrap()
        };
        let ours = obj(path.intercepts[k], path.coefs.row(k));
        let exact = obj(closed.intercepts[k], closed.coefs.row(k));
        assert!(
            ours >= exact * (1.0 - 1e-13),
            "lambda {lam}: CD below the exact minimum"
        );
        assert!(
            ours - exact <= 1e-12 * exact,
            "lambda {lam}: {ours} vs {exact}"
        );
        for j in 0..8 {
            let (a, b) = (path.coefs[[k, j]], closed.coefs[[k, j]]);
            assert!(
                (a - b).abs() <= 1e-4 * (b.abs() + 1e-2),
                "lambda {lam} j{j}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn ridge_leave_one_out_is_exact() {
    let (x, y) = common::simulate(30, 5, 0.5, 3, 2.0, 7);
    let n = 30;
    let lambdas = vec![1.0, 0.1, 0.01];
    let params = ElasticNetParams {
        lambda: Some(lambdas.clone()),
        standardize: false,
        ..ElasticNetParams::ridge()
    };
    let res = ridge_cv(x.view(), y.view(), None, &params, RidgeCriterion::Loo).unwrap();
    for (k, &lam) in lambdas.iter().enumerate() {
        let mut sq = 0.0;
        for i in 0..n {
            let keep: Vec<usize> = (0..n).filter(|&r| r != i).collect();
            let xs = x.select(Axis(0), &keep);
            let ys: Array1<f64> = keep.iter().map(|&r| y[r]).collect();
            // the left-out problem keeps the unnormalized objective: lambda * n/(n-1)
            let p = ElasticNetParams {
                lambda: Some(vec![lam * n as f64 / (n - 1) as f64]),
                ..tight(params.clone())
            };
            let f = fit_path(xs.view(), ys.view(), None, &p).unwrap();
            let pred = f.intercepts[0] + x.row(i).dot(&f.coefs.row(0));
            sq += (y[i] - pred).powi(2) / n as f64;
        }
        assert!(
            (sq - res.score[k]).abs() <= 1e-7 * sq,
            "lambda {lam}: brute {sq} vs {}",
            res.score[k]
        );
    }
}

#[test]
fn row_order_does_not_matter() {
    let (x, y) = common::simulate(50, 7, 0.5, 3, 3.0, 8);
    let perm: Vec<usize> = (0..50).map(|i| (i * 17) % 50).collect();
    let xp = x.select(Axis(0), &perm);
    let yp: Array1<f64> = perm.iter().map(|&i| y[i]).collect();
    let params = tight(ElasticNetParams::elastic_net(0.8));
    let a = fit_path(x.view(), y.view(), None, &params).unwrap();
    let b = fit_path(xp.view(), yp.view(), None, &params).unwrap();
    for (u, v) in a.coefs.iter().zip(b.coefs.iter()) {
        assert!((u - v).abs() <= 1e-6 * (u.abs() + 1e-3));
    }
}

/// Without standardization, intercept or unequal weights, a column-major `x` is fitted in
/// place (no copy, `lambda` rescaled by the weight); a row-major copy of the same data takes
/// the copying path. Both give the same path, certificates and deviances.
#[test]
fn column_major_input_fitted_in_place_matches_the_copy() {
    let (x, y) = common::simulate(300, 40, 0.5, 8, 1.0, 21);
    let mut x_f = Array2::<f64>::zeros(x.dim().f());
    x_f.assign(&x);
    assert!(x_f.t().is_standard_layout() && x.is_standard_layout());
    let w = Array1::from_elem(300, 2.5);
    for alpha in [1.0, 0.3] {
        let mut params = ElasticNetParams::elastic_net(alpha);
        params.standardize = false;
        params.fit_intercept = false;
        let a = fit_path(x_f.view(), y.view(), Some(w.view()), &params).unwrap();
        let b = fit_path(x.view(), y.view(), None, &params).unwrap();
        assert_eq!(a.lambdas.len(), b.lambdas.len());
        assert!((a.lambda_max - b.lambda_max).abs() <= 1e-12 * b.lambda_max);
        assert!((a.null_deviance - b.null_deviance).abs() <= 1e-12 * b.null_deviance);
        for (la, lb) in a.lambdas.iter().zip(&b.lambdas) {
            assert!((la - lb).abs() <= 1e-12 * lb);
        }
        let scale = b.coefs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (u, v) in a.coefs.iter().zip(b.coefs.iter()) {
            assert!((u - v).abs() <= 1e-5 * scale, "alpha {alpha}: {u} vs {v}");
        }
        for (ia, ib) in a.info.iter().zip(&b.info) {
            assert!(ia.converged && ia.relative_gap <= 1e-6);
            assert!((ia.primal - ib.primal).abs() <= 1e-6 * ib.primal);
        }
        for (da, db) in a.dev_ratio.iter().zip(&b.dev_ratio) {
            assert!((da - db).abs() <= 1e-6);
        }
    }
}

/// A standardized, weighted least-squares fit with an intercept reads a column-major `x`
/// in place through the centering, scaling and row weights (covariance mode); a row-major
/// `x` is transformed into a copy. Both give the same path at tight tolerance, with large
/// column means, a constant column, penalty factors and bounds.
#[test]
fn a_standardized_fit_read_in_place_matches_the_transformed_copy() {
    let (x0, y) = common::simulate(400, 25, 0.6, 6, 2.0, 33);
    let mut x = x0.mapv(|v| 1000.0 + v);
    x.column_mut(4).fill(7.5);
    let mut x_f = Array2::<f64>::zeros(x.dim().f());
    x_f.assign(&x);
    let w = Array1::from_iter((0..400).map(|i| 0.5 + (i % 5) as f64));
    for (alpha, standardize) in [(1.0, true), (0.4, true), (1.0, false)] {
        let mut params = ElasticNetParams::elastic_net(alpha);
        params.solver.tol = 1e-10;
        params.standardize = standardize;
        params.penalty_factor = Some((0..25).map(|j| [1.0, 0.0, 2.0][j % 3]).collect());
        params.lower_limits = Some(
            (0..25)
                .map(|j| if j == 2 { -0.1 } else { f64::NEG_INFINITY })
                .collect(),
        );
        let a = fit_path(x_f.view(), y.view(), Some(w.view()), &params).unwrap();
        let b = fit_path(x.view(), y.view(), Some(w.view()), &params).unwrap();
        assert_eq!(a.lambdas.len(), b.lambdas.len(), "alpha {alpha}");
        for (la, lb) in a.lambdas.iter().zip(&b.lambdas) {
            assert!((la - lb).abs() <= 1e-10 * lb);
        }
        let scale = b.coefs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (u, v) in a.coefs.iter().zip(b.coefs.iter()) {
            assert!((u - v).abs() <= 1e-7 * scale, "alpha {alpha}: {u} vs {v}");
        }
        for (u, v) in a.intercepts.iter().zip(&b.intercepts) {
            assert!(
                (u - v).abs() <= 1e-7 * v.abs().max(1.0),
                "intercept {u} vs {v}"
            );
        }
        assert!(a.coefs.column(4).iter().all(|&v| v == 0.0));
        for (ia, ib) in a.info.iter().zip(&b.info) {
            assert!(
                ia.converged && ib.converged,
                "alpha {alpha} std {standardize}: {:.2e} {:.2e}",
                ia.relative_gap,
                ib.relative_gap
            );
            assert!((ia.primal - ib.primal).abs() <= 1e-9 * ib.primal);
        }
    }
}

/// Draws uniform on `[-1/2, 1/2)` from a linear congruential sequence started at `seed`.
fn uniform_draws(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// Unpenalized features (penalty factor 0 on every fifth) on a design whose columns nearly
/// coincide (`x_ij = 5 + 3 c_i + u_ij / 10`, `c` and `u` uniform on `[-1/2, 1/2)`), fitted
/// by the lasso, the elastic net and ridge; every lambda converges, wide (residual mode) or
/// tall (covariance mode).
///
/// - The least-squares fit of the unpenalized features, which fixes `lambda_max` and is the
///   whole fit at the first lambda, is ill-conditioned: coordinate descent alone left the
///   lasso's first lambda at 100000 passes with a relative gap of 3.2e-3 (113 x 249). Newton
///   steps solve that block directly.
/// - With more features than rows the active set of the elastic net reaches the number of
///   rows, where `G_AA` is singular and the path's factor cannot serve a Newton step; the step
///   then factors `G_AA + diag(l2)` afresh. Without it coordinate descent crawled: 113 x 249
///   took 5.35 million passes at alpha 0.5 (53 lambdas unconverged), 7.37 million at alpha
///   0.05 (72 unconverged) and 2.17 million for ridge.
#[test]
fn nearly_coinciding_columns_converge_at_every_alpha() {
    for (n, p) in [(113, 249), (300, 120)] {
        let (x, y) = nearly_coinciding_columns(n, p, 226);
        for (alpha, max_passes) in [(1.0, 20000), (0.5, 50000), (0.05, 50000), (0.0, 50000)] {
            let params = ElasticNetParams {
                alpha,
                standardize: false,
                penalty_factor: every_fifth_unpenalized(p),
                ..ElasticNetParams::default()
            };
            let path = fit_path(x.view(), y.view(), None, &params).unwrap();
            assert_converged(&path, max_passes, &format!("{n} x {p} alpha {alpha}"));
        }
    }
}

/// Penalty factors with every fifth feature unpenalized (0) and the rest 1.
fn every_fifth_unpenalized(p: usize) -> Option<Vec<f64>> {
    Some((0..p).map(|j| f64::from(j % 5 != 0)).collect())
}

/// Labels 1 where `t` exceeds its mean, 0 elsewhere.
fn above_mean(t: &Array1<f64>) -> Array1<f64> {
    let mean = t.mean().unwrap();
    t.mapv(|v| f64::from(u8::from(v > mean)))
}

/// Asserts that every lambda of `path` converged and that the whole path took at most
/// `max_passes` passes; `label` names the fit in the messages.
fn assert_converged(path: &regml::linear::LinearPath, max_passes: usize, label: &str) {
    let passes: usize = path.info.iter().map(|i| i.n_iter).sum();
    for (k, i) in path.info.iter().enumerate() {
        assert!(i.converged, "{label} #{k}: {i:?} ({passes} passes in all)");
    }
    assert!(passes <= max_passes, "{label}: {passes} passes");
}

/// `n x p` columns around one shared component, `x_ij = offset + shared c_i + own u_ij`, and
/// `t = x_0 - x_{p/2} / 2 + noise e`, with `c`, `u` and `e` uniform on `[-1/2, 1/2)` drawn
/// from `seed` (in that order, `u` column by column).
fn shared_component_design(
    (n, p): (usize, usize),
    seed: u64,
    [offset, shared, own, noise]: [f64; 4],
) -> (Array2<f64>, Array1<f64>) {
    let mut next = uniform_draws(seed);
    let common: Vec<f64> = (0..n).map(|_| next()).collect();
    let mut x = Array2::<f64>::zeros((n, p).f());
    for j in 0..p {
        for i in 0..n {
            x[[i, j]] = offset + shared * common[i] + own * next();
        }
    }
    let t = (0..n)
        .map(|i| x[[i, 0]] - 0.5 * x[[i, p / 2]] + noise * next())
        .collect();
    (x, t)
}

/// `n x p` columns that nearly coincide, `x_ij = 5 + 3 c_i + u_ij / 10`, and
/// `t = x_0 - x_{p/2} / 2 + e` (see [`shared_component_design`]).
fn nearly_coinciding_columns(n: usize, p: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    shared_component_design((n, p), seed, [5.0, 3.0, 0.1, 1.0])
}

/// The logistic lasso on nearly coinciding columns, two of them duplicates, with an
/// intercept and no standardization. Both duplicates enter the active set, whose Hessian
/// block is then singular, and so is it up to rounding where the curvatures of most rows have
/// vanished late on the path: the Cholesky factorization of a direct solve on the active set
/// fails, and the solve is damped instead. Without that, coordinate descent crawled: this
/// 150 x 100 path took 1517866 passes with 6 lambdas unconverged.
#[test]
fn the_logistic_lasso_on_nearly_coinciding_columns_converges() {
    let (n, p) = (150, 100);
    let (mut x, t) = nearly_coinciding_columns(n, p, 0);
    let first = x.column(0).to_owned();
    x.column_mut(1).assign(&first);
    let y = above_mean(&t);
    let params = ElasticNetParams {
        standardize: false,
        ..ElasticNetParams::logistic(1.0)
    };
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert_converged(&path, 20000, "150 x 100");
}

/// Fits the default lasso path of `family` without intercept or standardization on an
/// `n x p` design whose columns share one large component (`x_ij = u_ij + 0.3 (i mod 7) + 5`,
/// `u` uniform on `[-1/2, 1/2)`), with `t` from three features plus noise (`y = t`, or for
/// the binomial family `y = 1` where `t` exceeds its mean), and asserts that every lambda
/// converges, the least-squares solver working in `mode`; also that the whole path takes at
/// most 20000 coordinate-descent passes (coordinate descent that crawls on a few features
/// is relieved by direct solves on the active set; without them, these paths took 69586 to
/// 163002 passes, and the logistic ones millions).
fn assert_lasso_without_intercept_converges(
    n: usize,
    p: usize,
    mode: GaussianMode,
    family: Family,
) {
    let mut next = uniform_draws(12345);
    let mut x = Array2::<f64>::zeros((n, p).f());
    for j in 0..p {
        for i in 0..n {
            x[[i, j]] = next() + 0.3 * (i % 7) as f64 + 5.0;
        }
    }
    let y: Array1<f64> = (0..n)
        .map(|i| x[[i, 0]] - 2.0 * x[[i, 3]] + x[[i, 10]] + 0.5 * next())
        .collect();
    let y = match family {
        Family::Gaussian => y,
        Family::Binomial => {
            let mean = y.mean().unwrap();
            y.mapv(|t| f64::from(u8::from(t > mean)))
        }
    };
    let mut params = ElasticNetParams::lasso();
    params.family = family;
    params.standardize = false;
    params.fit_intercept = false;
    params.solver.gaussian_mode = mode;
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    let passes: usize = path.info.iter().map(|i| i.n_iter).sum();
    for (k, i) in path.info.iter().enumerate() {
        assert!(i.converged, "#{k}: {i:?} ({passes} passes in all)");
    }
    assert!(
        passes <= 20000,
        "{n} x {p} {family:?} {mode:?}: {passes} passes"
    );
}

/// A design whose columns share one large component (`x_ij = 5 + 0.3 (i mod 7) + u_ij`),
/// fitted without intercept or standardization, is ill-conditioned: coordinate descent
/// crawls along the shared direction, and a Newton step whose solution flips signs must
/// solve again without the flipped coefficients instead of clipping them. Every lambda of the
/// default path converges (with clipping, the 61st lambda stopped at 100000 passes with a
/// relative gap of 1.8e-3).
#[test]
fn an_ill_conditioned_design_without_intercept_converges() {
    assert_lasso_without_intercept_converges(2000, 200, GaussianMode::Auto, Family::Gaussian);
}

/// The design of `an_ill_conditioned_design_without_intercept_converges` where the solver
/// updates residuals (more features than rows, or naive mode asked for) and caches no Gram
/// column: its Newton steps take the Gram entries of the coefficients whose sign they would
/// flip from their Cholesky factor. (Clipping those instead left a lambda of each case
/// unconverged after 100000 passes.)
#[test]
fn an_ill_conditioned_design_in_residual_mode_converges() {
    assert_lasso_without_intercept_converges(400, 800, GaussianMode::Auto, Family::Gaussian);
    assert_lasso_without_intercept_converges(500, 200, GaussianMode::Naive, Family::Gaussian);
}

/// Logistic regression on the design of
/// `an_ill_conditioned_design_without_intercept_converges`: the coordinate descent inside its
/// Newton steps crawls on such designs, and a direct solve of the Newton model on its active
/// set (in covariance form) relieves it. (Without it, the 400 x 800 path took 4061202 passes
/// and left 23 lambdas unconverged, the 500 x 200 one 7095972 passes and 53.)
#[test]
fn an_ill_conditioned_design_without_intercept_converges_in_logistic_regression() {
    assert_lasso_without_intercept_converges(400, 800, GaussianMode::Auto, Family::Binomial);
    assert_lasso_without_intercept_converges(500, 200, GaussianMode::Auto, Family::Binomial);
}

#[test]
fn unpenalized_features_keep_a_duality_gap_certificate() {
    for family in [Family::Gaussian, Family::Binomial] {
        let (x, y) = match family {
            Family::Gaussian => common::simulate(70, 9, 0.5, 3, 3.0, 9),
            Family::Binomial => common::simulate_binary(70, 9, 0.5, 3, 9),
        };
        let mut pf = vec![1.0; 9];
        pf[0] = 0.0;
        pf[4] = 0.0;
        let params = ElasticNetParams {
            family,
            penalty_factor: Some(pf),
            ..ElasticNetParams::default()
        };
        let path = fit_path(x.view(), y.view(), None, &params).unwrap();
        for (k, i) in path.info.iter().enumerate() {
            assert_eq!(i.certificate, Certificate::DualityGap, "{family:?} #{k}");
            assert!(i.converged);
        }
        assert!(
            path.coefs[[0, 0]] != 0.0 && path.coefs[[0, 4]] != 0.0,
            "unpenalized fitted at lambda_max"
        );
        assert!(path
            .coefs
            .row(0)
            .iter()
            .enumerate()
            .all(|(j, &b)| j == 0 || j == 4 || b == 0.0));
    }
}

/// `lambda = 0` is the unpenalized fit (least squares, maximum likelihood), as in glmnet.
/// Every feature is then free, and the certificate keeps a duality gap by projecting them
/// out; the fit satisfies the unpenalized normal equations. More free features than rows
/// leave no projection: the certificate is the KKT violation, said so.
#[test]
fn lambda_zero_is_the_unpenalized_fit_with_a_certificate() {
    for family in [Family::Gaussian, Family::Binomial] {
        let (x, y) = match family {
            Family::Gaussian => common::simulate(80, 6, 0.5, 3, 3.0, 31),
            // a weak signal: the classes overlap, so the likelihood has a maximum
            Family::Binomial => common::simulate_binary(300, 4, 0.3, 1, 31),
        };
        for (alpha, standardize) in [(1.0, true), (0.5, false), (0.0, true)] {
            let params = tight(ElasticNetParams {
                family,
                alpha,
                standardize,
                lambda: Some(vec![1e-2, 0.0]),
                ..ElasticNetParams::default()
            });
            let path = fit_path(x.view(), y.view(), None, &params).unwrap();
            let at = format!("{family:?} alpha {alpha} standardize {standardize}");
            let info = &path.info[1];
            assert_eq!(info.certificate, Certificate::DualityGap, "{at}");
            assert!(
                info.converged && info.relative_gap <= 1e-12,
                "{at}: {info:?}"
            );
            // normal equations: sum_i (y_i - mu_i) x_ij = 0 and sum_i (y_i - mu_i) = 0
            let eta = x.dot(&path.coefs.row(1)) + path.intercepts[1];
            let mu = match family {
                Family::Gaussian => eta,
                Family::Binomial => eta.mapv(|e| 1.0 / (1.0 + (-e).exp())),
            };
            // (a relative gap of 1e-12 bounds |x_j'r| by about 1.4e-6 |x_j| |r|)
            let r = &y - &mu;
            let r_norm = r.dot(&r).sqrt();
            let n_rows = (x.nrows() as f64).sqrt();
            assert!(r.sum().abs() <= 1e-5 * n_rows * r_norm, "{at}: intercept");
            for j in 0..x.ncols() {
                let s = x.column(j).dot(&r);
                let x_norm = x.column(j).dot(&x.column(j)).sqrt();
                assert!(s.abs() <= 1e-5 * x_norm * r_norm, "{at}: feature {j}: {s}");
            }
        }
    }
    let (x, y) = common::simulate(20, 40, 0.5, 3, 3.0, 32);
    let params = ElasticNetParams {
        lambda: Some(vec![0.0]),
        ..ElasticNetParams::lasso()
    };
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    assert_eq!(path.info[0].certificate, Certificate::KktViolation);
    assert!(path.info[0].relative_gap.is_finite());
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (x, y) = common::simulate(10, 3, 0.0, 2, 3.0, 10);
    let p = ElasticNetParams::lasso();
    let one = x.slice(s![0..1, ..]).to_owned();
    assert!(matches!(
        fit_path(one.view(), y.slice(s![0..1]), None, &p),
        Err(Error::InvalidData(_))
    ));
    let mut xn = x.clone();
    xn[[3, 1]] = f64::NAN;
    assert!(matches!(
        fit_path(xn.view(), y.view(), None, &p),
        Err(Error::NonFinite {
            row: 3,
            column: 1,
            ..
        })
    ));
    let yc = Array1::from_elem(10, 2.5);
    let e = fit_path(x.view(), yc.view(), None, &p).unwrap_err();
    assert!(e.to_string().contains("constant"), "{e}");
    let y1 = Array1::from_elem(10, 1.0);
    let e = fit_path(x.view(), y1.view(), None, &ElasticNetParams::logistic(1.0)).unwrap_err();
    assert!(e.to_string().contains("single class"), "{e}");
    let logistic = ElasticNetParams::logistic(1.0);
    // binomial proportions outside [0, 1], constant ones, and a class whose weight is lost to
    // rounding (the intercept-only model would be infinite)
    let yo = Array1::from_shape_fn(10, |i| if i == 3 { 1.5 } else { 0.5 });
    let e = fit_path(x.view(), yo.view(), None, &logistic).unwrap_err();
    assert!(e.to_string().contains("row 3 has 1.5"), "{e}");
    let yp = Array1::from_elem(10, 0.3);
    let e = fit_path(x.view(), yp.view(), None, &logistic).unwrap_err();
    assert!(e.to_string().contains("constant (0.3)"), "{e}");
    let no_intercept = ElasticNetParams {
        fit_intercept: false,
        ..logistic.clone()
    };
    assert!(fit_path(x.view(), yp.view(), None, &no_intercept).is_ok());
    let yl = Array1::from_shape_fn(10, |i| if i == 0 { 0.0 } else { 1.0 });
    let wl = Array1::from_shape_fn(10, |i| if i == 0 { 1e-17 } else { 1.0 });
    let e = fit_path(x.view(), yl.view(), Some(wl.view()), &logistic).unwrap_err();
    assert!(e.to_string().contains("too little of the weight"), "{e}");
    let mut w = Array1::ones(10);
    w[4] = -1.0;
    let e = fit_path(x.view(), y.view(), Some(w.view()), &p).unwrap_err();
    assert!(e.to_string().contains("negative"), "{e}");
    let bad = ElasticNetParams {
        alpha: 1.5,
        ..p.clone()
    };
    assert!(matches!(
        fit_path(x.view(), y.view(), None, &bad),
        Err(Error::InvalidParam { name: "alpha", .. })
    ));
    let short = Array2::<f64>::zeros((10, 3));
    let e = fit_path(short.view(), y.slice(s![0..9]), None, &p).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
}

#[test]
fn model_files_round_trip_and_reject_damage() {
    let (x, y) = common::simulate(40, 5, 0.3, 2, 3.0, 11);
    let cv = cv_path(
        x.view(),
        y.view(),
        None,
        &ElasticNetParams::lasso(),
        &CvParams::default(),
    )
    .unwrap();
    let names: Vec<String> = (0..5).map(|j| format!("f{j}")).collect();
    let mut m =
        LinearModel::from_path(&cv.path, names, "y".into(), true, true, cv.lambda_1se, None);
    m.lambda_min = Some(cv.lambda_min);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.json");
    m.save(&f).unwrap();
    let back = LinearModel::load(&f).unwrap();
    assert_eq!(back, m);
    for (a, b) in back.coefs.iter().flatten().zip(m.coefs.iter().flatten()) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    // predictions at lambda_1se equal the path's interpolated coefficients
    let pred = back.predict(x.view(), cv.lambda_1se).unwrap();
    let direct = cv.path.predict(x.view(), cv.index_1se).unwrap();
    for (a, b) in pred.iter().zip(direct.iter()) {
        assert!((a - b).abs() < 1e-12);
    }
    // truncated
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, &text[..text.len() / 2]).unwrap();
    let e = LinearModel::load(&f).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    // wrong version
    std::fs::write(
        &f,
        text.replace("\"format_version\": 1", "\"format_version\": 99"),
    )
    .unwrap();
    let e = LinearModel::load(&f).unwrap_err().to_string();
    assert!(e.contains("version 99"), "{e}");
    // a version that is not a number
    std::fs::write(
        &f,
        text.replace("\"format_version\": 1", "\"format_version\": -1"),
    )
    .unwrap();
    let e = LinearModel::load(&f).unwrap_err().to_string();
    assert!(
        e.contains("format_version -1 is not a version number"),
        "{e}"
    );
    // inconsistent shapes
    let mut broken = m.clone();
    broken.coefs[0].pop();
    std::fs::write(&f, serde_json::to_string(&broken).unwrap()).unwrap();
    assert!(LinearModel::load(&f).is_err());
    // values no fit produces
    type Damage = fn(&mut LinearModel);
    let damaged: [(&str, Damage); 6] = [
        ("alpha 1.5 is not in [0, 1]", |m| m.alpha = 1.5),
        ("lambda -1 is negative", |m| m.lambda = -1.0),
        ("lambda -0.5 is negative", |m| {
            *m.lambdas.last_mut().unwrap() = -0.5;
        }),
        ("lambda -2 is negative", |m| m.lambda_min = Some(-2.0)),
        ("x_scale 0 is not positive", |m| m.x_scale[1] = 0.0),
        ("two distinct labels", |m| {
            m.classes = Some(vec!["a".into(), "a".into()]);
        }),
    ];
    for (what, damage) in damaged {
        let mut broken = m.clone();
        damage(&mut broken);
        std::fs::write(&f, serde_json::to_string(&broken).unwrap()).unwrap();
        let e = LinearModel::load(&f).unwrap_err().to_string();
        assert!(e.contains(what), "{what}: {e}");
    }
    // no temporary files left behind
    m.save(&f).unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

/// Logistic elastic net with unpenalized features (every fifth), bounds, weights and
/// an intercept on nearly coinciding columns: the fit of the unpenalized coefficients before
/// the path fixes `lambda_max` through the gradients it leaves. It stopped once a Newton step
/// was small, with its own gradients still at 2e-5 of the others; `lambda_max` was then off,
/// a penalized feature violated its optimality condition at the first lambda (where
/// penalized coefficients are held at zero), and the first lambda stopped unconverged at a
/// relative KKT violation of 1.6e-6 and 2.6e-6 on these two draws.
#[test]
fn the_unpenalized_fit_before_a_logistic_path_fixes_lambda_max_exactly() {
    for seed in [3, 21] {
        let (n, p) = (109, 219);
        let (x, t) = nearly_coinciding_columns(n, p, seed);
        let y = above_mean(&t);
        let mut next = uniform_draws(seed + 1000);
        let w: Array1<f64> = (0..n).map(|_| 1.0 + 2.0 * next()).collect();
        let params = ElasticNetParams {
            penalty_factor: every_fifth_unpenalized(p),
            lower_limits: Some(vec![-0.5; p]),
            upper_limits: Some(vec![0.3; p]),
            ..ElasticNetParams::logistic(0.05)
        };
        let path = fit_path(x.view(), y.view(), Some(w.view()), &params).unwrap();
        assert_converged(&path, usize::MAX, &format!("seed {seed}"));
    }
}

/// Bounds on nearly coinciding columns (every fifth feature unpenalized, coefficients in
/// `[-0.5, 0.3]`). A direct solve on the active set that takes coefficients past a bound
/// stops them there and solves again without them; clipped after the solve instead, the
/// others stayed balanced against values the clipped ones no longer had, the step was
/// refused and coordinate descent crawled. Before: least squares at alpha 0 and 0.05 left 5
/// and 1 lambdas unconverged after 500005 and 477043 passes, and the logistic lasso took
/// 19936 passes (now under 7000).
#[test]
fn bounds_on_nearly_coinciding_columns_converge() {
    for (family, n, p, alpha, standardize, seed, max_passes) in [
        (Family::Gaussian, 208, 279, 0.0, false, 9, 20000),
        (Family::Gaussian, 266, 258, 0.05, true, 9, 20000),
        (Family::Binomial, 224, 111, 1.0, true, 3, 10000),
    ] {
        let (x, t) = nearly_coinciding_columns(n, p, seed);
        let y = match family {
            Family::Gaussian => t,
            Family::Binomial => above_mean(&t),
        };
        let params = ElasticNetParams {
            family,
            alpha,
            standardize,
            fit_intercept: family == Family::Binomial,
            penalty_factor: every_fifth_unpenalized(p),
            lower_limits: Some(vec![-0.5; p]),
            upper_limits: Some(vec![0.3; p]),
            ..ElasticNetParams::default()
        };
        let path = fit_path(x.view(), y.view(), None, &params).unwrap();
        assert_converged(&path, max_passes, &format!("{family:?} alpha {alpha}"));
    }
}

/// `n x p` columns that share one component, `x_ij = c_i + u_ij / 2` (every pair correlated
/// 0.8), and `t = x_0 - x_{p/2} / 2 + 0.3 e` (see [`shared_component_design`]).
fn shared_component_columns(n: usize, p: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    shared_component_design((n, p), seed, [0.0, 1.0, 0.5, 0.3])
}

/// A least-squares elastic net (alpha 0.05) on columns that share one component (see
/// `shared_component_columns`), with a few more features than rows (naive mode).
/// The ridge part keeps the path's factor from preconditioning the Newton steps, which form
/// and factor `G_AA + diag(l2)` instead. With that solve's multiply-adds counted at a pass's
/// speed, this 600 x 640 path took 654 passes; now 538 (in about the same time at this size;
/// on 1963 x 2100 such paths now run 4 to 5 times faster).
#[test]
fn a_correlated_wide_elastic_net_is_finished_by_direct_solves() {
    let (x, t) = shared_component_columns(600, 640, 11);
    let params = ElasticNetParams {
        alpha: 0.05,
        ..ElasticNetParams::default()
    };
    let path = fit_path(x.view(), t.view(), None, &params).unwrap();
    assert_converged(&path, 1000, "600 x 640, alpha 0.05");
}

/// Ridge paths on columns that share one component (see `shared_component_columns`): with a
/// few more features than rows (naive mode; the rows form of the decomposition) and, with
/// weights and unequal penalty factors, with many more rows than features (covariance mode;
/// the features form). Coordinate descent crawls on such columns. Once the passes still to
/// come (at the rate of those so far) would cost as much as its spectral form, every
/// later lambda is solved from it exactly, with no pass (`n_iter` 0), and certified like any
/// other. By coordinate descent and Newton steps alone these paths took 1851 and 502 passes;
/// with the decomposition formed once the passes so far had cost as much, 71 and 77; with
/// the work to come projected from the first lambda, 9 and 4; from the first two (a
/// projection from one lambda formed it for paths that the stall rule then stopped at the
/// 5th), 13 and 6.
#[test]
fn a_crawling_ridge_path_is_finished_from_its_spectral_form() {
    check_spectral_ridge_paths(false, 40);
}

/// The ridge paths of `a_crawling_ridge_path_is_finished_from_its_spectral_form` with every
/// seventh feature unpenalized (penalty factor 0), as glmnet users keep covariates they
/// adjust for. The decomposition then works on the penalized features with the unpenalized
/// ones eliminated (a Schur complement of the Gram matrix in the features form, their
/// columns projected out in the rows form). By coordinate descent and Newton steps alone
/// these paths took 2849 and 658 passes; with the spectral form 50 and 10 (those of the
/// lambdas before it is formed; every later lambda is solved from it), besides the 92 and 42
/// of the least-squares fit of the unpenalized features before the path (a Newton step after
/// as many passes as there are such features), which the first lambda counts.
#[test]
fn a_crawling_ridge_path_with_unpenalized_features_is_finished_from_its_spectral_form() {
    check_spectral_ridge_paths(true, 200);
}

/// The ridge paths of the two tests above (`free`: every seventh feature unpenalized): at
/// most `bound` passes, at least 20 lambdas solved with no pass, each certified to `1e-10`.
fn check_spectral_ridge_paths(free: bool, bound: usize) {
    for (n, p) in [(600, 640), (1500, 300)] {
        let (x, t) = shared_component_columns(n, p, 11);
        let tall = n > p;
        let pf = |j: usize| match (free && j % 7 == 3, tall) {
            (true, _) => 0.0,
            (false, true) => 0.5 + (j % 4) as f64 / 2.0,
            (false, false) => 1.0,
        };
        let params = ElasticNetParams {
            alpha: 0.0,
            penalty_factor: (tall || free).then(|| (0..p).map(pf).collect()),
            ..ElasticNetParams::default()
        };
        let w: Option<Array1<f64>> = tall.then(|| (0..n).map(|i| 0.5 + (i % 3) as f64).collect());
        let path = fit_path(x.view(), t.view(), w.as_ref().map(|w| w.view()), &params).unwrap();
        let label = format!("{n} x {p} ridge, unpenalized features {free}");
        assert_converged(&path, bound, &label);
        let direct: Vec<_> = path.info.iter().filter(|i| i.n_iter == 0).collect();
        assert!(
            direct.len() >= 20,
            "{label}: {} lambdas solved directly",
            direct.len()
        );
        for i in direct {
            assert!(i.relative_gap <= 1e-10, "{label}: {i:?}");
        }
    }
}

/// A logistic elastic net (alpha 0.5, default path) on columns that share one component (see
/// `shared_component_columns`), with nearly as many features as rows.
/// Late on the path hundreds of features are active and coordinate descent needs hundreds of
/// passes per Newton step; a direct solve on the active set, a blocked matrix product and
/// factorization, finishes the step for the cost of a few dozen of them. With the solve
/// costed as if its multiply-adds ran as slowly as a pass's, this path took 4267 passes; now
/// 791.
#[test]
fn a_correlated_logistic_elastic_net_is_finished_by_direct_solves() {
    let (x, t) = shared_component_columns(400, 360, 7);
    let y = above_mean(&t);
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::logistic(0.5)).unwrap();
    assert_converged(&path, 1600, "400 x 360");
}

/// A ridge path down to `lambda = 1e-16` on 60 x 120 columns that share one component: the
/// objective there is at the rounding level of the data, and the gap cannot be certified in
/// double precision. The solver stops once its updates reach that level (15 passes, gap
/// 3.3), and the warning says why, instead of advising more passes; the lambdas before it
/// converge.
#[test]
fn a_lambda_beyond_double_precision_is_reported_as_such() {
    let (x, t) = shared_component_columns(60, 120, 11);
    let params = ElasticNetParams {
        alpha: 0.0,
        lambda: Some(vec![1.0, 1e-8, 1e-12, 1e-16]),
        ..ElasticNetParams::default()
    };
    let path = fit_path(x.view(), t.view(), None, &params).unwrap();
    assert!(
        path.info[..3].iter().all(|i| i.converged),
        "{:?}",
        path.info
    );
    let last = &path.info[3];
    assert!(
        !last.converged && last.n_iter < params.solver.max_iter,
        "{last:?}"
    );
    let warning = path
        .warnings
        .iter()
        .find(|w| w.contains("lambda #4"))
        .expect("warning");
    assert!(
        warning.contains("rounding level") && !warning.contains("raise max_iter"),
        "{warning}"
    );
}

/// Total coordinate-descent passes of the default lasso path (standardized, with intercept)
/// on the powers `x, x^2, .., x^12` of 500 uniform points, `y = sin(2 pi x)` plus noise, with
/// the least-squares solver in `mode`; asserts that every lambda converges.
fn polynomial_path_passes(mode: GaussianMode) -> usize {
    let mut next = uniform_draws(2024);
    let n = 500;
    let t: Vec<f64> = (0..n).map(|_| next() + 0.5).collect();
    let x = Array2::from_shape_fn((n, 12).f(), |(i, j)| t[i].powi(j as i32 + 1));
    let y: Array1<f64> = t
        .iter()
        .map(|&v| (2.0 * std::f64::consts::PI * v).sin() + 0.2 * next())
        .collect();
    let mut params = ElasticNetParams::lasso();
    params.solver.gaussian_mode = mode;
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    let passes = path.info.iter().map(|i| i.n_iter).sum();
    assert_converged(&path, usize::MAX, &format!("powers {mode:?}"));
    passes
}

/// Powers of one variable are nearly collinear: coordinate descent crawls on a few active
/// features, lambda after lambda. Once it has crawled at one lambda (100 passes, then a
/// Newton step), every later lambda of the path starts with Newton steps from two active
/// features and hands over after 10 passes. Before that, these paths took 5042 (covariance
/// mode) and 5488 (naive mode) passes; now 656 and 1077.
#[test]
fn a_path_that_crawled_once_starts_later_lambdas_with_newton_steps() {
    for mode in [GaussianMode::Covariance, GaussianMode::Naive] {
        let passes = polynomial_path_passes(mode);
        assert!(passes <= 1500, "{mode:?}: {passes} passes");
    }
}

/// Values larger in magnitude than `MAX_ABS_VALUE` (1e150) in `x`, `y`, the weights, the
/// offset or `y - offset` are typed errors naming input, row and column; values up to it
/// fit, with finite coefficients and certificates. (A column of values near `1e308` used to
/// overflow its standard deviation, and with a bound at 0 the scaled bound became NaN and a
/// duality-gap evaluation panicked.)
#[test]
fn values_beyond_the_largest_magnitude_are_typed_errors() {
    use regml::linear::MAX_ABS_VALUE;
    let (x, y) = common::simulate(30, 4, 0.0, 2, 3.0, 11);
    fn out_of_range<T: std::fmt::Debug>(r: regml::Result<T>) -> (&'static str, usize, usize) {
        match r {
            Err(Error::OutOfRange {
                what, row, column, ..
            }) => (what, row, column),
            other => panic!("expected OutOfRange, got {other:?}"),
        }
    }
    let mut bounded = ElasticNetParams::lasso();
    bounded.lower_limits = Some(vec![0.0; 4]);
    let mut xb = x.clone();
    xb[[7, 2]] = 1e308;
    assert_eq!(
        out_of_range(fit_path(xb.view(), y.view(), None, &bounded)),
        ("x", 7, 2)
    );
    let mut yb = y.clone();
    yb[5] = -2e150;
    assert_eq!(
        out_of_range(fit_path(x.view(), yb.view(), None, &bounded)),
        ("y", 5, 0)
    );
    let mut w = Array1::<f64>::ones(30);
    w[9] = 1e200;
    assert_eq!(
        out_of_range(fit_path(x.view(), y.view(), Some(w.view()), &bounded)),
        ("weights", 9, 0)
    );
    let mut with_offset = ElasticNetParams::lasso();
    let mut o = vec![0.0; 30];
    o[3] = 1e151;
    with_offset.offset = Some(o.clone());
    assert_eq!(
        out_of_range(fit_path(x.view(), y.view(), None, &with_offset)),
        ("offset", 3, 0)
    );
    // both within range, their difference not
    o[3] = -MAX_ABS_VALUE;
    with_offset.offset = Some(o);
    let mut yo = y.clone();
    yo[3] = MAX_ABS_VALUE;
    assert_eq!(
        out_of_range(fit_path(x.view(), yo.view(), None, &with_offset)),
        ("y - offset", 3, 0)
    );
    // the largest magnitude itself fits
    let mut xl = x.clone();
    xl[[7, 2]] = MAX_ABS_VALUE;
    let path = fit_path(xl.view(), y.view(), None, &bounded).unwrap();
    assert!(path.coefs.iter().all(|v| v.is_finite()));
    assert!(path.info.iter().all(|i| i.relative_gap.is_finite()));
    // rows given for prediction are held to the same range
    assert_eq!(
        out_of_range(path.predict(xb.view(), 0).map(|_| path.clone())),
        ("x", 7, 2)
    );
}

/// Cross-validation of a response scaled by `1e140` (its squared errors near `1e283`, their
/// squares beyond double precision) reports the scaled measure and standard error: the
/// standard error's deviations are scaled before they are squared.
#[test]
fn cross_validation_standard_errors_do_not_overflow() {
    let (x, y) = common::simulate(60, 5, 0.0, 3, 3.0, 12);
    let params = ElasticNetParams::lasso();
    let cv = CvParams {
        nfolds: 5,
        ..CvParams::default()
    };
    let base = cv_path(x.view(), y.view(), None, &params, &cv).unwrap();
    let scale = 1e140;
    let ys = y.mapv(|v| v * scale);
    let big = cv_path(x.view(), ys.view(), None, &params, &cv).unwrap();
    let k = base.index_min;
    assert!(
        big.cvsd[k].is_finite() && big.cvsd[k] > 0.0,
        "{}",
        big.cvsd[k]
    );
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(rel(big.cvm[k] / scale / scale, base.cvm[k]) < 1e-6);
    assert!(rel(big.cvsd[k] / scale / scale, base.cvsd[k]) < 1e-6);
}

/// The default lasso path (standardized, with intercept) on 400 rows of the powers
/// `t, .., t^10` of a uniform `t`, unpenalized, and five independent penalized features,
/// `y = sin(6 t) + x_1 / 2` plus noise, the least-squares solver in `mode`: the path, and its
/// total passes.
fn unpenalized_powers_path(mode: GaussianMode) -> (regml::LinearPath, usize) {
    let mut next = uniform_draws(77);
    let n = 400;
    let t: Vec<f64> = (0..n).map(|_| next() + 0.5).collect();
    let mut x = Array2::<f64>::zeros((n, 15).f());
    for j in 0..15 {
        for i in 0..n {
            x[[i, j]] = if j < 10 {
                t[i].powi(j as i32 + 1)
            } else {
                next()
            };
        }
    }
    let y: Array1<f64> = (0..n)
        .map(|i| (6.0 * t[i]).sin() + 0.5 * x[[i, 10]] + 0.3 * next())
        .collect();
    let mut params = ElasticNetParams::lasso();
    params.penalty_factor = Some((0..15).map(|j| if j < 10 { 0.0 } else { 1.0 }).collect());
    params.solver.gaussian_mode = mode;
    let path = fit_path(x.view(), y.view(), None, &params).unwrap();
    let passes = path.info.iter().map(|i| i.n_iter).sum();
    (path, passes)
}

/// Unpenalized powers of one variable make an active Gram block whose Cholesky pivots fall to
/// about `1e-13` of its diagonal. The path's factor kept only pivots above `1e-10` of the
/// diagonal, so its Newton steps solved on part of the block and coordinate descent crawled
/// to `max_iter` at nearly every lambda: 44 of 45 lambdas unconverged in naive mode (4400046
/// passes), all 45 in covariance mode (4500045), worst relative gap 2e-2. It now keeps pivots
/// above `1e-14` (a few dozen times the rounding error of a pivot): naive mode converges at
/// every lambda in 145 passes. Covariance mode, whose gradients and residual sums of squares
/// come from `X'X` (the block's condition number squared), then still left two lambdas at
/// relative gaps near 8e-6 after `max_iter` passes each (200399 in all); after 1000 passes
/// at one lambda it now continues the path in naive mode, and every lambda converges (1320
/// passes). These counts leave out the least-squares fit of the unpenalized features before
/// the path; counted with the first lambda, it took 101 passes more, and 11 since its first
/// Newton step comes after as many passes as there are such features.
#[test]
fn ill_conditioned_unpenalized_features_are_solved_by_newton_steps() {
    let (path, passes) = unpenalized_powers_path(GaussianMode::Naive);
    assert_converged(&path, usize::MAX, "unpenalized powers, naive mode");
    assert!(passes <= 2000, "naive mode: {passes} passes");
    let (path, passes) = unpenalized_powers_path(GaussianMode::Covariance);
    assert_converged(&path, usize::MAX, "unpenalized powers, covariance mode");
    assert!(passes <= 5000, "covariance mode: {passes} passes");
}

/// The first lambda's `n_iter` includes the passes of the fit of the unpenalized features
/// before the path, so it can reach `max_iter` while the solve at that lambda stopped short of
/// it, at the rounding level (a ridge at `lambda = 1e-16` on columns that share one
/// component, two features unpenalized). The advice still says that more passes would not
/// help: with `max_iter` one below the passes reported, the fit is the same and so is the
/// advice.
#[test]
fn the_first_lambda_stopped_at_the_rounding_level_is_reported_as_such() {
    let (x, t) = shared_component_columns(60, 120, 11);
    let mut pf = vec![1.0; 120];
    pf[..2].fill(0.0);
    let mut params = ElasticNetParams {
        alpha: 0.0,
        penalty_factor: Some(pf),
        lambda: Some(vec![1e-16]),
        ..ElasticNetParams::default()
    };
    let advice_of = |path: &regml::LinearPath| {
        let w = path
            .warnings
            .iter()
            .find(|w| w.contains("lambda #1"))
            .expect("warning")
            .clone();
        assert!(
            w.contains("rounding level") && !w.contains("raise max_iter"),
            "{w}"
        );
    };
    let path = fit_path(x.view(), t.view(), None, &params).unwrap();
    let first = path.info[0].clone();
    assert!(!first.converged, "{first:?}");
    advice_of(&path);
    params.solver.max_iter = first.n_iter - 1;
    let path = fit_path(x.view(), t.view(), None, &params).unwrap();
    assert_eq!(path.info[0], first);
    advice_of(&path);
}
