//! Data for networks: Fashion-MNIST from IDX files, the embedded digits, class labels.

use crate::{Error, Result};
use ndarray::Array2;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the Debian package `dataset-fashion-mnist` installs the data.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Largest decompressed IDX file accepted (256 MiB).
const MAX_IDX_BYTES: u64 = 1 << 28;

/// Fashion-MNIST class names, in label order (Xiao, Rasul, Vollgraf 2017; MIT license).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Reads one IDX file (optionally gzipped): returns the dimensions and the `u8` data.
/// Only unsigned-byte IDX files (type `0x08`) are accepted.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let bad = |reason: String| Error::InvalidData(format!("{}: {reason}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        context: format!("cannot open {}", path.display()),
        source: e,
    })?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_IDX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_IDX_BYTES {
        return Err(bad(format!("larger than {MAX_IDX_BYTES} bytes")));
    }
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("not an IDX file (bad magic number)".into()));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "IDX element type 0x{:02x} is not unsigned byte",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || bytes.len() < 4 + 4 * ndim {
        return Err(bad("truncated IDX header".into()));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|d| {
            let o = 4 + 4 * d;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("dimensions overflow".into()))?;
    let data = bytes.split_off(4 + 4 * ndim);
    if data.len() != count {
        return Err(bad(format!(
            "dimensions {dims:?} need {count} bytes, the file has {}",
            data.len()
        )));
    }
    Ok((dims, data))
}

/// Which part of Fashion-MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60000 training images.
    Train,
    /// 10000 test images.
    Test,
}

/// Loads Fashion-MNIST from `dir` (default [`FASHION_MNIST_DIR`]): images as rows of 784
/// pixel values 0..255 (unscaled) and labels 0..9.
pub fn fashion_mnist(dir: Option<&Path>, split: Split) -> Result<(Array2<f64>, Vec<u32>)> {
    let dir: PathBuf = dir.map_or_else(|| PathBuf::from(FASHION_MNIST_DIR), Path::to_path_buf);
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let find = |stem: &str| -> Result<PathBuf> {
        for name in [format!("{prefix}-{stem}.gz"), format!("{prefix}-{stem}")] {
            let p = dir.join(name);
            if p.exists() {
                return Ok(p);
            }
        }
        Err(Error::InvalidData(format!(
            "Fashion-MNIST not found: {} has no {prefix}-{stem}[.gz]. Install it with \
             `sudo bash scripts/install-data.sh` (Debian package dataset-fashion-mnist) or \
             point --data-dir at a folder with the IDX files",
            dir.display()
        )))
    };
    let (idims, pixels) = read_idx(&find("images-idx3-ubyte")?)?;
    let (ldims, labels) = read_idx(&find("labels-idx1-ubyte")?)?;
    if idims.len() != 3 || ldims.len() != 1 || idims[0] != ldims[0] {
        return Err(Error::InvalidData(format!(
            "Fashion-MNIST files disagree: images {idims:?}, labels {ldims:?}"
        )));
    }
    let (n, p) = (idims[0], idims[1] * idims[2]);
    if let Some(l) = labels.iter().find(|&&l| l > 9) {
        return Err(Error::InvalidData(format!(
            "Fashion-MNIST label {l} outside 0..9"
        )));
    }
    let x = Array2::from_shape_fn((n, p), |(i, j)| pixels[i * p + j] as f64);
    Ok((x, labels.iter().map(|&l| l as u32).collect()))
}

/// Maps a numeric label column to class indices `0..k` (sorted unique values) and the
/// labels as text. At most `max_classes` classes.
pub fn encode_classes(values: &[f64], max_classes: usize) -> Result<(Vec<u32>, Vec<String>)> {
    let mut uniq: Vec<f64> = values.to_vec();
    uniq.sort_by(f64::total_cmp);
    uniq.dedup();
    if uniq.len() > max_classes {
        return Err(Error::InvalidData(format!(
            "{} distinct target values; classification allows at most {max_classes}",
            uniq.len()
        )));
    }
    if uniq.len() < 2 {
        return Err(Error::InvalidData(
            "the target has a single class; classification needs at least two".into(),
        ));
    }
    let idx = values
        .iter()
        .map(|v| uniq.partition_point(|u| u < v) as u32)
        .collect();
    Ok((idx, uniq.iter().map(|v| v.to_string()).collect()))
}

/// Maps labels back onto a known class list (for evaluation data): a label that is not in
/// `classes` is an error naming the row.
pub fn encode_with(values: &[f64], classes: &[String]) -> Result<Vec<u32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            classes
                .iter()
                .position(|c| *c == v.to_string())
                .map(|k| k as u32)
                .ok_or_else(|| {
                    Error::InvalidData(format!(
                        "row {}: label {v} is not one of the model's classes",
                        i + 1
                    ))
                })
        })
        .collect()
}
