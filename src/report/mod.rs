//! The phase-1 data report: what the four hospitals' files hold, in numbers.
//!
//! [`DataReport::build`] computes the statistics (polars), derives the
//! findings from them, draws the charts (plotters), and [`DataReport::write`]
//! puts the Markdown, the SVGs and a JSON copy of every number in one folder.

pub mod charts;
pub mod findings;
pub mod markdown;
pub mod stats;

use std::path::Path;

use serde::Serialize;

use crate::data::load::LoadedData;
use crate::data::quarantine::QuarantinedRow;
use charts::Chart;
use findings::Findings;
use stats::DataStats;

/// Where a source came from and how it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceInfo {
    pub source: String,
    pub file: String,
    pub sha256: String,
    pub line_ends: &'static str,
}

/// The whole report, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataReport {
    pub sources: Vec<SourceInfo>,
    pub quarantine: Vec<QuarantinedRow>,
    pub stats: DataStats,
    pub findings: Findings,
    #[serde(skip)]
    pub charts: Vec<Chart>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("failed to compute the statistics: {0}")]
    Stats(#[from] polars::prelude::PolarsError),
    #[error("{0}")]
    Chart(String),
    #[error("failed to write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The report's file name inside its folder.
pub const REPORT_FILE: &str = "data-report.md";
/// The charts' folder inside the report's folder.
pub const CHART_DIR: &str = "charts";

impl DataReport {
    pub fn build(data: &LoadedData) -> Result<DataReport, ReportError> {
        let stats = DataStats::compute(data)?;
        let findings = Findings::derive(&stats);
        let charts = charts::all(&stats).map_err(ReportError::Chart)?;
        let sources = data
            .sources
            .iter()
            .map(|s| SourceInfo {
                source: s.source.clone(),
                file: s.file.clone(),
                sha256: s.sha256.clone(),
                line_ends: s.dialect.line_ends,
            })
            .collect();
        let quarantine = data.quarantined().cloned().collect();
        Ok(DataReport {
            sources,
            quarantine,
            stats,
            findings,
            charts,
        })
    }

    /// Writes `data-report.md`, `data-report.json` and `charts/*.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let write = |path: &Path, bytes: &[u8]| {
            std::fs::write(path, bytes).map_err(|source| ReportError::Write {
                path: path.display().to_string(),
                source,
            })
        };
        let charts_dir = dir.join(CHART_DIR);
        std::fs::create_dir_all(&charts_dir).map_err(|source| ReportError::Write {
            path: charts_dir.display().to_string(),
            source,
        })?;

        write(
            &dir.join(REPORT_FILE),
            self.to_markdown(CHART_DIR).as_bytes(),
        )?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| ReportError::Write {
            path: dir.join("data-report.json").display().to_string(),
            source: e.into(),
        })?;
        write(&dir.join("data-report.json"), &json)?;
        for chart in &self.charts {
            write(
                &charts_dir.join(format!("{}.svg", chart.name)),
                chart.svg.as_bytes(),
            )?;
        }
        Ok(())
    }

    /// A chart by name, for notebooks.
    pub fn chart(&self, name: &str) -> Option<&Chart> {
        self.charts.iter().find(|c| c.name == name)
    }
}
