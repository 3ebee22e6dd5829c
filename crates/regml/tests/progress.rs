//! Progress reported to observers (glmnet's `trace.it`): one event per fitted lambda, then one
//! per fold, and the fits themselves unchanged by observing them.

mod common;

use regml::cv::{cv_path, cv_path_observed, CvParams};
use regml::linear::{fit_path, fit_path_observed, ElasticNetParams, Progress};
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
