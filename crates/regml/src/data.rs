//! Tabular input: a streaming CSV reader with size limits and exact error positions, and the
//! datasets compiled into the library.
//!
//! Every malformed input is an [`Error::Csv`] naming file, line and column: invalid UTF-8,
//! empty cells, missing-value markers such as `NA`, text where a number belongs, NaN and
//! infinities (including overflowing literals such as `1e400`), values larger in magnitude
//! than [`crate::linear::MAX_ABS_VALUE`], ragged rows, duplicate or empty header names. Limits on
//! file size, field length, column count and total cells keep a hostile file from exhausting
//! memory ([`CsvLimits`]).

use crate::{Error, Result};
use ndarray::Array2;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Upper bounds on what the reader accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvLimits {
    /// Largest file in bytes (default 4 GiB).
    pub max_file_bytes: u64,
    /// Longest field in bytes (default 4096).
    pub max_field_bytes: usize,
    /// Most columns (default 1,000,000).
    pub max_columns: usize,
    /// Most cells `rows x columns` (default 500,000,000, i.e. 4 GB of `f64`).
    pub max_cells: usize,
}

impl Default for CsvLimits {
    fn default() -> Self {
        CsvLimits {
            max_file_bytes: 4 << 30,
            max_field_bytes: 4096,
            max_columns: 1_000_000,
            max_cells: 500_000_000,
        }
    }
}

/// One column of a [`Table`].
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Finite numbers.
    Numeric(Vec<f64>),
    /// Raw text (only for columns the caller allowed to be text, e.g. class labels).
    Text(Vec<String>),
}

/// A parsed CSV file: header names and columns.
///
/// A numeric column with a malformed cell keeps the first such error; it is reported (with
/// file, line and column) when the column is used, so unused columns such as identifiers do
/// not prevent loading.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// File name (for messages).
    pub source: String,
    /// Header names in file order.
    pub names: Vec<String>,
    /// Columns in file order.
    pub columns: Vec<Column>,
    /// Line number (1-based) of each data row.
    pub row_lines: Vec<usize>,
    /// First malformed cell of each column: `(line, reason)`.
    pub cell_errors: Vec<Option<(usize, String)>>,
}

