//! A network that overfits, and four cures side by side.
//!
//! A ReLU network with two hidden layers of 256 units is trained with Adam on a small part of
//! the embedded 8x8 digits or of Fashion-MNIST (`n_train` rows; another `n_val` rows validate)
//! for `epochs` epochs:
//! - without regularization,
//! - with an L2 kernel regularizer (Keras `l2 * sum w^2` on every kernel),
//! - with dropout after each hidden layer,
//! - with decoupled weight decay (AdamW).
//!
//! Every run starts from the same initial weights and sees the same batches.

use super::DemoOutput;
use crate::nn::{
    shuffled_indices, Activation, Dataset, FitConfig, History, LayerSpec, Loss, NoMonitor,
    OptimizerConfig, OptimizerKind, Regularizer, Sequential, Targets, Trainer,
};
use crate::plot::{Chart, Figure, Series, VLine, PALETTE};
use crate::{Error, Result};
use ndarray::Array2;

/// Where the images come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DemoData {
    /// The embedded 8x8 digits (1797 images, pixels 0..16).
    #[default]
    Digits,
    /// Fashion-MNIST from its Debian package (`scripts/install-data.sh`): training rows from
    /// the training split, validation rows from the test split.
    FashionMnist,
}

/// Settings of [`run`].
#[derive(Clone, Debug)]
pub struct OverfittingParams {
    /// Images.
    pub data: DemoData,
    /// Training rows.
    pub n_train: usize,
    /// Validation rows.
    pub n_val: usize,
    /// Epochs.
    pub epochs: usize,
    /// Keras-style L2 factor of the L2 run.
    pub l2: f64,
    /// Dropout rate of the dropout run.
    pub dropout: f64,
    /// AdamW weight decay of the weight-decay run.
    pub weight_decay: f64,
    /// Seed of the split, the initial weights, shuffling and dropout.
    pub seed: u64,
}

impl Default for OverfittingParams {
    fn default() -> Self {
        OverfittingParams {
            data: DemoData::Digits,
            n_train: 100,
            n_val: 800,
            epochs: 300,
            l2: 1e-3,
            dropout: 0.5,
            weight_decay: 0.5,
            seed: 0,
        }
    }
}

/// Rows `idx` of `x` scaled by `scale`, with their labels.
fn part(x: &Array2<f64>, labels: &[u32], idx: &[usize], scale: f64) -> Result<Dataset<f32>> {
    let xs = Array2::from_shape_fn((idx.len(), x.ncols()), |(i, j)| {
        (x[[idx[i], j]] * scale) as f32
    });
    Dataset::new(
        xs,
        Targets::Classes {
            labels: idx.iter().map(|&i| labels[i]).collect(),
            n_classes: 10,
        },
    )
}

fn check_rows(p: &OverfittingParams, train_rows: usize, val_rows: usize) -> Result<()> {
    if p.n_train < 10 || p.n_val < 10 || p.n_train > train_rows || p.n_val > val_rows {
        return Err(Error::param(
            "rows",
            format!("{} + {}", p.n_train, p.n_val),
            format!(
                "need at least 10 rows each, at most {train_rows} for training and {val_rows} for validation"
            ),
        ));
    }
    Ok(())
}

/// Training and validation sets (pixels scaled to `[0, 1]`).
fn images(p: &OverfittingParams) -> Result<(Dataset<f32>, Dataset<f32>)> {
    match p.data {
        DemoData::Digits => {
            let (x, y, _) = crate::data::dataset_xy("digits")?;
            let labels: Vec<u32> = y.iter().map(|v| *v as u32).collect();
            let n = x.nrows();
            check_rows(p, n, n.saturating_sub(p.n_train))?;
            let idx = shuffled_indices(n, p.seed);
            Ok((
                part(&x, &labels, &idx[..p.n_train], 1.0 / 16.0)?,
                part(
                    &x,
                    &labels,
                    &idx[p.n_train..p.n_train + p.n_val],
                    1.0 / 16.0,
                )?,
            ))
        }
        DemoData::FashionMnist => {
            use crate::nn::data::{fashion_mnist, Split};
            let (xt, lt) = fashion_mnist(None, Split::Train)?;
            let (xv, lv) = fashion_mnist(None, Split::Test)?;
            check_rows(p, xt.nrows(), xv.nrows())?;
            let it = shuffled_indices(xt.nrows(), p.seed);
            let iv = shuffled_indices(xv.nrows(), p.seed);
            Ok((
                part(&xt, &lt, &it[..p.n_train], 1.0 / 255.0)?,
                part(&xv, &lv, &iv[..p.n_val], 1.0 / 255.0)?,
            ))
        }
    }
}

