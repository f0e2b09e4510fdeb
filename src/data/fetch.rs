//! Fetching the raw files, each verified against a SHA-256 pinned in code.
//!
//! Two sources: the UCI repository over HTTPS, or a mirror folder named by
//! `HEARTLAB_DATA_MIRROR` for machines without network (CI is one). Either
//! way a file reaches `data/raw/` only after its hash matched: bytes are
//! checked in memory, written to a temporary file in the same folder and
//! renamed into place, so a failed or interrupted fetch leaves no bad file.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::hospital::Hospital;

/// The environment variable naming a folder that holds the published files.
pub const MIRROR_VAR: &str = "HEARTLAB_DATA_MIRROR";

/// The folder of the UCI repository that serves the processed files.
pub const UCI_BASE_URL: &str =
    "https://archive.ics.uci.edu/ml/machine-learning-databases/heart-disease";

/// Where the bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder holding the files under their published names.
    Mirror(PathBuf),
    /// A base URL; each file is `{base}/{file name}`.
    Url(String),
}

impl Source {
    /// The mirror when `HEARTLAB_DATA_MIRROR` is set, the UCI site otherwise.
    pub fn from_env() -> Source {
        match std::env::var_os(MIRROR_VAR) {
            Some(dir) if !dir.is_empty() => Source::Mirror(PathBuf::from(dir)),
            _ => Source::Url(UCI_BASE_URL.to_owned()),
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A verified copy was already there; nothing was read from the source.
    AlreadyPresent,
    /// The file was missing and is now there, verified.
    Fetched,
    /// A file was there but its hash was wrong; it was removed and replaced.
    Replaced,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "{file}: checksum mismatch from {source_desc}: expected sha256 {expected}, got {actual}; \
         nothing was written"
    )]
    ChecksumMismatch {
        file: String,
        source_desc: String,
        expected: String,
        actual: String,
    },
    #[error("{file}: failed to read from {source_desc}: {reason}")]
    Read {
        file: String,
        source_desc: String,
        reason: String,
    },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Hashes bytes as lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Makes sure `dest` holds all four verified files.
///
/// Returns one outcome per hospital, in [`Hospital::ALL`] order. Stops at the
/// first file that cannot be fetched and verified.
pub fn fetch_all(dest: &Path, source: &Source) -> Result<Vec<(Hospital, Outcome)>, FetchError> {
    fs::create_dir_all(dest).map_err(|source| FetchError::Write {
        path: dest.to_owned(),
        source,
    })?;
    Hospital::ALL
        .iter()
        .map(|&h| fetch_one(dest, source, h.file_name(), h.sha256()).map(|o| (h, o)))
        .collect()
}

/// Fetches one file into `dest` unless a copy with the expected hash is there.
pub fn fetch_one(
    dest: &Path,
    source: &Source,
    file: &str,
    expected_sha256: &str,
) -> Result<Outcome, FetchError> {
    let target = dest.join(file);

    let mut replaced = false;
    if let Ok(present) = fs::read(&target) {
        if sha256_hex(&present) == expected_sha256 {
            tracing::debug!(file, "already present and verified");
            return Ok(Outcome::AlreadyPresent);
        }
        tracing::warn!(file, "present but its checksum is wrong: removing it");
        fs::remove_file(&target).map_err(|source| FetchError::Write {
            path: target.clone(),
            source,
        })?;
        replaced = true;
    }

    let bytes = read_from(source, file)?;
    let actual = sha256_hex(&bytes);
    if actual != expected_sha256 {
        return Err(FetchError::ChecksumMismatch {
            file: file.to_owned(),
            source_desc: describe(source),
            expected: expected_sha256.to_owned(),
            actual,
        });
    }

    write_atomically(dest, &target, &bytes)?;
    tracing::info!(file, bytes = bytes.len(), "fetched and verified");
    Ok(if replaced {
        Outcome::Replaced
    } else {
        Outcome::Fetched
    })
}

fn describe(source: &Source) -> String {
    match source {
        Source::Mirror(dir) => format!("mirror {}", dir.display()),
        Source::Url(base) => base.clone(),
    }
}

fn read_from(source: &Source, file: &str) -> Result<Vec<u8>, FetchError> {
    let fail = |reason: String| FetchError::Read {
        file: file.to_owned(),
        source_desc: describe(source),
        reason,
    };
    match source {
        Source::Mirror(dir) => fs::read(dir.join(file)).map_err(|e| fail(e.to_string())),
        Source::Url(base) => {
            download(&format!("{}/{file}", base.trim_end_matches('/'))).map_err(fail)
        }
    }
}

/// The three files are small (under 20 KB); a cap keeps a misbehaving
/// server from filling memory.
const MAX_DOWNLOAD_BYTES: u64 = 10 * 1024 * 1024;

fn download(url: &str) -> Result<Vec<u8>, String> {
    let mut response = ureq::get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_DOWNLOAD_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn write_atomically(dir: &Path, target: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let fail = |source| FetchError::Write {
        path: target.to_owned(),
        source,
    };
    let mut tmp = tempfile_in(dir).map_err(fail)?;
    tmp.1
        .write_all(bytes)
        .and_then(|()| tmp.1.sync_all())
        .map_err(fail)?;
    fs::rename(&tmp.0, target).map_err(|e| {
        let _ = fs::remove_file(&tmp.0);
        fail(e)
    })
}

/// A uniquely named file next to the target, so the final rename stays on
/// one file system and is atomic.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let path = dir.join(format!(".fetch-{pid}-{attempt}.partial"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("could not create a temporary file"))
}
