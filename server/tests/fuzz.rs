//! Arbitrary JSON and arbitrary bytes at the prediction endpoints: never a
//! 5xx, never a crash, and every 4xx body is our error body naming a field
//! (or the body).

mod common;

use common::{patient, shared, Answer};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value: nulls, booleans, numbers of every size, strings, and
/// arrays and objects nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        (-10.0f64..300.0).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid patient with some fields replaced, removed or added: close
/// enough to valid to reach every per-field check.
fn near_patient() -> impl Strategy<Value = Value> {
    let names: Vec<String> = heartlab::example::FEATURES
        .iter()
        .map(|s| s.to_string())
        .chain(["hospital".to_owned(), "extra".to_owned()])
        .collect();
    let edits = prop::collection::vec(
        (prop::sample::select(names), prop::option::of(any_json())),
        0..4,
    );
    edits.prop_map(|edits| {
        let mut body = patient();
        let object = body.as_object_mut().expect("the patient is an object");
        for (name, value) in edits {
            match value {
                Some(value) => object.insert(name, value),
                None => object.remove(&name),
            };
        }
        body
    })
}

fn check(answer: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(
        answer.status < 500,
        "5xx: {} {}",
        answer.status,
        answer.body
    );
    if answer.status == 200 {
        let p = answer.json()["probability"].clone();
        let batch = answer.json()["predictions"].clone();
        prop_assert!(p.is_number() || batch.is_array(), "{}", answer.body);
        return Ok(());
    }
    prop_assert!((400..500).contains(&answer.status));
    let body: Value = serde_json::from_str(&answer.body)
        .map_err(|e| TestCaseError::fail(format!("4xx body is not JSON: {e}")))?;
    let problems = body["problems"].as_array().cloned().unwrap_or_default();
    prop_assert!(!problems.is_empty(), "no problems listed: {}", answer.body);
    for problem in problems {
        let field = problem["field"].as_str().unwrap_or_default();
        prop_assert!(
            !field.is_empty(),
            "a problem without a field: {}",
            answer.body
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_json_never_gets_a_5xx(value in any_json()) {
        for path in ["/v1/predict", "/v1/predict/batch"] {
            check(&shared().post_json(path, &value))?;
        }
    }

    #[test]
    fn near_valid_patients_get_a_prediction_or_a_named_problem(body in near_patient()) {
        check(&shared().post_json("/v1/predict", &body))?;
        let batch = serde_json::json!({ "rows": [patient(), body] });
        check(&shared().post_json("/v1/predict/batch", &batch))?;
    }

    #[test]
    fn arbitrary_bytes_never_get_a_5xx(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for path in ["/v1/predict", "/v1/predict/batch"] {
            check(&shared().post(path, Some("application/json"), &bytes))?;
        }
    }
}