/// Runs the four trainings; returns `(name, history)` pairs.
pub fn train_all(p: &OverfittingParams) -> Result<Vec<(String, History)>> {
    if p.epochs == 0 || p.epochs > 10_000 {
        return Err(Error::param("epochs", p.epochs, "must be 1..=10000"));
    }
    let (train, val) = images(p)?;
    let n_inputs = train.x.ncols();
    let reg = Regularizer::new(0.0, p.l2)?;
    let net = |l2: bool, dropout: f64| -> Vec<LayerSpec> {
        let k = l2.then_some(reg);
        let mut v = Vec::new();
        for _ in 0..2 {
            v.push(LayerSpec::dense(256, Activation::Relu).with_kernel_regularizer(k));
            if dropout > 0.0 {
                v.push(LayerSpec::dropout(dropout));
            }
        }
        v.push(LayerSpec::dense(10, Activation::Linear).with_kernel_regularizer(k));
        v
    };
    let runs: Vec<(String, Vec<LayerSpec>, OptimizerKind, f64)> = vec![
        (
            "no regularization".into(),
            net(false, 0.0),
            OptimizerKind::adam(),
            0.0,
        ),
        (
            format!("L2 kernel regularizer {}", p.l2),
            net(true, 0.0),
            OptimizerKind::adam(),
            0.0,
        ),
        (
            format!("dropout {}", p.dropout),
            net(false, p.dropout),
            OptimizerKind::adam(),
            0.0,
        ),
        (
            format!("AdamW weight decay {}", p.weight_decay),
            net(false, 0.0),
            OptimizerKind::adamw(),
            p.weight_decay,
        ),
    ];
    let mut out = Vec::new();
    for (name, specs, kind, wd) in runs {
        let model = Sequential::<f32>::new(n_inputs, specs, Loss::SoftmaxCrossEntropy, p.seed)?;
        let mut opt = OptimizerConfig::new(kind);
        opt.weight_decay = wd;
        let mut cfg = FitConfig::new(p.epochs, 32, opt);
        cfg.seed = p.seed;
        let mut trainer = Trainer::new(model, cfg)?;
        trainer.fit(&train, Some(&val), &mut NoMonitor)?;
        out.push((name, trainer.history.clone()));
    }
    Ok(out)
}

