//! What a client sent, read straight from the JSON bytes into fixed slots.
//!
//! The reader accepts any JSON value and only records what the checks in
//! `input` need: for each of the 13 inputs and the hospital, whether it was
//! absent, null, a number, a string or something else; the names of keys
//! that are not inputs; and keys sent twice. Schema mistakes are therefore
//! never parse errors: they reach `input`, which lists every one of them.
//!
//! Most patients are read by [`plain`], which reads the one common shape
//! without serde and hands anything else to the serde reader here.
//!
//! Why not `serde_json::Value` and then a look-up per field: that builds a
//! map with an owned string per key and a node per value, only to read each
//! once. Measured with callgrind on `/v1/predict`, building, walking and
//! freeing that tree cost about 18,000 instructions per request; reading
//! into these slots costs about a third of that (D-042). Values that are
//! only reported as a type (an unknown key's value, an array where a number
//! belongs) are still read as a `Value`, so serde_json's nesting limit
//! guards them as before.

mod plain;

use std::fmt;

use heartlab::example::FEATURES;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The key of the optional hospital field in a patient object.
pub const HOSPITAL: &str = "hospital";

/// Slots 0 to 12 are the features in `FEATURES` order; this one is the hospital.
pub const HOSPITAL_SLOT: usize = FEATURES.len();

/// One value as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Sent {
    #[default]
    Absent,
    Null,
    Number(f64),
    Text(String),
    /// A boolean, an array or an object: only its type matters to the checks.
    Other(&'static str),
}

impl Sent {
    /// The type, as error messages name it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Sent::Absent => "nothing",
            Sent::Null => "null",
            Sent::Number(_) => "a number",
            Sent::Text(_) => "a string",
            Sent::Other(kind) => kind,
        }
    }
}

/// One patient object as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentPatient {
    /// The type sent where an object belongs, if it was not an object.
    pub not_an_object: Option<&'static str>,
    /// The 13 features in `FEATURES` order, then the hospital.
    pub values: [Sent; HOSPITAL_SLOT + 1],
    /// Keys that are neither a feature nor the hospital, in the order sent.
    pub unknown: Vec<String>,
    /// Known keys sent more than once, in the order sent.
    pub repeated: Vec<&'static str>,
}

/// The rows of a batch as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SentRows {
    #[default]
    Absent,
    Rows(Vec<SentPatient>),
    /// Not an array: the type that was sent.
    Other(&'static str),
}

/// A batch body `{"rows": [...]}` as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentBatch {
    pub not_an_object: Option<&'static str>,
    pub rows: SentRows,
    pub unknown: Vec<String>,
    /// Whether `rows` was sent more than once.
    pub rows_repeated: bool,
}

/// The name of a patient slot.
pub fn slot_name(slot: usize) -> &'static str {
    FEATURES.get(slot).copied().unwrap_or(HOSPITAL)
}

fn slot_of(key: &[u8]) -> Option<usize> {
    if key == HOSPITAL.as_bytes() {
        return Some(HOSPITAL_SLOT);
    }
    FEATURES.iter().position(|f| f.as_bytes() == key)
}

/// Reads the rest of a sequence, so a wrong type is reported rather than
/// left half-read (which serde_json would call trailing characters).
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Value>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<de::IgnoredAny, Value>()?.is_some() {}
    Ok(())
}

