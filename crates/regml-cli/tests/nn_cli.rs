//! `regml nn`: training on the embedded digits, saved models, evaluation and prediction,
//! progress output, bad input, checkpoints that survive a killed process, tuning.

mod common;

use common::{fails_with, regml};
use std::path::Path;
use std::time::{Duration, Instant};

fn run_ok(args: &[&str]) -> (String, String) {
    let out = regml().args(args).assert().success();
    let o = out.get_output();
    (
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8(o.stderr.clone()).unwrap(),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_save_eval_predict_on_digits() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.regml");
    let hist = dir.path().join("h.csv");
    let json = dir.path().join("s.json");
    let (stdout, stderr) = run_ok(&[
        "nn",
        "train",
        "--dataset",
        "digits",
        "--layers",
        "64",
        "--epochs",
        "12",
        "--batch-size",
        "32",
        "--lr",
        "3e-3",
        "--dropout",
        "0.2",
        "--l2",
        "1e-5",
        "--patience",
        "4",
        "--save",
        path_str(&model),
        "--history",
        path_str(&hist),
        "--json",
        path_str(&json),
    ]);
    // not a terminal: one plain line per epoch on stderr
    let epoch_lines = stderr.lines().filter(|l| l.starts_with("epoch")).count();
    let trained: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("trained "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(epoch_lines, trained, "{stderr}");
    assert!(stderr.contains("val_loss"), "{stderr}");
    let acc: f64 = stdout
        .lines()
        .find_map(|l| l.split("test accuracy ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(acc > 0.93, "{stdout}");
    let h = std::fs::read_to_string(&hist).unwrap();
    assert!(h.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n"));
    assert_eq!(h.lines().count(), trained + 1);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(j["history"]["epochs"].as_array().unwrap().len(), trained);
    // eval on the same hold-out reproduces the test accuracy printed by train
    let (eval, _) = run_ok(&[
        "nn",
        "eval",
        "--model",
        path_str(&model),
        "--dataset",
        "digits",
    ]);
    assert!(
        eval.contains(&format!("accuracy {acc:.4}")),
        "{eval} vs {acc}"
    );
    let (pred, _) = run_ok(&[
        "nn",
        "predict",
        "--model",
        path_str(&model),
        "--dataset",
        "digits",
    ]);
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines.len(), 1798);
    assert!(lines[0].starts_with("class,p_0,p_1"));
    let probs: f64 = lines[1]
        .split(',')
        .skip(1)
        .map(|v| v.parse::<f64>().unwrap())
        .sum();
    assert!((probs - 1.0).abs() < 1e-4);
    // --quiet: nothing on stderr
    let (_, quiet) = run_ok(&[
        "nn",
        "train",
        "--dataset",
        "digits",
        "--layers",
        "8",
        "--epochs",
        "2",
        "--quiet",
    ]);
    assert!(quiet.is_empty(), "{quiet}");
}

#[test]
fn csv_training_regression_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, mut cls) = (String::from("a,b,y\n"), String::from("a,b,label\n"));
    for i in 0..200 {
        let (a, b) = ((i % 17) as f64 / 17.0, (i % 11) as f64 / 11.0);
        let label = if a + b > 1.0 { "big" } else { "small" };
        reg.push_str(&format!("{a},{b},{}\n", 3.0 * a - b));
        cls.push_str(&format!("{a},{b},{label}\n"));
    }
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, &reg).unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, &cls).unwrap();
    let c = path_str(&csv);
    let (out, _) = run_ok(&[
        "nn", "train", "--data", c, "--target", "y", "--loss", "mse", "--layers", "16", "--epochs",
        "30", "--lr", "1e-2", "--quiet",
    ]);
    assert!(out.contains("test loss"), "{out}");
    let (out, _) = run_ok(&[
        "nn",
        "train",
        "--data",
        path_str(&labels),
        "--target",
        "label",
        "--loss",
        "binary_cross_entropy",
        "--layers",
        "16",
        "--epochs",
        "30",
        "--lr",
        "1e-2",
        "--quiet",
    ]);
    assert!(out.contains("test accuracy"), "{out}");
    // bad cells name file, line and column
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b,y\n1,2,3\n4,NaN,6\n7,8,9\n").unwrap();
    fails_with(
        &[
            "nn",
            "train",
            "--data",
            path_str(&bad),
            "--target",
            "y",
            "--loss",
            "mse",
        ],
        "bad.csv:3:2",
    );
    fails_with(&["nn", "train", "--data", c, "--target", "nope"], "nope");
    fails_with(
        &["nn", "train", "--dataset", "digits", "--layers", "6x"],
        "--layers",
    );
    fails_with(
        &["nn", "train", "--dataset", "digits", "--loss", "hinge"],
        "loss",
    );
    fails_with(
        &["nn", "train", "--dataset", "digits", "--dropout", "1.5"],
        "dropout",
    );
    fails_with(&["nn", "train", "--dataset", "digits", "--lr=-1"], "lr");
    fails_with(
        &["nn", "train", "--dataset", "digits", "--l2", "0,1"],
        "regml nn tune",
    );
    fails_with(
        &[
            "nn",
            "train",
            "--dataset",
            "digits",
            "--optimizer",
            "rmsprop",
        ],
        "optimizer",
    );
    let one = dir.path().join("one.csv");
    std::fs::write(&one, "a,y\n1,0\n2,0\n3,0\n4,0\n5,0\n").unwrap();
    fails_with(
        &["nn", "train", "--data", path_str(&one), "--target", "y"],
        "single class",
    );
    // missing Fashion-MNIST: say how to get it
    fails_with(
        &[
            "nn",
            "train",
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            path_str(dir.path()),
        ],
        "install-data.sh",
    );
    // damaged and foreign model files
    let model = dir.path().join("m.regml");
    run_ok(&[
        "nn",
        "train",
        "--dataset",
        "digits",
        "--layers",
        "8",
        "--epochs",
        "1",
        "--quiet",
        "--save",
        path_str(&model),
    ]);
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(
        &[
            "nn",
            "eval",
            "--model",
            path_str(&model),
            "--dataset",
            "digits",
        ],
        "truncated",
    );
    fails_with(
        &["nn", "eval", "--model", c, "--dataset", "digits"],
        "model file",
    );
}

