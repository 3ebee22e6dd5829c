//! The `Sequential` network: flat parameter storage, forward and backward passes.
//!
//! All trainable parameters live in one flat vector (`params`), in layer order; each layer
//! knows its ranges ([`ParamSlot`]). The optimizer runs one fused loop over contiguous
//! memory, and gradient clipping, checkpoints and the model file see one buffer.
//! Activations and gradients live in a [`Workspace`] allocated once for a maximum batch
//! size, so a training step allocates nothing.

use super::layers::{Init, LayerSpec};
use super::loss::{Loss, TargetBatch};
use super::regularizer::Regularizer;
use super::Real;
use crate::{Error, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What a parameter block is (decides weight decay and regularization).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// Dense kernel `W`.
    Kernel,
    /// Dense bias `b`.
    Bias,
    /// Batch-norm scale `gamma`.
    Gamma,
    /// Batch-norm shift `beta`.
    Beta,
}

/// One named block of the flat parameter vector.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSlot {
    /// `layers.{i}.kernel`, `layers.{i}.bias`, `layers.{i}.gamma`, `layers.{i}.beta`.
    pub name: String,
    /// Layer index.
    pub layer: usize,
    /// Kind of parameter.
    pub kind: ParamKind,
    /// Position in the flat vector.
    pub range: Range<usize>,
    /// Shape (row-major).
    pub shape: Vec<usize>,
}

/// Input preprocessing stored with the model and applied before the first layer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preprocessing {
    /// Inputs are used as they are.
    #[default]
    None,
    /// `x * factor` (e.g. `1/255` for 8-bit pixels).
    Scale {
        /// Multiplier.
        factor: f64,
    },
    /// `(x - mean_j) / scale_j` per feature (`scale_j = 1` for constant features).
    Standardize {
        /// Training means.
        mean: Vec<f64>,
        /// Training standard deviations (1/n).
        scale: Vec<f64>,
    },
}

