//! Charts as data, drawn to SVG: axes with "nice" ticks, lines, markers, error bars, bars,
//! vertical reference lines, a labelled top axis, and curve labels at the right edge.
//!
//! Coordinates are data units; each panel maps its x and y ranges linearly onto its plot
//! area. A [`Figure`] lays several [`Chart`] panels out on a grid.

use std::fmt::Write as _;

/// Colors of successive series (the Tableau 10 palette).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Marker drawn at each point of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// Filled circle.
    Dot,
    /// Open circle.
    Circle,
}

/// One curve or point set.
#[derive(Clone, Debug)]
pub struct Series {
    /// Name used for the legend or the end label.
    pub name: String,
    /// Points in data units; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    /// Stroke / fill color (CSS).
    pub color: String,
    /// Draw a line through the points.
    pub line: bool,
    /// Line width in pixels.
    pub width: f64,
    /// Dash pattern (`"4 3"`), solid when `None`.
    pub dash: Option<String>,
    /// Marker at each point.
    pub marker: Option<Marker>,
    /// Vertical error bars `(low, high)`, one per point.
    pub error_bars: Option<Vec<(f64, f64)>>,
    /// Write the name at the right end of the curve (glmnet's `label = TRUE`).
    pub end_label: bool,
    /// List the series in the legend box.
    pub in_legend: bool,
}

impl Series {
    /// A solid line of width 1.5 in `color`, listed in the legend.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>, color: &str) -> Self {
        Series {
            name: name.into(),
            points,
            color: color.to_string(),
            line: true,
            width: 1.5,
            dash: None,
            marker: None,
            error_bars: None,
            end_label: false,
            in_legend: true,
        }
    }

    /// Points only (filled dots), listed in the legend.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>, color: &str) -> Self {
        Series {
            line: false,
            marker: Some(Marker::Dot),
            ..Series::line(name, points, color)
        }
    }
}

/// A histogram bar `[x0, x1] x [0, height]`.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Left edge.
    pub x0: f64,
    /// Right edge.
    pub x1: f64,
    /// Height.
    pub height: f64,
    /// Fill color.
    pub color: String,
}

/// A vertical reference line across the plot area.
#[derive(Clone, Debug)]
pub struct VLine {
    /// Position in data units.
    pub x: f64,
    /// Text written at its top.
    pub label: String,
    /// Color.
    pub color: String,
    /// Dash pattern.
    pub dash: String,
}

/// One panel: axes, series, bars and annotations.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// Title above the panel.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label left of the y axis.
    pub y_label: String,
    /// Fixed x range; computed from the data when `None`.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range; computed from the data when `None`.
    pub y_range: Option<(f64, f64)>,
    /// Labels of the top axis at data positions (glmnet: nonzero counts).
    pub top_ticks: Vec<(f64, String)>,
    /// Curves and point sets, drawn in order.
    pub series: Vec<Series>,
    /// Bars, drawn under the series.
    pub bars: Vec<Bar>,
    /// Vertical reference lines.
    pub vlines: Vec<VLine>,
    /// A horizontal line at `y = 0`.
    pub zero_line: bool,
    /// Lines of text in the top-left corner of the plot area.
    pub notes: Vec<String>,
    /// Equal data units on both axes (geometry pictures).
    pub equal_aspect: bool,
    /// The x axis runs from its largest value on the left to its smallest on the right
    /// (`log(lambda)`, so that the penalty decreases to the right).
    pub x_reversed: bool,
}

/// Several panels on a grid, with an optional overall title.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Title above all panels.
    pub title: String,
    /// Panels, filled row by row.
    pub charts: Vec<Chart>,
    /// Panels per row.
    pub columns: usize,
    /// Width of one panel in pixels.
    pub panel_width: f64,
    /// Height of one panel in pixels.
    pub panel_height: f64,
}

impl Figure {
    /// One panel of 720 x 480 pixels.
    pub fn single(chart: Chart) -> Self {
        Figure {
            title: String::new(),
            charts: vec![chart],
            columns: 1,
            panel_width: 720.0,
            panel_height: 480.0,
        }
    }

