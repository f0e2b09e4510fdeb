//! Run records as tables a person reads: the list, one run, and two runs
//! side by side with only what differs.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::RunRecord;

/// The metrics shown in the list, when a run has them.
const LIST_METRICS: [&str; 3] = ["test.roc_auc", "validation.roc_auc", "threshold"];

fn short_commit(record: &RunRecord) -> String {
    let commit = record.code.git_commit.as_deref().unwrap_or("unknown");
    let dirty = if record.code.git_dirty == Some(true) {
        "+dirty"
    } else {
        ""
    };
    format!("{}{dirty}", &commit[..commit.len().min(10)])
}

fn number(value: Option<&f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"))
}

/// One line per run, oldest first.
pub fn list(records: &[RunRecord]) -> String {
    let mut md = String::from("| run | kind | started | took | commit |");
    for metric in LIST_METRICS {
        let _ = write!(md, " {metric} |");
    }
    md.push_str("\n|---|---|---|---:|---|");
    md.push_str(&"---:|".repeat(LIST_METRICS.len()));
    md.push('\n');
    for r in records {
        let _ = write!(
            md,
            "| {} | {} | {} | {} ms | {} |",
            r.id,
            r.kind.name(),
            r.started_at,
            r.duration_ms,
            short_commit(r)
        );
        for metric in LIST_METRICS {
            let _ = write!(md, " {} |", number(r.metrics.get(metric)));
        }
        md.push('\n');
    }
    md
}

/// Everything about one run except its curves' points (their lengths are
/// shown).
pub fn show(r: &RunRecord) -> String {
    let mut md = format!("# Run {}\n\n", r.id);
    let _ = writeln!(
        md,
        "- kind: {}\n- started: {} (took {} ms)\n- seed: {}\n- code: heartlab {}, commit {}\n\
         - feature logic: {}\n- built with: {} ({}, {})",
        r.kind.name(),
        r.started_at,
        r.duration_ms,
        r.seed,
        r.code.crate_version,
        short_commit(r),
        r.feature_logic_version,
        r.environment.rustc,
        r.environment.target,
        r.environment.profile
    );
    if let Some(m) = &r.mlflow {
        let _ = writeln!(
            md,
            "- MLflow: run {} in experiment {} at {}",
            m.run_id, m.experiment_id, m.tracking_uri
        );
    }
    md.push_str("\n## Metrics\n\n| metric | value |\n|---|---:|\n");
    for (name, value) in &r.metrics {
        let _ = writeln!(md, "| {name} | {value:.4} |");
    }
    if !r.curves.is_empty() {
        md.push_str("\n## Curves\n\n| curve | points |\n|---|---:|\n");
        for (name, points) in &r.curves {
            let _ = writeln!(md, "| {name} | {} |", points.len());
        }
    }
    md.push_str("\n## Data\n\n| file | sha256 |\n|---|---|\n");
    for f in &r.data.raw_files {
        let _ = writeln!(md, "| {} | `{}` |", f.path, f.sha256);
    }
    let _ = writeln!(
        md,
        "| dvc.lock | `{}` |",
        r.data.dvc_lock_sha256.as_deref().unwrap_or("none")
    );
    for (title, files) in [("Inputs", &r.inputs), ("Artifacts", &r.artifacts)] {
        let _ = write!(
            md,
            "\n## {title}\n\n| file | bytes | sha256 |\n|---|---:|---|\n"
        );
        for f in files {
            let _ = writeln!(md, "| {} | {} | `{}` |", f.path, f.bytes, f.sha256);
        }
    }
    md.push_str("\n## Parameters\n\n| parameter | value |\n|---|---|\n");
    for (name, value) in &r.params {
        let _ = writeln!(md, "| {name} | `{value}` |");
    }
    md
}

/// Two runs side by side: every parameter and version that differs, and
/// every metric with its change. Equal parameters are left out, so the
/// table shows what could explain a change in the metrics.
pub fn compare(a: &RunRecord, b: &RunRecord) -> String {
    let mut md = format!("# {} against {}\n\n", b.id, a.id);
    md.push_str("## What differs\n\n| | ");
    let _ = writeln!(md, "{} | {} |\n|---|---|---|", a.id, b.id);
    let mut differs = 0;
    let mut row = |name: &str, left: &str, right: &str| {
        if left != right {
            differs += 1;
            let _ = writeln!(md, "| {name} | `{left}` | `{right}` |");
        }
    };
    row("kind", a.kind.name(), b.kind.name());
    row("commit", &short_commit(a), &short_commit(b));
    row("seed", &a.seed.to_string(), &b.seed.to_string());
    row(
        "dvc.lock",
        a.data.dvc_lock_sha256.as_deref().unwrap_or("none"),
        b.data.dvc_lock_sha256.as_deref().unwrap_or("none"),
    );
    for (fa, fb) in a.data.raw_files.iter().zip(&b.data.raw_files) {
        row(&fa.path, &fa.sha256, &fb.sha256);
    }
    row("rustc", &a.environment.rustc, &b.environment.rustc);
    let names: BTreeSet<&String> = a.params.keys().chain(b.params.keys()).collect();
    for name in names {
        let missing = String::from("(absent)");
        row(
            name,
            a.params.get(name).unwrap_or(&missing),
            b.params.get(name).unwrap_or(&missing),
        );
    }
    if differs == 0 {
        md.push_str("| nothing | | |\n");
    }

    md.push_str("\n## Metrics\n\n| metric | ");
    let _ = writeln!(md, "{} | {} | change |\n|---|---:|---:|---:|", a.id, b.id);
    let metrics: BTreeSet<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    for name in metrics {
        let (left, right) = (a.metrics.get(name), b.metrics.get(name));
        let change = match (left, right) {
            (Some(l), Some(r)) => format!("{:+.4}", r - l),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {change} |",
            number(left),
            number(right)
        );
    }
    md
}
