//! Pictures of regularization: coefficient paths, cross-validation curves, training
//! histories and weight histograms, written as SVG (always) or PNG (feature `png`).
//!
//! Charts are plain data ([`Chart`], [`Figure`]) built by the functions of [`charts`] from
//! fitted results; [`save`] writes a figure atomically, choosing the format from the file
//! extension. PNG rendering rasterizes the same SVG with `resvg` at twice the pixel density,
//! using the system's fonts (Debian: `fonts-dejavu-core`, installed by
//! `scripts/install-deps.sh`).

pub mod chart;
pub mod charts;

pub use chart::{Bar, Chart, Figure, Marker, Series, VLine, PALETTE};
pub use charts::{coef_path, cv_curve, history, weight_histograms, PathAxis};

use crate::{Error, Result};
use std::path::Path;

/// Image formats [`save`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics (rasterized SVG).
    Png,
}

impl Format {
    /// The format named by a file's extension (`.svg` or `.png`, any case).
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(Error::InvalidParam {
                name: "plot",
                value: path.display().to_string(),
                reason: "the file name must end in .svg or .png".into(),
            }),
        }
    }
}

/// The figure encoded in `format`.
pub fn encode(figure: &Figure, format: Format) -> Result<Vec<u8>> {
    let svg = figure.to_svg();
    match format {
        Format::Svg => Ok(svg.into_bytes()),
        Format::Png => render_png(&svg, 2.0),
    }
}

/// Writes `figure` to `path` (SVG or PNG by extension) atomically: a temporary file in the
/// same directory, flushed to disk, then renamed over the target.
pub fn save(figure: &Figure, path: &Path) -> Result<()> {
    let bytes = encode(figure, Format::from_path(path)?)?;
    crate::model::write_atomic(path, &bytes)
}

/// Rasterizes an SVG document at `scale` pixels per SVG unit.
#[cfg(feature = "png")]
pub fn render_png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let fail = |reason: String| Error::InvalidData(format!("PNG rendering: {reason}"));
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    if opt.fontdb.is_empty() {
        return Err(fail(
            "no system fonts found; install them with scripts/install-deps.sh \
             (Debian package fonts-dejavu-core) or write .svg instead"
                .into(),
        ));
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| fail(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w.max(1), h.max(1))
        .ok_or_else(|| fail(format!("{w}x{h} pixels")))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| fail(e.to_string()))
}

/// Without the `png` feature PNG output is an error that says how to get it.
#[cfg(not(feature = "png"))]
pub fn render_png(_svg: &str, _scale: f32) -> Result<Vec<u8>> {
    Err(Error::InvalidData(
        "PNG output needs regml built with the `png` feature; write .svg instead".into(),
    ))
}
