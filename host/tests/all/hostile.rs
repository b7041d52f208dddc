//! Hostile inputs cost one error record, never the job: a 200 MB document is judged under the default limits,
//! and a document that breaks the sandbox's memory cap or time limit ends in `errors/` while the records
//! around it (in the same batch) are judged.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;

use crate::{read_jsonl, shared_data, stats_counts, tamis, tamis_job_ok};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

const HUGE_BYTES: usize = 200 << 20;

/// Real records, with one document of 200 MB of real text (the web set repeated) in the middle.
fn write_input(path: &Path) -> Result<usize> {
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let corpus: String = records
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    ensure!(!corpus.is_empty(), "the web set has no text");
    let mut huge = String::with_capacity(HUGE_BYTES + corpus.len());
    while huge.len() < HUGE_BYTES {
        huge.push_str(&corpus);
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let small = &records[..40];
    for r in &small[..20] {
        writeln!(out, "{r}")?;
    }
    writeln!(
        out,
        "{}",
        json!({"id": "huge", "text": huge, "url": "https://example.com/huge"})
    )?;
    for r in &small[20..] {
        writeln!(out, "{r}")?;
    }
    out.flush()?;
    Ok(small.len() + 1)
}

fn run(
    dir: &Path,
    input: &Path,
    name: &str,
    extra: &[&str],
) -> Result<(std::path::PathBuf, String)> {
    let config = dir.join("config.toml");
    std::fs::write(&config, "")?;
    let output = dir.join(name);
    let fixed = ["--quiet", "--engine", "wasm", "--batch-size", "8"];
    let stderr = tamis_job_ok(
        "run",
        &config,
        input,
        &output,
        &[&fixed[..], extra].concat(),
    )?;
    Ok((output, stderr))
}

/// Ids of the records in one output part (`kept`, `dropped` or `errors`).
fn ids(output: &Path, part: &str) -> Result<Vec<String>> {
    let path = output.join(part).join("hostile-00000.jsonl");
    if !path.exists() {
        return Ok(Vec::new());
    }
    Ok(read_jsonl(&path)?
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect())
}

/// The one error of a run: its record, which must be the huge document's, and its message.
fn only_error(output: &Path, total: u64) -> Result<String> {
    let counts = stats_counts(output)?;
    ensure!(
        counts["errors"] == 1,
        "errors {} != 1: {}",
        counts["errors"],
        counts["errors_by_kind"]
    );
    let errors = read_jsonl(&output.join("errors").join("hostile-00000.jsonl"))?;
    let error: &Value = errors.first().context("no error record")?;
    ensure!(
        error["id"] == "huge" && error["line"] == 21,
        "wrong error record: id {} line {}",
        error["id"],
        error["line"]
    );
    let judged: Vec<String> = [ids(output, "kept")?, ids(output, "dropped")?].concat();
    ensure!(
        judged.len() == total as usize - 1,
        "{} small records judged, expected {}",
        judged.len(),
        total - 1
    );
    Ok(error["error"].as_str().unwrap_or_default().to_string())
}

#[test]
fn huge_document_memory_cap_and_time_limit() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("hostile.jsonl");
    let total = write_input(&input)? as u64;

    // Default limits: the 200 MB document fits in the sandbox and is judged like any other.
    let (output, stderr) = run(dir.path(), &input, "default", &[])?;
    ensure!(
        stderr.contains(&format!("accounting ok: {total} = ")),
        "{stderr}"
    );
    let judged: Vec<String> = [ids(&output, "kept")?, ids(&output, "dropped")?].concat();
    let errors = ids(&output, "errors")?;
    ensure!(
        judged.len() + errors.len() == total as usize,
        "records lost: {} + {}",
        judged.len(),
        errors.len()
    );
    ensure!(
        errors.is_empty(),
        "records failed under the default limits: {errors:?}"
    );
    ensure!(
        judged.iter().any(|id| id == "huge"),
        "the huge document was not judged"
    );

    // A 64 MiB cap: the huge document cannot even be copied into the sandbox. It alone becomes an error,
    // with the sandbox's message, and every other record is judged.
    let (output, stderr) = run(dir.path(), &input, "capped", &["--memory-mib", "64"])?;
    ensure!(
        stderr.contains(&format!("accounting ok: {total} = ")),
        "{stderr}"
    );
    let message = only_error(&output, total)?;
    ensure!(
        message.starts_with("sandbox trap") && message.contains("memory"),
        "not a memory trap: {message}"
    );

    // A 150 ms budget per batch: copying 200 MB in and out of the sandbox takes longer, while the small
    // documents, retried alone after their batch was interrupted, take microseconds.
    let (output, stderr) = run(dir.path(), &input, "timed", &["--batch-timeout", "0.15"])?;
    ensure!(
        stderr.contains(&format!("accounting ok: {total} = ")),
        "{stderr}"
    );
    let message = only_error(&output, total)?;
    ensure!(
        message.starts_with("sandbox timeout"),
        "not a timeout: {message}"
    );
    Ok(())
}

#[test]
fn deeply_nested_html_is_judged_or_quarantined() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("pages.jsonl");
    let pages = read_jsonl(&shared_data("html/readability_test_pages.jsonl.gz"))?;
    let depth = 200_000;
    let nested = format!(
        "<html><body>{}<p>deep text</p>{}</body></html>",
        "<div><span>".repeat(depth),
        "</span></div>".repeat(depth)
    );
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input)?);
    for page in &pages[..10] {
        writeln!(out, "{}", json!({"id": page["id"], "html": page["html"]}))?;
    }
    writeln!(out, "{}", json!({"id": "nested", "html": nested}))?;
    for page in &pages[10..20] {
        writeln!(out, "{}", json!({"id": page["id"], "html": page["html"]}))?;
    }
    out.flush()?;
    drop(out);

    let config = dir.path().join("pages.toml");
    std::fs::write(
        &config,
        "steps = [\"html\", \"normalize\", \"gopher_quality\", \"fingerprint\"]\n[io]\nhtml_key = \"html\"\n",
    )?;
    let output = dir.path().join("out");
    let args: Vec<&OsStr> = vec![
        OsStr::new("run"),
        config.as_os_str(),
        OsStr::new("--input"),
        input.as_os_str(),
        OsStr::new("--output"),
        output.as_os_str(),
        OsStr::new("--quiet"),
        OsStr::new("--engine"),
        OsStr::new("wasm"),
        OsStr::new("--batch-size"),
        OsStr::new("4"),
    ];
    let run = tamis(&args)?;
    let stderr = String::from_utf8_lossy(&run.stderr);
    ensure!(run.status.success(), "tamis run failed: {stderr}");
    ensure!(stderr.contains("accounting ok: 21 = "), "{stderr}");
    let part = |name: &str| -> Result<Vec<String>> {
        let path = output.join(name).join("pages-00000.jsonl");
        if !path.exists() {
            return Ok(Vec::new());
        }
        Ok(read_jsonl(&path)?
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect())
    };
    let (kept, dropped, errors) = (part("kept")?, part("dropped")?, part("errors")?);
    // The nested page is either extracted (the streaming parser keeps no tree) or quarantined with a
    // message; every real page around it is judged.
    ensure!(
        errors.iter().all(|id| id == "nested"),
        "real pages failed: {errors:?}"
    );
    ensure!(
        kept.len() + dropped.len() + errors.len() == 21,
        "records lost: {} + {} + {}",
        kept.len(),
        dropped.len(),
        errors.len()
    );
    Ok(())
}
