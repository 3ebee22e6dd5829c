//! Command-line behaviour: exit codes, messages naming file/line/column for every bad input,
//! JSON and model outputs, atomic writes.

mod common;

use common::{fails_with, regml};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs `regml args --json FILE`, which must succeed; returns the JSON and standard output.
fn run_json(args: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let out = regml()
        .args(args)
        .arg("--json")
        .arg(&json)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let v = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (v, stdout)
}

/// The JSON of `regml path --data file --target target` with the further arguments `more`.
fn path_json(file: &std::path::Path, target: &str, more: &[&str]) -> serde_json::Value {
    let args = [
        &["path", "--data", file.to_str().unwrap(), "--target", target][..],
        more,
    ];
    run_json(&args.concat()).0
}

/// A small valid regression CSV: y depends on a and b.
fn good_csv() -> String {
    let mut s = String::from("a,b,c,w,y,cls\n");
    for i in 0..30 {
        let (a, b, c) = (i as f64 * 0.1, ((i * 7) % 11) as f64, ((i * 3) % 5) as f64);
        let y = 2.0 * a - 0.5 * b + ((i * 13) % 7) as f64 * 0.1;
        let cls = if y > 0.0 { "yes" } else { "no" };
        s.push_str(&format!("{a},{b},{c},{},{y},{cls}\n", 1 + i % 3));
    }
    s
}

#[test]
fn bad_csv_cells_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("nan.csv", b"a,b,y\n1,2,3\n4,NaN,6\n", "nan.csv:3:2"),
        ("inf.csv", b"a,b,y\n1,2,3\n4,5,inf\n", "inf.csv:3:3"),
        ("big.csv", b"a,b,y\n1,2,3\n4,1e400,6\n", "big.csv:3:2"),
        ("huge.csv", b"a,b,y\n1,2,3\n4,5,-1e308\n", "huge.csv:3:3"),
        (
            "empty_cell.csv",
            b"a,b,y\n1,,3\n4,5,6\n",
            "empty_cell.csv:2:2",
        ),
        ("ragged.csv", b"a,b,y\n1,2,3\n4,5\n", "ragged.csv:3:2"),
        ("text.csv", b"a,b,y\n1,2,3\n4,five,6\n", "text.csv:3:2"),
        ("utf8.csv", b"a,b,y\n1,2,3\n4,\xff\xfe,6\n", "utf8.csv:3:2"),
        ("dup.csv", b"a,a,y\n1,2,3\n4,5,6\n", "dup.csv:1:2"),
        ("empty.csv", b"", "empty.csv:1:0"),
    ];
    for (name, bytes, loc) in cases {
        let f = write(dir.path(), name, bytes);
        fails_with(
            &["path", "--data", f.to_str().unwrap(), "--target", "y"],
            loc,
        );
    }
    let f = write(dir.path(), "nan.csv", b"a,b,y\n1,2,3\n4,NaN,6\n");
    fails_with(
        &["cv", "--data", f.to_str().unwrap(), "--target", "y"],
        "NaN",
    );
    // R's NA in a feature, and in a label column (not a third class)
    let f = write(dir.path(), "na.csv", b"a,b,y\n1,2,3\n4,NA,6\n");
    fails_with(
        &["path", "--data", f.to_str().unwrap(), "--target", "y"],
        "na.csv:3:2: 'NA' marks a missing value",
    );
    let f = write(
        dir.path(),
        "na_label.csv",
        b"a,y\n1,yes\n2,no\n3,NA\n4,yes\n",
    );
    fails_with(
        &[
            "path",
            "--data",
            f.to_str().unwrap(),
            "--target",
            "y",
            "--family",
            "binomial",
        ],
        "na_label.csv:4:2: 'NA' marks a missing value",
    );
}

