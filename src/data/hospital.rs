//! The four hospitals of the UCI data set and the files that hold them.

use std::fmt;

use serde::Serialize;

/// A hospital that contributed patients to the UCI Heart Disease data.
///
/// A fifth hospital is not a variant here: its file is loaded by name through
/// [`crate::data::load::read_source`], which holds the contract to the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hospital {
    Cleveland,
    Hungary,
    Switzerland,
    LongBeachVa,
}

impl Hospital {
    /// All four, in the order the UCI page lists them.
    pub const ALL: [Hospital; 4] = [
        Hospital::Cleveland,
        Hospital::Hungary,
        Hospital::Switzerland,
        Hospital::LongBeachVa,
    ];

    /// The short name used in frames, reports and file names.
    pub fn name(self) -> &'static str {
        match self {
            Hospital::Cleveland => "cleveland",
            Hospital::Hungary => "hungary",
            Hospital::Switzerland => "switzerland",
            Hospital::LongBeachVa => "va",
        }
    }

    /// The published file that holds this hospital's rows.
    pub fn file_name(self) -> &'static str {
        match self {
            Hospital::Cleveland => "processed.cleveland.data",
            Hospital::Hungary => "processed.hungarian.data",
            Hospital::Switzerland => "processed.switzerland.data",
            Hospital::LongBeachVa => "processed.va.data",
        }
    }

    /// The SHA-256 of the published file, as the UCI repository serves it.
    ///
    /// Pinned in code rather than read from a file next to the data, so a
    /// tampered mirror cannot bring its own checksums.
    pub fn sha256(self) -> &'static str {
        match self {
            Hospital::Cleveland => {
                "a74b7efa387bc9d108d7d0115d831fe9b414b29ae7124f331b622b4efa0427c8"
            }
            Hospital::Hungary => "31134d83efc3266e486acece5e259585d7a52f16afa5567f195e70a993327afe",
            Hospital::Switzerland => {
                "422aa0182e5b95ff4ef2d95512caf3335e114fc1816db477a5a30286b267c2d7"
            }
            Hospital::LongBeachVa => {
                "1a12cdc1aa204bc5506aa22f04b6c45224b23f36adbd1c62039f65f370e334ea"
            }
        }
    }

    /// Where the hospital is, for people.
    pub fn place(self) -> &'static str {
        match self {
            Hospital::Cleveland => "Cleveland Clinic Foundation, Ohio",
            Hospital::Hungary => "Hungarian Institute of Cardiology, Budapest",
            Hospital::Switzerland => "University Hospitals of Zurich and Basel",
            Hospital::LongBeachVa => "V.A. Medical Center, Long Beach, California",
        }
    }
}

impl fmt::Display for Hospital {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
