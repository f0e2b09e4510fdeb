//! The model's stages: split, train, evaluate, package. Each reads the
//! files of the stage before it, writes its own, and (but for split)
//! records a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use heartlab::example::Example;
use heartlab::params::LabParams;
use heartlab::split::{Part, Test, Train, Validation};
use heartlab::stages::{self, PartFile};
use heartlab::tracking::mlflow::Mlflow;
use heartlab::tracking::{self, FileHash, RunContents, RunKind, RunStart, RunStore};
use heartlab::{evaluate, flow, paths};

use crate::{create_dir, write_json};

/// What the train, evaluate and package stages read.
#[derive(clap::Args)]
pub struct StageArgs {
    /// The lab's parameter file.
    #[arg(long, default_value = heartlab::params::PARAMS_FILE)]
    pub params: PathBuf,
    /// The split's parts, from `heartlab split`.
    #[arg(long, default_value = paths::SPLIT_DIR)]
    pub split: PathBuf,
    /// The fit, from `heartlab train` (read by evaluate and package).
    #[arg(long, default_value = paths::FIT_DIR)]
    pub fit: PathBuf,
    /// The fetched files, whose hashes go into the run record.
    #[arg(long, default_value = paths::RAW_DIR)]
    pub raw: PathBuf,
    /// The folder run records go into.
    #[arg(long, env = "HEARTLAB_RUNS_DIR", default_value = paths::RUNS_DIR)]
    pub runs: PathBuf,
}

/// The file the train stage writes and the later stages read.
const FIT_FILE: &str = "fit.json";

/// The headline scores as metrics named `{part}.{score}`; undefined scores
/// (NaN) are left out, as JSON and MLflow cannot hold them.
fn headline_metrics(part: &str, h: &evaluate::Headline, out: &mut BTreeMap<String, f64>) {
    for (name, value) in [
        ("roc_auc", h.roc_auc),
        ("pr_auc", h.pr_auc),
        ("recall", h.recall),
        ("specificity", h.specificity),
        ("brier", h.brier),
    ] {
        if value.is_finite() {
            out.insert(format!("{part}.{name}"), value);
        }
    }
}

/// The test curves as (step, value) series: the true positive rate at each
/// false positive rate from 0% to 100%, and the calibration per bin.
fn curves(scores: &flow::TestScores) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out = BTreeMap::new();
    let tpr_at = |fpr: f64| {
        scores
            .roc
            .iter()
            .filter(|p| p.fpr <= fpr + 1e-12)
            .map(|p| p.tpr)
            .fold(0.0, f64::max)
    };
    if !scores.roc.is_empty() {
        let roc = (0..=100)
            .map(|pct| (pct, tpr_at(pct as f64 / 100.0)))
            .collect();
        out.insert("test.roc.tpr_at_fpr_percent".to_owned(), roc);
    }
    let bins = &scores.evaluation.calibration;
    let observed = bins
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.observed_rate.map(|o| (i as i64, o)))
        .collect();
    let predicted = bins
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.mean_probability.map(|p| (i as i64, p)))
        .collect();
    out.insert("test.calibration.observed_by_bin".to_owned(), observed);
    out.insert("test.calibration.predicted_by_bin".to_owned(), predicted);
    out
}

/// Records a finished stage run locally, and in MLflow when
/// `MLFLOW_TRACKING_URI` is set. A tracking server that cannot be reached
/// does not fail the stage: the local record is kept, the failure is logged,
/// and `heartlab runs push` sends it later.
fn record_run(
    start: RunStart,
    stage: &StageArgs,
    params: LabParams,
    metrics: BTreeMap<String, f64>,
    curves: BTreeMap<String, Vec<(i64, f64)>>,
    inputs: &[PathBuf],
    artifacts: &[PathBuf],
) -> anyhow::Result<()> {
    let hashes = |paths: &[PathBuf]| -> anyhow::Result<Vec<FileHash>> {
        paths
            .iter()
            .map(|p| FileHash::of(p).map_err(anyhow::Error::from))
            .collect()
    };
    let contents = RunContents {
        params,
        metrics,
        curves,
        data: tracking::data_record(&stage.raw, Path::new(paths::DVC_LOCK))?,
        code: tracking::code_version(),
        inputs: hashes(inputs)?,
        artifacts: hashes(artifacts)?,
    };
    let mut record = start.finish(contents);
    if let Some(mlflow) = Mlflow::from_env() {
        match mlflow.log_run(&record) {
            Ok(reference) => {
                tracing::info!(run = %record.id, mlflow_run = %reference.run_id, "sent to MLflow");
                record.mlflow = Some(reference);
            }
            Err(error) => tracing::warn!(
                run = %record.id,
                %error,
                "MLflow logging failed; the run is kept locally, `heartlab runs push` retries"
            ),
        }
    }
    let path = RunStore::new(&stage.runs).save(&record)?;
    println!("run {} recorded in {}", record.id, path.display());
    Ok(())
}

