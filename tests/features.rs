//! The preprocessing pipeline: no leakage, batch equals one by one, finite
//! output, unseen categories handled, and a reviewed snapshot of its fit.

mod common;

use heartlab::example::Example;
use heartlab::features::{FittedPipeline, Pipeline, FEATURE_LOGIC_VERSION};
use heartlab::model::train::train;
use heartlab::split::{leave_hospital_out, split, Split};
use proptest::prelude::*;

fn lab_split() -> Split {
    let params = common::lab_params();
    let examples = common::cleaned_real_data().examples().unwrap();
    split(&examples, &params.split, params.seed)
}

fn fit(split: &Split) -> FittedPipeline {
    Pipeline::fit(&common::lab_params().features, &split.train).unwrap()
}

#[test]
fn the_split_is_a_partition_stratified_by_hospital_and_label() {
    let params = common::lab_params();
    let examples = common::cleaned_real_data().examples().unwrap();
    let parts = split(&examples, &params.split, params.seed);

    let mut ids: Vec<(String, u32)> = parts
        .train
        .rows()
        .iter()
        .chain(parts.validation.rows())
        .chain(parts.test.rows())
        .map(|e| (e.hospital.clone(), e.line))
        .collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "a row landed in two parts");
    assert_eq!(n, examples.len(), "a row was lost or invented");

    for hospital in ["cleveland", "hungary", "switzerland", "va"] {
        for label in [false, true] {
            let count = |rows: &[Example]| {
                rows.iter()
                    .filter(|e| e.hospital == hospital && e.label == label)
                    .count() as f64
            };
            let total = count(&examples);
            let share = count(parts.train.rows()) / total;
            assert!(
                (share - params.split.train).abs() <= 1.0 / total + 1e-9,
                "{hospital} {label}"
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_split_and_another_seed_another() {
    let params = common::lab_params();
    let examples = common::cleaned_real_data().examples().unwrap();
    let a = split(&examples, &params.split, 7);
    let b = split(&examples, &params.split, 7);
    let c = split(&examples, &params.split, 8);
    assert_eq!(a, b);
    assert_ne!(a.test, c.test);
}

#[test]
fn leaving_a_hospital_out_puts_all_of_it_and_only_it_in_test() {
    let params = common::lab_params();
    let examples = common::cleaned_real_data().examples().unwrap();
    let parts = leave_hospital_out(&examples, "switzerland", &params.split, params.seed);

    assert!(parts
        .test
        .rows()
        .iter()
        .all(|e| e.hospital == "switzerland"));
    assert!(parts
        .train
        .rows()
        .iter()
        .chain(parts.validation.rows())
        .all(|e| e.hospital != "switzerland"));
    let swiss = examples
        .iter()
        .filter(|e| e.hospital == "switzerland")
        .count();
    assert_eq!(parts.test.len(), swiss);
}

#[test]
fn the_fitted_pipeline_matches_its_reviewed_snapshot() {
    let fitted = fit(&lab_split());
    let mut json = serde_json::to_value(&fitted).unwrap();
    round_floats(&mut json);
    insta::assert_json_snapshot!("fitted_pipeline_real_data", json);
}

/// Six decimals keep the snapshot stable across platforms' last-bit differences.
fn round_floats(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            let rounded = (n.as_f64().unwrap() * 1e6).round() / 1e6;
            *value = serde_json::json!(rounded);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(round_floats),
        serde_json::Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

#[test]
fn the_fitted_pipeline_round_trips_through_json_with_its_logic_version() {
    let fitted = fit(&lab_split());
    let json = serde_json::to_string(&fitted).unwrap();
    let back: FittedPipeline = serde_json::from_str(&json).unwrap();
    assert_eq!(back, fitted);
    assert_eq!(back.feature_logic_version, FEATURE_LOGIC_VERSION);
}

fn any_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        any::<f64>().prop_map(Some),
        (-10i32..10).prop_map(|v| Some(v as f64)),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn whatever_the_test_rows_hold_the_fitted_pipeline_and_model_are_identical(
        noise in proptest::collection::vec(
            (proptest::array::uniform13(any_value()), any::<bool>()), 1..50)
    ) {
        let honest = lab_split();
        let mut tampered = honest.clone();
        let mut test_rows: Vec<Example> = tampered.test.rows().to_vec();
        for (row, (values, label)) in test_rows.iter_mut().zip(noise.iter().cycle()) {
            row.features = *values;
            row.label = *label;
        }
        tampered = Split { test: split_test_from(test_rows), ..tampered };

        let model_params = common::lab_params().model;
        let fit_both = |split: &Split| {
            let pipeline = fit(split);
            let model = train(&model_params, &pipeline.design(&split.train)).unwrap().model;
            (serde_json::to_vec(&pipeline).unwrap(), serde_json::to_vec(&model).unwrap())
        };
        prop_assert_eq!(fit_both(&honest), fit_both(&tampered));
    }

    #[test]
    fn any_input_transforms_to_finite_numbers_of_the_right_width(
        values in proptest::array::uniform13(any_value()),
        hospital in "[a-z]{0,12}",
    ) {
        let fitted = fit(&lab_split());
        let (out, notes) = fitted.transform(&hospital, &values);
        prop_assert_eq!(out.len(), fitted.width());
        prop_assert!(out.iter().all(|v| v.is_finite()));
        // A category code the training part never had is noted, never a panic.
        for step in &fitted.categorical {
            let index = heartlab::example::FEATURES.iter().position(|f| *f == step.column).unwrap();
            let code = values[index].filter(|v| v.is_finite()).unwrap_or(step.fill);
            let unseen = !step.categories.contains(&code);
            prop_assert_eq!(unseen, notes.unseen.contains(&step.column.as_str()));
        }
    }

    #[test]
    fn transforming_a_batch_equals_transforming_its_rows_one_by_one(
        rows in proptest::collection::vec(proptest::array::uniform13(any_value()), 0..40)
    ) {
        let fitted = fit(&lab_split());
        let examples: Vec<Example> = rows
            .iter()
            .enumerate()
            .map(|(i, f)| Example {
                hospital: "va".into(),
                line: i as u32,
                features: *f,
                label: false,
            })
            .collect();
        let batch = fitted.transform_rows(&examples);
        for (example, row) in examples.iter().zip(&batch) {
            let single = fitted.transform(&example.hospital, &example.features).0;
            prop_assert_eq!(row.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                single.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }
}

/// Rebuilds a test part from edited rows, through the one constructor that
/// says it breaks the split's rules on purpose.
fn split_test_from(rows: Vec<Example>) -> heartlab::split::Part<heartlab::split::Test> {
    heartlab::split::Part::from_rows_for_experiment(rows)
}
