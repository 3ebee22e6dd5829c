//! A small two-dimensional network playground (the engine behind `regml explore`): toy data
//! sets, input features computed from `(x1, x2)`, and a network trained a few epochs at a time
//! whose learning rate, regularization and weight decay may change between steps.
//!
//! Points lie in `[-6, 6]^2`. Classification sets have labels 0/1 and train with binary
//! cross-entropy on one sigmoid output; regression sets train with mean squared error.

use crate::nn::{
    evaluate, Activation, Dataset, EarlyStopping, FitConfig, LayerSpec, Loss, NoMonitor,
    OptimizerConfig, OptimizerKind, Regularizer, Sequential, StopReason, Targets, Trainer,
};
use crate::{Error, Result};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The toy data sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Class 1 inside a disc of radius 2.5, class 0 on a ring from 3.5 to 5.
    Circle,
    /// Class 1 where `x1 x2 > 0` (the four quadrants).
    Xor,
    /// Two Gaussian clouds centred at `(2, 2)` (class 1) and `(-2, -2)`.
    Gaussian,
    /// Two interleaved spirals.
    Spiral,
    /// Regression: `y = (x1 + x2) / 10`.
    Plane,
    /// Regression: a sum of Gaussian bumps of alternating sign.
    MultiGaussian,
}

impl Shape {
    /// Whether the targets are classes.
    pub fn is_classification(self) -> bool {
        !matches!(self, Shape::Plane | Shape::MultiGaussian)
    }
}

/// Input features computed from a point (TensorFlow Playground's set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// `x1`.
    X1,
    /// `x2`.
    X2,
    /// `x1^2`.
    X1Sq,
    /// `x2^2`.
    X2Sq,
    /// `x1 x2`.
    X1X2,
    /// `sin x1`.
    SinX1,
    /// `sin x2`.
    SinX2,
}

impl Feature {
    /// Value at `(x1, x2)`.
    pub fn eval(self, x1: f64, x2: f64) -> f64 {
        match self {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Sq => x1 * x1,
            Feature::X2Sq => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        }
    }
}

/// Penalty on the kernels of every dense layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegKind {
    /// No penalty.
    #[default]
    None,
    /// Keras `l1 * sum |w|`.
    L1,
    /// Keras `l2 * sum w^2`.
    L2,
}

/// Optimizers offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optim {
    /// Plain SGD.
    #[default]
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Adam.
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
}

/// Everything that defines a playground run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaygroundConfig {
    /// Data set.
    pub shape: Shape,
    /// Number of points (train + test), 10..=2000.
    pub points: usize,
    /// Noise in percent, 0..=50.
    pub noise: f64,
    /// Share of points used for training, in percent, 10..=90.
    pub train_ratio: f64,
    /// Mini-batch size, 1..=points.
    pub batch_size: usize,
    /// Input features.
    pub features: Vec<Feature>,
    /// Neurons of each hidden layer (at most 6 layers of 1..=8 neurons).
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Learning rate.
    pub learning_rate: f64,
    /// Kernel penalty.
    pub regularization: RegKind,
    /// Its factor.
    pub reg_rate: f64,
    /// Dropout rate after each hidden layer (0 = none).
    pub dropout: f64,
    /// Optimizer.
    pub optimizer: Optim,
    /// Weight decay (coupled for SGD / Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// Stop when the test loss has not improved for this many epochs (restoring the best
    /// weights); `0` = never.
    pub patience: usize,
    /// Seed of the data, the initial weights and the batches.
    pub seed: u64,
}

