//! Property tests of the loader: it never panics, it reads "?" exactly where
//! it was written, line endings do not matter, and the accounting balances.

use heartlab::data::load::{read_source, WIDTH};
use proptest::prelude::*;

mod common;
use common::valid_row;

fn file_of(rows: &[Vec<String>], ending: &str) -> Vec<u8> {
    rows.iter()
        .map(|r| format!("{}{ending}", r.join(",")))
        .collect::<String>()
        .into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_every_row_is_accounted_for(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        if let Ok(parsed) = read_source("fuzz", "fuzz.data", &bytes) {
            let accounting = parsed.accounting();
            prop_assert!(accounting.balances());
            let non_blank = bytes
                .split(|&b| b == b'\n' || b == b'\r')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .count();
            let header = usize::from(parsed.dialect.header);
            prop_assert_eq!(accounting.rows_read + header, non_blank);
        }
    }

    #[test]
    fn lines_of_valid_looking_fields_never_panic_and_balance(
        lines in proptest::collection::vec(
            proptest::collection::vec("[0-9?.,;a-z -]{0,5}", 10..18), 1..20)
    ) {
        let text: String = lines.iter().map(|l| l.join(",") + "\n").collect();
        if let Ok(parsed) = read_source("fuzz", "fuzz.data", text.as_bytes()) {
            prop_assert!(parsed.accounting().balances());
        }
    }

    #[test]
    fn a_missing_mark_becomes_a_null_there_and_nowhere_else(
        rows in proptest::collection::vec(valid_row(), 1..30)
    ) {
        let parsed = read_source("p", "p.data", &file_of(&rows, "\n")).unwrap();

        prop_assert_eq!(parsed.rows.len(), rows.len());
        prop_assert!(parsed.quarantined.is_empty());
        for (row, read) in rows.iter().zip(&parsed.rows) {
            for (raw, value) in row.iter().zip(read.values) {
                prop_assert_eq!(raw == "?", value.is_none());
                if raw != "?" {
                    prop_assert_eq!(value, Some(raw.parse::<f64>().unwrap()));
                }
            }
        }
    }

    #[test]
    fn line_endings_do_not_change_the_rows(
        rows in proptest::collection::vec(valid_row(), 1..30)
    ) {
        let lf = read_source("p", "p.data", &file_of(&rows, "\n")).unwrap();
        let crlf = read_source("p", "p.data", &file_of(&rows, "\r\n")).unwrap();
        let cr = read_source("p", "p.data", &file_of(&rows, "\r")).unwrap();

        prop_assert_eq!(&lf.rows, &crlf.rows);
        prop_assert_eq!(&lf.rows, &cr.rows);
    }

    #[test]
    fn a_broken_row_among_good_ones_is_quarantined_alone(
        rows in proptest::collection::vec(valid_row(), 1..20),
        position in any::<prop::sample::Index>(),
        column in 0..WIDTH,
        junk in "[a-z]{1,4}",
    ) {
        let mut rows = rows;
        let at = position.index(rows.len());
        rows[at][column] = junk;

        let parsed = read_source("p", "p.data", &file_of(&rows, "\r\n")).unwrap();

        prop_assert_eq!(parsed.rows.len(), rows.len() - 1);
        prop_assert_eq!(parsed.quarantined.len(), 1);
        prop_assert_eq!(parsed.quarantined[0].line as usize, at + 1);
        prop_assert!(parsed.accounting().balances());
    }
}
