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
/// The fitted pipeline, the model and the chosen threshold.
pub const MODEL_DIR: &str = "lab/out/model";
/// The transformed matrices, exactly as the model sees them.
pub const MATRICES_DIR: &str = "lab/out/matrices";
/// The model's evaluation report.
pub const EVALUATION_REPORT_DIR: &str = "lab/reports/evaluation";
/// The phase-3 leakage table.
pub const LEAKAGE_REPORT_DIR: &str = "lab/reports/leakage";
/// The cleaning report: accounting, drops, and what each way of cleaning costs.
pub const CLEAN_REPORT_DIR: &str = "lab/reports/clean";
