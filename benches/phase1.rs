//! Phase 1 speed: fetch (from a mirror folder), load and validate, report.
//! The target is under one second for all 920 rows, end to end, in a release
//! build. Run with `make bench`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use heartlab::data::fetch::{fetch_all, Source, MIRROR_VAR};
use heartlab::data::load::load_hospitals;
use heartlab::report::DataReport;

/// The mirror named by `HEARTLAB_DATA_MIRROR`, or the files `make data`
/// fetched, which have the same names and pinned hashes.
fn mirror() -> PathBuf {
    std::env::var_os(MIRROR_VAR)
        .map_or_else(|| PathBuf::from(heartlab::paths::RAW_DIR), PathBuf::from)
}

fn phase1(c: &mut Criterion) {
    let source = Source::Mirror(mirror());
    let data = load_hospitals(&mirror()).expect("run `make data` first");

    c.bench_function(
        "fetch: copy and verify four files into an empty folder",
        |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dest| fetch_all(dest.path(), &source).unwrap(),
                criterion::BatchSize::PerIteration,
            )
        },
    );
    c.bench_function("load and validate 920 rows", |b| {
        b.iter(|| load_hospitals(&mirror()).unwrap())
    });
    c.bench_function("report: statistics, findings, charts and Markdown", |b| {
        b.iter(|| DataReport::build(&data).unwrap().to_markdown("charts"))
    });
    c.bench_function(
        "phase 1 end to end: fetch, load, validate, report, write",
        |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    let raw = dir.path().join("raw");
                    fetch_all(&raw, &source).unwrap();
                    let data = load_hospitals(&raw).unwrap();
                    DataReport::build(&data)
                        .unwrap()
                        .write(&dir.path().join("report"))
                        .unwrap();
                },
                criterion::BatchSize::PerIteration,
            )
        },
    );
}

criterion_group!(benches, phase1);
criterion_main!(benches);