impl Table {
    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.row_lines.len()
    }

    /// Index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            let mut shown: Vec<&str> = self.names.iter().take(12).map(|s| s.as_str()).collect();
            if self.names.len() > 12 {
                shown.push("...");
            }
            // a one-column header holding another separator: the file is not comma-separated
            let hint = match self.names.as_slice() {
                [only] => [(';', "semicolons"), ('\t', "tabs"), ('|', "bars")]
                    .into_iter()
                    .find(|(c, _)| only.contains(*c))
                    .map(|(_, what)| {
                        format!("; the header is one column: fields separated by {what}? regml reads comma-separated files")
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            Error::Csv {
                file: self.source.clone(),
                line: 1,
                column: 0,
                reason: format!(
                    "no column named '{name}' (columns: {}){hint}",
                    shown.join(", ")
                ),
            }
        })
    }

    /// An error about the cell of data row `row` and column `column` (both 0-based), naming
    /// this table's file and the cell's line and column in it.
    pub fn cell_error(&self, row: usize, column: usize, reason: impl Into<String>) -> Error {
        Error::Csv {
            file: self.source.clone(),
            line: self.row_lines[row],
            column: column + 1,
            reason: reason.into(),
        }
    }

    /// The numeric values of column `idx`, or an error naming the first malformed cell.
    pub fn numeric(&self, idx: usize) -> Result<Vec<f64>> {
        if let Some((line, reason)) = &self.cell_errors[idx] {
            // the first malformed cell, stored at parse time with its line
            return Err(Error::Csv {
                file: self.source.clone(),
                line: *line,
                column: idx + 1,
                reason: reason.clone(),
            });
        }
        match &self.columns[idx] {
            Column::Numeric(v) => Ok(v.clone()),
            Column::Text(v) => v
                .iter()
                .enumerate()
                .map(|(r, s)| {
                    parse_cell(s).map_err(|e| {
                        self.cell_error(r, idx, format!("{e} (column '{}')", self.names[idx]))
                    })
                })
                .collect(),
        }
    }

    /// The `n_rows x k` matrix of all columns except `exclude`, with their names, in row-major
    /// order (each row contiguous, as a network reads its examples).
    pub fn matrix_without(&self, exclude: &[usize]) -> Result<(Array2<f64>, Vec<String>)> {
        self.without(exclude, false)
    }

    /// [`Self::matrix_without`] in column-major order (each column contiguous): the layout
    /// the linear models read in place, without copying the matrix.
    pub fn columns_without(&self, exclude: &[usize]) -> Result<(Array2<f64>, Vec<String>)> {
        self.without(exclude, true)
    }

    fn without(&self, exclude: &[usize], col_major: bool) -> Result<(Array2<f64>, Vec<String>)> {
        let keep: Vec<usize> = (0..self.names.len())
            .filter(|j| !exclude.contains(j))
            .collect();
        let names = keep.iter().map(|&j| self.names[j].clone()).collect();
        Ok((self.matrix_of_indices(&keep, col_major)?, names))
    }

    /// The matrix of the columns called `names`, in that order (for prediction).
    pub fn matrix_of(&self, names: &[String]) -> Result<Array2<f64>> {
        // one map of the header (names are unique), so that many names cost O(1) each
        let at: std::collections::HashMap<&str, usize> = self
            .names
            .iter()
            .enumerate()
            .map(|(j, n)| (n.as_str(), j))
            .collect();
        let idx: Vec<usize> = names
            .iter()
            .map(|n| {
                at.get(n.as_str())
                    .copied()
                    .map_or_else(|| self.column_index(n), Ok)
            })
            .collect::<Result<_>>()?;
        self.matrix_of_indices(&idx, false)
    }

    fn matrix_of_indices(&self, idx: &[usize], col_major: bool) -> Result<Array2<f64>> {
        use ndarray::ShapeBuilder;
        let mut x = Array2::zeros((self.n_rows(), idx.len()).set_f(col_major));
        for (c, &j) in idx.iter().enumerate() {
            let col = self.numeric(j)?;
            x.column_mut(c)
                .iter_mut()
                .zip(&col)
                .for_each(|(d, s)| *d = *s);
        }
        Ok(x)
    }
}

/// Texts that data files commonly write for a missing value (R's `NA`, SAS's `.`, the UCI
/// repository's `?`, databases' `NULL`, Python's `None`), compared ignoring ASCII case. A
/// numeric cell or a label holding one is reported as missing, not as text or as a class.
const MISSING_MARKERS: [&str; 6] = ["NA", "N/A", "NULL", "None", ".", "?"];

/// The error for a trimmed cell `t` that is one of [`MISSING_MARKERS`].
fn missing_marker(t: &str) -> Option<String> {
    MISSING_MARKERS
        .iter()
        .any(|m| t.eq_ignore_ascii_case(m))
        .then(|| {
            format!(
                "'{t}' marks a missing value, which a fit cannot use: remove the row or impute it"
            )
        })
}

/// Parses one numeric field: finite `f64` only.
pub fn parse_number(s: &str) -> std::result::Result<f64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty cell".into());
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Err(format!("'{t}' (NaN) is not allowed; remove or impute it")),
        Ok(_) => {
            let lower = t.to_ascii_lowercase();
            if lower.contains("inf") {
                Err(format!("'{t}' (infinite) is not allowed"))
            } else {
                Err(format!("'{t}' is out of the range of a 64-bit float"))
            }
        }
        Err(_) => Err(format!("'{t}' is not a number")),
    }
}

/// Parses one data cell: a finite `f64` of magnitude at most
/// [`crate::linear::MAX_ABS_VALUE`] (the fits square and sum the data).
fn parse_cell(s: &str) -> std::result::Result<f64, String> {
    if let Some(reason) = missing_marker(s.trim()) {
        return Err(reason);
    }
    let v = parse_number(s)?;
    if v.abs() > crate::linear::MAX_ABS_VALUE {
        return Err(format!(
            "'{}' is larger in magnitude than {:e}, the largest value a fit accepts (it squares \
             and sums the data); rescale the column",
            s.trim(),
            crate::linear::MAX_ABS_VALUE
        ));
    }
    Ok(v)
}

