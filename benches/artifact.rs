//! Loading and verifying the model artifact (checksum, versions, shape).
//! Target: under 10 ms. Run `make train` first, then `make bench`.

use criterion::{criterion_group, criterion_main, Criterion};
use heartlab::artifact::{Artifact, ARTIFACT_FILE};

fn artifact(c: &mut Criterion) {
    let path = std::path::Path::new(heartlab::paths::MODEL_DIR).join(ARTIFACT_FILE);
    Artifact::load(&path).expect("run `make train` first");
    c.bench_function("load and verify the model artifact", |b| {
        b.iter(|| Artifact::load(&path).unwrap())
    });
}

criterion_group!(benches, artifact);
criterion_main!(benches);
