//! A model artifact made for the tests from the library's polars-free API:
//! synthetic patients, the lab's own feature parameters, the real
//! `Pipeline::fit`, and a logistic model with fixed coefficients. How the
//! coefficients were found does not matter to the server; that it serves
//! exactly what the artifact says does.

use std::path::{Path, PathBuf};

use heartlab::artifact::{Artifact, CodeVersion, DataVersion, TrainingSummary};
use heartlab::evaluate::Headline;
use heartlab::example::Example;
use heartlab::features::Pipeline;
use heartlab::model::LogisticModel;
use heartlab::params::LabParams;
use heartlab::split::{Part, Train};

/// The restecg code the synthetic training rows never contain, so the
/// tests can send a code the contract allows but the model never saw.
pub const UNSEEN_RESTECG: f64 = 1.0;

/// A small deterministic generator: the tests need varied rows, not good
/// randomness, and this keeps the helper free of extra crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick(&mut self, choices: &[f64]) -> f64 {
        choices[(self.next() % choices.len() as u64) as usize]
    }

    fn range(&mut self, low: u64, high: u64) -> f64 {
        (low + self.next() % (high - low + 1)) as f64
    }

    /// `None` about one time in `one_in`.
    fn sometimes_missing(&mut self, value: f64, one_in: u64) -> Option<f64> {
        (self.next() % one_in != 0).then_some(value)
    }
}

/// Synthetic training rows in the contract's codes and ranges.
pub fn training_rows(n: usize) -> Vec<Example> {
    let mut rng = Lcg(7);
    (0..n)
        .map(|i| {
            let chol = rng.range(150, 400);
            let slope = rng.pick(&[1.0, 2.0, 3.0]);
            let ca = rng.pick(&[0.0, 1.0, 2.0, 3.0]);
            let thal = rng.pick(&[3.0, 6.0, 7.0]);
            let features = [
                Some(rng.range(30, 80)),
                Some(rng.pick(&[0.0, 1.0])),
                Some(rng.pick(&[1.0, 2.0, 3.0, 4.0])),
                Some(rng.range(90, 200)),
                rng.sometimes_missing(chol, 10),
                Some(rng.pick(&[0.0, 1.0])),
                Some(rng.pick(&[0.0, 2.0])),
                Some(rng.range(80, 200)),
                Some(rng.pick(&[0.0, 1.0])),
                Some(rng.range(0, 60) / 10.0),
                rng.sometimes_missing(slope, 4),
                rng.sometimes_missing(ca, 3),
                rng.sometimes_missing(thal, 3),
            ];
            let label = rng.next() % 2 == 0;
            Example {
                hospital: "cleveland".to_owned(),
                line: i as u32 + 1,
                features,
                label,
            }
        })
        .collect()
}

/// The repository root (the server crate sits one folder below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate lives inside the repository")
        .to_owned()
}

/// Builds the artifact in memory.
pub fn build() -> Artifact {
    let params = LabParams::from_file(&repo_root().join("lab/params.yaml"))
        .expect("lab/params.yaml should load");
    let train: Part<Train> = Part::from_rows_for_experiment(training_rows(400));
    let pipeline = Pipeline::fit(&params.features, &train).expect("the pipeline should fit");
    let coefficients = (0..pipeline.width())
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 10.0)
        .collect();
    let model = LogisticModel {
        intercept: -0.25,
        coefficients,
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
        0.4,
        DataVersion { files: vec![] },
        CodeVersion {
            crate_version: "test".to_owned(),
            git_commit: None,
            git_dirty: None,
        },
        TrainingSummary {
            seed: 7,
            train_rows: 400,
            validation_rows: 0,
            test_rows: 0,
            validation: headline,
            test: headline,
        },
    )
}

/// Writes the artifact and its checksum into `dir`; returns the file's path.
pub fn write(dir: &Path) -> PathBuf {
    build()
        .write(dir)
        .expect("the test artifact should be written")
}
