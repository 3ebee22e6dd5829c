//! Robustness sweep: `sweep FIRST_SEED END_SEED` fits the default path of one random problem
//! per seed and lists the fits that did not converge at every lambda, failed, or took over
//! 2 s; given one seed, it prints that fit lambda by lambda. `sweep FIRST END cv`
//! cross-validates each problem instead (5 folds) and lists those that fail, leave a lambda
//! unconverged in a fold or the full fit, or take over 10 s. `sweep FIRST END large` fits
//! larger problems (`300..2500` rows and features) and lists the fits over 10 s. `sweep FIRST
//! END shares` fits the same problems with every response binomial and given as proportions
//! (`1 / (1 + exp(-2 (t_i - mean t)))` instead of the median split). Every mode ends with the
//! total passes and seconds of its fits. A last word `colmajor` stores each design
//! column-major, as the CLI reads a CSV file (the same problems; a standardized least-squares
//! fit then reads the caller's matrix through its transformation instead of a copy in
//! covariance mode); without it the designs are row-major.
//!
//! Each seed draws `n` in `5..300` rows and `p` in `1..300` features of one kind: independent
//! uniform, sparse 0/1, nearly coinciding (`5 + 3 c_i + u_ij / 10`), scales from `1e-3` to
//! `1e3`, or one shared component plus noise; with probability 0.3 two columns are made
//! duplicate and constant. The response is least squares or binary (its median split), with
//! `alpha` in {1, 0.5, 0.05, 0}, and at random observation weights, penalty factors (every
//! fifth feature unpenalized), bounds, standardization and an intercept.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use ndarray::{Array1, Array2, ShapeBuilder};
use rand::{Rng, SeedableRng};
use regml::cv::{cv_path, CvParams};
use regml::linear::{fit_path, ElasticNetParams, Family};
use std::time::Instant;

/// One random problem: design, response, weights and parameters.
fn problem(
    seed: u64,
    large: bool,
    shares: bool,
    col_major: bool,
) -> (
    Array2<f64>,
    Array1<f64>,
    Option<Array1<f64>>,
    ElasticNetParams,
    String,
) {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (n, p) = if large {
        (
            r.random_range(300..2500usize),
            r.random_range(300..2500usize),
        )
    } else {
        (r.random_range(5..300usize), r.random_range(1..300usize))
    };
    let kind = r.random_range(0..5u32);
    let mut x = Array2::<f64>::zeros((n, p).set_f(col_major));
    for i in 0..n {
        let common = r.random::<f64>() - 0.5;
        for j in 0..p {
            let u = r.random::<f64>();
            x[[i, j]] = match kind {
                0 => 2.0 * u - 1.0,
                1 => f64::from(u8::from(u < 0.1)),
                2 => 5.0 + 3.0 * common + 0.1 * (u - 0.5),
                3 => (u - 0.5) * 10f64.powi((j % 7) as i32 - 3),
                _ => common + 0.5 * (u - 0.5),
            };
        }
    }
    if p > 3 && r.random::<f64>() < 0.3 {
        let c = x.column(0).to_owned();
        x.column_mut(1).assign(&c);
        x.column_mut(2).fill(1.5);
    }
    // drawn in every mode, so that the other draws stay those of the seed
    let binomial = r.random::<f64>() < 0.5 || shares;
    let t: Vec<f64> = (0..n)
        .map(|i| x[[i, 0]] - 0.5 * x[[i, p / 2]] + r.random::<f64>() - 0.5)
        .collect();
    let mean = t.iter().sum::<f64>() / n as f64;
    let y: Array1<f64> = if shares {
        t.iter()
            .map(|v| 1.0 / (1.0 + (-2.0 * (v - mean)).exp()))
            .collect()
    } else if binomial {
        t.iter().map(|v| f64::from(u8::from(*v > mean))).collect()
    } else {
        t.into_iter().collect()
    };
    let alpha = [1.0, 0.5, 0.05, 0.0][r.random_range(0..4usize)];
    let w = (r.random::<f64>() < 0.3).then(|| (0..n).map(|_| 2.0 * r.random::<f64>()).collect());
    let pf = (r.random::<f64>() < 0.3).then(|| {
        (0..p)
            .map(|j| {
                if j % 5 == 0 {
                    0.0
                } else {
                    2.0 * r.random::<f64>()
                }
            })
            .collect::<Vec<f64>>()
    });
    let bounds = r.random::<f64>() < 0.2;
    let params = ElasticNetParams {
        family: if binomial {
            Family::Binomial
        } else {
            Family::Gaussian
        },
        alpha,
        standardize: r.random::<f64>() < 0.7,
        fit_intercept: r.random::<f64>() < 0.8,
        lower_limits: bounds.then(|| vec![-0.5; p]),
        upper_limits: bounds.then(|| vec![0.3; p]),
        ..ElasticNetParams::default()
    };
    let desc = format!(
        "seed {seed}: {n} x {p}, kind {kind}, {:?}, alpha {alpha}, weights {}, \
         penalty factors {}, bounds {bounds}, standardize {}, intercept {}",
        params.family,
        w.is_some(),
        pf.is_some(),
        params.standardize,
        params.fit_intercept
    );
    let params = ElasticNetParams {
        penalty_factor: pf,
        ..params
    };
    (x, y, w, params, desc)
}

