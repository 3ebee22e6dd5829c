//! `regml`: penalized linear and logistic regression from the command line.
//!
//! CSV in (or an embedded dataset), human-readable tables out, `--json` for everything
//! machine-readable, `--save` for model files. Errors name the file, line and column and
//! exit with status 1; usage errors exit with status 2.

/// `println!` that ends quietly when the reader of stdout has gone (`regml ... | head`)
/// instead of panicking; other write errors are returned with `?`.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::output::print_out(&format!("{}\n", format_args!($($t)*)))?
    };
}

/// `print!` with the same treatment of a closed pipe as [`outln!`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::output::print_out(&format!($($t)*))?
    };
}

mod explore;
mod input;
mod nn;
mod output;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use input::{load, per_feature, DataArgs, Loaded};
use regml::cv::{cv_path_observed, CvParams, Measure};
use regml::linear::{fit_path_observed, ElasticNetParams, Family, Progress};
use regml::model::LinearModel;
use regml::ridge::{ridge_cv, RidgeCriterion};
use std::path::PathBuf;
use std::time::Instant;

/// mimalloc keeps freed memory for reuse: the matrix-product library allocates its packing
/// buffers on every call, and the system allocator returns them to the kernel each time
/// (page faults and zeroing cost about 15% of a network's training time). It is built
/// without its request for transparent huge pages (the workspace's `no_thp` feature): on the
/// virtual machines regml is measured on, a fresh 2 MB page costs about ten times as much per
/// byte on first touch as 4 KB pages (filling a new 10000 x 1000 matrix took 0.6-0.75 s
/// instead of 0.05-0.07 s; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "regml",
    version,
    about = "Regularized linear and logistic regression with certified accuracy",
    long_about = "Regularized linear and logistic regression (lasso, ridge, elastic net) with \
                  glmnet's semantics. Every fitted lambda carries its relative duality gap."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fit a regularization path and print Df, %Dev, Lambda and the certificate per lambda
    Path(PathCmd),
    /// Cross-validate the path and print lambda.min and lambda.1se
    Cv(CvCmd),
    /// Fit at one lambda (warm-started along the grid) and save the model
    Fit(FitCmd),
    /// Predict with a saved model
    Predict(PredictCmd),
    /// Print a saved model's coefficients
    Coef(CoefCmd),
    /// Measures of a saved model on labelled rows (glmnet's assess.glmnet): mse and mae, and
    /// for binomial models deviance, class error and AUC
    Assess(AssessCmd),
    /// Ridge path with efficient leave-one-out or GCV (like scikit-learn's RidgeCV)
    RidgeCv(RidgeCvCmd),
    /// List the embedded datasets
    Datasets,
    /// Demonstrations: polynomial, geometry, sparsity, overfitting (figures and an account)
    Demo(DemoCmd),
    /// Serve the interactive explorer on 127.0.0.1 (network playground, geometry, paths)
    Explore(explore::ExploreCmd),
    /// Regularized neural networks: train, eval, predict, tune
    #[command(subcommand)]
    Nn(nn::NnCommand),
}

#[derive(Args, Debug, Clone)]
struct ModelArgs {
    /// Response family: gaussian or binomial (default: the dataset's, else gaussian)
    #[arg(long)]
    family: Option<Family>,
    /// Elastic-net mixing: 1 = lasso, 0 = ridge (glmnet alpha)
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// Comma-separated lambda values (replaces the default grid)
    #[arg(long, value_name = "L1,L2,..")]
    lambda: Option<String>,
    /// Number of lambda values in the default grid
    #[arg(long, default_value_t = 100)]
    nlambda: usize,
    /// Smallest lambda as a fraction of lambda_max (default 1e-4 if n > p, else 1e-2)
    #[arg(long)]
    lambda_min_ratio: Option<f64>,
    /// Do not standardize features before penalizing
    #[arg(long)]
    no_standardize: bool,
    /// Do not fit an intercept
    #[arg(long)]
    no_intercept: bool,
    /// Penalty factors: one value, one per feature, or NAME=VALUE pairs (0 = unpenalized)
    #[arg(long, value_name = "PF")]
    penalty_factor: Option<String>,
    /// Lower bounds on coefficients (each <= 0): one value, a list, or NAME=VALUE pairs
    #[arg(long, value_name = "LO", allow_hyphen_values = true)]
    lower_limits: Option<String>,
    /// Upper bounds on coefficients (each >= 0): one value, a list, or NAME=VALUE pairs
    #[arg(long, value_name = "HI")]
    upper_limits: Option<String>,
    /// Target relative duality gap at every lambda
    #[arg(long, default_value_t = 1e-6)]
    tol: f64,
    /// Most coordinate-descent passes per lambda
    #[arg(long, default_value_t = 100_000)]
    max_iter: usize,
    /// Features left out of the model, by name: their coefficients stay 0 (glmnet exclude)
    #[arg(long, value_name = "NAME,..")]
    exclude: Option<String>,
    /// Largest model wanted: the default grid stops at the first lambda (from the 5th on) with
    /// more than N nonzero coefficients, keeping it (glmnet dfmax)
    #[arg(long, value_name = "N")]
    dfmax: Option<usize>,
    /// Most coefficients ever nonzero: the path stops before the lambda that exceeds N, with a
    /// warning (glmnet pmax; with --dfmax the default is min(2 dfmax + 20, features))
    #[arg(long, value_name = "N")]
    pmax: Option<usize>,
}

