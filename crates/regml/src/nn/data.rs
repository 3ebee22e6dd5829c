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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(path: &Path, bytes: &[u8]) {
        let f = std::fs::File::create(path).unwrap();
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    }

    fn idx(magic: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, magic];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_idx_files_and_rejects_damaged_ones() {
        let dir = tempfile::tempdir().unwrap();
        let px: Vec<u8> = (0..3 * 2 * 2).map(|i| i as u8 * 10).collect();
        gz(
            &dir.path().join("train-images-idx3-ubyte.gz"),
            &idx(3, &[3, 2, 2], &px),
        );
        gz(
            &dir.path().join("train-labels-idx1-ubyte.gz"),
            &idx(1, &[3], &[4, 0, 9]),
        );
        let (x, y) = fashion_mnist(Some(dir.path()), Split::Train).unwrap();
        assert_eq!(x.dim(), (3, 4));
        assert_eq!(x[[1, 2]], 60.0);
        assert_eq!(y, vec![4, 0, 9]);
        // the test split is missing: the message says how to install it
        let e = fashion_mnist(Some(dir.path()), Split::Test)
            .unwrap_err()
            .to_string();
        assert!(e.contains("install-data.sh"), "{e}");
        // truncated data, bad magic, label out of range
        let bad = dir.path().join("bad.gz");
        gz(&bad, &idx(3, &[3, 2, 2], &px[..5]));
        assert!(read_idx(&bad)
            .unwrap_err()
            .to_string()
            .contains("need 12 bytes"));
        gz(&bad, &[1, 2, 3, 4, 5]);
        assert!(read_idx(&bad).unwrap_err().to_string().contains("magic"));
        gz(
            &dir.path().join("train-labels-idx1-ubyte.gz"),
            &idx(1, &[3], &[4, 10, 9]),
        );
        let e = fashion_mnist(Some(dir.path()), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 10"), "{e}");
    }
}
