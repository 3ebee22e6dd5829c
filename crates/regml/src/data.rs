//! Tabular input: a streaming CSV reader with size limits and exact error positions, and the
//! datasets compiled into the library.
//!
//! Every malformed input is an [`Error::Csv`] naming file, line and column: invalid UTF-8,
//! empty cells, missing-value markers such as `NA`, text where a number belongs, NaN and
//! infinities (including overflowing literals such as `1e400`), values larger in magnitude
//! than [`crate::linear::MAX_ABS_VALUE`], ragged rows, duplicate or empty header names. Limits on
//! file size, field length, column count and total cells keep a hostile file from exhausting
//! memory ([`CsvLimits`]). Blank lines (`\n` or `\r\n` line ends) are skipped, as R's
//! `read.csv` and pandas skip them.

use crate::{Error, Result};
use ndarray::Array2;
use std::io::Read;
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
        self.numeric_values(idx).map(|v| v.into_owned())
    }

    /// [`Self::numeric`], borrowed from the table when the column was read as numbers.
    fn numeric_values(&self, idx: usize) -> Result<std::borrow::Cow<'_, [f64]>> {
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
            Column::Numeric(v) => Ok(std::borrow::Cow::Borrowed(v)),
            Column::Text(v) => v
                .iter()
                .enumerate()
                .map(|(r, s)| {
                    parse_cell(s).map_err(|e| {
                        self.cell_error(r, idx, format!("{e} (column '{}')", self.names[idx]))
                    })
                })
                .collect::<Result<Vec<f64>>>()
                .map(std::borrow::Cow::Owned),
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
            let col = self.numeric_values(j)?;
            x.column_mut(c)
                .iter_mut()
                .zip(col.iter())
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
    parse_trimmed(s.trim())
}

/// [`parse_number`] of a field already trimmed of white space.
fn parse_trimmed(t: &str) -> std::result::Result<f64, String> {
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
    let t = s.trim();
    // no missing-value marker starts with a digit or a sign
    let numeric_start = t
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+');
    if !numeric_start {
        if let Some(reason) = missing_marker(t) {
            return Err(reason);
        }
    }
    let v = parse_trimmed(t)?;
    if v.abs() > crate::linear::MAX_ABS_VALUE {
        return Err(format!(
            "'{t}' is larger in magnitude than {:e}, the largest value a fit accepts (it squares \
             and sums the data); rescale the column",
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

/// What the header fixes: the column names and which columns hold text, with the limits.
struct Schema<'a> {
    source: &'a str,
    limits: &'a CsvLimits,
    text_columns: &'a [&'a str],
    names: Vec<String>,
    /// Header names seen so far, with their 0-based columns (duplicates found in `O(1)`).
    seen: std::collections::HashMap<String, usize>,
    text: Vec<bool>,
}

impl Schema<'_> {
    fn err(&self, line: usize, column: usize, reason: impl Into<String>) -> Error {
        Error::Csv {
            file: self.source.to_string(),
            line,
            column,
            reason: reason.into(),
        }
    }

    /// The error for the row ending at `line` that takes the table past the cells limit.
    fn cells_error(&self, line: usize) -> Error {
        self.err(
            line,
            0,
            format!("more than {} cells", self.limits.max_cells),
        )
    }

    /// The field `raw` (column `col`, 1-based, at `line`) as text.
    fn utf8<'r>(&self, raw: &'r [u8], line: usize, col: usize) -> Result<&'r str> {
        std::str::from_utf8(raw).map_err(|e| {
            self.err(
                line,
                col,
                format!("invalid UTF-8 (byte {} of the field)", e.valid_up_to() + 1),
            )
        })
    }

    /// The header's name `s` of column `col` (1-based).
    fn header_field(&mut self, s: &str, line: usize, col: usize) -> Result<()> {
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
        Ok(())
    }
}

/// Data rows: of the whole file, or of one block of it.
struct Rows {
    /// First malformed cell of each column: `(line, reason)`.
    cell_errors: Vec<Option<(usize, String)>>,
    numeric: Vec<Vec<f64>>,
    texts: Vec<Vec<String>>,
    /// Line of each row's start.
    row_lines: Vec<usize>,
}

