//! The decision log's generated part, and the log's own rules.

mod common;

#[test]
fn the_parameter_table_matches_its_reviewed_snapshot() {
    let md = common::lab_params().to_markdown();
    insta::assert_snapshot!("parameter_table", md);
}

#[test]
fn every_decision_the_parameter_table_cites_exists_in_the_log() {
    let log = std::fs::read_to_string(common::root().join("docs/decisions.md")).unwrap();
    let md = common::lab_params().to_markdown();
    for line in md.lines().skip(2) {
        let decision = line.rsplit('|').nth(1).unwrap().trim();
        assert!(
            log.contains(&format!("## {decision}:")),
            "{decision} is cited for {line} but has no entry"
        );
    }
}

#[test]
fn decision_numbers_are_unique_and_in_order() {
    let log = std::fs::read_to_string(common::root().join("docs/decisions.md")).unwrap();
    let numbers: Vec<u32> = log
        .lines()
        .filter_map(|l| l.strip_prefix("## D-"))
        .map(|l| l[..3].parse().unwrap())
        .collect();
    let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
    assert_eq!(numbers, expected);
}
