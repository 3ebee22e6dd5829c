//! Proximal Newton (IRLS) for penalized logistic regression:
//!
//! ```text
//! minimize_{b0, b}  sum_i w_i ( log(1 + exp(eta_i)) - y_i eta_i ) + P_lambda(b),
//! eta = offset + b0 + X b,  sum_i w_i = 1
//! ```
//!
//! Each Newton step replaces the log-loss by its second-order model at the current `eta`
//! (curvatures `v_i = w_i p_i (1 - p_i)`, residuals `w_i (y_i - p_i)`), solves that weighted
//! elastic net by coordinate descent on the working set (the intercept is an unpenalized
//! coordinate), and takes the step with a backtracking line search on the true objective, so
//! the objective never increases. A model is solved in row form (each update reads `x_j`) or,
//! when the last step's passes cost as much as building it (see `cov_form_pays`), in
//! covariance form on the weighted Gram block of the working set (see `cov_model`). From the
//! fifth pass of a step on, once the passes have cost as much as a direct solve of the model on
//! its active set (whose blocked products run many times faster per multiply-add, see
//! `super::LEVEL3_GAIN`), that solve is tried too and taken if it lowers the model (see
//! `try_active_solve`): on ill-conditioned or strongly correlated designs coordinate descent
//! crawls. Working sets, KKT checks and duality gaps follow [`super::gaussian`].

use super::gaussian::projectable;
use super::{
    frozen_at, kkt_violators, solve_spd, strong_set, Anderson, Certificate, FitInfo, PathMemory,
    SolverOptions, LEVEL3_GAIN,
};
use crate::datafit::sigmoid;
use crate::design::Design;
use crate::kernels::{axpy, dot, for_each_part_mut, sum};
use crate::penalty::{AlphaMax, Conjugate, ElasticNet, Penalty, Prox1d, SubdiffDistance};
use crate::vmath;

/// Curvatures `w_i p_i (1 - p_i)` are floored at this fraction of the weight, so that a
/// nearly separable problem keeps a well-defined Newton model; `p (1 - p)` reaches it at
/// `|eta| = 46`. A higher floor slows Newton steps wherever the classes are (nearly)
/// separated: with `1e-10`, the loss of classes separated by unpenalized features fell like
/// `1 / k` over tens of thousands of steps instead of geometrically.
const MIN_CURVATURE: f64 = 1e-20;

/// Largest working set whose Newton models are solved in covariance form (the weighted Gram
/// block holds `|ws|^2` numbers).
const COV_MAX_WS: usize = 512;

/// Most active coordinates of a direct solve in row form (see
/// [`LogisticSolver::try_active_solve`]; its system holds `|A|^2` numbers, 32 MB here). Whether
/// a solve is tried at all is decided by its cost against the passes' (`active_solve_pays`).
const ACTIVE_SOLVE_MAX: usize = 2048;

/// Fewest multiply-adds of a weighted Gram block computed on two threads (`2^22`).
const PARALLEL_GRAM_MIN: usize = 1 << 22;

/// Most numbers in the row block of `sqrt(V) X_A` copied for one product of the covariance
/// form (`2^18`, 2 MB; one block for each half of the rows when they are summed in halves).
const COV_BLOCK_NUMBERS: usize = 1 << 18;

/// Coordinate-descent passes of one Newton step after which its model is also solved
/// directly on the active set (see [`LogisticSolver::try_active_solve`]), once the passes so
/// far have cost as much as that solve; again after twice as many passes, and so on. On
/// ill-conditioned designs coordinate descent can crawl.
const ACTIVE_SOLVE_AFTER: usize = 5;

/// Most times one direct solve takes the coefficients whose sign it would flip, or that it
/// would take past a bound, out of its system and solves again.
const ACTIVE_SOLVE_SIGN_ROUNDS: usize = 4;

/// Largest residual `|x_j' W (y - p')| / sum_i w_i |x_ij|` of a free coordinate accepted from
/// the projection of the dual point in the linear predictor (a few ulps of the sum).
const FREE_PROJECTION_TOL: f64 = 1e-13;

/// Most Newton iterations of that projection (it starts next to the solution).
const FREE_PROJECTION_MAX_ITER: usize = 30;

/// Fraction of its starting value to which the fit of the free coordinates before the path
/// brings the violation of their optimality conditions (see [`LogisticSolver::fit_free`]).
const FREE_FIT_REDUCTION: f64 = 1e-12;

/// Path state of the logistic solver.
pub(crate) struct LogisticSolver<'a, D: Design> {
    x: &'a D,
    y: &'a [f64],
    w: &'a [f64],
    /// Fixed part of the linear predictor, if any.
    offset: Option<&'a [f64]>,
    pen: &'a ElasticNet,
    usable: Vec<bool>,
    opts: SolverOptions,
    intercept: bool,
    /// Coefficients in solver units.
    pub b: Vec<f64>,
    /// Intercept in solver units.
    pub b0: f64,
    eta: Vec<f64>,
    /// `sigmoid(eta)`, recomputed whenever `eta` changes (see `set_prob`).
    prob: Vec<f64>,
    g: Vec<f64>,
    in_ws: Vec<bool>,
    ws: Vec<usize>,
    lambda_max: f64,
    null_dev: f64,
    /// The loss at the saturated model, `sum_i w_i H(y_i)` with `H` the binary entropy: 0
    /// for 0/1 labels, positive with proportions. Deviances and the primal objective of the
    /// certificate are measured from it.
    saturated: f64,
    grad_scale: f64,
    // scratch, allocated once per path
    v: Vec<f64>,
    rq: Vec<f64>,
    deta: Vec<f64>,
    delta: Vec<f64>,
    lipw: Vec<f64>,
    r0: Vec<f64>,
    scratch: Vec<f64>,
    /// Row blocks of `sqrt(V) X_C` for weighted Gram products (up to
    /// [`COV_BLOCK_NUMBERS`]); kept apart from `scratch`, which trades places with
    /// `n`-vectors, so that a product does not allocate (and page in) its block afresh.
    gram_scratch: Vec<f64>,
    /// `H_AA` and the system of a direct solve on the active set (see `try_active_solve`).
    solve_buffers: (Vec<f64>, Vec<f64>),
    /// Per-row terms of the loss, the line search and the dual objective.
    terms: Vec<f64>,
    /// Coordinate-descent passes of the last Newton step (decides the next one's form).
    last_step_passes: usize,
    /// Whether Newton models may be solved in covariance form (on by default; off, every
    /// pass reads the rows).
    pub(crate) cov_form: bool,
    /// Newton steps solved in covariance form so far.
    pub(crate) cov_steps: usize,
    anderson: Anderson,
    thr: f64,
    /// The solutions at the last two lambdas (for the path predictor).
    memory: PathMemory,
    /// Passes of the fits before the path (the intercept beside an offset, the unpenalized
    /// features), reported with the first lambda's and then 0.
    prefit_passes: usize,
    /// Whether the last solve stopped because it had taken `max_iter` passes at its lambda.
    pub(crate) at_max_iter: bool,
}

