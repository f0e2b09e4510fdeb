//! Where the lab reads and writes, relative to the repository root. The CLI,
//! the Makefile, DVC and the notebooks all use these defaults.

/// The four published files, fetched and verified.
pub const RAW_DIR: &str = "data/raw";
/// The validated rows, the quarantine and the accounting.
pub const VALIDATED_DIR: &str = "data/validated";
/// The phase-1 data report.
pub const DATA_REPORT_DIR: &str = "lab/reports/data";
/// Cleaned examples, the dropped rows and the cleaning accounting.
pub const CLEAN_DIR: &str = "lab/out/clean";
/// The three parts of the split, one JSON-lines file each.
pub const SPLIT_DIR: &str = "lab/out/split";
/// What the train stage learned and chose: `fit.json`.
pub const FIT_DIR: &str = "lab/out/fit";
/// The packaged model: the artifact, its checksum and its model card.
pub const MODEL_DIR: &str = "lab/out/model";
/// The transformed matrices, exactly as the model sees them.
pub const MATRICES_DIR: &str = "lab/out/matrices";
/// The model's evaluation report.
pub const EVALUATION_REPORT_DIR: &str = "lab/reports/evaluation";
/// The phase-3 leakage table.
pub const LEAKAGE_REPORT_DIR: &str = "lab/reports/leakage";
/// The cleaning report: accounting, drops, and what each way of cleaning costs.
pub const CLEAN_REPORT_DIR: &str = "lab/reports/clean";
/// Run records (git-ignored).
pub const RUNS_DIR: &str = "lab/runs";
/// DVC's lock file, which pins every stage's inputs and outputs.
pub const DVC_LOCK: &str = "dvc.lock";
/// Phase 5's reports: the sweep and the seed study.
pub const TRACKING_REPORT_DIR: &str = "lab/reports/tracking";
