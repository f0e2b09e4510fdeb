//! The data report is a deliverable: its text is snapshot-tested on the
//! fixtures and on the real data, and its numbers are checked against
//! independent counts.

mod common;

use heartlab::data::load::load_hospitals;
use heartlab::report::DataReport;

#[test]
fn the_report_on_the_fixtures_matches_its_snapshot() {
    let report = DataReport::build(&common::load_hospital_fixtures()).unwrap();
    insta::assert_snapshot!("fixtures_report", report.to_markdown("charts"));
}

#[test]
fn the_report_on_the_real_data_matches_its_snapshot() {
    let report = DataReport::build(&load_hospitals(&common::real_data_dir()).unwrap()).unwrap();
    insta::assert_snapshot!("real_data_report", report.to_markdown("charts"));
}

#[test]
fn the_report_counts_agree_with_a_plain_count_of_the_raw_text() {
    // An independent count: split the raw text by hand, no polars involved.
    let dir = common::real_data_dir();
    let report = DataReport::build(&load_hospitals(&dir).unwrap()).unwrap();

    for (i, hospital) in heartlab::data::hospital::Hospital::ALL.iter().enumerate() {
        let text = std::fs::read_to_string(dir.join(hospital.file_name())).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').split(',').collect())
            .collect();
        let diseased = rows
            .iter()
            .filter(|r| r[13].parse::<f64>().unwrap() > 0.0)
            .count();
        let ca_missing = rows.iter().filter(|r| r[11] == "?").count();
        let chol_zero_or_missing = rows
            .iter()
            .filter(|r| r[4] == "?" || r[4].parse::<f64>() == Ok(0.0))
            .count();

        let prevalence = &report.stats.prevalence[i];
        assert_eq!(prevalence.rows, rows.len(), "{hospital}");
        assert_eq!(prevalence.diseased, diseased, "{hospital}");
        let missing = |name: &str| {
            let (_, per) = report
                .stats
                .missing
                .iter()
                .find(|(c, _)| *c == name)
                .unwrap();
            per[i].total()
        };
        assert_eq!(missing("ca"), ca_missing, "{hospital}");
        assert_eq!(missing("chol"), chol_zero_or_missing, "{hospital}");
    }
}

#[test]
fn the_report_writes_markdown_json_and_every_chart_it_links() {
    let report = DataReport::build(&common::load_hospital_fixtures()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    report.write(dir.path()).unwrap();

    let markdown = std::fs::read_to_string(dir.path().join("data-report.md")).unwrap();
    let links: Vec<&str> = markdown
        .match_indices("](charts/")
        .map(|(at, _)| {
            let rest = &markdown[at + 2..];
            &rest[..rest.find(')').unwrap()]
        })
        .collect();
    assert_eq!(links.len(), report.charts.len());
    for link in links {
        let svg = std::fs::read_to_string(dir.path().join(link)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{link}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("data-report.json")).unwrap())
            .unwrap();
    assert_eq!(json["stats"]["hospitals"].as_array().unwrap().len(), 4);
}
