//! The geometry of L1 and L2 penalties in two dimensions.
//!
//! The least-squares loss of two correlated features is the quadratic
//! `f(b) = 1/2 (b - b_ls)' H (b - b_ls)` (`H = X'X/n`, `b_ls` the unpenalized solution), whose
//! level sets are ellipses around `b_ls`. Penalized and constrained problems are two views of
//! one solution:
//!
//! ```text
//! minimize f(b) + lambda * P(b)      <=>      minimize f(b)  subject to  P(b) <= P_R
//! P(b) = alpha |b|_1 + (1 - alpha)/2 |b|_2^2,   P_R = alpha R + (1 - alpha)/2 R^2
//! ```
//!
//! so that every constraint set passes through `(+-R, 0)` and `(0, +-R)`: the L1 diamond
//! (`alpha = 1`), the L2 circle (`alpha = 0`) and the elastic-net ball in between.
//! [`solve_penalized`] solves the penalized problem exactly (the 2x2 KKT system on each
//! support and sign pattern); [`solve_constrained`] finds the `lambda` whose solution lies on
//! the boundary by bisection, so the marked points are exact, not radially scaled.

use super::DemoOutput;
use crate::plot::{Chart, Figure, Marker, Series, VLine, PALETTE};
use crate::{Error, Result};

/// A two-feature least-squares problem.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quadratic {
    /// Unpenalized solution `b_ls`.
    pub center: [f64; 2],
    /// Curvature `H` (symmetric positive definite), row-major `[h11, h12, h22]`.
    pub h: [f64; 3],
}

impl Default for Quadratic {
    /// Two features with correlation 0.6 and `b_ls = (2, 0.7)`.
    fn default() -> Self {
        Quadratic {
            center: [2.0, 0.7],
            h: [1.0, 0.6, 1.0],
        }
    }
}

impl Quadratic {
    /// Checks that `H` is positive definite and finite, and `b_ls` within `[-1e6, 1e6]^2`.
    pub fn check(&self) -> Result<()> {
        let [a, b, c] = self.h;
        if !self.center.iter().all(|v| v.abs() <= 1e6) {
            return Err(Error::param(
                "center",
                format!("{:?}", self.center),
                "coordinates must be finite and at most 1e6 in size",
            ));
        }
        let finite = self.h.iter().all(|v| v.is_finite());
        if !finite || !(a > 0.0) || !(a * c - b * b > 0.0) {
            return Err(Error::param(
                "curvature",
                format!("{:?}", self.h),
                "H must be finite and positive definite",
            ));
        }
        Ok(())
    }

    /// `f(b) = 1/2 (b - b_ls)' H (b - b_ls)`.
    pub fn loss(&self, b: [f64; 2]) -> f64 {
        let (d0, d1) = (b[0] - self.center[0], b[1] - self.center[1]);
        let [a, h, c] = self.h;
        0.5 * (a * d0 * d0 + 2.0 * h * d0 * d1 + c * d1 * d1)
    }

    /// The ellipse `f(b) = level` as a closed polyline of `m` points.
    pub fn contour(&self, level: f64, m: usize) -> Vec<(f64, f64)> {
        // H = V diag(e) V': points b_ls + sqrt(2 level) V diag(1/sqrt(e)) (cos t, sin t)
        let [a, h, c] = self.h;
        let tr = a + c;
        let disc = ((a - c) * (a - c) / 4.0 + h * h).sqrt();
        let (e1, e2) = (tr / 2.0 + disc, tr / 2.0 - disc);
        let theta = 0.5 * (2.0 * h).atan2(a - c);
        let (ct, st) = (theta.cos(), theta.sin());
        let r = (2.0 * level.max(0.0)).sqrt();
        (0..=m)
            .map(|k| {
                let t = 2.0 * std::f64::consts::PI * k as f64 / m as f64;
                let (u, v) = (r * t.cos() / e1.sqrt(), r * t.sin() / e2.sqrt());
                (
                    self.center[0] + ct * u - st * v,
                    self.center[1] + st * u + ct * v,
                )
            })
            .collect()
    }
}

