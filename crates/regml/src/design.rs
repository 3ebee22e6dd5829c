//! Design matrices: the one interface every solver kernel is written against.
//!
//! A solver never indexes a matrix directly; it asks the design for column dot products and
//! column updates, so one generic kernel serves dense column-major and sparse (CSC) storage.

use crate::kernels;

/// Column access to an `n_samples x n_features` design matrix `X`.
pub trait Design: Sync {
    /// Number of rows `n`.
    fn n_samples(&self) -> usize;
    /// Number of columns `p`.
    fn n_features(&self) -> usize;
    /// `x_j' v`.
    fn col_dot(&self, j: usize, v: &[f64]) -> f64;
    /// `sum_i x_ij w_i v_i`.
    fn col_dot_weighted(&self, j: usize, w: &[f64], v: &[f64]) -> f64;
    /// `v += a * x_j`.
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]);
    /// `v += a * (w .* x_j)`.
    fn col_axpy_weighted(&self, j: usize, a: f64, w: &[f64], v: &mut [f64]);
    /// `sum_i w_i x_ij^2`.
    fn col_sq_norm_weighted(&self, j: usize, w: &[f64]) -> f64;
    /// `(x_j' r, sum_i w_i x_ij^2)`; dense designs read `x_j` once.
    fn col_dot_and_sq_norm_weighted(&self, j: usize, r: &[f64], w: &[f64]) -> (f64, f64) {
        (self.col_dot(j, r), self.col_sq_norm_weighted(j, w))
    }
    /// Column `j` as a contiguous slice of its `n` values, for dense designs; `None` for
    /// designs that do not store it so (then row-range kernels are not available).
    fn dense_col(&self, j: usize) -> Option<&[f64]> {
        let _ = j;
        None
    }
    /// `out = X' v` for all columns.
    fn t_matvec(&self, v: &[f64], out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = self.col_dot(j, v);
        }
    }
    /// `out[j] = x_j' v` for every `j` in `cols`; other entries are left as they are.
    fn t_matvec_cols(&self, cols: &[usize], v: &[f64], out: &mut [f64]) {
        for &j in cols {
            out[j] = self.col_dot(j, v);
        }
    }
    /// `out += sum_{j in cols} coef_j x_j` (columns with `coef_j = 0` are skipped).
    fn matvec_cols_add(&self, cols: &[usize], coef: &[f64], out: &mut [f64]) {
        for &j in cols {
            if coef[j] != 0.0 {
                self.col_axpy(j, coef[j], out);
            }
        }
    }
    /// `out = X_cols' V` for the `m` columns of `v` (`n x m`, column-major); `out` is
    /// `cols.len() x m`, column-major. `O(n |cols| m)`.
    fn t_matmat_cols(&self, cols: &[usize], v: &[f64], m: usize, out: &mut [f64]) {
        let (n, k) = (self.n_samples(), cols.len());
        for c in 0..m {
            for (o, &j) in out[c * k..(c + 1) * k].iter_mut().zip(cols) {
                *o = self.col_dot(j, &v[c * n..(c + 1) * n]);
            }
        }
    }
    /// `out += alpha X_cols C` for the `m` columns of `coef` (`cols.len() x m`,
    /// column-major); `out` is `n x m`, column-major. `O(n |cols| m)`.
    fn matmat_cols_add(&self, cols: &[usize], alpha: f64, coef: &[f64], m: usize, out: &mut [f64]) {
        let (n, k) = (self.n_samples(), cols.len());
        for c in 0..m {
            for (&a, &j) in coef[c * k..(c + 1) * k].iter().zip(cols) {
                if a != 0.0 {
                    self.col_axpy(j, alpha * a, &mut out[c * n..(c + 1) * n]);
                }
            }
        }
    }
    /// Symmetric Gram block of `cols`: `out[r, c] = x_{cols[r]}' x_{cols[c]}`, `out` is
    /// `cols.len() x cols.len()` column-major and exactly symmetric.
    fn gram_square(&self, cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        self.gram_block(cols, cols, out, scratch);
        symmetrize_lower(cols.len(), out);
    }
    /// Gram block: `out[r, c] = x_{rows[r]}' x_{cols[c]}`, `out` is
    /// `rows.len() x cols.len()` column-major. `scratch` is reusable working memory.
    fn gram_block(&self, rows: &[usize], cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        let _ = scratch;
        let m = rows.len();
        let mut col = vec![0.0; self.n_samples()];
        for (k, &j) in cols.iter().enumerate() {
            col.iter_mut().for_each(|c| *c = 0.0);
            self.col_axpy(j, 1.0, &mut col);
            for (r, &i) in rows.iter().enumerate() {
                out[k * m + r] = self.col_dot(i, &col);
            }
        }
    }
}

/// Copies the lower triangle of the column-major `k x k` matrix `a` onto its upper triangle.
fn symmetrize_lower(k: usize, a: &mut [f64]) {
    for c in 0..k {
        for r in c + 1..k {
            a[r * k + c] = a[c * k + r];
        }
    }
}

/// Dense column-major design: column `j` is `data[j*n .. (j+1)*n]`. The storage `S` is owned
/// (`Vec<f64>`, the default) or borrowed (`&[f64]`, no copy of the caller's matrix).
#[derive(Clone, Debug)]
pub struct DenseDesign<S = Vec<f64>> {
    data: S,
    n_samples: usize,
    n_features: usize,
}

