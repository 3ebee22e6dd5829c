//! Demonstrations of regularization computed by the same engine that fits real models:
//! each returns figures and a plain-text account of what they show (the library prints
//! nothing; the `regml demo` command writes the figures and prints the text).
//!
//! - [`polynomial`]: a degree-15 polynomial through noisy points, unpenalized, with L2 and
//!   with L1; overfitting and its cure.
//! - [`geometry`]: a two-feature least-squares problem, its loss contours and the L1 diamond,
//!   L2 circle and elastic-net ball of one radius, with the exact constrained solutions.
//! - [`sparsity`]: lasso, ridge and elastic net on correlated features.
//! - [`overfitting`]: a network trained without and with L2, dropout and weight decay.

pub mod geometry;
pub mod overfitting;
pub mod polynomial;
pub mod sparsity;

use crate::plot::Figure;

pub(crate) use crate::nn::standard_normal as normal;

/// What a demo produced: named figures (file stems) and the lines that explain them.
#[derive(Clone, Debug)]
pub struct DemoOutput {
    /// `(file stem, figure)` pairs, e.g. `("polynomial-fits", ..)`.
    pub figures: Vec<(String, Figure)>,
    /// Plain-text explanation, one line per entry.
    pub summary: Vec<String>,
}

/// The demos by name, with a one-line description.
pub const DEMOS: &[(&str, &str)] = &[
    (
        "polynomial",
        "degree-15 polynomial through noisy points: no penalty, L2, L1",
    ),
    (
        "geometry",
        "loss contours meeting the L1 diamond, the L2 circle and the elastic-net ball",
    ),
    (
        "sparsity",
        "lasso vs ridge vs elastic net on correlated features",
    ),
    (
        "overfitting",
        "a network on digits without and with L2, dropout, weight decay",
    ),
];
