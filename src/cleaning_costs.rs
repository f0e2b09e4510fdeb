//! Phase 2's question "impute or drop?", answered by running the lab.
//!
//! Each choice changes only the cleaning parameters (and, when it drops a
//! column, stops listing that column as a feature), then runs the honest
//! flow on the leakage seeds. The table shows what each choice keeps, per
//! hospital, and what the model scores. Scores are read on each choice's own
//! test part: a choice that drops rows also drops them from its test, so it
//! is judged on easier, narrower patients. That is part of its cost.

use std::collections::BTreeMap;

use polars::prelude::{DataFrame, PolarsError};
use serde::Serialize;

use crate::clean::clean;
use crate::flow::{self, FlowError};
use crate::leakage::Spread;
use crate::params::LabParams;

#[derive(Debug, thiserror::Error)]
pub enum CostsError {
    #[error("cleaning for choice {choice:?}: {source}")]
    Clean {
        choice: &'static str,
        source: PolarsError,
    },
    #[error("running choice {choice:?}: {source}")]
    Flow {
        choice: &'static str,
        source: FlowError,
    },
}

/// One way of cleaning, as a change to the lab's parameters.
pub struct Choice {
    pub id: &'static str,
    pub what: &'static str,
    pub apply: fn(&mut LabParams),
}

fn drop_columns(params: &mut LabParams, columns: &[&str]) {
    for c in columns {
        params.clean.drop_columns.push((*c).to_owned());
        params.features.numeric.remove(*c);
        params.features.categorical.remove(*c);
    }
}

/// The choices the chapter compares, the lab's defaults first.
pub fn choices() -> Vec<Choice> {
    vec![
        Choice {
            id: "defaults",
            what: "lab/params.yaml as it is: impute after the split",
            apply: |_| {},
        },
        Choice {
            id: "drop-sparse-columns",
            what: "drop ca, thal and slope, which three hospitals barely measured",
            apply: |p| drop_columns(p, &["ca", "thal", "slope"]),
        },
        Choice {
            id: "complete-rows-only",
            what: "drop every row with any missing feature",
            apply: |p| p.clean.max_missing_share = 0.0,
        },
        Choice {
            id: "drop-sparse-then-complete",
            what: "drop ca, thal and slope, then every row still missing a value",
            apply: |p| {
                drop_columns(p, &["ca", "thal", "slope"]);
                p.clean.max_missing_share = 0.0;
            },
        },
    ]
}

/// What one choice kept and scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceRow {
    pub choice: String,
    pub what: String,
    pub rows_kept: BTreeMap<String, usize>,
    pub rows_in: usize,
    pub test_rows: usize,
    pub test_roc_auc: Spread,
    pub test_recall: Spread,
    pub test_brier: Spread,
}

/// Runs every choice on the validated frame, on each leakage seed.
pub fn compare(frame: &DataFrame, params: &LabParams) -> Result<Vec<ChoiceRow>, CostsError> {
    let mut rows = Vec::new();
    for choice in choices() {
        let mut p = params.clone();
        (choice.apply)(&mut p);
        let cleaned = clean(frame, &p.clean).map_err(|source| CostsError::Clean {
            choice: choice.id,
            source,
        })?;
        let examples = cleaned.examples().map_err(|source| CostsError::Clean {
            choice: choice.id,
            source,
        })?;
        let outcomes = p
            .leakage
            .seeds
            .iter()
            .map(|&seed| flow::run(&examples, &p, seed))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| CostsError::Flow {
                choice: choice.id,
                source,
            })?;
        rows.push(ChoiceRow {
            choice: choice.id.to_owned(),
            what: choice.what.to_owned(),
            rows_kept: cleaned
                .accounting
                .iter()
                .map(|a| (a.hospital.clone(), a.rows_out))
                .collect(),
            rows_in: cleaned.accounting.iter().map(|a| a.rows_in).sum(),
            test_rows: outcomes.first().map_or(0, |o| o.split.test.len()),
            test_roc_auc: Spread::of(outcomes.iter().map(|o| o.test.roc_auc)),
            test_recall: Spread::of(outcomes.iter().map(|o| o.test.recall)),
            test_brier: Spread::of(outcomes.iter().map(|o| o.test.brier)),
        });
    }
    Ok(rows)
}

/// The comparison as a Markdown table.
pub fn render(rows: &[ChoiceRow]) -> String {
    let hospitals: Vec<&String> = rows
        .first()
        .map_or(Vec::new(), |r| r.rows_kept.keys().collect());
    let mut md = String::from(
        "Rows kept per hospital, and test scores over the leakage seeds (mean ± standard \
         deviation), each on the choice's own test part.\n\n| choice | what it does |",
    );
    for h in &hospitals {
        md.push_str(&format!(" {h} kept |"));
    }
    md.push_str(" test rows | ROC AUC | recall | Brier |\n|---|---|");
    md.push_str(&"---:|".repeat(hospitals.len() + 1));
    md.push_str("---|---|---|\n");
    for r in rows {
        md.push_str(&format!("| `{}` | {} |", r.choice, r.what));
        for h in &hospitals {
            let kept = r.rows_kept.get(*h).copied().unwrap_or(0);
            md.push_str(&format!(" {kept} |"));
        }
        md.push_str(&format!(
            " {} | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.3} ± {:.3} |\n",
            r.test_rows,
            r.test_roc_auc.mean,
            r.test_roc_auc.sd,
            r.test_recall.mean,
            r.test_recall.sd,
            r.test_brier.mean,
            r.test_brier.sd
        ));
    }
    md
}
