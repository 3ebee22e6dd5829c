//! `regml nn`: train, evaluate, use and tune regularized neural networks.

use crate::input::{label_texts, load_table, sorted_labels, target_name, DataArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use regml::data::{Column, Table};
use regml::nn::data::{fashion_mnist, Split, FASHION_MNIST_CLASSES};
use regml::nn::holdout_indices;
use regml::nn::tune::{self, Candidate, Dimension, Search, SearchSpace, Validation};
use regml::nn::{
    evaluate, load_model, save_model, Activation, Dataset, EarlyStopping, FitConfig, Init, L1Mode,
    LayerSpec, Loss, Monitor, MonitorMetric, Monitored, OptimizerConfig, OptimizerKind,
    Preprocessing, Regularizer, Schedule, Sequential, StopReason, Targets, Trainer,
};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Network subcommands.
#[derive(Subcommand, Debug)]
pub enum NnCommand {
    /// Train a network and report test metrics; save it with --save
    Train(Box<TrainCmd>),
    /// Loss and accuracy of a saved network on a dataset
    Eval(EvalCmd),
    /// Predictions of a saved network, one CSV row per input row
    Predict(PredictCmd),
    /// Grid or random search over l1, l2, dropout, weight decay and learning rate
    Tune(Box<TuneCmd>),
}

/// Where the data comes from.
#[derive(Args, Debug, Clone)]
pub struct NnData {
    /// Embedded dataset (digits, ...) or fashion-mnist (Debian package dataset-fashion-mnist)
    #[arg(long, value_name = "NAME", conflicts_with = "data")]
    dataset: Option<String>,
    /// CSV training file with a header row
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Target column of a CSV file (default for --dataset: its target)
    #[arg(long, value_name = "COLUMN")]
    target: Option<String>,
    /// CSV test file (default: Fashion-MNIST's test images, or --test-fraction of the data)
    #[arg(long, value_name = "FILE")]
    test_data: Option<PathBuf>,
    /// Share of the rows held out for testing when there is no separate test set
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the test hold-out (the same for train and eval)
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// Folder with Fashion-MNIST's IDX files
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Loss: cross_entropy (classes), binary_cross_entropy (two classes), mse (regression)
    #[arg(long, default_value = "cross_entropy")]
    loss: String,
    /// Input scaling: auto (pixels to [0,1], CSV standardized), none, unit (to [0,1] by the
    /// training maximum) or standardize
    #[arg(long, default_value = "auto")]
    scale: String,
}

/// The network.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// Hidden layer widths, comma-separated (empty for a linear model)
    #[arg(long, default_value = "128")]
    layers: String,
    /// Hidden activation: relu, sigmoid, tanh
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Kernel initialization: glorot_uniform, glorot_normal, he_uniform, he_normal
    #[arg(long, default_value = "glorot_uniform")]
    init: String,
    /// Dropout rate after each hidden layer (tune: a list or lo:hi)
    #[arg(long, default_value = "0")]
    dropout: String,
    /// Batch normalization after each hidden dense layer (before its activation)
    #[arg(long)]
    batch_norm: bool,
    /// Keras L1 factor on every kernel (tune: a list, lo:hi or lo~hi for log-uniform)
    #[arg(long, default_value = "0")]
    l1: String,
    /// Keras L2 factor on every kernel, l2*sum w^2 (tune: a list, lo:hi or lo~hi)
    #[arg(long, default_value = "0")]
    l2: String,
    /// L1 factor on biases
    #[arg(long, default_value_t = 0.0)]
    bias_l1: f64,
    /// L2 factor on biases
    #[arg(long, default_value_t = 0.0)]
    bias_l2: f64,
    /// L1 factor on hidden activations (divided by the batch size)
    #[arg(long, default_value_t = 0.0)]
    activity_l1: f64,
    /// L2 factor on hidden activations (divided by the batch size)
    #[arg(long, default_value_t = 0.0)]
    activity_l2: f64,
    /// subgradient (Keras) or proximal (exact zeros)
    #[arg(long, default_value = "subgradient")]
    l1_mode: String,
}

