//! The training loop: epochs of shuffled mini-batches, validation, history, early stopping,
//! a non-finite-loss guard, and state that checkpoints can save and resume.

use super::loss::Targets;
use super::model::Sequential;
use super::optim::{clip_global_norm, Optimizer, OptimizerConfig};
use super::regularizer::{L1Mode, Regularizer};
use super::schedule::{Schedule, ScheduleState};
use super::Real;
use crate::{Error, Result};
use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Inputs (already preprocessed) and targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<F> {
    /// One row per sample.
    pub x: Array2<F>,
    /// One target per row.
    pub y: Targets<F>,
}

impl<F: Real> Dataset<F> {
    /// Pairs inputs and targets, checking the row counts agree and inputs are finite.
    pub fn new(x: Array2<F>, y: Targets<F>) -> Result<Self> {
        if x.nrows() != y.len() {
            return Err(Error::ShapeMismatch {
                op: "dataset",
                expected: format!("{} targets", x.nrows()),
                got: format!("{}", y.len()),
            });
        }
        if let Some((idx, _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "x",
                row: idx.0,
                column: idx.1,
            });
        }
        Ok(Dataset { x, y })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Self {
        Dataset {
            x: self.x.select(Axis(0), idx),
            y: self.y.select(idx),
        }
    }

    /// Shuffles the rows with `seed` and splits off the last `fraction` as a validation
    /// set (Keras' `validation_split`, but shuffled first): returns `(train, validation)`.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let (tr, va) = holdout_indices(self.len(), fraction, seed, "validation_split")?;
        Ok((self.select(&tr), self.select(&va)))
    }
}

/// A seeded hold-out of `0..n`: the rows are permuted with [`shuffled_indices`] and the last
/// `round(n * fraction)` of the permutation are held out. Returns `(kept, held_out)`; `name`
/// is the parameter named in errors.
pub fn holdout_indices(
    n: usize,
    fraction: f64,
    seed: u64,
    name: &'static str,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::param(name, fraction, "must lie in (0, 1)"));
    }
    let n_out = ((n as f64) * fraction).round() as usize;
    if n_out == 0 || n_out >= n {
        return Err(Error::InvalidData(format!(
            "{name} {fraction} of {n} rows leaves an empty part"
        )));
    }
    let mut idx = shuffled_indices(n, seed);
    let held = idx.split_off(n - n_out);
    Ok((idx, held))
}

/// A seeded random permutation of `0..n` (the one every split in `nn` uses).
pub fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    shuffle(&mut idx, &mut ChaCha8Rng::seed_from_u64(seed));
    idx
}

/// Fisher-Yates shuffle.
pub(crate) fn shuffle(idx: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in (1..idx.len()).rev() {
        let j = rng.random_range(0..=i);
        idx.swap(i, j);
    }
}

/// The quantity early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMetric {
    /// Training loss (minimized).
    Loss,
    /// Validation loss (minimized).
    ValLoss,
    /// Training accuracy (maximized).
    Accuracy,
    /// Validation accuracy (maximized).
    ValAccuracy,
}

impl MonitorMetric {
    /// Parses `loss`, `val_loss`, `accuracy`, `val_accuracy`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "loss" => Ok(MonitorMetric::Loss),
            "val_loss" => Ok(MonitorMetric::ValLoss),
            "accuracy" => Ok(MonitorMetric::Accuracy),
            "val_accuracy" => Ok(MonitorMetric::ValAccuracy),
            _ => Err(Error::param(
                "monitor",
                s,
                "expected loss, val_loss, accuracy or val_accuracy",
            )),
        }
    }

    fn maximize(self) -> bool {
        matches!(self, MonitorMetric::Accuracy | MonitorMetric::ValAccuracy)
    }

    fn needs_validation(self) -> bool {
        matches!(self, MonitorMetric::ValLoss | MonitorMetric::ValAccuracy)
    }

    fn read(self, log: &EpochLog) -> Option<f64> {
        match self {
            MonitorMetric::Loss => Some(log.loss),
            MonitorMetric::ValLoss => log.val_loss,
            MonitorMetric::Accuracy => log.accuracy,
            MonitorMetric::ValAccuracy => log.val_accuracy,
        }
    }
}

