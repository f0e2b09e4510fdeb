//! Checking a request against the artifact's input schema, before anything
//! else touches it.
//!
//! The body is parsed into a generic JSON value first and checked field by
//! field here, rather than deserialised straight into a struct: serde stops
//! at the first problem, and a client fixing a request deserves every
//! problem in one answer. The rules come from the loaded artifact (its
//! input schema: codes, ranges, codes seen in training), so a model trained
//! on other codes brings its own rules with it.

use heartlab::artifact::{Artifact, InputField};
use heartlab::example::FEATURES;
use serde_json::{Map, Value};

use crate::error::{Problem, ProblemKind};

/// The key of the optional hospital field in a patient object.
pub const HOSPITAL: &str = "hospital";
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
    hospitals: Option<Vec<String>>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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
        for field in &artifact.input_schema {
            let index = FEATURES
                .iter()
                .position(|f| *f == field.name)
                .ok_or_else(|| format!("the input schema names an unknown input {}", field.name))?;
            rules.push(Rule {
                field: field.clone(),
                index,
            });
        }
        Ok(Schema {
            rules,
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

    /// Checks one patient object, adding every problem found at its
    /// `place`. Returns the patient only when there was none.
    pub fn check_patient(
        &self,
        value: &Value,
        place: Place,
        problems: &mut Vec<Problem>,
    ) -> Option<Patient> {
        let Value::Object(object) = value else {
            problems.push(Problem::new(
                place.whole(),
                ProblemKind::WrongType,
                format!(
                    "expected an object of patient inputs, got {}",
                    type_name(value)
                ),
            ));
            return None;
        };
        let before = problems.len();

        for key in object.keys() {
            if key != HOSPITAL && !self.rules.iter().any(|r| r.field.name == *key) {
                problems.push(Problem::new(
                    place.path(key),
                    ProblemKind::UnknownField,
                    "not an input of this model",
                ));
            }
        }

        let mut features = [None; 13];
        for rule in &self.rules {
            features[rule.index] = check_field(&rule.field, object, place, problems);
        }
        let hospital = self.check_hospital(object, place, problems);

        (problems.len() == before).then_some(Patient { hospital, features })
    }

    fn check_hospital(
        &self,
        object: &Map<String, Value>,
        place: Place,
        problems: &mut Vec<Problem>,
    ) -> String {
        let field = || place.path(HOSPITAL);
        match (object.get(HOSPITAL), &self.hospitals) {
            (None | Some(Value::Null), None) => NO_HOSPITAL.to_owned(),
            (Some(Value::String(name)), None) => name.clone(),
            (Some(Value::String(name)), Some(known)) if known.contains(name) => name.clone(),
            (Some(Value::String(_)), Some(known)) => {
                problems.push(Problem::new(
                    field(),
                    ProblemKind::UnseenCode,
                    format!("the model knows only these hospitals: {}", known.join(", ")),
                ));
                String::new()
            }
            (None, Some(_)) => {
                problems.push(Problem::new(
                    field(),
                    ProblemKind::Missing,
                    "this model needs the hospital",
                ));
                String::new()
            }
            (Some(other), _) => {
                problems.push(Problem::new(
                    field(),
                    ProblemKind::WrongType,
                    format!("expected a string, got {}", type_name(other)),
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
    object: &Map<String, Value>,
    place: Place,
    problems: &mut Vec<Problem>,
) -> Option<f64> {
    let mut problem = |kind, message: String| {
        problems.push(Problem::new(place.path(&field.name), kind, message));
        None
    };

    let number = match object.get(&field.name) {
        // An input the model does not use may be left out; one it uses must
        // be sent, as null when unknown, so a misspelt key cannot pass as
        // "missing" and be filled in silently.
        None if !field.used => return None,
        None => {
            return problem(
                ProblemKind::Missing,
                "required; send null if the value is unknown".to_owned(),
            )
        }
        // Every input the pipeline uses has a learned fill value; an unused
        // one is ignored. So null is always accepted for this model family.
        Some(Value::Null) => return None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            return problem(
                ProblemKind::WrongType,
                format!("expected a number or null, got {}", type_name(other)),
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
    body: &Value,
    max_rows: usize,
) -> Result<Vec<Patient>, Vec<Problem>> {
    let Value::Object(object) = body else {
        return Err(vec![Problem::new(
            "body",
            ProblemKind::WrongType,
            format!("expected an object with rows, got {}", type_name(body)),
        )]);
    };
    let mut problems: Vec<Problem> = object
        .keys()
        .filter(|k| *k != "rows")
        .map(|k| Problem::new(k.clone(), ProblemKind::UnknownField, "only rows is allowed"))
        .collect();

    let rows = match object.get("rows") {
        Some(Value::Array(rows)) => rows,
        None => {
            problems.push(Problem::new("rows", ProblemKind::Missing, "required"));
            return Err(problems);
        }
        Some(other) => {
            problems.push(Problem::new(
                "rows",
                ProblemKind::WrongType,
                format!("expected an array of patients, got {}", type_name(other)),
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
