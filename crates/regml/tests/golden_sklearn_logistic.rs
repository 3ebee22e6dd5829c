//! scikit-learn's `LogisticRegression(C, l1_ratio)` is regml's binomial fit at
//! `lambda = 1 / (C n)`, `alpha = l1_ratio`, without standardization (references from
//! `tests/golden/make_sklearn_logistic_golden.py`, tol 1e-12): coefficients and intercept agree
//! to 1e-6.

use ndarray::{Array1, Array2};
use regml::linear::{fit_path, ElasticNetParams};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    /// One row per observation.
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
struct Case {
    #[serde(rename = "C")]
    c: f64,
    l1_ratio: f64,
    coef: Vec<f64>,
    intercept: f64,
}

#[test]
fn logistic_regression_c_is_lambda_one_over_c_n() {
    let g: Golden = serde_json::from_str(include_str!("golden/sklearn_logistic_golden.json"))
        .expect("golden json");
    assert_eq!(g.cases.len(), 3);
    let (n, p) = (g.x.len(), g.x[0].len());
    let x = Array2::from_shape_fn((n, p), |(i, j)| g.x[i][j]);
    let y = Array1::from(g.y.clone());
    for c in &g.cases {
        let mut params = ElasticNetParams {
            standardize: false,
            lambda: Some(vec![1.0 / (c.c * n as f64)]),
            ..ElasticNetParams::logistic(c.l1_ratio)
        };
        params.solver.tol = 1e-12;
        let path = fit_path(x.view(), y.view(), None, &params).expect("fit");
        let label = format!("C {} l1_ratio {}", c.c, c.l1_ratio);
        for (j, (a, b)) in path.coefs.row(0).iter().zip(&c.coef).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{label} coef {j}: {a} vs {b}"
            );
        }
        assert!(
            (path.intercepts[0] - c.intercept).abs() <= 1e-6,
            "{label} intercept: {} vs {}",
            path.intercepts[0],
            c.intercept
        );
    }
}