impl<S: AsRef<[f64]>> DenseDesign<S> {
    /// Wraps column-major storage. Returns `None` if `data.len() != n_samples * n_features`.
    pub fn from_col_major(data: S, n_samples: usize, n_features: usize) -> Option<Self> {
        (data.as_ref().len() == n_samples.checked_mul(n_features)?).then_some(DenseDesign {
            data,
            n_samples,
            n_features,
        })
    }

    /// Column `j` as a slice.
    #[inline]
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data.as_ref()[j * self.n_samples..(j + 1) * self.n_samples]
    }

    /// Raw column-major storage.
    pub fn as_slice(&self) -> &[f64] {
        self.data.as_ref()
    }

    /// Copies rows `start..start + h` of the columns `cols` into `dst`, one after the other
    /// (on the rayon pool when the copy is large: the product that follows waits for it).
    fn gather_rows(&self, cols: &[usize], start: usize, h: usize, dst: &mut [f64])
    where
        S: Sync,
    {
        kernels::for_each_chunk_mut(&mut dst[..cols.len() * h], h, |c, chunk| {
            chunk.copy_from_slice(&self.col(cols[c])[start..start + h]);
        });
    }
}

/// The runs of consecutive indices in `cols`: `(position of the run's first, its length)`.
fn runs(cols: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= cols.len() {
            return None;
        }
        let mut len = 1;
        while start + len < cols.len() && cols[start + len] == cols[start] + len {
            len += 1;
        }
        let run = (start, len);
        start += len;
        Some(run)
    })
}

/// How the product of the row block starting at `start` enters a Gram block summed over row
/// blocks: the first replaces, the others add.
fn block_accum(start: usize) -> faer::Accum {
    if start == 0 {
        faer::Accum::Replace
    } else {
        faer::Accum::Add
    }
}

impl DenseDesign {
    /// Mutable column `j`.
    #[inline]
    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        let n = self.n_samples;
        &mut self.data[j * n..(j + 1) * n]
    }
}