/// Reads a CSV file with a header row. Columns named in `text_columns` may hold text.
pub fn read_csv(path: &Path, limits: &CsvLimits, text_columns: &[&str]) -> Result<Table> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        context: format!("cannot open {source}"),
        source: e,
    })?;
    if let Ok(meta) = file.metadata() {
        if meta.is_dir() {
            return Err(Error::Csv {
                file: source,
                line: 0,
                column: 0,
                reason: "is a directory".into(),
            });
        }
        if meta.len() > limits.max_file_bytes {
            return Err(Error::Csv {
                file: source,
                line: 0,
                column: 0,
                reason: format!(
                    "file has {} bytes, more than the limit of {}",
                    meta.len(),
                    limits.max_file_bytes
                ),
            });
        }
    }
    parse_csv(file, &source, limits, text_columns)
}

struct Parser<'a> {
    source: &'a str,
    limits: &'a CsvLimits,
    text_columns: &'a [&'a str],
    names: Vec<String>,
    /// Header names seen so far, with their 0-based columns (duplicates found in `O(1)`).
    seen: std::collections::HashMap<String, usize>,
    text: Vec<bool>,
    cell_errors: Vec<Option<(usize, String)>>,
    numeric: Vec<Vec<f64>>,
    texts: Vec<Vec<String>>,
    row_lines: Vec<usize>,
    fields_in_record: usize,
    record_line: usize,
    header_done: bool,
}

impl Parser<'_> {
    fn err(&self, line: usize, column: usize, reason: impl Into<String>) -> Error {
        Error::Csv {
            file: self.source.to_string(),
            line,
            column,
            reason: reason.into(),
        }
    }

    fn field(&mut self, raw: &[u8], line: usize) -> Result<()> {
        let col = self.fields_in_record + 1;
        let s = std::str::from_utf8(raw).map_err(|e| {
            self.err(
                line,
                col,
                format!("invalid UTF-8 (byte {} of the field)", e.valid_up_to() + 1),
            )
        })?;
        if !self.header_done {
            let mut name = s.trim();
            if col == 1 {
                name = name.trim_start_matches('\u{feff}');
            }
            if name.is_empty() {
                return Err(self.err(line, col, "empty column name in the header"));
            }
            if col > self.limits.max_columns {
                return Err(self.err(
                    line,
                    col,
                    format!("more than {} columns", self.limits.max_columns),
                ));
            }
            if let Some(&first) = self.seen.get(name) {
                return Err(self.err(
                    line,
                    col,
                    format!("duplicate column name '{name}' (also column {})", first + 1),
                ));
            }
            self.seen.insert(name.to_string(), col - 1);
            self.text.push(self.text_columns.contains(&name));
            self.names.push(name.to_string());
        } else {
            if col > self.names.len() {
                return Err(self.err(
                    line,
                    col,
                    format!("row has more fields than the header ({})", self.names.len()),
                ));
            }
            let j = col - 1;
            if self.text[j] {
                let t = s.trim();
                if t.is_empty() {
                    return Err(self.err(line, col, "empty cell"));
                }
                if let Some(reason) = missing_marker(t) {
                    return Err(self.err(line, col, reason));
                }
                self.texts[j].push(t.to_string());
            } else {
                match parse_cell(s) {
                    Ok(v) => self.numeric[j].push(v),
                    Err(r) => {
                        if self.cell_errors[j].is_none() {
                            let reason = format!("{r} (column '{}')", self.names[j]);
                            self.cell_errors[j] = Some((line, reason));
                        }
                        self.numeric[j].push(f64::NAN);
                    }
                }
            }
        }
        self.fields_in_record += 1;
        Ok(())
    }

    fn end_record(&mut self, line: usize) -> Result<()> {
        if !self.header_done {
            self.header_done = true;
            let m = self.names.len();
            self.numeric = vec![Vec::new(); m];
            self.texts = vec![Vec::new(); m];
            self.cell_errors = vec![None; m];
        } else {
            if self.fields_in_record != self.names.len() {
                return Err(self.err(
                    line,
                    self.fields_in_record,
                    format!(
                        "row has {} fields, the header has {}",
                        self.fields_in_record,
                        self.names.len()
                    ),
                ));
            }
            self.row_lines.push(self.record_line);
            if self.row_lines.len().saturating_mul(self.names.len()) > self.limits.max_cells {
                return Err(self.err(
                    line,
                    0,
                    format!("more than {} cells", self.limits.max_cells),
                ));
            }
        }
        self.fields_in_record = 0;
        Ok(())
    }
}

