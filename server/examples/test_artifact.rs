//! Writes the tests' synthetic model artifact into a folder, for running
//! the server by hand before `make train` has made the real one:
//! `cargo run -p heartlab-server --example test_artifact -- /tmp/model`.

#[path = "../tests/common/artifact.rs"]
#[allow(dead_code)]
mod artifact;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/test-model".to_owned());
    std::fs::create_dir_all(&dir).expect("the folder should be creatable");
    let path = artifact::write(std::path::Path::new(&dir));
    println!("{}", path.display());
}
