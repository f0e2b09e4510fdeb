//! The model card: what the model is for, what it is not for, what it
//! learned from and how it scored, generated next to the artifact so it can
//! never describe another model.

use std::fmt::Write;

use crate::artifact::Artifact;
use crate::evaluate::Evaluation;

/// Renders the card from the artifact and its test evaluation.
pub fn render(artifact: &Artifact, evaluation: &Evaluation) -> String {
    let mut md = String::from("# Model card\n\n");
    let t = &artifact.training;
    let _ = writeln!(
        md,
        "## Intended use\n\nA teaching model: it flags adults who may have coronary artery \
         disease for further tests, from 13 routine measurements. It ranks and flags; a \
         clinician decides.\n\n## Not for\n\n- diagnosis or treatment of any real patient;\n\
         - hospitals unlike the four it learned from without first checking how it scores \
         there (phase 3 shows it scores lower on a hospital it never saw);\n- children, or \
         measurements outside the ranges of the data contract.\n"
    );
    let _ = writeln!(
        md,
        "## Data\n\nUCI Heart Disease, four hospitals. Files and their SHA-256:\n"
    );
    for (file, sha) in &artifact.data.files {
        let _ = writeln!(md, "- `{file}`: `{sha}`");
    }
    let _ = writeln!(
        md,
        "\nSplit with seed {}: {} training, {} validation and {} test patients.\n",
        t.seed, t.train_rows, t.validation_rows, t.test_rows
    );
    let _ = writeln!(
        md,
        "## Versions\n\n- artifact format {}\n- feature logic {}\n- heartlab {}\n- git commit \
         {}{}\n",
        artifact.format_version,
        artifact.feature_logic_version,
        artifact.code.crate_version,
        artifact.code.git_commit.as_deref().unwrap_or("unknown"),
        match artifact.code.git_dirty {
            Some(true) => " (with uncommitted changes)",
            _ => "",
        }
    );
    let th = &evaluation.threshold;
    let _ = writeln!(
        md,
        "## Threshold\n\n{:.3}, chosen on the validation part so that {} × missed disease + \
         {} × false alarms is smallest: a missed disease is taken to cost {} false alarms.\n",
        artifact.threshold,
        th.cost_missed_disease,
        th.cost_false_alarm,
        th.cost_missed_disease / th.cost_false_alarm
    );
    let _ = writeln!(
        md,
        "## Scores on the test part\n\n| slice | patients | ROC AUC | recall | specificity |\n\
         |---|---:|---:|---:|---:|"
    );
    let value = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
    for s in evaluation
        .slices
        .iter()
        .filter(|s| s.slice == "overall" || s.slice.starts_with("hospital="))
    {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            s.slice,
            s.rows,
            value(s.roc_auc.value),
            value(s.recall.value),
            value(s.specificity.value)
        );
    }
    let _ = writeln!(
        md,
        "\n## Known limitations\n\n- Three hospitals barely measured `ca` and `thal`; their \
         values are mostly imputed.\n- Switzerland and the VA have few patients without \
         disease, so their specificity rests on a handful of people.\n- The diagnosis is \
         yes/no because Hungary did not grade it.\n- The cost ratio is an assumption for a \
         teaching lab, not clinical advice."
    );
    md
}