impl Default for PlaygroundConfig {
    /// TensorFlow Playground's start: circle, no noise, half for training, batch 10, inputs
    /// `x1, x2`, hidden layers 4 and 2, tanh, learning rate 0.03, no regularization.
    fn default() -> Self {
        PlaygroundConfig {
            shape: Shape::Circle,
            points: 500,
            noise: 0.0,
            train_ratio: 50.0,
            batch_size: 10,
            features: vec![Feature::X1, Feature::X2],
            hidden: vec![4, 2],
            activation: Activation::Tanh,
            learning_rate: 0.03,
            regularization: RegKind::None,
            reg_rate: 0.0,
            dropout: 0.0,
            optimizer: Optim::Sgd,
            weight_decay: 0.0,
            patience: 0,
            seed: 0,
        }
    }
}

impl PlaygroundConfig {
    /// Checks every field's range.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &'static str, v: String, why: &str| Err(Error::param(name, v, why));
        if !(10..=2000).contains(&self.points) {
            return bad("points", self.points.to_string(), "must be 10..=2000");
        }
        if !(0.0..=50.0).contains(&self.noise) {
            return bad("noise", self.noise.to_string(), "must be 0..=50 (percent)");
        }
        if !(10.0..=90.0).contains(&self.train_ratio) {
            return bad(
                "train_ratio",
                self.train_ratio.to_string(),
                "must be 10..=90 (percent)",
            );
        }
        if self.batch_size == 0 || self.batch_size > self.points {
            return bad(
                "batch_size",
                self.batch_size.to_string(),
                "must be 1..=points",
            );
        }
        if self.features.is_empty() || self.features.len() > 7 {
            return bad(
                "features",
                format!("{:?}", self.features),
                "choose 1 to 7 features",
            );
        }
        if self.hidden.len() > 6 || self.hidden.iter().any(|&h| !(1..=8).contains(&h)) {
            return bad(
                "hidden",
                format!("{:?}", self.hidden),
                "at most 6 layers of 1..=8 neurons",
            );
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 10.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be in (0, 10]",
            );
        }
        if !(self.reg_rate >= 0.0 && self.reg_rate <= 10.0) {
            return bad("reg_rate", self.reg_rate.to_string(), "must be in [0, 10]");
        }
        if !(0.0..0.95).contains(&self.dropout) {
            return bad("dropout", self.dropout.to_string(), "must be in [0, 0.95)");
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay <= 10.0) {
            return bad(
                "weight_decay",
                self.weight_decay.to_string(),
                "must be in [0, 10]",
            );
        }
        if self.patience > 10_000 {
            return bad(
                "patience",
                self.patience.to_string(),
                "must be at most 10000",
            );
        }
        Ok(())
    }

    fn regularizer(&self) -> Option<Regularizer> {
        match self.regularization {
            RegKind::None => None,
            RegKind::L1 => Some(Regularizer {
                l1: self.reg_rate,
                l2: 0.0,
            }),
            RegKind::L2 => Some(Regularizer {
                l1: 0.0,
                l2: self.reg_rate,
            }),
        }
    }
}