impl Rows {
    /// No rows yet of the columns of `schema`, with room for `rows` of them.
    fn new(schema: &Schema<'_>, rows: usize) -> Self {
        let room = |text: bool| if text { rows } else { 0 };
        Rows {
            cell_errors: vec![None; schema.names.len()],
            numeric: schema
                .text
                .iter()
                .map(|&t| Vec::with_capacity(room(!t)))
                .collect(),
            texts: schema
                .text
                .iter()
                .map(|&t| Vec::with_capacity(room(t)))
                .collect(),
            row_lines: Vec::with_capacity(rows),
        }
    }

    /// The data field `s` of column `col` (1-based) at `line`.
    fn field(&mut self, schema: &Schema<'_>, s: &str, line: usize, col: usize) -> Result<()> {
        if col > schema.names.len() {
            return Err(schema.err(
                line,
                col,
                format!(
                    "row has more fields than the header ({})",
                    schema.names.len()
                ),
            ));
        }
        let j = col - 1;
        if schema.text[j] {
            let t = s.trim();
            if t.is_empty() {
                return Err(schema.err(line, col, "empty cell"));
            }
            if let Some(reason) = missing_marker(t) {
                return Err(schema.err(line, col, reason));
            }
            self.texts[j].push(t.to_string());
        } else {
            match parse_cell(s) {
                Ok(v) => self.numeric[j].push(v),
                Err(r) => {
                    if self.cell_errors[j].is_none() {
                        let reason = format!("{r} (column '{}')", schema.names[j]);
                        self.cell_errors[j] = Some((line, reason));
                    }
                    self.numeric[j].push(f64::NAN);
                }
            }
        }
        Ok(())
    }

    /// The end at `line` of a record of `fields` fields that began at `record_line`.
    fn end_record(
        &mut self,
        schema: &Schema<'_>,
        line: usize,
        record_line: usize,
        fields: usize,
    ) -> Result<()> {
        let m = schema.names.len();
        if fields != m {
            return Err(schema.err(
                line,
                fields,
                format!("row has {fields} fields, the header has {m}"),
            ));
        }
        self.row_lines.push(record_line);
        Ok(())
    }

    /// Appends the rows of `next`, which follow these in the file.
    fn append(&mut self, next: Rows) {
        for (a, b) in self.numeric.iter_mut().zip(next.numeric) {
            a.extend_from_slice(&b);
        }
        for (a, b) in self.texts.iter_mut().zip(next.texts) {
            a.extend(b);
        }
        for (a, b) in self.cell_errors.iter_mut().zip(next.cell_errors) {
            if a.is_none() {
                *a = b;
            }
        }
        self.row_lines.extend_from_slice(&next.row_lines);
    }

    /// The error for the row that takes the table past `limits.max_cells`, if any: at the
    /// line of that row, as the reader reports it on reaching it (for rows of one line each).
    fn cells_limit(&self, schema: &Schema<'_>) -> Result<()> {
        let m = schema.names.len().max(1);
        let allowed = schema.limits.max_cells / m;
        match self.row_lines.get(allowed) {
            Some(&line) => Err(schema.cells_error(line)),
            None => Ok(()),
        }
    }
}

/// Where the scanner delivers fields and records.
trait Sink<'a> {
    fn schema(&self) -> &Schema<'a>;
    /// Field `col` (1-based) of the current record, at `line`.
    fn field(&mut self, raw: &[u8], line: usize, col: usize) -> Result<()>;
    /// The end at `line` of a record of `fields` fields that began at `record_line`.
    fn end_record(&mut self, line: usize, record_line: usize, fields: usize) -> Result<()>;
}

/// The whole file: its header, then its rows.
struct Parser<'a> {
    schema: Schema<'a>,
    header_done: bool,
    rows: Rows,
}

