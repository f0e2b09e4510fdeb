//! The large synthetic set: each part enlarged on its own, so no patient's
//! descendants cross from training into test.

mod common;

use std::collections::HashSet;

use heartlab::split::{split, Part};
use heartlab::synthetic::{enlarge_split, with_near_copies};

fn origins<K>(part: &Part<K>) -> HashSet<(String, u32)> {
    part.rows()
        .iter()
        .map(|r| (r.hospital.clone(), r.line))
        .collect()
}

#[test]
fn enlarged_parts_descend_only_from_their_own_part() {
    let params = common::lab_params();
    let parts = split(&common::real_examples(), &params.split, params.seed);
    let big = enlarge_split(&parts, 20, 3);

    assert_eq!(big.train.len(), parts.train.len() * 20);
    assert_eq!(big.test.len(), parts.test.len() * 20);
    assert!(origins(&big.train).is_subset(&origins(&parts.train)));
    assert!(origins(&big.validation).is_subset(&origins(&parts.validation)));
    assert!(origins(&big.test).is_subset(&origins(&parts.test)));
    assert!(origins(&big.train).is_disjoint(&origins(&big.test)));
}

#[test]
fn enlarging_keeps_labels_categories_and_missing_values_and_adds_finite_noise() {
    let params = common::lab_params();
    let parts = split(&common::real_examples(), &params.split, params.seed);
    let big = enlarge_split(&parts, 5, 9);
    let by_origin: std::collections::HashMap<(String, u32), _> = parts
        .train
        .rows()
        .iter()
        .map(|r| ((r.hospital.clone(), r.line), r))
        .collect();
    let mut moved = 0;
    for row in big.train.rows() {
        let original = by_origin[&(row.hospital.clone(), row.line)];
        assert_eq!(row.label, original.label);
        for (a, b) in row.features.iter().zip(&original.features) {
            assert_eq!(a.is_some(), b.is_some(), "missing values stay missing");
            if let (Some(a), Some(b)) = (a, b) {
                assert!(a.is_finite());
                moved += usize::from(a != b);
            }
        }
    }
    assert!(moved > 0, "measured values get noise");
    assert_eq!(
        enlarge_split(&parts, 5, 9),
        big,
        "the same seed gives the same data"
    );
}

#[test]
fn near_copies_follow_their_original() {
    let examples = common::real_examples();
    let copies = with_near_copies(&examples[..10], 2, 1);
    assert_eq!(copies.len(), 30);
    for chunk in copies.chunks(3) {
        assert!(chunk
            .iter()
            .all(|c| c.line == chunk[0].line && c.label == chunk[0].label));
    }
}

#[test]
fn a_large_part_trains_from_a_warm_start_to_the_same_optimum_conditions() {
    // Above 50,000 rows the solver starts from a sample's solution; the result
    // must still meet the optimality condition and speak of disease.
    let params = common::lab_params();
    let parts = split(&common::real_examples(), &params.split, params.seed);
    let big = heartlab::synthetic::enlarge(&parts.train, 120, 5);
    assert!(big.len() > 50_000);
    let (pipeline, trained) = heartlab::flow::fit(&big, &params).unwrap();
    assert!(trained.converged, "{}", trained.mean_gradient_norm);
    let design = pipeline.design(&parts.test);
    let p = trained.model.probabilities(design.values());
    let auc = heartlab::evaluate::metrics::roc_auc(&p, design.labels()).unwrap();
    assert!(auc > 0.8, "test ROC AUC {auc}");
}
