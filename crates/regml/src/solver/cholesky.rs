//! Cholesky factor of a Gram submatrix kept along a regularization path, for Newton steps on
//! the active set of the least-squares solver.
//!
//! The factor is of `M = G_AA`, where `A` is an ordered set of features and `G = X'X`.
//! Adding a feature costs one triangular solve, `O(|A|^2)`; removing one costs a rank-one
//! update of the trailing factor, also `O(|A|^2)`, so following a path whose active set
//! changes a little at each `lambda` never refactors from scratch (`O(|A|^3)`).

use crate::kernels::{axpy, dot};

const ABSENT: usize = usize::MAX;

/// Lower-triangular `L` with `L L' = M`, row `i` stored as `L[i][0..=i]`.
#[derive(Debug, Default)]
pub(crate) struct ActiveCholesky {
    features: Vec<usize>,
    pos: Vec<usize>,
    rows: Vec<Vec<f64>>,
}

impl ActiveCholesky {
    pub(crate) fn new(p: usize) -> Self {
        ActiveCholesky {
            features: Vec::new(),
            pos: vec![ABSENT; p],
            rows: Vec::new(),
        }
    }

    /// Features in factor order.
    pub(crate) fn features(&self) -> &[usize] {
        &self.features
    }

    pub(crate) fn contains(&self, j: usize) -> bool {
        self.pos[j] != ABSENT
    }

    /// Appends the features `js` in order, `gram_col(j)` being the Gram column of `j` over
    /// all features. Each new row is `z = L^-1 G[A, j]` followed by the factor of the Schur
    /// complement `G[J, J] - Z'Z`; the triangular solves of all new features advance together
    /// row by row, so the factor is read once. A feature numerically in the span of those
    /// before it (pivot `<= 1e-10 G_jj`) is left out.
    pub(crate) fn add_block<'g>(&mut self, js: &[usize], gram_col: impl Fn(usize) -> &'g [f64]) {
        let m = self.features.len();
        let cols: Vec<&[f64]> = js.iter().map(|&j| gram_col(j)).collect();
        // z_c = L^-1 G[A, j_c]
        let mut z: Vec<Vec<f64>> = cols
            .iter()
            .map(|col| self.features.iter().map(|&f| col[f]).collect())
            .collect();
        for i in 0..m {
            let li = &self.rows[i];
            for zc in z.iter_mut() {
                zc[i] = (zc[i] - dot(&li[..i], &zc[..i])) / li[i];
            }
        }
        // Cholesky of the Schur complement G[J, J] - Z'Z, skipping dependent pivots; each
        // accepted feature's row is its z followed by its part of that factor
        let mut accepted: Vec<usize> = Vec::with_capacity(js.len());
        for c in 0..js.len() {
            let mut tail: Vec<f64> = Vec::with_capacity(accepted.len() + 1);
            for (t, &a) in accepted.iter().enumerate() {
                let s = cols[c][js[a]] - dot(&z[c], &z[a][..m]);
                let ta = &z[a][m..];
                tail.push((s - dot(&tail[..t], &ta[..t])) / ta[t]);
            }
            let diag = cols[c][js[c]];
            let d2 = diag - dot(&z[c], &z[c]) - dot(&tail, &tail);
            if !(d2 > 1e-10 * diag) || !d2.is_finite() {
                continue;
            }
            tail.push(d2.sqrt());
            z[c].extend_from_slice(&tail);
            accepted.push(c);
        }
        for c in accepted {
            self.pos[js[c]] = self.features.len();
            self.features.push(js[c]);
            self.rows.push(std::mem::take(&mut z[c]));
        }
    }

    /// Removes feature `j` (which must be present).
    pub(crate) fn remove(&mut self, j: usize) {
        let k = self.pos[j];
        debug_assert!(k != ABSENT);
        self.rows.remove(k);
        self.features.remove(k);
        self.pos[j] = ABSENT;
        for (i, &f) in self.features.iter().enumerate().skip(k) {
            self.pos[f] = i;
        }
        // rows after k lose their entry k, which becomes a rank-one update of the trailing
        // factor: L22 L22' + x x'
        let mut x: Vec<f64> = self.rows[k..].iter_mut().map(|r| r.remove(k)).collect();
        let m = x.len();
        for a in 0..m {
            let la = self.rows[k + a][k + a];
            let r = la.hypot(x[a]);
            let (c, s) = (r / la, x[a] / la);
            self.rows[k + a][k + a] = r;
            for b in a + 1..m {
                let v = (self.rows[k + b][k + a] + s * x[b]) / c;
                x[b] = c * x[b] - s * v;
                self.rows[k + b][k + a] = v;
            }
        }
    }

    /// Solves `M v = rhs` in place (`rhs` in factor order).
    pub(crate) fn solve(&self, v: &mut [f64]) {
        self.solve_lower(v);
        self.solve_upper(v);
    }

    /// Solves `(M + D) d = rhs` for a diagonal `D = diag(shift) >= 0` by conjugate gradients
    /// on the symmetrically preconditioned system `(I + L^-1 D L^-T) w = L^-1 rhs`,
    /// `d = L^-T w`, from `w = 0`. Each iteration costs two triangular solves with the factor
    /// and no product with `M`; with condition number `kappa` of `I + L^-1 D L^-T` (at most
    /// `1 + max(D) / lambda_min(M)`) the residual falls by about
    /// `(sqrt(kappa) - 1) / (sqrt(kappa) + 1)` per iteration. Stops once the residual of the
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
        let b_norm = dot(&rhs, &rhs).sqrt();
        let mut w = vec![0.0; rhs.len()];
        let mut r = rhs;
        let mut dir = r.clone();
        let mut q = vec![0.0; r.len()];
        let mut rr = dot(&r, &r);
        for _ in 0..max_iter {
            // q = (I + L^-1 D L^-T) dir
            q.copy_from_slice(&dir);
            self.solve_upper(&mut q);
            q.iter_mut().zip(shift).for_each(|(v, &s)| *v *= s);
            self.solve_lower(&mut q);
            axpy(1.0, &dir, &mut q);
            let dq = dot(&dir, &q);
            if !(dq > 0.0) {
                break;
            }
            let step = rr / dq;
            axpy(step, &dir, &mut w);
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
        self.solve_upper(&mut w);
        w
    }

    /// Solves `L v = rhs` in place (forward substitution, `M = L L'`).
    pub(crate) fn solve_lower(&self, v: &mut [f64]) {
        for (i, li) in self.rows.iter().enumerate() {
            v[i] = (v[i] - dot(&li[..i], &v[..i])) / li[i];
        }
    }

    /// Solves `L' v = rhs` in place (back substitution, `M = L L'`).
    pub(crate) fn solve_upper(&self, v: &mut [f64]) {
        for (i, li) in self.rows.iter().enumerate().rev() {
            v[i] /= li[i];
            let vi = v[i];
            axpy(-vi, &li[..i], &mut v[..i]);
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
        f.remove(1);
        f.remove(8);
        f.add_block(&[5], col);
        let set = f.features().to_vec();
        assert_eq!(set, vec![4, 7, 0, 2, 5]);
        // M v = rhs checked through M times the solution
        let rhs: Vec<f64> = (0..set.len()).map(|i| 1.0 + i as f64).collect();
        let mut v = rhs.clone();
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
        for (a, b) in one.rows.iter().zip(&block.rows) {
            for (u, v) in a.iter().zip(b) {
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