impl<'a> Sink<'a> for Parser<'a> {
    fn schema(&self) -> &Schema<'a> {
        &self.schema
    }

    fn field(&mut self, raw: &[u8], line: usize, col: usize) -> Result<()> {
        let s = self.schema.utf8(raw, line, col)?;
        if self.header_done {
            self.rows.field(&self.schema, s, line, col)
        } else {
            self.schema.header_field(s, line, col)
        }
    }

    fn end_record(&mut self, line: usize, record_line: usize, fields: usize) -> Result<()> {
        if !self.header_done {
            self.header_done = true;
            self.rows = Rows::new(&self.schema, 0);
            return Ok(());
        }
        self.rows
            .end_record(&self.schema, line, record_line, fields)?;
        let cells = self
            .rows
            .row_lines
            .len()
            .saturating_mul(self.schema.names.len());
        if cells > self.schema.limits.max_cells {
            return Err(self.schema.cells_error(line));
        }
        Ok(())
    }
}

/// A block of whole records after the header, read apart from the others.
struct Block<'s, 'a> {
    schema: &'s Schema<'a>,
    rows: Rows,
}

impl<'a> Sink<'a> for Block<'_, 'a> {
    fn schema(&self) -> &Schema<'a> {
        self.schema
    }

    fn field(&mut self, raw: &[u8], line: usize, col: usize) -> Result<()> {
        let s = self.schema.utf8(raw, line, col)?;
        self.rows.field(self.schema, s, line, col)
    }

    fn end_record(&mut self, line: usize, record_line: usize, fields: usize) -> Result<()> {
        // the cells limit is checked when the block joins the rows before it
        self.rows.end_record(self.schema, line, record_line, fields)
    }
}

/// The CSV state machine (RFC 4180 quoting; a line end is `\n` or `\r\n`): splits bytes into
/// fields and records, counting lines.
struct Scanner {
    /// The current field's bytes when it spans reads or holds quotes.
    field: Vec<u8>,
    line: usize,
    /// Line of the current record's start.
    record_line: usize,
    /// Fields of the current record delivered so far.
    fields: usize,
    in_quotes: bool,
    /// A quote inside a quoted field: the field's end or the first of an escaped pair.
    quote_pending: bool,
    was_quoted: bool,
    /// Nothing on the current record yet.
    record_empty: bool,
}

impl Scanner {
    fn new(line: usize) -> Self {
        Scanner {
            field: Vec::with_capacity(64),
            line,
            record_line: line,
            fields: 0,
            in_quotes: false,
            quote_pending: false,
            was_quoted: false,
            record_empty: true,
        }
    }

    /// At the start of a record with nothing pending: what follows parses on its own.
    fn at_record_start(&self) -> bool {
        !self.in_quotes && !self.was_quoted && self.record_empty && self.field.is_empty()
    }

    /// The field-length limit for a field of `len` bytes.
    #[inline]
    fn check_len(&self, len: usize, schema: &Schema<'_>) -> Result<()> {
        if len > schema.limits.max_field_bytes {
            return Err(schema.err(
                self.line,
                self.fields + 1,
                format!("field longer than {} bytes", schema.limits.max_field_bytes),
            ));
        }
        Ok(())
    }

    /// Appends `bytes` to the current field, enforcing the field-length limit.
    fn push(&mut self, bytes: &[u8], schema: &Schema<'_>) -> Result<()> {
        self.check_len(self.field.len() + bytes.len(), schema)?;
        self.field.extend_from_slice(bytes);
        Ok(())
    }