/// Appends `bytes` to the current field, enforcing the field-length limit.
fn push_limited(field: &mut Vec<u8>, bytes: &[u8], p: &Parser<'_>, line: usize) -> Result<()> {
    if field.len() + bytes.len() > p.limits.max_field_bytes {
        return Err(p.err(
            line,
            p.fields_in_record + 1,
            format!("field longer than {} bytes", p.limits.max_field_bytes),
        ));
    }
    field.extend_from_slice(bytes);
    Ok(())
}

/// Length of the leading run of `bytes` that holds no line end, no quote and no `stop`.
fn plain_run(bytes: &[u8], stop: u8) -> usize {
    bytes
        .iter()
        .position(|&b| b == stop || b == b'"' || b == b'\n')
        .unwrap_or(bytes.len())
}

/// Parses CSV from any reader (see [`read_csv`]).
pub fn parse_csv<R: Read>(
    reader: R,
    source: &str,
    limits: &CsvLimits,
    text_columns: &[&str],
) -> Result<Table> {
    let mut rd = BufReader::with_capacity(1 << 16, reader);
    let mut p = Parser {
        source,
        limits,
        text_columns,
        names: Vec::new(),
        seen: std::collections::HashMap::new(),
        text: Vec::new(),
        cell_errors: Vec::new(),
        numeric: Vec::new(),
        texts: Vec::new(),
        row_lines: Vec::new(),
        fields_in_record: 0,
        record_line: 1,
        header_done: false,
    };
    let mut field: Vec<u8> = Vec::with_capacity(64);
    let mut line = 1usize;
    let mut in_quotes = false;
    let mut quote_pending = false; // saw a quote inside a quoted field
    let mut was_quoted = false;
    let mut record_empty = true; // nothing on this record yet
    let mut total: u64 = 0;
    loop {
        let buf = rd.fill_buf().map_err(|e| Error::Io {
            context: format!("cannot read {source}"),
            source: e,
        })?;
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        total += len as u64;
        if total > limits.max_file_bytes {
            return Err(p.err(
                line,
                0,
                format!("input exceeds the limit of {} bytes", limits.max_file_bytes),
            ));
        }
        let mut i = 0;
        while i < len {
            let c = buf[i];
            i += 1;
            if in_quotes {
                if quote_pending {
                    quote_pending = false;
                    if c == b'"' {
                        push_limited(&mut field, b"\"", &p, line)?;
                        continue;
                    }
                    in_quotes = false; // closing quote; fall through to normal handling
                } else if c == b'"' {
                    quote_pending = true;
                    continue;
                } else {
                    if c == b'\n' {
                        line += 1;
                        push_limited(&mut field, &buf[i - 1..i], &p, line)?;
                    } else {
                        // the run of bytes up to the next quote or line end
                        let end = i + plain_run(&buf[i..], b'"');
                        push_limited(&mut field, &buf[i - 1..end], &p, line)?;
                        i = end;
                    }
                    continue;
                }
            }
            match c {
                b',' => {
                    p.field(&field, line)?;
                    field.clear();
                    was_quoted = false;
                    record_empty = false;
                }
                b'\n' => {
                    if field.last() == Some(&b'\r') {
                        field.pop();
                    }
                    if !(record_empty && field.is_empty() && !was_quoted) {
                        p.field(&field, line)?;
                        p.end_record(line)?;
                    }
                    field.clear();
                    was_quoted = false;
                    record_empty = true;
                    line += 1;
                    p.record_line = line;
                }
                b'"' if field.is_empty() && !was_quoted => {
                    in_quotes = true;
                    was_quoted = true;
                    record_empty = false;
                }
                _ => {
                    if was_quoted {
                        if c != b'\r' {
                            return Err(p.err(
                                line,
                                p.fields_in_record + 1,
                                "text after the closing quote of a field",
                            ));
                        }
                        push_limited(&mut field, &buf[i - 1..i], &p, line)?;
                    } else {
                        // the run of bytes up to the next separator, quote or line end
                        let end = i + plain_run(&buf[i..], b',');
                        push_limited(&mut field, &buf[i - 1..end], &p, line)?;
                        i = end;
                    }
                    record_empty = false;
                }
            }
        }
        rd.consume(len);
    }
    if in_quotes && !quote_pending {
        return Err(p.err(line, p.fields_in_record + 1, "unterminated quoted field"));
    }
    if !(record_empty && field.is_empty()) {
        if field.last() == Some(&b'\r') {
            field.pop();
        }
        p.field(&field, line)?;
        p.end_record(line)?;
    }
    if !p.header_done {
        return Err(p.err(1, 0, "empty file: expected a header row"));
    }
    if p.row_lines.is_empty() {
        return Err(p.err(2, 0, "no data rows after the header"));
    }
    let columns = p
        .text
        .iter()
        .enumerate()
        .map(|(j, &t)| {
            if t {
                Column::Text(std::mem::take(&mut p.texts[j]))
            } else {
                Column::Numeric(std::mem::take(&mut p.numeric[j]))
            }
        })
        .collect();
    Ok(Table {
        source: source.to_string(),
        names: p.names,
        columns,
        row_lines: p.row_lines,
        cell_errors: p.cell_errors,
    })
}

