//! Training-loop behaviour: accuracy on digits, exact sparsity, dropout, early stopping,
//! determinism, checkpoint/resume, schedules against PyTorch, model files, divergence.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regml::nn::{
    evaluate, load_model, save_model, Activation, Dataset, EarlyStopping, FitConfig, L1Mode,
    LayerSpec, Loss, Monitor, Monitored, OptimizerConfig, OptimizerKind, Preprocessing,
    Regularizer, Schedule, ScheduleState, Sequential, StopReason, Targets, Trainer,
};
use regml::Error;

/// Digits scaled to [0, 1], split 80/20 with a fixed seed: (train, test).
fn digits() -> (Dataset<f32>, Dataset<f32>) {
    let t = regml::data::dataset("digits").unwrap();
    let yi = t.column_index("digit").unwrap();
    let y = t.numeric(yi).unwrap();
    let (x, _) = t.matrix_without(&[yi]).unwrap();
    let x = Preprocessing::Scale { factor: 1.0 / 16.0 }
        .apply::<f32>(x.view())
        .unwrap();
    let labels = y.iter().map(|&v| v as u32).collect();
    let all = Dataset::new(
        x,
        Targets::Classes {
            labels,
            n_classes: 10,
        },
    )
    .unwrap();
    all.split(0.2, 7).unwrap()
}

fn mlp(hidden: usize, reg: Option<Regularizer>, dropout: f64, seed: u64) -> Sequential<f32> {
    Sequential::new(
        64,
        vec![
            LayerSpec::dense(hidden, Activation::Relu).with_kernel_regularizer(reg),
            LayerSpec::dropout(dropout),
            LayerSpec::dense(10, Activation::Linear).with_kernel_regularizer(reg),
        ],
        Loss::SoftmaxCrossEntropy,
        seed,
    )
    .unwrap()
}

fn adamw(lr: f64) -> OptimizerConfig {
    let mut o = OptimizerConfig::new(OptimizerKind::adamw());
    o.lr = lr;
    o
}

#[test]
fn digits_mlp_reaches_95_percent() {
    let (train, test) = digits();
    let mut cfg = FitConfig::new(30, 32, adamw(3e-3));
    cfg.seed = 1;
    let mut tr = Trainer::new(mlp(64, Regularizer::l2(1e-5).ok(), 0.2, 1), cfg).unwrap();
    let h = tr
        .fit(&train, None, &mut regml::nn::NoMonitor)
        .unwrap()
        .clone();
    assert_eq!(h.epochs.len(), 30);
    assert_eq!(h.stop_reason, Some(StopReason::EpochLimit));
    // training loss decreased
    assert!(h.epochs[29].loss < 0.5 * h.epochs[0].loss);
    let (_, acc) = evaluate(&tr.model, &test).unwrap();
    let acc = acc.unwrap();
    assert!(acc >= 0.95, "test accuracy {acc}");
}

#[test]
fn proximal_l1_gives_exact_zeros_and_subgradient_does_not() {
    let (train, test) = digits();
    let reg = Regularizer::l1(1e-4).ok();
    let mut zeros = Vec::new();
    for mode in [L1Mode::Subgradient, L1Mode::Proximal] {
        let mut cfg = FitConfig::new(15, 32, adamw(3e-3));
        cfg.l1_mode = mode;
        let mut tr = Trainer::new(mlp(64, reg, 0.0, 2), cfg).unwrap();
        tr.fit(&train, None, &mut regml::nn::NoMonitor).unwrap();
        let z = tr.model.kernel_zeros();
        assert_eq!(z.len(), 2);
        let total: usize = z.iter().map(|(_, zero, _)| zero).sum();
        let (_, acc) = evaluate(&tr.model, &test).unwrap();
        assert!(acc.unwrap() > 0.9, "{mode:?}: accuracy {acc:?}");
        zeros.push((total, z[0].2 + z[1].2));
    }
    assert_eq!(zeros[0].0, 0, "subgradient L1 produced exact zeros");
    assert!(
        zeros[1].0 * 5 > zeros[1].1,
        "proximal L1 zeroed only {} of {} weights",
        zeros[1].0,
        zeros[1].1
    );
}

