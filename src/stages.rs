//! The files the DVC stages hand to each other, and nothing else.
//!
//! Each stage of `dvc.yaml` reads the files of the stages before it and
//! writes its own, so DVC can tell from their hashes what must run again.
//! The split's parts keep their types across the files: a part is read back
//! by its marker type, which names the file, so a stage cannot read the test
//! file as its training part.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use crate::example::Example;
use crate::split::{Part, Split, Test, Train, Validation};

#[derive(Debug, thiserror::Error)]
pub enum StageFileError {
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
}

/// A part of the split and the file that holds it.
pub trait PartFile {
    const FILE: &'static str;
}

impl PartFile for Train {
    const FILE: &'static str = "train.jsonl";
}

impl PartFile for Validation {
    const FILE: &'static str = "validation.jsonl";
}

impl PartFile for Test {
    const FILE: &'static str = "test.jsonl";
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> StageFileError + '_ {
    move |source| StageFileError::Write {
        path: path.to_owned(),
        source,
    }
}

/// Writes items as JSON lines, one per item.
pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), StageFileError> {
    let file = std::fs::File::create(path).map_err(write_error(path))?;
    let mut out = std::io::BufWriter::new(file);
    for item in items {
        serde_json::to_writer(&mut out, item)
            .map_err(std::io::Error::from)
            .map_err(write_error(path))?;
        out.write_all(b"\n").map_err(write_error(path))?;
    }
    out.flush().map_err(write_error(path))
}

/// Reads JSON lines written by [`write_jsonl`]; a bad line is named.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, StageFileError> {
    let read_error = |source| StageFileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut items = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(&line).map_err(|source| StageFileError::Parse {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Writes a value as pretty JSON with a final newline, the same bytes for
/// the same value.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StageFileError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(std::io::Error::from)
        .map_err(write_error(path))?;
    text.push('\n');
    std::fs::write(path, text).map_err(write_error(path))
}

/// Reads a value written by [`write_json`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, StageFileError> {
    let bytes = std::fs::read(path).map_err(|source| StageFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| StageFileError::Parse {
        path: path.to_owned(),
        line: source.line(),
        source,
    })
}

/// Writes the three parts into `dir`, one file each.
pub fn write_split(dir: &Path, split: &Split) -> Result<(), StageFileError> {
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    write_jsonl(&dir.join(Train::FILE), split.train.rows())?;
    write_jsonl(&dir.join(Validation::FILE), split.validation.rows())?;
    write_jsonl(&dir.join(Test::FILE), split.test.rows())
}

/// Reads one part back from `dir`; the type chooses the file.
pub fn read_part<K: PartFile>(dir: &Path) -> Result<Part<K>, StageFileError> {
    let rows: Vec<Example> = read_jsonl(&dir.join(K::FILE))?;
    Ok(Part::new(rows))
}
