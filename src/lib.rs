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

/// The polars version the lab is built with, for notebooks and tests that
/// work on the lab's frames (a second polars of another version would not
/// accept them).
#[cfg(feature = "lab")]
pub use polars;
