//! Shared test data access for tamis's end-to-end tests and evaluations.
//!
//! The real corpora live in `shared/data/` beside the repository (see its MANIFEST.md); the variable
//! `TAMIS_SHARED_DATA` points elsewhere when needed.

pub mod edge;
pub mod eval;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The directory holding the shared corpora.
pub fn shared_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TAMIS_SHARED_DATA") {
        return PathBuf::from(dir);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository");
    repo.join("..").join("shared").join("data")
}

/// Path of a file under the shared data directory.
pub fn shared_data(relative: &str) -> PathBuf {
    shared_data_dir().join(relative)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// Reads a JSONL or JSONL.gz file into JSON values, one per line. Lines are split on `\n` only, because
/// some texts contain U+2028/U+2029, which JSON allows unescaped.
pub fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
        let line = line.with_context(|| format!("{}: reading line {}", path.display(), i + 1))?;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let value = serde_json::from_slice(&line)
            .with_context(|| format!("{}: line {} is not JSON", path.display(), i + 1))?;
        out.push(value);
    }
    Ok(out)
}

/// The web development set as documents.
pub fn web_documents() -> Result<Vec<tamis_core::Document>> {
    read_jsonl(&shared_data("web/dev.jsonl.gz"))?
        .into_iter()
        .map(|v| {
            Ok(tamis_core::Document {
                id: v["id"].as_str().context("record without id")?.to_string(),
                text: Some(v["text"].as_str().unwrap_or_default().to_string()),
                html: None,
                url: v["url"].as_str().map(str::to_string),
                metadata: None,
            })
        })
        .collect()
}