/// `P(b) = alpha |b|_1 + (1 - alpha)/2 |b|_2^2`.
pub fn penalty(b: [f64; 2], alpha: f64) -> f64 {
    alpha * (b[0].abs() + b[1].abs()) + 0.5 * (1.0 - alpha) * (b[0] * b[0] + b[1] * b[1])
}

/// `P_R`: the penalty value on the boundary through `(R, 0)`.
pub fn penalty_of_radius(r: f64, alpha: f64) -> f64 {
    alpha * r + 0.5 * (1.0 - alpha) * r * r
}

/// The radius `R` whose boundary passes through `b` (inverse of [`penalty_of_radius`]).
pub fn radius_of(b: [f64; 2], alpha: f64) -> f64 {
    let pr = penalty(b, alpha);
    if alpha >= 1.0 {
        pr
    } else {
        // (1-alpha)/2 R^2 + alpha R - pr = 0
        (-alpha + (alpha * alpha + 2.0 * (1.0 - alpha) * pr).sqrt()) / (1.0 - alpha)
    }
}

/// Exact minimizer of `f(b) + lambda P(b)`: with `A = H + lambda (1 - alpha) I`,
/// `c = H b_ls` and `mu = lambda alpha`, the KKT conditions `A b - c + mu s = 0`
/// (`s_j = sign(b_j)`, `|s_j| <= 1` where `b_j = 0`) are checked on every support and sign
/// pattern; `A` is positive definite, so exactly one pattern is consistent.
pub fn solve_penalized(q: &Quadratic, lambda: f64, alpha: f64) -> [f64; 2] {
    let [a, h, c] = q.h;
    let ridge = lambda * (1.0 - alpha);
    let (a11, a12, a22) = (a + ridge, h, c + ridge);
    let c1 = a * q.center[0] + h * q.center[1];
    let c2 = h * q.center[0] + c * q.center[1];
    let mu = lambda * alpha;
    let tol = 1e-12 * (1.0 + c1.abs() + c2.abs());
    // both zero
    if c1.abs() <= mu + tol && c2.abs() <= mu + tol {
        return [0.0, 0.0];
    }
    // both nonzero, each sign pattern
    let det = a11 * a22 - a12 * a12;
    for s1 in [1.0, -1.0] {
        for s2 in [1.0, -1.0] {
            let (r1, r2) = (c1 - mu * s1, c2 - mu * s2);
            let b1 = (a22 * r1 - a12 * r2) / det;
            let b2 = (a11 * r2 - a12 * r1) / det;
            if b1 * s1 > 0.0 && b2 * s2 > 0.0 {
                return [b1, b2];
            }
        }
    }
    // one nonzero
    let b1 = crate::kernels::soft_threshold(c1, mu) / a11;
    if b1 != 0.0 && (c2 - a12 * b1).abs() <= mu + tol {
        return [b1, 0.0];
    }
    let b2 = crate::kernels::soft_threshold(c2, mu) / a22;
    [0.0, b2]
}

/// Solution of `minimize f(b) subject to P(b) <= P_R` and its `lambda` (0 when the
/// unpenalized solution already satisfies the constraint), by bisection on `log(lambda)`
/// to relative precision `1e-13`.
pub fn solve_constrained(q: &Quadratic, r: f64, alpha: f64) -> ([f64; 2], f64) {
    let target = penalty_of_radius(r, alpha);
    if penalty(q.center, alpha) <= target {
        return (q.center, 0.0);
    }
    let (mut lo, mut hi) = (1e-12f64, 1.0f64);
    while penalty(solve_penalized(q, hi, alpha), alpha) > target && hi < 1e12 {
        hi *= 4.0;
    }
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if penalty(solve_penalized(q, mid, alpha), alpha) > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi / lo < 1.0 + 1e-13 {
            break;
        }
    }
    (solve_penalized(q, hi, alpha), hi)
}

