//! The leakage table as Markdown, for the book.

use std::fmt::Write;

use super::{LeakageTable, Spread};

fn pm(s: &Spread) -> String {
    format!("{:.3} ± {:.3}", s.mean, s.sd)
}

fn signed(s: &Spread) -> String {
    format!("{:+.3} ± {:.3}", s.mean, s.sd)
}

pub fn render(table: &LeakageTable) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Test-part scores over {} seeds (mean ± standard deviation). Inflation is leaky minus \
         honest on the same seed, so the split's luck cancels out.\n",
        table.seeds.len()
    );
    let _ = writeln!(
        md,
        "| experiment | the leak | honest ROC AUC | leaky ROC AUC | ROC AUC inflation | \
         PR AUC inflation | recall change |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for r in &table.rows {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            r.experiment.id(),
            r.leak,
            pm(&r.honest_roc_auc),
            pm(&r.leaky_roc_auc),
            signed(&r.roc_auc_inflation),
            signed(&r.pr_auc_inflation),
            signed(&r.recall_inflation)
        );
    }

    let _ = writeln!(
        md,
        "\n`hospital-left-out` averages the four held-out hospitals; the detail per hospital \
         is below."
    );
    let _ = writeln!(md, "\n### How each leak shows itself\n");
    let _ = writeln!(md, "| experiment | detector | honest run | leaky run |");
    let _ = writeln!(md, "|---|---|---|---|");
    for r in &table.rows {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} |",
            r.experiment.id(),
            r.detector,
            pm(&r.detector_honest),
            pm(&r.detector_leaky)
        );
    }

    let _ = writeln!(
        md,
        "\nThe two hospital detectors read the data, not the model, so they are the same for \
         the honest and the leaky run: they say how much the hospital could leak, not whether \
         it did."
    );

    if !table.hospitals_left_out.is_empty() {
        let _ = writeln!(md, "\n### Each hospital left out\n");
        let _ = writeln!(
            md,
            "| held-out hospital | ROC AUC without hospital input | with hospital input | \
             train-vs-held-out classifier ROC AUC |"
        );
        let _ = writeln!(md, "|---|---|---|---|");
        for h in &table.hospitals_left_out {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                h.hospital,
                pm(&h.without_hospital_roc_auc),
                pm(&h.with_hospital_roc_auc),
                pm(&h.adversarial_auc)
            );
        }
    }
    md
}
