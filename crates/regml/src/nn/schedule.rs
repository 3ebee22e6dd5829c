//! Learning-rate schedules, stepped once per epoch (PyTorch's `lr_scheduler` semantics).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the learning rate changes from epoch to epoch. `lr0` is the optimizer's base rate and
/// `e` the epoch index after warmup (0-based).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// `lr0` throughout.
    #[default]
    Constant,
    /// `lr0 * gamma^floor(e / step_size)` (PyTorch `StepLR`).
    Step {
        /// Epochs between decays.
        step_size: usize,
        /// Factor per decay.
        gamma: f64,
    },
    /// `lr0 * gamma^e` (PyTorch `ExponentialLR`).
    Exponential {
        /// Factor per epoch.
        gamma: f64,
    },
    /// `eta_min + (lr0 - eta_min) * (1 + cos(pi * e / t_max)) / 2` (PyTorch
    /// `CosineAnnealingLR`; as there, the rate rises again after `t_max` epochs, so set
    /// `t_max` to the number of epochs for one decay).
    Cosine {
        /// Epochs to reach `eta_min`.
        t_max: usize,
        /// Final rate.
        eta_min: f64,
    },
    /// Multiply the rate by `factor` when the monitored validation loss has not improved
    /// (relative threshold: `loss < best * (1 - threshold)`) for more than `patience`
    /// epochs, then wait `cooldown` epochs; never below `min_lr` (PyTorch
    /// `ReduceLROnPlateau`, mode `min`, threshold mode `rel`).
    Plateau {
        /// Factor (< 1).
        factor: f64,
        /// Epochs without improvement tolerated.
        patience: usize,
        /// Relative improvement that counts.
        threshold: f64,
        /// Epochs to wait after a reduction.
        cooldown: usize,
        /// Lower bound on the rate.
        min_lr: f64,
    },
}

impl Schedule {
    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        let factor_ok = |name: &'static str, g: f64| {
            if !(g > 0.0 && g <= 1.0) {
                Err(Error::param(name, g, "must lie in (0, 1]"))
            } else {
                Ok(())
            }
        };
        match self {
            Schedule::Constant => Ok(()),
            Schedule::Step { step_size, gamma } => {
                if *step_size == 0 {
                    return Err(Error::param("step_size", step_size, "must be >= 1"));
                }
                factor_ok("gamma", *gamma)
            }
            Schedule::Exponential { gamma } => factor_ok("gamma", *gamma),
            Schedule::Cosine { t_max, eta_min } => {
                if *t_max == 0 {
                    return Err(Error::param("t_max", t_max, "must be >= 1"));
                }
                if !(*eta_min >= 0.0 && eta_min.is_finite()) {
                    return Err(Error::param("eta_min", eta_min, "must be finite and >= 0"));
                }
                Ok(())
            }
            Schedule::Plateau {
                factor,
                threshold,
                min_lr,
                ..
            } => {
                if !(*factor > 0.0 && *factor < 1.0) {
                    return Err(Error::param("factor", factor, "must lie in (0, 1)"));
                }
                if !(*threshold >= 0.0 && threshold.is_finite()) {
                    return Err(Error::param("threshold", threshold, "must be >= 0"));
                }
                if !(*min_lr >= 0.0 && min_lr.is_finite()) {
                    return Err(Error::param("min_lr", min_lr, "must be >= 0"));
                }
                Ok(())
            }
        }
    }
}

/// Schedule with linear warmup and the state `ReduceLROnPlateau` needs (saved in
/// checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The schedule.
    pub schedule: Schedule,
    /// Warmup epochs: during epoch `w < warmup` the rate is multiplied by
    /// `start + (1 - start) * w / warmup` (PyTorch `LinearLR`); the schedule's epoch count
    /// starts after warmup (PyTorch `SequentialLR`).
    pub warmup_epochs: usize,
    /// Warmup start factor (PyTorch `LinearLR` default 1/3).
    pub warmup_start: f64,
    /// Current plateau rate.
    pub plateau_lr: Option<f64>,
    /// Best monitored value so far (plateau).
    pub best: Option<f64>,
    /// Epochs since the last improvement (plateau).
    pub bad_epochs: usize,
    /// Remaining cooldown epochs (plateau).
    pub cooldown_left: usize,
}

impl ScheduleState {
    /// A schedule with optional warmup.
    pub fn new(schedule: Schedule, warmup_epochs: usize, warmup_start: f64) -> Result<Self> {
        schedule.check()?;
        if !(warmup_start > 0.0 && warmup_start <= 1.0) {
            return Err(Error::param(
                "warmup_start",
                warmup_start,
                "must lie in (0, 1]",
            ));
        }
        Ok(ScheduleState {
            schedule,
            warmup_epochs,
            warmup_start,
            plateau_lr: None,
            best: None,
            bad_epochs: 0,
            cooldown_left: 0,
        })
    }

    /// Learning rate for epoch `epoch` (0-based) with base rate `lr0`.
    pub fn lr(&self, lr0: f64, epoch: usize) -> f64 {
        if epoch < self.warmup_epochs {
            let w = self.warmup_epochs as f64;
            return lr0 * (self.warmup_start + (1.0 - self.warmup_start) * epoch as f64 / w);
        }
        let e = epoch - self.warmup_epochs;
        match &self.schedule {
            Schedule::Constant => lr0,
            Schedule::Step { step_size, gamma } => {
                lr0 * gamma.powi((e / step_size).min(i32::MAX as usize) as i32)
            }
            Schedule::Exponential { gamma } => lr0 * gamma.powi(e.min(i32::MAX as usize) as i32),
            Schedule::Cosine { t_max, eta_min } => {
                let t = e as f64 / *t_max as f64;
                eta_min + (lr0 - eta_min) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
            Schedule::Plateau { .. } => self.plateau_lr.unwrap_or(lr0),
        }
    }

    /// Feeds the end-of-epoch monitored loss (plateau schedule only).
    pub fn observe(&mut self, lr0: f64, epoch: usize, value: f64) {
        if let Schedule::Plateau {
            factor,
            patience,
            threshold,
            cooldown,
            min_lr,
        } = self.schedule
        {
            if epoch < self.warmup_epochs {
                return;
            }
            let improved = match self.best {
                None => !value.is_nan(),
                Some(best) => value < best * (1.0 - threshold),
            };
            if improved {
                self.best = Some(value);
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
            }
            if self.cooldown_left > 0 {
                self.cooldown_left -= 1;
                self.bad_epochs = 0;
            }
            if self.bad_epochs > patience {
                let cur = self.plateau_lr.unwrap_or(lr0);
                self.plateau_lr = Some((cur * factor).max(min_lr));
                self.cooldown_left = cooldown;
                self.bad_epochs = 0;
            }
        }
    }
}