impl<'a, D: Design> LogisticSolver<'a, D> {
    /// Prepares the path. With an intercept the columns of `x` must be weighted-centered.
    /// `offset` is a fixed part of the linear predictor, `eta = offset + b0 + X b` (glmnet
    /// `offset`); the null model is then the intercept (if any) fitted with the offset in
    /// place.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        x: &'a D,
        y: &'a [f64],
        w: &'a [f64],
        pen: &'a ElasticNet,
        usable: Vec<bool>,
        opts: SolverOptions,
        intercept: bool,
        offset: Option<&'a [f64]>,
    ) -> Self {
        let (n, p) = (x.n_samples(), x.n_features());
        let ybar = dot(w, y) / sum(w);
        let b0 = if intercept {
            (ybar / (1.0 - ybar)).ln() - offset.map_or(0.0, |o| dot(w, o) / sum(w))
        } else {
            0.0
        };
        let eta: Vec<f64> = match offset {
            Some(o) => o.iter().map(|v| b0 + v).collect(),
            None => vec![b0; n],
        };
        let mut s = LogisticSolver {
            x,
            y,
            w,
            offset,
            pen,
            usable,
            opts,
            intercept,
            b: vec![0.0; p],
            b0,
            prob: eta.iter().map(|&e| vmath::sigmoid(e)).collect(),
            eta,
            g: vec![0.0; p],
            in_ws: vec![false; p],
            ws: Vec::new(),
            lambda_max: 0.0,
            null_dev: 0.0,
            saturated: -y
                .iter()
                .zip(w)
                .map(|(&v, &wi)| wi * vmath::neg_entropy(v))
                .sum::<f64>(),
            grad_scale: 0.0,
            v: vec![0.0; n],
            rq: vec![0.0; n],
            deta: vec![0.0; n],
            delta: vec![0.0; p],
            lipw: vec![0.0; p],
            r0: vec![0.0; n],
            scratch: Vec::new(),
            gram_scratch: Vec::new(),
            solve_buffers: (Vec::new(), Vec::new()),
            terms: vec![0.0; n],
            last_step_passes: 0,
            cov_form: true,
            cov_steps: 0,
            anderson: Anderson::default(),
            thr: f64::INFINITY,
            memory: PathMemory::new(p),
            prefit_passes: 0,
            at_max_iter: false,
        };
        if intercept && offset.is_some() {
            // the intercept beside an offset has no closed form: Newton steps on it alone
            let thr = 2e-14 * s.loss().max(f64::MIN_POSITIVE);
            s.prefit_passes += s.fit_free(thr);
        }
        s.null_dev = 2.0 * (s.loss() - s.saturated);
        let unpenalized: Vec<usize> = (0..p)
            .filter(|&j| s.usable[j] && !pen.is_penalized(j))
            .collect();
        if !unpenalized.is_empty() {
            s.add_to_working_set(&unpenalized);
            s.prefit_passes += s.fit_free(1e-14 * s.null_dev.max(f64::MIN_POSITIVE));
        }
        s.refresh(false);
        s.lambda_max = pen.lambda_max(&s.g);
        s.grad_scale =
            s.g.iter()
                .zip(&s.usable)
                .filter(|(_, u)| **u)
                .fold(0.0f64, |m, (v, _)| m.max(v.abs()));
        s
    }

    /// Fits the working set (unpenalized coordinates and the intercept) by Newton steps at
    /// `lambda = 1` until a step changes less than `thr` and the largest violation of their
    /// optimality conditions (see [`Self::free_violation`]) is within
    /// [`FREE_FIT_REDUCTION`] of its value at the start; while it is not, the steps' inner
    /// accuracy tightens a hundredfold, down to `1e-16 thr`. This fit fixes `lambda_max`
    /// through the gradients it leaves, and on ill-conditioned designs a small step comes
    /// long before small gradients. Returns the passes it took.
    fn fit_free(&mut self, thr: f64) -> usize {
        let target = FREE_FIT_REDUCTION * self.free_violation();
        let floor = 1e-16 * thr;
        let mut thr = thr;
        let mut passes = 0;
        while passes < self.opts.max_iter {
            let (chg, used) = self.newton_step(1.0, thr);
            passes += used.max(1);
            if chg < thr {
                if thr < floor || self.free_violation() <= target {
                    break;
                }
                thr *= 0.01;
            }
        }
        passes
    }

    /// Largest violation of the optimality conditions of the working set at `lambda = 1`
    /// (where only free coordinates are in it): the distance of each gradient
    /// `x_j' W (y - p)` from its subdifferential (bounds included), and with an intercept
    /// `|sum_i w_i (y_i - p_i)|`. Computes the working set's gradients, `O(n |ws|)`.
    fn free_violation(&mut self) -> f64 {
        self.ws_gradient();
        let pen = self.pen;
        let kkt = self
            .ws
            .iter()
            .map(|&j| pen.subdiff_distance(1.0, j, self.b[j], self.g[j]))
            .fold(0.0f64, f64::max);
        if self.intercept {
            kkt.max(sum(&self.rq).abs())
        } else {
            kkt
        }
    }

    /// Deviance of the intercept-only model (or of `eta = offset`, 0 without one, without
    /// intercept).
    pub(crate) fn null_deviance(&self) -> f64 {
        self.null_dev
    }

    /// `lambda_max`: for `alpha >= 0.001` every penalized coefficient is zero at and above it;
    /// for smaller `alpha` it is glmnet's grid anchor computed at `alpha = 0.001`.
    pub(crate) fn lambda_max(&self) -> f64 {
        self.lambda_max
    }

    /// Deviance `2 (F(eta) - F_sat)` at the current coefficients, `F_sat` the loss at the
    /// saturated model (0 for 0/1 labels).
    pub(crate) fn deviance(&self) -> f64 {
        2.0 * (self.loss_with(&mut vec![0.0; self.eta.len()]) - self.saturated)
    }

    /// `F(eta) = sum_i w_i (log(1 + exp(eta_i)) - y_i eta_i)`, with `log(1 + exp(eta_i))`
    /// from the probability already at hand (see [`vmath::log1pexp_at`]); `terms` is scratch.
    fn loss_with(&self, terms: &mut [f64]) -> f64 {
        let (eta, prob, y) = (&self.eta[..], &self.prob[..], self.y);
        for_each_part_mut(terms, ELEMENTWISE_SPLIT_MIN, |start, t| {
            let end = start + t.len();
            for (((t, &e), &p), &y) in t
                .iter_mut()
                .zip(&eta[start..end])
                .zip(&prob[start..end])
                .zip(&y[start..end])
            {
                *t = vmath::log1pexp_at(e, p) - y * e;
            }
        });
        dot(self.w, terms)
    }

    /// [`Self::loss_with`] on the solver's own scratch.
    fn loss(&mut self) -> f64 {
        let mut terms = std::mem::take(&mut self.terms);
        let f = self.loss_with(&mut terms);
        self.terms = terms;
        f
    }

    /// Change of the loss when `eta` moves by `step * d`,
    /// `sum_i w_i (log(1 + exp(e_i + s d_i)) - log(1 + exp(e_i)) - y_i s d_i)`, term by term
    /// without cancellation (see [`vmath::log1pexp_change`]), so that decreases far below the
    /// rounding error of the loss itself are seen.
    fn loss_change(&mut self, d: &[f64], step: f64) -> f64 {
        let (eta, prob, y) = (&self.eta[..], &self.prob[..], self.y);
        for_each_part_mut(&mut self.terms, ELEMENTWISE_SPLIT_MIN, |start, t| {
            let end = start + t.len();
            // the first form of the change in every row, in vector lanes; the rows it does not
            // cover (a large decrease) again with the whole function
            let mut far = false;
            for (((t, &p), &d), &y) in t
                .iter_mut()
                .zip(&prob[start..end])
                .zip(&d[start..end])
                .zip(&y[start..end])
            {
                let x = step * d;
                let (near, u) = vmath::log1pexp_change_near(p, x);
                far |= !(-0.5..f64::INFINITY).contains(&u);
                *t = near - y * x;
            }
            if far {
                for ((((t, &e), &p), &d), &y) in t
                    .iter_mut()
                    .zip(&eta[start..end])
                    .zip(&prob[start..end])
                    .zip(&d[start..end])
                    .zip(&y[start..end])
                {
                    let x = step * d;
                    *t = vmath::log1pexp_change(e, p, x) - y * x;
                }
            }
        });
        dot(self.w, &self.terms)
    }

    /// `prob = sigmoid(eta)`: called by everything that changes `eta`.
    fn set_prob(&mut self) {
        let eta = &self.eta[..];
        for_each_part_mut(&mut self.prob, ELEMENTWISE_SPLIT_MIN, |start, q| {
            let end = start + q.len();
            for (q, &e) in q.iter_mut().zip(&eta[start..end]) {
                *q = vmath::sigmoid(e);
            }
        });
    }

    fn add_to_working_set(&mut self, cols: &[usize]) {
        for &j in cols {
            if !self.in_ws[j] {
                self.in_ws[j] = true;
                self.ws.push(j);
            }
        }
    }

    /// `eta = offset + b0 + X b` recomputed from the coefficients (removes drift of the
    /// incremental updates, so that the certificate and the primal see the same point).
    fn recompute_eta(&mut self) {
        match self.offset {
            Some(o) => {
                for (e, v) in self.eta.iter_mut().zip(o) {
                    *e = self.b0 + v;
                }
            }
            None => self.eta.iter_mut().for_each(|e| *e = self.b0),
        }
        self.x.matvec_cols_add(&self.ws, &self.b, &mut self.eta);
        self.set_prob();
    }

    /// `s = X' W (y - p)` from `eta` recomputed from the coefficients. With `ws_current` the
    /// working-set gradients were just computed at the same coefficients (by
    /// [`Self::ws_gradient`], from the incrementally updated `eta`, which differs from the
    /// recomputed one only by rounding) and only the features outside it are computed.
    fn refresh(&mut self, ws_current: bool) {
        self.recompute_eta();
        for i in 0..self.eta.len() {
            self.rq[i] = self.w[i] * (self.y[i] - self.prob[i]);
        }
        if ws_current {
            let outside: Vec<usize> = (0..self.b.len()).filter(|&j| !self.in_ws[j]).collect();
            self.x.t_matvec_cols(&outside, &self.rq, &mut self.g);
        } else {
            self.x.t_matvec(&self.rq, &mut self.g);
        }
    }

    /// One proximal Newton step on the working set. Returns the largest weighted change
    /// `max L_j (step * delta_j)^2` and the number of coordinate-descent passes used.
    ///
    /// The quadratic model at the current `eta` (curvatures `v`, residuals `r0 = w (y - p)`)
    /// is `Q(e) = sum_i -r0_i e_i + v_i e_i^2 / 2 + P(b + delta)` with `e = d0 + X delta`.
    /// Coordinate descent keeps only `rq = r0 - v .* e` current (each update reads `x_j`,
    /// `v` and `rq`); `e` is formed from the step's coefficients when the line search or an
    /// extrapolation needs it. The first pass computes `L_j = sum_i v_i x_ij^2` with the
    /// gradient. Anderson extrapolation is accepted only when it lowers `Q`.
    fn newton_step(&mut self, lambda: f64, thr: f64) -> (f64, usize) {
        let sv = self.newton_model();
        let mut d0 = 0.0;
        let mut passes = 0usize;
        let mut full = true;
        let mut first = true;
        let ws_len = self.ws.len();
        let mut cov = if self.cov_form && ws_len <= COV_MAX_WS && self.cov_form_pays() {
            self.cov_model()
        } else {
            None
        };
        self.cov_steps += usize::from(cov.is_some());
        self.anderson.reset();
        let mut next_solve = ACTIVE_SOLVE_AFTER;
        loop {
            let set = PassSettings {
                lambda,
                full,
                first,
                sv,
            };
            let dmax = match cov.as_mut() {
                Some(model) => self.cd_pass_cov(set, &mut d0, model),
                None => self.cd_pass(set, &mut d0),
            };
            first = false;
            passes += 1;
            if passes >= self.opts.max_iter {
                break;
            }
            if passes >= next_solve && self.active_solve_pays(passes, cov.is_some()) {
                next_solve = 2 * passes;
                self.try_active_solve(lambda, &mut d0, cov.as_mut(), sv);
            }
            if dmax < thr {
                if full {
                    break;
                }
                full = true;
            } else if full {
                full = false;
                self.anderson.reset();
            } else {
                match cov.as_mut() {
                    Some(model) => self.try_extrapolation_cov(lambda, &mut d0, model, sv),
                    None => self.try_extrapolation(lambda, &mut d0),
                }
            }
        }
        self.last_step_passes = passes;
        let moved = d0 != 0.0 || self.ws.iter().any(|&j| self.delta[j] != 0.0);
        if !moved {
            return (0.0, passes);
        }
        self.form_deta(d0);
        // backtracking line search on the true objective (see `loss_change`)
        let mut step = 1.0;
        let mut accepted = false;
        let deta = std::mem::take(&mut self.deta);
        for _ in 0..40 {
            let mut df = self.loss_change(&deta, step);
            for &j in &self.ws {
                let dj = self.delta[j];
                if dj != 0.0 {
                    df += self.pen.value_diff_1d(lambda, j, self.b[j], step * dj);
                }
            }
            if df <= 0.0 {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        self.deta = deta;
        if !accepted {
            return (0.0, passes);
        }
        let mut chg = if self.intercept {
            sv * (step * d0).powi(2)
        } else {
            0.0
        };
        self.b0 += step * d0;
        for &j in &self.ws {
            let d = step * self.delta[j];
            if d != 0.0 {
                self.b[j] += d;
                chg = chg.max(self.lipw[j] * d * d);
            }
        }
        for (e, d) in self.eta.iter_mut().zip(&self.deta) {
            *e += step * d;
        }
        self.set_prob();
        (chg, passes)
    }

    /// The working set's columns of a dense design (`None` for a sparse one).
    fn ws_dense_cols(&self) -> Option<Vec<&'a [f64]>> {
        let x = self.x;
        self.ws.iter().map(|&j| x.dense_col(j)).collect()
    }

    /// `X_C' V X_C` for the columns `feats` of any design (row-major, symmetric), one column
    /// at a time: `t = v .* x_b` in a buffer of `n`, then `H[a, b] = x_a' t` for `a <= b`;
    /// `O(n |C| + |C|^2 nnz)` on a sparse design with `nnz` entries per column.
    fn weighted_gram_by_columns(&mut self, feats: &[usize]) -> Vec<f64> {
        let k = feats.len();
        let mut t = std::mem::take(&mut self.scratch);
        t.clear();
        t.resize(self.eta.len(), 0.0);
        let mut h = vec![0.0; k * k];
        for (b, &jb) in feats.iter().enumerate() {
            t.fill(0.0);
            self.x.col_axpy_weighted(jb, 1.0, &self.v, &mut t);
            for (a, &ja) in feats.iter().enumerate().take(b + 1) {
                let s = self.x.col_dot(ja, &t);
                h[a * k + b] = s;
                h[b * k + a] = s;
            }
        }
        self.scratch = t;
        h
    }

    /// The Newton model in covariance form, on dense designs: with `X_A` the working set's
    /// columns, the weighted Gram block `H = X_A' V X_A`, the model gradients
    /// `q = X_A' rq` (at the start `X_A' r0`), `m = X_A' v` and `sum(rq)`. A pass then costs
    /// `O(|ws|^2)` instead of `O(n |ws|)`: an update `delta_j += d` takes `q -= d H[:, j]` and
    /// `sum(rq) -= d m_j`, an intercept step `d0 += t` takes `q -= t m` and
    /// `sum(rq) -= t sum(v)`. Returns `None` (the row form is used) for sparse designs.
    fn cov_model(&mut self) -> Option<CovModel> {
        let cols = self.ws_dense_cols()?;
        // X_A' r0 and X_A' v with the Gram block, from its row blocks of X_A
        let (mut h, mut dots) = (Vec::new(), Vec::new());
        weighted_gram_and_dots(
            &cols,
            &self.v,
            &[&self.r0, &self.v],
            &mut self.gram_scratch,
            &mut h,
            &mut dots,
        );
        let m = dots.split_off(cols.len());
        let c = dots;
        let sum_r0 = sum(&self.r0);
        Some(CovModel {
            h,
            q: c.clone(),
            c,
            m,
            sum_rq: sum_r0,
            sum_r0,
        })
    }

    /// Whether `passes` coordinate-descent passes of the current Newton step (in covariance
    /// form `cov`: `|ws|^2` multiply-adds each, else `2 n |ws|`) have cost at least a direct
    /// solve on the active set: `|A|^3 / 3` multiply-adds for its factorization, plus
    /// `n |A|^2 / 2` for `H_AA` in row form, divided by [`LEVEL3_GAIN`] (halved when the
    /// passes themselves run on two threads, see `cd_pass_split`). Trying the solve only then
    /// keeps its cost within that of the passes.
    fn active_solve_pays(&self, passes: usize, cov: bool) -> bool {
        let na = self
            .ws
            .iter()
            .filter(|&&j| self.b[j] + self.delta[j] != 0.0)
            .count() as f64;
        let (n, k) = (self.eta.len() as f64, self.ws.len() as f64);
        let (solve, pass) = if cov {
            (na.powi(3) / 3.0, k * k)
        } else {
            (na.powi(3) / 3.0 + n * na * na / 2.0, 2.0 * n * k)
        };
        solve / self.level3_gain(!cov) <= passes as f64 * pass
    }

    /// [`LEVEL3_GAIN`] against passes in row form (`row_form`) or in covariance form: halved
    /// when row-form passes run on two threads (see `cd_pass_split`).
    fn level3_gain(&self, row_form: bool) -> f64 {
        if row_form && self.passes_split() {
            LEVEL3_GAIN / 2.0
        } else {
            LEVEL3_GAIN
        }
    }

    /// Whether the covariance form pays for the next Newton step: the last step's passes in row
    /// form (`2 n |ws|` multiply-adds each) have cost at least its weighted Gram block (`n
    /// |ws|^2 / 2`, the lower triangle) divided by [`LEVEL3_GAIN`] (halved when the passes
    /// run on two threads, see `cd_pass_split`), as in [`Self::active_solve_pays`].
    fn cov_form_pays(&self) -> bool {
        let (n, k) = (self.eta.len() as f64, self.ws.len() as f64);
        n * k * k / 2.0 / self.level3_gain(true) <= self.last_step_passes as f64 * 2.0 * n * k
    }

    /// Whether row-form passes run on two threads: a dense design with at least
    /// [`SPLIT_MIN_ROWS`] rows, a rayon pool of at least two threads, and a caller that is not
    /// one of them (see `cd_pass_split`, which also takes a lock that only one split pass
    /// holds at a time).
    fn passes_split(&self) -> bool {
        #[cfg(feature = "parallel")]
        {
            self.eta.len() >= SPLIT_MIN_ROWS
                && rayon::current_num_threads() >= 2
                && rayon::current_thread_index().is_none()
                && self.x.n_features() > 0
                && self.x.dense_col(0).is_some()
        }
        #[cfg(not(feature = "parallel"))]
        {
            false
        }
    }

    /// Solves the Newton model directly on its active set and takes the solution if it lowers
    /// the model. With `A` the working-set coordinates strictly inside their bounds that are
    /// nonzero (or unpenalized), signs `s`, penalty weights `(l1, l2)` and the current values
    /// `u = b + delta`, the step `(D, D0)` solves
    ///
    /// ```text
    /// (H_AA + diag(l2_A)) D_A + m_A D0 = q_A - l1_A s_A - l2_A u_A
    ///  m_A' D_A          + sum(v) D0 = sum(rq)          (with an intercept)
    /// ```
    ///
    /// (`H = X' V X`, `m = X' v`, `q = X' rq`) by a dense Cholesky factorization,
    /// `O(|A|^3)`, damped where the system is singular up to rounding (see
    /// [`super::solve_spd_damped`]; where the curvatures of many rows have vanished, `H_AA`
    /// has fewer than `|A|` directions of any weight). A penalized coefficient whose sign the
    /// solution would flip moves to zero, and a coefficient the solution would take past a
    /// bound moves to the bound; either leaves the system, which is solved again without it
    /// (at most [`ACTIVE_SOLVE_SIGN_ROUNDS`] times); bounds are enforced. In covariance form
    /// `H_AA`,
    /// `m_A` and `q_A` come from `model`; in row form (`model` `None`) they are computed from
    /// the active columns (`O(n |A|^2)` on a dense design), and nothing is tried with more
    /// than [`ACTIVE_SOLVE_MAX`] active coordinates.
    fn try_active_solve(
        &mut self,
        lambda: f64,
        d0: &mut f64,
        model: Option<&mut CovModel>,
        sv: f64,
    ) {
        let k = self.ws.len();
        let pen = self.pen;
        let mut prop: Vec<f64> = self.ws.iter().map(|&j| self.delta[j]).collect();
        let mut u: Vec<f64> = self.ws.iter().map(|&j| self.b[j] + self.delta[j]).collect();
        let sign: Vec<f64> = u.iter().map(|v| v.signum()).collect();
        let kinked: Vec<bool> = self.ws.iter().map(|&j| pen.has_kink(j)).collect();
        // A as working-set positions
        let active: Vec<usize> = (0..k)
            .filter(|&a| {
                let j = self.ws[a];
                (u[a] != 0.0 || !kinked[a]) && u[a] > pen.lower()[j] && u[a] < pen.upper()[j]
            })
            .collect();
        let na = active.len();
        if na == 0 {
            return;
        }
        if model.is_none() && na > ACTIVE_SOLVE_MAX {
            return;
        }
        // H_AA (row-major), m_A, q_A and sum(rq) at the current step; H_AA and the system
        // reuse the solver's buffers (megabytes each on large active sets)
        let (mut h, mut sys) = std::mem::take(&mut self.solve_buffers);
        let (m, mut q, mut sum_rq) = match &model {
            Some(model) => {
                h.clear();
                h.resize(na * na, 0.0);
                for (r, &a) in active.iter().enumerate() {
                    for (c, &b) in active.iter().enumerate() {
                        h[r * na + c] = model.h[a * k + b];
                    }
                }
                let pick = |v: &[f64]| active.iter().map(|&a| v[a]).collect::<Vec<f64>>();
                (pick(&model.m), pick(&model.q), model.sum_rq)
            }
            None => {
                let x = self.x;
                let feats: Vec<usize> = active.iter().map(|&a| self.ws[a]).collect();
                match feats
                    .iter()
                    .map(|&j| x.dense_col(j))
                    .collect::<Option<Vec<&[f64]>>>()
                {
                    Some(cols) => {
                        weighted_gram_into(&cols, &self.v, &mut self.gram_scratch, &mut h)
                    }
                    None => h = self.weighted_gram_by_columns(&feats),
                }
                let m = feats.iter().map(|&j| x.col_dot(j, &self.v)).collect();
                let q = feats.iter().map(|&j| x.col_dot(j, &self.rq)).collect();
                (m, q, sum(&self.rq))
            }
        };
        // positions in A still in the system
        let mut set: Vec<usize> = (0..na).collect();
        let with_b0 = self.intercept && sv > 0.0;
        // the intercept's step, or `None` if no solution was found
        let solved: Option<f64> = 'rounds: {
            for round in 0..=ACTIVE_SOLVE_SIGN_ROUNDS {
                let ns = set.len();
                if ns == 0 {
                    break 'rounds None;
                }
                let dim = ns + usize::from(with_b0);
                sys.clear();
                sys.resize(dim * dim, 0.0);
                let mut rhs = vec![0.0; dim];
                for (r, &t) in set.iter().enumerate() {
                    let a = active[t];
                    let (l1, l2) = pen.weights(lambda, self.ws[a]);
                    for (c, &t2) in set.iter().enumerate() {
                        sys[r * dim + c] = h[t * na + t2];
                    }
                    sys[r * dim + r] += l2;
                    let kink = if kinked[a] { l1 * sign[a] } else { 0.0 };
                    rhs[r] = q[t] - kink - l2 * u[a];
                    if with_b0 {
                        sys[r * dim + ns] = m[t];
                        sys[ns * dim + r] = m[t];
                    }
                }
                if with_b0 {
                    sys[ns * dim + ns] = sv;
                    rhs[ns] = sum_rq;
                }
                let Some(sol) = super::solve_spd_damped(&sys, &rhs) else {
                    break 'rounds None;
                };
                // coefficients whose sign the solution flips stop at zero, those it takes past
                // a bound stop there: (position in A, change fixed for it)
                let stops: Vec<(usize, f64)> = set
                    .iter()
                    .zip(&sol)
                    .filter_map(|(&t, &d)| {
                        let a = active[t];
                        let j = self.ws[a];
                        let v = u[a] + d;
                        if kinked[a] && u[a] != 0.0 && v * sign[a] < 0.0 {
                            Some((t, -u[a]))
                        } else if v < pen.lower()[j] {
                            Some((t, pen.lower()[j] - u[a]))
                        } else if v > pen.upper()[j] {
                            Some((t, pen.upper()[j] - u[a]))
                        } else {
                            None
                        }
                    })
                    .collect();
                if stops.is_empty() || round == ACTIVE_SOLVE_SIGN_ROUNDS {
                    for (&t, &d) in set.iter().zip(&sol) {
                        let a = active[t];
                        let j = self.ws[a];
                        let mut v = (u[a] + d).clamp(pen.lower()[j], pen.upper()[j]);
                        if kinked[a] && u[a] != 0.0 && v * sign[a] < 0.0 {
                            v = 0.0;
                        }
                        prop[a] += v - u[a];
                    }
                    break 'rounds Some(if with_b0 { sol[ns] } else { 0.0 });
                }
                // the stopped coefficients move by c_t and leave the system:
                // q -= H[:, t] c_t, sum(rq) -= m_t c_t
                for &(t, c) in &stops {
                    let a = active[t];
                    crate::kernels::axpy(-c, &h[t * na..(t + 1) * na], &mut q);
                    sum_rq -= m[t] * c;
                    prop[a] += c;
                    u[a] += c;
                }
                set.retain(|t| !stops.iter().any(|&(s, _)| s == *t));
            }
            // (not reached: the last round ends the loop)
            None
        };
        self.solve_buffers = (h, sys);
        let Some(step0) = solved else {
            return;
        };
        let d0_new = *d0 + step0;
        match model {
            Some(model) => {
                self.accept_cov_if_lower(lambda, d0, model, sv, &prop, d0_new);
            }
            None => self.accept_row_if_lower(lambda, d0, &prop, d0_new),
        }
    }

    /// [`Self::cd_pass`] on the covariance form of the model (see [`Self::cov_model`]): the
    /// same coordinate updates, from `q` instead of `X' rq`.
    fn cd_pass_cov(&mut self, set: PassSettings, d0: &mut f64, model: &mut CovModel) -> f64 {
        let k = self.ws.len();
        let mut dmax: f64 = 0.0;
        for a in 0..k {
            let j = self.ws[a];
            let cur = self.b[j] + self.delta[j];
            if !set.full && cur == 0.0 {
                continue;
            }
            let lj = model.h[a * k + a];
            if set.first {
                self.lipw[j] = lj;
            }
            let lj = self.lipw[j];
            let new = self.pen.prox_1d(set.lambda, j, lj * cur + model.q[a], lj);
            if new != cur {
                let d = new - cur;
                self.delta[j] += d;
                crate::kernels::axpy(-d, &model.h[a * k..(a + 1) * k], &mut model.q);
                model.sum_rq -= d * model.m[a];
                dmax = dmax.max(lj * d * d);
            }
        }
        if self.intercept && set.sv > 0.0 {
            let dd0 = model.sum_rq / set.sv;
            crate::kernels::axpy(-dd0, &model.m, &mut model.q);
            model.sum_rq -= dd0 * set.sv;
            *d0 += dd0;
            dmax = dmax.max(set.sv * dd0 * dd0);
        }
        dmax
    }

    /// Anderson's proposal from the step so far (`delta` on the working set and `d0`): the
    /// working set's step, kept within the bounds, in the first `|ws|` entries, and the
    /// intercept's step (0 without an intercept). `None` until the history is long enough.
    fn anderson_proposal(&mut self, d0: f64) -> Option<(Vec<f64>, f64)> {
        let mut snap: Vec<f64> = self.ws.iter().map(|&j| self.delta[j]).collect();
        snap.push(d0);
        let mut prop = self.anderson.push(snap)?;
        let pen = self.pen;
        for (t, &j) in self.ws.iter().enumerate() {
            let b = (self.b[j] + prop[t]).clamp(pen.lower()[j], pen.upper()[j]);
            prop[t] = b - self.b[j];
        }
        let d0_new = if self.intercept {
            prop[self.ws.len()]
        } else {
            0.0
        };
        Some((prop, d0_new))
    }

    /// [`Self::try_extrapolation`] in covariance form: the model value of `(delta, d0)` is
    /// `-(c' delta + d0 sum(r0)) + (delta' H delta + 2 d0 m' delta + d0^2 sum(v)) / 2` (plus the
    /// penalty), and an accepted step resets `q = c - H delta - d0 m` and
    /// `sum(rq) = sum(r0) - m' delta - d0 sum(v)`.
    fn try_extrapolation_cov(&mut self, lambda: f64, d0: &mut f64, model: &mut CovModel, sv: f64) {
        let Some((prop, d0_new)) = self.anderson_proposal(*d0) else {
            return;
        };
        self.accept_cov_if_lower(lambda, d0, model, sv, &prop, d0_new);
    }

    /// Moves the step to `(prop, d0_new)` (`prop` over the working set) if that lowers the
    /// covariance-form model (see [`Self::try_extrapolation_cov`]); returns whether it moved.
    fn accept_cov_if_lower(
        &mut self,
        lambda: f64,
        d0: &mut f64,
        model: &mut CovModel,
        sv: f64,
        prop: &[f64],
        d0_new: f64,
    ) -> bool {
        let k = self.ws.len();
        let pen = self.pen;
        let cur: Vec<f64> = self.ws.iter().map(|&j| self.delta[j]).collect();
        let value = |d: &[f64], e0: f64| -> f64 {
            let mut quad = 0.0;
            for a in 0..k {
                quad += d[a] * dot(&model.h[a * k..(a + 1) * k], &d[..k]);
            }
            let lin = dot(&model.c, &d[..k]) + e0 * model.sum_r0;
            let pen_diff: f64 = self
                .ws
                .iter()
                .enumerate()
                .map(|(t, &j)| pen.value_diff_1d(lambda, j, self.b[j], d[t]))
                .sum();
            -lin + 0.5 * (quad + 2.0 * e0 * dot(&model.m, &d[..k]) + e0 * e0 * sv) + pen_diff
        };
        if value(prop, d0_new) < value(&cur, *d0) {
            for (t, &j) in self.ws.iter().enumerate() {
                self.delta[j] = prop[t];
            }
            *d0 = d0_new;
            for a in 0..k {
                model.q[a] = model.c[a]
                    - dot(&model.h[a * k..(a + 1) * k], &prop[..k])
                    - d0_new * model.m[a];
            }
            model.sum_rq = model.sum_r0 - dot(&model.m, &prop[..k]) - d0_new * sv;
            true
        } else {
            false
        }
    }

    /// The quadratic model at the current `eta`: curvatures `v_i = w_i p_i (1 - p_i)` (from
    /// [`vmath::sigmoid_slope`], at least `w_i * MIN_CURVATURE`), residuals
    /// `r0 = rq = w (y - p)`, step `delta = 0` on the working set. Returns `sum(v)`.
    fn newton_model(&mut self) -> f64 {
        for i in 0..self.eta.len() {
            let p = self.prob[i];
            let wi = self.w[i];
            self.v[i] = wi * vmath::sigmoid_slope(self.eta[i]).max(MIN_CURVATURE);
            self.r0[i] = wi * (self.y[i] - p);
        }
        self.rq.copy_from_slice(&self.r0);
        for &j in &self.ws {
            self.delta[j] = 0.0;
        }
        sum(&self.v)
    }

    /// One coordinate-descent pass of the Newton model over the working set (only its nonzero
    /// part unless `full`), then the intercept (`d0`, by `sum(rq) / sum(v)`); the `first` pass
    /// also computes the curvatures `L_j = sum_i v_i x_ij^2`. Returns the largest weighted
    /// change `max L_j d_j^2`. Large dense problems run the pass on two threads, each owning
    /// half of the rows (see `Half::run`).
    fn cd_pass(&mut self, set: PassSettings, d0: &mut f64) -> f64 {
        #[cfg(feature = "parallel")]
        if let Some(dmax) = self.cd_pass_split(set, d0) {
            return dmax;
        }
        self.cd_pass_serial(set, d0)
    }

    /// What a pass reads (working set, coefficients, settings) and the state it updates over
    /// all rows (residuals, step, curvatures), borrowed apart.
    fn pass_parts(&mut self, set: PassSettings) -> (PassInput<'_>, Half<'_>) {
        let pass = PassInput {
            ws: &self.ws,
            b: &self.b,
            pen: self.pen,
            intercept: self.intercept,
            set,
        };
        let all = Half {
            rq: &mut self.rq,
            v: &self.v,
            delta: &mut self.delta,
            lipw: &mut self.lipw,
        };
        (pass, all)
    }

    /// [`Self::cd_pass`] on the calling thread: the pass of [`Half::run`] over all rows.
    fn cd_pass_serial(&mut self, set: PassSettings, d0: &mut f64) -> f64 {
        let x = self.x;
        let (pass, mut all) = self.pass_parts(set);
        let (dmax, dd0) = all
            .run(&pass, &AllRows(x), &Alone)
            .expect("a pass alone waits for no partner");
        *d0 += dd0;
        dmax
    }

    /// [`Self::cd_pass`] on the two threads of [`split_pool`], when the design is dense,
    /// `n >= SPLIT_MIN_ROWS`, the rayon pool has at least two threads (so `RAYON_NUM_THREADS=1`
    /// keeps every fit on one core), the caller is not one of them (cross-validation folds
    /// already keep the pool busy) and no other split pass is running. Returns `None`, having
    /// done nothing, otherwise.
    #[cfg(feature = "parallel")]
    fn cd_pass_split(&mut self, set: PassSettings, d0: &mut f64) -> Option<f64> {
        if !self.passes_split() {
            return None;
        }
        // one split pass at a time, on a pool of its own: its two threads are then both free
        // (a busy thread of a shared pool could leave the other spinning)
        let _only = SPLIT_LOCK.try_lock().ok()?;
        let pool = split_pool()?;
        self.cd_pass_on(pool, set, d0)
    }

    /// [`Self::cd_pass`] with the rows split in halves, one per thread of `pool`, which must
    /// have exactly two threads, both free (else the pass waits for the busy one). Returns
    /// `None`, having done nothing, if the design is not dense.
    #[cfg(feature = "parallel")]
    fn cd_pass_on(
        &mut self,
        pool: &rayon::ThreadPool,
        set: PassSettings,
        d0: &mut f64,
    ) -> Option<f64> {
        let n = self.eta.len();
        let cols = self.ws_dense_cols()?;
        let (pass, all) = self.pass_parts(set);
        let Half { rq, v, delta, lipw } = all;
        let h = (n / 2).next_multiple_of(8).min(n);
        let (rq0, rq1) = rq.split_at_mut(h);
        let (v0, v1) = v.split_at(h);
        // the second half works on its own copies of the per-feature state, which it updates
        // exactly as the first half updates the real one
        let (mut delta1, mut lipw1) = (delta.to_vec(), lipw.to_vec());
        let halves = [
            Half {
                rq: rq0,
                v: v0,
                delta,
                lipw,
            },
            Half {
                rq: rq1,
                v: v1,
                delta: &mut delta1,
                lipw: &mut lipw1,
            },
        ];
        let rows = [
            DenseRows {
                cols: &cols,
                rows: 0..h,
            },
            DenseRows {
                cols: &cols,
                rows: h..n,
            },
        ];
        let (dmax, dd0) = run_halves(pool, halves, &rows, &pass)?;
        *d0 += dd0;
        Some(dmax)
    }

    /// `deta = d0 + X delta` from the step's coefficients (one product over the working set).
    fn form_deta(&mut self, d0: f64) {
        self.deta.iter_mut().for_each(|e| *e = d0);
        self.x
            .matvec_cols_add(&self.ws, &self.delta, &mut self.deta);
    }

    /// Model objective `Q(e) = sum_i -r0_i e_i + v_i e_i^2 / 2` (penalty excluded).
    fn model_value(&self, e: &[f64]) -> f64 {
        let mut q = 0.0;
        for i in 0..e.len() {
            q += e[i] * (0.5 * self.v[i] * e[i] - self.r0[i]);
        }
        q
    }

    /// Anderson step on `(delta_ws, d0)` inside a Newton step (see [`Self::newton_step`]).
    fn try_extrapolation(&mut self, lambda: f64, d0: &mut f64) {
        let Some((prop, d0_new)) = self.anderson_proposal(*d0) else {
            return;
        };
        self.accept_row_if_lower(lambda, d0, &prop, d0_new);
    }

    /// Row form: moves the step to `(prop, d0_new)` (`prop` over the working set) if that
    /// lowers the model `Q(e) + P` (with `e = d0 + X delta` formed for both points), and then
    /// sets `rq = r0 - v .* e`.
    fn accept_row_if_lower(&mut self, lambda: f64, d0: &mut f64, prop: &[f64], d0_new: f64) {
        self.form_deta(*d0);
        let pen = self.pen;
        let mut e = std::mem::take(&mut self.scratch);
        e.clear();
        e.resize(self.eta.len(), d0_new);
        let mut coef = vec![0.0; self.b.len()];
        for (t, &j) in self.ws.iter().enumerate() {
            coef[j] = prop[t];
        }
        self.x.matvec_cols_add(&self.ws, &coef, &mut e);
        let pen_of = |d: &dyn Fn(usize) -> f64| -> f64 {
            self.ws
                .iter()
                .enumerate()
                .map(|(t, &j)| pen.value_diff_1d(lambda, j, self.b[j], d(t)))
                .sum()
        };
        let q_cur = self.model_value(&self.deta) + pen_of(&|t| self.delta[self.ws[t]]);
        let q_new = self.model_value(&e) + pen_of(&|t| prop[t]);
        if q_new < q_cur {
            for (t, &j) in self.ws.iter().enumerate() {
                self.delta[j] = prop[t];
            }
            *d0 = d0_new;
            for i in 0..e.len() {
                self.rq[i] = self.r0[i] - self.v[i] * e[i];
            }
            self.scratch = std::mem::replace(&mut self.deta, e);
        } else {
            self.scratch = e;
        }
    }

    /// Fits at `lambda`, warm-started; `lambda_prev` feeds the strong rule.
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
        let null = self.null_dev.max(f64::MIN_POSITIVE);
        let tol = self.opts.tol;
        // start one decade looser than the inner accuracy the previous lambda needed, but at
        // least six decades above the floor at which a lambda gives up (a lambda that met a
        // tolerance near rounding only there would leave the next no room to refine)
        let mut thr = (self.opts.inner_thresh * null).min((10.0 * self.thr).max(1e-18 * null));
        // `eta` is current: the previous solve (or `new`) ended with a refresh
        self.memory.start(&self.b, self.b0);
        if !frozen {
            self.predict_start(lambda);
        }
        let mut passes = 0usize;
        let max_iter = self.opts.max_iter;
        loop {
            // proximal Newton steps on the working set until its own duality gap is met
            loop {
                let (chg, used) = self.newton_step(lambda, thr);
                passes += used.max(1);
                self.ws_gradient();
                let ws_info = self.certificate(lambda, true);
                if ws_info.relative_gap <= tol || passes >= max_iter || thr < 1e-24 * null {
                    break;
                }
                if chg < thr {
                    // the step converged at this inner accuracy: solve the model more exactly
                    thr *= (tol / ws_info.relative_gap).clamp(1e-3, 0.1);
                }
            }
            // the inner loop ends right after `ws_gradient`
            self.refresh(true);
            let violators =
                kkt_violators(self.pen, lambda, frozen, &self.usable, &self.in_ws, &self.g);
            if !violators.is_empty() && passes < max_iter {
                self.add_to_working_set(&violators);
                continue;
            }
            let info = self.certificate(lambda, false);
            if info.relative_gap <= tol || passes >= max_iter || thr < 1e-24 * null {
                // the next lambda starts a decade looser than this one needed; after a
                // failure (at the floor of the inner accuracy) it starts afresh
                self.thr = if info.relative_gap <= tol {
                    thr
                } else {
                    f64::INFINITY
                };
                self.memory.solved(lambda);
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

    /// Path predictor: from the solutions at the last two lambdas, extrapolate linearly in
    /// `log(lambda)` on the coordinates that kept their sign, and start from that point when
    /// its objective at the new `lambda` is lower than the plain warm start's.
    fn predict_start(&mut self, lambda: f64) {
        let (Some(l1), Some((l0, b_prev, b0_prev))) =
            (self.memory.last_lambda, self.memory.previous.clone())
        else {
            return;
        };
        if !(l0 > l1 && l1 > lambda) {
            return;
        }
        let theta = (l1 / lambda).ln() / (l0 / l1).ln();
        let pen = self.pen;
        let mut step = vec![0.0; self.b.len()];
        let mut any = false;
        for &j in &self.ws {
            let (b, bp) = (self.b[j], b_prev[j]);
            if b != 0.0 && bp != 0.0 && (b > 0.0) == (bp > 0.0) {
                let t = (b + theta * (b - bp)).clamp(pen.lower()[j], pen.upper()[j]);
                if t != 0.0 && (t > 0.0) == (b > 0.0) {
                    step[j] = t - b;
                    any = true;
                }
            }
        }
        let d0 = if self.intercept {
            theta * (self.b0 - b0_prev)
        } else {
            0.0
        };
        if !any {
            return;
        }
        let mut e = std::mem::take(&mut self.scratch);
        e.clear();
        e.resize(self.eta.len(), d0);
        self.x.matvec_cols_add(&self.ws, &step, &mut e);
        // objective change, term by term without cancellation (as in the line search)
        let mut df = self.loss_change(&e, 1.0);
        for &j in &self.ws {
            if step[j] != 0.0 {
                df += pen.value_diff_1d(lambda, j, self.b[j], step[j]);
            }
        }
        if df < 0.0 {
            for &j in &self.ws {
                self.b[j] += step[j];
            }
            self.b0 += d0;
            for (eta, d) in self.eta.iter_mut().zip(&e) {
                *eta += d;
            }
            self.set_prob();
        }
        self.scratch = e;
    }

    /// Gradients `x_j' W (y - p)` of the working set only, `O(n |ws|)`.
    fn ws_gradient(&mut self) {
        for i in 0..self.eta.len() {
            self.rq[i] = self.w[i] * (self.y[i] - self.prob[i]);
        }
        self.x.t_matvec_cols(&self.ws, &self.rq, &mut self.g);
    }

    /// Dual point for the free coordinates (columns `cols` of `X_F`, the intercept's being
    /// ones) by Newton's method in the linear predictor: `p' = sigmoid(eta + X_F a)` with
    /// `X_F' W (y - p') = 0`, each component within `FREE_PROJECTION_TOL` of
    /// `sum_i w_i |x_ij|`. Unlike a shift of `p` itself, `p'` stays in `[0, 1]`. Each
    /// iteration solves `(X_F' W D X_F) a = X_F' W (y - p')` with `D = diag(p' (1 - p'))`,
    /// halving the step while the largest component grows. Returns `None` if the system is
    /// singular or the tolerance is not reached.
    fn free_projection_in_eta(&self, cols: &[Vec<f64>]) -> Option<Vec<f64>> {
        let n = self.eta.len();
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let mut scratch = Vec::new();
        let scale: Vec<f64> = cols
            .iter()
            .map(|c| {
                (0..n)
                    .map(|i| self.w[i] * c[i].abs())
                    .sum::<f64>()
                    .max(f64::MIN_POSITIVE)
            })
            .collect();
        // probabilities at `e`, the free coordinates' residuals X_F' W (y - p) and their
        // largest relative size
        let at = |e: &[f64]| -> (Vec<f64>, Vec<f64>, f64) {
            let prob: Vec<f64> = e.iter().map(|&v| sigmoid(v)).collect();
            let u: Vec<f64> = (0..n).map(|i| self.w[i] * (self.y[i] - prob[i])).collect();
            let r: Vec<f64> = cols.iter().map(|c| dot(c, &u)).collect();
            let worst = r
                .iter()
                .zip(&scale)
                .map(|(v, s)| v.abs() / s)
                .fold(0.0f64, f64::max);
            (prob, r, worst)
        };
        let mut e = self.eta.clone();
        let (mut prob, mut r, mut worst) = at(&e);
        for _ in 0..FREE_PROJECTION_MAX_ITER {
            if worst <= FREE_PROJECTION_TOL {
                return Some(prob);
            }
            let d: Vec<f64> = (0..n)
                .map(|i| self.w[i] * prob[i] * (1.0 - prob[i]))
                .collect();
            let a = solve_spd(&weighted_gram(&refs, &d, &mut scratch), &r)?;
            // the step's direction in the linear predictor, X_F a
            let mut dir = vec![0.0; n];
            for (ac, c) in a.iter().zip(cols) {
                axpy(*ac, c, &mut dir);
            }
            let mut step = 1.0;
            loop {
                let trial: Vec<f64> = e.iter().zip(&dir).map(|(ei, di)| ei + step * di).collect();
                let next = at(&trial);
                if next.2 < worst || step < 1e-10 {
                    e = trial;
                    (prob, r, worst) = next;
                    break;
                }
                step *= 0.5;
            }
        }
        (worst <= FREE_PROJECTION_TOL).then_some(prob)
    }

    /// Duality gap at the current (refreshed) state: of the whole problem, or with
    /// `ws_only` of the problem restricted to the working set (features outside it fixed at 0).
    fn certificate(&mut self, lambda: f64, ws_only: bool) -> FitInfo {
        let pen = self.pen;
        let (n, p) = (self.eta.len(), self.b.len());
        let feats: Vec<usize> = if ws_only {
            self.ws.clone()
        } else {
            (0..p).filter(|&j| self.usable[j]).collect()
        };
        // measured from the saturated model's loss, as the dual objective below
        let primal = self.loss() - self.saturated + pen.value(lambda, &self.b);
        let mut kkt = feats
            .iter()
            .map(|&j| pen.subdiff_distance(lambda, j, self.b[j], self.g[j]))
            .fold(0.0f64, f64::max);
        let prob = &self.prob;
        if self.intercept {
            let s0: f64 = (0..n).map(|i| self.w[i] * (self.y[i] - prob[i])).sum();
            kkt = kkt.max(s0.abs());
        }

        // Free coordinates (intercept, unpenalized features inside their bounds: pf_j = 0, or
        // every feature at lambda = 0) need X_F' u = 0 for u = W (p - y): project
        // p <- p - X_F a with (X_F' W X_F) a = X_F' u. Where that leaves [0, 1] (fitted
        // probabilities near 0 or 1, as on nearly separable classes), the projection is made in
        // the linear predictor instead (see `free_projection_in_eta`). Without a dual point
        // either way (a coordinate at a bound, more than `projectable` allows,
        // a singular system) the certificate is the KKT violation.
        let mut kind = Certificate::DualityGap;
        let mut free = Vec::new();
        for &j in &feats {
            if pen.is_free_at(lambda, j) {
                let b = self.b[j];
                if b > pen.lower()[j] && b < pen.upper()[j] {
                    free.push(j);
                } else {
                    kind = Certificate::KktViolation;
                }
            }
        }
        if !projectable(free.len(), n, n) {
            kind = Certificate::KktViolation;
        }
        let mut pp = prob.clone();
        let mut s = self.g.clone();
        if kind == Certificate::DualityGap && (self.intercept || !free.is_empty()) {
            // the columns of X_F, materialized (there are few)
            let mut cols: Vec<Vec<f64>> = Vec::new();
            if self.intercept {
                cols.push(vec![1.0; n]);
            }
            for &j in &free {
                let mut c = vec![0.0; n];
                self.x.col_axpy(j, 1.0, &mut c);
                cols.push(c);
            }
            let u: Vec<f64> = (0..n).map(|i| self.w[i] * (prob[i] - self.y[i])).collect();
            let rhs: Vec<f64> = cols.iter().map(|c| dot(c, &u)).collect();
            let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
            let h = weighted_gram(&refs, self.w, &mut Vec::new());
            match solve_spd(&h, &rhs) {
                Some(a) => {
                    for (ac, c) in a.iter().zip(&cols) {
                        axpy(-ac, c, &mut pp);
                    }
                    let outside = pp
                        .iter()
                        .zip(self.w)
                        .any(|(q, w)| *w > 0.0 && !(0.0..=1.0).contains(q));
                    if outside {
                        match self.free_projection_in_eta(&cols) {
                            Some(q) => pp = q,
                            None => kind = Certificate::KktViolation,
                        }
                    }
                    if kind == Certificate::DualityGap
                        && (outside || !free.is_empty() || !self.intercept)
                    {
                        // s = X' W (y - p') recomputed (columns are not W-orthogonal to X_F)
                        for i in 0..n {
                            self.rq[i] = self.w[i] * (self.y[i] - pp[i]);
                        }
                        for &j in &feats {
                            s[j] = self.x.col_dot(j, &self.rq);
                        }
                    }
                    // with only the intercept shifting p (not eta) and weighted-centered
                    // columns, X'W1 = 0: s = g
                }
                None => kind = Certificate::KktViolation,
            }
        }
        let mut is_free = vec![false; p];
        free.iter().for_each(|&j| is_free[j] = true);
        let mut gap = f64::INFINITY;
        if kind == Certificate::DualityGap {
            let mut t: f64 = 1.0;
            for &j in &feats {
                if !is_free[j] {
                    t = t.min(pen.dual_scaling_limit(lambda, j, s[j]));
                }
            }
            // u = t W (p' - y): the dual point moves towards 0 along a segment that stays
            // inside [0, 1]
            let (y, w, pq) = (self.y, self.w, &pp[..]);
            for_each_part_mut(&mut self.terms, ELEMENTWISE_SPLIT_MIN, |start, part| {
                let end = start + part.len();
                for (((d, &y), &q), &w) in part
                    .iter_mut()
                    .zip(&y[start..end])
                    .zip(&pq[start..end])
                    .zip(&w[start..end])
                {
                    let h = vmath::neg_entropy(y + t * (q - y));
                    *d = if w > 0.0 { h } else { 0.0 };
                }
            });
            let mut dual = -dot(self.w, &self.terms) - self.saturated;
            if let Some(o) = self.offset {
                // the offset enters the dual objective as u' offset
                for (((d, &y), &q), &w) in self.terms.iter_mut().zip(self.y).zip(&pp).zip(self.w) {
                    *d = w * (q - y);
                }
                dual += t * dot(&self.terms, o);
            }
            for &j in &feats {
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

/// `X_C' diag(d) X_C` for the dense columns `cols` (each as long as `d >= 0`; row-major,
/// symmetric): sums over row blocks `R` of `Z_R' Z_R` with `Z = sqrt(diag(d)) X_C`, lower
/// triangles by matrix products, the block copy `Z_R` (in `scratch`) within
/// [`COV_BLOCK_NUMBERS`]; `O(n |C|^2 / 2)`.
fn weighted_gram(cols: &[&[f64]], d: &[f64], scratch: &mut Vec<f64>) -> Vec<f64> {
    let mut h = Vec::new();
    weighted_gram_into(cols, d, scratch, &mut h);
    h
}

/// [`weighted_gram`] into `h` (resized to `|C|^2`; its memory is reused).
fn weighted_gram_into(cols: &[&[f64]], d: &[f64], scratch: &mut Vec<f64>, h: &mut Vec<f64>) {
    weighted_gram_and_dots(cols, d, &[], scratch, h, &mut Vec::new());
}

/// [`weighted_gram`] into `h` (resized to `|C|^2`; its memory is reused), and the products
/// `X_C' u` of the columns with each vector `u` of `with`, into `dots` (`X_C' with[0]`, then
/// `X_C' with[1]`, ..), summed over the same row blocks as the Gram block, while each is in
/// the caches. From [`PARALLEL_GRAM_MIN`] multiply-adds on, the rows go in two halves, each
/// summed on its own (on two threads when the rayon pool has them) and the two added: the
/// same sums whatever the number of threads.
fn weighted_gram_and_dots(
    cols: &[&[f64]],
    d: &[f64],
    with: &[&[f64]],
    scratch: &mut Vec<f64>,
    h: &mut Vec<f64>,
    dots: &mut Vec<f64>,
) {
    let (n, k) = (d.len(), cols.len());
    // a row block of `sqrt(D) X_C` and the block's `sqrt(d_i)`
    let rows = (COV_BLOCK_NUMBERS / k.max(1)).clamp(1, n.max(1));
    let per_block = rows * (k + 1);
    let mut z = std::mem::take(scratch);
    h.clear();
    h.resize(k * k, 0.0);
    dots.clear();
    dots.resize(with.len() * k, 0.0);
    if (n * k * k) / 2 >= PARALLEL_GRAM_MIN && n >= 2 {
        let half = n.div_ceil(2);
        let (mut h1, mut dots1) = (vec![0.0; k * k], vec![0.0; dots.len()]);
        z.resize(2 * per_block, 0.0);
        let (z0, z1) = z.split_at_mut(per_block);
        crate::kernels::join(
            || weighted_gram_lower(cols, d, with, 0..half, z0, h, dots),
            || weighted_gram_lower(cols, d, with, half..n, z1, &mut h1, &mut dots1),
        );
        for a in 0..k {
            for b in a..k {
                h[a * k + b] += h1[a * k + b];
            }
        }
        for (t, u) in dots.iter_mut().zip(&dots1) {
            *t += u;
        }
    } else {
        z.resize(per_block, 0.0);
        weighted_gram_lower(cols, d, with, 0..n, &mut z, h, dots);
    }
    *scratch = z;
    // mirror the lower triangle (column-major) into the upper one
    for a in 0..k {
        for b in a + 1..k {
            h[b * k + a] = h[a * k + b];
        }
    }
}

/// The lower triangle of `h` (column-major `|C| x |C|`) set to `sum_{i in rows} d_i x_C,i
/// x_C,i'`, in row blocks of `sqrt(d_i) x_ij` copied into `z` (whose last entries hold the
/// block's square roots) and multiplied on the calling thread; `dots[u |C| + c]` set to the
/// sum over the row blocks of `dot(x_c, with[u])` on the block, taken as the block of `x_c` is
/// copied.
fn weighted_gram_lower(
    cols: &[&[f64]],
    d: &[f64],
    with: &[&[f64]],
    rows: std::ops::Range<usize>,
    z: &mut [f64],
    h: &mut [f64],
    dots: &mut [f64],
) {
    use faer::linalg::matmul::triangular::{matmul, BlockStructure};
    let k = cols.len();
    let block_rows = z.len() / (k + 1);
    let (z, roots) = z.split_at_mut(block_rows * k);
    dots.fill(0.0);
    if rows.is_empty() || block_rows == 0 {
        h.fill(0.0);
        return;
    }
    for start in rows.clone().step_by(block_rows) {
        let m = block_rows.min(rows.end - start);
        let root = &mut roots[..m];
        for (r, &di) in root.iter_mut().zip(&d[start..start + m]) {
            *r = di.sqrt();
        }
        let block = &mut z[..m * k];
        for (c, (zc, col)) in block.chunks_exact_mut(m).zip(cols).enumerate() {
            let xr = &col[start..start + m];
            for ((t, &xi), &ri) in zc.iter_mut().zip(xr).zip(&*root) {
                *t = xi * ri;
            }
            for (u, w) in with.iter().enumerate() {
                dots[u * k + c] += dot(xr, &w[start..start + m]);
            }
        }
        let zm = faer::MatRef::from_column_major_slice(block, m, k);
        matmul(
            faer::MatMut::from_column_major_slice_mut(h, k, k),
            BlockStructure::TriangularLower,
            if start == rows.start {
                faer::Accum::Replace
            } else {
                faer::Accum::Add
            },
            zm.transpose(),
            BlockStructure::Rectangular,
            zm,
            BlockStructure::Rectangular,
            1.0,
            faer::Par::Seq,
        );
    }
}

/// Fewest rows for which the loss terms, their changes along a step and the probabilities
/// (an `exp` or a `log` per row) are computed in parts on the rayon pool's threads.
const ELEMENTWISE_SPLIT_MIN: usize = 1 << 14;

/// Fewest rows for which a coordinate-descent pass is split over two threads: each
/// coordinate then costs one exchange of partial sums between them.
#[cfg(feature = "parallel")]
const SPLIT_MIN_ROWS: usize = 4096;

/// Held during a split pass: another solver that finds it taken runs its pass serially.
#[cfg(feature = "parallel")]
static SPLIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The two threads of split passes, created at the first one; `None` if they cannot be.
#[cfg(feature = "parallel")]
fn split_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|i| format!("regml-split-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Spins before a thread waiting for its partner's partial sums yields its core.
#[cfg(feature = "parallel")]
const SPIN_LIMIT: u32 = 1 << 12;

/// A Newton model in covariance form (see [`LogisticSolver::cov_model`]).
struct CovModel {
    /// `X_A' V X_A`, `|ws| x |ws|`, row-major (symmetric).
    h: Vec<f64>,
    /// Model gradients `X_A' rq`.
    q: Vec<f64>,
    /// `X_A' r0`, the model gradients at `delta = 0`, `d0 = 0`.
    c: Vec<f64>,
    /// `sum_i r0_i`.
    sum_r0: f64,
    /// `X_A' v`.
    m: Vec<f64>,
    /// `sum_i rq_i`.
    sum_rq: f64,
}

/// What every part of a pass reads: the working set, the coefficients and the pass settings
/// of [`LogisticSolver::cd_pass`].
struct PassInput<'s> {
    ws: &'s [usize],
    b: &'s [f64],
    pen: &'s ElasticNet,
    intercept: bool,
    set: PassSettings,
}

/// One coordinate-descent pass of a Newton step: at `lambda`, over the whole working set
/// (`full`) or its nonzero part, computing the curvatures too on the `first` pass; `sv` is
/// `sum(v)`, the intercept's curvature.
#[derive(Clone, Copy, Debug)]
struct PassSettings {
    lambda: f64,
    full: bool,
    first: bool,
    sv: f64,
}

/// Runs the two halves of a split pass on the two threads of `pool`, the first half on
/// thread 0; returns the first half's result. A panic in either half reaches the caller:
/// the other half stops waiting for it (see [`Exchange::gone`]) instead of spinning forever.
#[cfg(feature = "parallel")]
fn run_halves(
    pool: &rayon::ThreadPool,
    halves: [Half; 2],
    rows: &[DenseRows; 2],
    pass: &PassInput,
) -> Option<(f64, f64)> {
    let halves = halves.map(std::sync::Mutex::new);
    let ex = Exchange::default();
    // each of the pool's two threads runs the closure once and takes its half (each mutex
    // has a single user)
    let out = pool.broadcast(|ctx| {
        let leaving = Leaving(&ex);
        let t = ctx.index();
        let mut half = halves.get(t)?.lock().ok()?;
        let out = half.run(pass, rows.get(t)?, &Side { ex: &ex, t });
        std::mem::forget(leaving);
        out
    });
    out.first().copied().flatten()
}

/// Marks its exchange abandoned when dropped: a thread of a split pass that leaves it early
/// (a panic unwinding, no half to run) drops it, one that completes its half forgets it.
#[cfg(feature = "parallel")]
struct Leaving<'e>(&'e Exchange);

#[cfg(feature = "parallel")]
impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0
            .gone
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Partial sums passed between the two threads of a split pass. Step `k` of thread `t`
/// writes its pair into `part[t][k % 2]` and publishes `k` in `epoch[t]`; it then waits for
/// the partner's `epoch` to reach `k`. A thread can reuse a slot (at step `k + 2`) only after
/// the partner has published `k + 1`, that is after it has read step `k`'s pair.
#[cfg(feature = "parallel")]
#[derive(Default)]
struct Exchange {
    part: [[[std::sync::atomic::AtomicU64; 2]; 2]; 2],
    epoch: [std::sync::atomic::AtomicUsize; 2],
    /// Set when a thread has left the pass without completing it: its partner, waiting for
    /// sums that will never come, gives up.
    gone: std::sync::atomic::AtomicBool,
}

#[cfg(feature = "parallel")]
impl Exchange {
    /// Publishes thread `t`'s partial sums of step `step` and returns the totals. Both
    /// threads get the same bits (`a + b == b + a` in floating point). Returns `None` if the
    /// partner has left the pass.
    fn exchange(&self, t: usize, step: usize, mine: (f64, f64)) -> Option<(f64, f64)> {
        use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
        let slot = &self.part[t][step % 2];
        slot[0].store(mine.0.to_bits(), Relaxed);
        slot[1].store(mine.1.to_bits(), Relaxed);
        self.epoch[t].store(step, Release);
        let mut spins = 0u32;
        while self.epoch[1 - t].load(Acquire) < step {
            if self.gone.load(Acquire) {
                return None;
            }
            if spins < SPIN_LIMIT {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        let o = &self.part[1 - t][step % 2];
        let other = (
            f64::from_bits(o[0].load(Relaxed)),
            f64::from_bits(o[1].load(Relaxed)),
        );
        Some((mine.0 + other.0, mine.1 + other.1))
    }
}

/// The columns of a pass over some rows: `(x_j' rq, sum_i v_i x_ij^2)` and the update
/// `rq -= d v .* x_j` on those rows.
trait PassColumns {
    /// `x_j' rq` and, with `curvature`, `sum_i v_i x_ij^2` (else 0), for the `k`-th
    /// working-set feature `j`.
    fn sums(&self, k: usize, j: usize, rq: &[f64], v: &[f64], curvature: bool) -> (f64, f64);
    /// `rq -= d v .* x_j`.
    fn update(&self, k: usize, j: usize, d: f64, v: &[f64], rq: &mut [f64]);
}

/// All rows of any design, through the [`Design`] kernels.
struct AllRows<'x, D>(&'x D);

impl<D: Design> PassColumns for AllRows<'_, D> {
    fn sums(&self, _: usize, j: usize, rq: &[f64], v: &[f64], curvature: bool) -> (f64, f64) {
        if curvature {
            self.0.col_dot_and_sq_norm_weighted(j, rq, v)
        } else {
            (self.0.col_dot(j, rq), 0.0)
        }
    }
    fn update(&self, _: usize, j: usize, d: f64, v: &[f64], rq: &mut [f64]) {
        self.0.col_axpy_weighted(j, -d, v, rq);
    }
}

/// A range of rows of the working set's dense columns (`cols[k]` for the `k`-th feature).
#[cfg(feature = "parallel")]
struct DenseRows<'c> {
    cols: &'c [&'c [f64]],
    rows: std::ops::Range<usize>,
}

#[cfg(feature = "parallel")]
impl PassColumns for DenseRows<'_> {
    fn sums(&self, k: usize, _: usize, rq: &[f64], v: &[f64], curvature: bool) -> (f64, f64) {
        let x = &self.cols[k][self.rows.clone()];
        if curvature {
            crate::kernels::dot_and_sq_norm_weighted(x, rq, v)
        } else {
            (dot(x, rq), 0.0)
        }
    }
    fn update(&self, k: usize, _: usize, d: f64, v: &[f64], rq: &mut [f64]) {
        crate::kernels::axpy3(-d, &self.cols[k][self.rows.clone()], v, rq);
    }
}

/// How a part of a pass turns its partial sums into totals: alone, they are the totals;
/// in a split pass, the partner's are added (see [`Exchange`]).
trait PartialSums {
    /// The totals of step `step` (one per coordinate, then the intercept), or `None` if a
    /// partner left the pass.
    fn total(&self, step: usize, mine: (f64, f64)) -> Option<(f64, f64)>;
}

/// A pass over all rows on one thread.
struct Alone;

impl PartialSums for Alone {
    fn total(&self, _: usize, mine: (f64, f64)) -> Option<(f64, f64)> {
        Some(mine)
    }
}

/// Thread `t`'s side of a split pass.
#[cfg(feature = "parallel")]
struct Side<'e> {
    ex: &'e Exchange,
    t: usize,
}

