//! Times the symmetric Gram product `X'X` of a benchmark workload: `gram_time NAME DATA_DIR`.
//!
//! Loads `NAME.x.f64` (written by `bench/gen_data.py`), computes `X'X` over all columns with
//! the product the covariance solver uses (`Design::gram_square`, both cores with the default
//! `parallel` feature) five times after a warm-up, and prints each time in seconds. The
//! floor it shows is part of every covariance-mode path fit on that workload.
//!
//! It then times the two other products of the solver's Gram cache, seven times each: the
//! symmetric product over four fifths of the columns, gathered in row blocks (the cache's last
//! block once a quarter of the columns is cached), and the 64 columns of a first block
//! against all columns (`Design::gram_block`).
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
    let full = times(5, || x.gram_square(&all, &mut out, &mut scratch));
    println!("{} X'X ({n} x {p}): {full} s", args[1]);
    let most: Vec<usize> = (0..p).filter(|j| j % 5 != 1).collect();
    let k = most.len();
    let mut square = vec![0.0; k * k];
    let gathered = times(7, || x.gram_square(&most, &mut square, &mut scratch));
    println!("gathered {k} of {p} columns, symmetric: {gathered} s");
    let first: Vec<usize> = (0..64.min(p)).map(|j| j * 7 % p).collect();
    let mut block = vec![0.0; p * first.len()];
    let block_times = times(7, || x.gram_block(&all, &first, &mut block, &mut scratch));
    println!("{} columns against all: {block_times} s", first.len());
}

/// Times `reps` calls of `f`, in seconds, one after the other.
fn times(reps: usize, mut f: impl FnMut()) -> String {
    (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            format!("{:.4}", t0.elapsed().as_secs_f64())
        })
        .collect::<Vec<_>>()
        .join(" ")
}
