//! `tamis sample` then `tamis run`: exact weighted counts, reproducible by seed, metadata carried through.

use std::ffi::OsStr;
use std::path::Path;

use crate::{read_jsonl, shared_data, tamis, tamis_job};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

fn sample(config: &Path) -> Result<String> {
    let out = tamis(&[OsStr::new("sample"), config.as_os_str()])?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.success(), "tamis sample failed: {stderr}");
    Ok(stderr)
}

/// Three sources over the real data sets, written as YAML (TOML works the same way).
fn write_config(dir: &Path, seed: u64, target: u64) -> Result<std::path::PathBuf> {
    let web = shared_data("web/dev.jsonl.gz");
    let quality = shared_data("quality/dclm_human_quality_dev.jsonl.gz");
    let gsm8k = shared_data("benchmarks/gsm8k_test.jsonl.gz");
    let yaml = format!(
        "sample:\n  target_samples: {target}\n  seed: {seed}\n  output: RAW\n  datasets:\n\
         \x20   - {{name: web, path: [{web:?}], weight: 0.5, config: cc-2019-30}}\n\
         \x20   - {{name: dclm, path: [{quality:?}], weight: 0.3}}\n\
         \x20   - {{name: gsm8k, path: [{gsm8k:?}], weight: 0.2, config: test}}\n"
    );
    let path = dir.join("sample.yaml");
    std::fs::write(&path, yaml)?;
    Ok(path)
}

fn sampled(dir: &Path, source: &str) -> Result<Vec<Value>> {
    read_jsonl(&dir.join("RAW").join(source).join("raw_data.jsonl.gz"))
}

#[test]
fn counts_are_exact_and_reproducible_by_seed() -> Result<()> {
    let (a, b, c) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    // 0.5, 0.3, 0.2 of 101: quotas 50.5, 30.3, 20.2; the one unit left goes to the largest remainder (web).
    let plan = sample(&write_config(a.path(), 7, 101)?)?;
    sample(&write_config(b.path(), 7, 101)?)?;
    sample(&write_config(c.path(), 8, 101)?)?;
    ensure!(
        plan.contains("web") && plan.contains("51") && plan.contains("50.50%"),
        "plan not printed: {plan}"
    );
    let mut differs = false;
    for (source, count) in [("web", 51), ("dclm", 30), ("gsm8k", 20)] {
        let records = sampled(a.path(), source)?;
        ensure!(
            records.len() == count,
            "{source}: {} records, expected {count}",
            records.len()
        );
        let same_seed = std::fs::read(a.path().join("RAW").join(source).join("raw_data.jsonl.gz"))?;
        let again = std::fs::read(b.path().join("RAW").join(source).join("raw_data.jsonl.gz"))?;
        ensure!(
            same_seed == again,
            "{source}: the same seed drew a different sample"
        );
        let other = sampled(c.path(), source)?;
        ensure!(
            other.len() == count,
            "{source}: seed 8 drew {} records",
            other.len()
        );
        differs |= other != records;
        let mut last = None;
        for r in &records {
            let meta = &r["metadata"];
            ensure!(
                meta["source"] == source,
                "{source}: metadata.source is {}",
                meta["source"]
            );
            ensure!(meta["weight"].is_f64(), "{source}: metadata.weight missing");
            let index = meta["original_index"]
                .as_u64()
                .context("metadata.original_index missing")?;
            ensure!(
                last.is_none_or(|l| l < index),
                "{source}: records not in input order"
            );
            last = Some(index);
        }
    }
    ensure!(differs, "seeds 7 and 8 drew the same samples");
    ensure!(
        sampled(a.path(), "web")?[0]["metadata"]["config"] == "cc-2019-30",
        "config not in metadata"
    );

    // A second run skips sources that are done.
    let again = sample(&write_config(a.path(), 7, 101)?)?;
    ensure!(
        again.matches("already sampled").count() == 3,
        "finished sources were not skipped: {again}"
    );
    Ok(())
}

#[test]
fn metadata_survives_sample_then_run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    sample(&write_config(dir.path(), 42, 60)?)?;
    let config = dir.path().join("clean.toml");
    std::fs::write(&config, "")?;
    let (raw, cleaned) = (dir.path().join("RAW"), dir.path().join("CLEANED"));
    let out = tamis_job("run", &config, &raw, &cleaned, &["--quiet"])?;
    ensure!(
        out.status.success(),
        "tamis run over RAW failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = 0;
    for source in ["web", "dclm", "gsm8k"] {
        let raw_records = sampled(dir.path(), source)?;
        let mut outputs = Vec::new();
        for part in ["kept", "dropped"] {
            let path = cleaned
                .join(source)
                .join(part)
                .join("raw_data-00000.jsonl.gz");
            if path.exists() {
                outputs.extend(read_jsonl(&path)?);
            }
        }
        let errors = cleaned
            .join(source)
            .join("errors")
            .join("raw_data-00000.jsonl.gz");
        let error_count = if errors.exists() {
            read_jsonl(&errors)?.len()
        } else {
            0
        };
        ensure!(
            outputs.len() + error_count == raw_records.len(),
            "{source}: records lost between RAW and CLEANED"
        );
        for record in &outputs {
            let original = raw_records
                .iter()
                .find(|r| r["id"] == record["id"])
                .with_context(|| format!("{source}: output record {} not in RAW", record["id"]))?;
            ensure!(
                record["metadata"] == original["metadata"],
                "{source}: metadata changed for {}",
                record["id"]
            );
            ensure!(
                record["tamis"]["verdict"].is_string(),
                "{source}: no tamis annotation"
            );
            seen += 1;
        }
    }
    ensure!(seen > 0, "no judged records");
    Ok(())
}
