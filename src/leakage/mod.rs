//! Phase 3: leakage on purpose.
//!
//! Each experiment breaks one rule of the honest flow and is scored against
//! the honest flow on the same seeds, so the table shows how much a leak
//! flatters the test scores, and how much that varies from split to split.
//! Each row also carries a detector: a check someone could have run without
//! knowing about the leak, measured on the honest and the leaky run.
//!
//! Every experiment says "for experiment" where it builds a part or a design
//! by hand: that is the only way around the typed split, and it is visible.

pub mod detect;
pub mod experiments;
pub mod markdown;

use serde::{Deserialize, Serialize};

use crate::evaluate::Headline;
use crate::example::Example;
use crate::features::FitError;
use crate::flow::FlowError;
use crate::model::train::TrainError;
use crate::params::LabParams;

#[derive(Debug, thiserror::Error)]
pub enum LeakageError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error("fitting the preprocessing pipeline: {0}")]
    Fit(#[from] FitError),
    #[error("training the model: {0}")]
    Train(#[from] TrainError),
    #[error("unknown experiment {0:?}; known: {1}")]
    Unknown(String, String),
}

/// The experiments, in the order of the chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    PreprocessBeforeSplit,
    LabelProxyFeature,
    LabelFilteredRows,
    DuplicatesAcrossSplit,
    SelectionOnAllData,
    HospitalAsFeature,
    HospitalLeftOut,
}

impl Experiment {
    pub const ALL: [Experiment; 7] = [
        Experiment::PreprocessBeforeSplit,
        Experiment::LabelProxyFeature,
        Experiment::LabelFilteredRows,
        Experiment::DuplicatesAcrossSplit,
        Experiment::SelectionOnAllData,
        Experiment::HospitalAsFeature,
        Experiment::HospitalLeftOut,
    ];

    /// The name on the command line and in the files.
    pub fn id(self) -> &'static str {
        match self {
            Experiment::PreprocessBeforeSplit => "preprocess-before-split",
            Experiment::LabelProxyFeature => "label-proxy-feature",
            Experiment::LabelFilteredRows => "label-filtered-rows",
            Experiment::DuplicatesAcrossSplit => "duplicates-across-split",
            Experiment::SelectionOnAllData => "selection-on-all-data",
            Experiment::HospitalAsFeature => "hospital-as-feature",
            Experiment::HospitalLeftOut => "hospital-left-out",
        }
    }

    pub fn parse(id: &str) -> Result<Experiment, LeakageError> {
        Experiment::ALL
            .into_iter()
            .find(|e| e.id() == id)
            .ok_or_else(|| {
                let known: Vec<&str> = Experiment::ALL.iter().map(|e| e.id()).collect();
                LeakageError::Unknown(id.to_owned(), known.join(", "))
            })
    }

    /// What the leaky run does differently, in a line.
    pub fn leak(self) -> &'static str {
        match self {
            Experiment::PreprocessBeforeSplit => {
                "imputation and scaling learned from all rows, test included"
            }
            Experiment::LabelProxyFeature => {
                "adds a column written after diagnosis, agreeing with the label most of the time"
            }
            Experiment::LabelFilteredRows => {
                "drops \"atypical\" patients, chosen by reading their label, before the split"
            }
            Experiment::DuplicatesAcrossSplit => {
                "makes near-copies of every patient before the split"
            }
            Experiment::SelectionOnAllData => {
                "keeps the columns most correlated with the label on all rows, test included"
            }
            Experiment::HospitalAsFeature => "adds the hospital as an input, random split",
            Experiment::HospitalLeftOut => {
                "adds the hospital as an input, testing on a hospital never seen"
            }
        }
    }

    /// What the detector column measures.
    pub fn detector(self) -> &'static str {
        match self {
            Experiment::PreprocessBeforeSplit => {
                "largest gap between a fitted mean and the training mean, in training SDs"
            }
            Experiment::LabelProxyFeature => "best ROC AUC of any single training column",
            Experiment::LabelFilteredRows => {
                "gap in max heart rate between the classes in the test part, in SDs"
            }
            Experiment::DuplicatesAcrossSplit => {
                "share of test rows with a training row closer than 0.25"
            }
            Experiment::SelectionOnAllData => {
                "mean absolute correlation with the label of the kept columns, on the test part"
            }
            Experiment::HospitalAsFeature => "test ROC AUC of the hospital's prevalence alone",
            Experiment::HospitalLeftOut => {
                "ROC AUC of a classifier telling training rows from the held-out hospital's"
            }
        }
    }

    /// Runs the honest and the leaky variant once, on `seed`.
    pub fn run(
        self,
        examples: &[Example],
        params: &LabParams,
        seed: u64,
    ) -> Result<Trial, LeakageError> {
        use experiments as x;
        match self {
            Experiment::PreprocessBeforeSplit => x::preprocess_before_split(examples, params, seed),
            Experiment::LabelProxyFeature => x::label_proxy_feature(examples, params, seed),
            Experiment::LabelFilteredRows => x::label_filtered_rows(examples, params, seed),
            Experiment::DuplicatesAcrossSplit => x::duplicates_across_split(examples, params, seed),
            Experiment::SelectionOnAllData => x::selection_on_all_data(examples, params, seed),
            Experiment::HospitalAsFeature => x::hospital_as_feature(examples, params, seed),
            Experiment::HospitalLeftOut => Ok(left_out_trial(
                seed,
                &x::hospital_left_out(examples, params, seed)?,
            )),
        }
    }
}

