//! Model files: a fitted path saved as JSON and read back with validation.
//!
//! Format (`format = "regml-linear-model"`, `format_version = 1`): plain JSON data, nothing
//! executable, so loading an untrusted file is safe. Floats are written in shortest
//! round-trip form, so save/load is bitwise exact. Fields:
//!
//! | field | meaning |
//! |---|---|
//! | `family`, `alpha` | model family and L1 share |
//! | `feature_names`, `target` | column names the model was fitted on |
//! | `standardize`, `fit_intercept`, `x_mean`, `x_scale` | preprocessing used in fitting |
//! | `lambdas`, `intercepts`, `coefs` | the path: one intercept and coefficient row per `lambda`, original scale |
//! | `lambda` | default `lambda` for prediction (`lambda_1se` after cross-validation) |
//! | `lambda_min`, `lambda_1se`, `measure` | cross-validation results, when present |
//! | `classes` | binomial only: labels of class 0 and class 1 |
//! | `offset` | `true` if the model was fitted with an offset (absent otherwise): predictions need the new rows' offsets |
//!
//! Files are written atomically ([`write_atomic`]): a temporary file in the same directory,
//! flushed to disk, then renamed over the target, so a crash never leaves half a file.

use crate::linear::{Family, LinearPath};
use crate::{Error, Result};
use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Name stored in `format`.
pub const FORMAT_NAME: &str = "regml-linear-model";
/// Version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Largest model file accepted on load (1 GiB).
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// A saved linear model (see the module docs for the fields).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearModel {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Always [`FORMAT_VERSION`] for files this build writes.
    pub format_version: u32,
    /// Model family.
    pub family: Family,
    /// L1 share.
    pub alpha: f64,
    /// Feature names, in the order of the coefficients.
    pub feature_names: Vec<String>,
    /// Target column name.
    pub target: String,
    /// Whether features were standardized for the penalty.
    pub standardize: bool,
    /// Whether an intercept was fitted.
    pub fit_intercept: bool,
    /// Feature means used for centering.
    pub x_mean: Vec<f64>,
    /// Feature scales used for standardization.
    pub x_scale: Vec<f64>,
    /// Path `lambda` values (decreasing).
    pub lambdas: Vec<f64>,
    /// Intercept per `lambda`.
    pub intercepts: Vec<f64>,
    /// Coefficient rows per `lambda`.
    pub coefs: Vec<Vec<f64>>,
    /// Default `lambda` for prediction.
    pub lambda: f64,
    /// Cross-validated `lambda_min`, if any.
    pub lambda_min: Option<f64>,
    /// Cross-validated `lambda_1se`, if any.
    pub lambda_1se: Option<f64>,
    /// Cross-validation measure, if any.
    pub measure: Option<String>,
    /// Class labels `[class 0, class 1]` (binomial).
    pub classes: Option<Vec<String>>,
    /// Whether the model was fitted with an offset: predictions then need the new rows'
    /// offsets. Absent in files of models without one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offset: bool,
}

impl LinearModel {
    /// Packs a fitted path with its metadata.
    #[allow(clippy::too_many_arguments)]
    pub fn from_path(
        path: &LinearPath,
        feature_names: Vec<String>,
        target: String,
        standardize: bool,
        fit_intercept: bool,
        lambda: f64,
        classes: Option<Vec<String>>,
    ) -> Self {
        LinearModel {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            family: path.family,
            alpha: path.alpha,
            feature_names,
            target,
            standardize,
            fit_intercept,
            x_mean: path.x_mean.clone(),
            x_scale: path.x_scale.clone(),
            lambdas: path.lambdas.clone(),
            intercepts: path.intercepts.clone(),
            coefs: path.coefs.rows().into_iter().map(|r| r.to_vec()).collect(),
            lambda,
            lambda_min: None,
            lambda_1se: None,
            measure: None,
            classes,
            offset: path.offset,
        }
    }

