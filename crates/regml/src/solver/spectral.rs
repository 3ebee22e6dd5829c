//! The ridge path in spectral form: one symmetric tridiagonalization gives the exact ridge
//! solution at every `lambda` of a path.
//!
//! With no L1 part, L2 weights `lambda d_j` (`d_j` the feature's weight at `lambda = 1`, its
//! penalty factor times `1 - alpha`) and no bounds, the least-squares solution on the
//! features `F` solves `(G_FF + lambda D) b = c_F` with `G = X'X`, `c = X'y`,
//! `D = diag(d_F)`. Let `P` be the features with `d_j > 0` and `U` the unpenalized ones
//! (`d_j = 0`). Either of two forms solves it for every `lambda`:
//!
//! * `|F| <= n` (features form): `b_U = G_UU^{-1} (c_U - G_UP b_P)` eliminates `U`, leaving
//!   `(S + lambda D_P) b_P = c~` with `S = G_PP - G_PU G_UU^{-1} G_UP` and
//!   `c~ = c_P - G_PU G_UU^{-1} c_U`; then `D^{-1/2} S D^{-1/2} = Q T Q'` and
//!   `b_P = D^{-1/2} Q (T + lambda I)^{-1} Q' D^{-1/2} c~`;
//! * `|F| > n` (rows form, for `|U| < n`): with `P_perp` the projection onto the complement
//!   of `X_U`'s columns and `A = X_P D^{-1} X_P'` (`n x n`), `P_perp A P_perp = Q T Q'`,
//!   `theta = P_perp Q (T + lambda I)^{-1} Q' P_perp y`, `b_P = D^{-1} X_P' theta` and
//!   `b_U = (X_U'X_U)^{-1} X_U' (y - A theta)`
//!   (`(G + lambda D) D^{-1} X' = X' (X D^{-1} X' + lambda I)` on the projected problem).
//!
//! `T` is tridiagonal and `Q` a product of Householder reflections, so that each `lambda`
//! costs a tridiagonal solve (`O(m)`) and two applications of `Q` (`O(m^2)`), and a block of
//! lambdas two blocked products; the rows form adds `X_P' theta` (`O(n |P|)`). The
//! eigenvectors of the matrix would do the same for more work: they cost several times the
//! tridiagonal form itself.
//!
//! Forming it costs the Gram block (`n |F|^2 / 2` or `n^2 |P| / 2`, taken from the solver's
//! cache in covariance mode), the elimination of `U` (a Cholesky factor and products of
//! `O(|U|^3 + |U|^2 |P| + |U| |P|^2)`, or `O(n |U|^2 + n^2 |U|)` in the rows form) and the
//! tridiagonal form of order `m = |P|` or `n`, about [`TRIDIAG_CUBE_FACTOR`]` m^3`
//! multiply-adds. The least-squares solver forms it once the work
//! still to come along the path, projected at the average rate of the lambdas so far, would
//! cost as much (see `GaussianSolver::spectral_solve`), so that a path coordinate descent
//! finishes cheaply does not pay for it. The later lambdas of a ridge path are the harder
//! ones, so the projection tends to fall short; the work already done, once it reaches the
//! cost, forms it too. The solutions are certified like any other: the solver recomputes
//! residual and gradients from them and checks the duality gap. In naive mode it takes the
//! solutions, residuals and gradients of up to 32 of the path's lambdas at once, as blocked
//! products, where one lambda at a time they would cost three reads of `X` each.

use super::{GramCache, LEVEL3_GAIN};
use crate::design::{row_gram, Design};
use crate::kernels::{axpy, dot};
use crate::penalty::ElasticNet;
use faer::{MatMut, MatRef};

/// Largest `min(n, |F|)` (the order of the Gram block or the row Gram matrix formed, at
/// least that of the tridiagonal form): the reflections of the form hold up to `m^2` numbers
/// (128 MB at 4096), the matrices formed before it as many again.
pub(crate) const SPECTRAL_MAX: usize = 4096;

/// Multiply-adds of the tridiagonal form `Q T Q'` of a symmetric matrix, per `m^3`
/// (`4/3 m^3` nominally, half of them in matrix-vector products that run at memory speed).
/// On this machine's faer it took 9 to 15 times as long as a Cholesky factor (`m^3 / 3`) of
/// the same order (2000).
pub(crate) const TRIDIAG_CUBE_FACTOR: f64 = 4.0;