    /// Delivers `raw` as the current record's next field.
    fn deliver<'a>(&mut self, raw: &[u8], p: &mut impl Sink<'a>) -> Result<()> {
        p.field(raw, self.line, self.fields + 1)?;
        self.fields += 1;
        Ok(())
    }

    /// Delivers the kept field (`self.field`) and clears it.
    fn deliver_kept<'a>(&mut self, p: &mut impl Sink<'a>) -> Result<()> {
        let kept = std::mem::take(&mut self.field);
        let out = self.deliver(&kept, p);
        self.field = kept;
        self.field.clear();
        out
    }

    /// Ends the current record at a line end.
    fn end_line<'a>(&mut self, p: &mut impl Sink<'a>) -> Result<()> {
        p.end_record(self.line, self.record_line, self.fields)?;
        self.fields = 0;
        Ok(())
    }

    /// Whether the current line, its `\r` removed, holds nothing when `last` is its last
    /// field's bytes: no separator, no byte, no quotes.
    fn blank_line(&self, last: &[u8]) -> bool {
        self.fields == 0 && last.is_empty() && !self.was_quoted
    }

    /// Starts the record after a line end.
    fn next_line(&mut self) {
        self.was_quoted = false;
        self.record_empty = true;
        self.line += 1;
        self.record_line = self.line;
    }

    /// Reads `buf`, the input's next bytes.
    fn feed<'a>(&mut self, buf: &[u8], p: &mut impl Sink<'a>) -> Result<()> {
        let len = buf.len();
        let mut i = 0;
        while i < len {
            let c = buf[i];
            i += 1;
            if self.in_quotes {
                if self.quote_pending {
                    self.quote_pending = false;
                    if c == b'"' {
                        self.push(b"\"", p.schema())?;
                        continue;
                    }
                    self.in_quotes = false; // closing quote; fall through to normal handling
                } else if c == b'"' {
                    self.quote_pending = true;
                    continue;
                } else {
                    if c == b'\n' {
                        self.line += 1;
                        self.push(&buf[i - 1..i], p.schema())?;
                    } else {
                        // the run of bytes up to the next quote or line end
                        let end = i + plain_run(&buf[i..], b'"');
                        self.push(&buf[i - 1..end], p.schema())?;
                        i = end;
                    }
                    continue;
                }
            }
            match c {
                b',' => {
                    self.deliver_kept(p)?;
                    self.was_quoted = false;
                    self.record_empty = false;
                }
                b'\n' => {
                    if self.field.last() == Some(&b'\r') {
                        self.field.pop();
                    }
                    // a line holding nothing, or only `\r`, is blank and skipped
                    if !self.blank_line(&self.field) {
                        self.deliver_kept(p)?;
                        self.end_line(p)?;
                    }
                    self.field.clear();
                    self.next_line();
                }
                b'"' if self.field.is_empty() && !self.was_quoted => {
                    self.in_quotes = true;
                    self.was_quoted = true;
                    self.record_empty = false;
                }
                _ => {
                    if self.was_quoted {
                        if c != b'\r' {
                            return Err(p.schema().err(
                                self.line,
                                self.fields + 1,
                                "text after the closing quote of a field",
                            ));
                        }
                        self.push(&buf[i - 1..i], p.schema())?;
                    } else {
                        // the run of bytes up to the next separator, quote or line end
                        let end = i + plain_run(&buf[i..], b',');
                        if self.field.is_empty() && end < len && buf[end] != b'"' {
                            // the whole field is in the buffer: parsed where it is
                            let raw = &buf[i - 1..end];
                            self.check_len(raw.len(), p.schema())?;
                            i = end + 1;
                            if buf[end] == b',' {
                                self.deliver(raw, p)?;
                                self.record_empty = false;
                            } else {
                                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                                if !self.blank_line(raw) {
                                    self.deliver(raw, p)?;
                                    self.end_line(p)?;
                                }
                                self.next_line();
                            }
                            continue;
                        }
                        self.push(&buf[i - 1..end], p.schema())?;
                        i = end;
                    }
                    self.record_empty = false;
                }
            }
        }
        Ok(())
    }

    /// The end of the input: a last record without a line end.
    fn finish<'a>(&mut self, p: &mut impl Sink<'a>) -> Result<()> {
        if self.in_quotes && !self.quote_pending {
            return Err(p
                .schema()
                .err(self.line, self.fields + 1, "unterminated quoted field"));
        }
        if self.field.last() == Some(&b'\r') {
            self.field.pop();
        }
        if !self.blank_line(&self.field) {
            self.deliver_kept(p)?;
            self.end_line(p)?;
        }
        Ok(())
    }
}

/// Length of the leading run of `bytes` that holds no line end, no quote and no `stop`.
fn plain_run(bytes: &[u8], stop: u8) -> usize {
    bytes
        .iter()
        .position(|&b| b == stop || b == b'"' || b == b'\n')
        .unwrap_or(bytes.len())
}

/// How [`parse_csv`] reads its input.
struct Plan {
    /// Bytes read at a time until the header is read.
    header_read: usize,
    /// Bytes read at a time once the header is read.
    block: usize,
    /// Parts a run of whole records is split into (the threads that read it).
    pieces: usize,
    /// Fewest bytes of a run that is split.
    min_split: usize,
    /// Fewest bytes per column of a run that is split (each part holds a vector per column).
    min_split_per_column: usize,
}