/// Boundary of `{b : P(b) <= P_R}` as a closed polyline of `m` points: along direction `u`
/// the radius `t` solves `(1 - alpha)/2 t^2 + alpha |u|_1 t = P_R`.
pub fn ball(r: f64, alpha: f64, m: usize) -> Vec<(f64, f64)> {
    let pr = penalty_of_radius(r, alpha);
    (0..=m)
        .map(|k| {
            let t = 2.0 * std::f64::consts::PI * k as f64 / m as f64;
            let (u, v) = (t.cos(), t.sin());
            let l1 = u.abs() + v.abs();
            let rad = if alpha >= 1.0 {
                pr / l1
            } else {
                (-alpha * l1 + (alpha * alpha * l1 * l1 + 2.0 * (1.0 - alpha) * pr).sqrt())
                    / (1.0 - alpha)
            };
            (rad * u, rad * v)
        })
        .collect()
}

/// Settings of [`run`].
#[derive(Clone, Debug)]
pub struct GeometryParams {
    /// The least-squares problem.
    pub problem: Quadratic,
    /// Constraint radius `R`.
    pub radius: f64,
    /// Elastic-net mixing of the middle panel (between 0 and 1, exclusive).
    pub alpha: f64,
}

impl Default for GeometryParams {
    fn default() -> Self {
        GeometryParams {
            problem: Quadratic::default(),
            radius: 1.0,
            alpha: 0.5,
        }
    }
}

fn fmt_b(b: [f64; 2]) -> String {
    let f = |v: f64| {
        if v == 0.0 {
            "0 (exactly)".to_string()
        } else {
            format!("{v:.4}")
        }
    };
    format!("({}, {})", f(b[0]), f(b[1]))
}

