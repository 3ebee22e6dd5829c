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

mod cholesky;
pub mod gaussian;
pub mod logistic;
pub(crate) mod spectral;

use crate::penalty::{ElasticNet, SubdiffDistance};
use serde::{Deserialize, Serialize};

/// How the accuracy of one fitted `lambda` was certified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certificate {
    /// A duality gap: `P(b) - D(u) >= P(b) - P(b*) >= 0` for a feasible dual point `u`.
    DualityGap,
    /// No feasible dual point could be built (unpenalized features sitting on a bound, more
    /// unpenalized features than can be projected out (over 1000, at least as many as rows,
    /// or columns over 256 MB; at `lambda = 0` every feature is unpenalized), or a singular
    /// projection):
    /// `relative_gap` holds the largest KKT violation
    /// (distance of the negative gradient to the penalty's subdifferential) divided by the
    /// largest absolute gradient at zero.
    KktViolation,
}

/// The accuracy certificate of one fitted `lambda`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitInfo {
    /// Coordinate-descent passes over the working set (all inner passes, all Newton steps);
    /// a least-squares round whose first Newton step starts straight from the last solution,
    /// with no pass before it, counts as one; none for a least-squares ridge `lambda` solved
    /// exactly from the path's spectral form.
    /// The first `lambda` of a path also counts the passes of the fit of its unpenalized
    /// features (and of a logistic intercept beside an offset) before the path.
    pub n_iter: usize,
    /// Primal objective `P(b)` in the solver's (standardized) units. For binomial proportions
    /// it is measured from the saturated model's loss `sum_i w_i H(y_i)` (`H` the binary
    /// entropy; 0 for 0/1 labels), so that the relative gap is not diluted by that constant.
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
    /// Gradients and residual sums of squares from `X'X` carry the square of the design's
    /// condition number: a lambda still unsolved after 1000 passes (an ill-conditioned
    /// design) turns the rest of the path to residual updates.
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

/// Whether every penalized coefficient is zero by definition at `lambda`: at or above
/// `lambda_max` with `alpha >= 0.001` (for smaller `alpha`, `lambda_max` is glmnet's grid
/// anchor, not a zero threshold). Only the unpenalized coefficients are fitted there.
pub(crate) fn frozen_at(pen: &ElasticNet, lambda: f64, lambda_max: f64) -> bool {
    pen.alpha() >= 1e-3 && lambda >= lambda_max
}

/// The features outside the working set (`in_ws`) that the sequential strong rule
/// (Tibshirani et al. 2012) lets in at `lambda`, given the gradients `g` at the solution for
/// `lambda_prev`: usable ones with `|g_j| >= alpha (2 lambda - lambda_prev) pf_j`; none when
/// `frozen`.
pub(crate) fn strong_set(
    pen: &ElasticNet,
    lambda: f64,
    lambda_prev: f64,
    frozen: bool,
    usable: &[bool],
    in_ws: &[bool],
    g: &[f64],
) -> Vec<usize> {
    let cut = pen.alpha() * (2.0 * lambda - lambda_prev);
    outside(frozen, usable, in_ws, |j| {
        g[j].abs() >= cut * pen.penalty_factor()[j]
    })
}

/// The features outside the working set that violate the KKT conditions at zero: usable ones
/// whose gradient `g_j` lies outside the penalty's subdifferential at `b_j = 0`; none when
/// `frozen`.
pub(crate) fn kkt_violators(
    pen: &ElasticNet,
    lambda: f64,
    frozen: bool,
    usable: &[bool],
    in_ws: &[bool],
    g: &[f64],
) -> Vec<usize> {
    outside(frozen, usable, in_ws, |j| {
        pen.subdiff_distance(lambda, j, 0.0, g[j]) > 0.0
    })
}

/// The usable features outside the working set that pass `test`, in feature order.
fn outside(
    frozen: bool,
    usable: &[bool],
    in_ws: &[bool],
    test: impl Fn(usize) -> bool,
) -> Vec<usize> {
    if frozen {
        return Vec::new();
    }
    (0..usable.len())
        .filter(|&j| usable[j] && !in_ws[j] && test(j))
        .collect()
}

/// The path predictor's memory: the solutions at the last two lambdas solved.
#[derive(Debug)]
pub(crate) struct PathMemory {
    /// The lambda solved before the last one, with its coefficients and intercept.
    pub(crate) previous: Option<(f64, Vec<f64>, f64)>,
    /// The last lambda solved; its solution is the solver's state when a solve starts.
    pub(crate) last_lambda: Option<f64>,
    /// Coefficients and intercept at the start of the current solve (set by [`Self::start`]).
    b_at_start: Vec<f64>,
    b0_at_start: f64,
}

impl PathMemory {
    /// An empty memory for `p` coefficients.
    pub(crate) fn new(p: usize) -> Self {
        PathMemory {
            previous: None,
            last_lambda: None,
            b_at_start: vec![0.0; p],
            b0_at_start: 0.0,
        }
    }

    /// Keeps the solver's state `(b, b0)` at the start of a solve: the solution at
    /// `last_lambda`.
    pub(crate) fn start(&mut self, b: &[f64], b0: f64) {
        self.b_at_start.copy_from_slice(b);
        self.b0_at_start = b0;
    }

