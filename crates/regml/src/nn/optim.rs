//! Optimizers with PyTorch's update formulas and defaults, and global-norm clipping.

use super::model::{ParamKind, Sequential};
use super::regularizer::{L1Mode, Regularizer};
use super::Real;
use crate::kernels::soft_threshold;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerKind {
    /// Stochastic gradient descent (PyTorch `SGD`): with `g <- g + wd*w` (coupled decay),
    /// `buf <- momentum*buf + (1-dampening)*g` (`buf = g` at the first step),
    /// `d = g + momentum*buf` (Nesterov) or `d = buf`, then `w <- w - lr*d`.
    Sgd {
        /// Momentum factor (0 = plain SGD).
        momentum: f64,
        /// Dampening of the momentum buffer.
        dampening: f64,
        /// Nesterov momentum (needs `momentum > 0`, `dampening = 0`).
        nesterov: bool,
    },
    /// Adam (PyTorch `Adam`): `g <- g + wd*w` (coupled decay), `m <- b1 m + (1-b1) g`,
    /// `v <- b2 v + (1-b2) g^2`, `w <- w - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)`.
    Adam {
        /// `b1` (0.9).
        beta1: f64,
        /// `b2` (0.999).
        beta2: f64,
        /// `eps` (1e-8).
        eps: f64,
    },
    /// AdamW (PyTorch `AdamW`): `w <- w*(1 - lr*wd)` (decoupled decay), then Adam's step
    /// without decay in the gradient.
    AdamW {
        /// `b1` (0.9).
        beta1: f64,
        /// `b2` (0.999).
        beta2: f64,
        /// `eps` (1e-8).
        eps: f64,
    },
}

impl OptimizerKind {
    /// SGD with optional momentum and Nesterov.
    pub fn sgd(momentum: f64, nesterov: bool) -> Self {
        OptimizerKind::Sgd {
            momentum,
            dampening: 0.0,
            nesterov,
        }
    }

    /// Adam with PyTorch's defaults.
    pub fn adam() -> Self {
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// AdamW with PyTorch's defaults.
    pub fn adamw() -> Self {
        OptimizerKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Optimizer settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Base learning rate (PyTorch default 1e-3 for Adam/AdamW; SGD has none, 0.01 here).
    pub lr: f64,
    /// Weight decay: coupled for SGD/Adam, decoupled for AdamW (PyTorch: 0, 0, 0.01).
    pub weight_decay: f64,
    /// Also decay biases and batch-norm parameters (off by default, common practice).
    pub decay_biases: bool,
    /// Global-norm clipping threshold (PyTorch `clip_grad_norm_(max_norm)`), if any.
    pub clip_norm: Option<f64>,
}

impl OptimizerConfig {
    /// Settings with PyTorch's defaults for `kind`.
    pub fn new(kind: OptimizerKind) -> Self {
        let (lr, weight_decay) = match kind {
            OptimizerKind::Sgd { .. } => (0.01, 0.0),
            OptimizerKind::Adam { .. } => (1e-3, 0.0),
            OptimizerKind::AdamW { .. } => (1e-3, 1e-2),
        };
        OptimizerConfig {
            kind,
            lr,
            weight_decay,
            decay_biases: false,
            clip_norm: None,
        }
    }

    /// Validates the settings.
    pub fn check(&self) -> Result<()> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::param("lr", self.lr, "must be finite and > 0"));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::param(
                "weight_decay",
                self.weight_decay,
                "must be finite and >= 0",
            ));
        }
        if let Some(c) = self.clip_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::param("clip_norm", c, "must be finite and > 0"));
            }
        }
        match self.kind {
            OptimizerKind::Sgd {
                momentum,
                dampening,
                nesterov,
            } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(Error::param("momentum", momentum, "must lie in [0, 1)"));
                }
                if !(0.0..=1.0).contains(&dampening) {
                    return Err(Error::param("dampening", dampening, "must lie in [0, 1]"));
                }
                if nesterov && (momentum == 0.0 || dampening != 0.0) {
                    return Err(Error::param(
                        "nesterov",
                        true,
                        "needs momentum > 0 and dampening = 0",
                    ));
                }
            }
            OptimizerKind::Adam { beta1, beta2, eps }
            | OptimizerKind::AdamW { beta1, beta2, eps } => {
                for (name, b) in [("beta1", beta1), ("beta2", beta2)] {
                    if !(0.0..1.0).contains(&b) {
                        return Err(Error::param(name, b, "must lie in [0, 1)"));
                    }
                }
                if !(eps > 0.0 && eps.is_finite()) {
                    return Err(Error::param("eps", eps, "must be finite and > 0"));
                }
            }
        }
        Ok(())
    }
}