/// `n` points of `shape` with `noise` percent: `(x1, x2)` and the target.
pub fn generate(shape: Shape, n: usize, noise: f64, seed: u64) -> Vec<([f64; 2], f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = |rng: &mut ChaCha8Rng, a: f64, b: f64| a + (b - a) * rng.random::<f64>();
    let nz = noise / 100.0;
    let mut pts = Vec::with_capacity(n);
    for i in 0..n {
        let p = match shape {
            Shape::Circle => {
                let inside = i % 2 == 0;
                let r = if inside {
                    u(&mut rng, 0.0, 2.5)
                } else {
                    u(&mut rng, 3.5, 5.0)
                };
                let a = u(&mut rng, 0.0, std::f64::consts::TAU);
                let (x, y) = (r * a.cos(), r * a.sin());
                let (dx, dy) = (u(&mut rng, -5.0, 5.0) * nz, u(&mut rng, -5.0, 5.0) * nz);
                // the label follows the noisy point's distance to the origin
                let (x, y) = (x + dx, y + dy);
                ([x, y], f64::from((x * x + y * y).sqrt() < 3.0))
            }
            Shape::Xor => {
                let pad = |v: f64| if v > 0.0 { v + 0.3 } else { v - 0.3 };
                let (x, y) = (pad(u(&mut rng, -5.0, 5.0)), pad(u(&mut rng, -5.0, 5.0)));
                let label = f64::from(x * y > 0.0);
                let (dx, dy) = (u(&mut rng, -5.0, 5.0) * nz, u(&mut rng, -5.0, 5.0) * nz);
                ([x + dx, y + dy], label)
            }
            Shape::Gaussian => {
                let pos = i % 2 == 0;
                let c = if pos { 2.0 } else { -2.0 };
                let sd = 0.5 + 3.5 * nz;
                let x = c + sd * crate::nn::standard_normal(&mut rng);
                let y = c + sd * crate::nn::standard_normal(&mut rng);
                ([x, y], f64::from(pos))
            }
            Shape::Spiral => {
                let pos = i % 2 == 0;
                let t = (i / 2) as f64 / (n / 2).max(1) as f64;
                let r = 5.0 * t;
                let a =
                    1.75 * t * std::f64::consts::TAU + if pos { 0.0 } else { std::f64::consts::PI };
                let (dx, dy) = (
                    u(&mut rng, -1.0, 1.0) * 5.0 * nz,
                    u(&mut rng, -1.0, 1.0) * 5.0 * nz,
                );
                ([r * a.sin() + dx, r * a.cos() + dy], f64::from(pos))
            }
            Shape::Plane => {
                let (x, y) = (u(&mut rng, -6.0, 6.0), u(&mut rng, -6.0, 6.0));
                let (dx, dy) = (u(&mut rng, -6.0, 6.0) * nz, u(&mut rng, -6.0, 6.0) * nz);
                ([x, y], (x + dx + y + dy) / 10.0)
            }
            Shape::MultiGaussian => {
                let (x, y) = (u(&mut rng, -6.0, 6.0), u(&mut rng, -6.0, 6.0));
                let (dx, dy) = (u(&mut rng, -6.0, 6.0) * nz, u(&mut rng, -6.0, 6.0) * nz);
                ([x, y], bumps(x + dx, y + dy))
            }
        };
        pts.push(p);
    }
    pts
}

/// The regression surface of [`Shape::MultiGaussian`]: six bumps of height +-1.
pub fn bumps(x: f64, y: f64) -> f64 {
    const C: [(f64, f64, f64); 6] = [
        (-4.0, 2.5, 1.0),
        (0.0, 2.5, -1.0),
        (4.0, 2.5, 1.0),
        (-4.0, -2.5, -1.0),
        (0.0, -2.5, 1.0),
        (4.0, -2.5, -1.0),
    ];
    C.iter()
        .map(|(cx, cy, s)| s * (-((x - cx).powi(2) + (y - cy).powi(2)) / 3.2).exp())
        .sum()
}

/// One step's numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    /// Epochs completed.
    pub epoch: usize,
    /// Training loss (data loss plus penalty, as Keras reports it).
    pub train_loss: f64,
    /// Test loss (same definition).
    pub test_loss: f64,
    /// Training accuracy (classification).
    pub train_accuracy: Option<f64>,
    /// Test accuracy (classification).
    pub test_accuracy: Option<f64>,
    /// Whether early stopping ended the run (the best weights were restored).
    pub stopped: bool,
    /// Exact zeros among the kernel weights.
    pub zero_weights: usize,
    /// Number of kernel weights.
    pub kernel_weights: usize,
}

/// A live run: data, network and trainer.
pub struct Playground {
    config: PlaygroundConfig,
    /// Training points and targets.
    pub train: Vec<([f64; 2], f64)>,
    /// Test points and targets.
    pub test: Vec<([f64; 2], f64)>,
    train_set: Dataset<f32>,
    test_set: Dataset<f32>,
    trainer: Trainer<f32>,
}

