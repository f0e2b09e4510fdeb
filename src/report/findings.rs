//! Plain-language findings, each derived from the statistics by a rule
//! stated in the sentence itself, so the report's prose cannot drift from
//! its numbers.

use super::stats::DataStats;

/// A feature's missing share must differ by at least this much between two
/// hospitals to be called "follows the hospital".
pub const HOSPITAL_SPREAD: f64 = 0.20;
/// ...and by at least this much between healthy and diseased patients to be
/// called "related to the diagnosis".
pub const LABEL_GAP: f64 = 0.10;
/// A standardised mean difference this large is "medium" by Cohen's rule of thumb.
pub const NOTABLE_SHIFT: f64 = 0.5;
/// A hospital that misses a feature this often has, in effect, not measured it.
pub const NOT_MEASURED: f64 = 0.90;

/// What a report section found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Findings {
    pub missing_by_hospital: Vec<String>,
    pub missing_by_label: Vec<String>,
    pub hidden_zeros: Vec<String>,
    pub prevalence: Vec<String>,
    pub shifts: Vec<String>,
    pub fifth_hospital: Vec<String>,
}

pub fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

impl Findings {
    pub fn derive(stats: &DataStats) -> Findings {
        Findings {
            missing_by_hospital: missing_by_hospital(stats),
            missing_by_label: missing_by_label(stats),
            hidden_zeros: hidden_zeros(stats),
            prevalence: prevalence(stats),
            shifts: shifts(stats),
            fifth_hospital: fifth_hospital(stats),
        }
    }
}

/// The hospitals with the lowest and highest value of `f`.
fn extremes<T>(
    items: &[T],
    names: &[String],
    f: impl Fn(&T) -> f64,
) -> Option<(f64, String, f64, String)> {
    let mut indexed: Vec<(f64, &String)> = items.iter().map(&f).zip(names).collect();
    indexed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (lo, lo_name) = indexed.first()?;
    let (hi, hi_name) = indexed.last()?;
    Some((*lo, (*lo_name).clone(), *hi, (*hi_name).clone()))
}

fn missing_by_hospital(stats: &DataStats) -> Vec<String> {
    let mut out = Vec::new();
    for (feature, per) in &stats.missing {
        let Some((lo, lo_name, hi, hi_name)) = extremes(per, &stats.hospitals, |m| m.rate()) else {
            continue;
        };
        if hi - lo >= HOSPITAL_SPREAD {
            out.push(format!(
                "`{feature}` is missing in {} of {lo_name} rows but {} of {hi_name} rows: \
                 its missingness follows the hospital, so it is not missing at random.",
                pct(lo),
                pct(hi)
            ));
        }
    }
    if out.is_empty() {
        out.push(format!(
            "No feature's missing share differs by {} or more between hospitals.",
            pct(HOSPITAL_SPREAD)
        ));
    }
    out
}

fn missing_by_label(stats: &DataStats) -> Vec<String> {
    let mut out = Vec::new();
    for row in &stats.missing_by_label {
        let (healthy, diseased) = (row.healthy.rate(), row.diseased.rate());
        if (diseased - healthy).abs() >= LABEL_GAP {
            out.push(format!(
                "`{}` is missing for {} of patients without disease and {} of patients with it: \
                 whether it is missing carries information about the label, partly because \
                 the hospitals that skip it also differ in prevalence.",
                row.column,
                pct(healthy),
                pct(diseased)
            ));
        }
    }
    if out.is_empty() {
        out.push(format!(
            "No feature's missing share differs by {} or more between patients with and \
             without disease.",
            pct(LABEL_GAP)
        ));
    }
    out
}

fn hidden_zeros(stats: &DataStats) -> Vec<String> {
    let mut out = Vec::new();
    for (feature, per) in &stats.missing {
        for (hospital, m) in stats.hospitals.iter().zip(per) {
            if m.hidden_zeros > 0 {
                out.push(format!(
                    "`{feature}` is 0 in {} of {} {hospital} rows ({}): a value no living \
                     patient has, so it stands for \"not measured\".",
                    m.hidden_zeros,
                    m.rows,
                    pct(m.hidden_zeros as f64 / m.rows.max(1) as f64)
                ));
            }
        }
    }
    if out.is_empty() {
        out.push("No hidden zeros: no measured column holds a 0.".to_owned());
    }
    out
}

fn prevalence(stats: &DataStats) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((lo, lo_name, hi, hi_name)) =
        extremes(&stats.prevalence, &stats.hospitals, |p| p.rate())
    {
        out.push(format!(
            "Prevalence ranges from {} in {lo_name} to {} in {hi_name}: a model that learns \
             one hospital's base rate will be miscalibrated at another.",
            pct(lo),
            pct(hi)
        ));
    }
    let widest = stats
        .prevalence
        .iter()
        .map(|p| p.label_codes.len())
        .max()
        .unwrap_or(0);
    for p in &stats.prevalence {
        if p.label_codes.len() < widest && p.rows > 0 {
            out.push(format!(
                "{} writes the diagnosis `num` only as {:?}, while other hospitals grade it \
                 0 to 4: only the binary label (disease or not) means the same everywhere.",
                p.hospital, p.label_codes
            ));
        }
    }
    out
}

fn shifts(stats: &DataStats) -> Vec<String> {
    let mut out = Vec::new();
    for shift in &stats.shifts {
        for (hospital, smd) in stats.hospitals.iter().zip(&shift.smd) {
            if let Some(smd) = smd.filter(|s| s.abs() >= NOTABLE_SHIFT) {
                let side = if smd > 0.0 { "above" } else { "below" };
                out.push(format!(
                    "`{}` in {hospital} sits {:.2} standard deviations {side} the other \
                     hospitals' mean.",
                    shift.column,
                    smd.abs()
                ));
            }
        }
    }
    if out.is_empty() {
        out.push(format!(
            "No hospital's mean differs from the others' by {NOTABLE_SHIFT} standard \
             deviations or more."
        ));
    }
    out
}

fn fifth_hospital(stats: &DataStats) -> Vec<String> {
    let mut out = Vec::new();
    for (feature, per) in &stats.missing {
        let skipped: Vec<&str> = stats
            .hospitals
            .iter()
            .zip(per)
            .filter(|(_, m)| m.rows > 0 && m.rate() >= NOT_MEASURED)
            .map(|(h, _)| h.as_str())
            .collect();
        if !skipped.is_empty() {
            out.push(format!(
                "`{feature}` is, in effect, not measured in {} (missing in {} or more of rows). \
                 A model that leans on it will meet a new hospital that does the same, and \
                 imputation will stand in for most of that hospital's values.",
                skipped.join(", "),
                pct(NOT_MEASURED)
            ));
        }
    }
    out.push(
        "A new hospital's file is held to the same contract: codes, ranges and the 14 columns. \
         A different layout (a header, another column order, `;` and decimal commas) loads by \
         the documented dialect rules; anything else fails with the file, line and problem."
            .to_owned(),
    );
    out
}
