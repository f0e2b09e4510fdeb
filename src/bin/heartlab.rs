//! The lab's command line: one subcommand per stage. Thin on purpose: each
//! subcommand parses its flags, calls the library, and reports to the person.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use heartlab::data::{contract, fetch, load, quarantine};
use heartlab::paths;
use heartlab::report::DataReport;
use polars::prelude::{CsvWriter, SerWriter};

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
    }
}