/// The decomposition of one ridge path.
pub(crate) struct RidgeSpectrum {
    /// The penalized features `P` (usable ones with an L2 weight), in order.
    feats: Vec<usize>,
    /// `1 / sqrt(d_j)` for `j` in `P`.
    inv_sqrt_d: Vec<f64>,
    /// `Q T Q'` of the matrix of the form (see [`Form`]).
    tri: Tridiagonal,
    form: Form,
    /// The unpenalized features `U` (penalty factor 0), in order; empty if none.
    free: Vec<usize>,
    /// All features `F`, in the order given.
    all: Vec<usize>,
}

/// What each form keeps beside the tridiagonal form `Q T Q'` of its matrix.
enum Form {
    /// `|F| <= n`, the matrix `D^{-1/2} S D^{-1/2}` (`|P| x |P|`): `q = Q' D^{-1/2} c~`; with
    /// unpenalized features `w0 = G_UU^{-1} c_U` and `w = G_UU^{-1} G_UP` (`|U| x |P|`,
    /// column-major), so that `b_U = w0 - w b_P`.
    Features {
        q: Vec<f64>,
        w0: Vec<f64>,
        w: Vec<f64>,
    },
    /// `|F| > n`, the matrix `P_perp X_P D^{-1} X_P' P_perp` (`n x n`): `z = Q' P_perp y`;
    /// with unpenalized features `q` (`n x |U|`, an orthonormal basis of their columns,
    /// `X_U = q l'`), `l` (`|U| x |U|`, lower triangular), `m = A q` with
    /// `A = X_P D^{-1} X_P'` (`n x |U|`) and `qy = q' y`.
    Rows {
        z: Vec<f64>,
        q: Vec<f64>,
        l: Vec<f64>,
        m: Vec<f64>,
        qy: Vec<f64>,
    },
}

/// A symmetric matrix `A = Q T Q'` (`m x m`) in tridiagonal form: `T` tridiagonal, `Q` a
/// product of Householder reflections (faer's blocked representation). Solves with
/// `A + lambda I` then cost `O(m)` for the tridiagonal system plus two applications of `Q`,
/// `O(m^2)` each, and for many `lambda` at once are blocked products.
struct Tridiagonal {
    m: usize,
    /// The reflections' vectors below the subdiagonal (`m x m`, column-major).
    basis: Vec<f64>,
    /// Their block factors (`bs x (m - 1)`).
    factor: Vec<f64>,
    bs: usize,
    /// Diagonal and subdiagonal of `T`.
    diag: Vec<f64>,
    off: Vec<f64>,
}

impl Tridiagonal {
    /// The tridiagonal form of the symmetric `a` (`m x m`, column-major; its lower triangle
    /// is read, and overwritten by the reflections); `None` if `T` is not finite.
    fn new(a: Vec<f64>, m: usize) -> Option<Self> {
        use faer::linalg::evd::tridiag;
        let par = crate::kernels::faer_par();
        let mut basis = a;
        let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<f64>(m, m);
        let mut factor = vec![0.0; bs * m.saturating_sub(1)];
        if m > 1 {
            let mut mem = faer::dyn_stack::MemBuffer::new(
                tridiag::tridiag_in_place_scratch::<f64>(m, par, Default::default()),
            );
            tridiag::tridiag_in_place(
                MatMut::from_column_major_slice_mut(&mut basis, m, m),
                MatMut::from_column_major_slice_mut(&mut factor, bs, m - 1),
                par,
                faer::dyn_stack::MemStack::new(&mut mem),
                Default::default(),
            );
        }
        let diag: Vec<f64> = (0..m).map(|i| basis[i * m + i]).collect();
        let off: Vec<f64> = (0..m.saturating_sub(1))
            .map(|i| basis[i * m + i + 1])
            .collect();
        // (a reflection that is the identity has an infinite coefficient in `factor`)
        let finite = |v: &[f64]| v.iter().all(|t| t.is_finite());
        (finite(&diag) && finite(&off)).then_some(Tridiagonal {
            m,
            basis,
            factor,
            bs,
            diag,
            off,
        })
    }

