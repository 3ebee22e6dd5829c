//! Optimizer trajectories against PyTorch (fixture from `tests/golden/make_torch_optim.py`):
//! a 5-4-3 tanh network trained full-batch in f64 for 12 steps with SGD (plain, momentum,
//! Nesterov with coupled weight decay, dampening), Adam (with and without coupled decay) and
//! AdamW (with and without decoupled decay, with global-norm clipping).

use ndarray::Array2;
use regml::nn::{
    Activation, Dataset, FitConfig, LayerSpec, Loss, Monitor, Monitored, OptimizerConfig,
    OptimizerKind, Sequential, Targets, Trainer,
};
use serde_json::Value;
use std::io::Read;

fn fixture() -> Value {
    let bytes = include_bytes!("golden/torch_optim.json.gz");
    let mut s = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut s)
        .unwrap();
    serde_json::from_str(&s).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

struct Record(Vec<Vec<f64>>, Vec<f64>);

impl Monitor<f64> for Record {
    fn epoch_end(&mut self, t: &Trainer<f64>) -> regml::Result<Monitored> {
        self.0.push(t.model.params.clone());
        self.1.push(t.history.epochs.last().unwrap().loss);
        Ok(Monitored::Continue)
    }
}

#[test]
fn trajectories_match_pytorch() {
    let f = fixture();
    let rows: Vec<Vec<f64>> = f["x"].as_array().unwrap().iter().map(floats).collect();
    let (n, p) = (rows.len(), rows[0].len());
    let x = Array2::from_shape_fn((n, p), |(i, j)| rows[i][j]);
    let labels: Vec<u32> = floats(&f["y"]).iter().map(|&v| v as u32).collect();
    let k = f["classes"].as_u64().unwrap() as usize;
    let h = f["hidden"].as_u64().unwrap() as usize;
    let data = Dataset::new(
        x,
        Targets::Classes {
            labels,
            n_classes: k,
        },
    )
    .unwrap();
    let init = floats(&f["init"]);
    let cases = f["cases"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let betas = floats(&c["betas"]);
        let eps = c["eps"].as_f64().unwrap();
        let kind = match c["optimizer"].as_str().unwrap() {
            "sgd" => OptimizerKind::Sgd {
                momentum: c["momentum"].as_f64().unwrap(),
                dampening: c["dampening"].as_f64().unwrap(),
                nesterov: c["nesterov"].as_bool().unwrap(),
            },
            "adam" => OptimizerKind::Adam {
                beta1: betas[0],
                beta2: betas[1],
                eps,
            },
            _ => OptimizerKind::AdamW {
                beta1: betas[0],
                beta2: betas[1],
                eps,
            },
        };
        let mut opt = OptimizerConfig::new(kind);
        opt.lr = c["lr"].as_f64().unwrap();
        opt.weight_decay = c["weight_decay"].as_f64().unwrap();
        opt.clip_norm = c["clip"].as_f64();
        let traj: Vec<Vec<f64>> = c["trajectory"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let losses = floats(&c["losses"]);
        let mut net = Sequential::<f64>::new(
            p,
            vec![
                LayerSpec::dense(h, Activation::Tanh),
                LayerSpec::dense(k, Activation::Linear),
            ],
            Loss::SoftmaxCrossEntropy,
            0,
        )
        .unwrap();
        net.params.copy_from_slice(&init);
        let mut cfg = FitConfig::new(traj.len(), n, opt);
        cfg.shuffle = false;
        let mut trainer = Trainer::new(net, cfg).unwrap();
        let mut rec = Record(Vec::new(), Vec::new());
        trainer.fit(&data, None, &mut rec).unwrap();
        assert_eq!(rec.0.len(), traj.len(), "{name}");
        assert!(traj.len() >= 10);
        for (step, (ours, theirs)) in rec.0.iter().zip(&traj).enumerate() {
            for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-10 * (1.0 + b.abs()),
                    "{name}: step {} parameter {i}: regml {a}, PyTorch {b}",
                    step + 1
                );
            }
        }
        for (step, (a, b)) in rec.1.iter().zip(&losses).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{name}: loss at step {step}: {a} vs {b}"
            );
        }
        // the trajectory moved: a test that cannot fail would not
        let moved = traj
            .last()
            .unwrap()
            .iter()
            .zip(&init)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(moved > 1e-3, "{name}: parameters barely moved");
    }
}
