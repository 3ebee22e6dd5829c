mod common;
use regml::linear::{fit_path, ElasticNetParams};

#[test]
fn smoke() {
    for (n, p) in [(200, 50), (50, 200)] {
        let (x, y) = common::simulate(n, p, 0.6, 10, 3.0, 1);
        for alpha in [1.0, 0.5, 0.05, 0.0] {
            let path = fit_path(
                x.view(),
                y.view(),
                None,
                &ElasticNetParams::elastic_net(alpha),
            )
            .unwrap();
            let worst = path.info.iter().map(|i| i.relative_gap).fold(0.0, f64::max);
            let iters: usize = path.info.iter().map(|i| i.n_iter).sum();
            eprintln!("gauss n={n} p={p} alpha={alpha}: {} lambdas worst gap {worst:.2e} iters {iters} df_last {} dev {:.4}", path.lambdas.len(), path.df.last().unwrap(), path.dev_ratio.last().unwrap());
        }
        let (x, y) = common::simulate_binary(n, p, 0.6, 10, 2);
        for alpha in [1.0, 0.5, 0.05] {
            let path =
                fit_path(x.view(), y.view(), None, &ElasticNetParams::logistic(alpha)).unwrap();
            let worst = path.info.iter().map(|i| i.relative_gap).fold(0.0, f64::max);
            let iters: usize = path.info.iter().map(|i| i.n_iter).sum();
            eprintln!("binom n={n} p={p} alpha={alpha}: {} lambdas worst gap {worst:.2e} iters {iters} df_last {} dev {:.4} warn {:?}", path.lambdas.len(), path.df.last().unwrap(), path.dev_ratio.last().unwrap(), path.warnings.len());
        }
    }
}