#[test]
fn bad_data_semantics_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.csv", good_csv().as_bytes());
    let g = good.to_str().unwrap();
    fails_with(
        &["path", "--data", g, "--target", "nope"],
        "no column named 'nope'",
    );
    let semi = write(dir.path(), "semi.csv", b"a;b;y\n1;2;3\n4;5;6\n");
    fails_with(
        &["path", "--data", semi.to_str().unwrap(), "--target", "y"],
        "semi.csv:1:0: no column named 'y' (columns: a;b;y); the header is one column: fields separated by semicolons?",
    );
    let c = write(dir.path(), "const.csv", b"a,b,y\n1,2,3\n4,5,3\n6,1,3\n");
    fails_with(
        &["path", "--data", c.to_str().unwrap(), "--target", "y"],
        "constant",
    );
    let one = write(dir.path(), "one.csv", b"a,b,y\n1,2,1\n4,5,1\n6,1,1\n");
    fails_with(
        &[
            "path",
            "--data",
            one.to_str().unwrap(),
            "--target",
            "y",
            "--family",
            "binomial",
        ],
        "single class",
    );
    let row = write(dir.path(), "row.csv", b"a,b,y\n1,2,3\n");
    fails_with(
        &["path", "--data", row.to_str().unwrap(), "--target", "y"],
        "at least 2 rows",
    );
    let neg = write(dir.path(), "neg.csv", b"a,w,y\n1,1,3\n4,-2,5\n6,1,1\n");
    fails_with(
        &[
            "path",
            "--data",
            neg.to_str().unwrap(),
            "--target",
            "y",
            "--weights",
            "w",
        ],
        "neg.csv:3:2: negative weight",
    );
    let small = write(dir.path(), "small.csv", b"a,b,y\n1,2,3\n4,5,1\n6,1,2\n");
    let sm = small.to_str().unwrap();
    fails_with(
        &["path", "--data", sm, "--target", "y", "--alpha", "2"],
        "alpha",
    );
    fails_with(
        &["path", "--data", sm, "--target", "y", "--lambda", "1,x"],
        "--lambda",
    );
    fails_with(
        &["cv", "--data", sm, "--target", "y", "--folds", "5"],
        "nfolds",
    );
    fails_with(
        &["path", "--data", "/nonexistent/x.csv", "--target", "y"],
        "cannot open",
    );
    fails_with(
        &[
            "path",
            "--data",
            g,
            "--target",
            "cls",
            "--family",
            "binomial",
            "--positive",
            "maybe",
        ],
        "no such label",
    );
    fails_with(
        &["path", "--data", g, "--target", "y", "--positive", "yes"],
        "add --family binomial",
    );
    // fold ids: integers from 1 to 1000000, with the cell named
    let f = write(
        dir.path(),
        "fold.csv",
        b"a,y,f\n1,2,1\n2,3,2\n3,5,3\n4,4,1000001\n5,7,2\n6,6,3\n",
    );
    fails_with(
        &[
            "cv",
            "--data",
            f.to_str().unwrap(),
            "--target",
            "y",
            "--foldid",
            "f",
        ],
        "fold.csv:5:3: fold id 1000001 in column 'f' is not an integer from 1 to 1000000",
    );
    // usage errors exit with 2
    regml().args(["path", "--alpha"]).assert().code(2);
    regml().assert().code(2);
}