impl Preprocessing {
    /// Standardization fitted on the rows of `x`.
    pub fn fit_standardize(x: ArrayView2<f64>) -> Self {
        let n = x.nrows().max(1) as f64;
        let mean: Vec<f64> = x.columns().into_iter().map(|c| c.sum() / n).collect();
        let scale = x
            .columns()
            .into_iter()
            .zip(&mean)
            .map(|(c, &m)| {
                let v = c.iter().map(|&a| (a - m) * (a - m)).sum::<f64>() / n;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Preprocessing::Standardize { mean, scale }
    }

    /// Applies the transform to raw features, converting to the network's float type.
    pub fn apply<F: Real>(&self, x: ArrayView2<f64>) -> Result<Array2<F>> {
        match self {
            Preprocessing::None => Ok(x.mapv(F::of)),
            Preprocessing::Scale { factor } => Ok(x.mapv(|v| F::of(v * factor))),
            Preprocessing::Standardize { mean, scale } => {
                if mean.len() != x.ncols() || scale.len() != x.ncols() {
                    return Err(Error::ShapeMismatch {
                        op: "standardize",
                        expected: format!("{} features", mean.len()),
                        got: format!("{} features", x.ncols()),
                    });
                }
                let mut out = Array2::<F>::zeros(x.raw_dim());
                for (mut o, r) in out.rows_mut().into_iter().zip(x.rows()) {
                    for j in 0..r.len() {
                        o[j] = F::of((r[j] - mean[j]) / scale[j]);
                    }
                }
                Ok(out)
            }
        }
    }

    fn check(&self, n_inputs: usize) -> Result<()> {
        match self {
            Preprocessing::None => Ok(()),
            Preprocessing::Scale { factor } => {
                if !factor.is_finite() {
                    return Err(Error::param("scale factor", factor, "must be finite"));
                }
                Ok(())
            }
            Preprocessing::Standardize { mean, scale } => {
                if mean.len() != n_inputs || scale.len() != n_inputs {
                    return Err(Error::ShapeMismatch {
                        op: "standardize",
                        expected: format!("{n_inputs} means and scales"),
                        got: format!("{} and {}", mean.len(), scale.len()),
                    });
                }
                if mean.iter().any(|m| !m.is_finite())
                    || scale.iter().any(|s| !(s.is_finite() && *s > 0.0))
                {
                    return Err(Error::InvalidData(
                        "standardization needs finite means and positive scales".into(),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Where one layer's parameters and state live.
#[derive(Clone, Debug)]
pub(crate) struct LayerLayout {
    pub n_in: usize,
    pub n_out: usize,
    /// Kernel or gamma.
    pub weight: Range<usize>,
    /// Bias or beta (empty if none).
    pub bias: Range<usize>,
    /// Running mean then running variance in `state` (batch norm only).
    pub state: Range<usize>,
}

/// A feed-forward network: an input width, a stack of layers, a loss, and the parameters.
#[derive(Clone, Debug)]
pub struct Sequential<F> {
    n_inputs: usize,
    specs: Vec<LayerSpec>,
    loss: Loss,
    layout: Vec<LayerLayout>,
    slots: Vec<ParamSlot>,
    /// All trainable parameters, flat, in [`Sequential::slots`] order.
    pub params: Vec<F>,
    /// Non-trainable state: batch-norm running means and variances.
    pub state: Vec<F>,
    /// Preprocessing applied to raw inputs by [`Sequential::prepare`].
    pub preprocessing: Preprocessing,
    /// Input feature names (informational; checked by the CLI).
    pub feature_names: Vec<String>,
    /// Original label of each class index (classification) or target names (regression).
    pub classes: Vec<String>,
}

/// Largest number of parameters accepted (2^28, about 1 GiB in `f32`).
pub const MAX_PARAMS: usize = 1 << 28;

impl<F: Real> Sequential<F> {
    /// Builds a network with `n_inputs` input features and initializes its parameters from
    /// `seed` (kernels by their [`Init`], biases and `beta` zero, `gamma` one).
    pub fn new(n_inputs: usize, specs: Vec<LayerSpec>, loss: Loss, seed: u64) -> Result<Self> {
        let mut net = Self::uninit(n_inputs, specs, loss)?;
        net.init(seed);
        Ok(net)
    }

    /// Builds the network structure with all parameters zero (used when loading).
    pub(crate) fn uninit(n_inputs: usize, specs: Vec<LayerSpec>, loss: Loss) -> Result<Self> {
        if n_inputs == 0 || n_inputs > super::layers::MAX_UNITS * 16 {
            return Err(Error::param("inputs", n_inputs, "must lie in 1..=1048576"));
        }
        let mut layout = Vec::with_capacity(specs.len());
        let mut slots = Vec::new();
        let (mut n_params, mut n_state, mut width) = (0usize, 0usize, n_inputs);
        for (i, spec) in specs.iter().enumerate() {
            spec.check()?;
            let n_in = width;
            let mut add = |kind: ParamKind, shape: Vec<usize>, n_params: &mut usize| {
                let len: usize = shape.iter().product();
                let range = *n_params..*n_params + len;
                *n_params += len;
                let suffix = match kind {
                    ParamKind::Kernel => "kernel",
                    ParamKind::Bias => "bias",
                    ParamKind::Gamma => "gamma",
                    ParamKind::Beta => "beta",
                };
                slots.push(ParamSlot {
                    name: format!("layers.{i}.{suffix}"),
                    layer: i,
                    kind,
                    range: range.clone(),
                    shape,
                });
                range
            };
            let l = match spec {
                LayerSpec::Dense {
                    units, use_bias, ..
                } => {
                    if n_in.saturating_mul(*units) > MAX_PARAMS {
                        return Err(Error::param("units", units, "layer too large"));
                    }
                    let weight = add(ParamKind::Kernel, vec![n_in, *units], &mut n_params);
                    let bias = if *use_bias {
                        add(ParamKind::Bias, vec![*units], &mut n_params)
                    } else {
                        n_params..n_params
                    };
                    width = *units;
                    LayerLayout {
                        n_in,
                        n_out: *units,
                        weight,
                        bias,
                        state: 0..0,
                    }
                }
                LayerSpec::BatchNorm { .. } => {
                    let weight = add(ParamKind::Gamma, vec![n_in], &mut n_params);
                    let bias = add(ParamKind::Beta, vec![n_in], &mut n_params);
                    let state = n_state..n_state + 2 * n_in;
                    n_state += 2 * n_in;
                    LayerLayout {
                        n_in,
                        n_out: n_in,
                        weight,
                        bias,
                        state,
                    }
                }
                LayerSpec::Activation { .. } | LayerSpec::Dropout { .. } => LayerLayout {
                    n_in,
                    n_out: n_in,
                    weight: 0..0,
                    bias: 0..0,
                    state: 0..0,
                },
            };
            if n_params > MAX_PARAMS {
                return Err(Error::param(
                    "layers",
                    format!("{n_params} parameters"),
                    format!("at most {MAX_PARAMS} parameters"),
                ));
            }
            layout.push(l);
        }
        let mut state = vec![F::zero(); n_state];
        for l in layout.iter().filter(|l| !l.state.is_empty()) {
            // running variance starts at one
            let half = l.state.start + l.n_in;
            for v in &mut state[half..l.state.end] {
                *v = F::one();
            }
        }
        Ok(Sequential {
            n_inputs,
            specs,
            loss,
            layout,
            slots,
            params: vec![F::zero(); n_params],
            state,
            preprocessing: Preprocessing::None,
            feature_names: Vec::new(),
            classes: Vec::new(),
        })
    }

    fn init(&mut self, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for (spec, l) in self.specs.iter().zip(&self.layout) {
            match spec {
                LayerSpec::Dense { init, .. } => {
                    let (fi, fo) = (l.n_in as f64, l.n_out as f64);
                    let w = &mut self.params[l.weight.clone()];
                    match init {
                        Init::GlorotUniform | Init::HeUniform => {
                            let limit = if *init == Init::GlorotUniform {
                                (6.0 / (fi + fo)).sqrt()
                            } else {
                                (6.0 / fi).sqrt()
                            };
                            for v in w.iter_mut() {
                                *v = F::of(rng.random_range(-limit..limit));
                            }
                        }
                        Init::GlorotNormal | Init::HeNormal => {
                            let sd = if *init == Init::GlorotNormal {
                                (2.0 / (fi + fo)).sqrt()
                            } else {
                                (2.0 / fi).sqrt()
                            };
                            for v in w.iter_mut() {
                                *v = F::of(sd * standard_normal(&mut rng));
                            }
                        }
                    }
                }
                LayerSpec::BatchNorm { .. } => {
                    for v in &mut self.params[l.weight.clone()] {
                        *v = F::one();
                    }
                }
                _ => {}
            }
        }
    }

    /// Number of input features.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Width of the output layer.
    pub fn n_outputs(&self) -> usize {
        self.layout.last().map_or(self.n_inputs, |l| l.n_out)
    }

    /// The layers.
    pub fn specs(&self) -> &[LayerSpec] {
        &self.specs
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Named blocks of [`Sequential::params`].
    pub fn slots(&self) -> &[ParamSlot] {
        &self.slots
    }

    /// Named blocks of [`Sequential::state`]: `(name, range, layer)`.
    pub fn state_slots(&self) -> Vec<(String, Range<usize>, usize)> {
        let mut out = Vec::new();
        for (i, l) in self.layout.iter().enumerate() {
            if !l.state.is_empty() {
                let mid = l.state.start + l.n_in;
                out.push((
                    format!("layers.{i}.running_mean"),
                    l.state.start..mid,
                    l.n_in,
                ));
                out.push((format!("layers.{i}.running_var"), mid..l.state.end, l.n_in));
            }
        }
        out
    }

    /// A workspace for batches of up to `capacity` rows.
    pub fn workspace(&self, capacity: usize) -> Workspace<F> {
        let capacity = capacity.max(1);
        let buf = |n: usize| vec![F::zero(); capacity * n];
        Workspace {
            capacity,
            input: buf(self.n_inputs),
            outs: self.layout.iter().map(|l| buf(l.n_out)).collect(),
            grads: self.layout.iter().map(|l| buf(l.n_in)).collect(),
            aux: self
                .specs
                .iter()
                .zip(&self.layout)
                .map(|(s, l)| match s {
                    LayerSpec::Dropout { .. } | LayerSpec::BatchNorm { .. } => buf(l.n_out),
                    _ => Vec::new(),
                })
                .collect(),
            inv_std: self
                .specs
                .iter()
                .zip(&self.layout)
                .map(|(s, l)| match s {
                    LayerSpec::BatchNorm { .. } => vec![F::zero(); l.n_out],
                    _ => Vec::new(),
                })
                .collect(),
            stat_mean: self
                .layout
                .iter()
                .map(|l| vec![F::zero(); l.n_out])
                .collect(),
            stat_var: self
                .layout
                .iter()
                .map(|l| vec![F::zero(); l.n_out])
                .collect(),
            dlogits: buf(self.n_outputs()),
            bits: vec![
                0u8;
                2 * capacity
                    * self
                        .specs
                        .iter()
                        .zip(&self.layout)
                        .filter(|(s, _)| matches!(s, LayerSpec::Dropout { .. }))
                        .map(|(_, l)| l.n_out)
                        .max()
                        .unwrap_or(0)
            ],
            targets: TargetBatch::default(),
            rows: 0,
        }
    }

    /// Converts raw features with the stored [`Preprocessing`].
    pub fn prepare(&self, x: ArrayView2<f64>) -> Result<Array2<F>> {
        if x.ncols() != self.n_inputs {
            return Err(Error::ShapeMismatch {
                op: "network input",
                expected: format!("{} features", self.n_inputs),
                got: format!("{} features", x.ncols()),
            });
        }
        self.preprocessing.check(self.n_inputs)?;
        self.preprocessing.apply(x)
    }

    /// Copies rows `rows` of `x` into the workspace input.
    pub(crate) fn gather(&self, x: ArrayView2<F>, rows: &[usize], ws: &mut Workspace<F>) {
        let p = self.n_inputs;
        debug_assert!(rows.len() <= ws.capacity);
        for (k, &i) in rows.iter().enumerate() {
            let dst = &mut ws.input[k * p..(k + 1) * p];
            for (d, s) in dst.iter_mut().zip(x.row(i).iter()) {
                *d = *s;
            }
        }
        ws.rows = rows.len();
    }

    /// Forward pass over the `ws.rows` rows in `ws.input`. `train` carries the random
    /// source for dropout; in training mode batch norm uses batch statistics and updates the
    /// running ones. Returns the logits (`rows x n_outputs`, row-major).
    pub(crate) fn forward<'w>(
        &mut self,
        ws: &'w mut Workspace<F>,
        train: Option<&mut ChaCha8Rng>,
    ) -> &'w [F] {
        let Sequential {
            specs,
            layout,
            params,
            state,
            ..
        } = self;
        forward_pass(specs, layout, params, StateAccess::Write(state), ws, train);
        let b = ws.rows;
        let k = layout.last().map_or(0, |l| l.n_out);
        network_output(&ws.outs, &ws.input, b * k)
    }

    /// Inference forward pass (no dropout, running batch-norm statistics).
    pub(crate) fn forward_eval<'w>(&self, ws: &'w mut Workspace<F>) -> &'w [F] {
        forward_pass(
            &self.specs,
            &self.layout,
            &self.params,
            StateAccess::Read(&self.state),
            ws,
            None,
        );
        let b = ws.rows;
        let k = self.n_outputs();
        network_output(&ws.outs, &ws.input, b * k)
    }

    /// Backward pass after [`Sequential::forward`], from `ws.dlogits` (the gradient of the
    /// batch loss with respect to the logits) into `grads` (same layout as `params`),
    /// including regularizer gradients. `l1_in_grad = false` leaves the L1 part of kernel and
    /// bias regularizers out (it is then applied proximally).
    pub(crate) fn backward(&self, ws: &mut Workspace<F>, grads: &mut [F], l1_in_grad: bool) {
        backward_pass(
            &self.specs,
            &self.layout,
            &self.params,
            ws,
            grads,
            l1_in_grad,
        );
    }

    /// Kernel and bias regularization `sum_layers l1*|w|_1 + l2*|w|^2` (Keras' added loss,
    /// without the activity part, which depends on the batch).
    pub fn weight_penalty(&self) -> f64 {
        let mut total = 0.0;
        for (s, l) in self.specs.iter().zip(&self.layout) {
            if let LayerSpec::Dense {
                kernel_regularizer,
                bias_regularizer,
                ..
            } = s
            {
                if let Some(r) = kernel_regularizer {
                    total += r.value(&self.params[l.weight.clone()]);
                }
                if let Some(r) = bias_regularizer {
                    total += r.value(&self.params[l.bias.clone()]);
                }
            }
        }
        total
    }

    /// Loss of one batch (`rows` of `x`, `t`) in training mode with its gradient: returns the
    /// mean data loss plus activity and weight penalties (Keras' reported loss) and writes
    /// the gradient of that total into `grads`. Dropout masks come from `rng`.
    pub fn loss_and_grad(
        &mut self,
        x: ArrayView2<F>,
        t: &super::Targets<F>,
        rows: &[usize],
        ws: &mut Workspace<F>,
        grads: &mut [F],
        rng: &mut ChaCha8Rng,
    ) -> f64 {
        self.gather(x, rows, ws);
        ws.targets.gather(t, rows);
        let (data, _) = self.train_step_loss(ws, rng);
        self.backward(ws, grads, true);
        data + self.weight_penalty()
    }

    /// Forward in training mode, loss and `ws.dlogits`; returns (mean data loss + activity
    /// penalty, correct count).
    pub(crate) fn train_step_loss(
        &mut self,
        ws: &mut Workspace<F>,
        rng: &mut ChaCha8Rng,
    ) -> (f64, f64) {
        let k = self.n_outputs();
        let b = ws.rows;
        self.forward(ws, Some(rng));
        let Workspace {
            outs,
            input,
            dlogits,
            targets,
            ..
        } = ws;
        let z = network_output(outs, input, b * k);
        let (sum, correct) = self
            .loss
            .evaluate(z, k, targets, Some(&mut dlogits[..b * k]));
        let activity = activity_penalty(&self.specs, &self.layout, ws);
        (sum / b.max(1) as f64 + activity, correct)
    }

    /// Inference loss of the batch in `ws`: (summed data loss, correct count, activity
    /// penalty).
    pub(crate) fn eval_loss(&self, ws: &mut Workspace<F>) -> (f64, f64, f64) {
        let k = self.n_outputs();
        let b = ws.rows;
        self.forward_eval(ws);
        let z = network_output(&ws.outs, &ws.input, b * k);
        let (sum, correct) = self.loss.evaluate(z, k, &ws.targets, None);
        (
            sum,
            correct,
            activity_penalty(&self.specs, &self.layout, ws),
        )
    }

    /// Network output (logits) for the rows of `x`: with `train = Some(rng)` in training
    /// mode (dropout masks from `rng`, batch statistics, running statistics updated),
    /// otherwise in inference mode. Allocates; training uses preallocated workspaces.
    pub fn forward_batch(
        &mut self,
        x: ArrayView2<F>,
        train: Option<&mut ChaCha8Rng>,
    ) -> Result<Array2<F>> {
        if x.ncols() != self.n_inputs {
            return Err(Error::ShapeMismatch {
                op: "forward",
                expected: format!("{} features", self.n_inputs),
                got: format!("{} features", x.ncols()),
            });
        }
        let n = x.nrows();
        let k = self.n_outputs();
        let mut ws = self.workspace(n);
        let rows: Vec<usize> = (0..n).collect();
        self.gather(x, &rows, &mut ws);
        let z = match train {
            Some(rng) => self.forward(&mut ws, Some(rng)).to_vec(),
            None => self.forward_eval(&mut ws).to_vec(),
        };
        Array2::from_shape_vec((n, k), z).map_err(|e| Error::InvalidData(e.to_string()))
    }

    /// Predictions for raw (already preprocessed) inputs: class probabilities (softmax),
    /// probabilities (sigmoid) or values (mse), one row per sample.
    pub fn predict(&self, x: ArrayView2<F>) -> Result<Array2<F>> {
        if x.ncols() != self.n_inputs {
            return Err(Error::ShapeMismatch {
                op: "predict",
                expected: format!("{} features", self.n_inputs),
                got: format!("{} features", x.ncols()),
            });
        }
        let k = self.n_outputs();
        let n = x.nrows();
        let cap = 512.min(n.max(1));
        let mut ws = self.workspace(cap);
        let mut out = vec![F::zero(); n * k];
        let rows: Vec<usize> = (0..n).collect();
        for (c, chunk) in rows.chunks(cap).enumerate() {
            self.gather(x, chunk, &mut ws);
            let dst = &mut out[c * cap * k..(c * cap + chunk.len()) * k];
            dst.copy_from_slice(self.forward_eval(&mut ws));
            self.loss.link(dst, k);
        }
        let out =
            Array2::from_shape_vec((n, k), out).map_err(|e| Error::InvalidData(e.to_string()))?;
        Ok(out)
    }

    /// Sets the kernel regularizer of every dense layer (`None` removes them). An optimizer
    /// made for this network must be told ([`super::Optimizer::regularizers_changed`]);
    /// [`super::Trainer::set_kernel_regularizers`] does both.
    pub fn set_kernel_regularizers(&mut self, reg: Option<Regularizer>) {
        for s in &mut self.specs {
            if let LayerSpec::Dense {
                kernel_regularizer, ..
            } = s
            {
                *kernel_regularizer = reg;
            }
        }
    }

    /// Per dense layer: `(layer index, exact zeros in the kernel, kernel size)`.
    pub fn kernel_zeros(&self) -> Vec<(usize, usize, usize)> {
        self.specs
            .iter()
            .zip(&self.layout)
            .enumerate()
            .filter(|(_, (s, _))| matches!(s, LayerSpec::Dense { .. }))
            .map(|(i, (_, l))| {
                let w = &self.params[l.weight.clone()];
                (i, w.iter().filter(|v| **v == F::zero()).count(), w.len())
            })
            .collect()
    }
}

/// Buffers for one forward/backward pass over at most `capacity` rows.
#[derive(Clone, Debug)]
pub struct Workspace<F> {
    capacity: usize,
    input: Vec<F>,
    /// Output of each layer.
    outs: Vec<Vec<F>>,
    /// Gradient with respect to each layer's input.
    grads: Vec<Vec<F>>,
    /// Dropout masks (scale or 0) / batch-norm normalized inputs.
    aux: Vec<Vec<F>>,
    inv_std: Vec<Vec<F>>,
    stat_mean: Vec<Vec<F>>,
    stat_var: Vec<Vec<F>>,
    dlogits: Vec<F>,
    /// Random bytes for dropout masks.
    bits: Vec<u8>,
    pub(crate) targets: TargetBatch<F>,
    rows: usize,
}

impl<F: Real> Workspace<F> {
    /// Largest batch this workspace holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The first `len` values of the last layer's output (the input when there are no layers).
fn network_output<'a, F>(outs: &'a [Vec<F>], input: &'a [F], len: usize) -> &'a [F] {
    match outs.last() {
        Some(o) => &o[..len],
        None => &input[..len],
    }
}

fn view<F>(buf: &[F], rows: usize, cols: usize) -> ArrayView2<'_, F> {
    // invariant: workspace buffers hold `capacity * cols` values and rows <= capacity
    ArrayView2::from_shape((rows, cols), &buf[..rows * cols]).expect("buffer sized for rows")
}

fn view_mut<F>(buf: &mut [F], rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    // invariant: as in `view`
    ArrayViewMut2::from_shape((rows, cols), &mut buf[..rows * cols]).expect("buffer sized for rows")
}

fn forward_pass<F: Real>(
    specs: &[LayerSpec],
    layout: &[LayerLayout],
    params: &[F],
    mut state: StateAccess<'_, F>,
    ws: &mut Workspace<F>,
    mut train: Option<&mut ChaCha8Rng>,
) {
    let b = ws.rows;
    for (i, (spec, l)) in specs.iter().zip(layout).enumerate() {
        let (before, after) = ws.outs.split_at_mut(i);
        let x: &[F] = if i == 0 {
            &ws.input[..b * l.n_in]
        } else {
            &before[i - 1][..b * l.n_in]
        };
        let out = &mut after[0][..b * l.n_out];
        match spec {
            LayerSpec::Dense { activation, .. } => {
                let w = view(&params[l.weight.clone()], l.n_in, l.n_out);
                let bias = &params[l.bias.clone()];
                // out = 1 * bias (broadcast) ; out += x W
                if bias.is_empty() {
                    out.fill(F::zero());
                } else {
                    for row in out.chunks_exact_mut(l.n_out) {
                        row.copy_from_slice(bias);
                    }
                }
                general_mat_mul(
                    F::one(),
                    &view(x, b, l.n_in),
                    &w,
                    F::one(),
                    &mut view_mut(out, b, l.n_out),
                );
                activation.apply(out);
            }
            LayerSpec::Activation { activation } => {
                out.copy_from_slice(x);
                activation.apply(out);
            }
            LayerSpec::Dropout { rate } => match train.as_deref_mut() {
                Some(rng) if *rate > 0.0 => {
                    let mask = &mut ws.aux[i][..b * l.n_out];
                    let bits = &mut ws.bits[..2 * b * l.n_out];
                    let keep_scale = F::of(1.0 / (1.0 - rate));
                    // a unit is dropped when its 16-bit uniform draw falls below
                    // round(rate * 2^16): the drop probability is rate to within 2^-17
                    let threshold = (rate * 65536.0).round() as u32;
                    rng.fill_bytes(bits);
                    for (m, c) in mask.iter_mut().zip(bits.chunks_exact(2)) {
                        let u = u16::from_le_bytes([c[0], c[1]]) as u32;
                        *m = if u < threshold { F::zero() } else { keep_scale };
                    }
                    for ((o, &xi), &m) in out.iter_mut().zip(x).zip(mask.iter()) {
                        *o = xi * m;
                    }
                }
                _ => out.copy_from_slice(x),
            },
            LayerSpec::BatchNorm { momentum, eps } => {
                let n = l.n_in;
                let gamma = &params[l.weight.clone()];
                let beta = &params[l.bias.clone()];
                let eps = F::of(*eps);
                match (&mut state, train.is_some()) {
                    (StateAccess::Write(st), true) if b > 0 => {
                        let xhat = &mut ws.aux[i][..b * n];
                        let inv_std = &mut ws.inv_std[i];
                        let inv_b = F::one() / F::of(b as f64);
                        // mean_j = sum_i x_ij / b
                        let mean = &mut ws.stat_mean[i];
                        mean.fill(F::zero());
                        for row in x.chunks_exact(n) {
                            for (m, &v) in mean.iter_mut().zip(row) {
                                *m += v;
                            }
                        }
                        mean.iter_mut().for_each(|m| *m *= inv_b);
                        // var_j = sum_i (x_ij - mean_j)^2 / b  (biased, used to normalize)
                        let var = &mut ws.stat_var[i];
                        var.fill(F::zero());
                        for row in x.chunks_exact(n) {
                            for ((s, &v), &m) in var.iter_mut().zip(row).zip(mean.iter()) {
                                *s += (v - m) * (v - m);
                            }
                        }
                        var.iter_mut().for_each(|s| *s *= inv_b);
                        for (is, &v) in inv_std.iter_mut().zip(var.iter()) {
                            *is = F::one() / (v + eps).sqrt();
                        }
                        for ((orow, xrow), hrow) in out
                            .chunks_exact_mut(n)
                            .zip(x.chunks_exact(n))
                            .zip(xhat.chunks_exact_mut(n))
                        {
                            for j in 0..n {
                                let h = (xrow[j] - mean[j]) * inv_std[j];
                                hrow[j] = h;
                                orow[j] = gamma[j] * h + beta[j];
                            }
                        }
                        // running = (1-m) running + m batch, with the unbiased variance
                        let mom = F::of(*momentum);
                        let unbias = if b > 1 {
                            F::of(b as f64 / (b as f64 - 1.0))
                        } else {
                            F::one()
                        };
                        let (rm, rv) = st[l.state.clone()].split_at_mut(n);
                        for j in 0..n {
                            rm[j] = (F::one() - mom) * rm[j] + mom * mean[j];
                            rv[j] = (F::one() - mom) * rv[j] + mom * var[j] * unbias;
                        }
                    }
                    _ => {
                        let st: &[F] = match &state {
                            StateAccess::Write(st) => st,
                            StateAccess::Read(st) => st,
                        };
                        let (rm, rv) = st[l.state.clone()].split_at(n);
                        // y = gamma (x - running_mean) / sqrt(running_var + eps) + beta
                        for (orow, xrow) in out.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
                            for j in 0..n {
                                orow[j] =
                                    gamma[j] * (xrow[j] - rm[j]) / (rv[j] + eps).sqrt() + beta[j];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Batch-norm running statistics: written in training, read at inference.
enum StateAccess<'a, F> {
    Read(&'a [F]),
    Write(&'a mut [F]),
}

fn activity_penalty<F: Real>(
    specs: &[LayerSpec],
    layout: &[LayerLayout],
    ws: &Workspace<F>,
) -> f64 {
    let b = ws.rows.max(1) as f64;
    let mut total = 0.0;
    for (i, (s, l)) in specs.iter().zip(layout).enumerate() {
        if let LayerSpec::Dense {
            activity_regularizer: Some(r),
            ..
        } = s
        {
            total += r.value(&ws.outs[i][..ws.rows * l.n_out]) / b;
        }
    }
    total
}

fn backward_pass<F: Real>(
    specs: &[LayerSpec],
    layout: &[LayerLayout],
    params: &[F],
    ws: &mut Workspace<F>,
    grads: &mut [F],
    l1_in_grad: bool,
) {
    let b = ws.rows;
    let n_layers = specs.len();
    for i in (0..n_layers).rev() {
        let l = &layout[i];
        let spec = &specs[i];
        let x: &[F] = if i == 0 {
            &ws.input[..b * l.n_in]
        } else {
            &ws.outs[i - 1][..b * l.n_in]
        };
        let y: &[F] = &ws.outs[i][..b * l.n_out];
        let (left, right) = ws.grads.split_at_mut(i + 1);
        let gin = &mut left[i][..b * l.n_in];
        let gout: &mut [F] = if i + 1 == n_layers {
            &mut ws.dlogits[..b * l.n_out]
        } else {
            &mut right[0][..b * l.n_out]
        };
        let need_gin = i > 0;
        match spec {
            LayerSpec::Dense {
                activation,
                kernel_regularizer,
                bias_regularizer,
                activity_regularizer,
                ..
            } => {
                if let Some(r) = activity_regularizer {
                    // d/dy of r(y)/b
                    r.add_grad(y, gout, F::one() / F::of(b as f64), true);
                }
                activation.backprop(y, gout);
                let (g_w, g_b) = {
                    let (head, tail) = grads.split_at_mut(l.weight.end);
                    (&mut head[l.weight.clone()], &mut tail[..l.bias.len()])
                };
                // dW = x' gout
                general_mat_mul(
                    F::one(),
                    &view(x, b, l.n_in).t(),
                    &view(gout, b, l.n_out),
                    F::zero(),
                    &mut view_mut(g_w, l.n_in, l.n_out),
                );
                if !g_b.is_empty() {
                    // db = column sums of gout
                    g_b.fill(F::zero());
                    for row in gout.chunks_exact(l.n_out) {
                        for (d, &g) in g_b.iter_mut().zip(row) {
                            *d += g;
                        }
                    }
                }
                if need_gin {
                    // gin = gout W'
                    let w = view(&params[l.weight.clone()], l.n_in, l.n_out);
                    general_mat_mul(
                        F::one(),
                        &view(gout, b, l.n_out),
                        &w.t(),
                        F::zero(),
                        &mut view_mut(gin, b, l.n_in),
                    );
                }
                if let Some(r) = kernel_regularizer {
                    r.add_grad(&params[l.weight.clone()], g_w, F::one(), l1_in_grad);
                }
                if let Some(r) = bias_regularizer {
                    r.add_grad(&params[l.bias.clone()], g_b, F::one(), l1_in_grad);
                }
            }
            LayerSpec::Activation { activation } => {
                activation.backprop(y, gout);
                if need_gin {
                    gin.copy_from_slice(gout);
                }
            }
            LayerSpec::Dropout { rate } => {
                if need_gin {
                    if *rate > 0.0 {
                        let mask = &ws.aux[i][..b * l.n_out];
                        for ((gi, &go), &m) in gin.iter_mut().zip(gout.iter()).zip(mask) {
                            *gi = go * m;
                        }
                    } else {
                        gin.copy_from_slice(gout);
                    }
                }
            }
            LayerSpec::BatchNorm { .. } => {
                let n = l.n_in;
                let xhat = &ws.aux[i][..b * n];
                let inv_std = &ws.inv_std[i];
                let gamma = &params[l.weight.clone()];
                let (g_gamma, g_beta) = {
                    let (head, tail) = grads.split_at_mut(l.bias.start);
                    (&mut head[l.weight.clone()], &mut tail[..n])
                };
                // dgamma_j = sum_i g_ij xhat_ij ; dbeta_j = sum_i g_ij
                g_gamma.fill(F::zero());
                g_beta.fill(F::zero());
                for (grow, hrow) in gout.chunks_exact(n).zip(xhat.chunks_exact(n)) {
                    for j in 0..n {
                        g_gamma[j] += grow[j] * hrow[j];
                        g_beta[j] += grow[j];
                    }
                }
                if need_gin {
                    // gin_ij = gamma_j inv_std_j / b * (b g_ij - dbeta_j - xhat_ij dgamma_j)
                    let bf = F::of(b as f64);
                    let inv_b = F::one() / bf;
                    for ((girow, grow), hrow) in gin
                        .chunks_exact_mut(n)
                        .zip(gout.chunks_exact(n))
                        .zip(xhat.chunks_exact(n))
                    {
                        for j in 0..n {
                            girow[j] = gamma[j]
                                * inv_std[j]
                                * inv_b
                                * (bf * grow[j] - g_beta[j] - hrow[j] * g_gamma[j]);
                        }
                    }
                }
            }
        }
    }
}

/// A standard normal draw (Box-Muller).
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    loop {
        let u: f64 = rng.random();
        if u > 0.0 {
            let v: f64 = rng.random();
            return (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
        }
    }
}
