//! The regularised loss the model minimises, and its gradient, computed here
//! independently of linfa.
//!
//! For rows `x_i` with labels `y_i` in {0, 1}, intercept `b`, coefficients `w`
//! and penalty weight `l2`:
//!
//! ```text
//! loss(b, w) = sum_i [ log(1 + exp(z_i)) - y_i z_i ] + l2 / 2 * |w|^2,   z_i = b + w · x_i
//! d loss / d b   = sum_i (p_i - y_i)
//! d loss / d w_j = sum_i (p_i - y_i) x_ij + l2 w_j,                       p_i = sigmoid(z_i)
//! ```
//!
//! This is the textbook L2-penalised log-likelihood (for example Hastie,
//! Tibshirani and Friedman, *The Elements of Statistical Learning*, 2nd ed.,
//! section 4.4, with the penalty of section 18.3). It is convex, so a point
//! where the gradient vanishes is the one minimum: that is the optimality
//! condition the tests check the fitted model against.

use super::{sigmoid, LogisticModel};

/// The loss above, summed over the rows of a row-major buffer.
pub fn loss(model: &LogisticModel, values: &[f64], labels: &[bool], l2: f64) -> f64 {
    let width = model.coefficients.len().max(1);
    let data: f64 = values
        .chunks_exact(width)
        .zip(labels)
        .map(|(row, &y)| {
            let z = model.log_odds(row);
            // log(1 + exp(z)) without overflow for large |z|.
            let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
            softplus - if y { z } else { 0.0 }
        })
        .sum();
    let penalty = 0.5 * l2 * model.coefficients.iter().map(|w| w * w).sum::<f64>();
    data + penalty
}

/// The gradient of [`loss`]: the intercept's component first, then one per
/// coefficient.
pub fn gradient(model: &LogisticModel, values: &[f64], labels: &[bool], l2: f64) -> Vec<f64> {
    let width = model.coefficients.len();
    let mut grad = vec![0.0; width + 1];
    for (row, &y) in values.chunks_exact(width.max(1)).zip(labels) {
        let residual = sigmoid(model.log_odds(row)) - f64::from(u8::from(y));
        grad[0] += residual;
        for (g, x) in grad[1..].iter_mut().zip(row) {
            *g += residual * x;
        }
    }
    for (g, w) in grad[1..].iter_mut().zip(&model.coefficients) {
        *g += l2 * w;
    }
    grad
}

/// The length of the gradient divided by the number of rows: how far the
/// model is from the optimum, on a scale that does not grow with the data.
pub fn mean_gradient_norm(model: &LogisticModel, values: &[f64], labels: &[bool], l2: f64) -> f64 {
    let norm = gradient(model, values, labels, l2)
        .iter()
        .map(|g| g * g)
        .sum::<f64>()
        .sqrt();
    norm / labels.len().max(1) as f64
}

/// `b + Σ w_j x_j` for each of `n` rows of a column-major matrix, added in
/// the same order as [`LogisticModel::log_odds`], so the bits agree.
pub fn log_odds_columns(model: &LogisticModel, columns: &[f64], n: usize) -> Vec<f64> {
    let mut z = vec![model.intercept; n];
    for (w, column) in model
        .coefficients
        .iter()
        .zip(columns.chunks_exact(n.max(1)))
    {
        for (z, x) in z.iter_mut().zip(column) {
            *z += w * x;
        }
    }
    z
}

/// The gradient of [`loss`] for a matrix stored column by column (as the
/// solver is given it), in the same order as [`gradient`].
pub fn gradient_columns(
    model: &LogisticModel,
    columns: &[f64],
    labels: &[bool],
    l2: f64,
) -> Vec<f64> {
    let n = labels.len();
    let z = log_odds_columns(model, columns, n);
    let residual: Vec<f64> = z
        .iter()
        .zip(labels)
        .map(|(z, &y)| sigmoid(*z) - f64::from(u8::from(y)))
        .collect();
    let mut grad = Vec::with_capacity(model.coefficients.len() + 1);
    grad.push(residual.iter().sum());
    for (w, column) in model
        .coefficients
        .iter()
        .zip(columns.chunks_exact(n.max(1)))
    {
        grad.push(residual.iter().zip(column).map(|(r, x)| r * x).sum::<f64>() + l2 * w);
    }
    grad
}

/// [`mean_gradient_norm`] for a column-major matrix.
pub fn mean_gradient_norm_columns(
    model: &LogisticModel,
    columns: &[f64],
    labels: &[bool],
    l2: f64,
) -> f64 {
    let norm = gradient_columns(model, columns, labels, l2)
        .iter()
        .map(|g| g * g)
        .sum::<f64>()
        .sqrt();
    norm / labels.len().max(1) as f64
}
