//! The data contract: what a row of the raw heart-disease files must look like.
//!
//! It is written once, here, and read by everything else: the loader checks each
//! field against it, the report prints it, and later phases (cleaning, the server's
//! input schema) take their column list and allowed codes from it. When the data
//! changes shape, this is the one file to edit, and the tests say what else broke.

use std::fmt;

use serde::Serialize;

/// Whether a column holds whole numbers or real numbers.
///
/// The Cleveland file writes every value as `63.0`, the others as `63`; both
/// are read as numbers first, and an Integer column then insists the value be
/// whole, so `63.5` for an age is a violation rather than a silent rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Integer,
    Real,
}

/// The values a column may take.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// A category written as a number: only these codes are allowed.
    Codes(&'static [i64]),
    /// A measurement: values outside `min..=max` are implausible for a living
    /// adult and break the contract.
    Range { min: f64, max: f64 },
}

/// Whether a column is an input to the model or the outcome it predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Feature,
    Label,
}

/// One column of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub meaning: &'static str,
    pub kind: Kind,
    pub domain: Domain,
    pub role: Role,
    /// Some hospitals write 0 when a measurement was not taken (Switzerland
    /// records every cholesterol as 0). Such a zero is allowed past the
    /// contract, kept as it is and counted as a *hidden zero*; the cleaning
    /// step decides whether it means "missing".
    pub zero_means_not_measured: bool,
}

const fn code(
    name: &'static str,
    meaning: &'static str,
    codes: &'static [i64],
    role: Role,
) -> ColumnSpec {
    ColumnSpec {
        name,
        meaning,
        kind: Kind::Integer,
        domain: Domain::Codes(codes),
        role,
        zero_means_not_measured: false,
    }
}

const fn measure(
    name: &'static str,
    meaning: &'static str,
    kind: Kind,
    min: f64,
    max: f64,
    zero_means_not_measured: bool,
) -> ColumnSpec {
    ColumnSpec {
        name,
        meaning,
        kind,
        domain: Domain::Range { min, max },
        role: Role::Feature,
        zero_means_not_measured,
    }
}

/// The 14 columns of the processed files, in the order the files write them.
///
/// The ranges are deliberately wide: they catch typing and unit errors (a
/// cholesterol in mmol/L, an age of 630), not unusual patients. Each bound is
/// explained in `docs/decisions.md`.
pub const COLUMNS: [ColumnSpec; 14] = [
    measure("age", "age in years", Kind::Integer, 18.0, 100.0, false),
    code("sex", "1 = male, 0 = female", &[0, 1], Role::Feature),
    code(
        "cp",
        "chest pain: 1 typical angina, 2 atypical, 3 non-anginal, 4 none",
        &[1, 2, 3, 4],
        Role::Feature,
    ),
    measure(
        "trestbps",
        "resting blood pressure, mm Hg",
        Kind::Integer,
        50.0,
        250.0,
        true,
    ),
    measure(
        "chol",
        "serum cholesterol, mg/dl",
        Kind::Integer,
        50.0,
        700.0,
        true,
    ),
    code(
        "fbs",
        "fasting blood sugar > 120 mg/dl",
        &[0, 1],
        Role::Feature,
    ),
    code(
        "restecg",
        "resting ECG: 0 normal, 1 ST-T abnormality, 2 LV hypertrophy",
        &[0, 1, 2],
        Role::Feature,
    ),
    measure(
        "thalach",
        "maximum heart rate achieved",
        Kind::Integer,
        40.0,
        250.0,
        false,
    ),
    code("exang", "exercise-induced angina", &[0, 1], Role::Feature),
    measure(
        "oldpeak",
        "ST depression induced by exercise",
        Kind::Real,
        -5.0,
        10.0,
        false,
    ),
    code(
        "slope",
        "slope of peak exercise ST: 1 up, 2 flat, 3 down",
        &[1, 2, 3],
        Role::Feature,
    ),
    code(
        "ca",
        "major vessels coloured by fluoroscopy",
        &[0, 1, 2, 3],
        Role::Feature,
    ),
    code(
        "thal",
        "3 normal, 6 fixed defect, 7 reversible defect",
        &[3, 6, 7],
        Role::Feature,
    ),
    code(
        "num",
        "diagnosis: 0 no disease, 1-4 disease",
        &[0, 1, 2, 3, 4],
        Role::Label,
    ),
];

/// The label column's name.
pub const LABEL: &str = "num";

/// How the raw files write a missing value.
pub const MISSING_MARK: &str = "?";

/// Looks up a column by its exact name.
pub fn column(name: &str) -> Option<&'static ColumnSpec> {
    COLUMNS.iter().find(|c| c.name == name)
}

/// The position of a column in [`COLUMNS`].
pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| c.name == name)
}

/// A checked field: missing, or a number that passed its column's rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field {
    Missing,
    Value(f64),
}

impl Field {
    pub fn value(self) -> Option<f64> {
        match self {
            Field::Missing => None,
            Field::Value(v) => Some(v),
        }
    }
}

