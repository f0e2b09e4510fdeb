//! The model: a plain logistic regression.
//!
//! [`LogisticModel`] is what prediction needs: an intercept, one coefficient
//! per input, and the names of those inputs. It is plain data with no
//! dependency on the training libraries, so the server can load and apply it
//! as it is, and a served prediction is the library's prediction bit for bit.
//!
//! Training (with linfa-logistic) lives in [`train`], behind the `lab`
//! feature. [`objective`] computes the regularised loss and its gradient on
//! its own, so the fitted coefficients can be checked against the optimality
//! conditions without trusting the solver that produced them.

#[cfg(feature = "lab")]
pub mod newton;
pub mod objective;
#[cfg(feature = "lab")]
pub mod train;

use serde::{Deserialize, Serialize};

/// A fitted logistic regression: `p = 1 / (1 + exp(-(b + w · x)))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// The input each coefficient belongs to, as the pipeline names them.
    pub inputs: Vec<String>,
}

impl LogisticModel {
    /// The log-odds of disease for one transformed row.
    /// Summed from the intercept, one input at a time, in input order: one
    /// fixed order of additions, so every caller gets the same bits.
    pub fn log_odds(&self, row: &[f64]) -> f64 {
        debug_assert_eq!(row.len(), self.coefficients.len());
        self.coefficients
            .iter()
            .zip(row)
            .fold(self.intercept, |z, (w, x)| z + w * x)
    }

    /// The probability of disease for one transformed row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.log_odds(row))
    }

    /// Probabilities for every row of a row-major buffer.
    pub fn probabilities(&self, values: &[f64]) -> Vec<f64> {
        let width = self.coefficients.len().max(1);
        values
            .chunks_exact(width)
            .map(|row| self.probability(row))
            .collect()
    }
}

/// The logistic function, written so that neither branch can overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}
