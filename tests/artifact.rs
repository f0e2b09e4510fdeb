//! The model artifact: it round-trips, predicts as the lab does, and refuses
//! a changed byte, another format, other feature logic or a missing field.

mod common;

use std::path::{Path, PathBuf};

use heartlab::artifact::{Artifact, ArtifactError, CodeVersion, ARTIFACT_FORMAT_VERSION};
use heartlab::flow;

fn written() -> (tempfile::TempDir, PathBuf, Artifact, flow::Outcome) {
    let params = common::lab_params();
    let outcome = flow::run(&common::real_examples(), &params, params.seed).unwrap();
    let code = CodeVersion {
        crate_version: "test".into(),
        git_commit: None,
        git_dirty: None,
    };
    let artifact = outcome.artifact(&params, code);
    let dir = tempfile::tempdir().unwrap();
    let path = artifact.write(dir.path()).unwrap();
    (dir, path, artifact, outcome)
}

/// Rewrites the artifact's JSON and its checksum, as a careless tool would.
fn rewrite(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    let text = serde_json::to_string_pretty(&value).unwrap();
    std::fs::write(path, &text).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    };
    std::fs::write(format!("{}.sha256", path.display()), sha).unwrap();
}

#[test]
fn an_artifact_reads_back_equal_and_predicts_as_the_lab_does_bit_for_bit() {
    let (_dir, path, artifact, outcome) = written();
    let back = Artifact::load(&path).unwrap();
    assert_eq!(back, artifact);
    for row in outcome.split.test.rows() {
        let (x, _) = outcome.pipeline.transform(&row.hospital, &row.features);
        let lab = outcome.trained.model.probability(&x);
        let (served, flagged) = back.predict(&row.hospital, &row.features);
        assert_eq!(served.to_bits(), lab.to_bits());
        assert_eq!(flagged, lab >= outcome.threshold.threshold);
    }
}

#[test]
fn writing_the_same_model_twice_gives_the_same_bytes() {
    let (_a, first, artifact, _) = written();
    let other = tempfile::tempdir().unwrap();
    let second = artifact.write(other.path()).unwrap();
    assert_eq!(
        std::fs::read(first).unwrap(),
        std::fs::read(second).unwrap()
    );
}

#[test]
fn one_changed_byte_is_refused_with_both_checksums() {
    let (_dir, path, _, _) = written();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let error = Artifact::load(&path).unwrap_err();
    assert!(matches!(error, ArtifactError::Checksum { .. }), "{error}");
    assert!(error.to_string().contains("checksum mismatch"), "{error}");
}

#[test]
fn another_format_or_feature_logic_is_refused_by_name() {
    let (_dir, path, _, _) = written();
    rewrite(&path, |v| {
        v["format_version"] = (ARTIFACT_FORMAT_VERSION + 1).into()
    });
    let error = Artifact::load(&path).unwrap_err().to_string();
    assert!(error.contains("artifact format"), "{error}");

    let (_dir, path, _, _) = written();
    rewrite(&path, |v| {
        v["pipeline"]["feature_logic_version"] = 999.into()
    });
    let error = Artifact::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("feature logic 999") && error.contains("retrain"),
        "{error}"
    );
}

#[test]
fn a_missing_field_or_a_missing_checksum_is_named() {
    let (_dir, path, _, _) = written();
    rewrite(&path, |v| {
        v.as_object_mut().unwrap().remove("threshold");
    });
    let error = Artifact::load(&path).unwrap_err().to_string();
    assert!(error.contains("missing field `threshold`"), "{error}");

    let (_dir, path, _, _) = written();
    std::fs::remove_file(format!("{}.sha256", path.display())).unwrap();
    let error = Artifact::load(&path).unwrap_err().to_string();
    assert!(error.contains(".sha256"), "{error}");
}

#[test]
fn the_model_card_names_the_threshold_the_hospitals_and_the_limits() {
    let params = common::lab_params();
    let (_dir, _, artifact, outcome) = written();
    let card = heartlab::model_card::render(&artifact, &outcome.evaluate_test(&params));
    for needle in [
        "## Intended use",
        "## Not for",
        "## Known limitations",
        "hospital=switzerland",
        &format!("{:.3}", artifact.threshold),
    ] {
        assert!(card.contains(needle), "{needle} missing from the card");
    }
}

#[test]
fn the_input_schema_lists_the_thirteen_inputs_with_their_rules() {
    let (_dir, _, artifact, _) = written();
    let schema = &artifact.input_schema;
    assert_eq!(schema.len(), 13);
    let cp = schema.iter().find(|f| f.name == "cp").unwrap();
    assert_eq!(cp.codes.as_deref(), Some(&[1, 2, 3, 4][..]));
    assert!(cp.seen_in_training.is_some() && cp.used);
    let chol = schema.iter().find(|f| f.name == "chol").unwrap();
    assert!(chol.min.is_some() && chol.max.is_some() && chol.codes.is_none());
}