/// Parses CSV from any reader (see [`read_csv`]). Once the header is read, the input comes in
/// blocks of 8 MiB; the whole records of a block (of at least 1 MiB and 64 bytes per column)
/// that holds no quote are split among the threads of the rayon pool (feature `parallel`),
/// each reading its part as the serial reader would, and joined in file order, so the table
/// and the first error are the same as when the input is read in one piece.
pub fn parse_csv<R: Read>(
    reader: R,
    source: &str,
    limits: &CsvLimits,
    text_columns: &[&str],
) -> Result<Table> {
    #[cfg(feature = "parallel")]
    let pieces = rayon::current_num_threads();
    #[cfg(not(feature = "parallel"))]
    let pieces = 1;
    let plan = Plan {
        header_read: 64 << 10,
        block: 8 << 20,
        pieces,
        min_split: 1 << 20,
        min_split_per_column: 64,
    };
    parse_in_blocks(reader, source, limits, text_columns, &plan)
}

/// [`parse_csv`] as `plan` says.
fn parse_in_blocks<R: Read>(
    mut reader: R,
    source: &str,
    limits: &CsvLimits,
    text_columns: &[&str],
    plan: &Plan,
) -> Result<Table> {
    let schema = Schema {
        source,
        limits,
        text_columns,
        names: Vec::new(),
        seen: std::collections::HashMap::new(),
        text: Vec::new(),
    };
    let mut p = Parser {
        rows: Rows::new(&schema, 0),
        schema,
        header_done: false,
    };
    let mut sc = Scanner::new(1);
    let mut buf: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    loop {
        let want = if p.header_done {
            plan.block
        } else {
            plan.header_read
        };
        let want = want.saturating_sub(buf.len()).max(1);
        let got = (&mut reader)
            .take(want as u64)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Io {
                context: format!("cannot read {source}"),
                source: e,
            })?;
        total += got as u64;
        if total > limits.max_file_bytes {
            return Err(p.schema.err(
                sc.line,
                0,
                format!("input exceeds the limit of {} bytes", limits.max_file_bytes),
            ));
        }
        let eof = got < want;
        // what is read now: through the last line end, or all (at the end, or without one)
        let cut = if eof {
            buf.len()
        } else {
            buf.iter()
                .rposition(|&b| b == b'\n')
                .map_or(buf.len(), |k| k + 1)
        };
        let now = &buf[..cut];
        let m = p.schema.names.len();
        let split = plan.pieces > 1
            && p.header_done
            && sc.at_record_start()
            && now.len() >= plan.min_split
            && now.len() >= plan.min_split_per_column.saturating_mul(m)
            && now.ends_with(b"\n")
            && !now.contains(&b'"');
        if split {
            read_split(now, plan.pieces, &mut p, &mut sc)?;
        } else {
            sc.feed(now, &mut p)?;
        }
        buf.drain(..cut);
        if eof {
            break;
        }
    }
    sc.finish(&mut p)?;
    if !p.header_done {
        return Err(p.schema.err(1, 0, "empty file: expected a header row"));
    }
    if p.rows.row_lines.is_empty() {
        return Err(p.schema.err(2, 0, "no data rows after the header"));
    }
    let Parser { schema, rows, .. } = p;
    let columns = schema
        .text
        .iter()
        .zip(rows.numeric.into_iter().zip(rows.texts))
        .map(|(&t, (numeric, texts))| {
            if t {
                Column::Text(texts)
            } else {
                Column::Numeric(numeric)
            }
        })
        .collect();
    Ok(Table {
        source: source.to_string(),
        names: schema.names,
        columns,
        row_lines: rows.row_lines,
        cell_errors: rows.cell_errors,
    })
}

