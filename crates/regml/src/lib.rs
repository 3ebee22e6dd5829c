//! # regml: regularized machine learning with certified accuracy
//!
//! Penalized linear and logistic regression (lasso, ridge, elastic net) with glmnet's
//! semantics: whole regularization paths with warm starts, cross-validated `lambda`, and a
//! duality-gap certificate for every fitted `lambda`.
//!
//! Regularized neural networks ([`nn`]): Keras-style dense networks with L1 / L2 / elastic-net
//! regularizers (the same [`penalty::ElasticNet`]), dropout, batch normalization, SGD / Adam /
//! AdamW with PyTorch's formulas, schedules, early stopping and checkpoints.
//!
//! Performance note: matrix products go through `matrixmultiply`, which allocates its packing
//! buffers on every call. With glibc's allocator those pages are returned to the kernel and
//! faulted in again each time. Applications should install an allocator that keeps freed
//! memory, as the `regml` binary does with mimalloc; on the project's benchmarks this saved
//! 10-30% of the time.
//!
//! Layers: estimator ([`linear`], [`cv`], [`ridge`]) -> path -> solver ([`solver`]) ->
//! datafit / penalty ([`datafit`], [`penalty`]) over a [`design::Design`].
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod cv;
pub mod data;
pub mod datafit;
pub mod demo;
pub mod design;
mod error;
pub mod kernels;
pub mod linear;
pub mod model;
pub mod nn;
pub mod penalty;
pub mod playground;
pub mod plot;
pub mod ridge;
pub mod solver;
mod vmath;

pub use error::{Error, Result};
pub use linear::{fit_path, lambda_max, ElasticNetParams, Family, LinearPath};
pub use solver::{Certificate, FitInfo, SolverOptions};
