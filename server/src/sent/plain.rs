//! The plain patient: the one shape nearly every request has, read without
//! serde.
//!
//! A plain patient is an object whose keys are known inputs, each sent
//! once and written without escapes, and whose values are `null` or numbers
//! without an exponent. For such a body this reader fills the same slots as
//! the serde reader in `sent`, in a fraction of the instructions: serde
//! visits every key and value through its generic machinery and checks
//! each key as UTF-8, where this reader compares bytes. Counted with
//! callgrind on `/v1/predict`, serde's reading cost about 7,000
//! instructions per patient (D-046).
//!
//! Anything else (an unknown key, a text value, an escape, a key sent twice,
//! an exponent, any syntax error) is not read here at all: the reader says
//! "not plain" and the serde reader reads the body, so every mistake gets
//! serde_json's own message and the checks in `input` see exactly what they
//! saw before. A property test holds the two readers equal on every body
//! this one accepts, and checks that it accepts the bodies clients send.

use super::{slot_of, Sent, SentPatient};

/// The slots of a plain patient, or None when the body is anything else.
/// Each step takes the rest of the body and gives back what follows it.
pub fn patient(body: &[u8]) -> Option<SentPatient> {
    let mut patient = SentPatient::default();

    let mut rest = skip_space(skip_space(body).strip_prefix(b"{")?);
    if let Some(after) = rest.strip_prefix(b"}") {
        rest = after;
    } else {
        loop {
            let (key, after) = key(rest)?;
            let slot = slot_of(key)?;
            if !matches!(patient.values[slot], Sent::Absent) {
                return None;
            }
            let after = skip_space(skip_space(after).strip_prefix(b":")?);
            let (value, after) = value(after)?;
            patient.values[slot] = value;
            match skip_space(after).split_first()? {
                (b',', after) => rest = skip_space(after),
                (b'}', after) => {
                    rest = after;
                    break;
                }
                _ => return None,
            }
        }
    }

    skip_space(rest).is_empty().then_some(patient)
}

/// Past JSON's four white-space characters.
fn skip_space(text: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = text.iter().position(|b| !blank(b)).unwrap_or(text.len());
    &text[start..]
}

/// A key without escapes or control characters, without its quotes.
fn key(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let text = text.strip_prefix(b"\"")?;
    let end = text
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    (text[end] == b'"').then(|| (&text[..end], &text[end + 1..]))
}

/// `null`, or a number by JSON's grammar without an exponent.
fn value(text: &[u8]) -> Option<(Sent, &[u8])> {
    if let Some(after) = text.strip_prefix(b"null") {
        return Some((Sent::Null, after));
    }
    let (number, after) = number(text)?;
    Some((Sent::Number(number), after))
}

fn digits(text: &[u8]) -> usize {
    text.iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len())
}

/// The value serde_json gives the same number: a whole number of up to 19
/// digits is exact in a u64 and converted once, as serde_json converts it
/// (`-0` included, which it reads as -0.0); a fraction is parsed by the
/// standard library, correctly rounded, as serde_json's `float_roundtrip`
/// parses it. Longer whole numbers and exponents are left to serde_json.
fn number(text: &[u8]) -> Option<(f64, &[u8])> {
    let unsigned = text.strip_prefix(b"-");
    let negative = unsigned.is_some();
    let unsigned = unsigned.unwrap_or(text);
    let whole = &unsigned[..digits(unsigned)];
    if whole.is_empty() || (whole.len() > 1 && whole[0] == b'0') {
        return None;
    }
    let after_whole = &unsigned[whole.len()..];
    let exponent = |after: &[u8]| matches!(after.first(), Some(b'e' | b'E'));

    let Some(fraction) = after_whole.strip_prefix(b".") else {
        if exponent(after_whole) || whole.len() > 19 {
            return None;
        }
        let n = whole
            .iter()
            .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
        // The conversion serde_json makes, with the sign applied after.
        #[allow(clippy::cast_precision_loss)]
        let value = n as f64;
        return Some((if negative { -value } else { value }, after_whole));
    };

    let n = digits(fraction);
    let after = &fraction[n..];
    if n == 0 || exponent(after) {
        return None;
    }
    // Digits, a sign and a point: ASCII, so always text.
    let number = std::str::from_utf8(&text[..text.len() - after.len()]).ok()?;
    let value = number.parse::<f64>().ok().filter(|v| v.is_finite())?;
    Some((value, after))
}

#[cfg(test)]
mod tests {
    use heartlab::example::FEATURES;
    use proptest::prelude::*;

    use super::*;

    /// Serde's reading of the same body, the reference.
    fn by_serde(body: &[u8]) -> Option<SentPatient> {
        serde_json::from_slice(body).ok()
    }

