//! Benchmark runner for regml: `bench_path PROBLEM_ID DATA_DIR OUT_DIR [MODE]`.
//!
//! Loads a workload written by `bench/gen_data.py`, warms up on the first 5 lambdas, times
//! the whole path in-process (loading excluded), and writes the coefficients (one row per
//! lambda) and the time, like the peers' runners. A problem's `penalty_factor`, when given,
//! is passed on. MODE `default` (the default) fits at the
//! default tolerance (relative duality gap <= 1e-6 at every lambda); `tol=X` at relative gap
//! <= X.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use ndarray::{Array1, Array2, ShapeBuilder};
use regml::linear::{fit_path, ElasticNetParams, Family};
use regml::solver::SolverOptions;
use std::path::Path;
use std::time::Instant;

/// The allocator the `regml` binary uses (see `crates/regml-cli/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: bench_path PROBLEM_ID DATA_DIR OUT_DIR [default | tol=X]");
        std::process::exit(2);
    }
    let (pid, data, out) = (&args[1], Path::new(&args[2]), Path::new(&args[3]));
    let mode = args.get(4).map_or("default", |m| m.as_str());
    let solver = SolverOptions {
        tol: match mode.strip_prefix("tol=") {
            Some(t) => t.parse().expect("tol=X with a number X"),
            None if mode == "default" => SolverOptions::default().tol,
            None => panic!("unknown mode {mode}"),
        },
        ..SolverOptions::default()
    };
    let name = pid.split('-').next().expect("problem id");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join(format!("{name}.json"))).expect("meta"))
            .expect("json");
    let n = meta["n"].as_u64().expect("n") as usize;
    let p = meta["p"].as_u64().expect("p") as usize;
    let prob = meta["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .find(|q| q["id"] == pid.as_str())
        .expect("problem id in meta");
    let x = Array2::from_shape_vec((n, p).f(), read_f64(&data.join(format!("{name}.x.f64"))))
        .expect("x shape");
    let y = Array1::from(read_f64(&data.join(format!("{name}.y.f64"))));
    let lambdas: Vec<f64> = prob["lambdas"]
        .as_array()
        .expect("lambdas")
        .iter()
        .map(|v| v.as_f64().expect("lambda"))
        .collect();
    let params = |l: Vec<f64>| ElasticNetParams {
        family: if prob["family"] == "gaussian" {
            Family::Gaussian
        } else {
            Family::Binomial
        },
        alpha: prob["alpha"].as_f64().expect("alpha"),
        lambda: Some(l),
        penalty_factor: prob["penalty_factor"].as_array().map(|pf| {
            pf.iter()
                .map(|v| v.as_f64().expect("penalty factor"))
                .collect()
        }),
        standardize: false,
        fit_intercept: false,
        solver: solver.clone(),
        ..ElasticNetParams::default()
    };
    fit_path(x.view(), y.view(), None, &params(lambdas[..5].to_vec())).expect("warm-up");
    let t0 = Instant::now();
    let path = fit_path(x.view(), y.view(), None, &params(lambdas)).expect("fit");
    let secs = t0.elapsed().as_secs_f64();
    let bytes: Vec<u8> = path.coefs.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(out.join(format!("{pid}.regml.{mode}.coef.f64")), bytes).expect("write");
    let info = serde_json::json!({
        "seconds": secs,
        "tol": solver.tol,
        "reported_worst_gap": path.info.iter().map(|i| i.relative_gap).fold(0.0, f64::max),
        "passes": path.info.iter().map(|i| i.n_iter).sum::<usize>(),
    });
    std::fs::write(
        out.join(format!("{pid}.regml.{mode}.json")),
        info.to_string(),
    )
    .expect("write");
}