    /// `charts` on a grid of `columns` panels per row.
    pub fn grid(title: impl Into<String>, charts: Vec<Chart>, columns: usize) -> Self {
        Figure {
            title: title.into(),
            charts,
            columns: columns.max(1),
            panel_width: 520.0,
            panel_height: 380.0,
        }
    }

    /// Total size in pixels `(width, height)`.
    pub fn size(&self) -> (f64, f64) {
        let rows = self.charts.len().div_ceil(self.columns).max(1);
        let cols = self.columns.min(self.charts.len()).max(1);
        let head = if self.title.is_empty() { 0.0 } else { 36.0 };
        (
            cols as f64 * self.panel_width,
            head + rows as f64 * self.panel_height,
        )
    }

    /// The figure as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let (w, h) = self.size();
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let head = if self.title.is_empty() {
            0.0
        } else {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
                w / 2.0,
                esc(&self.title)
            );
            36.0
        };
        for (k, chart) in self.charts.iter().enumerate() {
            let (r, c) = (k / self.columns, k % self.columns);
            let x0 = c as f64 * self.panel_width;
            let y0 = head + r as f64 * self.panel_height;
            let _ = writeln!(s, r#"<g transform="translate({x0},{y0})">"#);
            chart.draw(&mut s, self.panel_width, self.panel_height, k);
            s.push_str("</g>\n");
        }
        s.push_str("</svg>\n");
        s
    }
}

/// Escapes text for XML.
pub fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Compact number for tick labels: up to 4 significant digits, exponent form for very small
/// or large magnitudes.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            format!("{v}")
        };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        // 1.00e-4 -> 1e-4
        return s.replace(".00e", "e").replace("0e", "e");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Tick positions covering `[lo, hi]` with about `target` steps (at most `target / 0.7`) of
/// 1, 2, 2.5 or 5 times a power of ten.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= 0.7 * raw)
        .unwrap_or(10.0 * mag);
    // round to the step's decimals so that labels read 0.6, not 0.6000000000000001
    let digits = (-step.log10().floor()).max(0.0) as i32 + 1;
    let unit = 10f64.powi(digits);
    let first = (lo / step).ceil();
    let mut t = Vec::new();
    let mut k = 0.0;
    while (first + k) * step <= hi + step * 1e-9 && t.len() < 50 {
        let v = ((first + k) * step * unit).round() / unit;
        t.push(if v == 0.0 { 0.0 } else { v });
        k += 1.0;
    }
    t
}

fn data_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    lo.is_finite().then_some((lo, hi))
}

fn pad(r: (f64, f64), frac: f64) -> (f64, f64) {
    let (lo, hi) = r;
    if hi > lo {
        let d = (hi - lo) * frac;
        (lo - d, hi + d)
    } else {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    }
}

impl Chart {
    /// The x range drawn: fixed, or the data's with 3% padding.
    pub fn x_bounds(&self) -> (f64, f64) {
        self.x_range.unwrap_or_else(|| {
            let xs = self
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .chain(self.bars.iter().flat_map(|b| [b.x0, b.x1]))
                .chain(self.vlines.iter().map(|v| v.x));
            pad(data_range(xs).unwrap_or((0.0, 1.0)), 0.03)
        })
    }

    /// The y range drawn: fixed, or the data's (error bars and bars included) with 5% padding.
    pub fn y_bounds(&self) -> (f64, f64) {
        self.y_range.unwrap_or_else(|| {
            let ys = self
                .series
                .iter()
                .flat_map(|s| {
                    s.points.iter().map(|p| p.1).chain(
                        s.error_bars
                            .iter()
                            .flat_map(|e| e.iter().flat_map(|&(a, b)| [a, b])),
                    )
                })
                .chain(self.bars.iter().flat_map(|b| [0.0, b.height]))
                .chain(self.zero_line.then_some(0.0));
            pad(data_range(ys).unwrap_or((0.0, 1.0)), 0.05)
        })
    }

