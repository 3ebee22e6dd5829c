//! Logistic paths whose coordinate-descent passes run on two threads (dense data with at least
//! 4096 rows, fitted from outside the rayon pool), against the same paths kept on one thread
//! (fitted inside a one-thread pool).
#![cfg(feature = "parallel")]

use ndarray::{Array1, Array2};
use regml::linear::{fit_path, objective, ElasticNetParams, LinearPath};

/// `n x p` correlated features and 0/1 labels from a logistic model, from a fixed sequence.
fn data(n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let mut state: u64 = 20261201;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut x = Array2::zeros((n, p));
    for i in 0..n {
        let mut prev = 0.0;
        for j in 0..p {
            prev = 0.6 * prev + uniform() - 0.5;
            x[[i, j]] = prev + 0.1 * j as f64;
        }
    }
    let y = Array1::from_iter((0..n).map(|i| {
        let eta = 4.0 * x[[i, 0]] - 3.0 * x[[i, 5]] + 2.0 * x[[i, 9]];
        f64::from(uniform() < 1.0 / (1.0 + (-eta).exp()))
    }));
    (x, y)
}

#[test]
fn a_logistic_path_on_two_threads_certifies_like_the_one_thread_path() {
    // this test binary's global pool has two threads on any machine
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("the global pool is not built before this test");
    let (x, y) = data(4500, 40);
    let params = ElasticNetParams {
        nlambda: 30,
        ..ElasticNetParams::logistic(0.5)
    };
    let fit = || fit_path(x.view(), y.view(), None, &params).expect("fit");
    let split: LinearPath = fit();
    let serial: LinearPath = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(fit);
    assert_eq!(split.lambdas, serial.lambdas);
    assert!(split.df.iter().any(|&d| d >= 10), "{:?}", split.df);
    for k in 0..split.lambdas.len() {
        let (a, b) = (&split.info[k], &serial.info[k]);
        assert!(a.converged && b.converged, "lambda {k}");
        assert!(
            a.relative_gap <= 1e-6 && b.relative_gap <= 1e-6,
            "lambda {k}"
        );
        // each objective is within its duality gap of the optimum
        let obj = |path: &LinearPath| {
            objective(
                x.view(),
                y.view(),
                None,
                &params,
                path.lambdas[k],
                path.intercepts[k],
                path.coefs.row(k),
            )
            .expect("objective")
        };
        let (pa, pb) = (obj(&split), obj(&serial));
        assert!(
            (pa - pb).abs() <= a.duality_gap + b.duality_gap + 1e-12 * pa.abs(),
            "lambda {k}: {pa} against {pb}"
        );
    }
}