/// Writes the `visit_*` methods of a visitor that records only the type of
/// anything but the one shape it wants, through `$make(type_name)`.
macro_rules! record_other_types {
    ($make:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(($make)("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(($make)("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(($make)("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(($make)("a number"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(($make)("a string"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(($make)("null"))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(($make)("null"))
        }
    };
}

struct SentVisitor;

impl<'de> Visitor<'de> for SentVisitor {
    type Value = Sent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Sent, E> {
        Ok(Sent::Other("a boolean"))
    }

    // The same conversions as `serde_json::Number::as_f64`.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Sent, E> {
        Ok(Sent::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Sent, E> {
        Ok(Sent::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Sent, E> {
        Ok(Sent::Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Sent, E> {
        Ok(Sent::Text(v.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Sent, E> {
        Ok(Sent::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Sent, E> {
        Ok(Sent::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Sent, A::Error> {
        drain_seq(seq)?;
        Ok(Sent::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Sent, A::Error> {
        drain_map(map)?;
        Ok(Sent::Other("an object"))
    }
}

impl<'de> Deserialize<'de> for Sent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sent, D::Error> {
        deserializer.deserialize_any(SentVisitor)
    }
}

/// A key of a patient object: one of the slots, or another name.
enum Key {
    Slot(usize),
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(slot_of(v.as_bytes()).map_or_else(|| Key::Other(v.to_owned()), Key::Slot))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

impl SentPatient {
    fn other(kind: &'static str) -> SentPatient {
        SentPatient {
            not_an_object: Some(kind),
            ..SentPatient::default()
        }
    }
}

struct PatientVisitor;

impl<'de> Visitor<'de> for PatientVisitor {
    type Value = SentPatient;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    record_other_types!(SentPatient::other);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SentPatient, A::Error> {
        drain_seq(seq)?;
        Ok(SentPatient::other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SentPatient, A::Error> {
        let mut patient = SentPatient::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Slot(slot) => {
                    let value: Sent = map.next_value()?;
                    if patient.values[slot] == Sent::Absent {
                        patient.values[slot] = value;
                    } else if !patient.repeated.contains(&slot_name(slot)) {
                        patient.repeated.push(slot_name(slot));
                    }
                }
                Key::Other(name) => {
                    map.next_value::<Value>()?;
                    patient.unknown.push(name);
                }
            }
        }
        Ok(patient)
    }
}

impl<'de> Deserialize<'de> for SentPatient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SentPatient, D::Error> {
        deserializer.deserialize_any(PatientVisitor)
    }
}

struct RowsVisitor;

impl<'de> Visitor<'de> for RowsVisitor {
    type Value = SentRows;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    record_other_types!(SentRows::Other);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SentRows, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(row) = seq.next_element::<SentPatient>()? {
            rows.push(row);
        }
        Ok(SentRows::Rows(rows))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SentRows, A::Error> {
        drain_map(map)?;
        Ok(SentRows::Other("an object"))
    }
}

impl<'de> Deserialize<'de> for SentRows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SentRows, D::Error> {
        deserializer.deserialize_any(RowsVisitor)
    }
}

impl SentBatch {
    fn other(kind: &'static str) -> SentBatch {
        SentBatch {
            not_an_object: Some(kind),
            ..SentBatch::default()
        }
    }
}

struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = SentBatch;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    record_other_types!(SentBatch::other);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SentBatch, A::Error> {
        drain_seq(seq)?;
        Ok(SentBatch::other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SentBatch, A::Error> {
        let mut batch = SentBatch::default();
        while let Some(key) = map.next_key::<String>()? {
            if key != "rows" {
                map.next_value::<Value>()?;
                batch.unknown.push(key);
            } else if batch.rows == SentRows::Absent {
                batch.rows = map.next_value()?;
            } else {
                map.next_value::<Value>()?;
                batch.rows_repeated = true;
            }
        }
        Ok(batch)
    }
}

impl<'de> Deserialize<'de> for SentBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SentBatch, D::Error> {
        deserializer.deserialize_any(BatchVisitor)
    }
}

/// A request body and how its JSON is read (see `body`).
pub trait FromJson: Sized {
    fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error>;
}

impl FromJson for SentPatient {
    /// Never inlined, so that `server/bench/instructions.py` can count it.
    #[inline(never)]
    fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        match plain::patient(bytes) {
            Some(patient) => Ok(patient),
            None => serde_json::from_slice(bytes),
        }
    }
}

/// A patient on the heap: the request's extractor and handler futures move
/// their output several times before the handler reads it, and a pointer
/// moves for less than the patient's five hundred bytes.
impl FromJson for Box<SentPatient> {
    fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        SentPatient::from_json(bytes).map(Box::new)
    }
}

impl FromJson for SentBatch {
    fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient(json: &str) -> SentPatient {
        serde_json::from_str(json).expect("valid JSON")
    }

    #[test]
    fn every_slot_keeps_what_was_sent() {
        let p = patient(r#"{"age": 63, "chol": null, "hospital": "va", "ca": [1], "x": {}}"#);
        assert_eq!(p.values[0], Sent::Number(63.0));
        assert_eq!(p.values[4], Sent::Null);
        assert_eq!(p.values[11], Sent::Other("an array"));
        assert_eq!(p.values[HOSPITAL_SLOT], Sent::Text("va".to_owned()));
        assert_eq!(p.values[1], Sent::Absent);
        assert_eq!(p.unknown, ["x"]);
        assert_eq!(p.not_an_object, None);
    }

    #[test]
    fn a_key_sent_twice_is_noted_once() {
        let p = patient(r#"{"age": 63, "age": 64, "age": 65}"#);
        assert_eq!(p.repeated, ["age"]);
        assert_eq!(p.values[0], Sent::Number(63.0));
    }

    #[test]
    fn anything_but_an_object_is_a_type_not_an_error() {
        for (json, kind) in [
            ("[1, [2]]", "an array"),
            ("3", "a number"),
            ("null", "null"),
        ] {
            assert_eq!(patient(json).not_an_object, Some(kind), "{json}");
        }
        let batch: SentBatch = serde_json::from_str(r#"{"rows": {"a": 1}, "b": 2}"#).unwrap();
        assert_eq!(batch.rows, SentRows::Other("an object"));
        assert_eq!(batch.unknown, ["b"]);
    }

    #[test]
    fn deep_nesting_is_still_refused_by_the_parser() {
        let deep = format!(r#"{{"age": {}{}}}"#, "[".repeat(200), "]".repeat(200));
        let error = serde_json::from_str::<SentPatient>(&deep).unwrap_err();
        assert!(error.to_string().contains("recursion limit"), "{error}");
    }
}
