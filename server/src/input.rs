//! Checking a request against the artifact's input schema, before anything
//! else touches it.
//!
//! The body is read into fixed slots first (`sent`), whatever its shape, and
//! checked field by field here, rather than deserialised straight into a
//! struct of numbers: serde stops at the first problem, and a client fixing
//! a request deserves every problem in one answer. The rules come from the
//! loaded artifact (its input schema: codes, ranges, codes seen in
//! training), so a model trained on other codes brings its own rules with
//! it.

use heartlab::artifact::{Artifact, InputField};
use heartlab::example::FEATURES;

use crate::error::{Problem, ProblemKind};
use crate::sent::{slot_name, Sent, SentBatch, SentPatient, SentRows, HOSPITAL_SLOT};

pub use crate::sent::HOSPITAL;

/// What the pipeline is told when the hospital is not one of its inputs.
const NO_HOSPITAL: &str = "unspecified";

/// One patient, checked: what `Artifact::predict` takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub hospital: String,
    pub features: [Option<f64>; 13],
}

/// The rules for one input, with its position among the 13 features.
#[derive(Debug, Clone)]
struct Rule {
    field: InputField,
    index: usize,
}

/// The input rules of one loaded artifact.
#[derive(Debug, Clone)]
pub struct Schema {
    rules: Vec<Rule>,
    /// For each of the 13 feature slots, whether a rule checks it.
    has_rule: [bool; 13],
    hospitals: Option<Vec<String>>,
}

/// Where a patient sits in the request: the whole body or one batch row.
/// Field paths are only built when a problem is found, so a valid row costs
/// no allocation for them (it matters at 1000 rows per batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Body,
    Row(usize),
}

impl Place {
    fn path(self, field: &str) -> String {
        match self {
            Place::Body => field.to_owned(),
            Place::Row(i) => format!("rows[{i}].{field}"),
        }
    }

    fn whole(self) -> String {
        match self {
            Place::Body => "body".to_owned(),
            Place::Row(i) => format!("rows[{i}]"),
        }
    }
}

impl Schema {
    /// The rules of an artifact. Fails when its schema names an input that
    /// is not one of the 13 features: such an artifact cannot be served.
    pub fn from_artifact(artifact: &Artifact) -> Result<Schema, String> {
        let mut rules = Vec::new();
        let mut has_rule = [false; 13];
        for field in &artifact.input_schema {
            let index = FEATURES
                .iter()
                .position(|f| *f == field.name)
                .ok_or_else(|| format!("the input schema names an unknown input {}", field.name))?;
            has_rule[index] = true;
            rules.push(Rule {
                field: field.clone(),
                index,
            });
        }
        Ok(Schema {
            rules,
            has_rule,
            hospitals: artifact.pipeline.hospitals.clone(),
        })
    }

    /// The inputs, in the artifact's order.
    pub fn fields(&self) -> impl Iterator<Item = &InputField> {
        self.rules.iter().map(|r| &r.field)
    }

    /// The hospitals the model knows, when the hospital is one of its inputs.
    pub fn hospitals(&self) -> Option<&[String]> {
        self.hospitals.as_deref()
    }

    /// Checks one patient as sent, adding every problem found at its
    /// `place`. Returns the patient only when there was none.
    pub fn check_patient(
        &self,
        sent: &SentPatient,
        place: Place,
        problems: &mut Vec<Problem>,
    ) -> Option<Patient> {
        if let Some(kind) = sent.not_an_object {
            problems.push(Problem::new(
                place.whole(),
                ProblemKind::WrongType,
                format!("expected an object of patient inputs, got {kind}"),
            ));
            return None;
        }
        let before = problems.len();

        self.check_keys(sent, place, problems);

        let mut features = [None; 13];
        for rule in &self.rules {
            features[rule.index] =
                check_field(&rule.field, &sent.values[rule.index], place, problems);
        }
        let hospital = self.check_hospital(&sent.values[HOSPITAL_SLOT], place, problems);

        (problems.len() == before).then_some(Patient { hospital, features })
    }

    /// Keys that are not inputs of this model (sorted, so the answer does
    /// not depend on the order sent), and keys sent twice.
    fn check_keys(&self, sent: &SentPatient, place: Place, problems: &mut Vec<Problem>) {
        let not_in_schema = FEATURES.iter().enumerate().filter(|&(slot, _)| {
            !self.has_rule[slot] && !matches!(sent.values[slot], Sent::Absent)
        });
        if !sent.unknown.is_empty() || not_in_schema.clone().next().is_some() {
            let mut unknown: Vec<&str> = sent.unknown.iter().map(String::as_str).collect();
            unknown.extend(not_in_schema.map(|(_, name)| *name));
            unknown.sort_unstable();
            for key in unknown {
                problems.push(Problem::new(
                    place.path(key),
                    ProblemKind::UnknownField,
                    "not an input of this model",
                ));
            }
        }
        for key in &sent.repeated {
            problems.push(Problem::new(
                place.path(key),
                ProblemKind::DuplicateField,
                "sent more than once; send each input once",
            ));
        }
    }

