//! Helpers for the tests of `deploy/`: render the kustomize overlays, read a
//! container's settings out of a rendered Deployment, build and run the
//! image with those settings, probe it as the kubelet would, and make model
//! artifacts to bake into it.
//!
//! Every missing tool (kubectl, Docker, kubernetes-validate) makes the test
//! that needs it fail with the command that installs it: a test that cannot
//! run must not pass.

pub mod artifacts;
pub mod docker;
pub mod kubelet;
pub mod manifests;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (this crate lives in `deploy/tests`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// Finds a program in the lab's venv (under `HEARTLAB_CACHE`, as `make
/// setup` fills it) or on PATH, or fails the test with how to install it.
pub fn require_program(name: &str, install: &str) -> PathBuf {
    let cache = std::env::var_os("HEARTLAB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/heartlab")));
    let venv = cache.map(|c| c.join("venv/bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    venv.into_iter()
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not in the lab's venv or on PATH, and this test needs it: {install}"
            )
        })
}

/// Runs a command to completion; fails the test, with its output, unless it
/// succeeded.
pub fn run_ok(command: &mut Command) -> Output {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("failed to start {shown}: {e}"));
    assert!(
        output.status.success(),
        "{shown} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Where the image tests leave their measurements, one Markdown table row
/// per file, for the phase 8 chapter to include: the book then shows the
/// figures of the last test run instead of numbers typed once and left to go
/// stale.
pub fn record_figure(name: &str, row: &str) {
    let dir = root().join("lab/reports/deploy");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{name}.md")), format!("{row}\n")));
    if let Err(error) = written {
        panic!(
            "failed to write the figure {name} into {}: {error}",
            dir.display()
        );
    }
}