impl<S: AsRef<[f64]> + Sync> Design for DenseDesign<S> {
    fn n_samples(&self) -> usize {
        self.n_samples
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    #[inline]
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        kernels::dot(self.col(j), v)
    }
    #[inline]
    fn col_dot_weighted(&self, j: usize, w: &[f64], v: &[f64]) -> f64 {
        kernels::dot3(self.col(j), w, v)
    }
    #[inline]
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        kernels::axpy(a, self.col(j), v)
    }
    #[inline]
    fn col_axpy_weighted(&self, j: usize, a: f64, w: &[f64], v: &mut [f64]) {
        kernels::axpy3(a, self.col(j), w, v)
    }
    fn col_sq_norm_weighted(&self, j: usize, w: &[f64]) -> f64 {
        let c = self.col(j);
        kernels::dot3(c, w, c)
    }
    #[inline]
    fn col_dot_and_sq_norm_weighted(&self, j: usize, r: &[f64], w: &[f64]) -> (f64, f64) {
        kernels::dot_and_sq_norm_weighted(self.col(j), r, w)
    }
    fn dense_col(&self, j: usize) -> Option<&[f64]> {
        Some(self.col(j))
    }
    fn t_matvec(&self, v: &[f64], out: &mut [f64]) {
        kernels::dot_columns(|j| self.col(j), v, out);
    }
    fn t_matvec_cols(&self, cols: &[usize], v: &[f64], out: &mut [f64]) {
        let mut vals = vec![0.0; cols.len()];
        kernels::dot_columns(|k| self.col(cols[k]), v, &mut vals);
        for (&j, val) in cols.iter().zip(vals) {
            out[j] = val;
        }
    }
    fn matvec_cols_add(&self, cols: &[usize], coef: &[f64], out: &mut [f64]) {
        kernels::add_scaled_columns(out, cols.len(), |c| (coef[cols[c]], self.col(cols[c])));
    }
    fn t_matmat_cols(&self, cols: &[usize], v: &[f64], m: usize, out: &mut [f64]) {
        let (n, k) = (self.n_samples, cols.len());
        let vm = faer::MatRef::from_column_major_slice(&v[..n * m], n, m);
        let mut om = faer::MatMut::from_column_major_slice_mut(&mut out[..k * m], k, m);
        // one product per run of consecutive columns
        for (start, len) in runs(cols) {
            let (first, j0) = (start, cols[start]);
            let x = faer::MatRef::from_column_major_slice(
                &self.data.as_ref()[j0 * n..(j0 + len) * n],
                n,
                len,
            );
            faer::linalg::matmul::matmul(
                om.as_mut().subrows_mut(first, len),
                faer::Accum::Replace,
                x.transpose(),
                vm,
                1.0,
                kernels::faer_par(),
            );
        }
    }
    fn matmat_cols_add(&self, cols: &[usize], alpha: f64, coef: &[f64], m: usize, out: &mut [f64]) {
        let (n, k) = (self.n_samples, cols.len());
        let cm = faer::MatRef::from_column_major_slice(&coef[..k * m], k, m);
        let mut om = faer::MatMut::from_column_major_slice_mut(&mut out[..n * m], n, m);
        for (start, len) in runs(cols) {
            let j0 = cols[start];
            let x = faer::MatRef::from_column_major_slice(
                &self.data.as_ref()[j0 * n..(j0 + len) * n],
                n,
                len,
            );
            faer::linalg::matmul::matmul(
                om.as_mut(),
                faer::Accum::Add,
                x,
                cm.subrows(start, len),
                alpha,
                kernels::faer_par(),
            );
        }
    }
    fn gram_block(&self, rows: &[usize], cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        let (n, p, m, k) = (self.n_samples, self.n_features, rows.len(), cols.len());
        if k == 0 || m == 0 {
            return;
        }
        if n == 0 {
            out[..m * k].fill(0.0);
            return;
        }
        use faer::reborrow::ReborrowMut;
        let all_rows = m == p && rows.iter().enumerate().all(|(r, &i)| r == i);
        if !all_rows && k <= FEW_COLS {
            // a few columns against chosen rows: direct dots read each row's column once,
            // where a product would first copy all of them into one block
            let vals = kernels::map_indices(m, n * m * k, |r| {
                let xr = self.col(rows[r]);
                let mut v = [0.0; FEW_COLS];
                for (vc, &j) in v.iter_mut().zip(cols) {
                    *vc = kernels::dot(xr, self.col(j));
                }
                v
            });
            for (r, v) in vals.iter().enumerate() {
                for (c, &vc) in v[..k].iter().enumerate() {
                    out[c * m + r] = vc;
                }
            }
            return;
        }
        // X_R' X_C = sum over row blocks B of X[B, R]' X[B, C]: the gathered copies stay a few
        // megabytes however tall X is; with all rows wanted, X[B, :] is read in place
        let gathered = k + if all_rows { 0 } else { m };
        let block = row_block(n, gathered);
        if scratch.len() < block * gathered {
            scratch.resize(block * gathered, 0.0);
        }
        let mut dst = faer::MatMut::from_column_major_slice_mut(&mut out[..m * k], m, k);
        for start in (0..n).step_by(block) {
            let h = block.min(n - start);
            let (right, left) = scratch[..h * gathered].split_at_mut(h * k);
            self.gather_rows(cols, start, h, right);
            let rhs = faer::MatRef::from_column_major_slice(&*right, h, k);
            let lhs = if all_rows {
                // rows start.. of every column: stride n
                faer::MatRef::from_column_major_slice_with_stride(
                    &self.as_slice()[start..],
                    h,
                    p,
                    n,
                )
            } else {
                self.gather_rows(rows, start, h, left);
                faer::MatRef::from_column_major_slice(&*left, h, m)
            };
            faer::linalg::matmul::matmul(
                dst.rb_mut(),
                block_accum(start),
                lhs.transpose(),
                rhs,
                1.0,
                crate::kernels::faer_par(),
            );
        }
    }
    fn gram_square(&self, cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        let (n, k) = (self.n_samples, cols.len());
        if k == 0 {
            return;
        }
        if n == 0 {
            out[..k * k].fill(0.0);
            return;
        }
        // only the lower triangle is computed, then mirrored
        if cols.iter().enumerate().all(|(c, &j)| j == cols[0] + c) {
            // consecutive columns are read in place
            let a = &self.as_slice()[cols[0] * n..(cols[0] + k) * n];
            gram_lower(
                faer::MatMut::from_column_major_slice_mut(&mut out[..k * k], k, k),
                faer::MatRef::from_column_major_slice(a, n, k),
                faer::Accum::Replace,
            );
            symmetrize_lower(k, out);
        } else {
            gram_square_gathered(n, cols, out, scratch, |c, start, h, dst| {
                self.gather_rows(c, start, h, dst)
            });
        }
    }
}

/// Rows per gathered block of a Gram product over `n` rows with `width` gathered columns: a
/// few megabytes ([`GATHER_BYTES`]), at least 256 rows, at most `n`.
fn row_block(n: usize, width: usize) -> usize {
    (GATHER_BYTES / 8 / width.max(1)).max(256).min(n)
}

/// The lower triangle of `dst` replaced by (or, with `Accum::Add`, increased by) `a' a`; the
/// upper triangle is not formed.
fn gram_lower(dst: faer::MatMut<f64>, a: faer::MatRef<f64>, accum: faer::Accum) {
    use faer::linalg::matmul::triangular::{matmul, BlockStructure};
    matmul(
        dst,
        BlockStructure::TriangularLower,
        accum,
        a.transpose(),
        BlockStructure::Rectangular,
        a,
        BlockStructure::Rectangular,
        1.0,
        crate::kernels::faer_par(),
    )
}

/// `out = X_c' X_c`, exactly symmetric, as the sum over row blocks `R` of `X_c[R]' X_c[R]`:
/// `gather(cols, start, h, dst)` writes rows `start..start + h` of the columns `cols` into
/// `dst`, one column after the other. The gathered block stays a few megabytes however many
/// columns are wanted.
fn gram_square_gathered(
    n: usize,
    cols: &[usize],
    out: &mut [f64],
    scratch: &mut Vec<f64>,
    gather: impl Fn(&[usize], usize, usize, &mut [f64]),
) {
    use faer::reborrow::ReborrowMut;
    let k = cols.len();
    let rows = row_block(n, k);
    if scratch.len() < rows * k {
        scratch.resize(rows * k, 0.0);
    }
    let mut dst = faer::MatMut::from_column_major_slice_mut(&mut out[..k * k], k, k);
    for start in (0..n).step_by(rows) {
        let m = rows.min(n - start);
        gather(cols, start, m, &mut scratch[..m * k]);
        let a = faer::MatRef::from_column_major_slice(&scratch[..m * k], m, k);
        gram_lower(dst.rb_mut(), a, block_accum(start));
    }
    symmetrize_lower(k, out);
}