    /// Records that `lambda` is solved: the kept start becomes the solution at the lambda
    /// before it (`previous`), and `lambda` the last one.
    pub(crate) fn solved(&mut self, lambda: f64) {
        if let Some(l) = self.last_lambda {
            match &mut self.previous {
                Some((lp, b, b0)) => {
                    *lp = l;
                    b.copy_from_slice(&self.b_at_start);
                    *b0 = self.b0_at_start;
                }
                None => self.previous = Some((l, self.b_at_start.clone(), self.b0_at_start)),
            }
        }
        self.last_lambda = Some(lambda);
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
    /// twice the columns the path asks for. Once a request would bring the cache to a quarter
    /// of the features, all remaining columns are computed in one symmetric product, which
    /// costs half of a general one (only its lower triangle is formed).
    ///
    /// With at most [`FULL_GRAM_MAX_P`] features, the first request computes all of `X'X` in
    /// that one product: it costs `n p (p + 1) / 2` multiply-adds, at most 8 times a first
    /// block's `64 n p`, and a path that goes on to use most features (usual when `n >= p`)
    /// saves the narrow products, which run at a fraction of the wide one's speed.
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
        let cached = self.data.len() / self.p.max(1);
        let first_and_small = cached == 0 && self.p <= FULL_GRAM_MAX_P;
        if priority.is_some() && (first_and_small || 4 * (cached + missing.len()) >= self.p) {
            // a large part of X'X is wanted: every remaining column in one symmetric product,
            // which computes only its lower triangle
            let rest: Vec<usize> = (0..self.p).filter(|&j| !self.has(j)).collect();
            self.compute_square(x, &rest);
        } else {
            self.compute_block(x, &missing);
        }
    }

    /// Computes the columns `missing` (none cached) with one product against all of `X`.
    fn compute_block<D: crate::design::Design>(&mut self, x: &D, missing: &[usize]) {
        let p = self.p;
        let all: Vec<usize> = (0..p).collect();
        let mut block = std::mem::take(&mut self.block);
        block.resize(p * missing.len(), 0.0);
        x.gram_block(&all, missing, &mut block, &mut self.scratch);
        let start = self.data.len() / p.max(1);
        self.data.extend_from_slice(&block[..p * missing.len()]);
        self.block = block;
        self.symmetrize_new(missing, start);
    }

    /// Computes the columns `rest` (none cached) from their symmetric Gram block; their rows
    /// of cached features come from the cached columns. With nothing cached and every column
    /// wanted, `X'X` is formed in place (column `j` in slot `j`), with no block to copy.
    fn compute_square<D: crate::design::Design>(&mut self, x: &D, rest: &[usize]) {
        let (p, u) = (self.p, rest.len());
        if self.data.is_empty() && u == p {
            // the whole of X'X, nothing cached: formed in place, column j in slot j
            debug_assert!(rest.iter().enumerate().all(|(c, &j)| c == j));
            self.data = vec![0.0; p * p];
            x.gram_square(rest, &mut self.data, &mut self.scratch);
            for (j, s) in self.slot.iter_mut().enumerate() {
                *s = j;
            }
            return;
        }
        let mut block = std::mem::take(&mut self.block);
        block.resize(u * u, 0.0);
        x.gram_square(rest, &mut block, &mut self.scratch);
        let start = self.data.len() / p.max(1);
        self.data.resize(self.data.len() + u * p, 0.0);
        for c in 0..u {
            let base = (start + c) * p;
            for (r, &k) in rest.iter().enumerate() {
                self.data[base + k] = block[c * u + r];
            }
        }
        self.block = block;
        self.symmetrize_new(rest, start);
    }

    /// Registers the new columns `cols` stored from slot `start` on, with their rows of
    /// previously cached features copied from those features' columns, so that the cached
    /// part of `X'X` is exactly symmetric.
    fn symmetrize_new(&mut self, cols: &[usize], start: usize) {
        let p = self.p;
        for (c, &j) in cols.iter().enumerate() {
            let base = (start + c) * p;
            for k in 0..p {
                let s = self.slot[k];
                if s != NO_SLOT {
                    self.data[base + k] = self.data[s * p + j];
                }
            }
        }
        for (c, &j) in cols.iter().enumerate() {
            self.slot[j] = start + c;
        }
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

/// Most features for which the Gram cache computes all of `X'X` at its first request
/// (`16 * MIN_GRAM_BLOCK`: the whole product then costs at most 8 first blocks).
pub(crate) const FULL_GRAM_MAX_P: usize = 16 * MIN_GRAM_BLOCK;

/// How many times faster a multiply-add runs in a direct solve's blocked matrix products and
/// factorization than in a coordinate-descent pass, which streams a column through a dot
/// product and an update; both solvers divide a direct solve's multiply-adds by it when they
/// weigh it against the passes it would save. Measured on W4C (bench/gen_data.py, logistic,
/// 1500 rows, 800 working-set features, two threads available): a row-form pass,
/// `2.4 * 10^6` multiply-adds, takes 1.0 ms; a direct solve on 731 active features (`H_AA`,
/// `4.0 * 10^8`, and its factorization, `1.3 * 10^8`) 30 to 37 ms. The value was chosen on
/// W4C and W4, and checked on W1-W3 and random problems (see BENCHMARKS.md).
pub(crate) const LEVEL3_GAIN: f64 = 16.0;

/// Smallest system that [`solve_spd`] factors on two threads (below it, waking the second
/// thread costs more than it saves).
const PARALLEL_SPD_MIN: usize = 256;

/// Solves the symmetric positive definite system `a x = b` (row-major `k x k`) by a blocked
/// Cholesky factorization, `O(k^3 / 3)`. Returns `None` when `a` is not numerically positive
/// definite (a pivot that is not positive) or the solution is not finite.
pub(crate) fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let k = b.len();
    debug_assert_eq!(a.len(), k * k);
    if k == 0 {
        return Some(Vec::new());
    }
    // `a` is symmetric: its row-major layout is also its column-major one. The factor is
    // formed in a copy held per thread, so that large systems solved one after another reuse
    // its memory instead of having fresh pages zeroed each time; a solve started while the
    // thread's copy is in use (by a task a waiting pool thread took up) gets a fresh one.
    thread_local! {
        static FACTOR: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    FACTOR.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf.extend_from_slice(a);
            factor_and_solve(&mut buf, b)
        }
        Err(_) => factor_and_solve(&mut a.to_vec(), b),
    })
}