/// Optimizer, schedule and training loop.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// sgd, adam or adamw
    #[arg(long, default_value = "adamw")]
    optimizer: String,
    /// Learning rate (default 1e-3 for adam/adamw, 0.01 for sgd; tune: a list or lo~hi)
    #[arg(long)]
    lr: Option<String>,
    /// Weight decay: decoupled for adamw (default 0.01), coupled L2 for sgd/adam (default 0)
    #[arg(long)]
    weight_decay: Option<String>,
    /// Also decay biases and batch-norm parameters
    #[arg(long)]
    decay_biases: bool,
    /// SGD momentum
    #[arg(long, default_value_t = 0.0)]
    momentum: f64,
    /// Nesterov momentum (SGD)
    #[arg(long)]
    nesterov: bool,
    /// Adam beta1
    #[arg(long, default_value_t = 0.9)]
    beta1: f64,
    /// Adam beta2
    #[arg(long, default_value_t = 0.999)]
    beta2: f64,
    /// Adam eps
    #[arg(long, default_value_t = 1e-8)]
    eps: f64,
    /// Clip the global gradient norm to this value
    #[arg(long)]
    clip_norm: Option<f64>,
    /// Learning-rate schedule: constant, step, exponential, cosine, plateau
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// step: epochs between decays
    #[arg(long, default_value_t = 10)]
    step_size: usize,
    /// step / exponential: decay factor
    #[arg(long, default_value_t = 0.1)]
    gamma: f64,
    /// cosine: epochs to the minimum (default: --epochs)
    #[arg(long)]
    t_max: Option<usize>,
    /// cosine: minimum rate
    #[arg(long, default_value_t = 0.0)]
    eta_min: f64,
    /// plateau: factor
    #[arg(long, default_value_t = 0.1)]
    plateau_factor: f64,
    /// plateau: epochs without improvement
    #[arg(long, default_value_t = 10)]
    plateau_patience: usize,
    /// Linear warmup epochs (rate rises from a third of its value)
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Epochs
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Mini-batch size
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Seed of initialization, shuffling, dropout and the splits
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Share of the training rows used for validation (0 = none)
    #[arg(long, default_value_t = 0.1)]
    validation_split: f64,
    /// Early stopping: epochs without improvement (restores the best weights)
    #[arg(long)]
    patience: Option<usize>,
    /// Early stopping: smallest improvement
    #[arg(long, default_value_t = 0.0)]
    min_delta: f64,
    /// Early stopping: val_loss, val_accuracy, loss, accuracy
    #[arg(long, default_value = "val_loss")]
    monitor: String,
    /// Early stopping: keep the last weights instead of the best
    #[arg(long)]
    no_restore_best: bool,
    /// Threads for matrix products (default: physical cores)
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct TrainCmd {
    #[command(flatten)]
    data: NnData,
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// Save the trained network (safetensors with the architecture as JSON)
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Write the per-epoch history (.csv or .json)
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Write a JSON summary (history, test metrics, per-layer zeros)
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Draw training and validation loss / accuracy per epoch to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Draw a histogram of each dense layer's kernel weights to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    plot_weights: Option<PathBuf>,
    /// Write a checkpoint after every epoch
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue from --checkpoint (settings are taken from it)
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// No progress output
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
pub struct EvalCmd {
    /// Model file written by `regml nn train --save`
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    #[command(flatten)]
    data: NnData,
    /// Which rows: test (the held-out part) or train (everything else) or all
    #[arg(long, default_value = "test")]
    split: String,
    /// Draw a histogram of each dense layer's kernel weights to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    plot_weights: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PredictCmd {
    /// Model file
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// CSV with the model's feature columns
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// Embedded dataset or fashion-mnist (its test images)
    #[arg(long, value_name = "NAME")]
    dataset: Option<String>,
    /// Folder with Fashion-MNIST's IDX files
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Write predictions to this CSV file instead of standard output
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TuneCmd {
    #[command(flatten)]
    data: NnData,
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// grid or random
    #[arg(long, default_value = "grid")]
    search: String,
    /// Candidates drawn by random search
    #[arg(long, default_value_t = 10)]
    trials: usize,
    /// k-fold cross-validation (default: the validation split)
    #[arg(long)]
    folds: Option<usize>,
    /// Write every trial as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Retrain the best candidate on all training rows and save it
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// No progress output
    #[arg(long, short)]
    quiet: bool,
}

/// Features and targets as read, before scaling.
struct Raw {
    x: Array2<f64>,
    y: RawTargets,
}

#[derive(Clone)]
enum RawTargets {
    Classes(Vec<u32>),
    Values(Array2<f64>),
}

impl Raw {
    fn select(&self, idx: &[usize]) -> Raw {
        Raw {
            x: self.x.select(ndarray::Axis(0), idx),
            y: match &self.y {
                RawTargets::Classes(l) => RawTargets::Classes(idx.iter().map(|&i| l[i]).collect()),
                RawTargets::Values(v) => RawTargets::Values(v.select(ndarray::Axis(0), idx)),
            },
        }
    }
}

struct Problem {
    train: Raw,
    test: Raw,
    feature_names: Vec<String>,
    classes: Vec<String>,
    loss: Loss,
    source: String,
    pixels: Option<f64>,
}

const MAX_CLASSES: usize = 1000;

/// Reads a CSV or embedded table into features and targets. `classes` (from training data or
/// a model) fixes the label order; otherwise it is taken from this table.
fn read_table(
    table: &Table,
    target: &str,
    loss: Loss,
    classes: Option<&[String]>,
    features: Option<&[String]>,
) -> Result<(Raw, Vec<String>, Vec<String>)> {
    let ti = table.column_index(target)?;
    let (x, names) = match features {
        Some(f) => (table.matrix_of(f)?, f.to_vec()),
        None => table.matrix_without(&[ti])?,
    };
    if names.is_empty() {
        bail!("{}: no feature columns besides the target", table.source);
    }
    if loss == Loss::MeanSquaredError {
        let y = table.numeric(ti)?;
        let y = Array2::from_shape_vec((y.len(), 1), y.to_vec())?;
        return Ok((
            Raw {
                x,
                y: RawTargets::Values(y),
            },
            names,
            vec![target.to_string()],
        ));
    }
    let labels = label_texts(table, ti);
    let numeric = matches!(table.columns[ti], Column::Numeric(_));
    let classes: Vec<String> = match classes {
        Some(c) => c.to_vec(),
        None => sorted_labels(&labels, numeric),
    };
    if classes.len() < 2 {
        bail!(
            "{}: the target column '{target}' has a single class; classification needs two",
            table.source
        );
    }
    if classes.len() > MAX_CLASSES {
        bail!(
            "{}: the target column '{target}' has {} classes (at most {MAX_CLASSES}); use --loss mse for regression",
            table.source,
            classes.len()
        );
    }
    if loss == Loss::BinaryCrossEntropy && classes.len() != 2 {
        bail!(
            "binary_cross_entropy needs two classes, column '{target}' has {}",
            classes.len()
        );
    }
    let mut idx = Vec::with_capacity(labels.len());
    for (r, l) in labels.iter().enumerate() {
        match classes.iter().position(|c| c == l) {
            Some(k) => idx.push(k as u32),
            None => {
                return Err(table
                    .cell_error(
                        r,
                        ti,
                        format!("label '{l}' is not one of the classes the model knows"),
                    )
                    .into())
            }
        }
    }
    let y = if loss == Loss::BinaryCrossEntropy {
        RawTargets::Values(Array2::from_shape_fn((idx.len(), 1), |(i, _)| {
            idx[i] as f64
        }))
    } else {
        RawTargets::Classes(idx)
    };
    Ok((Raw { x, y }, names, classes))
}

fn holdout(raw: &Raw, fraction: f64, seed: u64) -> Result<(Raw, Raw)> {
    let (tr, te) = holdout_indices(raw.x.nrows(), fraction, seed, "test_fraction")?;
    Ok((raw.select(&tr), raw.select(&te)))
}

/// The CSV or embedded table named by `d`, its target column, its source name, and the
/// data arguments that read it.
fn nn_table(d: &NnData) -> Result<(Table, String, String, DataArgs)> {
    let target = target_name(d.target.as_deref(), d.dataset.as_deref())?;
    let args = DataArgs::rows(d.data.clone(), d.dataset.clone(), Some(target.clone()));
    let (table, _, source) = load_table(&args, &[target.as_str()])?;
    Ok((table, target, source, args))
}

fn load_problem(d: &NnData) -> Result<Problem> {
    let loss = Loss::parse(&d.loss)?;
    if d.dataset.as_deref() == Some("fashion-mnist") {
        if loss != Loss::SoftmaxCrossEntropy {
            bail!("fashion-mnist has 10 classes: use --loss cross_entropy");
        }
        let (x, y) = fashion_mnist(d.data_dir.as_deref(), Split::Train)?;
        let (xt, yt) = fashion_mnist(d.data_dir.as_deref(), Split::Test)?;
        return Ok(Problem {
            train: Raw {
                x,
                y: RawTargets::Classes(y),
            },
            test: Raw {
                x: xt,
                y: RawTargets::Classes(yt),
            },
            feature_names: (0..784).map(|i| format!("pixel{i}")).collect(),
            classes: FASHION_MNIST_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            loss,
            source: "fashion-mnist".into(),
            pixels: Some(255.0),
        });
    }
    let (table, target, source, args) = nn_table(d)?;
    let (raw, names, classes) = read_table(&table, &target, loss, None, None)?;
    let (train, test) = match &d.test_data {
        Some(path) => {
            let targs = DataArgs {
                data: Some(path.clone()),
                dataset: None,
                ..args
            };
            let (tt, _, _) = load_table(&targs, &[target.as_str()])?;
            let known = (loss != Loss::MeanSquaredError).then_some(classes.as_slice());
            let (test, _, _) = read_table(&tt, &target, loss, known, Some(&names))?;
            (raw, test)
        }
        None => holdout(&raw, d.test_fraction, d.split_seed)?,
    };
    let pixels = (d.dataset.as_deref() == Some("digits")).then_some(16.0);
    Ok(Problem {
        train,
        test,
        feature_names: names,
        classes,
        loss,
        source,
        pixels,
    })
}

fn preprocessing(scale: &str, pixels: Option<f64>, x: &Array2<f64>) -> Result<Preprocessing> {
    Ok(match (scale, pixels) {
        ("auto", Some(max)) => Preprocessing::Scale { factor: 1.0 / max },
        ("auto", None) | ("standardize", _) => Preprocessing::fit_standardize(x.view()),
        ("none", _) => Preprocessing::None,
        ("unit", _) => {
            let m = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            Preprocessing::Scale {
                factor: if m > 0.0 { 1.0 / m } else { 1.0 },
            }
        }
        (s, _) => bail!("--scale {s}: expected auto, none, unit or standardize"),
    })
}

fn dataset(model: &Sequential<f32>, raw: &Raw, n_classes: usize) -> Result<Dataset<f32>> {
    let x = model.prepare(raw.x.view())?;
    let y = match &raw.y {
        RawTargets::Classes(l) => Targets::Classes {
            labels: l.clone(),
            n_classes,
        },
        RawTargets::Values(v) => Targets::Values(v.mapv(|a| a as f32)),
    };
    Ok(Dataset::new(x, y)?)
}

fn single(name: &'static str, s: &str) -> Result<f64> {
    match Dimension::parse(name, s)? {
        Dimension::Values(v) if v.len() == 1 => Ok(v[0]),
        _ => bail!("--{name} takes one value here (lists and ranges are for `regml nn tune`)"),
    }
}

fn build_specs(net: &NetArgs, c: &Candidate, n_out: usize) -> Result<Vec<LayerSpec>> {
    let act = Activation::parse(&net.activation)?;
    let init = Init::parse(&net.init)?;
    let kernel = (c.l1 != 0.0 || c.l2 != 0.0)
        .then(|| Regularizer::new(c.l1, c.l2))
        .transpose()?;
    let bias = (net.bias_l1 != 0.0 || net.bias_l2 != 0.0)
        .then(|| Regularizer::new(net.bias_l1, net.bias_l2))
        .transpose()?;
    let activity = (net.activity_l1 != 0.0 || net.activity_l2 != 0.0)
        .then(|| Regularizer::new(net.activity_l1, net.activity_l2))
        .transpose()?;
    let mut specs = Vec::new();
    for w in net
        .layers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let units: usize = w
            .parse()
            .with_context(|| format!("--layers: '{w}' is not a layer width"))?;
        if net.batch_norm {
            specs.push(
                LayerSpec::dense(units, Activation::Linear)
                    .with_init(init)
                    .with_kernel_regularizer(kernel)
                    .with_bias_regularizer(bias)
                    .with_activity_regularizer(activity),
            );
            specs.push(LayerSpec::batch_norm());
            specs.push(LayerSpec::Activation { activation: act });
        } else {
            specs.push(
                LayerSpec::dense(units, act)
                    .with_init(init)
                    .with_kernel_regularizer(kernel)
                    .with_bias_regularizer(bias)
                    .with_activity_regularizer(activity),
            );
        }
        if c.dropout > 0.0 {
            specs.push(LayerSpec::dropout(c.dropout));
        }
    }
    specs.push(
        LayerSpec::dense(n_out, Activation::Linear)
            .with_init(init)
            .with_kernel_regularizer(kernel)
            .with_bias_regularizer(bias),
    );
    Ok(specs)
}

fn fit_config(t: &TrainArgs, net: &NetArgs, c: &Candidate) -> Result<FitConfig> {
    let kind = match t.optimizer.as_str() {
        "sgd" => OptimizerKind::Sgd {
            momentum: t.momentum,
            dampening: 0.0,
            nesterov: t.nesterov,
        },
        "adam" => OptimizerKind::Adam {
            beta1: t.beta1,
            beta2: t.beta2,
            eps: t.eps,
        },
        "adamw" => OptimizerKind::AdamW {
            beta1: t.beta1,
            beta2: t.beta2,
            eps: t.eps,
        },
        o => bail!("--optimizer {o}: expected sgd, adam or adamw"),
    };
    let mut opt = OptimizerConfig::new(kind);
    opt.lr = c.lr;
    opt.weight_decay = c.weight_decay;
    opt.decay_biases = t.decay_biases;
    opt.clip_norm = t.clip_norm;
    let schedule = match t.schedule.as_str() {
        "constant" => Schedule::Constant,
        "step" => Schedule::Step {
            step_size: t.step_size,
            gamma: t.gamma,
        },
        "exponential" => Schedule::Exponential { gamma: t.gamma },
        "cosine" => Schedule::Cosine {
            t_max: t.t_max.unwrap_or(t.epochs.saturating_sub(t.warmup).max(1)),
            eta_min: t.eta_min,
        },
        "plateau" => Schedule::Plateau {
            factor: t.plateau_factor,
            patience: t.plateau_patience,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
        },
        s => bail!("--schedule {s}: expected constant, step, exponential, cosine or plateau"),
    };
    let mut cfg = FitConfig::new(t.epochs, t.batch_size, opt);
    cfg.seed = t.seed;
    cfg.schedule = schedule;
    cfg.warmup_epochs = t.warmup;
    cfg.l1_mode = match net.l1_mode.as_str() {
        "subgradient" => L1Mode::Subgradient,
        "proximal" => L1Mode::Proximal,
        m => bail!("--l1-mode {m}: expected subgradient or proximal"),
    };
    if let Some(p) = t.patience {
        let monitor = MonitorMetric::parse(&t.monitor)?;
        cfg.early_stopping = Some(EarlyStopping {
            monitor,
            patience: p,
            min_delta: t.min_delta,
            restore_best_weights: !t.no_restore_best,
        });
    }
    Ok(cfg)
}

fn default_lr(t: &TrainArgs) -> &'static str {
    if t.optimizer == "sgd" {
        "0.01"
    } else {
        "0.001"
    }
}