/// Calls of [`read_split`], for the tests to see that it ran.
#[cfg(test)]
static SPLITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Reads `body` (whole records after the header, no quote, ending with a line end, `sc` at a
/// record's start) as up to `pieces` parts split at line ends, on the rayon pool, and joins
/// their rows to `p`'s in order. The first error in file order is returned: a part's own, or
/// the cells limit at the row that reaches it.
fn read_split<'a>(body: &[u8], pieces: usize, p: &mut Parser<'a>, sc: &mut Scanner) -> Result<()> {
    #[cfg(test)]
    SPLITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bounds = vec![0];
    for k in 1..pieces {
        let start = bounds[bounds.len() - 1];
        let target = (body.len() / pieces * k).max(start);
        if let Some(o) = body[target..].iter().position(|&b| b == b'\n') {
            if target + o + 1 < body.len() {
                bounds.push(target + o + 1);
            }
        }
    }
    bounds.push(body.len());
    // each part's line ends: its first line and room for its rows
    let ends: Vec<usize> = bounds
        .windows(2)
        .map(|w| body[w[0]..w[1]].iter().filter(|&&b| b == b'\n').count())
        .collect();
    let mut first = vec![sc.line];
    for e in &ends[..ends.len() - 1] {
        first.push(first[first.len() - 1] + e);
    }
    let schema = &p.schema;
    let parts = crate::kernels::map_indices(ends.len(), body.len(), |k| {
        // room for the part's rows: one per line end, but no more than its bytes can hold (a
        // row takes at least a byte per column), so that a run of blank lines under a wide
        // header reserves no more than the part's size
        let room = ends[k].min((bounds[k + 1] - bounds[k]) / schema.names.len().max(1));
        let mut part = Block {
            schema,
            rows: Rows::new(schema, room),
        };
        let mut s = Scanner::new(first[k]);
        let out = s.feed(&body[bounds[k]..bounds[k + 1]], &mut part);
        (part.rows, out, s.line)
    });
    for (rows, out, line) in parts {
        p.rows.append(rows);
        p.rows.cells_limit(&p.schema)?;
        out?;
        sc.line = line;
    }
    sc.record_line = sc.line;
    Ok(())
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
    fn blank_lines_are_skipped_with_either_line_end() {
        for input in [
            &b"a,b\n\n1,2\n\n3,4\n\n"[..],
            b"a,b\r\n\r\n1,2\r\n\r\n3,4\r\n\r\n",
            b"a,b\r\n1,2\r\n\r\n3,4\r\n\r",
        ] {
            let t = parse(input).unwrap();
            assert_eq!(t.numeric(1).unwrap(), vec![2.0, 4.0]);
            assert_eq!(t.row_lines[1] - t.row_lines[0], 2);
        }
        // a quoted empty field is a field, not a blank line
        let (l, c, r) = pos(parse(b"a,b\r\n1,2\r\n\"\"\r\n").unwrap_err());
        assert_eq!((l, c), (3, 1));
        assert!(r.contains("1 fields"), "{r}");
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
            b"a,b\r\n1,2\r\n\r\n3,4\r\n",
            b"a,b\r\n1,\r\r\n",
            b"a , b\n 1 ,2 \n-3,+4.5e-1\n",
        ];
        for input in inputs {
            let whole = format!("{:?}", parse_csv(*input, "t", &limits, &["label"]));
            for step in [1, 2, 3, 7] {
                for pieces in [1, 2, 3] {
                    let plan = small_plan(step, pieces);
                    let split = parse_in_blocks(
                        Trickle { data: input, step },
                        "t",
                        &limits,
                        &["label"],
                        &plan,
                    );
                    assert_eq!(format!("{split:?}"), whole, "step {step}, {pieces} pieces");
                }
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

    /// Blocks of `block` bytes after a header read in blocks of at most 16, runs of whole
    /// records split into `pieces` parts at any length.
    fn small_plan(block: usize, pieces: usize) -> Plan {
        Plan {
            header_read: block.min(16),
            block,
            pieces,
            min_split: 0,
            min_split_per_column: 0,
        }
    }

    /// 60 rows of a numeric column, a label and another numeric column, `bad(i)` replacing
    /// row `i` when it returns a row; line ends `\r\n` with `crlf`, a blank line after row 30.
    fn rows(crlf: bool, bad: impl Fn(usize) -> Option<&'static [u8]>) -> Vec<u8> {
        let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut out = b"a,label,b".to_vec();
        out.extend_from_slice(end);
        for i in 0..60 {
            match bad(i) {
                Some(row) => out.extend_from_slice(row),
                None => out.extend_from_slice(format!("{i},c{},{}.5e-1", i % 3, 7 * i).as_bytes()),
            }
            out.extend_from_slice(end);
            if i == 30 {
                out.extend_from_slice(end);
            }
        }
        out
    }

    #[test]
    fn records_split_among_threads_read_as_in_one_piece() {
        let limits = CsvLimits {
            max_field_bytes: 12,
            ..CsvLimits::default()
        };
        let cells = CsvLimits {
            max_cells: 3 * 41,
            ..CsvLimits::default()
        };
        let at = |k: usize, row: &'static [u8]| move |i: usize| (i == k).then_some(row);
        let inputs: Vec<(Vec<u8>, &CsvLimits)> = vec![
            (rows(false, |_| None), &limits),
            (rows(true, |_| None), &limits),
            (rows(false, at(44, b"1,x,2,3")), &limits),
            (rows(true, at(7, b"1,x")), &limits),
            (rows(false, at(52, b"1,x,\xff")), &limits),
            (rows(false, at(20, b"1,NA,2")), &limits),
            (rows(false, at(35, b"NA,x,2")), &limits),
            (rows(true, at(58, b"1,x,1234567890123")), &limits),
            (rows(false, at(3, b",x,2")), &limits),
            (
                rows(false, |i| (i % 9 == 4).then_some(&b"1,x,oops"[..])),
                &limits,
            ),
            (rows(false, |_| None), &cells),
            (rows(false, at(50, b"1,x")), &cells),
            (rows(false, at(30, b"1,x")), &cells),
        ];
        let before = SPLITS.load(std::sync::atomic::Ordering::Relaxed);
        for (n, (input, limits)) in inputs.iter().enumerate() {
            let whole =
                parse_in_blocks(&input[..], "t", limits, &["label"], &small_plan(1 << 20, 1));
            let whole = format!("{whole:?}");
            for block in [16, 50, 333, 1 << 20] {
                for pieces in [2, 3, 4] {
                    let plan = small_plan(block, pieces);
                    let split = parse_in_blocks(&input[..], "t", limits, &["label"], &plan);
                    assert_eq!(
                        format!("{split:?}"),
                        whole,
                        "input {n}, block {block}, {pieces}"
                    );
                }
            }
        }
        assert!(SPLITS.load(std::sync::atomic::Ordering::Relaxed) > before);
    }

    #[test]
    fn random_bytes_split_anywhere_read_as_in_one_piece() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // mostly well-formed rows of three fields, with rare quotes, CRs, blank lines,
        // missing-value markers, text and invalid bytes
        let pieces: [&[u8]; 14] = [
            b"1", b"-2.5", b"3e1", b"0", b",", b",", b",", b"\n", b"\r\n", b"\"", b"NA", b"x",
            b" ", b"\xff",
        ];
        let weights = [30, 20, 10, 10, 40, 40, 40, 25, 5, 1, 1, 1, 2, 1];
        let total: u32 = weights.iter().sum();
        let limits = CsvLimits {
            max_field_bytes: 16,
            max_cells: 600,
            ..CsvLimits::default()
        };
        let mut splits = 0;
        for case in 0..300 {
            let mut input = b"a,label,b\n".to_vec();
            let len = rng.random_range(20..600);
            for _ in 0..len {
                let mut r = rng.random_range(0..total);
                let k = weights
                    .iter()
                    .position(|&w| {
                        if r < w {
                            true
                        } else {
                            r -= w;
                            false
                        }
                    })
                    .unwrap_or(0);
                input.extend_from_slice(pieces[k]);
            }
            let whole = format!(
                "{:?}",
                parse_in_blocks(
                    &input[..],
                    "t",
                    &limits,
                    &["label"],
                    &small_plan(1 << 20, 1)
                )
            );
            for block in [5, 64, 257] {
                let before = SPLITS.load(std::sync::atomic::Ordering::Relaxed);
                let plan = small_plan(block, 3);
                let split = parse_in_blocks(&input[..], "t", &limits, &["label"], &plan);
                assert_eq!(format!("{split:?}"), whole, "case {case}, block {block}");
                splits += SPLITS.load(std::sync::atomic::Ordering::Relaxed) - before;
            }
        }
        assert!(splits > 100, "{splits} splits");
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
