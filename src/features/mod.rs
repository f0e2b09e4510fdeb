//! Phase 4: the preprocessing pipeline, fitted on the training part only.
//!
//! It plays the roles of scikit-learn's `Pipeline` and `ColumnTransformer`:
//! each numeric column is imputed (optionally with a "was missing" input)
//! and then standardised; each categorical column is imputed and one-hot
//! encoded; the hospital may be one-hot encoded too. Every number it uses
//! (fill values, means, standard deviations, the categories) is learned in
//! [`Pipeline::fit`], which only accepts a [`Part<Train>`].
//!
//! The fitted pipeline is plain data: it serialises with serde and carries
//! [`FEATURE_LOGIC_VERSION`], so an artifact made by other feature code is
//! recognisable. It needs no polars, so the server can use it as it is.
//!
//! A category never seen in training is encoded as all zeros for that
//! column (the model then adds nothing for it) and counted, never a panic.

use serde::{Deserialize, Serialize};

use crate::example::{Example, FEATURES};
use crate::params::{ColumnParams, FeatureParams, Impute};
use crate::split::{Part, Train};

/// Bumped whenever the transform's logic changes (not its fitted numbers),
/// so every artifact says which logic produced its features.
pub const FEATURE_LOGIC_VERSION: u32 = 1;

/// A numeric column's fitted steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericStep {
    pub column: String,
    pub fill: f64,
    pub indicator: bool,
    pub mean: f64,
    pub sd: f64,
}

/// A categorical column's fitted steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalStep {
    pub column: String,
    pub fill: f64,
    /// The codes seen in training, sorted; one output per code.
    pub categories: Vec<f64>,
}

/// The fitted pipeline: everything the transform needs, learned from the
/// training part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    pub feature_logic_version: u32,
    pub numeric: Vec<NumericStep>,
    pub categorical: Vec<CategoricalStep>,
    /// The hospitals seen in training, when the hospital is an input.
    pub hospitals: Option<Vec<String>>,
    /// The name of every output, in order.
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("the training part is empty")]
    Empty,
    #[error("{column}: no value in the training part to learn a {impute} from")]
    NoValues {
        column: String,
        impute: &'static str,
    },
    #[error("{column} is not one of the 13 feature columns")]
    UnknownColumn { column: String },
}

/// Which inputs of one row were unusual. Names are the contract's own
/// (`&'static str`), so noting them costs no allocation per row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformNotes {
    /// Columns whose value was missing (and so filled).
    pub filled: Vec<&'static str>,
    /// Columns whose category was never seen in training (encoded as zeros),
    /// and "hospital" for a hospital never seen, when it is an input.
    pub unseen: Vec<&'static str>,
}

/// Each step's position among the 13 features: found once (per batch, or
/// per loaded model in the server) rather than by name for every row. Only
/// meaningful with the pipeline that made it.
#[derive(Debug, Clone)]
pub struct Resolved {
    numeric: Vec<Option<usize>>,
    categorical: Vec<Option<usize>>,
}

/// The entry point: `Pipeline::fit(params, &split.train)`.
pub struct Pipeline;

fn index_of(column: &str) -> Result<usize, FitError> {
    FEATURES
        .iter()
        .position(|f| *f == column)
        .ok_or_else(|| FitError::UnknownColumn {
            column: column.to_owned(),
        })
}

fn present(rows: &[Example], index: usize) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| r.features[index])
        .filter(|v| v.is_finite())
        .collect()
}

