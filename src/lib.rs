//! heartlab: an MLOps learning lab around the UCI Heart Disease data.
//!
//! The modules follow the data's path through the lab:
//!
//! - [`data`]: fetch the pinned files, load them, hold every row to the
//!   contract, quarantine what breaks it.
//! - [`report`]: the phase-1 data report, its findings and charts.
//! - [`params`]: every cleaning, split and feature choice, from `lab/params.yaml`.
//! - [`clean`]: phase 2, hidden zeros, dropped columns and rows, the label.
//! - [`cleaning_costs`]: what each way of cleaning keeps and scores.
//! - [`example`]: one patient as the model sees it.
//! - [`split`]: train, validation and test parts as distinct types.
//! - [`features`]: preprocessing fitted on the training part only.
//! - [`design`]: the matrix the model sees, typed by the part it came from.
//! - [`model`]: the logistic regression, its loss, and (with `lab`) training.
//! - [`evaluate`]: screening scores per slice, intervals, the threshold.
//! - [`flow`]: the honest run from examples to test scores.
//! - [`artifact`]: everything prediction needs, in one verified file.
//! - [`model_card`]: what the model is for and how it scored.
//! - [`leakage`]: phase 3's experiments that break the rules on purpose.
//! - [`synthetic`]: a 1000-times-larger data set for the speed targets.
//! - [`seed_study`]: how many seeds it takes for a mean score to settle.
//! - [`stages`]: the files the DVC stages hand to each other.
//! - [`tracking`]: run records, kept locally and sent to MLflow when asked.
//! - [`paths`]: where the lab keeps its files, in one place.
//!
//! Modules that need polars (loading, the report, cleaning) sit behind the
//! `lab` feature; the rest is what the prediction path will use.
pub mod artifact;
#[cfg(feature = "lab")]
pub mod clean;
#[cfg(feature = "lab")]
pub mod cleaning_costs;
pub mod data;
pub mod design;
pub mod evaluate;
pub mod example;
pub mod features;
#[cfg(feature = "lab")]
pub mod flow;
#[cfg(feature = "lab")]
pub mod leakage;
pub mod model;
pub mod model_card;
pub mod params;
#[cfg(feature = "lab")]
pub mod paths;
#[cfg(feature = "lab")]
pub mod report;
#[cfg(feature = "lab")]
pub mod seed_study;
pub mod split;
#[cfg(feature = "lab")]
pub mod stages;
pub mod synthetic;
#[cfg(feature = "lab")]
pub mod tracking;

/// The polars version the lab is built with, for notebooks and tests that
/// work on the lab's frames (a second polars of another version would not
/// accept them).
#[cfg(feature = "lab")]
pub use polars;