    fn draw(&self, s: &mut String, width: f64, height: f64, id: usize) {
        let labels = self.series.iter().any(|x| x.end_label);
        let longest = self
            .series
            .iter()
            .filter(|x| x.end_label)
            .map(|x| x.name.chars().count())
            .max()
            .unwrap_or(0);
        let ml = 64.0;
        let mr = if labels {
            (14.0 + 6.2 * longest as f64).min(width * 0.35)
        } else {
            18.0
        };
        let notes_h = 14.0 * self.notes.len() as f64;
        let mt = notes_h
            + if self.top_ticks.is_empty() {
                34.0
            } else {
                52.0
            };
        let mb = 48.0;
        let (mut pw, mut ph) = ((width - ml - mr).max(10.0), (height - mt - mb).max(10.0));
        let (xlo, xhi) = self.x_bounds();
        let (ylo, yhi) = self.y_bounds();
        let (mut left, mut top) = (ml, mt);
        if self.equal_aspect && xhi > xlo && yhi > ylo {
            let k = (pw / (xhi - xlo)).min(ph / (yhi - ylo));
            let (nw, nh) = (k * (xhi - xlo), k * (yhi - ylo));
            left += (pw - nw) / 2.0;
            top += (ph - nh) / 2.0;
            pw = nw;
            ph = nh;
        }
        let rev = self.x_reversed;
        let sx = move |x: f64| {
            let t = (x - xlo) / (xhi - xlo);
            left + if rev { 1.0 - t } else { t } * pw
        };
        let sy = |y: f64| top + ph - (y - ylo) / (yhi - ylo) * ph;
        let clip = format!("clip{id}");
        let _ = writeln!(
            s,
            r#"<clipPath id="{clip}"><rect x="{left}" y="{top}" width="{pw}" height="{ph}"/></clipPath>"#
        );
        if !self.title.is_empty() {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{}</text>"#,
                width / 2.0,
                esc(&self.title)
            );
        }
        // grid and ticks
        let _ = writeln!(
            s,
            r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
        );
        for t in nice_ticks(xlo, xhi, 6) {
            let x = sx(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x}" y1="{top}" x2="{x}" y2="{}" stroke="#e6e6e6"/><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#333"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"##,
                top + ph,
                top + ph,
                top + ph + 5.0,
                top + ph + 18.0,
                esc(&fmt_num(t))
            );
        }
        for t in nice_ticks(ylo, yhi, 5) {
            let y = sy(t);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#e6e6e6"/><line x1="{}" y1="{y}" x2="{left}" y2="{y}" stroke="#333"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                left + pw,
                left - 5.0,
                left - 8.0,
                y + 4.0,
                esc(&fmt_num(t))
            );
        }
        for (x, label) in &self.top_ticks {
            if *x < xlo || *x > xhi {
                continue;
            }
            let x = sx(*x);
            let _ = writeln!(
                s,
                r##"<line x1="{x}" y1="{top}" x2="{x}" y2="{}" stroke="#333"/><text x="{x}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
                top - 5.0,
                top - 8.0,
                esc(label)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            left + pw / 2.0,
            height - 10.0,
            esc(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(16,{}) rotate(-90)" text-anchor="middle">{}</text>"#,
            top + ph / 2.0,
            esc(&self.y_label)
        );
        let _ = writeln!(s, r#"<g clip-path="url(#{clip})">"#);
        if self.zero_line && ylo < 0.0 && yhi > 0.0 {
            let y = sy(0.0);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#888" stroke-dasharray="2 2"/>"##,
                left + pw
            );
        }
        for b in &self.bars {
            let (xa, xb) = (sx(b.x0), sx(b.x1));
            let (ya, yb) = (sy(b.height.max(0.0)), sy(0.0f64.max(ylo)));
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{ya}" width="{}" height="{}" fill="{}"/>"#,
                xa.min(xb),
                (xb - xa).abs().max(0.8),
                (yb - ya).max(0.0),
                b.color
            );
        }
        for v in &self.vlines {
            let x = sx(v.x);
            let _ = writeln!(
                s,
                r#"<line x1="{x}" y1="{top}" x2="{x}" y2="{}" stroke="{}" stroke-dasharray="{}"/>"#,
                top + ph,
                v.color,
                v.dash
            );
        }
        for se in &self.series {
            if let Some(bars) = &se.error_bars {
                for (&(x, _), &(lo, hi)) in se.points.iter().zip(bars) {
                    if !(x.is_finite() && lo.is_finite() && hi.is_finite()) {
                        continue;
                    }
                    let (px, a, b) = (sx(x), sy(lo), sy(hi));
                    let _ = writeln!(
                        s,
                        r##"<path d="M{px} {a}V{b}M{} {a}H{}M{} {b}H{}" stroke="#999" fill="none"/>"##,
                        px - 2.5,
                        px + 2.5,
                        px - 2.5,
                        px + 2.5
                    );
                }
            }
            if se.line {
                let mut d = String::new();
                let mut pen_down = false;
                for &(x, y) in &se.points {
                    if x.is_finite() && y.is_finite() {
                        let _ = write!(
                            d,
                            "{}{:.2} {:.2}",
                            if pen_down { "L" } else { "M" },
                            sx(x),
                            sy(y)
                        );
                        pen_down = true;
                    } else {
                        pen_down = false;
                    }
                }
                let dash = se
                    .dash
                    .as_ref()
                    .map(|d| format!(r#" stroke-dasharray="{d}""#))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    r#"<path d="{d}" fill="none" stroke="{}" stroke-width="{}"{dash}/>"#,
                    se.color, se.width
                );
            }
            if let Some(m) = se.marker {
                let fill = match m {
                    Marker::Dot => se.color.as_str(),
                    Marker::Circle => "white",
                };
                for &(x, y) in se
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{:.2}" cy="{:.2}" r="3" fill="{fill}" stroke="{}"/>"#,
                        sx(x),
                        sy(y),
                        se.color
                    );
                }
            }
        }
        s.push_str("</g>\n");
        for v in &self.vlines {
            if !v.label.is_empty() && v.x >= xlo && v.x <= xhi {
                // labels near the right edge are written to the left of their line
                let x = sx(v.x);
                let (tx, anchor) = if x > left + 0.7 * pw {
                    (x - 3.0, "end")
                } else {
                    (x + 3.0, "start")
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{tx}" y="{}" font-size="11" fill="{}" text-anchor="{anchor}">{}</text>"#,
                    top + 12.0,
                    v.color,
                    esc(&v.label)
                );
            }
        }
        if labels {
            self.draw_end_labels(s, &sx, &sy, left + pw, top, ph);
        }
        let legend: Vec<&Series> = self
            .series
            .iter()
            .filter(|x| x.in_legend && !x.end_label && !x.name.is_empty())
            .collect();
        // notes: a subtitle under the title
        for (k, note) in self.notes.iter().enumerate() {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="11" fill="#333" text-anchor="middle">{}</text>"##,
                width / 2.0,
                34.0 + 14.0 * k as f64,
                esc(note)
            );
        }
        if !legend.is_empty() {
            let lw = 24.0
                + legend
                    .iter()
                    .map(|x| x.name.chars().count() as f64 * 6.6)
                    .fold(0.0, f64::max);
            let lh = 8.0 + 15.0 * legend.len() as f64;
            // the corner whose box covers the fewest points (top right on ties)
            let corners = [
                (left + pw - lw - 8.0, top + 8.0),
                (left + pw - lw - 8.0, top + ph - lh - 8.0),
                (left + 8.0, top + ph - lh - 8.0),
                (left + 8.0, top + 8.0),
            ];
            // reference-line labels sit at the top of their line
            let label_marks: Vec<(f64, f64)> = self
                .vlines
                .iter()
                .filter(|v| !v.label.is_empty())
                .map(|v| (sx(v.x), top + 8.0))
                .collect();
            let covered = |(cx, cy): (f64, f64)| -> usize {
                self.series
                    .iter()
                    .flat_map(|x| x.points.iter())
                    .filter(|p| {
                        let (px, py) = (sx(p.0), sy(p.1));
                        px >= cx - 4.0
                            && px <= cx + lw + 4.0
                            && py >= cy - 4.0
                            && py <= cy + lh + 4.0
                    })
                    .count()
                    + 100
                        * label_marks
                            .iter()
                            .filter(|&&(px, py)| {
                                px >= cx - 60.0
                                    && px <= cx + lw + 60.0
                                    && py >= cy - 4.0
                                    && py <= cy + lh + 4.0
                            })
                            .count()
            };
            let (lx, ly) = corners
                .iter()
                .copied()
                .min_by_key(|c| covered(*c))
                .unwrap_or(corners[0]);
            let _ = writeln!(
                s,
                r##"<rect x="{lx}" y="{ly}" width="{lw}" height="{lh}" fill="white" fill-opacity="0.85" stroke="#ccc"/>"##
            );
            for (k, se) in legend.iter().enumerate() {
                let y = ly + 15.0 + 15.0 * k as f64;
                let dash = se
                    .dash
                    .as_ref()
                    .map(|d| format!(r#" stroke-dasharray="{d}""#))
                    .unwrap_or_default();
                if se.line {
                    let _ = writeln!(
                        s,
                        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{dash}/>"#,
                        lx + 4.0,
                        y - 4.0,
                        lx + 18.0,
                        y - 4.0,
                        se.color
                    );
                } else {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{}" cy="{}" r="3" fill="{}"/>"#,
                        lx + 11.0,
                        y - 4.0,
                        se.color
                    );
                }
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{y}" font-size="11">{}</text>"#,
                    lx + 22.0,
                    esc(&se.name)
                );
            }
        }
    }

    /// Names at the right end of labelled curves, spread apart so that they do not overlap.
    fn draw_end_labels(
        &self,
        s: &mut String,
        sx: &dyn Fn(f64) -> f64,
        sy: &dyn Fn(f64) -> f64,
        right: f64,
        top: f64,
        ph: f64,
    ) {
        let mut ends: Vec<(f64, f64, &Series)> = self
            .series
            .iter()
            .filter(|x| x.end_label)
            .filter_map(|x| {
                let last = x
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .max_by(|a, b| sx(a.0).total_cmp(&sx(b.0)))?;
                Some((sy(last.1), sx(last.0), x))
            })
            .collect();
        ends.sort_by(|a, b| a.0.total_cmp(&b.0));
        let gap = 11.0;
        let mut placed: Vec<f64> = Vec::with_capacity(ends.len());
        for (k, e) in ends.iter().enumerate() {
            let lowest = if k == 0 {
                top + 4.0
            } else {
                placed[k - 1] + gap
            };
            placed.push(e.0.max(lowest));
        }
        // push back up from the bottom edge
        let bottom = top + ph + 4.0;
        for k in (0..placed.len()).rev() {
            let limit = if k + 1 == placed.len() {
                bottom
            } else {
                placed[k + 1] - gap
            };
            placed[k] = placed[k].min(limit);
        }
        for ((y0, x0, se), y) in ends.iter().zip(placed) {
            let _ = writeln!(
                s,
                r#"<path d="M{x0:.2} {y0:.2}L{:.2} {y:.2}" stroke="{}" stroke-width="0.6" fill="none"/><text x="{}" y="{:.2}" font-size="10" fill="{}">{}</text>"#,
                right + 6.0,
                se.color,
                right + 8.0,
                y + 3.5,
                se.color,
                esc(&se.name)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let t = nice_ticks(-7.3, 2.1, 6);
        assert!(t.first().copied().unwrap_or(f64::NAN) >= -7.3);
        assert!(t.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 1e-12));
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(1e-4), "1e-4");
        assert_eq!(fmt_num(-3.0), "-3");
    }

    #[test]
    fn svg_contains_every_series_and_escapes_text() {
        let mut c = Chart {
            title: "a < b & c".into(),
            ..Chart::default()
        };
        c.series
            .push(Series::line("s1", vec![(0.0, 1.0), (1.0, 2.0)], PALETTE[0]));
        let mut lab = Series::line("feat", vec![(0.0, 0.0), (1.0, -1.0)], PALETTE[1]);
        lab.end_label = true;
        c.series.push(lab);
        let svg = Figure::single(c).to_svg();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(svg.contains(">feat</text>"));
        assert!(svg.matches("<path d=\"M").count() >= 2);
    }
}