/// Keras `EarlyStopping`: stop when `monitor` has not improved by more than `min_delta` for
/// `patience` epochs. With `restore_best_weights`, the weights of the best epoch are
/// restored whenever training ends (early stop, epoch limit, or a stop requested by the
/// monitor); Keras restores them only on an early stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Watched quantity.
    pub monitor: MonitorMetric,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Restore the best epoch's weights at the end.
    pub restore_best_weights: bool,
}

impl EarlyStopping {
    /// Watches `val_loss` with the given patience, `min_delta = 0`, restoring the best
    /// weights.
    pub fn val_loss(patience: usize) -> Self {
        EarlyStopping {
            monitor: MonitorMetric::ValLoss,
            patience,
            min_delta: 0.0,
            restore_best_weights: true,
        }
    }
}

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    /// Number of epochs.
    pub epochs: usize,
    /// Mini-batch size (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Seed of the shuffling and dropout masks (epoch `e` uses stream `e + 1`).
    pub seed: u64,
    /// Shuffle the training rows every epoch.
    pub shuffle: bool,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Linear warmup epochs before the schedule.
    pub warmup_epochs: usize,
    /// Warmup start factor.
    pub warmup_start: f64,
    /// How L1 regularization is applied.
    pub l1_mode: L1Mode,
    /// Early stopping, if any.
    pub early_stopping: Option<EarlyStopping>,
}

impl FitConfig {
    /// `epochs` epochs of batches of `batch_size` with `optimizer`, seed 0, shuffling, no
    /// schedule, no early stopping.
    pub fn new(epochs: usize, batch_size: usize, optimizer: OptimizerConfig) -> Self {
        FitConfig {
            epochs,
            batch_size,
            seed: 0,
            shuffle: true,
            optimizer,
            schedule: Schedule::Constant,
            warmup_epochs: 0,
            warmup_start: 1.0 / 3.0,
            l1_mode: L1Mode::Subgradient,
            early_stopping: None,
        }
    }

    /// Validates the settings.
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 || self.batch_size > 1 << 20 {
            return Err(Error::param(
                "batch_size",
                self.batch_size,
                "must lie in 1..=1048576",
            ));
        }
        if self.epochs > 1 << 24 {
            return Err(Error::param("epochs", self.epochs, "too large"));
        }
        self.optimizer.check()?;
        ScheduleState::new(self.schedule.clone(), self.warmup_epochs, self.warmup_start)?;
        if let Some(es) = &self.early_stopping {
            if !(es.min_delta >= 0.0 && es.min_delta.is_finite()) {
                return Err(Error::param(
                    "min_delta",
                    es.min_delta,
                    "must be finite and >= 0",
                ));
            }
        }
        Ok(())
    }
}

/// Metrics of one epoch. `loss` is the mean over the epoch's batches (weighted by batch size)
/// of the data loss plus all penalties, as Keras reports it; validation values are computed
/// after the epoch with inference behaviour (no dropout, running batch-norm statistics).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Training loss.
    pub loss: f64,
    /// Training accuracy (classification).
    pub accuracy: Option<f64>,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Validation accuracy.
    pub val_accuracy: Option<f64>,
    /// Learning rate used in the epoch.
    pub lr: f64,
    /// Wall-clock seconds of the epoch's training steps (validation excluded).
    pub seconds: f64,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All epochs ran.
    EpochLimit,
    /// Early stopping triggered.
    EarlyStopping,
    /// The monitor asked to stop.
    Requested,
}