/// The row Gram matrix `out = sum_c scale_c^2 x_{cols[c]} x_{cols[c]}'` (`n x n`,
/// column-major, exactly symmetric) of any design: the columns are written out
/// [`ROW_GRAM_BLOCK`] at a time, scaled, and each block adds its product `B B'` (lower
/// triangle, `n^2 |block| / 2` multiply-adds; `n^2 |cols| / 2` in all).
pub(crate) fn row_gram<D: Design + ?Sized>(x: &D, cols: &[usize], scale: &[f64], out: &mut [f64]) {
    use faer::reborrow::ReborrowMut;
    let n = x.n_samples();
    out[..n * n].fill(0.0);
    if n == 0 {
        return;
    }
    let width = ROW_GRAM_BLOCK.min(cols.len()).max(1);
    let mut block = vec![0.0; n * width];
    let mut dst = faer::MatMut::from_column_major_slice_mut(&mut out[..n * n], n, n);
    for (b, chunk) in cols.chunks(width).enumerate() {
        let m = chunk.len();
        block[..n * m].fill(0.0);
        for (c, &j) in chunk.iter().enumerate() {
            x.col_axpy(j, scale[b * width + c], &mut block[c * n..(c + 1) * n]);
        }
        let a = faer::MatRef::from_column_major_slice(&block[..n * m], n, m);
        gram_lower(dst.rb_mut(), a.transpose(), faer::Accum::Add);
    }
    symmetrize_lower(n, out);
}

/// Columns per block of [`row_gram`].
const ROW_GRAM_BLOCK: usize = 256;

/// A dense column-major matrix read through a per-column affine map and a per-row factor,
/// without a copy: the design's entries are
///
/// ```text
/// z_ij = (x_ij - mean_j) * factor_j * row_i        (row_i = 1 without row factors)
/// ```
///
/// This is the centered, scaled and row-weighted matrix a standardized least-squares fit works
/// on (`factor_j = 1 / sd_j`, `row_i = sqrt(w_i)`), formed on the fly, so that such a fit
/// needs no second `n x p` matrix: column operations transform [`TRANSFORM_CHUNK`] values at
/// a time into a buffer on the stack, and Gram products transform the row blocks they gather,
/// a few megabytes at a time. Each column operation costs a few more arithmetic operations
/// per value than on [`DenseDesign`], so it suits solvers that read `X` a few times
/// (covariance-mode coordinate descent reads it for `X'y`, the column norms and the Gram
/// matrix), not pass after pass.
#[derive(Clone, Debug)]
pub struct TransformedDense<'a> {
    x: &'a [f64],
    n_samples: usize,
    mean: Vec<f64>,
    factor: Vec<f64>,
    row: Option<&'a [f64]>,
}

/// Values a [`TransformedDense`] column operation transforms at a time.
pub const TRANSFORM_CHUNK: usize = 512;

impl<'a> TransformedDense<'a> {
    /// Wraps the column-major `n_samples x mean.len()` matrix `x` with the column means and
    /// factors and the optional row factors. Returns `None` when the lengths disagree.
    pub fn new(
        x: &'a [f64],
        n_samples: usize,
        mean: Vec<f64>,
        factor: Vec<f64>,
        row: Option<&'a [f64]>,
    ) -> Option<Self> {
        let p = mean.len();
        let fits = factor.len() == p
            && x.len() == n_samples.checked_mul(p)?
            && row.is_none_or(|r| r.len() == n_samples);
        fits.then_some(TransformedDense {
            x,
            n_samples,
            mean,
            factor,
            row,
        })
    }

    /// Writes `z_ij` for the rows `start..start + dst.len()` of column `j` into `dst`.
    #[inline]
    fn fill(&self, j: usize, start: usize, dst: &mut [f64]) {
        let n = self.n_samples;
        let src = &self.x[j * n + start..j * n + start + dst.len()];
        let (m, f) = (self.mean[j], self.factor[j]);
        match self.row {
            Some(r) => {
                let r = &r[start..start + dst.len()];
                for ((d, &v), &ri) in dst.iter_mut().zip(src).zip(r) {
                    *d = (v - m) * f * ri;
                }
            }
            None => {
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = (v - m) * f;
                }
            }
        }
    }

    /// Calls `f(start, z)` for consecutive row chunks of column `j`, `z` its values there.
    #[inline]
    fn chunks(&self, j: usize, mut f: impl FnMut(usize, &[f64])) {
        let mut buf = [0.0; TRANSFORM_CHUNK];
        for start in (0..self.n_samples).step_by(TRANSFORM_CHUNK) {
            let h = TRANSFORM_CHUNK.min(self.n_samples - start);
            self.fill(j, start, &mut buf[..h]);
            f(start, &buf[..h]);
        }
    }

    /// Rows `start..start + h` of the columns `cols`, transformed, into `dst` one column after
    /// the other (on the rayon pool when the block is large).
    fn gather_rows(&self, cols: &[usize], start: usize, h: usize, dst: &mut [f64]) {
        kernels::for_each_chunk_mut(&mut dst[..cols.len() * h], h, |c, chunk| {
            self.fill(cols[c], start, chunk);
        });
    }
}