/// One seed of leave-one-hospital-out, averaged over the held-out hospitals.
fn left_out_trial(seed: u64, outs: &[experiments::HospitalOut]) -> Trial {
    let mean = |f: &dyn Fn(&experiments::HospitalOut) -> Headline| {
        mean_headline(&outs.iter().map(f).collect::<Vec<_>>())
    };
    let adversarial =
        outs.iter().map(|o| o.adversarial_auc).sum::<f64>() / outs.len().max(1) as f64;
    Trial {
        seed,
        honest: mean(&|o| o.without),
        leaky: mean(&|o| o.with),
        detector_honest: adversarial,
        detector_leaky: adversarial,
    }
}

fn mean_headline(all: &[Headline]) -> Headline {
    let n = all.len().max(1) as f64;
    let avg = |f: fn(&Headline) -> f64| all.iter().map(f).sum::<f64>() / n;
    Headline {
        roc_auc: avg(|h| h.roc_auc),
        pr_auc: avg(|h| h.pr_auc),
        recall: avg(|h| h.recall),
        specificity: avg(|h| h.specificity),
        brier: avg(|h| h.brier),
    }
}

/// One seed of one experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub seed: u64,
    pub honest: Headline,
    pub leaky: Headline,
    pub detector_honest: f64,
    pub detector_leaky: f64,
}

/// Mean and standard deviation over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let values: Vec<f64> = values.into_iter().collect();
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
            / (values.len().saturating_sub(1)).max(1) as f64;
        Spread {
            mean,
            sd: var.sqrt(),
        }
    }
}

/// One row of the leakage table: an experiment over every seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub experiment: Experiment,
    pub leak: String,
    pub honest_roc_auc: Spread,
    pub leaky_roc_auc: Spread,
    /// Leaky minus honest, per seed: the inflation.
    pub roc_auc_inflation: Spread,
    pub pr_auc_inflation: Spread,
    pub recall_inflation: Spread,
    pub detector: String,
    pub detector_honest: Spread,
    pub detector_leaky: Spread,
    pub trials: Vec<Trial>,
}

impl Row {
    pub fn of(experiment: Experiment, trials: Vec<Trial>) -> Row {
        let spread = |f: &dyn Fn(&Trial) -> f64| Spread::of(trials.iter().map(f));
        Row {
            experiment,
            leak: experiment.leak().to_owned(),
            honest_roc_auc: spread(&|t| t.honest.roc_auc),
            leaky_roc_auc: spread(&|t| t.leaky.roc_auc),
            roc_auc_inflation: spread(&|t| t.leaky.roc_auc - t.honest.roc_auc),
            pr_auc_inflation: spread(&|t| t.leaky.pr_auc - t.honest.pr_auc),
            recall_inflation: spread(&|t| t.leaky.recall - t.honest.recall),
            detector: experiment.detector().to_owned(),
            detector_honest: spread(&|t| t.detector_honest),
            detector_leaky: spread(&|t| t.detector_leaky),
            trials,
        }
    }
}

/// Every experiment's row, and the leave-one-hospital-out detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakageTable {
    pub seeds: Vec<u64>,
    pub rows: Vec<Row>,
    pub hospitals_left_out: Vec<HospitalOutRow>,
}

/// One held-out hospital, over every seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HospitalOutRow {
    pub hospital: String,
    pub without_hospital_roc_auc: Spread,
    pub with_hospital_roc_auc: Spread,
    pub adversarial_auc: Spread,
}

/// Each held-out hospital's scores over the seeds.
fn per_hospital(per_seed: &[Vec<experiments::HospitalOut>]) -> Vec<HospitalOutRow> {
    let Some(first) = per_seed.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let spread = |f: &dyn Fn(&experiments::HospitalOut) -> f64| {
                Spread::of(per_seed.iter().map(|outs| f(&outs[i])))
            };
            HospitalOutRow {
                hospital: out.hospital.clone(),
                without_hospital_roc_auc: spread(&|o| o.without.roc_auc),
                with_hospital_roc_auc: spread(&|o| o.with.roc_auc),
                adversarial_auc: spread(&|o| o.adversarial_auc),
            }
        })
        .collect()
}

/// Runs the chosen experiments on every seed of the parameters.
pub fn run(
    examples: &[Example],
    params: &LabParams,
    which: &[Experiment],
) -> Result<LeakageTable, LeakageError> {
    let seeds = params.leakage.seeds.clone();
    let mut rows = Vec::new();
    let mut hospitals_left_out = Vec::new();
    for &experiment in which {
        let trials = if experiment == Experiment::HospitalLeftOut {
            // Run once per seed and keep the per-hospital detail as well.
            let per_seed = seeds
                .iter()
                .map(|&seed| experiments::hospital_left_out(examples, params, seed))
                .collect::<Result<Vec<_>, _>>()?;
            hospitals_left_out = per_hospital(&per_seed);
            seeds
                .iter()
                .zip(&per_seed)
                .map(|(&seed, outs)| left_out_trial(seed, outs))
                .collect()
        } else {
            seeds
                .iter()
                .map(|&seed| experiment.run(examples, params, seed))
                .collect::<Result<Vec<_>, _>>()?
        };
        tracing::info!(
            experiment = experiment.id(),
            seeds = seeds.len(),
            "experiment done"
        );
        rows.push(Row::of(experiment, trials));
    }
    Ok(LeakageTable {
        seeds,
        rows,
        hospitals_left_out,
    })
}
