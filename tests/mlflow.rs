//! Logging a run to a real MLflow tracking server through its REST API, and
//! reading every value back.
//!
//! The test starts `mlflow server` itself (from the venv `make setup`
//! fills) on a free loopback port with a SQLite store in a temporary folder,
//! unless `MLFLOW_TRACKING_URI` already names a server. The server starts
//! worker processes of its own, so it runs in its own process group and the
//! whole group is stopped at the end.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use heartlab::artifact::CodeVersion;
use heartlab::tracking::mlflow::{metric_key, Mlflow, TRACKING_URI_VAR};
use heartlab::tracking::{DataRecord, FileHash, RunContents, RunKind, RunRecord, RunStart};
use serde_json::Value;

/// A server this test started, stopped with its workers when dropped.
struct Server {
    child: Option<Child>,
    uri: String,
    _home: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = child.wait();
        }
    }
}

fn server() -> Server {
    let home = tempfile::tempdir().unwrap();
    if let Ok(uri) = std::env::var(TRACKING_URI_VAR) {
        return Server {
            child: None,
            uri,
            _home: home,
        };
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(home.path().join("server.log")).unwrap();
    let child = Command::new(common::python_tool("mlflow"))
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}/mlflow.db", home.path().display()))
        .arg("--artifacts-destination")
        .arg(home.path().join("artifacts"))
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("mlflow server starts");
    let server = Server {
        child: Some(child),
        uri: format!("http://127.0.0.1:{port}"),
        _home: home,
    };

    let started = Instant::now();
    loop {
        if ureq::get(format!("{}/health", server.uri)).call().is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "mlflow server gave no answer on {} within 180 s; its log:\n{}",
            server.uri,
            std::fs::read_to_string(server._home.path().join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    server
}

fn record(files: &Path) -> RunRecord {
    let params = common::lab_params();
    let mut metrics = BTreeMap::new();
    metrics.insert("test.roc_auc".to_owned(), 0.891_535_087_719_298_3);
    metrics.insert(
        "test.roc_auc.hospital=va".to_owned(),
        0.571_428_571_428_571_4,
    );
    metrics.insert("threshold".to_owned(), 0.136_532_045_118_401_1);
    let mut curves = BTreeMap::new();
    curves.insert(
        "test.roc.tpr_at_fpr_percent".to_owned(),
        (0..=100).map(|s| (s, (s as f64 / 100.0).sqrt())).collect(),
    );
    let artifact = files.join("artifact.json");
    std::fs::write(&artifact, "{\"model\": 1}\n").unwrap();
    let card = files.join("model-card.md");
    std::fs::write(&card, "# Model card\n").unwrap();
    RunStart::now(RunKind::Package).finish(RunContents {
        params,
        metrics,
        curves,
        data: DataRecord {
            raw_files: vec![FileHash {
                path: "data/raw/processed.va.data".into(),
                sha256: "ef".repeat(32),
                bytes: 6_737,
            }],
            dvc_lock_sha256: Some("01".repeat(32)),
        },
        code: CodeVersion {
            crate_version: "0.1.0".into(),
            git_commit: Some("89ab".repeat(10)),
            git_dirty: Some(true),
        },
        inputs: Vec::new(),
        artifacts: vec![
            FileHash::of(&artifact).unwrap(),
            FileHash::of(&card).unwrap(),
        ],
    })
}

fn pairs(list: &Value) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            let value = match &kv["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (kv["key"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

#[test]
fn a_run_logged_to_a_real_mlflow_server_reads_back_value_for_value() {
    let server = server();
    let mlflow = Mlflow::new(&server.uri);
    let files = tempfile::tempdir().unwrap();
    let record = record(files.path());

    let logged = mlflow.log_run(&record).expect("the run is logged");
    assert_eq!(logged.tracking_uri, server.uri);

    let read = mlflow
        .get("runs/get", &[("run_id", &logged.run_id)])
        .unwrap();
    let run = &read["run"];
    assert_eq!(run["info"]["status"], "FINISHED");
    assert_eq!(run["info"]["experiment_id"], logged.experiment_id.as_str());
    assert_eq!(run["info"]["start_time"], record.started_ms);
    assert_eq!(
        run["info"]["end_time"],
        record.started_ms + record.duration_ms
    );

    // Every parameter, by its dotted name.
    let params = pairs(&run["data"]["params"]);
    let expected: BTreeMap<String, String> = record
        .params
        .iter()
        .map(|(k, v)| (metric_key(k), v.clone()))
        .collect();
    assert_eq!(params, expected);

    // Every metric, bit for bit (MLflow stores doubles).
    let metrics: BTreeMap<String, f64> = run["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_owned(),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    for (key, value) in &record.metrics {
        assert_eq!(metrics.get(&metric_key(key)), Some(value), "metric {key}");
    }

    // The curve, every step.
    let (curve, points) = record.curves.iter().next().unwrap();
    let history = mlflow
        .get(
            "metrics/get-history",
            &[
                ("run_id", &logged.run_id),
                ("metric_key", &metric_key(curve)),
            ],
        )
        .unwrap();
    let mut steps: Vec<(i64, f64)> = history["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["step"].as_i64().unwrap_or(0),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    steps.sort_by_key(|(step, _)| *step);
    assert_eq!(&steps, points);

    // The versions, as tags.
    let tags = pairs(&run["data"]["tags"]);
    assert_eq!(tags["mlflow.runName"], record.id);
    assert_eq!(
        tags["mlflow.source.git.commit"],
        record.code.git_commit.clone().unwrap()
    );
    assert_eq!(tags["heartlab.git_dirty"], "true");
    assert_eq!(tags["heartlab.kind"], "package");
    assert_eq!(tags["heartlab.feature_logic_version"], "1");
    assert_eq!(tags["heartlab.seed"], record.seed.to_string());
    assert_eq!(tags["heartlab.rustc"], record.environment.rustc);
    assert_eq!(tags["heartlab.data.processed.va.data"], "ef".repeat(32));
    assert_eq!(tags["heartlab.dvc_lock_sha256"], "01".repeat(32));

    // The files, through the artifact proxy.
    let artifact_uri = run["info"]["artifact_uri"].as_str().unwrap();
    let mut listed = mlflow.list_artifacts(artifact_uri).unwrap();
    listed.sort();
    assert_eq!(listed, vec!["artifact.json", "model-card.md"]);
}

#[test]
fn a_server_that_is_not_there_is_an_error_that_names_it() {
    // Port 9 (discard) is closed on loopback here and in CI.
    let mlflow = Mlflow::new("http://127.0.0.1:9");
    let files = tempfile::tempdir().unwrap();
    let error = mlflow
        .log_run(&record(files.path()))
        .unwrap_err()
        .to_string();
    assert!(error.contains("http://127.0.0.1:9"), "{error}");
}
