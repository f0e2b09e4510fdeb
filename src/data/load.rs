//! Reading the raw files into checked rows, then into one polars frame.
//!
//! The published files are lines of comma-separated numbers with no quoting,
//! so a line is a row. That is why the loader splits lines itself instead of
//! using a CSV reader: it needs each row's line number and raw text for the
//! quarantine, and a CSV reader's quoting rules would let one stray `"` merge
//! many lines into one record and hide rows from the accounting. Polars then
//! holds the checked rows as a frame for everything downstream.
//!
//! # Dialect rules (how a new hospital's file is read)
//!
//! - A UTF-8 byte order mark at the start is skipped. UTF-16 is refused.
//! - Lines end with LF, CRLF or a lone CR; all three give the same rows.
//! - The separator is `;` when the first non-blank line contains a `;`, and
//!   `,` otherwise. With `;`, numbers may use a decimal comma (`0,7`).
//! - The first non-blank line is a header when none of its fields is a number
//!   or `?`. A header must name each of the 14 contract columns exactly once,
//!   in any order; the columns are then read by name.
//! - Blank lines are skipped and counted. Every other line is a row: it is
//!   kept if it passes the contract and quarantined with its reasons if not
//!   (a wrong number of fields, a value that is not a number, an unknown code,
//!   an implausible value, a missing diagnosis, bytes that are not UTF-8).
//!
//! A file that cannot be read by these rules fails with a [`LoadError`] that
//! names the file, the line and the problem.

use std::path::Path;

use polars::prelude::*;

use super::contract::{Kind, Violation, COLUMNS};
use super::fetch::sha256_hex;
use super::hospital::Hospital;
use super::quarantine::{Accounting, QuarantinedRow};

/// Number of columns in the contract, and in every raw row.
pub const WIDTH: usize = COLUMNS.len();

/// Columns the loader adds in front of the 14 contract columns.
pub const PROVENANCE_COLUMNS: [&str; 3] = ["hospital", "line", "file_sha256"];

/// How a file is written, as worked out from its first line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dialect {
    pub separator: char,
    pub decimal_comma: bool,
    pub byte_order_mark: bool,
    pub header: bool,
    /// `LF`, `CRLF`, `CR`, `mixed`, or `none` for a one-line file.
    pub line_ends: &'static str,
    /// For each field position in the file, the contract column it holds.
    pub order: [usize; WIDTH],
}

/// A file-level problem: the file cannot be read by the dialect rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, line {line}: {problem}")]
pub struct LoadError {
    pub file: String,
    pub line: u32,
    pub problem: String,
}

/// A row that passed the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u32,
    /// In contract order; `None` where the file wrote `?`.
    pub values: [Option<f64>; WIDTH],
}

/// One file, read and checked.
#[derive(Debug, Clone)]
pub struct ParsedSource {
    pub source: String,
    pub file: String,
    pub sha256: String,
    pub dialect: Dialect,
    pub rows: Vec<Row>,
    pub quarantined: Vec<QuarantinedRow>,
    pub blank_lines: usize,
}

impl ParsedSource {
    pub fn accounting(&self) -> Accounting {
        Accounting {
            source: self.source.clone(),
            rows_read: self.rows.len() + self.quarantined.len(),
            kept: self.rows.len(),
            quarantined: self.quarantined.len(),
            blank_lines: self.blank_lines,
        }
    }
}

/// Everything the lab loaded: the checked rows as one frame, plus what was
/// refused and the per-source accounting.
#[derive(Debug, Clone)]
pub struct LoadedData {
    pub sources: Vec<ParsedSource>,
    pub frame: DataFrame,
}

impl LoadedData {
    pub fn from_sources(sources: Vec<ParsedSource>) -> PolarsResult<LoadedData> {
        let frame = to_frame(&sources)?;
        Ok(LoadedData { sources, frame })
    }

    pub fn accounting(&self) -> Vec<Accounting> {
        self.sources.iter().map(ParsedSource::accounting).collect()
    }

    pub fn quarantined(&self) -> impl Iterator<Item = &QuarantinedRow> {
        self.sources.iter().flat_map(|s| s.quarantined.iter())
    }
}

