//! Losses on the network's last output (logits), averaged over the batch as Keras and
//! PyTorch do by default.

use super::Real;
use crate::datafit::sigmoid;
use crate::{Error, Result};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Training targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<F> {
    /// Class indices `0..n_classes` (softmax cross-entropy).
    Classes {
        /// One label per row.
        labels: Vec<u32>,
        /// Number of classes (the width of the output layer).
        n_classes: usize,
    },
    /// Real targets, one row per sample (mean squared error; binary cross-entropy with
    /// values in `{0, 1}`).
    Values(Array2<F>),
}

impl<F: Real> Targets<F> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(v) => v.nrows(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width the network output must have.
    pub fn width(&self) -> usize {
        match self {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Values(v) => v.ncols(),
        }
    }

    /// The rows `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Self {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: idx.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(v) => Targets::Values(v.select(ndarray::Axis(0), idx)),
        }
    }
}

/// Batch of targets gathered for one step (buffers reused across batches).
#[derive(Clone, Debug, Default)]
pub(crate) struct TargetBatch<F> {
    pub labels: Vec<u32>,
    pub values: Vec<F>,
}

impl<F: Real> TargetBatch<F> {
    pub fn gather(&mut self, t: &Targets<F>, rows: &[usize]) {
        self.labels.clear();
        self.values.clear();
        match t {
            Targets::Classes { labels, .. } => self.labels.extend(rows.iter().map(|&i| labels[i])),
            Targets::Values(v) => {
                for &i in rows {
                    self.values.extend(v.row(i).iter().copied());
                }
            }
        }
    }
}

/// Loss function; the output layer must be linear (the loss applies softmax / sigmoid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `-log softmax(z)_y`, mean over the batch (Keras
    /// `SparseCategoricalCrossentropy(from_logits=True)`, PyTorch `CrossEntropyLoss`).
    SoftmaxCrossEntropy,
    /// `-(y log s(z) + (1-y) log(1-s(z)))`, `s` the sigmoid, mean over outputs and batch
    /// (Keras `BinaryCrossentropy(from_logits=True)`, PyTorch `BCEWithLogitsLoss`).
    BinaryCrossEntropy,
    /// `(z - y)^2`, mean over outputs and batch (Keras `MeanSquaredError`, PyTorch
    /// `MSELoss`).
    MeanSquaredError,
}

