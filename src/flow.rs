//! The honest flow, in one place: split, fit the pipeline on the training
//! part, train the model on it, choose the threshold on the validation part,
//! and score the test part once.
//!
//! The CLI, the notebooks, the benchmarks and the leakage experiments' honest
//! baseline all call this, so "the honest pipeline" means one piece of code.

use crate::artifact::{
    input_schema, Artifact, CodeVersion, DataVersion, TrainingSummary, ARTIFACT_FORMAT_VERSION,
};
use crate::data::hospital::Hospital;
use crate::design::DesignNotes;
use crate::evaluate::threshold::{self, ThresholdChoice};
use crate::evaluate::{self, Evaluation, Headline, Predictions};
use crate::example::Example;
use crate::features::{FitError, FittedPipeline, Pipeline, FEATURE_LOGIC_VERSION};
use crate::model::train::{train_columns, TrainError, Trained};
use crate::params::LabParams;
use crate::split::{self, Part, Split, Test, Train, Validation};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("fitting the preprocessing pipeline: {0}")]
    Fit(#[from] FitError),
    #[error("training the model: {0}")]
    Train(#[from] TrainError),
}

/// Everything one honest run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub split: Split,
    pub pipeline: FittedPipeline,
    pub trained: Trained,
    pub threshold: ThresholdChoice,
    pub validation: Headline,
    pub test: Headline,
    /// How often the test part needed a fill or held an unseen category.
    pub test_notes: DesignNotes,
}

/// Fits the pipeline, then the model on the pipeline's design of the same
/// training part: everything that learns from data, and only from `train`.
/// This is what the speed targets time.
pub fn fit(
    train_part: &Part<Train>,
    params: &LabParams,
) -> Result<(FittedPipeline, Trained), FlowError> {
    let pipeline = Pipeline::fit(&params.features, train_part)?;
    let columns = pipeline.columns(train_part);
    let trained = train_columns(&params.model, &columns)?;
    Ok((pipeline, trained))
}

/// Runs the flow on a split made from `examples` with `seed`.
pub fn run(examples: &[Example], params: &LabParams, seed: u64) -> Result<Outcome, FlowError> {
    run_on(split::split(examples, &params.split, seed), params)
}

/// Runs the flow on a split made elsewhere (for example leave one hospital out).
pub fn run_on(split: Split, params: &LabParams) -> Result<Outcome, FlowError> {
    let (pipeline, trained) = fit(&split.train, params)?;

    let validation_design = pipeline.design(&split.validation);
    let validation: Predictions<Validation> = Predictions::of(
        &trained.model,
        &validation_design,
        &split.validation,
        &params.evaluate,
    );
    let threshold = threshold::choose(&validation, &params.evaluate);

    let (test_design, test_notes) = pipeline.design_with_notes::<Test>(split.test.rows());
    let test: Predictions<Test> =
        Predictions::of(&trained.model, &test_design, &split.test, &params.evaluate);

    Ok(Outcome {
        validation: Headline::of(&validation, threshold.threshold),
        test: Headline::of(&test, threshold.threshold),
        split,
        pipeline,
        trained,
        threshold,
        test_notes,
    })
}

impl Outcome {
    /// The full evaluation of the test part, with bootstrap intervals.
    pub fn evaluate_test(&self, params: &LabParams) -> Evaluation {
        let design = self.pipeline.design(&self.split.test);
        let predictions = Predictions::of(
            &self.trained.model,
            &design,
            &self.split.test,
            &params.evaluate,
        );
        evaluate::evaluate(
            "test",
            &predictions,
            &self.threshold,
            &params.evaluate,
            params.seed,
        )
    }
}

impl Outcome {
    /// The artifact of this run: pipeline, model and threshold, with the data
    /// (the pinned raw files) and code versions it came from.
    pub fn artifact(&self, params: &LabParams, code: CodeVersion) -> Artifact {
        Artifact {
            format_version: ARTIFACT_FORMAT_VERSION,
            feature_logic_version: FEATURE_LOGIC_VERSION,
            pipeline: self.pipeline.clone(),
            model: self.trained.model.clone(),
            threshold: self.threshold.threshold,
            input_schema: input_schema(&self.pipeline),
            data: DataVersion {
                files: Hospital::ALL
                    .iter()
                    .map(|h| (h.file_name().to_owned(), h.sha256().to_owned()))
                    .collect(),
            },
            code,
            training: TrainingSummary {
                seed: params.seed,
                train_rows: self.split.train.len(),
                validation_rows: self.split.validation.len(),
                test_rows: self.split.test.len(),
                validation: self.validation,
                test: self.test,
            },
        }
    }
}