impl Design for TransformedDense<'_> {
    fn n_samples(&self) -> usize {
        self.n_samples
    }
    fn n_features(&self) -> usize {
        self.mean.len()
    }
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        let mut s = 0.0;
        self.chunks(j, |i, z| s += kernels::dot(z, &v[i..i + z.len()]));
        s
    }
    fn col_dot_weighted(&self, j: usize, w: &[f64], v: &[f64]) -> f64 {
        let mut s = 0.0;
        self.chunks(j, |i, z| {
            s += kernels::dot3(z, &w[i..i + z.len()], &v[i..i + z.len()])
        });
        s
    }
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        self.chunks(j, |i, z| kernels::axpy(a, z, &mut v[i..i + z.len()]));
    }
    fn col_axpy_weighted(&self, j: usize, a: f64, w: &[f64], v: &mut [f64]) {
        self.chunks(j, |i, z| {
            kernels::axpy3(a, z, &w[i..i + z.len()], &mut v[i..i + z.len()])
        });
    }
    fn col_sq_norm_weighted(&self, j: usize, w: &[f64]) -> f64 {
        let mut s = 0.0;
        self.chunks(j, |i, z| s += kernels::dot3(z, &w[i..i + z.len()], z));
        s
    }
    fn col_dot_and_sq_norm_weighted(&self, j: usize, r: &[f64], w: &[f64]) -> (f64, f64) {
        let (mut d, mut q) = (0.0, 0.0);
        self.chunks(j, |i, z| {
            let (a, b) =
                kernels::dot_and_sq_norm_weighted(z, &r[i..i + z.len()], &w[i..i + z.len()]);
            d += a;
            q += b;
        });
        (d, q)
    }
    fn t_matvec(&self, v: &[f64], out: &mut [f64]) {
        let p = out.len();
        let vals = kernels::map_indices(p, self.n_samples * p, |j| self.col_dot(j, v));
        out.copy_from_slice(&vals);
    }
    fn gram_square(&self, cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        let k = cols.len();
        if k == 0 {
            return;
        }
        if self.n_samples == 0 {
            out[..k * k].fill(0.0);
            return;
        }
        gram_square_gathered(self.n_samples, cols, out, scratch, |c, start, h, dst| {
            self.gather_rows(c, start, h, dst)
        });
    }
    fn gram_block(&self, rows: &[usize], cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        use faer::reborrow::ReborrowMut;
        let (n, m, k) = (self.n_samples, rows.len(), cols.len());
        if k == 0 || m == 0 {
            return;
        }
        if n == 0 {
            out[..m * k].fill(0.0);
            return;
        }
        // X_R' X_C = sum over row blocks B of Z[B, R]' Z[B, C], both gathered and transformed
        let block = row_block(n, m + k);
        if scratch.len() < block * (m + k) {
            scratch.resize(block * (m + k), 0.0);
        }
        let mut dst = faer::MatMut::from_column_major_slice_mut(&mut out[..m * k], m, k);
        for start in (0..n).step_by(block) {
            let h = block.min(n - start);
            let (left, right) = scratch[..h * (m + k)].split_at_mut(h * m);
            self.gather_rows(rows, start, h, left);
            self.gather_rows(cols, start, h, right);
            faer::linalg::matmul::matmul(
                dst.rb_mut(),
                block_accum(start),
                faer::MatRef::from_column_major_slice(&*left, h, m).transpose(),
                faer::MatRef::from_column_major_slice(&*right, h, k),
                1.0,
                crate::kernels::faer_par(),
            );
        }
    }
}

/// A design whose Gram products are read from a given `G = X'X` (`p x p`, column-major,
/// exactly symmetric) instead of being computed from `X`; every other operation is the inner
/// design's. Cross-validation gives a least-squares fold the Gram matrix of all rows less that
/// of its held-out rows (`O(p^2)` from them, against `n p^2 / 2` from `X`).
pub(crate) struct GivenGram<D> {
    pub(crate) inner: D,
    pub(crate) gram: Vec<f64>,
}