    /// `v <- Q v` (`transpose`: `v <- Q' v`) for the `cols` columns of `v` (`m x cols`,
    /// column-major).
    fn apply(&self, v: &mut [f64], cols: usize, transpose: bool) {
        use faer::linalg::householder as hh;
        let m = self.m;
        if m < 2 || cols == 0 {
            return;
        }
        let par = crate::kernels::faer_par();
        let basis =
            MatRef::from_column_major_slice(&self.basis, m, m).submatrix(1, 0, m - 1, m - 1);
        let factor = MatRef::from_column_major_slice(&self.factor, self.bs, m - 1);
        let target = MatMut::from_column_major_slice_mut(v, m, cols).subrows_mut(1, m - 1);
        let mut mem = faer::dyn_stack::MemBuffer::new(
            hh::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                m - 1,
                self.bs,
                cols,
            ),
        );
        let apply = if transpose {
            hh::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj::<f64>
        } else {
            hh::apply_block_householder_sequence_on_the_left_in_place_with_conj::<f64>
        };
        apply(
            basis,
            factor,
            faer::Conj::No,
            target,
            par,
            faer::dyn_stack::MemStack::new(&mut mem),
        );
    }

    /// `(A + lambda I)^{-1} v` for each of `lambdas` (`m x lambdas.len()`, column-major),
    /// given `u = Q' v`: the tridiagonal systems `(T + lambda I) w = u` by elimination
    /// without pivoting (`T + lambda I` is positive definite for a positive semidefinite `A`
    /// and `lambda > 0`; a pivot that is not positive, from rounding, makes that column NaN,
    /// which its certificate then rejects), then `Q w` for all of them at once.
    fn shifted_solves(&self, u: &[f64], lambdas: &[f64]) -> Vec<f64> {
        let m = self.m;
        let mut w = vec![0.0; m * lambdas.len()];
        let mut piv = vec![0.0; m];
        for (col, &lambda) in w.chunks_mut(m.max(1)).zip(lambdas) {
            // forward elimination: piv_i = d_i + lambda - e_{i-1}^2 / piv_{i-1}
            let mut ok = true;
            for i in 0..m {
                let (mut p, mut y) = (self.diag[i] + lambda, u[i]);
                if i > 0 {
                    let l = self.off[i - 1] / piv[i - 1];
                    p -= l * self.off[i - 1];
                    y -= l * col[i - 1];
                }
                ok &= p > 0.0;
                piv[i] = p;
                col[i] = y;
            }
            if !ok {
                col.fill(f64::NAN);
                continue;
            }
            // back substitution
            for i in (0..m).rev() {
                let next = if i + 1 < m {
                    self.off[i] * col[i + 1]
                } else {
                    0.0
                };
                col[i] = (col[i] - next) / piv[i];
            }
        }
        self.apply(&mut w, lambdas.len(), false);
        w
    }
}

/// The usable features split into penalized ones (an L2 weight) and unpenalized ones
/// (penalty factor 0).
fn split(pen: &ElasticNet, feats: &[usize]) -> (Vec<usize>, Vec<usize>) {
    feats.iter().partition(|&&j| pen.weights(1.0, j).1 > 0.0)
}

impl RidgeSpectrum {
    /// Cost of forming the decomposition for the features `feats` of an `n`-row design, in
    /// multiply-adds of coordinate-descent passes (blocked products and factorizations count
    /// `1 / LEVEL3_GAIN` each), or `None` where it does not apply: an L1 part, a bound, no
    /// penalized feature, `min(n, |F|)` over [`SPECTRAL_MAX`], or in the rows form (more
    /// features than rows) at least as many unpenalized features as rows.
    /// `cached_gram`: the Gram columns of `feats` are in the solver's cache already.
    pub(crate) fn cost(
        pen: &ElasticNet,
        feats: &[usize],
        n: usize,
        cached_gram: bool,
    ) -> Option<f64> {
        let (pens, free) = split(pen, feats);
        let (k, kp, ku) = (feats.len(), pens.len(), free.len());
        let features_form = k <= n;
        let m = if features_form { kp } else { n };
        let applies = pen.alpha() == 0.0
            && kp > 0
            && k.min(n) <= SPECTRAL_MAX
            && (features_form || ku < n)
            && feats.iter().all(|&j| !pen.is_bounded(j));
        if !applies {
            return None;
        }
        let (k, n, m, kp, ku) = (k as f64, n as f64, m as f64, kp as f64, ku as f64);
        let (gram, free) = if features_form {
            let gram = if cached_gram { k * k } else { n * k * k / 2.0 };
            // factor of G_UU, G_UU^{-1} G_UP, the Schur complement
            (gram, ku.powi(3) / 3.0 + ku * ku * kp + ku * kp * kp)
        } else {
            // X_U'X_U and its factor, the basis q, A q, and the update of A
            let free = n * ku * ku / 2.0 + ku.powi(3) / 3.0 + n * ku * ku / 2.0;
            (n * n * kp / 2.0, free + 3.0 * n * n * ku)
        };
        Some((gram + free + TRIDIAG_CUBE_FACTOR * m.powi(3)) / LEVEL3_GAIN)
    }