/// Per-epoch metrics and the outcome of training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One entry per completed epoch.
    pub epochs: Vec<EpochLog>,
    /// Epoch (1-based) whose weights the model holds at the end when best weights were
    /// restored.
    pub best_epoch: Option<usize>,
    /// Why training ended (`None` while running).
    pub stop_reason: Option<StopReason>,
}

impl History {
    /// CSV with header `epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds` (empty cells
    /// for missing values).
    pub fn to_csv(&self) -> String {
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let mut s = String::from("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n");
        for e in &self.epochs {
            s.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                e.epoch,
                e.loss,
                opt(e.accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.lr,
                e.seconds
            ));
        }
        s
    }
}

/// Whether training should go on after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitored {
    /// Go on.
    Continue,
    /// Stop now (best weights are still restored).
    Stop,
}

/// Observer of training progress (the library never prints; the CLI shows progress).
pub trait Monitor<F> {
    /// Called before each epoch with its number (1-based) and batch count.
    fn epoch_start(&mut self, _epoch: usize, _n_batches: usize) {}
    /// Called after each batch with the running mean training loss of the epoch.
    fn batch_end(&mut self, _batch: usize, _running_loss: f64) {}
    /// Called after each epoch with the trainer (its history holds the epoch's log);
    /// errors (a failed checkpoint write, say) abort training.
    fn epoch_end(&mut self, _trainer: &Trainer<F>) -> Result<Monitored> {
        Ok(Monitored::Continue)
    }
}

/// A monitor that observes nothing.
pub struct NoMonitor;

impl<F> Monitor<F> for NoMonitor {}

/// Best value seen by early stopping, with the weights of that epoch.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Best<F> {
    pub value: f64,
    pub epoch: usize,
    pub params: Vec<F>,
    pub state: Vec<F>,
}

/// A network with everything needed to train it and to resume training: optimizer state,
/// schedule state, early-stopping state and history.
#[derive(Clone, Debug)]
pub struct Trainer<F> {
    /// The network.
    pub model: Sequential<F>,
    /// Optimizer state.
    pub optimizer: Optimizer<F>,
    /// Schedule state.
    pub schedule: ScheduleState,
    /// Settings.
    pub config: FitConfig,
    /// Metrics so far.
    pub history: History,
    pub(crate) best: Option<Best<F>>,
    pub(crate) wait: usize,
}

impl<F: Real> Trainer<F> {
    /// A trainer for `model` with fresh optimizer state.
    pub fn new(model: Sequential<F>, config: FitConfig) -> Result<Self> {
        config.check()?;
        let optimizer = Optimizer::new(config.optimizer.clone(), &model, config.l1_mode)?;
        let schedule = ScheduleState::new(
            config.schedule.clone(),
            config.warmup_epochs,
            config.warmup_start,
        )?;
        Ok(Trainer {
            model,
            optimizer,
            schedule,
            config,
            history: History::default(),
            best: None,
            wait: 0,
        })
    }

    /// Number of completed epochs.
    pub fn epochs_done(&self) -> usize {
        self.history.epochs.len()
    }

    /// Changes the kernel regularizer of every dense layer between epochs (the optimizer's
    /// moments are kept).
    pub fn set_kernel_regularizers(&mut self, reg: Option<Regularizer>) {
        self.model.set_kernel_regularizers(reg);
        self.optimizer
            .regularizers_changed(&self.model, self.config.l1_mode);
    }

    /// Allows `epochs` more epochs after training ended at its epoch limit (interactive
    /// stepping); a run stopped early stays stopped.
    pub fn extend(&mut self, epochs: usize) {
        if self.history.stop_reason != Some(StopReason::EarlyStopping) {
            self.history.stop_reason = None;
            self.config.epochs = self.history.epochs.len() + epochs;
        }
    }

    /// Whether training has ended (epoch limit, early stopping or a requested stop).
    pub fn finished(&self) -> bool {
        self.history.stop_reason.is_some()
    }

