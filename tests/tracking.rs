//! Run records and the stage files: the DVC stages make the same model as
//! the one-call flow, records read back equal, and the tables a person reads
//! are pinned by snapshots.

mod common;

use std::collections::BTreeMap;

use heartlab::artifact::CodeVersion;
use heartlab::flow;
use heartlab::split::{Test, Train, Validation};
use heartlab::stages;
use heartlab::tracking::{
    compare, flatten_params, DataRecord, Environment, FileHash, RunContents, RunKind, RunRecord,
    RunStart, RunStore, TrackingError,
};

fn code() -> CodeVersion {
    CodeVersion {
        crate_version: "test".into(),
        git_commit: Some("0123456789abcdef".into()),
        git_dirty: Some(false),
    }
}

#[test]
fn the_stages_through_their_files_make_the_same_artifact_as_the_flow_byte_for_byte() {
    let params = common::lab_params();
    let examples = common::real_examples();
    let outcome = flow::run(&examples, &params, params.seed).unwrap();
    let direct = outcome.artifact(&params, code());

    // split → files → train → fit.json → evaluate/package, as DVC runs them.
    let dir = tempfile::tempdir().unwrap();
    let split = heartlab::split::split(&examples, &params.split, params.seed);
    stages::write_split(dir.path(), &split).unwrap();
    let train: heartlab::split::Part<Train> = stages::read_part(dir.path()).unwrap();
    let validation: heartlab::split::Part<Validation> = stages::read_part(dir.path()).unwrap();
    let test: heartlab::split::Part<Test> = stages::read_part(dir.path()).unwrap();
    assert_eq!(train, split.train);
    assert_eq!(test, split.test);

    let fitted = flow::fit_and_choose(&train, &validation, &params).unwrap();
    let fit_path = dir.path().join("fit.json");
    stages::write_json(&fit_path, &fitted).unwrap();
    let fitted: flow::Fitted = stages::read_json(&fit_path).unwrap();
    let headline = fitted.test_headline(&test, &params);
    let staged = fitted.artifact(headline, test.len(), &params, code());

    let bytes = |a: &heartlab::artifact::Artifact, name: &str| {
        let out = dir.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::read(a.write(&out).unwrap()).unwrap()
    };
    assert_eq!(bytes(&direct, "direct"), bytes(&staged, "staged"));
}

#[test]
fn training_twice_gives_a_byte_identical_artifact() {
    let params = common::lab_params();
    let examples = common::real_examples();
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for name in ["first", "second"] {
        let outcome = flow::run(&examples, &params, params.seed).unwrap();
        let out = dir.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        let path = outcome.artifact(&params, code()).write(&out).unwrap();
        written.push(std::fs::read(path).unwrap());
    }
    assert_eq!(written[0], written[1]);
}

#[test]
fn a_part_file_with_a_bad_line_is_refused_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("test.jsonl"), "{\"hospital\": 1}\n").unwrap();
    let error = stages::read_part::<Test>(dir.path()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("test.jsonl, line 1"), "{message}");
}

fn record(id_seed: u32, l2: f64, auc: f64) -> RunRecord {
    let mut params = common::lab_params();
    params.model.l2 = l2;
    let mut metrics = BTreeMap::new();
    metrics.insert("test.roc_auc".to_owned(), auc);
    metrics.insert("threshold".to_owned(), 0.25);
    let mut curves = BTreeMap::new();
    curves.insert(
        "test.roc.tpr_at_fpr_percent".to_owned(),
        vec![(0, 0.0), (50, 0.9)],
    );
    let mut record = RunStart::now(RunKind::Evaluate).finish(RunContents {
        params,
        metrics,
        curves,
        data: DataRecord {
            raw_files: vec![FileHash {
                path: "data/raw/processed.cleveland.data".into(),
                sha256: "ab".repeat(32),
                bytes: 18_461,
            }],
            dvc_lock_sha256: Some("cd".repeat(32)),
        },
        code: code(),
        inputs: Vec::new(),
        artifacts: Vec::new(),
    });
    // Fixed times and ids, so the tables can be snapshot.
    record.id = format!("20260101T00000{id_seed}Z-evaluate-00000{id_seed}");
    record.started_at = format!("2026-01-01T00:00:0{id_seed}Z");
    record.started_ms = 1_767_225_600_000 + u64::from(id_seed) * 1000;
    record.duration_ms = 12;
    record.environment = Environment {
        rustc: "rustc 1.95.0".into(),
        target: "x86_64-unknown-linux-gnu".into(),
        profile: "debug".into(),
        crates: BTreeMap::new(),
    };
    record
}

#[test]
fn a_record_names_every_parameter_and_this_build() {
    let params = common::lab_params();
    let flat = flatten_params(&params);
    for name in [
        "seed",
        "model.l2",
        "clean.max_missing_share",
        "features.numeric.age.impute",
    ] {
        assert!(flat.contains_key(name), "{name} missing from {flat:?}");
    }
    assert_eq!(
        flat["model.l2"],
        serde_json::to_string(&params.model.l2).unwrap()
    );

    let env = Environment::current();
    assert!(env.rustc.starts_with("rustc "), "{}", env.rustc);
    for crate_name in ["polars", "linfa-logistic", "heartlab"] {
        assert!(
            env.crates.contains_key(crate_name),
            "{crate_name}: {:?}",
            env.crates
        );
    }
}

#[test]
fn records_read_back_equal_and_are_found_by_unique_prefix_or_as_latest() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    assert!(store.list().unwrap().is_empty());

    let (a, b) = (record(1, 1.0, 0.89), record(2, 10.0, 0.88));
    store.save(&b).unwrap();
    store.save(&a).unwrap();
    assert_eq!(store.list().unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(store.find(&a.id).unwrap(), a);
    assert_eq!(store.find("20260101T000002Z").unwrap(), b);
    assert_eq!(store.find("latest").unwrap(), b);
    assert!(matches!(
        store.find("20260101"),
        Err(TrackingError::AmbiguousRun { count: 2, .. })
    ));
    assert!(matches!(
        store.find("nope"),
        Err(TrackingError::UnknownRun { .. })
    ));
}

#[test]
fn the_run_tables_match_their_reviewed_snapshots() {
    let (a, b) = (record(1, 1.0, 0.89), record(2, 10.0, 0.88));
    insta::assert_snapshot!("runs_list", compare::list(&[a.clone(), b.clone()]));
    insta::assert_snapshot!("runs_compare", compare::compare(&a, &b));
}

#[test]
fn comparing_two_runs_shows_only_what_differs() {
    let (a, b) = (record(1, 1.0, 0.89), record(2, 10.0, 0.88));
    let table = compare::compare(&a, &b);
    assert!(table.contains("| model.l2 | `1.0` | `10.0` |"), "{table}");
    assert!(
        !table.contains("| seed |"),
        "equal seeds are not listed: {table}"
    );
    assert!(
        table.contains("| test.roc_auc | 0.8900 | 0.8800 | -0.0100 |"),
        "{table}"
    );
}
