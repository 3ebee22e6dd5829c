//! Coordinate descent for the (weighted) lasso / elastic net in least-squares form:
//!
//! ```text
//! minimize_b  1/2 * ||y - X b||^2 + P_lambda(b)
//! ```
//!
//! Observation weights and centering are absorbed by the caller: rows are scaled by
//! `sqrt(w_i)` after weighted centering, so `1/2 ||y - Xb||^2 = 1/2 sum_i w_i (y_i - x_i'b)^2`.
//!
//! Coordinate update (glmnet `elnet`, scikit-learn `_cd_fast`): with `L_j = ||x_j||^2` and the
//! negative gradient `s_j = x_j'r`,
//! `b_j <- clip( S(L_j b_j + s_j, lambda alpha pf_j) / (L_j + lambda (1-alpha) pf_j), lo_j, hi_j )`.
//!
//! Working sets: the sequential strong rule `|s_j| >= alpha pf_j (2 lambda - lambda_prev)`
//! picks the candidates; after convergence on them a full KKT check adds any violator, and a
//! duality gap decides whether the inner threshold must tighten.
//!
//! Each round starts with a Newton step on the active set (see `newton_step`): once a pass has
//! settled which coefficients are nonzero and their signs, the problem on them is a quadratic
//! solved from the Cholesky factor of `G_AA` kept along the path (its new columns come from the
//! Gram cache in covariance mode, from `X` in naive mode). When the step is taken and the duality
//! gap of the working set is then already within tolerance, no further pass is needed; otherwise
//! coordinate descent continues from there. In covariance mode, once the path has two solutions, a
//! lambda's first round skips that pass (and the predictor's move): it extrapolates the gradients
//! at the last two solutions linearly in lambda (exact on a lasso path until its active set
//! changes) to name the features entering the active set, and its first step starts from the last
//! solution (see `direct_plan`). Steps start at 32 active features, or at 2 once coordinate descent
//! has run 100 passes at one lambda (it crawls on ill-conditioned designs); from then on coordinate
//! descent stops for them each time its passes at the lambda have doubled. On an active set with as
//! many features as rows or more (`G_AA` singular), or with a ridge part too large for the factor
//! of `G_AA` to precondition, a step forms `G_AA + diag(l2)` and factors it afresh, once the passes
//! at the lambda have cost as much as all such steps so far. Steps are turned off for the rest of a
//! lambda after rounds of them fail to halve the gap.
//!
//! A ridge path (no L1 part, no bound, some feature with an L2 weight) forms its
//! spectral form (see `solver/spectral.rs`) once the work still to come along the path, at the
//! rate of the lambdas so far, would cost as much as it does, and from then on starts every
//! lambda from the exact solution it gives (in naive mode taken, with the residuals and
//! gradients its certificate needs, for blocks of the path's lambdas at once).

use super::cholesky::ActiveCholesky;
use super::spectral::RidgeSpectrum;
use super::{
    frozen_at, kkt_violators, solve_spd, solve_spd_damped, strong_set, Anderson, Certificate,
    FitInfo, GaussianMode, GramCache, PathMemory, SolverOptions, LEVEL3_GAIN,
};
use crate::design::Design;
use crate::kernels::{add_scaled_columns, all_finite, axpy, dot};
use crate::penalty::{AlphaMax, Conjugate, ElasticNet, Penalty, Prox1d, SubdiffDistance};

/// Path state of the least-squares solver: coefficients, residual and gradients carried from
/// one `lambda` to the next (warm starts).
pub(crate) struct GaussianSolver<'a, D: Design> {
    x: &'a D,
    y: &'a [f64],
    pen: &'a ElasticNet,
    usable: Vec<bool>,
    /// The usable features, in order.
    usable_idx: Vec<usize>,
    opts: SolverOptions,
    covariance: bool,
    lip: Vec<f64>,
    yty: f64,
    c: Vec<f64>,
    grad_scale: f64,
    /// Coefficients in solver units.
    pub b: Vec<f64>,
    r: Vec<f64>,
    g: Vec<f64>,
    in_ws: Vec<bool>,
    ws: Vec<usize>,
    lambda_max: f64,
    gram: GramCache,
    anderson: Anderson,
    scratch: Vec<f64>,
    /// Coefficient buffer for proposals (covariance mode), swapped with `b` when one is taken.
    b_spare: Vec<f64>,
    /// The solutions at the last two lambdas (for the path predictor).
    memory: PathMemory,
    /// Factor of the active Gram block for Newton steps.
    chol: ActiveCholesky,
    /// Newton steps taken (accepted) so far.
    pub(crate) newton_steps: usize,
    /// Whether rounds may start with Newton steps (on by default; off, the solver is plain
    /// coordinate descent).
    pub(crate) newton: bool,
    /// Whether coordinate descent has crawled at a lambda of this path (run
    /// [`NEWTON_CRAWL`] passes and handed over to Newton steps). The features that made it
    /// crawl stay on the path, so from then on every lambda's rounds start with Newton steps
    /// from [`NEWTON_MIN_CRAWL`] active features, and the passes hand over after
    /// [`NEWTON_RECRAWL`].
    crawled: bool,
    /// Work of the coordinate-descent passes at the current lambda, in multiply-adds (see
    /// `pass`).
    pass_work: f64,
    /// Work of the Newton steps at the current lambda that formed and factored their system
    /// afresh (see `dense_solve_cost`).
    dense_spent: f64,
    /// Work of the passes and such Newton steps at the lambdas before the current one, and
    /// of every recomputation of residual and gradients (see `refresh`), in multiply-adds.
    path_work: f64,
    /// Cost of the spectral form of a ridge path (see [`RidgeSpectrum::cost`]), while it
    /// applies and is not formed.
    spectral_cost: Option<f64>,
    /// The spectral form, once formed.
    spectrum: Option<RidgeSpectrum>,
    /// Lambdas whose solve has begun, the current one included.
    lambdas_begun: usize,
    /// Lambdas of the path expected after the current one, when the path says (see
    /// `PathSolver::lambdas_after`).
    pub(crate) lambdas_after: Option<Vec<f64>>,
    /// Spectral solutions taken ahead for a block of lambdas (naive mode).
    ahead: Option<SpectralBlock>,
    /// Passes of the least-squares fit of the unpenalized features before the path,
    /// reported with the first lambda's and then 0.
    prefit_passes: usize,
    /// Whether the last solve stopped because it had taken `max_iter` passes at its lambda.
    pub(crate) at_max_iter: bool,
    /// Covariance mode: the gradients at the start of the current solve (at the solution of
    /// the last lambda).
    g_at_start: Vec<f64>,
    /// Covariance mode: the gradients at the solution of the lambda before the last one
    /// (the predictor memory's `previous`), when known.
    g_previous: Option<Vec<f64>>,
}

/// Ridge solutions from the spectral form for a block of the path's lambdas, with what their
/// certificates need, each computed by one blocked product for the whole block (naive mode,
/// where per `lambda` they would be three reads of `X`).
struct SpectralBlock {
    /// The lambdas, in path order.
    lambdas: Vec<f64>,
    /// The block's next lambda.
    next: usize,
    /// Coefficients of the spectrum's features (`|F| x m`, column-major).
    b: Vec<f64>,
    /// Residuals `y - X_F b` (`n x m`).
    r: Vec<f64>,
    /// Gradients `X_F' r` (`|F| x m`).
    g: Vec<f64>,
}

/// Most lambdas in one [`SpectralBlock`].
const SPECTRAL_BLOCK: usize = 32;
/// Most numbers in each matrix of a [`SpectralBlock`] (32 MB): fewer lambdas for larger
/// designs.
const SPECTRAL_BLOCK_NUMBERS: usize = 1 << 22;

/// Smallest active set on which a Newton step is tried: below it coordinate descent
/// converges in a few cheap passes.
const NEWTON_MIN: usize = 32;

/// Passes of coordinate descent at one lambda after which it hands over to Newton steps,
/// which from then on start at [`NEWTON_MIN_CRAWL`] active features: on ill-conditioned
/// designs coordinate descent can crawl on a few features (the error along a direction of
/// small curvature shrinks by a factor near 1 per pass).
const NEWTON_CRAWL: usize = 100;

