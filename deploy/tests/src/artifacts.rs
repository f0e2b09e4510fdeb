//! Model artifacts for the image tests, made here so the tests need neither
//! the real data nor `make train` (which builds polars): the pipeline is
//! fitted by the lab's own code on synthetic patients drawn inside the data
//! contract, and the coefficients are drawn from a seed. What is tested is
//! how the image serves a verified artifact, not how good the model is; two
//! seeds give two model versions that answer differently.

use std::path::{Path, PathBuf};

use heartlab::artifact::{Artifact, CodeVersion, DataVersion, TrainingSummary};
use heartlab::data::contract::{self, Domain, Kind};
use heartlab::evaluate::Headline;
use heartlab::example::{Example, FEATURES};
use heartlab::features::Pipeline;
use heartlab::model::LogisticModel;
use heartlab::params::LabParams;
use heartlab::split::{Part, Train};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::root;

/// The hospitals the synthetic patients come from, as the lab names them.
pub const HOSPITALS: [&str; 4] = ["cleveland", "hungary", "switzerland", "va"];

/// Synthetic patients: every input drawn inside its contract domain, one in
/// ten missing, so the pipeline learns fills, scales and categories.
pub fn patients(count: usize, seed: u64) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let mut features = [None; 13];
            for (slot, name) in features.iter_mut().zip(FEATURES) {
                if rng.random_bool(0.1) {
                    continue;
                }
                let spec = contract::column(name).expect("a contract column");
                let value = match spec.domain {
                    Domain::Codes(codes) => codes[rng.random_range(0..codes.len())] as f64,
                    Domain::Range { min, max } => {
                        let v = rng.random_range(min..=max);
                        if spec.kind == Kind::Integer {
                            v.round()
                        } else {
                            (v * 10.0).round() / 10.0
                        }
                    }
                };
                *slot = Some(value);
            }
            Example {
                hospital: HOSPITALS[i % HOSPITALS.len()].to_owned(),
                line: u32::try_from(i + 1).expect("few rows"),
                features,
                label: rng.random_bool(0.5),
            }
        })
        .collect()
}

/// A complete artifact: the lab's pipeline (lab/params.yaml) fitted on
/// synthetic patients, with coefficients drawn from `seed`.
pub fn artifact(seed: u64) -> Artifact {
    let params = LabParams::from_file(&root().join("lab/params.yaml")).expect("lab/params.yaml");
    let train: Part<Train> = Part::from_rows_for_experiment(patients(400, seed));
    let pipeline = Pipeline::fit(&params.features, &train).expect("the pipeline fits");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let model = LogisticModel {
        intercept: rng.random_range(-0.5..0.5),
        coefficients: (0..pipeline.width())
            .map(|_| rng.random_range(-0.8..0.8))
            .collect(),
        inputs: pipeline.outputs.clone(),
    };
    let headline = Headline {
        roc_auc: 0.5,
        pr_auc: 0.5,
        recall: 0.5,
        specificity: 0.5,
        brier: 0.25,
    };
    Artifact::new(
        pipeline,
        model,
        0.5,
        DataVersion {
            files: vec![("synthetic".to_owned(), format!("seed {seed}"))],
        },
        CodeVersion {
            crate_version: "deploy-tests".to_owned(),
            git_commit: None,
            git_dirty: None,
        },
        TrainingSummary {
            seed,
            train_rows: 400,
            validation_rows: 0,
            test_rows: 0,
            validation: headline,
            test: headline,
        },
    )
}

/// Writes the artifact for `seed` (and its checksum) into `dir`.
pub fn write(dir: &Path, seed: u64) -> (PathBuf, Artifact) {
    let artifact = artifact(seed);
    let path = artifact.write(dir).expect("the artifact is written");
    // Read back through the same verification the server runs.
    let loaded = Artifact::load(&path).expect("the written artifact verifies");
    (path, loaded)
}

/// A copy of the artifact with one byte changed and the old checksum kept:
/// what a damaged download or a bad volume would leave.
pub fn corrupted_copy(artifact: &Path, dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(artifact).expect("the artifact reads");
    let at = bytes
        .iter()
        .position(|b| b.is_ascii_digit())
        .expect("a digit to change");
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    let path = dir.join("artifact.json");
    std::fs::write(&path, bytes).expect("the copy is written");
    let mut sidecar = artifact.as_os_str().to_owned();
    sidecar.push(".sha256");
    std::fs::copy(&sidecar, dir.join("artifact.json.sha256")).expect("the checksum is copied");
    path
}

/// A patient as the server's JSON body: the hospital and every input, null
/// where it is missing (the server wants each input named).
pub fn request_body(example: &Example) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("hospital".into(), example.hospital.clone().into());
    for (name, value) in FEATURES.iter().zip(example.features) {
        body.insert((*name).into(), value.into());
    }
    body.into()
}
