//! Loading the data a command works on: CSV files or embedded datasets, target encoding.

use anyhow::{bail, Context, Result};
use ndarray::{Array1, Array2};
use regml::data::{self, Column, CsvLimits, Table};
use regml::Family;
use std::path::PathBuf;

/// Where the rows come from and which column is what.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// CSV file with a header row
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Embedded dataset: diabetes, breast_cancer, digits (see `regml datasets`)
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// Name of the response column (default for --dataset: its target)
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Name of a column of non-negative observation weights
    #[arg(long, value_name = "COLUMN")]
    pub weights: Option<String>,
    /// Binomial only: `balanced` multiplies each row's weight by W / (2 W_c), W_c the weight of
    /// its class (its rows without --weights) and W that of all rows, so that both classes
    /// weigh the same (scikit-learn's class_weight)
    #[arg(long, value_name = "MODE", value_parser = ["balanced"])]
    pub class_weight: Option<String>,
    /// Binomial only: the label counted as class 1 (all others are class 0)
    #[arg(long, value_name = "LABEL")]
    pub positive: Option<String>,
    /// Binomial only: a column of trial counts; the target column then counts the successes
    /// among them (glmnet's two-column matrix of counts). Fitted as the proportions
    /// successes / trials with the trials as weights (times --weights)
    #[arg(long, value_name = "COLUMN")]
    pub trials: Option<String>,
    /// Name of a column added to each row's linear predictor and not fitted (glmnet offset);
    /// predictions from the model then need it too
    #[arg(long, value_name = "COLUMN")]
    pub offset: Option<String>,
}

impl DataArgs {
    /// Rows from `data` or `dataset` with the response column `target` and no other column
    /// roles (prediction and assessment of a saved model, networks).
    pub fn rows(data: Option<PathBuf>, dataset: Option<String>, target: Option<String>) -> Self {
        DataArgs {
            data,
            dataset,
            target,
            weights: None,
            class_weight: None,
            positive: None,
            trials: None,
            offset: None,
        }
    }
}

/// Column `wi` (called `name`) as observation weights: numbers, none negative; the error
/// names the row and column of a negative one.
pub fn weights_column(table: &Table, wi: usize, name: &str) -> Result<Vec<f64>> {
    let w = table.numeric(wi)?;
    if let Some(r) = w.iter().position(|v| *v < 0.0) {
        return Err(table
            .cell_error(r, wi, format!("negative weight {} (column '{name}')", w[r]))
            .into());
    }
    Ok(w)
}

/// The loaded problem.
pub struct Loaded {
    pub x: Array2<f64>,
    pub y: Array1<f64>,
    pub weights: Option<Array1<f64>>,
    pub offset: Option<Array1<f64>>,
    pub feature_names: Vec<String>,
    pub target: String,
    pub family: Family,
    pub classes: Option<Vec<String>>,
    pub table: Table,
    pub source: String,
    pub extra_columns: Vec<usize>,
}

pub fn load_table(
    args: &DataArgs,
    text_columns: &[&str],
) -> Result<(Table, Option<Family>, String)> {
    match (&args.data, &args.dataset) {
        (Some(path), None) => {
            let t = data::read_csv(path, &CsvLimits::default(), text_columns)?;
            Ok((t, None, path.display().to_string()))
        }
        (None, Some(name)) => {
            let info = data::dataset_info(name)?;
            Ok((data::dataset(name)?, Some(info.family), name.clone()))
        }
        (None, None) => bail!("no data: pass --data FILE.csv or --dataset NAME"),
        (Some(_), Some(_)) => bail!("pass either --data or --dataset, not both"),
    }
}