/// Reads how many epochs a checkpoint holds, through the library.
fn checkpoint_epochs(p: &Path) -> Option<usize> {
    regml::nn::Trainer::<f32>::load_checkpoint(p)
        .ok()
        .map(|t| t.epochs_done())
}

#[test]
fn killed_training_resumes_to_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.regml");
    let resumed = dir.path().join("resumed.regml");
    let ck = dir.path().join("ck.safetensors");
    let common = [
        "nn",
        "train",
        "--dataset",
        "digits",
        "--layers",
        "512,512",
        "--epochs",
        "24",
        "--batch-size",
        "64",
        "--dropout",
        "0.3",
        "--l2",
        "1e-5",
        "--seed",
        "3",
        "--patience",
        "30",
        "--quiet",
    ];
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--save", path_str(&full)]);
    run_ok(&args);
    // start the same run with checkpoints, kill it mid-way
    let bin = assert_cmd::cargo::cargo_bin("regml");
    let mut child = std::process::Command::new(&bin)
        .args(common)
        .args(["--checkpoint", path_str(&ck), "--save", path_str(&resumed)])
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut killed_at = None;
    while start.elapsed() < Duration::from_secs(120) {
        if let Some(e) = checkpoint_epochs(&ck) {
            if e >= 2 {
                child.kill().unwrap();
                killed_at = Some(e);
                break;
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
    let killed_at = killed_at.expect("training ended before it could be killed");
    assert!(!resumed.exists(), "the killed run finished");
    let at = checkpoint_epochs(&ck).unwrap();
    assert!(at >= killed_at && at < 24, "checkpoint holds {at} epochs");
    let mut args: Vec<&str> = common.to_vec();
    args.extend([
        "--checkpoint",
        path_str(&ck),
        "--resume",
        "--save",
        path_str(&resumed),
    ]);
    run_ok(&args);
    let a = regml::nn::load_model::<f32>(&full).unwrap();
    let b = regml::nn::load_model::<f32>(&resumed).unwrap();
    assert!(
        a.params
            .iter()
            .zip(&b.params)
            .all(|(x, y)| x.to_bits() == y.to_bits()),
        "resumed weights differ from an uninterrupted run"
    );
}

#[test]
fn tune_grid_with_folds_and_random_search() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("t.json");
    let model = dir.path().join("best.regml");
    let (out, _) = run_ok(&[
        "nn",
        "tune",
        "--dataset",
        "digits",
        "--layers",
        "32",
        "--epochs",
        "4",
        "--l2",
        "0,1e-3",
        "--dropout",
        "0,0.2",
        "--folds",
        "3",
        "--quiet",
        "--json",
        path_str(&json),
        "--save",
        path_str(&model),
    ]);
    assert!(out.contains("best: "), "{out}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let trials = j["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    assert!(trials
        .iter()
        .all(|t| t["val_loss_se"].as_f64().unwrap() > 0.0));
    assert!(model.exists());
    let (out, _) = run_ok(&[
        "nn",
        "tune",
        "--dataset",
        "digits",
        "--layers",
        "16",
        "--epochs",
        "2",
        "--search",
        "random",
        "--trials",
        "3",
        "--lr",
        "1e-4~1e-2",
        "--quiet",
    ]);
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .count(),
        3,
        "{out}"
    );
    fails_with(
        &["nn", "tune", "--dataset", "digits", "--lr", "1e-4~1e-2"],
        "random search",
    );
}

#[test]
fn training_history_and_weight_histograms_are_plotted() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("h.svg");
    let weights = dir.path().join("w.svg");
    let model = dir.path().join("m.regml");
    regml()
        .args([
            "nn",
            "train",
            "--dataset",
            "digits",
            "--layers",
            "16",
            "--epochs",
            "3",
            "--validation-split",
            "0.2",
            "--l1",
            "1e-3",
            "--l1-mode",
            "proximal",
            "--quiet",
            "--plot",
        ])
        .arg(&hist)
        .arg("--plot-weights")
        .arg(&weights)
        .arg("--save")
        .arg(&model)
        .assert()
        .success();
    let h = std::fs::read_to_string(&hist).unwrap();
    assert!(h.contains(">training</text>") && h.contains(">validation</text>"));
    assert!(h.contains("Accuracy"));
    let w = std::fs::read_to_string(&weights).unwrap();
    assert_eq!(
        w.matches("exact zeros").count(),
        2,
        "one panel per dense layer"
    );
    fails_with(
        &["nn", "train", "--dataset", "digits", "--plot", "h.gif"],
        "must end in .svg or .png",
    );
    // the saved model's weights, drawn again by `nn eval`: the same picture
    let again = dir.path().join("w2.svg");
    regml()
        .args(["nn", "eval", "--dataset", "digits", "--model"])
        .arg(&model)
        .arg("--plot-weights")
        .arg(&again)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), w);
}