fn default_wd(t: &TrainArgs) -> &'static str {
    if t.optimizer == "adamw" {
        "0.01"
    } else {
        "0"
    }
}

fn single_candidate(net: &NetArgs, t: &TrainArgs) -> Result<Candidate> {
    Ok(Candidate {
        l1: single("l1", &net.l1)?,
        l2: single("l2", &net.l2)?,
        dropout: single("dropout", &net.dropout)?,
        weight_decay: single(
            "weight-decay",
            t.weight_decay.as_deref().unwrap_or(default_wd(t)),
        )?,
        lr: single("lr", t.lr.as_deref().unwrap_or(default_lr(t)))?,
    })
}

fn set_threads(t: &TrainArgs) {
    if let Some(n) = t.threads {
        // matrixmultiply reads this once, at its first threaded product
        std::env::set_var("MATMUL_NUM_THREADS", n.max(1).to_string());
    }
}

/// Progress on standard error: a bar per epoch on a terminal, one line per epoch otherwise.
struct Progress {
    quiet: bool,
    terminal: bool,
    epochs: usize,
    bar: Option<ProgressBar>,
    checkpoint: Option<PathBuf>,
}

impl Progress {
    fn new(quiet: bool, epochs: usize, checkpoint: Option<PathBuf>) -> Self {
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            epochs,
            bar: None,
            checkpoint,
        }
    }
}