#[derive(Args, Debug)]
struct DemoCmd {
    /// polynomial, geometry, sparsity or overfitting
    #[arg(value_parser = ["polynomial", "geometry", "sparsity", "overfitting"])]
    name: String,
    /// Directory the figures are written to (created if missing)
    #[arg(long, default_value = "regml-demo")]
    out: PathBuf,
    /// Image format of the figures: svg or png
    #[arg(long, default_value = "svg", value_parser = ["svg", "png"])]
    format: String,
    /// Seed of the simulated data (and of the network's initial weights)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// polynomial: degree of the polynomial
    #[arg(long, default_value_t = 15)]
    degree: usize,
    /// polynomial: basis, monomial or legendre (orthogonal on [-1, 1])
    #[arg(long, default_value = "monomial", value_parser = ["monomial", "legendre"])]
    basis: String,
    /// polynomial: standard deviation of the noise
    #[arg(long, default_value_t = 0.25)]
    noise: f64,
    /// polynomial: number of training points
    #[arg(long, default_value_t = 20)]
    points: usize,
    /// geometry: radius R of the constraint sets
    #[arg(long, default_value_t = 1.0)]
    radius: f64,
    /// geometry: elastic-net mixing of the middle panel
    #[arg(long, default_value_t = 0.5)]
    alpha: f64,
    /// geometry: the unpenalized solution as B1,B2
    #[arg(long, default_value = "2,0.7", allow_hyphen_values = true)]
    center: String,
    /// geometry: correlation of the two features
    #[arg(long, default_value_t = 0.6, allow_hyphen_values = true)]
    correlation: f64,
    /// sparsity: number of rows
    #[arg(long, default_value_t = 100)]
    rows: usize,
    /// overfitting: digits (embedded) or fashion-mnist (scripts/install-data.sh)
    #[arg(long, default_value = "digits", value_parser = ["digits", "fashion-mnist"])]
    dataset: String,
    /// overfitting: epochs (default 300 on digits, 100 on Fashion-MNIST)
    #[arg(long)]
    epochs: Option<usize>,
    /// overfitting: training rows (default 100 on digits, 1000 on Fashion-MNIST)
    #[arg(long)]
    train_rows: Option<usize>,
}

#[derive(Args, Debug)]
struct PathCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Write lambdas, coefficients, certificates and timing as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Save the path as a model file (predicts at the smallest lambda by default)
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Draw the coefficient paths (as plot.glmnet) to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// x axis of --plot: lambda (log lambda), norm (L1 norm) or dev (deviance explained)
    #[arg(long, default_value = "lambda", value_parser = ["lambda", "norm", "dev"])]
    xvar: String,
}

#[derive(Args, Debug)]
struct CvCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Number of folds
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Seed of the fold assignment
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Column with each row's fold (integers 1..K, as cv.glmnet's foldid; overrides --folds)
    #[arg(long, value_name = "COLUMN")]
    foldid: Option<String>,
    /// Binomial: draw the folds ignoring the classes, as cv.glmnet does (by default each fold
    /// holds both classes in the proportions of the data, as scikit-learn's StratifiedKFold)
    #[arg(long)]
    no_stratify: bool,
    /// Loss: mse, mae, deviance, class, auc (default: mse / deviance)
    #[arg(long)]
    measure: Option<Measure>,
    /// Cross-validate several elastic-net mixings on the same folds and keep the best (like
    /// scikit-learn's ElasticNetCV over l1_ratio); replaces --alpha
    #[arg(long, value_name = "A1,A2,..")]
    alphas: Option<String>,
    /// Write the path, cvm/cvsd curves, lambda.min, lambda.1se as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// With --json: also each row's prevalidated predictions per lambda, from the fit that
    /// left its fold out (cv.glmnet keep = TRUE, fit.preval)
    #[arg(long, requires = "json")]
    keep: bool,
    /// Save the model (predicts at lambda.1se by default)
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Draw the cross-validation curve (as plot.cv.glmnet) to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Draw the coefficient paths of the fit on all rows to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    plot_path: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FitCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Save the fitted model here
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Write the fit as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// A saved model and the rows to apply it to (`predict`, `assess`).
#[derive(Args, Debug)]
struct ModelRows {
    /// Model file written by `fit`, `path` or `cv`
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// CSV with (at least) the model's feature columns
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// Embedded dataset to use as the rows
    #[arg(long, value_name = "NAME")]
    dataset: Option<String>,
    /// Lambda to use (default: the model's own; linear interpolation between path points)
    #[arg(long)]
    lambda: Option<f64>,
    /// lambda.min or lambda.1se (cross-validated models)
    #[arg(long, value_name = "WHICH", conflicts_with = "lambda")]
    s: Option<String>,
    /// Column of the rows' offsets (required exactly when the model was fitted with --offset)
    #[arg(long, value_name = "COLUMN")]
    offset: Option<String>,
}