#[test]
fn dropout_is_identity_at_inference_and_preserves_the_mean_in_training() {
    let mut net = Sequential::<f64>::new(
        200,
        vec![LayerSpec::dropout(0.3)],
        Loss::MeanSquaredError,
        0,
    )
    .unwrap();
    let x = Array2::from_shape_fn((500, 200), |(i, j)| 1.0 + ((i * 7 + j) % 5) as f64);
    let eval = net.forward_batch(x.view(), None).unwrap();
    assert_eq!(eval, x);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let train = net.forward_batch(x.view(), Some(&mut rng)).unwrap();
    let zeros = train.iter().filter(|v| **v == 0.0).count() as f64 / x.len() as f64;
    assert!((zeros - 0.3).abs() < 0.01, "drop fraction {zeros}");
    // survivors are scaled by 1/(1-rate)
    for (a, b) in train.iter().zip(x.iter()) {
        assert!(*a == 0.0 || (a - b / 0.7).abs() < 1e-12);
    }
    let ratio = train.sum() / x.sum();
    assert!((ratio - 1.0).abs() < 0.01, "mean ratio {ratio}");
}

#[test]
fn early_stopping_restores_best_epoch_also_at_the_epoch_limit() {
    let (train, test) = digits();
    // a small training set and a large rate: validation loss turns up while training goes on
    let small = train.select(&(0..120).collect::<Vec<_>>());
    let mut cfg = FitConfig::new(25, 16, adamw(1e-2));
    cfg.early_stopping = Some(EarlyStopping::val_loss(100)); // patience beyond the limit
    let mut tr = Trainer::new(mlp(128, None, 0.0, 3), cfg).unwrap();
    let h = tr
        .fit(&small, Some(&test), &mut regml::nn::NoMonitor)
        .unwrap()
        .clone();
    assert_eq!(h.stop_reason, Some(StopReason::EpochLimit));
    let vals: Vec<f64> = h.epochs.iter().map(|e| e.val_loss.unwrap()).collect();
    let (best_i, best) = vals
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert!(
        best_i + 1 < 25,
        "validation loss still falling: the scenario tests nothing"
    );
    assert_eq!(h.best_epoch, Some(best_i + 1));
    let (now, _) = evaluate(&tr.model, &test).unwrap();
    assert_eq!(now, *best, "model does not hold the best epoch's weights");
    assert!(now < *vals.last().unwrap());
}

#[test]
fn early_stopping_stops_after_patience() {
    let (train, test) = digits();
    let small = train.select(&(0..120).collect::<Vec<_>>());
    let mut cfg = FitConfig::new(200, 16, adamw(1e-2));
    cfg.early_stopping = Some(EarlyStopping::val_loss(3));
    let mut tr = Trainer::new(mlp(128, None, 0.0, 3), cfg).unwrap();
    let h = tr
        .fit(&small, Some(&test), &mut regml::nn::NoMonitor)
        .unwrap()
        .clone();
    assert_eq!(h.stop_reason, Some(StopReason::EarlyStopping));
    let best = h.best_epoch.unwrap();
    assert_eq!(h.epochs.len(), best + 3);
}

fn train_digits(seed: u64, epochs: usize) -> Trainer<f32> {
    let (train, test) = digits();
    let mut cfg = FitConfig::new(epochs, 64, adamw(3e-3));
    cfg.seed = seed;
    cfg.early_stopping = Some(EarlyStopping::val_loss(10));
    let mut tr = Trainer::new(mlp(48, Regularizer::l2(1e-4).ok(), 0.3, seed), cfg).unwrap();
    tr.fit(&train, Some(&test), &mut regml::nn::NoMonitor)
        .unwrap();
    tr
}