    /// Trains until the epoch limit, early stopping, or a stop from `monitor`, continuing
    /// from the last completed epoch (so a trainer restored from a checkpoint resumes
    /// exactly). A non-finite loss stops training with [`Error::Diverged`].
    pub fn fit(
        &mut self,
        train: &Dataset<F>,
        validation: Option<&Dataset<F>>,
        monitor: &mut dyn Monitor<F>,
    ) -> Result<&History> {
        self.check_data(train, validation)?;
        if self.finished() {
            return Ok(&self.history);
        }
        let n = train.len();
        let bs = self.config.batch_size.min(n);
        let n_batches = n.div_ceil(bs);
        let mut ws = self.model.workspace(bs);
        let mut grads = vec![F::zero(); self.model.params.len()];
        let mut order: Vec<usize> = (0..n).collect();
        let l1_in_grad = self.config.l1_mode == L1Mode::Subgradient;
        let classification = self.model.loss().is_classification();
        while self.epochs_done() < self.config.epochs {
            let epoch = self.epochs_done();
            let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
            rng.set_stream(epoch as u64 + 1);
            for (i, o) in order.iter_mut().enumerate() {
                *o = i;
            }
            if self.config.shuffle {
                shuffle(&mut order, &mut rng);
            }
            let lr = self.schedule.lr(self.config.optimizer.lr, epoch);
            monitor.epoch_start(epoch + 1, n_batches);
            let start = Instant::now();
            let (mut loss_sum, mut correct) = (0.0f64, 0.0f64);
            // kernel and bias penalties at the current weights (the optimizer returns them
            // after each update)
            let mut penalty = self.model.weight_penalty();
            for (bi, rows) in order.chunks(bs).enumerate() {
                self.model.gather(train.x.view(), rows, &mut ws);
                ws.targets.gather(&train.y, rows);
                let (data_loss, c) = self.model.train_step_loss(&mut ws, &mut rng);
                let loss = data_loss + penalty;
                if !loss.is_finite() {
                    self.finish_restore();
                    return Err(Error::Diverged {
                        epoch: epoch + 1,
                        batch: bi + 1,
                        value: loss,
                    });
                }
                self.model.backward(&mut ws, &mut grads, l1_in_grad);
                if let Some(c) = self.config.optimizer.clip_norm {
                    clip_global_norm(&mut grads, c);
                }
                penalty = self.optimizer.update(&mut self.model.params, &grads, lr);
                loss_sum += loss * rows.len() as f64;
                correct += c;
                monitor.batch_end(bi + 1, loss_sum / ((bi * bs + rows.len()) as f64));
            }
            let seconds = start.elapsed().as_secs_f64();
            let (val_loss, val_accuracy) = match validation {
                Some(v) => {
                    let (l, a) = evaluate(&self.model, v)?;
                    (Some(l), a)
                }
                None => (None, None),
            };
            let log = EpochLog {
                epoch: epoch + 1,
                loss: loss_sum / n as f64,
                accuracy: classification.then_some(correct / n as f64),
                val_loss,
                val_accuracy,
                lr,
                seconds,
            };
            self.schedule.observe(
                self.config.optimizer.lr,
                epoch,
                log.val_loss.unwrap_or(log.loss),
            );
            let stop_early = self.early_stopping_step(&log);
            self.history.epochs.push(log);
            if stop_early {
                self.history.stop_reason = Some(StopReason::EarlyStopping);
            } else if self.epochs_done() >= self.config.epochs {
                self.history.stop_reason = Some(StopReason::EpochLimit);
            }
            if self.history.stop_reason.is_some() {
                self.finish_restore();
                monitor.epoch_end(self)?;
                break;
            }
            if monitor.epoch_end(self)? == Monitored::Stop {
                self.history.stop_reason = Some(StopReason::Requested);
                self.finish_restore();
                break;
            }
        }
        if self.history.stop_reason.is_none() {
            self.history.stop_reason = Some(StopReason::EpochLimit);
            self.finish_restore();
        }
        Ok(&self.history)
    }

