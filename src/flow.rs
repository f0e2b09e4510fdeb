//! The honest flow, in one place: split, fit the pipeline on the training
//! part, train the model on it, choose the threshold on the validation part,
//! and score the test part once.
//!
//! The CLI, the notebooks, the benchmarks and the leakage experiments' honest
//! baseline all call this, so "the honest pipeline" means one piece of code.

use crate::artifact::{Artifact, CodeVersion, DataVersion, TrainingSummary};
use crate::data::hospital::Hospital;
use crate::design::DesignNotes;
use crate::evaluate::metrics::{roc_curve, RocPoint};
use crate::evaluate::threshold::{self, ThresholdChoice};
use crate::evaluate::{self, Evaluation, Headline, Predictions};
use crate::example::Example;
use crate::features::{FitError, FittedPipeline, Pipeline};
use crate::model::train::{train_columns, TrainError, Trained};
use crate::model::LogisticModel;
use crate::params::LabParams;
use crate::split::{self, Part, Split, Test, Train, Validation};

use serde::{Deserialize, Serialize};

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

/// What the train stage learns and chooses, from the training and
/// validation parts only: the pipeline, the model, the threshold, and the
/// validation scores. The DVC `train` stage writes it as `fit.json`; the
/// `evaluate` and `package` stages read it, so they cannot see anything the
/// training did not write down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fitted {
    pub pipeline: FittedPipeline,
    pub model: LogisticModel,
    pub mean_gradient_norm: f64,
    pub converged: bool,
    pub threshold: ThresholdChoice,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub validation: Headline,
}

/// Fits on the training part and chooses the threshold on the validation
/// part: the whole of the `train` stage.
pub fn fit_and_choose(
    train_part: &Part<Train>,
    validation_part: &Part<Validation>,
    params: &LabParams,
) -> Result<Fitted, FlowError> {
    let (pipeline, trained) = fit(train_part, params)?;

    let validation_design = pipeline.design(validation_part);
    let validation: Predictions<Validation> = Predictions::of(
        &trained.model,
        &validation_design,
        validation_part,
        &params.evaluate,
    );
    let threshold = threshold::choose(&validation, &params.evaluate);

    Ok(Fitted {
        validation: Headline::of(&validation, threshold.threshold),
        pipeline,
        model: trained.model,
        mean_gradient_norm: trained.mean_gradient_norm,
        converged: trained.converged,
        threshold,
        train_rows: train_part.len(),
        validation_rows: validation_part.len(),
    })
}

/// The test part scored once by a fitted model: the headline numbers, the
/// full evaluation with intervals, the ROC curve, and how often the test
/// rows needed a fill.
#[derive(Debug, Clone, PartialEq)]
pub struct TestScores {
    pub headline: Headline,
    pub evaluation: Evaluation,
    pub roc: Vec<RocPoint>,
    pub notes: DesignNotes,
}

impl Fitted {
    fn predict_test(
        &self,
        test_part: &Part<Test>,
        params: &LabParams,
    ) -> (Predictions<Test>, DesignNotes) {
        let (design, notes) = self.pipeline.design_with_notes::<Test>(test_part.rows());
        let predictions = Predictions::of(&self.model, &design, test_part, &params.evaluate);
        (predictions, notes)
    }

    /// The test part's headline scores, without the bootstrap.
    pub fn test_headline(&self, test_part: &Part<Test>, params: &LabParams) -> Headline {
        let (predictions, _) = self.predict_test(test_part, params);
        Headline::of(&predictions, self.threshold.threshold)
    }

    /// Scores the test part: the whole of the `evaluate` stage.
    pub fn score_test(&self, test_part: &Part<Test>, params: &LabParams) -> TestScores {
        let (predictions, notes) = self.predict_test(test_part, params);
        TestScores {
            headline: Headline::of(&predictions, self.threshold.threshold),
            evaluation: evaluate::evaluate(
                "test",
                &predictions,
                &self.threshold,
                &params.evaluate,
                params.seed,
            ),
            roc: roc_curve(&predictions.probability, &predictions.label),
            notes,
        }
    }

    /// The artifact made from this fit and its test scores: the whole of
    /// the `package` stage.
    pub fn artifact(
        &self,
        test: Headline,
        test_rows: usize,
        params: &LabParams,
        code: CodeVersion,
    ) -> Artifact {
        let data = DataVersion {
            files: Hospital::ALL
                .iter()
                .map(|h| (h.file_name().to_owned(), h.sha256().to_owned()))
                .collect(),
        };
        let training = TrainingSummary {
            seed: params.seed,
            train_rows: self.train_rows,
            validation_rows: self.validation_rows,
            test_rows,
            validation: self.validation,
            test,
        };
        Artifact::new(
            self.pipeline.clone(),
            self.model.clone(),
            self.threshold.threshold,
            data,
            code,
            training,
        )
    }
}

/// Runs the flow on a split made from `examples` with `seed`.
pub fn run(examples: &[Example], params: &LabParams, seed: u64) -> Result<Outcome, FlowError> {
    run_on(split::split(examples, &params.split, seed), params)
}

/// Runs the flow on a split made elsewhere (for example leave one hospital out).
pub fn run_on(split: Split, params: &LabParams) -> Result<Outcome, FlowError> {
    let fitted = fit_and_choose(&split.train, &split.validation, params)?;

    let (test_design, test_notes) = fitted.pipeline.design_with_notes::<Test>(split.test.rows());
    let test: Predictions<Test> =
        Predictions::of(&fitted.model, &test_design, &split.test, &params.evaluate);

    Ok(Outcome {
        test: Headline::of(&test, fitted.threshold.threshold),
        validation: fitted.validation,
        split,
        pipeline: fitted.pipeline,
        trained: Trained {
            model: fitted.model,
            mean_gradient_norm: fitted.mean_gradient_norm,
            converged: fitted.converged,
        },
        threshold: fitted.threshold,
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
    /// This run's fit, as the `train` stage would write it.
    pub fn fitted(&self) -> Fitted {
        Fitted {
            pipeline: self.pipeline.clone(),
            model: self.trained.model.clone(),
            mean_gradient_norm: self.trained.mean_gradient_norm,
            converged: self.trained.converged,
            threshold: self.threshold.clone(),
            train_rows: self.split.train.len(),
            validation_rows: self.split.validation.len(),
            validation: self.validation,
        }
    }

    /// The artifact of this run: pipeline, model and threshold, with the data
    /// (the pinned raw files) and code versions it came from.
    pub fn artifact(&self, params: &LabParams, code: CodeVersion) -> Artifact {
        self.fitted()
            .artifact(self.test, self.split.test.len(), params, code)
    }
}
