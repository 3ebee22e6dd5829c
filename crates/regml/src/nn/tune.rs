//! Hyper-parameter search for networks: grid or random search over L1, L2, dropout, weight
//! decay and learning rate, scored by k-fold cross-validation (folds drawn within each class
//! for class targets, [`crate::cv::make_stratified_folds`], as scikit-learn's search does for
//! classifiers; [`crate::cv::make_folds`] otherwise) or a validation split.

use super::train::{evaluate, Dataset, Monitor};
use super::Real;
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The values one hyper-parameter may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// A list (grid search uses all of them; random search draws among them).
    Values(Vec<f64>),
    /// Log-uniform on `[lo, hi]`, `0 < lo <= hi` (random search only).
    LogUniform(f64, f64),
    /// Uniform on `[lo, hi]` (random search only).
    Uniform(f64, f64),
}

impl Dimension {
    /// Parses `a,b,c` (values), `lo:hi` (uniform) or `lo~hi` (log-uniform).
    pub fn parse(name: &'static str, s: &str) -> Result<Self> {
        let num = |t: &str| -> Result<f64> {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Error::param(name, t, "not a finite number"))
        };
        let d = if let Some((a, b)) = s.split_once('~') {
            Dimension::LogUniform(num(a)?, num(b)?)
        } else if let Some((a, b)) = s.split_once(':') {
            Dimension::Uniform(num(a)?, num(b)?)
        } else {
            Dimension::Values(s.split(',').map(num).collect::<Result<_>>()?)
        };
        match &d {
            Dimension::Values(v) if v.is_empty() => Err(Error::param(name, s, "no values")),
            Dimension::LogUniform(a, b) if !(*a > 0.0 && a <= b) => {
                Err(Error::param(name, s, "log-uniform needs 0 < lo <= hi"))
            }
            Dimension::Uniform(a, b) if a > b => Err(Error::param(name, s, "needs lo <= hi")),
            _ => Ok(d),
        }
    }

    fn values(&self) -> Option<&[f64]> {
        match self {
            Dimension::Values(v) => Some(v),
            _ => None,
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Dimension::Values(v) => v[rng.random_range(0..v.len())],
            Dimension::Uniform(a, b) => a + (b - a) * rng.random::<f64>(),
            Dimension::LogUniform(a, b) => (a.ln() + (b.ln() - a.ln()) * rng.random::<f64>()).exp(),
        }
    }
}

/// One point of the search space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Kernel L1 factor.
    pub l1: f64,
    /// Kernel L2 factor.
    pub l2: f64,
    /// Dropout rate.
    pub dropout: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Learning rate.
    pub lr: f64,
}

/// The search space: one [`Dimension`] per hyper-parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Kernel L1 factors.
    pub l1: Dimension,
    /// Kernel L2 factors.
    pub l2: Dimension,
    /// Dropout rates.
    pub dropout: Dimension,
    /// Weight decays.
    pub weight_decay: Dimension,
    /// Learning rates.
    pub lr: Dimension,
}

/// How candidates are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// Every combination of the listed values.
    Grid,
    /// `trials` independent draws (seeded).
    Random {
        /// Number of candidates.
        trials: usize,
        /// Seed of the draws.
        seed: u64,
    },
}

/// Largest number of candidates a search may produce.
pub const MAX_CANDIDATES: usize = 10_000;

impl SearchSpace {
    /// The candidates of a grid or random search.
    pub fn candidates(&self, search: Search) -> Result<Vec<Candidate>> {
        let dims = [
            &self.l1,
            &self.l2,
            &self.dropout,
            &self.weight_decay,
            &self.lr,
        ];
        let out: Vec<Candidate> = match search {
            Search::Grid => {
                let vals: Vec<&[f64]> = dims
                    .iter()
                    .map(|d| {
                        d.values().ok_or_else(|| {
                            Error::param("search", "grid", "ranges need random search")
                        })
                    })
                    .collect::<Result<_>>()?;
                let total = vals.iter().map(|v| v.len()).product::<usize>();
                if total > MAX_CANDIDATES {
                    return Err(Error::param(
                        "search",
                        total,
                        format!("grid has more than {MAX_CANDIDATES} points"),
                    ));
                }
                let mut out = Vec::with_capacity(total);
                for &l1 in vals[0] {
                    for &l2 in vals[1] {
                        for &dropout in vals[2] {
                            for &weight_decay in vals[3] {
                                for &lr in vals[4] {
                                    out.push(Candidate {
                                        l1,
                                        l2,
                                        dropout,
                                        weight_decay,
                                        lr,
                                    });
                                }
                            }
                        }
                    }
                }
                out
            }
            Search::Random { trials, seed } => {
                if trials == 0 || trials > MAX_CANDIDATES {
                    return Err(Error::param(
                        "trials",
                        trials,
                        format!("must lie in 1..={MAX_CANDIDATES}"),
                    ));
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                (0..trials)
                    .map(|_| Candidate {
                        l1: self.l1.sample(&mut rng),
                        l2: self.l2.sample(&mut rng),
                        dropout: self.dropout.sample(&mut rng),
                        weight_decay: self.weight_decay.sample(&mut rng),
                        lr: self.lr.sample(&mut rng),
                    })
                    .collect()
            }
        };
        Ok(out)
    }
}

/// How each candidate is scored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Validation {
    /// Train on a shuffled `1 - fraction`, score on the rest.
    Split(f64),
    /// k-fold cross-validation (mean and standard error over folds); with class targets the
    /// folds are drawn within each class.
    KFold(usize),
}

