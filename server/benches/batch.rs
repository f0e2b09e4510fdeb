//! How long the server takes to check and score a batch of 1000 rows, not
//! counting the network or JSON parsing: the work `/v1/predict/batch` does
//! once the body is read. Needs the real artifact from `make train` (or one
//! named by HEARTLAB_SERVER_ARTIFACT).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use heartlab_server::input::check_batch;
use heartlab_server::sent::SentBatch;
use heartlab_server::state::Model;
use serde_json::{json, Value};

fn artifact_path() -> PathBuf {
    std::env::var_os("HEARTLAB_SERVER_ARTIFACT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lab/out/model/artifact.json")
        })
}

/// 1000 varied patients in the contract's ranges, some values missing.
fn batch() -> Value {
    let rows: Vec<Value> = (0..1000)
        .map(|i| {
            let restecg = [0, 2][i % 2];
            let thal = [3, 6, 7][i % 3];
            let chol = if i % 10 == 0 {
                json!(null)
            } else {
                json!(150 + i % 250)
            };
            json!({
                "age": 30 + i % 50, "sex": i % 2, "cp": 1 + i % 4,
                "trestbps": 100 + i % 80, "chol": chol,
                "fbs": (i / 2) % 2, "restecg": restecg, "thalach": 90 + i % 100,
                "exang": (i / 3) % 2, "oldpeak": (i % 40) as f64 / 10.0, "slope": 1 + i % 3,
                "ca": i % 4, "thal": thal
            })
        })
        .collect();
    json!({ "rows": rows })
}

fn score_batch(c: &mut Criterion) {
    let path = artifact_path();
    let model = Model::load(&path).unwrap_or_else(|e| {
        panic!(
            "{e}\nRun `make train` first to make the artifact at {}",
            path.display()
        )
    });
    let bytes = batch().to_string();
    let body: SentBatch = serde_json::from_str(&bytes).expect("valid JSON");

    c.bench_function("check_and_score_1000_rows", |b| {
        b.iter(|| {
            let patients = check_batch(&model.schema, &body, 1000).expect("a valid batch");
            patients
                .iter()
                .map(|p| model.score(p).probability)
                .sum::<f64>()
        })
    });
    c.bench_function("parse_check_and_score_1000_rows", |b| {
        b.iter(|| {
            let body: SentBatch = serde_json::from_str(&bytes).expect("valid JSON");
            let patients = check_batch(&model.schema, &body, 1000).expect("a valid batch");
            patients
                .iter()
                .map(|p| model.score(p).probability)
                .sum::<f64>()
        })
    });
}

criterion_group!(benches, score_batch);
criterion_main!(benches);
