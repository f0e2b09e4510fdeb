//! How each leak could have been noticed without knowing it was there.
//!
//! Every detector is an ordinary check a reviewer could run on a pipeline's
//! own parts; the leakage table shows its value for the honest and the leaky
//! run side by side.

use crate::design::Design;
use crate::evaluate::metrics::roc_auc;
use crate::features::FittedPipeline;
use crate::model::train::train;
use crate::params::ModelParams;
use crate::split::Train;

/// The largest gap, in training standard deviations, between a numeric
/// column's mean as the pipeline learned it and its mean on the training part
/// alone. An honest pipeline scores 0: it learned from nothing else.
pub fn fitted_statistics_shift(used: &FittedPipeline, train_only: &FittedPipeline) -> f64 {
    used.numeric
        .iter()
        .zip(&train_only.numeric)
        .map(|(a, b)| ((a.mean - b.mean) / b.sd).abs())
        .fold(0.0, f64::max)
}

/// The best ROC AUC any single column reaches on its own in the training
/// design. Real risk factors rarely pass 0.8; a column near 1 is usually the
/// answer written down after the fact.
pub fn best_single_column_auc<K>(design: &Design<K>) -> f64 {
    (0..design.width())
        .map(|j| {
            let column: Vec<f64> = design.iter_rows().map(|row| row[j]).collect();
            let auc = roc_auc(&column, design.labels()).unwrap_or(0.5);
            // A column can predict by being low as well as high.
            auc.max(1.0 - auc)
        })
        .fold(0.5, f64::max)
}

/// The share of test rows that have a training row within `radius`
/// (Euclidean, in the design's standardised units): near-copies of a
/// training patient.
pub fn near_copy_share<A, B>(train: &Design<A>, test: &Design<B>, radius: f64) -> f64 {
    if test.rows() == 0 {
        return 0.0;
    }
    let r2 = radius * radius;
    let near = test
        .iter_rows()
        .filter(|t| {
            train.iter_rows().any(|r| {
                r.iter()
                    .zip(*t)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    <= r2
            })
        })
        .count();
    near as f64 / test.rows() as f64
}

/// Pearson correlation of each column with the label, over the given rows.
pub fn label_correlations<K>(design: &Design<K>) -> Vec<f64> {
    let n = design.rows() as f64;
    let y: Vec<f64> = design
        .labels()
        .iter()
        .map(|&l| f64::from(u8::from(l)))
        .collect();
    let y_mean = y.iter().sum::<f64>() / n;
    let y_var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>();
    (0..design.width())
        .map(|j| {
            let x: Vec<f64> = design.iter_rows().map(|row| row[j]).collect();
            let x_mean = x.iter().sum::<f64>() / n;
            let cov: f64 = x
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - x_mean) * (b - y_mean))
                .sum();
            let x_var: f64 = x.iter().map(|a| (a - x_mean).powi(2)).sum();
            if x_var > 0.0 && y_var > 0.0 {
                cov / (x_var * y_var).sqrt()
            } else {
                0.0
            }
        })
        .collect()
}

/// Adversarial validation: train a classifier to tell the rows of `a` from
/// the rows of `b`, on half of each, and report its ROC AUC on the other
/// half. About 0.5 means the two look alike; near 1 means the model will
/// meet data unlike what it learned from.
pub fn adversarial_auc<A, B>(a: &Design<A>, b: &Design<B>, model: &ModelParams) -> Option<f64> {
    let width = a.width();
    let (mut fit_values, mut fit_labels) = (Vec::new(), Vec::new());
    let (mut held_values, mut held_labels) = (Vec::new(), Vec::new());
    for (origin, design) in [(false, a.values()), (true, b.values())] {
        for (i, row) in design.chunks_exact(width.max(1)).enumerate() {
            if i % 2 == 0 {
                fit_values.extend_from_slice(row);
                fit_labels.push(origin);
            } else {
                held_values.extend_from_slice(row);
                held_labels.push(origin);
            }
        }
    }
    let names = a.names().to_vec();
    let fit: Design<Train> = Design::from_parts_for_experiment(names, fit_values, fit_labels);
    let trained = train(model, &fit).ok()?;
    let p = trained.model.probabilities(&held_values);
    roc_auc(&p, &held_labels)
}
