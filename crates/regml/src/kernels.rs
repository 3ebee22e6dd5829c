//! Scalar kernels shared by every solver: dot products, axpy, soft-thresholding.
//!
//! Floating-point sums are split over eight independent accumulators so that the compiler
//! can keep them in vector registers (a single accumulator forces a serial dependency chain).

/// Parallelism for dense matrix products: every thread of the rayon pool with the
/// `parallel` feature, one thread without it.
pub(crate) fn faer_par() -> faer::Par {
    #[cfg(feature = "parallel")]
    {
        match std::num::NonZeroUsize::new(rayon::current_num_threads()) {
            Some(t) if t.get() > 1 => faer::Par::Rayon(t),
            _ => faer::Par::Seq,
        }
    }
    #[cfg(not(feature = "parallel"))]
    {
        faer::Par::Seq
    }
}

/// `(0..count).map(f)` collected in order; the calls run on the rayon pool (feature
/// `parallel`) when `work`, the number of elements they touch together, is large enough to
/// pay for it. Each call's arithmetic is the same either way, so results are bitwise equal.
pub(crate) fn map_indices<T: Send>(
    count: usize,
    work: usize,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if work > 1 << 18 {
            return (0..count).into_par_iter().map(f).collect();
        }
    }
    let _ = work;
    (0..count).map(f).collect()
}

/// `(a(), b())`, the two calls on the rayon pool's threads (feature `parallel`), one after
/// the other without it; each call's arithmetic is the same either way.
pub(crate) fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(feature = "parallel")]
    {
        rayon::join(a, b)
    }
    #[cfg(not(feature = "parallel"))]
    {
        (a(), b())
    }
}

/// Calls `f(start, part)` for consecutive parts of `data` that together cover it (`start` is
/// the index of a part's first element): one part per thread of the rayon pool (feature
/// `parallel`) when `data` holds at least `min_len` elements, otherwise `f(0, data)`. Work done
/// element by element gives bitwise the same results either way.
pub(crate) fn for_each_part_mut(
    data: &mut [f64],
    min_len: usize,
    f: impl Fn(usize, &mut [f64]) + Sync + Send,
) {
    #[cfg(feature = "parallel")]
    let threads = rayon::current_num_threads();
    #[cfg(not(feature = "parallel"))]
    let threads = 1;
    if threads > 1 && data.len() >= min_len.max(2) {
        let part = data.len().div_ceil(threads).next_multiple_of(8);
        each_chunk(data, part, true, |k, c| f(k * part, c));
    } else {
        f(0, data)
    }
}

/// Calls `f(j, chunk_j)` for the consecutive chunks of `len` elements of `data`, on the rayon
/// pool (feature `parallel`) when `data` is large; the same calls either way.
pub(crate) fn for_each_chunk_mut(
    data: &mut [f64],
    len: usize,
    f: impl Fn(usize, &mut [f64]) + Sync + Send,
) {
    if len == 0 {
        return;
    }
    let parallel = data.len() > 1 << 18;
    each_chunk(data, len, parallel, f);
}

/// `f(j, chunk_j)` for the consecutive chunks of `len > 0` elements of `data`, on the rayon
/// pool when `parallel` (and the feature `parallel` is on).
fn each_chunk(
    data: &mut [f64],
    len: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [f64]) + Sync + Send,
) {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if parallel {
            data.par_chunks_mut(len)
                .enumerate()
                .for_each(|(j, c)| f(j, c));
            return;
        }
    }
    let _ = parallel;
    data.chunks_mut(len).enumerate().for_each(|(j, c)| f(j, c));
}

/// Rows of `out` that [`add_scaled_columns`] keeps in the L1 cache while it adds the terms
/// (16 KiB).
const ADD_TILE: usize = 2048;

