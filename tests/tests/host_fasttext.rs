//! fastText models through the bulk host: the config names the files, the host reads them (relative to
//! the config) and hands the bytes to the core, in the sandboxed component as in the native engine, and
//! both write the same bytes on the web development set.

use anyhow::{Result, ensure};
use tamis_tests::{
    fasttext_ref, output_files, read_jsonl, shared_data, stats_counts, tamis_job, tamis_job_ok,
};

#[test]
fn wasm_and_native_agree_with_a_language_model_and_a_quality_classifier() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(fasttext_ref::lid176()?, dir.path().join("lid.176.ftz"))?;
    let examples: Vec<(String, String)> =
        read_jsonl(&shared_data("quality/dclm_human_quality_dev.jsonl.gz"))?
            .into_iter()
            .map(|r| {
                let label = if r["label"].as_i64() == Some(1) {
                    "__label__hq"
                } else {
                    "__label__cc"
                };
                (
                    label.to_string(),
                    r["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
    fasttext_ref::train(
        &examples,
        &dir.path().join("dclm.bin"),
        &["--loss", "softmax", "--wordNgrams", "2"],
    )?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "steps = [\"normalize\", \"language\", \"quality_classifier\"]\nevaluate_all = true\n\
         [language]\nmodel = \"lid.176.ftz\"\nmin_confidence = 0.3\n\
         [quality_classifier]\nmodel = \"dclm.bin\"\nthreshold = 0.5\n",
    )?;
    let input = shared_data("web/dev.jsonl.gz");
    let (wasm, native) = (dir.path().join("wasm"), dir.path().join("native"));
    let stderr = tamis_job_ok(
        "run",
        &config,
        &input,
        &wasm,
        &["--quiet", "--engine", "wasm"],
    )?;
    tamis_job_ok(
        "run",
        &config,
        &input,
        &native,
        &["--quiet", "--engine", "native"],
    )?;
    ensure!(
        stderr.contains("accounting ok: 397 = "),
        "no accounting line: {stderr}"
    );
    let (a, b) = (output_files(&wasm)?, output_files(&native)?);
    ensure!(a == b, "wasm and native outputs differ");
    ensure!(
        stats_counts(&wasm)? == stats_counts(&native)?,
        "stats differ"
    );
    let mut text = String::new();
    for (name, bytes) in &a {
        if name.ends_with(".gz") {
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            )?;
        }
    }
    ensure!(
        text.contains("quality_classifier"),
        "no classifier check in the output"
    );
    ensure!(
        text.contains("language_low_confidence"),
        "no language check in the output"
    );

    // A model path that does not exist is an error naming the key, before any record is read.
    std::fs::write(
        &config,
        "steps = [\"language\"]\n[language]\nmodel = \"missing.ftz\"\n",
    )?;
    let out = tamis_job(
        "run",
        &config,
        &input,
        &dir.path().join("missing"),
        &["--quiet"],
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("language.model"),
        "{stderr}"
    );
    Ok(())
}
