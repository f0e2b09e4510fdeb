//! How many runs are enough? The honest flow on more and more seeds, and
//! how the mean test score and its uncertainty settle as they are added.
//!
//! One run's test score depends on which patients the split put in the test
//! part; with 174 test patients that alone moves the ROC AUC by a few
//! hundredths. Comparing two settings on one seed each compares two draws.
//! The table shows after how many seeds the mean stops moving by more than
//! the difference one cares about.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::example::Example;
use crate::flow::{self, FlowError};
use crate::leakage::Spread;
use crate::params::LabParams;

/// The mean test ROC AUC over the first `seeds` seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub seeds: usize,
    /// The ROC AUC of the seed added at this step.
    pub roc_auc: f64,
    pub mean: f64,
    pub sd: f64,
    /// Half the width of the normal 95% interval of the mean, 1.96 sd / √n:
    /// how far the mean itself may still be off.
    pub half_width: f64,
}

/// Runs the flow on seeds `1..=count`, one step per seed.
pub fn run(examples: &[Example], params: &LabParams, count: u64) -> Result<Vec<Step>, FlowError> {
    let mut scores = Vec::new();
    let mut steps = Vec::new();
    for seed in 1..=count {
        let outcome = flow::run(examples, params, seed)?;
        scores.push(outcome.test.roc_auc);

        let spread = Spread::of(scores.iter().copied());
        let n = scores.len() as f64;
        steps.push(Step {
            seeds: scores.len(),
            roc_auc: outcome.test.roc_auc,
            mean: spread.mean,
            sd: spread.sd,
            half_width: if scores.len() > 1 {
                1.96 * spread.sd / n.sqrt()
            } else {
                f64::NAN
            },
        });
    }
    Ok(steps)
}

/// The first step from which the interval's half width stays under
/// `target`, if any.
pub fn enough(steps: &[Step], target: f64) -> Option<usize> {
    let last_above = steps
        .iter()
        .rposition(|s| s.half_width.is_nan() || s.half_width >= target);
    match last_above {
        None => steps.first().map(|s| s.seeds),
        Some(i) => steps.get(i + 1).map(|s| s.seeds),
    }
}

/// The table for the book, with the verdict for two targets.
pub fn render(steps: &[Step]) -> String {
    let mut md = String::from(
        "| seeds | this seed's ROC AUC | mean so far | sd | ± (95% of the mean) |\n\
         |---:|---:|---:|---:|---:|\n",
    );
    for s in steps {
        let half = if s.half_width.is_finite() {
            format!("{:.4}", s.half_width)
        } else {
            "–".to_owned()
        };
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} | {half} |",
            s.seeds, s.roc_auc, s.mean, s.sd
        );
    }
    md.push('\n');
    for target in [0.01, 0.005] {
        let verdict = match enough(steps, target) {
            Some(n) => format!("from {n} seeds on"),
            None => format!("not within these {} seeds", steps.len()),
        };
        let _ = writeln!(
            md,
            "- The mean is known to within ±{target} (95%) {verdict}."
        );
    }
    md
}
