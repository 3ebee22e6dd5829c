//! Regularized neural networks: Keras-style dense networks trained on the CPU.
//!
//! A network is a [`Sequential`] stack of [`LayerSpec`]s (dense layers with fused activations,
//! standalone activations, dropout, batch normalization), trained by [`Trainer`] with a
//! [`Loss`], an [`Optimizer`] (SGD with momentum / Nesterov, Adam, AdamW), a learning-rate
//! [`Schedule`], gradient clipping and [`EarlyStopping`].
//!
//! # Regularization, and how it maps onto Keras and PyTorch
//! * **Kernel / bias / activity regularizers** ([`Regularizer`]) follow Keras: `l1*sum|w| +
//!   l2*sum w^2` (no 1/2) is added to the reported loss and its gradient to the weights. They
//!   are the library's one elastic-net penalty ([`crate::penalty::ElasticNet`]) with
//!   `lambda = l1 + 2*l2`, `alpha = l1/lambda`. Activity penalties are divided by the batch
//!   size, as `tf.keras` does, so their strength does not depend on it.
//! * **Exact sparsity** ([`L1Mode::Proximal`]): the L1 part of kernel and bias regularizers
//!   is left out of the gradient and applied after each update as a soft-thresholding step,
//!   so weights become exactly zero (Keras' subgradient never produces exact zeros).
//! * **Coupled weight decay** (`weight_decay` on [`OptimizerKind::Sgd`] and
//!   [`OptimizerKind::Adam`], as in PyTorch) adds `wd*w` to the gradient: for SGD that is an
//!   L2 penalty `wd/2*|w|^2`; for Adam the decay is divided by the adaptive scale like any
//!   gradient, so weights with large gradients are barely decayed.
//! * **Decoupled weight decay** ([`OptimizerKind::AdamW`], Loshchilov & Hutter 2019) shrinks
//!   `w <- w*(1 - lr*wd)` outside the adaptive step, so every weight decays at the same rate.
//!
//! Biases and batch-normalization parameters are excluded from weight decay by default
//! ([`OptimizerConfig::decay_biases`]).
//!
//! Arithmetic is generic over [`Real`] (`f32` for speed, `f64` for gradient checks).
//!
//! # Example
//! ```
//! use regml::nn::{
//!     evaluate, Activation, Dataset, FitConfig, LayerSpec, Loss, NoMonitor, OptimizerConfig,
//!     OptimizerKind, Preprocessing, Regularizer, Sequential, Targets, Trainer,
//! };
//! let table = regml::data::dataset("digits")?;
//! let target = table.column_index("digit")?;
//! let labels = table.numeric(target)?.iter().map(|&v| v as u32).collect();
//! let (x, _) = table.matrix_without(&[target])?;
//! let x = Preprocessing::Scale { factor: 1.0 / 16.0 }.apply::<f32>(x.view())?;
//! let data = Dataset::new(x, Targets::Classes { labels, n_classes: 10 })?;
//! let (train, test) = data.split(0.2, 0)?;
//! let net = Sequential::<f32>::new(
//!     64,
//!     vec![
//!         LayerSpec::dense(32, Activation::Relu).with_kernel_regularizer(Some(Regularizer::l2(1e-4)?)),
//!         LayerSpec::dropout(0.1),
//!         LayerSpec::dense(10, Activation::Linear),
//!     ],
//!     Loss::SoftmaxCrossEntropy,
//!     0,
//! )?;
//! let mut optimizer = OptimizerConfig::new(OptimizerKind::adamw());
//! optimizer.lr = 3e-3;
//! let mut trainer = Trainer::new(net, FitConfig::new(10, 32, optimizer))?;
//! trainer.fit(&train, Some(&test), &mut NoMonitor)?;
//! let (_, accuracy) = evaluate(&trainer.model, &test)?;
//! assert!(accuracy.unwrap() > 0.9);
//! # Ok::<(), regml::Error>(())
//! ```

pub mod data;
mod io;
mod layers;
mod loss;
mod model;
mod optim;
mod regularizer;
mod schedule;
mod train;
pub mod tune;

pub use io::{
    load_model, read_safetensors, save_model, write_safetensors, Tensor, MAX_MODEL_BYTES,
};
pub use layers::{Activation, Init, LayerSpec};
pub use loss::{Loss, Targets};
pub(crate) use model::standard_normal;
pub use model::{ParamKind, ParamSlot, Preprocessing, Sequential, Workspace};
pub use optim::{clip_global_norm, Optimizer, OptimizerConfig, OptimizerKind};
pub use regularizer::{L1Mode, Regularizer};
pub use schedule::{Schedule, ScheduleState};
pub use train::{
    evaluate, holdout_indices, shuffled_indices, Dataset, EarlyStopping, EpochLog, FitConfig,
    History, Monitor, MonitorMetric, Monitored, NoMonitor, StopReason, Trainer,
};

use std::fmt::{Debug, Display};

/// Floating-point element type of a network (`f32` or `f64`).
pub trait Real:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::iter::Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// Name of the type in safetensors files (`F32`, `F64`).
    const DTYPE: &'static str;
    /// Bytes per element.
    const BYTES: usize;
    /// Conversion from `f64` (rounding to nearest).
    fn of(v: f64) -> Self;
    /// Conversion to `f64` (exact).
    fn f64(self) -> f64;
    /// Appends the little-endian bytes of `self`.
    fn put_le(self, out: &mut Vec<u8>);
    /// Reads a value from exactly [`Real::BYTES`] little-endian bytes.
    fn get_le(bytes: &[u8]) -> Self;
}

impl Real for f32 {
    const DTYPE: &'static str = "F32";
    const BYTES: usize = 4;
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn f64(self) -> f64 {
        self as f64
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[..4]);
        f32::from_le_bytes(b)
    }
}

impl Real for f64 {
    const DTYPE: &'static str = "F64";
    const BYTES: usize = 8;
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn f64(self) -> f64 {
        self
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        f64::from_le_bytes(b)
    }
}