    /// Forms the decomposition for the features `feats` (see [`Self::cost`] for when it
    /// applies) of the design `x` with response `y` and `c = X'y`; `gram`, when given, holds
    /// the Gram columns `X' x_j` of the features. `None` if a factorization fails (the
    /// unpenalized features' columns numerically dependent, for instance) or the tridiagonal
    /// form is not finite.
    pub(crate) fn new<D: Design>(
        x: &D,
        y: &[f64],
        c: &[f64],
        gram: Option<&GramCache>,
        feats: &[usize],
        pen: &ElasticNet,
    ) -> Option<Self> {
        let n = x.n_samples();
        let (pens, free) = split(pen, feats);
        let inv_sqrt_d: Vec<f64> = pens
            .iter()
            .map(|&j| 1.0 / pen.weights(1.0, j).1.sqrt())
            .collect();
        let (tri, form) = if feats.len() <= n {
            features_form(x, c, gram, &pens, &free, &inv_sqrt_d)?
        } else {
            rows_form(x, y, &pens, &free, &inv_sqrt_d)?
        };
        Some(RidgeSpectrum {
            feats: pens,
            inv_sqrt_d,
            tri,
            form,
            free,
            all: feats.to_vec(),
        })
    }

    /// All features `F` the solutions cover, in the order given to [`Self::new`].
    pub(crate) fn features(&self) -> &[usize] {
        &self.all
    }

    /// The solutions at the `m = lambdas.len()` values `lambdas` (each `> 0`) at once, as
    /// blocked products: `out` (`|F| x m`, column-major, rows in the order of
    /// [`Self::features`]): the formulas of the module doc, their matrix-vector products
    /// taken for all the lambdas together as matrix products ([`Self::coefficients`] is the
    /// block of one).
    pub(crate) fn coefficients_block<D: Design>(&self, x: &D, lambdas: &[f64], out: &mut [f64]) {
        let (kp, ku, k, m) = (
            self.feats.len(),
            self.free.len(),
            self.all.len(),
            lambdas.len(),
        );
        // rows of `out` of the penalized and the unpenalized features
        let mut at = vec![0; x.n_features()];
        for (r, &j) in self.all.iter().enumerate() {
            at[j] = r;
        }
        let (mut bp, mut bu) = (vec![0.0; kp * m], vec![0.0; ku * m]);
        match &self.form {
            Form::Features { q, w0, w } => {
                bp = self.tri.shifted_solves(q, lambdas);
                for col in bp.chunks_mut(kp.max(1)) {
                    col.iter_mut()
                        .zip(&self.inv_sqrt_d)
                        .for_each(|(b, d)| *b *= d);
                }
                if ku > 0 {
                    bu = base_minus(
                        w0,
                        MatRef::from_column_major_slice(w, ku, kp),
                        MatRef::from_column_major_slice(&bp, kp, m),
                    );
                }
            }
            Form::Rows { z, q, l, m: am, qy } => {
                let n = z.len();
                let mut theta = self.tri.shifted_solves(z, lambdas);
                if ku > 0 {
                    let qm = MatRef::from_column_major_slice(q, n, ku);
                    let t = times(
                        ku,
                        m,
                        qm.transpose(),
                        MatRef::from_column_major_slice(&theta, n, m),
                    );
                    add_product(
                        &mut theta,
                        qm,
                        MatRef::from_column_major_slice(&t, ku, m),
                        -1.0,
                    );
                }
                x.t_matmat_cols(&self.feats, &theta, m, &mut bp);
                for col in bp.chunks_mut(kp.max(1)) {
                    col.iter_mut()
                        .zip(&self.inv_sqrt_d)
                        .for_each(|(b, d)| *b *= d * d);
                }
                if ku > 0 {
                    bu = base_minus(
                        qy,
                        MatRef::from_column_major_slice(am, n, ku).transpose(),
                        MatRef::from_column_major_slice(&theta, n, m),
                    );
                    faer::linalg::triangular_solve::solve_upper_triangular_in_place(
                        MatRef::from_column_major_slice(l, ku, ku).transpose(),
                        MatMut::from_column_major_slice_mut(&mut bu, ku, m),
                        crate::kernels::faer_par(),
                    );
                }
            }
        }
        for c in 0..m {
            let col = &mut out[c * k..(c + 1) * k];
            for (&j, &v) in self.feats.iter().zip(&bp[c * kp..(c + 1) * kp]) {
                col[at[j]] = v;
            }
            for (&j, &v) in self.free.iter().zip(&bu[c * ku..(c + 1) * ku]) {
                col[at[j]] = v;
            }
        }
    }

