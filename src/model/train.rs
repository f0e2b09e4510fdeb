//! Training with linfa-logistic (L-BFGS on the regularised loss in
//! [`super::objective`]).

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, ArrayView2};

use super::{objective, LogisticModel};
use crate::design::Design;
use crate::params::ModelParams;
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

/// Fits the logistic regression on a training design. Only a
/// `Design<Train>` is accepted, for the same reason as in `features`.
pub fn train(params: &ModelParams, design: &Design<Train>) -> Result<Trained, TrainError> {
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

    // A view over the design's own buffer: the solver gets the matrix
    // without a copy, which matters at 920,000 rows.
    let records = ArrayView2::from_shape((design.rows(), design.width()), design.values())
        .expect("a design's buffer holds rows × width values");
    let targets = Array1::from_iter(design.labels().iter().copied());
    let dataset = DatasetBase::new(records, targets);

    // The tolerance is per row in the parameters, so the same setting means
    // the same closeness to the optimum at 552 rows and at 552,000.
    let tolerance = params.gradient_tolerance * design.rows() as f64;
    let fitted = LogisticRegression::default()
        .alpha(params.l2)
        .max_iterations(params.max_iterations)
        .gradient_tolerance(tolerance)
        .fit(&dataset)?;

    // linfa's "positive" class is whichever class is more frequent in the
    // training labels, not `true`: with fewer patients with disease than
    // without, its coefficients give the probability of *no* disease. Flip
    // them so the model always speaks of disease.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let model = LogisticModel {
        intercept: sign * fitted.intercept(),
        coefficients: fitted.params().iter().map(|w| sign * w).collect(),
        inputs: design.names().to_vec(),
    };
    let mean_gradient_norm =
        objective::mean_gradient_norm(&model, design.values(), design.labels(), params.l2);
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
