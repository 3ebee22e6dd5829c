//! Progress reported to observers (glmnet's `trace.it`): one event per fitted lambda, then one
//! per fold, and the fits themselves unchanged by observing them. Cross-validation over
//! several alphas on one set of folds (scikit-learn's `ElasticNetCV` over `l1_ratio`).
//! Prevalidated predictions (cv.glmnet's `fit.preval`). Predictions of a model fitted with
//! an offset. Logistic folds stratified by class. A best lambda at the small end of the grid
//! is reported.

mod common;

use regml::cv::{cv_alphas, cv_path, cv_path_observed, CvParams, Measure};
use regml::linear::{fit_path, fit_path_observed, ElasticNetParams, Progress};
use regml::ridge::{ridge_cv, RidgeCriterion};
use std::sync::Mutex;

#[test]
fn a_path_reports_each_fitted_lambda_once_in_order() {
    let (x, y) = common::simulate(200, 30, 0.5, 5, 3.0, 11);
    // the default grid of 100 stops early once the deviance stalls; a user grid runs in full
    for (params, stops_early) in [
        (ElasticNetParams::lasso(), true),
        (
            ElasticNetParams {
                lambda: Some(vec![0.5, 0.2, 0.1, 0.05]),
                ..ElasticNetParams::lasso()
            },
            false,
        ),
    ] {
        let events = Mutex::new(Vec::new());
        let observed = fit_path_observed(x.view(), y.view(), None, &params, &|p| {
            events.lock().expect("events").push(p)
        })
        .expect("fit");
        let events = events.into_inner().expect("events");
        let total = params.lambda.as_ref().map_or(params.nlambda, |l| l.len());
        let want: Vec<Progress> = (1..=observed.lambdas.len())
            .map(|done| Progress::Lambda { done, total })
            .collect();
        assert_eq!(events, want);
        assert_eq!(observed.lambdas.len() < total, stops_early);
        let plain = fit_path(x.view(), y.view(), None, &params).expect("fit");
        assert_eq!(observed.coefs, plain.coefs);
        assert_eq!(observed.intercepts, plain.intercepts);
    }
}

