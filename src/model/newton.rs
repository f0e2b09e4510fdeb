//! A second solver for the same loss: Newton's method on a column-major
//! matrix, for large training parts.
//!
//! Why hand-write what linfa-logistic already does: at 550,000 rows linfa
//! needs dozens of full passes (its L-BFGS evaluates the loss and gradient
//! separately, and its first line search has no sense of scale on a loss
//! summed over that many rows), about 8 s in all against a 2 s target. With
//! 33 unknowns, Newton's method needs one pass for the gradient and one for
//! the 33 × 33 Hessian per step, and 3 to 7 steps. It is chosen with
//! `model.solver: newton`; linfa stays the default, and the tests hold both
//! to the same optimality conditions.

// Index loops here read like the matrix formulas they implement.
#![allow(clippy::needless_range_loop)]

use super::objective::log_odds_columns as log_odds;
use super::{sigmoid, LogisticModel};

/// Rows per block when summing the Hessian: 32 columns of 1,024 rows are
/// 256 KiB, which stays in cache.
const BLOCK: usize = 1024;

/// Fits by Newton's method, from `start` or from zeros, until the gradient
/// per row is within `tolerance` or `max_iterations` steps are taken. Each
/// step is halved until the loss goes down, so it cannot diverge.
pub fn fit(
    columns: &[f64],
    labels: &[bool],
    names: &[String],
    l2: f64,
    tolerance: f64,
    max_iterations: u64,
    start: Option<&LogisticModel>,
) -> LogisticModel {
    let n = labels.len();
    let width = names.len();
    let mut model = start.cloned().unwrap_or_else(|| LogisticModel {
        intercept: 0.0,
        coefficients: vec![0.0; width],
        inputs: names.to_vec(),
    });
    let column = |j: usize| &columns[j * n..(j + 1) * n];
    let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();

    let mut z = log_odds(&model, columns, n);
    let mut loss = loss_from(&z, &y, &model, l2);
    for _ in 0..max_iterations {
        // Gradient and Hessian, with the intercept as input 0 (all ones).
        let p: Vec<f64> = z.iter().map(|z| sigmoid(*z)).collect();
        let r: Vec<f64> = p.iter().zip(&y).map(|(p, y)| p - y).collect();
        let s: Vec<f64> = p.iter().map(|p| p * (1.0 - p)).collect();
        let mut gradient = vec![0.0; width + 1];
        let mut hessian = vec![vec![0.0; width + 1]; width + 1];
        gradient[0] = r.iter().sum();
        hessian[0][0] = s.iter().sum();
        for j in 0..width {
            gradient[j + 1] = dot(&r, column(j)) + l2 * model.coefficients[j];
            hessian[0][j + 1] = dot(&s, column(j));
            hessian[j + 1][j + 1] += l2;
        }
        // The Hessian's 528 sums, a block of rows at a time: a block of every
        // column fits in the processor's cache, so the matrix is read from
        // memory once per step instead of once per pair of columns.
        let mut sx = vec![0.0; BLOCK];
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let weights = &s[start..end];
            for j in 0..width {
                let xj = &column(j)[start..end];
                for ((out, w), x) in sx.iter_mut().zip(weights).zip(xj) {
                    *out = w * x;
                }
                let sx = &sx[..end - start];
                for k in j..width {
                    hessian[j + 1][k + 1] += dot(sx, &column(k)[start..end]);
                }
            }
        }
        for a in 0..=width {
            for b in 0..a {
                hessian[a][b] = hessian[b][a];
            }
        }
        let norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt() / n.max(1) as f64;
        if norm <= tolerance {
            break;
        }

        let Some(step) = cholesky_solve(hessian, gradient) else {
            tracing::warn!("the Hessian is not positive definite; Newton stops");
            break;
        };
        let mut scale = 1.0;
        loop {
            let candidate = LogisticModel {
                intercept: model.intercept - scale * step[0],
                coefficients: model
                    .coefficients
                    .iter()
                    .zip(&step[1..])
                    .map(|(w, d)| w - scale * d)
                    .collect(),
                inputs: model.inputs.clone(),
            };
            let candidate_z = log_odds(&candidate, columns, n);
            let candidate_loss = loss_from(&candidate_z, &y, &candidate, l2);
            if candidate_loss <= loss || scale < 1e-8 {
                model = candidate;
                z = candidate_z;
                loss = candidate_loss;
                break;
            }
            scale /= 2.0;
        }
    }
    model
}

fn loss_from(z: &[f64], y: &[f64], model: &LogisticModel, l2: f64) -> f64 {
    let data: f64 = z
        .iter()
        .zip(y)
        .map(|(z, y)| z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z)
        .sum();
    data + 0.5 * l2 * model.coefficients.iter().map(|w| w * w).sum::<f64>()
}

/// A dot product with four running sums, so the compiler can use vector
/// instructions (a single running sum fixes the order of additions).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for i in 0..4 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f64>() + tail
}

/// Solves `h x = g` for a symmetric positive definite `h`; `None` otherwise.
fn cholesky_solve(h: Vec<Vec<f64>>, g: Vec<f64>) -> Option<Vec<f64>> {
    let d = g.len();
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let v = h[i][i] - sum;
                if v <= 0.0 || !v.is_finite() {
                    return None;
                }
                l[i][j] = v.sqrt();
            } else {
                l[i][j] = (h[i][j] - sum) / l[j][j];
            }
        }
    }
    let mut x = g;
    for i in 0..d {
        let sum: f64 = (0..i).map(|k| l[i][k] * x[k]).sum();
        x[i] = (x[i] - sum) / l[i][i];
    }
    for i in (0..d).rev() {
        let sum: f64 = (i + 1..d).map(|k| l[k][i] * x[k]).sum();
        x[i] = (x[i] - sum) / l[i][i];
    }
    Some(x)
}
