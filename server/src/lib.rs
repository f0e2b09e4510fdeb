//! heartlab-server: the lab's model over HTTP.
//!
//! - [`config`]: file and environment settings, checked at start.
//! - [`state`]: the loaded, verified, warmed-up model and the readiness flag.
//! - [`body`]: the JSON body, read and parsed.
//! - [`sent`]: what a client sent, read from the JSON into fixed slots.
//! - [`input`]: every request checked against the artifact's input schema.
//! - [`error`]: every error body and its status code, in one place.
//! - [`routes`]: the endpoints.
//! - [`answer`]: the prediction answers' shape, and the writer of their JSON.
//! - [`json_text`]: JSON strings and numbers written as serde_json writes them.
//! - [`openapi`]: the OpenAPI document, generated from the code.
//! - [`metrics`]: Prometheus metrics.
//! - [`telemetry`]: logs and the per-request span.
//! - [`log_format`]: the JSON log line.
//! - [`startup`]: building, running and draining the server.
//!
//! It depends on the `heartlab` library without its `lab` feature: the
//! prediction path needs no polars or linfa.
pub mod answer;
pub mod body;
pub mod config;
pub mod error;
pub mod input;
pub mod json_text;
pub mod log_format;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod sent;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use config::Config;
pub use startup::{shutdown_signal, Application};