/// Passes at one lambda after which covariance mode gives way to naive mode for the rest of
/// the path (see `solve`): ten hand-overs' worth ([`NEWTON_CRAWL`]), far more than a lambda
/// takes on a design whose Gram matrix holds its precision.
const COVARIANCE_PASS_LIMIT: usize = 10 * NEWTON_CRAWL;

/// Passes of coordinate descent at one lambda after which it hands over to Newton steps once
/// it has crawled at an earlier lambda of the path (and again each time the passes double).
const NEWTON_RECRAWL: usize = 10;

/// Smallest active set on which a Newton step is tried once coordinate descent has run
/// [`NEWTON_CRAWL`] passes at one lambda.
const NEWTON_MIN_CRAWL: usize = 2;

/// Largest active set factored for Newton steps (the factor holds `|A|^2 / 2` numbers).
const NEWTON_MAX: usize = 4000;

/// Relative residual at which the conjugate gradients of a Newton step stop. Their
/// preconditioned system is near the identity (see `ActiveCholesky::solve_shifted`), so the
/// relative residual is about the step's relative error `e` in the system's norm, and the
/// step ends above the model's minimum by about `e^2` (`1e-4`) times the decrease the exact
/// step achieves; the certificate then decides whether passes or another step follow. A
/// tighter residual costs further iterations of two triangular solves each without saving
/// passes.
const NEWTON_CG_TOL: f64 = 1e-2;

/// Most times one Newton step takes the coefficients whose sign its solution would flip, or
/// that it would take past a bound, out of its system and solves again.
const NEWTON_SIGN_ROUNDS: usize = 4;

/// Most Newton steps in one round: after the first, each corrects the active set (features
/// that entered, coefficients that stopped at zero or a bound) without a coordinate-descent
/// pass.
const NEWTON_MAX_STEPS: usize = 3;

/// What an accepted Newton step found about its active set.
struct NewtonOutcome {
    /// Working-set features at zero that violate their optimality condition.
    violators: Vec<usize>,
    /// Whether a coefficient stopped at zero instead of changing sign, or at a bound.
    clipped: bool,
}

/// Most unpenalized coordinates projected out for a duality gap (see `certificate`): the
/// projection needs their Gram block and its Cholesky factor, `O(n k^2 + k^3)` for `k` of
/// them.
pub(crate) const MAX_PROJECTED: usize = 1000;

/// Most numbers held by the columns a projection works with (`k` Gram columns of length `p`
/// here, `k` columns of length `n` for logistic regression): `2^25`, 256 MB.
pub(crate) const MAX_PROJECTED_NUMBERS: usize = 1 << 25;

/// Whether `k` free coordinates are projected out for a duality gap, with `n` rows and
/// columns of length `len` to hold: at most [`MAX_PROJECTED`] of them, fewer than `n`, and
/// their columns within [`MAX_PROJECTED_NUMBERS`]. Otherwise the certificate is the KKT
/// violation.
pub(crate) fn projectable(k: usize, len: usize, n: usize) -> bool {
    k <= MAX_PROJECTED && k < n && k.saturating_mul(len) <= MAX_PROJECTED_NUMBERS
}

/// Whether the solver works in covariance mode (on the Gram matrix `X'X`, which it computes
/// once per column it needs) for an `n x p` design: as `mode` says, and for
/// [`GaussianMode::Auto`] when `n >= p` and `p <= 8000`.
pub(crate) fn uses_covariance(mode: GaussianMode, n: usize, p: usize) -> bool {
    match mode {
        GaussianMode::Naive => false,
        GaussianMode::Covariance => true,
        GaussianMode::Auto => n >= p && p <= 8000,
    }
}

/// Rounds of Newton steps that fail to halve the working-set gap before the steps are
/// turned off for the rest of a lambda.
const NEWTON_STALLS: usize = 3;

/// Most conjugate-gradient iterations in one Newton step.
const NEWTON_CG_MAX_ITER: usize = 20;

impl<'a, D: Design> GaussianSolver<'a, D> {
    /// Prepares the path: column norms, `X'y`, and the fit of the unpenalized features.
    /// `usable[j] = false` pins coefficient `j` at zero (constant columns).
    pub(crate) fn new(
        x: &'a D,
        y: &'a [f64],
        pen: &'a ElasticNet,
        usable: Vec<bool>,
        opts: SolverOptions,
    ) -> Self {
        let (n, p) = (x.n_samples(), x.n_features());
        // `X'y` and the column norms in one sweep over `X`
        let ones = vec![1.0; n];
        let (c, lip): (Vec<f64>, Vec<f64>) =
            crate::kernels::map_indices(p, n * p, |j| x.col_dot_and_sq_norm_weighted(j, y, &ones))
                .into_iter()
                .unzip();
        let covariance = uses_covariance(opts.gaussian_mode, n, p);
        let grad_scale = c
            .iter()
            .zip(&usable)
            .filter(|(_, u)| **u)
            .fold(0.0f64, |m, (v, _)| m.max(v.abs()));
        let mut s = GaussianSolver {
            x,
            y,
            pen,
            yty: dot(y, y),
            g: c.clone(),
            c,
            grad_scale,
            usable_idx: (0..p).filter(|&j| usable[j]).collect(),
            usable,
            opts,
            covariance,
            lip,
            b: vec![0.0; p],
            r: y.to_vec(),
            in_ws: vec![false; p],
            ws: Vec::new(),
            lambda_max: 0.0,
            gram: GramCache::new(p),
            anderson: Anderson::default(),
            scratch: Vec::new(),
            b_spare: Vec::new(),
            memory: PathMemory::new(p),
            chol: ActiveCholesky::new(p),
            newton_steps: 0,
            newton: true,
            crawled: false,
            pass_work: 0.0,
            dense_spent: 0.0,
            path_work: 0.0,
            spectral_cost: None,
            spectrum: None,
            lambdas_begun: 0,
            lambdas_after: None,
            ahead: None,
            prefit_passes: 0,
            at_max_iter: false,
            g_at_start: Vec::new(),
            g_previous: None,
        };
        let unpenalized: Vec<usize> = (0..p)
            .filter(|&j| s.usable[j] && !pen.is_penalized(j))
            .collect();
        if !unpenalized.is_empty() {
            s.add_to_working_set(&unpenalized);
            // least-squares fit of the unpenalized features alone (lambda is irrelevant): a
            // Newton step solves on the block directly once the passes have cost about as
            // much (|F| passes of n |F| against n |F|^2 for its system), and again every
            // NEWTON_CRAWL passes while an ill-conditioned block makes coordinate descent
            // crawl. The passes stop once the largest `L_j d_j^2` is below `1e-20 y'y`
            // (coefficients to about 1e-10 of their scale): lambda_max comes from the
            // gradients at this fit, and with bounded features (no exact solve) it is as
            // precise as the fit
            let thr = 1e-20 * s.yty.max(f64::MIN_POSITIVE);
            let first_newton = unpenalized.len().clamp(1, NEWTON_CRAWL);
            let mut passes = 0;
            while passes < s.opts.max_iter {
                passes += 1;
                if s.pass(1.0, false) < thr {
                    break;
                }
                if s.newton && (passes == first_newton || passes % NEWTON_CRAWL == 0) {
                    s.newton_step(1.0, &[], false, NEWTON_MIN_CRAWL);
                }
            }
            s.prefit_passes = passes;
            s.refresh();
            s.full_gradient();
        }
        s.lambda_max = pen.lambda_max(&s.g);
        s.spectral_cost = RidgeSpectrum::cost(pen, &s.usable_idx, n, s.covariance);
        s
    }

    /// `lambda_max`: for `alpha >= 0.001` every penalized coefficient is zero at and above it;
    /// for smaller `alpha` it is glmnet's grid anchor computed at `alpha = 0.001`.
    pub(crate) fn lambda_max(&self) -> f64 {
        self.lambda_max
    }

    /// Residual sum of squares `||y - Xb||^2` at the current coefficients.
    pub(crate) fn rss(&self) -> f64 {
        if self.covariance {
            self.yty - dot(&self.b, &self.c) - dot(&self.b, &self.g)
        } else {
            dot(&self.r, &self.r)
        }
    }

    /// `||y||^2`, the null deviance in solver units.
    pub(crate) fn yty(&self) -> f64 {
        self.yty
    }

