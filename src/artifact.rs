//! The model artifact: one file that holds everything prediction needs, and
//! a checksum beside it.
//!
//! The fitted pipeline and the model travel together, because a model is
//! only right for the inputs its own pipeline made. The file also says where
//! it came from (data and code versions, the seed) and how it scored, so a
//! server can show it and a reader can trace it. Loading refuses a file whose
//! bytes do not match the checksum, whose format this code does not read, or
//! whose features were made by other feature logic. It needs no polars and
//! no linfa: the server loads it as it is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::contract::{self, Domain, Kind};
use crate::evaluate::Headline;
use crate::example::FEATURES;
use crate::features::{FittedPipeline, FEATURE_LOGIC_VERSION};
use crate::model::LogisticModel;

/// Bumped whenever the artifact's layout changes.
pub const ARTIFACT_FORMAT_VERSION: u32 = 1;
/// The artifact's file name inside its folder; the checksum sits beside it.
pub const ARTIFACT_FILE: &str = "artifact.json";

/// Which data the model learned from: each raw file and its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataVersion {
    pub files: Vec<(String, String)>,
}

/// Which code made it. The commit is absent outside a git checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeVersion {
    pub crate_version: String,
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
}

/// How the model scored when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSummary {
    pub seed: u64,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub test_rows: usize,
    pub validation: Headline,
    pub test: Headline,
}

/// One input the model accepts, as the server must check it: its name,
/// whether it is whole, and its allowed codes or plausible range (from the
/// data contract), and the codes the model saw in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputField {
    pub name: String,
    pub meaning: String,
    pub integer: bool,
    pub codes: Option<Vec<i64>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Codes seen in training (categorical inputs); others are encoded as
    /// zeros and counted as unseen.
    pub seen_in_training: Option<Vec<f64>>,
    /// Whether a missing value is filled by the pipeline (every input in use
    /// is), or the column is not used by this model at all.
    pub used: bool,
}

impl InputField {
    /// The input as the data contract defines it, before any model: every
    /// input used, no codes seen yet.
    fn from_contract(spec: &contract::ColumnSpec) -> InputField {
        let (codes, min, max) = match spec.domain {
            Domain::Codes(codes) => (Some(codes.to_vec()), None, None),
            Domain::Range { min, max } => (None, Some(min), Some(max)),
        };
        InputField {
            name: spec.name.to_owned(),
            meaning: spec.meaning.to_owned(),
            integer: spec.kind == Kind::Integer,
            codes,
            min,
            max,
            seen_in_training: None,
            used: true,
        }
    }
}

/// The 13 features of the contract as inputs, before any model is loaded
/// (a server with no model shows this schema).
pub fn contract_schema() -> Vec<InputField> {
    FEATURES
        .iter()
        .filter_map(|name| contract::column(name))
        .map(InputField::from_contract)
        .collect()
}

/// The input schema of a pipeline: the contract's inputs, with the codes
/// the pipeline saw in training and whether it uses each input.
pub fn input_schema(pipeline: &FittedPipeline) -> Vec<InputField> {
    contract_schema()
        .into_iter()
        .map(|field| {
            let categorical = pipeline.categorical.iter().find(|s| s.column == field.name);
            let used =
                categorical.is_some() || pipeline.numeric.iter().any(|s| s.column == field.name);
            InputField {
                seen_in_training: categorical.map(|s| s.categories.clone()),
                used,
                ..field
            }
        })
        .collect()
}

/// Everything prediction needs, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub format_version: u32,
    pub feature_logic_version: u32,
    pub pipeline: FittedPipeline,
    pub model: LogisticModel,
    /// Flag a patient when the probability is at least this.
    pub threshold: f64,
    pub input_schema: Vec<InputField>,
    pub data: DataVersion,
    pub code: CodeVersion,
    pub training: TrainingSummary,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: checksum mismatch: the file's SHA-256 is {actual}, its .sha256 says {expected}"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: not a valid artifact: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: artifact format {found}, this build reads format {expected}")]
    Format {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error(
        "{path}: features made by feature logic {found}, this build's logic is {expected}; \
         retrain the model"
    )]
    FeatureLogic {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path}: the model has {model} inputs but the pipeline makes {pipeline}")]
    Shape {
        path: PathBuf,
        model: usize,
        pipeline: usize,
    },
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn checksum_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

