//! The lab's command line: one subcommand per stage. Thin on purpose: each
//! subcommand parses its flags, calls the library, and reports to the person.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use heartlab::clean::{self, Cleaned};
use heartlab::data::{contract, fetch, load, quarantine};
use heartlab::example::Example;
use heartlab::leakage::{self, Experiment};
use heartlab::params::LabParams;
use heartlab::report::DataReport;
use heartlab::{cleaning_costs, paths};
use polars::prelude::{CsvWriter, SerWriter};

mod model_stages;
mod runs;

use model_stages::StageArgs;
use runs::RunsCommand;

#[derive(Parser)]
#[command(
    name = "heartlab",
    version,
    about = "The heartlab MLOps lab: one subcommand per stage"
)]
struct Cli {
    /// How to write logs on stderr: readable text, or JSON for machines.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the four hospital files and verify their pinned SHA-256.
    Fetch {
        /// Folder to put the files in.
        #[arg(long, default_value = paths::RAW_DIR)]
        dest: PathBuf,
        /// Copy from this folder instead of downloading (no network).
        #[arg(long, env = fetch::MIRROR_VAR)]
        mirror: Option<PathBuf>,
        /// Download from this base URL instead of the UCI repository.
        #[arg(long, default_value = fetch::UCI_BASE_URL)]
        url: String,
    },
    /// Check every row against the data contract; write kept rows and the quarantine.
    Validate {
        /// Folder holding the fetched files.
        #[arg(long, default_value = paths::RAW_DIR)]
        raw: PathBuf,
        /// Folder for rows.csv, quarantine.jsonl and accounting.json.
        #[arg(long, default_value = paths::VALIDATED_DIR)]
        out: PathBuf,
    },
    /// Write the phase-1 data report (Markdown, SVG charts, JSON).
    Report {
        /// Folder holding the fetched files.
        #[arg(long, default_value = paths::RAW_DIR)]
        raw: PathBuf,
        /// Folder for the report.
        #[arg(long, default_value = paths::DATA_REPORT_DIR)]
        out: PathBuf,
    },
    /// Print the data contract: columns, kinds, codes and ranges, as JSON.
    Contract,
    /// Print every parameter's current value, with the decision that explains it (Markdown).
    Params {
        /// The lab's parameter file.
        #[arg(long, default_value = heartlab::params::PARAMS_FILE)]
        params: PathBuf,
    },
    /// Clean the validated rows by lab/params.yaml; write examples, drops and accounting.
    Clean {
        #[command(flatten)]
        input: Input,
        /// Folder for examples.jsonl, dropped.jsonl and accounting.json.
        #[arg(long, default_value = paths::CLEAN_DIR)]
        out: PathBuf,
    },
    /// Write the cleaning report: accounting, drops, and what four ways of cleaning
    /// cost (this trains models on ten seeds, so it takes a few seconds).
    CleaningReport {
        #[command(flatten)]
        input: Input,
        /// Folder for cleaning.md and cleaning-costs.json.
        #[arg(long, default_value = paths::CLEAN_REPORT_DIR)]
        out: PathBuf,
    },
    /// Split the cleaned examples into train, validation and test parts (seeded).
    Split {
        /// The cleaned examples, from `heartlab clean`.
        #[arg(long, default_value = "lab/out/clean/examples.jsonl")]
        examples: PathBuf,
        #[arg(long, default_value = heartlab::params::PARAMS_FILE)]
        params: PathBuf,
        /// Folder for train.jsonl, validation.jsonl and test.jsonl.
        #[arg(long, default_value = paths::SPLIT_DIR)]
        out: PathBuf,
    },
    /// Fit the pipeline and the model on the training part; choose the threshold on
    /// the validation part. Records a run.
    Train {
        #[command(flatten)]
        stage: StageArgs,
        /// Folder for fit.json.
        #[arg(long, default_value = paths::FIT_DIR)]
        out: PathBuf,
    },
    /// Score the test part once, with bootstrap intervals and curves. Records a run.
    Evaluate {
        #[command(flatten)]
        stage: StageArgs,
        /// Folder for evaluation.md, evaluation.json, metrics.json and the curves.
        #[arg(long, default_value = paths::EVALUATION_REPORT_DIR)]
        out: PathBuf,
    },
    /// Write the verified model artifact and its model card. Records a run.
    Package {
        #[command(flatten)]
        stage: StageArgs,
        /// The evaluation from `heartlab evaluate`.
        #[arg(long, default_value = paths::EVALUATION_REPORT_DIR)]
        evaluation: PathBuf,
        /// Folder for artifact.json, artifact.json.sha256 and model-card.md.
        #[arg(long, default_value = paths::MODEL_DIR)]
        out: PathBuf,
    },
    /// Run the honest flow on seeds 1..=N and show how the mean test score settles.
    Seeds {
        #[command(flatten)]
        input: Input,
        /// How many seeds.
        #[arg(long, default_value_t = 30)]
        count: u64,
        /// Folder for seeds.md and seeds.json.
        #[arg(long, default_value = paths::TRACKING_REPORT_DIR)]
        out: PathBuf,
    },
    /// List, show and compare run records; send them to MLflow.
    Runs {
        /// The folder of run records.
        #[arg(long, env = "HEARTLAB_RUNS_DIR", default_value = paths::RUNS_DIR, global = true)]
        dir: PathBuf,
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Export exactly what the model sees: the transformed matrices (CSV) and the fitted pipeline.
    Export {
        #[command(flatten)]
        input: Input,
        /// Folder for train.csv, validation.csv, test.csv and pipeline.json.
        #[arg(long, default_value = paths::MATRICES_DIR)]
        out: PathBuf,
    },
    /// Run the leakage experiments (all, or those named) against the honest pipeline.
    Leakage {
        #[command(flatten)]
        input: Input,
        /// Run only this experiment (repeatable); see --list.
        #[arg(long = "experiment", value_name = "ID")]
        experiments: Vec<String>,
        /// List the experiments and exit.
        #[arg(long)]
        list: bool,
        /// Folder for leakage.md and leakage.json.
        #[arg(long, default_value = paths::LEAKAGE_REPORT_DIR)]
        out: PathBuf,
    },
}

/// Where the examples come from: the fetched files and the parameters.
#[derive(clap::Args)]
struct Input {
    /// Folder holding the fetched files.
    #[arg(long, default_value = paths::RAW_DIR)]
    raw: PathBuf,
    /// The lab's parameter file.
    #[arg(long, default_value = heartlab::params::PARAMS_FILE)]
    params: PathBuf,
}

impl Input {
    /// Loads, validates and cleans: the examples every later stage starts from.
    fn load(&self) -> anyhow::Result<(LabParams, Cleaned, Vec<Example>)> {
        let (params, _, cleaned, examples) = self.load_with_frame()?;
        Ok((params, cleaned, examples))
    }