/// A contiguous block of parameters sharing decay and proximal-L1 settings.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Group<F> {
    pub range: std::ops::Range<usize>,
    pub decay: bool,
    /// L1 factor applied proximally after the update (0 = none).
    pub l1_prox: F,
    /// Penalty whose value is tracked for the reported loss.
    pub reg: Option<Regularizer>,
}

/// Elements per parallel task of an update.
const CHUNK: usize = 16384;

/// Optimizer state: step count and moment buffers, one value per parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer<F> {
    /// Settings.
    pub config: OptimizerConfig,
    /// Number of steps taken.
    pub step: u64,
    /// Momentum buffer (SGD) or first moment (Adam).
    pub m: Vec<F>,
    /// Second moment (Adam; empty for SGD).
    pub v: Vec<F>,
    groups: Vec<Group<F>>,
}

impl<F: Real> Optimizer<F> {
    /// A fresh optimizer for `net`; `l1_mode` decides whether regularizers' L1 parts are
    /// applied proximally.
    pub fn new(config: OptimizerConfig, net: &Sequential<F>, l1_mode: L1Mode) -> Result<Self> {
        config.check()?;
        let n = net.params.len();
        let needs_v = !matches!(config.kind, OptimizerKind::Sgd { .. });
        let groups = Self::groups_for(&config, net, l1_mode);
        Ok(Optimizer {
            config,
            step: 0,
            m: vec![F::zero(); n],
            v: if needs_v {
                vec![F::zero(); n]
            } else {
                Vec::new()
            },
            groups,
        })
    }

    /// Parameter groups of `net`: chunks of each slot with its decay flag and regularizer.
    fn groups_for(config: &OptimizerConfig, net: &Sequential<F>, l1_mode: L1Mode) -> Vec<Group<F>> {
        let mut groups = Vec::new();
        for s in net.slots() {
            let decay = s.kind == ParamKind::Kernel || config.decay_biases;
            let reg = match &net.specs()[s.layer] {
                super::LayerSpec::Dense {
                    kernel_regularizer,
                    bias_regularizer,
                    ..
                } => {
                    if s.kind == ParamKind::Kernel {
                        *kernel_regularizer
                    } else {
                        *bias_regularizer
                    }
                }
                _ => None,
            };
            let l1 = match (reg, l1_mode) {
                (Some(r), L1Mode::Proximal) => F::of(r.l1),
                _ => F::zero(),
            };
            // split into chunks so the update runs in parallel
            let mut start = s.range.start;
            while start < s.range.end {
                let end = (start + CHUNK).min(s.range.end);
                groups.push(Group {
                    range: start..end,
                    decay,
                    l1_prox: l1,
                    reg,
                });
                start = end;
            }
        }
        groups
    }

    /// Takes up regularizers changed in `net` since this optimizer was made (moments and
    /// step count are kept).
    pub fn regularizers_changed(&mut self, net: &Sequential<F>, l1_mode: L1Mode) {
        self.groups = Self::groups_for(&self.config, net, l1_mode);
    }

    /// One update of `params` from `grads` at learning rate `lr`. Returns the kernel and
    /// bias penalty (Keras' added loss) at the updated weights, computed in the same pass.
    /// Chunks of parameters are updated in parallel; every value is computed by the same
    /// operations whatever the thread count, so results do not depend on it.
    pub fn update(&mut self, params: &mut [F], grads: &[F], lr: f64) -> f64 {
        self.step += 1;
        let step = Step {
            kind: self.config.kind,
            lr,
            wd: self.config.weight_decay,
            t: self.step,
        };
        let v: &mut [F] = &mut self.v;
        update_groups(&step, &self.groups, params, grads, &mut self.m, v)
    }
}

/// Updates the groups (which tile the slices in order) by recursive halving, the halves in
/// parallel; returns the summed penalty (summed in a fixed tree order). Allocates nothing.
fn update_groups<F: Real>(
    step: &Step,
    groups: &[Group<F>],
    p: &mut [F],
    g: &[F],
    m: &mut [F],
    v: &mut [F],
) -> f64 {
    match groups.len() {
        0 => 0.0,
        1 => step.apply(&groups[0], p, g, m, v),
        n => {
            let (left, right) = groups.split_at(n / 2);
            let at = right[0].range.start - groups[0].range.start;
            let (p1, p2) = p.split_at_mut(at);
            let (g1, g2) = g.split_at(at);
            let (m1, m2) = m.split_at_mut(at);
            let vat = if v.is_empty() { 0 } else { at };
            let (v1, v2) = v.split_at_mut(vat);
            let (a, b) = crate::kernels::join(
                || update_groups(step, left, p1, g1, m1, v1),
                || update_groups(step, right, p2, g2, m2, v2),
            );
            a + b
        }
    }
}

