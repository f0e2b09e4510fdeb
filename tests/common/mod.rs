//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use heartlab::data::contract::COLUMNS;
use heartlab::data::fetch::MIRROR_VAR;
use proptest::prelude::*;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    root().join("fixtures").join(path)
}

/// The published files: the mirror named by `HEARTLAB_DATA_MIRROR` (CI sets
/// it), or else the verified copies `make data` put in `data/raw/`. A test
/// that needs the real data fails, rather than skips, when neither is there.
pub fn real_data_dir() -> PathBuf {
    let dir = std::env::var_os(MIRROR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(heartlab::paths::RAW_DIR));
    assert!(
        dir.join("processed.cleveland.data").is_file(),
        "the real data is not in {}: run `make data`, or set {MIRROR_VAR} to a folder \
         holding the four processed.*.data files",
        dir.display()
    );
    dir
}

/// The four hospital fixtures, named as the lab names the hospitals.
pub fn hospital_fixtures() -> Vec<(&'static str, PathBuf)> {
    use heartlab::data::hospital::Hospital;
    Hospital::ALL
        .iter()
        .map(|h| (h.name(), fixture(&format!("hospitals/{}", h.file_name()))))
        .collect()
}

pub fn load_hospital_fixtures() -> heartlab::data::load::LoadedData {
    let files = hospital_fixtures();
    let refs: Vec<(&str, &Path)> = files.iter().map(|(s, p)| (*s, p.as_path())).collect();
    heartlab::data::load::load_files(&refs).expect("the hospital fixtures load")
}

/// The lab's parameters, as the CLI reads them.
pub fn lab_params() -> heartlab::params::LabParams {
    heartlab::params::LabParams::from_file(&root().join(heartlab::params::PARAMS_FILE))
        .expect("lab/params.yaml is valid")
}

/// The real data, loaded and cleaned with the lab's parameters.
pub fn cleaned_real_data() -> heartlab::clean::Cleaned {
    let data = heartlab::data::load::load_hospitals(&real_data_dir()).unwrap();
    heartlab::clean::clean(&data.frame, &lab_params().clean).unwrap()
}

/// The cleaned real data as examples.
pub fn real_examples() -> Vec<heartlab::example::Example> {
    cleaned_real_data()
        .examples()
        .expect("cleaned frame converts to examples")
}

/// A valid raw row: each column gets a value its contract allows, or "?"
/// (except the label, which must be present).
pub fn valid_row() -> impl Strategy<Value = Vec<String>> {
    let fields: Vec<BoxedStrategy<String>> = COLUMNS
        .iter()
        .map(|spec| {
            let value: BoxedStrategy<String> = match spec.domain {
                heartlab::data::contract::Domain::Codes(codes) => {
                    proptest::sample::select(codes.to_vec())
                        .prop_map(|c| c.to_string())
                        .boxed()
                }
                heartlab::data::contract::Domain::Range { min, max } => match spec.kind {
                    heartlab::data::contract::Kind::Integer => (min as i64..=max as i64)
                        .prop_map(|v| v.to_string())
                        .boxed(),
                    heartlab::data::contract::Kind::Real => (-50i64..=100)
                        .prop_map(|v| format!("{:.1}", v as f64 / 10.0))
                        .boxed(),
                },
            };
            if spec.role == heartlab::data::contract::Role::Label {
                value
            } else {
                prop_oneof![4 => value, 1 => Just("?".to_owned())].boxed()
            }
        })
        .collect();
    fields
}

/// A Python tool `make setup` installs (dvc, mlflow): from the lab's venv
/// under `HEARTLAB_CACHE` (CI and the Makefile set it), the default cache
/// folder, or the PATH. A test that needs one fails, rather than skips,
/// when it is not installed.
pub fn python_tool(name: &str) -> PathBuf {
    let cache = std::env::var_os("HEARTLAB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/heartlab")));
    let in_venv = cache.map(|c| c.join("venv/bin").join(name));
    if let Some(path) = in_venv.filter(|p| p.is_file()) {
        return path;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!("`{name}` is not installed: run `make setup` (it installs {name} into the venv)")
    })
}

/// Runs a command to completion; panics with its output when it fails.
pub fn run_ok(command: &mut std::process::Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("failed to start {command:?}: {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}