#[test]
fn cross_validation_reports_the_full_path_then_every_fold() {
    let (x, y) = common::simulate_binary(300, 12, 0.5, 4, 5);
    let params = ElasticNetParams {
        nlambda: 20,
        ..ElasticNetParams::logistic(1.0)
    };
    let cv = CvParams {
        nfolds: 5,
        ..CvParams::default()
    };
    let events = Mutex::new(Vec::new());
    let observed = cv_path_observed(x.view(), y.view(), None, &params, &cv, &|p| {
        events.lock().expect("events").push(p)
    })
    .expect("cv");
    let events = events.into_inner().expect("events");
    let nl = observed.path.lambdas.len();
    // the fit on all rows first, lambda by lambda
    let lambdas: Vec<Progress> = (1..=nl)
        .map(|done| Progress::Lambda { done, total: 20 })
        .collect();
    assert_eq!(events[..nl], lambdas[..]);
    // then each fold once (folds run in parallel, so their events come in any order)
    let mut folds: Vec<usize> = events[nl..]
        .iter()
        .map(|e| match *e {
            Progress::Fold { done, total: 5 } => done,
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    folds.sort_unstable();
    assert_eq!(folds, vec![1, 2, 3, 4, 5]);
    let plain = cv_path(x.view(), y.view(), None, &params, &cv).expect("cv");
    assert_eq!(observed.cvm, plain.cvm);
    assert_eq!(observed.lambda_min, plain.lambda_min);
    assert_eq!(observed.path.coefs, plain.path.coefs);
}

#[test]
fn alphas_are_cross_validated_on_the_same_folds_and_the_best_is_kept() {
    let (x, y) = common::simulate(150, 20, 0.6, 4, 2.0, 23);
    let params = ElasticNetParams {
        nlambda: 30,
        ..ElasticNetParams::lasso()
    };
    let cv = CvParams {
        nfolds: 5,
        seed: 3,
        ..CvParams::default()
    };
    let alphas = [0.05, 0.5, 1.0];
    let events = Mutex::new(0usize);
    let r = cv_alphas(x.view(), y.view(), None, &params, &alphas, &cv, &|_| {
        *events.lock().expect("events") += 1
    })
    .expect("cv over alphas");
    assert_eq!(r.alphas, alphas);
    assert!(
        *events.lock().expect("events") > 3 * 5,
        "every alpha reports its folds"
    );
    for (a, f) in alphas.iter().zip(&r.fits) {
        assert_eq!(f.path.alpha, *a);
        assert_eq!(f.foldid, r.fits[0].foldid, "one set of folds");
        // each is the cross-validation of that alpha alone
        let alone = cv_path(
            x.view(),
            y.view(),
            None,
            &ElasticNetParams {
                alpha: *a,
                ..params.clone()
            },
            &cv,
        )
        .expect("cv");
        assert_eq!(f.cvm, alone.cvm);
    }
    let at_min: Vec<f64> = r.fits.iter().map(|f| f.cvm[f.index_min]).collect();
    let lowest = at_min.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(at_min[r.best], lowest, "{at_min:?}");
    assert!(
        at_min.iter().any(|&v| v != lowest),
        "the alphas differ: {at_min:?}"
    );
    // AUC is maximized
    let (xb, yb) = common::simulate_binary(200, 10, 0.5, 3, 9);
    let auc = CvParams {
        measure: Some(Measure::Auc),
        ..cv.clone()
    };
    let r = cv_alphas(
        xb.view(),
        yb.view(),
        None,
        &ElasticNetParams {
            nlambda: 20,
            ..ElasticNetParams::logistic(1.0)
        },
        &[0.1, 1.0],
        &auc,
        &|_| {},
    )
    .expect("auc over alphas");
    let at_min: Vec<f64> = r.fits.iter().map(|f| f.cvm[f.index_min]).collect();
    assert_eq!(
        at_min[r.best],
        at_min.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    );
    assert!(cv_alphas(x.view(), y.view(), None, &params, &[], &cv, &|_| {}).is_err());
}

#[test]
fn prevalidated_predictions_come_from_the_fit_without_the_row_s_fold() {
    let (x, y) = common::simulate(120, 8, 0.5, 3, 2.0, 31);
    // user lambdas: every fold fits these, so each fold's fit can be repeated here
    let params = ElasticNetParams {
        lambda: Some(vec![0.5, 0.2, 0.05, 0.01]),
        ..ElasticNetParams::elastic_net(0.7)
    };
    let foldid: Vec<usize> = (0..120).map(|i| (i * 7) % 4).collect();
    let cv = CvParams {
        foldid: Some(foldid.clone()),
        keep: true,
        ..CvParams::default()
    };
    let r = cv_path(x.view(), y.view(), None, &params, &cv).expect("cv");
    let preval = r.preval.as_ref().expect("kept");
    assert_eq!(preval.dim(), (120, 4));
    // without keep: no matrix, the same curve
    let unkept = CvParams { keep: false, ..cv };
    let r2 = cv_path(x.view(), y.view(), None, &params, &unkept).expect("cv");
    assert!(r2.preval.is_none());
    assert_eq!(r2.cvm, r.cvm);
    assert_eq!(r2.cvsd, r.cvsd);
    // the curve is the mean over folds of each fold's mean squared error (equal weights,
    // 30 rows per fold)
    for l in 0..4 {
        let fold_mse: Vec<f64> = (0..4)
            .map(|k| {
                let rows: Vec<usize> = (0..120).filter(|&i| foldid[i] == k).collect();
                let sq: f64 = rows.iter().map(|&i| (y[i] - preval[[i, l]]).powi(2)).sum();
                sq / rows.len() as f64
            })
            .collect();
        let mean = fold_mse.iter().sum::<f64>() / 4.0;
        assert!(
            (mean - r.cvm[l]).abs() <= 1e-12 * mean,
            "lambda #{l}: cvm {} against {mean} from the kept predictions",
            r.cvm[l]
        );
    }
    for k in 0..4 {
        let train: Vec<usize> = (0..120).filter(|&i| foldid[i] != k).collect();
        let test: Vec<usize> = (0..120).filter(|&i| foldid[i] == k).collect();
        let xt = x.select(ndarray::Axis(0), &train);
        let yt = y.select(ndarray::Axis(0), &train);
        let fold = fit_path(xt.view(), yt.view(), None, &params).expect("fold fit");
        for (l, row) in fold.coefs.rows().into_iter().enumerate() {
            for &i in &test {
                let pred = fold.intercepts[l] + x.row(i).dot(&row);
                let got = preval[[i, l]];
                assert!(
                    (pred - got).abs() <= 1e-12 * (1.0 + pred.abs()),
                    "row {i}, lambda #{l}: {got} against {pred}"
                );
            }
        }
    }
}

#[test]
fn a_model_fitted_with_an_offset_predicts_with_the_rows_offsets_only() {
    let (x, y) = common::simulate_binary(150, 6, 0.3, 3, 17);
    let offset: Vec<f64> = (0..150).map(|i| 0.5 * (i as f64).cos()).collect();
    let params = ElasticNetParams {
        offset: Some(offset.clone()),
        nlambda: 10,
        ..ElasticNetParams::logistic(1.0)
    };
    let path = fit_path(x.view(), y.view(), None, &params).expect("fit");
    assert!(path.offset);
    let o = ndarray::Array1::from(offset);
    let k = 6;
    let got = path
        .predict_with_offset(x.view(), k, Some(o.view()))
        .expect("with offsets");
    for i in 0..150 {
        let eta = path.intercepts[k] + x.row(i).dot(&path.coefs.row(k)) + o[i];
        let want = 1.0 / (1.0 + (-eta).exp());
        assert!(
            (got[i] - want).abs() < 1e-14,
            "row {i}: {} against {want}",
            got[i]
        );
    }
    let err = path.predict(x.view(), k).expect_err("an offset is needed");
    assert!(err.to_string().contains("offset"), "{err}");
    let short = o.slice(ndarray::s![..10]);
    assert!(path.predict_with_offset(x.view(), k, Some(short)).is_err());

    // the model file keeps the need for offsets
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("m.json");
    let names: Vec<String> = (0..6).map(|j| format!("x{j}")).collect();
    let lambda = path.lambdas[k];
    regml::model::LinearModel::from_path(&path, names, "y".into(), true, true, lambda, None)
        .save(&file)
        .expect("save");
    let m = regml::model::LinearModel::load(&file).expect("load");
    assert!(m.offset);
    let again = m
        .predict_with_offset(x.view(), lambda, Some(o.view()))
        .expect("with offsets");
    assert_eq!(again, got);
    assert!(m.predict(x.view(), lambda).is_err());

    // a model fitted without one takes none
    let plain = fit_path(x.view(), y.view(), None, &ElasticNetParams::logistic(1.0)).expect("fit");
    assert!(!plain.offset);
    assert!(plain
        .predict_with_offset(x.view(), 0, Some(o.view()))
        .is_err());
}

/// Logistic cross-validation draws its folds within each class by default: with two
/// positives among 12 rows and 4 folds, every fold's training rows hold a positive, whatever
/// the seed. Drawn ignoring the classes (`stratify: false`, cv.glmnet's folds), some seeds
/// put both positives in one fold, whose training rows then have a single class. A class of
/// one row is an error that says so.
#[test]
fn logistic_folds_are_stratified_by_class() {
    let (x, _) = common::simulate(12, 3, 0.2, 2, 3.0, 4);
    let mut y = ndarray::Array1::<f64>::zeros(12);
    y[2] = 1.0;
    y[9] = 1.0;
    let params = ElasticNetParams {
        nlambda: 10,
        ..ElasticNetParams::logistic(1.0)
    };
    let mut unstratified_failures = 0;
    for seed in 0..20 {
        let cv = CvParams {
            nfolds: 4,
            seed,
            ..CvParams::default()
        };
        let r = cv_path(x.view(), y.view(), None, &params, &cv).expect("stratified folds");
        assert_ne!(r.foldid[2], r.foldid[9], "seed {seed}: {:?}", r.foldid);
        let plain = CvParams {
            stratify: false,
            ..cv
        };
        match cv_path(x.view(), y.view(), None, &params, &plain) {
            Ok(r) => assert_ne!(r.foldid[2], r.foldid[9]),
            Err(e) => {
                assert!(e.to_string().contains("single class"), "{e}");
                unstratified_failures += 1;
            }
        }
    }
    assert!(unstratified_failures > 0);
    // one positive: no set of folds can work, and the error says why
    let mut single = y.clone();
    single[9] = 0.0;
    let e = cv_path(x.view(), single.view(), None, &params, &CvParams::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("class 1 has a single row of positive weight: the fold that holds it would"),
        "{e}"
    );
    // least squares: the labels play no part
    let cv = CvParams {
        nfolds: 4,
        seed: 5,
        ..CvParams::default()
    };
    let ls = cv_path(x.view(), y.view(), None, &ElasticNetParams::lasso(), &cv).expect("cv");
    assert_eq!(ls.foldid, regml::cv::make_folds(12, 4, 5));
}

/// cv.glmnet measures deviance instead of AUC when the folds hold fewer than 10 rows each,
/// and says so; at 10 rows per fold AUC is kept.
#[test]
fn auc_on_small_folds_becomes_deviance() {
    let (x, y) = common::simulate_binary(30, 4, 0.3, 2, 12);
    let params = ElasticNetParams {
        nlambda: 20,
        ..ElasticNetParams::logistic(1.0)
    };
    let run = |nfolds: usize| {
        let cv = CvParams {
            nfolds,
            measure: Some(Measure::Auc),
            ..CvParams::default()
        };
        cv_path(x.view(), y.view(), None, &params, &cv).expect("cv")
    };
    let small = run(10);
    assert_eq!(small.measure, Measure::Deviance);
    assert!(
        small
            .warnings
            .iter()
            .any(|w| w.contains("changed to deviance")),
        "{:?}",
        small.warnings
    );
    let kept = run(3);
    assert_eq!(kept.measure, Measure::Auc);
    assert!(kept
        .warnings
        .iter()
        .all(|w| !w.contains("changed to deviance")));
}

fn warns_grid_end(warnings: &[String]) -> bool {
    warnings
        .iter()
        .any(|w| w.contains("is the smallest of the grid"))
}

/// On diabetes (442 rows, 10 features) the ridge's default grid ends at 1e-4 of its
/// `lambda_max`, where the held-out error is still falling: cross-validation and
/// leave-one-out both pick the grid's last lambda and say so. A grid that brackets the best
/// lambda, a lasso path whose best lambda lies inside the grid, and a path stopped early
/// because its fit no longer changed draw no such warning.
#[test]
fn a_best_lambda_at_the_small_end_of_the_grid_is_reported() {
    let (x, y, _) = regml::data::dataset_xy("diabetes").unwrap();
    let y = ndarray::Array1::from(y);
    let ridge = ElasticNetParams {
        alpha: 0.0,
        ..ElasticNetParams::default()
    };
    let cv_with =
        |x: ndarray::ArrayView2<f64>, y: ndarray::ArrayView1<f64>, p: &ElasticNetParams| {
            cv_path(x, y, None, p, &CvParams::default()).unwrap()
        };
    let cv = cv_with(x.view(), y.view(), &ridge);
    assert_eq!(cv.index_min, cv.path.lambdas.len() - 1);
    assert!(warns_grid_end(&cv.warnings), "{:?}", cv.warnings);
    let loo = ridge_cv(x.view(), y.view(), None, &ridge, RidgeCriterion::Loo).unwrap();
    assert_eq!(loo.best, loo.lambdas.len() - 1);
    assert!(warns_grid_end(&loo.warnings), "{:?}", loo.warnings);
    let bracketed = ElasticNetParams {
        lambda: Some(vec![10.0, 1.0, 0.1, 0.01, 0.001]),
        ..ridge.clone()
    };
    let loo = ridge_cv(x.view(), y.view(), None, &bracketed, RidgeCriterion::Loo).unwrap();
    assert!(loo.best < 4, "{}", loo.best);
    assert!(!warns_grid_end(&loo.warnings), "{:?}", loo.warnings);
    let lasso = cv_with(x.view(), y.view(), &ElasticNetParams::default());
    assert!(lasso.index_min < lasso.path.lambdas.len() - 1);
    assert!(!warns_grid_end(&lasso.warnings), "{:?}", lasso.warnings);
    // an exact linear response: the path stops once it explains 99.9% of the deviance
    let (xs, _) = common::simulate(60, 5, 0.3, 5, 3.0, 21);
    let ys = xs.dot(&ndarray::arr1(&[1.0, -2.0, 0.5, 1.5, -1.0]));
    let cv = cv_with(xs.view(), ys.view(), &ElasticNetParams::default());
    assert!(cv.path.lambdas.len() < 100);
    assert_eq!(cv.index_min, cv.path.lambdas.len() - 1);
    assert!(!warns_grid_end(&cv.warnings), "{:?}", cv.warnings);
}
