//! `heartlab runs`: the run records, listed, shown, compared and pushed.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use heartlab::tracking::mlflow::{self, Mlflow};
use heartlab::tracking::{compare, RunStore};

#[derive(Subcommand)]
pub enum RunsCommand {
    /// One line per run, oldest first.
    List,
    /// Everything about one run (an id, a unique prefix of one, or `latest`).
    Show { id: String },
    /// Two runs side by side: what differs, and every metric's change.
    Compare { a: String, b: String },
    /// Send runs (all, or those named) to the MLflow server at MLFLOW_TRACKING_URI.
    Push { ids: Vec<String> },
}

/// `heartlab runs ...`.
pub fn runs(dir: &Path, command: RunsCommand) -> anyhow::Result<()> {
    let store = RunStore::new(dir);
    match command {
        RunsCommand::List => {
            let records = store.list()?;
            if records.is_empty() {
                println!(
                    "No runs in {} yet: `dvc repro` (or `make train`) records them.",
                    dir.display()
                );
            } else {
                print!("{}", compare::list(&records));
            }
        }
        RunsCommand::Show { id } => print!("{}", compare::show(&store.find(&id)?)),
        RunsCommand::Compare { a, b } => {
            print!("{}", compare::compare(&store.find(&a)?, &store.find(&b)?));
        }
        RunsCommand::Push { ids } => {
            let mlflow = Mlflow::from_env().with_context(|| {
                format!(
                    "set {} to the MLflow server's address",
                    mlflow::TRACKING_URI_VAR
                )
            })?;
            let records = if ids.is_empty() {
                store.list()?
            } else {
                ids.iter()
                    .map(|id| store.find(id))
                    .collect::<Result<_, _>>()?
            };
            for mut record in records {
                let reference = mlflow.log_run(&record)?;
                println!("{} -> MLflow run {}", record.id, reference.run_id);
                record.mlflow = Some(reference);
                store.save(&record)?;
            }
        }
    }
    Ok(())
}
