//! The data room: fetching the pinned files, loading them with polars,
//! checking every row against the contract, and keeping what was refused.
//!
//! `contract` and `hospital` are plain data, shared with the prediction path;
//! the rest needs the `lab` feature (polars, an HTTP client).
pub mod contract;
#[cfg(feature = "lab")]
pub mod fetch;
pub mod hospital;
#[cfg(feature = "lab")]
pub mod load;
#[cfg(feature = "lab")]
pub mod quarantine;