    /// Checks internal consistency (used on load).
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.format != FORMAT_NAME {
            return Err(format!(
                "not a regml linear model (format '{}')",
                self.format
            ));
        }
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not supported by this build (version {FORMAT_VERSION})",
                self.format_version
            ));
        }
        let p = self.feature_names.len();
        let k = self.lambdas.len();
        if p == 0 || k == 0 {
            return Err("no features or no lambda values".into());
        }
        if self.x_mean.len() != p || self.x_scale.len() != p {
            return Err("x_mean/x_scale length differs from the number of features".into());
        }
        if self.intercepts.len() != k || self.coefs.len() != k {
            return Err("intercepts/coefs do not have one entry per lambda".into());
        }
        if let Some(r) = self.coefs.iter().position(|r| r.len() != p) {
            return Err(format!("coefficient row {r} does not have {p} values"));
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !(finite(&self.lambdas)
            && finite(&self.intercepts)
            && finite(&self.x_mean)
            && finite(&self.x_scale)
            && self.coefs.iter().all(|r| finite(r))
            && self.lambda.is_finite()
            && self.alpha.is_finite())
        {
            return Err("non-finite number".into());
        }
        if self.lambdas.windows(2).any(|w| w[0] < w[1]) {
            return Err("lambdas are not decreasing".into());
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(format!("alpha {} is not in [0, 1]", self.alpha));
        }
        let cv_lambdas = [self.lambda_min, self.lambda_1se];
        if let Some(v) = std::iter::once(self.lambda)
            .chain(self.lambdas.iter().copied())
            .chain(cv_lambdas.iter().flatten().copied())
            .find(|v| !(*v >= 0.0 && v.is_finite()))
        {
            return Err(format!("lambda {v} is negative or not finite"));
        }
        if let Some(v) = self.x_scale.iter().find(|v| !(**v > 0.0)) {
            return Err(format!("x_scale {v} is not positive"));
        }
        let mut names = self.feature_names.clone();
        names.sort();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("duplicate feature names".into());
        }
        if let Some(c) = &self.classes {
            if c.len() != 2 || c[0] == c[1] {
                return Err("classes must hold exactly two distinct labels".into());
            }
        }
        Ok(())
    }

    /// Intercept and coefficients at `lambda` (interpolated linearly between path points).
    pub fn coefficients(&self, lambda: f64) -> (f64, Array1<f64>) {
        crate::linear::interpolate(
            &self.lambdas,
            &self.intercepts,
            |i| Array1::from(self.coefs[i].clone()),
            lambda,
        )
    }

    /// Predictions at `lambda`: mean response (gaussian) or probability of class 1. A model
    /// fitted with an offset needs the rows' offsets: see [`Self::predict_with_offset`].
    pub fn predict(&self, x: ArrayView2<f64>, lambda: f64) -> Result<Array1<f64>> {
        self.predict_with_offset(x, lambda, None)
    }

    /// Linear predictor `offset + b0 + X b` at `lambda`; `offset` (one value per row) must be
    /// given exactly when the model was fitted with one.
    pub fn linear_predictor(
        &self,
        x: ArrayView2<f64>,
        lambda: f64,
        offset: Option<ArrayView1<f64>>,
    ) -> Result<Array1<f64>> {
        if x.ncols() != self.feature_names.len() {
            return Err(Error::ShapeMismatch {
                op: "predict",
                expected: format!("{} features", self.feature_names.len()),
                got: format!("{}", x.ncols()),
            });
        }
        let (b0, b) = self.coefficients(lambda);
        crate::linear::add_offset(x.dot(&b) + b0, offset, self.offset)
    }

    /// [`Self::predict`] with the rows' offsets, which must be given exactly when the model
    /// was fitted with an offset.
    pub fn predict_with_offset(
        &self,
        x: ArrayView2<f64>,
        lambda: f64,
        offset: Option<ArrayView1<f64>>,
    ) -> Result<Array1<f64>> {
        Ok(self.family.mean(self.linear_predictor(x, lambda, offset)?))
    }

    /// Saves atomically as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::ModelFile {
            file: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_atomic(path, &json)
    }

    /// Loads and validates a model file.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::ModelFile {
            file: path.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| Error::Io {
            context: format!("cannot open model file {}", path.display()),
            source: e,
        })?;
        if meta.len() > MAX_MODEL_BYTES {
            return Err(bad(format!(
                "{} bytes, more than the limit of {MAX_MODEL_BYTES}",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            context: format!("cannot read model file {}", path.display()),
            source: e,
        })?;
        // check the header first so an old or foreign file gets a clear message
        let head: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            bad(if e.is_eof() {
                format!("truncated or incomplete JSON ({e})")
            } else {
                format!("not valid JSON ({e})")
            })
        })?;
        match head.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(bad(format!(
                    "format version {v} is not supported by this build (version {FORMAT_VERSION})"
                )))
            }
            None => {
                return Err(bad(match head.get("format_version") {
                    Some(v) => format!("format_version {v} is not a version number"),
                    None => "no format_version field: not a regml model".into(),
                }))
            }
        }
        let model: LinearModel =
            serde_json::from_value(head).map_err(|e| bad(format!("invalid content ({e})")))?;
        model.validate().map_err(bad)?;
        Ok(model)
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory, `fsync`,
/// rename over `path`, then `fsync` of the directory. On error the temporary file is removed
/// and any existing `path` is left untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |context: String| move |e: std::io::Error| Error::Io { context, source: e };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::param("output path", path.display(), "has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f =
            std::fs::File::create(&tmp).map_err(io(format!("cannot create {}", tmp.display())))?;
        f.write_all(bytes)
            .map_err(io(format!("cannot write {}", tmp.display())))?;
        f.sync_all()
            .map_err(io(format!("cannot sync {}", tmp.display())))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(format!("cannot rename to {}", path.display())))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