/// Why a field breaks the contract. Each variant carries what a person needs
/// to find and fix the value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    Empty {
        column: &'static str,
    },
    NotANumber {
        column: &'static str,
        raw: String,
    },
    NotWhole {
        column: &'static str,
        value: f64,
    },
    UnknownCode {
        column: &'static str,
        value: f64,
        allowed: &'static [i64],
    },
    OutOfRange {
        column: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    LabelMissing,
    FieldCount {
        expected: usize,
        found: usize,
    },
    NotUtf8,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Empty { column } => {
                write!(
                    f,
                    "{column}: empty value (the raw format writes missing as '?')"
                )
            }
            Violation::NotANumber { column, raw } => write!(f, "{column}: {raw:?} is not a number"),
            Violation::NotWhole { column, value } => {
                write!(f, "{column}: {value} is not a whole number")
            }
            Violation::UnknownCode {
                column,
                value,
                allowed,
            } => {
                write!(f, "{column}: {value} is not one of the codes {allowed:?}")
            }
            Violation::OutOfRange {
                column,
                value,
                min,
                max,
            } => {
                write!(
                    f,
                    "{column}: {value} is outside the plausible range {min} to {max}"
                )
            }
            Violation::LabelMissing => write!(f, "{LABEL}: the diagnosis is missing"),
            Violation::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            Violation::NotUtf8 => write!(f, "the line is not UTF-8 text"),
        }
    }
}

impl ColumnSpec {
    /// Checks one raw field against this column's rules.
    ///
    /// `decimal_comma` is set for files that separate fields with `;` and so
    /// may write `0,7` for 0.7 (see the loader's dialect rules).
    pub fn check(&self, raw: &str, decimal_comma: bool) -> Result<Field, Violation> {
        let text = raw.trim();
        if text == MISSING_MARK {
            return if self.role == Role::Label {
                Err(Violation::LabelMissing)
            } else {
                Ok(Field::Missing)
            };
        }
        if text.is_empty() {
            return Err(Violation::Empty { column: self.name });
        }

        let value = parse_number(text, decimal_comma).ok_or_else(|| Violation::NotANumber {
            column: self.name,
            raw: text.to_owned(),
        })?;

        if self.kind == Kind::Integer && value.fract() != 0.0 {
            return Err(Violation::NotWhole {
                column: self.name,
                value,
            });
        }

        match self.domain {
            Domain::Codes(allowed) => {
                if !allowed.iter().any(|&c| c as f64 == value) {
                    return Err(Violation::UnknownCode {
                        column: self.name,
                        value,
                        allowed,
                    });
                }
            }
            Domain::Range { min, max } => {
                let hidden_zero = self.zero_means_not_measured && value == 0.0;
                if !hidden_zero && !(min..=max).contains(&value) {
                    return Err(Violation::OutOfRange {
                        column: self.name,
                        value,
                        min,
                        max,
                    });
                }
            }
        }
        Ok(Field::Value(value))
    }
}

/// Parses a plain decimal number: digits, one optional sign, one optional
/// decimal separator. Rust's `f64::from_str` also accepts `inf`, `NaN` and
/// exponents, none of which a hospital writes, so they are refused here
/// rather than let through as numbers.
fn parse_number(text: &str, decimal_comma: bool) -> Option<f64> {
    let separator = if decimal_comma { ',' } else { '.' };
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut seen_digit = false;
    let mut seen_separator = false;
    for ch in body.chars() {
        match ch {
            '0'..='9' => seen_digit = true,
            c if c == separator && !seen_separator => seen_separator = true,
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    let normalised = if decimal_comma {
        text.replace(',', ".")
    } else {
        text.to_owned()
    };
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static ColumnSpec {
        column(name).expect("column exists")
    }

    #[test]
    fn both_number_styles_of_the_raw_files_are_read() {
        assert_eq!(spec("age").check("63.0", false), Ok(Field::Value(63.0)));
        assert_eq!(spec("age").check("63", false), Ok(Field::Value(63.0)));
        assert_eq!(spec("oldpeak").check(".7", false), Ok(Field::Value(0.7)));
        assert_eq!(spec("oldpeak").check("-2.6", false), Ok(Field::Value(-2.6)));
    }

    #[test]
    fn a_decimal_comma_is_read_only_when_the_dialect_allows_it() {
        assert_eq!(spec("oldpeak").check("0,7", true), Ok(Field::Value(0.7)));
        assert!(matches!(
            spec("oldpeak").check("0,7", false),
            Err(Violation::NotANumber { .. })
        ));
    }

    #[test]
    fn words_rust_would_parse_as_numbers_are_refused() {
        for raw in ["NaN", "inf", "-inf", "1e3", "infinity", "+", "."] {
            let result = spec("chol").check(raw, false);
            assert!(
                matches!(result, Err(Violation::NotANumber { .. })),
                "{raw}: {result:?}"
            );
        }
    }

    #[test]
    fn the_missing_mark_is_missing_for_features_and_a_violation_for_the_label() {
        assert_eq!(spec("ca").check("?", false), Ok(Field::Missing));
        assert_eq!(spec("num").check("?", false), Err(Violation::LabelMissing));
    }

    #[test]
    fn codes_and_ranges_are_enforced_but_hidden_zeros_pass() {
        assert!(matches!(
            spec("thal").check("4", false),
            Err(Violation::UnknownCode { .. })
        ));
        assert!(matches!(
            spec("cp").check("1.5", false),
            Err(Violation::NotWhole { .. })
        ));
        assert!(matches!(
            spec("age").check("630", false),
            Err(Violation::OutOfRange { .. })
        ));
        assert_eq!(spec("chol").check("0", false), Ok(Field::Value(0.0)));
        assert!(matches!(
            spec("thalach").check("0", false),
            Err(Violation::OutOfRange { .. })
        ));
    }

    #[test]
    fn the_contract_names_fourteen_distinct_columns_and_one_label() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 14);
        let labels: Vec<_> = COLUMNS.iter().filter(|c| c.role == Role::Label).collect();
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].name, LABEL);
    }
}
