//! The experiments themselves. Each runs the honest pipeline and one leaky
//! variant on the same seed, and measures its detector on both.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{detect, LeakageError, Trial};
use crate::design::Design;
use crate::evaluate::threshold;
use crate::evaluate::{metrics, Headline, Predictions};
use crate::example::{Example, FEATURES};
use crate::features::{FittedPipeline, Pipeline};
use crate::flow;
use crate::model::train::train;
use crate::params::LabParams;
use crate::split::{self, Part, Split, Test, Train, Validation};
use crate::synthetic;

/// The three designs of a split, transformed by one fitted pipeline.
pub struct Designs {
    pub train: Design<Train>,
    pub validation: Design<Validation>,
    pub test: Design<Test>,
}

fn designs(pipeline: &FittedPipeline, split: &Split) -> Designs {
    Designs {
        train: pipeline.design(&split.train),
        validation: pipeline.design(&split.validation),
        test: pipeline.design(&split.test),
    }
}

/// Trains on the training design, picks the threshold on validation, and
/// scores the test design: the honest flow, on designs made elsewhere.
pub fn score(params: &LabParams, d: &Designs) -> Result<Headline, LeakageError> {
    let trained = train(&params.model, &d.train)?;
    let validation = Predictions::<Validation>::from_parts_for_experiment(
        trained.model.probabilities(d.validation.values()),
        d.validation.labels().to_vec(),
    );
    let chosen = threshold::choose(&validation, &params.evaluate);
    let test = Predictions::<Test>::from_parts_for_experiment(
        trained.model.probabilities(d.test.values()),
        d.test.labels().to_vec(),
    );
    Ok(Headline::of(&test, chosen.threshold))
}

fn all_rows(split: &Split) -> Vec<Example> {
    let mut rows = split.train.rows().to_vec();
    rows.extend_from_slice(split.validation.rows());
    rows.extend_from_slice(split.test.rows());
    rows
}