#[test]
fn same_seed_same_weights_bitwise() {
    let a = train_digits(5, 4);
    let b = train_digits(5, 4);
    let c = train_digits(6, 4);
    assert!(a
        .model
        .params
        .iter()
        .zip(&b.model.params)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_ne!(a.model.params, c.model.params);
}

/// Saves a checkpoint after every epoch and asks to stop after `stop_after` epochs, as a
/// killed process would leave things.
struct Checkpointer {
    path: std::path::PathBuf,
    stop_after: usize,
}

impl Monitor<f32> for Checkpointer {
    fn epoch_end(&mut self, t: &Trainer<f32>) -> regml::Result<Monitored> {
        t.save_checkpoint(&self.path)?;
        Ok(if t.epochs_done() >= self.stop_after {
            Monitored::Stop
        } else {
            Monitored::Continue
        })
    }
}

#[test]
fn resume_from_checkpoint_equals_uninterrupted_run() {
    let (train, test) = digits();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    let full = train_digits(8, 6);
    let mut cfg = FitConfig::new(6, 64, adamw(3e-3));
    cfg.seed = 8;
    cfg.early_stopping = Some(EarlyStopping::val_loss(10));
    let mut first = Trainer::new(mlp(48, Regularizer::l2(1e-4).ok(), 0.3, 8), cfg).unwrap();
    let mut mon = Checkpointer {
        path: path.clone(),
        stop_after: 3,
    };
    first.fit(&train, Some(&test), &mut mon).unwrap();
    assert_eq!(first.epochs_done(), 3);
    let mut resumed = Trainer::<f32>::load_checkpoint(&path).unwrap();
    assert_eq!(resumed.epochs_done(), 3);
    resumed
        .fit(&train, Some(&test), &mut regml::nn::NoMonitor)
        .unwrap();
    assert_eq!(resumed.history, full.history_without_times(&resumed));
    assert!(resumed
        .model
        .params
        .iter()
        .zip(&full.model.params)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
}

trait NoTimes {
    fn history_without_times(&self, other: &Trainer<f32>) -> regml::nn::History;
}

impl NoTimes for Trainer<f32> {
    /// This trainer's history with the other's epoch times (times differ between runs).
    fn history_without_times(&self, other: &Trainer<f32>) -> regml::nn::History {
        let mut h = self.history.clone();
        for (a, b) in h.epochs.iter_mut().zip(&other.history.epochs) {
            a.seconds = b.seconds;
        }
        h
    }
}

#[test]
fn model_file_round_trip_is_bitwise_and_damage_is_reported() {
    let tr = train_digits(9, 2);
    let mut model = tr.model.clone();
    model.classes = (0..10).map(|c| c.to_string()).collect();
    let mut bn = Sequential::<f32>::new(
        64,
        vec![
            LayerSpec::dense(16, Activation::Linear),
            LayerSpec::batch_norm(),
            LayerSpec::Activation {
                activation: Activation::Relu,
            },
            LayerSpec::dense(10, Activation::Linear),
        ],
        Loss::SoftmaxCrossEntropy,
        1,
    )
    .unwrap();
    let (train, _) = digits();
    bn.forward_batch(train.x.view(), Some(&mut ChaCha8Rng::seed_from_u64(1)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, m) in [model, bn].into_iter().enumerate() {
        let path = dir.path().join(format!("m{i}.regml"));
        save_model(&m, &path).unwrap();
        let back = load_model::<f32>(&path).unwrap();
        assert!(back
            .params
            .iter()
            .zip(&m.params)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(back
            .state
            .iter()
            .zip(&m.state)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(back.specs(), m.specs());
        assert_eq!(back.classes, m.classes);
        assert_eq!(
            back.predict(train.x.view()).unwrap(),
            m.predict(train.x.view()).unwrap()
        );
        let bytes = std::fs::read(&path).unwrap();
        let bad = dir.path().join("bad.regml");
        let damage = |b: &[u8]| {
            std::fs::write(&bad, b).unwrap();
            match load_model::<f32>(&bad) {
                Err(Error::ModelFile { reason, .. }) => reason,
                other => panic!("damaged file loaded: {:?}", other.map(|_| ())),
            }
        };
        assert!(damage(&bytes[..bytes.len() - 3]).contains("truncated"));
        assert!(damage(&bytes[..5]).contains("truncated"));
        let key = b"format_version\\\":1";
        let at = bytes.windows(key.len()).position(|w| w == key).unwrap();
        let mut versioned = bytes.clone();
        versioned[at + key.len() - 1] = b'7';
        let msg = damage(&versioned);
        assert!(msg.contains("format_version 7"), "{msg}");
        // a NaN in the weights
        let mut nan = bytes.clone();
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(damage(&nan).contains("non-finite"));
    }
}

#[test]
fn divergence_stops_with_epoch_and_batch() {
    // linear regression on unscaled inputs with a huge step: the loss overflows
    let x = Array2::from_shape_fn((64, 3), |(i, j)| (i * 3 + j) as f32);
    let y = Array2::from_shape_fn((64, 1), |(i, _)| i as f32);
    let data = Dataset::new(x, Targets::Values(y)).unwrap();
    let net = Sequential::<f32>::new(
        3,
        vec![LayerSpec::dense(1, Activation::Linear)],
        Loss::MeanSquaredError,
        0,
    )
    .unwrap();
    let mut o = OptimizerConfig::new(OptimizerKind::sgd(0.0, false));
    o.lr = 10.0;
    let mut tr = Trainer::new(net, FitConfig::new(50, 16, o)).unwrap();
    match tr.fit(&data, None, &mut regml::nn::NoMonitor) {
        Err(e @ Error::Diverged { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("at epoch ") && msg.contains(", batch "),
                "{msg}"
            );
        }
        other => panic!(
            "expected divergence, got {:?}",
            other.map(|h| h.epochs.len())
        ),
    }
}

#[test]
fn schedules_match_pytorch() {
    let f: serde_json::Value =
        serde_json::from_str(include_str!("golden/torch_schedules.json")).unwrap();
    let seq = |k: &str| -> Vec<f64> {
        f[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let check = |s: ScheduleState, name: &str, metrics: Option<Vec<f64>>| {
        let mut s = s;
        let expect = seq(name);
        for (e, want) in expect.iter().enumerate() {
            let got = s.lr(0.1, e);
            assert!(
                (got - want).abs() < 1e-12,
                "{name}: epoch {e}: {got} vs {want}"
            );
            if let Some(m) = &metrics {
                s.observe(0.1, e, m[e]);
            }
        }
    };
    let st = |s: Schedule| ScheduleState::new(s, 0, 1.0).unwrap();
    check(
        st(Schedule::Step {
            step_size: 3,
            gamma: 0.5,
        }),
        "step",
        None,
    );
    check(
        st(Schedule::Exponential { gamma: 0.8 }),
        "exponential",
        None,
    );
    check(
        st(Schedule::Cosine {
            t_max: 10,
            eta_min: 0.001,
        }),
        "cosine",
        None,
    );
    check(
        ScheduleState::new(Schedule::Constant, 4, 1.0 / 3.0).unwrap(),
        "warmup",
        None,
    );
    check(
        st(Schedule::Plateau {
            factor: 0.5,
            patience: 1,
            threshold: 1e-4,
            cooldown: 1,
            min_lr: 0.0,
        }),
        "plateau",
        Some(seq("plateau_losses")),
    );
}

#[test]
fn bad_settings_are_typed_errors() {
    let net = mlp(8, None, 0.0, 0);
    let mut o = OptimizerConfig::new(OptimizerKind::adam());
    o.lr = -1.0;
    assert!(matches!(
        Trainer::new(net.clone(), FitConfig::new(1, 8, o)),
        Err(Error::InvalidParam { name: "lr", .. })
    ));
    assert!(matches!(
        Trainer::new(net.clone(), FitConfig::new(1, 0, adamw(1e-3))),
        Err(Error::InvalidParam { .. })
    ));
    assert!(
        Sequential::<f32>::new(4, vec![LayerSpec::dropout(1.0)], Loss::MeanSquaredError, 0)
            .is_err()
    );
    assert!(Regularizer::new(-1.0, 0.0).is_err());
    let (train, _) = digits();
    let mut cfg = FitConfig::new(1, 8, adamw(1e-3));
    cfg.early_stopping = Some(EarlyStopping::val_loss(2));
    let mut tr = Trainer::new(net, cfg).unwrap();
    assert!(tr.fit(&train, None, &mut regml::nn::NoMonitor).is_err());
}

#[test]
fn hostile_architecture_is_rejected_before_allocating() {
    // a few hundred bytes claiming a network of 2^28 parameters
    let arch = r#"{"format":"regml-nn-model","format_version":1,"n_inputs":16384,
        "layers":[{"type":"dense","units":16384}],"loss":"mean_squared_error",
        "preprocessing":{"type":"none"},"feature_names":[],"classes":[]}"#;
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("regml".to_string(), arch.to_string());
    let bytes = regml::nn::write_safetensors(&[], &meta);
    assert!(bytes.len() < 1000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.regml");
    std::fs::write(&path, &bytes).unwrap();
    match load_model::<f32>(&path) {
        Err(Error::ModelFile { reason, .. }) => {
            assert!(reason.contains("needs 268451840 parameters"), "{reason}")
        }
        other => panic!("loaded: {:?}", other.map(|_| ())),
    }
}