/// The points of an `n x n` grid over `[-6, 6]^2`, row by row from the top (`x2 = 6`) and
/// left to right.
fn grid(n: usize) -> Vec<[f64; 2]> {
    let at = |k: usize| -6.0 + 12.0 * k as f64 / (n - 1) as f64;
    (0..n * n).map(|i| [at(i % n), at(n - 1 - i / n)]).collect()
}

fn dataset(pts: &[([f64; 2], f64)], features: &[Feature]) -> Result<Dataset<f32>> {
    let x = Array2::from_shape_fn((pts.len(), features.len()), |(i, j)| {
        features[j].eval(pts[i].0[0], pts[i].0[1]) as f32
    });
    let y = Array2::from_shape_fn((pts.len(), 1), |(i, _)| pts[i].1 as f32);
    Dataset::new(x, Targets::Values(y))
}

impl Playground {
    /// Generates the data and a fresh network for `config`.
    pub fn new(config: PlaygroundConfig) -> Result<Self> {
        config.check()?;
        let pts = generate(config.shape, config.points, config.noise, config.seed);
        // a seeded shuffle before the split, so both parts cover the whole shape
        let order = crate::nn::shuffled_indices(pts.len(), config.seed ^ 0x5eed);
        let n_train = ((config.points as f64) * config.train_ratio / 100.0).round() as usize;
        let n_train = n_train.clamp(1, config.points - 1);
        let train: Vec<_> = order[..n_train].iter().map(|&i| pts[i]).collect();
        let test: Vec<_> = order[n_train..].iter().map(|&i| pts[i]).collect();
        let reg = config.regularizer();
        let mut specs = Vec::new();
        for &h in &config.hidden {
            specs.push(LayerSpec::dense(h, config.activation).with_kernel_regularizer(reg));
            if config.dropout > 0.0 {
                specs.push(LayerSpec::dropout(config.dropout));
            }
        }
        let (out, loss) = if config.shape.is_classification() {
            (Activation::Linear, Loss::BinaryCrossEntropy)
        } else {
            (Activation::Linear, Loss::MeanSquaredError)
        };
        specs.push(LayerSpec::dense(1, out).with_kernel_regularizer(reg));
        let model = Sequential::<f32>::new(config.features.len(), specs, loss, config.seed)?;
        let kind = match config.optimizer {
            Optim::Sgd => OptimizerKind::sgd(0.0, false),
            Optim::Momentum => OptimizerKind::sgd(0.9, false),
            Optim::Adam => OptimizerKind::adam(),
            Optim::Adamw => OptimizerKind::adamw(),
        };
        let mut opt = OptimizerConfig::new(kind);
        opt.lr = config.learning_rate;
        opt.weight_decay = config.weight_decay;
        let mut fit = FitConfig::new(0, config.batch_size.min(n_train), opt);
        fit.seed = config.seed;
        if config.patience > 0 {
            fit.early_stopping = Some(EarlyStopping::val_loss(config.patience));
        }
        let train_set = dataset(&train, &config.features)?;
        let test_set = dataset(&test, &config.features)?;
        let trainer = Trainer::new(model, fit)?;
        Ok(Playground {
            config,
            train,
            test,
            train_set,
            test_set,
            trainer,
        })
    }

    /// The settings (with any live changes applied).
    pub fn config(&self) -> &PlaygroundConfig {
        &self.config
    }

    /// Applies the settings that may change while training: learning rate, regularization
    /// and its rate, weight decay. Any other difference from the current settings is an
    /// error (those need a new run).
    pub fn update_live(&mut self, new: &PlaygroundConfig) -> Result<()> {
        new.check()?;
        let mut same = new.clone();
        same.learning_rate = self.config.learning_rate;
        same.regularization = self.config.regularization;
        same.reg_rate = self.config.reg_rate;
        same.weight_decay = self.config.weight_decay;
        if same != self.config {
            return Err(Error::param(
                "settings",
                "changed",
                "only learning rate, regularization and weight decay change while running; reset for the rest",
            ));
        }
        if new.regularizer() != self.config.regularizer() {
            self.trainer.set_kernel_regularizers(new.regularizer());
        }
        self.trainer.config.optimizer.lr = new.learning_rate;
        self.trainer.optimizer.config.lr = new.learning_rate;
        self.trainer.optimizer.config.weight_decay = new.weight_decay;
        self.trainer.config.optimizer.weight_decay = new.weight_decay;
        self.config = new.clone();
        Ok(())
    }