/// Splits the cleaned examples into the three parts.
pub fn split(examples: &Path, params: &Path, out: &Path) -> anyhow::Result<()> {
    let params = LabParams::from_file(params)?;
    let examples: Vec<Example> = stages::read_jsonl(examples)?;
    let split = heartlab::split::split(&examples, &params.split, params.seed);
    stages::write_split(out, &split)?;
    println!(
        "split: {} train, {} validation, {} test (seed {}) into {}",
        split.train.len(),
        split.validation.len(),
        split.test.len(),
        params.seed,
        out.display()
    );
    Ok(())
}

/// Fits on the training part and chooses the threshold on validation.
pub fn train(stage: &StageArgs, out: &Path) -> anyhow::Result<()> {
    let start = RunStart::now(RunKind::Train);
    let params = LabParams::from_file(&stage.params)?;
    let train: Part<Train> = stages::read_part(&stage.split)?;
    let validation: Part<Validation> = stages::read_part(&stage.split)?;
    let fitted = flow::fit_and_choose(&train, &validation, &params)?;
    if !fitted.converged {
        tracing::warn!(
            mean_gradient_norm = fitted.mean_gradient_norm,
            "the solver stopped before the gradient tolerance"
        );
    }
    create_dir(out)?;
    let fit_path = out.join(FIT_FILE);
    stages::write_json(&fit_path, &fitted)?;

    let mut metrics = BTreeMap::new();
    headline_metrics("validation", &fitted.validation, &mut metrics);
    metrics.insert("threshold".into(), fitted.threshold.threshold);
    metrics.insert(
        "validation.cost_per_patient".into(),
        fitted.threshold.validation_cost_per_patient,
    );
    metrics.insert("mean_gradient_norm".into(), fitted.mean_gradient_norm);
    metrics.insert("converged".into(), f64::from(u8::from(fitted.converged)));
    metrics.insert("train_rows".into(), fitted.train_rows as f64);
    metrics.insert("validation_rows".into(), fitted.validation_rows as f64);
    let inputs = [
        stage.split.join(Train::FILE),
        stage.split.join(Validation::FILE),
        stage.params.clone(),
    ];
    record_run(
        start,
        stage,
        params,
        metrics,
        BTreeMap::new(),
        &inputs,
        &[fit_path],
    )?;
    println!(
        "model: {} inputs, mean gradient norm {:.2e} ({}); threshold {:.3} \
         (chosen on validation); validation ROC AUC {:.3}",
        fitted.model.coefficients.len(),
        fitted.mean_gradient_norm,
        if fitted.converged {
            "converged"
        } else {
            "NOT converged"
        },
        fitted.threshold.threshold,
        fitted.validation.roc_auc
    );
    Ok(())
}