#[cfg(feature = "parallel")]
impl PartialSums for Side<'_> {
    fn total(&self, step: usize, mine: (f64, f64)) -> Option<(f64, f64)> {
        self.ex.exchange(self.t, step, mine)
    }
}

/// The rows one part of a pass owns: its parts of the residual and the curvatures, and its
/// copy of the per-feature state (the real one for the first or only part).
struct Half<'a> {
    rq: &'a mut [f64],
    v: &'a [f64],
    delta: &'a mut [f64],
    lipw: &'a mut [f64],
}

impl Half<'_> {
    /// This part's share of a coordinate-descent pass. For each coordinate it computes its
    /// partial `x_j' rq` (and `sum v x_j^2` on the first pass), turns them into totals
    /// (`sums`: alone, or exchanged with the other half of a split pass, which makes the same
    /// update from the same totals), and applies the update to its own rows. Returns the
    /// largest weighted change and the intercept's change, or `None` if the other thread of
    /// a split pass left it.
    fn run(
        &mut self,
        pass: &PassInput,
        cols: &impl PassColumns,
        sums: &impl PartialSums,
    ) -> Option<(f64, f64)> {
        let Half { rq, v, delta, lipw } = self;
        let set = pass.set;
        let mut step = 0usize;
        let mut dmax: f64 = 0.0;
        for (k, &j) in pass.ws.iter().enumerate() {
            let cur = pass.b[j] + delta[j];
            if !set.full && cur == 0.0 {
                continue;
            }
            let part = cols.sums(k, j, rq, v, set.first);
            step += 1;
            let (sj, lsum) = sums.total(step, part)?;
            if set.first {
                lipw[j] = lsum;
            }
            let lj = lipw[j];
            let new = pass.pen.prox_1d(set.lambda, j, lj * cur + sj, lj);
            if new != cur {
                let d = new - cur;
                delta[j] += d;
                // rq -= d * v .* x_j  (e = d0 + X delta is formed when needed)
                cols.update(k, j, d, v, rq);
                dmax = dmax.max(lj * d * d);
            }
        }
        let mut dd0 = 0.0;
        if pass.intercept && set.sv > 0.0 {
            step += 1;
            let (total, _) = sums.total(step, (sum(rq), 0.0))?;
            dd0 = total / set.sv;
            for (r, vi) in rq.iter_mut().zip(v.iter()) {
                *r -= dd0 * vi;
            }
            dmax = dmax.max(set.sv * dd0 * dd0);
        }
        Some((dmax, dd0))
    }
}

