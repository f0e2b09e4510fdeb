//! Where the lab reads and writes, relative to the repository root. The CLI,
//! the Makefile, DVC and the notebooks all use these defaults.

/// The four published files, fetched and verified.
pub const RAW_DIR: &str = "data/raw";
/// The validated rows, the quarantine and the accounting.
pub const VALIDATED_DIR: &str = "data/validated";
/// The phase-1 data report.
pub const DATA_REPORT_DIR: &str = "lab/reports/data";