    /// Adds `cols` to the working set. In covariance mode the working set is kept in feature
    /// order: passes and gradient updates then visit the Gram cache's columns in their order
    /// in memory (when the cache holds all of `X'X`, slot order is feature order). Naive mode
    /// keeps the order of entry, in which its passes converge in fewer rounds on wide data.
    fn add_to_working_set(&mut self, cols: &[usize]) {
        let before = self.ws.len();
        for &j in cols {
            if !self.in_ws[j] {
                self.in_ws[j] = true;
                self.ws.push(j);
            }
        }
        if self.covariance && self.ws.len() > before {
            self.ws.sort_unstable();
        }
        if self.covariance {
            self.gram
                .ensure(self.x, cols, Some((&self.g, &self.usable)));
        }
    }

    /// One coordinate-descent pass over the working set (or its nonzero part); returns
    /// `max_j L_j * delta_j^2`.
    fn pass(&mut self, lambda: f64, active_only: bool) -> f64 {
        let mut dmax: f64 = 0.0;
        // coordinates visited and changed, for the work count
        let (mut visited, mut changed) = (0usize, 0usize);
        for idx in 0..self.ws.len() {
            let j = self.ws[idx];
            let bj = self.b[j];
            if active_only && bj == 0.0 {
                continue;
            }
            visited += 1;
            let lj = self.lip[j];
            // s_j = x_j' r
            let sj = if self.covariance {
                self.g[j]
            } else {
                self.x.col_dot(j, &self.r)
            };
            let bnew = self.pen.prox_1d(lambda, j, lj * bj + sj, lj);
            if bnew != bj {
                let d = bnew - bj;
                self.b[j] = bnew;
                if self.covariance {
                    // s -= X'x_j * delta
                    axpy(-d, self.gram.col(j), &mut self.g);
                } else {
                    // r -= x_j * delta
                    self.x.col_axpy(j, -d, &mut self.r);
                }
                dmax = dmax.max(lj * d * d);
                changed += 1;
            }
        }
        // naive: a dot product per visit and an update of the residual per change;
        // covariance: an update of the gradients (a Gram column) per change
        self.pass_work += if self.covariance {
            (visited + changed * self.b.len()) as f64
        } else {
            (self.x.n_samples() * (visited + changed)) as f64
        };
        dmax
    }

    /// Cost of a Newton step that forms `G_AA + diag(l2)` for `k` active features and factors
    /// it, in multiply-adds of a pass: `k^3 / 3` for the factor, plus `n k^2` for the block
    /// from `X` in naive mode (`k^2` copied from the Gram cache in covariance mode), divided by
    /// [`LEVEL3_GAIN`] (blocked products and factorizations run that much faster).
    fn dense_solve_cost(&self, k: usize) -> f64 {
        let k = k as f64;
        let block = if self.covariance {
            k * k
        } else {
            self.x.n_samples() as f64 * k * k
        };
        (block + k.powi(3) / 3.0) / LEVEL3_GAIN
    }

    /// Records the working-set coefficients for Anderson extrapolation and, when a proposal
    /// is ready, moves to it if it lowers the objective.
    fn try_extrapolation(&mut self, lambda: f64) {
        let snapshot: Vec<f64> = self.ws.iter().map(|&j| self.b[j]).collect();
        let Some(mut prop) = self.anderson.push(snapshot) else {
            return;
        };
        let pen = self.pen;
        for (v, &j) in prop.iter_mut().zip(&self.ws) {
            *v = v.clamp(pen.lower()[j], pen.upper()[j]);
        }
        self.accept_if_lower(lambda, &prop);
    }

    /// Moves the working-set coefficients to `prop` (one value per working-set feature, in
    /// working-set order) if that lowers the objective `1/2 ||y - Xb||^2 + pen(b)`; the
    /// gradients `X'y - Gb` (covariance) or the residual `y - Xb` (naive) are computed at the
    /// proposal from scratch, so they are exact whichever way it goes. Returns whether it
    /// moved.
    fn accept_if_lower(&mut self, lambda: f64, prop: &[f64]) -> bool {
        let pen = self.pen;
        let pen_of = |vals: &mut dyn Iterator<Item = (usize, f64)>| -> f64 {
            vals.map(|(j, b)| pen.value_1d(lambda, j, b)).sum()
        };
        let current = 0.5 * self.rss() + pen_of(&mut self.ws.iter().map(|&j| (j, self.b[j])));
        let proposed_pen = pen_of(&mut self.ws.iter().zip(prop).map(|(&j, &b)| (j, b)));
        let accept = if self.covariance {
            // s' = X'y - G b'
            let mut g = std::mem::take(&mut self.scratch);
            g.clear();
            g.extend_from_slice(&self.c);
            let (gram, ws) = (&self.gram, &self.ws);
            add_scaled_columns(&mut g, ws.len(), |k| (-prop[k], gram.col(ws[k])));
            // rss = y'y - b'(X'y + s')
            let rss = self.yty
                - self
                    .ws
                    .iter()
                    .zip(prop)
                    .map(|(&j, &b)| b * (self.c[j] + g[j]))
                    .sum::<f64>();
            let accept = 0.5 * rss + proposed_pen < current;
            self.scratch = if accept {
                std::mem::replace(&mut self.g, g)
            } else {
                g
            };
            accept
        } else {
            // r' = y - X b'
            let mut r = std::mem::take(&mut self.scratch);
            r.clear();
            r.extend_from_slice(self.y);
            for (&j, &b) in self.ws.iter().zip(prop) {
                if b != 0.0 {
                    self.x.col_axpy(j, -b, &mut r);
                }
            }
            let accept = 0.5 * dot(&r, &r) + proposed_pen < current;
            self.scratch = if accept {
                std::mem::replace(&mut self.r, r)
            } else {
                r
            };
            accept
        };
        if accept {
            for (&j, &b) in self.ws.iter().zip(prop) {
                self.b[j] = b;
            }
        }
        accept
    }