#[derive(Args, Debug)]
struct PredictCmd {
    #[command(flatten)]
    rows: ModelRows,
    /// response (mean / probability), link (linear predictor) or class
    #[arg(long = "type", default_value = "response")]
    kind: String,
    /// Write predictions to this CSV file instead of standard output
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct AssessCmd {
    #[command(flatten)]
    rows: ModelRows,
    /// Response column (default: the model's target)
    #[arg(long, value_name = "COLUMN")]
    target: Option<String>,
    /// Column of non-negative observation weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Binomial: column of trial counts, the response counting successes among them
    #[arg(long, value_name = "COLUMN")]
    trials: Option<String>,
}

#[derive(Args, Debug)]
struct CoefCmd {
    /// Model file
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Lambda (default: the model's own)
    #[arg(long)]
    lambda: Option<f64>,
    /// lambda.min or lambda.1se
    #[arg(long, value_name = "WHICH", conflicts_with = "lambda")]
    s: Option<String>,
}

#[derive(Args, Debug)]
struct RidgeCvCmd {
    #[command(flatten)]
    data: DataArgs,
    /// Comma-separated lambda values (default: glmnet's ridge grid)
    #[arg(long)]
    lambda: Option<String>,
    /// Number of lambda values in the default grid
    #[arg(long, default_value_t = 100)]
    nlambda: usize,
    /// loo (exact leave-one-out) or gcv
    #[arg(long, default_value = "loo")]
    criterion: String,
    /// Do not standardize features
    #[arg(long)]
    no_standardize: bool,
    /// Do not fit an intercept
    #[arg(long)]
    no_intercept: bool,
    /// Write the curve and the coefficients as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn params_from(m: &ModelArgs, d: &Loaded) -> Result<ElasticNetParams> {
    let features = &d.feature_names;
    let mut p = ElasticNetParams {
        family: d.family,
        offset: d.offset.as_ref().map(|o| o.to_vec()),
        alpha: m.alpha,
        nlambda: m.nlambda,
        lambda_min_ratio: m.lambda_min_ratio,
        lambda: m
            .lambda
            .as_deref()
            .map(|s| input::parse_list("lambda", s))
            .transpose()?,
        standardize: !m.no_standardize,
        fit_intercept: !m.no_intercept,
        ..ElasticNetParams::default()
    };
    p.solver.tol = m.tol;
    p.solver.max_iter = m.max_iter;
    p.dfmax = m.dfmax;
    p.pmax = m.pmax;
    if let Some(s) = &m.exclude {
        let idx = s
            .split(',')
            .map(|k| {
                features
                    .iter()
                    .position(|f| f == k.trim())
                    .with_context(|| format!("--exclude: no feature named '{}'", k.trim()))
            })
            .collect::<Result<Vec<usize>>>()?;
        p.exclude = Some(idx);
    }
    if let Some(s) = &m.penalty_factor {
        p.penalty_factor = Some(per_feature("penalty-factor", s, features, 1.0)?);
    }
    if let Some(s) = &m.lower_limits {
        p.lower_limits = Some(per_feature("lower-limits", s, features, f64::NEG_INFINITY)?);
    }
    if let Some(s) = &m.upper_limits {
        p.upper_limits = Some(per_feature("upper-limits", s, features, f64::INFINITY)?);
    }
    p.check()?;
    Ok(p)
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Checks a plot file name before any work is done.
fn check_plot(path: &Option<PathBuf>) -> Result<()> {
    if let Some(p) = path {
        regml::plot::Format::from_path(p)?;
    }
    Ok(())
}

/// Writes a figure and says where.
fn write_plot(path: &std::path::Path, figure: &regml::plot::Figure) -> Result<()> {
    regml::plot::save(figure, path)?;
    eprintln!("plot written to {}", path.display());
    Ok(())
}

fn run_demo(c: DemoCmd) -> Result<()> {
    use regml::demo;
    let out = match c.name.as_str() {
        "polynomial" => demo::polynomial::run(&demo::polynomial::PolynomialParams {
            degree: c.degree,
            n_train: c.points,
            noise: c.noise,
            basis: if c.basis == "legendre" {
                demo::polynomial::Basis::Legendre
            } else {
                demo::polynomial::Basis::Monomial
            },
            seed: c.seed,
            ..Default::default()
        })?,
        "geometry" => {
            let v: Vec<f64> = c
                .center
                .split(',')
                .map(|t| t.trim().parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .with_context(|| format!("--center {:?}: expected two numbers B1,B2", c.center))?;
            let [b1, b2] = v[..] else {
                bail!("--center {:?}: expected two numbers B1,B2", c.center);
            };
            demo::geometry::run(&demo::geometry::GeometryParams {
                problem: demo::geometry::Quadratic {
                    center: [b1, b2],
                    h: [1.0, c.correlation, 1.0],
                },
                radius: c.radius,
                alpha: c.alpha,
            })?
        }
        "sparsity" => demo::sparsity::run(c.rows, c.seed)?,
        _ => {
            use demo::overfitting::{DemoData, OverfittingParams};
            let fashion = c.dataset == "fashion-mnist";
            let base = OverfittingParams::default();
            demo::overfitting::run(&OverfittingParams {
                data: if fashion {
                    DemoData::FashionMnist
                } else {
                    DemoData::Digits
                },
                epochs: c.epochs.unwrap_or(if fashion { 100 } else { base.epochs }),
                n_train: c
                    .train_rows
                    .unwrap_or(if fashion { 1000 } else { base.n_train }),
                n_val: if fashion { 2000 } else { base.n_val },
                seed: c.seed,
                ..base
            })?
        }
    };
    std::fs::create_dir_all(&c.out)
        .with_context(|| format!("cannot create directory {}", c.out.display()))?;
    for line in &out.summary {
        outln!("{line}");
    }
    for (stem, fig) in &out.figures {
        let path = c.out.join(format!("{stem}.{}", c.format));
        regml::plot::save(fig, &path)?;
        outln!("wrote {}", path.display());
    }
    Ok(())
}

/// Progress of a path or cross-validation fit on standard error (glmnet's `trace.it`): a bar
/// over the lambdas of the fit on all rows, then over the folds, cleared when the fit ends.
/// Shown only when standard error is a terminal; elsewhere the fits stay silent.
struct FitProgress {
    bar: Option<indicatif::ProgressBar>,
    in_folds: std::sync::atomic::AtomicBool,
}

impl FitProgress {
    fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            match indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            {
                Ok(style) => bar.with_style(style.progress_chars("=> ")),
                Err(_) => bar,
            }
        });
        FitProgress {
            bar,
            in_folds: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The observer handed to the library (called from the threads that fit the folds).
    fn observe(&self, p: Progress) {
        let Some(bar) = &self.bar else {
            return;
        };
        match p {
            Progress::Lambda { done, total } => {
                if done == 1 {
                    // a new path (with --alphas, one per alpha): its folds start afresh; the
                    // label comes first, so that no bar is drawn without it
                    self.in_folds
                        .store(false, std::sync::atomic::Ordering::Release);
                    bar.set_message("lambdas");
                }
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            Progress::Fold { total, .. } => {
                if !self
                    .in_folds
                    .swap(true, std::sync::atomic::Ordering::AcqRel)
                {
                    bar.set_length(total as u64);
                    bar.set_position(0);
                    bar.set_message("folds");
                }
                // folds finish in any order: count them
                bar.inc(1);
            }
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

fn run_path(cmd: PathCmd) -> Result<()> {
    check_plot(&cmd.plot)?;
    let d = load(&cmd.data, cmd.model.family, &[])?;
    let params = params_from(&cmd.model, &d)?;
    let progress = FitProgress::new();
    let t0 = Instant::now();
    let path = fit_path_observed(
        d.x.view(),
        d.y.view(),
        d.weights.as_ref().map(|w| w.view()),
        &params,
        &|p| progress.observe(p),
    );
    let secs = t0.elapsed().as_secs_f64();
    progress.finish();
    let path = path.with_context(|| d.source.clone())?;
    warn_all(&path.warnings);
    out!("{}", output::path_table(&path));
    if let Some(f) = &cmd.json {
        output::write_json(f, &output::path_json(&path, &d, secs, None))?;
    }
    if let Some(f) = &cmd.plot {
        let axis = regml::plot::PathAxis::parse(&cmd.xvar).context("--xvar")?;
        let chart = regml::plot::coef_path(&path, &d.feature_names, axis);
        write_plot(f, &regml::plot::Figure::single(chart))?;
    }
    if let Some(f) = &cmd.save {
        let last = *path.lambdas.last().context("empty path")?;
        LinearModel::from_path(
            &path,
            d.feature_names.clone(),
            d.target.clone(),
            params.standardize,
            params.fit_intercept,
            last,
            d.classes.clone(),
        )
        .save(f)?;
    }
    Ok(())
}

fn run_cv(cmd: CvCmd) -> Result<()> {
    check_plot(&cmd.plot)?;
    check_plot(&cmd.plot_path)?;
    let extra: Vec<&str> = cmd.foldid.iter().map(|s| s.as_str()).collect();
    let d = load(&cmd.data, cmd.model.family, &extra)?;
    let mut params = params_from(&cmd.model, &d)?;
    let alphas = cmd
        .alphas
        .as_deref()
        .map(|s| input::parse_list("alphas", s))
        .transpose()?;
    if let Some(a) = alphas.iter().flatten().find(|a| !(0.0..=1.0).contains(*a)) {
        bail!("--alphas: {a} is not in [0, 1]");
    }
    let foldid = match &cmd.foldid {
        Some(name) => {
            let ci = d.extra_columns[0];
            let col = d.table.numeric(ci)?;
            let mut ids = Vec::with_capacity(col.len());
            for (r, v) in col.iter().enumerate() {
                if *v < 1.0 || v.fract() != 0.0 || *v > 1e6 {
                    return Err(d
                        .table
                        .cell_error(
                            r,
                            ci,
                            format!(
                                "fold id {v} in column '{name}' is not an integer from 1 to \
                                 1000000"
                            ),
                        )
                        .into());
                }
                ids.push(*v as usize - 1);
            }
            Some(ids)
        }
        None => None,
    };
    let cvp = CvParams {
        nfolds: cmd.folds,
        seed: cmd.seed,
        foldid,
        stratify: !cmd.no_stratify,
        measure: cmd.measure,
        keep: cmd.keep,
    };
    let progress = FitProgress::new();
    let t0 = Instant::now();
    let w = d.weights.as_ref().map(|w| w.view());
    let observe = |p| progress.observe(p);
    // one cross-validated path, or one per alpha; either way the chosen one is `fits[best]`
    let all = match &alphas {
        None => cv_path_observed(d.x.view(), d.y.view(), w, &params, &cvp, &observe).map(|r| {
            regml::cv::CvAlphasResult {
                alphas: vec![params.alpha],
                fits: vec![r],
                best: 0,
            }
        }),
        Some(a) => regml::cv::cv_alphas(d.x.view(), d.y.view(), w, &params, a, &cvp, &observe),
    };
    let secs = t0.elapsed().as_secs_f64();
    progress.finish();
    let all = all.with_context(|| d.source.clone())?;
    let res = &all.fits[all.best];
    let over_alphas = alphas.is_some().then_some(&all);
    if let Some(r) = over_alphas {
        for (a, f) in r.alphas.iter().zip(&r.fits) {
            let tagged: Vec<String> = f
                .warnings
                .iter()
                .map(|w| format!("alpha {a}: {w}"))
                .collect();
            warn_all(&tagged);
        }
        out!("{}", output::alphas_table(r));
        params.alpha = r.alphas[r.best];
    } else {
        warn_all(&res.warnings);
    }
    out!("{}", output::cv_table(res));
    if let Some(f) = &cmd.json {
        let mut v = output::path_json(&res.path, &d, secs, Some(res));
        if let (Some(preval), Some(o)) = (&res.preval, v.as_object_mut()) {
            let rows: Vec<Vec<f64>> = preval.rows().into_iter().map(|r| r.to_vec()).collect();
            o.insert("fit_preval".into(), serde_json::json!(rows));
        }
        if let (Some(r), Some(o)) = (over_alphas, v.as_object_mut()) {
            o.insert("alphas".into(), serde_json::json!(r.alphas));
            let best_cvm: Vec<f64> = r.fits.iter().map(|f| f.cvm[f.index_min]).collect();
            o.insert("alpha_cvm_min".into(), serde_json::json!(best_cvm));
            o.insert(
                "alpha_lambda_min".into(),
                serde_json::json!(r.fits.iter().map(|f| f.lambda_min).collect::<Vec<_>>()),
            );
            o.insert(
                "alpha_lambda_1se".into(),
                serde_json::json!(r.fits.iter().map(|f| f.lambda_1se).collect::<Vec<_>>()),
            );
        }
        output::write_json(f, &v)?;
    }
    if let Some(f) = &cmd.plot {
        write_plot(f, &regml::plot::Figure::single(regml::plot::cv_curve(res)))?;
    }
    if let Some(f) = &cmd.plot_path {
        let chart = regml::plot::coef_path(
            &res.path,
            &d.feature_names,
            regml::plot::PathAxis::LogLambda,
        );
        write_plot(f, &regml::plot::Figure::single(chart))?;
    }
    if let Some(f) = &cmd.save {
        let mut m = LinearModel::from_path(
            &res.path,
            d.feature_names.clone(),
            d.target.clone(),
            params.standardize,
            params.fit_intercept,
            res.lambda_1se,
            d.classes.clone(),
        );
        m.lambda_min = Some(res.lambda_min);
        m.lambda_1se = Some(res.lambda_1se);
        m.measure = Some(res.measure.name().to_string());
        m.save(f)?;
    }
    Ok(())
}

fn run_fit(cmd: FitCmd) -> Result<()> {
    let d = load(&cmd.data, cmd.model.family, &[])?;
    let mut params = params_from(&cmd.model, &d)?;
    let lambda = match params.lambda.as_deref() {
        Some([l]) => *l,
        _ => bail!("fit needs exactly one --lambda value (use `path` for several)"),
    };
    let w = d.weights.as_ref().map(|w| w.view());
    let t0 = Instant::now();
    // warm start: the default grid's points above lambda, then lambda itself
    let lmax =
        regml::lambda_max(d.x.view(), d.y.view(), w, &params).with_context(|| d.source.clone())?;
    let mut grid: Vec<f64> = {
        let mut g = params.clone();
        g.lambda = None;
        regml::linear::lambda_grid(&g, lmax, d.x.nrows(), d.x.ncols())
            .into_iter()
            .filter(|&l| l > lambda)
            .collect()
    };
    grid.push(lambda);
    params.lambda = Some(grid);
    let progress = FitProgress::new();
    let path = fit_path_observed(d.x.view(), d.y.view(), w, &params, &|p| progress.observe(p));
    let secs = t0.elapsed().as_secs_f64();
    progress.finish();
    let path = path.with_context(|| d.source.clone())?;
    let k = path.lambdas.len() - 1;
    warn_all(&path.warnings);
    let info = &path.info[k];
    outln!(
        "lambda {:.6e}  df {}  %dev {:.2}  relative gap {:.2e}  iterations {}  {:.3} s",
        lambda,
        path.df[k],
        100.0 * path.dev_ratio[k],
        info.relative_gap,
        path.info.iter().map(|i| i.n_iter).sum::<usize>(),
        secs
    );
    let model = {
        let mut single = path.clone();
        single.lambdas = vec![lambda];
        single.intercepts = vec![path.intercepts[k]];
        single.coefs = path.coefs.slice(ndarray::s![k..k + 1, ..]).to_owned();
        single.df = vec![path.df[k]];
        single.dev_ratio = vec![path.dev_ratio[k]];
        single.info = vec![path.info[k].clone()];
        single
    };
    if let Some(f) = &cmd.json {
        output::write_json(f, &output::path_json(&model, &d, secs, None))?;
    }
    match &cmd.save {
        Some(f) => {
            LinearModel::from_path(
                &model,
                d.feature_names.clone(),
                d.target.clone(),
                params.standardize,
                params.fit_intercept,
                lambda,
                d.classes.clone(),
            )
            .save(f)?;
            outln!("saved {}", f.display());
        }
        None => out!(
            "{}",
            output::coef_table(&d.feature_names, model.intercepts[0], model.coefs.row(0))
        ),
    }
    Ok(())
}

fn pick_lambda(m: &LinearModel, lambda: Option<f64>, s: Option<&str>) -> Result<f64> {
    Ok(match (lambda, s) {
        (Some(l), _) => {
            if !(l.is_finite() && l >= 0.0) {
                bail!("--lambda must be finite and >= 0");
            }
            l
        }
        (None, Some("lambda.min")) => m
            .lambda_min
            .context("the model has no lambda.min (it was not cross-validated)")?,
        (None, Some("lambda.1se")) => m
            .lambda_1se
            .context("the model has no lambda.1se (it was not cross-validated)")?,
        (None, Some(other)) => bail!("--s {other}: expected lambda.min or lambda.1se"),
        (None, None) => m.lambda,
    })
}

/// The rows' offsets from the column `name`, which a model fitted with an offset needs and
/// any other model refuses.
fn model_offset(
    m: &LinearModel,
    table: &regml::data::Table,
    name: Option<&str>,
) -> Result<Option<ndarray::Array1<f64>>> {
    Ok(match (name, m.offset) {
        (Some(name), true) => Some(ndarray::Array1::from(
            table.numeric(table.column_index(name)?)?.to_vec(),
        )),
        (None, true) => bail!(
            "the model was fitted with an offset: pass --offset COLUMN with the new rows' offsets"
        ),
        (Some(_), false) => bail!("--offset: the model was fitted without an offset"),
        (None, false) => None,
    })
}

fn run_predict(cmd: PredictCmd) -> Result<()> {
    let m = LinearModel::load(&cmd.rows.model)?;
    let lambda = pick_lambda(&m, cmd.rows.lambda, cmd.rows.s.as_deref())?;
    let args = DataArgs::rows(cmd.rows.data.clone(), cmd.rows.dataset.clone(), None);
    let (table, _, _) = input::load_table(&args, &[m.target.as_str()])?;
    let x = table.matrix_of(&m.feature_names)?;
    let offset = model_offset(&m, &table, cmd.rows.offset.as_deref())?;
    let eta = m.linear_predictor(x.view(), lambda, offset.as_ref().map(|o| o.view()))?;
    let mut out = String::from(match cmd.kind.as_str() {
        "class" => "class\n",
        "link" => "link\n",
        "response" => "prediction\n",
        other => bail!("--type {other}: expected response, link or class"),
    });
    for &e in eta.iter() {
        let line = match (cmd.kind.as_str(), m.family) {
            ("link", _) | ("response", Family::Gaussian) => format!("{e}"),
            ("response", Family::Binomial) => format!("{}", regml::datafit::sigmoid(e)),
            ("class", Family::Binomial) => {
                let c = m
                    .classes
                    .clone()
                    .unwrap_or_else(|| vec!["0".into(), "1".into()]);
                c[usize::from(e > 0.0)].clone()
            }
            ("class", Family::Gaussian) => bail!("--type class needs a binomial model"),
            _ => unreachable!("checked above"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    match &cmd.output {
        Some(f) => regml::model::write_atomic(f, out.as_bytes())?,
        None => crate::output::print_out(&out)?,
    }
    Ok(())
}

/// The responses of `table`'s column `ti` for a binomial `model`: its class labels as 0/1
/// (any label but the positive one is 0 for a one-vs-rest model, whose class 0 is "not ..."),
/// or proportions in [0, 1]. A label the model does not know names its row and column.
fn binomial_response(m: &LinearModel, table: &regml::data::Table, ti: usize) -> Result<Vec<f64>> {
    if let Some(y) = input::proportions(table, ti) {
        return Ok(y.to_vec());
    }
    let classes = m
        .classes
        .clone()
        .unwrap_or_else(|| vec!["0".into(), "1".into()]);
    let rest = classes[0] == format!("not {}", classes[1]);
    let labels = input::label_texts(table, ti);
    labels
        .iter()
        .enumerate()
        .map(|(r, l)| {
            if *l == classes[1] {
                Ok(1.0)
            } else if *l == classes[0] || rest {
                Ok(0.0)
            } else {
                Err(table
                    .cell_error(
                        r,
                        ti,
                        format!(
                            "label '{l}' is not one of the model's classes ({}, {})",
                            classes[0], classes[1]
                        ),
                    )
                    .into())
            }
        })
        .collect()
}

fn run_assess(cmd: AssessCmd) -> Result<()> {
    let m = LinearModel::load(&cmd.rows.model)?;
    let lambda = pick_lambda(&m, cmd.rows.lambda, cmd.rows.s.as_deref())?;
    let target = cmd.target.clone().unwrap_or_else(|| m.target.clone());
    let args = DataArgs::rows(
        cmd.rows.data.clone(),
        cmd.rows.dataset.clone(),
        Some(target.clone()),
    );
    let (table, _, source) = input::load_table(&args, &[target.as_str()])?;
    let x = table.matrix_of(&m.feature_names)?;
    let ti = table.column_index(&target)?;
    let mut w: Vec<f64> = match &cmd.weights {
        Some(name) => input::weights_column(&table, table.column_index(name)?, name)?,
        None => vec![1.0; table.n_rows()],
    };
    let y: Vec<f64> = match (m.family, &cmd.trials) {
        (Family::Gaussian, Some(_)) => bail!("--trials counts the trials of a binomial model"),
        (Family::Gaussian, None) => table.numeric(ti)?,
        (Family::Binomial, Some(name)) => {
            let mi = table.column_index(name)?;
            let trials = table.numeric(mi)?;
            let given = ndarray::Array1::from(w.clone());
            let (y, tw) = input::successes_among_trials(&table, ti, mi, &trials, Some(&given))?;
            w = tw.to_vec();
            y.to_vec()
        }
        (Family::Binomial, None) => binomial_response(&m, &table, ti)?,
    };
    let offset = model_offset(&m, &table, cmd.rows.offset.as_deref())?;
    let eta = m.linear_predictor(x.view(), lambda, offset.as_ref().map(|o| o.view()))?;
    let mu: Vec<f64> = match m.family {
        Family::Gaussian => eta.to_vec(),
        Family::Binomial => eta.iter().map(|&e| regml::datafit::sigmoid(e)).collect(),
    };
    outln!("{source}: {} rows at lambda = {lambda:.6e}", y.len());
    outln!("{:>8}  {:<24}  {:>18}", "Measure", "", "Value");
    for (measure, v) in regml::cv::assess(m.family, &y, &mu, &w) {
        outln!(
            "{:>8}  {:<24}  {:>18.9}",
            measure.name(),
            measure.description(),
            v
        );
    }
    Ok(())
}

fn run_coef(cmd: CoefCmd) -> Result<()> {
    let m = LinearModel::load(&cmd.model)?;
    let lambda = pick_lambda(&m, cmd.lambda, cmd.s.as_deref())?;
    let (b0, b) = m.coefficients(lambda);
    outln!("lambda = {lambda:.6e}");
    out!("{}", output::coef_table(&m.feature_names, b0, b.view()));
    Ok(())
}

fn run_ridge_cv(cmd: RidgeCvCmd) -> Result<()> {
    let d = load(&cmd.data, Some(Family::Gaussian), &[])?;
    let criterion = match cmd.criterion.as_str() {
        "loo" => RidgeCriterion::Loo,
        "gcv" => RidgeCriterion::Gcv,
        other => bail!("--criterion {other}: expected loo or gcv"),
    };
    let params = ElasticNetParams {
        alpha: 0.0,
        nlambda: cmd.nlambda,
        lambda: cmd
            .lambda
            .as_deref()
            .map(|s| input::parse_list("lambda", s))
            .transpose()?,
        standardize: !cmd.no_standardize,
        fit_intercept: !cmd.no_intercept,
        offset: d.offset.as_ref().map(|o| o.to_vec()),
        ..ElasticNetParams::default()
    };
    let t0 = Instant::now();
    let res = ridge_cv(
        d.x.view(),
        d.y.view(),
        d.weights.as_ref().map(|w| w.view()),
        &params,
        criterion,
    )
    .with_context(|| d.source.clone())?;
    let secs = t0.elapsed().as_secs_f64();
    warn_all(&res.warnings);
    outln!(
        "{} over {} lambdas: best lambda {:.6e} (index {}), {} = {:.6}",
        match criterion {
            RidgeCriterion::Loo => "Leave-one-out",
            RidgeCriterion::Gcv => "GCV",
        },
        res.lambdas.len(),
        res.lambdas[res.best],
        res.best + 1,
        match criterion {
            RidgeCriterion::Loo => "LOO mse",
            RidgeCriterion::Gcv => "GCV mse",
        },
        res.score[res.best]
    );
    out!(
        "{}",
        output::coef_table(
            &d.feature_names,
            res.intercepts[res.best],
            res.coefs.row(res.best)
        )
    );
    if let Some(f) = &cmd.json {
        let v = serde_json::json!({
            "criterion": cmd.criterion,
            "lambdas": res.lambdas,
            "score": res.score,
            "best_index": res.best,
            "lambda_best": res.lambdas[res.best],
            "intercepts": res.intercepts,
            "coefficients": res.coefs.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            "feature_names": d.feature_names,
            "warnings": res.warnings,
            "fit_seconds": secs,
        });
        output::write_json(f, &v)?;
    }
    Ok(())
}

fn run_datasets() -> Result<()> {
    outln!(
        "{:<14} {:<12} {:<9} description",
        "name",
        "target",
        "family"
    );
    for d in regml::data::DATASETS {
        outln!(
            "{:<14} {:<12} {:<9} {}",
            d.name,
            d.target,
            d.family.to_string(),
            d.description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Path(c) => run_path(c),
        Command::Cv(c) => run_cv(c),
        Command::Fit(c) => run_fit(c),
        Command::Predict(c) => run_predict(c),
        Command::Assess(c) => run_assess(c),
        Command::Coef(c) => run_coef(c),
        Command::RidgeCv(c) => run_ridge_cv(c),
        Command::Datasets => run_datasets(),
        Command::Nn(c) => nn::run(c),
        Command::Demo(c) => run_demo(c),
        Command::Explore(c) => explore::run(c),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