    fn check_hospital(&self, sent: &Sent, place: Place, problems: &mut Vec<Problem>) -> String {
        let field = || place.path(slot_name(HOSPITAL_SLOT));
        match (sent, &self.hospitals) {
            (Sent::Absent | Sent::Null, None) => NO_HOSPITAL.to_owned(),
            (Sent::Text(name), None) => name.clone(),
            (Sent::Text(name), Some(known)) if known.contains(name) => name.clone(),
            (Sent::Text(_), Some(known)) => {
                problems.push(Problem::new(
                    field(),
                    ProblemKind::UnseenCode,
                    format!("the model knows only these hospitals: {}", known.join(", ")),
                ));
                String::new()
            }
            (Sent::Absent, Some(_)) => {
                problems.push(Problem::new(
                    field(),
                    ProblemKind::Missing,
                    "this model needs the hospital",
                ));
                String::new()
            }
            (other, _) => {
                problems.push(Problem::new(
                    field(),
                    ProblemKind::WrongType,
                    format!("expected a string, got {}", other.type_name()),
                ));
                String::new()
            }
        }
    }
}

/// Checks one input: present, a number or null, finite, whole where it must
/// be, an allowed and seen code or inside the plausible range.
fn check_field(
    field: &InputField,
    sent: &Sent,
    place: Place,
    problems: &mut Vec<Problem>,
) -> Option<f64> {
    let mut problem = |kind, message: String| {
        problems.push(Problem::new(place.path(&field.name), kind, message));
        None
    };

    let number = match sent {
        // An input the model does not use may be left out; one it uses must
        // be sent, as null when unknown, so a misspelt key cannot pass as
        // "missing" and be filled in silently.
        Sent::Absent if !field.used => return None,
        Sent::Absent => {
            return problem(
                ProblemKind::Missing,
                "required; send null if the value is unknown".to_owned(),
            )
        }
        // Every input the pipeline uses has a learned fill value; an unused
        // one is ignored. So null is always accepted for this model family.
        Sent::Null => return None,
        Sent::Number(n) => Some(*n),
        other => {
            return problem(
                ProblemKind::WrongType,
                format!("expected a number or null, got {}", other.type_name()),
            )
        }
    };
    let Some(value) = number.filter(|v| v.is_finite()) else {
        return problem(
            ProblemKind::NotFinite,
            "expected a finite number".to_owned(),
        );
    };

    if field.integer && value.fract() != 0.0 {
        return problem(
            ProblemKind::NotWhole,
            format!("{value} is not a whole number"),
        );
    }
    if let Some(codes) = &field.codes {
        if !codes.iter().any(|&c| c as f64 == value) {
            return problem(
                ProblemKind::NotAnAllowedCode,
                format!("{value} is not one of the allowed codes {codes:?}"),
            );
        }
    }
    if let Some(seen) = &field.seen_in_training {
        if field.used && !seen.contains(&value) {
            return problem(
                ProblemKind::UnseenCode,
                format!("{value} never occurred in training; the model knows {seen:?}"),
            );
        }
    }
    let (min, max) = (
        field.min.unwrap_or(f64::NEG_INFINITY),
        field.max.unwrap_or(f64::INFINITY),
    );
    if value < min || value > max {
        return problem(
            ProblemKind::OutOfRange,
            format!("{value} is outside the plausible range {min} to {max}"),
        );
    }
    Some(value)
}

/// Checks a batch body `{"rows": [...]}` against the row limit and every row.
pub fn check_batch(
    schema: &Schema,
    batch: &SentBatch,
    max_rows: usize,
) -> Result<Vec<Patient>, Vec<Problem>> {
    if let Some(kind) = batch.not_an_object {
        return Err(vec![Problem::new(
            "body",
            ProblemKind::WrongType,
            format!("expected an object with rows, got {kind}"),
        )]);
    }
    let mut unknown: Vec<&String> = batch.unknown.iter().collect();
    unknown.sort_unstable();
    let mut problems: Vec<Problem> = unknown
        .into_iter()
        .map(|k| Problem::new(k.clone(), ProblemKind::UnknownField, "only rows is allowed"))
        .collect();
    if batch.rows_repeated {
        problems.push(Problem::new(
            "rows",
            ProblemKind::DuplicateField,
            "sent more than once; send one array of rows",
        ));
    }

    let rows = match &batch.rows {
        SentRows::Rows(rows) => rows,
        SentRows::Absent => {
            problems.push(Problem::new("rows", ProblemKind::Missing, "required"));
            return Err(problems);
        }
        SentRows::Other(kind) => {
            problems.push(Problem::new(
                "rows",
                ProblemKind::WrongType,
                format!("expected an array of patients, got {kind}"),
            ));
            return Err(problems);
        }
    };
    if rows.is_empty() {
        problems.push(Problem::new(
            "rows",
            ProblemKind::EmptyBatch,
            "send at least one row",
        ));
        return Err(problems);
    }
    if rows.len() > max_rows {
        problems.push(Problem::new(
            "rows",
            ProblemKind::TooManyRows,
            format!("{} rows; the limit is {max_rows}", rows.len()),
        ));
        return Err(problems);
    }

    let mut patients = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if let Some(patient) = schema.check_patient(row, Place::Row(i), &mut problems) {
            patients.push(patient);
        }
    }
    if problems.is_empty() {
        Ok(patients)
    } else {
        Err(problems)
    }
}