fn epoch_line(l: &regml::nn::EpochLog, epochs: usize) -> String {
    let mut s = format!("epoch {:>3}/{epochs}  loss {:.4}", l.epoch, l.loss);
    if let Some(a) = l.accuracy {
        s += &format!("  accuracy {a:.4}");
    }
    if let Some(v) = l.val_loss {
        s += &format!("  val_loss {v:.4}");
    }
    if let Some(a) = l.val_accuracy {
        s += &format!("  val_accuracy {a:.4}");
    }
    s + &format!("  lr {:.3e}  {:.2} s", l.lr, l.seconds)
}

impl Monitor<f32> for Progress {
    fn epoch_start(&mut self, epoch: usize, n_batches: usize) {
        if self.quiet || !self.terminal {
            return;
        }
        let mut bar =
            ProgressBar::new(n_batches as u64).with_message(format!("{epoch}/{}", self.epochs));
        if let Ok(style) =
            ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} batches {elapsed}")
        {
            bar = bar.with_style(style.progress_chars("=> "));
        }
        self.bar = Some(bar);
    }

    fn batch_end(&mut self, batch: usize, loss: f64) {
        if let Some(b) = &self.bar {
            b.set_position(batch as u64);
            if batch % 20 == 0 {
                b.set_message(format!(
                    "{} loss {loss:.4}",
                    b.message().split(' ').next().unwrap_or("")
                ));
            }
        }
    }

    fn epoch_end(&mut self, t: &Trainer<f32>) -> regml::Result<Monitored> {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if let Some(path) = &self.checkpoint {
            t.save_checkpoint(path)?;
        }
        if !self.quiet {
            if let Some(l) = t.history.epochs.last() {
                eprintln!("{}", epoch_line(l, self.epochs));
            }
        }
        Ok(Monitored::Continue)
    }
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    regml::model::write_atomic(path, bytes)?;
    Ok(())
}

