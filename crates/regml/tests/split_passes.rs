//! Logistic paths whose coordinate-descent passes run on two threads (dense data with at least
//! 4096 rows, fitted from outside the rayon pool), against the same paths kept on one thread
//! (fitted inside a one-thread pool).
#![cfg(feature = "parallel")]

mod common;

use regml::linear::{fit_path, objective, ElasticNetParams, LinearPath};

#[test]
fn a_logistic_path_on_two_threads_certifies_like_the_one_thread_path() {
    // this test binary's global pool has two threads on any machine
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("the global pool is not built before this test");
    let (x, y) = common::simulate_binary(4500, 40, 0.6, 5, 17);
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
