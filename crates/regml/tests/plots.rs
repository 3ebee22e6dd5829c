//! Plots are drawn from the fitted results: the curves, labels and reference lines must
//! carry the numbers of the fit they show.

use ndarray::Array2;
use regml::cv::{cv_path, CvParams};
use regml::data::dataset_xy;
use regml::linear::{fit_path, ElasticNetParams};
use regml::nn::{Activation, LayerSpec, Loss, Sequential};
use regml::plot::{self, Figure, PathAxis};

fn diabetes() -> (Array2<f64>, ndarray::Array1<f64>, Vec<String>) {
    let (x, y, names) = dataset_xy("diabetes").expect("embedded");
    (x, ndarray::Array1::from(y), names)
}

/// The number after `attr="` following position `from` in `s`.
fn attr_after(s: &str, from: usize, attr: &str) -> f64 {
    let key = format!("{attr}=\"");
    let i = s[from..].find(&key).expect("attribute") + from + key.len();
    let j = s[i..].find('"').expect("closing quote") + i;
    s[i..j].parse().expect("number")
}

#[test]
fn coefficient_paths_label_the_features_and_count_nonzeros_on_top() {
    let (x, y, names) = diabetes();
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::default()).expect("fit");
    let chart = plot::coef_path(&path, &names, PathAxis::LogLambda);
    // one curve per feature that is ever nonzero, each point (log lambda, coefficient)
    let ever = (0..names.len())
        .filter(|&j| path.coefs.column(j).iter().any(|v| *v != 0.0))
        .count();
    assert_eq!(chart.series.len(), ever);
    let bmi = names.iter().position(|n| n == "bmi").expect("bmi");
    let s = chart
        .series
        .iter()
        .find(|s| s.name == "bmi")
        .expect("bmi curve");
    for (k, &(px, py)) in s.points.iter().enumerate() {
        assert_eq!(px, path.lambdas[k].ln());
        assert_eq!(py, path.coefs[[k, bmi]]);
    }
    // top axis: nonzero counts taken from the path
    assert!(!chart.top_ticks.is_empty());
    for (t, label) in &chart.top_ticks {
        let k = (0..path.lambdas.len())
            .min_by(|&a, &b| {
                (path.lambdas[a].ln() - t)
                    .abs()
                    .total_cmp(&(path.lambdas[b].ln() - t).abs())
            })
            .expect("lambdas");
        assert_eq!(label, &path.df[k].to_string());
    }
    let svg = Figure::single(chart).to_svg();
    for n in &names {
        assert!(svg.contains(&format!(">{n}</text>")), "label {n} missing");
    }
    // the L1-norm axis runs from 0 to the norm of the last solution
    let norm = plot::coef_path(&path, &names, PathAxis::Norm);
    let last = norm.series[0].points.last().expect("points").0;
    let want: f64 = path
        .coefs
        .row(path.lambdas.len() - 1)
        .iter()
        .map(|v| v.abs())
        .sum();
    assert!((last - want).abs() <= 1e-12 * want);
}

#[test]
fn cv_plot_marks_lambda_min_and_1se_and_draws_one_se_bars() {
    let (x, y, _) = diabetes();
    let cv = cv_path(
        x.view(),
        y.view(),
        None,
        &ElasticNetParams::default(),
        &CvParams::default(),
    )
    .expect("cv");
    let chart = plot::cv_curve(&cv);
    let xs: Vec<f64> = chart.vlines.iter().map(|v| v.x).collect();
    assert_eq!(xs, vec![cv.lambda_min.ln(), cv.lambda_1se.ln()]);
    let s = &chart.series[0];
    let bars = s.error_bars.as_ref().expect("error bars");
    for k in 0..cv.cvm.len() {
        assert_eq!(s.points[k].1, cv.cvm[k]);
        assert_eq!(bars[k], (cv.cvm[k] - cv.cvsd[k], cv.cvm[k] + cv.cvsd[k]));
    }
    // in the picture, the "min" line is drawn at the x of lambda_min's point
    let svg = Figure::single(chart.clone()).to_svg();
    let circles: Vec<usize> = svg.match_indices("<circle").map(|(i, _)| i).collect();
    let cx_min = attr_after(&svg, circles[cv.index_min], "cx");
    let line = svg.find("stroke-dasharray=\"2 3\"").expect("dotted line");
    let line_start = svg[..line].rfind("<line").expect("line element");
    let x1 = attr_after(&svg, line_start, "x1");
    assert!(
        (x1 - cx_min).abs() < 0.01,
        "line at {x1}, point at {cx_min}"
    );
}

#[test]
fn weight_histograms_count_every_weight_and_the_exact_zeros() {
    let mut m: Sequential<f32> = Sequential::new(
        6,
        vec![
            LayerSpec::dense(5, Activation::Relu),
            LayerSpec::dense(3, Activation::Linear),
        ],
        Loss::SoftmaxCrossEntropy,
        7,
    )
    .expect("model");
    let slot = m.slots()[0].range.clone();
    for v in &mut m.params[slot.start..slot.start + 12] {
        *v = 0.0;
    }
    let fig = plot::weight_histograms(&m);
    assert_eq!(fig.charts.len(), 2);
    let c = &fig.charts[0];
    assert!(c.title.contains("40.0% exact zeros"), "{}", c.title);
    let total: f64 = c.bars.iter().map(|b| b.height).sum();
    assert_eq!(total, 30.0);
    let zero_bar = c.bars.iter().find(|b| b.color == "#222").expect("zero bar");
    assert_eq!(zero_bar.height, 12.0);
}

#[test]
fn figures_are_written_atomically_as_svg_or_png() {
    let (x, y, names) = diabetes();
    let path = fit_path(x.view(), y.view(), None, &ElasticNetParams::default()).expect("fit");
    let fig = Figure::single(plot::coef_path(&path, &names, PathAxis::Dev));
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("p.svg");
    plot::save(&fig, &svg).expect("svg");
    assert!(std::fs::read_to_string(&svg)
        .expect("read")
        .starts_with("<svg"));
    assert!(plot::save(&fig, &dir.path().join("p.pdf")).is_err());
    let png = dir.path().join("p.png");
    match plot::save(&fig, &png) {
        Ok(()) => {
            let b = std::fs::read(&png).expect("read");
            assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
            // width and height from the IHDR chunk: twice the SVG size
            let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
            let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
            assert_eq!((w, h), (1440, 960));
        }
        // a machine without fonts says how to install them
        Err(e) => assert!(e.to_string().contains("install-deps.sh"), "{e}"),
    }
    // nothing but the two written files is left in the directory
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(names.len() <= 2, "{names:?}");
}
