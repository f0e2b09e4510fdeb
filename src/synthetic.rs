//! A larger data set for the speed targets: every part of a split, enlarged
//! on its own by resampling with noise.
//!
//! Enlarging after the split is the point: each synthetic patient descends
//! from exactly one real patient, and all of a patient's descendants stay in
//! that patient's part. Enlarging before the split would put near-copies of
//! one patient in both training and test, which is the duplicate leak phase 3
//! shows on purpose.
//!
//! The generator, for a part and a factor `k`: draw `k × rows` patients with
//! replacement from the part; keep each one's hospital, label, categories and
//! missing values as they are; add Gaussian noise to each measured value
//! (age, blood pressure, cholesterol, heart rate, ST depression) with a
//! standard deviation of 5% of that column's spread in the part, and clamp to
//! the contract's range. Seeded, so the same seed gives the same data.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::data::contract::{self, Domain};
use crate::example::{Example, FEATURES};
use crate::split::{Part, Split};

/// Noise as a share of a column's standard deviation.
pub const NOISE_SHARE: f64 = 0.05;

/// Noise for each measured column, sized from `rows`: (column index,
/// contract minimum, contract maximum, distribution).
type ColumnNoise = Vec<(usize, f64, f64, Normal<f64>)>;

fn column_noise(rows: &[Example]) -> ColumnNoise {
    FEATURES
        .iter()
        .enumerate()
        .filter_map(|(i, name)| match contract::column(name)?.domain {
            Domain::Range { min, max } => {
                let values: Vec<f64> = rows.iter().filter_map(|r| r.features[i]).collect();
                let n = values.len().max(1) as f64;
                let mean = values.iter().sum::<f64>() / n;
                let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                let noise = Normal::new(0.0, (sd * NOISE_SHARE).max(f64::MIN_POSITIVE)).ok()?;
                Some((i, min, max, noise))
            }
            Domain::Codes(_) => None,
        })
        .collect()
}

fn jitter(row: &mut Example, noise: &ColumnNoise, rng: &mut ChaCha8Rng) {
    for (i, min, max, normal) in noise {
        if let Some(value) = row.features[*i].as_mut() {
            *value = (*value + normal.sample(rng)).clamp(*min, *max);
        }
    }
}

/// A part `factor` times larger, drawn from the part itself.
pub fn enlarge<K>(part: &Part<K>, factor: usize, seed: u64) -> Part<K> {
    enlarge_to(part, part.len() * factor, seed)
}

/// A part of exactly `size` rows, drawn from the part itself.
pub fn enlarge_to<K>(part: &Part<K>, size: usize, seed: u64) -> Part<K> {
    let rows = part.rows();
    if rows.is_empty() {
        return Part::new(Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = column_noise(rows);

    let mut out = Vec::with_capacity(size);
    for _ in 0..size {
        let mut row = rows[rng.random_range(0..rows.len())].clone();
        jitter(&mut row, &noise, &mut rng);
        out.push(row);
    }
    Part::new(out)
}

/// Each row followed by `copies` near-copies of itself (same noise as
/// [`enlarge`]). Used before a split, this is phase 3's duplicate leak.
pub fn with_near_copies(rows: &[Example], copies: usize, seed: u64) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = column_noise(rows);
    let mut out = Vec::with_capacity(rows.len() * (copies + 1));
    for row in rows {
        out.push(row.clone());
        for _ in 0..copies {
            let mut copy = row.clone();
            jitter(&mut copy, &noise, &mut rng);
            out.push(copy);
        }
    }
    out
}

/// A split of `total` rows in all, each part enlarged in proportion to its
/// size (for the speed targets: 920,000 rows, a thousand times the data).
pub fn enlarge_split_to(split: &Split, total: usize, seed: u64) -> Split {
    let all = (split.train.len() + split.validation.len() + split.test.len()).max(1);
    let share = |n: usize| (n as f64 * total as f64 / all as f64).round() as usize;
    let train = share(split.train.len());
    let validation = share(split.validation.len());
    Split {
        train: enlarge_to(&split.train, train, seed),
        validation: enlarge_to(&split.validation, validation, seed.wrapping_add(1)),
        test: enlarge_to(
            &split.test,
            total - train - validation,
            seed.wrapping_add(2),
        ),
    }
}

/// Every part of a split enlarged by `factor`, each with its own stream.
pub fn enlarge_split(split: &Split, factor: usize, seed: u64) -> Split {
    Split {
        train: enlarge(&split.train, factor, seed),
        validation: enlarge(&split.validation, factor, seed.wrapping_add(1)),
        test: enlarge(&split.test, factor, seed.wrapping_add(2)),
    }
}