impl<D: Design> Design for GivenGram<D> {
    fn n_samples(&self) -> usize {
        self.inner.n_samples()
    }
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        self.inner.col_dot(j, v)
    }
    fn col_dot_weighted(&self, j: usize, w: &[f64], v: &[f64]) -> f64 {
        self.inner.col_dot_weighted(j, w, v)
    }
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        self.inner.col_axpy(j, a, v);
    }
    fn col_axpy_weighted(&self, j: usize, a: f64, w: &[f64], v: &mut [f64]) {
        self.inner.col_axpy_weighted(j, a, w, v);
    }
    fn col_sq_norm_weighted(&self, j: usize, w: &[f64]) -> f64 {
        self.inner.col_sq_norm_weighted(j, w)
    }
    fn col_dot_and_sq_norm_weighted(&self, j: usize, r: &[f64], w: &[f64]) -> (f64, f64) {
        self.inner.col_dot_and_sq_norm_weighted(j, r, w)
    }
    fn dense_col(&self, j: usize) -> Option<&[f64]> {
        self.inner.dense_col(j)
    }
    fn t_matvec(&self, v: &[f64], out: &mut [f64]) {
        self.inner.t_matvec(v, out);
    }
    fn t_matvec_cols(&self, cols: &[usize], v: &[f64], out: &mut [f64]) {
        self.inner.t_matvec_cols(cols, v, out);
    }
    fn matvec_cols_add(&self, cols: &[usize], coef: &[f64], out: &mut [f64]) {
        self.inner.matvec_cols_add(cols, coef, out);
    }
    fn t_matmat_cols(&self, cols: &[usize], v: &[f64], m: usize, out: &mut [f64]) {
        self.inner.t_matmat_cols(cols, v, m, out);
    }
    fn matmat_cols_add(&self, cols: &[usize], alpha: f64, coef: &[f64], m: usize, out: &mut [f64]) {
        self.inner.matmat_cols_add(cols, alpha, coef, m, out);
    }
    fn gram_square(&self, cols: &[usize], out: &mut [f64], scratch: &mut Vec<f64>) {
        self.gram_block(cols, cols, out, scratch);
    }
    fn gram_block(&self, rows: &[usize], cols: &[usize], out: &mut [f64], _: &mut Vec<f64>) {
        let (p, m) = (self.inner.n_features(), rows.len());
        for (c, &j) in cols.iter().enumerate() {
            let col = &self.gram[j * p..(j + 1) * p];
            for (o, &i) in out[c * m..(c + 1) * m].iter_mut().zip(rows) {
                *o = col[i];
            }
        }
    }
}

/// Most columns of a dense Gram block over chosen rows computed by direct dot products
/// instead of a matrix product on gathered copies.
const FEW_COLS: usize = 8;

/// Size of the gathered row block of a dense Gram product.
const GATHER_BYTES: usize = 4 << 20;

/// Compressed sparse column design (CSC): column `j` holds rows `indices[indptr[j]..indptr[j+1]]`.
#[derive(Clone, Debug)]
pub struct CscDesign {
    n_samples: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<f64>,
}

impl CscDesign {
    /// Builds a CSC design, checking that the index arrays are consistent.
    pub fn new(
        n_samples: usize,
        indptr: Vec<usize>,
        indices: Vec<usize>,
        values: Vec<f64>,
    ) -> crate::Result<Self> {
        let bad = |reason: &str| crate::Error::param("csc", "", reason.to_string());
        if indptr.is_empty() || indptr[0] != 0 {
            return Err(bad("indptr must start with 0"));
        }
        if indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad("indptr must be non-decreasing"));
        }
        if *indptr.last().unwrap_or(&0) != indices.len() || indices.len() != values.len() {
            return Err(bad("indptr, indices and values disagree in length"));
        }
        if indices.iter().any(|&i| i >= n_samples) {
            return Err(bad("row index out of range"));
        }
        Ok(CscDesign {
            n_samples,
            indptr,
            indices,
            values,
        })
    }

    /// Converts a dense design (exact zeros are dropped).
    pub fn from_dense<S: AsRef<[f64]> + Sync>(d: &DenseDesign<S>) -> Self {
        let mut indptr = vec![0];
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for j in 0..d.n_features() {
            for (i, &v) in d.col(j).iter().enumerate() {
                if v != 0.0 {
                    indices.push(i);
                    values.push(v);
                }
            }
            indptr.push(indices.len());
        }
        CscDesign {
            n_samples: d.n_samples(),
            indptr,
            indices,
            values,
        }
    }

    #[inline]
    fn range(&self, j: usize) -> std::ops::Range<usize> {
        self.indptr[j]..self.indptr[j + 1]
    }
}

