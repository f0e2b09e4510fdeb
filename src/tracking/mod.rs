//! Run records: what each training, evaluation and packaging run used and
//! produced, so a run from months ago can be found, compared and redone.
//!
//! A record names everything that decides the outcome (parameters, seed,
//! data hashes, code commit, feature-logic version, compiler and crate
//! versions) and everything that came out (metrics, curves, files with
//! their hashes). Records are plain JSON files in `lab/runs/`, ignored by
//! git: local by default, with no server to run. When `MLFLOW_TRACKING_URI`
//! is set, the same record is also sent to MLflow ([`mlflow`]).

pub mod compare;
#[cfg(feature = "lab")]
pub mod mlflow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifact::CodeVersion;
use crate::features::FEATURE_LOGIC_VERSION;
use crate::params::LabParams;

/// Where records go, relative to the repository root.
pub use crate::paths::RUNS_DIR;

#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
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
    #[error("{path}: not a run record: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no run {id} in {dir}")]
    UnknownRun { id: String, dir: PathBuf },
    #[error("run id {id} matches {count} runs in {dir}; give more of it")]
    AmbiguousRun {
        id: String,
        count: usize,
        dir: PathBuf,
    },
}

/// Which stage made the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Train,
    Evaluate,
    Package,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Train => "train",
            RunKind::Evaluate => "evaluate",
            RunKind::Package => "package",
        }
    }
}

/// A file a run read or wrote, by content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

impl FileHash {
    pub fn of(path: &Path) -> Result<FileHash, TrackingError> {
        let bytes = std::fs::read(path).map_err(|source| TrackingError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(FileHash {
            path: path.to_string_lossy().into_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        })
    }
}

/// Which data the run saw: the raw files as they are on disk, and the DVC
/// lock file, which pins every stage's inputs and outputs by hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRecord {
    pub raw_files: Vec<FileHash>,
    /// `None` outside a DVC checkout. The lock is read when the run starts,
    /// so within one `dvc repro` it pins the previous state of the stages
    /// that ran; the git commit and the inputs' hashes pin this one.
    pub dvc_lock_sha256: Option<String>,
}

/// What built the code that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub rustc: String,
    pub target: String,
    pub profile: String,
    pub crates: BTreeMap<String, String>,
}

impl Environment {
    /// This build's, as recorded by `build.rs`.
    pub fn current() -> Environment {
        let crates = env!("HEARTLAB_CRATE_VERSIONS")
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, version)| (name.to_owned(), version.to_owned()))
            .chain([("heartlab".to_owned(), env!("CARGO_PKG_VERSION").to_owned())])
            .collect();
        Environment {
            rustc: env!("HEARTLAB_RUSTC_VERSION").to_owned(),
            target: env!("HEARTLAB_TARGET").to_owned(),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
            crates,
        }
    }
}

/// Where the run was also sent, when a tracking server was set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlflowRef {
    pub tracking_uri: String,
    pub experiment_id: String,
    pub run_id: String,
}

/// One run, everything that decided it and everything it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub id: String,
    pub kind: RunKind,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub started_ms: u64,
    pub duration_ms: u64,
    pub seed: u64,
    /// Every parameter, flattened to dotted names (`model.l2`).
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    /// Metrics that are curves: (step, value) pairs; each curve says what
    /// its step means in its name (`roc.tpr_at_fpr_percent`).
    pub curves: BTreeMap<String, Vec<(i64, f64)>>,
    pub data: DataRecord,
    pub code: CodeVersion,
    pub feature_logic_version: u32,
    pub environment: Environment,
    /// Files the run read, by hash: the link to the run that made them.
    pub inputs: Vec<FileHash>,
    /// Files the run wrote.
    pub artifacts: Vec<FileHash>,
    pub mlflow: Option<MlflowRef>,
}

/// A run being recorded: started now, finished with [`RunStart::finish`].
pub struct RunStart {
    kind: RunKind,
    started: SystemTime,
}

impl RunStart {
    pub fn now(kind: RunKind) -> RunStart {
        RunStart {
            kind,
            started: SystemTime::now(),
        }
    }

    /// The record of the finished run. The id sorts by start time and ends
    /// in random hex, so two runs in the same second still differ.
    pub fn finish(self, contents: RunContents) -> RunRecord {
        let since_epoch = self.started.duration_since(UNIX_EPOCH).unwrap_or_default();
        let started_at = humantime::format_rfc3339_seconds(self.started).to_string();
        let stamp: String = started_at
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let suffix = rand::rng().next_u32() & 0xff_ffff;
        RunRecord {
            id: format!("{stamp}-{}-{suffix:06x}", self.kind.name()),
            kind: self.kind,
            started_at,
            started_ms: since_epoch.as_millis() as u64,
            duration_ms: self.started.elapsed().unwrap_or(Duration::ZERO).as_millis() as u64,
            seed: contents.params.seed,
            params: flatten_params(&contents.params),
            metrics: contents.metrics,
            curves: contents.curves,
            data: contents.data,
            code: contents.code,
            feature_logic_version: FEATURE_LOGIC_VERSION,
            environment: Environment::current(),
            inputs: contents.inputs,
            artifacts: contents.artifacts,
            mlflow: None,
        }
    }
}

