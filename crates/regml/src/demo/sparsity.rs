//! Lasso, ridge and elastic net on correlated features: which coefficients reach exactly
//! zero, and when.
//!
//! Eight features: `a1, a2, a3` share one latent factor (pairwise correlation about 0.96),
//! `b1, b2` share another (about 0.9), and `n1, n2, n3` are independent noise. The response is
//! `y = a1 + a2 + a3 + 1.5 b1 + 1.5 b2 + e`, `e ~ N(0, 1)`: every correlated feature matters
//! equally within its group. The lasso tends to pick one member of a group, ridge keeps all
//! features nonzero at every `lambda`, and the elastic net brings groups in together.

use super::{normal, DemoOutput};
use crate::cv::{cv_path, CvParams, CvResult};
use crate::linear::ElasticNetParams;
use crate::plot::{coef_path, Figure, PathAxis};
use crate::Result;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Feature names of the demo data.
pub const NAMES: [&str; 8] = ["a1", "a2", "a3", "b1", "b2", "n1", "n2", "n3"];

/// The demo data: `n` rows from `seed`.
pub fn data(n: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, 8));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        let (za, zb) = (normal(&mut rng), normal(&mut rng));
        for j in 0..3 {
            x[[i, j]] = za + 0.2 * normal(&mut rng);
        }
        for j in 3..5 {
            x[[i, j]] = zb + 0.33 * normal(&mut rng);
        }
        for j in 5..8 {
            x[[i, j]] = normal(&mut rng);
        }
        y[i] = x[[i, 0]] + x[[i, 1]] + x[[i, 2]] + 1.5 * (x[[i, 3]] + x[[i, 4]]) + normal(&mut rng);
    }
    (x, y)
}

/// `log(lambda)` where feature `j` first becomes nonzero along the path (from the largest
/// `lambda`), or `None` if it never does.
pub fn entry(cv: &CvResult, j: usize) -> Option<f64> {
    (0..cv.path.lambdas.len())
        .find(|&k| cv.path.coefs[[k, j]] != 0.0)
        .map(|k| cv.path.lambdas[k].ln())
}

/// Runs the demo: figure `sparsity-paths` (three coefficient-path panels) and a summary
/// table of entry points and coefficients at `lambda.min`.
pub fn run(n: usize, seed: u64) -> Result<DemoOutput> {
    if !(20..=100_000).contains(&n) {
        return Err(crate::Error::param("rows", n, "must be 20..=100000"));
    }
    let (x, y) = data(n, seed);
    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let mut panels = Vec::new();
    let mut fits = Vec::new();
    for (title, alpha) in [
        ("lasso (alpha = 1)", 1.0),
        ("elastic net (alpha = 0.5)", 0.5),
        ("ridge (alpha = 0)", 0.0),
    ] {
        let params = ElasticNetParams {
            alpha,
            ..ElasticNetParams::default()
        };
        let cv = cv_path(
            x.view(),
            y.view(),
            None,
            &params,
            &CvParams {
                seed,
                ..CvParams::default()
            },
        )?;
        let mut chart = coef_path(&cv.path, &names, PathAxis::LogLambda);
        chart.title = title.into();
        chart.vlines.push(crate::plot::VLine {
            x: cv.lambda_min.ln(),
            label: "lambda.min".into(),
            color: "#555".into(),
            dash: "2 3".into(),
        });
        panels.push(chart);
        fits.push((title, cv));
    }
    let mut summary = vec![
        format!(
            "{n} rows; a1..a3 share a factor (corr ~0.96), b1, b2 another (~0.9), n1..n3 are noise; y = a1 + a2 + a3 + 1.5 b1 + 1.5 b2 + N(0,1)"
        ),
        format!(
            "{:<28}{}",
            "log(lambda) of entry",
            NAMES.iter().map(|n| format!("{n:>8}")).collect::<String>()
        ),
    ];
    for (title, cv) in &fits {
        summary.push(format!(
            "{:<28}{}",
            title,
            (0..8)
                .map(|j| match entry(cv, j) {
                    Some(v) => format!("{v:>8.2}"),
                    None => format!("{:>8}", "never"),
                })
                .collect::<String>()
        ));
    }
    summary.push(format!(
        "{:<28}{}",
        "coefficients at lambda.min",
        NAMES.iter().map(|n| format!("{n:>8}")).collect::<String>()
    ));
    for (title, cv) in &fits {
        summary.push(format!(
            "{:<28}{}",
            title,
            cv.path
                .coefs
                .row(cv.index_min)
                .iter()
                .map(|v| if *v == 0.0 {
                    format!("{:>8}", ".")
                } else {
                    format!("{v:>8.3}")
                })
                .collect::<String>()
        ));
    }
    // statements computed from the paths
    let spread = |cv: &CvResult, group: std::ops::Range<usize>| -> Option<f64> {
        let e: Vec<f64> = group.map(|j| entry(cv, j)).collect::<Option<_>>()?;
        Some(
            e.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b))
                - e.iter().fold(f64::INFINITY, |a, b| a.min(*b)),
        )
    };
    let fmt = |v: Option<f64>| v.map_or("(not all enter)".to_string(), |v| format!("{v:.2}"));
    summary.push(format!(
        "'.' is an exact zero. Spread of the entry log(lambda) within group a1..a3: lasso {}, elastic net {} (the elastic net brings a correlated group in together).",
        fmt(spread(&fits[0].1, 0..3)),
        fmt(spread(&fits[1].1, 0..3))
    ));
    let ridge_zeros = fits[2].1.path.coefs.iter().filter(|v| **v == 0.0).count();
    let lasso_zero_noise = (5..8)
        .filter(|&j| fits[0].1.path.coefs[[fits[0].1.index_min, j]] == 0.0)
        .count();
    summary.push(format!(
        "Ridge: {ridge_zeros} exact zeros on its whole path. Lasso at lambda.min: {lasso_zero_noise} of the 3 noise features exactly zero."
    ));
    Ok(DemoOutput {
        figures: vec![(
            "sparsity-paths".into(),
            Figure::grid(
                "Correlated features: which coefficients are exactly zero, and when",
                panels,
                3,
            ),
        )],
        summary,
    })
}