impl Design for CscDesign {
    fn n_samples(&self) -> usize {
        self.n_samples
    }
    fn n_features(&self) -> usize {
        self.indptr.len() - 1
    }
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        let r = self.range(j);
        self.indices[r.clone()]
            .iter()
            .zip(&self.values[r])
            .map(|(&i, &x)| x * v[i])
            .sum()
    }
    fn col_dot_weighted(&self, j: usize, w: &[f64], v: &[f64]) -> f64 {
        let r = self.range(j);
        self.indices[r.clone()]
            .iter()
            .zip(&self.values[r])
            .map(|(&i, &x)| x * w[i] * v[i])
            .sum()
    }
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        let r = self.range(j);
        for (&i, &x) in self.indices[r.clone()].iter().zip(&self.values[r]) {
            v[i] += a * x;
        }
    }
    fn col_axpy_weighted(&self, j: usize, a: f64, w: &[f64], v: &mut [f64]) {
        let r = self.range(j);
        for (&i, &x) in self.indices[r.clone()].iter().zip(&self.values[r]) {
            v[i] += a * x * w[i];
        }
    }
    fn col_sq_norm_weighted(&self, j: usize, w: &[f64]) -> f64 {
        let r = self.range(j);
        self.indices[r.clone()]
            .iter()
            .zip(&self.values[r])
            .map(|(&i, &x)| x * x * w[i])
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The multi-column products (parallel over row blocks or columns on large designs)
    /// equal the serial column loops bitwise, on a design large enough to take the
    /// parallel branch.
    #[test]
    fn blocked_products_over_runs_of_columns_equal_the_column_loops() {
        let (n, p, m) = (301, 40, 3);
        let data: Vec<f64> = (0..n * p).map(|i| ((i as f64) * 0.7137).sin()).collect();
        let x = DenseDesign::from_col_major(data, n, p).expect("shape");
        // runs of consecutive columns broken at every seventh, and a lone last one
        let cols: Vec<usize> = (0..p - 2).filter(|j| j % 7 != 3).chain([p - 1]).collect();
        let k = cols.len();
        let v: Vec<f64> = (0..n * m).map(|i| (i as f64 * 0.013).cos()).collect();
        let coef: Vec<f64> = (0..k * m).map(|i| (i as f64 * 0.31).sin()).collect();

        let mut fast = vec![0.0; k * m];
        x.t_matmat_cols(&cols, &v, m, &mut fast);
        let mut fast_add = v.clone();
        x.matmat_cols_add(&cols, 1.0, &coef, m, &mut fast_add);
        for c in 0..m {
            let vc = &v[c * n..(c + 1) * n];
            let mut add = vc.to_vec();
            for (r, &j) in cols.iter().enumerate() {
                let want = x.col_dot(j, vc);
                let got = fast[c * k + r];
                assert!(
                    (got - want).abs() <= 1e-12 * n as f64,
                    "{c} {j}: {got} vs {want}"
                );
                x.col_axpy(j, coef[c * k + r], &mut add);
            }
            for (got, want) in fast_add[c * n..(c + 1) * n].iter().zip(&add) {
                assert!((got - want).abs() <= 1e-12 * k as f64, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn multi_column_products_equal_the_column_loops_bitwise() {
        let (n, p) = (3001, 120);
        let data: Vec<f64> = (0..n * p).map(|i| ((i as f64) * 0.7137).sin()).collect();
        let x = DenseDesign::from_col_major(data, n, p).expect("shape");
        let cols: Vec<usize> = (0..p).filter(|j| j % 7 != 3).collect();
        let coef: Vec<f64> = (0..p)
            .map(|j| if j % 5 == 0 { 0.0 } else { (j as f64).cos() })
            .collect();
        let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.013).cos()).collect();

        let mut fast = v.clone();
        x.matvec_cols_add(&cols, &coef, &mut fast);
        let mut slow = v.clone();
        for &j in &cols {
            if coef[j] != 0.0 {
                x.col_axpy(j, coef[j], &mut slow);
            }
        }
        assert_eq!(fast, slow);

        let mut g_fast = vec![-1.0; p];
        x.t_matvec_cols(&cols, &v, &mut g_fast);
        for j in 0..p {
            let want = if cols.contains(&j) {
                x.col_dot(j, &v)
            } else {
                -1.0
            };
            assert_eq!(g_fast[j].to_bits(), want.to_bits(), "column {j}");
        }
    }

    /// The dense symmetric Gram product (in place for consecutive columns, gathered row
    /// block by row block otherwise) equals the column dot products, is exactly symmetric,
    /// and is bitwise the same on borrowed storage.
    #[test]
    fn dense_gram_square_equals_column_dot_products() {
        let (n, p) = (20_000, 90);
        let data: Vec<f64> = (0..n * p).map(|i| ((i as f64) * 0.3311).sin()).collect();
        let owned = DenseDesign::from_col_major(data.clone(), n, p).expect("shape");
        let borrowed = DenseDesign::from_col_major(data.as_slice(), n, p).expect("shape");
        let scattered: Vec<usize> = (0..p).filter(|j| j % 3 != 1).collect();
        let consecutive: Vec<usize> = (10..70).collect();
        // 60 columns gather ~8700 rows per block: three blocks
        for cols in [scattered, consecutive] {
            let k = cols.len();
            let (mut a, mut b) = (vec![0.0; k * k], vec![0.0; k * k]);
            owned.gram_square(&cols, &mut a, &mut Vec::new());
            borrowed.gram_square(&cols, &mut b, &mut Vec::new());
            assert_eq!(a, b);
            for (c, &jc) in cols.iter().enumerate() {
                for (r, &jr) in cols.iter().enumerate() {
                    let want = owned.col_dot(jr, owned.col(jc));
                    assert!((a[c * k + r] - want).abs() <= 1e-11 * n as f64, "{jr},{jc}");
                    assert_eq!(a[c * k + r], a[r * k + c]);
                }
            }
        }
    }

    /// A dense Gram block `X_R' X_C` equals the column dot products, whichever way it is
    /// formed: direct dots (a few columns, chosen rows), a product on gathered copies (more
    /// columns), or a product on `X` in place (all rows); on a tall design in several row
    /// blocks, and on one with fewer rows than a block.
    #[test]
    fn dense_gram_block_equals_column_dot_products() {
        for n in [40_000, 50] {
            check_gram_block(n);
        }
    }

    fn check_gram_block(n: usize) {
        let p = 60;
        let data: Vec<f64> = (0..n * p).map(|i| ((i as f64) * 0.5171).sin()).collect();
        let x = DenseDesign::from_col_major(data, n, p).expect("shape");
        let chosen: Vec<usize> = (0..p).filter(|j| j % 4 != 2).rev().collect();
        let all: Vec<usize> = (0..p).collect();
        let few: Vec<usize> = vec![33, 2, 57];
        let many: Vec<usize> = (0..p).step_by(3).collect();
        for (rows, cols) in [(&chosen, &few), (&chosen, &many), (&all, &few)] {
            let (m, k) = (rows.len(), cols.len());
            let mut out = vec![f64::NAN; m * k];
            x.gram_block(rows, cols, &mut out, &mut Vec::new());
            for (c, &jc) in cols.iter().enumerate() {
                for (r, &jr) in rows.iter().enumerate() {
                    let want = x.col_dot(jr, x.col(jc));
                    let got = out[c * m + r];
                    assert!((got - want).abs() <= 1e-12 * n as f64, "{jr},{jc}: {got}");
                }
            }
        }
        // the symmetric product of scattered columns, gathered in row blocks
        let k = many.len();
        let mut sq = vec![f64::NAN; k * k];
        x.gram_square(&many, &mut sq, &mut Vec::new());
        for (c, &jc) in many.iter().enumerate() {
            for (r, &jr) in many.iter().enumerate() {
                let want = x.col_dot(jr, x.col(jc));
                assert!(
                    (sq[c * k + r] - want).abs() <= 1e-12 * n as f64,
                    "{jr},{jc}"
                );
            }
        }
    }

    /// Every operation of a transformed design equals the same operation on the matrix it
    /// stands for, materialized: with and without row factors, with a column whose factor is
    /// zero, on a design taller than one transform chunk and than one gathered row block (47
    /// columns gather 11155 rows at a time).
    #[test]
    fn a_transformed_design_equals_its_materialized_matrix() {
        let (n, p) = (12_000, 70);
        let data: Vec<f64> = (0..n * p)
            .map(|i| 3.0 + ((i as f64) * 0.4177).sin())
            .collect();
        let mean: Vec<f64> = (0..p).map(|j| 3.0 + 0.01 * j as f64).collect();
        let factor: Vec<f64> = (0..p)
            .map(|j| {
                if j == 5 {
                    0.0
                } else {
                    1.0 / (1.0 + 0.1 * j as f64)
                }
            })
            .collect();
        let rows: Vec<f64> = (0..n).map(|i| 0.5 + ((i % 7) as f64) / 7.0).collect();
        let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.031).cos()).collect();
        let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        for row in [None, Some(rows.as_slice())] {
            let z =
                TransformedDense::new(&data, n, mean.clone(), factor.clone(), row).expect("shape");
            let mut flat = vec![0.0; n * p];
            for j in 0..p {
                for i in 0..n {
                    let r = row.map_or(1.0, |r| r[i]);
                    flat[j * n + i] = (data[j * n + i] - mean[j]) * factor[j] * r;
                }
            }
            let d = DenseDesign::from_col_major(flat, n, p).expect("shape");
            assert!((0..n).all(|i| d.col(5)[i] == 0.0));
            for j in [0, 5, 69] {
                assert!(close(z.col_dot(j, &v), d.col_dot(j, &v)));
                assert!(close(
                    z.col_dot_weighted(j, &w, &v),
                    d.col_dot_weighted(j, &w, &v)
                ));
                assert!(close(
                    z.col_sq_norm_weighted(j, &w),
                    d.col_sq_norm_weighted(j, &w)
                ));
                let (a, b) = z.col_dot_and_sq_norm_weighted(j, &v, &w);
                let (c, e) = d.col_dot_and_sq_norm_weighted(j, &v, &w);
                assert!(close(a, c) && close(b, e));
                let (mut s, mut t) = (v.clone(), v.clone());
                z.col_axpy(j, 0.7, &mut s);
                d.col_axpy(j, 0.7, &mut t);
                assert!(s.iter().zip(&t).all(|(a, b)| close(*a, *b)));
                z.col_axpy_weighted(j, -1.3, &w, &mut s);
                d.col_axpy_weighted(j, -1.3, &w, &mut t);
                assert!(s.iter().zip(&t).all(|(a, b)| close(*a, *b)));
            }
            let (mut g1, mut g2) = (vec![0.0; p], vec![0.0; p]);
            z.t_matvec(&v, &mut g1);
            d.t_matvec(&v, &mut g2);
            assert!(g1.iter().zip(&g2).all(|(a, b)| close(*a, *b)));
            let cols: Vec<usize> = (0..p).filter(|j| j % 3 != 1).collect();
            let all: Vec<usize> = (0..p).collect();
            let k = cols.len();
            let (mut a, mut b) = (vec![0.0; k * k], vec![0.0; k * k]);
            z.gram_square(&cols, &mut a, &mut Vec::new());
            d.gram_square(&cols, &mut b, &mut Vec::new());
            let scale = n as f64;
            assert!(a
                .iter()
                .zip(&b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * scale));
            assert!((0..k).all(|c| (0..k).all(|r| a[c * k + r] == a[r * k + c])));
            for rset in [&all, &cols] {
                let m = rset.len();
                let (mut a, mut b) = (vec![0.0; m * 3], vec![0.0; m * 3]);
                z.gram_block(rset, &[5, 2, 40], &mut a, &mut Vec::new());
                d.gram_block(rset, &[5, 2, 40], &mut b, &mut Vec::new());
                assert!(a
                    .iter()
                    .zip(&b)
                    .all(|(x, y)| (x - y).abs() <= 1e-12 * scale));
            }
        }
        assert!(TransformedDense::new(&data, n, mean.clone(), vec![1.0; p - 1], None).is_none());
        assert!(TransformedDense::new(&data, n + 1, mean, factor, None).is_none());
    }
}
