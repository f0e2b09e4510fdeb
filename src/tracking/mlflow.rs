//! Sending run records to an MLflow tracking server, through its REST API.
//!
//! Why REST and not the Python client: the lab is one Rust binary, and the
//! REST API is MLflow's stable, documented contract (the Python client
//! speaks it too). A run becomes an MLflow run in the experiment `heartlab`
//! (or `MLFLOW_EXPERIMENT_NAME`): its parameters, its metrics (curves as
//! metrics with steps), tags for the versions, and its files as artifacts
//! through the server's artifact proxy (`mlflow server` serves artifacts by
//! default).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::{MlflowRef, RunRecord};

/// The variable that turns MLflow logging on, as MLflow's own clients read it.
pub const TRACKING_URI_VAR: &str = "MLFLOW_TRACKING_URI";
/// The variable naming the experiment, as MLflow's own clients read it.
pub const EXPERIMENT_VAR: &str = "MLFLOW_EXPERIMENT_NAME";
pub const DEFAULT_EXPERIMENT: &str = "heartlab";

/// MLflow's limits per `log-batch` request.
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_PER_BATCH: usize = 100;
/// MLflow refuses longer parameter values.
const MAX_PARAM_CHARS: usize = 6000;

#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    #[error("MLflow at {uri}: {call} failed: {message}")]
    Http {
        uri: String,
        call: String,
        message: String,
    },
    #[error("MLflow at {uri}: {call} answered {status}: {body}")]
    Status {
        uri: String,
        call: String,
        status: u16,
        body: String,
    },
    #[error("MLflow at {uri}: {call} answered something unexpected: {detail}")]
    Unexpected {
        uri: String,
        call: String,
        detail: String,
    },
    #[error("failed to read {path} to upload it: {source}")]
    Artifact {
        path: String,
        source: std::io::Error,
    },
}

/// A client for one tracking server.
pub struct Mlflow {
    uri: String,
    agent: ureq::Agent,
}