    /// Writes the ridge solution at `lambda > 0` into `b` at the features; other entries
    /// are left as they are.
    pub(crate) fn coefficients<D: Design>(&self, x: &D, lambda: f64, b: &mut [f64]) {
        let mut one = vec![0.0; self.all.len()];
        self.coefficients_block(x, &[lambda], &mut one);
        scatter(b, &self.all, &one);
    }
}

/// `b[feats[c]] = v[c]`.
fn scatter(b: &mut [f64], feats: &[usize], v: &[f64]) {
    for (&j, &vj) in feats.iter().zip(v) {
        b[j] = vj;
    }
}

/// `dst = beta dst + alpha a b` on faer's parallelism setting (`beta` 0 or 1).
fn product(dst: MatMut<f64>, accum: faer::Accum, a: MatRef<f64>, b: MatRef<f64>, alpha: f64) {
    faer::linalg::matmul::matmul(dst, accum, a, b, alpha, crate::kernels::faer_par());
}

/// `a b` (`rows x cols`, column-major), in a new vector.
fn times(rows: usize, cols: usize, a: MatRef<f64>, b: MatRef<f64>) -> Vec<f64> {
    let mut out = vec![0.0; rows * cols];
    product(
        MatMut::from_column_major_slice_mut(&mut out, rows, cols),
        faer::Accum::Replace,
        a,
        b,
        1.0,
    );
    out
}

/// `dst += alpha a b` (`dst` column-major, `a.nrows() x b.ncols()`).
fn add_product(dst: &mut [f64], a: MatRef<f64>, b: MatRef<f64>, alpha: f64) {
    let (rows, cols) = (a.nrows(), b.ncols());
    product(
        MatMut::from_column_major_slice_mut(dst, rows, cols),
        faer::Accum::Add,
        a,
        b,
        alpha,
    );
}

/// `base 1' - a b` (`base.len() x b.ncols()`, column-major), in a new vector.
fn base_minus(base: &[f64], a: MatRef<f64>, b: MatRef<f64>) -> Vec<f64> {
    let cols = b.ncols();
    let mut out: Vec<f64> = (0..cols).flat_map(|_| base.iter().copied()).collect();
    add_product(&mut out, a, b, -1.0);
    out
}

/// Solves `l l' x = rhs` in place for the `cols` columns of `rhs` (`k x cols`, column-major),
/// `l` the lower Cholesky factor (`k x k`, column-major).
fn cholesky_solve(l: &[f64], k: usize, rhs: &mut [f64], cols: usize) {
    use faer::linalg::cholesky::llt::solve;
    let par = crate::kernels::faer_par();
    let mut mem =
        faer::dyn_stack::MemBuffer::new(solve::solve_in_place_scratch::<f64>(k, cols, par));
    solve::solve_in_place(
        MatRef::from_column_major_slice(l, k, k),
        MatMut::from_column_major_slice_mut(rhs, k, cols),
        par,
        faer::dyn_stack::MemStack::new(&mut mem),
    );
}

/// Lower Cholesky factor of the symmetric positive definite `a` (`k x k`, column-major),
/// in place; `false` if `a` is not numerically positive definite.
fn cholesky(a: &mut [f64], k: usize) -> bool {
    use faer::linalg::cholesky::llt;
    let par = crate::kernels::faer_par();
    let mut mem = faer::dyn_stack::MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
        k,
        par,
        Default::default(),
    ));
    llt::factor::cholesky_in_place(
        MatMut::from_column_major_slice_mut(a, k, k),
        Default::default(),
        par,
        faer::dyn_stack::MemStack::new(&mut mem),
        Default::default(),
    )
    .is_ok()
        && a.iter().all(|v| v.is_finite())
}

