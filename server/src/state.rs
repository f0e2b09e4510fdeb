//! What the server holds: the loaded model (or why there is none), the
//! readiness flag, the metrics and the limits.
//!
//! The artifact is loaded once, before the port is bound. A server that
//! cannot load it still starts, answers liveness and reports not-ready with
//! the reason: in Kubernetes a crash loop hides the reason in old logs,
//! while a not-ready pod shows it on its readiness endpoint and in events.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use heartlab::artifact::Artifact;
use heartlab::features::{Resolved, TransformNotes};
use sha2::{Digest, Sha256};

use crate::answer::Answers;
use crate::input::{Patient, Schema};
use crate::metrics::{Metrics, ModelLabels};

/// A verified, warmed-up artifact and what the server derives from it.
pub struct Model {
    pub artifact: Artifact,
    /// The SHA-256 of the artifact file: the model's version on the wire.
    pub sha256: String,
    pub schema: Schema,
    /// Writes the answers, with this model's versions and threshold.
    pub answers: Answers,
    /// Where the pipeline's columns sit among the inputs, found once.
    resolved: Resolved,
}

/// One scored row.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub probability: f64,
    pub label: bool,
    pub notes: TransformNotes,
}

impl Model {
    /// Loads and verifies the artifact (checksum, format, feature logic,
    /// shape: see `Artifact::load`), derives the input rules, and warms up.
    pub fn load(path: &Path) -> Result<Model, String> {
        let artifact = Artifact::load(path).map_err(|e| e.to_string())?;
        let bytes =
            std::fs::read(path).map_err(|e| format!("failed to read {}: {e}", path.display()))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let schema = Schema::from_artifact(&artifact)?;
        let answers = Answers::new(&sha256, artifact.feature_logic_version, artifact.threshold);
        let resolved = artifact.pipeline.resolve();
        let model = Model {
            artifact,
            sha256,
            schema,
            answers,
            resolved,
        };
        model.warm_up()?;
        Ok(model)
    }

    /// Scores a patient with every input missing (each filled by the
    /// pipeline): it touches the whole prediction path once before the first
    /// client does, and refuses a model whose output is not a probability.
    fn warm_up(&self) -> Result<(), String> {
        let patient = Patient {
            hospital: self
                .schema
                .hospitals()
                .and_then(|h| h.first().cloned())
                .unwrap_or_default(),
            features: [None; 13],
        };
        let scored = self.score(&patient);
        if (0.0..=1.0).contains(&scored.probability) {
            Ok(())
        } else {
            Err(format!(
                "warm-up: the model returned {} for a patient with every input filled, \
                 not a probability",
                scored.probability
            ))
        }
    }

    /// Scores one checked patient. The same two library calls as
    /// `Artifact::predict`, kept apart to get the transform's notes (inputs
    /// filled, categories unseen) for the metrics, and with the pipeline's
    /// columns found once at load rather than for every request; a test
    /// holds the two equal bit for bit.
    pub fn score(&self, patient: &Patient) -> Scored {
        let pipeline = &self.artifact.pipeline;
        let mut row = Vec::with_capacity(pipeline.width());
        let mut notes = TransformNotes::default();
        pipeline.transform_resolved(
            &self.resolved,
            &patient.hospital,
            &patient.features,
            &mut row,
            &mut notes,
        );
        let probability = self.artifact.model.probability(&row);
        Scored {
            probability,
            label: probability >= self.artifact.threshold,
            notes,
        }
    }
}

/// The limits requests are held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_batch_rows: usize,
    pub max_body_bytes: usize,
}

/// Shared by every worker.
pub struct AppState {
    model: Result<Arc<Model>, String>,
    shutting_down: AtomicBool,
    pub metrics: Metrics,
    pub limits: Limits,
}

impl AppState {
    pub fn new(model: Result<Model, String>, metrics: Metrics, limits: Limits) -> AppState {
        if let Ok(model) = &model {
            metrics.set_model(&ModelLabels {
                sha256: &model.sha256,
                format_version: model.artifact.format_version,
                feature_logic_version: model.artifact.feature_logic_version,
                crate_version: &model.artifact.code.crate_version,
                git_commit: model
                    .artifact
                    .code
                    .git_commit
                    .as_deref()
                    .unwrap_or("unknown"),
            });
        }
        let state = AppState {
            model: model.map(Arc::new),
            shutting_down: AtomicBool::new(false),
            metrics,
            limits,
        };
        state.metrics.set_ready(state.not_ready_reason().is_none());
        state
    }

    /// The model, or why there is none.
    pub fn model(&self) -> Result<&Arc<Model>, &str> {
        self.model.as_ref().map_err(String::as_str)
    }

    /// Why the server should not get traffic, or None when it should.
    pub fn not_ready_reason(&self) -> Option<String> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Some("shutting down".to_owned());
        }
        self.model
            .as_ref()
            .err()
            .map(|reason| format!("no model loaded: {reason}"))
    }

    /// Readiness turns false at once; requests are still served.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.metrics.set_ready(false);
    }
}
