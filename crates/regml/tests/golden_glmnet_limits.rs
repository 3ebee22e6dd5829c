//! glmnet's limits on the model size along a path (`dfmax`, `pmax`), against glmnet itself
//! (`tests/golden/make_glmnet_limits_golden.R`, the embedded diabetes data, thresh = 1e-14):
//! the path must stop at the same lambda, with the same lambdas and numbers of nonzero
//! coefficients before it.

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
    #[serde(default)]
    dfmax: Option<usize>,
    #[serde(default)]
    pmax: Option<usize>,
    #[serde(default)]
    user_lambda: Option<Vec<f64>>,
    lambda: Vec<f64>,
    df: Vec<usize>,
}

fn diabetes() -> (Array2<f64>, Array1<f64>) {
    let (x, y, _) = dataset_xy("diabetes").expect("embedded diabetes");
    (x, Array1::from(y))
}

#[test]
fn paths_stop_where_glmnet_stops_them() {
    let g: Golden = serde_json::from_str(include_str!("golden/glmnet_limits_golden.json"))
        .expect("golden json");
    assert_eq!(g.cases.len(), 6);
    let (x, y) = diabetes();
    for (i, c) in g.cases.iter().enumerate() {
        let (family, y) = match c.family.as_str() {
            "gaussian" => (Family::Gaussian, y.clone()),
            _ => (
                Family::Binomial,
                y.mapv(|v| if v > 140.0 { 1.0 } else { 0.0 }),
            ),
        };
        let params = ElasticNetParams {
            family,
            dfmax: c.dfmax,
            pmax: c.pmax,
            lambda: c.user_lambda.clone(),
            ..ElasticNetParams::default()
        };
        let path = fit_path(x.view(), y.view(), None, &params).expect("fit");
        assert_eq!(
            path.lambdas.len(),
            c.lambda.len(),
            "case {i}: number of lambdas"
        );
        for (k, (a, b)) in path.lambdas.iter().zip(&c.lambda).enumerate() {
            assert!(
                (a - b).abs() <= 1e-10 * b,
                "case {i}, lambda #{k}: {a} against {b}"
            );
        }
        assert_eq!(path.df, c.df, "case {i}: nonzero coefficients per lambda");
        // pmax stops with a warning, dfmax (the size asked for) without one
        let warned = path.warnings.iter().any(|w| w.contains("pmax"));
        let stopped_by_pmax =
            c.pmax.is_some() && c.df.len() < c.user_lambda.as_ref().map_or(100, |l| l.len());
        assert_eq!(warned, stopped_by_pmax, "case {i}: {:?}", path.warnings);
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
