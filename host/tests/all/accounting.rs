//! Every input record is accounted for: `docs_in = kept + dropped + errors`, even when the input is broken,
//! and every broken record is in `errors/` with the file and line it came from.

use std::io::Write;

use crate::{read_jsonl, shared_data, stats_counts, tamis_job};
use anyhow::{Context, Result, ensure};

#[test]
fn broken_lines_become_error_records_with_file_and_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input)?;
    // Real records around the broken ones.
    let real: Vec<String> = read_jsonl(&shared_data("web/dev.jsonl.gz"))?
        .iter()
        .take(20)
        .map(|v| v.to_string())
        .collect();
    let mut body: Vec<u8> = Vec::new();
    let mut broken_lines = Vec::new();
    let mut line = 0u64;
    let push = |body: &mut Vec<u8>, bytes: &[u8]| {
        body.extend_from_slice(bytes);
        body.push(b'\n');
    };
    for (i, record) in real.iter().enumerate() {
        line += 1;
        push(&mut body, record.as_bytes());
        match i {
            3 => {
                line += 1;
                push(&mut body, br#"{"id": "truncated", "text": "no end"#);
                broken_lines.push(line);
            }
            7 => {
                line += 1;
                // Invalid UTF-8 inside a string.
                push(
                    &mut body,
                    b"{\"id\": \"latin1\", \"text\": \"caf\xe9 cr\xe8me\"}",
                );
                broken_lines.push(line);
            }
            11 => {
                line += 1;
                push(
                    &mut body,
                    br#"{"id": "no-text", "body": "the text is under another key"}"#,
                );
                broken_lines.push(line);
            }
            13 => {
                line += 1;
                push(&mut body, b"[1, 2, 3]");
                broken_lines.push(line);
            }
            17 => {
                line += 1;
                push(&mut body, b"not json at all");
                broken_lines.push(line);
            }
            _ => {}
        }
    }
    std::fs::write(input.join("broken.jsonl"), &body)?;
    std::fs::write(input.join("empty.jsonl"), b"")?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"")?;
    std::fs::write(input.join("empty-too.jsonl.gz"), gz.finish()?)?;

    let config = dir.path().join("config.toml");
    std::fs::write(&config, "")?;
    let output = dir.path().join("out");
    let out = tamis_job("run", &config, &input, &output, &["--quiet"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "tamis run failed: {stderr}");
    let total = real.len() as u64 + broken_lines.len() as u64;
    ensure!(
        stderr.contains(&format!("accounting ok: {total} = ")),
        "accounting line missing: {stderr}"
    );

    let counts = stats_counts(&output)?;
    ensure!(
        counts["docs_in"] == total,
        "docs_in {} != {total}",
        counts["docs_in"]
    );
    let sum = ["kept", "dropped", "errors"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap_or(0))
        .sum::<u64>();
    ensure!(sum == total, "kept + dropped + errors = {sum} != {total}");
    // Only the broken lines can be errors: the real records all have an id and a text.
    ensure!(
        counts["errors"] == broken_lines.len() as u64,
        "errors {} != {}",
        counts["errors"],
        broken_lines.len()
    );

    let errors = read_jsonl(&output.join("errors").join("broken-00000.jsonl"))?;
    let mut found: Vec<u64> = Vec::new();
    for e in &errors {
        ensure!(
            e["file"] == "broken.jsonl",
            "error record names file {}",
            e["file"]
        );
        ensure!(
            e["error"].as_str().is_some_and(|m| !m.is_empty()),
            "error record without a message: {e}"
        );
        found.push(e["line"].as_u64().context("error record without a line")?);
    }
    ensure!(
        found == broken_lines,
        "error lines {found:?} != broken lines {broken_lines:?}"
    );
    let by_line = |l: u64| {
        errors
            .iter()
            .find(|e| e["line"] == l)
            .map(|e| e["error"].as_str().unwrap_or("").to_string())
    };
    ensure!(
        by_line(broken_lines[1]).is_some_and(|m| m.contains("UTF-8")),
        "UTF-8 error not named"
    );
    ensure!(
        by_line(broken_lines[2]).is_some_and(|m| m.contains("no text field")),
        "missing text not named"
    );
    // Empty inputs are fine: nothing in, nothing out, and no error.
    ensure!(
        !output.join("errors").join("empty-00000.jsonl").exists(),
        "an empty file produced errors"
    );
    Ok(())
}
