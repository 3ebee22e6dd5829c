//! Cholesky factor of a Gram submatrix kept along a regularization path, for Newton steps on
//! the active set of the least-squares solver.
//!
//! The factor is of `M = G_AA`, where `A` is an ordered set of features and `G = X'X`.
//! Adding a feature costs one triangular solve, `O(|A|^2)`; removing one costs a rank-one
//! update of the trailing factor, also `O(|A|^2)`, so following a path whose active set
//! changes a little at each `lambda` never refactors from scratch (`O(|A|^3)`).

use crate::kernels::{axpy, dot};

const ABSENT: usize = usize::MAX;

/// Lower-triangular `L` with `L L' = M`, stored column-major in one buffer with column
/// stride `cap`: `L[i][t]` at `l[t * cap + i]` for `t <= i < |A|`. Entries above the
/// diagonal are zero; those in rows or columns from `|A|` on are left from earlier factors and
/// are written before they are read again (a feature that joins writes its whole row).
#[derive(Debug, Default)]
pub(crate) struct ActiveCholesky {
    features: Vec<usize>,
    pos: Vec<usize>,
    cap: usize,
    l: Vec<f64>,
}

/// Largest squared pivot, relative to its diagonal entry `G_jj`, of a feature taken as in the
/// span of those before it and left out of the factor: `1e-14`, a few dozen times the
/// rounding error of the pivot's computation. Ill-conditioned but independent columns (powers
/// of one variable, pivots near `1e-13`) stay in, so that Newton steps solve on all of them.
const DEPENDENT_PIVOT: f64 = 1e-14;

/// Smallest column stride of the factor's buffer.
const MIN_CAP: usize = 64;

impl ActiveCholesky {
    pub(crate) fn new(p: usize) -> Self {
        ActiveCholesky {
            features: Vec::new(),
            pos: vec![ABSENT; p],
            cap: 0,
            l: Vec::new(),
        }
    }

    /// Features in factor order.
    pub(crate) fn features(&self) -> &[usize] {
        &self.features
    }

    pub(crate) fn contains(&self, j: usize) -> bool {
        self.pos[j] != ABSENT
    }

    /// Column `t` of the factor from its diagonal down, `L[t..m][t]`.
    #[inline]
    fn col(&self, t: usize) -> &[f64] {
        &self.l[t * self.cap + t..t * self.cap + self.features.len()]
    }

    /// Makes room for `m` features: the stride at least doubles when it grows, so the copies
    /// cost `O(m^2)` over a whole path.
    fn reserve(&mut self, m: usize) {
        if m <= self.cap {
            return;
        }
        let cap = (2 * self.cap).max(MIN_CAP).min(self.pos.len()).max(m);
        let mut l = vec![0.0; cap * cap];
        for t in 0..self.features.len() {
            l[t * cap + t..t * cap + self.features.len()].copy_from_slice(self.col(t));
        }
        self.cap = cap;
        self.l = l;
    }