/// A dataset compiled into the library.
#[derive(Clone, Copy, Debug)]
pub struct DatasetInfo {
    /// Name used by `--dataset`.
    pub name: &'static str,
    /// Name of the target column.
    pub target: &'static str,
    /// The family it suits.
    pub family: crate::Family,
    /// One-line description with attribution.
    pub description: &'static str,
    bytes: &'static [u8],
}

/// The embedded datasets (see `crates/regml/data/README.md` for sources and licenses).
pub const DATASETS: &[DatasetInfo] = &[
    DatasetInfo {
        name: "diabetes",
        target: "progression",
        family: crate::Family::Gaussian,
        description: "442 patients x 10 baseline variables, disease progression after one year \
                      (Efron, Hastie, Johnstone, Tibshirani 2004)",
        bytes: include_bytes!("../data/diabetes.csv.gz"),
    },
    DatasetInfo {
        name: "breast_cancer",
        target: "benign",
        family: crate::Family::Binomial,
        description: "569 tumours x 30 image features, benign (1) or malignant (0) \
                      (Breast Cancer Wisconsin Diagnostic, UCI)",
        bytes: include_bytes!("../data/breast_cancer.csv.gz"),
    },
    DatasetInfo {
        name: "digits",
        target: "digit",
        family: crate::Family::Binomial,
        description: "1797 handwritten digits x 64 pixels (8x8, counts 0-16), labels 0-9 \
                      (Optical Recognition of Handwritten Digits, UCI); binomial use needs a \
                      positive class",
        bytes: include_bytes!("../data/digits.csv.gz"),
    },
];

/// Looks up an embedded dataset by name.
pub fn dataset_info(name: &str) -> Result<&'static DatasetInfo> {
    DATASETS.iter().find(|d| d.name == name).ok_or_else(|| {
        let names: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
        Error::param(
            "dataset",
            name,
            format!("unknown; available: {}", names.join(", ")),
        )
    })
}

