//! Lineage: every job writes `lineage.json` beside its output, saying what made it (tamis version, core
//! component, the command, the normalized config) from what (every input file, with its size and
//! SHA-256), and which earlier run made those inputs. `tamis lineage DIR` follows that chain back to the
//! raw data (RAW -> CLEANED -> DEDUP -> ...) and checks every input against what was recorded.
//!
//! **Parents.** A run's parent is the directory of another run: the nearest folder above one of its
//! input files that holds a `lineage.json`. Paths are stored relative to the run's own directory, so a
//! whole tree of runs can be moved or copied and still be followed.
//!
//! **Normalized config.** The config as tamis understood it: every default filled in (what `tamis
//! check` prints), written as JSON with its keys sorted, and hashed (SHA-256 of the compact form), so two
//! runs with the same effective settings have the same hash whatever the file's syntax, order or
//! comments.
//!
//! The file is written once the output is complete, and holds no time stamp: the same job on the same
//! inputs writes the same bytes.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tamis_core::Config;

use crate::output::write_atomically;

/// The name of the file in every run's output directory.
pub const FILE_NAME: &str = "lineage.json";

/// What `lineage.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    pub tamis_version: String,
    /// SHA-256 of the core component the host carries (or that `TAMIS_COMPONENT` / `--component` named).
    pub component_sha256: String,
    /// The subcommand: `sample`, `run`, `dedup`, `decontaminate`, `format`, ...
    pub command: String,
    /// SHA-256 of the compact form of `config`.
    pub config_sha256: String,
    /// The normalized config: every default filled in, keys sorted.
    pub config: Value,
    /// Every file the command read, in the order given.
    pub inputs: Vec<InputFile>,
    /// The directories of the runs that made some of the inputs, relative to this run's directory.
    pub parents: Vec<String>,
}

/// One input file as it was when the command ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Relative to the run's directory when both are on the same tree, else absolute.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The run that made this file, relative to this run's directory; absent for raw data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Writes `out_dir/lineage.json` for a command that ran `config` over `inputs`; the component is the one
/// the host runs by default (the embedded one, or `TAMIS_COMPONENT`). Call it once the output is complete.
pub fn write(out_dir: &Path, command: &str, config: &Config, inputs: &[PathBuf]) -> Result<()> {
    write_with_component(out_dir, command, config, inputs, None)
}

/// [`write()`] for a command given `--component PATH`.
pub fn write_with_component(
    out_dir: &Path,
    command: &str,
    config: &Config,
    inputs: &[PathBuf],
    component: Option<&Path>,
) -> Result<()> {
    let lineage = describe(out_dir, command, config, inputs, component)?;
    let mut text = serde_json::to_string_pretty(&lineage)?;
    text.push('\n');
    write_atomically(&out_dir.join(FILE_NAME), text.as_bytes())
}

fn describe(
    out_dir: &Path,
    command: &str,
    config: &Config,
    inputs: &[PathBuf],
    component: Option<&Path>,
) -> Result<Lineage> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let out_dir = out_dir
        .canonicalize()
        .with_context(|| format!("resolving {}", out_dir.display()))?;
    let config = canonical(serde_json::to_value(config)?);
    let config_sha256 = hex(&Sha256::digest(serde_json::to_string(&config)?.as_bytes()));
    let mut parents = BTreeSet::new();
    let mut files = Vec::with_capacity(inputs.len());
    let mut seen = BTreeSet::new();
    for input in inputs {
        if let Some(remote) = crate::remote::origin_of(input) {
            // Recorded by its URL, size and the store's e-tag: this task may never have fetched it.
            files.push(InputFile {
                path: remote.url(),
                size: remote.object.size,
                sha256: format!("etag:{}", remote.object.e_tag),
                parent: None,
            });
            continue;
        }
        let path = input
            .canonicalize()
            .with_context(|| format!("resolving input {}", input.display()))?;
        if !seen.insert(path.clone()) {
            continue;
        }
        let (size, sha256) = checksum(&path)?;
        let parent = parent_run(&path, &out_dir).map(|dir| relative(&dir, &out_dir));
        if let Some(parent) = &parent {
            parents.insert(parent.clone());
        }
        files.push(InputFile {
            path: relative(&path, &out_dir),
            size,
            sha256,
            parent,
        });
    }
    Ok(Lineage {
        tamis_version: env!("CARGO_PKG_VERSION").to_string(),
        component_sha256: crate::engine::component_sha256(component)?,
        command: command.to_string(),
        config_sha256,
        config,
        inputs: files,
        parents: parents.into_iter().collect(),
    })
}

