//! Time and peak memory of fitting the pipeline and the model, each case in a
//! process of its own, so the peak belongs to that case alone. Criterion
//! (`benches/phase4.rs`) gives the careful timings; this gives the memory,
//! and the figures the book prints, regenerated on every build.
//!
//! `cargo run --release --example fit_speed -- <case>` prints one Markdown
//! table row. Cases:
//! - `real`: the training part of the real data; the median of 101 fits.
//! - `train`: the training part of the 920,000-row synthetic set, the only
//!   part built, as the lab only ever fits on training rows.
//! - `all`: all 920,000 rows held and fitted on, the worst case.
//! - `train-newton`, `all-newton`: the same with `model.solver: newton`.

use std::time::Instant;

use heartlab::data::load::load_hospitals;
use heartlab::flow;
use heartlab::params::{LabParams, Solver, PARAMS_FILE};
use heartlab::split::{split, Part, Train};
use heartlab::synthetic::{enlarge_split_to, enlarge_to};

/// The rows of the synthetic set, a thousand times the 920 published rows.
const LARGE: usize = 920_000;

/// The process's peak resident memory so far, from /proc (Linux).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "real".to_owned());
    let raw = std::env::var("HEARTLAB_DATA_MIRROR").unwrap_or_else(|_| "data/raw".to_owned());
    let mut params = LabParams::from_file(PARAMS_FILE.as_ref())?;
    let case = match arg.strip_suffix("-newton") {
        Some(case) => {
            params.model.solver = Solver::Newton;
            case.to_owned()
        }
        None => arg.clone(),
    };
    let data = load_hospitals(raw.as_ref())?;
    let examples = heartlab::clean::clean(&data.frame, &params.clean)?.examples()?;
    drop(data);
    let parts = split(&examples, &params.split, params.seed);
    let all = examples.len();
    drop(examples);

    let (what, fit_part, runs): (&str, Part<Train>, usize) = match case.as_str() {
        "real" => ("training part of the real data", parts.train.clone(), 101),
        "train" => {
            let rows = (LARGE as f64 * parts.train.len() as f64 / all as f64).round() as usize;
            let part = enlarge_to(&parts.train, rows, params.seed);
            ("training part of the 920,000-row set", part, 1)
        }
        "all" => {
            let big = enlarge_split_to(&parts, LARGE, params.seed);
            let mut rows = big.train.rows().to_vec();
            drop(big.train);
            rows.extend_from_slice(big.validation.rows());
            drop(big.validation);
            rows.extend_from_slice(big.test.rows());
            drop(big.test);
            (
                "all 920,000 rows (worst case)",
                Part::from_rows_for_experiment(rows),
                1,
            )
        }
        other => anyhow::bail!("unknown case {other:?}: use real, train or all (or -newton)"),
    };
    let held = peak_mib();

    let mut seconds = Vec::with_capacity(runs);
    let mut converged = true;
    for _ in 0..runs {
        let started = Instant::now();
        let (_, trained) = flow::fit(&fit_part, &params)?;
        seconds.push(started.elapsed().as_secs_f64());
        converged &= trained.converged;
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];

    let time = if median < 1.0 {
        format!("{:.2} ms", median * 1000.0)
    } else {
        format!("{median:.2} s")
    };
    println!(
        "| {what} | {:?} | {} | {time} | {} | {:.0} MiB | {:.0} MiB |",
        params.model.solver,
        fit_part.len(),
        if converged { "yes" } else { "no" },
        held,
        peak_mib()
    );
    Ok(())
}