/// `out += sum_c a_c v_c` over `count` terms, `(a_c, v_c) = term(c)` with `v_c` as long as
/// `out`; terms with `a_c = 0` are skipped. The rows go in tiles of [`ADD_TILE`], each taking
/// the terms four at a time, so that a tile of `out` is read and written once per four terms
/// while the columns stream through; every entry adds the terms one by one in order
/// `c = 0, 1, ..` (`o += a_c v_c[i]`, as a plain loop over the terms would). Large sums
/// (feature `parallel`) over at least two tiles of rows split `out` into one row block per
/// thread, so the result is bitwise the same whatever the number of threads; shorter vectors
/// (a Gram matrix's columns of 1000 entries, say) stay on the calling thread, where waking a
/// second thread for each sum was measured to cost more than it saved.
pub(crate) fn add_scaled_columns<'v>(
    out: &mut [f64],
    count: usize,
    term: impl Fn(usize) -> (f64, &'v [f64]) + Sync,
) {
    let terms: Vec<(f64, &'v [f64])> = (0..count).map(&term).filter(|t| t.0 != 0.0).collect();
    let add_rows = |start: usize, block: &mut [f64]| {
        for (k, tile) in block.chunks_mut(ADD_TILE).enumerate() {
            let rows = start + k * ADD_TILE..start + k * ADD_TILE + tile.len();
            let mut fours = terms.chunks_exact(4);
            for q in &mut fours {
                let (a0, a1, a2, a3) = (q[0].0, q[1].0, q[2].0, q[3].0);
                let v0 = &q[0].1[rows.clone()];
                let v1 = &q[1].1[rows.clone()];
                let v2 = &q[2].1[rows.clone()];
                let v3 = &q[3].1[rows.clone()];
                for (i, o) in tile.iter_mut().enumerate() {
                    let mut e = *o;
                    e += a0 * v0[i];
                    e += a1 * v1[i];
                    e += a2 * v2[i];
                    e += a3 * v3[i];
                    *o = e;
                }
            }
            for &(a, v) in fours.remainder() {
                axpy(a, &v[rows.clone()], tile);
            }
        }
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        if threads > 1 && out.len() >= 2 * ADD_TILE && out.len() * count > 1 << 18 {
            let rows = out.len().div_ceil(threads).next_multiple_of(8);
            out.par_chunks_mut(rows)
                .enumerate()
                .for_each(|(k, block)| add_rows(k * rows, block));
            return;
        }
    }
    add_rows(0, out);
}

/// Whether every element of `a` is finite ([`all_within`] the largest finite magnitude).
pub fn all_finite(a: &[f64]) -> bool {
    all_within(a, f64::MAX)
}

/// Whether every element of `a` is a number with `|a_i| <= limit` (NaN fails the test), over
/// eight independent lanes.
pub fn all_within(a: &[f64], limit: f64) -> bool {
    // the largest magnitude per lane, and `0 v` summed per lane (NaN once any `v` is not
    // finite: the maximum alone would pass over a NaN)
    let mut big = [0.0f64; 8];
    let mut nan = [0.0f64; 8];
    let chunks = a.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let m = c[k].abs();
            big[k] = if m > big[k] { m } else { big[k] };
            nan[k] += c[k] * 0.0;
        }
    }
    big.iter().all(|v| *v <= limit)
        && nan.iter().all(|v| *v == 0.0)
        && rest.iter().all(|v| v.abs() <= limit)
}

/// `sum_i a_i * b_i`.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// `[dot(c_0, b), .., dot(c_3, b)]` in one sweep over `b`: each column keeps the eight
/// lanes, the lane order and the final reduction of [`dot`], so every value is bitwise that
/// of [`dot`], while `b` is read once for the four columns.
#[inline]
pub(crate) fn dots4(c: [&[f64]; 4], b: &[f64]) -> [f64; 4] {
    let n = b.len();
    debug_assert!(c.iter().all(|x| x.len() == n));
    let n8 = n / 8 * 8;
    let (c0, c1, c2, c3) = (&c[0][..n8], &c[1][..n8], &c[2][..n8], &c[3][..n8]);
    let mut acc = [[0.0f64; 8]; 4];
    for (i, y) in b[..n8].chunks_exact(8).enumerate() {
        let r = 8 * i..8 * i + 8;
        let (x0, x1, x2, x3) = (&c0[r.clone()], &c1[r.clone()], &c2[r.clone()], &c3[r]);
        for k in 0..8 {
            acc[0][k] += x0[k] * y[k];
            acc[1][k] += x1[k] * y[k];
            acc[2][k] += x2[k] * y[k];
            acc[3][k] += x3[k] * y[k];
        }
    }
    let mut out = [0.0; 4];
    for (j, o) in out.iter_mut().enumerate() {
        let mut tail = 0.0;
        for (x, y) in c[j][n8..].iter().zip(&b[n8..]) {
            tail += x * y;
        }
        let a = &acc[j];
        *o = (a[0] + a[4]) + (a[1] + a[5]) + (a[2] + a[6]) + (a[3] + a[7]) + tail;
    }
    out
}

/// Shortest `v` for which [`dot_columns`] takes four columns per sweep: 4096 values (32 KiB,
/// an L1 data cache). A shorter `v` stays in L1 between the columns' sweeps anyway, and there
/// the single products were measured faster (100 x 10000 designs).
const DOTS4_MIN_LEN: usize = 4096;

