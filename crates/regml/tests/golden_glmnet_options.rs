//! glmnet's `dfmax`, `pmax`, `exclude` and infinite penalty factors, against glmnet itself
//! (`tests/golden/make_glmnet_options_golden.R`: the embedded diabetes data, thresh = 1e-14).
//! The path must stop at the same lambda, with the same lambdas and numbers of nonzero
//! coefficients, objectives within 1e-7 of glmnet's at every lambda, and excluded features
//! at exactly zero.

mod common;

use ndarray::{Array1, Array2};
use regml::data::dataset_xy;
use regml::linear::{fit_path, ElasticNetParams, Family};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    family: String,
    dfmax: Option<usize>,
    pmax: Option<usize>,
    user_lambda: Option<Vec<f64>>,
    /// 0-based column indices.
    exclude: Option<Vec<usize>>,
    /// As text: "inf" excludes.
    penalty_factor: Option<Vec<String>>,
    lambda: Vec<f64>,
    df: Vec<usize>,
    a0: Vec<f64>,
    /// One row per lambda.
    beta: Vec<Vec<f64>>,
}

fn diabetes() -> (Array2<f64>, Array1<f64>) {
    let (x, y, _) = dataset_xy("diabetes").expect("embedded diabetes");
    (x, Array1::from(y))
}

#[test]
fn paths_with_size_limits_and_exclusions_match_glmnet() {
    let g: Golden = serde_json::from_str(include_str!("golden/glmnet_options_golden.json"))
        .expect("golden json");
    assert_eq!(g.cases.len(), 8);
    let (x, y) = diabetes();
    for (i, c) in g.cases.iter().enumerate() {
        let (family, y) = match c.family.as_str() {
            "gaussian" => (Family::Gaussian, y.clone()),
            _ => (
                Family::Binomial,
                y.mapv(|v| if v > 140.0 { 1.0 } else { 0.0 }),
            ),
        };
        let pf: Option<Vec<f64>> = c.penalty_factor.as_ref().map(|v| {
            v.iter()
                .map(|s| s.trim().parse().expect("a number or inf"))
                .collect()
        });
        let mut params = ElasticNetParams {
            family,
            dfmax: c.dfmax,
            pmax: c.pmax,
            lambda: c.user_lambda.clone(),
            exclude: c.exclude.clone(),
            penalty_factor: pf.clone(),
            ..ElasticNetParams::default()
        };
        params.solver.tol = 1e-10;
        let path = fit_path(x.view(), y.view(), None, &params).expect("fit");
        common::assert_same_lambdas(&path.lambdas, &c.lambda, 1e-10, &format!("case {i}"));
        assert_eq!(path.df, c.df, "case {i}: nonzero coefficients per lambda");
        // pmax stops with a warning, dfmax (the size asked for) without one
        let warned = path.warnings.iter().any(|w| w.contains("pmax"));
        let grid = c.user_lambda.as_ref().map_or(100, |l| l.len());
        assert_eq!(
            warned,
            c.pmax.is_some() && c.df.len() < grid,
            "case {i}: {:?}",
            path.warnings
        );
        let out: Vec<usize> = (0..x.ncols())
            .filter(|&j| {
                c.exclude.as_ref().is_some_and(|e| e.contains(&j))
                    || pf.as_ref().is_some_and(|p| p[j].is_infinite())
            })
            .collect();
        common::assert_objectives_match(
            &x,
            &y,
            None,
            &params,
            &path,
            &c.a0,
            &c.beta,
            1e-7,
            &format!("case {i}"),
        );
        for &j in &out {
            assert!(
                path.coefs.column(j).iter().all(|&b| b == 0.0),
                "case {i}: excluded feature {j}"
            );
        }
    }
}

#[test]
fn a_pmax_exceeded_at_the_first_lambda_is_an_error() {
    let (x, y) = diabetes();
    // unpenalized features are nonzero at every lambda
    let params = ElasticNetParams {
        penalty_factor: Some(vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        pmax: Some(1),
        ..ElasticNetParams::default()
    };
    let err = fit_path(x.view(), y.view(), None, &params).expect_err("pmax below the start");
    assert!(err.to_string().contains("pmax"), "{err}");
}

#[test]
fn an_exclusion_outside_the_features_is_an_error() {
    let (x, y) = diabetes();
    let params = ElasticNetParams {
        exclude: Some(vec![3, 10]),
        ..ElasticNetParams::default()
    };
    let err = fit_path(x.view(), y.view(), None, &params).expect_err("column 10 of 10");
    assert!(err.to_string().contains("exclude"), "{err}");
}