/// Runs the demo: figure `overfitting-curves` (`overfitting-curves-fashion-mnist`), one
/// panel per run with training and validation loss plus the validation accuracy of all
/// runs, and the summary.
pub fn run(p: &OverfittingParams) -> Result<DemoOutput> {
    let runs = train_all(p)?;
    let mut panels = Vec::new();
    let mut acc_series = Vec::new();
    let (inputs, what) = match p.data {
        DemoData::Digits => (64, "digits"),
        DemoData::FashionMnist => (784, "Fashion-MNIST images"),
    };
    let mut summary = vec![format!(
        "{inputs}-256-256-10 ReLU network, Adam lr 1e-3, batch 32, {} epochs on {} {what}; {} validate",
        p.epochs, p.n_train, p.n_val
    )];
    // the unregularized loss (penalty excluded) is what generalizes; validation loss of the
    // runs with L2 includes the penalty as Keras reports it, so compare accuracy as well
    let ymax = runs
        .iter()
        .flat_map(|(_, h)| h.epochs.iter().filter_map(|e| e.val_loss))
        .fold(0.0f64, f64::max)
        .min(4.0);
    for (k, (name, h)) in runs.iter().enumerate() {
        let ep = |f: &dyn Fn(&crate::nn::EpochLog) -> Option<f64>| -> Vec<(f64, f64)> {
            h.epochs
                .iter()
                .map(|e| (e.epoch as f64, f(e).unwrap_or(f64::NAN)))
                .collect()
        };
        let train = Series::line("training loss", ep(&|e| Some(e.loss)), PALETTE[0]);
        let mut val = Series::line("validation loss", ep(&|e| e.val_loss), PALETTE[1]);
        val.dash = Some("6 3".into());
        let (best_k, best) = h
            .epochs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.val_loss.map(|v| (i, v)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f64::NAN));
        let last = h.epochs.last();
        let last_val = last.and_then(|e| e.val_loss).unwrap_or(f64::NAN);
        let last_acc = last.and_then(|e| e.val_accuracy).unwrap_or(f64::NAN);
        panels.push(Chart {
            title: name.clone(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            y_range: Some((0.0, ymax * 1.05)),
            series: vec![train, val],
            vlines: vec![VLine {
                x: (best_k + 1) as f64,
                label: "lowest validation loss".into(),
                color: "#2ca02c".into(),
                dash: "3 3".into(),
            }],
            notes: vec![format!(
                "validation loss: lowest {best:.3} (epoch {}), last {last_val:.3}; last accuracy {last_acc:.3}",
                best_k + 1
            )],
            ..Chart::default()
        });
        acc_series.push(Series::line(
            name.clone(),
            ep(&|e| e.val_accuracy),
            PALETTE[(k + 2) % PALETTE.len()],
        ));
        let final_train = last.map(|e| e.loss).unwrap_or(f64::NAN);
        summary.push(format!(
            "{name:<28} final training loss {final_train:.4}  validation loss lowest {best:.4} at epoch {:>3}, final {last_val:.4}  final validation accuracy {last_acc:.4}",
            best_k + 1
        ));
    }
    // statements computed from the runs, not assumed
    let final_of = |h: &History, f: &dyn Fn(&crate::nn::EpochLog) -> Option<f64>| {
        h.epochs.last().and_then(f).unwrap_or(f64::NAN)
    };
    if let Some((_, h0)) = runs.first() {
        let lowest = h0
            .epochs
            .iter()
            .filter_map(|e| e.val_loss)
            .fold(f64::INFINITY, f64::min);
        let last = final_of(h0, &|e| e.val_loss);
        summary.push(format!(
            "Without regularization the training loss falls to {:.4} while the validation loss \
             ends {:.3} above its minimum: the network fits the training images more closely \
             than it generalizes.",
            final_of(h0, &|e| Some(e.loss)),
            last - lowest
        ));
    }
    let best = |f: &dyn Fn(&History) -> f64, lower: bool| {
        runs.iter()
            .max_by(|a, b| {
                let (x, y) = (f(&a.1), f(&b.1));
                if lower {
                    y.total_cmp(&x)
                } else {
                    x.total_cmp(&y)
                }
            })
            .map(|r| r.0.clone())
            .unwrap_or_default()
    };
    summary.push(format!(
        "Lowest final validation loss: {}; highest final validation accuracy: {}. The losses \
         of the L2 run include the penalty (as Keras reports them), so compare it by accuracy.",
        best(&|h| final_of(h, &|e| e.val_loss), true),
        best(&|h| final_of(h, &|e| e.val_accuracy), false)
    ));
    let acc = Chart {
        title: "Validation accuracy of the four runs".into(),
        x_label: "epoch".into(),
        y_label: "validation accuracy".into(),
        series: acc_series,
        ..Chart::default()
    };
    panels.push(acc);
    Ok(DemoOutput {
        figures: vec![(
            match p.data {
                DemoData::Digits => "overfitting-curves".into(),
                DemoData::FashionMnist => "overfitting-curves-fashion-mnist".into(),
            },
            Figure::grid(
                "Training vs validation loss without and with regularization",
                panels,
                3,
            ),
        )],
        summary,
    })
}