/// `out[k] = dot(col(k), v)` for every `k < out.len()`, bitwise [`dot`] column by column.
/// With a `v` of at least [`DOTS4_MIN_LEN`] values, four columns per sweep over `v`
/// ([`dots4`]), so that `v` is read from the caches a quarter as often. On the rayon pool
/// (feature `parallel`) when `n out.len()` exceeds `2^18`, in groups of four columns.
pub(crate) fn dot_columns<'v>(col: impl Fn(usize) -> &'v [f64] + Sync, v: &[f64], out: &mut [f64]) {
    let four = v.len() >= DOTS4_MIN_LEN;
    // the group of four outputs starting at output `first`
    let group = |first: usize, o: &mut [f64]| {
        if four && o.len() == 4 {
            let c = |t: usize| col(first + t);
            o.copy_from_slice(&dots4([c(0), c(1), c(2), c(3)], v));
        } else {
            for (t, o) in o.iter_mut().enumerate() {
                *o = dot(col(first + t), v);
            }
        }
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if v.len() * out.len() > 1 << 18 {
            out.par_chunks_mut(4)
                .enumerate()
                .for_each(|(g, o)| group(4 * g, o));
            return;
        }
    }
    for (g, o) in out.chunks_mut(4).enumerate() {
        group(4 * g, o);
    }
}

