//! Judging the model as a screening test, overall and for the groups a
//! clinic would ask about: each hospital, each sex, each age band.
//!
//! Every score comes with a bootstrap interval, because most slices are
//! small and a bare number would claim more than the data can say. The
//! decision threshold comes from [`threshold::choose`] on the validation
//! part; these scores are then read on the test part, once.

pub mod bootstrap;
pub mod markdown;
pub mod metrics;
pub mod threshold;

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::design::Design;
use crate::example::{Example, FEATURES};
use crate::model::LogisticModel;
use crate::params::EvaluateParams;
use crate::split::Part;
use metrics::{CalibrationBin, Confusion};
use threshold::ThresholdChoice;

/// The model's probabilities for one part, with the labels and the groups
/// each patient belongs to. The marker says which part they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions<K> {
    pub probability: Vec<f64>,
    pub label: Vec<bool>,
    pub groups: Vec<Vec<String>>,
    kind: PhantomData<K>,
}

impl<K> Predictions<K> {
    /// Scores every row of a part. `design` must be the pipeline's design of
    /// the same part, row for row.
    pub fn of(
        model: &LogisticModel,
        design: &Design<K>,
        part: &Part<K>,
        params: &EvaluateParams,
    ) -> Predictions<K> {
        assert_eq!(design.rows(), part.len(), "design and part must match");
        Predictions {
            probability: model.probabilities(design.values()),
            label: design.labels().to_vec(),
            groups: part
                .rows()
                .iter()
                .map(|row| groups_of(row, &params.age_bands))
                .collect(),
            kind: PhantomData,
        }
    }

    /// Predictions made outside the lab's own flow, for the leakage
    /// experiments, which must say so.
    pub fn from_parts_for_experiment(probability: Vec<f64>, label: Vec<bool>) -> Predictions<K> {
        let groups = vec![Vec::new(); label.len()];
        Predictions {
            probability,
            label,
            groups,
            kind: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    /// The rows whose groups include `slice` ("overall" is every row).
    fn slice(&self, slice: &str) -> (Vec<f64>, Vec<bool>) {
        self.probability
            .iter()
            .zip(&self.label)
            .zip(&self.groups)
            .filter(|(_, groups)| slice == OVERALL || groups.iter().any(|g| g == slice))
            .map(|((p, y), _)| (*p, *y))
            .unzip()
    }
}

const OVERALL: &str = "overall";

/// A score computed from probabilities and labels, `None` where undefined.
type ScoreFn<'a> = dyn Fn(&[f64], &[bool]) -> Option<f64> + 'a;

/// The slices one patient belongs to: `hospital=…`, `sex=…`, `age=…`.
pub fn groups_of(row: &Example, age_bands: &[f64]) -> Vec<String> {
    let column = |name: &str| {
        FEATURES
            .iter()
            .position(|f| *f == name)
            .and_then(|i| row.features[i])
    };
    let sex = match column("sex") {
        Some(1.0) => "male",
        Some(0.0) => "female",
        _ => "unknown",
    };
    let age = match column("age") {
        None => "unknown".to_owned(),
        Some(age) => {
            let upper = age_bands.iter().position(|edge| age < *edge);
            match upper {
                Some(0) => format!("<{}", age_bands[0]),
                Some(i) => format!("[{}, {})", age_bands[i - 1], age_bands[i]),
                None => match age_bands.last() {
                    Some(last) => format!(">={last}"),
                    None => "all".to_owned(),
                },
            }
        }
    };
    vec![
        format!("hospital={}", row.hospital),
        format!("sex={sex}"),
        format!("age={age}"),
    ]
}

/// Sorts age bands by age rather than as text ("<45" before "[45, 55)").
fn slice_order(slice: &str) -> f64 {
    let Some(band) = slice.strip_prefix("age=") else {
        return f64::NEG_INFINITY;
    };
    let number = |text: &str| {
        text.trim_matches(|c: char| !c.is_ascii_digit() && c != '.')
            .split(',')
            .next()
            .and_then(|n| n.trim().parse::<f64>().ok())
    };
    if band.starts_with('<') {
        f64::MIN
    } else {
        number(band).unwrap_or(f64::MAX)
    }
}

/// A score with its bootstrap interval. `value` is `None` when the slice
/// cannot define it (for example a ROC AUC with no patient without disease).
/// `from` counts the patients the score is a share of (for specificity, the
/// patients without disease); under [`MIN_FOR_INTERVAL`] there is no
/// interval, because a bootstrap of one or two patients collapses to a point
/// and reads as certainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub from: usize,
}

/// Fewer patients than this behind a score: no interval is given.
pub const MIN_FOR_INTERVAL: usize = 10;

/// Every score of one slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceScores {
    pub slice: String,
    pub rows: usize,
    pub with_disease: usize,
    pub roc_auc: Scored,
    pub pr_auc: Scored,
    pub recall: Scored,
    pub specificity: Scored,
    pub precision: Scored,
    pub brier: Scored,
    pub confusion: Confusion,
}