/// Each distinct value with its count, in ascending order. A category has a
/// handful of codes, so a short list beats sorting every row.
fn count_codes(values: &[f64]) -> Vec<(f64, usize)> {
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for &v in values {
        match counts.iter_mut().find(|(code, _)| *code == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    counts.sort_by(|a, b| a.0.total_cmp(&b.0));
    counts
}

/// Learns the fill value of one column from the training values.
fn learn_fill(column: &str, values: &[f64], params: &ColumnParams) -> Result<f64, FitError> {
    let none = |impute| FitError::NoValues {
        column: column.to_owned(),
        impute,
    };
    match params.impute {
        Impute::Constant(value) => Ok(value),
        Impute::Mean => {
            if values.is_empty() {
                return Err(none("mean"));
            }
            Ok(values.iter().sum::<f64>() / values.len() as f64)
        }
        Impute::Median => {
            if values.is_empty() {
                return Err(none("median"));
            }
            // Selection, not a full sort: linear time, which matters at 500,000 rows.
            let mut work = values.to_vec();
            let mid = work.len() / 2;
            let (below, upper, _) = work.select_nth_unstable_by(mid, f64::total_cmp);
            let upper = *upper;
            Ok(if values.len() % 2 == 0 {
                let lower = below
                    .iter()
                    .copied()
                    .max_by(f64::total_cmp)
                    .unwrap_or(upper);
                (lower + upper) / 2.0
            } else {
                upper
            })
        }
        Impute::MostFrequent => {
            // Ties go to the smallest value, so the result never depends on row order.
            let counts = count_codes(values);
            let mut best: Option<(f64, usize)> = None;
            for (value, count) in counts {
                if best.is_none_or(|(_, c)| count > c) {
                    best = Some((value, count));
                }
            }
            best.map(|(value, _)| value)
                .ok_or_else(|| none("most frequent value"))
        }
    }
}

/// Learns a column's fill value from the training rows, and returns it with
/// the column as filled: what the scaling or the categories are learned from.
fn fill_column(
    rows: &[Example],
    column: &str,
    params: &ColumnParams,
) -> Result<(f64, Vec<f64>), FitError> {
    let index = index_of(column)?;
    let fill = learn_fill(column, &present(rows, index), params)?;
    let filled = rows
        .iter()
        .map(|r| r.features[index].filter(|v| v.is_finite()).unwrap_or(fill))
        .collect();
    Ok((fill, filled))
}

impl Pipeline {
    /// Learns every fill value, scale and category from the training part.
    pub fn fit(params: &FeatureParams, train: &Part<Train>) -> Result<FittedPipeline, FitError> {
        let rows = train.rows();
        if rows.is_empty() {
            return Err(FitError::Empty);
        }

        let mut numeric = Vec::new();
        for (column, column_params) in &params.numeric {
            let (fill, filled) = fill_column(rows, column, column_params)?;
            let mean = filled.iter().sum::<f64>() / filled.len() as f64;
            let var = filled.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / filled.len() as f64;
            // A constant column carries no information; scaling by 1 keeps it finite.
            let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
            numeric.push(NumericStep {
                column: column.clone(),
                fill,
                indicator: column_params.indicator,
                mean,
                sd,
            });
        }

        let mut categorical = Vec::new();
        for (column, column_params) in &params.categorical {
            let (fill, filled) = fill_column(rows, column, column_params)?;
            let categories: Vec<f64> = count_codes(&filled).into_iter().map(|(c, _)| c).collect();
            categorical.push(CategoricalStep {
                column: column.clone(),
                fill,
                categories,
            });
        }

        let hospitals = params.hospital_as_feature.then(|| {
            let mut names: Vec<String> = rows.iter().map(|r| r.hospital.clone()).collect();
            names.sort();
            names.dedup();
            names
        });

        let mut outputs = Vec::new();
        for step in &numeric {
            outputs.push(step.column.clone());
            if step.indicator {
                outputs.push(format!("{}_missing", step.column));
            }
        }
        for step in &categorical {
            outputs.extend(
                step.categories
                    .iter()
                    .map(|c| format!("{}={c}", step.column)),
            );
        }
        for hospital in hospitals.iter().flatten() {
            outputs.push(format!("hospital={hospital}"));
        }

        Ok(FittedPipeline {
            feature_logic_version: FEATURE_LOGIC_VERSION,
            numeric,
            categorical,
            hospitals,
            outputs,
        })
    }
}

impl FittedPipeline {
    pub fn width(&self) -> usize {
        self.outputs.len()
    }

    /// Transforms one patient. Non-finite inputs count as missing, so the
    /// output is always finite.
    pub fn transform(
        &self,
        hospital: &str,
        features: &[Option<f64>; 13],
    ) -> (Vec<f64>, TransformNotes) {
        let mut out = Vec::with_capacity(self.width());
        let notes = self.transform_into(hospital, features, &mut out);
        (out, notes)
    }

    /// Appends one patient's outputs to `out`, so a whole part can be
    /// transformed into one buffer without an allocation per row.
    pub fn transform_into(
        &self,
        hospital: &str,
        features: &[Option<f64>; 13],
        out: &mut Vec<f64>,
    ) -> TransformNotes {
        let mut notes = TransformNotes::default();
        self.transform_resolved(&self.resolve(), hospital, features, out, &mut notes);
        notes
    }

    /// Finds each step's column among the 13 features once, instead of by
    /// name for every row.
    pub fn resolve(&self) -> Resolved {
        let find = |name: &str| FEATURES.iter().position(|f| *f == name);
        Resolved {
            numeric: self.numeric.iter().map(|s| find(&s.column)).collect(),
            categorical: self.categorical.iter().map(|s| find(&s.column)).collect(),
        }
    }

    /// Appends one patient's outputs to `out` and its notes to `notes`,
    /// with the positions `resolve` found: what `transform` does, minus
    /// finding them again.
    pub fn transform_resolved(
        &self,
        resolved: &Resolved,
        hospital: &str,
        features: &[Option<f64>; 13],
        out: &mut Vec<f64>,
        notes: &mut TransformNotes,
    ) {
        // A column the contract does not have reads as missing, and is noted
        // under its own name only if it is one of the 13 (otherwise "unknown").
        let value =
            |index: Option<usize>| index.and_then(|i| features[i]).filter(|v| v.is_finite());
        let name = |index: Option<usize>| index.map_or("unknown", |i| FEATURES[i]);

        for (step, &index) in self.numeric.iter().zip(&resolved.numeric) {
            let raw = value(index);
            if raw.is_none() {
                notes.filled.push(name(index));
            }
            out.push((raw.unwrap_or(step.fill) - step.mean) / step.sd);
            if step.indicator {
                out.push(if raw.is_none() { 1.0 } else { 0.0 });
            }
        }
        for (step, &index) in self.categorical.iter().zip(&resolved.categorical) {
            let raw = value(index);
            if raw.is_none() {
                notes.filled.push(name(index));
            }
            let code = raw.unwrap_or(step.fill);
            if !step.categories.contains(&code) {
                notes.unseen.push(name(index));
            }
            out.extend(
                step.categories
                    .iter()
                    .map(|c| if *c == code { 1.0 } else { 0.0 }),
            );
        }
        if let Some(hospitals) = &self.hospitals {
            if !hospitals.iter().any(|h| h == hospital) {
                notes.unseen.push("hospital");
            }
            out.extend(
                hospitals
                    .iter()
                    .map(|h| if h == hospital { 1.0 } else { 0.0 }),
            );
        }
    }

    /// Transforms many rows; row `i` of the result equals `transform` of row `i`.
    pub fn transform_rows(&self, rows: &[Example]) -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| self.transform(&r.hospital, &r.features).0)
            .collect()
    }
}