pub fn run(cmd: NnCommand) -> Result<()> {
    match cmd {
        NnCommand::Train(c) => run_train(*c),
        NnCommand::Eval(c) => run_eval(c),
        NnCommand::Predict(c) => run_predict(c),
        NnCommand::Tune(c) => run_tune(*c),
    }
}

fn n_outputs(p: &Problem) -> usize {
    match p.loss {
        Loss::SoftmaxCrossEntropy => p.classes.len(),
        _ => 1,
    }
}

fn run_train(c: TrainCmd) -> Result<()> {
    for p in [&c.plot, &c.plot_weights].into_iter().flatten() {
        regml::plot::Format::from_path(p)?;
    }
    set_threads(&c.train);
    let problem = load_problem(&c.data)?;
    let n_out = n_outputs(&problem);
    let resume = c.resume && c.checkpoint.as_ref().is_some_and(|p| p.exists());
    let mut trainer = if resume {
        let path = c
            .checkpoint
            .as_ref()
            .context("--resume needs --checkpoint")?;
        let t = Trainer::<f32>::load_checkpoint(path)?;
        if t.model.n_inputs() != problem.feature_names.len() || t.model.n_outputs() != n_out {
            bail!(
                "{}: the checkpoint's network ({} inputs, {} outputs) does not fit this data ({} features, {} outputs)",
                path.display(),
                t.model.n_inputs(),
                t.model.n_outputs(),
                problem.feature_names.len(),
                n_out
            );
        }
        if !c.quiet {
            eprintln!(
                "resuming from {} after epoch {} (settings from the checkpoint)",
                path.display(),
                t.epochs_done()
            );
        }
        t
    } else {
        let cand = single_candidate(&c.net, &c.train)?;
        let specs = build_specs(&c.net, &cand, n_out)?;
        let cfg = fit_config(&c.train, &c.net, &cand)?;
        let mut model =
            Sequential::<f32>::new(problem.feature_names.len(), specs, problem.loss, cfg.seed)?;
        model.feature_names = problem.feature_names.clone();
        model.classes = problem.classes.clone();
        Trainer::new(model, cfg)?
    };
    // validation rows are split off before the scaling is fitted
    let split = c.train.validation_split;
    let (fit_raw, val_raw) = if split > 0.0 {
        let seed = trainer.config.seed.wrapping_add(1);
        let (tr, va) = holdout_indices(problem.train.x.nrows(), split, seed, "validation_split")?;
        (problem.train.select(&tr), Some(problem.train.select(&va)))
    } else {
        (problem.train, None)
    };
    if !resume {
        trainer.model.preprocessing = preprocessing(&c.data.scale, problem.pixels, &fit_raw.x)?;
    }
    let k = problem.classes.len();
    let train = dataset(&trainer.model, &fit_raw, k)?;
    let val = val_raw
        .map(|v| dataset(&trainer.model, &v, k))
        .transpose()?;
    let test = dataset(&trainer.model, &problem.test, k)?;
    let n_params = trainer.model.params.len();
    if !c.quiet {
        eprintln!(
            "{}: {} training rows, {} validation, {} test; {} parameters",
            problem.source,
            train.len(),
            val.as_ref().map_or(0, |v| v.len()),
            test.len(),
            n_params
        );
    }
    let epochs = trainer.config.epochs;
    let mut progress = Progress::new(c.quiet, epochs, c.checkpoint.clone());
    trainer.fit(&train, val.as_ref(), &mut progress)?;
    let h = trainer.history.clone();
    let (test_loss, test_acc) = evaluate(&trainer.model, &test)?;
    let reason = match h.stop_reason {
        Some(StopReason::EarlyStopping) => "early stopping",
        Some(StopReason::Requested) => "stopped",
        _ => "epoch limit",
    };
    outln!("trained {} epochs ({reason})", h.epochs.len());
    if let Some(b) = h.best_epoch {
        outln!("restored the weights of epoch {b}");
    }
    let mean_secs = h.epochs.iter().map(|e| e.seconds).sum::<f64>() / h.epochs.len().max(1) as f64;
    outln!("mean epoch time {mean_secs:.3} s");
    match test_acc {
        Some(a) => outln!(
            "test loss {test_loss:.4}  test accuracy {a:.4}  ({} rows)",
            test.len()
        ),
        None => outln!("test loss {test_loss:.4}  ({} rows)", test.len()),
    }
    let zeros = trainer.model.kernel_zeros();
    for (layer, z, total) in &zeros {
        if *z > 0 || trainer.config.l1_mode == L1Mode::Proximal {
            outln!(
                "layer {layer}: {z} of {total} kernel weights exactly zero ({:.1}%)",
                100.0 * *z as f64 / *total as f64
            );
        }
    }
    if let Some(path) = &c.save {
        save_model(&trainer.model, path)?;
        outln!("saved {}", path.display());
    }
    if let Some(path) = &c.plot {
        regml::plot::save(&regml::plot::history(&h), path)?;
        outln!("plot written to {}", path.display());
    }
    if let Some(path) = &c.plot_weights {
        regml::plot::save(&regml::plot::weight_histograms(&trainer.model), path)?;
        outln!("plot written to {}", path.display());
    }
    if let Some(path) = &c.history {
        let bytes = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_vec_pretty(&h)?
        } else {
            h.to_csv().into_bytes()
        };
        write_file(path, &bytes)?;
    }
    if let Some(path) = &c.json {
        let v = serde_json::json!({
            "history": h,
            "test_loss": test_loss,
            "test_accuracy": test_acc,
            "mean_epoch_seconds": mean_secs,
            "parameters": n_params,
            "kernel_zeros": zeros.iter().map(|(l, z, t)| serde_json::json!({"layer": l, "zeros": z, "size": t})).collect::<Vec<_>>(),
            "settings": trainer.config,
            "layers": trainer.model.specs(),
        });
        crate::output::write_json(path, &v)?;
    }
    Ok(())
}