/// Loads an embedded dataset as a [`Table`] (target column last).
pub fn dataset(name: &str) -> Result<Table> {
    let info = dataset_info(name)?;
    let gz = flate2::read::GzDecoder::new(info.bytes);
    parse_csv(gz, info.name, &CsvLimits::default(), &[])
}

/// An embedded dataset as numbers: the features (`n x p`, column-major), its target column
/// and the feature names.
pub fn dataset_xy(name: &str) -> Result<(Array2<f64>, Vec<f64>, Vec<String>)> {
    let info = dataset_info(name)?;
    let t = dataset(name)?;
    let target = t.column_index(info.target)?;
    let (x, names) = t.columns_without(&[target])?;
    Ok((x, t.numeric(target)?, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses and then reads every column, as a caller using all of them would.
    fn parse(s: &[u8]) -> Result<Table> {
        let t = parse_csv(s, "t.csv", &CsvLimits::default(), &["label"])?;
        for j in 0..t.names.len() {
            if matches!(t.columns[j], Column::Numeric(_)) {
                t.numeric(j)?;
            }
        }
        Ok(t)
    }

    fn pos(e: Error) -> (usize, usize, String) {
        match e {
            Error::Csv {
                line,
                column,
                reason,
                ..
            } => (line, column, reason),
            other => panic!("not a CSV error: {other}"),
        }
    }

    #[test]
    fn parses_quotes_crlf_and_bom() {
        let t = parse(b"\xef\xbb\xbfa,\"b\"\"x\",label\r\n1,2,yes\r\n\"3\",4e1,no\r\n").unwrap();
        assert_eq!(t.names, vec!["a", "b\"x", "label"]);
        assert_eq!(t.numeric(1).unwrap(), vec![2.0, 40.0]);
        assert_eq!(t.columns[2], Column::Text(vec!["yes".into(), "no".into()]));
        assert_eq!(t.row_lines, vec![2, 3]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases: &[(&[u8], usize, usize, &str)] = &[
            (b"a,b\n1,2\n3,NaN\n", 3, 2, "NaN"),
            (b"a,b\n1,inf\n", 2, 2, "infinite"),
            (b"a,b\n1,1e400\n", 2, 2, "range"),
            (
                b"a,b\n1,2\n3,-1.5e150\n",
                3,
                2,
                "larger in magnitude than 1e150",
            ),
            (b"a,b\n1,\n", 2, 2, "empty cell"),
            (b"a,b\n1,2,3\n", 2, 3, "more fields"),
            (b"a,b\n1\n", 2, 1, "1 fields"),
            (b"a,b\n1,x2\n", 2, 2, "not a number"),
            (b"a,b\n1,NA\n", 2, 2, "'NA' marks a missing value"),
            (b"a,b\nn/a,1\n", 2, 1, "'n/a' marks a missing value"),
            (b"a,b\n1,2\n?,1\n", 3, 1, "'?' marks a missing value"),
            (b"a,b\n1,\xff\n", 2, 2, "UTF-8"),
            (b"a,a\n1,2\n", 1, 2, "duplicate"),
            (b"", 1, 0, "empty file"),
            (b"a,b\n", 2, 0, "no data rows"),
            (b"a,b\n1,\"2\n", 3, 2, "unterminated"),
        ];
        for (input, line, col, what) in cases {
            let (l, c, r) = pos(parse(input).unwrap_err());
            assert_eq!((l, c), (*line, *col), "{r}");
            assert!(r.contains(what), "'{r}' should mention '{what}'");
        }
    }

    #[test]
    fn missing_labels_are_errors_not_classes() {
        let labels = |bytes: &[u8]| parse_csv(bytes, "t", &CsvLimits::default(), &["y"]);
        let (l, c, r) = pos(labels(b"a,y\n1,yes\n2,NA\n3,no\n").unwrap_err());
        assert_eq!((l, c), (3, 2));
        assert!(r.contains("'NA' marks a missing value"), "{r}");
        // a label that only contains a marker is a label
        let t = labels(b"a,y\n1,NAB\n2,no\n").unwrap();
        assert_eq!(t.columns[1], Column::Text(vec!["NAB".into(), "no".into()]));
    }

    #[test]
    fn values_up_to_the_largest_magnitude_are_read() {
        let t = parse_csv(&b"a,b\n1e150,-1e150\n"[..], "t", &CsvLimits::default(), &[]).unwrap();
        assert_eq!(t.numeric(0).unwrap(), vec![1e150]);
        assert_eq!(t.numeric(1).unwrap(), vec![-1e150]);
    }

    #[test]
    fn bad_cells_in_unused_columns_do_not_block_loading() {
        let t = parse_csv(&b"id,a\nx1,1\nx2,2\n"[..], "t", &CsvLimits::default(), &[]).unwrap();
        assert_eq!(t.numeric(1).unwrap(), vec![1.0, 2.0]);
        let (l, c, r) = pos(t.numeric(0).unwrap_err());
        assert_eq!((l, c), (2, 1));
        assert!(r.contains("'x1' is not a number"));
    }

    #[test]
    fn limits_are_enforced() {
        let limits = CsvLimits {
            max_field_bytes: 8,
            max_cells: 4,
            ..CsvLimits::default()
        };
        let e = parse_csv(&b"a,b\n123456789,1\n"[..], "t", &limits, &[]).unwrap_err();
        assert!(pos(e).2.contains("longer"));
        let e = parse_csv(&b"a,b\n1,2\n3,4\n5,6\n"[..], "t", &limits, &[]).unwrap_err();
        assert!(pos(e).2.contains("cells"));
    }

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let k = self.step.min(buf.len()).min(self.data.len());
            buf[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }

    #[test]
    fn input_split_anywhere_parses_as_input_read_whole() {
        let limits = CsvLimits {
            max_field_bytes: 8,
            ..CsvLimits::default()
        };
        let inputs: &[&[u8]] = &[
            b"\xef\xbb\xbfa,\"b,\"\"x\",label\r\n1,\"2\",yes\r\n\"3\n\",4e1,\"n\"\"o\"\r\n",
            b"a,b,label\n12345678,1,ab\"c\n\n2,3,\"x,y\"\n",
            b"a,b\n123456789,1\n",
            b"a,b\n1,\"12345678\"\n",
            b"a,b\n1,\"1234\n56789\"\n",
            b"a,b\n1,\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\n",
            b"a,b\n1,\"2\"x\n",
            b"a,b\n1,\"2\"\r\n3,4",
            b"a,b\n1,\"2\n",
            b"a,b\n1,2\n3,4,5\n",
        ];
        for input in inputs {
            let whole = format!("{:?}", parse_csv(*input, "t", &limits, &["label"]));
            for step in [1, 2, 3, 7] {
                let split = parse_csv(Trickle { data: input, step }, "t", &limits, &["label"]);
                assert_eq!(format!("{split:?}"), whole, "step {step}");
            }
        }
        // the field limit counts every byte of the field's value, escaped quotes included
        let ok = parse_csv(inputs[3], "t", &limits, &[]).unwrap();
        assert_eq!(ok.numeric(1).unwrap(), vec![12345678.0]);
        for bad in [inputs[2], inputs[4], inputs[5]] {
            let e = parse_csv(bad, "t", &limits, &[]).unwrap_err();
            assert!(pos(e).2.contains("longer than 8 bytes"));
        }
        let t = parse_csv(inputs[1], "t", &limits, &["label"]).unwrap();
        assert_eq!(
            t.columns[2],
            Column::Text(vec!["ab\"c".into(), "x,y".into()])
        );
    }

    #[test]
    fn embedded_datasets_load() {
        for d in DATASETS {
            let t = dataset(d.name).unwrap();
            assert_eq!(t.names.last().unwrap(), d.target);
        }
        assert_eq!(dataset("diabetes").unwrap().n_rows(), 442);
        assert_eq!(dataset("digits").unwrap().names.len(), 65);
        let (x, y, names) = dataset_xy("breast_cancer").unwrap();
        assert_eq!((x.dim(), y.len(), names.len()), ((569, 30), 569, 30));
        assert!(!names.iter().any(|n| n == "benign"));
    }
}
