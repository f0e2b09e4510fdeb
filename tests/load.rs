//! Load and validate: every raw row is accounted for, quirks are read the
//! way the contract says, and a fifth hospital's file loads by the dialect
//! rules or fails naming the file, line and problem.

mod common;

use std::path::Path;

use heartlab::data::contract::{Violation, COLUMNS};
use heartlab::data::hospital::Hospital;
use heartlab::data::load::{load_files, load_hospitals, read_source, LoadDataError};
use polars::prelude::*;

#[test]
fn the_real_files_load_into_one_frame_of_920_rows_with_provenance() {
    let data = load_hospitals(&common::real_data_dir()).unwrap();

    assert_eq!(data.frame.height(), 920);
    let counts: Vec<(String, usize, usize)> = data
        .accounting()
        .into_iter()
        .map(|a| (a.source, a.rows_read, a.quarantined))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("cleveland".to_owned(), 303, 0),
            ("hungary".to_owned(), 294, 0),
            ("switzerland".to_owned(), 123, 0),
            ("va".to_owned(), 200, 0),
        ]
    );
    let names: Vec<&str> = data
        .frame
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(&names[..3], ["hospital", "line", "file_sha256"]);
    assert_eq!(
        names[3..].to_vec(),
        COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>()
    );

    let hashes = data
        .frame
        .column("file_sha256")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    let hospitals = data
        .frame
        .column("hospital")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    for (hospital, hash) in hospitals.iter().zip(hashes.iter()) {
        let h = Hospital::ALL
            .iter()
            .find(|h| Some(h.name()) == hospital)
            .unwrap();
        assert_eq!(hash, Some(h.sha256()));
    }
}

#[test]
fn the_missing_marks_of_the_real_files_all_become_nulls() {
    // The data's README counts the "?" marks per file; nulls must match them.
    let data = load_hospitals(&common::real_data_dir()).unwrap();
    let expected = [
        ("cleveland", 6),
        ("hungary", 782),
        ("switzerland", 273),
        ("va", 698),
    ];

    for (hospital, marks) in expected {
        let part = data
            .frame
            .clone()
            .lazy()
            .filter(col("hospital").eq(lit(hospital)))
            .collect()
            .unwrap();
        let nulls: usize = COLUMNS
            .iter()
            .map(|c| part.column(c.name).unwrap().null_count())
            .sum();
        assert_eq!(nulls, marks, "{hospital}");
    }
}

#[test]
fn a_file_that_differs_from_its_pin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for h in Hospital::ALL {
        std::fs::copy(
            common::real_data_dir().join(h.file_name()),
            dir.path().join(h.file_name()),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("processed.hungarian.data"),
        b"28,1,2,130,132,0,2,185,0,0,?,?,?,0\n",
    )
    .unwrap();

    let error = load_hospitals(dir.path()).unwrap_err();

    assert!(matches!(error, LoadDataError::NotPinned { ref file, .. }
            if file == "processed.hungarian.data"));
}

#[test]
fn cleveland_decimals_and_the_others_integers_give_the_same_typed_values() {
    let data = common::load_hospital_fixtures();
    let frame = &data.frame;

    assert_eq!(frame.column("age").unwrap().dtype(), &DataType::Int64);
    assert_eq!(frame.column("oldpeak").unwrap().dtype(), &DataType::Float64);
    let ages: Vec<Option<i64>> = frame.column("age").unwrap().i64().unwrap().iter().collect();
    assert_eq!(ages[0], Some(63), "Cleveland's 63.0");
    assert_eq!(ages[5], Some(28), "Hungary's 28");
    let oldpeak: Vec<Option<f64>> = frame
        .column("oldpeak")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(oldpeak[10], Some(0.7), "Switzerland's .7");
}

#[test]
fn hidden_zeros_pass_the_contract_and_stay_zero_for_cleaning_to_decide() {
    let data = common::load_hospital_fixtures();
    let swiss = data
        .frame
        .clone()
        .lazy()
        .filter(col("hospital").eq(lit("switzerland")));
    let chol = swiss
        .collect()
        .unwrap()
        .column("chol")
        .unwrap()
        .i64()
        .unwrap()
        .clone();
    assert!(chol.iter().all(|v| v == Some(0)));
}

fn load_fifth(name: &str) -> Result<heartlab::data::load::LoadedData, LoadDataError> {
    let path = common::fixture(&format!("fifth/{name}"));
    load_files(&[("fifth", path.as_path())])
}

fn values(data: &heartlab::data::load::LoadedData) -> Vec<Vec<Option<f64>>> {
    data.sources[0]
        .rows
        .iter()
        .map(|r| r.values.to_vec())
        .collect()
}

#[test]
fn every_accepted_layout_of_a_fifth_hospital_reads_to_the_same_rows() {
    let plain = values(&load_fifth("plain.data").unwrap());
    assert_eq!(plain.len(), 3);

    for layout in [
        "header.data",
        "reordered.data",
        "bom-crlf.data",
        "semicolon-decimal-comma.data",
    ] {
        let data = load_fifth(layout).unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert_eq!(values(&data), plain, "{layout}");
        assert_eq!(data.sources[0].quarantined.len(), 0, "{layout}");
    }
}

#[test]
fn rows_with_the_wrong_number_of_fields_are_quarantined_not_misread() {
    let data = load_fifth("wrong-count.data").unwrap();
    let source = &data.sources[0];

    assert_eq!(source.rows.len(), 1);
    let reasons: Vec<(u32, Vec<Violation>)> = source
        .quarantined
        .iter()
        .map(|q| (q.line, q.reasons.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                2,
                vec![Violation::FieldCount {
                    expected: 14,
                    found: 12
                }]
            ),
            // "2,4" written with a decimal comma in a comma-separated file.
            (
                3,
                vec![Violation::FieldCount {
                    expected: 14,
                    found: 15
                }]
            ),
        ]
    );
    assert!(source.accounting().balances());
}

#[test]
fn each_bad_value_is_quarantined_with_every_reason_and_its_raw_line() {
    let data = load_fifth("bad-values.data").unwrap();
    let source = &data.sources[0];

    let got: Vec<(u32, String)> = source
        .quarantined
        .iter()
        .map(|q| (q.line, q.reason_text()))
        .collect();
    insta::assert_debug_snapshot!(got);
    assert_eq!(source.rows.len(), 1);
    assert_eq!(source.blank_lines, 1);
    assert_eq!(
        source.quarantined[0].raw,
        "45,0,9,112,160,0,0,138,0,0,2,0,3,0"
    );
    assert!(source.accounting().balances());
}

#[test]
fn unreadable_files_fail_naming_the_file_line_and_problem() {
    let cases = [
        (
            "unknown-header.data",
            "unknown-header.data, line 1: the header names \"cholesterol\"",
        ),
        ("utf16.data", "utf16.data, line 1: the file is UTF-16 text"),
    ];
    for (name, expected) in cases {
        let error = load_fifth(name).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{name}: {error}");
    }
}

#[test]
fn an_empty_file_is_an_error_not_an_empty_hospital() {
    let error = read_source("fifth", "empty.data", b"\n \r\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "empty.data, line 1: the file has no rows"
    );
}

#[test]
fn a_missing_file_names_its_path() {
    let error = load_files(&[("fifth", Path::new("no/such/file.data"))]).unwrap_err();
    assert!(error.to_string().contains("no/such/file.data"), "{error}");
}