impl Artifact {
    /// An artifact of this build's format for a fitted pipeline and its
    /// model: the versions and the input schema follow from them.
    pub fn new(
        pipeline: FittedPipeline,
        model: LogisticModel,
        threshold: f64,
        data: DataVersion,
        code: CodeVersion,
        training: TrainingSummary,
    ) -> Artifact {
        Artifact {
            format_version: ARTIFACT_FORMAT_VERSION,
            feature_logic_version: FEATURE_LOGIC_VERSION,
            input_schema: input_schema(&pipeline),
            pipeline,
            model,
            threshold,
            data,
            code,
            training,
        }
    }

    /// Writes `artifact.json` and `artifact.json.sha256` into `dir`. The JSON
    /// is written with sorted fields and exact floats, so the same model gives
    /// the same bytes and the same checksum.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, ArtifactError> {
        let path = dir.join(ARTIFACT_FILE);
        let write = |path: &Path, bytes: &[u8]| {
            std::fs::write(path, bytes).map_err(|source| ArtifactError::Write {
                path: path.to_owned(),
                source,
            })
        };
        let mut text =
            serde_json::to_string_pretty(self).map_err(|source| ArtifactError::Parse {
                path: path.clone(),
                source,
            })?;
        text.push('\n');
        write(&path, text.as_bytes())?;
        write(
            &checksum_path(&path),
            format!("{}  {ARTIFACT_FILE}\n", sha256_hex(text.as_bytes())).as_bytes(),
        )?;
        Ok(path)
    }

    /// Loads and verifies an artifact: checksum first (a changed byte is
    /// caught before parsing), then format and feature-logic versions, then
    /// that the model and the pipeline fit together.
    pub fn load(path: &Path) -> Result<Artifact, ArtifactError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| ArtifactError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let bytes = read(path)?;
        let sidecar = read(&checksum_path(path))?;
        let expected = String::from_utf8_lossy(&sidecar)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let actual = sha256_hex(&bytes);
        if actual != expected {
            return Err(ArtifactError::Checksum {
                path: path.to_owned(),
                expected,
                actual,
            });
        }
        Self::from_verified_bytes(path, &bytes)
    }

    fn from_verified_bytes(path: &Path, bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        // The format version is read on its own first, so an artifact of
        // another format says so instead of failing on some renamed field.
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let parse_error = |source| ArtifactError::Parse {
            path: path.to_owned(),
            source,
        };
        let header: Header = serde_json::from_slice(bytes).map_err(parse_error)?;
        if header.format_version != ARTIFACT_FORMAT_VERSION {
            return Err(ArtifactError::Format {
                path: path.to_owned(),
                found: header.format_version,
                expected: ARTIFACT_FORMAT_VERSION,
            });
        }
        let artifact: Artifact = serde_json::from_slice(bytes).map_err(parse_error)?;
        for found in [
            artifact.feature_logic_version,
            artifact.pipeline.feature_logic_version,
        ] {
            if found != FEATURE_LOGIC_VERSION {
                return Err(ArtifactError::FeatureLogic {
                    path: path.to_owned(),
                    found,
                    expected: FEATURE_LOGIC_VERSION,
                });
            }
        }
        if artifact.model.coefficients.len() != artifact.pipeline.width() {
            return Err(ArtifactError::Shape {
                path: path.to_owned(),
                model: artifact.model.coefficients.len(),
                pipeline: artifact.pipeline.width(),
            });
        }
        Ok(artifact)
    }

    /// The probability of disease and the flag, for one patient.
    pub fn predict(&self, hospital: &str, features: &[Option<f64>; 13]) -> (f64, bool) {
        let (row, _) = self.pipeline.transform(hospital, features);
        let p = self.model.probability(&row);
        (p, p >= self.threshold)
    }
}