    /// Trains `epochs` more epochs (fewer if early stopping ends the run) and reports.
    pub fn step(&mut self, epochs: usize) -> Result<StepReport> {
        if epochs > 1000 {
            return Err(Error::param("epochs", epochs, "at most 1000 per step"));
        }
        if epochs > 0 && !self.stopped() {
            self.trainer.extend(epochs);
            self.trainer
                .fit(&self.train_set, Some(&self.test_set), &mut NoMonitor)?;
        }
        self.report()
    }

    /// Whether early stopping has ended the run.
    pub fn stopped(&self) -> bool {
        self.trainer.history.stop_reason == Some(StopReason::EarlyStopping)
    }

    /// Current numbers without training.
    pub fn report(&self) -> Result<StepReport> {
        // accuracy counts a positive logit (probability above 0.5) as class 1
        let (train_loss, train_accuracy) = evaluate(&self.trainer.model, &self.train_set)?;
        let (test_loss, test_accuracy) = evaluate(&self.trainer.model, &self.test_set)?;
        let zeros = self.trainer.model.kernel_zeros();
        Ok(StepReport {
            epoch: self.trainer.history.epochs.len(),
            train_loss,
            test_loss,
            train_accuracy,
            test_accuracy,
            stopped: self.stopped(),
            zero_weights: zeros.iter().map(|z| z.1).sum(),
            kernel_weights: zeros.iter().map(|z| z.2).sum(),
        })
    }

    /// The network's output on an `n x n` grid over `[-6, 6]^2`, row by row from the top
    /// (`x2 = 6`) and left to right: probability of class 1, or the regression value.
    pub fn heatmap(&self, n: usize) -> Result<Vec<f32>> {
        let n = n.clamp(2, 200);
        let pts: Vec<([f64; 2], f64)> = grid(n).into_iter().map(|p| (p, 0.0)).collect();
        let d = dataset(&pts, &self.config.features)?;
        // probabilities (sigmoid output) or values
        let out = self.trainer.model.predict(d.x.view())?;
        Ok(out.iter().copied().collect())
    }
}

/// What the network computes, neuron by neuron, for the network diagram.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkView {
    /// Grid size: every map is `n x n` over `[-6, 6]^2`, row by row from the top.
    pub n: usize,
    /// One map per input feature (its values).
    pub inputs: Vec<Vec<f32>>,
    /// Per hidden layer, one map per neuron (its activation); the last entry is the output
    /// neuron before the sigmoid.
    pub layers: Vec<Vec<Vec<f32>>>,
    /// Per dense layer, the kernel `weights[l][i][j]` from unit `i` to unit `j`.
    pub weights: Vec<Vec<Vec<f32>>>,
}