/// What a stage hands over to be recorded.
pub struct RunContents {
    pub params: LabParams,
    pub metrics: BTreeMap<String, f64>,
    pub curves: BTreeMap<String, Vec<(i64, f64)>>,
    pub data: DataRecord,
    pub code: CodeVersion,
    pub inputs: Vec<FileHash>,
    pub artifacts: Vec<FileHash>,
}

/// The parameters as dotted names and text values, the shape MLflow and a
/// diff both want. Lists and tables stay JSON text.
pub fn flatten_params(params: &LabParams) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (key, inner) in map {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&name, inner, out);
                }
            }
            serde_json::Value::String(text) => {
                out.insert(prefix.to_owned(), text.clone());
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(value) = serde_json::to_value(params) {
        walk("", &value, &mut out);
    }
    out
}

/// The git state of the checkout in the current folder. Changes to
/// `dvc.lock` do not count as dirty: DVC rewrites it during a run, and it
/// records outputs, not code.
pub fn code_version() -> CodeVersion {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]);
    let dirty = commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--", ".", ":(exclude)dvc.lock"]))
        .map(|s| !s.is_empty());
    CodeVersion {
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_commit: commit,
        git_dirty: dirty,
    }
}

/// The data version: the raw files in `raw_dir` and `dvc.lock` if present.
pub fn data_record(raw_dir: &Path, dvc_lock: &Path) -> Result<DataRecord, TrackingError> {
    let mut raw_files = Vec::new();
    for hospital in crate::data::hospital::Hospital::ALL {
        raw_files.push(FileHash::of(&raw_dir.join(hospital.file_name()))?);
    }
    let dvc_lock_sha256 = match std::fs::read(dvc_lock) {
        Ok(bytes) => Some(hex::encode(Sha256::digest(&bytes))),
        Err(_) => None,
    };
    Ok(DataRecord {
        raw_files,
        dvc_lock_sha256,
    })
}

/// The local store of run records: one JSON file per run in a folder.
pub struct RunStore {
    dir: PathBuf,
}

impl RunStore {
    pub fn new(dir: impl Into<PathBuf>) -> RunStore {
        RunStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes (or rewrites) a record.
    pub fn save(&self, record: &RunRecord) -> Result<PathBuf, TrackingError> {
        let path = self.path_of(&record.id);
        let write_error = |source| TrackingError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(write_error)?;
        let mut text = serde_json::to_string_pretty(record)
            .map_err(std::io::Error::from)
            .map_err(write_error)?;
        text.push('\n');
        std::fs::write(&path, text).map_err(write_error)?;
        Ok(path)
    }

    /// Every record, oldest first. A missing folder is an empty store.
    pub fn list(&self) -> Result<Vec<RunRecord>, TrackingError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(TrackingError::Read {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                records.push(Self::read(&path)?);
            }
        }
        records.sort_by(|a, b| (a.started_ms, &a.id).cmp(&(b.started_ms, &b.id)));
        Ok(records)
    }

    fn read(path: &Path) -> Result<RunRecord, TrackingError> {
        let bytes = std::fs::read(path).map_err(|source| TrackingError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| TrackingError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// The run whose id is `id` or starts with it (a unique prefix is
    /// enough, as with git commits); `latest` is the newest run.
    pub fn find(&self, id: &str) -> Result<RunRecord, TrackingError> {
        let mut records = self.list()?;
        if id == "latest" {
            return records.pop().ok_or_else(|| TrackingError::UnknownRun {
                id: id.to_owned(),
                dir: self.dir.clone(),
            });
        }
        if let Some(exact) = records.iter().position(|r| r.id == id) {
            return Ok(records.swap_remove(exact));
        }
        let mut matching: Vec<RunRecord> = records
            .into_iter()
            .filter(|r| r.id.starts_with(id))
            .collect();
        match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => Err(TrackingError::UnknownRun {
                id: id.to_owned(),
                dir: self.dir.clone(),
            }),
            count => Err(TrackingError::AmbiguousRun {
                id: id.to_owned(),
                count,
                dir: self.dir.clone(),
            }),
        }
    }
}
