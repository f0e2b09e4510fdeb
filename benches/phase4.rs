//! Phase 4 speed: fitting the preprocessing pipeline and the model.
//!
//! Targets (twice as fast as a scikit-learn pipeline of the same shape on
//! this machine): under 15 ms on the real data, under 2 s on the synthetic
//! set of 920,000 rows. Peak memory is measured by `examples/fit_speed.rs`
//! in its own process (`make perf`).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use heartlab::data::fetch::MIRROR_VAR;
use heartlab::data::load::load_hospitals;
use heartlab::flow;
use heartlab::params::{LabParams, PARAMS_FILE};
use heartlab::split::{split, Part, Train};
use heartlab::synthetic::enlarge_split_to;

fn raw() -> PathBuf {
    std::env::var_os(MIRROR_VAR)
        .map_or_else(|| PathBuf::from(heartlab::paths::RAW_DIR), PathBuf::from)
}

fn phase4(c: &mut Criterion) {
    let params = LabParams::from_file(PARAMS_FILE.as_ref()).expect("lab/params.yaml");
    let data = load_hospitals(&raw()).expect("run `make data` first");
    let cleaned = heartlab::clean::clean(&data.frame, &params.clean).unwrap();
    let examples = cleaned.examples().unwrap();
    let parts = split(&examples, &params.split, params.seed);
    let everything = Part::<Train>::from_rows_for_experiment(examples.clone());

    let mut group = c.benchmark_group("fit pipeline and model");
    group.bench_function("training part of the real data", |b| {
        b.iter(|| flow::fit(&parts.train, &params).unwrap())
    });
    group.bench_function("all cleaned rows of the real data", |b| {
        b.iter(|| flow::fit(&everything, &params).unwrap())
    });
    group.finish();

    let big = enlarge_split_to(&parts, 920_000, params.seed);
    let mut group = c.benchmark_group("fit pipeline and model, 920,000-row synthetic set");
    group.sample_size(10);
    group.bench_function("its training part", |b| {
        b.iter(|| flow::fit(&big.train, &params).unwrap())
    });
    let mut newton = params.clone();
    newton.model.solver = heartlab::params::Solver::Newton;
    group.bench_function("its training part, Newton solver", |b| {
        b.iter(|| flow::fit(&big.train, &newton).unwrap())
    });
    drop(big);
    group.finish();
}

criterion_group!(benches, phase4);
criterion_main!(benches);
