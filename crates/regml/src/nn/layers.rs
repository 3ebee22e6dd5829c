//! Layer specifications (the architecture) and the element-wise activation kernels.

use super::regularizer::Regularizer;
use super::Real;
use crate::datafit::sigmoid;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Element-wise activation. Softmax is not here: it is fused with the cross-entropy loss
/// ([`super::Loss::SoftmaxCrossEntropy`]) and applied by [`super::Sequential::predict`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `f(z) = z`.
    #[default]
    Linear,
    /// `f(z) = max(z, 0)`; `f'(0) = 0` as in PyTorch and TensorFlow.
    Relu,
    /// `f(z) = 1/(1+exp(-z))`.
    Sigmoid,
    /// `f(z) = tanh(z)`.
    Tanh,
}

impl Activation {
    /// Parses `linear`, `relu`, `sigmoid`, `tanh`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "linear" | "identity" => Ok(Activation::Linear),
            "relu" => Ok(Activation::Relu),
            "sigmoid" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            _ => Err(Error::param(
                "activation",
                s,
                "expected linear, relu, sigmoid or tanh",
            )),
        }
    }

    /// `z <- f(z)` in place.
    pub(crate) fn apply<F: Real>(self, z: &mut [F]) {
        match self {
            Activation::Linear => {}
            Activation::Relu => {
                for v in z {
                    *v = if *v > F::zero() { *v } else { F::zero() };
                }
            }
            Activation::Sigmoid => {
                for v in z {
                    *v = sigmoid(*v);
                }
            }
            Activation::Tanh => {
                for v in z {
                    *v = v.tanh();
                }
            }
        }
    }

    /// `g <- g * f'(z)`, with `f'` expressed through the output `y = f(z)`:
    /// relu `y > 0`, sigmoid `y(1-y)`, tanh `1-y^2`.
    pub(crate) fn backprop<F: Real>(self, y: &[F], g: &mut [F]) {
        match self {
            Activation::Linear => {}
            Activation::Relu => {
                for (gi, &yi) in g.iter_mut().zip(y) {
                    *gi = if yi > F::zero() { *gi } else { F::zero() };
                }
            }
            Activation::Sigmoid => {
                for (gi, &yi) in g.iter_mut().zip(y) {
                    *gi *= yi * (F::one() - yi);
                }
            }
            Activation::Tanh => {
                for (gi, &yi) in g.iter_mut().zip(y) {
                    *gi *= F::one() - yi * yi;
                }
            }
        }
    }
}

/// Kernel initialization of a dense layer with `fan_in` inputs and `fan_out` units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Uniform on `[-l, l]`, `l = sqrt(6/(fan_in+fan_out))` (Keras' default).
    #[default]
    GlorotUniform,
    /// Normal with standard deviation `sqrt(2/(fan_in+fan_out))` (not truncated).
    GlorotNormal,
    /// Uniform on `[-l, l]`, `l = sqrt(6/fan_in)` (He et al. 2015, for ReLU).
    HeUniform,
    /// Normal with standard deviation `sqrt(2/fan_in)` (not truncated).
    HeNormal,
}

impl Init {
    /// Parses `glorot_uniform`, `glorot_normal`, `he_uniform`, `he_normal`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "glorot_uniform" | "glorot" | "xavier" => Ok(Init::GlorotUniform),
            "glorot_normal" => Ok(Init::GlorotNormal),
            "he_uniform" | "he" => Ok(Init::HeUniform),
            "he_normal" => Ok(Init::HeNormal),
            _ => Err(Error::param(
                "init",
                s,
                "expected glorot_uniform, glorot_normal, he_uniform or he_normal",
            )),
        }
    }
}

fn default_true() -> bool {
    true
}