/// Errors from loading files from disk.
#[derive(Debug, thiserror::Error)]
pub enum LoadDataError {
    #[error("failed to read {path}: {source} (run `heartlab fetch` first)")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: sha256 {actual} does not match the pinned {expected}; run `heartlab fetch`")]
    NotPinned {
        file: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("failed to build the frame: {0}")]
    Frame(#[from] PolarsError),
}

/// Loads the four published files from `dir`, refusing any whose hash is not
/// the pinned one, so every number downstream is about the same bytes.
pub fn load_hospitals(dir: &Path) -> Result<LoadedData, LoadDataError> {
    let mut sources = Vec::with_capacity(Hospital::ALL.len());
    for hospital in Hospital::ALL {
        let path = dir.join(hospital.file_name());
        let bytes = std::fs::read(&path).map_err(|source| LoadDataError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if actual != hospital.sha256() {
            return Err(LoadDataError::NotPinned {
                file: hospital.file_name().to_owned(),
                expected: hospital.sha256().to_owned(),
                actual,
            });
        }
        sources.push(read_source(hospital.name(), hospital.file_name(), &bytes)?);
    }
    Ok(LoadedData::from_sources(sources)?)
}

/// Loads files that are not pinned (fixtures, a fifth hospital), each under
/// the source name given with it, in the order given.
pub fn load_files(files: &[(&str, &Path)]) -> Result<LoadedData, LoadDataError> {
    let mut sources = Vec::with_capacity(files.len());
    for (source, path) in files {
        let bytes = std::fs::read(path).map_err(|e| LoadDataError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        sources.push(read_source(source, &file, &bytes)?);
    }
    Ok(LoadedData::from_sources(sources)?)
}

/// Reads one file's bytes by the dialect rules in this module's docs.
///
/// Never panics, whatever the bytes: every line becomes a kept row, a
/// quarantined row or a counted blank line, or the whole file fails with a
/// [`LoadError`].
pub fn read_source(source: &str, file: &str, bytes: &[u8]) -> Result<ParsedSource, LoadError> {
    let fail = |line: u32, problem: String| LoadError {
        file: file.to_owned(),
        line,
        problem,
    };

    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(fail(
            1,
            "the file is UTF-16 text; save it as UTF-8".to_owned(),
        ));
    }
    let byte_order_mark = bytes.starts_with(&[0xEF, 0xBB, 0xBF]);
    let body = if byte_order_mark { &bytes[3..] } else { bytes };

    let (blank, filled): (Vec<_>, Vec<_>) =
        split_lines(body).partition(|(_, raw)| raw.iter().all(u8::is_ascii_whitespace));
    let blank_lines = blank.len();
    let mut lines = filled.into_iter();

    let Some((first_number, first_raw)) = lines.next() else {
        return Err(fail(1, "the file has no rows".to_owned()));
    };
    let first_text = String::from_utf8_lossy(first_raw);
    let separator = if first_text.contains(';') { ';' } else { ',' };
    let header = header_order(&first_text, separator).map_err(|p| fail(first_number, p))?;

    let dialect = Dialect {
        separator,
        decimal_comma: separator == ';',
        byte_order_mark,
        header: header.is_some(),
        line_ends: line_ends(body),
        order: header.unwrap_or(std::array::from_fn(|i| i)),
    };

    let mut parsed = ParsedSource {
        source: source.to_owned(),
        file: file.to_owned(),
        sha256: sha256_hex(bytes),
        dialect,
        rows: Vec::new(),
        quarantined: Vec::new(),
        blank_lines,
    };
    let data_lines = std::iter::once((first_number, first_raw))
        .filter(|_| !parsed.dialect.header)
        .chain(lines);
    for (number, raw) in data_lines {
        match check_line(raw, &parsed.dialect) {
            Ok(values) => parsed.rows.push(Row {
                line: number,
                values,
            }),
            Err(reasons) => parsed.quarantined.push(QuarantinedRow {
                source: source.to_owned(),
                file: file.to_owned(),
                line: number,
                raw: String::from_utf8_lossy(raw).into_owned(),
                reasons,
            }),
        }
    }
    Ok(parsed)
}

/// Splits on LF, CRLF or a lone CR, numbering lines from 1. A terminator at
/// the very end does not start another line.
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut rest = bytes;
    let mut number = 0u32;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number = number.saturating_add(1);
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let terminator = match rest.get(end..end + 2) {
            Some(b"\r\n") => 2,
            _ if end < rest.len() => 1,
            _ => 0,
        };
        rest = &rest[end + terminator..];
        Some((number, line))
    })
}

fn line_ends(bytes: &[u8]) -> &'static str {
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
    let lf = bytes.iter().filter(|&&b| b == b'\n').count() - crlf;
    let cr = bytes.iter().filter(|&&b| b == b'\r').count() - crlf;
    match (lf > 0, crlf > 0, cr > 0) {
        (false, false, false) => "none",
        (true, false, false) => "LF",
        (false, true, false) => "CRLF",
        (false, false, true) => "CR",
        _ => "mixed",
    }
}

