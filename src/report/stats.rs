//! The numbers behind the data report, computed with polars from the loaded
//! frame and gathered into plain serialisable structs.
//!
//! Everything here is deterministic: groups keep the order the hospitals were
//! loaded in, and nothing depends on hash order, so the report's snapshot is
//! stable from run to run.

use polars::prelude::*;
use serde::Serialize;

use crate::data::contract::{ColumnSpec, Domain, Role, COLUMNS, LABEL};
use crate::data::load::LoadedData;
use crate::data::quarantine::Accounting;

/// A numeric summary of one measurement in one group of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Values present (not missing and, where zero means "not measured", not zero).
    pub n: usize,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub median: Option<f64>,
    pub max: Option<f64>,
}

/// One feature's missing values in one hospital.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    pub rows: usize,
    /// Written as `?` in the file.
    pub marked: usize,
    /// Written as 0 in a column where 0 means "not measured".
    pub hidden_zeros: usize,
}

impl Missing {
    pub fn total(&self) -> usize {
        self.marked + self.hidden_zeros
    }

    pub fn rate(&self) -> f64 {
        ratio(self.total(), self.rows)
    }
}

/// How often each code of a categorical column appears, per hospital.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeCounts {
    pub column: &'static str,
    /// One entry per allowed code, in code order; counts follow `hospitals`.
    pub codes: Vec<(i64, Vec<usize>)>,
}

/// Disease prevalence in one hospital.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prevalence {
    pub hospital: String,
    pub rows: usize,
    pub diseased: usize,
    /// The distinct values of `num` this hospital uses.
    pub label_codes: Vec<i64>,
}

impl Prevalence {
    pub fn rate(&self) -> f64 {
        ratio(self.diseased, self.rows)
    }
}

/// Missingness of one feature among patients with and without disease.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingByLabel {
    pub column: &'static str,
    pub healthy: Missing,
    pub diseased: Missing,
}

/// How far one hospital's mean sits from the other hospitals' pooled mean,
/// in pooled standard deviations (the standardised mean difference).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shift {
    pub column: &'static str,
    /// One entry per hospital; `None` when either side has fewer than two values.
    pub smd: Vec<Option<f64>>,
}

/// Every number the phase-1 report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataStats {
    pub hospitals: Vec<String>,
    pub accounting: Vec<Accounting>,
    /// Per feature, per hospital (same order as `hospitals`).
    pub missing: Vec<(&'static str, Vec<Missing>)>,
    pub missing_by_label: Vec<MissingByLabel>,
    /// Per measurement: one summary per hospital, then one for all hospitals.
    pub summaries: Vec<(&'static str, Vec<Summary>, Summary)>,
    pub codes: Vec<CodeCounts>,
    pub prevalence: Vec<Prevalence>,
    pub shifts: Vec<Shift>,
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn features() -> impl Iterator<Item = &'static ColumnSpec> {
    COLUMNS.iter().filter(|c| c.role == Role::Feature)
}

fn measurements() -> impl Iterator<Item = &'static ColumnSpec> {
    COLUMNS
        .iter()
        .filter(|c| matches!(c.domain, Domain::Range { .. }))
}

/// The column's values with hidden zeros turned into nulls, for statistics
/// that should describe real measurements only.
fn measured(spec: &ColumnSpec) -> Expr {
    let value = col(spec.name).cast(DataType::Float64);
    if spec.zero_means_not_measured {
        when(value.clone().eq(lit(0.0)))
            .then(lit(NULL))
            .otherwise(value)
    } else {
        value
    }
}

fn hidden_zeros(spec: &ColumnSpec) -> Expr {
    if spec.zero_means_not_measured {
        col(spec.name).eq(lit(0)).cast(DataType::UInt32).sum()
    } else {
        lit(0u32)
    }
}

/// Reads a column of any numeric type as `f64`s, nulls as `None`.
fn floats(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let cast = frame.column(name)?.cast(&DataType::Float64)?;
    Ok(cast.f64()?.iter().collect())
}

fn counts(frame: &DataFrame, name: &str) -> PolarsResult<Vec<usize>> {
    Ok(floats(frame, name)?
        .into_iter()
        .map(|v| v.unwrap_or(0.0) as usize)
        .collect())
}

impl DataStats {
    /// Computes every statistic from the loaded data.
    pub fn compute(data: &LoadedData) -> PolarsResult<DataStats> {
        let hospitals: Vec<String> = data.sources.iter().map(|s| s.source.clone()).collect();
        let frame = &data.frame;

        let by_hospital = per_hospital(frame, &hospitals)?;
        let missing = missing_table(&by_hospital, &hospitals)?;
        let missing_by_label = missing_by_label(frame)?;
        let summaries = summaries(frame, &by_hospital, &hospitals)?;
        let codes = code_counts(frame, &hospitals)?;
        let prevalence = prevalence(&by_hospital, &hospitals)?;
        let shifts = shifts(&summaries);

        Ok(DataStats {
            hospitals,
            accounting: data.accounting(),
            missing,
            missing_by_label,
            summaries,
            codes,
            prevalence,
            shifts,
        })
    }
}