/// `sum_i a_i * w_i * b_i`.
#[inline]
pub fn dot3(a: &[f64], w: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    debug_assert_eq!(a.len(), w.len());
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cw = w.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rw, rb) = (ca.remainder(), cw.remainder(), cb.remainder());
    for ((x, v), y) in ca.zip(cw).zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * v[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for ((x, v), y) in ra.iter().zip(rw).zip(rb) {
        tail += x * v * y;
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// `(sum_i x_i r_i, sum_i w_i x_i^2)` in one read of `x` (same lanes as [`dot`] and
/// [`dot3`], so the results are bitwise those of the two separate calls).
#[inline]
pub fn dot_and_sq_norm_weighted(x: &[f64], r: &[f64], w: &[f64]) -> (f64, f64) {
    debug_assert_eq!(x.len(), r.len());
    debug_assert_eq!(x.len(), w.len());
    let mut a1 = [0.0f64; 8];
    let mut a2 = [0.0f64; 8];
    let cx = x.chunks_exact(8);
    let cr = r.chunks_exact(8);
    let cw = w.chunks_exact(8);
    let (rx, rr, rw) = (cx.remainder(), cr.remainder(), cw.remainder());
    for ((xc, rc), wc) in cx.zip(cr).zip(cw) {
        for k in 0..8 {
            a1[k] += xc[k] * rc[k];
            a2[k] += xc[k] * wc[k] * xc[k];
        }
    }
    let (mut t1, mut t2) = (0.0, 0.0);
    for ((xi, ri), wi) in rx.iter().zip(rr).zip(rw) {
        t1 += xi * ri;
        t2 += xi * wi * xi;
    }
    let fold =
        |a: [f64; 8], t: f64| (a[0] + a[4]) + (a[1] + a[5]) + (a[2] + a[6]) + (a[3] + a[7]) + t;
    (fold(a1, t1), fold(a2, t2))
}

/// `sum_i a_i`.
#[inline]
pub fn sum(a: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let ra = ca.remainder();
    for x in ca {
        for k in 0..8 {
            acc[k] += x[k];
        }
    }
    let tail: f64 = ra.iter().sum();
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// `y += a * x`.
#[inline]
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `y += a * w .* x` (element-wise product with weights).
#[inline]
pub fn axpy3(a: f64, x: &[f64], w: &[f64], y: &mut [f64]) {
    debug_assert_eq!(x.len(), y.len());
    for ((yi, xi), wi) in y.iter_mut().zip(x).zip(w) {
        *yi += a * xi * wi;
    }
}

/// Soft-thresholding `S(z, t) = sign(z) * max(|z| - t, 0)`, the proximal operator of `t*|.|`.
#[inline]
pub fn soft_threshold<T: num_traits::Float>(z: T, t: T) -> T {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        T::zero()
    }
}

#[cfg(test)]
mod add_tests {
    use super::{add_scaled_columns, ADD_TILE, DOTS4_MIN_LEN};

    /// The tiled sum is bitwise the plain loop over the terms, for lengths around the tile
    /// and term counts around the groups of four, with zero coefficients skipped.
    #[test]
    fn add_scaled_columns_is_bitwise_the_plain_loop() {
        for n in [1, 7, ADD_TILE - 1, ADD_TILE + 9, 3 * ADD_TILE + 5, 70_001] {
            for count in [0, 1, 3, 4, 5, 9, 13] {
                let cols: Vec<Vec<f64>> = (0..count)
                    .map(|c| {
                        (0..n)
                            .map(|i| ((i * 37 + c * 11) % 101) as f64 / 7.0 - 6.9)
                            .collect()
                    })
                    .collect();
                let coef: Vec<f64> = (0..count)
                    .map(|c| {
                        if c % 3 == 1 {
                            0.0
                        } else {
                            0.3 * c as f64 - 1.1
                        }
                    })
                    .collect();
                let start: Vec<f64> = (0..n).map(|i| (i % 13) as f64 * 0.01).collect();
                let mut plain = start.clone();
                for (a, v) in coef.iter().zip(&cols) {
                    if *a != 0.0 {
                        for (o, x) in plain.iter_mut().zip(v) {
                            *o += a * x;
                        }
                    }
                }
                let mut tiled = start;
                add_scaled_columns(&mut tiled, count, |c| (coef[c], &cols[c]));
                assert!(
                    plain
                        .iter()
                        .zip(&tiled)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "n {n}, count {count}"
                );
            }
        }
    }

    /// Four dot products per sweep are bitwise the single ones, for lengths around the
    /// eight lanes and column lists around the groups of four, serial and parallel.
    #[test]
    fn dot_columns_is_bitwise_dot() {
        for n in [0, 1, 7, 8, 9, 63, 1001, DOTS4_MIN_LEN + 9, 70_001] {
            let cols: Vec<Vec<f64>> = (0..11)
                .map(|c| {
                    (0..n)
                        .map(|i| ((i * 29 + c * 13) % 89) as f64 / 3.0 - 14.1)
                        .collect()
                })
                .collect();
            let v: Vec<f64> = (0..n).map(|i| ((i * 7) % 17) as f64 * 0.37 - 2.0).collect();
            for picked in [
                vec![],
                vec![3],
                vec![0, 1, 2, 3],
                vec![10, 2, 7, 5, 1, 0, 9],
            ] {
                let mut out = vec![f64::NAN; picked.len()];
                super::dot_columns(|k| &cols[picked[k]], &v, &mut out);
                for (&j, o) in picked.iter().zip(&out) {
                    assert_eq!(o.to_bits(), super::dot(&cols[j], &v).to_bits(), "n {n}");
                }
            }
        }
    }
}

#[cfg(test)]
mod finite_tests {
    use super::{all_finite, all_within};

    #[test]
    fn all_finite_finds_every_kind_of_non_finite_value_anywhere() {
        let base: Vec<f64> = (0..21).map(|i| i as f64 * 1e300 - 3.0).collect();
        assert!(all_finite(&base));
        assert!(all_finite(&[]));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for at in [0, 7, 8, 15, 16, 20] {
                let mut v = base.clone();
                v[at] = bad;
                assert!(!all_finite(&v), "{bad} at {at}");
            }
        }
        assert!(all_finite(&[f64::MAX, -f64::MAX, f64::MIN_POSITIVE]));
    }

    #[test]
    fn all_within_finds_every_value_out_of_range_anywhere() {
        let base: Vec<f64> = (0..21).map(|i| (i as f64 - 10.0) * 1e149).collect();
        assert!(all_within(&base, 1e150));
        assert!(all_within(&[], 1e150));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5e150, -2e150] {
            for at in [0, 7, 8, 15, 16, 20] {
                let mut v = base.clone();
                v[at] = bad;
                assert!(!all_within(&v, 1e150), "{bad} at {at}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive_sums() {
        let a: Vec<f64> = (0..37).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..37).map(|i| (i as f64 * 0.11).cos()).collect();
        let w: Vec<f64> = (0..37).map(|i| 1.0 + i as f64 / 10.0).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-12);
        let naive3: f64 = a.iter().zip(&b).zip(&w).map(|((x, y), v)| x * y * v).sum();
        assert!((dot3(&a, &w, &b) - naive3).abs() < 1e-12);
        assert!((sum(&a) - a.iter().sum::<f64>()).abs() < 1e-12);
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        assert!((y[5] - (b[5] + 2.0 * a[5])).abs() < 1e-15);
        assert_eq!(soft_threshold(3.0, 1.0), 2.0);
        assert_eq!(soft_threshold(-3.0, 1.0), -2.0);
        assert_eq!(soft_threshold(0.5, 1.0), 0.0);
    }

    #[test]
    fn fused_kernels_equal_the_separate_ones_bitwise() {
        let x: Vec<f64> = (0..43).map(|i| (i as f64 * 0.37).sin()).collect();
        let r: Vec<f64> = (0..43).map(|i| (i as f64 * 0.11).cos()).collect();
        let w: Vec<f64> = (0..43).map(|i| 1.0 + i as f64 / 7.0).collect();
        let (d, q) = dot_and_sq_norm_weighted(&x, &r, &w);
        assert_eq!(d.to_bits(), dot(&x, &r).to_bits());
        assert_eq!(q.to_bits(), dot3(&x, &w, &x).to_bits());
    }
}