/// The value with every object's keys sorted, so its text depends only on its content.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Size and SHA-256 of a file, read in 1 MiB pieces.
pub fn checksum(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The nearest folder above `file` that holds a `lineage.json` of another run than `own`.
fn parent_run(file: &Path, own: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|dir| *dir != own && dir.join(FILE_NAME).is_file())
        .map(Path::to_path_buf)
}

/// `path` relative to the folder `base` (both absolute and resolved), with `..` where needed.
fn relative(path: &Path, base: &Path) -> String {
    let path_parts: Vec<Component> = path.components().collect();
    let base_parts: Vec<Component> = base.components().collect();
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    // Only the root in common: an absolute path says more than a run of `..`.
    if common <= 1 {
        return path.display().to_string();
    }
    let mut out = PathBuf::new();
    for _ in common..base_parts.len() {
        out.push("..");
    }
    for part in &path_parts[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        ".".into()
    } else {
        out.display().to_string()
    }
}

/// Reads a run's `lineage.json`.
pub fn read(dir: &Path) -> Result<Lineage> {
    let path = dir.join(FILE_NAME);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} has no {FILE_NAME}: it is not the output directory of a tamis job (or the job has not finished)",
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a lineage file", path.display()))
}

/// How an input file compares with what its run recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputState {
    Unchanged,
    Gone,
    SizeChanged { was: u64, now: u64 },
    ContentChanged,
}

/// Compares one recorded input with the file as it is now.
pub fn check_input(run_dir: &Path, input: &InputFile) -> Result<InputState> {
    let path = run_dir.join(&input.path);
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(InputState::Gone);
    };
    if !meta.is_file() {
        return Ok(InputState::Gone);
    }
    if meta.len() != input.size {
        return Ok(InputState::SizeChanged {
            was: input.size,
            now: meta.len(),
        });
    }
    let (_, sha256) = checksum(&path)?;
    Ok(if sha256 == input.sha256 {
        InputState::Unchanged
    } else {
        InputState::ContentChanged
    })
}

/// What `tamis lineage DIR` found.
pub struct Report {
    /// The chain as printed.
    pub text: String,
    /// Runs in the chain (each once).
    pub runs: usize,
    /// Input files that differ from what their run recorded.
    pub changed: usize,
}

/// Follows the chain from `dir` back to the raw data, checking every input of every run.
pub fn trace(dir: &Path) -> Result<Report> {
    let mut report = Report {
        text: String::new(),
        runs: 0,
        changed: 0,
    };
    let mut visited = BTreeSet::new();
    let root = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    trace_run(
        &root,
        &dir.display().to_string(),
        0,
        &mut visited,
        &mut report,
    )?;
    Ok(report)
}

