//! Records the compiler and the versions of the crates that decide the
//! model's numbers, so every run record can say what built it.

use std::process::Command;

/// The crates whose versions a run record names.
const RECORDED: [&str; 6] = [
    "polars",
    "linfa",
    "linfa-logistic",
    "ndarray",
    "serde_json",
    "rand_chacha",
];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=HEARTLAB_RUSTC_VERSION={version}");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=HEARTLAB_TARGET={target}");

    // Cargo.lock lists `name = "..."` then `version = "..."` for each package.
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut crates = Vec::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if RECORDED.contains(&n) {
                crates.push(format!("{n}={}", v.trim_matches('"')));
            }
        }
    }
    println!(
        "cargo:rustc-env=HEARTLAB_CRATE_VERSIONS={}",
        crates.join(",")
    );
}