/// Each row's fold among `k`: drawn within each class for class targets
/// ([`crate::cv::make_stratified_folds`]), else [`crate::cv::make_folds`].
fn fold_ids<F>(y: &super::Targets<F>, k: usize, seed: u64) -> Vec<usize> {
    match y {
        super::Targets::Classes { labels, .. } => {
            let classes: Vec<usize> = labels.iter().map(|&c| c as usize).collect();
            crate::cv::make_stratified_folds(&classes, k, seed)
        }
        super::Targets::Values(v) => crate::cv::make_folds(v.nrows(), k, seed),
    }
}

/// Score of one candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The hyper-parameters.
    pub candidate: Candidate,
    /// Mean validation loss over folds (including penalties, as Keras reports it).
    pub val_loss: f64,
    /// Standard error of the mean over folds (0 for a single split).
    pub val_loss_se: f64,
    /// Mean validation accuracy (classification).
    pub val_accuracy: Option<f64>,
    /// Mean number of epochs trained per fold.
    pub epochs: f64,
}

/// Trains `build(candidate)` on each fold and scores it on the held-out rows. `build`
/// returns a fresh trainer (network and settings) for a candidate. Returns one [`Trial`] per
/// candidate, in order.
pub fn search<F: Real>(
    candidates: &[Candidate],
    data: &Dataset<F>,
    validation: Validation,
    seed: u64,
    mut build: impl FnMut(&Candidate) -> Result<super::Trainer<F>>,
    mut on_trial: impl FnMut(usize, &Trial),
    monitor: &mut dyn Monitor<F>,
) -> Result<Vec<Trial>> {
    let n = data.len();
    let splits: Vec<(Vec<usize>, Vec<usize>)> = match validation {
        Validation::Split(f) => vec![super::train::holdout_indices(
            n,
            f,
            seed,
            "validation_split",
        )?],
        Validation::KFold(k) => {
            if k < 2 || k > n {
                return Err(Error::param("folds", k, format!("must lie in 2..={n}")));
            }
            let fold = fold_ids(&data.y, k, seed);
            (0..k)
                .map(|f| {
                    (
                        (0..n).filter(|&i| fold[i] != f).collect(),
                        (0..n).filter(|&i| fold[i] == f).collect(),
                    )
                })
                .collect()
        }
    };
    let parts: Vec<(Dataset<F>, Dataset<F>)> = splits
        .iter()
        .map(|(tr, va)| (data.select(tr), data.select(va)))
        .collect();
    let mut trials = Vec::with_capacity(candidates.len());
    for (ci, c) in candidates.iter().enumerate() {
        let (mut losses, mut accs, mut epochs) = (Vec::new(), Vec::new(), 0usize);
        for (tr, va) in &parts {
            let mut trainer = build(c)?;
            trainer.fit(tr, Some(va), monitor)?;
            let (l, a) = evaluate(&trainer.model, va)?;
            losses.push(l);
            if let Some(a) = a {
                accs.push(a);
            }
            epochs += trainer.epochs_done();
        }
        let k = losses.len() as f64;
        let mean = losses.iter().sum::<f64>() / k;
        let se = if losses.len() > 1 {
            (losses.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / (k - 1.0)).sqrt()
                / k.sqrt()
        } else {
            0.0
        };
        let trial = Trial {
            candidate: c.clone(),
            val_loss: mean,
            val_loss_se: se,
            val_accuracy: (!accs.is_empty()).then(|| accs.iter().sum::<f64>() / accs.len() as f64),
            epochs: epochs as f64 / k,
        };
        on_trial(ci, &trial);
        trials.push(trial);
    }
    Ok(trials)
}

/// Index of the trial with the lowest validation loss (first on ties; NaN never wins).
pub fn best_trial(trials: &[Trial]) -> Option<usize> {
    trials
        .iter()
        .enumerate()
        .filter(|(_, t)| t.val_loss.is_finite())
        .min_by(|a, b| a.1.val_loss.total_cmp(&b.1.val_loss))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Targets;

    #[test]
    fn class_targets_get_folds_drawn_within_each_class() {
        // 40 rows of three classes (24, 12, 4), in blocks
        let labels: Vec<u32> = (0..40)
            .map(|i| u32::from(i >= 24) + u32::from(i >= 36))
            .collect();
        let y = Targets::<f64>::Classes {
            labels: labels.clone(),
            n_classes: 3,
        };
        let fold = fold_ids(&y, 4, 9);
        let mut counts = [[0; 3]; 4];
        fold.iter()
            .zip(&labels)
            .for_each(|(&f, &c)| counts[f][c as usize] += 1);
        assert_eq!(counts, [[6, 3, 1]; 4]);
        let values = Targets::Values(ndarray::Array2::<f64>::zeros((40, 1)));
        assert_eq!(fold_ids(&values, 4, 9), crate::cv::make_folds(40, 4, 9));
    }
}