    /// Newton step on the active set: with `A` the nonzero coefficients
    /// strictly inside their bounds plus the features `entering` (zero, with the sign of
    /// their gradient), and the signs `s_A` fixed, the objective is the quadratic
    /// `1/2 b'Gb - c'b + sum_A (l1_j s_j b_j + l2_j/2 b_j^2)` (`c = X'y`), minimized by
    /// `b + d` with `(G_AA + diag(l2_A)) d = g_A - l1_A s_A - l2_A b_A` (`g = X'r`). With the
    /// path's Cholesky factor `G_AA = L L'`, the lasso system is solved directly and the
    /// elastic-net one by conjugate gradients (see `ActiveCholesky::solve_shifted`), which
    /// stop at a relative residual of [`NEWTON_CG_TOL`]. With `|A| >= n` (`G_AA` singular) or
    /// some `l2_j > lip_j / 10` (the factor a poor preconditioner) the system itself is formed
    /// (`O(n |A|^2)` from `X` in naive mode, copied from the Gram cache in covariance mode)
    /// and factored (`|A|^3 / 3`), but only while the work of such steps at this lambda stays
    /// within that of its passes (see `dense_solve_cost`). A penalized coefficient whose sign
    /// would flip stops at zero, and a coefficient the solution would take past a bound stops
    /// there; either leaves the system, which is solved again without it (at most
    /// [`NEWTON_SIGN_ROUNDS`] times; naive mode takes the Gram entries this needs from the
    /// factor, `M = L L'`). Bounds are enforced. The gradients at the proposal are computed
    /// afresh (covariance mode: `X'y - G b`, `O(p |ws|)`; naive mode: the residual and the
    /// working set's `X'r`, `O(n |ws|)`), and the step is taken only if it lowers the
    /// objective. In naive mode the factor's new columns `G[F + J, J]` are products with `X`,
    /// `O(n (|F| + |J|) |J|)` for `|J|` features joining a factor of `|F|`. Naive mode
    /// computes the working set's gradients before the step unless `g_current` says they are
    /// (right after an accepted step).
    ///
    /// Returns `None` if no step was taken; otherwise the gradients are exact, as after a
    /// refresh, and the result says whether the active set was right: `Some(v)` lists the
    /// working-set features at zero that violate their optimality condition at the new
    /// point (candidates to enter), and `clipped` is set when a coefficient stopped at zero or
    /// at a bound.
    fn newton_step(
        &mut self,
        lambda: f64,
        entering: &[usize],
        g_current: bool,
        min_active: usize,
    ) -> Option<NewtonOutcome> {
        let pen = self.pen;
        let b_now = &self.b;
        let is_active = |j: usize| {
            let b = b_now[j];
            b != 0.0 && b > pen.lower()[j] && b < pen.upper()[j]
        };
        let is_entering = |j: usize| entering.contains(&j);
        let active: Vec<usize> = self
            .ws
            .iter()
            .copied()
            .filter(|&j| is_active(j) || is_entering(j))
            .collect();
        if active.len() < min_active || active.len() > NEWTON_MAX {
            return None;
        }
        // The path's factor of G_AA serves when G_AA is nonsingular (fewer active features
        // than rows) and preconditions G_AA + diag(l2) well (l2 small). Otherwise the system
        // is formed and factored afresh, once the passes at this lambda have cost as much as
        // every such solve so far and this one.
        let k = active.len();
        let dense = k >= self.x.n_samples()
            || active
                .iter()
                .any(|&j| pen.weights(lambda, j).1 > 0.1 * self.lip[j]);
        // dense: G_AA + diag(l2_A), k x k column-major
        let mut system: Vec<f64> = Vec::new();
        // the first solve's forward half `L^-1 rhs`, when the factor update computed it
        let mut forward: Option<Vec<f64>> = None;
        if dense {
            let cost = self.dense_solve_cost(k);
            if self.dense_spent + cost > self.pass_work {
                return None;
            }
            self.dense_spent += cost;
            system.resize(k * k, 0.0);
            if self.covariance {
                for (c, &j) in active.iter().enumerate() {
                    let col = self.gram.col(j);
                    for (v, &i) in system[c * k..(c + 1) * k].iter_mut().zip(&active) {
                        *v = col[i];
                    }
                }
            } else {
                let mut scratch = std::mem::take(&mut self.scratch);
                self.x.gram_square(&active, &mut system, &mut scratch);
                self.scratch = scratch;
            }
            for (c, &j) in active.iter().enumerate() {
                system[c * k + c] += pen.weights(lambda, j).1;
            }
        } else {
            // bring the factor to the active set; a column dependent on the factored ones
            // stays out of the step (the factor holds only working-set features, so "not
            // active" is the test)
            let leaving: Vec<usize> = self
                .chol
                .features()
                .iter()
                .copied()
                .filter(|&j| !is_active(j) && !is_entering(j))
                .collect();
            self.chol.remove(&leaving);
            let joining: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&j| !self.chol.contains(j))
                .collect();
            if self.covariance && !joining.is_empty() {
                // the first round's right-hand side (no coefficient stopped yet), solved along
                // the new rows
                let (gram, b_now, g_now) = (&self.gram, &self.b, &self.g);
                let rhs = |j: usize| newton_rhs(pen, lambda, b_now, g_now, j, 0.0);
                forward = Some(
                    self.chol
                        .add_block_solving(&joining, |j| gram.col(j), Some(&rhs)),
                );
            } else if !self.covariance && !joining.is_empty() {
                // G[F + J, J] from X: O(n (|F| + |J|) |J|)
                let rows = self.chol.block_rows(&joining);
                let mut cross = vec![0.0; rows.len() * joining.len()];
                let mut scratch = std::mem::take(&mut self.scratch);
                self.x.gram_block(&rows, &joining, &mut cross, &mut scratch);
                self.scratch = scratch;
                self.chol.add_block_from(&joining, &cross);
            }
        }
        if !self.covariance && !g_current {
            // the passes keep the residual; the step needs the working set's gradients
            self.x.t_matvec_cols(&self.ws, &self.r, &mut self.g);
        }
        // signs: of the coefficient, or of the gradient for an entering feature
        let (b_now, g_now) = (&self.b, &self.g);
        let sign = |j: usize| sign_at(b_now, g_now, j);
        // Coefficients whose sign the solution would flip leave the system and stop at zero,
        // those it would take past a bound stop there, and the rest is solved again without
        // them (at most NEWTON_SIGN_ROUNDS times): clipping them after the solve would leave
        // the others at a point balanced against values they no longer have, which on
        // ill-conditioned designs raises the objective and the step is refused.
        // (feature, value it stops at)
        let mut stopped: Vec<(usize, f64)> = Vec::new();
        // -sum_r G[:, r] c_r over the stopped coefficients r, moved by c_r (on the factor's
        // features)
        let mut moved: Vec<f64> = Vec::new();
        let mut rounds = 0;
        // dense: the positions in `active` still in the system
        let mut kept: Vec<usize> = (0..k).collect();
        let (set, d) = loop {
            let set: Vec<usize> = if dense {
                kept.iter().map(|&c| active[c]).collect()
            } else {
                self.chol.features().to_vec()
            };
            if set.len() < min_active {
                return None;
            }
            // with b_r moved by c_r for r in `stopped`: g_j - sum_r G[j, r] c_r
            let l2: Vec<f64> = set.iter().map(|&j| pen.weights(lambda, j).1).collect();
            let rhs: Vec<f64> = set
                .iter()
                .map(|&j| {
                    let shift = moved.get(j).copied().unwrap_or(0.0);
                    newton_rhs(pen, lambda, b_now, g_now, j, shift)
                })
                .collect();
            let rhs_norm = dot(&rhs, &rhs).sqrt();
            if !(rhs_norm > 0.0) {
                return None;
            }
            let d = if dense {
                let m = kept.len();
                let mut sub = Vec::with_capacity(m * m);
                for &c in &kept {
                    sub.extend(kept.iter().map(|&r| system[c * k + r]));
                }
                solve_spd_damped(&sub, &rhs)?
            } else if l2.iter().all(|&w| w == 0.0) {
                // the factor is of the system itself: one direct solve
                let mut d = match forward.take() {
                    Some(z) => z,
                    None => {
                        let mut d = rhs;
                        self.chol.solve_lower(&mut d);
                        d
                    }
                };
                self.chol.solve_upper(&mut d);
                d
            } else {
                match forward.take() {
                    Some(z) => {
                        self.chol
                            .solve_shifted_lower(z, &l2, NEWTON_CG_TOL, NEWTON_CG_MAX_ITER)
                    }
                    None => self
                        .chol
                        .solve_shifted(rhs, &l2, NEWTON_CG_TOL, NEWTON_CG_MAX_ITER),
                }
            };
            if rounds == NEWTON_SIGN_ROUNDS {
                break (set, d);
            }
            let stops: Vec<(usize, f64)> = set
                .iter()
                .zip(&d)
                .filter_map(|(&j, &dj)| {
                    let v = b_now[j] + dj;
                    if pen.has_kink(j) && v * sign(j) < 0.0 {
                        Some((j, 0.0))
                    } else if v < pen.lower()[j] {
                        Some((j, pen.lower()[j]))
                    } else if v > pen.upper()[j] {
                        Some((j, pen.upper()[j]))
                    } else {
                        None
                    }
                })
                .collect();
            if stops.is_empty() {
                break (set, d);
            }
            moved.resize(self.b.len(), 0.0);
            for &(r, to) in &stops {
                // -c_r
                let br = b_now[r] - to;
                if br != 0.0 {
                    if dense {
                        // G[A, r] from the system (its diagonal entry, shifted, is not used:
                        // r leaves the system)
                        if let Some(c) = active.iter().position(|&f| f == r) {
                            for (&f, v) in active.iter().zip(&system[c * k..(c + 1) * k]) {
                                moved[f] += br * v;
                            }
                        }
                    } else if self.covariance {
                        axpy(br, self.gram.col(r), &mut moved);
                    } else {
                        // naive mode caches no Gram column: G[A, r] from the factor
                        let col = self.chol.gram_col(r);
                        for (&f, v) in self.chol.features().iter().zip(col) {
                            moved[f] += br * v;
                        }
                    }
                }
            }
            if dense {
                kept.retain(|&c| !stops.iter().any(|&(r, _)| r == active[c]));
            } else {
                let leaving: Vec<usize> = stops.iter().map(|&(j, _)| j).collect();
                self.chol.remove(&leaving);
            }
            stopped.extend(stops);
            rounds += 1;
        };
        // proposal: b + d with signs kept and bounds enforced
        let mut bnew = std::mem::take(&mut self.b_spare);
        bnew.clone_from(&self.b);
        let mut dpen = 0.0;
        let mut clipped = false;
        for &(j, to) in &stopped {
            dpen += pen.value_diff_1d(lambda, j, self.b[j], to - self.b[j]);
            bnew[j] = to;
            clipped = true;
        }
        for (&j, &dj) in set.iter().zip(&d) {
            let b = self.b[j];
            let mut t = (b + dj).clamp(pen.lower()[j], pen.upper()[j]);
            if pen.has_kink(j) && t * sign(j) < 0.0 {
                t = 0.0;
                clipped = true;
            }
            if !t.is_finite() {
                t = b;
            }
            dpen += pen.value_diff_1d(lambda, j, b, t - b);
            bnew[j] = t;
        }
        if self.covariance {
            // its gradients computed afresh, g' = X'y - G[:, ws] b' (no drift carried over)
            let mut g = std::mem::take(&mut self.scratch);
            gradient_at(&self.gram, &self.c, &self.ws, &bnew, &mut g);
            if !self.move_if_lower(bnew, g, dpen) {
                return None;
            }
        } else {
            // its residual y - X b' and the working set's gradients computed afresh
            let prop: Vec<f64> = self.ws.iter().map(|&j| bnew[j]).collect();
            self.b_spare = bnew;
            if !self.accept_if_lower(lambda, &prop) {
                return None;
            }
            self.x.t_matvec_cols(&self.ws, &self.r, &mut self.g);
        }
        self.newton_steps += 1;
        // features at zero, strictly inside their bounds, whose gradient exceeds the penalty
        let (b, g) = (&self.b, &self.g);
        let violators = self
            .ws
            .iter()
            .copied()
            .filter(|&j| {
                b[j] == 0.0
                    && pen.lower()[j] < 0.0
                    && pen.upper()[j] > 0.0
                    && pen.subdiff_distance(lambda, j, 0.0, g[j]) > 0.0
            })
            .collect();
        Some(NewtonOutcome { violators, clipped })
    }

    /// Covariance mode: moves to coefficients `bnew` with gradients `g` if that lowers the
    /// objective, the penalty changing by `dpen`; the buffers not kept become the spares.
    /// Returns whether it moved.
    fn move_if_lower(&mut self, bnew: Vec<f64>, g: Vec<f64>, dpen: f64) -> bool {
        // rss = y'y - b'(X'y + g)
        let rss_old = self.rss();
        let rss_new = self.yty
            - self
                .ws
                .iter()
                .map(|&j| bnew[j] * (self.c[j] + g[j]))
                .sum::<f64>();
        if 0.5 * (rss_new - rss_old) + dpen < 0.0 {
            self.b_spare = std::mem::replace(&mut self.b, bnew);
            self.scratch = std::mem::replace(&mut self.g, g);
            true
        } else {
            self.b_spare = bnew;
            self.scratch = g;
            false
        }
    }

    /// Records that `lambda` is solved (see [`PathMemory::solved`]), with the gradients at the
    /// start of its solve (the last solution's) in covariance mode.
    fn record_solved(&mut self, lambda: f64) {
        if self.covariance && self.memory.last_lambda.is_some() {
            // the start's gradients become the previous ones; the start's buffer is refilled
            // at the next solve
            std::mem::swap(
                self.g_previous.get_or_insert_with(Vec::new),
                &mut self.g_at_start,
            );
        } else {
            self.g_previous = None;
        }
        self.memory.solved(lambda);
    }

    /// Whether the first Newton step at `lambda` starts straight from the last solution, with
    /// neither the predictor's move nor a pass before it (each reads the Gram columns of the
    /// working set), and if so the working-set features it lets enter the active set. It
    /// does in covariance mode, with Newton steps on and coordinate descent not crawling,
    /// when the gradients at the last two solutions (at `l0 > l1 > lambda`) are known and at
    /// least [`NEWTON_MIN`] coefficients (fewer than the rows) are nonzero, none of them
    /// needing the step to form its system afresh (see `newton_step`). The gradients are
    /// extrapolated linearly in lambda, `g + theta (g - g_prev)` with
    /// `theta = (l1 - lambda) / (l0 - l1)`: on a lasso path the coefficients, and so the
    /// gradients (`g = X'y - G b`), are linear in lambda while the active set and signs stay
    /// as they were. A feature at zero, strictly inside its bounds, enters when its
    /// extrapolated gradient violates its optimality condition at `lambda`. Coefficients
    /// that should leave are stopped at zero by the step itself (see `newton_step`). `O(|ws|)`.
    fn direct_plan(&self, lambda: f64, frozen: bool) -> Option<Vec<usize>> {
        if frozen || !self.covariance || !self.newton || self.crawled {
            return None;
        }
        let (Some((l0, _, _)), Some(l1), Some(g_prev)) = (
            self.memory.previous.as_ref(),
            self.memory.last_lambda,
            self.g_previous.as_ref(),
        ) else {
            return None;
        };
        if !(*l0 > l1 && l1 > lambda) {
            return None;
        }
        let pen = self.pen;
        let (b, g) = (&self.b, &self.g);
        let mut nonzero = 0;
        for &j in &self.ws {
            if b[j] != 0.0 {
                nonzero += 1;
                if pen.weights(lambda, j).1 > 0.1 * self.lip[j] {
                    return None;
                }
            }
        }
        if nonzero < NEWTON_MIN || nonzero >= self.x.n_samples() {
            return None;
        }
        let theta = (l1 - lambda) / (l0 - l1);
        let entering = self
            .ws
            .iter()
            .copied()
            .filter(|&j| {
                let gj = g[j] + theta * (g[j] - g_prev[j]);
                b[j] == 0.0
                    && pen.lower()[j] < 0.0
                    && pen.upper()[j] > 0.0
                    && pen.subdiff_distance(lambda, j, 0.0, gj) > 0.0
            })
            .collect();
        Some(entering)
    }

    /// Path predictor: extrapolate the last two solutions linearly in `log(lambda)` on the
    /// coordinates that kept their sign; start from there when that lowers the objective at
    /// the new `lambda`.
    fn predict_start(&mut self, lambda: f64) {
        if let Some((l0, b_prev, b0)) = self.memory.previous.take() {
            self.predict_from(lambda, l0, &b_prev);
            self.memory.previous = Some((l0, b_prev, b0));
        }
    }

    /// [`Self::predict_start`] with the solution `b_prev` at `l0`, the lambda before the last.
    fn predict_from(&mut self, lambda: f64, l0: f64, b_prev: &[f64]) {
        let Some(l1) = self.memory.last_lambda else {
            return;
        };
        if !(l0 > l1 && l1 > lambda) {
            return;
        }
        let theta = (l1 / lambda).ln() / (l0 / l1).ln();
        let pen = self.pen;
        let mut step: Vec<(usize, f64)> = Vec::new();
        for &j in &self.ws {
            let (b, bp) = (self.b[j], b_prev[j]);
            if b != 0.0 && bp != 0.0 && (b > 0.0) == (bp > 0.0) {
                let t = (b + theta * (b - bp)).clamp(pen.lower()[j], pen.upper()[j]);
                if t != 0.0 && (t > 0.0) == (b > 0.0) {
                    step.push((j, t - b));
                }
            }
        }
        if step.is_empty() {
            return;
        }
        let dpen: f64 = step
            .iter()
            .map(|&(j, d)| pen.value_diff_1d(lambda, j, self.b[j], d))
            .sum();
        if self.covariance {
            // s' = s - sum_j G[:, j] d_j ;  rss' = y'y - b'(X'y + s')
            let mut g = std::mem::take(&mut self.scratch);
            g.clone_from(&self.g);
            let gram = &self.gram;
            add_scaled_columns(&mut g, step.len(), |k| (-step[k].1, gram.col(step[k].0)));
            let mut bnew = std::mem::take(&mut self.b_spare);
            bnew.clone_from(&self.b);
            for &(j, d) in &step {
                bnew[j] += d;
            }
            self.move_if_lower(bnew, g, dpen);
        } else {
            let rss_old = self.rss();
            let mut r = std::mem::take(&mut self.scratch);
            r.clone_from(&self.r);
            for &(j, d) in &step {
                self.x.col_axpy(j, -d, &mut r);
            }
            if 0.5 * (dot(&r, &r) - rss_old) + dpen < 0.0 {
                for &(j, d) in &step {
                    self.b[j] += d;
                }
                self.scratch = std::mem::replace(&mut self.r, r);
            } else {
                self.scratch = r;
            }
        }
    }

    /// Recomputes the residual (naive) or all gradients (covariance) from the coefficients,
    /// removing accumulated drift, and the gradients of the working set. Its work counts
    /// towards `path_work`.
    fn refresh(&mut self) {
        let ws = self.ws.len() as f64;
        if self.covariance {
            self.path_work += ws * self.b.len() as f64;
            gradient_at(&self.gram, &self.c, &self.ws, &self.b, &mut self.g);
        } else {
            self.path_work += 2.0 * ws * self.x.n_samples() as f64;
            // r = y - X b
            self.r.copy_from_slice(self.y);
            let mut neg_b = std::mem::take(&mut self.scratch);
            neg_b.clear();
            neg_b.extend(self.b.iter().map(|v| -v));
            self.x.matvec_cols_add(&self.ws, &neg_b, &mut self.r);
            self.scratch = neg_b;
            self.x.t_matvec_cols(&self.ws, &self.r, &mut self.g);
        }
    }

    /// Gradients of every feature (naive mode: `X'r`, `O(n p)`; covariance: already current).
    fn full_gradient(&mut self) {
        if !self.covariance {
            self.path_work += (self.x.n_samples() * self.x.n_features()) as f64;
            self.x.t_matvec(&self.r, &mut self.g);
        }
    }

    /// Fits at `lambda`, warm-started from the current state; `lambda_prev` is the previous
    /// value on the path (for the strong rule).
    pub(crate) fn solve(&mut self, lambda: f64, lambda_prev: f64) -> FitInfo {
        // at or above lambda_max only the unpenalized coefficients (in the working set from
        // the start) are fitted
        let frozen = frozen_at(self.pen, lambda, self.lambda_max);
        let strong = strong_set(
            self.pen,
            lambda,
            lambda_prev,
            frozen,
            &self.usable,
            &self.in_ws,
            &self.g,
        );
        self.add_to_working_set(&strong);

        let null = self.yty.max(f64::MIN_POSITIVE);
        let tol = self.opts.tol;
        let mut thr = self.opts.inner_thresh * null;
        self.memory.start(&self.b, 0.0);
        if self.covariance {
            self.g_at_start.clone_from(&self.g);
        }
        self.path_work += self.pass_work + self.dense_spent;
        self.pass_work = 0.0;
        self.dense_spent = 0.0;
        self.lambdas_begun += 1;
        self.at_max_iter = false;
        if let Some(info) = self.spectral_solve(lambda) {
            self.record_solved(lambda);
            return info;
        }
        // the first Newton step straight from the last solution, or the predictor's start
        let mut direct = self.direct_plan(lambda, frozen);
        if !frozen && direct.is_none() {
            self.predict_start(lambda);
        }

        let mut passes = 0usize;
        let max_iter = self.opts.max_iter;
        // the working-set gap after the last round that took Newton steps; after
        // NEWTON_STALLS rounds whose steps did not halve it, the steps are off for this
        // lambda (on a singular active Gram block, duplicated columns for instance, they
        // solve on part of the active set and can crawl, one pass per round)
        let mut newton_gap = f64::INFINITY;
        let mut newton_stalls = 0;
        let mut newton_on = self.newton;
        // passes at which coordinate descent next stops for Newton steps
        let mut next_hand_over = if self.crawled {
            NEWTON_RECRAWL
        } else {
            NEWTON_CRAWL
        };
        loop {
            if self.may_give_way() && passes >= COVARIANCE_PASS_LIMIT {
                // gradients and residual sums of squares from `X'X` carry its condition
                // number, the design's squared: on an ill-conditioned block they can stall
                // above the tolerance while the coefficients are optimal. The rest of the
                // path works on the residual (naive mode), recomputed here from `X`.
                self.covariance = false;
                self.refresh();
            }
            let nonzero = self.ws.iter().filter(|&&j| self.b[j] != 0.0).count();
            // an accepted Newton step leaves the gradients computed afresh
            let mut settled = false;
            // the working-set certificate, when the Newton steps already computed it
            let mut known: Option<FitInfo> = None;
            let newton_min = if self.crawled || passes >= NEWTON_CRAWL {
                NEWTON_MIN_CRAWL
            } else {
                NEWTON_MIN
            };
            if newton_on && nonzero >= newton_min {
                // one pass settles the active set and signs (in a direct round, the
                // extrapolated gradients name the features entering it), a Newton step solves
                // on them; further steps correct the set while the working-set gap is not
                // met. A direct round counts as a pass.
                passes += 1;
                let mut entering = match direct.take() {
                    Some(entering) => entering,
                    None => {
                        self.pass(lambda, false);
                        Vec::new()
                    }
                };
                for step in 1..=NEWTON_MAX_STEPS {
                    // after an accepted step the gradients are current
                    let Some(out) = self.newton_step(lambda, &entering, step > 1, newton_min)
                    else {
                        break;
                    };
                    settled = true;
                    if (out.violators.is_empty() && !out.clipped) || step == NEWTON_MAX_STEPS {
                        break;
                    }
                    let info = self.certificate(lambda, true);
                    if info.relative_gap <= tol {
                        known = Some(info);
                        break;
                    }
                    entering = out.violators;
                }
            }
            // coordinate descent on the working set, then on its nonzero part; after a
            // Newton step the working-set gap below decides whether it is needed at all
            // (stopped after NEWTON_CRAWL passes at this lambda, and again each time the
            // passes have doubled, for Newton steps to take over)
            let hand_over = newton_on && passes < next_hand_over;
            // covariance mode stops its passes at the limit, for the switch above
            let limited = self.may_give_way();
            let give_up = |passes: usize| limited && passes >= COVARIANCE_PASS_LIMIT;
            let mut crawled = false;
            if !settled {
                'cd: loop {
                    passes += 1;
                    if self.pass(lambda, false) < thr || passes >= max_iter || give_up(passes) {
                        break;
                    }
                    if hand_over && passes >= next_hand_over {
                        crawled = true;
                        break;
                    }
                    self.anderson.reset();
                    loop {
                        passes += 1;
                        if self.pass(lambda, true) < thr || passes >= max_iter || give_up(passes) {
                            break;
                        }
                        if hand_over && passes >= next_hand_over {
                            crawled = true;
                            break 'cd;
                        }
                        self.try_extrapolation(lambda);
                    }
                }
                if crawled {
                    next_hand_over = 2 * passes;
                    self.crawled = true;
                }
                self.refresh();
            }
            // the gap of the working-set problem costs O(n |ws|); the full gradient only
            // once it is met
            let ws_info = match known {
                Some(info) => info,
                None => self.certificate(lambda, true),
            };
            if settled {
                if ws_info.relative_gap >= 0.5 * newton_gap {
                    newton_stalls += 1;
                    newton_on = newton_stalls < NEWTON_STALLS;
                }
                newton_gap = ws_info.relative_gap;
            }
            if ws_info.relative_gap > tol && passes < max_iter && thr >= 1e-24 * null {
                if !settled && !crawled {
                    thr *= (tol / ws_info.relative_gap).clamp(1e-3, 0.1);
                }
                continue;
            }
            self.full_gradient();
            let violators =
                kkt_violators(self.pen, lambda, frozen, &self.usable, &self.in_ws, &self.g);
            if !violators.is_empty() && passes < max_iter {
                self.add_to_working_set(&violators);
                continue;
            }
            // with no violator outside, this equals the working-set gap up to rounding
            let info = self.certificate(lambda, false);
            if info.relative_gap <= tol || passes >= max_iter || thr < 1e-24 * null {
                self.record_solved(lambda);
                self.at_max_iter = passes >= max_iter;
                return FitInfo {
                    n_iter: passes + std::mem::take(&mut self.prefit_passes),
                    converged: info.relative_gap <= tol,
                    ..info
                };
            }
            thr /= 10.0;
        }
    }

    /// Whether the path may still turn from covariance mode to residual updates (see
    /// [`COVARIANCE_PASS_LIMIT`]): in covariance mode, before a spectral form exists.
    fn may_give_way(&self) -> bool {
        self.covariance && self.spectrum.is_none()
    }

    /// A ridge path's exact solution at `lambda > 0` from its spectral form (see
    /// [`RidgeSpectrum`]), formed once the work still to come along the path, projected at
    /// the average rate of the lambdas so far, or failing a projection the work done, costs
    /// as much as forming it. The state moves to that solution (residual and gradients
    /// recomputed from it); returned, with no pass, when its certificate meets the
    /// tolerance, otherwise the passes continue from it.
    fn spectral_solve(&mut self, lambda: f64) -> Option<FitInfo> {
        if !(lambda > 0.0) {
            return None;
        }
        if self.spectrum.is_none() {
            let cost = self.spectral_cost?;
            // the work still to come at the average rate of the lambdas so far (later lambdas
            // of a ridge path, smaller, are harder: an underestimate), or failing that the
            // work done already, must have reached the cost
            // projected from two lambdas at least: wrongly forming it costs all of it, while
            // waiting one more lambda costs about `cost / after`
            let done = self.lambdas_begun - 1;
            let ahead = match &self.lambdas_after {
                Some(after) if done > 1 => self.path_work * (after.len() + 1) as f64 / done as f64,
                _ => 0.0,
            };
            if self.path_work.max(ahead) < cost {
                return None;
            }
            // formed at most once
            self.spectral_cost = None;
            let feats = self.usable_idx.clone();
            self.add_to_working_set(&feats);
            let cached = self.covariance.then_some(&self.gram);
            self.spectrum = RidgeSpectrum::new(self.x, self.y, &self.c, cached, &feats, self.pen);
        }
        let spectrum = self.spectrum.as_ref()?;
        // a solution that is not finite (a tridiagonal pivot lost to rounding at a tiny
        // `lambda`) is not taken: the passes start from the current state instead
        if self.covariance {
            let mut b = self.b.clone();
            spectrum.coefficients(self.x, lambda, &mut b);
            if !all_finite(&b) {
                return None;
            }
            self.b = b;
            self.refresh();
        } else if !self.take_from_block(lambda) {
            return None;
        }
        let info = self.certificate(lambda, false);
        (info.relative_gap <= self.opts.tol).then(|| FitInfo {
            n_iter: std::mem::take(&mut self.prefit_passes),
            converged: true,
            ..info
        })
    }

    /// Naive mode: the state moves to the spectral solution at `lambda` with its residual and
    /// gradients, from the block of lambdas taken ahead; when `lambda` is not the block's
    /// next, a new block is formed for it and the path's lambdas after it (up to
    /// [`SPECTRAL_BLOCK`]): coefficients, residuals `R = y 1' - X_F B` and gradients
    /// `X_F' R`, each one blocked product (`O(n |F| m)`) instead of `m` reads of `X` each.
    /// `false`, with the state left as it was, if that solution is not finite.
    fn take_from_block(&mut self, lambda: f64) -> bool {
        let Some(spectrum) = self.spectrum.as_ref() else {
            return false;
        };
        let (n, feats) = (self.x.n_samples(), spectrum.features());
        let k = feats.len();
        let hit = self
            .ahead
            .as_ref()
            .is_some_and(|bl| bl.lambdas.get(bl.next) == Some(&lambda));
        if !hit {
            let most = (SPECTRAL_BLOCK_NUMBERS / k.max(n).max(1)).clamp(1, SPECTRAL_BLOCK);
            let mut lambdas = vec![lambda];
            if let Some(after) = &self.lambdas_after {
                lambdas.extend(after.iter().take(most - 1).filter(|&&l| l > 0.0));
            }
            let m = lambdas.len();
            let mut b = vec![0.0; k * m];
            spectrum.coefficients_block(self.x, &lambdas, &mut b);
            let mut r: Vec<f64> = (0..m).flat_map(|_| self.y.iter().copied()).collect();
            self.x.matmat_cols_add(feats, -1.0, &b, m, &mut r);
            let mut g = vec![0.0; k * m];
            self.x.t_matmat_cols(feats, &r, m, &mut g);
            self.ahead = Some(SpectralBlock {
                lambdas,
                next: 0,
                b,
                r,
                g,
            });
        }
        let Some(bl) = self.ahead.as_mut() else {
            return false;
        };
        let l = bl.next;
        bl.next += 1;
        let (b, r, g) = (
            &bl.b[l * k..(l + 1) * k],
            &bl.r[l * n..(l + 1) * n],
            &bl.g[l * k..(l + 1) * k],
        );
        if !(all_finite(b) && all_finite(r) && all_finite(g)) {
            return false;
        }
        for (c, &j) in feats.iter().enumerate() {
            self.b[j] = b[c];
            self.g[j] = g[c];
        }
        self.r.copy_from_slice(r);
        true
    }

    /// Duality gap at the current (refreshed) state: of the whole problem, or with
    /// `ws_only` of the problem restricted to the working set (features outside it fixed at 0).
    fn certificate(&mut self, lambda: f64, ws_only: bool) -> FitInfo {
        let pen = self.pen;
        let p = self.b.len();
        let feats: &[usize] = if ws_only { &self.ws } else { &self.usable_idx };
        let (rr, ry) = if self.covariance {
            let bc = dot(&self.b, &self.c);
            (self.yty - bc - dot(&self.b, &self.g), self.yty - bc)
        } else {
            (dot(&self.r, &self.r), dot(&self.r, self.y))
        };
        // coefficients outside the working set are zero
        let primal = 0.5 * rr
            + self
                .ws
                .iter()
                .map(|&j| pen.value_1d(lambda, j, self.b[j]))
                .sum::<f64>();
        let kkt = feats
            .iter()
            .map(|&j| pen.subdiff_distance(lambda, j, self.b[j], self.g[j]))
            .fold(0.0f64, f64::max);

        // Unpenalized coordinates (pf_j = 0, or every one at lambda = 0) inside their bounds
        // need X_F' u = 0: project the residual r <- r - X_F a with G_FF a = s_F (one exact
        // least-squares step on those coordinates). Without a dual point that way (a
        // coordinate at a bound, more than `projectable` allows, or G_FF
        // singular) the certificate is the KKT violation.
        let mut kind = Certificate::DualityGap;
        let mut free = Vec::new();
        for &j in feats {
            if self.usable[j] && pen.is_free_at(lambda, j) {
                let b = self.b[j];
                if b > pen.lower()[j] && b < pen.upper()[j] {
                    free.push(j);
                } else {
                    kind = Certificate::KktViolation;
                }
            }
        }
        if !projectable(free.len(), p, self.x.n_samples()) {
            kind = Certificate::KktViolation;
        }
        let mut s = self.g.clone();
        let (mut rr2, mut ry2) = (rr, ry);
        if !free.is_empty() && kind == Certificate::DualityGap {
            self.gram.ensure(self.x, &free, None);
            let k = free.len();
            let mut gff = vec![0.0; k * k];
            for (b_i, &jb) in free.iter().enumerate() {
                let col = self.gram.col(jb);
                for (a_i, &ja) in free.iter().enumerate() {
                    gff[a_i * k + b_i] = col[ja];
                }
            }
            let sf: Vec<f64> = free.iter().map(|&j| self.g[j]).collect();
            match solve_spd(&gff, &sf) {
                Some(a) => {
                    let mut quad = 0.0;
                    for a_i in 0..k {
                        for b_i in 0..k {
                            quad += a[a_i] * gff[a_i * k + b_i] * a[b_i];
                        }
                    }
                    rr2 = rr - 2.0 * dot(&a, &sf) + quad;
                    ry2 = ry
                        - free
                            .iter()
                            .zip(&a)
                            .map(|(&j, ai)| ai * self.c[j])
                            .sum::<f64>();
                    for (ai, &j) in a.iter().zip(&free) {
                        axpy(-ai, self.gram.col(j), &mut s);
                    }
                }
                None => kind = Certificate::KktViolation,
            }
        }
        let mut is_free = vec![false; p];
        free.iter().for_each(|&j| is_free[j] = true);
        let mut gap = f64::INFINITY;
        if kind == Certificate::DualityGap {
            // u = -t r: scale t so that every conjugate is finite
            let mut t: f64 = 1.0;
            for &j in feats {
                if !is_free[j] {
                    t = t.min(pen.dual_scaling_limit(lambda, j, s[j]));
                }
            }
            let mut dual = t * ry2 - 0.5 * t * t * rr2;
            for &j in feats {
                if !is_free[j] {
                    dual -= pen.conjugate(lambda, j, t * s[j]);
                }
            }
            gap = primal - dual;
            if !gap.is_finite() {
                kind = Certificate::KktViolation;
            }
        }
        FitInfo::from_parts(kind, gap, primal, kkt, self.grad_scale)
    }
}