fn run_eval(c: EvalCmd) -> Result<()> {
    if let Some(p) = &c.plot_weights {
        regml::plot::Format::from_path(p)?;
    }
    let model = load_model::<f32>(&c.model)?;
    let mut d = c.data.clone();
    d.loss = match model.loss() {
        Loss::SoftmaxCrossEntropy => "cross_entropy",
        Loss::BinaryCrossEntropy => "binary_cross_entropy",
        Loss::MeanSquaredError => "mse",
    }
    .into();
    let raw = eval_rows(&model, &d, &c.split)?;
    let data = dataset(&model, &raw, model.classes.len())?;
    let (loss, acc) = evaluate(&model, &data)?;
    match acc {
        Some(a) => outln!("loss {loss:.6}  accuracy {a:.4}  ({} rows)", data.len()),
        None => outln!("loss {loss:.6}  ({} rows)", data.len()),
    }
    if let Some(path) = &c.plot_weights {
        regml::plot::save(&regml::plot::weight_histograms(&model), path)?;
        outln!("plot written to {}", path.display());
    }
    Ok(())
}

/// Rows to evaluate on, with labels encoded in the model's class order.
fn eval_rows(model: &Sequential<f32>, d: &NnData, split: &str) -> Result<Raw> {
    let loss = model.loss();
    if d.dataset.as_deref() == Some("fashion-mnist") {
        let s = match split {
            "train" => Split::Train,
            "test" => Split::Test,
            o => bail!("--split {o}: expected train or test for fashion-mnist"),
        };
        let (x, y) = fashion_mnist(d.data_dir.as_deref(), s)?;
        return Ok(Raw {
            x,
            y: RawTargets::Classes(y),
        });
    }
    let (table, target, _, _) = nn_table(d)?;
    let known = (loss != Loss::MeanSquaredError).then_some(model.classes.as_slice());
    let (raw, _, _) = read_table(&table, &target, loss, known, Some(&model.feature_names))?;
    Ok(match split {
        "all" => raw,
        "test" | "train" => {
            let (tr, te) = holdout(&raw, d.test_fraction, d.split_seed)?;
            if split == "test" {
                te
            } else {
                tr
            }
        }
        o => bail!("--split {o}: expected test, train or all"),
    })
}