impl Loss {
    /// Parses `cross_entropy`, `binary_cross_entropy`, `mse`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cross_entropy" | "softmax_cross_entropy" | "categorical_crossentropy" => {
                Ok(Loss::SoftmaxCrossEntropy)
            }
            "binary_cross_entropy" | "binary_crossentropy" | "bce" => Ok(Loss::BinaryCrossEntropy),
            "mse" | "mean_squared_error" => Ok(Loss::MeanSquaredError),
            _ => Err(Error::param(
                "loss",
                s,
                "expected cross_entropy, binary_cross_entropy or mse",
            )),
        }
    }

    /// Whether accuracy is meaningful for this loss.
    pub fn is_classification(self) -> bool {
        !matches!(self, Loss::MeanSquaredError)
    }

    /// Checks that targets suit this loss and an output of width `width`.
    pub fn check_targets<F: Real>(self, t: &Targets<F>, width: usize) -> Result<()> {
        let ok_width = t.width() == width;
        match (self, t) {
            (Loss::SoftmaxCrossEntropy, Targets::Classes { labels, n_classes }) => {
                if let Some(l) = labels.iter().find(|&&l| l as usize >= *n_classes) {
                    return Err(Error::InvalidData(format!(
                        "class label {l} outside 0..{n_classes}"
                    )));
                }
            }
            (Loss::BinaryCrossEntropy, Targets::Values(v)) => {
                if v.iter().any(|&x| !(x >= F::zero() && x <= F::one())) {
                    return Err(Error::InvalidData(
                        "binary cross-entropy needs targets in [0, 1]".into(),
                    ));
                }
            }
            (Loss::MeanSquaredError, Targets::Values(v)) => {
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(Error::InvalidData("non-finite regression target".into()));
                }
            }
            _ => {
                return Err(Error::InvalidData(format!(
                    "targets do not suit the loss {self:?}"
                )))
            }
        }
        if !ok_width {
            return Err(Error::ShapeMismatch {
                op: "loss",
                expected: format!("{width} outputs"),
                got: format!("targets of width {}", t.width()),
            });
        }
        Ok(())
    }

    /// Loss of a batch of logits `z` (`b` rows of `k`), summed over rows (not averaged),
    /// and the number of correct predictions (fractional for multi-output binary targets).
    /// With `grad`, writes `d(mean loss)/dz` (the sum divided by `b`).
    pub(crate) fn evaluate<F: Real>(
        self,
        z: &[F],
        k: usize,
        t: &TargetBatch<F>,
        mut grad: Option<&mut [F]>,
    ) -> (f64, f64) {
        let b = z.len() / k.max(1);
        let inv_b = F::one() / F::of(b as f64);
        let (mut total, mut correct) = (0.0f64, 0.0f64);
        match self {
            Loss::SoftmaxCrossEntropy => {
                for i in 0..b {
                    let row = &z[i * k..(i + 1) * k];
                    let y = t.labels[i] as usize;
                    let (mut m, mut arg) = (row[0], 0usize);
                    for (j, &v) in row.iter().enumerate().skip(1) {
                        if v > m {
                            m = v;
                            arg = j;
                        }
                    }
                    let s: F = row.iter().map(|&v| (v - m).exp()).sum();
                    let log_s = s.ln();
                    // -log p_y = log sum exp(z - m) - (z_y - m)
                    total += (log_s - (row[y] - m)).f64();
                    correct += (arg == y) as u8 as f64;
                    if let Some(g) = grad.as_deref_mut() {
                        let gr = &mut g[i * k..(i + 1) * k];
                        let inv_s = F::one() / s;
                        for (gj, &v) in gr.iter_mut().zip(row) {
                            *gj = (v - m).exp() * inv_s * inv_b;
                        }
                        gr[y] -= inv_b;
                    }
                }
            }
            Loss::BinaryCrossEntropy => {
                let inv_k = F::one() / F::of(k as f64);
                for i in 0..b {
                    let mut row_loss = 0.0f64;
                    let mut row_correct = 0.0f64;
                    for j in 0..k {
                        let (zv, yv) = (z[i * k + j], t.values[i * k + j]);
                        // log(1+exp(-|z|)) + max(z,0) - z*y
                        let l = (F::one() + (-zv.abs()).exp()).ln() + zv.max(F::zero()) - zv * yv;
                        row_loss += l.f64();
                        row_correct += ((zv > F::zero()) == (yv > F::of(0.5))) as u8 as f64;
                        if let Some(g) = grad.as_deref_mut() {
                            g[i * k + j] = (sigmoid(zv) - yv) * inv_b * inv_k;
                        }
                    }
                    total += row_loss / k as f64;
                    correct += row_correct / k as f64;
                }
            }
            Loss::MeanSquaredError => {
                let inv_k = F::one() / F::of(k as f64);
                let two = F::of(2.0);
                for i in 0..b {
                    let mut row_loss = 0.0f64;
                    for j in 0..k {
                        let d = z[i * k + j] - t.values[i * k + j];
                        row_loss += (d * d).f64();
                        if let Some(g) = grad.as_deref_mut() {
                            g[i * k + j] = two * d * inv_b * inv_k;
                        }
                    }
                    total += row_loss / k as f64;
                }
            }
        }
        (total, correct)
    }

    /// Turns logits into predictions in place: softmax probabilities, sigmoid
    /// probabilities, or the values themselves.
    pub(crate) fn link<F: Real>(self, z: &mut [F], k: usize) {
        match self {
            Loss::SoftmaxCrossEntropy => {
                for row in z.chunks_mut(k.max(1)) {
                    let m = row.iter().copied().fold(F::neg_infinity(), F::max);
                    let mut s = F::zero();
                    for v in row.iter_mut() {
                        *v = (*v - m).exp();
                        s += *v;
                    }
                    for v in row.iter_mut() {
                        *v = *v / s;
                    }
                }
            }
            Loss::BinaryCrossEntropy => {
                for v in z {
                    *v = sigmoid(*v);
                }
            }
            Loss::MeanSquaredError => {}
        }
    }
}
