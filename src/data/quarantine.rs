//! Rows that break the contract, kept with their reasons, and the accounting
//! that proves none was lost.
//!
//! A quarantined row is never dropped: it keeps its source, line number and
//! raw text, so a person can read why it was refused and fix the source.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::contract::Violation;

/// One refused row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantinedRow {
    /// The hospital (or other source) the row came from.
    pub source: String,
    /// The file's name as it was loaded.
    pub file: String,
    /// 1-based line number in the file.
    pub line: u32,
    /// The line as written (invalid UTF-8 shown with replacement marks).
    pub raw: String,
    /// Every rule the row broke, not just the first.
    pub reasons: Vec<Violation>,
}

impl QuarantinedRow {
    /// The reasons as one readable line.
    pub fn reason_text(&self) -> String {
        self.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Rows in and out for one source. `rows_read = kept + quarantined` always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accounting {
    pub source: String,
    pub rows_read: usize,
    pub kept: usize,
    pub quarantined: usize,
    /// Lines with nothing on them; they are not rows and not counted above.
    pub blank_lines: usize,
}

impl Accounting {
    pub fn balances(&self) -> bool {
        self.rows_read == self.kept + self.quarantined
    }
}

/// Writes quarantined rows as JSON lines, one object per row.
pub fn write_jsonl(rows: &[QuarantinedRow], path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for row in rows {
        serde_json::to_writer(&mut out, row)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