fn run_predict(c: PredictCmd) -> Result<()> {
    let model = load_model::<f32>(&c.model)?;
    let x = if c.dataset.as_deref() == Some("fashion-mnist") {
        fashion_mnist(c.data_dir.as_deref(), Split::Test)?.0
    } else {
        let args = DataArgs::rows(c.data.clone(), c.dataset.clone(), None);
        let (table, _, _) = load_table(&args, &[])?;
        table.matrix_of(&model.feature_names)?
    };
    let p = model.predict(model.prepare(x.view())?.view())?;
    let mut out = String::new();
    match model.loss() {
        Loss::SoftmaxCrossEntropy => {
            out.push_str("class");
            for c in &model.classes {
                out.push_str(&format!(",p_{c}"));
            }
            out.push('\n');
            for row in p.rows() {
                let best = row
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |a, (i, &v)| if v > a.1 { (i, v) } else { a },
                    );
                out.push_str(&csv_field(
                    model.classes.get(best.0).map_or("", |s| s.as_str()),
                ));
                for v in row {
                    out.push_str(&format!(",{v}"));
                }
                out.push('\n');
            }
        }
        Loss::BinaryCrossEntropy => {
            let pos = model.classes.get(1).cloned().unwrap_or_else(|| "1".into());
            out.push_str(&format!("class,p_{pos}\n"));
            for row in p.rows() {
                let cls = if row[0] > 0.5 { 1 } else { 0 };
                let name = model
                    .classes
                    .get(cls)
                    .map_or(cls.to_string(), |s| s.clone());
                out.push_str(&format!("{},{}\n", csv_field(&name), row[0]));
            }
        }
        Loss::MeanSquaredError => {
            out.push_str("prediction\n");
            for row in p.rows() {
                out.push_str(&format!("{}\n", row[0]));
            }
        }
    }
    match &c.output {
        Some(path) => write_file(path, out.as_bytes())?,
        None => crate::output::print_out(&out)?,
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn run_tune(c: TuneCmd) -> Result<()> {
    set_threads(&c.train);
    let problem = load_problem(&c.data)?;
    let n_out = n_outputs(&problem);
    let space = SearchSpace {
        l1: Dimension::parse("l1", &c.net.l1)?,
        l2: Dimension::parse("l2", &c.net.l2)?,
        dropout: Dimension::parse("dropout", &c.net.dropout)?,
        weight_decay: Dimension::parse(
            "weight-decay",
            c.train
                .weight_decay
                .as_deref()
                .unwrap_or(default_wd(&c.train)),
        )?,
        lr: Dimension::parse("lr", c.train.lr.as_deref().unwrap_or(default_lr(&c.train)))?,
    };
    let search = match c.search.as_str() {
        "grid" => Search::Grid,
        "random" => Search::Random {
            trials: c.trials,
            seed: c.train.seed,
        },
        s => bail!("--search {s}: expected grid or random"),
    };
    let candidates = space.candidates(search)?;
    let validation = match c.folds {
        Some(k) => Validation::KFold(k),
        None => {
            if c.train.validation_split.is_nan() || c.train.validation_split <= 0.0 {
                bail!("tuning needs --folds K or a --validation-split above 0");
            }
            Validation::Split(c.train.validation_split)
        }
    };
    let pre = preprocessing(&c.data.scale, problem.pixels, &problem.train.x)?;
    let k = problem.classes.len();
    let make = |cand: &Candidate| -> regml::Result<Sequential<f32>> {
        let specs = build_specs(&c.net, cand, n_out)
            .map_err(|e| regml::Error::InvalidData(e.to_string()))?;
        let mut m = Sequential::<f32>::new(
            problem.feature_names.len(),
            specs,
            problem.loss,
            c.train.seed,
        )?;
        m.preprocessing = pre.clone();
        m.feature_names = problem.feature_names.clone();
        m.classes = problem.classes.clone();
        Ok(m)
    };
    let probe = make(&candidates[0])?;
    let data = dataset(&probe, &problem.train, k)?;
    let test = dataset(&probe, &problem.test, k)?;
    if !c.quiet {
        eprintln!(
            "{}: {} candidates, {} rows, {}",
            problem.source,
            candidates.len(),
            data.len(),
            match validation {
                Validation::KFold(k) => format!("{k}-fold cross-validation"),
                Validation::Split(f) => format!("validation split {f}"),
            }
        );
    }
    let mut quiet = Progress::new(true, c.train.epochs, None);
    let quiet_flag = c.quiet;
    let trials = tune::search(
        &candidates,
        &data,
        validation,
        c.train.seed,
        |cand| {
            let cfg = fit_config(&c.train, &c.net, cand)
                .map_err(|e| regml::Error::InvalidData(e.to_string()))?;
            Trainer::new(make(cand)?, cfg)
        },
        |i, t| {
            if !quiet_flag {
                eprintln!(
                    "trial {:>3}/{}  l1 {:.2e}  l2 {:.2e}  dropout {:.2}  wd {:.2e}  lr {:.2e}  val_loss {:.4}{}",
                    i + 1,
                    candidates.len(),
                    t.candidate.l1,
                    t.candidate.l2,
                    t.candidate.dropout,
                    t.candidate.weight_decay,
                    t.candidate.lr,
                    t.val_loss,
                    t.val_accuracy.map_or(String::new(), |a| format!("  val_accuracy {a:.4}"))
                );
            }
        },
        &mut quiet,
    )?;
    let best = tune::best_trial(&trials).context("no trial produced a finite validation loss")?;
    outln!(
        "{:>5} {:>10} {:>10} {:>8} {:>10} {:>10} {:>10} {:>9} {:>8}",
        "rank",
        "l1",
        "l2",
        "dropout",
        "wd",
        "lr",
        "val_loss",
        "se",
        "val_acc"
    );
    let mut order: Vec<usize> = (0..trials.len()).collect();
    order.sort_by(|&a, &b| trials[a].val_loss.total_cmp(&trials[b].val_loss));
    for (r, &i) in order.iter().enumerate() {
        let t = &trials[i];
        outln!(
            "{:>5} {:>10.3e} {:>10.3e} {:>8.2} {:>10.3e} {:>10.3e} {:>10.4} {:>9.4} {:>8}",
            r + 1,
            t.candidate.l1,
            t.candidate.l2,
            t.candidate.dropout,
            t.candidate.weight_decay,
            t.candidate.lr,
            t.val_loss,
            t.val_loss_se,
            t.val_accuracy.map_or("-".into(), |a| format!("{a:.4}"))
        );
    }
    let b = &trials[best].candidate;
    outln!(
        "best: l1 {} l2 {} dropout {} weight_decay {} lr {}",
        b.l1,
        b.l2,
        b.dropout,
        b.weight_decay,
        b.lr
    );
    let mut test_metrics = None;
    if let Some(path) = &c.save {
        let mut cfg = fit_config(&c.train, &c.net, b)?;
        // early stopping needs validation rows, which the final fit does not hold out
        cfg.early_stopping = None;
        let mut t = Trainer::new(make(b)?, cfg)?;
        t.fit(
            &data,
            None,
            &mut Progress::new(c.quiet, c.train.epochs, None),
        )?;
        let (l, a) = evaluate(&t.model, &test)?;
        match a {
            Some(a) => {
                outln!("refit on all training rows: test loss {l:.4}  test accuracy {a:.4}")
            }
            None => outln!("refit on all training rows: test loss {l:.4}"),
        }
        test_metrics = Some((l, a));
        save_model(&t.model, path)?;
        outln!("saved {}", path.display());
    }
    if let Some(path) = &c.json {
        let v = serde_json::json!({
            "trials": trials,
            "best": best,
            "test_loss": test_metrics.map(|m| m.0),
            "test_accuracy": test_metrics.and_then(|m| m.1),
        });
        crate::output::write_json(path, &v)?;
    }
    Ok(())
}