impl Playground {
    /// Every neuron's output on an `n x n` grid (inference mode: dropout is the identity).
    pub fn network_view(&self, n: usize) -> Result<NetworkView> {
        let n = n.clamp(2, 64);
        let grid = grid(n);
        let inputs: Vec<Vec<f32>> = self
            .config
            .features
            .iter()
            .map(|f| grid.iter().map(|&[a, b]| f.eval(a, b) as f32).collect())
            .collect();
        let model = &self.trainer.model;
        let mut current: Vec<Vec<f32>> = inputs.clone();
        let mut layers = Vec::new();
        let mut weights = Vec::new();
        let slots = model.slots();
        for (li, spec) in model.specs().iter().enumerate() {
            let LayerSpec::Dense {
                units, activation, ..
            } = spec
            else {
                continue;
            };
            let kernel = slots
                .iter()
                .find(|s| s.layer == li && s.kind == crate::nn::ParamKind::Kernel)
                .ok_or_else(|| Error::InvalidData("dense layer without a kernel".into()))?;
            let bias = slots
                .iter()
                .find(|s| s.layer == li && s.kind == crate::nn::ParamKind::Bias);
            let w = &model.params[kernel.range.clone()];
            let inputs_here = current.len();
            let mut out = vec![vec![0f32; n * n]; *units];
            for (j, map) in out.iter_mut().enumerate() {
                let b = bias.map_or(0.0, |s| model.params[s.range.start + j]);
                for (p, v) in map.iter_mut().enumerate() {
                    let mut z = b;
                    for (i, col) in current.iter().enumerate() {
                        z += w[i * units + j] * col[p];
                    }
                    *v = z;
                }
                activation.apply(map);
            }
            weights.push(
                (0..inputs_here)
                    .map(|i| (0..*units).map(|j| w[i * units + j]).collect())
                    .collect(),
            );
            layers.push(out.clone());
            current = out;
        }
        Ok(NetworkView {
            n,
            inputs,
            layers,
            weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_generates_points_in_range_with_both_classes() {
        for shape in [
            Shape::Circle,
            Shape::Xor,
            Shape::Gaussian,
            Shape::Spiral,
            Shape::Plane,
            Shape::MultiGaussian,
        ] {
            let pts = generate(shape, 200, 10.0, 3);
            assert_eq!(pts.len(), 200);
            assert!(pts
                .iter()
                .all(|(p, y)| p[0].abs() < 9.0 && p[1].abs() < 9.0 && y.is_finite()));
            if shape.is_classification() {
                let ones = pts.iter().filter(|(_, y)| *y == 1.0).count();
                assert!(
                    (40..=160).contains(&ones),
                    "{shape:?}: {ones} of 200 in class 1"
                );
            }
        }
    }

    #[test]
    fn training_learns_the_circle_and_live_changes_apply() {
        let cfg = PlaygroundConfig {
            features: vec![Feature::X1Sq, Feature::X2Sq],
            optimizer: Optim::Adam,
            ..PlaygroundConfig::default()
        };
        let mut pg = Playground::new(cfg.clone()).expect("playground");
        let r = pg.step(60).expect("step");
        assert_eq!(r.epoch, 60);
        assert!(r.test_accuracy.unwrap_or(0.0) > 0.95, "{r:?}");
        let heat = pg.heatmap(21).expect("heatmap");
        // the diagram's output neuron is the logit of the heat map's probability
        let view = pg.network_view(21).expect("view");
        assert_eq!(view.layers.len(), 3);
        let logits = view.layers.last().expect("output")[0].clone();
        for (z, p) in logits.iter().zip(&heat) {
            assert!((1.0 / (1.0 + (-z).exp()) - p).abs() < 1e-4, "{z} vs {p}");
        }
        assert_eq!(view.weights[0].len(), 2);
        assert_eq!(view.weights[0][0].len(), 4);
        // the centre is class 1, the corners class 0
        assert!(
            heat[10 * 21 + 10] > 0.9 && heat[0] < 0.1,
            "{} {}",
            heat[220],
            heat[0]
        );
        // L2 switched on while running: the penalty enters the reported loss at once
        let before = pg.report().expect("report").train_loss;
        let live = PlaygroundConfig {
            regularization: RegKind::L2,
            reg_rate: 0.1,
            ..cfg.clone()
        };
        pg.update_live(&live).expect("live");
        assert!(pg.report().expect("report").train_loss > before);
        let bad = PlaygroundConfig {
            hidden: vec![3],
            ..live
        };
        assert!(pg.update_live(&bad).is_err());
    }
}
