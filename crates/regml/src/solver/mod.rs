//! Solvers for one value of `lambda`, warm-started along a path.
//!
//! * [`gaussian`]: coordinate descent for least squares, in "naive" mode (residual updates,
//!   `O(n)` per coordinate) or "covariance" mode (gradient updates through cached Gram
//!   columns, `O(p)` per coordinate), with strong-rule working sets and a KKT check.
//! * [`logistic`]: proximal Newton (IRLS) whose quadratic sub-problems are solved by the same
//!   coordinate descent, with a backtracking line search on the true objective.
//!
//! Every solve ends with a certificate recomputed from the returned coefficients alone: the
//! relative duality gap `(P(b) - D(u)) / P(b)` where `u` is a dual-feasible point built from
//! the residual (see [`FitInfo`]).

pub mod gaussian;
pub mod logistic;

use serde::{Deserialize, Serialize};

/// How the accuracy of one fitted `lambda` was certified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certificate {
    /// A duality gap: `P(b) - D(u) >= P(b) - P(b*) >= 0` for a feasible dual point `u`.
    DualityGap,
    /// No feasible dual point could be built (unpenalized features sitting on a bound, or
    /// a logistic dual point outside `[0,1]`): `relative_gap` holds the largest KKT violation
    /// (distance of the negative gradient to the penalty's subdifferential) divided by the
    /// largest absolute gradient at zero.
    KktViolation,
}

/// The accuracy certificate of one fitted `lambda`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitInfo {
    /// Coordinate-descent passes over the working set (all inner passes, all Newton steps).
    pub n_iter: usize,
    /// Primal objective `P(b)` in the solver's (standardized) units.
    pub primal: f64,
    /// Duality gap `P(b) - D(u)` (absolute), or the KKT violation.
    pub duality_gap: f64,
    /// `duality_gap / P(b)`: scale-free, what the tolerance is compared against.
    pub relative_gap: f64,
    /// Largest KKT violation `max_j dist(s_j, d h_j(b_j))` at the returned coefficients.
    pub kkt_violation: f64,
    /// `relative_gap <= tol` at return.
    pub converged: bool,
    /// Which certificate `relative_gap` is.
    pub certificate: Certificate,
}

impl FitInfo {
    /// Packs a certificate: the duality gap when `kind` is [`Certificate::DualityGap`],
    /// otherwise the KKT violation relative to `grad_scale` (the largest gradient at zero).
    pub(crate) fn from_parts(
        kind: Certificate,
        gap: f64,
        primal: f64,
        kkt: f64,
        grad_scale: f64,
    ) -> Self {
        let (duality_gap, relative_gap) = match kind {
            Certificate::DualityGap => {
                let g = gap.max(0.0);
                (g, g / primal.max(f64::MIN_POSITIVE))
            }
            Certificate::KktViolation => (kkt, kkt / grad_scale.max(f64::MIN_POSITIVE)),
        };
        FitInfo {
            n_iter: 0,
            primal,
            duality_gap,
            relative_gap,
            kkt_violation: kkt,
            converged: false,
            certificate: kind,
        }
    }
}

/// Which coordinate-descent variant to use for least squares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GaussianMode {
    /// Covariance updates when `n_samples >= n_features` and `n_features <= 8000`, else naive.
    #[default]
    Auto,
    /// Residual updates: `O(n)` per changed coordinate.
    Naive,
    /// Gram-column updates: `O(p)` per changed coordinate, `O(n p)` per newly active column.
    Covariance,
}

/// Stopping rules shared by the solvers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SolverOptions {
    /// Target relative duality gap at every `lambda` (default `1e-6`).
    pub tol: f64,
    /// Limit on coordinate-descent passes per `lambda` (default `100_000`, glmnet's `maxit`).
    pub max_iter: usize,
    /// First inner threshold: a pass stops when `max_j L_j * delta_j^2 < thresh * null_dev`
    /// (glmnet's `thresh`, default `1e-7`); it is divided by 10 while the gap is too large.
    pub inner_thresh: f64,
    /// Least-squares variant.
    pub gaussian_mode: GaussianMode,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            tol: 1e-6,
            max_iter: 100_000,
            inner_thresh: 1e-7,
            gaussian_mode: GaussianMode::Auto,
        }
    }
}

/// Gram columns `X' x_j`, computed on demand in blocks and kept for the whole path.
#[derive(Debug, Default)]
pub(crate) struct GramCache {
    p: usize,
    slot: Vec<usize>,
    data: Vec<f64>,
    scratch: Vec<f64>,
    block: Vec<f64>,
}

const NO_SLOT: usize = usize::MAX;

