//! Choosing the decision threshold from the stated costs, on validation data.
//!
//! The model gives a probability; the clinic needs a yes or no. Where to cut
//! depends on what each mistake costs: missing a patient with disease is far
//! worse than sending a healthy one for more tests. The threshold minimises
//! `cost_missed × missed + cost_false_alarm × false alarms` on the validation
//! part. It takes `Predictions<Validation>` only, so it cannot be chosen on
//! the test part, whose scores would then be flattering:
//!
//! ```compile_fail,E0308
//! # use heartlab::evaluate::{threshold, Predictions};
//! # use heartlab::split::Test;
//! # fn peek(test: &Predictions<Test>, params: &heartlab::params::EvaluateParams) {
//! threshold::choose(test, params); // expected `&Predictions<Validation>`
//! # }
//! ```

use serde::{Deserialize, Serialize};

use super::metrics::Confusion;
use super::Predictions;
use crate::params::EvaluateParams;
use crate::split::Validation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    /// Flag a patient when the probability is at least this.
    pub threshold: f64,
    pub cost_missed_disease: f64,
    pub cost_false_alarm: f64,
    /// Cost per validation patient at the chosen threshold.
    pub validation_cost_per_patient: f64,
    /// Where a perfectly calibrated model should cut:
    /// `cost_false_alarm / (cost_false_alarm + cost_missed_disease)`.
    pub calibrated_optimum: f64,
    pub validation_rows: usize,
}

/// Tries a cut between each pair of neighbouring validation probabilities
/// (and below and above them all), and keeps the cheapest. Among equally
/// cheap cuts the lowest wins: for screening, flagging more is the safer
/// side of a tie.
pub fn choose(predictions: &Predictions<Validation>, costs: &EvaluateParams) -> ThresholdChoice {
    let mut sorted: Vec<f64> = predictions.probability.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();

    let mut candidates = Vec::with_capacity(sorted.len() + 1);
    candidates.push(0.0);
    candidates.extend(sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    candidates.push(
        sorted
            .last()
            .map_or(1.0, |p| (p + 1.0) / 2.0)
            .max(f64::MIN_POSITIVE),
    );

    let cost_at = |threshold: f64| {
        Confusion::at(&predictions.probability, &predictions.label, threshold)
            .cost(costs.cost_missed_disease, costs.cost_false_alarm)
    };
    let (threshold, cost) =
        candidates
            .into_iter()
            .map(|t| (t, cost_at(t)))
            .fold((0.0, f64::INFINITY), |best, next| {
                if next.1 < best.1 {
                    next
                } else {
                    best
                }
            });

    let rows = predictions.probability.len();
    ThresholdChoice {
        threshold,
        cost_missed_disease: costs.cost_missed_disease,
        cost_false_alarm: costs.cost_false_alarm,
        validation_cost_per_patient: if rows > 0 { cost / rows as f64 } else { 0.0 },
        calibrated_optimum: costs.cost_false_alarm
            / (costs.cost_false_alarm + costs.cost_missed_disease),
        validation_rows: rows,
    }
}