/// One row per hospital with every per-hospital aggregate the report needs,
/// in the order the hospitals were loaded (a hospital with no kept rows gets
/// zeros, not a missing row).
fn per_hospital(frame: &DataFrame, hospitals: &[String]) -> PolarsResult<DataFrame> {
    let mut aggs = vec![
        len().alias("rows"),
        col(LABEL)
            .gt(lit(0))
            .cast(DataType::UInt32)
            .sum()
            .alias("diseased"),
        col(LABEL)
            .unique_stable()
            .sort(Default::default())
            .implode(true)
            .alias("label_codes"),
    ];
    for spec in features() {
        aggs.push(
            col(spec.name)
                .null_count()
                .alias(format!("{}__marked", spec.name)),
        );
        aggs.push(hidden_zeros(spec).alias(format!("{}__zeros", spec.name)));
    }
    for spec in measurements() {
        aggs.extend(summary_exprs(spec));
    }
    let grouped = frame
        .clone()
        .lazy()
        .group_by_stable([col("hospital")])
        .agg(aggs)
        .collect()?;

    // Put the groups in loading order, filling hospitals that kept no rows.
    let order = DataFrame::new(
        hospitals.len(),
        vec![Column::new("hospital".into(), hospitals.to_vec())],
    )?;
    order
        .lazy()
        .join(
            grouped.lazy(),
            [col("hospital")],
            [col("hospital")],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .collect()
}

fn summary_exprs(spec: &ColumnSpec) -> Vec<Expr> {
    let v = measured(spec);
    let name = spec.name;
    vec![
        v.clone().count().alias(format!("{name}__n")),
        v.clone().mean().alias(format!("{name}__mean")),
        v.clone().std(1).alias(format!("{name}__sd")),
        v.clone().min().alias(format!("{name}__min")),
        v.clone().median().alias(format!("{name}__median")),
        v.max().alias(format!("{name}__max")),
    ]
}

fn read_summaries(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Summary>> {
    let field = |stat: &str| floats(frame, &format!("{name}__{stat}"));
    let (n, mean, sd) = (field("n")?, field("mean")?, field("sd")?);
    let (min, median, max) = (field("min")?, field("median")?, field("max")?);
    Ok((0..frame.height())
        .map(|i| Summary {
            n: n[i].unwrap_or(0.0) as usize,
            mean: mean[i],
            sd: sd[i],
            min: min[i],
            median: median[i],
            max: max[i],
        })
        .collect())
}

fn missing_table(
    by_hospital: &DataFrame,
    hospitals: &[String],
) -> PolarsResult<Vec<(&'static str, Vec<Missing>)>> {
    let rows = counts(by_hospital, "rows")?;
    features()
        .map(|spec| {
            let marked = counts(by_hospital, &format!("{}__marked", spec.name))?;
            let zeros = counts(by_hospital, &format!("{}__zeros", spec.name))?;
            let per = (0..hospitals.len())
                .map(|i| Missing {
                    rows: rows[i],
                    marked: marked[i],
                    hidden_zeros: zeros[i],
                })
                .collect();
            Ok((spec.name, per))
        })
        .collect()
}

fn missing_by_label(frame: &DataFrame) -> PolarsResult<Vec<MissingByLabel>> {
    let mut aggs = vec![len().alias("rows")];
    for spec in features() {
        aggs.push(
            col(spec.name)
                .null_count()
                .alias(format!("{}__marked", spec.name)),
        );
        aggs.push(hidden_zeros(spec).alias(format!("{}__zeros", spec.name)));
    }
    let grouped = frame
        .clone()
        .lazy()
        .with_column(col(LABEL).gt(lit(0)).alias("diseased"))
        .group_by([col("diseased")])
        .agg(aggs)
        .sort(["diseased"], Default::default())
        .collect()?;

    let flags: Vec<Option<bool>> = grouped.column("diseased")?.bool()?.iter().collect();
    let rows = counts(&grouped, "rows")?;
    features()
        .map(|spec| {
            let marked = counts(&grouped, &format!("{}__marked", spec.name))?;
            let zeros = counts(&grouped, &format!("{}__zeros", spec.name))?;
            let side = |want: bool| {
                let i = flags.iter().position(|f| *f == Some(want));
                i.map_or(
                    Missing {
                        rows: 0,
                        marked: 0,
                        hidden_zeros: 0,
                    },
                    |i| Missing {
                        rows: rows[i],
                        marked: marked[i],
                        hidden_zeros: zeros[i],
                    },
                )
            };
            Ok(MissingByLabel {
                column: spec.name,
                healthy: side(false),
                diseased: side(true),
            })
        })
        .collect()
}

type SummaryRow = (&'static str, Vec<Summary>, Summary);

fn summaries(
    frame: &DataFrame,
    by_hospital: &DataFrame,
    hospitals: &[String],
) -> PolarsResult<Vec<SummaryRow>> {
    let pooled_exprs: Vec<Expr> = measurements().flat_map(summary_exprs).collect();
    let pooled = frame.clone().lazy().select(pooled_exprs).collect()?;
    measurements()
        .map(|spec| {
            let mut per = read_summaries(by_hospital, spec.name)?;
            per.truncate(hospitals.len());
            let all = read_summaries(&pooled, spec.name)?.remove(0);
            Ok((spec.name, per, all))
        })
        .collect()
}

fn code_counts(frame: &DataFrame, hospitals: &[String]) -> PolarsResult<Vec<CodeCounts>> {
    COLUMNS
        .iter()
        .filter_map(|spec| match spec.domain {
            Domain::Codes(allowed) => Some((spec, allowed)),
            Domain::Range { .. } => None,
        })
        .map(|(spec, allowed)| {
            let grouped = frame
                .clone()
                .lazy()
                .group_by([col("hospital"), col(spec.name)])
                .agg([len().alias("count")])
                .collect()?;
            let names: Vec<Option<&str>> = grouped.column("hospital")?.str()?.iter().collect();
            let codes = floats(&grouped, spec.name)?;
            let count = counts(&grouped, "count")?;

            let table = allowed
                .iter()
                .map(|&code| {
                    let per = hospitals
                        .iter()
                        .map(|h| {
                            (0..grouped.height())
                                .find(|&i| {
                                    names[i] == Some(h.as_str()) && codes[i] == Some(code as f64)
                                })
                                .map_or(0, |i| count[i])
                        })
                        .collect();
                    (code, per)
                })
                .collect();
            Ok(CodeCounts {
                column: spec.name,
                codes: table,
            })
        })
        .collect()
}

fn prevalence(by_hospital: &DataFrame, hospitals: &[String]) -> PolarsResult<Vec<Prevalence>> {
    let rows = counts(by_hospital, "rows")?;
    let diseased = counts(by_hospital, "diseased")?;
    let codes = by_hospital.column("label_codes")?.list()?;
    hospitals
        .iter()
        .enumerate()
        .map(|(i, hospital)| {
            let label_codes = match codes.get_as_series(i) {
                Some(series) => {
                    let cast = series.cast(&DataType::Int64)?;
                    cast.i64()?.iter().flatten().collect()
                }
                None => Vec::new(),
            };
            Ok(Prevalence {
                hospital: hospital.clone(),
                rows: rows[i],
                diseased: diseased[i],
                label_codes,
            })
        })
        .collect()
}

/// Standardised mean differences, each hospital against the other three
/// pooled. The pooled "rest" mean and variance are combined from the
/// per-hospital summaries, so no second pass over the rows is needed.
fn shifts(summaries: &[SummaryRow]) -> Vec<Shift> {
    summaries
        .iter()
        .map(|(column, per, _)| {
            let smd = (0..per.len())
                .map(|i| {
                    let rest: Vec<&Summary> = per
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, s)| s)
                        .collect();
                    let (rest_n, rest_mean, rest_var) = combine(&rest)?;
                    let own = &per[i];
                    let (mean, sd) = (own.mean?, own.sd?);
                    if own.n < 2 || rest_n < 2.0 {
                        return None;
                    }
                    let pooled_sd = ((sd * sd + rest_var) / 2.0).sqrt();
                    (pooled_sd > 0.0).then(|| (mean - rest_mean) / pooled_sd)
                })
                .collect();
            Shift { column, smd }
        })
        .collect()
}

/// Combines group counts, means and sample variances into one group's.
fn combine(groups: &[&Summary]) -> Option<(f64, f64, f64)> {
    let present: Vec<(f64, f64, f64)> = groups
        .iter()
        .filter(|s| s.n > 0)
        .filter_map(|s| Some((s.n as f64, s.mean?, s.sd.unwrap_or(0.0))))
        .collect();
    let n: f64 = present.iter().map(|(n, _, _)| n).sum();
    if n < 2.0 {
        return None;
    }
    let mean = present.iter().map(|(k, m, _)| k * m).sum::<f64>() / n;
    let within: f64 = present.iter().map(|(k, _, sd)| (k - 1.0) * sd * sd).sum();
    let between: f64 = present.iter().map(|(k, m, _)| k * (m - mean).powi(2)).sum();
    Some((n, mean, (within + between) / (n - 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(values: &[f64]) -> Summary {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Summary {
            n: values.len(),
            mean: Some(mean),
            sd: Some(var.sqrt()),
            min: None,
            median: None,
            max: None,
        }
    }

    #[test]
    fn combining_group_summaries_equals_summarising_the_union() {
        let (a, b) = ([1.0, 2.0, 4.0], [10.0, 12.0]);
        let union: Vec<f64> = a.iter().chain(b.iter()).copied().collect();
        let whole = summary(&union);
        let (n, mean, var) = combine(&[&summary(&a), &summary(&b)]).unwrap();
        assert_eq!(n, 5.0);
        assert!((mean - whole.mean.unwrap()).abs() < 1e-12);
        assert!((var.sqrt() - whole.sd.unwrap()).abs() < 1e-12);
    }
}
