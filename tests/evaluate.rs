//! The screening scores: checked against linfa, against brute force, and
//! against the properties that define them.

mod common;

use heartlab::evaluate::metrics::{average_precision, brier, calibration, roc_auc, Confusion};
use heartlab::evaluate::{bootstrap, threshold, Predictions};
use heartlab::flow;
use heartlab::split::Validation;
use linfa::prelude::BinaryClassification;
use proptest::prelude::*;

fn scored() -> impl Strategy<Value = Vec<(f64, bool)>> {
    proptest::collection::vec((0.0..1.0f64, any::<bool>()), 2..200)
}

fn both_classes(rows: &[(f64, bool)]) -> bool {
    rows.iter().any(|r| r.1) && rows.iter().any(|r| !r.1)
}

proptest! {
    #[test]
    fn roc_auc_agrees_with_linfa(rows in scored()) {
        prop_assume!(both_classes(&rows));
        let (p, y): (Vec<f64>, Vec<bool>) = rows.iter().copied().unzip();
        let ours = roc_auc(&p, &y).unwrap();
        let pr: Vec<linfa::dataset::Pr> =
            p.iter().map(|v| linfa::dataset::Pr::new(*v as f32)).collect();
        let theirs = pr.as_slice().roc(&y[..]).unwrap().area_under_curve();
        prop_assert!((ours - f64::from(theirs)).abs() < 1e-3, "{} vs {}", ours, theirs);
    }

    #[test]
    fn roc_auc_depends_only_on_the_order_and_flips_with_it(rows in scored()) {
        prop_assume!(both_classes(&rows));
        let (p, y): (Vec<f64>, Vec<bool>) = rows.iter().copied().unzip();
        let auc = roc_auc(&p, &y).unwrap();
        let squashed: Vec<f64> = p.iter().map(|v| v.powi(3) * 0.5 + 0.1).collect();
        let reversed: Vec<f64> = p.iter().map(|v| 1.0 - v).collect();
        prop_assert!((roc_auc(&squashed, &y).unwrap() - auc).abs() < 1e-12);
        prop_assert!((roc_auc(&reversed, &y).unwrap() - (1.0 - auc)).abs() < 1e-12);
    }

    #[test]
    fn scores_stay_in_their_ranges(rows in scored(), t in 0.0..1.0f64) {
        let (p, y): (Vec<f64>, Vec<bool>) = rows.iter().copied().unzip();
        for v in [roc_auc(&p, &y), average_precision(&p, &y), brier(&p, &y)].into_iter().flatten() {
            prop_assert!((0.0..=1.0).contains(&v));
        }
        let c = Confusion::at(&p, &y, t);
        prop_assert_eq!(c.true_positive + c.false_positive + c.true_negative + c.false_negative,
            p.len());
        let bins = calibration(&p, &y, 10);
        prop_assert_eq!(bins.iter().map(|b| b.rows).sum::<usize>(), p.len());
    }

    #[test]
    fn the_chosen_threshold_is_as_cheap_as_any_other(rows in scored(), missed in 1.0..20.0f64) {
        let (p, y): (Vec<f64>, Vec<bool>) = rows.iter().copied().unzip();
        let mut params = common::lab_params().evaluate;
        params.cost_missed_disease = missed;
        let validation = Predictions::<Validation>::from_parts_for_experiment(p.clone(), y.clone());
        let choice = threshold::choose(&validation, &params);
        let cost = |t: f64| Confusion::at(&p, &y, t).cost(missed, params.cost_false_alarm);
        let best = cost(choice.threshold);
        for i in 0..=1000 {
            prop_assert!(best <= cost(i as f64 / 1000.0) + 1e-9);
        }
    }
}

#[test]
fn perfect_and_useless_rankings_score_what_they_should() {
    let y = [false, false, true, true];
    let perfect = [0.1, 0.2, 0.8, 0.9];
    assert_eq!(roc_auc(&perfect, &y), Some(1.0));
    assert_eq!(average_precision(&perfect, &y), Some(1.0));
    let flat = [0.5; 4];
    assert_eq!(roc_auc(&flat, &y), Some(0.5));
    // Everyone tied: average precision is the prevalence.
    assert_eq!(average_precision(&flat, &y), Some(0.5));
    assert_eq!(roc_auc(&perfect, &[true; 4]), None);
    assert_eq!(brier(&[1.0, 0.0], &[true, false]), Some(0.0));
}

#[test]
fn bootstrap_intervals_are_repeatable_and_hold_the_estimate() {
    let params = common::lab_params();
    let outcome = flow::run(&common::real_examples(), &params, params.seed).unwrap();
    let evaluation = outcome.evaluate_test(&params);
    let again = outcome.evaluate_test(&params);
    assert_eq!(evaluation, again);

    let overall = &evaluation.slices[0];
    assert_eq!(overall.slice, "overall");
    assert_eq!(overall.rows, outcome.split.test.len());
    for s in [
        &overall.roc_auc,
        &overall.pr_auc,
        &overall.brier,
        &overall.recall,
    ] {
        let (v, lo, hi) = (s.value.unwrap(), s.low.unwrap(), s.high.unwrap());
        assert!(lo <= v && v <= hi, "{lo} <= {v} <= {hi}");
        assert!(hi - lo > 0.0, "a real interval has width");
    }

    // The interval is the spread of the score over resamples, seeded.
    let p = vec![0.2, 0.4, 0.6, 0.8, 0.3, 0.7];
    let y = vec![false, false, true, true, true, false];
    let a = bootstrap::interval(&p, &y, roc_auc, 200, 0.9, 7);
    assert_eq!(a, bootstrap::interval(&p, &y, roc_auc, 200, 0.9, 7));
    assert_ne!(a, bootstrap::interval(&p, &y, roc_auc, 200, 0.9, 8));
}

#[test]
fn every_slice_is_reported_and_the_slices_add_up() {
    let params = common::lab_params();
    let outcome = flow::run(&common::real_examples(), &params, params.seed).unwrap();
    let evaluation = outcome.evaluate_test(&params);
    let total = outcome.split.test.len();
    for prefix in ["hospital=", "sex=", "age="] {
        let rows: usize = evaluation
            .slices
            .iter()
            .filter(|s| s.slice.starts_with(prefix))
            .map(|s| s.rows)
            .sum();
        assert_eq!(rows, total, "{prefix} slices must cover the test part once");
    }
    let names: Vec<&str> = evaluation.slices.iter().map(|s| s.slice.as_str()).collect();
    insta::assert_json_snapshot!("evaluation_slices", names);
}
