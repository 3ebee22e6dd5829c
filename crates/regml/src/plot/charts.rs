//! The standard pictures: coefficient paths and cross-validation curves (as glmnet's
//! `plot.glmnet` / `plot.cv.glmnet`), training histories, and weight histograms of networks.

use super::chart::{Bar, Chart, Figure, Marker, Series, VLine, PALETTE};
use crate::cv::CvResult;
use crate::linear::LinearPath;
use crate::nn::{History, ParamKind, Real, Sequential};

/// What the x axis of a coefficient-path plot shows (glmnet's `xvar`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathAxis {
    /// `log(lambda)` (natural logarithm), as glmnet's `xvar = "lambda"`.
    #[default]
    LogLambda,
    /// L1 norm of the coefficients, glmnet's default `xvar = "norm"`.
    Norm,
    /// Fraction of deviance explained, `xvar = "dev"`.
    Dev,
}

impl PathAxis {
    /// Parses `lambda`, `norm` or `dev`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lambda" => Some(PathAxis::LogLambda),
            "norm" => Some(PathAxis::Norm),
            "dev" => Some(PathAxis::Dev),
            _ => None,
        }
    }
}

/// Most curves labelled by name at their right end; the others are drawn unlabelled.
pub const MAX_LABELS: usize = 20;

/// Top-axis labels: the number of nonzero coefficients of the path point nearest to each
/// bottom-axis tick.
fn df_ticks(xs: &[f64], df: &[usize], range: (f64, f64)) -> Vec<(f64, String)> {
    super::chart::nice_ticks(range.0, range.1, 6)
        .into_iter()
        .filter_map(|t| {
            let k = (0..xs.len())
                .filter(|&k| xs[k].is_finite())
                .min_by(|&a, &b| (xs[a] - t).abs().total_cmp(&(xs[b] - t).abs()))?;
            Some((t, df[k].to_string()))
        })
        .collect()
}

/// Coefficient paths: one curve per feature that is ever nonzero, against `axis`, with the
/// nonzero count on the top axis and curves labelled by `names` at their right end (the
/// [`MAX_LABELS`] largest in absolute value at the end of the path).
pub fn coef_path(path: &LinearPath, names: &[String], axis: PathAxis) -> Chart {
    let (nl, p) = path.coefs.dim();
    if nl == 0 {
        return Chart {
            title: "Coefficient paths (empty path)".into(),
            ..Chart::default()
        };
    }
    let xs: Vec<f64> = (0..nl)
        .map(|k| match axis {
            PathAxis::LogLambda => path.lambdas[k].ln(),
            PathAxis::Norm => path.coefs.row(k).iter().map(|v| v.abs()).sum(),
            PathAxis::Dev => path.dev_ratio[k],
        })
        .collect();
    let ever: Vec<usize> = (0..p)
        .filter(|&j| path.coefs.column(j).iter().any(|v| *v != 0.0))
        .collect();
    // the least penalized end of the path is drawn on the right (log(lambda) runs
    // reversed); the largest coefficients there get labels
    let right = nl - 1;
    let mut by_size = ever.clone();
    by_size.sort_by(|&a, &b| {
        path.coefs[[right, b]]
            .abs()
            .total_cmp(&path.coefs[[right, a]].abs())
    });
    by_size.truncate(MAX_LABELS);
    let mut chart = Chart {
        title: format!(
            "Coefficient paths ({}, alpha = {})",
            match path.family {
                crate::linear::Family::Gaussian => "gaussian",
                crate::linear::Family::Binomial => "binomial",
            },
            path.alpha
        ),
        x_reversed: axis == PathAxis::LogLambda,
        x_label: match axis {
            PathAxis::LogLambda => "log(Lambda)   (the penalty decreases to the right)",
            PathAxis::Norm => "L1 Norm",
            PathAxis::Dev => "Fraction Deviance Explained",
        }
        .into(),
        y_label: "Coefficients".into(),
        zero_line: true,
        ..Chart::default()
    };
    for (c, &j) in ever.iter().enumerate() {
        let name = names
            .get(j)
            .cloned()
            .unwrap_or_else(|| format!("x{}", j + 1));
        let mut s = Series::line(
            name,
            (0..nl).map(|k| (xs[k], path.coefs[[k, j]])).collect(),
            PALETTE[c % PALETTE.len()],
        );
        s.end_label = by_size.contains(&j);
        s.in_legend = false;
        chart.series.push(s);
    }
    let range = chart.x_bounds();
    chart.top_ticks = df_ticks(&xs, &path.df, range);
    if ever.len() > by_size.len() {
        chart.notes.push(format!(
            "{} of {} curves labelled (largest at the right end)",
            by_size.len(),
            ever.len()
        ));
    }
    chart
}