/// The features form (`|U| + |P| <= n`): with `G = X'X` over `U` then `P`, the unpenalized
/// coefficients are eliminated, `b_U = G_UU^{-1} (c_U - G_UP b_P)`, leaving
/// `(S + lambda D) b_P = c~` with the Schur complement `S = G_PP - G_PU G_UU^{-1} G_UP` and
/// `c~ = c_P - G_PU G_UU^{-1} c_U` (`S = G_PP`, `c~ = c_P` without unpenalized features).
fn features_form<D: Design>(
    x: &D,
    c: &[f64],
    gram: Option<&GramCache>,
    pens: &[usize],
    free: &[usize],
    inv_sqrt_d: &[f64],
) -> Option<(Tridiagonal, Form)> {
    let (kp, ku) = (pens.len(), free.len());
    let k = kp + ku;
    let order: Vec<usize> = free.iter().chain(pens).copied().collect();
    let mut g = vec![0.0; k * k];
    match gram {
        Some(cache) => {
            for (cc, &j) in order.iter().enumerate() {
                let col = cache.col(j);
                for (v, &i) in g[cc * k..(cc + 1) * k].iter_mut().zip(&order) {
                    *v = col[i];
                }
            }
        }
        None => x.gram_square(&order, &mut g, &mut Vec::new()),
    }
    let cu: Vec<f64> = free.iter().map(|&j| c[j]).collect();
    let mut cp: Vec<f64> = pens.iter().map(|&j| c[j]).collect();
    // without unpenalized features the Gram block is S itself
    let (mut a, w0, w) = if ku == 0 {
        (g, Vec::new(), Vec::new())
    } else {
        eliminate_free(&g, ku, kp, cu, &mut cp)?
    };
    // D^{-1/2} S D^{-1/2}
    for cc in 0..kp {
        for r in 0..kp {
            a[cc * kp + r] *= inv_sqrt_d[r] * inv_sqrt_d[cc];
        }
    }
    let tri = Tridiagonal::new(a, kp)?;
    // q = Q' D^{-1/2} c~
    cp.iter_mut().zip(inv_sqrt_d).for_each(|(v, d)| *v *= d);
    tri.apply(&mut cp, 1, true);
    Some((tri, Form::Features { q: cp, w0, w }))
}

/// The elimination of the features form: from `g` (`G` over `U` then `P`, `k x k`), the Schur
/// complement `S = G_PP - G_UP' w` with `w = G_UU^{-1} G_UP`, `w0 = G_UU^{-1} c_U`, and
/// `cp <- c_P - G_UP' w0`; `None` if `G_UU` is not numerically positive definite.
fn eliminate_free(
    g: &[f64],
    ku: usize,
    kp: usize,
    cu: Vec<f64>,
    cp: &mut [f64],
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let k = ku + kp;
    let gm = MatRef::from_column_major_slice(g, k, k);
    let mut a = vec![0.0; kp * kp];
    let mut am = MatMut::from_column_major_slice_mut(&mut a, kp, kp);
    am.copy_from(gm.submatrix(ku, ku, kp, kp));
    let mut l = vec![0.0; ku * ku];
    MatMut::from_column_major_slice_mut(&mut l, ku, ku).copy_from(gm.submatrix(0, 0, ku, ku));
    if !cholesky(&mut l, ku) {
        return None;
    }
    let gup = gm.submatrix(0, ku, ku, kp);
    // w = G_UU^{-1} G_UP, w0 = G_UU^{-1} c_U
    let mut w = vec![0.0; ku * kp];
    MatMut::from_column_major_slice_mut(&mut w, ku, kp).copy_from(gup);
    cholesky_solve(&l, ku, &mut w, kp);
    let mut w0 = cu;
    cholesky_solve(&l, ku, &mut w0, 1);
    if !(w.iter().all(|v| v.is_finite()) && w0.iter().all(|v| v.is_finite())) {
        return None;
    }
    // S = G_PP - G_UP' w, c~ = c_P - G_UP' w0
    let wm = MatRef::from_column_major_slice(&w, ku, kp);
    product(am.as_mut(), faer::Accum::Add, gup.transpose(), wm, -1.0);
    for (cc, v) in cp.iter_mut().enumerate() {
        *v -= dot(&g[(ku + cc) * k..(ku + cc) * k + ku], &w0);
    }
    Some((a, w0, w))
}