/// [`solve_spd`] on `l`, the system's matrix (`k x k`, symmetric), overwritten by its factor.
fn factor_and_solve(l: &mut [f64], b: &[f64]) -> Option<Vec<f64>> {
    use faer::linalg::cholesky::llt;
    use faer::MatMut;
    let k = b.len();
    let mut l = MatMut::from_column_major_slice_mut(l, k, k);
    let par = if k >= PARALLEL_SPD_MIN {
        crate::kernels::faer_par()
    } else {
        faer::Par::Seq
    };
    let mut mem = faer::dyn_stack::MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
        k,
        par,
        Default::default(),
    ));
    let stack = faer::dyn_stack::MemStack::new(&mut mem);
    llt::factor::cholesky_in_place(
        l.as_mut(),
        Default::default(),
        par,
        stack,
        Default::default(),
    )
    .ok()?;
    let mut x = b.to_vec();
    llt::solve::solve_in_place(
        l.as_ref(),
        MatMut::from_column_major_slice_mut(&mut x, k, 1),
        par,
        stack,
    );
    x.iter().all(|t| t.is_finite()).then_some(x)
}

/// Diagonal shifts, relative to the largest diagonal entry, that [`solve_spd_damped`] tries
/// in turn when the system is not numerically positive definite.
const DAMPING: [f64; 3] = [1e-12, 1e-9, 1e-6];