#[cfg(test)]
impl<'a, D: Design> LogisticSolver<'a, D> {
    /// The solver the unit tests start from: every feature usable, default options, an
    /// intercept.
    fn for_tests(x: &'a D, y: &'a [f64], w: &'a [f64], pen: &'a ElasticNet) -> Self {
        let p = x.n_features();
        let opts = SolverOptions::default();
        LogisticSolver::new(x, y, w, pen, vec![true; p], opts, true, None)
    }
}

#[cfg(all(test, feature = "parallel"))]
mod tests {
    use super::*;
    use crate::design::DenseDesign;
    use crate::solver::test_data::{centered, correlated, rng};

    /// `n x p` design with correlated columns and 0/1 labels, from a fixed integer sequence.
    fn problem(n: usize, p: usize) -> (DenseDesign, Vec<f64>, Vec<f64>) {
        let mut rng = rng(987654321);
        let data = correlated(n, p, 0.5, &mut rng);
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let eta = 3.0 * data[i] - 2.0 * data[3 * n + i];
                f64::from(centered(&mut rng) + 0.5 < 1.0 / (1.0 + (-eta).exp()))
            })
            .collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
        (
            DenseDesign::from_col_major(data, n, p).expect("shape"),
            y,
            w,
        )
    }

    /// Where `sigmoid(eta)` rounds to 1 and a step moves `eta` far down, the loss change of
    /// the line search is the finite difference of the losses; computed as
    /// `ln_1p(p expm1(d))` it was `-inf`, and the line search took a step that raised the
    /// deviance a million-fold.
    #[test]
    fn the_loss_change_is_finite_where_probabilities_round_to_one() {
        let (n, p) = (50, 4);
        let (x, y, w) = problem(n, p);
        let pen = ElasticNet::new(1.0, p).expect("penalty");
        let mut s = LogisticSolver::for_tests(&x, &y, &w, &pen);
        s.add_to_working_set(&[0]);
        s.b[0] = 1e4;
        s.recompute_eta();
        assert!(s.prob.contains(&1.0));
        let before = s.loss();
        let d: Vec<f64> = x.col(0).iter().map(|v| -1e7 * v).collect();
        let change = s.loss_change(&d, 1.0);
        s.b[0] -= 1e7;
        s.recompute_eta();
        let after = s.loss();
        assert!(change.is_finite() && change > 0.0, "{change}");
        assert!(
            (change - (after - before)).abs() <= 1e-12 * after.abs().max(before.abs()),
            "{change:e} vs {:e}",
            after - before
        );
    }

    #[test]
    fn loss_terms_probabilities_and_gaps_computed_in_parts_are_bitwise_the_serial_ones() {
        // more rows than ELEMENTWISE_SPLIT_MIN, an odd count: parts of unequal length
        let (n, p) = (ELEMENTWISE_SPLIT_MIN + 1001, 6);
        let (x, y, w) = problem(n, p);
        let pen = ElasticNet::new(0.5, p).expect("penalty");
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| {
                let mut s = LogisticSolver::for_tests(&x, &y, &w, &pen);
                let lambda = 0.05 * s.lambda_max();
                // a path of three lambdas exercises the line search, the probabilities and
                // the certificates
                let mut out = Vec::new();
                let mut prev = s.lambda_max();
                for k in 0..3 {
                    let l = lambda * 0.5f64.powi(k);
                    let info = s.solve(l, prev);
                    prev = l;
                    out.push(info.relative_gap);
                    out.push(info.primal);
                    out.extend_from_slice(&s.b);
                }
                let d: Vec<f64> = x.col(1).iter().map(|v| 3.0 * v).collect();
                out.push(s.loss());
                out.push(s.loss_change(&d, 0.75));
                out.extend_from_slice(&s.prob);
                out
            })
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.len(), two.len());
        for (k, (a, b)) in one.iter().zip(&two).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "value {k}: {a:e} vs {b:e}");
        }
    }

    #[test]
    fn a_pass_split_over_two_threads_makes_the_serial_pass_updates() {
        // odd n: halves of unequal length
        let (n, p) = (1001, 12);
        let (x, y, w) = problem(n, p);
        let pen = ElasticNet::new(0.8, p).expect("penalty");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let all: Vec<usize> = (0..p).collect();
        let solver = || {
            let mut s = LogisticSolver::for_tests(&x, &y, &w, &pen);
            s.add_to_working_set(&all);
            s
        };
        let (mut serial, mut split) = (solver(), solver());
        let lambda = 0.1 * serial.lambda_max();
        let (sv, sv2) = (serial.newton_model(), split.newton_model());
        assert_eq!(sv, sv2);
        let (mut d0, mut d0_split) = (0.0, 0.0);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * (1.0 + a.abs().max(b.abs()));
        // a first full pass, passes over the nonzero part, and a full pass again
        for (first, full) in [(true, true), (false, false), (false, false), (false, true)] {
            let set = PassSettings {
                lambda,
                full,
                first,
                sv,
            };
            let dmax = serial.cd_pass_serial(set, &mut d0);
            let dmax_split = split
                .cd_pass_on(&pool, set, &mut d0_split)
                .expect("a dense design");
            assert!(close(dmax, dmax_split), "{dmax} {dmax_split}");
            assert!(close(d0, d0_split), "{d0} {d0_split}");
            for j in 0..p {
                assert!(close(serial.delta[j], split.delta[j]), "delta {j}");
                assert!(close(serial.lipw[j], split.lipw[j]), "L {j}");
            }
            for i in 0..n {
                assert!(close(serial.rq[i], split.rq[i]), "rq {i}");
            }
        }
        // the passes moved some coefficients and left others at zero
        let moved = (0..p).filter(|&j| serial.delta[j] != 0.0).count();
        assert!(moved >= 2 && moved < p, "{moved} of {p} moved");
        assert!(d0 != 0.0);
    }

    #[test]
    fn a_panic_in_one_half_of_a_split_pass_reaches_the_caller_instead_of_hanging() {
        let (n, p) = (64, 4);
        let (x, _, _) = problem(n, p);
        let pen = ElasticNet::new(1.0, p).expect("penalty");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("pool");
            let ws: Vec<usize> = (0..p).collect();
            let cols: Vec<&[f64]> = ws.iter().map(|&j| x.col(j)).collect();
            let b = vec![0.0; p];
            let pass = PassInput {
                ws: &ws,
                b: &b,
                pen: &pen,
                intercept: false,
                set: PassSettings {
                    lambda: 0.01,
                    full: true,
                    first: true,
                    sv: 0.0,
                },
            };
            let (mut rq, v) = (vec![1.0; n], vec![1.0; n]);
            let (rq0, rq1) = rq.split_at_mut(32);
            let (mut delta0, mut lipw0) = (vec![0.0; p], vec![0.0; p]);
            let (mut delta1, mut lipw1) = (vec![0.0; p], vec![0.0; p]);
            // the second half's rows run past the columns' end: its first slice panics
            let halves = [
                Half {
                    rq: rq0,
                    v: &v[..32],
                    delta: &mut delta0,
                    lipw: &mut lipw0,
                },
                Half {
                    rq: rq1,
                    v: &v[32..],
                    delta: &mut delta1,
                    lipw: &mut lipw1,
                },
            ];
            let rows = [
                DenseRows {
                    cols: &cols,
                    rows: 0..32,
                },
                DenseRows {
                    cols: &cols,
                    rows: 32..n + 8,
                },
            ];
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_halves(&pool, halves, &rows, &pass)
            }));
            let _ = tx.send(out.is_err());
        });
        let panicked = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the split pass returned");
        assert!(panicked, "the panic reached the caller");
    }
}