    fn check_data(&self, train: &Dataset<F>, validation: Option<&Dataset<F>>) -> Result<()> {
        if train.is_empty() {
            return Err(Error::InvalidData("empty training set".into()));
        }
        for d in std::iter::once(train).chain(validation) {
            if d.x.ncols() != self.model.n_inputs() {
                return Err(Error::ShapeMismatch {
                    op: "fit",
                    expected: format!("{} features", self.model.n_inputs()),
                    got: format!("{} features", d.x.ncols()),
                });
            }
            self.model
                .loss()
                .check_targets(&d.y, self.model.n_outputs())?;
        }
        if let Some(es) = &self.config.early_stopping {
            if es.monitor.needs_validation() && validation.is_none() {
                return Err(Error::param(
                    "monitor",
                    format!("{:?}", es.monitor),
                    "needs validation data",
                ));
            }
        }
        Ok(())
    }

    /// Updates early-stopping state after an epoch; true when training should stop.
    fn early_stopping_step(&mut self, log: &EpochLog) -> bool {
        let Some(es) = self.config.early_stopping.clone() else {
            return false;
        };
        let Some(value) = es.monitor.read(log) else {
            return false;
        };
        let improved = match &self.best {
            None => value.is_finite(),
            Some(b) => {
                if es.monitor.maximize() {
                    value - es.min_delta > b.value
                } else {
                    value + es.min_delta < b.value
                }
            }
        };
        if improved {
            self.wait = 0;
            let (params, state) = if es.restore_best_weights {
                (self.model.params.clone(), self.model.state.clone())
            } else {
                (Vec::new(), Vec::new())
            };
            self.best = Some(Best {
                value,
                epoch: log.epoch,
                params,
                state,
            });
            false
        } else {
            self.wait += 1;
            self.wait >= es.patience.max(1)
        }
    }

    /// Restores the best weights when early stopping asks for it.
    fn finish_restore(&mut self) {
        let restore = self
            .config
            .early_stopping
            .as_ref()
            .is_some_and(|e| e.restore_best_weights);
        if let (true, Some(b)) = (restore, &self.best) {
            if b.params.len() == self.model.params.len() && b.state.len() == self.model.state.len()
            {
                self.model.params.copy_from_slice(&b.params);
                self.model.state.copy_from_slice(&b.state);
                self.history.best_epoch = Some(b.epoch);
            }
        }
    }

    /// The epoch (1-based) with the best monitored value so far, if early stopping is on.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.as_ref().map(|b| b.epoch)
    }
}

/// Inference loss and accuracy of `model` on `data`: mean data loss plus activity and weight
/// penalties (Keras' `val_loss`), and the accuracy for classification losses.
pub fn evaluate<F: Real>(model: &Sequential<F>, data: &Dataset<F>) -> Result<(f64, Option<f64>)> {
    let n = data.len();
    if n == 0 {
        return Err(Error::InvalidData("empty evaluation set".into()));
    }
    if data.x.ncols() != model.n_inputs() {
        return Err(Error::ShapeMismatch {
            op: "evaluate",
            expected: format!("{} features", model.n_inputs()),
            got: format!("{} features", data.x.ncols()),
        });
    }
    model.loss().check_targets(&data.y, model.n_outputs())?;
    let cap = 1024.min(n);
    let mut ws = model.workspace(cap);
    let rows: Vec<usize> = (0..n).collect();
    let (mut loss, mut correct) = (0.0f64, 0.0f64);
    for chunk in rows.chunks(cap) {
        model.gather(data.x.view(), chunk, &mut ws);
        ws.targets.gather(&data.y, chunk);
        let (l, c, activity) = model.eval_loss(&mut ws);
        loss += l + activity * chunk.len() as f64;
        correct += c;
    }
    let acc = model
        .loss()
        .is_classification()
        .then_some(correct / n as f64);
    Ok((loss / n as f64 + model.weight_penalty(), acc))
}