/// One layer of a [`super::Sequential`] network, as stored in the architecture JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// Fully connected layer `y = f(x W + b)` with kernel `W` of shape `(inputs, units)`
    /// (Keras layout; PyTorch's `Linear.weight` is its transpose).
    Dense {
        /// Output width.
        units: usize,
        /// Fused activation `f`.
        #[serde(default)]
        activation: Activation,
        /// Kernel initialization (the bias starts at zero).
        #[serde(default)]
        init: Init,
        /// Whether the layer has a bias `b`.
        #[serde(default = "default_true")]
        use_bias: bool,
        /// Penalty on `W` (Keras `kernel_regularizer`).
        #[serde(default)]
        kernel_regularizer: Option<Regularizer>,
        /// Penalty on `b` (Keras `bias_regularizer`).
        #[serde(default)]
        bias_regularizer: Option<Regularizer>,
        /// Penalty on the layer's output `y`, divided by the batch size (Keras
        /// `activity_regularizer` as `tf.keras` applies it).
        #[serde(default)]
        activity_regularizer: Option<Regularizer>,
    },
    /// A standalone activation (for `Dense -> BatchNorm -> ReLU`).
    Activation {
        /// The function.
        activation: Activation,
    },
    /// Inverted dropout: in training each unit is zeroed with probability `rate` and the
    /// survivors are scaled by `1/(1-rate)`; the identity at inference.
    Dropout {
        /// Drop probability in `[0, 1)`.
        rate: f64,
    },
    /// Batch normalization over the batch axis: `y = gamma*(x-mean)/sqrt(var+eps) + beta`
    /// with batch statistics in training (biased variance) and running statistics at
    /// inference, updated as `running = (1-momentum)*running + momentum*batch` with the
    /// unbiased batch variance (PyTorch's convention: momentum 0.1, eps 1e-5; Keras'
    /// `momentum=0.99` is PyTorch's `0.01`).
    BatchNorm {
        /// Weight of the new batch in the running statistics.
        momentum: f64,
        /// Added to the variance.
        eps: f64,
    },
}

impl LayerSpec {
    /// A dense layer with the given activation, Glorot-uniform kernel, bias, no penalties.
    pub fn dense(units: usize, activation: Activation) -> Self {
        LayerSpec::Dense {
            units,
            activation,
            init: Init::GlorotUniform,
            use_bias: true,
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
        }
    }

    /// A dropout layer.
    pub fn dropout(rate: f64) -> Self {
        LayerSpec::Dropout { rate }
    }

    /// A batch-normalization layer with PyTorch's defaults (momentum 0.1, eps 1e-5).
    pub fn batch_norm() -> Self {
        LayerSpec::BatchNorm {
            momentum: 0.1,
            eps: 1e-5,
        }
    }

    /// Sets the kernel regularizer of a dense layer (no effect on other layers).
    pub fn with_kernel_regularizer(mut self, reg: Option<Regularizer>) -> Self {
        if let LayerSpec::Dense {
            kernel_regularizer, ..
        } = &mut self
        {
            *kernel_regularizer = reg;
        }
        self
    }

    /// Sets the bias regularizer of a dense layer (no effect on other layers).
    pub fn with_bias_regularizer(mut self, reg: Option<Regularizer>) -> Self {
        if let LayerSpec::Dense {
            bias_regularizer, ..
        } = &mut self
        {
            *bias_regularizer = reg;
        }
        self
    }

    /// Sets the activity regularizer of a dense layer (no effect on other layers).
    pub fn with_activity_regularizer(mut self, reg: Option<Regularizer>) -> Self {
        if let LayerSpec::Dense {
            activity_regularizer,
            ..
        } = &mut self
        {
            *activity_regularizer = reg;
        }
        self
    }

    /// Sets the kernel initialization of a dense layer (no effect on other layers).
    pub fn with_init(mut self, how: Init) -> Self {
        if let LayerSpec::Dense { init, .. } = &mut self {
            *init = how;
        }
        self
    }

    /// Short lower-case name used in parameter names (`dense`, `dropout`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Dense { .. } => "dense",
            LayerSpec::Activation { .. } => "activation",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::BatchNorm { .. } => "batch_norm",
        }
    }

    /// Validates the hyper-parameters of this layer.
    pub fn check(&self) -> Result<()> {
        match self {
            LayerSpec::Dense {
                units,
                kernel_regularizer,
                bias_regularizer,
                activity_regularizer,
                ..
            } => {
                if *units == 0 || *units > MAX_UNITS {
                    return Err(Error::param(
                        "units",
                        units,
                        format!("must lie in 1..={MAX_UNITS}"),
                    ));
                }
                for r in [kernel_regularizer, bias_regularizer, activity_regularizer]
                    .into_iter()
                    .flatten()
                {
                    r.check()?;
                }
                Ok(())
            }
            LayerSpec::Activation { .. } => Ok(()),
            LayerSpec::Dropout { rate } => {
                if !(0.0..1.0).contains(rate) {
                    return Err(Error::param("dropout rate", rate, "must lie in [0, 1)"));
                }
                Ok(())
            }
            LayerSpec::BatchNorm { momentum, eps } => {
                if !(0.0..=1.0).contains(momentum) {
                    return Err(Error::param(
                        "batch_norm momentum",
                        momentum,
                        "must lie in [0, 1]",
                    ));
                }
                if !(*eps > 0.0 && eps.is_finite()) {
                    return Err(Error::param(
                        "batch_norm eps",
                        eps,
                        "must be finite and > 0",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Widest layer accepted (guards model files against absurd allocations).
pub const MAX_UNITS: usize = 1 << 16;
