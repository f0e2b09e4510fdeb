//! heartlab: an MLOps learning lab around the UCI Heart Disease data.
//!
//! The modules follow the data's path through the lab:
//!
//! - [`data`]: fetch the pinned files, load them, hold every row to the
//!   contract, quarantine what breaks it.
//! - [`report`]: the phase-1 data report, its findings and charts.
//! - [`paths`]: where the lab keeps its files, in one place.
pub mod data;
#[cfg(feature = "lab")]
pub mod paths;
#[cfg(feature = "lab")]
pub mod report;
