//! The answers to predictions: their documented shape, and the writer that
//! puts them on the wire.
//!
//! The structs below are the shape the OpenAPI document shows and the
//! reference for what is sent. The bytes themselves come from [`Answers`],
//! which writes that one shape by hand: the part that is the same for every
//! answer of a model (its version, feature-logic version and threshold) is
//! written by serde_json once, when the model is loaded, and each answer
//! copies it and adds the request id and the scores. Counted with callgrind,
//! serde_json spent about 4,500 instructions per single answer, most of them
//! escaping the same 64-character model version and the field names again
//! for every request; this writer needs a fraction of that (D-045). A
//! property test holds its bytes equal to serde_json's for any values.

use std::fmt::Write;

use serde::Serialize;
use utoipa::ToSchema;

use crate::json_text::{write_bool, write_f64, write_str};

/// One scored patient.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RowPrediction {
    /// Probability of heart disease, from 0 to 1.
    pub probability: f64,
    /// Whether the probability reaches the artifact's threshold.
    pub label: bool,
    /// Inputs sent as null and filled by the pipeline's learned values.
    pub imputed: Vec<&'static str>,
}

/// The answer to one patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictResponse<'a> {
    pub request_id: &'a str,
    /// The SHA-256 of the model artifact that scored the request.
    pub model_version: &'a str,
    pub feature_logic_version: u32,
    /// The probability from which a patient is flagged.
    pub threshold: f64,
    pub probability: f64,
    pub label: bool,
    pub imputed: Vec<&'static str>,
}

/// The answer to a batch: one prediction per row, in the rows' order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse<'a> {
    pub request_id: &'a str,
    pub model_version: &'a str,
    pub feature_logic_version: u32,
    pub threshold: f64,
    pub predictions: Vec<RowPrediction>,
}

/// The fields every answer of one model shares, in the order the answers
/// list them.
#[derive(Serialize)]
struct ModelFields<'a> {
    model_version: &'a str,
    feature_logic_version: u32,
    threshold: f64,
}

/// Writes the answers of one loaded model.
#[derive(Debug, Clone)]
pub struct Answers {
    /// `,"model_version":"…","feature_logic_version":1,"threshold":0.4`,
    /// as serde_json wrote it.
    model_fields: String,
}

/// Enough for a single answer with every input imputed, so the buffer is
/// allocated once.
const SINGLE_CAPACITY: usize = 512;

/// About what one row of a batch takes with a few inputs imputed.
const ROW_CAPACITY: usize = 80;

impl Answers {
    pub fn new(model_version: &str, feature_logic_version: u32, threshold: f64) -> Answers {
        let fields = ModelFields {
            model_version,
            feature_logic_version,
            threshold,
        };
        // A struct of a string and two numbers always serialises.
        let object = serde_json::to_string(&fields).unwrap_or_default();
        let inside = object
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or_default();
        Answers {
            model_fields: format!(",{inside}"),
        }
    }

    /// The bytes of a [`PredictResponse`]. Never inlined, so that
    /// `server/bench/instructions.py` can count it.
    #[inline(never)]
    pub fn single(&self, request_id: &str, row: &RowPrediction) -> Vec<u8> {
        let mut out = String::with_capacity(SINGLE_CAPACITY);
        self.open(&mut out, request_id);
        out.push(',');
        // Writing into a String cannot fail.
        let _ = write_row_fields(&mut out, row);
        out.push('}');
        out.into_bytes()
    }

    /// The bytes of a [`BatchResponse`].
    pub fn batch(&self, request_id: &str, rows: &[RowPrediction]) -> Vec<u8> {
        let mut out = String::with_capacity(SINGLE_CAPACITY + ROW_CAPACITY * rows.len());
        self.open(&mut out, request_id);
        out.push_str(",\"predictions\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            let _ = write_row_fields(&mut out, row);
            out.push('}');
        }
        out.push_str("]}");
        out.into_bytes()
    }

    /// `{"request_id":"…"` and the model's fields.
    fn open(&self, out: &mut String, request_id: &str) {
        out.push_str("{\"request_id\":");
        let _ = write_str(out, request_id);
        out.push_str(&self.model_fields);
    }
}

/// `"probability":…,"label":…,"imputed":[…]`.
fn write_row_fields(out: &mut String, row: &RowPrediction) -> std::fmt::Result {
    out.push_str("\"probability\":");
    write_f64(out, row.probability)?;
    out.push_str(",\"label\":");
    write_bool(out, row.label)?;
    out.push_str(",\"imputed\":[");
    for (i, name) in row.imputed.iter().enumerate() {
        if i > 0 {
            out.write_char(',')?;
        }
        write_str(out, name)?;
    }
    out.push(']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use heartlab::example::FEATURES;
    use proptest::prelude::*;

    use super::*;

    fn row() -> impl Strategy<Value = RowPrediction> {
        (
            any::<f64>(),
            any::<bool>(),
            proptest::sample::subsequence(FEATURES.to_vec(), 0..=FEATURES.len()),
        )
            .prop_map(|(probability, label, imputed)| RowPrediction {
                probability,
                label,
                imputed,
            })
    }

    proptest! {
        /// Whatever the id, the model's fields and the scores, a single
        /// answer is the bytes serde_json writes for `PredictResponse`.
        #[test]
        fn a_single_answer_is_serde_jsons(
            request_id in any::<String>(),
            model_version in any::<String>(),
            feature_logic_version in any::<u32>(),
            threshold in any::<f64>(),
            row in row(),
        ) {
            let answers = Answers::new(&model_version, feature_logic_version, threshold);
            let expected = serde_json::to_vec(&PredictResponse {
                request_id: &request_id,
                model_version: &model_version,
                feature_logic_version,
                threshold,
                probability: row.probability,
                label: row.label,
                imputed: row.imputed.clone(),
            })
            .unwrap();
            let written = answers.single(&request_id, &row);
            prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }

        /// The same for a batch of any length, empty included.
        #[test]
        fn a_batch_answer_is_serde_jsons(
            request_id in any::<String>(),
            threshold in any::<f64>(),
            rows in proptest::collection::vec(row(), 0..20),
        ) {
            let model_version = "ab".repeat(32);
            let answers = Answers::new(&model_version, 1, threshold);
            let expected = serde_json::to_vec(&BatchResponse {
                request_id: &request_id,
                model_version: &model_version,
                feature_logic_version: 1,
                threshold,
                predictions: rows.clone(),
            })
            .unwrap();
            let written = answers.batch(&request_id, &rows);
            prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }
}
