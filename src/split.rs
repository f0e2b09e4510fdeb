//! Splitting examples into training, validation and test parts.
//!
//! The parts are different types. Preprocessing and the model can only be
//! fitted on a [`Part<Train>`]; handing them the test part is a type error, so
//! fitting on test data does not compile:
//!
//! ```compile_fail,E0308
//! # use heartlab::split::{Part, Test};
//! # use heartlab::features::Pipeline;
//! # fn leak(params: &heartlab::params::FeatureParams, test: &Part<Test>) {
//! let fitted = Pipeline::fit(params, test); // expected `&Part<Train>`, found `&Part<Test>`
//! # }
//! ```
//!
//! The same code with the training part compiles:
//!
//! ```
//! # use heartlab::split::{Part, Train};
//! # use heartlab::features::Pipeline;
//! # fn honest(params: &heartlab::params::FeatureParams, train: &Part<Train>) {
//! let fitted = Pipeline::fit(params, train);
//! # }
//! ```

use std::marker::PhantomData;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::example::Example;
use crate::params::SplitParams;

/// Marker for the part preprocessing and the model learn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Train {}
/// Marker for the part the threshold is chosen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {}
/// Marker for the part only used to report the final scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {}

/// Examples of one part. The marker type says which; nothing converts one
/// part into another.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<K> {
    rows: Vec<Example>,
    kind: PhantomData<K>,
}

impl<K> Part<K> {
    pub(crate) fn new(rows: Vec<Example>) -> Part<K> {
        Part {
            rows,
            kind: PhantomData,
        }
    }

    pub fn rows(&self) -> &[Example] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl<K> Part<K> {
    /// Builds a part from rows chosen by hand. The lab itself only makes
    /// parts through [`split`]; this exists for tests and for the leakage
    /// experiments, which break the rule on purpose and say so by calling it.
    pub fn from_rows_for_experiment(rows: Vec<Example>) -> Part<K> {
        Part::new(rows)
    }
}

/// The three parts of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Part<Train>,
    pub validation: Part<Validation>,
    pub test: Part<Test>,
}

/// A seeded split, stratified by hospital and label: each (hospital, label)
/// group is shuffled on its own and cut by the shares, so every part keeps
/// each hospital's mix of patients with and without disease.
pub fn split(examples: &[Example], shares: &SplitParams, seed: u64) -> Split {
    let mut groups: Vec<((&str, bool), Vec<&Example>)> = Vec::new();
    for example in examples {
        let key = (example.hospital.as_str(), example.label);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(example),
            None => groups.push((key, vec![example])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (_, mut members) in groups {
        members.shuffle(&mut rng);
        let n = members.len();
        let n_train = (n as f64 * shares.train).round() as usize;
        let n_validation = ((n as f64 * shares.validation).round() as usize).min(n - n_train);
        for (i, example) in members.into_iter().enumerate() {
            let target = if i < n_train {
                &mut train
            } else if i < n_train + n_validation {
                &mut validation
            } else {
                &mut test
            };
            target.push(example.clone());
        }
    }
    Split {
        train: Part::new(train),
        validation: Part::new(validation),
        test: Part::new(test),
    }
}

/// Leave one hospital out: the named hospital becomes the test part, and the
/// other hospitals are split into training and validation by the shares of
/// `train` and `validation`, stratified as in [`split`].
pub fn leave_hospital_out(
    examples: &[Example],
    held_out: &str,
    shares: &SplitParams,
    seed: u64,
) -> Split {
    let (test, rest): (Vec<Example>, Vec<Example>) = examples
        .iter()
        .cloned()
        .partition(|e| e.hospital == held_out);
    let inner = SplitParams {
        train: shares.train / (shares.train + shares.validation),
        validation: shares.validation / (shares.train + shares.validation),
        test: 0.0,
    };
    let parts = split(&rest, &inner, seed);
    let mut validation = parts.validation.rows;
    validation.extend(parts.test.rows);
    Split {
        train: parts.train,
        validation: Part::new(validation),
        test: Part::new(test),
    }
}
