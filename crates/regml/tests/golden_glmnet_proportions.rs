//! Binomial paths on grouped data against glmnet (`tests/golden/make_glmnet_proportions_golden.R`:
//! a two-column matrix of failures and successes, thresh = 1e-14). regml takes the same data as
//! proportions `successes / trials` with the trials as weights. On glmnet's default grid the
//! path must have the same lambdas (`lambda_max` from the proportions), the same explained
//! deviance (measured from the saturated model, as glmnet's `dev.ratio`; within 1e-5) and
//! objectives within 1e-7 of glmnet's at every lambda.

mod common;

use ndarray::{Array1, Array2};
use regml::linear::{fit_path, ElasticNetParams};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    /// One row per observation.
    x: Vec<Vec<f64>>,
    trials: Vec<f64>,
    successes: Vec<f64>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    alpha: f64,
    standardize: bool,
    lambda: Vec<f64>,
    dev_ratio: Vec<f64>,
    a0: Vec<f64>,
    /// One row per lambda.
    beta: Vec<Vec<f64>>,
}

#[test]
fn grouped_binomial_paths_match_glmnet() {
    let g: Golden = serde_json::from_str(include_str!("golden/glmnet_proportions_golden.json"))
        .expect("golden json");
    assert_eq!(g.cases.len(), 3);
    let (n, p) = (g.x.len(), g.x[0].len());
    let x = Array2::from_shape_fn((n, p), |(i, j)| g.x[i][j]);
    let w = Array1::from(g.trials.clone());
    let y: Array1<f64> = g
        .successes
        .iter()
        .zip(&g.trials)
        .map(|(s, m)| s / m)
        .collect();
    assert!(y.iter().any(|v| *v > 0.0 && *v < 1.0));
    for (i, c) in g.cases.iter().enumerate() {
        let label = format!(
            "case {i} (alpha {}, standardize {})",
            c.alpha, c.standardize
        );
        let mut params = ElasticNetParams {
            standardize: c.standardize,
            ..ElasticNetParams::logistic(c.alpha)
        };
        params.solver.tol = 1e-10;
        let path = fit_path(x.view(), y.view(), Some(w.view()), &params).expect("fit");
        common::assert_same_lambdas(&path.lambdas, &c.lambda, 1e-10, &label);
        for (k, (a, b)) in path.dev_ratio.iter().zip(&c.dev_ratio).enumerate() {
            // objectives that agree to 1e-12 can leave the deviance ratios 1e-6 apart where a
            // coefficient is at the edge of entering; measuring the deviance from a wrong
            // saturated model would move them by tenths
            assert!(
                (a - b).abs() <= 1e-5,
                "{label}, lambda #{k}: dev_ratio {a} against {b}"
            );
        }
        common::assert_objectives_match(
            &x,
            &y,
            Some(&w),
            &params,
            &path,
            &c.a0,
            &c.beta,
            1e-7,
            &label,
        );
    }
}