fn trace_run(
    dir: &Path,
    shown: &str,
    depth: usize,
    visited: &mut BTreeSet<PathBuf>,
    report: &mut Report,
) -> Result<()> {
    let indent = "  ".repeat(depth);
    let arrow = if depth == 0 { "" } else { "<- " };
    if !visited.insert(dir.to_path_buf()) {
        report
            .text
            .push_str(&format!("{indent}{arrow}{shown} (shown above)\n"));
        return Ok(());
    }
    let lineage = read(dir)?;
    report.runs += 1;
    report.text.push_str(&format!(
        "{indent}{arrow}{shown}: tamis {} {}, config {}, component {}\n",
        lineage.command,
        lineage.tamis_version,
        &lineage.config_sha256[..12.min(lineage.config_sha256.len())],
        &lineage.component_sha256[..12.min(lineage.component_sha256.len())],
    ));
    let mut unchanged = 0usize;
    let mut bytes = 0u64;
    for input in &lineage.inputs {
        bytes += input.size;
        let state = check_input(dir, input)?;
        let line = match state {
            InputState::Unchanged => {
                unchanged += 1;
                continue;
            }
            InputState::Gone => format!("GONE     {} (was {} bytes)", input.path, input.size),
            InputState::SizeChanged { was, now } => {
                format!("CHANGED  {} (size {was} -> {now} bytes)", input.path)
            }
            InputState::ContentChanged => format!(
                "CHANGED  {} (same size, SHA-256 differs from {})",
                input.path,
                &input.sha256[..12]
            ),
        };
        report.changed += 1;
        report.text.push_str(&format!("{indent}   {line}\n"));
    }
    let raw = lineage.inputs.iter().filter(|i| i.parent.is_none()).count();
    report.text.push_str(&format!(
        "{indent}   {} input files ({bytes} bytes), {unchanged} unchanged since the run{}\n",
        lineage.inputs.len(),
        if raw > 0 && lineage.parents.is_empty() {
            " (raw data: no earlier tamis run)".to_string()
        } else if raw > 0 {
            format!("; {raw} not made by a tamis run")
        } else {
            String::new()
        }
    ));
    for parent in &lineage.parents {
        let path = dir.join(parent);
        let resolved = path.canonicalize().map_err(|_| {
            anyhow!(
                "{}: its parent run {} is gone",
                dir.display(),
                path.display()
            )
        });
        match resolved {
            Ok(resolved) => trace_run(&resolved, parent, depth + 1, visited, report)?,
            Err(e) => {
                report.changed += 1;
                report
                    .text
                    .push_str(&format!("{indent}  <- GONE {parent}: {e}\n"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_with_dot_dot() {
        assert_eq!(
            relative(Path::new("/a/b/RAW/web/x.gz"), Path::new("/a/b/CLEANED")),
            "../RAW/web/x.gz"
        );
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(relative(Path::new("/x/y"), Path::new("/a/b")), "/x/y");
    }

    #[test]
    fn the_normalized_config_does_not_depend_on_the_syntax() {
        let toml = Config::from_toml("steps = [\"normalize\"]\n[dedup]\nexact = false\n").unwrap();
        let yaml = Config::from_yaml("dedup:\n  exact: false\nsteps: [normalize]\n").unwrap();
        let a = canonical(serde_json::to_value(&toml).unwrap());
        let b = canonical(serde_json::to_value(&yaml).unwrap());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let keys: Vec<&String> = a.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn a_changed_input_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.jsonl");
        std::fs::write(&file, "{\"id\": 1}\n").unwrap();
        let (size, sha256) = checksum(&file).unwrap();
        // What `sha256sum` prints for these 10 bytes.
        assert_eq!(
            (size, sha256.as_str()),
            (
                10,
                "82b0cf5da91b6a7e02f031e2da2fa5ed1261dce4c85ae20d63db9d1e84a4c384"
            )
        );
        let input = InputFile {
            path: "in.jsonl".into(),
            size,
            sha256,
            parent: None,
        };
        assert_eq!(
            check_input(dir.path(), &input).unwrap(),
            InputState::Unchanged
        );
        std::fs::write(&file, "{\"id\": 2}\n").unwrap();
        assert_eq!(
            check_input(dir.path(), &input).unwrap(),
            InputState::ContentChanged
        );
        std::fs::write(&file, "{\"id\": 22}\n").unwrap();
        assert_eq!(
            check_input(dir.path(), &input).unwrap(),
            InputState::SizeChanged { was: 10, now: 11 }
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(check_input(dir.path(), &input).unwrap(), InputState::Gone);
    }
}