    /// As [`Input::load`], keeping the validated frame for callers that
    /// clean it again another way.
    fn load_with_frame(
        &self,
    ) -> anyhow::Result<(LabParams, load::LoadedData, Cleaned, Vec<Example>)> {
        let params = LabParams::from_file(&self.params)?;
        let data = load::load_hospitals(&self.raw)?;
        let cleaned = clean::clean(&data.frame, &params.clean).context("cleaning")?;
        let examples = cleaned.examples().context("reading the cleaned examples")?;
        Ok((params, data, cleaned, examples))
    }
}

pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("failed to write {}", path.display()))
}

fn write_jsonl<T: serde::Serialize>(path: &Path, items: &[T]) -> anyhow::Result<()> {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item)?);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

/// The accounting and the drop reasons as Markdown, for the book.
fn clean_report(cleaned: &Cleaned) -> String {
    let mut md = String::from(
        "## Accounting\n\n| hospital | rows in | rows out | dropped |\n|---|---:|---:|---:|\n",
    );
    for a in &cleaned.accounting {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            a.hospital, a.rows_in, a.rows_out, a.dropped
        ));
    }
    let mut reasons: std::collections::BTreeMap<(String, &str), usize> = Default::default();
    for d in &cleaned.dropped {
        let kind = match d.reason {
            clean::DropReason::TooManyMissing { .. } => "too many missing features",
            clean::DropReason::DuplicateOf { .. } => "duplicate of an earlier row",
        };
        *reasons.entry((d.hospital.clone(), kind)).or_default() += 1;
    }
    md.push_str("\n## Why rows were dropped\n\n| hospital | reason | rows |\n|---|---|---:|\n");
    for ((hospital, kind), count) in &reasons {
        md.push_str(&format!("| {hospital} | {kind} | {count} |\n"));
    }
    if reasons.is_empty() {
        md.push_str("| – | no row was dropped | 0 |\n");
    }
    md
}

