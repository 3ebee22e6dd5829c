//! glmnet's `offset`, against glmnet itself (`tests/golden/make_glmnet_offset_golden.R`: the
//! embedded diabetes data, thresh = 1e-14, or 1e-10 where glmnet stops converging). Paths:
//! the same lambdas (so the same `lambda_max`, which for logistic regression comes from the
//! intercept fitted beside the offset), the same `dev.ratio` (measured from that null
//! model), the same nonzero counts and objectives within 1e-7 of glmnet's at every lambda. Cross-validation: the same
//! `cvm` and `cvsd` (each fold fits with its training rows' offsets and predicts with its
//! own), `lambda.min` and `lambda.1se`.

mod common;

use ndarray::{Array1, Array2};
use regml::cv::{cv_path, CvParams, Measure};
use regml::data::dataset_xy;
use regml::linear::{fit_path, ElasticNetParams, Family};
use serde::Deserialize;
use std::io::Read;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    family: String,
    /// glmnet's `thresh` for this case.
    thresh: f64,
    intercept: bool,
    alpha: f64,
    standardize: bool,
    weights: Option<Vec<f64>>,
    offset: Vec<f64>,
    /// 0-based fold ids (cross-validation cases only).
    foldid: Option<Vec<usize>>,
    lambda: Vec<f64>,
    dev_ratio: Vec<f64>,
    df: Vec<usize>,
    a0: Vec<f64>,
    /// One row per lambda.
    beta: Vec<Vec<f64>>,
    cvm: Option<Vec<f64>>,
    cvsd: Option<Vec<f64>>,
    lambda_min: Option<f64>,
    lambda_1se: Option<f64>,
}

fn golden() -> Golden {
    let bytes = include_bytes!("golden/glmnet_offset_golden.json.gz");
    let mut s = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut s)
        .expect("gzip");
    serde_json::from_str(&s).expect("golden json")
}

/// The data and settings of case `c`.
fn setup(c: &Case) -> (Array2<f64>, Array1<f64>, ElasticNetParams) {
    let (x, y, _) = dataset_xy("diabetes").expect("embedded diabetes");
    let y = Array1::from(y);
    let (family, y) = match c.family.as_str() {
        "gaussian" => (Family::Gaussian, y),
        _ => (
            Family::Binomial,
            y.mapv(|v| if v > 140.0 { 1.0 } else { 0.0 }),
        ),
    };
    let mut params = ElasticNetParams {
        family,
        alpha: c.alpha,
        fit_intercept: c.intercept,
        standardize: c.standardize,
        offset: Some(c.offset.clone()),
        ..ElasticNetParams::default()
    };
    params.solver.tol = 1e-10;
    (x, y, params)
}

#[test]
fn paths_with_an_offset_match_glmnet() {
    let g = golden();
    assert_eq!(g.cases.len(), 7);
    for (i, c) in g.cases.iter().enumerate() {
        let (x, y, params) = setup(c);
        let w = c.weights.clone().map(Array1::from);
        let path =
            fit_path(x.view(), y.view(), w.as_ref().map(|w| w.view()), &params).expect("fit");
        assert!(path.offset, "case {i}: the path records its offset");
        common::assert_same_lambdas(&path.lambdas, &c.lambda, 1e-10, &format!("case {i}"));
        // glmnet's own accuracy: 2e-7 at thresh 1e-14, 4e-5 at 1e-10
        let dev_tol = if c.thresh <= 1e-14 { 1e-6 } else { 1e-4 };
        for (k, (a, b)) in path.dev_ratio.iter().zip(&c.dev_ratio).enumerate() {
            assert!(
                (a - b).abs() <= dev_tol,
                "case {i}, lambda #{k}: dev_ratio {a} against {b}"
            );
        }
        assert_eq!(path.df, c.df, "case {i}: nonzero coefficients per lambda");
        common::assert_objectives_match(
            &x,
            &y,
            w.as_ref(),
            &params,
            &path,
            &c.a0,
            &c.beta,
            1e-7,
            &format!("case {i}"),
        );
    }
}

#[test]
fn cross_validation_with_an_offset_matches_cv_glmnet() {
    let g = golden();
    let mut seen = 0;
    for (i, c) in g.cases.iter().enumerate() {
        let Some(foldid) = &c.foldid else { continue };
        seen += 1;
        let (x, y, params) = setup(c);
        let cvp = CvParams {
            foldid: Some(foldid.clone()),
            measure: Some(Measure::Deviance),
            ..CvParams::default()
        };
        let r = cv_path(x.view(), y.view(), None, &params, &cvp).expect("cv");
        let (cvm, cvsd) = (c.cvm.as_ref().unwrap(), c.cvsd.as_ref().unwrap());
        common::assert_same_lambdas(&r.path.lambdas, &c.lambda, 1e-10, &format!("case {i}"));
        assert_eq!(r.cvm.len(), cvm.len(), "case {i}: number of lambdas");
        // cvsd, a spread of fold values, keeps glmnet's error: 1.1e-6 here whether regml
        // fits at tol 1e-10 or 1e-12
        for k in 0..cvm.len() {
            assert!(
                (r.cvm[k] - cvm[k]).abs() <= 1e-6 * cvm[k].abs(),
                "case {i}, lambda #{k}: cvm {} against {}",
                r.cvm[k],
                cvm[k]
            );
            assert!(
                (r.cvsd[k] - cvsd[k]).abs() <= 1e-5 * cvsd[k].abs(),
                "case {i}, lambda #{k}: cvsd {} against {}",
                r.cvsd[k],
                cvsd[k]
            );
        }
        let same = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b;
        assert!(
            same(r.lambda_min, c.lambda_min.unwrap()),
            "case {i}: lambda.min"
        );
        assert!(
            same(r.lambda_1se, c.lambda_1se.unwrap()),
            "case {i}: lambda.1se"
        );
    }
    assert_eq!(seen, 2);
}
