//! The design matrix: exactly what the model sees, one row per patient.
//!
//! A [`Design`] carries the marker of the part it was made from, so the model
//! can only be trained on `Design<Train>` and the threshold only chosen on
//! `Design<Validation>`, as with the parts themselves. Values are stored in
//! one row-major buffer: at 920,000 rows a `Vec` per row would cost a
//! pointer, a length and an allocation each, and a second copy to hand the
//! solver one block of memory.

use std::io::Write;
use std::marker::PhantomData;

use crate::example::Example;
use crate::features::{FittedPipeline, TransformNotes};
use crate::split::Part;

/// Rows of transformed inputs with their labels, from the part `K`.
#[derive(Debug, Clone, PartialEq)]
pub struct Design<K> {
    names: Vec<String>,
    values: Vec<f64>,
    labels: Vec<bool>,
    kind: PhantomData<K>,
}

impl<K> Design<K> {
    /// Builds a design from raw parts. Only the leakage experiments need this,
    /// to add or remove columns on purpose; the lab itself builds designs with
    /// [`FittedPipeline::design`].
    pub fn from_parts_for_experiment(
        names: Vec<String>,
        values: Vec<f64>,
        labels: Vec<bool>,
    ) -> Design<K> {
        assert_eq!(
            values.len(),
            names.len() * labels.len(),
            "a design needs one value per column per row"
        );
        Design {
            names,
            values,
            labels,
            kind: PhantomData,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn width(&self) -> usize {
        self.names.len()
    }

    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn labels(&self) -> &[bool] {
        &self.labels
    }

    /// All values, row after row.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn row(&self, index: usize) -> &[f64] {
        let width = self.width();
        &self.values[index * width..(index + 1) * width]
    }

    pub fn iter_rows(&self) -> impl Iterator<Item = &[f64]> {
        // `chunks_exact(0)` panics; a design with no columns has no row values.
        let width = self.width().max(1);
        self.values.chunks_exact(width)
    }

    /// Hands the buffer to the solver without a copy.
    pub fn into_parts(self) -> (Vec<String>, Vec<f64>, Vec<bool>) {
        (self.names, self.values, self.labels)
    }

    /// Writes the matrix as CSV: a header of the column names plus `disease`,
    /// then one line per row. Floats use Rust's shortest exact form, so
    /// reading the file back gives the very same numbers.
    pub fn write_csv(&self, mut out: impl Write) -> std::io::Result<()> {
        writeln!(out, "{},disease", self.names.join(","))?;
        for (row, label) in self.iter_rows().zip(&self.labels) {
            for value in row {
                write!(out, "{value},")?;
            }
            writeln!(out, "{}", u8::from(*label))?;
        }
        Ok(())
    }
}

/// What transforming a whole part ran into: how often each column was filled
/// or held a category never seen in training.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DesignNotes {
    pub filled: std::collections::BTreeMap<&'static str, usize>,
    pub unseen: std::collections::BTreeMap<&'static str, usize>,
}

impl DesignNotes {
    fn add(&mut self, notes: &TransformNotes) {
        for column in &notes.filled {
            *self.filled.entry(column).or_default() += 1;
        }
        for column in &notes.unseen {
            *self.unseen.entry(column).or_default() += 1;
        }
    }
}

/// The same matrix stored column by column, which is how the solver wants
/// it: ndarray multiplies a transposed row-major matrix by a vector about ten
/// times slower than a column-major one (measured: 200 ms against 20 ms at
/// 550,000 × 32), and the gradient needs exactly that product.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns<K> {
    names: Vec<String>,
    values: Vec<f64>,
    labels: Vec<bool>,
    kind: PhantomData<K>,
}

impl<K> Columns<K> {
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn width(&self) -> usize {
        self.names.len()
    }

    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn labels(&self) -> &[bool] {
        &self.labels
    }

    /// All values, column after column.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn column(&self, index: usize) -> &[f64] {
        let n = self.rows();
        &self.values[index * n..(index + 1) * n]
    }

    /// Every `step`-th row (the first, then every `step` after it): a
    /// deterministic sample of the same kind.
    pub fn every_nth(&self, step: usize) -> Columns<K> {
        let step = step.max(1);
        let mut values = Vec::with_capacity(self.values.len() / step + self.width());
        for j in 0..self.width() {
            values.extend(self.column(j).iter().step_by(step));
        }
        Columns {
            names: self.names.clone(),
            values,
            labels: self.labels.iter().step_by(step).copied().collect(),
            kind: PhantomData,
        }
    }
}

impl<K> From<&Design<K>> for Columns<K> {
    fn from(design: &Design<K>) -> Columns<K> {
        let (n, width) = (design.rows(), design.width());
        let mut values = vec![0.0; n * width];
        for (i, row) in design.iter_rows().enumerate() {
            for (j, v) in row.iter().enumerate() {
                values[j * n + i] = *v;
            }
        }
        Columns {
            names: design.names.clone(),
            values,
            labels: design.labels.clone(),
            kind: PhantomData,
        }
    }
}

impl FittedPipeline {
    /// Transforms a part straight into columns, without a row-major copy
    /// first: at 550,000 rows that copy alone would be 130 MiB.
    pub fn columns<K>(&self, part: &Part<K>) -> Columns<K> {
        let rows = part.rows();
        let (n, width) = (rows.len(), self.width());
        let mut values = vec![0.0; n * width];
        let resolved = self.resolve();
        let mut row_values = Vec::with_capacity(width);
        let mut notes = TransformNotes::default();
        for (i, row) in rows.iter().enumerate() {
            row_values.clear();
            notes.filled.clear();
            notes.unseen.clear();
            self.transform_resolved(
                &resolved,
                &row.hospital,
                &row.features,
                &mut row_values,
                &mut notes,
            );
            for (j, v) in row_values.iter().enumerate() {
                values[j * n + i] = *v;
            }
        }
        Columns {
            names: self.outputs.clone(),
            values,
            labels: rows.iter().map(|r| r.label).collect(),
            kind: PhantomData,
        }
    }

    /// Transforms every row of a part into a design of the same kind.
    pub fn design<K>(&self, part: &Part<K>) -> Design<K> {
        self.design_with_notes(part.rows()).0
    }

    /// Transforms rows, counting fills and unseen categories per column.
    pub fn design_with_notes<K>(&self, rows: &[Example]) -> (Design<K>, DesignNotes) {
        let mut values = Vec::with_capacity(rows.len() * self.width());
        let mut notes = DesignNotes::default();
        let resolved = self.resolve();
        let mut row_notes = TransformNotes::default();
        for row in rows {
            row_notes.filled.clear();
            row_notes.unseen.clear();
            self.transform_resolved(
                &resolved,
                &row.hospital,
                &row.features,
                &mut values,
                &mut row_notes,
            );
            notes.add(&row_notes);
        }
        let labels = rows.iter().map(|r| r.label).collect();
        let design = Design {
            names: self.outputs.clone(),
            values,
            labels,
            kind: PhantomData,
        };
        (design, notes)
    }
}
