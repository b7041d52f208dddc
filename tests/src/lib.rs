//! Shared test data access for tamis's end-to-end tests and evaluations.
//!
//! The real corpora live in `shared/data/` beside the repository (see its MANIFEST.md); the variable
//! `TAMIS_SHARED_DATA` points elsewhere when needed.

#![forbid(unsafe_code)]

pub mod dedup_eval;
pub mod edge;
pub mod eval;
pub mod fasttext_ref;
pub mod langid_eval;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub mod pii_eval;

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

/// The directory cargo builds into: `CARGO_TARGET_DIR` when set, else `target/` of the repository.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        None => repo_root().join("target"),
    }
}

/// The release build of the bulk host, `tamis`. The host tests drive the real binary rather than building
/// it themselves (a wasmtime build takes minutes), so it must be built first; the error says how.
pub fn tamis_binary() -> Result<PathBuf> {
    if let Some(path) = BINARY.get() {
        return Ok(path.clone());
    }
    let name = if cfg!(windows) { "tamis.exe" } else { "tamis" };
    let path = target_dir().join("release").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        anyhow::bail!(
            "{} not found: build it first with `cargo build -p tamis-host --release`",
            path.display()
        )
    }
}

/// The binary [`tamis_binary`] gives once [`use_binary`] has named one.
static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes every helper here run `path`: the host's own tests pass `env!("CARGO_BIN_EXE_tamis")`, the
/// binary cargo built for them, rather than the one in the target directory. The first call wins.
pub fn use_binary(path: &str) {
    BINARY.get_or_init(|| PathBuf::from(path));
}

/// The core compiled as a WebAssembly component, as the bulk host loads it.
pub fn tamis_component() -> Result<PathBuf> {
    let path = target_dir()
        .join("wasm32-wasip2")
        .join("release")
        .join("tamis_component.wasm");
    if path.is_file() {
        Ok(path)
    } else {
        anyhow::bail!(
            "{} not found: build it first with `cargo build -p tamis-component --target wasm32-wasip2 --release`",
            path.display()
        )
    }
}

/// Runs `tamis` with `args`, with the component found by [`tamis_component`], and returns what it did.
pub fn tamis(args: &[&std::ffi::OsStr]) -> Result<std::process::Output> {
    let output = tamis_command()?
        .args(args)
        .output()
        .context("starting tamis")?;
    Ok(output)
}

/// A `tamis` command ready for arguments, pointed at the built component and at a cache of compiled
/// components inside the target directory (so tests never write to the user's home).
pub fn tamis_command() -> Result<std::process::Command> {
    let mut command = std::process::Command::new(tamis_binary()?);
    command
        .env("TAMIS_COMPONENT", tamis_component()?)
        .env("TAMIS_CACHE_DIR", target_dir().join("tamis-test-cache"));
    Ok(command)
}

/// `tamis COMMAND CONFIG --input INPUT --output OUTPUT EXTRA...`, the shape of every job command (`run`,
/// `dedup`, `decontaminate`), as it finished.
pub fn tamis_job(
    command: &str,
    config: &Path,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> Result<std::process::Output> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        command.as_ref(),
        config.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    tamis(&args)
}

/// [`tamis_job`] that must succeed; returns what it printed on stderr.
pub fn tamis_job_ok(
    command: &str,
    config: &Path,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> Result<String> {
    let out = tamis_job(command, config, input, output, extra)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "tamis {command} {extra:?} failed: {stderr}"
    );
    Ok(stderr)
}

/// Every data file a run wrote, by path relative to `dir`, with its bytes. Left out: `stats.json` (it holds
/// timings), `lineage.json` (a record of the run, not data; host/tests/all/lineage.rs checks it) and the
/// resume bookkeeping under `.tamis/`.
pub fn output_files(dir: &Path) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
    fn walk(
        root: &Path,
        dir: &Path,
        out: &mut std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            let relative = path
                .strip_prefix(root)?
                .to_string_lossy()
                .replace('\\', "/");
            if relative == ".tamis"
                || relative == ".work"
                || relative == "stats.json"
                || relative == "lineage.json"
            {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                out.insert(relative, std::fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// The counts of a run's `stats.json` that must not depend on timing, workers or engine.
pub fn stats_counts(dir: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("stats.json")).context("reading stats.json")?;
    let stats: serde_json::Value = serde_json::from_str(&text)?;
    let steps: Vec<serde_json::Value> = stats["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| serde_json::json!({"step": s["step"], "docs_in": s["docs_in"], "dropped": s["dropped"], "reasons": s["reasons"]}))
                .collect()
        })
        .unwrap_or_default();
    Ok(serde_json::json!({
        "docs_in": stats["docs_in"],
        "kept": stats["kept"],
        "dropped": stats["dropped"],
        "errors": stats["errors"],
        "bytes_in": stats["bytes_in"],
        "errors_by_kind": stats["errors_by_kind"],
        "steps": steps,
    }))
}