/// MLflow keys allow letters, digits, `_ - . / ` and spaces; the lab's
/// slice names use `=`, which becomes `_`.
pub fn metric_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-./ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Mlflow {
    pub fn new(uri: &str) -> Mlflow {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Mlflow {
            uri: uri.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// The client for `MLFLOW_TRACKING_URI`, when it is set and not empty.
    pub fn from_env() -> Option<Mlflow> {
        std::env::var(TRACKING_URI_VAR)
            .ok()
            .filter(|uri| !uri.trim().is_empty())
            .map(|uri| Mlflow::new(&uri))
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn answer(
        &self,
        call: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, MlflowError> {
        let mut response = result.map_err(|e| MlflowError::Http {
            uri: self.uri.clone(),
            call: call.to_owned(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let mut body = String::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(16 << 20)
            .read_to_string(&mut body);
        if !(200..300).contains(&status) {
            return Err(MlflowError::Status {
                uri: self.uri.clone(),
                call: call.to_owned(),
                status,
                body: body.chars().take(500).collect(),
            });
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| MlflowError::Unexpected {
            uri: self.uri.clone(),
            call: call.to_owned(),
            detail: e.to_string(),
        })
    }

    /// POSTs JSON to an API path (`experiments/create`, ...).
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.uri);
        let result = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes());
        self.answer(path, result)
    }

    /// GETs an API path with query parameters.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.uri);
        let mut request = self.agent.get(&url);
        for (key, value) in query {
            request = request.query(*key, *value);
        }
        self.answer(path, request.call())
    }

    fn unexpected(&self, call: &str, detail: &str) -> MlflowError {
        MlflowError::Unexpected {
            uri: self.uri.clone(),
            call: call.to_owned(),
            detail: detail.to_owned(),
        }
    }

    /// The experiment's id, creating the experiment the first time.
    pub fn experiment_id(&self, name: &str) -> Result<String, MlflowError> {
        match self.get("experiments/get-by-name", &[("experiment_name", name)]) {
            Ok(found) => found["experiment"]["experiment_id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| self.unexpected("experiments/get-by-name", "no experiment_id")),
            Err(MlflowError::Status { status: 404, .. }) => {
                let created = self.post("experiments/create", &json!({ "name": name }))?;
                created["experiment_id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.unexpected("experiments/create", "no experiment_id"))
            }
            Err(other) => Err(other),
        }
    }

    /// Logs a whole record as one finished MLflow run and returns where it
    /// went. Files that no longer exist are skipped with a warning: a record
    /// may outlive its outputs, and the hashes in it still say what they were.
    pub fn log_run(&self, record: &RunRecord) -> Result<MlflowRef, MlflowError> {
        let experiment = std::env::var(EXPERIMENT_VAR)
            .ok()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_EXPERIMENT.to_owned());
        let experiment_id = self.experiment_id(&experiment)?;

        let created = self.post(
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": record.id,
                "start_time": record.started_ms,
                "tags": tags(record),
            }),
        )?;
        let info = &created["run"]["info"];
        let run_id = info["run_id"]
            .as_str()
            .ok_or_else(|| self.unexpected("runs/create", "no run_id"))?
            .to_owned();
        let artifact_uri = info["artifact_uri"].as_str().unwrap_or_default().to_owned();

        let params: Vec<Value> = record
            .params
            .iter()
            .map(|(key, value)| {
                let value: String = value.chars().take(MAX_PARAM_CHARS).collect();
                json!({ "key": metric_key(key), "value": value })
            })
            .collect();
        for chunk in params.chunks(MAX_PARAMS_PER_BATCH) {
            self.post(
                "runs/log-batch",
                &json!({ "run_id": run_id, "params": chunk }),
            )?;
        }
        let metrics = metric_entries(record);
        for chunk in metrics.chunks(MAX_METRICS_PER_BATCH) {
            self.post(
                "runs/log-batch",
                &json!({ "run_id": run_id, "metrics": chunk }),
            )?;
        }

        let run_path = artifact_uri
            .strip_prefix("mlflow-artifacts:/")
            .map(|path| path.trim_start_matches('/').to_owned());
        for file in &record.artifacts {
            let path = Path::new(&file.path);
            let Some(run_path) = &run_path else {
                tracing::warn!(
                    artifact_uri,
                    "the server does not proxy artifacts; files not uploaded"
                );
                break;
            };
            if !path.exists() {
                tracing::warn!(file = %file.path, "artifact no longer on disk; not uploaded");
                continue;
            }
            self.upload(run_path, path)?;
        }

        let end = record.started_ms + record.duration_ms;
        self.post(
            "runs/update",
            &json!({ "run_id": run_id, "status": "FINISHED", "end_time": end }),
        )?;
        Ok(MlflowRef {
            tracking_uri: self.uri.clone(),
            experiment_id,
            run_id,
        })
    }

    /// Uploads one file into the run's artifact folder, under its own name.
    fn upload(&self, run_path: &str, path: &Path) -> Result<(), MlflowError> {
        let bytes = std::fs::read(path).map_err(|source| MlflowError::Artifact {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{run_path}/{name}",
            self.uri
        );
        let result = self
            .agent
            .put(&url)
            .header("Content-Type", "application/octet-stream")
            .send(&bytes[..]);
        self.answer("mlflow-artifacts upload", result).map(|_| ())
    }

    /// The names of the files in a run's artifact folder, through the proxy.
    pub fn list_artifacts(&self, artifact_uri: &str) -> Result<Vec<String>, MlflowError> {
        let run_path = artifact_uri
            .strip_prefix("mlflow-artifacts:/")
            .ok_or_else(|| self.unexpected("mlflow-artifacts list", artifact_uri))?
            .trim_start_matches('/');
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.uri);
        let result = self.agent.get(&url).query("path", run_path).call();
        let listed = self.answer("mlflow-artifacts list", result)?;
        Ok(listed["files"]
            .as_array()
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| f["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The versions, as MLflow tags (its own `mlflow.*` names where it has one,
/// so its UI shows them in their usual places).
pub fn tags(record: &RunRecord) -> Vec<Value> {
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    tags.insert("mlflow.runName".into(), record.id.clone());
    tags.insert("mlflow.source.name".into(), "heartlab".into());
    if let Some(commit) = &record.code.git_commit {
        tags.insert("mlflow.source.git.commit".into(), commit.clone());
    }
    tags.insert("heartlab.kind".into(), record.kind.name().into());
    tags.insert(
        "heartlab.git_dirty".into(),
        record
            .code
            .git_dirty
            .map_or("unknown".into(), |d| d.to_string()),
    );
    tags.insert("heartlab.version".into(), record.code.crate_version.clone());
    tags.insert(
        "heartlab.feature_logic_version".into(),
        record.feature_logic_version.to_string(),
    );
    tags.insert("heartlab.seed".into(), record.seed.to_string());
    tags.insert("heartlab.rustc".into(), record.environment.rustc.clone());
    tags.insert(
        "heartlab.profile".into(),
        record.environment.profile.clone(),
    );
    for (name, version) in &record.environment.crates {
        tags.insert(format!("heartlab.crate.{name}"), version.clone());
    }
    for file in &record.data.raw_files {
        let name = Path::new(&file.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.path.clone());
        tags.insert(format!("heartlab.data.{name}"), file.sha256.clone());
    }
    if let Some(lock) = &record.data.dvc_lock_sha256 {
        tags.insert("heartlab.dvc_lock_sha256".into(), lock.clone());
    }
    tags.into_iter()
        .map(|(key, value)| json!({ "key": metric_key(&key), "value": value }))
        .collect()
}

/// Every metric (step 0) and every curve point (its step), timestamped at
/// the run's end.
pub fn metric_entries(record: &RunRecord) -> Vec<Value> {
    let timestamp = record.started_ms + record.duration_ms;
    let finite = |v: f64| v.is_finite();
    let mut entries: Vec<Value> = record
        .metrics
        .iter()
        .filter(|(_, v)| finite(**v))
        .map(|(key, value)| {
            json!({ "key": metric_key(key), "value": value, "timestamp": timestamp, "step": 0 })
        })
        .collect();
    for (key, points) in &record.curves {
        for (step, value) in points.iter().filter(|(_, v)| finite(*v)) {
            entries.push(json!({
                "key": metric_key(key),
                "value": value,
                "timestamp": timestamp,
                "step": step,
            }));
        }
    }
    entries
}