/// Works out whether the first line is a header, and if so the column order
/// it declares. `Ok(None)` means the line is data.
fn header_order(first: &str, separator: char) -> Result<Option<[usize; WIDTH]>, String> {
    let fields: Vec<&str> = first.split(separator).map(str::trim).collect();
    let looks_like_data = fields.iter().any(|f| {
        let digits = f.trim_start_matches(['-', '+']).replace(',', ".");
        *f == "?" || digits.parse::<f64>().is_ok_and(f64::is_finite)
    });
    if looks_like_data {
        return Ok(None);
    }

    if fields.len() != WIDTH {
        return Err(format!(
            "the header names {} columns, the contract has {WIDTH}",
            fields.len()
        ));
    }
    let mut order = [0usize; WIDTH];
    let mut seen = [false; WIDTH];
    for (position, name) in fields.iter().enumerate() {
        let lower = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
        let Some(index) = COLUMNS.iter().position(|c| c.name == lower) else {
            return Err(format!(
                "the header names {name:?}, which is not a contract column"
            ));
        };
        if seen[index] {
            return Err(format!("the header names {name:?} twice"));
        }
        seen[index] = true;
        order[position] = index;
    }
    Ok(Some(order))
}

/// Checks one line: every field against its column, collecting all reasons.
fn check_line(raw: &[u8], dialect: &Dialect) -> Result<[Option<f64>; WIDTH], Vec<Violation>> {
    let text = std::str::from_utf8(raw).map_err(|_| vec![Violation::NotUtf8])?;
    let fields: Vec<&str> = text.split(dialect.separator).collect();
    if fields.len() != WIDTH {
        return Err(vec![Violation::FieldCount {
            expected: WIDTH,
            found: fields.len(),
        }]);
    }

    let mut values = [None; WIDTH];
    let mut reasons = Vec::new();
    for (position, field) in fields.iter().enumerate() {
        let index = dialect.order[position];
        match COLUMNS[index].check(field, dialect.decimal_comma) {
            Ok(checked) => values[index] = checked.value(),
            Err(reason) => reasons.push(reason),
        }
    }
    if reasons.is_empty() {
        Ok(values)
    } else {
        Err(reasons)
    }
}

/// Builds the frame: provenance columns first, then the contract's columns
/// with the types the contract gives them (Int64 for whole numbers and codes,
/// Float64 for real measurements), nulls where the file wrote `?`.
pub fn to_frame(sources: &[ParsedSource]) -> PolarsResult<DataFrame> {
    let height: usize = sources.iter().map(|s| s.rows.len()).sum();
    let rows = || {
        sources
            .iter()
            .flat_map(|s| s.rows.iter().map(move |r| (s, r)))
    };

    let hospital: Vec<&str> = rows().map(|(s, _)| s.source.as_str()).collect();
    let line: Vec<u32> = rows().map(|(_, r)| r.line).collect();
    let file_sha256: Vec<&str> = rows().map(|(s, _)| s.sha256.as_str()).collect();

    let mut columns = vec![
        Column::new(PROVENANCE_COLUMNS[0].into(), hospital),
        Column::new(PROVENANCE_COLUMNS[1].into(), line),
        Column::new(PROVENANCE_COLUMNS[2].into(), file_sha256),
    ];
    for (index, spec) in COLUMNS.iter().enumerate() {
        let values = rows().map(|(_, r)| r.values[index]);
        let column = match spec.kind {
            // Integer columns passed the contract's whole-number check, so
            // the cast is exact.
            Kind::Integer => Column::new(
                spec.name.into(),
                values.map(|v| v.map(|x| x as i64)).collect::<Vec<_>>(),
            ),
            Kind::Real => Column::new(spec.name.into(), values.collect::<Vec<_>>()),
        };
        columns.push(column);
    }
    DataFrame::new(height, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_the_same_on_lf_crlf_and_cr() {
        let want = vec![(1, &b"a"[..]), (2, &b""[..]), (3, &b"b"[..])];
        for text in [&b"a\n\nb\n"[..], b"a\r\n\r\nb\r\n", b"a\r\rb", b"a\n\r\nb"] {
            let got: Vec<_> = split_lines(text).collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn a_header_in_another_order_is_read_by_name() {
        let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        names.reverse();
        let order = header_order(&names.join(","), ',').unwrap().unwrap();
        assert_eq!(order[0], WIDTH - 1);
        assert_eq!(order[WIDTH - 1], 0);
    }

    #[test]
    fn a_data_line_is_not_a_header() {
        let line = "63,1,1,145,233,1,2,150,0,2.3,3,0,6,0";
        assert_eq!(header_order(line, ','), Ok(None));
    }
}
