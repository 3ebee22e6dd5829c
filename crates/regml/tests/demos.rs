//! The demonstrations compute what they claim: exact constrained solutions, overfitting
//! without a penalty, sparsity of the lasso only.

use regml::demo::{geometry, overfitting, polynomial, sparsity};

#[test]
fn geometry_solutions_are_exact_and_on_the_boundary() {
    let q = geometry::Quadratic::default();
    for alpha in [1.0, 0.5, 0.0] {
        let (b, lambda) = geometry::solve_constrained(&q, 1.0, alpha);
        assert!(lambda > 0.0);
        // on the boundary of the constraint set
        let r = geometry::radius_of(b, alpha);
        assert!((r - 1.0).abs() < 1e-10, "alpha {alpha}: radius {r}");
        // no boundary point has a lower loss (dense scan of the boundary)
        let best = geometry::ball(1.0, alpha, 20_000)
            .into_iter()
            .map(|(x, y)| q.loss([x, y]))
            .fold(f64::INFINITY, f64::min);
        assert!(
            q.loss(b) <= best + 1e-7,
            "alpha {alpha}: {} vs {best}",
            q.loss(b)
        );
        // and the penalized problem at that lambda has the same solution (KKT by finite
        // differences of the smooth part plus the subgradient)
        let g = |j: usize| {
            let mut e = b;
            e[j] += 1e-7;
            (q.loss(e) - q.loss(b)) / 1e-7
        };
        for j in 0..2 {
            let smooth = g(j) + lambda * (1.0 - alpha) * b[j];
            if b[j] != 0.0 {
                assert!((smooth + lambda * alpha * b[j].signum()).abs() < 1e-5);
            } else {
                assert!(smooth.abs() <= lambda * alpha + 1e-5);
            }
        }
    }
    // the default picture: the lasso solution sits on a corner, ridge's does not
    let (l1, _) = geometry::solve_constrained(&q, 1.0, 1.0);
    assert_eq!(l1[1], 0.0);
    let (l2, _) = geometry::solve_constrained(&q, 1.0, 0.0);
    assert!(l2[0] != 0.0 && l2[1] != 0.0);
    // a radius that contains the unpenalized solution leaves it unchanged
    let (free, lambda) = geometry::solve_constrained(&q, 5.0, 0.5);
    assert_eq!((free, lambda), (q.center, 0.0));
    let out = geometry::run(&geometry::GeometryParams::default()).expect("demo");
    assert_eq!(out.figures.len(), 2);
    assert!(out.summary.iter().any(|l| l.contains("0 (exactly)")));
    let bad = geometry::GeometryParams {
        problem: geometry::Quadratic {
            center: [1.0, 1.0],
            h: [1.0, 2.0, 1.0],
        },
        ..geometry::GeometryParams::default()
    };
    assert!(geometry::run(&bad).is_err(), "H not positive definite");
}

#[test]
fn polynomial_overfits_without_a_penalty_and_bases_span_the_same_fits() {
    let p = polynomial::PolynomialParams::default();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
    let (xs, ys) = polynomial::sample(20, 0.25, &mut rng);
    let (xt, yt) = polynomial::sample(500, 0.25, &mut rng);
    let design = |basis| {
        ndarray::Array2::from_shape_fn((xs.len(), p.degree), |(i, j)| {
            polynomial::features(xs[i], p.degree, basis)[j]
        })
    };
    let mono = polynomial::least_squares(&design(polynomial::Basis::Monomial), &ys).unwrap();
    let leg = polynomial::least_squares(&design(polynomial::Basis::Legendre), &ys).unwrap();
    // the same column space: the same fitted values
    for &x in &xt[..50] {
        let (a, b) = (
            mono.eval(x, polynomial::Basis::Monomial),
            leg.eval(x, polynomial::Basis::Legendre),
        );
        assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
    }
    // unpenalized: tiny training error, test error far above the noise floor
    assert!(mono.mse(&xs, &ys, polynomial::Basis::Monomial) < 0.0625);
    assert!(mono.mse(&xt, &yt, polynomial::Basis::Monomial) > 1.0);

    let out = polynomial::run(&p).expect("demo");
    assert_eq!(out.figures.len(), 3);
    // summary rows: name, train MSE, test MSE (columns 3 and 5 after splitting)
    let row = |name: &str| -> (f64, f64, usize) {
        let l = out
            .summary
            .iter()
            .find(|l| l.starts_with(name))
            .expect(name);
        let t: Vec<&str> = l.split_whitespace().collect();
        let num = |key: &str| {
            let i = t.iter().position(|w| *w == key).expect(key);
            t[i + 2].parse::<f64>().expect("number")
        };
        let zeros: usize = t
            .last()
            .and_then(|z| z.split('/').next())
            .unwrap()
            .parse()
            .unwrap();
        (num("train"), num("test"), zeros)
    };
    let (ols_train, ols_test, _) = row("no penalty");
    let (l2_train, l2_test, l2_zeros) = row("L2, leave-one-out");
    let (_, l1_test, l1_zeros) = row("L1, 5-fold CV");
    assert!(ols_train < l2_train && ols_test > 10.0 * l2_test);
    assert!(l1_test < ols_test);
    assert_eq!(l2_zeros, 0);
    assert!(
        l1_zeros > 0,
        "the lasso sets some coefficients exactly to zero"
    );
}

#[test]
fn sparsity_demo_ridge_never_zero_lasso_and_elastic_net_enter_differently() {
    let out = sparsity::run(100, 1).expect("demo");
    let line = out
        .summary
        .iter()
        .find(|l| l.starts_with("Ridge:"))
        .expect("ridge line");
    assert!(line.starts_with("Ridge: 0 exact zeros"), "{line}");
    let spread = out
        .summary
        .iter()
        .find(|l| l.contains("Spread of the entry"))
        .expect("spread line");
    assert!(spread.contains("elastic net 0.00"), "{spread}");
    assert_eq!(out.figures[0].1.charts.len(), 3);
}

#[test]
fn overfitting_runs_four_trainings_from_the_same_start() {
    let p = overfitting::OverfittingParams {
        epochs: 8,
        ..overfitting::OverfittingParams::default()
    };
    let runs = overfitting::train_all(&p).expect("train");
    assert_eq!(runs.len(), 4);
    for (name, h) in &runs {
        assert_eq!(h.epochs.len(), 8, "{name}");
        assert!(h.epochs.iter().all(|e| e.val_loss.is_some()), "{name}");
    }
    // no regularization: the training loss falls
    let h0 = &runs[0].1;
    assert!(h0.epochs[7].loss < 0.5 * h0.epochs[0].loss);
    // the weight-decay run differs from the plain run only by the decay
    assert_ne!(runs[3].1.epochs[7].loss, h0.epochs[7].loss);
    let bad = overfitting::OverfittingParams { n_train: 1700, ..p };
    assert!(overfitting::train_all(&bad).is_err());
}
