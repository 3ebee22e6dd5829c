//! Shared helpers for the integration tests: seeded simulated data.
#![allow(dead_code)]

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Standard normal by Box-Muller.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// AR(1)-correlated features (corr rho^|i-j|), `k` true nonzeros, noise for the given SNR.
pub fn simulate(
    n: usize,
    p: usize,
    rho: f64,
    k: usize,
    snr: f64,
    seed: u64,
) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, p));
    let s = (1.0 - rho * rho).sqrt();
    for i in 0..n {
        let mut prev = normal(&mut rng);
        x[[i, 0]] = prev;
        for j in 1..p {
            prev = rho * prev + s * normal(&mut rng);
            x[[i, j]] = prev;
        }
    }
    let mut beta = Array1::zeros(p);
    for t in 0..k.min(p) {
        let j = (t * p) / k.max(1);
        beta[j] = if t % 2 == 0 { 1.0 } else { -1.0 } * (1.0 + t as f64 / k as f64);
    }
    let signal = x.dot(&beta);
    let var = signal.iter().map(|v| v * v).sum::<f64>() / n as f64;
    let sigma = (var / snr).sqrt().max(1e-3);
    let y = signal.mapv(|v| v + 0.0) + Array1::from_iter((0..n).map(|_| sigma * normal(&mut rng)));
    (x, y)
}

/// Binary labels from a logistic model on simulated features.
pub fn simulate_binary(
    n: usize,
    p: usize,
    rho: f64,
    k: usize,
    seed: u64,
) -> (Array2<f64>, Array1<f64>) {
    let (x, y) = simulate(n, p, rho, k, 1.0, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
    let y = y.mapv(|e| {
        let p = 1.0 / (1.0 + (-e).exp());
        if rng.random::<f64>() < p {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

/// Asserts that at every lambda of `path` the objective ([`regml::linear::objective`]) of
/// its coefficients is within `rel` (relative) of that of a reference solution, intercepts
/// `a0` and coefficient rows `beta`, on the same data; `label` names the case in failures.
#[allow(clippy::too_many_arguments)]
pub fn assert_objectives_match(
    x: &Array2<f64>,
    y: &Array1<f64>,
    w: Option<&Array1<f64>>,
    params: &regml::linear::ElasticNetParams,
    path: &regml::linear::LinearPath,
    a0: &[f64],
    beta: &[Vec<f64>],
    rel: f64,
    label: &str,
) {
    for k in 0..path.lambdas.len() {
        let obj = |b0: f64, b: Array1<f64>| {
            regml::linear::objective(
                x.view(),
                y.view(),
                w.map(|w| w.view()),
                params,
                path.lambdas[k],
                b0,
                b.view(),
            )
            .expect("objective")
        };
        let ours = obj(path.intercepts[k], path.coefs.row(k).to_owned());
        let theirs = obj(a0[k], Array1::from(beta[k].clone()));
        assert!(
            (ours - theirs).abs() <= rel * theirs.abs(),
            "{label}, lambda #{k}: objective {ours} against the reference's {theirs}"
        );
    }
}

/// Asserts that `ours` has as many lambdas as `theirs`, each within `rel` (relative).
pub fn assert_same_lambdas(ours: &[f64], theirs: &[f64], rel: f64, label: &str) {
    assert_eq!(ours.len(), theirs.len(), "{label}: number of lambdas");
    for (k, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= rel * b,
            "{label}, lambda #{k}: {a} against {b}"
        );
    }
}