/// Runs the demo: figure `geometry-constraints` (three panels: L1, elastic net, L2) and
/// `geometry-path` (the radius `R` against `lambda`, and the coefficients along the path).
pub fn run(p: &GeometryParams) -> Result<DemoOutput> {
    p.problem.check()?;
    if !(p.radius > 0.0 && p.radius.is_finite()) {
        return Err(Error::param("radius", p.radius, "must be positive"));
    }
    if !(p.alpha > 0.0 && p.alpha < 1.0) {
        return Err(Error::param(
            "alpha",
            p.alpha,
            "must be strictly between 0 and 1",
        ));
    }
    let q = &p.problem;
    let kinds = [
        ("L1 (lasso): diamond", 1.0, PALETTE[4]),
        ("elastic net", p.alpha, PALETTE[6]),
        ("L2 (ridge): circle", 0.0, PALETTE[0]),
    ];
    let span = 1.3 * (q.center[0].abs().max(q.center[1].abs()) + p.radius).max(2.0 * p.radius);
    let mut panels = Vec::new();
    let mut summary = vec![format!(
        "loss f(b) = 1/2 (b - b_ls)' H (b - b_ls) with b_ls = ({}, {}), H = [[{}, {}], [{}, {}]]; radius R = {}",
        q.center[0], q.center[1], q.h[0], q.h[1], q.h[1], q.h[2], p.radius
    )];
    for (name, alpha, color) in kinds {
        let (b, lambda) = solve_constrained(q, p.radius, alpha);
        let level = q.loss(b);
        let mut series = Vec::new();
        for (k, m) in [0.35, 0.7, 1.0, 1.5, 2.2].iter().enumerate() {
            let mut c = Series::line(
                if k == 2 {
                    "loss contour through the solution"
                } else {
                    ""
                },
                q.contour(level * m * m, 160),
                if k == 2 { "#333" } else { "#aaa" },
            );
            c.width = if k == 2 { 1.5 } else { 1.0 };
            c.in_legend = k == 2;
            series.push(c);
        }
        let mut shape = Series::line(
            format!("P(b) <= P_R, alpha = {alpha}"),
            ball(p.radius, alpha, 400),
            color,
        );
        shape.width = 2.0;
        series.push(shape);
        let mut ls = Series::points("unpenalized b_ls", vec![(q.center[0], q.center[1])], "#222");
        ls.marker = Some(Marker::Circle);
        series.push(ls);
        let mut sol = Series::points("constrained solution", vec![(b[0], b[1])], "#d62728");
        sol.marker = Some(Marker::Dot);
        series.push(sol);
        let zeros = b.iter().filter(|v| **v == 0.0).count();
        panels.push(Chart {
            title: name.into(),
            x_label: "b1".into(),
            y_label: "b2".into(),
            x_range: Some((-span, span)),
            y_range: Some((-span, span)),
            equal_aspect: true,
            zero_line: true,
            vlines: vec![VLine {
                x: 0.0,
                label: String::new(),
                color: "#888".into(),
                dash: "2 2".into(),
            }],
            series,
            notes: vec![format!(
                "b = {}, lambda = {:.4}{}",
                fmt_b(b),
                lambda,
                if zeros > 0 { ": a corner, sparse" } else { "" }
            )],
            ..Chart::default()
        });
        summary.push(format!(
            "{name:<22} solution b = {}  lambda = {lambda:.6}  f(b) = {level:.6}",
            fmt_b(b)
        ));
    }
    summary.push(
        "The L1 diamond has corners on the axes: the loss contour first touches it at a corner, \
         so one coefficient is exactly zero. The L2 circle has no corners: both coefficients \
         shrink but stay nonzero."
            .into(),
    );
    let constraints = Figure::grid(
        format!(
            "Loss contours meet the constraint sets of radius R = {}",
            p.radius
        ),
        panels,
        3,
    );

    // R against lambda along each path, and the coefficients of the L1 path
    let lambdas: Vec<f64> = (0..=160)
        .map(|k| 10f64.powf(-3.0 + 4.0 * k as f64 / 160.0))
        .collect();
    let mut rseries = Vec::new();
    for (name, alpha, color) in kinds {
        rseries.push(Series::line(
            name,
            lambdas
                .iter()
                .map(|&l| (l.ln(), radius_of(solve_penalized(q, l, alpha), alpha)))
                .collect(),
            color,
        ));
    }
    let (_, lambda_l1) = solve_constrained(q, p.radius, 1.0);
    let r_chart = Chart {
        title: "Each radius R is one lambda".into(),
        x_label: "log(lambda)".into(),
        y_label: "radius R of the constraint through the solution".into(),
        series: rseries,
        vlines: vec![VLine {
            x: lambda_l1.ln(),
            label: format!("L1: R = {} at lambda = {:.3}", p.radius, lambda_l1),
            color: PALETTE[4].into(),
            dash: "3 3".into(),
        }],
        ..Chart::default()
    };
    let mut cseries = Vec::new();
    for (j, dash) in [(0usize, None), (1usize, Some("6 3".to_string()))] {
        for (name, alpha, color) in [kinds[0], kinds[2]] {
            let mut s = Series::line(
                format!("b{} {}", j + 1, name.split(':').next().unwrap_or(name)),
                lambdas
                    .iter()
                    .map(|&l| (l.ln(), solve_penalized(q, l, alpha)[j]))
                    .collect(),
                color,
            );
            s.dash = dash.clone();
            cseries.push(s);
        }
    }
    let c_chart = Chart {
        title: "Coefficients along the path".into(),
        x_label: "log(lambda)".into(),
        y_label: "coefficient".into(),
        series: cseries,
        zero_line: true,
        ..Chart::default()
    };
    let path = Figure::grid(
        "From constraint radius to penalty weight",
        vec![r_chart, c_chart],
        2,
    );
    Ok(DemoOutput {
        figures: vec![
            ("geometry-constraints".into(), constraints),
            ("geometry-path".into(), path),
        ],
        summary,
    })
}
