//! One patient as the model sees it, shared by cleaning, the split, the
//! features and (later) the server. Plain data: no polars needed.

use serde::{Deserialize, Serialize};

use crate::data::contract::{Role, COLUMNS};

/// The 13 feature columns of the contract, in contract order.
pub const FEATURES: [&str; 13] = {
    let mut names = [""; 13];
    let mut i = 0;
    let mut j = 0;
    while i < COLUMNS.len() {
        if matches!(COLUMNS[i].role, Role::Feature) {
            names[j] = COLUMNS[i].name;
            j += 1;
        }
        i += 1;
    }
    names
};

/// The yes/no label cleaning adds next to `num`.
pub const DISEASE: &str = "disease";

/// One patient, ready for the split: features in [`FEATURES`] order, `None`
/// where missing (or where the column was dropped), and the label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub hospital: String,
    pub line: u32,
    pub features: [Option<f64>; 13],
    pub label: bool,
}