#[cfg(test)]
mod cov_tests {
    use super::*;
    use crate::design::DenseDesign;
    use crate::solver::test_data::{correlated, rng};

    #[test]
    fn the_weighted_gram_of_given_weights_matches_the_sums() {
        // a small block in one product; then rows summed in two halves of three row blocks
        // each (an odd count: halves of unequal length)
        let rows = COV_BLOCK_NUMBERS / 40;
        for (n, k) in [(37, 5), (4 * rows + 1001, 40)] {
            let cols: Vec<Vec<f64>> = (0..k)
                .map(|c| {
                    (0..n)
                        .map(|i| ((i * 7 + c * 11) % 13) as f64 - 6.0)
                        .collect()
                })
                .collect();
            let d: Vec<f64> = (0..n).map(|i| 0.1 + (i % 5) as f64).collect();
            let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
            // and the products with two vectors
            let u: Vec<f64> = (0..n).map(|i| ((i * 5) % 9) as f64 - 4.0).collect();
            let run = || {
                let (mut h, mut dots) = (Vec::new(), Vec::new());
                let with: [&[f64]; 2] = [&u, &d];
                weighted_gram_and_dots(&refs, &d, &with, &mut Vec::new(), &mut h, &mut dots);
                (h, dots)
            };
            let (h, dots) = run();
            assert_eq!(h, weighted_gram(&refs, &d, &mut Vec::new()));
            let close = |got: f64, want: f64| (got - want).abs() <= 1e-12 * want.abs().max(1.0);
            for a in 0..k {
                for b in 0..k {
                    let want: f64 = (0..n).map(|i| d[i] * cols[a][i] * cols[b][i]).sum();
                    assert!(close(h[a * k + b], want));
                    assert_eq!(h[a * k + b], h[b * k + a]);
                }
                let want_u: f64 = (0..n).map(|i| cols[a][i] * u[i]).sum();
                let want_d: f64 = (0..n).map(|i| cols[a][i] * d[i]).sum();
                assert!(close(dots[a], want_u) && close(dots[k + a], want_d));
            }
            #[cfg(feature = "parallel")]
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("pool");
                let (h2, dots2) = pool.install(run);
                let same =
                    |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same(&h, &h2) && same(&dots, &dots2));
            }
        }
    }

    #[test]
    fn the_covariance_form_in_row_blocks_is_the_weighted_gram_block() {
        // n |ws| over COV_BLOCK_NUMBERS: several row blocks, the last one shorter
        let (n, p) = (30001, 40);
        let mut r = rng(5);
        let x = DenseDesign::from_col_major(correlated(n, p, 0.5, &mut r), n, p).unwrap();
        let y: Vec<f64> = (0..n).map(|i| f64::from(x.col(2)[i] > 0.1)).collect();
        let w = vec![1.0 / n as f64; n];
        let pen = ElasticNet::new(1.0, p).unwrap();
        let mut s = LogisticSolver::for_tests(&x, &y, &w, &pen);
        // eta away from constant, so that the curvatures differ by row
        s.eta
            .iter_mut()
            .enumerate()
            .for_each(|(i, e)| *e = x.col(0)[i] - 0.5 * x.col(5)[i]);
        s.set_prob();
        let ws: Vec<usize> = (0..p).rev().step_by(2).collect();
        assert!(n * ws.len() > 2 * COV_BLOCK_NUMBERS);
        s.add_to_working_set(&ws);
        s.newton_model();
        let model = s.cov_model().expect("dense design");
        let k = ws.len();
        for a in 0..k {
            let ca = x.col(ws[a]);
            for b in 0..k {
                let want = crate::kernels::dot3(ca, &s.v, x.col(ws[b]));
                let got = model.h[a * k + b];
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs().max(1e-3),
                    "H[{a},{b}]: {got} vs {want}"
                );
            }
            assert!((model.q[a] - dot(ca, &s.r0)).abs() <= 1e-14);
            assert!((model.m[a] - dot(ca, &s.v)).abs() <= 1e-14);
        }
        assert!((model.sum_rq - sum(&s.r0)).abs() <= 1e-14);
    }
}
