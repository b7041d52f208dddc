//! Every input container (JSONL, JSONL.gz, JSONL.zst, Parquet) is read, and outputs come in the input's
//! format with every input field kept.

use std::io::Read;
use std::path::Path;

use crate::{read_jsonl, shared_data, stats_counts, tamis_job_ok};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

fn run(config: &Path, input: &Path, output: &Path) -> Result<()> {
    tamis_job_ok("run", config, input, output, &["--quiet"])?;
    Ok(())
}

/// The decompressed lines of one output file, empty when the run wrote none.
fn lines(path: &Path) -> Result<Vec<u8>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let file = std::fs::File::open(path)?;
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(file).read_to_end(&mut out)?;
    } else if name.ends_with(".zst") {
        zstd::Decoder::new(file)?.read_to_end(&mut out)?;
    } else {
        std::io::BufReader::new(file).read_to_end(&mut out)?;
    }
    Ok(out)
}

#[test]
fn jsonl_gz_zst_and_parquet_inputs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input)?;
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let plain: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(input.join("plain.jsonl"), &plain)?;
    std::fs::write(
        input.join("zst.jsonl.zst"),
        zstd::encode_all(plain.as_bytes(), 3)?,
    )?;
    std::fs::copy(shared_data("web/dev.jsonl.gz"), input.join("gz.jsonl.gz"))?;
    std::fs::copy(shared_data("web/dev.parquet"), input.join("rows.parquet"))?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "")?;
    let output = dir.path().join("out");
    run(&config, &input, &output)?;

    let counts = stats_counts(&output)?;
    let n = records.len() as u64;
    ensure!(
        counts["docs_in"] == 4 * n,
        "docs_in {} != 4 x {n}",
        counts["docs_in"]
    );
    ensure!(
        counts["errors"] == 0,
        "errors on valid inputs: {}",
        counts["errors_by_kind"]
    );

    // The three JSONL containers hold the same records, so their outputs decompress to the same bytes.
    for part in ["kept", "dropped"] {
        let reference = lines(&output.join(part).join("plain-00000.jsonl"))?;
        ensure!(
            reference == lines(&output.join(part).join("gz-00000.jsonl.gz"))?,
            "{part}: gz output differs"
        );
        ensure!(
            reference == lines(&output.join(part).join("zst-00000.jsonl.zst"))?,
            "{part}: zst output differs"
        );
    }
    // Every input field is kept, in input order, with the annotation added last.
    let mut judged = Vec::new();
    for part in ["kept", "dropped"] {
        for line in lines(&output.join(part).join("plain-00000.jsonl"))?.split(|b| *b == b'\n') {
            if !line.is_empty() {
                judged.push(serde_json::from_slice::<Value>(line)?);
            }
        }
    }
    ensure!(
        judged.len() == records.len(),
        "{} of {} records judged",
        judged.len(),
        records.len()
    );
    for out in &judged {
        let original = records
            .iter()
            .find(|r| r["id"] == out["id"])
            .context("output record not in input")?;
        let (Some(out), Some(original)) = (out.as_object(), original.as_object()) else {
            anyhow::bail!("records are not objects");
        };
        let out_keys: Vec<&String> = out.keys().collect();
        let mut expected: Vec<&String> = original.keys().collect();
        let tamis_key = "tamis".to_string();
        expected.push(&tamis_key);
        ensure!(out_keys == expected, "fields {out_keys:?} != {expected:?}");
        for (key, value) in original {
            if key != "text" {
                ensure!(out.get(key) == Some(value), "field {key} changed");
            }
        }
    }

    // Parquet in, Parquet out: the outputs are valid Parquet, read back by the host itself.
    let kept_parquet = output.join("kept").join("rows-00000.parquet");
    let rows_out = counts_of_parquet_outputs(&config, &output, dir.path())?;
    ensure!(kept_parquet.exists() || rows_out == 0, "no Parquet output");
    ensure!(
        rows_out == n,
        "Parquet outputs hold {rows_out} rows, input had {n}"
    );
    Ok(())
}

/// Runs the host over the kept and dropped Parquet files of a run and returns how many rows it read.
fn counts_of_parquet_outputs(config: &Path, output: &Path, scratch: &Path) -> Result<u64> {
    let mut total = 0;
    for part in ["kept", "dropped"] {
        let file = output.join(part).join("rows-00000.parquet");
        if !file.exists() {
            continue;
        }
        let again = scratch.join(format!("again-{part}"));
        run(config, &file, &again)?;
        let counts = stats_counts(&again)?;
        ensure!(
            counts["errors"] == 0,
            "re-reading {part} Parquet gave errors: {}",
            counts["errors_by_kind"]
        );
        total += counts["docs_in"].as_u64().unwrap_or(0);
    }
    Ok(total)
}
