//! The DVC pipeline, run for real with `dvc` in a temporary clone of this
//! repository: it reproduces from nothing, does nothing the second time,
//! re-runs exactly what lies downstream of a changed cleaning parameter,
//! rolls data and model back with the code, and round-trips through the
//! local remote.
//!
//! The clone holds the committed state (HEAD), as CI's checkout does. The
//! stages run the `heartlab` binary this test was built with.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Clone {
    _dir: tempfile::TempDir,
    path: PathBuf,
    dvc: PathBuf,
}

impl Clone {
    fn new() -> Clone {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heartlab");
        common::run_ok(
            Command::new("git")
                .args(["clone", "--quiet"])
                .arg(common::root())
                .arg(&path),
        );
        Clone {
            _dir: dir,
            path,
            dvc: common::python_tool("dvc"),
        }
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.path)
            .env("HEARTLAB_BIN", env!("CARGO_BIN_EXE_heartlab"))
            .env(heartlab::data::fetch::MIRROR_VAR, common::real_data_dir())
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("HEARTLAB_RUNS_DIR")
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.invalid");
        command
    }

    fn dvc(&self, args: &[&str]) -> String {
        common::run_ok(&mut self.command(&self.dvc, args))
    }

    fn git(&self, args: &[&str]) -> String {
        common::run_ok(&mut self.command(Path::new("git"), args))
    }

    fn artifact(&self) -> Vec<u8> {
        std::fs::read(self.path.join("lab/out/model/artifact.json")).unwrap()
    }

    fn edit_params(&self, from: &str, to: &str) {
        let path = self.path.join("lab/params.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "lab/params.yaml has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
}

/// The stages a `dvc repro` ran, from its output.
fn ran(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("Running stage '"))
        .filter_map(|l| l.split('\'').next())
        .map(str::to_owned)
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_pipeline_reproduces_reruns_only_downstream_and_rolls_back_byte_for_byte() {
    let clone = Clone::new();
    let every_stage = set(&[
        "fetch",
        "validate",
        "report",
        "clean",
        "split",
        "train",
        "evaluate",
        "package",
        "export",
        "cleaning-report",
        "leakage",
        "seeds",
    ]);

    // From nothing, every stage runs.
    let first = clone.dvc(&["repro"]);
    assert_eq!(ran(&first), every_stage, "{first}");
    let v1 = clone.artifact();

    // The second time, nothing does.
    let again = clone.dvc(&["repro"]);
    assert!(ran(&again).is_empty(), "{again}");
    assert!(
        again.contains("Data and pipelines are up to date"),
        "{again}"
    );
    clone.git(&["add", "dvc.lock"]);
    clone.git(&["commit", "--quiet", "--allow-empty", "-m", "v1"]);

    // Training is deterministic: retraining makes the same fit.json, so DVC
    // finds evaluate and package up to date.
    clone.dvc(&["repro", "--force", "--single-item", "train"]);
    let after_retrain = clone.dvc(&["repro", "package"]);
    assert!(ran(&after_retrain).is_empty(), "{after_retrain}");
    assert_eq!(clone.artifact(), v1);

    // One cleaning parameter: what reads the cleaned data re-runs; fetching,
    // validating and the data report do not.
    clone.edit_params("  max_missing_share: 0.5", "  max_missing_share: 0.3");
    let changed = clone.dvc(&["repro"]);
    let downstream = set(&[
        "clean",
        "split",
        "train",
        "evaluate",
        "package",
        "export",
        "cleaning-report",
        "leakage",
        "seeds",
    ]);
    assert_eq!(ran(&changed), downstream, "{changed}");
    let v2 = clone.artifact();
    assert_ne!(
        v1, v2,
        "dropping more incomplete rows must change the model"
    );
    clone.git(&["commit", "--quiet", "-am", "v2: drop rows missing over 30%"]);

    // Roll back code, parameters and lock together, then the data and
    // outputs with them: the old artifact comes back byte for byte.
    clone.git(&["checkout", "--quiet", "HEAD~1"]);
    clone.dvc(&["checkout"]);
    assert_eq!(clone.artifact(), v1);
    let status = clone.dvc(&["status"]);
    assert!(
        status.contains("Data and pipelines are up to date"),
        "{status}"
    );

    // And forward again.
    clone.git(&["checkout", "--quiet", "-"]);
    clone.dvc(&["checkout"]);
    assert_eq!(clone.artifact(), v2);

    // Through the remote: push, lose the cache and the outputs, pull.
    let remote = tempfile::tempdir().unwrap();
    let url = remote.path().to_str().unwrap();
    clone.dvc(&["remote", "modify", "--local", "lab", "url", url]);
    clone.dvc(&["push"]);
    std::fs::remove_dir_all(clone.path.join(".dvc/cache")).unwrap();
    std::fs::remove_dir_all(clone.path.join("lab/out")).unwrap();
    clone.dvc(&["pull"]);
    assert_eq!(clone.artifact(), v2);
}
