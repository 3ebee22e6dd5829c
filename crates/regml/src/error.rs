//! The one error type of the library.

use std::path::PathBuf;

/// Everything a caller can get wrong, as structured variants.
///
/// Non-convergence is *not* an error: it is reported in [`crate::FitInfo`] and in the
/// warnings of a fitted path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two arrays whose sizes must agree do not.
    #[error("shape mismatch in {op}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Which operation noticed it.
        op: &'static str,
        /// The expected size, in words.
        expected: String,
        /// The size that was passed.
        got: String,
    },
    /// A parameter is outside its domain.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParam {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// The offending value, printed.
        value: String,
        /// What the valid values are.
        reason: String,
    },
    /// A NaN or infinite value in the input.
    #[error("non-finite value in {what} at row {row}, column {column}")]
    NonFinite {
        /// Which input (`x`, `y`, `weights`, `offset`).
        what: &'static str,
        /// Zero-based row.
        row: usize,
        /// Zero-based column.
        column: usize,
    },
    /// A value larger in magnitude than [`crate::linear::MAX_ABS_VALUE`]: the fits square
    /// and sum the data, and beyond it those sums overflow double precision.
    #[error(
        "{what} at row {row}, column {column} is {value:e}, larger in magnitude than {limit:e} \
         (squares and sums of squares of the data must stay within double precision); \
         rescale it"
    )]
    OutOfRange {
        /// Which input (`x`, `y`, `weights`, `offset`, or `y - offset` for least squares with an
        /// offset).
        what: &'static str,
        /// Zero-based row.
        row: usize,
        /// Zero-based column.
        column: usize,
        /// The value.
        value: f64,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// The data cannot support the requested model (constant target, one class, ...).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A malformed CSV file.
    #[error("{file}:{line}:{column}: {reason}")]
    Csv {
        /// File name as given.
        file: String,
        /// One-based line number.
        line: usize,
        /// One-based column (field) number; 0 when the whole line is at fault.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Training produced a non-finite loss.
    #[error(
        "training diverged: loss is {value} at epoch {epoch}, batch {batch}; \
         lower the learning rate, clip gradients or standardize the inputs"
    )]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// The loss value.
        value: f64,
    },
    /// A model file that cannot be read back.
    #[error("model file {file}: {reason}")]
    ModelFile {
        /// Path of the model file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An operating-system input/output failure. Its message is `context`; the system's
    /// reason is its [`std::error::Error::source`] (shown after it by error reporters that
    /// print the chain).
    #[error("{context}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::InvalidParam`] from displayable parts.
    pub fn param(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Error::InvalidParam {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
