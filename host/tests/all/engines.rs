//! The bulk host on the real web development set: the sandboxed component and the natively linked core
//! write the same bytes, and so do one and two workers, for JSONL.gz and Parquet inputs alike.

use std::path::Path;

use crate::{output_files, shared_data, stats_counts, tamis_job_ok};
use anyhow::{Result, ensure};

/// The default pipeline with every rule evaluated, so that every step's checks reach the output.
const CONFIG: &str = "evaluate_all = true\n";

fn run(config: &Path, input: &Path, output: &Path, extra: &[&str]) -> Result<String> {
    tamis_job_ok(
        "run",
        config,
        input,
        output,
        &[&["--quiet"], extra].concat(),
    )
}

fn compare_runs(input: &Path, a: &[&str], b: &[&str]) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG)?;
    let (out_a, out_b) = (dir.path().join("a"), dir.path().join("b"));
    let stderr = run(&config, input, &out_a, a)?;
    run(&config, input, &out_b, b)?;
    ensure!(
        stderr.contains("accounting ok: 397 = "),
        "no accounting line for 397 records: {stderr}"
    );
    let (files_a, files_b) = (output_files(&out_a)?, output_files(&out_b)?);
    ensure!(!files_a.is_empty(), "run {a:?} wrote no files");
    ensure!(
        files_a.keys().collect::<Vec<_>>() == files_b.keys().collect::<Vec<_>>(),
        "different output files: {:?} vs {:?}",
        files_a.keys().collect::<Vec<_>>(),
        files_b.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &files_a {
        ensure!(
            Some(bytes) == files_b.get(name),
            "{name} differs between {a:?} and {b:?}"
        );
    }
    let counts = stats_counts(&out_a)?;
    ensure!(
        counts == stats_counts(&out_b)?,
        "stats.json counts differ between {a:?} and {b:?}"
    );
    ensure!(
        counts["docs_in"] == 397,
        "docs_in {} != 397",
        counts["docs_in"]
    );
    let sum = ["kept", "dropped", "errors"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap_or(0))
        .sum::<u64>();
    ensure!(sum == 397, "kept + dropped + errors = {sum}, not 397");
    Ok(())
}

#[test]
fn wasm_and_native_write_identical_bytes_jsonl_gz() -> Result<()> {
    compare_runs(
        &shared_data("web/dev.jsonl.gz"),
        &["--engine", "wasm"],
        &["--engine", "native"],
    )
}

#[test]
fn wasm_and_native_write_identical_bytes_parquet() -> Result<()> {
    compare_runs(
        &shared_data("web/dev.parquet"),
        &["--engine", "wasm"],
        &["--engine", "native"],
    )
}

#[test]
fn one_and_two_workers_write_identical_bytes() -> Result<()> {
    // Small batches and shards, so two workers really interleave and finish shards out of order.
    compare_runs(
        &shared_data("web/dev.jsonl.gz"),
        &["--workers", "1", "--batch-size", "7", "--shard-size", "50"],
        &["--workers", "2", "--batch-size", "7", "--shard-size", "50"],
    )
}
