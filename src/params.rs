//! The lab's parameters, read from `lab/params.yaml`.
//!
//! One file holds every choice a person might want to vary (what counts as
//! missing, how each column is imputed, the split shares), so that changing
//! one is an edit to data, visible in review and, later, in DVC's graph.
//! Unknown keys are errors: a typo must not silently fall back to a default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::contract::{self, Domain, Role};

/// The default location, relative to the repository root.
pub const PARAMS_FILE: &str = "lab/params.yaml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabParams {
    /// Seeds every random choice (the split, later the bootstrap).
    pub seed: u64,
    pub clean: CleanParams,
    pub split: SplitParams,
    pub features: FeatureParams,
    pub model: ModelParams,
    pub evaluate: EvaluateParams,
    pub leakage: LeakageParams,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanParams {
    pub zeros_as_missing: Vec<String>,
    pub drop_columns: Vec<String>,
    pub max_missing_share: f64,
    pub positive_from_num: i64,
    pub drop_duplicates: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitParams {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

/// How a missing value is filled. The fill value is learned from the
/// training part only (see `features`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    Mean,
    Median,
    MostFrequent,
    Constant(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnParams {
    /// Written `impute: median`, or `impute: { constant: 0 }` for a constant.
    #[serde(with = "serde_yaml_ng::with::singleton_map")]
    pub impute: Impute,
    /// Adds a 0/1 input saying the value was missing.
    #[serde(default)]
    pub indicator: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureParams {
    pub numeric: std::collections::BTreeMap<String, ColumnParams>,
    pub categorical: std::collections::BTreeMap<String, ColumnParams>,
    pub hospital_as_feature: bool,
}

/// Which solver fits the logistic regression (both minimise the same loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// linfa-logistic's L-BFGS: the field's library, the default.
    Linfa,
    /// Newton's method, written in `model::newton`: far fewer passes over
    /// the data, for large training parts.
    Newton,
}

/// The logistic regression's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    pub solver: Solver,
    /// Weight of the L2 penalty on the coefficients (not the intercept). The
    /// loss is a sum over rows, so this is scikit-learn's `1 / C`.
    pub l2: f64,
    /// The solver (L-BFGS) stops after this many iterations...
    pub max_iterations: u64,
    /// ...or once the gradient's length falls below this.
    pub gradient_tolerance: f64,
}

/// How the model is judged and how its threshold is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateParams {
    /// What missing one patient with disease costs, in units of...
    pub cost_missed_disease: f64,
    /// ...what one false alarm (a healthy patient sent for more tests) costs.
    pub cost_false_alarm: f64,
    /// Resamples for each bootstrap confidence interval.
    pub bootstrap_resamples: usize,
    /// The confidence level of those intervals, for example 0.95.
    pub confidence: f64,
    /// Ages where one band ends and the next begins, ascending.
    pub age_bands: Vec<f64>,
    /// Equal-width probability bins of the calibration table.
    pub calibration_bins: usize,
}

/// The leakage experiments of phase 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakageParams {
    /// Each experiment runs once per seed, honest and leaky on the same split.
    pub seeds: Vec<u64>,
    /// Share of the label-derived column's values that are flipped, so the
    /// leak is strong but not perfect, as in real data.
    pub label_proxy_noise: f64,
    /// Copies of each patient made, with small noise, before the split.
    pub duplicate_copies: usize,
    /// Pure-noise columns added before feature selection...
    pub noise_columns: usize,
    /// ...and how many columns the selection keeps.
    pub selected_columns: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("failed to read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: serde_yaml_ng::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

impl LabParams {
    pub fn from_file(path: &Path) -> Result<LabParams, ParamsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ParamsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// Parses and checks parameters; `origin` names the source in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<LabParams, ParamsError> {
        let params: LabParams =
            serde_yaml_ng::from_str(text).map_err(|source| ParamsError::Parse {
                path: origin.to_owned(),
                source,
            })?;
        params.check().map_err(|problem| ParamsError::Invalid {
            path: origin.to_owned(),
            problem,
        })?;
        Ok(params)
    }

    /// Checks what the types cannot: names that exist, shares that add up.
    pub fn check(&self) -> Result<(), String> {
        let feature = |name: &str| contract::column(name).is_some_and(|c| c.role == Role::Feature);
        for name in self
            .clean
            .zeros_as_missing
            .iter()
            .chain(&self.clean.drop_columns)
        {
            if !feature(name) {
                return Err(format!(
                    "clean: {name:?} is not a feature column of the contract"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.clean.max_missing_share) {
            return Err("clean.max_missing_share must be between 0 and 1".to_owned());
        }
        if !(1..=4).contains(&self.clean.positive_from_num) {
            return Err("clean.positive_from_num must be between 1 and 4".to_owned());
        }

        let s = &self.split;
        let shares = [s.train, s.validation, s.test];
        if shares.iter().any(|v| !(*v > 0.0 && *v < 1.0))
            || (shares.iter().sum::<f64>() - 1.0).abs() > 1e-9
        {
            return Err(
                "split: train, validation and test must each be in (0, 1) and add up to 1"
                    .to_owned(),
            );
        }

        let f = &self.features;
        for (name, column) in &f.numeric {
            let spec = contract::column(name).filter(|c| c.role == Role::Feature);
            match spec.map(|c| c.domain) {
                Some(Domain::Range { .. }) => {}
                Some(Domain::Codes(_)) => {
                    return Err(format!("features.numeric: {name} is a categorical column"))
                }
                None => {
                    return Err(format!(
                        "features.numeric: {name:?} is not a feature column"
                    ))
                }
            }
            if column.impute == Impute::MostFrequent {
                return Err(format!(
                    "features.numeric.{name}: most_frequent is for categories"
                ));
            }
        }
        for (name, column) in &f.categorical {
            let spec = contract::column(name).filter(|c| c.role == Role::Feature);
            match spec.map(|c| c.domain) {
                Some(Domain::Codes(_)) => {}
                Some(Domain::Range { .. }) => {
                    return Err(format!("features.categorical: {name} is a measurement"))
                }
                None => {
                    return Err(format!(
                        "features.categorical: {name:?} is not a feature column"
                    ))
                }
            }
            if matches!(column.impute, Impute::Mean | Impute::Median) {
                return Err(format!(
                    "features.categorical.{name}: a category has no mean or median"
                ));
            }
        }
        for name in &self.clean.drop_columns {
            if f.numeric.contains_key(name) || f.categorical.contains_key(name) {
                return Err(format!(
                    "{name} is dropped by clean.drop_columns but listed under features"
                ));
            }
        }
        self.check_model_and_evaluation()
    }

    fn check_model_and_evaluation(&self) -> Result<(), String> {
        let m = &self.model;
        if !(m.l2.is_finite() && m.l2 >= 0.0) {
            return Err("model.l2 must be a finite number, 0 or more".to_owned());
        }
        if m.max_iterations == 0 {
            return Err("model.max_iterations must be at least 1".to_owned());
        }
        if !(m.gradient_tolerance.is_finite() && m.gradient_tolerance > 0.0) {
            return Err("model.gradient_tolerance must be above 0".to_owned());
        }

        let e = &self.evaluate;
        for (name, cost) in [
            ("cost_missed_disease", e.cost_missed_disease),
            ("cost_false_alarm", e.cost_false_alarm),
        ] {
            if !(cost.is_finite() && cost > 0.0) {
                return Err(format!("evaluate.{name} must be above 0"));
            }
        }
        if e.bootstrap_resamples < 10 {
            return Err("evaluate.bootstrap_resamples must be at least 10".to_owned());
        }
        if !(e.confidence > 0.5 && e.confidence < 1.0) {
            return Err("evaluate.confidence must be between 0.5 and 1".to_owned());
        }
        if e.age_bands.windows(2).any(|w| w[0] >= w[1]) {
            return Err("evaluate.age_bands must be strictly ascending".to_owned());
        }
        if e.calibration_bins < 2 {
            return Err("evaluate.calibration_bins must be at least 2".to_owned());
        }

        let l = &self.leakage;
        if l.seeds.len() < 2 {
            return Err("leakage.seeds needs at least two seeds to show a spread".to_owned());
        }
        if !(0.0..0.5).contains(&l.label_proxy_noise) {
            return Err("leakage.label_proxy_noise must be in [0, 0.5)".to_owned());
        }
        if l.selected_columns == 0 || l.selected_columns > l.noise_columns {
            return Err(
                "leakage.selected_columns must be between 1 and leakage.noise_columns".to_owned(),
            );
        }
        Ok(())
    }
}

/// The decision that explains each section of the parameter file.
const DECISIONS: [(&str, &str); 7] = [
    ("seed", "D-012"),
    ("clean", "D-011"),
    ("split", "D-012"),
    ("features", "D-013"),
    ("model", "D-014"),
    ("evaluate", "D-016"),
    ("leakage", "D-017"),
];

impl LabParams {
    /// The decision log's generated part: every parameter's current value,
    /// with the decision that explains it, so the log never quotes a stale
    /// value by hand.
    pub fn to_markdown(&self) -> String {
        let mut rows = Vec::new();
        let value = serde_json::to_value(self).unwrap_or_default();
        flatten("", &value, &mut rows);
        let mut md = String::from("| parameter | current value | explained in |\n|---|---|---|\n");
        for (key, value) in rows {
            let section = key.split('.').next().unwrap_or_default();
            let decision = DECISIONS
                .iter()
                .find(|(s, _)| *s == section)
                .map_or("", |(_, d)| d);
            md.push_str(&format!("| `{key}` | `{value}` | {decision} |\n"));
        }
        md
    }
}

/// Dotted keys and their values, one row per leaf (a list is one value).
fn flatten(prefix: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                let is_impute = key == "impute";
                if is_impute || !item.is_object() {
                    rows.push((path, item.to_string().replace('"', "")));
                } else {
                    flatten(&path, item, rows);
                }
            }
        }
        other => rows.push((prefix.to_owned(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_file() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/lab/params.yaml")).unwrap()
    }

    #[test]
    fn the_lab_parameter_file_parses_and_passes_its_checks() {
        LabParams::from_yaml(&lab_file(), "lab/params.yaml").unwrap();
    }

    #[test]
    fn a_misspelt_key_is_an_error_not_a_default() {
        let text = lab_file().replace("drop_duplicates", "drop_duplicate");
        let error = LabParams::from_yaml(&text, "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("drop_duplicate"), "{error}");
    }

    #[test]
    fn shares_that_do_not_add_up_are_refused() {
        let text = lab_file().replace("test: 0.2", "test: 0.3");
        let error = LabParams::from_yaml(&text, "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("add up to 1"), "{error}");
    }

    #[test]
    fn a_mean_for_a_category_is_refused() {
        let text = lab_file().replace("cp: { impute: most_frequent }", "cp: { impute: mean }");
        let error = LabParams::from_yaml(&text, "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("features.categorical.cp"), "{error}");
    }
}
