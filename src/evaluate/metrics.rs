//! The scores of a screening model, each from probabilities and labels.
//!
//! Hand-written rather than taken from `linfa::metrics`: the lab needs
//! average precision and the Brier score, which linfa lacks, exact `f64`
//! results (linfa's curve is `f32`), ties handled in a stated way, and
//! thousands of bootstrap resamples per report. The tests compare the ROC
//! AUC with linfa's on the same predictions.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve: the chance that a random patient with disease
/// gets a higher probability than a random patient without (ties count
/// half). `None` when either class is absent, as the area is then undefined.
pub fn roc_auc(probability: &[f64], label: &[bool]) -> Option<f64> {
    let positives = label.iter().filter(|y| **y).count();
    let negatives = label.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }

    // Mann-Whitney: sum the ranks of the positives, tied values sharing the
    // mean of their ranks.
    let mut order: Vec<usize> = (0..probability.len()).collect();
    order.sort_by(|&a, &b| probability[a].total_cmp(&probability[b]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && probability[order[end + 1]] == probability[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end) as f64 / 2.0 + 1.0;
        let tied_positives = order[start..=end].iter().filter(|&&i| label[i]).count();
        rank_sum += mean_rank * tied_positives as f64;
        start = end + 1;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Area under the precision-recall curve, as average precision: the mean of
/// the precision reached at each patient with disease, walking down the
/// probabilities (tied probabilities are passed together). `None` without
/// a positive. Its floor is the prevalence, not 0.5.
pub fn average_precision(probability: &[f64], label: &[bool]) -> Option<f64> {
    let positives = label.iter().filter(|y| **y).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..probability.len()).collect();
    order.sort_by(|&a, &b| probability[b].total_cmp(&probability[a]));

    let (mut seen, mut hits, mut area) = (0usize, 0usize, 0.0);
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && probability[order[end + 1]] == probability[order[start]] {
            end += 1;
        }
        let new_hits = order[start..=end].iter().filter(|&&i| label[i]).count();
        seen += end - start + 1;
        hits += new_hits;
        area += (new_hits as f64 / positives as f64) * (hits as f64 / seen as f64);
        start = end + 1;
    }
    Some(area)
}

/// Mean squared difference between probability and outcome (0 or 1):
/// 0 is perfect, and always answering the prevalence scores `p(1 - p)`.
pub fn brier(probability: &[f64], label: &[bool]) -> Option<f64> {
    if probability.is_empty() {
        return None;
    }
    let sum: f64 = probability
        .iter()
        .zip(label)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    Some(sum / probability.len() as f64)
}

/// Counts at one threshold: a patient is flagged when `p >= threshold`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub true_positive: usize,
    pub false_positive: usize,
    pub true_negative: usize,
    pub false_negative: usize,
}

impl Confusion {
    pub fn at(probability: &[f64], label: &[bool], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for (p, &y) in probability.iter().zip(label) {
            match (*p >= threshold, y) {
                (true, true) => c.true_positive += 1,
                (true, false) => c.false_positive += 1,
                (false, false) => c.true_negative += 1,
                (false, true) => c.false_negative += 1,
            }
        }
        c
    }

    fn ratio(part: usize, whole: usize) -> Option<f64> {
        (whole > 0).then(|| part as f64 / whole as f64)
    }

    /// Sensitivity: the share of patients with disease who are flagged.
    pub fn recall(&self) -> Option<f64> {
        Self::ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    /// The share of patients without disease who are not flagged.
    pub fn specificity(&self) -> Option<f64> {
        Self::ratio(self.true_negative, self.true_negative + self.false_positive)
    }

    /// The share of flagged patients who have disease.
    pub fn precision(&self) -> Option<f64> {
        Self::ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    /// The stated cost of these mistakes.
    pub fn cost(&self, cost_missed: f64, cost_false_alarm: f64) -> f64 {
        cost_missed * self.false_negative as f64 + cost_false_alarm * self.false_positive as f64
    }
}

/// One bin of the calibration table: do patients given about 30% have
/// disease about 30% of the time?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub from: f64,
    pub to: f64,
    pub rows: usize,
    pub mean_probability: Option<f64>,
    pub observed_rate: Option<f64>,
}

/// Equal-width bins over [0, 1]; the last bin includes 1.
pub fn calibration(probability: &[f64], label: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let mut sums = vec![(0usize, 0.0, 0usize); bins];
    for (p, &y) in probability.iter().zip(label) {
        let index = ((p * bins as f64) as usize).min(bins - 1);
        sums[index].0 += 1;
        sums[index].1 += p;
        sums[index].2 += usize::from(y);
    }
    sums.into_iter()
        .enumerate()
        .map(|(i, (rows, p_sum, positives))| CalibrationBin {
            from: i as f64 / bins as f64,
            to: (i + 1) as f64 / bins as f64,
            rows,
            mean_probability: (rows > 0).then(|| p_sum / rows as f64),
            observed_rate: (rows > 0).then(|| positives as f64 / rows as f64),
        })
        .collect()
}

/// One point of the ROC curve: cutting at `threshold` flags this share of
/// the patients without disease (`fpr`) and of those with it (`tpr`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    pub threshold: f64,
    pub fpr: f64,
    pub tpr: f64,
}

/// The ROC curve, from flagging nobody to flagging everybody, with one point
/// per distinct probability (tied probabilities move together). Empty when
/// either class is absent.
pub fn roc_curve(probability: &[f64], label: &[bool]) -> Vec<RocPoint> {
    let positives = label.iter().filter(|y| **y).count() as f64;
    let negatives = label.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return Vec::new();
    }

    let mut order: Vec<usize> = (0..probability.len()).collect();
    order.sort_by(|&a, &b| probability[b].total_cmp(&probability[a]));

    let mut points = vec![RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut start = 0;
    while start < order.len() {
        let cut = probability[order[start]];
        let mut end = start;
        while end < order.len() && probability[order[end]] == cut {
            if label[order[end]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            end += 1;
        }
        points.push(RocPoint {
            threshold: cut,
            fpr: fp / negatives,
            tpr: tp / positives,
        });
        start = end;
    }
    points
}