/// The rows form (`|U| + |P| > n`, `|U| < n`): the unpenalized columns are projected out,
/// `P_perp = I - q q'` with `q` an orthonormal basis of `X_U`, and the ridge problem on
/// `P_perp X_P`, `P_perp y` is solved through `P_perp A P_perp`, `A = X_P D^{-1} X_P'`:
/// `b_P = D^{-1} X_P' theta` with `theta = P_perp (P_perp A P_perp + lambda I)^{-1} P_perp y`,
/// then `b_U = (X_U'X_U)^{-1} X_U' (y - X_P b_P)`, where `X_P b_P = A theta`.
fn rows_form<D: Design>(
    x: &D,
    y: &[f64],
    pens: &[usize],
    free: &[usize],
    inv_sqrt_d: &[f64],
) -> Option<(Tridiagonal, Form)> {
    let (n, ku) = (x.n_samples(), free.len());
    let mut a = vec![0.0; n * n];
    row_gram(x, pens, inv_sqrt_d, &mut a);
    let (mut q, mut l, mut m, mut qy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut yp = y.to_vec();
    if ku > 0 {
        // X_U = q l' (Cholesky of X_U'X_U, then q = X_U l^{-T})
        q = vec![0.0; n * ku];
        for (c, &j) in free.iter().enumerate() {
            x.col_axpy(j, 1.0, &mut q[c * n..(c + 1) * n]);
        }
        let xu = MatRef::from_column_major_slice(&q, n, ku);
        l = times(ku, ku, xu.transpose(), xu);
        if !cholesky(&mut l, ku) {
            return None;
        }
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            MatRef::from_column_major_slice(&l, ku, ku),
            MatMut::from_column_major_slice_mut(&mut q, n, ku).transpose_mut(),
            crate::kernels::faer_par(),
        );
        if !q.iter().all(|v| v.is_finite()) {
            return None;
        }
        let qm = MatRef::from_column_major_slice(&q, n, ku);
        // m = A q, k = q' m, h = m - q k / 2; P_perp A P_perp = A - q h' - h q'
        m = times(n, ku, MatRef::from_column_major_slice(&a, n, n), qm);
        let kk = times(
            ku,
            ku,
            qm.transpose(),
            MatRef::from_column_major_slice(&m, n, ku),
        );
        let mut h = m.clone();
        add_product(
            &mut h,
            qm,
            MatRef::from_column_major_slice(&kk, ku, ku),
            -0.5,
        );
        let hm = MatRef::from_column_major_slice(&h, n, ku);
        let mut am = MatMut::from_column_major_slice_mut(&mut a, n, n);
        product(am.as_mut(), faer::Accum::Add, qm, hm.transpose(), -1.0);
        product(am.as_mut(), faer::Accum::Add, hm, qm.transpose(), -1.0);
        // P_perp y
        qy = (0..ku).map(|c| dot(&q[c * n..(c + 1) * n], y)).collect();
        for (c, &qc) in qy.iter().enumerate() {
            axpy(-qc, &q[c * n..(c + 1) * n], &mut yp);
        }
    }
    let tri = Tridiagonal::new(a, n)?;
    tri.apply(&mut yp, 1, true);
    Some((tri, Form::Rows { z: yp, q, l, m, qy }))
}