/// Scores the test part once.
pub fn evaluate(stage: &StageArgs, out: &Path) -> anyhow::Result<()> {
    let start = RunStart::now(RunKind::Evaluate);
    let params = LabParams::from_file(&stage.params)?;
    let fit_path = stage.fit.join(FIT_FILE);
    let fitted: flow::Fitted = stages::read_json(&fit_path)?;
    let test: Part<Test> = stages::read_part(&stage.split)?;
    let scores = fitted.score_test(&test, &params);

    create_dir(out)?;
    let json_path = out.join("evaluation.json");
    write_json(&json_path, &scores.evaluation)?;
    let md = out.join("evaluation.md");
    let text = format!(
        "# The evaluation\n\nGenerated by `heartlab evaluate`: the model fitted on the \
         training part, its threshold chosen on the validation part, scored once on \
         the test part (seed {}).\n\n{}",
        params.seed,
        evaluate::markdown::render(&scores.evaluation)
    );
    std::fs::write(&md, text).with_context(|| format!("failed to write {}", md.display()))?;

    let mut metrics = BTreeMap::new();
    headline_metrics("test", &scores.headline, &mut metrics);
    metrics.insert("threshold".into(), fitted.threshold.threshold);
    for slice in &scores.evaluation.slices {
        if let Some(value) = slice.roc_auc.value {
            metrics.insert(format!("test.roc_auc.{}", slice.slice), value);
        }
    }
    let metrics_path = out.join("metrics.json");
    write_json(&metrics_path, &metrics)?;
    let roc_path = out.join("roc.csv");
    let mut roc = String::from("fpr,tpr,threshold\n");
    for p in &scores.roc {
        roc.push_str(&format!("{},{},{}\n", p.fpr, p.tpr, p.threshold));
    }
    std::fs::write(&roc_path, roc)
        .with_context(|| format!("failed to write {}", roc_path.display()))?;
    let calibration_path = out.join("calibration.csv");
    let mut calibration = String::from("mean_probability,observed_rate,rows\n");
    for bin in &scores.evaluation.calibration {
        if let (Some(p), Some(o)) = (bin.mean_probability, bin.observed_rate) {
            calibration.push_str(&format!("{p},{o},{}\n", bin.rows));
        }
    }
    std::fs::write(&calibration_path, calibration)
        .with_context(|| format!("failed to write {}", calibration_path.display()))?;

    let inputs = [fit_path, stage.split.join(Test::FILE), stage.params.clone()];
    let artifacts = [
        json_path,
        md.clone(),
        metrics_path,
        roc_path,
        calibration_path,
    ];
    record_run(
        start,
        stage,
        params,
        metrics,
        curves(&scores),
        &inputs,
        &artifacts,
    )?;
    println!(
        "test ROC AUC {:.3}, recall {:.3}, specificity {:.3} at threshold {:.3}; wrote {}",
        scores.headline.roc_auc,
        scores.headline.recall,
        scores.headline.specificity,
        fitted.threshold.threshold,
        md.display()
    );
    Ok(())
}

/// Writes the artifact and the model card.
pub fn package(stage: &StageArgs, evaluation: &Path, out: &Path) -> anyhow::Result<()> {
    let start = RunStart::now(RunKind::Package);
    let params = LabParams::from_file(&stage.params)?;
    let fit_path = stage.fit.join(FIT_FILE);
    let fitted: flow::Fitted = stages::read_json(&fit_path)?;
    let test: Part<Test> = stages::read_part(&stage.split)?;
    let evaluation_path = evaluation.join("evaluation.json");
    let evaluation: evaluate::Evaluation = stages::read_json(&evaluation_path)?;
    // The headline is recomputed rather than read, so the artifact's
    // numbers come from the same code as the flow's; the evaluation
    // file supplies the card's per-slice table, and must be of this fit.
    let headline = fitted.test_headline(&test, &params);
    let overall = evaluation.slices.first().and_then(|s| s.roc_auc.value);
    anyhow::ensure!(
        evaluation.threshold == fitted.threshold
            && overall.map(f64::to_bits) == Some(headline.roc_auc.to_bits()),
        "{} is not the evaluation of this fit and test part; run `dvc repro` (or \
         `heartlab evaluate`) again",
        evaluation_path.display()
    );
    let artifact = fitted.artifact(headline, test.len(), &params, tracking::code_version());
    create_dir(out)?;
    let artifact_path = artifact.write(out)?;
    let card = out.join("model-card.md");
    std::fs::write(&card, heartlab::model_card::render(&artifact, &evaluation))
        .with_context(|| format!("failed to write {}", card.display()))?;

    let mut metrics = BTreeMap::new();
    headline_metrics("test", &artifact.training.test, &mut metrics);
    metrics.insert("threshold".into(), artifact.threshold);
    let mut checksum = artifact_path.as_os_str().to_owned();
    checksum.push(".sha256");
    let inputs = [fit_path, evaluation_path, stage.params.clone()];
    let artifacts = [artifact_path.clone(), PathBuf::from(checksum), card];
    record_run(
        start,
        stage,
        params,
        metrics,
        BTreeMap::new(),
        &inputs,
        &artifacts,
    )?;
    println!("artifact: {}", artifact_path.display());
    Ok(())
}
