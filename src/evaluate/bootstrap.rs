//! Percentile bootstrap confidence intervals.
//!
//! With 30 patients in a hospital's test slice, one score is a guess; the
//! interval says how much the guess would move with other patients. Rows are
//! drawn with replacement, the score is recomputed, and the middle share of
//! the resampled scores is the interval. Seeded, so reports are repeatable.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The interval of `score` over `resamples` bootstrap draws of the rows.
/// Draws where the score is undefined (one class only) are left out; `None`
/// when fewer than half the draws give a score.
pub fn interval(
    probability: &[f64],
    label: &[bool],
    score: impl Fn(&[f64], &[bool]) -> Option<f64>,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    let n = probability.len();
    if n == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut p = vec![0.0; n];
    let mut y = vec![false; n];
    let mut scores = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for i in 0..n {
            let pick = rng.random_range(0..n);
            p[i] = probability[pick];
            y[i] = label[pick];
        }
        if let Some(s) = score(&p, &y) {
            scores.push(s);
        }
    }
    if scores.len() * 2 < resamples {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| scores[((scores.len() - 1) as f64 * q).round() as usize];
    Some((at(tail), at(1.0 - tail)))
}
