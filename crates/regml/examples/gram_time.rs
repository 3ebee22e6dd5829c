//! Times the symmetric Gram product `X'X` of a benchmark workload: `gram_time NAME DATA_DIR`.
//!
//! Loads `NAME.x.f64` (written by `bench/gen_data.py`), computes `X'X` over all columns with
//! the product the covariance solver uses (`Design::gram_square`, both cores with the default
//! `parallel` feature) five times after a warm-up, and prints each time in seconds. The
//! floor it shows is part of every covariance-mode path fit on that workload.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use regml::design::{DenseDesign, Design};
use std::path::Path;
use std::time::Instant;

/// The allocator the `regml` binary uses (see `crates/regml-cli/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: gram_time NAME DATA_DIR");
        std::process::exit(2);
    }
    let dir = Path::new(&args[2]);
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("{}.json", args[1]))).expect("meta"),
    )
    .expect("json");
    let n = meta["n"].as_u64().expect("n") as usize;
    let p = meta["p"].as_u64().expect("p") as usize;
    let bytes = std::fs::read(dir.join(format!("{}.x.f64", args[1]))).expect("x");
    let data: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let x = DenseDesign::from_col_major(data, n, p).expect("x shape");
    let all: Vec<usize> = (0..p).collect();
    let (mut out, mut scratch) = (vec![0.0; p * p], Vec::new());
    x.gram_square(&all, &mut out, &mut scratch);
    let times: Vec<String> = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            x.gram_square(&all, &mut out, &mut scratch);
            format!("{:.3}", t0.elapsed().as_secs_f64())
        })
        .collect();
    println!("{} X'X ({n} x {p}): {} s", args[1], times.join(" "));
}