fn format_label(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// `--target`, or the embedded dataset's own target.
pub fn target_name(target: Option<&str>, dataset: Option<&str>) -> Result<String> {
    Ok(match (target, dataset) {
        (Some(t), _) => t.to_string(),
        (None, Some(name)) => data::dataset_info(name)?.target.to_string(),
        (None, None) => bail!("--target COLUMN is required with --data"),
    })
}

/// The target column's values as labels (numbers printed without a trailing `.0`).
pub fn label_texts(table: &Table, ti: usize) -> Vec<String> {
    match &table.columns[ti] {
        Column::Text(v) => v.clone(),
        Column::Numeric(v) => v.iter().map(|x| format_label(*x)).collect(),
    }
}

/// The distinct labels, numeric labels sorted numerically and text labels alphabetically
/// (R's factor levels).
pub fn sorted_labels(labels: &[String], numeric: bool) -> Vec<String> {
    let mut distinct = labels.to_vec();
    distinct.sort_by(|a, b| {
        if numeric {
            a.parse::<f64>()
                .unwrap_or(0.0)
                .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        } else {
            a.cmp(b)
        }
    });
    distinct.dedup();
    distinct
}

/// Loads features, target, weights and offset. `family` overrides the dataset's default.
/// `extra` names further columns that are not features (e.g. a fold-id column).
pub fn load(args: &DataArgs, family: Option<Family>, extra: &[&str]) -> Result<Loaded> {
    let target = target_name(args.target.as_deref(), args.dataset.as_deref())?;
    let (table, ds_family, source) = load_table(args, &[target.as_str()])?;
    let family = family.or(ds_family).unwrap_or(Family::Gaussian);
    let ti = table.column_index(&target)?;
    let mut exclude = vec![ti];
    let weights = match &args.weights {
        Some(wname) => {
            let wi = table.column_index(wname)?;
            if wi == ti {
                bail!("the weights column cannot be the target");
            }
            exclude.push(wi);
            Some(Array1::from(weights_column(&table, wi, wname)?))
        }
        None => None,
    };
    let offset = match &args.offset {
        Some(oname) => {
            let oi = table.column_index(oname)?;
            if exclude.contains(&oi) {
                bail!("the offset column cannot be the target or the weights");
            }
            exclude.push(oi);
            Some(Array1::from(table.numeric(oi)?.to_vec()))
        }
        None => None,
    };
    let trials = match &args.trials {
        Some(name) => {
            if family != Family::Binomial {
                bail!("--trials counts the trials of a binomial model: add --family binomial");
            }
            if args.positive.is_some() {
                bail!("--positive picks a label; with --trials the target counts successes");
            }
            let i = table.column_index(name)?;
            if exclude.contains(&i) {
                bail!("the trials column cannot be the target, the weights or the offset");
            }
            exclude.push(i);
            Some((i, table.numeric(i)?))
        }
        None => None,
    };
    let mut extra_columns = Vec::new();
    for name in extra {
        let i = table.column_index(name)?;
        exclude.push(i);
        extra_columns.push(i);
    }
    if family == Family::Gaussian && args.positive.is_some() {
        bail!("--positive picks class 1 of a binomial model: add --family binomial");
    }
    if family == Family::Gaussian && args.class_weight.is_some() {
        bail!("--class-weight weighs the classes of a binomial model: add --family binomial");
    }
    let labels = label_texts(&table, ti);
    let mut weights = weights;
    let shares = match (family, &trials) {
        (Family::Binomial, Some((i, m))) => {
            let (y, w) = successes_among_trials(&table, ti, *i, m, weights.as_ref())?;
            weights = Some(w);
            Some(y)
        }
        (Family::Binomial, None) => proportions(&table, ti),
        (Family::Gaussian, _) => None,
    };
    let (y, classes) = match (family, shares) {
        (Family::Gaussian, _) => (Array1::from(table.numeric(ti)?.to_vec()), None),
        (Family::Binomial, Some(y)) => {
            // shares of successes (glmnet's two-column count matrix as successes / trials,
            // with the trials as --weights)
            if let Some(p) = &args.positive {
                bail!(
                    "--positive {p}: the target column '{target}' holds proportions in [0, 1], \
                     not labels"
                );
            }
            (y, Some(vec!["0".to_string(), "1".to_string()]))
        }
        (Family::Binomial, None) => {
            let numeric = matches!(table.columns[ti], Column::Numeric(_));
            let distinct = sorted_labels(&labels, numeric);
            let positive = match &args.positive {
                Some(p) => {
                    if !distinct.contains(p) {
                        bail!(
                            "--positive {p}: no such label in column '{target}' (labels: {})",
                            shorten(&distinct)
                        );
                    }
                    p.clone()
                }
                None => {
                    if distinct.len() == 1 {
                        bail!(
                            "{}: the target column '{target}' has a single class ({}): \
                             logistic regression needs two",
                            source,
                            distinct[0]
                        );
                    }
                    if distinct.len() > 2 {
                        bail!(
                            "family binomial needs two classes, column '{target}' has {} ({}); \
                             pick one with --positive LABEL for one-vs-rest",
                            distinct.len(),
                            shorten(&distinct)
                        );
                    }
                    distinct[1].clone()
                }
            };
            let negative = if distinct.len() == 2 {
                distinct
                    .iter()
                    .find(|d| **d != positive)
                    .cloned()
                    .unwrap_or_default()
            } else {
                format!("not {positive}")
            };
            let y: Array1<f64> = labels
                .iter()
                .map(|l| if *l == positive { 1.0 } else { 0.0 })
                .collect();
            (y, Some(vec![negative, positive]))
        }
    };
    let (x, feature_names) = table.columns_without(&exclude)?;
    if feature_names.is_empty() {
        bail!("{source}: no feature columns besides the target");
    }
    let weights = match args.class_weight {
        Some(_) => Some(
            regml::linear::balanced_class_weights(y.view(), weights.as_ref().map(|w| w.view()))
                .with_context(|| format!("{source}: --class-weight balanced"))?,
        ),
        None => weights,
    };
    Ok(Loaded {
        x,
        y,
        weights,
        offset,
        feature_names,
        target,
        family,
        classes,
        table,
        source,
        extra_columns,
    })
}

/// The shares `successes / trials` of the target column `ti` (successes) and the trials column
/// `mi` (values `m`), and the weights `trials * weights`. A row of 0 trials gets share 0 and
/// weight 0. Counts must be non-negative and the successes at most the trials; the error names
/// the row and column.
pub fn successes_among_trials(
    table: &Table,
    ti: usize,
    mi: usize,
    m: &[f64],
    weights: Option<&Array1<f64>>,
) -> Result<(Array1<f64>, Array1<f64>)> {
    let s = table.numeric(ti)?;
    let bad = |r: usize, column: usize, reason: String| -> anyhow::Error {
        table.cell_error(r, column, reason).into()
    };
    let mut y = Vec::with_capacity(s.len());
    let mut w = Vec::with_capacity(s.len());
    for (r, (&si, &mi_r)) in s.iter().zip(m).enumerate() {
        if mi_r < 0.0 {
            return Err(bad(r, mi, format!("negative number of trials {mi_r}")));
        }
        if !(0.0..=mi_r).contains(&si) {
            return Err(bad(
                r,
                ti,
                format!("{si} successes: must lie between 0 and the {mi_r} trials"),
            ));
        }
        y.push(if mi_r > 0.0 { si / mi_r } else { 0.0 });
        w.push(mi_r * weights.map_or(1.0, |w| w[r]));
    }
    Ok((Array1::from(y), Array1::from(w)))
}

/// Column `ti` as binomial proportions, when it holds numbers in `[0, 1]` that are not all 0
/// or 1 (a target column may have been read as text, for labels).
pub fn proportions(table: &Table, ti: usize) -> Option<Array1<f64>> {
    let values: Vec<f64> = match &table.columns[ti] {
        Column::Numeric(v) => v.clone(),
        Column::Text(t) => t
            .iter()
            .map(|s| data::parse_number(s).ok())
            .collect::<Option<Vec<f64>>>()?,
    };
    let shares = values.iter().all(|x| (0.0..=1.0).contains(x))
        && values.iter().any(|x| *x != 0.0 && *x != 1.0);
    shares.then(|| Array1::from(values))
}

fn shorten(v: &[String]) -> String {
    let mut s: Vec<&str> = v.iter().take(10).map(|s| s.as_str()).collect();
    if v.len() > 10 {
        s.push("...");
    }
    s.join(", ")
}

/// Parses a comma-separated list of finite numbers.
pub fn parse_list(name: &str, s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|t| regml::data::parse_number(t).map_err(|e| anyhow::anyhow!("--{name}: {e}")))
        .collect()
}

/// Per-feature values given as one number for all, a list in feature order, or
/// `name=value` pairs (unnamed features get `default`).
pub fn per_feature(name: &str, s: &str, features: &[String], default: f64) -> Result<Vec<f64>> {
    if s.contains('=') {
        let mut out = vec![default; features.len()];
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .with_context(|| format!("--{name}: '{part}' is not NAME=VALUE"))?;
            let j = features
                .iter()
                .position(|f| f == k.trim())
                .with_context(|| format!("--{name}: no feature named '{}'", k.trim()))?;
            out[j] = regml::data::parse_number(v).map_err(|e| anyhow::anyhow!("--{name}: {e}"))?;
        }
        return Ok(out);
    }
    let v = parse_list(name, s)?;
    match v.len() {
        1 => Ok(vec![v[0]; features.len()]),
        k if k == features.len() => Ok(v),
        k => bail!(
            "--{name}: {k} values given, the data has {} features (give 1, {}, or NAME=VALUE pairs)",
            features.len(),
            features.len()
        ),
    }
}