/// The settings of one update step.
#[derive(Clone, Copy)]
struct Step {
    kind: OptimizerKind,
    lr: f64,
    wd: f64,
    t: u64,
}

impl Step {
    /// Updates one group; returns its penalty value after the update.
    fn apply<F: Real>(&self, g: &Group<F>, p: &mut [F], gr: &[F], m: &mut [F], v: &mut [F]) -> f64 {
        let lr = self.lr;
        let wd = if g.decay { self.wd } else { 0.0 };
        match self.kind {
            OptimizerKind::Sgd {
                momentum,
                dampening,
                nesterov,
            } => {
                sgd_update(p, gr, m, lr, wd, momentum, dampening, nesterov, self.t == 1);
                if g.l1_prox > F::zero() {
                    let thr = F::of(lr) * g.l1_prox;
                    p.iter_mut().for_each(|w| *w = soft_threshold(*w, thr));
                }
            }
            OptimizerKind::Adam { beta1, beta2, eps }
            | OptimizerKind::AdamW { beta1, beta2, eps } => {
                let decoupled = matches!(self.kind, OptimizerKind::AdamW { .. });
                adam_update(
                    p, gr, m, v, lr, wd, decoupled, beta1, beta2, eps, self.t, g.l1_prox,
                );
            }
        }
        g.reg.map_or(0.0, |r| r.value(p))
    }
}

#[allow(clippy::too_many_arguments)]
fn sgd_update<F: Real>(
    p: &mut [F],
    g: &[F],
    buf: &mut [F],
    lr: f64,
    wd: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    first: bool,
) {
    let (lr, wd, mo, damp) = (
        F::of(lr),
        F::of(wd),
        F::of(momentum),
        F::of(1.0 - dampening),
    );
    if momentum == 0.0 {
        for (w, &gi) in p.iter_mut().zip(g) {
            // w -= lr (g + wd w)
            let d = gi + wd * *w;
            *w -= lr * d;
        }
        return;
    }
    for ((w, &gi), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
        let d = gi + wd * *w;
        // buf = momentum buf + (1 - dampening) d   (buf = d at the first step)
        *b = if first { d } else { mo * *b + damp * d };
        let step = if nesterov { d + mo * *b } else { *b };
        *w -= lr * step;
    }
}

#[allow(clippy::too_many_arguments)]
fn adam_update<F: Real>(
    p: &mut [F],
    g: &[F],
    m: &mut [F],
    v: &mut [F],
    lr: f64,
    wd: f64,
    decoupled: bool,
    beta1: f64,
    beta2: f64,
    eps: f64,
    t: u64,
    l1_prox: F,
) {
    let ti = t.min(i32::MAX as u64) as i32;
    let bc1 = 1.0 - beta1.powi(ti);
    let bc2 = 1.0 - beta2.powi(ti);
    let step_size = F::of(lr / bc1);
    let bc2_sqrt = F::of(bc2.sqrt());
    let (b1, b2, c1, c2) = (
        F::of(beta1),
        F::of(beta2),
        F::of(1.0 - beta1),
        F::of(1.0 - beta2),
    );
    let eps = F::of(eps);
    let coupled_wd = if decoupled { F::zero() } else { F::of(wd) };
    let shrink = if decoupled {
        F::of(1.0 - lr * wd)
    } else {
        F::one()
    };
    for (((w, &gi), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        // AdamW: w *= 1 - lr wd ; Adam: g += wd w
        *w *= shrink;
        let d = gi + coupled_wd * *w;
        *mi = b1 * *mi + c1 * d;
        *vi = b2 * *vi + c2 * d * d;
        let denom = vi.sqrt() / bc2_sqrt + eps;
        // w -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps)
        *w -= step_size * *mi / denom;
        if l1_prox > F::zero() {
            // proximal L1 in the metric of the step: threshold lr/(1-b1^t)/denom * l1
            *w = soft_threshold(*w, step_size / denom * l1_prox);
        }
    }
}

/// Scales `grads` so their Euclidean norm is at most `max_norm` (PyTorch
/// `clip_grad_norm_`: `g *= max_norm/(norm + 1e-6)` when that factor is below 1). Returns the
/// norm before clipping.
pub fn clip_global_norm<F: Real>(grads: &mut [F], max_norm: f64) -> f64 {
    let norm = grads
        .iter()
        .map(|g| {
            let g = g.f64();
            g * g
        })
        .sum::<f64>()
        .sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = F::of(coef);
        grads.iter_mut().for_each(|g| *g *= c);
    }
    norm
}