    /// Equal slot for slot, numbers bit for bit (so -0.0 is not 0.0).
    fn same(a: &SentPatient, b: &SentPatient) -> bool {
        a.not_an_object == b.not_an_object
            && a.unknown == b.unknown
            && a.repeated == b.repeated
            && a.values.iter().zip(&b.values).all(|pair| match pair {
                (Sent::Number(x), Sent::Number(y)) => x.to_bits() == y.to_bits(),
                (x, y) => x == y,
            })
    }

    #[test]
    fn the_bench_patient_is_plain() {
        let body = include_bytes!("../../bench/patient.json");
        let plain = patient(body).expect("the patient clients send is plain");
        assert_eq!(plain.values[0], Sent::Number(63.0));
        assert_eq!(plain.values[4], Sent::Null);
        assert!(same(&plain, &by_serde(body).unwrap()));
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for body in [
            r#"{"age": 63, "age": 64}"#,
            r#"{"age": 63, "weight": 80}"#,
            r#"{"age": "63"}"#,
            r#"{"a\u0067e": 63}"#,
            r#"{"age": 6.3e1}"#,
            r#"{"age": 63,}"#,
            r#"{"age": 063}"#,
            r#"{"age": 12345678901234567890}"#,
            r#"{"age": true}"#,
            r#"{"age": 63} x"#,
            r#"{"age": 63"#,
            "[]",
            "",
        ] {
            assert!(patient(body.as_bytes()).is_none(), "{body}");
        }
    }

    /// A number as a client writes it: whole or with a fraction, signed or
    /// not, zeros included, and short enough to be read here.
    fn client_number() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            (0u32..400).prop_map(|n| n.to_string()),
            (-100.0f64..1000.0).prop_map(|v| v.to_string()),
            "-?(0|[1-9][0-9]{0,18})(\\.[0-9]{1,30})?",
            Just("-0".to_owned()),
            Just("-0.0".to_owned()),
        ]
    }

    /// Any number JSON allows, and some it does not.
    fn any_number() -> impl Strategy<Value = String> {
        prop_oneof![
            client_number(),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|v| v.to_string()),
            "-?[0-9]{1,30}(\\.[0-9]{0,30})?([eE][-+]?[0-9]{1,3})?",
        ]
    }

    fn space() -> impl Strategy<Value = String> {
        "[ \t\n\r]{0,2}"
    }

    /// A body of distinct known keys, each with a number or null, and white
    /// space anywhere JSON allows it.
    fn body_of(number: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        let field = (
            proptest::sample::select(FEATURES.to_vec()),
            prop_oneof![number, Just("null".to_owned())],
            space(),
            space(),
        );
        (proptest::collection::vec(field, 0..14), space(), space()).prop_map(
            |(fields, before, after)| {
                let mut seen = Vec::new();
                let pairs: Vec<String> = fields
                    .into_iter()
                    .filter(|(key, ..)| {
                        let first = !seen.contains(key);
                        seen.push(*key);
                        first
                    })
                    .map(|(key, value, s1, s2)| format!("{s1}\"{key}\"{s2}:{s1}{value}{s2}"))
                    .collect();
                format!("{before}{{{}}}{after}", pairs.join(","))
            },
        )
    }

    /// Any body at all: patient-like ones, the same with a byte put in
    /// anywhere, and arbitrary text.
    fn any_body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            body_of(any_number()).prop_map(String::into_bytes),
            body_of(any_number())
                .prop_flat_map(|b| {
                    let n = b.len();
                    (Just(b), 0..=n, any::<u8>())
                })
                .prop_map(|(b, at, byte)| {
                    let mut bytes = b.into_bytes();
                    bytes.insert(at, byte);
                    bytes
                }),
            "\\PC{0,60}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        /// Every body clients send is read here, and read as serde reads it.
        #[test]
        fn client_bodies_are_read_here_as_serde_reads_them(body in body_of(client_number())) {
            let read = patient(body.as_bytes());
            prop_assert!(read.is_some(), "not read here: {}", body);
            let expected = by_serde(body.as_bytes());
            prop_assert!(expected.is_some(), "serde refused {}", body);
            let (read, expected) = (read.unwrap_or_default(), expected.unwrap_or_default());
            prop_assert!(same(&read, &expected), "{}: {:?} vs {:?}", body, read, expected);
        }

        /// Whatever body this reader accepts, serde reads the same way.
        #[test]
        fn whatever_is_read_here_serde_reads_the_same(body in any_body()) {
            if let Some(read) = patient(&body) {
                let shown = String::from_utf8_lossy(&body);
                let expected = by_serde(&body);
                prop_assert!(expected.is_some(), "serde refused {:?}", shown);
                let expected = expected.unwrap_or_default();
                prop_assert!(same(&read, &expected), "{:?}: {:?} vs {:?}", shown, read, expected);
            }
        }
    }
}
