//! Phase 2: cleaning, driven entirely by `lab/params.yaml`.
//!
//! Cleaning turns the validated frame into examples a model can learn from:
//! hidden zeros become missing values, chosen columns are dropped, the
//! diagnosis becomes a yes/no label, and rows that are too empty or repeat an
//! earlier row are dropped, each with its reason. It never fills a value:
//! filling (imputation) is learned from the training part only, in
//! `features`, after the split. It never reads the label to decide anything
//! about a feature.
//!
//! Cleaning is deterministic and idempotent: cleaning its own output changes
//! nothing. `rows in = rows out + rows dropped` holds for every hospital.

use std::collections::HashMap;

use polars::prelude::*;
use serde::Serialize;

use crate::data::contract::LABEL;
pub use crate::example::{Example, DISEASE, FEATURES};
use crate::params::CleanParams;

/// Why cleaning dropped a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DropReason {
    TooManyMissing {
        missing: usize,
        features: usize,
        max_share: f64,
    },
    DuplicateOf {
        hospital: String,
        line: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroppedRow {
    pub hospital: String,
    pub line: u32,
    pub reason: DropReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanAccounting {
    pub hospital: String,
    pub rows_in: usize,
    pub rows_out: usize,
    pub dropped: usize,
}

/// The cleaned frame (same columns as the input, less the dropped ones, plus
/// `disease`), the dropped rows with reasons, and the accounting.
#[derive(Debug, Clone)]
pub struct Cleaned {
    pub frame: DataFrame,
    pub dropped: Vec<DroppedRow>,
    pub accounting: Vec<CleanAccounting>,
}

/// Cleans a validated frame (or a frame cleaning already produced).
pub fn clean(frame: &DataFrame, params: &CleanParams) -> PolarsResult<Cleaned> {
    let present = |name: &str| frame.column(name).is_ok();
    let features: Vec<&str> = FEATURES
        .iter()
        .copied()
        .filter(|f| present(f) && !params.drop_columns.iter().any(|d| d == f))
        .collect();
    let dropped_columns: Vec<&str> = params
        .drop_columns
        .iter()
        .map(String::as_str)
        .filter(|c| present(c))
        .collect();

    // Step 1: hidden zeros become nulls, the label becomes yes/no.
    let zero_to_null: Vec<Expr> = params
        .zeros_as_missing
        .iter()
        .filter(|c| features.contains(&c.as_str()))
        .map(|c| {
            when(col(c.as_str()).eq(lit(0)))
                .then(lit(NULL))
                .otherwise(col(c.as_str()))
                .alias(c.as_str())
        })
        .collect();
    let mut lazy = frame.clone().lazy();
    if !dropped_columns.is_empty() {
        lazy = lazy.drop(Selector::ByName {
            names: dropped_columns.iter().map(|c| (*c).into()).collect(),
            strict: false,
        });
    }
    let stepped = lazy
        .with_columns(zero_to_null)
        .with_column(
            col(LABEL)
                .gt_eq(lit(params.positive_from_num))
                .alias(DISEASE),
        )
        .collect()?;

    // Step 2: decide which rows stay, in file order, with a reason for each drop.
    let hospitals: Vec<String> = stepped
        .column("hospital")?
        .str()?
        .iter()
        .map(|h| h.unwrap_or("").to_owned())
        .collect();
    let lines: Vec<u32> = stepped
        .column("line")?
        .u32()?
        .iter()
        .map(|l| l.unwrap_or(0))
        .collect();
    let labels: Vec<bool> = stepped
        .column(DISEASE)?
        .bool()?
        .iter()
        .map(|l| l.unwrap_or(false))
        .collect();
    let mut values: Vec<Vec<Option<f64>>> = Vec::with_capacity(features.len());
    for name in &features {
        let cast = stepped.column(name)?.cast(&DataType::Float64)?;
        values.push(cast.f64()?.iter().collect());
    }

    let mut keep = Vec::with_capacity(stepped.height());
    let mut dropped = Vec::new();
    let mut seen: HashMap<(Vec<Option<u64>>, bool), usize> = HashMap::new();
    for i in 0..stepped.height() {
        let row: Vec<Option<f64>> = values.iter().map(|column| column[i]).collect();
        let missing = row.iter().filter(|v| v.is_none()).count();
        let reason = if !features.is_empty()
            && missing as f64 / features.len() as f64 > params.max_missing_share
        {
            Some(DropReason::TooManyMissing {
                missing,
                features: features.len(),
                max_share: params.max_missing_share,
            })
        } else if params.drop_duplicates {
            // Compare bit patterns, so the check is exact and hashable.
            let key = (row.iter().map(|v| v.map(f64::to_bits)).collect(), labels[i]);
            match seen.get(&key) {
                Some(&first) => Some(DropReason::DuplicateOf {
                    hospital: hospitals[first].clone(),
                    line: lines[first],
                }),
                None => {
                    seen.insert(key, i);
                    None
                }
            }
        } else {
            None
        };
        keep.push(reason.is_none());
        if let Some(reason) = reason {
            dropped.push(DroppedRow {
                hospital: hospitals[i].clone(),
                line: lines[i],
                reason,
            });
        }
    }

    let mask = BooleanChunked::from_slice("keep".into(), &keep);
    let frame = stepped.filter(&mask)?;
    let accounting = account(&hospitals, &keep);
    Ok(Cleaned {
        frame,
        dropped,
        accounting,
    })
}

fn account(hospitals: &[String], keep: &[bool]) -> Vec<CleanAccounting> {
    let mut out: Vec<CleanAccounting> = Vec::new();
    for (hospital, kept) in hospitals.iter().zip(keep) {
        let entry = match out.iter_mut().find(|a| &a.hospital == hospital) {
            Some(entry) => entry,
            None => {
                out.push(CleanAccounting {
                    hospital: hospital.clone(),
                    rows_in: 0,
                    rows_out: 0,
                    dropped: 0,
                });
                out.last_mut().expect("just pushed")
            }
        };
        entry.rows_in += 1;
        if *kept {
            entry.rows_out += 1;
        } else {
            entry.dropped += 1;
        }
    }
    out
}

impl Cleaned {
    /// The cleaned rows as examples for the split and the features.
    pub fn examples(&self) -> PolarsResult<Vec<Example>> {
        let frame = &self.frame;
        let hospitals = frame.column("hospital")?.str()?;
        let lines = frame.column("line")?.u32()?;
        let labels = frame.column(DISEASE)?.bool()?;
        let mut columns: Vec<Option<Vec<Option<f64>>>> = Vec::with_capacity(FEATURES.len());
        for name in FEATURES {
            columns.push(match frame.column(name) {
                Ok(column) => Some(column.cast(&DataType::Float64)?.f64()?.iter().collect()),
                Err(_) => None,
            });
        }
        Ok((0..frame.height())
            .map(|i| Example {
                hospital: hospitals.get(i).unwrap_or("").to_owned(),
                line: lines.get(i).unwrap_or(0),
                features: std::array::from_fn(|f| columns[f].as_ref().and_then(|c| c[i])),
                label: labels.get(i).unwrap_or(false),
            })
            .collect())
    }
}