#[test]
fn path_cv_fit_predict_coef_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.csv", good_csv().as_bytes());
    let g = good.to_str().unwrap();
    // the numeric columns only (cls is text and cannot be a feature)
    let num = write(
        dir.path(),
        "num.csv",
        good_csv()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
            .collect::<String>()
            .as_bytes(),
    );
    let n = num.to_str().unwrap();
    let json = dir.path().join("path.json");
    regml()
        .args([
            "path",
            "--data",
            n,
            "--target",
            "y",
            "--weights",
            "w",
            "--alpha",
            "0.5",
        ])
        .args(["--json", json.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("Df").and(predicate::str::contains("%Dev")));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let nl = v["lambdas"].as_array().unwrap().len();
    assert_eq!(v["coefficients"].as_array().unwrap().len(), nl);
    assert_eq!(v["feature_names"], serde_json::json!(["a", "b", "c"]));
    assert!(v["fit_seconds"].as_f64().unwrap() >= 0.0);
    assert!(v["relative_gap"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g.as_f64().unwrap() <= 1e-6));
    // a text column among the features is an error naming its first cell
    fails_with(&["path", "--data", g, "--target", "y"], "good.csv:2:6");

    let model = dir.path().join("m.json");
    let cvjson = dir.path().join("cv.json");
    regml()
        .args([
            "cv", "--data", n, "--target", "y", "--folds", "5", "--seed", "3",
        ])
        .args([
            "--save",
            model.to_str().unwrap(),
            "--json",
            cvjson.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("min").and(predicate::str::contains("1se")));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cvjson).unwrap()).unwrap();
    assert!(v["lambda_1se"].as_f64().unwrap() >= v["lambda_min"].as_f64().unwrap());
    assert_eq!(
        v["cvm"].as_array().unwrap().len(),
        v["lambdas"].as_array().unwrap().len()
    );
    let out = dir.path().join("pred.csv");
    regml()
        .args(["predict", "--model", model.to_str().unwrap(), "--data", n])
        .args(["--output", out.to_str().unwrap()])
        .assert()
        .success();
    let pred = std::fs::read_to_string(&out).unwrap();
    assert_eq!(pred.lines().count(), 31);
    assert_eq!(pred.lines().next(), Some("prediction"));
    regml()
        .args([
            "coef",
            "--model",
            model.to_str().unwrap(),
            "--s",
            "lambda.min",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("(Intercept)"));
    // fit at one lambda, then predict classes with a binomial model on text labels
    let bin = dir.path().join("b.json");
    regml()
        .args([
            "fit", "--data", g, "--target", "cls", "--family", "binomial", "--lambda", "0.01",
        ])
        .args(["--save", bin.to_str().unwrap()])
        .assert()
        .success();
    regml()
        .args([
            "predict",
            "--model",
            bin.to_str().unwrap(),
            "--data",
            g,
            "--type",
            "class",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("yes").and(predicate::str::contains("no")));
}

#[test]
fn damaged_model_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    regml()
        .args([
            "path",
            "--dataset",
            "diabetes",
            "--save",
            model.to_str().unwrap(),
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(&model).unwrap();
    let trunc = write(dir.path(), "t.json", &text.as_bytes()[..text.len() / 3]);
    fails_with(&["coef", "--model", trunc.to_str().unwrap()], "truncated");
    let v2 = write(
        dir.path(),
        "v.json",
        text.replace("\"format_version\": 1", "\"format_version\": 2")
            .as_bytes(),
    );
    fails_with(
        &["coef", "--model", v2.to_str().unwrap()],
        "format version 2",
    );
    let junk = write(dir.path(), "j.json", b"\x00\x01garbage");
    fails_with(
        &["coef", "--model", junk.to_str().unwrap()],
        "not valid JSON",
    );
    fails_with(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--dataset",
            "breast_cancer",
        ],
        "no column named 'age'",
    );
}

#[test]
fn outputs_are_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    std::fs::write(&json, "previous content").unwrap();
    // a failing run leaves the existing file untouched
    let bad = write(dir.path(), "bad.csv", b"a,y\n1,2\nx,3\n");
    regml()
        .args(["path", "--data", bad.to_str().unwrap(), "--target", "y"])
        .args(["--json", json.to_str().unwrap()])
        .assert()
        .failure();
    assert_eq!(std::fs::read_to_string(&json).unwrap(), "previous content");
    regml()
        .args([
            "path",
            "--dataset",
            "diabetes",
            "--json",
            json.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert!(std::fs::read_to_string(&json).unwrap().starts_with('{'));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "temporary files left: {names:?}");
}

#[test]
fn embedded_datasets_run() {
    // standard error is not a terminal here: no progress bar, nothing at all
    regml()
        .args(["cv", "--dataset", "diabetes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Mean-Squared Error"))
        .stderr(predicate::str::is_empty());
    regml()
        .args([
            "cv",
            "--dataset",
            "breast_cancer",
            "--measure",
            "auc",
            "--folds",
            "5",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("AUC"));
    fails_with(&["path", "--dataset", "digits"], "--positive");
    regml()
        .args([
            "path",
            "--dataset",
            "digits",
            "--positive",
            "3",
            "--nlambda",
            "20",
        ])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    // the ridge's default grid ends before the best lambda on diabetes: said on standard
    // error and in the JSON of both commands
    let grid_end = "is the smallest of the grid";
    regml()
        .args(["ridge-cv", "--dataset", "diabetes"])
        .assert()
        .success()
        .stderr(predicate::str::contains(grid_end));
    for args in [
        &["ridge-cv", "--dataset", "diabetes"][..],
        &["cv", "--dataset", "diabetes", "--alpha", "0"],
    ] {
        let (v, _) = run_json(args);
        let warnings = v["warnings"].as_array().expect("warnings");
        assert!(
            warnings
                .iter()
                .any(|w| w.as_str().is_some_and(|w| w.contains(grid_end))),
            "{args:?}: {warnings:?}"
        );
    }
    regml()
        .arg("datasets")
        .assert()
        .success()
        .stdout(predicate::str::contains("breast_cancer"));
}

/// `--lambda 0` is the unpenalized fit: certified by a duality gap where rows outnumber the
/// features, by the KKT violation, labelled as such, where they do not.
#[test]
fn lambda_zero_is_certified_and_the_table_names_the_certificate() {
    regml()
        .args(["path", "--dataset", "diabetes", "--lambda", "1,0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("NOT CONVERGED").not())
        .stdout(predicate::str::contains("worst relative duality gap"))
        .stdout(predicate::str::contains("KKT").not());
    let dir = tempfile::tempdir().unwrap();
    let mut wide = String::from("a,b,c,d,e,y\n");
    for i in 0..4 {
        let v: Vec<String> = (0..6).map(|j| ((i * 7 + j * 3) % 5).to_string()).collect();
        wide.push_str(&format!("{}\n", v.join(",")));
    }
    let f = write(dir.path(), "wide.csv", wide.as_bytes());
    regml()
        .args(["path", "--data", f.to_str().unwrap(), "--target", "y"])
        .args(["--lambda", "0"])
        .assert()
        .stdout(predicate::str::contains("(KKT violation)"))
        .stdout(predicate::str::contains("worst relative KKT violation"))
        .stdout(predicate::str::contains("(1 lambda)"));
}

#[test]
fn plots_are_written_and_bad_plot_names_fail_before_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let svg = d.join("path.svg");
    regml()
        .args(["path", "--dataset", "diabetes", "--xvar", "norm", "--plot"])
        .arg(&svg)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains(">bmi</text>"));
    assert!(text.contains("L1 Norm"));
    let cv = d.join("cv.svg");
    let cvp = d.join("cvpath.svg");
    regml()
        .args(["cv", "--dataset", "diabetes", "--folds", "5", "--plot"])
        .arg(&cv)
        .arg("--plot-path")
        .arg(&cvp)
        .assert()
        .success();
    let text = std::fs::read_to_string(&cv).unwrap();
    assert!(text.contains(">min</text>") && text.contains(">1se</text>"));
    assert!(std::fs::read_to_string(&cvp)
        .unwrap()
        .contains("Coefficients"));
    fails_with(
        &["path", "--dataset", "diabetes", "--plot", "out.pdf"],
        "must end in .svg or .png",
    );
    fails_with(
        &["cv", "--dataset", "diabetes", "--plot-path", "x.jpeg"],
        "must end in .svg or .png",
    );
    let missing = d.join("no_such_dir").join("p.svg");
    fails_with(
        &[
            "path",
            "--dataset",
            "diabetes",
            "--plot",
            missing.to_str().unwrap(),
        ],
        "no_such_dir",
    );
}

#[test]
fn demos_write_their_figures_and_explain_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = regml()
        .args(["demo", "geometry", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("0 (exactly)"), "{text}");
    for stem in ["geometry-constraints", "geometry-path"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"));
    }
    regml()
        .args(["demo", "sparsity", "--format", "png", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let png = std::fs::read(dir.path().join("sparsity-paths.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    fails_with(
        &["demo", "geometry", "--center", "1"],
        "expected two numbers",
    );
    fails_with(
        &["demo", "geometry", "--correlation", "1.5"],
        "positive definite",
    );
    fails_with(&["demo", "polynomial", "--degree", "40"], "degree");
    regml().args(["demo", "nonsense"]).assert().code(2);
}

#[test]
fn a_closed_stdout_ends_the_output_without_a_panic() {
    // `regml ... | head -1`: the reader is gone before the table is written
    for args in [
        vec!["path", "--dataset", "diabetes"],
        vec!["datasets"],
        vec!["demo", "geometry", "--out", "DIR"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("DIR", dir.path().to_str().unwrap()))
            .collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regml"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// On a terminal, `path` and `cv` show a progress bar on standard error (glmnet's
/// `trace.it`): over the lambdas, then over the folds. `script` (util-linux) runs `regml` on a
/// pseudo-terminal and records what it shows.
#[test]
fn a_terminal_shows_progress_over_lambdas_then_folds() {
    let shown = on_a_terminal("cv --dataset digits --positive 3 --folds 10");
    let lambdas = shown.find("lambdas [").expect("a bar over the lambdas");
    let folds = shown.find("folds [").expect("a bar over the folds");
    assert!(lambdas < folds, "{shown}");
    assert!(shown.contains("/10 "), "counted out of ten folds: {shown}");
    // the bars are cleared; the table follows
    assert!(shown.contains("Lambda"), "{shown}");
    // `fit` walks the grid down to its lambda with the same bar, then prints the fit
    let shown = on_a_terminal("fit --dataset digits --positive 3 --lambda 0.01");
    assert!(shown.contains("lambdas ["), "{shown}");
    assert!(!shown.contains("folds ["), "{shown}");
    assert!(shown.contains("relative gap"), "{shown}");
}

/// What `regml args` shows on a pseudo-terminal (`script`, util-linux); it must succeed. Every
/// bar drawn carries its label.
fn on_a_terminal(args: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("regml");
    let line = format!("{} {args}", bin.display());
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("`script` (util-linux) runs; scripts/install-deps.sh installs it");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{shown}");
    // each draw starts by clearing the line
    for draw in shown.split("\u{1b}[2K") {
        assert!(
            !draw.trim_start().starts_with('['),
            "a bar without its label: {draw:?}"
        );
    }
    shown
}

/// `--dfmax` and `--pmax` stop the path where glmnet does (23 and 22 lambdas on diabetes with 4;
/// see the library's `golden_glmnet_options` test); only pmax warns. `--exclude` keeps the
/// named features at zero.
#[test]
fn dfmax_pmax_and_exclude_shape_the_path() {
    regml()
        .args(["path", "--dataset", "diabetes", "--dfmax", "4"])
        .assert()
        .success()
        .stdout(predicate::str::contains("23 lambdas"))
        .stderr(predicate::str::is_empty());
    regml()
        .args(["path", "--dataset", "diabetes", "--pmax", "4"])
        .assert()
        .success()
        .stdout(predicate::str::contains("22 lambdas"))
        .stderr(predicate::str::contains("more than pmax = 4"));
    regml()
        .args(["path", "--dataset", "diabetes", "--dfmax", "four"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--dfmax"));
    let (v, out) = run_json(&["path", "--dataset", "diabetes", "--exclude", "bmi,s1"]);
    assert!(out.contains("65 lambdas"), "{out}");
    let names: Vec<&str> = v["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let (bmi, s1) = (
        names.iter().position(|n| *n == "bmi").unwrap(),
        names.iter().position(|n| *n == "s1").unwrap(),
    );
    let rows = v["coefficients"].as_array().unwrap();
    assert!(rows.iter().any(|r| r[0].as_f64().unwrap() != 0.0));
    for r in rows {
        assert_eq!(r[bmi].as_f64(), Some(0.0));
        assert_eq!(r[s1].as_f64(), Some(0.0));
    }
    fails_with(
        &["path", "--dataset", "diabetes", "--exclude", "bmi,height"],
        "no feature named 'height'",
    );
}

/// `cv --alphas` cross-validates each mixing on the same folds, marks and keeps the best.
#[test]
fn cv_over_alphas_keeps_the_best() {
    let (v, out) = run_json(&["cv", "--dataset", "diabetes", "--alphas", "0.1,0.5,1"]);
    assert!(out.contains("chosen: alpha = "), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with('*'))
            .count(),
        1,
        "{out}"
    );
    let cvm: Vec<f64> = v["alpha_cvm_min"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    assert_eq!(cvm.len(), 3);
    let best = (0..3).min_by(|&a, &b| cvm[a].total_cmp(&cvm[b])).unwrap();
    assert_eq!(v["alpha"].as_f64(), v["alphas"][best].as_f64());
    fails_with(
        &["cv", "--dataset", "diabetes", "--alphas", "0.5,2"],
        "--alphas: 2 is not in [0, 1]",
    );
}

/// `cv --keep` adds each row's prevalidated predictions to the JSON (cv.glmnet `fit.preval`):
/// probabilities for binomial, one per lambda.
#[test]
fn cv_keep_writes_prevalidated_predictions() {
    let (v, _) = run_json(&[
        "cv",
        "--dataset",
        "breast_cancer",
        "--nlambda",
        "20",
        "--keep",
    ]);
    let rows = v["fit_preval"].as_array().unwrap();
    let nl = v["lambdas"].as_array().unwrap().len();
    assert_eq!(rows.len(), v["n_samples"].as_u64().unwrap() as usize);
    for r in rows {
        let r = r.as_array().unwrap();
        assert_eq!(r.len(), nl);
        assert!(r.iter().all(|p| (0.0..=1.0).contains(&p.as_f64().unwrap())));
    }
    regml()
        .args(["cv", "--dataset", "diabetes", "--keep"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--json"));
}

/// `--offset COLUMN` (glmnet offset): a least-squares path with an offset is the path of
/// `y - offset`; the offset column is not a feature; a model fitted with one predicts only
/// with the new rows' offsets, which move the linear predictor by exactly their values.
#[test]
fn an_offset_is_fitted_and_needed_again_for_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let (mut with, mut shifted, mut zero, mut bin) = (
        String::from("a,b,c,off,y\n"),
        String::from("a,b,c,ys\n"),
        String::from("a,b,c,off\n"),
        String::from("a,b,c,off,cls\n"),
    );
    for i in 0..40 {
        let (a, b, c) = (i as f64 * 0.1, ((i * 7) % 11) as f64, ((i * 3) % 5) as f64);
        let off = (i as f64).sin();
        let y = 2.0 * a - 0.5 * b + off + ((i * 13) % 7) as f64 * 0.1;
        with.push_str(&format!("{a},{b},{c},{off},{y}\n"));
        shifted.push_str(&format!("{a},{b},{c},{}\n", y - off));
        zero.push_str(&format!("{a},{b},{c},0\n"));
        bin.push_str(&format!("{a},{b},{c},{off},{}\n", u8::from(y > 1.0)));
    }
    let bin = write(dir.path(), "bin.csv", bin.as_bytes());
    let f = write(dir.path(), "with.csv", with.as_bytes());
    let s = write(dir.path(), "shifted.csv", shifted.as_bytes());
    let z = write(dir.path(), "zero.csv", zero.as_bytes());
    let (f, s, z) = (
        f.to_str().unwrap(),
        s.to_str().unwrap(),
        z.to_str().unwrap(),
    );
    let (a, _) = run_json(&["path", "--data", f, "--target", "y", "--offset", "off"]);
    let (b, _) = run_json(&["path", "--data", s, "--target", "ys"]);
    assert_eq!((&a["offset"], &b["offset"]), (&true.into(), &false.into()));
    assert_eq!(a["feature_names"], b["feature_names"]);
    assert_eq!(a["feature_names"].as_array().unwrap().len(), 3);
    for key in ["lambdas", "intercepts", "coefficients", "dev_ratio"] {
        assert!(a[key].is_array(), "{key}");
        assert_eq!(a[key], b[key], "{key}");
    }

    // ridge-cv's leave-one-out curve of y with an offset is that of y - offset
    let ridge = |args: &[&str]| run_json(&[&["ridge-cv"], args].concat()).0;
    let (ra, rb) = (
        ridge(&["--data", f, "--target", "y", "--offset", "off"]),
        ridge(&["--data", s, "--target", "ys"]),
    );
    assert!(ra["score"].is_array(), "{ra}");
    assert_eq!(ra["score"], rb["score"]);

    // binomial: the model needs --offset to predict, and the offset shifts the link
    let model = dir.path().join("m.json");
    let m = model.to_str().unwrap();
    regml()
        .args(["fit", "--data", bin.to_str().unwrap(), "--target", "cls"])
        .args([
            "--family", "binomial", "--offset", "off", "--lambda", "0.01", "--save", m,
        ])
        .assert()
        .success();
    let link = |data: &str| -> Vec<f64> {
        let out = regml()
            .args(["predict", "--model", m, "--data", data, "--offset", "off"])
            .args(["--type", "link"])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        text.lines().skip(1).map(|l| l.parse().unwrap()).collect()
    };
    let (with_off, no_off) = (link(f), link(z));
    assert_eq!(with_off.len(), 40);
    for i in 0..40 {
        let d = with_off[i] - no_off[i];
        assert!((d - (i as f64).sin()).abs() < 1e-12, "row {i}: {d}");
    }
    fails_with(
        &["predict", "--model", m, "--data", f],
        "fitted with an offset: pass --offset COLUMN",
    );
    fails_with(
        &["path", "--data", f, "--target", "y", "--offset", "y"],
        "offset column",
    );
    let bad = write(
        dir.path(),
        "bad.csv",
        b"a,b,off,y\n1,2,0.5,3\n2,1,oops,4\n3,3,0,5\n",
    );
    fails_with(
        &[
            "path",
            "--data",
            bad.to_str().unwrap(),
            "--target",
            "y",
            "--offset",
            "off",
        ],
        "bad.csv:3:3",
    );
}

/// Binomial `cv` draws its folds within each class (each of 5 folds gets 1 or 2 of the 8
/// positives, 6 or 7 of the 32 negatives); `--no-stratify` draws them ignoring the labels.
#[test]
fn binomial_cv_folds_are_stratified_unless_asked_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("imbalanced.csv");
    let mut s = String::from("a,b,y\n");
    for i in 0..40 {
        let positive = i % 5 == 2;
        let a = i as f64 * 0.1 + if positive { 1.0 } else { 0.0 };
        s.push_str(&format!("{a},{},{}\n", (i * 7) % 11, u8::from(positive)));
    }
    std::fs::write(&data, s).unwrap();
    let d = data.to_str().unwrap();
    let args = [
        "cv", "--data", d, "--target", "y", "--family", "binomial", "--folds", "5",
    ];
    let folds = |v: &serde_json::Value| -> Vec<usize> {
        v["foldid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_u64().unwrap() as usize - 1)
            .collect()
    };
    let (v, _) = run_json(&args);
    let stratified = folds(&v);
    for k in 0..5 {
        let positives = (0..40)
            .filter(|&i| stratified[i] == k && i % 5 == 2)
            .count();
        let all = (0..40).filter(|&i| stratified[i] == k).count();
        assert!(
            (1..=2).contains(&positives) && all == 8,
            "fold {k}: {stratified:?}"
        );
    }
    let (v, _) = run_json(&[&args[..], &["--no-stratify"]].concat());
    assert_ne!(folds(&v), stratified);
}

/// `--class-weight balanced` (scikit-learn's class_weight): the path is the one fitted with a
/// weights column holding `w_i W / (2 W_c)`, `W_c` the given weights' sum over class `c`;
/// least squares refuses it.
#[test]
fn balanced_class_weights_equal_the_explicit_weights() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, weighted) = (dir.path().join("p.csv"), dir.path().join("w.csv"));
    let (mut p, mut w) = (String::from("a,b,y,w0\n"), String::from("a,b,y,wb\n"));
    // 10 positives among 40 rows; given weights 1 or 2: W_1 = 20 (every positive has 2),
    // W_0 = 40 (20 rows of 1, 10 of 2), W = 60
    for i in 0..40 {
        let positive = i % 4 == 1;
        let a = i as f64 * 0.1 + if positive { 1.5 } else { 0.0 };
        let b = (i * 7) % 11;
        let w0 = 1 + i % 2;
        let wb = f64::from(w0) * if positive { 60.0 / 40.0 } else { 60.0 / 80.0 };
        let y = u8::from(positive);
        p.push_str(&format!("{a},{b},{y},{w0}\n"));
        w.push_str(&format!("{a},{b},{y},{wb}\n"));
    }
    std::fs::write(&plain, p).unwrap();
    std::fs::write(&weighted, w).unwrap();
    let common = ["--target", "y", "--family", "binomial", "--nlambda", "20"];
    let (balanced, _) = run_json(
        &[
            &["path", "--data", plain.to_str().unwrap()][..],
            &common,
            &["--weights", "w0", "--class-weight", "balanced"],
        ]
        .concat(),
    );
    let (explicit, _) = run_json(
        &[
            &["path", "--data", weighted.to_str().unwrap()][..],
            &common,
            &["--weights", "wb"],
        ]
        .concat(),
    );
    for key in ["lambdas", "intercepts", "coefficients", "dev_ratio"] {
        assert_eq!(balanced[key], explicit[key], "{key}");
    }
    fails_with(
        &[
            "path",
            "--data",
            plain.to_str().unwrap(),
            "--target",
            "y",
            "--class-weight",
            "balanced",
        ],
        "--class-weight weighs the classes of a binomial model",
    );
}

/// A binomial target of proportions in [0, 1] (successes / trials, the trials as --weights,
/// glmnet's two-column count matrix) fits as the rows it stands for: each row expanded into
/// its successes (label 1) and failures (label 0). `--positive` is refused there.
#[test]
fn binomial_proportions_fit_as_their_expanded_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (grouped, expanded) = (dir.path().join("g.csv"), dir.path().join("e.csv"));
    let (mut g, mut e) = (String::from("a,b,share,m\n"), String::from("a,b,y\n"));
    for i in 0..30 {
        let (a, b) = (i as f64 * 0.1, ((i * 7) % 11) as f64);
        let m = 1 + i % 4;
        let s = if a > 1.5 {
            m - usize::from(i % 3 == 0)
        } else {
            usize::from(i % 2 == 0)
        };
        g.push_str(&format!("{a},{b},{},{m}\n", s as f64 / m as f64));
        for t in 0..m {
            e.push_str(&format!("{a},{b},{}\n", u8::from(t < s)));
        }
    }
    std::fs::write(&grouped, g).unwrap();
    std::fs::write(&expanded, e).unwrap();
    let common = ["--family", "binomial", "--nlambda", "15", "--tol", "1e-12"];
    let a = path_json(
        &grouped,
        "share",
        &[&["--weights", "m"][..], &common[..]].concat(),
    );
    let b = path_json(&expanded, "y", &common);
    let nums = |v: &serde_json::Value| -> Vec<f64> {
        let mut out = Vec::new();
        let mut walk = vec![v.clone()];
        while let Some(x) = walk.pop() {
            match x {
                serde_json::Value::Array(items) => walk.extend(items.into_iter().rev()),
                serde_json::Value::Number(n) => out.push(n.as_f64().unwrap()),
                _ => {}
            }
        }
        out
    };
    for key in ["lambdas", "intercepts", "coefficients"] {
        let (u, v) = (nums(&a[key]), nums(&b[key]));
        assert!(
            u.len() >= 10 && u.len() == v.len(),
            "{key}: {} and {}",
            u.len(),
            v.len()
        );
        for (x, y) in u.iter().zip(&v) {
            assert!(
                (x - y).abs() <= 1e-5 * (y.abs() + 1e-2),
                "{key}: {x} vs {y}"
            );
        }
    }
    fails_with(
        &[
            "path",
            "--data",
            grouped.to_str().unwrap(),
            "--target",
            "share",
            "--family",
            "binomial",
            "--positive",
            "1",
        ],
        "holds proportions in [0, 1], not labels",
    );
    // errors the fit finds in the data name the file
    let constant = dir.path().join("c.csv");
    std::fs::write(&constant, "a,share\n1,0.25\n2,0.25\n3,0.25\n").unwrap();
    let name = constant.to_str().unwrap();
    for extra in [
        &["path"][..],
        &["cv", "--folds", "3"],
        &["fit", "--lambda", "0.1"],
    ] {
        fails_with(
            &[
                extra,
                &["--data", name, "--target", "share", "--family", "binomial"],
            ]
            .concat(),
            &format!("{name}: invalid data: the target is constant (0.25)"),
        );
    }
}

/// `--trials COLUMN` (glmnet's two-column matrix of counts): the target counts successes among
/// the trials; the fit is the one on the proportions with the trials as weights (times
/// --weights). Counts out of range name their row and column.
#[test]
fn successes_among_trials_fit_as_proportions() {
    let dir = tempfile::tempdir().unwrap();
    let (counts, shares) = (dir.path().join("c.csv"), dir.path().join("s.csv"));
    let (mut c, mut s) = (
        String::from("a,b,succ,n,w0\n"),
        String::from("a,b,share,m\n"),
    );
    for i in 0..30 {
        let (a, b) = (i as f64 * 0.1, ((i * 5) % 7) as f64);
        let n = (i % 5) as f64; // a row of 0 trials weighs nothing
        let k = if a > 1.5 { n } else { (n - 1.0).max(0.0) } - f64::from(u8::from(i % 3 == 0));
        let k = k.max(0.0);
        let w0 = 1.0 + (i % 2) as f64;
        c.push_str(&format!("{a},{b},{k},{n},{w0}\n"));
        let share = if n > 0.0 { k / n } else { 0.0 };
        s.push_str(&format!("{a},{b},{share},{}\n", n * w0));
    }
    std::fs::write(&counts, c).unwrap();
    std::fs::write(&shares, s).unwrap();
    let common = ["--family", "binomial", "--nlambda", "12"];
    let a = path_json(
        &counts,
        "succ",
        &[&["--trials", "n", "--weights", "w0"][..], &common[..]].concat(),
    );
    let b = path_json(
        &shares,
        "share",
        &[&["--weights", "m"][..], &common[..]].concat(),
    );
    for key in ["lambdas", "intercepts", "coefficients", "dev_ratio"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "succ,n,a\n1,2,0.5\n3,2,1.5\n0,1,2\n").unwrap();
    let name = bad.to_str().unwrap();
    let args = ["path", "--data", name, "--target", "succ", "--trials", "n"];
    fails_with(
        &[&args[..], &["--family", "binomial"]].concat(),
        &format!("{name}:3:1: 3 successes: must lie between 0 and the 2 trials"),
    );
    fails_with(&args, "--trials counts the trials of a binomial model");
}

/// The value of `measure` in the table `regml assess` prints.
fn assessed(stdout: &str, measure: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(measure)).then(|| l.split_whitespace().last().unwrap())
        })
        .unwrap_or_else(|| panic!("no {measure} in {stdout}"))
        .parse()
        .unwrap()
}

/// `regml assess` (glmnet's assess.glmnet) on the rows a model was fitted on: its mse
/// (least squares) and deviance (binomial) are the fit's residual deviance
/// `(1 - dev_ratio) null_deviance` (at a lambda where no probability is clamped to
/// `[1e-5, 1 - 1e-5]`, as the measure's are), all five binomial measures are printed, and a
/// label the model does not know names its row and column.
#[test]
fn assess_on_the_fitted_rows_gives_the_fit_s_deviance() {
    let dir = tempfile::tempdir().unwrap();
    for (dataset, lambda, measure) in [
        ("diabetes", "1", "mse"),
        ("breast_cancer", "0.05", "deviance"),
    ] {
        let model = dir.path().join(format!("{dataset}.json"));
        let (fit, _) = run_json(&[
            "fit",
            "--dataset",
            dataset,
            "--lambda",
            lambda,
            "--save",
            model.to_str().unwrap(),
        ]);
        let dev_ratio = fit["dev_ratio"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap();
        let want = fit["null_deviance"].as_f64().unwrap() * (1.0 - dev_ratio);
        let out = regml()
            .args([
                "assess",
                "--model",
                model.to_str().unwrap(),
                "--dataset",
                dataset,
            ])
            .assert()
            .success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let got = assessed(&stdout, measure);
        assert!(
            (got - want).abs() <= 1e-6 * want,
            "{dataset}: {got} vs {want}"
        );
        if dataset == "breast_cancer" {
            for m in ["class", "auc", "mse", "mae"] {
                let v = assessed(&stdout, m);
                assert!((0.0..=1.0).contains(&v), "{m} = {v}");
            }
        }
    }
    let data = write(dir.path(), "good.csv", good_csv().as_bytes());
    let model = dir.path().join("cls.json");
    let d = data.to_str().unwrap();
    regml()
        .args([
            "fit", "--data", d, "--target", "cls", "--family", "binomial",
        ])
        .args([
            "--exclude",
            "y",
            "--lambda",
            "0.05",
            "--save",
            model.to_str().unwrap(),
        ])
        .assert()
        .success();
    let other = write(
        dir.path(),
        "other.csv",
        good_csv().replacen(",no\n", ",maybe\n", 1).as_bytes(),
    );
    let line = good_csv().lines().position(|l| l.ends_with(",no")).unwrap() + 1;
    fails_with(
        &[
            "assess",
            "--model",
            model.to_str().unwrap(),
            "--data",
            other.to_str().unwrap(),
        ],
        &format!("other.csv:{line}:6: label 'maybe' is not one of the model's classes (no, yes)"),
    );
}

/// A wide header over megabytes of blank lines: the reader's parts reserve room for their rows
/// from their size, not from their line ends (100000 columns x 20 million lines would be
/// terabytes). Run with its address space limited to 2 GB, it ends with the input error.
#[test]
fn blank_lines_under_a_wide_header_stay_within_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes: Vec<u8> = (0..100_000)
        .map(|j| format!("c{j}"))
        .collect::<Vec<_>>()
        .join(",")
        .into_bytes();
    bytes.extend(std::iter::repeat_n(b'\n', 20 << 20));
    let file = write(dir.path(), "wide.csv", &bytes);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" path --data \"$1\" --target c0")
        .arg(env!("CARGO_BIN_EXE_regml"))
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no data rows after the header"), "{stderr}");
}