/// Cross-validates the problem of `seed` (5 folds) and prints it if it fails, a warning of
/// its folds or of the full fit says a lambda did not converge, or it takes over 10 s.
/// Returns whether it printed.
fn sweep_cv(seed: u64, col_major: bool) -> bool {
    let (x, y, w, params, desc) = problem(seed, false, false, col_major);
    let t0 = Instant::now();
    let cv = CvParams {
        nfolds: 5,
        seed,
        ..CvParams::default()
    };
    let fit = cv_path(
        x.view(),
        y.view(),
        w.as_ref().map(|a| a.view()),
        &params,
        &cv,
    );
    let secs = t0.elapsed().as_secs_f64();
    match fit {
        Err(e) => {
            println!("error {desc}: {e}");
            true
        }
        Ok(res) => {
            let unconverged: Vec<&String> = res
                .warnings
                .iter()
                .filter(|w| w.contains("did not converge"))
                .collect();
            let bad = !(res.lambda_min.is_finite() && res.lambda_1se.is_finite())
                || res.cvm.iter().any(|v| !v.is_finite());
            let flag = !unconverged.is_empty() || bad || secs > 10.0;
            if flag {
                println!(
                    "{desc}: cv {} lambdas, lambda_min {:.4e}, lambda_1se {:.4e}, \
                     {} unconverged, {secs:.2} s",
                    res.cvm.len(),
                    res.lambda_min,
                    res.lambda_1se,
                    unconverged.len()
                );
                for w in unconverged.iter().take(3) {
                    println!("  {w}");
                }
            }
            flag
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let col_major = args.len() > 2 && args.last().is_some_and(|a| a == "colmajor");
    if col_major {
        args.pop();
    }
    let mode = args.get(2).map(String::as_str);
    let seeds: Vec<u64> = args
        .iter()
        .take(2)
        .map(|s| s.parse().expect("seeds are integers"))
        .collect();
    let (&[first, end], 2 | 3, None | Some("cv" | "large" | "shares")) =
        (&seeds[..], args.len(), mode)
    else {
        eprintln!("usage: sweep FIRST_SEED END_SEED [cv | large | shares] [colmajor]");
        std::process::exit(2);
    };
    let large = mode == Some("large");
    let slow = if large { 10.0 } else { 2.0 };
    let start = Instant::now();
    let mut flagged = 0;
    if mode == Some("cv") {
        for seed in first..end {
            flagged += usize::from(sweep_cv(seed, col_major));
        }
        println!(
            "seeds {first}..{end} cross-validated: {flagged} flagged, {:.1} s in all",
            start.elapsed().as_secs_f64()
        );
        return;
    }
    let mut total_passes = 0usize;
    for seed in first..end {
        let (x, y, w, params, desc) = problem(seed, large, mode == Some("shares"), col_major);
        let t0 = Instant::now();
        let fit = fit_path(x.view(), y.view(), w.as_ref().map(|a| a.view()), &params);
        let secs = t0.elapsed().as_secs_f64();
        match fit {
            Err(e) => {
                flagged += 1;
                println!("error {desc}: {e}");
            }
            Ok(path) => {
                let worst = path.info.iter().map(|i| i.relative_gap).fold(0.0, f64::max);
                let unconverged = path.info.iter().filter(|i| !i.converged).count();
                let passes: usize = path.info.iter().map(|i| i.n_iter).sum();
                total_passes += passes;
                let flag = unconverged > 0 || secs > slow;
                flagged += usize::from(flag);
                if flag || end == first + 1 {
                    println!(
                        "{desc}: worst gap {worst:.2e}, {unconverged} lambdas unconverged, \
                         {passes} passes, {secs:.2} s"
                    );
                    if end == first + 1 {
                        // one seed: every lambda
                        for (k, i) in path.info.iter().enumerate() {
                            let big = path.coefs.row(k).iter().fold(0.0f64, |m, v| m.max(v.abs()));
                            println!(
                                "  #{k} lambda {:.4e}: {} passes, gap {:.2e}, {:?}, \
                                 dev ratio {:.6}, max |b| {big:.3e}, intercept {:.3e}",
                                path.lambdas[k],
                                i.n_iter,
                                i.relative_gap,
                                i.certificate,
                                path.dev_ratio[k],
                                path.intercepts[k]
                            );
                        }
                    }
                    for w in path
                        .warnings
                        .iter()
                        .filter(|w| w.contains("did not converge"))
                    {
                        println!("  {w}");
                    }
                }
            }
        }
    }
    println!(
        "seeds {first}..{end}: {flagged} flagged, {total_passes} passes, {:.1} s in all",
        start.elapsed().as_secs_f64()
    );
}