/// Cross-validation curve: mean CV error against `log(lambda)` (red dots) with +-1 SE bars,
/// nonzero counts on top, dotted lines at `lambda_min` and `lambda_1se`.
pub fn cv_curve(cv: &CvResult) -> Chart {
    let xs: Vec<f64> = cv.path.lambdas.iter().map(|l| l.ln()).collect();
    let mut s = Series::points(
        "mean CV error",
        xs.iter().copied().zip(cv.cvm.iter().copied()).collect(),
        "#d62728",
    );
    s.marker = Some(Marker::Dot);
    s.in_legend = false;
    s.error_bars = Some(
        cv.cvm
            .iter()
            .zip(&cv.cvsd)
            .map(|(m, e)| (m - e, m + e))
            .collect(),
    );
    let mut chart = Chart {
        title: format!("{}-fold cross-validation", cv.nfolds),
        x_label: "log(Lambda)   (the penalty decreases to the right)".into(),
        x_reversed: true,
        y_label: cv.measure.description().into(),
        series: vec![s],
        vlines: vec![
            VLine {
                x: cv.lambda_min.ln(),
                label: "min".into(),
                color: "#555".into(),
                dash: "2 3".into(),
            },
            VLine {
                x: cv.lambda_1se.ln(),
                label: "1se".into(),
                color: "#555".into(),
                dash: "2 3".into(),
            },
        ],
        ..Chart::default()
    };
    let range = chart.x_bounds();
    chart.top_ticks = df_ticks(&xs, &cv.path.df, range);
    chart.notes.push(format!(
        "lambda.min = {} ({} nonzero), lambda.1se = {} ({} nonzero)",
        super::chart::fmt_num(cv.lambda_min),
        cv.path.df[cv.index_min],
        super::chart::fmt_num(cv.lambda_1se),
        cv.path.df[cv.index_1se]
    ));
    chart
}

/// Training history: loss (and accuracy when recorded) per epoch, training solid and
/// validation dashed, with the restored best epoch marked.
pub fn history(h: &History) -> Figure {
    let ep: Vec<f64> = h.epochs.iter().map(|e| e.epoch as f64).collect();
    let pair = |title: &str, y: &str, train: Vec<Option<f64>>, val: Vec<Option<f64>>| -> Chart {
        let mut c = Chart {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: y.into(),
            ..Chart::default()
        };
        let pts = |v: &[Option<f64>]| -> Vec<(f64, f64)> {
            ep.iter()
                .zip(v)
                .map(|(x, y)| (*x, y.unwrap_or(f64::NAN)))
                .collect()
        };
        let mut t = Series::line("training", pts(&train), PALETTE[0]);
        t.marker = Some(Marker::Dot);
        c.series.push(t);
        if val.iter().any(|v| v.is_some()) {
            let mut v = Series::line("validation", pts(&val), PALETTE[1]);
            v.dash = Some("6 3".into());
            v.marker = Some(Marker::Circle);
            c.series.push(v);
        }
        if let Some(b) = h.best_epoch {
            c.vlines.push(VLine {
                x: b as f64,
                label: format!("best epoch {b}"),
                color: "#2ca02c".into(),
                dash: "3 3".into(),
            });
        }
        c
    };
    let mut charts = vec![pair(
        "Loss",
        "loss (penalty included)",
        h.epochs.iter().map(|e| Some(e.loss)).collect(),
        h.epochs.iter().map(|e| e.val_loss).collect(),
    )];
    if h.epochs.iter().any(|e| e.accuracy.is_some()) {
        charts.push(pair(
            "Accuracy",
            "accuracy",
            h.epochs.iter().map(|e| e.accuracy).collect(),
            h.epochs.iter().map(|e| e.val_accuracy).collect(),
        ));
    }
    let n = charts.len();
    Figure::grid("Training history", charts, n)
}

/// Number of histogram bins of [`weight_histograms`].
pub const HISTOGRAM_BINS: usize = 60;

/// One panel per dense layer: the histogram of its kernel weights, with the exact zeros
/// drawn as a separate dark bar at 0 and their share written in the title.
pub fn weight_histograms<F: Real>(model: &Sequential<F>) -> Figure {
    let mut charts = Vec::new();
    for slot in model.slots().iter().filter(|s| s.kind == ParamKind::Kernel) {
        let w: Vec<f64> = model.params[slot.range.clone()]
            .iter()
            .map(|v| v.to_f64().unwrap_or(f64::NAN))
            .collect();
        let zeros = w.iter().filter(|v| **v == 0.0).count();
        let nonzero: Vec<f64> = w.iter().copied().filter(|v| *v != 0.0).collect();
        let (lo, hi) = nonzero
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let mut bars = Vec::new();
        if lo.is_finite() && hi > lo {
            let m = lo.abs().max(hi.abs());
            let width = 2.0 * m / HISTOGRAM_BINS as f64;
            let mut counts = vec![0usize; HISTOGRAM_BINS];
            for v in &nonzero {
                let k = (((v + m) / width) as usize).min(HISTOGRAM_BINS - 1);
                counts[k] += 1;
            }
            for (k, c) in counts.iter().enumerate() {
                bars.push(Bar {
                    x0: -m + k as f64 * width,
                    x1: -m + (k + 1) as f64 * width,
                    height: *c as f64,
                    color: PALETTE[0].into(),
                });
            }
            if zeros > 0 {
                bars.push(Bar {
                    x0: -width * 0.3,
                    x1: width * 0.3,
                    height: zeros as f64,
                    color: "#222".into(),
                });
            }
        } else if zeros > 0 {
            bars.push(Bar {
                x0: -0.01,
                x1: 0.01,
                height: zeros as f64,
                color: "#222".into(),
            });
        }
        let shape = slot
            .shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x");
        charts.push(Chart {
            title: format!(
                "layer {} kernel {shape}: {:.1}% exact zeros",
                slot.layer,
                100.0 * zeros as f64 / w.len().max(1) as f64
            ),
            x_label: "weight".into(),
            y_label: "count".into(),
            bars,
            notes: vec![format!(
                "{zeros} of {} weights are exactly 0 (dark bar)",
                w.len()
            )],
            ..Chart::default()
        });
    }
    let cols = charts.len().clamp(1, 3);
    Figure::grid("Kernel weights per dense layer", charts, cols)
}