impl GramCache {
    pub(crate) fn new(p: usize) -> Self {
        GramCache {
            p,
            slot: vec![NO_SLOT; p],
            data: Vec::new(),
            scratch: Vec::new(),
            block: Vec::new(),
        }
    }

    pub(crate) fn has(&self, j: usize) -> bool {
        self.slot[j] != NO_SLOT
    }

    /// Column `X' x_j` (must be present).
    #[inline]
    pub(crate) fn col(&self, j: usize) -> &[f64] {
        let k = self.slot[j];
        debug_assert!(k != NO_SLOT);
        &self.data[k * self.p..(k + 1) * self.p]
    }

    /// Computes the missing columns among `cols` in one block product. Each product packs
    /// all of `X`, and narrow products run at a fraction of the machine's speed, so a block is
    /// padded with the uncached candidates of largest `priority` (the features likeliest to
    /// enter next) to at least [`MIN_GRAM_BLOCK`] columns and at least as many as are already
    /// cached: the cache grows geometrically, in `O(log p)` products, and computes at most
    /// twice the columns the path asks for.
    pub(crate) fn ensure<D: crate::design::Design>(
        &mut self,
        x: &D,
        cols: &[usize],
        priority: Option<(&[f64], &[bool])>,
    ) {
        let mut missing: Vec<usize> = cols.iter().copied().filter(|&j| !self.has(j)).collect();
        if missing.is_empty() {
            return;
        }
        if let Some((prio, usable)) = priority {
            let target = MIN_GRAM_BLOCK.max(self.data.len() / self.p.max(1));
            if missing.len() < target {
                let mut extra: Vec<usize> = (0..self.p)
                    .filter(|&j| usable[j] && !self.has(j) && !missing.contains(&j))
                    .collect();
                extra.sort_by(|&a, &b| prio[b].abs().total_cmp(&prio[a].abs()));
                extra.truncate(target - missing.len());
                missing.extend(extra);
            }
        }
        // in chunks: each chunk's rows exclude the chunks before it (a blocked triangle)
        for chunk in missing.chunks(GRAM_CHUNK) {
            self.compute_block(x, chunk);
        }
    }

    /// Computes the columns `missing` (none cached) in one block product.
    fn compute_block<D: crate::design::Design>(&mut self, x: &D, missing: &[usize]) {
        // X'X is symmetric: rows of already cached features are copied from their columns,
        // only the rows of uncached features are computed
        let rows: Vec<usize> = (0..self.p).filter(|&k| !self.has(k)).collect();
        let m = rows.len();
        let mut block = std::mem::take(&mut self.block);
        block.resize(m * missing.len(), 0.0);
        x.gram_block(&rows, missing, &mut block, &mut self.scratch);
        let start = self.data.len() / self.p.max(1);
        self.data
            .resize(self.data.len() + missing.len() * self.p, 0.0);
        for (c, &j) in missing.iter().enumerate() {
            let base = (start + c) * self.p;
            for (r, &k) in rows.iter().enumerate() {
                self.data[base + k] = block[c * m + r];
            }
            for k in 0..self.p {
                let s = self.slot[k];
                if s != NO_SLOT {
                    self.data[base + k] = self.data[s * self.p + j];
                }
            }
        }
        for (c, &j) in missing.iter().enumerate() {
            self.slot[j] = start + c;
        }
        self.block = block;
    }
}

/// Anderson extrapolation of a fixed-point sequence (coordinate-descent passes):
/// with the last `K + 1` iterates `x_0..x_K` and differences `U = [x_1 - x_0, ..]`,
/// solve `(U U') z = 1`, `c = z / sum(z)` and propose `sum_i c_i x_{i+1}`.
/// The caller accepts the proposal only if it lowers the objective.
#[derive(Debug, Default)]
pub(crate) struct Anderson {
    buf: Vec<Vec<f64>>,
}

/// Iterates combined by one Anderson step.
pub(crate) const ANDERSON_K: usize = 5;