pub(crate) fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Fetch { dest, mirror, url } => {
            let source = mirror.map_or(fetch::Source::Url(url), fetch::Source::Mirror);
            let outcomes = fetch::fetch_all(&dest, &source)?;
            let fetched = outcomes
                .iter()
                .filter(|(_, o)| *o != fetch::Outcome::AlreadyPresent);
            if fetched.count() == 0 {
                println!(
                    "All four files already present and verified in {}: nothing to do.",
                    dest.display()
                );
            } else {
                for (hospital, outcome) in outcomes {
                    println!("{:<28} {outcome:?}", hospital.file_name());
                }
            }
            Ok(())
        }
        Command::Validate { raw, out } => {
            let mut data = load::load_hospitals(&raw)?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("failed to create {}", out.display()))?;

            let rows_path = out.join("rows.csv");
            let file = std::fs::File::create(&rows_path)
                .with_context(|| format!("failed to create {}", rows_path.display()))?;
            CsvWriter::new(file)
                .finish(&mut data.frame)
                .with_context(|| format!("failed to write {}", rows_path.display()))?;

            let quarantined: Vec<_> = data.quarantined().cloned().collect();
            let q_path = out.join("quarantine.jsonl");
            quarantine::write_jsonl(&quarantined, &q_path)
                .with_context(|| format!("failed to write {}", q_path.display()))?;

            let accounting = data.accounting();
            let a_path = out.join("accounting.json");
            std::fs::write(&a_path, serde_json::to_vec_pretty(&accounting)?)
                .with_context(|| format!("failed to write {}", a_path.display()))?;

            println!(
                "{:<12} {:>9} {:>6} {:>12}",
                "source", "rows read", "kept", "quarantined"
            );
            for a in &accounting {
                println!(
                    "{:<12} {:>9} {:>6} {:>12}",
                    a.source, a.rows_read, a.kept, a.quarantined
                );
            }
            anyhow::ensure!(
                accounting.iter().all(|a| a.balances()),
                "row accounting does not balance"
            );
            Ok(())
        }
        Command::Report { raw, out } => {
            let data = load::load_hospitals(&raw)?;
            let report = DataReport::build(&data)?;
            report.write(&out)?;
            println!(
                "Wrote {}",
                out.join(heartlab::report::REPORT_FILE).display()
            );
            Ok(())
        }
        Command::Contract => {
            println!("{}", serde_json::to_string_pretty(&contract::COLUMNS)?);
            Ok(())
        }
        Command::Params { params } => {
            print!("{}", LabParams::from_file(&params)?.to_markdown());
            Ok(())
        }
        Command::Clean { input, out } => {
            let (_, cleaned, examples) = input.load()?;
            create_dir(&out)?;
            write_jsonl(&out.join("examples.jsonl"), &examples)?;
            write_jsonl(&out.join("dropped.jsonl"), &cleaned.dropped)?;
            write_json(&out.join("accounting.json"), &cleaned.accounting)?;
            println!(
                "{:<12} {:>7} {:>8} {:>8}",
                "hospital", "rows in", "rows out", "dropped"
            );
            for a in &cleaned.accounting {
                println!(
                    "{:<12} {:>7} {:>8} {:>8}",
                    a.hospital, a.rows_in, a.rows_out, a.dropped
                );
            }
            anyhow::ensure!(
                cleaned
                    .accounting
                    .iter()
                    .all(|a| a.rows_in == a.rows_out + a.dropped),
                "cleaning accounting does not balance"
            );
            Ok(())
        }
        Command::CleaningReport { input, out } => {
            let (params, validated, cleaned, _) = input.load_with_frame()?;
            let costs = cleaning_costs::compare(&validated.frame, &params)?;
            create_dir(&out)?;
            write_json(&out.join("cleaning-costs.json"), &costs)?;
            let md = out.join("cleaning.md");
            let text = clean_report(&cleaned)
                + "\n## What each way of cleaning costs\n\n"
                + &cleaning_costs::render(&costs);
            std::fs::write(&md, text)
                .with_context(|| format!("failed to write {}", md.display()))?;
            println!("Wrote {}", md.display());
            Ok(())
        }
        Command::Split {
            examples,
            params,
            out,
        } => model_stages::split(&examples, &params, &out),
        Command::Train { stage, out } => model_stages::train(&stage, &out),
        Command::Evaluate { stage, out } => model_stages::evaluate(&stage, &out),
        Command::Package {
            stage,
            evaluation,
            out,
        } => model_stages::package(&stage, &evaluation, &out),
        Command::Seeds { input, count, out } => {
            let (params, _, examples) = input.load()?;
            let steps = heartlab::seed_study::run(&examples, &params, count)?;
            create_dir(&out)?;
            write_json(&out.join("seeds.json"), &steps)?;
            let md = out.join("seeds.md");
            std::fs::write(&md, heartlab::seed_study::render(&steps))
                .with_context(|| format!("failed to write {}", md.display()))?;
            println!("Wrote {}", md.display());
            Ok(())
        }
        Command::Runs { dir, command } => runs::runs(&dir, command),
        Command::Export { input, out } => {
            let (params, _, examples) = input.load()?;
            let split = heartlab::split::split(&examples, &params.split, params.seed);
            let pipeline = heartlab::features::Pipeline::fit(&params.features, &split.train)?;
            create_dir(&out)?;
            let write = |name: &str, write: &dyn Fn(std::fs::File) -> std::io::Result<()>| {
                let path = out.join(name);
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("failed to create {}", path.display()))?;
                write(file).with_context(|| format!("failed to write {}", path.display()))
            };
            write("train.csv", &|f| {
                pipeline.design(&split.train).write_csv(BufWriter::new(f))
            })?;
            write("validation.csv", &|f| {
                pipeline
                    .design(&split.validation)
                    .write_csv(BufWriter::new(f))
            })?;
            write("test.csv", &|f| {
                pipeline.design(&split.test).write_csv(BufWriter::new(f))
            })?;
            write_json(&out.join("pipeline.json"), &pipeline)?;
            println!(
                "Wrote {} columns for {} train, {} validation and {} test rows into {}",
                pipeline.width(),
                split.train.len(),
                split.validation.len(),
                split.test.len(),
                out.display()
            );
            Ok(())
        }
        Command::Leakage {
            input,
            experiments,
            list,
            out,
        } => {
            if list {
                for e in Experiment::ALL {
                    println!("{:<26} {}", e.id(), e.leak());
                }
                return Ok(());
            }
            let which = if experiments.is_empty() {
                Experiment::ALL.to_vec()
            } else {
                experiments
                    .iter()
                    .map(|id| Experiment::parse(id))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let (params, _, examples) = input.load()?;
            let table = leakage::run(&examples, &params, &which)?;
            create_dir(&out)?;
            write_json(&out.join("leakage.json"), &table)?;
            let md = out.join("leakage.md");
            let text = format!(
                "# The leakage table\n\nGenerated by `heartlab leakage`; each experiment is \
                 described in the phase 3 chapter.\n\n{}",
                leakage::markdown::render(&table)
            );
            std::fs::write(&md, text)
                .with_context(|| format!("failed to write {}", md.display()))?;
            for row in &table.rows {
                println!(
                    "{:<26} honest {:.3}  leaky {:.3}  inflation {:+.3} ± {:.3}",
                    row.experiment.id(),
                    row.honest_roc_auc.mean,
                    row.leaky_roc_auc.mean,
                    row.roc_auc_inflation.mean,
                    row.roc_auc_inflation.sd
                );
            }
            println!("Wrote {}", md.display());
            Ok(())
        }
    }
}