/// The evaluation of one part at a chosen threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub part: String,
    pub threshold: ThresholdChoice,
    pub bootstrap_resamples: usize,
    pub confidence: f64,
    pub slices: Vec<SliceScores>,
    pub calibration: Vec<CalibrationBin>,
}

/// Scores the predictions overall and per group, with intervals.
pub fn evaluate<K>(
    part_name: &str,
    predictions: &Predictions<K>,
    threshold: &ThresholdChoice,
    params: &EvaluateParams,
    seed: u64,
) -> Evaluation {
    let mut slice_names = vec![OVERALL.to_owned()];
    let mut groups: Vec<String> = predictions.groups.iter().flatten().cloned().collect();
    groups.sort_by(|a, b| slice_order(a).total_cmp(&slice_order(b)).then(a.cmp(b)));
    groups.dedup();
    slice_names.extend(groups);

    let t = threshold.threshold;
    let slices = slice_names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (p, y) = predictions.slice(name);
            // Each slice and score gets its own stream, so adding a slice does
            // not shift the intervals of the others.
            let positives = y.iter().filter(|v| **v).count();
            let negatives = y.len() - positives;
            let flagged = Confusion::at(&p, &y, t);
            let flagged = flagged.true_positive + flagged.false_positive;
            let scored = |k: u64, from: usize, f: &ScoreFn<'_>| {
                let seed = seed ^ ((i as u64) << 8 | k);
                let ci = (from >= MIN_FOR_INTERVAL)
                    .then(|| {
                        bootstrap::interval(
                            &p,
                            &y,
                            f,
                            params.bootstrap_resamples,
                            params.confidence,
                            seed,
                        )
                    })
                    .flatten();
                Scored {
                    value: f(&p, &y),
                    low: ci.map(|c| c.0),
                    high: ci.map(|c| c.1),
                    from,
                }
            };
            // A ranking score rests on the smaller class.
            let pairs = positives.min(negatives);
            SliceScores {
                slice: name.clone(),
                rows: p.len(),
                with_disease: y.iter().filter(|v| **v).count(),
                roc_auc: scored(1, pairs, &metrics::roc_auc),
                pr_auc: scored(2, pairs, &metrics::average_precision),
                recall: scored(3, positives, &|p, y| Confusion::at(p, y, t).recall()),
                specificity: scored(4, negatives, &|p, y| Confusion::at(p, y, t).specificity()),
                precision: scored(5, flagged, &|p, y| Confusion::at(p, y, t).precision()),
                brier: scored(6, y.len(), &metrics::brier),
                confusion: Confusion::at(&p, &y, t),
            }
        })
        .collect();

    Evaluation {
        part: part_name.to_owned(),
        threshold: threshold.clone(),
        bootstrap_resamples: params.bootstrap_resamples,
        confidence: params.confidence,
        slices,
        calibration: metrics::calibration(
            &predictions.probability,
            &predictions.label,
            params.calibration_bins,
        ),
    }
}

/// The few numbers the leakage table compares, without intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub roc_auc: f64,
    pub pr_auc: f64,
    pub recall: f64,
    pub specificity: f64,
    pub brier: f64,
}

impl Headline {
    /// Scores at a threshold; an undefined score (one class only) is NaN so
    /// that averages over seeds show it rather than hide it.
    pub fn of<K>(predictions: &Predictions<K>, threshold: f64) -> Headline {
        let (p, y) = (&predictions.probability, &predictions.label);
        let confusion = Confusion::at(p, y, threshold);
        Headline {
            roc_auc: metrics::roc_auc(p, y).unwrap_or(f64::NAN),
            pr_auc: metrics::average_precision(p, y).unwrap_or(f64::NAN),
            recall: confusion.recall().unwrap_or(f64::NAN),
            specificity: confusion.specificity().unwrap_or(f64::NAN),
            brier: metrics::brier(p, y).unwrap_or(f64::NAN),
        }
    }
}