    /// [`Self::add_block_solving`] without a right-hand side.
    #[cfg(test)]
    pub(crate) fn add_block<'g>(&mut self, js: &[usize], gram_col: impl Fn(usize) -> &'g [f64]) {
        self.add_block_solving(js, gram_col, None);
    }

    /// Appends the features `js` in order, `gram_col(j)` being the Gram column of `j` over
    /// all features (see [`Self::add_block_from`]). With `rhs` (`rhs(j)` the right-hand
    /// side's entry of feature `j`) it also returns the forward solve `L^-1 v` of the vector
    /// `v` of those entries in the new factor order, for the features kept: its part on the
    /// factor's features so far rides along the triangular solve of the new rows as one more
    /// right-hand side, so the factor is read once for both. Without `rhs` the result is
    /// empty.
    pub(crate) fn add_block_solving<'g>(
        &mut self,
        js: &[usize],
        gram_col: impl Fn(usize) -> &'g [f64],
        rhs: Option<&dyn Fn(usize) -> f64>,
    ) -> Vec<f64> {
        let rows = self.block_rows(js);
        let mut cross = Vec::with_capacity(rows.len() * js.len());
        for &j in js {
            let col = gram_col(j);
            cross.extend(rows.iter().map(|&f| col[f]));
        }
        self.add_block_inner(js, &cross, rhs)
    }

    /// The rows of the block [`Self::add_block_from`] takes for the features `js`: the
    /// factor's features in factor order, then `js`.
    pub(crate) fn block_rows(&self, js: &[usize]) -> Vec<usize> {
        self.features.iter().chain(js).copied().collect()
    }

    /// Appends the features `js` in order, given `cross = G[R, J]` column-major for the rows
    /// `R` of [`Self::block_rows`] (`|A| + |J|` of them). The new rows are
    /// `Z' = (L^-1 G[A, J])'` (one blocked triangular solve with all new features as
    /// right-hand sides, `O(|A|^2 |J|)`, which reads the factor once) followed by the factor
    /// of the Schur complement `G[J, J] - Z'Z`. A feature numerically in the span of those
    /// before it (squared pivot `<= DEPENDENT_PIVOT G_jj`) is left out.
    pub(crate) fn add_block_from(&mut self, js: &[usize], cross: &[f64]) {
        self.add_block_inner(js, cross, None);
    }

    /// [`Self::add_block_from`], with the forward solve of [`Self::add_block_solving`].
    fn add_block_inner(
        &mut self,
        js: &[usize],
        cross: &[f64],
        rhs: Option<&dyn Fn(usize) -> f64>,
    ) -> Vec<f64> {
        let (m, k) = (self.features.len(), js.len());
        // the right-hand side on the factor's features so far, solved with the new rows
        let mut v: Vec<f64> = match rhs {
            Some(f) => self.features.iter().map(|&j| f(j)).collect(),
            None => Vec::new(),
        };
        if k == 0 {
            if rhs.is_some() {
                self.solve_lower(&mut v);
            }
            return v;
        }
        let rows = m + k;
        debug_assert_eq!(cross.len(), rows * k);
        self.reserve(m + k);
        let cap = self.cap;
        // G[j_c, j_a] for new features c and a
        let g_new = |c: usize, a: usize| cross[c * rows + m + a];
        // Z = L^-1 G[A, J], column c of Z (contiguous) for feature js[c]; with a right-hand
        // side, its part on A is column k
        let solved = usize::from(rhs.is_some());
        let mut z = vec![0.0; m * (k + solved)];
        if m > 0 {
            for (c, zc) in z.chunks_exact_mut(m).take(k).enumerate() {
                zc.copy_from_slice(&cross[c * rows..c * rows + m]);
            }
            z[m * k..].copy_from_slice(&v);
            // at this size the solve is bound by reading the factor: one thread
            faer::linalg::triangular_solve::solve_lower_triangular_in_place(
                faer::MatRef::from_column_major_slice_with_stride(
                    &self.l[..(m - 1) * cap + m],
                    m,
                    m,
                    cap,
                ),
                faer::MatMut::from_column_major_slice_mut(&mut z, m, k + solved),
                faer::Par::Seq,
            );
            v.copy_from_slice(&z[m * k..]);
        }
        let zcol = |c: usize| &z[c * m..(c + 1) * m];
        // Cholesky of the Schur complement G[J, J] - Z'Z, skipping dependent pivots; each
        // accepted feature's row is its z followed by its part of that factor
        let mut accepted: Vec<usize> = Vec::with_capacity(k);
        let mut tails: Vec<Vec<f64>> = Vec::with_capacity(k);
        for c in 0..k {
            let mut tail: Vec<f64> = Vec::with_capacity(accepted.len() + 1);
            for (t, &a) in accepted.iter().enumerate() {
                let s = g_new(c, a) - dot(zcol(c), zcol(a));
                let ta = &tails[t];
                tail.push((s - dot(&tail[..t], &ta[..t])) / ta[t]);
            }
            let diag = g_new(c, c);
            let d2 = diag - dot(zcol(c), zcol(c)) - dot(&tail, &tail);
            if !(d2 > DEPENDENT_PIVOT * diag) || !d2.is_finite() {
                continue;
            }
            tail.push(d2.sqrt());
            tails.push(tail);
            accepted.push(c);
        }
        // the accepted features' rows m, m + 1, ..: column by column, so that each column's
        // new entries are written together (rows of one column are contiguous)
        for t in 0..m {
            let dst = &mut self.l[t * cap + m..t * cap + m + accepted.len()];
            for (v, &c) in dst.iter_mut().zip(&accepted) {
                *v = z[c * m + t];
            }
        }
        for (q, tail) in tails.iter().enumerate() {
            for (t, &v) in tail.iter().enumerate() {
                self.l[(m + t) * cap + m + q] = v;
            }
        }
        if let Some(f) = rhs {
            // row m + q of the factor: z of its feature, then its tail
            for (q, (&c, tail)) in accepted.iter().zip(&tails).enumerate() {
                let s = f(js[c]) - dot(zcol(c), &v[..m]) - dot(&tail[..q], &v[m..m + q]);
                v.push(s / tail[q]);
            }
        }
        for &c in &accepted {
            self.pos[js[c]] = self.features.len();
            self.features.push(js[c]);
        }
        v
    }

    /// Removes the features `js` (each present, none twice). Removing the feature at position
    /// `k` leaves the rows and columns after it with `L22 L22' + x x'`, `x = L[k+1.., k]`: a
    /// rank-one update by Givens rotations, `O((|A| - k)^2)`. The updates run in place by
    /// increasing position (the rows and columns removed before lie outside each trailing
    /// block), then one compaction moves the remaining entries: the rows after the first
    /// removed position in the columns before it, and the columns after it, each entry once
    /// whatever the number removed.
    pub(crate) fn remove(&mut self, js: &[usize]) {
        if js.is_empty() {
            return;
        }
        let (m, cap) = (self.features.len(), self.cap);
        let mut dead: Vec<usize> = js.iter().map(|&j| self.pos[j]).collect();
        debug_assert!(dead.iter().all(|&k| k != ABSENT));
        dead.sort_unstable();
        let mut x: Vec<f64> = Vec::new();
        for &k in &dead {
            x.clear();
            x.extend_from_slice(&self.l[k * cap + k + 1..k * cap + m]);
            for a in 0..x.len() {
                // column k + 1 + a from row k + 1: its diagonal at offset a
                let col = (k + 1 + a) * cap + k + 1;
                let la = self.l[col + a];
                let r = la.hypot(x[a]);
                // c = r / la >= 1 and s = x_a / la, with 1 / c = la / r multiplied in
                let (c, s, inv_c) = (r / la, x[a] / la, la / r);
                self.l[col + a] = r;
                let below = &mut self.l[col + a + 1..col + x.len()];
                for (lb, xb) in below.iter_mut().zip(&mut x[a + 1..]) {
                    let v = (*lb + s * *xb) * inv_c;
                    *xb = c * *xb - s * v;
                    *lb = v;
                }
            }
        }
        // runs of remaining positions [start, end)
        let mut runs: Vec<(usize, usize)> = Vec::with_capacity(dead.len() + 1);
        let mut start = 0;
        for &k in &dead {
            if k > start {
                runs.push((start, k));
            }
            start = k + 1;
        }
        if m > start {
            runs.push((start, m));
        }
        // remaining column t goes to column t2 and its remaining rows i >= t to rows from t2
        // on; a destination never lies after its source, so moving in increasing order reads
        // every entry before it is overwritten, and a run already in place is not moved
        let mut t2 = 0;
        for (r, &(first, last)) in runs.iter().enumerate() {
            for t in first..last {
                let (src, dst) = (t * cap, t2 * cap);
                let mut i2 = t2;
                for (ri, &(s0, e)) in runs[r..].iter().enumerate() {
                    let s = if ri == 0 { t } else { s0 };
                    if src + s != dst + i2 {
                        self.l.copy_within(src + s..src + e, dst + i2);
                    }
                    i2 += e - s;
                }
                t2 += 1;
            }
        }
        for &k in dead.iter().rev() {
            self.features.remove(k);
        }
        for &j in js {
            self.pos[j] = ABSENT;
        }
        for (i, &f) in self.features.iter().enumerate().skip(dead[0]) {
            self.pos[f] = i;
        }
    }

    /// Column `M[:, j]` of the factored matrix in factor order, for feature `j` (which must be
    /// present) at position `k`: `M[i, k] = sum_{t <= min(i, k)} L[i][t] L[k][t]`, `O(|A| k)`.
    pub(crate) fn gram_col(&self, j: usize) -> Vec<f64> {
        let k = self.pos[j];
        debug_assert!(k != ABSENT);
        let mut v = vec![0.0; self.features.len()];
        for t in 0..=k {
            axpy(self.l[t * self.cap + k], self.col(t), &mut v[t..]);
        }
        v
    }

    /// Solves `M v = rhs` in place (`rhs` in factor order).
    #[cfg(test)]
    pub(crate) fn solve(&self, v: &mut [f64]) {
        self.solve_lower(v);
        self.solve_upper(v);
    }

    /// Solves `(M + D) d = rhs` for a diagonal `D = diag(shift) >= 0` by conjugate gradients
    /// on the symmetrically preconditioned system `(I + L^-1 D L^-T) w = L^-1 rhs`,
    /// `d = L^-T w`, from `w = 0`. Each iteration costs two triangular solves with the factor
    /// and no product with `M`; with condition number `kappa` of `I + L^-1 D L^-T` (at most
    /// `1 + max(D) / lambda_min(M)`) the residual falls by about
    /// `(sqrt(kappa) - 1) / (sqrt(kappa) + 1)` per iteration. `d` is kept as the sum of the
    /// steps along `L^-T dir`, which each iteration forms anyway, so that `w` is never mapped
    /// back: `1 + 2 k` triangular solves for `k` iterations. Stops once the residual of the
    /// preconditioned system is at most `rel_tol` times its right-hand side, or after
    /// `max_iter` iterations. With `D = 0` the first iterate is exact.
    pub(crate) fn solve_shifted(
        &self,
        mut rhs: Vec<f64>,
        shift: &[f64],
        rel_tol: f64,
        max_iter: usize,
    ) -> Vec<f64> {
        self.solve_lower(&mut rhs);
        self.solve_shifted_lower(rhs, shift, rel_tol, max_iter)
    }

    /// [`Self::solve_shifted`] given `L^-1 rhs` (its first triangular solve done).
    pub(crate) fn solve_shifted_lower(
        &self,
        rhs: Vec<f64>,
        shift: &[f64],
        rel_tol: f64,
        max_iter: usize,
    ) -> Vec<f64> {
        let b_norm = dot(&rhs, &rhs).sqrt();
        let mut d = vec![0.0; rhs.len()];
        let mut r = rhs;
        let mut dir = r.clone();
        let mut u = vec![0.0; r.len()];
        let mut q = vec![0.0; r.len()];
        let mut rr = dot(&r, &r);
        for _ in 0..max_iter {
            // u = L^-T dir, q = (I + L^-1 D L^-T) dir
            u.copy_from_slice(&dir);
            self.solve_upper(&mut u);
            for ((qi, &ui), &s) in q.iter_mut().zip(&u).zip(shift) {
                *qi = ui * s;
            }
            self.solve_lower(&mut q);
            axpy(1.0, &dir, &mut q);
            let dq = dot(&dir, &q);
            if !(dq > 0.0) {
                break;
            }
            let step = rr / dq;
            axpy(step, &u, &mut d);
            axpy(-step, &q, &mut r);
            let rr_new = dot(&r, &r);
            if rr_new.sqrt() <= rel_tol * b_norm {
                break;
            }
            let beta = rr_new / rr;
            rr = rr_new;
            for (a, &ri) in dir.iter_mut().zip(&r) {
                *a = ri + beta * *a;
            }
        }
        d
    }

    /// Solves `L v = rhs` in place (forward substitution by columns, `M = L L'`).
    pub(crate) fn solve_lower(&self, v: &mut [f64]) {
        for t in 0..self.features.len() {
            let lt = self.col(t);
            v[t] /= lt[0];
            let vt = v[t];
            axpy(-vt, &lt[1..], &mut v[t + 1..]);
        }
    }

    /// Solves `L' v = rhs` in place (back substitution by columns, `M = L L'`).
    pub(crate) fn solve_upper(&self, v: &mut [f64]) {
        for t in (0..self.features.len()).rev() {
            let lt = self.col(t);
            v[t] = (v[t] - dot(&lt[1..], &v[t + 1..])) / lt[0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gram matrix of a small deterministic design, full `p x p`, column-major.
    fn gram(p: usize) -> Vec<f64> {
        let n = 3 * p;
        let x: Vec<f64> = (0..n * p)
            .map(|k| {
                (((k * 7919) % 101) as f64 / 101.0 - 0.5) + if k % (n + 1) == 0 { 1.0 } else { 0.0 }
            })
            .collect();
        let mut g = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                g[a * p + b] = dot(&x[a * n..(a + 1) * n], &x[b * n..(b + 1) * n]);
            }
        }
        g
    }

    #[test]
    fn adds_and_removes_match_a_direct_solve() {
        let p = 9;
        let g = gram(p);
        let col = |j: usize| &g[j * p..(j + 1) * p];
        let mut f = ActiveCholesky::new(p);
        f.add_block(&[4, 1, 7], col);
        f.add_block(&[0], col);
        f.add_block(&[8, 2], col);
        f.remove(&[1]);
        f.remove(&[8]);
        f.add_block(&[5], col);
        let set = f.features().to_vec();
        assert_eq!(set, vec![4, 7, 0, 2, 5]);
        let rhs: Vec<f64> = (0..set.len()).map(|i| 1.0 + i as f64).collect();
        assert_solves(&f, &g, &rhs);
    }

    #[test]
    fn gram_columns_rebuilt_from_the_factor_match_the_gram_matrix() {
        let p = 9;
        let g = gram(p);
        let col = |j: usize| &g[j * p..(j + 1) * p];
        let mut f = ActiveCholesky::new(p);
        f.add_block(&[4, 1, 7, 0], col);
        f.remove(&[1]);
        f.add_block(&[8, 2, 5], col);
        let set = f.features().to_vec();
        assert_eq!(set, vec![4, 7, 0, 8, 2, 5]);
        for &j in &set {
            let m = f.gram_col(j);
            assert_eq!(m.len(), set.len());
            for (&i, v) in set.iter().zip(&m) {
                let want = g[j * p + i];
                assert!(
                    (v - want).abs() <= 1e-12 * g[j * p + j],
                    "G[{i}, {j}]: {v} vs {want}"
                );
            }
        }
    }

    /// `M v = rhs` solved through the factor, checked through `M` times the solution: every
    /// entry within `1e-9` of its right-hand side, relatively.
    fn assert_solves(f: &ActiveCholesky, g: &[f64], rhs: &[f64]) {
        let p = f.pos.len();
        let set = f.features();
        let mut v = rhs.to_vec();
        f.solve(&mut v);
        for (i, &a) in set.iter().enumerate() {
            let mv: f64 = set
                .iter()
                .enumerate()
                .map(|(k, &b)| g[b * p + a] * v[k])
                .sum();
            assert!(
                (mv - rhs[i]).abs() < 1e-9 * rhs[i].abs(),
                "{mv} vs {}",
                rhs[i]
            );
        }
    }

    #[test]
    fn shifted_solve_meets_its_tolerance_and_is_exact_without_shift() {
        let p = 10;
        let g = gram(p);
        let mut f = ActiveCholesky::new(p);
        f.add_block(&[2, 5, 0, 9, 7, 3], |j| &g[j * p..(j + 1) * p]);
        let set = f.features().to_vec();
        let m = set.len();
        let rhs: Vec<f64> = (0..m).map(|i| (i as f64 - 2.5) * 0.7).collect();
        // residual (M + D) d - rhs, relative to rhs
        let residual = |d: &[f64], shift: &[f64]| -> f64 {
            let r: Vec<f64> = (0..m)
                .map(|i| {
                    let md: f64 = (0..m).map(|k| g[set[k] * p + set[i]] * d[k]).sum();
                    md + shift[i] * d[i] - rhs[i]
                })
                .collect();
            (dot(&r, &r) / dot(&rhs, &rhs)).sqrt()
        };
        let none = vec![0.0; m];
        let d = f.solve_shifted(rhs.clone(), &none, 1e-3, 1);
        assert!(residual(&d, &none) < 1e-12, "{}", residual(&d, &none));
        // unequal shifts, one zero (an unpenalized feature), up to the size of the diagonal
        let diag_max = set.iter().map(|&j| g[j * p + j]).fold(0.0, f64::max);
        let shift: Vec<f64> = (0..m).map(|i| diag_max * (i % 3) as f64 / 4.0).collect();
        let loose = f.solve_shifted(rhs.clone(), &shift, 1e-3, 50);
        let tight = f.solve_shifted(rhs.clone(), &shift, 1e-12, 50);
        assert!(
            residual(&tight, &shift) < 1e-10,
            "{}",
            residual(&tight, &shift)
        );
        let r = residual(&loose, &shift);
        assert!(r < 1e-2, "{r}");
        // one iteration alone does not solve it
        let one = f.solve_shifted(rhs.clone(), &shift, 1e-12, 1);
        assert!(residual(&one, &shift) > 1e-6);
    }

    /// The forward solve that rides along a block's triangular solve is `L^-1 rhs` of the new
    /// factor: a back substitution then solves `M d = rhs`, for a block joining an empty
    /// factor, one joining after a removal, with a dependent feature left out, and an empty
    /// block. The factor is the same as without the right-hand side.
    #[test]
    fn the_forward_solve_along_a_block_solves_with_the_new_factor() {
        let p = 12;
        let mut g = gram(p);
        // feature 11 duplicates feature 4: dependent, left out of the factor
        for a in 0..p {
            g[11 * p + a] = g[4 * p + a];
            g[a * p + 11] = g[a * p + 4];
        }
        let col = |j: usize| &g[j * p..(j + 1) * p];
        let rhs = |j: usize| (j as f64 - 4.5) * 0.3 + 1.0 / (1.0 + j as f64);
        let mut f = ActiveCholesky::new(p);
        let mut plain = ActiveCholesky::new(p);
        let blocks: [&[usize]; 3] = [&[3, 7, 0], &[4, 9, 11, 2], &[]];
        for (b, block) in blocks.iter().enumerate() {
            if b == 1 {
                f.remove(&[7]);
                plain.remove(&[7]);
            }
            let mut d = f.add_block_solving(block, col, Some(&rhs));
            plain.add_block(block, col);
            assert_eq!(f.features(), plain.features());
            assert_eq!(f.l, plain.l);
            let set = f.features().to_vec();
            assert_eq!(d.len(), set.len());
            assert!(!set.contains(&11));
            f.solve_upper(&mut d);
            let want: Vec<f64> = set.iter().map(|&j| rhs(j)).collect();
            let mut direct = want.clone();
            f.solve(&mut direct);
            for (got, exact) in d.iter().zip(&direct) {
                assert!(
                    (got - exact).abs() <= 1e-12 * (1.0 + exact.abs()),
                    "block {b}: {got} against {exact}"
                );
            }
            assert_solves(&f, &g, &want);
        }
        // without a right-hand side nothing is solved
        assert!(f.add_block_solving(&[5], col, None).is_empty());
    }

    #[test]
    fn a_factor_that_outgrows_its_buffer_still_solves() {
        // 150 features added in blocks past two growths of the column stride, with removals
        // between them
        let p = 150;
        let g = gram(p);
        let col = |j: usize| &g[j * p..(j + 1) * p];
        let mut f = ActiveCholesky::new(p);
        let order: Vec<usize> = (0..p).map(|i| (i * 37) % p).collect();
        f.add_block(&order[..50], col);
        f.remove(&[order[3]]);
        f.add_block(&order[50..110], col);
        f.remove(&[order[0], order[80]]);
        f.add_block(&order[110..], col);
        // the stride grew from 64 to 128, then to p (never beyond)
        assert_eq!(f.cap, p);
        assert_eq!(f.features().len(), p - 3);
        let rhs: Vec<f64> = (0..p - 3).map(|i| ((i % 7) as f64) - 2.5).collect();
        assert_solves(&f, &g, &rhs);
    }

    #[test]
    fn removing_a_set_equals_removing_one_at_a_time() {
        // the first and last positions, two adjacent ones and one between
        let p = 40;
        let g = gram(p);
        let col = |j: usize| &g[j * p..(j + 1) * p];
        let order: Vec<usize> = (0..p).map(|i| (i * 17) % p).collect();
        let gone = [order[0], order[5], order[6], order[20], order[39]];
        let mut one = ActiveCholesky::new(p);
        let mut set = ActiveCholesky::new(p);
        one.add_block(&order, col);
        set.add_block(&order, col);
        for &j in &gone {
            one.remove(&[j]);
        }
        set.remove(&[gone[3], gone[0], gone[4], gone[1], gone[2]]);
        assert_eq!(one.features(), set.features());
        assert!(gone.iter().all(|&j| !set.contains(j)));
        for t in 0..set.features().len() {
            assert_eq!(one.col(t), set.col(t), "column {t}");
        }
        let rhs: Vec<f64> = (0..p - 5).map(|i| ((i % 5) as f64) - 1.5).collect();
        assert_solves(&set, &g, &rhs);
        // features joining afterwards overwrite what the removal left outside the factor
        set.add_block(&gone[..3], col);
        let rhs: Vec<f64> = (0..p - 2).map(|i| ((i % 3) as f64) - 0.5).collect();
        assert_solves(&set, &g, &rhs);
    }

    #[test]
    fn a_block_add_equals_single_adds() {
        let p = 12;
        let g = gram(p);
        let col = |j: usize| &g[j * p..(j + 1) * p];
        let mut one = ActiveCholesky::new(p);
        let mut block = ActiveCholesky::new(p);
        one.add_block(&[3, 9], col);
        block.add_block(&[3, 9], col);
        let new = [0, 11, 5, 7, 1, 6];
        for &j in &new {
            one.add_block(&[j], col);
        }
        block.add_block(&new, col);
        assert_eq!(one.features(), block.features());
        for t in 0..one.features().len() {
            for (u, v) in one.col(t).iter().zip(block.col(t)) {
                assert!((u - v).abs() < 1e-10 * (1.0 + u.abs()), "{u} vs {v}");
            }
        }
    }

    #[test]
    fn a_block_add_skips_dependent_columns() {
        // columns 0..3 of x plus x_4 = x_0 + x_1 and x_5 = x_2: Gram built from x
        let n = 6;
        let base: Vec<Vec<f64>> = (0..4)
            .map(|c| {
                (0..n)
                    .map(|i| ((i * 5 + c * 3) % 7) as f64 - 3.0 + if i == c { 2.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let mut x = base.clone();
        x.push(base[0].iter().zip(&base[1]).map(|(a, b)| a + b).collect());
        x.push(base[2].clone());
        let p = x.len();
        let g: Vec<f64> = (0..p * p).map(|k| dot(&x[k / p], &x[k % p])).collect();
        let mut f = ActiveCholesky::new(p);
        f.add_block(&[0, 1, 4, 2, 5, 3], |j| &g[j * p..(j + 1) * p]);
        assert_eq!(f.features(), &[0, 1, 2, 3]);
    }

    #[test]
    fn a_dependent_column_is_refused() {
        // x_2 = x_0 + x_1: the Gram column of 2 is the sum of those of 0 and 1
        let g = vec![2.0, 1.0, 3.0, 1.0, 2.0, 3.0, 3.0, 3.0, 6.0];
        let mut f = ActiveCholesky::new(3);
        f.add_block(&[0, 1], |j| &g[3 * j..3 * j + 3]);
        f.add_block(&[2], |j| &g[3 * j..3 * j + 3]);
        assert_eq!(f.features(), &[0, 1]);
    }
}