impl Anderson {
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
    }

    /// Records an iterate; returns the extrapolated point once `K + 1` are stored (and
    /// clears the buffer).
    pub(crate) fn push(&mut self, x: Vec<f64>) -> Option<Vec<f64>> {
        if self.buf.first().is_some_and(|b| b.len() != x.len()) {
            self.buf.clear();
        }
        self.buf.push(x);
        if self.buf.len() < ANDERSON_K + 1 {
            return None;
        }
        let k = ANDERSON_K;
        let m = self.buf[0].len();
        let mut u = vec![0.0; k * m];
        for i in 0..k {
            for t in 0..m {
                u[i * m + t] = self.buf[i + 1][t] - self.buf[i][t];
            }
        }
        let mut c = vec![0.0; k * k];
        let mut trace = 0.0;
        for a in 0..k {
            for b in 0..=a {
                let v = crate::kernels::dot(&u[a * m..(a + 1) * m], &u[b * m..(b + 1) * m]);
                c[a * k + b] = v;
                c[b * k + a] = v;
            }
            trace += c[a * k + a];
        }
        // a tiny ridge keeps the nearly singular system solvable
        for a in 0..k {
            c[a * k + a] += 1e-10 * trace.max(f64::MIN_POSITIVE);
        }
        let out = solve_spd(&c, &vec![1.0; k]).and_then(|z| {
            let total: f64 = z.iter().sum();
            if !(total.abs() > 0.0) {
                return None;
            }
            let mut x = vec![0.0; m];
            for (i, zi) in z.iter().enumerate() {
                crate::kernels::axpy(zi / total, &self.buf[i + 1], &mut x);
            }
            x.iter().all(|v| v.is_finite()).then_some(x)
        });
        self.buf.clear();
        out
    }
}

/// Smallest number of Gram columns computed in one block product.
pub(crate) const MIN_GRAM_BLOCK: usize = 64;

/// Widest single block product: wider requests are computed chunk by chunk, each chunk's
/// rows excluding the chunks before it, so a large request costs about half a square.
pub(crate) const GRAM_CHUNK: usize = 256;

/// Solves the small symmetric positive definite system `a x = b` (row-major `k x k`).
/// Returns `None` when `a` is not numerically positive definite.
pub(crate) fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let k = b.len();
    let m = nalgebra::DMatrix::from_row_slice(k, k, a);
    let chol = nalgebra::Cholesky::new(m)?;
    let x = chol.solve(&nalgebra::DVector::from_column_slice(b));
    let v: Vec<f64> = x.iter().copied().collect();
    v.iter().all(|t| t.is_finite()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::gaussian::GaussianSolver;
    use super::logistic::LogisticSolver;
    use super::*;
    use crate::design::{CscDesign, DenseDesign};
    use crate::penalty::ElasticNet;

    fn problem() -> (DenseDesign, Vec<f64>, Vec<f64>) {
        // a sparse-ish design: about 40% zeros
        let (n, p) = (40, 12);
        let mut data = vec![0.0; n * p];
        for (k, v) in data.iter_mut().enumerate() {
            let t = ((k * 7919) % 97) as f64 / 97.0 - 0.5;
            *v = if t.abs() < 0.2 { 0.0 } else { t };
        }
        let x = DenseDesign::from_col_major(data, n, p).unwrap();
        let y: Vec<f64> = (0..n)
            .map(|i| (i as f64 * 0.37).sin() + x.col(0)[i])
            .collect();
        let labels: Vec<f64> = y.iter().map(|v| if *v > 0.0 { 1.0 } else { 0.0 }).collect();
        (x, y, labels)
    }

    fn assert_close(a: &[f64], b: &[f64], what: &str) {
        for (u, v) in a.iter().zip(b) {
            assert!(
                (u - v).abs() < 1e-6 * (u.abs() + 1e-3),
                "{what}: {u} vs {v}"
            );
        }
    }

    #[test]
    fn dense_and_sparse_designs_give_the_same_solution() {
        let (dense, y, labels) = problem();
        let sparse = CscDesign::from_dense(&dense);
        let pen = ElasticNet::new(0.7, 12).unwrap();
        let usable = vec![true; 12];
        let lambdas = [0.05, 0.02, 0.005];
        for mode in [GaussianMode::Naive, GaussianMode::Covariance] {
            let opts = SolverOptions {
                tol: 1e-12,
                gaussian_mode: mode,
                ..SolverOptions::default()
            };
            let mut a = GaussianSolver::new(&dense, &y, &pen, usable.clone(), opts.clone());
            let mut b = GaussianSolver::new(&sparse, &y, &pen, usable.clone(), opts);
            let mut prev = a.lambda_max();
            for &l in &lambdas {
                assert!(a.solve(l, prev).converged && b.solve(l, prev).converged);
                prev = l;
                assert_close(&a.b, &b.b, &format!("{mode:?}"));
            }
        }
        let w = vec![1.0 / 40.0; 40];
        let opts = SolverOptions {
            tol: 1e-12,
            ..SolverOptions::default()
        };
        let mut a = LogisticSolver::new(
            &dense,
            &labels,
            &w,
            &pen,
            usable.clone(),
            opts.clone(),
            false,
        );
        let mut b = LogisticSolver::new(&sparse, &labels, &w, &pen, usable, opts, false);
        let mut prev = a.lambda_max();
        for &l in &lambdas {
            assert!(a.solve(l, prev).converged && b.solve(l, prev).converged);
            prev = l;
            assert_close(&a.b, &b.b, "logistic");
        }
    }
}
