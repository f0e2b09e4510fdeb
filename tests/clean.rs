//! Cleaning: deterministic, idempotent, never invents a row, never reads the
//! label to fill a feature, and accounts for every row it drops.

mod common;

use heartlab::clean::{clean, DropReason, DISEASE, FEATURES};
use heartlab::params::CleanParams;
use heartlab::polars::prelude::*;
use proptest::prelude::*;

/// The rows of `frame` whose (hospital, line) also appear in `other`, in
/// `frame`'s order.
fn rows_also_in(frame: &DataFrame, other: &DataFrame) -> DataFrame {
    let keys = [col("hospital"), col("line")];
    frame
        .clone()
        .lazy()
        .join(
            other.clone().lazy().select(keys.clone()),
            keys.clone(),
            keys,
            JoinArgs::new(JoinType::Inner),
        )
        .collect()
        .unwrap()
}

#[test]
fn every_row_is_accounted_for_and_every_drop_has_a_reason() {
    let data = heartlab::data::load::load_hospitals(&common::real_data_dir()).unwrap();
    let cleaned = common::cleaned_real_data();

    let rows_in: usize = cleaned.accounting.iter().map(|a| a.rows_in).sum();
    let rows_out: usize = cleaned.accounting.iter().map(|a| a.rows_out).sum();
    assert_eq!(rows_in, data.frame.height());
    assert_eq!(rows_out, cleaned.frame.height());
    assert_eq!(rows_in, rows_out + cleaned.dropped.len());
    for a in &cleaned.accounting {
        assert_eq!(a.rows_in, a.rows_out + a.dropped, "{}", a.hospital);
        let reasons = cleaned
            .dropped
            .iter()
            .filter(|d| d.hospital == a.hospital)
            .count();
        assert_eq!(reasons, a.dropped, "{}", a.hospital);
    }
}

#[test]
fn cleaning_its_own_output_changes_nothing() {
    let params = common::lab_params().clean;
    let once = common::cleaned_real_data();

    let twice = clean(&once.frame, &params).unwrap();

    assert!(once.frame.equals_missing(&twice.frame));
    assert!(twice.dropped.is_empty(), "{:?}", twice.dropped);
}

#[test]
fn cleaning_is_deterministic() {
    let a = common::cleaned_real_data();
    let b = common::cleaned_real_data();
    assert!(a.frame.equals_missing(&b.frame));
    assert_eq!(a.dropped, b.dropped);
}

#[test]
fn hidden_zeros_become_missing_and_no_missing_value_is_filled() {
    let data = heartlab::data::load::load_hospitals(&common::real_data_dir()).unwrap();
    let cleaned = common::cleaned_real_data();

    let zeros = cleaned
        .frame
        .column("chol")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .filter(|v| *v == Some(0));
    assert_eq!(zeros.count(), 0);
    // Nulls can only grow: cleaning never fills a value.
    let kept = rows_also_in(&data.frame, &cleaned.frame);
    for name in FEATURES {
        let before = kept.column(name).unwrap().null_count();
        let after = cleaned.frame.column(name).unwrap().null_count();
        assert!(
            after >= before,
            "{name}: {before} nulls before, {after} after"
        );
    }
}

#[test]
fn changing_the_label_never_changes_a_feature() {
    let params = common::lab_params().clean;
    let data = heartlab::data::load::load_hospitals(&common::real_data_dir()).unwrap();
    let flipped = data
        .frame
        .clone()
        .lazy()
        .with_column((lit(4) - col("num")).alias("num"))
        .collect()
        .unwrap();

    let a = clean(&data.frame, &params).unwrap();
    let b = clean(&flipped, &params).unwrap();

    let features: Vec<Expr> = FEATURES.iter().map(|f| col(*f)).collect();
    let pick = |frame: &DataFrame| {
        frame
            .clone()
            .lazy()
            .select(features.clone())
            .collect()
            .unwrap()
    };
    // Duplicates are judged with the label, so compare the rows both kept.
    assert!(pick(&rows_also_in(&a.frame, &b.frame))
        .equals_missing(&pick(&rows_also_in(&b.frame, &a.frame))));
    assert_ne!(
        a.frame.column(DISEASE).unwrap(),
        b.frame.column(DISEASE).unwrap()
    );
}

#[test]
fn dropped_columns_are_gone_and_too_empty_rows_are_dropped_with_their_count() {
    let mut params = common::lab_params().clean;
    params.drop_columns = vec!["ca".into(), "thal".into()];
    params.max_missing_share = 0.2;
    let data = heartlab::data::load::load_hospitals(&common::real_data_dir()).unwrap();

    let cleaned = clean(&data.frame, &params).unwrap();

    assert!(cleaned.frame.column("ca").is_err() && cleaned.frame.column("thal").is_err());
    for d in &cleaned.dropped {
        if let DropReason::TooManyMissing {
            missing, features, ..
        } = d.reason
        {
            assert_eq!(features, 11);
            assert!(missing as f64 / features as f64 > 0.2);
        }
    }
    assert!(cleaned
        .examples()
        .unwrap()
        .iter()
        .all(|e| e.features[11].is_none()));
}

/// Any cleaning parameters the checks would accept.
fn any_clean_params() -> impl Strategy<Value = CleanParams> {
    let columns = proptest::sample::subsequence(FEATURES.to_vec(), 0..4);
    let zeros = proptest::sample::subsequence(vec!["trestbps", "chol", "oldpeak"], 0..3);
    (columns, zeros, 0.0..=1.0f64, 1i64..=4, any::<bool>()).prop_map(
        |(drop, zeros, share, positive, duplicates)| CleanParams {
            zeros_as_missing: zeros.into_iter().map(str::to_owned).collect(),
            drop_columns: drop.into_iter().map(str::to_owned).collect(),
            max_missing_share: share,
            positive_from_num: positive,
            drop_duplicates: duplicates,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the rows (repeats included) and whatever the parameters, every
    /// row is accounted for and cleaning its own output changes nothing.
    #[test]
    fn for_any_rows_and_parameters_cleaning_balances_and_is_idempotent(
        rows in proptest::collection::vec(common::valid_row(), 1..40),
        repeats in proptest::collection::vec(0usize..40, 0..10),
        params in any_clean_params(),
    ) {
        let mut all = rows.clone();
        all.extend(repeats.iter().map(|&i| rows[i % rows.len()].clone()));
        let text: String = all.iter().map(|r| format!("{}\n", r.join(","))).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hospital.data");
        std::fs::write(&path, text).unwrap();
        let data = heartlab::data::load::load_files(&[("generated", path.as_path())]).unwrap();

        let once = clean(&data.frame, &params).unwrap();
        let rows_in: usize = once.accounting.iter().map(|a| a.rows_in).sum();
        prop_assert_eq!(rows_in, data.frame.height());
        for a in &once.accounting {
            prop_assert_eq!(a.rows_in, a.rows_out + a.dropped);
        }
        prop_assert_eq!(once.frame.height() + once.dropped.len(), data.frame.height());

        let twice = clean(&once.frame, &params).unwrap();
        prop_assert!(once.frame.equals_missing(&twice.frame));
        prop_assert!(twice.dropped.is_empty());
    }
}