/// Eigenvalues (negative rounding clamped at zero) and eigenvectors (column-major) of the
/// symmetric `m x m` matrix `a` (column-major); `None` if the decomposition fails or is not
/// finite.
pub(crate) fn eigen(a: &[f64], m: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    use faer::linalg::evd;
    let par = crate::kernels::faer_par();
    let mut s = vec![0.0; m];
    let mut u = vec![0.0; m * m];
    let mut mem = faer::dyn_stack::MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        m,
        evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        faer::MatRef::from_column_major_slice(a, m, m),
        faer::diag::DiagMut::from_slice_mut(&mut s),
        Some(faer::MatMut::from_column_major_slice_mut(&mut u, m, m)),
        par,
        faer::dyn_stack::MemStack::new(&mut mem),
        Default::default(),
    )
    .ok()?;
    if !(s.iter().all(|v| v.is_finite()) && u.iter().all(|v| v.is_finite())) {
        return None;
    }
    s.iter_mut().for_each(|v| *v = v.max(0.0));
    Some((s, u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::DenseDesign;
    use crate::solver::solve_spd;
    use crate::solver::test_data::{correlated, rng};

    /// The spectral solution against a direct solve of `(X'X + lambda D) b = X'y`, in both
    /// forms, with unequal L2 weights, and with every fourth feature unpenalized.
    #[test]
    fn both_forms_solve_the_ridge_system() {
        for (n, p) in [(30, 12), (12, 30)] {
            for free in [false, true] {
                let mut r = rng(7);
                let data = correlated(n, p, 0.7, &mut r);
                let x = DenseDesign::from_col_major(data, n, p).expect("shape");
                let y: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
                let pf: Vec<f64> = (0..p)
                    .map(|j| {
                        if free && j % 4 == 1 {
                            0.0
                        } else {
                            0.5 + (j % 3) as f64
                        }
                    })
                    .collect();
                let pen = ElasticNet::new(0.0, p)
                    .expect("alpha")
                    .with_penalty_factor(pf)
                    .expect("pf");
                let feats: Vec<usize> = (0..p).collect();
                let mut c = vec![0.0; p];
                x.t_matvec(&y, &mut c);
                let spec =
                    RidgeSpectrum::new(&x, &y, &c, None, &feats, &pen).expect("spectral form");
                assert_eq!(spec.free.len(), if free { (p + 2) / 4 } else { 0 });
                let mut g = vec![0.0; p * p];
                x.gram_square(&feats, &mut g, &mut Vec::new());
                for lambda in [10.0, 0.3, 1e-3] {
                    let mut b = vec![0.0; p];
                    spec.coefficients(&x, lambda, &mut b);
                    let mut sys = g.clone();
                    for j in 0..p {
                        sys[j * p + j] += lambda * pen.weights(1.0, j).1;
                    }
                    let direct = solve_spd(&sys, &c).expect("spd");
                    let scale = direct.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for (a, d) in b.iter().zip(&direct) {
                        assert!(
                            (a - d).abs() <= 1e-8 * scale,
                            "{n} x {p}, free {free}, lambda {lambda}: {a} vs {d}"
                        );
                    }
                }
            }
        }
    }

    /// The shifted solves of the tridiagonal form against direct solves of
    /// `(A + lambda I) x = v`, and on an indefinite `A` (not a ridge matrix) a column of NaN
    /// where a pivot is not positive.
    #[test]
    fn tridiagonal_shifted_solves_match_direct_solves() {
        let m = 9;
        let mut r = rng(3);
        let data = correlated(12, m, 0.5, &mut r);
        let x = DenseDesign::from_col_major(data, 12, m).expect("shape");
        let mut a = vec![0.0; m * m];
        x.gram_square(&(0..m).collect::<Vec<_>>(), &mut a, &mut Vec::new());
        let v: Vec<f64> = (0..m).map(|i| (i as f64 * 0.7).cos()).collect();
        let tri = Tridiagonal::new(a.clone(), m).expect("finite");
        let mut u = v.clone();
        tri.apply(&mut u, 1, true);
        let lambdas = [2.0, 0.01];
        let w = tri.shifted_solves(&u, &lambdas);
        for (col, &lambda) in w.chunks(m).zip(&lambdas) {
            let mut sys = a.clone();
            (0..m).for_each(|i| sys[i * m + i] += lambda);
            let direct = solve_spd(&sys, &v).expect("spd");
            for (got, want) in col.iter().zip(&direct) {
                assert!(
                    (got - want).abs() <= 1e-9 * (1.0 + want.abs()),
                    "{got} vs {want}"
                );
            }
        }
        // -I: pivots -1 + lambda
        let mut neg = vec![0.0; m * m];
        (0..m).for_each(|i| neg[i * m + i] = -1.0);
        let tri = Tridiagonal::new(neg, m).expect("finite");
        let w = tri.shifted_solves(&v, &[0.5, 3.0]);
        assert!(w[..m].iter().all(|t| t.is_nan()));
        assert!(w[m..].iter().all(|t| t.is_finite()));
    }

    #[test]
    fn it_applies_only_to_unbounded_ridge_with_a_penalized_feature() {
        let p = 5;
        let feats: Vec<usize> = (0..p).collect();
        let ridge = ElasticNet::new(0.0, p).expect("alpha");
        assert!(RidgeSpectrum::cost(&ridge, &feats, 10, false).is_some());
        assert!(RidgeSpectrum::cost(&ridge, &[], 10, false).is_none());
        let enet = ElasticNet::new(0.01, p).expect("alpha");
        assert!(RidgeSpectrum::cost(&enet, &feats, 10, false).is_none());
        let free = ridge
            .clone()
            .with_penalty_factor(vec![1.0, 0.0, 1.0, 1.0, 0.0])
            .expect("pf");
        // unpenalized features: in the features form, and in the rows form while fewer
        // than the rows
        assert!(RidgeSpectrum::cost(&free, &feats, 10, false).is_some());
        assert!(RidgeSpectrum::cost(&free, &feats, 3, false).is_some());
        assert!(RidgeSpectrum::cost(&free, &feats, 2, false).is_none());
        let none_penalized = ridge.clone().with_penalty_factor(vec![0.0; p]);
        assert!(
            none_penalized.is_err() || {
                let pen = none_penalized.expect("pf");
                RidgeSpectrum::cost(&pen, &feats, 10, false).is_none()
            }
        );
        let bounded = ridge
            .with_bounds(vec![-1.0; p], vec![f64::INFINITY; p])
            .expect("bounds");
        assert!(RidgeSpectrum::cost(&bounded, &feats, 10, false).is_none());
    }
}