/// [`solve_spd`], and where `a` is not numerically positive definite (a Hessian block that is
/// singular up to rounding, for instance where the curvatures of many rows have vanished),
/// the solution of `(a + mu max_i a_ii I) x = b` for the first `mu` in [`DAMPING`] whose
/// factorization succeeds: a damped Newton step, which callers accept only if it lowers
/// their objective.
pub(crate) fn solve_spd_damped(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    if let Some(x) = solve_spd(a, b) {
        return Some(x);
    }
    let k = b.len();
    let top = (0..k).map(|i| a[i * k + i]).fold(0.0f64, f64::max);
    if !(top > 0.0 && top.is_finite()) {
        return None;
    }
    let mut shifted = a.to_vec();
    let mut applied = 0.0;
    for mu in DAMPING {
        for i in 0..k {
            shifted[i * k + i] += (mu - applied) * top;
        }
        applied = mu;
        if let Some(x) = solve_spd(&shifted, b) {
            return Some(x);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::gaussian::GaussianSolver;
    use super::logistic::LogisticSolver;
    use super::*;
    use crate::design::{CscDesign, DenseDesign, Design};
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

    /// A system that is singular (two equal rows and columns) has no Cholesky factor; the
    /// damped solve returns the solution of the least shifted system that has one.
    #[test]
    fn a_singular_system_is_solved_damped() {
        let a = [4.0, 4.0, 1.0, 4.0, 4.0, 1.0, 1.0, 1.0, 3.0];
        let b = [1.0, 1.0, 2.0];
        assert!(solve_spd(&a, &b).is_none());
        let x = solve_spd_damped(&a, &b).expect("damped solve");
        // (a + mu * 4 I) x = b for one mu of DAMPING
        let mu = DAMPING
            .iter()
            .copied()
            .find(|&mu| {
                (0..3).all(|i| {
                    let row: f64 = (0..3).map(|j| a[i * 3 + j] * x[j]).sum::<f64>();
                    (row + mu * 4.0 * x[i] - b[i]).abs() <= 1e-9 * x[i].abs().max(1.0)
                })
            })
            .expect("x solves a shifted system");
        // the unshifted residual is small where the system is consistent
        let r: f64 = (0..3)
            .map(|i| ((0..3).map(|j| a[i * 3 + j] * x[j]).sum::<f64>() - b[i]).abs())
            .fold(0.0, f64::max);
        assert!(r <= 1e-3, "mu {mu}: residual {r}");
        // a positive definite system is solved without a shift
        let spd = [4.0, 1.0, 1.0, 3.0];
        assert_eq!(
            solve_spd_damped(&spd, &[1.0, 2.0]),
            solve_spd(&spd, &[1.0, 2.0])
        );
    }

    #[test]
    fn the_path_memory_keeps_the_solution_at_the_lambda_before_the_last() {
        let mut m = PathMemory::new(2);
        m.start(&[0.0, 0.0], 0.5);
        m.solved(1.0);
        assert_eq!((m.last_lambda, m.previous.is_none()), (Some(1.0), true));
        // the solve at 0.5 starts from the solution at 1.0
        m.start(&[1.0, 0.0], 0.25);
        m.solved(0.5);
        assert_eq!(m.previous, Some((1.0, vec![1.0, 0.0], 0.25)));
        m.start(&[2.0, -1.0], 0.125);
        m.solved(0.25);
        assert_eq!(m.previous, Some((0.5, vec![2.0, -1.0], 0.125)));
        assert_eq!(m.last_lambda, Some(0.25));
    }

    #[test]
    fn screening_skips_the_working_set_unusable_features_and_frozen_lambdas() {
        let pen = ElasticNet::new(1.0, 4).unwrap();
        let g = [3.0, -3.0, 0.5, -2.5];
        let usable = [true, true, true, false];
        let in_ws = [false, true, false, false];
        // strong rule at lambda 2 from 3: |g_j| >= 1
        assert_eq!(
            strong_set(&pen, 2.0, 3.0, false, &usable, &in_ws, &g),
            vec![0]
        );
        assert!(strong_set(&pen, 2.0, 3.0, true, &usable, &in_ws, &g).is_empty());
        // KKT at lambda 1: |g_j| > 1
        assert_eq!(
            kkt_violators(&pen, 1.0, false, &usable, &in_ws, &g),
            vec![0]
        );
        assert_eq!(
            kkt_violators(&pen, 0.4, false, &usable, &[false; 4], &g),
            vec![0, 1, 2]
        );
        assert!(kkt_violators(&pen, 0.4, true, &usable, &in_ws, &g).is_empty());
        assert!(frozen_at(&pen, 3.0, 3.0) && !frozen_at(&pen, 2.9, 3.0));
        let ridge = ElasticNet::new(0.0, 4).unwrap();
        assert!(!frozen_at(&ridge, 3.0, 3.0));
    }

    fn assert_close(a: &[f64], b: &[f64], what: &str) {
        for (u, v) in a.iter().zip(b) {
            assert!(
                (u - v).abs() < 1e-6 * (u.abs() + 1e-3),
                "{what}: {u} vs {v}"
            );
        }
    }

    /// A correlated design with many active features: `x_ij = z_ij + 0.6 x_i(j-1)`, with
    /// column 7 duplicated as column 8.
    fn correlated(n: usize, p: usize) -> (DenseDesign, Vec<f64>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut data = vec![0.0; n * p];
        for j in 0..p {
            for i in 0..n {
                let z = rng.random::<f64>() - 0.5;
                let prev = if j > 0 { data[(j - 1) * n + i] } else { 0.0 };
                data[j * n + i] = z + 0.6 * prev;
            }
        }
        let dup: Vec<f64> = data[7 * n..8 * n].to_vec();
        data[8 * n..9 * n].copy_from_slice(&dup);
        let x = DenseDesign::from_col_major(data, n, p).unwrap();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                (0..p)
                    .map(|j| x.col(j)[i] * ((j % 5) as f64 - 2.0))
                    .sum::<f64>()
                    + ((i * 13) % 7) as f64
                    - 3.0
            })
            .collect();
        (x, y)
    }

    /// A path fitted by [`fit_path_steps`].
    struct PathRun {
        /// Per lambda, the objective and the coefficients.
        fits: Vec<(f64, Vec<f64>)>,
        /// Newton steps taken along the path.
        newton_steps: usize,
        /// Coordinate-descent passes along the path.
        passes: usize,
    }

    /// Fits `lambda_max * ratio^k`, `k = 1..steps`, at relative gap `1e-10`, with or without
    /// Newton steps.
    fn fit_path_steps<D: crate::design::Design>(
        x: &D,
        y: &[f64],
        pen: &ElasticNet,
        mode: GaussianMode,
        newton: bool,
        (ratio, steps): (f64, i32),
    ) -> PathRun {
        let opts = SolverOptions {
            tol: 1e-10,
            gaussian_mode: mode,
            ..SolverOptions::default()
        };
        let usable = vec![true; x.n_features()];
        let mut s = GaussianSolver::new(x, y, pen, usable, opts);
        s.newton = newton;
        let lmax = s.lambda_max();
        let mut prev = lmax;
        let (mut fits, mut passes) = (Vec::new(), 0);
        for k in 1..steps {
            let l = lmax * ratio.powi(k);
            let info = s.solve(l, prev);
            assert!(
                info.converged,
                "{mode:?} newton {newton} lambda {l} {info:?}"
            );
            prev = l;
            passes += info.n_iter;
            fits.push((info.primal, s.b.clone()));
        }
        PathRun {
            fits,
            newton_steps: s.newton_steps,
            passes,
        }
    }

    #[test]
    fn newton_steps_reach_the_coordinate_descent_solution() {
        // Newton steps in covariance and in naive mode against coordinate descent alone;
        // lasso and a small-ridge elastic net, with penalty factors (one unpenalized) and
        // bounds
        let (n, p) = (400, 70);
        let (x, y) = correlated(n, p);
        let mut pf = vec![1.0; p];
        pf[3] = 0.0;
        pf[10] = 2.0;
        let mut upper = vec![f64::INFINITY; p];
        upper[20] = 0.5;
        let lower = vec![f64::NEG_INFINITY; p];
        for alpha in [1.0, 0.99] {
            let pen = ElasticNet::new(alpha, p)
                .unwrap()
                .with_penalty_factor(pf.clone())
                .unwrap()
                .with_bounds(lower.clone(), upper.clone())
                .unwrap();
            let grid = (0.8, 40);
            let PathRun {
                fits: cd,
                newton_steps: none,
                ..
            } = fit_path_steps(&x, &y, &pen, GaussianMode::Naive, false, grid);
            assert_eq!(none, 0);
            for mode in [GaussianMode::Covariance, GaussianMode::Naive] {
                let PathRun {
                    fits: fit,
                    newton_steps: steps,
                    ..
                } = fit_path_steps(&x, &y, &pen, mode, true, grid);
                assert!(steps > 10, "{mode:?} alpha {alpha}: {steps} Newton steps");
                let last = &fit.last().unwrap().1;
                let nonzero = last.iter().filter(|v| **v != 0.0).count();
                assert!(nonzero > 40, "{nonzero} nonzero");
                assert!(last[20] <= 0.5);
                for ((fa, a), (fb, b)) in fit.iter().zip(&cd) {
                    assert!((fa - fb).abs() <= 1e-9 * fa, "objectives {fa} vs {fb}");
                    // the duplicated pair may split its weight differently; its sum is unique
                    let (sa, sb) = (a[7] + a[8], b[7] + b[8]);
                    assert!((sa - sb).abs() < 1e-5 * (1.0 + sa.abs()), "{sa} vs {sb}");
                    for j in (0..p).filter(|&j| j != 7 && j != 8) {
                        assert!(
                            (a[j] - b[j]).abs() < 1e-5 * (1.0 + a[j].abs()),
                            "{mode:?} alpha {alpha} j {j}: {} vs {}",
                            a[j],
                            b[j]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn newton_steps_on_wide_data_reach_the_coordinate_descent_solution() {
        // p = 8 n in naive mode, down to 1% of lambda_max, where the active set comes close
        // to n features and their Gram block close to singular; the lasso's fitted values
        // are unique, so they must agree with those of coordinate descent alone
        let (n, p) = (50, 400);
        let (x, y) = correlated(n, p);
        for alpha in [1.0, 0.99] {
            let pen = ElasticNet::new(alpha, p).unwrap();
            let grid = (0.9, 45);
            let PathRun {
                fits: cd,
                newton_steps: none,
                ..
            } = fit_path_steps(&x, &y, &pen, GaussianMode::Naive, false, grid);
            assert_eq!(none, 0);
            let PathRun {
                fits: fit,
                newton_steps: steps,
                ..
            } = fit_path_steps(&x, &y, &pen, GaussianMode::Naive, true, grid);
            assert!(steps > 10, "alpha {alpha}: {steps} Newton steps");
            let nonzero = fit.last().unwrap().1.iter().filter(|v| **v != 0.0).count();
            // more than the 32 features a Newton step needs
            assert!(nonzero > 32, "{nonzero} nonzero");
            let fitted = |b: &[f64]| {
                let mut f = vec![0.0; n];
                (0..p).for_each(|j| crate::kernels::axpy(b[j], x.col(j), &mut f));
                f
            };
            let scale = crate::kernels::dot(&y, &y).sqrt();
            for ((fa, a), (fb, b)) in fit.iter().zip(&cd) {
                assert!((fa - fb).abs() <= 1e-9 * fa, "objectives {fa} vs {fb}");
                for (u, v) in fitted(a).iter().zip(fitted(b)) {
                    assert!((u - v).abs() < 1e-6 * scale, "alpha {alpha}: {u} vs {v}");
                }
            }
        }
    }

    /// Bounds on `p` coefficients, one draw from `0..draws` each: `b >= 0`, `b <= 0`,
    /// `b <= 0.05`, `b >= -0.05` for draws 0 to 3, unbounded otherwise.
    fn random_bounds(p: usize, draws: i32, r: &mut test_data::ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        use rand::Rng;
        let (mut lo, mut hi) = (vec![f64::NEG_INFINITY; p], vec![f64::INFINITY; p]);
        for j in 0..p {
            match r.random_range(0..draws) {
                0 => lo[j] = 0.0,
                1 => hi[j] = 0.0,
                2 => hi[j] = 0.05,
                3 => lo[j] = -0.05,
                _ => {}
            }
        }
        (lo, hi)
    }

    /// A response on about half of the features of `x` (coefficients uniform in
    /// `[-2, 2)`), plus noise uniform in `[-0.25, 0.25)`.
    fn half_signal_response(x: &DenseDesign, r: &mut test_data::ChaCha8Rng) -> Vec<f64> {
        use rand::Rng;
        let (n, p) = (x.n_samples(), x.n_features());
        let beta: Vec<f64> = (0..p)
            .map(|_| f64::from(r.random::<bool>()) * 4.0 * test_data::centered(r))
            .collect();
        (0..n)
            .map(|i| {
                let signal: f64 = (0..p).map(|j| beta[j] * x.col(j)[i]).sum();
                signal + 0.5 * test_data::centered(r)
            })
            .collect()
    }

    #[test]
    fn projections_are_bounded_by_count_rows_and_memory() {
        use super::gaussian::{projectable, MAX_PROJECTED, MAX_PROJECTED_NUMBERS};
        assert!(projectable(0, 10, 1));
        assert!(projectable(5, 10, 6));
        assert!(!projectable(6, 10, 6), "as many as rows");
        assert!(projectable(MAX_PROJECTED, 10, 5000));
        assert!(!projectable(MAX_PROJECTED + 1, 10, 5000), "over the count");
        let len = MAX_PROJECTED_NUMBERS / 100;
        assert!(projectable(100, len, 5000));
        assert!(!projectable(101, len, 5000), "over the memory bound");
        assert!(!projectable(2, usize::MAX, 5000), "no overflow");
    }

    #[test]
    fn logistic_newton_models_in_covariance_form_reach_the_row_form_solution() {
        // nearly separable labels: Newton steps need many passes, so that the covariance
        // form is chosen; with and without intercept, lasso and an elastic net with bounds,
        // unequal weights
        let (n, p) = (300, 20);
        let mut r = test_data::rng(31);
        let data = test_data::correlated(n, p, 0.5, &mut r);
        let x = DenseDesign::from_col_major(data, n, p).unwrap();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let eta = 12.0 * (x.col(0)[i] - x.col(3)[i] + x.col(7)[i]);
                f64::from(test_data::centered(&mut r) + 0.5 < 1.0 / (1.0 + (-eta).exp()))
            })
            .collect();
        let raw: Vec<f64> = (0..n).map(|i| 1.0 + (i % 4) as f64).collect();
        let total: f64 = raw.iter().sum();
        let w: Vec<f64> = raw.iter().map(|v| v / total).collect();
        let bounded = ElasticNet::new(0.5, p)
            .unwrap()
            .with_bounds(vec![-0.5; p], vec![f64::INFINITY; p])
            .unwrap();
        for intercept in [true, false] {
            for pen in [ElasticNet::new(1.0, p).unwrap(), bounded.clone()] {
                let run = |cov: bool| {
                    let opts = SolverOptions {
                        tol: 1e-10,
                        ..SolverOptions::default()
                    };
                    let mut s =
                        LogisticSolver::new(&x, &y, &w, &pen, vec![true; p], opts, intercept, None);
                    s.cov_form = cov;
                    let lmax = s.lambda_max();
                    let mut prev = lmax;
                    let mut fits = Vec::new();
                    for k in 1..30 {
                        let l = lmax * 0.75f64.powi(k);
                        let info = s.solve(l, prev);
                        assert!(info.converged, "cov {cov} lambda {l} {info:?}");
                        prev = l;
                        fits.push(info.primal);
                    }
                    (fits, s.cov_steps)
                };
                let ((with, steps), (without, none)) = (run(true), run(false));
                assert!(steps > 0, "the covariance form was not used");
                assert_eq!(none, 0);
                for (a, b) in with.iter().zip(&without) {
                    assert!(
                        (a - b).abs() <= 1e-8 * a.abs(),
                        "intercept {intercept}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn lambda_max_after_bounded_unpenalized_features_agrees_across_designs_and_modes() {
        // lambda_max comes from the gradients at the least-squares fit of the unpenalized
        // features before the path; with bounds on them that fit has no exact solve, and its
        // precision is the passes' stopping rule. Naive and covariance mode, on the dense
        // design and its sparse copy, must agree to 1e-9 (they differed by up to 4e-8 when
        // the passes stopped at 1e-14 of y'y instead of 1e-20)
        use rand::Rng;
        let mut r = test_data::rng(77);
        let mut compared = 0;
        for case in 0..150 {
            let (n, p) = [(20, 10), (200, 50), (60, 150), (200, 150), (50, 300)][case % 5];
            let rho = r.random::<f64>() * 0.95;
            let x = DenseDesign::from_col_major(test_data::correlated(n, p, rho, &mut r), n, p)
                .unwrap();
            let sparse = CscDesign::from_dense(&x);
            let y = half_signal_response(&x, &mut r);
            let pf: Vec<f64> = (0..p)
                .map(|j| f64::from(u8::from(j == 0 || r.random_range(0..4) != 0)))
                .collect();
            let (lo, hi) = random_bounds(p, 6, &mut r);
            // with as many unpenalized features as half the rows their fit may not be unique
            if pf.iter().filter(|v| **v == 0.0).count() * 2 >= n {
                continue;
            }
            compared += 1;
            let pen = ElasticNet::new(1.0, p)
                .unwrap()
                .with_penalty_factor(pf)
                .unwrap()
                .with_bounds(lo, hi)
                .unwrap();
            let mut l = Vec::new();
            for mode in [GaussianMode::Naive, GaussianMode::Covariance] {
                let opts = SolverOptions {
                    gaussian_mode: mode,
                    ..SolverOptions::default()
                };
                let usable = vec![true; p];
                l.push(
                    GaussianSolver::new(&x, &y, &pen, usable.clone(), opts.clone()).lambda_max(),
                );
                l.push(GaussianSolver::new(&sparse, &y, &pen, usable, opts).lambda_max());
            }
            let hi = l.iter().copied().fold(f64::MIN, f64::max);
            let lo = l.iter().copied().fold(f64::MAX, f64::min);
            assert!(
                hi - lo <= 1e-9 * hi,
                "case {case} ({n} x {p}): lambda_max {l:?}"
            );
        }
        assert!(compared > 50, "{compared} problems compared");
    }

    #[test]
    fn solver_variants_agree_on_random_problems() {
        // random shapes, correlations, sparsity, mixing, penalty factors (some zero) and
        // bounds (some one-sided at zero): covariance and naive mode, with and without Newton
        // steps, on the dense design and on its sparse copy, must reach the same objectives
        // along a path down to 1% of lambda_max
        use rand::Rng;
        let mut r = test_data::rng(2024);
        let mut newton_steps = 0;
        for case in 0..40 {
            let (n, p) = [(20, 10), (200, 50), (60, 150), (200, 150), (50, 300)][case % 5];
            let rho = r.random::<f64>() * 0.9;
            let mut data = test_data::correlated(n, p, rho, &mut r);
            let zeros = [0.0, 0.3, 0.7][r.random_range(0..3)];
            for v in data.iter_mut() {
                if r.random::<f64>() < zeros {
                    *v = 0.0;
                }
            }
            let x = DenseDesign::from_col_major(data, n, p).unwrap();
            let sparse = CscDesign::from_dense(&x);
            // about half of the features in the signal: active sets large enough for
            // Newton steps (32 features) on the larger cases
            let y = half_signal_response(&x, &mut r);
            let alpha = [1.0, 0.7, 0.2, 0.01][r.random_range(0..4)];
            let pf: Vec<f64> = (0..p)
                .map(|j| match r.random_range(0..8) {
                    0 if j > 0 => 0.0,
                    1 => 2.0,
                    _ => 1.0,
                })
                .collect();
            let (lo, hi) = random_bounds(p, 10, &mut r);
            let pen = ElasticNet::new(alpha, p)
                .unwrap()
                .with_penalty_factor(pf)
                .unwrap()
                .with_bounds(lo, hi)
                .unwrap();
            let grid = (0.85, 30);
            let PathRun {
                fits: reference, ..
            } = fit_path_steps(&x, &y, &pen, GaussianMode::Naive, false, grid);
            let mut fits = Vec::new();
            for (mode, newton) in [
                (GaussianMode::Naive, true),
                (GaussianMode::Covariance, false),
                (GaussianMode::Covariance, true),
            ] {
                fits.push((
                    mode,
                    newton,
                    false,
                    fit_path_steps(&x, &y, &pen, mode, newton, grid),
                ));
                let on_sparse = fit_path_steps(&sparse, &y, &pen, mode, newton, grid);
                fits.push((mode, newton, true, on_sparse));
            }
            for (mode, newton, is_sparse, run) in fits {
                newton_steps += run.newton_steps;
                for (k, ((fa, _), (fb, _))) in run.fits.iter().zip(&reference).enumerate() {
                    assert!(
                        (fa - fb).abs() <= 1e-8 * fb.abs().max(1e-12),
                        "case {case} ({n}x{p}, alpha {alpha}) {mode:?} newton {newton} \
                         sparse {is_sparse} #{k}: {fa} vs {fb}"
                    );
                }
            }
        }
        assert!(newton_steps > 100, "{newton_steps} Newton steps");
    }

    #[test]
    fn newton_steps_on_a_singular_active_gram_block_do_not_slow_the_path() {
        // an elastic net keeps more features than there are rows (60 x 150), or both copies
        // of duplicated columns (200 x 80): the active Gram block is singular, its factor
        // leaves columns out, and steps on the rest make little progress. Such steps must not
        // cost more passes than coordinate descent alone needs.
        let mut r = test_data::rng(7);
        let wide = test_data::correlated(60, 150, 0.5, &mut r);
        let mut tall = test_data::correlated(200, 80, 0.5, &mut r);
        let (head, tail) = tall.split_at_mut(40 * 200);
        tail.copy_from_slice(head);
        for (data, n, p) in [(wide, 60, 150), (tall, 200, 80)] {
            let x = DenseDesign::from_col_major(data, n, p).unwrap();
            let y = half_signal_response(&x, &mut r);
            let pen = ElasticNet::new(0.7, p).unwrap();
            let passes = |newton| {
                fit_path_steps(&x, &y, &pen, GaussianMode::Auto, newton, (0.85, 30)).passes
            };
            let (cd, newton) = (passes(false), passes(true));
            assert!(
                newton as f64 <= 1.2 * cd as f64,
                "{n} x {p}: {newton} passes with Newton steps, {cd} without"
            );
        }
    }

    #[test]
    fn covariance_mode_forced_on_a_short_wide_design_matches_naive_mode() {
        // fewer rows than one gathered row block, and Gram columns cached in several blocks
        // before the rest of X'X is formed from scattered columns
        let (n, p) = (50, 300);
        let (x, y) = correlated(n, p);
        let pen = ElasticNet::new(1.0, p).unwrap();
        let grid = (0.85, 30);
        let PathRun { fits: cd, .. } =
            fit_path_steps(&x, &y, &pen, GaussianMode::Naive, false, grid);
        let PathRun { fits: cov, .. } =
            fit_path_steps(&x, &y, &pen, GaussianMode::Covariance, true, grid);
        for ((fa, _), (fb, _)) in cov.iter().zip(&cd) {
            assert!((fa - fb).abs() <= 1e-9 * fa, "objectives {fa} vs {fb}");
        }
    }

    #[test]
    fn newton_steps_on_a_sparse_design_match_those_on_the_dense_one() {
        // naive mode on a wide design with about half of its entries zero, so that more than
        // the 32 features a Newton step needs become active; the factor's columns come from
        // the sparse design's Gram block
        let (n, p) = (60, 240);
        let (x, y) = correlated(n, p);
        let mut data = x.as_slice().to_vec();
        for (k, v) in data.iter_mut().enumerate() {
            if (k * 7919) % 13 < 6 {
                *v = 0.0;
            }
        }
        let dense = DenseDesign::from_col_major(data, n, p).unwrap();
        let sparse = CscDesign::from_dense(&dense);
        let pen = ElasticNet::new(1.0, p).unwrap();
        let grid = (0.9, 40);
        let PathRun {
            fits: a,
            newton_steps: steps_a,
            ..
        } = fit_path_steps(&dense, &y, &pen, GaussianMode::Naive, true, grid);
        let PathRun {
            fits: b,
            newton_steps: steps_b,
            ..
        } = fit_path_steps(&sparse, &y, &pen, GaussianMode::Naive, true, grid);
        assert!(
            steps_a > 5 && steps_b > 5,
            "{steps_a} and {steps_b} Newton steps"
        );
        for ((fa, _), (fb, _)) in a.iter().zip(&b) {
            assert!((fa - fb).abs() <= 1e-9 * fa, "objectives {fa} vs {fb}");
        }
    }

    /// Logistic solvers without intercept on the same data as a dense and a sparse design,
    /// every feature usable.
    fn logistic_pair<'a>(
        dense: &'a DenseDesign,
        sparse: &'a CscDesign,
        labels: &'a [f64],
        w: &'a [f64],
        pen: &'a ElasticNet,
        opts: SolverOptions,
    ) -> (
        LogisticSolver<'a, DenseDesign>,
        LogisticSolver<'a, CscDesign>,
    ) {
        let usable = vec![true; dense.n_features()];
        (
            LogisticSolver::new(
                dense,
                labels,
                w,
                pen,
                usable.clone(),
                opts.clone(),
                false,
                None,
            ),
            LogisticSolver::new(sparse, labels, w, pen, usable, opts, false, None),
        )
    }

    /// Logistic regression without intercept on a 200 x 100 design whose columns share one
    /// large component (`x_ij = u_ij + 0.3 (i mod 7) + 5`, every third entry of `u` zeroed
    /// first), 50 lambdas down to `lambda_max / 100`: the coordinate descent of the Newton
    /// steps crawls unless the model is also solved on its active set, which the sparse design
    /// does from its columns (`weighted_gram_by_columns`). Both designs converge at every
    /// lambda in at most 1000 passes each and agree. (Without the direct solve, the 35th
    /// lambda took 4066 passes.)
    #[test]
    fn a_crawling_logistic_path_is_solved_on_the_active_set_for_dense_and_sparse_designs() {
        let (n, p) = (200, 100);
        let mut r = test_data::rng(7);
        let data: Vec<f64> = (0..n * p)
            .map(|k| {
                let u = if k % 3 == 0 {
                    0.0
                } else {
                    test_data::centered(&mut r)
                };
                u + 0.3 * ((k % n) % 7) as f64 + 5.0
            })
            .collect();
        let t: Vec<f64> = (0..n)
            .map(|i| data[i] - 2.0 * data[3 * n + i] + data[10 * n + i])
            .collect();
        let mean = t.iter().sum::<f64>() / n as f64;
        let labels: Vec<f64> = t.iter().map(|&v| f64::from(u8::from(v > mean))).collect();
        let dense = DenseDesign::from_col_major(data, n, p).unwrap();
        let sparse = CscDesign::from_dense(&dense);
        let pen = ElasticNet::new(1.0, p).unwrap();
        let w = vec![1.0 / n as f64; n];
        let opts = SolverOptions::default();
        let (mut a, mut b) = logistic_pair(&dense, &sparse, &labels, &w, &pen, opts);
        let lmax = a.lambda_max();
        let mut prev = lmax;
        for k in 1..=50 {
            let l = lmax * 0.01f64.powf(k as f64 / 50.0);
            let (ia, ib) = (a.solve(l, prev), b.solve(l, prev));
            prev = l;
            for info in [&ia, &ib] {
                assert!(info.converged && info.n_iter <= 1000, "#{k}: {info:?}");
            }
            assert!((ia.primal - ib.primal).abs() <= 1e-9 * ia.primal);
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
        let (mut a, mut b) = logistic_pair(&dense, &sparse, &labels, &w, &pen, opts);
        let mut prev = a.lambda_max();
        for &l in &lambdas {
            assert!(a.solve(l, prev).converged && b.solve(l, prev).converged);
            prev = l;
            assert_close(&a.b, &b.b, "logistic");
        }
    }

    /// Columns of a Gram cache over `p` features after requests for the column sets `asks`,
    /// each with the gradients `prio` as priorities: how many columns it holds after the
    /// first request, and whether every cached column equals `X'x_j` from column dots.
    fn gram_cache_after(p: usize, asks: &[Vec<usize>]) -> (usize, bool) {
        let n = 6;
        let data: Vec<f64> = (0..n * p)
            .map(|k| ((k * 7919) % 211) as f64 / 211.0 - 0.5)
            .collect();
        let x = DenseDesign::from_col_major(data, n, p).unwrap();
        let prio: Vec<f64> = (0..p).map(|j| (j % 17) as f64).collect();
        let usable = vec![true; p];
        let mut cache = GramCache::new(p);
        let mut after_first = 0;
        for (k, ask) in asks.iter().enumerate() {
            cache.ensure(&x, ask, Some((&prio, &usable)));
            if k == 0 {
                after_first = (0..p).filter(|&j| cache.has(j)).count();
            }
        }
        let exact = (0..p).filter(|&j| cache.has(j)).all(|j| {
            let col = cache.col(j);
            (0..p).all(|k| {
                let want = crate::kernels::dot(x.col(k), x.col(j));
                (col[k] - want).abs() <= 1e-12 * (1.0 + want.abs())
            })
        });
        (after_first, exact)
    }

    #[test]
    fn the_gram_cache_computes_all_columns_at_once_only_for_few_features() {
        // up to FULL_GRAM_MAX_P features, the first request computes all of X'X
        let (first, exact) = gram_cache_after(FULL_GRAM_MAX_P, &[vec![3, 5]]);
        assert_eq!(first, FULL_GRAM_MAX_P);
        assert!(exact);
        // beyond, one block of MIN_GRAM_BLOCK columns, then blocks that grow until a quarter
        // of the features is asked for, then all the rest
        let p = FULL_GRAM_MAX_P + 1;
        let (first, exact) = gram_cache_after(p, &[vec![3, 5], vec![700], vec![900, 1000]]);
        assert_eq!(first, MIN_GRAM_BLOCK);
        assert!(exact);
        let quarter: Vec<usize> = (0..p / 4).map(|k| 4 * k).collect();
        let (_, exact) = gram_cache_after(p, &[vec![3], quarter]);
        assert!(exact);
    }
}

/// Deterministic data for the solvers' unit tests.
#[cfg(test)]
pub(crate) mod test_data {
    use rand::{Rng, SeedableRng};
    pub(crate) use rand_chacha::ChaCha8Rng;

    /// Seeded generator of the tests' draws.
    pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Uniform draw in `[-0.5, 0.5)`.
    pub(crate) fn centered(rng: &mut ChaCha8Rng) -> f64 {
        rng.random::<f64>() - 0.5
    }

    /// `n x p` column-major design, row by row `x_ij = rho x_i(j-1) + u_ij` with `u` drawn
    /// by [`centered`]: neighbouring columns are correlated.
    pub(crate) fn correlated(n: usize, p: usize, rho: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut data = vec![0.0; n * p];
        for i in 0..n {
            let mut prev = 0.0;
            for j in 0..p {
                prev = rho * prev + centered(rng);
                data[j * n + i] = prev;
            }
        }
        data
    }
}
