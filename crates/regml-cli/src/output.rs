//! Tables for people and JSON for programs.

use crate::input::Loaded;
use anyhow::Result;
use ndarray::ArrayView1;
use regml::cv::CvResult;
use regml::{Certificate, FitInfo, LinearPath};
use std::fmt::Write;
use std::path::Path;

/// `v` in a column of width 12: five decimals from `1e-4` up to `1e7` (and for 0), otherwise
/// in scientific notation, so that very large or small values keep their digits and width.
fn num12(v: f64) -> String {
    if v == 0.0 || (1e-4..1e7).contains(&v.abs()) {
        format!("{v:>12.5}")
    } else {
        format!("{v:>12.4e}")
    }
}

/// glmnet's `print.glmnet` table plus the certificate: Df, %Dev, Lambda, relative gap.
pub fn path_table(p: &LinearPath) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>5} {:>5} {:>7} {:>12} {:>9} {:>7}",
        "", "Df", "%Dev", "Lambda", "RelGap", "Passes"
    );
    for k in 0..p.lambdas.len() {
        let _ = writeln!(
            s,
            "{:>5} {:>5} {:>7.2} {} {:>9.1e} {:>7}{}",
            k + 1,
            p.df[k],
            100.0 * p.dev_ratio[k],
            num12(p.lambdas[k]),
            p.info[k].relative_gap,
            p.info[k].n_iter,
            match (p.info[k].converged, p.info[k].certificate) {
                (true, Certificate::DualityGap) => "",
                (true, Certificate::KktViolation) => "  (KKT violation)",
                (false, Certificate::DualityGap) => "  NOT CONVERGED",
                (false, Certificate::KktViolation) => "  NOT CONVERGED (KKT violation)",
            }
        );
    }
    let _ = writeln!(
        s,
        "{} lambdas, lambda_max {}, {}",
        p.lambdas.len(),
        num12(p.lambda_max).trim(),
        worst_certificates(&p.info)
    );
    s
}

/// "worst relative duality gap G" over the lambdas certified by a gap, and "worst relative
/// KKT violation V (N lambdas)" over those certified by their KKT violation, if any.
fn worst_certificates(info: &[FitInfo]) -> String {
    let worst = |kind: Certificate| {
        info.iter()
            .filter(|i| i.certificate == kind)
            .map(|i| i.relative_gap)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    let kkt_count = info
        .iter()
        .filter(|i| i.certificate == Certificate::KktViolation)
        .count();
    let mut parts = Vec::new();
    if let Some(g) = worst(Certificate::DualityGap) {
        parts.push(format!("worst relative duality gap {g:.1e}"));
    }
    if let Some(v) = worst(Certificate::KktViolation) {
        parts.push(format!(
            "worst relative KKT violation {v:.1e} ({kkt_count} {})",
            if kkt_count == 1 { "lambda" } else { "lambdas" }
        ));
    }
    parts.join(", ")
}

/// glmnet's `print.cv.glmnet` table.
pub fn cv_table(r: &CvResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Measure: {}\n", r.measure.description());
    let _ = writeln!(
        s,
        "{:>4} {:>12} {:>6} {:>12} {:>12} {:>8}",
        "", "Lambda", "Index", "Measure", "SE", "Nonzero"
    );
    for (name, k) in [("min", r.index_min), ("1se", r.index_1se)] {
        let _ = writeln!(
            s,
            "{:>4} {} {:>6} {} {} {:>8}",
            name,
            num12(r.path.lambdas[k]),
            k + 1,
            num12(r.cvm[k]),
            num12(r.cvsd[k]),
            r.path.df[k]
        );
    }
    let _ = writeln!(
        s,
        "\n{}-fold CV over {} lambdas; full-data path: {}",
        r.nfolds,
        r.path.lambdas.len(),
        worst_certificates(&r.path.info)
    );
    s
}

/// One line per alpha of a cross-validation over alphas: its lambda.min with the measure
/// there, its lambda.1se with the nonzero count there; `*` marks the chosen alpha.
pub fn alphas_table(r: &regml::cv::CvAlphasResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>2}{:>8} {:>12} {:>12} {:>12} {:>8}",
        "", "alpha", "lambda.min", "Measure", "lambda.1se", "Nonzero"
    );
    for (k, (a, f)) in r.alphas.iter().zip(&r.fits).enumerate() {
        let _ = writeln!(
            s,
            "{:>2}{:>8.4} {} {} {} {:>8}",
            if k == r.best { "*" } else { "" },
            a,
            num12(f.lambda_min),
            num12(f.cvm[f.index_min]),
            num12(f.lambda_1se),
            f.path.df[f.index_1se]
        );
    }
    let _ = writeln!(
        s,
        "\nchosen: alpha = {} (best cross-validated measure; the same folds for every alpha)\n",
        r.alphas[r.best]
    );
    s
}

