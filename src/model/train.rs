//! Training with linfa-logistic (L-BFGS on the regularised loss in
//! [`super::objective`]).

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, ArrayView2, ShapeBuilder};

use super::{newton, objective, LogisticModel};
use crate::design::{Columns, Design};
use crate::params::{ModelParams, Solver};
use crate::split::Train;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("the training design has no rows")]
    Empty,
    #[error("the training part holds only one class ({only}); a classifier needs both")]
    OneClass { only: &'static str },
    #[error("linfa-logistic could not fit the model: {0}")]
    Solver(#[from] linfa_logistic::error::Error),
}

/// The fitted model and how close the solver got to the optimum.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    pub model: LogisticModel,
    /// Length of the loss's gradient per training row at the solution,
    /// computed independently of linfa; 0 at the exact optimum.
    pub mean_gradient_norm: f64,
    /// Whether that length is within the tolerance asked for. When not, the
    /// solver stopped on its iteration limit (or on a flat loss), and the
    /// lab logs a warning instead of pretending.
    pub converged: bool,
}

/// Parts larger than this start the solver from a sample's solution.
const WARM_START_ABOVE: usize = 50_000;
/// About how many rows that sample holds.
const WARM_START_SAMPLE: usize = 10_000;

/// The class linfa will call positive: the first label seen, unless the
/// other class is more frequent (its `label_classes`, read from its source).
fn linfa_positive(labels: &[bool]) -> bool {
    let first = labels.first().copied().unwrap_or(true);
    let same = labels.iter().filter(|y| **y == first).count();
    if same < labels.len() - same {
        !first
    } else {
        first
    }
}

/// One fit with the chosen solver.
fn fit_with(
    params: &ModelParams,
    design: &Columns<Train>,
    start: Option<&LogisticModel>,
) -> Result<LogisticModel, TrainError> {
    match params.solver {
        Solver::Linfa => fit_linfa(params, design, start),
        Solver::Newton => Ok(newton::fit(
            design.values(),
            design.labels(),
            design.names(),
            params.l2,
            params.gradient_tolerance,
            params.max_iterations,
            start,
        )),
    }
}

/// One linfa fit, returned as a model of the chance of disease, optionally
/// started from `start`.
fn fit_linfa(
    params: &ModelParams,
    design: &Columns<Train>,
    start: Option<&LogisticModel>,
) -> Result<LogisticModel, TrainError> {
    // A view over the columns' own buffer: the solver gets the matrix
    // without a copy, which matters at 920,000 rows.
    let records = ArrayView2::from_shape((design.rows(), design.width()).f(), design.values())
        .expect("the columns hold rows × width values");
    let targets = Array1::from_iter(design.labels().iter().copied());
    let dataset = DatasetBase::new(records, targets);

    // linfa's "positive" class is whichever class is more frequent in the
    // training labels, not `true`: with fewer patients with disease than
    // without, its coefficients give the chance of *no* disease. Starting
    // values and results are flipped to and from that convention.
    let sign = if linfa_positive(design.labels()) {
        1.0
    } else {
        -1.0
    };

    // The tolerance is per row in the parameters, so the same setting means
    // the same closeness to the optimum at 552 rows and at 552,000.
    let tolerance = params.gradient_tolerance * design.rows() as f64;
    let mut solver = LogisticRegression::default()
        .alpha(params.l2)
        .max_iterations(params.max_iterations)
        .gradient_tolerance(tolerance);
    if let Some(start) = start {
        let mut initial: Vec<f64> = start.coefficients.iter().map(|w| sign * w).collect();
        initial.push(sign * start.intercept);
        solver = solver.initial_params(Array1::from(initial));
    }
    let fitted = solver.fit(&dataset)?;
    assert_eq!(
        fitted.labels().pos.class,
        sign > 0.0,
        "linfa's positive class is not the one its source says"
    );

    Ok(LogisticModel {
        intercept: sign * fitted.intercept(),
        coefficients: fitted.params().iter().map(|w| sign * w).collect(),
        inputs: design.names().to_vec(),
    })
}

/// Fits the logistic regression on a training design. Only a
/// `Design<Train>` is accepted, for the same reason as in `features`. The
/// design is copied into columns first; [`train_columns`] avoids the copy.
pub fn train(params: &ModelParams, design: &Design<Train>) -> Result<Trained, TrainError> {
    train_columns(params, &Columns::from(design))
}

/// Fits the logistic regression on training columns.
pub fn train_columns(params: &ModelParams, design: &Columns<Train>) -> Result<Trained, TrainError> {
    if design.rows() == 0 {
        return Err(TrainError::Empty);
    }
    let positives = design.labels().iter().filter(|y| **y).count();
    if positives == 0 || positives == design.rows() {
        let only = if positives == 0 {
            "no disease"
        } else {
            "disease"
        };
        return Err(TrainError::OneClass { only });
    }

    // On a large part, start from the answer for a small sample of it: the
    // solver then needs a handful of passes over the data instead of dozens.
    let start = if design.rows() > WARM_START_ABOVE {
        let sample = design.every_nth(design.rows().div_ceil(WARM_START_SAMPLE));
        let mut sample_params = params.clone();
        // The loss is a sum over rows: scale the penalty with the sample so
        // the small problem weighs it as the full one does.
        sample_params.l2 = params.l2 * sample.rows() as f64 / design.rows() as f64;
        Some(fit_with(&sample_params, &sample, None)?)
    } else {
        None
    };
    let model = fit_with(params, design, start.as_ref())?;

    let mean_gradient_norm =
        objective::mean_gradient_norm_columns(&model, design.values(), design.labels(), params.l2);
    let converged = mean_gradient_norm <= params.gradient_tolerance;
    if !converged {
        tracing::warn!(
            mean_gradient_norm,
            tolerance = params.gradient_tolerance,
            max_iterations = params.max_iterations,
            "the solver stopped before the gradient tolerance was met"
        );
    }
    Ok(Trained {
        model,
        mean_gradient_norm,
        converged,
    })
}
