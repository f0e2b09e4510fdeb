//! The evaluation as Markdown, for the book. Every number in it comes from
//! an [`Evaluation`] computed in the same run.

use std::fmt::Write;

use super::{Evaluation, Scored};

fn cell(score: &Scored) -> String {
    match (score.value, score.low, score.high) {
        (Some(v), Some(lo), Some(hi)) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        (Some(v), _, _) => format!("{v:.3} (from {}, too few)", score.from),
        _ => "n/a".to_owned(),
    }
}

fn share(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

/// Renders the threshold, the scores per slice, the overall confusion matrix
/// and the calibration table.
pub fn render(e: &Evaluation) -> String {
    let mut md = String::new();
    let t = &e.threshold;
    let _ = writeln!(md, "## Threshold\n");
    let _ = writeln!(
        md,
        "Chosen on the validation part ({} patients) to minimise {} × missed disease + {} × \
         false alarms: **{:.3}** (cost per validation patient {:.3}). A perfectly calibrated \
         model would cut at {:.3}.\n",
        t.validation_rows,
        t.cost_missed_disease,
        t.cost_false_alarm,
        t.threshold,
        t.validation_cost_per_patient,
        t.calibrated_optimum
    );

    let _ = writeln!(
        md,
        "## Scores on the {} part\n\nEach cell: the score, then its {:.0}% bootstrap interval \
         ({} resamples). n/a: the slice has only one class, so the score is undefined. \
         \"too few\": fewer than {} patients behind the score (for specificity, patients \
         without disease), so no interval is given; read the number as an anecdote.\n",
        e.part,
        e.confidence * 100.0,
        e.bootstrap_resamples,
        super::MIN_FOR_INTERVAL
    );
    let _ = writeln!(
        md,
        "| slice | patients | with disease | ROC AUC | PR AUC | recall | specificity | \
         precision | Brier |"
    );
    let _ = writeln!(md, "|---|---:|---:|---|---|---|---|---|---|");
    for s in &e.slices {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.slice,
            s.rows,
            s.with_disease,
            cell(&s.roc_auc),
            cell(&s.pr_auc),
            cell(&s.recall),
            cell(&s.specificity),
            cell(&s.precision),
            cell(&s.brier)
        );
    }

    if let Some(overall) = e.slices.first() {
        let c = &overall.confusion;
        let _ = writeln!(md, "\n## Confusion matrix ({})\n", overall.slice);
        let _ = writeln!(md, "| | flagged | not flagged |\n|---|---:|---:|");
        let _ = writeln!(
            md,
            "| with disease | {} | {} |",
            c.true_positive, c.false_negative
        );
        let _ = writeln!(
            md,
            "| without disease | {} | {} |",
            c.false_positive, c.true_negative
        );
    }

    let _ = writeln!(
        md,
        "\n## Calibration\n\nPatients grouped by predicted probability; a calibrated model's \
         observed rate matches its mean probability.\n"
    );
    let _ = writeln!(
        md,
        "| probability | patients | mean probability | observed rate |\n|---|---:|---:|---:|"
    );
    for b in &e.calibration {
        let _ = writeln!(
            md,
            "| {:.1} to {:.1} | {} | {} | {} |",
            b.from,
            b.to,
            b.rows,
            share(b.mean_probability),
            share(b.observed_rate)
        );
    }
    md
}