/// Coefficients like glmnet's `coef()`: intercept first, "." for exact zeros.
pub fn coef_table(names: &[String], b0: f64, b: ArrayView1<f64>) -> String {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0).max(11);
    let mut s = String::new();
    let _ = writeln!(s, "{:<width$} {:>14.6}", "(Intercept)", b0);
    for (n, v) in names.iter().zip(b.iter()) {
        if *v == 0.0 {
            let _ = writeln!(s, "{:<width$} {:>14}", n, ".");
        } else {
            let _ = writeln!(s, "{:<width$} {:>14.6}", n, v);
        }
    }
    s
}

/// Everything about a path (and its cross-validation) as JSON.
pub fn path_json(
    p: &LinearPath,
    d: &Loaded,
    secs: f64,
    cv: Option<&CvResult>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "source": d.source,
        "family": p.family.to_string(),
        "alpha": p.alpha,
        "n_samples": d.x.nrows(),
        "n_features": d.x.ncols(),
        "feature_names": d.feature_names,
        "target": d.target,
        "classes": d.classes,
        "lambda_max": p.lambda_max,
        "lambdas": p.lambdas,
        "intercepts": p.intercepts,
        "coefficients": p.coefs.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "df": p.df,
        "dev_ratio": p.dev_ratio,
        "null_deviance": p.null_deviance,
        "relative_gap": p.info.iter().map(|i| i.relative_gap).collect::<Vec<_>>(),
        "duality_gap": p.info.iter().map(|i| i.duality_gap).collect::<Vec<_>>(),
        "certificate": p.info.iter().map(|i| i.certificate).collect::<Vec<_>>(),
        "n_iter": p.info.iter().map(|i| i.n_iter).collect::<Vec<_>>(),
        "converged": p.info.iter().map(|i| i.converged).collect::<Vec<_>>(),
        "warnings": p.warnings,
        "offset": p.offset,
        "fit_seconds": secs,
    });
    if let Some(r) = cv {
        let o = v.as_object_mut().expect("json object");
        o.insert("measure".into(), r.measure.name().into());
        o.insert("nfolds".into(), r.nfolds.into());
        o.insert("cvm".into(), serde_json::json!(r.cvm));
        o.insert("cvsd".into(), serde_json::json!(r.cvsd));
        o.insert("lambda_min".into(), r.lambda_min.into());
        o.insert("lambda_1se".into(), r.lambda_1se.into());
        o.insert("index_min".into(), (r.index_min + 1).into());
        o.insert("index_1se".into(), (r.index_1se + 1).into());
        o.insert(
            "foldid".into(),
            serde_json::json!(r.foldid.iter().map(|f| f + 1).collect::<Vec<_>>()),
        );
        o.insert("grouped".into(), r.grouped.into());
        // the full fit's warnings, the folds' and cross-validation's own
        o.insert("warnings".into(), serde_json::json!(r.warnings));
    }
    v
}

/// Writes pretty JSON atomically. Non-finite numbers become `null`.
pub fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(v)?;
    regml::model::write_atomic(path, &bytes)?;
    Ok(())
}

/// Writes to standard output; a closed pipe (`regml ... | head`) ends the output quietly.
pub fn print_out(s: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
