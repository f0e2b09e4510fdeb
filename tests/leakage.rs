//! Phase 3's experiments: each leak is measured against the honest flow on
//! the same seed, its detector separates the two, and the table's structure
//! is reviewed. Two seeds keep the suite quick; the book's table uses the
//! parameter file's seeds.

mod common;

use heartlab::flow;
use heartlab::leakage::{self, Experiment, LeakageTable};
use heartlab::params::LabParams;

fn quick_params() -> LabParams {
    let mut params = common::lab_params();
    params.leakage.seeds = vec![11, 12];
    params
}

fn table(which: &[Experiment]) -> LeakageTable {
    leakage::run(&common::real_examples(), &quick_params(), which).unwrap()
}

#[test]
fn each_honest_baseline_is_the_lab_flow_itself() {
    let params = quick_params();
    let examples = common::real_examples();
    for seed in [11, 12] {
        let honest = flow::run(&examples, &params, seed).unwrap().test;
        for experiment in [
            Experiment::PreprocessBeforeSplit,
            Experiment::LabelProxyFeature,
            Experiment::LabelFilteredRows,
            Experiment::DuplicatesAcrossSplit,
        ] {
            let trial = experiment.run(&examples, &params, seed).unwrap();
            assert_eq!(trial.honest, honest, "{}", experiment.id());
        }
    }
}

#[test]
fn a_label_derived_column_inflates_every_seed_and_its_detector_sees_it() {
    let row = &table(&[Experiment::LabelProxyFeature]).rows[0];
    for trial in &row.trials {
        assert!(trial.leaky.roc_auc > trial.honest.roc_auc, "{trial:?}");
        assert!(trial.detector_leaky > trial.detector_honest, "{trial:?}");
    }
}

#[test]
fn label_filtered_rows_flatter_the_scores_and_widen_the_class_gap() {
    let row = &table(&[Experiment::LabelFilteredRows]).rows[0];
    assert!(row.roc_auc_inflation.mean > 0.0, "{row:?}");
    assert!(
        row.detector_leaky.mean > row.detector_honest.mean,
        "{row:?}"
    );
}

#[test]
fn near_copies_across_the_split_are_found_by_the_distance_check() {
    let row = &table(&[Experiment::DuplicatesAcrossSplit]).rows[0];
    assert!(row.detector_leaky.mean > 0.5, "{row:?}");
    assert!(row.detector_honest.mean < 0.05, "{row:?}");
}

#[test]
fn an_honest_pipeline_learns_nothing_from_outside_its_training_part() {
    let row = &table(&[Experiment::PreprocessBeforeSplit]).rows[0];
    assert_eq!(row.detector_honest.mean, 0.0);
    assert!(row.detector_leaky.mean > 0.0);
}

#[test]
fn a_new_hospital_scores_below_a_random_split_and_looks_different() {
    let t = table(&[Experiment::HospitalLeftOut]);
    assert_eq!(t.hospitals_left_out.len(), 4);
    let random = flow::run(&common::real_examples(), &quick_params(), 11)
        .unwrap()
        .test;
    let row = &t.rows[0];
    assert!(row.honest_roc_auc.mean < random.roc_auc, "{row:?}");
    // The classifier telling training rows from the new hospital's succeeds.
    assert!(row.detector_honest.mean > 0.8, "{row:?}");
}

#[test]
fn the_table_has_every_experiment_and_its_structure_is_reviewed() {
    let t = table(&Experiment::ALL);
    assert_eq!(t.rows.len(), Experiment::ALL.len());
    for row in &t.rows {
        assert_eq!(row.trials.len(), 2);
        assert_eq!(
            Experiment::parse(row.experiment.id()).unwrap(),
            row.experiment
        );
    }
    // Numbers vary with the data; the columns, rows and seeds must not.
    let mut shape = serde_json::to_value(&t).unwrap();
    redact_numbers(&mut shape);
    insta::assert_json_snapshot!("leakage_table_structure", shape);

    let md = leakage::markdown::render(&t);
    for e in Experiment::ALL {
        assert!(md.contains(e.id()), "{} missing from the Markdown", e.id());
    }
}

#[test]
fn an_unknown_experiment_is_named_with_the_known_ones() {
    let error = Experiment::parse("peek-at-test").unwrap_err().to_string();
    assert!(
        error.contains("peek-at-test") && error.contains("label-proxy-feature"),
        "{error}"
    );
}

/// Replaces every number except seeds with a placeholder, and keeps only the
/// first trial, so the snapshot shows the table's shape.
fn redact_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(_) => *value = serde_json::Value::from("<number>"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_numbers),
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key == "trials" {
                    if let serde_json::Value::Array(trials) = item {
                        trials.truncate(1);
                    }
                }
                if key != "seeds" && key != "seed" {
                    redact_numbers(item);
                }
            }
        }
        _ => {}
    }
}