/// Entry `j` of a Newton step's right-hand side `g_j + shift - l1_j s_j - l2_j b_j` (`s_j`
/// from [`sign_at`]; `shift` the gradient's change from the coefficients stopped so far).
fn newton_rhs(pen: &ElasticNet, lambda: f64, b: &[f64], g: &[f64], j: usize, shift: f64) -> f64 {
    let (w1, w2) = pen.weights(lambda, j);
    g[j] + shift - w1 * sign_at(b, g, j) - w2 * b[j]
}

/// The sign a Newton step gives feature `j`: its coefficient's, or its gradient's at zero.
fn sign_at(b: &[f64], g: &[f64], j: usize) -> f64 {
    if b[j] != 0.0 {
        b[j].signum()
    } else {
        g[j].signum()
    }
}

/// Covariance mode: the gradients `g = X'y - sum_{j in ws} G[:, j] b_j` of every feature at
/// coefficients `b` that are zero outside the working set `ws`.
fn gradient_at(gram: &GramCache, c: &[f64], ws: &[usize], b: &[f64], g: &mut Vec<f64>) {
    g.clear();
    g.extend_from_slice(c);
    add_scaled_columns(g, ws.len(), |k| (-b[ws[k]], gram.col(ws[k])));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::DenseDesign;
    use crate::solver::test_data::{centered, correlated, rng};

    /// `n x p` design with correlated columns and a response, from a fixed integer sequence.
    fn problem(n: usize, p: usize) -> (DenseDesign, Vec<f64>) {
        let mut rng = rng(12345);
        let data = correlated(n, p, 0.6, &mut rng);
        let y: Vec<f64> = (0..n)
            .map(|i| data[i] - 2.0 * data[2 * n + i] + 0.5 * centered(&mut rng))
            .collect();
        (DenseDesign::from_col_major(data, n, p).expect("shape"), y)
    }

    /// `1/2 ||y - Xb||^2 + pen(b)` from `X` itself.
    fn objective(x: &DenseDesign, y: &[f64], pen: &ElasticNet, lambda: f64, b: &[f64]) -> f64 {
        let mut r = y.to_vec();
        for (j, &bj) in b.iter().enumerate() {
            x.col_axpy(j, -bj, &mut r);
        }
        let penalty: f64 = b
            .iter()
            .enumerate()
            .map(|(j, &bj)| pen.value_1d(lambda, j, bj))
            .sum();
        0.5 * dot(&r, &r) + penalty
    }

    /// Along a lasso path in covariance mode, most lambdas after the first two are solved by
    /// one Newton step straight from the last solution (no pass, no predictor move), features
    /// entering included, and every lambda lands where coordinate descent alone (steps off)
    /// does.
    #[test]
    fn direct_rounds_solve_most_lambdas_of_a_lasso_path_in_one_newton_step() {
        let (n, p) = (500, 100);
        let (x, _) = problem(n, p);
        // half of the features in the response, signs alternating
        let mut rng = rng(777);
        let mut y: Vec<f64> = (0..n).map(|_| centered(&mut rng)).collect();
        for j in 0..p / 2 {
            let w = if j % 2 == 0 { 0.3 } else { -0.2 };
            x.col_axpy(j, w, &mut y);
        }
        let pen = ElasticNet::new(1.0, p).expect("penalty");
        let opts = SolverOptions {
            gaussian_mode: GaussianMode::Covariance,
            ..SolverOptions::default()
        };
        let mut s = GaussianSolver::new(&x, &y, &pen, vec![true; p], opts.clone());
        let mut cd = GaussianSolver::new(&x, &y, &pen, vec![true; p], opts);
        cd.newton = false;
        let lmax = s.lambda_max();
        let (mut direct, mut one_step, mut entered) = (0, 0, 0);
        let mut prev = lmax;
        for k in 0..80 {
            let lambda = lmax * 1e-3f64.powf(k as f64 / 79.0);
            let plan = s.direct_plan(lambda, false);
            let steps = s.newton_steps;
            let info = s.solve(lambda, prev);
            let reference = cd.solve(lambda, prev);
            prev = lambda;
            assert!(info.converged && reference.converged, "lambda #{k}");
            let (f, f_cd) = (
                objective(&x, &y, &pen, lambda, &s.b),
                objective(&x, &y, &pen, lambda, &cd.b),
            );
            assert!(
                (f - f_cd).abs() <= 2e-6 * f,
                "lambda #{k}: {f} against {f_cd}"
            );
            if let Some(entering) = plan {
                direct += 1;
                entered += usize::from(!entering.is_empty());
                if s.newton_steps == steps + 1 && s.pass_work == 0.0 {
                    one_step += 1;
                }
            }
        }
        assert!(direct >= 40, "{direct} direct rounds");
        assert!(entered >= 10, "features entering at {entered}");
        assert!(
            one_step * 10 >= direct * 9,
            "{one_step} of {direct} in one step"
        );
    }

    #[test]
    fn extrapolation_moves_exactly_when_the_objective_drops_and_keeps_its_state_exact() {
        let (n, p) = (50, 6);
        let (x, y) = problem(n, p);
        let pen = ElasticNet::new(0.7, p).expect("penalty");
        let all: Vec<usize> = (0..p).collect();
        for mode in [GaussianMode::Covariance, GaussianMode::Naive] {
            let opts = SolverOptions {
                gaussian_mode: mode,
                ..SolverOptions::default()
            };
            // the solution at lambda, from a separate solver
            let mut reference = GaussianSolver::new(&x, &y, &pen, vec![true; p], opts.clone());
            let lambda = 0.05 * reference.lambda_max();
            reference.solve(lambda, reference.lambda_max());
            let sol = reference.b.clone();
            assert!(sol.iter().filter(|v| **v != 0.0).count() >= 2);

            let mut s = GaussianSolver::new(&x, &y, &pen, vec![true; p], opts);
            s.add_to_working_set(&all);
            let scaled = |k: f64| sol.iter().map(|v| k * v).collect::<Vec<f64>>();
            let mut shifted = sol.clone();
            shifted[1] += 0.3;
            // along the ray k * sol (k > 0, signs fixed) the objective is a quadratic in k;
            // from the start 0.5 sol it is equalled again at k_e = 2 k_min - 0.5, so the
            // proposals just beyond and just short of k_e are told apart only by an exact test
            let f = |k: f64| objective(&x, &y, &pen, lambda, &scaled(k));
            let (d1, d2) = (f(1.0) - f(0.0), f(2.0) - f(0.0));
            let a = 0.5 * (d2 - 2.0 * d1);
            let k_e = (a - d1) / a - 0.5;
            assert!(k_e > 1.0, "{k_e}");
            let proposals = [
                scaled(0.5),
                scaled(k_e * (1.0 + 1e-9)),
                scaled(k_e * (1.0 - 1e-9)),
                scaled(3.0),
                sol.clone(),
                shifted,
                scaled(-1.0),
            ];
            let mut moved = [false; 2];
            for prop in &proposals {
                let before = s.b.clone();
                let (g0, r0) = (s.g.clone(), s.r.clone());
                let drop = objective(&x, &y, &pen, lambda, prop)
                    - objective(&x, &y, &pen, lambda, &before);
                let accepted = s.accept_if_lower(lambda, prop);
                assert_eq!(accepted, drop < 0.0, "{mode:?}: change {drop}");
                moved[usize::from(accepted)] = true;
                if accepted {
                    assert_eq!(&s.b, prop);
                } else {
                    assert_eq!(s.b, before);
                    assert_eq!((&s.g, &s.r), (&g0, &r0));
                }
                // the state matches the coefficients: gradients X'(y - Xb) or residual y - Xb
                let mut r = y.clone();
                for (j, &bj) in s.b.iter().enumerate() {
                    x.col_axpy(j, -bj, &mut r);
                }
                for j in 0..p {
                    let g = x.col_dot(j, &r);
                    if mode == GaussianMode::Covariance {
                        assert!((s.g[j] - g).abs() <= 1e-10 * (1.0 + g.abs()), "{j}");
                    }
                }
                if mode == GaussianMode::Naive {
                    for (a, b) in s.r.iter().zip(&r) {
                        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()));
                    }
                }
            }
            // both outcomes were exercised
            assert_eq!(moved, [true, true], "{mode:?}");
        }
    }
}