/// Imputation and scaling learned from every row, test rows included.
pub fn preprocess_before_split(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Trial, LeakageError> {
    let split = split::split(examples, &params.split, seed);
    let honest = Pipeline::fit(&params.features, &split.train)?;
    let everything = Part::<Train>::from_rows_for_experiment(all_rows(&split));
    let leaky = Pipeline::fit(&params.features, &everything)?;
    Ok(Trial {
        seed,
        honest: score(params, &designs(&honest, &split))?,
        leaky: score(params, &designs(&leaky, &split))?,
        detector_honest: detect::fitted_statistics_shift(&honest, &honest),
        detector_leaky: detect::fitted_statistics_shift(&leaky, &honest),
    })
}

/// Appends a column to a design, one value per row.
fn with_column<K>(design: Design<K>, name: &str, values: &[f64]) -> Design<K> {
    let width = design.width();
    let (mut names, old, labels) = design.into_parts();
    names.push(name.to_owned());
    let mut out = Vec::with_capacity(old.len() + values.len());
    for (row, extra) in old.chunks_exact(width.max(1)).zip(values) {
        out.extend_from_slice(row);
        out.push(*extra);
    }
    Design::from_parts_for_experiment(names, out, labels)
}

/// A column written after the diagnosis (think "referred for angiography"):
/// it agrees with the label except for a share of flipped rows.
fn label_proxy(labels: &[bool], noise: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    labels
        .iter()
        .map(|&y| f64::from(u8::from(y ^ rng.random_bool(noise))))
        .collect()
}

/// A feature derived from the label.
pub fn label_proxy_feature(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Trial, LeakageError> {
    let split = split::split(examples, &params.split, seed);
    let pipeline = Pipeline::fit(&params.features, &split.train)?;
    let honest = designs(&pipeline, &split);

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = params.leakage.label_proxy_noise;
    let name = "referred_for_angiography";
    let d = designs(&pipeline, &split);
    let train_proxy = label_proxy(d.train.labels(), noise, &mut rng);
    let validation_proxy = label_proxy(d.validation.labels(), noise, &mut rng);
    let test_proxy = label_proxy(d.test.labels(), noise, &mut rng);
    let leaky = Designs {
        train: with_column(d.train, name, &train_proxy),
        validation: with_column(d.validation, name, &validation_proxy),
        test: with_column(d.test, name, &test_proxy),
    };
    Ok(Trial {
        seed,
        honest: score(params, &honest)?,
        leaky: score(params, &leaky)?,
        detector_honest: detect::best_single_column_auc(&honest.train),
        detector_leaky: detect::best_single_column_auc(&leaky.train),
    })
}

fn thalach(row: &Example) -> Option<f64> {
    let index = FEATURES.iter().position(|f| *f == "thalach")?;
    row.features[index]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Standardised difference in maximum heart rate between patients with and
/// without disease: how far apart the classes sit on that one measurement.
fn thalach_gap(rows: &[Example]) -> f64 {
    let pick = |label: bool| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.label == label)
            .filter_map(thalach)
            .collect()
    };
    let (sick, well) = (pick(true), pick(false));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let var = |v: &[f64]| {
        let m = mean(v);
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64
    };
    let pooled = ((var(&sick) + var(&well)) / 2.0).sqrt();
    ((mean(&well) - mean(&sick)) / pooled).abs()
}

/// Rows filtered using the label: "textbook cases only". Patients with
/// disease whose heart rate is above the healthy median, and healthy patients
/// below the sick median, are dropped as "atypical" before the split.
pub fn label_filtered_rows(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Trial, LeakageError> {
    let rates = |label: bool| -> Vec<f64> {
        examples
            .iter()
            .filter(|r| r.label == label)
            .filter_map(thalach)
            .collect()
    };
    let (sick_median, well_median) = (median(rates(true)), median(rates(false)));
    let filtered: Vec<Example> = examples
        .iter()
        .filter(|r| match thalach(r) {
            Some(rate) if r.label => rate <= well_median,
            Some(rate) => rate >= sick_median,
            None => true,
        })
        .cloned()
        .collect();

    let honest = flow::run(examples, params, seed)?;
    let leaky = flow::run(&filtered, params, seed)?;
    Ok(Trial {
        seed,
        honest: honest.test,
        leaky: leaky.test,
        detector_honest: thalach_gap(honest.split.test.rows()),
        detector_leaky: thalach_gap(leaky.split.test.rows()),
    })
}

/// Within this distance (standardised units) a test row counts as a near
/// copy of a training row: far below what two different patients differ by
/// (one differing category alone is 1.41 away).
pub const NEAR_COPY_RADIUS: f64 = 0.25;

/// Near-copies of each patient made before the split (as careless
/// oversampling or augmentation does), so copies land in train and test.
pub fn duplicates_across_split(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Trial, LeakageError> {
    let copies = synthetic::with_near_copies(examples, params.leakage.duplicate_copies, seed);
    let honest = flow::run(examples, params, seed)?;
    let leaky = flow::run(&copies, params, seed)?;
    let near = |o: &flow::Outcome| {
        let d = designs(&o.pipeline, &o.split);
        detect::near_copy_share(&d.train, &d.test, NEAR_COPY_RADIUS)
    };
    Ok(Trial {
        seed,
        honest: honest.test,
        leaky: leaky.test,
        detector_honest: near(&honest),
        detector_leaky: near(&leaky),
    })
}

/// Keeps only the chosen columns of a design.
fn select<K>(design: &Design<K>, columns: &[usize]) -> Design<K> {
    let names = columns.iter().map(|&j| design.names()[j].clone()).collect();
    let values = design
        .iter_rows()
        .flat_map(|row| columns.iter().map(move |&j| row[j]))
        .collect();
    Design::from_parts_for_experiment(names, values, design.labels().to_vec())
}

/// Adds `count` columns of pure noise to a design, in one pass.
fn with_noise<K>(design: Design<K>, count: usize, rng: &mut ChaCha8Rng) -> Design<K> {
    let width = design.width();
    let (mut names, old, labels) = design.into_parts();
    names.extend((0..count).map(|i| format!("noise_{i}")));
    let mut values = Vec::with_capacity(labels.len() * (width + count));
    for row in old.chunks_exact(width.max(1)) {
        values.extend_from_slice(row);
        values.extend((0..count).map(|_| -> f64 { StandardNormal.sample(rng) }));
    }
    Design::from_parts_for_experiment(names, values, labels)
}

/// The `k` columns most correlated (either sign) with the label.
fn top_columns<K>(design: &Design<K>, k: usize) -> Vec<usize> {
    let corr = detect::label_correlations(design);
    let mut order: Vec<usize> = (0..corr.len()).collect();
    order.sort_by(|&a, &b| corr[b].abs().total_cmp(&corr[a].abs()).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_unstable();
    order
}

/// Feature selection by correlation with the label, computed on all rows.
/// Both runs get the same extra noise columns; the honest one selects on the
/// training rows only.
pub fn selection_on_all_data(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Trial, LeakageError> {
    let split = split::split(examples, &params.split, seed);
    let pipeline = Pipeline::fit(&params.features, &split.train)?;
    let d = designs(&pipeline, &split);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = params.leakage.noise_columns;
    let d = Designs {
        train: with_noise(d.train, n, &mut rng),
        validation: with_noise(d.validation, n, &mut rng),
        test: with_noise(d.test, n, &mut rng),
    };

    let k = params.leakage.selected_columns;
    let honest_columns = top_columns(&d.train, k);
    let mut values = d.train.values().to_vec();
    values.extend_from_slice(d.validation.values());
    values.extend_from_slice(d.test.values());
    let mut labels = d.train.labels().to_vec();
    labels.extend_from_slice(d.validation.labels());
    labels.extend_from_slice(d.test.labels());
    let everything: Design<()> =
        Design::from_parts_for_experiment(d.train.names().to_vec(), values, labels);
    let leaky_columns = top_columns(&everything, k);

    let run = |columns: &[usize]| -> Result<(Headline, f64), LeakageError> {
        let chosen = Designs {
            train: select(&d.train, columns),
            validation: select(&d.validation, columns),
            test: select(&d.test, columns),
        };
        let on_test = detect::label_correlations(&chosen.test);
        let mean_abs = on_test.iter().map(|c| c.abs()).sum::<f64>() / on_test.len() as f64;
        Ok((score(params, &chosen)?, mean_abs))
    };
    let (honest, honest_corr) = run(&honest_columns)?;
    let (leaky, leaky_corr) = run(&leaky_columns)?;
    Ok(Trial {
        seed,
        honest,
        leaky,
        detector_honest: honest_corr,
        detector_leaky: leaky_corr,
    })
}

fn with_hospital(params: &LabParams, on: bool) -> LabParams {
    let mut p = params.clone();
    p.features.hospital_as_feature = on;
    p
}

/// The test ROC AUC of predicting each patient's risk from nothing but the
/// training prevalence of their hospital.
fn hospital_only_auc(split: &Split) -> f64 {
    let prevalence = |hospital: &str| {
        let rows: Vec<&Example> = split
            .train
            .rows()
            .iter()
            .filter(|r| r.hospital == hospital)
            .collect();
        rows.iter().filter(|r| r.label).count() as f64 / rows.len().max(1) as f64
    };
    let p: Vec<f64> = split
        .test
        .rows()
        .iter()
        .map(|r| prevalence(&r.hospital))
        .collect();
    let y: Vec<bool> = split.test.rows().iter().map(|r| r.label).collect();
    metrics::roc_auc(&p, &y).unwrap_or(f64::NAN)
}

/// The hospital as an input, on a random split where every hospital is in
/// training and test alike.
pub fn hospital_as_feature(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Trial, LeakageError> {
    let honest = flow::run(examples, &with_hospital(params, false), seed)?;
    let leaky = flow::run(examples, &with_hospital(params, true), seed)?;
    let hospital_auc = hospital_only_auc(&honest.split);
    Ok(Trial {
        seed,
        honest: honest.test,
        leaky: leaky.test,
        detector_honest: hospital_auc,
        detector_leaky: hospital_auc,
    })
}

/// One held-out hospital's scores with and without the hospital input.
pub struct HospitalOut {
    pub hospital: String,
    pub without: Headline,
    pub with: Headline,
    pub adversarial_auc: f64,
}

/// Leave one hospital out, for each hospital, with and without the hospital
/// as an input. The held-out hospital was never seen, so its input is all
/// zeros: the model falls back on whatever the other columns carry.
pub fn hospital_left_out(
    examples: &[Example],
    params: &LabParams,
    seed: u64,
) -> Result<Vec<HospitalOut>, LeakageError> {
    let mut hospitals: Vec<String> = examples.iter().map(|e| e.hospital.clone()).collect();
    hospitals.sort();
    hospitals.dedup();
    hospitals
        .into_iter()
        .map(|hospital| {
            let split = split::leave_hospital_out(examples, &hospital, &params.split, seed);
            let without = flow::run_on(split.clone(), &with_hospital(params, false))?;
            let with = flow::run_on(split, &with_hospital(params, true))?;
            let d = designs(&without.pipeline, &without.split);
            let adversarial =
                detect::adversarial_auc(&d.train, &d.test, &params.model).unwrap_or(f64::NAN);
            Ok(HospitalOut {
                hospital,
                without: without.test,
                with: with.test,
                adversarial_auc: adversarial,
            })
        })
        .collect()
}
